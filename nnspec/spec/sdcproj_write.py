"""Specs written as NNC projects (.sdcproj): the inverse of nnspec.spec.sdcproj.

Two steps, so that ``nnspec convert`` can say what it leaves out before it writes:

- ``prepare(data)``: the spec as an .sdcproj can hold it, and what it cannot (``data:``, ``checks:``,
  ``seed``, ``outputs``... each with its path, for a located warning). What it adds is what NNC
  needs and nnspec leaves implicit: each layer's input written out (a spec's default is the layer
  before), an Input's dataset (nnspec's default is the layer's name, NNC's is ``x``), editor
  positions where the spec has none (one column, top to bottom), the view the first executor
  evaluates. Its result is in the reader's order, so that reading the text back gives it exactly.
- ``write(prepared)``: NNC's text, sections in the order NNC writes them ([Engine], the networks,
  [Dataset]..., [Description], [Config], optimizers, monitors, executors, the rest), ``Num*``
  counts written, CRLF line ends as NNC's editor writes them.

A property left out of the spec is written where it is a scalar at nnspec's default (which is NNC's:
the reader leaves it out again) and otherwise left to NNC, which fills an absent property with its
definition's default when it opens a project (as it does for projects older NNCs wrote).
The promise, checked by ``nnspec convert`` and by scripts/nnc_samples.py over NNC's samples:
``read(write(prepare(data)[0])) == prepare(data)[0]``, and for a spec read from an .sdcproj
``prepare`` changes nothing, so .sdcproj -> YAML -> .sdcproj -> YAML is a fixed point.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from ..core.diagnostics import UsageError
from ..layers.catalog import LayerType, layer_types
from .project import MAIN_NETWORK, TABS, unwritable, write_project
from .schema import FORMAT_VERSION
from .sdcproj import (
    _NAME,
    BOX,
    DATA_SETTINGS,
    DEFAULT_MACROS,
    DERIVED_VIEWS,
    GRAPH_OUTPUT,
    MAIN,
    OTHER_PINS,
    PARAMETER_SETTINGS,
    SCALAR_KINDS,
    _is_default,
)

NEWLINE = "\r\n"  # NNC's editor writes CRLF (ProjectConverter.js); nnspec's reader takes either
SETTING_NAMES = {key: nnc for nnc, key in PARAMETER_SETTINGS.items()}
DATA_NAMES = {key: nnc for nnc, key in DATA_SETTINGS.items()}
# Top-level keys in the order the reader writes them; the others are nnspec's own.
KEPT = ("nnspec", "description", "view", "arguments", "layers", "comments", "networks", "project")
NNSPEC_ONLY = {
    "name": "the spec's name (an NNC project is named by its file)",
    "dtype": "the dtype (NNC computes in float32, or half by project.config.type_config)",
    "seed": "the seed of initializers and generators",
    "outputs": "outputs (NNC's outputs are the network's sinks)",
    "checks": "the range-check settings",
    "dataset": "the dataset CSV (NNC's datasets are project.datasets)",
    "data": "the data given in the spec",
    "view": "the view (an NNC project runs the view its first executor names)",
}
# Catalog properties NNC's layer has no counterpart for (checked against NNC's layer definitions,
# docs/nnc.md): the data range nnspec's range checks assume for an Input.
NNSPEC_ONLY_PROPERTIES = {("Input", "range"): "the Input's range (nnspec's range checks assume it; NNC has none)"}
PIN_GENERATORS = ("None", "Normal", "Uniform", "Constant")  # what NNC's T, R, q pins generate
LAYOUT = (24, 24, 72)  # a written column: x, the first y, the step (NNC's grid is 24 pixels; a box is 48 high)
COLUMN = 264  # a column's width: NNC's box (240) and a gap


# -- prepare: the spec as an .sdcproj holds it ----------------------------------------------------------


def prepare(data: Any) -> tuple[dict[str, Any], list[tuple[tuple, str]]]:
    """(the spec as an .sdcproj holds it, what it cannot hold: (path, what)). UsageError for a spec
    that cannot be written at all (its version, its main network, a line break in a value)."""
    if not isinstance(data, dict) or data.get("nnspec") != FORMAT_VERSION:
        raise UsageError(
            f"an .sdcproj is written from a format-version-{FORMAT_VERSION} spec: "
            "run 'nnspec upgrade' on it first, then convert"
        )
    catalog = layer_types()
    lost: list[tuple[tuple, str]] = []
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if key in KEPT and key != "view":
            kept[key] = copy.deepcopy(value)
        elif key != "view":
            lost.append(((key,), NNSPEC_ONLY.get(key, f"'{key}'")))
    given = kept.get("project")
    project: dict[str, Any] = given if isinstance(given, dict) else {}
    main = str(project.get(MAIN_NETWORK, MAIN))
    view = _check_main_network(kept, main)
    if data.get("view") not in (None, view):
        lost.append((("view",), NNSPEC_ONLY["view"]))
    if view is not None:
        kept["view"] = view
    kept["layers"] = _prepared_layers(kept.get("layers", []), ("layers",), catalog, lost)
    if "arguments" in kept:
        kept["arguments"] = _prepared_arguments(kept["arguments"], kept["layers"])
    if "comments" in kept:
        kept["comments"] = _prepared_comments(kept["comments"], kept["layers"])
    for name, network in (kept.get("networks") or {}).items():
        for key in list(network):
            if key not in ("arguments", "layers", "comments"):
                lost.append((("networks", name, key), f"the network's {key}"))
        layers = _prepared_layers(network.get("layers", []), ("networks", name, "layers"), catalog, lost)
        kept["networks"][name] = {
            **({"arguments": _prepared_arguments(network["arguments"], layers)} if network.get("arguments") else {}),
            "layers": layers,
            **({"comments": _prepared_comments(network["comments"], layers)} if network.get("comments") else {}),
        }
    problems = [(path, why) for path, why in unwritable(project)] + _line_breaks(kept)
    if problems:
        shown = "; ".join(f"{'.'.join(str(p) for p in path)}: {why}" for path, why in problems[:5])
        raise UsageError(f"the spec cannot be written as an .sdcproj: {shown}")
    return {key: kept[key] for key in KEPT if key in kept}, lost


def _check_main_network(data: dict[str, Any], main: str) -> str | None:
    """The view the reader will give (that of the first executor's network), after checking that it
    will read ``layers:`` as the main network: the one the first executor evaluates, else Main, else
    the first tab."""
    names = list((data.get("project") or {}).get(TABS) or [main, *(data.get("networks") or {})])
    executors = (data.get("project") or {}).get("executors") or []
    evaluated = executors[0].get("network") if executors and isinstance(executors[0], dict) else None
    runs: Any = MAIN if MAIN in names else names[0]
    view = None
    if evaluated in names:
        runs = evaluated
    elif isinstance(evaluated, str):
        for suffix, derived in DERIVED_VIEWS.items():
            if evaluated.endswith(suffix) and evaluated.removesuffix(suffix) in names:
                runs, view = evaluated.removesuffix(suffix), derived
    if runs != main:
        raise UsageError(
            f"an .sdcproj's main network is the one its first executor evaluates (else Main): here '{runs}', "
            f"but the spec's main network (layers:) is '{main}'; name it in project.main_network, or list the "
            "executor that evaluates it first"
        )
    return view


def _prepared_layers(layers: list[Any], path: tuple, catalog: dict[str, LayerType], lost: list) -> list[Any]:
    """Each layer in the reader's order (name, type, input, the rest, position), implicit inputs
    and Input datasets written out, positions given where none is; checks: reported."""
    prepared: list[dict[str, Any]] = []
    previous: str | None = None
    for index, raw in enumerate(layers):
        layer = dict(raw)
        layer_type = catalog.get(layer.get("type", ""))
        if "checks" in layer:
            lost.append(((*path, index, "checks"), "the layer's range-check settings"))
            del layer["checks"]
        for (kind, key), what in NNSPEC_ONLY_PROPERTIES.items():
            if layer.get("type") == kind and key in layer:
                lost.append(((*path, index, key), what))
                del layer[key]
        if layer_type is not None:
            _pin_generators(layer, layer_type, (*path, index), lost)
        takes_input = layer_type is None or layer_type.arity.least > 0
        inputs = layer.pop("input", previous if takes_input else None)
        operand = layer_type.operand if layer_type is not None else None
        if operand and isinstance(layer.get(operand), dict) and "input" in layer[operand]:
            first = [inputs] if isinstance(inputs, str) else list(inputs or [])
            inputs = [*first[:1], layer.pop(operand)["input"]]
        if layer_type is not None and layer_type.name != "Unit":
            _scalar_lists(layer, layer_type)
            _without_defaults(layer, layer_type)
        if layer.get("type") == "Input" and "dataset" not in layer:
            layer["dataset"] = layer["name"]  # nnspec's default; NNC's would be x
        position = layer.pop("position", None)
        head = {"name": layer.pop("name"), "type": layer.pop("type")}
        if inputs is not None:
            head["input"] = inputs
        prepared.append({**head, **layer, **({"position": position} if position is not None else {})})
        previous = head["name"]
    _lay_out(prepared)
    return prepared


def _pin_generators(layer: dict[str, Any], layer_type: LayerType, path: tuple, lost: list) -> None:
    """A side pin's generator NNC's pins lack (Range: only NNC's Input has it), reported and left
    out with its multiplier: the pin then reads its dataset."""
    pins = [target.name for target in layer_type.targets] + ([layer_type.operand] if layer_type.operand else [])
    for pin in pins:
        settings = layer.get(pin)
        if isinstance(settings, dict) and settings.get("generator") not in (None, *PIN_GENERATORS):
            lost.append(
                (
                    (*path, pin, "generator"),
                    f"{pin}'s generator {settings['generator']} (NNC's {pin} generates {', '.join(PIN_GENERATORS)})",
                )
            )
            layer[pin] = {key: value for key, value in settings.items() if not key.startswith("generator")}
            if not layer[pin]:
                del layer[pin]


def _scalar_lists(layer: dict[str, Any], layer_type: LayerType) -> None:
    """A one-element list where NNC writes one number (out_shape: [10] is NNC's 10)."""
    for prop in layer_type.properties:
        value = layer.get(prop.name)
        if isinstance(value, list) and len(value) == 1 and prop.kind != "range":
            layer[prop.name] = value[0]


def _without_defaults(layer: dict[str, Any], layer_type: LayerType) -> None:
    """Values written at nnspec's default, which is NNC's, left out as the reader leaves them out:
    scalar properties (border_mode: same), a parameter's initializer and multipliers."""
    for prop in layer_type.properties:
        if prop.name in layer and _is_default(prop, layer[prop.name]):
            del layer[prop.name]
    for parameter in layer_type.parameters:
        settings = layer.get(parameter.name)
        if not isinstance(settings, dict):
            continue
        defaults = {"initializer": parameter.initializer, "multiplier": parameter.multiplier, "lrate_multiplier": 1}
        kept = {key: value for key, value in settings.items() if key not in defaults or value != defaults[key]}
        if kept:
            layer[parameter.name] = kept
        else:
            del layer[parameter.name]


def _lay_out(items: list[dict[str, Any]], placed: list[dict[str, Any]] | None = None) -> None:
    """Positions for the items that have none: a column, top to bottom in their order, right of
    any positioned item (of ``placed`` too), where NNC shows them readably."""
    others = [item for item in [*items, *(placed or [])] if "position" in item]
    x = max((item["position"][0] for item in others), default=-COLUMN) + COLUMN if others else LAYOUT[0]
    row = 0
    for item in items:
        if "position" not in item:
            item["position"] = [x, LAYOUT[1] + LAYOUT[2] * row]
            row += 1


def _prepared_arguments(arguments: dict[str, Any], layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Arguments in the reader's order (type, value, search where true, position), placed."""
    prepared = {
        name: {
            **{key: argument[key] for key in ("type", "value") if key in argument},
            **({"search": True} if argument.get("search") else {}),
            **({"position": argument["position"]} if "position" in argument else {}),
        }
        for name, argument in arguments.items()
    }
    _lay_out(list(prepared.values()), layers)
    return prepared


def _prepared_comments(comments: list[Any], layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comments named (NNC's Comment layers have names: Comment, Comment_2...) and placed."""
    prepared: list[dict[str, Any]] = []
    taken = {comment.get("name") for comment in comments}
    for index, comment in enumerate(comments):
        name = comment.get("name")
        if name is None:
            number = index + 1
            while (name := "Comment" if number == 1 else f"Comment_{number}") in taken:
                number += 1
            taken.add(name)
        item = {"name": name, "text": comment.get("text", "")}
        if "position" in comment:
            item["position"] = comment["position"]
        prepared.append(item)
    _lay_out(prepared, layers)
    return prepared


def _line_breaks(data: dict[str, Any]) -> list[tuple[tuple, str]]:
    """Text that would break NNC's Key=Value lines: a carriage return anywhere (a description or a
    comment's line break is written \\n, as NNC writes it), a line break in a layer's value."""
    problems: list[tuple[tuple, str]] = []

    def look(value: Any, path: tuple, breaks_allowed: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                comment = key == "text" and path[-2:-1] == ("comments",)
                look(item, (*path, key), comment or (key == "description" and not path))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                look(item, (*path, index), False)
        elif isinstance(value, str) and ("\r" in value or ("\n" in value and not breaks_allowed)):
            problems.append((path, "a line break in an NNC value"))
        elif isinstance(value, str) and breaks_allowed and "\\n" in value:
            problems.append((path, "a backslash before n, which NNC reads as a line break"))

    look({key: item for key, item in data.items() if key != "project"}, (), False)
    return problems


# -- write: NNC's text ------------------------------------------------------------------------------


def write(data: dict[str, Any]) -> str:
    """The .sdcproj text of a prepared spec (``prepare``)."""
    project = data.get("project") or {}
    main = project.get(MAIN_NETWORK, MAIN)
    networks = {main: data, **(data.get("networks") or {})}
    networks = {name: networks[name] for name in project.get(TABS, list(networks))}  # NNC's tab order
    rest = write_project(project, data.get("description", ""))
    head = [section for section in rest if section[0] in ("General", "Engine")]
    tail = [section for section in rest if section[0] not in ("General", "Engine")]
    sections: list[tuple[str, list[tuple[str, str]]]] = list(head)
    single = list(networks) == [MAIN]
    if not single:
        listed = [("NumNetwork", str(len(networks)))] + [(f"Network_{k}", name) for k, name in enumerate(networks)]
        sections.append(("Global", listed))
    catalog = layer_types()
    arguments = {name: _argument_types(network) for name, network in networks.items()}
    for name, network in networks.items():
        sections.extend(_network(network, "" if single else name + "_", catalog, arguments))
    sections.extend(tail)
    lines: list[str] = []
    for name, keys in sections:
        lines.append(f"[{name}]")
        lines.extend(f"{key}={value}" for key, value in keys)
    return NEWLINE.join(lines) + NEWLINE


def _argument_types(network: dict[str, Any]) -> dict[str, str]:
    return {name: argument.get("type", "") for name, argument in (network.get("arguments") or {}).items()}


def _network(
    network: dict[str, Any], prefix: str, catalog: dict[str, LayerType], arguments: dict[str, dict[str, str]]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """One network's sections: [PREFIXNetwork_Global], its layers (the network's, then its Argument
    and Comment layers), its links."""
    layers: list[dict[str, Any]] = network.get("layers") or []
    ids = {layer["name"]: k for k, layer in enumerate(layers)}
    bodies: list[list[tuple[str, str]]] = []
    links: list[tuple[str, int, int]] = []  # (source name, destination ID, pin)
    for k, layer in enumerate(layers):
        layer_type = catalog.get(layer["type"])
        props, pins = _layer_properties(layer, layer_type, arguments)
        bodies.append(_layer_lines(k, layer["type"], layer.get("position"), layer["name"], props))
        links.extend((source, k, pin) for source, pin in pins)
    argument_layers = [{"name": name, **argument} for name, argument in (network.get("arguments") or {}).items()]
    for argument in argument_layers:
        props = [
            ("Value", _text(argument.get("value"), None)),
            ("Type", str(argument.get("type", ""))),
            ("Search", "True" if argument.get("search") else "False"),
        ]
        bodies.append(_layer_lines(len(bodies), "Argument", argument["position"], argument["name"], props))
    for comment in network.get("comments") or []:
        text = comment.get("text", "").replace("\n", "\\n")
        bodies.append(
            _layer_lines(len(bodies), "Comment", comment.get("position"), comment["name"], [("Comment", text)])
        )
    sections = [(f"{prefix}Network_Global", [("NumLayer", str(len(bodies))), ("NumLink", str(len(links)))])]
    sections.extend((f"{prefix}Layer_{k}", body) for k, body in enumerate(bodies))
    for j, (source, dest, pin) in enumerate(links):
        if source not in ids:
            raise UsageError(f"layer '{layers[dest]['name']}' reads '{source}', which its network does not hold")
        link = [("ID", str(j)), ("SourceLayerID", str(ids[source])), ("SourcePinIndex", "0")]
        sections.append((f"{prefix}Link_{j}", [*link, ("DestLayerID", str(dest)), ("DestPinIndex", str(pin))]))
    return sections


def _layer_lines(
    layer_id: int, kind: str, position: list[int] | None, name: str, props: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    x, y, *size = position or [LAYOUT[0], LAYOUT[1]]
    width, height = size if len(size) == 2 else BOX
    lines = [("ID", str(layer_id)), ("Type", kind)]
    lines += [("Position_0", str(x)), ("Position_1", str(y)), ("Position_2", str(width)), ("Position_3", str(height))]
    every = [("Name", name), *props]
    for k, (key, value) in enumerate(every):
        lines += [(f"Property_{k}_Name", key), (f"Property_{k}_Value", value)]
    lines.append(("NumProperty", str(len(every))))
    return lines


def _layer_properties(
    layer: dict[str, Any], layer_type: LayerType | None, arguments: dict[str, dict[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """(NNC's properties of a layer, in the spec's order then NNC's defaults; its links: (source, pin))."""
    inputs = layer.get("input", [])
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    if layer["type"] == "Unit":
        return _unit_properties(layer, arguments), [(source, 0) for source in inputs]
    if layer_type is None:
        return _other_properties(layer, inputs)
    by_name = {prop.name: prop for prop in layer_type.properties}
    parameters = {parameter.name: parameter for parameter in layer_type.parameters}
    pins = [*parameters, *(target.name for target in layer_type.targets)]
    pins += [layer_type.operand] if layer_type.operand else []
    links = [(source, 0) for source in inputs]
    if layer_type.operand and len(inputs) == 2:  # the second operand: NNC's R pin
        links[1] = (inputs[1], pins.index(layer_type.operand) + 1)
    props: list[tuple[str, str]] = []
    if layer_type.size_from_pin is not None and layer_type.size_from_pin not in layer:  # NNC's Size, first
        props.append((by_name[layer_type.size_from_pin].nnc_name, "*" + GRAPH_OUTPUT))
    for key, value in layer.items():
        if key in by_name:
            prop = by_name[key]
            props.append((prop.nnc_name, _text(value, prop.kind)))
        elif key in pins and isinstance(value, dict):
            names = SETTING_NAMES if key in parameters else DATA_NAMES
            for setting, item in value.items():
                if setting == "input":
                    links.append((item, pins.index(key) + 1))
                else:
                    nnc_name = _setting_name(layer_type, key, names[setting])
                    props.append((nnc_name, _text(item, "text" if isinstance(item, str) else "float")))
    for prop in layer_type.properties:  # NNC's defaults that the reader leaves out again
        if prop.name not in layer and prop.kind in SCALAR_KINDS and prop.default is not None:
            props.append((prop.nnc_name, _text(prop.default, prop.kind)))
    for parameter in layer_type.parameters:
        settings = layer.get(parameter.name)
        given: dict[str, Any] = settings if isinstance(settings, dict) else {}
        for setting, default in (("initializer", parameter.initializer), ("multiplier", parameter.multiplier)):
            if setting not in given and default is not None:
                props.append(
                    (_setting_name(layer_type, parameter.name, SETTING_NAMES[setting]), _text(default, "float"))
                )
    return props, links


def _setting_name(layer_type: LayerType, parameter: str, setting: str) -> str:
    """NNC's name of a parameter's setting: W.Initializer, but Initializer alone for a type whose one
    parameter is the layer's own array (Parameter, WorkingMemory), as the reader reads it."""
    own = layer_type.function_scope is None and [p.name for p in layer_type.parameters] == [parameter]
    return setting if own else f"{parameter}.{setting}"


def _unit_properties(layer: dict[str, Any], arguments: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """A Unit's Network, ParameterScope, one property per argument value, its inner parameter settings."""
    props = [("Network", str(layer.get("network", ""))), ("ParameterScope", str(layer.get("parameter_scope", "*Name")))]
    for name, value in (layer.get("arguments") or {}).items():
        props.append((name, _text(value, None)))
    for inner, parameters in (layer.get("parameters") or {}).items():
        for parameter, settings in parameters.items():
            for setting, value in settings.items():
                props.append((f"{inner}.{parameter}.{SETTING_NAMES[setting]}", _text(value, None)))
    return props


def _other_properties(layer: dict[str, Any], inputs: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """A type outside nnspec's catalog: its keys back to NNC's CamelCase (the reader's snake_case)."""
    pins = list(OTHER_PINS.get(layer["type"], ()))
    links = [(source, 0) for source in inputs]
    props: list[tuple[str, str]] = []
    for key, value in layer.items():
        if key in ("name", "type", "input", "position"):
            continue
        if isinstance(value, dict):
            for setting, item in value.items():
                if setting == "input" and key in pins:
                    links.append((item, pins.index(key) + 1))
                    # NNC writes the pin's settings whatever feeds it; one holds the pin's place among
                    # the properties, where the reader puts the link
                    props.append((f"{key}.GeneratorMultiplier", "1.0"))
                else:
                    nnc = "InitializerMultiplier" if setting == "multiplier" else _camel(setting)
                    props.append((f"{key}.{nnc}", _text(item, None)))
        else:
            props.append((_camel(key), _text(value, None)))
    return props, links


def _camel(key: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def _text(value: Any, kind: str | None) -> str:
    """NNC's text of a value: True/False, numbers as Python writes them back exactly, comma lists,
    an expression (=...) as NNC writes it (*Arg for an argument, else the formula)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return ",".join(_text(item, None) for item in value)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("=") and kind not in ("text", "choice"):
        body = value[1:]
        bare = not _NAME.fullmatch(body) or body in DEFAULT_MACROS or body.startswith("UnitProperty")
        return body if bare else "*" + body
    return str(value)
