"""Data for Input layers: array files, the spec's data: section, or NNC's generators."""

from __future__ import annotations

import mmap
import re
from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, overload

import numpy as np

from ..core import codes
from ..core.diagnostics import DiagnosticList, UsageError, show_value
from ..files.npyfile import NpzArchive, open_npy
from ..files.rows import CsvRows, Reshaped, Source, file_problem
from ..layers.catalog import format_shape
from ..layers.generators import GENERATORS, NO_GENERATOR
from ..spec.model import DataReader, Layer, Spec, data_readers
from ..spec.schema import NAME_PATTERN
from .dataset import DatasetVariable, open_dataset
from .project import WAYS_ON
from .synthetic import Synthesis, synthesis

DEFAULT_SAMPLES = 100


@dataclass(frozen=True)
class DataSource:
    """Where one data variable's values came from in a run (RunResult.sources): ``kind`` is "array"
    (given to the run), "file" (--input, ``input_files``), "dataset" (columns of an NNC dataset CSV),
    "spec" (the spec's ``data:``), "generator" or "synthetic" (``synthetic=True``: nnspec.runtime.synthetic);
    ``description`` says it in a few words, as the report shows it ("file x.npy"). The path of a file
    or dataset is the one given (as messages show it), never resolved further; ``columns`` are a
    dataset's header names for the variable, ``image_normalization`` False for a dataset whose images
    are read as they are (None: normalised, or not a dataset), ``line`` where the spec's data: holds
    it, ``generator`` and ``multiplier`` what draws it; ``synthesis`` how synthetic data is drawn
    (its values, uniform, classes or binary, and their range)."""

    kind: str
    description: str
    file: str | None = None
    columns: tuple[str, ...] = ()
    line: int | None = None
    generator: str | None = None
    multiplier: float | None = None
    image_normalization: bool | None = None
    synthesis: Synthesis | None = None

    @property
    def unnormalised(self) -> bool:
        """Whether the values are images as they are, for the network to scale: a dataset's with
        image_normalization false, or synthetic data drawn as such (nnspec.runtime.synthetic)."""
        return self.image_normalization is False or (self.synthesis is not None and self.synthesis.unnormalised)

    def to_dict(self) -> dict[str, Any]:
        """The source in the JSON report: ``kind`` and ``description``, and the fields of its kind."""
        entry: dict[str, Any] = {"kind": self.kind, "description": self.description}
        if self.file is not None:
            entry["file"] = self.file
        if self.columns:
            entry["columns"] = list(self.columns)
        if self.line is not None:
            entry["line"] = self.line
        if self.image_normalization is not None:
            entry["image_normalization"] = self.image_normalization
        if self.generator is not None:
            entry["generator"] = self.generator
            entry["multiplier"] = self.multiplier
        if self.synthesis is not None:
            entry.update(values=self.synthesis.values, low=self.synthesis.low, high=self.synthesis.high)
        return entry


ARRAY_GIVEN = DataSource("array", "array given")


def file_source(path: str | Path) -> DataSource:
    return DataSource("file", f"file {path}", file=str(path))


def dataset_source(variable: DatasetVariable, named: str = "") -> DataSource:
    """Columns x__0..x__783 (or the one column x) of the dataset, as its header names them: a
    variable's columns are its own name, numbered, so nothing else of the file is shown. ``named``:
    what the dataset is to the run, when more than its path says it (a project's dataset)."""
    names = [column.name for column in variable.group]
    shown = f"columns {names[0]}..{names[-1]}" if len(names) > 1 else f"column {names[0]}"
    normalised = variable.files.image_normalization
    notes = [note for note in (named, "" if normalised else "images as they are: image_normalization false") if note]
    return DataSource(
        "dataset",
        f"dataset {shown} of {variable.path}" + (f" ({'; '.join(notes)})" if notes else ""),
        file=str(variable.path),
        columns=tuple(names),
        image_normalization=None if normalised else False,
    )


def synthetic_source(synthesis: Synthesis) -> DataSource:
    return DataSource("synthetic", synthesis.description, synthesis=synthesis)


def spec_data_source(spec: Spec, variable: str) -> DataSource:
    line = spec.source_map.locate(("data", variable))[0]
    return DataSource("spec", f"spec data: (line {line})" if line is not None else "spec data:", line=line)


