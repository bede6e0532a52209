"""nnabla's .nntxt networks read as nnspec specs: functions become layers, located at their lines.

An .nntxt file (written by ``nnabla.utils.save`` or exported by NNC) is an ``NNablaProtoBuf``
message in protobuf text (nnspec.spec.protobuf_text reads it). What it means in nnspec terms:

- The network an executor runs (the first executor's ``network_name``; the first network when the
  file has no executor) is the spec's main network (``layers:``); every other network is written
  under ``networks:``, so ``--network NAME`` picks it.
- Each function becomes a layer of the same type (NNC's layer types are nnabla's function types),
  named as the function is, less the ``@network/`` prefix nnabla's writer adds. Its ``<type>_param``
  arguments become the layer's properties under nnspec's names (``pad`` -> ``padding``, ``stride`` ->
  ``strides``, ``kernel`` -> ``kernel_shape``, ``eps`` -> ``epsilon``, ``val`` -> ``value``, ``shifts``
  -> ``shift``, Reshape's ``shape`` -> ``out_shape``), axes less 1 for the batch axis (``axis``,
  ``axes``, ``base_axis``, ``channel_axis``, ``batch_axis``, whose 0, the batch axis alone, is
  nnspec's -1; Transpose's leading 0 dropped) but Slice's start/stop/step as
  NNC writes them (one value per non-batch axis; a value for the batch axis as well is dropped).
  Arguments nnspec has no property for are refused unless they hold nnabla's default (``base_axis:
  1``, ``inplace``, ``no_scale: false``), so nothing that changes the computation is lost silently.
  An argument not written is protobuf 3's zero (``false``, ``0``: nnabla's writer leaves
  ``ignore_border: false`` out), never nnspec's default (nnspec.spec.nnabla_arguments lists them).
- What the arguments do not say comes from the parameters' shapes (Affine's ``out_shape``,
  Convolution's ``out_maps`` and ``kernel_shape``, ``with_bias`` from whether ``b`` is an input),
  and the parameter names (``conv1/conv/W``; a Deconvolution's ``deconv`` or NNC's ``conv``) give
  ``parameter_scope`` (``conv1``), so a parameter.h5 of the same model loads with ``--params``. A
  Parameter variable's ``initializer`` becomes ``W: {initializer, multiplier}`` where it is not the
  type's default. NNC's repeat markers in a scope
  (``Convolution_5{RepeatStart}``) are dropped: nnspec names each copy's parameters ``[k]`` as
  nnabla's expander does.
- Variables read but never written are data: an Input layer each, named as the variable, its size
  the variable's shape less the batch axis, reading the executor's ``data_name`` for it (a
  ``generator_variable`` of the executor becomes the Input's generator). A loss function's target
  input becomes its ``T`` (``{dataset: ...}`` or ``{input: ...}``).
- ``repeat_info``/``repeat_id`` with ``RepeatStart``/``RepeatEnd`` functions become nnspec's
  RepeatStart/RepeatEnd layers (not expanded here: nnspec expands them as nnabla does).
- A recurrent loop (NNC's export: ``RecurrentInput``, ``Delay`` and the loop's functions marked with
  the ``repeat_id`` of a ``repeat_info``, then ``RecurrentOutput``) becomes nnspec's RecurrentInput,
  Delay and RecurrentOutput layers, which nnspec unrolls as nnabla's expander does (the loop is the
  layers on a path from the RecurrentInput to its RecurrentOutput, as the marks say in NNC's
  exports). ``recurrent_param``'s ``axis`` loses 1 for the batch axis; a Delay's first input is the
  value it carries to the next step, its second its ``Initial`` (data, or the executor's generator),
  and its ``size`` the shape of the variable it writes. The loop's length is its input's length
  along the axis: a ``repeat_info`` whose ``times`` says otherwise is an error, as it is for nnabla.
- The executor's ``output_variable`` names the spec's ``outputs``.

Names: NNC's ``'`` is kept (``y'``, as NNC names its runtime outputs: nnspec's names allow it after
the first character), but nnabla allows characters nnspec's names do not (``@net/f``). A name nnspec
refuses is mangled readably (any such character -> ``_``, a leading digit or ``'`` gets ``_``; a
clash gets ``_2``, ``_3``), and the spec's ``description`` lists every name so changed, so a
report's ``_net_f`` can be traced to the file's ``@net/f``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core import codes
from ..core.diagnostics import Diagnostic, SpecError
from ..core.printable import printable
from ..core.suggest import Suggester
from ..layers.catalog import INT_MAX
from .loader import Document, SourceMap, decode
from .nnabla_arguments import SCALAR_ARGUMENTS
from .protobuf_text import Field, Message, Text, parse
from .schema import FORMAT_VERSION

if TYPE_CHECKING:
    from ..layers.catalog import LayerType

RECURRENCE = ("RecurrentInput", "RecurrentOutput", "Delay")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")  # nnspec's layer names (schema.NAME_PATTERN)
_RENAMED = {
    "pad": "padding",
    "stride": "strides",
    "kernel": "kernel_shape",
    "eps": "epsilon",
    "val": "value",
    "shifts": "shift",  # Shift's, for the last axes in both
}
_SHAPE_ARGUMENT = {"Reshape": "out_shape", "Broadcast": "out_shape"}  # `shape` including the batch axis
_AXIS_ARGUMENTS = ("axis", "axes", "base_axis", "channel_axis", "batch_axis")
# LayerNormalization's batch_axis: nnspec's -1 ("the batch axis alone") is nnabla's 0 (nnspec, nnabla).
BATCH_AXIS_ALONE = (-1, 0)
# nnabla arguments nnspec has no property for, and the values at which dropping them changes nothing.
_HARMLESS: dict[str, Callable[[Any], bool]] = {
    "base_axis": lambda v: v == 1,
    "inplace": lambda v: True,  # memory reuse only
    "channel_last": lambda v: v is False,
    "no_scale": lambda v: v is False,
    "no_bias": lambda v: v is False,
    "output_padding": lambda v: all(n == 0 for n in _listed(v)),
    "transpose_a": lambda v: v is False,  # BatchMatmul: nnspec's multiplies as written
    "transpose_b": lambda v: v is False,
    "with_index": lambda v: v is False,  # Max, Min, Sort: values only, as nnspec gives
    "half_pixel": lambda v: v is False,  # Interpolate: nnabla's default corners
    "half_pixel_for_nn": lambda v: v is False,
    "beta": lambda v: v == 1,  # SoftPlus: nnspec's is log(1 + exp(x))
    "val": lambda v: v == 0,  # ResetNaN, ResetInf: nnspec's put 0
}


def read(raw: bytes, file: str) -> Document:
    """An .nntxt file as a spec Document: its data, and where in the .nntxt each part came from."""
    root = parse(decode(raw, file), file)
    try:
        return _Reader(root, file).document()
    except _BadDim as exc:
        message = f"dim: {printable(exc.item.text())} is not an integer of at most {INT_MAX:,} in size"
        raise SpecError([Diagnostic(message, file, exc.item.line, exc.item.column, code=codes.NNTXT_SYNTAX)]) from None


class _BadDim(Exception):
    """A Shape's dim that is no integer nnspec can hold (1e309, 2**63): the reading stops there."""

    def __init__(self, item: Field) -> None:
        super().__init__(item.text())
        self.item = item


