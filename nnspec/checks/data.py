"""Checks of the data entering the network: NaN and Inf anywhere, an Input's range and the scales of its
features, an Input's declared range."""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.estimate import Estimate
from ..core.numbers import format_number
from .check import (
    UNIT_SAMPLES,
    Context,
    Probe,
    _as,
    _count_nonfinite,
    _exact_span,
    _expected_span,
    _range,
    _rescale_hint,
    _span,
)
from .measures import FEATURE_M2, FEATURE_MEAN, NONFINITE, ROWS
from .stats import TensorStats

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer

# "The bulk" of an Input's data, which input-range judges: its 1st to 99th percentile. Standardised data
# (mean 0, std 1) spans -2.33..2.33 there; 0..255 pixels reach 250 and more.
BULK = (1.0, 99.0)
# Features are on different scales when the spread of one is this many times another's (the 90th against
# the 10th percentile over the features, so that a few near-constant ones do not decide it) ...
FEATURE_SPREADS = 100.0
# ... or when their means differ by more than this many times their spread (in variance: between-feature
# variance over the mean within-feature variance): one common x / a then squeezes each feature's variation
# into a sliver of -1..1. Pixels share a scale: their means differ less than they vary.
FEATURE_LEVELS = 10.0


def _nan_inf(c: Context) -> str | None:
    """The first layer whose output holds NaN or Inf although what it received does not."""
    out = c.output
    if out.finite == out.count:
        return None
    bad = _count_nonfinite(out)
    if c.layer.type.is_source:
        return (
            f"the data for {c.layer.title} holds {bad} as {c.spec.dtype} "
            f"(whose largest value is {format_number(np.finfo(c.spec.dtype).max, 3)})"
        )
    if any(s.finite < s.count for s in c.inputs):
        return None  # inherited: the layer that produced them is reported
    received = "; ".join(f"{source}: {_span(s)}" for source, s in zip(c.layer.inputs, c.inputs))
    return f"{c.layer.title} produced {bad} from finite inputs ({received}); every layer after it inherits them"


def _input_range(c: Context) -> str | None:
    """The bulk of the data (1st..99th percentile) beyond -threshold..threshold: judged on the bulk, not
    the extremes, so that standardised data (a few values past 3 in a thousand) passes and 0..255 does not."""
    data = c.output
    if not data.finite:
        return None
    low, high = _bulk(data)
    limit = _as(c.threshold, c.spec.dtype)
    if -limit <= low and high <= limit:
        return None
    features = _feature_moments(c.measured, c.samples)
    if features is not None and _scales_differ(*features):
        hint = _standardise_hint(c.layer, *features)
    else:
        hint = _rescale_hint(data.min, data.max, c.spec.dtype, data.mean, data.std)
    return (
        f"the data for {c.layer.title} spans {_exact_span(data, c.spec.dtype)}, its bulk (1st..99th percentile) "
        f"{format_number(low)}..{format_number(high)}, beyond "
        f"-{format_number(c.threshold)}..{format_number(c.threshold)}: outside NNC's rule that inputs "
        f"lie in about -1..1; {hint}"
    )


def _bulk(s: TensorStats) -> tuple[float, float]:
    low, high = (s.percentile(q) for q in BULK)
    return (s.min if low is None else low), (s.max if high is None else high)


# Per-feature moments of an Input's data (a feature: one position of a sample), merged across batches
# as Chan et al. merge them, so that any batching gives the same figures.
_FEATURE_MAGNITUDE = 1e150  # squares of differences of such values stay within float64
_FEATURE_BLOCK = 1 << 20  # values a block: float64 copies of the data stay at 8 MiB


