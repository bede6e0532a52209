"""Format evolution: the upgrade steps, tested with the synthetic version 0 -> 1 step (the version
1 -> 2 step: tests/test_upgrade_v2.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import nnspec
from nnspec.spec.loader import load_text
from nnspec.spec.schema import FORMAT_VERSION
from nnspec.spec.upgrade import STEPS, upgrade, upgrade_text

from .conftest import SPECS
from .test_resolved import same_spec

VERSION_0 = """\
# yaml-language-server: $schema=../schemas/nnspec.schema.json
# a small CNN, as format version 0 wrote it

nnspec: 0
name: old
seed: 3
network:                       # version 0's name for layers:
  - {name: x, type: Input, Size: [1, 8, 8], GeneratorMultiplier: 2.0, generator: Normal}
  - {name: conv, type: Convolution, OutMaps: 4, KernelShape: [3, 3], BorderMode: valid, WithBias: false}
  - {name: pool, type: MaxPooling, KernelShape: [2, 2]}
  - {name: fc, type: Affine, OutShape: 10, ParameterScope: head, W: {initializer: Normal, multiplier: 0.1}}
  - {name: probs, type: Softmax}
  - {name: loss, type: CategoricalCrossEntropy, T: {dataset: label}}
outputs: [probs, loss]
"""

VERSION_1 = """\
nnspec: 1
name: old
seed: 3
layers:
  - {name: x, type: Input, size: [1, 8, 8], generator_multiplier: 2.0, generator: Normal}
  - {name: conv, type: Convolution, out_maps: 4, kernel_shape: [3, 3], border_mode: valid, with_bias: false}
  - {name: pool, type: MaxPooling, kernel_shape: [2, 2]}
  - {name: fc, type: Affine, out_shape: 10, parameter_scope: head, W: {initializer: Normal, multiplier: 0.1}}
  - {name: probs, type: Softmax}
  - {name: loss, type: CategoricalCrossEntropy, T: {dataset: label}}
outputs: [probs, loss]
"""


def test_there_is_a_step_for_every_version_below_the_current_one() -> None:
    assert sorted(STEPS) == list(range(FORMAT_VERSION))


def test_a_version_0_spec_upgrades_to_a_valid_current_spec(tmp_path: Path) -> None:
    file = str(tmp_path / "old.yaml")
    text = upgrade_text(VERSION_0, file)
    spec = nnspec.loads(text, file)  # valid in the current format
    same_spec(spec, nnspec.loads(VERSION_1, file))  # and the network version 1 writes by hand
    assert load_text(text).data["nnspec"] == FORMAT_VERSION
    # the comment lines at the top stay; every other comment is lost
    assert text.startswith(
        "# yaml-language-server: $schema=../schemas/nnspec.schema.json\n"
        "# a small CNN, as format version 0 wrote it\n"
        f"nnspec: {FORMAT_VERSION}\n"
    )
    assert "version 0's name" not in text
    assert upgrade_text(text, file) == text  # upgraded once, there is nothing more to do


def test_upgrade_notes_say_what_changed_and_leave_the_input_alone() -> None:
    data = load_text(VERSION_0).data
    before = copy.deepcopy(data)
    upgraded, notes = upgrade(data)
    assert data == before
    assert upgraded == {**load_text(VERSION_1).data, "nnspec": FORMAT_VERSION}  # 1 -> 2 changes no more here
    assert list(upgraded) == ["nnspec", "name", "seed", "layers", "outputs"]  # key order kept
    assert notes[0] == "version 0 -> 1: 'network:' renamed 'layers:'"
    assert "version 0 -> 1: layer 'fc': 'OutShape' renamed 'out_shape'" in notes
    assert "version 0 -> 1: layer 'fc': 'ParameterScope' renamed 'parameter_scope'" in notes
    assert len(notes) == 1 + 2 + 4 + 1 + 2  # network; x; conv; pool; fc


def test_a_version_0_spec_with_unknown_names_upgrades_what_it_can() -> None:
    """Unknown types and misspelt keys are left for validation to report, with its suggestions."""
    text = "nnspec: 0\nnetwork:\n  - {name: x, type: Inputt, Size: [2]}\n  - {name: t, type: Tanh, Foo: 1}\n"
    upgraded, notes = upgrade(load_text(text).data)
    assert upgraded["layers"] == [{"name": "x", "type": "Inputt", "Size": [2]}, {"name": "t", "type": "Tanh", "Foo": 1}]
    assert notes == ["version 0 -> 1: 'network:' renamed 'layers:'"]
    with pytest.raises(nnspec.SpecError, match="unknown layer type 'Inputt'"):
        nnspec.loads(upgrade_text(text))


def test_a_step_that_cannot_apply_is_a_located_error() -> None:
    text = "nnspec: 0\nnetwork:\n  - {name: fc, type: Affine, OutShape: 3, out_shape: 4}\n"
    with pytest.raises(nnspec.SpecError) as caught:
        upgrade_text(text, "old.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.format() == (
        "old.yaml:1:9: error: cannot upgrade from format version 0: layer 'fc' has both 'OutShape' and "
        "'out_shape': keep one [version]"
    )
    both = "nnspec: 0\nnetwork: []\nlayers: []\n"
    with pytest.raises(nnspec.SpecError, match="has 'network:' and 'layers:' both"):
        upgrade_text(both)


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_a_current_spec_is_unchanged(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert upgrade_text(text, str(path)) == text  # byte for byte, comments included
    data = load_text(text).data
    assert upgrade(data) == (data, [])


def test_a_newer_version_is_a_clear_error() -> None:
    text = f"# header\nnnspec: {FORMAT_VERSION + 1}\nlayers:\n  - {{name: x, type: Input}}\n"
    with pytest.raises(nnspec.SpecError) as caught:
        upgrade_text(text, "new.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.format() == (
        f"new.yaml:2:9: error: format version {FORMAT_VERSION + 1} is newer than this nnspec reads "
        f"(versions 0 to {FORMAT_VERSION}): install a newer nnspec [version]"
    )
    assert caught.value.exit_code == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("layers: []\n", "missing the format version"),
        ("nnspec: -1\nlayers: []\n", "format version must be a whole number >= 0; got -1"),
        ("nnspec: 0.5\nlayers: []\n", "format version must be a whole number >= 0; got 0.5"),
        ("nnspec: '1'\nlayers: []\n", "format version must be a whole number >= 0; got '1'"),
        ("nnspec: true\nlayers: []\n", "format version must be a whole number >= 0; got True"),
        ("- nnspec: 1\n", "a spec is a mapping"),
    ],
)
def test_a_version_that_cannot_be_read_is_an_error(text: str, message: str) -> None:
    with pytest.raises(nnspec.SpecError, match=message):
        upgrade_text(text)


def test_a_whole_float_version_counts_as_that_version() -> None:
    upgraded, notes = upgrade({"nnspec": 0.0, "network": [{"name": "x", "type": "Input", "Size": [2]}]})
    assert upgraded == {"nnspec": FORMAT_VERSION, "layers": [{"name": "x", "type": "Input", "size": [2]}]}
    assert len(notes) == 2
