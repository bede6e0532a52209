"""Every layer in the catalog checked against an independent reference implementation.

The references below never call nnspec: they are Python's ``math`` applied element by
element in float64 (then rounded to the spec's dtype), scipy.special, explicit loops
over small arrays, or values worked out by hand. Each layer runs through the public
API only (``nnspec.loads`` + ``nnspec.run``), in float32 and in float64, on inputs that
include the extreme values of the range-checks reference (+-1e4, +-88.8, +-104, 0, tiny).

Tolerances (used by ``assert_close``):

* float32: rtol 1e-6, about 8 ulp (float32 eps = 1.19e-7). nnspec computes in float32, so
  a layer's result carries a few roundings (e.g. Sigmoid: exp, 1 + ., 1 / .; Softmax:
  x - max, exp, sum, division) of at most ~1 ulp each, and the reference adds one more
  when rounding its float64 value to float32. 1e-6 leaves room for those and nothing else:
  a wrong formula, axis or layout is off by far more.
* float64: rtol 1e-12 (about 4500 eps): the same few roundings, at float64 precision.
* atol: the dtype's smallest normal number (float32 1.2e-38, float64 2.2e-308). Below it
  values are subnormal and lose relative precision bit by bit, so a relative tolerance means
  nothing there; an error smaller than the smallest normal number is not a visible error at
  the dtype's precision.
* Softmax adds |x_i - max| eps / 2 to rtol: the rounding of x_i - max, which exp turns into
  a relative error of the same size (see ``assert_softmax_close``).
* Affine (a dot product) is checked with the classic a-priori bound of a sum of K products,
  |error| <= gamma_K * sum_i |w_i x_i| with gamma_K ~ K eps: with +-1e4 beside 1e-30 in the
  same sum, cancellation can make the *relative* error of a correct float32 dot product
  exceed 1e-6, so the bound is taken relative to the sum of magnitudes, not to the result.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.special

import nnspec

from .layer_harness import (
    DTYPES,
    RTOL,
    as_received,
    assert_close,
    assert_error_within,
    assert_shape_rule,
    case_params,
    cycled,
    elementwise,
    forward_raising,
    layer_spec,
    nnabla_layers,
    received,
    run_spec,
)

SPECS = Path(__file__).resolve().parent.parent / "specs"


# --- independent references ------------------------------------------------------------
#
# Each takes the layer inputs (float64 arrays holding exactly the values nnspec receives,
# batch axis first), the layer's properties as written in the NNC layer reference (with
# NNC's defaults spelled out by the test, never read from nnspec's catalog), and the
# parameters as float64 arrays; it returns the exact-as-possible float64 result.


def ref_identity(inputs, props, params):
    """o = i, copied value by value."""
    return elementwise(lambda v: v)(inputs[0])


def ref_tanh(inputs, props, params):
    return elementwise(math.tanh)(inputs[0])


def ref_sigmoid(inputs, props, params):
    # scipy's expit in float64 is accurate to about 1 ulp of float64 for every input
    # (it switches to exp(x)/(1+exp(x)) for negative x, so it never overflows).
    return scipy.special.expit(np.asarray(inputs[0], dtype=np.float64))


def ref_relu(inputs, props, params):
    return elementwise(lambda v: v if v > 0 else 0.0)(inputs[0])


def ref_leaky_relu(inputs, props, params):
    alpha = props["alpha"]
    return elementwise(lambda v: v if v > 0 else alpha * v)(inputs[0])


def ref_softmax(inputs, props, params):
    return scipy.special.softmax(np.asarray(inputs[0], dtype=np.float64), axis=props["axis"] + 1)


def ref_affine(inputs, props, params):
    """y[n, j] = fsum_i x[n, i] W[i, j] + b[j], with x flattened per sample and j running
    over out_shape; W laid out as nnabla lays it out: (inputs, *out_shape)."""
    x = inputs[0]
    W = params["W"]
    out_shape = tuple(props["out_shape"])
    n_in = W.shape[0]
    out = np.empty((x.shape[0], *out_shape), dtype=np.float64)
    for n in range(x.shape[0]):
        flat = [float(x[n][index]) for index in np.ndindex(x.shape[1:])]
        assert len(flat) == n_in
        for j in np.ndindex(out_shape):
            total = math.fsum(flat[i] * float(W[(i, *j)]) for i in range(n_in))
            if "b" in params:
                total += float(params["b"][j])
            out[(n, *j)] = total
    return out


def ref_add2(inputs, props, params):
    """o = i0 + i1 with numpy/nnabla broadcasting spelled out: a size-1 axis repeats."""
    a, b = inputs
    rank = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (rank - a.ndim) + a.shape)
    b = b.reshape((1,) * (rank - b.ndim) + b.shape)
    shape = tuple(max(m, n) for m, n in zip(a.shape, b.shape))
    out = np.empty(shape, dtype=np.float64)
    for index in np.ndindex(shape):
        ia = tuple(0 if m == 1 else k for k, m in zip(index, a.shape))
        ib = tuple(0 if m == 1 else k for k, m in zip(index, b.shape))
        out[index] = float(a[ia]) + float(b[ib])
    return out


def ref_concatenate(inputs, props, params):
    """Each input's values copied one by one into the output at an offset along axis."""
    axis = props["axis"] + 1
    shape = list(inputs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in inputs)
    out = np.full(shape, np.nan)
    offset = 0
    for x in inputs:
        for index in np.ndindex(x.shape):
            target = list(index)
            target[axis] += offset
            out[tuple(target)] = x[index]
        offset += x.shape[axis]
    assert not np.isnan(out).any()
    return out


