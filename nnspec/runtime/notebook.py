"""A run's result in a notebook: RunResult._repr_html_, a compact table and the findings.

The HTML report (nnspec.report.pictures.html) is a later stage than the runtime, which may not
import it (tests/test_import_order.py), and draws plots with matplotlib; this is the small page
Jupyter shows under a cell, built from the same plain records as ``RunResult.to_records``.
Every name and message comes from a spec, so is untrusted: each is made printable and escaped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ..checks.check import Finding
from ..core.numbers import format_number, format_score, format_share
from ..core.printable import printable_lines

if TYPE_CHECKING:
    from .runner import RunResult

COLUMNS = ("layer", "type", "shape", "min", "max", "mean", "std", "zeros", "non-finite", "findings")
MAX_FINDINGS_SHOWN = 50  # a notebook cell is not the place for thousands: the report has them all


def _text(value: object) -> str:
    return html.escape(printable_lines(str(value)), quote=True)


def _number(value: float | None) -> str:
    return "-" if value is None else format_number(value)


def result_html(result: RunResult) -> str:
    """The result as an HTML fragment: a heading line, the scores, a table of layers, the findings."""
    heading = f"{result.spec.name or result.spec.file}: {result.samples} samples, {result.view} view"
    if result.interrupted:
        heading += f" (interrupted after {result.samples} of {result.total})"
    parts = [f"<p><strong>{_text(heading)}</strong></p>"]
    scores = result.scores
    if scores:
        items = (
            f"{name}: {score['kind']} {format_score(score['kind'], score['value'])}" for name, score in scores.items()
        )
        parts.append("<p>" + "; ".join(_text(item) for item in items) + "</p>")
    rows = []
    for record in result.to_records():
        count = record["count"]
        cells = [
            record["layer"],
            record["type"],
            record["shape"],
            _number(record["min"]),
            _number(record["max"]),
            _number(record["mean"]),
            _number(record["std"]),
            format_share(record["zeros"], count),
            record["nan"] + record["posinf"] + record["neginf"],
            ", ".join(dict.fromkeys(record["findings"])) or "-",
        ]
        rows.append("<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in cells) + "</tr>")
    head = "".join(f"<th>{_text(column)}</th>" for column in COLUMNS)
    parts.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")
    parts.append(_findings(result.findings))
    return "\n".join(parts) + "\n"


def _findings(findings: list[Finding]) -> str:
    if not findings:
        return "<p>No findings.</p>"
    items = []
    for finding in findings[:MAX_FINDINGS_SHOWN]:
        where = f" (line {finding.line})" if finding.line is not None else ""
        items.append(
            f"<li><strong>{_text(finding.severity)}</strong> {_text(finding.layer)}{_text(where)}: "
            f"{_text(finding.message)} <code>[{_text(finding.check)}]</code></li>"
        )
    more = len(findings) - MAX_FINDINGS_SHOWN
    if more > 0:
        items.append(f"<li>... and {more} more (result.findings)</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"
