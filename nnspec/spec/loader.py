"""Safe YAML loading: plain data plus a source map from spec paths to line and column.

Only plain YAML is accepted: mappings with text keys, sequences, and scalars
(text, numbers, booleans, null). The document is built straight from the parser's
events in one pass, and anchors, aliases, explicit tags and merge keys are refused
as they come, so an alias bomb is never expanded and no tag can construct an object.
Duplicate keys are errors, not silently overwritten; nesting is bounded; and a spec
file is read only up to a size limit (MAX_SPEC_BYTES, or NNSPEC_MAX_SPEC_SIZE; an NNC project's or
nnabla network text's own, nnspec.files.limits), so no file (not even /dev/zero) can make loading run
on or fill the memory.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core import codes
from ..core.diagnostics import Diagnostic, SpecError, UsageError, show_value
from ..files.limits import SPEC_TEXT, TextLimit

# libyaml's C parser where installed (it is in the PyPI wheels); the pure-Python one otherwise.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64
MAX_SPEC_BYTES = SPEC_TEXT.default  # 128 KiB
SIZE_VARIABLE = SPEC_TEXT.variable
_PLAIN_TAGS = {"tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "seq", "map")}
# Scalars the constructor turns into numbers, booleans or null; every other scalar stays text.
_CONSTRUCTED = {"tag:yaml.org,2002:" + name for name in ("int", "float", "bool", "null")}
# The safe loader's own functions for these tags, called directly: construct_object() would keep every
# node and value it ever made in the constructor's tables (PyYAML empties them only per document it
# loads itself), so each spec loaded in a long-lived process grew its memory.
_constructor = yaml.constructor.SafeConstructor()
_CONSTRUCT = {tag: _constructor.yaml_constructors[tag] for tag in _CONSTRUCTED}
# YAML 1.2's floats include exponents without a dot (1e-5, as NNC writes Epsilon); YAML 1.1's do not.
_YAML12_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+")

Path_ = tuple  # a path into the document: keys and list indices, e.g. ("layers", 2, "out_shape")


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a document stands in its file."""

    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # Where the text of an expression (a scalar starting with '=') begins, when each of its characters
    # stands for itself in the file (one line, no escapes), so an error can point inside it.
    expressions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # Where a layer of a named network is written (nnspec.spec.networks): validation knows every
    # written layer by one flat index, ("layers", k); this maps a k beyond the main network's layers
    # to the layer's own path, ("networks", NAME, "layers", i).
    layer_paths: dict[int, Path_] = field(default_factory=dict)

    def written_path(self, path: Path_) -> Path_:
        """``path`` as the file writes it: a flat layer index of a named network's layer translated."""
        path = tuple(path)
        if len(path) > 1 and path[0] == "layers" and path[1] in self.layer_paths:
            return self.layer_paths[path[1]] + path[2:]
        return path

    def locate(self, path: Path_, at_key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of ``path``, or of its nearest located ancestor."""
        path = self.written_path(path)
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
    # Notes (info diagnostics) of a reader that maps another format onto a spec: what the file holds
    # that the spec has no place for (an NNC project's training settings). Shown with validation's.
    notes: list[Diagnostic] = field(default_factory=list)


def spec_size_limit() -> int:
    """The largest spec file read, in bytes: MAX_SPEC_BYTES, or NNSPEC_MAX_SPEC_SIZE (e.g. 8M)."""
    return SPEC_TEXT.bytes()


def read_text(path: str | Path) -> str:
    """Read a spec file as UTF-8 (a BOM is allowed); an unreadable or oversized file is a usage error."""
    return decode(read_bytes(path), str(path))


def read_bytes(path: str | Path, limit: TextLimit = SPEC_TEXT) -> bytes:
    """A spec file's bytes, within ``limit`` (its format's: a spec's by default); an unreadable or
    oversized file is a usage error."""
    return _read_bounded(Path(path), limit)


def decode(raw: bytes, file: str = "<spec>") -> str:
    """A spec file's bytes as text: UTF-8, a BOM allowed; other bytes are an error at their place."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8-sig")) + 1  # in characters, as editors count
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}){_encoding_hint(raw)}"
        raise SpecError([_at(file, line, column, message, codes.ENCODING)]) from None


