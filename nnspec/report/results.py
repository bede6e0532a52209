"""Rendering a run for people (a text table) and for tools (JSON)."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from ..checks.measures import ANY, PINNED, parts
from ..checks.stats import TensorStats
from ..core.diagnostics import ERROR, INFO, WARNING, Diagnostic
from ..core.numbers import format_number, format_score, format_share
from ..core.printable import printable
from ..runtime.runner import RunResult
from ..spec.semantics import EVALUATION, TRAINING
from ..spec.summary import layer_costs

MAX_VALUES_SHOWN = 32  # the text report shows outputs up to this many values (the table covers the rest)
MAX_VALUES_IN_JSON = 100_000  # larger outputs belong in a file: --output
# The text report's first line says which computation ran (nnspec.spec.semantics).
HEADINGS = {EVALUATION: "as NNC evaluates", TRAINING: "training (--training)"}


def to_dict(result: RunResult) -> dict[str, Any]:
    """The run as plain data: the JSON report (schema: schemas/report.schema.json)."""
    spec = result.spec
    costs = layer_costs(spec)
    layers = []
    for name in spec.order:
        layer, stats = spec.layers[name], result.stats.get(name)
        if stats is None:
            continue
        line, column = spec.locate(name)
        layers.append(
            {
                "name": name,
                "type": layer.type.name,
                "inputs": layer.inputs,
                "shape": list(layer.inferred_shape),
                "line": line,
                "column": column,
                "output": stats.output.to_dict(),
                "input_stats": [s.to_dict() for s in _received(result, name)],
                "measures": {check: _plain(measure) for check, measure in stats.measures.items()},
                "cost": {**costs[name].as_dict(), "counted": costs[name].counted},
            }
        )
    return {
        "nnspec_report": 1,
        "spec": spec.file,
        "name": spec.name,
        "dtype": spec.dtype,
        "samples": result.samples,
        "semantics": result.semantics,
        "layers": layers,
        "outputs": {
            name: _json_values(value) for name, value in result.outputs.items() if value.size <= MAX_VALUES_IN_JSON
        },
        "outputs_omitted": {  # too large for a report, or not kept (RunResult.omitted): their shapes
            **{name: list(value.shape) for name, value in result.outputs.items() if value.size > MAX_VALUES_IN_JSON},
            **{name: list(shape) for name, shape in result.omitted.items()},
        },
        "scores": scores(result),
        "findings": [_finding_entry(finding.diagnostic(spec)) for finding in result.findings],
    }


def _finding_entry(found: Diagnostic) -> dict[str, Any]:
    """A finding in the JSON report: what the check found, and where its layer is written."""
    return {
        "check": found.code,
        "severity": found.severity,
        "layer": found.layer,
        "message": found.message,
        "line": found.line,
        "column": found.column,
    }


def scores(result: RunResult) -> dict[str, dict[str, Any]]:
    """Each loss layer's mean loss and each validation layer's error rate over the whole data.

    Kept for the report's callers: the result computes them (RunResult.scores).
    """
    return result.scores


def _received(result: RunResult, name: str) -> list[TensorStats]:
    """Statistics of what a layer received: its inputs' outputs (a source layer: its data)."""
    layer = result.spec.layers[name]
    if layer.type.is_source:
        return [result.stats[name].output]
    return [result.stats[source].output for source in layer.inputs]


def _plain(measure: dict[str, Any]) -> dict[str, int]:
    """A check's measure as counts: per-unit flags (any:NAME) become units_NAME, with units."""
    plain: dict[str, int] = {}
    for key, value in measure.items():
        kind, what = parts(key)
        if kind == ANY:
            plain["units"] = int(value.size)
            plain[f"units_{what}"] = int(np.count_nonzero(value))
        elif not kind:
            plain[key] = int(value)
    return plain


def _json_values(values: np.ndarray) -> list:
    """Nested lists of numbers; NaN and infinities, which JSON cannot hold, as "NaN", "Infinity", "-Infinity"."""
    if np.isfinite(values).all():
        return values.tolist()
    spelled = values.astype(object)
    spelled[np.isnan(values)] = "NaN"
    spelled[np.isposinf(values)] = "Infinity"
    spelled[np.isneginf(values)] = "-Infinity"
    return spelled.tolist()


def to_text(result: RunResult, width: int = 80, tables: bool = True) -> str:
    """One row a layer, the output values, then the scores and the findings grouped by severity.

    ``tables=False`` (--quiet) leaves out the heading, the layer table and the output values."""
    spec = result.spec
    header = ["layer", "type", "shape", "input", "output", "mean", "std", "sat", "zero", "nan/inf"]
    rows = [header]
    for name in spec.order:
        if name not in result.stats:
            continue
        out = result.stats[name].output
        received = _received(result, name)
        pinned = next((m[PINNED] for m in result.stats[name].measures.values() if PINNED in m), None)
        rows.append(
            [
                printable(name),
                printable(spec.layers[name].type.name),
                "x".join(map(str, spec.layers[name].inferred_shape)),  # 1x28x28: narrower than (1, 28, 28)
                _span(_combined(received)),
                _span(out),
                format_number(out.mean, 3) if out.finite else "-",
                format_number(out.std, 3) if out.finite else "-",
                format_share(pinned, out.count) if pinned is not None else "-",
                format_share(out.zeros, out.count),
                str(out.count - out.finite),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {"mean", "std", "sat", "zero", "nan/inf"}
    lines = [
        f"{printable(spec.name or spec.file)}: {len(spec.layers)} layers, {result.samples} "
        f"sample{'s' if result.samples != 1 else ''}, {spec.dtype}, {HEADINGS[result.semantics]}",
        "",
    ]
    lines += [
        " ".join(
            cell.rjust(w) if header[i] in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    ]
    shown = {printable(name): value for name, value in result.outputs.items() if value.size <= MAX_VALUES_SHOWN}
    if not tables:
        lines, shown = [], {}
    if shown:
        lines += ["", "outputs"]
        name_width = max(map(len, shown))
        for name, value in shown.items():
            lines.append(f"  {name.ljust(name_width)}  {format_values(value[0] if len(value) == 1 else value)}")
    found_scores = scores(result)
    if found_scores:
        lines += ["", "over all samples"]
        name_width = max(len(printable(name)) for name in found_scores)
        for name, score in found_scores.items():
            amount = format_score(score["kind"], score["value"])
            kind = f"{score['kind']} {amount} ({printable(spec.layers[name].type.name)})"
            lines.append(f"  {printable(name).ljust(name_width)}  {kind}")
    for severity in (ERROR, WARNING, INFO):
        found = [f for f in result.findings if f.severity == severity]
        if found:
            lines += ["", f"{severity}s" if severity != INFO else "info"]
            for finding in found:
                located = finding.diagnostic(spec)
                text = f"line {located.line}: {printable(located.message)} [{printable(located.code)}]"
                lines += textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="    ")
    counts = [(len(result.errors), "error"), (len(result.warnings), "warning")]
    lines += ["", ", ".join(f"{n} {word}{'s' * (n != 1)}" for n, word in counts)]
    return "\n".join(lines).lstrip("\n") + "\n"


def _span(s: TensorStats) -> str:
    return f"{format_number(s.min, 3)}..{format_number(s.max, 3)}" if s.finite else "-"


def _combined(parts: list[TensorStats]) -> TensorStats:
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.merge(part)
    return combined


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
