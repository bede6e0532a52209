"""The generator table (nnspec.layers.generators) is what the catalog, the schema, a run and `validate`
read: each row's draws checked against numpy on the whole tensor and against its estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnspec.layers.catalog import layer_types
from nnspec.layers.generators import GENERATOR_CHOICES, GENERATORS
from nnspec.spec.schema import schema_text
from nnspec.validation import loads

SIZE = (4, 25)
SAMPLES = 400


def _spec(generator: str, multiplier: float):
    return loads(
        "nnspec: 1\nlayers:\n"
        f"  - {{name: x, type: Input, size: [4, 25], generator: {generator}, generator_multiplier: {multiplier}}}\n"
        "  - {name: t, type: Tanh}\n"
    )


def test_the_catalog_and_the_target_schema_offer_the_tables_generators():
    [generator] = [p for p in layer_types()["Input"].properties if p.name == "generator"]
    assert tuple(generator.choices) == ("None", "Normal", "Uniform", "Constant", "Range")
    assert tuple(generator.choices) == GENERATOR_CHOICES
    enums = []

    def collect(node):
        if isinstance(node, dict):
            if "generator" in node.get("properties", {}) and "enum" in node["properties"]["generator"]:
                enums.append(node["properties"]["generator"]["enum"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(json.loads(schema_text()))
    assert enums and all(tuple(enum) == GENERATOR_CHOICES for enum in enums)


@pytest.mark.parametrize("name", ["Normal", "Uniform"])
def test_random_draws_have_the_moments_and_bounds_their_estimate_gives(name):
    multiplier = -2.5
    values = GENERATORS[name].draw(0, "x", 0, SAMPLES, SIZE) * multiplier
    estimate = GENERATORS[name].estimate(multiplier)
    assert values.shape == (SAMPLES, *SIZE)
    # 40000 values: the sample mean is within 4 standard errors of the estimate's mean
    assert abs(values.mean() - estimate.mean) < 4 * estimate.std / np.sqrt(values.size)
    assert values.std() == pytest.approx(estimate.std, rel=0.02)
    assert estimate.low <= values.min() and values.max() <= estimate.high


def test_normal_is_mean_0_std_1_and_uniform_is_minus_1_to_1_before_the_multiplier():
    assert (GENERATORS["Normal"].estimate(1.0).mean, GENERATORS["Normal"].estimate(1.0).std) == (0.0, 1.0)
    uniform = GENERATORS["Uniform"].estimate(3.0)
    assert (uniform.low, uniform.high) == (-3.0, 3.0)
    assert uniform.std == pytest.approx(6.0 / np.sqrt(12.0))  # the std of U(-3, 3): width / sqrt(12)


def test_constant_and_range_are_the_values_their_documentation_names():
    constant = GENERATORS["Constant"].draw(0, "x", 3, 2, (2, 3))
    assert np.array_equal(constant, np.ones((2, 2, 3)))
    spaced = GENERATORS["Range"].draw(0, "x", 0, 2, (2, 3))
    by_hand = np.array([[-1.0, -0.6, -0.2], [0.2, 0.6, 1.0]])  # -1 to 1 in 5 equal steps over the sample
    assert np.allclose(spaced, np.stack([by_hand, by_hand]))
    assert GENERATORS["Constant"].estimate(-0.5).mean == -0.5 and GENERATORS["Constant"].estimate(-0.5).std == 0.0


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_a_sample_is_drawn_alike_in_any_batch(name):
    whole = GENERATORS[name].draw(7, "x", 0, 10, (3, 3))
    assert np.array_equal(GENERATORS[name].draw(7, "x", 4, 3, (3, 3)), whole[4:7])


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_validate_starts_from_the_tables_estimate(name):
    from nnspec.spec.static import _source

    spec = _spec(name, 2.0)
    assert _source(spec, spec.layers["x"]) == GENERATORS[name].estimate(2.0)


def test_a_target_may_be_generated_by_range_too():
    import nnspec

    spec = loads(
        "nnspec: 1\nlayers:\n"
        "  - {name: x, type: Input, size: [4], generator: Constant, generator_multiplier: 0}\n"
        "  - {name: l, type: SquaredError, T: {generator: Range, generator_multiplier: 0.5}}\n"
    )
    result = nnspec.run(spec, samples=2)
    # x = 0 and t = 0.5 * (-1, -1/3, 1/3, 1): the squared error of each value is t^2
    expected = (0.5 * np.linspace(-1.0, 1.0, 4)) ** 2
    assert np.allclose(result.outputs["l"], np.stack([expected, expected]))
