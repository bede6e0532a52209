"""ONNX files written by nnabla's own converter (nnabla-converter 1.39), read as the NNC networks they were.

tests/fixtures/onnx_nnabla/ (scripts/make_nnabla_onnx_fixtures.py): for each NNC-style spec NAME.yaml of
ours, NAME.onnx as ``nnabla_cli convert`` writes it (opset 11, the batch fixed at 1; the *_batch2 files
at 2, cnn_opset13 at opset 13) and NAME.npz with nnabla's outputs for 7 samples. The references are
nnabla's outputs and the specs the files were made from: the layers read must be the spec's, named
and typed as NNC names them (a Softmax one Softmax layer, not five arithmetic ones), and their runs
nnabla's outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "onnx_nnabla"
MODELS = sorted(path.stem for path in FIXTURES.glob("*.onnx"))
# The spec each file was written from (the *_batch2 and *_opset13 files: the same network converted
# with other options).
SPEC_OF = {name: name.removesuffix("_batch2").removesuffix("_opset13") for name in MODELS}
# nnabla's converter writes AveragePooling with including_pad false as a Pad of the input's edge values
# and an average of the padded windows: not nnabla's average (which divides by the input values a window
# covers). The reader reads what the file says: that Pad and an AveragePooling.
EDGE_PADDED = {"pooling": "avg_uncounted"}


def _load(name: str):
    return nnspec.load(str(FIXTURES / f"{name}.onnx"))


def _expected(name: str) -> np.lib.npyio.NpzFile:
    return np.load(FIXTURES / f"{name}.npz")


def test_the_fixtures_are_there_and_small():
    assert len(MODELS) == 14, MODELS
    assert sum(path.stat().st_size for path in FIXTURES.iterdir()) < 400_000


@pytest.mark.parametrize("name", MODELS)
def test_every_layer_is_read_as_the_nnc_layer_it_was(name):
    """Each layer of the spec the file was written from comes back as one layer of its type, under its
    name, with its properties (epsilon 1e-05, not float32's 9.99999974e-06; a pool's padding; a
    depthwise convolution's multiplier; an Affine's multi-axis out_shape; a shared parameter_scope)."""
    source = nnspec.load(str(FIXTURES / f"{SPEC_OF[name]}.yaml"))
    read = _load(name)
    for layer in source.layers.values():
        assert layer.name in read.layers, f"{layer.name} missing from {sorted(read.layers)}"
        got = read.layers[layer.name]
        assert got.type.name == layer.type.name, layer.name
        given = {key: value for key, value in layer.props.items() if key not in _SAID_OTHERWISE and value is not None}
        if layer.name == EDGE_PADDED.get(name):  # its padding is the Pad layer's, counted as the file counts it
            given |= {"padding": (0, 0), "including_pad": False}
        assert {key: got.props.get(key) for key in given} == given, layer.name
    extra = {layer.name: layer.type.name for layer in read.layers.values() if layer.name not in source.layers}
    assert extra == ({"x_0007_pad": "Pad"} if name in EDGE_PADDED else {})
    assert list(read.outputs) == list(source.outputs)


# Properties the ONNX file says another way: a convolution's border_mode is its padding (a property
# left to its default, None, is resolved from others and not compared).
_SAID_OTHERWISE = {"border_mode"}


@pytest.mark.parametrize("name", MODELS)
def test_the_runs_reproduce_nnablas_outputs_at_any_number_of_samples(name):
    """The file is fixed at batch 1 (or 2); nnspec runs it on 1 (or 2), 3 and 7 samples, each sample's
    outputs nnabla's for that sample, within 1e-5."""
    spec, expected = _load(name), _expected(name)
    inputs = [layer.name for layer in spec.layers.values() if layer.type.name == "Input"]
    for samples in sorted({int(expected["batch"]), 3, 7}):
        feeds = {variable: expected[f"in/{variable}"][:samples] for variable in inputs}
        result = nnspec.run(spec, feeds, statistics=False, view="runtime", batch_size=samples)
        for output in spec.outputs:
            got = np.asarray(result.outputs[output], np.float64)
            if output == EDGE_PADDED.get(name):
                want = _edge_padded_average(feeds["x"].astype(np.float64), kernel=3, stride=2, pad=1)
                assert np.max(np.abs(want - expected[f"out/{output}"][:samples])) > 0.1  # not nnabla's
            else:
                want = expected[f"out/{output}"][:samples]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{name}/{output} at {samples}")


