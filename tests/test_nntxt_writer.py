"""nnspec convert to nnabla's .nntxt and .nnp: checked against nnabla 1.39 running what nnspec wrote.

tests/fixtures/nnabla_written/ (scripts/make_nnabla_written_fixture.py, run with nnabla's Python):
each spec converted by nnspec to an .nnp with trained-like parameters (``NAME_params.npz``), loaded
by ``nnabla.utils.nnp_graph.NnpLoader``, run on fixed inputs; ``expected.npz`` holds the inputs and
nnabla's outputs. Here nnspec runs the same specs (and the .nnp files it wrote, read back) on them.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.files.nnpfile import decode_parameters, encode_parameters
from nnspec.spec.nntxt import read
from nnspec.spec.nntxt_writer import write_nntxt
from nnspec.spec.protobuf_text import Word, emit, parse
from nnspec.spec.views import as_view

from .conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "nnabla_written"
SPECS = {
    "mlp_branches": ROOT / "specs" / "mlp_branches.yaml",
    "lenet": ROOT / "specs" / "lenet.yaml",
    "bn_residual": ROOT / "specs" / "bn_residual.yaml",
    "repeat_residual": ROOT / "specs" / "repeat_residual.yaml",
    "squeezenet_fire": ROOT / "specs" / "squeezenet_fire.yaml",
    "arguments": ROOT / "specs" / "arguments.yaml",
    "axes": FIXTURES / "axes.yaml",
    "layers": FIXTURES / "layers.yaml",
}
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURES / "expected.npz") as archive:
        return {key: archive[key] for key in archive.files}


def _part(expected, prefix: str, kind: str) -> dict[str, np.ndarray]:
    start = f"{prefix}/{kind}/"
    return {key[len(start) :]: value for key, value in expected.items() if key.startswith(start)}


def test_the_fixtures_were_made_by_nnabla_1_39(expected):
    assert str(expected["nnabla_version"]) == "1.39.0"
    assert {key.split("/")[0] for key in expected if "/" in key} == {*SPECS, "mlp_branches_protobuf"}


@pytest.mark.parametrize("name", SPECS)
def test_nnabla_runs_what_nnspec_wrote_as_nnspec_runs_the_spec(name, expected):
    """nnabla's outputs for nnspec's .nnp, and nnspec's own run of the spec with the same parameters."""
    inputs, outputs = _part(expected, name, "in"), _part(expected, name, "out")
    assert outputs, name
    result = nnspec.run(SPECS[name], inputs, params=FIXTURES / f"{name}_params.npz", statistics=False)
    for output, value in outputs.items():
        np.testing.assert_allclose(result.outputs[output], value, rtol=0, atol=TOLERANCE, err_msg=f"{name} {output}")


@pytest.mark.parametrize("name", [*SPECS, "mlp_branches_protobuf"])
def test_nnspec_reads_back_and_runs_the_nnp_it_wrote(name, expected):
    """The .nnp read as a spec, its parameters from itself (parameter.h5 or parameter.protobuf)."""
    path = FIXTURES / f"{name}.nnp"
    inputs, outputs = _part(expected, name, "in"), _part(expected, name, "out")
    result = nnspec.run(path, inputs, params=path, statistics=False)
    assert sorted(result.outputs) == sorted(outputs)
    for output, value in outputs.items():
        np.testing.assert_allclose(result.outputs[output], value, rtol=0, atol=TOLERANCE, err_msg=f"{name} {output}")


def test_an_nnp_holds_nnablas_three_members_and_the_parameters_given():
    with zipfile.ZipFile(FIXTURES / "mlp_branches_protobuf.nnp") as archive:
        assert archive.namelist() == ["nnp_version.txt", "network.nntxt", "parameter.protobuf"]
        stored = decode_parameters(archive.read("parameter.protobuf"), "test")
    with np.load(FIXTURES / "mlp_branches_params.npz") as given:
        assert sorted(stored) == sorted(given.files)
        for key in given.files:
            np.testing.assert_array_equal(stored[key], given[key])


@pytest.mark.parametrize("name", ["mlp_branches", "lenet", "bn_residual", "arguments", "axes"])
def test_writing_what_was_read_back_gives_the_same_file(name):
    """spec -> .nntxt -> spec -> .nntxt is a fixed point: the reading keeps every layer, property,
    parameter name and shape the writing says."""
    first = write_nntxt(as_view(nnspec.load(SPECS[name])))
    document = read(first.text.encode(), "first.nntxt")
    from nnspec.validation import validate_document

    again = write_nntxt(as_view(validate_document(document, read_data=False)))
    assert again.text == first.text
    assert again.parameters == first.parameters


