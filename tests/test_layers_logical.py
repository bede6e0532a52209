"""The Logical layers checked against independent references.

The references never call nnspec, nor numpy's comparison or logical functions: they are
Python's own float comparisons (IEEE 754, as nnabla's C++ operators: NaN compares unequal
to everything), Python's ``bool`` for truth (nonzero is true, NaN included, as nnabla's C++
``bool(x)``), ``math.isnan`` / ``math.isinf``, applied value by value in explicit loops,
with broadcasting spelled out index by index. A scalar ``value`` is rounded to float32 with
``struct`` (as nnabla's ``(T)val`` cast rounds it) where the spec's dtype is float32.

Tolerance: none. Every output is exactly 0.0 or 1.0 in any dtype, computed without any
rounding, so nnspec must equal the reference bit for bit; any tolerance would only hide a
wrong answer.
"""

from __future__ import annotations

import math
import operator
import struct
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates

from .layer_harness import (
    DTYPES,
    assert_shape_rule,
    case_params,
    cycled,
    elementwise,
    forward_raising,
    layer_spec,
    pairwise,
    run_spec,
)

# The layer types this module adds and tests (NNC's Logical palette).
TWO_INPUT_TYPES = (
    "LogicalAnd",
    "LogicalOr",
    "LogicalXor",
    "Equal",
    "NotEqual",
    "GreaterEqual",
    "Greater",
    "LessEqual",
    "Less",
)
SCALAR_TYPES = tuple(f"{name}Scalar" for name in TWO_INPUT_TYPES)
ONE_INPUT_TYPES = ("LogicalNot", "IsNaN", "IsInf")
LOGICAL_TYPES = TWO_INPUT_TYPES + SCALAR_TYPES + ONE_INPUT_TYPES


# --- independent references ------------------------------------------------------------
#
# Each takes the layer inputs (float64 arrays holding exactly the values nnspec receives,
# batch axis first) and the properties as the NNC reference gives them (the test spells out
# NNC's defaults, never reading them from nnspec), plus "dtype", the spec's dtype.


