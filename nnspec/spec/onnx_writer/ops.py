"""OPS: the writer's table, layer type -> the Op emitting its nodes, assembled here from the tables of
the op families (one module each: what they compute and why they compute it so is said there). A layer
type has one family: two tables naming the same type are an error at import, not a silent override."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from . import (
    comparisons,
    convolutions,
    detection,
    elementwise,
    feature_norms,
    float64,
    losses,
    matrices,
    pools,
    quantizers,
    random_layers,
    shapes,
    weight_norms,
)
from .builder import Op

FAMILIES: tuple[ModuleType, ...] = (
    elementwise,
    comparisons,
    float64,
    convolutions,
    pools,
    feature_norms,
    weight_norms,
    shapes,
    losses,
    matrices,
    quantizers,
    detection,
    random_layers,
)


def assembled(families: tuple[ModuleType, ...]) -> dict[str, Op]:
    """The families' tables as one; a ValueError naming a layer type two of them hold."""
    table: dict[str, Op] = {}
    for family in families:
        own: Mapping[str, Op] = family.OPS
        for name, op in own.items():
            if name in table:
                raise ValueError(f"{name} is in two op families' tables (the second: {family.__name__})")
            table[name] = op
    return table


OPS: dict[str, Op] = assembled(FAMILIES)
