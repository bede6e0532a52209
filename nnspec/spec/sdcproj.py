"""NNC's project files (.sdcproj) read as specs: the INI-like text NNC writes, mapped onto nnspec.

A project is untrusted input like a spec: it is read within its own size limit (by readers.read_spec:
NNSPEC_MAX_PROJECT_SIZE, 8 MiB), its counts are bounded, and every value it gives lands in plain spec
data whose source map points at the line and column of the .sdcproj it came from, so that validation's errors read
``LeNet.sdcproj:57:18: error: ...`` in every output format. Nothing in it is executed: expressions
become nnspec's ``=...`` text, which nnspec.spec.expressions parses with its own parser.

The grammar (docs/nnc.md; NNC's own files are the reference): ``[Section]`` lines, then
``Key=Value`` lines whose value is everything after the first ``=``; CRLF or LF; indexed families
(``Layer_0``..., ``Property_0_Name``...) counted by a sibling ``Num*`` key. The mapping:

- one network (no ``[Global]``: NNC's ``Main``) or the ``[Global]`` form with several; the network
  the project's first executor evaluates is ``layers:`` (NNC's derived ``MainRuntime`` and
  ``MainValidation`` are ``Main`` with ``view: runtime`` or ``validation``), every other under
  ``networks:``;
- a layer's ``Name`` and ``Type`` as they are (NNC's ``'`` too: ``y'``),
  its properties by the catalog's NNC names, values by the property's kind; macros NNC sets by
  default (``*Name``, ``*KernelShape``...) left to nnspec's defaults, which implement the same rules;
  argument references and expressions (``*DropP``, ``Input[0]*2``) as ``=DropP``, ``=Input[0]*2``;
- links, in the order the file writes them, as ``input:``; a link into a side pin as NNC means it:
  the second operand (``R``) second in ``input:``, a target (``T``) as ``T: {input: LAYER}``;
- ``W.Initializer`` and its siblings as ``W: {...}``; ``T.Dataset`` and its siblings as ``T: {...}``;
- Argument layers as ``arguments:``; Unit layers with their argument values and inner overrides;
- the datasets, config, optimizers, monitors, executors and every other section that is no network
  as ``project:`` (nnspec.spec.project, one table per section); Comment layers as the network's
  ``comments:``; each layer's editor position as its ``position: [x, y]``;
- what nnspec has no place for (properties such as ``InPlace``) as notes (info, ``nnc-import``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core import codes
from ..core.diagnostics import ERROR, INFO, Diagnostic, SpecError, UsageError
from ..core.printable import printable
from ..core.suggest import snake_case
from ..layers.catalog import LayerType, Property, layer_types
from .loader import Document, SourceMap, decode
from .nnc_spellings import nnspec_name
from .project import Located, read_project
from .schema import FORMAT_VERSION

# Bounds on what a project may declare, beyond the file size limit: a count is checked before the
# sections it counts are looked for, so that no Num* value makes the reader loop for long.
MAX_NETWORKS = 1000
MAX_LAYERS = 20_000  # per network; nnspec expands a spec to at most 20,000 layers
MAX_LINKS = 100_000
MAX_PROPERTIES = 10_000
# The most values one property's list may hold: a shape has at most 31 axes, a padding two per axis; a
# list of 60,000 numbers (within the size limit) would cost seconds in every check that reads it.
MAX_LIST_ITEMS = 1024

ENGINE = "NNabla"
MAIN = "Main"  # the network of a project without [Global] (NNC's ProjectConverter names it so)
# NNC's networks derived from Main (docs/nnc-projects, 2.11), and the nnspec view each is.
DERIVED_VIEWS = {"Runtime": "runtime", "Validation": "validation"}

# Macros NNC writes as the default of their property; nnspec's default for it implements the same rule
# (padding from border_mode, strides = kernel_shape, stop = the input's shape, the scope = the name).
GRAPH_OUTPUT = "GraphOutput"  # a Parameter's Size: the shape of the pin it feeds (nnspec.spec.pin_sizes)
DEFAULT_MACROS = {
    "Name",
    "ConvolutionPaddingSize",
    "KernelShape",
    "Input",
    "AutoInPlace",
    "AutoInPlaceOnce",
    GRAPH_OUTPUT,
}
# NNC properties that have no counterpart in nnspec and change nothing nnspec computes: memory
# reuse (InPlace), non-editable fixed values (BaseAxis 0, Order -1, WithIndex, Shared), the
# properties a depthwise layer derives from its input (OutMaps, Group), RepeatStart's ID (its name).
SILENTLY_DROPPED = {"InPlace", "BaseAxis", "Order", "WithIndex", "Shared", "OutMaps", "Group", "ID"}
LEGACY_NAMES = {"SkipAtInspection": "SkipAtTest"}  # older NNCs' spellings (ProjectConverter.js)
PARAMETER_SETTINGS = {
    "File": "file",
    "Initializer": "initializer",
    "InitializerMultiplier": "multiplier",
    "LRateMultiplier": "lrate_multiplier",
}
DATA_SETTINGS = {"Dataset": "dataset", "Generator": "generator", "GeneratorMultiplier": "generator_multiplier"}
# Side pins of layer types nnspec does not have in its catalog (yet), by NNC's [InputSideConnector].
OTHER_PINS = {"Delay": ("Initial",), "VATNoise": ("Buf",)}
BOX = (240, 48)  # the size NNC's editor gives every layer's box (Position_2, Position_3)
# Side pins NNC does not order parameters first, then data ([InputSideConnector] of the layer's definition).
PIN_ORDER = {"DeformableConvolution": ("W", "Offset", "Mask", "b")}
ARGUMENT_KINDS = {
    "Int": "int",
    "PInt": "int",
    "UInt": "int",
    "Float": "float",
    "Boolean": "bool",
    "BooleanOrMacro": "bool",
    "IntArray": "int_array",
    "PIntArray": "int_array",
    "UIntArray": "int_array",
    "FloatArray": "float_array",
    "Text": "text",
    "File": "text",
}
SCALAR_KINDS = {"bool", "int", "uint", "pint", "float", "choice"}
INT_KINDS = {"int", "uint", "pint", "shape", "int_array", "uint_array"}

_LINE_END = re.compile(r"\r\n|\r|\n")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", re.ASCII)
_EXPRESSION = re.compile(r"[A-Za-z0-9_\[\]+\-*/(). ,]+")
# ASCII only: Python's \s and \d also match characters int() refuses (\x1e, a record separator)
_INTEGER = re.compile(r"[ \t]*-?[0-9]{1,12}[ \t]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LAYER_KEY = re.compile(r"ID|Type|NumProperty|Position_[0-3]|Property_\d+_(Name|Value)")
_DROP = object()  # a value nnspec's default stands for: the key is left out


@dataclass
class Entry:
    """One Key=Value line: the value, its line, and the column its value starts at (1-based)."""

    key: str
    value: str
    line: int
    column: int


@dataclass
class Section:
    name: str
    line: int
    entries: dict[str, Entry] = field(default_factory=dict)


def read_sdcproj(raw: bytes, file: str) -> Document:
    """An .sdcproj file's bytes as a spec Document, or SpecError with every problem located."""
    sections = parse_sections(decode(raw, file), file)
    return _Project(file, sections).document()


