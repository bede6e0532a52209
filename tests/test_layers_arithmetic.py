"""The Arithmetic layers (Scalar, 2 Inputs, N Inputs) checked against independent references.

The references never call nnspec: they apply Python's float64 arithmetic and ``math`` value by
value in explicit loops (broadcasting spelled out index by index), with IEEE 754's rules for
division by zero and for powers written out by hand where Python raises instead of returning
inf or nan. Each layer runs through the public API (``nnspec.loads`` + ``nnspec.run``) in float32
and float64, on inputs holding 0, tiny values (1e-30 and the dtype's smallest normal number),
+-0.5..3, +-100 and +-1e4.

nnabla casts a layer's value to the data's dtype before using it ((T)val in its kernels), so the
references take the value rounded to the dtype too: in float32, value 0.1 is 0.100000001490116.

Tolerances (``assert_close``):

* float32: rtol 1e-6, about 8 ulp (float32 eps = 1.19e-7). +, -, *, / and sqrt are correctly
  rounded in float32, and the float64 result of the same operation on float32 values rounded to
  float32 is that same correctly rounded value (float64 carries more than 2 x 24 + 2 bits, so the
  double rounding is harmless): these agree to the bit. pow is not correctly rounded in every
  libm (glibc's powf is within 1 ulp, numpy's SIMD kernels within a few), and MulN rounds each of
  its n - 1 products ((n - 1) / 2 ulp at most for the 3 inputs here): 1e-6 covers both, while a
  wrong operand order, operation or cast is off by far more.
* float64: rtol 1e-12 (about 4500 eps), the same few roundings at float64 precision.
* atol: the dtype's smallest normal number. Below it results are subnormal and lose relative
  precision bit by bit (0.5 x float32's 1.2e-38 is one), so only an absolute error means anything.
* AddN is compared with the exact sum (math.fsum) under the a-priori bound of a sum of n terms
  added in order, |error| <= n eps sum_i |x_i|: with 1e4 beside 1e-30 in one sum, cancellation
  makes the *relative* error of a correct float32 sum arbitrarily large, so the bound is taken
  relative to the sum of magnitudes (``assert_sum_close``).
* inf and nan must match exactly (assert_allclose compares them as values: inf == inf, nan == nan).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates

from .layer_harness import (
    assert_close,
    assert_error_within,
    assert_shape_rule,
    call_forward,
    case_params,
    elementwise,
    layer_spec,
    pairwise,
    received,
    run_spec,
)
from .layer_harness import (
    cycled as _cycled,
)

SCALAR_LAYERS = {
    "AddScalar",
    "MulScalar",
    "RSubScalar",
    "RDivScalar",
    "PowScalar",
    "RPowScalar",
    "MaximumScalar",
    "MinimumScalar",
}
TWO_INPUT_LAYERS = {"Sub2", "Mul2", "Div2", "Pow2", "Maximum2", "Minimum2"}
N_INPUT_LAYERS = {"AddN", "MulN"}
THIS_TASK = SCALAR_LAYERS | TWO_INPUT_LAYERS | N_INPUT_LAYERS

# NNC's defaults, written out from nnc-layer-defaults.txt (never read from nnspec's catalog).
NNC_DEFAULT_VALUE = {
    "AddScalar": 0.0,
    "MulScalar": 1.0,
    "RSubScalar": 0.0,
    "RDivScalar": 1.0,
    "PowScalar": 2.0,
    "RPowScalar": 1.0,
    "MaximumScalar": 0.0,
    "MinimumScalar": 1.0,
}


# --- IEEE 754 by hand, where Python raises --------------------------------------------------


def _is_odd_integer(v: float) -> bool:
    return math.isfinite(v) and v == math.floor(v) and math.fmod(v, 2.0) != 0.0


def ieee_div(a: float, b: float) -> float:
    """a / b, with IEEE 754's results where Python raises ZeroDivisionError."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan  # 0/0
    negative = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
    return -math.inf if negative else math.inf


