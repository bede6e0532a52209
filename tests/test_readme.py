"""The README's examples are real: each shown output is what nnspec prints today."""

from __future__ import annotations

import re

from nnspec.cli import main

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def shown_after(command: str) -> str:
    """The lines the README shows after '$ command', up to the next prompt or the end of the block."""
    block = re.search(re.escape(f"$ {command}\n") + r"(.*?)(?=^\$ |^```)", README, re.S | re.M)
    assert block, f"README shows no output for '{command}'"
    return block.group(1)


def test_readme_seed_demo_output_is_current(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["run", "specs/seed_activations.yaml"]) == 0
    out, err = capsys.readouterr()
    assert out + err == shown_after("nnspec run specs/seed_activations.yaml")


def test_readme_validate_example_is_current(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.yaml").write_text(shown_after("cat broken.yaml"))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "broken.yaml"]) == 1
    assert capsys.readouterr().err == shown_after("nnspec validate broken.yaml")
