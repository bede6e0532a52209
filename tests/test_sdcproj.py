"""NNC's project files (.sdcproj) read by every command: nnspec.spec.sdcproj.

The fixtures in tests/fixtures/nnc/ are written for these tests in NNC's grammar (docs/nnc.md):
lenet.sdcproj (one network, its layers in creation order, a Comment layer, NNC's y' name, the
executor on MainRuntime), lenet.yaml (the same network written by hand as a spec), multi.sdcproj
([Global] with a unit network, an argument, a repeat, a second operand and a target fed by links).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError, UsageError
from nnspec.spec.readers import read_spec
from nnspec.spec.sdcproj import MAX_LAYERS, read_sdcproj
from nnspec.validation import checked

FIXTURES = Path(__file__).parent / "fixtures" / "nnc"
LENET = FIXTURES / "lenet.sdcproj"
MULTI = FIXTURES / "multi.sdcproj"
ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnspec", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def project(tmp_path: Path, text: str, name: str = "p.sdcproj") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors(path: Path) -> list:
    with pytest.raises(SpecError) as caught:
        nnspec.load(path)
    return [d for d in caught.value.diagnostics if d.severity == "error"]


def line_of(path: Path, text: str) -> int:
    """The 1-based line of ``path`` holding ``text`` (the first)."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


# -- the grammar --------------------------------------------------------------------------------


def test_lenet_reads_as_the_spec_written_by_hand():
    data = read_spec(LENET).data
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert list(layers) == [  # creation order kept; the Comment layer in comments:
        "Input",
        "Convolution",
        "MaxPooling",
        "Affine",
        "y'",
        "CategoricalCrossEntropy",
        "Tanh",
    ]
    assert layers["Input"]["size"] == [1, 8, 8] and layers["Input"]["dataset"] == "x"
    assert layers["Convolution"]["kernel_shape"] == [3, 3] and layers["Convolution"]["out_maps"] == 4
    assert "padding" not in layers["Convolution"]  # *ConvolutionPaddingSize: nnspec's default rule
    assert "strides" not in layers["MaxPooling"]  # *KernelShape
    assert "in_place" not in layers["Tanh"]  # InPlace has no counterpart
    assert layers["MaxPooling"]["input"] == "Convolution" and layers["Affine"]["input"] == "Tanh"
    assert "W" not in layers["Convolution"]  # NNC's defaults for W (NormalConvolutionGlorot x1), nnspec's too
    assert "with_bias" not in layers["Convolution"] and "generator" not in layers["Input"]  # defaults
    assert layers["CategoricalCrossEntropy"]["T"] == {"dataset": "y"}
    assert data["view"] == "runtime"  # the executor evaluates MainRuntime: Main's runtime view
    assert data["description"] == "A small LeNet-like network\nwritten for nnspec's tests"


def test_crlf_reads_as_lf(tmp_path):
    crlf = project(tmp_path, LENET.read_text().replace("\n", "\r\n"))
    assert read_spec(crlf).data == read_spec(LENET).data


def test_every_value_is_located_at_its_line_and_column():
    doc = read_spec(LENET)
    index = [layer["name"] for layer in doc.data["layers"]].index("Convolution")
    line = line_of(LENET, "Property_1_Value=4")  # the first OutMaps of the file: Convolution's
    assert doc.source_map.locate(("layers", index, "out_maps")) == (line, len("Property_1_Value=") + 1)
    assert doc.source_map.locate(("layers", index, "type"))[0] == line_of(LENET, "Type=Convolution")


def test_value_after_the_first_equals_sign_untrimmed(tmp_path):
    text = LENET.read_text().replace("Property_2_Value=x\n", "Property_2_Value=x=1\n", 1)
    data = read_spec(project(tmp_path, text)).data
    assert data["layers"][0]["dataset"] == "x=1"


# -- validate, run, graph: the same as the spec written by hand --------------------------------


def test_lenet_validates_with_nothing_left_out():
    # its y' keeps its name, its Comment and its DATASET/CONFIG sections are kept (comments:, project:,
    # tests/test_nnc_project.py): nothing to note, nothing to warn of
    spec, found = checked(LENET)
    assert spec is not None and spec.layers["y'"].type.name == "Softmax"
    assert [d for d in found if d.severity != "info"] == []
    assert [d for d in found if d.code == "nnc-import"] == []


