"""Files that a spec or a dataset names are confined to allowed roots: the one check every such path passes.

A spec, and every file it names, may come from an untrusted pull request, validated in CI with secrets
in the environment; a dataset may come from anywhere. So a path that a spec (``dataset:``, a parameter's
``file:``) or a dataset's cell names is resolved, symlinks and ``..`` included, and must then lie under
an allowed root: by default the repository the spec lives in. Paths the user types on the command line
(the spec itself, ``--input``, ``--dataset``, ``--params``) are the user's own and are not confined.

A path that is missing and one that is forbidden get the same answer, so that a spec cannot learn which
files exist outside the root from nnspec's messages. The file is then opened at its resolved path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .rows import file_problem

ALLOW_OPTION = "--allow-path"


class OutsideRoots(Exception):
    """A path a spec or a dataset names cannot be read: missing, forbidden, or not a regular file.
    The message says why in words that do not tell a missing path from a forbidden one."""


@dataclass(frozen=True)
class Confinement:
    """The directories (resolved) under which files named by a spec or a dataset may be read."""

    roots: tuple[Path, ...]

    @classmethod
    def for_spec(cls, spec_file: str | Path, allow: Iterable[str | Path] = ()) -> Confinement:
        """The spec's repository (or directory, see ``default_root``), and the directories in ``allow``."""
        return cls((default_root(spec_file),)).widened(allow)

    def widened(self, allow: Iterable[str | Path]) -> Confinement:
        """These roots and the directories in ``allow`` (relative to the current directory) that are not
        under one of them already."""
        roots = list(self.roots)
        for directory in allow:
            real = Path(os.path.realpath(directory))
            if not any(real == root or root in real.parents for root in roots):
                roots.append(real)
        return Confinement(tuple(roots))

    def file(self, path: str | Path, directories: dict[str, str] | None = None) -> Path:
        """The resolved path of ``path``, a regular file under a root; else OutsideRoots. ``directories``
        keeps the folders resolved, for a caller resolving many files in a few folders (see ``_realpath``)."""
        real = self.resolve(path, directories)
        problem = file_problem(real)
        if problem == "file not found":
            raise OutsideRoots(self.unreachable)
        if problem:
            raise OutsideRoots(problem)
        return real

    def resolve(self, path: str | Path, directories: dict[str, str] | None = None) -> Path:
        """``path`` with ``..`` and every symlink resolved (those that exist: a missing part is taken as
        written), when it lies under a root; else OutsideRoots. The file itself is not opened, nor
        required to exist: what ``validate --no-data`` checks."""
        try:
            real = _realpath(os.fspath(path), directories)
        except ValueError:  # no file anywhere has such a name: saying so tells nothing of the roots
            raise OutsideRoots("is not a usable path (it holds a NUL character)") from None
        except OSError:
            raise OutsideRoots(self.unreachable) from None
        if not any(_within(real, root) for root in self._root_texts):
            raise OutsideRoots(self.unreachable)
        return Path(real)

    @cached_property
    def _root_texts(self) -> tuple[str, ...]:
        return tuple(map(str, self.roots))

    def problem(self, path: str | Path, read: bool = True) -> str | None:
        """Why ``path`` cannot be read (``file``), or with ``read`` false why it may not be (``resolve``);
        None when it can."""
        try:
            self.file(path) if read else self.resolve(path)
        except OutsideRoots as exc:
            return str(exc)
        return None

    @property
    def unreachable(self) -> str:
        """The answer for a path that is missing or outside the roots, the same for both."""
        kind = "root" if len(self.roots) == 1 else "roots"
        return f"not found (or outside the allowed {kind} {', '.join(map(str, self.roots))}; see {ALLOW_OPTION})"


def _realpath(path: str, directories: dict[str, str] | None) -> str:
    """``os.path.realpath(path)``, its folder's resolution kept in ``directories``: a dataset's thousands
    of cells lie in a few folders, each then resolved once a run, and each cell costs one lstat."""
    head, tail = os.path.split(path)
    if directories is None or tail in ("", ".", ".."):
        return os.path.realpath(path)
    if head not in directories:
        directories[head] = os.path.realpath(head or os.curdir)
    candidate = os.path.join(directories[head], tail)
    return os.path.realpath(candidate) if os.path.islink(candidate) else candidate


def _within(real: str, root: str) -> bool:
    """Whether a resolved path lies under ``root``, and not in a Git directory there: actions/checkout
    keeps the job's token in .git/config. git-annex's store (.git/annex) holds data files, which the
    work tree links to, and stays readable. (Compared as text: Path objects cost a dataset's run
    a tenth of its time.)"""
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return False
    parts = real[len(root) :].split(os.sep)
    return not any(part == ".git" and parts[i + 1 : i + 2] != ["annex"] for i, part in enumerate(parts))


def default_root(spec_file: str | Path) -> Path:
    """Where a spec's files may be by default: the repository it lives in, the nearest directory above
    it holding ``.git`` (a directory, or a file in a Git worktree); outside a repository, the current
    directory when the spec lies in it (specs/x.yaml reads data/ beside specs/), else the spec's own
    directory."""
    directory = Path(os.path.realpath(Path(spec_file).parent))
    for candidate in (directory, *directory.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    current = Path(os.path.realpath(os.getcwd()))
    return current if current == directory or current in directory.parents else directory
