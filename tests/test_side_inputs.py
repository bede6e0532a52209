"""Side inputs from layers, data or generators: a loss's target (``T: {input: layer}``), and a
two-input layer's second operand under NNC's pin name (``R: {...}``) instead of ``input: [a, b]``."""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError
from nnspec.layers.generators import GENERATORS
from nnspec.spec.resolved import resolved_text
from nnspec.validation import predicted as predict

X = np.array([[0.5, -1.5, 2.0, 0.0], [-0.25, 3.0, -2.0, 1.0], [0.1, 0.2, -0.3, -0.4]], dtype=np.float32)

LAYER_FED = """
nnspec: 2
layers:
  - {name: x, type: Input, size: [4]}
  - {name: p, type: Sigmoid}
  - {name: bce, type: BinaryCrossEntropy, input: p, T: {input: binary}}
  - {name: binary, type: GreaterEqualScalar, input: x, value: 0}
"""

DATA_FED = """
nnspec: 2
layers:
  - {name: x, type: Input, size: [4]}
  - {name: p, type: Sigmoid}
  - {name: bce, type: BinaryCrossEntropy, input: p, T: {dataset: t}}
"""


@pytest.mark.parametrize("statistics", [True, False])
def test_a_target_a_layer_feeds_gives_the_loss_the_same_data_would(statistics):
    fed = nnspec.run(nnspec.loads(LAYER_FED), {"x": X}, statistics=statistics)
    t = (X >= 0).astype(np.float32)
    read = nnspec.run(nnspec.loads(DATA_FED), {"x": X, "t": t}, statistics=statistics)
    assert fed.outputs["bce"].tobytes() == read.outputs["bce"].tobytes()
    p = 1 / (1 + np.exp(-X.astype(np.float64)))  # the formula by hand, in float64
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(fed.outputs["bce"], expected, rtol=1e-6)


def test_a_side_input_layer_is_an_edge_of_the_graph():
    spec = nnspec.loads(LAYER_FED)
    assert ("binary", "bce") in spec.graph.edges
    assert spec.outputs == ["bce"]  # binary is read, so it is no output
    assert spec.order.index("binary") < spec.order.index("bce")  # written after, runs before
    assert [reader.variable for reader in spec.readers] == ["x"]  # the target reads no data


def test_a_side_input_layer_is_written_back_as_it_was_given():
    spec = nnspec.loads(LAYER_FED)
    text = resolved_text(spec)
    assert "T: {input: binary}" in text
    again = nnspec.loads(text)
    assert again.layers["bce"].targets == spec.layers["bce"].targets


def test_two_generated_targets_of_different_shapes_run():
    """Once refused: both claimed data variable y. Each now belongs to its layer."""
    spec = nnspec.loads(
        """
nnspec: 2
layers:
  - {name: x, type: Input, size: [4]}
  - {name: flat, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: 2}}
  - {name: square, type: Reshape, input: x, out_shape: [2, 2]}
  - {name: grid, type: AbsoluteError, input: square, T: {generator: Constant, generator_multiplier: -1}}
"""
    )
    assert [reader.variable for reader in spec.readers] == ["x", "flat/T", "grid/T"]
    result = nnspec.run(spec, {"x": X})
    np.testing.assert_array_equal(result.outputs["flat"], np.square(X - 2))
    np.testing.assert_array_equal(result.outputs["grid"], np.abs(X.reshape(3, 2, 2) + 1))


def test_a_generated_target_draws_the_values_it_drew_before():
    """Its stream is still keyed by the dataset it names (default y): the values a version-1 spec
    generates do not change. An Input reading y with the same generator draws the same values."""
    spec = nnspec.loads(
        """
nnspec: 2
layers:
  - {name: x, type: Input, size: [3]}
  - {name: loss, type: SquaredError, T: {generator: Normal}}
"""
    )
    zeros = np.zeros((5, 3), dtype=np.float32)
    result = nnspec.run(spec, {"x": zeros})
    drawn = GENERATORS["Normal"].draw(spec.seed, "y", 0, 5, (3,)).astype(np.float32)
    np.testing.assert_array_equal(result.outputs["loss"], np.square(zeros - drawn))


