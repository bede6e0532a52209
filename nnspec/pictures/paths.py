"""Checks on the files pictures go to, made before a run so that a bad path costs no run."""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import UsageError


def check_new_file(path: Path, force: bool) -> None:
    """Refuse a file whose directory is missing, a directory, or (without ``force``) an existing file."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"{path}: directory {directory} does not exist")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; give a file name")
    if path.exists() and not force:
        raise UsageError(f"{path} exists; add --force to overwrite it")
