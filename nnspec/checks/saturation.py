"""Checks of saturation: bounded activations (Tanh, Sigmoid, ...) pinned at their bounds or fed past their
well-behaved range, and exp overflowing its dtype."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.estimate import Estimate
from ..core.numbers import format_number, format_share
from .check import (
    UNIT_SAMPLES,
    Context,
    Probe,
    _beyond,
    _exact,
    _exp_limit,
    _expected_span,
    _inherits_nonfinite,
    _keep_within,
    _per_unit,
    _range,
    _span,
    _unit_count,
    pin_limits,
)
from .measures import OUTSIDE, OVERFLOWING, PINNED, UNITS_INSIDE
from .stats import blocks

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer


def _measure_pinned(p: Probe) -> dict[str, Any]:
    """Outputs exactly at the output bounds, and per unit whether it ever was strictly inside."""
    low, high = p.layer.type.output_range
    if low < p.output_stats.min and p.output_stats.max < high:  # nothing at a bound
        return {PINNED: 0, UNITS_INSIDE: np.ones(_unit_count(p.output), dtype=bool)}
    pinned = (p.output == low) | (p.output == high)
    return {PINNED: int(np.count_nonzero(pinned)), UNITS_INSIDE: _per_unit(~pinned, np.any)}


def _hard_saturation(c: Context) -> str | None:
    out, m = c.output, c.measured
    if not out.count or m[PINNED] / out.count <= c.threshold or _inherits_nonfinite(c):
        return None
    layer_type = c.layer.type
    low, high = layer_type.output_range
    limits = pin_limits(layer_type.name, c.spec.dtype)
    pinned_where = " and ".join(
        f"exactly {format_number(bound)} for i {'<=' if limit < 0 else '>='} {_beyond(limit)}"
        for bound, limit in zip((low, high), limits)
        if limit is not None
    )
    where = (
        f"{c.spec.dtype} {layer_type.name.lower()} is {pinned_where}" if pinned_where else "its outputs round to them"
    )
    units = m[UNITS_INSIDE]
    always = int(np.count_nonzero(~units))
    unit_note = (
        f"; {always} of its {units.size} units {'is' if always == 1 else 'are'} pinned on every one of "
        f"{c.samples} samples"
        if always and units.size > 1 and c.samples >= UNIT_SAMPLES
        else ""
    )
    return (
        f"{c.layer.title}: {m[PINNED]} of {out.count} outputs ({format_share(m[PINNED], out.count)}) are exactly "
        f"{format_number(low)} or {format_number(high)} (saturated): its inputs span {_span(c.inputs[0])}, and "
        f"{where}, "
        f"so different inputs give the same output{unit_note}; "
        f"{_keep_within(layer_type)}"
    )


def _measure_outside(p: Probe) -> dict[str, Any]:
    low, high = p.layer.type.input_range
    x, seen = p.inputs[0], p.input_stats[0]
    if seen.finite == seen.count and low <= seen.min and seen.max <= high:
        return {OUTSIDE: 0}
    # a block at a time: the comparisons' temporaries stay small
    return {OUTSIDE: int(sum(np.count_nonzero((block < low) | (block > high)) for block in blocks(x)))}


def _saturation(c: Context) -> str | None:
    received, outside = c.inputs[0], c.measured[OUTSIDE]
    if _inherits_nonfinite(c):
        return None
    if received.count and outside / received.count > c.threshold:
        return (
            f"{c.layer.title}: {outside} of {received.count} inputs ({format_share(outside, received.count)}) lie "
            "outside "
            f"{_range(c.layer.type.input_range)}, where its output is within 1% of a bound and its gradient nearly "
            f"0; {_keep_within(c.layer.type)}"
        )
    low, high = c.layer.type.output_range
    out = c.output
    near = 0.05 * (high - low)  # outputs in 0..1 (probabilities) averaging this close to a bound barely vary
    if low == 0 and out.finite and not low + near <= out.mean <= high - near:
        return (
            f"{c.layer.title}: its outputs average {format_number(out.mean)}, within {format_number(near)} of a "
            "bound: the layer is "
            f"stuck near {format_number(low if out.mean < low + near else high)}; {_keep_within(c.layer.type)}"
        )
    return None


def _measure_exp(p: Probe) -> dict[str, Any]:
    limit = _exp_limit(p.output.dtype)
    if p.input_stats[0].max <= limit and not p.input_stats[0].posinf:
        return {OVERFLOWING: 0}
    return {OVERFLOWING: int(np.count_nonzero(p.inputs[0] > limit))}


def _exp_overflow(c: Context) -> str | None:
    n, received = c.measured[OVERFLOWING], c.inputs[0]
    if not received.count or n / received.count <= c.threshold:
        return None
    limit = _exp_limit(np.dtype(c.spec.dtype))
    return (
        f"{c.layer.title}: {n} of {received.count} inputs exceed {_beyond(limit)}, where {c.spec.dtype} exp "
        f"overflows to inf (its inputs reach {_exact(received.max, c.spec.dtype)}); scale the layer before it down"
    )


def _predict_hard_saturation(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    low_limit, high_limit = pin_limits(layer.type.name, dtype)
    share = (x.share_below(low_limit) if low_limit is not None else 0.0) + (
        1.0 - x.share_below(high_limit) if high_limit is not None else 0.0
    )
    if share <= threshold:
        return None
    low, high = layer.type.output_range
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {format_share(share, 1)} of its "
        "outputs "
        f"would be exactly {format_number(low)} or {format_number(high)} in {dtype} (saturated); "
        f"{_keep_within(layer.type)}"
    )


def _predict_saturation(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    share = x.share_outside(*layer.type.input_range)
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {format_share(share, 1)} of "
        "them would "
        f"lie outside {_range(layer.type.input_range)}, where its gradient is nearly 0; {_keep_within(layer.type)}"
    )


def _predict_exp_overflow(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    limit = _exp_limit(np.dtype(dtype))
    share = 1.0 - x.share_below(limit)
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {format_share(share, 1)} of "
        "them would "
        f"exceed {format_number(limit)}, where {dtype} exp overflows to inf"
    )
