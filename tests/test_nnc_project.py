"""NNC projects round-trip: project:, comments:, positions and the .sdcproj writer.

Fixtures (tests/fixtures/nnc/, written by hand in NNC's grammar, not copies of NNC's samples):
project.sdcproj (two tabs, an Argument, two Comment layers, one of another box size, every project
section with odd values NNC writes: 'undefined', an empty TimeLimit, a key and a section nnspec does
not know), lenet.sdcproj and multi.sdcproj (units, repeats, side inputs: tests/test_sdcproj.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError, UsageError
from nnspec.spec.loader import load_text
from nnspec.spec.project import SECTIONS, parse, unparse
from nnspec.spec.readers import FORMATS, format_of, read_spec
from nnspec.spec.sdcproj import read_sdcproj
from nnspec.spec.sdcproj_write import prepare, write

FIXTURES = Path(__file__).parent / "fixtures" / "nnc"
PROJECT = FIXTURES / "project.sdcproj"
ROOT = Path(__file__).resolve().parents[1]
YAML = FORMATS[0]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnspec", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def written(data: dict) -> str:
    kept, lost = prepare(data)
    assert not lost
    return write(kept)


def yaml_of(data: dict) -> str:
    assert YAML.write is not None
    return YAML.write(data)


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


# -- reading: project:, comments:, positions -------------------------------------------------------------


def test_project_sections_read_with_typed_values():
    project = read_spec(PROJECT).data["project"]
    assert project["main_network"] == "Runtime"  # the tab the first executor evaluates is layers:
    assert project["tabs"] == ["Train", "Runtime"]  # NNC's order of the tabs, Runtime not first
    assert project["general"] == {"is_sample": True}
    assert project["engine"] == {"rnn_training_mode": False}
    assert project["datasets"][0] == {
        "name": "Training",
        "uri": "{SDCPATH}data\\train.csv",  # exactly as NNC wrote it
        "shuffle": True,
        "cache": False,
        "image_normalization": False,
        "num_data": 60,
    }
    assert project["main_dataset"] == "Validation"  # MainIndex=1, by name
    assert project["config"] == {
        "max_epoch": 5,
        "save_best": True,
        "batch_size": 8,
        "type_config": "Half",
        "monitor_interval": 1,
    }
    adam, nesterov = project["optimizers"]
    assert adam["solver"] == "Adam"
    assert adam["solver_parameters"] == {"alpha": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-08}
    assert adam["weight_decay"] == 4.000000000000001e-05
    assert adam["learning_rate"]["update_interval_unit"] == "iteration"
    assert adam["learning_rate"]["scheduler"] == "Cosine"
    assert adam["other"] == {"RangeUnit": "undefined"}  # a value that fits no kind: verbatim
    assert nesterov["solver_parameters"] == {"learning_rate": 0.1, "momentum": 0.9}
    assert nesterov["other"] == {"ExtraSetting": "kept"}  # a key nnspec does not know
    assert [m["network"] for m in project["monitors"]] == ["Train", "TrainValidation"]
    assert project["executors"] == [
        {
            "name": "Executor",
            "network": "Runtime",
            "dataset": "Validation",
            "num_evaluations": 1,
            "repeat_evaluation_type": "last",
            "need_back_propagation": False,
        }
    ]
    assert project["structure_search"]["time_limit"] is None  # NNC's empty value
    assert project["other"] == {"FutureSection": {"Setting": "1,2"}}  # a section nnspec does not know


def test_comments_and_positions_are_kept():
    data = read_spec(PROJECT).data
    assert data["comments"] == [{"name": "Comment_2", "text": "shares Train's parameters", "position": [312, 96]}]
    train = data["networks"]["Train"]
    assert train["comments"] == [
        {"name": "Comment", "text": "the loss: sigmoid outputs\nagainst y", "position": [336, 168, 480, 96]}
    ]
    assert [layer["position"] for layer in train["layers"]] == [[48, 24], [48, 96], [48, 168], [48, 240]]
    assert all(list(layer)[-1] == "position" for layer in train["layers"])  # last, after a side input


def test_an_argument_keeps_its_position_and_search():
    data = read_spec(PROJECT).data
    assert data["networks"]["Train"]["arguments"] == {"Hidden": {"type": "PInt", "value": 3, "position": [336, 24]}}
    searched = read_sdcproj(
        PROJECT.read_bytes().replace(b"Search\r\nProperty_3_Value=False", b"Search\r\nProperty_3_Value=True"), "p"
    )
    assert searched.data["networks"]["Train"]["arguments"]["Hidden"]["search"] is True
    assert read_sdcproj(written(searched.data).encode(), "w").data == searched.data


def test_a_layer_key_nnc_does_not_write_is_said(tmp_path):
    text = PROJECT.read_text().replace("Type=Sigmoid\n", "Type=Sigmoid\nColor=red\n", 1)
    notes = read_sdcproj(text.encode(), "p.sdcproj").notes
    said = [note for note in notes if "Color" in note.message]
    assert len(said) == 1 and said[0].severity == "info" and "left out" in said[0].message
    assert said[0].line == text.splitlines().index("Color=red") + 1


def test_project_values_are_located_at_their_line():
    doc = read_spec(PROJECT)
    assert doc.source_map.locate(("project", "executors", 0, "network"))[0] == line_of(PROJECT, "Executor_NetworkName")
    assert doc.source_map.locate(("project", "optimizers", 0, "other", "RangeUnit"))[0] == line_of(PROJECT, "undefined")
    assert doc.source_map.locate(("comments", 0, "text"))[0] == line_of(PROJECT, "shares Train")


def test_project_validates_and_its_references_hold():
    spec = nnspec.load(PROJECT)
    assert spec.network is None and set(spec.networks) >= {"Train"}


def test_the_fixed_shape_keys_are_the_schema_s():
    schema = nnspec.spec.schema.spec_schema()["properties"]["project"]["properties"]
    assert {"name", "uri", "image_normalization"} <= set(schema["datasets"]["items"]["properties"])
    assert {"name", "network", "dataset"} <= set(schema["executors"]["items"]["properties"])


@pytest.mark.parametrize("text", ["0", "1", "17", "-1", "0.5", "1e-08", "4.000000000000001e-05", "", "undefined"])
@pytest.mark.parametrize("kind", ["int", "number", "flag", "text", ("epoch", "iteration")])
def test_every_kind_writes_back_what_it_reads(text, kind):
    value = parse(text, kind)
    if value is not nnspec.spec.project._UNFIT:
        assert unparse(value, kind) == text


@pytest.mark.parametrize(
    "pairs, kept",
    [
        ("SolverParameterNum=1\nSolverParameterName_0=Beta1\nSolverParameter_0=0.5\n", {"beta1": 0.5}),
        ("SolverParameterNum=0\n", {}),
        ("SolverParameterNum=1\nSolverParameterName_0=eps\nSolverParameter_0=0.5\n", None),  # not NNC's CamelCase
        ("SolverParameterNum=2\nSolverParameterName_0=Beta1\nSolverParameter_0=0.5\n", None),  # a pair missing
        ("SolverParameterNum=1\nSolverParameterName_0=Beta1\nSolverParameter_0=x\n", None),  # no number
    ],
)
def test_solver_parameters_are_kept_typed_or_verbatim(pairs, kept):
    text = PROJECT.read_text()
    start = text.index("SolverParameterNum=4")
    end = text.index("WeightDecay", start)
    data = read_sdcproj((text[:start] + pairs + text[end:]).encode(), "p").data
    optimizer = data["project"]["optimizers"][0]
    if kept is None:
        assert "solver_parameters" not in optimizer
        assert set(optimizer["other"]) >= {line.partition("=")[0] for line in pairs.splitlines()}
    else:
        assert optimizer["solver_parameters"] == kept
    assert read_sdcproj(written(data).encode(), "w").data == data


def test_one_table_names_each_key_once():
    for table in SECTIONS:
        assert len({key.nnc for key in table.keys}) == len(table.keys)
        assert len({key.yaml for key in table.keys}) == len(table.keys)


# -- the round trip ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["project.sdcproj", "lenet.sdcproj", "multi.sdcproj"])
def test_sdcproj_yaml_sdcproj_yaml_is_a_fixed_point(name):
    first = yaml_of(read_spec(FIXTURES / name).data)
    data = load_text(first, "first.yaml").data
    text = written(data)
    back = read_sdcproj(text.encode(), "written.sdcproj").data
    assert back == data  # the written project imports to the same spec
    assert yaml_of(back) == first  # and its YAML is the same text


def _layer(k: int, kind: str, name: str, props: tuple = ()) -> list[str]:
    lines = [f"[Layer_{k}]", f"ID={k}", f"Type={kind}", "Position_0=24", f"Position_1={24 + 72 * k}"]
    lines += ["Position_2=240", "Position_3=48", "Property_0_Name=Name", f"Property_0_Value={name}"]
    for i, (key, value) in enumerate(props, start=1):
        lines += [f"Property_{i}_Name={key}", f"Property_{i}_Value={value}"]
    return [*lines, f"NumProperty={len(props) + 1}"]


def _link(j: int, source: int, dest: int) -> list[str]:
    return [
        f"[Link_{j}]",
        f"ID={j}",
        f"SourceLayerID={source}",
        "SourcePinIndex=0",
        f"DestLayerID={dest}",
        "DestPinIndex=0",
    ]


def test_recurrence_and_random_flip_round_trip():
    """A recurrent loop (its Delay reading a later layer, its Initial generated) and RandomFlip: its
    properties go back by NNC's names."""
    lines = ["[Engine]", "SDeepEngineType=NNabla", "[Network_Global]", "NumLayer=7", "NumLink=7"]
    lines += _layer(0, "Input", "x", (("Size", "4,3"), ("Dataset", "x")))
    lines += _layer(1, "RandomFlip", "RandomFlip", (("Axes", "1"), ("SkipAtTest", "True")))
    lines += _layer(2, "RecurrentInput", "RecurrentInput", (("Axis", "0"), ("ID", "*Name")))
    lines += _layer(3, "Concatenate", "Concatenate", (("Axis", "0"),))
    lines += _layer(4, "Tanh", "Tanh")
    delay = (("Size", "2"), ("Initial.Dataset", ""), ("Initial.Generator", "Constant"))
    lines += _layer(5, "Delay", "Delay", (*delay, ("Initial.GeneratorMultiplier", "0.5")))
    lines += _layer(6, "RecurrentOutput", "RecurrentOutput", (("Axis", "0"),))
    for j, (source, dest) in enumerate([(0, 1), (1, 2), (2, 3), (5, 3), (3, 4), (4, 5), (4, 6)]):
        lines += _link(j, source, dest)
    data = read_sdcproj("\n".join(lines).encode(), "r.sdcproj").data
    assert data["layers"][1]["axes"] == 1 and data["layers"][3]["input"] == ["RecurrentInput", "Delay"]
    text = written(data)
    assert "Property_1_Name=Axes\r\nProperty_1_Value=1\r\n" in text and "Value=True\r\n" in text
    assert "Property_2_Name=Initial.Generator\r\nProperty_2_Value=Constant\r\n" in text
    assert read_sdcproj(text.encode(), "w").data == data


