"""The cause of a wrong scale: the layer, on the way to a finding, where the values' spread jumped, named in
the advice of the checks that say ``names_cause``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from ..core.numbers import format_number

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it), and the table
    # (LayerStats) above the families it assembles
    from ..spec.model import Spec
    from .table import LayerStats


# A layer whose output std is above this many times its input's changed the scale (scale-drift's default).
SCALE_JUMP = 2.0
# The advice a check gives when it cannot tell which layer made its inputs too large.
GENERIC_ADVICE = (
    "(normalise the data or scale the layer before it)",
    "scale the layer before it down",
    "scale the logits down",
)


class ScaleJump(NamedTuple):
    """A layer on the path to a finding whose output's spread jumped against its input's."""

    layer: str
    ratio: float
    before: float
    after: float


def _measured_std(stats: Mapping[str, LayerStats]) -> Callable[[str], float | None]:
    def std(name: str) -> float | None:
        out = stats[name].output if name in stats else None
        return out.std if out is not None and out.finite == out.count and out.count else None

    return std


def scale_origin(spec: Spec, name: str, std: Callable[[str], float | None]) -> ScaleJump | None:
    """The first layer on the path into ``name`` (through first inputs, back to the data or to
    a bounded activation, which resets the scale) whose output std is more than SCALE_JUMP
    times its input's: where the values a finding complains of were made too large. ``std``
    gives a layer's output std (measured, or estimated by static analysis), None if unknown."""
    jumps: list[ScaleJump] = []
    current = spec.layers[name]
    while current.inputs:
        producer = spec.layers[current.inputs[0]]
        if producer.type.is_source or None not in producer.type.output_range or not producer.inputs:
            break
        before, after = std(producer.inputs[0]), std(producer.name)
        if before and after is not None and after / before > SCALE_JUMP:
            jumps.append(ScaleJump(producer.name, after / before, before, after))
        current = producer
    return jumps[-1] if jumps else None  # the farthest back: later layers only carry its scale on


def with_cause(message: str, cause: ScaleJump | None) -> str:
    """A finding's message with its generic advice ("scale the layer before it") replaced by
    the layer that made the scale, when one is known."""
    if cause is None:
        return message
    named = (
        f"its inputs were scaled x{format_number(cause.ratio, 3)} by '{cause.layer}', std "
        f"{format_number(cause.before, 3)} -> "
        f"{format_number(cause.after, 3)}: fix the scale there"
    )
    for generic in GENERIC_ADVICE:
        if message.endswith(generic):
            return message[: -len(generic)] + (f"({named})" if generic.startswith("(") else named)
    return f"{message}; {named}"
