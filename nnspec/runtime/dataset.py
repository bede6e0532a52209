"""NNC's dataset format: an index CSV with a header row and one sample per row.

Header cells are ``variable[__dimension][:label]``: ``x:image,y:label`` names two
variables; ``x__0,x__1,x__2,y`` gives the three values of x in order, and y. A cell
holds a number, or a path (absolute or relative to the CSV) to a per-sample data CSV
(no header; rows x columns; one row or one column is 1-D) or to an image, read with
Pillow (an optional dependency: ``pip install Pillow``) as channels x height x width.

Image normalisation is a property of the dataset (NNC's ImageNormalization, nnabla's
``normalize``): normalised, as by default, 8-bit images are divided by 255 and 16-bit ones by
65535, as nnabla's loader does; not normalised, they are fed as they are, 0..255 (0..65535).
Only images are touched: numbers, data CSVs and 32-bit images are read as they are either way
(nnabla's data_source_loader.load_image and CacheDataSource divide uint8 and uint16 values only).

A cell's path must lie, symlinks resolved, under the spec's allowed roots or the dataset's own
directory (see nnspec.files.confine): a dataset cannot read /etc or ~/.ssh. Messages quote a cell in
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
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import TextIO

import numpy as np

from ..core import codes
from ..core.diagnostics import WARNING, Diagnostic, UsageError
from ..core.extras import install_hint
from ..core.suggest import Suggester
from ..files.confine import Confinement, OutsideRoots
from ..files.memory import check_read
from ..files.rows import EXCERPT, excerpt, file_problem, read_csv
from ..layers.catalog import format_shape
from ..spec.model import DataReader

# The one Pillow format a suffix names, the only one an image is opened as (see _read_image).
IMAGE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".gif": "GIF",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
IMAGE_SUFFIXES = tuple(IMAGE_FORMATS)
IMAGE_EXTRA = install_hint("image")
_DIMENSION = re.compile(r"^(?P<variable>.+?)__(?P<index>\d+)$")
_GRAY_8BIT = {"1", "L", "LA"}
_COLOR_8BIT = {"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "La", "PA"}
_CONVERTED_COLORS = {"CMYK", "LAB", "HSV"}


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
    max_memory: int | None = None,
    *,
    confinement: Confinement | None = None,
    from_spec: bool = False,
    image_normalization: bool = True,
) -> dict[str, DatasetVariable]:
    """The samples of the variables in ``readers`` that the dataset at ``path`` has a column for,
    except those in ``skip`` (their data comes from elsewhere), as sources of shape (N, *size)
    that load a batch's samples when it is asked for (see :class:`DatasetVariable`).

    The index is read now, its cells as text: the header, the bindings and each row's number of
    cells are checked, and each variable's first sample is loaded to learn its shape. Columns of
    variables no layer reads are ignored; a header naming none of the variables in ``readers`` is
    an error. Each variable's samples are reshaped to its reader's size when the number of values
    matches. ``max_memory`` (bytes) bounds the memory of reading each image and data CSV, checked
    before it is decoded.

    Cells may name files under ``confinement``'s roots (default: none) and the dataset's own
    directory. ``from_spec``: the spec's ``dataset:`` named the file, which must then lie within
    ``confinement`` too, and whose text no message quotes. ``image_normalization`` false: 8-bit and
    16-bit images are read as they are (0..255, 0..65535), not divided (see the module's docstring).
    """
    path = Path(path)
    real = _confined_index(path, confinement or Confinement(())) if from_spec else _user_index(path)
    quote = _withheld if from_spec else excerpt
    try:
        with open(real, newline="", encoding="utf-8-sig") as handle:
            rows = _index_rows(path, handle, max_memory)
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
    cell_files = CellFiles((confinement or Confinement(())).widened([real.parent]), quote, image_normalization)
    found = {}
    for variable in wanted:
        group = [c for c in columns if c.variable == variable]
        cells = [tuple(row[c.position] for c in group) for _, row in samples]
        found[variable] = DatasetVariable(path, readers[variable], group, numbers, cells, cell_files, max_memory)
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
    """How a dataset's cells are read: the roots the files they name must lie under, how a message
    quotes a cell of the index (``excerpt``, or ``_withheld`` for a dataset the spec named), and
    whether images are normalised (8-bit / 255, 16-bit / 65535)."""

    confinement: Confinement
    quote: Callable[[str], str]
    image_normalization: bool = True
    directories: dict[str, str] = field(default_factory=dict)  # the folders of the cells, resolved once a run


class DatasetVariable:
    """One variable's samples in a dataset, loaded a batch at a time: ``source[start:stop]`` reads
    the numbers, data CSVs and images of those rows only (a data source, see nnspec.files.rows).

    Between batches it holds only the cells' text. Every sample must have the first's shape: a
    ragged sample is a UsageError naming its row when its batch is loaded. Reading one image or data
    CSV may take ``max_memory`` bytes at most. ``notes`` are warnings about how images were read
    (once a file: an animation's first frame, colors converted to RGB)."""

    dtype = np.dtype(np.float64)
    NOTED_FILES = 5  # a dataset of many animations gets a note for the first few files and a count

    def __init__(
        self,
        path: Path,
        reader: DataReader,
        group: list[Column],
        rows: list[int],
        cells: list[tuple[str, ...]],
        files: CellFiles,
        max_memory: int | None = None,
    ) -> None:
        self.path, self.variable, self.group, self._rows, self._cells = path, reader.variable, group, rows, cells
        self.files = files
        self._max_memory = max_memory
        self._caveats: dict[Path, str] = {}
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

    @property
    def notes(self) -> list[Diagnostic]:
        """Warnings about the images read so far, one a file (the first few, then how many more)."""
        shown = list(self._caveats.values())[: self.NOTED_FILES]
        if len(self._caveats) > len(shown):
            shown.append(f"and {len(self._caveats) - len(shown)} more images read with such a caveat")
        return [Diagnostic(message, str(self.path), severity=WARNING, code=codes.IMAGE_READ) for message in shown]

    def _sample(self, index: int) -> np.ndarray:
        row_number, cells = self._rows[index], self._cells[index]
        if self.group[0].dimension is None:
            where = f"{self.path}: row {row_number}, column {self.group[0].name}"
            return _cell_value(self.path, where, cells[0], self.files, self._max_memory, self._caveats)
        return np.array(
            [
                _number(f"{self.path}: row {row_number}, column {c.name}", cell, self.files.quote)
                for c, cell in zip(self.group, cells)
            ]
        )


# What the index's rows take besides the text of their cells: a row's number, list and tuple, and
# a cell's string object and the references to it (measured with sys.getsizeof: about 100 and 57).
INDEX_ROW_BYTES, INDEX_CELL_BYTES = 128, 64


def _index_rows(path: Path, handle: TextIO, max_memory: int | None) -> list[tuple[int, list[str]]]:
    """The rows of a dataset's index that hold more than blanks, with their numbers. They are kept
    (as text) for the whole run: their memory is counted as they come, and a line's before the csv
    module splits it (a line of n characters makes at most n cells), within ``max_memory``."""
    rows: list[tuple[int, list[str]]] = []
    used = 0
    for number, row in enumerate(csv.reader(_index_lines(path, handle, max_memory)), start=1):
        if any(cell.strip() for cell in row):
            rows.append((number, row))
            used += INDEX_ROW_BYTES + sum(INDEX_CELL_BYTES + len(cell) for cell in row)
            check_read(f"{path}: the index's first {len(rows):,} rows", used, max_memory)
    return rows


def _index_lines(path: Path, handle: TextIO, max_memory: int | None) -> Iterator[str]:
    """The lines of a text file, each read in pieces and refused before it is whole when the cells
    it could hold (one a character) would take more than ``max_memory``."""
    number = 1
    pieces: list[str] = []
    length = 0
    while piece := handle.readline(2**16):
        pieces.append(piece)
        length += len(piece)
        check_read(f"{path}: line {number} ({length:,} characters so far)", length * INDEX_CELL_BYTES, max_memory)
        if piece.endswith("\n"):
            yield "".join(pieces)
            pieces, length, number = [], 0, number + 1
    if pieces:
        yield "".join(pieces)


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
    suggester = Suggester()  # one budget for the header: it may name thousands of columns
    for variable in named:
        match = suggester.closest(variable, readers)
        if match:
            return f"; did you mean '{match}' for column {excerpt(variable)}?"
    return ""


def _number(where: str, cell: str, quote: Callable[[str], str]) -> float:
    try:
        return float(cell)
    except ValueError:
        raise UsageError(f"{where}: not a number: {quote(cell)}") from None


def _cell_value(
    csv_path: Path,
    where: str,
    cell: str,
    files: CellFiles,
    max_memory: int | None = None,
    caveats: dict[Path, str] | None = None,
) -> np.ndarray:
    """A cell's sample: a number (as shape (1,)), or the contents of the file it names (absolute, or
    relative to the CSV), which must lie within ``files.confinement``, read within ``max_memory``
    bytes (see _read_image for ``caveats``)."""
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
            array = read_csv(file, max_memory, quote=False)  # a file the user did not name: its values are not quoted
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        return array.reshape(-1) if 1 in array.shape else array
    if suffix in IMAGE_SUFFIXES:
        return _read_image(where, file, max_memory, caveats, files.image_normalization)
    raise UsageError(
        f"{where}: unknown file type '{suffix}': a cell holds a number, or a path to a data .csv "
        f"or an image ({', '.join(IMAGE_SUFFIXES)})"
    )


def _read_image(
    where: str,
    file: Path,
    max_memory: int | None = None,
    caveats: dict[Path, str] | None = None,
    normalized: bool = True,
) -> np.ndarray:
    """An image as (channels, height, width): grayscale 1 channel, color 3; ``normalized``: 8-bit / 255,
    16-bit / 65535, else as they are.

    The file is opened as the format its suffix names, and only that one: whatever its bytes look
    like, no other of Pillow's readers sees it (its EPS reader runs Ghostscript). Its size and mode,
    from its header, bound the memory decoding it takes, which must be within ``max_memory``
    before it is decoded. What a reader should know about how it was read (an animation's first
    frame, colors converted to RGB) goes into ``caveats``, by file."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise UsageError(f"{where} is an image; reading images needs Pillow: {IMAGE_EXTRA}") from None
    form = IMAGE_FORMATS[file.suffix.lower()]
    try:
        with warnings.catch_warnings():
            # Pillow warns of an image over MAX_IMAGE_PIXELS (89 million) and refuses one over twice
            # that, before decoding it (a "decompression bomb": a small file of a huge image): both
            # are refused here, so that no image can fill the memory before the run's memory check.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file, formats=[form])
        with image:
            width, height = image.size
            check_read(
                f"{where}: an image of {width} x {height} pixels ({image.mode})",
                _decoding_bytes(image.mode, width * height),
                max_memory,
            )
            if caveats is not None:
                _note_caveats(file, where, image, caveats)
            image.load()
            return _pixels(where, image, normalized)
    except UnidentifiedImageError:
        problem = f"not a {form} file, as its name says, or damaged"
        raise UsageError(f"{where}: cannot read the image: {problem}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UsageError(f"{where}: the image is too large to read: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's errors for unreadable or truncated files
        raise UsageError(f"{where}: cannot read the image: {exc}") from None


def _decoding_bytes(mode: str, pixels: int) -> int:
    """An upper bound of the bytes decoding an image takes: Pillow's decoded image and one converted
    copy (at most 4 bytes a pixel each), then numpy's copy of the pixels (at most 4 bytes a value)
    and the float64 values (8 bytes a value)."""
    channels = 1 if mode in _GRAY_8BIT or mode.startswith("I") or mode == "F" else 3
    return pixels * (2 * 4 + channels * (4 + 8))


def _pixels(where: str, image, normalized: bool = True) -> np.ndarray:
    """A decoded image's values as (channels, height, width), converted once at most; ``normalized``:
    8-bit values divided by 255 and 16-bit ones by 65535 (the scale nnabla divides by), else as they are."""
    eight, sixteen = (255, 65535) if normalized else (1, 1)
    mode = image.mode
    if mode == "P":  # a palette (GIF): grayscale when every palette entry is a gray
        palette = image.getpalette() or []
        gray = all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))
        mode = "L" if gray else "RGB"
    if mode in _GRAY_8BIT:
        return (np.asarray(image if image.mode == "L" else image.convert("L")) / eight)[np.newaxis]
    if mode in _COLOR_8BIT:
        return (np.asarray(image if image.mode == "RGB" else image.convert("RGB")) / eight).transpose(2, 0, 1)
    if mode.startswith("I;16"):
        return (np.asarray(image) / sixteen)[np.newaxis]
    if mode in ("I", "F"):  # 32-bit integer or float: taken as they are
        return np.asarray(image, dtype=np.float64)[np.newaxis]
    raise UsageError(f"{where}: images of mode {mode} are not supported: use grayscale or RGB")


def _note_caveats(file: Path, where: str, image, caveats: dict[Path, str]) -> None:
    """What the values of an image leave out, said once a file: the other frames of an animation;
    colors given in another color space (LAB, HSV, CMYK), converted to RGB without a color profile."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        caveats.setdefault(file, f"{where}: an animation of {frames} frames: only its first frame is read")
    elif image.mode in _CONVERTED_COLORS:
        caveats.setdefault(
            file,
            f"{where}: colors in {image.mode}, converted to RGB without a color profile: they may differ from "
            "what an image viewer shows",
        )


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