def parse_sections(text: str, file: str) -> dict[str, Section]:
    """The file's sections by name; SpecError for a line NNC's grammar does not allow."""
    sections: dict[str, Section] = {}
    problems: list[Diagnostic] = []
    current: Section | None = None
    # NNC writes CRLF; LF and a lone CR (an old Mac editor's) end a line too, as in an editor's count
    for number, line in enumerate(_LINE_END.split(text), start=1):
        if not line.strip():
            continue
        if line.startswith("[") and line.endswith("]") and len(line) > 2:
            name = line[1:-1]
            if name in sections:
                first = sections[name].line
                problems.append(_syntax(file, number, 1, f"section [{name}] given twice (first on line {first})"))
                current = None  # its keys are read into nothing: the first section stands
                continue
            current = sections[name] = Section(name, number)
        elif "=" not in line:
            problems.append(_syntax(file, number, 1, f"expected '[Section]' or 'Key=Value'; got {_shown(line)}"))
        elif current is None:
            if not sections:
                problems.append(_syntax(file, number, 1, "a 'Key=Value' line before the first [Section]"))
        else:
            key, _, value = line.partition("=")
            if not key:
                problems.append(_syntax(file, number, 1, "a line '=Value' without its key"))
            elif key in current.entries:
                first = current.entries[key].line
                problems.append(
                    _syntax(file, number, 1, f"key '{key}' given twice in [{current.name}] (first on line {first})")
                )
            else:
                current.entries[key] = Entry(key, value, number, len(key) + 2)
    if problems:
        raise SpecError(problems)
    if not sections:
        raise SpecError([_syntax(file, 1, 1, "the file has no [Section]: an NNC project starts with [Engine]")])
    return sections


def _syntax(file: str, line: int, column: int, message: str) -> Diagnostic:
    return Diagnostic(message, file, line, column, code=codes.NNC_PROJECT_SYNTAX)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


@dataclass
class _Network:
    name: str
    prefix: str  # its sections' prefix: "" for a project's only network, else NAME_
    path: tuple  # where it goes in the spec: () for layers:, ("networks", NAME) for the others


