"""Arguments and property expressions (=Input[0]*2): the parser, its bounds against hostile text,
evaluation, the located errors, the resolved spec, the JSON Schema, and runs that are bit-identical
to the same network with the values written out."""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stderr, redirect_stdout
from fractions import Fraction
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core import codes
from nnspec.core.diagnostics import SpecError
from nnspec.spec.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    Scope,
    argument_problem,
    evaluate,
    parse,
)
from nnspec.spec.resolved import resolved_text
from nnspec.spec.schema import spec_schema

from .conftest import SPECS


def value_of(text: str, arguments=None, shape=(3, 28, 28)):
    values = evaluate(parse(text), Scope(arguments or {}, shape), text)
    return values[0] if len(values) == 1 else values


# ------------------------------------------------------------------------------------------ arithmetic


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2+3*4", 2 + 3 * 4),
        ("(2+3)*4", (2 + 3) * 4),
        ("2*3-4*5", 2 * 3 - 4 * 5),
        ("-2*3", -6),
        ("--2", 2),
        ("10-4-3", 10 - 4 - 3),  # left to right
        ("48/4/2", 6),  # left to right: (48/4)/2
        ("7//2", 7 // 2),
        ("-7//2", -7 // 2),  # rounds down, as Python's //
        ("7%3", 7 % 3),
        ("-7%3", -7 % 3),
        ("1/3*3", 1),  # exact: no 0.9999999999999999
        ("0.1*3", Fraction(3, 10)),
        ("1e2+1", 101),
        (" 4 * ( 1 + 2 ) ", 12),
    ],
)
def test_arithmetic_follows_the_usual_precedence_exactly(text, expected):
    assert value_of(text) == expected


def test_input_reads_the_first_input_shape_without_the_batch():
    assert value_of("Input[0]") == 3
    assert value_of("Input[1]*Input[2]") == 28 * 28
    assert value_of("Input") == 3 * 28 * 28  # the element count
    assert value_of("Input[1],Input[2]") == [28, 28]  # NNC's comma form: a list
    assert value_of("Input[Input[0]-2]") == 28  # an index may be an expression
    assert value_of("0,20,20,") == [0, 20, 20]  # NNC's trailing comma


def test_arguments_come_from_the_scope_the_caller_passes():
    """A unit calls a network with its own values: the same parsed text gives each caller's value."""
    nodes = parse("NumAnchor*(4+1+NetNumClass)")
    for anchors, classes in ((5, 20), (3, 80)):
        scope = Scope({"NumAnchor": Fraction(anchors), "NetNumClass": Fraction(classes)})
        assert evaluate(nodes, scope, "") == [anchors * (4 + 1 + classes)]


def test_array_arguments_splice_into_the_list():
    arguments = {"Kernel": (Fraction(3), Fraction(5))}
    assert value_of("Kernel", arguments) == [3, 5]
    assert value_of("1,Kernel,7", arguments) == [1, 3, 5, 7]


