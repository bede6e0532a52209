"""The Quantize layers (binary weights and activations, fixed-point, power-of-two and min-max
quantizers) and Prune, checked against independent references and against nnabla 1.39.

The references below never call nnspec: plain Python over every value and every term of a sum,
in float64, from the formulas of nnabla's functions.yaml and C++ (sign(0) = 1 for the binary
weights; alpha the mean |W| of an output's weights; fixed point floor(|i| / delta + 1/2) delta;
power of two 2^round(log2 |i|) with halves away from zero; min-max with nnabla's nudged range;
Prune's threshold the int((size - 1) rate)-th smallest |i| of the whole batch), with NNC's
defaults spelled out here, never read from nnspec's catalog.

Tolerances: a reference is exact in float64 and rounded once to the dtype; nnspec's sums of
K terms carry the classic bound K eps sum |terms| (the references return that magnitude), its
quantizers' levels are computed in the dtype as nnabla computes them in float (a level is a few
roundings at most: rtol 1e-6 in float32). The inputs of the reference cases keep away from the
quantizers' ties (the step's halves, the geometric means of two powers of two), where rounding
the division in float decides; nnabla's own outputs on ties are pinned by the fixture tests.
The fixture tests compare with nnabla's float32 outputs (tests/fixtures/nnabla/quantize.npz,
scripts/make_nnabla_quantize_fixture.py) within 1e-5, and the quantizers' levels exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates

from .layer_harness import (
    RTOL,
    as_received,
    assert_error_within,
    case_params,
    elementwise,
    forward_raising,
    layer_spec,
    run_spec,
)

FIXTURE = Path(__file__).parent / "fixtures" / "nnabla" / "quantize.npz"


# --- independent references ------------------------------------------------------------------------
#
# Each takes the input x (float64, the values nnspec received, batch axis first), the properties, and
# the parameters by their short names (float64, the values nnspec received), and returns (exact result,
# magnitude of the rounding: the sum of |terms| of each output's sum, 0 for a single value).


def _sign(w: float) -> float:
    return -1.0 if w < 0 else 1.0  # nnabla's Sign with quantize_zero_to 1: sign(0) = 1


def _affine_terms(x: np.ndarray, weight: Callable[[int, int], float], outputs: int, bias=None):
    n = x.shape[0]
    flat = x.reshape(n, -1)
    out, magnitude = np.zeros((n, outputs)), np.zeros((n, outputs))
    for s in range(n):
        for j in range(outputs):
            terms = [flat[s, k] * weight(k, j) for k in range(flat.shape[1])]
            if bias is not None:
                terms.append(float(bias[j]))
            out[s, j] = math.fsum(terms)
            magnitude[s, j] = math.fsum(abs(t) for t in terms)
    return out, magnitude


def ref_binary_connect_affine(x, props, params):
    W = params["W"].reshape(params["W"].shape[0], -1)
    bias = params["b"].reshape(-1) if "b" in params else None
    out, magnitude = _affine_terms(x, lambda k, j: _sign(W[k, j]), W.shape[1], bias)
    shape = (x.shape[0], *props["out_shape"])
    return out.reshape(shape), magnitude.reshape(shape)


def ref_binary_weight_affine(x, props, params):
    """alpha sign(W) i with alpha[j] = mean_k |W[k, j]|; NNC's b is never added."""
    W = params["W"].reshape(params["W"].shape[0], -1)
    alpha = [math.fsum(abs(W[k, j]) for k in range(W.shape[0])) / W.shape[0] for j in range(W.shape[1])]
    out, magnitude = _affine_terms(x, lambda k, j: alpha[j] * _sign(W[k, j]), W.shape[1])
    shape = (x.shape[0], *props["out_shape"])
    return out.reshape(shape), magnitude.reshape(shape)


def _convolve(x, props, weight, outputs, bias=None):
    """Plain loops: o[n, m, y0, y1] = sum_{c, k0, k1} weight(m, c, k) x[n, g Cg + c, y s + k d - p] + b[m]."""
    kernel, strides, dilation, padding, group = (
        props["kernel_shape"],
        props["strides"],
        props["dilation"],
        props["padding"],
        props["group"],
    )
    n, channels, height, width = x.shape
    per_group, maps_per_group = channels // group, outputs // group
    lengths = [
        (size + 2 * p - (d * (k - 1) + 1)) // s + 1
        for size, p, d, k, s in zip((height, width), padding, dilation, kernel, strides)
    ]
    out, magnitude = np.zeros((n, outputs, *lengths)), np.zeros((n, outputs, *lengths))
    for s_, m, y0, y1 in np.ndindex(n, outputs, *lengths):
        g = m // maps_per_group
        terms = []
        for c, k0, k1 in np.ndindex(per_group, *kernel):
            i0 = y0 * strides[0] + k0 * dilation[0] - padding[0]
            i1 = y1 * strides[1] + k1 * dilation[1] - padding[1]
            if 0 <= i0 < height and 0 <= i1 < width:
                terms.append(weight(m, c, k0, k1) * x[s_, g * per_group + c, i0, i1])
        if bias is not None:
            terms.append(float(bias[m]))
        out[s_, m, y0, y1] = math.fsum(terms)
        magnitude[s_, m, y0, y1] = math.fsum(abs(t) for t in terms)
    return out, magnitude


