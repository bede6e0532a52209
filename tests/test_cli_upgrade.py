"""`nnspec upgrade` and `nnspec validate --print-resolved`: the command-line side of format evolution."""

from __future__ import annotations

import pytest

import nnspec
from nnspec.cli import main
from nnspec.spec.loader import load_text
from nnspec.spec.schema import FORMAT_VERSION

from .conftest import SPECS
from .test_resolved import same_spec
from .test_upgrade import VERSION_0, VERSION_1


def test_upgrade_prints_the_upgraded_spec_and_says_what_changed(write_spec, capsys):
    old = write_spec(VERSION_0, "old.yaml")
    assert main(["upgrade", str(old)]) == 0
    out, err = capsys.readouterr()
    assert load_text(out).data == {**load_text(VERSION_1).data, "nnspec": FORMAT_VERSION}
    assert f"{old}: version 0 -> 1: layer 'fc': 'OutShape' renamed 'out_shape'" in err
    assert old.read_text(encoding="utf-8") == VERSION_0  # stdout only: the file is untouched


def test_upgrade_writes_to_a_new_file_but_never_over_one_without_force(write_spec, capsys):
    old = write_spec(VERSION_0, "old.yaml")
    new = old.with_name("new.yaml")
    assert main(["upgrade", str(old), "-o", str(new)]) == 0
    assert load_text(new.read_text(encoding="utf-8")).data == {**load_text(VERSION_1).data, "nnspec": FORMAT_VERSION}
    assert capsys.readouterr().out == ""

    new.write_text("# mine\n", encoding="utf-8")
    assert main(["upgrade", str(old), "-o", str(new)]) == 2
    assert "exists; add --force" in capsys.readouterr().err
    assert new.read_text(encoding="utf-8") == "# mine\n"

    assert main(["upgrade", str(old), "-o", str(old), "--force"]) == 0  # in place, when asked
    assert load_text(old.read_text(encoding="utf-8")).data["nnspec"] == FORMAT_VERSION
    assert [p.name for p in old.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_upgrade_of_a_current_spec_changes_nothing(capsys):
    path = SPECS / "lenet.yaml"
    assert main(["upgrade", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == path.read_text(encoding="utf-8")
    assert err == ""


def test_upgrade_of_a_newer_spec_is_a_located_error(write_spec, capsys):
    new = write_spec(VERSION_1.replace("nnspec: 1", "nnspec: 7"), "new.yaml")
    assert main(["upgrade", str(new)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{new}:1:9: error: format version 7 is newer than this nnspec reads" in err
    assert "Traceback" not in err


def test_upgrade_validates_the_result(write_spec, capsys):
    # An unknown property is left as written by the upgrade; validation then names it.
    old = write_spec(VERSION_0.replace("OutMaps: 4", "OutMaps: 4, Colour: red"), "old.yaml")
    assert main(["upgrade", str(old)]) == 1
    out, err = capsys.readouterr()
    assert "Colour: red" in out
    assert "the upgraded spec is not valid yet" in err
    assert "Colour" in err


def test_upgrade_of_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["upgrade", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["lenet.yaml", "bn_residual.yaml"])
def test_print_resolved_prints_a_spec_that_loads_to_the_same_network(name, capsys):
    path = SPECS / name
    assert main(["validate", "--print-resolved", str(path)]) == 0
    out = capsys.readouterr().out
    same_spec(nnspec.loads(out, str(path)), nnspec.load(path))


def test_print_resolved_prints_nothing_for_an_invalid_spec(write_spec, capsys):
    bad = write_spec("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n  - {name: t, type: Tanhh}\n")
    assert main(["validate", "--print-resolved", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "Tanhh" in err


def test_print_resolved_needs_the_text_format(capsys):
    assert main(["validate", "--print-resolved", "--format", "json", str(SPECS / "lenet.yaml")]) == 2
    assert "use one or the other" in capsys.readouterr().err


def test_upgrade_refuses_a_directory_as_output_even_with_force(write_spec, capsys):
    old = write_spec(VERSION_0, "old.yaml")
    folder = old.with_name("folder")
    folder.mkdir()
    assert main(["upgrade", str(old), "-o", str(folder), "--force"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(folder.iterdir()) == [] and [p.name for p in old.parent.iterdir() if p.name.endswith(".tmp")] == []


EDITED_IN_NNC = """nnspec: 2
comments:
  - {name: Comment, text: "the classifier", position: [336, 168]}
project:
  main_network: Main
  config: {max_epoch: 100, batch_size: 64}
layers:
  - {name: x, type: Input, size: [4], position: [24, 48]}
  - {name: call, type: Unit, network: block, position: [24, 96, 120, 24]}
networks:
  block:
    comments:
      - {name: Comment, text: "inside", position: [8, 8]}
    layers:
      - {name: i, type: Input, size: [4], position: [0, 0]}
      - {name: r, type: ReLU, position: [0, 40]}
"""


def test_print_resolved_keeps_the_project_comments_and_positions(write_spec, capsys):
    path = write_spec(EDITED_IN_NNC)
    assert main(["validate", "--print-resolved", str(path)]) == 0
    resolved = load_text(capsys.readouterr().out).data
    written = load_text(EDITED_IN_NNC).data
    assert resolved["project"] == written["project"]
    assert resolved["comments"] == written["comments"]
    assert [layer["position"] for layer in resolved["layers"]] == [[24, 48], [24, 96, 120, 24]]
    block = resolved["networks"]["block"]
    assert block["comments"] == written["networks"]["block"]["comments"]
    assert [layer["position"] for layer in block["layers"]] == [[0, 0], [0, 40]]
    assert list(resolved["layers"][0])[-1] == "position"  # the editor's place last, as a project's reader writes it
