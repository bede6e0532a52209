"""Normalization layers, as nnabla (NNC's engine) defines them.

Every standardising layer computes o = (i - mean) / sqrt(var + epsilon) * gamma + beta, with
epsilon inside the square root and the biased variance (divided by the count, not count - 1);
they differ in which values share a mean and a variance:

- BatchNormalization: each index of ``axes`` (a channel), over the batch and the other axes;
  or, with ``batch_stat: false``, the stored running statistics ``mean`` and ``var``;
- LayerNormalization: each sample, over all its values;
- InstanceNormalization: each sample and channel;
- GroupNormalization: each sample and group of num_groups consecutive channels.

NNC axes exclude the batch axis (axis a is numpy axis a + 1), so a ``batch_axis`` of -1 is the
batch axis itself; a ``batch_axis`` b >= 0 makes axis b a further batch axis: statistics are then
taken separately for each of its indices as well.

Statistics are computed in float64 on the values divided by their largest magnitude, so no sum
of squares overflows or underflows for any finite input, and the result is rounded to the
spec's dtype once. nnspec runs one forward pass and updates no running statistic; which statistics a
run uses (stored at evaluation, the batch's in training) is nnspec.spec.semantics' choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import isfinite, prod, sqrt
from typing import Any

import numpy as np

from ..core.estimate import Estimate
from .catalog import PARAMETER_SCOPE, LayerType, Parameter, Property, Role, Shape, ShapeError, check_axis, register

# Layer, instance and group normalization's shared properties.
CHANNEL_AXIS = Property("channel_axis", "uint", 0, "Axis of the channels (batch axis excluded).")
BATCH_AXIS = Property(
    "batch_axis",
    "int",
    -1,
    "-1: only the batch axis separates statistics; an axis 0.. of the sample: statistics are also "
    "taken separately for each of its indices.",
)


# --- shared numerics ---------------------------------------------------------------------------


def _standardize(x: np.ndarray, axes: tuple[int, ...], epsilon: float) -> np.ndarray:
    """(x - mean) / sqrt(var + epsilon) in float64, mean and biased variance taken over ``axes``.

    With s the largest magnitude over the same axes, u = x / s lies in -1..1, and
    (x - mean) / sqrt(var + eps) = (u - mean(u)) / sqrt(var(u) + eps / s^2): no square of a
    large or tiny value is ever formed. The denominator is hypot(sqrt(var(u)), sqrt(eps) / s).
    """
    x = x.astype(np.float64)
    s = np.max(np.abs(x), axis=axes, keepdims=True, initial=0.0)
    s = np.where(s > 0, s, 1.0)  # an all-zero group stays 0 (0 / sqrt(eps))
    u = x / s
    d = u - u.mean(axis=axes, keepdims=True)
    v = np.mean(d * d, axis=axes, keepdims=True)
    # sqrt(eps) / s overflows only for s below sqrt(eps) / dtype max (a group of subnormal float64
    # values): the denominator is then inf and the result 0, the true result being below the
    # smallest normal number. epsilon 0 with a constant group is 0 / 0 = NaN, as in nnabla.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return d / np.hypot(np.sqrt(v), np.sqrt(epsilon) / s)


def _in_dtype(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """y rounded once to the spec's dtype."""
    with np.errstate(over="ignore"):  # beyond the dtype's range: inf, the correctly rounded result
        return y.astype(dtype)


def _scale_shift(xhat: np.ndarray, params: Mapping[str, np.ndarray], dtype: np.dtype) -> np.ndarray:
    """o = xhat * gamma + beta, gamma and beta laid out to broadcast against the batch."""
    with np.errstate(over="ignore"):  # |xhat gamma| beyond float64's range: inf, as it should be
        y = xhat * params["gamma"].astype(np.float64) + params["beta"].astype(np.float64)
    return _in_dtype(y, dtype)


def _reduced(ndim: int, kept: set[int]) -> tuple[int, ...]:
    """The numpy axes that statistics run over: every axis not kept."""
    return tuple(axis for axis in range(ndim) if axis not in kept)


def _check_epsilon(props: Mapping[str, Any]) -> None:
    epsilon = props["epsilon"]
    if not epsilon >= 0:  # also NaN
        raise ShapeError(f"epsilon {epsilon} is negative: it is added to a variance or a sum of powers", "epsilon")


def _check_batch_axis(batch_axis: int, shape: Shape) -> None:
    if batch_axis != -1:
        if batch_axis < -1:
            raise ShapeError(
                f"batch_axis {batch_axis} is out of range: -1 is the batch axis, 0 and up the sample's axes",
                "batch_axis",
            )
        check_axis(batch_axis, shape, "batch_axis")