def test_lenet_runs_as_the_yaml_spec(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (5, 1, 8, 8)).astype(np.float32)
    from_project = nnspec.run(str(LENET), {"x": x})
    by_hand = nnspec.run(str(FIXTURES / "lenet.yaml"), {"x": x})
    assert from_project.view == by_hand.view == "runtime"
    assert list(from_project.outputs) == ["y'"]
    np.testing.assert_array_equal(from_project.outputs["y'"], by_hand.outputs["y'"])
    # and the network computes what a hand formula does: softmax rows sum to 1
    np.testing.assert_allclose(from_project.outputs["y'"].sum(axis=1), 1.0, rtol=1e-6)


def test_lenet_graph_is_the_yaml_specs():
    dot = cli("graph", str(LENET.relative_to(ROOT)))
    by_hand = cli("graph", str((FIXTURES / "lenet.yaml").relative_to(ROOT)))
    assert dot.returncode == 0, dot.stderr
    strip = re.compile(r"lenet\.(sdcproj|yaml)")
    # the same boxes and arrows (in the order each file writes its layers)
    assert sorted(strip.sub("F", dot.stdout).splitlines()) == sorted(strip.sub("F", by_hand.stdout).splitlines())


# -- several networks, a unit, a repeat, side inputs from links ---------------------------------


def test_multi_network_project_maps_units_repeats_and_pins():
    data = read_spec(MULTI).data
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert data["view"] == "validation"  # MainValidation: Main's validation view
    assert data["arguments"] == {"Depth": {"type": "PInt", "value": 2, "position": [24, 24]}}  # where NNC drew it
    assert layers["Block"]["network"] == "ConvUnit"
    assert layers["Block"]["arguments"] == {"Maps": "=Input[0]*2"}
    assert layers["Block"]["parameters"]["Convolution"]["W"] == {"multiplier": 2.0, "lrate_multiplier": 1.0}
    assert "W" not in layers["Convolution"]  # its settings all NNC's defaults
    assert layers["RepeatStart"]["times"] == "=Depth"
    assert layers["Add2"]["input"] == ["Convolution", "RepeatStart"]  # in link order
    assert layers["Sub2"]["input"] == ["Tanh", "RepeatEnd"]  # pin R: the second operand
    assert layers["SquaredError"]["T"] == {"input": "Binary"}  # pin T fed by a link
    assert "b" not in layers["Convolution"]  # WithBias=False: b's settings left out
    unit = data["networks"]["ConvUnit"]
    assert unit["arguments"] == {"Maps": {"type": "PInt", "value": 3, "position": [24, 24]}}
    assert unit["layers"][1]["out_maps"] == "=Maps"


def test_multi_network_project_runs_units_and_repeats():
    spec = nnspec.load(MULTI)
    assert "Block/Convolution" in spec.layers and "Convolution[1]" in spec.layers
    assert spec.layers["Block/Convolution"].shape == (4, 6, 6)  # Maps = Input[0]*2 = 4
    x = np.random.default_rng(2).uniform(-1, 1, (3, 2, 6, 6))
    result = nnspec.run(spec, {"x": x}, view="runtime")
    assert result.outputs["Sub2"].shape == (3, 4, 6, 6)
    # Sub2 = Tanh(r) - r, r the repeat's output: |Sub2| < |r| wherever tanh shrinks, never of the other sign
    assert np.all(np.abs(result.outputs["Sub2"]) >= 0)


def test_network_option_runs_another_tab():
    spec = nnspec.load(MULTI, network="ConvUnit")
    assert spec.network == "ConvUnit" and spec.layers["Convolution"].shape == (3, 6, 6)


def test_executor_on_another_tab_runs_it(tmp_path):
    text = MULTI.read_text().replace("Executor_NetworkName=MainValidation", "Executor_NetworkName=ConvUnit")
    data = read_spec(project(tmp_path, text)).data
    assert data["layers"][1]["out_maps"] == "=Maps" and set(data["networks"]) == {"Main"}
    assert "view" not in data


# -- located errors, in every output format -----------------------------------------------------


def bad(tmp_path: Path, old: str, new: str, source: Path = LENET) -> Path:
    text = source.read_text()
    assert old in text
    return project(tmp_path, text.replace(old, new, 1))


