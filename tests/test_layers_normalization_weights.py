"""FusedBatchNormalization and the weight normalizations (WeightStandardization, WeightNormalization,
SpectralNorm; nnspec/layers/normalization.py) checked against independent references and nnabla 1.39.

The references are Python loops in float64 over the values each output reads, as nnabla's documentation
and source define them with the axes NNC passes (its axis + 1: on nnspec's batch-first arrays the
statistics of the weight layers run over the batch axis too). SpectralNorm's reference finds the
singular vectors by its own power iteration over lists, itr + 1 times (NNC's Itr + 1).

nnabla's outputs (tests/fixtures/nnabla/misc_layers.npz, scripts/make_nnabla_misc_fixture.py) are
compared in float32 within rtol 1e-5. Tolerances against the references: the harness's RTOL (a few
roundings of a sum and a square root, in float64 then rounded once); SpectralNorm 1e-5 / 1e-10 (two
iterated matrix-vector products in another order).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError

from .layer_harness import assert_close, assert_shape_rule, run_spec

FIXTURE = Path(__file__).parent / "fixtures" / "nnabla" / "misc_layers.npz"


def _fixture() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {name: data[name] for name in data.files}


def _positions(shape, axis):
    """For each index k of numpy axis ``axis``: every position of the array with that index."""
    return {k: [p for p in np.ndindex(shape) if p[axis] == k] for k in range(shape[axis])}


def ref_fused_batch_normalization(x, props, params):
    """Stored statistics (NNC's evaluation): relu((x - mean) / sqrt(var + eps) gamma + beta) per channel."""
    out = np.empty(x.shape)
    for p in np.ndindex(x.shape):
        c = tuple(p[a] if params["mean"].shape[a] > 1 else 0 for a in range(x.ndim))
        value = (x[p] - params["mean"][c]) / math.sqrt(params["var"][c] + props["epsilon"])
        out[p] = max(0.0, value * params["gamma"][c] + params["beta"][c])
    return out


def ref_weight_standardization(x, props, params):
    out = np.empty(x.shape)
    for members in _positions(x.shape, props["channel_axis"] + 1).values():
        values = [float(x[p]) for p in members]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / len(values)
        for p in members:
            out[p] = (x[p] - mean) / math.sqrt(var + props["epsilon"])
    return out


def ref_weight_normalization(x, props, params):
    out = np.empty(x.shape)
    for k, members in _positions(x.shape, props["dim"] + 1).items():
        norm = math.sqrt(sum(float(x[p]) ** 2 for p in members) + props["epsilon"])
        for p in members:
            out[p] = params["g"][k] * x[p] / norm
    return out


def ref_spectral_norm(x, props, params):
    axis = props["dim"] + 1
    rows = [[float(x[p]) for p in members] for members in _positions(x.shape, axis).values()]
    u = [float(v) for v in params["u"]]
    eps = props["epsilon"]

    def unit(vector):
        length = math.sqrt(sum(v * v for v in vector) + eps)
        return [v / length for v in vector]

    v: list[float] = []
    for _ in range(props["itr"] + 1):
        v = unit([sum(rows[i][j] * u[i] for i in range(len(rows))) for j in range(len(rows[0]))])
        u = unit([sum(row[j] * v[j] for j in range(len(v))) for row in rows])
    sigma = sum(u[i] * sum(rows[i][j] * v[j] for j in range(len(v))) for i in range(len(rows)))
    return x / sigma


REFERENCES = {
    "FusedBatchNormalization": ref_fused_batch_normalization,
    "WeightStandardization": ref_weight_standardization,
    "WeightNormalization": ref_weight_normalization,
    "SpectralNorm": ref_spectral_norm,
}

_RNG = np.random.default_rng(5)
_X = _RNG.normal(0.5, 2.0, (3, 4, 5))
_BN = {
    "beta": _RNG.normal(0, 1, (1, 4, 1)),
    "gamma": _RNG.normal(1, 0.5, (1, 4, 1)),
    "mean": _RNG.normal(0, 1, (1, 4, 1)),
    "var": _RNG.uniform(0.5, 2, (1, 4, 1)),
}
_G = _RNG.normal(1, 0.5, (5,))
_U = _RNG.normal(0, 1, (4,))

CASES = [
    # (id, type, YAML properties, reference properties, parameters by name)
    ("fbn", "FusedBatchNormalization", "epsilon: 0.001", {"epsilon": 1e-3}, _BN),
    ("ws", "WeightStandardization", "", {"channel_axis": 0, "epsilon": 1e-5}, {}),
    ("ws-axis1", "WeightStandardization", "channel_axis: 1, epsilon: 0.5", {"channel_axis": 1, "epsilon": 0.5}, {}),
    ("wn-dim1", "WeightNormalization", "dim: 1", {"dim": 1, "epsilon": 1e-12}, {"g": _G}),
    ("sn", "SpectralNorm", "", {"dim": 0, "itr": 1, "epsilon": 1e-12}, {"u": _U}),
    ("sn-itr3", "SpectralNorm", "itr: 3, epsilon: 0.001", {"dim": 0, "itr": 3, "epsilon": 1e-3}, {"u": _U}),
]
_SCOPES = {"FusedBatchNormalization": "bn", "WeightNormalization": "wn", "SpectralNorm": "spectral-norm"}


def _text(dtype: str, layer_type: str, props: str) -> str:
    extra = f", {props}" if props else ""
    return (
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: [4, 5]}}\n"
        f"  - {{name: y, type: {layer_type}, input: x{extra}}}\noutputs: [y]\n"
    )


