"""Views of a network (nnspec.spec.views): training, validation (the default) and runtime, as NNC
derives MainValidation and MainRuntime from the network drawn; and where each data variable's values
came from (RunResult.sources, the reports' data lines).

The references are independent of the view code: the runtime view is compared with a spec written
by hand as NNC's MainRuntime would be (BatchNormalization batch_stat false, no Dropout, no loss),
which must give bit-identical outputs; the validation view with numpy formulas on the whole batch
((x W + b - mean) / sqrt(var + eps) * gamma + beta, Softmax, cross-entropy); the training view's
BatchNormalization with the batch's own mean and biased variance.
"""

from __future__ import annotations

import json
import warnings

import jsonschema
import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import NnspecError, SpecError, UsageError
from nnspec.report.report_schema import report_schema
from nnspec.report.results import to_dict, to_text

EPSILON = 1e-4  # NNC's BatchNormalization epsilon default

# BatchNormalization with NNC's default batch_stat true, a Dropout, a loss reading y: what NNC draws.
NETWORK = """nnspec: 1
seed: 3
layers:
  - {name: x, type: Input, size: [4]}
  - {name: fc, type: Affine, out_shape: 3}
  - {name: bn, type: BatchNormalization, batch_stat: true}
  - {name: drop, type: Dropout, p: 0.25}
  - {name: pred, type: Softmax}
  - {name: loss, type: SoftmaxCrossEntropy, input: drop, T: {dataset: y}}
"""
Y_DATA = "data:\n  y: [[0], [2], [1], [1], [0], [2], [2], [1], [0], [1], [2]]\n"  # line 10: the data lines

# NNC's MainRuntime of NETWORK, written by hand: stored statistics, the Dropout gone (pred reads bn),
# no loss, no y.
HAND_RUNTIME = """nnspec: 1
seed: 3
layers:
  - {name: x, type: Input, size: [4]}
  - {name: fc, type: Affine, out_shape: 3}
  - {name: bn, type: BatchNormalization, batch_stat: false}
  - {name: pred, type: Softmax}
outputs: [pred, bn]
"""


def trained_params() -> dict[str, np.ndarray]:
    """Parameters of every shape the network has, the statistics trained-looking (var well above epsilon)."""
    rng = np.random.default_rng(11)
    shapes = {"fc/affine/W": (4, 3), "fc/affine/b": (3,)}
    params = {name: rng.normal(0, 0.5, shape) for name, shape in shapes.items()}
    params["bn/bn/mean"] = rng.normal(0, 0.3, (1, 3))
    params["bn/bn/var"] = rng.uniform(0.5, 2.0, (1, 3))
    params["bn/bn/gamma"] = rng.uniform(0.5, 1.5, (1, 3))
    params["bn/bn/beta"] = rng.normal(0, 0.1, (1, 3))
    return params


def x_data() -> np.ndarray:
    return np.random.default_rng(4).normal(0, 1, (11, 4))


def y_data() -> np.ndarray:
    return np.array([[0], [2], [1], [1], [0], [2], [2], [1], [0], [1], [2]], float)


def quiet_run(spec, inputs=None, **options) -> nnspec.RunResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        return nnspec.run(spec, inputs, params=trained_params(), **options)


def as32(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, np.float32).astype(np.float64)


def affine_bn(x: np.ndarray, p: dict[str, np.ndarray], stored: bool) -> np.ndarray:
    """fc then bn in float64 from float32 values: with the stored statistics, or the batch's own."""
    h = as32(x) @ as32(p["fc/affine/W"]) + as32(p["fc/affine/b"])
    mean, var = (as32(p["bn/bn/mean"]), as32(p["bn/bn/var"])) if stored else (h.mean(axis=0), h.var(axis=0))
    return (h - mean) / np.sqrt(var + EPSILON) * as32(p["bn/bn/gamma"]) + as32(p["bn/bn/beta"])


# --- the runtime view ----------------------------------------------------------------------------------


