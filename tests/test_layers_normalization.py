"""The normalization layers checked against independent references.

References: explicit Python loops over every value, grouping the values that share a mean and a
variance by their indices (never by reshaping as nnspec does). Sums, means and biased variances are
exact (Python's ``fractions``: every float is a fraction); square roots, divisions and powers are
taken in Python's ``decimal`` at 60 significant digits, far beyond float64, and the result rounded
once to float64. The definitions are nnabla's (NNC's engine), spelled
out independently here:

* BatchNormalization, LayerNormalization, InstanceNormalization, GroupNormalization:
  o = (i - mean) / sqrt(var + epsilon) * gamma + beta, var the biased variance (sum / n), epsilon
  inside the square root; BatchNormalization with batch_stat false uses the stored mean and var.
* NormNormalization: o = i / (sum |i|^p + epsilon)^(1/p).
* MeanSubtraction: o = i - mean, the mean first moved to mean + (batch mean - mean) / (t + 1)
  when update_running_mean is on (nnabla's training step; t the count of batches seen).

The cases run the training forward pass (``training=True``), where batch_stat and
update_running_mean are honoured as written. NNC's evaluation, nnspec's default, passes
batch_stat false and update_running_mean false whatever the spec says (its layer definitions'
``-test=False``): test_evaluation_uses_the_stored_statistics runs the same cases that way.

Inputs are the values nnspec receives (data and parameters rounded to the spec's dtype), so a
reference is the exact answer for exactly those values.

Tolerance (``assert_normalized_close``): |got - exact| <= rtol |exact| + K eps M + tiny, where

* rtol is 1e-6 for float32 (8 ulp) and 1e-12 for float64: a result computed in the dtype carries
  a few roundings, each at most an ulp, and the final rounding of the exact value adds one more;
* M is the magnitude the result is computed from: for the standardising layers
  (max |i| of the group) / sqrt(var + eps) |gamma| + |beta| (a mean subtracted from the values
  leaves an absolute error of a few eps times the largest value, which the division by the
  standard deviation magnifies), (|i| + |mean|) |gamma| / sqrt(var + eps) + |beta| with stored
  statistics, |i| + |mean| for MeanSubtraction, and |o| for NormNormalization (a quotient by a sum
  of positive terms is accurate relative to itself);
* K = 64 covers the textbook bound (n - 1) eps of a sum of n terms, n <= 36 here (the largest
  group in these cases), plus the handful of roundings after it, eps the dtype's machine epsilon;
  tiny is the smallest normal number of the dtype. (Measured: at most 1.4 eps M.)

A wrong formula is far outside this: the unbiased variance is off by a factor sqrt(n / (n - 1)),
epsilon outside the square root by 100 % where the variance is near epsilon (checked exactly, by
hand, below), a wrong grouping by whole units.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates

from .layer_harness import (
    DTYPES,
    RTOL,
    as_received,
    assert_error_within,
    case_params,
    cycled,
    forward_raising,
    layer_spec,
    run_spec,
)

K = 64

# The layer types this module adds and tests.
NORMALIZATION_TYPES = (
    "BatchNormalization",
    "LayerNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "NormNormalization",
    "MeanSubtraction",
)

DEC = Context(prec=60)


# --- independent references ---------------------------------------------------------------------
#
# Each takes the inputs (float64 arrays of the values nnspec receives, batch axis first), the
# properties as NNC's reference gives them (defaults spelled out by the cases, never read from
# nnspec), and the parameters by their short nnabla names, as float64 arrays in nnabla's layout.
# It returns (exact result rounded to float64, magnitude M of the tolerance).


def _f(v: float) -> Fraction:
    return Fraction(float(v))  # exact: every float is a fraction


def _dec(v: Fraction) -> Decimal:
    """An exact fraction rounded to 60 digits (the decimal context of the references)."""
    return Decimal(v.numerator) / Decimal(v.denominator)


def _float(v: Fraction | Decimal) -> float:
    """Correctly rounded to float64; beyond its range, +-inf."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def exact(reference):
    """Run a reference in the 60-digit decimal context (not the 28-digit default)."""

    def run(*args):
        with localcontext(DEC):
            return reference(*args)

    run.__doc__ = reference.__doc__
    return run


def _at(param: np.ndarray, index: tuple[int, ...]) -> float:
    """A parameter's value for the input value at ``index``: parameter and index line up at their
    last axes, and size-1 axes repeat (nnabla broadcasting)."""
    offset = len(index) - param.ndim
    return float(param[tuple(0 if m == 1 else k for k, m in zip(index[offset:], param.shape))])


def _groups(shape: tuple[int, ...], key: Callable[[tuple[int, ...]], tuple]) -> dict[tuple, list[tuple[int, ...]]]:
    """Indices of the values sharing statistics, by the key of their index."""
    groups: dict[tuple, list[tuple[int, ...]]] = {}
    for index in np.ndindex(shape):
        groups.setdefault(key(index), []).append(index)
    return groups


def _standardized(x: np.ndarray, key, epsilon: float, params: Mapping[str, np.ndarray]):
    """(x - mean) / sqrt(var + eps) * gamma + beta per group, mean and biased var of the group
    exact (fractions), the square root and what follows at 60 digits."""
    out, magnitude = np.empty(x.shape), np.empty(x.shape)
    for indices in _groups(x.shape, key).values():
        values = [_f(x[i]) for i in indices]
        n = len(values)
        mean = sum(values, Fraction(0)) / n
        var = sum(((v - mean) ** 2 for v in values), Fraction(0)) / n
        denominator = _dec(var + _f(epsilon)).sqrt()
        largest = max(abs(v) for v in values)
        for index, v in zip(indices, values):
            g, b = _at(params["gamma"], index), _at(params["beta"], index)
            out[index] = _float(_dec(v - mean) / denominator * _dec(_f(g)) + _dec(_f(b)))
            magnitude[index] = _float(_dec(largest) / denominator) * abs(g) + abs(b)
    return out, magnitude


