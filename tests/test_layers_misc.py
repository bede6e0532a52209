"""NNC's remaining Others, Math and Spectral layers (nnspec/layers/misc.py) checked against independent
references and against nnabla 1.39.

The references never call nnspec: explicit Python loops over small arrays in float64, following the
formulas of nnabla's documentation (for FFT and IFFT, the DFT's sums with cmath.exp). Each layer runs
through the public API (``nnspec.loads`` + ``nnspec.run``) in float32 and float64.

nnabla's own outputs (tests/fixtures/nnabla/misc_layers.npz, written by
scripts/make_nnabla_misc_fixture.py with the arguments NNC passes) are compared in float32 within
rtol 1e-5. FFT and IFFT have no nnabla fixture: nnabla 1.39 has no CPU implementation of them.

Tolerances: layers that move, pick or pass values (Unlink, Flatten, the Clip*Grad* and TopK layers,
ClipByValue) must equal the reference bit for bit. VATNoise and ClipByNorm compute a norm and one
product and quotient per value in float64, rounded once: RTOL of the harness (1e-6 float32, 1e-12
float64). The matrix functions (LU factorisation in LAPACK vs the reference's cofactor expansion)
and the DFT (N-term complex sums) carry more roundings: 1e-5 in float32, 1e-10 in float64, relative
to the largest value of the sample, since a determinant or a Fourier coefficient may cancel to near 0.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError
from nnspec.core.estimate import Estimate
from nnspec.layers.unsupported import REFUSED

from .layer_harness import DTYPES, assert_close, assert_shape_rule, case_params, layer_spec, received, run_spec

FIXTURE = Path(__file__).parent / "fixtures" / "nnabla" / "misc_layers.npz"


def nnabla_misc() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {name: data[name] for name in data.files}


# --- independent references -------------------------------------------------------------------------
#
# Each takes the inputs as float64 arrays (batch axis first) and the properties as NNC defines them
# (written out by each case), and returns the float64 result.


def _groups(x: np.ndarray, base_axis: int):
    """(index of the group, list of the indices in it): the sample axes from base_axis on form a group."""
    lead = x.shape[: base_axis + 1]
    for head in np.ndindex(lead):
        yield head, [head + tail for tail in np.ndindex(x.shape[base_axis + 1 :])]


def ref_vat_noise(inputs, props):
    x = inputs[0]
    out = np.empty(x.shape)
    for _, members in _groups(x, props["base_axis"]):
        norm = math.sqrt(sum(float(x[i]) ** 2 for i in members) + 1e-8)
        for i in members:
            out[i] = props["epsilon"] * float(x[i]) / norm
    return out


def ref_identity(inputs, props):
    x = inputs[0]
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        out[index] = float(x[index])
    return out


def ref_flatten(inputs, props):
    x = inputs[0]
    out = np.empty((x.shape[0], math.prod(x.shape[1:])))
    for n in range(x.shape[0]):
        for k, index in enumerate(np.ndindex(x.shape[1:])):  # row-major: the last axis fastest
            out[n, k] = float(x[(n, *index)])
    return out


def ref_clip_by_value(inputs, props):
    x, low, high = inputs
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        out[index] = min(max(float(x[index]), float(low[index])), float(high[index]))
    return out


def ref_clip_by_norm(inputs, props):
    x = inputs[0]
    axes = [a + 1 for a in props["axis"]]
    out = np.empty(x.shape)
    kept = [a for a in range(x.ndim) if a not in axes]
    for head in np.ndindex(tuple(x.shape[a] for a in kept)):
        members = []
        for tail in np.ndindex(tuple(x.shape[a] for a in axes)):
            index = [0] * x.ndim
            for a, v in zip(kept, head):
                index[a] = v
            for a, v in zip(axes, tail):
                index[a] = v
            members.append(tuple(index))
        norm = math.sqrt(sum(float(x[i]) ** 2 for i in members))
        for i in members:
            out[i] = props["clip_norm"] * float(x[i]) / max(norm, props["clip_norm"])
    return out


def ref_top_k_data(inputs, props):
    """Rank the group's values (|v| with abs) by selection: the largest first, the earliest among equals."""
    x = inputs[0]
    k = props["k"]
    base = props["base_axis"]
    out = np.zeros((*x.shape[: base + 1], k)) if props["reduce"] else np.zeros(x.shape)
    for head, members in _groups(x, base):
        left = list(members)
        for rank in range(k):
            best = left[0]
            for i in left[1:]:
                key, best_key = (abs(x[i]), abs(x[best])) if props["abs"] else (x[i], x[best])
                if key > best_key:
                    best = i
            left.remove(best)
            if props["reduce"]:
                out[(*head, rank)] = float(x[best])
            else:
                out[best] = float(x[best])
    return out


