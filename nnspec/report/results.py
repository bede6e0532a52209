"""Rendering a run for people (a text table) and for tools (JSON)."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from ..checks.measures import ANY, PINNED, parts
from ..checks.stats import TensorStats
from ..core.diagnostics import ERROR, INFO, WARNING, Diagnostic
from ..core.numbers import format_number, format_score, format_share
from ..core.printable import log_safe_line, printable, quoted_name
from ..runtime.runner import RunResult
from ..spec.summary import cost_totals, layer_costs
from ..spec.views import RUNTIME, TRAINING, VALIDATION

MAX_VALUES_SHOWN = 32  # the text report shows outputs up to this many values (the table covers the rest)
MAX_VALUES_IN_JSON = 100_000  # larger outputs belong in a file: --output
NUMPY_LAYERS_NAMED = 4  # layers the text report names for each reason they ran on numpy (JSON: every one)
# The text report's first line says which view of the network ran (nnspec.spec.views).
HEADINGS = {
    VALIDATION: "validation view, as NNC evaluates",
    RUNTIME: "runtime view: as NNC evaluates, without the loss and validation layers",
    TRAINING: "training view (--training)",
}


def to_dict(result: RunResult) -> dict[str, Any]:
    """The run as plain data: the JSON report (schema: schemas/report.schema.json)."""
    spec = result.spec
    costs = layer_costs(spec)
    itemsize = np.dtype(spec.dtype).itemsize
    batch = result.memory.batch if result.memory is not None else None
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
                "output_bytes": _output_bytes(layer.inferred_shape, itemsize, batch),
            }
        )
    return {
        "nnspec_report": 1,
        "spec": spec.file,
        "name": spec.name,
        "dtype": spec.dtype,
        "samples": result.samples,
        "semantics": result.semantics,
        "view": result.view,
        "sources": {variable: source.to_dict() for variable, source in result.sources.items()},
        "engine": _engine(result),
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
        "totals": _totals(result, itemsize, batch),
        "memory": _memory(result),
        # a run on a Dask cluster only: what each worker computed, and how long it took
        **({"workers": [w.to_dict() for w in result.workers]} if result.workers else {}),
    }


def _output_bytes(shape: tuple[int, ...], itemsize: int, batch: int | None) -> dict[str, int | None]:
    """A layer's output size in bytes: one sample's, and a batch's (None: the batch size is not known)."""
    sample = int(np.prod(shape, dtype=object)) * itemsize
    return {"sample": sample, "batch": None if batch is None else sample * batch}


def _totals(result: RunResult, itemsize: int, batch: int | None) -> dict[str, Any]:
    """NNC's Cost* summed over every layer (parameters each counted once), and every output's bytes."""
    sample = sum(int(np.prod(layer.inferred_shape, dtype=object)) for layer in result.spec.layers.values()) * itemsize
    costs = layer_costs(result.spec)
    return {
        **cost_totals(result.spec),
        "counted": all(cost.counted for cost in costs.values()),
        "output_bytes": {"sample": sample, "batch": None if batch is None else sample * batch},
    }


def _engine(result: RunResult) -> dict[str, Any]:
    """The engine that computed the run, and the layers it left to numpy's forwards, each with why."""
    layers = result.spec.layers
    return {
        "name": result.engine,
        "numpy_layers": [
            {"layer": name, "type": layers[name].type.name, "reason": reason}
            for name, reason in result.numpy_layers.items()
        ],
    }


