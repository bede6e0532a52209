"""The model summary as text: ``nnspec validate --summary``."""

from __future__ import annotations

from ..core.printable import printable
from ..layers.catalog import format_shape
from ..spec.model import Spec
from ..spec.summary import summarize, total_parameters

NOT_COUNTED_MARK = "?"  # in a figure's place where nnspec does not know NNC's rule for the layer type


def summary_text(spec: Spec) -> str:
    """Per layer: output shape, parameters, multiply-adds (NNC's CostMultiplyAdd) and one sample's
    output bytes, with thousands separators; then the totals."""
    rows = summarize(spec)
    header = ("layer", "type", "output", "parameters", "multiply-adds", "bytes/sample")
    table = [
        (
            printable(row.name),
            row.type,
            format_shape(row.shape),
            f"{row.cost.parameter:,}" if row.cost.counted else NOT_COUNTED_MARK,
            f"{row.cost.multiply_add:,}" if row.cost.counted else NOT_COUNTED_MARK,
            f"{row.output_bytes:,}",
        )
        for row in rows
    ]
    total = (
        "total",
        "",
        "",
        f"{total_parameters(spec):,}",
        f"{sum(row.cost.multiply_add for row in rows):,}",
        f"{sum(row.output_bytes for row in rows):,}",
    )
    widths = [max(len(cells[i]) for cells in (header, *table, total)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        # names left-aligned, figures right-aligned, as a numeric column reads
        left = [cell.ljust(widths[i]) for i, cell in enumerate(cells[:3])]
        right = [cell.rjust(widths[i + 3]) for i, cell in enumerate(cells[3:])]
        return "  ".join(left + right).rstrip()

    rule = "-" * len(line(header))
    out = [
        f"{printable(spec.file)}: {len(rows)} layers, per sample ({spec.dtype}); bytes: each output's size",
        line(header),
        rule,
    ]
    out += [line(cells) for cells in table]
    out += [rule, line(total)]
    skipped = sorted({row.type for row in rows if not row.cost.counted})
    if skipped:
        out.append(f"{NOT_COUNTED_MARK}: not counted (nnspec does not know NNC's count for {', '.join(skipped)})")
    return "\n".join(out) + "\n"
