"""RepeatStart/RepeatEnd: a repeat runs exactly as the same network written out by hand.

The independent reference is a hand-unrolled spec: every iteration's layers written out under
their own names (``Convolution_2_1``), each with ``parameter_scope: Convolution_2[1]`` so that it
reads the same parameter as the repeat's copy ``Convolution_2[1]`` (the nnabla name NNC's
parameter files use), wired iteration to iteration by hand. Both specs run on the same data with
parameters from the same .npz (keys ``Name[i]/conv/W``); outputs and every layer's statistics
must be bit-identical, copy ``Name[i]`` against hand layer ``Name_i``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.spec.expand import copy_name
from nnspec.validation import validate

from .conftest import SPECS

HEAD = """\
nnspec: 1
seed: 3
layers:
  - {name: x, type: Input, size: [2, 6, 6], generator: Uniform}
  - {name: Convolution, type: Convolution, out_maps: 4, kernel_shape: [3, 3], border_mode: same}
  - {name: Tanh, type: Tanh}
"""

TAIL = """\
  - {name: Pool, type: GlobalAveragePooling}
  - {name: Affine, type: Affine, out_shape: 5}
  - {name: Softmax, type: Softmax}
"""

# The body of 12_residual_learning's repeated block, in miniature: Add2 reads RepeatStart.
RESIDUAL_BODY = [
    ("Convolution_2", "Convolution", "out_maps: 4, kernel_shape: [3, 3], border_mode: same, with_bias: false", None),
    ("BatchNormalization", "BatchNormalization", "", None),
    ("ReLU", "ReLU", "", None),
    ("Convolution_3", "Convolution", "out_maps: 4, kernel_shape: [3, 3], border_mode: same", None),
    ("Add2", "Add2", "", ["Convolution_3", "RepeatStart"]),
    ("ReLU_2", "ReLU", "", None),
]


def _line(name: str, type_: str, props: str, inputs: list[str] | None, scope: str | None = None) -> str:
    parts = [f"name: {name}", f"type: {type_}"]
    if inputs is not None:
        parts.append(f"input: [{', '.join(inputs)}]")
    if props:
        parts.append(props)
    if scope is not None:
        parts.append(f'parameter_scope: "{scope}"')
    return "  - {" + ", ".join(parts) + "}\n"


def repeat_spec(times: int) -> str:
    body = "".join(_line(*layer) for layer in RESIDUAL_BODY)
    return (
        HEAD
        + f"  - {{name: RepeatStart, type: RepeatStart, times: {times}}}\n"
        + body
        + "  - {name: RepeatEnd, type: RepeatEnd}\n"
        + TAIL
    )


def unrolled_spec(times: int) -> str:
    """The same network written out: iteration i's layers are Name_i, reading iteration i-1's ReLU_2."""
    lines = []
    previous = "Tanh"
    for i in range(times):
        written = {name for name, *_ in RESIDUAL_BODY}
        for name, type_, props, inputs in RESIDUAL_BODY:
            wired = None
            if inputs is not None:
                wired = [previous if source == "RepeatStart" else f"{source}_{i}" for source in inputs]
            elif name == RESIDUAL_BODY[0][0]:
                wired = [previous]
            has_parameters = type_ in ("Convolution", "BatchNormalization")
            lines.append(_line(f"{name}_{i}", type_, props, wired, f"{name}[{i}]" if has_parameters else None))
            assert not inputs or set(inputs) <= written | {"RepeatStart"}
        previous = f"ReLU_2_{i}"
    return (
        HEAD
        + "".join(lines)
        + TAIL.replace("type: GlobalAveragePooling", f"type: GlobalAveragePooling, input: {previous}")
    )


def parameters(spec: nnspec.Spec, seed: int = 11) -> dict[str, np.ndarray]:
    """Random values for every parameter, by nnabla name (variances kept positive)."""
    rng = np.random.default_rng(seed)
    values = {}
    for layer in spec.layers.values():
        for name, shape in layer.parameter_shapes.items():
            key = layer.parameter_key(name)
            draw = rng.uniform(0.5, 1.5, shape) if name == "var" else rng.normal(0, 0.5, shape)
            values[key] = draw.astype(np.float32)
    return values


def _as_hand_name(name: str) -> str:
    """Convolution_2[1] -> Convolution_2_1, the hand-unrolled layer's name."""
    return re.sub(r"\[(\d+)\]", r"_\1", name)


