"""Checks of probabilities: a softmax so sure that its probabilities round to exactly 0 or 1, and inputs of
layers that take a probability (and their targets)."""

from __future__ import annotations

from math import log
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.estimate import Estimate, drawn_along_axis
from ..core.numbers import format_number, format_share
from ..core.printable import quoted_name
from .check import Context, Probe, _expected_span, _span
from .measures import CERTAIN, DISTRIBUTIONS, MAX_SPREAD, NOT_BINARY, OUTSIDE, VALUES, WITH_ZEROS

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer


def _zero_limit(dtype: np.dtype) -> float:
    """How far below the largest a logit must be for its probability to round to exactly 0:
    exp(-gap) below half the smallest subnormal number (float32: 103.97; float64: 745.13)."""
    return log(2) - log(float(np.finfo(dtype).smallest_subnormal))


def _measure_certain(p: Probe) -> dict[str, Any]:
    axis = p.layer.props["axis"] + 1
    spread = np.ptp(p.inputs[0], axis=axis)
    inside = 0 < p.output_stats.min and p.output_stats.max < 1  # then no probability is exactly 0 or 1
    return {
        DISTRIBUTIONS: int(spread.size),
        CERTAIN: 0 if inside else int(np.count_nonzero(p.output.max(axis=axis) == 1)),
        WITH_ZEROS: 0 if inside else int(np.count_nonzero(p.output.min(axis=axis) == 0)),
        MAX_SPREAD: np.atleast_1d(spread.max()),
    }


def _overconfident(c: Context) -> str | None:
    m = c.measured
    n = m[DISTRIBUTIONS]
    if not n or max(m[CERTAIN], m[WITH_ZEROS]) / n <= c.threshold:
        return None
    dtype = c.spec.dtype
    return (
        f"{c.layer.title}: in {m[CERTAIN]} of {n} distributions ({format_share(m[CERTAIN], n)}) one class has "
        f"probability exactly 1, and {m[WITH_ZEROS]} ({format_share(m[WITH_ZEROS], n)}) hold a probability of "
        f"exactly 0, whose log is -inf: its logits spread up to {format_number(float(m[MAX_SPREAD][0]))} within one "
        f"distribution, and {dtype} rounds a probability to 0 once its logit is "
        f"{format_number(_zero_limit(np.dtype(dtype)), 4)} below the largest; "
        "scale the logits down"
    )


def _measure_probability_input(p: Probe) -> dict[str, Any]:
    x, target = p.inputs[0], p.inputs[-1]
    seen = p.input_stats[0]
    inside = seen.finite == seen.count and 0 <= seen.min and seen.max <= 1
    return {
        OUTSIDE: 0 if inside else int(np.count_nonzero(~((x >= 0) & (x <= 1)))),
        NOT_BINARY: int(np.count_nonzero((target != 0) & (target != 1))),
        VALUES: int(x.size),
    }


def _probability_input(c: Context) -> str | None:
    m = c.measured
    if not (m[OUTSIDE] or m[NOT_BINARY]):
        return None
    problems = []
    if m[OUTSIDE]:
        problems.append(
            f"{m[OUTSIDE]} of {m[VALUES]} inputs lie outside 0..1 (they span {_span(c.inputs[0])}): the input "
            "must be a probability, such as a Sigmoid's output"
        )
    if m[NOT_BINARY]:
        problems.append(f"{m[NOT_BINARY]} of {m[VALUES]} target values are neither 0 nor 1")
    return f"{c.layer.title}: " + "; ".join(problems) + " (NNC's rule for this layer)"


def _predict_binary_target(layer: Layer, pin: str, source: str, t: Estimate) -> str | None:
    """A target a layer feeds that can leave 0..1 cannot be all 0s and 1s (a GreaterEqualScalar's can;
    an estimate cannot tell 0/1 values from any others in 0..1, so only leaving the range is predicted)."""
    low, high = t.practical_low, t.practical_high
    if 0 <= low and high <= 1:
        return None
    return (
        f"{layer.title}: its target {pin}, the output of layer {quoted_name(source)}, is expected to "
        f"{_expected_span(t)} and "
        f"reach {format_number(low)}..{format_number(high)}, so some target values are neither 0 nor 1 "
        "(NNC's rule for this layer): feed it a 0/1 layer such as GreaterEqualScalar"
    )


def _predict_overconfident(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    """A fixed Monte Carlo sample of logits as estimated: how many distributions come out certain
    (of an axis over DRAWN_CLASSES long, the share among that many classes: more would be certain less often)."""
    logits = drawn_along_axis(x, 1000, layer.shape[layer.props["axis"]], dtype)
    top = layer.type.forward([logits], {"axis": 0}, {}).max(axis=1)
    share = float(np.mean(top == 1))
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its logits are expected to {_expected_span(x)}, so about {format_share(share, 1)} of its "
        "distributions would give one class probability exactly 1; scale the logits down"
    )
