"""Range checks: every check made to fire and made not to, just either side of its threshold;
check settings and their precedence; statistics merged across batches; percentiles and
subnormals; RangeWarning for library users.

Tests marked xfail(strict=True) state what a user would want where nnspec does something
else today; each reason says what happens instead.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.special
import yaml

import nnspec
from nnspec.checks import measures
from nnspec.checks.check import FIRM_UNIT_SAMPLES, UNIT_SAMPLES, pin_limits
from nnspec.checks.measures import merge_by_prefix
from nnspec.checks.stats import TensorStats
from nnspec.checks.table import all_checks
from nnspec.core.diagnostics import UsageError
from nnspec.runtime.runner import RangeWarning
from nnspec.validation import predicted

from .conftest import SPECS

F32 = np.float32

# --- helpers -------------------------------------------------------------------------------------


def make_spec(*layers: dict[str, Any], dtype: str = "float32", checks: dict[str, Any] | None = None) -> nnspec.Spec:
    """A spec of these layers (each chained to the one before unless it says ``input``)."""
    doc: dict[str, Any] = {"nnspec": 1, "dtype": dtype}
    if checks is not None:
        doc["checks"] = checks
    doc["layers"] = [dict(layer) for layer in layers]
    return nnspec.loads(yaml.safe_dump(doc, sort_keys=False))


def inp(size: int, **props: Any) -> dict[str, Any]:
    return {"name": "x", "type": "Input", "size": [size], **props}


def layer(name: str, type_: str, **props: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **props}


def affine(out: int, name: str = "fc") -> dict[str, Any]:
    return layer(name, "Affine", out_shape=out)


def affine_params(W: Any, b: Any, name: str = "fc") -> dict[str, np.ndarray]:
    return {f"{name}/affine/W": np.asarray(W, dtype=np.float64), f"{name}/affine/b": np.asarray(b, dtype=np.float64)}


def run(spec: nnspec.Spec, x: Any, **kwargs: Any) -> nnspec.RunResult:
    return nnspec.run(spec, {"x": np.asarray(x, dtype=np.float64)}, **kwargs)


def found(result: nnspec.RunResult, check: str, where: str | None = None) -> list[nnspec.Finding]:
    return [f for f in result.findings if f.check == check and (where is None or f.layer == where)]


def only(result: nnspec.RunResult, check: str, where: str) -> nnspec.Finding:
    """The one finding of ``check`` at layer ``where`` (and no finding of it elsewhere)."""
    findings = found(result, check)
    assert [f.layer for f in findings] == [where], [f.message for f in result.findings]
    return findings[0]


def row_with(n: int, value: float, count: int, rest: float = 0.0) -> np.ndarray:
    """One sample of ``n`` values: ``count`` of them ``value``, the others ``rest``."""
    x = np.full((1, n), rest)
    x[0, :count] = value
    return x


def test_the_table_holds_the_checks_these_tests_cover():
    assert list(all_checks()) == [
        "nan-inf",
        "input-range",
        "declared-range",
        "tanh-hard-saturation",
        "tanh-saturation",
        "sigmoid-hard-saturation",
        "sigmoid-saturation",
        "softsign-hard-saturation",
        "softsign-saturation",
        "relu-dead-layer",
        "relu-dead-units",
        "relu6-dead-layer",
        "relu6-dead-units",
        "division-by-zero",
        "pow-domain",
        "log-domain",
        "exp-overflow",
        "softmax-overconfident",
        "bce-input-range",
        "quantize-clipping",
        "batch-dependent",
        "scale-drift",
        "normalization-gain",
        "constant-output",
    ]
    assert set(SCENARIOS) == set(all_checks())


# --- 1. each check, either side of its threshold ------------------------------------------------------

# quantize-clipping and batch-dependent


@pytest.mark.parametrize(
    "quantizer, props, x, clipped",
    [
        # levels -1.5..1.5: the levels themselves are not clipped, what lies past them is
        ("FixedPointQuantize", {"n": 3, "delta": 0.5}, [1.5, -1.5, 1.5001, -1.6], 2),
        ("FixedPointQuantize", {"sign": False, "n": 2, "delta": 0.5}, [-0.1, 0.2, 1.5, 1.6], 2),  # levels 0..1.5
        ("Pow2Quantize", {"m": 0}, [1.0, -1.0, 1.4, -3.0], 2),  # levels -1..1: 1.4 rounds to 1 and is clipped
        ("Pow2Quantize", {"sign": False, "m": 2}, [-0.5, 4.0, 5.0, 3.0], 2),  # unsigned: negatives become 0
    ],
)
def test_quantize_clipping_counts_the_inputs_beyond_the_levels_exactly(quantizer, props, x, clipped):
    spec = make_spec(inp(4), layer("q", quantizer, **props), checks={"quantize-clipping": 0.0})
    finding = only(run(spec, [x]), "quantize-clipping", "q")
    assert finding.message.startswith(f"'q' ({quantizer}): {clipped} of 4 inputs")


def test_quantize_clipping_reads_min_max_quantize_range_from_its_parameters():
    """The range is /r../R as loaded (here -1..1 in 8 levels: nudged to -1.0..1.0), not the default -6..6."""
    spec = make_spec(inp(4), layer("q", "MinMaxQuantize"))
    params = {f"/{n}": np.array([v]) for n, v in zip("rRlL", (-1.0, 1.0, 0.0, 8.0))}
    finding = only(run(spec, [[3.0, -2.0, 5.0, 0.5]], params=params), "quantize-clipping", "q")
    assert "3 of 4 inputs (75%) lie outside its levels -1..1" in finding.message
    assert "widen its range (r, R)" in finding.message
    assert not found(run(spec, [[3.0, -2.0, 5.0, 0.5]]), "quantize-clipping")  # NNC's default range -6..6


def test_quantize_clipping_is_predicted_from_the_spec():
    spec = make_spec(inp(100, generator="Normal", generator_multiplier=4.0), layer("q", "FixedPointQuantize", n=4))
    [warning] = [d for d in predicted(spec) if d.code == "quantize-clipping"]
    assert "would lie outside its levels -0.4375..0.4375" in warning.message  # (2^3 - 1) / 16


def test_quantizers_get_no_scale_drift_advice_about_initializers():
    spec = make_spec(inp(4), layer("q", "MinMaxQuantize"))
    assert all_checks()["scale-drift"].applies(spec.layers["q"].type) is False


def test_batch_dependent_is_said_for_batches_of_several_samples_only():
    spec = make_spec(inp(3), layer("p", "Prune", rate=0.5))
    x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    finding = only(run(spec, x), "batch-dependent", "p")
    assert finding.severity == "info" and "(batches of up to 2 samples here)" in finding.message
    assert not found(run(spec, x, batch_size=1), "batch-dependent")


# nan-inf


def test_nan_inf_in_the_data_is_reported_at_the_input_and_not_again_downstream():
    spec = make_spec(inp(2), layer("t", "Tanh"))
    result = run(spec, [[np.nan, 0.5], [np.inf, -np.inf]])
    finding = only(result, "nan-inf", "x")
    assert finding.severity == "error"
    assert "holds 1 NaN, 1 +Inf, 1 -Inf values as float32" in finding.message


def test_data_beyond_float32_max_becomes_inf_and_float32_max_does_not():
    spec = make_spec(inp(2))
    largest = run(spec, [[float(np.finfo(F32).max), -0.5]])
    assert [f.check for f in largest.findings] == ["input-range"]
    finding = only(run(spec, [[3.5e38, -0.5]]), "nan-inf", "x")
    assert "holds 1 +Inf value as float32 (whose largest value is 3.4e+38)" in finding.message


@pytest.mark.parametrize(("w", "fires"), [(1.7e38, False), (1.71e38, True)])
def test_nan_inf_is_reported_at_the_affine_that_overflowed(w, fires):
    # 1 * w + 1 * w: 3.4e38 is still below float32's max (3.4028e38), 3.42e38 is not
    spec = make_spec(inp(2), affine(2), layer("t", "Tanh"))
    result = run(spec, [[1.0, 1.0]], params=affine_params([[w, 0.0], [w, 0.0]], [0.0, 0.0]))
    if not fires:
        assert not found(result, "nan-inf")
        return
    finding = only(result, "nan-inf", "fc")  # not at t, which inherits the Inf
    assert finding.severity == "error"
    assert "'fc' (Affine) produced 1 +Inf value from finite inputs (x: 1..1)" in finding.message


# input-range


@pytest.mark.parametrize("x", [[1.0, -1.0, 0.0], [0.999, -0.5, 0.25], [0.0, 0.0, 0.0]])
def test_input_range_is_quiet_for_data_within_minus_one_to_one(x):
    assert not run(make_spec(inp(3)), [x]).findings


@pytest.mark.parametrize("x", [[3.01, 3.01, 0.5], [-3.01, 0.5, -3.01]])
def test_input_range_fires_when_the_bulk_passes_three(x):
    finding = only(run(make_spec(inp(3)), [x]), "input-range", "x")
    assert finding.severity == "warning"
    assert "beyond -3..3: outside NNC's rule that inputs lie in about -1..1" in finding.message


@pytest.mark.parametrize("x", [[3.0, 0.0, 0.5], [-3.0, 0.5, 0.0], [1.0001, 0.0, 0.5]])
def test_input_range_is_quiet_up_to_three(x):
    assert not found(run(make_spec(inp(3)), [x]), "input-range")


def test_input_range_hints_the_scaling_for_0_to_255_and_for_minus_255_to_255():
    finding = only(run(make_spec(inp(3)), [[0.0, 255.0, 3.0]]), "input-range", "x")
    assert "spans 0..255" in finding.message
    assert "x / 127.5 - 1 maps 0..255 onto -1..1" in finding.message
    assert "x / 255 onto 0..1" in finding.message
    finding = only(run(make_spec(inp(3)), [[-255.0, 255.0, 3.0]]), "input-range", "x")
    assert "spans -255..255" in finding.message and "x / 255 brings it into -1..1" in finding.message


def bulk_in(message: str) -> tuple[float, float]:
    low, high = re.search(r"its bulk \(1st\.\.99th percentile\) (\S+)\.\.(\S+?),", message).groups()
    return float(low), float(high)


def test_standardised_data_passes_though_its_extremes_pass_three():
    x = np.random.default_rng(1).standard_normal((2000, 8))  # as generator: Normal gives it
    assert np.abs(x).max() > 3.5 and np.abs(np.percentile(x, [1, 99])).max() < 2.4  # the premise, by numpy
    assert not run(make_spec(inp(8)), x).findings


def test_raw_pixels_warn_with_their_bulk_as_numpy_has_it():
    x = np.random.default_rng(2).integers(0, 256, (500, 16)).astype(np.float64)
    finding = only(run(make_spec(inp(16)), x), "input-range", "x")
    low, high = bulk_in(finding.message)
    exact_low, exact_high = np.percentile(x.astype(F32), [1, 99])
    assert within_a_bin(low, exact_low) and within_a_bin(high, exact_high), (low, high, exact_low, exact_high)
    assert "x / 127.5 - 1 maps 0..255 onto -1..1" in finding.message  # one common scale: image-style


def test_data_far_from_zero_for_its_spread_is_standardised_as_a_whole():
    x = np.random.default_rng(3).normal(500, 20, (1000, 3))
    finding = only(run(make_spec(inp(3)), x), "input-range", "x")
    hint = re.search(r"\(x - (\S+)\) / (\S+) standardises it", finding.message)
    assert hint, finding.message
    assert float(hint.group(1)) == pytest.approx(x.mean(), rel=1e-3)
    assert float(hint.group(2)) == pytest.approx(x.std(), rel=1e-3)


def sensors(samples: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(4)
    return np.stack([rng.normal(500, 20, samples), rng.normal(0.5, 0.1, samples)], axis=1)


def figures(message: str) -> list[tuple[str, float, float]]:
    return [
        (feature, float(mean), float(std))
        for feature, mean, std in re.findall(r"feature (\S+): \(x - (\S+)\) / ([^;)]+)", message)
    ]


def test_features_on_different_scales_get_per_feature_standardisation_with_numpys_figures():
    x = sensors()
    finding = only(run(make_spec(inp(2)), x), "input-range", "x")
    assert "standardise each feature, (x - mean) / std" in finding.message
    assert "x / " not in finding.message  # no image-style scaling for two sensors
    exact = x.astype(F32).astype(np.float64)
    for feature, mean, std in figures(finding.message):
        i = int(feature)
        assert mean == pytest.approx(exact[:, i].mean(), rel=1e-3), feature
        assert std == pytest.approx(exact[:, i].std(), rel=1e-3), feature
    assert {f for f, _, _ in figures(finding.message)} == {"0", "1"}


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_per_feature_advice_is_the_same_for_any_batching(batch_size):
    spec = make_spec(inp(2))
    whole = only(run(spec, sensors()), "input-range", "x").message
    batched = only(run(spec, sensors(), batch_size=batch_size), "input-range", "x").message
    assert batched == whole


def test_features_at_different_levels_with_equal_spreads_are_told_apart_too():
    rng = np.random.default_rng(5)
    x = np.stack([rng.normal(100, 1, 500), rng.normal(0, 1, 500)], axis=1)  # x / 100 would flatten feature 1
    finding = only(run(make_spec(inp(2)), x), "input-range", "x")
    assert "standardise each feature" in finding.message


def test_image_pixels_keep_the_image_style_hint_though_some_pixels_are_always_dark():
    """Digits 8x8 at 0..16 (the spec's own images, unscaled): border pixels are 0 on every image,
    others vary; one common scale is right."""
    rng = np.random.default_rng(6)
    images = np.zeros((300, 1, 8, 8))
    images[:, :, 1:7, 1:7] = rng.integers(0, 17, (300, 1, 6, 6))
    images[:, :, 2:6, 2:6] = np.clip(images[:, :, 2:6, 2:6] * 2, 0, 16)
    spec = make_spec({"name": "x", "type": "Input", "size": [1, 8, 8]})
    finding = only(run(spec, images), "input-range", "x")
    assert "x / 8 - 1 maps 0..16 onto -1..1" in finding.message, finding.message


def test_input_range_threshold_is_compared_in_the_dtype_of_the_data():
    assert not found(run(make_spec(inp(3)), [[0.3, 0.0, -0.1]], checks={"input-range": 0.3}), "input-range")


# declared-range


@pytest.mark.parametrize("x", [[0.0, 0.5], [0.25, 0.25]])
def test_declared_range_is_quiet_within_and_at_its_bounds(x):
    assert not run(make_spec(inp(2, range=[0, 0.5])), [x]).findings


@pytest.mark.parametrize(("x", "span"), [([0.5001, 0.0], "0..0.5001"), ([-0.0001, 0.5], "-0.0001..0.5")])
def test_declared_range_fires_just_outside_either_bound(x, span):
    finding = only(run(make_spec(inp(2, range=[0, 0.5])), [x]), "declared-range", "x")
    assert finding.severity == "warning"
    assert f"spans {span}, outside the range 0..0.5 the spec declares" in finding.message


def test_declared_range_holds_data_equal_to_a_decimal_bound():
    assert not run(make_spec(inp(2, range=[0, 0.1])), [[0.1, 0.0]]).findings


# tanh-hard-saturation


def test_float32_tanh_is_exactly_one_from_ten():
    below = np.nextafter(F32(10), F32(0))
    assert np.tanh(below) < 1 and np.tanh(F32(10)) == 1 and np.tanh(F32(-10)) == -1
    low, high = pin_limits("Tanh", "float32")
    assert F32(high) == F32(10) and F32(low) == F32(-10)
    low, high = pin_limits("Tanh", "float64")
    assert 18.99 < high < 19.0 and np.tanh(high) == 1 and np.tanh(18.99) < 1 and low == -high


@pytest.mark.parametrize(
    ("count", "value", "fires"),
    [
        (1, 10.0, False),  # 1% pinned: not above the 1% threshold
        (2, 10.0, True),
        (2, -10.0, True),
        (2, float(np.nextafter(F32(10), F32(0))), False),  # 9.999999: tanh is 0.99999994
        (100, float(np.nextafter(F32(10), F32(0))), False),  # past 2.65 but not pinned: the soft check's job
    ],
)
def test_tanh_hard_saturation_either_side_of_one_percent_and_of_ten(count, value, fires):
    result = run(make_spec(inp(100), layer("t", "Tanh")), row_with(100, value, count))
    if not fires:
        assert not found(result, "tanh-hard-saturation")
        return
    finding = only(result, "tanh-hard-saturation", "t")
    assert finding.severity == "warning"
    assert f"{count} of 100 outputs (2%) are exactly -1 or 1 (saturated)" in finding.message
    assert "float32 tanh is exactly -1 for i <= -10 and exactly 1 for i >= 10" in finding.message
    assert not found(result, "tanh-saturation")


@pytest.mark.parametrize(("value", "fires"), [(18.99, False), (19.0, True)])
def test_float64_tanh_hard_saturation_starts_near_19(value, fires):
    result = run(make_spec(inp(100), layer("t", "Tanh"), dtype="float64"), row_with(100, value, 2))
    assert [f.layer for f in found(result, "tanh-hard-saturation")] == (["t"] if fires else [])
    if fires:
        assert "2 of 100 outputs (2%)" in result.findings[-1].message
        low, high = printed_limits(result.findings[-1].message)
        # the printed limits are where float64 tanh really is pinned, within 1e-3 of the boundary
        assert (np.tanh(low), np.tanh(high)) == (-1.0, 1.0)
        assert np.tanh(high - 1e-3) < 1.0 and np.tanh(low + 1e-3) > -1.0


@pytest.mark.parametrize("samples", [UNIT_SAMPLES - 1, UNIT_SAMPLES])
def test_hard_saturation_names_always_pinned_units_only_with_enough_samples(samples):
    x = np.zeros((samples, 4))
    x[:, 0] = 20.0  # unit 0 is pinned on every sample: 25% of the outputs
    x[:, 1] = np.linspace(-1, 1, samples)
    finding = only(run(make_spec(inp(4), layer("t", "Tanh")), x), "tanh-hard-saturation", "t")
    assert f"{samples} of {4 * samples} outputs (25%)" in finding.message
    note = re.search(r"1 of its 4 units (is|are) pinned on every one of (\d+) samples", finding.message)
    assert (note is not None) == (samples >= UNIT_SAMPLES)
    assert note is None or note.group(2) == str(samples)


# tanh-saturation


@pytest.mark.parametrize(("count", "value"), [(50, 2.66), (50, -2.66), (60, 2.65), (60, -2.65)])
def test_tanh_saturation_is_quiet_at_half_beyond_2_65_and_at_2_65_itself(count, value):
    result = run(make_spec(inp(100), layer("t", "Tanh")), row_with(100, value, count))
    assert not found(result, "tanh-saturation") and not found(result, "tanh-hard-saturation")


@pytest.mark.parametrize("value", [2.66, -2.66, 9.99])
def test_tanh_saturation_fires_at_51_percent_beyond_2_65(value):
    result = run(make_spec(inp(100), layer("t", "Tanh")), row_with(100, value, 51))
    finding = only(result, "tanh-saturation", "t")
    assert finding.severity == "warning"
    assert "51 of 100 inputs (51%) lie outside -2.65..2.65" in finding.message


def test_tanh_saturation_is_quiet_for_inputs_inside_its_well_behaved_range():
    result = run(make_spec(inp(100), layer("t", "Tanh")), np.linspace(1.5, 2.5, 100)[None])
    assert not found(result, "tanh-saturation")


# sigmoid-hard-saturation


def test_float32_sigmoid_is_exactly_one_from_16_64_and_zero_from_minus_88_73():
    low, high = pin_limits("Sigmoid", "float32")
    assert 16.63 < high < 16.64 and -88.73 < low < -88.72
    low, high = pin_limits("Sigmoid", "float64")
    assert 36.73 < high < 36.74 and -709.79 < low < -709.78


@pytest.mark.parametrize(
    ("count", "value", "dtype", "fires"),
    [
        (1, 16.64, "float32", False),  # 1%: not above the threshold
        (2, 16.64, "float32", True),
        (2, 16.63, "float32", False),
        (2, -88.72, "float32", False),  # 2.9e-39: subnormal, not 0
        (2, -88.73, "float32", True),
        (2, 36.73, "float64", False),
        (2, 36.74, "float64", True),
        (2, -709.78, "float64", False),
        (2, -709.79, "float64", True),
    ],
)
def test_sigmoid_hard_saturation_either_side_of_the_dtype_limits(count, value, dtype, fires):
    result = run(make_spec(inp(100), layer("s", "Sigmoid"), dtype=dtype), row_with(100, value, count))
    if not fires:
        assert not found(result, "sigmoid-hard-saturation")
        return
    finding = only(result, "sigmoid-hard-saturation", "s")
    assert finding.severity == "warning"
    assert "2 of 100 outputs (2%) are exactly 0 or 1 (saturated)" in finding.message
    assert f"{dtype} sigmoid is exactly 0 for i <=" in finding.message


def test_sigmoid_hard_saturation_message_gives_the_limits_the_reference_gives():
    result = run(make_spec(inp(100), layer("s", "Sigmoid")), row_with(100, 20.0, 2))
    low, high = printed_limits(only(result, "sigmoid-hard-saturation", "s").message)
    # range-checks.md: float32 sigmoid is exactly 1 from 16.64 and exactly 0 below -88.72
    assert round(high, 2) == 16.64 and round(low, 2) == -88.72
    expit = scipy.special.expit  # the reference: pinned at the printed limits, not just inside them
    assert expit(np.float32(high)) == 1 and expit(np.float32(low)) == 0
    assert expit(np.float32(high - 1e-3)) < 1 and expit(np.float32(low + 1e-3)) > 0


def printed_limits(message: str) -> tuple[float, float]:
    """The limits in '... is exactly A for i <= LOW and exactly B for i >= HIGH ...'."""
    match = re.search(r"for i <= (\S+) and exactly \S+ for i >= ([^,\s]+),", message)
    assert match, message
    return float(match.group(1)), float(match.group(2))


# sigmoid-saturation


@pytest.mark.parametrize(("count", "fires"), [(50, False), (51, True)])
def test_sigmoid_saturation_either_side_of_half_beyond_4_6(count, fires):
    result = run(make_spec(inp(100), layer("s", "Sigmoid")), row_with(100, 4.61, count, rest=-0.5))
    if not fires:
        assert not found(result, "sigmoid-saturation")
        return
    finding = only(result, "sigmoid-saturation", "s")
    assert finding.severity == "warning"
    assert "51 of 100 inputs (51%) lie outside -4.6..4.6" in finding.message


@pytest.mark.parametrize(
    ("value", "stuck"),
    [(2.94, None), (-2.94, None), (2.95, "0.9503, within 0.05 of a bound: the layer is stuck near 1")],
)
def test_sigmoid_saturation_fires_when_the_mean_output_passes_0_95_or_0_05(value, stuck):
    # sigmoid(2.9444) = 0.95; one sample, so constant-output has nothing to say
    result = run(make_spec(inp(4), layer("s", "Sigmoid")), np.full((1, 4), value))
    if stuck is None:
        assert not found(result, "sigmoid-saturation")
    else:
        assert stuck in only(result, "sigmoid-saturation", "s").message
    low = run(make_spec(inp(4), layer("s", "Sigmoid")), np.full((1, 4), -2.95))
    assert "average 0.04974, within 0.05 of a bound: the layer is stuck near 0" in low.findings[-1].message


# relu-dead-layer


def test_relu_dead_layer_is_an_error_when_every_input_is_at_most_zero():
    result = run(make_spec(inp(3), layer("r", "ReLU")), [[-0.5, -0.1, 0.0]])
    finding = only(result, "relu-dead-layer", "r")
    assert finding.severity == "error"
    assert "all 3 inputs are <= 0 (largest 0)" in finding.message


def test_relu_dead_layer_is_quiet_with_one_input_just_above_zero():
    result = run(make_spec(inp(3), layer("r", "ReLU")), [[-0.5, 1e-45, 0.0]])  # float32's smallest subnormal
    assert result.outputs["r"][0, 1] > 0
    assert not result.findings


# relu-dead-units


def dead_relu(units: int, dead: int, samples: int) -> nnspec.RunResult:
    """x (2 values, 0.1..1) -> fc (W: 1 from x0 to every unit; b: -10 on ``dead`` units) -> ReLU."""
    W = np.zeros((2, units))
    W[0] = 1.0
    b = np.zeros(units)
    b[:dead] = -10.0
    x = np.random.default_rng(units + dead + samples).uniform(0.1, 1, (samples, 2))
    spec = make_spec(inp(2), affine(units), layer("r", "ReLU"))
    return run(spec, x, params=affine_params(W, b))


@pytest.mark.parametrize(
    ("units", "dead", "samples", "message"),
    [
        (10, 1, FIRM_UNIT_SAMPLES, f"1 of its 10 units (10%) gave 0 for all {FIRM_UNIT_SAMPLES} samples"),
        (10, 9, FIRM_UNIT_SAMPLES, f"9 of its 10 units (90%) gave 0 for all {FIRM_UNIT_SAMPLES} samples"),
        (11, 1, FIRM_UNIT_SAMPLES, None),  # 9%: below 10%
        (10, 0, 50, None),
    ],
)
def test_relu_dead_units_at_ten_percent_of_units(units, dead, samples, message):
    result = dead_relu(units, dead, samples)
    if message is None:
        assert not found(result, "relu-dead-units")
        return
    finding = only(result, "relu-dead-units", "r")
    assert finding.severity == "warning"
    assert message in finding.message and "possibly" not in finding.message
    assert not found(result, "relu-dead-layer")


def test_the_firm_sample_count_is_where_a_unit_alive_on_one_sample_in_a_hundred_looks_dead_under_one_percent():
    assert 0.99**FIRM_UNIT_SAMPLES < 0.01 <= 0.99 ** (FIRM_UNIT_SAMPLES - 1)


@pytest.mark.parametrize("samples", [UNIT_SAMPLES, 100, FIRM_UNIT_SAMPLES - 1])
def test_dead_units_on_fewer_samples_are_possibly_dead_at_info_with_the_sample_count(samples):
    finding = only(dead_relu(10, 3, samples), "relu-dead-units", "r")
    assert finding.severity == "info"
    assert f"possibly dead units: 3 of its 10 units (30%) gave 0 for all {samples} samples" in finding.message
    # the chance that a unit positive on 1% of samples gives 0 on all of them, as numpy has it
    assert f"with probability {100 * 0.99**samples:.0f}%" in finding.message


def test_a_unit_positive_on_a_few_samples_is_not_dead():
    """Unit 0 is positive on 2 of 500 samples: alive, whatever 100 of those samples would have said."""
    x = np.full((500, 2), 0.5)
    x[[17, 300], 0] = 2.0
    W = np.array([[1.0, 1.0], [0.0, 0.0]])
    result = run(make_spec(inp(2), affine(2), layer("r", "ReLU")), x, params=affine_params(W, [-1.5, 0.0]))
    assert np.count_nonzero(result.outputs["r"][:, 0] > 0) == 2  # the premise
    assert not found(result, "relu-dead-units")


@pytest.mark.parametrize("samples", [2, UNIT_SAMPLES - 1])
def test_too_few_samples_for_per_unit_checks_is_said_once_for_the_run(samples):
    x = np.random.default_rng(0).uniform(0.1, 1, (samples, 2))
    spec = make_spec(inp(2), affine(4), layer("r1", "ReLU"), affine(4, "fc2"), layer("r2", "ReLU6"))
    result = run(spec, x)
    notes = [f for f in result.findings if f.check.endswith("-dead-units")]
    assert [(f.layer, f.severity) for f in notes] == [("r1", "info")]
    assert f"need at least {UNIT_SAMPLES} samples" in notes[0].message and f"this run has {samples}" in notes[0].message


def test_one_sample_is_an_example_and_gets_no_per_unit_note():
    result = run(make_spec(inp(2), affine(4), layer("r", "ReLU")), [[0.5, 0.5]])
    assert not [f for f in result.findings if f.check.endswith("-dead-units")]


def test_every_unit_dead_is_the_dead_layer_error_not_dead_units():
    result = dead_relu(10, 10, UNIT_SAMPLES)
    assert "all 100 inputs are <= 0" in only(result, "relu-dead-layer", "r").message
    assert not found(result, "relu-dead-units")


# exp-overflow


@pytest.mark.parametrize(
    ("value", "dtype", "fires", "limit"),
    [(88.72, "float32", False, None), (88.73, "float32", True, "88.7229"), (709.78, "float64", False, None)],
)
def test_exp_overflow_either_side_of_log_of_the_dtype_max(value, dtype, fires, limit):
    result = run(make_spec(inp(4), layer("e", "Exp"), dtype=dtype), [[value, 0.0, -1.0, 0.5]])
    if not fires:
        assert not found(result, "exp-overflow") and not found(result, "nan-inf")
        assert np.isfinite(result.outputs["e"]).all()
        return
    finding = only(result, "exp-overflow", "e")
    assert finding.severity == "warning"
    assert f"1 of 4 inputs exceed {limit}, where {dtype} exp overflows to inf" in finding.message
    assert "its inputs reach 88.73" in finding.message
    assert "produced 1 +Inf value from finite inputs" in only(result, "nan-inf", "e").message


def test_float64_exp_overflow_fires_at_709_79():
    result = run(make_spec(inp(4), layer("e", "Exp"), dtype="float64"), [[709.79, 0.0, -1.0, 0.5]])
    finding = only(result, "exp-overflow", "e")
    assert "1 of 4 inputs exceed" in finding.message and "float64 exp overflows to inf" in finding.message


def test_float64_exp_overflow_message_tells_the_input_from_the_limit():
    result = run(make_spec(inp(4), layer("e", "Exp"), dtype="float64"), [[709.79, 0.0, -1.0, 0.5]])
    message = only(result, "exp-overflow", "e").message
    assert "exceed 709.783" in message and "reach 709.79" in message  # log(float64 max) = 709.7827


# softmax-overconfident


def softmax_run(certain: int, samples: int = 4, gain: float = 200.0, tie: bool = False) -> nnspec.RunResult:
    """x -> fc -> Softmax: logits [gain * x0, 0, 0] (``tie``: [gain * x0, gain * x0, 0]);
    ``certain`` samples have x0 = 1, the rest 0.05."""
    x = np.zeros((samples, 2))
    x[:, 0] = 0.05  # logits [10, 0, 0] at gain 200: top probability 0.99991, not 1
    x[:certain, 0] = 1.0
    W = [[gain, gain if tie else 0, 0], [0, 0, 0]]
    spec = make_spec(inp(2), affine(3), layer("p", "Softmax"))
    return run(spec, x, params=affine_params(W, [0, 0, 0]))


@pytest.mark.parametrize(("certain", "fires"), [(0, False), (2, False), (3, True), (4, True)])
def test_softmax_overconfident_either_side_of_half_the_distributions(certain, fires):
    result = softmax_run(certain)  # a spread of 200: the other classes get exactly 0
    assert int(np.count_nonzero(result.outputs["p"].max(axis=1) == 1)) == certain
    if not fires:
        assert not found(result, "softmax-overconfident")
        return
    finding = only(result, "softmax-overconfident", "p")
    assert finding.severity == "warning"
    pct = f"{100 * certain // 4}%"
    assert f"in {certain} of 4 distributions ({pct}) one class has probability exactly 1" in finding.message
    assert f"and {certain} ({pct}) hold a probability of exactly 0" in finding.message
    assert "its logits spread up to 200 within one distribution" in finding.message


def test_softmax_overconfident_certain_without_exact_zeros():
    # a spread of 100: the top probability rounds to 1, the others are 3.7e-44, not 0
    result = softmax_run(3, gain=100.0)
    assert result.outputs["p"].min() > 0
    message = only(result, "softmax-overconfident", "p").message
    assert "in 3 of 4 distributions (75%) one class has probability exactly 1, and 0 (0%) hold" in message


def test_softmax_overconfident_exact_zeros_without_certainty():
    # logits [200, 200, 0]: probabilities 0.5, 0.5 and exactly 0, whose log is -inf
    result = softmax_run(3, tie=True)
    assert result.outputs["p"].max() == 0.5
    message = only(result, "softmax-overconfident", "p").message
    assert "in 0 of 4 distributions (0%) one class has probability exactly 1, and 3 (75%) hold" in message


@pytest.mark.parametrize(("gap", "zeros"), [(103.9, 0), (104.0, 4)])
def test_softmax_probability_is_exactly_zero_from_a_gap_of_104(gap, zeros):
    spec = make_spec(inp(2), layer("p", "Softmax"), checks={"input-range": "off"})
    result = run(spec, np.tile([[0.0, -gap]], (4, 1)))
    assert int(np.count_nonzero(result.outputs["p"] == 0)) == zeros
    message = only(result, "softmax-overconfident", "p").message  # certain either way
    assert f"in 4 of 4 distributions (100%) one class has probability exactly 1, and {zeros} (" in message


def test_softmax_message_gives_the_gap_at_which_probabilities_become_zero():
    spec = make_spec(inp(2), layer("p", "Softmax"), checks={"input-range": "off"})
    result = run(spec, np.tile([[0.0, -103.5]], (4, 1)))
    assert result.outputs["p"].min() > 0
    message = only(result, "softmax-overconfident", "p").message
    limit = float(re.search(r"once its logit is ([\d.]+) below the largest", message).group(1))
    assert limit > 103.5


# scale-drift


@pytest.mark.parametrize(
    ("gain", "message"),
    [
        (2.0, None),  # std ratio exactly 2 (scaling by a power of 2 is exact)
        (0.5, None),
        (2.01, "output std 1.205 is 2.01x its input's (0.5995)"),
        (0.49, "output std 0.2938 is 0.49x its input's (0.5995)"),
    ],
)
def test_scale_drift_either_side_of_a_std_ratio_of_2(gain, message):
    x = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    result = run(make_spec(inp(3), affine(3)), x, params=affine_params(gain * np.eye(3), np.zeros(3)))
    if message is None:
        assert not found(result, "scale-drift")
        return
    finding = only(result, "scale-drift", "fc")
    assert finding.severity == "info"
    assert message in finding.message
    assert "a ratio outside 0.5..2 from layer to layer" in finding.message


@pytest.mark.parametrize(("activation", "compared"), [("Tanh", False), ("Sigmoid", False), ("ReLU", True)])
def test_scale_drift_skips_layers_after_a_bounded_activation(activation, compared):
    x = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    spec = make_spec(inp(3), layer("a", activation), affine(3))
    result = run(spec, x, params=affine_params(5 * np.eye(3), np.zeros(3)))
    assert [f.layer for f in found(result, "scale-drift")] == (["fc"] if compared else [])


# constant-output


def test_constant_output_from_zero_weights_is_reported_where_it_starts():
    spec = make_spec(inp(3), affine(3), layer("t", "Tanh"))
    x = np.random.default_rng(0).uniform(-1, 1, (5, 3))
    result = run(spec, x, params=affine_params(np.zeros((3, 3)), [0.1, 0.2, 0.3]))
    findings = found(result, "constant-output")
    assert [(f.layer, f.severity) for f in findings] == [("fc", "warning")]  # not again at t, which inherits it
    assert "the same for every one of 5 samples (values 0.1..0.3): it ignores its input" in findings[0].message


@pytest.mark.parametrize(
    ("weight", "samples"),
    [(1e-3, 5), (0.0, 1)],  # one unit depends on the input a little; one sample shows nothing
)
def test_constant_output_is_quiet_when_one_unit_varies_or_there_is_one_sample(weight, samples):
    spec = make_spec(inp(3), affine(3))
    x = np.random.default_rng(0).uniform(-1, 1, (samples, 3))
    result = run(spec, x, params=affine_params(np.diag([0, 0, weight]), [0.1, 0.2, 0.3]))
    assert not found(result, "constant-output")


def test_constant_output_is_not_reported_where_the_input_is_already_constant():
    spec = make_spec(inp(3, generator="Range"), layer("t", "Tanh"))
    assert not found(nnspec.run(spec, samples=5), "constant-output")


def test_hard_saturation_from_an_inherited_inf_does_not_claim_a_finite_span():
    spec = make_spec(inp(2), affine(2), layer("t", "Tanh"))
    result = run(spec, [[1.0, 1.0]], params=affine_params([[1.71e38, 0.0], [1.71e38, 0.0]], [0.0, 0.0]))
    hard = found(result, "tanh-hard-saturation", "t")
    assert not hard or "Inf" in hard[0].message


# --- 2. settings: spec top level < layer < run(checks=...) ------------------------------------------


@dataclass
class Scenario:
    """Layers, data and parameters with which a check fires at ``target``; thresholds at which it
    still fires (``fire``) and at which it does not (``quiet``) for checks that have one."""

    layers: list[dict[str, Any]]
    x: Any
    target: str
    params: dict[str, np.ndarray] | None = None
    fire: float | None = None
    quiet: float | None = None


def one_dead_unit(kind: str) -> Scenario:
    """ReLU and ReLU6 share their dead-units scenario: 1 of 4 units dead (bias -10 against inputs below
    1) on enough samples to say so."""
    return Scenario(
        [inp(2), affine(4), layer("r", kind)],
        np.random.default_rng(0).uniform(0.1, 1, (FIRM_UNIT_SAMPLES, 2)),
        "r",
        affine_params([[1, 1, 1, 1], [0, 0, 0, 0]], [-10, 0, 0, 0]),
        fire=0.25,
        quiet=0.3,
    )


SCENARIOS: dict[str, Scenario] = {
    "nan-inf": Scenario([inp(2), affine(2)], [[1.0, 1.0]], "fc", affine_params([[3e38, 0.0], [3e38, 0.0]], [0.0, 0.0])),
    "input-range": Scenario([inp(3)], [[4.0, 0.0, -1.0]], "x", fire=3.5, quiet=4.0),
    "declared-range": Scenario([inp(2, range=[0, 0.5])], [[0.75, 0.0]], "x"),
    "tanh-hard-saturation": Scenario(  # 25% pinned
        [inp(4), layer("t", "Tanh")], [[20.0, 0.0, 0.0, 0.0]], "t", fire=0.2, quiet=0.25
    ),
    "tanh-saturation": Scenario(  # 75% past 2.65
        [inp(4), layer("t", "Tanh")], [[3.0, 3.0, 3.0, 0.0]], "t", fire=0.7, quiet=0.75
    ),
    "sigmoid-hard-saturation": Scenario(
        [inp(4), layer("s", "Sigmoid")], [[20.0, 0.0, 0.0, 0.0]], "s", fire=0.2, quiet=0.25
    ),
    "sigmoid-saturation": Scenario(  # 75% past 4.6; mean output 0.87
        [inp(4), layer("s", "Sigmoid")], [[5.0, 5.0, 5.0, 0.0]], "s", fire=0.7, quiet=0.75
    ),
    "softsign-hard-saturation": Scenario(  # float32 softsign is exactly 1 from 33554280: 25% pinned
        [inp(4), layer("s", "SoftSign")], [[1e8, 0.0, 0.0, 0.0]], "s", fire=0.2, quiet=0.25
    ),
    "softsign-saturation": Scenario(  # 75% past 99
        [inp(4), layer("s", "SoftSign")], [[200.0, 300.0, -400.0, 0.0]], "s", fire=0.7, quiet=0.75
    ),
    "relu-dead-layer": Scenario([inp(3), layer("r", "ReLU")], [[-1.0, -0.5, 0.0]], "r"),
    "relu6-dead-layer": Scenario([inp(3), layer("r", "ReLU6")], [[-1.0, -0.5, 0.0]], "r"),
    "relu6-dead-units": one_dead_unit("ReLU6"),
    "relu-dead-units": one_dead_unit("ReLU"),
    "log-domain": Scenario([inp(2), layer("r", "ReLU"), layer("l", "Log")], [[-1.0, 0.5]], "l"),
    "pow-domain": Scenario([inp(2), layer("p", "PowScalar", value=0.5)], [[-1.0, 0.5]], "p"),
    "division-by-zero": Scenario(
        [inp(2), layer("r", "ReLU"), layer("d", "Div2", input=["x", "r"])], [[-1.0, 0.5]], "d"
    ),
    "exp-overflow": Scenario([inp(4), layer("e", "Exp")], [[100.0, 0.0, 0.0, 0.0]], "e", fire=0.2, quiet=0.25),
    "softmax-overconfident": Scenario(  # 3 of 4 certain
        [inp(2), affine(3), layer("p", "Softmax")],
        [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.05, 0.0]],
        "p",
        affine_params([[200, 0, 0], [0, 0, 0]], [0, 0, 0]),
        fire=0.7,
        quiet=0.75,
    ),
    "bce-input-range": Scenario(  # an input past 1, against a target of ones (generated)
        [inp(2), layer("b", "BinaryCrossEntropy", T={"generator": "Constant"})], [[1.5, 0.5]], "b"
    ),
    "quantize-clipping": Scenario(  # levels -1.5..1.5 (3 bits, steps of 0.5): 3 of 4 inputs beyond them
        [inp(4), layer("q", "FixedPointQuantize", n=3, delta=0.5)], [[5.0, -5.0, 2.0, 0.1]], "q", fire=0.7, quiet=0.75
    ),
    "batch-dependent": Scenario([inp(3), layer("p", "Prune", rate=0.5)], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "p"),
    "scale-drift": Scenario(  # std ratio 3
        [inp(3), affine(3)],
        np.random.default_rng(0).uniform(-1, 1, (20, 3)),
        "fc",
        affine_params(3 * np.eye(3), np.zeros(3)),
        fire=2.5,
        quiet=4.0,
    ),
    "normalization-gain": Scenario(  # NNC's initial var 0: gain 1 / sqrt(1e-4) = 100
        [inp(4), layer("bn", "BatchNormalization", batch_stat=False)],
        np.random.default_rng(0).uniform(-1, 1, (20, 4)),
        "bn",
        fire=50.0,
        quiet=150.0,
    ),
    "constant-output": Scenario(
        [inp(2), affine(2)], [[0.5, -0.5], [0.1, 0.2], [-1.0, 1.0]], "fc", affine_params(np.zeros((2, 2)), [0.1, 0.2])
    ),
}

CHECK_IDS = list(SCENARIOS)
THRESHOLD_IDS = [c for c in CHECK_IDS if all_checks()[c].threshold is not None]


def fire(check: str, top: Any = None, here: Any = None, at_run: Any = None) -> list[str]:
    """The severities ``check`` is reported with at its scenario's target, given its setting at the
    spec's top level, on the target layer and in run(checks=...) (None: not set there)."""
    scenario = SCENARIOS[check]
    layers = [dict(lay) for lay in scenario.layers]
    if here is not None:
        [target] = [lay for lay in layers if lay["name"] == scenario.target]
        target["checks"] = {check: here}
    spec = make_spec(*layers, checks=None if top is None else {check: top})
    overrides = None if at_run is None else {check: at_run}
    result = run(spec, scenario.x, params=scenario.params, checks=overrides)
    assert not [f for f in result.findings if f.check == check and f.layer != scenario.target]
    return [f.severity for f in found(result, check, scenario.target)]


def other_severity(check: str) -> str:
    return "error" if all_checks()[check].severity != "error" else "info"


@pytest.mark.parametrize("check", CHECK_IDS)
def test_scenario_fires_with_the_default_severity(check):
    assert fire(check) == [all_checks()[check].severity]


@pytest.mark.parametrize("check", CHECK_IDS)
def test_top_level_setting_changes_severity_or_turns_the_check_off(check):
    other = other_severity(check)
    assert fire(check, top=other) == [other]
    assert fire(check, top={"severity": other}) == [other]
    assert fire(check, top="off") == []
    assert fire(check, top=False) == []  # YAML's reading of a bare off
    assert fire(check, top=True) == [all_checks()[check].severity]


@pytest.mark.parametrize("check", THRESHOLD_IDS)
def test_top_level_threshold_changes_what_fires(check):
    s = SCENARIOS[check]
    assert fire(check, top=s.quiet) == []
    assert fire(check, top={"threshold": s.quiet}) == []
    assert fire(check, top=s.fire) == [all_checks()[check].severity]
    assert fire(check, top={"threshold": s.fire, "severity": other_severity(check)}) == [other_severity(check)]


@pytest.mark.parametrize("check", CHECK_IDS)
def test_layer_setting_overrides_the_top_level(check):
    other = other_severity(check)
    assert fire(check, top="off", here=other) == [other]
    assert fire(check, top=False, here=True) == [all_checks()[check].severity]
    assert fire(check, top=other, here="off") == []
    assert fire(check, top=other, here=False) == []
    assert fire(check, top="info", here={"severity": "error"}) == ["error"]
    assert fire(check, top="error", here="warning") == ["warning"]


@pytest.mark.parametrize("check", THRESHOLD_IDS)
def test_layer_threshold_overrides_the_top_level_and_keeps_its_severity(check):
    s, other = SCENARIOS[check], other_severity(check)
    assert fire(check, top=s.quiet, here=s.fire) == [all_checks()[check].severity]
    assert fire(check, top=s.fire, here=s.quiet) == []
    # the layer sets the threshold only: the severity set at the top level stays
    assert fire(check, top={"severity": other, "threshold": s.quiet}, here={"threshold": s.fire}) == [other]


@pytest.mark.parametrize("check", CHECK_IDS)
def test_run_setting_overrides_the_layer(check):
    other = other_severity(check)
    assert fire(check, here=other, at_run="off") == []
    assert fire(check, top=other, here=other, at_run=False) == []
    assert fire(check, top="off", here="off", at_run=other) == [other]
    assert fire(check, here="off", at_run=True) == [all_checks()[check].severity]
    assert fire(check, here=other, at_run="info") == ["info"]


@pytest.mark.parametrize("check", THRESHOLD_IDS)
def test_run_threshold_overrides_the_layer(check):
    s, other = SCENARIOS[check], other_severity(check)
    assert fire(check, top=s.quiet, here=s.quiet, at_run=s.fire) == [all_checks()[check].severity]
    assert fire(check, here=s.fire, at_run=s.quiet) == []
    assert fire(check, here={"severity": other, "threshold": s.quiet}, at_run=s.fire) == [other]


def test_bare_yaml_off_turns_a_check_off_at_the_top_level_and_on_a_layer():
    data = {"x": np.array([[4.0, 0.0, -1.0]])}  # the bulk past 3: input-range would fire
    top = nnspec.loads("nnspec: 1\nchecks: {input-range: off}\nlayers:\n  - {name: x, type: Input, size: [3]}\n")
    assert top.checks == {"input-range": False}
    assert not nnspec.run(top, data).findings
    here = nnspec.loads(
        "nnspec: 1\nchecks: {input-range: error}\nlayers:\n"
        "  - name: x\n    type: Input\n    size: [3]\n    checks:\n      input-range: off\n"
    )
    assert not nnspec.run(here, data).findings
    text = (
        "nnspec: 1\nchecks:\n  tanh-saturation: {threshold: 0.2, severity: error}\nlayers:\n"
        "  - {name: x, type: Input, size: [4]}\n  - {name: t, type: Tanh}\n"
    )
    result = nnspec.run(nnspec.loads(text), {"x": np.array([[4.0, 0.0, 0.0, 0.0]])})  # 25% past 2.65
    assert [(f.check, f.severity) for f in result.findings] == [
        ("input-range", "warning"),
        ("tanh-saturation", "error"),
    ]


def test_settings_on_one_layer_leave_the_others_alone():
    spec = make_spec(
        inp(4),
        layer("a", "Tanh", input="x", checks={"tanh-saturation": "error"}),
        layer("b", "Tanh", input="x"),
        layer("c", "Tanh", input="x", checks={"tanh-saturation": "off"}),
        checks={"input-range": "off"},
    )
    result = run(spec, [[3.0, 3.0, 3.0, 0.0]])
    assert [(f.layer, f.severity) for f in result.findings] == [("a", "error"), ("b", "warning")]


def test_unknown_check_in_run_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError, match="unknown check 'tanh-saturaton'; did you mean 'tanh-saturation'"):
        run(make_spec(inp(1)), [[0.0]], checks={"tanh-saturaton": "off"})


