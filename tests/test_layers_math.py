"""The Math and Trigonometric layers checked against independent references.

The references never call nnspec or numpy's versions of the functions: reductions, running sums
and products and matrix products are written as explicit loops over the values, summed and
multiplied exactly in Python's ``fractions.Fraction`` (a p-norm in ``decimal.Decimal`` at 50
digits) and rounded once; the value-by-value layers apply Python's ``math`` in float64, with
IEEE 754's results written out by hand where ``math`` raises (log(0) = -inf, asin(2) = nan,
atanh(1) = inf, sinh(1000) = inf). Each layer runs through the public API (``nnspec.loads`` +
``nnspec.run``) in float32 and float64, on inputs holding 0, tiny values (1e-30 and the dtype's
smallest normal number), halves, +-100 and +-1e4 where the layer's domain allows, and on the
dtype's largest finite values.

Tolerances:

* float32: rtol 1e-6, about 8 ulp (float32 eps = 1.19e-7); float64: rtol 1e-12 (about 4500 eps).
  A value-by-value layer rounds once or twice (numpy's float32 sin, log, asinh... are within a
  few ulp); a wrong formula, axis, order or layout is off by far more.
* atol: the dtype's smallest normal number. Below it values are subnormal and lose relative
  precision bit by bit, so only an absolute error means anything there.
* Sums (Sum, Mean, CumSum) and dot products (BatchMatmul) are compared with the exact result
  under the a-priori bound of n terms added in the dtype: |error| <= n eps sum_i |term_i|. With
  1e4 beside 1e-30 in one sum, cancellation makes the *relative* error of a correct sum
  arbitrarily large, so the bound is taken relative to the sum of magnitudes (``assert_sum_close``).
* Products (Prod, CumProd) and p-norms carry at most one rounding per term, each relative:
  rtol (n + 1) eps for n terms (``assert_close`` with ``rtol``).
* Max, Min (values and indices), Sign, Round, Ceil and Floor must be exact.
* inf and nan must match exactly (assert_allclose compares them as values: inf == inf, nan == nan).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates

from .layer_harness import (
    DTYPES,
    RTOL,
    assert_close,
    assert_shape_rule,
    call_forward,
    case_params,
    cycled,
    elementwise,
    layer_spec,
    received,
    run_spec,
)

REDUCTION_LAYERS = {"Sum", "Mean", "Prod", "Max", "Min", "Norm"}
SCAN_LAYERS = {"CumSum", "CumProd"}
VALUE_LAYERS = {"Log", "Sign", "Round", "Ceil", "Floor"}
TRIGONOMETRIC_LAYERS = {"Sin", "Cos", "Tan", "Sinh", "Cosh", "ASin", "ACos", "ATan", "ASinh", "ACosh", "ATanh"}
TWO_INPUT_LAYERS = {"BatchMatmul", "ATan2"}
THIS_TASK = REDUCTION_LAYERS | SCAN_LAYERS | VALUE_LAYERS | TRIGONOMETRIC_LAYERS | TWO_INPUT_LAYERS

# NNC's defaults, written out from nnc-layer-defaults.txt (never read from nnspec's catalog).
NNC_DEFAULTS = {
    "Sum": {"axes": (0,), "keep_dims": False},
    "Mean": {"axes": (0,), "keep_dims": False},
    "Prod": {"axes": (0,), "keep_dims": False},
    "Max": {"axes": (0,), "keep_dims": False, "only_index": False},
    "Min": {"axes": (0,), "keep_dims": False, "only_index": False},
    "Norm": {"p": 2.0, "axes": (0,), "keep_dims": False},
    "CumSum": {"axis": 0, "exclusive": False, "reverse": False},
    "CumProd": {"axis": 0, "exclusive": False, "reverse": False},
    "Sign": {"alpha": 0.0},
}


# --- exact arithmetic and IEEE 754 by hand ----------------------------------------------------


def exact_float(value: Fraction | Decimal) -> float:
    """An exact value correctly rounded to float64; +-inf beyond its range, where float() raises."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def ieee(fn: Callable[[float], float], *, low: float = -math.inf, high: float = math.inf) -> Callable:
    """fn in float64 with C's results where math raises: nan outside the domain [low, high],
    +-inf at a pole on its boundary or past float64's range."""

    def apply(v: float) -> float:
        if v < low or v > high:
            return math.nan
        try:
            return fn(v)
        except ValueError:  # a pole: math.log(0), math.atanh(+-1)
            return -math.inf if fn is math.log else math.copysign(math.inf, v)
        except OverflowError:  # sinh, cosh past float64's range
            return math.inf if fn is math.cosh else math.copysign(math.inf, v)

    return apply


def round_half_away(v: float) -> float:
    """C's round: the nearest integer, halves away from zero, found exactly with Fraction
    (Python's round() takes halves to even; floor(v + 0.5) rounds 0.49999999999999994 + 0.5 up)."""
    whole = math.floor(abs(Fraction(v)) + Fraction(1, 2))
    return math.copysign(float(whole), v)


def test_exact_and_ieee_helpers_by_hand():
    assert exact_float(Fraction(10) ** 400) == math.inf and exact_float(-(Fraction(10) ** 400)) == -math.inf
    assert exact_float(Fraction(1, 3)) == 1 / 3 and exact_float(Decimal("1e400")) == math.inf
    assert ieee(math.log, low=0.0)(0.0) == -math.inf and math.isnan(ieee(math.log, low=0.0)(-1.0))
    assert ieee(math.atanh, low=-1.0, high=1.0)(-1.0) == -math.inf and math.isnan(ieee(math.asin, high=1.0)(2.0))
    assert ieee(math.sinh)(-1000.0) == -math.inf and ieee(math.cosh)(-1000.0) == math.inf
    assert [round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994)] == [1, 2, 3, -1, -3, 0]


