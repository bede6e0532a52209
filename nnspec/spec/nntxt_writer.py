"""A validated spec written as nnabla's protobuf text (.nntxt): the network as nnabla runs it.

What is written is one view of the spec (nnspec.spec.views; the validation view unless another is
asked for), expanded as nnspec runs it: units and repeats written out, each copy a function of its
own (``conv[1]``) with its own parameters (``conv[1]/conv/W``), as nnabla's own expander leaves an
NNC export with ``repeat_info``, so nnabla's ``NnpLoader`` runs the file with no loop control to
interpret. In that NNablaProtoBuf message:

- one ``network``, named as the spec (``Main`` when it has no name), ``batch_size: 1``;
- a ``variable`` per data variable (an Input layer's, named as the layer; a loss's target, named as
  its dataset), per layer's output (named as the layer) and per parameter (named as nnabla names it,
  ``{scope}/{function scope}/{name}``, written once when layers share it, with its ``initializer``
  as NNC writes it unless its values come from a file), shapes with ``-1`` for the batch axis;
- a ``function`` per layer, in the order nnspec runs them: its inputs, its side inputs (a loss's
  target, a second operand from data), then its parameters in nnabla's order, and its arguments in
  ``<snake>_param``: every argument nnabla's function takes (nnspec.spec.nnabla_arguments), from the
  layer's property (the reader's names and axes, nnspec.spec.nntxt, inverted) or, where nnspec has
  none, nnabla's default;
- an ``executor`` running it: its ``data_variable`` (variable and dataset), ``generator_variable``
  (an Input's or a target's generator), ``output_variable`` (the spec's outputs in that view) and
  ``parameter_variable``.

A layer the view bypasses (Dropout at evaluation) is not written: its readers read its input, as
nnabla's evaluation graph of an NNC export does. What nnabla's file cannot hold is listed in
``NntxtFile.dropped`` (the caller warns): ``data:``, ``checks:``, ranges, a layer's nnspec-only settings.
Recurrent loops are refused: nnspec does not write them yet.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from ..core.diagnostics import UsageError
from ..layers.catalog import Shape
from .model import Layer, ParameterSource, Spec
from .nnabla_arguments import FUNCTIONS
from .nntxt import _AXIS_ARGUMENTS, _RENAMED, _SHAPE_ARGUMENT, BATCH_AXIS_ALONE, RECURRENCE
from .protobuf_text import Word, Written, emit
from .views import TRAINING

# Properties nnabla's functions have no argument for, which the file still says another way.
_CARRIED = {
    "parameter_scope": "the parameters' names",
    "with_bias": "whether the function reads a bias",
    "out_maps": "the weight's shape",
    "kernel_shape": "the weight's shape",
    "out_shape": "the weight's shape",
    "num_class": "the weight's shape",
    "border_mode": "the padding written",
    "skip_at_test": "the view written",
}
# Layer types whose nnabla function cannot say what nnspec's layer does for any batch size.
_UNWRITABLE = {
    "Broadcast": "nnabla's Broadcast takes a shape with a fixed batch size (it refuses -1): use BroadcastTo",
}


@dataclass
class NntxtFile:
    """An .nntxt written: its text, its parameters' names and shapes (in the order declared), and
    what it could not hold."""

    text: str
    parameters: dict[str, Shape]
    dropped: list[str] = field(default_factory=list)


def write_nntxt(spec: Spec) -> NntxtFile:
    """``spec`` (a view of a validated spec, as nnspec.spec.views.as_view gives) as an .nntxt; a
    UsageError for what nnabla's file cannot express (a recurrent loop)."""
    return _Writer(spec).written()


