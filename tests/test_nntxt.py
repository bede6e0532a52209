"""nnabla's .nntxt networks read as specs (nnspec.spec.protobuf_text, nnspec.spec.nntxt).

The reference is nnabla 1.39 itself: tests/fixtures/nnabla_nnp/ is written by
scripts/make_nnabla_nnp_fixture.py, which builds three networks with nnabla's parametric functions,
saves them with ``nnabla.utils.save`` (the .nntxt) and ``nnabla.save_parameters`` (the .h5), and
keeps nnabla's outputs for seeded inputs. nnspec reads the .nntxt, loads the .h5 with ``--params``,
and must compute nnabla's outputs.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import SpecError, UsageError
from nnspec.files.nnpfile import decode_parameters
from nnspec.spec import protobuf_text
from nnspec.spec.readers import read_spec
from nnspec.validation import validate_document

FIXTURES = Path(__file__).parent / "fixtures" / "nnabla_nnp"
TOLERANCE = 1e-5  # float32; measured at most 2.4e-7 apart in the outputs, 7.2e-7 in any layer


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


@pytest.mark.parametrize("network", ["mlp", "cnn", "axes"])
def test_every_layer_computes_what_its_nnabla_function_did(network: str) -> None:
    """Layer by layer: each function's output as nnabla computed it, against the layer it became
    (in the order nnabla wrote the functions, which the fixture keeps with each function's type)."""
    pytest.importorskip("h5py")
    expected = np.load(FIXTURES / "expected.npz")
    document = read_spec(FIXTURES / f"{network}.nntxt")
    layers = [layer for layer in document.data["layers"] if layer["type"] != "Input"]
    document.data["outputs"] = [layer["name"] for layer in layers]  # keep every layer's values
    spec = validate_document(document)
    result = nnspec.run(spec, {"x": expected[f"{network}/x"]}, params=FIXTURES / f"{network}.h5", statistics=False)
    references = sorted(key for key in expected.files if key.startswith(f"{network}/layers/"))
    assert len(references) == len(layers)
    for key, layer in zip(references, layers):
        assert key.rsplit("/", 1)[1] == layer["type"], key
        np.testing.assert_allclose(result.outputs[layer["name"]], expected[key], rtol=0, atol=TOLERANCE, err_msg=key)


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
        "channel_last": False,  # unwritten by nnabla: protobuf 3's zero
    }
    cnn = {layer["name"]: layer for layer in read_spec(FIXTURES / "cnn.nntxt").data["layers"]}
    assert cnn["BatchNormalization"]["axes"] == 0 and cnn["BatchNormalization"]["epsilon"] == pytest.approx(1e-5)
    assert cnn["MaxPooling"]["kernel_shape"] == [2, 2]
    # nnabla writes no false (protobuf 3 leaves zeros out): absent is false, not nnspec's default true
    assert cnn["AveragePooling"]["ignore_border"] is False and cnn["BatchNormalization"]["batch_stat"] is False


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
    assert [layer["name"] for layer in data["layers"]] == ["Input", "y'", "Affine"]
    assert data["layers"][0] == {"name": "Input", "type": "Input", "size": [4], "dataset": "x"}
    assert data["layers"][1]["input"] == "Affine" and data["layers"][1]["axis"] == 0
    assert data["layers"][2]["out_shape"] == 3 and data["layers"][2]["with_bias"] is False
    assert data["outputs"] == ["y'"]
    assert "Names changed" not in data["description"]  # NNC's y' kept as it is
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


RECURRENT = (Path(__file__).parent / "fixtures" / "nnabla" / "recurrent" / "two_loops.nntxt").read_text()