def _det(m: list[list[float]]) -> float:
    """Cofactor expansion along the first row."""
    if len(m) == 1:
        return m[0][0]
    return sum((-1) ** j * m[0][j] * _det([row[:j] + row[j + 1 :] for row in m[1:]]) for j in range(len(m)))


def _matrices(x: np.ndarray):
    return [[[float(v) for v in row] for row in sample] for sample in x]


def ref_batch_det(inputs, props):
    return np.array([[_det(m)] for m in _matrices(inputs[0])])


def ref_batch_logdet(inputs, props):
    return np.array([[math.log(abs(_det(m)))] for m in _matrices(inputs[0])])


def ref_batch_inv(inputs, props):
    """The adjugate over the determinant: inv[i][j] = (-1)^(i+j) minor(j, i) / det."""
    out = []
    for m in _matrices(inputs[0]):
        n, det = len(m), _det(m)
        out.append([[(-1) ** (i + j) * _minor(m, j, i) / det for j in range(n)] for i in range(n)])
    return np.array(out)


def _minor(m: list[list[float]], r: int, c: int) -> float:
    """The determinant of m without row r and column c."""
    return _det([row[:c] + row[c + 1 :] for k, row in enumerate(m) if k != r])


def _dft(inputs, props, sign: int):
    x = inputs[0]
    ndim = props["signal_ndim"]
    signal = x.shape[x.ndim - 1 - ndim : -1]
    lead = x.shape[: x.ndim - 1 - ndim]
    size = math.prod(signal)
    scale = 1 / math.sqrt(size) if props["normalized"] else (1.0 if sign < 0 else 1 / size)
    out = np.empty(x.shape)
    for head in np.ndindex(lead):
        for k in np.ndindex(signal):
            total = 0j
            for n in np.ndindex(signal):
                phase = sum(ki * ni / s for ki, ni, s in zip(k, n, signal))
                value = complex(float(x[(*head, *n, 0)]), float(x[(*head, *n, 1)]))
                total += value * cmath.exp(sign * 2j * math.pi * phase)
            out[(*head, *k, 0)], out[(*head, *k, 1)] = (total * scale).real, (total * scale).imag
    return out


