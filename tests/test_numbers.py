"""The one number formatter (nnspec.core.numbers): its rule written out by hand, value by value."""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.core.numbers import format_number, format_score, format_share


@pytest.mark.parametrize(
    "value, digits, expected",
    [
        (0.5, 4, "0.5"),  # trailing zeros dropped
        (1234.0, 4, "1234"),  # exponent 3 = digits - 1: still fixed point
        (12345.0, 4, "1.234e+04"),  # exponent 4 >= digits: scientific (12345 rounds half to even)
        (0.0001, 4, "0.0001"),  # exponent -4: fixed point
        (0.00001, 4, "1e-05"),  # exponent -5: scientific
        (2 / 3, 3, "0.667"),
        (2 / 3, 6, "0.666667"),
        (-16.63553, 6, "-16.6355"),
        (3, 4, "3"),  # an integer
        (np.float32(0.1), 4, "0.1"),  # a float32 shows its nearest 4 digits, not its binary tail
        (np.int64(7), 4, "7"),
        (float("inf"), 4, "inf"),
        (float("nan"), 4, "nan"),
    ],
)
def test_format_number_keeps_the_significant_digits_asked_for(value, digits, expected):
    assert format_number(value, digits) == expected


def test_format_number_shows_four_digits_by_default():
    assert format_number(np.pi) == "3.142"


@pytest.mark.parametrize(
    "part, whole, expected", [(1, 4, "25%"), (1, 3, "33%"), (2, 3, "67%"), (0, 5, "0%"), (0, 0, "-")]
)
def test_format_share_is_a_whole_percentage_or_a_dash_for_nothing(part, whole, expected):
    assert format_share(part, whole) == expected


def test_format_score_shows_an_error_rate_as_a_percentage_and_a_loss_to_six_digits():
    assert format_score("error rate", 0.025) == "2.50%"
    assert format_score("loss", 0.3927583) == "0.392758"


@pytest.mark.parametrize(
    "part, whole, expected",
    [
        (996, 1000, "99.6%"),  # issue 18: printed as "100%", which reads as every one
        (999, 1000, "99.9%"),
        (99_999, 100_000, "99.999%"),
        (4, 1000, "0.4%"),  # not "0%", which reads as none
        (1, 100_000, "0.001%"),
        (995, 1000, "99.5%"),  # half rounds to 100 at whole percents
        (5, 5, "100%"),  # exactly all: no decimals
    ],
)
def test_format_share_never_prints_0_or_100_percent_for_a_share_that_is_neither(part, whole, expected):
    assert format_share(part, whole) == expected


@pytest.mark.parametrize("whole", [3, 7, 1000, 4096, 10**6, 10**9 + 7])
def test_format_share_of_one_short_of_all_or_one_of_all_is_strictly_between(whole):
    for part in (1, whole - 1):
        shown = float(format_share(part, whole).rstrip("%"))
        assert 0 < shown < 100
        assert abs(shown - 100 * part / whole) <= 0.5  # still the share, to its last shown digit


def test_format_score_keeps_digits_so_an_error_rate_never_reads_as_none_or_all():
    assert format_score("error rate", 0.00001) == "0.001%"
    assert format_score("error rate", 0.99999) == "99.999%"
    assert (format_score("error rate", 0), format_score("error rate", 1)) == ("0.00%", "100.00%")
