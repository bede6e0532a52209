"""Spec formats by suffix (nnspec.spec.readers) and `nnspec convert`.

The references are independent of nnspec's writers: PyYAML's own safe_load and the standard
library's json read what was written, and the converted spec is compared with the original
through the validated Spec (test_resolved.same_spec) and through `validate --print-resolved`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError
from nnspec.spec.readers import FORMATS, readable_suffixes, writable_suffixes

from .conftest import ROOT, SPECS
from .test_resolved import same_spec
from .test_upgrade import VERSION_0, VERSION_1

EXAMPLES = sorted(path.name for path in SPECS.glob("*.yaml"))
SMALL = """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [3]}
  - {name: t, type: Tanh}
"""


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of specs/ beside a link to data/ (its files allowed by ALLOW), so that the files the
    examples name resolve from the converted files as from the originals."""
    (tmp_path / "data").symlink_to(ROOT / "data")
    return Path(shutil.copytree(SPECS, tmp_path / "specs"))


ALLOW = ["--allow-path", str(ROOT / "data")]


def resolved_without_header(path: Path, capsys) -> str:
    """`nnspec validate --print-resolved PATH`, without the comment line naming PATH."""
    assert main(["validate", "--print-resolved", str(path), *ALLOW]) == 0
    out = capsys.readouterr().out
    return "".join(line for line in out.splitlines(keepends=True) if not line.startswith(f"# {path},"))


def test_the_table_names_yaml_and_json_read_and_written():
    assert readable_suffixes()[:3] == [".yaml", ".yml", ".json"]
    assert ".nntxt" in readable_suffixes()  # nnabla's networks: read (tests/test_nntxt.py), written from a
    # validated spec (tests/test_nntxt_writer.py)
    assert ".sdcproj" in readable_suffixes()  # NNC projects are read and written (tests/test_nnc_project.py)
    assert writable_suffixes() == [".yaml", ".yml", ".json", ".sdcproj", ".nntxt", ".prototxt", ".nnp", ".onnx"]
    assert ".onnx" in readable_suffixes()  # read (tests/test_onnx_reader.py), written (tests/test_onnx_writer.py)
    assert all(suffix == suffix.lower() and suffix.startswith(".") for form in FORMATS for suffix in form.suffixes)


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_convert_round_trips_every_example(name, suffix, examples, capsys):
    source = examples / name
    target = source.with_name("converted" + suffix)
    assert main(["convert", str(source), "-o", str(target), *ALLOW]) == 0
    original = yaml.safe_load(source.read_text(encoding="utf-8"))
    written = target.read_text(encoding="utf-8")
    read = json.loads(written) if suffix == ".json" else yaml.safe_load(written)
    if "1e" not in source.read_text(encoding="utf-8").lower():  # PyYAML (YAML 1.1) reads 1e-5 as text
        assert read == original
    same_spec(nnspec.load(source, allow_paths=ALLOW[1:]), nnspec.load(target, allow_paths=ALLOW[1:]))
    assert resolved_without_header(target, capsys) == resolved_without_header(source, capsys)


def test_json_is_read_with_lines_and_columns(write_spec, capsys):
    path = write_spec(
        '{"nnspec": 1,\n "layers": [\n  {"name": "x", "type": "Input", "size": [3], "colour": 1}]}\n', "s.json"
    )
    assert main(["validate", str(path)]) == 1
    assert f"{path}:3:" in capsys.readouterr().err
    path.write_text('{"nnspec": 1, "nnspec": 1}', encoding="utf-8")  # duplicate keys are refused here too
    assert main(["validate", str(path)]) == 1
    assert "duplicate" in capsys.readouterr().err.lower()


def test_suffixes_are_read_in_any_case_and_a_file_without_one_as_yaml(write_spec, capsys):
    for name in ("spec.YAML", "spec.yml", "spec"):
        assert main(["validate", str(write_spec(SMALL, name))]) == 0, name
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", ["spec.txt", "model.pt", "net.pbtxt"])
def test_an_unknown_suffix_is_refused_naming_the_readable_ones(name, write_spec, capsys):
    path = write_spec(SMALL, name)
    for command in (["validate"], ["run"], ["graph"], ["upgrade"], ["convert", "-o", str(path.with_suffix(".yml"))]):
        assert main([*command, str(path)]) == 2, command
        err = capsys.readouterr().err
        assert f"does not read '{path.suffix}' files" in err and ".yaml, .yml, .json" in err, command
        assert all(suffix in err for suffix in readable_suffixes()), command
    assert not path.with_suffix(".yml").exists()
    with pytest.raises(UsageError, match="does not read"):
        nnspec.load(path)


def test_convert_refuses_a_format_it_cannot_write_and_an_existing_file(write_spec, capsys):
    source = write_spec(SMALL)
    assert main(["convert", str(source), "-o", str(source.with_name("out.pt"))]) == 2
    err = capsys.readouterr().err
    assert (
        "nnspec does not write '.pt' files" in err
        and ".yaml, .yml, .json, .sdcproj, .nntxt, .prototxt, .nnp or .onnx" in err
    )
    assert not source.with_name("out.pt").exists()
    assert main(["convert", str(source), "-o", str(source.with_name("out"))]) == 0  # no suffix: YAML, as read
    assert yaml.safe_load(source.with_name("out").read_text(encoding="utf-8")) == yaml.safe_load(SMALL)
    target = write_spec("# mine\n", "out.json")
    assert main(["convert", str(source), "-o", str(target)]) == 2
    assert "exists; add --force" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "# mine\n"
    assert main(["convert", str(source), "-o", str(target), "--force"]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == yaml.safe_load(SMALL)
    assert [path.name for path in source.parent.iterdir() if path.name.endswith(".tmp")] == []


def test_convert_refuses_an_invalid_spec_and_writes_nothing(write_spec, capsys):
    source = write_spec(SMALL.replace("Tanh", "Tahn"))
    target = source.with_name("out.json")
    assert main(["convert", str(source), "-o", str(target)]) == 1
    assert f"{source}:4:" in capsys.readouterr().err
    assert not target.exists()


def test_convert_to_json_refuses_infinity_which_json_cannot_spell(write_spec, capsys):
    text = SMALL.replace("size: [3]}", "size: [2]}") + "data:\n  x: [[.inf, 1.0]]\n"
    source = write_spec(text)
    assert main(["convert", str(source), "-o", str(source.with_name("out.json"))]) == 2
    assert "JSON has no spelling for .inf" in capsys.readouterr().err
    assert not source.with_name("out.json").exists()
    assert main(["convert", str(source), "-o", str(source.with_name("out.yml"))]) == 0  # YAML spells it
    assert nnspec.load(source.with_name("out.yml")).data["x"][0, 0] == float("inf")


def test_upgrade_reads_and_writes_by_suffix(write_spec, capsys):
    old = write_spec(VERSION_0, "old.yaml")
    new = old.with_name("new.json")
    assert main(["upgrade", str(old), "-o", str(new)]) == 0
    assert json.loads(new.read_text(encoding="utf-8")) == {**yaml.safe_load(VERSION_1), "nnspec": 2}
    old_json = write_spec(json.dumps(yaml.safe_load(VERSION_0)), "old.json")
    capsys.readouterr()
    assert main(["upgrade", str(old_json)]) == 0  # on stdout, in the file's own format
    assert json.loads(capsys.readouterr().out) == {**yaml.safe_load(VERSION_1), "nnspec": 2}
