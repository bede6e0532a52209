"""Quantize layers: binary weights and activations, and the quantizers that simulate fixed-point,
power-of-two and min-max integer values in floating point; and Prune (NNC's Others category, kept
here beside the quantizers: nnabla's compression layers, pruned_affine beside the quantized ones).

Everything is computed as nnabla 1.39 computes it at evaluation (NNC's engine), its quirks included:

- The binary weight layers (BinaryConnect*, BinaryWeight*) binarise W on every forward pass: nnabla
  writes sign(W) into Wb and multiplies by that, so the Wb a file holds is never read, only W. sign(0)
  is 1 (nnabla's quantize_zero_to, which NNC leaves at its default).
- BinaryWeightAffine/Convolution: NNC hands nnabla its pins W, Wb, b; nnabla's function takes x, W, Wb,
  alpha and an optional bias, so it reads NNC's b as alpha, overwrites it with the scale alpha it
  computes from W, and adds no bias. NNC's documentation says o = a sign(W) i + b; nnspec computes what
  NNC runs, o = a sign(W) i, so that a model trained in NNC gives here the outputs it gives there (its
  parameter.h5's b holds alpha, never a bias). With WithBias False, NNC's layer gives nnabla 3 inputs,
  which nnabla refuses ("needs at least 4 inputs"); nnspec computes the same a sign(W) i.
- alpha is the mean of |W| over each output's weights (nnabla's code; its documentation's
  1 / ||w||_1 is not what it computes).
- MinMaxQuantize's parameters have no scope in NNC: they are named /r, /R, /l, /L, so every
  MinMaxQuantize of a network shares one set, as in NNC. Its XMinMax is refused: with NNC's (1,)
  ranges nnabla 1.39 fails on it ("Dimensions of inputs must match").
- Prune's threshold is the rate-quantile of |i| over the whole batch: an output depends on the other
  samples of its batch (the batch-dependent check says so in the report).
"""

from __future__ import annotations

from dataclasses import replace
from math import erf, pi, prod, sqrt

import numpy as np

from ..core.estimate import through, weighted_sum
from .basic import (
    AFFINE_INITIALIZERS,
    BORDER_MODES,
    CONV_INITIALIZERS,
    CONVOLUTION_INITIALIZERS,
    _convolve,
    affine_shape,
    conv_fans,
    conv_padding,
    convolution_shape,
    convolution_weight_shape,
)
from .catalog import (
    PARAMETER_SCOPE,
    LayerType,
    Parameter,
    Property,
    ShapeError,
    affine_fans,
    register,
    same_shape,
    unary,
)
from .math import round_

# --- binary activations ----------------------------------------------------------------------------


def binary_tanh(x):
    """o = 1 for i > 0, else -1 (NaN too: nnabla's comparison is false for it)"""
    one = np.ones_like(x)
    return np.where(x > 0, one, -one)


def binary_sigmoid(x):
    """o = 1 for i > 0, else 0 (NaN too)"""
    return (x > 0).astype(x.dtype)


_BINARY_NOTE = (
    "Forward only, as nnabla evaluates it (training uses a straight-through gradient). The output is exactly "
    "{low} or 1 for every input, NaN included (nnabla compares i > 0)."
)

for _name, _function, _low, _formula in (
    ("BinaryTanh", binary_tanh, -1.0, "o = 1 (i > 0), -1 (otherwise)"),
    ("BinarySigmoid", binary_sigmoid, 0.0, "o = 1 (i > 0), 0 (otherwise)"),
):
    register(
        LayerType(
            name=_name,
            category="Quantize",
            formula=_formula,
            description=f"Binarises each input: 1 where it is above 0, {_low:g} elsewhere.",
            forward=unary(_function),
            infer_shape=same_shape,
            elementwise=True,
            curve=True,
            fresh_output=True,
            output_range=(_low, 1.0),
            range_note=_BINARY_NOTE.format(low=f"{_low:g}"),
        )
    )


# --- binary weights --------------------------------------------------------------------------------


def binarised(W: np.ndarray) -> np.ndarray:
    """sign(W) with sign(0) = 1: nnabla's Sign with quantize_zero_to 1, which NNC's layers use."""
    one = np.ones_like(W)
    return np.where(W < 0, -one, one)