def _line_of(text: str, needle: str, after: str = "") -> int:
    """The 1-based line of ``needle``'s first occurrence after ``after``'s."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def test_a_recurrent_loop_is_read_and_validates(tmp_path: Path, capsys) -> None:
    """(tests/test_recurrence_nnabla.py runs it against nnabla.)"""
    assert main(["validate", str(write(tmp_path, RECURRENT))]) == 0
    assert capsys.readouterr().err == ""


def test_a_recurrent_axis_on_the_batch_is_refused_at_its_line(tmp_path: Path, capsys) -> None:
    second = 'repeat_id: "RecurrentInput_2"'
    text = RECURRENT.replace(f"axis: 1\n      {second}", f"axis: 0\n      {second}")
    line = _line_of(text, "axis: 0")
    assert main(["validate", str(write(tmp_path, text))]) == 1
    err = capsys.readouterr().err
    assert f"net.nntxt:{line}:7: error: RecurrentInput's axis: 0 is not an axis after the batch axis" in err


def test_a_loop_whose_repeat_info_disagrees_with_its_length_is_an_error(tmp_path: Path, capsys) -> None:
    """nnabla unrolls repeat_info's times steps: times other than the input's length fails in nnabla."""
    text = RECURRENT.replace('id: "RecurrentInput"\n    times: 5', 'id: "RecurrentInput"\n    times: 7')
    assert main(["validate", str(write(tmp_path, text))]) == 1
    err = capsys.readouterr().err
    line = _line_of(text, "recurrent_param", 'name: "RecurrentInput"\n    type')
    assert (
        f"net.nntxt:{line}:5: error: RecurrentInput 'RecurrentInput' splits axis 1 of 'Input' into 5 steps, "
        "but repeat_info 'RecurrentInput' says times: 7"
    ) in err


def test_a_delay_writing_a_variable_of_no_shape_is_an_error(tmp_path: Path, capsys) -> None:
    text = RECURRENT.replace('name: "Delay_2"\n    type: "Buffer"', 'name: "Delay_gone"\n    type: "Buffer"')
    assert main(["validate", str(write(tmp_path, text))]) == 1
    assert "Delay 'Delay_2' writes 'Delay_2', a variable of no known shape" in capsys.readouterr().err


def test_a_file_without_networks_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(write(tmp_path, 'executor { name: "e" }'))]) == 1
    assert "holds no network" in capsys.readouterr().err


def test_other_networks_are_named_networks(tmp_path: Path) -> None:
    second = NNC_STYLE.split("executor")[0].replace('"MainRuntime"', '"Main"')
    data = read_spec(write(tmp_path, second + NNC_STYLE)).data
    assert data["name"] == "MainRuntime" and list(data["networks"]) == ["Main"]
    spec = nnspec.load(str(tmp_path / "net.nntxt"), network="Main")
    assert "y'" in spec.layers


# --- .nnp archives -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archive", "network"), [("mlp", "mlp"), ("mlp_protobuf", "mlp"), ("cnn", "cnn"), ("axes", "axes")]
)
def test_an_nnp_runs_on_its_own_parameters(archive: str, network: str) -> None:
    """No --params: an .nnp's parameter.h5 (nnabla's default) or parameter.protobuf is its model's."""
    if archive != "mlp_protobuf":
        pytest.importorskip("h5py")
    expected = np.load(FIXTURES / "expected.npz")
    spec = nnspec.load(str(FIXTURES / f"{archive}.nnp"))
    result = nnspec.run(spec, {"x": expected[f"{network}/x"]}, statistics=False)
    assert not result.notes  # every parameter found in the archive
    (output,) = result.outputs.values()
    np.testing.assert_allclose(output, expected[f"{network}/y"], rtol=0, atol=TOLERANCE)


