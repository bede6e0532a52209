"""``--engine onnxruntime`` on specs with layers ONNX cannot hold (nnspec.runtime.mixed): the graph cut into
pieces, those layers run by numpy's forwards, the rest by onnxruntime; the run's outputs, statistics and
findings those of numpy's engine (the reference, itself held to hand formulas and nnabla's fixtures
elsewhere), and values checked by hand where the formula is short; the report names the layers numpy ran.

The writer learns layer types (docs/onnx.md): the tests that need the writer to refuse a layer use what it
cannot write whatever it learns (a Dropout applied at evaluation, whose mask is nnspec's own draw; a target
a generator draws); the others cut the graph where they say, as if the writer refused those layers.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Collection
from itertools import takewhile
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import nnspec
from nnspec.checks.stats import TensorStats
from nnspec.cli import main
from nnspec.report.pictures.html import report_html
from nnspec.report.results import to_dict, to_text
from nnspec.runtime.mixed import NUMPY, ONNX, MixedEngine, pieces
from nnspec.runtime.onnxruntime_engine import OnnxRuntimeEngine
from nnspec.spec.onnx_writer import unwritable_layers
from nnspec.spec.views import as_view

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-4  # float32 sums in another order, relative to the tensor's scale (its largest magnitude)
FLOOR = float(np.finfo(np.float32).eps)
# onnxruntime's Sigmoid, Tanh and Softmax reach exactly 0, 1 or -1 before numpy's formulas do
# (docs/onnx.md): their counts of exact zeros and subnormals may differ, nothing else
ROUNDS_EARLIER = {"Sigmoid", "Tanh", "Softmax"}

HEAD = "nnspec: 1\nlayers:\n"
# What the writer refuses whatever types it learns: a Dropout applied at evaluation (skip_at_test: false,
# its mask drawn by nnspec) and a loss whose target a generator draws, convolutions and a branch between.
# The Dropout reads the data: its mask is a hash of its input's bits (nnspec.layers.others), which
# onnxruntime's values, rounded otherwise than numpy's, would change (docs/onnx.md)
APPLIED = HEAD + (
    "  - {name: x, type: Input, size: [2, 6, 6]}\n"
    "  - {name: d, type: Dropout, p: 0.5, skip_at_test: false}\n"
    "  - {name: c1, type: Convolution, out_maps: 3, kernel_shape: [3, 3], padding: [1, 1]}\n"
    "  - {name: t1, type: Tanh}\n"
    "  - {name: c2, type: Convolution, out_maps: 3, kernel_shape: [3, 3], padding: [1, 1]}\n"
    "  - {name: r, type: ReLU}\n"
    "  - {name: s, type: Sigmoid, input: t1}\n"
    "  - {name: a, type: Add2, input: [r, s]}\n"
    "  - {name: se, type: SquaredError, T: {generator: Normal}}\n"
)
# The specs below are cut where the tests say, as the writer would cut them where it refused those layers.
# A CumProd between two convolutions, a branch around it
CUMPROD = HEAD + (
    "  - {name: x, type: Input, size: [2, 6, 6]}\n"
    "  - {name: c1, type: Convolution, out_maps: 3, kernel_shape: [3, 3], padding: [1, 1]}\n"
    "  - {name: t1, type: Tanh}\n"
    "  - {name: cp, type: CumProd, axis: 1}\n"
    "  - {name: c2, type: Convolution, out_maps: 3, kernel_shape: [3, 3], padding: [1, 1]}\n"
    "  - {name: r, type: ReLU}\n"
    "  - {name: s, type: Sigmoid, input: t1}\n"
    "  - {name: a, type: Add2, input: [r, s]}\n"
)
# Quantizers between convolutions, a loss reading a data variable after them
QUANTIZERS = HEAD + (
    "  - {name: x, type: Input, size: [2, 6, 6]}\n"
    "  - {name: c1, type: Convolution, out_maps: 3, kernel_shape: [3, 3], padding: [1, 1]}\n"
    "  - {name: q, type: FixedPointQuantize, n: 4, delta: 0.25}\n"
    "  - {name: c2, type: Convolution, out_maps: 4, kernel_shape: [3, 3]}\n"
    "  - {name: p2, type: Pow2Quantize, m: 0}\n"
    "  - {name: f, type: Affine, out_shape: [5]}\n"
    "  - {name: sm, type: Softmax}\n"
    "  - {name: loss, type: CategoricalCrossEntropy, T: {dataset: y}}\n"
)
# A Parameter (makes its own values), a Shift, a loss whose target a generator draws
SIDE_INPUTS = HEAD + (
    "  - {name: x, type: Input, size: [4]}\n"
    "  - {name: fc, type: Affine, out_shape: [4]}\n"
    "  - {name: p, type: Parameter, size: [4]}\n"
    "  - {name: a, type: Add2, input: [fc, p]}\n"
    "  - {name: t, type: Tanh}\n"
    "  - {name: sh, type: Shift, input: x, shift: [1]}\n"
    "  - {name: m, type: Mul2, input: [t, sh]}\n"
    "  - {name: se, type: SquaredError, input: m, T: {generator: Normal}}\n"
)
# Dropout between two CumProds: bypassed at evaluation (it joins their piece), applied in training
DROPOUT = HEAD + (
    "  - {name: x, type: Input, size: [6]}\n"
    "  - {name: fc, type: Affine, out_shape: [6]}\n"
    "  - {name: cp, type: CumProd, axis: 0}\n"
    "  - {name: d, type: Dropout, p: 0.5}\n"
    "  - {name: cp2, type: CumProd, axis: 0}\n"
    "  - {name: o, type: Sigmoid}\n"
)
ALL_NUMPY = HEAD + (
    "  - {name: x, type: Input, size: [3, 4]}\n"
    "  - {name: cp, type: CumProd, axis: 1}\n"
    "  - {name: sh, type: Shift, shift: [1, 0]}\n"
)
# Each spec, and the layers a test cuts it around ("the writer": what the writer refuses)
MIXED = {
    "applied_dropout": (APPLIED, None),
    "cumprod": (CUMPROD, {"cp"}),
    "quantizers": (QUANTIZERS, {"q", "p2"}),
    "side_inputs": (SIDE_INPUTS, {"p", "sh", "se"}),
    "dropout": (DROPOUT, {"cp", "cp2"}),
}


def on_numpy(layers: Collection[str]):
    """An engine factory cutting the spec as if ONNX could not hold ``layers`` either (those the view runs)."""

    def factory(spec, parameters, observed, variables):
        chosen = {name: "forced" for name in spec.order if name in layers}
        return MixedEngine(spec, parameters, observed, variables, {**unwritable_layers(spec), **chosen})

    return factory


def _run(spec: nnspec.Spec, engine, **options) -> nnspec.RunResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        # 3 batches, the last short
        return nnspec.run(spec, samples=8, batch_size=3, synthetic=True, engine=engine, **options)


def _differing(actual: TensorStats, expected: TensorStats, exact_counts: bool) -> list[str]:
    """The fields where two engines' statistics of a tensor disagree (percentiles aside: docs/onnx.md)."""
    scale = max(abs(expected.min or 0.0), abs(expected.max or 0.0))
    counts = ["count", "nan", "posinf", "neginf", "varies"] + (["zeros", "subnormal"] if exact_counts else [])
    wrong = [name for name in counts if getattr(actual, name) != getattr(expected, name)]
    for name in ("min", "max", "mean", "std"):
        a, e = getattr(actual, name), getattr(expected, name)
        if (a is None) != (e is None) or (a is not None and abs(a - e) > RTOL * scale + FLOOR):
            wrong.append(name)
    return wrong