def _batch_axes(batch_axis: int) -> set[int]:
    """The numpy axes statistics are kept separate for: the batch axis, and batch_axis if it names another."""
    return {0} if batch_axis < 0 else {0, batch_axis + 1}


def _channel_shape(shape: Shape, channel_axis: int) -> Shape:
    """nnabla's gamma and beta per channel: (1, ..., C, ..., 1), the batch axis included as 1."""
    return (1, *(n if i == channel_axis else 1 for i, n in enumerate(shape)))


def _beta_gamma(shape_rule, layout: str) -> tuple[Parameter, Parameter]:
    return (
        Parameter("beta", "Constant", 0.0, shape_rule, f"Shift beta added after normalizing, shape {layout}."),
        Parameter("gamma", "Constant", 1.0, shape_rule, f"Scale gamma applied after normalizing, shape {layout}."),
    )


def _per_sample_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """Layer, instance and group normalization: each sample standardised with its own statistics."""
    return _standardized_estimate(inputs[0], props["epsilon"], params)


def _standardized_estimate(x: Estimate, epsilon: float, params: Mapping[str, tuple[float, float]]) -> Estimate:
    """o = gamma xhat + beta, xhat of mean 0 and variance s^2 / (s^2 + eps), s the input's spread:
    a spread well above sqrt(eps) is standardised to 1, one far below it shrinks towards 0."""
    spread = x.std**2
    share = 1.0 if not isfinite(spread) else spread / (spread + epsilon) if spread + epsilon > 0 else 0.0
    g_mean, g_var = params.get("gamma", (1.0, 0.0))
    b_mean, b_var = params.get("beta", (0.0, 0.0))
    return Estimate(b_mean, sqrt(max((g_mean**2 + g_var) * share + b_var, 0.0)))


# --- BatchNormalization --------------------------------------------------------------------------


def _bn_shape(shape: Shape, axes: Sequence[int]) -> Shape:
    """nnabla's layout of beta, gamma, mean and var: the input's shape with the batch axis as 1
    and every axis not in axes as 1, e.g. (1, C, 1, 1) for a (C, H, W) sample and axes [0]."""
    return (1, *(n if i in axes else 1 for i, n in enumerate(shape)))


def batch_normalization(inputs, props, params):
    """o = (i - mean) / sqrt(var + epsilon) * gamma + beta, per index of axes; mean and biased var
    of this batch (batch_stat) or the stored running mean and var"""
    x = inputs[0]
    kept = {axis + 1 for axis in props["axes"]}
    if props["batch_stat"]:
        return _scale_shift(_standardize(x, _reduced(x.ndim, kept), props["epsilon"]), params, x.dtype)
    # In float64 for every dtype: (i - mean) is taken as (i/2 - mean/2) * 2 after scaling, since i - mean
    # itself may overflow for float64 values beyond half the range while the scaled result does not.
    # Halving is exact except for subnormal float64 values, which lose at most their last bit.
    w = x.astype(np.float64)
    mean, var = params["mean"].astype(np.float64), params["var"].astype(np.float64)
    gamma, beta = params["gamma"].astype(np.float64), params["beta"].astype(np.float64)
    # var + epsilon = 0 (epsilon 0 and a stored variance of 0) divides by zero: +-inf, or NaN where
    # i = mean, as nnabla computes (i - mean) * gamma / sqrt(var + eps); a negative stored var gives NaN.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k = gamma / np.sqrt(var + props["epsilon"])
        y = ((0.5 * w - 0.5 * mean) * k) * 2.0 + beta
    return _in_dtype(y, x.dtype)


def batch_normalization_shape(shapes, props):
    shape = shapes[0]
    axes = props["axes"]
    for axis in axes:
        check_axis(axis, shape, "axes")
    if len(set(axes)) != len(axes):
        raise ShapeError(f"axes {list(axes)} names an axis twice", "axes")
    decay_rate = props["decay_rate"]
    if not 0.0 <= decay_rate <= 1.0:
        raise ShapeError(f"decay_rate {decay_rate} is outside 0..1 (NNC's rule for BatchNormalization)", "decay_rate")
    _check_epsilon(props)
    return shape


