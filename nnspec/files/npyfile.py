""".npy files and .npz members, read without trusting them: every .npy and .npz path in nnspec.

numpy's own readers trust a file: its header's shape is taken as it is (``(True, 4)``, negative or
huge sizes), a .npz member is inflated whole, a memory-mapped file that shrinks while it is read
kills the process (SIGBUS). Here:

- :func:`read_header` checks the whole header before anything else is read: the magic and version,
  a header of at most 10,000 bytes (numpy's own limit), exactly the keys ``descr``, ``fortran_order``
  (a bool) and ``shape`` (a tuple of non-negative ints, not bools, at most 64 of them), a ``descr``
  numpy knows that is neither structured, a sub-array nor an object; and, against the bytes the file
  or member holds, that the values are all there (:class:`ArrayFileError` otherwise, whose message
  the caller prefixes with the file's name).
- Values are read with positioned reads into arrays allocated for them (:class:`NpyRows`), never
  memory-mapped: a file cut short or rewritten while a run reads it is an error naming it.
- A .npz member is read through zipfile, a chunk at a time, never beyond the bytes its header
  declares (:class:`NpzMemberRows`): a zip bomb inflates no further than that, and the member's
  CRC is checked when its end is read. Only the members asked for are opened (:class:`NpzArchive`).

Which dtypes and shapes a use takes (data, a parameter) is that use's rule, applied to the header
before any value is read: see nnspec.runtime.params.parameter_problem and nnspec.runtime.inputs.gather_inputs.
"""

from __future__ import annotations

import ast
import os
import re
import weakref
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import IO

import numpy as np

from ..core.diagnostics import UsageError

MAGIC = b"\x93NUMPY"
MAX_HEADER_BYTES = 10_000  # numpy's own limit (np.load's max_header_size): real headers take about 120
MAX_AXES = 64  # numpy 2's limit; more is refused before numpy is asked
READ_CHUNK = 2**20  # bytes a zip member is inflated and copied by: the only copy beyond the batch itself
_KEYS = {"descr", "fortran_order", "shape"}
# what reading a zip member raises when it is damaged, cut short, or its CRC is not the zip's
_DAMAGED = (OSError, zipfile.BadZipFile, zlib.error, EOFError)


class ArrayFileError(ValueError):
    """A .npy file or .npz member that cannot be read; the message says why, after the file's name."""


@dataclass(frozen=True)
class Header:
    """What a .npy header declares, checked: the values start ``offset`` bytes into the file (or member)."""

    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    offset: int

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * self.dtype.itemsize


def read_header(handle: IO[bytes], available: int) -> Header:
    """The header at the start of ``handle`` (a .npy file, or a .npz member), checked in full;
    ``available`` is the number of bytes the file or member holds, which the values must fill."""
    start = handle.read(len(MAGIC) + 2)
    if len(start) < len(MAGIC) + 2 or not start.startswith(MAGIC):
        if start.startswith(b"PK"):
            raise ArrayFileError("is a zip archive (.npz), not a .npy file")
        raise ArrayFileError("is not a .npy file (written by numpy.save)")
    version = (start[-2], start[-1])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ArrayFileError(f"has .npy format version {version[0]}.{version[1]}, not 1.0, 2.0 or 3.0")
    width = 2 if version == (1, 0) else 4
    length = int.from_bytes(_exactly(handle, width), "little")
    if length > MAX_HEADER_BYTES:
        raise ArrayFileError(f"has a header of {length:,} bytes, more than the {MAX_HEADER_BYTES:,} numpy allows")
    text = _exactly(handle, length).decode("utf-8" if version == (3, 0) else "latin-1", errors="replace")
    header = _checked(_literal(text, version), len(start) + width + length)
    if available - header.offset < header.nbytes:
        raise ArrayFileError(
            f"is cut short or damaged: its header declares shape {_shape(header.shape)} of {header.dtype} "
            f"({header.nbytes:,} bytes of values), but {max(available - header.offset, 0):,} bytes follow it"
        )
    return header


