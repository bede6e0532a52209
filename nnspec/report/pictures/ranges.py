"""Where a layer type loses information, and its curve: read off the catalog, never a layer's name.

A layer's well-behaved input range, its output bounds and whether it saturates, zeroes
negative inputs or computes exp are catalog facts (the same the range checks read), so a
layer type added to the catalog is drawn with no change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import inf, isfinite, log

import numpy as np

from ...checks.check import pin_limits
from ...checks.stats import TensorStats
from ...core.numbers import format_number
from ...layers.catalog import LayerType
from ...spec.model import Layer

CURVE_POINTS = 801
SHOW_RANGE_WITHIN = 4.0  # a well-behaved bound this many times the data's reach or nearer is brought into view
# matplotlib's transforms overflow for axis limits near float64's largest number (1.8e308: a singular
# matrix, or no ticks at 1e308; fine at 4e307): plots show at most this far from 0 on either axis
DRAWABLE = 1e300


@dataclass(frozen=True)
class Region:
    """An interval of input values where a layer loses information; ``kind`` picks its shading:
    soft (outside the well-behaved range), hard (the output is exactly a bound in the dtype),
    zero (the output is 0), overflow (exp gives inf)."""

    low: float
    high: float
    kind: str
    label: str


def regions(layer_type: LayerType, dtype: str) -> list[Region]:
    """The regions of a layer type's inputs, left to right, none overlapping another."""
    marked: list[Region] = []
    if layer_type.saturates:
        limits = pin_limits(layer_type.name, dtype)
        pinned = [
            (limit, bound)
            for limit, bound in zip(limits, layer_type.output_range)
            if limit is not None and bound is not None
        ]
        label = f"output exactly {' or '.join(format_number(bound) for _, bound in pinned)} in {dtype}"
        marked += [
            Region(-inf, limit, "hard", label) if limit < 0 else Region(limit, inf, "hard", label)
            for limit, _ in pinned
        ]
    if layer_type.exp_overflows:
        marked.append(Region(log(float(np.finfo(dtype).max)), inf, "overflow", f"exp overflows to inf in {dtype}"))
    if layer_type.zero_for_negative:
        marked.append(Region(-inf, 0.0, "zero", "output 0"))
    if layer_type.input_range is not None:
        low, high = layer_type.input_range
        label = f"outside the well-behaved range {format_number(low)}..{format_number(high)}"
        for outside in ((-inf, low), (high, inf)):
            marked += [Region(a, b, "soft", label) for a, b in _subtract(outside, marked) if a < b]
    return sorted(marked, key=lambda r: (r.low, r.high))


def _subtract(interval: tuple[float, float], taken: list[Region]) -> list[tuple[float, float]]:
    """The parts of ``interval`` that no region in ``taken`` covers."""
    pieces = [interval]
    for region in taken:
        pieces = [
            part for a, b in pieces for part in ((a, min(b, region.low)), (max(a, region.high), b)) if part[0] < part[1]
        ]
    return pieces


def view(values: TensorStats, well_behaved: tuple[float, float] | None = None) -> tuple[float, float]:
    """The span a plot of ``values`` shows: theirs, widened to a bound of the ``well_behaved``
    range near enough to show where the values sit against it, with a margin."""
    if values.finite:
        low, high = drawable(values.min, values.max)
    elif well_behaved is not None:
        low, high = (b if isfinite(b) else 0.0 for b in well_behaved)
    else:
        low, high = -1.0, 1.0
    reach = max(abs(low), abs(high))
    for bound in well_behaved or ():
        if isfinite(bound) and abs(bound) <= SHOW_RANGE_WITHIN * reach:
            low, high = min(low, bound), max(high, bound)
    return with_margin(low, high, 0.04)


def drawable(low: float, high: float) -> tuple[float, float]:
    """low..high clipped to what a plot can show (DRAWABLE either side of 0)."""
    return min(max(low, -DRAWABLE), DRAWABLE), min(max(high, -DRAWABLE), DRAWABLE)


def with_margin(low: float, high: float, share: float) -> tuple[float, float]:
    """low..high (within DRAWABLE) widened by ``share`` of its span either side; a single value
    by a tenth of itself (at least 1), so that the axis never collapses to a point."""
    span = high - low
    margin = share * span if span else max(1.0, 0.1 * abs(low))
    return low - margin, high + margin


def has_curve(layer_type: LayerType) -> bool:
    """An elementwise function of one input without parameters: o = f(i) has a curve to draw."""
    return (
        layer_type.elementwise
        and layer_type.curve
        and layer_type.arity.least == layer_type.arity.most == 1
        and not layer_type.parameters
        and not layer_type.targets
    )


def curve(layer: Layer, dtype: str, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """The layer's forward function over low..high, computed in the spec's dtype (where float32
    tanh is exactly 1 from 10 on), at evenly spaced points and at the points where it changes
    behaviour. Non-finite outputs become NaN, which a plot leaves as a gap."""
    special = [0.0, *(layer.type.input_range or ()), *(x for x in pin_limits_or_none(layer.type, dtype) if x)]
    x = np.union1d(np.linspace(low, high, CURVE_POINTS), [s for s in special if low <= s <= high])
    x = x.astype(dtype)
    with np.errstate(all="ignore"):
        y = np.asarray(layer.type.forward([x], layer.props, {}), dtype=np.float64)
    return x.astype(np.float64), np.where(np.isfinite(y), y, np.nan)


def pin_limits_or_none(layer_type: LayerType, dtype: str) -> tuple[float | None, float | None]:
    return pin_limits(layer_type.name, dtype) if layer_type.saturates else (None, None)