def test_parameter_protobuf_decodes_to_nnablas_h5_values() -> None:
    """Both of nnabla's parameter formats, written from one model, give the same arrays."""
    h5py = pytest.importorskip("h5py")
    with zipfile.ZipFile(FIXTURES / "mlp_protobuf.nnp") as archive:
        decoded = decode_parameters(archive.read("parameter.protobuf"), "mlp_protobuf.nnp")
    with h5py.File(FIXTURES / "mlp.h5", "r") as handle:
        reference: dict[str, np.ndarray] = {}
        handle.visititems(lambda name, item: reference.update({name: item[()]}) if hasattr(item, "shape") else None)
    assert sorted(decoded) == sorted(reference) == sorted(f"fc{i}/affine/{p}" for i in (1, 2, 3) for p in "Wb")
    for name, values in reference.items():
        np.testing.assert_array_equal(decoded[name], values)


def make_nnp(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def network_text() -> bytes:
    return (FIXTURES / "mlp.nntxt").read_bytes()


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ({"../network.nntxt": b"x"}, "not a plain file name"),
        ({"sub/network.nntxt": b"x"}, "not a plain file name"),
        ({f"m{i}": b"" for i in range(65)}, "at most 64"),
        ({"network.nntxt": b"network {" + b" " * 10**6 + b"}"}, "likely zip bomb"),
        ({"nnp_version.txt": b"0.1"}, "holds none"),
        ({"a.nntxt": b"", "b.nntxt": b""}, "holds a.nntxt, b.nntxt"),
    ],
)
def test_a_hostile_nnp_is_refused_before_reading(tmp_path: Path, members, words: str, capsys) -> None:
    path = make_nnp(tmp_path / "model.nnp", members)
    assert main(["validate", str(path)]) == 2
    assert words in capsys.readouterr().err


def test_the_nnp_size_limit_is_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    path = make_nnp(tmp_path / "model.nnp", {"network.nntxt": network_text()})
    assert main(["validate", str(path)]) == 0  # larger than no text limit: read
    monkeypatch.setenv("NNSPEC_MAX_NNP_SIZE", "100")
    assert main(["validate", str(path)]) == 2
    assert "an .nnp may hold 100 bytes" in capsys.readouterr().err
    monkeypatch.setenv("NNSPEC_MAX_NNP_SIZE", "1M")
    monkeypatch.setenv("NNSPEC_MAX_PROJECT_SIZE", "1K")  # the network's text is bounded as an .nntxt is
    assert main(["validate", str(path)]) == 2
    assert "member network.nntxt declares" in capsys.readouterr().err


def test_nnp_errors_are_located_in_its_network(tmp_path: Path, capsys) -> None:
    path = make_nnp(tmp_path / "model.nnp", {"network.nntxt": NNC_STYLE.replace("Softmax", "Softmx").encode()})
    assert main(["validate", str(path)]) == 1
    assert "model.nnp:10:5: error: unknown function type 'Softmx'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xc2\x0c", "runs past its message"),  # field 200, length 12, nothing after
        (b"\xc2\x0c\x09\x0a\x02ab", "runs past its message"),  # 9 bytes announced, 4 there
        (b"\xc2\x0c\x08\xa2\x01\x02\x08\x05" + b"\xa2\x06\x00", "has 0 values for shape (5,)"),  # dim 5, no data
        (b"\x0b", "wire type 3"),
    ],
)
def test_a_malformed_parameter_protobuf_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(UsageError, match=re.escape(words)):
        decode_parameters(data, "p.protobuf")


def test_upgrade_does_not_write_over_an_nntxt(capsys) -> None:
    assert main(["upgrade", str(FIXTURES / "mlp.nntxt")]) == 2
    assert "does not write them: give -o FILE.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("dim", ["1e309", "2.5", "99999999999", "True"])
def test_a_dim_that_is_no_size_is_located(tmp_path: Path, dim: str, capsys) -> None:
    path = write(tmp_path, NNC_STYLE.replace("dim: 4 }", f"dim: {dim} }}", 1))
    assert main(["validate", str(path)]) == 1
    assert f"net.nntxt:4:59: error: dim: {dim} is not an integer" in capsys.readouterr().err