class _Writer:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.dropped: list[str] = []
        self.variables: Written = []
        self.declared: set[str] = set()
        self.parameters: dict[str, Shape] = {}
        self.data: list[tuple[str, str]] = []  # (variable, dataset)
        self.generators: list[tuple[str, str, float]] = []  # (variable, generator, multiplier)
        self.variable_of: dict[str, str] = {}  # layer -> the variable holding its value
        self.dataset_variable: dict[str, str] = {}  # dataset -> the variable reading it

    def written(self) -> NntxtFile:
        spec = self.spec
        if spec.delayed or any(layer.type.name in RECURRENCE for layer in spec.layers.values()):
            raise UsageError(
                f"{spec.file}: recurrent loops (Delay, RecurrentInput/RecurrentOutput) are not written to "
                "nnabla's files by nnspec yet"
            )
        self._note_spec_only()
        functions: Written = []
        for name in spec.order:
            layer = spec.layers[name]
            if layer.type.is_source:
                self._data_variable(layer.name, layer.dataset, layer.inferred_shape, layer)
                self.variable_of[name] = layer.name
            elif layer.props.get("skip_at_test"):
                self.variable_of[name] = self.variable_of[layer.inputs[0]]
                self.dropped.append(f"layer '{name}' ({layer.type.name}) is bypassed in this view: not written")
            else:
                functions.append(("function", self._function(layer)))
                if layer.type.skip_at_test and spec.view != TRAINING:
                    self.dropped.append(
                        f"layer '{name}' ({layer.type.name}) runs in this view (skip_at_test: false), as nnabla "
                        "runs every function; read back, it is NNC's, skipped at evaluation unless skip_at_test: "
                        "false is set again"
                    )
        network_name = spec.name or "Main"
        network: Written = [("name", network_name), ("batch_size", 1), *self.variables, *functions]
        executor: Written = [("name", "Executor"), ("network_name", network_name)]
        executor += [("data_variable", [("variable_name", v), ("data_name", d)]) for v, d in self.data]
        executor += [
            ("generator_variable", [("variable_name", v), ("type", g), ("multiplier", m)])
            for v, g, m in self.generators
        ]
        outputs = [self.variable_of[name] for name in spec.outputs]
        executor += [("output_variable", [("variable_name", v), ("data_name", v)]) for v in outputs]
        executor += [("parameter_variable", [("variable_name", p)]) for p in self.parameters]
        root: Written = [("network", network), ("executor", executor)]
        return NntxtFile(emit(root), dict(self.parameters), self.dropped)

    def _note_spec_only(self) -> None:
        as_written = self.spec.as_written or self.spec
        if as_written.data:
            self.dropped.append("data: (nnabla's file names datasets, it holds no data)")
        if as_written.checks:
            self.dropped.append("checks: (nnspec's range checks)")
        if as_written.dataset is not None:
            self.dropped.append("dataset: (the spec's dataset file)")
        if as_written.dtype != "float32":
            self.dropped.append(f"dtype: {as_written.dtype} (nnabla's file is float32)")
        called = {call.network for call in as_written.units.values()}  # written out in their units' place
        others = [name for name in as_written.networks if name != as_written.network and name not in called]
        if others:
            self.dropped.append(f"the other networks ({', '.join(others)}): only the one that runs is written")
        if as_written.units:
            self.dropped.append("units: written out, each use of a unit as its own functions")
        if as_written.repeats:
            self.dropped.append("repeats: written out, each copy a function with parameters of its own ([k])")
        if any(layer.checks for layer in as_written.layers.values()):
            self.dropped.append("layers' checks: settings")
        ranged = [layer.name for layer in as_written.layers.values() if layer.props.get("range") is not None]
        if ranged:
            self.dropped.append(f"the declared range of {', '.join(ranged)}")

    # --- variables ------------------------------------------------------------------------------
    def _declare(self, name: str, kind: str, shape: Shape, initializer: Written | None = None) -> None:
        if name in self.declared:
            return
        self.declared.add(name)
        dims: Written = [("dim", int(n)) for n in shape]
        variable: Written = [("name", name), ("type", kind), ("shape", dims)]
        if initializer:
            variable.append(("initializer", initializer))
        self.variables.append(("variable", variable))

    def _data_variable(self, variable: str, dataset: str, shape: Shape, layer: Layer) -> str:
        self._declare(variable, "Buffer", (-1, *shape))
        if variable not in {v for v, _ in self.data}:
            self.data.append((variable, dataset))
        self.dataset_variable.setdefault(dataset, variable)
        generator = layer.props.get("generator") if layer.type.is_source else None
        if generator and generator != "None":
            self.generators.append((variable, generator, float(layer.props.get("generator_multiplier", 1.0))))
        return variable

    def _side_input(self, layer: Layer, pin: str) -> str:
        source = layer.targets[pin]
        if source.input is not None:
            return self.variable_of[source.input]
        shape = layer.target_shapes[pin]
        variable = source.variable(layer.name, pin)
        assert variable is not None  # no layer feeds it: a data variable
        if source.generator != "None":
            self._declare(variable, "Buffer", (-1, *shape))
            self.generators.append((variable, source.generator, float(source.multiplier)))
            return variable
        if variable in self.dataset_variable:
            return self.dataset_variable[variable]
        name = variable
        if name in self.spec.layers:  # a layer's output has this name: the data variable takes another
            name = f"{variable}_data"
            self.dropped.append(f"dataset '{variable}' is read through variable '{name}' (a layer has its name)")
        # Not among the executor's data variables: nnspec's reader takes a variable that only a loss reads,
        # and the executor does not name, as the loss's target (T: {dataset: ...}), as it was written.
        self._declare(name, "Buffer", (-1, *shape))
        self.dataset_variable[variable] = name
        return name

    # --- functions ------------------------------------------------------------------------------
    def _function(self, layer: Layer) -> Written:
        type_name = layer.type.name
        if type_name not in FUNCTIONS:
            raise UsageError(f"{self.spec.file}: layer '{layer.name}' ({type_name}) has no nnabla function to write")
        if type_name in _UNWRITABLE:
            raise UsageError(f"{self.spec.file}: layer '{layer.name}' ({type_name}): {_UNWRITABLE[type_name]}")
        inputs = [self.variable_of[name] for name in layer.inputs]
        pins = [target.name for target in layer.type.targets]
        if layer.type.operand and layer.operand_pin is None:
            pins.append(layer.type.operand)
        inputs += [self._side_input(layer, pin) for pin in pins if pin in layer.targets]
        for parameter in layer.type.parameters:
            if parameter.name in layer.parameter_shapes:
                key = layer.parameter_key(parameter.name)
                shape = layer.parameter_shapes[parameter.name]
                self._declare(key, "Parameter", shape, _initializer(layer.parameters[parameter.name]))
                self.parameters.setdefault(key, shape)
                inputs.append(key)
        self._declare(layer.name, "Buffer", (-1, *layer.inferred_shape))
        self.variable_of[layer.name] = layer.name
        function: Written = [("name", layer.name), ("type", type_name)]
        function += [("input", name) for name in inputs]
        function.append(("output", layer.name))
        snake, arguments = FUNCTIONS[type_name]
        if arguments:
            function.append((f"{snake}_param", self._arguments(layer, arguments)))
        return function

    def _arguments(self, layer: Layer, arguments: dict[str, tuple[str, str | None]]) -> Written:
        rank = len(self.spec.layers[layer.inputs[0]].inferred_shape) + 1 if layer.inputs else 1
        props = _effective(layer, self.spec.layers[layer.inputs[0]].inferred_shape if layer.inputs else ())
        values: dict[str, Any] = {}
        used: set[str] = set()
        for argument, (_, default) in arguments.items():
            key = _property_of(layer.type.name, argument)
            if props.get(key) is not None:
                values[argument] = _to_nnabla(layer.type.name, key, props[key])
                used.add(key)
            else:
                values[argument] = _default(layer, argument, default, rank, values)
        unsaid = [
            key
            for key, value in layer.props.items()
            if key not in used
            and key not in _CARRIED
            and value is not None
            and key in layer.type.property_map
            and value != layer.type.property_map[key].default
        ]
        for key in unsaid:
            self.dropped.append(f"layer '{layer.name}': {key}: {layer.props[key]!r} has no nnabla argument")
        written: Written = []
        for argument, (kind, _) in arguments.items():
            written += _typed(argument, kind, values[argument])
        return written


