"""The Unit layer checked against an independent reference.

A Unit is written out in its place (nnspec.spec.units), so what it does is what the network it
calls computes, with the unit's argument values. The reference applies that network's formula in
plain Python floats: network Scale is MulScalar(value =Factor) then AddScalar(value 1), so a unit
with Factor f maps v to f v + 1, and two units in a row give f2 (f1 v + 1) + 1. Every step is exact
in binary floating point for these inputs, so nnspec must equal the reference bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import nnspec


def _two_units(values: list[float]) -> list[float]:
    return [0.25 * (0.5 * v + 1.0) + 1.0 for v in values]


REFERENCES: dict[str, Callable[[list[float]], list[float]]] = {"Unit": _two_units}

SPEC = """\
nnspec: 1
networks:
  Scale:
    arguments: {Factor: {type: Float, value: 0.5}}
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: Times, type: MulScalar, value: =Factor}
      - {name: PlusOne, type: AddScalar, value: 1.0}
data: {x: [[-4.0, -0.125, 0.0, 0.375], [8.0, 1.5, -2.25, 3.0]]}
layers:
  - {name: x, type: Input, size: [4]}
  - {name: First, type: Unit, network: Scale}
  - {name: Second, type: Unit, network: Scale, arguments: {Factor: 0.25}}
"""


def test_units_compute_the_formula_of_the_network_they_call() -> None:
    result = nnspec.run(nnspec.loads(SPEC))
    data = [[-4.0, -0.125, 0.0, 0.375], [8.0, 1.5, -2.25, 3.0]]
    expected = np.array([REFERENCES["Unit"](sample) for sample in data], dtype=np.float32)
    np.testing.assert_array_equal(result.outputs["Second/PlusOne"], expected)
