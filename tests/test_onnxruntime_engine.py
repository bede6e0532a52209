"""``--engine onnxruntime`` (nnspec.runtime.onnxruntime_engine): every example spec the ONNX writer can
write runs on both engines with the same exit code, findings, statistics and outputs within float32's
tolerance; a layer the writer refuses is named; without onnxruntime, the install wording and exit 2.

numpy's engine is the reference here, itself held against hand formulas and nnabla's fixtures
elsewhere (tests/test_layers*.py, tests/test_nnabla*.py); onnxruntime computes the same network with
its own kernels, so agreement says both compute the spec's network.
"""

from __future__ import annotations

import builtins
import warnings
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.checks.stats import TensorStats
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError
from nnspec.runtime.onnxruntime_engine import OnnxRuntimeEngine
from nnspec.spec.onnx_writer import refuse_unwritable
from nnspec.spec.views import as_view

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

SPECS = sorted(Path(__file__).resolve().parent.parent.joinpath("specs").glob("*.yaml"))
RTOL = 1e-4  # float32 sums in another order, relative to the tensor's scale (its largest magnitude)
# plus float32's rounding of a value near 1: a loss -log(p) of p near 1 carries p's (1.2e-7) whatever its size
FLOOR = float(np.finfo(np.float32).eps)
# onnxruntime's Sigmoid, Tanh and Softmax are fast approximations that reach exactly 0, 1 or -1
# before numpy's formulas do (Tanh is exactly 1 from 8.10, numpy's from 10.0; Sigmoid from 15.84,
# nnspec's from 16.64; Softmax gives 0 for numpy's subnormals): at these layers (and those that take
# their output) the counts of exact zeros, subnormals and saturated values may differ, nothing else.
ROUNDS_EARLIER = {"Sigmoid", "Tanh", "Softmax", "SoftmaxCrossEntropy"}


def _writable(path: Path) -> bool:
    try:
        refuse_unwritable(as_view(nnspec.load(path), None))  # the view a run runs
    except UsageError:
        return False
    return True


WRITABLE = [path for path in SPECS if _writable(path)]


def _run(spec: nnspec.Spec, engine: str) -> nnspec.RunResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        return nnspec.run(spec, samples=8, batch_size=3, engine=engine)  # 3 batches, the last short


def _close(actual: float | None, expected: float | None, scale: float) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return abs(actual - expected) <= RTOL * scale + FLOOR


def _same_stats(actual: TensorStats, expected: TensorStats, exact_counts: bool) -> list[str]:
    """The fields where two engines' statistics of one tensor disagree (percentiles aside: they are
    estimated from values at positions in memory order, and the engines lay tensors out differently)."""
    scale = max(abs(expected.min or 0.0), abs(expected.max or 0.0))
    wrong = [
        name
        for name in ("count", "nan", "posinf", "neginf", "varies")
        if getattr(actual, name) != getattr(expected, name)
    ]
    if exact_counts:
        wrong += [name for name in ("zeros", "subnormal") if getattr(actual, name) != getattr(expected, name)]
    return wrong + [
        name
        for name in ("min", "max", "mean", "std")
        if not _close(getattr(actual, name), getattr(expected, name), scale)
    ]


def test_every_example_spec_is_written_and_so_runs_on_onnxruntime():
    assert WRITABLE == SPECS, [path.name for path in SPECS if path not in WRITABLE]


