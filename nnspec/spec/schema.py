"""The JSON Schema of spec files, generated from the layer catalog.

The schema dispatches on a layer's ``type`` with if/then, so an error names the
bad property instead of "not valid under any of the given schemas", and it forbids
unknown properties. schemas/nnspec.schema.json is this output, committed for
editors (``# yaml-language-server: $schema=...``); a test fails when it is stale.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from ..layers.catalog import KINDS, LayerType, Parameter, Property, Target, whole_catalog
from ..layers.generators import GENERATOR_CHOICES, generators_described
from .expressions import ARGUMENT_TYPES, EXPRESSION_KINDS
from .project import project_schema
from .views import DEFAULT_VIEW, VIEWS

FORMAT_VERSION = 2
# The format versions the loader reads as they are: an older one than FORMAT_VERSION is upgraded in
# memory when loaded (nnspec.spec.upgrade.as_current), so it keeps its meaning; version 0 (synthetic,
# never released) needs `nnspec upgrade`.
LOADED_VERSIONS = (1, 2)
# A layer's name (and a data variable's): a letter or _, then letters, digits, _ and NNC's prime, ',
# as NNC names its runtime outputs (y', y'_Affine). NNC's editor keeps ' anywhere in a name, but writes
# it after a name only; a leading ' would open a quoted YAML scalar (name: 'y is no YAML), and a name
# starts with a letter or _ as before (docs/spec.md, Names).
NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_']*$"
# An argument's or a network's name: an identifier, as expressions read arguments (=DropP) and
# NNC's argument names are (its editor refuses any other character in them, ' aside).
IDENTIFIER_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
# A layer of the expanded network: a written name, or a copy of one made by a repeat (Conv_5[0], Conv_5[1][2]),
# by a unit (FireModule_3/Squeeze, Fire[0]/Conv[1]), by a recurrent loop (Tanh_RecurrentInput[3]) or by an
# LSTM, whose layers are its unit's under its name (LSTM/Tanh_LSTM[3]).
EXPANDED_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_']*(\\[[0-9]+\\])*(/[A-Za-z_][A-Za-z0-9_']*(\\[[0-9]+\\])*)*$"
DTYPES = ("float32", "float64")
LAYER_KEYS = (
    "name",
    "type",
    "input",
    "checks",
    "position",
)  # keys every layer has besides its properties and parameters


# What an editor accepts where a number, a list of numbers or a boolean goes: an expression.
EXPRESSION = {
    "type": "string",
    "pattern": "^=",
    "description": "An expression, evaluated once the input's shape is known: numbers, arguments, Input[k] "
    "(dimension k of the input, batch excluded), Input (its element count), + - * / // % and ( ); "
    "commas make a list (docs/spec.md, Arguments and expressions).",
}


def _image_normalization() -> dict[str, Any]:
    return {
        "type": "boolean",
        "default": True,
        "description": "NNC's ImageNormalization: true, 8-bit images are divided by 255 (16-bit by 65535) as "
        "they are read; false, the network gets them as they are, 0..255.",
    }


@cache
def spec_schema(expressions: bool = True) -> dict[str, Any]:
    """The spec schema; ``expressions`` false: without the '=...' alternatives, the literal schema
    validation checks the values written as literals against (expressions are checked once evaluated)."""
    types = whole_catalog("the JSON Schema")
    return {
        # Draft 7, not 2020-12: editors' YAML language servers (VS Code's among them) fully
        # support draft 7 only, and this schema needs nothing newer (test_generated checks).
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"nnspec network spec (format version {FORMAT_VERSION})",
        "description": "A neural network written with Neural Network Console's layer names, properties and defaults.",
        "type": "object",
        "required": ["nnspec", "layers"],
        "additionalProperties": False,
        "properties": {
            "nnspec": {
                "description": f"Format version of this file: {FORMAT_VERSION}, the current one; version 1 is read "
                "with its own meaning ('nnspec upgrade FILE' writes it as the current version).",
                "enum": list(LOADED_VERSIONS),
            },
            "name": {"type": "string", "description": "Name of the network."},
            "description": {"type": "string", "description": "What the network is for; free text."},
            "dtype": {
                "enum": list(DTYPES),
                "default": "float32",
                "description": "Floating-point type of every tensor (NNC computes in float32).",
            },
            "seed": {
                "type": "integer",
                "minimum": 0,
                "default": 0,
                "description": "Seed of every parameter initializer and data generator.",
            },
            "layers": {
                "type": "array",
                "minItems": 1,
                "description": "The layers, in order; a layer's input defaults to the layer before it.",
                "items": {"$ref": "#/$defs/layer"},
            },
            "outputs": {
                "description": "Layers whose values are the network's outputs "
                "(default: the layers no other layer uses).",
                "oneOf": [_output_name(), {"type": "array", "items": _output_name(), "minItems": 1}],
            },
            "checks": {"$ref": "#/$defs/checks"},
            "arguments": _arguments_schema(),
            "networks": _networks_schema(),
            "comments": _comments_schema(),
            "project": project_schema(),
            "view": {
                "enum": list(VIEWS),
                "default": DEFAULT_VIEW,
                "description": "The view of the network a run takes unless told (nnspec run --view): validation, "
                "as NNC evaluates (stored BatchNormalization statistics, Dropout bypassed); runtime, that without "
                "the loss and validation layers and their targets (an inference run); training, the properties "
                "as written.",
            },
            "dataset": {
                "description": "An NNC dataset CSV (header variable[__dimension][:label], one sample per row), "
                "relative to the spec: data for the variables it has columns for, unless the run is given "
                "--dataset. Its path alone, or {uri: PATH, image_normalization: false} for a dataset whose "
                "8-bit images the network takes as 0..255 (NNC's ImageNormalization=0).",
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "object",
                        "required": ["uri"],
                        "additionalProperties": False,
                        "properties": {
                            "uri": {"type": "string", "minLength": 1, "description": "The CSV, relative to the spec."},
                            "image_normalization": _image_normalization(),
                        },
                    },
                ],
            },
            "data": {
                "type": "object",
                "description": "Values of data variables: a list of samples per variable name.",
                "propertyNames": {"pattern": NAME_PATTERN},
                "additionalProperties": {"type": ["array", "number"]},
            },
        },
        "$defs": {
            "checks": _checks_schema(),
            "layer": {
                "title": "Layer",
                "type": "object",
                "required": ["name", "type"],
                "properties": {
                    "name": _layer_name("Unique name of the layer."),
                    # No description here: an editor shows the first it finds, and each type's
                    # own (its formula and reference, in $defs) should win. Completion shows
                    # each type's formula beside its name (yaml-language-server's keyword).
                    "type": {
                        "enum": sorted(types),
                        "markdownEnumDescriptions": [_reference(types[name]) for name in sorted(types)],
                    },
                    "input": {
                        "description": "Layer(s) this layer reads; default: the previous layer.",
                        "oneOf": [_layer_name(), {"type": "array", "items": _layer_name(), "minItems": 1}],
                    },
                    "checks": {"$ref": "#/$defs/checks"},
                    "position": _position_schema(),
                },
                "allOf": [
                    {
                        "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                        "then": {"$ref": f"#/$defs/{name}"},
                    }
                    for name in sorted(types)
                ],
            },
            **{name: _layer_schema(types[name], expressions) for name in sorted(types)},
        },
    }


def _arguments_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "NNC's Argument layers: named, typed values that expressions (=...) read.",
        "propertyNames": {"pattern": IDENTIFIER_PATTERN},
        "additionalProperties": {
            "type": "object",
            "required": ["type", "value"],
            "additionalProperties": False,
            "properties": {
                "type": {
                    "enum": list(ARGUMENT_TYPES),
                    "description": "NNC's Argument type: Int, PInt (>= 1), UInt (>= 0), Float, Boolean, Text, "
                    "their arrays (IntArray...), BooleanOrMacro (a Boolean), File (a path, as text).",
                },
                "value": {"description": "The argument's value, of its type."},
                "search": {
                    "type": "boolean",
                    "default": False,
                    "description": "NNC's Search: whether structure search may vary it (kept for the round trip).",
                },
                "position": _position_schema(),
            },
        },
    }


def _networks_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Named networks beside the main one (NNC's network tabs): run one with --network NAME, or "
        "call it from a Unit layer (network: NAME).",
        "propertyNames": {"pattern": IDENTIFIER_PATTERN},
        "additionalProperties": {
            "type": "object",
            "required": ["layers"],
            "additionalProperties": False,
            "properties": {
                "description": {"type": "string", "description": "What the network is for; free text."},
                "arguments": _arguments_schema(),
                "comments": _comments_schema(),
                "layers": {
                    "type": "array",
                    "minItems": 1,
                    "description": "The network's layers, in order. Called by a unit, it has one Input (whose size "
                    "is a placeholder: the unit's input gives shape and data) and one output.",
                    "items": {"$ref": "#/$defs/layer"},
                },
            },
        },
    }


def _position_schema() -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 2,
        "maxItems": 4,
        "description": "Where NNC's editor draws it: [x, y] in pixels (NNC's Position_0, Position_1), or [x, y, "
        "width, height] where the box is not NNC's 240 x 48. Computes nothing; kept for the round trip.",
    }


def _comments_schema() -> dict[str, Any]:
    return {
        "type": "array",
        "description": "NNC's Comment layers of this network: notes drawn in the editor, which compute nothing "
        "(docs/nnc.md).",
        "items": {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1, "description": "The Comment layer's name."},
                "text": {"type": "string", "description": "The comment (NNC's Comment property)."},
                "position": _position_schema(),
            },
        },
    }


def _unit_keys() -> dict[str, Any]:
    """The Unit layer's two mappings: argument values, and settings of the inner layers' parameters."""
    value = {"oneOf": [{"type": ["number", "boolean", "array"]}, {"type": "string"}]}
    setting = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "initializer": {"type": "string", "description": "How the initial values are drawn."},
            "multiplier": {"type": "number", "description": "Scale of the initializer's values."},
            "file": {"type": "string", "description": "A .npy file holding the parameter, relative to the spec."},
            "lrate_multiplier": {"type": "number", "description": "NNC's LRateMultiplier (training only)."},
        },
    }
    return {
        "arguments": {
            "type": "object",
            "description": "Values of the called network's arguments: a literal of the argument's type, or an "
            "expression (=...) of this layer's input (Input[k]) and the caller's arguments.",
            "propertyNames": {"pattern": IDENTIFIER_PATTERN},
            "additionalProperties": value,
        },
        "parameters": {
            "type": "object",
            "description": "Settings of the inner layers' parameters: {InnerLayer: {W: {multiplier: 2}}}.",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": {"type": "object", "additionalProperties": setting},
        },
        "network": {"type": "string", "pattern": IDENTIFIER_PATTERN, "description": "The network it runs (networks:)."},
    }


def _checks_schema() -> dict[str, Any]:
    from ..checks.check import SEVERITIES
    from ..checks.table import all_checks

    choices = ["off", *SEVERITIES]
    return {
        "type": "object",
        "description": "Range-check settings by check id: off, a severity, a threshold, or {severity, threshold}.",
        "propertyNames": {"enum": list(all_checks())},
        "additionalProperties": {
            "anyOf": [
                {"enum": choices},
                {"type": "boolean", "description": "false: off (YAML reads a bare off as false); true: on"},
                {"type": "number", "description": "the check's threshold (see `nnspec checks`)"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "severity": {"enum": choices, "description": "off, or how a finding is reported"},
                        "threshold": {"type": "number", "description": "the check's threshold (see `nnspec checks`)"},
                    },
                },
            ]
        },
    }


def _output_name() -> dict[str, Any]:
    return {"type": "string", "pattern": EXPANDED_NAME_PATTERN}


def _layer_name(description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "pattern": NAME_PATTERN}
    if description:
        schema["description"] = description
    return schema


def _layer_schema(layer: LayerType, expressions: bool = True) -> dict[str, Any]:
    properties: dict[str, Any] = {key: True for key in LAYER_KEYS}
    properties["type"] = {"const": layer.name, "description": _reference(layer)}  # what an editor's hover shows
    properties.update({p.name: _property_schema(p, expressions) for p in layer.properties})
    properties.update({p.name: _parameter_schema(p) for p in layer.parameters})
    properties.update({t.name: _target_schema(t) for t in layer.targets})
    if layer.operand is not None:
        properties[layer.operand] = _operand_schema(layer)
    schema = {
        "title": layer.name,
        "description": _reference(layer),
        "properties": properties,
        "additionalProperties": False,
    }
    if layer.name == "Unit":
        properties.update(
            {key: {**value, "description": properties[key]["description"]} for key, value in _unit_keys().items()}
        )
        schema["required"] = ["network"]
    return schema


def _reference(layer: LayerType) -> str:
    return f"{layer.formula}. {layer.description}"


def _property_schema(prop: Property, expressions: bool = True) -> dict[str, Any]:
    schema = dict(KINDS[prop.kind][0])
    if prop.choices:
        schema = {"enum": list(prop.choices)}
    elif expressions and prop.kind in EXPRESSION_KINDS:
        schema = _or_expression(schema)
    schema["description"] = prop.description
    if prop.default is not None:
        schema["default"] = prop.default
    return schema


def _or_expression(schema: dict[str, Any]) -> dict[str, Any]:
    """A kind's schema that also takes an expression, for the whole value and for each list item."""
    if "oneOf" in schema:
        return {"oneOf": [_items_or_expression(branch) for branch in schema["oneOf"]] + [EXPRESSION]}
    return {"oneOf": [_items_or_expression(schema), EXPRESSION]}