def _initializer(source: ParameterSource) -> Written | None:
    """A parameter's initializer as NNC writes it into a Parameter variable (nnabla's loader draws
    from it when no values are given: NNC's initializer names are nnabla's); none for values from a file."""
    if source.file is not None:
        return None
    return [("type", source.initializer), ("multiplier", float(source.multiplier))]


def _property_of(type_name: str, argument: str) -> str:
    """The nnspec property an nnabla argument is read into (nnspec.spec.nntxt's names)."""
    return _SHAPE_ARGUMENT.get(type_name, "shape") if argument == "shape" else _RENAMED.get(argument, argument)


def _effective(layer: Layer, input_shape: Shape) -> dict[str, Any]:
    """The layer's properties, with what nnspec derives at run time written out (a convolution's
    padding from its border_mode, a Slice's stop at the input's end)."""
    props = dict(layer.props)
    if layer.type.name == "Slice" and props.get("stop") is None:
        props["stop"] = list(input_shape[len(input_shape) - len(_listed(props["start"])) :])
    if layer.type.name in ("Convolution", "DepthwiseConvolution") and props.get("padding") is None:
        from ..layers.basic import conv_padding

        props["padding"] = list(conv_padding(props))
    return props


def _to_nnabla(type_name: str, key: str, value: Any) -> Any:
    """A property's value as nnabla's argument (the inverse of nnspec.spec.nntxt's ``_adjusted``):
    axes counted with the batch axis, shapes starting with it (-1: any batch)."""
    if key == "out_shape" and type_name in _SHAPE_ARGUMENT:
        return [-1, *_listed(value)]
    if type_name == "Slice":
        return _listed(value)
    if type_name == "Transpose" and key == "axes":
        return [0, *(n + 1 for n in value)]
    if key == "batch_axis" and value == BATCH_AXIS_ALONE[0]:
        return BATCH_AXIS_ALONE[1]
    if key in _AXIS_ARGUMENTS:
        shifted = [n + 1 if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else n for n in _listed(value)]
        return shifted if isinstance(value, (list, tuple)) else shifted[0]
    return list(value) if isinstance(value, tuple) else value


