"""The table of output formats (nnspec.report.renderers): a format registered there is offered and used by
every command without a change to cli.py; and a range finding becomes one located diagnostic."""

from __future__ import annotations

import json

import pytest

from nnspec.checks.check import Finding
from nnspec.cli import main
from nnspec.core.diagnostics import ERROR, WARNING, Diagnostic
from nnspec.report.renderers import (
    FileResult,
    OutputFormat,
    Streams,
    format_names,
    output_format,
    register,
    unregister,
)
from nnspec.validation import loads

from .conftest import BROKEN, ROOT

SEED = "specs/seed_activations.yaml"
# specs/seed_activations.yaml, read by hand: x is written on line 10, tanh on 14, sigmoid on 15;
# inputs of +-255 flag the raw input, and saturate Tanh and Sigmoid.
SEED_FINDINGS = [
    ("input-range", "x", 10),
    ("tanh-hard-saturation", "tanh", 14),
    ("sigmoid-hard-saturation", "sigmoid", 15),
]


def _tally(diagnostics, streams: Streams) -> None:
    for d in diagnostics:
        print(f"{d.code} {d.layer} {d.line}", file=streams.out)


def _tally_run(result, tables: bool, streams: Streams) -> None:
    print(f"samples {result.samples}, outputs kept {sorted(result.outputs)}", file=streams.out)
    _tally([f.diagnostic(result.spec) for f in result.findings], streams)


TALLY = OutputFormat(
    name="tally",
    validate=lambda results, streams: _tally([d for r in results for d in r.diagnostics], streams),
    run=_tally_run,
    invalid=lambda diagnostics, streams: _tally(diagnostics, streams),
    values_kept=lambda quiet: 0,
    validate_help="a line a diagnostic, for this test",
    run_help="a line a finding, for this test",
)


@pytest.fixture
def tally():
    register(TALLY)
    try:
        yield TALLY
    finally:
        unregister(TALLY.name)


def test_a_registered_format_is_offered_and_used_by_every_command(tally, write_spec, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    broken = write_spec(BROKEN)
    assert main(["validate", "--format", "tally", str(broken)]) == 1
    assert capsys.readouterr() == ("unknown-type act 5\nunknown-property fc2 6\n", "")
    assert main(["run", SEED, "--format", "tally"]) == 0
    out, _ = capsys.readouterr()
    # values_kept 0: no output values kept, the findings at their layers' lines
    assert out.splitlines() == ["samples 1, outputs kept []"] + [
        f"{c} {layer} {line}" for c, layer, line in SEED_FINDINGS
    ]
    assert main(["run", str(broken), "--format", "tally"]) == 1  # an invalid spec: its diagnostics, in the format
    assert capsys.readouterr() == ("unknown-type act 5\nunknown-property fc2 6\n", "")
    for command in ("validate", "run"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert "{text,json,github,sarif,tally}" in help_text and "tally (a line a" in help_text


def test_an_unregistered_format_is_refused_by_the_command_line(write_spec, capsys):
    register(TALLY)
    unregister(TALLY.name)
    with pytest.raises(SystemExit) as refused:
        main(["validate", "--format", "tally", str(write_spec(BROKEN))])
    assert refused.value.code == 2 and "invalid choice: 'tally'" in capsys.readouterr().err


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="'text' is registered already"):
        register(OutputFormat("text", TALLY.validate, TALLY.run, TALLY.invalid, TALLY.values_kept, "", ""))
    assert format_names()[:4] == ("text", "json", "github", "sarif")  # the default first, as --help lists them


def test_the_formats_render_to_the_streams_they_are_given(tmp_path):
    import io

    diagnostics = [Diagnostic("bad", "a.yaml", 2, 3, ERROR, "shape"), Diagnostic("hm", "a.yaml", 4, 1, WARNING, "x")]
    results = [FileResult("a.yaml", diagnostics), FileResult("b.yaml", diagnostics[1:])]
    assert [r.valid for r in results] == [False, True]  # valid: no error, warnings or not
    out, err = io.StringIO(), io.StringIO()
    output_format("text").validate(results, Streams(out, err))
    assert out.getvalue() == "" and err.getvalue().splitlines() == [
        "a.yaml:2:3: error: bad [shape]",
        "a.yaml:4:1: warning: hm [x]",
        "a.yaml:4:1: warning: hm [x]",
    ]
    out, err = io.StringIO(), io.StringIO()
    output_format("json").validate(results, Streams(out, err))
    files = json.loads(out.getvalue())["files"]
    assert err.getvalue() == "" and [(f["file"], f["valid"], len(f["diagnostics"])) for f in files] == [
        ("a.yaml", False, 2),
        ("b.yaml", True, 1),
    ]
    assert files[0]["diagnostics"][0] == {
        "file": "a.yaml",
        "line": 2,
        "column": 3,
        "severity": "error",
        "code": "shape",
        "message": "bad",
        "path": [],
        "layer": None,
    }
    out, err = io.StringIO(), io.StringIO()
    output_format("github").invalid(diagnostics, Streams(out, err))  # a stream without the guard: as it is
    assert err.getvalue() == "" and out.getvalue().splitlines()[0].startswith("::error file=a.yaml,line=2,col=3,")


# --- a finding, located --------------------------------------------------------------------


def test_a_finding_becomes_a_diagnostic_at_its_layer():
    text = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  -   {name: t, type: Tanh}\n"
    spec = loads(text, "net.yaml")
    located = Finding("tanh-saturation", WARNING, "t", "most outputs near -1 or 1").diagnostic(spec)
    # t's mapping starts on line 4 at column 7 (after "  -   "), the second layer: layers[1]
    assert located == Diagnostic(
        "most outputs near -1 or 1", "net.yaml", 4, 7, WARNING, "tanh-saturation", ("layers", 1), "t"
    )


def test_every_report_of_a_run_locates_a_finding_at_its_layers_line(monkeypatch, capsys):
    """text, json and github all put the findings of specs/seed_activations.yaml on the lines written above."""
    monkeypatch.chdir(ROOT)
    main(["run", SEED, "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["check"], f["layer"], f["line"], f["column"]) for f in found] == [(*f, 5) for f in SEED_FINDINGS]
    main(["run", SEED, "--quiet"])
    text = capsys.readouterr().out
    for check, _, line in SEED_FINDINGS:
        assert f"line {line}: " in text and f"[{check}]" in text
    main(["run", SEED, "--format", "github"])
    assert [part.split(",title")[0].split(",line=")[1] for part in capsys.readouterr().out.splitlines()] == [
        f"{line},col=5" for _, _, line in SEED_FINDINGS
    ]


def test_the_html_report_shows_small_outputs_whatever_the_format(tmp_path, monkeypatch, capsys):
    """github prints no output values, but the HTML report next to it still shows them."""
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(ROOT)
    page = tmp_path / "report.html"
    assert main(["run", SEED, "--format", "github", "--report", str(page)]) == 0
    capsys.readouterr()
    html = page.read_text(encoding="utf-8")
    assert 'id="outputs"' in html
    outputs = html.split('id="outputs"')[1].split("</table>")[0]
    assert all(f'href="#layer-{name}"' in outputs for name in ("tanh", "sigmoid", "relu"))
