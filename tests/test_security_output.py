"""Output injection (issue 15, items 1-3): what a stranger's spec or files hold never acts on a
terminal or a CI log, and never drives matplotlib.

Item 1: every text-bearing field, fed each hostile payload, through every command, format and
stream (``test_no_field_reaches_any_stream_raw``: a new field or command is one line in FIELDS
or COMMANDS). Item 2: ``$...$`` is text, not mathtext. Item 3: a matplotlibrc in the working
directory changes nothing and runs nothing.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnspec.cli import main
from nnspec.spec.resolved import dump_yaml

from .conftest import ROOT

PAYLOADS = ["\r", "\x1b[31m", "\u202e", "::error::", "##[error]", "\n::add-mask::x"]
# nnspec's own workflow commands (--format github): every one has properties, so never '::error::'
OWN_COMMAND = re.compile(r"^::(error|warning|notice) file=[^:\s]*(,line=\d+,col=\d+)?,title=nnspec [^:]*::")


# --- the cases: a spec (or a command line) carrying the payload in one field ------------------


def spec_text(data: dict) -> str:
    """A spec as JSON, which is YAML: the payload's characters as JSON escapes, read back as themselves."""
    return json.dumps({"nnspec": 1, **data})


def layers(*extra: dict, first: dict | None = None) -> list[dict]:
    """A valid network (Input from a generator, then Tanh), the extra layers after it."""
    source = {"name": "x", "type": "Input", "size": [4], "generator": "Uniform", **(first or {})}
    return [source, {"name": "t", "type": "Tanh"}, *extra]


@dataclass
class Case:
    """Files to write (name: text or bytes) and the command lines to run on them ({spec}: the spec's name)."""

    files: dict[str, str | bytes]
    commands: list[list[str]]
    valid: bool = False  # a valid spec: --print-resolved prints it, so its YAML must read back the same
    extra: dict = field(default_factory=dict)


SPEC_COMMANDS = [
    *(["validate", "--format", form, "{spec}"] for form in ("text", "json", "github", "sarif")),
    ["validate", "--print-resolved", "{spec}"],
    *(["run", "--format", form, "{spec}"] for form in ("text", "json", "github", "sarif")),
    ["run", "--quiet", "{spec}"],
    ["graph", "{spec}"],
    ["upgrade", "{spec}"],
]


def in_spec(data: Callable[[str], dict], valid: bool = False) -> Callable[[str], Case]:
    return lambda payload: Case({"spec.yaml": spec_text(data(payload))}, SPEC_COMMANDS, valid)


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def with_run_options(*options: str, files: dict | None = None, spec: dict | None = None) -> Callable[[str], Case]:
    """A valid spec run with command-line options holding the payload (formatted in as {payload})."""

    def case(payload: str) -> Case:
        given = [option.format(payload=payload) for option in options]
        commands = [["run", "--format", form, "{spec}", *given] for form in ("text", "json", "github", "sarif")]
        written = {"spec.yaml": spec_text(spec or {"layers": layers()}), **(files or {})}
        return Case({name.format(payload=payload): value for name, value in written.items()}, commands)

    return case


