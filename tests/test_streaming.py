"""Streaming runs: generated data made batch by batch, outputs kept or written by suffix,
--quiet, the progress bar, and Ctrl-C."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal

import numpy as np
import pytest

import nnspec
import nnspec.validation
from nnspec.cli import main
from nnspec.files import memory
from nnspec.runtime.inputs import generate, variables
from nnspec.runtime.progress import LineBar, Progress
from nnspec.runtime.runner import RunInterrupted

from .conftest import SPECS

SEED = str(SPECS / "seed_activations.yaml")

GENERATED = """
nnspec: 1
seed: 11
layers:
  - {name: n, type: Input, size: [3, 5], generator: Normal, generator_multiplier: 2.0}
  - {name: u, type: Input, size: [7], generator: Uniform}
  - {name: c, type: Input, size: [2], generator: Constant, generator_multiplier: 0.5}
  - {name: r, type: Input, size: [5], generator: Range, generator_multiplier: 10}
  - {name: fc, type: Affine, out_shape: 4, input: u}
  - {name: loss, type: SquaredError, input: u, T: {generator: Uniform}}
outputs: [n, u, c, r, fc, loss]
"""

MLP = """
nnspec: 1
layers:
  - {name: x, type: Input, size: [4]}
  - {name: fc, type: Affine, out_shape: 3}
  - {name: t, type: Tanh}
