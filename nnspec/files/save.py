"""Writing results: output values as .npz, .npy or NNC-style .csv, every file written atomically.

Every file nnspec writes (--output, --save-params, --report, the --plots files, graph -o, upgrade -o,
convert -o) is checked here before the work that makes it (check_target, check_folder,
refuse_collisions), and written here (write_atomically): through a temporary file beside it, named
for the target, the host and the process (``.NAME.nnspec-HOST-PID-RANDOM.tmp``), so that one a
killed process left behind is recognised, and removed, the next time the same file is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from ..core.diagnostics import UsageError

OUTPUT_SUFFIXES = (".npz", ".npy", ".csv")
PARAMS_SUFFIX = ".npz"
_CSV_CHUNK = 1 << 20  # values converted to text at a time


def check_output_path(path: Path, outputs: Sequence[str], force: bool = True) -> None:
    """Refuse, before a run, an --output file that could not hold the spec's ``outputs``, could not be
    written, or (without ``force``) exists."""
    check_suffix(path, OUTPUT_SUFFIXES, "cannot write '{suffix}' files: use .npz (every output), .npy (one) or .csv")
    if path.suffix.lower() == ".npy" and len(outputs) != 1:
        raise UsageError(
            f"{path}: a .npy file holds one output, but the spec has {len(outputs)} ({', '.join(outputs)}): "
            "use .npz or .csv for all of them, or name one in the spec's outputs:"
        )
    check_target(path, force)


def check_params_path(path: Path, force: bool = True) -> None:
    """Refuse, before a run, a --save-params file that --params could not read back, could not be
    written, or (without ``force``) exists."""
    wrong = "parameters are saved as a .npz file (--params reads them back): give a name ending in .npz"
    check_target(path, force, (PARAMS_SUFFIX,), wrong)


def check_target(path: Path, force: bool = True, suffixes: Sequence[str] = (), wrong_suffix: str = "") -> None:
    """Refuse, before any work, a file nnspec could not write, or (without ``force``) would write over:
    a name not ending in one of ``suffixes`` (when given, see check_suffix), a name the system
    refuses, a directory, a folder that is missing, is a file, or takes no new file. Every file
    nnspec writes is checked here; a folder of files, by check_folder."""
    if suffixes:
        check_suffix(path, suffixes, wrong_suffix)
    _check_place(path)
    if not force and _exists(path):
        raise UsageError(f"{path} exists; add --force to overwrite it")
    _check_can_create(_folder(path), path.name, path)


def check_suffix(path: Path, suffixes: Sequence[str], wrong_suffix: str) -> None:
    """Refuse a name not ending in one of ``suffixes`` (in any case): ``wrong_suffix`` says what to
    give instead, ``{suffix}`` in it standing for the name's ending (or the name, without one)."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise UsageError(f"{path}: " + wrong_suffix.format(suffix=suffix or path.name))


def _check_place(path: Path) -> None:
    """Refuse a file name the system refuses, a directory, or one whose folder is missing or a file."""
    directory = _folder(path)
    with _refused_by_system(path):
        if not directory.is_dir():
            exists = directory.exists()
            raise UsageError(
                f"{path}: {directory} is not a directory" if exists else f"{path}: directory {directory} does not exist"
            )
        if path.is_dir():
            raise UsageError(f"{path}: is a directory; give a file name")


def check_folder(directory: Path, files: Sequence[Path], force: bool, option: str) -> None:
    """Refuse, before any work, a folder ``option`` is to write ``files`` into (the folder made if
    missing, with the folders above it) that it could not: a file where the folder or a folder above
    it should be, a nearest existing folder that takes no new file, one of ``files`` taken by a
    directory, or (without ``force``) any of them there already."""
    with _refused_by_system(directory):
        if directory.exists() and not directory.is_dir():
            raise UsageError(f"{directory}: is not a directory; {option} takes a directory (made if missing)")
        existing = directory
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise UsageError(f"{directory}: {existing} is not a directory")
    _check_can_create(existing, directory.name or "nnspec", directory)
    there = [path for path in files if _exists(path)]
    with _refused_by_system(directory):
        taken = next((path for path in there if path.is_dir()), None)
    if taken is not None:
        raise UsageError(f"{taken}: is a directory, where {option} would write this layer's plot")
    if there and not force:
        more = f" (and {len(there) - 1} more of the plots)" if len(there) > 1 else ""
        raise UsageError(f"{there[0]} exists{more}; add --force to overwrite")


@contextlib.contextmanager
def _refused_by_system(path: Path) -> Iterator[None]:
    """Looking at ``path`` fails for a name the system refuses (too long, a NUL character): say so,
    as a usage error at the path, instead of an internal error."""
    try:
        yield
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot write there: {getattr(exc, 'strerror', None) or exc}") from None


