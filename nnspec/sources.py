"""Data sources read a batch at a time: what the runner slices.

A source is anything with ``shape`` ((N, *sample)), ``dtype``, ``len()`` and ``source[start:stop]``
giving those rows as a numpy array; a numpy array (a memory-mapped one included) is one already.
The others here keep only an index of the rows between batches, so a run's memory is bounded by
the batch, not the file: a plain numeric CSV (:class:`CsvRows`), and any source reshaped sample
by sample (:class:`Reshaped`). A member of a .npz stored uncompressed is memory-mapped like a
.npy (:func:`npz_member`); NNC datasets are in nnspec.dataset.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
import struct
import zipfile
import zlib
from array import array
from pathlib import Path
from typing import Protocol

import numpy as np

from .diagnostics import UsageError


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
    user named."""

    dtype = np.dtype(np.float64)

    def __init__(self, path: str | Path, quote: bool = True) -> None:
        self.path, self.quote = Path(path), quote
        self._starts, self._lines = array("q"), array("q")
        try:
            with open(self.path, "rb") as handle:
                offset = 0
                for number, line in enumerate(handle, start=1):
                    skip = len(codecs.BOM_UTF8) if number == 1 and line.startswith(codecs.BOM_UTF8) else 0
                    if line[skip:].strip(b"\r\n"):
                        self._starts.append(offset + skip)
                        self._lines.append(number)
                    offset += len(line)
                self._end = offset
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

    def _read(self, start: int, stop: int) -> np.ndarray:
        if start == stop:
            return np.empty((0, max(self.width, 0)))
        end = self._starts[stop] if stop < len(self._starts) else self._end
        with open(self.path, "rb") as handle:
            handle.seek(self._starts[start])
            raw = handle.read(end - self._starts[start])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{self.path}:{self._lines[start]}: cannot read as UTF-8 text: {exc}") from None
        values = None
        rows = _csv_rows(text, self.path, self._lines[start])
        for index, (line, row) in enumerate(zip(self._lines[start:stop], rows)):
            try:
                numbers = [float(cell) for cell in row]
            except ValueError:
                column = next(i for i, cell in enumerate(row, start=1) if not _is_number(cell))
                from .confine import excerpt  # here: nnspec.confine imports this module

                shown = f": {excerpt(row[column - 1])}" if self.quote else ""
                raise UsageError(f"{self.path}:{line}:{column}: not a number{shown}") from None
            if values is None:
                width = len(numbers) if self.width < 0 else self.width
                values = np.empty((stop - start, width))
            if len(numbers) != values.shape[1]:
                raise UsageError(
                    f"{self.path}:{line}: has {len(numbers)} values, but line {self._lines[0]} has "
                    f"{values.shape[1]}: every row (sample) must have the same number"
                )
            values[index] = numbers
        assert values is not None
        return values


def _csv_rows(text: str, path: Path, first_line: int):
    """The non-empty rows of CSV text; a row the csv module cannot read (a quoted cell beyond its
    field size limit, 128 KiB) is a UsageError naming its line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if row:
                yield row
    except csv.Error as exc:
        raise UsageError(f"{path}:{first_line + reader.line_num - 1}: cannot read as CSV: {exc}") from None


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


def npz_member(path: Path, variable: str) -> np.ndarray:
    """The array named ``variable`` in a .npz (or its only array): memory-mapped when stored
    uncompressed (np.savez), as a .npy is; read whole when compressed (np.savez_compressed)."""
    with zipfile.ZipFile(path) as archive:
        members = {name.removesuffix(".npy"): name for name in archive.namelist()}
        if variable in members:
            member = archive.getinfo(members[variable])
        elif len(members) == 1:
            member = archive.getinfo(next(iter(members.values())))
        else:
            raise UsageError(f"{path}: has no array named '{variable}' (it has {', '.join(members)})")
        mapped = _map_stored(path, member) if member.compress_type == zipfile.ZIP_STORED else None
        if mapped is not None:
            return mapped
        try:
            with archive.open(member) as handle:
                return np.lib.format.read_array(handle, allow_pickle=False)
        except (zlib.error, zipfile.BadZipFile, EOFError) as exc:  # corrupt or truncated compressed data
            raise UsageError(f"{path}: member {member.filename} cannot be read: {exc}") from None


def _map_stored(path: Path, member: zipfile.ZipInfo) -> np.ndarray | None:
    """A stored member's array memory-mapped where it lies in the zip: past the member's local
    header, the .npy header gives the shape, dtype and order. None when it cannot be mapped."""
    with open(path, "rb") as handle:
        handle.seek(member.header_offset)
        local = handle.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        handle.seek(member.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            return None
        offset = handle.tell()
    if dtype.hasobject or 0 in shape or not shape:
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