class _Project:
    """One project being read: its sections, the spec data built from them, the source map, what
    went wrong (errors) and what was left out (notes)."""

    def __init__(self, file: str, sections: dict[str, Section]) -> None:
        self.file = file
        self.sections = sections
        self.source_map = SourceMap()
        self.problems: list[Diagnostic] = []
        self.notes: list[Diagnostic] = []
        self.read: set[str] = set()  # sections consumed
        self.catalog = layer_types()

    # -- the whole project --------------------------------------------------------------------

    def document(self) -> Document:
        self._check_engine()
        networks = self._networks()
        runs, view = self._network_run([network.name for network in networks])
        callee_arguments = {network.name: self._argument_types(network) for network in networks}
        # the current format: NNC binds a generated target to its layer, as version 2 does (upgrade.py)
        data: dict[str, Any] = {"nnspec": FORMAT_VERSION}
        self._at((), self.sections[next(iter(self.sections))].line, 1)
        description = self._description()
        if description:
            data["description"] = description
        if view:
            data["view"] = view
        ordered = sorted(networks, key=lambda network: network.name != runs)  # the one run first: layers:
        named: dict[str, Any] = {}
        for network in ordered:
            network.path = () if network.name == runs else ("networks", network.name)
            layers, arguments, comments = self._network(network, callee_arguments)
            if network.path:
                named[network.name] = {**({"arguments": arguments} if arguments else {}), "layers": layers}
                if comments:
                    named[network.name]["comments"] = comments
            else:
                if arguments:
                    data["arguments"] = arguments
                data["layers"] = layers
                if comments:
                    data["comments"] = comments
        if named:
            data["networks"] = named
        self._drop_switched_off_inner(data)
        project = self._project(runs, [network.name for network in networks])
        if project:
            data["project"] = project
        self._evaluations_note()
        if self.problems:
            raise SpecError([*self.problems, *self.notes])
        return Document(data, self.source_map, self.file, notes=self.notes)

    def _check_engine(self) -> None:
        engine = self._entry("Engine", "SDeepEngineType")
        self.read.add("Engine")
        if engine is None or engine.value == ENGINE:
            return
        if engine.value == "Transformers":
            raise UsageError(
                f"{printable(self.file)}:{engine.line}: a Transformers-engine project (SDeepEngineType=Transformers): "
                "its network is a Hugging Face pipeline run by NNC's Transformers scripts, with no layers, "
                "shapes or parameters for nnspec to check; nnspec reads NNabla-engine projects"
            )
        self._problem(f"unknown engine {_shown(engine.value)}: nnspec reads NNabla-engine projects", engine)

    def _networks(self) -> list[_Network]:
        """The project's networks: NNC's only one (Main) or those [Global] lists."""
        if "Global" not in self.sections:
            return [_Network(MAIN, "", ())]
        self.read.add("Global")
        count = self._count("Global", "NumNetwork", MAX_NETWORKS)
        networks: list[_Network] = []
        for k in range(count or 0):
            entry = self._required("Global", f"Network_{k}", "NumNetwork")
            if entry is None:
                continue
            if entry.value in {network.name for network in networks}:
                self._problem(f"network '{entry.value}' listed twice", entry)
                continue
            networks.append(_Network(entry.value, entry.value + "_", ("networks", entry.value)))
        if not networks and not self.problems:
            self._problem("[Global] lists no network (NumNetwork=0)", self.sections["Global"].entries.get("NumNetwork"))
        return networks

    def _network_run(self, names: list[str]) -> tuple[str | None, str | None]:
        """The network (and view) run by default: the one the first executor evaluates, as NNC's
        Evaluate does; NNC's MainRuntime/MainValidation, derived from Main, as Main's view."""
        first = names[0] if names else None
        default = MAIN if MAIN in names else first
        executor = self._entry("Executor_0", "Executor_NetworkName")
        if executor is None:
            return default, None
        if executor.value in names:
            return executor.value, None
        for suffix, view in DERIVED_VIEWS.items():
            base = executor.value.removesuffix(suffix)
            if executor.value.endswith(suffix) and base in names:
                return base, view
        self._note(
            f"the first executor evaluates network '{executor.value}', which the project does not hold: "
            f"nnspec runs '{default}' by default",
            executor,
        )
        return default, None

    def _description(self) -> str:
        entry = self._entry("Description", "Text")
        self.read.add("Description")
        if entry is None or not entry.value:
            return ""
        self._at(("description",), entry.line, entry.column)
        return entry.value.replace("\\n", "\n")

    def _evaluations_note(self) -> None:
        """NNC's first executor may evaluate each sample several times and average the outputs
        (NumEvaluations, over the random crops of its augmentation layers): nnspec evaluates once."""
        entry = self._entry("Executor_0", "NumEvaluations")
        if entry is not None and entry.value.strip() not in ("", "0", "1"):
            self._note(
                f"the executor averages NumEvaluations={entry.value.strip()} evaluations of each sample: nnspec "
                "does not repeat evaluations, it evaluates each sample once (its random layers drawn once)",
                entry,
            )

    def _project(self, runs: str | None, tabs: list[str]) -> dict[str, Any]:
        """``project:``: every section that is no network, by nnspec.spec.project's tables; a section
        no table knows kept verbatim under ``project.other`` (with a note where it looks like a
        network's, of a network the project does not list). The tabs' order where the main
        network (``layers:``, read first) is not NNC's first tab."""
        main = runs if runs not in (None, MAIN) else None
        source = Located(self.sections, self._located, lambda message, entry: self._problem(message, entry))
        order = tabs if tabs[:1] != [runs] and "Global" in self.sections else None
        project, read = read_project(source, main, order)
        if order is not None:
            self._at(("project", "tabs"), self.sections["Global"].line, 1)
        self.read |= read
        other: dict[str, dict[str, str]] = {}
        # sections of a network the project does not list: one note however many (a NumNetwork refused
        # leaves every network's sections unread)
        stray = [
            section
            for name, section in self.sections.items()
            if name not in self.read and re.search(r"(Layer_\d+|Link_\d+|Network_Global)$", name)
        ]
        if stray:
            names = [f"[{section.name}]" for section in stray]
            verb = "belongs" if len(names) == 1 else "belong"
            self._note(
                f"{_listed(names)} {verb} to no network the project lists: kept as it is (project.other)",
                None,
                stray[0].line,
            )
        for name, section in self.sections.items():
            if name in self.read:
                continue
            other[name] = {key: entry.value for key, entry in section.entries.items()}
            self._at(("project", "other", name), section.line, 1)
            for key, entry in section.entries.items():
                self._at(("project", "other", name, key), entry.line, entry.column)
        if other:
            project["other"] = other
            self._at(("project", "other"), self.sections[next(iter(other))].line, 1)
        if project:
            first = min((line for path, (line, _) in self.source_map.values.items() if path[:1] == ("project",)))
            self._at(("project",), first, 1)
        return project

    def _located(self, path: tuple, where: Any) -> None:
        """Where a project: value is: an Entry's value, or a Section's header line."""
        if isinstance(where, Entry):
            self.source_map.keys[path] = (where.line, 1)
            self._at(path, where.line, where.column)
        else:
            self._at(path, where.line, 1)

    # -- one network --------------------------------------------------------------------------

    def _argument_types(self, network: _Network) -> dict[str, str]:
        """The NNC type of each Argument layer of a network: how a Unit's value for it is read."""
        types: dict[str, str] = {}
        for section in self._layer_sections(network, note=False):
            kind = section.entries.get("Type")
            if kind is None or kind.value != "Argument":
                continue
            props = self._properties(section, quiet=True)
            name, arg_type = props.get("Name"), props.get("Type")
            if name is not None and arg_type is not None:
                types[name[1].value] = arg_type[1].value
        return types

    def _layer_sections(self, network: _Network, note: bool = True) -> Iterator[Section]:
        head = network.prefix + "Network_Global"
        if head not in self.sections:
            if note:
                self._problem(f"network '{network.name}' has no [{head}] section", None, self._global_line())
            return
        self.read.add(head)
        count = self._count(head, "NumLayer", MAX_LAYERS, quiet=not note) or 0
        missing: list[str] = []
        for i in range(count):
            name = f"{network.prefix}Layer_{i}"
            if name in self.sections:
                self.read.add(name)
                yield self.sections[name]
            else:
                missing.append(f"[{name}]")
        if missing and note:
            self._problem(
                f"{_missing(missing)}: [{head}] says NumLayer={count}", self.sections[head].entries["NumLayer"]
            )

    def _network(
        self, network: _Network, callees: dict[str, dict[str, str]]
    ) -> tuple[list[Any], dict[str, Any], list[Any]]:
        """A network's layers, its arguments (its Argument layers) and its comments (Comment layers)."""
        layers: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {}
        comments: list[dict[str, Any]] = []
        ids: dict[int, int] = {}  # NNC layer ID -> index in layers
        for section in list(self._layer_sections(network)):
            layer = self._layer(section, network, len(layers), arguments, callees, comments)
            if layer is not None:
                layer_id, body = layer
                if layer_id in ids:
                    self._problem(f"layer ID {layer_id} given to two layers", section.entries["ID"])
                ids[layer_id] = len(layers)
                layers.append(body)
        self._links(network, layers, ids)
        return layers, arguments, comments

    def _layer(
        self,
        section: Section,
        network: _Network,
        index: int,
        arguments: dict[str, Any],
        callees: dict[str, dict[str, str]],
        comments: list[dict[str, Any]],
    ) -> tuple[int, dict[str, Any]] | None:
        """A layer section as (its ID, its spec mapping); None for what is no layer (an Argument, a
        Comment: each goes to its own list)."""
        kind = self._required(section.name, "Type")
        layer_id = self._integer(section.name, "ID")
        props = self._properties(section)
        name_entry = props.pop("Name", None)
        if kind is None or layer_id is None:
            return None
        self._unknown_keys(section)
        if kind.value == "Comment":
            self._comment(section, network, name_entry, props, comments)
            return None
        if name_entry is None:
            self._problem(f"[{section.name}] has no Name property (Property_0_Name=Name)", None, section.line)
            return None
        name = name_entry[1]
        if kind.value == "Argument":
            self._argument(name, props, network, arguments, section)
            return None
        path = (*network.path, "layers", index)
        self._at(path, section.line, 1)
        self._at((*path, "type"), kind.line, kind.column)
        layer: dict[str, Any] = {"name": self._layer_name(name, path), "type": kind.value}
        if kind.value == "Unit":
            self._unit(layer, props, path, callees)
        elif kind.value in self.catalog:
            self._catalog_properties(layer, self.catalog[kind.value], props, path)
        else:  # a type nnspec does not have (yet): its properties follow NNC's names mechanically
            self._other_properties(layer, props, path)
        self._position(section, layer, path)
        return layer_id, layer

    def _unknown_keys(self, section: Section) -> None:
        """A layer section's keys beyond NNC's (ID, Type, Position_k, NumProperty, Property_k_*):
        none in NNC's files; one from a later NNC is said, not kept."""
        for key, entry in section.entries.items():
            if not _LAYER_KEY.fullmatch(key):
                self._note(f"key {key} of [{section.name}] is no key of NNC's layers nnspec knows: left out", entry)

    def _comment(
        self,
        section: Section,
        network: _Network,
        name: tuple[Entry, Entry] | None,
        props: dict[str, tuple[Entry, Entry]],
        into: list[dict[str, Any]],
    ) -> None:
        """A Comment layer: {name, text, position} in the network's comments: (it computes nothing)."""
        path = (*network.path, "comments", len(into))
        self._at(path, section.line, 1)
        comment: dict[str, Any] = {}
        if name is not None:
            comment["name"] = name[1].value
            self._at((*path, "name"), name[1].line, name[1].column)
        text = props.get("Comment")
        comment["text"] = text[1].value.replace("\\n", "\n") if text is not None else ""
        self._at((*path, "text"), *((text[1].line, text[1].column) if text is not None else (section.line, 1)))
        for other in props:
            if other != "Comment":
                self._note(
                    f"NNC's property {other} of a Comment layer has no place in comments: left out", props[other][0]
                )
        self._position(section, comment, path)
        into.append(comment)

    def _position(self, section: Section, layer: dict[str, Any], path: tuple) -> None:
        """The editor's Position_0..3 as ``position: [x, y]`` ([x, y, width, height] for a box that is
        not NNC's 240 x 48); none where the section gives none."""
        entries = [section.entries.get(f"Position_{k}") for k in range(4)]
        if entries[0] is None and entries[1] is None:
            return
        values = [self._integer(section.name, f"Position_{k}", quiet=entry is None) for k, entry in enumerate(entries)]
        x, y, width, height = values
        if x is None or y is None:
            return
        position = [x, y]
        if width is not None and height is not None and (width, height) != BOX:
            position += [width, height]
        self._set(layer, path, "position", position, entries[0] or entries[1] or Entry("", "", section.line, 1))

    def _layer_name(self, entry: Entry, path: tuple) -> str:
        """NNC's name as it is (y' too): one nnspec refuses is reported by validation, at its place."""
        self._at((*path, "name"), entry.line, entry.column)
        return entry.value

    def _properties(self, section: Section, quiet: bool = False) -> dict[str, tuple[Entry, Entry]]:
        """NNC's properties of a layer section: name -> (its name entry, its value entry)."""
        count = self._count(section.name, "NumProperty", MAX_PROPERTIES, quiet=quiet) or 0
        props: dict[str, tuple[Entry, Entry]] = {}
        missing: list[str] = []
        for k in range(count):
            name = section.entries.get(f"Property_{k}_Name")
            value = section.entries.get(f"Property_{k}_Value")
            if name is None or value is None:
                missing.append(f"Property_{k}_Name" if name is None else f"Property_{k}_Value")
                continue
            if k == 0 and name.value != "Name" and not quiet:
                self._problem(f"a layer's first property is its Name; got '{name.value}'", name)
            items = value.value.count(",") + 1
            if items > MAX_LIST_ITEMS:
                if not quiet:
                    self._problem(
                        f"property {_shown(name.value)} holds a list of {items:,} values; a value holds at most "
                        f"{MAX_LIST_ITEMS:,}",
                        value,
                    )
                continue
            if name.value in props and not quiet:
                self._problem(f"property '{name.value}' given twice in [{section.name}]", name)
            props.setdefault(LEGACY_NAMES.get(name.value, name.value), (name, value))
        if missing and not quiet:
            self._problem(
                f"[{section.name}] has no {_listed(missing, 'key')}, but NumProperty={count}",
                section.entries["NumProperty"],
            )
        return props

    def _argument(
        self, name: Entry, props: dict[str, tuple[Entry, Entry]], network: _Network, into: dict, section: Section
    ) -> None:
        """An Argument layer: arguments: {Name: {type, value, search, position}} (``search: true``
        where NNC's structure search may vary it, never in NNC's samples; False is left out)."""
        arg_type = props.get("Type")
        value = props.get("Value")
        path = (*network.path, "arguments", name.value)
        if name.value in into:
            self._problem(f"argument '{name.value}' given twice", name)
            return
        self.source_map.keys[path] = (name.line, name.column)
        self._at(path, name.line, name.column)
        entry: dict[str, Any] = {}
        if arg_type is not None:
            entry["type"] = arg_type[1].value
            self._at((*path, "type"), arg_type[1].line, arg_type[1].column)
        if value is not None:
            kind = ARGUMENT_KINDS.get(entry.get("type", ""), None)
            parsed = _literal(value[1].value, kind) if kind else value[1].value
            entry["value"] = value[1].value if parsed is _DROP else parsed
            self._at((*path, "value"), value[1].line, value[1].column)
        search = props.get("Search")
        if search is not None and search[1].value == "True":
            self._set(entry, path, "search", True, search[1])
        elif search is not None and search[1].value != "False":
            self._note(
                f"Search={_shown(search[1].value)} of argument '{name.value}' is not True or False: left out", search[1]
            )
        self._position(section, entry, path)
        into[name.value] = entry

    def _unit(self, layer: dict[str, Any], props: dict, path: tuple, callees: dict[str, dict[str, str]]) -> None:
        """A Unit layer: network, parameter_scope, argument values, inner parameters' settings."""
        callee = props.pop("Network", None)
        if callee is not None:
            self._set(layer, path, "network", callee[1].value, callee[1])
        scope = props.pop("ParameterScope", None)
        if scope is not None and scope[1].value != "*Name":
            self._set(layer, path, "parameter_scope", scope[1].value, scope[1])
        types = callees.get(callee[1].value, {}) if callee is not None else {}
        arguments: dict[str, Any] = {}
        parameters: dict[str, Any] = {}
        for nnc_name, (_, value) in props.items():
            inner, _, rest = nnc_name.partition(".")
            if rest:
                param, _, setting = rest.partition(".")
                key = PARAMETER_SETTINGS.get(setting)
                parsed = _literal(value.value, "text" if key in ("file", "initializer") else "float")
                if key is None or parsed is _DROP:
                    continue
                where = (*path, "parameters", inner, param, key)
                parameters.setdefault(inner, {}).setdefault(param, {})[key] = parsed
                self._at(where, value.line, value.column)
                self._at(where[:-1], value.line, value.column)
                self._at(where[:-2], value.line, value.column)
                continue
            kind = ARGUMENT_KINDS.get(types.get(nnc_name, ""))
            parsed = _value(value.value, kind)
            if parsed is _DROP:
                continue
            arguments[nnc_name] = parsed
            self._at((*path, "arguments", nnc_name), value.line, value.column)
            self._expression_at((*path, "arguments", nnc_name), parsed, value)
        if arguments:
            layer["arguments"] = arguments
            self._at((*path, "arguments"), *self.source_map.values[(*path, "arguments", next(iter(arguments)))])
        if parameters:
            layer["parameters"] = parameters
            first = next(iter(parameters))
            self._at((*path, "parameters"), *self.source_map.values[(*path, "parameters", first)])

    def _catalog_properties(self, layer: dict[str, Any], layer_type: LayerType, props: dict, path: tuple) -> None:
        # by folded case: NNC capitalises some names whole (NMSPerClass, nnspec's nms_per_class: NmsPerClass)
        by_nnc_name = {prop.nnc_name.lower(): prop for prop in layer_type.properties}
        parameters = {parameter.name for parameter in layer_type.parameters}
        defaults: dict[tuple[str, str], Any] = {(p.name, "initializer"): p.initializer for p in layer_type.parameters}
        defaults.update({(p.name, "multiplier"): p.multiplier for p in layer_type.parameters})
        defaults.update({(p.name, "lrate_multiplier"): p.lrate_multiplier for p in layer_type.parameters})
        pins = {target.name for target in layer_type.targets} | ({layer_type.operand} if layer_type.operand else set())
        # A type whose one parameter is the layer's own array (Parameter, WorkingMemory: no function scope)
        # has its settings at the top, NNC's Initializer for value.Initializer.
        own = layer_type.parameters[0].name if layer_type.parameters and layer_type.function_scope is None else None
        for nnc_name, (name_entry, value) in props.items():
            owner, _, setting = nnc_name.partition(".")
            if own is not None and not setting and nnc_name in PARAMETER_SETTINGS:
                owner, setting = own, nnc_name
            if setting and owner in parameters and setting in PARAMETER_SETTINGS:
                kind = "text" if setting in ("File", "Initializer") else "float"
                parsed = _literal(value.value, kind)
                if parsed == defaults.get((owner, PARAMETER_SETTINGS[setting]), _DROP):
                    parsed = _DROP  # NNC's default for this parameter, which nnspec's is
                self._nested(layer, path, owner, PARAMETER_SETTINGS[setting], parsed, value)
            elif setting and owner in pins and setting in DATA_SETTINGS:
                self._data_setting(layer, path, owner, setting, value)
            elif nnc_name.lower() in by_nnc_name:
                prop = by_nnc_name[nnc_name.lower()]
                parsed = _property_value(prop, value.value)
                if parsed is not _DROP and not _is_default(prop, parsed):
                    self._set(layer, path, prop.name, parsed, value)
            elif nnc_name == "ParameterScope":  # a type whose parameters nnspec scopes itself
                continue
            elif nnc_name not in SILENTLY_DROPPED and not (setting and owner in pins):
                self._note(
                    f"NNC's property {nnc_name} of layer '{layer['name']}' ({layer['type']}) has no counterpart "
                    "in nnspec: left out",
                    name_entry,
                )
        # a side pin left with no setting (T.Generator=None and no dataset) takes nnspec's default
        for pin in parameters | pins:
            settings = layer.get(pin)
            if isinstance(settings, dict) and "generator" not in settings:
                settings.pop("generator_multiplier", None)  # the multiplier of no generator says nothing
            if settings == {}:
                del layer[pin]
        self._drop_switched_off(layer, layer_type)

    def _drop_switched_off(self, layer: dict[str, Any], layer_type: LayerType, settings: dict | None = None) -> None:
        """NNC writes b.Initializer and its siblings whatever WithBias says; nnspec refuses settings of
        a parameter the layer does not have, so those of a switched-off parameter are left out (of
        ``settings``: the layer itself, or a Unit's settings of it)."""
        settings = layer if settings is None else settings
        props = {prop.name: layer.get(prop.name, prop.default) for prop in layer_type.properties}
        switches = [props[prop.name] for prop in layer_type.properties if prop.kind == "bool"]
        if any(isinstance(value, str) for value in switches):
            return  # switched by an expression (WithBias=*UseBias): validation judges it once evaluated
        props = {name: None if _is_expression(value) else value for name, value in props.items()}
        for parameter in layer_type.parameters:
            if parameter.name in settings and not parameter.enabled(props):
                del settings[parameter.name]

    def _drop_switched_off_inner(self, data: dict[str, Any]) -> None:
        """A Unit's settings of an inner layer's switched-off parameter (Conv.b.* with WithBias=False)."""
        networks = {name: network["layers"] for name, network in data.get("networks", {}).items()}
        networks[""] = data.get("layers", [])
        by_name = {name: {layer["name"]: layer for layer in layers} for name, layers in networks.items()}
        for layers in networks.values():
            for unit in layers:
                if unit["type"] != "Unit" or not isinstance(unit.get("parameters"), dict):
                    continue
                inner_layers = by_name.get(unit.get("network", ""), {})
                for inner, settings in list(unit["parameters"].items()):
                    layer = inner_layers.get(inner)
                    if layer is not None and layer["type"] in self.catalog:
                        self._drop_switched_off(layer, self.catalog[layer["type"]], settings)
                        if not settings:
                            del unit["parameters"][inner]
                if not unit["parameters"]:
                    del unit["parameters"]

    def _data_setting(self, layer: dict[str, Any], path: tuple, pin: str, setting: str, value: Entry) -> None:
        """T.Dataset, T.Generator, T.GeneratorMultiplier (and R.*, q.*): what an unlinked pin reads.
        A generator of None is no generator; its multiplier then says nothing."""
        key = DATA_SETTINGS[setting]
        text = value.value
        if key == "generator" and text == "None":
            layer.setdefault(pin, {})
            return
        parsed = _literal(text, "float" if key == "generator_multiplier" else "text")
        self._nested(layer, path, pin, key, parsed, value)

    def _other_properties(self, layer: dict[str, Any], props: dict, path: tuple) -> None:
        """A type outside nnspec's catalog (RecurrentInput, Delay, an unsupported one): its properties
        by NNC's names in snake_case, values read by their look; validation says what it makes of them."""
        for nnc_name, (_, value) in props.items():
            owner, _, setting = nnc_name.partition(".")
            if nnc_name in ("ID", "ParameterScope") and value.value.startswith("*"):
                continue
            parsed = _value(value.value, None)
            if parsed is _DROP or (setting == "Generator" and parsed == "None"):
                continue
            if setting:
                self._nested(layer, path, owner, nnspec_name(setting), parsed, value)
            else:
                self._set(layer, path, snake_case(nnc_name), parsed, value)

    # -- links --------------------------------------------------------------------------------

    def _links(self, network: _Network, layers: list[dict[str, Any]], ids: dict[int, int]) -> None:
        """Each link as NNC means it: pin 0 an input (in link order), another pin by its NNC name."""
        head = network.prefix + "Network_Global"
        count = self._count(head, "NumLink", MAX_LINKS) if head in self.sections else None
        inputs: dict[int, list[tuple[str, Entry]]] = {}
        operands: dict[int, list[tuple[str, Entry]]] = {}  # second operands, read after the data input
        missing: list[str] = []
        for j in range(count or 0):
            name = f"{network.prefix}Link_{j}"
            section = self.sections.get(name)
            if section is None:
                missing.append(f"[{name}]")
                continue
            self.read.add(name)
            link = self._link(section, layers, ids)
            if link is None:
                continue
            source, dest, pin, entry = link
            if pin == 0:
                inputs.setdefault(dest, []).append((source, entry))
            else:
                path = (*network.path, "layers", dest)
                if self._side_link(layers[dest], path, source, pin, entry):
                    operands.setdefault(dest, []).append((source, entry))
        if missing:
            self._problem(f"{_missing(missing)}: [{head}] says NumLink={count}", self.sections[head].entries["NumLink"])
        for index, layer in enumerate(layers):
            path = (*network.path, "layers", index)
            sources = inputs.get(index, []) + operands.get(index, [])
            if not sources and self._takes_no_input(layer):
                if "position" in layer:
                    layer["position"] = layer.pop("position")  # the editor's place, last
                continue
            names = [name for name, _ in sources]
            # written after the name and type, as a spec writes it
            wired = {
                "name": layer.pop("name"),
                "type": layer.pop("type"),
                "input": names[0] if len(names) == 1 else names,
            }
            position = layer.pop("position", None)  # the editor's place, last (after a side input's T: {input})
            layers[index] = {**wired, **layer, **({"position": position} if position is not None else {})}
            if sources:
                self._at((*path, "input"), sources[0][1].line, sources[0][1].column)
                for k, (_, entry) in enumerate(sources):
                    self._at((*path, "input", k), entry.line, entry.column)
            else:  # a layer no link feeds: an empty input list, which validation refuses at the layer
                self._at((*path, "input"), *self.source_map.values[path])

    def _takes_no_input(self, layer: dict[str, Any]) -> bool:
        """A type that may read no layer (Input, Parameter; WorkingMemory may), or one nnspec lacks,
        unlinked: validation says the type is missing, not that an empty input: is wrong."""
        layer_type = self.catalog.get(layer["type"])
        return layer_type is None or layer_type.arity.least == 0  # Input, Parameter; WorkingMemory may

    def _link(
        self, section: Section, layers: list[dict[str, Any]], ids: dict[int, int]
    ) -> tuple[str, int, int, Entry] | None:
        """(source layer's name, destination index, pin, the DestLayerID entry) or None (reported)."""
        read = {
            key: self._integer(section.name, key)
            for key in ("SourceLayerID", "SourcePinIndex", "DestLayerID", "DestPinIndex")
        }
        values = {key: value for key, value in read.items() if value is not None}
        if len(values) < len(read):
            return None
        entries = section.entries
        if values["SourcePinIndex"] != 0:
            self._problem(
                "a link from an output pin other than 0: NNC's layers have one output", entries["SourcePinIndex"]
            )
            return None
        for key in ("SourceLayerID", "DestLayerID"):
            if values[key] not in ids:
                self._problem(f"{key}={values[key]}: no layer of this network has that ID", entries[key])
                return None
        if values["DestPinIndex"] < 0:
            self._problem("DestPinIndex must be 0 or more", entries["DestPinIndex"])
            return None
        source = layers[ids[values["SourceLayerID"]]]["name"]
        return source, ids[values["DestLayerID"]], values["DestPinIndex"], entries["DestLayerID"]

    def _side_link(self, layer: dict[str, Any], path: tuple, source: str, pin: int, entry: Entry) -> bool:
        """A link into pin k >= 1: the k-th of the layer's side pins (NNC's [InputSideConnector]:
        its parameters, then its data pins). A data pin or a parameter becomes ``PIN: {input: LAYER}``
        (a parameter's initializer and file dropped: the link wins, as in NNC; its training setting
        lrate_multiplier kept); the second operand of a two-input layer its second input (True: the
        caller adds it)."""
        layer_type = self.catalog.get(layer["type"])
        if layer_type is not None:
            params = [parameter.name for parameter in layer_type.parameters]
            data = [target.name for target in layer_type.targets] + ([layer_type.operand] if layer_type.operand else [])
        else:
            params, data = [], list(OTHER_PINS.get(layer["type"], ()))
        pins = params + data
        pins = [name for name in PIN_ORDER.get(layer["type"], ()) if name in pins] or pins
        if pin > len(pins):
            self._problem(
                f"a link into pin {pin} of layer '{layer['name']}' ({layer['type']}), which has "
                f"{len(pins)} side pin{'s' if len(pins) != 1 else ''}",
                entry,
            )
            return False
        name = pins[pin - 1]
        if name in params:
            settings = layer.get(name, {})
            kept = {"lrate_multiplier": settings["lrate_multiplier"]} if "lrate_multiplier" in settings else {}
            layer[name] = {**kept, "input": source}
            self._at((*path, name), entry.line, entry.column)
            self._at((*path, name, "input"), entry.line, entry.column)
            return False
        if layer_type is not None and name == layer_type.operand:
            layer.pop(name, None)  # R.Dataset/R.Generator say nothing once R is linked
            return True
        layer[name] = {"input": source}  # replaces T.Dataset/T.Generator: the link wins, as in NNC
        self._at((*path, name), entry.line, entry.column)
        self._at((*path, name, "input"), entry.line, entry.column)
        return False

    # -- entries and counts -------------------------------------------------------------------

    def _entry(self, section: str, key: str) -> Entry | None:
        found = self.sections.get(section)
        return None if found is None else found.entries.get(key)

    def _required(self, section: str, key: str, counted_by: str = "") -> Entry | None:
        entry = self._entry(section, key)
        if entry is None:
            because = f", but {counted_by} counts it" if counted_by else ""
            self._problem(f"[{section}] has no {key}{because}", None, self.sections[section].line)
        return entry

    def _integer(self, section: str, key: str, quiet: bool = False) -> int | None:
        entry = self._entry(section, key) if quiet else self._required(section, key)
        if entry is None:
            return None
        if _INTEGER.fullmatch(entry.value):  # at most 12 digits: no count or ID is longer
            return int(entry.value)
        if not quiet:
            self._problem(f"{key} must be an integer; got {_shown(entry.value)}", entry)
        return None

    def _count(self, section: str, key: str, most: int, quiet: bool = False) -> int | None:
        count = self._integer(section, key, quiet=quiet)
        if count is None:
            return None
        if not 0 <= count <= most:
            if not quiet:
                self._problem(f"{key}={count}: a project may hold 0 to {most:,}", self.sections[section].entries[key])
            return None
        return count

    def _indexed(self, prefix: str) -> list[Section]:
        return [section for name, section in self.sections.items() if re.fullmatch(re.escape(prefix) + r"\d+", name)]

    def _global_line(self) -> int:
        return self.sections["Global"].line if "Global" in self.sections else 1

    # -- building the data and its source map -------------------------------------------------

    def _at(self, path: tuple, line: int, column: int) -> None:
        self.source_map.values[path] = (line, column)

    def _set(self, layer: dict[str, Any], path: tuple, key: str, value: Any, entry: Entry) -> None:
        layer[key] = value
        self.source_map.keys[(*path, key)] = (entry.line, 1)
        self._at((*path, key), entry.line, entry.column)
        self._expression_at((*path, key), value, entry)
        if isinstance(value, list):
            for k in range(len(value)):
                self._at((*path, key, k), entry.line, entry.column)

    def _nested(self, layer: dict[str, Any], path: tuple, owner: str, key: str, value: Any, entry: Entry) -> None:
        if value is _DROP:
            layer.setdefault(owner, {})
            return
        if owner not in layer or not isinstance(layer[owner], dict):
            layer[owner] = {}
            self.source_map.keys[(*path, owner)] = (entry.line, 1)
            self._at((*path, owner), entry.line, entry.column)
        if "input" in layer[owner]:
            return  # a link into the pin already gave it: NNC ignores the pin's data settings then
        layer[owner][key] = value
        self.source_map.keys[(*path, owner, key)] = (entry.line, 1)
        self._at((*path, owner, key), entry.line, entry.column)

    def _expression_at(self, path: tuple, value: Any, entry: Entry) -> None:
        """Where an expression's text starts, so that an error points into it: NNC's *Arg holds its
        '*' where nnspec's text has '=', and a bare expression follows the line's '='."""
        if isinstance(value, str) and value.startswith("="):
            column = entry.column if entry.value.startswith("*") else entry.column - 1
            self.source_map.expressions[path] = (entry.line, column)

    def _problem(self, message: str, entry: Entry | None, line: int | None = None, code: str = "") -> None:
        where = (entry.line, entry.column) if entry is not None else (line, 1)
        self.problems.append(Diagnostic(message, self.file, *where, ERROR, code or codes.NNC_PROJECT))

    def _note(self, message: str, entry: Entry | None, line: int | None = None) -> None:
        where = (entry.line, entry.column) if entry is not None else (line, 1)
        self.notes.append(Diagnostic(message, self.file, *where, INFO, codes.NNC_IMPORT))


