"""Everything derived from the catalog is current, and the examples run as they are."""

from __future__ import annotations

import json
import os

import jsonschema
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.core.diagnostics import SpecError
from nnspec.layers.catalog import layer_types
from nnspec.report.reference import markdown
from nnspec.spec.loader import load_file
from nnspec.spec.schema import schema_text

from .conftest import ROOT, SPECS

EXAMPLES = sorted(SPECS.glob("*.yaml"))
REGENERATE = (
    "regenerate with: nnspec schema > schemas/nnspec.schema.json; nnspec layers --format markdown > docs/layers.md"
)


def test_committed_schema_is_current():
    assert (ROOT / "schemas" / "nnspec.schema.json").read_text() == schema_text(), REGENERATE


def test_committed_layer_reference_is_current():
    assert (ROOT / "docs" / "layers.md").read_text() == markdown(), REGENERATE


def test_schema_is_a_valid_draft_7_schema_with_the_same_meaning_in_2020_12():
    # Draft 7 for editors; no keyword whose meaning changed after it (a $ref beside other
    # keywords, array-form items), so validators of either draft read it alike.
    schema = json.loads(schema_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema({**schema, "$schema": "https://json-schema.org/draft/2020-12/schema"})

    def later_meaning(node):
        if isinstance(node, dict):
            if "$ref" in node and len(node) > 1 or isinstance(node.get("items"), list):
                yield node
            yield from set(node) & {"prefixItems", "unevaluatedProperties", "dependentSchemas", "$dynamicRef"}
            for value in node.values():
                yield from later_meaning(value)
        elif isinstance(node, list):
            for value in node:
                yield from later_meaning(value)

    assert list(later_meaning(schema)) == []


def test_every_key_an_editor_completes_has_a_description():
    # An editor shows a key's description on hover and beside its completion.
    def undescribed(schema, path):
        for key, sub in schema.get("properties", {}).items():
            if sub is True:  # declared here, described where the common layer keys are
                continue
            if not {"description", "markdownEnumDescriptions", "$ref"} & set(sub):
                yield f"{path}.{key}"
            yield from undescribed(sub, f"{path}.{key}")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                yield from undescribed(schema[key], f"{path}[{key}]")
        for variant in schema.get("anyOf", []) + schema.get("oneOf", []):
            yield from undescribed(variant, path)
        for name, sub in schema.get("$defs", {}).items():
            yield from undescribed(sub, f"#{name}")

    assert list(undescribed(json.loads(schema_text()), "spec")) == []


@pytest.mark.parametrize("name", sorted(layer_types()))
def test_catalog_entry_is_complete(name):
    entry = layer_types()[name]
    assert entry.formula and entry.description and entry.category
    assert callable(entry.forward) and callable(entry.infer_shape)
    for prop in entry.properties:
        assert prop.description and prop.name == prop.name.lower()
    if entry.parameters:
        # their nnabla names: {scope}/{function scope}/W, /W for the types NNC names without a scope, or
        # the layer's own name for a layer whose one parameter is its own array (NNC's Parameter category)
        own_array = name in ("Parameter", "WorkingMemory") and len(entry.parameters) == 1
        assert entry.function_scope or entry.unscoped_parameters or own_array, "parameters need a function scope"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_spec_is_valid_for_an_editor_and_for_nnspec_and_runs(path):
    assert path.read_text().startswith("# yaml-language-server: $schema=../schemas/nnspec.schema.json\n")
    schema = json.loads((ROOT / "schemas" / "nnspec.schema.json").read_text())
    jsonschema.validate(load_file(path).data, schema)  # what an editor's YAML language server checks
    result = nnspec.run(nnspec.load(path))
    assert result.outputs and not result.errors


@pytest.mark.parametrize("which", ["report", "validate"])
def test_committed_output_schemas_are_current_and_valid(which):
    from nnspec.report.report_schema import report_schema, validate_schema

    schema = {"report": report_schema, "validate": validate_schema}[which]()
    assert (ROOT / "schemas" / f"{which}.schema.json").read_text() == schema_text(schema), (
        f"regenerate with: nnspec schema {which} > schemas/{which}.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(schema)


def test_committed_checks_reference_is_current():
    from nnspec.report.reference import checks_markdown

    assert (ROOT / "docs" / "checks.md").read_text() == checks_markdown(), (
        "regenerate with: nnspec checks --format markdown > docs/checks.md"
    )


def test_committed_codes_reference_is_current():
    from nnspec.report.reference import codes_markdown

    assert (ROOT / "docs" / "codes.md").read_text() == codes_markdown(), (
        "regenerate with: nnspec codes --format markdown > docs/codes.md"
    )


# --- random valid specs from the catalog -------------------------------------------------------------
#
# Hypothesis draws a chain of layers from the catalog, each with random properties of its kinds and
# random inputs among the layers before it; a layer is kept when the spec stays valid with it. The
# same examples run on every run (CI stays repeatable); NNSPEC_MUTATIONS=N draws N fresh ones, as it
# sets the number of mutation cases in test_mutations.py.

EXPLORE = int(os.environ.get("NNSPEC_MUTATIONS") or 0)
PROPERTY_EXAMPLES = EXPLORE or 100


def property_settings(examples: int = PROPERTY_EXAMPLES):
    """Hypothesis settings of the property tests: repeatable in CI, fresh with NNSPEC_MUTATIONS."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not EXPLORE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


SMALL = st.integers(1, 5)
TYPES = sorted(name for name, entry in layer_types().items() if not entry.is_source)


def property_value(kind: str, choices: tuple[str, ...]) -> st.SearchStrategy:
    """A value of a property kind, small enough to run in a moment."""
    short_list = st.lists(st.integers(0, 3), min_size=1, max_size=3)
    values = {
        "bool": st.booleans(),
        "choice": st.sampled_from(choices or ("x",)),
        "float": st.floats(-3, 3, allow_nan=False, width=32),
        "float_array": st.lists(st.floats(-3, 3, width=32), min_size=1, max_size=3),
        "int": st.integers(-3, 3),
        "uint": st.integers(0, 3),
        "pint": st.integers(1, 4),
        "shape": st.one_of(SMALL, st.lists(SMALL, min_size=1, max_size=3)),
        "int_array": st.one_of(st.integers(-3, 3), st.lists(st.integers(-3, 3), min_size=1, max_size=3)),
        "uint_array": st.one_of(st.integers(0, 3), short_list),
        "range": st.tuples(st.floats(-3, 0, width=32), st.floats(0, 3, width=32)).map(list),
    }
    return values.get(kind, st.nothing())


@st.composite
def layer_entry(draw: st.DrawFn, index: int, names: list[str]) -> dict:
    """One layer of a random type, its inputs among ``names``, some properties drawn, the rest default."""
    entry = layer_types()[draw(st.sampled_from(TYPES))]
    most = min(entry.arity.most if entry.arity.most is not None else 3, 3)
    count = draw(st.integers(entry.arity.least, max(entry.arity.least, most)))
    layer: dict = {"name": f"l{index}", "type": entry.name}
    if count:
        inputs = [draw(st.sampled_from(names)) for _ in range(count)]
        layer["input"] = inputs[0] if count == 1 else inputs
    for prop in entry.properties:
        if prop.kind != "text" and draw(st.booleans()):
            layer[prop.name] = draw(property_value(prop.kind, prop.choices))
    for target in entry.targets:
        layer[target.name] = {"generator": draw(st.sampled_from(["Normal", "Uniform", "Constant"]))}
    return layer


@st.composite
def valid_specs(draw: st.DrawFn, most_layers: int = 6) -> dict:
    """A valid spec as plain data: an Input, then layers from the catalog that keep it valid."""
    size = draw(st.lists(SMALL, min_size=1, max_size=3))
    generator = draw(st.sampled_from(["Normal", "Uniform", "Constant", "Range"]))
    doc = {
        "nnspec": 1,
        "seed": draw(st.integers(0, 2**16)),
        "dtype": draw(st.sampled_from(["float32", "float64"])),
        "layers": [{"name": "x", "type": "Input", "size": size, "generator": generator}],
    }
    for index in range(draw(st.integers(1, most_layers))):
        for _attempt in range(4):  # a random layer rarely fits what comes before it: try a few
            names = [layer["name"] for layer in doc["layers"]]
            candidate = {**doc, "layers": doc["layers"] + [draw(layer_entry(index, names))]}
            if is_valid(candidate):
                doc = candidate
                break
    return doc


def is_valid(doc: dict) -> bool:
    try:
        nnspec.loads(yaml.safe_dump(doc, sort_keys=False), "generated.yaml")
    except SpecError:
        return False
    return True


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a numpy warning reaching the user is a failure
@property_settings()
@given(valid_specs())
def test_shape_inference_agrees_with_the_shapes_a_run_produces(doc):
    # every layer's values, to compare them all: the layers that run (an LSTM is written out into its
    # unit's layers, one copy a step), named as the spec's outputs may name them
    doc["outputs"] = list(nnspec.loads(yaml.safe_dump(doc, sort_keys=False), "generated.yaml").layers)
    spec = nnspec.loads(yaml.safe_dump(doc, sort_keys=False), "generated.yaml")
    result = nnspec.run(spec, samples=2, max_memory=2**28)
    for name, layer in spec.layers.items():
        assert result.outputs[name].shape == (2, *layer.shape), (name, layer.type.name)
        assert result.outputs[name].dtype == np.dtype(spec.dtype) or layer.type.is_source, name