def test_runtime_view_is_the_network_without_its_loss_bit_for_bit():
    """The runtime view of NETWORK gives exactly what the hand-written MainRuntime gives: pred, and
    drop (the layer the loss read, now a sink) equal to the hand spec's bn."""
    runtime = quiet_run(nnspec.loads(NETWORK), {"x": x_data()}, view="runtime")
    hand = quiet_run(nnspec.loads(HAND_RUNTIME), {"x": x_data()})
    assert list(runtime.outputs) == ["pred", "drop"]
    assert list(hand.outputs) == ["pred", "bn"]
    np.testing.assert_array_equal(runtime.outputs["pred"], hand.outputs["pred"])
    np.testing.assert_array_equal(runtime.outputs["drop"], hand.outputs["bn"])
    assert "loss" not in runtime.spec.layers and "loss" not in runtime.stats
    assert runtime.scores == {} and runtime.view == "runtime" and runtime.semantics == "evaluation"


def test_runtime_view_needs_no_target_and_never_takes_it_from_the_specs_data():
    """Without y anywhere, the validation view cannot run and the runtime view can; with y in the
    spec's data:, the validation view reads it and the runtime view reads x alone."""
    without_y = nnspec.loads(NETWORK)
    with pytest.raises(UsageError, match="no data for target T of 'loss'"):
        quiet_run(without_y, {"x": x_data()})
    assert list(quiet_run(without_y, {"x": x_data()}, view="runtime").sources) == ["x"]
    with_y = nnspec.loads(NETWORK + Y_DATA)
    validation = quiet_run(with_y, {"x": x_data()})
    assert list(validation.sources) == ["x", "y"]
    assert validation.sources["y"].kind == "spec"
    runtime = quiet_run(with_y, {"x": x_data()}, view="runtime")
    assert list(runtime.sources) == ["x"]
    assert runtime.spec.readers and {reader.variable for reader in runtime.spec.readers} == {"x"}


def test_runtime_view_given_the_target_notes_that_it_is_not_used():
    result = quiet_run(nnspec.loads(NETWORK), {"x": x_data(), "y": y_data()}, view="runtime")
    notes = [note for note in result.notes if note.code == "unknown-variable"]
    assert len(notes) == 1 and notes[0].severity == "info"
    assert "'y' is read only by 'loss', which the runtime view leaves out" in notes[0].message
    assert list(result.sources) == ["x"]


def test_a_prepared_runner_runs_its_view_again_and_again():
    runner = nnspec.prepare(nnspec.loads(NETWORK), trained_params(), statistics=False, view="runtime")
    first, again = runner.run({"x": x_data()}), runner.run({"x": x_data()[:3]})
    np.testing.assert_array_equal(first.outputs["pred"][:3], again.outputs["pred"])
    assert "runtime view" in repr(runner) and "runtime view" in repr(first)


def test_explicit_outputs_naming_the_loss_get_what_it_read_and_a_note(write_spec):
    """outputs: [loss, pred]: the runtime view outputs drop (what the loss read) in the loss's place,
    and a note located at the output says so; validate --view runtime predicts the same note."""
    path = write_spec(NETWORK + "outputs: [loss, pred]\n")
    result = quiet_run(nnspec.load(path), {"x": x_data()}, view="runtime")
    assert list(result.outputs) == ["drop", "pred"]
    (note,) = [note for note in result.notes if note.code == "view-output"]
    assert (note.line, note.severity, note.layer) == (10, "info", "loss")
    assert "'loss', a loss layer (SoftmaxCrossEntropy), which the runtime view leaves out" in note.message
    assert "outputs 'drop' in its place" in note.message
    predicted = nnspec.validate(path, view="runtime")
    assert [d for d in predicted if d.code == "view-output"] == [note]
    assert not any(d.code == "view-output" for d in nnspec.validate(path))


