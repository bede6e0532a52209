"""Stage 2 of validation: layers resolved, wired into a networkx DiGraph, shapes inferred.

Layers get their defaults and explicit inputs; the graph gets one node per valid
layer and one edge per input; shape rules run in topological order and store each
layer's output and parameter shapes on it. Problems become diagnostics; every
stage goes on with what is intact.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import networkx as nx

from ..checks.settings import problem as setting_problem
from ..checks.table import all_checks, checks_for
from ..core import codes
from ..core.diagnostics import ERROR, Diagnostic, DiagnosticList
from ..core.printable import quoted_name
from ..core.suggest import Candidates
from ..layers.catalog import Parameter, Property, ShapeError, Target, format_shape, layer_types
from ..layers.generators import NO_GENERATOR
from ..layers.loop import REPEAT_START
from .expressions import (
    INPUT,
    ExpressionError,
    PropertyExpression,
    Scope,
    Unusable,
    Value,
    Written,
    kind_problem,
    parse_property,
    property_value,
    shown_value,
)
from .loader import Document
from .model import DataReader, Layer, ParameterSource, TargetSource, data_readers
from .pin_sizes import parameter_feeds, pin_size, shape_order


def resolve_layers(
    raw_layers: list[Any],
    broken: set[Any],
    doc: Document,
    diagnostics: DiagnosticList,
    span: range | None = None,
) -> dict[str, Layer]:
    """Layers with defaults filled in and their inputs made explicit; duplicates reported. ``span``:
    the indices of one network's layers in ``raw_layers`` (nnspec.spec.networks; default: all)."""
    types = layer_types()
    layers: dict[str, Layer] = {}
    first_index: dict[str, int] = {}
    previous: str | None = None
    for index in range(len(raw_layers)) if span is None else span:
        raw = raw_layers[index]
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            previous = None
            continue
        name = raw["name"]
        if name in first_index:
            first_line = doc.source_map.locate(("layers", first_index[name], "name"))[0]
            diagnostics.add(
                f"duplicate layer name '{name}' (first used on line {first_line}): layer names must be unique",
                ("layers", index, "name"),
                code=codes.DUPLICATE_NAME,
                layer=name,
            )
            continue
        first_index[name] = index
        layer_type = types.get(raw["type"]) if isinstance(raw.get("type"), str) else None
        if layer_type is None or ("layers", index) in broken:
            previous = name
            continue  # its own errors are reported; it is left out of wiring and shapes
        expressions = _parsed_expressions(layer_type.properties, raw, index, diagnostics)
        if expressions is None:
            previous = name
            continue  # an expression that does not parse: reported; the layer is left out as a broken one
        inputs = raw.get("input", previous if layer_type.arity.least > 0 else None)
        inputs = [] if inputs is None else [inputs] if isinstance(inputs, str) else list(inputs)
        written = _with_kernel_length(raw, expressions)
        props = {
            p.name: None if p.name in expressions else p.normalize(raw.get(p.name, _default(p, written)))
            for p in layer_type.properties
        }
        params = {p.name: _parameter_source(p, raw.get(p.name, {}), doc.file) for p in layer_type.parameters}
        targets = {t.name: _target_source(t, raw.get(t.name, {}), t.generator) for t in layer_type.targets}
        layer = Layer(name, layer_type, props, inputs, params, index, raw.get("checks", {}), targets)
        layer.expressions = expressions
        layer.position = raw.get("position")
        _second_operand(layer, raw, diagnostics)
        _fed_parameters(layer, raw, diagnostics)
        layers[name] = layer
        previous = name
    for layer in layers.values():
        _check_values(layer, raw_layers[layer.index], diagnostics)
        check_settings(layer.checks, ("layers", layer.index, "checks"), layer, diagnostics)
    return layers


def _parsed_expressions(
    properties: tuple[Property, ...], raw: dict[str, Any], index: int, diagnostics: DiagnosticList
) -> dict[str, PropertyExpression] | None:
    """A layer's properties written as expressions, parsed; None (each syntax error reported) if one
    does not parse."""
    parsed: dict[str, PropertyExpression] = {}
    failed = False
    for prop in properties:
        if prop.name not in raw:
            continue
        try:
            expression = parse_property(prop, raw[prop.name], ("layers", index, prop.name))
        except ExpressionError as exc:
            _report_expression(exc, prop.name, raw, diagnostics)
            failed = True
            continue
        if expression is not None:
            parsed[prop.name] = expression
    return None if failed else parsed


