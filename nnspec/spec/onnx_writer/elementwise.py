"""The activations, the arithmetic and the clips, value by value (Softmax along an axis), and the layers
that are the identity in a forward pass (Unlink, the gradient clips, TopKGrad, Output). Most are one ONNX
operator; where ONNX's operator says another formula than nnabla's, the nodes say nnabla's: GELU is
tanh's approximation, Sign gives alpha at 0 and for NaN, Sinc is 1 at 0, PReLU's slope is broadcast
along base_axis, MulN multiplies left to right. All in float32, as nnspec computes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..model import Layer
from .builder import Graph, Op, axis_list, folded, onnx_axis


def unary(op: str, **attributes: Any) -> Op:
    return Op(lambda g, layer, x, out: g.node(op, x[:1], out, **attributes))


def _binary(op: str) -> Op:
    return Op(lambda g, layer, x, out: g.node(op, x[:2], out))


def _scalar(op: str, reverse: bool = False) -> Op:
    """x op value (value op x with ``reverse``), the value a constant of the layer's property."""

    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        value = g.constant(float(layer.props["value"]))
        g.node(op, [value, x[0]] if reverse else [x[0], value], out)

    return Op(emit)


def _chain(op: str) -> Op:
    """A variadic op (Sum, Max...) over every input."""
    return Op(lambda g, layer, x, out: g.node(op, x, out))


def _clip(low: float, high: float) -> Op:
    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        g.node("Clip", [x[0], g.constant(low), g.constant(high)], out)

    return Op(emit)