# --- independent references -----------------------------------------------------------------
#
# Each takes the layer inputs (float64 arrays holding exactly the values nnspec receives, batch
# axis first) and the properties as the NNC layer reference writes them.


def _value_layer(fn: Callable[[float], float]):
    return lambda inputs, props: elementwise(fn)(inputs[0])


def slices(x: np.ndarray, axes: Sequence[int], keep_dims: bool):
    """For a batched array and NNC axes (batch excluded): the output's shape, then (output index,
    values of the reduced axes in row-major order, lowest axis first) for every output position."""
    reduced = sorted(a + 1 for a in axes)
    kept = [d for d in range(x.ndim) if d not in reduced]
    if keep_dims:
        shape = tuple(1 if d in reduced else x.shape[d] for d in range(x.ndim))
    else:
        shape = tuple(x.shape[d] for d in kept)
    found = []
    for kept_index in itertools.product(*(range(x.shape[d]) for d in kept)):
        values = []
        for reduced_index in itertools.product(*(range(x.shape[d]) for d in reduced)):
            full = [0] * x.ndim
            for d, i in [*zip(kept, kept_index), *zip(reduced, reduced_index)]:
                full[d] = i
            values.append(float(x[tuple(full)]))
        if keep_dims:
            position = dict(zip(kept, kept_index))
            out_index = tuple(position.get(d, 0) for d in range(x.ndim))
        else:
            out_index = kept_index
        found.append((out_index, values))
    return shape, found


def _reduction(combine: Callable[[list[float], dict[str, Any]], float]):
    def reference(inputs, props):
        shape, found = slices(inputs[0], props["axes"], props["keep_dims"])
        out = np.empty(shape)
        for index, values in found:
            out[index] = combine(values, props)
        return out

    return reference


def _first_extreme(values: list[float], better: Callable[[float, float], bool]) -> tuple[int, float]:
    """The first position holding the extreme value, and that value, found by a plain scan."""
    best = 0
    for k, v in enumerate(values):
        if better(v, values[best]):
            best = k
    return best, values[best]


def _extreme(better: Callable[[float, float], bool]):
    def combine(values, props):
        index, value = _first_extreme(values, better)
        return float(index) if props["only_index"] else value

    return combine


def _norm(values: list[float], props: dict[str, Any]) -> float:
    """(sum |v|^p)^(1/p) in 50-digit decimal arithmetic, where nothing overflows."""
    p = props["p"]
    if p == math.inf:
        return max(abs(v) for v in values)
    with localcontext() as context:
        context.prec = 50
        total = sum(Decimal(abs(v)) ** Decimal(p) for v in values)
        return exact_float(total ** (Decimal(1) / Decimal(p)))


def _scan(combine: Callable[[list[Fraction]], Fraction]):
    """o_k combines the exact values at the positions j of the line along axis with j <= k (j < k
    with exclusive; j >= k and j > k with reverse): each output from its own terms, no running total."""

    def reference(inputs, props):
        x = inputs[0]
        axis = props["axis"] + 1
        out = np.empty(x.shape)
        for index in np.ndindex(x.shape):
            k = index[axis]
            if props["reverse"]:
                positions = range(k + 1 if props["exclusive"] else k, x.shape[axis])
            else:
                positions = range(0, k if props["exclusive"] else k + 1)
            terms = [Fraction(float(x[index[:axis] + (j,) + index[axis + 1 :]])) for j in positions]
            out[index] = exact_float(combine(terms))
        return out

    return reference


def _product(terms: list[Fraction]) -> Fraction:
    return math.prod(terms, start=Fraction(1))


def ref_batch_matmul(inputs, props):
    """o[..., m, n] = fsum_k a[..., m, k] b[..., k, n]; a leading axis of size 1 repeats."""
    a, b = inputs
    lead = tuple(max(p, q) for p, q in zip(a.shape[:-2], b.shape[:-2]))
    rows, inner, columns = a.shape[-2], a.shape[-1], b.shape[-1]
    out = np.empty((*lead, rows, columns))
    for index in np.ndindex(lead):
        ia = tuple(0 if size == 1 else i for i, size in zip(index, a.shape[:-2]))
        ib = tuple(0 if size == 1 else i for i, size in zip(index, b.shape[:-2]))
        for m in range(rows):
            for n in range(columns):
                terms = [Fraction(float(a[(*ia, m, k)])) * Fraction(float(b[(*ib, k, n)])) for k in range(inner)]
                out[(*index, m, n)] = exact_float(sum(terms, Fraction(0)))
    return out


def ref_atan2(inputs, props):
    """math.atan2 over two arrays of one rank, broadcast by hand: an axis of size 1 repeats."""
    a, b = inputs
    shape = tuple(max(m, n) for m, n in zip(a.shape, b.shape))
    out = np.empty(shape)
    for index in np.ndindex(shape):
        ia = tuple(0 if m == 1 else k for k, m in zip(index, a.shape))
        ib = tuple(0 if m == 1 else k for k, m in zip(index, b.shape))
        out[index] = math.atan2(float(a[ia]), float(b[ib]))
    return out


def _sign(v: float, alpha: float) -> float:
    return 1.0 if v > 0 else -1.0 if v < 0 else alpha


