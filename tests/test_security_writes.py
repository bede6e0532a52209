"""Integrity of what nnspec writes (issue 15, items 18-22): statistics of float64 data near its
largest number, outputs that collide, unwritable folders, SIGTERM and stale temporary files,
and Ctrl-C in the last batch."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import nnspec
import nnspec.cli
import nnspec.validation
from nnspec.checks.stats import TensorStats
from nnspec.cli import main
from nnspec.report.report_schema import report_schema
from nnspec.runtime.runner import RunInterrupted

from .conftest import ROOT, SPECS
from .test_streaming import MLP, interrupt_at

SEED = str(SPECS / "seed_activations.yaml")

BIGGEST = float(np.finfo(np.float64).max)

FLOAT64 = """
nnspec: 1
dtype: float64
layers:
  - {name: x, type: Input, size: [4]}
  - {name: t, type: Tanh}
  - {name: r, type: ReLU, input: x}
"""

# --- item 18: float64 data near 1e308 ------------------------------------------------------

HUGE = np.array(
    [[1e308, -1e308, 1e308, -1e308], [1e308, 1e308, 1e308, 1e308], [-1e308, -1e308, -1e308, BIGGEST]],
)


def _huge_run(tmp_path, write_spec, *options: str) -> list[str]:
    np.save(tmp_path / "x.npy", HUGE)
    return ["run", str(write_spec(FLOAT64)), "--input", f"x={tmp_path / 'x.npy'}", *options]


@pytest.mark.parametrize("batch_size", ["1", "2", "3"])
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_float64_data_near_its_largest_number_gives_finite_statistics_in_json(tmp_path, write_spec, capsys, batch_size):
    # The mean's sum and the merged means' difference overflowed: "mean": inf crashed --format json.
    assert main(_huge_run(tmp_path, write_spec, "--format", "json", "--batch-size", batch_size)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    jsonschema.validate(report, report_schema())
    x = report["layers"][0]["output"]
    exact_mean = (HUGE / 2.0**600).mean() * 2.0**600  # scaled first: numpy's own mean overflows too
    assert x["mean"] == pytest.approx(exact_mean, rel=1e-12)
    assert x["std"] == pytest.approx((HUGE / 2.0**600).std() * 2.0**600, rel=1e-12)
    for layer in report["layers"]:
        for stats in (layer["output"], *layer["input_stats"]):
            assert all(math.isfinite(stats[key]) for key in ("min", "max", "mean", "std"))


@pytest.mark.parametrize("form", ["text", "github", "sarif"])
def test_float64_data_near_its_largest_number_in_the_other_formats(tmp_path, write_spec, capsys, form):
    assert main(_huge_run(tmp_path, write_spec, "--format", form)) == 0
    out, err = capsys.readouterr()
    words = out.replace("nan/inf", "").replace("nan-inf", "").split()
    assert "nan" not in words and "inf" not in words
    assert "error" not in err


@pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow inside matplotlib draws nonsense
def test_float64_data_near_its_largest_number_draws_plots_and_the_report(tmp_path, write_spec, capsys):
    pytest.importorskip("matplotlib")
    # Axis limits of inf (the span overflowed), then a singular transform at 1e308: internal errors.
    report, plots = tmp_path / "r.html", tmp_path / "plots"
    assert main(_huge_run(tmp_path, write_spec, "--report", str(report), "--plots", str(plots))) == 0
    _, err = capsys.readouterr()
    assert err == ""
    assert sorted(p.name for p in plots.iterdir()) == ["r.png", "t.png", "x.png"]
    assert report.read_text().startswith("<!DOCTYPE html>")


def test_statistics_of_extreme_float64_values_merge_to_finite_ones_in_any_batching():
    values = np.random.default_rng(3).choice([BIGGEST, -BIGGEST, 1e308, -5e307, 0.0, 1.0], size=(60, 5))
    expected_mean, expected_std = (values / 2.0**600).mean() * 2.0**600, (values / 2.0**600).std() * 2.0**600
    for batch in (1, 4, 7, 60):
        merged = None
        for start in range(0, len(values), batch):
            with np.errstate(all="ignore"):  # as the runner takes them: a row's own sum may overflow
                part = TensorStats.of(values[start : start + batch])
            merged = part if merged is None else merged.merge(part)
        assert merged.mean == pytest.approx(expected_mean, rel=1e-9)
        assert merged.std == pytest.approx(expected_std, rel=1e-9)
        assert merged.std <= merged.max / 2 - merged.min / 2


# --- item 22: Ctrl-C in the last batch ------------------------------------------------------


def _needs_python_ctrl_c() -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("Ctrl-C has another handler here")


def test_ctrl_c_in_the_last_batch_still_interrupts_the_run(capsys):
    _needs_python_ctrl_c()
    spec = nnspec.loads(MLP)
    interrupt_at(spec, "fc", batch=9, how="signal")  # the last of ten batches
    with pytest.raises(RunInterrupted) as caught:
        nnspec.run(spec, {"x": np.zeros((100, 4))}, batch_size=10)
    result = caught.value.result
    assert result.interrupted and (result.samples, result.total) == (100, 100)
    assert "stopping after this batch" in capsys.readouterr().err


def test_ctrl_c_in_the_last_batch_exits_130_and_writes_no_output(tmp_path, write_spec, monkeypatch, capsys):
    # The run printed "stopping after this batch", then wrote --output and exited 0.
    _needs_python_ctrl_c()
    load = nnspec.validation.load

    def loading(path, **options):
        spec = load(path, **options)
        interrupt_at(spec, "fc", batch=4, how="signal")  # the last of five batches
        return spec

    monkeypatch.setattr(nnspec.validation, "load", loading)
    np.save(tmp_path / "x.npy", np.zeros((40, 4)))
    out, params = tmp_path / "o.npz", tmp_path / "p.npz"
    argv = ["run", str(write_spec(MLP)), "--input", f"x={tmp_path / 'x.npy'}", "--batch-size", "8"]
    assert main([*argv, "--output", str(out), "--save-params", str(params)]) == 130
    stdout, stderr = capsys.readouterr()
    assert "3 layers, 40 samples, float32" in stdout  # the report of what ran
    assert stderr.endswith(
        "nnspec: interrupted in the last batch: the statistics and findings cover all 40 samples; "
        f"{out} and {params} not written\n"
    )
    assert not out.exists() and not params.exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# --- item 19: outputs that collide ------------------------------------------------------------


def _refused_before_the_run(monkeypatch, capsys, argv: list[str]) -> str:
    """Run ``argv`` in this process; assert it stops with exit 2 before any run, and return stderr."""

    def no_run(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(nnspec.cli, "_execute", no_run)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and err.startswith("nnspec: error: ")
    return err


def test_output_and_save_params_on_one_file_are_refused(tmp_path, monkeypatch, capsys):
    # Both were written, the parameters over the outputs, exit 0.
    target = tmp_path / "r.npz"
    err = _refused_before_the_run(
        monkeypatch, capsys, ["run", SEED, "--output", str(target), "--save-params", str(tmp_path / "." / "r.npz")]
    )
    assert err == f"nnspec: error: --output and --save-params both write {target}: give each its own file\n"
    assert not target.exists()


def test_save_params_must_be_a_npz_file(tmp_path, monkeypatch, capsys):
    # --save-params t.png --plots DIR wrote the parameters, then the plot over them (as t.png).
    err = _refused_before_the_run(
        monkeypatch, capsys, ["run", SEED, "--save-params", str(tmp_path / "tanh.png"), "--plots", str(tmp_path)]
    )
    assert "parameters are saved as a .npz file (--params reads them back)" in err
    assert list(tmp_path.iterdir()) == []


def test_an_output_over_a_file_the_run_reads_is_refused_even_with_force(tmp_path, write_spec, monkeypatch, capsys):
    spec = write_spec(
        MLP.replace("  - {name: t, type: Tanh}\n", "  - {name: t, type: Tanh}\n  - {name: o, type: ReLU}\n")
    )
    np.save(tmp_path / "x.npy", np.ones((4, 4), np.float32))
    np.savez(tmp_path / "p.npz", **{"fc/affine/W": np.ones((4, 3), np.float32), "fc/affine/b": np.zeros(3, np.float32)})
    (tmp_path / "link.npy").symlink_to(tmp_path / "x.npy")
    (tmp_path / "hard.npy").hardlink_to(tmp_path / "x.npy")
    run = ["run", str(spec), "--input", f"x={tmp_path / 'x.npy'}", "--force"]
    cases = [
        (["--output", str(tmp_path / "x.npy")], "--output would write over the data of x (--input)"),
        (["--output", str(tmp_path / "link.npy")], "--output would write over the data of x (--input)"),
        (["--output", str(tmp_path / "hard.npy")], "--output would write over the data of x (--input)"),
        (["--params", str(tmp_path / "p.npz"), "--save-params", str(tmp_path / "p.npz")], "the parameters (--params)"),
    ]
    before = (tmp_path / "x.npy").read_bytes(), (tmp_path / "p.npz").read_bytes()
    for options, message in cases:
        assert message in _refused_before_the_run(monkeypatch, capsys, [*run, *options])
    assert ((tmp_path / "x.npy").read_bytes(), (tmp_path / "p.npz").read_bytes()) == before


def test_an_output_over_the_spec_or_a_file_it_names_is_refused(tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "w.npy", np.ones((4, 3), np.float32))
    text = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
    text += "  - {name: fc, type: Affine, out_shape: 3, W: {file: w.npy}}\n"
    # A spec named like an output is not read at all (a spec file ends in .yaml, .yml or .json), so
    # --output cannot name the spec: the run stops at its suffix, the file untouched.
    spec = tmp_path / "spec.csv"
    spec.write_text(text)
    err = _refused_before_the_run(monkeypatch, capsys, ["run", str(spec), "--output", str(spec), "--force"])
    assert f"{spec}: nnspec does not read '.csv' files" in err
    assert spec.read_text() == text
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    err = _refused_before_the_run(
        monkeypatch, capsys, ["run", str(spec), "--output", str(tmp_path / "w.npy"), "--force"]
    )
    assert "--output would write over the parameter file of fc/affine/W" in err
    assert np.load(tmp_path / "w.npy").shape == (4, 3)


# --- item 20: unwritable output folders ---------------------------------------------------------

UNWRITABLE = "/proc"  # a directory that os.access calls writable for root, where no file can be made


def _target(folder: str, index: int) -> list[str]:
    """The command line of the ``index``-th way to write a file into ``folder`` (skipped where it needs
    matplotlib and there is none)."""
    argv = _targets(folder)[index]
    if "--report" in argv or "--plots" in argv:
        pytest.importorskip("matplotlib")
    return argv


def _targets(folder: str) -> list[list[str]]:
    return [
        ["run", SEED, "--output", f"{folder}/o.npz"],
        ["run", SEED, "--save-params", f"{folder}/p.npz"],
        ["run", SEED, "--report", f"{folder}/r.html"],
        ["run", SEED, "--plots", f"{folder}/plots"],
        ["graph", SEED, "-o", f"{folder}/g.dot"],
        ["graph", SEED, "--run", "-o", f"{folder}/g.dot"],
        ["upgrade", SEED, "-o", f"{folder}/u.yaml"],
    ]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
@pytest.mark.parametrize("index", range(7))
def test_every_output_in_a_folder_that_takes_no_file_is_refused_before_the_work(monkeypatch, capsys, index):
    err = _refused_before_the_run(monkeypatch, capsys, _target(UNWRITABLE, index))
    assert f"cannot write in {UNWRITABLE}: No such file or directory" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes in a read-only folder")
def test_a_read_only_folder_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    err = _refused_before_the_run(monkeypatch, capsys, ["run", SEED, "--save-params", str(folder / "p.npz")])
    assert f"cannot write in {folder}: permission denied" in err


def test_a_folder_the_permissions_deny_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    # What a read-only folder gives a user who is not root (root writes there: see the test above).
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == tmp_path else real_access(path, mode))
    err = _refused_before_the_run(monkeypatch, capsys, ["run", SEED, "--output", str(tmp_path / "o.npz")])
    assert err == f"nnspec: error: {tmp_path / 'o.npz'}: cannot write in {tmp_path}: permission denied\n"


def test_a_missing_folder_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    # --save-params found it after the run, and the report was not printed.
    err = _refused_before_the_run(monkeypatch, capsys, ["run", SEED, "--save-params", str(tmp_path / "no" / "p.npz")])
    assert f"directory {tmp_path / 'no'} does not exist" in err


def test_plots_under_a_file_are_refused_before_the_run(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "afile").write_text("")
    err = _refused_before_the_run(monkeypatch, capsys, ["run", SEED, "--plots", str(tmp_path / "afile" / "plots")])
    assert f"{tmp_path / 'afile'} is not a directory" in err


@pytest.mark.parametrize("index", range(7))
def test_every_output_under_a_name_the_system_refuses_is_a_usage_error_before_the_work(
    tmp_path, monkeypatch, capsys, index
):
    # A folder name longer than any file system takes (255 bytes): looking at it raises OSError
    # (File name too long), which --plots let through as an internal error.
    err = _refused_before_the_run(monkeypatch, capsys, _target(str(tmp_path / ("a" * 300)), index))
    assert "cannot write there: File name too long" in err


def test_a_write_that_fails_after_the_run_still_prints_the_report(tmp_path, monkeypatch, capsys):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)  # where every .npy and .npz is written
    target = tmp_path / "o.npz"
    assert main(["run", SEED, "--output", str(target)]) == 2
    out, err = capsys.readouterr()
    assert "tanh     [1, 1, 1, 1, 0, -1, -1, -1, -1]" in out  # the report of the run
    assert err == f"nnspec: error: {target}: could not be written (No space left on device); it is left as it was\n"
    assert list(tmp_path.iterdir()) == []


# --- item 21: killed while writing ----------------------------------------------------------------

WIDE = """
nnspec: 1
layers:
  - {name: x, type: Input, size: [8]}
  - {name: r, type: ReLU}