def test_a_layer_reading_a_loss_leaves_with_it():
    """A layer that reads a loss cannot run without its target: the runtime view leaves it out too,
    and outputs the loss's input in its place."""
    text = NETWORK + "  - {name: scaled, type: MulScalar, value: 2.0}\noutputs: [scaled]\n"
    result = quiet_run(nnspec.loads(text), {"x": x_data()}, view="runtime")
    assert "scaled" not in result.spec.layers and list(result.outputs) == ["drop"]
    (note,) = [note for note in result.notes if note.code == "view-output"]
    assert "'scaled', a layer reading loss layer 'loss'" in note.message


def test_default_outputs_follow_the_view_without_a_note():
    result = quiet_run(nnspec.loads(NETWORK), {"x": x_data()}, view="runtime")
    assert not [note for note in result.notes if note.code == "view-output"]


def test_validation_layers_leave_the_runtime_view_too():
    """TopNError and BinaryError are NNC's validation layers (IsLossFunction=True): gone at runtime."""
    text = NETWORK + "  - {name: err, type: TopNError, input: pred, T: {dataset: y}}\n"
    catalog = nnspec.layer_types()
    is_loss = {name for name, layer_type in catalog.items() if layer_type.role.is_result}
    assert is_loss == {
        "BinaryCrossEntropy",
        "SquaredError",
        "HuberLoss",
        "AbsoluteError",
        "EpsilonInsensitiveLoss",
        "SigmoidCrossEntropy",
        "CategoricalCrossEntropy",
        "SoftmaxCrossEntropy",
        "KLMultinomial",
        "TopNError",
        "BinaryError",
    }
    result = quiet_run(nnspec.loads(text), {"x": x_data()}, view="runtime")
    assert set(result.spec.layers) == {"x", "fc", "bn", "drop", "pred"}
    assert list(result.outputs) == ["drop", "pred"]  # the sinks were loss and err: what each read


# --- the validation and training views --------------------------------------------------------------


def test_validation_view_is_the_default_and_nncs_evaluation():
    spec = nnspec.loads(NETWORK + Y_DATA)
    default, validation = quiet_run(spec, {"x": x_data()}), quiet_run(spec, {"x": x_data()}, view="validation")
    for name in ("pred", "loss"):
        np.testing.assert_array_equal(default.outputs[name], validation.outputs[name])
    assert default.view == validation.view == "validation"
    logits = affine_bn(x_data(), trained_params(), stored=True)  # Dropout bypassed: drop is bn
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(validation.outputs["pred"], probabilities, rtol=1e-5, atol=1e-6)
    picked = np.take_along_axis(logits, y_data().astype(int), axis=1)
    cross_entropy = np.log(np.exp(logits).sum(axis=1, keepdims=True)) - picked
    np.testing.assert_allclose(validation.outputs["loss"], cross_entropy, rtol=1e-5, atol=1e-5)


def test_training_view_is_the_training_pass():
    spec = nnspec.loads(NETWORK + Y_DATA)
    view = quiet_run(spec, {"x": x_data()}, view="training")
    flag = quiet_run(spec, {"x": x_data()}, training=True)
    for name in ("pred", "loss"):
        np.testing.assert_array_equal(view.outputs[name], flag.outputs[name])
    assert view.view == flag.view == "training" and view.semantics == "training"
    # bn's batch statistics: drop's kept values are bn's times 1 / (1 - p); the dropped ones are 0
    bn = affine_bn(x_data(), trained_params(), stored=False)
    spec_with_bn = nnspec.loads(NETWORK + Y_DATA + "outputs: [bn, drop]\n")
    outputs = quiet_run(spec_with_bn, {"x": x_data()}, view="training").outputs
    np.testing.assert_allclose(outputs["bn"], bn, rtol=1e-4, atol=1e-5)
    kept = outputs["drop"] != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(outputs["drop"][kept], bn[kept] / 0.75, rtol=1e-4, atol=1e-5)


