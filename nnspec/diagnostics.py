"""Errors as data: every problem nnspec finds is a Diagnostic with a location.

Validation collects diagnostics instead of stopping at the first one, so a user
sees every problem in a spec at once, each as ``FILE:LINE:COL: severity: message``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .printable import printable
from .suggest import closest, did_you_mean

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One problem, located in a file (line and column are 1-based)."""

    message: str
    file: str = "<spec>"
    line: int | None = None
    column: int | None = None
    severity: str = ERROR
    code: str = "invalid"
    path: tuple[Any, ...] = ()
    layer: str | None = None

    def format(self) -> str:
        """The compiler-style line editors and CI logs understand: one line, whatever the file's
        name or the message holds (nnspec.printable escapes what could act instead of showing)."""
        where = printable(self.file)
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.severity}: {printable(self.message)} [{printable(self.code)}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "path": list(self.path),
            "layer": self.layer,
        }


class NnspecError(Exception):
    """Base of every error nnspec raises on purpose; the CLI prints these without a traceback."""

    exit_code = 2


class SpecError(NnspecError):
    """A spec (or data for it) is invalid; carries every diagnostic found."""

    exit_code = 1

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=_order)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class UsageError(NnspecError):
    """A command-line argument or a file named on it cannot be used (exit code 2)."""


@dataclass
class DiagnosticList:
    """Collects diagnostics for one file, attaching the file name and location."""

    file: str
    source_map: Any = None
    items: list[Diagnostic] = field(default_factory=list)

    def add(
        self,
        message: str,
        path: tuple[Any, ...] = (),
        *,
        code: str,
        at_key: bool = False,
        severity: str = ERROR,
        layer: str | None = None,
    ) -> None:
        line = column = None
        if self.source_map is not None:
            line, column = self.source_map.locate(path, at_key=at_key)
        self.items.append(Diagnostic(message, self.file, line, column, severity, code, tuple(path), layer))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == ERROR]


def _order(d: Diagnostic) -> tuple:
    return (d.file, d.line or 0, d.column or 0)


# Names longer than this get no "did you mean": a misspelling is short, and suggest's comparisons
# grow with the square of a word's length (a 100,000-character type name took minutes and gigabytes).
SUGGEST_UP_TO = 100


def suggestion(word: str, candidates: Iterable[str]) -> str:
    """``did_you_mean`` for a word a person could have misspelt; '' for a longer one."""
    return did_you_mean(word, candidates) if len(word) <= SUGGEST_UP_TO else ""


def closest_name(word: str, candidates: Iterable[str]) -> str | None:
    """``closest`` for a word a person could have misspelt; None for a longer one."""
    return closest(word, candidates) if len(word) <= SUGGEST_UP_TO else None


def show_value(value: Any) -> str:
    """A value as the user wrote it, near enough: YAML's null and true, text quoted."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
