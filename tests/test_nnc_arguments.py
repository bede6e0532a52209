"""Arguments as NNC uses them: NNC puts an argument's value in place of its name before it evaluates an
expression, and does not check an argument's type. So a Text argument whose text is a number computes
as that number (NNC's nin project: ConvMaps, Text "96", in =ConvMaps), and an integer argument holding
another number is used as written, with a warning (synthetic_image_object_detection: ScoreThreshold,
PInt 0.6, the value of a GreaterEqualScalar)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError
from nnspec.spec.expressions import Argument, Unusable, argument_value, number_in_text

TEXT_MAPS = """\
nnspec: 2
arguments:
  ConvMaps: {type: Text, value: "%s"}
layers:
  - {name: x, type: Input, size: [2, 4, 4], generator: Uniform}
  - {name: conv, type: Convolution, out_maps: =ConvMaps*2, kernel_shape: [1, 1]}
"""


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("96", 96),
        (" 96 ", 96),
        ("-3", -3),
        ("0.5", Fraction(1, 2)),
        ("1e-3", Fraction(1, 1000)),
        (".25", Fraction(1, 4)),
    ],
)
def test_a_text_that_spells_a_number_is_that_number(text, number):
    assert number_in_text(text) == number
    assert argument_value(Argument("A", "Text", text)) == number


@pytest.mark.parametrize("text", ["", "ninety", "3,3", "0x10", "1e9999", "nan", "inf", "1_000", "96 maps"])
def test_any_other_text_is_no_number(text):
    assert number_in_text(text) is None
    unusable = argument_value(Argument("A", "Text", text))
    assert isinstance(unusable, Unusable) and "its text is no number" in unusable.reason


def test_a_file_argument_is_never_a_number():
    assert isinstance(argument_value(Argument("A", "File", "96")), Unusable)


def test_a_text_argument_in_arithmetic_computes_with_its_number(write_spec):
    spec = nnspec.load(write_spec(TEXT_MAPS % "3"))
    assert spec.layers["conv"].props["out_maps"] == 6 and spec.layers["conv"].shape == (6, 4, 4)


def test_a_text_argument_that_is_no_number_is_still_an_error_at_its_use(write_spec):
    with pytest.raises(SpecError) as caught:
        nnspec.load(write_spec(TEXT_MAPS % "three"))
    [error] = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert "argument 'ConvMaps' is of type Text" in error.message and error.line == 6


THRESHOLD = """\
nnspec: 2
arguments:
  ScoreThreshold: {type: PInt, value: %s}
layers:
  - {name: x, type: Input, size: [4]}
  - {name: ge, type: GreaterEqualScalar, value: =ScoreThreshold}
data:
  x: [[0.1, 0.6, 0.7, 2]]
"""


def test_an_integer_argument_holding_a_fraction_is_used_as_written_with_a_warning(write_spec):
    path = write_spec(THRESHOLD % "0.6")
    found = nnspec.validate(path)
    [warning] = [d for d in found if d.code == "argument-type"]
    assert warning.severity == "warning" and (warning.line, warning.column) == (3, 39)
    assert "must be an integer >= 1; got 0.6" in warning.message and "as written" in warning.message
    assert not [d for d in found if d.severity == "error"]
    result = nnspec.run(str(path))
    # x >= 0.6 by hand: 0.6 in float32 is just under 0.6 in float64, and 0.6 >= it
    np.testing.assert_array_equal(result.outputs["ge"], [[0, 1, 1, 1]])


@pytest.mark.parametrize("value", ['"high"', "true", ".inf", "[[1]]"])
def test_an_integer_argument_holding_no_number_stays_an_error(write_spec, value):
    with pytest.raises(SpecError) as caught:
        nnspec.load(write_spec(THRESHOLD % value))
    codes = {d.code for d in caught.value.diagnostics if d.severity == "error"}
    assert "invalid-value" in codes and "argument-type" not in codes


UNIT = """\
nnspec: 2
networks:
  Block:
    arguments:
      Maps: {type: PInt, value: 2}
    layers:
      - {name: Input, type: Input, size: [3]}
      - {name: MulScalar, type: MulScalar, value: =Maps}
layers:
  - {name: x, type: Input, size: [3]}
  - {name: u, type: Unit, network: Block, arguments: {Maps: %s}}
data:
  x: [[1, 2, 3]]
"""


@pytest.mark.parametrize("given", ["0.5", '"=Input[0]/6"'])
def test_a_units_integer_argument_holding_a_fraction_is_used_as_written(write_spec, given):
    path = write_spec(UNIT % given)
    found = nnspec.validate(path)
    assert [d.code for d in found if d.severity != "info"] == ["argument-type"]
    result = nnspec.run(str(path))
    np.testing.assert_allclose(result.outputs["u/MulScalar"], [[0.5, 1.0, 1.5]])


def test_run_counts_the_argument_type_warning_as_validate_does_and_strict_fails_on_it(write_spec, capsys):
    from nnspec.cli import main

    path = str(write_spec(THRESHOLD % "0.6"))
    assert main(["validate", path]) == 0
    assert main(["validate", "--strict", path]) == 1
    capsys.readouterr()
    assert main(["run", "-q", path]) == 0
    out, err = capsys.readouterr()
    assert out.rstrip().endswith("0 errors, 1 warning")  # the spec's own warning, counted with the findings
    assert "[argument-type]" in err
    assert main(["run", "-q", "--strict", path]) == 1
    result = nnspec.run(path)
    assert [d.code for d in result.spec_warnings] == ["argument-type"] and result.warning_count == 1
    assert result.warnings == []  # the findings' own list is unchanged


def test_a_run_without_the_warning_counts_none(write_spec, capsys):
    from nnspec.cli import main

    assert main(["run", "-q", "--strict", str(write_spec(THRESHOLD % "1"))]) == 0
    assert capsys.readouterr().out.rstrip().endswith("0 errors, 0 warnings")
