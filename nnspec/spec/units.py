"""Units: a Unit layer runs another network of the spec, written out in its place (NNC's Unit).

Part of the expansion stage (nnspec.spec.expand), after the repeats of the network that runs are
written out, so a unit inside a repeat is expanded once per copy (``Fire[0]``, ``Fire[1]``). For
each Unit layer, the network it calls (its repeats written out first, so a repeat inside a unit
network works too) is copied in:

- its layers are named ``<unit>/<inner>`` (``FireModule_3/Squeeze``, ``Fire[0]/Squeeze``,
  ``Outer/Inner/Squeeze`` for nested units), as NNC names them in its exports and nnabla's
  pretrained NNC models name them (``SqueezeNet/AveragePooling``);
- its one Input is not copied: the layers reading it read the unit's input; the layers reading the
  unit read the network's one output (the layer no other layer reads);
- parameters: an inner layer's parameter scope is ``<unit's parameter_scope>/<its own scope>``, the
  unit's scope being its name by default (NNC's ``*Name``: ``FireModule_3/Squeeze/conv/W``); an
  empty scope ("") adds nothing, so units calling one network with it share its parameters
  (``Squeeze/conv/W``); nested units join their scopes. The unit's ``parameters:`` set an inner
  layer's parameter sources as the layer's own settings would (NNC's ``Squeeze.W.*``);
- arguments: each copied layer evaluates its expressions with the unit's argument values, which
  are the network's ``arguments:`` with the unit's ``arguments:`` over them; those are literals or
  expressions evaluated in the caller's scope (its arguments; Input = the unit's input), once the
  unit's input shape is known (during shape inference).

A network reaching itself through units is an error naming the chain. Copies keep the written
inner layer's (flat) index, so their errors point at the line in ``networks:`` and name the copy.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import codes
from ..core.diagnostics import WARNING, DiagnosticList, show_value
from ..core.printable import quoted_name
from ..layers.unit import UNIT
from .expand import MAX_EXPANDED_LAYERS, expand
from .expressions import (
    USED_AS_WRITTEN,
    ExpressionError,
    Scope,
    Unusable,
    Value,
    Written,
    argument_problem,
    argument_value,
    argument_values,
    evaluate,
    is_expression,
    parse,
    used_as_written,
)
from .model import Layer, ParameterSource
from .networks import Network

# How deep units may nest (a unit calling a network of units ...): NNC's projects nest 3 deep at most;
# each level is a few Python frames here and in the stages after, so a chain of a thousand (a few
# hundred bytes of project each) would overflow the interpreter's stack.
MAX_UNIT_DEPTH = 64
_COPY_SUFFIX = re.compile(r"(\[[0-9]+\])+$")  # a repeat copy's iterations: Conv[0][1]
_PARAMETER_SETTINGS = ("initializer", "multiplier", "file", "lrate_multiplier")


@dataclass
class UnitCall:
    """One unit written out: what the pictures draw as a box and a report can group."""

    name: str  # the unit's expanded name (FireModule_3, Outer/Inner)
    network: str
    layers: list[str] = field(default_factory=list)  # the expanded layers it stands for, nested units' too
    output: str = ""  # the expanded layer that gives its output


@dataclass
class _Called:
    """A network as a unit runs it: its layers with its repeats written out, its entry and output."""

    network: Network
    layers: dict[str, Layer]
    entry: str
    output: str


@dataclass
class UnitArguments:
    """A unit call's argument values, computed when an inner layer first needs them (its input's shape
    is then known): the network's defaults, the unit's values over them."""

    unit: Layer  # the Unit layer (its copy in a repeat), for messages and where its arguments are written
    network: Network
    parent: UnitArguments | None  # the caller's, when the caller is itself inside a unit
    source: str  # the expanded layer the unit reads: Input in its expressions
    given: dict[str, Any]  # argument -> a literal, or a parsed expression (Written)
    computed: dict[str, Value | Unusable] | None = None

    def values(
        self, layers: dict[str, Layer], arguments: Mapping[str, Value | Unusable], diagnostics: DiagnosticList
    ) -> Mapping[str, Value | Unusable]:
        if self.computed is None:
            caller = arguments if self.parent is None else self.parent.values(layers, arguments, diagnostics)
            source = layers.get(self.source)
            scope = Scope(caller, source.shape if source is not None else None)
            computed = {}
            for name, argument in self.network.arguments.items():
                if name not in self.given:
                    computed[name] = argument_value(argument)
                elif isinstance(self.given[name], Written):
                    computed[name] = self._evaluated(name, self.given[name], scope, diagnostics)
                else:  # a literal, checked against its type when the unit was expanded
                    written = dataclasses.replace(argument, value=self.given[name])
                    computed[name] = (
                        argument_value(written)
                        if not argument_problem(argument.type, written.value)
                        or used_as_written(argument.type, written.value)
                        else (Unusable("invalid", reported=True))
                    )
            self.computed = computed
        return self.computed

    def _evaluated(self, name: str, written: Written, scope: Scope, diagnostics: DiagnosticList) -> Value | Unusable:
        argument = self.network.arguments[name]
        path = ("layers", self.unit.index, "arguments", name)
        try:
            values = evaluate(written.nodes, scope, written.text)
        except ExpressionError as exc:
            if not exc.reported:
                hint = diagnostics.suggestion(exc.name, ["Input", *scope.arguments]) if exc.name else ""
                diagnostics.add(
                    f"argument '{name}' of unit {self.unit.title}: {exc}{hint} (in ={written.text})",
                    path,
                    code=exc.code,
                    layer=self.unit.name,
                )
            return Unusable("invalid", reported=True)
        plain = _plain_argument(values, argument.type)
        problem = argument_problem(argument.type, plain)
        if problem and used_as_written(argument.type, plain):
            diagnostics.add(
                f"argument '{name}' of unit {self.unit.title} is of type {argument.type} (network "
                f"'{self.network.name}'): its value {problem}; ={written.text} gives {show_value(plain)}: "
                f"{USED_AS_WRITTEN}",
                path,
                code=codes.ARGUMENT_TYPE,
                severity=WARNING,
                layer=self.unit.name,
            )
            problem = ""
        if problem:
            diagnostics.add(
                f"argument '{name}' of unit {self.unit.title} is of type {argument.type} (network "
                f"'{self.network.name}'): its value {problem}; ={written.text} gives {show_value(plain)}",
                path,
                code=codes.INVALID_VALUE,
                layer=self.unit.name,
            )
            return Unusable("invalid", reported=True)
        return argument_value(dataclasses.replace(argument, value=plain))


def _plain_argument(values: list[Value], kind: str) -> Any:
    """An expression's values as an argument of NNC type ``kind`` would be written: one value, or a
    list for an array type."""
    plain = [_plain_number(value) for value in values]
    return plain if kind.endswith("Array") or len(plain) != 1 else plain[0]


def _plain_number(value: Value) -> Any:
    if isinstance(value, tuple):  # evaluate() splices an array argument's numbers: never here
        raise AssertionError("an array value reached an argument element")
    if isinstance(value, bool):
        return value
    return int(value) if value.denominator == 1 else float(value)


@dataclass
class _Context:
    networks: dict[str, Network]
    diagnostics: DiagnosticList
    file: str
    called: dict[str, _Called | None] = field(default_factory=dict)
    out: dict[str, Layer] = field(default_factory=dict)
    units: dict[str, UnitCall] = field(default_factory=dict)
    reported: set[Any] = field(default_factory=set)
    too_many: bool = False


def has_units(layers: dict[str, Layer]) -> bool:
    return any(layer.type is UNIT for layer in layers.values())


def expand_units(
    layers: dict[str, Layer], networks: dict[str, Network], running: str | None, diagnostics: DiagnosticList, file: str
) -> tuple[dict[str, Layer], dict[str, str], dict[str, UnitCall]]:
    """The layers with every unit written out; for each Unit of ``layers`` (by its name there), the
    expanded layer that gives its output; and each unit written out, by expanded name. ``running``
    names the network ``layers`` belong to (None: the main one), for the chain of a recursion."""
    context = _Context(networks, diagnostics, file)
    top = _Instance(context, layers, "", "", None, "", None, (running or "main",), {})
    top.run()
    return context.out, top.done, context.units


class _Instance:
    """One network's layers copied into the expanded network, under a prefix."""

    def __init__(
        self,
        context: _Context,
        layers: dict[str, Layer],
        prefix: str,
        scope_prefix: str,
        entry: str | None,
        source: str,
        arguments: UnitArguments | None,
        chain: tuple[str, ...],
        overrides: dict[str, Any],
    ) -> None:
        self.context = context
        self.layers = layers
        self.prefix = prefix  # "" for the network that runs, "Unit/" inside a unit
        self.scope_prefix = scope_prefix
        self.entry = entry  # the network's Input, which the unit's input stands for
        self.source = source
        self.arguments = arguments
        self.chain = chain
        self.overrides = overrides
        self.done: dict[str, str] = {}  # Unit layer -> the expanded layer giving its output
        self.busy: set[str] = set()

    def run(self) -> None:
        for layer in self.layers.values():
            if layer.name == self.entry:
                continue
            if layer.type is UNIT:
                self.unit_output(layer)
            else:
                self._emit(self._copy(layer))

    def name(self, local: str) -> str:
        """The expanded layer a reference to ``local`` (a name in this network) reads."""
        if local == self.entry:
            return self.source
        layer = self.layers.get(local)
        if layer is not None and layer.type is UNIT:
            return self.unit_output(layer)
        return self.prefix + local

    def _emit(self, layer: Layer) -> None:
        if len(self.context.out) >= MAX_EXPANDED_LAYERS:
            if not self.context.too_many:
                self.context.too_many = True
                self.context.diagnostics.add(
                    f"the units expand to more than {MAX_EXPANDED_LAYERS:,} layers, the most nnspec runs",
                    ("layers", layer.index),
                    code=codes.UNIT,
                    layer=layer.name,
                )
            return
        self.context.out[layer.name] = layer

    def _copy(self, layer: Layer) -> Layer:
        inputs = [self.name(source) for source in layer.inputs]
        targets = {
            pin: source if source.input is None else dataclasses.replace(source, input=self.name(source.input))
            for pin, source in layer.targets.items()
        }
        if not self.prefix:
            if inputs == layer.inputs and targets == layer.targets:
                return layer
            return dataclasses.replace(layer, inputs=inputs, targets=targets)
        props = dict(layer.props)  # its own: shape inference writes the values its expressions give
        if layer.type.parameters:
            props["parameter_scope"] = _joined(self.scope_prefix, layer.parameter_scope)
        return dataclasses.replace(
            layer,
            name=self.prefix + layer.name,
            inputs=inputs,
            targets=targets,
            props=props,
            parameters=self._parameters(layer),
            unit_arguments=self.arguments,
        )

    def _parameters(self, layer: Layer) -> dict[str, ParameterSource]:
        settings = self.overrides.get(_COPY_SUFFIX.sub("", layer.name))
        if not isinstance(settings, dict):
            return layer.parameters
        parameters = dict(layer.parameters)
        for param, given in settings.items():
            if param in parameters and isinstance(given, dict):
                parameters[param] = _overridden(parameters[param], given, self.context.file)
        return parameters

    def unit_output(self, unit: Layer) -> str:
        """The expanded layer that gives ``unit``'s output, the unit written out on first use."""
        if unit.name in self.done:
            return self.done[unit.name]
        if unit.name in self.busy:  # units reading each other in a cycle: wiring reports it
            return self.prefix + unit.name
        self.busy.add(unit.name)
        expanded = self.prefix + unit.name
        local = unit.name
        unit = dataclasses.replace(unit, name=expanded)  # messages name the copy (Outer/Inner)
        called = self._called(unit)
        result = expanded
        if called is not None:
            source = self.name(unit.inputs[0])
            arguments = UnitArguments(unit, called.network, self.arguments, source, self._given(unit, called.network))
            overrides = _checked_overrides(unit, called, self.context.diagnostics)
            scope = unit.props.get("parameter_scope")
            inner = _Instance(
                self.context,
                called.layers,
                expanded + "/",
                _joined(self.scope_prefix, local if scope is None else scope),
                called.entry,
                source,
                arguments,
                self.chain + (called.network.name or "",),
                overrides,
            )
            start = len(self.context.out)
            inner.run()
            result = inner.name(called.output)
            members = list(self.context.out)[start:]  # its layers and its nested units', in the order emitted
            self.context.units[expanded] = UnitCall(expanded, called.network.name or "", members, result)
        self.done[local] = result
        return result

    def _called(self, unit: Layer) -> _Called | None:
        """The network ``unit`` calls, checked (reported and None when it cannot be called)."""
        diagnostics = self.context.diagnostics
        name = unit.props.get("network")
        if len(unit.inputs) != 1:
            diagnostics.add(
                f"unit {unit.title} takes exactly 1 input (its network's Input); got {len(unit.inputs)}"
                + (f" ({', '.join(unit.inputs)})" if unit.inputs else ": add input: NAME"),
                ("layers", unit.index, "input") if unit.inputs else ("layers", unit.index),
                code=codes.ARITY,
                layer=unit.name,
            )
            return None
        if not isinstance(name, str) or name not in self.context.networks:
            if isinstance(name, str):
                hint = diagnostics.suggestion(name, list(self.context.networks))
                known = ", ".join(self.context.networks) or "none: add a networks: section"
                self._report_once(
                    ("unknown", unit.index),
                    f"unit {unit.title} calls network '{name}', which the spec does not write{hint} "
                    f"(its networks: {known})",
                    ("layers", unit.index, "network"),
                    codes.UNKNOWN_NETWORK,
                    unit.name,
                )
            else:
                self._report_once(
                    ("missing", unit.index),
                    f"unit {unit.title} names no network: add network: NAME (one of networks:)",
                    ("layers", unit.index),
                    codes.UNIT,
                    unit.name,
                )
            return None
        if name in self.chain:
            loop = " -> ".join(self.chain[self.chain.index(name) :] + (name,))
            self._report_once(
                ("recursion", frozenset(self.chain[self.chain.index(name) :])),
                f"unit {unit.title} calls network '{name}', which is already being expanded: {loop}; "
                "a network may not reach itself through units",
                ("layers", unit.index, "network"),
                codes.UNIT_RECURSION,
                unit.name,
            )
            return None
        if len(self.chain) > MAX_UNIT_DEPTH:
            self._report_once(
                ("depth",),
                f"unit {unit.title} calls network '{name}' {len(self.chain)} units deep ("
                f"{' -> '.join(self.chain[:3])} -> ... -> {self.chain[-1]}); units nest at most {MAX_UNIT_DEPTH} deep",
                ("layers", unit.index, "network"),
                codes.UNIT,
                unit.name,
            )
            return None
        if name not in self.context.called:
            self.context.called[name] = _prepare(self.context.networks[name], self.context.diagnostics)
        return self.context.called[name]

    def _report_once(self, key: Any, message: str, path: tuple, code: str, layer: str) -> None:
        if key not in self.context.reported:
            self.context.reported.add(key)
            self.context.diagnostics.add(message, path, code=code, layer=layer, at_key=path[-1] == "network")

    def _given(self, unit: Layer, network: Network) -> dict[str, Any]:
        """The unit's argument values, checked: names the network has, literals of their types,
        expressions that parse (each problem reported, the value left out)."""
        diagnostics = self.context.diagnostics
        given = unit.props.get("arguments") or {}
        checked: dict[str, Any] = {}
        for name, value in given.items():
            path = ("layers", unit.index, "arguments", name)
            argument = network.arguments.get(name)
            if argument is None:
                hint = diagnostics.suggestion(name, list(network.arguments))
                known = ", ".join(network.arguments) or "none"
                diagnostics.add(
                    f"unit {unit.title} gives argument '{name}', which network '{network.name}' does not have{hint} "
                    f"(its arguments: {known})",
                    path,
                    code=codes.UNKNOWN_ARGUMENT,
                    at_key=True,
                    layer=unit.name,
                )
                continue
            if is_expression(value):
                try:
                    checked[name] = Written(value[1:], tuple(parse(value[1:])), path)
                except ExpressionError as exc:
                    diagnostics.add(
                        f"argument '{name}' of unit {unit.title}: {exc} (in {value})",
                        path,
                        code=exc.code,
                        layer=unit.name,
                    )
                continue
            problem = argument_problem(argument.type, value)
            if problem and used_as_written(argument.type, value):
                diagnostics.add(
                    f"argument '{name}' of unit {unit.title} is of type {argument.type} (network '{network.name}'): "
                    f"its value {problem}; got {show_value(value)}: {USED_AS_WRITTEN}",
                    path,
                    code=codes.ARGUMENT_TYPE,
                    severity=WARNING,
                    layer=unit.name,
                )
                problem = ""
            if problem:
                diagnostics.add(
                    f"argument '{name}' of unit {unit.title} is of type {argument.type} (network '{network.name}'): "
                    f"its value {problem}; got {show_value(value)}",
                    path,
                    code=codes.INVALID_VALUE,
                    layer=unit.name,
                )
                continue
            checked[name] = value
        return checked