def _with_kernel_length(raw: dict[str, Any], expressions: Mapping[str, PropertyExpression]) -> dict[str, Any]:
    """The layer as written, a kernel_shape given by expressions standing in with as many 1s as it
    has elements, so per-axis defaults (strides) follow its rank as they follow a literal's."""
    kernel = expressions.get("kernel_shape")
    if kernel is None:
        return raw
    length = sum(len(part.nodes) if isinstance(part, Written) else 1 for part in kernel.parts)
    return {**raw, "kernel_shape": [1] * length}


def _report_expression(
    exc: ExpressionError,
    prop: str,
    raw: dict[str, Any],
    diagnostics: DiagnosticList,
    candidates: tuple[str, ...] = (),
) -> None:
    """An expression's error, pointing inside the expression where the source map can say where;
    an unknown name gets the closest of ``candidates`` (the arguments) or Input as a suggestion."""
    path = exc.path
    written = raw.get(prop)
    text = _written_text(written)
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    kind = raw.get("type")
    message = f"'{prop}' of layer '{name}' ({kind}): {exc}"
    if exc.name is not None:
        message += diagnostics.suggestion(exc.name, [INPUT, *candidates])
    message += f" (in {text})"
    start = diagnostics.source_map.expressions.get(path) if diagnostics.source_map is not None else None
    if start is not None:
        line, column = start[0], start[1] + 1 + exc.offset  # + 1: the '=' before the expression's text
    else:
        line, column = diagnostics.source_map.locate(path) if diagnostics.source_map is not None else (None, None)
    if diagnostics.source_map is not None:
        path = diagnostics.source_map.written_path(path)
    diagnostics.items.append(Diagnostic(message, diagnostics.file, line, column, ERROR, exc.code, path, name))


def _written_text(written: Any) -> str:
    """A property's expression as written, for messages: cut short past 60 characters."""
    text = written if isinstance(written, str) else "[" + ", ".join(map(str, written)) + "]"
    return text if len(text) <= 60 else text[:57] + "..."


def evaluate_expressions(
    layer: Layer,
    shapes: list[tuple[int, ...]],
    arguments: Mapping[str, Value | Unusable],
    diagnostics: DiagnosticList,
    no_input: str = "",
) -> bool:
    """Evaluate a layer's expressions into its ``props`` (its first input's shape known); False, each
    problem reported, if one does not evaluate or gives a value its property cannot take.
    ``no_input``: why Input cannot be read, for expressions evaluated before shapes are known."""
    scope = Scope(arguments, shapes[0] if shapes else None, *((no_input,) if no_input else ()))
    raw = {"name": layer.name, "type": layer.type.name, **{k: e.written for k, e in layer.expressions.items()}}
    evaluated = True
    for name, expression in layer.expressions.items():
        prop = layer.type.property_map[name]
        try:
            value = property_value(expression, prop, scope)
        except ExpressionError as exc:
            if not exc.reported:
                _report_expression(exc, name, raw, diagnostics, candidates=tuple(arguments))
            evaluated = False
            continue
        problem = kind_problem(prop, value)
        if problem:
            diagnostics.add(
                f"'{name}' of layer {layer.title} {problem}; got {shown_value(value)} "
                f"(from {_written_text(expression.written)})",
                expression.path,
                code=codes.INVALID_VALUE,
                layer=layer.name,
            )
            evaluated = False
            continue
        layer.props[name] = prop.normalize(value)
    return evaluated


def check_shared_variables(layers: dict[str, Layer], diagnostics: DiagnosticList) -> None:
    """Layers may read one data variable together (Inputs, loss targets), if they agree on its shape."""
    first: dict[str, DataReader] = {}
    for reader in data_readers(layers):
        other = first.setdefault(reader.variable, reader)
        if reader.size is not None and other.size is not None and other.size != reader.size:
            where = ("layers", reader.layer.index, "size" if reader.target is None else reader.target)
            diagnostics.add(
                f"{other.title} and {reader.title} both read data variable '{reader.variable}', "
                f"but with shapes {format_shape(other.size)} and {format_shape(reader.size)}",
                where,
                code=codes.SHAPE,
                layer=reader.layer.name,
            )