"""


def interrupt_at(spec, layer: str, batch: int, how: str = "raise") -> list[int]:
    """Make ``layer``'s forward interrupt at its ``batch``-th call (0-based): raise KeyboardInterrupt
    there (Ctrl-C arriving mid-batch), or send this process SIGINT (the batch then runs to its end)."""
    calls: list[int] = []
    original = spec.layers[layer].type.forward

    def forward(args, props, params):
        calls.append(len(args[0]))
        if len(calls) - 1 == batch:
            if how == "raise":
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGINT)
        return original(args, props, params)

    spec.layers[layer].type = dataclasses.replace(spec.layers[layer].type, forward=forward)
    return calls


# --- generators --------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_generated_data_is_the_same_whatever_the_batch_size(batch_size):
    spec = nnspec.loads(GENERATED)
    reference = nnspec.run(spec, samples=23, batch_size=5)
    result = nnspec.run(spec, samples=23, batch_size=batch_size)
    for name in ["n", "u", "c", "r", "loss"]:  # loss: (u - T)^2, T generated
        np.testing.assert_array_equal(result.outputs[name], reference.outputs[name], err_msg=name)
    # a matrix product may sum in another order for another batch size (BLAS): the same to rounding
    np.testing.assert_allclose(result.outputs["fc"], reference.outputs["fc"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(result.stats["loss"].output.histogram, reference.stats["loss"].output.histogram)


def test_a_batch_of_generated_data_is_a_slice_of_the_whole():
    for reader in variables(nnspec.loads(GENERATED)).values():
        whole = generate(reader, 0, 40, 3)
        for start, stop in [(0, 1), (5, 12), (39, 40), (17, 40)]:
            np.testing.assert_array_equal(generate(reader, start, stop, 3), whole[start:stop], err_msg=reader.variable)
        assert not np.array_equal(generate(reader, 0, 40, 4), whole) or reader.generator in ("Constant", "Range")


def test_generators_keep_their_distributions():
    out = nnspec.run(nnspec.loads(GENERATED), samples=2000, batch_size=300).outputs
    assert out["n"].mean() == pytest.approx(0.0, abs=0.05) and out["n"].std() == pytest.approx(2.0, rel=0.02)
    assert -1 <= out["u"].min() < -0.99 and 0.99 < out["u"].max() < 1
    assert out["u"].std() == pytest.approx(1 / np.sqrt(3), rel=0.02)
    np.testing.assert_array_equal(out["c"], np.full((2000, 2), 0.5, np.float32))
    np.testing.assert_array_equal(out["r"], [[-10, -5, 0, 5, 10]] * 2000)
    assert not np.array_equal(out["u"][:, :2], out["fc"][:, :2])  # each variable has its own stream


def test_generated_data_costs_one_batch_of_memory():
    spec = nnspec.loads(GENERATED)
    generated = list(variables(spec).values())
    small, large = (
        memory.Footprint.of(spec).estimate(1000, 100, generated),
        memory.Footprint.of(spec).estimate(10**7, 100, generated),
    )
    assert small.data == large.data > 0
    assert memory.Footprint.of(spec).estimate(1000, 200, generated).data == 2 * small.data
    # a billion generated samples in batches of 1000, keeping no outputs, need what ten thousand need
    big = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1000], generator: Normal}\n"
        "  - {name: s, type: Sum, axes: [0]}\n"
    )
    needed = memory.Footprint.of(big).estimate(10**9, 1000, list(variables(big).values()), kept=[])
    assert needed == memory.Footprint.of(big).estimate(10**4, 1000, list(variables(big).values()), kept=[])
    assert needed.total < 100 * 2**20 and needed.outputs == 0
    assert memory.Footprint.of(big).estimate(10**9, 1000, list(variables(big).values())).outputs == 10**9 * 4


# --- which outputs are kept --------------------------------------------------------------


def test_keep_outputs_keeps_only_outputs_up_to_that_many_values():
    spec = nnspec.loads(GENERATED)
    result = nnspec.run(spec, samples=10, batch_size=3, keep_outputs=40)
    assert sorted(result.outputs) == ["c", "fc"]  # 20 and 40 values; n has 150, u and loss 70, r 50
    assert result.omitted == {"n": (10, 3, 5), "u": (10, 7), "r": (10, 5), "loss": (10, 7)}
    assert result.stats["n"].output.count == 150  # statistics cover every output all the same
    assert nnspec.run(spec, samples=10, keep_outputs=0).outputs == {}


def test_without_output_the_cli_keeps_what_the_report_shows(write_spec, capsys):
    spec = write_spec(GENERATED)
    assert main(["run", str(spec), "--samples", "4000", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["outputs"]) == ["c", "fc", "loss", "n", "r", "u"]  # 60,000 values at most
    assert main(["run", str(spec), "--samples", "10000", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["outputs"]) == ["c", "fc", "loss", "r", "u"]
    assert report["outputs_omitted"] == {"n": [10000, 3, 5]}


# --- --output by suffix ------------------------------------------------------------------


def test_output_npy_holds_the_one_output(tmp_path, write_spec):
    spec = write_spec(MLP)
    np.save(tmp_path / "x.npy", np.linspace(-1, 1, 40).reshape(10, 4))
    out = tmp_path / "t.npy"
    assert (
        main(["run", str(spec), "--input", f"x={tmp_path / 'x.npy'}", "--batch-size", "3", "--output", str(out)]) == 0
    )
    x = np.linspace(-1, 1, 40).reshape(10, 4)
    expected = nnspec.run(nnspec.load(spec), {"x": x}, batch_size=3).outputs["t"]
    saved = np.load(out)
    assert saved.dtype == np.float32 and saved.shape == (10, 3)
    np.testing.assert_array_equal(saved, expected)


def test_output_npy_with_several_outputs_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    ran = []
    monkeypatch.setattr("nnspec.runtime.runner.gather_inputs", lambda *a, **k: ran.append(1))
    out = tmp_path / "o.npy"
    assert main(["run", SEED, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a .npy file holds one output, but the spec has 3 (tanh, sigmoid, relu)" in err and ".npz" in err
    assert not out.exists() and not ran
    assert main(["run", SEED, "--output", str(tmp_path / "o.txt")]) == 2
    assert "cannot write '.txt' files: use .npz" in capsys.readouterr().err
    assert main(["run", SEED, "--output", str(tmp_path / "missing" / "o.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not ran


def test_output_csv_has_an_nnc_header_and_a_row_a_sample(tmp_path, write_spec):
    spec = write_spec(GENERATED)
    out = tmp_path / "o.csv"
    assert main(["run", str(spec), "--samples", "6", "--batch-size", "4", "--output", str(out), "-q"]) == 0
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:16] == [f"n__{i}" for i in range(15)] + ["u__0"]
    assert header[-8:] == ["fc__3", "loss__0", "loss__1", "loss__2", "loss__3", "loss__4", "loss__5", "loss__6"]
    assert len(header) == 15 + 7 + 2 + 5 + 4 + 7 and len(lines) == 7
    values = np.loadtxt(out, delimiter=",", skiprows=1)
    expected = nnspec.run(nnspec.load(spec), samples=6, batch_size=4).outputs
    flat = np.concatenate([expected[name].reshape(6, -1) for name in ["n", "u", "c", "r", "fc", "loss"]], axis=1)
    np.testing.assert_array_equal(values.astype(np.float32), flat)  # 9 digits read float32 back exactly
    assert lines[1].split(",")[22:24] == ["0.5", "0.5"]  # and no more digits than that


def test_output_npz_holds_every_output_and_no_file_is_overwritten_without_force(tmp_path, capsys):
    for suffix in (".npz", ".npy", ".csv"):
        out = tmp_path / f"o{suffix}"
        out.write_text("keep me")
        assert main(["run", SEED, "--output", str(out)]) == 2
        assert "exists; add --force" in capsys.readouterr().err
        assert out.read_text() == "keep me"
    out = tmp_path / "o.npz"
    assert main(["run", SEED, "--output", str(out), "--force"]) == 0
    with np.load(out) as saved:
        assert sorted(saved.files) == ["relu", "sigmoid", "tanh"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savetxt", broken)
    out = tmp_path / "o.csv"
    assert main(["run", SEED, "--output", str(out)]) == 2
    assert list(tmp_path.iterdir()) == []


# --- --quiet and the progress bar --------------------------------------------------------


def test_quiet_keeps_the_findings_and_the_exit_code(capsys):
    assert main(["run", SEED, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "layer   type" not in out and "\noutputs\n" not in out and "seed-activations:" not in out
    assert out.startswith("warnings\n  line 10: the data for 'x' (Input)") and out.endswith("\n0 errors, 3 warnings\n")
    assert main(["run", SEED, "-q", "--strict"]) == 1
    capsys.readouterr()
    assert main(["run", SEED, "-q", "--format", "json"]) == 0  # JSON is for tools: the same with --quiet
    assert len(json.loads(capsys.readouterr().out)["findings"]) == 3


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_appears_after_the_delay_and_is_erased():
    stream = Terminal()
    bar = LineBar(1000, stream, delay=0.0)
    bar.update(250)
    bar.update(250)  # within a tenth of a second of the first: not redrawn
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r250/1,000 samples   25%") and text.count("\r") == 3 and text.endswith("\r")
    quiet = Terminal()
    late = LineBar(1000, quiet, delay=60.0)
    late.update(1000)
    late.close()
    assert quiet.getvalue() == ""  # a run shorter than the delay draws nothing


def test_progress_line_never_says_100_percent_before_the_end():
    stream = Terminal()
    bar = LineBar(1000, stream, delay=0.0)
    bar.update(996)
    assert stream.getvalue().startswith("\r996/1,000 samples  99.6%")  # "100%" with 4 samples to go


def test_progress_line_rate_is_measured_from_its_first_update():
    # the bar is made when the first batch is done: that batch's samples took no time for it
    stream = Terminal()
    bar = LineBar(1000, stream, delay=0.0)
    bar.update(500)
    first = stream.getvalue()
    assert first == "\r500/1,000 samples   50%"  # no rate yet, rather than 500 samples in no time
    bar._first = (500, bar._first[1] - 2.0)  # as if the first update were two seconds ago
    bar._drawn_at = None
    bar.suffix = "2 of 3 workers busy"
    bar.update(100)
    assert stream.getvalue()[len(first) :].startswith(
        "\r600/1,000 samples   60%  50 samples/s  8 s left  2 of 3 workers busy"
    )


def test_progress_is_silent_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(stream, delay=0.0)
    progress(5, 10)
    progress(10, 10)
    progress.close()
    assert stream.getvalue() == ""


def test_progress_draws_on_a_terminal_with_or_without_tqdm():
    for use_tqdm in (False, True):
        stream = Terminal()
        progress = Progress(stream, delay=0.0, use_tqdm=use_tqdm)
        nnspec.run(nnspec.loads(GENERATED), samples=50, batch_size=10, progress=progress)
        progress.close()
        assert "50/50" in stream.getvalue().replace(".0", ""), (use_tqdm, stream.getvalue())
        assert "workers" not in stream.getvalue()  # a local run's bar, as it was


# --- Ctrl-C ------------------------------------------------------------------------------


def test_an_interrupt_within_a_batch_returns_the_batches_before_it():
    spec = nnspec.loads(MLP)
    x = np.random.default_rng(0).uniform(-1, 1, (100, 4))
    calls = interrupt_at(spec, "t", batch=3)
    with pytest.raises(RunInterrupted) as caught:
        nnspec.run(spec, {"x": x}, batch_size=16)
    assert isinstance(caught.value, KeyboardInterrupt)
    result = caught.value.result
    assert len(calls) == 4 and result.interrupted and (result.samples, result.total) == (48, 100)
    assert result.stats["t"].output.count == 48 * 3 and result.stats["x"].output.count == 48 * 4
    whole = nnspec.run(nnspec.loads(MLP), {"x": x[:48]})
    np.testing.assert_array_equal(result.outputs["t"], whole.outputs["t"])
    assert result.stats["t"].output.max == whole.stats["t"].output.max


def test_ctrl_c_finishes_the_current_batch_then_stops(capsys):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("Ctrl-C has another handler here")
    spec = nnspec.loads(MLP)
    interrupt_at(spec, "fc", batch=2, how="signal")
    with pytest.raises(RunInterrupted) as caught:
        nnspec.run(spec, {"x": np.zeros((100, 4))}, batch_size=10)
    assert caught.value.result.samples == 30  # batch 2 (samples 20 to 29) ran to its end
    assert "stopping after this batch" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_an_interrupt_in_the_first_batch_is_a_plain_keyboard_interrupt():
    spec = nnspec.loads(MLP)
    interrupt_at(spec, "t", batch=0)
    with pytest.raises(KeyboardInterrupt) as caught:
        nnspec.run(spec, {"x": np.zeros((20, 4))}, batch_size=10)
    assert not isinstance(caught.value, RunInterrupted)


def test_the_cli_reports_what_ran_and_exits_130(tmp_path, write_spec, monkeypatch, capsys):
    spec_path = write_spec(MLP.replace("Tanh}", "Tanh}\n  - {name: s, type: Sigmoid, input: fc}"))
    load = nnspec.validation.load

    def loading(path, **options):
        spec = load(path, **options)
        interrupt_at(spec, "s", batch=2)
        return spec

    monkeypatch.setattr(nnspec.validation, "load", loading)
    np.save(tmp_path / "x.npy", np.full((50, 4), 300.0))
    out = tmp_path / "o.npz"
    argv = ["run", str(spec_path), "--input", f"x={tmp_path / 'x.npy'}", "--batch-size", "8", "--output", str(out)]
    assert main(argv) == 130
    stdout, stderr = capsys.readouterr()
    assert "4 layers, 16 samples, float32" in stdout
    assert "[input-range]" in stdout  # findings over the samples that ran
    assert stderr == (
        f"nnspec: interrupted after 16 of 50 samples: the statistics and findings cover those samples only; "
        f"{out} not written\n"
    )
    assert not out.exists()
