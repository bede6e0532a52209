"""Validation: JSON Schema, then wiring, then shapes; every problem collected at once.

Each stage runs on whatever the previous one left intact, so one spec can report
an unknown property, a dangling input and a shape mismatch together. Every message
names the layer and its type, says what was expected and what was received, and
suggests the closest valid name where there is one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import networkx as nx
import numpy as np

from .catalog import ShapeError, format_shape, layer_types
from .diagnostics import Diagnostic, DiagnosticList, SpecError
from .loader import Document, load_file, load_text
from .schema import DTYPES, FORMAT_VERSION, NAME_PATTERN, spec_schema
from .spec import Layer, ParameterSource, Spec
from .suggest import closest, did_you_mean

_NAME_RULE = "a name of letters, digits and _, not starting with a digit"

_validator: jsonschema.protocols.Validator | None = None


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any):
    """JSON Schema patterns are ECMA-262 regexes, where '$' ends the text; Python's '$' also
    matches before a final newline, so it is read as '\\Z' here."""
    if isinstance(instance, str):
        python_pattern = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
        if not re.search(python_pattern, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})


def load(path: str | Path) -> Spec:
    """Load and validate a spec file; raise SpecError with every diagnostic if it is invalid."""
    return validate_document(load_file(path))


def loads(text: str, file: str = "<spec>") -> Spec:
    """Load and validate spec text (``file`` names it in messages and anchors relative paths)."""
    return validate_document(load_text(text, file))


def check_file(path: str | Path) -> list[Diagnostic]:
    """Every diagnostic for one spec file (an empty list: the spec is valid)."""
    try:
        load(path)
    except SpecError as exc:
        return exc.diagnostics
    return []


def validate_document(doc: Document) -> Spec:
    diagnostics = DiagnosticList(doc.file, doc.source_map)
    data = doc.data
    if not isinstance(data, dict):
        diagnostics.add("a spec is a mapping with at least 'nnspec: 1' and 'layers:'", (), code="not-a-mapping")
        raise SpecError(diagnostics.items)
    broken = _check_schema(data, diagnostics)
    spec = _build_spec(doc, data, broken, diagnostics)
    if diagnostics.errors:
        raise SpecError(diagnostics.items)
    assert spec is not None, "a schema error was found but not reported"
    return spec


# --- stage 1: the schema -------------------------------------------------------------


def _check_schema(data: dict[str, Any], diagnostics: DiagnosticList) -> set[Any]:
    """Report schema errors; return the top-level keys and layer indices that failed."""
    global _validator
    if _validator is None:
        _validator = _Validator(spec_schema())
    broken: set[Any] = set()
    seen: set[tuple] = set()
    for error in _validator.iter_errors(data):
        path = tuple(error.absolute_path)
        broken.add(path[:2] if path[:1] == ("layers",) and len(path) > 1 else path[:1])
        for message, where, at_key, code in _describe(error, data):
            if (where, message) not in seen:
                seen.add((where, message))
                diagnostics.add(message, where, code=code, at_key=at_key, layer=_layer_name(data, where))
    return broken


def _describe(error: jsonschema.ValidationError, data: dict[str, Any]):
    """Turn one jsonschema error into (message, path, at_key, code) tuples a person can act on."""
    path = tuple(error.absolute_path)
    instance = error.instance
    validator = error.validator
    if validator == "required":
        forbids_unknown = error.schema.get("additionalProperties") is False
        unknown = [key for key in instance if key not in error.schema.get("properties", {})]
        for key in error.validator_value:
            if key in instance or (forbids_unknown and closest(key, unknown)):
                continue  # a misspelt key: its unknown-property error suggests this one
            if path == () and key == "nnspec":
                yield (f"missing the format version: add 'nnspec: {FORMAT_VERSION}' at the top", path, False, "version")
            else:
                yield (f"{_owner(data, path)} has no '{key}'", path, False, "required")
        return
    if validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for key in instance:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                yield (f"{_owner(data, path)} has no property '{key}'{hint}", path + (key,), True, "unknown-property")
        return
    if path == ("nnspec",):
        yield (
            f"unknown format version {_show(instance)}: this nnspec reads format version {FORMAT_VERSION}",
            path,
            False,
            "version",
        )
        return
    if path[:1] == ("layers",) and path[2:] == ("type",) and validator == "enum" and isinstance(instance, str):
        hint = did_you_mean(instance, layer_types())
        yield (f"unknown layer type '{instance}'{hint}", path, False, "unknown-type")
        return
    if path == ("data",) and validator == "pattern":  # propertyNames: ``instance`` is the key
        yield (f"data variable '{instance}' must be {_NAME_RULE}", path + (instance,), True, "invalid-value")
        return
    hint = "; write each layer as a list item starting with '- '" if path == ("layers",) and validator == "type" else ""
    yield (
        f"{_subject(data, path)} must be {_expected(error, data, path)}; got {_show(instance)}{hint}",
        path,
        False,
        "invalid-value",
    )


def _expected(error: jsonschema.ValidationError, data: dict[str, Any], path: tuple) -> str:
    prop = _property(data, path)
    if prop is not None and len(path) == 3:
        return prop.expects
    if path == ("dtype",):
        return "one of " + ", ".join(DTYPES)
    if path and path[-1] in ("input", "outputs") or (len(path) > 1 and path[-2] in ("input", "outputs")):
        return "a layer name or a list of layer names"
    if path[-1:] == ("name",) or (len(path) == 2 and path[0] == "outputs"):
        return _NAME_RULE
    if path[:1] == ("layers",) and path[2:] == ("type",):
        return "a layer type, as text (see nnspec layers)"
    if path[-1:] == ("initializer",):
        return "one of " + ", ".join(error.validator_value)
    if error.validator == "enum":
        return "one of " + ", ".join(map(str, error.validator_value))
    if error.validator == "minimum":
        return f"at least {error.validator_value}"
    if error.validator == "minItems":
        return "a non-empty list"
    if error.validator == "type":
        kind = error.validator_value
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
            who = f"parameter '{path[2]}' of {who}"
        return who
    return "'" + "/".join(map(str, path)) + "'"


def _subject(data: dict[str, Any], path: tuple) -> str:
    if path and path[0] == "layers" and len(path) >= 3:
        return f"'{'.'.join(map(str, path[2:]))}' of {_owner(data, path[:2])}"
    if path and path[0] == "layers" and len(path) == 2:
        return f"layer {path[1] + 1}"
    return "'" + ".".join(map(str, path)) + "'" if path else "the spec"


def _show(value: Any) -> str:
    """A value as the user wrote it, near enough: YAML's null and true, text quoted."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --- stage 2: layers, wiring and shapes ------------------------------------------------


