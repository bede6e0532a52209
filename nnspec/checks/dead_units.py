"""Checks of outputs that carry nothing: a ReLU-like layer that is dead, or its dead units, and a layer whose
output is the same on every sample."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.estimate import Estimate
from ..core.numbers import format_number, format_share
from .check import FIRM_UNIT_SAMPLES, UNIT_SAMPLES, Context, Probe, Tentative, _expected_span, _per_unit, _span
from .measures import UNITS_POSITIVE

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer


def _measure_positive(p: Probe) -> dict[str, Any]:
    x = p.inputs[0]
    head = _per_unit(x[:16] > 0, np.any)  # most units show a positive value within a few samples
    return {UNITS_POSITIVE: head if head.all() else _per_unit(x > 0, np.any)}


def _dead_units(c: Context) -> str | None:
    """Units never positive, stated as a fact from FIRM_UNIT_SAMPLES samples, as "possibly" (info) from
    UNIT_SAMPLES, and below that not judged, which the first per-unit layer says once for the run."""
    n = c.samples
    if n < UNIT_SAMPLES:
        return _too_few_for_units(c) if n > 1 else None  # one sample is one example, not a statistic
    positive = c.measured[UNITS_POSITIVE]
    dead = int(np.count_nonzero(~positive))
    if not dead or dead / positive.size < c.threshold:
        return None
    units = f"{dead} of its {positive.size} units ({format_share(dead, positive.size)}) gave 0 for all {n} samples"
    fix = "check the bias and the weight scale of the layer before it"
    if n >= FIRM_UNIT_SAMPLES:
        return (
            f"{c.layer.title}: {units} (no positive input on any), so they output 0 always and pass nothing on; {fix}"
        )
    return Tentative(
        f"{c.layer.title}: possibly dead units: {units}, but a live unit positive on 1 sample in 100 gives 0 on "
        f"all {n} with probability {format_share(0.99**n, 1)}, so {n} samples are too few to call them dead (from "
        f"{FIRM_UNIT_SAMPLES} samples this is a {c.checks[c.check].severity}); if they are, {fix}"
    )


def _too_few_for_units(c: Context) -> str | None:
    """Once a run: at the first layer (in the spec) that a per-unit check judges, why none is judged."""
    per_unit = [check.id for check in c.checks.values() if check.judge is _dead_units]
    judged = (c.spec.layers[name] for name in c.stats)
    first = min(
        (
            layer
            for layer in judged
            if any(check.id in per_unit and check.applies(layer.type) for check in c.checks.values())
        ),
        key=lambda layer: c.spec.positions[layer.name],
    )
    if first.name != c.layer.name:
        return None
    return Tentative(
        f"{c.layer.title}: per-unit checks ({', '.join(per_unit)}) need at least {UNIT_SAMPLES} samples to say "
        f"anything about one unit, and this run has {c.samples}: no unit of any layer is judged (give more "
        f"data, or --samples {FIRM_UNIT_SAMPLES} or more for findings stated as facts)"
    )


def _dead_layer(c: Context) -> str | None:
    received = c.inputs[0]
    if not received.finite or received.max > 0:
        return None
    return (
        f"{c.layer.title}: all {received.count} inputs are <= 0 (largest {format_number(received.max)}), so it "
        "outputs only "
        "zeros and passes nothing on; check the sign and scale of the layer before it"
    )


def _constant_output(c: Context) -> str | None:
    out = c.output
    if c.samples < 2 or not out.finite or out.varies:
        return None
    if not c.inputs or not all(received.varies for received in c.inputs):  # no input: a Delay's Initial
        # An input the same on every sample: the layer before it is the one to report, or, where the
        # others vary, the constant input explains the output (a gate times a recurrent loop's zero state
        # at step 0: f * c0 with c0 = 0).
        return None
    return (
        f"{c.layer.title}: its output is the same for every one of {c.samples} samples (values {_span(out)}): "
        "it ignores its input; look for saturation or dead units before it"
    )


DEAD_SHARE = 1e-6  # a ReLU expected to see fewer positive inputs than this is predicted dead


def _predict_dead_layer(layer: Layer, x: Estimate, threshold: float | None, dtype: str) -> str | None:
    if 1.0 - x.share_below(np.finfo(dtype).tiny) >= DEAD_SHARE:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so it would hardly ever receive a positive "
        "value and would output only zeros; check the bias and the sign of the layer before it"
    )