READ = {"layers": layers(first={"generator": "None"})}  # x read from the data given
FIELDS: dict[str, Callable[[str], Case]] = {
    "layer type": in_spec(lambda p: {"layers": layers({"name": "y", "type": p})}),
    "property key": in_spec(lambda p: {"layers": layers({"name": "y", "type": "Tanh", p: 1})}),
    "layer name": in_spec(lambda p: {"layers": layers({"name": p, "type": "Tanh"})}),
    "input name": in_spec(lambda p: {"layers": layers({"name": "y", "type": "Tanh", "input": p})}),
    "output name": in_spec(lambda p: {"layers": layers(), "outputs": [p]}),
    "check id in the spec": in_spec(lambda p: {"layers": layers(), "checks": {p: "off"}}),
    "check id in a layer": in_spec(lambda p: {"layers": layers({"name": "y", "type": "Tanh", "checks": {p: "off"}})}),
    "Input's dataset": in_spec(lambda p: {"layers": layers(first={"dataset": p, "generator": "None"})}, valid=True),
    "parameter scope": in_spec(
        lambda p: {"layers": layers({"name": "fc", "type": "Affine", "out_shape": 2, "parameter_scope": p})}, True
    ),
    "spec name": in_spec(lambda p: {"name": p, "layers": layers()}, valid=True),
    "spec description": in_spec(lambda p: {"description": p, "layers": layers()}, valid=True),
    "spec dataset file": in_spec(lambda p: {"dataset": p + ".csv", "layers": layers()}),
    "parameter file": in_spec(
        lambda p: {"layers": layers({"name": "fc", "type": "Affine", "W": {"file": p + ".npy"}})}
    ),
    "spec version": in_spec(lambda p: {"nnspec": p, "layers": layers()}),
    "spec file name": lambda p: Case(
        {p + ".yaml": spec_text({"layers": layers({"name": "y", "type": "Tanhh"})})},
        [[*c[:-1], p + ".yaml"] for c in SPEC_COMMANDS],
    ),
    "spec file name, valid spec": lambda p: Case(
        {p + ".yaml": spec_text({"layers": layers()})}, [[*c[:-1], p + ".yaml"] for c in SPEC_COMMANDS], valid=True
    ),
    "--check id": lambda p: Case(
        {"spec.yaml": spec_text({"layers": layers()})},
        [
            ["validate", "--check", p + "=off", "{spec}"],
            ["run", "--check", p + "=off", "{spec}"],
            ["graph", "--check", p + "=off", "{spec}"],
        ],
    ),
    "--input variable": with_run_options("--input", "{payload}=x.npy", files={"x.npy": b""}),
    "--input file name": with_run_options("--input", "x={payload}.npy"),
    ".npz member names": with_run_options(
        "--input", "data.npz", files={"data.npz": lambda p: npz_bytes(**{p: np.zeros((2, 4))})}
    ),
    "dataset CSV header": with_run_options("--dataset", "d.csv", files={"d.csv": "{payload}\n1\n"}, spec=READ),
    "dataset CSV cell": with_run_options(
        "--dataset", "d.csv", files={"d.csv": "x__0,x__1,x__2,x__3\n1,{payload},3,4\n"}, spec=READ
    ),
    "dataset CSV image path": with_run_options("--dataset", "d.csv", files={"d.csv": "x\n{payload}.png\n"}, spec=READ),
    "layers TYPE": lambda p: Case({}, [["layers", p], ["layers", "--format", "json", p]]),
}


# --- what no stream may hold --------------------------------------------------------------------


def assert_log_safe(text: str, payload: str, where: str, own_commands: bool = False) -> None:
    """No raw payload, no character a terminal acts on, no '##[', and no line starting with '::'
    but nnspec's own workflow commands (``own_commands``: --format github's stdout)."""
    assert payload not in text, f"{where}: the payload {payload!r} is in the output raw"
    for character in ("\r", "\x1b", "\u202e", "\x85", "\u2028"):
        assert character not in text, f"{where}: {character!r} in the output"
    assert "##[" not in text, where
    for line in text.split("\n"):
        if line.lstrip().startswith("::"):
            assert own_commands and OWN_COMMAND.match(line), f"{where}: a line starts a workflow command: {line!r}"
            assert "::" not in OWN_COMMAND.sub("", line), f"{where}: a second '::' in {line!r}"


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
@pytest.mark.parametrize("name", FIELDS)
def test_no_field_reaches_any_stream_raw(name, payload, tmp_path, monkeypatch, capsys):
    case = FIELDS[name](payload)
    for file, content in case.files.items():
        content = content(payload) if callable(content) else content
        if isinstance(content, str):
            content = content.replace("{payload}", payload).encode("utf-8")
        (tmp_path / file).write_bytes(content)
    monkeypatch.chdir(tmp_path)  # file names start their lines, as in CI
    spec = next((file for file in case.files if file.endswith(".yaml")), "spec.yaml")
    for command in case.commands:
        argv = [part.replace("{spec}", spec) for part in command]
        code = main(argv)
        out, err = capsys.readouterr()
        where = f"{name}: nnspec {' '.join(map(repr, argv))} (exit {code})"
        assert code in (0, 1, 2), where
        assert "internal error" not in err and "Traceback" not in err, f"{where}: {err}"
        assert_log_safe(err, payload, where + " stderr")
        assert_log_safe(out, payload, where + " stdout", own_commands="github" in argv)
        if out and ("json" in argv or "sarif" in argv):
            json.loads(out)  # still JSON
        if "--print-resolved" in argv and case.valid:
            assert code == 0, where
            assert_resolved_reads_back(out, tmp_path / spec)


