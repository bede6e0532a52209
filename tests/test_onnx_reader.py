"""ONNX models read as specs (nnspec.spec.onnx_reader): checked against outputs nobody here computed.

The references: the onnx wheel's own test data (PyTorch-exported operator tests with their inputs and
outputs, and the "light" ImageNet models with the outputs onnx's ReferenceEvaluator gives), and, for the
small models built here, numpy formulas written out in the test. scripts/onnx_conformance.py runs all of
them; this file runs a representative subset, each case well under a second but the two light models.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError, UsageError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

DATA = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data"
ROOT = Path(__file__).resolve().parent.parent


def _tensor(path: Path) -> np.ndarray:
    tensor = TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def _run(path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    spec = nnspec.load(str(path))
    data = [layer.name for layer in spec.layers.values() if layer.type.name == "Input"]
    result = nnspec.run(spec, dict(zip(data, inputs)), statistics=False, view="runtime", batch_size=len(inputs[0]))
    return [result.outputs[name] for name in spec.outputs]


def _close(got: np.ndarray, want: np.ndarray) -> None:
    atol = 1e-5 * float(np.max(np.abs(want)))
    np.testing.assert_allclose(np.asarray(got, np.float64).reshape(want.shape), want, rtol=1e-5, atol=atol)


# One or two of each kind the reader maps differently: 1-D pooling (reshaped to 2-D), a transposed
# convolution with output_padding (full output, then a Slice), per-channel PReLU, pads, BN, LogSoftmax.
PYTORCH_CASES = [
    "test_Conv2d_depthwise_with_multiplier",
    "test_Conv3d_dilated_strided",
    "test_ConvTranspose2d",
    "test_BatchNorm2d_eval",
    "test_AvgPool2d_stride",
    "test_MaxPool1d_stride",
    "test_MaxPool3d_stride_padding",
    "test_MaxPool2d_stride_padding_dilation",  # Pad, Slice of step 10, MaxPooling
    "test_Linear",
    "test_PReLU_2d_multiparam",
    "test_ReflectionPad2d",
    "test_ReplicationPad2d",
    "test_PixelShuffle",
    "test_LogSoftmax",
    "test_SELU",
    "test_Softmax",
    "test_GLU_dim",  # Split: a Slice an output
    "test_Embedding",  # Gather from a constant table with int64 indices: Embed
]


@pytest.mark.parametrize("case", PYTORCH_CASES)
def test_pytorch_exported_operators_reproduce_their_outputs(case):
    folder = DATA / "pytorch-converted" / case
    data_set = folder / "test_data_set_0"
    inputs = [_tensor(p) for p in sorted(data_set.glob("input_*.pb"))]
    expected = [_tensor(p) for p in sorted(data_set.glob("output_*.pb"))]
    for got, want in zip(_run(folder / "model.onnx", inputs), expected, strict=True):
        _close(got, want)


def _dummy_input(model_path: Path) -> np.ndarray:
    """onnx's input for its light models (onnx/backend/test/runner generate_dummy_data): arange(n) / n."""
    model = onnx.load(str(model_path))
    constants = {tensor.name for tensor in model.graph.initializer}
    (data,) = [info for info in model.graph.input if info.name not in constants]
    shape = [d.dim_value for d in data.type.tensor_type.shape.dim]
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


# AlexNet: LRN (written as the layers computing it), Gemm, folded ConstantOfShape weights;
# Inception v1: an average pool padded at one end (ignore_border false, then a Slice), LRN, Concat.
@pytest.mark.parametrize("model", ["light_bvlc_alexnet", "light_inception_v1"])
def test_light_models_reproduce_onnx_reference_outputs(model):
    path = DATA / "light" / f"{model}.onnx"
    (got,) = _run(path, [_dummy_input(path)])
    _close(got, _tensor(DATA / "light" / f"{model}_output_0.pb"))


# --- models built here, against numpy formulas --------------------------------------------------------


def _save(model, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def _mlp(path: Path, batch: int | str = 1) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    weights = {
        "W1": rng.normal(size=(4, 6)).astype(np.float32),
        "b1": rng.normal(size=(6,)).astype(np.float32),
        "W2": rng.normal(size=(3, 6)).astype(np.float32),  # Gemm with transB
        "b2": rng.normal(size=(3,)).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["m1"], name="fc1"),
        helper.make_node("Add", ["m1", "b1"], ["h1"], name="bias1"),
        helper.make_node("Tanh", ["h1"], ["t1"], name="act"),
        helper.make_node("Gemm", ["t1", "W2", "b2"], ["h2"], name="fc2", transB=1, alpha=0.5),
        helper.make_node("Mul", ["h2", "two"], ["h3"], name="double"),
        helper.make_node("Softmax", ["h3"], ["y"], name="prob", axis=-1),
    ]
    initializers = [numpy_helper.from_array(v, k) for k, v in weights.items()]
    initializers.append(numpy_helper.from_array(np.array(2.0, np.float32), "two"))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])],
        initializers,
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path), weights


