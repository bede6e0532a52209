"""Parameters: NNC's initializers, parameter files in nnabla naming, and sharing by scope.

Parameter names follow nnabla (``fc1/affine/W``) and so do layouts (Affine W is
(inputs, *out_shape)), so a parameter file written by NNC or nnabla loads as it is.
Initial values are drawn from a generator seeded by the spec's seed and the
parameter's name, so adding a layer never changes another layer's initial values.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..core import codes
from ..core.diagnostics import WARNING, Diagnostic, DiagnosticList, SpecError, UsageError
from ..core.extras import install_hint
from ..files.confine import Confinement, OutsideRoots
from ..files.memory import check_read
from ..files.npyfile import MAGIC, ArrayFile, ArrayFileError, NpzArchive, npy_header
from ..files.rows import file_problem
from ..layers.catalog import Shape, format_shape
from ..layers.initializers import distribution, open_parameter_npy
from ..spec.model import Layer, Spec

# Parameters by nnabla name, as given or loaded: a file's arrays stay ArrayFiles until a layer reads them.
Loaded = Mapping[str, "ArrayFile | np.ndarray"]


def initialize(
    initializer: str, multiplier: float, shape: Shape, fans: tuple[int, int, int], rng: np.random.Generator
) -> np.ndarray:
    """Values of one parameter from an NNC initializer (see ``distribution``), in float64."""
    kind, a = distribution(initializer, multiplier, fans)
    if kind == "constant":
        return np.full(shape, a, dtype=np.float64)
    a = abs(a)  # N(0, a^2) and U(-a, a) are the same for -a: a negative multiplier scales as its size
    return rng.normal(0.0, a, shape) if kind == "normal" else rng.uniform(-a, a, shape)


def parameter_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one parameter, independent of every other parameter's."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


H5_EXTRA = install_hint("h5")


# The files that hold their network's parameters beside it: run (and convert) take those by default.
MODEL_SUFFIXES = (".nnp", ".onnx")


def holds_its_parameters(path: str | Path) -> bool:
    """Whether a spec file is a model that carries its own parameters (an .nnp, an .onnx)."""
    return Path(path).suffix.lower() in MODEL_SUFFIXES


def load_parameter_file(path: str | Path, max_memory: int | None = None) -> Loaded:
    """Parameters by nnabla name from a file: nnabla's parameter .h5 (by its suffix), an .nnp's or an
    .onnx model's (its initializers, named as nnspec reads the model: nnspec.spec.onnx_reader), else a .npz
    of nnabla-named arrays (never unpickles anything). ``max_memory`` (bytes) bounds what an .h5
    file's datasets may take, checked from their headers before any is read. A .npz member is
    opened, and its values read, only when a layer asks for it (see nnspec.files.npyfile.NpzArchive): a
    member no layer needs is never inflated."""
    if Path(path).suffix.lower() == ".h5":
        return _load_h5(Path(path), max_memory)
    if Path(path).suffix.lower() == ".nnp":
        return _load_nnp(Path(path), max_memory)
    if Path(path).suffix.lower() == ".onnx":
        from ..spec.onnx_reader import parameters

        return parameters(str(path))  # its initializers, under the names its spec's layers look up
    problem = file_problem(path)
    if problem:
        raise UsageError(f"{path}: " + ("parameter file not found" if problem == "file not found" else problem))
    with open(path, "rb") as handle:
        start = handle.read(max(len(MAGIC), 4))
    if start.startswith(MAGIC):
        raise UsageError(f"{path}: holds one array (a .npy file), not parameters by name: use np.savez")
    if start[:2] != b"PK":  # every zip (a .npz is one) starts with a record marked PK
        raise UsageError(f"{path}: not a parameter file: {_PARAMETER_FILES}")
    return NpzArchive(path)


# What --params reads, said whenever a file is none of it (a CSV, a text file, an image).
_PARAMETER_FILES = (
    "give nnabla's parameter .h5 (as NNC saves it) or a .npz of arrays by nnabla name, "
    "e.g. np.savez('params.npz', **{'fc1/affine/W': W})"
)


# HDF5 filters h5py decodes itself (deflate, shuffle, fletcher32, szip, nbit, scaleoffset, lzf). Any
# other is a plugin HDF5 would look for on disk and load as a shared library: never asked for here.
_H5_FILTERS = frozenset({1, 2, 3, 4, 5, 6, 32000})
H5_DATASET_BYTES = 1024  # what a dataset costs besides its values: h5py's object and numpy's (a file of many tiny ones)


def _load_nnp(path: Path, max_memory: int | None = None) -> dict[str, np.ndarray]:
    """The parameters an .nnp archive holds (nnspec.files.nnpfile checks the archive before any
    member is inflated): parameter.h5 read as a file of its own, parameter.protobuf decoded."""
    from ..files.nnpfile import decode_parameters, nnp_size_limit, open_nnp

    archive = open_nnp(path)
    name = archive.parameter_name()
    if name is None:
        raise UsageError(f"{path}: holds no parameters (parameter.h5 or parameter.protobuf)")
    limit = nnp_size_limit() if max_memory is None else min(nnp_size_limit(), max_memory)
    data = archive.read(name, limit)
    if name.lower().endswith(".h5"):
        return _load_h5(path, max_memory, content=data)
    return decode_parameters(data, f"{path} ({name})", max_memory)


def _load_h5(path: Path, max_memory: int | None = None, content: bytes | None = None) -> dict[str, np.ndarray]:
    """An HDF5 file as nnabla's save_parameters writes it: one dataset per parameter, at the path of
    its full name (``fc1/affine/W`` is dataset W in group fc1/affine), with attributes ``need_grad``
    and ``index`` (the order parameters were created in, which the result keeps, as nnabla's
    load_parameters does). h5py is an optional dependency (the ``h5`` extra).

    Only the file's own bytes are read: a dataset stored in other files (external storage, a
    virtual dataset) and a link that is not a plain name in this file (external or soft) are
    refused before anything is read, as are datasets of anything but numbers, filters h5py does
    not decode itself, and datasets that together take more than ``max_memory`` bytes."""
    if content is None and not path.is_file():
        raise UsageError(f"{path}: " + ("is a directory" if path.is_dir() else "parameter file not found"))
    try:
        import h5py
    except ImportError:
        raise UsageError(f"{path}: reading nnabla's .h5 parameter files needs h5py: {H5_EXTRA}") from None
    found: list[tuple[float, int, str, np.ndarray]] = []
    try:
        source = path if content is None else io.BytesIO(content)  # an .nnp's member: read from memory
        with h5py.File(source, "r") as handle:
            _h5_check_links(path, "", handle)
            datasets: list[tuple[str, h5py.Dataset]] = []
            needed = 0

            def visit(name: str, item) -> None:  # follows plain names only: links were refused above
                nonlocal needed
                if isinstance(item, h5py.Group):
                    _h5_check_links(path, name + "/", item)
                    return
                _h5_check_dataset(path, name, item)
                datasets.append((name, item))
                needed += item.size * item.dtype.itemsize + H5_DATASET_BYTES
                check_read(f"{path}: the parameters up to dataset '{name}'", needed, max_memory)

            handle.visititems(visit)  # every dataset is checked before any is read
            for name, item in datasets:
                found.append((_h5_order(item), len(found), name, np.asarray(item[()])))
    except UsageError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: cannot read as an HDF5 parameter file (nnabla's parameter.h5): {exc}") from None
    return {name: value for _, _, name, value in sorted(found, key=lambda entry: entry[:2])}


def _h5_check_links(path: Path, prefix: str, group) -> None:
    """Every name in a group must be a plain (hard) link: an external link opens another file, a
    soft link names another path (nnabla writes neither)."""
    import h5py

    for key in group:  # lists the names only: nothing is opened
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            kind = "an external link to another file" if isinstance(link, h5py.ExternalLink) else "a soft link"
            raise UsageError(f"{path}: '{prefix}{key}' is {kind}: a parameter file's names must be its own datasets")


def _h5_check_dataset(path: Path, name: str, item) -> None:
    """Refuse a dataset whose values live outside this file, or are not numbers, before reading it."""
    where = f"{path}: dataset '{name}'"
    if item.is_virtual:
        raise UsageError(f"{where} is a virtual dataset (its values are read from other datasets or files)")
    plist = item.id.get_create_plist()
    if plist.get_external_count():
        raise UsageError(f"{where} is stored in external files: a parameter file must hold its own values")
    for index in range(plist.get_nfilters()):
        code = plist.get_filter(index)[0]
        if code not in _H5_FILTERS:
            raise UsageError(f"{where} is encoded with HDF5 filter {code}, which nnspec does not read")
    if not (np.issubdtype(item.dtype, np.number) and item.dtype.fields is None):
        raise UsageError(f"{where} holds {item.dtype} values, not numbers")


def _h5_order(item) -> float:
    """A dataset's ``index`` attribute (nnabla's creation order) when it is one number, else last."""
    if "index" not in item.attrs:
        return float("inf")
    attribute = item.attrs.get_id("index")
    if attribute.shape != () or attribute.dtype.kind not in "iuf":
        return float("inf")  # an array or a non-numeric attribute is not read
    index = float(item.attrs["index"])
    return index if np.isfinite(index) else float("inf")


def resolve_parameters(
    spec: Spec, loaded: Loaded | None = None, source: str = "the parameters given"
) -> tuple[dict[str, dict[str, np.ndarray]], list[Diagnostic]]:
    """Every layer's parameters as arrays of the spec's dtype, and warnings (unused keys).

    A parameter comes from ``loaded`` (nnabla names) when given there, then from its
    own ``file:``, else from its initializer. With ``loaded``, every parameter must be in
    it: a file that covers only part of a network is an error, not a silent re-initialisation.
    """
    dtype = np.dtype(spec.dtype)
    by_key: dict[str, np.ndarray] = {}
    result: dict[str, dict[str, np.ndarray]] = {}
    errors: list[Diagnostic] = []
    for layer in spec.layers.values():
        result[layer.name] = {}
        # a parameter a layer gives (W: {input: LAYER}) is that layer's output in each batch (runtime.plan)
        for name, shape in layer.stored_parameter_shapes.items():
            key = layer.parameter_key(name)
            origin = ("layers", layer.index, name)
            if key not in by_key:  # layers sharing a scope share the array (validation checked the shapes)
                value, problem = _parameter_value(spec, layer, name, key, shape, loaded, source)
                if problem:
                    errors.append(_located(spec, origin, problem, layer.name))
                    continue
                assert value is not None  # _parameter_value gives a value wherever it gives no problem
                with np.errstate(over="ignore"):  # values beyond the dtype become inf: reported just below
                    by_key[key] = value.astype(dtype, copy=False)
                bad = by_key[key].size - np.count_nonzero(np.isfinite(by_key[key]))
                if bad:
                    problem = f"{bad} of the {by_key[key].size} values of parameter '{key}' are NaN or Inf as {dtype}"
                    errors.append(_located(spec, origin, problem, layer.name))
            result[layer.name][name] = by_key[key]
    if errors:
        raise SpecError(errors)
    warnings = []
    if loaded is not None:
        used = {
            alias
            for layer in spec.layers.values()
            for name in layer.parameter_shapes
            for alias in layer.parameter_keys(name)
        }
        unused = sorted(set(loaded) - used)
        if unused:
            warnings.append(
                Diagnostic(
                    f"{len(unused)} parameter(s) in {source} are used by no layer: {', '.join(unused[:8])}"
                    + (" ..." if len(unused) > 8 else ""),
                    spec.file,
                    None,
                    None,
                    WARNING,
                    codes.UNUSED_PARAMETER,
                )
            )
    return result, warnings


def loaded_layers(spec: Spec, loaded: Loaded | None) -> frozenset[str]:
    """The layers whose parameters are all read (from ``loaded`` or their own ``file:``) rather
    than drawn from initializers: trained values, whose scale a check should not blame on an
    initializer."""
    return frozenset(
        layer.name
        for layer in spec.layers.values()
        if layer.stored_parameter_shapes
        and (
            loaded is not None or all(layer.parameters[name].file is not None for name in layer.stored_parameter_shapes)
        )
    )


def _parameter_value(spec, layer, name, key, shape, loaded, source) -> tuple[np.ndarray | None, str | None]:
    config = layer.parameters[name]
    if loaded is not None:
        found = next((name for name in layer.parameter_keys(name) if name in loaded), None)
        if found is None:
            return None, f"'{key}' of layer {layer.title} (shape {format_shape(shape)}) is missing from {source}"
        value, origin = loaded[found], source
    elif config.file is not None:
        try:
            real = spec.allowed.file(config.file)  # the spec names it: confined as validation checked it
        except OutsideRoots as exc:
            return None, f"parameter file {config.file} of layer {layer.title} {exc}"
        value, origin = open_parameter_npy(real), str(config.file)
    else:
        parameter = next(p for p in layer.type.parameters if p.name == name)
        rng = parameter_rng(spec.seed, key)
        return initialize(config.initializer, config.multiplier, shape, parameter.fans(shape), rng), None
    problem = parameter_problem(key, value.dtype, value.shape, shape, origin, layer.title)
    if problem:
        return None, problem
    return (value.read() if isinstance(value, ArrayFile) else value), None  # a file's values: only now read


def parameter_problem(
    key: str, dtype: np.dtype, shape: Shape, needed: Shape | None, origin: str, layer: str
) -> str | None:
    """Why an array of ``dtype`` and ``shape`` from ``origin`` cannot be parameter ``key`` of a
    layer that needs ``needed`` (None: not known), or None. The one rule for a parameter's file:
    ``validate`` applies it to the file's header, a run to the header (a file's) or to the array
    given, before any value is read; the values themselves (NaN, Inf) are a run's to check."""
    if dtype.kind not in "iuf":  # complex, timedelta64 and bool are np.number or cast silently
        return f"'{key}' in {origin} holds {dtype} values, not real numbers"
    if needed is not None and tuple(shape) != tuple(needed):
        return (
            f"parameter '{key}' of layer {layer} has shape {format_shape(shape)} in {origin}, "
            f"but the layer needs {format_shape(needed)}"
        )
    return None


