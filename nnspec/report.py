"""Rendering a run for people (a text table) and for tools (JSON)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .catalog import format_shape
from .runner import RunResult, execution_order

MAX_VALUES_SHOWN = 100  # the text report shows outputs up to this many values
MAX_VALUES_IN_JSON = 100_000  # larger outputs belong in a file: --output


def to_dict(result: RunResult) -> dict[str, Any]:
    """The run as plain data: the JSON report."""
    spec = result.spec
    layers = []
    for name in execution_order(spec):
        layer, stats = spec.layers[name], result.stats.get(name)
        if stats is None:
            continue
        line, column = spec.locate(name)
        layers.append(
            {
                "name": name,
                "type": layer.type.name,
                "inputs": layer.inputs,
                "shape": list(layer.shape),
                "line": line,
                "column": column,
                "output": stats.output.to_dict(),
                "input_stats": [s.to_dict() for s in stats.inputs],
            }
        )
    return {
        "nnspec_report": 1,
        "spec": spec.file,
        "name": spec.name,
        "dtype": spec.dtype,
        "samples": result.samples,
        "layers": layers,
        "outputs": {
            name: _json_values(value) for name, value in result.outputs.items() if value.size <= MAX_VALUES_IN_JSON
        },
        "outputs_omitted": {  # too large for a report: their shapes; --output saves them
            name: list(value.shape) for name, value in result.outputs.items() if value.size > MAX_VALUES_IN_JSON
        },
        "findings": [{**f.to_dict(), **dict(zip(("line", "column"), spec.locate(f.layer)))} for f in result.findings],
    }


def _json_values(values: np.ndarray) -> list:
    """Nested lists of numbers; NaN and infinities, which JSON cannot hold, as "NaN", "Infinity", "-Infinity"."""
    if np.isfinite(values).all():
        return values.tolist()
    spelled = values.astype(object)
    spelled[np.isnan(values)] = "NaN"
    spelled[np.isposinf(values)] = "Infinity"
    spelled[np.isneginf(values)] = "-Infinity"
    return spelled.tolist()


def to_text(result: RunResult) -> str:
    """One row a layer (statistics of its output, the checks that fired), then the output values."""
    spec = result.spec
    flagged: dict[str, list[str]] = {}
    for finding in result.findings:
        flagged.setdefault(finding.layer, []).append(finding.check)
    header = ["layer", "type", "shape", "min", "max", "mean", "std", "nan", "inf", "findings"]
    rows = [header]
    for name in execution_order(spec):
        if name not in result.stats:
            continue
        s = result.stats[name].output
        rows.append(
            [
                name,
                spec.layers[name].type.name,
                format_shape(spec.layers[name].shape),
                *(_num(v) if s.finite else "-" for v in (s.min, s.max, s.mean, s.std)),
                str(s.nan),
                str(s.posinf + s.neginf),
                ", ".join(flagged.get(name, [])),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"{spec.name or spec.file}: {len(spec.layers)} layers, {result.samples} "
        f"sample{'s' if result.samples != 1 else ''}, {spec.dtype}",
        "",
    ]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    shown = {name: value for name, value in result.outputs.items() if value.size <= MAX_VALUES_SHOWN}
    if shown:
        lines += ["", "outputs"]
        width = max(map(len, shown))
        for name, value in shown.items():
            lines.append(f"  {name.ljust(width)}  {format_values(value[0] if len(value) == 1 else value)}")
    errors, warnings = len(result.errors), len(result.warnings)
    lines += ["", f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"]
    return "\n".join(lines) + "\n"


def format_values(values: np.ndarray) -> str:
    """Values as their shortest exact decimal form in their own dtype (float32 1.0 -> 1)."""
    return np.array2string(
        np.asarray(values),
        separator=", ",
        max_line_width=100,
        threshold=MAX_VALUES_SHOWN,
        formatter={"float_kind": _shortest},
    )


def _shortest(value: np.floating) -> str:
    if value != 0 and np.isfinite(value) and not 1e-4 <= abs(value) < 1e7:
        return np.format_float_scientific(value, unique=True, trim="-")
    return np.format_float_positional(value, unique=True, trim="-")


def _num(x: float) -> str:
    return f"{x:.4g}"