def ref_reshape(inputs, props, params):
    """The sample's values read in row-major order and written in row-major order."""
    x = inputs[0]
    out_shape = tuple(props["out_shape"])
    out = np.empty((x.shape[0], *out_shape), dtype=np.float64)
    for n in range(x.shape[0]):
        values = [x[n][index] for index in np.ndindex(x.shape[1:])]
        targets = list(np.ndindex(out_shape))
        assert len(values) == len(targets)
        for value, target in zip(values, targets):
            out[(n, *target)] = value
    return out


def _exp_or_inf(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:  # past float64's range: inf, as exp in any float dtype gives
        return math.inf


def ref_binary_cross_entropy(inputs, props, params):
    """nnabla's definition, value by value: -(t ln max(x, tiny) + (1 - t) ln max(1 - x, tiny)),
    tiny = the smallest normal number of the spec's dtype (given in props by the case)."""
    tiny = props["tiny"]
    x, t = inputs
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        xi, ti = float(x[index]), float(t[index])
        out[index] = -(ti * math.log(max(xi, tiny)) + (1 - ti) * math.log(max(1 - xi, tiny)))
    return out


def ref_squared_error(inputs, props, params):
    x, t = inputs
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        out[index] = (float(x[index]) - float(t[index])) ** 2
    return out


def ref_exp(inputs, props, params):
    return elementwise(_exp_or_inf)(inputs[0])


REFERENCES: dict[str, Callable[[Sequence[np.ndarray], Mapping[str, Any], Mapping[str, np.ndarray]], np.ndarray]] = {
    "Input": ref_identity,  # o = the data, as given (rounded to the dtype)
    "Identity": ref_identity,
    "Tanh": ref_tanh,
    "Sigmoid": ref_sigmoid,
    "ReLU": ref_relu,
    "LeakyReLU": ref_leaky_relu,
    "Softmax": ref_softmax,
    "Affine": ref_affine,
    "Add2": ref_add2,
    "Concatenate": ref_concatenate,
    "Reshape": ref_reshape,
    "Exp": ref_exp,
    "BinaryCrossEntropy": ref_binary_cross_entropy,
    "SquaredError": ref_squared_error,
}


# --- inputs ---------------------------------------------------------------------------


def extremes(dtype: str) -> list[float]:
    """Values from the range-checks reference: the saturation and overflow limits of both
    dtypes (16.7 / 36.8 sigmoid = 1, 88.8 exp overflow in float32, 104 float32 underflow),
    the large +-1e4, 0, and tiny values (1e-30 and the dtype's smallest normal number)."""
    tiny = float(np.finfo(dtype).tiny)
    base = [0.0, 1e-30, tiny, 0.5, 1.0, 2.65, 4.6, 9.0, 10.0, 16.7, 20.0, 36.8, 88.8, 104.0, 1e4]
    return base + [-v for v in base[1:]]


def sample_values(dtype: str, shape: tuple[int, ...], shift: int = 0, batch: int = 2) -> np.ndarray:
    """A (batch, *shape) float64 array filled with the extreme values, cycled."""
    return cycled(extremes(dtype), shape, shift=shift, batch=batch)


# --- cases: one spec per layer configuration --------------------------------------------


@dataclass
class Case:
    """One layer configuration: the layer (named y) after Inputs of the given sizes."""

    id: str
    type: str
    layer: str  # the YAML mapping of the layer, without name/type/input
    sizes: dict[str, tuple[int, ...]]
    ref_props: dict[str, Any] = field(default_factory=dict)
    params: Callable[[str], dict[str, np.ndarray]] | None = None  # dtype -> nnabla-named parameters
    data: Callable[[str], dict[str, np.ndarray]] | None = None  # dtype -> data (default: extremes)
    targets: tuple[str, ...] = ()  # data variables read as targets, passed to the reference after the inputs

    def spec_text(self, dtype: str) -> str:
        if self.type == "Input":  # the Input itself is the layer under test: no y
            lines = ["nnspec: 1", f"dtype: {dtype}", "seed: 0", "layers:"]
            lines += [f"  - {{name: {name}, type: Input, size: {list(size)}}}" for name, size in self.sizes.items()]
            return "\n".join([*lines, "outputs: [x]"]) + "\n"
        return layer_spec(dtype, self.type, self.sizes, self.layer)

    @property
    def output(self) -> str:
        return "x" if self.type == "Input" else "y"

    def inputs(self, dtype: str) -> dict[str, np.ndarray]:
        if self.data is not None:
            return self.data(dtype)
        return {name: sample_values(dtype, size, shift=k) for k, (name, size) in enumerate(self.sizes.items())}


def _affine_params(n_in: int, out_shape: tuple[int, ...], bias: bool = True, scope: str = "y"):
    def make(dtype: str) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(12345)
        params = {f"{scope}/affine/W": rng.normal(0.0, 0.5, (n_in, *out_shape))}
        if bias:
            params[f"{scope}/affine/b"] = rng.normal(0.0, 0.5, out_shape)
        return params

    return make


def _loss_data(dtype: str) -> dict[str, np.ndarray]:
    """Probabilities at and between the ends (0 and 1 make the clamped logarithms work), binary
    targets, and a few values outside 0..1 for the clamping."""
    x = np.array([[0.0, 1.0, 0.5, 1e-30, 1 - 1e-7, 0.25, 0.75, 1e-3, -0.5, 1.5, 0.9, 0.1]] * 2).reshape(2, 3, 4)
    t = np.array([[0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]] * 2).reshape(2, 3, 4)
    return {"x": x, "t": t}


def _add2_data(dtype: str) -> dict[str, np.ndarray]:
    values = extremes(dtype)
    x = np.array([values[0:4], values[4:8], values[8:12], [1e4, -1e4, 88.8, -104.0]])
    y = np.array([[values[-1]], [values[3]], [-1e4], [104.0]])
    return {"x": x, "z": y}


CASES = [
    Case("Input", "Input", "", {"x": (6, 5)}),
    Case("Identity", "Identity", "", {"x": (29,)}),
    Case("Tanh", "Tanh", "", {"x": (29,)}),
    Case("Sigmoid", "Sigmoid", "", {"x": (29,)}),
    Case("ReLU", "ReLU", "", {"x": (29,)}),
    Case("Exp", "Exp", "", {"x": (29,)}),
    Case(
        "BinaryCrossEntropy",
        "BinaryCrossEntropy",
        "T: {dataset: t}",
        {"x": (3, 4)},
        data=_loss_data,
        targets=("t",),
    ),
    Case("SquaredError", "SquaredError", "T: {dataset: t}", {"x": (3, 4)}, data=_loss_data, targets=("t",)),
    Case("LeakyReLU-default", "LeakyReLU", "", {"x": (29,)}, {"alpha": 0.1}),  # NNC's default alpha
    Case("LeakyReLU-alpha0.25", "LeakyReLU", "alpha: 0.25", {"x": (29,)}, {"alpha": 0.25}),
    Case("LeakyReLU-alpha-neg", "LeakyReLU", "alpha: -0.5", {"x": (29,)}, {"alpha": -0.5}),
    Case("Softmax-axis0", "Softmax", "axis: 0", {"x": (3, 4)}, {"axis": 0}),
    Case("Softmax-axis1", "Softmax", "axis: 1", {"x": (3, 4)}, {"axis": 1}),
    Case("Softmax-1d", "Softmax", "axis: 0", {"x": (29,)}, {"axis": 0}),
    Case(
        "Affine-vector",
        "Affine",
        "out_shape: 4",
        {"x": (6,)},
        {"out_shape": (4,)},
        params=_affine_params(6, (4,)),
    ),
    Case(
        "Affine-2d-in-2d-out",
        "Affine",
        "out_shape: [2, 3]",
        {"x": (2, 3)},
        {"out_shape": (2, 3)},
        params=_affine_params(6, (2, 3)),
    ),
    Case(
        "Affine-no-bias",
        "Affine",
        "out_shape: 3, with_bias: false",
        {"x": (5,)},
        {"out_shape": (3,)},
        params=_affine_params(5, (3,), bias=False),
    ),
    Case("Add2-same", "Add2", "", {"x": (2, 3), "z": (2, 3)}),
    Case("Add2-broadcast-4+1", "Add2", "", {"x": (4,), "z": (1,)}, data=_add2_data),
    Case("Add2-broadcast-2d", "Add2", "", {"x": (2, 3), "z": (1, 3)}),
    Case("Concatenate-axis0", "Concatenate", "axis: 0", {"x": (2, 3), "z": (1, 3)}, {"axis": 0}),
    Case("Concatenate-axis1", "Concatenate", "axis: 1", {"x": (2, 3), "z": (2, 2)}, {"axis": 1}),
    Case("Concatenate-three", "Concatenate", "axis: 0", {"x": (2,), "z": (3,), "w": (1,)}, {"axis": 0}),
    Case("Reshape-3d-to-2d", "Reshape", "out_shape: [4, 6]", {"x": (2, 3, 4)}, {"out_shape": (4, 6)}),
    Case("Reshape-to-vector", "Reshape", "out_shape: 6", {"x": (2, 3)}, {"out_shape": (6,)}),
    Case("Reshape-vector-to-2d", "Reshape", "out_shape: [3, 2]", {"x": (6,)}, {"out_shape": (3, 2)}),
]
CASE_PARAMS = case_params(CASES)


def run_case(case: Case, dtype: str):
    """Load and run a case with every warning an error; returns (spec, result, inputs, params)."""
    data = case.inputs(dtype)
    params = case.params(dtype) if case.params else None
    spec, result = run_spec(case.spec_text(dtype), data, params)
    return spec, result, data, params


def reference_for(case: Case, dtype: str, data, params) -> np.ndarray:
    """The reference on exactly the values nnspec received: data and parameters rounded to dtype."""
    inputs = received(data, (*case.sizes, *case.targets), dtype)
    ref_params = {key.rsplit("/", 1)[-1]: as_received(value, dtype) for key, value in (params or {}).items()}
    return REFERENCES[case.type](inputs, {**case.ref_props, "tiny": float(np.finfo(dtype).tiny)}, ref_params)


def assert_exact(got: np.ndarray, expected: np.ndarray) -> None:
    """Bit-for-bit equal, with the same shape and dtype (numpy's strict=True, before numpy 1.24 too)."""
    assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_array_equal(got, expected)


# --- the catalog is covered -------------------------------------------------------------


def test_every_catalog_layer_has_a_reference():
    """This module's references and those of every tests/test_layers_*.py (a category each)
    together cover the catalog: a layer added without a reference test fails here."""
    covered = set(REFERENCES)
    for path in sorted(Path(__file__).parent.glob("test_layers_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        overlap = covered & set(module.REFERENCES)
        assert not overlap, f"{path.name} tests layers tested elsewhere too: {sorted(overlap)}"
        covered |= set(module.REFERENCES)
    assert covered == set(nnspec.layer_types()), sorted(covered ^ set(nnspec.layer_types()))


def test_every_reference_has_a_case():
    assert {case.type for case in CASES} == set(REFERENCES)


# --- every layer against its reference, and its shape rule against its output -----------


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data, params = run_case(case, dtype)
    got = result.outputs[case.output]
    expected = reference_for(case, dtype, data, params)
    if case.type == "Affine":
        assert_affine_close(got, expected, data["x"], params, dtype)
    elif case.type == "Softmax":
        assert_softmax_close(got, expected, data["x"], case.ref_props["axis"], dtype)
    else:
        assert_close(got, expected, dtype)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data, params = run_case(case, dtype)
    assert_shape_rule(spec, result.outputs[case.output], len(next(iter(data.values()))), case.output)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The runner silences numpy's floating-point warnings around every layer (it reports
    NaN/Inf itself), so a run alone cannot show whether a layer's own numpy code
    overflows. Here the catalog's forward function runs on the same finite inputs with
    overflow, invalid and divide-by-zero raised (underflow to 0 is expected and fine)."""
    spec, result, data, params = run_case(case, dtype)
    layer = spec.layers[case.output]
    args = [np.asarray(data[name]).astype(dtype) for name in (*case.sizes, *case.targets)]
    forward_raising(layer, args, result.layer_parameters[case.output])


def assert_softmax_close(got, expected, x, axis, dtype):
    """Softmax tolerance: rtol plus |x_i - max| * eps / 2, relative. A correct float32 softmax
    rounds d = x_i - max (an absolute error up to |d| eps / 2) and exp turns an absolute error
    in its argument into the same relative error of its result: for d = -86 (2.65 - 88.8 in a
    row holding 88.8) that alone is up to 4e-6 relative, beyond rtol 1e-6, and unavoidable."""
    assert got.dtype == np.dtype(dtype)
    x = as_received(x, dtype)
    gap = x.max(axis=axis + 1, keepdims=True) - x
    rtol = RTOL[dtype] + gap * float(np.finfo(dtype).eps) / 2
    expected = as_received(expected, dtype)
    bound = rtol * np.abs(expected) + float(np.finfo(dtype).tiny)
    assert_error_within(got, expected, bound)


def assert_affine_close(got, expected, x, params, dtype):
    """Dot-product tolerance: |got - ref| <= 2 (K + 2) eps * (sum_i |x_i w_ij| + |b_j|),
    twice the textbook gamma_K bound (K products summed, the bias added, the result rounded)."""
    assert got.dtype == np.dtype(dtype)
    eps = float(np.finfo(dtype).eps)
    xs = np.abs(np.asarray(x).astype(dtype).astype(np.float64)).reshape(len(x), -1)
    W = [v for k, v in params.items() if k.endswith("/W")][0]
    Wa = np.abs(np.asarray(W).astype(dtype).astype(np.float64))
    n_in = Wa.shape[0]
    magnitude = (xs @ Wa.reshape(n_in, -1)).reshape(expected.shape)
    b = [v for k, v in params.items() if k.endswith("/b")]
    if b:
        magnitude = magnitude + np.abs(np.asarray(b[0]).astype(dtype).astype(np.float64))
    bound = 2 * (n_in + 2) * eps * magnitude + float(np.finfo(dtype).tiny)
    error = np.abs(got.astype(np.float64) - expected)
    assert np.all(error <= bound), f"max error {error.max()} exceeds the bound {bound[error > bound]}"


# --- the largest finite inputs ----------------------------------------------------------


FLOAT_MAX_SPEC = """
nnspec: 1
dtype: {dtype}
layers:
  - {{name: x, type: Input, size: [4]}}
  - {{name: tanh, type: Tanh, input: x}}
  - {{name: sigmoid, type: Sigmoid, input: x}}
  - {{name: relu, type: ReLU, input: x}}
  - {{name: leaky, type: LeakyReLU, input: x}}
  - {{name: softmax, type: Softmax, input: x, axis: 0}}
  - {{name: identity, type: Identity, input: x}}
outputs: [tanh, sigmoid, relu, leaky, softmax, identity]
"""
FLOAT_MAX_LAYERS = {
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
    "relu": ("ReLU", {}),
    "leaky": ("LeakyReLU", {"alpha": 0.1}),
    "softmax": ("Softmax", {"axis": 0}),
    "identity": ("Identity", {}),
}


def float_max_data(dtype: str) -> np.ndarray:
    """The dtype's largest finite values, whose outputs are all finite for these layers."""
    big, tiny = float(np.finfo(dtype).max), float(np.finfo(dtype).tiny)
    return np.array([[big, -big, 0.0, 1.0], [-big, 1e4, -1e4, tiny]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_float_max_inputs_match_references(dtype):
    """Layers whose outputs stay finite for every finite input, at +-max of the dtype."""
    x = float_max_data(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are the next test's subject
        result = nnspec.run(nnspec.loads(FLOAT_MAX_SPEC.format(dtype=dtype)), {"x": x})
    xs = [x.astype(dtype).astype(np.float64)]
    for name, (layer_type, props) in FLOAT_MAX_LAYERS.items():
        # scipy's softmax computes -max - max = -inf on the float64 row of float64 maxima;
        # exp(-inf) = 0 is the correct limit there, so its overflow warning is silenced
        with np.errstate(over="ignore"):
            expected = REFERENCES[layer_type](xs, props, {})
        assert np.isfinite(result.outputs[name]).all(), name
        assert_close(result.outputs[name], expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_float_max_inputs_emit_no_warning_and_finite_statistics(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = nnspec.run(nnspec.loads(FLOAT_MAX_SPEC.format(dtype=dtype)), {"x": float_max_data(dtype)})
    for name, layer_stats in result.stats.items():
        assert np.isfinite(layer_stats.output.std), name


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_forward_does_not_overflow_at_float_max(dtype):
    entry = nnspec.layer_types()["Softmax"]
    x = float_max_data(dtype).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        got = entry.forward([x], {"axis": 0}, {})
    np.testing.assert_array_equal(got[0], np.array([1, 0, 0, 0], dtype=dtype))


# --- layer specifics --------------------------------------------------------------------


AFFINE_2D = """
nnspec: 1
dtype: {dtype}
layers:
  - {{name: x, type: Input, size: [2, 3]}}
  - {{name: fc, type: Affine, out_shape: [2, 3]}}
"""


@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_multi_dim_layout_by_hand(dtype):
    """nnabla's Affine W has shape (inputs, *out_shape): y[a, b] = sum_i x_flat[i] W[i, a, b] + b[a, b].
    With W[i, a, b] = 1 when i <= 3a + b, y is the running sum of the flattened input, so a
    transposed or (out, in) layout gives different numbers (suffix sums)."""
    W = np.array([[[1 if i <= 3 * a + c else 0 for c in range(3)] for a in range(2)] for i in range(6)], dtype=float)
    assert W.shape == (6, 2, 3)
    b = np.array([[0.5, 0.0, 0.0], [0.0, 0.0, -0.5]])
    x = np.array([[[1, 2, 3], [4, 5, 6]], [[1, 0, 0], [0, 0, -1]]], dtype=float)
    expected = np.array(
        [
            [[1.5, 3, 6], [10, 15, 20.5]],  # running sums 1 3 6 10 15 21, plus b
            [[1.5, 1, 1], [1, 1, -0.5]],  # running sums 1 1 1 1 1 0, plus b
        ]
    )
    spec = nnspec.loads(AFFINE_2D.format(dtype=dtype))
    result = nnspec.run(spec, {"x": x}, params={"fc/affine/W": W, "fc/affine/b": b})
    assert spec.layers["fc"].shape == (2, 3)
    assert_exact(result.outputs["fc"], expected.astype(dtype))
    np.testing.assert_array_equal(result.layer_parameters["fc"]["W"], W.astype(dtype))


def test_affine_without_bias_has_no_b_parameter():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "  - {name: fc, type: Affine, out_shape: 2, with_bias: false}\n"
    )
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    result = nnspec.run(spec, {"x": np.array([[1.0, 1.0], [2.0, -1.0]])}, params={"fc/affine/W": W})
    assert set(result.layer_parameters["fc"]) == {"W"}
    np.testing.assert_array_equal(result.outputs["fc"], np.array([[4, 6], [-1, 0]], dtype=np.float32))
    assert not result.notes  # no unused-parameter warning: only W was needed and given


def test_affine_default_out_shape_is_100():
    """NNC's default OutShape of Affine is 100. Regression: at commit abeb96a the default (the int
    100) bypassed Property.normalize, so shape inference did tuple(100) and nnspec.loads raised
    TypeError: 'int' object is not iterable."""
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: fc, type: Affine}\n")
    assert spec.layers["fc"].shape == (100,)
    W, b, x = np.arange(300.0).reshape(3, 100) / 100, np.zeros(100), np.array([[1.0, -1.0, 2.0]])
    result = nnspec.run(spec, {"x": x}, params={"fc/affine/W": W, "fc/affine/b": b})
    expected = ref_affine([x], {"out_shape": (100,)}, {"W": W, "b": b})
    assert_close(result.outputs["fc"], expected, "float32")


SOFTMAX_3x4 = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], [-1.0, 1.0, -1.0, 1.0]])


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_axis_by_hand(axis):
    """Softmax of a (3, 4) sample along axis 0 (each column sums to 1) and axis 1 (each row)."""
    spec = nnspec.loads(
        f"nnspec: 1\ndtype: float64\nlayers:\n  - {{name: x, type: Input, size: [3, 4]}}\n"
        f"  - {{name: p, type: Softmax, axis: {axis}}}\n"
    )
    got = nnspec.run(spec, {"x": SOFTMAX_3x4[np.newaxis]}).outputs["p"][0]
    e = [[math.exp(v) for v in row] for row in SOFTMAX_3x4.tolist()]
    if axis == 1:
        expected = [[v / math.fsum(row) for v in row] for row in e]
    else:
        columns = [math.fsum(e[r][c] for r in range(3)) for c in range(4)]
        expected = [[e[r][c] / columns[c] for c in range(4)] for r in range(3)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-12)
    # a row of equal logits is uniform: 1/4 along axis 1; the axis-0 column of (4, 0, 1) is not
    if axis == 1:
        np.testing.assert_allclose(got[1], 0.25, rtol=1e-15)


def test_concatenate_by_hand():
    text = (
        "nnspec: 1\nlayers:\n  - {name: a, type: Input, size: [2, 2]}\n  - {name: b, type: Input, size: [2, 1]}\n"
        "  - {name: c, type: Input, size: [1, 2]}\n"
        "  - {name: j1, type: Concatenate, input: [a, b], axis: 1}\n"
        "  - {name: j0, type: Concatenate, input: [a, c], axis: 0}\n"
    )
    spec = nnspec.loads(text)
    data = {"a": np.array([[[1, 2], [3, 4]]]), "b": np.array([[[5], [6]]]), "c": np.array([[[7, 8]]])}
    result = nnspec.run(spec, data)
    np.testing.assert_array_equal(result.outputs["j1"][0], [[1, 2, 5], [3, 4, 6]])
    np.testing.assert_array_equal(result.outputs["j0"][0], [[1, 2], [3, 4], [7, 8]])
    assert spec.layers["j1"].shape == (2, 3) and spec.layers["j0"].shape == (3, 2)


def test_concatenate_of_one_input_is_refused_as_nnabla_refuses_it():
    """nnabla 1.39's Concatenate declares at least 2 inputs: F.concatenate(x) fails in setup with
    "Concatenate needs at least 2 inputs (given 1)" (recorded by scripts/make_nnabla_layer_fixture.py),
    so NNC cannot evaluate such a layer. nnspec refuses it at validation, at the layer, not as a copy."""
    assert "Concatenate needs at least 2 inputs (given 1)" in str(nnabla_layers()["concat1_error"])
    text = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: c, type: Concatenate}\n"
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(text)
    [problem] = caught.value.diagnostics
    assert problem.line == 4
    assert "layer 'c' (Concatenate) takes 2 or more inputs; got 1 (x)" in problem.message
    assert str(nnspec.layer_types()["Concatenate"].arity) == "2 or more inputs"


def test_reshape_by_hand():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2, 3]}\n"
        "  - {name: r, type: Reshape, out_shape: [3, 2]}\n"
    )
    got = nnspec.run(spec, {"x": np.array([[[1, 2, 3], [4, 5, 6]]])}).outputs["r"]
    assert_exact(got, np.array([[[1, 2], [3, 4], [5, 6]]], dtype=np.float32))