def _pieces(text: str, layers: Collection[str], view: str | None = None) -> list[tuple]:
    spec = as_view(nnspec.loads(text), view)
    return [(s.engine, s.layers, s.reads, s.gives) for s in pieces(spec, dict.fromkeys(layers, "forced"))]


def _said(text: str) -> str:
    """The text report's engine line, its wrapped lines joined."""
    lines = text.splitlines()
    return " ".join([lines[1], *(line[2:] for line in takewhile(lambda line: line.startswith("  "), lines[2:]))])


def test_the_writer_says_which_layers_numpy_runs_and_the_graph_is_cut_around_them():
    spec = nnspec.loads(APPLIED)
    refused = unwritable_layers(spec)
    assert list(refused) == ["d", "se"]  # the writer's reasons: the mask is drawn, the target too
    runner = nnspec.prepare(spec, engine="onnxruntime")
    assert runner.engine.numpy_layers == refused
    assert [(s.engine, s.layers, s.reads, s.gives) for s in runner.engine.pieces] == [
        (NUMPY, ("d",), (), ("d",)),
        (ONNX, ("c1", "t1", "c2", "r", "s", "a"), ("d",), ("a",)),
        (NUMPY, ("se",), ("a",), ("se",)),
    ]


def test_the_graph_is_cut_around_the_layers_numpy_runs():
    # s reads t1 only: it joins the first piece, which hands t1 to the CumProd and s to the last piece
    assert _pieces(CUMPROD, {"cp"}) == [
        (ONNX, ("c1", "t1", "s"), (), ("t1", "s")),
        (NUMPY, ("cp",), ("t1",), ("cp",)),
        (ONNX, ("c2", "r", "a"), ("cp", "s"), ("a",)),
    ]