@pytest.mark.parametrize("path", WRITABLE, ids=[path.stem for path in WRITABLE])
def test_both_engines_give_the_same_outputs_statistics_and_findings(path):
    spec = nnspec.load(path)
    expected, actual = _run(spec, "numpy"), _run(spec, "onnxruntime")
    assert actual.outputs.keys() == expected.outputs.keys()
    for name, values in expected.outputs.items():
        scale = float(np.max(np.abs(values))) if values.size else 0.0
        np.testing.assert_allclose(actual.outputs[name], values, rtol=0, atol=RTOL * scale + FLOOR, err_msg=name)
    approximate = {
        name
        for name in actual.spec.order
        if actual.spec.layers[name].type.name in ROUNDS_EARLIER
        or any(actual.spec.layers[source].type.name in ROUNDS_EARLIER for source in actual.spec.layers[name].inputs)
    }
    assert actual.stats.keys() == expected.stats.keys()
    wrong = {
        name: fields
        for name in expected.stats
        if (fields := _same_stats(actual.stats[name].output, expected.stats[name].output, name not in approximate))
    }
    assert not wrong
    # The same checks fire at the same layers with the same severity; the words too, but for the
    # counts of exactly saturated values at the layers that round earlier.
    assert [(f.check, f.layer, f.severity) for f in actual.findings] == [
        (f.check, f.layer, f.severity) for f in expected.findings
    ]
    assert [f.message for f in actual.findings if f.layer not in approximate] == [
        f.message for f in expected.findings if f.layer not in approximate
    ]


@pytest.mark.parametrize("path", WRITABLE[::4], ids=[path.stem for path in WRITABLE[::4]])
def test_the_command_exits_as_numpy_does(path, capsys):
    codes = [main(["run", str(path), "--samples", "8", "-q", "--engine", name]) for name in ("numpy", "onnxruntime")]
    capsys.readouterr()
    assert codes[0] == codes[1]
    assert main(["run", str(path), "--samples", "8", "-q", "--strict", "--engine", "onnxruntime"]) == main(
        ["run", str(path), "--samples", "8", "-q", "--strict"]
    )


def test_the_engine_observes_each_layer_with_its_inputs_in_numpys_order():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: a, type: Tanh}\n"
        "  - {name: b, type: Sigmoid, input: x}\n  - {name: s, type: Add2, input: [a, b]}\n"
    )
    runner = nnspec.prepare(spec, engine="onnxruntime")
    x = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]], np.float32)
    shown: list[tuple[str, list[np.ndarray], np.ndarray]] = []
    outputs = runner.engine.batch({"x": x}, lambda layer, args, out: shown.append((layer.name, args, out)))
    assert [name for name, _, _ in shown] == ["x", "a", "b", "s"]
    a, b = np.tanh(x.astype(np.float64)), 1 / (1 + np.exp(-x.astype(np.float64)))
    (_, (x_in,), x_out), (_, (a_in,), a_out), (_, (b_in,), b_out), (_, (s_a, s_b), s_out) = shown
    np.testing.assert_array_equal(x_in, x)
    np.testing.assert_array_equal(x_out, x)
    np.testing.assert_array_equal(a_in, x)
    np.testing.assert_array_equal(b_in, x)
    np.testing.assert_allclose(a_out, a, rtol=1e-5)
    np.testing.assert_allclose(b_out, b, rtol=1e-5)
    np.testing.assert_allclose(s_a, a, rtol=1e-5)
    np.testing.assert_allclose(s_b, b, rtol=1e-5)
    np.testing.assert_allclose(s_out, a + b, rtol=1e-5)
    np.testing.assert_allclose(outputs["s"], a + b, rtol=1e-5)
    assert list(outputs) == ["s"]


REFUSED = (
    "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 8, 8]}\n"
    "  - {name: p, type: Dropout, skip_at_test: false}\n"
)


def test_a_layer_the_writer_refuses_is_named_and_runs_on_numpy(tmp_path, capsys):
    # The engine class alone refuses it, naming it; --engine onnxruntime runs it on numpy and says so
    # (nnspec.runtime.mixed: tests/test_onnxruntime_fallback.py)
    spec = nnspec.loads(REFUSED)
    with pytest.raises(UsageError, match=r"'p' \(Dropout\): applied in this view"):
        nnspec.prepare(spec, engine=OnnxRuntimeEngine)
    assert list(nnspec.prepare(spec, engine="onnxruntime").numpy_layers) == ["p"]
    path = tmp_path / "refused.yaml"
    path.write_text(REFUSED)
    assert main(["run", str(path), "--synthetic", "--engine", "onnxruntime"]) == 0
    out, err = capsys.readouterr()
    said = out.replace("\n  ", " ")  # the engine's line, wrapped at 80 columns
    assert "1 layer on numpy (ONNX cannot hold it): 'p' (Dropout): applied in this view" in said and not err


