"""The losses. The class-index losses read the target truncated toward 0 (nnabla's int cast) and give 0
where it is negative; a probability is floored at float32's smallest normal before its log, as
nnabla floors it; SigmoidCrossEntropy is nnabla's stable form, and BinaryError counts a value of 0.5
as 1. All in float32, each formula as nnabla states it."""

from __future__ import annotations

import numpy as np

from ..model import Layer
from .builder import FLOAT, INT64, Graph, Op, as_float, onnx_axis, reshaped_to_output

TINY = float(np.finfo(np.float32).tiny)  # nnabla's floor under a probability before its log


def _squared_error(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    difference = g.node("Sub", x[:2])
    g.node("Mul", [difference, difference], out)


def _absolute_error(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Abs", [g.node("Sub", x[:2])], out)


def _class_index(g: Graph, target: str) -> str:
    """The target truncated toward 0 (nnabla's int cast), a negative one read as class 0 (masked after)."""
    return g.node("Cast", [g.node("Max", [target, g.constant(0.0)])], to=INT64)


def _ignored_where_negative(g: Graph, target: str, loss: str, out: str) -> None:
    """0 where the class index is negative (t <= -1: nnabla truncates -0.5 to class 0)."""
    g.node("Where", [g.node("LessOrEqual", [target, g.constant(-1.0)]), g.constant(0.0), loss], out)


def _categorical_cross_entropy(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = onnx_axis(layer.props["axis"])
    picked = g.node("GatherElements", [x[0], _class_index(g, x[1])], axis=axis)
    loss = g.node("Neg", [g.node("Log", [g.node("Max", [picked, g.constant(TINY)])])])
    _ignored_where_negative(g, x[1], loss, out)


def _softmax_cross_entropy(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = onnx_axis(layer.props["axis"])
    logs = g.node("LogSoftmax", x[:1], axis=axis)
    loss = g.node("Neg", [g.node("GatherElements", [logs, _class_index(g, x[1])], axis=axis)])
    _ignored_where_negative(g, x[1], loss, out)


def _top_n_error(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """1 where more than n values along axis are >= the target class's value (ties count against it)."""
    axis = onnx_axis(layer.props["axis"])
    threshold = g.node("GatherElements", [x[0], _class_index(g, x[1])], axis=axis)
    above = as_float(g, g.node("GreaterOrEqual", [x[0], threshold]))
    count = g.node("ReduceSum", [above, g.constant([axis], np.int64)], keepdims=1)
    as_float(g, g.node("Greater", [count, g.constant(float(layer.props["n"]))]), out)


def _binary_cross_entropy(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """-(t ln(max(i, tiny)) + (1 - t) ln(max(1 - i, tiny)))"""
    one = g.constant(1.0)
    log_p = g.node("Log", [g.node("Max", [x[0], g.constant(TINY)])])
    log_q = g.node("Log", [g.node("Max", [g.node("Sub", [one, x[0]]), g.constant(TINY)])])
    total = g.node("Add", [g.node("Mul", [x[1], log_p]), g.node("Mul", [g.node("Sub", [one, x[1]]), log_q])])
    g.node("Neg", [total], out)


def _sigmoid_cross_entropy(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's stable form: i ([i >= 0] - trunc(t)) + ln(1 + exp(-|i|)), the target truncated."""
    label = g.node("Cast", [g.node("Cast", [x[1]], to=INT64)], to=FLOAT)
    sign = as_float(g, g.node("GreaterOrEqual", [x[0], g.constant(0.0)]))
    linear = g.node("Mul", [x[0], g.node("Sub", [sign, label])])
    g.node("Add", [linear, g.node("Softplus", [g.node("Neg", [g.node("Abs", x[:1])])])], out)


def _difference(g: Graph, x: list[str]) -> str:
    return g.node("Abs", [g.node("Sub", x[:2])])


def _huber_loss(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    delta = float(layer.props["delta"])
    d = _difference(g, x)
    linear = g.node("Mul", [g.node("Sub", [g.node("Mul", [d, g.constant(2.0)]), g.constant(delta)]), g.constant(delta)])
    g.node("Where", [g.node("Less", [d, g.constant(delta)]), g.node("Mul", [d, d]), linear], out)


def _epsilon_insensitive_loss(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    epsilon = g.constant(float(layer.props["epsilon"]))
    d = _difference(g, x)
    g.node("Where", [g.node("Greater", [d, epsilon]), g.node("Sub", [d, epsilon]), g.constant(0.0)], out)


def _binary_error(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    half = g.constant(0.5)
    guessed, meant = (g.node("GreaterOrEqual", [value, half]) for value in x[:2])
    as_float(g, g.node("Xor", [guessed, meant]), out)


def _kl_multinomial(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """sum p (ln(p + 1e-8) - ln(q + 1e-8)) over the axes from base_axis on."""
    eps = g.constant(1e-8)
    logs = [g.node("Log", [g.node("Add", [value, eps])]) for value in x[:2]]
    terms = g.node("Mul", [x[0], g.node("Sub", logs)])
    axes = list(range(onnx_axis(layer.props["base_axis"]), len(g.input_shape(layer)) + 1))
    total = g.node("ReduceSum", [terms, g.constant(axes, np.int64)], keepdims=1)
    reshaped_to_output(g, layer, total, out)


OPS: dict[str, Op] = {
    "SquaredError": Op(_squared_error),
    "AbsoluteError": Op(_absolute_error),
    "HuberLoss": Op(_huber_loss),
    "EpsilonInsensitiveLoss": Op(_epsilon_insensitive_loss),
    "CategoricalCrossEntropy": Op(_categorical_cross_entropy),
    "SoftmaxCrossEntropy": Op(_softmax_cross_entropy),
    "TopNError": Op(_top_n_error),
    "BinaryCrossEntropy": Op(_binary_cross_entropy),
    "SigmoidCrossEntropy": Op(_sigmoid_cross_entropy),
    "BinaryError": Op(_binary_error),
    "KLMultinomial": Op(_kl_multinomial),
}