def _box_iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes given by centre and size."""
    w = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
    h = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def ref_nms_detection2d(inputs, props):
    """nnabla's documented NMS, box by box: scores thresholded; per class, greedy from the best score; by
    objectness, each box against every better one (suppressed or not)."""
    out = inputs[0].copy()
    thresh, nms = props["thresh"], props["nms"]
    for boxes in out:
        n = len(boxes)
        for b in range(n):
            boxes[b, 4] = 0.0 if boxes[b, 4] < thresh else boxes[b, 4]
            for k in range(5, boxes.shape[1]):
                score = boxes[b, 4] * boxes[b, k]
                boxes[b, k] = 0.0 if score < thresh else score
        if props["nms_per_class"]:
            for k in range(5, boxes.shape[1]):
                order = sorted(range(n), key=lambda i: -boxes[i, k])
                for i, best in enumerate(order):
                    if boxes[best, k] == 0:
                        continue
                    for other in order[i + 1 :]:
                        if boxes[other, k] != 0 and _box_iou(boxes[best], boxes[other]) > nms:
                            boxes[other, k] = 0.0
        else:
            order = sorted(range(n), key=lambda i: -boxes[i, 4])
            for i in range(n - 1, 0, -1):
                box = order[i]
                if boxes[box, 4] != 0 and any(_box_iou(boxes[box], boxes[better]) > nms for better in order[:i]):
                    boxes[box, 4:] = 0.0
    return out


REFERENCES: dict[str, Callable[..., np.ndarray]] = {
    "NmsDetection2d": ref_nms_detection2d,
    "VATNoise": ref_vat_noise,
    "Unlink": ref_identity,
    "Output": ref_identity,
    "Flatten": ref_flatten,
    "ClipByValue": ref_clip_by_value,
    "ClipByNorm": ref_clip_by_norm,
    "ClipGradByValue": ref_identity,
    "ClipGradByNorm": ref_identity,
    "TopKData": ref_top_k_data,
    "TopKGrad": ref_identity,
    "BatchDet": ref_batch_det,
    "BatchLogdet": ref_batch_logdet,
    "BatchInv": ref_batch_inv,
    "FFT": lambda inputs, props: _dft(inputs, props, -1),
    "IFFT": lambda inputs, props: _dft(inputs, props, 1),
}

EXACT = {
    "NmsDetection2d",
    "Output",
    "Unlink",
    "Flatten",
    "ClipByValue",
    "ClipGradByValue",
    "ClipGradByNorm",
    "TopKData",
    "TopKGrad",
}
LOOSE = {"BatchDet", "BatchLogdet", "BatchInv", "FFT", "IFFT"}


# --- cases -------------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    type: str
    props: str  # the layer's YAML, beside name, type and input
    ref_props: dict[str, Any]
    sizes: dict[str, list[int]]
    data: dict[str, np.ndarray] = field(default_factory=dict)


def _normal(seed: int, shape, scale: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, shape)


_X = _normal(1, (3, 2, 3, 4))
_SQUARE = _normal(2, (3, 3, 3))
_BOXES = np.concatenate(
    [
        np.random.default_rng(13).uniform(0.3, 0.7, (2, 10, 2)),  # centres close together: many overlaps
        np.random.default_rng(14).uniform(0.1, 0.5, (2, 10, 2)),
        np.random.default_rng(15).uniform(0.0, 1.0, (2, 10, 4)),
    ],
    axis=2,
)
_SQUARE[2] = [[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]]  # a worked determinant: 18
_TIES = _normal(3, (2, 2, 4))
_TIES[0, 0] = [1.5, 1.5, -4.0, 1.5]

CASES = [
    Case(
        "vat",
        "VATNoise",
        "epsilon: 1.4, Buf: {dataset: w}",
        {"base_axis": 0, "epsilon": 1.4},
        {"x": [2, 3, 4]},
        {"x": _X, "w": _normal(4, (3, 2, 3, 4))},
    ),
    Case(
        "vat-axis2",
        "VATNoise",
        "base_axis: 2, epsilon: 10, Buf: {generator: Normal}",
        {"base_axis": 2, "epsilon": 10.0},
        {"x": [2, 3, 4]},
        {"x": _X},
    ),
    Case(
        "nms",
        "NmsDetection2d",
        "thresh: 0.1, nms: 0.3",
        {"thresh": 0.1, "nms": 0.3, "nms_per_class": True},
        {"x": [10, 8]},
        {"x": _BOXES},
    ),
    Case(
        "nms-objectness",
        "NmsDetection2d",
        "thresh: 0.2, nms: 0.25, nms_per_class: false",
        {"thresh": 0.2, "nms": 0.25, "nms_per_class": False},
        {"x": [10, 8]},
        {"x": _BOXES},
    ),
    Case("unlink", "Unlink", "", {}, {"x": [2, 3, 4]}, {"x": _X}),
    Case("flatten", "Flatten", "", {}, {"x": [2, 3, 4]}, {"x": _X}),
    Case("output", "Output", "variable_name: prediction", {}, {"x": [2, 3, 4]}, {"x": _X}),
    Case(
        "clip-value",
        "ClipByValue",
        "min: {dataset: lo}, Max: {dataset: hi}",
        {},
        {"x": [2, 3, 4]},
        {"x": _X, "lo": -np.abs(_normal(5, (3, 2, 3, 4), 1.0)), "hi": np.abs(_normal(6, (3, 2, 3, 4), 1.0))},
    ),
    Case("clip-value-default", "ClipByValue", "", {}, {"x": [2, 3, 4]}, {"x": _X}),
    Case(
        "clip-norm",
        "ClipByNorm",
        "clip_norm: 2.5, axis: [1, 2]",
        {"clip_norm": 2.5, "axis": [1, 2]},
        {"x": [2, 3, 4]},
        {"x": _X},
    ),
    Case(
        "clip-norm-wide", "ClipByNorm", "clip_norm: 100", {"clip_norm": 100.0, "axis": [0]}, {"x": [2, 3, 4]}, {"x": _X}
    ),
    Case("clip-grad-value", "ClipGradByValue", "", {}, {"x": [2, 3, 4]}, {"x": _X}),
    Case("clip-grad-norm", "ClipGradByNorm", "clip_norm: 0.5, axes: [2]", {}, {"x": [2, 3, 4]}, {"x": _X}),
    Case(
        "topk", "TopKData", "k: 3", {"k": 3, "abs": False, "reduce": True, "base_axis": 0}, {"x": [2, 4]}, {"x": _TIES}
    ),
    Case(
        "topk-abs",
        "TopKData",
        "k: 2, abs: true, reduce: false, base_axis: 1",
        {"k": 2, "abs": True, "reduce": False, "base_axis": 1},
        {"x": [2, 4]},
        {"x": _TIES},
    ),
    Case(
        "topk-axis",
        "TopKData",
        "k: 2, base_axis: 1",
        {"k": 2, "abs": False, "reduce": True, "base_axis": 1},
        {"x": [2, 4]},
        {"x": _TIES},
    ),
    Case("topk-grad", "TopKGrad", "k: 2, abs: true", {}, {"x": [2, 4]}, {"x": _TIES}),
    Case("det", "BatchDet", "", {}, {"x": [3, 3]}, {"x": _SQUARE}),
    Case("logdet", "BatchLogdet", "", {}, {"x": [3, 3]}, {"x": _SQUARE}),
    Case("inv", "BatchInv", "", {}, {"x": [3, 3]}, {"x": _SQUARE}),
    Case("fft2", "FFT", "", {"signal_ndim": 2, "normalized": False}, {"x": [4, 3, 2]}, {"x": _normal(7, (2, 4, 3, 2))}),
    Case(
        "fft1-normalized",
        "FFT",
        "signal_ndim: 1, normalized: true",
        {"signal_ndim": 1, "normalized": True},
        {"x": [3, 5, 2]},
        {"x": _normal(8, (2, 3, 5, 2))},
    ),
    Case(
        "ifft2", "IFFT", "", {"signal_ndim": 2, "normalized": False}, {"x": [4, 3, 2]}, {"x": _normal(9, (2, 4, 3, 2))}
    ),
    Case(
        "ifft3-normalized",
        "IFFT",
        "signal_ndim: 3, normalized: true",
        {"signal_ndim": 3, "normalized": True},
        {"x": [2, 3, 2, 2]},
        {"x": _normal(10, (2, 2, 3, 2, 2))},
    ),
]

# ClipByValue's bounds from NNC's default Constant generators: -1 and 1
_DEFAULT_BOUNDS = {"clip-value-default": (-1.0, 1.0)}


def test_every_reference_has_a_case():
    assert {case.type for case in CASES} == set(REFERENCES)


@pytest.mark.parametrize("case, dtype", case_params(CASES))
def test_layer_matches_reference(case: Case, dtype: str):
    text = layer_spec(dtype, case.type, case.sizes, case.props)
    spec, result = run_spec(text, case.data)
    got = result.outputs["y"]
    inputs = received(case.data, list(case.data), dtype)
    if case.id in _DEFAULT_BOUNDS:
        low, high = _DEFAULT_BOUNDS[case.id]
        inputs = [inputs[0], np.full(inputs[0].shape, low), np.full(inputs[0].shape, high)]
    expected = REFERENCES[case.type](inputs, case.ref_props)
    assert_shape_rule(spec, got, len(case.data["x"]))
    if case.type in EXACT:
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected.astype(dtype))
    elif case.type in LOOSE:
        rtol = 1e-5 if dtype == "float32" else 1e-10
        scale = np.abs(expected).reshape(len(expected), -1).max(axis=1)
        bound = rtol * scale.reshape((-1,) + (1,) * (expected.ndim - 1))
        assert got.dtype == np.dtype(dtype)
        assert np.all(np.abs(got - expected) <= bound)
    else:
        assert_close(got, expected, dtype)


def test_batch_det_worked_by_hand():
    """det [[2, 1, 0], [1, 3, 1], [0, 1, 4]] = 2 (12 - 1) - 1 (4 - 0) = 18, ln 18 for BatchLogdet."""
    data = {"x": _SQUARE[2:]}
    for layer_type, expected in (("BatchDet", 18.0), ("BatchLogdet", math.log(18.0))):
        _, result = run_spec(layer_spec("float64", layer_type, {"x": [3, 3]}), data)
        np.testing.assert_allclose(result.outputs["y"], [[expected]], rtol=1e-14)


def test_fft_then_ifft_gives_the_signal_back():
    x = _normal(11, (2, 4, 3, 2))
    text = (
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [4, 3, 2]}\n"
        "  - {name: f, type: FFT, input: x}\n  - {name: y, type: IFFT, input: f}\noutputs: [y]\n"
    )
    np.testing.assert_allclose(run_spec(text, {"x": x})[1].outputs["y"], x, rtol=1e-12, atol=1e-12)


# --- nnabla 1.39 -------------------------------------------------------------------------------------

NNABLA_CASES = [
    # (fixture case, layer type, YAML properties, inputs by the fixture's names, the spec's names)
    ("vat", "VATNoise", "epsilon: 1.4, Buf: {dataset: w}", ("vat_x", "vat_w")),
    ("vat2", "VATNoise", "base_axis: 1, epsilon: 10, Buf: {dataset: w}", ("vat_x", "vat_w")),
    ("unlink", "Unlink", "", ("x",)),
    ("nms", "NmsDetection2d", "thresh: 0.05, nms: 0.2", ("nms_x",)),
    ("nms_obj", "NmsDetection2d", "thresh: 0.2, nms: 0.3, nms_per_class: false", ("nms_x",)),
    ("cgv", "ClipGradByValue", "min: {dataset: lo}, Max: {dataset: hi}", ("x", "cv_min", "cv_max")),
    ("cgn", "ClipGradByNorm", "clip_norm: 0.5, axes: [1]", ("x",)),
    ("cv", "ClipByValue", "min: {dataset: lo}, Max: {dataset: hi}", ("x", "cv_min", "cv_max")),
    ("cn", "ClipByNorm", "clip_norm: 2.0, axis: [1]", ("x",)),
    ("cn0", "ClipByNorm", "clip_norm: 2.0, axis: [0, 1]", ("x",)),
    ("cn_big", "ClipByNorm", "clip_norm: 50.0, axis: [1]", ("x",)),
    ("topk", "TopKData", "k: 3", ("topk_x",)),
    ("topk_abs", "TopKData", "k: 2, abs: true, reduce: false, base_axis: 1", ("topk_x",)),
    ("topkg", "TopKGrad", "k: 2", ("topk_x",)),
    ("det", "BatchDet", "", ("mat_x",)),
    ("inv", "BatchInv", "", ("mat_x",)),
    ("logdet", "BatchLogdet", "", ("pos_x",)),
]
_SPEC_NAMES = {"vat_w": "w", "cv_min": "lo", "cv_max": "hi"}


@pytest.mark.parametrize("case, layer_type, props, names", NNABLA_CASES, ids=[c[0] for c in NNABLA_CASES])
def test_matches_nnabla(case, layer_type, props, names):
    """nnabla 1.39's output for the arguments NNC passes (its axes + 1), float32, within rtol 1e-5."""
    fixture = nnabla_misc()
    data = {("x" if k == 0 else _SPEC_NAMES[name]): fixture[name] for k, name in enumerate(names)}
    sizes = {key: list(value.shape[1:]) for key, value in data.items() if key == "x"}
    _, result = run_spec(layer_spec("float32", layer_type, sizes, props), data)
    expected = fixture[f"{case}_out"]
    got = result.outputs["y"]
    if layer_type in ("BatchDet", "BatchLogdet"):
        assert got.shape == (len(expected), 1)  # NNC's (1,) per sample; nnabla's (batch,)
        got = got[:, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_top_k_data_nnc_runs_the_smallest():
    """The quirk nnspec documents: without nnabla's `largest` flag (NNC's converter leaves it out, and
    protobuf reads it as false) nnabla keeps the k smallest; nnspec keeps NNC's documented k largest."""
    fixture = nnabla_misc()
    x = fixture["topk_x"].reshape(3, -1).astype(np.float64)
    np.testing.assert_array_equal(fixture["topk_smallest_out"], np.sort(x, axis=1)[:, :3])
    np.testing.assert_array_equal(fixture["topk_out"], -np.sort(-x, axis=1)[:, :3])


def test_fixture_was_made_by_nnabla_1_39():
    assert str(nnabla_misc()["nnabla_version"]).startswith("1.39")


# --- shapes and errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer_type, props, sizes, words",
    [
        ("VATNoise", "base_axis: 3, Buf: {dataset: w}", {"x": [2, 3, 4]}, "base_axis 3 is out of range"),
        ("ClipByNorm", "clip_norm: 0", {"x": [2, 3]}, "clip_norm 0.0 must be positive"),
        ("ClipByNorm", "axis: [2]", {"x": [2, 3]}, "axis 2 is out of range"),
        ("ClipGradByNorm", "axes: [5]", {"x": [2, 3]}, "axes 5 is out of range"),
        ("TopKData", "k: 7", {"x": [2, 3]}, "k 7 is more than the 6 values"),
        ("TopKGrad", "k: 4, base_axis: 1", {"x": [2, 3]}, "k 4 is more than the 3 values"),
        ("BatchDet", "", {"x": [2, 3]}, "must be one square matrix per sample"),
        ("BatchInv", "", {"x": [2, 2, 2]}, "must be one square matrix per sample"),
        ("FFT", "", {"x": [4, 3]}, "an axis of size 2 (real, imaginary)"),
        ("IFFT", "signal_ndim: 4", {"x": [2, 2, 2, 2, 2]}, "signal_ndim 4 must be 1, 2 or 3"),
    ],
)
def test_bad_shapes_are_refused(layer_type, props, sizes, words):
    with pytest.raises(SpecError) as raised:
        nnspec.loads(layer_spec("float32", layer_type, sizes, props))
    assert words in str(raised.value)