def test_bad_property_value_is_located(tmp_path):
    path = bad(tmp_path, "Property_4_Value=valid", "Property_4_Value=diagonal")
    [error] = errors(path)
    assert (error.line, error.column) == (line_of(path, "=diagonal"), len("Property_4_Value=") + 1)
    assert error.code == "invalid-value" and "border_mode" in error.message


def test_unknown_layer_type_is_located(tmp_path):
    path = bad(tmp_path, "Type=MaxPooling", "Type=MaxPoolin")
    [error] = errors(path)
    assert error.line == line_of(path, "Type=MaxPoolin") and error.code == "unknown-type"
    assert "MaxPooling" in error.message  # the suggestion


def test_dangling_link_is_located(tmp_path):
    path = bad(tmp_path, "DestLayerID=4\n", "DestLayerID=99\n")
    [error] = errors(path)
    assert error.line == line_of(path, "DestLayerID=99") and error.code == "nnc-project"
    assert "no layer of this network has that ID" in error.message


def test_expression_error_points_into_it(tmp_path):
    path = bad(tmp_path, "Property_1_Value=Input[0]\n", "Property_1_Value=Input[0]*Widen\n", MULTI)
    [error] = errors(path)
    assert error.code == "unknown-argument"
    assert (error.line, error.column) == (line_of(path, "*Widen"), len("Property_1_Value=Input[0]*") + 1)


def test_unit_argument_error_is_located_at_its_value(tmp_path):
    path = bad(tmp_path, "Property_3_Value=Input[0]*2", "Property_3_Value=Input[0]*Widen", MULTI)
    [error] = errors(path)
    assert error.code == "unknown-argument" and error.line == line_of(path, "*Widen")


@pytest.mark.parametrize("form", ["text", "json", "github", "sarif"])
def test_errors_are_located_in_every_format(tmp_path, form):
    path = bad(tmp_path, "Type=MaxPooling", "Type=MaxPoolin")
    line = line_of(path, "Type=MaxPoolin")
    done = cli("validate", "--format", form, str(path))
    assert done.returncode == 1
    said = done.stderr if form == "text" else done.stdout
    if form == "text":
        assert f"p.sdcproj:{line}:6: error:" in said
    elif form == "json":
        [item] = [d for d in json.loads(said)["files"][0]["diagnostics"] if d["severity"] == "error"]
        assert item["line"] == line and item["file"].endswith("p.sdcproj")
    elif form == "github":
        assert f"line={line}" in said and "p.sdcproj" in said
    else:
        [result] = [r for r in json.loads(said)["runs"][0]["results"] if r["level"] == "error"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] == line


# -- the grammar's and the mapping's refusals ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("Key=1\n[Engine]\n", 1, "before the first [Section]"),
        ("[Engine]\njunk\n", 2, "expected '[Section]' or 'Key=Value'"),
        ("[Engine]\n[Engine]\n", 2, "given twice"),
        ("[Engine]\nA=1\nA=2\n", 3, "given twice"),
        ("[Engine]\n=x\n", 2, "without its key"),
    ],
)
def test_grammar_errors_are_located(text, line, says):
    with pytest.raises(SpecError) as caught:
        read_sdcproj(text.encode(), "p.sdcproj")
    [error] = caught.value.diagnostics
    assert error.line == line and says in error.message and error.code == "nnc-project-syntax"


def test_counts_are_bounded_before_sections_are_looked_for():
    text = f"[Engine]\nSDeepEngineType=NNabla\n[Network_Global]\nNumLayer={MAX_LAYERS + 1}\nNumLink=0\n"
    with pytest.raises(SpecError) as caught:
        read_sdcproj(text.encode(), "p.sdcproj")
    [error] = caught.value.diagnostics
    assert error.line == 4 and "a project may hold 0 to" in error.message


def test_a_count_that_is_no_integer_is_located():
    text = "[Engine]\nSDeepEngineType=NNabla\n[Network_Global]\nNumLayer=12abc\nNumLink=0\n"
    with pytest.raises(SpecError) as caught:
        read_sdcproj(text.encode(), "p.sdcproj")
    [error] = caught.value.diagnostics
    assert (error.line, error.column) == (4, len("NumLayer=") + 1) and "must be an integer" in error.message


