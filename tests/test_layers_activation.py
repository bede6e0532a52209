"""The Activation layers added beside Tanh, Sigmoid, ReLU, LeakyReLU and Softmax, each checked
against an independent reference, its shape rule, its properties and its numerical behaviour.

The references never call nnspec: Python's ``math`` applied value by value in float64
(``math.expm1``, ``math.log1p``, a Taylor series with exact Bernoulli numbers for i - tanh(i)
near 0, where the subtraction would cancel), explicit loops over small arrays for the layers
that join halves, take a slope per channel or normalise along an axis, and values worked out
by hand (nnabla's definitions where they differ from numpy's or PyTorch's). Each layer runs
through the public API (``nnspec.loads`` + ``nnspec.run``) in float32 and float64.

Tolerances (``assert_close``):

* rtol is float32 1e-6 (about 8 ulp) and float64 1e-12, as in tests/test_layers.py, times
  (1 + cond), where cond = |i f'(i) / f(i)| is the condition number of the layer's function at
  that input. A correct (backward-stable) implementation computes f at an input perturbed by a
  few roundings, and f turns a relative change d of its input into a relative change cond * d
  of its output; no implementation working in the dtype can do better. cond is about 1 for most
  layers at most inputs; it is large where it must be: GELU at i = -9 (cond ~ 170: the output is
  about i exp(2u) with 2u ~ -66, so one rounding of u is a relative error of 66 eps), HardSigmoid
  near i = -2.5 (the output 0.2 (i + 2.5) is near 0), Sinc near multiples of pi (its zeros). cond comes from
  the float64 reference by a central difference with a relative step of 1e-6, accurate to a
  few digits, which is all a tolerance needs.
* atol is the dtype's smallest normal number: below it values are subnormal and lose relative
  precision bit by bit (the same reasoning as tests/test_layers.py).
* LogSoftmax: an absolute bound 8 eps (|i_x - max| + |o_x| + n) (``assert_log_softmax_close``):
  a correct implementation rounds i_x - max (error eps |i_x - max|), sums n values in 1..n and
  takes the log (error about n eps), and rounds the result (eps |o_x|).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.checks.table import all_checks
from nnspec.spec.static import estimates

from .layer_harness import (
    DTYPES,
    RTOL,
    as_received,
    assert_shape_rule,
    case_params,
    elementwise,
    forward_raising,
    layer_spec,
    run_spec,
)

# The layer types this module covers: the Activation palette of NNC's layer reference
# minus the five tested in tests/test_layers.py.
LAYER_TYPES = {
    "HardTanh",
    "TanhShrink",
    "HardSigmoid",
    "LogSigmoid",
    "Abs",
    "CReLU",
    "PReLU",
    "ReLU6",
    "ELU",
    "CELU",
    "SELU",
    "GELU",
    "SoftPlus",
    "SoftSign",
    "Sinc",
    "Swish",
    "Mish",
    "LogSoftmax",
}

# NNC's defaults as nnc-layer-defaults.txt gives them, typed here rather than read from the catalog.
SELU_SCALE = 1.05070098735548
SELU_ALPHA = 1.673263242354377


# --- independent references, value by value in float64 -----------------------------------


def _exp(v: float) -> float:
    """math.exp, with inf past float64's range (as exp in any float dtype gives) instead of an error."""
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


@cache
def _bernoulli(n: int) -> Fraction:
    """The Bernoulli number B_n (B_1 = -1/2), exactly, from the recurrence sum_k C(n+1, k) B_k = 0."""
    if n == 0:
        return Fraction(1)
    return -sum(math.comb(n + 1, k) * _bernoulli(k) for k in range(n)) / (n + 1)


def _tanh_shrink(v: float) -> float:
    """i - tanh(i). For |i| < 0.5 from the Taylor series of tanh,
    tanh(i) = sum_n 2^2n (2^2n - 1) B_2n i^(2n-1) / (2n)!, without its first term i: 40 terms,
    each about 0.1 of the one before at |i| = 0.5, so the sum is exact to float64's precision.
    For |i| >= 0.5 as written: the subtraction loses at most a factor 13 (at 0.5) of float64's
    precision, four orders of magnitude inside the float64 tolerance."""
    if abs(v) >= 0.5:
        return v - math.tanh(v)
    terms = []
    for n in range(2, 42):
        coefficient = Fraction(2 ** (2 * n) * (2 ** (2 * n) - 1)) * _bernoulli(2 * n) / math.factorial(2 * n)
        terms.append(-float(coefficient) * v ** (2 * n - 1))
    return math.fsum(terms)


def _softplus(v: float) -> float:
    return v + math.log1p(_exp(-v)) if v > 0 else math.log1p(_exp(v))


def _log_sigmoid(v: float) -> float:
    return v - math.log1p(_exp(v)) if v < 0 else -math.log1p(_exp(-v))


def _elu(v: float, alpha: float) -> float:
    return v if v > 0 else alpha * math.expm1(v)


