"""Domain checks (log-domain, pow-domain, division-by-zero): inputs where a layer's formula is
undefined, predicted by validate from the spec and counted by run; the counts and the cases that
must and must not warn are worked out with numpy here, independently of nnspec."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml

import nnspec
from nnspec.core.estimate import Estimate
from nnspec.validation import predicted

F32 = np.float32


def make_spec(*layers: dict[str, Any]) -> nnspec.Spec:
    return nnspec.loads(yaml.safe_dump({"nnspec": 1, "layers": [dict(layer) for layer in layers]}, sort_keys=False))


def layer(name: str, type_: str, **props: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **props}


X = layer("x", "Input", size=[16], generator="Normal")  # standardised data
FC = layer("fc", "Affine", out_shape=8)  # Glorot weights: its outputs are about N(0, 1.2)


def predicted_codes(spec: nnspec.Spec) -> set[tuple[str, str]]:
    return {(d.code, d.layer) for d in predicted(spec)}


# --- validate: what must warn and what must not ------------------------------------------------------

MUST_WARN = {
    "Log after ReLU: log(0) = -inf": ([X, FC, layer("r", "ReLU"), layer("l", "Log")], ("log-domain", "l")),
    "Log of an Affine: negative inputs": ([X, FC, layer("l", "Log")], ("log-domain", "l")),
    "square root of an Affine": ([X, FC, layer("p", "PowScalar", value=0.5)], ("pow-domain", "p")),
    "1 / ReLU via a power of -1": (
        [X, FC, layer("r", "ReLU"), layer("p", "PowScalar", value=-1.0)],
        ("pow-domain", "p"),
    ),
    "Div2 by a ReLU": (
        [X, FC, layer("r", "ReLU"), layer("d", "Div2", input=["fc", "r"])],
        ("division-by-zero", "d"),
    ),
    "RDivScalar of an Affine": ([X, FC, layer("d", "RDivScalar")], ("division-by-zero", "d")),
    "Log of a Softmax whose logits spread past 104 (float32 underflows to 0)": (
        [
            X,
            layer("fc", "Affine", out_shape=8, W={"initializer": "Normal", "multiplier": 100}),
            layer("p", "Softmax"),
            layer("l", "Log"),
        ],
        ("log-domain", "l"),
    ),
    "Log of a Sigmoid that underflows to 0": (
        [
            X,
            layer("fc", "Affine", out_shape=8, W={"initializer": "Normal", "multiplier": 30}),
            layer("s", "Sigmoid"),
            layer("l", "Log"),
        ],
        ("log-domain", "l"),
    ),
}

MUST_NOT_WARN = {
    "Log after Exp": [X, FC, layer("e", "Exp"), layer("l", "Log")],
    "Log after SoftPlus plus an epsilon": [
        X,
        FC,
        layer("s", "SoftPlus"),
        layer("a", "AddScalar", value=1e-6),
        layer("l", "Log"),
    ],
    "Log after a Sigmoid of unit-scale inputs": [X, FC, layer("s", "Sigmoid"), layer("l", "Log")],
    "Log of data declared positive": [layer("x", "Input", size=[4], range=[0.5, 2.0]), layer("l", "Log")],
    "an integer power of anything": [X, FC, layer("p", "PowScalar", value=2.0)],
    "square root after ReLU": [X, FC, layer("r", "ReLU"), layer("p", "PowScalar", value=0.5)],
    "Log of a Softmax of unit-scale logits": [X, FC, layer("p", "Softmax"), layer("l", "Log")],
    "Div2 by an Exp": [X, FC, layer("e", "Exp"), layer("d", "Div2", input=["fc", "e"])],
}


@pytest.mark.parametrize("case", sorted(MUST_WARN))
def test_validate_predicts_the_domain_error(case):
    layers, expected = MUST_WARN[case]
    assert expected in predicted_codes(make_spec(*layers))


@pytest.mark.parametrize("case", sorted(MUST_NOT_WARN))
def test_validate_does_not_predict_a_domain_error_that_cannot_happen(case):
    codes = predicted_codes(make_spec(*MUST_NOT_WARN[case]))
    assert not {code for code, _ in codes} & {"log-domain", "pow-domain", "division-by-zero"}, codes


def test_a_prediction_names_the_reach_and_the_remedy():
    [warning] = [d for d in predicted(make_spec(*MUST_WARN["Log after ReLU: log(0) = -inf"][0])) if d.layer == "l"]
    assert warning.severity == "warning"
    assert "reach 0.." in warning.message and "ln(0) is -inf" in warning.message
    assert "add a small constant first (AddScalar)" in warning.message


# --- run: the counts, as numpy has them --------------------------------------------------------------


def test_log_after_relu_counts_the_zeros_numpy_counts_and_replaces_the_nan_inf_finding():
    spec = make_spec(layer("x", "Input", size=[8]), layer("r", "ReLU"), layer("l", "Log"))
    x = np.random.default_rng(0).standard_normal((50, 8))
    result = nnspec.run(spec, {"x": x})
    zeros = int(np.count_nonzero(np.maximum(x.astype(F32), 0) <= 0))
    [finding] = [f for f in result.findings if f.layer == "l"]  # no nan-inf beside it: this says why
    assert finding.check == "log-domain"
    assert f"{zeros} of 400 inputs" in finding.message and "are <= 0" in finding.message


def test_division_by_a_second_input_names_that_input_and_counts_its_exact_zeros():
    spec = make_spec(layer("x", "Input", size=[6]), layer("r", "ReLU"), layer("d", "Div2", input=["x", "r"]))
    x = np.random.default_rng(1).standard_normal((40, 6))
    result = nnspec.run(spec, {"x": x})
    zeros = int(np.count_nonzero(np.maximum(x, 0) == 0))
    [finding] = [f for f in result.findings if f.layer == "d"]
    assert finding.check == "division-by-zero"
    assert f"{zeros} of 240 values of its input r" in finding.message and "exactly 0" in finding.message


def test_sigmoid_underflow_into_log_is_counted_as_float32_has_it():
    spec = make_spec(layer("x", "Input", size=[4]), layer("s", "Sigmoid"), layer("l", "Log"))
    x = np.array([[-200.0, -100.0, -80.0, 0.0]])
    result = nnspec.run(spec, {"x": x})
    with np.errstate(over="ignore"):
        underflowed = int(np.count_nonzero(F32(1) / (F32(1) + np.exp(-x.astype(F32))) == 0))
    assert underflowed == 2  # -200 and -100 (the premise: float32 sigmoid is 0 below about -88.7)
    [finding] = [f for f in result.findings if f.layer == "l"]
    assert finding.check == "log-domain" and "2 of 4 inputs (50%) are <= 0" in finding.message


def test_an_inherited_minus_inf_is_not_counted_again_but_new_negatives_are():
    """Log(Log(x)): the first Log makes -inf of 0 and negatives of 0..1; the second is reported for
    those negatives only, the -inf being the first Log's finding."""
    spec = make_spec(layer("x", "Input", size=[4]), layer("l1", "Log"), layer("l2", "Log"))
    x = np.array([[0.0, 0.5, 2.0, 3.0]])
    result = nnspec.run(spec, {"x": x})
    with np.errstate(divide="ignore"):
        first = np.log(x.astype(F32))
    negatives = int(np.count_nonzero(np.isfinite(first) & (first <= 0)))
    assert negatives == 1  # log(0.5)
    by_layer = {f.layer: f for f in result.findings}
    assert by_layer["l1"].check == "log-domain" and "1 of 4 inputs (25%)" in by_layer["l1"].message
    assert by_layer["l2"].check == "log-domain" and f"{negatives} of 4 inputs (25%)" in by_layer["l2"].message


