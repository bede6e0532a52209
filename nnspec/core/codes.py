"""The diagnostic codes: every kind of problem nnspec reports, one row each.

A Diagnostic's ``code`` is a stable id that CI tools, SARIF rules and scripts key on
(``[unknown-type]`` at the end of a line). Raise sites name a code by its constant here
(``code=codes.SHAPE``) rather than by text, so a misspelt code is an AttributeError where it
is raised and a test over nnspec's source (tests/test_codes.py) finds any code given as text.
SARIF's rule descriptions and docs/codes.md read their summaries from this table.

The range checks' ids are codes too (a run's findings become diagnostics carrying them); they
live in the table of nnspec.checks.table, which describes them, and are not repeated here.

This module imports nothing from nnspec: it sits at the bottom of the import order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# The stages a spec goes through, in order: a code's stage says where its problem shows.
STAGES = (
    "read",  # the file's bytes as text
    "yaml",  # the text as YAML
    "schema",  # keys and values against the spec language
    "wiring",  # layers' names and inputs as a graph
    "shape",  # shapes inferred through the layers
    "files",  # files the spec or the command line names
    "data",  # data given in the spec or read for a run
    "parameters",  # parameter values given, loaded or drawn
    "internal",  # nnspec itself
)


@dataclass(frozen=True)
class Code:
    """One kind of problem: its id (what a diagnostic carries), its stage, what it means."""

    id: str
    stage: str
    summary: str


_table: dict[str, Code] = {}


def _code(id: str, stage: str, summary: str) -> str:
    """Registers a row while this module loads; returns the id, so a constant is plain text."""
    if id in _table or stage not in STAGES:
        raise ValueError(f"diagnostic code {id!r}: registered twice, or its stage {stage!r} is not one of STAGES")
    _table[id] = Code(id, stage, summary)
    return id


ENCODING = _code("encoding", "read", "a spec file that is not UTF-8 text")
EMPTY = _code("empty", "read", "an empty spec file")

YAML_SYNTAX = _code("yaml-syntax", "yaml", "the file is not valid YAML")
YAML_MULTIPLE_DOCUMENTS = _code("yaml-multiple-documents", "yaml", "more than one YAML document in a spec file")
YAML_TOO_DEEP = _code("yaml-too-deep", "yaml", "YAML nested too deeply")
YAML_KEY = _code("yaml-key", "yaml", "a YAML key that is not a plain string")
YAML_DUPLICATE_KEY = _code("yaml-duplicate-key", "yaml", "a key given twice in one mapping")
YAML_MERGE_KEY = _code("yaml-merge-key", "yaml", "a YAML merge key (<<), which specs do not use")
YAML_VALUE = _code("yaml-value", "yaml", "a YAML scalar that its tag or its size makes unusable")
YAML_ANCHOR = _code("yaml-anchor", "yaml", "a YAML anchor, which specs do not use")
YAML_ALIAS = _code("yaml-alias", "yaml", "a YAML alias, which specs do not use")
YAML_TAG = _code("yaml-tag", "yaml", "a YAML tag, which specs do not use")
NNC_PROJECT_SYNTAX = _code(
    "nnc-project-syntax", "yaml", "an NNC project (.sdcproj) line or section that NNC's grammar does not allow"
)
ONNX_MODEL = _code("onnx-model", "yaml", "an .onnx file that is no ONNX model, or whose external data cannot be read")
NNTXT_SYNTAX = _code("nntxt-syntax", "yaml", "an .nntxt file that is not protobuf text, or too large or deep to read")
NNTXT_UNSUPPORTED = _code(
    "nntxt-unsupported", "schema", "an .nntxt network using what nnspec cannot express (a function, an argument)"
)
ONNX_UNSUPPORTED = _code(
    "onnx-unsupported", "schema", "an ONNX node nnspec cannot express as NNC layers (an operator, an attribute)"
)

NOT_A_MAPPING = _code("not-a-mapping", "schema", "a spec that is not a mapping of keys")
VERSION = _code(
    "version",
    "schema",
    "a missing or unknown format version (the nnspec: key); info: an older version's meaning in the current one",
)
REQUIRED = _code("required", "schema", "a required key is missing")
UNKNOWN_PROPERTY = _code("unknown-property", "schema", "a property the layer type does not have")
UNKNOWN_TYPE = _code("unknown-type", "schema", "an unknown layer type")
UNKNOWN_CHECK = _code("unknown-check", "schema", "an unknown range check id, or one that does not apply to the layer")
INVALID_VALUE = _code("invalid-value", "schema", "a value of the wrong type or out of its range")
ARGUMENT_TYPE = _code(
    "argument-type",
    "schema",
    "a warning: an argument's number outside its NNC type (0.6 for a PInt); NNC does not check argument types, "
    "so the value is used as written",
)
EXPRESSION_SYNTAX = _code(
    "expression-syntax", "schema", "a property expression (=...) that does not parse, or is too long or deep"
)
NNC_IMPORT = _code(
    "nnc-import",
    "schema",
    "a note on how an NNC project was read: what nnspec's spec has no place for, left out",
)

NNC_EXPORT = _code(
    "nnc-export",
    "schema",
    "what a spec holds that an NNC project (.sdcproj) cannot, left out by nnspec convert (data:, checks:, seed...)",
)

NNC_PROJECT = _code(
    "nnc-project",
    "wiring",
    "an NNC project's counts, layers or links that describe no network (a missing [Layer_k], a link to no layer)",
)
DUPLICATE_NAME = _code("duplicate-name", "wiring", "two layers with one name")
UNKNOWN_INPUT = _code("unknown-input", "wiring", "an input naming no layer")
UNKNOWN_OUTPUT = _code("unknown-output", "wiring", "an output naming no layer")
ARITY = _code("arity", "wiring", "a layer with the wrong number of inputs")
CYCLE = _code("cycle", "wiring", "layers whose inputs form a cycle")
VIEW_OUTPUT = _code(
    "view-output",
    "wiring",
    "an output the run's view leaves out (a loss layer in the runtime view): what it outputs instead",
)
REPEAT = _code("repeat", "wiring", "a RepeatStart/RepeatEnd block that is not well formed (unpaired, overlapping)")
UNKNOWN_NETWORK = _code(
    "unknown-network",
    "wiring",
    "a Unit calling a network the spec does not write, or a project's optimizer, monitor or executor naming one",
)
UNKNOWN_DATASET = _code(
    "unknown-dataset", "wiring", "a project's optimizer, monitor or executor naming a dataset project.datasets lacks"
)
UNIT = _code(
    "unit", "wiring", "a Unit, or the network it calls, that cannot be expanded (not one Input or not one output)"
)
UNIT_RECURSION = _code("unit-recursion", "wiring", "a network reaching itself through units")
RECURRENCE = _code(
    "recurrence",
    "wiring",
    "a recurrent loop that is not well formed: a RecurrentOutput without its RecurrentInput, a Delay outside a loop",
)

SHAPE = _code("shape", "shape", "shapes a layer cannot take")
EXPRESSION = _code(
    "expression", "shape", "a property expression that does not evaluate: division by zero, Input[k] out of range"
)
UNKNOWN_ARGUMENT = _code("unknown-argument", "shape", "an expression naming no argument")

MISSING_FILE = _code("missing-file", "files", "a file the spec names does not exist or may not be read")
INVALID_FILE = _code("invalid-file", "files", "a file the spec names that does not hold what it should")
UNREADABLE = _code("unreadable", "files", "a file that cannot be read")

UNKNOWN_VARIABLE = _code("unknown-variable", "data", "data for a variable no layer reads")
INVALID_DATA = _code("invalid-data", "data", "data that are not numbers, one equally long list per sample")
DATA_SHAPE = _code("data-shape", "data", "data whose shape does not fit its Input")
IMAGE_READ = _code("image-read", "data", "an image of a dataset read with a caveat")
PROJECT_DATASET = _code(
    "project-dataset", "data", "the dataset an NNC project names for the run is not read, and synthetic data is"
)

PARAMETER = _code("parameter", "parameters", "a parameter that cannot be used")
UNUSED_PARAMETER = _code("unused-parameter", "parameters", "a parameter no layer uses")

INTERNAL_ERROR = _code("internal-error", "internal", "a bug in nnspec")

CODES: Mapping[str, Code] = MappingProxyType(_table)  # read-only: a row is added only above


def summaries() -> dict[str, str]:
    """Each code's id and summary, in the table's order."""
    return {code.id: code.summary for code in CODES.values()}
