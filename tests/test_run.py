"""Running specs: data sources, parameter files, batches, outputs and the range findings."""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.checks.stats import TensorStats
from nnspec.core.diagnostics import SpecError, UsageError

from .conftest import SPECS

MLP = """
nnspec: 1
seed: 3
layers:
  - {name: x, type: Input, size: [6]}
  - {name: fc1, type: Affine, out_shape: 5}
  - {name: h, type: Tanh}
  - {name: fc2, type: Affine, out_shape: 3}
  - {name: p, type: Softmax}
"""


def mlp_params(rng):
    return {
        "fc1/affine/W": rng.normal(0, 0.5, (6, 5)),
        "fc1/affine/b": rng.normal(0, 0.1, (5,)),
        "fc2/affine/W": rng.normal(0, 0.5, (5, 3)),
        "fc2/affine/b": rng.normal(0, 0.1, (3,)),
    }


def by_hand(x, p):
    """The same MLP written out in float64: o = softmax(W2 tanh(W1 x + b1) + b2)."""
    h = np.tanh(x @ p["fc1/affine/W"] + p["fc1/affine/b"])
    z = h @ p["fc2/affine/W"] + p["fc2/affine/b"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_mlp_with_nnabla_named_parameter_file_matches_a_hand_computation(tmp_path):
    rng = np.random.default_rng(0)
    params = mlp_params(rng)
    np.savez(tmp_path / "params.npz", **params)
    x = rng.uniform(-1, 1, (7, 6))
    result = nnspec.run(nnspec.loads(MLP), {"x": x}, params=tmp_path / "params.npz")
    assert result.outputs["p"].dtype == np.float32
    np.testing.assert_allclose(result.outputs["p"], by_hand(x, params), atol=1e-5)
    assert not result.findings


def test_parameter_file_missing_a_key_names_layer_parameter_and_shape(tmp_path):
    params = mlp_params(np.random.default_rng(0))
    del params["fc2/affine/b"]
    with pytest.raises(SpecError) as caught:
        nnspec.run(nnspec.loads(MLP), {"x": np.zeros((1, 6))}, params=params)
    [d] = caught.value.diagnostics
    assert "fc2/affine/b" in d.message and "'fc2' (Affine)" in d.message and "(3,)" in d.message
    assert d.line == 8  # where fc2 is written (the text starts with a blank line)


def test_parameter_file_with_a_wrong_shape_gives_both_shapes():
    params = mlp_params(np.random.default_rng(0))
    params["fc1/affine/W"] = np.zeros((5, 6))
    with pytest.raises(SpecError) as caught:
        nnspec.run(nnspec.loads(MLP), {"x": np.zeros((1, 6))}, params=params)
    [d] = caught.value.diagnostics
    assert "fc1/affine/W" in d.message and "(5, 6)" in d.message and "(6, 5)" in d.message


def test_unused_parameters_are_a_warning():
    params = mlp_params(np.random.default_rng(0))
    params["fc9/affine/W"] = np.zeros((2, 2))
    result = nnspec.run(nnspec.loads(MLP), {"x": np.zeros((1, 6))}, params=params)
    assert [n.code for n in result.notes] == ["unused-parameter"]
    assert "fc9/affine/W" in result.notes[0].message


def test_shared_parameter_scope_shares_parameters():
    spec = nnspec.loads(
        """
nnspec: 1
layers:
  - {name: x, type: Input, size: [4]}
  - {name: a, type: Affine, out_shape: 4, parameter_scope: shared}
  - {name: b, type: Affine, out_shape: 4, parameter_scope: shared}
"""
    )
    result = nnspec.run(spec, {"x": np.eye(4)})
    assert result.layer_parameters["a"]["W"] is result.layer_parameters["b"]["W"]
    assert sorted(result.parameters) == ["shared/affine/W", "shared/affine/b"]  # one entry per shared array
    W = result.parameters["shared/affine/W"].astype(np.float64)
    np.testing.assert_allclose(result.outputs["b"], W @ W, rtol=1e-5, atol=1e-6)


def test_batches_give_the_same_outputs_and_statistics_as_one_batch():
    spec = nnspec.loads(MLP)
    x = np.random.default_rng(1).normal(0, 3, (1000, 6))
    whole = nnspec.run(spec, {"x": x})
    batched = nnspec.run(spec, {"x": x}, batch_size=64)
    np.testing.assert_array_equal(whole.outputs["p"], batched.outputs["p"])
    for name in spec.layers:
        a, b = whole.stats[name].output, batched.stats[name].output
        assert (a.count, a.min, a.max, a.zeros) == (b.count, b.min, b.max, b.zeros)
        np.testing.assert_array_equal(a.histogram, b.histogram)  # the same sampled positions in any batching
        assert whole.stats[name].measures.keys() == batched.stats[name].measures.keys()
        assert a.mean == pytest.approx(b.mean, rel=1e-9, abs=1e-12)  # summed in float64
        # squared deviations are summed in float32 (BLAS): about 1e-7 per term, ~sqrt(n) terms
        assert a.std == pytest.approx(b.std, rel=1e-5)


def test_merged_statistics_equal_numpy_on_the_whole_array():
    values = np.random.default_rng(2).normal(5, 2, 10_001)
    parts = np.array_split(values, 7)
    merged = TensorStats.of(parts[0])
    for part in parts[1:]:
        merged = merged.merge(TensorStats.of(part))
    assert merged.count == values.size
    assert merged.mean == pytest.approx(values.mean(), rel=1e-12)
    assert merged.std == pytest.approx(values.std(), rel=1e-12)
    assert (merged.min, merged.max) == (values.min(), values.max())


def test_statistics_count_nan_and_inf_apart_from_the_finite_values():
    s = TensorStats.of(np.array([1.0, np.nan, np.inf, -np.inf, 3.0, 0.0]))
    assert (s.count, s.nan, s.posinf, s.neginf, s.zeros) == (6, 1, 1, 1, 1)
    assert (s.min, s.max, s.mean) == (0.0, 3.0, pytest.approx(4 / 3))


def test_seed_demo_findings():
    result = nnspec.run(nnspec.load(SPECS / "seed_activations.yaml"))
    found = {(f.layer, f.check, f.severity) for f in result.findings}
    assert found == {
        ("x", "input-range", "warning"),
        ("tanh", "tanh-hard-saturation", "warning"),
        ("sigmoid", "sigmoid-hard-saturation", "warning"),
    }
    messages = {f.check: f.message for f in result.findings}
    assert "x / 255" in messages["input-range"]
    assert "8 of 9 outputs" in messages["tanh-hard-saturation"]
    assert "i >= 10" in messages["tanh-hard-saturation"]
    assert "6 of 9 outputs" in messages["sigmoid-hard-saturation"]


def test_soft_saturation_without_pinned_outputs():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: t, type: Tanh}\n")
    result = nnspec.run(spec, {"x": [[3.0, -4.0, 5.0, 0.5]]})
    assert [(f.check, f.layer) for f in result.findings if f.layer == "t"] == [("tanh-saturation", "t")]
    assert "3 of 4 inputs" in result.findings[-1].message