def _gelu(v: float) -> float:
    """nnabla's tanh approximation v/2 (1 + tanh(u)), u = sqrt(2/pi) (v + 0.044715 v^3), written as
    v / (1 + exp(-2u)) (the same number: 1 + tanh(u) = 2 / (1 + exp(-2u))), which does not cancel
    for negative v; test_gelu_by_hand checks the tanh form itself where it is exact."""
    u = math.sqrt(2 / math.pi) * (v + 0.044715 * v * v * v)
    return _times_sigmoid(v, 2 * u)


def _times_sigmoid(v: float, z: float) -> float:
    """v / (1 + exp(-z)); for negative z as v exp(z) / (1 + exp(z)), so that exp(-z) does not
    overflow to inf (and the result to 0) where the true result is still a normal number."""
    if z >= 0:
        return v / (1 + _exp(-z))
    e = _exp(z)
    return v * e / (1 + e)


def _sinc(v: float) -> float:
    return 1.0 if v == 0 else math.sin(v) / v


SCALAR: dict[str, Callable[[float, Mapping[str, Any]], float]] = {
    "HardTanh": lambda v, p: max(-1.0, min(1.0, v)),
    "TanhShrink": lambda v, p: _tanh_shrink(v),
    "HardSigmoid": lambda v, p: max(0.0, min(1.0, 0.2 * v + 0.5)),  # nnabla: 0.2 i + 0.5, clipped
    "LogSigmoid": lambda v, p: _log_sigmoid(v),
    "Abs": lambda v, p: abs(v),
    "ReLU6": lambda v, p: max(0.0, min(6.0, v)),
    "ELU": lambda v, p: _elu(v, p["alpha"]),
    "SELU": lambda v, p: p["scale"] * _elu(v, p["alpha"]),
    "GELU": lambda v, p: _gelu(v),
    "SoftPlus": lambda v, p: _softplus(v),
    "SoftSign": lambda v, p: v / (1 + abs(v)),
    "Sinc": lambda v, p: _sinc(v),
    "Swish": lambda v, p: _times_sigmoid(v, v),
    "Mish": lambda v, p: v * math.tanh(_softplus(v)),
}