def test_add2_broadcasts_4_and_1_by_hand():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: a, type: Input, size: [4]}\n  - {name: b, type: Input, size: [1]}\n"
        "  - {name: s, type: Add2, input: [a, b]}\n"
    )
    result = nnspec.run(spec, {"a": np.array([[1, 2, 3, 4], [0, 0, 0, 0]]), "b": np.array([[10], [-1]])})
    assert spec.layers["s"].shape == (4,)
    assert_exact(result.outputs["s"], np.array([[11, 12, 13, 14], [-1, -1, -1, -1]], dtype=np.float32))


def test_leaky_relu_alpha_by_hand():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: d, type: LeakyReLU}\n  - {name: q, type: LeakyReLU, alpha: 0.25, input: x}\n"
    )
    result = nnspec.run(spec, {"x": np.array([[-8.0, -1.0, 0.0, 3.0]])})
    assert_exact(result.outputs["q"][0], np.float32([-2.0, -0.25, 0.0, 3.0]))  # exact in binary
    # NNC's default alpha is 0.1: the float32 values nearest to -0.8 and -0.1
    assert_exact(result.outputs["d"][0], np.float32([-0.8, -0.1, 0.0, 3.0]))


def test_identity_by_hand():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: i, type: Identity}\n")
    x = np.array([[1e4, -104.0, 1e-30]])
    assert_exact(nnspec.run(spec, {"x": x}).outputs["i"], x.astype(np.float32))