def test_a_float64_spec_is_refused(tmp_path, capsys):
    path = tmp_path / "double.yaml"
    layers = "  - {name: x, type: Input, size: [3]}\n  - {name: t, type: Tanh}\n"
    path.write_text("nnspec: 1\ndtype: float64\nlayers:\n" + layers)
    assert main(["run", str(path), "--synthetic", "--engine", "onnxruntime"]) == 2
    assert "float64" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime"])
def test_without_the_extra_the_command_says_how_to_install_it(missing, monkeypatch, capsys):
    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name == missing or name.startswith(missing + "."):
            raise ImportError(f"No module named {missing!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    assert main(["run", str(SPECS[0]), "--engine", "onnxruntime"]) == 2
    out, err = capsys.readouterr()
    assert f"--engine onnxruntime needs the {missing} package: pip install onnx onnxruntime" in err
    assert "Traceback" not in err
    assert main(["run", str(SPECS[0]), "-q"]) == 0  # numpy's engine needs neither


def test_an_unknown_engine_name_is_a_usage_error(capsys):
    with pytest.raises(UsageError, match="unknown engine 'torch'"):
        nnspec.prepare(nnspec.load(SPECS[0]), engine="torch")
    with pytest.raises(SystemExit) as stopped:
        main(["run", str(SPECS[0]), "--engine", "torch"])
    assert stopped.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_batch_onnxruntime_cannot_run_is_a_usage_error_not_a_traceback(tmp_path, capsys):
    # numpy's Embed gives NaN for a class index past the last (a finding); onnxruntime's Gather refuses it
    path = tmp_path / "embed.yaml"
    path.write_text(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1]}\n  - {name: e, type: Embed, num_class: 3}\n"
    )
    data = tmp_path / "x.npy"
    np.save(data, np.array([[1.0], [5.0]], np.float32))
    assert main(["run", str(path), "--input", f"x={data}", "-q"]) == 1  # numpy's: the nan-inf error
    capsys.readouterr()
    assert main(["run", str(path), "--input", f"x={data}", "-q", "--engine", "onnxruntime"]) == 2
    err = capsys.readouterr().err
    assert "onnxruntime could not run a batch" in err and "Name:'e'" in err and "out of data bounds" in err
    assert "Traceback" not in err and "[ONNXRuntimeError]" not in err


# --- segments and pipelining (nnspec.runtime.onnxruntime_engine's module text) -----------------------

SEGMENTED = ["bn_residual", "mlp_branches", "squeezenet_fire", "vae_side_inputs"]


def _stats_fields(stats: TensorStats) -> tuple:
    return tuple(
        value.tobytes() if isinstance(value, np.ndarray) else value
        for value in (
            *(getattr(stats, name) for name in ("count", "nan", "zeros", "subnormal", "min", "max")),
            stats.mean,
            stats.std,
            stats.histogram,
            stats.varies,
        )
    )


@pytest.mark.parametrize("name", SEGMENTED)
def test_with_and_without_the_thread_the_run_is_the_same_to_the_bit(name, monkeypatch):
    from nnspec.runtime import onnxruntime_engine

    monkeypatch.setattr(onnxruntime_engine, "SEGMENTS", 100)  # a segment a layer: the most hand-overs
    monkeypatch.setattr(onnxruntime_engine, "SEGMENTED_VALUES", 0)  # every batch in segments
    spec = nnspec.load(SPECS[0].parent / f"{name}.yaml")
    results = []
    for pipelined in (False, True):
        runner = nnspec.prepare(spec, engine="onnxruntime")
        assert len(runner.engine.segments) > 2
        runner.engine.pipelined = pipelined
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nnspec.RangeWarning)
            results.append(runner.run(samples=20, batch_size=6, synthetic=True))  # 4 batches, the last short
    unthreaded, threaded = results
    for output, values in unthreaded.outputs.items():
        np.testing.assert_array_equal(threaded.outputs[output], values)
    assert {layer: _stats_fields(s.output) for layer, s in threaded.stats.items()} == {
        layer: _stats_fields(s.output) for layer, s in unthreaded.stats.items()
    }
    assert [f.message for f in threaded.findings] == [f.message for f in unthreaded.findings]