def ieee_pow(a: float, b: float) -> float:
    """a^b as C's pow defines it (IEEE 754 / C99 Annex F), where math.pow raises."""
    if b == 0.0:
        return 1.0  # even 0^0 and nan^0
    if a == 0.0:
        odd = _is_odd_integer(b)
        if b < 0:
            return -math.inf if odd and math.copysign(1.0, a) < 0 else math.inf
        return -0.0 if odd and math.copysign(1.0, a) < 0 else 0.0
    if a < 0 and math.isfinite(b) and b != math.floor(b):
        return math.nan  # a negative base with a non-integer exponent
    try:
        return math.pow(a, b)
    except OverflowError:  # beyond float64: +-inf, negative only for an odd power of a negative base
        return -math.inf if a < 0 and _is_odd_integer(b) else math.inf


# --- independent references ---------------------------------------------------------------
#
# Each takes the layer inputs (float64 arrays holding exactly the values nnspec receives, batch
# axis first) and the properties (value already cast to the dtype, as nnabla casts it).


def _scalar(fn: Callable[[float, float], float]):
    """A reference for a scalar layer: fn(i, value) value by value."""
    return lambda inputs, props: elementwise(lambda v: fn(v, props["value"]))(inputs[0])


def _binary(fn: Callable[[float, float], float]):
    return lambda inputs, props: pairwise(fn)(inputs[0], inputs[1])


def ref_add_n(inputs, props):
    """The exact sum at each position, correctly rounded (math.fsum)."""
    out = np.empty(inputs[0].shape)
    for index in np.ndindex(out.shape):
        out[index] = math.fsum(float(x[index]) for x in inputs)
    return out


def ref_mul_n(inputs, props):
    """The product at each position, multiplied in float64 (exact to a few float64 ulp)."""
    out = np.empty(inputs[0].shape)
    for index in np.ndindex(out.shape):
        out[index] = math.prod(float(x[index]) for x in inputs)
    return out


REFERENCES: dict[str, Callable[[Sequence[np.ndarray], dict[str, Any]], np.ndarray]] = {
    "AddScalar": _scalar(lambda i, v: i + v),
    "MulScalar": _scalar(lambda i, v: i * v),
    "RSubScalar": _scalar(lambda i, v: v - i),
    "RDivScalar": _scalar(lambda i, v: ieee_div(v, i)),
    "PowScalar": _scalar(lambda i, v: ieee_pow(i, v)),
    "RPowScalar": _scalar(lambda i, v: ieee_pow(v, i)),
    "MaximumScalar": _scalar(lambda i, v: max(i, v)),  # Python's built-in max
    "MinimumScalar": _scalar(lambda i, v: min(i, v)),
    "Sub2": _binary(lambda a, b: a - b),
    "Mul2": _binary(lambda a, b: a * b),
    "Div2": _binary(ieee_div),
    "Pow2": _binary(ieee_pow),
    "Maximum2": _binary(max),
    "Minimum2": _binary(min),
    "AddN": ref_add_n,
    "MulN": ref_mul_n,
}


def test_references_cover_exactly_this_tasks_layers():
    assert set(REFERENCES) == THIS_TASK
    assert THIS_TASK <= set(nnspec.layer_types())


def test_ieee_helpers_by_hand():
    """The hand-written IEEE rules the references rely on, against C's results as documented."""
    assert ieee_div(1.0, 0.0) == math.inf and ieee_div(-1.0, 0.0) == -math.inf
    assert ieee_div(1.0, -0.0) == -math.inf and math.isnan(ieee_div(0.0, 0.0))
    assert ieee_pow(0.0, -2.0) == math.inf and ieee_pow(-0.0, -3.0) == -math.inf
    assert ieee_pow(0.0, 0.0) == 1.0 and ieee_pow(-8.0, 1 / 3) != ieee_pow(-8.0, 1 / 3)  # nan
    assert ieee_pow(-2.0, 3.0) == -8.0 and ieee_pow(10.0, 400.0) == math.inf
    assert ieee_pow(-10.0, 401.0) == -math.inf and ieee_pow(10.0, -400.0) == 0.0


# --- inputs ---------------------------------------------------------------------------------


def edge_values(dtype: str) -> list[float]:
    """0, tiny values (1e-30, the dtype's smallest normal number), small integers and halves,
    +-100 and +-1e4, with their negatives."""
    tiny = float(np.finfo(dtype).tiny)
    base = [0.0, tiny, 1e-30, 0.5, 1.0, 2.0, 2.5, 3.0, 100.0, 1e4]
    return base + [-v for v in base[1:]]


