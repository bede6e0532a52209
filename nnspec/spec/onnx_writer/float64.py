"""Where nnspec's numpy widens to float64 and rounds once to float32 at the end, the graph does the same
(a Cast to double and back): onnxruntime's double kernels then round as numpy does, and a sum or a
running product taken in float32 would not. Here are the helpers every family uses for that, and the
layers whose formula ONNX's operator does not say: Round (halves away from 0, ONNX rounds them to
even), CumProd (a running product, loop-free, 0 from the first zero on) and ATan2 (C's signed zeros and
limits)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model import Layer
from .builder import DOUBLE, FLOAT, Graph, Op, onnx_axis


def double(g: Graph, x: str) -> str:
    return g.node("Cast", [x], to=DOUBLE)


def single(g: Graph, x: str, out: str | None = None) -> str:
    return g.node("Cast", [x], out, to=FLOAT)


def wide(g: Graph, value: Any) -> str:
    return g.constant(value, np.float64)


def round_half_away(g: Graph, x: str) -> str:
    """nnabla's round (C's: halves away from 0) of a float64 tensor: sign(x) floor(|x| + 0.5), exact in
    float64 for every float32 value (0.49999997 + 0.5 stays below 1 there, not in float32)."""
    magnitude = g.node("Floor", [g.node("Add", [g.node("Abs", [x]), wide(g, 0.5)])])
    return g.node("Mul", [g.node("Sign", [x]), magnitude])


def round_single(g: Graph, x: str) -> str:
    """nnabla's round of a float32 tensor, computed in float64 and exact back in float32."""
    return single(g, round_half_away(g, double(g, x)))


def _shifted(g: Graph, x: str, rank: int, axis: int, size: int, by: int, fill: str) -> str:
    """x (of ``rank`` axes) moved ``by`` places along ``axis`` (of ``size``), ``fill`` coming in first:
    a Pad at the start, then a Slice of the first ``size``."""
    pads = [0] * (2 * rank)
    pads[axis] = by
    padded = g.node("Pad", [x, g.constant(pads, np.int64), fill], mode="constant")
    return g.node(
        "Slice",
        [padded, g.constant([0], np.int64), g.constant([size], np.int64), g.constant([axis], np.int64)],
    )


def _reversed(g: Graph, x: str, axis: int) -> str:
    ends = [np.iinfo(np.int64).min]
    return g.node(
        "Slice",
        [
            x,
            g.constant([-1], np.int64),
            g.constant(ends, np.int64),
            g.constant([axis], np.int64),
            g.constant([-1], np.int64),
        ],
    )


def _round(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """Halves away from 0, as nnabla (ONNX's Round takes them to even): sign(x) floor(|x| + 0.5), in
    float64, where 0.49999997 + 0.5 stays below 1 (float32 rounds it up to 1)."""
    single(g, round_half_away(g, double(g, x[0])), out)


def _cumulative_product(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's running product in float64, loop-free: the axis doubled log2(n) times (each place
    times the place 1, 2, 4... before it, Hillis and Steele's scan), zeros taken out first and put back
    as 0 from the first zero on (so an overflow to inf before a zero still gives 0, not NaN)."""
    axis = onnx_axis(layer.props["axis"])
    size = g.input_shape(layer)[layer.props["axis"]]
    rank = len(g.input_shape(layer)) + 1
    one = wide(g, 1.0)
    values = double(g, x[0])
    if layer.props["reverse"]:
        values = _reversed(g, values, axis)
    if layer.props["exclusive"]:
        values = _shifted(g, values, rank, axis, size, 1, one)
    zero = g.node("Equal", [values, wide(g, 0.0)])
    reached = g.node(
        "Greater",
        [g.node("CumSum", [g.node("Cast", [zero], to=DOUBLE), g.constant(axis, np.int64)]), wide(g, 0.0)],
    )
    running = g.node("Where", [zero, one, values])
    step = 1
    while step < size:
        running = g.node("Mul", [running, _shifted(g, running, rank, axis, size, step, one)])
        step *= 2
    result = g.node("Where", [reached, wide(g, 0.0), running])
    if layer.props["reverse"]:
        result = _reversed(g, result, axis)
    single(g, result, out)


def _sign_bit(g: Graph, x: str) -> str:
    """Whether x is negative, -0 included (1 / -0 is -inf): atan2 tells +0 from -0."""
    zero = g.constant(0.0)
    negative_zero = g.node(
        "And", [g.node("Equal", [x, zero]), g.node("Less", [g.node("Div", [g.constant(1.0), x]), zero])]
    )
    return g.node("Or", [g.node("Less", [x, zero]), negative_zero])


def _atan2(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """C's atan2(y, x), numpy's and nnabla's: atan(y / x), plus pi (y's sign) where x is negative
    or -0; where y / x is 0 / 0 or inf / inf, the limits C gives (y itself or +-pi, +-pi/4 or +-3pi/4)."""
    y, x_ = x[0], x[1]
    pi = float(np.pi)
    x_negative, y_negative = _sign_bit(g, x_), _sign_bit(g, y)

    def by_y_sign(value: float) -> str:
        return g.node("Where", [y_negative, g.constant(-value), g.constant(value)])

    half_turn = by_y_sign(pi)
    ratio = g.node("Atan", [g.node("Div", [y, x_])])
    general = g.node("Where", [x_negative, g.node("Add", [ratio, half_turn]), ratio])  # + 0 would lose a -0
    zero = g.constant(0.0)
    both_zero = g.node("And", [g.node("Equal", [y, zero]), g.node("Equal", [x_, zero])])
    both_infinite = g.node("And", [g.node("IsInf", [y]), g.node("IsInf", [x_])])
    at_zero = g.node("Where", [x_negative, half_turn, y])
    at_infinity = g.node("Where", [x_negative, by_y_sign(3 * pi / 4), by_y_sign(pi / 4)])
    angle = g.node("Where", [both_zero, at_zero, g.node("Where", [both_infinite, at_infinity, general])])
    # atan2 has y's sign, -0 included; onnxruntime's Where can turn a chosen -0 into +0, so the sign is
    # put back by a product
    g.node("Mul", [g.node("Abs", [angle]), g.node("Where", [y_negative, g.constant(-1.0), g.constant(1.0)])], out)


OPS: dict[str, Op] = {
    "Round": Op(_round),
    "CumProd": Op(_cumulative_product),
    "ATan2": Op(_atan2),
}
