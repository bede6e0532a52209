"""Stage 1 of validation: the JSON Schema, with its errors told in a person's terms.

jsonschema reports "Additional properties are not allowed ('out_sise' was
unexpected)"; this module turns each error into a located diagnostic that names
the layer and its type, says what was expected and what was received, and
suggests the closest valid name.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from copy import deepcopy
from functools import cache
from typing import Any, cast

import jsonschema

from ..core import codes
from ..core.diagnostics import DiagnosticList, show_value
from ..layers.catalog import layer_types
from ..layers.unsupported import nnc_category, not_supported_message
from .expressions import without_expressions
from .nnc_spellings import property_hint, value_hint
from .schema import DTYPES, FORMAT_VERSION, LOADED_VERSIONS, spec_schema

_NAME_RULE = "a name of letters, digits and _, not starting with a digit"


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any):
    """JSON Schema patterns are ECMA-262 regexes, where '$' ends the text; Python's '$' also
    matches before a final newline, so it is read as '\\Z' here."""
    if isinstance(instance, str):
        python_pattern = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
        if not re.search(python_pattern, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_ENUM = jsonschema.Draft7Validator.VALIDATORS["enum"]
_enum_texts: dict[int, tuple[list, frozenset]] = {}


def _fast_enum(validator: Any, choices: list, instance: Any, schema: Any):
    """jsonschema's enum, with text looked up in a set: a layer's type is one of 137 names, and
    comparing it with each in turn made validating many layers slow. Anything else, as jsonschema does."""
    if isinstance(instance, str):
        kept = _enum_texts.get(id(choices))
        if kept is None or kept[0] is not choices:
            kept = _enum_texts[id(choices)] = (choices, frozenset(c for c in choices if isinstance(c, str)))
        if instance in kept[1]:
            return
    yield from _ENUM(validator, choices, instance, schema)


@cache
def _validator() -> jsonschema.protocols.Validator:
    """A validator of the published schema without its dispatch on layer types.

    The published schema gives each layer an if/then per layer type, which editors need;
    evaluated here, that is every type's condition for every layer (for a thousand layers
    and a hundred types, 100,000 of them). So the document is checked with the dispatch
    left out, and each layer against its own type's schema (``_layer_validator``): the
    same errors, a hundred times fewer evaluations.
    """
    schema = deepcopy(spec_schema(expressions=False))
    del schema["$defs"]["layer"]["allOf"]
    # A named network's layers are checked in the flat list of every layer (nnspec.spec.networks), where
    # their errors are located and named like the main network's: not here a second time.
    schema["properties"]["networks"]["additionalProperties"]["properties"]["layers"]["items"] = True
    validator_class = jsonschema.validators.extend(
        jsonschema.Draft7Validator, {"pattern": _ecma_pattern, "enum": _fast_enum}
    )
    return validator_class(schema)


@cache
def _layer_validator(type_name: str) -> jsonschema.protocols.Validator:
    return _validator().evolve(schema=_schema_of(_validator())["$defs"][type_name])


# jsonschema types a schema as a mapping or a bool, and an error's schema and validator_value as possibly
# unset; nnspec's schemas are mappings, and an error from validating against them has both set.
def _schema_of(holder: jsonschema.ValidationError | jsonschema.protocols.Validator) -> Mapping[str, Any]:
    return cast(Mapping[str, Any], holder.schema)


def _value_of(error: jsonschema.ValidationError) -> Any:
    return cast(Any, error.validator_value)


def _errors(data: dict[str, Any]):
    """Every schema error, with paths from the top of the document."""
    yield from _validator().iter_errors(data)
    layers = data.get("layers")
    for index, layer in enumerate(layers if isinstance(layers, list) else []):
        if isinstance(layer, dict) and isinstance(layer.get("type"), str) and layer["type"] in layer_types():
            literal = without_expressions(layer, layer_types()[layer["type"]].properties)  # checked once evaluated
            for error in _layer_validator(layer["type"]).iter_errors(literal):
                error.path.extendleft(reversed(("layers", index)))
                yield error


def check_schema(data: dict[str, Any], diagnostics: DiagnosticList) -> set[Any]:
    """Report schema errors, and numbers no property can take; return the top-level keys and
    layer indices that failed, and ("data", VARIABLE) for data holding a number too large to read."""
    broken: set[Any] = set()
    seen: set[tuple] = set()
    for error in _errors(data):
        path = tuple(error.absolute_path)
        broken.add(_part(path))
        for message, where, at_key, code in _describe(error, data, diagnostics):
            if (where, message) not in seen:
                seen.add((where, message))
                diagnostics.add(message, where, code=code, at_key=at_key, layer=_layer_name(data, where))
    reported = {d.path for d in diagnostics.items}
    for path, problem in _unusable_numbers(data):
        if not any(path[: len(other)] == other for other in reported):
            message = f"{_subject(data, path)} {problem}"
            diagnostics.add(message, path, code=codes.INVALID_VALUE, layer=_layer_name(data, path))
            broken.add(path[:2] if path[:1] == ("data",) else _part(path))
    return broken


def _part(path: tuple) -> tuple:
    """The part of a spec an error at ``path`` leaves out: a layer, or a top-level key."""
    return path[:2] if path[:1] == ("layers",) and len(path) > 1 else path[:1]


def _unusable_numbers(data: dict[str, Any]):
    """(path, problem) for each number JSON Schema accepts but nnspec cannot use.

    An integer beyond a float's range (1e400 written out) fits nothing. NaN and infinity are
    refused where nnspec itself computes with the number: a parameter's initializer multiplier,
    a generator's multiplier, an Input's declared range (see _needs_finite). Elsewhere they are
    left alone: in data they are data (the run's nan-inf check reports them); a layer's own
    property means what the layer's formula makes of it (EqualScalar's value .nan, Norm's p
    .inf), its rule refuses what it cannot take; check thresholds have their own check."""
    for path, value in _numbers(data, ()):
        if isinstance(value, int) and abs(value) > sys.float_info.max:
            yield path, f"must be a number a float can hold (at most about 1.8e308); got an integer of {_digits(value)}"
        elif isinstance(value, float) and not math.isfinite(value) and _needs_finite(data, path):
            yield (
                path,
                f"must be a finite number (not .nan, .inf or -.inf, nor too large a number); got {_yaml_float(value)}",
            )


def _digits(value: int) -> str:
    """How many decimal digits an integer has ("about" beyond 4300, where str() refuses it)."""
    if value.bit_length() < 14_000:
        return f"{len(str(abs(value)))} digits"
    return f"about {value.bit_length() * math.log10(2):,.0f} digits"


def _numbers(node: Any, path: tuple):
    """(path, value) of every number (not boolean) in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _numbers(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _numbers(value, path + (index,))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, node


def _needs_finite(data: dict[str, Any], path: tuple) -> bool:
    """Whether the number at ``path`` must be finite: one nnspec computes with itself (a parameter's
    or a target's settings, a source layer's properties), rather than data, a check's setting or
    a property whose meaning the layer's formula gives."""
    if len(path) < 3 or path[0] != "layers" or path[2] == "checks":
        return False
    layer = _layer_at(data, path[1]) or {}
    layer_type = layer_types().get(layer["type"]) if isinstance(layer.get("type"), str) else None
    if layer_type is None:
        return False
    configured = {p.name for p in layer_type.parameters} | {t.name for t in layer_type.targets}
    configured |= {layer_type.operand} if layer_type.operand else set()
    return layer_type.is_source or path[2] in configured


def _yaml_float(value: float) -> str:
    """NaN and infinity as YAML writes them."""
    return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"


def _describe(error: jsonschema.ValidationError, data: dict[str, Any], diagnostics: DiagnosticList):
    """Turn one jsonschema error into (message, path, at_key, code) tuples a person can act on."""
    path = tuple(error.absolute_path)
    instance: Any = error.instance  # set on every error of a validation (jsonschema types it as maybe unset)
    validator = error.validator
    if validator == "required":
        forbids_unknown = _schema_of(error).get("additionalProperties") is False
        unknown = [key for key in instance if key not in _schema_of(error).get("properties", {})]
        for key in _value_of(error):
            if key in instance or (forbids_unknown and diagnostics.closest_name(key, unknown)):
                continue  # a misspelt key: its unknown-property error suggests this one
            if path == () and key == "nnspec":
                yield (
                    f"missing the format version: add 'nnspec: {FORMAT_VERSION}' at the top",
                    path,
                    False,
                    codes.VERSION,
                )
            else:
                yield (f"{_owner(data, path)} has no '{key}'", path, False, codes.REQUIRED)
        return
    if validator == "additionalProperties":
        properties = _schema_of(error).get("properties", {})
        allowed = list(properties)
        # the parameters here (W, b): a parameter's setting written on the layer is shown under them
        params = [
            name
            for name, schema in properties.items()
            if isinstance(schema, dict) and "lrate_multiplier" in schema.get("properties", {})
        ]
        for key in instance:
            if key not in allowed:
                # NNC's spelling (OutShape, W.Initializer) gets the line to write, not just a name
                hint = property_hint(key, instance[key], allowed, params) or diagnostics.suggestion(key, allowed)
                yield (
                    f"{_owner(data, path)} has no property '{key}'{hint}",
                    path + (key,),
                    True,
                    codes.UNKNOWN_PROPERTY,
                )
        return
    if path == ("nnspec",):
        yield (_version_message(instance), path, False, codes.VERSION)
        return
    if path[:1] == ("layers",) and path[2:] == ("type",) and validator == "enum" and isinstance(instance, str):
        if nnc_category(instance) is not None:  # written for NNC: no typo to suggest
            yield (not_supported_message(instance), path, False, codes.UNKNOWN_TYPE)
            return
        hint = diagnostics.suggestion(instance, layer_types())
        yield (f"unknown layer type '{instance}'{hint}", path, False, codes.UNKNOWN_TYPE)
        return
    if path[-1:] == ("checks",) and validator == "enum":  # propertyNames: ``instance`` is the key
        hint = diagnostics.suggestion(str(instance), _value_of(error)) or " (docs/checks.md lists the checks)"
        yield (f"unknown check '{instance}'{hint}", path + (instance,), True, codes.UNKNOWN_CHECK)
        return
    if len(path) == 3 and path[0] == "arguments" and path[2] == "type" and validator == "enum":
        hint = diagnostics.suggestion(str(instance), _value_of(error)) or f" ({', '.join(_value_of(error))})"
        yield (f"argument '{path[1]}' has unknown type {show_value(instance)}{hint}", path, False, codes.INVALID_VALUE)
        return
    if path in (("data",), ("arguments",)) and validator == "pattern":  # propertyNames: ``instance`` is the key
        what = "data variable" if path == ("data",) else "argument"
        yield (f"{what} '{instance}' must be {_NAME_RULE}", path + (instance,), True, codes.INVALID_VALUE)
        return
    hint = "; write each layer as a list item starting with '- '" if path == ("layers",) and validator == "type" else ""
    if path and isinstance(path[-1], str):
        hint = hint or value_hint(path[-1], instance)  # NNC's comma list (1,8,8) or a quoted 'True'
    yield (
        f"{_subject(data, path)} must be {_expected(error, data, path)}; got {show_value(instance)}{hint}",
        path,
        False,
        codes.INVALID_VALUE,
    )


def _expected(error: jsonschema.ValidationError, data: dict[str, Any], path: tuple) -> str:
    prop = _property(data, path)
    if prop is not None and len(path) == 3:
        return prop.expects
    if path == ("dtype",):
        return "one of " + ", ".join(DTYPES)
    if path and path[-1] in ("input", "outputs") or (len(path) > 1 and path[-2] in ("input", "outputs")):
        return "a layer name or a list of layer names"
    if path == ("name",):
        return "text (the network's name)"  # free text, unlike a layer's name
    if path[-1:] == ("name",) or (len(path) == 2 and path[0] == "outputs"):
        return _NAME_RULE
    if len(path) >= 2 and path[-2] == "checks":
        return "off, info, warning, error, a threshold (a number) or {severity: ..., threshold: ...}"
    if path[:1] == ("layers",) and path[2:] == ("type",):
        return "a layer type, as text (see nnspec layers)"
    if path[-1:] == ("initializer",):
        return "one of " + ", ".join(_value_of(error))
    if error.validator == "enum":
        return "one of " + ", ".join(map(str, _value_of(error)))
    if error.validator == "minimum":
        return f"at least {_value_of(error)}"
    if error.validator == "minItems":
        return "a non-empty list"
    if error.validator == "type":
        kind = _value_of(error)
        return (
            {
                "integer": "an integer",
                "number": "a number",
                "string": "text",
                "object": "a mapping",
                "array": "a list",
                "boolean": "true or false",
            }.get(kind, str(kind))
            if isinstance(kind, str)
            else " or ".join(kind)
        )
    return error.message


def _property(data: dict[str, Any], path: tuple):
    if len(path) < 3 or path[0] != "layers":
        return None
    layer = _layer_at(data, path[1]) or {}
    layer_type = layer_types().get(layer["type"]) if isinstance(layer.get("type"), str) else None
    return layer_type.property_map.get(path[2]) if layer_type else None


def _layer_at(data: dict[str, Any], index: Any) -> dict[str, Any] | None:
    layers = data.get("layers")
    if isinstance(layers, list) and isinstance(index, int) and index < len(layers) and isinstance(layers[index], dict):
        return layers[index]
    return None


def _layer_name(data: dict[str, Any], path: tuple) -> str | None:
    layer = _layer_at(data, path[1]) if len(path) > 1 and path[0] == "layers" else None
    name = layer.get("name") if layer else None
    return name if isinstance(name, str) else None


def _part_kind(kind: Any, key: Any) -> str:
    """What a key of a layer holding settings is: a side input (T, q, R) or a parameter (W, b)."""
    layer_type = layer_types().get(kind) if isinstance(kind, str) else None
    if layer_type is not None and (key == layer_type.operand or key in {t.name for t in layer_type.targets}):
        return "side input"
    return "parameter"


def _owner(data: dict[str, Any], path: tuple) -> str:
    """What a path points into, for messages: 'layer fc1 (Affine)', 'the spec', ..."""
    if path == ():
        return "the spec"
    if path[0] == "layers" and len(path) >= 2:
        layer = _layer_at(data, path[1]) or {}
        name, kind = layer.get("name"), layer.get("type")
        who = f"layer '{name}'" if isinstance(name, str) else f"layer {path[1] + 1}"
        if isinstance(kind, str):
            who += f" ({kind})"
        if len(path) > 2:
            who = f"{_part_kind(kind, path[2])} '{path[2]}' of {who}"
        return who
    return "'" + "/".join(map(str, path)) + "'"


def _subject(data: dict[str, Any], path: tuple) -> str:
    if path and path[0] == "layers" and len(path) >= 3:
        return f"'{'.'.join(map(str, path[2:]))}' of {_owner(data, path[:2])}"
    if path and path[0] == "layers" and len(path) == 2:
        return f"layer {path[1] + 1}"
    return "'" + ".".join(map(str, path)) + "'" if path else "the spec"


def _version_message(version: Any) -> str:
    """What to do about a spec's format version this nnspec does not read: a newer one needs a newer
    nnspec, an older one `nnspec upgrade`; anything else is not a version."""
    versions = f"versions {LOADED_VERSIONS[0]} to {FORMAT_VERSION}"
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        return f"format version {version} is newer than this nnspec reads ({versions}): install a newer nnspec"
    if isinstance(version, int) and not isinstance(version, bool) and 0 <= version < LOADED_VERSIONS[0]:
        return (
            f"format version {version} is older than this nnspec reads ({versions}): "
            f"'nnspec upgrade FILE' brings it up to version {FORMAT_VERSION}"
        )
    return (
        f"unknown format version {show_value(version)}: this nnspec reads format {versions} "
        f"(a whole number: 'nnspec: {FORMAT_VERSION}')"
    )