def _same_stats(a: nnspec.LayerStats, b: nnspec.LayerStats) -> bool:
    one, other = a.output.to_dict(), b.output.to_dict()
    return one == other and np.array_equal(a.output.histogram, b.output.histogram)


@pytest.mark.parametrize("times", [1, 3])
def test_repeat_runs_bit_identical_to_the_network_written_out(tmp_path: Path, times: int) -> None:
    repeat = nnspec.loads(repeat_spec(times), str(tmp_path / "repeat.yaml"))
    unrolled = nnspec.loads(unrolled_spec(times), str(tmp_path / "unrolled.yaml"))
    npz = tmp_path / "params.npz"
    values = parameters(repeat)
    assert f"Convolution_2[{times - 1}]/conv/W" in values
    np.savez(npz, **values)

    ran = nnspec.run(repeat, params=npz, samples=16, batch_size=5)
    hand = nnspec.run(unrolled, params=npz, samples=16, batch_size=5)

    assert not ran.notes and not hand.notes  # every key of the .npz used, by both
    np.testing.assert_array_equal(ran.outputs["Softmax"], hand.outputs["Softmax"])
    assert [_as_hand_name(n) for n in ran.stats] == list(hand.stats)
    for name, stats in ran.stats.items():
        assert _same_stats(stats, hand.stats[_as_hand_name(name)]), name
    assert [(_as_hand_name(f.layer), f.check) for f in ran.findings] == [(f.layer, f.check) for f in hand.findings]


def test_copies_are_named_per_iteration_and_markers_are_gone(tmp_path: Path) -> None:
    spec = nnspec.loads(repeat_spec(2), str(tmp_path / "r.yaml"))
    body = [name for name, *_ in RESIDUAL_BODY]
    assert list(spec.layers) == [
        "x",
        "Convolution",
        "Tanh",
        *[f"{n}[{i}]" for i in range(2) for n in body],
        "Pool",
        "Affine",
        "Softmax",
    ]
    assert "RepeatStart" not in spec.layers and "RepeatEnd" not in spec.layers
    assert spec.layers["Convolution_2[0]"].inputs == ["Tanh"]  # iteration 0 reads the loop's input
    assert spec.layers["Convolution_2[1]"].inputs == ["ReLU_2[0]"]  # iteration 1, iteration 0's last layer
    assert spec.layers["Add2[1]"].inputs == ["Convolution_3[1]", "ReLU_2[0]"]  # RepeatStart: this iteration's input
    assert spec.layers["Pool"].inputs == ["ReLU_2[1]"]  # after RepeatEnd: the last iteration
    assert spec.layers["Convolution_2[1]"].parameter_key("W") == "Convolution_2[1]/conv/W"
    # every copy is located where its layer is written
    assert spec.locate("Convolution_2[1]") == spec.locate("Convolution_2[0]") == (8, 5)


