"""Recurrence: a recurrent loop runs exactly as the same network written out by hand.

Three independent references:

- a hand-unrolled spec: an Elman net written step by step with Slice + Reshape (the step's input),
  Concatenate, Affine (``parameter_scope: Affine``, the one parameter every step shares), Tanh and
  Stack; run on the same data and parameters, its outputs and every layer's statistics must be
  bit-identical to the loop's copies (``Affine_RecurrentInput[t]`` against ``Affine_t``);
- a plain numpy loop over the steps (h_t = tanh([x_t, h_{t-1}] W + b));
- NNC's LSTM unit's formula in numpy (c_t = i*g + f*c_{t-1}, h_t = o*tanh(c_t), the gates Affine over
  [h_{t-1}, x_t]).
"""

from __future__ import annotations

import numpy as np

import nnspec
from nnspec.spec.recurrence import step_name
from nnspec.validation import validate

STEPS, FEATURES, STATE = 5, 3, 4

ELMAN = f"""\
nnspec: 1
seed: 3
layers:
  - {{name: x, type: Input, size: [{STEPS}, {FEATURES}], generator: Uniform}}
  - {{name: RecurrentInput, type: RecurrentInput, axis: 0}}
  - {{name: Delay, type: Delay, size: [{STATE}], input: Tanh}}
  - {{name: Concatenate, type: Concatenate, input: [RecurrentInput, Delay], axis: 0}}
  - {{name: Affine, type: Affine, out_shape: {STATE}}}
  - {{name: Tanh, type: Tanh}}
  - {{name: RecurrentOutput, type: RecurrentOutput, axis: 0}}
  - {{name: Out, type: Affine, out_shape: 2}}
"""


ONE_STEP = "step: [1, 1]"


def hand_unrolled() -> str:
    lines = [
        "nnspec: 1",
        "seed: 3",
        "layers:",
        f"  - {{name: x, type: Input, size: [{STEPS}, {FEATURES}], generator: Uniform}}",
        f"  - {{name: h0, type: Input, size: [{STATE}], generator: Constant, generator_multiplier: 0.0}}",
    ]
    previous = "h0"
    for t in range(STEPS):
        lines += [
            f"  - {{name: Slice_{t}, type: Slice, input: x, start: [{t}, 0], stop: [{t + 1}, {FEATURES}], {ONE_STEP}}}",
            f"  - {{name: Step_{t}, type: Reshape, out_shape: [{FEATURES}]}}",
            f"  - {{name: Concatenate_{t}, type: Concatenate, input: [Step_{t}, {previous}], axis: 0}}",
            f"  - {{name: Affine_{t}, type: Affine, out_shape: {STATE}, parameter_scope: Affine}}",
            f"  - {{name: Tanh_{t}, type: Tanh}}",
        ]
        previous = f"Tanh_{t}"
    steps = ", ".join(f"Tanh_{t}" for t in range(STEPS))
    lines += [
        f"  - {{name: RecurrentOutput, type: Stack, input: [{steps}], axis: 0}}",
        "  - {name: Out, type: Affine, out_shape: 2}",
    ]
    return "\n".join(lines) + "\n"


