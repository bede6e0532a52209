"""Integrity of what nnspec writes (issue 15, items 18-22): statistics of float64 data near its
largest number, outputs that collide, unwritable folders, SIGTERM and stale temporary files,
and Ctrl-C in the last batch."""

from __future__ import annotations

import json
import math
import signal

import jsonschema
import numpy as np
import pytest

import nnspec
import nnspec.validation
from nnspec.cli import main
from nnspec.output_schemas import report_schema
from nnspec.runner import RunInterrupted
from nnspec.stats import TensorStats

from .test_streaming import interrupt_at

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

MLP = """
nnspec: 1
layers:
  - {name: x, type: Input, size: [4]}
  - {name: fc, type: Affine, out_shape: 3}
  - {name: t, type: Tanh}
"""


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

    def loading(path):
        spec = load(path)
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