def batch_normalization_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """Batch statistics: a standardised spread, then gamma and beta. Stored statistics: the
    input mapped by (i - mean) gamma / sqrt(var + eps) + beta, the parameters at their means
    (hard bounds carried along when every parameter is a constant)."""
    x, epsilon = inputs[0], props["epsilon"]
    if props["batch_stat"]:
        return _standardized_estimate(x, epsilon, params)
    (m_mean, m_var), (v_mean, v_var) = params["mean"], params["var"]
    (g_mean, g_var), (b_mean, b_var) = params["gamma"], params["beta"]
    denominator = v_mean + epsilon
    if not denominator > 0:
        return Estimate(float("inf"), float("inf"))  # a division by zero: nothing to propagate
    k = g_mean / sqrt(denominator)
    mean = (x.mean - m_mean) * k + b_mean
    var = (g_mean**2 + g_var) / denominator * (x.std**2 + m_var) + g_var / denominator * (x.mean - m_mean) ** 2
    if m_var == v_var == g_var == b_var == 0.0 and isfinite(x.low) and isfinite(x.high):
        ends = sorted(((x.low - m_mean) * k + b_mean, (x.high - m_mean) * k + b_mean))
        return Estimate(mean, sqrt(max(var, 0.0)), ends[0], ends[1], x.uniform)
    return Estimate(mean, sqrt(max(var + b_var, 0.0)))


_BN_LAYOUT = "(1, *sample shape) with 1 for every axis not in axes, e.g. (1, C, 1, 1) for a (C, H, W) sample"


def _bn_parameter_shape(shapes, props) -> Shape:
    return _bn_shape(shapes[0], props["axes"])


BATCH_NORMALIZATION = register(
    LayerType(
        name="BatchNormalization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = (i - mean) / sqrt(var + epsilon) * gamma + beta",
        description="Standardises each channel (each index of axes) with the batch's statistics or stored "
        "running ones, then scales by gamma and shifts by beta.",
        forward=batch_normalization,
        infer_shape=batch_normalization_shape,
        estimate=batch_normalization_estimate,
        function_scope="bn",
        properties=(
            Property(
                "axes",
                "uint_array",
                [0],
                "Axes that keep their own statistics (the channels; batch axis excluded); mean and variance run "
                "over the batch and every other axis.",
            ),
            Property(
                "decay_rate",
                "float",
                0.9,
                "Decay of the running mean and variance in training (0..1); a forward pass does not use it.",
            ),
            Property("epsilon", "float", 0.0001, "Added to the variance inside the square root."),
            Property(
                "batch_stat",
                "bool",
                True,
                "Training: normalise with this batch's own mean and variance (NNC's default) or, false, with the "
                "stored running mean and var. NNC's evaluation, and so nnspec run without --training, always uses "
                "the stored ones.",
            ),
            PARAMETER_SCOPE,
        ),
        test_arguments=(("batch_stat", False),),  # NNC's definition: batch_stat -test=False
        parameters=(
            *_beta_gamma(_bn_parameter_shape, _BN_LAYOUT),
            Parameter("mean", "Constant", 0.0, _bn_parameter_shape, f"Running mean, shape {_BN_LAYOUT}."),
            Parameter(
                "var",
                "Constant",
                0.0,
                _bn_parameter_shape,
                f"Running (unbiased) variance, shape {_BN_LAYOUT}; NNC initialises it to 0.",
            ),
        ),
        range_note="NNC initialises var to 0, so untrained stored statistics (used at evaluation) multiply the "
        "input by 1/sqrt(epsilon) (100 for 1e-4). With batch_stat in training each batch is standardised with its "
        "own mean and biased variance, so an output depends on the other samples in its batch (--batch-size): a "
        "batch of one sample of (C,) values outputs beta only. A zero "
        "variance with epsilon 0 divides by zero: NaN (or +-inf), as in nnabla, which the nan-inf check reports.",
    )
)


# --- LayerNormalization ----------------------------------------------------------------------------


def layer_normalization(inputs, props, params):
    """o = (i - mean) / sqrt(var + epsilon) * gamma + beta, mean and biased var over each sample
    (and separately for each index of batch_axis if it names a sample axis); gamma and beta per value"""
    x = inputs[0]
    kept = _batch_axes(props["batch_axis"])
    return _scale_shift(_standardize(x, _reduced(x.ndim, kept), props["epsilon"]), params, x.dtype)


def layer_normalization_shape(shapes, props):
    _check_batch_axis(props["batch_axis"], shapes[0])
    _check_epsilon(props)
    return shapes[0]


def _ln_shape(shapes, props) -> Shape:
    """nnabla's layout: the input's shape with every batch axis as 1, e.g. (1, C, H, W)."""
    batch_axis = props["batch_axis"]
    return (1, *(1 if i == batch_axis else n for i, n in enumerate(shapes[0])))