def _each(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """A plain Python loop applying a scalar float64 function to every value."""
    return elementwise(fn)(x)


def _elementwise_reference(name: str):
    def reference(inputs, props, params):
        return _each(lambda v: SCALAR[name](v, props), inputs[0])

    return reference


def _joined(fn: Callable[[float], float], x: np.ndarray, axis: int) -> np.ndarray:
    """fn(i) and fn(-i) written value by value into the first and second half along axis (numpy axis)."""
    shape = list(x.shape)
    n = shape[axis]
    shape[axis] = 2 * n
    out = np.full(shape, np.nan)
    for index in np.ndindex(x.shape):
        v = float(x[index])
        second = list(index)
        second[axis] += n
        out[index] = fn(v)
        out[tuple(second)] = fn(-v)
    assert not np.isnan(out).any()
    return out


def ref_crelu(inputs, props, params):
    return _joined(lambda v: v if v > 0 else 0.0, inputs[0], props["axis"] + 1)


def ref_celu(inputs, props, params):
    return _joined(lambda v: _elu(v, props["alpha"]), inputs[0], props["axis"] + 1)


def ref_prelu(inputs, props, params):
    """Each value times the slope of its position along base_axis (batch axis first), if negative."""
    x, slope = inputs[0], params["slope"].reshape(-1)
    axis = props["base_axis"] + 1
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        v = float(x[index])
        a = float(slope[0] if slope.size == 1 else slope[index[axis]])
        out[index] = v if v >= 0 else a * v
    return out


def ref_log_softmax(inputs, props, params):
    """o = (i - max) - log(fsum exp(i_j - max)) along the axis, one line of values at a time."""
    x = inputs[0]
    moved = np.moveaxis(x, props["axis"] + 1, -1)
    out = np.empty(moved.shape)
    for index in np.ndindex(moved.shape[:-1]):
        row = [float(v) for v in moved[index]]
        top = max(row)
        log_total = math.log(math.fsum(_exp(v - top) for v in row))
        out[index] = [(v - top) - log_total for v in row]
    return np.moveaxis(out, -1, props["axis"] + 1)


REFERENCES: dict[str, Callable[[Sequence[np.ndarray], Mapping[str, Any], Mapping[str, np.ndarray]], np.ndarray]] = {
    **{name: _elementwise_reference(name) for name in SCALAR},
    "CReLU": ref_crelu,
    "CELU": ref_celu,
    "PReLU": ref_prelu,
    "LogSoftmax": ref_log_softmax,
}


def condition(name: str, x: np.ndarray, props: Mapping[str, Any]) -> np.ndarray:
    """|i f'(i) / f(i)| of an elementwise reference, f' by a central difference (relative step
    1e-6); 0 where i or f(i) is 0 (f(i) = 0 must then come out as 0, within atol)."""

    def one(v: float) -> float:
        f = SCALAR[name](v, props)
        if v == 0 or f == 0 or not math.isfinite(f):
            return 0.0
        h = abs(v) * 1e-6
        slope = (SCALAR[name](v + h, props) - SCALAR[name](v - h, props)) / (2 * h)
        return abs(v * slope / f)

    return _each(one, x)


# --- inputs -----------------------------------------------------------------------------------


def special_values(dtype: str) -> list[float]:
    """Edge values for these layers, positive and negative: 0, tiny values (1e-30 and the dtype's
    smallest normal number), the cancellation zone of i - tanh(i) (1e-3, 0.5, 0.999, 1.001), the
    knees of HardSigmoid (+-2.5) and ReLU6 (6), the minima of GELU (-0.7525), Swish (-1.2785),
    Mish (-1.1924) and Sinc (4.4934), multiples of pi (Sinc's zeros), exp's limits (88.8, 104,
    709.8, 745.2) and the large +-100 and +-1e4."""
    tiny = float(np.finfo(dtype).tiny)
    base = [1e-30, tiny, 1e-3, 0.25, 0.5, 0.7525, 0.999, 1.0, 1.001, 1.1924, 1.2785, 2.4999, 2.5, 2.65]
    base += [math.pi, 4.4934, 4.6, 5.999, 6.0, 6.001, 2 * math.pi, 9.0, 10.0, 16.7, 20.0, 36.8, 88.8]
    base += [99.0, 100.0, 104.0, 709.8, 745.2, 1e4]
    return [0.0, *base, *(-v for v in base)]


def elementwise_data(dtype: str) -> dict[str, np.ndarray]:
    values = np.array(special_values(dtype))
    return {"x": np.stack([values, values[::-1]])}  # two samples, the second in reverse order


def cycled(shape: tuple[int, ...], shift: int = 0, batch: int = 2) -> Callable[[str], dict[str, np.ndarray]]:
    """(batch, *shape) arrays filled with the special values, cycled with a stride so that every
    line along every axis mixes signs and magnitudes."""

    def make(dtype: str) -> dict[str, np.ndarray]:
        values = special_values(dtype)
        count = batch * math.prod(shape)
        flat = [values[(k * 7 + shift) % len(values)] for k in range(count)]
        return {"x": np.array(flat).reshape((batch, *shape))}

    return make


def logits(shape: tuple[int, ...]) -> Callable[[str], dict[str, np.ndarray]]:
    """Logits for LogSoftmax: moderate spreads and spreads past float32's exp range (88.8, 104, 1e4)."""

    def make(dtype: str) -> dict[str, np.ndarray]:
        values = [0.0, 1.0, -1.0, 2.5, -3.0, 88.8, -104.0, 1e4, -1e4, 0.5, 1e-30, 20.0, -20.0, 4.6]
        count = 2 * math.prod(shape)
        flat = [values[(k * 5) % len(values)] for k in range(count)]
        return {"x": np.array(flat).reshape((2, *shape))}

    return make


# --- cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    """One layer configuration: the layer (named y) after an Input x of the given size."""

    id: str
    type: str
    layer: str  # the YAML mapping of the layer's properties, without name/type/input
    size: tuple[int, ...]
    ref_props: dict[str, Any] = field(default_factory=dict)
    data: Callable[[str], dict[str, np.ndarray]] = elementwise_data
    params: dict[str, np.ndarray] | None = None  # nnabla-named parameters, float64

    def spec_text(self, dtype: str) -> str:
        return layer_spec(dtype, self.type, {"x": self.size}, self.layer)


N = len(special_values("float32"))
ELEMENTWISE = [name for name in SCALAR if name not in ("ELU", "SELU")]
CASES = [
    *(Case(name, name, "", (N,)) for name in ELEMENTWISE),
    Case("ELU-default", "ELU", "", (N,), {"alpha": 1.0}),
    Case("ELU-alpha0.5", "ELU", "alpha: 0.5", (N,), {"alpha": 0.5}),
    Case("ELU-alpha-neg", "ELU", "alpha: -2.0", (N,), {"alpha": -2.0}),
    Case("SELU-default", "SELU", "", (N,), {"scale": SELU_SCALE, "alpha": SELU_ALPHA}),
    Case("SELU-scale2-alpha0.5", "SELU", "scale: 2.0, alpha: 0.5", (N,), {"scale": 2.0, "alpha": 0.5}),
    Case("CReLU-default", "CReLU", "", (3, 4), {"axis": 0}, cycled((3, 4))),
    Case("CReLU-axis1", "CReLU", "axis: 1", (3, 4), {"axis": 1}, cycled((3, 4), 1)),
    Case("CReLU-3d-axis2", "CReLU", "axis: 2", (2, 3, 4), {"axis": 2}, cycled((2, 3, 4), 2)),
    Case("CReLU-1d", "CReLU", "", (N,), {"axis": 0}),
    Case("CELU-default", "CELU", "", (3, 4), {"alpha": 1.0, "axis": 0}, cycled((3, 4))),
    Case("CELU-axis1-alpha2", "CELU", "axis: 1, alpha: 2.0", (3, 4), {"alpha": 2.0, "axis": 1}, cycled((3, 4), 3)),
    Case("CELU-3d-axis1", "CELU", "axis: 1, alpha: 0.5", (2, 3, 4), {"alpha": 0.5, "axis": 1}, cycled((2, 3, 4), 4)),
    Case(
        "PReLU-base0",
        "PReLU",
        "",
        (3, 4),
        {"base_axis": 0},
        cycled((3, 4)),
        {"y/prelu/slope": np.array([0.25, -0.5, 3.0])},
    ),
    Case(
        "PReLU-base1",
        "PReLU",
        "base_axis: 1",
        (3, 4),
        {"base_axis": 1},
        cycled((3, 4), 5),
        {"y/prelu/slope": np.array([0.0, 1.0, 0.1, -2.0])},
    ),
    Case(
        "PReLU-3d-base2",
        "PReLU",
        "base_axis: 2",
        (2, 3, 4),
        {"base_axis": 2},
        cycled((2, 3, 4), 6),
        {"y/prelu/slope": np.array([0.5, 0.01, 1.5, 0.2])},
    ),
    Case("PReLU-1d", "PReLU", "", (N,), {"base_axis": 0}, params={"y/prelu/slope": np.linspace(-1, 2, N)}),
    Case("LogSoftmax-default", "LogSoftmax", "", (3, 4), {"axis": 0}, logits((3, 4))),
    Case("LogSoftmax-axis1", "LogSoftmax", "axis: 1", (3, 4), {"axis": 1}, logits((3, 4))),
    Case("LogSoftmax-3d-axis2", "LogSoftmax", "axis: 2", (2, 3, 5), {"axis": 2}, logits((2, 3, 5))),
    Case("LogSoftmax-1d", "LogSoftmax", "", (N,), {"axis": 0}),
]
CASE_PARAMS = case_params(CASES)


def run_case(case: Case, dtype: str):
    """Load and run a case with numpy's RuntimeWarnings as errors; returns (spec, result, data)."""
    data = case.data(dtype)
    spec, result = run_spec(case.spec_text(dtype), data, case.params)
    return spec, result, data


def reference_for(case: Case, dtype: str, data) -> np.ndarray:
    params = {key.rsplit("/", 1)[-1]: as_received(v, dtype) for key, v in (case.params or {}).items()}
    return REFERENCES[case.type]([as_received(data["x"], dtype)], case.ref_props, params)


def assert_close(got: np.ndarray, expected: np.ndarray, dtype: str, cond: np.ndarray | float = 0.0) -> None:
    """got (nnspec, in dtype) equals the float64 reference rounded to dtype within
    rtol (1 + cond) relative and the smallest normal number absolute (see the module docstring)."""
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    with np.errstate(over="ignore"):  # a reference beyond the dtype's range rounds to inf, as it should
        expected = expected.astype(dtype).astype(np.float64)
    got = got.astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf: those are caught by equality
        error = np.abs(got - expected)
    bound = RTOL[dtype] * (1 + cond) * np.abs(expected) + float(np.finfo(dtype).tiny)
    ok = (got == expected) | (error <= bound)
    assert ok.all(), f"got {got[~ok]}, expected {expected[~ok]}, bound {np.broadcast_to(bound, ok.shape)[~ok]}"


def assert_log_softmax_close(got: np.ndarray, expected: np.ndarray, x: np.ndarray, axis: int, dtype: str) -> None:
    """LogSoftmax: |got - ref| <= 8 eps (|i - max| + |o| + n) + tiny (see the module docstring)."""
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    eps, n = float(np.finfo(dtype).eps), x.shape[axis + 1]
    with np.errstate(over="ignore"):
        expected = expected.astype(dtype).astype(np.float64)
    got = got.astype(np.float64)
    # a spread of 2 max (float64 at its largest values) gives an infinite gap and bound; the
    # reference is -inf there, and equality is what decides
    with np.errstate(over="ignore", invalid="ignore"):
        gap = x.max(axis=axis + 1, keepdims=True) - x
        bound = 8 * eps * (gap + np.abs(expected) + n) + float(np.finfo(dtype).tiny)
        ok = (got == expected) | (np.abs(got - expected) <= bound)
    assert ok.all(), f"got {got[~ok]}, expected {expected[~ok]}"


def check_against_reference(case: Case, dtype: str, got: np.ndarray, data) -> None:
    expected = reference_for(case, dtype, data)
    x = as_received(data["x"], dtype)
    if case.type == "LogSoftmax":
        assert_log_softmax_close(got, expected, x, case.ref_props["axis"], dtype)
    elif case.type in SCALAR:
        assert_close(got, expected, dtype, condition(case.type, x, case.ref_props))
    elif case.type == "CELU":  # each half is an ELU of i or of -i: the ELU's condition number
        cond = condition("ELU", x, case.ref_props)
        assert_close(got, expected, dtype, np.concatenate([cond, cond], axis=case.ref_props["axis"] + 1))
    else:  # CReLU, PReLU: copies, negations and one product per value
        assert_close(got, expected, dtype)


# --- coverage -----------------------------------------------------------------------------------


def test_references_cover_exactly_the_layers_added_here():
    assert set(REFERENCES) == LAYER_TYPES
    catalog = nnspec.layer_types()
    assert LAYER_TYPES <= set(catalog)
    assert {catalog[name].category for name in LAYER_TYPES} == {"Activation"}


def test_every_reference_has_a_case():
    assert {case.type for case in CASES} == LAYER_TYPES


# --- every layer against its reference, its shape rule against its output ------------------------


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    check_against_reference(case, dtype, result.outputs["y"], data)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    assert_shape_rule(spec, result.outputs["y"], len(data["x"]))


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The runner silences numpy's warnings around a layer (it reports NaN/Inf itself), so the
    catalog's forward runs here on the same finite inputs with overflow, invalid and divide
    raised (underflow to 0 is expected and fine)."""
    spec, result, data = run_case(case, dtype)
    layer = spec.layers["y"]
    got = forward_raising(layer, [np.asarray(data["x"]).astype(dtype)], result.layer_parameters["y"])
    np.testing.assert_array_equal(got, result.outputs["y"])


# --- the largest finite inputs -------------------------------------------------------------------


FLOAT_MAX_CASES = [
    *(Case(f"{name}-max", name, "", (4,)) for name in ELEMENTWISE),
    Case("ELU-max", "ELU", "", (4,), {"alpha": 1.0}),
    Case("SELU-max", "SELU", "", (4,), {"scale": SELU_SCALE, "alpha": SELU_ALPHA}),
    Case("CReLU-max", "CReLU", "", (4,), {"axis": 0}),
    Case("CELU-max", "CELU", "", (4,), {"alpha": 1.0, "axis": 0}),
    Case("PReLU-max", "PReLU", "", (4,), {"base_axis": 0}, params={"y/prelu/slope": np.array([0.25, 3.0, -2.0, 1.0])}),
    Case("LogSoftmax-max", "LogSoftmax", "", (4,), {"axis": 0}),
]


def float_max_data(dtype: str) -> dict[str, np.ndarray]:
    big, tiny = float(np.finfo(dtype).max), float(np.finfo(dtype).tiny)
    return {"x": np.array([[big, -big, 0.0, 1.0], [-big, 1e4, -1e4, tiny], [-big, -big, big, big]])}


@pytest.mark.parametrize("case, dtype", case_params(FLOAT_MAX_CASES))
def test_float_max_inputs(case: Case, dtype: str):
    """At +-the largest finite value: no numpy warning from the forward (overflows whose inf is
    the right result, SELU's scale * max, a slope of 3 or -2 times max, LogSoftmax's spread of
    2 max, are silenced in the layer), outputs finite wherever the true value is within the
    dtype's range, and equal to the reference (rtol without cond: cond at 1e38 mostly measures
    the central difference's step, and the outputs here are exact or simple)."""
    case = Case(case.id, case.type, case.layer, case.size, case.ref_props, float_max_data, case.params)
    spec, result, data = run_case(case, dtype)
    layer = spec.layers["y"]
    forward_raising(layer, [np.asarray(data["x"]).astype(dtype)], result.layer_parameters["y"])
    got = result.outputs["y"]
    with np.errstate(over="ignore"):
        expected = reference_for(case, dtype, data)
        in_range = np.isfinite(expected.astype(dtype))
    assert np.isfinite(got[in_range]).all()
    if case.type == "LogSoftmax":
        assert_log_softmax_close(got, expected, as_received(data["x"], dtype), 0, dtype)
    else:
        assert_close(got, expected, dtype)


# --- nnabla's definitions, by hand -----------------------------------------------------------------


def run_one(layer: str, x: Sequence[float] | np.ndarray, dtype: str = "float64", params=None) -> np.ndarray:
    """Run one layer (named y) on one sample; returns that sample's output."""
    x = np.asarray(x, dtype=np.float64)
    text = (
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: {list(x.shape)}}}\n"
        f"  - {{name: y, input: x, {layer}}}\n"
    )
    return nnspec.run(nnspec.loads(text), {"x": x[np.newaxis]}, params=params).outputs["y"][0]