def read_nnp(path: str) -> Document:
    """The network of an .nnp archive (nnspec.files.nnpfile checks the archive first), its text
    within the size limit of an .nntxt (NNSPEC_MAX_PROJECT_SIZE). Diagnostics name the .nnp and count lines in its
    network member (``model.nnp:12:5`` is line 12 of its network.nntxt)."""
    from ..files.limits import PROJECT_TEXT
    from ..files.nnpfile import open_nnp

    archive = open_nnp(path)
    return read(archive.read(archive.network_name(), PROJECT_TEXT.bytes()), path)


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


@dataclass
class _Variable:
    name: str
    kind: str  # Buffer or Parameter
    shape: list[int]
    at: Field


@dataclass
class _Network:
    """One network's translation: its layers and where each of their parts came from."""

    layers: list[dict[str, Any]] = field(default_factory=list)
    places: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    layer_of: dict[str, str] = field(default_factory=dict)  # variable -> the layer giving its value
    generators: dict[str, Message] = field(default_factory=dict)  # variable -> its executor's generator_variable


class _Reader:
    def __init__(self, root: Message, file: str) -> None:
        self.root = root
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.renamed: dict[str, str] = {}  # original name -> nnspec name
        self.suggester = Suggester()

    # --- errors -------------------------------------------------------------------------------
    def _error(self, at: Field | Message | None, message: str, code: str) -> None:
        line, column = (at.line, at.column) if at is not None else (1, 1)
        self.diagnostics.append(Diagnostic(message, self.file, line, column, code=code))

    # --- names --------------------------------------------------------------------------------
    def _name(self, original: str, taken: set[str]) -> str:
        """``original`` as an nnspec name, distinct from ``taken`` (and added to it)."""
        name = original
        if not _NAME.fullmatch(name):
            name = re.sub(r"[^A-Za-z0-9_']", "_", name) or "_"
            if not _NAME.match(name):  # a leading digit or '
                name = "_" + name
        base, count = name, 1
        while name in taken:
            count += 1
            name = f"{base}_{count}"
        taken.add(name)
        if name != original:
            self.renamed[original] = name
        return name

    # --- the document ---------------------------------------------------------------------------
    def document(self) -> Document:
        networks = self.root.all("network")
        if not networks:
            raise SpecError([Diagnostic("the file holds no network", self.file, 1, 1, code=codes.NNTXT_UNSUPPORTED)])
        executor_field = self.root.first("executor")
        executor = executor_field.value if executor_field and isinstance(executor_field.value, Message) else None
        main = self._main_network(networks, executor)
        # the current format: a generated target is its layer's own, as in nnabla (upgrade.py)
        data: dict[str, Any] = {"nnspec": FORMAT_VERSION}
        source_map = SourceMap()
        translated: dict[str, _Network] = {}
        network_names: set[str] = set()
        for item in networks:
            if not isinstance(item.value, Message):
                self._error(item, "'network' must be a block { ... }", codes.NNTXT_SYNTAX)
                continue
            original = _text(item.value, "name") or "network"
            is_main = item is main
            translated[self._name(original, network_names)] = self._network(
                item.value, executor if is_main else None, is_main
            )
        if self.diagnostics:
            raise SpecError(self.diagnostics)
        main_name = next(name for name, item in zip(translated, networks) if item is main)
        # the spec's name is free text: the network's name as written (bn-residual), unlike its key
        data["name"] = _text(main.value, "name") or main_name if isinstance(main.value, Message) else main_name
        data["description"] = ""  # written below, once every renamed name is known; placed here, first
        for name, network in translated.items():
            prefix: tuple = () if name == main_name else ("networks", name)
            for path, place in network.places.items():
                source_map.values[prefix + path] = place
                source_map.keys[prefix + path] = place
        data["layers"] = translated[main_name].layers
        others = {name: {"layers": item.layers} for name, item in translated.items() if name != main_name}
        if others:
            data["networks"] = others
            for name in others:
                source_map.values[("networks", name)] = translated[name].places.get(("layers",), (1, 1))
        outputs = self._outputs(executor, translated[main_name], source_map)
        if outputs:
            data["outputs"] = outputs
        data["description"] = self._description(main_name, executor)
        source_map.values[()] = (1, 1)
        return Document(data, source_map, self.file)

    def _main_network(self, networks: list[Field], executor: Message | None) -> Field:
        wanted = _text(executor, "network_name") if executor else None
        if wanted is None:
            return networks[0]
        for item in networks:
            if isinstance(item.value, Message) and _text(item.value, "name") == wanted:
                return item
        at = executor.first("network_name") if executor else None
        names = [_text(item.value, "name") or "" for item in networks if isinstance(item.value, Message)]
        hint = self.suggester.did_you_mean(wanted, names)
        raise SpecError(
            [
                Diagnostic(
                    f"the executor runs network '{printable(wanted)}', which the file does not hold{hint}",
                    self.file,
                    at.line if at else 1,
                    at.column if at else 1,
                    code=codes.UNKNOWN_NETWORK,
                )
            ]
        )

    def _description(self, main: str, executor: Message | None) -> str:
        runs = f" (executor '{printable(_text(executor, 'name') or '')}')" if executor else ""
        text = f"Read from nnabla's protobuf text: network '{main}'{runs}."
        if self.renamed:
            pairs = ", ".join(f"{printable(old)} -> {new}" for old, new in self.renamed.items())
            text += f" Names changed to nnspec's: {pairs}."
        return text

    def _outputs(self, executor: Message | None, network: _Network, source_map: SourceMap) -> list[str]:
        outputs: list[str] = []
        for item in executor.blocks("output_variable") if executor else []:
            variable = _text(item, "variable_name")
            layer = network.layer_of.get(variable or "")
            if layer is None:
                self._error(
                    item,
                    f"the executor outputs '{printable(variable or '')}', a variable no function writes",
                    codes.UNKNOWN_OUTPUT,
                )
                continue
            source_map.values[("outputs", len(outputs))] = (item.line, item.column)
            outputs.append(layer)
        if self.diagnostics:
            raise SpecError(self.diagnostics)
        return outputs

    # --- one network ----------------------------------------------------------------------------
    def _network(self, block: Message, executor: Message | None, is_main: bool) -> _Network:
        result = _Network()
        result.places[("layers",)] = (block.line, block.column)
        variables = self._variables(block)
        functions = [item for item in block.all("function") if isinstance(item.value, Message)]
        written = {name for item in functions for name in _texts(_block(item), "output")}
        read_names = [name for item in functions for name in _texts(_block(item), "input")]
        taken: set[str] = set()
        data_names = {_text(m, "variable_name"): _text(m, "data_name") for m in _blocks(executor, "data_variable")}
        generators = {_text(m, "variable_name") or "": m for m in _blocks(executor, "generator_variable")}
        result.generators = generators
        times = {_text(m, "id"): _number(m, "times") for m in block.blocks("repeat_info")}
        targets = self._target_variables(functions, variables, written)
        # Data: variables read, never written, not parameters; those the executor names first.
        data_variables = [v for v in data_names if v in variables]
        data_variables += [
            name
            for name in dict.fromkeys(read_names)
            if name in variables and name not in written and variables[name].kind != "Parameter"
        ]
        for name in dict.fromkeys(data_variables):
            if name in targets and name not in data_names:
                continue  # a loss's target only: the loss reads it as its T
            self._input_layer(result, variables[name], data_names.get(name), generators.get(name), taken)
        # Every function's layer named first: NNC writes functions in any order, and nnspec's
        # inputs may name a layer written later.
        names = [self._function_name(item, taken) for item in functions]
        for item, name in zip(functions, names):
            outputs = _texts(_block(item), "output")
            if len(outputs) == 1:
                result.layer_of[outputs[0]] = name
        for item, name in zip(functions, names):
            self._function(result, item, name, variables, times, targets)
        return result

    def _function_name(self, item: Field, taken: set[str]) -> str:
        assert isinstance(item.value, Message)
        original = _text(item.value, "name") or _text(item.value, "type") or "function"
        return self._name(re.sub(r"^@[^/]*/", "", original), taken)

    def _variables(self, block: Message) -> dict[str, _Variable]:
        variables: dict[str, _Variable] = {}
        for item in block.all("variable"):
            if not isinstance(item.value, Message):
                continue
            name = _text(item.value, "name") or ""
            shape_block = item.value.first("shape")
            shape = _dims(shape_block.value) if shape_block and isinstance(shape_block.value, Message) else []
            variables[name] = _Variable(name, _text(item.value, "type") or "Buffer", shape, item)
        return variables

    def _target_variables(self, functions: list[Field], variables: dict[str, _Variable], written: set[str]) -> set[str]:
        """Data variables that only loss functions read as their targets."""
        from ..layers.catalog import layer_types

        types = layer_types()
        targets: set[str] = set()
        others: set[str] = set()
        for item in functions:
            layer_type = types.get(_text(_block(item), "type") or "")
            inputs = [n for n in _texts(_block(item), "input") if variables.get(n) and variables[n].kind != "Parameter"]
            split = len(inputs) - _target_count(layer_type, len(inputs))
            targets.update(inputs[split:])
            others.update(inputs[:split])
        return {name for name in targets - others if name not in written}

    def _input_layer(self, network, variable: _Variable, data_name, generator, taken) -> None:
        name = self._name(variable.name, taken)
        layer: dict[str, Any] = {"name": name, "type": "Input", "size": [max(n, 1) for n in variable.shape[1:]] or [1]}
        dataset = self._name(data_name, set()) if data_name else name
        if dataset != name:
            layer["dataset"] = dataset
        if generator is not None:
            layer["generator"] = _text(generator, "type") or "Constant"
            multiplier = _number(generator, "multiplier")
            if multiplier is not None:
                layer["generator_multiplier"] = float(multiplier)
        index = len(network.layers)
        network.layers.append(layer)
        network.layer_of[variable.name] = name
        for key in ("", "name", "type", "size", "dataset", "generator", "generator_multiplier"):
            network.places[("layers", index) + ((key,) if key else ())] = (variable.at.line, variable.at.column)

    def _function(self, network, item: Field, name: str, variables, times, targets) -> None:
        from ..layers.catalog import layer_types

        block = item.value
        assert isinstance(block, Message)
        index = len(network.layers)
        place = ("layers", index)
        network.places[place] = (item.line, item.column)
        type_field = block.first("type")
        type_name = type_field.text() if type_field else ""
        network.places[place + ("type",)] = _at(type_field or item)
        types = layer_types()
        layer_type = types.get(type_name)
        if layer_type is None:
            hint = self.suggester.did_you_mean(type_name, types)
            self._error(type_field or item, f"unknown function type '{printable(type_name)}'{hint}", codes.UNKNOWN_TYPE)
            return
        original = _text(block, "name") or type_name
        layer: dict[str, Any] = {"name": name, "type": type_name}
        outputs = _texts(block, "output")
        if len(outputs) != 1:
            self._error(
                item,
                f"function '{printable(original)}' writes {len(outputs)} variables: nnspec's layers write one",
                codes.NNTXT_UNSUPPORTED,
            )
            return
        inputs, parameters = self._inputs(block, variables, network, targets)
        if inputs is None:
            return
        inputs, fed = self._fed_parameters(layer, layer_type, block, inputs, variables, place, network)
        count = _target_count(layer_type, len(inputs))
        if count:
            for target, (variable, field_) in zip(layer_type.targets, inputs[-count:]):
                layer[target.name] = self._side_source(network, variable)
                network.places[place + (target.name,)] = _at(field_)
            inputs = inputs[:-count]
        if type_name == "RepeatStart":
            inputs = inputs[:1]  # nnabla's second input is the loop's back edge (RepeatEnd's input)
            repeat = block.first("repeat_param")
            repeat_id = _text(repeat.value, "repeat_id") if repeat and isinstance(repeat.value, Message) else None
            if times.get(repeat_id) is not None:
                layer["times"] = int(times[repeat_id])
        sources = [network.layer_of[variable] for variable, _ in inputs]

        if sources:
            layer["input"] = sources[0] if len(sources) == 1 else sources
            network.places[place + ("input",)] = _at(inputs[0][1])
            for k, (_, field_) in enumerate(inputs):
                network.places[place + ("input", k)] = _at(field_)
        self._parameters(layer, layer_type, parameters, place, network, item, fed)
        self._arguments(layer, layer_type, block, place, network, variables, inputs)
        if type_name in RECURRENCE:
            self._recurrent_arguments(layer, block, place, network, variables, inputs, outputs[0], times)
        if any(n < 0 for n in _listed(layer.get("out_shape", 1))):  # nnabla's -1: the size it infers
            written = variables[outputs[0]].shape[1:] if outputs[0] in variables else []
            if written and all(n > 0 for n in written):
                layer["out_shape"] = written  # the output variable's shape, as nnabla inferred it
        if type_name == "Deconvolution" and "out_maps" in layer:
            layer["out_maps"] *= layer.get("group", 1)  # W is (inputs, out_maps / group, *kernel)
        network.layers.append(layer)
        network.layer_of[outputs[0]] = name

    def _side_source(self, network: _Network, variable: str) -> dict[str, Any]:
        """Where a target (a loss's T, a Delay's Initial) reads from: the layer writing the variable,
        else the executor's generator for it, else the data variable of its name."""
        source = network.layer_of.get(variable)
        if source:
            return {"input": source}
        generator = network.generators.get(variable)
        if generator is not None:
            multiplier = _number(generator, "multiplier")
            made: dict[str, Any] = {"generator": _text(generator, "type") or "Constant"}
            if multiplier is not None:
                made["generator_multiplier"] = float(multiplier)
            return made
        return {"dataset": self._name(variable, set())}

    def _recurrent_arguments(self, layer, block: Message, place, network, variables, inputs, output, times) -> None:
        """A recurrent function's ``recurrent_param`` in nnspec's terms: the axis of the steps (less the
        batch axis), a Delay's size (the shape of what it writes), the loop's length checked against
        its ``repeat_info``. What nnabla's expander could not unroll is refused, not guessed at: a
        ``repeat_id`` no ``repeat_info`` declares, a Delay without its initial value."""
        param = block.first("recurrent_param")
        values = _values(param.value) if param and isinstance(param.value, Message) else {}
        at = param or block.first("type") or block.fields[0]
        repeat_id, id_at = values.get("repeat_id", (None, at))
        if repeat_id not in times:
            named = f"names repeat_id '{printable(str(repeat_id))}'" if repeat_id is not None else "names no repeat_id"
            self._error(
                id_at,
                f"{layer['type']} '{layer['name']}' {named}, which no repeat_info of the network declares: "
                "nnabla unrolls the loops its repeat_info entries list",
                codes.NNTXT_UNSUPPORTED,
            )
            return
        given = len(block.all("input"))
        if layer["type"] == "Delay" and given != 2:
            self._error(
                block.first("type") or at,
                f"Delay '{layer['name']}' has {given} input{'s' if given != 1 else ''}: nnabla's Delay reads two, "
                "the value it carries to the next step and its value at step 0",
                codes.NNTXT_UNSUPPORTED,
            )
            return
        if layer["type"] == "Delay":
            shape = variables[output].shape[1:] if output in variables else []
            if not shape or any(n <= 0 for n in shape):
                self._error(
                    at,
                    f"Delay '{layer['name']}' writes '{printable(output)}', a variable of no known shape: "
                    "its shape is the size of the value the Delay carries",
                    codes.NNTXT_UNSUPPORTED,
                )
                return
            layer["size"] = shape
            network.places[place + ("size",)] = _at(variables[output].at)
            return
        axis, axis_at = values.get("axis", (0, at))
        if not isinstance(axis, int) or isinstance(axis, bool) or axis < 1:
            self._error(
                axis_at,
                f"{layer['type']}'s axis: {printable(str(axis))} is not an axis after the batch axis "
                "(nnspec's time steps run along a sample's axes)",
                codes.NNTXT_UNSUPPORTED,
            )
            return
        layer["axis"] = axis - 1
        network.places[place + ("axis",)] = _at(axis_at)
        if layer["type"] == "RecurrentInput" and inputs and times.get(repeat_id) is not None:
            shape = variables[inputs[0][0]].shape
            length = shape[axis] if axis < len(shape) else None
            if length is not None and length > 0 and length != times[repeat_id]:
                self._error(
                    at,
                    f"RecurrentInput '{layer['name']}' splits axis {axis} of '{printable(inputs[0][0])}' "
                    f"into {length} steps, but repeat_info '{printable(str(repeat_id))}' says times: "
                    f"{printable(str(times[repeat_id]))}",
                    codes.NNTXT_UNSUPPORTED,
                )

    def _inputs(self, block: Message, variables, network, targets: set[str]):
        inputs: list[tuple[str, Field]] = []
        parameters: list[tuple[_Variable, Field]] = []
        good = True
        for item in block.all("input"):
            variable = variables.get(item.text())
            if variable is None:
                hint = self.suggester.did_you_mean(item.text(), variables)
                self._error(
                    item,
                    f"input '{printable(item.text())}' names no variable of this network{hint}",
                    codes.UNKNOWN_INPUT,
                )
                good = False
            elif variable.kind == "Parameter":
                parameters.append((variable, item))
            elif variable.name not in network.layer_of and variable.name not in targets:
                self._error(
                    item, f"input '{printable(item.text())}' is a variable no function writes", codes.UNKNOWN_INPUT
                )
                good = False
            else:
                inputs.append((variable.name, item))
        return (inputs if good else None), parameters

    def _fed_parameters(self, layer, layer_type, block: Message, inputs, variables, place, network):
        """The inputs left once those in a parameter's place are taken out, and the fed parameters'
        shapes (a sample's): nnabla's function lists its data inputs, then its parameters in order
        (Affine: x, W, b); one there that another function writes (not a Parameter variable) feeds
        that parameter, nnspec's ``W: {input: LAYER}`` (NNC's link into a parameter pin)."""
        arity = layer_type.arity
        shapes: dict[str, list[int]] = {}
        if not layer_type.parameters or arity.most != arity.least:
            return inputs, shapes
        fed: set[int] = set()
        for position, item in enumerate(block.all("input")):
            slot = position - arity.least
            if not 0 <= slot < len(layer_type.parameters):
                continue
            at = next((k for k, (_, field_) in enumerate(inputs) if field_ is item), None)
            if at is None:  # a Parameter variable: nnabla's own parameter (self._parameters)
                continue
            pin = layer_type.parameters[slot].name
            layer[pin] = {"input": network.layer_of[inputs[at][0]]}
            network.places[place + (pin,)] = _at(item)
            network.places[place + (pin, "input")] = _at(item)
            shapes[pin] = variables[inputs[at][0]].shape[1:]  # less the batch axis a Buffer holds first
            fed.add(at)
        return [entry for k, entry in enumerate(inputs) if k not in fed], shapes

    def _parameters(self, layer, layer_type, parameters, place, network, item, fed) -> None:
        """Which parameter each Parameter input is, the scope its name gives, and what its shape says
        (``fed``: the shapes of those another function's output gives)."""
        scope_of = layer_type.function_scope
        example = f"/{layer_type.parameters[0].name}" if layer_type.unscoped_parameters else f"SCOPE/{scope_of}/W"
        shapes: dict[str, list[int]] = dict(fed)
        scopes: set[str] = set()
        for variable, field_ in parameters:
            if layer_type.unscoped_parameters:  # NNC's /r of MinMaxQuantize: no scope to take
                match = re.fullmatch(r"/([^/]+)", variable.name)
                if match is not None and match.group(1) in {p.name for p in layer_type.parameters}:
                    shapes[match.group(1)] = variable.shape
                    continue
            scopes_read = "|".join(re.escape(scope) for scope in (scope_of or "", *layer_type.scope_aliases))
            pattern = rf"(.*)/(?:{scopes_read})/([^/]+)"  # a scope is free text: any character, a newline too
            match = re.fullmatch(pattern, variable.name, re.DOTALL) if scope_of else None
            names = {p.name for p in layer_type.parameters}
            if match is None or match.group(2) not in names:
                self._error(
                    field_,
                    f"parameter '{printable(variable.name)}' is not named as nnabla names a "
                    f"{layer['type']}'s parameters ('{example}')",
                    codes.NNTXT_UNSUPPORTED,
                )
                continue
            fewest = _WEIGHT_RANK.get(layer["type"], 0) if match.group(2) == "W" else 0
            if len(variable.shape) < fewest:
                self._error(
                    field_,
                    f"parameter '{printable(variable.name)}' has shape {variable.shape}: {layer['type']}'s W "
                    f"has at least {fewest} dimensions",
                    codes.NNTXT_UNSUPPORTED,
                )
                continue
            shapes[match.group(2)] = variable.shape
            scopes.add(re.sub(r"\{[^}]*\}", "", match.group(1)))
            self._initializer(layer, layer_type, match.group(2), variable, place, network)
        if len(scopes) > 1:
            self._error(
                item,
                f"the parameters of '{layer['name']}' have different scopes: {sorted(scopes)}",
                codes.NNTXT_UNSUPPORTED,
            )
        elif scopes and scopes != {layer["name"]}:
            layer["parameter_scope"] = scopes.pop()
            network.places[place + ("parameter_scope",)] = _at(parameters[0][1])
        properties = {p.name for p in layer_type.properties}
        if "with_bias" in properties and layer_type.parameters:
            layer["with_bias"] = "b" in shapes
        for key, value in _from_weight_shape(layer["type"], shapes).items():
            if key in properties:
                layer[key] = value
                network.places[place + (key,)] = _at(parameters[0][1] if parameters else item)

    def _initializer(self, layer, layer_type, name: str, variable: _Variable, place, network) -> None:
        """A Parameter variable's ``initializer`` (NNC writes one on each; nnspec's writer too) as the
        layer's ``W: {initializer, multiplier}``, where it is not the layer type's default and is one
        the parameter takes (nnabla's loader draws from it when no values are given)."""
        block = variable.at.value.first("initializer") if isinstance(variable.at.value, Message) else None
        if block is None or not isinstance(block.value, Message):
            return
        kind, multiplier = _text(block.value, "type"), _number(block.value, "multiplier")
        parameter = next(p for p in layer_type.parameters if p.name == name)
        if kind not in parameter.initializers or multiplier is None:
            return
        if (kind, float(multiplier)) != (parameter.initializer, float(parameter.multiplier)):
            layer[name] = {"initializer": kind, "multiplier": float(multiplier)}
            network.places[place + (name,)] = _at(block)

    def _arguments(self, layer, layer_type, block, place, network, variables, inputs) -> None:
        arguments = [
            f for f in block.fields if f.name.endswith("_param") and f.name not in ("repeat_param", "recurrent_param")
        ]
        written = arguments[0] if arguments and isinstance(arguments[0].value, Message) else None
        values = _values(written.value) if written and isinstance(written.value, Message) else {}
        # protobuf 3 text leaves an argument at its zero value unwritten (nnabla's writer does;
        # NNC's writes every one): absent means false or 0, not nnspec's default.
        at_block = written or block.first("type") or block.fields[0]
        for name, kind in SCALAR_ARGUMENTS.get(layer["type"], {}).items():
            values.setdefault(name, (False if kind == "bool" else 0, at_block))
        properties = {p.name for p in layer_type.properties}
        rank = len(variables[inputs[0][0]].shape) if inputs else 0  # the first input's, batch included
        for name, (value, at) in values.items():
            key = _SHAPE_ARGUMENT.get(layer["type"], "shape") if name == "shape" else _RENAMED.get(name, name)
            if key in properties:
                if isinstance(value, bool) and layer_type.property_map[key].kind != "bool":
                    value = int(value)  # LogicalAndScalar's val: a bool in nnabla, a number in NNC and nnspec
                value = self._adjusted(layer["type"], key, value, rank, at)
                if value is None:
                    continue
                layer[key] = value
                network.places[place + (key,)] = _at(at)
            elif not (name in _HARMLESS and _HARMLESS[name](value)):
                self._error(
                    at,
                    f"{layer['type']}'s argument {name}: {printable(str(value))} has no nnspec property "
                    f"(nnspec's {layer['type']} has {', '.join(sorted(properties)) or 'none'})",
                    codes.NNTXT_UNSUPPORTED,
                )

    def _adjusted(self, type_name: str, key: str, value: Any, rank: int, at: Field) -> Any:
        """An argument's value in nnspec's terms: axes and shapes without the batch axis."""
        if key == "out_shape" and type_name in _SHAPE_ARGUMENT:
            return _listed(value)[1:]
        if type_name == "Slice":
            values = _listed(value)
            return values[1:] if rank and len(values) == rank else values
        if type_name == "Transpose" and key == "axes":
            values = _listed(value)
            if not values or values[0] != 0:
                self._error(
                    at, "Transpose moves the batch axis: nnspec's layers keep it first", codes.NNTXT_UNSUPPORTED
                )
                return None
            return [n - 1 for n in values[1:]]
        if key == "batch_axis" and value == BATCH_AXIS_ALONE[1]:
            return BATCH_AXIS_ALONE[0]
        if key in _AXIS_ARGUMENTS:
            values = [n - 1 if isinstance(n, int) and n > 0 else n for n in _listed(value)]
            if any(isinstance(n, int) and n == 0 for n in _listed(value)) and key != "base_axis":
                self._error(
                    at,
                    f"{type_name}'s {key} includes the batch axis (0): nnspec's axes exclude it",
                    codes.NNTXT_UNSUPPORTED,
                )
                return None
            return values if isinstance(value, list) else values[0]
        return value


