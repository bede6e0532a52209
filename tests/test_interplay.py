"""Issue 19's parts together: repeats with arguments and expressions, side inputs, views, reports.

Each part has its own tests; these check the pairs. The references are hand formulas in numpy on
the outputs each copy gives (``t[1] = tanh(fc[1])``), never nnspec's own output of another spec.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import SpecError
from nnspec.spec.resolved import resolved_text

X = np.array([[0.5, -1.5, 2.0, 0.0], [-0.25, 3.0, -2.0, 1.0], [0.1, 0.2, -0.3, -0.4]], dtype=np.float32)

TIMES_FROM_ARGUMENT = """\
nnspec: 1
arguments:
  n: {type: PInt, value: 4}
layers:
  - {name: x, type: Input, size: [4]}
  - {name: RepeatStart, type: RepeatStart, times: =n-1}
  - {name: fc, type: Affine, out_shape: "=Input[0]"}
  - {name: t, type: Tanh}
  - {name: RepeatEnd, type: RepeatEnd}
  - {name: y, type: Affine, out_shape: =n//2}
"""


def _diagnostics(text: str) -> list[nnspec.Diagnostic]:
    with pytest.raises(SpecError) as caught:
        nnspec.loads(text, "spec.yaml")
    return caught.value.diagnostics


# ------------------------------------------------------------------------------------ times: =n-1


def test_times_written_as_an_expression_reads_the_arguments() -> None:
    spec = nnspec.loads(TIMES_FROM_ARGUMENT)
    assert [name for name in spec.layers] == ["x", "fc[0]", "t[0]", "fc[1]", "t[1]", "fc[2]", "t[2]", "y"]
    assert spec.layers["y"].inputs == ["t[2]"]  # after the loop: the last of n-1 = 3 iterations
    assert spec.layers["y"].shape == (2,)


def test_times_reading_input_is_a_located_error_saying_why() -> None:
    (error,) = _diagnostics(TIMES_FROM_ARGUMENT.replace("times: =n-1", 'times: "=Input[0]-1"'))
    assert (error.line, error.column, error.code) == (6, 53, "expression")  # at 'Input', after the '"='
    assert "before any shape is known" in error.message and "may read arguments" in error.message


@pytest.mark.parametrize(
    ("written", "code", "column", "says"),
    [
        ("=m-1", "unknown-argument", 52, "unknown name 'm'"),
        ("=n-4", "invalid-value", 51, "must be an integer >= 1; got 0 (from =n-4)"),
        ("=n/3", "invalid-value", 52, "not a whole number"),
        ("=n-", "expression-syntax", 54, ""),
    ],
)
def test_times_expression_errors_are_located_as_any_expressions(written, code, column, says) -> None:
    errors = _diagnostics(TIMES_FROM_ARGUMENT.replace("=n-1", written))
    assert [(e.line, e.code) for e in errors] == [(6, code)], errors
    assert errors[0].column == column and says in errors[0].message


def test_times_of_an_inner_repeat_read_from_an_argument() -> None:
    text = """\
nnspec: 1
arguments:
  k: {type: Int, value: 3}
layers:
  - {name: x, type: Input, size: [4]}
  - {name: Outer, type: RepeatStart, times: =k-1}
  - {name: Inner, type: RepeatStart, times: =k}
  - {name: t, type: Tanh}
  - {name: InnerEnd, type: RepeatEnd}
  - {name: OuterEnd, type: RepeatEnd}
"""
    spec = nnspec.loads(text)
    assert [n for n in spec.layers if n != "x"] == [f"t[{i}][{j}]" for i in range(2) for j in range(3)]


# ---------------------------------------------------------------------------- expressions in a body


def test_each_copy_evaluates_its_expressions_into_properties_of_its_own() -> None:
    spec = nnspec.loads(TIMES_FROM_ARGUMENT)
    copies = [spec.layers[f"fc[{k}]"] for k in range(3)]
    assert [c.props["out_shape"] for c in copies] == [(4,)] * 3
    assert len({id(c.props) for c in copies}) == 3  # a copy's evaluation never writes another's


def test_a_body_expression_that_changes_the_shape_is_the_repeats_error() -> None:
    errors = _diagnostics(TIMES_FROM_ARGUMENT.replace('out_shape: "=Input[0]"', 'out_shape: "=Input[0]*2"'))
    assert [(e.line, e.code) for e in errors] == [(9, "shape")], errors
    assert "changes the shape" in errors[0].message and "(4,)" in errors[0].message and "(8,)" in errors[0].message


# ----------------------------------------------------------------------------------- side inputs

SIDE_AFTER_LOOP = """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [4]}
  - {name: RepeatStart, type: RepeatStart, times: 2}
  - {name: fc, type: Affine, out_shape: 4}
  - {name: t, type: Tanh}
  - {name: RepeatEnd, type: RepeatEnd}
  - {name: head, type: Affine, out_shape: 4}
  - {name: loss, type: SquaredError, input: head, T: {input: RepeatEnd}}
