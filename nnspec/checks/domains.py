"""Checks of domains: inputs where a layer's formula is undefined (log of <= 0, division by 0)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.estimate import Estimate
from ..core.numbers import format_number, format_share
from ..layers.catalog import NONNEGATIVE, NONZERO, POSITIVE
from .check import Context, Probe, _expected_span, _span
from .measures import OUTSIDE, VALUES
from .stats import blocks

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer

_DOMAIN_WORDS = {POSITIVE: "<= 0", NONNEGATIVE: "< 0", NONZERO: "exactly 0"}


def _outside_domain(kind: str, x: np.ndarray) -> np.ndarray:
    """Finite values outside the domain: an inherited -inf is the nan-inf check's, reported where it was made."""
    if kind == POSITIVE:
        return (x <= 0) & (x > -np.inf)
    return (x < 0) & (x > -np.inf) if kind == NONNEGATIVE else x == 0


def _measure_domain(p: Probe) -> dict[str, Any]:
    domain = p.layer.type.domain
    kind = domain.kind(p.layer.props)
    x = p.inputs[domain.index]
    if domain.index >= len(p.input_stats):  # a second operand read from data (R: {dataset: ...}): no statistics
        outside = 0 if kind is None else int(sum(np.count_nonzero(_outside_domain(kind, b)) for b in blocks(x)))
        return {OUTSIDE: outside, VALUES: int(x.size)}
    seen = p.input_stats[domain.index]
    inside = {POSITIVE: seen.min > 0, NONNEGATIVE: seen.min >= 0, NONZERO: seen.zeros == 0}
    if kind is None or seen.finite and inside[kind]:
        return {OUTSIDE: 0}
    return {OUTSIDE: int(sum(np.count_nonzero(_outside_domain(kind, block)) for block in blocks(x)))}


def _domain(c: Context) -> str | None:
    domain = c.layer.type.domain
    outside = c.measured[OUTSIDE]
    if not outside:
        return None
    words = f"{_DOMAIN_WORDS[domain.kind(c.layer.props)]}"
    if domain.index >= len(c.inputs):  # data or a generator under the operand's pin
        count = c.measured[VALUES]
        return (
            f"{c.layer.title}: {outside} of {count} values of its {c.layer.type.operand} "
            f"({format_share(outside, count)}) are {words}, where {domain.outside}; {domain.fix}"
        )
    received = c.inputs[domain.index]
    which = f"values of its input {c.layer.inputs[domain.index]}" if domain.index else "inputs"
    return (
        f"{c.layer.title}: {outside} of {received.count} {which} ({format_share(outside, received.count)}) are "
        f"{words} (they span {_span(received)}), where {domain.outside}; "
        f"{domain.fix}"
    )


def _predict_domain(layer: Layer, x: Estimate, threshold: float | None, dtype: str) -> str | None:
    """Judged on the values' practical reach (Estimate.practical_low: a ReLU's exact 0, exp's underflow,
    6 standard deviations of a normal fit), not on a share: one log(0) is already -inf."""
    domain = layer.type.domain
    kind = domain.kind(layer.props)
    low, high = x.practical_low, x.practical_high
    possible = {POSITIVE: low <= 0, NONNEGATIVE: low < 0, NONZERO: low <= 0 <= high}
    if kind is None or not possible[kind]:
        return None
    if domain.index >= len(layer.inputs):  # data or a generator under the operand's pin
        which = f"the values of its {layer.type.operand}"
    else:
        which = f"the values of its input {layer.inputs[domain.index]}" if domain.index else "its inputs"
    return (
        f"{layer.title}: {which} are expected to {_expected_span(x)} and reach "
        f"{format_number(low)}..{format_number(high)}, so some "
        f"can be {_DOMAIN_WORDS[kind]}, where {domain.outside}; {domain.fix}"
    )