def test_the_cut_has_the_fewest_pieces_whichever_engine_comes_first():
    # fc comes first in the spec, but starting on onnxruntime would cut 4 pieces (fc | p sh | a t m | se):
    # starting on numpy cuts 3, fc beside the layers that read p and sh
    assert _pieces(SIDE_INPUTS, {"p", "sh", "se"}) == [
        (NUMPY, ("p", "sh"), (), ("p", "sh")),
        (ONNX, ("fc", "a", "t", "m"), ("p", "sh"), ("m",)),
        (NUMPY, ("se",), ("m",), ("se",)),
    ]


def test_a_layer_the_view_bypasses_joins_the_piece_around_it():
    # At evaluation the Dropout passes its input through: no onnxruntime session between the CumProds
    assert _pieces(DROPOUT, {"cp", "cp2"}) == [
        (ONNX, ("fc",), (), ("fc",)),
        (NUMPY, ("cp", "d", "cp2"), ("fc",), ("cp2",)),
        (ONNX, ("o",), ("cp2",), ("o",)),
    ]
    # In training it draws its mask, nnspec's own: the writer cannot write it, numpy runs it
    assert "d" in unwritable_layers(as_view(nnspec.loads(DROPOUT), "training"))
    assert _pieces(DROPOUT, {"cp", "d", "cp2"}, "training") == _pieces(DROPOUT, {"cp", "cp2"})
    assert _pieces(ALL_NUMPY, {"cp", "sh"}) == [(NUMPY, ("cp", "sh"), (), ("sh",))]


@pytest.mark.parametrize("view", [None, "training"])
@pytest.mark.parametrize("name", list(MIXED))
def test_both_engines_give_the_same_outputs_statistics_and_findings(name, view):
    text, layers = MIXED[name]
    spec = nnspec.loads(text)
    expected = _run(spec, "numpy", view=view)
    actual = _run(spec, "onnxruntime" if layers is None else on_numpy(layers), view=view)
    refused = {**unwritable_layers(actual.spec), **dict.fromkeys(layers or (), "forced")}
    assert actual.numpy_layers == {name: refused[name] for name in actual.spec.order if name in refused}
    assert actual.numpy_layers and expected.engine == "numpy" and expected.numpy_layers == {}
    assert actual.outputs.keys() == expected.outputs.keys()
    for output, values in expected.outputs.items():
        scale = float(np.max(np.abs(values)))
        np.testing.assert_allclose(actual.outputs[output], values, rtol=0, atol=RTOL * scale + FLOOR, err_msg=output)
    assert list(actual.stats) == list(expected.stats)  # every layer observed, in numpy's order
    layers_of = actual.spec.layers
    wrong = {
        layer: fields
        for layer in expected.stats
        if (
            fields := _differing(
                actual.stats[layer].output,
                expected.stats[layer].output,
                layers_of[layer].type.name not in ROUNDS_EARLIER,
            )
        )
    }
    assert not wrong
    assert [(f.check, f.layer, f.severity, f.message) for f in actual.findings] == [
        (f.check, f.layer, f.severity, f.message) for f in expected.findings
    ]


def test_a_spec_all_on_numpy_runs_on_numpy_alone_to_the_same_bits():
    spec = nnspec.loads(ALL_NUMPY)
    runner = nnspec.prepare(spec, engine=on_numpy({"cp", "sh"}))
    assert isinstance(runner.engine, MixedEngine) and [s.engine for s in runner.engine.pieces] == [NUMPY]
    x = np.linspace(-1.5, 1.5, 24, dtype=np.float32).reshape(2, 3, 4)
    result = runner.run({"x": x})
    # CumProd along axis 1 (the sample's), then Shift by one along the sample's axis 0, its edge repeated
    cumulative = np.cumprod(x.astype(np.float64), axis=2)
    shifted = np.concatenate([cumulative[:, :1], cumulative[:, :-1]], axis=1)
    np.testing.assert_allclose(result.outputs["sh"], shifted, rtol=1e-6)
    np.testing.assert_array_equal(result.outputs["sh"], nnspec.run(spec, {"x": x}).outputs["sh"])