def _target_count(layer_type: LayerType | None, inputs: int) -> int:
    """How many of a function's last data inputs are a loss's targets (T), which nnspec's layer reads
    beside its inputs rather than among them."""
    if layer_type is None or not layer_type.targets or inputs <= (layer_type.arity.most or 0):
        return 0
    return len(layer_type.targets)


# The fewest dimensions W has where nnspec reads properties from its shape (_from_weight_shape).
_WEIGHT_RANK = {
    "Affine": 2,
    "Convolution": 3,
    "Deconvolution": 3,
    "DepthwiseConvolution": 2,
    "DepthwiseDeconvolution": 2,
    "Embed": 2,
}


def _from_weight_shape(type_name: str, shapes: dict[str, list[int]]) -> dict[str, Any]:
    """What nnabla keeps only in the parameters' shapes: out_shape, out_maps, kernel_shape, ..."""
    w = shapes.get("W")
    if not w:
        return {}
    if type_name in ("Affine", "BinaryConnectAffine", "BinaryWeightAffine"):
        return {"out_shape": w[1:] if len(w) > 2 else w[1]}
    if type_name in ("Convolution", "BinaryConnectConvolution", "BinaryWeightConvolution"):
        return {"out_maps": w[0], "kernel_shape": w[2:]}
    if type_name == "Deconvolution":
        return {"out_maps": w[1], "kernel_shape": w[2:]}  # per group: the caller multiplies by group
    if type_name in ("DepthwiseConvolution", "DepthwiseDeconvolution"):
        return {"kernel_shape": w[1:]}
    if type_name == "Embed":
        return {"num_class": w[0], "shape": w[1:] if len(w) > 2 else w[1]}
    return {}


