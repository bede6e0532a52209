"""Issue 15, memory and time: work that grew with the sizes and names in a stranger's spec is bounded.

Each test fails on the code before the fix (commit f6c8c41) and passes after it.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import nnspec
from nnspec.loader import MAX_SPEC_BYTES


def cli(argv: list[str], capsys) -> tuple[int, str]:
    """Exit code and stderr of the command line, run in this process."""
    from nnspec.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


# --- unknown names en masse (item 8) ---------------------------------------------------------------


def _many_unknown_inputs(tmp_path: Path) -> Path:
    """A spec just under the size limit: a thousand layers with 45-character names, each reading an
    unknown name as long and as alike as its neighbours (difflib's worst: every pair looks close)."""
    stem = "abcdefghij" * 4
    lines = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [4]}"]
    for i in range(100_000):
        line = f"  - {{name: {stem}{i:05d}, type: ReLU, input: {stem[::-1]}{i:05d}}}"
        if sum(len(text) + 1 for text in lines) + len(line) + 1 > MAX_SPEC_BYTES - 1024:
            break
        lines.append(line)
    path = tmp_path / "many.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_suggestions_for_thousands_of_unknown_names_are_bounded_work(tmp_path, monkeypatch):
    """Every unknown input was compared with every layer name: this spec took 280 s to validate
    (about a million difflib comparisons); the work of all suggestions in a file is now bounded."""
    path = _many_unknown_inputs(tmp_path)
    compared = 0
    set_seq1 = difflib.SequenceMatcher.set_seq1

    def counted(self, a):
        nonlocal compared
        compared += 1
        set_seq1(self, a)

    monkeypatch.setattr(difflib.SequenceMatcher, "set_seq1", counted)
    found = nnspec.validate(path)
    unknown = [d for d in found if d.code == "unknown-input"]
    assert len(unknown) > 1000
    assert compared <= 5_000, compared  # about 1,000 here: the budget's worth, whatever the spec's size


def test_cheap_suggestions_are_given_to_every_unknown_name_past_the_budget(tmp_path):
    """Past the budget of fuzzy comparisons, a name differing in case or by two swapped letters
    (lookups in an index of the names) is still suggested, however many there are."""
    lines = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [4]}"]
    lines += [f"  - {{name: Layer{i}, type: ReLU, input: {'x' if i == 0 else f'Layer{i - 1}'}}}" for i in range(1200)]
    lines += [f"  - {{name: out{i}, type: ReLU, input: layer{i}}}" for i in range(1000)]  # case
    lines += ["  - {name: last, type: ReLU, input: Layre1199}"]  # swapped letters, the last one
    path = tmp_path / "cases.yaml"
    path.write_text("\n".join(lines) + "\n")
    found = [d for d in nnspec.validate(path) if d.code == "unknown-input"]
    assert len(found) == 1001
    assert all(d.message.endswith(f"did you mean 'Layer{d.layer[3:]}'?") for d in found[:-1])
    assert found[-1].message.endswith("did you mean 'Layer1199'?")


def test_a_layer_reading_itself_in_another_case_is_not_offered_its_own_name(tmp_path):
    path = tmp_path / "self.yaml"
    path.write_text(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: Relu, type: ReLU, input: relu}"
    )
    (found,) = [d for d in nnspec.validate(path) if d.code == "unknown-input"]
    assert "did you mean" not in found.message
