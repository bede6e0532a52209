"""Findings that point at the cause: the gain of a normalization's stored statistics, the layer
where a wrong scale started (named by the findings downstream of it), a run of scale-drift along
a path grouped into one finding, and advice that fits drawn or loaded weights.

Every figure is checked against numpy on the whole tensor or a formula written out here:
nnabla's batch_normalization with stored statistics is (x - mean) * gamma / sqrt(var + eps) + beta.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import nnspec
from nnspec.checks.causes import SCALE_JUMP
from nnspec.checks.scale import overflow_range
from nnspec.cli import main
from nnspec.core.diagnostics import INFO, WARNING

from .conftest import ROOT, SPECS

EPSILON = 1e-4  # NNC's default for BatchNormalization
DIGITS = 5e-3  # messages give 3 significant digits


def make_spec(*layers: dict[str, Any], dtype: str = "float32") -> nnspec.Spec:
    return nnspec.loads(yaml.safe_dump({"nnspec": 1, "dtype": dtype, "layers": list(layers)}, sort_keys=False))


def write_spec(tmp_path: Path, *layers: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"nnspec": 1, "layers": list(layers)}, sort_keys=False), encoding="utf-8")
    return path


def numbers_after(text: str, marker: str) -> float:
    """The number that follows ``marker`` in a message."""
    match = re.search(re.escape(marker) + r"\s*([-+0-9.e]+)", text)
    assert match, f"{marker!r} not in {text!r}"
    return float(match.group(1).rstrip("."))


def findings(result: nnspec.RunResult, check: str) -> list[nnspec.Finding]:
    return [f for f in result.findings if f.check == check]


X = {"name": "x", "type": "Input", "size": [8]}
BN = {"name": "bn", "type": "BatchNormalization", "batch_stat": False}
DATA = np.random.default_rng(1).uniform(-1, 1, (64, 8))


def bn_params(spec: nnspec.Spec, gamma, var, mean=0.0, beta=0.0) -> dict[str, np.ndarray]:
    layer = spec.layers["bn"]
    values = {"gamma": gamma, "var": var, "mean": mean, "beta": beta}
    return {
        layer.parameter_key(name): np.broadcast_to(np.asarray(value, np.float64), shape).copy()
        for name, value in values.items()
        for shape in [layer.parameter_shapes[name]]
    }


# --- normalization-gain -----------------------------------------------------------------------


def test_untrained_statistics_are_reported_with_the_gain_worked_out_by_hand():
    spec = make_spec(X, BN)
    result = nnspec.run(spec, {"x": DATA})
    [finding] = findings(result, "normalization-gain")
    assert finding.layer == "bn" and finding.severity == WARNING
    assert numbers_after(finding.message, "by up to") == pytest.approx(1 / np.sqrt(0 + EPSILON), rel=DIGITS)
    assert "var 0 as NNC initialises it" in finding.message
    assert "in 8 of 8 channels" in finding.message and "train the network" in finding.message
    assert numbers_after(finding.message, "from its input's") == pytest.approx(DATA.std(), rel=DIGITS)
    # the output std the message gives, against numpy's of x * 100 (float32)
    expected = np.std((DATA.astype(np.float32) * np.float32(1 / np.sqrt(EPSILON))).astype(np.float64))
    assert numbers_after(finding.message, "its output std is") == pytest.approx(expected, rel=DIGITS)


def test_per_channel_gain_is_the_largest_gamma_over_root_var_plus_epsilon():
    spec = make_spec(X, BN)
    gamma = np.array([1.0, -3.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0])
    var = np.array([1.0, 0.01, 0.33, 1e-3, 0.33, 0.33, 0.33, 0.33])
    result = nnspec.run(spec, {"x": DATA}, params=bn_params(spec, gamma, var))
    [finding] = findings(result, "normalization-gain")
    stored_std = np.sqrt(var + EPSILON)
    gain = np.abs(gamma) / stored_std  # channels 1 (29.9) and 3 (30.2) above 10
    widened = DATA.std() / stored_std  # channel 3 only (17.4): channel 1's stored std 0.1 is about the data's
    assert numbers_after(finding.message, "by up to") == pytest.approx(gain.max(), rel=DIGITS)
    assert "in 1 of 8 channels" in finding.message and np.count_nonzero((gain > 10) & (widened > 10)) == 1
    assert "NNC initialises" not in finding.message  # var is not all 0
    assert "statistics were loaded (trained)" in finding.message  # --params: not an untrained layer


def test_a_trained_layer_whose_input_really_is_small_is_not_reported():
    """A large gain that brings tiny inputs towards gamma's spread is the layer doing its job
    (epsilon caps it at 100 here, so the output std stays 0.06)."""
    spec = make_spec(X, BN)
    small = DATA * 1e-3
    var = small.var(axis=0)  # the running variance training would leave: gain about 1700
    result = nnspec.run(spec, {"x": small}, params=bn_params(spec, 1.0, var, mean=small.mean(axis=0)))
    assert not findings(result, "normalization-gain")


def test_each_channel_is_judged_by_what_it_receives_not_by_the_whole_tensor():
    """Channel 0 receives values 100x smaller than the others, and its stored var is theirs:
    its gain of 87 brings them to gamma's spread. Against the whole tensor's std (0.55) it
    would look 48x too wide."""
    spec = make_spec(X, BN)
    x = DATA.copy()
    x[:, 0] *= 1e-2
    var = x.var(axis=0)
    result = nnspec.run(spec, {"x": x}, params=bn_params(spec, 1.0, var, mean=x.mean(axis=0)))
    assert 1 / np.sqrt(var[0] + EPSILON) > 10 and x.std() / np.sqrt(var[0] + EPSILON) > 10
    assert not findings(result, "normalization-gain")
    var[0] = 0.0  # now channel 0's stored std is 0.01: its inputs (std 0.0058) are not 10x that either
    var[1] = 0.0  # channel 1's inputs (std 0.58) are 58x its stored std
    result = nnspec.run(spec, {"x": x}, params=bn_params(spec, 1.0, var, mean=x.mean(axis=0)))
    [finding] = findings(result, "normalization-gain")
    assert "in 1 of 8 channels" in finding.message
    assert numbers_after(finding.message, "from the stored mean, up to") == pytest.approx(
        x[:, 1].std() / np.sqrt(EPSILON), rel=DIGITS
    )


def test_the_per_channel_measure_is_the_same_for_any_batching():
    spec = make_spec(X, BN)
    params = bn_params(spec, 1.0, np.array([1.0, 0.0, 0.33, 0.0, 0.33, 0.33, 0.33, 0.33]))
    whole = nnspec.run(spec, {"x": DATA}, params=params)
    [expected] = findings(whole, "normalization-gain")
    for batch_size in (1, 7, 50):
        batched = nnspec.run(spec, {"x": DATA}, params=params, batch_size=batch_size)
        assert findings(batched, "normalization-gain") == [expected]


def test_batch_statistics_are_not_judged_by_the_stored_ones():
    spec = make_spec(X, {**BN, "batch_stat": True})
    assert not findings(nnspec.run(spec, {"x": DATA}, training=True), "normalization-gain")
    # NNC's evaluation uses the stored statistics whatever batch_stat says: those are judged then
    assert findings(nnspec.run(spec, {"x": DATA}), "normalization-gain")


def test_validate_predicts_the_gain_from_the_parameters(tmp_path):
    path = write_spec(tmp_path, {**X, "generator": "Uniform"}, BN)
    [diagnostic] = [d for d in nnspec.validate(path) if d.code == "normalization-gain"]
    assert "multiplies its inputs by about 100" in diagnostic.message
    assert diagnostic.layer == "bn" and diagnostic.line is not None


def test_validate_with_stored_statistics_that_fit_predicts_nothing(tmp_path):
    var = {"initializer": "Constant", "multiplier": 1.0 / 3.0}  # the variance of U(-1, 1)
    path = write_spec(tmp_path, {**X, "generator": "Uniform"}, {**BN, "var": var})
    assert [d for d in nnspec.validate(path) if d.code == "normalization-gain"] == []


# --- the cause named downstream -----------------------------------------------------------------


def test_saturation_after_an_untrained_bn_names_it_with_numpys_std_ratio():
    spec = make_spec(X, BN, {"name": "t", "type": "Tanh"})
    result = nnspec.run(spec, {"x": DATA})
    [finding] = findings(result, "tanh-hard-saturation")
    x = DATA.astype(np.float32)
    scaled = (x * np.float32(1 / np.sqrt(EPSILON))).astype(np.float64)  # nnabla: (x - 0) * 1 / sqrt(0 + eps) + 0
    assert "by 'bn'" in finding.message
    assert numbers_after(finding.message, "scaled x") == pytest.approx(scaled.std() / x.std(), rel=DIGITS)
    assert "normalise the data or scale the layer before it" not in finding.message


def test_validate_names_the_bn_in_the_predicted_saturation(tmp_path):
    path = write_spec(tmp_path, {**X, "generator": "Uniform"}, BN, {"name": "t", "type": "Tanh"})
    [diagnostic] = [d for d in nnspec.validate(path) if d.code == "tanh-hard-saturation"]
    assert "by 'bn'" in diagnostic.message


def test_the_cause_is_looked_for_only_back_to_the_last_bounded_activation():
    """fc1 scales x10 before t1, fc2 x50 before t2: t2's inputs were made large by fc2, not fc1
    (t1 bounds what fc1 made)."""
    spec = make_spec(
        X,
        {"name": "fc1", "type": "Affine", "out_shape": 8},
        {"name": "t1", "type": "Tanh"},
        {"name": "fc2", "type": "Affine", "out_shape": 8},
        {"name": "t2", "type": "Tanh"},
    )
    params = {
        "fc1/affine/W": 10 * np.eye(8),
        "fc1/affine/b": np.zeros(8),
        "fc2/affine/W": 50 * np.eye(8),
        "fc2/affine/b": np.zeros(8),
    }
    result = nnspec.run(spec, {"x": DATA}, params=params)
    by_layer = {f.layer: f for f in findings(result, "tanh-hard-saturation")}
    t1 = np.tanh((DATA.astype(np.float32) * 10).astype(np.float32))
    assert "by 'fc2'" in by_layer["t2"].message
    assert numbers_after(by_layer["t2"].message, "scaled x") == pytest.approx((t1 * 50).std() / t1.std(), rel=DIGITS)


def test_data_out_of_range_keeps_the_generic_advice():
    """No layer jumped: the data itself is too large (input-range says so)."""
    spec = make_spec(X, {"name": "t", "type": "Tanh"})
    [finding] = findings(nnspec.run(spec, {"x": DATA * 100}), "tanh-hard-saturation")
    assert finding.message.endswith("(normalise the data or scale the layer before it)")


def test_a_jump_needs_more_than_scale_drifts_default_ratio():
    assert SCALE_JUMP == nnspec.checks.table.all_checks()["scale-drift"].threshold


# --- a run of scale-drift grouped -------------------------------------------------------------


def relu_stack(depth: int, width: int = 16) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = [{"name": "x", "type": "Input", "size": [width]}]
    for i in range(1, depth + 1):
        layers += [{"name": f"fc{i}", "type": "Affine", "out_shape": width}, {"name": f"r{i}", "type": "ReLU"}]
    return layers


def stack_params(depth: int, width: int, scale: float, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {}
    for i in range(1, depth + 1):
        params[f"fc{i}/affine/W"] = rng.normal(0, scale, (width, width))
        params[f"fc{i}/affine/b"] = np.zeros(width)
    return params


def numpy_stack(x: np.ndarray, params: dict[str, np.ndarray], depth: int) -> list[np.ndarray]:
    """Each Affine's output, in float32 as the run computes (o = x W + b, then ReLU)."""
    outputs, h = [], x.astype(np.float32)
    for i in range(1, depth + 1):
        h = h @ params[f"fc{i}/affine/W"].astype(np.float32) + params[f"fc{i}/affine/b"].astype(np.float32)
        outputs.append(h.astype(np.float64))
        h = np.maximum(h, 0)
    return outputs