def _values(block: Message) -> dict[str, tuple[Any, Field]]:
    """A param message's arguments: a repeated field as a list, a Shape block as its dims' list."""
    values: dict[str, tuple[Any, Field]] = {}
    for item in block.fields:
        value = _dims(item.value) if isinstance(item.value, Message) else _scalar(item.value)
        if item.name in values:
            previous, at = values[item.name]
            values[item.name] = ((previous if isinstance(previous, list) else [previous]) + [value], at)
        else:
            values[item.name] = (value, item)
    return values


def _scalar(value: Any) -> Any:
    if isinstance(value, Text):
        return value.value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _dims(block: Message) -> list[int]:
    """A Shape message's dims: integers (int64 in nnabla; nnspec's shapes stay below 2**31)."""
    dims = []
    for item in block.all("dim"):
        if not isinstance(item.value, int) or isinstance(item.value, bool) or abs(item.value) > INT_MAX:
            raise _BadDim(item)
        dims.append(item.value)
    return dims


def _block(item: Field) -> Message:
    assert isinstance(item.value, Message)  # the caller kept only blocks
    return item.value


def _at(item: Field | Message) -> tuple[int, int]:
    return item.line, item.column


def _text(block: Message | None, name: str) -> str | None:
    item = block.first(name) if block else None
    return item.text() if item else None


def _texts(block: Message, name: str) -> list[str]:
    return [item.text() for item in block.all(name)]


def _number(block: Message, name: str) -> float | None:
    item = block.first(name)
    return item.value if item and isinstance(item.value, (int, float)) else None


def _blocks(block: Message | None, name: str) -> list[Message]:
    return block.blocks(name) if block else []