# -- values -----------------------------------------------------------------------------------


def _listed(names: list[str], noun: str = "section") -> str:
    """Names in one phrase however many (a NumLink=100000 with none written is one error, not
    100,000): ``[Layer_1]``; ``3 sections ([Layer_1], [Layer_2], [Layer_4])``; ``19,997 sections
    ([Layer_3], [Layer_4], [Layer_5], ... [Layer_19999])``."""
    if len(names) == 1:
        return names[0]
    shown = ", ".join(names) if len(names) <= 4 else f"{', '.join(names[:3])}, ... {names[-1]}"
    return f"{len(names):,} {noun}s ({shown})"


def _missing(names: list[str]) -> str:
    """``[Layer_1] is missing``, ``3 sections are missing ([Layer_1], [Layer_2], [Layer_4])``."""
    if len(names) == 1:
        return f"{names[0]} is missing"
    noun, _, shown = _listed(names).partition(" (")
    return f"{noun} are missing ({shown}"


def _is_default(prop: Property, value: Any) -> bool:
    """A literal equal to the property's default, of a kind whose value reads alike either way: left
    to the default, as an NNC user sees it in the panel (shapes and lists are kept: they say what the
    layer is)."""
    if prop.kind not in SCALAR_KINDS or (isinstance(value, str) and prop.kind != "choice"):
        return False
    return isinstance(value, bool) == isinstance(prop.default, bool) and value == prop.default


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def _property_value(prop: Property, text: str) -> Any:
    """A catalog property's value from NNC's text, by the property's kind."""
    if prop.name == "parameter_scope" and not text:
        return _DROP  # an empty scope on a layer: NNC's default, the layer's name
    return _value(text, prop.kind)


