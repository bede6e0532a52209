"""Safe YAML loading: plain data plus a source map from spec paths to line and column.

Only plain YAML is accepted: mappings with text keys, sequences, and scalars
(text, numbers, booleans, null). Anchors, aliases and explicit tags are refused
before anything is built, so an alias bomb is never expanded and no tag can
construct an object. Duplicate keys are errors, not silently overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic, DiagnosticList, SpecError, UsageError

# libyaml's C parser where installed (it is in the PyPI wheels); the pure-Python one otherwise.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64
_PLAIN_TAGS = {"tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "seq", "map")}
# Scalars the constructor turns into numbers, booleans or null; every other scalar stays text.
_CONSTRUCTED = {"tag:yaml.org,2002:" + name for name in ("int", "float", "bool", "null")}
_constructor = yaml.constructor.SafeConstructor()
# YAML 1.2's floats include exponents without a dot (1e-5, as NNC writes Epsilon); YAML 1.1's do not.
_YAML12_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+")

Path_ = tuple  # a path into the document: keys and list indices, e.g. ("layers", 2, "out_shape")


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a document stands in its file."""

    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_, at_key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of ``path``, or of its nearest located ancestor."""
        path = tuple(path)
        if at_key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (None, None))


@dataclass
class Document:
    """A loaded spec file: its plain data and where every part of it came from."""

    data: Any
    source_map: SourceMap
    file: str


def read_text(path: str | Path) -> str:
    """Read a spec file as UTF-8 (a BOM is allowed); an unreadable file is a usage error."""
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a spec file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})"
        raise SpecError([_at(str(path), line, column, message, "encoding")]) from None


def load_file(path: str | Path) -> Document:
    return load_text(read_text(path), str(path))


def load_text(text: str, file: str = "<spec>") -> Document:
    """Parse YAML text into plain data and a source map, or raise SpecError."""
    diagnostics = DiagnosticList(file)
    try:
        _refuse_unsafe_constructs(text, file, diagnostics)
    except yaml.MarkedYAMLError as exc:
        raise SpecError([_yaml_error(exc, file, text)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. a control character
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = (
            f"YAML syntax: character {_codepoint(exc.character)} is not allowed in YAML text "
            "(in double quotes, write a control character as an escape such as \\x07)"
        )
        raise SpecError([_at(file, line, column, message, "yaml-syntax")]) from None
    if diagnostics.items:
        raise SpecError(diagnostics.items)
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        raise SpecError(
            [_at(file, 1, 1, "the file is empty: a spec needs at least 'nnspec: 1' and 'layers:'", "empty")]
        )
    source_map = SourceMap()
    data = _build(node, (), source_map, diagnostics)
    if diagnostics.items:
        raise SpecError(diagnostics.items)
    return Document(data, source_map, file)


def _refuse_unsafe_constructs(text: str, file: str, diagnostics: DiagnosticList) -> None:
    """Scan the event stream (nothing is built) for what a plain spec must not hold."""
    depth = documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents == 2:
                diagnostics.items.append(
                    _at(
                        file,
                        line,
                        column,
                        "a spec file holds one YAML document; found a second one",
                        "yaml-multiple-documents",
                    )
                )
        elif isinstance(event, yaml.AliasEvent):
            diagnostics.items.append(
                _at(
                    file,
                    line,
                    column,
                    f"YAML aliases (*{event.anchor}) are not allowed in a spec: write the value out",
                    "yaml-alias",
                )
            )
            continue
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            diagnostics.items.append(
                _at(
                    file,
                    line,
                    column,
                    f"YAML anchors (&{anchor}) are not allowed in a spec: write the value out",
                    "yaml-anchor",
                )
            )
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _PLAIN_TAGS and not (tag == "!" and isinstance(event, yaml.ScalarEvent)):
            shown = tag.replace("tag:yaml.org,2002:", "!!", 1)
            diagnostics.items.append(
                _at(file, line, column, f"YAML tag {shown} is not allowed in a spec: only plain values are", "yaml-tag")
            )
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth == MAX_DEPTH + 1:
                diagnostics.items.append(
                    _at(file, line, column, f"nesting deeper than {MAX_DEPTH} levels", "yaml-too-deep")
                )
                return
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _build(node: yaml.Node, path: Path_, source_map: SourceMap, diagnostics: DiagnosticList) -> Any:
    source_map.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            key_at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, str):
                shown = (key_node.value or "null") if isinstance(key_node, yaml.ScalarNode) else "a collection"
                hint = " (YAML reads yes/no/on/off as booleans: quote it)" if isinstance(key, bool) else ""
                diagnostics.items.append(
                    _at(diagnostics.file, *key_at, f"mapping keys must be text; got {shown!s}{hint}", "yaml-key")
                )
                continue
            if key in result:
                first = source_map.keys[path + (key,)]
                diagnostics.items.append(
                    _at(
                        diagnostics.file,
                        *key_at,
                        f"duplicate key '{key}' (first given on line {first[0]})",
                        "yaml-duplicate-key",
                    )
                )
                continue
            source_map.keys[path + (key,)] = key_at
            result[key] = _build(value_node, path + (key,), source_map, diagnostics)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), source_map, diagnostics) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag in _CONSTRUCTED:
        return _constructor.construct_object(node)
    if not node.style and _YAML12_FLOAT.fullmatch(node.value):  # plain: style None, or "" from libyaml
        return float(node.value)  # 1e-5: a number in YAML 1.2, text in PyYAML's YAML 1.1
    return node.value  # text, and dates or other implicit types kept as the text written


def _yaml_error(exc: yaml.MarkedYAMLError, file: str, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{problem} ({exc.context}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            problem += f" on line {exc.context_mark.line + 1}"
        problem += ")"
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        problem += ": YAML indents with spaces, not tabs"
    elif problem.startswith(("did not find expected", "mapping values are not allowed")):
        problem += ": check this line's indentation against the lines above, and the space after each ':'"
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    return _at(file, line, column, f"YAML syntax: {problem}", "yaml-syntax")


def _codepoint(character: str | int) -> str:
    return f"U+{character if isinstance(character, int) else ord(character):04X}"


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column : column + 1] if line < len(lines) else ""


def _at(file: str, line: int | None, column: int | None, message: str, code: str) -> Diagnostic:
    return Diagnostic(message, file, line, column, code=code)