def test_written_project_is_nnc_s_grammar():
    text = written(read_spec(PROJECT).data)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # CRLF, as NNC's editor writes
    sections = re.findall(r"^\[(.*)\]\r$", text, flags=re.M)
    order = [re.sub(r"^(Train|Runtime)_|_\d+$", "", name) for name in sections]
    expected = ["General", "Engine", "Global", "Network_Global", "Layer", "Link", "Network_Global", "Layer", "Link"]
    expected += ["Dataset", "Description", "Config", "Optimizer", "Monitor", "Executor", "Script"]
    expected += ["StructureSearch", "FutureSection"]
    assert [name for k, name in enumerate(order) if k == 0 or name != order[k - 1]] == expected
    assert "[Global]\r\nNumNetwork=2\r\nNetwork_0=Train\r\nNetwork_1=Runtime\r\n" in text  # NNC's tab order
    assert "NumOptimizer=2\r\nNumMonitor=2\r\nNumExecutor=1\r\n" in text
    assert "SolverParameterNum=4\r\nSolverParameterName_0=Alpha\r\nSolverParameter_0=0.001\r\n" in text
    assert "Property_1_Name=Comment\r\nProperty_1_Value=the loss: sigmoid outputs\\nagainst y\r\n" in text
    assert "Position_2=480\r\nPosition_3=96\r\n" in text and "RangeUnit=undefined\r\n" in text
    assert "Property_1_Name=OutShape\r\nProperty_1_Value=*Hidden\r\n" in text  # an argument, as NNC writes it


