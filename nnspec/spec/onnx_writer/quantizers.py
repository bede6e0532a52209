"""The quantizers, the binary-weight layers and Prune, each as nnspec computes it, step by step (float32,
and float64 where nnspec widens):
a quantizer's output steps at exactly the inputs where nnspec's does (Pow2Quantize's thresholds are
found by bisection over float32's bit patterns, as its log2 rounds). A binary layer's initializer is
W itself, as nnabla's parameter files hold it (Wb is never read: nnabla overwrites it), and sign(W)
is a few nodes onnxruntime folds into a constant when it loads the model."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from math import prod
from typing import Any

import numpy as np

from ..model import Layer
from .builder import FLOAT, INT64, Emit, Graph, Op
from .convolutions import conv_attributes
from .float64 import double, round_single, single, wide


def _fixed_point_quantize(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """sign(i) floor(|i| / delta + 0.5) delta within min..max: the division in float32, the + 0.5 and
    the floor in float64 (as nnspec: float32 would carry 0.49999997 up to 1), clipped after."""
    from ...layers.quantize import fixed_point_bounds

    delta, low, high = fixed_point_bounds(layer.props, np.float32)
    delta_, low_, high_ = g.constant(float(delta)), g.constant(float(low)), g.constant(float(high))
    steps = double(g, g.node("Div", [g.node("Abs", x[:1]), delta_]))
    whole = g.node("Floor", [g.node("Add", [steps, wide(g, 0.5)])])
    magnitude = g.node("Mul", [single(g, whole), delta_])
    inside = g.node("Where", [g.node("Less", [x[0], g.constant(0.0)]), g.node("Neg", [magnitude]), magnitude])
    below = g.node("Where", [g.node("Less", [x[0], low_]), low_, inside])
    g.node("Where", [g.node("Greater", [x[0], high_]), high_, below], out)


def _pow2_levels(props: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return _pow2_table(bool(props["sign"]), bool(props["with_zero"]), int(props["n"]), int(props["m"]))


@functools.lru_cache(maxsize=64)  # a bisection of ~0.2 s, the same for every layer of these settings
def _pow2_table(sign: bool, with_zero: bool, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, levels): Pow2Quantize of |i| for i >= 0 is levels[number of thresholds <= |i|].
    The thresholds are the float32 values where nnspec's output steps up, found by bisection over
    float32's bit patterns (its output only grows with |i|), so that the model rounds at exactly
    the inputs where numpy's log2 does."""
    from ...layers.quantize import pow2_quantize

    props = {"sign": sign, "with_zero": with_zero, "n": n, "m": m}

    def quantized(bits: np.ndarray) -> np.ndarray:
        return pow2_quantize([bits.astype(np.uint32).view(np.float32)], props, {})

    positive_inf = 0x7F800000
    thresholds, levels = [], [float(quantized(np.array([0]))[0])]
    start = 0
    while True:
        low, high = start, positive_inf  # the first pattern past ``start`` with a level above the last
        if quantized(np.array([high]))[0] <= levels[-1]:
            break
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if quantized(np.array([middle]))[0] <= levels[-1] else (low, middle)
        thresholds.append(np.array([high], np.uint32).view(np.float32)[0])
        levels.append(float(quantized(np.array([high]))[0]))
        start = high
    return np.array(thresholds, np.float32), np.array(levels, np.float32)