def _build_spec(doc: Document, data: dict[str, Any], broken: set[Any], diagnostics: DiagnosticList) -> Spec | None:
    raw_layers = data.get("layers") if isinstance(data.get("layers"), list) else []
    names = [raw["name"] for raw in raw_layers if isinstance(raw, dict) and isinstance(raw.get("name"), str)]
    layers = _resolve_layers(raw_layers, broken, doc, diagnostics)
    graph = _wire(layers, names, diagnostics)
    outputs = _outputs(data, names, layers, graph, diagnostics)
    if graph is not None:
        _infer_shapes(graph, layers, diagnostics)
    data_values = _check_data(data, layers, diagnostics)
    if diagnostics.errors or broken:
        return None
    return Spec(
        file=doc.file,
        name=data.get("name"),
        description=data.get("description"),
        dtype=data.get("dtype", "float32"),
        seed=int(data.get("seed", 0)),  # JSON Schema counts 3.0 as an integer
        layers=layers,
        outputs=outputs,
        data=data_values,
        graph=graph,
        source_map=doc.source_map,
    )


def _resolve_layers(
    raw_layers: list[Any], broken: set[Any], doc: Document, diagnostics: DiagnosticList
) -> dict[str, Layer]:
    """Layers with defaults filled in and their inputs made explicit; duplicates reported."""
    types = layer_types()
    layers: dict[str, Layer] = {}
    first_index: dict[str, int] = {}
    previous: str | None = None
    for index, raw in enumerate(raw_layers):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            previous = None
            continue
        name = raw["name"]
        if name in first_index:
            first_line = doc.source_map.locate(("layers", first_index[name], "name"))[0]
            diagnostics.add(
                f"duplicate layer name '{name}' (first used on line {first_line}): layer names must be unique",
                ("layers", index, "name"),
                code="duplicate-name",
                layer=name,
            )
            continue
        first_index[name] = index
        layer_type = types.get(raw["type"]) if isinstance(raw.get("type"), str) else None
        if layer_type is None or ("layers", index) in broken:
            previous = name
            continue  # its own errors are reported; it is left out of wiring and shapes
        inputs = raw.get("input", previous if layer_type.arity.least > 0 else None)
        inputs = [] if inputs is None else [inputs] if isinstance(inputs, str) else list(inputs)
        props = {p.name: p.normalize(raw.get(p.name, p.default)) for p in layer_type.properties}
        params = {
            p.name: ParameterSource(
                raw.get(p.name, {}).get("initializer", p.initializer),
                float(raw.get(p.name, {}).get("multiplier", p.multiplier)),
                _parameter_file(raw.get(p.name, {}).get("file"), doc.file),
            )
            for p in layer_type.parameters
        }
        layers[name] = Layer(name, layer_type, props, inputs, params, index)
        previous = name
    for layer in layers.values():
        _check_values(layer, raw_layers[layer.index], diagnostics)
        _check_parameter_files(layer, diagnostics)
    return layers