def _memory(result: RunResult) -> dict[str, int] | None:
    """The run's size and the memory estimate it was checked against (--max-memory), by what it holds."""
    sized = result.memory
    if sized is None:
        return None
    need = sized.need
    return {
        "samples": sized.samples,
        "batch": sized.batch,
        "peak": need.total,
        "parameters": need.parameters,
        "data": need.data,
        "activations": need.activations,
        "outputs": need.outputs,
        "all_outputs": sized.all_outputs,
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
    """Statistics of what a layer received: its inputs' outputs (a source layer: its data; a layer of no
    input, a Delay's first step: the Initial it gives)."""
    layer = result.spec.layers[name]
    if layer.type.is_source or not layer.inputs:
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


# The text report's colours (ANSI SGR), used only when stdout is a terminal and NO_COLOR is unset
# (nnspec.report.renderers): a log or a pipe gets plain text.
COLOURS = {ERROR: "1;31", WARNING: "33", INFO: "36", "saturated": "33", "nonfinite": "31"}
LEGEND = "sat: share of outputs exactly at the layer's bounds (saturated); zero: exactly 0"
# A check id's hyphens while a finding is wrapped, so that textwrap never breaks a line inside
# the id; a NUL cannot come from a spec (printable escapes it) and is put back after wrapping.
_UNBROKEN = "\0"

Paint = tuple[int, int, int, str]  # a line's index, the start and end of a part of it, its colour


def to_text(result: RunResult, width: int = 80, tables: bool = True) -> str:
    """One row a layer (and a legend of its columns), the output values, then the scores and the
    findings grouped by severity.

    ``tables=False`` (--quiet) leaves out the heading, the layer table and the output values."""
    return "\n".join(_text_lines(result, width, tables)[0]) + "\n"


def to_coloured_text(result: RunResult, width: int = 80, tables: bool = True) -> str:
    """``to_text`` with ANSI colours for the severities, check ids and saturated cells, for a
    terminal. Each line is already what the output guard would write (log_safe_line), since the
    colours must reach the terminal unescaped: a line the guard would change (text from a spec
    that printable did not see) is written escaped and left uncoloured."""
    lines, paints = _text_lines(result, width, tables)
    by_line: dict[int, list[Paint]] = {}
    for paint in paints:
        by_line.setdefault(paint[0], []).append(paint)
    shown = []
    for index, line in enumerate(lines):
        safe = log_safe_line(line)
        if safe == line:
            for _, start, end, colour in sorted(by_line.get(index, []), key=lambda p: -p[1]):
                safe = f"{safe[:start]}\x1b[{colour}m{safe[start:end]}\x1b[0m{safe[end:]}"
        shown.append(safe)
    return "\n".join(shown) + "\n"


def _text_lines(result: RunResult, width: int, tables: bool) -> tuple[list[str], list[Paint]]:
    """The text report's lines, and the parts of them a terminal shows in colour."""
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
    lines: list[str] = []
    paints: list[Paint] = []
    if tables:
        lines += [
            f"{printable(spec.name or spec.file)}: {len(spec.layers)} layers, {result.samples} "
            f"sample{'s' if result.samples != 1 else ''}, {spec.dtype}, {HEADINGS[result.view]}",
            *(part for line in engine_lines(result) for part in textwrap.wrap(line, width, subsequent_indent="  ")),
            *source_lines(result),
            *worker_lines(result),
            "",
        ]
        for row in rows:
            cells = [
                cell.rjust(w) if header[i] in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))
            ]
            if row is not header:
                paints += _table_paints(len(lines), cells, header)
            lines.append(" ".join(cells).rstrip())
        lines.append(LEGEND)
    shown = {printable(name): value for name, value in result.outputs.items() if value.size <= MAX_VALUES_SHOWN}
    unshown = _unshown_outputs(result)
    if (shown or unshown) and tables:
        lines += ["", "outputs"]
        name_width = max(map(len, shown), default=0)
        for name, value in shown.items():
            values = format_values(value[0] if len(value) == 1 else value, indent=name_width + 4)
            lines += f"  {name.ljust(name_width)}  {values}".split("\n")
        if unshown:
            listed = ", ".join(f"{printable(name)} ({'x'.join(map(str, shape))})" for name, shape in unshown.items())
            note = (
                f"not shown: {listed}: the text report prints an output of at most {MAX_VALUES_SHOWN} values; "
                "--output FILE saves them"
            )
            lines += textwrap.wrap(note, width, initial_indent="  ", subsequent_indent="    ")
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
            paints.append((len(lines) - 1, 0, len(lines[-1]), COLOURS[severity]))
            for finding in found:
                located = finding.diagnostic(spec)
                check = f"[{printable(located.code)}]"
                text = f"line {located.line}: {printable(located.message)} {check.replace('-', _UNBROKEN)}"
                wrapped = textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="    ")
                lines += [line.replace(_UNBROKEN, "-") for line in wrapped]
                at = lines[-1].rfind(check)
                if at >= 0:
                    paints.append((len(lines) - 1, at, at + len(check), COLOURS[severity]))
    counts = [(len(result.errors), "error", ERROR), (result.warning_count, "warning", WARNING)]
    total, at = [], 0
    for n, word, severity in counts:
        said = f"{n} {word}{'s' * (n != 1)}"
        if n:
            paints.append((len(lines) + 1, at, at + len(said), COLOURS[severity]))
        total.append(said)
        at += len(said) + 2
    lines += ["", ", ".join(total)]
    while lines and not lines[0]:  # --quiet: the scores or findings come first
        lines.pop(0)
        paints = [(index - 1, start, end, colour) for index, start, end, colour in paints]
    return lines, paints


