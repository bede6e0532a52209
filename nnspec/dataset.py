"""NNC's dataset format: an index CSV with a header row and one sample per row.

Header cells are ``variable[__dimension][:label]``: ``x:image,y:label`` names two
variables; ``x__0,x__1,x__2,y`` gives the three values of x in order, and y. A cell
holds a number, or a path (absolute or relative to the CSV) to a per-sample data CSV
(no header; rows x columns; one row or one column is 1-D) or to an image, read with
Pillow (an optional dependency: ``pip install 'nnspec[image]'``) as channels x height
x width, 8-bit values divided by 255 and 16-bit ones by 65535 as nnabla's loader does.

A cell's path must lie, symlinks resolved, under the spec's allowed roots or the dataset's own
directory (see nnspec.confine): a dataset cannot read /etc or ~/.ssh. Messages quote a cell in
at most 20 characters, and quote nothing of a dataset the spec named (only files the user named),
nor of a per-sample file a cell names.

The index is read when the run starts (its cells as text); a variable's samples are loaded a
batch at a time, when the batch runs, so memory is bounded by the batch. Every problem is a
UsageError naming the CSV, the row (the header is row 1) and the column: those in a sample's
cell (a missing file, a non-number, a ragged shape) come when that sample's batch is loaded.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

import numpy as np

from .catalog import format_shape
from .confine import EXCERPT, Confinement, OutsideRoots, excerpt
from .data import read_csv
from .diagnostics import UsageError, closest_name
from .sources import file_problem
from .spec import DataReader

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff")
IMAGE_EXTRA = "pip install 'nnspec[image]'"
_DIMENSION = re.compile(r"^(?P<variable>.+?)__(?P<index>\d+)$")
_GRAY_8BIT = {"1", "L", "LA"}
_COLOR_8BIT = {"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "La", "PA"}


@dataclass(frozen=True)
class Column:
    """One header cell: its position in a row, the variable, and the dimension (None: the whole value)."""

    position: int
    variable: str
    dimension: int | None
    name: str  # as messages show it: x, or x__2


def open_dataset(
    path: str | Path,
    readers: Mapping[str, DataReader],
    skip: Collection[str] = (),
    *,
    confinement: Confinement | None = None,
    from_spec: bool = False,
) -> dict[str, DatasetVariable]:
    """The samples of the variables in ``readers`` that the dataset at ``path`` has a column for,
    except those in ``skip`` (their data comes from elsewhere), as sources of shape (N, *size)
    that load a batch's samples when it is asked for (see :class:`DatasetVariable`).

    The index is read now, its cells as text: the header, the bindings and each row's number of
    cells are checked, and each variable's first sample is loaded to learn its shape. Columns of
    variables no layer reads are ignored; a header naming none of the variables in ``readers`` is
    an error. Each variable's samples are reshaped to its reader's size when the number of values
    matches.

    Cells may name files under ``confinement``'s roots (default: none) and the dataset's own
    directory. ``from_spec``: the spec's ``dataset:`` named the file, which must then lie within
    ``confinement`` too, and whose text no message quotes.
    """
    path = Path(path)
    real = _confined_index(path, confinement or Confinement(())) if from_spec else _user_index(path)
    quote = _withheld if from_spec else excerpt
    try:
        with open(real, newline="", encoding="utf-8-sig") as handle:
            rows = [
                (number, row) for number, row in enumerate(csv.reader(handle), start=1) if any(c.strip() for c in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: cannot read as a dataset CSV: {exc}") from None
    if not rows:
        raise UsageError(f"{path}: is empty: a dataset has a header row, then one sample per row")
    header_row, header = rows[0]
    columns = _parse_header(path, header_row, header, quote)
    named = list(dict.fromkeys(column.variable for column in columns))
    if not any(variable in readers for variable in named):
        shown = ", ".join(map(_shown, named[:8])) + (" ..." if len(named) > 8 else "")
        listed = "" if from_spec else f"it names {shown}; "
        raise UsageError(
            f"{path}: the header names no data variable the spec reads ({listed}the spec reads {', '.join(readers)})"
            + ("" if from_spec else _suggestion(named, readers))
        )
    wanted = [variable for variable in named if variable in readers and variable not in skip]
    if not wanted:
        return {}
    samples = rows[1:]
    if not samples:
        raise UsageError(f"{path}: holds no samples: it has a header row and nothing after it")
    for row_number, row in samples:
        if len(row) != len(header):
            raise UsageError(f"{path}: row {row_number}: has {len(row)} cells, but the header has {len(header)}")
    numbers = [row_number for row_number, _ in samples]
    cell_files = CellFiles((confinement or Confinement(())).widened([real.parent]), quote)
    found = {}
    for variable in wanted:
        group = [c for c in columns if c.variable == variable]
        cells = [tuple(row[c.position] for c in group) for _, row in samples]
        found[variable] = DatasetVariable(path, readers[variable], group, numbers, cells, cell_files)
    return found


def _user_index(path: Path) -> Path:
    """A dataset CSV the user named: read wherever it is."""
    problem = file_problem(path)
    if problem:
        raise UsageError(f"{path}: {problem}")
    return Path(os.path.realpath(path))


def _confined_index(path: Path, confinement: Confinement) -> Path:
    """The spec's dataset CSV, which must lie within the spec's roots."""
    try:
        return confinement.file(path)
    except OutsideRoots as exc:
        raise UsageError(f"dataset {path} {exc}") from None


def _withheld(text: str) -> str:
    """Text of a file the user did not name (a dataset the spec names): not quoted in messages."""
    return "(not shown: a file the spec names)"


@dataclass(frozen=True)
class CellFiles:
    """How a dataset's cells are read: the roots the files they name must lie under, and how a message
    quotes a cell of the index (``excerpt``, or ``_withheld`` for a dataset the spec named)."""

    confinement: Confinement
    quote: Callable[[str], str]
    directories: dict[str, str] = field(default_factory=dict)  # the folders of the cells, resolved once a run


class DatasetVariable:
    """One variable's samples in a dataset, loaded a batch at a time: ``source[start:stop]`` reads
    the numbers, data CSVs and images of those rows only (a data source, see nnspec.sources).

    Between batches it holds only the cells' text. Every sample must have the first's shape: a
    ragged sample is a UsageError naming its row when its batch is loaded."""

    dtype = np.dtype(np.float64)

    def __init__(
        self,
        path: Path,
        reader: DataReader,
        group: list[Column],
        rows: list[int],
        cells: list[tuple[str, ...]],
        files: CellFiles,
    ) -> None:
        self.path, self.variable, self.group, self._rows, self._cells = path, reader.variable, group, rows, cells
        self.files = files
        self.sample_shape = self._sample(0).shape
        self.shape = (len(rows), *_as_size(path, reader, self.sample_shape))

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, rows: slice) -> np.ndarray:
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise TypeError("a dataset variable gives consecutive rows by slice: source[start:stop]")
        start, stop, _ = rows.indices(len(self))
        batch = np.empty((max(stop - start, 0), *self.sample_shape))
        for index in range(start, stop):
            sample = self._sample(index)
            if sample.shape != self.sample_shape:
                where = f"{self.path}: row {self._rows[index]}, column {self.variable}"
                raise UsageError(
                    f"{where}: shape {format_shape(sample.shape)}; row {self._rows[0]} had "
                    f"{format_shape(self.sample_shape)}: every sample of a variable must have the same shape"
                )
            batch[index - start] = sample
        return batch.reshape(len(batch), *self.shape[1:])

    def _sample(self, index: int) -> np.ndarray:
        row_number, cells = self._rows[index], self._cells[index]
        if self.group[0].dimension is None:
            where = f"{self.path}: row {row_number}, column {self.group[0].name}"
            return _cell_value(self.path, where, cells[0], self.files)
        return np.array(
            [
                _number(f"{self.path}: row {row_number}, column {c.name}", cell, self.files.quote)
                for c, cell in zip(self.group, cells)
            ]
        )


def _parse_header(path: Path, row_number: int, header: list[str], quote: Callable[[str], str]) -> list[Column]:
    columns = []
    for position, cell in enumerate(header):
        name = cell.partition(":")[0].strip()
        if not name:
            raise UsageError(f"{path}: row {row_number}, column {position + 1}: the header cell is empty")
        match = _DIMENSION.match(name)
        if match:
            columns.append(Column(position, match["variable"], int(match["index"]), name))
        else:
            columns.append(Column(position, name, None, name))
    ordered = []
    for variable in dict.fromkeys(column.variable for column in columns):
        group = [column for column in columns if column.variable == variable]
        where = f"{path}: row {row_number}, column {group[-1].position + 1}"
        if len(group) > 1 and any(column.dimension is None for column in group):
            raise UsageError(
                f"{where}: variable {quote(variable)} has more than one column, and not all of them "
                "VARIABLE__0, VARIABLE__1, ... (one column per dimension)"
            )
        group.sort(key=lambda column: column.dimension or 0)
        if group[0].dimension is not None and [c.dimension for c in group] != list(range(len(group))):
            found = ", ".join(str(column.dimension) for column in group)
            raise UsageError(
                f"{where}: the columns of {quote(variable)} are numbered {found}; they must be numbered "
                f"0 to {len(group) - 1}, each once"
            )
        ordered += group
    return ordered


def _shown(name: str) -> str:
    """A header name of a dataset the user named, for a message: as it is when short and printable."""
    return name if name.isprintable() and len(name) <= EXCERPT else excerpt(name)


def _suggestion(named: list[str], readers: Mapping[str, DataReader]) -> str:
    for variable in named:
        match = closest_name(variable, readers)
        if match:
            return f"; did you mean '{match}' for column {excerpt(variable)}?"
    return ""


def _number(where: str, cell: str, quote: Callable[[str], str]) -> float:
    try:
        return float(cell)
    except ValueError:
        raise UsageError(f"{where}: not a number: {quote(cell)}") from None


def _cell_value(csv_path: Path, where: str, cell: str, files: CellFiles) -> np.ndarray:
    """A cell's sample: a number (as shape (1,)), or the contents of the file it names (absolute, or
    relative to the CSV), which must lie within ``files.confinement``."""
    text = cell.strip()
    try:
        return np.array([float(text)])
    except ValueError:
        pass
    suffix = Path(text).suffix.lower()
    if not text or not (suffix or "/" in text or "\\" in text):
        raise UsageError(
            f"{where}: not a number, nor a path to a data .csv or an image ({', '.join(IMAGE_SUFFIXES)}): "
            + files.quote(cell)
        )
    where = f"{where}: {files.quote(text)}"
    try:
        file = files.confinement.file(csv_path.parent / text, files.directories)  # an absolute path replaces it
    except OutsideRoots as exc:
        raise UsageError(f"{where} {exc}") from None
    if suffix == ".csv":
        try:
            array = read_csv(file, quote=False)  # a file the user did not name: its values are not quoted
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        return array.reshape(-1) if 1 in array.shape else array
    if suffix in IMAGE_SUFFIXES:
        return _read_image(where, file)
    raise UsageError(
        f"{where}: unknown file type '{suffix}': a cell holds a number, or a path to a data .csv "
        f"or an image ({', '.join(IMAGE_SUFFIXES)})"
    )


def _read_image(where: str, file: Path) -> np.ndarray:
    """An image as (channels, height, width): grayscale 1 channel, color 3; 8-bit / 255, 16-bit / 65535."""
    try:
        from PIL import Image
    except ImportError:
        raise UsageError(f"{where} is an image; reading images needs Pillow: {IMAGE_EXTRA}") from None
    try:
        with warnings.catch_warnings():
            # Pillow warns of an image over MAX_IMAGE_PIXELS (89 million) and refuses one over twice
            # that, before decoding it (a "decompression bomb": a small file of a huge image): both
            # are refused here, so that no image can fill the memory before the run's memory check.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file)
        with image:
            image.load()
            mode = image.mode
            if mode == "P":  # a palette (GIF): grayscale when every palette entry is a gray
                palette = image.getpalette() or []
                gray = all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))
                image, mode = image.convert("L" if gray else "RGB"), "L" if gray else "RGB"
            if mode in _GRAY_8BIT:
                return np.asarray(image.convert("L"), dtype=np.float64)[np.newaxis] / 255
            if mode in _COLOR_8BIT:
                return np.asarray(image.convert("RGB"), dtype=np.float64).transpose(2, 0, 1) / 255
            if mode.startswith("I;16"):
                return np.asarray(image, dtype=np.float64)[np.newaxis] / 65535
            if mode in ("I", "F"):  # 32-bit integer or float: taken as they are
                return np.asarray(image, dtype=np.float64)[np.newaxis]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UsageError(f"{where}: the image is too large to read: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's errors for unreadable or truncated files
        raise UsageError(f"{where}: cannot read the image: {exc}") from None
    raise UsageError(f"{where}: images of mode {mode} are not supported: use grayscale or RGB")


def _as_size(path: Path, reader: DataReader, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape samples take: the reader's size when the number of values matches."""
    size = reader.size
    if size is None or shape == tuple(size):
        return shape
    if prod(shape) == prod(size):
        return tuple(size)
    raise UsageError(
        f"{path}: column {reader.variable}: each sample has shape {format_shape(shape)} "
        f"({prod(shape)} values), but {reader.title} reads samples of shape {format_shape(size)} "
        f"({prod(size)} values)"
    )