def _check_values(layer: Layer, raw: dict[str, Any], diagnostics: DiagnosticList) -> None:
    """What the schema cannot say: ranges whose low end is above the high end, parameters a property disables."""
    for prop in layer.type.properties:
        value = layer.props[prop.name]
        if prop.kind == "range" and value is not None and value[0] > value[1]:
            diagnostics.add(
                f"'{prop.name}' of layer {layer.title} must be [low, high] with low <= high; "
                f"got {list(raw[prop.name])}",
                ("layers", layer.index, prop.name),
                code="invalid-value",
                layer=layer.name,
            )
    for param in layer.type.parameters:
        if param.name in raw and not param.enabled(layer.props):
            diagnostics.add(
                f"layer {layer.title} is given parameter '{param.name}', which its properties switch off "
                f"(e.g. with_bias: false): remove one or the other",
                ("layers", layer.index, param.name),
                code="unused-parameter",
                at_key=True,
                layer=layer.name,
            )


def _parameter_file(file: str | None, spec_file: str) -> Path | None:
    return None if file is None else Path(spec_file).parent / file


def _check_parameter_files(layer: Layer, diagnostics: DiagnosticList) -> None:
    for name, source in layer.parameters.items():
        if source.file is not None and not source.file.is_file():
            diagnostics.add(
                f"parameter file {source.file} of layer {layer.title} does not exist",
                ("layers", layer.index, name, "file"),
                code="missing-file",
                layer=layer.name,
            )