def _pow2_quantize(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """The level of |i| looked up among nnspec's (a Gather at the count of thresholds |i| reaches);
    negative inputs as the sign and with_zero say; NaN stays NaN."""
    from ...layers.quantize import pow2_bounds

    thresholds, levels = _pow2_levels(layer.props)
    magnitude = g.node("Unsqueeze", [g.node("Abs", x[:1]), g.constant([-1], np.int64)])
    reached = g.node("Cast", [g.node("GreaterOrEqual", [magnitude, g.constant(thresholds)])], to=INT64)
    level = g.node(
        "Gather", [g.constant(levels), g.node("ReduceSum", [reached, g.constant([-1], np.int64)], keepdims=0)]
    )
    if layer.props["sign"]:
        negative = g.node("Neg", [level])
    else:
        _, low, _ = pow2_bounds(layer.props, np.float32)
        negative = g.constant(0.0 if layer.props["with_zero"] else float(low))
    signed = g.node("Where", [g.node("Less", [x[0], g.constant(0.0)]), negative, level])
    g.node("Where", [g.node("IsNaN", x[:1]), x[0], signed], out)


def _min_max_quantize(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's float32 steps: R raised to r + epsilon where closer, scale (R - r) / (L - l), the zero
    point l - r / scale rounded within l..L, the nudged ends, then round((clip(i) - m) / s) s + m."""
    r, R, l_, L = (g.parameter(layer, name) for name in ("r", "R", "l", "L"))
    epsilon = g.constant(float(np.float32(layer.props["epsilon"])))
    widened = g.node("Add", [r, epsilon])
    R = g.node("Where", [g.node("Less", [g.node("Sub", [R, r]), epsilon]), widened, R])
    scale = g.node("Div", [g.node("Sub", [R, r]), g.node("Sub", [L, l_])])
    from_min = g.node("Sub", [l_, g.node("Div", [r, scale])])
    inside = g.node("Where", [g.node("GreaterOrEqual", [from_min, L]), L, round_single(g, from_min)])
    zero_point = g.node("Where", [g.node("LessOrEqual", [from_min, l_]), l_, inside])
    low = g.node("Mul", [g.node("Sub", [l_, zero_point]), scale])
    high = g.node("Mul", [g.node("Sub", [L, zero_point]), scale])
    clipped = g.node("Min", [g.node("Max", [x[0], low]), high])
    levels = round_single(g, g.node("Div", [g.node("Sub", [clipped, low]), scale]))
    g.node("Add", [g.node("Mul", [levels, scale]), low], out)


def _binarised(g: Graph, weight: str) -> str:
    """sign(W), 0 counted as +1 (nnabla's quantize_zero_to)."""
    return g.node("Where", [g.node("Less", [weight, g.constant(0.0)]), g.constant(-1.0), g.constant(1.0)])


def _mean_magnitude(g: Graph, weight: str, axes: list[int], count: int) -> str:
    """alpha: the sum of |W| over each output's weights (in float64: nnspec's float32 sum is pairwise,
    no order onnxruntime has) times float32(1 / count), as nnabla scales it."""
    total = g.node("ReduceSum", [double(g, g.node("Abs", [weight])), g.constant(axes, np.int64)], keepdims=1)
    return g.node("Mul", [single(g, total), g.constant(float(np.float32(1.0 / count)))])


def _binary_affine(scaled: bool) -> Emit:
    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        weight = g.parameters[layer.name]["W"]
        width = prod(layer.props["out_shape"])
        matrix = g.parameter(layer, "W", (weight.shape[0], width) if weight.ndim != 2 else None)
        binary = _binarised(g, matrix)
        if scaled:
            binary = g.node("Mul", [binary, _mean_magnitude(g, matrix, [0], weight.shape[0])])
        inputs = [g.node("Flatten", x[:1], axis=1), binary]
        if not scaled and "b" in g.parameters[layer.name]:
            inputs.append(g.parameter(layer, "b", (width,)))
        g.node("Reshape", [g.node("Gemm", inputs), g.constant([-1, *layer.props["out_shape"]], np.int64)], out)

    return emit


def _binary_convolution(scaled: bool) -> Emit:
    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        from ...layers.basic import conv_padding

        weight = g.parameter(layer, "W")
        shape = g.parameters[layer.name]["W"].shape
        binary = _binarised(g, weight)
        if scaled:
            binary = g.node("Mul", [binary, _mean_magnitude(g, weight, list(range(1, len(shape))), prod(shape[1:]))])
        inputs = [x[0], binary]
        if not scaled and "b" in g.parameters[layer.name]:
            inputs.append(g.parameter(layer, "b"))
        attributes = conv_attributes(layer, conv_padding(layer.props))
        g.node("Conv", inputs, out, group=layer.props["group"], **attributes)

    return emit


def _prune(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """0 where |i| is below t, t the (size - 1) rate -th smallest |i| of the whole batch (+1 at rate 1):
    the index computed in float32 from the batch's size, as nnspec, and the value TopK's last."""
    rate = float(np.float32(layer.props["rate"]))
    magnitude = g.node("Abs", x[:1])
    flat = g.node("Reshape", [magnitude, g.constant([-1], np.int64)])
    size = g.node("Cast", [g.node("Shape", [flat])], to=FLOAT)
    position = g.node("Mul", [g.node("Sub", [size, g.constant([1.0])]), g.constant([rate])])
    count = g.node("Add", [g.node("Cast", [position], to=INT64), g.constant([1], np.int64)])
    smallest = f"{out}/smallest"
    g.nodes.append(
        g.helper.make_node("TopK", [flat, count], [smallest, f"{out}/order"], name=f"{out}/topk", largest=0, sorted=1)
    )
    threshold = g.node("Gather", [smallest, g.node("Sub", [count, g.constant([1], np.int64)])])
    if rate == 1:
        threshold = g.node("Add", [threshold, g.constant(1.0)])
    g.node("Where", [g.node("Less", [magnitude, threshold]), g.constant(0.0), x[0]], out)


OPS: dict[str, Op] = {
    "FixedPointQuantize": Op(_fixed_point_quantize),
    "Pow2Quantize": Op(_pow2_quantize),
    "MinMaxQuantize": Op(_min_max_quantize),
    "BinaryConnectAffine": Op(_binary_affine(scaled=False)),
    "BinaryWeightAffine": Op(_binary_affine(scaled=True)),
    "BinaryConnectConvolution": Op(_binary_convolution(scaled=False)),
    "BinaryWeightConvolution": Op(_binary_convolution(scaled=True)),
    "Prune": Op(_prune),
}
