"""Numbers as people read them in messages, reports and pictures: one rule, so that a value prints
alike wherever it appears.

The rule: ``digits`` significant digits in Python's general format ("g"): fixed point while the
exponent is from -4 to digits - 1, scientific notation outside that, trailing zeros dropped
(0.5, 1234, 1.235e+05, 1e-05); -0 is written 0, which is what a reader takes it for (a range
"-0..1" reads as a typo). The digits say what the number is for:

- 4 (the default): statistics and limits in findings, the HTML report, pictures' labels;
- 3: scale factors and stds in the scale findings, the text report's narrow table columns, a
  plot's title;
- 6: values to be read back or compared (scores, a limit a finding says is crossed, a spec's
  property in a graph box, settings in messages and the reference).

Values written for machines (JSON, CSV, .npz) keep every digit and never pass through here.
"""

from __future__ import annotations

DIGITS = 4
WIDE = 6  # as many as "{x:g}" shows


def format_number(x: float, digits: int = DIGITS) -> str:
    """``x`` with ``digits`` significant digits (numpy scalars and integers too), by the rule above."""
    return f"{float(x) + 0.0:.{digits}g}"  # + 0.0: -0.0 becomes 0.0, and only it changes


def format_share(part: float, whole: float) -> str:
    """``part`` of ``whole`` as a percentage ("25%"), or "-" when there is nothing to share.

    Whole percents, with as many decimals more as it takes never to print 0% or 100% for a share
    that is not exactly that: 996 of 1000 is "99.6%", 1 of 100,000 "0.001%" (a reader takes "100%"
    saturated for all of them, and "0%" for none).
    """
    if not whole:
        return "-"
    return _percent(100 * part / whole, exact=part in (0, whole), decimals=0)


def format_score(kind: str, value: float) -> str:
    """A loss layer's score: an error rate as a percentage to 0.01% ("2.50%"), or finer where that would
    print 0.00% or 100.00% for a rate that is neither; a loss to 6 digits."""
    if kind == "error rate":
        return _percent(100 * value, exact=value in (0, 1), decimals=2)
    return format_number(value, WIDE)


MAX_DECIMALS = 12  # a share of counts below 10**12 has told 0 and 100 apart by then


def _percent(percent: float, exact: bool, decimals: int) -> str:
    """``percent`` with ``decimals`` decimals, or more until it no longer reads as 0 or 100 when it is
    not ``exact``ly that; a share too close to either for that is written as below or above it."""
    percent = float(percent) + 0.0  # -0.0 prints as 0
    if exact:
        return f"{percent:.{decimals}f}%"
    for places in range(decimals, MAX_DECIMALS + 1):
        text = f"{percent:.{places}f}"
        if 0 < float(text) < 100:
            return f"{text}%"
    closest = 1 / 10**MAX_DECIMALS
    return f"under {closest:.0e}%" if percent < 50 else f"over {100 - closest:.{MAX_DECIMALS}f}%"