# --- the motivating example --------------------------------------------------------------


SEED_X = np.array([255, 150, 100, 10, 0, -10, -100, -150, -255], dtype=np.float32)


def test_seed_activations_tanh_and_relu_exact():
    result = nnspec.run(nnspec.load(SPECS / "seed_activations.yaml"))
    assert_exact(result.outputs["tanh"][0], np.float32([1, 1, 1, 1, 0, -1, -1, -1, -1]))
    assert_exact(result.outputs["relu"][0], np.float32([255, 150, 100, 10, 0, 0, 0, 0, 0]))


def test_seed_activations_sigmoid():
    got = nnspec.run(nnspec.load(SPECS / "seed_activations.yaml")).outputs["sigmoid"][0]
    assert got.dtype == np.float32
    # The table of the range-checks reference, printed to 7 digits: atol 1e-7.
    table = [1, 1, 1, 0.9999546, 0.5, 0.0000454, 0, 0, 0]
    np.testing.assert_allclose(got, table, rtol=0, atol=1e-7)
    # The exact values the table is printed from: 1 for 100..255 and 0 for -150, -255 are
    # exact at float32 precision, and 0.5 at 0.
    np.testing.assert_array_equal(got[[0, 1, 2, 4, 7, 8]], np.float32([1, 1, 1, 0.5, 0, 0]))
    # Against the correctly rounded float32 value (expit evaluated in float64 on the same
    # float32 inputs, accurate far beyond float32, then rounded once): bit-identical wherever
    # the result is a normal float32. At x = -100 the true value 3.7e-44 is a float32
    # *subnormal* (3.78e-44); nnspec's 1/(1+exp(-x)) gives 0 there (exp(100) overflows float32
    # from x <= -88.72), as nnabla's formula and scipy's float32 kernel do and as the table says:
    # an error below the smallest normal float32, 1.2e-38.
    rounded = scipy.special.expit(SEED_X.astype(np.float64)).astype(np.float32)
    normal = np.abs(rounded) >= np.finfo(np.float32).tiny
    assert_exact(got[normal], rounded[normal])
    np.testing.assert_allclose(got, rounded, rtol=0, atol=float(np.finfo(np.float32).tiny))
    # scipy's float32 kernel, expit(float32 array), is not correctly rounded everywhere: at
    # x = -10 it returns 4.5397872e-05 while the float32 nearest to sigmoid(-10) =
    # 4.53978687e-05 is 4.539787e-05 (checked to 50 digits with mpmath), which nnspec gives.
    # So nnspec equals that kernel bit for bit except for this 1 ulp.
    kernel = scipy.special.expit(SEED_X)
    np.testing.assert_array_max_ulp(got, kernel, maxulp=1)
    assert_exact(np.delete(got, 5), np.delete(kernel, 5))