def test_a_generated_target_no_longer_takes_data_variable_y():
    spec = nnspec.loads(
        """
nnspec: 2
layers:
  - {name: x, type: Input, size: [2]}
  - {name: loss, type: SquaredError, T: {generator: Constant}}
"""
    )
    with pytest.raises(nnspec.NnspecError) as refused:
        nnspec.run(spec, {"x": X[:, :2], "y": X[:, 2:]})
    assert str(refused.value).startswith("no layer reads data variable(s) y; the spec's variables are: x, loss/T; ")
    assert "T of 'loss' (SquaredError) names 'y' but is generated (Constant); give its values as loss/T" in str(
        refused.value
    )
    in_the_spec = _errors(
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "  - {name: loss, type: SquaredError, T: {generator: Constant}}\ndata: {y: [[1, 2]]}\n"
    )
    assert in_the_spec == [
        "data names variable 'y', but no layer reads it; T of 'loss' (SquaredError) names 'y' but is generated "
        "(Constant); remove its generator to read 'y'"
    ]
    # its own variable may still be given, as an Input's data comes before its generator
    given = nnspec.run(spec, {"x": X[:, :2], "loss/T": X[:, 2:]})
    np.testing.assert_array_equal(given.outputs["loss"], np.square(X[:, :2] - X[:, 2:]))


SUB2 = """
nnspec: 2
layers:
  - {name: x, type: Input, size: [4]}
  - {name: r, type: Input, size: [4], generator: Normal, generator_multiplier: 3}
  - {name: sub, type: Sub2, input: SECOND}
"""


@pytest.mark.parametrize("pin", ["x, R: {generator: Normal, generator_multiplier: 3, dataset: r}", "x, R: {input: r}"])
def test_a_second_operand_under_its_pin_equals_two_inputs(pin):
    """R from a generator (drawn from the stream of the variable it names) or from a layer computes
    what input: [x, r] computes with an Input r of that generator."""
    under_pin = nnspec.run(nnspec.loads(SUB2.replace("SECOND", pin)), {"x": X})
    two_inputs = nnspec.run(nnspec.loads(SUB2.replace("SECOND", "[x, r]")), {"x": X})
    assert under_pin.outputs["sub"].tobytes() == two_inputs.outputs["sub"].tobytes()
    drawn = GENERATORS["Normal"].draw(0, "r", 0, 3, (4,)) * 3
    np.testing.assert_array_equal(under_pin.outputs["sub"], X - drawn.astype(np.float32))


def test_a_constant_second_operand_is_nnc_default_for_an_unlinked_pin():
    spec = nnspec.loads(
        """
nnspec: 2
layers:
  - {name: x, type: Input, size: [4]}
  - {name: half, type: Div2, R: {generator: Constant, generator_multiplier: 2}}
  - {name: minus_one, type: Sub2, input: x, R: {}}
  - {name: over, type: Greater, input: x, R: {dataset: limit}}
"""
    )
    assert spec.layers["half"].inputs == ["x"]
    limit = np.full_like(X, 0.5)
    result = nnspec.run(spec, {"x": X, "limit": limit})
    np.testing.assert_array_equal(result.outputs["half"], X / 2)
    np.testing.assert_array_equal(result.outputs["minus_one"], X - 1)  # R.Generator=Constant x1, as NNC
    np.testing.assert_array_equal(result.outputs["over"], (X > 0.5).astype(np.float32))
    assert "R: {dataset: limit, generator: None" in resolved_text(spec)


def test_a_divisor_generated_as_zero_is_found_before_and_during_a_run():
    spec = nnspec.loads(
        """
nnspec: 2
layers:
  - {name: x, type: Input, size: [4]}
  - {name: div, type: Div2, R: {generator: Constant, generator_multiplier: 0}}
"""
    )
    predicted = [d for d in predict(spec) if d.layer == "div"]
    assert any("the values of its R" in d.message for d in predicted), predicted
    result = nnspec.run(spec, {"x": X})
    found = [f.message for f in result.findings if f.layer == "div"]
    assert any("12 of 12 values of its R" in message for message in found), found