def mean_abs_per_output(W: np.ndarray, output_axis: int) -> np.ndarray:
    """alpha: the mean of |W| over each output's weights, computed in W's dtype as nnabla does."""
    outputs = W.shape[output_axis]
    rows = np.moveaxis(W, output_axis, 0).reshape(outputs, -1)
    return (np.abs(rows).sum(axis=1, dtype=W.dtype) * W.dtype.type(1.0 / rows.shape[1])).astype(W.dtype)


def _affine(x: np.ndarray, W: np.ndarray, b, out_shape) -> np.ndarray:
    y = np.dot(x.reshape(len(x), -1), W.reshape(W.shape[0], -1))
    if b is not None:
        y += b.reshape(-1)
    return y.reshape((len(x), *out_shape))


def binary_connect_affine(inputs, props, params):
    """o = sign(W) i + b, sign(0) = 1, the sample flattened to a vector first"""
    return _affine(inputs[0], binarised(params["W"]), params.get("b"), props["out_shape"])


def binary_weight_affine(inputs, props, params):
    """o = alpha sign(W) i, alpha[j] = mean_k |W[k, j]|: no bias, as NNC's mapping makes nnabla compute"""
    W = params["W"]
    flat = W.reshape(W.shape[0], -1)
    scaled = binarised(flat) * mean_abs_per_output(flat, 1)[np.newaxis, :]
    return _affine(inputs[0], scaled, None, props["out_shape"])


def _convolution(props, x, W, b):
    return _convolve(
        x, W, b, props["kernel_shape"], props["strides"], props["dilation"], conv_padding(props), props["group"], False
    )


def binary_connect_convolution(inputs, props, params):
    """o[m, y] = sum_{n, k} sign(W[m, n, k]) i[n, y*s + k*d - p] + b[m]"""
    return _convolution(props, inputs[0], binarised(params["W"]), params.get("b"))


def binary_weight_convolution(inputs, props, params):
    """o[m, y] = alpha[m] sum_{n, k} sign(W[m, n, k]) i[n, y*s + k*d - p], alpha[m] = mean |W[m]|: no bias"""
    W = params["W"]
    alpha = mean_abs_per_output(W, 0).reshape((-1,) + (1,) * (W.ndim - 1))
    return _convolution(props, inputs[0], binarised(W) * alpha, None)


def _channels_first(props):
    """nnabla's binary convolutions have no channel_last: samples are (C, *spatial)."""
    return {**props, "channel_last": False}


def binary_convolution_shape(shapes, props):
    return convolution_shape(shapes, _channels_first(props))


def binary_convolution_weight_shape(shapes, props):
    return convolution_weight_shape(shapes, _channels_first(props))


def _sign_moments(w_mean: float, w_var: float) -> tuple[float, float]:
    """Mean and variance of sign(W) for W roughly normal with this mean and variance."""
    if w_var <= 0:
        mean = -1.0 if w_mean < 0 else 1.0
        return mean, 0.0
    mean = erf(w_mean / sqrt(2 * w_var))
    return mean, 1.0 - mean * mean


def _scaled_sign_moments(w_mean: float, w_var: float) -> tuple[float, float]:
    """Mean and variance of alpha sign(W): alpha is about E|W|, sqrt(2/pi) times the rms for normal W."""
    alpha = abs(w_mean) if w_var <= 0 else sqrt(2 / pi) * sqrt(w_var + w_mean * w_mean)
    mean, var = _sign_moments(w_mean, w_var)
    return alpha * mean, alpha * alpha * var


def _fan_in(shapes, props) -> int:
    """How many inputs each output sums: the flattened sample (affine) or a kernel's reach (convolution)."""
    if "kernel_shape" not in props:
        return prod(shapes[0])
    return shapes[0][0] // props["group"] * prod(props["kernel_shape"])


def binary_connect_estimate(inputs, shapes, props, params, dtype):
    """Each output sums its fan-in of inputs times +-1, plus a bias."""
    return weighted_sum(inputs[0], _fan_in(shapes, props), *_sign_moments(*params["W"]), *params.get("b", (0.0, 0.0)))


