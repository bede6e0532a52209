"""The layers that move values without computing new ones: reshapes, concatenations, slices, flips,
tiles, pads, broadcasts and shifts; the reductions (Max and Min giving the first position with
only_index); the sorts and selections (Sort and TopKData by ONNX's TopK, which keeps the lower index
first among equals, as nnspec's stable sort); the running sum and OneHot; and the recurrent loops'
layers as the expansion writes them out step by step. Sample axes are ONNX axes shifted by one past
the batch."""

from __future__ import annotations

from math import prod

import numpy as np

from ..model import Layer
from .builder import Graph, Op, as_float, axis_list, onnx_axis, reshaped_to_output
from .elementwise import unary


def _reshape_to_output(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    reshaped_to_output(g, layer, x[0], out)


def _concatenate(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Concat", x, out, axis=onnx_axis(layer.props["axis"]))


def _transpose(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Transpose", x[:1], out, perm=[0, *(onnx_axis(a) for a in layer.props["axes"])])


def _slice(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """start/stop/step apply to the sample's last axes; the output's shape says what nnabla kept."""
    sample = g.input_shape(layer)
    start = list(layer.props["start"])
    step = list(layer.props["step"])
    stop = layer.props.get("stop")
    first = len(sample) - len(start)
    stops = [min(s, n) for s, n in zip(stop, sample[first:])] if stop is not None else list(sample[first:])
    axes = [first + i + 1 for i in range(len(start))]
    g.node(
        "Slice",
        [
            x[0],
            g.constant(start, np.int64),
            g.constant(stops, np.int64),
            g.constant(axes, np.int64),
            g.constant(step, np.int64),
        ],
        out,
    )


def _reduce(op: str, position: str | None = None) -> Op:
    """A reduction over axes; Max and Min with only_index give the position instead (``position``:
    ArgMax or ArgMin)."""

    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        axes = [onnx_axis(a) for a in axis_list(layer.props["axes"])]
        keep = int(bool(layer.props["keep_dims"]))
        if position is not None and layer.props.get("only_index"):
            _position_over(g, layer, x[0], sorted(axes), position, out)
        elif op == "ReduceSum":
            g.node(op, [x[0], g.constant(axes, np.int64)], out, keepdims=keep)
        else:
            g.node(op, x[:1], out, axes=axes, keepdims=keep)

    return Op(emit)


def _position_over(g: Graph, layer: Layer, x: str, axes: list[int], op: str, out: str) -> None:
    """The first position of the extreme value over axes, counted row-major over them (nnspec moves
    them last and flattens them, then takes numpy's arg), as a float."""
    rank = len(g.input_shape(layer)) + 1
    kept = [axis for axis in range(rank) if axis not in axes]
    moved = g.node("Transpose", [x], perm=kept + axes)
    flat = g.node("Reshape", [moved, g.constant([0] * len(kept) + [-1], np.int64)])
    index = g.node(op, [flat], axis=-1, keepdims=0, select_last_index=0)
    reshaped_to_output(g, layer, as_float(g, index), out)


def _stack(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = g.constant([onnx_axis(layer.props["axis"])], np.int64)
    g.node("Concat", [g.node("Unsqueeze", [item, axis]) for item in x], out, axis=onnx_axis(layer.props["axis"]))


def _flip(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = sorted({onnx_axis(a) for a in layer.props["axes"]})
    if not axes:
        g.node("Identity", x[:1], out)
        return
    ends = [np.iinfo(np.int64).min] * len(axes)
    g.node(
        "Slice",
        [
            x[0],
            g.constant([-1] * len(axes), np.int64),
            g.constant(ends, np.int64),
            g.constant(axes, np.int64),
            g.constant([-1] * len(axes), np.int64),
        ],
        out,
    )


def _tile(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    from ...layers.others import _tile_layout

    shape, reps = _tile_layout(g.input_shape(layer), axis_list(layer.props["reps"]))
    reshaped = g.node("Reshape", [x[0], g.constant([-1, *shape], np.int64)])
    g.node("Tile", [reshaped, g.constant([1, *reps], np.int64)], out)


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "repeat": "edge"}


def _pad(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    from ...layers.others import _pad_pairs

    pairs = [(0, 0)] + _pad_pairs(layer.props["pad_width"], len(g.input_shape(layer)))
    pads = g.constant([before for before, _ in pairs] + [after for _, after in pairs], np.int64)
    mode = _PAD_MODES[layer.props["mode"]]
    inputs = [x[0], pads] + ([g.constant(float(layer.props["constant_value"]))] if mode == "constant" else [])
    g.node("Pad", inputs, out, mode=mode)


def _broadcast(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """Size-1 axes repeated to the output's shape; a leading 1 leaves the batch as it is."""
    g.node("Expand", [x[0], g.constant([1, *layer.inferred_shape], np.int64)], out)


def _broadcast_to(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """The second input's axes lined up with the first's leading ones (size-1 axes after), then expanded."""
    target = layer.inferred_shape
    source = g.first_input_of(layer, 1)
    lined_up = [*source, *[1] * (len(target) - len(source))]
    reshaped = g.node("Reshape", [x[1], g.constant([-1, *lined_up], np.int64)])
    g.node("Expand", [reshaped, g.constant([1, *target], np.int64)], out)


def _recurrent_step(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """A RecurrentInput's copy for step t: the input's slice t along axis, that axis removed."""
    step = g.constant(layer.props["step"], np.int64)  # a scalar index: Gather drops the axis
    g.node("Gather", [x[0], step], out, axis=onnx_axis(layer.props["axis"]))


def _sort(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """The values along axis in order, or with only_index their source positions: ONNX's TopK of all of
    them (ascending unless reverse; the lower index first among equals, as nnspec's stable sort)."""
    axis = layer.props["axis"]  # negative: counted from the last axis, as ONNX counts it too
    size = g.constant([layer.inferred_shape[axis]], np.int64)
    axis = onnx_axis(axis) if axis >= 0 else axis
    largest = int(bool(layer.props["reverse"]))
    values = f"{out}/values" if layer.props["only_index"] else out
    indices = f"{out}/indices"
    g.nodes.append(g.helper.make_node("TopK", [x[0], size], [values, indices], name=values, axis=axis, largest=largest))
    if layer.props["only_index"]:
        as_float(g, indices, out)


def _top_k_data(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """The k largest (of |i| with abs) of each sample from base_axis on: TopK's indices (the lower index
    first among equals, as nnspec's stable sort), their values gathered; without reduce, scattered
    into zeros of the input's shape."""
    base = layer.props["base_axis"]
    sample = g.input_shape(layer)
    flat = g.node("Reshape", [x[0], g.constant([-1, *sample[:base], prod(sample[base:])], np.int64)])
    key = g.node("Abs", [flat]) if layer.props["abs"] else flat
    k = g.constant([layer.props["k"]], np.int64)
    indices = f"{out}/indices"
    g.nodes.append(
        g.helper.make_node("TopK", [key, k], [f"{out}/keys", indices], name=f"{out}/topk", axis=-1, largest=1, sorted=1)
    )
    values = g.node("GatherElements", [flat, indices], axis=-1)
    if layer.props["reduce"]:
        g.node("Identity", [values], out)
        return
    zeros = g.node("ConstantOfShape", [g.node("Shape", [flat])])
    kept = g.node("ScatterElements", [zeros, indices, values], axis=-1)
    reshaped_to_output(g, layer, kept, out)


def _shift(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """Each shifted axis read at the indices nnspec reads (the borders as border_mode says): a Gather."""
    from ...layers.others import _shift_source, _trailing

    sample = g.input_shape(layer)
    amounts = _trailing(layer.props["shift"], len(sample), 0, "shift")
    value = x[0]
    for axis, amount in enumerate(amounts):
        if amount:
            indices = _shift_source(sample[axis], amount, layer.props["border_mode"])
            value = g.node("Gather", [value, g.constant(indices, np.int64)], axis=axis + 1)
    g.node("Identity", [value], out)


def _cumulative_sum(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = g.constant(onnx_axis(layer.props["axis"]), np.int64)
    g.node(
        "CumSum",
        [x[0], axis],
        out,
        exclusive=int(bool(layer.props["exclusive"])),
        reverse=int(bool(layer.props["reverse"])),
    )


def _one_hot(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """1 at the row-major place of the indices in the last axis, 0 elsewhere: the place as a product
    of the indices with the classes' strides, compared with every place."""
    classes = axis_list(layer.props["shape"])
    strides = [prod(classes[k + 1 :]) for k in range(len(classes))]
    place = g.node("MatMul", [x[0], g.constant([[stride] for stride in strides])])  # (..., 1)
    hits = as_float(g, g.node("Equal", [place, g.constant(np.arange(prod(classes)))]))  # (..., prod(classes))
    reshaped_to_output(g, layer, hits, out)


OPS: dict[str, Op] = {
    "Reshape": Op(_reshape_to_output),
    "Flatten": Op(_reshape_to_output),
    "Concatenate": Op(_concatenate),
    "Transpose": Op(_transpose),
    "Slice": Op(_slice),
    "Stack": Op(_stack),
    "Flip": Op(_flip),
    "Tile": Op(_tile),
    "Broadcast": Op(_broadcast),
    "BroadcastTo": Op(_broadcast_to),
    "Pad": Op(_pad),
    "Shift": Op(_shift),
    "Sum": _reduce("ReduceSum"),
    "Mean": _reduce("ReduceMean"),
    "Max": _reduce("ReduceMax", "ArgMax"),
    "Min": _reduce("ReduceMin", "ArgMin"),
    "Prod": _reduce("ReduceProd"),
    "CumSum": Op(_cumulative_sum),
    "Sort": Op(_sort),
    "TopKData": Op(_top_k_data),
    "OneHot": Op(_one_hot),
    "RecurrentInput": Op(_recurrent_step),
    "RecurrentOutput": Op(_stack),
    "Delay": unary("Identity"),  # step 0's copy: its Initial (later steps read the layer itself)
}