def test_nested_repeats_name_copies_outer_iteration_first(tmp_path: Path) -> None:
    """NNC writes a parameter of nested repeats as Name{Outer}{Inner}; nnabla makes it Name[i][j]."""
    text = (
        HEAD
        + "  - {name: Outer, type: RepeatStart, times: 2}\n"
        + "  - {name: Inner, type: RepeatStart, times: 3}\n"
        + "  - {name: Conv, type: Convolution, out_maps: 4, kernel_shape: [3, 3], border_mode: same}\n"
        + "  - {name: Act, type: Tanh}\n"
        + "  - {name: InnerEnd, type: RepeatEnd}\n"
        + "  - {name: Mix, type: Add2, input: [InnerEnd, Outer]}\n"
        + "  - {name: OuterEnd, type: RepeatEnd}\n"
        + TAIL
    )
    spec = nnspec.loads(text, str(tmp_path / "n.yaml"))
    convs = [name for name in spec.layers if name.startswith("Conv[")]
    assert convs == [copy_name("Conv", (i, j)) for i in range(2) for j in range(3)]
    assert spec.layers["Conv[0][0]"].inputs == ["Tanh"]
    assert spec.layers["Conv[0][1]"].inputs == ["Act[0][0]"]
    assert spec.layers["Conv[1][0]"].inputs == ["Mix[0]"]  # the outer iteration's input: Mix of iteration 0
    assert spec.layers["Mix[1]"].inputs == ["Act[1][2]", "Mix[0]"]  # InnerEnd: the last inner iteration
    assert spec.layers["Pool"].inputs == ["Mix[1]"]
    assert spec.layers["Conv[1][2]"].parameter_key("W") == "Conv[1][2]/conv/W"


NESTED = """\
  - {name: Outer, type: RepeatStart, times: 2}
  - {name: Inner, type: RepeatStart, times: 2}
  - {name: Conv, type: Convolution, out_maps: 4, kernel_shape: [3, 3], border_mode: same}
  - {name: Act, type: Tanh}
  - {name: InnerEnd, type: RepeatEnd}
  - {name: Mix, type: Add2, input: [InnerEnd, Outer]}
  - {name: OuterEnd, type: RepeatEnd}
"""

CONV = "type: Convolution, out_maps: 4, kernel_shape: [3, 3], border_mode: same"
NESTED_BY_HAND = (
    f'  - {{name: Conv_0_0, {CONV}, input: Tanh, parameter_scope: "Conv[0][0]"}}\n'
    "  - {name: Act_0_0, type: Tanh}\n"
    f'  - {{name: Conv_0_1, {CONV}, parameter_scope: "Conv[0][1]"}}\n'
    "  - {name: Act_0_1, type: Tanh}\n"
    "  - {name: Mix_0, type: Add2, input: [Act_0_1, Tanh]}\n"
    f'  - {{name: Conv_1_0, {CONV}, parameter_scope: "Conv[1][0]"}}\n'
    "  - {name: Act_1_0, type: Tanh}\n"
    f'  - {{name: Conv_1_1, {CONV}, parameter_scope: "Conv[1][1]"}}\n'
    "  - {name: Act_1_1, type: Tanh}\n"
    "  - {name: Mix_1, type: Add2, input: [Act_1_1, Mix_0]}\n"
)


def test_nested_repeats_run_bit_identical_to_the_network_written_out(tmp_path: Path) -> None:
    spec = nnspec.loads(HEAD + NESTED + TAIL, str(tmp_path / "n.yaml"))
    hand = nnspec.loads(HEAD + NESTED_BY_HAND + TAIL, str(tmp_path / "h.yaml"))
    values = parameters(spec)
    assert sorted(values) == sorted(parameters(hand))
    ran, by_hand = nnspec.run(spec, params=values, samples=8), nnspec.run(hand, params=values, samples=8)
    np.testing.assert_array_equal(ran.outputs["Softmax"], by_hand.outputs["Softmax"])
    names = [re.sub(r"\[(\d+)\]\[(\d+)\]", r"_\1_\2", n) for n in ran.stats]
    assert [_as_hand_name(n) for n in names] == list(by_hand.stats)
    for name, stats in ran.stats.items():
        assert _same_stats(stats, by_hand.stats[_as_hand_name(re.sub(r"\[(\d+)\]\[(\d+)\]", r"_\1_\2", name))])