def test_hard_sigmoid_is_nnabla_slope_0_2_not_pytorch():
    """nnabla: max(0, min(1, 0.2 i + 0.5)), 0 from -2.5 and 1 from 2.5. PyTorch's i/6 + 1/2
    would give 0.6667 at 1 and 0.9167 at 2.5."""
    got = run_one("type: HardSigmoid", [-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0])
    np.testing.assert_allclose(got, [0.0, 0.0, 0.3, 0.5, 0.7, 1.0, 1.0], rtol=1e-15, atol=1e-16)


def test_gelu_by_hand():
    """nnabla's tanh approximation, not the exact i Phi(i) = i (1 + erf(i / sqrt 2)) / 2: at i = 1
    the approximation gives 0.8411920 where the exact GELU gives 0.8413447. The literal tanh form
    is exact enough for i >= 0 (1 + tanh does not cancel there)."""
    xs = [0.0, 0.5, 1.0, 2.0, 3.0]
    got = run_one("type: GELU", xs)
    tanh_form = [v / 2 * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))) for v in xs]
    np.testing.assert_allclose(got, tanh_form, rtol=1e-14, atol=0)
    assert abs(got[2] - 0.8411919906082768) < 1e-15
    exact = 1.0 * (1 + math.erf(1 / math.sqrt(2))) / 2
    assert abs(got[2] - exact) > 1e-4