def generator_source(reader: DataReader) -> DataSource:
    multiplier = float(reader.multiplier)
    return DataSource(
        "generator", f"generator {reader.generator} x{multiplier}", generator=reader.generator, multiplier=multiplier
    )


class Gathered(NamedTuple):
    """What gather_inputs found: the data of each variable read from a source, the readers still to
    generate theirs (by their generator, or the synthesis of their source), the sample count, and
    where each variable's values come from."""

    data: dict[str, Source]
    to_generate: list[DataReader]
    samples: int  # the sample count (not "count": a tuple has a method of that name)
    sources: dict[str, DataSource]

    @property
    def synthetic(self) -> dict[str, Synthesis]:
        """How each variable drawn synthetic is drawn (nnspec.runtime.synthetic)."""
        return {variable: source.synthesis for variable, source in self.sources.items() if source.synthesis}


@dataclass(frozen=True)
class DatasetChoice:
    """The dataset a run reads, as the runner chose it (nnspec.runtime.runner): ``path`` (None: none),
    whether the spec named it (``from_spec``: confined, its text withheld), whether its images are
    normalised, what it is to the run in a few words (``named``: "dataset 'Validation' of the project's
    executor 'Executor'"), and for a project's dataset that cannot be read, which and why (``unread``)."""

    path: str | Path | None = None
    from_spec: bool = False
    image_normalization: bool = True
    named: str = ""
    unread: str | None = None


def draw(reader: DataReader, start: int, stop: int, seed: int, synthetic: Synthesis | None = None) -> np.ndarray:
    """Samples ``start`` to ``stop`` of a reader to generate: its synthetic rule's, else its generator's."""
    return generate(reader, start, stop, seed) if synthetic is None else synthetic.draw(reader, start, stop, seed)


def npz_members(path: str | Path) -> list[str]:
    """The names of the arrays a .npz file holds (only its zip directory is read)."""
    path = Path(path)
    problem = file_problem(path)
    if problem:
        raise UsageError(f"{path}: {problem}")
    return list(NpzArchive(path))


def read_array_file(path: str | Path, variable: str, max_memory: int | None = None) -> Source:
    """Data from a file, as a source read a batch at a time (see nnspec.files.rows): .npy, .npz (the
    entry named ``variable``, or its only entry) or .csv (one sample per row, numbers only). A .npy
    file's or .npz member's header is checked in full and no value is read before a batch asks for
    it (nnspec.files.npyfile: positioned reads, a member inflated no further than the batch); a CSV's rows
    are read a batch at a time, within ``max_memory`` bytes besides its batch (see CsvRows)."""
    path = Path(path)
    suffix = path.suffix.lower()
    problem = file_problem(path)
    if problem:
        raise UsageError(f"{path}: {problem}")
    if suffix == ".npy":
        return open_npy(path)
    if suffix == ".npz":
        return NpzArchive(path).member(variable)
    if suffix == ".csv":
        _refuse_dataset_csv(path)
        return CsvRows(path, max_memory)
    raise UsageError(f"{path}: unknown data file type '{suffix}': use .npy, .npz or .csv")


# A cell of an NNC dataset CSV's header: a variable, a dimension (x__0), a label (y:label).
_HEADER_CELL = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_']*(__\d+)?(:[^,]*)?\s*")
_FIRST_LINE = 65536  # bytes of a CSV looked at for a header: more than any header of a few thousand columns


def _refuse_dataset_csv(path: Path) -> None:
    """An NNC dataset CSV (a header row of variable names) given as a data file: say to use --dataset.

    A data file is numbers only, so without this its header gets "not a number: 'x__0'", which
    does not say that the file is fine and the option is not."""
    with open(path, "rb") as handle:
        first = handle.read(_FIRST_LINE).split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff")
    cells = first.rstrip("\r").split(",")
    if all(_HEADER_CELL.fullmatch(cell) and not _is_number(cell) for cell in cells):
        raise UsageError(
            f"{path}: this is an NNC dataset CSV (its first row is a header: {_header_excerpt(cells)}): "
            "use --dataset to read it, --input takes numbers only"
        )


def _header_excerpt(cells: list[str]) -> str:
    """A header's first cells for a message."""
    shown = ",".join(cell.strip() for cell in cells[:3])
    return shown + (",..." if len(cells) > 3 else "")