@exact
def ref_batch_normalization(inputs, props, params):
    x = inputs[0]
    axes = [a + 1 for a in props["axes"]]
    if props["batch_stat"]:
        return _standardized(x, lambda i: tuple(i[a] for a in axes), props["epsilon"], params)
    out, magnitude = np.empty(x.shape), np.empty(x.shape)
    for index in np.ndindex(x.shape):
        m, v = _at(params["mean"], index), _at(params["var"], index)
        g, b = _at(params["gamma"], index), _at(params["beta"], index)
        denominator = _dec(_f(v) + _f(props["epsilon"])).sqrt()
        centred = _f(x[index]) - _f(m)
        out[index] = _float(_dec(centred * _f(g)) / denominator + _dec(_f(b)))
        magnitude[index] = _float(_dec(abs(_f(x[index])) + abs(_f(m))) * abs(_dec(_f(g))) / denominator) + abs(b)
    return out, magnitude


def _batch_key(index: tuple[int, ...], batch_axis: int) -> tuple:
    """The sample, and the index along batch_axis when it names a sample axis (-1: the batch axis alone)."""
    return (index[0],) + ((index[batch_axis + 1],) if batch_axis >= 0 else ())


@exact
def ref_layer_normalization(inputs, props, params):
    return _standardized(inputs[0], lambda i: _batch_key(i, props["batch_axis"]), props["epsilon"], params)


@exact
def ref_instance_normalization(inputs, props, params):
    c = props["channel_axis"] + 1
    key = lambda i: _batch_key(i, props["batch_axis"]) + (i[c],)  # noqa: E731
    return _standardized(inputs[0], key, props["epsilon"], params)