def test_parameter_scope_gets_the_iteration(tmp_path: Path) -> None:
    text = repeat_spec(2).replace(
        "name: Convolution_3, type: Convolution,", 'name: Convolution_3, type: Convolution, parameter_scope: "block",'
    )
    spec = nnspec.loads(text, str(tmp_path / "s.yaml"))
    assert spec.layers["Convolution_3[1]"].parameter_key("W") == "block[1]/conv/W"


def test_outputs_name_copies_and_the_repeat_end(tmp_path: Path) -> None:
    text = repeat_spec(2) + 'outputs: ["ReLU[0]", RepeatEnd, Softmax]\n'
    spec = nnspec.loads(text, str(tmp_path / "o.yaml"))
    assert spec.outputs == ["ReLU[0]", "ReLU_2[1]", "Softmax"]


def test_outputs_naming_a_body_layer_names_its_copies(tmp_path: Path) -> None:
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(repeat_spec(2) + "outputs: [ReLU]\n", str(tmp_path / "o.yaml"))
    assert "its copies are ReLU[0] to ReLU[1]; name one of them (e.g. 'ReLU[1]'" in str(caught.value)


def test_the_example_spec_validates_and_its_predictions_name_copies() -> None:
    spec = nnspec.load(SPECS / "repeat_residual.yaml")
    assert [n for n in spec.layers if n.startswith("Add2")] == ["Add2[0]", "Add2[1]", "Add2[2]"]


SATURATING = """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [8], generator: Normal, generator_multiplier: 1.0}
  - {name: RepeatStart, type: RepeatStart, times: 2}
  - {name: Scale, type: MulScalar, value: 50.0}
  - {name: Squash, type: Tanh}
  - {name: RepeatEnd, type: RepeatEnd}
"""


def test_static_analysis_sees_through_the_repeat(tmp_path: Path) -> None:
    """Each copy is predicted on its own: a Tanh repeated on a large scale saturates in every iteration."""
    path = tmp_path / "sat.yaml"
    path.write_text(SATURATING)
    found = validate(path)
    layers = {d.layer for d in found}
    assert {"Squash[0]", "Squash[1]"} <= layers, found
    assert all(d.line == 6 for d in found if d.layer and d.layer.startswith("Squash"))


def test_the_graph_draws_every_copy(tmp_path: Path) -> None:
    spec = nnspec.loads(repeat_spec(2), str(tmp_path / "g.yaml"))
    dot = nnspec.graph(spec, "dot").decode()
    assert '"ReLU_2[0]" -> "Convolution_2[1]";' in dot  # iteration 1 reads iteration 0's last layer
    assert '"ReLU_2[0]" -> "Add2[1]";' in dot  # and so does its skip connection (RepeatStart)
    assert '"ReLU_2[1]" -> "Pool";' in dot
    assert '"RepeatStart" [' not in dot and "RepeatEnd" not in dot  # no box for a marker
    assert 'graph [label="RepeatStart x2"' in dot  # the block: a cluster with its count


def test_resolved_spec_writes_the_repeat_as_written(tmp_path: Path) -> None:
    from nnspec.spec.resolved import resolved_text

    spec = nnspec.loads(repeat_spec(3), str(tmp_path / "r.yaml"))
    text = resolved_text(spec)
    assert "type: RepeatStart" in text and "times: 3" in text and "Convolution_2[" not in text
    again = nnspec.loads(text, str(tmp_path / "r.yaml"))
    assert list(again.layers) == list(spec.layers)


