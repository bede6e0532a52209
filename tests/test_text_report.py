"""Issue 18, section 5: the text report reads well in a terminal and in a log.

Check ids are never split across lines, several rows of output values are indented under their
first, ranges and scores never show -0, a legend explains sat and zero, and colours appear only
for a terminal (NO_COLOR unset), written past the output guard on lines already escaped."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.printable import log_safe
from nnspec.report.renderers import wants_colour
from nnspec.report.results import LEGEND, to_coloured_text, to_text

from .conftest import ROOT

SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def seed_result():
    return nnspec.run(nnspec.load(ROOT / "specs" / "seed_activations.yaml"))


def test_a_check_id_is_never_split_whatever_the_width(seed_result):
    ids = {f"[{finding.check}]" for finding in seed_result.findings}
    assert any("-" in each for each in ids)  # the premise: hyphenated ids, where textwrap would break
    for width in range(30, 121):
        lines = to_text(seed_result, width=width).splitlines()
        for each in ids:
            assert any(each in line for line in lines), (width, each)
        assert not any(re.search(r"\[[a-z]+-$", line) for line in lines), width


def test_several_rows_of_output_values_line_up_under_the_first():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 4]}\n  - {name: out, type: Identity}\n"
        "outputs: [out]\n"
    )
    x = np.arange(12, dtype=np.float64).reshape(1, 3, 4) - 5.5
    lines = to_text(nnspec.run(spec, {"x": x})).splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  out  "))
    block = lines[first : first + 3]
    column = block[0].index("[[") + 1  # where the first row's values start
    assert [line.index("[") for line in block[1:]] == [column, column]
    rows = [re.findall(r"-?[\d.]+", line) for line in block]
    assert np.array(rows, dtype=np.float64).tolist() == x[0].tolist()


def test_ranges_means_and_findings_of_negative_zeros_are_written_0():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n  - {name: r, type: ReLU}\n")
    result = nnspec.run(spec, {"x": np.array([[-0.0, -0.0]])})
    assert result.stats["x"].output.min == 0 and np.signbit(result.stats["x"].output.min)  # the premise
    row = next(line for line in to_text(result).splitlines() if line.startswith("x "))
    assert row.split()[3:6] == ["0..0", "0..0", "0"]
    assert "-0" not in to_text(result)


def test_a_loss_of_negative_zero_is_written_0():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: p, type: Input, size: [2]}\n"
        "  - {name: loss, type: SquaredError, T: {dataset: t}}\n"
    )
    result = nnspec.run(spec, {"p": np.zeros((1, 2)), "t": np.zeros((1, 2))})
    output = result.stats["loss"].output
    result.stats["loss"] = dataclasses.replace(
        result.stats["loss"], output=dataclasses.replace(output, mean=-0.0, min=-0.0, max=-0.0)
    )
    text = to_text(result)
    assert "loss 0 (SquaredError)" in text and "-0" not in text


def test_the_legend_follows_the_table_and_quiet_leaves_it_out(seed_result):
    lines = to_text(seed_result).splitlines()
    table_end = next(i for i, line in enumerate(lines) if line.startswith("relu "))
    assert lines[table_end + 1] == LEGEND and len(LEGEND) <= 80
    assert LEGEND not in to_text(seed_result, tables=False)


def test_no_colour_in_a_pipe_nor_with_no_color(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_colour(Terminal()) and not wants_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(Terminal())
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: set but empty asks for nothing
    assert wants_colour(Terminal())
    monkeypatch.chdir(ROOT)
    main(["run", "specs/seed_activations.yaml"])  # capsys: not a terminal
    assert "\x1b" not in capsys.readouterr().out


def test_a_terminal_gets_colours_and_the_same_text_beneath(monkeypatch, seed_result):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(ROOT)
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    main(["run", "specs/seed_activations.yaml"])
    shown = terminal.getvalue()
    assert SGR.sub("", shown) == to_text(seed_result)
    coloured = {line for line in shown.splitlines() if "\x1b[" in line}
    assert "\x1b[33mwarnings\x1b[0m" in coloured
    assert any("\x1b[33m[tanh-hard-saturation]\x1b[0m" in line for line in coloured)
    assert any(line.startswith("tanh ") and "\x1b[33m89%\x1b[0m" in line for line in coloured)
    assert "0 errors, \x1b[33m3 warnings\x1b[0m" in coloured


def test_colours_never_carry_text_the_guard_would_escape(seed_result):
    """Text from a spec with escape sequences, bidi overrides and workflow commands: what the terminal
    gets is the guarded text with nnspec's own colour codes, nothing else raw."""
    spec = nnspec.loads(
        'nnspec: 1\nname: "\\e[2J::error::x ##[group]\\u202e"\nlayers:\n  - {name: x, type: Input, size: [9]}\n'
        "  - {name: tanh, type: Tanh}\n"
    )
    result = nnspec.run(spec, {"x": np.linspace(-255, 255, 9)[np.newaxis]})
    coloured = to_coloured_text(result)
    assert SGR.sub("", coloured) == log_safe(to_text(result))
    assert "\u202e" not in coloured and "##[" not in coloured
    assert all(
        match.group() in ("\x1b[0m", "\x1b[33m", "\x1b[1;31m", "\x1b[36m", "\x1b[31m")
        for match in SGR.finditer(coloured)
    )
    assert coloured.count("\x1b") == len(SGR.findall(coloured))


def test_outputs_the_text_report_leaves_out_are_named_with_their_shapes_and_why():
    """Issue 18, section 4: an output too large to print, kept or not, gets a note, never silence."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: small, type: Identity}\n"
        "  - {name: wide, type: Affine, out_shape: 40, input: x}\n  - {name: tall, type: Tanh, input: x}\n"
        "outputs: [small, wide, tall]\n"
    )
    x = np.ones((1, 3))  # small and tall: 3 values, shown; wide: 40, over the 32 shown, and not kept below
    result = nnspec.run(spec, {"x": x}, keep_outputs=39)
    assert set(result.outputs) == {"small", "tall"} and result.omitted == {"wide": (1, 40)}  # the premise
    text = to_text(result, width=200)
    lines = text.splitlines()
    at = lines.index("outputs")
    assert lines[at + 1].startswith("  small  ") and lines[at + 2].startswith("  tall   ")
    assert lines[at + 3] == (
        "  not shown: wide (1x40): the text report prints an output of at most 32 values; --output FILE saves them"
    )
    kept_but_large = nnspec.run(spec, {"x": np.ones((11, 3))})  # every output kept: 33 values of small too
    note = " ".join(
        line.strip() for line in to_text(kept_but_large).split("\noutputs\n")[1].split("\n\n")[0].splitlines()
    )
    assert note.startswith("not shown: small (11x3), wide (11x40), tall (11x3): ")
    assert "not shown" not in to_text(result, tables=False)  # --quiet drops the outputs, and their note


def test_the_text_report_prints_no_outputs_note_when_every_output_is_shown(seed_result):
    assert "not shown" not in to_text(seed_result)