def ref_binary_connect_convolution(x, props, params):
    W = params["W"]
    return _convolve(x, props, lambda m, c, k0, k1: _sign(W[m, c, k0, k1]), W.shape[0], params.get("b"))


def ref_binary_weight_convolution(x, props, params):
    W = params["W"]
    alpha = [math.fsum(abs(float(w)) for w in W[m].ravel()) / W[m].size for m in range(W.shape[0])]
    return _convolve(x, props, lambda m, c, k0, k1: alpha[m] * _sign(W[m, c, k0, k1]), W.shape[0])


def ref_binary_tanh(x, props, params):
    return elementwise(lambda v: 1.0 if v > 0 else -1.0)(x), 0.0


def ref_binary_sigmoid(x, props, params):
    return elementwise(lambda v: 1.0 if v > 0 else 0.0)(x), 0.0


def ref_fixed_point_quantize(x, props, params):
    delta = props["delta"]
    bits = props["n"] - 1 if props["sign"] else props["n"]
    high = (2**bits - 1) * delta
    low = -high if props["sign"] else 0.0

    def quantize(v: float) -> float:
        if v > high:
            return high
        if v < low:
            return low
        return math.copysign(math.floor(abs(v) / delta + 0.5) * delta, v) if v else 0.0

    return elementwise(quantize)(x), 0.0


def _half_away(v: float) -> float:
    whole = math.trunc(v)
    return whole + (math.copysign(1, v) if abs(v - whole) >= 0.5 else 0)


def ref_pow2_quantize(x, props, params):
    bits = props["n"] - (1 if props["sign"] else 0) - (1 if props["with_zero"] else 0)
    high = 2.0 ** props["m"]
    low = 2.0 ** (props["m"] - (2**bits - 1))
    threshold = low * 2**-0.5

    def quantize(v: float) -> float:
        magnitude = abs(v)
        q = 0.0 if magnitude == 0 else 2.0 ** _half_away(math.log2(magnitude))
        if q > high:
            q = high
        elif q < low:
            q = 0.0 if props["with_zero"] and magnitude < threshold else low
        if v < 0:
            if props["sign"]:
                return -q
            return 0.0 if props["with_zero"] else low
        return q

    return elementwise(quantize)(x), 0.0


def ref_min_max_quantize(x, props, params):
    r, R, lowest, highest = (float(params[name].ravel()[0]) for name in ("r", "R", "l", "L"))
    if R - r < props["epsilon"]:
        R = r + props["epsilon"]
    scale = (R - r) / (highest - lowest)
    from_min = lowest - r / scale
    zero_point = lowest if from_min <= lowest else highest if from_min >= highest else _half_away(from_min)
    low, high = (lowest - zero_point) * scale, (highest - zero_point) * scale

    def quantize(v: float) -> float:
        return _half_away((min(max(v, low), high) - low) / scale) * scale + low

    out = elementwise(quantize)(x)
    return out, np.abs(out) + abs(low) + abs(high)


def ref_prune(x, props, params):
    magnitudes = sorted(abs(float(v)) for v in x.ravel())
    threshold = magnitudes[int((len(magnitudes) - 1) * props["rate"])] + (1.0 if props["rate"] == 1 else 0.0)
    return elementwise(lambda v: 0.0 if abs(v) < threshold else v)(x), 0.0


REFERENCES: dict[str, Callable[[np.ndarray, Mapping[str, Any], Mapping[str, np.ndarray]], Any]] = {
    "BinaryConnectAffine": ref_binary_connect_affine,
    "BinaryWeightAffine": ref_binary_weight_affine,
    "BinaryConnectConvolution": ref_binary_connect_convolution,
    "BinaryWeightConvolution": ref_binary_weight_convolution,
    "BinaryTanh": ref_binary_tanh,
    "BinarySigmoid": ref_binary_sigmoid,
    "FixedPointQuantize": ref_fixed_point_quantize,
    "Pow2Quantize": ref_pow2_quantize,
    "MinMaxQuantize": ref_min_max_quantize,
    "Prune": ref_prune,
}


# --- cases ------------------------------------------------------------------------------------------


def _normal(shape, scale=1.0, seed=0):
    return np.random.default_rng(seed).normal(0.0, scale, shape)