def cycled(values: list[float], shape: tuple[int, ...], shift: int, batch: int = 2) -> np.ndarray:
    """A (batch, *shape) array of the values, cycled with a stride coprime to their count so that
    inputs shifted differently meet in many different pairs."""
    assert math.gcd(7, len(values)) == 1
    return _cycled(values, shape, shift=shift, batch=batch)


MODERATE = [0.5, -2.0, 3.0, -1.0, 1.5, -0.25, 2.0, -0.75]  # factors whose partial products stay normal


def mul_n_data(dtype: str, count: int = 3) -> dict[str, np.ndarray]:
    """Edge values times moderate factors: no partial product over- or underflows (beyond the
    smallest normal number's own halving), so the product in order equals the exact one to a
    few ulp. Over- and underflowing partial products are tested by hand below."""
    data = {
        "x": cycled(edge_values(dtype), (3, 4), 0),
        "z": cycled(MODERATE, (3, 4), 1),
        "w": cycled(MODERATE, (3, 4), 4),
    }
    return dict(list(data.items())[:count])


# --- cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    """One layer (named y) after Inputs of the given sizes, with its properties as YAML."""

    id: str
    type: str
    layer: str
    sizes: dict[str, tuple[int, ...]]
    value: float | None = None  # the scalar layers' value, as the reference must take it
    data: Callable[[str], dict[str, np.ndarray]] | None = None

    def spec_text(self, dtype: str) -> str:
        return layer_spec(dtype, self.type, self.sizes, self.layer)

    def inputs(self, dtype: str) -> dict[str, np.ndarray]:
        if self.data is not None:
            return self.data(dtype)
        return {
            name: cycled(edge_values(dtype), size, shift=3 * k) for k, (name, size) in enumerate(self.sizes.items())
        }

    def props(self, dtype: str) -> dict[str, Any]:
        if self.value is None:
            return {}
        return {"value": float(np.array(self.value, dtype=dtype))}  # nnabla's (T)val


ONE = {"x": (4, 5)}


def scalar_cases(layer: str, values: list[float]) -> list[Case]:
    """The layer with NNC's default value (no value in the spec) and with each given value."""
    default = NNC_DEFAULT_VALUE[layer]
    cases = [Case(f"{layer}-default", layer, "", ONE, value=default)]
    return cases + [Case(f"{layer}-{v:g}", layer, f"value: {v!r}", ONE, value=v) for v in values]


CASES = [
    *scalar_cases("AddScalar", [0.1, -3.0, 1e4]),
    *scalar_cases("MulScalar", [0.1, -3.0, 0.0]),
    *scalar_cases("RSubScalar", [2.5, -0.1]),
    *scalar_cases("RDivScalar", [-4.0, 0.0, 0.1]),
    *scalar_cases("PowScalar", [0.5, -1.0, 3.0, 2.5, 0.0, 0.3]),
    *scalar_cases("RPowScalar", [10.0, 0.5, 0.0, -2.0, 2.718281828459045]),
    *scalar_cases("MaximumScalar", [-1.5, 0.1]),
    *scalar_cases("MinimumScalar", [-1.5, 100.0]),
]
for _layer in sorted(TWO_INPUT_LAYERS):
    CASES += [
        Case(f"{_layer}-same", _layer, "", {"x": (4, 5), "z": (4, 5)}),
        Case(f"{_layer}-broadcast-second", _layer, "", {"x": (4, 5), "z": (1, 5)}),
        Case(f"{_layer}-broadcast-both", _layer, "", {"x": (4, 1), "z": (1, 5)}),
        Case(f"{_layer}-broadcast-3+1", _layer, "", {"x": (3,), "z": (1,)}),
    ]
CASES += [
    Case("AddN-two", "AddN", "", {"x": (4, 5), "z": (4, 5)}),
    Case("AddN-four", "AddN", "", {"x": (2, 3), "z": (2, 3), "w": (2, 3), "v": (2, 3)}),
    Case("MulN-two", "MulN", "", {"x": (3, 4), "z": (3, 4)}, data=lambda dtype: mul_n_data(dtype, 2)),
    Case("MulN-three", "MulN", "", {"x": (3, 4), "z": (3, 4), "w": (3, 4)}, data=mul_n_data),
]
CASE_PARAMS = case_params(CASES)