# --- the default initializer ---------------------------------------------------------------


BIG_AFFINE = """
nnspec: 1
seed: {seed}
layers:
  - {{name: x, type: Input, size: [400], generator: Normal}}
  - {{name: fc, type: Affine, out_shape: 600}}
"""


def _run_big(seed: int):
    spec = nnspec.loads(BIG_AFFINE.format(seed=seed))
    return nnspec.run(spec, samples=8)


def test_default_affine_initializer_is_glorot_normal():
    """W ~ N(0, sigma^2) with sigma = sqrt(2 / (fan_in + fan_out)) = sqrt(2 / 1000) (nnabla's
    NormalAffineGlorot), b = 0.

    n = 400 * 600 = 240000 independent draws. The sample std s of n normal draws has standard
    error sigma / sqrt(2 n) (0.14 % of sigma here) and the sample mean sigma / sqrt(n); 5
    standard errors makes a false failure a < 1e-6 event, while He forward (sqrt(2/400), +58 %),
    He backward (sqrt(2/600), +29 %) or a variance of 1/(fan_in+fan_out) (-29 %) are far outside.
    The share of draws within one sigma (0.6827 for a normal, 0.5774 for a uniform of the
    same std) tells Glorot normal from Glorot uniform; its standard error is sqrt(p(1-p)/n)."""
    result = _run_big(0)
    W = result.layer_parameters["fc"]["W"].astype(np.float64)
    b = result.layer_parameters["fc"]["b"]
    assert W.shape == (400, 600) and b.shape == (600,)
    n = W.size
    sigma = math.sqrt(2.0 / (400 + 600))
    assert abs(W.std() - sigma) <= 5 * sigma / math.sqrt(2 * n)
    assert abs(W.mean()) <= 5 * sigma / math.sqrt(n)
    p = math.erf(1 / math.sqrt(2))  # 0.6827
    share = np.mean(np.abs(W) <= sigma)
    assert abs(share - p) <= 5 * math.sqrt(p * (1 - p) / n)
    assert np.all(b == 0)