@pytest.mark.parametrize(("depth", "scale", "severity"), [(6, 1.0, INFO), (16, 8.0, WARNING)])
def test_a_growing_stack_is_one_finding_with_numpys_figures(depth, scale, severity):
    width = 16
    x = np.random.default_rng(2).uniform(-1, 1, (200, width))
    params = stack_params(depth, width, scale)
    result = nnspec.run(make_spec(*relu_stack(depth, width)), {"x": x}, params=params)
    [finding] = findings(result, "scale-drift")
    outputs = numpy_stack(x, params, depth)
    per_layer = (outputs[-1].std() / x.astype(np.float32).std()) ** (1 / depth)
    received = [x, *(np.maximum(o, 0) for o in outputs[:-1])]  # what each Affine receives
    assert all(o.std() / i.std() > 2 for i, o in zip(received, outputs))  # each layer drifts on its own
    assert finding.layer == "fc1"  # where the growth starts
    assert finding.severity == severity
    assert numbers_after(finding.message, "std grows x") == pytest.approx(per_layer, rel=DIGITS)
    assert numbers_after(finding.message, "values up to") == pytest.approx(np.abs(outputs[-1]).max(), rel=DIGITS)
    assert ", ".join(f"fc{i}" for i in range(1, depth + 1)) in finding.message
    assert (np.abs(outputs[-1]).max() > overflow_range("float32")) == (severity == WARNING)
    assert "were loaded (trained)" in finding.message  # --params: the weights are not an initializer's


