"""The layers with weights: Affine, the convolutions and deconvolutions, Embed, and the two whose ONNX
operator is missing or later than opset 17 (DeformableConvolution, AdaptiveSeparableConvolution),
written out from gathers and products in float64 in nnspec's order of summation. The initializers
hold the weights as nnabla's parameter files do; where ONNX wants another layout (a depthwise kernel,
an Affine's W of more than two axes, channel_last) the graph reshapes or transposes them, so that a
model's weights stay a file's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from math import prod
from typing import Any

import numpy as np

from ..model import Layer
from .builder import INT64, Emit, Graph, Op, folded
from .float64 import double, single, wide


def channels_first(inner: Emit) -> Emit:
    """A convolution or pool with channel_last written channels first, as ONNX takes them: a Transpose
    of the input (the last axis to the front), the layer as with channel_last false (its W, kept in
    nnabla's (O, *kernel, C) layout as the initializer, transposed in the graph), and a Transpose back."""

    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> object:
        if not layer.props.get("channel_last"):
            return inner(g, layer, x, out)
        sample, shape = g.input_shape(layer), layer.inferred_shape
        rank = len(sample) + 1
        moved = g.node("Transpose", x[:1], perm=[0, rank - 1, *range(1, rank - 1)])
        first = replace(layer, props={**layer.props, "channel_last": False}, shape=(shape[-1], *shape[:-1]))
        g.input_shapes[layer.name] = [(sample[-1], *sample[:-1]), *g.input_shapes[layer.name][1:]]
        g.channel_last_weights.add(layer.name)
        inner(g, first, [moved, *x[1:]], f"{out}/channels_first")
        return g.node("Transpose", [f"{out}/channels_first"], out, perm=[0, *range(2, rank), 1])

    return emit


def _affine(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    weight = g.parameters[layer.name]["W"]
    rows = g.node("Flatten", x[:1], axis=1)
    width = prod(layer.props["out_shape"])
    inputs = [rows, g.parameter(layer, "W", (weight.shape[0], width) if weight.ndim != 2 else None)]
    if "b" in g.parameters[layer.name]:
        inputs.append(g.parameter(layer, "b", (width,)))
    if len(layer.props["out_shape"]) == 1:
        g.node("Gemm", inputs, out)
    else:
        g.node("Reshape", [g.node("Gemm", inputs), g.constant([-1, *layer.props["out_shape"]], np.int64)], out)


def _operands(g: Graph, layer: Layer, x: list[str], shape: Sequence[int] | None = None) -> list[str]:
    """The layer's input, its W (reshaped to ``shape`` where ONNX wants another layout) and its b where
    it has one: a Conv's or a ConvTranspose's inputs."""
    inputs = [x[0], g.parameter(layer, "W", shape)]
    if "b" in g.parameters[layer.name]:
        inputs.append(g.parameter(layer, "b"))
    return inputs


def conv_attributes(layer: Layer, padding: Sequence[int]) -> dict[str, Any]:
    props = layer.props
    return {
        "kernel_shape": list(props["kernel_shape"]),
        "strides": list(props["strides"]),
        "dilations": list(props["dilation"]),
        "pads": [*padding, *padding],
    }


def _convolution(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    from ...layers.basic import conv_padding

    inputs = _operands(g, layer, x)
    g.node("Conv", inputs, out, group=layer.props["group"], **conv_attributes(layer, conv_padding(layer.props)))


def _depthwise_convolution(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's depthwise kernels (C multiplier, *kernel) as a Conv with one group a channel."""
    from ...layers.basic import conv_padding

    weight = g.parameters[layer.name]["W"]
    kernel = layer.props["kernel_shape"]
    channels = weight.shape[0] // layer.props["multiplier"]
    inputs = _operands(g, layer, x, (weight.shape[0], 1, *kernel))
    props = dict(layer.props)
    props.setdefault("dilation", [1] * len(kernel))
    g.node("Conv", inputs, out, group=channels, **conv_attributes(layer, conv_padding(props)))


def _deconvolution(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    inputs = _operands(g, layer, x)
    g.node("ConvTranspose", inputs, out, group=layer.props["group"], **conv_attributes(layer, layer.props["padding"]))


def _depthwise_deconvolution(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's kernels (C, *kernel) as a ConvTranspose whose groups take ``divisor`` input maps each."""
    weight = g.parameters[layer.name]["W"]
    channels, kernel = weight.shape[0], layer.props["kernel_shape"]
    inputs = _operands(g, layer, x, (channels, 1, *kernel))
    groups = channels // layer.props["divisor"]
    g.node("ConvTranspose", inputs, out, group=groups, **conv_attributes(layer, layer.props["padding"]))


def _embed(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """W's rows at the class indices (truncated toward 0, as nnabla's int cast)."""
    g.node("Gather", [g.parameter(layer, "W"), g.node("Cast", x[:1], to=INT64)], out, axis=0)


def _deformable_convolution(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's modulated deformable convolution in float64, in opset 17's operators (ONNX's DeformConv
    is opset 19): each tap's fractional position (a constant grid plus its offset, read where the
    output's window starts), its four neighbours gathered and weighted (0 outside the image, as
    nnabla's im2col_bilinear), scaled by the mask, then each group's kernels as a MatMul."""
    from ...layers.basic import _conv_lengths, conv_padding

    props = layer.props
    channels, height, width = g.input_shape(layer)
    (kh, kw), (sh, sw), (dh, dw) = props["kernel_shape"], props["strides"], props["dilation"]
    ph, pw = conv_padding(props)
    out_h, out_w = _conv_lengths((height, width), props)
    groups, taps, group = props["deformable_group"], kh * kw, props["group"]
    cg = channels // groups

    def at_outputs(value: str, shape: list[int]) -> str:
        """(N, *shape, H, W) read at the input positions where the outputs' windows start."""
        grid = g.node("Reshape", [double(g, value), g.constant([-1, *shape, height, width], np.int64)])
        axes = [len(shape) + 1, len(shape) + 2]
        ends = [out_h * sh, out_w * sw]
        return g.node(
            "Slice",
            [
                grid,
                g.constant([0, 0], np.int64),
                g.constant(ends, np.int64),
                g.constant(axes, np.int64),
                g.constant([sh, sw], np.int64),
            ],
        )

    shift = at_outputs(x[1], [groups, taps, 2])  # (N, G, taps, 2, out_h, out_w)
    scale = at_outputs(x[2], [groups, taps])
    tap_h = (np.arange(kh) * dh).repeat(kw)[:, None, None]
    tap_w = np.tile(np.arange(kw) * dw, kh)[:, None, None]
    base_rows = (np.arange(out_h) * sh)[None, :, None] + tap_h - ph + np.zeros((1, 1, out_w))
    base_cols = (np.arange(out_w) * sw)[None, None, :] + tap_w - pw + np.zeros((1, out_h, 1))

    def part(index: int) -> str:
        picked = g.node("Gather", [shift, g.constant(index, np.int64)], axis=3)  # (N, G, taps, out_h, out_w)
        return g.node("Reshape", [picked, g.constant([-1, groups, taps * out_h * out_w], np.int64)])

    flat_grid = [-1, 1, taps * out_h * out_w]
    rows = g.node("Add", [g.constant(base_rows.reshape(flat_grid[1:]), np.float64), part(0)])  # (N, G, P)
    cols = g.node("Add", [g.constant(base_cols.reshape(flat_grid[1:]), np.float64), part(1)])
    image = g.node("Reshape", [double(g, x[0]), g.constant([-1, groups, cg, height * width], np.int64)])
    zero, one = wide(g, 0.0), wide(g, 1.0)

    def test(op: str, value: str, bound: float) -> str:
        return g.node(op, [value, wide(g, bound)])

    inside = g.node(
        "And",
        [
            g.node("And", [test("Greater", rows, -1), test("Greater", cols, -1)]),
            g.node("And", [test("Less", rows, height), test("Less", cols, width)]),
        ],
    )
    low_h, low_w = g.node("Floor", [rows]), g.node("Floor", [cols])
    terms = []
    for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        r = g.node("Add", [low_h, wide(g, float(dr))])
        c = g.node("Add", [low_w, wide(g, float(dc))])
        weight = g.node(
            "Mul",
            [
                g.node("Sub", [one, g.node("Abs", [g.node("Sub", [rows, r])])]),
                g.node("Sub", [one, g.node("Abs", [g.node("Sub", [cols, c])])]),
            ],
        )
        valid = inside
        for check in (
            test("GreaterOrEqual", r, 0),
            test("GreaterOrEqual", c, 0),
            test("LessOrEqual", r, height - 1),
            test("LessOrEqual", c, width - 1),
        ):
            valid = g.node("And", [valid, check])
        place = g.node("Where", [valid, g.node("Add", [g.node("Mul", [r, wide(g, float(width))]), c]), zero])
        index = g.node("Unsqueeze", [g.node("Cast", [place], to=INT64), g.constant([2], np.int64)])  # (N, G, 1, P)
        index = g.node("Expand", [index, g.constant([1, 1, cg, 1], np.int64)])
        values = g.node("GatherElements", [image, index], axis=3)  # (N, G, Cg, P)
        gain = g.node("Unsqueeze", [g.node("Where", [valid, weight, zero]), g.constant([2], np.int64)])
        terms.append(g.node("Mul", [values, gain]))
    sampled = g.node("Reshape", [folded(g, "Add", terms), g.constant([-1, groups, cg, taps, out_h, out_w], np.int64)])
    columns = g.node("Mul", [sampled, g.node("Unsqueeze", [scale, g.constant([2], np.int64)])])
    weights = g.parameters[layer.name]["W"]
    per_in, per_out = channels // group, weights.shape[0] // group
    columns = g.node("Reshape", [columns, g.constant([-1, group, per_in * taps, out_h * out_w], np.int64)])
    kernels = double(g, g.parameter(layer, "W", (group, per_out, per_in * taps)))
    result = g.node(
        "Reshape", [g.node("MatMul", [kernels, columns]), g.constant([-1, weights.shape[0], out_h, out_w], np.int64)]
    )
    if "b" in g.parameters[layer.name]:
        result = g.node("Add", [result, double(g, g.parameter(layer, "b", (weights.shape[0], 1, 1)))])
    single(g, result, out)


def _adaptive_separable_convolution(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """o[c, y, x] = sum_{j, i} V[j, y, x] H[i, y, x] i[c, y + j, x + i]: a Slice of the image and a
    product of the kernels a tap, summed in float64 in nnspec's order (j, then i)."""
    kv, kh = layer.props["kernel_shape"]
    out_h, out_w = layer.inferred_shape[-2:]
    image, vertical, horizontal = (double(g, value) for value in x[:3])

    def window(value: str, starts: list[int], sizes: list[int], axes: list[int]) -> str:
        ends = [start + size for start, size in zip(starts, sizes)]
        return g.node(
            "Slice", [value, g.constant(starts, np.int64), g.constant(ends, np.int64), g.constant(axes, np.int64)]
        )

    terms = []
    for j in range(kv):
        for i in range(kh):
            weight = g.node("Mul", [window(vertical, [j], [1], [1]), window(horizontal, [i], [1], [1])])  # (N, 1, h, w)
            term = g.node("Mul", [weight, window(image, [j, i], [out_h, out_w], [2, 3])])
            terms.append(term)
    single(g, folded(g, "Add", terms), out)


OPS: dict[str, Op] = {
    "Affine": Op(_affine),
    "Convolution": Op(channels_first(_convolution)),
    "DepthwiseConvolution": Op(_depthwise_convolution),
    "Deconvolution": Op(channels_first(_deconvolution)),
    "DepthwiseDeconvolution": Op(_depthwise_deconvolution),
    "Embed": Op(_embed),
    "DeformableConvolution": Op(_deformable_convolution),
    "AdaptiveSeparableConvolution": Op(_adaptive_separable_convolution),
}