def test_a_yaml_spec_converts_and_runs_the_same(tmp_path):
    out = tmp_path / "fire.sdcproj"
    result = cli("convert", "specs/squeezenet_fire.yaml", "-o", str(out))
    assert result.returncode == 0, result.stderr
    from_yaml, from_project = nnspec.load(ROOT / "specs/squeezenet_fire.yaml"), nnspec.load(out)
    assert list(from_project.layers) == list(from_yaml.layers)  # units written out alike
    x = np.random.default_rng(0).uniform(-1, 1, (2, *from_yaml.layers["x"].inferred_shape)).astype(np.float32)
    a = nnspec.run(from_yaml, {"x": x}, statistics=False).outputs
    b = nnspec.run(from_project, {"x": x}, statistics=False).outputs
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_what_a_project_cannot_hold_is_reported_at_its_line(tmp_path):
    out = tmp_path / "seed.sdcproj"
    result = cli("convert", "specs/seed_activations.yaml", "-o", str(out))
    assert result.returncode == 0 and out.exists()
    warnings = [line for line in result.stderr.splitlines() if "[nnc-export]" in line]
    spec = (ROOT / "specs/seed_activations.yaml").read_text().splitlines()
    said = {int(line.split(":")[1]): line for line in warnings}
    for key in ("name", "seed", "outputs", "data", "    range"):
        line = next(n for n, text in enumerate(spec, start=1) if text.startswith(key + ":"))  # at the key
        assert line in said and "left out" in said[line] and "warning" in said[line]