@exact
def ref_group_normalization(inputs, props, params):
    """Channel k belongs to group k // (C / num_groups): consecutive channels form a group."""
    x = inputs[0]
    c = props["channel_axis"] + 1
    per_group = x.shape[c] // props["num_groups"]
    key = lambda i: _batch_key(i, props["batch_axis"]) + (i[c] // per_group,)  # noqa: E731
    return _standardized(x, key, props["epsilon"], params)


@exact
def ref_norm_normalization(inputs, props, params):
    """A sum of positive powers: no cancellation, so 60 digits are as good as exact."""
    x = inputs[0]
    reduced = {a + 1 for a in props["axes"]} or set(range(x.ndim))
    p, eps = _dec(_f(props["p"])), _dec(_f(props["epsilon"]))
    out = np.empty(x.shape)
    for indices in _groups(x.shape, lambda i: tuple(k for a, k in enumerate(i) if a not in reduced)).values():
        total = sum((abs(_dec(_f(x[i]))) ** p for i in indices), Decimal(0))
        norm = (total + eps) ** (1 / p)
        for i in indices:
            out[i] = _float(_dec(_f(x[i])) / norm)
    return out, np.abs(out)


@exact
def ref_mean_subtraction(inputs, props, params):
    x = inputs[0]
    base = props["base_axis"] + 1  # numpy axes 0..base-1 share a mean; the rest index it
    out, magnitude = np.empty(x.shape), np.empty(x.shape)
    for indices in _groups(x.shape, lambda i: i[base:]).values():
        mean = _f(_at(params["mean"], indices[0]))  # the mean lines up with the trailing axes
        if props["update_running_mean"]:
            count = max(math.trunc(float(params["t"].reshape(-1)[0])), 0)
            batch_mean = sum((_f(x[i]) for i in indices), Fraction(0)) / len(indices)
            mean = mean + (batch_mean - mean) / (count + 1)
        for i in indices:
            out[i] = _float(_f(x[i]) - mean)
            magnitude[i] = abs(float(x[i])) + abs(_float(mean))
    return out, magnitude


REFERENCES: dict[str, Callable[[Sequence[np.ndarray], Mapping[str, Any], Mapping[str, np.ndarray]], Any]] = {
    "BatchNormalization": ref_batch_normalization,
    "LayerNormalization": ref_layer_normalization,
    "InstanceNormalization": ref_instance_normalization,
    "GroupNormalization": ref_group_normalization,
    "NormNormalization": ref_norm_normalization,
    "MeanSubtraction": ref_mean_subtraction,
}


# --- inputs ---------------------------------------------------------------------------------------


def extremes(dtype: str) -> list[float]:
    """0, tiny values (1e-30 and the dtype's smallest normal number), values around 1, the +-100
    and +-1e4 magnitudes of the range checks, and their negatives."""
    tiny = float(np.finfo(dtype).tiny)
    base = [0.0, 1e-30, tiny, 0.5, 1.0, 2.65, 4.6, 10.0, 36.8, 100.0, 104.0, 1e4]
    return base + [-v for v in base[1:]]


def sample_values(dtype: str, shape: tuple[int, ...], batch: int = 3, shift: int = 0) -> np.ndarray:
    """A (batch, *shape) array of the extreme values, cycled with a stride so groups mix them."""
    return cycled(extremes(dtype), shape, shift=shift, batch=batch)


def near_epsilon(batch: int, shape: tuple[int, ...]) -> np.ndarray:
    """Values 100 + 0.001 k: a variance near 1e-5..1e-4, where epsilon matters, on a large mean."""
    count = batch * math.prod(shape)
    return (100.0 + 0.001 * np.arange(count) * np.where(np.arange(count) % 2, 1, -1)).reshape((batch, *shape))


def _random_params(seed: int, shapes: dict[str, tuple[int, ...]]) -> Callable[[str], dict[str, np.ndarray]]:
    """Parameters by their full nnabla names (y/bn/gamma, ...) in nnabla's layouts: var uniform in
    0.01..4 (a variance), t the count 3, the rest normal with std 2."""

    def make(dtype: str) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        out = {}
        for name, shape in shapes.items():
            if name.endswith("/var"):
                out[name] = rng.uniform(0.01, 4.0, shape)
            elif name.endswith("/t"):
                out[name] = np.full(shape, 3.0)
            else:
                out[name] = rng.normal(0.0, 2.0, shape)
        return out

    return make


# --- cases -------------------------------------------------------------------------------------------


@dataclass
class Case:
    """The layer y of ``type`` after an Input x of ``size``."""

    id: str
    type: str
    layer: str  # the YAML mapping of the layer's properties
    size: tuple[int, ...]
    ref_props: dict[str, Any]  # every property, NNC's defaults spelled out
    params: Callable[[str], dict[str, np.ndarray]] | None = None  # nnabla-named, given to the run
    defaults: dict[str, float] = field(default_factory=dict)  # no params given: NNC's initial constants
    data: Callable[[str], np.ndarray] | None = None

    def spec_text(self, dtype: str) -> str:
        return layer_spec(dtype, self.type, {"x": self.size}, self.layer, seed=False, outputs=False)

    def inputs(self, dtype: str) -> np.ndarray:
        return self.data(dtype) if self.data else sample_values(dtype, self.size)


BN = {"axes": [0], "decay_rate": 0.9, "epsilon": 1e-4, "batch_stat": True}
LN = {"batch_axis": -1, "epsilon": 1e-5}
IN = {"channel_axis": 0, "batch_axis": -1, "epsilon": 1e-5}
GN = {"channel_axis": 0, "batch_axis": -1, "num_groups": 4, "epsilon": 1e-5}
NORM = {"p": 2.0, "axes": [-1, 0, 1, 2], "epsilon": 1e-12}
MS = {"base_axis": 0, "update_running_mean": True}


def _bn_params(shape):
    return _random_params(7, {f"y/bn/{n}": shape for n in ("beta", "gamma", "mean", "var")})


def _ms_params(shape):
    return _random_params(5, {"y/mean_subtraction/mean": shape, "y/mean_subtraction/t": (1,)})


def _affine_params(scope, shape, seed=11):
    return _random_params(seed, {f"y/{scope}/{n}": shape for n in ("beta", "gamma")})


CASES = [
    Case("BN-default", "BatchNormalization", "", (3, 2, 2), BN, _bn_params((1, 3, 1, 1))),
    Case("BN-axes1", "BatchNormalization", "axes: [1]", (2, 3), {**BN, "axes": [1]}, _bn_params((1, 1, 3))),
    Case(
        "BN-axes0-2",
        "BatchNormalization",
        "axes: [0, 2], epsilon: 0.01",
        (2, 2, 3),
        {**BN, "axes": [0, 2], "epsilon": 0.01},
        _bn_params((1, 2, 1, 3)),
    ),
    Case(
        "BN-near-epsilon",
        "BatchNormalization",
        "decay_rate: 0.5",
        (4,),
        {**BN, "decay_rate": 0.5},
        _bn_params((1, 4)),
        data=lambda dtype: near_epsilon(3, (4,)),
    ),
    Case(
        "BN-stored",
        "BatchNormalization",
        "batch_stat: false, epsilon: 0.5",
        (3, 2),
        {**BN, "batch_stat": False, "epsilon": 0.5},
        _bn_params((1, 3, 1)),
    ),
    Case(
        "BN-stored-untrained",  # NNC's initial values: beta 0, gamma 1, mean 0, var 0
        "BatchNormalization",
        "batch_stat: false",
        (3,),
        {**BN, "batch_stat": False},
        defaults={"beta": 0.0, "gamma": 1.0, "mean": 0.0, "var": 0.0},
    ),
    Case(
        "BN-untrained",
        "BatchNormalization",
        "",
        (2, 2),
        BN,
        defaults={"beta": 0.0, "gamma": 1.0, "mean": 0.0, "var": 0.0},
    ),
    Case("LN-default", "LayerNormalization", "", (2, 3), LN, _affine_params("layer_normalization", (1, 2, 3))),
    Case(
        "LN-batch-axis0",
        "LayerNormalization",
        "batch_axis: 0, epsilon: 0.01",
        (3, 4),
        {"batch_axis": 0, "epsilon": 0.01},
        _affine_params("layer_normalization", (1, 1, 4)),
    ),
    Case(
        "LN-near-epsilon",
        "LayerNormalization",
        "",
        (6,),
        LN,
        _affine_params("layer_normalization", (1, 6)),
        data=lambda dtype: near_epsilon(2, (6,)),
    ),
    Case("LN-untrained", "LayerNormalization", "", (5,), LN, defaults={"beta": 0.0, "gamma": 1.0}),
    Case(
        "IN-default", "InstanceNormalization", "", (3, 2, 2), IN, _affine_params("instance_normalization", (1, 3, 1, 1))
    ),
    Case(
        "IN-channel1-batch-axis0",
        "InstanceNormalization",
        "channel_axis: 1, batch_axis: 0, epsilon: 0.001",
        (2, 3, 4),
        {"channel_axis": 1, "batch_axis": 0, "epsilon": 0.001},
        _affine_params("instance_normalization", (1, 1, 3, 1)),
    ),
    Case("GN-default", "GroupNormalization", "", (8, 3), GN, _affine_params("group_normalization", (1, 8, 1))),
    Case(
        "GN-channel1",
        "GroupNormalization",
        "channel_axis: 1, num_groups: 2, epsilon: 0.1",
        (3, 4, 2),
        {**GN, "channel_axis": 1, "num_groups": 2, "epsilon": 0.1},
        _affine_params("group_normalization", (1, 1, 4, 1)),
    ),
    Case(
        "GN-batch-axis-after-channel",
        "GroupNormalization",
        "num_groups: 2, batch_axis: 1",
        (4, 3),
        {**GN, "num_groups": 2, "batch_axis": 1},
        _affine_params("group_normalization", (1, 4, 1)),
    ),
    Case(
        "GN-batch-axis-before-channel",
        "GroupNormalization",
        "channel_axis: 1, num_groups: 3, batch_axis: 0",
        (2, 6),
        {**GN, "channel_axis": 1, "num_groups": 3, "batch_axis": 0},
        _affine_params("group_normalization", (1, 1, 6)),
    ),
    Case("Norm-default", "NormNormalization", "", (2, 3, 2), NORM),
    Case("Norm-p1-axis0", "NormNormalization", "p: 1, axes: [0]", (3, 4), {**NORM, "p": 1.0, "axes": [0]}),
    Case(
        "Norm-p3.5-axis1",
        "NormNormalization",
        "p: 3.5, axes: [1], epsilon: 0.001",
        (2, 3),
        {"p": 3.5, "axes": [1], "epsilon": 0.001},
    ),
    Case("Norm-all-axes", "NormNormalization", "axes: []", (4,), {**NORM, "axes": []}),
    Case(
        "Norm-tiny",  # norms far below epsilon^(1/2) = 1e-6: the values are divided by about 1e-6
        "NormNormalization",
        "axes: [0]",
        (3,),
        {**NORM, "axes": [0]},
        data=lambda dtype: np.array([[1e-30, -2e-30, 0.0], [1e-9, 1e-8, 0.0], [0.0, 0.0, 0.0]]),
    ),
    Case(
        "MS-default",
        "MeanSubtraction",
        "",
        (2, 3),
        MS,
        _ms_params((2, 3)),
    ),
    Case(
        "MS-base1",
        "MeanSubtraction",
        "base_axis: 1",
        (2, 3),
        {**MS, "base_axis": 1},
        _ms_params((3,)),
    ),
    Case(
        "MS-stored",
        "MeanSubtraction",
        "update_running_mean: false",
        (2, 3),
        {**MS, "update_running_mean": False},
        _ms_params((2, 3)),
    ),
    Case("MS-untrained", "MeanSubtraction", "", (4,), MS, defaults={"mean": 0.0, "t": 0.0}),
]
CASE_PARAMS = case_params(CASES)


def run_case(case: Case, dtype: str, training: bool = True):
    """Run a case with every RuntimeWarning an error; returns (spec, result, data). By default the
    training pass, which honours the case's properties as written."""
    data = case.inputs(dtype)
    params = case.params(dtype) if case.params else None
    spec, result = run_spec(case.spec_text(dtype), {"x": data}, params, training=training)
    return spec, result, data


def reference_for(
    case: Case, dtype: str, data: np.ndarray, props: Mapping[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The reference on exactly what nnspec received: data and parameters rounded to the dtype.
    ``props``: the properties the reference computes with (default: the case's)."""
    x = as_received(data, dtype)
    if case.params:
        params = {k.rsplit("/", 1)[-1]: as_received(v, dtype) for k, v in case.params(dtype).items()}
    else:
        params = {name: np.array([value]) for name, value in case.defaults.items()}
    return REFERENCES[case.type]([x], case.ref_props if props is None else props, params)


def assert_normalized_close(got: np.ndarray, expected: np.ndarray, magnitude: np.ndarray, dtype: str) -> None:
    """Within rtol |exact| + K eps M + tiny (see the module docstring)."""
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    info = np.finfo(dtype)
    bound = RTOL[dtype] * np.abs(expected) + K * float(info.eps) * magnitude + float(info.tiny)
    assert_error_within(got, expected, bound)


# --- the catalog is covered ---------------------------------------------------------------------------


def test_references_cover_exactly_the_normalization_layers():
    assert set(REFERENCES) == set(NORMALIZATION_TYPES)
    assert set(NORMALIZATION_TYPES) <= set(nnspec.layer_types())
    assert {case.type for case in CASES} == set(NORMALIZATION_TYPES)


# --- every case against its reference -------------------------------------------------------------------


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    expected, magnitude = reference_for(case, dtype, data)
    assert_normalized_close(result.outputs["y"], expected, magnitude, dtype)


# NNC's layer definitions mark these arguments -test=False: its evaluation passes them whatever the
# property says (sony/nnc-desktop, settings/NNabla/layer_component/*/BatchNormalization.txt and
# MeanSubtraction.txt).
NNC_EVALUATION_ARGUMENTS = {
    "BatchNormalization": {"batch_stat": False},
    "MeanSubtraction": {"update_running_mean": False},
}


@pytest.mark.parametrize("case, dtype", case_params([case for case in CASES if case.type in NNC_EVALUATION_ARGUMENTS]))
def test_evaluation_uses_the_stored_statistics(case: Case, dtype: str):
    """A run without training=True computes what NNC's evaluation computes: the reference with
    batch_stat / update_running_mean false, whatever the case's properties say."""
    spec, result, data = run_case(case, dtype, training=False)
    props = {**case.ref_props, **NNC_EVALUATION_ARGUMENTS[case.type]}
    expected, magnitude = reference_for(case, dtype, data, props)
    assert_normalized_close(result.outputs["y"], expected, magnitude, dtype)
    assert result.semantics == "evaluation"


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    assert spec.layers["y"].shape == result.outputs["y"].shape[1:] == case.size


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The runner silences numpy's warnings around each layer; here the forward function runs on
    the same finite inputs with overflow, invalid and divide-by-zero raised."""
    spec, result, data = run_case(case, dtype)
    layer = spec.layers["y"]
    forward_raising(layer, [data.astype(dtype)], result.layer_parameters["y"])


# --- properties, defaults, parameters -------------------------------------------------------------------


DEFAULTS = {
    "BatchNormalization": {"axes": (0,), "decay_rate": 0.9, "epsilon": 1e-4, "batch_stat": True},
    "LayerNormalization": {"batch_axis": -1, "epsilon": 1e-5},
    "InstanceNormalization": {"channel_axis": 0, "batch_axis": -1, "epsilon": 1e-5},
    "GroupNormalization": {"channel_axis": 0, "batch_axis": -1, "num_groups": 4, "epsilon": 1e-5},
    "NormNormalization": {"p": 2.0, "axes": (-1, 0, 1, 2), "epsilon": 1e-12},
    "MeanSubtraction": {"base_axis": 0, "update_running_mean": True},
}


@pytest.mark.parametrize("layer_type", NORMALIZATION_TYPES)
def test_defaults_are_nnc_defaults(layer_type):
    """NNC's layer reference defaults (nnc-layer-defaults.txt), snake_case names."""
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [4, 2, 2]}}\n  - {{name: y, type: {layer_type}}}\n"
    )
    props = spec.layers["y"].props
    props = {k: v for k, v in props.items() if k != "parameter_scope"}
    assert props == DEFAULTS[layer_type]
    has_scope = "parameter_scope" in nnspec.layer_types()[layer_type].property_map
    assert has_scope == (layer_type != "NormNormalization")


PARAMETER_LAYOUTS = [
    # (type, properties, sample shape, function scope, {name: nnabla shape})
    ("BatchNormalization", "", (3, 4, 5), "bn", {n: (1, 3, 1, 1) for n in ("beta", "gamma", "mean", "var")}),
    ("BatchNormalization", "axes: [1]", (3, 4, 5), "bn", {n: (1, 1, 4, 1) for n in ("beta", "gamma", "mean", "var")}),
    (
        "BatchNormalization",
        "axes: [0, 2]",
        (3, 4, 5),
        "bn",
        {n: (1, 3, 1, 5) for n in ("beta", "gamma", "mean", "var")},
    ),
    ("LayerNormalization", "", (3, 4, 5), "layer_normalization", {"beta": (1, 3, 4, 5), "gamma": (1, 3, 4, 5)}),
    (
        "LayerNormalization",
        "batch_axis: 1",
        (3, 4, 5),
        "layer_normalization",
        {n: (1, 3, 1, 5) for n in ("beta", "gamma")},
    ),
    ("InstanceNormalization", "", (3, 4, 5), "instance_normalization", {n: (1, 3, 1, 1) for n in ("beta", "gamma")}),
    (
        "InstanceNormalization",
        "channel_axis: 2",
        (3, 4, 5),
        "instance_normalization",
        {n: (1, 1, 1, 5) for n in ("beta", "gamma")},
    ),
    ("GroupNormalization", "", (8, 4, 5), "group_normalization", {n: (1, 8, 1, 1) for n in ("beta", "gamma")}),
    ("MeanSubtraction", "", (3, 4, 5), "mean_subtraction", {"mean": (3, 4, 5), "t": (1,)}),
    ("MeanSubtraction", "base_axis: 1", (3, 4, 5), "mean_subtraction", {"mean": (4, 5), "t": (1,)}),
    ("NormNormalization", "", (3, 4, 5), None, {}),
]


@pytest.mark.parametrize("layer_type, layer, size, scope, shapes", PARAMETER_LAYOUTS)
def test_parameter_names_and_layouts_are_nnablas(layer_type, layer, size, scope, shapes):
    """nnabla's parametric functions: beta/gamma/mean/var of bn shaped like the input with the batch
    axis and every axis not in axes as 1; layer_normalization per value (batch axes 1); instance and
    group normalization per channel; mean_subtraction's mean the shape from base_axis, t (1,)."""
    extra = f", {layer}" if layer else ""
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {list(size)}}}\n"
        f"  - {{name: norm1, type: {layer_type}{extra}}}\n"
    )
    found = spec.layers["norm1"]
    assert found.type.function_scope == scope
    assert found.parameter_shapes == shapes
    assert {found.parameter_key(n) for n in shapes} == {f"norm1/{scope}/{n}" for n in shapes}
    if shapes:  # NNC's ParameterScope replaces the layer's name
        scoped = nnspec.loads(
            f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {list(size)}}}\n"
            f"  - {{name: norm1, type: {layer_type}{extra}, parameter_scope: enc/block}}\n"
        ).layers["norm1"]
        assert {scoped.parameter_key(n) for n in shapes} == {f"enc/block/{scope}/{n}" for n in shapes}