def test_every_layer_has_cases_and_every_value_property_a_non_default_case():
    assert {case.type for case in CASES} == THIS_TASK
    for layer in SCALAR_LAYERS:
        values = {case.value for case in CASES if case.type == layer and case.layer}
        assert values - {NNC_DEFAULT_VALUE[layer]}, layer


def run_case(case: Case, dtype: str):
    """Load and run a case with every RuntimeWarning an error."""
    data = case.inputs(dtype)
    spec, result = run_spec(case.spec_text(dtype), data)
    return spec, result, data


def assert_sum_close(got: np.ndarray, expected: np.ndarray, inputs: list[np.ndarray], dtype: str) -> None:
    """A sum of n terms added in order: |got - exact| <= n eps sum_i |x_i| (+ the smallest normal)."""
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    magnitude = sum(np.abs(x) for x in inputs)
    bound = len(inputs) * float(np.finfo(dtype).eps) * magnitude + float(np.finfo(dtype).tiny)
    assert_error_within(got, expected, bound)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    got = result.outputs["y"]
    inputs = received(data, case.sizes, dtype)
    expected = REFERENCES[case.type](inputs, case.props(dtype))
    if case.type == "AddN":
        assert_sum_close(got, expected, inputs, dtype)
    else:
        assert_close(got, expected, dtype)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    assert_shape_rule(spec, result.outputs["y"], len(next(iter(data.values()))))


