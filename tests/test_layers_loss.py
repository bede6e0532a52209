"""The Loss and Validation layers added beside BinaryCrossEntropy and SquaredError, each checked
against an independent reference.

The references never call nnspec: they apply nnabla's definitions (functions.yaml and the CPU
kernels in src/nbla/function/generic) value by value in float64 with Python's ``math`` (and
scipy.special.log_expit for SigmoidCrossEntropy), with explicit loops over small arrays; a few
tests check values worked by hand. Each layer runs through the public API (``nnspec.loads`` +
``nnspec.run``) in float32 and float64.

Tolerances (``assert_close``): |got - ref| <= rtol |ref| + k eps S + tiny, where eps is the
dtype's machine epsilon (float32 1.19e-7, float64 2.2e-16) and tiny its smallest normal number.

* rtol is 1e-6 in float32 (about 8 ulp) and 1e-12 in float64: a loss computed value by value
  carries a few roundings of at most about 1 ulp each (a subtraction, a square, exp, log1p, the
  rounding of the float64 reference to the dtype). A wrong formula, branch or axis is off by far more.
* k eps S bounds the absolute error of cancellation, where a result is a small difference of
  larger terms; S is the size of those terms (textbook forward error analysis: a sum of K terms
  computed in floating point is off by at most about K eps times the sum of their magnitudes):
  - EpsilonInsensitiveLoss: |i - t| - epsilon: S = |i - t| + |epsilon|, k = 1 (two roundings of eps/2).
  - SigmoidCrossEntropy: i ([i >= 0] - t) + ln(1 + exp(-|i|)) with a target other than 0 or 1 cancels:
    S = |i| (1 + 2|t|) + 1, k = 2.
  - SoftmaxCrossEntropy: i_j - max is rounded (an error up to |i_j - max| eps / 2) and exp turns
    that into the same relative error, weighted by each class's probability p_j in the sum:
    S = |i_t - max| + sum_j p_j |i_j - max| + K, k = 2 (K classes: the summation's own rounding).
  - KLMultinomial: each term p (ln(p + 1e-8) - ln(q + 1e-8)) is off by about eps |p| (|ln a| + |ln b| + 2),
    and summing K terms multiplies by up to K: S = sum_j |p_j| (1 + |ln a_j| + |ln b_j|), k = K + 3.
* BinaryError and TopNError give 0, 1 or NaN: compared exactly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import scipy.special

import nnspec
from nnspec.core.diagnostics import SpecError

from .layer_harness import (
    DTYPES,
    RTOL,
    as_received,
    assert_error_within,
    assert_shape_rule,
    case_params,
    forward_raising,
    layer_spec,
    nnabla_layers,
    run_spec,
)

# The layer types this module adds to the catalog (BinaryCrossEntropy and SquaredError are tested in
# tests/test_layers.py).
LAYERS = {
    "HuberLoss",
    "AbsoluteError",
    "EpsilonInsensitiveLoss",
    "SigmoidCrossEntropy",
    "CategoricalCrossEntropy",
    "SoftmaxCrossEntropy",
    "KLMultinomial",
    "BinaryError",
    "TopNError",
}

# NNC's layer reference (nnc-layer-defaults.txt): category, properties and their defaults, target name.
NNC = {
    "HuberLoss": ("Loss", {"delta": 1.0}, "T"),
    "AbsoluteError": ("Loss", {}, "T"),
    "EpsilonInsensitiveLoss": ("Loss", {"epsilon": 0.0}, "T"),
    "SigmoidCrossEntropy": ("Loss", {}, "T"),
    "CategoricalCrossEntropy": ("Loss", {"axis": 0}, "T"),
    "SoftmaxCrossEntropy": ("Loss", {"axis": 0}, "T"),
    "KLMultinomial": ("Loss", {"base_axis": 0}, "q"),
    "BinaryError": ("Validation", {}, "T"),
    "TopNError": ("Validation", {"axis": 0, "n": 1}, "T"),
}


# --- independent references -------------------------------------------------------------------------
#
# Each takes (x, t) as float64 arrays holding exactly the values nnspec receives (batch axis first),
# the layer's properties as NNC names them (the test spells out NNC's defaults), and "tiny", the
# spec dtype's smallest normal number, or "eps8", nnabla's 1e-8 in the spec's dtype.


def _each(x: np.ndarray, t: np.ndarray, fn: Callable[[float, float], float]) -> np.ndarray:
    """fn applied to every pair of values, in a Python loop."""
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        out[index] = fn(float(x[index]), float(t[index]))
    return out


def _positions(x: np.ndarray, axis: int):
    """Each position of the output (the input's shape with 1 along axis) and the values along axis there."""
    out_shape = list(x.shape)
    out_shape[axis] = 1
    for index in np.ndindex(*out_shape):
        row = []
        for j in range(x.shape[axis]):
            at = list(index)
            at[axis] = j
            row.append(float(x[tuple(at)]))
        yield index, row


def _per_label(x: np.ndarray, t: np.ndarray, axis: int, value: Callable[[list[float], int], float]) -> np.ndarray:
    """The classification losses' common walk: at each output position (1 along axis), value(the
    values along axis, the label there truncated to an int as nnabla's kernels read it)."""
    out_shape = list(x.shape)
    out_shape[axis] = 1
    out = np.empty(out_shape)
    for index, row in _positions(x, axis):
        out[index] = value(row, math.trunc(float(t[index])))
    return out


def ref_huber_loss(inputs, props):
    """nnabla: d^2 where |d| < delta, else delta (2|d| - delta), d = x - t."""
    delta = props["delta"]

    def f(a: float, b: float) -> float:
        d = abs(a - b)
        return d * d if d < delta else delta * (2 * d - delta)

    return _each(*inputs, f)


def ref_absolute_error(inputs, props):
    return _each(*inputs, lambda a, b: abs(a - b))


def ref_epsilon_insensitive_loss(inputs, props):
    """nnabla: |d| - epsilon where |d| > epsilon, else 0."""
    epsilon = props["epsilon"]
    return _each(*inputs, lambda a, b: abs(a - b) - epsilon if abs(a - b) > epsilon else 0.0)


def ref_sigmoid_cross_entropy(inputs, props):
    """-(t ln(sigmoid(x)) + (1 - t) ln(1 - sigmoid(x))), with ln(sigmoid) from scipy's log_expit
    (accurate for every float64 input) and t truncated toward 0, as nnabla reads it as int32."""
    x, t = inputs
    label = np.array([math.trunc(v) for v in t.ravel()], dtype=np.float64).reshape(t.shape)
    return -(label * scipy.special.log_expit(x) + (1 - label) * scipy.special.log_expit(-x))


def ref_categorical_cross_entropy(inputs, props):
    """nnabla's kernel: label = int(t); label < 0 gives 0; else -ln(max(x[label], tiny)).
    A label past the last class (out of bounds in nnabla) is expected as NaN."""
    tiny = props["tiny"]

    def loss(row: list[float], label: int) -> float:
        if label < 0:
            return 0.0
        if label >= len(row):
            return math.nan
        return -math.log(max(row[label], tiny))

    return _per_label(*inputs, props["axis"] + 1, loss)


def ref_softmax_cross_entropy(inputs, props):
    """nnabla's kernel (softmax_cross_entropy.cpp on log_softmax.cpp): -(i_t - m - ln(sum_j exp(i_j - m))),
    m the largest, with no clamp; here in float64 with math.exp and math.fsum. A negative label is
    ignored (loss 0); a label past the last class is expected as NaN."""

    def loss(row: list[float], label: int) -> float:
        if label < 0:
            return 0.0
        if label >= len(row):
            return math.nan
        top = max(row)
        return math.log(math.fsum(math.exp(v - top) for v in row)) - (row[label] - top)

    return _per_label(*inputs, props["axis"] + 1, loss)


def ref_kl_multinomial(inputs, props):
    """nnabla's kernel: sum_j p_j (ln(p_j + 1e-8) - ln(q_j + 1e-8)) over the axes from base_axis on."""
    p, q = inputs
    split = props["base_axis"] + 1
    out = np.empty((*p.shape[:split], 1))
    for index in np.ndindex(*p.shape[:split]):
        terms = [
            float(p[index][j])
            * (math.log(float(p[index][j]) + props["eps8"]) - math.log(float(q[index][j]) + props["eps8"]))
            for j in np.ndindex(p.shape[split:])
        ]
        out[(*index, 0)] = math.fsum(terms)
    return out


def ref_binary_error(inputs, props):
    """nnabla's kernel: (x >= 0.5) != (t >= 0.5)."""
    return _each(*inputs, lambda a, b: float((a >= 0.5) != (b >= 0.5)))


def ref_top_n_error(inputs, props):
    """nnabla's kernel: count the values along axis >= the label's (itself and ties included); the
    error is count > n. A label outside 0 .. classes - 1 is expected as NaN."""
    n = props["n"]

    def error(row: list[float], label: int) -> float:
        if not 0 <= label < len(row):
            return math.nan
        count = sum(1 for v in row if v >= row[label])
        return 1.0 if count > n else 0.0

    return _per_label(*inputs, props["axis"] + 1, error)


REFERENCES: dict[str, Callable[[list[np.ndarray], dict[str, Any]], np.ndarray]] = {
    "HuberLoss": ref_huber_loss,
    "AbsoluteError": ref_absolute_error,
    "EpsilonInsensitiveLoss": ref_epsilon_insensitive_loss,
    "SigmoidCrossEntropy": ref_sigmoid_cross_entropy,
    "CategoricalCrossEntropy": ref_categorical_cross_entropy,
    "SoftmaxCrossEntropy": ref_softmax_cross_entropy,
    "KLMultinomial": ref_kl_multinomial,
    "BinaryError": ref_binary_error,
    "TopNError": ref_top_n_error,
}


# --- data -----------------------------------------------------------------------------------------------


def _cycle(values: list[float], shape: tuple[int, ...], step: int = 7, shift: int = 0) -> np.ndarray:
    """A float64 array of shape filled with values, taken every step-th, cyclically."""
    count = math.prod(shape)
    return np.array([values[(k * step + shift) % len(values)] for k in range(count)], dtype=np.float64).reshape(shape)


def _tiny(dtype: str) -> float:
    return float(np.finfo(dtype).tiny)


def real_values(dtype: str) -> list[float]:
    """Edge values for losses on any real numbers: 0, tiny ones, values near 1, the saturation and
    overflow limits of the range-checks reference (16.7, 36.8, 88.8, 104) and the large +-1e4."""
    base = [0.0, 1e-30, _tiny(dtype), 0.25, 0.5, 1.0, 1.5, 2.5, 3.0, 16.7, 36.8, 88.8, 100.0, 104.0, 1e4]
    return base + [-v for v in base[1:]]


def probability_values(dtype: str) -> list[float]:
    """Probabilities at and between the ends; 1e-30 (normal in both dtypes), 1e-40 (subnormal in
    float32, where nnabla's clamp applies), 1e-310 (subnormal in float64), 0, and a few values outside
    0..1 (the clamp takes a negative one as tiny)."""
    return [0.0, 1.0, 0.5, 1e-30, 1e-40, 1e-310, _tiny(dtype), 0.25, 0.75, 1e-3, 0.9, 0.1, 1 - 1e-7, -0.5, 1.5]


def logit_values(dtype: str) -> list[float]:
    base = [0.0, 1e-30, _tiny(dtype), 0.5, 1.0, 2.65, 4.6, 9.0, 16.7, 20.0, 36.8, 88.8, 104.0, 1e4]
    return base + [-v for v in base[1:]]


def labels_for(classes: int) -> list[float]:
    """Class indices: each class, values that truncate to one (1.9 -> 1, -0.5 -> 0, as nnabla's int
    cast), negative ones (-1, -3), and the first past the last class."""
    return [*range(classes), 1.9, -0.5, -1.0, float(classes), 0.0, -3.0, classes - 0.5]


BINARY_TARGETS = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]


