"""Data sources read a batch at a time: what the runner slices.

A source is anything with ``shape`` ((N, *sample)), ``dtype``, ``len()`` and ``source[start:stop]``
giving those rows as a numpy array; a numpy array (a memory-mapped one included) is one already.
The others here keep only an index of the rows between batches, so a run's memory is bounded by
the batch, not the file: a plain numeric CSV (:class:`CsvRows`), and any source reshaped sample
by sample (:class:`Reshaped`). A .npy file and a .npz member are read the same way, their rows
by positioned reads or inflated a batch at a time (nnspec.files.npyfile); NNC datasets are in nnspec.runtime.dataset.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
import warnings
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
from numpy.typing import ArrayLike

from ..core.diagnostics import UsageError
from .memory import check_read

EXCERPT = 20  # the most characters of a file's content a message quotes


def file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a data file, in a few words ("file not found", "is a
    directory"), or None when it is a regular file. Never raises: a name too long for the system,
    or one holding a NUL character, is a problem like any other. A device or a pipe is refused,
    since reading /dev/zero would never end."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "file not found"
    except ValueError:  # os.stat's "embedded null byte"
        return "is not a usable path (it holds a NUL character)"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a device, a pipe or a socket)"
    return None


class Source(Protocol):
    """Rows [start, stop) of a data variable as an array; a numpy array is one."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def __len__(self) -> int: ...

    def __getitem__(self, rows: slice) -> np.ndarray: ...


def _bounds(rows: slice, length: int) -> tuple[int, int]:
    if not isinstance(rows, slice):
        raise TypeError("a data source gives rows by slice: source[start:stop]")
    start, stop, step = rows.indices(length)
    if step != 1:
        raise ValueError("a data source gives consecutive rows only")
    return start, max(start, stop)