def _edge_padded_average(x: np.ndarray, kernel: int, stride: int, pad: int) -> np.ndarray:
    """What the file computes: the input padded with its edge values, then averaged over k x k windows."""
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="edge")
    size = (padded.shape[2] - kernel) // stride + 1
    out = np.empty(x.shape[:2] + (size, size))
    for i in range(size):
        for j in range(size):
            window = padded[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
            out[:, :, i, j] = window.mean(axis=(2, 3))
    return out


def test_patterns_become_one_layer_each():
    """Softmax and LogSoftmax (ReduceMax, Sub, Exp, ReduceSum, Div or Log, Sub), LayerNormalization
    (14 nodes with its gamma and beta), a padded pool (Pad and pool), an Affine of two output axes
    (Gemm and Reshape): as many layers as the NNC network had, which the range checks see as such."""
    for name, nodes, layers in (("softmax", 17, 6), ("layernorm", 29, 5), ("cnn", 37, 14), ("affine", 6, 4)):
        model = onnx.load(str(FIXTURES / f"{name}.onnx"))
        assert len(model.graph.node) == nodes, name
        assert len(_load(name).layers) == layers, name


def test_parameters_keep_nnablas_names_and_scopes(tmp_path):
    """Layers sharing a parameter_scope read it back and share it; --save-params writes nnabla's names."""
    spec = _load("shared")
    scopes = {name: layer.props.get("parameter_scope") for name, layer in spec.layers.items()}
    assert scopes == {
        **{name: None for name in ("a", "b", "maps", "joined")},
        **{"fc_a": "encoder", "fc_b": "encoder", "conv": "block1"},
    }
    saved = tmp_path / "params.npz"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnspec",
            "run",
            str(FIXTURES / "shared.onnx"),
            "--synthetic",
            "--save-params",
            str(saved),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode in (0, 1), done.stderr
    model = onnx.load(str(FIXTURES / "shared.onnx"))
    initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    params = dict(np.load(saved))
    assert (
        sorted(params)
        == sorted(initializers)
        == ["block1/conv/W", "block1/conv/b", "encoder/affine/W", "encoder/affine/b"]
    )
    for key, value in initializers.items():
        np.testing.assert_array_equal(params[key].reshape(value.shape), value)


# --- the fixed batch, on models built here ---------------------------------------------------------


def _reshape_model(path: Path, target: list[int]) -> Path:
    """(1, 3, 4) -> Tanh -> Reshape to ``target`` (a constant, as a batch-1 export writes it) -> Relu."""
    graph = helper.make_graph(
        [
            helper.make_node("Tanh", ["x"], ["t"]),
            helper.make_node("Reshape", ["t", "shape"], ["r"], name="flatten"),
            helper.make_node("Relu", ["r"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(target, np.int64), "shape")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), str(path))
    return path


def test_a_reshape_whose_shape_starts_with_the_fixed_batch_runs_on_any_number_of_samples(tmp_path):
    spec = nnspec.load(str(_reshape_model(tmp_path / "m.onnx", [1, 12])))
    x = np.random.default_rng(5).normal(size=(5, 3, 4)).astype(np.float32)
    result = nnspec.run(spec, {"x": x}, statistics=False, view="runtime", batch_size=5)
    np.testing.assert_allclose(
        result.outputs["y"], np.maximum(np.tanh(x.astype(np.float64)), 0).reshape(5, 12), rtol=1e-6
    )


def test_a_reshape_that_moves_the_fixed_batch_is_an_error_naming_the_node_and_why(tmp_path):
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(_reshape_model(tmp_path / "m.onnx", [3, 4])))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.line == 2
    assert diagnostic.message == (
        "node 1 'flatten' (Reshape): shape [3, 4] of an input of shape [1, 3, 4] does not keep the batch axis "
        "first: the model fixes the batch at 1, and nnspec's layers work per sample: only a Reshape keeping "
        "the batch axis first runs on any number of samples"
    )


# --- a decomposed LayerNormalization built here, against its numpy formula ----------------------------


def _layer_norm_model(path: Path, gamma: np.ndarray) -> Path:
    """nnabla's decomposition of a LayerNormalization over axes 2 and 3 of (N, 3, 4, 5), so with NNC's
    batch_axis 0 (each channel its own statistics), at opset 13 (ReduceSum's axes an input) and with a
    Sqrt where nnabla writes Pow 0.5."""
    constants = {
        "axes": np.array([2, 3], np.int64),
        "count": np.array([20.0], np.float32),
        "eps": np.array([1e-3], np.float32),
        "gamma": gamma,
        "beta": np.linspace(-1, 1, 20, dtype=np.float32).reshape(1, 1, 4, 5),
    }
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[2, 3], keepdims=1),
        helper.make_node("Sub", ["x", "mean"], ["centred"]),
        helper.make_node("Mul", ["centred", "centred"], ["squared"]),
        helper.make_node("ReduceSum", ["squared", "axes"], ["total"], keepdims=1),
        helper.make_node("Div", ["total", "count"], ["var"]),
        helper.make_node("Add", ["var", "eps"], ["shifted"]),
        helper.make_node("Sqrt", ["shifted"], ["std"]),
        helper.make_node("Div", ["centred", "std"], ["normed"]),
        helper.make_node("Mul", ["normed", "gamma"], ["scaled"]),
        helper.make_node("Add", ["scaled", "beta"], ["ln"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
        [helper.make_tensor_value_info("ln", TensorProto.FLOAT, [1, 3, 4, 5])],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_a_decomposed_layer_normalization_over_some_axes_is_one_layer_with_its_batch_axis(tmp_path):
    gamma = np.linspace(0.5, 1.5, 20, dtype=np.float32).reshape(1, 1, 4, 5)
    spec = nnspec.load(str(_layer_norm_model(tmp_path / "ln.onnx", gamma)))
    (layer,) = [layer for layer in spec.layers.values() if layer.type.name != "Input"]
    assert (layer.name, layer.type.name, layer.props["batch_axis"], layer.props["epsilon"]) == (
        "ln",
        "LayerNormalization",
        0,
        0.001,
    )
    x = np.random.default_rng(7).normal(size=(4, 3, 4, 5)) * 3 + 1
    centred = x - x.mean(axis=(2, 3), keepdims=True)
    beta = np.linspace(-1, 1, 20).reshape(1, 1, 4, 5)
    expected = centred / np.sqrt((centred**2).mean(axis=(2, 3), keepdims=True) + 1e-3) * gamma + beta
    result = nnspec.run(spec, {"x": x.astype(np.float32)}, statistics=False, view="runtime", batch_size=4)
    np.testing.assert_allclose(result.outputs["ln"], expected, rtol=1e-5, atol=1e-5)


def test_a_gamma_that_differs_along_the_batch_axis_is_refused_by_name(tmp_path):
    gamma = np.linspace(0.5, 1.5, 3, dtype=np.float32).reshape(1, 3, 1, 1)  # one a channel: NNC's has one
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(_layer_norm_model(tmp_path / "ln.onnx", gamma)))
    assert caught.value.diagnostics[0].message == (
        "node 0 (ReduceMean): its gamma of shape [1, 3, 1, 1] does not fit a LayerNormalization gamma of "
        "shape [1, 1, 4, 5]"
    )


def test_the_spec_converted_from_a_file_runs_on_its_parameters_under_their_scopes(tmp_path):
    """convert writes the layers' parameter_scope; run --params model.onnx finds every parameter by it."""
    from nnspec.cli import main

    converted = tmp_path / "shared.yaml"
    assert main(["convert", str(FIXTURES / "shared.onnx"), "-o", str(converted)]) == 0
    assert converted.read_text().count("parameter_scope: encoder") == 2
    expected = _expected("shared")
    feeds = {variable: expected[f"in/{variable}"] for variable in ("a", "b", "maps")}
    params = str(FIXTURES / "shared.onnx")
    result = nnspec.run(str(converted), feeds, params=params, statistics=False, view="runtime", batch_size=7)
    for output in ("joined", "conv"):
        np.testing.assert_allclose(result.outputs[output], expected[f"out/{output}"], rtol=1e-5, atol=1e-5)


def test_a_layer_normalization_nnspec_writes_is_read_back_as_one(tmp_path):
    """nnspec's writer takes the variance as a ReduceMean of the squares (not nnabla's ReduceSum and Div):
    read back as one LayerNormalization with its epsilon."""
    from nnspec.cli import main

    source = tmp_path / "ln.yaml"
    source.write_text(
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [3, 4]}\n"
        "  - {name: norm, type: LayerNormalization, input: x, epsilon: 0.001}\n  - {name: out, type: Tanh}\n"
    )
    assert main(["convert", str(source), "-o", str(tmp_path / "ln.onnx")]) == 0
    read = nnspec.load(str(tmp_path / "ln.onnx"))
    assert [(layer.name, layer.type.name) for layer in read.layers.values()] == [
        ("x", "Input"),
        ("norm", "LayerNormalization"),
        ("out", "Tanh"),
    ]
    assert read.layers["norm"].props["epsilon"] == 0.001