def binary_weight_estimate(inputs, shapes, props, params, dtype):
    """Each output sums its fan-in of inputs times +-alpha (alpha about the mean |W|), no bias."""
    return weighted_sum(inputs[0], _fan_in(shapes, props), *_scaled_sign_moments(*params["W"]), 0.0, 0.0)


_WB = (
    "Binarised weights: nnabla writes sign(W) here on every forward pass and never reads what it held, so its "
    "values (NNC's Constant 0) do not matter; kept so that NNC's parameter files load."
)


def _binary_parameters(weight_shape, bias_shape, initializers, fans, w_initializer: str, bias_note: str, wb_inits):
    return (
        Parameter(
            "W", w_initializer, 1.0, weight_shape, "Weights, binarised to sign(W) when used.", initializers, fans=fans
        ),
        Parameter("Wb", "Constant", 0.0, weight_shape, _WB, wb_inits, fans=fans, lrate_multiplier=0.0),
        Parameter("b", "Constant", 0.0, bias_shape, bias_note, enabled=lambda props: props["with_bias"]),
    )


_AFFINE_PROPERTIES = (
    Property("out_shape", "shape", 100, "Shape of the output (without the batch axis)."),
    Property("with_bias", "bool", True, "Whether the layer has the parameter b."),
    PARAMETER_SCOPE,
)
_CONV_PROPERTIES = (
    Property("out_maps", "pint", 16, "Number of output maps (kernels)."),
    Property("kernel_shape", "shape", [5, 5], "Kernel size along each spatial axis, e.g. [3, 5] (height, width)."),
    Property("with_bias", "bool", True, "Whether the layer has the parameter b."),
    Property(
        "border_mode",
        "choice",
        "valid",
        "How far the kernel may reach past the input when padding is not given: valid, full, same (as Convolution).",
        choices=BORDER_MODES,
    ),
    Property(
        "padding", "uint_array", None, "Zeros added at both ends of each spatial axis (default: from border_mode)."
    ),
    Property("strides", "shape", [1, 1], "Step between kernel positions along each spatial axis."),
    Property("dilation", "shape", [1, 1], "Spacing between kernel taps along each spatial axis (1: adjacent)."),
    Property("group", "pint", 1, "Number of channel groups (NNC keeps it at 1)."),
    PARAMETER_SCOPE,
)
_AFFINE_WEIGHT = lambda shapes, props: (prod(shapes[0]), *props["out_shape"])  # noqa: E731
_AFFINE_BIAS = lambda shapes, props: tuple(props["out_shape"])  # noqa: E731
_CONV_BIAS = lambda shapes, props: (props["out_maps"],)  # noqa: E731
_ALPHA_NOTE = (
    "NNC's b: nnabla reads it as the scale alpha and overwrites it with alpha on every forward pass; it is "
    "never added (see the range note). A parameter file's b is alpha, as NNC saved it."
)
_BINARY_WEIGHT_NOTE = (
    "Computed as NNC runs it: NNC gives nnabla its pins W, Wb, b, and nnabla's function, which takes x, W, Wb, "
    "alpha and then a bias, reads b as alpha, writes alpha = mean |W| per output into it, and adds no bias. NNC's "
    "documentation says o = a sign(W) i + b: nnspec follows what NNC computes, so an NNC-trained model gives the "
    "same outputs. With with_bias false NNC's layer fails in nnabla 1.39 (3 inputs); nnspec computes the same "
    "a sign(W) i. W alone is read: Wb and b are overwritten before use."
)

register(
    LayerType(
        name="BinaryConnectAffine",
        category="Quantize",
        formula="o = sign(W) i + b",
        description="Affine with binarised weights: every weight is -1 or +1 (sign(W), 0 counted as +1).",
        forward=binary_connect_affine,
        fresh_output=True,
        infer_shape=affine_shape,
        estimate=binary_connect_estimate,
        function_scope="bicon_affine",
        properties=_AFFINE_PROPERTIES,
        parameters=_binary_parameters(
            _AFFINE_WEIGHT,
            _AFFINE_BIAS,
            AFFINE_INITIALIZERS,
            affine_fans,
            "UniformAffineGlorot",
            "Bias, shape out_shape.",
            AFFINE_INITIALIZERS,
        ),
        range_note="W alone is read: nnabla writes sign(W) into Wb before using it. Sums of +-1 times the inputs "
        "grow with the fan-in; nnabla advises a BatchNormalization after it.",
    )
)

