"""Format version 2: a version-1 spec keeps its meaning (upgraded in memory when loaded, written as
version 2 by `nnspec upgrade`); the same text saying `nnspec: 2` means what version 2 says.

Version 1 (before side inputs) had every reader of a data variable share it: a target with a generator
took the data given for its variable, else the values of the first reader's generator. The expected
values below are computed by hand from that rule, never from nnspec's output for the other version.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.spec.loader import load_text
from nnspec.spec.resolved import resolved_text
from nnspec.spec.upgrade import upgrade, upgrade_text, upgrade_text_with_notes

from .conftest import SPECS
from .test_security_output import assert_log_safe

# x = 1 everywhere; Input y = 3 everywhere; the target's own generator would give 5.
INPUT_AND_TARGET_ON_Y = """\
# yaml-language-server: $schema=../schemas/nnspec.schema.json
nnspec: 1
layers:
  - {name: x, type: Input, size: [2], generator: Constant}
  - {name: y, type: Input, size: [2], generator: Constant, generator_multiplier: 3}   # a comment
  - {name: loss, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: 5}}
"""


def _run(text: str, tmp_path: Path, arrays: dict | None = None, name: str = "spec.yaml") -> dict[str, np.ndarray]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return nnspec.run(nnspec.load(path), arrays, samples=None if arrays else 4).outputs


def test_a_version_1_generated_target_beside_an_input_on_y_takes_the_inputs_values(tmp_path: Path) -> None:
    outputs = _run(INPUT_AND_TARGET_ON_Y, tmp_path)
    np.testing.assert_array_equal(outputs["y"], np.full((4, 2), 3, np.float32))
    np.testing.assert_array_equal(outputs["loss"], np.full((4, 2), (1 - 3) ** 2, np.float32))  # not (1 - 5)**2


def test_with_data_given_the_target_takes_it_bit_for_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 2)).astype(np.float32), rng.normal(size=(7, 2)).astype(np.float32)
    outputs = _run(INPUT_AND_TARGET_ON_Y, tmp_path, {"x": x, "y": y})
    np.testing.assert_array_equal(outputs["loss"], (x - y) ** 2)  # float32 on both sides: bit-identical


def test_the_upgraded_text_computes_the_same_and_the_same_text_as_version_2_generates(tmp_path: Path) -> None:
    upgraded, notes = upgrade_text_with_notes(INPUT_AND_TARGET_ON_Y)
    assert load_text(upgraded).data["layers"][2]["T"] == {"dataset": "y"}
    assert upgraded.startswith("# yaml-language-server: $schema=../schemas/nnspec.schema.json\nnnspec: 2\n")
    assert "a comment" not in upgraded  # layers rewritten: comments below the top ones are lost
    assert notes == [
        "version 1 -> 2: layer 'loss': T reads data variable 'y', as version 1 read it (another layer reads it): "
        "its generator 'Constant' was not used"
    ]
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    for arrays in (None, {"x": x, "y": y}):
        before = _run(INPUT_AND_TARGET_ON_Y, tmp_path, arrays, "v1.yaml")
        after = _run(upgraded, tmp_path, arrays, "v2.yaml")
        for name in ("y", "loss"):
            np.testing.assert_array_equal(after[name], before[name])
    assert upgrade_text(upgraded) == upgraded  # upgrading twice changes nothing
    as_version_2 = _run(INPUT_AND_TARGET_ON_Y.replace("nnspec: 1", "nnspec: 2"), tmp_path, None, "new.yaml")
    np.testing.assert_array_equal(as_version_2["loss"], np.full((4, 2), (1 - 5) ** 2, np.float32))


@pytest.mark.parametrize(
    ("layers", "data", "loss", "others"),
    [
        pytest.param(  # the generated target written first drew y for the Input too: 5, not 3
            "  - {name: loss, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: 5}}\n"
            "  - {name: y, type: Input, size: [2], generator: Constant, generator_multiplier: 3}\n",
            "",
            (1 - 5) ** 2,
            {"y": 5},
            id="target-above-the-input",
        ),
        pytest.param(  # two generated targets on y: both drew the first's generator
            "  - {name: loss, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: 5}}\n"
            "  - {name: other, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: -1}}\n",
            "",
            (1 - 5) ** 2,
            {"other": (1 - 5) ** 2},
            id="two-generated-targets",
        ),
        pytest.param(  # data: y is the variable's data, which the generated target took
            "  - {name: loss, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: 5}}\n",
            "data:\n  y: [[4, 6]]\n",
            [[(1 - 4) ** 2, (1 - 6) ** 2]],
            {},
            id="spec-data",
        ),
        pytest.param(  # a target reading y with data given beside a generated one
            "  - {name: loss, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: 5}}\n"
            "  - {name: read, type: SquaredError, input: x, T: {dataset: y}}\n",
            "data:\n  y: [[2, 2]]\n",
            [[(1 - 2) ** 2, (1 - 2) ** 2]],
            {"read": 1},
            id="target-reading-data",
        ),
    ],
)
def test_version_1_readings_shared_with_a_generated_target_keep_their_values(
    tmp_path: Path, layers: str, data: str, loss, others: dict[str, float]
) -> None:
    text = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2], generator: Constant}\n" + layers + data
    expected = {"loss": loss, **others}
    upgraded = upgrade_text(text)
    assert upgrade_text(upgraded) == upgraded
    for version, spec_text in (("1", text), ("2 upgraded", upgraded)):
        outputs = _run(spec_text, tmp_path)
        for name, value in expected.items():
            want = np.broadcast_to(np.asarray(value, np.float32), outputs[name].shape)
            np.testing.assert_array_equal(outputs[name], want, err_msg=f"{name}, version {version}")


def test_validate_notes_a_version_1_spec_read_otherwise_in_version_2_and_strict_passes(write_spec, capsys) -> None:
    path = write_spec(INPUT_AND_TARGET_ON_Y)
    assert main(["validate", "--strict", str(path)]) == 0
    err = capsys.readouterr().err
    assert (
        f"{path}:2:9: info: format version 1 is read with its own meaning; in version 2's terms: layer 'loss': "
        "T reads data variable 'y', as version 1 read it (another layer reads it): its generator 'Constant' was "
        "not used; 'nnspec upgrade FILE' writes it so [version]"
    ) in err


def test_a_version_1_spec_that_means_the_same_in_version_2_gets_no_note(write_spec, capsys) -> None:
    text = (SPECS / "vae_side_inputs.yaml").read_text(encoding="utf-8").replace("nnspec: 2", "nnspec: 1")
    path = write_spec(text)
    assert main(["validate", str(path)]) == 0
    assert "[version]" not in capsys.readouterr().err
    assert nnspec.load(path).upgrade_notes == ()


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_spec_is_version_2_and_its_version_1_text_upgrades_to_it(path: Path) -> None:
    """The examples use version 2, what a user writes now; each also means the same in version 1, so its
    version-1 text upgrades to the file byte for byte (comments kept: only the number changes)."""
    text = path.read_text(encoding="utf-8")
    assert load_text(text).data["nnspec"] == 2
    as_version_1 = text.replace("\nnnspec: 2\n", "\nnnspec: 1\n", 1)
    assert as_version_1 != text
    assert upgrade_text(as_version_1, str(path)) == text
    assert upgrade_text(text, str(path)) == text  # twice: nothing more


def test_a_version_1_spec_may_use_what_came_with_version_2(write_spec) -> None:
    """Additions change no version-1 meaning: side inputs from layers, repeats and views load under 1."""
    text = """\
