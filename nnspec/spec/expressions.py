"""Property expressions (NNC's ``Input[0]*2``) and the arguments they read, parsed here, never eval'd.

A property that takes a number, a list of numbers or a boolean may be written as text starting
with ``=``: ``out_maps: =Input[0]*2``, ``kernel_shape: "=Input[1],Input[2]"`` (NNC's comma form
gives a list), ``p: =DropP``; a list may hold expressions among its numbers
(``kernel_shape: [=Input[1], 3]``). An expression is numbers, argument names, ``Input[k]``
(dimension k of the layer's first input, the batch left out, k from 0) and ``Input`` (that
input's element count), with NNC's operators ``+ - * /``, parentheses and unary minus, and
nnspec's ``//`` (division rounded down) and ``%`` (its remainder), which NNC does not read.

Arithmetic is exact (Python's Fraction): ``/`` divides exactly, and a property that takes an
integer needs a whole result (``Input[0]/2`` of 7 is an error, not 3 or 3.5: write ``//`` to
round down); a number property gets the exact result rounded once to a float. NNC evaluates in
its closed converter, whose rule for ``/`` is not published; exactness is the rule that never
silently changes a size.

The text is read by the small recursive-descent parser below, bounded in length (MAX_LENGTH)
and nesting (MAX_DEPTH) and in the size of every intermediate number (MAX_MAGNITUDE), so a
hostile spec gets a located error, never Python's eval, a deep recursion or a huge number.
Expressions are evaluated during shape inference (nnspec.spec.graph.infer_shapes), once a
layer's input shape is known, with a Scope: the argument values and that shape. A caller passes
argument values in (a unit's per-call values later), so nothing here reads a global.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from typing import Any

import jsonschema

from ..core import codes
from ..core.diagnostics import WARNING, DiagnosticList, show_value
from ..core.printable import printable
from ..layers.catalog import INT_MAX, KINDS, Property, Shape, format_shape

MAX_LENGTH = 1000  # characters of one expression: NNC's are a line (NumAnchor*(4+1+NetNumClass))
MAX_DEPTH = 32  # nested parentheses, unary signs and Input[...] brackets
MAX_MAGNITUDE = Fraction(10) ** 308  # a float's range: every intermediate value stays inside it
MAX_EXPONENT_DIGITS = 3  # 1e999 at most in a literal, so reading one cannot make a huge number

# Property kinds an expression may give: numbers, lists of numbers, booleans (never text or a choice,
# so a version-1 spec's text that happens to start with '=' keeps its meaning).
EXPRESSION_KINDS = frozenset(
    {"int", "uint", "pint", "float", "bool", "shape", "range", "int_array", "uint_array", "float_array"}
)
_INTEGER_KINDS = frozenset({"int", "uint", "pint", "shape", "int_array", "uint_array"})
_SCALAR_KINDS = frozenset({"int", "uint", "pint", "float", "bool"})
INPUT = "Input"
_BOOLEANS = {"True": True, "False": False, "true": True, "false": False}
RESERVED = frozenset({INPUT, *_BOOLEANS})  # names an argument may not take

# NNC's Argument types (its layer definitions' property types). BooleanOrMacro is a Boolean whose
# default may be an NNC macro; File is a path, kept as text.
ARGUMENT_TYPES = (
    "Int",
    "PInt",
    "UInt",
    "Float",
    "Boolean",
    "BooleanOrMacro",
    "Text",
    "File",
    "IntArray",
    "PIntArray",
    "UIntArray",
    "FloatArray",
    "PIntArrays",
    "FloatArrays",
)


@dataclass(frozen=True)
class Unusable:
    """An argument expressions cannot read: text, a list of lists, or one whose value is invalid
    (``reported``: its error is reported at the argument, and not again where it is used)."""

    reason: str
    reported: bool = False


# A value an expression computes: an exact number, a boolean, or an array argument's numbers.
Value = Fraction | bool | tuple[Fraction, ...]


class ExpressionError(ValueError):
    """An expression that does not parse or evaluate; ``offset`` counts from the text after '='."""

    def __init__(self, message: str, offset: int, code: str = codes.EXPRESSION, name: str | None = None):
        super().__init__(message)
        self.offset = offset
        self.code = code
        self.name = name  # the unknown name, for a suggestion
        self.path: tuple = ()  # where in the spec the expression is written (set by who knows it)
        self.reported = False  # the problem is an argument's, reported where the argument is


# ---------------------------------------------------------------------------------------------- syntax


@dataclass(frozen=True)
class Node:
    start: int  # offsets into the expression text, for messages that quote or point at a part
    end: int


@dataclass(frozen=True)
class Number(Node):
    value: Fraction


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Dimension(Node):
    index: Node  # Input[index]


@dataclass(frozen=True)
class Unary(Node):
    operator: str
    operand: Node


@dataclass(frozen=True)
class Chain(Node):
    """``first`` then each (operator, operand) from left to right: kept flat, not as a left-deep
    tree, so a long sum is evaluated in a loop, not by recursion as deep as it is long."""

    first: Node
    rest: tuple[tuple[str, Node], ...]


_TOKEN = re.compile(
    r"(?P<space>[ \t]+)"  # not \s: no line breaks or Unicode spaces in an expression
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<operator>//|\*\*|[-+*/%()\[\],])"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, operator, end
    text: str
    offset: int


def _next_token(text: str, offset: int) -> _Token:
    """The token at ``offset`` (spaces skipped); read one at a time, so the first error in reading
    order is the one reported."""
    while True:
        if offset >= len(text):
            return _Token("end", "", len(text))
        match = _TOKEN.match(text, offset)
        if match is None:
            raise ExpressionError(_unexpected_character(text, offset), offset, codes.EXPRESSION_SYNTAX)
        if match.lastgroup != "space":
            return _Token(match.lastgroup or "", match.group(), offset)
        offset = match.end()


def _unexpected_character(text: str, offset: int) -> str:
    character = text[offset]
    if character == "." and offset > 0 and (text[offset - 1].isalnum() or text[offset - 1] == "_"):
        return "'.' after a name: expressions have no attributes, only numbers, names, Input[k] and + - * / // %"
    shown = repr(character) if character.isprintable() else f"U+{ord(character):04X}"
    return f"unexpected character {shown}: expressions hold numbers, names, Input[k], + - * / // % and ( )"


class _Parser:
    """expression list := sum (',' sum)* [','];  sum := product (('+' | '-') product)*;
    product := sign (('*' | '/' | '//' | '%') sign)*;  sign := ('-' | '+') sign | atom;
    atom := number | name | 'Input' '[' sum ']' | '(' sum ')'."""

    def __init__(self, text: str):
        self.text = text
        self.token = _next_token(text, 0)
        self.depth = 0

    def take(self) -> _Token:
        token = self.token
        if token.kind != "end":
            self.token = _next_token(self.text, token.offset + len(token.text))
        return token

    def elements(self) -> list[Node]:
        if self.token.kind == "end":
            raise self.error("an empty expression: write a value after '='")
        found = [self.sum()]
        while self.token.text == ",":
            self.take()
            if self.token.kind == "end":
                break  # NNC writes a trailing comma at times (0,20,20,)
            found.append(self.sum())
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.shown(self.token)}: an operator or ',' goes here")
        return found

    def sum(self) -> Node:
        return self.chain(("+", "-"), self.product)

    def product(self) -> Node:
        node = self.chain(("*", "/", "//", "%"), self.sign)
        if self.token.text == "**":
            raise self.error("'**' is not an operator of expressions (NNC has + - * /; nnspec adds // and %)")
        return node

    def chain(self, operators: tuple[str, ...], operand) -> Node:
        first = operand()
        rest = []
        while self.token.text in operators:
            operator = self.take().text
            rest.append((operator, operand()))
        return Chain(first.start, rest[-1][1].end, first, tuple(rest)) if rest else first

    def sign(self) -> Node:
        if self.token.text in ("-", "+"):
            token = self.take()
            operand = self.deeper(self.sign)
            return Unary(token.offset, operand.end, token.text, operand)
        return self.atom()

    def deeper(self, parse):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression nests deeper than {MAX_DEPTH} levels")
        node = parse()
        self.depth -= 1
        return node

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(token.offset, token.offset + len(token.text), _literal(token))
        if token.kind == "name":
            return self.after_name(token)
        if token.text == "(":
            inner = self.deeper(self.sum)
            closing = self.expect(")", token)
            return replace(inner, start=token.offset, end=closing.offset + 1)  # quoted with its parentheses
        self.token = token  # not taken: the error points at it
        if token.kind == "end":
            raise self.error("the expression ends where a value should come")
        raise self.error(f"unexpected {self.shown(token)}: a number, a name, Input[k] or '(' goes here")

    def after_name(self, token: _Token) -> Node:
        end = token.offset + len(token.text)
        if self.token.text == "[":
            if token.text != INPUT:
                raise self.error(f"only {INPUT} takes an index ({INPUT}[k]); '{token.text}' is not indexable")
            bracket = self.take()
            index = self.deeper(self.sum)
            closing = self.expect("]", bracket)
            return Dimension(token.offset, closing.offset + 1, index)
        if self.token.text == "(":
            raise self.error(f"'{printable(token.text)}(': expressions have no function calls")
        return Name(token.offset, end, token.text)

    def expect(self, closing: str, opening: _Token) -> _Token:
        if self.token.text != closing:
            raise ExpressionError(
                f"'{opening.text}' at {opening.offset + 1} is not closed: expected '{closing}', "
                f"got {self.shown(self.token)}",
                self.token.offset,
                codes.EXPRESSION_SYNTAX,
            )
        return self.take()

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(message, self.token.offset, codes.EXPRESSION_SYNTAX)

    @staticmethod
    def shown(token: _Token) -> str:
        return "the end" if token.kind == "end" else f"'{printable(token.text)}'"


def _literal(token: _Token) -> Fraction:
    exponent = re.search(r"[eE][-+]?([0-9]+)", token.text)
    if exponent and len(exponent.group(1).lstrip("0")) > MAX_EXPONENT_DIGITS:
        raise ExpressionError(f"the number {_cut(token.text)} is too large", token.offset, codes.EXPRESSION_SYNTAX)
    value = Fraction(token.text)
    if abs(value) > MAX_MAGNITUDE:
        raise ExpressionError(f"the number {_cut(token.text)} is too large", token.offset, codes.EXPRESSION_SYNTAX)
    return value


def _cut(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."


def parse(text: str) -> list[Node]:
    """The elements of an expression (the text after '='), or ExpressionError with the offset."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"an expression may hold {MAX_LENGTH} characters; this one holds {len(text):,}",
            0,
            codes.EXPRESSION_SYNTAX,
        )
    return _Parser(text).elements()


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