def _items_or_expression(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") != "array":
        return schema
    return {**schema, "items": {"oneOf": [schema["items"], EXPRESSION]}}


def _parameter_schema(param: Parameter) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"Parameter {param.name}: {param.description}",
        "additionalProperties": False,
        "properties": {
            "initializer": {
                "enum": list(param.initializers),
                "default": param.initializer,
                "description": "How the initial values are drawn (NNC's initializer names).",
            },
            "multiplier": {
                "type": "number",
                "default": param.multiplier,
                "description": "Scale of the initializer's values (NNC's InitializerMultiplier).",
            },
            "file": {"type": "string", "description": "A .npy file holding the parameter, relative to the spec."},
            "lrate_multiplier": {
                "type": "number",
                "default": param.lrate_multiplier,
                "description": "NNC's LRateMultiplier: the scale of the learning rate for this parameter in "
                "training. Kept for round trips with NNC; a run does not train, so it changes nothing here.",
            },
            "input": _layer_name(
                "The layer whose output is this parameter (NNC's link into the parameter's pin), instead of an "
                "initializer or file: of the parameter's shape, the same for every sample of a batch."
            ),
        },
    }


def _target_schema(target: Target) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"Target {target.name}: {target.description}. From a data variable (dataset), a "
        "generator, or a layer (input: NNC's link into the pin): one of these.",
        "additionalProperties": False,
        "properties": {
            "dataset": {**_layer_name("The data variable it reads."), "default": target.dataset},
            "generator": {
                "enum": list(GENERATOR_CHOICES),
                "default": target.generator,
                "description": "Generate the target instead of reading it (None: read the data variable): "
                f"{generators_described()}, each times generator_multiplier.",
            },
            "generator_multiplier": {
                "type": "number",
                "default": target.multiplier,
                "description": "Scale of the generated values.",
            },
            "input": _side_layer(),
        },
    }