def test_training_and_another_view_together_are_refused():
    with pytest.raises(NnspecError, match="training is the training view"):
        quiet_run(nnspec.loads(NETWORK), {"x": x_data()}, training=True, view="runtime")
    with pytest.raises(NnspecError, match="a view is one of training, validation, runtime; got 'runtim'.*'runtime'"):
        quiet_run(nnspec.loads(NETWORK), {"x": x_data()}, view="runtim")


# --- the spec's view: key -----------------------------------------------------------------------------


def test_the_specs_view_key_is_the_default_and_the_caller_overrides_it(write_spec):
    path = write_spec(NETWORK.replace("seed: 3\n", "seed: 3\nview: runtime\n"))
    spec = nnspec.load(path)
    assert spec.view == "runtime"
    assert quiet_run(spec, {"x": x_data()}).view == "runtime"
    assert quiet_run(spec, {"x": x_data(), "y": y_data()}, view="validation").view == "validation"
    from nnspec.spec.resolved import resolved_text

    resolved = resolved_text(spec)
    assert "\nview: runtime\n" in resolved
    assert nnspec.loads(resolved, str(path)).view == "runtime"


def test_an_unknown_view_key_is_a_located_error():
    with pytest.raises(SpecError) as raised:
        nnspec.loads(NETWORK.replace("seed: 3\n", "seed: 3\nview: inference\n"))
    (error,) = raised.value.diagnostics
    assert error.line == 3 and "runtime" in error.message


# --- the command line: run, validate, graph --------------------------------------------------------


def test_run_view_runtime_on_the_command_line(write_spec, tmp_path, capsys):
    path = write_spec(NETWORK + Y_DATA)
    x_file, params = tmp_path / "x.npy", tmp_path / "params.npz"
    np.save(x_file, x_data())
    np.savez(params, **trained_params())
    command = ["run", str(path), "--view", "runtime", "--input", f"x={x_file}", "--params", str(params)]
    assert main(command) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("float32, runtime view: as NNC evaluates, without the loss and validation layers")
    assert lines[1] == f"data x: file {x_file}"
    assert lines[2] == ""
    assert not any(line.startswith("loss ") for line in lines)
    main([*command, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, report_schema())
    assert (report["view"], report["semantics"], list(report["outputs"])) == ("runtime", "evaluation", ["pred", "drop"])
    assert report["sources"] == {"x": {"kind": "file", "description": f"file {x_file}", "file": str(x_file)}}
    main(["run", str(path), "--training", "--view", "runtime", "--input", f"x={tmp_path / 'x.npy'}"])
    assert "training is the training view" in capsys.readouterr().err


def test_validate_takes_the_view(write_spec, capsys):
    """An untrained BatchNormalization multiplies by 100 as NNC evaluates and standardises in training:
    validate predicts the normalization-gain warning in the validation view only."""
    path = write_spec(NETWORK + Y_DATA)
    main(["validate", str(path)])
    assert "[normalization-gain]" in capsys.readouterr().err
    main(["validate", str(path), "--view", "training"])
    assert "[normalization-gain]" not in capsys.readouterr().err
    main(["validate", str(path), "--training"])
    assert "[normalization-gain]" not in capsys.readouterr().err


def test_the_graph_of_the_runtime_view_has_no_loss(write_spec, capsys):
    path = write_spec(NETWORK + Y_DATA)
    runtime = nnspec.graph(path, "dot", view="runtime").decode()
    validation = nnspec.graph(path, "dot").decode()
    assert '"loss" [' in validation and '"drop" -> "loss"' in validation
    assert '"loss"' not in runtime and '"pred" [' in runtime
    assert "(runtime view)" in runtime and "(runtime view)" not in validation
    assert main(["graph", str(path), "--view", "runtime"]) == 0
    assert '"loss"' not in capsys.readouterr().out
    result = quiet_run(nnspec.load(path), {"x": x_data()}, view="runtime")
    assert '"loss"' not in nnspec.graph(result, "dot").decode()
    with pytest.raises(NnspecError, match="this result is of the runtime view"):
        nnspec.graph(result, "dot", view="validation")


# --- where the data came from ------------------------------------------------------------------------


SOURCES_SPEC = """nnspec: 1
layers:
  - {name: a, type: Input, size: [2]}
  - {name: b, type: Input, size: [2]}
  - {name: c, type: Input, size: [2]}
  - {name: d, type: Input, size: [2]}
  - {name: e, type: Input, size: [2], generator: Normal, generator_multiplier: 0.5}
  - {name: sum, type: Add2, input: [a, b]}
  - {name: sum2, type: Add2, input: [c, d]}
  - {name: sum3, type: Add2, input: [sum2, e]}
data:
  d: [[1, 2], [3, 4], [5, 6]]
"""


def test_each_kind_of_data_source_is_said(tmp_path):
    """a an array given, b a file, c dataset columns, d the spec's data: (line 12), e a generator."""
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SOURCES_SPEC)
    np.save(tmp_path / "b.npy", np.ones((3, 2)))
    dataset = tmp_path / "data.csv"
    dataset.write_text("c__0,c__1,other\n1,2,x\n3,4,y\n5,6,z\n")
    result = nnspec.run(
        nnspec.load(spec_path),
        {"a": np.zeros((3, 2))},
        input_files={"b": tmp_path / "b.npy"},
        dataset=dataset,
    )
    said = {variable: source.description for variable, source in result.sources.items()}
    assert said == {
        "a": "array given",
        "b": f"file {tmp_path / 'b.npy'}",
        "c": f"dataset columns c__0..c__1 of {dataset}",
        "d": "spec data: (line 12)",
        "e": "generator Normal x0.5",
    }
    text = to_text(result).splitlines()
    assert text[1:6] == [f"data {variable}: {description}" for variable, description in said.items()]
    assert text[6] == ""
    report = to_dict(result)
    jsonschema.validate(json.loads(json.dumps(report)), report_schema())
    assert report["sources"]["c"] == {
        "kind": "dataset",
        "description": said["c"],
        "file": str(dataset),
        "columns": ["c__0", "c__1"],
    }
    assert report["sources"]["d"] == {"kind": "spec", "description": said["d"], "line": 12}
    assert report["sources"]["e"] == {
        "kind": "generator",
        "description": said["e"],
        "generator": "Normal",
        "multiplier": 0.5,
    }
    assert report["view"] == "validation"


