"""A validated spec written back as YAML, with nothing left implicit: what will run.

``resolved_text(spec)`` writes every layer with its type, its inputs, every property
with its value (the spec's, or the catalog's default), its parameters' sources and its
targets, and the spec's dtype, seed and outputs, so a reviewer reads exactly what
``nnspec run`` will do without knowing a single default. The text is itself a valid
spec of the same format version: loaded from the spec's own file name (so relative paths
resolve as they did), it gives the same layers, properties, inputs, parameters, targets,
data and settings, and resolving it again gives the same text.

What is written, and how:

- Layers as written: a repeat stays one RepeatStart, its block and one RepeatEnd; a unit stays
  one Unit layer, and ``networks:`` holds the other networks as written (validated with
  ``--network NAME``, the main network is still written under ``layers:``, and ``outputs`` left out).
- ``input``: a layer name when the layer reads one layer, a list when it reads
  several, absent when it reads none (Input); the previous-layer default is written out.
- Properties: all of the layer type's, in the catalog's order, with their values.
  A property whose default is "derived" (``padding`` from ``border_mode``, pooling
  ``strides`` from ``kernel_shape``, an Input's ``dataset`` and a layer's
  ``parameter_scope`` from its name, an undeclared ``range``) and that the spec leaves
  unset is left out: no value can be written that means "unset".
- Parameters (only those the properties enable: no ``b`` under ``with_bias: false``):
  ``{initializer, multiplier}``, or ``{file}`` for a parameter read from a file (its
  initializer is then unused), the path relative to the spec's directory; with
  ``lrate_multiplier`` (NNC's LRateMultiplier, which only training reads) when it is not 1.
- Side inputs (targets, and a second operand read from data): ``{dataset, generator,
  generator_multiplier}``, or ``{input}`` for one a layer feeds; a second operand a layer
  feeds is written in ``input``.
- A property written as an expression (``=Input[0]*2``) keeps it, with the value it gives
  here in a comment at the end of its line (``out_maps: =Input[0]*2  # 32``): the expression
  is what the spec says, the comment what runs. ``arguments`` are written as given.
- ``checks`` (the spec's and each layer's) as written, when set.
- NNC's project, as written: ``project:``, ``comments:`` (each network's; after its layers) and
  each layer's ``position`` (last in the layer), when set: nothing runs from them, but a spec
  read from an .sdcproj keeps them, and so does its resolved text (convert takes it back).
- ``outputs``: always a list, the default (the layers nobody reads) written out.
- ``view``: as in the spec, when set.
- ``data``: each variable's samples, one sample a line, in the Input's ``size``
  (a single sample written alone becomes a list of one); whole numbers are written
  without a fraction.
- ``dataset``: relative to the spec's directory, as in the spec.

Comments in the spec are not carried over.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..core.printable import break_commands, escape_character, is_clean, printable
from ..layers.augmentation import evaluation_note
from .expressions import shown_value
from .model import Layer, Spec, TargetSource
from .schema import FORMAT_VERSION
from .semantics import effective_props, layer_seed


class _Flow(list):
    """A list written in YAML's flow style, on one line: ``[1, 28, 28]``."""


class _FlowMap(dict):
    """A mapping written in YAML's flow style: ``{initializer: Constant, multiplier: 0.0}``."""


