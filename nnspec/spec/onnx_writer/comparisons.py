"""The comparisons, the logical functions and the NaN and inf tests. ONNX's give booleans, nnspec's 0 and
1 in the data's dtype, so every result is cast to float; a value is true as nnabla's bool(x) says:
nonzero, NaN included."""

from __future__ import annotations

from ..model import Layer
from .builder import Graph, Op, as_float


def _truth(g: Graph, x: str) -> str:
    """nnabla's bool(x): nonzero, NaN included."""
    return g.node("Not", [g.node("Equal", [x, g.constant(0.0)])])


def _compare(op: str, scalar: bool = False, negate: bool = False) -> Op:
    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        right = g.constant(float(layer.props["value"])) if scalar else x[1]
        test = g.node(op, [x[0], right])
        as_float(g, g.node("Not", [test]) if negate else test, out)

    return Op(emit)


def _logic(op: str, scalar: bool = False) -> Op:
    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        right = g.constant(float(layer.props["value"])) if scalar else x[1]
        as_float(g, g.node(op, [_truth(g, x[0]), _truth(g, right)]), out)

    return Op(emit)


def _logical_not(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    as_float(g, g.node("Equal", [x[0], g.constant(0.0)]), out)


def _test(op: str) -> Op:
    return Op(lambda g, layer, x, out: as_float(g, g.node(op, x[:1]), out))


OPS: dict[str, Op] = {
    "Equal": _compare("Equal"),
    "NotEqual": _compare("Equal", negate=True),
    "Greater": _compare("Greater"),
    "GreaterEqual": _compare("GreaterOrEqual"),
    "Less": _compare("Less"),
    "LessEqual": _compare("LessOrEqual"),
    "EqualScalar": _compare("Equal", scalar=True),
    "NotEqualScalar": _compare("Equal", scalar=True, negate=True),
    "GreaterScalar": _compare("Greater", scalar=True),
    "GreaterEqualScalar": _compare("GreaterOrEqual", scalar=True),
    "LessScalar": _compare("Less", scalar=True),
    "LessEqualScalar": _compare("LessOrEqual", scalar=True),
    "LogicalAnd": _logic("And"),
    "LogicalOr": _logic("Or"),
    "LogicalXor": _logic("Xor"),
    "LogicalAndScalar": _logic("And", scalar=True),
    "LogicalOrScalar": _logic("Or", scalar=True),
    "LogicalXorScalar": _logic("Xor", scalar=True),
    "LogicalNot": Op(_logical_not),
    "IsNaN": _test("IsNaN"),
    "IsInf": _test("IsInf"),
}