# ------------------------------------------------------------------------------------------ evaluation


@dataclass(frozen=True)
class Scope:
    """What an expression may read: argument values by name, and the layer's first input shape
    (batch excluded; None for a layer without inputs). A caller builds one per evaluation."""

    arguments: Mapping[str, Value | Unusable]
    input_shape: Shape | None = None
    no_input: str = "this layer has none"  # why Input cannot be read, when input_shape is None


def evaluate(nodes: Sequence[Node], scope: Scope, text: str) -> list[Value]:
    """The values of an expression's elements (an array argument's numbers spliced in, as NNC
    substitutes its text); ``text`` is the expression's, for messages."""
    values: list[Value] = []
    for node in nodes:
        value = _value(node, scope, text)
        values.extend(value if isinstance(value, tuple) else [value])
    return values


def _value(node: Node, scope: Scope, text: str) -> Value:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        return _name(node, scope)
    if isinstance(node, Dimension):
        return _dimension(node, scope, text)
    if isinstance(node, Unary):
        operand = _number(node.operand, scope, text)
        return -operand if node.operator == "-" else operand
    assert isinstance(node, Chain)
    result = _number(node.first, scope, text)
    for operator, part in node.rest:
        right = _number(part, scope, text)
        if right == 0 and operator in ("/", "//", "%"):
            raise ExpressionError(f"division by zero: {_quoted(part, text)} is 0 here", part.start)
        result = _apply(operator, result, right)
        if abs(result) > MAX_MAGNITUDE:
            raise ExpressionError(f"'{text[node.start : part.end]}' is too large (beyond 1e308)", node.start)
    return result