def _call_forward(case: Case, dtype: str, data: dict[str, np.ndarray]) -> np.ndarray:
    return call_forward(case.spec_text(dtype), data, case.sizes, dtype)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The runner silences numpy's warnings around every layer (the nan-inf check reports inf and
    nan itself), so a run cannot show whether a layer's numpy code warns. Here the catalog's
    forward function runs on the case's finite inputs (0 divisors, 0 and negative bases among
    them) with overflow, invalid and divide-by-zero raised."""
    _call_forward(case, dtype, case.inputs(dtype))


def huge_data(case: Case, dtype: str) -> dict[str, np.ndarray]:
    """The dtype's largest finite values beside 0 and the smallest normal number: sums, products,
    quotients and powers of them overflow to inf or give nan, and numpy must not warn about it."""
    big, tiny = float(np.finfo(dtype).max), float(np.finfo(dtype).tiny)
    values = [big, -big, big / 2, 0.0, tiny, -tiny, 1e4, -1.0]
    return {name: cycled(values, size, shift=3 * k) for k, (name, size) in enumerate(case.sizes.items())}


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_largest_finite_inputs_give_reference_inf_and_nan_without_warning(case: Case, dtype: str):
    data = huge_data(case, dtype)
    got = _call_forward(case, dtype, data)  # raises on any numpy warning
    if case.type == "AddN":
        return  # an exact sum of +-max cannot say where the in-order sum overflows: by hand below
    if case.type == "MulN":
        return  # likewise partial products: by hand below
    expected = REFERENCES[case.type](received(data, case.sizes, dtype), case.props(dtype))
    assert_close(got, expected, dtype)


# --- nnabla's semantics by hand -----------------------------------------------------------------


def _forward(layer: str, arrays: list[np.ndarray], **props: Any) -> np.ndarray:
    return nnspec.layer_types()[layer].forward(arrays, props, {})


def test_value_is_cast_to_the_dtype_as_nnabla_casts_it():
    """nnabla's kernels compute x + (T)val: in float32, -0.1f + 0.1 is exactly 0, where adding the
    float64 value 0.1 would leave 1.49e-9."""
    x = np.array([[np.float32(-0.1)]], dtype=np.float32)
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1]}\n  - {name: y, type: AddScalar, value: 0.1}\n"
    )
    assert nnspec.run(spec, {"x": x}).outputs["y"][0, 0] == 0.0
    # a value beyond float32's range is inf in the cast: i + inf = inf, as in nnabla
    got = _forward("AddScalar", [np.array([[1.0]], dtype=np.float32)], value=1e39)
    assert got[0, 0] == np.inf and got.dtype == np.float32


def test_pow_scalar_one_half_is_nnabla_sqrt():
    """nnabla computes x^0.5 as sqrt(x): correctly rounded, and sqrt(-0) = -0 where pow(-0, 0.5) = +0."""
    x = np.array([[-0.0, 2.0, 3.0, 1e-30, 1e4, -1.0]], dtype=np.float32)
    with np.errstate(invalid="ignore"):
        got = _forward("PowScalar", [x], value=0.5)
    assert np.signbit(got[0, 0]) and got[0, 0] == 0
    exact = np.array([math.sqrt(float(v)) for v in x[0, 1:5]]).astype(np.float32)
    np.testing.assert_array_equal(got[0, 1:5], exact)  # bit for bit: sqrt is correctly rounded
    assert np.isnan(got[0, 5])
    # any other exponent is pow: pow(-0, 0.25) = +0
    assert not np.signbit(_forward("PowScalar", [x[:, :1]], value=0.25)[0, 0])


def test_maximum_and_minimum_treat_nan_as_nnabla_does():
    """nnabla picks x > v ? x : v (and x0 > x1 ? x0 : x1): a NaN compared is false, so
    MaximumScalar and MinimumScalar turn a NaN input into value, and Maximum2/Minimum2 give the
    second input where the first is NaN; np.maximum would propagate the NaN every time."""
    x = np.array([[np.nan, 2.0, -3.0]])
    np.testing.assert_array_equal(_forward("MaximumScalar", [x], value=0.0), [[0.0, 2.0, 0.0]])
    np.testing.assert_array_equal(_forward("MinimumScalar", [x], value=1.0), [[1.0, 1.0, -3.0]])
    other = np.array([[5.0, np.nan, -4.0]])
    np.testing.assert_array_equal(_forward("Maximum2", [x, other]), [[5.0, np.nan, -3.0]])
    np.testing.assert_array_equal(_forward("Minimum2", [x, other]), [[5.0, np.nan, -4.0]])
    np.testing.assert_array_equal(_forward("Maximum2", [other, x]), [[np.nan, 2.0, -3.0]])


def test_n_input_layers_compute_in_order_as_nnabla_does():
    """nnabla accumulates from 0 (AddN) and from 1 (MulN), input after input, in the dtype. In
    float32, 3e38 + 3e38 - 3e38 overflows to inf on the way (the exact sum 3e38 is finite), and
    1e30 * 1e30 * 0 is inf * 0 = nan; in float64 the same inputs stay finite."""
    big = np.array([[3e38]], dtype=np.float32)
    assert _forward("AddN", [big, big, -big])[0, 0] == np.inf
    assert _forward("AddN", [big.astype(np.float64)] * 2 + [-big.astype(np.float64)])[0, 0] == pytest.approx(3e38)
    e30 = np.array([[1e30]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        assert np.isnan(_forward("MulN", [e30, e30, np.zeros_like(e30)])[0, 0])
        assert _forward("MulN", [e30.astype(np.float64)] * 2 + [np.zeros((1, 1))])[0, 0] == 0.0
        # 1e-30 * 1e-30 underflows to 0 in float32 before * 1e30 could bring it back
        assert _forward("MulN", [1 / e30, 1 / e30, e30])[0, 0] == 0.0
    # a sum of -0.0s starts from +0.0, as nnabla's does
    assert not np.signbit(_forward("AddN", [np.array([[-0.0]])] * 2)[0, 0])


def test_division_and_powers_by_hand():
    """The inf and nan of nnabla's (C's) arithmetic, whole numbers worked by hand."""
    x = np.array([[0.0, -0.0, 2.0, -8.0, 4.0]])
    np.testing.assert_array_equal(_forward("RDivScalar", [x], value=1.0), [[np.inf, -np.inf, 0.5, -0.125, 0.25]])
    np.testing.assert_array_equal(_forward("RDivScalar", [x], value=0.0)[0, :2], [np.nan, np.nan])
    np.testing.assert_array_equal(_forward("PowScalar", [x], value=-1.0), [[np.inf, -np.inf, 0.5, -0.125, 0.25]])
    np.testing.assert_array_equal(_forward("PowScalar", [x], value=1.5)[0, 2:], [2**1.5, np.nan, 8.0])
    np.testing.assert_array_equal(_forward("RPowScalar", [x], value=-2.0), [[1.0, 1.0, 4.0, 1 / 256, 16.0]])
    np.testing.assert_array_equal(_forward("RPowScalar", [np.array([[0.5, -1.0]])], value=0.0), [[0.0, np.inf]])
    bases, exponents = np.array([[0.0, -2.0, -2.0, 9.0]]), np.array([[-1.0, 3.0, 0.5, 0.5]])
    np.testing.assert_array_equal(_forward("Pow2", [bases, exponents]), [[np.inf, -8.0, np.nan, 3.0]])
    np.testing.assert_array_equal(
        _forward("Div2", [np.array([[1.0, 0.0, -6.0]]), np.array([[0.0, 0.0, 4.0]])]), [[np.inf, np.nan, -1.5]]
    )
    np.testing.assert_array_equal(_forward("Sub2", [np.array([[1.0, 2.0]]), np.array([[10.0]])]), [[-9.0, -8.0]])


def test_divisions_by_zero_are_reported_by_the_division_check_in_place_of_nan_inf():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: r, type: RDivScalar}\n")
    result = nnspec.run(spec, {"x": np.array([[0.0, 1.0, 2.0]])})
    assert [(f.check, f.layer) for f in result.findings] == [("division-by-zero", "r")]  # it says why: x holds a 0
    assert "1 of 3 inputs (33%) are exactly 0" in result.findings[0].message


# --- invalid specs --------------------------------------------------------------------------------


def two_inputs(layer: str, a: list[int], b: list[int]) -> str:
    return (
        f"nnspec: 1\nlayers:\n  - {{name: a, type: Input, size: {a}}}\n  - {{name: b, type: Input, size: {b}}}\n"
        f"  - {{name: y, type: {layer}, input: [a, b]}}\n"
    )


@pytest.mark.parametrize("layer", sorted(SCALAR_LAYERS))
@pytest.mark.parametrize("bad", ["abc", "[1, 2]", "true", "{a: 1}"])
def test_a_value_that_is_not_a_number_is_an_error_naming_the_layer(layer, bad):
    text = (
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n  - {{name: y, type: {layer}, value: {bad}}}\n"
    )
    with pytest.raises(nnspec.SpecError) as error:
        nnspec.loads(text)
    assert f"'y' ({layer})" in str(error.value) and "value" in str(error.value)


@pytest.mark.parametrize("layer", sorted(SCALAR_LAYERS))
def test_nnc_spelling_of_value_suggests_the_snake_case_one(layer):
    text = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n  - {{name: y, type: {layer}, Value: 2}}\n"
    with pytest.raises(nnspec.SpecError, match=r"NNC's 'Value' is written 'value: 2' in nnspec"):
        nnspec.loads(text)


@pytest.mark.parametrize("layer", sorted(TWO_INPUT_LAYERS))
@pytest.mark.parametrize("a, b", [([3], [4]), ([2, 3], [3, 2]), ([2, 3], [2, 2])])
def test_two_input_layers_refuse_shapes_that_do_not_broadcast(layer, a, b):
    with pytest.raises(nnspec.SpecError) as error:
        nnspec.loads(two_inputs(layer, a, b))
    assert f"'y' ({layer}) receives a" in str(error.value) and "do not broadcast" in str(error.value)


@pytest.mark.parametrize("layer", sorted(TWO_INPUT_LAYERS))
def test_two_input_layers_take_exactly_two_inputs(layer):
    for wiring in ("[x]", "[x, x, x]"):
        text = (
            "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
            f"  - {{name: y, type: {layer}, input: {wiring}}}\n"
        )
        with pytest.raises(nnspec.SpecError, match=rf"'y' \({layer}\) takes exactly 2 inputs"):
            nnspec.loads(text)


@pytest.mark.parametrize("layer", sorted(N_INPUT_LAYERS))
def test_n_input_layers_take_two_or_more_inputs_of_one_shape(layer):
    """nnabla's AddN and MulN check 'minimum 2 inputs' and equal shapes: no broadcasting."""
    one = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n  - {{name: y, type: {layer}, input: [x]}}\n"
    with pytest.raises(nnspec.SpecError, match=rf"'y' \({layer}\) takes 2 or more inputs"):
        nnspec.loads(one)
    for a, b in (([3], [1]), ([2, 3], [3, 2]), ([3], [1, 3])):
        with pytest.raises(nnspec.SpecError) as error:
            nnspec.loads(two_inputs(layer, a, b))
        assert f"'y' ({layer}) receives a" in str(error.value) and "same shape" in str(error.value)
    many = "".join(f"  - {{name: i{k}, type: Input, size: [2, 3]}}\n" for k in range(6))
    spec = nnspec.loads(f"nnspec: 1\nlayers:\n{many}  - {{name: y, type: {layer}, input: [i0, i1, i2, i3, i4, i5]}}\n")
    assert spec.layers["y"].shape == (2, 3)