def _wire(layers: dict[str, Layer], names: list[str], diagnostics: DiagnosticList) -> nx.DiGraph | None:
    """The graph of the valid layers; None when it has a cycle (no order to infer shapes in).

    ``names`` holds every layer name written, valid layer or not, so that an input
    naming an invalid layer is not reported as naming no layer.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(layers)
    for layer in layers.values():
        where = ("layers", layer.index, "input")
        arity = layer.type.arity
        if not arity.accepts(len(layer.inputs)):
            if arity.most == 0:
                message = (
                    f"layer {layer.title} takes no input (it reads data), but input names {', '.join(layer.inputs)}"
                )
            elif not layer.inputs:
                message = (
                    f"layer {layer.title} takes {arity}, but none is given and no layer comes before it: "
                    "add input: NAME"
                )
            else:
                message = f"layer {layer.title} takes {arity}; got {len(layer.inputs)} ({', '.join(layer.inputs)})"
            diagnostics.add(message, where, code="arity", layer=layer.name)
        for position, source in enumerate(layer.inputs):
            at = where + (position,) if len(layer.inputs) > 1 else where
            if source not in names:
                hint = did_you_mean(source, [n for n in names if n != layer.name])
                diagnostics.add(
                    f"layer {layer.title} reads '{source}', but no layer has that name{hint}",
                    at,
                    code="unknown-input",
                    layer=layer.name,
                )
            elif source in layers:
                graph.add_edge(source, layer.name)
    cycles = sorted(nx.simple_cycles(graph), key=lambda c: layers[c[0]].index) if graph.number_of_edges() else []
    for cycle in cycles[:10]:
        first = min(cycle, key=lambda n: layers[n].index)
        start = cycle.index(first)
        ordered = cycle[start:] + cycle[:start]
        loop = " -> ".join(ordered + [ordered[0]])
        diagnostics.add(
            f"the layers form a cycle: {loop}; a network must be acyclic",
            ("layers", layers[first].index, "input"),
            code="cycle",
            layer=first,
        )
    return None if cycles else graph


def _outputs(
    data: dict[str, Any],
    names: list[str],
    layers: dict[str, Layer],
    graph: nx.DiGraph | None,
    diagnostics: DiagnosticList,
) -> list[str]:
    outputs = data.get("outputs")
    if outputs is None:
        return [] if graph is None else [name for name in layers if graph.out_degree(name) == 0]
    listed = [outputs] if isinstance(outputs, str) else outputs if isinstance(outputs, list) else []
    for position, name in enumerate(listed):
        if isinstance(name, str) and name not in names:
            where = ("outputs", position) if isinstance(outputs, list) else ("outputs",)
            diagnostics.add(
                f"outputs names '{name}', but no layer has that name{did_you_mean(name, names)}",
                where,
                code="unknown-output",
            )
    return [name for name in listed if isinstance(name, str)]


def _infer_shapes(graph: nx.DiGraph, layers: dict[str, Layer], diagnostics: DiagnosticList) -> None:
    """Run every layer's shape rule in topological order; report the first failure on each path.

    Layers that share a parameter scope must agree on the shapes of what they share.
    """
    shared: dict[str, tuple[tuple[int, ...], Layer]] = {}
    for name in nx.topological_sort(graph):
        layer = layers[name]
        shapes = [layers[source].shape if source in layers else None for source in layer.inputs]
        if any(shape is None for shape in shapes) or not layer.type.arity.accepts(len(shapes)):
            continue  # an input or the wiring failed already: that error is reported
        try:
            layer.shape = tuple(layer.type.infer_shape(shapes, layer.props))
            layer.parameter_shapes = {
                p.name: tuple(p.shape(shapes, layer.props)) for p in layer.type.parameters if p.enabled(layer.props)
            }
            for parameter, shape in layer.parameter_shapes.items():
                key = layer.parameter_key(parameter)
                first_shape, first = shared.setdefault(key, (shape, layer))
                if first_shape != shape:
                    diagnostics.add(
                        f"layer {layer.title} shares parameter {key} with layer {first.title}, but needs shape "
                        f"{format_shape(shape)} where {first.name} needs {format_shape(first_shape)}",
                        ("layers", layer.index, "parameter_scope"),
                        code="shape",
                        layer=name,
                    )
        except ShapeError as exc:
            received = [f"{source} {format_shape(layers[source].shape)}" for source in layer.inputs]
            received_text = (
                ", ".join(received[:-1]) + " and " + received[-1] if len(received) > 1 else "".join(received)
            )
            where = ("layers", layer.index, "input") if layer.inputs else ("layers", layer.index)
            if exc.prop is not None and ("layers", layer.index, exc.prop) in diagnostics.source_map.values:
                where = ("layers", layer.index, exc.prop)
            diagnostics.add(
                f"layer {layer.title} receives {received_text}: {exc}",
                where,
                code="shape",
                layer=name,
            )


def _check_data(data: dict[str, Any], layers: dict[str, Layer], diagnostics: DiagnosticList) -> dict[str, np.ndarray]:
    """The spec's data: section as arrays, each checked against the Input layer that reads it."""
    values = data.get("data")
    if not isinstance(values, dict):
        return {}
    readers = {layer.dataset: layer for layer in layers.values() if layer.type.is_source}
    arrays: dict[str, np.ndarray] = {}
    for variable, value in values.items():
        where = ("data", variable)
        reader = readers.get(variable)
        if not re.fullmatch(NAME_PATTERN.strip("^$"), variable):
            continue  # the schema reports the name
        if reader is None:
            named = layers.get(variable)
            hint = (
                f"; layer {named.title} reads data variable '{named.dataset}' (its dataset property)"
                if named is not None and named.type.is_source
                else did_you_mean(variable, readers)
            )
            diagnostics.add(
                f"data names variable '{variable}', but no Input layer reads it{hint}",
                where,
                code="unknown-variable",
                at_key=True,
            )
            continue
        try:
            array = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            position, problem = _first_bad_sample(value)
            diagnostics.add(
                f"data for '{variable}' must be numbers, one equally long list per sample: {problem}",
                where + position,
                code="invalid-data",
            )
            continue
        try:
            arrays[variable] = samples_of(array, reader.props["size"])
        except ValueError as exc:
            diagnostics.add(f"data for '{variable}' (read by {reader.title}): {exc}", where, code="data-shape")
    return arrays


def _first_bad_sample(value: Any) -> tuple[tuple[int, ...], str]:
    """Where data stops being a regular array of numbers, and why (for the message)."""
    if not isinstance(value, list):
        return (), f"got {_show(value)}"
    shapes = []
    for index, sample in enumerate(value):
        try:
            shapes.append(np.asarray(sample, dtype=np.float64).shape)
        except (ValueError, TypeError):
            return (index,), f"sample {index + 1} is not a regular list of numbers"
        if shapes[-1] != shapes[0]:
            return (
                index,
            ), f"sample {index + 1} has shape {format_shape(shapes[-1])}, sample 1 {format_shape(shapes[0])}"
    return (), "the samples are not regular lists of numbers"


def samples_of(array: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Data as a batch of samples of ``size``: (N, *size) as it is, or a single sample given alone."""
    size = tuple(size)
    if array.shape == size:
        return array[np.newaxis]
    if array.shape[1:] == size:
        return array
    raise ValueError(
        f"expects samples of shape {format_shape(size)} (a list of them, or one alone); "
        f"got shape {format_shape(array.shape)}"
    )