def test_buf_of_another_shape_is_refused():
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2, 3]}\n  - {name: z, type: Input, size: [3, 2]}\n"
        "  - {name: y, type: VATNoise, input: x, Buf: {input: z}}\n"
    )
    with pytest.raises(SpecError) as raised:
        nnspec.loads(text)
    assert "(3, 2)" in str(raised.value) and "Buf" in str(raised.value)


def test_output_shapes():
    shapes = {
        ("Flatten", ""): (24,),
        ("TopKData", "k: 2"): (2,),
        ("TopKData", "k: 2, base_axis: 1"): (2, 2),
        ("TopKData", "k: 2, reduce: false"): (2, 3, 4),
        ("BatchLogdet", None): (1,),
    }
    for (layer_type, props), shape in shapes.items():
        sizes = {"x": [3, 3]} if props is None else {"x": [2, 3, 4]}
        spec = nnspec.loads(layer_spec("float32", layer_type, sizes, props or ""))
        assert spec.layers["y"].shape == shape


def test_singular_matrix_gives_nan_inverse_and_minus_infinite_logdet():
    data = {"x": np.array([[[1.0, 2.0], [2.0, 4.0]]])}
    _, inv = run_spec(layer_spec("float64", "BatchInv", {"x": [2, 2]}), data, action="ignore")
    assert np.isnan(inv.outputs["y"]).all()
    _, logdet = run_spec(layer_spec("float64", "BatchLogdet", {"x": [2, 2]}), data, action="ignore")
    assert logdet.outputs["y"][0, 0] == -np.inf