def assert_resolved_reads_back(printed: str, spec: Path) -> None:
    """--print-resolved's YAML reads back to the same data as the spec resolves to (quoted, escaped)."""
    from nnspec.spec.resolved import resolved_data
    from nnspec.validation import load

    assert yaml.safe_load(printed) == yaml.safe_load(dump_yaml(resolved_data(load(str(spec)))))
    original = yaml.safe_load(spec.read_text())
    resolved = yaml.safe_load(printed)
    for key in ("name", "description"):
        if key in original:
            assert resolved[key] == original[key]


# --- the pieces the test above relies on --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\rb\tc\nd", "a\\rb\\tc\\nd"),
        ("\x1b[31m\x7f\x9b", "\\x1b[31m\\x7f\\x9b"),
        ("\u202eabc\u2066\u200f\u061c\u2028\ufeff", "\\u202eabc\\u2066\\u200f\\u061c\\u2028\\ufeff"),
        ("\U000e0041 tag", "\\U000e0041 tag"),
        ("::error::x", "\\x3a:error\\x3a:x"),
        ("a ::: b", "a \\x3a\\x3a: b"),
        ("##[error] ###[x]", "\\x23#[error] #\\x23#[x]"),
        ("caf\u00e9 \u6f22\u5b57 C:\\x\\y $\\foo$", "caf\u00e9 \u6f22\u5b57 C:\\x\\y $\\foo$"),  # as it is
        ("bad \udcff byte", "bad \\udcff byte"),  # a file name's undecodable byte: no UnicodeEncodeError
    ],
)
def test_printable_shows_what_would_act(text, shown):
    from nnspec.core.printable import printable

    assert printable(text) == shown
    assert printable(shown) == shown  # nothing left to escape


def test_the_guard_sees_commands_split_over_writes():
    from nnspec.core.printable import GuardedStream, log_safe

    buffer = io.StringIO()
    guarded = GuardedStream(buffer)
    for part in ("  :", ":add-mask::x\n", "#", "#[error] y\x1b\n", "ok :: mid-line\n", "::"):
        guarded.write(part)
        guarded.flush()
    guarded._write_held(final=True)
    assert buffer.getvalue() == "  \\x3a:add-mask::x\n\\x23#[error] y\\x1b\nok :: mid-line\n\\x3a:"
    assert log_safe("a\n  ::b\r") == "a\n  \\x3a:b\\r"


def test_json_output_is_ascii_and_reads_back_the_same():
    from nnspec.core.printable import json_text

    data = {"name": "\x1b \u202e ##[error] ::error:: caf\u00e9"}
    text = json_text(data, indent=2)
    assert text.isascii() and "##[" not in text and json.loads(text) == data


@pytest.mark.parametrize("payload", [*PAYLOADS, "a\u2028b", "x" * 120 + " ::add-mask::y", "two\nlines ##[x]"], ids=repr)
def test_resolved_yaml_round_trips_quoted(payload):
    data = {"name": payload, payload: [payload], "description": "two\nclean lines"}
    text = dump_yaml(data)
    assert yaml.safe_load(text) == data
    assert_log_safe(text, payload, "yaml")
    assert "description: |-\n  two\n  clean lines\n" in text  # clean multi-line text stays a literal block


def test_upgrade_to_stdout_rewrites_a_spec_it_would_print_changed(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "# top ##[error]\nnnspec: 2\ndescription: |\n  ok\n  ::add-mask::x\nlayers:\n"
        "  - {name: x, type: Input, size: [4], generator: Uniform}\n"
    )
    assert main(["upgrade", str(spec)]) == 0
    out, err = capsys.readouterr()
    assert_log_safe(out, "::add-mask::", "upgrade stdout")
    assert yaml.safe_load(out) == yaml.safe_load(spec.read_text())
    assert "written as nnspec writes YAML" in err
    assert main(["upgrade", str(spec), "-o", str(tmp_path / "t.yaml")]) == 0  # a file: unchanged, byte for byte
    assert (tmp_path / "t.yaml").read_bytes() == spec.read_bytes()