# written for batch 1 (as converters often do) or with a symbolic batch: runs on any number of samples
@pytest.mark.parametrize("batch", [1, "N"])
def test_a_model_built_here_runs_as_its_numpy_formula_on_any_batch(tmp_path, batch):
    path, w = _mlp(tmp_path / "mlp.onnx", batch=batch)
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    logits = 2 * (0.5 * np.tanh(x.astype(np.float64) @ w["W1"] + w["b1"]) @ w["W2"].T + w["b2"])
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    (got,) = _run(path, [x])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_models_initializers_are_the_runs_parameters_under_nnabla_names(tmp_path):
    path, w = _mlp(tmp_path / "mlp.onnx")
    spec = nnspec.load(str(path))
    kinds = {name: layer.type.name for name, layer in spec.layers.items()}
    assert kinds == {
        "x": "Input",
        "m1": "Affine",  # MatMul + Add of a constant bias: one Affine
        "t1": "Tanh",
        "h2": "Affine",
        "h3": "MulScalar",
        "y": "Softmax",
    }
    from nnspec.spec.onnx_reader import parameters

    params = parameters(str(path))
    np.testing.assert_array_equal(params["m1/affine/W"], w["W1"])
    np.testing.assert_array_equal(params["m1/affine/b"], w["b1"])
    np.testing.assert_allclose(params["h2/affine/W"], 0.5 * w["W2"].T)  # Affine's (inputs, outputs), alpha folded
    np.testing.assert_array_equal(params["h2/affine/b"], w["b2"])
    assert spec.layers["h3"].props["value"] == 2.0


def test_convert_writes_the_readable_spec_and_run_saves_its_parameters(tmp_path):
    path, _ = _mlp(tmp_path / "mlp.onnx")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "nnspec", "convert", str(path), "-o", str(tmp_path / "mlp.yaml")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "mlp.yaml").read_text()
    assert "type: Softmax" in text and "type: Affine" in text and "outputs: [y]" in text
    x = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    # --params model.onnx: the converted spec runs on the model's own weights
    from_yaml = nnspec.run(str(tmp_path / "mlp.yaml"), {"x": x}, params=str(path), view="runtime")
    (from_onnx,) = _run(path, [x])
    np.testing.assert_array_equal(from_yaml.outputs["y"], from_onnx)


def test_constant_operands_broadcast_as_onnx_broadcasts(tmp_path):
    per_channel = np.array([1.0, -2.0, 3.0], np.float32).reshape(3, 1, 1)
    per_column = np.array([0.5, 0.25, 2.0, 4.0], np.float32)
    graph = helper.make_graph(
        [helper.make_node("Sub", ["x", "c"], ["s"]), helper.make_node("Div", ["s", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 2, 4])],
        [numpy_helper.from_array(per_channel, "c"), numpy_helper.from_array(per_column, "w")],
    )
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "b.onnx")
    x = np.random.default_rng(3).normal(size=(2, 3, 2, 4)).astype(np.float32)
    (got,) = _run(path, [x])
    np.testing.assert_allclose(got, (x - per_channel) / per_column, rtol=1e-6)


def _decomposed(path: Path, log: bool) -> Path:
    """Softmax (or LogSoftmax) along axis 1 of (N, 3, 4), as nnabla's converter writes it (opset 11)."""
    nodes = [
        helper.make_node("ReduceMax", ["x"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["x", "m"], ["s"]),
        helper.make_node("Exp", ["s"], ["e"]),
        helper.make_node("ReduceSum", ["e"], ["t"], axes=[1], keepdims=1),
    ]
    if log:
        nodes += [helper.make_node("Log", ["t"], ["l"]), helper.make_node("Sub", ["s", "l"], ["y"])]
    else:
        nodes += [helper.make_node("Div", ["e", "t"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4])],
    )
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), path)


@pytest.mark.parametrize("log", [False, True])
def test_a_decomposed_softmax_is_one_softmax_layer(tmp_path, log):
    path = _decomposed(tmp_path / "softmax.onnx", log)
    spec = nnspec.load(str(path))
    kinds = [(layer.name, layer.type.name, layer.props.get("axis")) for layer in spec.layers.values()]
    assert kinds == [("x", "Input", None), ("y", "LogSoftmax" if log else "Softmax", 0)]
    x = np.random.default_rng(4).normal(size=(2, 3, 4)) * 10
    shifted = x - x.max(1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(1, keepdims=True)) if log else np.exp(shifted)
    if not log:
        expected /= expected.sum(1, keepdims=True)
    (got,) = _run(path, [x.astype(np.float32)])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_reduce_max_that_starts_no_softmax_is_refused(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=1)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4])],
    )
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), tmp_path / "max.onnx")
    with pytest.raises(SpecError, match="only as the start of a decomposed Softmax"):
        nnspec.load(str(path))