nnspec: 1
view: training
layers:
  - {name: x, type: Input, size: [2], generator: Constant}
  - {name: RepeatStart, type: RepeatStart, times: 2}
  - {name: t, type: Tanh}
  - {name: RepeatEnd, type: RepeatEnd}
  - {name: loss, type: SquaredError, input: x, T: {input: RepeatEnd}}
"""
    spec = nnspec.load(write_spec(text))
    assert spec.upgrade_notes == ()
    assert "t[1]" in spec.layers


def test_the_resolved_text_of_a_version_1_spec_is_version_2_with_its_meaning(tmp_path: Path) -> None:
    spec = nnspec.loads(INPUT_AND_TARGET_ON_Y, str(tmp_path / "v1.yaml"))
    text = resolved_text(spec)
    raw = load_text(text).data
    assert raw["nnspec"] == 2
    assert raw["layers"][2]["T"] == {"dataset": "y", "generator": "None", "generator_multiplier": 1.0}
    outputs = _run(text, tmp_path, None, "resolved.yaml")
    np.testing.assert_array_equal(outputs["loss"], np.full((4, 2), (1 - 3) ** 2, np.float32))


def test_upgrade_command_writes_version_2_and_says_what_changed(write_spec, capsys) -> None:
    path = write_spec(INPUT_AND_TARGET_ON_Y)
    assert main(["upgrade", str(path)]) == 0
    out, err = capsys.readouterr()
    assert load_text(out).data["nnspec"] == 2
    assert f"{path}: version 1 -> 2: layer 'loss': T reads data variable 'y'" in err


def test_a_version_1_step_leaves_what_it_cannot_read_to_validation() -> None:
    data = {"nnspec": 1, "layers": [7, {"name": "l", "type": "Nope", "T": {"generator": "Constant"}}]}
    upgraded, notes = upgrade(data)
    assert upgraded == {**data, "nnspec": 2} and notes == []


def test_a_version_1_spec_its_upgrade_makes_invalid_says_which_version_means_what(write_spec, capsys) -> None:
    """Version 1 refused a generated target of another shape than the Input reading its variable; under
    nnspec: 1 it still does, and a note says the spec means version 2 if it was written for it."""
    text = INPUT_AND_TARGET_ON_Y.replace("size: [2], generator: Constant, generator_multiplier: 3", "size: [3]")
    path = write_spec(text)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "both read data variable 'y', but with shapes (3,) and (2,) [shape]" in err
    assert f"{path}:2:9: info: format version 1 is read with its own meaning" in err
    assert "a spec meant for version 2, where a generated target has a variable of its own, says 'nnspec: 2'" in err
    assert main(["validate", str(write_spec(text.replace("nnspec: 1", "nnspec: 2"), "v2.yaml"))]) == 0


ALONE_ON_Y = """\
nnspec: 1
dataset: d.csv
layers:
  - {name: x, type: Input, size: [2], generator: Constant}
  - {name: loss, type: SquaredError, input: x, T: {generator: Constant, generator_multiplier: 5}}