def _with_zeros(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.flat[0] = array.flat[-1] = 0.0  # sign(0) is 1
    return array


CONV = {"kernel_shape": [3, 2], "strides": [2, 1], "dilation": [1, 2], "padding": [1, 0], "group": 2}
CONV_YAML = "out_maps: 4, kernel_shape: [3, 2], strides: [2, 1], dilation: [1, 2], padding: [1, 0], group: 2"
RANGE_PARAMS = {"/r": np.array([-1.3]), "/R": np.array([2.7]), "/l": np.array([0.0]), "/L": np.array([15.0])}


@dataclass(frozen=True)
class Case:
    id: str
    type: str
    props: str  # the layer's YAML, besides name, type and input
    size: tuple[int, ...]
    ref_props: dict[str, Any]
    params: dict[str, np.ndarray] = field(default_factory=dict)  # by nnabla name
    scale: float = 1.0
    batch: int = 3

    def data(self) -> np.ndarray:
        return _normal((self.batch, *self.size), self.scale, seed=len(self.id))


CASES = [
    Case(
        "bca-out-2x3",
        "BinaryConnectAffine",
        "out_shape: [2, 3]",
        (2, 4),
        {"out_shape": (2, 3)},
        {
            "y/bicon_affine/W": _with_zeros(_normal((8, 2, 3))),
            "y/bicon_affine/Wb": _normal((8, 2, 3), seed=1),
            "y/bicon_affine/b": _normal((2, 3), seed=2),
        },
    ),
    Case(
        "bca-no-bias",
        "BinaryConnectAffine",
        "out_shape: 5, with_bias: false",
        (7,),
        {"out_shape": (5,)},
        {"y/bicon_affine/W": _normal((7, 5)), "y/bicon_affine/Wb": np.zeros((7, 5))},
    ),
    Case(
        "bwa-b-is-alpha",
        "BinaryWeightAffine",
        "out_shape: 4",
        (3, 2),
        {"out_shape": (4,)},
        {
            "y/bwn_affine/W": _with_zeros(_normal((6, 4), 0.3)),
            "y/bwn_affine/Wb": np.zeros((6, 4)),
            "y/bwn_affine/b": _normal((4,), 5.0, seed=3),
        },
    ),
    Case(
        "bwa-no-bias",
        "BinaryWeightAffine",
        "out_shape: [3, 2], with_bias: false",
        (5,),
        {"out_shape": (3, 2)},
        {"y/bwn_affine/W": _normal((5, 3, 2), 2.0), "y/bwn_affine/Wb": np.zeros((5, 3, 2))},
    ),
    Case(
        "bcc-grouped",
        "BinaryConnectConvolution",
        CONV_YAML,
        (4, 6, 7),
        CONV,
        {
            "y/bicon_conv/W": _with_zeros(_normal((4, 2, 3, 2))),
            "y/bicon_conv/Wb": np.zeros((4, 2, 3, 2)),
            "y/bicon_conv/b": _normal((4,), seed=4),
        },
        batch=2,
    ),
    Case(
        "bwc-grouped",
        "BinaryWeightConvolution",
        CONV_YAML,
        (4, 6, 7),
        CONV,
        {
            "y/bwn_conv/W": _normal((4, 2, 3, 2), 0.2),
            "y/bwn_conv/Wb": np.zeros((4, 2, 3, 2)),
            "y/bwn_conv/b": _normal((4,), seed=5),
        },
        batch=2,
    ),
    Case("btanh", "BinaryTanh", "", (4, 5), {}),
    Case("bsig", "BinarySigmoid", "", (4, 5), {}),
    Case(
        "fpq-unsigned",
        "FixedPointQuantize",
        "sign: false, n: 5, delta: 0.3",
        (30,),
        {"sign": False, "n": 5, "delta": 0.3},
        scale=4.0,
    ),
    Case(
        "fpq-signed-3bit",
        "FixedPointQuantize",
        "n: 3, delta: 0.7",
        (30,),
        {"sign": True, "n": 3, "delta": 0.7},
        scale=2.0,
    ),
    Case(
        "p2q-unsigned",
        "Pow2Quantize",
        "sign: false, n: 4, m: 2",
        (30,),
        {"sign": False, "with_zero": True, "n": 4, "m": 2},
        scale=3.0,
    ),
    Case(
        "p2q-no-zero",
        "Pow2Quantize",
        "with_zero: false, n: 5, m: 0",
        (30,),
        {"sign": True, "with_zero": False, "n": 5, "m": 0},
        scale=0.5,
    ),
    Case("mmq-range", "MinMaxQuantize", "epsilon: 0.05", (3, 5), {"epsilon": 0.05}, RANGE_PARAMS, scale=2.0),
    Case(
        "mmq-narrow",
        "MinMaxQuantize",
        "epsilon: 0.1",
        (12,),
        {"epsilon": 0.1},
        {"/r": np.array([0.5]), "/R": np.array([0.52]), "/l": np.array([2.0]), "/L": np.array([9.0])},
    ),
    Case("prune-0.7", "Prune", "rate: 0.7", (3, 5), {"rate": 0.7}, batch=4),
    Case("prune-all", "Prune", "rate: 1.0", (6,), {"rate": 1.0}),
]
CASE_PARAMS = case_params(CASES)


def _avoid_ties(case: Case, data: np.ndarray) -> None:
    """The reference cases keep off the quantizers' ties (see the module docstring)."""
    if case.type == "FixedPointQuantize":
        steps = np.abs(data) / case.ref_props["delta"]
        assert np.all(np.abs(steps - np.floor(steps) - 0.5) > 1e-3)
    if case.type == "Pow2Quantize":
        logs = np.log2(np.abs(data))
        assert np.all(np.abs(logs - np.floor(logs) - 0.5) > 1e-3)


def run_case(case: Case, dtype: str, **options):
    data = case.data()
    spec, result = run_spec(
        layer_spec(dtype, case.type, {"x": case.size}, case.props), {"x": data}, case.params, **options
    )
    return spec, result, data


def reference_for(case: Case, dtype: str, data: np.ndarray):
    params = {name.rsplit("/", 1)[-1]: as_received(value, dtype) for name, value in case.params.items()}
    return REFERENCES[case.type](as_received(data, dtype), case.ref_props, params)


def assert_within(got: np.ndarray, expected: np.ndarray, magnitude, dtype: str, terms: int = 1) -> None:
    """|got - exact| <= rtol |exact| + K eps magnitude + tiny."""
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    info = np.finfo(dtype)
    bound = RTOL[dtype] * np.abs(expected) + 2 * terms * float(info.eps) * np.asarray(magnitude) + float(info.tiny)
    assert_error_within(got, expected, bound)


def test_references_cover_exactly_the_quantize_layers():
    assert set(REFERENCES) <= set(nnspec.layer_types())
    assert {case.type for case in CASES} == set(REFERENCES)
    assert {name for name, t in nnspec.layer_types().items() if t.category == "Quantize"} | {"Prune"} == set(REFERENCES)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    _avoid_ties(case, data)
    expected, magnitude = reference_for(case, dtype, data)
    terms = max(1, int(np.prod(case.size)))
    assert_within(result.outputs["y"], expected, magnitude, dtype, terms)


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    assert spec.layers["y"].shape == result.outputs["y"].shape[1:]
    assert result.outputs["y"].shape[0] == case.batch


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    forward_raising(spec.layers["y"], [data.astype(dtype)], result.layer_parameters["y"])


# --- against nnabla 1.39 -------------------------------------------------------------------------------


def fixture() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {name: data[name] for name in data.files}


def _run_float32(layer_type: str, props: str, x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
    text = layer_spec("float32", layer_type, {"x": x.shape[1:]}, props)
    return run_spec(text, {"x": x}, params)[1].outputs["y"]


def test_fixture_was_made_by_nnabla_1_39():
    assert str(fixture()["nnabla_version"]) == "1.39.0"


NNABLA_LAYERS = [
    (
        "bca",
        "BinaryConnectAffine",
        "out_shape: [2, 3]",
        "bca_x",
        "bicon_affine",
        {"W": "bca_W", "Wb": "bca_Wb", "b": "bca_b"},
    ),
    ("bwa", "BinaryWeightAffine", "out_shape: 4", "bwa_x", "bwn_affine", {"W": "bwa_W", "Wb": "bwa_Wb", "b": "bwa_b"}),
    (
        "bcc",
        "BinaryConnectConvolution",
        "out_maps: 6, kernel_shape: [3, 3], padding: [1, 0], strides: [2, 1], dilation: [1, 2], group: 2",
        "bcc_x",
        "bicon_conv",
        {"W": "bcc_W", "Wb": "bcc_Wb", "b": "bcc_b"},
    ),
    (
        "bwc",
        "BinaryWeightConvolution",
        "out_maps: 6, kernel_shape: [3, 3], padding: [1, 0], strides: [2, 1], dilation: [1, 2], group: 2",
        "bcc_x",
        "bwn_conv",
        {"W": "bwc_W", "Wb": "bcc_Wb", "b": "bwc_b"},
    ),
]


@pytest.mark.parametrize("case, layer_type, props, x, scope, params", NNABLA_LAYERS, ids=[c[0] for c in NNABLA_LAYERS])
def test_binary_weight_layers_match_nnabla(case, layer_type, props, x, scope, params):
    """nnabla's functions called with NNC's pins (x, W, Wb, b: the BinaryWeight ones read b as alpha), with
    exact zeros in W and random Wb and b, within 1e-5."""
    data = fixture()
    got = _run_float32(layer_type, props, data[x], {f"y/{scope}/{k}": data[v] for k, v in params.items()})
    np.testing.assert_allclose(got, data[f"{case}_out"], rtol=1e-5, atol=1e-5)


ELEMENTWISE = [
    ("btanh", "BinaryTanh", "", "bin_x"),
    ("bsig", "BinarySigmoid", "", "bin_x"),
    ("fpq1", "FixedPointQuantize", "sign: false, n: 5, delta: 0.3", "fpq_x"),
    ("fpq2", "FixedPointQuantize", "n: 3, delta: 0.7", "fpq_x"),
    ("p2q1", "Pow2Quantize", "sign: false, n: 4, m: 2", "p2q_x"),
    ("p2q2", "Pow2Quantize", "with_zero: false, n: 5, m: 0", "p2q_x"),
    ("p2q3", "Pow2Quantize", "sign: false, with_zero: false, n: 3, m: 3", "p2q_x"),
    ("prune1", "Prune", "rate: 0.7", "prune_x"),
    ("prune2", "Prune", "rate: 1.0", "prune_x"),
    ("prune3", "Prune", "rate: 0.0", "prune_x"),
]


@pytest.mark.parametrize("case, layer_type, props, x", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_quantizers_match_nnabla_exactly(case, layer_type, props, x):
    """Levels are exact values: nnspec's equal nnabla's bit for bit, ties (half steps, geometric means), 0, -0
    and +-1e-30 included."""
    data = fixture()
    np.testing.assert_array_equal(_run_float32(layer_type, props, data[x], {}), data[f"{case}_out"])


MIN_MAX = {
    "mmq1": (-1.3, 2.7, 0.0, 15.0, 0.05),
    "mmq2": (0.5, 0.52, 2.0, 9.0, 0.1),
    "mmq3": (-5.0, -1.0, 0.0, 7.0, 0.01),
}


@pytest.mark.parametrize("case", MIN_MAX)
def test_min_max_quantize_matches_nnabla(case):
    """Ranges given as NNC's /r, /R, /l, /L: a plain range, one narrower than epsilon (R raised), one whose
    zero point lies beyond L (the range nudged to end at 0)."""
    data = fixture()
    r, R, low, high, eps = MIN_MAX[case]
    params = {f"/{n}": np.array([v], np.float32) for n, v in zip("rRlL", (r, R, low, high))}
    got = _run_float32("MinMaxQuantize", f"decay: 0.9, epsilon: {eps}", data["mmq_x"], params)
    np.testing.assert_allclose(got, data[f"{case}_out"], rtol=1e-5, atol=1e-6)


# --- NNC's definitions and quirks ---------------------------------------------------------------------


NNC_DEFAULTS = {
    "BinaryConnectAffine": {"out_shape": (100,), "with_bias": True},
    "BinaryWeightAffine": {"out_shape": (100,), "with_bias": True},
    "BinaryConnectConvolution": {
        "out_maps": 16,
        "kernel_shape": (5, 5),
        "with_bias": True,
        "border_mode": "valid",
        "strides": (1, 1),
        "dilation": (1, 1),
        "group": 1,
    },
    "FixedPointQuantize": {"sign": True, "n": 8, "delta": 0.0625, "ste_fine_grained": True},
    "Pow2Quantize": {"sign": True, "with_zero": True, "n": 8, "m": 1, "ste_fine_grained": True},
    "MinMaxQuantize": {"decay": 0.999, "x_min_max": False, "ema": False, "ste_fine_grained": True, "epsilon": 0.01},
    "Prune": {"rate": 0.9},
}


@pytest.mark.parametrize("layer_type", NNC_DEFAULTS)
def test_defaults_are_nnc_defaults(layer_type):
    """NNC's layer definitions (settings/NNabla/layer_component/Quantize/*.txt, Others/Prune.txt)."""
    spec = nnspec.loads(layer_spec("float32", layer_type, {"x": (2, 8, 8)}, ""))
    props = spec.layers["y"].props
    for name, value in NNC_DEFAULTS[layer_type].items():
        assert props[name] == value, name


def test_nnc_spellings_of_the_quantizers_properties():
    """STEFineGrained and EMA are NNC's names (not the CamelCase of ste_fine_grained, ema)."""
    names = {p.name: p.nnc_name for p in nnspec.layer_types()["MinMaxQuantize"].properties}
    assert names == {
        "decay": "Decay",
        "x_min_max": "XMinMax",
        "ema": "EMA",
        "ste_fine_grained": "STEFineGrained",
        "epsilon": "Epsilon",
    }


@pytest.mark.parametrize(
    "layer_type, scope, weight, bias",
    [
        ("BinaryConnectAffine", "bicon_affine", (12, 100), (100,)),
        ("BinaryWeightAffine", "bwn_affine", (12, 100), (100,)),
        ("BinaryConnectConvolution", "bicon_conv", (16, 3, 5, 5), (16,)),
        ("BinaryWeightConvolution", "bwn_conv", (16, 3, 5, 5), (16,)),
    ],
)
def test_binary_weight_parameters_are_named_and_shaped_as_nnc_saves_them(layer_type, scope, weight, bias):
    """W and Wb of one layout, b per output: the names NNC's exports give (BinaryWeightAffine/bwn_affine/W,
    .../Wb, .../b in nnabla's python/test/core/nntxt.py), with NNC's default initializers."""
    spec = nnspec.loads(layer_spec("float32", layer_type, {"x": (3, 2, 2) if "Affine" in layer_type else (3, 8, 8)}))
    layer = spec.layers["y"]
    assert layer.parameter_shapes == {"W": weight, "Wb": weight, "b": bias}
    assert {layer.parameter_key(n) for n in layer.parameter_shapes} == {f"y/{scope}/{n}" for n in ("W", "Wb", "b")}
    initializers = {name: (source.initializer, source.multiplier) for name, source in layer.parameters.items()}
    glorot = "UniformAffineGlorot" if "Affine" in layer_type else "UniformConvolutionGlorot"
    assert initializers == {"W": (glorot, 1.0), "Wb": ("Constant", 0.0), "b": ("Constant", 0.0)}


@pytest.mark.parametrize(
    "layer_type, scope", [("BinaryWeightAffine", "bwn_affine"), ("BinaryConnectAffine", "bicon_affine")]
)
def test_only_w_is_read(layer_type, scope):
    """nnabla writes sign(W) into Wb (and alpha into BinaryWeight's b) before using them: other Wb values, and
    for BinaryWeightAffine other b values, change nothing."""
    x = _normal((4, 6))
    W = _normal((6, 3), seed=7)
    outputs = []
    for seed in (1, 2):
        params = {f"y/{scope}/W": W, f"y/{scope}/Wb": _normal((6, 3), seed=seed), f"y/{scope}/b": np.zeros(3)}
        if layer_type == "BinaryWeightAffine":
            params[f"y/{scope}/b"] = _normal((3,), 10.0, seed=seed)
        outputs.append(_run_float32(layer_type, "out_shape: 3", x, params))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_binary_weight_affine_by_hand():
    """W = [[1, -2], [0, 4], [-3, 0]]: alpha = mean |W| per output = (4/3, 2); sign(W) with sign(0) = 1 is
    [[1, -1], [1, 1], [-1, 1]]; i = (1, 2, 3): o = (4/3 (1 + 2 - 3), 2 (-1 + 2 + 3)) = (0, 8); b (9, 9) unused."""
    W = np.array([[1.0, -2.0], [0.0, 4.0], [-3.0, 0.0]])
    params = {"y/bwn_affine/W": W, "y/bwn_affine/Wb": np.zeros((3, 2)), "y/bwn_affine/b": np.array([9.0, 9.0])}
    got = _run_float32("BinaryWeightAffine", "out_shape: 2", np.array([[1.0, 2.0, 3.0]]), params)
    np.testing.assert_allclose(got, [[0.0, 8.0]], atol=1e-6)


def test_min_max_quantize_parameters_have_no_scope_and_are_shared():
    """NNC names them /r, /R, /l, /L: two MinMaxQuantize layers share one set, and an NNC file's names load."""
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: q1, type: MinMaxQuantize}\n"
        "  - {name: q2, type: MinMaxQuantize}\n"
    )
    spec = nnspec.loads(text)
    assert {spec.layers["q1"].parameter_key(n) for n in "rRlL"} == {"/r", "/R", "/l", "/L"}
    assert spec.layers["q2"].parameter_key("r") == "/r"
    x = np.array([[-7.0, -1.0, 0.3, 9.0]])
    result = nnspec.run(spec, {"x": x}, params={f"/{n}": np.array([v]) for n, v in zip("rRlL", (-1.0, 1.0, 0.0, 4.0))})
    np.testing.assert_allclose(result.outputs["q2"], [[-1.0, -1.0, 0.5, 1.0]])  # levels -1, -0.5, 0, 0.5, 1
    assert result.layer_parameters["q1"]["R"] is result.layer_parameters["q2"]["R"]
    assert set(result.parameters) == {"/r", "/R", "/l", "/L"}


def test_min_max_quantize_x_min_max_is_refused():
    """nnabla 1.39 fails on NNC's MinMaxQuantize with XMinMax (its (1,) ranges cannot take min(x))."""
    with pytest.raises(nnspec.SpecError, match="x_min_max is not supported") as error:
        nnspec.loads(layer_spec("float32", "MinMaxQuantize", {"x": (4,)}, "x_min_max: true"))
    assert error.value.diagnostics[0].path == ("layers", 1, "x_min_max")


@pytest.mark.parametrize(
    "layer_type, props, message",
    [
        ("FixedPointQuantize", "delta: 0", "delta 0.0 must be above 0"),
        ("FixedPointQuantize", "n: 1", "needs n >= 2"),
        ("Pow2Quantize", "n: 2", "no bit for the levels"),
        ("Prune", "rate: 1.5", "must lie in 0..1"),
    ],
)
def test_invalid_properties_are_located_errors(layer_type, props, message):
    with pytest.raises(nnspec.SpecError, match=message) as error:
        nnspec.loads(layer_spec("float32", layer_type, {"x": (4,)}, props))
    found = error.value.diagnostics[0]
    assert (found.line, found.path) == (6, ("layers", 1, props.split(":")[0]))


def test_prune_depends_on_the_whole_batch():
    """The threshold is taken over every value of the batch: a sample's output changes with its companions."""
    x = np.array([[0.1, 0.2, 0.3, 0.4], [10.0, 20.0, 30.0, 40.0]])
    text = layer_spec("float64", "Prune", {"x": (4,)}, "rate: 0.5")
    together = run_spec(text, {"x": x})[1].outputs["y"]
    alone = run_spec(text, {"x": x}, batch_size=1)[1].outputs["y"]
    # 8 values: t = sorted |i|[int(7 * 0.5)] = 0.4; a sample alone: t = sorted |i|[int(3 * 0.5)], its 2nd smallest
    np.testing.assert_array_equal(together, [[0.0, 0.0, 0.0, 0.4], [10.0, 20.0, 30.0, 40.0]])
    np.testing.assert_array_equal(alone, [[0.0, 0.2, 0.3, 0.4], [0.0, 20.0, 30.0, 40.0]])


@pytest.mark.parametrize("layer_type, values", [("BinaryTanh", {-1.0, 1.0}), ("BinarySigmoid", {0.0, 1.0})])
def test_binary_activations_output_two_values_and_static_bounds_say_so(layer_type, values):
    spec, result = run_spec(layer_spec("float32", layer_type, {"x": (50,)}), {"x": _normal((4, 50), 100.0)})
    assert set(np.unique(result.outputs["y"]).tolist()) == values
    assert nnspec.layer_types()[layer_type].output_range == (min(values), max(values))
    estimate = estimates(spec)["y"]
    assert estimate.low == min(values) and estimate.high == max(values)


NNC_EXPORT = """network {
  name: "Main"
  batch_size: 4
  variable { name: "Input" type: "Buffer" shape: { dim:-1 dim: 1 dim: 6 dim: 6 } }
  variable { name: "Conv/bicon_conv/W" type: "Parameter" shape: { dim: 3 dim: 1 dim: 3 dim: 2 } }
  variable { name: "Conv/bicon_conv/Wb" type: "Parameter" shape: { dim: 3 dim: 1 dim: 3 dim: 2 } }
  variable { name: "Conv" type: "Buffer" shape: { dim:-1 dim: 3 dim: 4 dim: 5 } }
  variable { name: "/r" type: "Parameter" shape: { dim: 1 } }
  variable { name: "/R" type: "Parameter" shape: { dim: 1 } }
  variable { name: "/l" type: "Parameter" shape: { dim: 1 } }
  variable { name: "/L" type: "Parameter" shape: { dim: 1 } }
  variable { name: "Q" type: "Buffer" shape: { dim:-1 dim: 3 dim: 4 dim: 5 } }
  variable { name: "Fc/bwn_affine/W" type: "Parameter" shape: { dim: 60 dim: 7 } }
  variable { name: "Fc/bwn_affine/Wb" type: "Parameter" shape: { dim: 60 dim: 7 } }
  variable { name: "Fc/bwn_affine/b" type: "Parameter" shape: { dim: 7 } }
  variable { name: "Fc" type: "Buffer" shape: { dim:-1 dim: 7 } }
  function {
    name: "Conv" type: "BinaryConnectConvolution"
    input: "Input" input: "Conv/bicon_conv/W" input: "Conv/bicon_conv/Wb" output: "Conv"
    binary_connect_convolution_param { base_axis: 1 pad: { dim: 0 dim: 0 } stride: { dim: 1 dim: 1 }
      dilation: { dim: 1 dim: 1 } group: 1 }
  }
  function {
    name: "Q" type: "MinMaxQuantize"
    input: "Conv" input: "/r" input: "/R" input: "/l" input: "/L" output: "Q"
    min_max_quantize_param { decay: 0.999 x_min_max: false ema: false ste_fine_grained: true eps: 0.02 }
  }
  function {
    name: "Fc" type: "BinaryWeightAffine"
    input: "Q" input: "Fc/bwn_affine/W" input: "Fc/bwn_affine/Wb" input: "Fc/bwn_affine/b" output: "Fc"
    binary_weight_affine_param { base_axis: 1 }
  }
}
"""


def test_nnc_exports_of_the_binary_and_quantize_layers_are_read(tmp_path):
    """An export in NNC's form: shapes from the weights (out_maps, kernel_shape, out_shape), with_bias from the
    pins, MinMaxQuantize's unscoped /r ... and its eps as epsilon."""
    (tmp_path / "net.nntxt").write_text(NNC_EXPORT)
    spec = nnspec.load(str(tmp_path / "net.nntxt"))
    conv, quantizer, fc = (spec.layers[name] for name in ("Conv", "Q", "Fc"))
    assert (conv.props["out_maps"], conv.props["kernel_shape"], conv.props["with_bias"]) == (3, (3, 2), False)
    assert conv.shape == (3, 4, 5) and conv.parameter_key("Wb") == "Conv/bicon_conv/Wb"
    assert quantizer.props["epsilon"] == 0.02 and quantizer.parameter_key("R") == "/R"
    assert fc.props["out_shape"] == (7,) and fc.parameter_shapes["b"] == (7,)


STATIC = [
    ("FixedPointQuantize", "n: 4, delta: 0.25", -1.75, 1.75),
    ("Pow2Quantize", "m: 0", -1.0, 1.0),
    ("MinMaxQuantize", "", -6.023529, 5.976471),  # NNC's -6..6 in 255 steps, nudged to put 0 on a level
    ("BinaryTanh", "", -1.0, 1.0),
    ("Prune", "rate: 0.5", -np.inf, np.inf),
]


@pytest.mark.parametrize("layer_type, props, low, high", STATIC, ids=[s[0] for s in STATIC])
def test_static_estimates_follow_a_run_and_keep_within_the_levels(layer_type, props, low, high):
    """Validate's estimates (no data) against a run of 4000 values drawn as the Input's generator draws them:
    the mean within 0.05 and the std within 10%; the bounds are the quantizer's levels."""
    text = layer_spec("float32", layer_type, {"x": (1000,)}, props).replace(
        "type: Input, size: [1000]", "type: Input, size: [1000], generator: Normal, generator_multiplier: 3.0"
    )
    spec = nnspec.loads(text)
    estimate = estimates(spec)["y"]
    result = nnspec.run(spec, samples=4, checks={"input-range": "off", "quantize-clipping": "off"})
    measured = result.stats["y"].output
    assert estimate.mean == pytest.approx(measured.mean, abs=0.05)
    assert estimate.std == pytest.approx(measured.std, rel=0.1)
    assert estimate.low == pytest.approx(low, abs=1e-5) and estimate.high == pytest.approx(high, abs=1e-5)


WEIGHTED = [
    ("BinaryConnectAffine", "out_shape: 50", "[300]"),
    ("BinaryWeightAffine", "out_shape: 50", "[300]"),
    ("BinaryConnectConvolution", "out_maps: 8, kernel_shape: [3, 3]", "[4, 10, 10]"),
    ("BinaryWeightConvolution", "out_maps: 8, kernel_shape: [3, 3]", "[4, 10, 10]"),
]


@pytest.mark.parametrize("layer_type, props, size", WEIGHTED, ids=[w[0] for w in WEIGHTED])
def test_static_estimates_of_the_binary_weight_layers_follow_a_run(layer_type, props, size):
    """Sums of +-1 (or +-alpha) times N(0, 1) inputs with NNC's default Glorot W: the std within 15% (alpha is
    taken as a normal W's mean |W|; NNC's uniform W has one 9% larger), the mean within a tenth of the std."""
    text = (
        f"nnspec: 1\nseed: 3\nlayers:\n  - {{name: x, type: Input, size: {size}, generator: Normal}}\n"
        f"  - {{name: y, type: {layer_type}, {props}}}\n"
    )
    spec = nnspec.loads(text)
    estimate = estimates(spec)["y"]
    measured = nnspec.run(spec, samples=50, checks={"scale-drift": "off"}).stats["y"].output
    assert estimate.std == pytest.approx(measured.std, rel=0.15)
    assert abs(estimate.mean - measured.mean) < 0.1 * measured.std


def test_nncs_learning_rate_multipliers_are_the_defaults():
    """NNC's definitions give Wb and MinMaxQuantize's l and L an LRateMultiplier of 0 (training leaves them),
    the others 1: those are nnspec's defaults, so an NNC project's values need not be written."""
    spec = nnspec.loads(layer_spec("float32", "BinaryConnectAffine", {"x": (4,)}, "out_shape: 2"))
    assert {n: s.lrate_multiplier for n, s in spec.layers["y"].parameters.items()} == {"W": 1.0, "Wb": 0.0, "b": 1.0}
    spec = nnspec.loads(layer_spec("float32", "MinMaxQuantize", {"x": (4,)}))
    lrates = {n: s.lrate_multiplier for n, s in spec.layers["y"].parameters.items()}
    assert lrates == {"r": 1.0, "R": 1.0, "l": 0.0, "L": 0.0}
