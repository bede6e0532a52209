"""The normalizations of the data: BatchNormalization (and its fused ReLU), MeanSubtraction, and the
ones from each sample's own statistics (Layer, Instance and Group). The usual batch normalization
(stored statistics per channel) is ONNX's operator, which onnxruntime fuses into a preceding Conv;
any other is nnspec's float64 formula. The per-sample ones are nnabla's exact formula written out
(ReduceMean, Sub, Div...), not ONNX's LayerNormalization or GroupNormalization (opset 18, whose
scale changed shape in 21)."""

from __future__ import annotations

import numpy as np

from ..model import Layer
from .builder import Graph, Op, axis_list, onnx_axis
from .float64 import double, single, wide
from .weight_norms import standardized_wide


def _batch_normalization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """ONNX's BatchNormalization for the usual case (stored statistics per channel, axes [0]), which
    onnxruntime fuses into a preceding Conv; else nnspec's float64 formulas: with stored statistics
    ((i/2 - mean/2) k) 2 + beta, k = gamma / sqrt(var + epsilon), per index of axes; with batch
    statistics (the training view) the batch's standardised values times gamma plus beta."""
    axes = list(axis_list(layer.props["axes"]))
    if axes == [0] and not layer.props.get("batch_stat"):
        channels = layer.inferred_shape[0]
        names = [g.parameter(layer, name, (channels,)) for name in ("gamma", "beta", "mean", "var")]
        g.node("BatchNormalization", [x[0], *names], out, epsilon=float(layer.props["epsilon"]))
        return
    gamma, beta = (double(g, g.parameter(layer, name)) for name in ("gamma", "beta"))
    w = double(g, x[0])
    if layer.props.get("batch_stat"):
        kept = {onnx_axis(axis) for axis in axes}
        reduced = [axis for axis in range(len(layer.inferred_shape) + 1) if axis not in kept]
        xhat = standardized_wide(g, w, reduced, float(layer.props["epsilon"]))
        single(g, g.node("Add", [g.node("Mul", [xhat, gamma]), beta]), out)
        return
    mean, var = (double(g, g.parameter(layer, name)) for name in ("mean", "var"))
    k = g.node("Div", [gamma, g.node("Sqrt", [g.node("Add", [var, wide(g, float(layer.props["epsilon"]))])])])
    half = wide(g, 0.5)
    centred = g.node("Sub", [g.node("Mul", [half, w]), g.node("Mul", [half, mean])])
    scaled = g.node("Mul", [g.node("Mul", [centred, k]), wide(g, 2.0)])
    single(g, g.node("Add", [scaled, beta]), out)


def _fused_batch_normalization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    _batch_normalization(g, layer, x, f"{out}/normalized")
    g.node("Relu", [f"{out}/normalized"], out)


def _mean_subtraction(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Sub", [x[0], g.parameter(layer, "mean", (1, *layer.inferred_shape))], out)


def _standardized(g: Graph, x: str, axes: list[int], epsilon: float) -> str:
    """(x - mean) / sqrt(var + epsilon), mean and biased variance over ``axes`` (ONNX axes)."""
    centred = g.node("Sub", [x, g.node("ReduceMean", [x], axes=axes, keepdims=1)])
    variance = g.node("ReduceMean", [g.node("Mul", [centred, centred])], axes=axes, keepdims=1)
    return g.node("Div", [centred, g.node("Sqrt", [g.node("Add", [variance, g.constant(epsilon)])])])


def _scaled(g: Graph, layer: Layer, xhat: str, out: str) -> None:
    """xhat gamma + beta, the parameters in nnabla's layout (a leading 1 that broadcasts over the batch)."""
    g.node("Add", [g.node("Mul", [xhat, g.parameter(layer, "gamma")]), g.parameter(layer, "beta")], out)


def _sample_axes(layer: Layer, rank: int, also_kept: set[int]) -> list[int]:
    """The ONNX axes a per-sample normalization reduces: a sample's, but those ``also_kept`` and a
    batch_axis naming one of them (statistics per index of it, nnabla's second batch axis)."""
    batch_axis = layer.props.get("batch_axis", -1)
    kept = also_kept | ({onnx_axis(batch_axis)} if batch_axis >= 0 else set())
    return [axis for axis in range(1, rank + 1) if axis not in kept]


def _layer_normalization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = _sample_axes(layer, len(layer.inferred_shape), set())
    _scaled(g, layer, _standardized(g, x[0], axes, float(layer.props["epsilon"])), out)


def _instance_normalization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = _sample_axes(layer, len(layer.inferred_shape), {onnx_axis(layer.props["channel_axis"])})
    _scaled(g, layer, _standardized(g, x[0], axes, float(layer.props["epsilon"])), out)


def _group_normalization(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """The channel axis split into (num_groups, C / num_groups), standardised over all but the group axis."""
    shape, channel, groups = layer.inferred_shape, layer.props["channel_axis"], layer.props["num_groups"]
    grouped_shape = [*shape[:channel], groups, shape[channel] // groups, *shape[channel + 1 :]]
    grouped = g.node("Reshape", [x[0], g.constant([-1, *grouped_shape], np.int64)])
    batch_axis = layer.props.get("batch_axis", -1)  # in the grouped shape, one further on past the channel
    kept = {channel + 1} | ({batch_axis + 1 if batch_axis < channel else batch_axis + 2} if batch_axis >= 0 else set())
    axes = [axis for axis in range(1, len(grouped_shape) + 1) if axis not in kept]
    xhat = _standardized(g, grouped, axes, float(layer.props["epsilon"]))
    _scaled(g, layer, g.node("Reshape", [xhat, g.constant([-1, *shape], np.int64)]), out)


OPS: dict[str, Op] = {
    "BatchNormalization": Op(_batch_normalization),
    "FusedBatchNormalization": Op(_fused_batch_normalization),
    "MeanSubtraction": Op(_mean_subtraction),
    "LayerNormalization": Op(_layer_normalization),
    "InstanceNormalization": Op(_instance_normalization),
    "GroupNormalization": Op(_group_normalization),
}