def _measure_features(p: Probe) -> dict[str, Any]:
    x = p.output
    width = prod(x.shape[1:])
    moments = {ROWS: 0, NONFINITE: 0, FEATURE_MEAN: np.zeros(width), FEATURE_M2: np.zeros(width)}
    # nan-inf reports non-finite values; values past _FEATURE_MAGNITUDE would overflow the squared
    # deviations (float64 data near 1e308): there is no per-feature advice for either
    if p.output_stats.finite < p.output_stats.count or p.output_stats.max_abs > _FEATURE_MAGNITUDE:
        return {
            ROWS: len(x),
            NONFINITE: 1,
            FEATURE_MEAN: np.full(width, np.nan),
            FEATURE_M2: np.full(width, np.nan),
        }
    rows = x.reshape(len(x), width)
    step = max(1, _FEATURE_BLOCK // max(1, width))
    for start in range(0, len(rows), step):
        block = rows[start : start + step]
        # Sums of values and of squares in float64 (a sixth of the time of deviations from the block's
        # mean): m2 = sum x^2 - n mean^2 keeps about 16 - 2 log10(|mean| / std) digits, which
        # advice in three digits has to spare unless a feature varies by less than a millionth of its mean.
        total = block.sum(axis=0, dtype=np.float64)
        squares = np.square(block, dtype=np.float64).sum(axis=0)  # exact squares of float32 values
        mean = total / len(block)
        part = {ROWS: len(block), NONFINITE: 0, FEATURE_MEAN: mean}
        moments = _merge_moments(moments, {**part, FEATURE_M2: np.maximum(squares - total * mean, 0.0)})
    return moments


def _merge_moments(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per-feature count, mean and sum of squared deviations of two sets of rows together."""
    n = a[ROWS] + b[ROWS]
    if not a[ROWS] or not b[ROWS]:
        return {**(b if not a[ROWS] else a), ROWS: n, NONFINITE: max(a[NONFINITE], b[NONFINITE])}
    delta = b[FEATURE_MEAN] - a[FEATURE_MEAN]
    return {
        ROWS: n,
        NONFINITE: max(a[NONFINITE], b[NONFINITE]),
        FEATURE_MEAN: a[FEATURE_MEAN] + delta * (b[ROWS] / n),
        FEATURE_M2: a[FEATURE_M2] + b[FEATURE_M2] + delta**2 * (a[ROWS] * b[ROWS] / n),
    }


def _feature_moments(m: dict[str, Any], samples: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each feature's mean and std, where there are features to compare and samples to compare them on."""
    if samples < UNIT_SAMPLES or m[NONFINITE] or m[FEATURE_MEAN].size < 2:
        return None
    return m[FEATURE_MEAN], np.sqrt(m[FEATURE_M2] / m[ROWS])


def _scales_differ(mean: np.ndarray, std: np.ndarray) -> bool:
    """Whether the features need a scale each: their spreads differ by FEATURE_SPREADS or more, or their
    means differ by far more than they vary (FEATURE_LEVELS)."""
    varying = std[std > 0]
    if varying.size < 2:
        return False
    typical_high = np.percentile(varying, 90, method="higher")
    typical_low = np.percentile(varying, 10, method="lower")
    if typical_high >= FEATURE_SPREADS * typical_low:
        return True
    return float(np.var(mean)) > FEATURE_LEVELS * float(np.mean(std**2))


def _standardise_hint(layer: Layer, mean: np.ndarray, std: np.ndarray) -> str:
    """Per-feature standardisation, with the figures of the features of the largest and the smallest spread."""
    varying = np.flatnonzero(std > 0)
    widest, narrowest = varying[np.argmax(std[varying])], varying[np.argmin(std[varying])]
    examples = "; ".join(
        f"feature {_feature_name(layer, i)}: (x - {format_number(mean[i])}) / {format_number(std[i])}"
        for i in (widest, narrowest)
    )
    return (
        f"its {mean.size} features lie on different scales (means "
        f"{format_number(mean.min())}..{format_number(mean.max())}, stds "
        f"{format_number(std.min())}..{format_number(std.max())}), so one common scaling would squeeze some of "
        "them flat: standardise "
        f"each feature, (x - mean) / std with that feature's mean and std over the training data ({examples})"
    )


def _feature_name(layer: Layer, index: int) -> str:
    if len(layer.shape) <= 1:
        return str(index)
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(index, layer.shape)) + "]"


def _declared_range(c: Context) -> str | None:
    declared, data = c.layer.props["range"], c.output
    if declared is None or not data.finite:
        return None
    if _as(declared[0], c.spec.dtype) <= data.min and data.max <= _as(declared[1], c.spec.dtype):
        return None
    return (
        f"the data for {c.layer.title} spans {_exact_span(data, c.spec.dtype)}, outside the range "
        f"{_range(declared)} the spec declares for it: the data or the declaration is wrong"
    )


def _predict_input_range(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    low, high = (x.quantile(q / 100) for q in BULK)
    if -threshold <= low and high <= threshold:
        return None
    bounded = np.isfinite(x.low) and np.isfinite(x.high)
    return (
        f"the data for {layer.title} is expected to {_expected_span(x)}, its bulk (1st..99th percentile) "
        f"{format_number(low)}..{format_number(high)}, beyond "
        f"-{format_number(threshold)}..{format_number(threshold)}: outside NNC's rule that inputs "
        "lie in about -1..1"
        + (f"; {_rescale_hint(x.low, x.high, dtype, x.mean, x.std)}" if bounded else "; normalise it")
    )