REFERENCES: dict[str, Callable[[Sequence[np.ndarray], dict[str, Any]], np.ndarray]] = {
    "Sum": _reduction(lambda values, props: exact_float(sum(map(Fraction, values), Fraction(0)))),
    "Mean": _reduction(lambda values, props: exact_float(sum(map(Fraction, values), Fraction(0)) / len(values))),
    "Prod": _reduction(lambda values, props: exact_float(_product([Fraction(v) for v in values]))),
    "Max": _reduction(_extreme(lambda v, best: v > best)),
    "Min": _reduction(_extreme(lambda v, best: v < best)),
    "Norm": _reduction(_norm),
    "CumSum": _scan(lambda terms: sum(terms, Fraction(0))),
    "CumProd": _scan(_product),
    "Log": _value_layer(ieee(math.log, low=0.0)),
    "Sign": lambda inputs, props: elementwise(lambda v: _sign(v, props["alpha"]))(inputs[0]),
    "Round": _value_layer(round_half_away),
    "Ceil": _value_layer(lambda v: float(math.ceil(v))),
    "Floor": _value_layer(lambda v: float(math.floor(v))),
    "BatchMatmul": ref_batch_matmul,
    "Sin": _value_layer(math.sin),
    "Cos": _value_layer(math.cos),
    "Tan": _value_layer(math.tan),
    "Sinh": _value_layer(ieee(math.sinh)),
    "Cosh": _value_layer(ieee(math.cosh)),
    "ASin": _value_layer(ieee(math.asin, low=-1.0, high=1.0)),
    "ACos": _value_layer(ieee(math.acos, low=-1.0, high=1.0)),
    "ATan": _value_layer(math.atan),
    "ATan2": ref_atan2,
    "ASinh": _value_layer(math.asinh),
    "ACosh": _value_layer(ieee(math.acosh, low=1.0)),
    "ATanh": _value_layer(ieee(math.atanh, low=-1.0, high=1.0)),
}


def test_references_cover_exactly_this_tasks_layers():
    assert set(REFERENCES) == THIS_TASK
    assert len(THIS_TASK) == 26
    assert THIS_TASK <= set(nnspec.layer_types())


def test_reference_helpers_by_hand():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    shape, found = slices(x, [2, 0], keep_dims=False)  # axes in any order: reduced lowest first
    assert shape == (1, 3) and found[1] == ((0, 1), [4.0, 5.0, 6.0, 7.0, 16.0, 17.0, 18.0, 19.0])
    shape, found = slices(x, [1], keep_dims=True)
    assert shape == (1, 2, 1, 4) and found[5] == ((0, 1, 0, 1), [13.0, 17.0, 21.0])
    assert _first_extreme([1.0, 3.0, 3.0, -1.0], lambda v, b: v > b) == (1, 3.0)
    line = {"axis": 0, "exclusive": True, "reverse": True}
    assert list(REFERENCES["CumSum"]([np.array([[1.0, 2.0, 4.0]])], line)[0]) == [6.0, 4.0, 0.0]
    assert _norm([3.0, -4.0], {"p": 2.0}) == 5.0 and _norm([3.0, -4.0], {"p": math.inf}) == 4.0


# --- inputs ---------------------------------------------------------------------------------


def edge_values(dtype: str) -> list[float]:
    """0, tiny values (1e-30, the dtype's smallest normal number), halves, +-100 and +-1e4, with
    their negatives."""
    tiny = float(np.finfo(dtype).tiny)
    base = [0.0, tiny, 1e-30, 0.5, 1.0, 2.5, 3.0, 100.0, 1e4]
    return base + [-v for v in base[1:]]


# Factors for products: moderate ones with a few extremes (and a zero), so that some products
# stay in range and others under- or overflow float32.
PRODUCT_VALUES = [0.5, -2.0, 3.0, -1.0, 1.5, -0.25, 2.0, 1e4, -1e-30, 100.0, 0.1, -7.0, 0.0]

# Each value layer's inputs, within its domain (the domain's edges included).
DOMAIN_VALUES: dict[str, Callable[[str], list[float]]] = {
    "Log": lambda dtype: [float(np.finfo(dtype).tiny), 1e-30, 0.5, 1.0, 2.5, 100.0, 1e4, 1e30],
    "Sign": lambda dtype: [*edge_values(dtype), -0.0],
    "Round": lambda dtype: [
        *edge_values(dtype),
        1.5,
        -1.5,
        0.49999997,  # float32's largest value below 0.5 (float64 holds it a little above 0.4999999699)
        -0.49999997,
        0.49999999999999994,  # float64's largest value below 0.5; rounds to 0.5 in float32
        10000.5,
        -10000.5,
        8388609.0,  # 2**23 + 1: float32 has no fraction bits left here
    ],
    "Sinh": lambda dtype: [*edge_values(dtype), 88.8, -88.8, 89.4, -89.4],
    "Cosh": lambda dtype: [*edge_values(dtype), 88.8, -88.8, 89.4, -89.4],
    "ASin": lambda dtype: [-1.0, -0.75, -0.5, 0.0, 1e-30, float(np.finfo(dtype).tiny), 0.25, 0.9999999, 1.0],
    "ACos": lambda dtype: [-1.0, -0.75, -0.5, 0.0, 1e-30, float(np.finfo(dtype).tiny), 0.25, 0.9999999, 1.0],
    "ACosh": lambda dtype: [1.0, 1.0000001, 1.5, 2.0, 100.0, 1e4, 1e30],
    "ATanh": lambda dtype: [-1.0, -0.9999999, -0.5, 0.0, 1e-30, float(np.finfo(dtype).tiny), 0.5, 0.9999999, 1.0],
}


def domain_data(layer: str) -> Callable[[str], dict[str, np.ndarray]]:
    values = DOMAIN_VALUES.get(layer, edge_values)
    return lambda dtype: {"x": cycled(values(dtype), (4, 5))}


# --- cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    """One layer (named y) after Inputs of the given sizes, with its properties as YAML."""

    id: str
    type: str
    layer: str
    sizes: dict[str, tuple[int, ...]]
    props: dict[str, Any]  # the properties as the reference takes them (NNC's defaults spelled out)
    data: Callable[[str], dict[str, np.ndarray]] | None = None

    def spec_text(self, dtype: str) -> str:
        return layer_spec(dtype, self.type, self.sizes, self.layer)

    def inputs(self, dtype: str) -> dict[str, np.ndarray]:
        if self.data is not None:
            return self.data(dtype)
        return {
            name: cycled(edge_values(dtype), size, shift=3 * k) for k, (name, size) in enumerate(self.sizes.items())
        }


