"""The keys of what the checks measure, named once, and how two batches' measures combine.

A check's measure (``Check.measure`` in nnspec.checks.check) maps keys to counts or to per-unit
arrays. A key's prefix says how the values of two batches combine: ``any:`` logical or,
``min:`` minimum, ``max:`` maximum, ``sum:`` sum; a key without a prefix is a count, added.
The checks that measure and judge, the report and the pictures read the keys below; the JSON
report gives counts under these same names (per-unit flags as ``units_NAME``, nnspec.report.results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# the prefixes, and what each merge does
ANY, MIN, MAX, SUM = "any", "min", "max", "sum"
_MERGES: dict[str, Callable[[Any, Any], Any]] = {ANY: np.logical_or, MIN: np.minimum, MAX: np.maximum}

# counts (added over batches)
PINNED = "pinned"  # outputs exactly at a bound of the layer's output range
OUTSIDE = "outside"  # inputs outside the range or the domain a check asks for
OVERFLOWING = "overflowing"  # inputs past the value whose exp overflows
DISTRIBUTIONS = "distributions"  # probability distributions along a layer's axis
CERTAIN = "certain"  # distributions with a probability of exactly 1
WITH_ZEROS = "with_zeros"  # distributions holding a probability of exactly 0
VALUES = "values"  # values looked at
NOT_BINARY = "not_binary"  # target values neither 0 nor 1
CLIPPED = "clipped"  # inputs beyond a quantizer's lowest or highest level
# per-unit arrays
UNITS_INSIDE = f"{ANY}:inside"  # each unit: some output not pinned to a bound
UNITS_POSITIVE = f"{ANY}:positive"  # each unit: some input above 0
MAX_SPREAD = f"{MAX}:spread"  # the largest spread of logits within one distribution
SUM_VALUES = f"{SUM}:values"  # per channel: the sum of the values
SUM_SQUARES = f"{SUM}:squares"  # per channel: the sum of their squares
LARGEST_BATCH = f"{MAX}:batch"  # the most samples one batch held
# per-feature moments of a source's data, merged by their own rule (checks._merge_moments)
ROWS = "rows"
NONFINITE = "nonfinite"
FEATURE_MEAN = "feature:mean"
FEATURE_M2 = "feature:m2"


def parts(key: str) -> tuple[str, str]:
    """A key's prefix and name: ("any", "inside") for "any:inside"; ("", "pinned") for a count."""
    prefix, colon, name = key.partition(":")
    return (prefix, name) if colon else ("", key)


def merge_by_prefix(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two batches' measures of one check as one, each key by its prefix's rule."""
    return {key: _MERGES.get(key.split(":")[0], _add)(a[key], b[key]) for key in a}


def _add(x: Any, y: Any) -> Any:
    return x + y