def test_every_report_names_the_copies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Copy names hold [ and ]: JSON, GitHub annotations, SARIF and the saved outputs carry them as they are."""
    path = tmp_path / "sat.yaml"
    path.write_text(SATURATING)
    out = tmp_path / "out.npz"
    assert main(["run", str(path), "--format", "json", "--output", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [layer["name"] for layer in report["layers"]][1:] == ["Scale[0]", "Squash[0]", "Scale[1]", "Squash[1]"]
    assert {f["layer"] for f in report["findings"]} == {"Squash[0]", "Squash[1]"}
    assert list(np.load(out)) == ["Squash[1]"]
    assert main(["run", str(path), "--format", "github"]) == 0
    annotations = capsys.readouterr().out.splitlines()
    assert annotations[0].startswith("::warning file=") and ",line=6,col=5," in annotations[0]
    assert "::'Squash[0]' (Tanh):" in annotations[0]
    assert main(["run", str(path), "--format", "sarif"]) == 0
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert [r["properties"]["layer"] for r in results] == ["Squash[0]", "Squash[1]"]


def test_nested_repeats_as_nncs_export_writes_them(tmp_path: Path) -> None:
    """The structure of an NNC export kept in nnabla's test data (python/test/core/nntxt.py): outer
    RepeatStart_2 and inner RepeatStart, times 2 each, the inner RepeatEnd read directly by the outer
    one; its parameters are Convolution_2{RepeatStart_2}{RepeatStart}/conv/W, which nnabla's
    expand_loop_control names Convolution_2[i][j]/conv/W, the outer iteration i first."""
    text = """\
nnspec: 1
layers:
  - {name: Input, type: Input, size: [1, 28, 28]}
  - {name: Convolution, type: Convolution, out_maps: 4, kernel_shape: [5, 5], border_mode: valid}
  - {name: MaxPooling, type: MaxPooling, kernel_shape: [2, 2]}
  - {name: Tanh, type: Tanh}
  - {name: RepeatStart_2, type: RepeatStart, times: 2}
  - {name: RepeatStart, type: RepeatStart, times: 2}
  - {name: Convolution_2, type: Convolution, out_maps: 4, kernel_shape: [3, 3], border_mode: same}
  - {name: Tanh_2, type: Tanh}
  - {name: RepeatEnd, type: RepeatEnd}
  - {name: RepeatEnd_2, type: RepeatEnd}
  - {name: MaxPooling_2, type: MaxPooling, kernel_shape: [2, 2]}
  - {name: Affine, type: Affine, out_shape: 10}
"""
    spec = nnspec.loads(text, str(tmp_path / "nncexport.yaml"))
    assert [n for n in spec.layers if n.startswith("Convolution_2")] == [
        "Convolution_2[0][0]",
        "Convolution_2[0][1]",
        "Convolution_2[1][0]",
        "Convolution_2[1][1]",
    ]
    assert spec.layers["Convolution_2[0][0]"].inputs == ["Tanh"]
    assert spec.layers["Convolution_2[0][1]"].inputs == ["Tanh_2[0][0]"]
    assert spec.layers["Convolution_2[1][0]"].inputs == ["Tanh_2[0][1]"]  # the outer loop's last: RepeatEnd
    assert spec.layers["MaxPooling_2"].inputs == ["Tanh_2[1][1]"]
    keys = {spec.layers[n].parameter_key("W") for n in spec.layers if n.startswith("Convolution_2")}
    assert keys == {f"Convolution_2[{i}][{j}]/conv/W" for i in range(2) for j in range(2)}


def test_nnabla_parameter_h5_with_copy_names_loads(tmp_path: Path) -> None:
    """NNC's parameter.h5 keeps Convolution_2[1]/conv/W as group 'Convolution_2[1]/conv', dataset W."""
    h5py = pytest.importorskip("h5py")
    spec = nnspec.loads(repeat_spec(2), str(tmp_path / "r.yaml"))
    values = parameters(spec)
    with h5py.File(tmp_path / "parameter.h5", "w") as file:
        for key, value in values.items():
            file[key] = value
    result = nnspec.run(spec, params=tmp_path / "parameter.h5", samples=2)
    assert not result.notes  # every parameter of the file used
    np.testing.assert_array_equal(result.layer_parameters["Convolution_2[1]"]["W"], values["Convolution_2[1]/conv/W"])
