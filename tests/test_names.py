"""Names as NNC writes them: a layer called y' (NNC's runtime output) travels unchanged through every
place a name goes, and no name can make a path.

NNC's editor keeps ' in a layer name (stripForbiddenCharactersForName keeps A-Za-z0-9 ' _), and
names its runtime outputs y'; nnspec allows ' after a name's first character (schema.NAME_PATTERN).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import SpecError
from nnspec.report.pictures.diagram import element_id, to_dot
from nnspec.report.pictures.plots import plot_file_names
from nnspec.spec.readers import read_spec
from nnspec.spec.schema import EXPANDED_NAME_PATTERN, NAME_PATTERN

# Nine raw values into Tanh (8 of 9 outputs saturate: a finding at y'_Tanh), then NNC's y' naming.
PRIMED = """\
nnspec: 2
layers:
  - name: x'
    type: Input
    size: [9]
    range: [-255, 255]
  - {name: y'_Tanh, type: Tanh, input: x'}
  - {name: y', type: Affine, input: y'_Tanh, out_shape: 2, W: {initializer: Constant, multiplier: 0.5}}
outputs: y'
data:
  x': [[255, 150, 100, 10, 0, -10, -100, -150, -255]]
"""


def test_the_name_pattern_takes_nncs_prime_after_the_first_character():
    for name in ("y'", "y'_Affine", "category'", "x''", "_'"):
        assert re.fullmatch(NAME_PATTERN, name), name
    for name in ("'y", "y/z", "../y", "..", ".", "y.png", "y z", 'y"', "", "y'/"):
        assert not re.fullmatch(NAME_PATTERN, name), name
    for name in ("y'[0]", "Unit'/y'", "U[1]/y'[0][2]"):
        assert re.fullmatch(EXPANDED_NAME_PATTERN, name), name
    for name in ("'y[0]", "U/../y", "U//y", "/y", "y/"):
        assert not re.fullmatch(EXPANDED_NAME_PATTERN, name), name


@pytest.mark.parametrize("name", ["'y", "y/..", "../y", "a/b", "y.z"])
def test_a_name_that_could_make_a_path_or_a_quoted_scalar_is_refused_at_its_place(write_spec, name):
    path = write_spec(PRIMED.replace("{name: y'_Tanh,", "{name: " + json.dumps(name) + ","))
    with pytest.raises(SpecError) as caught:
        nnspec.load(path)
    first = caught.value.diagnostics[0]
    assert first.line == 7 and "name" in first.message


def test_a_primed_name_validates_and_runs_under_its_own_name(write_spec):
    result = nnspec.run(str(write_spec(PRIMED)))
    assert list(result.outputs) == ["y'"]
    x = np.array([255, 150, 100, 10, 0, -10, -100, -150, -255], dtype=np.float32)
    expected = np.full(2, 0.5 * np.tanh(x).sum(), dtype=np.float32)  # Constant 0.5 weights, zero bias
    np.testing.assert_allclose(result.outputs["y'"][0], expected, rtol=1e-5)


def test_messages_quote_a_primed_name_in_double_quotes(write_spec):
    spec = nnspec.load(write_spec(PRIMED))
    assert spec.layers["y'"].title == '"y\'" (Affine)'
    assert spec.layers["x'"].title == '"x\'" (Input)' and spec.layers["y'_Tanh"].parameter_scope == "y'_Tanh"


def test_parameters_keep_the_primed_name(write_spec, tmp_path):
    assert main(["run", str(write_spec(PRIMED)), "-q", "--save-params", str(tmp_path / "p.npz")]) == 0
    with np.load(tmp_path / "p.npz") as saved:
        assert sorted(saved) == ["y'/affine/W", "y'/affine/b"]
        np.testing.assert_array_equal(saved["y'/affine/W"], np.full((9, 2), 0.5, dtype=np.float32))
    # and they load back by that name
    assert main(["run", str(write_spec(PRIMED)), "-q", "--params", str(tmp_path / "p.npz")]) == 0


def test_output_files_key_and_head_by_the_primed_name(write_spec, tmp_path):
    spec = str(write_spec(PRIMED))
    assert main(["run", spec, "-q", "--output", str(tmp_path / "o.npz")]) == 0
    with np.load(tmp_path / "o.npz") as saved:
        assert list(saved) == ["y'"]
    assert main(["run", spec, "-q", "--output", str(tmp_path / "o.csv")]) == 0
    assert (tmp_path / "o.csv").read_text().splitlines()[0] == "y'__0,y'__1"


def test_the_data_variable_of_a_primed_input_is_read_by_that_name(write_spec, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 9), dtype=np.float32))
    result = nnspec.run(str(write_spec(PRIMED)), {"x'": np.zeros((2, 9), dtype=np.float32)})
    np.testing.assert_array_equal(result.outputs["y'"], np.zeros((2, 2), dtype=np.float32))
    assert main(["run", str(write_spec(PRIMED)), "-q", "--input", f"x'={tmp_path / 'x.npy'}"]) == 0


def test_json_sarif_and_github_name_the_layer_as_written(write_spec, capsys, monkeypatch):
    path = write_spec(PRIMED)
    monkeypatch.chdir(path.parent)
    assert main(["run", path.name, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [layer["name"] for layer in report["layers"]] == ["x'", "y'_Tanh", "y'"]
    assert [f["layer"] for f in report["findings"] if f["check"] == "tanh-hard-saturation"] == ["y'_Tanh"]
    assert main(["run", path.name, "--format", "sarif"]) == 0
    sarif = json.loads(capsys.readouterr().out)
    results = sarif["runs"][0]["results"]
    saturation = next(r for r in results if r["ruleId"] == "tanh-hard-saturation")
    assert "y'_Tanh" in saturation["message"]["text"]
    assert saturation["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert main(["run", path.name, "--format", "github"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("::warning file=spec.yaml,line=7,col=5,") and "y'_Tanh" in line for line in lines)


def test_pictures_hold_the_primed_name_escaped(write_spec):
    spec = nnspec.load(write_spec(PRIMED))
    dot = to_dot(spec, [], "heading")
    assert "\"y'_Tanh" in dot or "y'_Tanh" in dot
    assert element_id("y'") == "y-u0027-" and element_id("y'") != element_id("y")
    assert element_id("y'_Tanh") != element_id("y_Tanh")


def test_plot_file_names_keep_the_prime_and_never_make_a_path():
    names = ["y'", "y'[0]", "Unit'/y'[1]", "y", "Y'"]
    files = plot_file_names(names)
    assert files == {
        "y'": "y'.png",
        "y'[0]": "y'[0].png",
        "Unit'/y'[1]": "Unit'.y'[1].png",
        "y": "y.png",
        "Y'": "Y'-2.png",  # y'.png on a file system that ignores case
    }
    for file in files.values():
        assert Path(file).name == file and ".." not in file and "/" not in file


def test_plots_are_written_under_the_primed_names(write_spec, tmp_path):
    pytest.importorskip("matplotlib")
    assert main(["run", str(write_spec(PRIMED)), "-q", "--plots", str(tmp_path / "plots")]) == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["x'.png", "y'.png", "y'_Tanh.png"]


def test_the_html_report_ids_and_links_of_a_primed_name(write_spec, tmp_path):
    from nnspec.report.pictures.html import anchor

    assert anchor("y'") == "layer-y-u0027-" and anchor("y'") != anchor("y")
    pytest.importorskip("matplotlib")
    assert main(["run", str(write_spec(PRIMED)), "-q", "--report", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert 'id="layer-y-u0027-"' in html and 'href="#layer-y-u0027-"' in html
    assert ">y&#x27;_Tanh</a>" in html  # the name shown, its quote escaped


REPEATED = """\
nnspec: 2
networks:
  block':
    layers: []