def test_the_layers_read_back_are_the_layers_written():
    spec = nnspec.load(SPECS["lenet"])
    document = read(write_nntxt(as_view(spec)).text.encode(), "lenet.nntxt")
    by_name = {layer["name"]: layer for layer in document.data["layers"]}
    for name, layer in spec.layers.items():
        assert by_name[name]["type"] == layer.type.name
        for key in ("out_shape", "out_maps", "kernel_shape", "strides"):
            if key in by_name[name]:
                value = layer.props[key] if layer.props[key] is not None else layer.props["kernel_shape"]  # pooling
                assert list(np.atleast_1d(by_name[name][key])) == list(np.atleast_1d(value)), (name, key)


def test_a_repeat_is_written_out_with_nnablas_copy_names():
    written = write_nntxt(as_view(nnspec.load(SPECS["repeat_residual"])))
    assert "repeat_info" not in written.text and "RepeatStart" not in written.text
    copies = [key for key in written.parameters if "[" in key]
    assert copies and all(key.split("/")[0].endswith(("[0]", "[1]", "[2]", "[3]")) for key in copies)
    assert any("repeats: written out" in item for item in written.dropped)


def test_arguments_follow_nnabla_axes_and_defaults():
    text = write_nntxt(as_view(nnspec.load(SPECS["axes"]))).text
    functions = {f.value.first("name").text(): f.value for f in parse(text).first("network").value.all("function")}

    def argument(function: str, name: str) -> list:
        block = next(item.value for item in functions[function].fields if item.name.endswith("_param"))
        return [_dims_or_value(item.value) for item in block.all(name)]

    assert argument("cat", "axis") == [1]  # nnspec's axis 0 (channels) is nnabla's 1
    assert argument("swap", "axes") == [0, 3, 1, 2]  # the batch axis first, the others shifted
    assert argument("total", "axes") == [1]
    assert argument("flat", "shape") == [[-1, 8]]  # any batch
    assert argument("ln", "batch_axis") == [0]  # nnspec's -1: the batch axis alone
    assert argument("bn", "batch_stat") == ["false"]  # the validation view: stored statistics
    assert argument("up", "output_padding") == [[0, 0]]  # no nnspec property: nnabla's default
    assert argument("fc", "base_axis") == [1]


def _dims_or_value(value):
    return [dim.value for dim in value.all("dim")] if hasattr(value, "all") else value


def test_the_training_view_keeps_batch_statistics_and_dropout():
    spec = nnspec.load(SPECS["arguments"])
    assert '"Dropout"' not in write_nntxt(as_view(spec)).text
    training = write_nntxt(as_view(spec, "training")).text
    assert 'type: "Dropout"' in training


def test_the_emitter_writes_what_the_parser_reads():
    message = [
        ("name", "y'\"\\\n\x01é"),
        ("numbers", [("a", 1e-05), ("b", -0.0), ("c", float("inf")), ("d", 2**40), ("e", 0.1)]),
        ("flag", True),
        ("kind", Word("NNABLA")),
    ]
    parsed = parse(emit(message))
    assert parsed.first("name").text() == "y'\"\\\n\x01é"
    numbers = parsed.first("numbers").value
    assert [numbers.first(k).value for k in "abcde"] == [1e-05, -0.0, float("inf"), 2**40, 0.1]
    assert parsed.first("flag").value == "true" and parsed.first("kind").value == "NNABLA"


def test_parameter_protobuf_encodes_what_decodes():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 2)).astype(np.float32)
    parameters = {"fc/affine/W": weights, "b": np.float32([-1.5]), "e": np.zeros((0, 2))}
    decoded = decode_parameters(encode_parameters(parameters), "test")
    assert list(decoded) == list(parameters)
    for key, value in parameters.items():
        assert decoded[key].shape == value.shape
        np.testing.assert_array_equal(decoded[key], value.astype(np.float32))


def _convert(tmp_path: Path, spec: Path, target: str, *options: str) -> int:
    return main(["convert", str(spec), "-o", str(tmp_path / target), *options])


def test_convert_warns_of_what_nnabla_cannot_hold(tmp_path, capsys):
    assert _convert(tmp_path, ROOT / "specs" / "digits.yaml", "digits.nnp", "--parameter-format", "protobuf") == 0
    err = capsys.readouterr().err
    assert "warning: not in nnabla's file: data:" in err
    assert "drawn from the spec's initializers (seed 0)" in err
    with zipfile.ZipFile(tmp_path / "digits.nnp") as archive:
        assert "parameter.protobuf" in archive.namelist()


def test_convert_refuses_recurrent_loops_and_misplaced_options(tmp_path, capsys):
    assert _convert(tmp_path, ROOT / "specs" / "elman_net.yaml", "elman.nntxt") == 2
    assert "recurrent loops" in capsys.readouterr().err
    assert _convert(tmp_path, SPECS["lenet"], "lenet.nntxt", "--params", "x.npz") == 2
    assert "--params is for an .nnp or .onnx" in capsys.readouterr().err
    assert _convert(tmp_path, SPECS["lenet"], "lenet.yaml", "--view", "runtime") == 2
    assert not any(tmp_path.iterdir())