def test_values_by_hand_through_three_pieces():
    # Tanh on onnxruntime, FixedPointQuantize on numpy, then onnxruntime again: each layer's values as the
    # observer is shown them, against the formulas written out here in float64
    spec = nnspec.loads(
        HEAD + "  - {name: x, type: Input, size: [5]}\n  - {name: t, type: Tanh}\n"
        "  - {name: q, type: FixedPointQuantize, n: 4, delta: 0.25}\n"
        "  - {name: m, type: MulScalar, value: 2.0}\n  - {name: s, type: Sigmoid, input: [t]}\n"
        "  - {name: o, type: Add2, input: [m, s]}\n"
    )
    runner = nnspec.prepare(spec, engine=on_numpy({"q"}))
    assert [(s.engine, s.layers) for s in runner.engine.pieces] == [
        (ONNX, ("t", "s")),
        (NUMPY, ("q",)),
        (ONNX, ("m", "o")),
    ]
    # inputs away from the quantizer's thresholds (tanh of them not within 1e-3 of an odd multiple of 0.125)
    x = np.array([[-3.0, -0.5, 0.0, 0.2, 1.0], [0.7, -0.05, 2.5, -1.2, 0.45]], np.float32)
    shown: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
    outputs = runner.engine.batch({"x": x}, lambda layer, args, out: shown.setdefault(layer.name, (args, out)))
    assert list(shown) == ["x", "t", "q", "m", "s", "o"]  # the spec's order, not the pieces'
    t = np.tanh(x.astype(np.float64))
    q = np.clip(np.sign(t) * np.floor(np.abs(t) / 0.25 + 0.5) * 0.25, -1.75, 1.75)  # 2^(4-1) - 1 = 7 steps
    s = 1 / (1 + np.exp(-t))
    np.testing.assert_allclose(shown["t"][1], t, rtol=1e-6)
    np.testing.assert_allclose(shown["q"][0][0], t, rtol=1e-6)  # q reads t as onnxruntime handed it over
    np.testing.assert_array_equal(shown["q"][1], q.astype(np.float32))
    np.testing.assert_array_equal(shown["m"][0][0], q.astype(np.float32))
    np.testing.assert_allclose(shown["o"][1], 2 * q + s, rtol=1e-6)
    np.testing.assert_allclose(outputs["o"], 2 * q + s, rtol=1e-6)
    assert list(outputs) == ["o"]


def test_the_pieces_sessions_do_not_spin_and_a_whole_spec_is_one_session_as_before():
    # Spinning threads would take the cores from the numpy piece after them (docs/onnx.md)
    runner = nnspec.prepare(nnspec.loads(APPLIED), engine="onnxruntime")
    sessions = [engine.session for piece, engine in runner.engine._parts if piece.engine == ONNX]
    assert len(sessions) == 1
    for session in sessions:
        assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    whole = nnspec.loads(HEAD + "  - {name: x, type: Input, size: [3]}\n  - {name: t, type: Tanh}\n")
    assert type(nnspec.prepare(whole, engine="onnxruntime").engine) is OnnxRuntimeEngine


@pytest.mark.parametrize("name", ["applied_dropout", "quantizers"])
def test_without_statistics_the_outputs_are_the_same(name):
    text, layers = MIXED[name]
    spec = nnspec.loads(text)
    engine = "onnxruntime" if layers is None else on_numpy(layers)
    for output, expected in _run(spec, "numpy", statistics=False).outputs.items():
        actual = _run(spec, engine, statistics=False).outputs[output]
        np.testing.assert_allclose(actual, expected, rtol=0, atol=RTOL * float(np.max(np.abs(expected))) + FLOOR)


def test_an_input_among_the_outputs_is_the_data_itself():
    spec = nnspec.loads(APPLIED.replace("layers:\n", "outputs: [x, d, a]\nlayers:\n"))
    result = _run(spec, "onnxruntime")
    np.testing.assert_array_equal(result.outputs["x"], _run(spec, "numpy").outputs["x"])
    assert list(result.outputs) == ["x", "d", "a"] and "d" in result.numpy_layers