def _side_layer() -> dict[str, Any]:
    return _layer_name("The layer whose output it is (NNC's link into this pin), instead of data or a generator.")


def _operand_schema(layer: LayerType) -> dict[str, Any]:
    """NNC's pin of the second operand: a layer (the same as ``input: [first, layer]``), or where NNC's
    pin has R.Dataset/R.Generator, a data variable or a generator of the first input's shape."""
    pin = layer.operand
    written = f"instead of input: [first, second]; NNC's {pin} pin"
    if not layer.operand_from_data:
        return {
            "type": "object",
            "description": f"The second input, {written} (NNC links it: no data or generator here).",
            "additionalProperties": False,
            "required": ["input"],
            "properties": {"input": _side_layer()},
        }
    return {
        "type": "object",
        "description": f"The second input, {written}: a layer (input), a data variable (dataset) or a "
        f"generator of the first input's shape (NNC's {pin}.Generator, default Constant x1): one of these.",
        "additionalProperties": False,
        "properties": {
            "dataset": _layer_name("The data variable it reads, of the first input's shape."),
            "generator": {
                "enum": list(GENERATOR_CHOICES),
                "default": "Constant",
                "description": f"Generate it (None: read dataset): {generators_described()}, each times "
                "generator_multiplier.",
            },
            "generator_multiplier": {"type": "number", "default": 1.0, "description": "Scale of the generated values."},
            "input": _side_layer(),
        },
    }


def schema_text(schema: dict[str, Any] | None = None) -> str:
    """A schema (default: the spec schema) as committed in schemas/."""
    return json.dumps(spec_schema() if schema is None else schema, indent=2) + "\n"