def _is_number(cell: str) -> bool:
    """Whether a cell reads as a number: nan and inf are words a data file may hold."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def release(array: Source | None) -> None:
    """Let go of the pages of a memory-mapped array this process has read (one a caller gave): they
    stay in the file and the page cache, but no longer count in the run's memory, which the
    batch bounds, however large the file. A batch read again later is read back from the file."""
    while isinstance(array, np.ndarray):
        mapping = getattr(array, "_mmap", None)
        if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED") and not mapping.closed:
            mapping.madvise(mmap.MADV_DONTNEED)
            return
        array = array.base


def generate(reader: DataReader, start: int, stop: int, seed: int) -> np.ndarray:
    """Samples ``start`` to ``stop`` (exclusive) of a generator's data (an Input's, or a target's),
    times its multiplier, in float64: the same values whichever batch they are drawn in
    (nnspec.layers.generators)."""
    values = GENERATORS[reader.generator].draw(seed, reader.stream_key, start, stop - start, reader.sample_shape)
    with np.errstate(over="ignore"):  # a huge multiplier gives inf, which the nan-inf check reports
        return values * reader.multiplier


Given = TypeVar("Given")  # what a caller gives for a variable: an array, a file's path, a dataset's columns


def variables(spec: Spec) -> dict[str, DataReader]:
    """Each data variable and its first reader (validation made the others agree on its size); where
    that one has no generator, the first that has one: its generator makes the variable's values when
    no data is given (a target reading 'y' written above the Input 'y' that generates it)."""
    found: dict[str, DataReader] = {}
    for reader in spec.readers:
        first = found.setdefault(reader.variable, reader)
        if first.generator == NO_GENERATOR and reader.generator != NO_GENERATOR:
            found[reader.variable] = reader
    return found


def version_1_shared(spec: Spec, readers: Mapping[str, DataReader]) -> dict[str, list[str]]:
    """For a spec of format version 1, each data variable that only generated targets name (their
    ``dataset``, ``y`` by default), with their variables (``loss/T``): version 1 gave them data given
    for it at run time (``--input y=``, a dataset column ``y``), which they still take. (Where another
    layer reads the variable, or the spec's ``data:`` holds it, the upgrade rewrote them to read it:
    nnspec.spec.upgrade.) Empty for a spec of version 2, where such a target is generated, and for
    the networks version 2 brought (``--network NAME``, a unit's layers: ``Unit/loss``), which mean
    what version 2 says."""
    if spec.format_version != 1 or spec.network is not None:
        return {}
    shared: dict[str, list[str]] = {}
    for variable, reader in readers.items():
        in_main = "/" not in reader.layer.name  # a unit's layers are named after it: FireModule_3/Squeeze
        generated = reader.target is not None and reader.generator != NO_GENERATOR
        if in_main and generated and reader.stream_key not in readers:
            shared.setdefault(reader.stream_key, []).append(variable)
    return shared


def _given_to_targets(given: dict[str, Given], shared: Mapping[str, list[str]]) -> dict[str, Given]:
    """Data given for each variable of ``shared`` (version_1_shared), moved to the targets it names."""
    moved = dict(given)
    for variable, targets in shared.items():
        if variable in moved:
            value = moved.pop(variable)
            moved.update({target: value for target in targets if target not in moved})
    return moved


def gather_inputs(
    spec: Spec,
    arrays: Mapping[str, np.ndarray] | None = None,
    files: Mapping[str, str | Path] | None = None,
    samples: int | None = None,
    dataset: str | Path | None = None,
    readers: Mapping[str, DataReader] | None = None,
    max_memory: int | None = None,
    dataset_from_spec: bool = False,
    *,
    choice: DatasetChoice | None = None,
    synthetic: bool = False,
) -> Gathered:
    """The data of every data variable, the readers still to generate theirs, the sample count and
    each variable's source (DataSource, in the order of ``readers``).

    Sources, first found wins: ``arrays`` (numpy arrays given by the caller), ``files``
    (--input NAME=PATH), ``dataset`` (--dataset PATH: an NNC dataset CSV, whose columns
    bind to data variables by name; columns no layer reads are ignored; see
    nnspec.runtime.dataset), the spec's data: section, the reader's generator. Every
    variable must have the same number of samples; generators make as many as the
    other sources have, or ``samples`` (default 100) when all are generated. ``readers`` is
    ``variables(spec)``, for a caller that keeps it between runs. Data is
    given as sources (nnspec.files.rows: numpy arrays, or objects giving rows [start, stop)
    as arrays), which the runner slices a batch at a time: arrays keep their dtype, a .npy
    file's or .npz member's rows, a CSV's rows and a dataset's samples are read when their
    batch runs; the runner converts each batch to the spec's dtype. ``max_memory`` (bytes)
    bounds what reading a CSV, an image or a data file of a dataset may take, checked before it is
    allocated. ``dataset_from_spec``: the dataset is the spec's ``dataset:``, confined as the
    spec's files are (see nnspec.files.confine). ``choice`` says all of that about the dataset at
    once (it replaces ``dataset`` and ``dataset_from_spec``): its image normalisation too, and why a
    project's dataset could not be read, which a variable left without data then reports.

    ``synthetic``: a variable that has none of these sources is drawn as nnspec.runtime.synthetic
    says (in 0..255 where ``choice`` is a dataset not normalised), rather than being an error.
    """
    if choice is None:
        choice = DatasetChoice(dataset, dataset_from_spec)
    dataset = choice.path
    arrays, files = dict(arrays or {}), dict(files or {})
    readers = variables(spec) if readers is None else readers
    shared = version_1_shared(spec, readers)
    arrays, files = _given_to_targets(arrays, shared), _given_to_targets(files, shared)
    unknown = sorted((set(arrays) | set(files)) - set(readers))
    if unknown:
        raise UsageError(
            f"no layer reads data variable(s) {', '.join(unknown)}; the spec's variables are: {', '.join(readers)}"
            + _generated_instead(spec.layers, unknown)
        )
    from_dataset: Mapping[str, DatasetVariable] = {}
    if dataset is not None:
        from_dataset = dict(
            open_dataset(
                dataset,
                {**readers, **{variable: readers[targets[0]] for variable, targets in shared.items()}},
                skip=set(arrays) | set(files),
                max_memory=max_memory,
                confinement=spec.allowed,
                from_spec=choice.from_spec,
                image_normalization=choice.image_normalization,
            )
        )
        from_dataset = _given_to_targets(from_dataset, shared)
    data: dict[str, Source] = {}
    to_generate: list[DataReader] = []
    sources: dict[str, DataSource] = {}
    for variable, reader in readers.items():
        value: Source
        if variable in arrays:
            value, origin = np.asarray(arrays[variable]), "the array given"
            sources[variable] = ARRAY_GIVEN
        elif variable in files:
            value, origin = read_array_file(files[variable], variable, max_memory), str(files[variable])
            sources[variable] = file_source(files[variable])
        elif variable in from_dataset:
            data[variable] = from_dataset[variable]  # already (N, *size): open_dataset reshaped it
            sources[variable] = dataset_source(from_dataset[variable], choice.named)
            continue
        elif variable in spec.data:
            value, origin = spec.data[variable], "the spec's data"
            sources[variable] = spec_data_source(spec, variable)
        elif reader.generator != NO_GENERATOR:
            to_generate.append(reader)
            sources[variable] = generator_source(reader)
            continue
        elif synthetic:
            to_generate.append(reader)
            sources[variable] = synthetic_source(synthesis(spec, reader, choice.image_normalization))
            continue
        elif choice.unread is not None:
            raise UsageError(f"no data for {reader.title}: {choice.unread}: {WAYS_ON}")
        else:
            setting = "its generator" if reader.target is None else f"{reader.target}: {{generator: ...}}"
            absent = f" (the dataset {dataset} has no column '{variable}')" if dataset is not None else ""
            raise UsageError(
                f"no data for {reader.title}{absent}: give --input {variable}=FILE, add '{variable}:' under data: "
                f"in the spec, set {setting}, or run with --synthetic"
            )
        if value.dtype.kind not in "biuf":  # complex and timedelta64 would be cast silently
            raise UsageError(f"data for '{variable}' from {origin} holds {value.dtype} values, not numbers")
        size = reader.sample_shape
        if not isinstance(value, np.ndarray) and value.shape == size:
            value = value[0 : len(value)]  # a file holding the one sample alone: read it
        shape = value.shape
        if len(shape) >= 1 and shape[1:] != size and shape != size and prod(shape[1:]) == prod(size):
            # rows of flattened samples, as in a CSV
            value = value.reshape(len(value), *size) if isinstance(value, np.ndarray) else Reshaped(value, size)
        try:
            data[variable] = samples_of(value, size)
        except ValueError as exc:
            raise UsageError(f"data for '{variable}' from {origin}: {exc}") from None
    counts = {variable: len(value) for variable, value in data.items()}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{v}: {n}" for v, n in counts.items())
        raise UsageError(f"data variables have different numbers of samples ({listed}); they must match")
    count = next(iter(counts.values()), samples or DEFAULT_SAMPLES)
    if count == 0:
        raise UsageError(f"the data holds no samples ({', '.join(counts)}: 0): there is nothing to run")
    return Gathered(data, to_generate, count, sources)


def check_spec_data(
    data: dict[str, Any], layers: dict[str, Layer], diagnostics: DiagnosticList
) -> dict[str, np.ndarray]:
    """The spec's data: section as arrays, each checked against the layer that reads it."""
    values = data.get("data")
    if not isinstance(values, dict):
        return {}
    readers: dict[str, DataReader] = {}
    for each in data_readers(layers):
        readers.setdefault(each.variable, each)
    arrays: dict[str, np.ndarray] = {}
    for variable, value in values.items():
        where = ("data", variable)
        reader = readers.get(variable)
        if not re.fullmatch(NAME_PATTERN.strip("^$"), variable):
            continue  # the schema reports the name
        if reader is None:
            named = layers.get(variable)
            hint = (
                f"; layer {named.title} reads data variable '{named.dataset}' (its dataset property)"
                if named is not None and named.type.is_source
                else _generated_instead(layers, [variable], given=False) or diagnostics.suggestion(variable, readers)
            )
            diagnostics.add(
                f"data names variable '{variable}', but no layer reads it{hint}",
                where,
                code=codes.UNKNOWN_VARIABLE,
                at_key=True,
            )
            continue
        try:
            array = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            position, problem = _first_bad_sample(value)
            diagnostics.add(
                f"data for '{variable}' must be numbers, one equally long list per sample: {problem}",
                where + position,
                code=codes.INVALID_DATA,
            )
            continue
        if reader.size is None:
            continue  # the reader's shape could not be inferred: that error is reported
        try:
            arrays[variable] = samples_of(array, reader.size)
        except ValueError as exc:
            diagnostics.add(f"data for '{variable}' (read by {reader.title}): {exc}", where, code=codes.DATA_SHAPE)
    return arrays


def _generated_instead(layers: Mapping[str, Layer], variables: list[str], given: bool = True) -> str:
    """Why a variable a generated side input names is read by no layer: it is generated instead
    (such data replaced the generated values before side inputs had variables of their own).
    ``given``: the data comes with the run (--input), which may name the side input's own variable."""
    named = [
        f"{pin} of {layer.title} names '{source.dataset}' but is generated ({source.generator}); "
        + (f"give its values as {layer.name}/{pin}, or " if given else "")
        + f"remove its generator to read '{source.dataset}'"
        for layer in layers.values()
        for pin, source in layer.targets.items()
        if source.dataset in variables and source.input is None and source.generator != NO_GENERATOR
    ]
    return "; " + "; ".join(named[:3]) if named else ""


def _first_bad_sample(value: Any) -> tuple[tuple[int, ...], str]:
    """Where data stops being a regular array of numbers, and why (for the message)."""
    if not isinstance(value, list):
        return (), f"got {show_value(value)}"
    shapes = []
    for index, sample in enumerate(value):
        try:
            shapes.append(np.asarray(sample, dtype=np.float64).shape)
        except (ValueError, TypeError):
            return (index,), f"sample {index + 1} is not a regular list of numbers"
        if shapes[-1] != shapes[0]:
            return (
                index,
            ), f"sample {index + 1} has shape {format_shape(shapes[-1])}, sample 1 {format_shape(shapes[0])}"
    return (), "the samples are not regular lists of numbers"


@overload
def samples_of(array: np.ndarray, size: tuple[int, ...]) -> np.ndarray: ...
@overload
def samples_of(array: Source, size: tuple[int, ...]) -> Source: ...


def samples_of(array: Source, size: tuple[int, ...]) -> Source:
    """Data as a batch of samples of ``size``: (N, *size) as it is, or a single sample given alone
    (an array: a file's reader holding one sample alone is read before: gather_inputs)."""
    size = tuple(size)
    if array.shape == size and isinstance(array, np.ndarray):
        return array[np.newaxis]
    if array.shape[1:] == size:
        return array
    raise ValueError(
        f"expects samples of shape {format_shape(size)} (a list of them, or one alone); "
        f"got shape {format_shape(array.shape)}"
    )