class CsvRows:
    """A CSV of numbers, one sample a row (blank lines skipped), read a batch of rows at a time.

    Opening it records where each row starts and its line number (16 bytes a row) and reads the
    first row, whose number of values every row must have; a row's values are read, and checked,
    only when a batch asks for it. Errors name the file, the line and the column, and quote a cell
    that is not a number (at most 20 characters of it) when ``quote`` is true: only for a file the
    user named.

    A batch's rows are parsed by numpy's C parser (np.loadtxt), runs of consecutive rows of at most
    FAST_TEXT bytes of text at a time (a longer row alone); a run it refuses is read again per cell,
    which finds and locates the error. Per cell, the text is read in pieces of at most BLOCK bytes
    (a long row in several, cut between cells), each parsed into float64 values as it comes. Besides
    the index and the batch's values, reading takes the memory of one run of rows (one row when a
    row is longer than FAST_TEXT), and indexing that of INDEX_BLOCK bytes and a few arrays of 8
    bytes a line end in them. ``max_memory`` (bytes) bounds the index and the batch's values,
    each checked before it grows or is allocated. Neither the index nor the runs cost Python per
    row: numpy finds the line ends and the runs' bounds."""

    dtype = np.dtype(np.float64)
    BLOCK = 2**16
    INDEX_BYTES = 16  # a row's start and line number
    INDEX_BLOCK = 2**18  # the bytes of the file the index reads at a time (its line ends: 8 bytes each)
    FAST_TEXT = 2**20  # the most text numpy's parser is given at once (a longer row: alone)

    def __init__(self, path: str | Path, max_memory: int | None = None, quote: bool = True) -> None:
        self.path, self.max_memory, self.quote = Path(path), max_memory, quote
        self._starts, self._lines = array("q"), array("q")
        try:
            with open(self.path, "rb") as handle:
                self._end = self._index(handle)
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot read: {exc}") from None
        if not self._starts:
            raise UsageError(f"{self.path}: holds no values")
        self.width = -1  # the first row sets it
        self.width = self._read(0, 1).shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._starts), self.width)

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, rows: slice) -> np.ndarray:
        return self._read(*_bounds(rows, len(self)))

    def _index(self, handle: BinaryIO) -> int:
        """Record where each line holding more than line ends starts, and its number; the file's size.

        The file is read INDEX_BLOCK bytes at a time and each block's line ends found by numpy, so
        a file of many short rows costs no Python per row (a readline per row took three times as
        long as parsing the values of a tall file)."""
        most = None if self.max_memory is None else self.max_memory // self.INDEX_BYTES
        offset = line_start = len(codecs.BOM_UTF8) if handle.read(3) == codecs.BOM_UTF8 else 0
        handle.seek(offset)
        number, content = 1, False  # the line under way: its number, whether it holds more than CRs so far
        while block := handle.read(self.INDEX_BLOCK):
            ends = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
            if not len(ends):  # the line under way goes on past this block
                content = content or _has_content(block)
                offset += len(block)
                continue
            self._add_rows([line_start], [number], [content or _has_content(block[: ends[0]])], most)
            starts = ends[:-1] + 1  # the lines wholly in this block
            self._add_rows(
                offset + starts, number + 1 + np.arange(len(starts)), _lines_with_content(block, starts, ends[1:]), most
            )
            number += len(ends)
            line_start, content = offset + int(ends[-1]) + 1, _has_content(block[ends[-1] + 1 :])
            offset += len(block)
        self._add_rows([line_start], [number], [content], most)  # a last line without its line end
        return offset

    def _add_rows(self, starts: ArrayLike, numbers: ArrayLike, content: ArrayLike, most: int | None) -> None:
        """Record the lines of these ``starts`` and ``numbers`` where ``content`` is true."""
        kept = np.asarray(content, bool)
        new_starts, new_numbers = np.asarray(starts, np.int64)[kept], np.asarray(numbers, np.int64)[kept]
        if most is not None and len(self._starts) + len(new_starts) > most:
            check_read(f"{self.path}: the index of its rows", (most + 1) * self.INDEX_BYTES, self.max_memory)
        self._starts.frombytes(new_starts.tobytes())
        self._lines.frombytes(new_numbers.tobytes())

    def _read(self, start: int, stop: int) -> np.ndarray:
        if start == stop:
            return np.empty((0, max(self.width, 0)))
        values = None
        if self.width >= 0:
            needed = (stop - start) * self.width * 8
            check_read(f"{self.path}: {stop - start} rows of {self.width} values", needed, self.max_memory)
            values = np.empty((stop - start, self.width))
        with open(self.path, "rb") as handle:
            if values is None:  # the first row, which sets the width: per cell, its size unknown
                handle.seek(self._starts[start])
                return self._row(handle, self._lines[start], None)[np.newaxis]
            first = start
            for end in self._spans(start, stop):
                self._fast(handle, first, end, values[first - start : end - start])
                first = end
        return values

    def _spans(self, start: int, stop: int) -> Iterator[int]:
        """Where runs of rows [start, stop) end, each run of at most FAST_TEXT bytes of text (or one row).
        Found by binary search in the index, not row by row: a batch of many short rows costs
        no Python per row."""
        starts = np.frombuffer(self._starts, np.int64)
        first = start
        while first < stop:
            limit = self._starts[first] + self.FAST_TEXT
            # row k ends where row k + 1 starts: rows first.. fit while their ends are within the limit
            fitting = int(np.searchsorted(starts[first + 1 : stop], limit, side="right"))
            if first + fitting == stop - 1 and self._offset(stop) <= limit:
                fitting += 1  # the last row of the batch, which ends where the next begins or the file ends
            first += max(fitting, 1)  # a row longer than FAST_TEXT: a run of its own
            yield first

    def _offset(self, index: int) -> int:
        """Where row ``index`` starts in the file; the file's end past the last row."""
        return self._starts[index] if index < len(self._starts) else self._end

    def _fast(self, handle: BinaryIO, start: int, stop: int, into: np.ndarray) -> None:
        """Rows [start, stop) into ``into`` by numpy's C parser, which reads decimals 1.3 to 1.5 times as
        fast as the csv module and float() per cell, and integers (as int64) 5 times as fast
        (benchmarks/README.md); anything it refuses or reads otherwise (a row too short or too long,
        a cell not a number, a stray CR or a blank-looking row that changes the count) is read
        again per cell (_row), which says where the problem is, so the errors are the same either way."""
        handle.seek(self._starts[start])
        text = handle.read(self._offset(stop) - self._starts[start])
        parsed = None
        # A CR alone, or a row long enough to hold a cell past the csv module's field limit: _row's
        # own errors (numpy reads such a cell, 200,000 digits as inf, where _row refuses it).
        if not _cr_alone(text) and not self._holds_a_long_row(start, stop, len(text)):
            parsed = _loadtxt(text, np.int64) if _integers(text) else None
            if parsed is None or parsed.shape != into.shape:
                parsed = _loadtxt(text, np.float64)
        if parsed is not None and parsed.shape == into.shape:
            into[...] = parsed  # int64 to float64 rounds as float() does: to the nearest, ties to even
            return
        handle.seek(self._starts[start])
        for index, line in enumerate(self._lines[start:stop]):
            self._row(handle, line, into[index])

    def _holds_a_long_row(self, start: int, stop: int, length: int) -> bool:
        limit = csv.field_size_limit()
        if length <= limit:  # no row of these, so no cell, can be longer
            return False
        starts = np.frombuffer(self._starts, np.int64)[start:stop]
        return bool((np.diff(starts, append=self._offset(stop)) > limit).any())

    def _row(self, handle: BinaryIO, line: int, into: np.ndarray | None) -> np.ndarray:
        """The values of the next row (blank lines before it skipped): written into ``into`` when the
        width is known (a row of another length is an error), else returned as a new array."""
        parts: list[np.ndarray] = []
        count = 0
        for cells in self._pieces(handle, line):
            numbers = _numbers(cells, self.path, line, count, self.quote)
            if into is None:  # the first row: its parts and their concatenation, 16 bytes a value
                what = f"{self.path}:{line}: a row of {count + len(numbers):,} values or more"
                check_read(what, (count + len(numbers)) * 16, self.max_memory)
                parts.append(numbers)
            elif count + len(numbers) <= len(into):
                into[count : count + len(numbers)] = numbers
            count += len(numbers)  # past the width, only counted: the error says how many there are
        if into is None:
            return np.concatenate(parts)
        if count != len(into):
            raise UsageError(
                f"{self.path}:{line}: has {count} values, but line {self._lines[0]} has "
                f"{len(into)}: every row (sample) must have the same number"
            )
        return into

    def _pieces(self, handle: BinaryIO, line: int) -> Iterator[list[str]]:
        """The cells of the next line holding more than a line end, in pieces of about BLOCK bytes
        at most, each cut after a cell (at a comma outside quotes)."""
        carry, first = b"", True
        while True:
            piece = handle.readline(self.BLOCK)
            if first and piece and not piece.strip(b"\r\n"):
                continue  # a blank line before the row
            data, first = carry + piece, False
            ended = not piece or piece.endswith(b"\n")
            cut = len(data) if ended else _last_cell_end(data)
            if cut < 0:  # no cell ends in this piece: a cell longer than the csv module takes is an error
                if len(data) > self.BLOCK + csv.field_size_limit():
                    raise UsageError(f"{self.path}:{line}: cannot read as CSV: a cell of more than 128 KiB")
                carry = data
                continue
            yield _cells(data[:cut], self.path, line)
            if ended:
                return
            carry = data[cut + 1 :]


