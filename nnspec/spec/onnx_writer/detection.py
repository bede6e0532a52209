"""NmsDetection2d: nnspec's non-maximum suppression in ONNX's operators, box by box in score order.
Per class it is an unrolled pass over the boxes, a row at a step (the memory of one step, not of
every pair for every class); by objectness, every box against every better-ranked one at once, since
nnabla compares with each better box whether or not it was suppressed. The overlaps are nnspec's, in
float32."""

from __future__ import annotations

import numpy as np

from ..model import Layer
from .builder import FLOAT, Graph, Op


def _columns(g: Graph, x: str, start: int, end: int) -> str:
    """Columns start..end of the last axis of (N, boxes, 5 + classes)."""
    return g.node("Slice", [x, g.constant([start], np.int64), g.constant([end], np.int64), g.constant([2], np.int64)])


def _overlaps(g: Graph, boxes: str) -> str:
    """(N, B, B): the overlap ratio of box i with box j, nnspec's _iou in float32 (0 where they do not
    overlap), from the (x, y, w, h) centre and size of each."""
    centre, size = _columns(g, boxes, 0, 2), _columns(g, boxes, 2, 4)
    half = g.node("Div", [size, g.constant(2.0)])
    low, high = g.node("Sub", [centre, half]), g.node("Add", [centre, half])

    def pairs(value: str) -> tuple[str, str]:  # (N, B, 1, 2) against (N, 1, B, 2)
        return (
            g.node("Unsqueeze", [value, g.constant([2], np.int64)]),
            g.node("Unsqueeze", [value, g.constant([1], np.int64)]),
        )

    (high_i, high_j), (low_i, low_j) = pairs(high), pairs(low)
    overlap = g.node("Sub", [g.node("Min", [high_i, high_j]), g.node("Max", [low_i, low_j])])  # (N, B, B, 2)

    def part(value: str, index: int) -> str:
        return g.node(
            "Squeeze",
            [
                g.node(
                    "Slice",
                    [
                        value,
                        g.constant([index], np.int64),
                        g.constant([index + 1], np.int64),
                        g.constant([-1], np.int64),
                    ],
                ),
                g.constant([-1], np.int64),
            ],
        )

    w, h = part(overlap, 0), part(overlap, 1)
    intersection = g.node("Mul", [w, h])
    area = g.node("Mul", [part(size, 0), part(size, 1)])  # (N, B)
    area_i = g.node("Unsqueeze", [area, g.constant([2], np.int64)])
    area_j = g.node("Unsqueeze", [area, g.constant([1], np.int64)])
    union = g.node("Sub", [g.node("Add", [area_i, area_j]), intersection])
    both = g.node("And", [g.node("Greater", [w, g.constant(0.0)]), g.node("Greater", [h, g.constant(0.0)])])
    return g.node("Where", [both, g.node("Div", [intersection, union]), g.constant(0.0)])


def _in_order(g: Graph, overlaps: str, order: str) -> str:
    """overlaps[..., order[i], order[j]]: the overlaps (N, ..., B, B) of the boxes ranked i and j, for
    orders (N, ..., B)."""
    shape = g.node("Shape", [overlaps])

    def spread(axis: int) -> str:
        return g.node("Expand", [g.node("Unsqueeze", [order, g.constant([axis], np.int64)]), shape])

    rows = g.node("GatherElements", [overlaps, spread(-1)], axis=-2)
    return g.node("GatherElements", [rows, spread(-2)], axis=-1)


def _at_rank(g: Graph, value: str, rank: int) -> str:
    """value[..., rank:rank + 1] along the last axis."""
    starts, ends = g.constant([rank], np.int64), g.constant([rank + 1], np.int64)
    return g.node("Slice", [value, starts, ends, g.constant([-1], np.int64)])


def _sorted_down(g: Graph, scores: str, count: int, name: str) -> str:
    """The indices of scores (last axis) from the highest down, the lower index first among equals."""
    indices = f"{name}/order"
    g.nodes.append(
        g.helper.make_node(
            "TopK",
            [scores, g.constant([count], np.int64)],
            [f"{name}/sorted", indices],
            name=name,
            axis=-1,
            largest=1,
            sorted=1,
        )
    )
    return indices


