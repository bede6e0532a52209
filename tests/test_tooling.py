"""The static checks, run by the suite so that the one test command (README, `.ci/run`:
`python3 -m pip install '.[test]' && python3 -m pytest`) covers them, locally as in CI:
ruff's lint and format check over the repository, and mypy over nnspec, strict on the public
API (the settings are in pyproject.toml; the `test` extra installs both tools, pinned).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import nnspec

ROOT = Path(__file__).resolve().parent.parent
REVEALED = re.compile(r'^.*:(\d+): note: Revealed type is "(.*)"$')


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    """A tool of this Python's environment run at the repository's root, where pyproject.toml is."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing_to_fix():
    done = tool("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_python_file_is_as_ruff_formats_it():
    done = tool("ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_no_type_error():
    done = tool("mypy")  # the files and the levels: [tool.mypy] in pyproject.toml
    assert done.returncode == 0 and "Success: no issues found" in done.stdout, done.stdout + done.stderr


def test_every_name_nnspec_exports_has_a_type_mypy_knows(tmp_path):
    # nnspec imports its names on first use (__getattr__), which type checkers see as Any: a name
    # missing from the declarations for them would type-check everything a user does with it.
    names = list(nnspec.__all__)
    usage = tmp_path / "usage.py"
    usage.write_text("import nnspec\n" + "".join(f"reveal_type(nnspec.{name})\n" for name in names))
    done = tool("mypy", "--no-error-summary", str(usage))
    revealed = {int(m[1]): m[2] for m in map(REVEALED.match, done.stdout.splitlines()) if m}
    assert len(revealed) == len(names), done.stdout + done.stderr
    untyped = [name for line, name in enumerate(names, start=2) if revealed[line] == "Any"]
    assert untyped == [], {name: revealed[line] for line, name in enumerate(names, start=2)}


def test_every_module_a_mypy_setting_names_exists():
    # mypy passes over a setting for a module that is not there: a module moved (issue 17 moves most)
    # would lose its strictness, or its exemption would outlive it, without a word.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    named = [name.removesuffix(".*") for override in overrides for name in override["module"]]
    ours = [name for name in named if name.split(".")[0] in ("nnspec", "tests")]
    missing = [
        name
        for name in ours
        if not (ROOT / f"{name.replace('.', '/')}.py").is_file() and not (ROOT / name.replace(".", "/")).is_dir()
    ]
    assert ours and missing == []