def test_a_corrupt_nnp_member_is_a_usage_error_naming_the_archive(tmp_path: Path, capsys) -> None:
    raw = bytearray((FIXTURES / "mlp.nnp").read_bytes())
    start = raw.index(b"network.nntxt") + len(b"network.nntxt") + 40  # inside the deflated network
    raw[start : start + 8] = bytes(8)
    (tmp_path / "m.nnp").write_bytes(bytes(raw))
    assert main(["validate", str(tmp_path / "m.nnp")]) == 2
    assert "m.nnp: cannot read member network.nntxt" in capsys.readouterr().err


def test_params_may_name_an_nnp_for_a_bare_network() -> None:
    expected = np.load(FIXTURES / "expected.npz")
    spec = nnspec.load(str(FIXTURES / "mlp.nntxt"))
    result = nnspec.run(spec, {"x": expected["mlp/x"]}, params=FIXTURES / "mlp_protobuf.nnp", statistics=False)
    (output,) = result.outputs.values()
    np.testing.assert_allclose(output, expected["mlp/y"], rtol=0, atol=TOLERANCE)


def test_convert_writes_the_network_as_a_yaml_spec_computing_the_same(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    target = tmp_path / "axes.yaml"
    assert main(["convert", str(FIXTURES / "axes.nnp"), "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("nnspec: 2\nname: axes\ndescription: ")
    expected = np.load(FIXTURES / "expected.npz")
    spec = nnspec.load(str(target))
    result = nnspec.run(spec, {"x": expected["axes/x"]}, params=FIXTURES / "axes.nnp", statistics=False)
    np.testing.assert_allclose(result.outputs["Reshape"], expected["axes/y"], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("layer, dims", [("Affine", "dim: 7"), ("Affine", ""), ("Convolution", "dim: 4 dim: 3")])
def test_a_weight_of_too_few_dimensions_is_a_located_error(tmp_path: Path, capsys, layer: str, dims: str) -> None:
    """Found by the fuzz target (scripts/fuzz_validate.py --format nntxt): an Affine's W of one
    dimension raised IndexError where its shape gives out_shape."""
    scope = {"Affine": "affine", "Convolution": "conv"}[layer]
    text = f"""network {{
  name: "n"
  variable {{ name: "x" type: "Buffer" shape: {{ dim: -1 dim: 3 dim: 4 dim: 4 }} }}
  variable {{ name: "f/{scope}/W" type: "Parameter" shape: {{ {dims} }} }}
  variable {{ name: "y" type: "Buffer" shape: {{ dim: -1 dim: 7 }} }}
  function {{ name: "f" type: "{layer}" input: "x" input: "f/{scope}/W" output: "y" }}
}}
"""
    assert main(["validate", str(write(tmp_path, text))]) == 1
    column = text.splitlines()[5].index(f'input: "f/{scope}/W"') + 1
    fewest = 2 if layer == "Affine" else 3
    shape = "[" + dims.replace("dim: ", "").replace(" ", ", ") + "]"
    assert (
        f"net.nntxt:6:{column}: error: parameter 'f/{scope}/W' has shape {shape}: "
        f"{layer}'s W has at least {fewest} dimensions"
    ) in capsys.readouterr().err


def test_a_weight_of_too_few_dimensions_says_how_many_it_needs(tmp_path: Path, capsys) -> None:
    text = """network {
  name: "n"
  variable { name: "x" type: "Buffer" shape: { dim: -1 dim: 3 } }
  variable { name: "f/affine/W" type: "Parameter" shape: { dim: 7 } }
  variable { name: "y" type: "Buffer" shape: { dim: -1 dim: 7 } }
  function { name: "f" type: "Affine" input: "x" input: "f/affine/W" output: "y" }
}
"""
    assert main(["validate", str(write(tmp_path, text))]) == 1
    assert "parameter 'f/affine/W' has shape [7]: Affine's W has at least 2 dimensions" in capsys.readouterr().err


def test_a_delay_without_its_initial_value_is_refused_not_given_a_default(tmp_path: Path, capsys) -> None:
    """nnabla's expander reads a Delay's second input as its value at step 0 (and fails without
    one): nnspec does not put its own default there (scripts/robustness.py, hostile .nntxt)."""
    text = RECURRENT.replace('input: "Tanh"\n    input: "h0"', 'input: "Tanh"')
    assert main(["validate", str(write(tmp_path, text))]) == 1
    line = _line_of(text, 'type: "Delay"')
    assert (
        f"net.nntxt:{line}:5: error: Delay 'Delay' has 1 input: nnabla's Delay reads two, the value it carries "
        "to the next step and its value at step 0"
    ) in capsys.readouterr().err


def test_a_loop_whose_repeat_id_no_repeat_info_declares_is_refused(tmp_path: Path, capsys) -> None:
    text = RECURRENT.replace('repeat_id: "RecurrentInput_2"\n    }', 'repeat_id: "Nope"\n    }', 1)
    assert main(["validate", str(write(tmp_path, text))]) == 1
    line = _line_of(text, 'repeat_id: "Nope"')
    assert (
        f"net.nntxt:{line}:7: error: RecurrentInput 'RecurrentInput_2' names repeat_id 'Nope', which no "
        "repeat_info of the network declares"
    ) in capsys.readouterr().err


FED_WEIGHT = """network {
  name: "Main"
  batch_size: 1
  variable { name: "x" type: "Buffer" shape { dim: -1 dim: 3 } }
  variable { name: "h" type: "Buffer" shape { dim: -1 dim: 6 } }
  variable { name: "w" type: "Buffer" shape { dim: -1 dim: 3 dim: 2 } }
  variable { name: "fc/affine/b" type: "Parameter" shape { dim: 2 } initializer { type: "Constant" multiplier: 0.5 } }
  variable { name: "fc" type: "Buffer" shape { dim: -1 dim: 2 } }
  function {
    name: "w"
    type: "Reshape"
    input: "h"
    output: "w"
    reshape_param { shape { dim: -1 dim: 3 dim: 2 } }
  }
  function {
    name: "fc"
    type: "Affine"
    input: "x"
    input: "w"
    input: "fc/affine/b"
    output: "fc"
    affine_param { base_axis: 1 }
  }
}
"""


def test_a_parameter_input_another_function_writes_feeds_that_parameter(tmp_path: Path) -> None:
    # nnabla lists Affine's inputs x, W, b: a W that the Reshape writes (no Parameter variable) is
    # nnspec's W: {input: w}, NNC's link into the W pin; it was read as a second data input (arity error)
    path = tmp_path / "fed.nntxt"
    path.write_text(FED_WEIGHT)
    spec = nnspec.load(str(path))
    fc = spec.layers["fc"]
    assert fc.inputs == ["x"] and fc.side_inputs() == {"W": "w"}
    assert fc.props["out_shape"] == (2,) and fc.props["with_bias"] is True
    rng = np.random.default_rng(3)
    x, weight = rng.standard_normal((4, 3)), rng.standard_normal(6)
    h = np.tile(weight, (4, 1))  # a parameter is one value for every sample: h's rows alike
    result = nnspec.run(spec, {"x": x, "h": h})
    want = x @ weight.reshape(3, 2) + 0.5  # by hand; b's initializer is Constant 0.5
    np.testing.assert_allclose(result.outputs["fc"], want, rtol=1e-5, atol=1e-6)


def test_a_fed_parameter_of_a_missing_function_is_still_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "fed.nntxt"
    path.write_text(FED_WEIGHT.replace('input: "w"\n    input: "fc/affine/b"', 'input: "v"\n    input: "fc/affine/b"'))
    with pytest.raises(SpecError) as caught:
        nnspec.load(str(path))
    assert any("input 'v' names no variable" in d.message and d.line == 20 for d in caught.value.diagnostics)