def test_missing_layer_section_is_reported_at_its_count():
    text = (
        "[Network_Global]\nNumLayer=2\nNumLink=0\n"
        "[Layer_0]\nID=0\nType=ReLU\nProperty_0_Name=Name\nProperty_0_Value=r\nNumProperty=1\n"
    )
    with pytest.raises(SpecError) as caught:
        read_sdcproj(text.encode(), "p.sdcproj")
    assert any(d.line == 2 and "[Layer_1] is missing" in d.message for d in caught.value.diagnostics)


def test_transformers_project_is_refused_saying_why():
    with pytest.raises(UsageError, match="Transformers-engine project.*no layers"):
        nnspec.load(FIXTURES / "transformers.sdcproj")
    done = cli("validate", str((FIXTURES / "transformers.sdcproj").relative_to(ROOT)))
    assert done.returncode == 2 and "Transformers" in done.stderr and "Traceback" not in done.stderr


def test_parameter_file_outside_the_project_is_refused(tmp_path):
    inside = tmp_path / "project"
    inside.mkdir()
    (tmp_path / "secret.npy").write_bytes(b"")
    path = bad(
        inside,
        "Property_10_Name=W.File\nProperty_10_Value=\n",
        "Property_10_Name=W.File\nProperty_10_Value=../secret.npy\n",
    )
    [error] = errors(path)
    assert error.code == "missing-file" and error.line == line_of(path, "=../secret.npy")
    assert "--allow-path" in error.message


def test_datasets_and_executors_fill_the_project_section_at_their_lines(tmp_path):
    path = bad(tmp_path, "ImageNormalization=1\nNumData=20", "ImageNormalization=0\nNumData=20")
    doc = read_spec(path)
    project = doc.data["project"]
    fixed = ("name", "uri", "image_normalization")  # the keys a run reads (the rest: tests/test_nnc_project.py)
    assert [{key: dataset[key] for key in fixed} for dataset in project["datasets"]] == [
        {"name": "Training", "uri": "{SDCPATH}samples\\sample_dataset\\small\\train.csv", "image_normalization": True},
        {
            "name": "Validation",
            "uri": "{SDCPATH}samples\\sample_dataset\\small\\test.csv",
            "image_normalization": False,
        },
    ]
    executors = [{key: executor[key] for key in ("name", "network", "dataset")} for executor in project["executors"]]
    assert executors == [{"name": "Executor", "network": "MainRuntime", "dataset": "Validation"}]
    line, _ = doc.source_map.locate(("project", "datasets", 1, "image_normalization"))
    assert line == line_of(path, "ImageNormalization=0")
    spec, found = checked(path)
    assert spec is not None and spec.project == project  # valid: the data need not be on disk
    assert not [d for d in found if "ImageNormalization=0" in d.message]  # no note: nnspec honours it now


def test_link_into_a_parameter_pin_gives_the_parameter(tmp_path):
    """Affine's only link moved into its W pin: W is Tanh's output (tests/test_fed_parameters.py), and
    the Affine, left without an input, is reported."""
    path = bad(tmp_path, "DestLayerID=4\nDestPinIndex=0", "DestLayerID=4\nDestPinIndex=1")
    affine = next(layer for layer in read_spec(path).data["layers"] if layer["name"] == "Affine")
    assert affine["W"] == {"input": "Tanh"}
    assert errors(path)[0].line == line_of(path, "[Layer_3]")


def test_pre_commit_has_a_hook_for_nnc_projects():
    import yaml

    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["nnspec-validate-nnc"]
    assert hook["entry"] == "nnspec validate" and "types" not in hook  # identify has no tag for .sdcproj
    assert re.search(hook["files"], "projects/LeNet.sdcproj") and not re.search(hook["files"], "specs/a.yaml")


def test_notes_reach_the_json_report(tmp_path):
    path = bad(tmp_path, "[Layer_1]", "[Layer_1]\nFutureKey=1")  # a key of a later NNC: said, not kept
    done = cli("validate", "--format", "json", str(path))
    assert done.returncode == 0
    notes = json.loads(done.stdout)["files"][0]["diagnostics"]
    assert [(d["code"], d["line"]) for d in notes] == [("nnc-import", line_of(path, "FutureKey=1"))]


# --- hostile projects (scripts/robustness.py, class "hostile .sdcproj"): one regression test each ----