_REPEATED_OF_RANK = re.compile(r"\((-?\d+),\) \* \(?len\(x\.shape\)(?: - \(base_axis\+1\)\))?")


def _default(layer: Layer, argument: str, default: str | None, rank: int, values: dict[str, Any]) -> Any:
    """nnabla's default for an argument nnspec has no property for (or leaves unset), as
    functions.yaml writes it: a literal, the value of another argument (a pooling's stride is its
    kernel), or a repetition over the input's axes (``(0,) * (len(x.shape) - (base_axis+1))``)."""
    if default is None:
        raise UsageError(f"layer '{layer.name}' ({layer.type.name}): nnabla's argument {argument} has no value")
    if default in values:
        return values[default]
    repeated = _REPEATED_OF_RANK.fullmatch(default)
    if repeated:
        count = rank - 2 if "base_axis" in default else rank
        return [int(repeated.group(1))] * max(count, 0)
    if default in ("len(x.shape) - 1", "len(x[0].shape) - 1"):
        return rank - 1
    try:
        return ast.literal_eval(default)
    except (ValueError, SyntaxError):
        raise UsageError(
            f"layer '{layer.name}' ({layer.type.name}): nnspec cannot write nnabla's default {argument} = {default}"
        ) from None


def _typed(argument: str, kind: str, value: Any) -> Written:
    """One argument's fields: a Shape as a block of dims, a repeated field once per value."""
    if kind == "Shape":
        return [(argument, [("dim", int(n)) for n in _listed(value)])]
    if kind.startswith("repeated "):
        scalar = kind.removeprefix("repeated ")
        return [(argument, _scalar(scalar, n)) for n in _listed(value)]
    return [(argument, _scalar(kind, value))]


def _scalar(kind: str, value: Any) -> Any:
    if kind == "bool":
        return bool(value)
    if kind == "int64":
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "string":
        return str(value)
    return Word(str(value))


def _listed(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]