def _errors(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        nnspec.loads(text)
    return [d.message for d in caught.value.diagnostics]


def test_batch_matmul_takes_its_r_from_a_layer_only():
    """NNC's BatchMatmul has no R.Dataset/R.Generator: its R is linked."""
    base = """
nnspec: 2
layers:
  - {name: a, type: Input, size: [2, 3]}
  - {name: b, type: Input, size: [3, 4]}
"""
    spec = nnspec.loads(base + "  - {name: mm, type: BatchMatmul, input: a, R: {input: b}}\n")
    assert spec.layers["mm"].inputs == ["a", "b"]
    assert spec.layers["mm"].shape == (2, 4)
    errors = _errors(base + "  - {name: mm, type: BatchMatmul, input: a, R: {generator: Constant}}\n")
    assert any("has no property 'generator'" in message for message in errors), errors


def test_a_second_operand_missing_says_how_to_give_it():
    errors = _errors("nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: s, type: Sub2}\n")
    assert any("or as R: {input: LAYER}" in message for message in errors), errors


def test_the_schema_completes_the_sources_of_each_side_input():
    from nnspec.spec.schema import spec_schema

    defs = spec_schema()["$defs"]
    sources = {"dataset", "generator", "generator_multiplier", "input"}
    assert set(defs["BinaryCrossEntropy"]["properties"]["T"]["properties"]) == sources
    assert set(defs["KLMultinomial"]["properties"]["q"]["properties"]) == sources
    assert set(defs["Sub2"]["properties"]["R"]["properties"]) == sources
    assert set(defs["ATan2"]["properties"]["x"]["properties"]) == sources
    assert set(defs["BatchMatmul"]["properties"]["R"]["properties"]) == {"input"}
    assert "R" not in defs["Add2"]["properties"]  # NNC's Add2 takes both inputs on one pin
    assert "R" not in defs["Equal"]["properties"]


@pytest.mark.parametrize(("source", "fires"), [("GreaterEqualScalar", False), ("Tanh", True), ("Sigmoid", False)])
def test_validate_predicts_a_target_a_layer_feeds_from_that_layer_range(source, fires):
    """Tanh's -1..1 cannot be 0/1 targets; a GreaterEqualScalar's or a Sigmoid's 0..1 may be (an
    estimate does not tell 0/1 values from others within 0..1, which the run then measures)."""
    spec = nnspec.loads(LAYER_FED.replace("type: GreaterEqualScalar, input: x, value: 0", f"type: {source}, input: x"))
    messages = [d.message for d in predict(spec) if d.layer == "bce"]
    assert bool(messages) == fires, messages
    if fires:
        expected = "its target T, the output of layer 'binary', is expected to span -0.7616..0.7616"  # tanh(1)
        assert expected in messages[0]  # x estimated by NNC's rule of -1..1
        run = nnspec.run(spec, {"x": X})  # and the run measures it
        assert any(f.check == "bce-input-range" for f in run.findings)


def test_kl_multinomial_takes_q_from_a_layer_as_it_would_from_data():
    layers = """
nnspec: 2
layers:
  - {name: x, type: Input, size: [4]}
  - {name: p, type: Softmax, input: x}
  - {name: sharper, type: MulScalar, input: x, value: 2}
  - {name: q, type: Softmax, input: sharper}
  - {name: kl, type: KLMultinomial, input: p, Q}
"""
    fed_spec = nnspec.loads(layers.replace("Q", "q: {input: q}"))
    assert fed_spec.outputs == ["kl"]  # q is read, so it is no output
    fed = nnspec.run(fed_spec, {"x": X})
    q = np.exp(2 * X - (2 * X).max(axis=1, keepdims=True))  # q's softmax by hand, given as data
    q = (q / q.sum(axis=1, keepdims=True)).astype(np.float32)
    read = nnspec.run(nnspec.loads(layers.replace("Q", "q: {dataset: qdata}")), {"x": X, "qdata": q})
    p = np.exp(X - X.max(axis=1, keepdims=True)).astype(np.float64)
    p /= p.sum(axis=1, keepdims=True)
    expected = (p * (np.log(p + 1e-8) - np.log(q + 1e-8))).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fed.outputs["kl"], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fed.outputs["kl"], read.outputs["kl"], rtol=1e-6, atol=1e-7)
