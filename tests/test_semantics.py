"""What a run computes: NNC's evaluation by default, the training pass with ``training=True``.

Facts, from NNC's layer definitions (sony/nnc-desktop,
local_editor/runner_component/tools/nncd_console/settings/NNabla/layer_component/): an argument
whose ``ArgumentName`` ends in ``-test=<value>`` gets that value when NNC evaluates a network,
whatever the property says; a layer with a ``SkipAtTest`` property set is left out at evaluation,
its consumers reading its input. The definitions carrying either are listed below, written out
here from those files, so the catalog is checked against them and not against itself.

References are numpy formulas on the whole batch, written here:

* BatchNormalization with stored statistics: (x - mean) / sqrt(var + eps) * gamma + beta per
  channel; with batch statistics, mean and biased variance of each channel over the batch.
* Dropout in training: each value kept or zeroed, kept values times 1 / (1 - p).
"""

from __future__ import annotations

import json
import warnings

import jsonschema
import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.report.report_schema import report_schema
from nnspec.spec.static import estimates

from .conftest import SPECS

# NNC's definitions: {type: {property (nnspec's spelling): value at evaluation}}.
NNC_TEST_ARGUMENTS = {
    "BatchNormalization": {"batch_stat": False},  # batch_normalization_param.batch_stat -test=False
    "FusedBatchNormalization": {"batch_stat": False},  # fused_batch_normalization_param.batch_stat -n -test=False
    "MeanSubtraction": {"update_running_mean": False},  # mean_subtraction_param.update_running_mean -test=False
    "SpectralNorm": {"test": True},  # spectral_norm_param.test -test=True
}
# Types with the SkipAtTest property (each with default True).
NNC_SKIP_AT_TEST = {"Dropout", "ImageAugmentation", "RandomErase", "RandomFlip", "RandomShift"}

EPSILON = 1e-4  # NNC's BatchNormalization epsilon default


# --- the catalog against NNC's definitions ----------------------------------------------------------


def test_catalog_carries_nncs_test_arguments():
    catalog = nnspec.layer_types()
    for name, layer_type in catalog.items():
        assert dict(layer_type.test_arguments) == NNC_TEST_ARGUMENTS.get(name, {}), name
        for prop, value in layer_type.test_arguments:
            assert layer_type.property_map[prop].kind == "bool" and isinstance(value, bool), name


def test_catalog_carries_nncs_skip_at_test():
    catalog = nnspec.layer_types()
    for name, layer_type in catalog.items():
        assert layer_type.skip_at_test == (name in NNC_SKIP_AT_TEST), name
        if layer_type.skip_at_test:
            assert layer_type.property_map["skip_at_test"].default is True  # NNC's default


def test_types_nnspec_lacks_are_the_ones_listed():
    """Every NNC type with test-time arguments or SkipAtTest is in nnspec: a type added later must take
    its test-time arguments along (the two tests above then check it)."""
    missing = (set(NNC_TEST_ARGUMENTS) | NNC_SKIP_AT_TEST) - set(nnspec.layer_types())
    assert missing == set()


# --- BatchNormalization at NNC's defaults --------------------------------------------------------------

BN_SPEC = """nnspec: 1
seed: 3
layers:
  - {name: x, type: Input, size: [4]}
  - {name: bn, type: BatchNormalization}
  - {name: tanh, type: Tanh}
outputs: [bn, tanh]
"""


def bn_params() -> dict[str, np.ndarray]:
    """Trained-looking statistics: var well above epsilon, so the layer does not amplify."""
    rng = np.random.default_rng(5)
    return {
        "bn/bn/mean": rng.normal(0, 1, (1, 4)),
        "bn/bn/var": rng.uniform(0.5, 2.0, (1, 4)),
        "bn/bn/gamma": rng.uniform(0.5, 1.5, (1, 4)),
        "bn/bn/beta": rng.normal(0, 0.1, (1, 4)),
    }


def bn_data() -> np.ndarray:
    return np.random.default_rng(9).normal(0.5, 2.0, (23, 4))