def parameters(spec: nnspec.Spec, seed: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    keys = {
        layer.parameter_key(p): shape for layer in spec.layers.values() for p, shape in layer.parameter_shapes.items()
    }
    return {key: rng.normal(0, 0.6, shape).astype(np.float32) for key, shape in sorted(keys.items())}


def test_the_loop_runs_as_its_hand_unrolled_network() -> None:
    loop, hand = nnspec.loads(ELMAN), nnspec.loads(hand_unrolled())
    values = parameters(loop)
    assert set(values) == {"Affine/affine/W", "Affine/affine/b", "Out/affine/W", "Out/affine/b"}  # shared by the steps
    got, expected = nnspec.run(loop, params=values, samples=40), nnspec.run(hand, params=values, samples=40)
    np.testing.assert_array_equal(got.outputs["Out"], expected.outputs["Out"])
    for t in range(STEPS):
        for written in ("Concatenate", "Affine", "Tanh"):
            one, other = got.stats[step_name(written, "RecurrentInput", t)], expected.stats[f"{written}_{t}"]
            assert one.output.to_dict() == other.output.to_dict()
    assert got.stats["RecurrentOutput"].output.to_dict() == expected.stats["RecurrentOutput"].output.to_dict()


def test_the_loop_computes_the_elman_recurrence() -> None:
    spec = nnspec.loads(ELMAN.replace("  - {name: Out, type: Affine, out_shape: 2}\n", ""))
    values = parameters(spec)
    x = np.random.default_rng(1).uniform(-1, 1, (8, STEPS, FEATURES)).astype(np.float32)
    result = nnspec.run(spec, {"x": x}, params=values)
    w, b = values["Affine/affine/W"].astype(np.float64), values["Affine/affine/b"].astype(np.float64)
    h = np.zeros((len(x), STATE))
    expected = []
    for t in range(STEPS):
        h = np.tanh(np.concatenate([x[:, t], h], axis=1) @ w + b)
        expected.append(h)
    np.testing.assert_allclose(result.outputs["RecurrentOutput"], np.stack(expected, axis=1), rtol=0, atol=2e-6)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def numpy_lstm(x: np.ndarray, values: dict[str, np.ndarray], scope: str, h0: np.ndarray, c0: np.ndarray) -> np.ndarray:
    """NNC's LSTM unit (settings/NNabla/layer_component/Unit/LSTM.sdcproj) in float64, step by step:
    every gate an Affine over [h_{t-1}, x_t]; c_t = i*g + f*c_{t-1}; h_t = o*tanh(c_t)."""

    def gate(name: str, v: np.ndarray) -> np.ndarray:
        w, b = values[f"{scope}/{name}/affine/W"], values[f"{scope}/{name}/affine/b"]
        return v @ w.astype(np.float64) + b.astype(np.float64)

    h, c = h0.astype(np.float64), c0.astype(np.float64)
    out = []
    for t in range(x.shape[1]):
        v = np.concatenate([h, x[:, t].astype(np.float64)], axis=1)
        g, i, f, o = np.tanh(gate("Affine", v)), *(_sigmoid(gate(n, v)) for n in ("IGate", "FGate", "OGate"))
        c = i * g + f * c
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


LSTM_SPEC = f"""\
nnspec: 1
layers:
  - {{name: x, type: Input, size: [{STEPS}, {FEATURES}]}}
  - {{name: LSTM, type: LSTM, size: [{STATE}]{{extra}}}}
"""


def test_the_lstm_computes_nncs_lstm_unit() -> None:
    spec = nnspec.loads(LSTM_SPEC.replace("{extra}", ""))
    values = parameters(spec)
    gates = ("Affine", "IGate", "FGate", "OGate")
    assert set(values) == {f"LSTM/{g}/affine/{p}" for g in gates for p in "Wb"}  # NNC's names for the unit's
    assert values["LSTM/IGate/affine/W"].shape == (STATE + FEATURES, STATE)
    x = np.random.default_rng(2).uniform(-2, 2, (6, STEPS, FEATURES)).astype(np.float32)
    result = nnspec.run(spec, {"x": x}, params=values)
    zeros = np.zeros((6, STATE))
    expected = numpy_lstm(x, values, "LSTM", zeros, zeros)
    assert result.outputs["LSTM"].shape == (6, STEPS, STATE)
    np.testing.assert_allclose(result.outputs["LSTM"], expected, rtol=0, atol=3e-6)


def test_the_lstm_takes_its_initial_state_and_scope() -> None:
    extra = ", parameter_scope: enc, H: {input: h0}, C: {dataset: c0}"
    text = LSTM_SPEC.replace("{extra}", extra).replace(
        "  - {name: LSTM", f"  - {{name: h0, type: Input, size: [{STATE}]}}\n  - {{name: LSTM, input: x"
    )
    text = text.replace("  - {name: LSTM, input: x, type: LSTM", "  - {name: LSTM, type: LSTM, input: x")
    text = text.replace("nnspec: 1\n", "nnspec: 1\noutputs: [LSTM]\n")
    spec = nnspec.loads(text)
    values = parameters(spec)
    assert all(key.startswith("enc/") for key in values)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (4, STEPS, FEATURES)).astype(np.float32)
    h0, c0 = (rng.uniform(-1, 1, (4, STATE)).astype(np.float32) for _ in range(2))
    result = nnspec.run(spec, {"x": x, "h0": h0, "c0": c0}, params=values)
    np.testing.assert_allclose(result.outputs["LSTM"], numpy_lstm(x, values, "enc", h0, c0), rtol=0, atol=3e-6)