def test_the_reports_say_which_layers_numpy_ran_and_why():
    spec = nnspec.loads(APPLIED)
    reasons = unwritable_layers(spec)
    result = _run(spec, "onnxruntime")
    assert _said(to_text(result, width=200)) == (
        f"engine onnxruntime, 2 layers on numpy (ONNX cannot hold them): 'd' (Dropout): {reasons['d']}; "
        f"'se' (SquaredError): {reasons['se']}"
    )
    assert all(len(line) <= 80 for line in to_text(result).splitlines()[:4])  # wrapped as the rest
    report = to_dict(result)
    assert report["engine"] == {
        "name": "onnxruntime",
        "numpy_layers": [
            {"layer": "d", "type": "Dropout", "reason": reasons["d"]},
            {"layer": "se", "type": "SquaredError", "reason": reasons["se"]},
        ],
    }
    jsonschema.validate(report, json.loads((ROOT / "schemas" / "report.schema.json").read_text()))
    html = report_html(result, None, {})  # the heading's line, escaped as every name from a spec is
    assert "engine onnxruntime, 2 layers on numpy (ONNX cannot hold them): &#x27;d&#x27; (Dropout)" in html
    # numpy's engine, the default: no line in the text, the engine's name in the JSON
    numpy_result = _run(spec, "numpy")
    assert not any(line.startswith("engine") for line in to_text(numpy_result).splitlines())
    assert to_dict(numpy_result)["engine"] == {"name": "numpy", "numpy_layers": []}
    # onnxruntime alone
    whole = nnspec.loads(HEAD + "  - {name: x, type: Input, size: [3]}\n  - {name: t, type: Tanh}\n")
    assert to_text(_run(whole, "onnxruntime")).splitlines()[1] == "engine onnxruntime"


def test_the_text_report_names_a_few_layers_for_each_reason():
    chain = "".join(f"  - {{name: d{k}, type: Dropout, p: 0.1, skip_at_test: false}}\n" for k in range(6))
    loss = "  - {name: se, type: SquaredError, T: {generator: Normal}}\n"
    spec = nnspec.loads(HEAD + "  - {name: x, type: Input, size: [3]}\n" + chain + loss)
    reasons = unwritable_layers(spec)
    assert _said(to_text(_run(spec, "onnxruntime"), width=400)) == (
        f"engine onnxruntime, 7 layers on numpy (ONNX cannot hold them): 'd0', 'd1', 'd2', 'd3' and 2 more "
        f"(Dropout): {reasons['d0']}; 'se' (SquaredError): {reasons['se']}"
    )


def test_the_command_runs_the_fallback_and_exits_as_numpy_does(tmp_path, capsys):
    path = tmp_path / "applied.yaml"
    path.write_text(APPLIED)
    common = ["run", str(path), "--synthetic", "--samples", "8", "--batch-size", "3"]
    code = main([*common, "--engine", "onnxruntime"])
    out, err = capsys.readouterr()
    assert code == main(common)
    assert _said(out).startswith("engine onnxruntime, 2 layers on numpy (ONNX cannot hold them): 'd' (Dropout)")
    assert "Traceback" not in err


def test_a_float64_spec_is_refused_even_where_numpy_would_run_part_of_it(tmp_path, capsys):
    path = tmp_path / "double.yaml"
    path.write_text(APPLIED.replace("layers:\n", "dtype: float64\nlayers:\n"))
    assert main(["run", str(path), "--synthetic", "--engine", "onnxruntime"]) == 2
    err = capsys.readouterr().err
    assert "dtype is float64: run it with --engine numpy" in err and "Traceback" not in err


SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def _every_third_layer_on_numpy(spec, parameters, observed, variables):
    """The onnxruntime engine cut as if ONNX could not hold every third layer that computes something."""
    computing = [
        name
        for name in spec.order
        if not spec.layers[name].type.is_source and not spec.layers[name].props.get("skip_at_test")
    ]
    return MixedEngine(spec, parameters, observed, variables, dict.fromkeys(computing[1::3], "forced"))