"""


def _writing(tmp_path, write_spec) -> tuple[subprocess.Popen, Path]:
    """nnspec run writing a .csv of 600,000 rows (seconds of work, more on a loaded machine, where this
    process may not look again for a second) in a child process, once its temporary file holds data:
    the moment to kill it."""
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(600_000, 8)).astype(np.float32))
    target = tmp_path / "out" / "o.csv"
    target.parent.mkdir()
    argv = ["run", str(write_spec(WIDE)), "--input", f"x={tmp_path / 'x.npy'}", "--output", str(target), "-q"]
    child = subprocess.Popen(
        [sys.executable, "-m", "nnspec", *argv], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    while not _holds_data(target.parent):
        assert child.poll() is None, f"the run ended before it could be interrupted: {child.stderr.read()}"
        time.sleep(0.01)
    return child, target


def _holds_data(directory: Path) -> bool:
    for temporary in directory.glob(".o.csv.*.tmp"):
        with contextlib.suppress(FileNotFoundError):  # renamed into place between the listing and the look
            if temporary.stat().st_size:
                return True
    return False


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_while_writing_removes_the_temporary_file(tmp_path, write_spec, signum):
    # The process died at once, leaving .o.csv.XXXXXXXX.tmp behind (six kills: 700 MB).
    child, target = _writing(tmp_path, write_spec)
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signum
    assert err == f"nnspec: terminated ({signal.Signals(signum).name})\n"
    assert list(target.parent.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_temporary_file_a_killed_writer_left_is_removed_when_the_file_is_written_again(tmp_path, write_spec):
    child, target = _writing(tmp_path, write_spec)
    child.kill()  # SIGKILL: nothing can clean up
    child.communicate(timeout=60)
    [left] = target.parent.iterdir()
    host = left.name.split(".nnspec-")[1].split("-")[0]
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        kept = [
            target.parent / f".o.csv.nnspec-{host}-{alive.pid}-abcdefgh.tmp",  # a writer still at work
            target.parent / f".o.csv.nnspec-00000000-{left.name.split('-')[2]}-abcdefgh.tmp",  # another host's
            target.parent / f".other.csv.nnspec-{host}-{left.name.split('-')[2]}-abcdefgh.tmp",  # another file's
        ]
        for path in kept:
            path.write_text("")
        assert (
            main(
                [
                    "run",
                    str(tmp_path / "spec.yaml"),
                    "--input",
                    f"x={tmp_path / 'x.npy'}",
                    "-q",
                    "--output",
                    str(target),
                    "--force",
                ]
            )
            == 0
        )
    finally:
        alive.kill()
        alive.wait()
    assert sorted(target.parent.iterdir()) == sorted([target, *kept])
