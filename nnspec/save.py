"""Writing results: output values as .npz, .npy or NNC-style .csv, every file written atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from .diagnostics import UsageError

OUTPUT_SUFFIXES = (".npz", ".npy", ".csv")
_CSV_CHUNK = 1 << 20  # values converted to text at a time


def check_output_path(path: Path, outputs: Sequence[str]) -> None:
    """Refuse, before a run, an --output file that could not hold the spec's ``outputs``."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise UsageError(
            f"{path}: cannot write '{suffix or path.name}' files: use .npz (every output), .npy (one) or .csv"
        )
    if suffix == ".npy" and len(outputs) != 1:
        raise UsageError(
            f"{path}: a .npy file holds one output, but the spec has {len(outputs)} ({', '.join(outputs)}): "
            "use .npz or .csv for all of them, or name one in the spec's outputs:"
        )
    _check_writable(path)


def _check_writable(path: Path) -> None:
    """Refuse a path whose directory does not exist, or that is a directory itself."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        if not directory.is_dir():
            raise UsageError(f"{path}: directory {directory} does not exist")
        if path.is_dir():
            raise UsageError(f"{path}: is a directory; give a file name")
    except (OSError, ValueError) as exc:  # a name too long for the system, a NUL character
        raise UsageError(f"{path}: cannot write there: {getattr(exc, 'strerror', None) or exc}") from None


def save_outputs(path: Path, outputs: Mapping[str, np.ndarray]) -> None:
    """Output layers' values by ``path``'s suffix: .npz (an array per layer, by name), .npy (the
    only output's array) or .csv (a header row ``name__0,name__1,...``, then one row a sample
    holding each output's values flattened, layer after layer)."""
    suffix = path.suffix.lower()
    check_output_path(path, list(outputs))
    if suffix == ".npz":
        write_atomically(path, lambda handle: np.savez(handle, **outputs))
    elif suffix == ".npy":
        [values] = outputs.values()
        write_atomically(path, lambda handle: np.save(handle, values, allow_pickle=False))
    else:
        write_atomically(path, lambda handle: _write_csv(handle, outputs))


def _write_csv(handle: IO[bytes], outputs: Mapping[str, np.ndarray]) -> None:
    flat = {name: values.reshape(len(values), -1) for name, values in outputs.items()}
    header = [f"{name}__{i}" for name, values in flat.items() for i in range(values.shape[1])]
    handle.write((",".join(header) + "\n").encode())
    samples = len(next(iter(flat.values()), ()))
    formats = ",".join(_format(values.dtype) for values in flat.values() for _ in range(values.shape[1]))
    rows = max(1, _CSV_CHUNK // max(len(header), 1))
    for start in range(0, samples, rows):  # a chunk at a time: the text of all rows could be large
        chunk = np.concatenate([values[start : start + rows].astype(np.float64) for values in flat.values()], axis=1)
        np.savetxt(handle, chunk, fmt=formats.split(","), delimiter=",")


def _format(dtype: np.dtype) -> str:
    """Enough digits to read each value back exactly (and no more): 9 for float32, 17 for float64."""
    if dtype.kind in "biu":
        return "%d"
    return "%.9g" if dtype.itemsize <= 4 else "%.17g"


def _mode_for(path: Path) -> int:
    """The permissions of the file written at ``path``: those of the file it replaces, else what
    open() gives a new file (0666 less the umask)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)  # the only way to read it is to set it: put it back at once
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a temporary file in the same directory, then rename: the file appears whole or not at all."""
    _check_writable(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name[:64]}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write there: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _mode_for(path))  # mkstemp's 0600 would hide a report from others
            write(handle)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):  # renamed already: Ctrl-C came just after the rename
            os.unlink(temporary)
        if isinstance(exc, OSError):  # the disk is full, the file system read-only: nothing was written
            raise UsageError(f"{path}: could not be written ({exc.strerror or exc}); it is left as it was") from None
        raise