def test_without_h5py_the_parameters_are_written_as_protobuf(tmp_path, capsys, monkeypatch):
    import nnspec.files.nnpfile as nnpfile

    monkeypatch.setattr(nnpfile, "h5_available", lambda: False)
    assert _convert(tmp_path, SPECS["mlp_branches"], "mlp.nnp") == 0
    assert "h5py is not installed" in capsys.readouterr().err
    with zipfile.ZipFile(tmp_path / "mlp.nnp") as archive:
        assert "parameter.protobuf" in archive.namelist()
    assert _convert(tmp_path, SPECS["mlp_branches"], "mlp2.nnp", "--parameter-format", "h5") == 2
    assert "needs h5py" in capsys.readouterr().err


def test_convert_with_params_writes_them_and_refuses_missing_ones(tmp_path, capsys):
    params = FIXTURES / "lenet_params.npz"
    assert _convert(tmp_path, SPECS["lenet"], "lenet.nnp", "--params", str(params)) == 0
    stored = nnspec.run(tmp_path / "lenet.nnp", params=tmp_path / "lenet.nnp", samples=1, statistics=False)
    expected = nnspec.run(SPECS["lenet"], params=params, samples=1, statistics=False)
    assert stored.outputs.keys() == expected.outputs.keys()
    assert _convert(tmp_path, SPECS["lenet"], "other.nnp", "--params", str(FIXTURES / "mlp_branches_params.npz")) == 1
    assert "is missing from" in capsys.readouterr().err
    assert not (tmp_path / "other.nnp").exists()


def test_deconvolution_parameters_load_under_nncs_conv_name_too(tmp_path):
    """nnabla's PF.deconvolution names them ``up/deconv/W``; NNC's exports ``up/conv/W``: both load."""
    with np.load(FIXTURES / "axes_params.npz") as given:
        params = {key: given[key] for key in given.files}
    renamed = {key.replace("/deconv/", "/conv/"): value for key, value in params.items()}
    assert "up/conv/W" in renamed
    inputs = {"x": np.random.default_rng(1).uniform(-1, 1, (2, 3, 4, 5))}
    one = nnspec.run(SPECS["axes"], inputs, params=params, statistics=False)
    other = nnspec.run(SPECS["axes"], inputs, params=renamed, statistics=False)
    for key in one.outputs:
        np.testing.assert_array_equal(one.outputs[key], other.outputs[key])
    with zipfile.ZipFile(FIXTURES / "axes.nnp") as archive:
        nntxt = archive.read("network.nntxt").decode().replace("/deconv/", "/conv/")
    document = read(nntxt.encode(), "nnc.nntxt")  # an NNC-style .nntxt: its parameters named conv
    up = next(layer for layer in document.data["layers"] if layer["name"] == "up")
    assert up["type"] == "Deconvolution" and "parameter_scope" not in up and up["out_maps"] == 2


def _single_layer_specs():
    from nnspec.layers.catalog import layer_types
    from nnspec.spec.nnabla_arguments import FUNCTIONS

    from .layer_harness import layer_spec

    for name, layer_type in layer_types().items():
        if name in FUNCTIONS and name != "Broadcast":
            sizes = {f"x{k}": [2, 4, 6] for k in range(max(layer_type.arity.least, 1))}
            yield pytest.param(layer_spec("float32", name, sizes), id=name)


@pytest.mark.parametrize("text", list(_single_layer_specs()))
def test_every_layer_type_is_written_and_read_back_to_the_same_file(text):
    """Each layer type with its default properties (those whose defaults make a valid spec): the
    .nntxt read back and written again is the same text."""
    from nnspec.core.diagnostics import SpecError
    from nnspec.validation import validate_document

    try:
        spec = nnspec.loads(text)
    except SpecError:
        pytest.skip("its default properties do not make a valid spec of this shape")
    first = write_nntxt(as_view(spec))
    again = write_nntxt(as_view(validate_document(read(first.text.encode(), "y.nntxt"), read_data=False)))
    assert again.text == first.text


def test_broadcast_is_refused_as_nnabla_cannot_say_it_for_any_batch(write_spec, capsys, tmp_path):
    layers = "  - {name: x, type: Input, size: [1, 3]}\n  - {name: y, type: Broadcast, out_shape: [4, 3]}\n"
    source = write_spec("nnspec: 2\nlayers:\n" + layers)
    assert main(["convert", str(source), "-o", str(tmp_path / "b.nntxt")]) == 2
    assert "use BroadcastTo" in capsys.readouterr().err