def test_run_refuses_a_setting_that_is_not_a_severity():
    with pytest.raises(UsageError):
        run(make_spec(inp(3), layer("r", "ReLU")), [[-1.0, 0.0, 0.0]], checks={"relu-dead-layer": "bogus"})


def test_run_refuses_a_threshold_for_a_check_without_one():
    with pytest.raises(UsageError, match="takes no threshold"):
        run(make_spec(inp(3), layer("r", "ReLU")), [[-1.0, 0.0, 0.0]], checks={"relu-dead-layer": 0.5})


def test_run_refuses_a_none_setting_with_a_usage_error():
    with pytest.raises(UsageError):
        run(make_spec(inp(3), layer("r", "ReLU")), [[-1.0, 0.0, 0.0]], checks={"relu-dead-layer": None})


# superseded checks


def test_tanh_saturation_is_not_reported_where_hard_saturation_fires():
    spec = make_spec(inp(4), layer("t", "Tanh"))
    x = [[20.0, 20.0, 20.0, 0.0]]  # 75% pinned and 75% past 2.65
    result = run(spec, x)
    assert "3 of 4 outputs (75%)" in only(result, "tanh-hard-saturation", "t").message
    assert not found(result, "tanh-saturation")
    result = run(spec, x, checks={"tanh-hard-saturation": "off"})
    assert "3 of 4 inputs (75%) lie outside -2.65..2.65" in only(result, "tanh-saturation", "t").message