# --- item 2: '$...$' is text ---------------------------------------------------------------------

MATHTEXT = "$\\foo$"  # mathtext: an unknown command, a ValueError when parsed


def test_mathtext_in_names_and_files_is_drawn_as_text(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "a $\\foo$.yaml"
    spec.write_text(
        spec_text(
            {
                "name": f"net {MATHTEXT}",
                "layers": layers(
                    {"name": "fc", "type": "Affine", "out_shape": 2, "parameter_scope": f"s{MATHTEXT}"},
                    first={"dataset": f"d{MATHTEXT}"},
                ),
            }
        )
    )
    for picture in ("g.svg", "g.png"):
        assert main(["graph", spec.name, "-o", picture]) == 0, capsys.readouterr().err
        assert (tmp_path / picture).stat().st_size > 0
    assert main(["run", spec.name, "--report", "r.html", "--plots", "plots", "-q"]) == 0, capsys.readouterr().err
    assert "net $\\foo$" in (tmp_path / "r.html").read_text()
    assert len(list((tmp_path / "plots").glob("*.png"))) == 3
    assert "error" not in capsys.readouterr().err


# --- item 3: a matplotlibrc in the working directory ---------------------------------------------

HOSTILE_RC = """\
backend: module://nnspec_evil_backend
text.usetex: True
font.size: 31
svg.fonttype: path
figure.facecolor: red
lines.linewidth: 7
axes.prop_cycle: cycler('color', ['r'] * 3)
no.such.key: x
"""


def _cli(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    """``python -m nnspec`` in ``cwd``: the working directory is on sys.path, as in CI."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLCONFIGDIR": str(cwd.parent / "mplconfig")}
    env.pop("MATPLOTLIBRC", None)
    return subprocess.run([sys.executable, "-m", "nnspec", *argv], cwd=cwd, env=env, capture_output=True, timeout=300)


def test_a_matplotlibrc_in_the_working_directory_changes_nothing_and_runs_nothing(tmp_path):
    pytest.importorskip("matplotlib")
    spec = spec_text({"name": f"net {MATHTEXT}", "layers": layers()})
    outputs = {}
    for kind in ("clean", "hostile"):
        cwd = tmp_path / kind
        cwd.mkdir()
        (cwd / "s.yaml").write_text(spec)
        if kind == "hostile":
            (cwd / "matplotlibrc").write_text(HOSTILE_RC)
            marker = tmp_path / "backend-was-imported"
            (cwd / "nnspec_evil_backend.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
        results = [
            _cli(cwd, "graph", "s.yaml", "-o", "g.svg"),
            _cli(cwd, "graph", "s.yaml", "-o", "g.png"),
            _cli(cwd, "run", "s.yaml", "-q", "--report", "r.html", "--plots", "plots"),
        ]
        for result in results:
            assert result.returncode == 0, result.stderr.decode()
        outputs[kind] = (
            [(r.stdout, r.stderr) for r in results],
            {
                p.relative_to(cwd).as_posix(): p.read_bytes()
                for p in sorted(cwd.rglob("*"))
                if p.suffix in (".svg", ".png", ".html")
            },
        )
    assert not marker.exists(), "the backend an rc file named was imported"
    assert outputs["hostile"] == outputs["clean"]  # the same streams, the same bytes in every picture


def test_debug_tracebacks_pass_the_guard_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(spec_text({"layers": layers(first={"generator": "None"})}))
    (tmp_path / "d.csv").write_text("x\n\x1b[31m\u202e\n::add-mask::x.png\n")
    assert main(["--debug", "run", "s.yaml", "--dataset", "d.csv"]) == 1  # exit 1, as Python's own traceback
    out, err = capsys.readouterr()
    assert "Traceback" in err and "UsageError" in err
    for payload in ("\x1b[31m", "\u202e"):
        assert_log_safe(err, payload, "--debug stderr")