def _swish(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Mul", [x[0], g.node("Sigmoid", x[:1])], out)


def _mish(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Mul", [x[0], g.node("Tanh", [g.node("Softplus", x[:1])])], out)


def _tanh_shrink(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Sub", [x[0], g.node("Tanh", x[:1])], out)


def _log_sigmoid(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Neg", [g.node("Softplus", [g.node("Neg", x[:1])])], out)


def _gelu(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's GELU, tanh's approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    cube = g.node("Mul", [g.node("Mul", [x[0], x[0]]), x[0]])
    inner = g.node("Add", [x[0], g.node("Mul", [cube, g.constant(0.044715)])])
    tanh = g.node("Tanh", [g.node("Mul", [inner, g.constant(float(np.sqrt(2 / np.pi)))])])
    g.node("Mul", [g.node("Mul", [x[0], g.constant(0.5)]), g.node("Add", [tanh, g.constant(1.0)])], out)


def _concatenated(function: Callable[[Graph, Layer, str], str]) -> Op:
    """CReLU and CELU: f(x) and f(-x) side by side along the layer's axis."""

    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        negated = g.node("Neg", x[:1])
        g.node(
            "Concat", [function(g, layer, x[0]), function(g, layer, negated)], out, axis=onnx_axis(layer.props["axis"])
        )

    return Op(emit)


def _relu(g: Graph, layer: Layer, x: str) -> str:
    return g.node("Relu", [x])


def _elu(g: Graph, layer: Layer, x: str) -> str:
    return g.node("Elu", [x], alpha=float(layer.props["alpha"]))


def _prelu(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's slope is one value, or one per channel of axis base_axis: broadcast to the sample's shape."""
    slope = g.parameters[layer.name]["slope"]
    sample = layer.inferred_shape
    if slope.size == 1:
        shape: list[int] = [1]
    else:
        shape = [1] * len(sample)
        shape[layer.props["base_axis"]] = slope.size
    g.node("PRelu", [x[0], g.parameter(layer, "slope", shape)], out)


def _sign(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """1 above 0, -1 below, alpha at 0 and for NaN (ONNX's Sign gives 0 and NaN there)."""
    below = g.node(
        "Where", [g.node("Less", [x[0], g.constant(0.0)]), g.constant(-1.0), g.constant(float(layer.props["alpha"]))]
    )
    g.node("Where", [g.node("Greater", [x[0], g.constant(0.0)]), g.constant(1.0), below], out)


def _step(low: float) -> Op:
    """BinarySigmoid (low 0) and BinaryTanh (low -1): 1 above 0, low elsewhere."""
    return Op(
        lambda g, layer, x, out: g.node(
            "Where", [g.node("Greater", [x[0], g.constant(0.0)]), g.constant(1.0), g.constant(low)], out
        )
    )


def _sinc(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """sin(i) / i, 1 at i = 0."""
    zero = g.node("Equal", [x[0], g.constant(0.0)])
    safe = g.node("Where", [zero, g.constant(1.0), x[0]])
    g.node("Where", [zero, g.constant(1.0), g.node("Div", [g.node("Sin", [safe]), safe])], out)


def _reset(test: str) -> Op:
    """ResetNaN and ResetInf: 0 where the test holds."""
    return Op(lambda g, layer, x, out: g.node("Where", [g.node(test, x[:1]), g.constant(0.0), x[0]], out))


def _softmax(op: str) -> Op:
    return Op(lambda g, layer, x, out: g.node(op, x[:1], out, axis=onnx_axis(layer.props["axis"])))


def _clip_by_value(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Min", [g.node("Max", [x[0], x[1]]), x[2]], out)


def _clip_by_norm(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """clip_norm i / max(||i||, clip_norm), the L2 norm over axis."""
    clip = g.constant(float(layer.props["clip_norm"]))
    axes = g.constant([onnx_axis(a) for a in axis_list(layer.props["axis"])], np.int64)
    norm = g.node("Sqrt", [g.node("ReduceSum", [g.node("Mul", [x[0], x[0]]), axes], keepdims=1)])
    g.node("Div", [g.node("Mul", [x[0], clip]), g.node("Max", [norm, clip])], out)


OPS: dict[str, Op] = {
    "ReLU": unary("Relu"),
    "Sigmoid": unary("Sigmoid"),
    "Tanh": unary("Tanh"),
    "Abs": unary("Abs"),
    "Exp": unary("Exp"),
    "Log": unary("Log"),
    "Sin": unary("Sin"),
    "Cos": unary("Cos"),
    "Tan": unary("Tan"),
    "ASin": unary("Asin"),
    "ACos": unary("Acos"),
    "ATan": unary("Atan"),
    "Sinh": unary("Sinh"),
    "Cosh": unary("Cosh"),
    "ASinh": unary("Asinh"),
    "ACosh": unary("Acosh"),
    "ATanh": unary("Atanh"),
    "Ceil": unary("Ceil"),
    "Floor": unary("Floor"),
    "Sign": Op(_sign),
    "Identity": unary("Identity"),
    "SoftPlus": unary("Softplus"),
    "SoftSign": unary("Softsign"),
    "HardSigmoid": unary("HardSigmoid", alpha=0.2, beta=0.5),
    "HardTanh": _clip(-1.0, 1.0),
    "ReLU6": _clip(0.0, 6.0),
    "LeakyReLU": Op(lambda g, layer, x, out: g.node("LeakyRelu", x[:1], out, alpha=float(layer.props["alpha"]))),
    "ELU": Op(lambda g, layer, x, out: g.node("Elu", x[:1], out, alpha=float(layer.props["alpha"]))),
    "SELU": Op(
        lambda g, layer, x, out: g.node(
            "Selu", x[:1], out, alpha=float(layer.props["alpha"]), gamma=float(layer.props["scale"])
        )
    ),
    "Swish": Op(_swish),
    "Mish": Op(_mish),
    "GELU": Op(_gelu),
    "TanhShrink": Op(_tanh_shrink),
    "LogSigmoid": Op(_log_sigmoid),
    "CReLU": _concatenated(_relu),
    "CELU": _concatenated(_elu),
    "PReLU": Op(_prelu),
    "Softmax": _softmax("Softmax"),
    "LogSoftmax": _softmax("LogSoftmax"),
    "BinarySigmoid": _step(0.0),
    "BinaryTanh": _step(-1.0),
    "Sinc": Op(_sinc),
    "ResetNaN": _reset("IsNaN"),
    "ResetInf": _reset("IsInf"),
    "Add2": _binary("Add"),
    "Sub2": _binary("Sub"),
    "Mul2": _binary("Mul"),
    "Div2": _binary("Div"),
    "Pow2": _binary("Pow"),
    "Maximum2": _binary("Max"),
    "Minimum2": _binary("Min"),
    "AddN": _chain("Sum"),
    "MulN": Op(lambda g, layer, x, out: g.node("Mul", [folded(g, "Mul", x[:-1]), x[-1]], out)),
    "AddScalar": _scalar("Add"),
    "MulScalar": _scalar("Mul"),
    "PowScalar": _scalar("Pow"),
    "RSubScalar": _scalar("Sub", reverse=True),
    "RDivScalar": _scalar("Div", reverse=True),
    "RPowScalar": _scalar("Pow", reverse=True),
    "MaximumScalar": _scalar("Max"),
    "MinimumScalar": _scalar("Min"),
    "ClipByValue": Op(_clip_by_value),
    "ClipByNorm": Op(_clip_by_norm),
    "Unlink": unary("Identity"),
    "TopKGrad": unary("Identity"),
    "Output": unary("Identity"),
    "ClipGradByValue": unary("Identity"),
    "ClipGradByNorm": unary("Identity"),
}