def _apply(operator: str, left: Fraction, right: Fraction) -> Fraction:
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if operator == "/":
        return left / right
    if operator == "//":
        return Fraction(math.floor(left / right))
    return left - right * math.floor(left / right)  # %, with the sign of the divisor, as // rounds down


def _number(node: Node, scope: Scope, text: str) -> Fraction:
    value = _value(node, scope, text)
    if isinstance(value, bool):
        raise ExpressionError(f"{_quoted(node, text)} is a boolean: arithmetic takes numbers", node.start)
    if isinstance(value, tuple):
        raise ExpressionError(
            f"{_quoted(node, text)} is a list of {len(value)} numbers: arithmetic takes one number "
            "(an array argument stands alone, as an element of the list)",
            node.start,
        )
    return value


def _name(node: Name, scope: Scope) -> Value:
    if node.name in _BOOLEANS:
        return _BOOLEANS[node.name]
    if node.name == INPUT:
        return Fraction(math.prod(_input_shape(node, scope)))
    if node.name in scope.arguments:
        value = scope.arguments[node.name]
        if isinstance(value, Unusable):
            error = ExpressionError(f"argument '{node.name}' is {value.reason}", node.start)
            error.reported = value.reported
            raise error
        return value
    raise ExpressionError(
        f"unknown name '{printable(node.name)}' (not an argument, nor {INPUT} or {INPUT}[k])",
        node.start,
        codes.UNKNOWN_ARGUMENT,
        node.name,
    )


