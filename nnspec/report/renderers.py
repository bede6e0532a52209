"""Output formats by name: what ``--format NAME`` prints, and where, for each thing a command reports.

One table (check-jsonschema's reporter table is the model): each format renders the results of
``nnspec validate``, the result of ``nnspec run``, and the diagnostics of a spec that is invalid
before it could run. The CLI reads its ``--format`` choices and their help from this table and
looks the format up once, so a new format is one renderer here (or in a module of its own) plus
its ``register`` call: nothing in cli.py changes.

The renderers stay thin: the text comes from the pure functions of nnspec.report.results (text, JSON
report) and nnspec.report.formats (GitHub workflow commands, SARIF); here is only which of them a format
uses and on which stream it goes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ..core.diagnostics import ERROR, Diagnostic
from ..core.printable import json_text, unguarded


class Streams:
    """Where a renderer writes: stdout and stderr, through the CLI's output guard, and ``raw_out``
    for text built from escaped parts that must reach stdout as it is (GitHub's workflow commands,
    whose leading '::' the guard would break). Read when written to, not when made: the CLI
    puts its guard on sys.stdout and sys.stderr while it runs."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out, self._err = out, err

    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err if self._err is not None else sys.stderr

    def raw_out(self) -> TextIO:
        """stdout past the guard (what the guard holds is written first)."""
        return unguarded(self.out)


@dataclass(frozen=True)
class FileResult:
    """One file ``nnspec validate`` checked: its diagnostics, and whether none is an error."""

    file: str
    diagnostics: list[Diagnostic]

    @property
    def valid(self) -> bool:
        return not any(d.severity == ERROR for d in self.diagnostics)

    def to_dict(self) -> dict[str, Any]:
        """The file's entry in ``validate --format json`` (schema: schemas/validate.schema.json)."""
        return {"file": self.file, "valid": self.valid, "diagnostics": [d.to_dict() for d in self.diagnostics]}


@dataclass(frozen=True)
class OutputFormat:
    """One ``--format``: a renderer for each thing a command reports.

    ``validate(results, streams)``, ``run(result, tables, streams)`` (``tables``: False under
    --quiet) and ``invalid(diagnostics, streams)`` write what the format prints. ``values_kept(quiet)``
    is how many values an output may hold and still be kept for the report (a run keeps no more:
    memory stays bounded by the batch). ``validate_help`` and ``run_help`` say, for --format's
    help, what the format prints and where ('' when its name says it)."""

    name: str
    validate: Callable[[Sequence[FileResult], Streams], None]
    run: Callable[[Any, bool, Streams], None]
    invalid: Callable[[Sequence[Diagnostic], Streams], None]
    values_kept: Callable[[bool], int]
    validate_help: str
    run_help: str
    validate_on_stdout: bool = True  # validate --print-resolved prints YAML on stdout: not with this format


_FORMATS: dict[str, OutputFormat] = {}
DEFAULT_FORMAT = "text"


def register(output_format: OutputFormat) -> OutputFormat:
    """Add a format; a name taken already is a ValueError, not a silent replacement."""
    if output_format.name in _FORMATS:
        raise ValueError(f"output format {output_format.name!r} is registered already")
    _FORMATS[output_format.name] = output_format
    return output_format


def unregister(name: str) -> None:
    """Remove a format (for a test that registered one)."""
    del _FORMATS[name]


def output_format(name: str) -> OutputFormat:
    return _FORMATS[name]


def output_formats() -> tuple[OutputFormat, ...]:
    """The formats in the order they were registered (the default first)."""
    return tuple(_FORMATS.values())


def format_names() -> tuple[str, ...]:
    return tuple(_FORMATS)


# --- the formats -------------------------------------------------------------------------


def _print_diagnostics(diagnostics: Sequence[Diagnostic], streams: Streams) -> None:
    """The compiler-style lines, on stderr (FILE:LINE:COL: severity: message [code])."""
    for diagnostic in diagnostics:
        print(diagnostic.format(), file=streams.err)


def _all_diagnostics(results: Sequence[FileResult]) -> list[Diagnostic]:
    return [d for result in results for d in result.diagnostics]


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)
    stream.flush()