def _to_float32(v: float) -> float:
    """v rounded to the nearest float32 (struct packs with C's double-to-float cast); past the
    float32 range the cast gives +-inf, which struct reports as an OverflowError."""
    try:
        return struct.unpack("f", struct.pack("f", v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def _in_dtype(v: float, dtype: str) -> float:
    return _to_float32(v) if dtype == "float32" else v


def _elementwise(fn: Callable[[float], bool]) -> Callable[[np.ndarray], np.ndarray]:
    """fn applied to every value in a plain Python loop; True -> 1.0, False -> 0.0."""

    return elementwise(lambda v: 1.0 if fn(v) else 0.0)


def _broadcast_pairwise(fn: Callable[[float, float], bool]) -> Callable[..., np.ndarray]:
    """fn(a, b) over two inputs of equal rank, broadcast by hand: an axis of size 1 repeats."""

    apply = pairwise(lambda a, b: 1.0 if fn(a, b) else 0.0)

    def reference(inputs, props):
        a, b = inputs
        return apply(a, b)

    return reference


def _with_value(fn: Callable[[float, float], bool]) -> Callable[..., np.ndarray]:
    """fn(i, value) with value rounded to the dtype, as nnabla compares with (T)val."""

    def reference(inputs, props):
        value = _in_dtype(props["value"], props["dtype"])
        return _elementwise(lambda v: fn(v, value))(inputs[0])

    return reference


def _with_truth_value(fn: Callable[[bool, bool], bool]) -> Callable[..., np.ndarray]:
    """fn(bool(i), bool(value)): nnabla's logical scalar functions take val as a bool."""

    def reference(inputs, props):
        truth = bool(props["value"])
        return _elementwise(lambda v: fn(bool(v), truth))(inputs[0])

    return reference


def _and(p: bool, q: bool) -> bool:
    return p and q


def _or(p: bool, q: bool) -> bool:
    return p or q


def _xor(p: bool, q: bool) -> bool:
    return p != q


COMPARE = {
    "Equal": operator.eq,
    "NotEqual": operator.ne,
    "GreaterEqual": operator.ge,
    "Greater": operator.gt,
    "LessEqual": operator.le,
    "Less": operator.lt,
}
LOGIC = {"LogicalAnd": _and, "LogicalOr": _or, "LogicalXor": _xor}

REFERENCES: dict[str, Callable[[Sequence[np.ndarray], Mapping[str, Any]], np.ndarray]] = {
    **{name: _broadcast_pairwise(lambda a, b, f=f: f(bool(a), bool(b))) for name, f in LOGIC.items()},
    **{name: _broadcast_pairwise(f) for name, f in COMPARE.items()},
    **{f"{name}Scalar": _with_truth_value(f) for name, f in LOGIC.items()},
    **{f"{name}Scalar": _with_value(f) for name, f in COMPARE.items()},
    "LogicalNot": lambda inputs, props: _elementwise(lambda v: not bool(v))(inputs[0]),
    "IsNaN": lambda inputs, props: _elementwise(math.isnan)(inputs[0]),
    "IsInf": lambda inputs, props: _elementwise(math.isinf)(inputs[0]),
}


def test_references_cover_exactly_the_logical_layers():
    assert set(REFERENCES) == set(LOGICAL_TYPES)
    assert len(LOGICAL_TYPES) == 21


def test_reference_float32_rounding_by_hand():
    """The reference's rounding of value, checked on values whose float32 is known."""
    assert _to_float32(0.1) == 0.100000001490116119384765625  # the float32 nearest 0.1
    assert _to_float32(1e300) == math.inf and _to_float32(-1e300) == -math.inf
    assert _to_float32(1e-50) == 0.0 and _to_float32(0.5) == 0.5


# --- inputs ---------------------------------------------------------------------------


def edge_values(dtype: str) -> list[float]:
    """0 and -0, tiny values (1e-30, the smallest normal, a subnormal; 1e-50, zero in
    float32), values equal only in float32 (0.1 and 0.1000000001), +-0.5, +-1, +-100, +-1e4,
    the dtype's largest value, and NaN, inf, -inf."""
    info = np.finfo(dtype)
    tiny, big, subnormal = float(info.tiny), float(info.max), float(info.smallest_subnormal)
    finite = [0.0, -0.0, 1e-30, -1e-30, tiny, subnormal, 1e-50, 0.1, 0.1000000001, 0.5, -0.5, 1.0, -1.0]
    finite += [100.0, -100.0, 1e4, -1e4, big, -big]
    return finite + [math.nan, math.inf, -math.inf]


PAIR_VALUES = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-30, 0.5, -0.5, 1.0, 100.0, -100.0, 1e4, -1e4]


def _pairs_data(dtype: str) -> dict[str, np.ndarray]:
    """Every ordered pair of PAIR_VALUES (ties, NaN with NaN, inf with inf, 0 with -0) in the
    first sample, the same pairs swapped in the second."""
    a = [u for u in PAIR_VALUES for _ in PAIR_VALUES]
    b = [v for _ in PAIR_VALUES for v in PAIR_VALUES]
    return {"x": np.array([a, b]), "z": np.array([b, a])}


def _one_input_data(dtype: str) -> dict[str, np.ndarray]:
    values = edge_values(dtype)
    return {"x": np.array([values, values[::-1]])}


def _cycled(shape: tuple[int, ...], shift: int, batch: int = 2) -> np.ndarray:
    return cycled(PAIR_VALUES, shape, shift=shift, batch=batch, stride=5)


def _broadcast_data(x_shape: tuple[int, ...], z_shape: tuple[int, ...]) -> Callable[[str], dict[str, np.ndarray]]:
    def make(dtype: str) -> dict[str, np.ndarray]:
        return {"x": _cycled(x_shape, 0), "z": _cycled(z_shape, 3)}

    return make


# --- cases: one spec per layer configuration --------------------------------------------


@dataclass
class Case:
    """One layer configuration: the layer (named y) after Inputs of the given sizes."""

    id: str
    type: str
    layer: str  # the YAML of the layer's properties, without name/type/input
    sizes: dict[str, tuple[int, ...]]
    data: Callable[[str], dict[str, np.ndarray]]
    ref_props: dict[str, Any] = field(default_factory=dict)

    def spec_text(self, dtype: str) -> str:
        return layer_spec(dtype, self.type, self.sizes, self.layer, seed=False, outputs=False)


def _two_input_cases(name: str) -> list[Case]:
    return [
        Case(f"{name}-pairs", name, "", {"x": (169,), "z": (169,)}, _pairs_data),
        Case(f"{name}-broadcast-4-1", name, "", {"x": (4,), "z": (1,)}, _broadcast_data((4,), (1,))),
        Case(f"{name}-broadcast-rows", name, "", {"x": (2, 3), "z": (1, 3)}, _broadcast_data((2, 3), (1, 3))),
        Case(f"{name}-broadcast-both", name, "", {"x": (2, 1), "z": (1, 3)}, _broadcast_data((2, 1), (1, 3))),
    ]


def _scalar_cases(name: str, values: Sequence[tuple[str, float]]) -> list[Case]:
    # NNC's default Value is 0.0: the case without a value property checks that default.
    cases = [Case(f"{name}-default", name, "", {"x": (22,)}, _one_input_data, {"value": 0.0})]
    for text, value in values:
        cases.append(Case(f"{name}-{text}", name, f"value: {text}", {"x": (22,)}, _one_input_data, {"value": value}))
    return cases


# 0.1 rounds to float32 first (equal to the data's float32(0.1) and 0.1000000001); 1e300 is
# inf in float32 and finite in float64; NaN and inf values compare as IEEE 754 says.
COMPARE_VALUES = [("0.5", 0.5), ("-100", -100.0), ("1e4", 1e4), ("0.1", 0.1), ("1e300", 1e300)]
COMPARE_VALUES += [(".nan", math.nan), (".inf", math.inf), ("-.inf", -math.inf), ("-0.0", -0.0)]
# Truth values: nonzero is true, 1e-50 too (it is not rounded to float32 first), and NaN.
TRUTH_VALUES = [("1.0", 1.0), ("-0.5", -0.5), ("1e-50", 1e-50), (".nan", math.nan), ("-0.0", -0.0)]

CASES = [case for name in TWO_INPUT_TYPES for case in _two_input_cases(name)]
CASES += [case for name in SCALAR_TYPES[:3] for case in _scalar_cases(name, TRUTH_VALUES)]
CASES += [case for name in SCALAR_TYPES[3:] for case in _scalar_cases(name, COMPARE_VALUES)]
CASES += [Case(name, name, "", {"x": (22,)}, _one_input_data) for name in ONE_INPUT_TYPES]
CASE_PARAMS = case_params(CASES)


def test_every_layer_has_cases():
    assert {case.type for case in CASES} == set(LOGICAL_TYPES)


def _in_dtype_data(data: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """The values nnspec receives: the data rounded to the dtype (the float64 maximum becomes
    inf in float32, as the runner makes it), held in float64 for the reference."""
    with np.errstate(over="ignore"):
        return {name: values.astype(dtype).astype(np.float64) for name, values in data.items()}


def run_case(case: Case, dtype: str):
    data = case.data(dtype)
    # NaN/inf data is this module's subject: the run reports it, every warning is ignored
    spec, result = run_spec(case.spec_text(dtype), data, action="ignore", category=Warning)
    return spec, result, _in_dtype_data(data, dtype)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    got = result.outputs["y"]
    expected = REFERENCES[case.type]([data[name] for name in case.sizes], {**case.ref_props, "dtype": dtype})
    assert got.dtype == np.dtype(dtype)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected.astype(dtype), rtol=0, atol=0)  # exact: see the module docstring


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    assert_shape_rule(spec, result.outputs["y"], 2)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The catalog's forward on the case's finite values (NaN and inf replaced by 0), with
    overflow, invalid and divide raised: the runner silences them, so only this shows them."""
    spec, result, data = run_case(case, dtype)
    layer = spec.layers["y"]
    args = [np.where(np.isfinite(data[name]), data[name], 0.0).astype(dtype) for name in case.sizes]
    got = forward_raising(layer, args, {})
    assert got.dtype == np.dtype(dtype)
    assert set(np.unique(got)) <= {0.0, 1.0}


# --- NaN and inf by hand ---------------------------------------------------------------------

NAN_INF_SPEC = """
nnspec: 1
dtype: {dtype}
layers:
  - {{name: x, type: Input, size: [6]}}
  - {{name: z, type: Input, size: [6]}}
  - {{name: eq, type: Equal, input: [x, z]}}
  - {{name: ne, type: NotEqual, input: [x, z]}}
  - {{name: ge, type: GreaterEqual, input: [x, z]}}
  - {{name: lt, type: Less, input: [x, z]}}
  - {{name: and, type: LogicalAnd, input: [x, z]}}
  - {{name: xor, type: LogicalXor, input: [x, z]}}
  - {{name: eqs, type: EqualScalar, input: x, value: .nan}}
  - {{name: nes, type: NotEqualScalar, input: x}}
  - {{name: lnot, type: LogicalNot, input: x}}
  - {{name: nan, type: IsNaN, input: x}}
  - {{name: inf, type: IsInf, input: x}}
"""


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_by_hand(dtype):
    """x = (NaN, NaN, inf, -inf, inf, 0), z = (NaN, 1, inf, inf, 1e4, -0): NaN equals nothing,
    itself included; inf equals inf; 0 equals -0; NaN is true, 0 and -0 false."""
    nan, inf = math.nan, math.inf
    x = np.array([[nan, nan, inf, -inf, inf, 0.0]])
    z = np.array([[nan, 1.0, inf, inf, 1e4, -0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = nnspec.run(nnspec.loads(NAN_INF_SPEC.format(dtype=dtype)), {"x": x, "z": z}).outputs
    expected = {
        "eq": [0, 0, 1, 0, 0, 1],
        "ne": [1, 1, 0, 1, 1, 0],
        "ge": [0, 0, 1, 0, 1, 1],
        "lt": [0, 0, 0, 1, 0, 0],
        "and": [1, 1, 1, 1, 1, 0],
        "xor": [0, 0, 0, 0, 0, 0],
        "eqs": [0, 0, 0, 0, 0, 0],  # value NaN equals nothing
        "nes": [1, 1, 1, 1, 1, 0],  # NaN differs from the default value 0
        "lnot": [0, 0, 0, 0, 0, 1],
        "nan": [1, 1, 0, 0, 0, 0],
        "inf": [0, 0, 1, 1, 1, 0],
    }
    for name, values in expected.items():
        np.testing.assert_array_equal(out[name], np.array([values], dtype=dtype), err_msg=name)
        assert out[name].dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_value_is_compared_in_the_dtype(dtype):
    """EqualScalar 0.1: in float32 both 0.1 and 0.1000000001 round to float32(0.1) and match;
    in float64 only 0.1 does. LessScalar 1e300: inf in float32, so the float32 maximum is less."""
    spec = nnspec.loads(
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n"
        "  - {name: e, type: EqualScalar, input: x, value: 0.1}\n"
        "  - {name: l, type: LessScalar, input: x, value: 1e300}\n"
    )
    big = float(np.finfo(dtype).max)
    out = nnspec.run(spec, {"x": np.array([[0.1, 0.1000000001, big]])}).outputs
    np.testing.assert_array_equal(out["e"][0], [1, 1, 0] if dtype == "float32" else [1, 0, 0])
    np.testing.assert_array_equal(out["l"][0], [1, 1, 1] if dtype == "float32" else [1, 1, 0])


def test_logical_scalar_value_is_a_truth_value():
    """value 1e-50 is true (nnabla's val is a bool), though it rounds to 0 in float32."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        "  - {name: a, type: LogicalAndScalar, input: x, value: 1e-50}\n"
        "  - {name: o, type: LogicalOrScalar, input: x}\n"
        "  - {name: x2, type: LogicalXorScalar, input: x, value: 2}\n"
    )
    out = nnspec.run(spec, {"x": np.array([[0.0, 3.0, -1e-30]])}).outputs
    np.testing.assert_array_equal(out["a"][0], [0, 1, 1])
    np.testing.assert_array_equal(out["o"][0], [0, 1, 1])  # value 0 (NNC's default): false
    np.testing.assert_array_equal(out["x2"][0], [1, 0, 0])


# --- the catalog entries -------------------------------------------------------------------


def test_catalog_entries_as_nnc_gives_them():
    """Category, properties and NNC's defaults (Value=0.0 for the scalar layers, nothing else),
    the 0..1 output range, and elementwise exactly for the one-input layers."""
    types = nnspec.layer_types()
    for name in LOGICAL_TYPES:
        t = types[name]
        assert t.category == "Logical", name
        assert t.output_range == (0.0, 1.0), name
        assert t.formula.startswith("o = "), name
        assert not t.parameters and not t.targets, name
        if name in TWO_INPUT_TYPES:
            assert (t.arity.least, t.arity.most) == (2, 2) and not t.elementwise, name
            assert t.properties == (), name
        else:
            assert (t.arity.least, t.arity.most) == (1, 1) and t.elementwise, name
            expected = [("value", "float", 0.0)] if name in SCALAR_TYPES else []
            assert [(p.name, p.kind, p.default) for p in t.properties] == expected, name
            assert [p.nnc_name for p in t.properties] == (["Value"] if expected else []), name


# --- invalid specs -------------------------------------------------------------------------


def _error(text: str) -> str:
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(text)
    return str(caught.value)


TWO_INPUTS = "nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {x}}}\n  - {{name: z, type: Input, size: {z}}}\n"
TWO_INPUTS += "  - {{name: y, type: {type}, input: [x, z]}}\n"


@pytest.mark.parametrize("layer_type", TWO_INPUT_TYPES)
def test_shapes_that_do_not_broadcast_are_refused(layer_type):
    message = _error(TWO_INPUTS.format(x=[3], z=[2], type=layer_type))
    assert f"layer 'y' ({layer_type}) receives x (3,) and z (2,)" in message
    assert "do not broadcast" in message


@pytest.mark.parametrize("layer_type", TWO_INPUT_TYPES)
def test_different_ranks_are_refused_as_nnabla_refuses_them(layer_type):
    """nnabla's binary functions require the same number of axes ("Dimensions of inputs must
    match"): a (3, 4) and a (4,) do not broadcast, though numpy would pad the (4,)."""
    message = _error(TWO_INPUTS.format(x=[3, 4], z=[4], type=layer_type))
    assert f"layer 'y' ({layer_type}) receives x (3, 4) and z (4,)" in message
    assert "2 and 1 axes" in message


@pytest.mark.parametrize("layer_type", TWO_INPUT_TYPES)
def test_two_input_layers_need_two_inputs(layer_type):
    message = _error(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n  - {{name: y, type: {layer_type}}}\n"
    )
    assert f"layer 'y' ({layer_type}) takes exactly 2 inputs; got 1" in message


@pytest.mark.parametrize("layer_type", ONE_INPUT_TYPES + SCALAR_TYPES[:1])
def test_one_input_layers_take_one_input(layer_type):
    message = _error(TWO_INPUTS.format(x=[3], z=[3], type=layer_type))
    assert f"layer 'y' ({layer_type}) takes exactly 1 input; got 2" in message


ONE_INPUT = "nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n  - {{name: y, type: {type}, {prop}}}\n"


@pytest.mark.parametrize("layer_type", SCALAR_TYPES)
@pytest.mark.parametrize("prop", ["value: abc", "value: [1, 2]", "value: true", "value: null"])
def test_invalid_values_are_refused(layer_type, prop):
    message = _error(ONE_INPUT.format(type=layer_type, prop=prop))
    assert f"'value' of layer 'y' ({layer_type}) must be a number" in message


@pytest.mark.parametrize("layer_type", SCALAR_TYPES)
def test_nnc_spelling_gets_a_suggestion(layer_type):
    message = _error(ONE_INPUT.format(type=layer_type, prop="Value: 1"))
    assert f"layer 'y' ({layer_type}) has no property 'Value'; NNC's 'Value' is written 'value: 1' in nnspec" in message


@pytest.mark.parametrize("layer_type", TWO_INPUT_TYPES + ONE_INPUT_TYPES)
def test_layers_without_properties_refuse_value(layer_type):
    if layer_type in TWO_INPUT_TYPES:
        text = TWO_INPUTS.format(x=[3], z=[3], type=layer_type).replace("[x, z]}", "[x, z], value: 1}")
    else:
        text = ONE_INPUT.format(type=layer_type, prop="value: 1")
    assert f"layer 'y' ({layer_type}) has no property 'value'" in _error(text)


# --- static analysis -----------------------------------------------------------------------


def test_static_estimates():
    """x uniform in -1..1 (NNC's rule for data), c the constant 0.5, w standard normal.
    Greater(x, c) is 1 with probability 1/4; two continuous inputs never tie, a constant
    always equals itself; GreaterScalar 0.5 on x passes through its forward (elementwise):
    also 1/4. 4096 Monte Carlo draws: a standard error of sqrt(p(1-p)/4096) = 0.007 on 1/4,
    so 0.03 is over 4 standard errors."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: c, type: Input, size: [4], generator: Constant, generator_multiplier: 0.5}\n"
        "  - {name: w, type: Input, size: [4], generator: Normal}\n"
        "  - {name: g, type: Greater, input: [x, c]}\n"
        "  - {name: e, type: Equal, input: [x, w]}\n"
        "  - {name: same, type: Equal, input: [c, c]}\n"
        "  - {name: gs, type: GreaterScalar, input: x, value: 0.5}\n"
        "  - {name: n, type: IsNaN, input: x}\n"
    )
    found = estimates(spec)
    assert found["g"].mean == pytest.approx(0.25, abs=0.03)
    assert found["g"].std == pytest.approx(math.sqrt(0.25 * 0.75), abs=0.03)
    assert (found["e"].mean, found["e"].std) == (0.0, 0.0)
    assert (found["same"].mean, found["same"].std) == (1.0, 0.0)
    assert found["gs"].mean == pytest.approx(0.25, abs=0.03)
    assert (found["n"].mean, found["n"].std) == (0.0, 0.0)
    for name in ("g", "e", "same", "gs", "n"):
        assert 0.0 <= found[name].low <= found[name].high <= 1.0, name