@pytest.mark.parametrize("dtype", DTYPES)
def test_vat_noise_scales_each_vector_to_epsilon(dtype):
    """Whatever the input's scale, every noise vector leaves with norm epsilon (to the 1e-8 shift)."""
    x = _normal(12, (4, 6), 1e3)
    text = layer_spec(dtype, "VATNoise", {"x": [6]}, "epsilon: 3, Buf: {dataset: w}")
    _, result = run_spec(text, {"x": x, "w": np.zeros((4, 6))})
    norms = np.sqrt((result.outputs["y"].astype(np.float64) ** 2).sum(axis=1))
    np.testing.assert_allclose(norms, 3.0, rtol=1e-6)


def test_static_estimate_of_vat_noise_is_bounded_by_epsilon():
    """Ten values of each sample scaled to norm 2: root mean square 2 / sqrt(10), none beyond 2."""
    entry = nnspec.layer_types()["VATNoise"]
    got = entry.estimate([Estimate(0.0, 5.0)], [(10,)], {"base_axis": 0, "epsilon": 2.0}, {}, "float32")
    assert (got.low, got.high, got.mean) == (-2.0, 2.0, 0.0)
    assert got.std == pytest.approx(2.0 / math.sqrt(10))


@pytest.mark.parametrize("layer_type", sorted(REFERENCES))
def test_reference_entry_lists_the_type(layer_type):
    entry = nnspec.layer_types()[layer_type]
    assert entry.formula and entry.description


