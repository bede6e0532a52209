"""The LoopControl layers and LSTM checked against an independent reference.

RepeatStart and RepeatEnd are markers: the expansion (nnspec.spec.expand) writes their block out, so
what they do is what the network around them computes. The reference applies the block's formula
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


# --- recurrence: RecurrentInput, RecurrentOutput, Delay, LSTM ------------------------------------
#
# Unrolled over the sequence likewise (nnspec.spec.recurrence).
# Their references are numpy on the whole sequence: a RecurrentInput -> RecurrentOutput pair moves the
# time axis (o = moveaxis(x, in_axis, out_axis)); a Delay shifts the sequence one step (o_t = x_{t-1},
# o_0 = its Initial); an LSTM is NNC's LSTM unit's formula, step by step in float64.

SEQUENCE = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) / 8  # 2 samples of 3 x 4


def _moved(x: np.ndarray, start_axis: int, end_axis: int) -> np.ndarray:
    return np.moveaxis(x, start_axis + 1, end_axis + 1)


def _shifted(x: np.ndarray, initial: float) -> np.ndarray:
    return np.concatenate([np.full_like(x[:, :1], initial), x[:, :-1]], axis=1)


def _lstm(x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    h = c = np.zeros((len(x), params["Affine/affine/b"].shape[0]))
    out = []
    for t in range(x.shape[1]):
        v = np.concatenate([h, x[:, t]], axis=1)
        a = {g: v @ params[f"{g}/affine/W"] + params[f"{g}/affine/b"] for g in ("Affine", "IGate", "FGate", "OGate")}
        i, f, o = (1 / (1 + np.exp(-a[g])) for g in ("IGate", "FGate", "OGate"))
        c = i * np.tanh(a["Affine"]) + f * c
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


REFERENCES.update(
    {
        "RecurrentInput": lambda x: _moved(x, 1, 0),
        "RecurrentOutput": lambda x: _moved(x, 0, 1),
        "Delay": lambda x: _shifted(x, 0.5),
        "LSTM": _lstm,
    }
)

RECURRENT_SPECS = {
    # RecurrentInput along axis 1, RecurrentOutput along axis 0: the 4 steps come out first
    "RecurrentInput": """\
  - {name: R, type: RecurrentInput, axis: 1}
  - {name: Step, type: Identity}
  - {name: out, type: RecurrentOutput, axis: 0}
""",
    # RecurrentInput along axis 0, RecurrentOutput along axis 1: each step's 4 values stacked as a column
    "RecurrentOutput": """\
  - {name: R, type: RecurrentInput, axis: 0}
  - {name: Step, type: Identity}
  - {name: out, type: RecurrentOutput, axis: 1}
""",
    "Delay": """\
  - {name: R, type: RecurrentInput, axis: 0}
  - {name: Back, type: Delay, size: [4], input: R, Initial: {generator: Constant, generator_multiplier: 0.5}}
  - {name: Step, type: Identity, input: Back}
  - {name: out, type: RecurrentOutput, axis: 0}
""",
    "LSTM": """\
  - {name: out, type: LSTM, size: [2], parameter_scope: unit}
""",
}


@pytest.mark.parametrize("kind", sorted(RECURRENT_SPECS))
def test_a_recurrent_layer_computes_its_reference(kind: str) -> None:
    text = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 4]}\n" + RECURRENT_SPECS[kind]
    spec = nnspec.loads(text)
    rng = np.random.default_rng(4)
    params = {
        layer.parameter_key(p): rng.normal(0, 0.5, shape).astype(np.float32)
        for layer in spec.layers.values()
        for p, shape in layer.parameter_shapes.items()
    }
    result = nnspec.run(spec, {"x": SEQUENCE}, params=params)
    if kind == "LSTM":
        plain = {key.removeprefix("unit/"): value.astype(np.float64) for key, value in params.items()}
        expected = REFERENCES[kind](SEQUENCE.astype(np.float64), plain)
        np.testing.assert_allclose(result.outputs["out"], expected, rtol=0, atol=2e-6)
    else:
        np.testing.assert_array_equal(result.outputs["out"], REFERENCES[kind](SEQUENCE))