def test_sinc_is_unnormalised_by_hand():
    """nnabla: sin(i)/i with 1 at 0. numpy's np.sinc(i) = sin(pi i)/(pi i) is 0 at i = 1, 2, ...;
    nnabla's is 0 at multiples of pi."""
    got = run_one("type: Sinc", [0.0, math.pi / 2, 1.0, 2 * math.pi, -math.pi / 2])
    expected = [1.0, 2 / math.pi, math.sin(1.0), 0.0, 2 / math.pi]
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-16)
    assert abs(got[2] - np.sinc(1.0)) > 0.8


def test_selu_defaults_by_hand():
    """NNC's defaults: scale 1.05070098735548, alpha 1.673263242354377; o(-1) = scale alpha (1/e - 1)."""
    got = run_one("type: SELU", [-1.0, 0.0, 2.0, -50.0])
    expected = [SELU_SCALE * SELU_ALPHA * (math.exp(-1) - 1), 0.0, 2 * SELU_SCALE, -SELU_SCALE * SELU_ALPHA]
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_elu_small_negative_inputs_keep_their_value():
    """alpha (exp(i) - 1) for i = -1e-20 is exactly 0 when computed as written; the layer keeps
    -1e-20 (alpha = 1), as math.expm1 does."""
    got = run_one("type: ELU", [-1e-20, -1e-10])
    np.testing.assert_allclose(got, [-1e-20, math.expm1(-1e-10)], rtol=1e-15)