layers:
  - {name: x, type: Input, size: [3], generator: Uniform}
  - {name: RepeatStart, type: RepeatStart, times: 2}
  - {name: y', type: Tanh}
  - {name: RepeatEnd, type: RepeatEnd}
outputs: ["y'[0]", "y'[1]"]
"""


def test_repeat_copies_of_a_primed_layer_are_named_by_it(write_spec):
    text = REPEATED.replace("networks:\n  block':\n    layers: []\n", "")
    spec = nnspec.load(write_spec(text))
    assert [name for name in spec.layers if "y'" in name] == ["y'[0]", "y'[1]"]
    result = nnspec.run(spec, samples=2)
    np.testing.assert_allclose(result.outputs["y'[1]"], np.tanh(result.outputs["y'[0]"]), rtol=1e-6)


def test_a_network_or_argument_name_stays_an_identifier(write_spec):
    with pytest.raises(SpecError) as caught:
        nnspec.load(write_spec(REPEATED))
    assert any("block'" in d.message for d in caught.value.diagnostics)


UNIT = """\
nnspec: 2
networks:
  Block:
    layers:
      - {name: Input, type: Input, size: [3]}
      - {name: h', type: Affine, out_shape: 2}
layers:
  - {name: x, type: Input, size: [3], generator: Uniform}
  - {name: u', type: Unit, network: Block, parameters: {h': {W: {multiplier: 2}}}}
outputs: "u'/h'"
"""


def test_a_units_layers_are_named_unit_path_and_primed_name(write_spec):
    spec = nnspec.load(write_spec(UNIT))
    assert "u'/h'" in spec.layers and spec.layers["u'/h'"].parameter_key("W") == "u'/h'/affine/W"
    assert plot_file_names(["u'/h'"]) == {"u'/h'": "u'.h'.png"}


# -- the readers keep NNC's names -------------------------------------------------------------------

NNTXT = """\
network {
  name: "Main"
  batch_size: 1
  variable { name: "x" type: "Buffer" shape: { dim:-1 dim: 4 } }
  variable { name: "y" type: "Buffer" shape: { dim:-1 dim: 4 } }
  function { name: "%s" type: "Tanh" input: "x" output: "y" }
}
executor {
  name: "Executor"
  network_name: "Main"
  data_variable { variable_name: "x" data_name: "x" }
  output_variable { variable_name: "y" data_name: "y" }
}
"""


@pytest.mark.parametrize(
    ("written", "read"), [("y'", "y'"), ("y'_Tanh", "y'_Tanh"), ("'y", "_'y"), ("f@2", "f_2"), ("1y", "_1y")]
)
def test_nntxt_keeps_a_primed_name_and_mangles_what_nnspec_refuses(tmp_path, written, read):
    path = tmp_path / "net.nntxt"
    path.write_text(NNTXT % written)
    data = read_spec(path).data
    assert [layer["name"] for layer in data["layers"]] == ["x", read]
    assert data["outputs"] == [read]
    assert ("Names changed" in data["description"]) == (written != read)
    nnspec.load(str(path))  # and the spec validates


def test_messages_naming_a_primed_layer_quote_it_whole(write_spec):
    path = write_spec(PRIMED.replace("input: y'_Tanh,", "input: z',"))
    with pytest.raises(SpecError) as caught:
        nnspec.load(path)
    [error] = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert 'layer "y\'" (Affine) reads "z\'", but no layer has that name' in error.message
