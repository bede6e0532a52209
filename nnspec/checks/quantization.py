"""Checks of quantizers and of layers that read the whole batch: a quantizer whose range clips most of its
inputs, and a layer whose output depends on the other samples of its batch (Prune).

A quantizer's range is its lowest and highest levels, what its own forward function gives for -inf and
+inf with the layer's properties and parameters (the catalog's ``clips``): no list of quantizers or of
their formulas here, so a quantizer added to the catalog is checked as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.estimate import Estimate
from ..core.numbers import format_number, format_share
from ..layers.catalog import clip_levels
from .check import Context, Probe, _expected_span, _inherits_nonfinite, _span
from .measures import CLIPPED, LARGEST_BATCH
from .stats import blocks

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer


def quantizer_range(layer: Layer, parameters: Mapping[str, np.ndarray], dtype: Any) -> tuple[float, float]:
    """The lowest and highest levels: the layer's forward function at -inf and +inf."""
    return clip_levels(layer.type, layer.props, parameters, dtype)


def _measure_clipped(p: Probe) -> dict[str, Any]:
    """Inputs below the lowest level or above the highest (NaN is neither)."""
    low, high = quantizer_range(p.layer, p.parameters, p.output.dtype)
    seen = p.input_stats[0]
    if seen.finite == seen.count and low <= seen.min and seen.max <= high:
        return {CLIPPED: 0}
    return {CLIPPED: int(sum(np.count_nonzero((block < low) | (block > high)) for block in blocks(p.inputs[0])))}


def _advice(layer: Layer) -> str:
    """What widens the range, in the layer's own terms: the properties that set its levels, or the
    parameters that hold its range."""
    props = {p.name for p in layer.type.properties}
    knobs = ["m"] if "m" in props else [name for name in ("n", "delta") if name in props]  # 2^m is the top level
    knobs += [p.name for p in layer.type.parameters if p.name in ("r", "R")]
    return f"widen its range ({', '.join(knobs)}) or scale the layer before it down"


def _clipping(c: Context) -> str | None:
    received, clipped = c.inputs[0], c.measured[CLIPPED]
    if not received.count or clipped / received.count <= c.threshold or _inherits_nonfinite(c):
        return None
    low, high = quantizer_range(c.layer, c.parameters.get(c.layer.name, {}), c.spec.dtype)
    return (
        f"{c.layer.title}: {clipped} of {received.count} inputs ({format_share(clipped, received.count)}) lie "
        f"outside its levels {format_number(low)}..{format_number(high)} and are clipped to them (its inputs span "
        f"{_span(received)}): different inputs there give the same output; {_advice(c.layer)}"
    )


def _predict_clipping(
    layer: Layer, moments: Mapping[str, tuple[float, float]], x: Estimate, threshold: float
) -> str | None:
    """From what the layer is expected to receive and its parameters' expected values (the ranges of
    MinMaxQuantize: Constant initializers give them exactly)."""
    parameters = {name: np.array([mean]) for name, (mean, _) in moments.items()}
    low, high = quantizer_range(layer, parameters, np.float64)
    share = x.share_outside(low, high)
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {format_share(share, 1)} of them "
        f"would lie outside its levels {format_number(low)}..{format_number(high)} and be clipped to them; "
        f"{_advice(layer)}"
    )


def _measure_batch(p: Probe) -> dict[str, Any]:
    return {LARGEST_BATCH: len(p.output)}


def _batch_dependent(c: Context) -> str | None:
    """Said wherever a batch held more than one sample: the outputs then depend on which samples shared it."""
    largest = int(c.measured[LARGEST_BATCH])
    if largest <= 1:
        return None
    return (
        f"{c.layer.title}: {c.layer.type.whole_batch}, so each output depends on the other samples of its batch "
        f"(batches of up to {largest} samples here): the results change with --batch-size and the order of the data"
    )