def test_tanh_shrink_small_inputs_by_hand():
    """i - tanh(i) = i^3/3 - 2 i^5/15 + ...: at 1e-3 that is 3.333332e-10, where float32's
    i - tanh(i) keeps no correct digit (the spacing of float32 near 1e-3 is 1.2e-10); at 1e-10 it
    is 3.3e-31, a normal float32 number, where i - tanh(i) gives 0."""
    for dtype, rtol in (("float32", 1e-6), ("float64", 1e-14)):
        got = run_one("type: TanhShrink", [1e-3, -1e-3, 1e-10], dtype)
        a, b = (float(np.float32(v)) for v in (1e-3, 1e-10)) if dtype == "float32" else (1e-3, 1e-10)
        series = a**3 / 3 - 2 * a**5 / 15 + 17 * a**7 / 315
        np.testing.assert_allclose(got, [series, -series, b**3 / 3], rtol=rtol, atol=0)


def test_crelu_and_celu_layout_by_hand():
    """nnabla concatenates f(i) and then f(-i) along the axis: for a (2, 2) sample along axis 0
    the first two rows are f(i), the last two f(-i); along axis 1 each row is [f(i), f(-i)]."""
    x = np.array([[1.0, -2.0], [0.0, 3.0]])
    np.testing.assert_array_equal(run_one("type: CReLU", x), [[1, 0], [0, 3], [0, 2], [0, 0]])
    np.testing.assert_array_equal(run_one("type: CReLU, axis: 1", x), [[1, 0, 0, 2], [0, 3, 0, 0]])
    e = math.expm1(-1.0)
    got = run_one("type: CELU, axis: 1, alpha: 2.0", np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(got, [[1.0, 0.0, 2 * e, 0.0]], rtol=1e-15)


def test_prelu_per_channel_by_hand():
    """One slope per position along base_axis: with base_axis 0 each row has its slope, with
    base_axis 1 each column."""
    x = np.array([[-1.0, 2.0, -4.0], [-1.0, -2.0, 3.0]])
    rows = run_one("type: PReLU", x, params={"y/prelu/slope": np.array([0.5, -1.0])})
    np.testing.assert_array_equal(rows, [[-0.5, 2.0, -2.0], [1.0, 2.0, 3.0]])
    columns = run_one("type: PReLU, base_axis: 1", x, params={"y/prelu/slope": np.array([0.5, 0.25, 2.0])})
    np.testing.assert_array_equal(columns, [[-0.5, 2.0, -8.0], [-0.5, -0.5, 3.0]])


def test_log_softmax_by_hand():
    """Two equal logits: log(1/2) each; logits 0 and ln 3: log(1/4) and log(3/4). A logit 1e4 below
    another gets -1e4, finite, where Softmax gives a probability of exactly 0."""
    got = run_one("type: LogSoftmax, axis: 1", np.array([[0.0, 0.0], [0.0, math.log(3)], [0.0, -1e4]]))
    expected = [[-math.log(2)] * 2, [math.log(0.25), math.log(0.75)], [-math.log1p(math.exp(-1e4)), -1e4]]
    np.testing.assert_allclose(got, expected, rtol=1e-15)


# --- properties, defaults and parameters --------------------------------------------------------------


NNC_DEFAULTS = {  # from nnc-layer-defaults.txt, in snake_case
    "CReLU": {"axis": 0},
    "PReLU": {"base_axis": 0, "parameter_scope": None},
    "ELU": {"alpha": 1.0},
    "CELU": {"alpha": 1.0, "axis": 0},
    "SELU": {"scale": 1.05070098735548, "alpha": 1.673263242354377},
    "LogSoftmax": {"axis": 0},
}


@pytest.mark.parametrize("layer_type", sorted(LAYER_TYPES))
def test_properties_and_defaults_are_nnc_s(layer_type):
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3, 4]}}\n  - {{name: y, type: {layer_type}}}\n"
    )
    props = dict(spec.layers["y"].props)
    assert props == NNC_DEFAULTS.get(layer_type, {})
    assert {p.name for p in nnspec.layer_types()[layer_type].properties} == set(NNC_DEFAULTS.get(layer_type, {}))