def check_parameter_files(
    layers: dict[str, Layer], confinement: Confinement, read_data: bool, diagnostics: DiagnosticList
) -> None:
    """Each parameter ``file:``: it must lie within ``confinement`` (see nnspec.files.confine) and, unless
    ``read_data`` is false, be read as a run reads it, its header alone: a .npy file whose dtype and
    shape (when the layer's shapes are known) the parameter can take (nnspec.runtime.params's rule, the
    run's own). Its values are a run's to check: no value is read here."""
    for layer in layers.values():
        for name, source in layer.parameters.items():
            if source.file is None:
                continue
            missing = confinement.problem(source.file, read=read_data)
            problem: str | None
            if missing:
                problem = f"parameter file {source.file} of layer {layer.title} {missing}"
            elif read_data:
                problem = _parameter_file_problem(layer, name, confinement.file(source.file), source.file)
            else:
                problem = None
            if problem:
                diagnostics.add(
                    problem,
                    ("layers", layer.index, name, "file"),
                    code=codes.MISSING_FILE if missing else codes.INVALID_FILE,
                    layer=layer.name,
                )


def _parameter_file_problem(layer: Layer, name: str, path: Path, shown: Path) -> str | None:
    """Why the parameter file at (resolved) ``path``, named ``shown`` in the spec, cannot be the parameter."""
    try:
        header = npy_header(path)
    except ArrayFileError as exc:
        hint = ": give each parameter a .npy file, or the whole set with --params" if "(.npz)" in str(exc) else ""
        return f"parameter file {shown} of layer {layer.title} {exc}{hint}"
    needed = layer.parameter_shapes.get(name)  # None when the layer's shapes could not be inferred
    return parameter_problem(layer.parameter_key(name), header.dtype, header.shape, needed, str(shown), layer.title)


def _located(spec: Spec, path: tuple, message: str, layer: str) -> Diagnostic:
    line, column = spec.source_map.locate(path)
    return Diagnostic(message, spec.file, line, column, code=codes.PARAMETER, path=path, layer=layer)


def by_nnabla_name(spec: Spec, parameters: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Parameters as nnabla names them ({scope}/{function scope}/{name}), one entry per shared array:
    what ``--save-params`` writes, and what ``--params`` reads back to repeat a run exactly."""
    return {
        spec.layers[layer].parameter_key(name): value
        for layer, values in parameters.items()
        for name, value in values.items()
    }