register(
    LayerType(
        name="BinaryWeightAffine",
        category="Quantize",
        formula="o = alpha sign(W) i, alpha[j] = mean_k |W[k, j]|",
        description="Affine with binarised weights scaled per output by the mean |W| (XNOR-Net's binary weight "
        "network); NNC's b becomes that scale, no bias is added.",
        forward=binary_weight_affine,
        fresh_output=True,
        infer_shape=affine_shape,
        estimate=binary_weight_estimate,
        function_scope="bwn_affine",
        properties=_AFFINE_PROPERTIES,
        parameters=_binary_parameters(
            _AFFINE_WEIGHT,
            _AFFINE_BIAS,
            AFFINE_INITIALIZERS,
            affine_fans,
            "UniformAffineGlorot",
            _ALPHA_NOTE,
            AFFINE_INITIALIZERS,
        ),
        range_note=_BINARY_WEIGHT_NOTE,
    )
)

register(
    LayerType(
        name="BinaryConnectConvolution",
        category="Quantize",
        formula="o[m, y] = sum_{n, k} sign(W[m, n, k]) i[n, y*s + k*d - p] + b[m]",
        description="Convolution with binarised kernels: every weight is -1 or +1 (sign(W), 0 counted as +1).",
        forward=binary_connect_convolution,
        infer_shape=binary_convolution_shape,
        estimate=binary_connect_estimate,
        function_scope="bicon_conv",
        properties=_CONV_PROPERTIES,
        parameters=_binary_parameters(
            binary_convolution_weight_shape,
            _CONV_BIAS,
            CONVOLUTION_INITIALIZERS,
            conv_fans,
            "UniformConvolutionGlorot",
            "Bias, one per output map: shape (out_maps,).",
            CONV_INITIALIZERS,
        ),
        range_note="W alone is read: nnabla writes sign(W) into Wb before using it. Samples are (C, *spatial): "
        "nnabla's binary convolutions have no channel_last.",
    )
)

register(
    LayerType(
        name="BinaryWeightConvolution",
        category="Quantize",
        formula="o[m, y] = alpha[m] sum_{n, k} sign(W[m, n, k]) i[n, y*s + k*d - p], alpha[m] = mean |W[m]|",
        description="Convolution with binarised kernels scaled per output map by the mean |W| of its kernel; NNC's "
        "b becomes that scale, no bias is added.",
        forward=binary_weight_convolution,
        infer_shape=binary_convolution_shape,
        estimate=binary_weight_estimate,
        function_scope="bwn_conv",
        properties=_CONV_PROPERTIES,
        parameters=_binary_parameters(
            binary_convolution_weight_shape,
            _CONV_BIAS,
            CONVOLUTION_INITIALIZERS,
            conv_fans,
            "UniformConvolutionGlorot",
            _ALPHA_NOTE,
            CONV_INITIALIZERS,
        ),
        range_note=_BINARY_WEIGHT_NOTE + " Samples are (C, *spatial): nnabla's binary convolutions have no "
        "channel_last.",
    )
)


# --- quantizers -------------------------------------------------------------------------------------
#
# nnabla computes these in float (its only type for them): the bounds are floats, each rounding as its C++
# does. In float64 specs the same formulas run in float64.

_STE = Property(
    "ste_fine_grained",
    "bool",
    True,
    "Training only (the straight-through gradient: 0 outside the range where true); no effect at evaluation.",
    nnc_spelling="STEFineGrained",
)


def fixed_point_bounds(props, dtype) -> tuple[float, float, float]:
    """(delta, min, max) in the dtype: max = (2^(n-1) - 1) delta signed, (2^n - 1) delta unsigned."""
    kind = np.dtype(dtype).type
    delta = kind(props["delta"])
    bits = props["n"] - 1 if props["sign"] else props["n"]
    high = kind((2.0**bits - 1) * float(delta))
    return delta, (-high if props["sign"] else kind(0)), high


