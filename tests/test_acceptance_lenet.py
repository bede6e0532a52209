"""Acceptance: specs/lenet.yaml, run with given parameters, against an independent reference.

The network: x (1, 28, 28) -> conv1 (6 maps, 5 x 5, valid) -> relu1 -> pool1 (2 x 2)
-> conv2 (16 maps, 5 x 5, valid) -> relu2 -> pool2 (2 x 2) -> fc1 (120) -> relu3 -> fc2 (84)
-> relu4 -> fc3 (10) -> probs (Softmax).

The parameters are given as nnabla names them (conv1/conv/W of shape (6, 1, 5, 5),
fc1/affine/W of shape (256, 120), ...), drawn from a seeded generator at the scale of NNC's
default Glorot initializers with small non-zero biases, and rounded to float32, as is the
batch of 3 inputs in -1..1. The reference below never calls nnspec: it is plain Python
loops over Python floats (float64), written from the layers' definitions:

* Convolution (valid, stride 1): y[m, i, j] = b[m] + sum_{c, ki, kj} W[m, c, ki, kj] x[c, i+ki, j+kj];
* ReLU: max(0, v); MaxPooling 2 x 2, stride 2: the largest of x[c, 2i+a, 2j+b], a, b in {0, 1};
* the Affine after pool2 reads the (16, 4, 4) sample in row-major order, index (c*4 + h)*4 + w,
  as nnabla flattens it; y[j] = b[j] + sum_i v[i] W[i, j] (W laid out (inputs, outputs));
* Softmax: exp(z_k - max z) / sum_j exp(z_j - max z) with math.exp (the shift by max z
  leaves the result unchanged mathematically).

Tolerance, absolute 1e-5: nnspec computes in float32 and the reference in float64 from
exactly the same float32 values, so the two differ only by float32 rounding (unit roundoff
u = 2^-24 = 6e-8). Each output is a sum of at most 257 terms (fc1: 256 products and the
bias); rounding errors of such a sum add up like a random walk, about sqrt(257) u = 1e-6 times
the size of its terms, and the values here stay within a few units (the weights are at
Glorot's scale, so each layer keeps its input's size; ReLU and max pooling never enlarge a
difference; a probability moves by at most half the change of the logits). The differences
expected are therefore around 1e-6, and 1e-5 leaves a margin of about ten. A real error is
orders of magnitude larger: with conv1's kernels flipped, pool2 flattened in the wrong order or
fc3's bias left out, the reference moves the probabilities by 0.02 to 0.15 and the layer
where the error is made by up to 4. A relative tolerance would not do for
the ReLU outputs, which are exactly 0 in one computation and 1e-7 in the other. The worst-case
a-priori bound, 257 u sum |t_i|, is looser than 1e-5 for the largest sums; it is not what a
sum of rounding errors of mixed signs reaches, and the tests print the largest difference
measured.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnspec
from nnspec.cli import main

from .conftest import SPECS

LENET = SPECS / "lenet.yaml"
ATOL = 1e-5
BATCH = 3

# Every parameter as nnabla names and lays it out.
SHAPES = {
    "conv1/conv/W": (6, 1, 5, 5),
    "conv1/conv/b": (6,),
    "conv2/conv/W": (16, 6, 5, 5),
    "conv2/conv/b": (16,),
    "fc1/affine/W": (256, 120),
    "fc1/affine/b": (120,),
    "fc2/affine/W": (120, 84),
    "fc2/affine/b": (84,),
    "fc3/affine/W": (84, 10),
    "fc3/affine/b": (10,),
}
LAYERS = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "fc1", "relu3", "fc2", "relu4", "fc3", "probs"]


def _glorot_std(name: str, shape: tuple[int, ...]) -> float:
    """The standard deviation of NNC's default weights: sqrt(2 / (fan_in + fan_out))."""
    if "/conv/" in name:  # (out_maps, in_maps, kh, kw)
        return math.sqrt(2 / (shape[1] * shape[2] * shape[3] + shape[0]))
    return math.sqrt(2 / (shape[0] + shape[1]))  # Affine (inputs, outputs)