def _check_values(layer: Layer, raw: dict[str, Any], diagnostics: DiagnosticList) -> None:
    """What the schema cannot say: ranges whose low end is above the high end, parameters a property disables."""
    for prop in layer.type.properties:
        value = layer.props[prop.name]
        if prop.kind == "range" and value is not None and value[0] > value[1]:
            diagnostics.add(
                f"'{prop.name}' of layer {layer.title} must be [low, high] with low <= high; "
                f"got {list(raw[prop.name])}",
                ("layers", layer.index, prop.name),
                code=codes.INVALID_VALUE,
                layer=layer.name,
            )
    for target in layer.type.targets:
        if isinstance(raw.get(target.name), dict):
            _mixed_side_input(layer, target.name, raw[target.name], diagnostics)
    if not _switched_by_expression(layer):  # else known once evaluated: check_switched_parameters
        check_parameters_switched_off(layer, raw, diagnostics)


def _switched_by_expression(layer: Layer) -> bool:
    return any(name in layer.expressions for name in _SWITCHES)


def check_switched_parameters(layers: dict[str, Layer], raw_layers: list[Any], diagnostics: DiagnosticList) -> None:
    """After shape inference: the parameters given to layers whose switch (with_bias) is an
    expression, now evaluated (a layer whose expressions failed is left out: its error is reported)."""
    for layer in layers.values():
        if _switched_by_expression(layer) and layer.shape is not None:
            check_parameters_switched_off(layer, raw_layers[layer.index], diagnostics)


def check_parameters_switched_off(layer: Layer, raw: dict[str, Any], diagnostics: DiagnosticList) -> None:
    """A parameter given while a property switches it off (b with with_bias: false) is an error."""
    for param in layer.type.parameters:
        if param.name in raw and not param.enabled(layer.props):
            diagnostics.add(
                f"layer {layer.title} is given parameter '{param.name}', which its properties switch off "
                f"(e.g. with_bias: false): remove one or the other",
                ("layers", layer.index, param.name),
                code=codes.UNUSED_PARAMETER,
                at_key=True,
                layer=layer.name,
            )


# Properties that switch a layer's parameters on or off (Parameter.enabled reads them).
_SWITCHES = ("with_bias",)


def check_settings(settings: dict[str, Any], path: tuple, layer: Layer | None, diagnostics: DiagnosticList) -> None:
    """What the schema cannot say of check settings: a threshold for a check that has none,
    a layer setting for a check that does not apply to the layer's type."""
    for check_id, setting in settings.items():
        check = all_checks().get(check_id)
        if (
            check is None
            or not isinstance(setting, (bool, str, int, float, dict))
            or _reported(path + (check_id,), diagnostics)
        ):
            continue  # the schema reports it
        if layer is not None and check not in checks_for(layer.type):
            diagnostics.add(
                f"check '{check_id}' does not apply to {layer.type.name} layers "
                f"(those checks are: {', '.join(c.id for c in checks_for(layer.type))})",
                path + (check_id,),
                code=codes.UNKNOWN_CHECK,
                at_key=True,
                layer=layer.name,
            )
        elif wrong := setting_problem(check, setting):
            diagnostics.add(
                f"check '{check_id}' {wrong}",
                path + (check_id,),
                code=codes.INVALID_VALUE,
                layer=layer.name if layer else None,
            )


def _reported(path: tuple, diagnostics: DiagnosticList) -> bool:
    """Whether an error at or inside ``path`` is reported already (a number too large to read)."""
    return any(d.path[: len(path)] == path for d in diagnostics.items)


# Properties with one value per kernel axis: the catalog's defaults are written for 2-D kernels.
_PER_AXIS = ("strides", "dilation", "padding")