def test_a_generator_nnc_s_pins_lack_is_reported():
    data = {
        "nnspec": 2,
        "layers": [
            {"name": "x", "type": "Input", "size": [3]},
            {"name": "loss", "type": "SquaredError", "T": {"generator": "Range", "generator_multiplier": 2.0}},
        ],
    }
    kept, lost = prepare(data)
    assert [path for path, _ in lost] == [("layers", 1, "T", "generator")]
    assert "Range" in lost[0][1] and "T" not in kept["layers"][1]


def test_a_spec_without_positions_is_laid_out_in_a_column():
    data = {"nnspec": 2, "layers": [{"name": "x", "type": "Input", "size": [3]}, {"name": "t", "type": "Tanh"}]}
    kept, _ = prepare(data)
    assert [layer["position"] for layer in kept["layers"]] == [[24, 24], [24, 96]]
    assert kept["layers"][0]["dataset"] == "x"  # nnspec's default written out: NNC's would be x anyway
    assert kept["layers"][1]["input"] == "x"  # the implicit input written as a link
    assert read_sdcproj(write(kept).encode(), "w").data == kept


def test_no_positions_leaves_them_out(tmp_path):
    out = tmp_path / "lenet.yaml"
    assert cli("convert", str(FIXTURES / "lenet.sdcproj"), "-o", str(out), "--no-positions").returncode == 0
    assert "position" not in out.read_text()
    kept = cli("convert", str(FIXTURES / "lenet.sdcproj"), "-o", str(tmp_path / "kept.yaml"))
    assert kept.returncode == 0 and "position: [" in (tmp_path / "kept.yaml").read_text()


# -- errors -------------------------------------------------------------------------------------------