class _Dumper(yaml.SafeDumper):
    """Block mappings, flow lists of scalars, lists indented under their key, and never an
    alias: nnspec's loader refuses anchors and aliases, and PyYAML writes them for an object
    met twice. Text that ``printable`` would change is written double-quoted on one line, by
    ``quoted``: the YAML is printed, and must not carry what a terminal or a CI log acts on."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        if is_clean(text):
            super().write_double_quoted(text, split)
        else:  # PyYAML would fold it over lines, and keep bidi characters and '::' as they are
            self.write_indicator(quoted(text), True)


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar on one line that reads back as ``text``: the
    characters ``printable`` escapes as YAML's escapes, and ``::`` and ``##[`` broken up with
    ``\\x3a`` and ``\\x23`` (YAML's escapes too)."""
    escaped = "".join("\\" + ch if ch in '"\\' else escape_character(ch) for ch in text)
    return '"' + break_commands(escaped) + '"'


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _represent_flow_map(dumper: yaml.SafeDumper, data: _FlowMap) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style: str | None
    if not is_clean(data):
        style = '"'  # escaped, on one line (_Dumper.write_double_quoted)
    else:
        style = "|" if "\n" in data.strip("\n") else None  # a multi-line description as a literal block
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(_Flow, _represent_flow)
_Dumper.add_representer(_FlowMap, _represent_flow_map)
_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """Plain data as YAML that nnspec's loader reads back to the same data: keys in their
    order, lists of scalars on one line, no anchors or aliases, Unicode as it is."""
    return yaml.dump(_flow_scalar_lists(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)


def _flow_scalar_lists(value: Any) -> Any:
    """Lists (and tuples) whose items are all scalars become flow lists; the rest stays block."""
    if isinstance(value, dict):
        items = {key: _flow_scalar_lists(item) for key, item in value.items()}
        return _FlowMap(items) if isinstance(value, _FlowMap) else items
    if isinstance(value, (list, tuple)):
        listed = [_flow_scalar_lists(item) for item in value]
        if isinstance(value, _Flow) or not any(isinstance(item, (dict, list)) for item in listed):
            return _Flow(listed)
        return listed
    return value


def resolved_text(spec: Spec) -> str:
    """The spec as YAML with every default filled in and every implicit input made explicit; a
    comment under the first line names what NNC's evaluation (nnspec run's default) changes."""
    source = printable(spec.file)
    header = f"# {source}, resolved by nnspec: every default filled in, every input written out\n"
    header += "".join(f"# {line}\n" for line in _evaluation_notes(spec))
    return header + _with_expression_values(dump_yaml(resolved_data(spec)), spec)


_LAYER_START = re.compile(r"  - name: (?P<name>[A-Za-z_][A-Za-z0-9_']*)$")
_LAYER_KEY = re.compile(r"    (?P<key>[a-z_]+): ")


def _with_expression_values(text: str, spec: Spec) -> str:
    """Each line holding a property written as an expression, with the value it gives as a comment
    (layer names and property names are plain words, so their lines are found by their start)."""
    lines = text.split("\n")
    in_layers = False  # only the layers: section (a description's text may hold any line)
    layer = None
    for number, line in enumerate(lines):
        if not line.startswith(" "):
            in_layers, layer = line == "layers:", None
        elif not in_layers:
            continue
        elif start := _LAYER_START.match(line):
            layer = _evaluated_layer(spec, start["name"])
        elif layer is not None and (key := _LAYER_KEY.match(line)) and key["key"] in layer.expressions:
            lines[number] = f"{line}  # {shown_value(_plain(layer.props[key['key']]))}"
    return "\n".join(lines)


def _evaluated_layer(spec: Spec, name: str) -> Layer | None:
    """The layer whose evaluated properties a written layer's line shows: itself, or inside a repeat
    its first copy (every copy receives the shape the block receives, so their values agree), or a
    RepeatStart, which the expanded network has no layer for (its times is evaluated as written)."""
    if name in spec.layers:
        return spec.layers[name]
    first_copy = re.compile(re.escape(name) + r"(\[0\])+")
    copy = next((layer for copy, layer in spec.layers.items() if first_copy.fullmatch(copy)), None)
    return copy if copy is not None else spec.written_layers.get(name)


def _evaluation_notes(spec: Spec) -> list[str]:
    """Where nnspec run, as NNC evaluates, departs from the properties written (nnspec.spec.semantics):
    one line a written layer (a repeat's block is noted once, as written), so a reviewer reading the
    properties knows what runs."""
    notes = []
    for name, layer in spec.written_layers.items():
        ran = effective_props(layer.type, layer.props, training=False, seed=layer_seed(spec.seed, name))
        if layer.type.skip_at_test and layer.props["skip_at_test"]:
            notes.append(f"nnspec run (as NNC evaluates) skips {printable(name)}: its input passes through")
            continue
        augmented = evaluation_note(layer.type, layer.props)
        if augmented:
            notes.append(f"nnspec run (as NNC evaluates): {printable(name)} {augmented}")
        changed = [
            f"{prop} {_flag(ran[prop])}" for prop, _ in layer.type.test_arguments if ran[prop] != layer.props[prop]
        ]
        if changed:
            notes.append(f"nnspec run (as NNC evaluates) runs {printable(name)} with {', '.join(changed)}")
    if notes:
        notes.append("nnspec run --training runs the properties as written")
    return notes


def _flag(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def resolved_data(spec: Spec) -> dict[str, Any]:
    """The plain data ``resolved_text`` writes."""
    data: dict[str, Any] = {"nnspec": FORMAT_VERSION}
    if spec.name is not None:
        data["name"] = spec.name
    if spec.description is not None:
        data["description"] = spec.description
    data["dtype"] = spec.dtype
    data["seed"] = spec.seed
    if spec.arguments:
        data["arguments"] = {
            name: _FlowMap(type=argument.type, value=argument.value) for name, argument in spec.arguments.items()
        }
    if spec.networks:  # as written: units stay Unit layers (nnspec.spec.units)
        data["networks"] = {name: _network_data(network, spec.directory) for name, network in spec.networks.items()}
    main = spec.written_layers if spec.main_layers is None else spec.main_layers
    data["layers"] = [_layer_data(layer, spec.directory) for layer in main.values()]
    if spec.comments:
        data["comments"] = spec.comments
    if spec.network is None:  # another network's outputs are not the main network's
        data["outputs"] = list(spec.outputs)
    if spec.view is not None:
        data["view"] = spec.view
    if spec.dataset is not None:
        path = _relative(spec.dataset, spec.directory)
        data["dataset"] = path if spec.image_normalization else _FlowMap(uri=path, image_normalization=False)
    if spec.project:
        data["project"] = spec.project
    if spec.checks:
        data["checks"] = dict(spec.checks)
    if spec.data:
        data["data"] = {variable: _samples(values) for variable, values in spec.data.items()}
    return data


def _network_data(network: Any, directory: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if network.arguments:
        entry["arguments"] = {
            name: _FlowMap(type=argument.type, value=argument.value) for name, argument in network.arguments.items()
        }
    entry["layers"] = [_layer_data(layer, directory) for layer in network.layers.values()]
    if network.comments:
        entry["comments"] = network.comments
    return entry


def _layer_data(layer: Layer, directory: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": layer.name, "type": layer.type.name}
    if len(layer.inputs) == 1:
        entry["input"] = layer.inputs[0]
    elif layer.inputs:
        entry["input"] = list(layer.inputs)
    for prop in layer.type.properties:
        value = layer.props[prop.name]
        if prop.name in layer.expressions:
            entry[prop.name] = layer.expressions[prop.name].written  # its value: a comment (resolved_text)
        elif value is not None:
            entry[prop.name] = _plain(value)
    fed = layer.fed_parameters()
    for param in layer.type.parameters:
        if not param.enabled(layer.props) or param.name in fed:
            continue  # a parameter a layer gives is written {input: LAYER} with the side inputs, below
        source = layer.parameters[param.name]
        if source.file is not None:
            entry[param.name] = _FlowMap(file=_relative(source.file, directory))
        else:
            entry[param.name] = _FlowMap(initializer=source.initializer, multiplier=source.multiplier)
        if source.lrate_multiplier != param.lrate_multiplier:  # training's setting: written when not NNC's default
            entry[param.name]["lrate_multiplier"] = source.lrate_multiplier
    for name, target in layer.targets.items():
        entry[name] = _side_input(target)
    if layer.checks:
        entry["checks"] = dict(layer.checks)
    if layer.position is not None:  # the editor's place, last (as the project reader writes it)
        entry["position"] = layer.position
    return entry


def _side_input(target: TargetSource) -> _FlowMap:
    """A side input as written back: ``{input}`` from a layer, else ``{dataset, generator,
    generator_multiplier}`` (a second operand's dataset only when it reads one)."""
    if target.input is not None:
        return _FlowMap(input=target.input)
    entry = _FlowMap(dataset=target.dataset) if target.dataset else _FlowMap()
    entry.update(generator=target.generator, generator_multiplier=target.multiplier)
    return entry


def _plain(value: Any) -> Any:
    """A resolved property value as plain YAML data: tuples become lists."""
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value


def _relative(path: Path, directory: Path) -> str:
    """A path the spec resolved against its directory, written relative to it again."""
    return Path(os.path.relpath(path, directory)).as_posix()


def _samples(values: np.ndarray) -> list[Any]:
    """A data variable's samples, one flow list a sample; whole numbers without a fraction."""
    plain = _whole_as_int(np.asarray(values, dtype=np.float64).tolist())
    return [_Flow(sample) if isinstance(sample, list) else sample for sample in plain]


def _whole_as_int(value: Any) -> Any:
    """255.0 as 255 (read back as the same float64); other numbers as they are."""
    if isinstance(value, list):
        return [_whole_as_int(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