def _default(prop: Property, raw: dict[str, Any]) -> Any:
    """A property's default; a per-axis one follows the kernel's rank, so a 1-D convolution
    (``kernel_shape: [3]``) is not refused for the 2-value strides its author never wrote."""
    default = prop.default
    kernel = raw.get("kernel_shape")
    if (
        prop.name in _PER_AXIS
        and isinstance(default, list)
        and default
        and len(set(default)) == 1  # the same value on every axis: it extends to any rank
        and isinstance(kernel, list)
        and kernel
    ):
        return default[:1] * len(kernel)
    return default


def _target_source(target: Target, config: dict[str, Any], generator: str = NO_GENERATOR) -> TargetSource:
    """A side input's source; ``generator`` is the default where no dataset is written either."""
    if "dataset" in config:
        generator = NO_GENERATOR  # an operand pin's default generator is for a pin given no data
    return TargetSource(
        config.get("dataset", target.dataset),
        config.get("generator", generator),
        float(config.get("generator_multiplier", target.multiplier)),
        config.get("input"),
    )


# NNC's generator for a second-operand pin given neither a layer nor data (Sub2's R.Generator default)
OPERAND_GENERATOR = "Constant"


def _second_operand(layer: Layer, raw: dict[str, Any], diagnostics: DiagnosticList) -> None:
    """A second operand written under its NNC pin (``R: {...}``): a layer joins the inputs, as in
    ``input: [first, layer]``; data or a generator becomes a side input read after the first input.
    Given both ways (``input: [a, b]`` and ``R:``), it is an error at the pin, and the pin is ignored."""
    pin = layer.type.operand
    config = raw.get(pin) if pin is not None else None
    if pin is None or not isinstance(config, dict):
        return
    if len(layer.inputs) >= 2 and isinstance(raw.get("input"), list):
        diagnostics.add(
            f"layer {layer.title} is given its second operand twice: input names {', '.join(layer.inputs)}, and "
            f"{pin}: gives it too; write input: {layer.inputs[0]} with {pin}:, or input: [a, b] alone",
            ("layers", layer.index, pin),
            code=codes.ARITY,
            at_key=True,
            layer=layer.name,
        )
        return
    if _mixed_side_input(layer, pin, config, diagnostics):
        return
    if isinstance(config.get("input"), str):
        layer.inputs = [*layer.inputs, config["input"]]
        layer.operand_pin = pin
    elif (target := layer.type.operand_target) is not None:
        layer.targets[pin] = _target_source(target, config, OPERAND_GENERATOR)


def _fed_parameters(layer: Layer, raw: dict[str, Any], diagnostics: DiagnosticList) -> None:
    """Parameters written ``W: {input: LAYER}`` (NNC's link into a parameter pin): the layer's output
    gives the parameter's value, so the parameter is a side input read after the others
    (Layer.fed_parameters); it comes from one place, so an initializer or file beside is an error."""
    for param in layer.type.parameters:
        config = raw.get(param.name)
        if not isinstance(config, dict) or not isinstance(config.get("input"), str):
            continue
        if _mixed_side_input(layer, param.name, config, diagnostics, PARAMETER_SETTINGS):
            continue
        layer.targets[param.name] = TargetSource("", input=config["input"])


# A parameter's own settings, which a parameter given by a layer has no use for (lrate_multiplier is
# training's, and NNC keeps it for a linked pin).
PARAMETER_SETTINGS = ("initializer", "multiplier", "file")
SIDE_INPUT_SETTINGS = ("dataset", "generator", "generator_multiplier")


def _mixed_side_input(
    layer: Layer,
    pin: str,
    config: dict[str, Any],
    diagnostics: DiagnosticList,
    settings: tuple[str, ...] = SIDE_INPUT_SETTINGS,
) -> bool:
    """Whether a side input names a layer and data or a generator too (reported: one way per pin)."""
    others = [key for key in settings if key in config]
    if "input" not in config or not others:
        return False
    kinds = "a layer, a data variable or a generator" if settings is SIDE_INPUT_SETTINGS else "a layer or its settings"
    diagnostics.add(
        f"{pin} of layer {layer.title} comes from layer {quoted_name(config['input'])} (input:) and also sets "
        f"{', '.join(others)}: a side input comes from one place, {kinds}",
        ("layers", layer.index, pin),
        code=codes.INVALID_VALUE,
        at_key=True,
        layer=layer.name,
    )
    return True