def test_runs_are_not_grouped_across_a_bounded_activation_or_a_change_of_direction():
    width = 16
    layers = relu_stack(2, width) + [
        {"name": "t", "type": "Tanh"},
        {"name": "fc3", "type": "Affine", "out_shape": width},
        {"name": "r3", "type": "ReLU"},
        {"name": "fc4", "type": "Affine", "out_shape": width},
    ]
    params = stack_params(2, width, 1.0)
    params |= {"fc3/affine/W": 3 * np.eye(width), "fc3/affine/b": np.zeros(width)}
    params |= {"fc4/affine/W": 0.01 * np.eye(width), "fc4/affine/b": np.zeros(width)}
    x = np.random.default_rng(3).uniform(-1, 1, (100, width))
    result = nnspec.run(make_spec(*layers), {"x": x}, params=params)
    # fc1..fc2 grow: one finding; fc3 follows the Tanh (not compared); fc4 shrinks on its own
    assert [f.layer for f in findings(result, "scale-drift")] == ["fc1", "fc4"]
    assert "over the 2 layers fc1, fc2" in findings(result, "scale-drift")[0].message


def test_drawn_weights_are_pointed_at_their_initializer():
    layers = relu_stack(3)
    for layer in layers[1::2]:
        layer["W"] = {"initializer": "Normal", "multiplier": 1.0}
    result = nnspec.run(make_spec(*layers), {"x": np.random.default_rng(4).uniform(-1, 1, (100, 16))})
    [finding] = findings(result, "scale-drift")
    assert finding.message.endswith("check the initializer's scale")