def test_superseding_is_per_layer():
    spec = make_spec(inp(4), layer("hard", "Tanh", input="x"), layer("soft", "Tanh", input="x"), checks={})
    x = np.array([[20.0, 20.0, 20.0, 0.0], [3.0, 3.0, 3.0, 0.0]])
    # both layers see the same data: both are pinned, so both report hard saturation only
    result = run(spec, x)
    assert [f.layer for f in found(result, "tanh-hard-saturation")] == ["hard", "soft"]
    result = run(spec, x, checks={"tanh-hard-saturation": 0.9})  # 3 of 8 pinned: below 0.9
    assert [f.layer for f in found(result, "tanh-saturation")] == ["hard", "soft"]


def test_sigmoid_saturation_is_not_reported_where_hard_saturation_fires():
    spec = make_spec(inp(4), layer("s", "Sigmoid"))
    result = run(spec, [[20.0, 20.0, 20.0, 0.0]])
    assert found(result, "sigmoid-hard-saturation") and not found(result, "sigmoid-saturation")
    result = run(spec, [[20.0, 20.0, 20.0, 0.0]], checks={"sigmoid-hard-saturation": "off"})
    assert only(result, "sigmoid-saturation", "s")


def test_constant_output_is_not_reported_where_relu_dead_layer_fires():
    spec = make_spec(inp(3), layer("r", "ReLU"))
    x = [[-1.0, -0.5, 0.0], [-0.2, -0.3, -0.9], [0.0, -1.0, -1.0]]  # output 0 on every sample
    result = run(spec, x)
    assert [f.check for f in result.findings] == ["relu-dead-layer"]
    result = run(spec, x, checks={"relu-dead-layer": "off"})
    assert "the same for every one of 3 samples" in only(result, "constant-output", "r").message