def test_default_initializer_is_used_by_the_layer_and_deterministic_per_seed():
    spec_text = (
        "nnspec: 1\nseed: {seed}\nlayers:\n  - {{name: x, type: Input, size: [5]}}\n"
        "  - {{name: fc, type: Affine, out_shape: 3}}\n"
    )
    x = np.array([[1.0, -2.0, 0.5, 0.0, 3.0], [0.1, 0.2, 0.3, 0.4, 0.5]])

    def run(seed):
        return nnspec.run(nnspec.loads(spec_text.format(seed=seed)), {"x": x})

    first, again, other = run(0), run(0), run(1)
    W, b = first.layer_parameters["fc"]["W"], first.layer_parameters["fc"]["b"]
    expected = ref_affine(
        [x.astype(np.float32).astype(np.float64)],
        {"out_shape": (3,)},
        {"W": W.astype(np.float64), "b": b.astype(np.float64)},
    )
    np.testing.assert_allclose(first.outputs["fc"], expected.astype(np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(again.outputs["fc"], first.outputs["fc"])
    np.testing.assert_array_equal(again.layer_parameters["fc"]["W"], W)
    assert not np.array_equal(other.layer_parameters["fc"]["W"], W)
    assert not np.array_equal(other.outputs["fc"], first.outputs["fc"])


def test_big_layer_run_is_deterministic_and_seed_dependent():
    a, b, c = _run_big(0), _run_big(0), _run_big(7)
    np.testing.assert_array_equal(a.outputs["fc"], b.outputs["fc"])
    np.testing.assert_array_equal(a.layer_parameters["fc"]["W"], b.layer_parameters["fc"]["W"])
    assert not np.array_equal(a.layer_parameters["fc"]["W"], c.layer_parameters["fc"]["W"])
    assert not np.array_equal(a.outputs["fc"], c.outputs["fc"])