# --- static analysis: estimates of the values, against a run ------------------------------------------

ESTIMATED = """
nnspec: 1
seed: 3
layers:
  - {name: a, type: Input, size: [50], generator: Normal}
  - {name: b, type: Input, size: [50], generator: Uniform, generator_multiplier: 2.0}
  - {name: d, type: Input, size: [50], generator: Normal, generator_multiplier: 0.5}
  - {name: c, type: Input, size: [1], generator: Normal, generator_multiplier: 0.5}
  - {name: shifted, type: AddScalar, input: a, value: 1.5}
  - {name: scaled, type: MulScalar, input: b, value: -3.0}
  - {name: square, type: PowScalar, input: a}
  - {name: floor, type: MaximumScalar, input: a, value: 0.25}
  - {name: sub, type: Sub2, input: [a, b]}
  - {name: mul, type: Mul2, input: [shifted, b]}
  - {name: mul_broadcast, type: Mul2, input: [b, c]}
  - {name: max, type: Maximum2, input: [a, b]}
  - {name: min, type: Minimum2, input: [shifted, b]}
  - {name: sum, type: AddN, input: [a, b, d]}
  - {name: product, type: MulN, input: [shifted, b, d]}
  - {name: quotient, type: Div2, input: [a, b]}
  - {name: power, type: Pow2, input: [b, a]}
"""