def _nms_detection2d(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's suppression, box by box in score order: per class, an unrolled pass over the boxes
    (each box still scored suppresses the later ones overlapping it by more than nms); by objectness,
    each box overlapping any better-ranked one by more than nms, at once (nnabla compares with every
    better box, suppressed or not)."""
    boxes_count, width = layer.inferred_shape
    thresh, nms = (
        g.constant(float(np.float32(layer.props["thresh"]))),
        g.constant(float(np.float32(layer.props["nms"]))),
    )
    zero = g.constant(0.0)
    boxes = x[0]
    objectness = _columns(g, boxes, 4, 5)
    objectness = g.node("Where", [g.node("Less", [objectness, thresh]), zero, objectness])
    scores = g.node("Mul", [objectness, _columns(g, boxes, 5, width)])
    scores = g.node("Where", [g.node("Less", [scores, thresh]), zero, scores])  # (N, B, K)
    overlaps = _overlaps(g, boxes)
    later = np.arange(boxes_count)
    if layer.props["nms_per_class"]:
        per_class = g.node("Transpose", [scores], perm=[0, 2, 1])  # (N, K, B)
        order = _sorted_down(g, per_class, boxes_count, f"{out}/by_class")
        ranked = g.node("GatherElements", [per_class, order], axis=-1)
        alive = g.node("Not", [g.node("Equal", [ranked, zero])])
        shape = g.node("Shape", [per_class])
        for i in range(boxes_count - 1):  # a (N, K, B) row a step: the memory of one step, not of K B^2
            here = _at_rank(g, alive, i)  # (N, K, 1)
            box = g.node("Expand", [_at_rank(g, order, i), shape])  # the box ranked i, in every column
            row = g.node("GatherElements", [overlaps, box], axis=1)  # its overlap with each box j: (N, K, B)
            row = g.node("GatherElements", [row, order], axis=-1)  # ... with the box ranked j
            hit = g.node("And", [g.node("Greater", [row, nms]), g.constant(later > i, bool)])
            alive = g.node("And", [alive, g.node("Not", [g.node("And", [here, hit])])])
        kept = g.node("Where", [alive, ranked, zero])
        back = g.node(
            "ScatterElements", [g.node("ConstantOfShape", [g.node("Shape", [per_class])]), order, kept], axis=-1
        )
        probabilities = g.node("Transpose", [back], perm=[0, 2, 1])
    else:
        flat = g.node("Squeeze", [objectness, g.constant([2], np.int64)])  # (N, B)
        order = _sorted_down(g, flat, boxes_count, f"{out}/by_objectness")
        ordered = _in_order(g, overlaps, order)
        better = g.constant(later[None, :] < later[:, None], bool)  # j ranked before i
        overlapping = g.node(
            "ReduceMax",
            [g.node("Cast", [g.node("And", [g.node("Greater", [ordered, nms]), better])], to=FLOAT)],
            axes=[-1],
            keepdims=0,
        )
        ranked = g.node("GatherElements", [flat, order], axis=-1)
        hit = g.node("And", [g.node("Greater", [overlapping, zero]), g.node("Not", [g.node("Equal", [ranked, zero])])])
        hit = g.node(
            "ScatterElements",
            [g.node("ConstantOfShape", [g.node("Shape", [flat])]), order, g.node("Cast", [hit], to=FLOAT)],
            axis=-1,
        )
        suppressed = g.node("Unsqueeze", [g.node("Greater", [hit, zero]), g.constant([2], np.int64)])  # (N, B, 1)
        objectness = g.node("Where", [suppressed, zero, objectness])
        probabilities = g.node("Where", [suppressed, zero, scores])
    g.node("Concat", [_columns(g, boxes, 0, 4), objectness, probabilities], out, axis=2)


OPS: dict[str, Op] = {
    "NmsDetection2d": Op(_nms_detection2d),
}