# --- cases --------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One configuration: Input x of shape size, the layer y of type with props (YAML, without
    name/type/input), its target bound to data variable t, and data for both."""

    id: str
    type: str
    layer: str
    size: tuple[int, ...]
    data: Callable[[str], tuple[np.ndarray, np.ndarray]]  # dtype -> (x, t), batch axis first
    ref_props: dict[str, Any] = field(default_factory=dict)

    def spec_text(self, dtype: str) -> str:
        target = NNC[self.type][2]
        props = f"{target}: {{dataset: t}}" + (f", {self.layer}" if self.layer else "")
        return layer_spec(dtype, self.type, {"x": self.size}, props, seed=False)


def _pairwise(values: Callable[[str], list[float]], targets: Callable[[str], list[float]], shape):
    def make(dtype: str) -> tuple[np.ndarray, np.ndarray]:
        return _cycle(values(dtype), (2, *shape)), _cycle(targets(dtype), (2, *shape), step=5, shift=3)

    return make


def _classes(values: Callable[[str], list[float]], shape: tuple[int, ...], axis: int):
    """x of shape (2, *shape) and class-index targets with 1 along axis."""
    target_shape = list(shape)
    target_shape[axis] = 1

    def make(dtype: str) -> tuple[np.ndarray, np.ndarray]:
        x = _cycle(values(dtype), (2, *shape))
        t = _cycle(labels_for(shape[axis]), (2, *target_shape), step=3, shift=1)
        return x, t

    return make


def _top_n_data(shape: tuple[int, ...], axis: int):
    """Scores with ties (0.5 twice, 0 twice) and extremes, against class-index targets."""
    scores = [0.1, 0.5, 0.5, 0.2, 1e4, -1e4, 0.0, 0.0, 0.3, -0.5, 104.0, 1e-30]
    return _classes(lambda dtype: scores, shape, axis)


def _kl_data(shape: tuple[int, ...]):
    def make(dtype: str) -> tuple[np.ndarray, np.ndarray]:
        values = [0.0, 1.0, 0.5, 1e-30, _tiny(dtype), 0.25, 0.75, 1e-3, 0.1, 0.9, 1e-8, 2e-8, 0.3]
        return _cycle(values, (2, *shape)), _cycle(values, (2, *shape), step=5, shift=2)

    return make


def _binary_error_data(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    below_half = float(np.nextafter(np.array(0.5, dtype), np.array(0.0, dtype)))  # just below 0.5 in the dtype
    x = [0.0, 0.5, below_half, 0.75, 1.0, -1.0, 1e4, -1e4, 0.25, _tiny(dtype), 1e-30, 0.5]
    t = [0.0, 1.0, 0.5, below_half, 0.7, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5, 0.0]
    return _cycle(x, (2, 3, 4), step=1), _cycle(t, (2, 3, 4), step=5, shift=1)


CASES = [
    Case("HuberLoss-default", "HuberLoss", "", (3, 4), _pairwise(real_values, real_values, (3, 4)), {"delta": 1.0}),
    Case(
        "HuberLoss-delta0.25",
        "HuberLoss",
        "delta: 0.25",
        (12,),
        _pairwise(real_values, real_values, (12,)),
        {"delta": 0.25},
    ),
    Case(
        "HuberLoss-delta100",
        "HuberLoss",
        "delta: 100",
        (3, 4),
        _pairwise(real_values, real_values, (3, 4)),
        {"delta": 100.0},
    ),
    Case(
        "HuberLoss-delta0", "HuberLoss", "delta: 0", (3, 4), _pairwise(real_values, real_values, (3, 4)), {"delta": 0.0}
    ),
    Case("AbsoluteError", "AbsoluteError", "", (3, 4), _pairwise(real_values, real_values, (3, 4))),
    Case(
        "EpsilonInsensitiveLoss-default",
        "EpsilonInsensitiveLoss",
        "",
        (3, 4),
        _pairwise(real_values, real_values, (3, 4)),
        {"epsilon": 0.0},
    ),
    Case(
        "EpsilonInsensitiveLoss-eps0.5",
        "EpsilonInsensitiveLoss",
        "epsilon: 0.5",
        (12,),
        _pairwise(real_values, real_values, (12,)),
        {"epsilon": 0.5},
    ),
    Case(
        "EpsilonInsensitiveLoss-eps100",
        "EpsilonInsensitiveLoss",
        "epsilon: 100",
        (3, 4),
        _pairwise(real_values, real_values, (3, 4)),
        {"epsilon": 100.0},
    ),
    Case(
        "SigmoidCrossEntropy-binary",
        "SigmoidCrossEntropy",
        "",
        (3, 9),
        _pairwise(logit_values, lambda dtype: BINARY_TARGETS, (3, 9)),
    ),
    Case(
        "SigmoidCrossEntropy-truncated-targets",
        "SigmoidCrossEntropy",
        "",
        (2, 5),
        _pairwise(logit_values, lambda dtype: [0.7, -0.5, 1.9, 2.0, 0.0, 1.0, 0.999], (2, 5)),
    ),
    Case(
        "CategoricalCrossEntropy-default",
        "CategoricalCrossEntropy",
        "",
        (4, 3),
        _classes(probability_values, (4, 3), 0),
        {"axis": 0},
    ),
    Case(
        "CategoricalCrossEntropy-axis1",
        "CategoricalCrossEntropy",
        "axis: 1",
        (3, 5),
        _classes(probability_values, (3, 5), 1),
        {"axis": 1},
    ),
    Case(
        "CategoricalCrossEntropy-3d-axis2",
        "CategoricalCrossEntropy",
        "axis: 2",
        (2, 2, 3),
        _classes(probability_values, (2, 2, 3), 2),
        {"axis": 2},
    ),
    Case(
        "SoftmaxCrossEntropy-default",
        "SoftmaxCrossEntropy",
        "",
        (4, 3),
        _classes(logit_values, (4, 3), 0),
        {"axis": 0},
    ),
    Case(
        "SoftmaxCrossEntropy-axis1",
        "SoftmaxCrossEntropy",
        "axis: 1",
        (3, 5),
        _classes(logit_values, (3, 5), 1),
        {"axis": 1},
    ),
    Case(
        "SoftmaxCrossEntropy-1d", "SoftmaxCrossEntropy", "axis: 0", (6,), _classes(logit_values, (6,), 0), {"axis": 0}
    ),
    Case("KLMultinomial-default", "KLMultinomial", "", (3, 4), _kl_data((3, 4)), {"base_axis": 0}),
    Case("KLMultinomial-base1", "KLMultinomial", "base_axis: 1", (3, 4), _kl_data((3, 4)), {"base_axis": 1}),
    Case("KLMultinomial-3d-base2", "KLMultinomial", "base_axis: 2", (2, 3, 4), _kl_data((2, 3, 4)), {"base_axis": 2}),
    Case("BinaryError", "BinaryError", "", (3, 4), _binary_error_data),
    Case("TopNError-default", "TopNError", "", (4, 3), _top_n_data((4, 3), 0), {"axis": 0, "n": 1}),
    Case("TopNError-axis1-n2", "TopNError", "axis: 1, n: 2", (3, 4), _top_n_data((3, 4), 1), {"axis": 1, "n": 2}),
    Case("TopNError-n0", "TopNError", "axis: 1, n: 0", (3, 4), _top_n_data((3, 4), 1), {"axis": 1, "n": 0}),
    Case("TopNError-n4", "TopNError", "axis: 1, n: 4", (3, 4), _top_n_data((3, 4), 1), {"axis": 1, "n": 4}),
]
CASE_PARAMS = case_params(CASES)


def run_case(case: Case, dtype: str):
    """Load and run a case, a numpy RuntimeWarning failing the test; returns (spec, result, x, t)."""
    x, t = case.data(dtype)
    spec, result = run_spec(case.spec_text(dtype), {"x": x, "t": t})
    return spec, result, x, t


def reference(case: Case, dtype: str, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    props = {**case.ref_props, "tiny": _tiny(dtype), "eps8": float(np.array(1e-8, dtype))}
    return REFERENCES[case.type]([as_received(x, dtype), as_received(t, dtype)], props)


def cancellation_scale(case: Case, dtype: str, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """(k, S) of the module docstring: the absolute error allowed beyond rtol is k eps S."""
    x, t = as_received(x, dtype), as_received(t, dtype)
    if case.type == "EpsilonInsensitiveLoss":
        return 1.0, np.abs(x - t) + abs(case.ref_props["epsilon"])
    if case.type == "SigmoidCrossEntropy":
        return 2.0, np.abs(x) * (1 + 2 * np.abs(np.trunc(t))) + 1
    if case.type == "SoftmaxCrossEntropy":
        axis = case.ref_props["axis"] + 1
        gap = x.max(axis=axis, keepdims=True) - x
        p = scipy.special.softmax(x, axis=axis)
        label = np.clip(np.trunc(t), 0, x.shape[axis] - 1).astype(int)
        return 2.0, np.take_along_axis(gap, label, axis=axis) + (p * gap).sum(axis=axis, keepdims=True) + x.shape[axis]
    if case.type == "KLMultinomial":
        split = case.ref_props["base_axis"] + 1
        eps8 = float(np.array(1e-8, dtype))
        with np.errstate(divide="ignore"):
            size = np.abs(x) * (1 + np.abs(np.log(x + eps8)) + np.abs(np.log(t + eps8)))
        count = math.prod(x.shape[split:])
        return count + 3.0, size.reshape(*x.shape[:split], -1).sum(axis=-1, keepdims=True)
    return 0.0, np.zeros(1)


def assert_close(got: np.ndarray, expected: np.ndarray, dtype: str, k: float = 0.0, scale=0.0) -> None:
    """|got - ref| <= rtol |ref| + k eps scale + tiny (module docstring), NaN where ref is NaN, inf
    where the reference rounds to inf in the dtype."""
    assert got.dtype == np.dtype(dtype)
    assert got.shape == expected.shape
    with np.errstate(over="ignore"):  # a reference beyond the dtype's range rounds to inf, as it should
        rounded = expected.astype(dtype).astype(np.float64)
    got64 = got.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(got64), np.isnan(rounded))
    np.testing.assert_array_equal(np.isinf(got64), np.isinf(rounded))
    finite = np.isfinite(rounded)
    np.testing.assert_array_equal(got64[~finite & ~np.isnan(rounded)], rounded[~finite & ~np.isnan(rounded)])
    eps, tiny = float(np.finfo(dtype).eps), _tiny(dtype)
    bound = RTOL[dtype] * np.abs(rounded) + k * eps * np.broadcast_to(scale, rounded.shape) + tiny
    error = np.abs(got64 - rounded)
    bad = finite & ~(error <= bound)
    assert not bad.any(), f"got {got64[bad]}, expected {rounded[bad]} (allowed error {bound[bad]})"


# --- the catalog ----------------------------------------------------------------------------------------


def test_references_cover_exactly_these_layers():
    assert set(REFERENCES) == LAYERS
    assert {case.type for case in CASES} == LAYERS
    assert LAYERS <= set(nnspec.layer_types())


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_catalog_entry_follows_nnc(name):
    category, defaults, target = NNC[name]
    entry = nnspec.layer_types()[name]
    assert entry.category == category
    assert {p.name: p.default for p in entry.properties} == defaults
    assert [t.name for t in entry.targets] == [target]
    assert entry.targets[0].dataset == "y"  # NNC's T.Dataset (q.Dataset) default
    # Only layers whose input is a probability against a binary target (BinaryCrossEntropy) take the
    # bce-input-range check: these take logits, class indices, distributions or regression targets.
    assert not entry.probability_input
    assert not entry.elementwise  # a target beside the input: static analysis cannot pass one estimate through
    assert entry.formula.startswith("o = ")


# --- every case against its reference -----------------------------------------------------------------


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, x, t = run_case(case, dtype)
    got = result.outputs["y"]
    expected = reference(case, dtype, x, t)
    k, scale = cancellation_scale(case, dtype, x, t)
    assert_close(got, expected, dtype, k, scale)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, x, t = run_case(case, dtype)
    assert_shape_rule(spec, result.outputs["y"], len(x))
    assert spec.layers["y"].target_shapes == {NNC[case.type][2]: t.shape[1:]}


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The runner silences numpy's warnings around every layer; here the forward function runs on
    the same finite inputs with overflow, invalid and divide-by-zero raised (underflow to 0 is fine)."""
    spec, result, x, t = run_case(case, dtype)
    layer = spec.layers["y"]
    forward_raising(layer, [x.astype(dtype), t.astype(dtype)], {})  # the target after the input