def _value(text: str, kind: str | None) -> Any:
    """NNC's text of a value: _DROP for an empty one or a macro that is its property's default,
    an expression (=...) for an argument reference or a formula, else a literal of ``kind``
    (None: by its look)."""
    if not text:
        return _DROP
    if text.startswith("*"):
        word = text[1:]
        if word in DEFAULT_MACROS or word.startswith("UnitProperty"):
            return _DROP
        return "=" + word if _NAME.fullmatch(word) else text
    literal = _literal(text, kind)
    if literal is not _DROP and not (isinstance(literal, str) and kind not in ("text", "choice")):
        return literal
    if kind in ("text", "choice"):
        return text
    if _EXPRESSION.fullmatch(text) and (kind is not None or not _NAME.fullmatch(text)):
        return "=" + text
    return text  # validation says what is wrong with it, at its line


def _literal(text: str, kind: str | None) -> Any:
    """A literal value of ``kind`` from NNC's text; text itself when it is none (for the caller to
    judge); _DROP for an empty one."""
    if not text:
        return _DROP
    if kind in ("text", "choice"):
        return text
    if text in ("True", "False"):
        return text == "True"
    parts = text.split(",")
    if len(parts) > 1 and parts[-1] == "":
        parts = parts[:-1]  # NNC writes a trailing comma (Slice Start=0,20,20,)
    if not all(_NUMBER.fullmatch(part.strip()) for part in parts):
        return text
    numbers = [_number(part.strip(), kind in INT_KINDS) for part in parts]
    if kind == "range" or (len(numbers) > 1 and kind != "range"):
        return numbers
    return numbers[0]


def _number(text: str, integer: bool) -> int | float:
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    value = float(text)
    return int(value) if integer and value.is_integer() and abs(value) < 2**53 else value
