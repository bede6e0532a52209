"""Static analysis: range findings predicted from the spec alone, checked against real runs."""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates
from nnspec.validation import predicted

from .conftest import SPECS

RAW_PIXELS = """
nnspec: 1
layers:
  - {{name: x, type: Input, size: [784], range: [{low}, {high}]}}
  - {{name: fc, type: Affine, out_shape: 100}}
  - {{name: t, type: Tanh}}
"""


def codes(spec) -> set[tuple[str, str]]:
    return {(d.code, d.layer) for d in predicted(spec)}


def test_raw_pixels_into_tanh_are_flagged_before_any_data_exists():
    assert codes(nnspec.loads(RAW_PIXELS.format(low=0, high=255))) == {
        ("input-range", "x"),
        ("tanh-hard-saturation", "t"),
    }


def test_the_normalised_network_is_quiet():
    assert codes(nnspec.loads(RAW_PIXELS.format(low=-1, high=1))) == set()
    assert codes(nnspec.loads(RAW_PIXELS.format(low=0, high=1))) == set()


def test_estimates_follow_a_real_run():
    """The estimates (no data) against the statistics of a run of 2000 generated samples."""
    spec = nnspec.load(SPECS / "mlp_branches.yaml")
    guessed = estimates(spec)
    real = nnspec.run(spec, samples=2000).stats
    for name in ("fc1", "tanh1", "fc2", "relu2", "join", "fc3", "probs"):
        # Independent inputs are assumed: 15% on the spread. The estimate treats weights as
        # random, while a run has one draw of them: its output mean over n units wanders by
        # about std / sqrt(n) from the estimate (n = 10 for fc3), so 0.5 std on the mean.
        assert guessed[name].std == pytest.approx(real[name].output.std, rel=0.15), name
        assert guessed[name].mean == pytest.approx(real[name].output.mean, abs=0.5 * real[name].output.std), name


def test_a_bias_that_kills_a_relu_is_predicted():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [16]}\n"
        "  - {name: fc, type: Affine, out_shape: 8, b: {initializer: Constant, multiplier: -20}}\n"
        "  - {name: r, type: ReLU}\n"
    )
    assert codes(spec) == {("relu-dead-layer", "r")}
    [warning] = predicted(spec)
    assert warning.severity == "warning"  # a prediction warns; only a run proves a layer dead


def test_exp_overflow_and_overconfident_softmax_are_predicted():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [16], generator: Uniform}\n"
        "  - {name: fc, type: Affine, out_shape: 10, W: {initializer: Normal, multiplier: 100}}\n"
        "  - {name: p, type: Softmax}\n  - {name: e, type: Exp, input: fc}\n"
    )
    assert codes(spec) == {("softmax-overconfident", "p"), ("exp-overflow", "e")}
    result = nnspec.run(spec, samples=200)  # and a run agrees
    assert {(f.check, f.layer) for f in result.findings} >= {("softmax-overconfident", "p"), ("exp-overflow", "e")}


def test_parameters_from_files_are_taken_as_they_are(tmp_path):
    np.save(tmp_path / "W.npy", np.full((4, 2), 5.0))
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4], range: [0.5, 1]}\n"
        "  - {name: fc, type: Affine, out_shape: 2, W: {file: W.npy}}\n  - {name: s, type: Sigmoid}\n"
    )
    spec = nnspec.load(spec_path)
    assert estimates(spec)["fc"].mean == pytest.approx(4 * 0.75 * 5.0)  # sum of 4 inputs averaging 0.75, times 5
    assert ("sigmoid-saturation", "s") in codes(spec) or ("sigmoid-hard-saturation", "s") in codes(spec)


def test_check_settings_apply_to_predictions():
    spec = nnspec.loads(RAW_PIXELS.format(low=0, high=255))
    assert {d.code for d in predicted(spec, {"input-range": "off"})} == {"tanh-hard-saturation"}
    assert {d.severity for d in predicted(spec, {"input-range": "info"})} == {"info", "warning"}