outputs: [loss, head, "t[0]", "t[1]"]
"""

SIDE_IN_BODY = """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [4]}
  - {name: RepeatStart, type: RepeatStart, times: 3}
  - {name: fc, type: Affine, out_shape: 4}
  - {name: t, type: Tanh}
  - {name: d, type: SquaredError, input: fc, T: {input: t}}
  - {name: s, type: Sub2, input: d, R: {input: RepeatStart}}
  - {name: RepeatEnd, type: RepeatEnd}
outputs: ["fc[0]", "t[0]", "d[0]", "s[0]", "fc[1]", "t[1]", "d[1]", "s[1]", "fc[2]", "t[2]", "d[2]", "s[2]"]
"""


def test_a_side_input_read_after_the_loop_reads_the_last_iteration() -> None:
    spec = nnspec.loads(SIDE_AFTER_LOOP)
    assert spec.layers["loss"].targets["T"].input == "t[1]"
    assert spec.graph.has_edge("t[1]", "loss")
    out = nnspec.run(spec, {"x": X}).outputs
    np.testing.assert_allclose(out["loss"], (out["head"] - out["t[1]"]) ** 2, rtol=1e-6)
    assert not np.allclose(out["t[0]"], out["t[1]"])  # the iterations differ: the test tells them apart


def test_side_inputs_inside_the_body_read_the_same_iteration() -> None:
    spec = nnspec.loads(SIDE_IN_BODY)
    assert [spec.layers[f"d[{k}]"].targets["T"].input for k in range(3)] == ["t[0]", "t[1]", "t[2]"]
    assert [spec.layers[f"s[{k}]"].inputs for k in range(3)] == [["d[0]", "x"], ["d[1]", "s[0]"], ["d[2]", "s[1]"]]
    out = nnspec.run(spec, {"x": X}).outputs
    entry = X
    for k in range(3):
        np.testing.assert_allclose(out[f"d[{k}]"], (out[f"fc[{k}]"] - out[f"t[{k}]"]) ** 2, rtol=1e-6)
        np.testing.assert_allclose(out[f"s[{k}]"], out[f"d[{k}]"] - entry, rtol=1e-6)
        entry = out[f"s[{k}]"]


def test_a_side_input_from_outside_naming_a_body_layer_is_the_ordinary_inputs_error() -> None:
    errors = _diagnostics(SIDE_AFTER_LOOP.replace("T: {input: RepeatEnd}", "T: {input: t}"))
    (error,) = [e for e in errors if e.code == "repeat"]  # (and outputs naming copies of a repeat not expanded)
    assert (error.line, error.code) == (9, "repeat")
    assert error.path == ("layers", 6, "T", "input") and error.column == 62  # at the pin's input: 't'
    assert "reads 't', which is inside the repeat" in error.message and "read 'RepeatEnd'" in error.message


# ------------------------------------------------------------------------------------------ views

VIEWS = """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [4]}
  - {name: RepeatStart, type: RepeatStart, times: 2}
  - {name: fc, type: Affine, out_shape: 4}
  - {name: drop, type: Dropout, p: 0.5}
  - {name: RepeatEnd, type: RepeatEnd}
  - {name: probs, type: Softmax}
  - {name: loss, type: CategoricalCrossEntropy, T: {generator: Constant}}
