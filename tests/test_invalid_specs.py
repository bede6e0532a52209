"""Invalid specs kept as fixtures, each with the diagnostics `nnspec validate` must give.

Every tests/fixtures/invalid/NAME.yaml starts with one or more lines

    # expect: LINE:COL: CODE: MESSAGE SUBSTRING

(see the README beside the fixtures). The CLI runs in-process; a fixture passes when
the exit code is 1, no traceback is printed, the (LINE, COL, CODE) reported are
exactly the ones expected (so an extra, noisy diagnostic fails too) and each message
at an expected location contains its substring.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from nnspec.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "invalid"
EXPECT = re.compile(r"# expect: (?P<line>\d+):(?P<column>\d+): (?P<code>[a-z][a-z0-9-]*): (?P<text>\S.*)")
REPORTED = re.compile(
    r"(?P<line>\d+):(?P<column>\d+): (?P<severity>[a-z]+): (?P<message>.*) \[(?P<code>[a-z][a-z0-9-]*)\]"
)


@dataclass(frozen=True)
class Expected:
    line: int
    column: int
    code: str
    text: str


@dataclass(frozen=True)
class Reported:
    line: int
    column: int
    severity: str
    code: str
    message: str


def expectations(path: Path) -> list[Expected]:
    """The '# expect:' lines at the top of a fixture (read as bytes: some fixtures are not UTF-8)."""
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    expected = []
    for line in header:
        match = EXPECT.fullmatch(line)
        assert match, f"{path.name}: a top comment must be '# expect: LINE:COL: CODE: TEXT'; got {line!r}"
        expected.append(Expected(int(match["line"]), int(match["column"]), match["code"], match["text"]))
    assert expected, f"{path.name}: no '# expect:' line at the top"
    later = [n for n, line in enumerate(lines[len(header) :], start=len(header) + 1) if "# expect:" in line]
    assert not later, f"{path.name}: '# expect:' below the top (line {later[0]}); put every expectation first"
    return expected


def parse_output(text: str, files: list[str]) -> dict[str, list[Reported]]:
    """Diagnostics per file from `FILE:LINE:COL: SEVERITY: MESSAGE [CODE]` lines; any other line fails."""
    reported: dict[str, list[Reported]] = {file: [] for file in files}
    for line in text.splitlines():
        file = next((f for f in sorted(files, key=len, reverse=True) if line.startswith(f + ":")), None)
        assert file is not None, f"a line that is not FILE:LINE:COL: error: MESSAGE [CODE]: {line!r}"
        match = REPORTED.fullmatch(line[len(file) + 1 :])
        assert match, f"a line that is not FILE:LINE:COL: error: MESSAGE [CODE]: {line!r}"
        reported[file].append(
            Reported(int(match["line"]), int(match["column"]), match["severity"], match["code"], match["message"])
        )
    return reported


def check(name: str, expected: list[Expected], reported: list[Reported], output: str) -> None:
    want = {(e.line, e.column, e.code) for e in expected}
    got = {(r.line, r.column, r.code) for r in reported}
    assert got == want, (
        f"{name}: locations and codes differ\n  missing: {sorted(want - got)}\n  unexpected: {sorted(got - want)}\n"
        f"output:\n{output}"
    )
    assert all(r.severity == "error" for r in reported), f"{name}: only errors expected\n{output}"
    for e in expected:
        messages = [r.message for r in reported if (r.line, r.column, r.code) == (e.line, e.column, e.code)]
        assert any(e.text in m for m in messages), (
            f"{name}:{e.line}:{e.column} [{e.code}]: no message contains {e.text!r}; got {messages}"
        )


def fixture_paths() -> list[Path]:
    return sorted(FIXTURES.glob("*.yaml"))


def test_the_fixtures_are_there():
    assert len(fixture_paths()) >= 40


@pytest.mark.parametrize("path", fixture_paths(), ids=lambda path: path.stem)
def test_invalid_spec(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = expectations(path)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1, f"exit code {code}, expected 1\nstdout:\n{out}\nstderr:\n{err}"
    assert out == "", f"diagnostics go to stderr, not stdout; stdout:\n{out}"
    reported = parse_output(err, [str(path)])[str(path)]
    check(path.stem, expected, reported, err)


def test_many_files_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    """Every fixture in one call: exit 1, and each file's diagnostics, none lost or mixed up."""
    paths = fixture_paths()
    files = [str(path) for path in paths]
    code = main(["validate", *files])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1, f"exit code {code}, expected 1\nstderr:\n{err}"
    reported = parse_output(err, files)
    for path in paths:
        own_lines = "\n".join(line for line in err.splitlines() if line.startswith(f"{path}:"))
        check(path.stem, expectations(path), reported[str(path)], own_lines)


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    """--format json: files[] in the order given, each with diagnostics[] of line/column/code/message."""
    paths = [FIXTURES / "several_errors.yaml", FIXTURES / "not_utf8.yaml"]
    code = main(["validate", "--format", "json", *map(str, paths)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1
    document = json.loads(out)
    assert [entry["file"] for entry in document["files"]] == [str(path) for path in paths]
    for path, entry in zip(paths, document["files"]):
        assert entry["valid"] is False
        diagnostics = entry["diagnostics"]
        assert diagnostics, f"{path.name}: no diagnostics in the JSON"
        for item in diagnostics:
            assert isinstance(item["line"], int) and isinstance(item["column"], int)
            assert isinstance(item["code"], str) and isinstance(item["message"], str)
            assert item["severity"] == "error"
            assert item["file"] == str(path)
        reported = [Reported(d["line"], d["column"], d["severity"], d["code"], d["message"]) for d in diagnostics]
        check(path.stem, expectations(path), reported, out)


@pytest.mark.parametrize(
    "content, expected",
    [
        pytest.param(b"", Expected(1, 1, "empty", "the file is empty"), id="zero_bytes"),
        pytest.param(b"\n\n   \n", Expected(1, 1, "empty", "the file is empty"), id="blank_lines"),
        pytest.param(b"\xef\xbb\xbf", Expected(1, 1, "empty", "the file is empty"), id="bom_only"),
        pytest.param(
            "nnspec: 1\n".encode("utf-16"), Expected(1, 1, "encoding", "not UTF-8 text (byte 0xff)"), id="utf16"
        ),
    ],
)
def test_files_that_cannot_carry_a_header(
    content: bytes, expected: Expected, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files that the '# expect:' header would change (empty, or not UTF-8 from the first byte)."""
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1, f"exit code {code}\nstderr:\n{err}"
    check(path.name, [expected], parse_output(err, [str(path)])[str(path)], err)