"""


def test_data_given_at_run_time_for_y_goes_to_a_version_1_generated_target(tmp_path: Path) -> None:
    """No text says it in version 2, so a version-1 spec's run keeps it: data given for y (an array,
    --input, a dataset column) is the generated targets' that name y, as version 1 gave it."""
    (tmp_path / "d.csv").write_text("x__0,x__1,y__0,y__1\n1,1,7,-2\n1,1,0,3\n", encoding="utf-8")
    path = tmp_path / "v1.yaml"
    path.write_text(ALONE_ON_Y, encoding="utf-8")
    (note,) = nnspec.load(path).upgrade_notes  # what nnspec upgrade and validate say of it
    assert note.startswith("version 1 -> 2: layer 'loss': T stays generated, where version 1 took data given")
    by_column = nnspec.run(nnspec.load(path)).outputs["loss"]
    np.testing.assert_array_equal(by_column, np.array([[36, 9], [1, 4]], np.float32))  # (1 - y)**2
    given = np.array([[2, 4]], np.float32)
    no_dataset = ALONE_ON_Y.replace("dataset: d.csv\n", "")
    path.write_text(no_dataset, encoding="utf-8")
    np.testing.assert_array_equal(nnspec.run(nnspec.load(path), {"y": given}).outputs["loss"], (1 - given) ** 2)
    # version 2: the target is generated; the column is read by no layer, an array for y is refused
    path.write_text(ALONE_ON_Y.replace("nnspec: 1", "nnspec: 2"), encoding="utf-8")
    np.testing.assert_array_equal(nnspec.run(nnspec.load(path)).outputs["loss"], np.full((2, 2), 16, np.float32))
    path.write_text(no_dataset.replace("nnspec: 1", "nnspec: 2"), encoding="utf-8")
    with pytest.raises(nnspec.UsageError, match="no layer reads data variable"):
        nnspec.run(nnspec.load(path), {"y": given})


def test_a_renumbered_spec_is_written_to_a_file_as_it_is_and_printed_safely(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "s.yaml"
    text = (
        "# top ##[error]\nnnspec: 1  # the version\ndescription: |\n  ok\n  ::add-mask::x\nlayers:\n"
        "  - {name: x, type: Input, size: [4], generator: Uniform}  # kept\n"
    )
    spec.write_text(text, encoding="utf-8")
    assert main(["upgrade", str(spec), "-o", str(tmp_path / "t.yaml")]) == 0
    assert (tmp_path / "t.yaml").read_text(encoding="utf-8") == text.replace("nnspec: 1", "nnspec: 2")
    assert main(["upgrade", str(spec)]) == 0
    out = capsys.readouterr().out
    assert_log_safe(out, "::add-mask::", "upgrade stdout")
    assert load_text(out).data == {**load_text(text).data, "nnspec": 2}