"""


def test_the_runtime_view_drops_the_loss_after_the_loop() -> None:
    spec = nnspec.loads(VIEWS)
    runtime = nnspec.run(spec, {"x": X}, view="runtime")
    validation = nnspec.run(nnspec.loads(VIEWS + "outputs: [probs, loss]\n"), {"x": X}, view="validation")
    assert list(runtime.stats) == ["x", "fc[0]", "drop[0]", "fc[1]", "drop[1]", "probs"]
    assert list(validation.stats)[-1] == "loss"
    assert list(runtime.outputs) == ["probs"]  # the default outputs follow the view
    assert runtime.outputs["probs"].tobytes() == validation.outputs["probs"].tobytes()


def test_dropout_inside_the_loop_passes_values_in_the_validation_view_and_drops_in_training() -> None:
    spec = nnspec.loads(VIEWS.replace("outputs", "x") + 'outputs: ["fc[0]", "drop[0]", "fc[1]", "drop[1]"]\n')
    validation = nnspec.run(spec, {"x": X}, view="validation").outputs
    for k in range(2):
        assert validation[f"drop[{k}]"].tobytes() == validation[f"fc[{k}]"].tobytes()
    training = nnspec.run(spec, {"x": X}, view="training").outputs
    for k in range(2):
        kept = training[f"drop[{k}]"] != 0
        assert 0 < kept.sum() < kept.size  # some dropped, some kept (and scaled by 1/(1-p))
        np.testing.assert_allclose(training[f"drop[{k}]"][kept], training[f"fc[{k}]"][kept] * 2, rtol=1e-6)


# ------------------------------------------------------------------------------ resolved round trip


@pytest.mark.parametrize("text", [TIMES_FROM_ARGUMENT, SIDE_AFTER_LOOP, SIDE_IN_BODY, VIEWS, VIEWS + "view: runtime\n"])
def test_the_resolved_text_of_each_combination_resolves_to_itself(text: str, tmp_path: Path) -> None:
    path = str(tmp_path / "spec.yaml")
    resolved = resolved_text(nnspec.loads(text, path))
    again = resolved_text(nnspec.loads(resolved, path))
    assert again == resolved


def test_the_resolved_text_shows_the_value_of_times_and_of_a_body_expression() -> None:
    text = resolved_text(nnspec.loads(TIMES_FROM_ARGUMENT))
    assert "    times: =n-1  # 3\n" in text
    assert "    out_shape: =Input[0]  # [4]\n" in text  # the body layer's line: its copies' value
    assert "    out_shape: =n//2  # [2]\n" in text


# ------------------------------------------------------------------------- summary, reports, graph


def test_the_summary_costs_each_copy_and_totals_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(TIMES_FROM_ARGUMENT)
    assert main(["validate", str(path), "--summary"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    for k in range(3):
        assert rows[f"fc[{k}]"][3] == "20"  # 4 x 4 weights and 4 biases, each copy its own
    assert rows["y"][3] == "10"
    assert rows["total"][1] == "70"  # 3 x 20 + 10


def test_validate_reports_name_the_copy_in_json_sarif_and_github(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    # A Tanh after a x10 scale in every iteration: static analysis predicts saturation per copy.
    path.write_text(
        TIMES_FROM_ARGUMENT.replace(
            "{name: t, type: Tanh}", "{name: big, type: MulScalar, value: 100}\n  - {name: t, type: Tanh}"
        )
    )
    assert main(["validate", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    layers = {d["layer"] for d in report["files"][0]["diagnostics"] if d.get("layer")}
    assert {"t[0]", "t[1]", "t[2]"} <= layers, report
    assert main(["validate", str(path), "--format", "sarif"]) == 0
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert {"t[0]", "t[1]", "t[2]"} <= {r["properties"].get("layer") for r in results}
    assert main(["validate", str(path), "--format", "github"]) == 0
    annotations = capsys.readouterr().out
    assert "'t[2]' (Tanh)" in annotations and ",line=9," in annotations


NESTED = """\
nnspec: 1
name: nested
layers:
  - {name: x, type: Input, size: [4]}
  - {name: Outer, type: RepeatStart, times: 2}
  - {name: Inner, type: RepeatStart, times: 3}
  - {name: t, type: Tanh}
  - {name: InnerEnd, type: RepeatEnd}
  - {name: s, type: Sigmoid}
  - {name: OuterEnd, type: RepeatEnd}
  - {name: loss, type: SquaredError, T: {generator: Constant}}