def project_with(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "p.sdcproj"
    path.write_text(PROJECT.read_text().replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "old, new, code, says",
    [
        ("Optimizer_NetworkName=Train", "Optimizer_NetworkName=Trian", "unknown-network", "network 'Trian'"),
        ("Monitor_DatasetName=Validation", "Monitor_DatasetName=Valid", "unknown-dataset", "dataset 'Valid'"),
    ],
)
def test_a_reference_to_nothing_is_an_error_at_its_key(tmp_path, old, new, code, says):
    path = project_with(tmp_path, old, new)
    with pytest.raises(SpecError) as caught:
        nnspec.load(path)
    errors = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert len(errors) == 1 and errors[0].code == code and says in errors[0].message
    assert errors[0].line == line_of(path, new)


def test_a_reference_error_in_yaml_is_located(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "project:\n  datasets: [{name: Training, uri: a.csv}]\n"
        "  executors:\n    - {name: Executor, network: MainRuntime, dataset: Training}\n"
        "    - {name: E2, network: Other, dataset: Training}\n"
    )
    result = cli("validate", str(spec))
    assert result.returncode == 1
    assert f"{spec}:8:27: error: executor 'E2' names network 'Other'" in result.stderr


def test_tabs_must_list_each_network_once(tmp_path):
    path = project_with(tmp_path, "[Dataset]", "[Dataset]")
    doc = read_spec(path)
    doc.data["project"]["tabs"] = ["Train"]
    with pytest.raises(SpecError) as caught:
        nnspec.validation.validate_document(doc, read_data=False)
    error = next(d for d in caught.value.diagnostics if d.severity == "error")
    assert "project.tabs" in error.message and error.line == line_of(path, "[Global]")


def test_a_version_1_spec_is_refused_saying_what_to_do(tmp_path):
    with pytest.raises(UsageError, match="nnspec upgrade"):
        prepare({"nnspec": 1, "layers": [{"name": "x", "type": "Input", "size": [2]}]})


def test_a_main_network_the_project_would_not_read_as_main_is_refused():
    data = read_spec(PROJECT).data
    data["project"]["executors"][0]["network"] = "Train"
    with pytest.raises(UsageError, match="main network is the one its first executor evaluates"):
        prepare(data)


def test_a_line_break_in_a_value_is_refused():
    data = read_spec(PROJECT).data
    data["project"]["config"]["type_config"] = "Half\n[Evil]"
    with pytest.raises(UsageError, match="line break"):
        prepare(data)


def test_a_description_nnc_would_read_otherwise_is_refused():
    spec = {"nnspec": 2, "description": "C:\\new\\data", "layers": [{"name": "x", "type": "Input", "size": [2]}]}
    with pytest.raises(UsageError, match="backslash before n"):
        prepare(spec)
    spec["description"] = "two\nlines"  # a line break is NNC's \n
    kept, _ = prepare(spec)
    assert "Text=two\\nlines\r\n" in write(kept)
    assert read_sdcproj(write(kept).encode(), "w").data["description"] == "two\nlines"


def test_existing_output_is_not_overwritten(tmp_path):
    out = tmp_path / "out.sdcproj"
    out.write_text("mine")
    result = cli("convert", str(PROJECT), "-o", str(out))
    assert result.returncode == 2 and out.read_text() == "mine"
    assert cli("convert", str(PROJECT), "-o", str(out), "--force").returncode == 0
    assert read_spec(out).data == read_spec(PROJECT).data


def test_a_comment_written_as_a_layer_says_where_it_goes(tmp_path):
    spec = tmp_path / "c.yaml"
    spec.write_text("nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [2]}\n  - {name: c, type: Comment}\n")
    result = cli("validate", str(spec))
    assert result.returncode == 1 and "comments:" in result.stderr and ":4:21: error:" in result.stderr


def test_the_sdcproj_format_row_writes():
    assert format_of("x.sdcproj").write is not None and format_of("x.sdcproj").prepare is not None


def test_the_speed_benchmarks_resnet_is_a_valid_project(tmp_path):
    """benchmarks/nnc_project_speed.py times the project it writes: it must stay one nnspec reads
    (an executor without its name made every timing an error once)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "nnc_project_speed.py"
    loaded = importlib.util.spec_from_file_location("nnc_project_speed", path)
    assert loaded is not None and loaded.loader is not None
    benchmark = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(benchmark)
    for flat in (False, True):
        project = tmp_path / f"resnet_{flat}.sdcproj"
        project.write_text(benchmark.resnet(2, flat).text(), newline="")
        assert len(nnspec.load(project).layers) == benchmark.valid(project)
