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
from .suggest import Candidates, Suggester

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
        name or the message holds (nnspec.core.printable escapes what could act instead of showing)."""
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
    suggester: Suggester = field(default_factory=Suggester)  # one budget of suggestion work for the file

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
            path = self.source_map.written_path(path)
            line, column = self.source_map.locate(path, at_key=at_key)
        self.items.append(Diagnostic(message, self.file, line, column, severity, code, tuple(path), layer))

    def suggestion(self, word: str, candidates: Iterable[str] | Candidates, excluding: str | None = None) -> str:
        """'; did you mean 'X'?' or '', from this file's budget of suggestion work."""
        return self.suggester.did_you_mean(word, candidates, excluding)

    def closest_name(self, word: str, candidates: Iterable[str] | Candidates) -> str | None:
        """The candidate closest to ``word``, or None, from this file's budget of suggestion work."""
        return self.suggester.closest(word, candidates)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == ERROR]


def _order(d: Diagnostic) -> tuple[str, int, int]:
    return (d.file, d.line or 0, d.column or 0)


def show_value(value: Any) -> str:
    """A value as the user wrote it, near enough: YAML's null and true, text quoted."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