def test_relu_dead_units_is_not_reported_where_relu_dead_layer_fires():
    result = dead_relu(10, 10, 2 * UNIT_SAMPLES)
    assert [f.check for f in found(result, "relu-dead-layer") + found(result, "relu-dead-units")] == ["relu-dead-layer"]


def test_relu_dead_units_reports_a_fully_dead_layer_when_the_layer_check_is_off():
    spec = make_spec(inp(2), affine(10), layer("r", "ReLU"))
    W = np.zeros((2, 10))
    x = np.random.default_rng(0).uniform(0.1, 1, (2 * UNIT_SAMPLES, 2))
    result = run(spec, x, params=affine_params(W, np.full(10, -10.0)), checks={"relu-dead-layer": "off"})
    assert "10 of its 10 units (100%)" in only(result, "relu-dead-units", "r").message


# --- 3. statistics merge across batches ---------------------------------------------------------------

ELEMENTWISE = """
nnspec: 1
layers:
  - {name: x, type: Input, size: [2, 4]}
  - {name: t, type: Tanh}
  - {name: s, type: Sigmoid, input: x}
  - {name: r, type: ReLU, input: x}
  - {name: e, type: Exp, input: x}
  - {name: p, type: Softmax, input: x, axis: 1}
  - {name: i, type: Identity, input: t}
"""
BATCH_SIZES = (1, 3, 7, 64, None)
# Past sqrt(float32 max / n) / 4 (4.2e15 for the 1200 values of one batch here) a batch's mean is taken
# over values scaled in float32 (see test_mean_of_float32_values_near_the_max_keeps_float64_precision)
SCALED = 4e15


