"""Parameters: NNC's initializers, parameter files in nnabla naming, and sharing by scope.

Parameter names follow nnabla (``fc1/affine/W``) and so do layouts (Affine W is
(inputs, *out_shape)), so a parameter file written by NNC or nnabla loads as it is.
Initial values are drawn from a generator seeded by the spec's seed and the
parameter's name, so adding a layer never changes another layer's initial values.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Mapping
from math import sqrt
from pathlib import Path

import numpy as np

from .catalog import Shape, format_shape
from .confine import OutsideRoots
from .diagnostics import WARNING, Diagnostic, SpecError, UsageError
from .spec import ParameterSource, Spec

# name -> std (Normal*) or limit (Uniform*) from (inmaps, outmaps, kernel size), as nnabla's
# calc_normal_std_* / calc_uniform_lim_glorot define them; the result is times the multiplier.
_SCALES: dict[str, Callable[[int, int, int], float]] = {
    "HeForward": lambda n_in, n_out, k: sqrt(2.0 / (k * n_in)),
    "HeBackward": lambda n_in, n_out, k: sqrt(2.0 / (k * n_out)),
    "Glorot": lambda n_in, n_out, k: sqrt(2.0 / (k * n_in + n_out)),
}


def distribution(initializer: str, multiplier: float, fans: tuple[int, int, int]) -> tuple[str, float]:
    """What an NNC initializer draws from: ("constant", value), ("normal", std) or ("uniform", limit).

    Normal: N(0, m^2); Uniform: U(-m, m); Constant: m everywhere; Normal{Affine,Convolution}{HeForward,
    HeBackward,Glorot}: N(0, (m*std)^2); Uniform{Affine,Convolution}Glorot: U(-m*lim, m*lim) with
    lim = sqrt(6 / (K*inmaps + outmaps)).
    """
    if initializer == "Constant":
        return "constant", multiplier
    if initializer == "Normal":
        return "normal", multiplier
    if initializer == "Uniform":
        return "uniform", multiplier
    n_in, n_out, k = fans
    for suffix, scale in _SCALES.items():
        if initializer.endswith(suffix) and initializer.startswith("Normal"):
            return "normal", multiplier * scale(n_in, n_out, k)
    if initializer.startswith("Uniform") and initializer.endswith("Glorot"):
        return "uniform", multiplier * sqrt(6.0 / (k * n_in + n_out))
    raise ValueError(f"unknown initializer {initializer}")


def initialize(
    initializer: str, multiplier: float, shape: Shape, fans: tuple[int, int, int], rng: np.random.Generator
) -> np.ndarray:
    """Values of one parameter from an NNC initializer (see ``distribution``), in float64."""
    kind, a = distribution(initializer, multiplier, fans)
    if kind == "constant":
        return np.full(shape, a, dtype=np.float64)
    a = abs(a)  # N(0, a^2) and U(-a, a) are the same for -a: a negative multiplier scales as its size
    return rng.normal(0.0, a, shape) if kind == "normal" else rng.uniform(-a, a, shape)


def moments(source: ParameterSource, shape: Shape, fans: tuple[int, int, int]) -> tuple[float, float]:
    """Mean and variance of a parameter's values, from its file or its initializer, without drawing them."""
    if source.file is not None:
        values = _load_npy(source.file).astype(np.float64)
        return float(values.mean()), float(values.var())
    kind, a = distribution(source.initializer, source.multiplier, fans)
    return {"constant": (a, 0.0), "normal": (0.0, a * a), "uniform": (0.0, a * a / 3)}[kind]


def parameter_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one parameter, independent of every other parameter's."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


H5_EXTRA = "pip install 'nnspec[h5]'"