def _has_content(text: bytes) -> bool:
    """Whether ``text`` (part of one line, no LF in it) holds anything besides CRs."""
    return len(text) > text.count(b"\r")


def _lines_with_content(block: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For lines [starts, ends) of ``block`` (line ends excluded), whether each holds anything
    besides CRs. An empty line holds nothing; a line whose first byte is not a CR holds something;
    the few left (a CR first: a blank CRLF line, or a stray CR) are looked at one by one."""
    content = ends > starts
    first_cr = np.flatnonzero(content)[np.frombuffer(block, np.uint8)[starts[content]] == ord("\r")]
    for line in first_cr:
        content[line] = _has_content(block[starts[line] : ends[line]])
    return content


def _cr_alone(text: bytes) -> bool:
    """Whether ``text`` holds a CR not followed by LF. Searched (memchr) and counted, not copied:
    each CRLF holds one CR, and replacing every CRLF copied the whole text."""
    return b"\r" in text and text.count(b"\r") != text.count(b"\r\n")


def _integers(text: bytes) -> bool:
    """Whether every cell of ``text`` (rows of a CSV) is an integer that int64 reads as float() does:
    only digits, signs, commas and line ends, and no -0 (float("-0") is -0.0, which int64 has not).
    A decimal point or an exponent answers at once (a decimal file's first cell has one), sparing
    decimals a pass that copies their text."""
    if b"." in text or b"e" in text or b"E" in text:
        return False
    return not text.translate(None, b"0123456789,+-\r\n") and _NEGATIVE_ZERO.search(text) is None


_NEGATIVE_ZERO = re.compile(rb"-0+(?![0-9])")


def _loadtxt(text: bytes, dtype: type[np.generic]) -> np.ndarray | None:
    """Rows of ``text`` by np.loadtxt as ``dtype`` (rows x cells), or None when it refuses them
    (an int64 past its range, a cell not a number, a row of another length, text not UTF-8)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns, not fails, on some input (no rows at all)
            return np.loadtxt(
                io.StringIO(text.decode("utf-8"), newline=""),
                delimiter=",",
                comments=None,
                quotechar='"',
                dtype=dtype,
                ndmin=2,
            )
    except (ValueError, OverflowError, UnicodeDecodeError, Warning):
        return None


def _last_cell_end(data: bytes) -> int:
    """Where the last comma outside quotes is in ``data`` (which starts with a cell), or -1."""
    cut = data.rfind(b",")
    quotes = data.count(b'"', 0, max(cut, 0))
    while cut >= 0 and quotes % 2:
        previous = data.rfind(b",", 0, cut)
        quotes -= data.count(b'"', previous + 1, cut)
        cut = previous
    return cut


def _cells(raw: bytes, path: Path, line: int) -> list[str]:
    """The cells of a piece of one line (an empty piece is one empty cell)."""
    if b"\r" in raw.rstrip(b"\r\n"):  # lines ended by CR alone (classic Mac OS): rows the index cannot see
        raise UsageError(f"{path}:{line}: a line break is a CR alone: save the file with LF or CRLF line ends")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}:{line}: cannot read as UTF-8 text: {exc}") from None
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [""])
    except csv.Error as exc:
        raise UsageError(f"{path}:{line}: cannot read as CSV: {exc}") from None