def test_dead_relu_layer_is_an_error_and_a_partly_negative_one_is_fine():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: r, type: ReLU}\n")
    dead = nnspec.run(spec, {"x": [[-0.5, -0.1, 0.0]]})
    assert [(f.check, f.severity) for f in dead.findings] == [("relu-dead-layer", "error")]
    assert not nnspec.run(spec, {"x": [[-0.5, 0.1, 0.0]]}).findings


def test_nan_is_reported_at_the_layer_that_produced_it():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "  - {name: fc, type: Affine, out_shape: 2}\n  - {name: t, type: Tanh}\n"
    )
    params = {"fc/affine/W": np.array([[3e38, 0.0], [3e38, 0.0]]), "fc/affine/b": np.zeros(2)}
    result = nnspec.run(spec, {"x": [[1.0, 1.0]]}, params=params)
    [finding] = [f for f in result.findings if f.check == "nan-inf"]
    assert finding.layer == "fc" and "+Inf" in finding.message


def test_generators_are_deterministic_and_scaled():
    text = (
        "nnspec: 1\nseed: {seed}\nlayers:\n"
        "  - {{name: x, type: Input, size: [50], generator: Normal, generator_multiplier: 2.0}}\n"
    )
    a = nnspec.run(nnspec.loads(text.format(seed=1)), samples=40).outputs["x"]
    b = nnspec.run(nnspec.loads(text.format(seed=1)), samples=40).outputs["x"]
    c = nnspec.run(nnspec.loads(text.format(seed=2)), samples=40).outputs["x"]
    assert a.shape == (40, 50)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.std() == pytest.approx(2.0, rel=0.05)  # 2000 draws: the std's relative error is about 1.6%


