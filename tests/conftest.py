"""Shared helpers for the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

# A spec with two errors, by hand: line 5 is act's row (the unknown type Tanhh), line 6 fc2's (the
# unknown property OutShape). The output formats and the renderer table are both tested on it.
BROKEN = (
    "nnspec: 1\n"
    "layers:\n"
    "  - {name: x, type: Input, size: [16]}\n"
    "  - {name: fc1, type: Affine, out_shape: 32}\n"
    "  - {name: act, type: Tanhh}\n"
    "  - {name: fc2, type: Affine, OutShape: 16}\n"
)


def load_script(name: str) -> ModuleType:
    """scripts/<name>.py as a module (scripts/ is not a package), so the tests check what a script
    itself defines rather than a copy of it."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def write_spec(tmp_path):
    """Write spec text to a file and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