def test_prelu_parameter_named_and_shaped_as_nnabla():
    """NNC's PReLU learns one slope per channel (its Shared property is fixed to False): nnabla's
    {scope}/prelu/slope of shape (size of the base_axis axis,), initialised to Constant 0.25."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 4]}\n"
        "  - {name: p0, type: PReLU, input: x}\n  - {name: p1, type: PReLU, input: x, base_axis: 1}\n"
    )
    assert spec.layers["p0"].parameter_shapes == {"slope": (3,)}
    assert spec.layers["p1"].parameter_shapes == {"slope": (4,)}
    assert nnspec.layer_types()["PReLU"].function_scope == "prelu"
    x = np.array([[[-4.0, 1.0, -8.0, 0.0]] * 3])
    result = nnspec.run(spec, {"x": x})
    np.testing.assert_array_equal(result.layer_parameters["p0"]["slope"], np.full(3, 0.25, dtype=np.float32))
    np.testing.assert_array_equal(result.outputs["p0"][0], [[-1.0, 1.0, -2.0, 0.0]] * 3)
    slopes = {"p0/prelu/slope": np.zeros(3), "p1/prelu/slope": np.array([1.0, 2.0, 0.5, 3.0])}
    given = nnspec.run(spec, {"x": x}, params=slopes)
    np.testing.assert_array_equal(given.outputs["p0"][0], [[0.0, 1.0, 0.0, 0.0]] * 3)
    np.testing.assert_array_equal(given.outputs["p1"][0], [[-4.0, 1.0, -4.0, 0.0]] * 3)


def test_prelu_shares_slopes_by_parameter_scope():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "  - {name: a, type: PReLU, input: x, parameter_scope: act}\n"
        "  - {name: b, type: PReLU, input: x, parameter_scope: act}\n"
    )
    result = nnspec.run(spec, {"x": np.array([[-2.0, -4.0]])}, params={"act/prelu/slope": np.array([0.5, -1.0])})
    np.testing.assert_array_equal(result.outputs["a"], result.outputs["b"])
    np.testing.assert_array_equal(result.outputs["a"][0], [-1.0, 4.0])


def test_prelu_slope_of_the_wrong_shape_is_refused():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: p, type: PReLU}\n")
    with pytest.raises(nnspec.NnspecError) as caught:
        nnspec.run(spec, {"x": np.zeros((1, 3))}, params={"p/prelu/slope": np.ones(2)})
    assert "p/prelu/slope" in str(caught.value) and "(3,)" in str(caught.value)


INVALID = [
    ("CReLU", "axis: 2", [3, 4], "axis"),
    ("CReLU", "axis: -1", [3, 4], "axis"),
    ("CELU", "axis: 1", [5], "axis"),
    ("CELU", "alpha: big", [5], "alpha"),
    ("LogSoftmax", "axis: 3", [2, 3, 4], "axis"),
    ("PReLU", "base_axis: 2", [3, 4], "base_axis"),
    ("PReLU", "base_axis: -1", [3, 4], "base_axis"),
    ("PReLU", "base_axis: 0.5", [3, 4], "base_axis"),
    ("ELU", "alpha: [1]", [3], "alpha"),
    ("SELU", "scale: true", [3], "scale"),
    ("SELU", "lambda: 1.0", [3], "lambda"),
]


@pytest.mark.parametrize("layer_type, props, size, prop", INVALID, ids=[f"{t}-{p}" for t, p, _, _ in INVALID])
def test_invalid_property_values_name_the_layer(layer_type, props, size, prop):
    text = (
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n"
        f"  - {{name: act, type: {layer_type}, {props}}}\n"
    )
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(text)
    message = str(caught.value)
    assert f"layer 'act' ({layer_type})" in message and prop in message, message


def test_axis_out_of_range_message():
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(
            "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 4]}\n  - {name: c, type: CReLU, axis: 2}\n"
        )
    assert "layer 'c' (CReLU) receives x (3, 4): axis 2 is out of range" in str(caught.value)


# --- the catalog's facts the range checks read ---------------------------------------------------------


def test_range_check_flags():
    """Decided per layer (see each range_note):

    * elementwise: the one-input, value-by-value layers, whose forward carries static estimates;
      CReLU and CELU change the shape, PReLU has parameters, LogSoftmax mixes an axis.
    * saturates: SoftSign only. It approaches finite bounds like Tanh (past +-99 its output is beyond
      +-0.99 and its gradient below 1e-4). HardTanh, HardSigmoid and ReLU6 pin their outputs by
      design: the hard-saturation check (1% of outputs exactly at a bound) would fire on ordinary
      unit-variance data (32% of HardTanh's outputs, 1.2% of HardSigmoid's, half of ReLU6's at 0).
    * zero_for_negative: ReLU6 (0 for every input <= 0), so its dead-unit checks run.
    * exp_overflows: none; each layer with an exp uses a form that cannot overflow.
    """
    types = nnspec.layer_types()
    elementwise = LAYER_TYPES - {"CReLU", "CELU", "PReLU", "LogSoftmax"}
    assert {name for name in LAYER_TYPES if types[name].elementwise} == elementwise
    assert {name for name in LAYER_TYPES if types[name].saturates} == {"SoftSign"}
    assert {name for name in LAYER_TYPES if types[name].zero_for_negative} == {"ReLU6"}
    assert {name for name in LAYER_TYPES if types[name].exp_overflows} == set()
    assert not any(types[name].probabilities for name in LAYER_TYPES)
    for name in LAYER_TYPES:
        low, high = types[name].output_range
        assert low is None or high is None or low < high
        if types[name].input_range is not None:
            assert types[name].input_range[0] < types[name].input_range[1]


@pytest.mark.parametrize("layer_type", sorted(LAYER_TYPES - {"PReLU"}))
@pytest.mark.parametrize("dtype", DTYPES)
def test_outputs_stay_within_the_output_range(layer_type, dtype):
    """Every output on the special values lies within the catalog's output_range (default properties)."""
    size = [N]
    spec = nnspec.loads(
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n"
        f"  - {{name: y, type: {layer_type}}}\n"
    )
    got = nnspec.run(spec, elementwise_data(dtype)).outputs["y"]
    low, high = nnspec.layer_types()[layer_type].output_range
    assert low is None or got.min() >= low
    assert high is None or got.max() <= high


def test_relu6_dead_layer_and_softsign_saturation_are_reported():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: r6, type: ReLU6, input: x}\n  - {name: ss, type: SoftSign, input: x}\n"
        "  - {name: ht, type: HardTanh, input: x}\n"
    )
    x = -np.abs(np.random.default_rng(0).normal(200.0, 50.0, (16, 4)))
    found = {(f.check, f.layer) for f in nnspec.run(spec, {"x": x}).findings}
    assert ("relu6-dead-layer", "r6") in found
    assert ("softsign-saturation", "ss") in found
    # clipping is HardTanh's design: no saturation check of its own; a HardTanh pinned on every
    # sample is still reported, by the general constant-output check
    assert {check for check, layer in found if layer == "ht"} == {"constant-output"}
    assert not [c for c in all_checks() if c.startswith(("hardtanh-", "hardsigmoid-", "relu6-hard", "relu6-sat"))]