def _exactly(handle: IO[bytes], count: int) -> bytes:
    data = handle.read(count)
    if len(data) < count:
        raise ArrayFileError("is cut short in its header")
    return data


def _literal(text: str, version: tuple[int, int]) -> object:
    """The header's dict, read as a Python literal (never evaluated); numpy 1.0 files written by
    Python 2 may spell their sizes ``2L``, which numpy reads too."""
    if version == (1, 0):
        text = re.sub(r"(\d)L\b", r"\1", text)
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise ArrayFileError("has a damaged header (not the dict numpy.save writes)") from None


def _checked(value: object, offset: int) -> Header:
    if not isinstance(value, dict) or set(value) != _KEYS:
        raise ArrayFileError("has a damaged header (it must hold exactly descr, fortran_order and shape)")
    shape, fortran_order, descr = value["shape"], value["fortran_order"], value["descr"]
    # bool is an int in Python: (True, 4) passed numpy's own check, then failed deep inside it
    if not isinstance(shape, tuple) or any(type(size) is not int for size in shape):
        raise ArrayFileError(f"has a damaged header: its shape {_excerpt(shape)} is not a tuple of integers")
    if any(size < 0 for size in shape):
        raise ArrayFileError(f"has a damaged header: its shape {_shape(shape)} has a negative size")
    if len(shape) > MAX_AXES:
        raise ArrayFileError(f"has {len(shape)} axes, more than the {MAX_AXES} numpy supports")
    if type(fortran_order) is not bool:
        raise ArrayFileError(f"has a damaged header: its fortran_order {_excerpt(fortran_order)} is not True or False")
    dtype = _dtype(descr)
    if prod(size for size in shape if size) * max(dtype.itemsize, 1) > np.iinfo(np.intp).max:
        raise ArrayFileError(f"declares shape {_shape(shape)}, larger than any array numpy can hold")
    return Header(dtype, shape, fortran_order, offset)


def _dtype(descr: object) -> np.dtype:
    if isinstance(descr, list):  # how numpy.save describes records with fields
        raise ArrayFileError("holds structured records (fields), not numbers")
    if not isinstance(descr, str):
        raise ArrayFileError(f"has a damaged header: its descr {_excerpt(descr)} is no dtype")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError, SyntaxError, OverflowError):
        raise ArrayFileError(f"has a damaged header: its descr {_excerpt(descr)} is no dtype numpy knows") from None
    if dtype.hasobject:
        raise ArrayFileError("holds Python objects (an object array), which nnspec never unpickles")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise ArrayFileError(f"holds {_excerpt(descr)} records, not numbers")
    return dtype