def test_a_loss_reads_its_target_from_a_data_variable(write_spec):
    source = write_spec(
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: fc, type: Affine, out_shape: 2}\n"
        "  - {name: loss, type: SquaredError, T: {dataset: label}}\n"
        "  - {name: noise, type: Input, size: [3], generator: Normal, generator_multiplier: 0.5}\n"
    )
    written = write_nntxt(as_view(nnspec.load(source)))
    executor = parse(written.text).first("executor").value
    data = {
        item.first("variable_name").text(): item.first("data_name").text() for item in executor.blocks("data_variable")
    }
    assert data == {"x": "x", "noise": "noise"}  # label: only the loss's target, a variable of its own
    assert 'name: "label"' in written.text
    generator = executor.blocks("generator_variable")[0]
    assert generator.first("type").text() == "Normal" and generator.first("multiplier").value == 0.5
    loss = next(item for item in read(written.text.encode(), "l.nntxt").data["layers"] if item["name"] == "loss")
    assert loss["T"] == {"dataset": "label"}
    runtime = write_nntxt(as_view(nnspec.load(source), "runtime")).text
    assert "SquaredError" not in runtime and '"label"' not in runtime


def test_the_same_spec_and_parameters_give_the_same_bytes(tmp_path):
    """Members dated 1980-01-01 and no HDF5 timestamps: an .nnp is reproducible (the fixtures too)."""
    params = str(FIXTURES / "lenet_params.npz")
    for name in ("a.nnp", "b.nnp"):
        assert _convert(tmp_path, SPECS["lenet"], name, "--params", params, "--parameter-format", "h5") == 0
    assert (tmp_path / "a.nnp").read_bytes() == (tmp_path / "b.nnp").read_bytes()


def test_a_dropout_run_at_evaluation_is_written_and_warned_of(write_spec):
    source = write_spec(
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: drop, type: Dropout, p: 0.3, skip_at_test: false}\n"
    )
    written = write_nntxt(as_view(nnspec.load(source)))
    assert 'type: "Dropout"' in written.text and "p: 0.3" in written.text
    assert any("runs in this view (skip_at_test: false)" in item for item in written.dropped)


def test_free_text_with_quotes_braces_and_newlines_is_escaped_and_read_back(write_spec, tmp_path):
    """A spec's free text (its name, a dataset, a parameter scope) lands in quoted strings: escaped,
    it cannot end a string or a block early, and it reads back as written."""
    source = write_spec(
        'nnspec: 2\nname: "a \\" b \\\\ c }\\nd é"\nlayers:\n'
        '  - {name: x, type: Input, size: [3], dataset: "d\\"s }\\n"}\n'
        '  - {name: fc, type: Affine, out_shape: 2, parameter_scope: "s\\"c\\\\ }\\nx"}\n'
    )
    target = tmp_path / "free.nnp"
    assert main(["convert", str(source), "-o", str(target), "--parameter-format", "protobuf"]) == 0
    document = nnspec.load(target)
    assert document.name == 'a " b \\ c }\nd é'
    assert document.layers["fc"].parameter_key("W") == 's"c\\ }\nx/affine/W'
    result = nnspec.run(target, {"d_s___": np.ones((1, 3))}, params=target, statistics=False)
    assert result.outputs["fc"].shape == (1, 2)


def test_initializers_are_written_on_parameters_and_read_back(write_spec):
    source = write_spec(
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        "  - {name: fc, type: Affine, out_shape: 2, W: {initializer: UniformAffineGlorot, multiplier: 0.5}}\n"
        "  - {name: fixed, type: Affine, out_shape: 2}\n"
    )
    written = write_nntxt(as_view(nnspec.load(source)))
    variables = {v.first("name").text(): v for v in parse(written.text).first("network").value.blocks("variable")}
    initializer = variables["fc/affine/W"].first("initializer").value
    assert initializer.first("type").text() == "UniformAffineGlorot" and initializer.first("multiplier").value == 0.5
    assert variables["fixed/affine/W"].first("initializer").value.first("type").text() == "NormalAffineGlorot"
    layers = {layer["name"]: layer for layer in read(written.text.encode(), "i.nntxt").data["layers"]}
    assert layers["fc"]["W"] == {"initializer": "UniformAffineGlorot", "multiplier": 0.5}
    assert "W" not in layers["fixed"]  # the type's default: not written into the spec


def test_an_nnp_converted_keeps_its_own_parameters(tmp_path, capsys):
    source = FIXTURES / "mlp_branches_protobuf.nnp"
    assert _convert(tmp_path, source, "again.nnp", "--parameter-format", "protobuf") == 0
    assert "drawn from the spec's initializers" not in capsys.readouterr().err
    with zipfile.ZipFile(tmp_path / "again.nnp") as again, zipfile.ZipFile(source) as original:
        assert again.read("parameter.protobuf") == original.read("parameter.protobuf")