@pytest.mark.parametrize("path", SPECS, ids=[path.stem for path in SPECS])
def test_every_example_spec_cut_into_pieces_runs_as_numpy_does(path):
    # ONNX holds every layer of the examples: the cut is forced, through repeats, recurrent loops, units,
    # side inputs and losses alike
    spec = nnspec.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        runner = nnspec.prepare(spec, engine=_every_third_layer_on_numpy)
        actual = runner.run(samples=8, batch_size=3, synthetic=True)
        expected = _run(spec, "numpy")
    assert len(runner.engine.pieces) >= 2
    for output, values in expected.outputs.items():
        scale = float(np.max(np.abs(values))) if values.size else 0.0
        np.testing.assert_allclose(actual.outputs[output], values, rtol=0, atol=RTOL * scale + FLOOR, err_msg=output)
    assert list(actual.stats) == list(expected.stats)
    layers = actual.spec.layers
    approximate = {
        name
        for name in layers
        if layers[name].type.name in ROUNDS_EARLIER
        or any(layers[source].type.name in ROUNDS_EARLIER for source in layers[name].inputs)
    }
    wrong = {
        name: fields
        for name in expected.stats
        if (fields := _differing(actual.stats[name].output, expected.stats[name].output, name not in approximate))
    }
    assert not wrong
    assert [(f.check, f.layer, f.severity) for f in actual.findings] == [
        (f.check, f.layer, f.severity) for f in expected.findings
    ]


def _random_graph(seed: int, size: int = 12) -> str:
    """A spec of ``size`` layers, each reading one or two earlier ones (or the Input) at random, each
    of a type kept on onnxruntime (Tanh, Add2) or numpy (CumProd, ATan2: :func:`_numpy_kinds`) at random."""
    rng = np.random.default_rng(seed)
    lines = [HEAD + "  - {name: x, type: Input, size: [4]}\n"]
    for k in range(size):
        earlier = ["x", *(f"l{j}" for j in range(k))]
        sources = list(rng.choice(earlier, size=min(len(earlier), 1 + int(rng.integers(2))), replace=False))
        kinds = (("Tanh", "CumProd, axis: 0") if len(sources) == 1 else ("Add2", "ATan2"))[int(rng.integers(2))]
        lines.append(f"  - {{name: l{k}, type: {kinds}, input: [{', '.join(sources)}]}}\n")
    return "".join(lines)


def _numpy_kinds(spec: nnspec.Spec) -> dict[str, str]:
    return {name: "forced" for name in spec.order if spec.layers[name].type.name in ("CumProd", "ATan2")}


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_cut_into_valid_alternating_pieces_that_run_as_numpy_does(seed):
    spec = nnspec.loads(_random_graph(seed))
    chosen = _numpy_kinds(spec)
    cut = pieces(spec, chosen)
    made: set[str] = set()
    for k, piece in enumerate(cut):
        assert k == 0 or piece.engine != cut[k - 1].engine  # a piece takes all it can: the next is the other
        assert all((name in chosen) == (piece.engine == NUMPY) for name in piece.layers)
        assert set(piece.reads) <= made  # what it reads from other pieces is made before it
        assert all(
            source in piece.reads or source in piece.layers or source == "x"
            for name in piece.layers
            for source in spec.layers[name].inputs
        )
        made.update(piece.layers)
    assert sorted(made) == sorted(name for name in spec.layers if name != "x")
    expected, actual = _run(spec, "numpy"), _run(spec, on_numpy(chosen))
    for output, values in expected.outputs.items():
        scale = float(np.max(np.abs(values)))
        np.testing.assert_allclose(actual.outputs[output], values, rtol=0, atol=RTOL * scale + FLOOR, err_msg=output)


def _fewest_pieces(spec: nnspec.Spec, chosen: dict[str, str]) -> int:
    """The fewest pieces any order of the layers needs, by search over every order (0-1 breadth-first:
    a layer of the current piece's engine costs nothing, one of the other engine opens a piece)."""
    names = [name for name in spec.order if name != "x"]
    bit = {name: 1 << k for k, name in enumerate(names)}
    needs = {name: sum(bit[s] for s in spec.layers[name].inputs if s in bit) for name in names}
    engine = {name: NUMPY if name in chosen else ONNX for name in names}
    best: dict[tuple[int, str], int] = {}
    frontier = [(1, 0, first) for first in (ONNX, NUMPY)]
    while frontier:
        frontier.sort()
        cost, done, current = frontier.pop(0)
        if best.get((done, current), cost + 1) <= cost:
            continue
        best[(done, current)] = cost
        if done == (1 << len(names)) - 1:
            return cost
        for name in names:
            if not done & bit[name] and needs[name] & done == needs[name]:
                switch = engine[name] != current
                frontier.append((cost + switch, done | bit[name], engine[name]))
    raise AssertionError("every layer can run")


@pytest.mark.parametrize("seed", range(20))
def test_the_cut_has_the_fewest_pieces_any_order_has(seed):
    spec = nnspec.loads(_random_graph(100 + seed, size=9))
    chosen = _numpy_kinds(spec)
    assert len(pieces(spec, chosen)) == _fewest_pieces(spec, chosen)
