"""nnabla's .nnp archives, opened safely: a zip of the network (.nntxt) and its parameters.

An .nnp (``nnabla.utils.save``, NNC's ``result.nnp``) holds ``nnp_version.txt``, one network in
protobuf text (``network.nntxt``; nnabla also accepts ``.prototxt``) and the parameters as
``parameter.h5`` or ``parameter.protobuf``. It is untrusted input like a spec, and a zip can lie,
so the archive is checked from its directory before any member is inflated:

- the archive file itself at most ``NNSPEC_MAX_NNP_SIZE`` bytes (default 1 GiB: parameters are
  what makes an .nnp large, and reading them is further bounded by the run's memory limit);
- at most ``MAX_MEMBERS`` members, each a plain name (no folder, no ``..``, no absolute path,
  no control character), none twice, stored or deflated only (what Python's zipfile writes);
- each member's declared size at most ``MAX_RATIO`` times its compressed size (a zip bomb
  declares honest sizes for a tiny compressed stream; nnabla's members compress about 1.1 to 4 times);
- the network text within the size limit of an .nntxt (NNSPEC_MAX_PROJECT_SIZE), and every
  member read no further than its declared size: a member inflating past it is refused.

Only the members nnspec uses are ever inflated: the network for the spec, the parameters for a run.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from ..core.diagnostics import UsageError
from ..core.printable import printable
from .memory import check_read, parse_size

NNP_SIZE_VARIABLE = "NNSPEC_MAX_NNP_SIZE"
MAX_NNP_BYTES = 2**30
MAX_MEMBERS = 64  # nnabla writes 3
MAX_RATIO = 200
NETWORK_SUFFIXES = (".nntxt", ".prototxt")
PARAMETER_NAMES = ("parameter.h5", "parameter.protobuf")


def nnp_size_limit() -> int:
    text = os.environ.get(NNP_SIZE_VARIABLE)
    if not text:
        return MAX_NNP_BYTES
    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(f"{NNP_SIZE_VARIABLE}: {exc}") from None


@dataclass(frozen=True)
class NnpArchive:
    """An .nnp whose directory passed the checks: its members by name, none inflated yet."""

    path: Path
    members: dict[str, zipfile.ZipInfo]

    def network_name(self) -> str:
        names = [name for name in self.members if name.lower().endswith(NETWORK_SUFFIXES)]
        if len(names) != 1:
            found = ", ".join(printable(name) for name in names) or "none"
            raise UsageError(f"{self.path}: an .nnp holds one network (.nntxt); this one holds {found}")
        return names[0]

    def parameter_name(self) -> str | None:
        names = [name for name in self.members if name.lower() in PARAMETER_NAMES]
        if len(names) > 1:
            raise UsageError(f"{self.path}: holds both {' and '.join(names)}: nnspec does not guess which to use")
        return names[0] if names else None

    def read(self, name: str, limit: int) -> bytes:
        """Member ``name``'s bytes, if it declares and inflates to at most ``limit`` bytes."""
        info = self.members[name]
        if info.file_size > limit:
            raise UsageError(
                f"{self.path}: member {printable(name)} declares {info.file_size:,} bytes, more than the "
                f"{limit:,} it may hold here"
            )
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(info) as handle:
                data = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:  # corrupt, CRC mismatch
            raise UsageError(f"{self.path}: cannot read member {printable(name)}: {printable(str(exc))}") from None
        if len(data) != info.file_size:
            raise UsageError(
                f"{self.path}: member {printable(name)} does not hold the {info.file_size:,} bytes it declares"
            )
        return data


