"""Diagnostics for CI tools: GitHub Actions workflow commands and SARIF 2.1.0.

Pure functions from a list of located Diagnostics to text (``nnspec validate`` and
``nnspec run`` print it on stdout with ``--format github`` or ``--format sarif``):

- ``github``: one workflow command a diagnostic,
  ``::error file=F,line=L,col=C,title=nnspec CODE::MESSAGE`` (``::warning`` for a
  warning, ``::notice`` for info), which GitHub Actions shows as an annotation on the
  line of the pull request; nothing for no diagnostics.
- ``sarif``: one SARIF 2.1.0 log with one run, for code-scanning dashboards
  (``github/codeql-action/upload-sarif``); a run with no results for no diagnostics.

File paths are made relative to the current directory (the repository root, in CI)
with forward slashes; a file outside it keeps its absolute path (a ``file:`` URI in SARIF).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..core.codes import summaries
from ..core.diagnostics import ERROR, INFO, WARNING, Diagnostic
from ..core.printable import json_text, printable

if TYPE_CHECKING:
    pass

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
GITHUB_COMMANDS = {ERROR: "error", WARNING: "warning", INFO: "notice"}
SARIF_LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}
SRCROOT = "%SRCROOT%"

# --- GitHub Actions workflow commands ------------------------------------------------------


def github(diagnostics: Iterable[Diagnostic], cwd: str | os.PathLike[str] | None = None) -> str:
    """One workflow command a diagnostic, each ending in a newline ('' for none)."""
    return "".join(github_line(d, cwd) + "\n" for d in diagnostics)


def github_line(diagnostic: Diagnostic, cwd: str | os.PathLike[str] | None = None) -> str:
    """One workflow command. Its every part from a spec or a file is ``printable`` (no control or
    bidi character, no '::' or '##[') and then escaped as GitHub's toolkit escapes it, so it can
    neither end the command early nor start another: the CLI writes these lines past its output guard."""
    properties = {"file": printable(relative_path(diagnostic.file, cwd))}
    if diagnostic.line is not None:
        properties["line"] = str(diagnostic.line)
        properties["col"] = str(diagnostic.column or 1)
    properties["title"] = f"nnspec {printable(diagnostic.code)}"
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    command = GITHUB_COMMANDS.get(diagnostic.severity, "error")
    return f"::{command} {joined}::{escape_data(printable(diagnostic.message))}"


def escape_data(text: str) -> str:
    """A command's message, escaped as GitHub's toolkit escapes it (% first)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value: the message escapes, and ':' and ',' that would end it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


# --- SARIF 2.1.0 -------------------------------------------------------------------------


def sarif(
    diagnostics: Iterable[Diagnostic],
    version: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> str:
    """A SARIF 2.1.0 log as JSON text, ending in a newline: ASCII, with no '##[' (``json_text``)."""
    return json_text(sarif_log(diagnostics, version, cwd, descriptions), indent=2) + "\n"


def sarif_log(
    diagnostics: Iterable[Diagnostic],
    version: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The SARIF log as data: one run, its rules the codes used, in order of first use."""
    if version is None:
        from .. import __version__ as version
    base = Path(cwd) if cwd is not None else Path.cwd()
    diagnostics = list(diagnostics)
    used = list(dict.fromkeys(d.code for d in diagnostics))
    index = {code: i for i, code in enumerate(used)}
    described = rule_descriptions() if descriptions is None else descriptions
    results = [_result(d, index[d.code], base) for d in diagnostics]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nnspec",
                        "version": version,
                        "rules": [
                            {"id": code, "shortDescription": {"text": described.get(code) or code.replace("-", " ")}}
                            for code in used
                        ],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": base.resolve().as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",  # YAML's columns count characters
                "results": results,
            }
        ],
    }


def _result(diagnostic: Diagnostic, rule_index: int, base: Path) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": artifact_uri(diagnostic.file, base)}
    if not artifact["uri"].startswith("file:"):
        artifact["uriBaseId"] = SRCROOT
    # GitHub's code scanning needs region.startLine: a diagnostic of the whole file points at line 1
    region = {"startLine": diagnostic.line or 1, "startColumn": diagnostic.column or 1}
    result: dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": SARIF_LEVELS.get(diagnostic.severity, "error"),
        "message": {"text": printable(diagnostic.message)},  # read by people, as a github annotation is
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": region}}],
    }
    if diagnostic.layer is not None:
        result["properties"] = {"layer": diagnostic.layer}
    return result


def rule_descriptions() -> dict[str, str]:
    """Short descriptions of every code: nnspec.core.codes' table, and the range checks' own. A code in
    neither (a Diagnostic a caller made) is described by its id."""
    from ..checks.table import all_checks

    checks = {check.id: f"range check: {check.looks_at}" for check in all_checks().values()}
    return {**summaries(), **checks}


# --- paths -------------------------------------------------------------------------------


def relative_path(file: str, cwd: str | os.PathLike[str] | None = None) -> str:
    """The file relative to cwd with forward slashes; a file outside cwd as given (forward slashes)."""
    path = PurePath(file)
    if file.startswith("<"):  # "<spec>": text, not a file
        return file
    base = Path(cwd) if cwd is not None else Path.cwd()
    absolute = Path(os.path.abspath(base / path))
    try:
        return absolute.relative_to(os.path.abspath(base)).as_posix()
    except ValueError:
        return path.as_posix() if path.is_absolute() else absolute.as_posix()


def artifact_uri(file: str, cwd: str | os.PathLike[str] | None = None) -> str:
    """A SARIF artifact URI: relative (percent-encoded) inside cwd, else an absolute file: URI."""
    relative = relative_path(file, cwd)
    if PurePath(relative).is_absolute():
        return Path(relative).as_uri()
    return quote(relative, safe="/")


def run_diagnostics(result: Any) -> list[Diagnostic]:
    """A run's findings as Diagnostics located at their layers, then the run's notes."""
    return [*(finding.diagnostic(result.spec) for finding in result.findings), *result.notes]
