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


def format_share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a whole percentage ("25%"), or "-" when there is nothing to share."""
    return f"{100 * part / whole:.0f}%" if whole else "-"


def format_score(kind: str, value: float) -> str:
    """A loss layer's score: an error rate as a percentage to 0.01% ("2.50%"), a loss to 6 digits."""
    return f"{100 * value + 0.0:.2f}%" if kind == "error rate" else format_number(value, WIDE)
