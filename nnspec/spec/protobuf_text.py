"""Protocol buffers' text format, read into located fields: what nnabla's .nntxt files are written in.

nnabla (``nnabla.utils.save``) and NNC's exports write an ``NNablaProtoBuf`` message as protobuf
text: ``name: value`` fields and ``name { ... }`` (or ``name: { ... }``) blocks, repeated fields
written once per value, strings in double or single quotes with C escapes (``"y\\'"``), enum
values and booleans as bare words (``True``, ``true``). This reader knows no schema: it gives every
field as written, with its line and column, and the mapping (nnspec.spec.nntxt) decides what each
means. It takes no dependency on protobuf, and it is bounded: nesting depth, field count and
string length are limited, so no file can make it recurse deeply or build an unbounded tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NoReturn

from ..core import codes
from ..core.diagnostics import Diagnostic, SpecError
from ..core.printable import printable

MAX_DEPTH = 32  # NNablaProtoBuf nests 4 deep (network > function > param > shape)
MAX_FIELDS = 1_000_000  # about 10 bytes a field at least: 10 MB of text
MAX_STRING = 65_536  # characters of one string value

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Text:
    """A quoted string value (kept apart from bare words such as enum names and booleans)."""

    value: str


@dataclass
class Field:
    name: str
    value: Message | Text | int | float | str  # a bare word (enum value, True, inf) stays a str
    line: int
    column: int
    written: str = ""  # a number or bare word as the file spells it (1e309, not inf)

    def text(self) -> str:
        """The value as text: a quoted string's contents, a bare word or a number as written."""
        if isinstance(self.value, Text):
            return self.value.value
        return self.written or str(self.value)


@dataclass
class Message:
    fields: list[Field] = field(default_factory=list)
    line: int = 1
    column: int = 1

    def all(self, name: str) -> list[Field]:
        return [item for item in self.fields if item.name == name]

    def first(self, name: str) -> Field | None:
        return next((item for item in self.fields if item.name == name), None)

    def blocks(self, name: str) -> list[Message]:
        return [item.value for item in self.fields if item.name == name and isinstance(item.value, Message)]


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n\f\v]+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[fF]?|inf(?:inity)?|nan)(?![A-Za-z0-9_]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[{}:;,<>\[\]])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.DOTALL)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int
    column: int


class _Parser:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.tokens = self._tokens(text)
        self.current: _Token | None = next(self.tokens, None)
        self.count = 0

    def _tokens(self, text: str) -> Iterator[_Token]:
        position, line, line_start = 0, 1, 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            column = position - line_start + 1
            if match is None:
                self._fail(line, column, _unexpected_character(text, position))
            kind = match.lastgroup or ""
            if kind != "space":
                yield _Token(kind, match.group(), line, column)
            newlines = match.group().count("\n")
            if newlines:
                line += newlines
                line_start = match.start() + match.group().rfind("\n") + 1
            position = match.end()

    def _fail(self, line: int, column: int, message: str) -> NoReturn:
        raise SpecError([Diagnostic(f"protobuf text: {message}", self.file, line, column, code=codes.NNTXT_SYNTAX)])

    def _advance(self) -> _Token:
        token = self.current
        assert token is not None
        self.current = next(self.tokens, None)
        return token

    def message(self, depth: int, opened: _Token | None) -> Message:
        if depth > MAX_DEPTH:
            assert opened is not None
            self._fail(opened.line, opened.column, f"blocks nested more than {MAX_DEPTH} deep")
        line, column = (opened.line, opened.column) if opened else (1, 1)
        result = Message(line=line, column=column)
        while True:
            token = self.current
            if token is None:
                if opened is not None:
                    self._fail(opened.line, opened.column, "this '{' is never closed (the file ends first)")
                return result
            if token.kind == "punct" and token.text == "}":
                if opened is None:
                    self._fail(token.line, token.column, "'}' closes no block")
                self._advance()
                return result
            if token.kind == "punct" and token.text in ";,":
                self._advance()  # optional separators between fields
                continue
            result.fields.append(self.field(depth))

    def field(self, depth: int) -> Field:
        name = self._advance()
        if name.kind != "word":
            self._fail(name.line, name.column, f"expected a field name, found {printable(name.text)!s}")
        self.count += 1
        if self.count > MAX_FIELDS:
            self._fail(name.line, name.column, f"more than {MAX_FIELDS:,} fields")
        colon = self.current is not None and self.current.kind == "punct" and self.current.text == ":"
        if colon:
            self._advance()
        token = self.current
        if token is None:
            self._fail(name.line, name.column, f"field '{printable(name.text)}' has no value (the file ends)")
        if token.kind == "punct" and token.text in "{<":
            self._advance()
            block = self.message(depth + 1, token)
            if token.text == "<":
                self._fail(token.line, token.column, "'<' blocks are not read: write '{ ... }'")
            return Field(name.text, block, name.line, name.column)
        if not colon:
            self._fail(token.line, token.column, f"expected ':' or '{{' after field '{printable(name.text)}'")
        written = token.text
        return Field(name.text, self.scalar(), name.line, name.column, written)

    def scalar(self) -> Text | int | float | str:
        token = self._advance()
        if token.kind == "string":
            parts = [self._unquote(token)]
            while self.current is not None and self.current.kind == "string":  # "a" "b" is "ab"
                parts.append(self._unquote(self._advance()))
            return Text("".join(parts))
        if token.kind == "number":
            return _number(token.text)
        if token.kind == "word":
            return token.text
        self._fail(token.line, token.column, f"expected a value, found {printable(token.text)}")

    def _unquote(self, token: _Token) -> str:
        body = token.text[1:-1]
        if len(body) > MAX_STRING:
            self._fail(token.line, token.column, f"a string of {len(body):,} characters (at most {MAX_STRING:,})")

        def escape(match: re.Match) -> str:
            code = match.group(1)
            if code in _ESCAPES:
                return _ESCAPES[code]
            if code[0] == "x" and len(code) > 1:
                return chr(int(code[1:], 16))
            if code[0] in "01234567":
                return chr(int(code, 8))
            column = token.column + 1 + match.start()
            self._fail(token.line, column, f"unknown escape {printable(match.group())} in a string")

        return _ESCAPE.sub(escape, body)