def fixed_point_quantize(inputs, props, params):
    """o = sign(i) floor(|i| / delta + 1/2) delta within min..max, clipped to them outside"""
    x = inputs[0]
    delta, low, high = fixed_point_bounds(props, x.dtype)
    magnitude = np.floor((np.abs(x) / delta).astype(np.float64) + 0.5).astype(x.dtype) * delta
    inside = np.where(x < 0, -magnitude, magnitude)
    return np.where(x > high, high, np.where(x < low, low, inside)).astype(x.dtype)


def _check_fixed_point(shapes, props):
    if props["delta"] <= 0:
        raise ShapeError(f"delta {props['delta']} must be above 0 (nnabla refuses it)", "delta")
    if props["sign"] and props["n"] < 2:
        raise ShapeError("a signed quantizer needs n >= 2: the sign takes one bit (nnabla refuses n 1)", "n")
    if props["n"] > 32:
        raise ShapeError(f"n {props['n']} is beyond nnabla's 32 bits (an int holds each level)", "n")
    return shapes[0]


def pow2_bounds(props, dtype) -> tuple[float, float, float]:
    """(2^m, the smallest level 2^(m - (2^n' - 1)), the pruning threshold min 2^-1/2) in the dtype, where n'
    is n less one bit for the sign and one for zero."""
    kind = np.dtype(dtype).type
    bits = props["n"] - (1 if props["sign"] else 0) - (1 if props["with_zero"] else 0)
    high = kind(2.0 ** props["m"])
    with np.errstate(under="ignore"):
        low = kind(2.0 ** (props["m"] - (2**bits - 1)))
        threshold = kind(float(low) * 2.0**-0.5)
    return high, low, threshold


def pow2_quantize(inputs, props, params):
    """o = sign(i) 2^round(log2 |i|), clipped to 2^m; below the smallest level: 0 or it (with_zero: |i| < min
    2^-1/2 gives 0); unsigned: negative i gives 0 (with_zero) or the smallest level"""
    x = inputs[0]
    high, low, threshold = pow2_bounds(props, x.dtype)
    magnitude = np.abs(x)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        q = np.exp2(round_(np.log2(magnitude))).astype(x.dtype)  # 0 for 0: log2 gives -inf
    zero = x.dtype.type(0)
    small = q < low
    q = np.where(q > high, high, q)
    if props["with_zero"]:
        q = np.where(small, np.where(magnitude < threshold, zero, low), q)
    else:
        q = np.where(small, low, q)
    negative = x < 0
    if props["sign"]:
        return np.where(negative, -q, q)
    return np.where(negative, zero if props["with_zero"] else low, q)


def _check_pow2(shapes, props):
    bits = props["n"] - (1 if props["sign"] else 0) - (1 if props["with_zero"] else 0)
    if bits < 1:
        raise ShapeError(
            f"n {props['n']} leaves no bit for the levels: sign and with_zero take one bit each (nnabla refuses it)",
            "n",
        )
    if bits > 30:
        raise ShapeError(f"n {props['n']} is beyond nnabla's range (2^n levels in an int)", "n")
    return shapes[0]


def _nudged(qr_min, qr_max, ql_min, ql_max, kind, epsilon):
    """(the nudged low end, the nudged high end, scale), as nnabla computes them from the range r..R (qr_min,
    qr_max) and the levels l..L (ql_min, ql_max): R raised to r + epsilon where closer; scale = (R - r) /
    (L - l); the zero point l - r / scale rounded and kept within l..L; the ends (l - zero point) scale and
    (L - zero point) scale."""
    qr_max = np.where(qr_max - qr_min < epsilon, qr_min + epsilon, qr_max)
    scale = (qr_max - qr_min) / (ql_max - ql_min)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_min = ql_min - qr_min / scale
    zero_point = np.where(from_min <= ql_min, ql_min, np.where(from_min >= ql_max, ql_max, round_(from_min)))
    return (
        ((ql_min - zero_point) * scale).astype(kind),
        ((ql_max - zero_point) * scale).astype(kind),
        scale.astype(kind),
    )


