"""The pools, and resizing by whole factors (Unpooling) or linearly (Interpolate). nnabla keeps windows
cut at the border (ignore_border false), which ONNX's floor would drop: the end pads are grown so that
ONNX counts the outputs nnabla makes, and where nnabla divides a cut window by another count than
ONNX's (including_pad), the windows' sums are divided by nnspec's own counts. ONNX has no sum pool:
an average over the whole kernel times its size."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np

from ..model import Layer
from .builder import Graph, Op, with_batch
from .convolutions import channels_first


def _pool_geometry(layer: Layer, input_shape: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """(kernel, strides, pads) for ONNX: the end pads grown where nnabla keeps windows cut at the border
    (ignore_border false), so that ONNX's floor counts the outputs nnabla makes."""
    props = layer.props
    kernel = list(props["kernel_shape"])
    strides = list(props["strides"] or kernel)
    padding = list(props["padding"])
    spatial = input_shape[-len(kernel) :]
    outputs = layer.inferred_shape[-len(kernel) :]
    ends = [max(0, (o - 1) * s + k - n - p) for n, o, s, k, p in zip(spatial, outputs, strides, kernel, padding)]
    return kernel, strides, [*padding, *ends]


def _pool_attributes(g: Graph, layer: Layer) -> dict[str, Any]:
    kernel, strides, pads = _pool_geometry(layer, g.input_shape(layer))
    return {"kernel_shape": kernel, "strides": strides, "pads": pads}


def _max_pooling(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("MaxPool", x[:1], out, **_pool_attributes(g, layer))


def _average_pooling(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """ONNX's AveragePool, but for windows cut at the border (ignore_border false) with including_pad:
    nnabla counts the padding p there, not the end ONNX is given to keep the cut windows, so the
    window's sum (its average over the whole kernel, times the kernel's size) is divided by nnspec's
    own count per window."""
    counted = bool(layer.props["including_pad"])
    if not (counted and layer.props["ignore_border"] is False):
        g.node("AveragePool", x[:1], out, count_include_pad=int(counted), **_pool_attributes(g, layer))
        return
    from ...layers.pooling import _window_sizes

    n = len(layer.props["kernel_shape"])
    lengths, outputs = g.input_shape(layer)[-n:], layer.inferred_shape[-n:]
    sizes = _window_sizes(lengths, outputs, layer.props).astype(np.float32)
    g.node("Div", [_sum_of_windows(g, layer, x[0]), g.constant(sizes)], out)


def _sum_of_windows(g: Graph, layer: Layer, x: str) -> str:
    """Each window's sum, the positions outside the input counted as 0: the average over the whole
    kernel (padding included) times the kernel's size."""
    average = g.node("AveragePool", [x], count_include_pad=1, **_pool_attributes(g, layer))
    return g.node("Mul", [average, g.constant(float(prod(layer.props["kernel_shape"])))])


def _sum_pooling(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """ONNX has no sum pool: the windows' sums as _sum_of_windows takes them."""
    g.node("Identity", [_sum_of_windows(g, layer, x[0])], out)


def _global_average(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("GlobalAveragePool", x[:1], out)


def _unpooling(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """Each value repeated k times along each kernel axis: nearest-neighbour resizing by whole factors."""
    kernel = list(layer.props["kernel_shape"])
    scales = [1.0] * (len(layer.inferred_shape) + 1 - len(kernel)) + [float(k) for k in kernel]
    g.node(
        "Resize",
        [x[0], "", g.constant(scales)],
        out,
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )


def _interpolate(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """Linear, output index o reading input position o (n-1)/(size-1) (align_corners) or o n/size."""
    mode = "align_corners" if layer.props["align_corners"] else "asymmetric"
    sizes = with_batch(g, x[0], layer.inferred_shape)
    g.node("Resize", [x[0], "", "", sizes], out, mode="linear", coordinate_transformation_mode=mode)


OPS: dict[str, Op] = {
    "MaxPooling": Op(channels_first(_max_pooling)),
    "AveragePooling": Op(channels_first(_average_pooling)),
    "SumPooling": Op(_sum_pooling),
    "GlobalAveragePooling": Op(_global_average),
    "Unpooling": Op(_unpooling),
    "Interpolate": Op(_interpolate),
}
