"""nnabla's .nntxt networks read as specs (nnspec.spec.protobuf_text, nnspec.spec.nntxt).

The reference is nnabla 1.39 itself: tests/fixtures/nnabla_nnp/ is written by
scripts/make_nnabla_nnp_fixture.py, which builds three networks with nnabla's parametric functions,
saves them with ``nnabla.utils.save`` (the .nntxt) and ``nnabla.save_parameters`` (the .h5), and
keeps nnabla's outputs for seeded inputs. nnspec reads the .nntxt, loads the .h5 with ``--params``,
and must compute nnabla's outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import SpecError
from nnspec.spec import protobuf_text
from nnspec.spec.readers import read_spec

FIXTURES = Path(__file__).parent / "fixtures" / "nnabla_nnp"
TOLERANCE = 1e-5  # float32; measured at most 2.4e-7 apart (axes)


@pytest.mark.parametrize("network", ["mlp", "cnn", "axes"])
def test_nnablas_networks_compute_nnablas_outputs(network: str) -> None:
    pytest.importorskip("h5py")
    expected = np.load(FIXTURES / "expected.npz")
    assert str(expected["nnabla_version"]) == "1.39.0"
    spec = nnspec.load(str(FIXTURES / f"{network}.nntxt"))
    result = nnspec.run(spec, {"x": expected[f"{network}/x"]}, params=FIXTURES / f"{network}.h5", statistics=False)
    assert not result.notes  # every parameter of nnabla's file read, none missing or left over
    (output,) = result.outputs.values()
    np.testing.assert_allclose(output, expected[f"{network}/y"], rtol=0, atol=TOLERANCE)


def test_arguments_become_nnspec_properties_with_axes_less_the_batch() -> None:
    layers = {layer["name"]: layer for layer in read_spec(FIXTURES / "axes.nntxt").data["layers"]}
    assert layers["Concatenate"]["axis"] == 0  # nnabla's axis 1
    assert layers["Softmax"]["axis"] == 1  # nnabla's axis 2
    assert layers["Slice"]["start"] == [1, 0, 1]  # as written: one value per non-batch axis
    assert layers["Reshape"]["out_shape"] == [24]  # nnabla's (-1, 24) less the batch
    assert layers["MulScalar"]["value"] == 3.0
    assert layers["Convolution"] | {} == {
        "name": "Convolution",
        "type": "Convolution",
        "input": "x",
        "with_bias": True,
        "out_maps": 3,  # from W's shape (3, 2, 1, 1)
        "kernel_shape": [1, 1],
        "parameter_scope": "left",  # from left/conv/W
        "padding": [0, 0],
        "strides": [1, 1],
        "dilation": [1, 1],
        "group": 1,
    }
    cnn = {layer["name"]: layer for layer in read_spec(FIXTURES / "cnn.nntxt").data["layers"]}
    assert cnn["BatchNormalization"]["axes"] == 0 and cnn["BatchNormalization"]["epsilon"] == pytest.approx(1e-5)
    assert cnn["MaxPooling"]["kernel_shape"] == [2, 2]


NNC_STYLE = """\
network {
  name: "MainRuntime"
  batch_size: 64
  variable { name: "Input" type: "Buffer" shape: { dim:-1 dim: 4 } }
  variable { name: "Affine/affine/W" type: "Parameter" shape: { dim: 4 dim: 3 } }
  variable { name: "Affine" type: "Buffer" shape: { dim:-1 dim: 3 } }
  variable { name: "y'" type: "Buffer" shape: { dim:-1 dim: 3 } }
  function {
    name: "y'"
    type: "Softmax"
    input: "Affine"
    output: "y'"
    softmax_param { axis: 1 }
  }
  function {
    name: "Affine"
    type: "Affine"
    input: "Input"
    input: "Affine/affine/W"
    output: "Affine"
    affine_param { base_axis: 1 }
  }
}
executor {
  name: "Executor"
  network_name: "MainRuntime"
  data_variable { variable_name: "Input" data_name: "x" }
  output_variable { variable_name: "y'" data_name: "y\\'" }
}
"""


def write(tmp_path: Path, text: str, name: str = "net.nntxt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_nncs_forms_names_and_order_are_read(tmp_path: Path) -> None:
    """NNC's `shape: { dim:-1 ... }`, functions written before the ones they read, `y'` named."""
    document = read_spec(write(tmp_path, NNC_STYLE))
    data = document.data
    assert [layer["name"] for layer in data["layers"]] == ["Input", "y_prime", "Affine"]
    assert data["layers"][0] == {"name": "Input", "type": "Input", "size": [4], "dataset": "x"}
    assert data["layers"][1]["input"] == "Affine" and data["layers"][1]["axis"] == 0
    assert data["layers"][2]["out_shape"] == 3 and data["layers"][2]["with_bias"] is False
    assert data["outputs"] == ["y_prime"]
    assert "y' -> y_prime" in data["description"]
    assert document.source_map.locate(("layers", 2, "type")) == (17, 5)
    spec = nnspec.load(str(tmp_path / "net.nntxt"))
    assert spec.layers["Affine"].parameter_key("W") == "Affine/affine/W"


def test_protobuf_text_values() -> None:
    message = protobuf_text.parse('a: True b: true c: "y\\\'" d: \'q\\"\' e: -1.5e3 f: 7 g { h: 1 } i: { } j: "a" "b"')
    values = {item.name: item.value for item in message.fields}
    assert values["a"] == "True" and values["b"] == "true"
    assert values["c"] == protobuf_text.Text("y'") and values["d"] == protobuf_text.Text('q"')
    assert values["e"] == -1500.0 and values["f"] == 7
    assert message.blocks("g")[0].first("h").value == 1 and message.blocks("i")[0].fields == []
    assert values["j"] == protobuf_text.Text("ab")


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('network {\n  name: "n"\n', 1, 9, "never closed"),
        ("a: 1 }", 1, 6, "closes no block"),
        ('a: "x\\q"', 1, 6, "unknown escape"),
        ('a: "open\n', 1, 4, "not closed"),
        ("a 1", 1, 3, "expected ':'"),
        ("a: 1 $", 1, 6, "unexpected character"),
        ("a {" * 40 + "}" * 40, 1, 99, "nested more than 32"),  # the 33rd '{'
    ],
)
def test_malformed_text_is_located(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        protobuf_text.parse(text, "bad.nntxt")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.column, diagnostic.code) == (line, column, "nntxt-syntax")
    assert words in diagnostic.message


def test_the_field_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protobuf_text, "MAX_FIELDS", 10)
    with pytest.raises(SpecError, match="more than 10 fields"):
        protobuf_text.parse("a: 1 " * 11)


def test_mapping_errors_are_located_with_suggestions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = NNC_STYLE.replace('type: "Softmax"', 'type: "Softmx"').replace('input: "Input"', 'input: "Inpt"')
    path = write(tmp_path, text)
    assert main(["validate", str(path), "--format", "json"]) == 1
    found = {
        (d["line"], d["column"], d["code"]): d["message"]
        for d in json.loads(capsys.readouterr().out)["files"][0]["diagnostics"]
    }
    assert "did you mean 'Softmax'?" in found[(10, 5, "unknown-type")]
    assert "input 'Inpt' names no variable" in found[(18, 5, "unknown-input")]


def test_an_argument_nnspec_cannot_hold_is_refused_not_dropped(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, NNC_STYLE.replace("base_axis: 1", "base_axis: 2"))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "net.nntxt:21:20: error: Affine's argument base_axis: 2 has no nnspec property" in err


def test_recurrence_is_refused_as_not_yet_supported(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, NNC_STYLE.replace('type: "Softmax"', 'type: "Delay"'))
    assert main(["validate", str(path)]) == 1
    assert "net.nntxt:10:5: error: nnabla's Delay (recurrence) is not supported" in capsys.readouterr().err


def test_a_file_without_networks_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(write(tmp_path, 'executor { name: "e" }'))]) == 1
    assert "holds no network" in capsys.readouterr().err


def test_other_networks_are_named_networks(tmp_path: Path) -> None:
    second = NNC_STYLE.split("executor")[0].replace('"MainRuntime"', '"Main"')
    data = read_spec(write(tmp_path, second + NNC_STYLE)).data
    assert data["name"] == "MainRuntime" and list(data["networks"]) == ["Main"]
    spec = nnspec.load(str(tmp_path / "net.nntxt"), network="Main")
    assert "y_prime" in spec.layers