def stored_reference(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    def g(name):
        return p[f"bn/bn/{name}"].astype(np.float32).astype(np.float64)

    return (x - g("mean")) / np.sqrt(g("var") + EPSILON) * g("gamma") + g("beta")


def batch_reference(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    mean, var = x.mean(axis=0), x.var(axis=0)  # biased: divided by the count
    gamma, beta = (p[f"bn/bn/{n}"].astype(np.float32).astype(np.float64) for n in ("gamma", "beta"))
    return (x - mean) / np.sqrt(var + EPSILON) * gamma + beta


def run_bn(batch_size: int | None, **options) -> nnspec.runtime.runner.RunResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        return nnspec.run(nnspec.loads(BN_SPEC), {"x": bn_data()}, params=bn_params(), batch_size=batch_size, **options)


def test_default_batch_normalization_gives_the_same_outputs_for_any_batch_size():
    """NNC's default batch_stat true, run as NNC evaluates: batches of 1, 7 and all 23 samples give
    identical outputs, those of the stored statistics."""
    runs = {size: run_bn(size) for size in (1, 7, None)}
    for name in ("bn", "tanh"):
        np.testing.assert_array_equal(runs[1].outputs[name], runs[None].outputs[name])
        np.testing.assert_array_equal(runs[7].outputs[name], runs[None].outputs[name])
    x = bn_data().astype(np.float32).astype(np.float64)
    expected = stored_reference(x, bn_params())
    np.testing.assert_allclose(runs[None].outputs["bn"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(runs[None].outputs["tanh"], np.tanh(expected), rtol=1e-5, atol=1e-6)
    assert {r.semantics for r in runs.values()} == {"evaluation"}


def test_untrained_default_batch_normalization_multiplies_by_100_at_any_batch_size():
    """NNC initialises mean 0, var 0, gamma 1, beta 0: at evaluation o = x / sqrt(1e-4) = 100 x,
    also for a batch of one sample (not beta, as batch statistics would give)."""
    spec = nnspec.loads(BN_SPEC)
    x = bn_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        one = nnspec.run(spec, {"x": x}, batch_size=1)
        whole = nnspec.run(spec, {"x": x})
    expected = x.astype(np.float32).astype(np.float64) / np.sqrt(EPSILON)
    np.testing.assert_allclose(whole.outputs["bn"], expected, rtol=1e-6)
    np.testing.assert_array_equal(one.outputs["bn"], whole.outputs["bn"])


def test_training_uses_the_batch_statistics_and_depends_on_the_batch():
    whole = run_bn(None, training=True)
    x = bn_data().astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(whole.outputs["bn"], batch_reference(x, bn_params()), rtol=1e-5, atol=1e-5)
    split = run_bn(7, training=True)
    first = batch_reference(x[:7], bn_params())
    np.testing.assert_allclose(split.outputs["bn"][:7], first, rtol=1e-5, atol=1e-5)
    assert not np.allclose(split.outputs["bn"], whole.outputs["bn"], atol=1e-3)
    assert whole.semantics == "training"


def test_the_checks_and_the_result_see_the_properties_that_ran():
    """The spec a run hands back (and the checks judge) has batch_stat false at evaluation and the
    spec's true in training; the spec given is left as it was."""
    spec = nnspec.loads(BN_SPEC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        evaluated = nnspec.run(spec, {"x": bn_data()})
        trained = nnspec.run(spec, {"x": bn_data()}, training=True)
    assert evaluated.spec.layers["bn"].props["batch_stat"] is False
    assert trained.spec.layers["bn"].props["batch_stat"] is True
    assert spec.layers["bn"].props["batch_stat"] is True


def test_prepared_runner_keeps_its_semantics():
    runner = nnspec.prepare(nnspec.loads(BN_SPEC), bn_params(), statistics=False, training=True)
    x = bn_data()
    first, again = runner.run({"x": x}).outputs["bn"], runner.run({"x": x}).outputs["bn"]
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, batch_reference(x.astype(np.float32), bn_params()), rtol=1e-5, atol=1e-5)
    evaluating = nnspec.prepare(nnspec.loads(BN_SPEC), bn_params(), statistics=False)
    np.testing.assert_allclose(
        evaluating.run({"x": x}).outputs["bn"],
        stored_reference(x.astype(np.float32).astype(np.float64), bn_params()),
        rtol=1e-5,
        atol=1e-6,
    )


# --- Dropout ----------------------------------------------------------------------------------------

DROPOUT_SPEC = """nnspec: 1
seed: {seed}
layers:
  - {{name: x, type: Input, size: [50], generator: Uniform}}
  - {{name: drop, type: Dropout, p: 0.25{extra}}}
outputs: [x, drop]
"""


def run_dropout(seed: int = 0, extra: str = "", **options) -> tuple[np.ndarray, np.ndarray]:
    """(input, output) of a Dropout over 40 generated samples of 50 values, without statistics."""
    spec = nnspec.loads(DROPOUT_SPEC.format(seed=seed, extra=extra))
    outputs = nnspec.run(spec, samples=40, statistics=False, **options).outputs
    return outputs["x"], outputs["drop"]


def test_dropout_is_skipped_at_evaluation():
    x, y = run_dropout()
    np.testing.assert_array_equal(y, x)
    assert np.count_nonzero(x) == x.size  # Uniform data: no zeros of its own, so a drop would show


def test_dropout_in_training_drops_a_share_p_and_scales_the_rest():
    """2,000 values, p 0.25: the dropped share within 4 standard errors (0.0097) of p; every kept
    value is its input times 1 / (1 - p), rounded once to float32 (nnabla's x * mask * scale)."""
    x, y = run_dropout(training=True)
    dropped = y == 0
    assert abs(dropped.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / dropped.size)
    np.testing.assert_array_equal(y[~dropped], (x[~dropped].astype(np.float64) / 0.75).astype(np.float32))


def test_dropout_in_training_is_the_same_for_any_batching_and_reproducible():
    outputs = [run_dropout(training=True, batch_size=size)[1] for size in (1, 7, None, None)]
    for other in outputs[1:]:
        np.testing.assert_array_equal(outputs[0], other)


def test_dropout_seed_minus_one_follows_the_specs_seed():
    """NNC's seed -1 takes the spec's seed: the pattern changes with it; a layer's own seed does not.
    The data is a Constant generator, the same for any spec seed, so only the pattern can differ."""

    def pattern(spec_seed: int, layer_seed: str) -> np.ndarray:
        text = DROPOUT_SPEC.format(seed=spec_seed, extra=layer_seed).replace(
            "generator: Uniform", "generator: Constant"
        )
        return nnspec.run(nnspec.loads(text), samples=20, statistics=False, training=True).outputs["drop"] == 0

    assert not np.array_equal(pattern(0, ""), pattern(1, ""))
    np.testing.assert_array_equal(pattern(0, ", seed: 17"), pattern(1, ", seed: 17"))
    np.testing.assert_array_equal(pattern(4, ""), pattern(4, ""))


def test_dropouts_of_seed_minus_one_reading_one_tensor_drop_different_values():
    """Two Dropout layers of seed -1 on the same input: each draws its own pattern (nnabla's global
    generator would), of about p each: the two agree on about p^2 + (1 - p)^2 of the values."""
    spec = nnspec.loads(
        DROPOUT_SPEC.format(seed=0, extra="").replace(
            "outputs: [x, drop]", "  - {name: drop2, type: Dropout, p: 0.25, input: x}\noutputs: [drop, drop2]"
        )
    )
    outputs = nnspec.run(spec, samples=40, statistics=False, training=True).outputs
    first, second = outputs["drop"] == 0, outputs["drop2"] == 0
    assert abs(second.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / second.size)
    agree = 0.25**2 + 0.75**2
    assert abs((first == second).mean() - agree) < 4 * np.sqrt(agree * (1 - agree) / first.size)


def test_dropout_not_skipped_at_test_drops_at_evaluation_too():
    """skip_at_test false: NNC keeps the layer at evaluation, so it drops as in training."""
    _, evaluated = run_dropout(extra=", skip_at_test: false")
    _, trained = run_dropout(training=True)
    np.testing.assert_array_equal(evaluated, trained)
    assert np.count_nonzero(evaluated == 0) > 0


# --- validate predicts the same computation ------------------------------------------------------------


def test_static_prediction_follows_the_semantics(tmp_path):
    """Data in -1..1 through an untrained BatchNormalization at NNC's defaults: at evaluation it
    spans -100..100 and the Tanh after it saturates, which validate predicts; in training the batch
    statistics standardise it."""
    spec = nnspec.loads(BN_SPEC)
    assert (estimates(spec)["bn"].low, estimates(spec)["bn"].high) == pytest.approx((-100.0, 100.0))
    assert estimates(spec, training=True)["bn"].std == pytest.approx(1.0, rel=1e-3)  # var / (var + eps)
    path = tmp_path / "bn.yaml"
    path.write_text(BN_SPEC)
    predicted = {d.code for d in nnspec.validate(path) if d.layer == "tanh"}
    assert any("saturation" in code for code in predicted), predicted


# --- the report says which ran -------------------------------------------------------------------------


def test_reports_say_which_semantics_ran(tmp_path, capsys):
    path = tmp_path / "bn.yaml"
    path.write_text(BN_SPEC.replace("size: [4]}", "size: [4], generator: Uniform}"))
    main(["run", str(path), "--samples", "8"])
    assert capsys.readouterr().out.splitlines()[0].endswith("float32, validation view, as NNC evaluates")
    main(["run", str(path), "--samples", "8", "--training"])
    assert capsys.readouterr().out.splitlines()[0].endswith("float32, training view (--training)")
    for flags, expected in (([], "evaluation"), (["--training"], "training")):
        main(["run", str(path), "--samples", "8", "--format", "json", *flags])
        report = json.loads(capsys.readouterr().out)
        jsonschema.validate(report, report_schema())
        assert report["semantics"] == expected
        assert report["view"] == ("training" if flags else "validation")


def test_html_report_says_which_semantics_ran():
    from nnspec.report.pictures.html import report_html

    for training, expected in ((False, "validation view, as NNC evaluates"), (True, "training view (--training)")):
        result = run_bn(None, training=training)
        header = report_html(result, None, {}).split("</header>")[0]
        assert expected in header


def test_layer_reference_says_what_evaluation_changes():
    from nnspec.report.reference import at_evaluation

    catalog = nnspec.layer_types()
    assert "passes batch_stat false" in at_evaluation(catalog["BatchNormalization"])
    assert "passes update_running_mean false" in at_evaluation(catalog["MeanSubtraction"])
    assert "skip_at_test is true" in at_evaluation(catalog["Dropout"])
    assert at_evaluation(catalog["Tanh"]) == ""


def test_resolved_spec_names_what_evaluation_changes():
    """--print-resolved writes the properties as written, and says under its first line which
    layers nnspec run (as NNC evaluates) runs otherwise; the text still loads back to itself."""
    from nnspec.spec.resolved import resolved_text

    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: bn, type: BatchNormalization}\n  - {name: stored, type: BatchNormalization, batch_stat: false}\n"
        "  - {name: drop, type: Dropout}\n  - {name: kept, type: Dropout, skip_at_test: false}\n"
    )
    resolved = resolved_text(nnspec.loads(text))
    comments = [line for line in resolved.splitlines() if line.startswith("#")][1:]
    assert comments == [
        "# nnspec run (as NNC evaluates) runs bn with batch_stat false",
        "# nnspec run (as NNC evaluates) skips drop: its input passes through",
        "# nnspec run --training runs the properties as written",
    ]
    assert "    batch_stat: true\n" in resolved
    assert resolved_text(nnspec.loads(resolved)) == resolved


def test_graph_takes_training_as_the_training_view(capsys):
    """--training is --view training: without --run the graph shows what validate predicts of that
    view (it once needed --run), with --run the findings of a training run."""
    bn_residual = str(SPECS / "bn_residual.yaml")
    assert main(["graph", bn_residual, "--training"]) == 0
    assert "(training view)" in capsys.readouterr().out
    assert main(["graph", bn_residual, "--run", "--training", "--samples", "4"]) == 0
    assert main(["graph", bn_residual, "--training", "--view", "runtime"]) == 2
    assert "training is the training view" in capsys.readouterr().err