def _number(text: str) -> int | float:
    plain = text.rstrip("fF") if not text.lower().endswith("inf") else text
    try:
        return int(plain)
    except ValueError:
        return float(plain)


def _unexpected_character(text: str, position: int) -> str:
    character = text[position]
    if character in "\"'":
        return "this string is not closed on its line"
    return f"unexpected character {printable(character)}"


def parse(text: str, file: str = "<nntxt>") -> Message:
    """The fields of a protobuf text message, each located; a SpecError at the first syntax error."""
    return _Parser(text, file).message(0, None)


# --- writing ------------------------------------------------------------------------------------
# A message to write is a list of (field name, value) pairs, a repeated field once per value, as the
# text holds them: a nested list is a block, a Word a bare word (an enum value), a str a quoted string.


class Word(str):
    """A value written bare (an enum value such as ``NNABLA``), not as a quoted string."""


Written = list[tuple[str, "WrittenValue"]]
WrittenValue = Written | Word | str | bool | int | float


def emit(message: Written) -> str:
    """``message`` as protobuf text, as nnabla's writer lays it out (two spaces a level, a block's
    fields each on a line of their own); ``parse`` reads it back to the same fields."""
    lines: list[str] = []
    _emit(message, 0, lines)
    return "".join(line + "\n" for line in lines)


def _emit(message: Written, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    for name, value in message:
        if isinstance(value, list):
            lines.append(f"{indent}{name} {{")
            _emit(value, depth + 1, lines)
            lines.append(f"{indent}}}")
        else:
            lines.append(f"{indent}{name}: {scalar_text(value)}")


def scalar_text(value: Word | str | bool | int | float) -> str:
    """One value as protobuf text: true/false, an integer, a float that reads back to the same double
    (``inf``, ``-inf``, ``nan`` bare), a bare word, or a double-quoted string with C escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        return repr(value)  # the shortest text of the same double: 1e-05, 0.9, inf, -inf
    if isinstance(value, Word):
        return str(value)
    return '"' + "".join(_ESCAPED.get(character, _escaped(character)) for character in value) + '"'


_ESCAPED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", '"': '\\"', "'": "\\'"}


def _escaped(character: str) -> str:
    """A character as written inside a quoted string: itself, or a control character in octal."""
    return character if character.isprintable() else "".join(f"\\{byte:03o}" for byte in character.encode())