def _dimension(node: Dimension, scope: Scope, text: str) -> Fraction:
    shape = _input_shape(node, scope)
    index = _number(node.index, scope, text)
    if index.denominator != 1:
        raise ExpressionError(f"{INPUT}[{_source(node.index, text)}]: the index is {index}, not an integer", node.start)
    if not 0 <= index < len(shape):
        axes = f"0 to {len(shape) - 1}" if len(shape) > 1 else "0"
        counted = " (k counts from 0; negative k is not NNC's)" if index < 0 else ""
        raise ExpressionError(
            f"{INPUT}[{index}] is out of range: the input has shape {format_shape(shape)}, dimensions {axes}{counted}",
            node.start,
        )
    return Fraction(shape[int(index)])


def _input_shape(node: Node, scope: Scope) -> Shape:
    if scope.input_shape is None:
        raise ExpressionError(f"{INPUT} is the layer's input, and {scope.no_input}", node.start)
    return scope.input_shape


def _source(node: Node, text: str) -> str:
    return text[node.start : node.end]


def _quoted(node: Node, text: str) -> str:
    return f"'{_source(node, text)}'"


# ------------------------------------------------------------------------------- values for properties


@dataclass(frozen=True)
class Written:
    """One expression as written: its text after '=', its parsed elements, its path in the spec."""

    text: str
    nodes: tuple[Node, ...]
    path: tuple


@dataclass(frozen=True)
class PropertyExpression:
    """A property written with expressions: ``written`` as the spec has it (text, or a list of
    numbers and expressions), and its parts, each a Written or a literal element of the list."""

    prop: str
    path: tuple
    written: Any
    parts: tuple[Any, ...]


def parse_property(prop: Property, value: Any, path: tuple) -> PropertyExpression | None:
    """The expression a property's written value holds (None: a plain literal); ExpressionError
    carries the path of the part that does not parse (as ``exc.path``)."""
    if not written_as_expression(prop, value):
        return None
    if isinstance(value, str):
        return PropertyExpression(prop.name, path, value, (_written(value, path),))
    parts = tuple(_written(v, path + (i,)) if is_expression(v) else v for i, v in enumerate(value))
    return PropertyExpression(prop.name, path, value, parts)


def _written(value: str, path: tuple) -> Written:
    try:
        return Written(value[1:], tuple(parse(value[1:])), path)
    except ExpressionError as exc:
        exc.path = path
        raise


def without_expressions(layer: dict[str, Any], properties: Sequence[Property]) -> dict[str, Any]:
    """A layer's data without the properties written as expressions: what the literal schema checks."""
    kept = dict(layer)
    for prop in properties:
        if prop.name in kept and written_as_expression(prop, kept[prop.name]):
            del kept[prop.name]
    return kept


def written_as_expression(prop: Property, value: Any) -> bool:
    """Whether ``value`` is written as an expression for ``prop`` (without parsing it)."""
    if prop.kind not in EXPRESSION_KINDS:
        return False
    if is_expression(value):
        return True
    return isinstance(value, list) and prop.kind not in _SCALAR_KINDS and any(is_expression(v) for v in value)


