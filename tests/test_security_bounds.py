"""Issue 15, memory and time: work that grew with the sizes and names in a stranger's spec is bounded.

Each test fails on the code before the fix (commit f6c8c41) and passes after it.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.spec.loader import MAX_SPEC_BYTES


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


# --- huge shapes in validate (item 9) --------------------------------------------------------------

# A child process measured alone (forked from a small launcher, not from pytest: Linux counts the
# parent's memory at the fork in the child's peak), with an address-space limit so that the code
# before the fix fails in seconds (MemoryError) rather than taking 11.8 GB and minutes.
LAUNCHER = """
import os, resource, sys
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
    os.execv(sys.executable, [sys.executable, "-m", "nnspec", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)
"""
REPO = Path(__file__).resolve().parent.parent


def measured(argv: list[str], cwd: Path) -> tuple[int, int, str]:
    """Exit code, peak memory (bytes) and stderr of ``python -m nnspec ARGV``, run alone."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    code, peak = map(int, done.stdout.split()[-2:])
    return code, peak, done.stderr


@pytest.mark.parametrize(
    "layer, size",
    [
        ("{name: p, type: Softmax}", "[1000000]"),
        ("{name: p, type: LogSoftmax}", "[1000000]"),
        ("{name: p, type: Softmax}", "[100000000]"),
        ("{name: p, type: Softmax, axis: 1}", "[2, 2147483647]"),
    ],
)
def test_validate_estimates_huge_shapes_in_bounded_memory(layer, size, tmp_path):
    """Softmax's estimate drew 256 x classes logits and its overconfidence check 1000 x classes: a
    million classes took 11.8 GB and 383 s, a hundred million a MemoryError. Now the same few MB as
    any validation (measured: 73 MB; Python, numpy and jsonschema alone take about 60)."""
    (tmp_path / "spec.yaml").write_text(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {size}, generator: Normal}}\n  - {layer}\n"
    )
    code, peak, err = measured(["validate", "spec.yaml"], tmp_path)
    assert code == 0, err
    assert "internal error" not in err and "Traceback" not in err
    assert peak < 200 * 2**20, peak


def test_softmax_estimates_keep_their_values_for_normal_class_counts():
    """At most DRAWN_CLASSES classes the sample is what it was; beyond, the mean stays 1 / classes."""
    from nnspec.core.estimate import DRAWN_CLASSES, Estimate
    from nnspec.layers.activation import log_softmax_estimate, softmax_estimate

    logits = Estimate(0.0, 2.0)
    for classes in (10, DRAWN_CLASSES, 10 * DRAWN_CLASSES, 10**6):
        probabilities = softmax_estimate([logits], [(classes,)], {"axis": 0}, {}, "float64")
        assert probabilities.mean == pytest.approx(1 / classes)
        logs = log_softmax_estimate([logits], [(classes,)], {"axis": 0}, {}, "float64")
        assert logs.high == 0.0 and logs.mean < -np.log(classes) + 1e-9


def test_a_sum_over_huge_axes_is_estimated_without_wrapping_around(tmp_path, capsys):
    """numpy's int64 product of the reduced axes wrapped to a negative count: 'math domain error'."""
    axes = ", ".join(map(str, range(31)))
    (tmp_path / "spec.yaml").write_text(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [" + ", ".join(["2147483647"] * 31) + "]}\n"
        f"  - {{name: s, type: Sum, axes: [{axes}]}}\n"
    )
    code, err = cli(["validate", str(tmp_path / "spec.yaml")], capsys)
    assert code == 0, err


# --- too many axes (item 14) -------------------------------------------------------------------


def _axes_spec(tmp_path: Path, axes: int, layer: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [" + ", ".join(["1"] * axes) + "], generator: Normal}\n"
        f"  - {layer}\n"
    )
    return path


@pytest.mark.parametrize("axes", [32, 33, 63, 64, 65])
@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("layer", ["{name: a, type: Add2, input: [x, x]}", "{name: t, type: Tanh}"])
def test_more_axes_than_numpy_broadcasts_are_refused_where_the_shape_is_written(axes, command, layer, tmp_path, capsys):
    """33 axes were an internal error in validate (np.broadcast_shapes); 63 and 64 passed validate and
    crashed the run (the batch axis makes 64 or 65). Now a located error at the Input's size."""
    path = _axes_spec(tmp_path, axes, layer)
    argv = ["validate", str(path)] if command == "validate" else ["run", "-q", str(path)]
    code, err = cli(argv, capsys)
    assert code == 1, err
    assert f"{path}:3:34: error: layer 'x' (Input): its output would have {axes} axes; nnspec takes at most 31" in err


def test_the_most_axes_numpy_takes_still_run(tmp_path, capsys):
    path = _axes_spec(tmp_path, 31, "{name: a, type: Add2, input: [x, x]}")
    code, err = cli(["run", "-q", "--samples", "2", str(path)], capsys)
    assert code == 0, err


