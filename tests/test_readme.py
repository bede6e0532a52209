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


def test_readme_spec_with_standardised_data_gets_no_input_range_finding():
    """The README's own spec generates N(0, 1) data: normalised as NNC asks, though some of its
    values pass 3; neither validate nor run may tell the user to normalise it."""
    import nnspec
    from nnspec.validation import predicted

    text = re.search(r"## A spec\n\n```yaml\n(.*?)```", README, re.S).group(1)
    spec = nnspec.loads(text)
    result = nnspec.run(spec, samples=1000)
    x = result.stats["x"].output
    assert x.max_abs > 3  # the premise: the extremes alone would have called it unnormalised
    assert abs(x.mean) < 0.1 and 0.9 < x.std < 1.1
    assert not [f for f in result.findings if f.check == "input-range"]
    assert not [d for d in predicted(spec) if d.code == "input-range"]


def test_readme_model_summary_is_current(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["validate", "--summary", "--batch-size", "64", "specs/lenet.yaml"]) == 0
    assert capsys.readouterr().out == shown_after("nnspec validate --summary --batch-size 64 specs/lenet.yaml")