register(
    LayerType(
        name="LayerNormalization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = (i - mean) / sqrt(var + epsilon) * gamma + beta",
        description="Standardises each sample with its own mean and variance over all its values, then "
        "scales and shifts each value by its own gamma and beta.",
        forward=layer_normalization,
        infer_shape=layer_normalization_shape,
        estimate=_per_sample_estimate,
        function_scope="layer_normalization",
        properties=(
            BATCH_AXIS,
            Property("epsilon", "float", 1e-5, "Added to the variance inside the square root."),
            PARAMETER_SCOPE,
        ),
        parameters=_beta_gamma(_ln_shape, "(1, *sample shape) with 1 at batch_axis, one value per input value"),
        range_note="The input's scale does not matter: any spread well above sqrt(epsilon) is standardised to 1; a "
        "sample whose values are all equal outputs beta (NaN with epsilon 0, as in nnabla).",
    )
)


# --- InstanceNormalization ----------------------------------------------------------------------


def instance_normalization(inputs, props, params):
    """o = (i - mean) / sqrt(var + epsilon) * gamma + beta, mean and biased var over each sample's
    channel (and separately for each index of batch_axis); gamma and beta per channel"""
    x = inputs[0]
    kept = _batch_axes(props["batch_axis"]) | {props["channel_axis"] + 1}
    return _scale_shift(_standardize(x, _reduced(x.ndim, kept), props["epsilon"]), params, x.dtype)


def _check_channel_axes(shapes, props) -> None:
    shape = shapes[0]
    check_axis(props["channel_axis"], shape, "channel_axis")
    _check_batch_axis(props["batch_axis"], shape)
    if props["batch_axis"] == props["channel_axis"]:
        raise ShapeError(f"batch_axis and channel_axis both name axis {props['channel_axis']}", "batch_axis")
    _check_epsilon(props)


def instance_normalization_shape(shapes, props):
    _check_channel_axes(shapes, props)
    return shapes[0]


def _channel_parameter_shape(shapes, props) -> Shape:
    return _channel_shape(shapes[0], props["channel_axis"])


_CHANNEL_LAYOUT = "(1, ..., C, ..., 1): the input's shape with 1 for every axis but channel_axis"

register(
    LayerType(
        name="InstanceNormalization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = (i - mean) / sqrt(var + epsilon) * gamma + beta",
        description="Standardises each channel of each sample with its own mean and variance, then scales "
        "and shifts each channel by its gamma and beta.",
        forward=instance_normalization,
        infer_shape=instance_normalization_shape,
        estimate=_per_sample_estimate,
        function_scope="instance_normalization",
        properties=(
            CHANNEL_AXIS,
            BATCH_AXIS,
            Property("epsilon", "float", 1e-5, "Added to the variance inside the square root."),
            PARAMETER_SCOPE,
        ),
        parameters=_beta_gamma(_channel_parameter_shape, _CHANNEL_LAYOUT),
        range_note="The input's scale does not matter: any spread well above sqrt(epsilon) is standardised to 1. "
        "A channel of one value (a sample holding nothing but channels) always outputs beta.",
    )
)


# --- GroupNormalization ---------------------------------------------------------------------------