def engine_lines(result: RunResult) -> list[str]:
    """A line saying which engine computed the run, but for numpy's (the default): and which layers it left
    to numpy's forwards and why, each reason once ("engine onnxruntime, 1 layer on numpy (ONNX cannot hold
    it): 'cp' (CumProd): no ONNX form in nnspec yet"), escaped (names and reasons carry the spec's text)."""
    if result.engine == "numpy":
        return []
    engine, count = printable(result.engine), len(result.numpy_layers)
    if not count:
        return [f"engine {engine}"]
    by_reason: dict[tuple[str, str], list[str]] = {}
    for name, reason in result.numpy_layers.items():
        by_reason.setdefault((result.spec.layers[name].type.name, reason), []).append(name)
    reasons = []
    for (kind, reason), names in by_reason.items():
        named = ", ".join(quoted_name(name) for name in names[:NUMPY_LAYERS_NAMED])
        more = f" and {len(names) - NUMPY_LAYERS_NAMED} more" if len(names) > NUMPY_LAYERS_NAMED else ""
        reasons.append(f"{named}{more} ({kind}): {reason}")
    them = "them" if count != 1 else "it"
    said = f"engine {engine}, {count} layer{'s' * (count != 1)} on numpy (ONNX cannot hold {them}): "
    return [said + printable("; ".join(reasons))]


def source_lines(result: RunResult) -> list[str]:
    """One line a data variable the run read: where its values came from ("data x: file x.npy"),
    escaped (a file name is the user's text, a variable name the spec's)."""
    return [
        f"data {printable(variable)}: {printable(source.description)}" for variable, source in result.sources.items()
    ]


def worker_lines(result: RunResult) -> list[str]:
    """For a run on a Dask cluster, how many workers ran its batches and what each did and took (its tasks'
    own seconds); nothing for a run in one process."""
    if not result.workers:
        return []
    count = len(result.workers)
    batch = f" in batches of {result.memory.batch:,}" if result.memory is not None else ""
    lines = [f"ran on {count} Dask worker{'s' * (count != 1)}{batch}:"]
    width = max(len(printable(w.worker)) for w in result.workers)
    for w in result.workers:
        lines.append(
            f"  {printable(w.worker).ljust(width)}  {w.batches:,} batch{'es' * (w.batches != 1)}, "
            f"{w.samples:,} samples, {w.seconds:.2f} s"
        )
    return lines


def _unshown_outputs(result: RunResult) -> dict[str, tuple[int, ...]]:
    """The output layers the text report leaves out, in the spec's order, with their shapes over the
    run (samples first): those of more values than it prints, whether kept or never kept
    (RunResult.omitted), so that no output goes missing from the report without a word."""
    shapes = {name: tuple(value.shape) for name, value in result.outputs.items() if value.size > MAX_VALUES_SHOWN}
    shapes.update(result.omitted)
    return {name: shapes[name] for name in result.spec.outputs if name in shapes}


def _table_paints(index: int, cells: list[str], header: list[str]) -> list[Paint]:
    """The table row's saturated share and non-finite count, when not nothing, in colour."""
    paints, at = [], 0
    for name, cell in zip(header, cells):
        value = cell.strip()
        if (name == "sat" and value not in ("-", "0%")) or (name == "nan/inf" and value != "0"):
            start = at + len(cell) - len(value)  # numeric cells are right-aligned
            paints.append((index, start, at + len(cell), COLOURS["saturated" if name == "sat" else "nonfinite"]))
        at += len(cell) + 1
    return paints


def _span(s: TensorStats) -> str:
    return f"{format_number(s.min, 3)}..{format_number(s.max, 3)}" if s.finite else "-"


def _combined(parts: list[TensorStats]) -> TensorStats:
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.merge(part)
    return combined


def format_values(values: np.ndarray, indent: int = 0) -> str:
    """Values as their shortest exact decimal form in their own dtype (float32 1.0 -> 1); a line
    after the first (several rows, or a long row) starts with ``indent`` spaces, so that it lines
    up under the first, which the caller writes after ``indent`` characters of its own."""
    return np.array2string(
        np.asarray(values),
        separator=", ",
        max_line_width=100,
        threshold=MAX_VALUES_SHOWN,
        formatter={"float_kind": _shortest},
        prefix=" " * indent,
    )


def _shortest(value: np.floating) -> str:
    if value != 0 and np.isfinite(value) and not 1e-4 <= abs(value) < 1e7:
        return np.format_float_scientific(value, unique=True, trim="-")
    return np.format_float_positional(value, unique=True, trim="-")
