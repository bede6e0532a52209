"""Hostile .onnx models: each failure scripts/fuzz_onnx.py found, as a regression test.

A hostile model gets a located error (the model's file, line:col, exit 1) or a usage error (exit 2)
within the reader's bounds: no traceback, no file outside the model's folder read, no minutes of
work for a model a few hundred kilobytes long.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import SpecError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _relu(inputs: int = 1) -> onnx.ModelProto:
    """One Relu on x (1, 4), with ``inputs - 1`` more graph inputs nothing reads."""
    x = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])]
    x += [helper.make_tensor_value_info(f"in{k}", TensorProto.FLOAT, [1, 4]) for k in range(inputs - 1)]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", x, [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("what", ["graph inputs", "nodes", "graph outputs", "initializers"])
def test_a_graph_listing_more_than_20000_entries_is_refused_before_it_is_read(tmp_path, what):
    # found by the fuzzer: 100,001 graph inputs (a 5 MB file) took 14 s to read and a minute to
    # refuse, each input an Input layer; now refused at once, as an NNC project over 20,000 layers
    model = _relu()
    graph = model.graph
    count = 20_001
    if what == "graph inputs":
        graph.input.extend(helper.make_tensor_value_info(f"in{k}", TensorProto.FLOAT, [1, 4]) for k in range(count))
    elif what == "nodes":
        graph.node.extend(helper.make_node("Relu", ["x"], [f"r{k}"]) for k in range(count))
    elif what == "graph outputs":
        graph.output.extend(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]) for _ in range(count))
    else:
        graph.initializer.extend(numpy_helper.from_array(np.ones(1, np.float32), f"t{k}") for k in range(count))
    path = _save(model, tmp_path / "m.onnx")
    started = time.process_time()
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    assert time.process_time() - started < 2.0  # the count is checked before the lists are read
    (diagnostic,) = caught.value.diagnostics
    total = count + (what != "initializers")
    assert diagnostic.message == f"the graph holds {total:,} {what}; nnspec reads at most 20,000"
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == (str(path), 1, 1)


def test_a_graph_of_20000_inputs_is_still_read(tmp_path):
    path = _save(_relu(inputs=20_000), tmp_path / "m.onnx")
    from nnspec.spec.onnx_reader import load_model

    assert len(load_model(str(path)).graph.input) == 20_000  # at the limit: read (as a project's 20,000 layers)


def test_the_limit_reaches_the_command_line_as_a_located_error(tmp_path, capsys):
    path = _save(_relu(inputs=20_001), tmp_path / "m.onnx")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1:1: error: the graph holds 20,001 graph inputs; nnspec reads at most 20,000" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["input", "value_info", "initializer"])
def test_a_tensor_declaring_more_than_32_axes_is_refused_before_shape_inference(tmp_path, where):
    # found by the fuzzer: a graph input of 100,067 axes took onnx's shape inference 2 s and 200 MB
    model = _relu()
    axes = 100_000
    if where == "input":
        model.graph.input[0].type.tensor_type.shape.dim.extend(
            onnx.TensorShapeProto.Dimension(dim_value=1) for _ in range(axes)
        )
    elif where == "value_info":
        model.graph.value_info.append(helper.make_tensor_value_info("v", TensorProto.FLOAT, [1] * axes))
    else:
        model.graph.initializer.append(numpy_helper.from_array(np.ones(1, np.float32), "t"))
        model.graph.initializer[0].dims.extend([1] * axes)
    path = _save(model, tmp_path / "m.onnx")
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    (diagnostic,) = caught.value.diagnostics
    assert "axes; nnspec takes at most 32" in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == (1, 1)


def test_a_tensor_of_32_axes_is_left_to_the_translation(tmp_path):
    model = _relu()
    model.graph.value_info.append(helper.make_tensor_value_info("v", TensorProto.FLOAT, [1] * 32))
    spec = nnspec.load(str(_save(model, tmp_path / "m.onnx")))  # v is read by no node: the model is fine
    assert [layer.type.name for layer in spec.layers.values()] == ["Input", "ReLU"]


def _one(node: onnx.NodeProto, initializers: list, out: list[int]) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out)
    return helper.make_model(
        helper.make_graph([node], "g", [x], [y], initializers), opset_imports=[helper.make_opsetid("", 17)]
    )


def test_a_division_by_a_constant_zero_is_a_multiplication_by_infinity_not_a_crash(tmp_path):
    # found reading the reader after the fuzzer: 1.0 / 0.0 raised ZeroDivisionError, an internal error
    zero = numpy_helper.from_array(np.array(-0.0, np.float32), "z")
    path = _save(_one(helper.make_node("Div", ["x", "z"], ["y"]), [zero], [1, 4]), tmp_path / "m.onnx")
    spec = nnspec.load(str(path))
    x = np.array([[-2.0, 0.0, 3.0, 1.0]], np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = x / np.float32(-0.0)  # IEEE's division, by numpy
    got = nnspec.run(spec, {"x": x}, statistics=False).outputs["y"]
    np.testing.assert_array_equal(got, want)


def test_a_gemm_alpha_overflowing_float32_warns_nothing(tmp_path, capsys, recwarn):
    # found by the fuzzer: alpha 1e38 times B overflowed in numpy, whose RuntimeWarning reached the user
    weight = numpy_helper.from_array(np.full((4, 2), 1e10, np.float32), "B")
    node = helper.make_node("Gemm", ["x", "B"], ["y"], alpha=1e38)
    path = _save(_one(node, [weight], [1, 2]), tmp_path / "m.onnx")
    assert main(["validate", str(path)]) in (0, 1)
    assert "RuntimeWarning" not in capsys.readouterr().err
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    from nnspec.spec.onnx_reader import parameters

    assert np.isinf(parameters(str(path))["y/affine/W"]).all()  # alpha * B as ONNX computes it in float32