def test_estimates_follow_a_real_run():
    """Estimates without data against 4000 generated samples (200000 values a layer, so the run's
    mean and std are within about 1% of the true ones). For independent inputs the estimates are
    exact moments (quadrature for powers, maxima and minima): 5% on the std, 0.05 std on the mean,
    and the bounds, where there are any, hold every value."""
    spec = nnspec.loads(ESTIMATED)
    guessed = estimates(spec)
    real = nnspec.run(spec, samples=4000).stats
    names = ("shifted", "scaled", "square", "floor", "sub", "mul", "mul_broadcast", "max", "min", "sum", "product")
    for name in names:
        out = real[name].output
        assert guessed[name].std == pytest.approx(out.std, rel=0.05), name
        assert guessed[name].mean == pytest.approx(out.mean, abs=0.05 * out.std), name
        assert guessed[name].low <= out.min and out.max <= guessed[name].high, name
    # a quotient's divisor comes arbitrarily close to 0, and a power's negative bases give nan: no estimate
    assert guessed["quotient"] is None and guessed["power"] is None


def test_estimates_of_bounded_inputs_keep_their_bounds():
    """Inputs declared in a range: the bounds of a difference, a product, a maximum and a sum
    follow from the ranges' ends (by hand), and every value of a run lies within them."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: a, type: Input, size: [20], range: [-1, 2]}\n"
        "  - {name: b, type: Input, size: [20], range: [0.5, 3]}\n"
        "  - {name: sub, type: Sub2, input: [a, b]}\n  - {name: mul, type: Mul2, input: [a, b]}\n"
        "  - {name: max, type: Maximum2, input: [a, b]}\n  - {name: min, type: Minimum2, input: [a, b]}\n"
        "  - {name: sum, type: AddN, input: [a, b, a]}\n  - {name: prod, type: MulN, input: [a, b, b]}\n"
    )
    guessed = estimates(spec)
    by_hand = {
        "sub": (-1 - 3, 2 - 0.5),
        "mul": (-1 * 3, 2 * 3),
        "max": (0.5, 3),
        "min": (-1, 2),
        "sum": (-1 + 0.5 - 1, 2 + 3 + 2),
        "prod": (-1 * 3 * 3, 2 * 3 * 3),
    }
    for name, (low, high) in by_hand.items():
        assert (guessed[name].low, guessed[name].high) == (low, high), name
    rng = np.random.default_rng(0)
    data = {"a": rng.uniform(-1, 2, (500, 20)), "b": rng.uniform(0.5, 3, (500, 20))}
    result = nnspec.run(spec, data)
    for name, (low, high) in by_hand.items():
        assert low <= result.outputs[name].min() and result.outputs[name].max() <= high, name