def min_max_quantize(inputs, props, params):
    """o = round((min(max(i, m), M) - m) / s) s + m: s = (R - r) / (L - l), m and M the range r..R nudged so that
    0 is a level"""
    x = inputs[0]
    kind = x.dtype.type
    ranges = (np.asarray(params[name]).astype(x.dtype).reshape(-1)[:1] for name in ("r", "R", "l", "L"))
    low, high, scale = _nudged(*ranges, kind, kind(props["epsilon"]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        levels = round_((np.minimum(np.maximum(x, low), high) - low) / scale)
        return (levels * scale + low).astype(x.dtype)


def min_max_estimate(inputs, shapes, props, params, dtype):
    """The input's estimate through the quantizer with its ranges' expected values (exact for NNC's Constant
    initializers)."""
    ranges = {name: np.array([mean]) for name, (mean, _) in params.items()}
    result = through(lambda a: min_max_quantize([a], props, ranges), inputs[0], dtype)
    low, high = min_max_quantize([np.array([-np.inf, np.inf], dtype=dtype)], props, ranges)
    return replace(
        result,
        low=max(result.low, float(low)),
        high=min(result.high, float(high)),
        reach_low=None if result.reach_low is None else max(result.reach_low, float(low)),
        reach_high=None if result.reach_high is None else min(result.reach_high, float(high)),
    )


def _check_min_max(shapes, props):
    if props["x_min_max"]:
        raise ShapeError(
            "x_min_max is not supported: with NNC's ranges of shape (1,), nnabla 1.39 fails on it (\"Dimensions of "
            'inputs must match"); give the range in r and R instead',
            "x_min_max",
        )
    return shapes[0]


_RANGE_PARAMETER = ("Normal", "Uniform", "Constant")


def _scalar(shapes, props):
    return (1,)


register(
    LayerType(
        name="FixedPointQuantize",
        category="Quantize",
        formula="o = sign(i) floor(|i| / delta + 0.5) delta, clipped to -(2^(n-1) - 1) delta..(2^(n-1) - 1) delta",
        description="Rounds each input to a multiple of delta representable in n bits (fixed point), clipping "
        "beyond the largest.",
        forward=fixed_point_quantize,
        infer_shape=_check_fixed_point,
        elementwise=True,
        curve=True,
        fresh_output=True,
        clips=True,
        properties=(
            Property("sign", "bool", True, "Signed levels (one bit for the sign); false: 0 and above only."),
            Property("n", "pint", 8, "Bit width, the sign's bit included."),
            Property("delta", "float", 0.0625, "Step between levels (above 0)."),
            _STE,
        ),
        range_note="Inputs beyond the levels are clipped to the largest (smallest) one: with the defaults, "
        "-7.9375..7.9375 in steps of 0.0625. Unsigned, negative inputs become 0.",
    )
)

register(
    LayerType(
        name="Pow2Quantize",
        category="Quantize",
        formula="o = sign(i) 2^round(log2 |i|), clipped to 2^m",
        description="Rounds each input to a power of two (a level of the log2 scale), the largest 2^m; "
        "with_zero, inputs below the smallest level round to 0 or to it.",
        forward=pow2_quantize,
        infer_shape=_check_pow2,
        elementwise=True,
        curve=True,
        fresh_output=True,
        clips=True,
        properties=(
            Property(
                "sign",
                "bool",
                True,
                "Signed levels (one bit for the sign); false: negative inputs become 0 "
                "(with_zero) or the smallest level.",
            ),
            Property("with_zero", "bool", True, "0 is a level (one bit for it): |i| below min 2^-1/2 gives 0."),
            Property("n", "pint", 8, "Bit width, the sign's and zero's bits included."),
            Property("m", "uint", 1, "The largest level is 2^m."),
            _STE,
        ),
        range_note="Levels 2^(m - (2^n' - 1))..2^m, n' = n less the sign and zero bits (defaults: 2^-61..2): "
        "inputs beyond 2^m are clipped to it. The threshold between two levels is their geometric mean.",
    )
)

register(
    LayerType(
        name="MinMaxQuantize",
        category="Quantize",
        formula="o = round((clip(i, m, M) - m) / s) s + m, s = (R - r) / (L - l)",
        description="Quantizes to the L - l + 1 evenly spaced levels of the range r..R (nudged so that 0 is a "
        "level), clipping beyond it, as integer-only inference does (Jacob et al. 2017).",
        forward=min_max_quantize,
        infer_shape=_check_min_max,
        estimate=min_max_estimate,
        fresh_output=True,
        clips=True,
        unscoped_parameters=True,
        properties=(
            Property("decay", "float", 0.999, "Training only: the decay of the moving average of the range (ema)."),
            Property(
                "x_min_max",
                "bool",
                False,
                "Take the range from the batch's min and max (not supported: nnabla 1.39 fails on NNC's form of it).",
            ),
            Property(
                "ema",
                "bool",
                False,
                "Training only: keep a moving average of the range (with x_min_max).",
                nnc_spelling="EMA",
            ),
            _STE,
            Property("epsilon", "float", 0.01, "The smallest width R - r: R is raised to r + epsilon if closer."),
        ),
        parameters=(
            Parameter("r", "Constant", -6.0, _scalar, "Low end of the range (qr_min), shape (1,).", _RANGE_PARAMETER),
            Parameter("R", "Constant", 6.0, _scalar, "High end of the range (qr_max), shape (1,).", _RANGE_PARAMETER),
            Parameter(
                "l",
                "Constant",
                0.0,
                _scalar,
                "Lowest level (ql_min), shape (1,).",
                _RANGE_PARAMETER,
                lrate_multiplier=0.0,
            ),
            Parameter(
                "L",
                "Constant",
                255.0,
                _scalar,
                "Highest level (ql_max), shape (1,).",
                _RANGE_PARAMETER,
                lrate_multiplier=0.0,
            ),
        ),
        range_note="Inputs beyond the nudged range are clipped to its ends (defaults: about -6..6 in 256 levels). "
        "NNC names the parameters /r, /R, /l, /L, without a scope: every MinMaxQuantize of a network shares them, "
        "as in NNC, and an NNC parameter file's /r ... load.",
    )
)


# --- Prune ------------------------------------------------------------------------------------------


def prune(inputs, props, params):
    """o = 0 where |i| < t, else i; t = the (size - 1) rate -th smallest |i| over the whole batch (+1 at rate 1)"""
    x = inputs[0]
    magnitude = np.abs(x).reshape(-1)
    rate = np.float32(props["rate"])  # nnabla's rate is a float, (size - 1) rate a float product
    index = int(np.float32(magnitude.size - 1) * rate)
    threshold = np.partition(magnitude, index)[index] + (x.dtype.type(1) if rate == 1 else x.dtype.type(0))
    return np.where(magnitude.reshape(x.shape) < threshold, x.dtype.type(0), x)


def _check_prune(shapes, props):
    if not 0 <= props["rate"] <= 1:
        raise ShapeError(f"rate {props['rate']} must lie in 0..1 (nnabla refuses it)", "rate")
    return shapes[0]


def prune_estimate(inputs, shapes, props, params, dtype):
    """The input through o = 0 for |i| < t, t the rate-quantile of |i| under the input's estimate."""
    x = inputs[0]
    rate = props["rate"]
    low, high = 0.0, max(abs(x.practical_low), abs(x.practical_high), 1e-30)
    for _ in range(60):  # bisection: the share of |i| below t is the rate
        t = (low + high) / 2
        low, high = (t, high) if x.share_below(t) - x.share_below(-t) < rate else (low, t)
    threshold = (low + high) / 2
    result = through(lambda a: np.where(np.abs(a) < threshold, 0, a), x, dtype)
    return replace(result, low=min(result.low, 0.0, x.low), high=max(result.high, 0.0, x.high))


register(
    LayerType(
        name="Prune",
        category="Others",
        formula="o = 0 (|i| < t), i (otherwise); t the rate-quantile of |i| over the batch",
        description="Sets the share rate of the values nearest 0 to 0, over the whole batch.",
        forward=prune,
        infer_shape=_check_prune,
        estimate=prune_estimate,
        fresh_output=True,
        whole_batch="its threshold is the rate-quantile of |i| over the whole batch",
        properties=(Property("rate", "float", 0.9, "Share of the values set to 0 (0..1), the smallest |i| first."),),
        range_note="The threshold t = sorted |i|[int((size - 1) rate)] is taken over every value of the batch, as "
        "nnabla takes it: an output depends on the other samples of its batch and so on the batch size (the "
        "report says so). At rate 1 every value is set to 0.",
    )
)