# --- the types refused for good ----------------------------------------------------------------------


@pytest.mark.parametrize("type_name", sorted(REFUSED))
def test_refused_types_say_why(type_name):
    """NNC's GUI settings, its importers' placeholder and the Transformers engine's layers are refused with
    their reason, at the type, not as "not supported yet" nor as a typo of another type."""
    text = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3]}}\n  - {{name: c, type: {type_name}}}\n"
    with pytest.raises(SpecError) as raised:
        nnspec.loads(text)
    message = str(raised.value)
    assert f"'{type_name}' is not a layer nnspec runs: {REFUSED[type_name]}" in message
    assert ":4:" in message and "did you mean" not in message


def test_nms_suppresses_an_overlapping_worse_box_by_hand():
    """Two boxes of IoU 0.6 (same centre, areas 0.06 and 0.1: 0.06 / 0.1) and a distant one; objectness 1.
    Per class with nms 0.5: the worse score of the pair is suppressed in its class only; by objectness the
    box of lower objectness loses every class."""
    boxes = np.array(
        [
            [
                [0.5, 0.5, 0.2, 0.3, 1.0, 0.9, 0.2],
                [0.5, 0.5, 0.2, 0.5, 1.0, 0.6, 0.7],
                [0.1, 0.1, 0.1, 0.1, 1.0, 0.8, 0.8],
            ]
        ]
    )
    per_class = call_nms(boxes, "thresh: 0.1, nms: 0.5")
    np.testing.assert_allclose(per_class[0, :, 5:], [[0.9, 0.0], [0.0, 0.7], [0.8, 0.8]])
    boxes[0, 1, 4] = 0.9  # the second box now has the lower objectness
    by_objectness = call_nms(boxes, "thresh: 0.1, nms: 0.5, nms_per_class: false")
    np.testing.assert_allclose(by_objectness[0, 1, 4:], 0.0)
    np.testing.assert_allclose(by_objectness[0, 0, 5:], [0.9, 0.2])