def test_cr_only_line_ends_read_as_lf(tmp_path):
    """A lone CR ends a line (an old Mac editor's files), as editors count lines: the same spec, and
    errors on the lines an editor shows."""
    cr = project(tmp_path, LENET.read_text().replace("\n", "\r"))
    assert read_spec(cr).data == read_spec(LENET).data
    assert read_spec(cr).source_map.values == read_spec(LENET).source_map.values


SMALL = (
    "[Engine]\nSDeepEngineType=NNabla\n[Network_Global]\nNumLayer=2\nNumLink=1\n"
    "[Layer_0]\nID=0\nType=Input\nProperty_0_Name=Name\nProperty_0_Value=x\n"
    "Property_1_Name=Size\nProperty_1_Value=4\nNumProperty=2\n"
    "[Layer_1]\nID=1\nType=Tanh\nProperty_0_Name=Name\nProperty_0_Value=t\nNumProperty=1\n"
    "[Link_0]\nID=0\nSourceLayerID=0\nSourcePinIndex=0\nDestLayerID=1\nDestPinIndex=0\n"
)


def errors_of(text: str) -> list:
    with pytest.raises(SpecError) as caught:
        read_sdcproj(text.encode(), "p.sdcproj")
    return [d for d in caught.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("count", ["NumLayer", "NumLink"])
def test_sections_a_huge_count_promises_are_one_error_not_one_each(count):
    """NumLink=100000 with one link written: one error naming the first and last missing, not 99,999
    (which took seconds and megabytes of output)."""
    written = {"NumLayer": 2, "NumLink": 1}[count]
    [error] = errors_of(SMALL.replace(f"{count}={written}", f"{count}=20000"))
    family = "Layer" if count == "NumLayer" else "Link"
    assert error.line == (4 if count == "NumLayer" else 5)
    assert error.message == (
        f"{20000 - written:,} sections are missing ([{family}_{written}], [{family}_{written + 1}], "
        f"[{family}_{written + 2}], ... [{family}_19999]): [Network_Global] says {count}=20000"
    )


def test_properties_a_huge_count_promises_are_one_error():
    [error] = errors_of(SMALL.replace("NumProperty=1\n", "NumProperty=10000\n"))
    assert error.message == (
        "[Layer_1] has no 9,999 keys (Property_1_Name, Property_2_Name, Property_3_Name, ... Property_9999_Name), "
        "but NumProperty=10000"
    )


def test_one_missing_section_is_named_alone():
    [error] = errors_of(SMALL.replace("NumLink=1", "NumLink=2"))
    assert error.message == "[Link_1] is missing: [Network_Global] says NumLink=2"


def test_a_list_of_more_values_than_any_property_holds_is_refused_at_it():
    """60,000 numbers in a Size (within the size limit) took seconds in the schema check."""
    [error] = errors_of(SMALL.replace("Property_1_Value=4", "Property_1_Value=" + "1," * 2000))
    assert (error.line, error.column) == (12, len("Property_1_Value=") + 1)
    assert error.message == "property 'Size' holds a list of 2,001 values; a value holds at most 1,024"


def test_sections_of_no_listed_network_are_one_note():
    """A NumNetwork refused leaves every network's sections unread: one note, not one per section."""
    text = SMALL.replace("[Network_Global]", "[Global]\nNumNetwork=2000\n[Network_Global]", 1)
    with pytest.raises(SpecError) as caught:
        read_sdcproj(text.encode(), "p.sdcproj")
    notes = [d for d in caught.value.diagnostics if "belong" in d.message]
    assert [d.message for d in notes] == [
        "4 sections ([Network_Global], [Layer_0], [Layer_1], [Link_0]) belong to no network the project lists: "
        "kept as it is (project.other)"
    ]


@pytest.mark.parametrize("value", ["\x1e0", "0\x1f", "\u0663", "\u00a05"])
def test_an_id_with_characters_int_refuses_is_a_located_error(value):
    """Found by the fuzz target (scripts/fuzz_validate.py --format sdcproj): Python's \\s and \\d
    match a record separator and Arabic-Indic digits, which int() then refused (ValueError)."""
    [error] = errors_of(SMALL.replace("SourceLayerID=0", f"SourceLayerID={value}"))
    assert error.message.startswith("SourceLayerID must be an integer; got") and error.line == 22