def test_default_initializers_are_nncs_constants():
    """NNC: beta Constant 0, gamma Constant 1, mean Constant 0, var Constant 0 (nnabla's own var
    default is 1; NNC's is 0); MeanSubtraction mean 0 and t 0."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 2]}\n  - {name: bn, type: BatchNormalization}\n"
        "  - {name: ln, type: LayerNormalization, input: x}\n  - {name: ms, type: MeanSubtraction, input: x}\n"
    )
    parameters = nnspec.run(spec, {"x": np.ones((2, 3, 2))}, statistics=False).layer_parameters
    expected = {
        "bn": {"beta": 0.0, "gamma": 1.0, "mean": 0.0, "var": 0.0},
        "ln": {"beta": 0.0, "gamma": 1.0},
        "ms": {"mean": 0.0, "t": 0.0},
    }
    for layer, values in expected.items():
        assert set(parameters[layer]) == set(values)
        for name, value in values.items():
            assert np.all(parameters[layer][name] == value), (layer, name)


def test_parameters_load_by_nnabla_name_and_scope_is_shared():
    """A ParameterScope shared by two layers shares bn/gamma etc.; names are {scope}/bn/{name}."""
    spec = nnspec.loads(
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "  - {name: a, type: BatchNormalization, batch_stat: false, parameter_scope: shared}\n"
        "  - {name: b, type: BatchNormalization, batch_stat: false, parameter_scope: shared, input: x}\n"
    )
    params = {
        "shared/bn/beta": np.array([[1.0, -1.0]]),
        "shared/bn/gamma": np.array([[2.0, 0.5]]),
        "shared/bn/mean": np.array([[3.0, 0.0]]),
        "shared/bn/var": np.array([[0.9999, 3.9999]]),  # + epsilon 1e-4: 1 and 4
    }
    result = nnspec.run(spec, {"x": np.array([[5.0, 4.0]])}, params=params)
    # (5 - 3) * 2 / 1 + 1 = 5; (4 - 0) * 0.5 / 2 - 1 = 0
    np.testing.assert_allclose(result.outputs["a"], [[5.0, 0.0]], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(result.outputs["a"], result.outputs["b"])


# --- nnabla's definitions, by hand ----------------------------------------------------------------------

HAND = "nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n  - {{name: y, {layer}}}\n"


def _hand(dtype: str, size: list[int], layer: str, x: np.ndarray, params=None, training=False) -> np.ndarray:
    spec = nnspec.loads(HAND.format(dtype=dtype, size=size, layer=layer))
    return nnspec.run(spec, {"x": x}, params=params, training=training).outputs["y"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "size, layer, x",
    [
        ([1], "type: BatchNormalization, epsilon: 3", [[-1.0], [1.0]]),
        ([2], "type: LayerNormalization, epsilon: 3", [[-1.0, 1.0]]),
        ([1, 2], "type: InstanceNormalization, epsilon: 3", [[[-1.0, 1.0]]]),
        ([2, 1], "type: GroupNormalization, num_groups: 1, epsilon: 3", [[[-1.0], [1.0]]]),
    ],
)
def test_epsilon_inside_the_square_root_and_biased_variance(dtype, size, layer, x):
    """Values -1 and 1: mean 0, biased variance 1 (unbiased: 2), epsilon 3 -> +-1 / sqrt(1 + 3) =
    +-0.5 exactly. The unbiased variance would give +-1/sqrt(5), epsilon outside the root +-1/4.
    BatchNormalization's batch statistics: the training pass."""
    got = _hand(dtype, size, layer, np.array(x), training=True)
    np.testing.assert_array_equal(got.reshape(-1), np.array([-0.5, 0.5], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_norm_normalization_epsilon_before_the_root(dtype):
    """(3, 4): (9 + 16 + 11)^(1/2) = 6 -> (0.5, 2/3); with epsilon after the root: 5 + 11 = 16.
    p 1 and epsilon 0: |3| + |4| = 7 -> (3/7, 4/7), each correctly rounded (one division)."""
    x = np.array([[3.0, 4.0]])
    got = _hand(dtype, [2], "type: NormNormalization, axes: [0], epsilon: 11", x)
    np.testing.assert_array_equal(got, np.array([[0.5, 2 / 3]], dtype=dtype))
    got = _hand(dtype, [2], "type: NormNormalization, axes: [0], p: 1, epsilon: 0", x)
    np.testing.assert_allclose(got, np.array([[3 / 7, 4 / 7]]).astype(dtype), rtol=RTOL[dtype])


def test_group_normalization_groups_consecutive_channels():
    """Channels (0, 1) and (2, 3) form the groups: (0, 2) -> -1, 1 and (16, 32) -> -1, 1 (epsilon
    0, every step exact in binary); interleaved groups (0, 16), (2, 32) would give other values."""
    x = np.array([[[0.0], [2.0], [16.0], [32.0]]])
    got = _hand("float64", [4, 1], "type: GroupNormalization, num_groups: 2, epsilon: 0", x)
    np.testing.assert_array_equal(got.reshape(-1), [-1.0, 1.0, -1.0, 1.0])


def test_batch_normalization_stored_statistics_by_hand():
    """(i - mean) / sqrt(var + eps) * gamma + beta with eps 1e-4 and var + eps = 0.25."""
    params = {"y/bn/beta": np.array([[0.5]]), "y/bn/gamma": np.array([[-2.0]]), "y/bn/mean": np.array([[1.0]])}
    params["y/bn/var"] = np.array([[0.25 - 1e-4]])
    got = _hand("float64", [1], "type: BatchNormalization, batch_stat: false", np.array([[3.0], [1.0]]), params)
    np.testing.assert_allclose(got.reshape(-1), [-7.5, 0.5], rtol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_untrained_stored_statistics_multiply_by_100(dtype):
    """NNC initialises var to 0: with stored statistics an untrained layer computes i / sqrt(1e-4)."""
    x = np.array([[0.5, -1.0, 3.0]])
    got = _hand(dtype, [3], "type: BatchNormalization, batch_stat: false", x)
    np.testing.assert_allclose(got, (x * 100).astype(dtype), rtol=RTOL[dtype])


def test_mean_subtraction_running_update_by_hand():
    """Training: t = 1: mean 2 moves halfway to the batch mean 6 (of 4 and 8): 4; o = i - 4.
    t = 0 (untrained): the batch mean itself; update off: the stored mean.
    Evaluation (NNC's update_running_mean -test=False): the stored mean 2 in every case."""
    x = np.array([[4.0], [8.0]])
    for t, layer, expected in [
        (1.0, "type: MeanSubtraction", [0.0, 4.0]),
        (1.9, "type: MeanSubtraction", [0.0, 4.0]),  # nnabla reads the count as an integer
        (0.0, "type: MeanSubtraction", [-2.0, 2.0]),
        (1.0, "type: MeanSubtraction, update_running_mean: false", [2.0, 6.0]),
    ]:
        params = {"y/mean_subtraction/mean": np.array([2.0]), "y/mean_subtraction/t": np.array([t])}
        got = _hand("float64", [1], layer, x, params, training=True)
        np.testing.assert_array_equal(got.reshape(-1), expected)
        np.testing.assert_array_equal(_hand("float64", [1], layer, x, params).reshape(-1), [2.0, 6.0])


# --- batch dependence ---------------------------------------------------------------------------------


def _batch_runs(layer: str, params=None, size=(3,), training=True):
    spec = nnspec.loads(HAND.format(dtype="float64", size=list(size), layer=layer))
    x = sample_values("float64", size, batch=6)
    whole = nnspec.run(spec, {"x": x}, params=params, training=training).outputs["y"]
    split = nnspec.run(spec, {"x": x}, params=params, batch_size=2, training=training).outputs["y"]
    return whole, split


def test_batch_statistics_depend_on_the_batch_and_stored_ones_do_not():
    """In training, batch statistics depend on the batch; at evaluation (the default) nothing does."""
    whole, split = _batch_runs("type: BatchNormalization")
    assert not np.allclose(whole, split)
    whole, split = _batch_runs("type: BatchNormalization, batch_stat: false")
    np.testing.assert_array_equal(whole, split)
    whole, split = _batch_runs("type: MeanSubtraction")  # t = 0: each batch's own mean
    assert not np.allclose(whole, split)
    for layer in ("type: BatchNormalization", "type: BatchNormalization, batch_stat: true", "type: MeanSubtraction"):
        whole, split = _batch_runs(layer, training=False)
        np.testing.assert_array_equal(whole, split)
    whole, split = _batch_runs("type: NormNormalization, axes: [-1, 0]")  # the batch axis in axes
    assert not np.allclose(whole, split)
    for layer in ("type: LayerNormalization", "type: NormNormalization, axes: [0]"):
        whole, split = _batch_runs(layer)
        np.testing.assert_array_equal(whole, split)


def test_batch_of_one_sample_outputs_beta_and_is_reported_constant():
    """Batch statistics of one (C,) sample (training): every value is its own mean, so o = beta."""
    spec = nnspec.loads(HAND.format(dtype="float32", size=[3], layer="type: BatchNormalization"))
    params = {f"y/bn/{n}": np.full((1, 3), v) for n, v in (("beta", 0.25), ("gamma", 2.0), ("mean", 0.0), ("var", 1.0))}
    x = np.array([[1.0, -5.0, 100.0], [3.0, 0.0, -2.0]])
    result = nnspec.run(spec, {"x": x}, params=params, batch_size=1, training=True)
    np.testing.assert_array_equal(result.outputs["y"], np.full((2, 3), 0.25, dtype=np.float32))
    assert "constant-output" in {f.check for f in result.findings if f.layer == "y"}


# --- zero variance, epsilon 0 -------------------------------------------------------------------------


_STORED_ZERO_VAR = {"y/bn/beta": np.zeros((1, 3)), "y/bn/gamma": np.ones((1, 3)), "y/bn/var": np.zeros((1, 3))}
_STORED_ZERO_VAR["y/bn/mean"] = np.array([[2.0, 1.0, 3.0]])


@pytest.mark.parametrize(
    "layer, size, x, params, expected",
    [
        # a sample of equal values
        ("type: LayerNormalization, epsilon: 0", [3], [[2.0, 2.0, 2.0]], None, [np.nan] * 3),
        # each channel constant over the batch
        ("type: BatchNormalization, epsilon: 0", [3], [[2.0, 5.0, -1.0], [2.0, 5.0, -1.0]], None, [np.nan] * 3),
        # one value per channel: every channel of a sample is its own mean
        ("type: InstanceNormalization, epsilon: 0", [3, 1], [[[2.0], [5.0], [-1.0]]], None, [np.nan] * 3),
        ("type: GroupNormalization, num_groups: 1, epsilon: 0", [3], [[4.0, 4.0, 4.0]], None, [np.nan] * 3),
        # an all-zero vector: 0 / (0 + 0)^(1/2)
        ("type: NormNormalization, axes: [0], epsilon: 0", [3], [[0.0, 0.0, 0.0]], None, [np.nan] * 3),
        # stored var 0: i - mean = 0, 1, -1 over sqrt(0)
        (
            "type: BatchNormalization, batch_stat: false, epsilon: 0",
            [3],
            [[2.0, 2.0, 2.0]],
            _STORED_ZERO_VAR,
            [np.nan, np.inf, -np.inf],
        ),
    ],
)
def test_zero_variance_with_epsilon_0_is_nnablas_division_by_zero(layer, size, x, params, expected):
    """A decision: nnabla divides by sqrt(0 + 0), giving 0 / 0 = NaN where the centred value is 0 and
    +-inf elsewhere; nnspec gives the same values (so a run shows what NNC would compute), without
    a numpy warning, and the nan-inf check reports them as an error of this layer. Batch statistics:
    the training pass."""
    spec = nnspec.loads(HAND.format(dtype="float32", size=size, layer=layer))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # the findings, asserted below
        result = nnspec.run(spec, {"x": np.array(x)}, params=params, training=True)
    got = result.outputs["y"][0].reshape(-1)
    np.testing.assert_array_equal(got, np.array(expected, dtype=np.float32))
    assert "nan-inf" in {f.check for f in result.errors if f.layer == "y"}
    layer_entry = spec.layers["y"]
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        layer_entry.type.forward([np.array(x, dtype=np.float32)], layer_entry.props, result.layer_parameters["y"])


# --- invalid properties and shapes -------------------------------------------------------------------


INVALID = [
    ("BatchNormalization", "axes: [2]", [4, 3], "axes"),
    ("BatchNormalization", "axes: [0, 0]", [4, 3], "axes"),
    ("BatchNormalization", "decay_rate: 1.5", [4], "decay_rate"),
    ("BatchNormalization", "epsilon: -0.001", [4], "epsilon"),
    ("BatchNormalization", "batch_stat: maybe", [4], "batch_stat"),
    ("LayerNormalization", "batch_axis: -2", [4, 3], "batch_axis"),
    ("LayerNormalization", "batch_axis: 2", [4, 3], "batch_axis"),
    ("LayerNormalization", "epsilon: -1", [4], "epsilon"),
    ("InstanceNormalization", "channel_axis: 2", [4, 3], "channel_axis"),
    ("InstanceNormalization", "channel_axis: 1, batch_axis: 1", [4, 3], "batch_axis"),
    ("GroupNormalization", "num_groups: 3", [4, 3], "num_groups"),
    ("GroupNormalization", "num_groups: 0", [4, 3], "num_groups"),
    ("GroupNormalization", "batch_axis: 5", [4, 3], "batch_axis"),
    ("NormNormalization", "p: 0.5", [4], "p"),
    ("NormNormalization", "axes: [-2]", [4], "axes"),
    ("NormNormalization", "", [4], "axes"),  # NNC's default -1,0,1,2 needs (C, H, W) samples
    ("NormNormalization", "axes: [0, 0]", [4], "axes"),
    ("NormNormalization", "axes: [0], epsilon: -1e-12", [4], "epsilon"),
    ("MeanSubtraction", "base_axis: 2", [4, 3], "base_axis"),
    ("MeanSubtraction", "update_running_mean: 1", [4], "update_running_mean"),
]


@pytest.mark.parametrize("layer_type, layer, size, prop", INVALID)
def test_invalid_properties_and_shapes_name_the_layer(layer_type, layer, size, prop):
    extra = f", {layer}" if layer else ""
    text = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n"
    text += f"  - {{name: norm, type: {layer_type}{extra}}}\n"
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(text)
    message = str(caught.value)
    assert f"'norm' ({layer_type})" in message
    assert prop in message


def test_camel_case_property_gets_a_suggestion():
    text = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
    text += "  - {name: bn, type: BatchNormalization, BatchStat: false}\n"
    with pytest.raises(nnspec.SpecError, match="NNC's 'BatchStat' is written 'batch_stat: false' in nnspec"):
        nnspec.loads(text)


def test_wrongly_shaped_parameter_file_is_refused():
    spec = nnspec.loads(HAND.format(dtype="float32", size=[3, 2], layer="type: LayerNormalization"))
    params = {"y/layer_normalization/beta": np.zeros((1, 3, 1)), "y/layer_normalization/gamma": np.ones((1, 3, 2))}
    with pytest.raises(nnspec.SpecError, match=r"y/layer_normalization/beta.*\(1, 3, 2\)"):
        nnspec.run(spec, {"x": np.ones((1, 3, 2))}, params=params)


# --- the largest finite inputs ------------------------------------------------------------------------


FLOAT_MAX_LAYERS = {
    "bn": ("BatchNormalization", "", BN),
    "ln": ("LayerNormalization", "", LN),
    "in": ("InstanceNormalization", "", IN),
    "gn": ("GroupNormalization", ", num_groups: 2", {**GN, "num_groups": 2}),
    "norm": ("NormNormalization", ", axes: [0, 1]", {**NORM, "axes": [0, 1]}),
    "norm3": ("NormNormalization", ", axes: [1], p: 3", {**NORM, "axes": [1], "p": 3.0}),
    "ms": ("MeanSubtraction", ", base_axis: 1", {**MS, "base_axis": 1}),
}


def float_max_data(dtype: str) -> np.ndarray:
    """The dtype's largest finite values beside 0, 1 and its smallest normal and subnormal numbers;
    sample 2 is a channel of only subnormal values."""
    info = np.finfo(dtype)
    big, tiny, sub = float(info.max), float(info.tiny), float(info.smallest_subnormal)
    return np.array(
        [
            [[big, -big, big], [big, big, -big]],
            [[1.0, -big, 0.0], [tiny, sub, -1.0]],
            [[sub, -sub, 2 * sub], [0.0, 0.0, 0.0]],
        ]
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_float_max_inputs_stay_finite_and_exact(dtype):
    """Squares of the dtype's largest values overflow even in float64 (for float64); nnspec
    standardises on values divided by their largest magnitude, so every output is finite, free of
    numpy warnings, and equal to the exact (decimal) answer within the usual tolerance (the training
    pass: BatchNormalization and MeanSubtraction with the batch's statistics, as FLOAT_MAX_LAYERS says)."""
    lines = [f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: [2, 3]}}"]
    lines += [f"  - {{name: {name}, type: {t}, input: x{extra}}}" for name, (t, extra, _) in FLOAT_MAX_LAYERS.items()]
    spec = nnspec.loads("\n".join(lines) + "\n")
    x = float_max_data(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # range findings on such data are expected
        result = nnspec.run(spec, {"x": x}, training=True)
    xs = [x.astype(dtype).astype(np.float64)]
    for name, (layer_type, _, props) in FLOAT_MAX_LAYERS.items():
        layer = spec.layers[name]
        params = {k: v.astype(np.float64) for k, v in result.layer_parameters[name].items()}
        expected, magnitude = REFERENCES[layer_type](xs, props, params)
        got = result.outputs[name]
        if layer_type == "MeanSubtraction":  # |i - mean| beyond the dtype's range: inf, correctly
            finite = np.abs(expected) <= float(np.finfo(dtype).max)
            np.testing.assert_array_equal(got[~finite], np.sign(expected[~finite]) * np.inf)
            got, expected, magnitude = got[finite], expected[finite], magnitude[finite]
        else:
            assert np.isfinite(got).all(), name
        assert_normalized_close(got, expected, magnitude, dtype)
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            layer.type.forward([x.astype(dtype)], layer.props, result.layer_parameters[name])


# --- static analysis ---------------------------------------------------------------------------------


def test_static_estimates_match_runs():
    """x ~ N(0, 10^2) (Normal generator times 10). Standardising layers: mean beta = 0, std gamma = 1;
    stored untrained statistics: 100 x, std 1000; MeanSubtraction with update_running_mean off and mean
    0: unchanged, std 10. 4096 samples of 8 values: sample stds within 5 % of their targets (standard
    error 0.4 %). NormNormalization (axes [0], 8 values): i / sqrt(8 * 100), std 0.354, within 5 %.
    In training; at evaluation (the default) bn uses its stored statistics too, as stored does."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [8], generator: Normal, generator_multiplier: 10}\n"
        "  - {name: bn, type: BatchNormalization, input: x}\n"
        "  - {name: stored, type: BatchNormalization, batch_stat: false, input: x}\n"
        "  - {name: ln, type: LayerNormalization, input: x}\n"
        "  - {name: gn, type: GroupNormalization, num_groups: 2, input: x}\n"
        "  - {name: norm, type: NormNormalization, axes: [0], input: x}\n"
        "  - {name: ms, type: MeanSubtraction, update_running_mean: false, input: x}\n"
    )
    found = estimates(spec, training=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the input-range finding on N(0, 100) data
        result = nnspec.run(spec, samples=4096, training=True)
        evaluated = nnspec.run(spec, samples=4096)
    assert estimates(spec)["bn"].std == pytest.approx(1000.0, rel=0.01)
    assert evaluated.stats["bn"].output.std == pytest.approx(1000.0, rel=0.05)
    targets = {"bn": 1.0, "stored": 1000.0, "ln": 1.0, "gn": 1.0, "norm": 10 / math.sqrt(800), "ms": 10.0}
    for name, std in targets.items():
        assert found[name].std == pytest.approx(std, rel=0.01), name
        assert result.stats[name].output.std == pytest.approx(std, rel=0.05), name
        assert abs(found[name].mean) < 1e-9
    assert -1.0 <= found["norm"].low and found["norm"].high <= 1.0


def test_static_analysis_predicts_saturation_after_untrained_stored_statistics(tmp_path):
    """Data in -1..1 through stored statistics NNC initialises (var 0) spans -100..100: a Tanh
    after it saturates, which validate predicts without data."""
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: bn, type: BatchNormalization, batch_stat: false}\n  - {name: t, type: Tanh}\n"
    )
    spec = nnspec.loads(text)
    found = estimates(spec)
    assert (found["bn"].low, found["bn"].high) == pytest.approx((-100.0, 100.0))
    path = tmp_path / "bn.yaml"
    path.write_text(text)
    checks = {d.code for d in nnspec.validate(path) if d.layer == "t"}
    assert any("saturation" in code for code in checks), checks