@pytest.mark.parametrize("pipelined", [False, True])
def test_a_layer_cut_from_its_inputs_is_shown_them_and_each_value_goes_after_its_last_reader(pipelined, monkeypatch):
    import weakref

    from nnspec.runtime import onnxruntime_engine

    monkeypatch.setattr(onnxruntime_engine, "SEGMENTS", 100)
    monkeypatch.setattr(onnxruntime_engine, "SEGMENTED_VALUES", 0)
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: a, type: Tanh}\n"
        "  - {name: r, type: ReLU}\n  - {name: b, type: Sigmoid}\n  - {name: s, type: Add2, input: [a, b]}\n"
        "  - {name: t, type: Tanh}\n"
    )
    runner = nnspec.prepare(spec, engine="onnxruntime")
    runner.engine.pipelined = pipelined
    # a layer a segment: a, r, b, s and t each in their own, every value handed over between sessions
    assert [segment.outputs for segment in runner.engine.segments] == [("a",), ("r",), ("b",), ("s",), ("t",)]
    x = np.array([[0.5, -1.0, 2.0, -3.0], [0.0, 3.0, -0.25, 1.5]], np.float32)
    seen: dict[str, list] = {}
    alive_at_t: dict[str, bool] = {}

    def observe(layer, args, output):
        seen[layer.name] = [np.array(arg) for arg in args]
        refs[layer.name] = weakref.ref(output)
        if layer.name == "t":
            alive_at_t.update({name: ref() is not None for name, ref in refs.items()})

    refs: dict[str, weakref.ref] = {}
    outputs = runner.engine.batch({"x": x}, observe)
    a = np.tanh(x.astype(np.float64))
    r = np.maximum(a, 0)
    b = 1 / (1 + np.exp(-r))
    np.testing.assert_allclose(seen["r"][0], a, rtol=1e-5)  # ReLU's dead-units measure reads its input
    np.testing.assert_allclose(seen["b"][0], r, rtol=1e-5)
    np.testing.assert_allclose(seen["s"][0], a, rtol=1e-5)  # a, read again by s three segments later
    np.testing.assert_allclose(seen["s"][1], b, rtol=1e-5)
    np.testing.assert_allclose(outputs["t"], np.tanh(a + b), rtol=1e-5)
    # when t is shown, a, r and b (read by r, b and s, all shown) are gone; s (t's input), t and the
    # caller's data remain
    assert alive_at_t == {"x": True, "a": False, "r": False, "b": False, "s": True, "t": True}


def test_segments_are_cut_only_between_layers(monkeypatch):
    """Interpolate computes its output shape from its input (Shape, Slice, Concat): those helper
    tensors never cross from one segment to another, only layers' values and the data do."""
    from nnspec.runtime import onnxruntime_engine

    monkeypatch.setattr(onnxruntime_engine, "SEGMENTS", 100)
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2, 4, 4]}\n  - {name: a, type: Tanh}\n"
        "  - {name: up, type: Interpolate, output_size: [8, 8]}\n  - {name: t, type: Tanh}\n"
    )
    runner = nnspec.prepare(spec, engine="onnxruntime")
    crossing = {name for segment in runner.engine.segments for name in segment.inputs}
    assert crossing <= {"x", "a", "up", "t"} and len(runner.engine.segments) == 3
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4)).astype(np.float32)
    expected = nnspec.prepare(spec).run({"x": x}).outputs["t"]
    np.testing.assert_allclose(runner.run({"x": x}).outputs["t"], expected, rtol=1e-5, atol=1e-6)


def test_a_batch_the_thread_cannot_run_is_the_same_usage_error(monkeypatch, tmp_path):
    from nnspec.runtime import onnxruntime_engine

    monkeypatch.setattr(onnxruntime_engine, "SEGMENTED_VALUES", 0)  # every batch in segments
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1]}\n  - {name: t, type: Tanh}\n"
        "  - {name: e, type: Embed, num_class: 3, input: x}\n  - {name: s, type: Sigmoid}\n"
    )
    runner = nnspec.prepare(spec, engine="onnxruntime")
    runner.engine.pipelined = True  # through the thread
    assert len(runner.engine.segments) > 1
    with pytest.raises(UsageError, match="onnxruntime could not run a batch: .*out of data bounds"):
        runner.run({"x": np.array([[1.0], [5.0]], np.float32)})
    assert runner.run({"x": np.array([[1.0], [2.0]], np.float32)}).samples == 2  # and the engine runs on