def make_parameters(seed: int = 20240) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in SHAPES.items():
        std = _glorot_std(name, shape) if name.endswith("/W") else 0.1
        params[name] = rng.normal(0.0, std, size=shape).astype(np.float32)
    return params


def make_inputs(seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(BATCH, 1, 28, 28)).astype(np.float32)


# --- the independent reference: Python floats and loops only ----------------------------------


def ref_convolution(x, W, b):
    """x: [C][H][W] nested lists; W: [M][C][K][K]; b: [M]. Valid convolution, stride 1."""
    channels, height, width, k = len(x), len(x[0]), len(x[0][0]), len(W[0][0])
    out = []
    for m in range(len(W)):
        rows = []
        for i in range(height - k + 1):
            row = []
            for j in range(width - k + 1):
                total = b[m]
                for c in range(channels):
                    for ki in range(k):
                        for kj in range(k):
                            total += W[m][c][ki][kj] * x[c][i + ki][j + kj]
                row.append(total)
            rows.append(row)
        out.append(rows)
    return out


def ref_relu(x):
    if isinstance(x, list):
        return [ref_relu(v) for v in x]
    return x if x > 0.0 else 0.0


def ref_max_pooling(x):
    """x: [C][H][W]; 2 x 2 windows side by side (H and W even here)."""
    return [
        [
            [max(plane[2 * i + a][2 * j + c] for a in range(2) for c in range(2)) for j in range(len(plane[0]) // 2)]
            for i in range(len(plane) // 2)
        ]
        for plane in x
    ]


def ref_flatten(x):
    """[C][H][W] to a list, element (c, h, w) at (c*H + h)*W + w."""
    channels, height, width = len(x), len(x[0]), len(x[0][0])
    flat = [0.0] * (channels * height * width)
    for c in range(channels):
        for h in range(height):
            for w in range(width):
                flat[(c * height + h) * width + w] = x[c][h][w]
    return flat


def ref_affine(v, W, b):
    """v: [inputs]; W: [inputs][outputs]; b: [outputs]."""
    out = []
    for j in range(len(b)):
        total = b[j]
        for i in range(len(v)):
            total += v[i] * W[i][j]
        out.append(total)
    return out


def ref_softmax(z):
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = math.fsum(e)
    return [v / total for v in e]


def reference(x: np.ndarray, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every layer's output for the batch x, in float64."""
    p = {name: value.astype(np.float64).tolist() for name, value in params.items()}
    layers: dict[str, list] = {name: [] for name in LAYERS}
    for sample in x.astype(np.float64).tolist():
        values = {}
        values["conv1"] = ref_convolution(sample, p["conv1/conv/W"], p["conv1/conv/b"])
        values["relu1"] = ref_relu(values["conv1"])
        values["pool1"] = ref_max_pooling(values["relu1"])
        values["conv2"] = ref_convolution(values["pool1"], p["conv2/conv/W"], p["conv2/conv/b"])
        values["relu2"] = ref_relu(values["conv2"])
        values["pool2"] = ref_max_pooling(values["relu2"])
        values["fc1"] = ref_affine(ref_flatten(values["pool2"]), p["fc1/affine/W"], p["fc1/affine/b"])
        values["relu3"] = ref_relu(values["fc1"])
        values["fc2"] = ref_affine(values["relu3"], p["fc2/affine/W"], p["fc2/affine/b"])
        values["relu4"] = ref_relu(values["fc2"])
        values["fc3"] = ref_affine(values["relu4"], p["fc3/affine/W"], p["fc3/affine/b"])
        values["probs"] = ref_softmax(values["fc3"])
        for name in LAYERS:
            layers[name].append(values[name])
    return {name: np.array(value, dtype=np.float64) for name, value in layers.items()}


@pytest.fixture(scope="module")
def case():
    params, x = make_parameters(), make_inputs()
    return params, x, reference(x, params)


def _max_difference(got: np.ndarray, expected: np.ndarray) -> float:
    assert got.shape == expected.shape
    return float(np.max(np.abs(got.astype(np.float64) - expected)))


# --- the reference checked by hand, without nnspec ---------------------------------------------


def test_reference_layers_by_hand():
    """A kernel with a single tap at (1, 2) reads x[i+1][j+2]; the pooling takes window maxima; the
    flattening is row-major; the affine uses W as (inputs, outputs)."""
    x = [[[float(10 * r + c) for c in range(6)] for r in range(6)]]
    W = [[[[1.0 if (ki, kj) == (1, 2) else 0.0 for kj in range(5)] for ki in range(5)]]]
    assert ref_convolution(x, W, [0.5]) == [[[x[0][i + 1][j + 2] + 0.5 for j in range(2)] for i in range(2)]]
    assert ref_max_pooling([[[1.0, -2.0], [3.0, 0.0]]]) == [[[3.0]]]
    assert ref_relu([[-1.0, 2.0]]) == [[0.0, 2.0]]
    assert ref_flatten([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert ref_affine([1.0, 2.0], [[1.0, 10.0], [100.0, 1000.0]], [0.5, 0.25]) == [201.5, 2010.25]
    probs = ref_softmax([0.0, math.log(3.0)])
    assert probs == pytest.approx([0.25, 0.75], abs=1e-15)


# --- the spec -----------------------------------------------------------------------------------


def test_spec_declares_lenet_with_nnabla_parameter_names():
    spec = nnspec.load(LENET)
    declared = {
        layer.parameter_key(parameter): tuple(shape)
        for layer in spec.layers.values()
        for parameter, shape in layer.parameter_shapes.items()
    }
    assert declared == SHAPES
    assert list(spec.outputs) == ["probs"]


def test_lenet_matches_float64_reference(case):
    params, x, expected = case
    result = nnspec.run(nnspec.load(LENET), {"x": x}, params=params)
    assert list(result.outputs) == ["probs"]
    got = result.outputs["probs"]
    assert got.dtype == np.float32 and got.shape == (BATCH, 10)
    # the parameters given are the ones used, unchanged
    for name, value in params.items():
        layer, _, parameter = name.split("/")
        np.testing.assert_array_equal(result.layer_parameters[layer][parameter], value, err_msg=name)
    difference = _max_difference(got, expected["probs"])
    print(f"probs: max |float32 - float64 reference| = {difference:.3g}")
    assert difference <= ATOL
    assert result.errors == []


def test_every_layer_matches_float64_reference(case):
    """The same spec with every layer as an output, so a mismatch names the first layer it appears in."""
    params, x, expected = case
    text = LENET.read_text(encoding="utf-8") + f"outputs: [{', '.join(LAYERS)}]\n"
    result = nnspec.run(nnspec.loads(text), {"x": x}, params=params)
    differences = {name: _max_difference(result.outputs[name], expected[name]) for name in LAYERS}
    print("max |float32 - float64 reference|:", {name: f"{d:.3g}" for name, d in differences.items()})
    for name in LAYERS:  # in order: the first layer off is the one to look at
        assert differences[name] <= ATOL, (name, differences[name])
    # the inputs exercise the network: both signs before each ReLU, and distinct classes
    for name in ("conv1", "conv2", "fc1", "fc2"):
        assert expected[name].min() < 0 < expected[name].max(), name
    assert expected["probs"].max() > 2 * expected["probs"].min()


def test_cli_with_parameter_and_input_files_gives_the_same_outputs(case, tmp_path, capsys):
    params, x, expected = case
    npz, npy, out = tmp_path / "params.npz", tmp_path / "x.npy", tmp_path / "out.npz"
    np.savez(npz, **params)
    np.save(npy, x)
    code = main(["run", str(LENET), "--params", str(npz), "--input", f"x={npy}", "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    with np.load(out) as saved:
        assert sorted(saved.files) == ["probs"]
        probs = saved["probs"]
    assert probs.dtype == np.float32 and probs.shape == (BATCH, 10)
    in_memory = nnspec.run(nnspec.load(LENET), {"x": x}, params=params).outputs["probs"]
    np.testing.assert_array_equal(probs, in_memory)
    assert _max_difference(probs, expected["probs"]) <= ATOL