def property_value(expression: PropertyExpression, prop: Property, scope: Scope) -> Any:
    """The value the expression gives ``prop``, in the form a literal takes (a list for list kinds);
    ExpressionError (with ``path``) where an expression does not evaluate or gives the wrong kind."""
    values: list[Any] = []
    for part in expression.parts:
        if not isinstance(part, Written):
            values.append(part)
            continue
        try:
            values.extend(_plain(value, prop) for value in evaluate(part.nodes, scope, part.text))
        except ExpressionError as exc:
            exc.path = part.path
            raise
    if prop.kind in _SCALAR_KINDS:
        if len(values) != 1:
            error = ExpressionError(f"gives {len(values)} values, and '{prop.name}' takes one", 0, codes.INVALID_VALUE)
            error.path = expression.path
            raise error
        return values[0]
    return values


def _plain(value: Value, prop: Property) -> Any:
    """An evaluated element as a literal of ``prop``'s kind would be written."""
    if isinstance(value, tuple):  # evaluate() splices arrays: never here
        raise AssertionError("an array value reached a property element")
    if isinstance(value, bool) != (prop.kind == "bool"):
        takes = "true or false" if prop.kind == "bool" else "numbers"
        raise ExpressionError(f"gives {_shown(value)}, and '{prop.name}' takes {takes}", 0, codes.INVALID_VALUE)
    if isinstance(value, bool):
        return value
    if prop.kind in _INTEGER_KINDS:
        if value.denominator != 1:
            raise ExpressionError(
                f"gives {value} = {float(value):g}, not a whole number, and '{prop.name}' takes integers "
                "(// divides rounding down)",
                0,
                codes.INVALID_VALUE,
            )
        return int(value)
    return int(value) if value.denominator == 1 and abs(value) < 2**53 else float(value)