SAMPLE = {"x": (2, 3, 4)}


def product_data(dtype: str) -> dict[str, np.ndarray]:
    return {"x": cycled(PRODUCT_VALUES, (2, 3, 4))}


def props_of(layer: str, **given: Any) -> dict[str, Any]:
    return {**NNC_DEFAULTS.get(layer, {}), **given}


def yaml_of(**given: Any) -> str:
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return "[" + ", ".join(str(v) for v in value) + "]"
        return ".inf" if value == math.inf else repr(value)

    return ", ".join(f"{key}: {text(value)}" for key, value in given.items())


def case(layer: str, suffix: str = "", sizes=SAMPLE, data=None, **given: Any) -> Case:
    name = f"{layer}-{suffix or yaml_of(**given) or 'default'}"
    return Case(name, layer, yaml_of(**given), sizes, props_of(layer, **given), data)


CASES = [
    # the reductions: defaults, then properties off their defaults (every axes/keep_dims
    # combination is checked further below)
    *[case(layer) for layer in ("Sum", "Mean", "Max", "Min", "Norm")],
    case("Prod", data=product_data),
    case("Sum", axes=(0, 2), keep_dims=True),
    case("Mean", axes=(1,)),
    case("Mean", axes=(0, 1), keep_dims=True),
    case("Prod", axes=(2,), keep_dims=True, data=product_data),
    case("Prod", axes=(0, 1, 2), data=product_data),
    case("Max", axes=(1, 2), only_index=True),
    case("Min", axes=(0, 2), keep_dims=True, only_index=True),
    case("Max", axes=(2,), keep_dims=True),
    case("Norm", p=1.0, axes=(2,)),
    case("Norm", p=3.0, axes=(0, 1), keep_dims=True),
    case("Norm", p=2.5, axes=(1,)),
    case("Norm", p=math.inf, axes=(0, 2)),
    # running sums and products
    case("CumSum"),
    case("CumProd", data=product_data),
    *[
        case(layer, axis=axis, exclusive=exclusive, reverse=reverse, data=data)
        for layer, data in (("CumSum", None), ("CumProd", product_data))
        for axis in (1, 2)
        for exclusive in (False, True)
        for reverse in (False, True)
    ],
    case("CumSum", "1d", sizes={"x": (7,)}, axis=0, exclusive=True),
    # value by value
    *[case(layer, sizes={"x": (4, 5)}, data=domain_data(layer)) for layer in sorted(VALUE_LAYERS)],
    case("Sign", sizes={"x": (4, 5)}, data=domain_data("Sign"), alpha=0.5),
    case("Sign", sizes={"x": (4, 5)}, data=domain_data("Sign"), alpha=-3.0),
    *[case(layer, sizes={"x": (4, 5)}, data=domain_data(layer)) for layer in sorted(TRIGONOMETRIC_LAYERS)],
    # two inputs
    case("BatchMatmul", "3x4-by-4x5", sizes={"x": (2, 3, 4), "z": (2, 4, 5)}),
    case("BatchMatmul", "one-matrix", sizes={"x": (3, 4), "z": (4, 2)}),
    case("BatchMatmul", "broadcast-first", sizes={"x": (1, 3, 4), "z": (3, 4, 2)}),
    case("BatchMatmul", "broadcast-both", sizes={"x": (2, 1, 2, 3), "z": (1, 3, 3, 2)}),
    case("ATan2", "same", sizes={"x": (4, 5), "z": (4, 5)}),
    case("ATan2", "broadcast", sizes={"x": (4, 1), "z": (1, 5)}),
    case("ATan2", "signed-zeros", sizes={"x": (4,), "z": (4,)}, data=lambda dtype: ATAN2_ZEROS),
]
# atan2 on the axes: +-0 over +-1 and +-1 over +-0 (C's atan2 tells -0.0 from 0.0)
ATAN2_ZEROS = {
    "x": np.array([[0.0, -0.0, 0.0, -0.0], [1.0, -1.0, 1.0, -1.0]]),
    "z": np.array([[1.0, 1.0, -1.0, -1.0], [0.0, 0.0, -0.0, -0.0]]),
}
CASE_PARAMS = case_params(CASES)

SUM_LIKE = {"Sum", "Mean", "CumSum", "BatchMatmul"}
EXACT = {"Max", "Min", "Sign", "Round", "Ceil", "Floor"}


def test_every_layer_has_cases_and_every_property_a_non_default_value():
    assert {c.type for c in CASES} == THIS_TASK
    for layer, defaults in NNC_DEFAULTS.items():
        for prop, default in defaults.items():
            values = {c.props[prop] for c in CASES if c.type == layer}
            assert values - {default}, f"{layer}.{prop} is never given a value other than its default"


def run_case(c: Case, dtype: str):
    """Load and run a case with every RuntimeWarning an error."""
    data = c.inputs(dtype)
    spec, result = run_spec(c.spec_text(dtype), data)
    return spec, result, data


