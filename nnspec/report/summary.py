"""The model summary as text: ``nnspec validate --summary`` and ``nnspec run --summary``."""

from __future__ import annotations

from ..core.printable import printable
from ..files.memory import RunMemory, format_bytes
from ..layers.catalog import format_shape
from ..spec.model import Spec
from ..spec.summary import summarize, total_parameters

NOT_COUNTED_MARK = "?"  # in a figure's place where nnspec does not know NNC's rule for the layer type


def summary_text(spec: Spec, sized: RunMemory | None = None, unsized: str = "") -> str:
    """Per layer: output shape, parameters, multiply-adds (NNC's CostMultiplyAdd) and one sample's
    output bytes, with thousands separators; then the totals. With ``sized`` (the run's samples,
    batch and memory estimate) each output's bytes for a batch too, and the peak memory the run
    needs; ``unsized`` says why a run could not be sized, in its place."""
    rows = summarize(spec)
    batch = sized.batch if sized is not None else None
    header: tuple[str, ...] = ("layer", "type", "output", "parameters", "multiply-adds", "bytes/sample")
    header += ("bytes/batch",) if batch is not None else ()
    table = [
        (
            printable(row.name),
            row.type,
            format_shape(row.shape),
            f"{row.cost.parameter:,}" if row.cost.counted else NOT_COUNTED_MARK,
            f"{row.cost.multiply_add:,}" if row.cost.counted else NOT_COUNTED_MARK,
            f"{row.output_bytes:,}",
            *((f"{row.output_bytes * batch:,}",) if batch is not None else ()),
        )
        for row in rows
    ]
    per_sample = sum(row.output_bytes for row in rows)
    total = (
        "total",
        "",
        "",
        f"{total_parameters(spec):,}",
        f"{sum(row.cost.multiply_add for row in rows):,}",
        f"{per_sample:,}",
        *((f"{per_sample * batch:,}",) if batch is not None else ()),
    )
    widths = [max(len(cells[i]) for cells in (header, *table, total)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        # names left-aligned, figures right-aligned, as a numeric column reads
        left = [cell.ljust(widths[i]) for i, cell in enumerate(cells[:3])]
        right = [cell.rjust(widths[i + 3]) for i, cell in enumerate(cells[3:])]
        return "  ".join(left + right).rstrip()

    rule = "-" * len(line(header))
    sizes = (
        f"each output's size, per sample and for a batch of {batch:,}" if batch is not None else "each output's size"
    )
    out = [f"{printable(spec.file)}: {len(rows)} layers, per sample ({spec.dtype}); bytes: {sizes}", line(header), rule]
    out += [line(cells) for cells in table]
    out += [rule, line(total)]
    skipped = sorted({row.type for row in rows if not row.cost.counted})
    if skipped:
        out.append(f"{NOT_COUNTED_MARK}: not counted (nnspec does not know NNC's count for {', '.join(skipped)})")
    if sized is not None:
        out += memory_lines(spec, sized)
    elif unsized:
        out.append(f"peak memory: not estimated: {printable(unsized)}")
    return "\n".join(out) + "\n"


def memory_lines(spec: Spec, sized: RunMemory) -> list[str]:
    """The peak memory of a run, the figure --max-memory is checked against, and what it counts."""
    need = sized.need
    batches = "in one batch" if sized.batch == sized.samples else f"in batches of {sized.batch:,}"
    plural = "s" if sized.samples != 1 else ""
    kept = (
        "every output layer's values, kept for every sample"
        if need.outputs == sized.all_outputs
        else "the output layers the report shows, kept for every sample "
        f"(--output keeps them all: {format_bytes(sized.all_outputs)})"
    )
    parts = (
        (
            "parameters",
            need.parameters,
            f"{total_parameters(spec):,} values, drawn or read in float64, kept in {spec.dtype}",
        ),
        (
            "generated data",
            need.data,
            "a batch of the generators' values, drawn in float64 and converted"
            if need.data
            else "none generated (data read from the spec or files is counted as its Input's output)",
        ),
        (
            "activations",
            need.activations,
            "every layer's output for a batch (bytes/batch's total), plus float64 copies of the largest for "
            "its statistics",
        ),
        ("outputs", need.outputs, kept),
    )
    label = max(len(name) for name, _, _ in parts)
    amount = max(len(format_bytes(value)) for _, value, _ in parts)
    return [
        f"peak memory: about {format_bytes(need.total)} ({need.total:,} bytes) for {sized.samples:,} sample{plural} "
        f"{batches}, the estimate --max-memory is checked against:",
        *(f"  {name.ljust(label)}  {format_bytes(value).rjust(amount)}  {what}" for name, value, what in parts),
    ]