def distribution(name: str, n: int = 150) -> np.ndarray:
    rng = np.random.default_rng(list(DISTRIBUTIONS).index(name))
    shape = (n, 2, 4)
    if name == "normal":
        return rng.normal(0, 1, shape)
    if name == "heavy tails":
        return rng.standard_cauchy(shape) * 10
    if name == "log-normal over decades":
        return rng.lognormal(0, 8, shape) * rng.choice([-1, 1], shape)
    if name == "NaN and Inf sprinkled":
        x, u = rng.normal(0, 30, shape), rng.random(shape)
        x[u < 0.03], x[(u > 0.5) & (u < 0.52)], x[u > 0.98] = np.nan, np.inf, -np.inf
        x[42:49] = np.nan  # a batch of 7 (and batches of 1 and 3) with no finite value
        return x
    if name == "all-zero batches":
        x = rng.normal(0, 1, shape)
        x[:70], x[120:] = 0.0, 0.0
        return x
    if name == "near float32 max":
        x = rng.uniform(-3.4e38, 3.4e38, shape)
        x[::5] = rng.normal(0, 1, shape)[::5]
        return x
    raise AssertionError(name)


DISTRIBUTIONS = dict.fromkeys(
    [
        "normal",
        "heavy tails",
        "log-normal over decades",
        "NaN and Inf sprinkled",
        "all-zero batches",
        "near float32 max",
    ]
)


