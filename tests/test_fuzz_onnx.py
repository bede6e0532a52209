"""scripts/fuzz_onnx.py, the structured .onnx fuzzer: its contract check judges what it should, and
its mutations make the models they say (the fuzzer itself is run by hand: docs/robustness.md)."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from pathlib import Path

import pytest

import nnspec
from nnspec.core.diagnostics import SpecError

onnx = pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("fuzz_onnx", ROOT / "scripts" / "fuzz_onnx.py")
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_onnx"] = fuzz  # its dataclasses look their module up
_spec.loader.exec_module(fuzz)

CLEAN = {"code": 1, "cpu": 0.01, "wall": 0.01, "peak": 0, "outside": [], "size": 0, "escaped": ""}
VALIDATE = fuzz.Case(b"", [], ["validate", "m.onnx"])
TRACEBACK, INTERNAL = "traceback: KeyError", "internal error: ZeroDivisionError"


@pytest.mark.parametrize(
    ("reply", "err", "kind"),
    [
        (CLEAN, "m.onnx:3:1: error: node 2 (Erf): ... [onnx-unsupported]\n", None),
        (
            CLEAN,
            "m.onnx:1:1: error: x\nTraceback (most recent call last):\n  File ...\nKeyError: 'a'\n",
            "traceback: KeyError",
        ),
        (
            {**CLEAN, "code": 2},
            "m.onnx: error: internal error: ZeroDivisionError: ...",
            "internal error: ZeroDivisionError",
        ),
        ({**CLEAN, "code": 3}, "m.onnx:1:1: error: x", "exit code 3"),
        (CLEAN, "m.onnx:1:1: error: x\nreader.py:738: RuntimeWarning: overflow", "a Python warning reached the user"),
        ({**CLEAN, "outside": ["open /etc/passwd"]}, "m.onnx:1:1: error: x", "opened outside the folder"),
        (CLEAN, "m.onnx:1:1: error: \x1b[31mred", "control character U+001B in the output"),
        (CLEAN, "m.onnx:1:1: error: \u202eevil", "control character U+202E in the output"),
        ({**CLEAN, "peak": 300 * 2**20}, "m.onnx:1:1: error: x", "more than 200 MB"),
        ({**CLEAN, "cpu": 5.0}, "m.onnx:1:1: error: x", "more than 3 s of CPU"),
        (CLEAN, "m.onnx: error: not an ONNX model", "a spec error without m.onnx:LINE:COL"),
        ("hung (no answer in 30 s)", "", "hung (no answer in 30 s)"),
    ],
)
def test_the_contract_check_names_the_rule_a_case_broke(reply, err, kind):
    assert fuzz.broken(VALIDATE, reply, "", err) == kind


def test_opens_within_the_folder_and_the_code_are_allowed_and_others_not(tmp_path):
    roots = fuzz.code_roots()
    folder = str(tmp_path)
    assert fuzz.allowed_path(str(tmp_path / "weights.bin"), folder, roots)
    assert fuzz.allowed_path(
        os.path.realpath(fuzz.__file__.replace("scripts/fuzz_onnx.py", "nnspec/cli.py")), folder, roots
    )
    assert not fuzz.allowed_path(str(tmp_path.parent / "secret.txt"), folder, roots)
    assert not fuzz.allowed_path("/etc/passwd", folder, roots)


def _model() -> onnx.ModelProto:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [x],
        [y],
        [numpy_helper.from_array(np.ones((4, 2), np.float32), "W")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_nested_body_deeper_than_protobuf_reads_is_a_located_error(tmp_path):
    model = _model()
    place = fuzz.Place(tmp_path / "secret.txt", tmp_path)
    rng = random.Random(0)
    rng.choice = lambda options: 2000 if 2000 in options else options[0]  # the deepest nesting, an If inside
    fuzz.nest(model, rng, place)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString() + place.appended)
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message.startswith("not an ONNX model") and (diagnostic.line, diagnostic.column) == (1, 1)


def test_external_data_a_mutation_points_outside_is_refused_as_missing(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_bytes(bytes(64))
    model = _model()
    fuzz._make_external(model.graph.initializer[0], str(secret), 0, 32)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    assert "not found (or outside the allowed root" in caught.value.diagnostics[0].message