@pytest.mark.parametrize(("power", "kind", "count"), [(0.5, "< 0", 2), (-1.0, "exactly 0", 1), (-0.5, "<= 0", 3)])
def test_pow_domain_depends_on_the_power(power, kind, count):
    spec = make_spec(layer("x", "Input", size=[5]), layer("p", "PowScalar", value=power))
    result = nnspec.run(spec, {"x": np.array([[-2.0, -0.5, 0.0, 1.0, 4.0]])})
    [finding] = [f for f in result.findings if f.layer == "p"]
    assert finding.check == "pow-domain" and f"{count} of 5 inputs" in finding.message and kind in finding.message


def test_an_integer_power_has_no_domain():
    spec = make_spec(layer("x", "Input", size=[3]), layer("p", "PowScalar", value=3.0))
    assert not nnspec.run(spec, {"x": np.array([[-2.0, 0.0, 1.0]])}).findings


@pytest.mark.parametrize(("power", "finding"), [(np.inf, None), (-np.inf, "pow-domain"), (np.nan, "nan-inf")])
def test_infinite_and_nan_powers(power, finding):
    """numpy (as nnabla's powf): x^inf is 0 for |x| < 1, never NaN; 0^-inf is inf; x^NaN is NaN."""
    spec = make_spec(layer("x", "Input", size=[3]), layer("p", "PowScalar", value=power))
    x = np.array([[-0.5, 0.0, 0.5]], dtype=np.float32)
    result = nnspec.run(spec, {"x": x})
    with np.errstate(all="ignore"):
        assert np.array_equal(result.outputs["p"], x**power, equal_nan=True)
    assert [f.check for f in result.findings if f.layer == "p"] == ([finding] if finding else [])


# --- the estimate's practical reach and quantiles ----------------------------------------------------


def test_quantiles_of_a_normal_and_a_uniform_estimate():
    from statistics import NormalDist

    assert Estimate(0.0, 50.0).quantile(0.99) == pytest.approx(50 * NormalDist().inv_cdf(0.99))
    assert Estimate.between(0.0, 255.0).quantile(0.01) == pytest.approx(2.55)


@pytest.mark.parametrize(("generator", "multiplier", "warns"), [("Normal", 1.0, False), ("Normal", 2.0, True)])
def test_input_range_is_predicted_on_the_bulk(generator, multiplier, warns):
    """N(0, 1) keeps 98% within +-2.33 (passes -3..3); N(0, 2) reaches +-4.65 (does not)."""
    spec = make_spec(layer("x", "Input", size=[4], generator=generator, generator_multiplier=multiplier))
    assert (("input-range", "x") in predicted_codes(spec)) == warns