def test_range_and_constant_generators():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n"
        "  - {name: r, type: Input, size: [5], generator: Range, generator_multiplier: 10}\n"
        "  - {name: c, type: Input, size: [2], generator: Constant, generator_multiplier: 0.5}\n"
    )
    out = nnspec.run(spec, samples=2).outputs
    np.testing.assert_array_equal(out["r"], [[-10, -5, 0, 5, 10]] * 2)
    np.testing.assert_array_equal(out["c"], [[0.5, 0.5]] * 2)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv"])
def test_input_files(tmp_path, suffix):
    x = np.arange(12, dtype=np.float64).reshape(4, 3) / 10
    path = tmp_path / f"x{suffix}"
    if suffix == ".npy":
        np.save(path, x)
    elif suffix == ".npz":
        np.savez(path, x=x)
    else:
        np.savetxt(path, x, delimiter=",")
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: i, type: Identity}\n")
    out = nnspec.run(spec, input_files={"x": path}).outputs["i"]
    np.testing.assert_allclose(out, x.astype(np.float32))


def test_data_problems_are_usage_errors_that_say_what_is_wrong(tmp_path):
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n")
    with pytest.raises(UsageError, match=r"no data for 'x' \(Input\)"):
        nnspec.run(spec)
    with pytest.raises(UsageError, match=r"expects samples of shape \(3,\)"):
        nnspec.run(spec, {"x": np.zeros((2, 4))})
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,five,6\n")
    with pytest.raises(UsageError, match=r"bad.csv:2:2: not a number: 'five'"):
        nnspec.run(spec, input_files={"x": bad})
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,3\n4,5\n")
    with pytest.raises(UsageError, match=r"ragged.csv:2: has 2 values"):
        nnspec.run(spec, input_files={"x": ragged})
    with pytest.raises(UsageError, match="no layer reads data variable"):
        nnspec.run(spec, {"y": np.zeros((1, 3))})
    with pytest.raises(UsageError, match="file not found"):
        nnspec.run(spec, input_files={"x": tmp_path / "missing.npy"})


def test_pickled_npy_is_refused(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1]}\n")
    with pytest.raises(
        UsageError, match="objects.npy: holds Python objects .an object array., which nnspec never unpickles"
    ):
        nnspec.run(spec, input_files={"x": path})


def test_float64_spec_runs_in_float64():
    spec = nnspec.loads(
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [1]}\n  - {name: t, type: Tanh}\n"
    )
    out = nnspec.run(spec, {"x": [[10.0]]}).outputs["t"]
    assert out.dtype == np.float64 and out[0, 0] < 1.0  # float64 tanh(10) is not yet exactly 1


def test_data_outside_the_declared_range_is_a_warning():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2], range: [0, 0.5]}\n")
    assert not nnspec.run(spec, {"x": [[0.0, 0.5]]}).findings
    [finding] = nnspec.run(spec, {"x": [[0.0, 0.75]]}).findings
    assert (
        finding.check == "declared-range"
        and "0..0.75" in finding.message
        and "0..0.5 the spec declares" in finding.message
    )


def test_data_with_no_samples_is_a_usage_error():
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n")
    with pytest.raises(UsageError, match="no samples"):
        nnspec.run(spec, {"x": np.zeros((0, 3))})


def test_a_run_too_big_for_the_memory_limit_stops_before_allocating():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1000], generator: Normal}\n"
        "  - {name: fc, type: Affine, out_shape: [1000, 1000]}\n"
    )
    # W alone is 1000 x 10^6 float32 values (4 GB), drawn in float64 first: 12 GB
    with pytest.raises(UsageError, match=r"needs about 11\.2 GiB \(parameters 11\.2 GiB.*--max-memory"):
        nnspec.run(spec, samples=1, max_memory=2**30)