def assert_same_stats(a: TensorStats, b: TensorStats, mean_rel: float = 1e-9) -> None:
    for key in ("count", "nan", "posinf", "neginf", "zeros", "subnormal", "min", "max"):
        assert getattr(a, key) == getattr(b, key), key
    np.testing.assert_array_equal(a.histogram, b.histogram)
    assert a.mean == pytest.approx(b.mean, rel=mean_rel, abs=1e-300)
    assert a.std == pytest.approx(b.std, rel=1e-5, abs=1e-300)  # squared deviations summed in float32


@pytest.fixture(scope="module")
def one_batch_runs():
    spec = nnspec.loads(ELEMENTWISE)
    return spec, {name: nnspec.run(spec, {"x": distribution(name)}) for name in DISTRIBUTIONS}


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_batches_merge_to_the_one_batch_statistics(one_batch_runs, name, batch_size):
    spec, whole = one_batch_runs
    whole = whole[name]
    batched = nnspec.run(spec, {"x": distribution(name)}, batch_size=batch_size)
    for layer_name in spec.layers:
        a, b = batched.stats[layer_name], whole.stats[layer_name]
        # the mean to 1e-9, except where values pass the point at which a batch's mean is computed on
        # float32-scaled values (test_mean_of_float32_values_near_the_max_keeps_float64_precision)
        big = max(a.output.max_abs, b.output.max_abs) > SCALED
        assert_same_stats(a.output, b.output, mean_rel=1e-5 if big else 1e-9)
        assert a.measures.keys() == b.measures.keys()
        for check, measured in b.measures.items():
            assert measured.keys() == a.measures[check].keys()
            for key, value in measured.items():
                if key.startswith("feature:"):  # per-feature moments, merged in floating point (Chan et al.)
                    assert np.allclose(a.measures[check][key], value, rtol=1e-9, atol=1e-12, equal_nan=True)
                    continue
                assert np.array_equal(a.measures[check][key], value, equal_nan=True), (layer_name, check, key)
    assert {(f.check, f.layer, f.severity) for f in batched.findings} == {
        (f.check, f.layer, f.severity) for f in whole.findings
    }