def _joined(prefix: str, scope: str) -> str:
    return "/".join(part for part in (prefix, scope) if part)


def _overridden(source: ParameterSource, given: dict[str, Any], file: str) -> ParameterSource:
    """A parameter's source with a unit's settings for it over the written layer's."""
    changes: dict[str, Any] = {}
    if "initializer" in given:
        changes["initializer"] = given["initializer"]
    if "multiplier" in given:
        changes["multiplier"] = float(given["multiplier"])
    if "lrate_multiplier" in given:
        changes["lrate_multiplier"] = float(given["lrate_multiplier"])
    if "file" in given:
        changes["file"] = Path(file).parent / given["file"]
    return dataclasses.replace(source, **changes)


def _checked_overrides(unit: Layer, called: _Called, diagnostics: DiagnosticList) -> dict[str, Any]:
    """The unit's parameters: settings whose inner layer and parameter exist (the others reported)."""
    given = unit.props.get("parameters") or {}
    written = called.network.layers
    with_parameters = [name for name, layer in written.items() if layer.type.parameters]
    kept: dict[str, Any] = {}
    for inner, settings in given.items():
        path = ("layers", unit.index, "parameters", inner)
        layer = written.get(inner)
        if layer is None or not layer.type.parameters:
            hint = diagnostics.suggestion(inner, with_parameters)
            why = "has no parameters" if layer is not None else "has no layer of that name"
            diagnostics.add(
                f"unit {unit.title} sets parameters of {quoted_name(inner)}, but network "
                f"'{called.network.name}' {why}{hint} "
                f"(its layers with parameters: {', '.join(with_parameters) or 'none'})",
                path,
                code=codes.UNKNOWN_PROPERTY,
                at_key=True,
                layer=unit.name,
            )
            continue
        if not isinstance(settings, dict):
            continue  # the schema reports it
        names = [p.name for p in layer.type.parameters]
        for param, setting in settings.items():
            if param not in names:
                diagnostics.add(
                    f"unit {unit.title} sets parameter '{param}' of {quoted_name(inner)} ({layer.type.name}), "
                    "which has "
                    f"{', '.join(names)}{diagnostics.suggestion(param, names)}",
                    path + (param,),
                    code=codes.UNKNOWN_PROPERTY,
                    at_key=True,
                    layer=unit.name,
                )
            elif isinstance(setting, dict) and set(setting) <= set(_PARAMETER_SETTINGS):
                kept.setdefault(inner, {})[param] = setting
    return kept