def test_small_batches_run_one_session_and_large_ones_the_segments(monkeypatch):
    from nnspec.runtime import onnxruntime_engine

    monkeypatch.setattr(onnxruntime_engine, "SEGMENTED_VALUES", 4 * 12)  # 12 values a sample: from 4 samples on
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: a, type: Tanh}\n"
        "  - {name: b, type: Sigmoid}\n  - {name: c, type: Tanh}\n"
    )
    runner = nnspec.prepare(spec, engine="onnxruntime")
    engine = runner.engine
    assert len(engine.segments) == 3 and len(engine._whole) == 1
    calls: list[str] = []
    for label, segment in [("whole", engine._whole[0]), *(("segment", s) for s in engine.segments)]:
        real = segment.session.run
        monkeypatch.setattr(
            segment.session, "run", lambda *args, real=real, label=label: calls.append(label) or real(*args)
        )
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    small = runner.run({"x": x[:3]})
    assert calls == ["whole"]
    large = runner.run({"x": x})
    assert calls == ["whole", "segment", "segment", "segment"]
    np.testing.assert_allclose(small.outputs["c"], large.outputs["c"][:3], rtol=1e-6)
    np.testing.assert_allclose(large.outputs["c"], np.tanh(1 / (1 + np.exp(-np.tanh(x)))), rtol=1e-5)
    assert large.stats["b"].output.count == 15 and small.stats["b"].output.count == 9


def test_an_observer_that_fails_mid_batch_stops_the_thread(monkeypatch):
    import threading

    from nnspec.runtime import onnxruntime_engine

    monkeypatch.setattr(onnxruntime_engine, "SEGMENTS", 100)
    monkeypatch.setattr(onnxruntime_engine, "SEGMENTED_VALUES", 0)
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        + "".join(f"  - {{name: t{k}, type: Tanh}}\n" for k in range(6))
    )
    runner = nnspec.prepare(spec, engine="onnxruntime")
    runner.engine.pipelined = True
    x = np.ones((2, 3), np.float32)

    def observe(layer, args, output):
        if layer.name == "t1":
            raise KeyboardInterrupt  # Ctrl-C while the thread computes the next segments

    with pytest.raises(KeyboardInterrupt):
        runner.engine.batch({"x": x}, observe)
    assert not [thread for thread in threading.enumerate() if thread.name == "nnspec-onnxruntime"]
    np.testing.assert_allclose(
        runner.engine.batch({"x": x}, None)["t5"], np.tanh(np.tanh(np.tanh(np.tanh(np.tanh(np.tanh(x)))))), rtol=1e-5
    )


@pytest.mark.parametrize("path", WRITABLE, ids=[path.stem for path in WRITABLE])
def test_every_example_spec_in_segments_gives_the_findings_of_one_session(path, monkeypatch):
    from nnspec.runtime import onnxruntime_engine

    spec = nnspec.load(path)
    whole = _run(spec, "onnxruntime")
    monkeypatch.setattr(onnxruntime_engine, "SEGMENTED_VALUES", 0)
    segmented = _run(spec, "onnxruntime")
    for name, values in whole.outputs.items():
        scale = float(np.max(np.abs(values))) if values.size else 0.0
        np.testing.assert_allclose(segmented.outputs[name], values, rtol=0, atol=RTOL * scale + FLOOR, err_msg=name)
    assert not {
        name: fields
        for name in whole.stats
        if (fields := _same_stats(segmented.stats[name].output, whole.stats[name].output, exact_counts=False))
    }
    assert [(f.check, f.layer, f.severity) for f in segmented.findings] == [
        (f.check, f.layer, f.severity) for f in whole.findings
    ]