def call_nms(boxes: np.ndarray, props: str) -> np.ndarray:
    return run_spec(layer_spec("float64", "NmsDetection2d", {"x": list(boxes.shape[1:])}, props), {"x": boxes})[
        1
    ].outputs["y"]


def test_nnc_s_nms_per_class_spelling_is_answered():
    """NNC's NMSPerClass (mechanically nmsper_class) is written nms_per_class: the error says so."""
    with pytest.raises(SpecError) as raised:
        nnspec.loads(layer_spec("float32", "NmsDetection2d", {"x": [4, 7]}, "NMSPerClass: false"))
    assert "NNC's 'NMSPerClass' is written 'nms_per_class: false' in nnspec" in str(raised.value)


def test_nnc_project_spells_nms_properties_in_capitals(tmp_path):
    """NNC's NMS and NMSPerClass (capitals where nnspec's CamelCase has Nms) are read as nms, nms_per_class."""
    text = (
        "[Engine]\nSDeepEngineType=NNabla\n[Network_Global]\nNumLayer=2\nNumLink=1\n"
        "[Layer_0]\nID=0\nType=Input\nProperty_0_Name=Name\nProperty_0_Value=x\nProperty_1_Name=Size\n"
        "Property_1_Value=4,7\nNumProperty=2\n"
        "[Layer_1]\nID=1\nType=NmsDetection2d\nProperty_0_Name=Name\nProperty_0_Value=n\nProperty_1_Name=Thresh\n"
        "Property_1_Value=0.5\nProperty_2_Name=NMS\nProperty_2_Value=0.3\nProperty_3_Name=NMSPerClass\n"
        "Property_3_Value=False\nNumProperty=4\n"
        "[Link_0]\nID=0\nSourceLayerID=0\nSourcePinIndex=0\nDestLayerID=1\nDestPinIndex=0\n"
    )
    path = tmp_path / "p.sdcproj"
    path.write_text(text)
    layer = nnspec.load(path).layers["n"]
    assert (layer.props["nms"], layer.props["nms_per_class"], layer.props["thresh"]) == (0.3, False, 0.5)