def _excerpt(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _shape(shape: tuple[int, ...]) -> str:
    text = "(" + ", ".join(str(size) for size in shape) + ("," if len(shape) == 1 else "") + ")"
    return text if len(text) <= 60 else text[:57] + "...)"


class ArrayFile:
    """An array in a file, known by its checked header: ``shape``, ``dtype``, rows by slice
    (``source[start:stop]``, the data sources' protocol, see nnspec.files.rows) and :meth:`read`
    for the whole array. Subclasses read ``count`` bytes of values from ``position`` into a buffer."""

    name: str  # the file, or the file and the member, for messages
    header: Header

    @property
    def shape(self) -> tuple[int, ...]:
        return self.header.shape

    @property
    def dtype(self) -> np.dtype:
        return self.header.dtype

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        if not isinstance(rows, slice):
            raise TypeError("an array file gives rows by slice: source[start:stop]")
        start, stop, step = rows.indices(len(self))
        if step != 1:
            raise ValueError("an array file gives consecutive rows only")
        return self._rows(start, max(start, stop))

    def read(self) -> np.ndarray:
        """The whole array, as numpy.load would give it."""
        out = np.empty(self.shape, self.dtype, order="F" if self.header.fortran_order else "C")
        self._fill(out, 0)
        return out

    def values(self, block: int = READ_CHUNK) -> Iterator[np.ndarray]:
        """Every value in the file's order (C or Fortran), in 1-D blocks of at most ``block`` bytes."""
        per_block = max(block // max(self.dtype.itemsize, 1), 1)
        total = prod(self.shape)
        for first in range(0, total, per_block):
            out = np.empty(min(per_block, total - first), self.dtype)
            self._fill(out, first * self.dtype.itemsize)
            yield out

    def _rows(self, start: int, stop: int) -> np.ndarray:
        sample = self.shape[1:]
        count, row_bytes = stop - start, prod(sample) * self.dtype.itemsize
        if not self.header.fortran_order or len(self.shape) == 1 or (start, stop) == (0, self.shape[0]):
            out = np.empty((count, *sample), self.dtype, order="F" if self.header.fortran_order else "C")
            self._fill(out, start * row_bytes)
            return out
        # Fortran order: a row is spread over the file, a value in each column of (rows, values a sample)
        out = np.empty((count, *sample), self.dtype, order="F")
        columns = out.reshape(count, prod(sample), order="F")  # a view: F-contiguous
        column_bytes, item = self.shape[0] * self.dtype.itemsize, self.dtype.itemsize
        for column in range(columns.shape[1]):
            self._fill(columns[:, column], column * column_bytes + start * item)
        return out

    def _fill(self, out: np.ndarray, position: int) -> None:
        """``out`` (contiguous) filled with the bytes of values from ``position`` on."""
        if out.nbytes:  # the bytes of ``out`` as they lie in memory, C or Fortran order: the file's
            self._read_into(out.reshape(-1, order="A").view(np.uint8).data, position)

    def _read_into(self, buffer: memoryview, position: int) -> None:
        raise NotImplementedError


class NpyRows(ArrayFile):
    """A .npy file, its rows read with positioned reads (os.pread) into arrays made for them.

    The file stays open (closed when this is collected); before each read its size and modification
    time are compared with what they were when its header was read, and a short read is an error
    too: a file cut short or rewritten during a run stops it with a message naming the file, where a
    memory-mapped file ended the process with SIGBUS."""

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
        weakref.finalize(self, os.close, self._fd)
        self._identity = self._stat()
        try:
            with os.fdopen(os.dup(self._fd), "rb") as handle:
                self.header = read_header(handle, self._identity[0])
        except ArrayFileError as exc:
            raise UsageError(f"{path}: {exc}") from None

    def _stat(self) -> tuple[int, int]:
        found = os.fstat(self._fd)
        return found.st_size, found.st_mtime_ns

    def _read_into(self, buffer: memoryview, position: int) -> None:
        if self._stat() != self._identity:
            raise UsageError(f"{self.name}: changed while being read (its size or modification time changed)")
        offset, done = self.header.offset + position, 0
        while done < len(buffer):
            try:
                count = _pread_into(self._fd, buffer[done:], offset + done)
            except OSError as exc:
                raise UsageError(f"{self.name}: cannot read: {exc.strerror or exc}") from None
            if count == 0:
                raise UsageError(f"{self.name}: was cut short while being read")
            done += count


def _pread_into(fd: int, buffer: memoryview, offset: int) -> int:
    """os.preadv where the system has it (no copy), else os.pread and a copy."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [buffer], offset)
    data = os.pread(fd, len(buffer), offset)
    buffer[: len(data)] = data
    return len(data)


def npy_header(path: str | Path) -> Header:
    """A .npy file's header, checked (ArrayFileError saying why not); no value is read."""
    try:
        with open(path, "rb") as handle:
            return read_header(handle, os.fstat(handle.fileno()).st_size)
    except OSError as exc:
        raise ArrayFileError(f"cannot be read: {exc.strerror or exc}") from None


def open_npy(path: str | Path) -> NpyRows:
    """A .npy file with its header checked (UsageError naming it otherwise); no value is read yet."""
    return NpyRows(path)


class NpzMemberRows(ArrayFile):
    """A .npz member, inflated (or, stored, copied) through zipfile a chunk at a time.

    The member must hold exactly its header and the values it declares; reads go forward (a run
    reads its batches in order), and a read before the current place opens the member again. When
    the member's last byte is read, zipfile compares the CRC of everything read with the zip's: a
    damaged member stops the run, whose output is then not written."""

    def __init__(self, path: Path, info: zipfile.ZipInfo) -> None:
        self.path, self.info = path, info
        self.name = f"{path}: member {info.filename}"
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UsageError(
                f"{self.name} is compressed with method {info.compress_type}, which nnspec does not read "
                "(numpy.savez stores, numpy.savez_compressed deflates)"
            )
        self._stream: IO[bytes] | None = None
        self._place = 0
        try:
            self.header = read_header(self._open(), info.file_size)
        except ArrayFileError as exc:
            raise UsageError(f"{self.name} {exc}") from None
        except _DAMAGED as exc:
            raise UsageError(f"{self.name} cannot be read: {exc}") from None
        self._place = self.header.offset
        if info.file_size != self.header.offset + self.header.nbytes:
            raise UsageError(
                f"{self.name} holds {info.file_size - self.header.offset - self.header.nbytes:,} bytes more than "
                f"its header declares (shape {_shape(self.shape)} of {self.dtype}): it is damaged"
            )

    def _open(self) -> IO[bytes]:
        self._close()
        try:
            archive = zipfile.ZipFile(self.path)
            self._stream = stream = archive.open(self.info)
            archive.close()  # the member's stream keeps the file open until it is closed itself
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise UsageError(f"{self.name} cannot be read: {exc}") from None
        self._place = 0
        return stream

    def _close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _read_into(self, buffer: memoryview, position: int) -> None:
        target = self.header.offset + position
        stream = self._open() if self._stream is None or target < self._place else self._stream
        try:
            while self._place < target:  # skip forward, a chunk at a time
                skipped = len(stream.read(min(READ_CHUNK, target - self._place)))
                if not skipped:
                    raise EOFError("the member ends before its values do")
                self._place += skipped
            done = 0
            while done < len(buffer):
                chunk = stream.read(min(READ_CHUNK, len(buffer) - done))
                if not chunk:
                    raise EOFError("the member ends before its values do")
                buffer[done : done + len(chunk)] = chunk
                done += len(chunk)
            self._place += done
        except _DAMAGED as exc:
            self._close()
            raise UsageError(f"{self.name} cannot be read: {exc}") from None
        if self._place == self.info.file_size:
            self._close()  # the CRC was checked with the last byte read


class NpzArchive(Mapping[str, ArrayFile]):
    """A .npz file's arrays by name (a member's name without ``.npy``), as numpy.load names them; a
    member is opened, and its header checked, only when asked for, and its values read only when
    the caller reads them: members nobody asks for are never inflated."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with zipfile.ZipFile(self.path) as archive:
                infos = archive.infolist()
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise UsageError(f"{self.path}: cannot read as a .npz file: {exc}") from None
        self._members = {info.filename.removesuffix(".npy"): info for info in infos if not info.is_dir()}

    def __getitem__(self, name: str) -> NpzMemberRows:
        return NpzMemberRows(self.path, self._members[name])

    def __contains__(self, name: object) -> bool:  # Mapping's own would open the member
        return name in self._members

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def member(self, name: str) -> NpzMemberRows:
        """The member named ``name``, or the only one; a UsageError listing the others otherwise."""
        if name in self._members:
            return self[name]
        if len(self._members) == 1:
            return self[next(iter(self._members))]
        raise UsageError(f"{self.path}: has no array named '{name}' (it has {', '.join(self._members)})")