def test_a_memory_refusal_of_an_astronomical_run_is_a_readable_message(tmp_path, capsys):
    """The message printed the bytes as a 600-digit float, or overflowed (OverflowError) for larger shapes."""
    path = tmp_path / "spec.yaml"
    path.write_text(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: ["
        + ", ".join(["2147483647"] * 31)
        + "], generator: Normal}\n"
        "  - {name: t, type: Tanh}\n"
    )
    code, err = cli(["run", "-q", str(path)], capsys)
    assert code == 2, err
    assert re.search(r"this run needs about over 2\^\d+ bytes \(generated data over 2\^\d+ bytes, ", err), err
    assert len(err) < 500


def test_format_bytes_is_exact_for_any_size():
    from nnspec.files.memory import format_bytes

    assert [format_bytes(n) for n in (0, 1023, 1024, 11 * 2**30 + 2**29, 3 * 2**60)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "11.5 GiB",
        "3072.0 PiB",
    ]
    assert format_bytes(2**70) == "over 2^70 bytes"
    assert format_bytes(10**400) == "over 2^1328 bytes"


# --- absurd --max-memory, the spec's name (minor) ----------------------------------------------------


@pytest.mark.parametrize(
    "size", ["99999999999T", "1025T", "1e400", "-1", "9" * 5000, "1" + "0" * 17, "1e3G"], ids=lambda size: size[:20]
)
def test_an_absurd_max_memory_is_a_usage_error_stating_the_range(size, tmp_path, capsys):
    """A huge digit string was an internal error (OverflowError); 99999999999T was taken."""
    path = _axes_spec(tmp_path, 1, "{name: t, type: Tanh}")
    with pytest.raises(SystemExit) as stopped:
        cli(["run", "-q", "--max-memory", size, str(path)], capsys)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --max-memory" in err and "from 0 to 1024T" in err and "Traceback" not in err
    assert len(err) < 2000  # the 5000 digits are not echoed


def test_sizes_in_range_are_read_exactly():
    from nnspec.files.memory import parse_size

    assert parse_size("1024T") == 2**50
    assert parse_size("0") == 0
    assert parse_size("1.5g") == 3 * 2**29
    assert parse_size("0" * 5000 + "1k") == 1024


@pytest.mark.parametrize("value", ["5", "[a]", "{a: 1}", "true"])
def test_the_spec_name_of_a_wrong_type_is_asked_for_as_text(value, tmp_path, capsys):
    """The top-level name is free text ('bn-residual'); its error asked for a layer-name identifier."""
    path = tmp_path / "spec.yaml"
    path.write_text(f"nnspec: 1\nname: {value}\nlayers:\n  - {{name: x, type: Input, size: [4]}}\n")
    code, err = cli(["validate", str(path)], capsys)
    assert code == 1
    assert f"{path}:2:7: error: 'name' must be text (the network's name); got " in err
    assert "letters, digits" not in err


# --- huge graphs (item 13) --------------------------------------------------------------------------


def _chain(tmp_path: Path, count: int, skips: bool = False) -> Path:
    lines = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [4]}", "  - {name: a0, type: ReLU}"]
    for n in range(count - 2):
        lines.append(
            f"  - {{name: a{n + 1}, type: Add2, input: [a{n}, x]}}" if skips else f"  - {{name: a{n + 1}, type: ReLU}}"
        )
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("form", ["svg", "png"])
def test_a_graph_too_large_to_draw_is_refused_before_drawing(form, tmp_path, capsys):
    """4,400 layers took 250 s and 1.17 GB to draw. Now refused, pointing at DOT, with nothing written."""
    pytest.importorskip("matplotlib")
    path = _chain(tmp_path, 4400)
    output = tmp_path / f"g.{form}"
    code, err = cli(["graph", str(path), "-o", str(output)], capsys)
    assert code == 2
    assert f"{path}: 4400 layers are too many to draw (at most 500 layers and 2000 arrows): write the graph" in err
    assert not output.exists()
    code, err = cli(["graph", str(path), "-o", str(tmp_path / "g.dot")], capsys)  # DOT: no limit
    assert code == 0, err
    assert (tmp_path / "g.dot").read_text().count("->") == 4399


def test_a_graph_of_too_many_arrows_is_refused(tmp_path, capsys):
    """Each arrow is routed past every row it spans: 300 layers of 11 inputs each (3,245 arrows)."""
    lines = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [4]}", "  - {name: a0, type: ReLU}"]
    for n in range(1, 300):
        inputs = ", ".join(["x"] + [f"a{m}" for m in range(max(0, n - 10), n)])
        lines.append(f"  - {{name: a{n}, type: AddN, input: [{inputs}]}}")
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join(lines) + "\n")
    code, err = cli(["graph", str(path), "-o", str(tmp_path / "g.svg")], capsys)
    assert code == 2
    assert "3245 arrows are too many to draw (at most 500 layers and 2000 arrows)" in err


def test_a_png_of_too_many_pixels_is_refused(tmp_path, capsys):
    """200 layers each reading the Input: a 2,264 x 21,203 PNG (294 MB to draw); 300 of them, 530 MB."""
    pytest.importorskip("matplotlib")
    path = _chain(tmp_path, 300, skips=True)
    output = tmp_path / "g.png"
    code, err = cli(["graph", str(path), "-o", str(output)], capsys)
    assert code == 2
    assert re.search(r"its graph would be a PNG of [\d,]+ pixels, more than 33,554,432: write it as SVG", err), err
    assert not output.exists()


def test_out_of_memory_in_graph_does_not_suggest_the_runs_options(tmp_path, capsys, monkeypatch):
    """`graph` said "try --batch-size or --max-memory", which it takes only with --run."""
    from nnspec.report.pictures import diagram

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(diagram, "to_dot", exhausted)
    path = _chain(tmp_path, 3)
    code, err = cli(["graph", str(path)], capsys)
    assert code == 2
    assert err == "nnspec: error: not enough memory to draw this graph: write it as DOT (-o FILE.dot)\n"