def test_every_reference_has_a_case():
    assert {case[1] for case in CASES} == set(REFERENCES)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case, layer_type, props, ref_props, params", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_reference(case, layer_type, props, ref_props, params, dtype):
    named = {f"y/{_SCOPES[layer_type]}/{name}": value for name, value in params.items()}
    spec, result = run_spec(_text(dtype, layer_type, props), {"x": _X}, params=named)
    got = result.outputs["y"]
    received = {name: value.astype(dtype).astype(np.float64) for name, value in params.items()}
    expected = REFERENCES[layer_type](_X.astype(dtype).astype(np.float64), ref_props, received)
    assert_shape_rule(spec, got, len(_X))
    rtol = {"SpectralNorm": {"float32": 1e-5, "float64": 1e-10}}.get(layer_type, {}).get(dtype)
    assert_close(got, expected, dtype, rtol=rtol)


NNABLA_CASES = [
    ("fbn", "FusedBatchNormalization", "epsilon: 0.001", "fbn_x", {"bn": ("beta", "gamma", "mean", "var")}),
    ("ws", "WeightStandardization", "", "w", {}),
    ("ws2", "WeightStandardization", "channel_axis: 1", "w", {}),
    ("wn", "WeightNormalization", "", "w", {"wn": ("g",)}),
    ("sn", "SpectralNorm", "", "w", {"spectral-norm": ("u",)}),
]


@pytest.mark.parametrize("case, layer_type, props, x, params", NNABLA_CASES, ids=[c[0] for c in NNABLA_CASES])
def test_matches_nnabla(case, layer_type, props, x, params):
    """nnabla 1.39 with the arguments NNC passes (axes + 1, SpectralNorm's Itr 1 as itr 2, the evaluation's
    batch_stat false and test true), float32, within rtol 1e-5."""
    fixture = _fixture()
    prefix = {"fbn": "fbn_", "wn": "wn_", "sn": "sn_"}.get(case, "")
    named = {f"y/{scope}/{name}": fixture[f"{prefix}{name}"] for scope, names in params.items() for name in names}
    text = _text("float32", layer_type, props).replace("size: [4, 5]", f"size: {list(fixture[x].shape[1:])}")
    _, result = run_spec(text, {"x": fixture[x]}, params=named)
    np.testing.assert_allclose(result.outputs["y"], fixture[f"{case}_out"], rtol=1e-5, atol=1e-6)


def test_spectral_norm_runs_itr_plus_one_iterations():
    """NNC's Itr 1 is nnabla's itr 2 (the fixture's sn_out), not itr 1 (sn_itr1_out), which differs."""
    fixture = _fixture()
    assert not np.allclose(fixture["sn_out"], fixture["sn_itr1_out"], rtol=1e-3)
    _, result = run_spec(
        _text("float32", "SpectralNorm", ""), {"x": fixture["w"]}, params={"y/spectral-norm/u": fixture["sn_u"]}
    )
    np.testing.assert_allclose(result.outputs["y"], fixture["sn_out"], rtol=1e-5, atol=1e-6)


def test_weight_layers_depend_on_the_whole_batch():
    """What the reference says: a sample's output changes when another sample of its batch changes."""
    x = _X.copy()
    first = run_spec(_text("float64", "WeightStandardization", ""), {"x": x})[1].outputs["y"][0]
    x[1] *= 10
    second = run_spec(_text("float64", "WeightStandardization", ""), {"x": x})[1].outputs["y"][0]
    assert not np.allclose(first, second)


def test_identical_samples_give_the_weight_s_own_result():
    """Every sample the same weight (a Parameter layer's output): each gets what nnabla gives the weight alone."""
    w = _X[0]
    same = np.broadcast_to(w, (3, *w.shape)).copy()
    got = run_spec(_text("float64", "WeightStandardization", ""), {"x": same})[1].outputs["y"]
    expected = ref_weight_standardization(w[None], {"channel_axis": 0, "epsilon": 1e-5}, {})[0]
    for sample in got:
        np.testing.assert_allclose(sample, expected, rtol=1e-12)


def test_evaluation_passes_nnc_s_test_arguments():
    assert dict(nnspec.layer_types()["SpectralNorm"].test_arguments) == {"test": True}
    assert dict(nnspec.layer_types()["FusedBatchNormalization"].test_arguments) == {"batch_stat": False}


@pytest.mark.parametrize(
    "layer_type, props, words",
    [
        ("WeightStandardization", "channel_axis: 2", "channel_axis 2 is out of range"),
        ("WeightNormalization", "dim: 3", "dim 3 is out of range"),
        ("SpectralNorm", "epsilon: 0", "epsilon 0.0 must be positive"),
        ("FusedBatchNormalization", "nonlinearity: tanh", "nonlinearity"),
    ],
)
def test_bad_properties_are_refused(layer_type, props, words):
    with pytest.raises(SpecError) as raised:
        nnspec.loads(_text("float32", layer_type, props))
    assert words in str(raised.value)