def _read_bounded(path: Path, bound: TextLimit) -> bytes:
    """At most ``bound``'s bytes of ``path``: a larger regular file is refused before it is read,
    and anything else (a pipe, a device) is read no further than one byte past the limit.

    The file is opened without blocking, so that a named pipe nobody writes to reads as empty
    instead of waiting forever, then read blocking (a pipe being written is read to its end)."""
    limit = bound.bytes()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL character in the path
        raise UsageError(f"{path!r}: cannot read: {exc}") from None
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise UsageError(f"{path}: is a directory, not a spec file")
        if stat.S_ISREG(status.st_mode) and status.st_size > limit:
            raise UsageError(bound.refusal(path, f"{status.st_size:,} bytes", limit))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with open(fd, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise UsageError(bound.refusal(path, "longer than that", limit))
    return raw


def _encoding_hint(raw: bytes) -> str:
    """A likely reason for bytes that are not UTF-8: a UTF-16 or UTF-32 byte order mark."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:4] in (b"\x00\x00\xfe\xff",):
        return ": it starts with a UTF-16 or UTF-32 byte order mark; save it as UTF-8"
    return ""


def load_file(path: str | Path) -> Document:
    return load_text(read_text(path), str(path))


def load_text(text: str, file: str = "<spec>") -> Document:
    """Parse YAML text into plain data and a source map, or raise SpecError."""
    builder = _Builder(file)
    try:
        builder.build(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        raise SpecError([_yaml_error(exc, file, text)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. a control character
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = (
            f"YAML syntax: character {_codepoint(exc.character)} is not allowed in YAML text "
            "(in double quotes, write a control character as an escape such as \\x07)"
        )
        raise SpecError([_at(file, line, column, message, codes.YAML_SYNTAX)]) from None
    except _Stop:
        pass  # the builder recorded why it stopped
    if builder.diagnostics:
        raise SpecError(builder.diagnostics)
    if builder.root is _NOTHING:
        raise SpecError(
            [_at(file, 1, 1, "the file is empty: a spec needs at least 'nnspec: 2' and 'layers:'", codes.EMPTY)]
        )
    return Document(builder.root, builder.source_map, file)


class _Stop(Exception):
    """Loading stops here: what follows cannot be read safely (a second document, too deep a nesting)."""


_NOTHING = object()  # no value yet (the root of an empty stream), or a mapping's key still to come
_DROPPED = object()  # a mapping key that is refused: its value is read and left out
_MERGE = object()  # a merge key (<<), refused: its value is read and left out


@dataclass
class _Collection:
    """A mapping or sequence being built: its value, its path (None: not recorded, e.g. inside a
    refused key), and for a mapping the key whose value comes next."""

    value: dict | list
    path: Path_ | None
    start: Any  # the start event: a collection used as a key is reported where it begins
    key: Any = _NOTHING
    merge: Any = None  # the event of a merge key (<<) whose value comes next
    # NNC's comma list in a flow mapping ({size: 1,8,8} reads as size: 1, 8: null, 8: null):
    # the event of its first stray number, the key, the numbers, and whether a stray number had a
    # value of its own (then it was a number key, {a: 1, 8: 2}, not a list); reported once when it ends
    comma: tuple[Any, str, list[str], bool] | None = None


class _Builder:
    """Builds plain data and its source map from parser events, refusing what a spec must not hold."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.source_map = SourceMap()
        self.stack: list[_Collection] = []
        self.root: Any = _NOTHING
        self.documents = 0

    def build(self, events) -> None:
        for event in events:
            if isinstance(event, yaml.ScalarEvent):
                self._check_anchor_and_tag(event)
                path = self._path()
                value = self._scalar(event, path)
                self._place(value, event, path, text=event.value, plain=not event.style)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                self._check_anchor_and_tag(event)
                self._open(event)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                self._close()
            elif isinstance(event, yaml.AliasEvent):
                self._refuse_alias(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents == 2:
                    self._error(
                        event, "a spec file holds one YAML document; found a second one", codes.YAML_MULTIPLE_DOCUMENTS
                    )
                    raise _Stop

    def _refuse_alias(self, event: yaml.AliasEvent) -> None:
        merged = bool(self.stack) and self.stack[-1].key is _MERGE
        also = ", nor merge keys (<<): write the keys out" if merged else ": write the value out"
        self._error(event, f"YAML aliases (*{event.anchor}) are not allowed in a spec{also}", codes.YAML_ALIAS)
        if merged:
            self.stack[-1].key = _DROPPED  # the alias's error says all there is to say of the merge
        self._place(None, event, self._path(), text="*" + str(event.anchor))

    def _open(self, event) -> None:
        path = self._path()
        if path is not None:
            self.source_map.values[path] = _mark(event)
        if len(self.stack) == MAX_DEPTH:
            self._error(event, f"nesting deeper than {MAX_DEPTH} levels", codes.YAML_TOO_DEEP)
            raise _Stop
        value: dict | list = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.stack.append(_Collection(value, path, event))

    def _close(self) -> None:
        done = self.stack.pop()
        self._comma_list_ends(done)
        self._place(done.value, done.start, done.path, text=None)

    def _path(self) -> Path_ | None:
        """The path of the node that comes next; None inside a mapping key or a refused key's value."""
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if parent.path is None:
            return None
        if isinstance(parent.value, list):
            return parent.path + (len(parent.value),)
        if parent.key is _NOTHING or parent.key is _DROPPED or parent.key is _MERGE:
            return None  # a key, or the value of a refused key
        return parent.path + (parent.key,)

    def _place(self, value: Any, event, path: Path_ | None, text: str | None, plain: bool = False) -> None:
        """Put a finished node where it belongs: the root, a list's next item, a mapping's key or value."""
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1]
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif parent.key is _NOTHING:
            parent.key = self._key(parent, value, event, text, plain)
        else:
            if parent.key is _MERGE:
                self._error(
                    parent.merge,
                    "YAML merge keys (<<) are not allowed in a spec: write the keys out",
                    codes.YAML_MERGE_KEY,
                )
            elif parent.key is not _DROPPED:
                parent.value[parent.key] = value
            elif parent.comma is not None and value is not None:
                parent.comma = (*parent.comma[:3], True)
            parent.key = _NOTHING

    def _key(self, parent: _Collection, key: Any, event, text: str | None, plain: bool) -> Any:
        """A mapping key, or _DROPPED (with the reason reported) for one a spec must not hold."""
        if plain and text == "<<":
            parent.merge = event  # reported with its value, unless that is an alias (see _refuse_alias)
            return _MERGE
        if self._comma_list_goes_on(parent, key, event, text, plain):
            return _DROPPED
        self._comma_list_ends(parent)
        if not isinstance(key, str):
            shown = "a collection" if text is None else (text or "null")
            hint = " (YAML reads yes/no/on/off as booleans: quote it)" if isinstance(key, bool) else ""
            self._error(event, f"mapping keys must be text; got {shown}{hint}", codes.YAML_KEY)
            return _DROPPED
        if parent.path is None:
            return key
        if key in parent.value:
            first = self.source_map.keys[parent.path + (key,)]
            self._error(event, f"duplicate key '{key}' (first given on line {first[0]})", codes.YAML_DUPLICATE_KEY)
            return _DROPPED
        self.source_map.keys[parent.path + (key,)] = _mark(event)
        return key

    def _scalar(self, event: yaml.ScalarEvent, path: Path_ | None) -> Any:
        """A scalar's value (text, number, boolean or null), its position recorded at ``path``."""
        if path is not None:
            self.source_map.values[path] = _mark(event)
        value, problem = scalar_value(event.value, event.tag, event.implicit, event.style)
        if path is not None and value_is_text(value, "="):
            self._expression_start(event, path)
        if problem:
            self._error(event, problem, codes.YAML_VALUE)
        return value

    def _expression_start(self, event, path: Path_) -> None:
        start, end = event.start_mark, event.end_mark
        quotes = 2 if event.style in ("'", '"') else 0 if not event.style else None
        if quotes is not None and start.line == end.line and end.column - start.column == len(event.value) + quotes:
            self.source_map.expressions[path] = (start.line + 1, start.column + 1 + quotes // 2)

    def _check_anchor_and_tag(self, event) -> None:
        if event.anchor is not None:
            self._error(
                event,
                f"YAML anchors (&{event.anchor}) are not allowed in a spec: write the value out",
                codes.YAML_ANCHOR,
            )
        tag = event.tag
        if tag is not None and tag not in _PLAIN_TAGS and not (tag == "!" and isinstance(event, yaml.ScalarEvent)):
            shown = tag.replace("tag:yaml.org,2002:", "!!", 1)
            self._error(event, f"YAML tag {shown} is not allowed in a spec: only plain values are", codes.YAML_TAG)

    def _comma_list_goes_on(self, parent: _Collection, key: Any, event, text: str | None, plain: bool) -> bool:
        """Whether a key is a number continuing NNC's comma list after a number value (size: 1,8,8)."""
        if not (plain and text is not None and _is_number(key) and isinstance(parent.value, dict)):
            return False
        if parent.comma is not None:
            parent.comma[2].append(text)
            return True
        if not parent.value:
            return False
        last_key, last_value = list(parent.value.items())[-1]
        if not (isinstance(last_key, str) and _is_number(last_value)):
            return False
        parent.comma = (event, last_key, [str(last_value), text], False)
        return True

    def _comma_list_ends(self, parent: _Collection) -> None:
        if parent.comma is not None:
            event, key, numbers, valued = parent.comma
            parent.comma = None
            if valued:
                self._error(event, f"mapping keys must be text; got {numbers[1]}", codes.YAML_KEY)
                return
            self._error(
                event,
                f"'{key}: {','.join(numbers)}' is NNC's comma list, which YAML reads as separate keys here: "
                f"write '{key}: [{', '.join(numbers)}]'",
                codes.YAML_KEY,
            )

    def _error(self, event, message: str, code: str) -> None:
        self.diagnostics.append(_at(self.file, *_mark(event), message, code))


def value_is_text(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _mark(event) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


# Plain scalars most specs are made of, read without the resolver's general rules (same results).
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_PLAIN_FLOAT = re.compile(r"-?[0-9]{1,17}\.[0-9]{0,17}")
_resolver = yaml.resolver.Resolver()
MAX_DIGITS = 4300  # Python's own limit for reading a decimal integer (sys.get_int_max_str_digits)


def scalar_value(text: str, tag: str | None, implicit: tuple[bool, bool], style: str | None) -> tuple[Any, str]:
    """A scalar as PyYAML's safe loader reads it, and a problem ("" if none): the value of an
    explicit !!int, !!float, !!bool or !!null that is not one, or a number too long to read."""
    plain = not style
    if tag is None and plain:
        if _PLAIN_INT.fullmatch(text):
            return int(text), ""
        if _PLAIN_FLOAT.fullmatch(text):
            return float(text), ""
    explicit = tag not in (None, "!")
    if not explicit:
        tag = _resolver.resolve(yaml.ScalarNode, text, implicit)
    if tag in _CONSTRUCTED:
        return _construct(tag, text, explicit)
    if not explicit and plain and _YAML12_FLOAT.fullmatch(text):
        return float(text), ""  # 1e-5: a number in YAML 1.2, text in PyYAML's YAML 1.1
    return text, ""  # text, and dates or other implicit types kept as the text written


def _construct(tag: str, text: str, explicit: bool) -> tuple[Any, str]:
    kind = tag.rsplit(":", 1)[-1]
    digits = sum(c.isdigit() for c in text)
    if kind == "int" and digits > MAX_DIGITS:
        return None, f"an integer of {digits:,} digits is too long to read (at most {MAX_DIGITS:,})"
    try:
        return _CONSTRUCT[tag](_constructor, yaml.ScalarNode(tag, text)), ""
    except (ValueError, KeyError, IndexError, OverflowError, yaml.constructor.ConstructorError):
        expected = {"int": "an integer", "float": "a number", "bool": "true or false", "null": "null"}[kind]
        if not explicit:  # PyYAML's rules take 0b_ or 0x_ for integers, and then cannot read them
            return None, f"{show_value(text)} looks like {expected} to YAML, but is not one: quote it if it is text"
        return None, f"!!{kind} {show_value(text)} is not {expected}"


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
    return _at(file, line, column, f"YAML syntax: {problem}", codes.YAML_SYNTAX)


def _codepoint(character: str | int) -> str:
    return f"U+{character if isinstance(character, int) else ord(character):04X}"


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column : column + 1] if line < len(lines) else ""


def _at(file: str, line: int | None, column: int | None, message: str, code: str) -> Diagnostic:
    return Diagnostic(message, file, line, column, code=code)