def load_parameter_file(path: str | Path) -> dict[str, np.ndarray]:
    """Parameters by nnabla name from a file: nnabla's parameter .h5 (by its suffix), else a .npz
    of nnabla-named arrays (never unpickles anything)."""
    if Path(path).suffix.lower() == ".h5":
        return _load_h5(Path(path))
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            raise UsageError(f"{path}: holds one array (a .npy file), not parameters by name: use np.savez")
        with loaded as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise UsageError(f"{path}: parameter file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:  # damaged or not a .npz
        raise UsageError(f"{path}: cannot read as a .npz parameter file: {exc}") from None


def _load_h5(path: Path) -> dict[str, np.ndarray]:
    """An HDF5 file as nnabla's save_parameters writes it: one dataset per parameter, at the path of
    its full name (``fc1/affine/W`` is dataset W in group fc1/affine), with attributes ``need_grad``
    and ``index`` (the order parameters were created in, which the result keeps, as nnabla's
    load_parameters does). h5py is an optional dependency (the ``h5`` extra)."""
    if not path.is_file():
        raise UsageError(f"{path}: " + ("is a directory" if path.is_dir() else "parameter file not found"))
    try:
        import h5py
    except ImportError:
        raise UsageError(f"{path}: reading nnabla's .h5 parameter files needs h5py: {H5_EXTRA}") from None
    found: list[tuple[float, int, str, np.ndarray]] = []
    try:
        with h5py.File(path, "r") as handle:

            def visit(name: str, item) -> None:
                if not isinstance(item, h5py.Dataset):
                    return  # a group: a scope, whose datasets are visited too
                if not (np.issubdtype(item.dtype, np.number) and item.dtype.fields is None):
                    raise UsageError(f"{path}: dataset '{name}' holds {item.dtype} values, not numbers")
                index = item.attrs.get("index")
                order = float(index) if isinstance(index, (int, float, np.number)) else float("inf")
                found.append((order, len(found), name, np.asarray(item[()])))

            handle.visititems(visit)
    except UsageError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: cannot read as an HDF5 parameter file (nnabla's parameter.h5): {exc}") from None
    return {name: value for _, _, name, value in sorted(found, key=lambda entry: entry[:2])}


def resolve_parameters(
    spec: Spec, loaded: Mapping[str, np.ndarray] | None = None, source: str = "the parameters given"
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
        for name, shape in layer.parameter_shapes.items():
            key = layer.parameter_key(name)
            origin = ("layers", layer.index, name)
            if key not in by_key:  # layers sharing a scope share the array (validation checked the shapes)
                value, problem = _parameter_value(spec, layer, name, key, shape, loaded, source)
                if problem:
                    errors.append(_located(spec, origin, problem, layer.name))
                    continue
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
        unused = sorted(set(loaded) - set(by_key))
        if unused:
            warnings.append(
                Diagnostic(
                    f"{len(unused)} parameter(s) in {source} are used by no layer: {', '.join(unused[:8])}"
                    + (" ..." if len(unused) > 8 else ""),
                    spec.file,
                    None,
                    None,
                    WARNING,
                    "unused-parameter",
                )
            )
    return result, warnings


def _parameter_value(spec, layer, name, key, shape, loaded, source) -> tuple[np.ndarray | None, str | None]:
    config = layer.parameters[name]
    if loaded is not None:
        if key not in loaded:
            return None, f"'{key}' of layer {layer.title} (shape {format_shape(shape)}) is missing from {source}"
        value, origin = loaded[key], source
    elif config.file is not None:
        try:
            real = spec.allowed.file(config.file)  # the spec names it: confined as validation checked it
        except OutsideRoots as exc:
            return None, f"parameter file {config.file} of layer {layer.title} {exc}"
        value, origin = _load_npy(real), str(config.file)
    else:
        parameter = next(p for p in layer.type.parameters if p.name == name)
        rng = parameter_rng(spec.seed, key)
        return initialize(config.initializer, config.multiplier, shape, parameter.fans(shape), rng), None
    if value.dtype.kind not in "iuf":  # complex, timedelta64 and bool are np.number or cast silently
        return None, f"'{key}' in {origin} holds {value.dtype} values, not real numbers"
    if value.shape != shape:
        return None, (
            f"parameter '{key}' of layer {layer.title} has shape {format_shape(value.shape)} in {origin}, "
            f"but the layer needs {format_shape(shape)}"
        )
    return value, None


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read as a .npy array: {exc}") from None


def _located(spec: Spec, path: tuple, message: str, layer: str) -> Diagnostic:
    line, column = spec.source_map.locate(path)
    return Diagnostic(message, spec.file, line, column, code="parameter", path=path, layer=layer)


def by_nnabla_name(spec: Spec, parameters: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Parameters as nnabla names them ({scope}/{function scope}/{name}), one entry per shared array:
    what ``--save-params`` writes, and what ``--params`` reads back to repeat a run exactly."""
    return {
        spec.layers[layer].parameter_key(name): value
        for layer, values in parameters.items()
        for name, value in values.items()
    }