def wants_colour(stream: TextIO) -> bool:
    """Colours only for a person at a terminal: never in a pipe, a file or a CI log, nor when the
    NO_COLOR convention (no-color.org: set and not empty) asks for none."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # a closed or unusual stream
        return False


def _text_run(result: Any, tables: bool, streams: Streams) -> None:
    from .results import to_coloured_text, to_text

    if wants_colour(streams.out):  # escaped line by line by to_coloured_text: past the guard, which would escape ESC
        _write(streams.raw_out(), to_coloured_text(result, tables=tables))
    else:
        _write(streams.out, to_text(result, tables=tables))
    _print_diagnostics(result.notes, streams)


def _text_values_kept(quiet: bool) -> int:
    from .results import MAX_VALUES_SHOWN

    return 0 if quiet else MAX_VALUES_SHOWN


def _json_validate(results: Sequence[FileResult], streams: Streams) -> None:
    print(json_text({"files": [result.to_dict() for result in results]}, indent=2), file=streams.out)


def _json_run(result: Any, tables: bool, streams: Streams) -> None:
    from .results import to_dict

    print(json_text(to_dict(result), indent=2, allow_nan=False), file=streams.out)  # strict JSON, for any reader


def _json_values_kept(quiet: bool) -> int:
    from .results import MAX_VALUES_IN_JSON

    return MAX_VALUES_IN_JSON


def _github(diagnostics: Sequence[Diagnostic], streams: Streams) -> None:
    """Past the output guard: every part of a command taken from a spec or a file is escaped
    where it is built (nnspec.report.formats.github_line)."""
    from .formats import github

    _write(streams.raw_out(), github(diagnostics))


def _sarif(diagnostics: Sequence[Diagnostic], streams: Streams) -> None:
    from .. import __version__
    from .formats import sarif

    _write(streams.out, sarif(diagnostics, __version__))


def _for_ci(render: Callable[[Sequence[Diagnostic], Streams], None], name: str, what: str) -> OutputFormat:
    """A format for a CI tool: the diagnostics alone on stdout, a run's findings located at their
    layers (no report, no output values)."""

    def run(result: Any, tables: bool, streams: Streams) -> None:
        from .formats import run_diagnostics

        render(run_diagnostics(result), streams)

    return OutputFormat(
        name=name,
        validate=lambda results, streams: render(_all_diagnostics(results), streams),
        run=run,
        invalid=render,
        values_kept=lambda quiet: 0,
        validate_help=f"{what}, on stdout",
        run_help="the findings only, located at their layers",
    )


register(
    OutputFormat(
        name="text",
        validate=lambda results, streams: _print_diagnostics(_all_diagnostics(results), streams),
        run=_text_run,
        invalid=_print_diagnostics,
        values_kept=_text_values_kept,
        validate_help="on stderr",
        run_help="",
        validate_on_stdout=False,
    )
)
register(
    OutputFormat(
        name="json",
        validate=_json_validate,
        run=_json_run,
        invalid=_print_diagnostics,  # an invalid spec has no report: its diagnostics as text, on stderr
        values_kept=_json_values_kept,
        validate_help="on stdout",
        run_help="",
    )
)
register(_for_ci(_github, "github", "workflow commands"))
register(_for_ci(_sarif, "sarif", "SARIF 2.1.0"))


def format_help(command: str) -> str:
    """--format's help for ``command`` ('validate' or 'run'), from the table: each format's name,
    and in brackets what it prints and where, if its name does not say."""
    said = {form.name: form.validate_help if command == "validate" else form.run_help for form in output_formats()}
    listed = ", ".join(f"{name} ({text})" if text else name for name, text in said.items())
    return f"{'output' if command == 'validate' else 'report'} format (default: {DEFAULT_FORMAT}): {listed}"


# --- the reference: nnspec layers and nnspec checks --------------------------------------


@dataclass(frozen=True)
class ReferenceFormat:
    """One ``--format`` of the reference commands: ``layers()`` every layer type, ``layer(name)`` one
    layer type's entry (``nnspec layers TYPE``), ``checks()`` the range checks (None: ``nnspec checks``
    has no such format). Each returns the text for stdout, ending in a newline."""

    name: str
    layers: Callable[[], str]
    layer: Callable[[str], str]
    checks: Callable[[], str] | None = None


def _layers_text() -> str:
    from .reference import summary

    return summary()


def _layers_markdown() -> str:
    from .reference import markdown

    return markdown()


def _layers_json() -> str:
    from .reference import as_json

    return json_text(as_json(), indent=2, allow_nan=False) + "\n"


def _layer_text(name: str) -> str:  # one entry reads the same in markdown
    from ..layers.catalog import layer_types
    from .reference import entry

    return entry(layer_types()[name])


def _layer_json(name: str) -> str:
    from .reference import as_json

    return json_text(next(e for e in as_json() if e["type"] == name), indent=2, allow_nan=False) + "\n"


def _checks_text() -> str:
    from .reference import checks_text

    return checks_text()


def _checks_markdown() -> str:
    from .reference import checks_markdown

    return checks_markdown()


REFERENCE_FORMATS = {
    form.name: form
    for form in (
        ReferenceFormat("text", _layers_text, _layer_text, _checks_text),
        ReferenceFormat("markdown", _layers_markdown, _layer_text, _checks_markdown),
        ReferenceFormat("json", _layers_json, _layer_json),
    )
}


def reference_formats(command: str) -> tuple[str, ...]:
    """The --format choices of ``command`` ('layers' or 'checks')."""
    return tuple(name for name, form in REFERENCE_FORMATS.items() if command == "layers" or form.checks is not None)