def group_normalization(inputs, props, params):
    """o = (i - mean) / sqrt(var + epsilon) * gamma + beta, mean and biased var over each sample's
    group of C / num_groups consecutive channels; gamma and beta per channel"""
    x = inputs[0]
    channel, batch_axis, groups = props["channel_axis"], props["batch_axis"], props["num_groups"]
    shape = x.shape[1:]
    # nnabla's reshape: the channel axis C becomes (num_groups, C / num_groups) at numpy axes c + 1, c + 2
    grouped = x.reshape((len(x), *shape[:channel], groups, shape[channel] // groups, *shape[channel + 1 :]))
    kept = {0, channel + 1}
    if batch_axis >= 0:
        kept.add(batch_axis + 1 if batch_axis < channel else batch_axis + 2)
    xhat = _standardize(grouped, _reduced(grouped.ndim, kept), props["epsilon"]).reshape(x.shape)
    return _scale_shift(xhat, params, x.dtype)


def group_normalization_shape(shapes, props):
    _check_channel_axes(shapes, props)
    channels, groups = shapes[0][props["channel_axis"]], props["num_groups"]
    if channels % groups:
        raise ShapeError(
            f"its {channels} channels (axis {props['channel_axis']}) do not split into num_groups {groups} "
            "groups of equal size",
            "num_groups",
        )
    return shapes[0]


register(
    LayerType(
        name="GroupNormalization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = (i - mean) / sqrt(var + epsilon) * gamma + beta",
        description="Standardises each group of consecutive channels of each sample with its own mean and "
        "variance, then scales and shifts each channel by its gamma and beta.",
        forward=group_normalization,
        infer_shape=group_normalization_shape,
        estimate=_per_sample_estimate,
        function_scope="group_normalization",
        properties=(
            CHANNEL_AXIS,
            BATCH_AXIS,
            Property(
                "num_groups",
                "pint",
                4,
                "Number of groups the channels are split into (channels 0..C/G-1 form the first); it must divide "
                "the number of channels.",
            ),
            Property("epsilon", "float", 1e-5, "Added to the variance inside the square root."),
            PARAMETER_SCOPE,
        ),
        parameters=_beta_gamma(_channel_parameter_shape, _CHANNEL_LAYOUT),
        range_note="The input's scale does not matter: any spread well above sqrt(epsilon) is standardised to 1; "
        "a group whose values are all equal outputs beta (NaN with epsilon 0, as in nnabla).",
    )
)


# --- NormNormalization ------------------------------------------------------------------------------


def _norm_axes(axes: Sequence[int], ndim: int) -> tuple[int, ...]:
    """numpy axes of NNC axes (-1 the batch axis); an empty list reduces every axis, as in nnabla."""
    return tuple(sorted(axis + 1 for axis in axes)) if axes else tuple(range(ndim))


def norm_normalization(inputs, props, params):
    """o = i / (sum |i|^p + epsilon)^(1/p), the sum over axes"""
    x = inputs[0]
    p, epsilon = props["p"], props["epsilon"]
    axes = _norm_axes(props["axes"], x.ndim)
    w = x.astype(np.float64)
    # With s the largest magnitude and u = i / s in -1..1, S = sum |u|^p lies in 1..n (0 for an all-zero
    # group) and sum |i|^p = s^p S. Where s^p <= 1 the denominator (s^p S + eps)^(1/p) is formed as it is
    # (no overflow; s^p S may underflow beside eps); where s^p > 1 the result is u / (S + eps / s^p)^(1/p)
    # (eps / s^p < eps). With epsilon 0 the result is u / S^(1/p), and 0 / 0 = NaN for an all-zero
    # group, as in nnabla.
    s = np.max(np.abs(w), axis=axes, keepdims=True, initial=0.0)
    s = np.where(s > 0, s, 1.0)
    u = w / s
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # np.where evaluates both branches: the one not taken may overflow (s^p, for large s) or divide
        # by an underflowed s^p; only the branch taken is kept, and it is finite.
        total = np.sum(np.abs(u) ** p, axis=axes, keepdims=True)
        if epsilon == 0:
            y = u / total ** (1.0 / p)
        else:
            sp = s**p
            y = np.where(sp <= 1, w / (sp * total + epsilon) ** (1.0 / p), u / (total + epsilon / sp) ** (1.0 / p))
    return _in_dtype(y, x.dtype)


def norm_normalization_shape(shapes, props):
    shape = shapes[0]
    axes = props["axes"]
    for axis in axes:
        if not -1 <= axis < len(shape):
            raise ShapeError(
                f"axes {list(axes)} names axis {axis}, but -1 is the batch axis and 0.. the sample's axes, so with "
                f"{len(shape)} ax{'i' if len(shape) == 1 else 'e'}s the values run from -1 to {len(shape) - 1} "
                "(NNC's default [-1, 0, 1, 2] fits (C, H, W) samples)",
                "axes",
            )
    if len(set(axes)) != len(axes):
        raise ShapeError(f"axes {list(axes)} names an axis twice", "axes")
    if not props["p"] >= 1:
        raise ShapeError(f"p {props['p']} is below 1: nnabla's norm needs p >= 1", "p")
    _check_epsilon(props)
    return shape


def norm_normalization_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """i / (n E|i|^p + eps)^(1/p), n the number of values summed in one sample (the batch axis,
    if reduced, counted as a batch of one), E|i|^p by quadrature of the input's estimate."""
    x, p = inputs[0], props["p"]
    sample = shapes[0]
    n = prod(sample[a] for a in props["axes"] if a >= 0) if props["axes"] else prod(sample)
    nodes, weights = x.points()
    with np.errstate(over="ignore", under="ignore"):
        moment = float(weights @ np.abs(nodes) ** p)
        denominator = (n * moment + props["epsilon"]) ** (1.0 / p)
    if not (isfinite(denominator) and denominator > 0):
        return Estimate(0.0, 0.0, -1.0, 1.0) if denominator == float("inf") else Estimate(float("inf"), float("inf"))
    c = 1.0 / denominator
    return Estimate(x.mean * c, x.std * c, max(-1.0, x.low * c), min(1.0, x.high * c))


register(
    LayerType(
        name="NormNormalization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = i / (sum |i|^p + epsilon)^(1/p)",
        description="Divides the values by their p-norm over axes, epsilon added before the p-th root.",
        forward=norm_normalization,
        infer_shape=norm_normalization_shape,
        estimate=norm_normalization_estimate,
        properties=(
            Property("p", "float", 2.0, "Order of the norm (at least 1)."),
            Property(
                "axes",
                "int_array",
                [-1, 0, 1, 2],
                "Axes the norm runs over: -1 is the batch axis, 0.. the sample's axes; an empty list, every "
                "axis. NNC's default -1,0,1,2 is the whole batch of (C, H, W) samples.",
            ),
            Property("epsilon", "float", 1e-12, "Added to the sum of |i|^p before the p-th root."),
        ),
        output_range=(-1.0, 1.0),
        range_note="|o| <= 1 for any input, as |i| never exceeds the p-norm. With the batch axis in axes (NNC's "
        "default) one norm spans the whole batch, so an output depends on the other samples in its batch. A "
        "norm far below epsilon^(1/p) (1e-6 for p 2) no longer normalises: the values are divided by about "
        "epsilon^(1/p).",
    )
)


# --- MeanSubtraction -------------------------------------------------------------------------------


def mean_subtraction(inputs, props, params):
    """o = i - mean; with update_running_mean, mean is first moved to mean + (batch mean - mean) / (t + 1)"""
    x = inputs[0]
    w = x.astype(np.float64)
    running = params["mean"].astype(np.float64)
    if props["update_running_mean"]:
        # nnabla's training step: t counts the batches the running mean has seen (its float value cut to
        # an integer; a negative count counts as 0), the batch mean runs over the batch and the axes before
        # base_axis, and the output subtracts the updated mean (the batch's own mean when t = 0). Taken as
        # the convex combination mean t/(t+1) + batch mean/(t+1), which cannot overflow; the batch mean as
        # s * mean(i / s), s the largest magnitude.
        axes = tuple(range(props["base_axis"] + 1))
        count = max(float(np.trunc(params["t"].astype(np.float64).reshape(-1)[0])), 0.0)
        s = np.max(np.abs(w), axis=axes, initial=0.0)
        s = np.where(s > 0, s, 1.0)
        batch_mean = s * np.mean(w / s, axis=axes)
        running = running * (count / (count + 1)) + batch_mean / (count + 1)
    with np.errstate(over="ignore"):  # |i - mean| beyond float64's range: inf, as it should be
        return _in_dtype(w - running, x.dtype)


def mean_subtraction_shape(shapes, props):
    check_axis(props["base_axis"], shapes[0], "base_axis")
    return shapes[0]


def mean_subtraction_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """i - mean: the mean shifts by the parameter's mean (with update_running_mean, by the running
    mean moved towards the input's own mean by 1/(t + 1))."""
    x = inputs[0]
    m_mean, m_var = params["mean"]
    if props["update_running_mean"]:
        count = max(float(np.trunc(params["t"][0])), 0.0)
        shift = (m_mean * count + x.mean) / (count + 1)
        return Estimate(x.mean - shift, x.std)
    if m_var == 0.0:
        return Estimate(x.mean - m_mean, x.std, x.low - m_mean, x.high - m_mean, x.uniform)
    return Estimate(x.mean - m_mean, sqrt(x.std**2 + m_var))


register(
    LayerType(
        name="MeanSubtraction",
        category="Others(Pre Process)",
        formula="o = i - mean",
        description="Subtracts a running mean from each value (nnabla's mean_subtraction), so the data is "
        "centred at 0.",
        forward=mean_subtraction,
        infer_shape=mean_subtraction_shape,
        estimate=mean_subtraction_estimate,
        function_scope="mean_subtraction",
        properties=(
            Property(
                "base_axis",
                "uint",
                0,
                "First axis of the mean's shape (batch axis excluded); the axes before it are averaged over, like "
                "the batch.",
            ),
            Property(
                "update_running_mean",
                "bool",
                True,
                "Training: move the running mean towards this batch's mean by 1/(t + 1) before subtracting it "
                "(NNC's default); false: subtract the stored mean. NNC's evaluation, and so nnspec run without "
                "--training, always subtracts the stored mean.",
            ),
            PARAMETER_SCOPE,
        ),
        test_arguments=(("update_running_mean", False),),  # NNC's definition: update_running_mean -test=False
        parameters=(
            Parameter(
                "mean",
                "Constant",
                0.0,
                lambda shapes, props: tuple(shapes[0][props["base_axis"] :]),
                "Running mean, shape: the sample's shape from base_axis on.",
            ),
            Parameter(
                "t",
                "Constant",
                0.0,
                lambda shapes, props: (1,),
                "Number of batches the running mean has seen, shape (1,).",
            ),
        ),
        range_note="In training (--training), update_running_mean (NNC's default) with an untrained t of 0 "
        "subtracts each batch's own mean, so an output depends on the other samples in its batch; with a trained "
        "t the update moves the stored mean by only 1/(t + 1) of the difference.",
    )
)


# --- FusedBatchNormalization -------------------------------------------------------------------------


def fused_batch_normalization(inputs, props, params):
    """o = max(0, (i - mean) / sqrt(var + epsilon) * gamma + beta)"""
    y = batch_normalization(inputs, props, params)
    return np.maximum(y, 0, out=y)  # NaN stays NaN, as nnabla's relu passes it


def fused_batch_normalization_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """BatchNormalization's estimate, cut at 0 as a ReLU cuts it."""
    y = batch_normalization_estimate(inputs, shapes, props, params, dtype)
    return Estimate(max(y.mean, 0.0), y.std, max(y.low, 0.0), max(y.high, 0.0))


register(
    LayerType(
        name="FusedBatchNormalization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = max(0, (i - mean) / sqrt(var + epsilon) * gamma + beta)",
        description="BatchNormalization followed by nonlinearity (relu, the one NNC and nnabla offer) in one "
        "function, with BatchNormalization's parameters and their names (`{scope}/bn/gamma`, ...).",
        forward=fused_batch_normalization,
        infer_shape=batch_normalization_shape,
        estimate=fused_batch_normalization_estimate,
        function_scope="bn",  # nnabla's PF.fused_batch_normalization scopes them as batch_normalization does
        properties=(
            *BATCH_NORMALIZATION.properties[:-1],
            Property("nonlinearity", "choice", "relu", "The activation after normalization.", choices=("relu",)),
            PARAMETER_SCOPE,
        ),
        test_arguments=BATCH_NORMALIZATION.test_arguments,
        parameters=BATCH_NORMALIZATION.parameters,
        output_range=(0.0, None),
        range_note=BATCH_NORMALIZATION.range_note,
    )
)


# --- the weight normalizations -------------------------------------------------------------------------
#
# nnabla applies these to a weight, an array without a batch axis; NNC passes its axis + 1, as for a layer's
# output. On nnspec's batch-first arrays that is nnabla's computation on the whole batch: the statistics run
# over the batch axis too, so a sample's output depends on the others in its batch, unless every sample
# holds the same array (a Parameter layer's output), where the result is the array's own.

_WHOLE_BATCH = (
    " Its statistics run over the batch axis too (nnabla's, given NNC's axis + 1): a sample's output depends on "
    "the whole batch, unless every sample holds the same weight (a Parameter layer's), the case NNC draws it for."
)


def weight_standardization(inputs, props, params):
    """o = (i - mean) / sqrt(var + epsilon), mean and biased var over every axis but channel_axis"""
    x = inputs[0]
    axes = _reduced(x.ndim, {props["channel_axis"] + 1})
    return _in_dtype(_standardize(x, axes, props["epsilon"]), x.dtype)


def weight_standardization_shape(shapes, props):
    check_axis(props["channel_axis"], shapes[0], "channel_axis")
    _check_epsilon(props)
    return shapes[0]


register(
    LayerType(
        name="WeightStandardization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = (i - mean) / sqrt(var + epsilon) over every axis but channel_axis",
        description="Standardises a weight per output channel (Qiao et al.), mean and biased variance over every "
        "other axis." + _WHOLE_BATCH,
        forward=weight_standardization,
        infer_shape=weight_standardization_shape,
        estimate=lambda inputs, shapes, props, params, dtype: Estimate(0.0, 1.0),
        properties=(
            Property("channel_axis", "uint", 0, "Axis of the output channels (batch axis excluded)."),
            Property("epsilon", "float", 1e-5, "Added to the variance inside the square root."),
        ),
    )
)


def _other_axes_norm(x: np.ndarray, axis: int, epsilon: float) -> np.ndarray:
    """sqrt(sum of x^2 + epsilon) over every numpy axis but ``axis``, kept for broadcasting, in float64."""
    w = x.astype(np.float64)
    return np.sqrt((w * w).sum(axis=_reduced(w.ndim, {axis}), keepdims=True) + epsilon)


def _along(vector: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """A vector laid along numpy axis ``axis`` of an ndim-array, for broadcasting."""
    shape = [1] * ndim
    shape[axis] = -1
    return vector.astype(np.float64).reshape(shape)


def weight_normalization(inputs, props, params):
    """o = g i / sqrt(sum of i^2 + epsilon), the sum over every axis but dim, g one factor per index of dim"""
    x = inputs[0]
    axis = props["dim"] + 1
    norm = _other_axes_norm(x, axis, props["epsilon"])
    return _in_dtype(_along(params["g"], axis, x.ndim) * x.astype(np.float64) / norm, x.dtype)


def _dim_shape(shapes, props) -> Shape:
    return (shapes[0][props["dim"]],)


def weight_normalization_shape(shapes, props):
    check_axis(props["dim"], shapes[0], "dim")
    _check_epsilon(props)
    return shapes[0]


register(
    LayerType(
        name="WeightNormalization",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = g i / ||i||, the norm over every axis but dim",
        description="Reparametrises a weight as a direction times a learned length g per index of dim (Salimans "
        "& Kingma)." + _WHOLE_BATCH,
        forward=weight_normalization,
        infer_shape=weight_normalization_shape,
        function_scope="wn",
        properties=(
            Property(
                "dim", "uint", 0, "Axis of the output channels, each of which has its own g (batch axis excluded)."
            ),
            Property("epsilon", "float", 1e-12, "Added to the sum of squares inside the square root."),
            PARAMETER_SCOPE,
        ),
        parameters=(Parameter("g", "Constant", 1.0, _dim_shape, "The length of each channel, shape (size of dim,)."),),
    )
)


def _unit(v: np.ndarray, epsilon: float) -> np.ndarray:
    """v / sqrt(sum of v^2 + epsilon), as nnabla's spectral_norm normalises its vectors."""
    return v / np.sqrt((v * v).sum() + epsilon)


def spectral_norm(inputs, props, params):
    """o = i / sigma(i), sigma the largest singular value of i as a (size of dim, rest) matrix, by itr + 1 power
    iterations from u"""
    x = inputs[0]
    axis = props["dim"] + 1
    matrix = np.moveaxis(x.astype(np.float64), axis, 0).reshape(x.shape[axis], -1)
    u = params["u"].astype(np.float64).reshape(-1)
    epsilon = props["epsilon"]
    for _ in range(props["itr"] + 1):  # NNC passes Itr + 1 (its definition's `spectral_norm_param.itr -a`)
        v = _unit(matrix.T @ u, epsilon)
        u = _unit(matrix @ v, epsilon)
    sigma = u @ matrix @ v
    return _in_dtype(x.astype(np.float64) / sigma, x.dtype)


def spectral_norm_shape(shapes, props):
    check_axis(props["dim"], shapes[0], "dim")
    if not props["epsilon"] > 0:
        raise ShapeError(f"epsilon {props['epsilon']} must be positive (nnabla's spectral_norm refuses it)", "epsilon")
    return shapes[0]


register(
    LayerType(
        name="SpectralNorm",
        category="Normalization",
        role=Role.NORMALIZATION,
        formula="o = i / sigma(i), sigma by power iteration from u",
        description="Divides a weight by its spectral norm (Miyato et al.): the largest singular value of the "
        "weight as a matrix of (size of dim) rows, estimated by power iteration from the stored vector u. NNC "
        "passes Itr + 1 to nnabla, so itr 1 runs 2 iterations, and nnspec runs what NNC runs. At evaluation "
        "(NNC's Test, true there) u is not updated." + _WHOLE_BATCH,
        forward=spectral_norm,
        infer_shape=spectral_norm_shape,
        function_scope="spectral-norm",
        properties=(
            Property("dim", "uint", 0, "Axis of the matrix's rows (batch axis excluded)."),
            Property("itr", "pint", 1, "Power iterations as NNC counts them: nnabla runs itr + 1."),
            Property("epsilon", "float", 1e-12, "Added to the sum of squares when a vector is normalised."),
            Property(
                "test",
                "bool",
                False,
                "Training: keep u as it is (true) or store the iteration's u (false); NNC's evaluation passes true.",
            ),
            PARAMETER_SCOPE,
        ),
        test_arguments=(("test", True),),  # NNC's definition: test -test=True
        parameters=(Parameter("u", "Constant", 1.0, _dim_shape, "The power iteration's start, shape (size of dim,)."),),
    )
)