def _numbers(cells: list[str], path: Path, line: int, before: int, quote: bool) -> np.ndarray:
    """Cells as float64 values; a cell that is not a number is an error at its column (``before``
    cells of its line came before these), quoting the cell only when ``quote`` is true."""
    try:
        return np.array([float(cell) for cell in cells], dtype=np.float64)
    except ValueError:
        column = next(i for i, cell in enumerate(cells) if not _is_number(cell))
        shown = f": {excerpt(cells[column])}" if quote else ""
        raise UsageError(f"{path}:{line}:{before + column + 1}: not a number{shown}") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


class Reshaped:
    """A source whose samples are given another shape of as many values, batch by batch."""

    def __init__(self, source: Source, size: tuple[int, ...]) -> None:
        self.source, self.shape, self.dtype = source, (len(source), *size), source.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        batch = self.source[rows]
        return batch.reshape(len(batch), *self.shape[1:])


def read_csv(path: Path, max_memory: int | None = None, quote: bool = True) -> np.ndarray:
    """A whole CSV of numbers (a per-sample data file), rows x columns, read within ``max_memory``
    bytes; ``quote`` as for CsvRows."""
    rows = CsvRows(path, max_memory, quote)
    check_read(f"{path}: {len(rows)} rows of {rows.width} values", len(rows) * rows.width * 8, max_memory)
    return rows[0 : len(rows)]


def excerpt(text: str) -> str:
    """Text from a file for a message: quoted, and no more than EXCERPT characters of it."""
    if len(text) <= EXCERPT:
        return repr(text)
    return f"{text[:EXCERPT]!r}... ({len(text):,} characters)"
