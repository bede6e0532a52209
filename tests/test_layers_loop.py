"""The LoopControl layers (RepeatStart, RepeatEnd) checked against an independent reference.

The two layers are markers: the expansion (nnspec.spec.expand) writes their block out, so what
they do is what the network around them computes. The reference applies the block's formula
``times`` times in plain Python floats, value by value: a block of MulScalar(value 0.5) then
AddScalar(value 1) maps v to 0.5 v + 1, and k iterations of it give
0.5^k v + 2 (1 - 0.5^k). Every step is exact in binary floating point for these inputs
(multiples of 1/8 times powers of two), so nnspec must equal the reference bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import nnspec


def _block_repeated(values: list[float], times: int) -> list[float]:
    out = []
    for v in values:
        for _ in range(times):
            v = v * 0.5 + 1.0
        out.append(v)
    return out


def _closed_form(values: list[float], times: int) -> list[float]:
    return [0.5**times * v + 2.0 * (1.0 - 0.5**times) for v in values]


# What a spec of Input -> RepeatStart(times) -> MulScalar 0.5 -> AddScalar 1 -> RepeatEnd computes.
REFERENCES: dict[str, Callable[[list[float], int], list[float]]] = {
    "RepeatStart": _block_repeated,
    "RepeatEnd": _closed_form,
}

SPEC = """\
nnspec: 1
data: {{x: [[-4.0, -0.125, 0.0, 0.375], [8.0, 1.5, -2.25, 3.0]]}}
layers:
  - {{name: x, type: Input, size: [4]}}
  - {{name: RepeatStart, type: RepeatStart, times: {times}}}
  - {{name: Half, type: MulScalar, value: 0.5}}
  - {{name: PlusOne, type: AddScalar, value: 1.0}}
  - {{name: RepeatEnd, type: RepeatEnd}}
  - {{name: out, type: Identity}}
"""


@pytest.mark.parametrize("kind", sorted(REFERENCES))
@pytest.mark.parametrize("times", [1, 2, 5])
def test_a_repeated_block_computes_its_formula_times_times(kind: str, times: int) -> None:
    spec = nnspec.loads(SPEC.format(times=times))
    result = nnspec.run(spec)
    data = [[-4.0, -0.125, 0.0, 0.375], [8.0, 1.5, -2.25, 3.0]]
    expected = np.array([REFERENCES[kind](sample, times) for sample in data], dtype=np.float32)
    np.testing.assert_array_equal(result.outputs["out"], expected)
    assert [name for name in spec.layers if name.startswith("Half")] == [f"Half[{k}]" for k in range(times)]


def test_default_times_is_nncs() -> None:
    """NNC's RepeatStart Times defaults to 3."""
    assert nnspec.layer_types()["RepeatStart"].property_map["times"].default == 3