def in_dtype(expected: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # a reference beyond the dtype's range rounds to inf, as it should
        return expected.astype(dtype)


def assert_sum_close(got: np.ndarray, expected: np.ndarray, magnitude: np.ndarray, terms: int, dtype: str):
    """A sum of `terms` terms in the dtype: |got - exact| <= terms eps magnitude + the smallest
    normal number, magnitude being the sum of the terms' magnitudes; infinities exactly."""
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    expected = in_dtype(expected, dtype).astype(np.float64)
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(got[~finite], expected[~finite])
    bound = terms * float(np.finfo(dtype).eps) * magnitude + float(np.finfo(dtype).tiny)
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf: compared exactly above
        error = np.abs(got.astype(np.float64) - expected)
    bad = finite & ~(error <= bound)
    assert not bad.any(), f"errors {error[bad]} exceed {bound[bad]}"


def check_against_reference(c: Case, got: np.ndarray, inputs: list[np.ndarray], dtype: str) -> None:
    """Compare a layer's output with its reference under the tolerance its computation allows."""
    expected = REFERENCES[c.type](inputs, c.props)
    eps = float(np.finfo(dtype).eps)
    if c.type in EXACT:
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, in_dtype(expected, dtype))
    elif c.type in ("Sum", "Mean"):
        magnitude = REFERENCES[c.type]([np.abs(inputs[0])], c.props)
        terms = inputs[0].size // expected.size
        assert_sum_close(got, expected, magnitude, terms, dtype)
    elif c.type == "CumSum":
        line = {**c.props, "exclusive": False}  # every output's terms lie within its whole line
        magnitude = REFERENCES["CumSum"]([np.abs(inputs[0])], {**line, "reverse": False})
        magnitude = np.maximum(magnitude, REFERENCES["CumSum"]([np.abs(inputs[0])], {**line, "reverse": True}))
        assert_sum_close(got, expected, magnitude, inputs[0].shape[c.props["axis"] + 1], dtype)
    elif c.type == "BatchMatmul":
        magnitude = REFERENCES["BatchMatmul"]([np.abs(x) for x in inputs], c.props)
        assert_sum_close(got, expected, magnitude, inputs[0].shape[-1] + 1, dtype)
    elif c.type in ("Prod", "Norm"):
        terms = inputs[0].size // expected.size
        assert_close(got, expected, dtype, rtol=max(RTOL[dtype], (terms + 1) * eps))
    elif c.type == "CumProd":
        assert_close(got, expected, dtype, rtol=max(RTOL[dtype], (inputs[0].shape[c.props["axis"] + 1] + 1) * eps))
    else:
        assert_close(got, expected, dtype)


@pytest.mark.parametrize("c, dtype", CASE_PARAMS)
def test_layer_matches_reference(c: Case, dtype: str):
    spec, result, data = run_case(c, dtype)
    check_against_reference(c, result.outputs["y"], received(data, c.sizes, dtype), dtype)


