"""Everything derived from the catalog is current, and the examples run as they are."""

from __future__ import annotations

import json

import jsonschema
import pytest

import nnspec
from nnspec.catalog import layer_types
from nnspec.loader import load_file
from nnspec.reference import markdown
from nnspec.schema import schema_text

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
        assert entry.function_scope, "parameters need a function scope for their nnabla names"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_spec_is_valid_for_an_editor_and_for_nnspec_and_runs(path):
    assert path.read_text().startswith("# yaml-language-server: $schema=../schemas/nnspec.schema.json\n")
    schema = json.loads((ROOT / "schemas" / "nnspec.schema.json").read_text())
    jsonschema.validate(load_file(path).data, schema)  # what an editor's YAML language server checks
    result = nnspec.run(nnspec.load(path))
    assert result.outputs and not result.errors


@pytest.mark.parametrize("which", ["report", "validate"])
def test_committed_output_schemas_are_current_and_valid(which):
    from nnspec.output_schemas import report_schema, validate_schema

    schema = {"report": report_schema, "validate": validate_schema}[which]()
    assert (ROOT / "schemas" / f"{which}.schema.json").read_text() == schema_text(schema), (
        f"regenerate with: nnspec schema {which} > schemas/{which}.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(schema)


def test_committed_checks_reference_is_current():
    from nnspec.reference import checks_markdown

    assert (ROOT / "docs" / "checks.md").read_text() == checks_markdown(), (
        "regenerate with: nnspec checks --format markdown > docs/checks.md"
    )