def _shown(value: Fraction | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else _number_text(value)


def _number_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def shown_value(value: Any) -> str:
    """An evaluated property value as YAML writes it: 32, 0.5, [28, 28], true."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown_value(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)


# ------------------------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class Argument:
    """One of NNC's Argument layers: a named, typed value expressions read."""

    name: str
    type: str
    value: Any
    valid: bool = True  # False: its value does not fit its type (reported)


def argument_problem(kind: str, value: Any) -> str:
    """What is wrong with ``value`` for an argument of NNC type ``kind`` ("" when nothing is)."""
    if kind in ("Boolean", "BooleanOrMacro"):
        return "" if isinstance(value, bool) else "must be true or false"
    if kind in ("Text", "File"):
        return "" if isinstance(value, str) else "must be text"
    if kind.endswith("Arrays"):
        element = kind[: -len("Arrays")]
        ok = isinstance(value, list) and all(
            isinstance(row, list) and all(_scalar_fits(element, item) for item in row) for row in value
        )
        return "" if ok else f"must be a list of lists of {_SCALAR_WORDS[element]}"
    if kind.endswith("Array"):
        element = kind[: -len("Array")]
        items = value if isinstance(value, list) else [value]
        ok = all(_scalar_fits(element, item) for item in items)
        return "" if ok else f"must be {_SCALAR_WORDS[element]} or a list of them"
    return "" if _scalar_fits(kind, value) else f"must be {_SCALAR_WORDS[kind]}"


def used_as_written(kind: str, value: Any) -> bool:
    """Whether a ``value`` that does not fit its integer type ``kind`` is still a number (or a list of
    them) that NNC would use: NNC does not check an argument's type (its Type picks the editor's input
    field only), and puts the value in place of the argument's name, so an Int, PInt or UInt argument
    of 0.6 computes with 0.6 (synthetic_image_object_detection's ScoreThreshold). A warning, not an error."""
    element = kind[: -len("Array")] if kind.endswith("Array") else kind
    if element not in ("Int", "PInt", "UInt"):
        return False
    items = value if isinstance(value, list) and kind.endswith("Array") else [value]
    return all(_scalar_fits("Float", item) for item in items)


USED_AS_WRITTEN = "NNC does not check an argument's type, so nnspec uses the value as written, as NNC does"


_SCALAR_WORDS = {
    "Int": "an integer",
    "PInt": "an integer >= 1",
    "UInt": "an integer >= 0",
    "Float": "a finite number",
}


def _scalar_fits(kind: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if kind == "Float":
        return math.isfinite(value)
    if isinstance(value, float) and not value.is_integer():
        return False
    low = {"Int": -INT_MAX, "PInt": 1, "UInt": 0}[kind]
    return low <= value <= INT_MAX


def argument_value(argument: Argument) -> Value | Unusable:
    """An argument's value as expressions compute with it; Unusable for text, lists of lists and
    invalid values, which expressions do not read."""
    kind, value = argument.type, argument.value
    if not argument.valid:
        return Unusable("invalid", reported=True)
    if kind in ("Boolean", "BooleanOrMacro"):
        return bool(value)
    if kind == "Text" and (number := number_in_text(value)) is not None:
        return number  # NNC puts an argument's text in place of its name before it evaluates (nin's ConvMaps)
    if kind in ("Text", "File"):
        return Unusable(f"of type {kind}: expressions compute with numbers and booleans (its text is no number)")
    if kind.endswith("Arrays"):
        return Unusable(f"of type {kind} (a list of lists): expressions compute with numbers and lists of them")
    if kind.endswith("Array"):
        return tuple(Fraction(item) for item in (value if isinstance(value, list) else [value]))
    return Fraction(value)


# A number as a Text argument may hold it: digits bounded as a literal's are (MAX_EXPONENT_DIGITS).
_EXPONENT = rf"([eE][-+]?\d{{1,{MAX_EXPONENT_DIGITS}}})?"
_TEXT_NUMBER = re.compile(r"\s*[-+]?(\d{1,308}(\.\d{0,308})?|\.\d{1,308})" + _EXPONENT + r"\s*")


def number_in_text(value: Any) -> Fraction | None:
    """The number a Text argument's text spells (``96``, `` 0.5 ``, ``1e-3``), as NNC reads it where the
    argument stands in arithmetic; None for any other text."""
    if not isinstance(value, str) or not _TEXT_NUMBER.fullmatch(value):
        return None
    number = Fraction(value.strip())
    return number if abs(number) <= MAX_MAGNITUDE else None


def argument_values(arguments: Mapping[str, Argument]) -> dict[str, Value | Unusable]:
    """The values expressions read, by argument name: what a Scope takes."""
    return {name: argument_value(argument) for name, argument in arguments.items()}


def kind_problem(prop: Property, value: Any) -> str:
    """What a literal check of ``prop`` says of ``value`` ("" when it passes): the kind's JSON Schema."""
    if _kind_validator(prop.kind).is_valid(value):
        if prop.kind == "range" and value[0] > value[1]:
            return "must be [low, high] with low <= high"
        return ""
    return f"must be {prop.expects}"


@cache
def _kind_validator(kind: str) -> Any:
    return jsonschema.Draft7Validator(KINDS[kind][0])


def read_arguments(data: Mapping[str, Any], diagnostics: DiagnosticList, at: tuple = ()) -> dict[str, Argument]:
    """The spec's ``arguments:`` (or a named network's, written at ``at``), each value checked against
    its type (a located error otherwise); the schema has checked their form, so what is not a
    {type, value} mapping is skipped."""
    given = data.get("arguments")
    arguments: dict[str, Argument] = {}
    for name, entry in (given if isinstance(given, dict) else {}).items():
        if not (isinstance(entry, dict) and entry.get("type") in ARGUMENT_TYPES and "value" in entry):
            continue
        path = at + ("arguments", name)
        if name in RESERVED:
            diagnostics.add(
                f"argument '{name}' takes a name expressions give another meaning ({', '.join(sorted(RESERVED))}): "
                "rename it",
                path,
                code=codes.INVALID_VALUE,
                at_key=True,
            )
            continue
        problem = argument_problem(entry["type"], entry["value"])
        if problem and used_as_written(entry["type"], entry["value"]):
            diagnostics.add(
                f"argument '{name}' is of type {entry['type']}: its value {problem}; got "
                f"{show_value(entry['value'])}: {USED_AS_WRITTEN}",
                path + ("value",),
                code=codes.ARGUMENT_TYPE,
                severity=WARNING,
            )
            problem = ""
        if problem:
            diagnostics.add(
                f"argument '{name}' is of type {entry['type']}: its value {problem}; got {show_value(entry['value'])}",
                path + ("value",),
                code=codes.INVALID_VALUE,
            )
        arguments[name] = Argument(name, entry["type"], entry["value"], valid=not problem)
    return arguments