def _parameter_source(param: Parameter, config: dict[str, Any], spec_file: str) -> ParameterSource:
    """Where a parameter comes from: the spec's settings over the catalog's defaults."""
    file = config.get("file")
    return ParameterSource(
        config.get("initializer", param.initializer),
        float(config.get("multiplier", param.multiplier)),
        None if file is None else Path(spec_file).parent / file,  # relative to the spec
        float(config.get("lrate_multiplier", param.lrate_multiplier)),
    )


def _report_shape_error(layer: Layer, layers: dict[str, Layer], exc: ShapeError, diagnostics: DiagnosticList) -> None:
    """A shape rule's error, at the property it names when the spec writes it, else at the inputs."""
    received = [f"{source} {format_shape(layers[source].inferred_shape)}" for source in layer.inputs]
    received_text = ", ".join(received[:-1]) + " and " + received[-1] if len(received) > 1 else "".join(received)
    where = ("layers", layer.index, "input") if layer.inputs else ("layers", layer.index)
    if exc.prop is not None and ("layers", layer.index, exc.prop) in diagnostics.source_map.values:
        where = ("layers", layer.index, exc.prop)
    subject = f"layer {layer.title} receives {received_text}" if received else f"layer {layer.title}"
    diagnostics.add(f"{subject}: {exc}", where, code=codes.SHAPE, layer=layer.name)


def wire(layers: dict[str, Layer], names: list[str], diagnostics: DiagnosticList) -> nx.DiGraph | None:
    """The graph of the valid layers; None when it has a cycle (no order to infer shapes in).

    ``names`` holds every layer name written, valid layer or not, so that an input
    naming an invalid layer is not reported as naming no layer.
    """
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(layers)
    written = set(names)  # looked up once per input: a list would make wiring quadratic
    index: Candidates | None = None  # of the names, for suggestions: built once, when first needed
    for layer in layers.values():
        where = ("layers", layer.index, "input")
        arity = layer.type.arity
        if not arity.accepts(layer.operand_count):
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
                if layer.type.operand is not None and layer.operand_count < arity.least:
                    message += f"; give the second as input: [a, b], or as {layer.type.operand}: {{input: LAYER}}"
                    if layer.type.operand_from_data:
                        message += " (or {dataset: VARIABLE}, {generator: Constant})"
            diagnostics.add(message, where, code=codes.ARITY, layer=layer.name)
        for position, source in enumerate(layer.inputs):
            at: tuple = where + (position,) if len(layer.inputs) > 1 else where
            if layer.operand_pin is not None and position == len(layer.inputs) - 1:
                at = ("layers", layer.index, layer.operand_pin, "input")
            index = _wire_one(graph, layer, source, at, written, layers, names, index, diagnostics)
        for pin, source in layer.side_inputs().items():
            at = ("layers", layer.index, pin, "input")
            index = _wire_one(graph, layer, source, at, written, layers, names, index, diagnostics, pin)
    cycles = _one_cycle_per_knot(graph, layers)
    for cycle in cycles:
        loop = " -> ".join(cycle + [cycle[0]])
        diagnostics.add(
            f"the layers form a cycle: {loop}; a network must be acyclic, but for a Delay's input (a Delay "
            "reads its input's value at the step before, in a recurrent loop)",
            _read_at(layers[cycle[0]], cycle[-1]),
            code=codes.CYCLE,
            layer=cycle[0],
        )
    return None if cycles else graph


def _wire_one(
    graph: nx.DiGraph,
    layer: Layer,
    source: str,
    at: tuple,
    written: set[str],
    layers: dict[str, Layer],
    names: list[str],
    index: Candidates | None,
    diagnostics: DiagnosticList,
    pin: str | None = None,
) -> Candidates | None:
    """One edge into ``layer`` from the layer it reads (an input, or the side input ``pin``), or the
    error of a name no layer has; gives back the suggestions' index, built when first needed."""
    if source not in written:
        index = index or Candidates(names)
        hint = diagnostics.suggestion(source, index, excluding=layer.name)
        reads = f"reads {quoted_name(source)}" + ("" if pin is None else f" for {pin}")
        diagnostics.add(
            f"layer {layer.title} {reads}, but no layer has that name{hint}",
            at,
            code=codes.UNKNOWN_INPUT,
            layer=layer.name,
        )
    elif source in layers:
        graph.add_edge(source, layer.name)
    return index