def test_the_merge_distributions_exercise_what_they_claim(one_batch_runs):
    _, whole = one_batch_runs
    x = whole["NaN and Inf sprinkled"].stats["x"].output
    assert x.nan and x.posinf and x.neginf
    assert whole["all-zero batches"].stats["x"].output.zeros == 100 * 8
    assert whole["near float32 max"].stats["x"].output.max > 3e38
    assert whole["near float32 max"].stats["e"].output.posinf
    assert found(whole["heavy tails"], "exp-overflow") and found(whole["heavy tails"], "tanh-hard-saturation")
    assert whole["log-normal over decades"].stats["x"].output.min < -1e10


def test_merged_measures_add_counts_and_combine_per_unit_arrays():
    spec = nnspec.loads(ELEMENTWISE)
    x = np.zeros((12, 2, 4))
    x[3, 1, :] = 20.0  # unit 1 (the second row of the sample) pinned on one sample only
    x[:, 0, :] = -1.0
    whole, batched = nnspec.run(spec, {"x": x}), nnspec.run(spec, {"x": x}, batch_size=5)
    for result in (whole, batched):
        hard = result.stats["t"].measures["tanh-hard-saturation"]
        assert hard["pinned"] == 4
        assert hard["any:inside"].tolist() == [True, True]
        dead = result.stats["r"].measures["relu-dead-units"]
        assert dead["any:positive"].tolist() == [False, True]
        assert result.stats["t"].output.varies  # sample 3 differs from the others


def test_measures_merge_each_key_by_its_prefix():
    a = {
        "pinned": 3,
        "any:inside": np.array([True, False, False]),
        "max:spread": np.array([2.0]),
        "min:low": np.array([-1.0, 5.0]),
        "sum:values": np.array([1.5, 2.0]),
    }
    b = {
        "pinned": 4,
        "any:inside": np.array([False, False, True]),
        "max:spread": np.array([7.0]),
        "min:low": np.array([0.0, -2.0]),
        "sum:values": np.array([0.5, -1.0]),
    }
    merged = merge_by_prefix(a, b)
    assert merged["pinned"] == 7  # a count: added
    assert merged["any:inside"].tolist() == [True, False, True]  # or
    assert merged["max:spread"].tolist() == [7.0]
    assert merged["min:low"].tolist() == [-1.0, -2.0]
    assert merged["sum:values"].tolist() == [2.0, 1.0]


MEASURE_SPECS = ("seed_activations", "softmax_huge_logits", "untrained_bn", "raw_pixels_tanh", "dead_relu_bias")


def test_every_key_a_check_measures_is_named_in_nnspec_measures():
    named = {value for key, value in vars(measures).items() if key.isupper() and isinstance(value, str)}
    seen: set[str] = set()
    for name in MEASURE_SPECS:
        result = nnspec.run(nnspec.load(SPECS / f"{name}.yaml"), samples=64)
        seen |= {key for stats in result.stats.values() for measure in stats.measures.values() for key in measure}
    # the specs reach the measures of each kind
    assert {"pinned", "any:inside", "any:positive", "rows", "feature:mean", "sum:values"} <= seen
    assert seen <= named


def test_samples_that_differ_only_from_batch_to_batch_vary():
    same, other = np.full((4, 3), 0.5, F32), np.full((4, 3), -0.5, F32)
    constant = TensorStats.of(same).merge(TensorStats.of(same.copy()))
    assert not constant.varies  # every sample of both batches alike
    assert TensorStats.of(same).merge(TensorStats.of(other)).varies  # each batch constant, the two not
    signed = np.zeros((4, 3), F32)
    signed[2, 1] = -0.0
    assert not TensorStats.of(signed).varies  # compared as values: -0.0 equals 0.0
    assert TensorStats.of(np.full((1, 3), 2.0, F32)).merge(TensorStats(count=0)).first is not None


def test_mean_of_float32_values_near_the_max_keeps_float64_precision():
    x = np.random.default_rng(5).uniform(-3.4e38, 3.4e38, 1600).astype(F32)
    truth = float(x.astype(np.float64).mean())
    assert TensorStats.of(x).mean == pytest.approx(truth, rel=1e-9)
    merged = TensorStats.of(x[:8])
    for start in range(8, x.size, 8):
        merged = merged.merge(TensorStats.of(x[start : start + 8]))
    assert merged.mean == pytest.approx(truth, rel=1e-9)


def test_std_of_tiny_float32_values_does_not_underflow():
    x = (np.random.default_rng(0).normal(0, 1, 1000) * 1e-25).astype(F32)
    assert TensorStats.of(x).std == pytest.approx(x.astype(np.float64).std(), rel=1e-5, abs=0)


def test_std_of_float32_values_a_few_ulps_apart_is_exact():
    x = np.array([1.0, 1.0 + 2**-23], dtype=F32)
    assert TensorStats.of(x).std == pytest.approx(2**-24, rel=1e-5, abs=0)
    assert TensorStats.of(x).std == pytest.approx(TensorStats.of(x[:1]).merge(TensorStats.of(x[1:])).std, rel=1e-5)