# --- the dtype's largest values -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "name, props, expected",
    [
        # |i - t| = 2 max overflows: inf is the right rounded loss, i = t gives 0
        ("AbsoluteError", {}, ["inf", "inf", 0.0, 0.0]),
        ("HuberLoss", {"delta": 1.0}, ["inf", "inf", 0.0, 0.0]),
        ("HuberLoss", {"delta": 0.0}, [0.0, 0.0, 0.0, 0.0]),  # delta 0: the loss is 0 everywhere, never 0 * inf
        ("EpsilonInsensitiveLoss", {"epsilon": 0.5}, ["inf", "inf", 0.0, 0.0]),
        # max against target 0 costs max; -max against 1 costs max; the right answers cost 0
        ("SigmoidCrossEntropy", {}, ["max", "max", 0.0, 0.0]),
        ("BinaryError", {}, [1.0, 1.0, 0.0, 0.0]),
    ],
)
def test_largest_finite_inputs(name, props, expected, dtype):
    big = float(np.finfo(dtype).max)
    x = np.array([[big, -big, big, -big]], dtype=dtype)
    t = np.array([[-big, big, big, -big]], dtype=dtype)
    if name in ("SigmoidCrossEntropy", "BinaryError"):
        t = np.array([[0.0, 1.0, 1.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        got = nnspec.layer_types()[name].forward([x, t], props, {})
    want = np.array([{"inf": np.inf, "max": big}.get(v, v) for v in expected], dtype=dtype)
    np.testing.assert_array_equal(got[0], want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_logits_spread_past_the_dtype_range(dtype):
    """max - (-max) overflows to -inf: that class's log-probability is -inf, and nnabla, which does not
    clamp, gives loss inf (the nan-inf check reports it); the other class has probability 1 and loss 0."""
    big = float(np.finfo(dtype).max)
    x = np.array([[big, -big], [big, -big]], dtype=dtype)
    t = np.array([[1.0], [0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        got = nnspec.layer_types()["SoftmaxCrossEntropy"].forward([x, t], {"axis": 0}, {})
    np.testing.assert_array_equal(got[:, 0], [np.inf, 0.0])


# --- nnabla's definitions, by hand ----------------------------------------------------------------------


def _run(layer: str, size: list[int], x, t, dtype: str = "float64", target: str = "T"):
    text = (
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n"
        f"  - {{name: y, type: {layer}, {target}: {{dataset: t}}}}\n"
    )
    spec = nnspec.loads(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return spec, nnspec.run(spec, {"x": np.array(x, dtype=float), "t": np.array(t, dtype=float)})


def test_huber_loss_is_nnabla_form_not_half_square():
    """nnabla: d^2 inside delta and delta (2|d| - delta) outside; PyTorch's d^2 / 2 and
    delta (|d| - delta / 2) are half of it. |d| = delta takes the linear branch (both give delta^2)."""
    _, r = _run("HuberLoss", [5], [[0.5, 1.5, 3.0, -3.0, 0.0]], [[0.0, 0.5, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(r.outputs["y"], [[0.25, 1.0, 5.0, 5.0, 0.0]])
    _, r = _run("HuberLoss, delta: 2", [3], [[1.0, 3.0, 2.0]], [[0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(r.outputs["y"], [[1.0, 8.0, 4.0]])


def test_epsilon_insensitive_loss_by_hand():
    """Differences up to epsilon cost 0 (at epsilon both of nnabla's branches give 0), beyond it |d| - epsilon."""
    _, r = _run("EpsilonInsensitiveLoss, epsilon: 0.5", [4], [[0.5, 2.0, -2.0, 0.25]], [[0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(r.outputs["y"], [[0.0, 1.5, 1.5, 0.0]])


def test_absolute_error_by_hand():
    _, r = _run("AbsoluteError", [3], [[1.0, -2.0, 1e4]], [[3.0, 2.0, -1e4]])
    np.testing.assert_array_equal(r.outputs["y"], [[2.0, 4.0, 2e4]])


def test_sigmoid_cross_entropy_by_hand_and_truncated_target():
    """ln 2 at logit 0 for either label; a confident right answer costs exp(-20) (about 2.06e-9, kept
    by log1p); nnabla reads the target as an integer, so 0.7 counts as 0 (loss of logit 0: ln 2)."""
    _, r = _run("SigmoidCrossEntropy", [4], [[0.0, 0.0, 20.0, 0.0]], [[0.0, 1.0, 1.0, 0.7]], dtype="float32")
    expected = [math.log(2), math.log(2), math.log1p(math.exp(-20)), math.log(2)]
    np.testing.assert_allclose(r.outputs["y"][0], expected, rtol=1e-6)


def test_categorical_cross_entropy_class_index_target_by_hand():
    """Class 2 of (0.1, 0.2, 0.7) costs -ln 0.7; a negative index is ignored (0); -0.5 truncates to
    class 0; an index past the last class gives NaN; a probability of 0 costs nnabla's -ln(tiny)."""
    x = [[[0.1, 0.2, 0.7]]] * 5
    x[4] = [[0.0, 1.0, 0.0]]
    t = [[[2.0]], [[-1.0]], [[-0.5]], [[3.0]], [[0.0]]]
    spec, r = _run("CategoricalCrossEntropy, axis: 1", [1, 3], x, t)
    assert spec.layers["y"].shape == (1, 1)
    got = r.outputs["y"][:, 0, 0]
    np.testing.assert_allclose(
        got[[0, 1, 2, 4]], [-math.log(0.7), 0.0, -math.log(0.1), -math.log(2.2250738585072014e-308)]
    )
    assert math.isnan(got[3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_is_not_clamped(dtype):
    """nnabla's SoftmaxCrossEntropy takes log-softmax and negates it, with no clamp: logits
    (200, -200, 0, 1), class 1, give m = 200, ln(exp(0) + exp(-400) + exp(-200) + exp(-199)) = ln(1 + 1e-87)
    = 0 in either dtype, and a loss of 0 - (-200 - 200) = 400 exactly (nnspec used to stop at
    -ln(1.18e-38) = 87.34 in float32, as CategoricalCrossEntropy does). The second sample: class 0 of
    (3, 1) costs ln(1 + e^-2)."""
    spec, r = _run(
        "SoftmaxCrossEntropy, axis: 0",
        [4],
        [[200.0, -200.0, 0.0, 1.0], [3.0, 1.0, -5.0, -5.0]],
        [[1.0], [0.0]],
        dtype=dtype,
    )
    assert spec.layers["y"].shape == (1,)
    assert r.outputs["y"].dtype == np.dtype(dtype)
    assert r.outputs["y"][0, 0] == 400.0
    expected = math.log1p(math.exp(-2.0) + 2 * math.exp(-8.0))  # -ln(e^3 / (e^3 + e + 2 e^-5))
    np.testing.assert_allclose(r.outputs["y"][1, 0], expected, rtol=1e-6)


def test_softmax_cross_entropy_ignores_negative_labels():
    """softmax_cross_entropy.cpp: `if (label < 0) { y[j] = 0; continue; }`: a negative class index marks a
    position to ignore (loss 0), as CategoricalCrossEntropy does, not NaN. -0.5 is cast to int 0: class 0
    of (0, 0) costs ln 2. An index past the last class reads outside the array in nnabla: NaN here."""
    x = [[0.0, 0.0]] * 4
    _, r = _run("SoftmaxCrossEntropy, axis: 0", [2], x, [[-1.0], [-7.0], [-0.5], [2.0]])
    got = r.outputs["y"][:, 0]
    np.testing.assert_array_equal(got[:2], [0.0, 0.0])
    np.testing.assert_allclose(got[2], math.log(2.0), rtol=1e-12)
    assert math.isnan(got[3])


def test_kl_multinomial_by_hand_and_default_target_dataset():
    """KL((0.5, 0.5) || (0.25, 0.75)) = 0.5 ln 2 + 0.5 ln(2/3); 0 for equal distributions. Without a
    q binding, the target reads NNC's default data variable y."""
    text = (
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "  - {name: k, type: KLMultinomial}\n"
    )
    spec = nnspec.loads(text)
    assert spec.layers["k"].shape == (1,)
    r = nnspec.run(spec, {"x": np.array([[0.5, 0.5], [0.3, 0.7]]), "y": np.array([[0.25, 0.75], [0.3, 0.7]])})
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    np.testing.assert_allclose(r.outputs["k"][:, 0], [expected, 0.0], rtol=1e-7, atol=1e-15)


def test_binary_error_threshold_is_inclusive():
    """nnabla: (i >= 0.5) != (t >= 0.5): 0.5 counts as 1 on both sides."""
    _, r = _run("BinaryError", [5], [[0.5, 0.49, 0.5, 0.9, 0.1]], [[1.0, 0.0, 0.5, 0.0, 0.3]])
    np.testing.assert_array_equal(r.outputs["y"], [[0.0, 0.0, 0.0, 1.0, 0.0]])


def test_top_n_error_counts_ties_against_the_target():
    """Scores (0.5, 0.5, 0.1), class 1: two scores are >= 0.5, so top-1 is an error (a tie counts
    against) and top-2 is not. Class 2 (0.1) is third: an error for n = 1 and n = 2, not for n = 3."""
    x = [[0.5, 0.5, 0.1]] * 2
    for n, expected in [(1, [1.0, 1.0]), (2, [0.0, 1.0]), (3, [0.0, 0.0])]:
        _, r = _run(f"TopNError, n: {n}", [3], x, [[1.0], [2.0]])
        np.testing.assert_array_equal(r.outputs["y"][:, 0], expected)


def test_class_index_layers_do_not_take_the_bce_check():
    """Softmax probabilities against class indices 0..3 are right for CategoricalCrossEntropy; the
    bce-input-range check (probability against a binary target) would call the indices 2 and 3 wrong."""
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: p, type: Softmax}\n"
        "  - {name: c, type: CategoricalCrossEntropy, T: {dataset: t}}\n"
    )
    spec = nnspec.loads(text)
    result = nnspec.run(spec, {"x": np.zeros((4, 4)), "t": np.array([[0.0], [1.0], [2.0], [3.0]])})
    np.testing.assert_allclose(result.outputs["c"][:, 0], math.log(4), rtol=1e-6)
    assert not [f for f in result.findings if f.check == "bce-input-range"]


# --- invalid specs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer, size, message",
    [
        ("CategoricalCrossEntropy, axis: 2", [3, 4], "axis 2 is out of range"),
        ("SoftmaxCrossEntropy, axis: 1", [5], "axis 1 is out of range"),
        ("TopNError, axis: 3", [3, 4], "axis 3 is out of range"),
        ("KLMultinomial, base_axis: 2", [3, 4], "base_axis 2 is out of range"),
        ("TopNError, n: -1", [3, 4], "'n' of layer 'y' (TopNError) must be an integer >= 0"),
        ("CategoricalCrossEntropy, axis: -1", [3, 4], "must be an integer >= 0"),
        ("HuberLoss, delta: big", [3], "'delta' of layer 'y' (HuberLoss)"),
        ("EpsilonInsensitiveLoss, epsilon: [1]", [3], "'epsilon' of layer 'y' (EpsilonInsensitiveLoss)"),
        ("HuberLoss, Delta: 2", [3], "layer 'y' (HuberLoss) has no property 'Delta'"),
        ("KLMultinomial, T: {dataset: t}", [3], "layer 'y' (KLMultinomial) has no property 'T'"),
    ],
)
def test_invalid_properties_name_the_layer(layer, size, message):
    text = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n  - {{name: y, type: {layer}}}\n"
    with pytest.raises(SpecError) as info:
        nnspec.loads(text)
    assert message in str(info.value)
    assert any(d.layer == "y" for d in info.value.diagnostics)


def test_class_index_target_of_the_wrong_shape_names_the_layer():
    """A class-index target has size 1 along axis: (1,) for a (3,) input, not the input's shape."""
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        "  - {name: y, type: SoftmaxCrossEntropy, T: {dataset: t}}\n"
        "data:\n  x: [[1, 2, 3]]\n  t: [[0, 1, 2]]\n"
    )
    with pytest.raises(SpecError) as info:
        nnspec.loads(text)
    assert "target T of 'y' (SoftmaxCrossEntropy)" in str(info.value)
    assert "expects samples of shape (1,)" in str(info.value)


# --- against nnabla's own outputs ------------------------------------------------------------------------
#
# tests/fixtures/nnabla/layers.npz holds float32 inputs and what nnabla 1.39's CPU kernels computed from
# them (scripts/make_nnabla_layer_fixture.py). nnabla's expf and logf are not numpy's float32 exp and log:
# the two round differently in about one value in ten, by one ulp. So a loss is compared within 2 ulp of
# the largest term it is computed from (the loss itself, and for SoftmaxCrossEntropy i_t - m, which the
# log-sum cancels; for the binary losses 1, the size of 1 - i and 1 + exp(-|i|), whose last bit nnspec
# keeps with log1p where nnabla rounds it away): a clamp, a dropped branch or a wrong sign is far more.


def _within_two_ulp(got: np.ndarray, want: np.ndarray, scale: np.ndarray) -> None:
    assert got.dtype == np.float32 and got.shape == want.shape
    bound = 2 * np.finfo(np.float32).eps * np.maximum(np.abs(want), scale)
    assert_error_within(got.astype(np.float64), want.astype(np.float64), bound)


def _nnabla_case(layer: str, case: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t, nnspec's output, nnabla's) for one fixture case, run through a float32 spec."""
    data = nnabla_layers()
    x, t = data[f"{case}_x"], data[f"{case}_t"]
    _, result = _run(layer, list(x.shape[1:]), x, t, dtype="float32")
    return x, t, result.outputs["y"], data[f"{case}_out"]


@pytest.mark.parametrize("case", ["sce", "sce3"])
def test_softmax_cross_entropy_matches_nnabla(case):
    """Logits spread from about 1 to 1,000 (row 0 of sce is the issue's 200, -200, 0, 1 with label 1):
    nnabla gives 400, 36.1, ... unclamped, and 0 for the negative labels."""
    x, t, got, want = _nnabla_case("SoftmaxCrossEntropy, axis: 0", case)
    gap = np.take_along_axis(x.max(axis=1, keepdims=True) - x, np.maximum(t, 0).astype(np.intp), axis=1)
    _within_two_ulp(got, want, gap.astype(np.float64))
    np.testing.assert_array_equal(got[t < 0], 0.0)
    if case == "sce":
        assert (want > 87.34).sum() == 2  # 400 and 784.8: past the old clamp
        assert got[0, 0] == want[0, 0] == 400.0


@pytest.mark.parametrize(
    "layer, case", [("CategoricalCrossEntropy", "cce"), ("BinaryCrossEntropy", "bce"), ("SigmoidCrossEntropy", "sigce")]
)
def test_other_cross_entropies_match_nnabla(layer, case):
    """CategoricalCrossEntropy and BinaryCrossEntropy do clamp in nnabla (ln of max(p, FLT_MIN)): a certain
    wrong answer costs 87.34 there and here. SigmoidCrossEntropy works on logits without a clamp."""
    _, _, got, want = _nnabla_case(layer, case)
    _within_two_ulp(got, want, np.ones_like(want, dtype=np.float64))
    if layer == "CategoricalCrossEntropy":
        assert want[0, 0] == got[0, 0] == np.float32(-np.log(np.float32(np.finfo(np.float32).tiny)))
