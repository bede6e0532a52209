"""The weight normalizations and their kin (WeightStandardization, WeightNormalization, NormNormalization,
SpectralNorm, VATNoise, Norm), each nnspec's float64 formula: the largest magnitude is taken out
before squares and powers so that none overflows, and the statistics run over the batch axis too
where nnspec's do (the tensor these layers are given is a weight, not a batch of samples)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..model import Layer
from .builder import Graph, Op, axis_list, onnx_axis, reshaped_to_output
from .float64 import double, single, wide


def _axes_attribute(axes: list[int] | None) -> dict[str, Any]:
    """opset 17's ReduceMax/ReduceMean take axes as an attribute; none given: every axis."""
    return {"axes": axes} if axes else {}


def _reduce_max(g: Graph, x: str, axes: list[int] | None) -> str:
    return g.node("ReduceMax", [x], keepdims=1, **_axes_attribute(axes))


def _reduce_sum(g: Graph, x: str, axes: list[int] | None) -> str:
    return g.node("ReduceSum", [x] + ([g.constant(axes, np.int64)] if axes else []), keepdims=1)


def _reduce_mean(g: Graph, x: str, axes: list[int] | None) -> str:
    return g.node("ReduceMean", [x], keepdims=1, **_axes_attribute(axes))


def _largest_magnitude(g: Graph, w: str, axes: list[int] | None) -> str:
    """s, the largest |w| over axes, 1 where that is 0 (nnspec scales by it to keep squares finite)."""
    s = _reduce_max(g, g.node("Abs", [w]), axes)
    return g.node("Where", [g.node("Greater", [s, wide(g, 0.0)]), s, wide(g, 1.0)])


def standardized_wide(g: Graph, w: str, axes: list[int], epsilon: float) -> str:
    """nnspec's _standardize: d / hypot(sqrt(var(u)), sqrt(eps) / s), u = w / s, d = u - mean(u)."""
    s = _largest_magnitude(g, w, axes)
    u = g.node("Div", [w, s])
    d = g.node("Sub", [u, _reduce_mean(g, u, axes)])
    variance = _reduce_mean(g, g.node("Mul", [d, d]), axes)
    floor = g.node("Div", [wide(g, float(np.sqrt(epsilon))), s])
    return g.node("Div", [d, g.node("Sqrt", [g.node("Add", [variance, g.node("Mul", [floor, floor])])])])


def _all_axes_but(layer: Layer, g: Graph, kept: int) -> list[int]:
    """Every ONNX axis, the batch axis included (these layers' statistics run over it), but ``kept``."""
    return [axis for axis in range(len(g.input_shape(layer)) + 1) if axis != kept]


def _weight_standardization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = _all_axes_but(layer, g, onnx_axis(layer.props["channel_axis"]))
    single(g, standardized_wide(g, double(g, x[0]), axes, float(layer.props["epsilon"])), out)


def _along_axis(g: Graph, layer: Layer, name: str, axis: int) -> str:
    """A parameter vector laid along ONNX axis ``axis`` of the layer's input, in float64."""
    shape = [1] * (len(g.input_shape(layer)) + 1)
    shape[axis] = -1
    vector = g.node("Reshape", [g.parameter(layer, name), g.constant(shape, np.int64)])
    return double(g, vector)


def _weight_normalization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """g w / sqrt(sum of w^2 + epsilon), the sum over every axis but dim (the batch axis too)."""
    axis = onnx_axis(layer.props["dim"])
    w = double(g, x[0])
    total = _reduce_sum(g, g.node("Mul", [w, w]), _all_axes_but(layer, g, axis))
    norm = g.node("Sqrt", [g.node("Add", [total, wide(g, float(layer.props["epsilon"]))])])
    single(g, g.node("Div", [g.node("Mul", [_along_axis(g, layer, "g", axis), w]), norm]), out)


def _norm_normalization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's i / (sum |i|^p + epsilon)^(1/p) with the largest magnitude s taken out first."""
    p, epsilon = float(layer.props["p"]), float(layer.props["epsilon"])
    axes = [axis + 1 for axis in sorted(layer.props["axes"])] or None  # none given: every axis, the batch's too
    w = double(g, x[0])
    s = _largest_magnitude(g, w, axes)
    u = g.node("Div", [w, s])
    total = _reduce_sum(g, g.node("Pow", [g.node("Abs", [u]), wide(g, p)]), axes)
    root = wide(g, 1.0 / p)
    if epsilon == 0:
        single(g, g.node("Div", [u, g.node("Pow", [total, root])]), out)
        return
    sp = g.node("Pow", [s, wide(g, p)])
    eps = wide(g, epsilon)
    small = g.node("Div", [w, g.node("Pow", [g.node("Add", [g.node("Mul", [sp, total]), eps]), root])])
    large = g.node("Div", [u, g.node("Pow", [g.node("Add", [total, g.node("Div", [eps, sp])]), root])])
    single(g, g.node("Where", [g.node("LessOrEqual", [sp, wide(g, 1.0)]), small, large]), out)