def _prepare(network: Network, diagnostics: DiagnosticList) -> _Called | None:
    """A network as units call it: its repeats written out; exactly one Input and one output
    (reported otherwise, and None). A network with a layer left out (its error reported) is not
    checked further: its Inputs and outputs are not what is written."""
    if not network.complete:
        return None
    # a repeat's times read from the network's arguments as written (a unit's own values come later)
    layers, _ = expand(network.layers, diagnostics, argument_values(network.arguments))
    where = network.path
    inputs = [name for name, layer in layers.items() if layer.type.name == "Input"]
    read = {source for layer in layers.values() for source in (*layer.inputs, *layer.side_inputs().values())}
    outputs = [name for name in layers if name not in read and name not in inputs]
    ok = True
    if len(inputs) != 1:
        found = f"it has {len(inputs)} ({', '.join(inputs)})" if inputs else "it has none"
        diagnostics.add(
            f"network '{network.name}' is called by a unit, so it needs exactly one Input layer, which takes the "
            f"unit's input; {found}",
            where,
            code=codes.UNIT,
            at_key=True,
        )
        ok = False
    if len(outputs) != 1:
        found = f"it has {len(outputs)} ({', '.join(outputs)})" if outputs else "it has none"
        diagnostics.add(
            f"network '{network.name}' is called by a unit, so it needs exactly one output (a layer no other layer "
            f"reads), which is the unit's output; {found}",
            where,
            code=codes.UNIT,
            at_key=True,
        )
        ok = False
    return _Called(network, layers, inputs[0], outputs[0]) if ok else None