# --- what is refused --------------------------------------------------------------------------------


def test_every_unsupported_operator_is_one_located_error(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="ok"),
        helper.make_node("Hardmax", ["r"], ["h"], name="hard"),
        helper.make_node("Relu", ["h"], ["r2"]),
        helper.make_node("Erf", ["r2"], ["y"], name="erf"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "bad.onnx")
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    found = [(d.line, d.message) for d in caught.value.diagnostics]
    assert found == [
        (2, "node 1 'hard' (Hardmax): the operator Hardmax has no NNC layer type in nnspec"),
        (4, "node 3 'erf' (Erf): the operator Erf has no NNC layer type in nnspec"),
    ]


def test_a_cycle_or_a_tensor_nothing_writes_is_located_at_the_node_reading_it(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="first"),
        helper.make_node("Add", ["a", "c"], ["b"], name="loop"),  # c is written later: a cycle
        helper.make_node("Relu", ["b"], ["c"], name="back"),
        helper.make_node("Tanh", ["ghost"], ["y"], name="reads_nothing"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "cycle.onnx"
    path.write_bytes(model.SerializeToString())  # onnx.save would not check it either
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    found = [(d.line, d.code, d.message.split(",")[0]) for d in caught.value.diagnostics]
    assert found == [
        (2, "onnx-unsupported", "node 1 'loop' (Add): reads 'c'"),
        (4, "onnx-unsupported", "node 3 'reads_nothing' (Tanh): reads 'ghost'"),
    ]


def _one_node(path: Path, node, initializers=()) -> Path:
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        list(initializers),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize(
    ("node", "initializers", "said"),
    [
        (helper.make_node("LRN", ["x"], ["y"]), [], "lacks its attribute 'size'"),
        (helper.make_node("Conv", ["x"], ["y"]), [], "its weight W must be a constant"),
        (helper.make_node("Concat", ["x", "x"], ["y"]), [], "lacks its attribute 'axis'"),
        (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2]), [], "dilations"),
        (
            helper.make_node("Add", ["a", "b"], ["y"]),
            [
                numpy_helper.from_array(np.zeros((2**15, 1), np.float32), "a"),
                numpy_helper.from_array(np.zeros((1, 2**15), np.float32), "b"),
            ],
            "declares a tensor of 1,073,741,824 values",
        ),
    ],
)
def test_a_malformed_or_untranslatable_node_is_a_located_error_not_a_crash(tmp_path, node, initializers, said):
    path = _one_node(tmp_path / "m.onnx", node, initializers)
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    first = caught.value.diagnostics[0]
    assert (first.line, first.code) == (1, "onnx-unsupported") and said in first.message, first.message


def test_names_that_are_not_utf8_are_read_with_replacement_characters(tmp_path):
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["QQQQ"], ["y"], name="ZZZZ"),
            helper.make_node("Hardmax", ["y"], ["h"], name="ZZZZ"),
        ],
        "g",
        [helper.make_tensor_value_info("QQQQ", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, 4])],
    )
    raw = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    path = tmp_path / "names.onnx"
    path.write_bytes(raw.replace(b"QQQQ", b"\xffQQ\xfe").replace(b"ZZZZ", b"Z\x80ZZ"))
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    assert [d.message for d in caught.value.diagnostics] == [
        "node 1 'Z\ufffdZZ' (Hardmax): the operator Hardmax has no NNC layer type in nnspec"
    ]


def _external_model(folder: Path, location: str) -> Path:
    weight = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    for key, value in (("location", location), ("offset", "0"), ("length", "32")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [weight],
    )
    path = folder / "model.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return path