def _exists(path: Path) -> bool:
    """Whether ``path`` names something already, a dangling symbolic link too."""
    with _refused_by_system(path):
        return path.exists() or path.is_symlink()


def _check_can_create(directory: Path, name: str, target: Path) -> None:
    """Refuse a folder that takes no new file: one the permissions deny (os.access), and one that
    says yes but fails (a read-only mount, an ACL, a full quota of files), found by making and
    removing a temporary file of nnspec's naming there, as writing will."""
    where = directory if str(directory) else Path(".")
    if not os.access(where, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: cannot write in {where}: permission denied")
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=_temporary_prefix(name), suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{target}: cannot write in {where}: {exc.strerror or exc}") from None
    try:
        os.close(fd)
    finally:  # SIGTERM or Ctrl-C now must not leave it behind
        os.unlink(probe)


def refuse_collisions(targets: Iterable[tuple[str, Path]], sources: Iterable[tuple[str, Path]]) -> None:
    """Refuse, before a run, two outputs written to one file (the second would silently replace the
    first), and an output written over a file the run reads (the spec, its data, its parameters).
    Paths compare after resolving symbolic links and ``..``, and as files where they exist (a hard
    link: os.path.samefile's device and inode), each looked up once (--plots writes a file a layer)."""
    written: dict[object, tuple[str, Path]] = {}
    for option, path in targets:
        identities = _identities(path)
        for identity in identities:
            if identity in written:
                other, earlier = written[identity]
                same = f"{path}" if path == earlier else f"{earlier} and {path}"
                raise UsageError(f"{other} and {option} both write {same}: give each its own file")
        written.update(dict.fromkeys(identities, (option, path)))
    read = {identity: role for role, source in sources for identity in _identities(source)}
    for identity, (option, path) in written.items():
        if identity in read:
            raise UsageError(
                f"{path}: {option} would write over {read[identity]}, which this run reads: write elsewhere"
            )


def _identities(path: Path) -> list[object]:
    """What makes two paths one file: the path resolved, and the device and inode where it exists."""
    try:
        identities: list[object] = [path.resolve()]
    except (OSError, ValueError, RuntimeError):  # a name the system refuses, a symbolic link loop: checked elsewhere
        return []
    with contextlib.suppress(OSError, ValueError):
        status = os.stat(path)
        identities.append((status.st_dev, status.st_ino))
    return identities


def save_outputs(path: Path, outputs: Mapping[str, np.ndarray]) -> None:
    """Output layers' values by ``path``'s suffix: .npz (an array per layer, by name), .npy (the
    only output's array) or .csv (a header row ``name__0,name__1,...``, then one row a sample
    holding each output's values flattened, layer after layer)."""
    suffix = path.suffix.lower()
    check_output_path(path, list(outputs))
    if suffix == ".npz":
        write_atomically(path, lambda handle: write_npz(handle, outputs))
    elif suffix == ".npy":
        [values] = outputs.values()
        write_atomically(path, lambda handle: np.save(handle, values, allow_pickle=False))
    else:
        write_atomically(path, lambda handle: _write_csv(handle, outputs))


def write_npz(handle: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """An .npz as numpy.savez writes one (a stored zip of NAME.npy members), whatever the names:
    savez takes them as keyword arguments, so an output layer named 'file' crashed it and one named
    'allow_pickle' was taken for that option and left out."""
    with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, values in arrays.items():
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(values), allow_pickle=False)


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


def write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through a temporary file in the same directory, then rename: the file appears whole or not at all.

    Temporary files that a process of this host which no longer runs left for the same file (killed
    while it wrote) are removed first."""
    _check_place(path)
    directory = _folder(path)
    remove_stale_temporaries(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(path.name), suffix=".tmp")
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


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _host() -> str:
    """This machine, in 8 characters: a process id means something on its own host only."""
    return hashlib.blake2s(socket.gethostname().encode(), digest_size=4).hexdigest()


def _temporary_prefix(name: str, pid: int | None = None) -> str:
    return f".{name[:64]}.nnspec-{_host()}-{os.getpid() if pid is None else pid}-"


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files of ``path`` that a process of this host which no longer runs left
    (killed while it wrote: SIGKILL, a power cut); those of running processes are left alone. POSIX
    only (a process is looked up with kill(pid, 0)). Returns what it removed."""
    if os.name != "posix":
        return []
    directory = _folder(path)
    pattern = re.compile(re.escape(f".{path.name[:64]}.nnspec-{_host()}-") + r"(\d+)-[^./]+\.tmp")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            found = pattern.fullmatch(entry.name)
            if found and not _running(int(found[1])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (one of another user's counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # no process has such a number
        return False
    return True