def test_a_single_dataset_column_and_the_specs_own_dataset(tmp_path):
    (tmp_path / "data.csv").write_text("c,d\n1,2\n")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        "nnspec: 1\ndataset: data.csv\nlayers:\n  - {name: c, type: Input, size: [1]}\n"
        "  - {name: d, type: Input, size: [1]}\n  - {name: s, type: Add2, input: [c, d]}\n"
    )
    result = nnspec.run(nnspec.load(spec_path))
    assert result.sources["c"].description == f"dataset column c of {tmp_path / 'data.csv'}"


def test_a_file_name_is_escaped_in_the_report(tmp_path, capsys):
    """A file name holding ESC and a workflow command shows as escapes, never raw."""
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text("nnspec: 1\nlayers:\n  - {name: a, type: Input, size: [2]}\n  - {name: t, type: Tanh}\n")
    named = tmp_path / "a\x1b[2J::warning.npy"
    np.save(named, np.zeros((2, 2)))
    assert main(["run", str(spec_path), "--input", f"a={named}"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.startswith("data a: file ") and "\x1b" not in line and "::" not in line
    assert "a\\x1b[2J\\x3a:warning.npy" in line


def test_the_html_report_says_the_view_and_the_sources():
    from nnspec.report.pictures.html import report_html

    result = quiet_run(nnspec.loads(NETWORK), {"x": x_data()}, view="runtime")
    header = report_html(result, None, {}).split("</header>")[0]
    assert "runtime view: as NNC evaluates" in header and "data x: array given" in header