def open_nnp(path: str | Path) -> NnpArchive:
    """The checked directory of the .nnp at ``path``; a usage error for anything amiss."""
    path = Path(path)
    try:
        status = os.stat(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):
        raise UsageError(f"{path}: not a regular file (an .nnp is a zip archive)")
    limit = nnp_size_limit()
    if status.st_size > limit:
        raise UsageError(
            f"{path}: an .nnp may hold {limit:,} bytes; this one holds {status.st_size:,}: raise the limit "
            f"with {NNP_SIZE_VARIABLE}=SIZE (e.g. 4G)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UsageError(f"{path}: not an .nnp (a zip archive): {exc}") from None
    if len(infos) > MAX_MEMBERS:
        raise UsageError(f"{path}: holds {len(infos):,} members; an .nnp holds at most {MAX_MEMBERS}")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        problem = _member_problem(info, members)
        if problem:
            raise UsageError(f"{path}: member {printable(info.filename)}: {problem}")
        members[info.filename] = info
    return NnpArchive(path, members)


def _member_problem(info: zipfile.ZipInfo, seen: dict[str, zipfile.ZipInfo]) -> str | None:
    name = info.filename
    if not name or "/" in name or "\\" in name or name in (".", "..") or ":" in name:
        return "not a plain file name (an .nnp's members sit at its top, with no folders)"
    if not name.isprintable():
        return "its name holds a control character"
    if name in seen:
        return "appears twice"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"compressed with method {info.compress_type}; nnspec reads stored or deflated members"
    if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1 << 16:
        return (
            f"declares {info.file_size:,} bytes from {info.compress_size:,} compressed, more than "
            f"{MAX_RATIO} times: refused as a likely zip bomb"
        )
    return None


# --- parameter.protobuf -------------------------------------------------------------------------
# NNablaProtoBuf's `repeated Parameter parameter = 200`, each {string variable_name = 1; Shape shape = 20
# ({repeated int64 dim = 1}); repeated float data = 100; bool need_grad = 101}. Protobuf's wire format
# is decoded here for those fields alone (every other field is skipped by its wire type), so reading
# it needs no protobuf package and no schema compiled from nnabla's sources.

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
MAX_PARAMETERS = 1_000_000


class _Wire:
    def __init__(self, data: bytes | memoryview, source: str) -> None:
        self.data = memoryview(data)
        self.position = 0
        self.source = source

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            if self.position >= len(self.data) or shift > 63:
                self._fail("a number runs past its message")
            byte = self.data[self.position]
            self.position += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def fields(self) -> Iterator[tuple[int, int, object]]:
        """(field number, wire type, value): an int for varints, a memoryview for the rest."""
        while self.position < len(self.data):
            key = self.varint()
            number, kind = key >> 3, key & 7
            if kind == _VARINT:
                yield number, kind, self.varint()
            elif kind in (_FIXED64, _FIXED32):
                yield number, kind, self._take(8 if kind == _FIXED64 else 4)
            elif kind == _BYTES:
                yield number, kind, self._take(self.varint())
            else:
                self._fail(f"field {number} has wire type {kind}, which nnabla does not write")

    def _take(self, count: int) -> memoryview:
        if count > len(self.data) - self.position:
            self._fail("a field runs past its message")
        piece = self.data[self.position : self.position + count]
        self.position += count
        return piece

    def _fail(self, message: str) -> NoReturn:
        raise UsageError(f"{self.source}: not nnabla's parameter.protobuf: {message}")


def decode_parameters(data: bytes, source: str, max_memory: int | None = None) -> dict[str, np.ndarray]:
    """nnabla's parameter.protobuf as arrays by name, each of its declared shape, float32."""
    found: dict[str, np.ndarray] = {}
    needed = 0
    for number, kind, value in _Wire(data, source).fields():
        if number != 200:
            continue
        if kind != _BYTES or not isinstance(value, memoryview):
            _Wire(b"", source)._fail("field 200 (a parameter) is not a message")
        name, array = _parameter(value, source)
        needed += array.nbytes
        check_read(f"{source}: the parameters up to '{printable(name)}'", needed, max_memory)
        if len(found) >= MAX_PARAMETERS:
            _Wire(b"", source)._fail(f"more than {MAX_PARAMETERS:,} parameters")
        found[name] = array
    return found


def _parameter(message: memoryview, source: str) -> tuple[str, np.ndarray]:
    name, shape, pieces = "", [], []
    for number, kind, value in _Wire(message, source).fields():
        if number == 1 and isinstance(value, memoryview):
            name = bytes(value).decode("utf-8", errors="replace")
        elif number == 20 and isinstance(value, memoryview):
            shape = _dims(value, source)
        elif number == 100 and kind == _BYTES and isinstance(value, memoryview):  # packed floats
            if len(value) % 4:
                _Wire(b"", source)._fail(f"parameter '{printable(name)}': packed floats of {len(value)} bytes")
            pieces.append(bytes(value))
        elif number == 100 and kind == _FIXED32 and isinstance(value, memoryview):  # one float, unpacked
            pieces.append(bytes(value))
    values = np.frombuffer(b"".join(pieces), dtype="<f4")
    if any(n < 0 for n in shape) or int(np.prod(shape, dtype=np.int64)) != values.size:
        _Wire(b"", source)._fail(f"parameter '{printable(name)}' has {values.size:,} values for shape {tuple(shape)}")
    return name, values.reshape(shape).astype(np.float32)


def _dims(message: memoryview, source: str) -> list[int]:
    dims: list[int] = []
    for number, kind, value in _Wire(message, source).fields():
        if number != 1:
            continue
        if kind == _VARINT and isinstance(value, int):
            dims.append(_signed(value))
        elif kind == _BYTES and isinstance(value, memoryview):  # packed
            inner = _Wire(value, source)
            while inner.position < len(inner.data):
                dims.append(_signed(inner.varint()))
    return dims


def _signed(value: int) -> int:
    """An int64 varint as its signed value (protobuf writes -1 as ten bytes of two's complement)."""
    return struct.unpack("<q", struct.pack("<Q", value & (2**64 - 1)))[0]


# --- writing ------------------------------------------------------------------------------------
NNP_VERSION = "0.1\n"  # what nnabla 1.39's save writes into nnp_version.txt


def encode_parameters(parameters: dict[str, np.ndarray]) -> bytes:
    """Parameters as nnabla's parameter.protobuf (the inverse of decode_parameters): each a field-200
    message of its name, its Shape (dims unpacked, as nnabla writes them), its values as packed
    float32 and need_grad true."""
    out = bytearray()
    for name, array in parameters.items():
        values = np.ascontiguousarray(array, dtype="<f4")
        shape = b"".join(_key(1, _VARINT) + encode_varint(int(n) & (2**64 - 1)) for n in values.shape)
        body = encode_bytes_field(1, name.encode("utf-8")) + encode_bytes_field(20, shape)
        body += encode_bytes_field(100, values.tobytes()) + _key(101, _VARINT) + encode_varint(1)
        out += encode_bytes_field(200, body)
    return bytes(out)


def encode_parameters_h5(parameters: dict[str, np.ndarray]) -> bytes:
    """Parameters as nnabla's parameter.h5 (``nnabla.save_parameters``): a float32 dataset at each
    name's path, with attributes ``need_grad`` and ``index`` (the order, which nnabla keeps).
    Needs h5py (the ``h5`` extra): the caller checks for it first (see h5_available)."""
    import io

    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        for index, (name, array) in enumerate(parameters.items()):
            dataset = handle.create_dataset(name, data=np.asarray(array, dtype=np.float32), track_times=False)
            dataset.attrs["need_grad"] = True
            dataset.attrs["index"] = index
    return buffer.getvalue()


def h5_available() -> bool:
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


def write_nnp(handle, network: str, parameters: dict[str, np.ndarray], parameter_format: str) -> None:
    """An .nnp into the open binary ``handle``: nnp_version.txt, network.nntxt, and the parameters as
    parameter.h5 or parameter.protobuf (``parameter_format``), deflated as nnabla's save does. Every
    member is dated 1980-01-01 (zip's first date), so the same spec and parameters give the same bytes."""
    data = encode_parameters_h5(parameters) if parameter_format == "h5" else encode_parameters(parameters)
    members = [
        ("nnp_version.txt", NNP_VERSION.encode()),
        ("network.nntxt", network.encode("utf-8")),
        (f"parameter.{parameter_format}", data),
    ]
    with zipfile.ZipFile(handle, "w") as archive:
        for name, content in members:
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_EPOCH), content, compress_type=zipfile.ZIP_DEFLATED)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, kind: int) -> bytes:
    return encode_varint(number << 3 | kind)


def encode_bytes_field(number: int, payload: bytes) -> bytes:
    return _key(number, _BYTES) + encode_varint(len(payload)) + payload