def test_a_limit_below_the_parameters_reports_the_whole_runs_estimate_as_a_larger_limit_does(capsys):
    """Issue 18: --max-memory 1M said 14.0 MiB, --max-memory 1 said 520.6 KiB (the parameters alone)."""
    from nnspec.cli import main

    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [100], generator: Normal}\n"
        "  - {name: fc, type: Affine, out_shape: 1000}\n  - {name: out, type: Affine, out_shape: 10}\n"
    )
    # by hand: W and b of both layers, drawn in float64 (8 bytes) and kept in float32 (4)
    parameters = (100 * 1000 + 1000 + 1000 * 10 + 10) * (8 + 4)
    # 100 samples in one batch: every layer's output in float32 plus float64 copies of the largest (fc)
    activations = 100 * ((100 + 1000 + 10) * 4 + 1000 * 16)
    generated = 100 * 100 * (48 + 4)  # a Normal draw's float64 workspace, then float32
    outputs = 100 * 10 * 4
    messages = set()
    for limit in (1, 2**10, parameters - 1, parameters + 1):
        with pytest.raises(UsageError) as raised:
            nnspec.run(spec, max_memory=limit)
        messages.add(str(raised.value).split(", more than")[0])
    assert messages == {
        "this run needs about 3.7 MiB (parameters 1.3 MiB, generated data 507.8 KiB, activations 1.9 MiB, "
        "outputs 3.9 KiB)"
    }
    # the same figures, by hand
    assert [round(parameters / 2**20, 1), round(generated / 2**10, 1), round(activations / 2**20, 1)] == [
        1.3,
        507.8,
        1.9,
    ]
    assert round((parameters + activations + generated + outputs) / 2**20, 1) == 3.7
    with pytest.raises(UsageError, match="its parameters alone need more than that"):
        nnspec.run(spec, max_memory=parameters - 1)
    with pytest.raises(UsageError, match="use a smaller --batch-size"):
        nnspec.run(spec, max_memory=parameters + 1)
    # prepare knows no data: it says what it checked, the parameters, and nothing of a run
    with pytest.raises(UsageError, match=r"^its parameters need about 1\.3 MiB, more than the memory limit of 1 B"):
        nnspec.prepare(spec, max_memory=1)
    lenet = str(SPECS / "lenet.yaml")
    said = []
    for limit in ("1", "1K", "1M"):
        assert main(["run", lenet, "--max-memory", limit]) == 2
        said.append(capsys.readouterr().err.split(", more than")[0])
    assert said[0] == said[1] == said[2] and "activations" in said[0]


def test_the_report_gives_the_loss_and_the_error_rate_over_all_samples():
    from nnspec.report.results import scores, to_text

    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: p, type: Input, size: [2]}\n"
        "  - {name: loss, type: SquaredError, T: {dataset: t}}\n"
        "  - {name: err, type: BinaryError, input: p, T: {dataset: t}}\n"
    )
    p = np.array([[0.9, 0.2], [0.4, 0.6], [0.1, 0.8]])
    t = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    result = nnspec.run(spec, {"p": p, "t": t}, batch_size=2)
    found = scores(result)
    assert found["loss"]["kind"] == "loss"
    assert found["loss"]["value"] == pytest.approx(np.mean((p - t) ** 2), rel=1e-6)
    # BinaryError: 1 where (p >= 0.5) != (t >= 0.5): the pairs (0.4, 1) and (0.8, 0) of six
    assert found["err"] == {"kind": "error rate", "value": pytest.approx(2 / 6)}
    assert "err   error rate 33.33% (BinaryError)" in to_text(result)


def test_a_negative_multiplier_of_a_random_initializer_scales_as_its_size():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [200]}\n"
        "  - {name: fc, type: Affine, out_shape: 300, W: {initializer: Normal, multiplier: -2.0}}\n"
    )
    W = nnspec.run(spec, {"x": np.zeros((1, 200))}).layer_parameters["fc"]["W"]
    assert W.std() == pytest.approx(2.0, rel=0.02)  # 60,000 draws: the std's sampling error is about 0.3%


def test_parameters_saved_by_nnabla_name_repeat_a_run_exactly(tmp_path):
    spec = nnspec.loads(MLP)
    x = np.random.default_rng(5).uniform(-1, 1, (4, 6))
    first = nnspec.run(spec, {"x": x})
    saved = first.parameters
    assert sorted(saved) == ["fc1/affine/W", "fc1/affine/b", "fc2/affine/W", "fc2/affine/b"]
    np.savez(tmp_path / "p.npz", **saved)
    other_seed = nnspec.loads(MLP.replace("seed: 3", "seed: 4"))
    again = nnspec.run(other_seed, {"x": x}, params=tmp_path / "p.npz")
    np.testing.assert_array_equal(again.outputs["p"], first.outputs["p"])


def test_a_failure_in_the_statistics_reaches_the_caller(monkeypatch):
    import nnspec.checks.table

    def broken(*args, **kwargs):
        raise RuntimeError("statistics broke")

    monkeypatch.setattr(nnspec.checks.table, "stats_of_many", broken)  # what the runner's observer calls
    with pytest.raises(RuntimeError, match="statistics broke"):
        nnspec.run(nnspec.load(SPECS / "mlp_branches.yaml"), samples=10)