def _unit_vector(g: Graph, v: str, epsilon: str) -> str:
    return g.node(
        "Div", [v, g.node("Sqrt", [g.node("Add", [g.node("ReduceSum", [g.node("Mul", [v, v])], keepdims=1), epsilon])])]
    )


def _spectral_norm(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """i / sigma: i as a (size of dim, rest) matrix, the batch axis among the rest (nnabla's, given NNC's
    axis + 1), sigma = u' M v after itr + 1 power iterations from u, in float64."""
    axis = onnx_axis(layer.props["dim"])
    rank = len(g.input_shape(layer)) + 1
    w = double(g, x[0])
    moved = g.node("Transpose", [w], perm=[axis, *(a for a in range(rank) if a != axis)])
    matrix = g.node("Reshape", [moved, g.constant([g.input_shape(layer)[layer.props["dim"]], -1], np.int64)])
    transposed = g.node("Transpose", [matrix], perm=[1, 0])
    epsilon = wide(g, float(layer.props["epsilon"]))
    u = double(g, g.node("Reshape", [g.parameter(layer, "u"), g.constant([-1, 1], np.int64)]))  # a column
    v = u
    for _ in range(layer.props["itr"] + 1):
        v = _unit_vector(g, g.node("MatMul", [transposed, u]), epsilon)
        u = _unit_vector(g, g.node("MatMul", [matrix, v]), epsilon)
    sigma = g.node("MatMul", [g.node("MatMul", [g.node("Transpose", [u], perm=[1, 0]), matrix]), v])  # (1, 1)
    single(g, g.node("Div", [w, g.node("Reshape", [sigma, g.constant([1], np.int64)])]), out)


def _vat_noise(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """epsilon i / sqrt(sum of i^2 + 1e-8) over the axes from base_axis on, in float64 (Buf is not read)."""
    axes = list(range(onnx_axis(layer.props["base_axis"]), len(g.input_shape(layer)) + 1))
    w = double(g, x[0])
    norm = g.node("Sqrt", [g.node("Add", [_reduce_sum(g, g.node("Mul", [w, w]), axes), wide(g, 1e-8)])])
    scaled = g.node("Mul", [wide(g, float(layer.props["epsilon"])), w])
    single(g, g.node("Div", [scaled, norm]), out)


def _norm(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's (sum |i|^p)^(1/p) in float64 with the largest magnitude s taken out (s (sum |i/s|^p)^(1/p):
    no term overflows); p = inf is s itself."""
    p = float(layer.props["p"])
    axes = [onnx_axis(a) for a in axis_list(layer.props["axes"])]
    magnitude = g.node("Abs", [double(g, x[0])])
    peak = _reduce_max(g, magnitude, axes)
    # p = inf: the largest magnitude itself, as nnspec's numpy computes it
    norm = peak if p == math.inf else _norm_with_peak_out(g, magnitude, peak, p, axes)
    reshaped_to_output(g, layer, single(g, norm), out)


def _norm_with_peak_out(g: Graph, magnitude: str, peak: str, p: float, axes: list[int]) -> str:
    """s (sum |i/s|^p)^(1/p), s the largest magnitude where it is finite and above 0 (else 1)."""
    finite = g.node("Not", [g.node("Or", [g.node("IsInf", [peak]), g.node("IsNaN", [peak])])])
    usable = g.node("And", [finite, g.node("Greater", [peak, wide(g, 0.0)])])
    scale = g.node("Where", [usable, peak, wide(g, 1.0)])
    total = _reduce_sum(g, g.node("Pow", [g.node("Div", [magnitude, scale]), wide(g, p)]), axes)
    return g.node("Mul", [scale, g.node("Pow", [total, wide(g, 1.0 / p)])])


OPS: dict[str, Op] = {
    "WeightStandardization": Op(_weight_standardization),
    "WeightNormalization": Op(_weight_normalization),
    "NormNormalization": Op(_norm_normalization),
    "SpectralNorm": Op(_spectral_norm),
    "VATNoise": Op(_vat_noise),
    "Norm": Op(_norm),
}
