"""Checks of the data entering the network: NaN and Inf anywhere, an Input's range and the scales of its
features, an Input's declared range."""

from __future__ import annotations

from collections.abc import Mapping
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.estimate import Estimate
from ..core.numbers import format_number
from ..core.printable import quoted_name
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
    from ..layers.catalog import LayerType
    from ..spec.model import Layer, Spec

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


# Data of a dataset that feeds its images as they are (NNC's ImageNormalization=0, "unnormalised") is
# meant to reach the network as 0..255 and be scaled by it: input-range then judges what the first layer
# that takes the values as values receives, past the layers that only scale, shift, reshape, crop, pool
# or augment them (PASSING), unless a normalisation layer standardises them first (NORMALISING) or a
# logical layer tests them (a comparison's value is set for the scale it reads: U-Net's label <= 254).
PASSING = frozenset(
    {
        *("Identity", "Reshape", "Flatten", "Broadcast", "BroadcastTo", "Transpose", "Slice", "Pad", "Flip"),
        *("Shift", "Tile", "Concatenate", "Stack", "Dropout", "Unlink", "Interpolate", "Unpooling"),
        *("MulScalar", "AddScalar", "RSubScalar", "Mul2", "Add2", "Sub2", "Div2", "MulN", "AddN"),
        *("MeanSubtraction", "MaxPooling", "AveragePooling", "SumPooling", "GlobalAveragePooling"),
        *("ImageAugmentation", "RandomCrop", "RandomFlip", "RandomShift", "RandomErase"),
    }
)
NORMALISING = frozenset(
    {
        "BatchNormalization",
        "FusedBatchNormalization",
        "LayerNormalization",
        "InstanceNormalization",
        "GroupNormalization",
    }
)
# What validate assumes of an unnormalised image: 8-bit, 0..255 (NNC's samples' images all are). An
# Input's shape says whether it holds images, as NNC's dataset gives them: (1, H, W) or (3, H, W).
EIGHT_BIT = (0.0, 255.0)
IMAGE_CHANNELS = (1, 3)
LOGICAL = "Logical"  # the catalog's category of comparisons and logical operations


def image_like(shape: tuple[int, ...] | None) -> bool:
    """Whether a sample of this shape is an image as NNC's datasets give one: grayscale or color, H x W."""
    return shape is not None and len(shape) == 3 and shape[0] in IMAGE_CHANNELS and shape[1] > 1 and shape[2] > 1


def _takes_any_scale(layer_type: LayerType) -> bool:
    """A normalisation layer (it standardises what it reads) or a logical one (it tests it)."""
    return layer_type.name in NORMALISING or layer_type.category == LOGICAL


def first_takers(spec: Spec, source: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Where the network takes a source's values: (the layer, the layer it reads them from, the PASSING
    layers between) for each path from ``source``, in the spec's order; a path that meets a NORMALISING
    or a logical layer ends there, judged by nothing."""
    readers: dict[str, list[str]] = {}
    for name in spec.order:
        for read in dict.fromkeys(spec.layers[name].inputs):
            readers.setdefault(read, []).append(name)
    takers: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    pending, seen = [(source, ())], {source}
    while pending:
        read, between = pending.pop(0)
        for name in readers.get(read, ()):
            type_name = spec.layers[name].type.name
            if type_name in PASSING and name not in seen:
                seen.add(name)
                pending.append((name, (*between, name)))
            elif type_name not in PASSING and not _takes_any_scale(spec.layers[name].type):
                takers.setdefault(name, (name, read, between))
    return sorted(takers.values(), key=lambda taken: spec.positions[taken[0]])


def _unnormalised_message(
    spec: Spec,
    source: Layer,
    taken: tuple[str, str, tuple[str, ...]],
    span: tuple[float, float],
    bulk: tuple[float, float],
    threshold: float,
    expected: bool = False,
) -> str:
    """What input-range says when a source's unnormalised values reach a layer unscaled."""
    taker, _, between = taken
    low, high = span
    through = " through " + ", ".join(spec.layers[name].title for name in between) if between else " directly"
    reaches = "is expected to reach" if expected else "reaches"
    scale = 2.0 / (high - low) if high > low else None
    hint = (
        f"MulScalar {format_number(scale)} then AddScalar {format_number(-1.0 - low * scale)} map "
        f"{format_number(low)}..{format_number(high)} onto -1..1, as NNC's samples scale their 0..255 images"
        if scale is not None
        else "scale it"
    )
    return (
        f"the data for {source.title} holds its dataset's images as they are (image_normalization false), "
        f"for the network to scale itself, but {reaches} {spec.layers[taker].title}{through} as "
        f"{format_number(low)}..{format_number(high)}, its bulk (1st..99th percentile) "
        f"{format_number(bulk[0])}..{format_number(bulk[1])}, beyond -{format_number(threshold)}.."
        f"{format_number(threshold)}: outside NNC's rule that inputs lie in about -1..1; scale it before "
        f"{quoted_name(taker)} ({hint}), or normalise the dataset's images (image_normalization true)"
    )


def _unnormalised_input_range(c: Context) -> str | None:
    """input-range of a source fed unnormalised: the values each first taker reads, judged as an Input's."""
    limit = _as(c.threshold, c.spec.dtype)
    for taken in first_takers(c.spec, c.layer.name):
        read = c.stats.get(taken[1])
        if read is None or not read.output.finite:
            continue
        low, high = _bulk(read.output)
        if not (-limit <= low and high <= limit):
            span = (read.output.min, read.output.max)
            return _unnormalised_message(c.spec, c.layer, taken, span, (low, high), c.threshold)
    return None


def predict_unnormalised_input_range(
    spec: Spec, layer: Layer, found: Mapping[str, Estimate | None], threshold: float | None
) -> str | None:
    """input-range's prediction for a source fed unnormalised: as _unnormalised_input_range, on estimates."""
    if threshold is None:
        return None
    for taken in first_takers(spec, layer.name):
        x = found.get(taken[1])
        if x is None or not np.isfinite(x.mean):
            continue
        low, high = (x.quantile(q / 100) for q in BULK)
        if not (-threshold <= low and high <= threshold):
            span = (x.low, x.high) if np.isfinite(x.low) and np.isfinite(x.high) else (low, high)
            return _unnormalised_message(spec, layer, taken, span, (low, high), threshold, expected=True)
    return None


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
    the extremes, so that standardised data (a few values past 3 in a thousand) passes and 0..255 does not.
    Data fed unnormalised is judged where the network takes it (_unnormalised_input_range)."""
    if c.layer.dataset in c.unnormalised:
        return _unnormalised_input_range(c)
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
        wide = block.astype(np.float64)  # once: summing and squaring each cast again, and squared into a copy
        total = wide.sum(axis=0)
        squares = np.einsum("ij,ij->j", wide, wide)  # exact squares of float32 values, summed with no temporary
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