def test_merging_two_arrays_equals_the_statistics_of_both():
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    def elements(dtype: type) -> st.SearchStrategy[float]:
        width = 32 if dtype is F32 else 64
        # magnitudes below the point where a batch's values are scaled before squaring
        bound = 1e15 if width == 64 else float(F32(1e15))
        finite = st.floats(-bound, bound, width=width, allow_subnormal=True)
        special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-45, 1e-310])
        return st.one_of(finite, special)

    @st.composite
    def pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
        dtype = draw(st.sampled_from([F32, np.float64]))
        width = draw(st.integers(1, 4))
        a = draw(hnp.arrays(dtype, (draw(st.integers(0, 6)), width), elements=elements(dtype)))
        b = draw(hnp.arrays(dtype, (draw(st.integers(0, 6)), width), elements=elements(dtype)))
        return a, b

    # The same examples on every run (CI stays repeatable); NNSPEC_HYPOTHESIS=N explores N fresh ones.
    explore = int(os.environ.get("NNSPEC_HYPOTHESIS", "0"))

    @settings(max_examples=explore or 300, deadline=None, derandomize=not explore)
    @given(pairs())
    def check(pair: tuple[np.ndarray, np.ndarray]) -> None:
        a, b = pair
        merged = TensorStats.of(a).merge(TensorStats.of(b))
        whole = TensorStats.of(np.concatenate([a, b]))
        for key in ("count", "nan", "posinf", "neginf", "zeros", "subnormal", "min", "max"):
            assert getattr(merged, key) == getattr(whole, key), key
        np.testing.assert_array_equal(merged.histogram, whole.histogram)
        eps, scale = float(np.finfo(a.dtype).eps), whole.max_abs
        assert merged.mean == pytest.approx(whole.mean, rel=1e-9, abs=1e-12 * scale)
        # float32 squares: rounding of the mean to the dtype and underflow of tiny squares
        # (test_std_of_float32_values_a_few_ulps_apart_is_exact, test_std_of_tiny_float32_values_does_not_underflow)
        floor = 2 * eps * scale + (1e-18 if a.dtype == F32 else 1e-150)
        assert merged.std == pytest.approx(whole.std, rel=1e-5, abs=floor)

    check()


# --- 4. percentiles and subnormals ----------------------------------------------------------------------


def within_a_bin(estimate: float | None, truth: float) -> bool:
    """A bin spans at most 25% of its values."""
    return estimate is not None and abs(estimate - truth) <= 0.25 * abs(truth)


KNOWN = {
    "uniform 1..100": lambda rng: rng.uniform(1, 100, 10_000),
    "normal(10, 2)": lambda rng: rng.normal(10, 2, 10_001),
    "normal(0, 1)": lambda rng: rng.normal(0, 1, 10_001),
    "log-normal over 20 decades": lambda rng: rng.lognormal(0, 10, 10_001),
    "negative log-normal": lambda rng: -rng.lognormal(0, 10, 10_001),
}


@pytest.mark.parametrize("dtype", [F32, np.float64])
@pytest.mark.parametrize("name", list(KNOWN))
def test_percentiles_land_within_one_bin_of_numpy(name, dtype):
    x = KNOWN[name](np.random.default_rng(0)).astype(dtype)
    stats = TensorStats.of(x)
    for q in (1, 5, 25, 50, 75, 95, 99):
        truth = float(np.percentile(x.astype(np.float64), q))
        assert within_a_bin(stats.percentile(q), truth), (q, stats.percentile(q), truth)
    if name == "log-normal over 20 decades":
        assert x.max() / x.min() > 1e20


def test_percentiles_of_few_values_follow_the_nearest_rank():
    # 1..100: numpy's default interpolates (p1 = 1.99); the histogram gives the bin of the 1st value
    x = np.arange(1, 101, dtype=F32)
    stats = TensorStats.of(x)
    for q in (1, 5, 50, 95, 99):
        assert within_a_bin(stats.percentile(q), float(np.percentile(x, q, method="inverted_cdf")))
    assert stats.percentile(0) == 1.0 and stats.percentile(100) == 100.0  # clipped to min and max
    assert TensorStats.of(np.array([np.nan, np.inf])).percentile(50) is None


def test_percentiles_of_a_run_come_from_the_sampled_histogram():
    spec = make_spec(inp(1000))
    x = np.random.default_rng(0).normal(10, 2, (50, 1000))
    stats = run(spec, x).stats["x"].output
    assert stats.histogram.sum() < x.size  # a sample of every sample's values
    assert stats.count == x.size
    for q in (1, 5, 50, 95, 99):
        assert within_a_bin(stats.percentile(q), float(np.percentile(x, q)))


def test_subnormals_and_zeros_are_counted_exactly():
    x = np.array([1e-40, 1e-45, 0.0, -1e-39], dtype=F32)
    assert x[1] > 0  # 1e-45 rounds to float32's smallest subnormal, not to 0
    stats = TensorStats.of(x)
    assert (stats.count, stats.subnormal, stats.zeros) == (4, 3, 1)
    tiny = np.finfo(F32).tiny
    stats = TensorStats.of(np.array([tiny, -tiny, np.nextafter(tiny, F32(0)), -0.0, np.nan], dtype=F32))
    assert (stats.subnormal, stats.zeros, stats.nan) == (1, 1, 1)
    stats = TensorStats.of(np.array([1e-310, 5e-324, 0.0, 2.3e-308, 1e-300]))
    assert (stats.subnormal, stats.zeros) == (2, 1)
    merged = TensorStats.of(x[:2]).merge(TensorStats.of(x[2:]))
    assert (merged.subnormal, merged.zeros) == (3, 1)


def test_subnormals_are_counted_in_a_run():
    result = run(make_spec(inp(4), layer("i", "Identity")), [[1e-40, 1e-45, 0.0, -1e-39]], batch_size=1)
    assert (result.stats["i"].output.subnormal, result.stats["i"].output.zeros) == (3, 1)


# --- 5. RangeWarning -------------------------------------------------------------------------------------


def test_seed_spec_warns_once_per_warning_finding_with_its_check_id():
    spec = nnspec.load(SPECS / "seed_activations.yaml")
    with pytest.warns(RangeWarning) as record:
        result = nnspec.run(spec)
    range_warnings = [w for w in record if issubclass(w.category, RangeWarning)]
    assert len(range_warnings) == len([f for f in result.findings if f.severity != "info"]) == 3
    for finding, caught in zip([f for f in result.findings if f.severity != "info"], range_warnings):
        assert str(caught.message) == f"{finding.message} [{finding.check}]"
        assert caught.filename == spec.file
        assert caught.lineno == spec.locate(finding.layer)[0]
    ids = [re.search(r"\[([a-z-]+)\]$", str(w.message)).group(1) for w in range_warnings]
    assert ids == ["input-range", "tanh-hard-saturation", "sigmoid-hard-saturation"]


def test_error_findings_warn_too():
    with pytest.warns(RangeWarning, match=r"\[relu-dead-layer\]$"):
        run(make_spec(inp(3), layer("r", "ReLU")), [[-1.0, -0.5, 0.0]])


def caught_range_warnings(fn: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fn()
    return [w for w in record if issubclass(w.category, RangeWarning)]


def test_info_findings_do_not_warn():
    s = SCENARIOS["scale-drift"]
    result: list[nnspec.RunResult] = []
    assert not caught_range_warnings(lambda: result.append(run(make_spec(*s.layers), s.x, params=s.params)))
    assert [(f.check, f.severity) for f in result[0].findings] == [("scale-drift", "info")]


def test_severity_settings_decide_whether_a_finding_warns():
    spec = nnspec.load(SPECS / "seed_activations.yaml")
    quiet = {
        "input-range": "info",
        "tanh-hard-saturation": "info",
        "sigmoid-hard-saturation": "off",
        "sigmoid-saturation": "off",  # no longer superseded
    }
    assert not caught_range_warnings(lambda: nnspec.run(spec, checks=quiet))
    s = SCENARIOS["scale-drift"]
    loud = caught_range_warnings(
        lambda: run(make_spec(*s.layers), s.x, params=s.params, checks={"scale-drift": "error"})
    )
    assert len(loud) == 1 and str(loud[0].message).endswith("[scale-drift]")


# bce-input-range


BCE = [inp(3), layer("b", "BinaryCrossEntropy", T={"dataset": "t"})]


@pytest.mark.parametrize(
    ("x", "t", "outside", "not_binary"),
    [
        ([0.0, 1.0, 0.5], [0.0, 1.0, 1.0], 0, 0),  # the ends of 0..1 are probabilities
        ([0.0, float(np.nextafter(np.float32(1), np.float32(2))), 0.5], [0.0, 1.0, 1.0], 1, 0),  # just past 1
        ([-1e-30, 1.0, 0.5], [0.0, 1.0, 1.0], 1, 0),  # just below 0
        ([0.0, 1.0, 0.5], [0.0, 1.0, 0.5], 0, 1),  # a target of 0.5
    ],
)
def test_bce_input_range_either_side_of_its_limits(x, t, outside, not_binary):
    result = nnspec.run(make_spec(*BCE), {"x": np.array([x]), "t": np.array([t])})
    findings = found(result, "bce-input-range", "b")
    if not (outside or not_binary):
        assert not findings
        return
    [finding] = findings
    assert finding.severity == "error"
    if outside:
        assert f"{outside} of 3 inputs lie outside 0..1" in finding.message
    if not_binary:
        assert f"{not_binary} of 3 target values are neither 0 nor 1" in finding.message
