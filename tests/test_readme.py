"""The README's examples are real: each shown output is what nnspec prints today.

Every command the README shows in a fenced code block is run, in a copy of the repository's
specs/, data/, schemas/ and docs/ (so that no command writes into the checkout), as a user would
run it: ``nnspec ...`` as ``python -m nnspec ...`` of this checkout, in a shell's working directory.
How the README's blocks are read:

- A block with ``$ `` prompts is a terminal session. ``$ cat NAME`` shows a file: its lines are
  written to NAME. ``$ nnspec ...`` is run; the lines after it, up to the next prompt or the end of
  the block, are everything it prints (stdout and stderr, as a terminal interleaves them), except
  that a line ``...`` stands for any number of lines left out (an excerpt). ``$ echo $?`` shows the
  exit code of the command before; a command without one must exit 0 (README: "0 fine").
- A ``sh`` block is commands, one a line (``# ...`` a comment; ``&&`` joins commands); each must
  exit 0. ``> PATH`` sends its output to PATH: the README's regeneration commands, whose output
  must equal the committed file. ``python3 -m pip install ...`` is skipped (it would install
  packages; the set-up it describes is the one this suite runs in), as are the test suite itself
  (``python3 -m pytest``: this is it) and the benchmarks (``python benchmarks/...``: minutes of
  machine-dependent timings); anything else fails the test, so a new command cannot go unrun.
- A ``text`` block of lines starting ``nnspec`` is the command synopsis: placeholders, not
  commands; each of its commands and options must exist (checked against the CLI's parser).
- The ``python`` block is run as it is written, from the copy.
- Any other block holding a line that starts with ``nnspec `` or ``$ `` fails: mark it as one of these.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nnspec.cli import _parser, main

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


# --- every command the README shows ----------------------------------------------------------------

FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.S | re.M)
COPIED = ("specs", "data", "schemas", "docs")  # what the README's commands read and write
SKIPPED = {  # how a sh block's line starts -> why the test does not run it
    "python3 -m pip install": "installs packages: the set-up this suite already runs in",
    "python3 -m pytest": "the test suite itself",
    "python benchmarks/": "a benchmark: minutes of timings that depend on the machine",
}


@dataclass
class Shown:
    """A command the README shows, what it shows it printing (None: a sh block shows nothing) and the
    exit code it states (0 unless an ``echo $?`` says otherwise)."""

    line: int
    argv: list[str]
    output: list[str] | None = None
    exit_code: int = 0
    files: dict[str, str] = field(default_factory=dict)  # cat'd files the command may read


def blocks() -> list[tuple[str, str, int]]:
    """README's fenced blocks: (info string, body, line of the opening fence)."""
    return [(m["info"].strip(), m["body"], README.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(README)]


def session(body: str, first_line: int) -> list[Shown]:
    """The commands of a ``$``-prompt block, each with the lines it shows printed."""
    segments: list[tuple[int, list[str], list[str]]] = []  # a prompt's line, its words, the lines under it
    for offset, line in enumerate(body.splitlines(), start=1):
        if line.startswith("$ "):
            segments.append((first_line + offset, shlex.split(line[2:]), []))
        else:
            assert segments, f"README line {first_line + offset}: output before any command"
            segments[-1][2].append(line)
    shown: list[Shown] = []
    files: dict[str, str] = {}
    for number, words, lines in segments:
        if words[0] == "cat":  # the file, as the commands after it read it
            files[words[1]] = "".join(f"{line}\n" for line in lines)
        elif words == ["echo", "$?"]:
            assert shown and len(lines) == 1, f"README line {number}: 'echo $?' shows one code, after a command"
            shown[-1].exit_code = int(lines[0])
        else:
            assert words[0] == "nnspec", f"README line {number}: a session runs nnspec, not {' '.join(words)!r}"
            shown.append(Shown(number, words[1:], lines, files=dict(files)))
    return shown


def shell_lines(body: str, first_line: int) -> tuple[list[Shown], list[str]]:
    """The nnspec commands of a ``sh`` block, and the commands skipped (with why)."""
    run, skipped = [], []
    for offset, line in enumerate(body.splitlines(), start=1):
        words = shlex.split(line, comments=True)
        while words:
            command = words[: words.index("&&")] if "&&" in words else words
            words = words[len(command) + 1 :]
            text = " ".join(command)
            reason = next((why for start, why in SKIPPED.items() if text.startswith(start)), None)
            if reason is not None:
                skipped.append(f"{text}: {reason}")
                continue
            assert command[0] == "nnspec", f"README line {first_line + offset}: {text!r} is no command this test knows"
            run.append(Shown(first_line + offset, command[1:]))
    return run, skipped


def readme_commands() -> tuple[list[Shown], list[str], list[str]]:
    """Every command to run, every one skipped, and the synopsis block's lines."""
    commands: list[Shown] = []
    skipped: list[str] = []
    synopsis: list[str] = []
    for info, body, line in blocks():
        lines = body.splitlines()
        if any(each.startswith("$ ") for each in lines):
            commands += session(body, line)
        elif info == "sh":
            run, passed = shell_lines(body, line)
            commands += run
            skipped += passed
        elif info == "text" and lines and lines[0].startswith("nnspec "):
            synopsis += lines
        else:
            stray = [each for each in lines if re.match(r"nnspec\s|python3? -m (pip|nnspec)", each)]
            assert not stray, f"README line {line}: a block of commands neither run nor marked: {stray}"
    return commands, skipped, synopsis


def shown_matches(shown: list[str], printed: str) -> bool:
    """Whether ``printed`` is exactly the ``shown`` lines, a ``...`` line standing for any lines."""
    pattern = "".join(r"(?:.*\n)*?" if line == "..." else re.escape(line + "\n") for line in shown)
    return re.fullmatch(pattern, printed) is not None


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A copy of what the README's commands read, run from as the repository's root is."""
    place = tmp_path_factory.mktemp("readme")
    for name in COPIED:
        shutil.copytree(ROOT / name, place / name)
    return place


def run_shown(command: Shown, workspace: Path) -> subprocess.CompletedProcess[str]:
    for name, text in command.files.items():
        (workspace / name).write_text(text)
    argv = command.argv
    target = None
    if ">" in argv:  # a redirect: the output goes to the file named after it
        argv, target = argv[: argv.index(">")], argv[argv.index(">") + 1]
    expanded = [  # as a shell expands a pattern: to the files it matches, or left as it is when none does
        match
        for word in argv
        for match in ((sorted(glob.glob(word, root_dir=workspace)) if set("*?[") & set(word) else []) or [word])
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "nnspec", *expanded],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if target else subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    if target is not None:
        (workspace / target).write_text(done.stdout)
    return done


COMMANDS, SKIPPED_COMMANDS, SYNOPSIS = readme_commands()


def test_the_readme_shows_its_commands_where_this_test_finds_them():
    """The premise of the tests below: they find the README's commands (the demo, the broken spec,
    the digits, the regeneration of the generated files) and skip only what they say why."""
    shown = [" ".join(command.argv) for command in COMMANDS]
    assert "run specs/seed_activations.yaml" in shown
    assert "validate broken.yaml" in shown
    assert any(each.startswith("run specs/digits.yaml --dataset") for each in shown)
    assert "schema > schemas/nnspec.schema.json" in shown
    assert all(": " in each for each in SKIPPED_COMMANDS) and len(SKIPPED_COMMANDS) >= 3
    assert len(SYNOPSIS) > 10


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"line{c.line}")
def test_every_readme_command_prints_what_the_readme_shows_and_exits_as_it_says(command, workspace):
    done = run_shown(command, workspace)
    printed = done.stdout if ">" not in command.argv else done.stdout + done.stderr
    assert done.returncode == command.exit_code, f"README line {command.line}: exit {done.returncode}\n{printed}"
    if ">" in command.argv:  # regenerating a committed file must leave it as committed
        target = command.argv[command.argv.index(">") + 1]
        assert (workspace / target).read_text() == (ROOT / target).read_text(), f"README line {command.line}"
        assert done.stderr == ""
    elif command.output is not None:
        assert shown_matches(command.output, printed), (
            f"README line {command.line}: 'nnspec {' '.join(command.argv)}' printed\n{printed}"
        )


def test_shown_output_is_compared_whole_and_excerpts_only_where_marked():
    """The comparison itself: exact unless a '...' line stands for lines left out."""
    printed = "a\nb\nc\n"
    assert shown_matches(["a", "b", "c"], printed)
    assert not shown_matches(["a", "b"], printed)  # a README showing less than printed fails
    assert not shown_matches(["a", "b", "c", "d"], printed)
    assert shown_matches(["a", "...", "c"], printed) and shown_matches(["...", "c"], printed)
    assert shown_matches(["a", "b", "c", "..."], printed)  # '...' may stand for nothing
    assert not shown_matches(["...", "b"], printed)  # an excerpt still ends where it says


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices)


def test_the_readme_synopsis_names_only_commands_and_options_that_exist():
    commands = _subcommands()
    current = None
    for line in SYNOPSIS:
        usage = re.split(r"\s{2,}", line.strip())[0]  # the part before the description
        words = usage.split()
        if line.startswith("nnspec "):
            current = commands.get(words[1])
            assert current is not None, f"the README's synopsis names no command of nnspec: {line!r}"
        elif not usage.startswith("-"):
            continue  # a description's second line
        assert current is not None
        for option in (word.strip("[]()") for word in words if word.strip("[](").startswith("-")):
            assert option in current._option_string_actions, f"'{option}' is no option of {line!r}"


def test_the_readme_python_example_runs_as_shown(workspace, monkeypatch):
    """The README's Python block, run as it is written, from the repository's root (a copy)."""
    import warnings

    import nnspec

    (code,) = [body for info, body, _ in blocks() if info == "python"]
    monkeypatch.chdir(workspace)
    names: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)  # the demo's findings, as Python warnings
        exec(compile(code, str(ROOT / "README.md"), "exec"), names)  # noqa: S102 (the README's own example)
    assert isinstance(names["result"], nnspec.RunResult) and names["result"].samples == 1  # the spec's data: one sample