def test_static_estimates_follow_the_data():
    """The estimate rules of the non-elementwise layers (and the elementwise ones through their
    forward) against the statistics of a real run on 4000 normal samples: means and stds agree
    within 0.05 + 5% (the rules approximate, e.g. PReLU with the slopes' mean)."""
    text = (
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [8], generator: Normal}\n"
        "  - {name: crelu, type: CReLU, input: x}\n  - {name: celu, type: CELU, input: x, alpha: 2.0}\n"
        "  - {name: prelu, type: PReLU, input: x}\n  - {name: logsm, type: LogSoftmax, input: x}\n"
        "  - {name: gelu, type: GELU, input: x}\n  - {name: r6, type: ReLU6, input: x}\n"
    )
    spec = nnspec.loads(text)
    predicted = estimates(spec)
    result = nnspec.run(spec, samples=4000)
    for name in ("crelu", "celu", "prelu", "logsm", "gelu", "r6"):
        values = result.outputs[name]
        assert predicted[name] is not None, name
        assert abs(predicted[name].mean - values.mean()) <= 0.05 + 0.05 * abs(values.mean()), name
        assert abs(predicted[name].std - values.std()) <= 0.05 + 0.05 * values.std(), name
    assert predicted["logsm"].high == 0.0 and predicted["crelu"].low >= 0.0