def test_overflow_range_is_where_squares_overflow():
    for dtype in (np.float32, np.float64):
        limit = overflow_range(np.dtype(dtype).name)
        with np.errstate(over="ignore"):
            assert np.isinf(dtype(limit * 1.001) ** 2) and np.isfinite(dtype(limit * 0.999) ** 2)


def test_the_grouped_finding_is_one_located_result_in_sarif_and_json(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["run", "specs/exploding_stack.yaml", "--format", "sarif"]) == 0  # a warning: exit 1 with --strict
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert (result["ruleId"], result["level"], result["properties"]["layer"]) == ("scale-drift", "warning", "fc1")
    spec = nnspec.load(SPECS / "exploding_stack.yaml")
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == spec.locate("fc1")[0]
    assert main(["run", "specs/exploding_stack.yaml", "--format", "json"]) == 0
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["layer"] == "fc1" and "fc20" in finding["message"]


@pytest.mark.parametrize(("head", "check"), [("Softmax", "softmax-overconfident"), ("Exp", "exp-overflow")])
def test_probability_and_exp_findings_name_the_layer_that_scaled_their_inputs(head, check):
    spec = make_spec(X, {"name": "fc", "type": "Affine", "out_shape": 8}, {"name": "h", "type": head})
    params = {"fc/affine/W": 400 * np.eye(8)[::-1], "fc/affine/b": np.zeros(8)}
    [finding] = findings(nnspec.run(spec, {"x": DATA}, params=params), check)
    x = DATA.astype(np.float32)
    logits = (x @ params["fc/affine/W"].astype(np.float32)).astype(np.float64)
    assert "by 'fc'" in finding.message and finding.message.endswith("fix the scale there")
    assert numbers_after(finding.message, "scaled x") == pytest.approx(logits.std() / x.std(), rel=DIGITS)