"""


def _clusters(dot: str) -> list[tuple[int, str, list[str]]]:
    """Each DOT cluster: its depth of nesting, its label, and the nodes declared directly in it."""
    found: list[tuple[int, str, list[str]]] = []
    open_clusters: list[int] = []
    for line in dot.splitlines():
        stripped = line.strip()
        if stripped.startswith('subgraph "cluster_'):
            found.append((len(open_clusters), "", []))
            open_clusters.append(len(found) - 1)
        elif stripped.startswith("graph [label=") and open_clusters:
            depth, _, nodes = found[open_clusters[-1]]
            found[open_clusters[-1]] = (depth, stripped.split('"')[1], nodes)
        elif stripped == "}" and open_clusters:
            open_clusters.pop()
        elif open_clusters and stripped.startswith('"') and " -> " not in stripped:
            found[open_clusters[-1]][2].append(stripped.split('"')[1])
    return found


def test_dot_draws_each_repeat_as_a_cluster_with_its_count_around_its_copies() -> None:
    dot = nnspec.graph(nnspec.loads(NESTED), "dot").decode()
    assert _clusters(dot) == [
        (0, "Outer x2", ["s[0]", "s[1]"]),
        (1, "Inner[0] x3", ["t[0][0]", "t[0][1]", "t[0][2]"]),
        (1, "Inner[1] x3", ["t[1][0]", "t[1][1]", "t[1][2]"]),
    ]
    assert '"loss" [' in dot.split('subgraph "cluster_')[0]  # outside every block: before the first cluster
    assert '"t[0][2]" -> "s[0]";' in dot and '"s[0]" -> "t[1][0]";' in dot  # the edges are unchanged


def test_a_view_frames_only_the_copies_it_draws() -> None:
    one_layer_body = NESTED.replace("  - {name: s, type: Sigmoid}\n", "")
    spec = nnspec.loads(
        one_layer_body.replace(
            "OuterEnd, type: RepeatEnd}",
            "OuterEnd, type: RepeatEnd}\n  - {name: probs, type: Softmax, input: OuterEnd}",
        )
    )
    dot = nnspec.graph(spec, "dot", view="runtime").decode()
    assert [label for _, label, _ in _clusters(dot)] == ["Outer x2", "Inner[0] x3", "Inner[1] x3"]
    assert "loss" not in dot


def test_the_drawn_frames_hold_their_boxes_and_nest() -> None:
    from nnspec.report.pictures.diagram import block_frames, box_size, boxes, layout

    spec = nnspec.loads(NESTED)
    sizes = {name: box_size(box) for name, box in boxes(spec, []).items()}
    centres = layout(spec, sizes)
    frames = block_frames(spec, centres, sizes)
    assert [block.label for block, _ in frames] == ["Outer x2", "Inner[0] x3", "Inner[1] x3"]
    for block, (left, top, right, bottom) in frames:
        for name in block.layers:
            (x, y), (w, h) = centres[name], sizes[name]
            assert left < x - w / 2 and x + w / 2 < right and top < y - h / 2 and y + h / 2 < bottom, name
        outside = set(spec.layers) - set(block.layers)
        assert not any(left < centres[n][0] < right and top < centres[n][1] < bottom for n in outside), block
    (_, outer), (_, inner0), (_, inner1) = frames
    for inner in (inner0, inner1):  # strictly inside the outer frame, with room for the outer's label strip
        assert outer[0] < inner[0] and outer[1] < inner[1] and inner[2] < outer[2] and inner[3] < outer[3]


def test_the_svg_draws_each_frame_and_its_count() -> None:
    pytest.importorskip("matplotlib")
    svg = nnspec.graph(nnspec.loads(NESTED), "svg").decode()
    for label in ("Outer x2", "Inner[0] x3", "Inner[1] x3"):
        assert f">{label}<" in svg