@pytest.mark.parametrize("c, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(c: Case, dtype: str):
    spec, result, data = run_case(c, dtype)
    assert_shape_rule(spec, result.outputs["y"], len(next(iter(data.values()))))


def _call_forward(c: Case, dtype: str, data: dict[str, np.ndarray]) -> np.ndarray:
    return call_forward(c.spec_text(dtype), data, c.sizes, dtype)


@pytest.mark.parametrize("c, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(c: Case, dtype: str):
    """The runner silences numpy's warnings around every layer (the nan-inf check reports inf and
    nan itself), so a run cannot show whether a layer's numpy code warns. Here the catalog's
    forward function runs on the case's finite inputs in the layer's domain (its edges included:
    atanh(+-1) = +-inf) with overflow, invalid and divide-by-zero raised."""
    _call_forward(c, dtype, c.inputs(dtype))


def huge_data(c: Case, dtype: str) -> dict[str, np.ndarray]:
    """The dtype's largest finite values beside 0, the smallest normal number and moderate values:
    sums, products and norms of them reach beyond the dtype's range, or come back into it."""
    big, tiny = float(np.finfo(dtype).max), float(np.finfo(dtype).tiny)
    values = [big, -big, big / 2, 0.0, tiny, -tiny, 1e4, -1.0, 0.5]
    return {name: cycled(values, size, shift=3 * k) for k, (name, size) in enumerate(c.sizes.items())}


@pytest.mark.parametrize("c, dtype", CASE_PARAMS)
def test_largest_finite_inputs_give_reference_results_without_warning(c: Case, dtype: str):
    """Outside any domain too: numpy must not warn (nan and inf are the nan-inf check's to report),
    and reductions must not overflow where the exact result is in range: a sum of max, max and
    -max is max, a norm of values near max is finite, max * max * 0 is 0."""
    data = huge_data(c, dtype)
    got = _call_forward(c, dtype, data)  # raises on any numpy warning
    if c.type == "CumProd":
        return  # a running product that overflows and comes back: by hand below
    check_against_reference(c, got, received(data, c.sizes, dtype), dtype)


# --- every axes / keep_dims combination of the reductions ----------------------------------------

ALL_AXES = [(), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2), (2, 0), (2, 1, 0)]  # the last two unsorted
REDUCTION_VARIANTS = [
    ("Sum", {}),
    ("Mean", {}),
    ("Prod", {}),
    ("Max", {"only_index": False}),
    ("Max", {"only_index": True}),
    ("Min", {"only_index": False}),
    ("Min", {"only_index": True}),
    ("Norm", {"p": 2.0}),
    ("Norm", {"p": 1.5}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer, given", REDUCTION_VARIANTS, ids=lambda v: yaml_of(**v) if isinstance(v, dict) else v)
def test_reductions_over_every_axes_and_keep_dims_combination(layer: str, given: dict[str, Any], dtype: str):
    """One spec holding the layer once per combination (a (2, 3, 4) sample, batch 2), each output
    against the reference's explicit loops, and its inferred shape against the real one."""
    combos = [(axes, keep) for axes in ALL_AXES for keep in (False, True)]
    lines = ["nnspec: 1", f"dtype: {dtype}", "layers:", "  - {name: x, type: Input, size: [2, 3, 4]}"]
    cases = {}
    for k, (axes, keep) in enumerate(combos):
        props = {**given, "axes": axes, "keep_dims": keep}
        cases[f"y{k}"] = Case(f"y{k}", layer, yaml_of(**props), SAMPLE, props_of(layer, **props))
        lines.append(f"  - {{name: y{k}, type: {layer}, input: x, {yaml_of(**props)}}}")
    lines.append("outputs: [" + ", ".join(cases) + "]")
    data = product_data(dtype) if layer == "Prod" else {"x": cycled(edge_values(dtype), (2, 3, 4))}
    spec = nnspec.loads("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = nnspec.run(spec, data)
    x = np.asarray(data["x"]).astype(dtype).astype(np.float64)
    for name, c in cases.items():
        got = result.outputs[name]
        assert spec.layers[name].shape == got.shape[1:], c.layer
        try:
            check_against_reference(c, got, [x], dtype)
        except AssertionError as error:
            raise AssertionError(f"{layer} with {c.layer}: {error}") from None


# --- nnabla's semantics by hand -----------------------------------------------------------------


def _forward(layer: str, arrays: list[np.ndarray], **props: Any) -> np.ndarray:
    entry = nnspec.layer_types()[layer]
    props = {p.name: p.normalize(props.get(p.name, p.default)) for p in entry.properties}
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        return entry.forward(arrays, props, {})


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_takes_halves_away_from_zero_as_nnabla_does(dtype):
    """nnabla's Round is C's round: 2.5 -> 3 and -2.5 -> -3, where numpy's round gives 2 and -2;
    and the largest value below 0.5 rounds to 0 (adding 0.5 first would round it up to 1)."""
    below_half = float(np.nextafter(np.array(0.5, dtype=dtype), 0))
    x = np.array([[0.5, 1.5, 2.5, -0.5, -2.5, 3.5, below_half, -below_half, 0.0]], dtype=dtype)
    expected = np.array([[1, 2, 3, -1, -3, 4, 0, 0, 0]], dtype=dtype)
    np.testing.assert_array_equal(_forward("Round", [x]), expected)
    np.testing.assert_array_equal(np.round(x[:, :3]), [[0, 2, 2]])  # numpy's, for contrast


@pytest.mark.parametrize("dtype", DTYPES)
def test_sign_of_zero_is_alpha_whose_nnc_default_is_0(dtype):
    """NNC's Alpha defaults to 0.0 (nnabla's function to 1.0); NaN also gets alpha in nnabla."""
    x = np.array([[-2.0, -0.0, 0.0, 1e-30, np.nan]], dtype=dtype)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(_forward("Sign", [x]), [[-1, 0, 0, 1, 0]])
        np.testing.assert_array_equal(_forward("Sign", [x], alpha=1.0), [[-1, 1, 1, 1, 1]])


def test_max_and_min_index_is_row_major_within_the_reduced_axes():
    """Over axes 0 and 2 of a (2, 3, 2) sample the index runs over (axis 0, axis 2) row-major,
    with ties going to the first position, as nnabla transposes the reduced axes last."""
    x = np.zeros((1, 2, 3, 2))
    x[0, 1, 0, 1] = 5.0  # axis 0 at 1, axis 2 at 1: index 1 * 2 + 1 = 3
    x[0, 0, 2, 0] = 7.0  # axis 0 at 0, axis 2 at 0: index 0
    x[0, 1, 2, 1] = 7.0  # a tie, later in the row-major order: index 3, not taken
    x[0, 0, 1, 1] = -4.0  # axis 0 at 0, axis 2 at 1: index 1
    got = _forward("Max", [x], axes=[0, 2], only_index=True)
    np.testing.assert_array_equal(got, [[3.0, 0.0, 0.0]])  # at axis-1 position 1 the first 0 wins
    got = _forward("Min", [x], axes=[2, 0], only_index=True, keep_dims=True)  # the same, axes in any order
    np.testing.assert_array_equal(got, [[[[0.0], [1.0], [1.0]]]])
    assert got.dtype == x.dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_reductions_do_not_overflow_where_the_result_is_in_range(dtype):
    big = float(np.finfo(dtype).max)
    x = np.array([[big, big, -big, 0.5]], dtype=dtype)
    assert _forward("Sum", [x])[0] == np.float64(big + 0.5).astype(dtype)  # big + big overflows on its own
    assert _forward("Mean", [x])[0] == np.array((big + 0.5) / 4, dtype=dtype)
    assert _forward("Sum", [x[:, :2]])[0] == np.inf  # the total itself is beyond the range: inf, silently
    assert _forward("Prod", [np.array([[big, big, 0.0, 2.0]], dtype=dtype)])[0] == 0  # not inf * 0 = nan
    assert _forward("Prod", [np.array([[big, 4.0, 0.25, 0.5]], dtype=dtype)])[0] == np.array(big / 2, dtype=dtype)
    # nnabla raises |i| to p before summing, which overflows here; the norm is 1.41421 x 1e20
    norm = _forward("Norm", [np.array([[1e20, -1e20]], dtype=dtype)])[0]
    assert norm == pytest.approx(math.sqrt(2) * 1e20, rel=RTOL[dtype])
    assert _forward("Norm", [np.array([[3.0, -4.0, 0.0]], dtype=dtype)], p=math.inf)[0] == 4.0
    # the largest magnitude of a slice of zeros is 0 (the sum's form gave 0^0 = 1), of an infinity inf
    assert _forward("Norm", [np.zeros((1, 3), dtype=dtype)], p=math.inf)[0] == 0.0
    assert _forward("Norm", [np.array([[1.0, -np.inf, 0.0]], dtype=dtype)], p=math.inf)[0] == np.inf
    assert _forward("Norm", [np.zeros((1, 3), dtype=dtype)], p=2.0)[0] == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_running_product_through_overflow_and_zero(dtype):
    """In order, as nnabla multiplies: max * max overflows to inf (the product is beyond the
    range), and a later zero makes the running product 0, not inf * 0 = nan."""
    big = float(np.finfo(dtype).max)
    x = np.array([[big, big, 0.0, 5.0]], dtype=dtype)
    np.testing.assert_array_equal(_forward("CumProd", [x]), [[big, np.inf, 0.0, 0.0]])
    np.testing.assert_array_equal(_forward("CumProd", [x], exclusive=True), [[1.0, big, np.inf, 0.0]])
    np.testing.assert_array_equal(_forward("CumProd", [x], reverse=True), [[0.0, 0.0, 0.0, 5.0]])


def test_cumulative_layers_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(_forward("CumSum", [x]), [[1, 3, 6, 10]])
    np.testing.assert_array_equal(_forward("CumSum", [x], exclusive=True), [[0, 1, 3, 6]])
    np.testing.assert_array_equal(_forward("CumSum", [x], reverse=True), [[10, 9, 7, 4]])
    np.testing.assert_array_equal(_forward("CumSum", [x], exclusive=True, reverse=True), [[9, 7, 4, 0]])
    np.testing.assert_array_equal(_forward("CumProd", [x], exclusive=True, reverse=True), [[24, 12, 4, 1]])


def test_batch_matmul_by_hand_with_broadcast_leading_axes():
    """A (1, 2, 2) sample times a (2, 2, 1) sample: the first's one matrix meets both of the second's."""
    a = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    b = np.array([[[[1.0], [0.0]], [[0.0], [1.0]]]])
    got = _forward("BatchMatmul", [a, b])
    np.testing.assert_array_equal(got, [[[[1.0], [3.0]], [[2.0], [4.0]]]])


def test_atan2_by_hand():
    """o = atan2(i0, i1): i0 is the y coordinate, i1 the x coordinate, as std::atan2(x0, x1)."""
    got = _forward("ATan2", [np.array([[1.0, 1.0, -1.0, 0.0]]), np.array([[1.0, -1.0, -1.0, -2.0]])])
    np.testing.assert_allclose(got, [[math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4, math.pi]], rtol=1e-15)


def test_sinh_and_cosh_overflow_is_reported_by_nan_inf_not_by_the_exp_overflow_check():
    """sinh and cosh overflow past |i| = asinh(max) = ln(2 max): 89.42 in float32, on both sides,
    where the exp-overflow check (for exp(i), above ln(max) = 88.72) would report 88.72..89.42
    wrongly and miss negative inputs. So they do not claim exp_overflows; the nan-inf check
    reports the infinities they produce from finite inputs."""
    types = nnspec.layer_types()
    assert not types["Sinh"].exp_overflows and not types["Cosh"].exp_overflows
    x = np.array([[89.4, -89.4, 89.42, -89.42]], dtype=np.float32)
    np.testing.assert_array_equal(np.isinf(_forward("Sinh", [x])), [[False, False, True, True]])
    np.testing.assert_array_equal(_forward("Cosh", [x])[0, 2:], [np.inf, np.inf])
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: sinh, type: Sinh, input: x}\n  - {name: cosh, type: Cosh, input: x}\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = nnspec.run(spec, {"x": np.array([[89.0, -89.0, 0.5, 1.0], [100.0, -100.0, 0.5, 1.0]])})
    checks = {(f.layer, f.check) for f in result.findings}
    assert {("sinh", "nan-inf"), ("cosh", "nan-inf")} <= checks
    assert not {check for _, check in checks if check == "exp-overflow"}


@pytest.mark.parametrize(
    "layer, values, bad",
    [
        ("Log", [0.0, -1.0, 1.0], "2 of 3 inputs (67%) are <= 0"),  # log-domain says why, in nan-inf's place
        ("ASin", [2.0, -1.5, 0.5], "2 NaN"),
        ("ACos", [1.0000001, 0.5, 0.0], "1 NaN"),
        ("ACosh", [0.5, 1.0, 2.0], "1 NaN"),
        ("ATanh", [1.0, -1.0, 2.0], "1 NaN, 1 +Inf, 1 -Inf"),
    ],
)
def test_out_of_domain_inputs_give_nan_or_inf_reported_by_the_nan_inf_check(layer, values, bad):
    """Outside its domain a layer gives what numpy (and C, in nnabla) give, without a numpy
    warning; the nan-inf check names the layer and counts the values."""
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n  - {{name: y, type: {layer}}}\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = nnspec.run(spec, {"x": np.array([values])})
    (finding,) = [f for f in result.findings if f.check in ("nan-inf", "log-domain")]
    assert finding.layer == "y" and bad in finding.message
    assert finding.check == ("log-domain" if layer == "Log" else "nan-inf")
    expected = REFERENCES[layer]([np.array([values], dtype=np.float32).astype(np.float64)], {})
    np.testing.assert_allclose(result.outputs["y"], expected.astype(np.float32), rtol=1e-6)


# --- invalid properties and shapes ---------------------------------------------------------------


def _error(text: str) -> str:
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(text)
    return str(caught.value)


def one_input(layer: str, size: list[int] | None = None) -> str:
    size = size or [2, 3, 4]
    return f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n  - {{name: y, type: {layer}}}\n"


@pytest.mark.parametrize("layer", sorted(REDUCTION_LAYERS))
@pytest.mark.parametrize(
    "axes, says",
    [
        ("[3]", "axes holds 3, out of range"),
        ("[-1]", "nnabla takes no negative axes"),
        ("[1, 1]", "axes names axis 1 twice"),
        ("[0, 2, 0]", "axes names axis 0 twice"),
    ],
)
def test_reduction_axes_out_of_range_or_repeated_are_errors_naming_the_layer(layer, axes, says):
    message = _error(one_input(f"{layer}, axes: {axes}"))
    assert f"'y' ({layer})" in message and says in message


@pytest.mark.parametrize(
    "layer, props, says",
    [
        ("Sum", "axes: 1.5", "must be an integer or a list of integers"),
        ("Mean", "keep_dims: 1", "must be true or false"),
        ("Max", "only_index: 3", "must be true or false"),
        ("Norm", "p: 0.5", "p >= 1"),
        ("Norm", "p: -2", "p >= 1"),
        ("Norm", "p: .nan", "p >= 1"),
        ("CumSum", "axis: 3", "axis 3 is out of range"),
        ("CumProd", "axis: -1", "must be an integer >= 0"),
        ("CumSum", "exclusive: maybe", "must be true or false"),
        ("CumProd", "reverse: 2", "must be true or false"),
        ("Sign", "alpha: abc", "must be a number"),
        ("Max", "KeepDims: true", "NNC's 'KeepDims' is written 'keep_dims: true' in nnspec"),
        ("Norm", "P: 3", "NNC's 'P' is written 'p: 3' in nnspec"),
        ("CumSum", "Exclusive: true", "NNC's 'Exclusive' is written 'exclusive: true' in nnspec"),
    ],
)
def test_invalid_property_values_are_errors_naming_the_layer(layer, props, says):
    message = _error(one_input(f"{layer}, {props}"))
    assert f"'y' ({layer})" in message and says in message


def test_a_reduction_of_a_sample_reduced_to_one_value_says_so():
    text = one_input("Sum, axes: [0]", [4]) + "  - {name: z, type: Sum, axes: [0]}\n"
    assert "no axis left to reduce" in _error(text)


def two_inputs(layer: str, a: list[int], b: list[int]) -> str:
    return (
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {a}}}\n  - {{name: z, type: Input, size: {b}}}\n"
        f"  - {{name: y, type: {layer}, input: [x, z]}}\n"
    )


@pytest.mark.parametrize(
    "a, b, says",
    [
        ([3, 4], [5, 2], "3x4 matrices and the second 5x2"),
        ([4], [4, 2], "at least 2 axes"),
        ([2, 3, 4], [4, 5], "the inputs have 3 axes and 2 axes"),
        ([2, 3, 4], [3, 4, 5], "do not broadcast"),
    ],
)
def test_batch_matmul_refuses_shapes_it_cannot_multiply(a, b, says):
    message = _error(two_inputs("BatchMatmul", a, b))
    assert "'y' (BatchMatmul)" in message and says in message


@pytest.mark.parametrize("a, b", [([3], [4]), ([2, 3], [3]), ([2, 3], [3, 2])])
def test_atan2_refuses_shapes_that_do_not_broadcast(a, b):
    message = _error(two_inputs("ATan2", a, b))
    assert "'y' (ATan2)" in message and "do not broadcast" in message


@pytest.mark.parametrize("layer", sorted(TWO_INPUT_LAYERS))
def test_two_input_layers_take_exactly_two_inputs(layer):
    assert "takes exactly 2 inputs" in _error(one_input(layer, [3, 3]))


# --- static analysis ----------------------------------------------------------------------------

ESTIMATED = """
nnspec: 1
layers:
  - {name: x, type: Input, size: [8, 16], generator: Normal}
  - {name: u, type: Input, size: [16, 4], generator: Uniform}
  - {name: total, type: Sum, input: x, axes: [1]}
  - {name: average, type: Mean, input: x, axes: [0, 1]}
  - {name: product, type: BatchMatmul, input: [x, u]}
"""


def test_estimates_follow_a_real_run():
    """Sum, Mean and BatchMatmul estimated without data (their values taken as independent, as they
    are here) against 4000 generated samples: 5% on the std, 0.05 std on the mean."""
    spec = nnspec.loads(ESTIMATED)
    guessed = estimates(spec)
    real = nnspec.run(spec, samples=4000).stats
    for name in ("total", "average", "product"):
        out = real[name].output
        assert guessed[name].std == pytest.approx(out.std, rel=0.05), name
        assert guessed[name].mean == pytest.approx(out.mean, abs=0.05 * out.std), name


# Each value-by-value layer after an Input declared within its domain.
ELEMENTWISE_RANGES = {layer: (-0.9, 0.9) for layer in sorted(VALUE_LAYERS | TRIGONOMETRIC_LAYERS)}
# cos and cosh where they are monotonic: the estimate's bounds come from the quadrature nodes and
# the range's ends, which bound a monotonic function only
ELEMENTWISE_RANGES.update(
    {"Log": (0.1, 10.0), "ACosh": (1.0, 10.0), "Sinh": (-5.0, 5.0), "Cos": (0.1, 3.0), "Cosh": (0.5, 5.0)}
)


def test_estimates_pass_through_every_value_by_value_layer_within_its_bounds():
    """The static analysis runs each elementwise layer's own forward on its input's estimate: the
    bounds it finds hold every value of a real run of inputs spread over the declared range."""
    lines = ["nnspec: 1", "layers:"]
    for layer, (low, high) in ELEMENTWISE_RANGES.items():
        lines.append(f"  - {{name: in_{layer}, type: Input, size: [50], range: [{low}, {high}]}}")
        lines.append(f"  - {{name: out_{layer}, type: {layer}, input: in_{layer}}}")
    spec = nnspec.loads("\n".join(lines) + "\n")
    guessed = estimates(spec)
    rng = np.random.default_rng(0)
    data = {f"in_{layer}": rng.uniform(low, high, (200, 50)) for layer, (low, high) in ELEMENTWISE_RANGES.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = nnspec.run(spec, data)
    for layer in ELEMENTWISE_RANGES:
        estimate, out = guessed[f"out_{layer}"], result.outputs[f"out_{layer}"]
        assert estimate is not None and np.isfinite(estimate.mean), layer
        assert estimate.low <= out.min() and out.max() <= estimate.high, layer