def _read_at(layer: Layer, source: str) -> tuple:
    """Where a layer's spec says it reads ``source``: its input, or the side input naming it."""
    if source not in layer.inputs:
        for pin, named in layer.side_inputs().items():
            if named == source:
                return ("layers", layer.index, pin, "input")
    if layer.operand_pin is not None and layer.inputs[-1] == source and source not in layer.inputs[:-1]:
        return ("layers", layer.index, layer.operand_pin, "input")
    return ("layers", layer.index, "input")


def _one_cycle_per_knot(graph: nx.DiGraph, layers: dict[str, Layer]) -> list[list[str]]:
    """A cycle in each strongly connected knot of layers, starting at its first-written layer.

    One per knot, found in linear time: listing every cycle can take exponential time.
    """
    cycles = []
    for knot in nx.strongly_connected_components(graph):
        first = min(knot, key=lambda n: layers[n].index)
        if len(knot) == 1 and not graph.has_edge(first, first):
            continue
        edges = nx.find_cycle(graph.subgraph(knot), source=first)
        cycle = [source for source, _ in edges]
        start = cycle.index(first) if first in cycle else 0
        cycles.append(cycle[start:] + cycle[:start])
    return sorted(cycles, key=lambda c: layers[c[0]].index)


def output_layers(
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
    written = set(names)
    index: Candidates | None = None  # of the names, for suggestions: built once, when first needed
    for position, name in enumerate(listed):
        if isinstance(name, str) and name not in written:
            index = index or Candidates(names)
            where = ("outputs", position) if isinstance(outputs, list) else ("outputs",)
            diagnostics.add(
                f"outputs names '{name}', but no layer has that name{diagnostics.suggestion(name, index)}",
                where,
                code=codes.UNKNOWN_OUTPUT,
            )
    return [name for name in listed if isinstance(name, str)]


# A sample's axes at most: a run adds the batch axis, and numpy broadcasts at most 32 axes (np.broadcast,
# np.broadcast_shapes; arrays stop at 64). More passed validation and then crashed in shape inference or run.
MAX_AXES = 31


def execution_order(graph: nx.DiGraph, layers: dict[str, Layer]) -> tuple[str, ...]:
    """The order the layers run in: topological, ties broken by the order they are written in
    (the order of ``layers``: a repeat's copies, which share their written index, in iteration order).
    Validation computes it once and keeps it on the Spec (``Spec.order``) for everything after."""
    position = {name: n for n, name in enumerate(layers)}
    return tuple(nx.lexicographical_topological_sort(graph, key=position.__getitem__))


def infer_shapes(
    order: tuple[str, ...],
    layers: dict[str, Layer],
    diagnostics: DiagnosticList,
    arguments: Mapping[str, Value | Unusable] = MappingProxyType({}),
) -> None:
    """Run every layer's shape rule in execution ``order``; report the first failure on each path.
    A layer's expressions are evaluated first, with ``arguments`` and its first input's shape.

    Layers that share a parameter scope must agree on the shapes of what they share. A layer whose size
    is the shape of the parameter pin it feeds (a Parameter's left-out size, NNC's *GraphOutput) has its
    shape inferred after the layers it feeds (nnspec.spec.pin_sizes).
    """
    shared: dict[str, tuple[tuple[int, ...], Layer]] = {}
    feeds = parameter_feeds({name: layers[name] for name in order})
    order, circular = shape_order(order, layers, feeds) if feeds else (order, set())
    for name in order:
        layer = layers[name]
        known = [layers[source].shape if source in layers else None for source in layer.inputs]
        shapes = [shape for shape in known if shape is not None]
        if len(shapes) < len(known) or not layer.type.arity.accepts(layer.operand_count):
            continue  # an input or the wiring failed already: that error is reported
        scope = (
            arguments if layer.unit_arguments is None else layer.unit_arguments.values(layers, arguments, diagnostics)
        )
        # A RepeatStart's times was evaluated before the repeats were expanded (nnspec.spec.expand).
        evaluated_here = layer.expressions and layer.type is not REPEAT_START
        if evaluated_here and not evaluate_expressions(layer, shapes, scope, diagnostics):
            layer.shape = None  # the layers after it are left out of shape inference
            continue
        if layer.operand_count > len(shapes):  # a second operand from data: of the first input's shape
            shapes.append(shapes[0])
        props = layer.props
        try:
            if name in feeds:  # its rules see the size it stands for; the spec keeps it left out
                size = pin_size(layer, layers, feeds, circular)
                if size is None:
                    continue  # a layer it feeds failed: that error is reported
                props = {**layer.props, str(layer.type.size_from_pin): list(size)}
            layer.shape = tuple(layer.type.infer_shape(shapes, props))
            layer.parameter_shapes = {
                p.name: tuple(p.shape(shapes, props)) for p in layer.type.parameters if p.enabled(props)
            }
            layer.target_shapes = {t.name: tuple(t.shape(shapes, props)) for t in layer.type.targets}
            if layer.type.operand in layer.targets:
                layer.target_shapes[layer.type.operand] = shapes[-1]
            for pin in layer.fed_parameters():  # a layer's output given as a parameter: of the parameter's shape
                if pin in layer.parameter_shapes:
                    layer.target_shapes[pin] = layer.parameter_shapes[pin]
            if len(layer.shape) > MAX_AXES:
                raise ShapeError(
                    f"its output would have {len(layer.shape)} axes; nnspec takes at most {MAX_AXES} (numpy's limit "
                    f"of {MAX_AXES + 1} for broadcasting, with the batch axis)",
                    "size" if layer.type.is_source else None,
                )
            if 0 in layer.shape:
                # A backstop: each layer's rule refuses the properties that would empty its output
                # (a slice that selects nothing, a kernel longer than its input); one that does not
                # must still not pass a layer of no values on to a run that computes nothing.
                raise ShapeError(
                    f"its output would have shape {format_shape(layer.shape)}, which holds no values: check its "
                    "properties (kernel, strides, padding, slice) against the shape it receives"
                )
        except ShapeError as exc:
            layer.shape = None  # the layers after it are left out of shape inference
            _report_shape_error(layer, layers, exc, diagnostics)
            continue
        _check_side_shapes(layer, layers, diagnostics)
        fed = layer.fed_parameters()
        for parameter, shape in layer.parameter_shapes.items():
            if parameter in fed:
                continue  # no stored parameter: nothing to share
            key = layer.parameter_key(parameter)
            first_shape, first = shared.setdefault(key, (shape, layer))
            if first_shape != shape:
                diagnostics.add(
                    f"layer {layer.title} shares parameter {key} with layer {first.title}, but needs shape "
                    f"{format_shape(shape)} where {first.name} needs {format_shape(first_shape)}",
                    ("layers", layer.index, "parameter_scope"),
                    code=codes.SHAPE,
                    layer=name,
                )


def _check_side_shapes(layer: Layer, layers: dict[str, Layer], diagnostics: DiagnosticList) -> None:
    """A side input fed by a layer must have the shape the layer needs there (a loss's target: its
    input's), as data for it would; an error at the side input's input: otherwise."""
    for pin, source in layer.side_inputs().items():
        given, needed = layers[source].shape if source in layers else None, layer.target_shapes.get(pin)
        if given is None or needed is None or given == needed:
            continue  # a shape that could not be inferred has its error already
        why = (  # a Delay's first step has no input: its size sets the shape
            f"as its input {format_shape(layers[layer.inputs[0]].inferred_shape)} makes it"
            if layer.inputs
            else "as its size makes it"
        )
        diagnostics.add(
            f"{pin} of layer {layer.title} must have shape {format_shape(needed)} ({why}), but layer "
            f"{layers[source].title} gives {format_shape(given)}",
            ("layers", layer.index, pin, "input"),
            code=codes.SHAPE,
            layer=layer.name,
        )
