"""The colours every picture shares: a layer is coloured by its worst finding."""

from __future__ import annotations

from collections.abc import Iterable

from ...checks.check import Finding
from ...core.diagnostics import ERROR, INFO, WARNING

SEVERITIES = (ERROR, WARNING, INFO)  # worst first
CLEAN = "clean"  # a layer without findings

# (fill, edge): light fills keep black text readable; the edges carry the colour in print.
COLOURS: dict[str, tuple[str, str]] = {
    ERROR: ("#f9d6d5", "#c0392b"),
    WARNING: ("#fde7c4", "#d35400"),
    INFO: ("#d6eaf8", "#2471a3"),
    CLEAN: ("#ffffff", "#707b7c"),
}
LABELS = {ERROR: "error", WARNING: "warning", INFO: "info", CLEAN: "no finding"}

# Shading of the input ranges where a layer loses information (see ranges.py).
REGION_COLOURS = {"soft": "#f5cba7", "hard": "#e59866", "zero": "#c8d6e5", "overflow": "#f1948a"}
BAR_COLOUR = "#5d6d7e"
CURVE_COLOUR = "#1a5276"


def worst(findings: Iterable[Finding]) -> str:
    """The worst severity among ``findings``, or CLEAN."""
    present = {f.severity for f in findings}
    return next((s for s in SEVERITIES if s in present), CLEAN)