@pytest.mark.parametrize(
    "text, arguments, shape, message",
    [
        ("n/0", {"n": Fraction(4)}, (3,), "division by zero"),
        ("n//(Input[0]-3)", {"n": Fraction(4)}, (3,), "division by zero"),
        ("Input[3]", {}, (3, 28, 28), "out of range"),
        ("Input[-1]", {}, (3, 28, 28), "negative k is not NNC's"),
        ("Input[1/2]", {}, (3, 28, 28), "not an integer"),
        ("Input", {}, None, "this layer has none"),
        ("NumAnchr", {"NumAnchor": Fraction(1)}, (3,), "unknown name 'NumAnchr'"),
        ("Flag*2", {"Flag": True}, (3,), "is a boolean"),
        ("Kernel*2", {"Kernel": (Fraction(1), Fraction(2))}, (3,), "is a list of 2 numbers"),
        ("1e300*1e300", {}, (3,), "too large"),
    ],
)
def test_what_does_not_evaluate_is_an_expression_error_at_its_part(text, arguments, shape, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(parse(text), Scope(arguments, shape), text)
    assert message in str(caught.value)
    assert 0 <= caught.value.offset < len(text)


# ------------------------------------------------------------------------------------------ hostile text


@pytest.mark.parametrize(
    "text, message, offset",
    [
        ("", "empty expression", 0),
        ("4*(2+", "ends where a value should come", 5),
        ("(1", "is not closed", 2),
        ("1 2", "unexpected '2'", 2),
        ("__import__('os')", "no function calls", 10),
        ("__import__('os').system('ls')", "no function calls", 10),
        ("Input.__class__", "no attributes", 5),
        ("().__class__.__bases__", "unexpected character '.'", 2),
        ("x[0]", "only Input takes an index", 1),
        ("2**10", "'**' is not an operator", 1),
        ("9**9**9", "'**' is not an operator", 1),
        ("lambda: 1", "unexpected character ':'", 6),
        ("1e99999", "too large", 0),
        ("'a'", "unexpected character", 0),
        ("1;2", "unexpected character ';'", 1),
        ("\x1b[2J", "U+001B", 0),
    ],
)
def test_the_parser_refuses_what_is_not_an_expression_with_its_offset(text, message, offset):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert caught.value.offset == offset
    assert caught.value.code == codes.EXPRESSION_SYNTAX


def test_the_parser_bounds_length_and_nesting():
    with pytest.raises(ExpressionError, match=f"may hold {MAX_LENGTH} characters"):
        parse("1+" * 5000 + "1")  # 10,001 characters
    with pytest.raises(ExpressionError, match="nests deeper"):
        parse("(" * 400 + "1" + ")" * 400)
    with pytest.raises(ExpressionError, match="nests deeper"):
        parse("-" * 100 + "1")
    assert value_of("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == 1  # up to the bound, fine
    # A long flat sum evaluates in a loop: no recursion as deep as the expression is long.
    assert value_of("+".join(["1"] * (MAX_LENGTH // 2))) == MAX_LENGTH // 2


def test_random_text_gives_expression_errors_and_nothing_else():
    """Fuzz: any text of expression characters either evaluates or raises ExpressionError."""
    alphabet = "0123456789.eE+-*/%()[],_ InputNnx"
    generator = random.Random(19)
    for _ in range(3000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(1, 40)))
        try:
            evaluate(parse(text), Scope({"n": Fraction(3)}, (3, 4)), text)
        except ExpressionError as exc:
            assert 0 <= exc.offset <= len(text)


def run_cli(*arguments: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(arguments))
    return code, out.getvalue() + err.getvalue()


HOSTILE = [
    ("(" * 400 + "1" + ")" * 400, "nests deeper"),
    ("(" * 5000 + "1" + ")" * 5000, "10,001"),
    ("1+" * 5000 + "1", "10,001"),
    ("__import__('os').system('touch /tmp/nnspec-pwned')", "no function calls"),
    ("Input.__class__.__mro__", "no attributes"),
    ("9**9**9**9", "'**' is not an operator"),
]


@pytest.mark.parametrize("expression, message", HOSTILE, ids=range(len(HOSTILE)))
def test_validate_refuses_hostile_expressions_located_and_without_a_traceback(tmp_path, expression, message):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        f"  - name: fc\n    type: Affine\n    out_shape: {json.dumps('=' + expression)}\n"
    )
    code, output = run_cli("validate", str(spec))
    assert code == 1
    assert "Traceback" not in output
    assert message in output
    assert f"{spec}:6:" in output and "[expression-syntax]" in output
    assert len(output.splitlines()) == 1  # one line, however long the expression
    assert len(output) < 400
    assert not Path("/tmp/nnspec-pwned").exists()


# ------------------------------------------------------------------------------------------ in specs

SPEC = """nnspec: 1
seed: 5
arguments:
  Widen: {{type: PInt, value: 2}}
  Scale: {{type: Float, value: 0.5}}
layers:
  - {{name: x, type: Input, size: [2, 6, 6], generator: Uniform}}
  - {{name: conv, type: Convolution, out_maps: {out_maps}, kernel_shape: {kernel}, border_mode: same}}
  - {{name: pool, type: MaxPooling, kernel_shape: {pool}}}
  - {{name: scale, type: MulScalar, value: {val}}}
  - {{name: fc, type: Affine, out_shape: {out_shape}}}
"""
WITH_EXPRESSIONS = SPEC.format(
    out_maps='"=Input[0]*Widen"',
    kernel="['=Input[1]/2', 3]",
    pool='"=Input[1]/3,Input[2]/3"',
    val="=Scale/4",
    out_shape='"=Input//Input[0]+1"',
)
WRITTEN_OUT = SPEC.format(out_maps="4", kernel="[3, 3]", pool="[2, 2]", val="0.125", out_shape="10")


def test_a_spec_with_expressions_runs_bit_identically_to_its_values_written_out():
    with_expressions = nnspec.loads(WITH_EXPRESSIONS, "expressions.yaml")
    written = nnspec.loads(WRITTEN_OUT, "written.yaml")
    for name, layer in written.layers.items():
        assert with_expressions.layers[name].props == layer.props, name
        assert with_expressions.layers[name].shape == layer.shape, name
    first = nnspec.run(with_expressions, samples=20)
    second = nnspec.run(written, samples=20)
    assert first.outputs.keys() == second.outputs.keys() == {"fc"}
    assert np.array_equal(first.outputs["fc"], second.outputs["fc"])
    assert first.outputs["fc"].shape == (20, 10)
    for name in written.order:
        assert same(vars(first.stats[name].output), vars(second.stats[name].output)), name
        assert same(first.stats[name].measures, second.stats[name].measures), name
    assert [(f.check, f.layer) for f in first.findings] == [(f.check, f.layer) for f in second.findings]


def same(a, b) -> bool:
    """Equal, arrays included, bit for bit."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    return a == b or (a != a and b != b)


def test_an_expressions_value_is_checked_as_a_literal_is():
    literal = SPEC.format(out_maps="0", kernel="[3, 3]", pool="[2, 2]", val="1", out_shape="10")
    computed = SPEC.format(out_maps="=Widen-2", kernel="[3, 3]", pool="[2, 2]", val="1", out_shape="10")
    messages = []
    for text in (literal, computed):
        with pytest.raises(SpecError) as caught:
            nnspec.loads(text)
        (diagnostic,) = caught.value.diagnostics
        assert (diagnostic.code, diagnostic.line, diagnostic.column) == (codes.INVALID_VALUE, 8, 47)
        messages.append(diagnostic.message)
    assert messages[1] == messages[0] + " (from =Widen-2)"


def test_text_properties_keep_a_leading_equals_sign_as_text():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        "  - {name: fc, type: Affine, out_shape: 2, parameter_scope: '=Input[0]'}\n"
    )
    assert spec.layers["fc"].props["parameter_scope"] == "=Input[0]"
    assert spec.layers["fc"].expressions == {}


def test_strides_follow_the_rank_of_a_kernel_given_by_an_expression():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2, 9]}\n"
        "  - {name: conv, type: Convolution, out_maps: 2, kernel_shape: '=Input[1]//3'}\n"
    )
    assert spec.layers["conv"].props["kernel_shape"] == (3,)
    assert spec.layers["conv"].props["strides"] == (1,)
    assert spec.layers["conv"].shape == (2, 9)  # border_mode same, NNC's default


def test_an_expression_with_a_switch_property_and_its_parameter():
    spec = nnspec.loads(
        "nnspec: 1\narguments:\n  Bias: {type: Boolean, value: true}\nlayers:\n"
        "  - {name: x, type: Input, size: [3]}\n"
        "  - {name: fc, type: Affine, out_shape: 2, with_bias: =Bias, b: {initializer: Constant, multiplier: 1}}\n"
    )
    assert spec.layers["fc"].props["with_bias"] is True
    assert spec.layers["fc"].parameter_shapes["b"] == (2,)


def test_a_parameter_switched_off_by_an_expression_is_reported_once_evaluated():
    with pytest.raises(SpecError) as caught:
        nnspec.loads(
            "nnspec: 1\narguments:\n  Bias: {type: Boolean, value: false}\nlayers:\n"
            "  - {name: x, type: Input, size: [3]}\n"
            "  - {name: fc, type: Affine, out_shape: 2, with_bias: =Bias, b: {initializer: Constant, multiplier: 1}}\n"
        )
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == codes.UNUSED_PARAMETER and "'b'" in diagnostic.message


# ------------------------------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    "kind, good, bad",
    [
        ("Int", [-3, 0, 7], [1.5, True, "3", 2**31]),
        ("PInt", [1, 64], [0, -1, 2.5, False]),
        ("UInt", [0, 9], [-1, None]),
        ("Float", [0.5, 1, -2e-8], [float("nan"), float("inf"), "0.5", True]),
        ("Boolean", [True, False], [1, "True"]),
        ("BooleanOrMacro", [True], [0]),
        ("Text", ["valid", ""], [3, None]),
        ("File", ["a.npy"], [[]]),
        ("IntArray", [[1, -2], 3, []], [[1.5], ["1"]]),
        ("PIntArray", [[3, 3], 5], [[0, 3], [True]]),
        ("UIntArray", [[0, 2]], [[-1]]),
        ("FloatArray", [[0.5, 1]], [[float("nan")], ["x"]]),
        ("PIntArrays", [[[1, 2], [3]]], [[1, 2], [[0]]]),
        ("FloatArrays", [[[0.5], [1]]], [[0.5]]),
    ],
)
def test_argument_values_are_checked_against_their_type(kind, good, bad):
    for value in good:
        assert argument_problem(kind, value) == "", (kind, value)
    for value in bad:
        assert argument_problem(kind, value) != "", (kind, value)


def test_an_invalid_argument_is_reported_once_where_it_is_declared():
    with pytest.raises(SpecError) as caught:
        nnspec.loads(
            "nnspec: 1\narguments:\n  Maps: {type: PInt, value: [2]}\nlayers:\n"
            "  - {name: x, type: Input, size: [3]}\n  - {name: fc, type: Affine, out_shape: =Maps}\n"
        )
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.code) == (3, codes.INVALID_VALUE)


def test_a_number_outside_its_argument_type_is_used_as_written_and_judged_where_used():
    """NNC does not check an argument's type: PInt 0 is a warning at the argument, and 0 an error
    where a positive integer is needed."""
    with pytest.raises(SpecError) as caught:
        nnspec.loads(
            "nnspec: 1\narguments:\n  Maps: {type: PInt, value: 0}\nlayers:\n"
            "  - {name: x, type: Input, size: [3]}\n  - {name: fc, type: Affine, out_shape: =Maps}\n"
        )
    found = [(d.line, d.severity, d.code) for d in caught.value.diagnostics]
    assert found == [(3, "warning", codes.ARGUMENT_TYPE), (6, "error", codes.INVALID_VALUE)]


def test_the_spec_keeps_its_arguments():
    spec = nnspec.load(SPECS / "arguments.yaml")
    assert {name: (a.type, a.value) for name, a in spec.arguments.items()} == {
        "Widen": ("PInt", 2),
        "NumClass": ("PInt", 5),
        "DropP": ("Float", 0.25),
    }
    assert spec.layers["conv"].props["out_maps"] == 4 * 2
    assert spec.layers["pool"].props["kernel_shape"] == (4, 4)
    assert spec.layers["drop"].props["p"] == 0.25


# ------------------------------------------------------------------------------------------ resolved, schema


def test_print_resolved_keeps_the_expression_and_shows_its_value():
    spec = nnspec.loads(WITH_EXPRESSIONS, "expressions.yaml")
    text = resolved_text(spec)
    assert "    out_maps: =Input[0]*Widen  # 4\n" in text
    assert "  # [3, 3]\n" in text  # kernel_shape: a list holding an expression
    assert "    kernel_shape: =Input[1]/3,Input[2]/3  # [2, 2]\n" in text
    assert "    value: =Scale/4  # 0.125\n" in text
    assert "  Scale: {type: Float, value: 0.5}\n" in text
    again = resolved_text(nnspec.loads(text, "expressions.yaml"))
    assert again == text  # resolving the resolved spec changes nothing


def test_the_published_schema_takes_expressions_where_numbers_go_and_not_elsewhere():
    validator = jsonschema.Draft7Validator(spec_schema())
    import yaml

    assert not list(validator.iter_errors(yaml.safe_load(WITH_EXPRESSIONS)))
    assert not list(validator.iter_errors(yaml.safe_load((SPECS / "arguments.yaml").read_text())))
    wrong = yaml.safe_load(WITH_EXPRESSIONS)
    wrong["layers"][1]["border_mode"] = "=same"  # a choice: never an expression
    wrong["layers"][1]["out_maps"] = "Input[0]"  # no '='
    wrong["arguments"]["Widen"]["type"] = "Pint"
    assert len(list(validator.iter_errors(wrong))) == 3


def test_an_unknown_argument_type_gets_the_closest_one():
    with pytest.raises(SpecError) as caught:
        nnspec.loads(
            "nnspec: 1\narguments:\n  n: {type: Pint, value: 3}\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        )
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == "argument 'n' has unknown type 'Pint'; did you mean 'PInt'?"
    assert (diagnostic.line, diagnostic.column) == (3, 13)


def test_a_description_that_looks_like_layers_is_left_as_written_in_the_resolved_spec():
    description = "- name: conv\n  out_maps: =Input[0]*Widen\n    out_maps: x"
    spec = nnspec.loads(WITH_EXPRESSIONS.replace("seed: 5", "seed: 5\ndescription: " + json.dumps(description)))
    text = resolved_text(spec)
    assert nnspec.loads(text).description == description
    assert text.count("  # 4\n") == 1  # conv's out_maps, in layers: only