def test_a_delay_of_a_delay_reaches_two_steps_back() -> None:
    """o_t = x_t + x_{t-2}, with x_{-1} = 1 and x_{-2} = 2 (the Initials: a generator, and a layer)."""
    spec = nnspec.loads(
        """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [4, 2]}
  - {name: two, type: Input, size: [2], generator: Constant, generator_multiplier: 2.0}
  - {name: R, type: RecurrentInput, input: x}
  - {name: Back1, type: Delay, size: [2], input: R, Initial: {generator: Constant, generator_multiplier: 1.0}}
  - {name: Back2, type: Delay, size: [2], input: Back1, Initial: {input: two}}
  - {name: Sum, type: Add2, input: [R, Back2]}
  - {name: O, type: RecurrentOutput}
"""
    )
    x = np.arange(16, dtype=np.float32).reshape(2, 4, 2)
    result = nnspec.run(spec, {"x": x})
    back2 = np.concatenate([np.full((2, 1, 2), 2.0), np.full((2, 1, 2), 1.0), x[:, :2]], axis=1)
    np.testing.assert_array_equal(result.outputs["O"], x + back2.astype(np.float32))


def test_steps_are_named_as_nnabla_names_them() -> None:
    spec = nnspec.loads(ELMAN)
    assert [n for n in spec.layers if n.startswith("Tanh")] == [f"Tanh_RecurrentInput[{t}]" for t in range(STEPS)]
    assert "Delay_RecurrentInput[0]" in spec.layers and "Delay_RecurrentInput[1]" not in spec.layers
    assert spec.layers["Concatenate_RecurrentInput[2]"].inputs == [
        "RecurrentInput_RecurrentInput[2]",
        "Tanh_RecurrentInput[1]",
    ]
    assert ("Tanh_RecurrentInput[1]", "Concatenate_RecurrentInput[2]") in spec.delayed
    assert list(spec.written_layers) == [
        "x",
        "RecurrentInput",
        "Delay",
        "Concatenate",
        "Affine",
        "Tanh",
        "RecurrentOutput",
        "Out",
    ]


def test_outputs_name_a_step_not_a_layer_inside_the_loop(tmp_path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(ELMAN + "outputs: [Tanh]\n")
    [diagnostic] = validate(path)
    assert "'Tanh', which is inside the recurrent loop from 'RecurrentInput' to 'RecurrentOutput'" in diagnostic.message
    assert "Tanh_RecurrentInput[4]" in diagnostic.message
    path.write_text(ELMAN + "outputs: ['Tanh_RecurrentInput[4]']\n")
    assert nnspec.load(path).outputs == ["Tanh_RecurrentInput[4]"]


def test_static_analysis_sees_through_the_loop() -> None:
    """validate's predictions reach every step: a Tanh fed inputs of std 39 is predicted to saturate at step 0."""
    from nnspec.spec.static import estimates

    spec = nnspec.loads(ELMAN.replace("generator: Uniform", "generator: Uniform, generator_multiplier: 100.0"))
    found = estimates(spec)
    assert all(found[name] is not None for name in spec.layers)
    predicted = nnspec.validation.predicted(spec)
    assert any("Tanh_RecurrentInput[0]" in d.message and d.code == "tanh-hard-saturation" for d in predicted)


def test_the_picture_dashes_the_edges_through_a_delay() -> None:
    from nnspec.report.pictures.diagram import to_dot

    dot = to_dot(nnspec.loads(ELMAN), [], "heading")
    dashed = [line.strip() for line in dot.splitlines() if "dashed" in line]
    assert dashed == [
        f'"Tanh_RecurrentInput[{t}]" -> "Concatenate_RecurrentInput[{t + 1}]" [style=dashed];' for t in range(STEPS - 1)
    ]


def test_a_problem_every_step_shares_is_reported_once(tmp_path) -> None:
    """The steps share their parameters: a missing parameter file is one error, not one per step."""
    path = tmp_path / "spec.yaml"
    written = f"  - {{name: Affine, type: Affine, out_shape: {STATE}}}"
    path.write_text(ELMAN.replace(written, written[:-1] + ", W: {file: missing.npy}}"))
    [diagnostic] = validate(path)
    assert diagnostic.code == "missing-file" and diagnostic.line == 8
    assert f"(the same for {STEPS} copies of the layer)" in diagnostic.message


def test_an_lstms_steps_can_be_outputs_and_plotted() -> None:
    """Its layers' names hold a '/' (LSTM/Tanh_LSTM[2]): outputs: takes them, and a plot's file is flat."""
    from nnspec.report.pictures.plots import plot_file_names

    spec = nnspec.loads(LSTM_SPEC.replace("{extra}", "") + 'outputs: ["LSTM/Tanh_2_LSTM[2]", LSTM]\n')
    assert spec.outputs == ["LSTM/Tanh_2_LSTM[2]", "LSTM"]
    assert plot_file_names(["LSTM/Tanh_2_LSTM[2]"]) == {"LSTM/Tanh_2_LSTM[2]": "LSTM.Tanh_2_LSTM[2].png"}