def test_external_data_is_read_from_the_models_folder_only(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(np.arange(8, dtype=np.float32).tobytes())
    (tmp_path / "secret.bin").write_bytes(np.arange(8, dtype=np.float32).tobytes())
    x = np.ones((1, 4), np.float32)
    (got,) = _run(_external_model(folder, "weights.bin"), [x])
    np.testing.assert_array_equal(got, x @ np.arange(8, dtype=np.float32).reshape(4, 2))
    for outside in ("../secret.bin", str(tmp_path / "secret.bin"), "/etc/passwd"):
        with pytest.raises(SpecError) as caught:
            nnspec.load(str(_external_model(folder, outside)))
        assert "external data" in caught.value.diagnostics[0].message
        assert "not found (or outside the allowed root" in caught.value.diagnostics[0].message


def test_a_huge_declared_constant_is_refused_before_it_is_made(tmp_path):
    shape = numpy_helper.from_array(np.array([1, 2**20, 2**20], np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["shape"], ["big"]), helper.make_node("Add", ["x", "big"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [shape],
    )
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "big.onnx")
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    assert "declares a tensor of 1,099,511,627,776 values" in caught.value.diagnostics[0].message


def test_a_file_that_is_no_onnx_model_and_one_over_the_size_limit_are_refused(tmp_path, monkeypatch):
    garbage = tmp_path / "junk.onnx"
    garbage.write_bytes(b"\xff\xff\xff\xff not protobuf")
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(garbage))
    assert caught.value.diagnostics[0].message.startswith("not an ONNX model")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")  # protobuf reads it as an empty ModelProto
    with pytest.raises(SpecError, match="holds no input and no node"):
        nnspec.load(str(empty))
    path, _ = _mlp(tmp_path / "mlp.onnx")
    monkeypatch.setenv("NNSPEC_MAX_NNP_SIZE", "100")
    with pytest.raises(UsageError, match="an ONNX model may hold 100 bytes"):
        nnspec.load(str(path))


def test_without_the_onnx_extra_a_model_is_a_usage_error_naming_the_install(tmp_path):
    path, _ = _mlp(tmp_path / "mlp.onnx")
    code = (
        "import sys; sys.modules['onnx'] = None; from nnspec.cli import main; sys.exit(main(['validate', sys.argv[1]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2
    assert "reading .onnx files needs the onnx package: pip install onnx onnxruntime" in done.stderr
    assert "Traceback" not in done.stderr


def test_convert_of_a_model_to_an_nnp_keeps_the_models_weights(tmp_path):
    """As run takes an .onnx model's own initializers, convert writes them into an .nnp (not drawn ones)."""
    from nnspec.cli import main
    from nnspec.runtime.params import load_parameter_file

    path, w = _mlp(tmp_path / "mlp.onnx")
    output = tmp_path / "mlp.nnp"
    assert main(["convert", str(path), "-o", str(output), "--parameter-format", "protobuf"]) == 0
    params = load_parameter_file(output)
    np.testing.assert_array_equal(params["m1/affine/W"], w["W1"])
    np.testing.assert_allclose(params["h2/affine/W"], 0.5 * w["W2"].T)


def _dilated_max_pool(x: np.ndarray, kernel, strides, dilations, pads) -> np.ndarray:
    """ONNX's MaxPool with dilations, written out: every window of taps i*s - p + j*d over the input."""
    rank = len(kernel)
    counts = [
        (n + pads[a] + pads[a + rank] - d * (k - 1) - 1) // s + 1
        for a, (n, k, s, d) in enumerate(zip(x.shape[2:], kernel, strides, dilations))
    ]
    out = np.full(x.shape[:2] + tuple(counts), -np.inf)
    for index in np.ndindex(*counts):
        for taps in np.ndindex(*kernel):
            at = [i * s - pads[a] + j * d for a, (i, j, s, d) in enumerate(zip(index, taps, strides, dilations))]
            if all(0 <= p < n for p, n in zip(at, x.shape[2:])):
                out[(slice(None), slice(None), *index)] = np.maximum(
                    out[(slice(None), slice(None), *index)], x[(slice(None), slice(None), *at)]
                )
    return out


def test_a_dilated_max_pool_whose_stride_is_a_multiple_of_its_dilation_is_a_slice_and_a_max_pooling(tmp_path):
    """NNC pools without dilation: such a pool takes every window from every d-th value of the padded
    input, so a Pad of -inf, a Slice of step d and a MaxPooling of stride s/d compute it exactly."""
    attributes = {"kernel_shape": [2, 3], "strides": [4, 2], "dilations": [2, 2], "pads": [1, 0, 2, 3]}
    graph = helper.make_graph(
        [helper.make_node("MaxPool", ["x"], ["y"], **attributes)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 9, 11])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)]), tmp_path / "pool.onnx")
    spec = nnspec.load(str(path))
    assert [layer.type.name for layer in spec.layers.values()] == ["Input", "Pad", "Slice", "MaxPooling"]
    x = np.random.default_rng(6).normal(size=(3, 2, 9, 11)).astype(np.float32)
    (got,) = _run(path, [x])
    expected = _dilated_max_pool(x, **{key: attributes[key] for key in ("strides", "dilations", "pads")}, kernel=[2, 3])
    np.testing.assert_array_equal(got, expected)
    attributes["strides"] = [3, 2]  # not a multiple of the dilation: the windows take every phase
    graph.node[0].CopyFrom(helper.make_node("MaxPool", ["x"], ["y"], **attributes))
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)]), tmp_path / "other.onnx")
    with pytest.raises(SpecError, match=r"dilations \[2, 2\] with strides \[3, 2\]: NNC's pooling has no dilation"):
        nnspec.load(str(path))
