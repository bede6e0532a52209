"""A run on a Dask cluster (nnspec.runtime.distributed; issue 23) against the same run in one process.

A real scheduler and real worker processes on 127.0.0.1: a LocalCluster of two single-threaded worker
processes shared by the module, and, for the faults, a scheduler and workers started by dask's own command
line, killed mid-run. The reference is always the in-process run with the same batches: its statistics
(every field, to the bit: the client merges the batches' statistics in their order, as the local run
does), its outputs (identical arrays), its findings and exit code.
"""

from __future__ import annotations

import json
import os
import pickle
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

import nnspec  # noqa: E402
from nnspec.cli import main  # noqa: E402
from nnspec.core.diagnostics import UsageError  # noqa: E402
from nnspec.runtime import distributed as remote  # noqa: E402
from nnspec.runtime.distributed import ClusterError, Dask, default_batch_size  # noqa: E402
from nnspec.runtime.runner import RemoteBatches, RunInterrupted  # noqa: E402

from .conftest import ROOT, SPECS  # noqa: E402

DIGITS = SPECS / "digits.yaml"
DIGITS_DATA = ROOT / "data" / "digits"

# Generators of each kind, a side input, Dropout and BatchNormalization: the training view draws Dropout
# per sample and takes BatchNormalization's statistics over the batch, so its values depend on the batches.
GENERATED = """
nnspec: 2
seed: 7
layers:
  - {name: x, type: Input, size: [6], generator: Normal, generator_multiplier: 3.0}
  - {name: fc1, type: Affine, out_shape: 16}
  - {name: bn, type: BatchNormalization, axes: [0]}
  - {name: drop, type: Dropout, p: 0.3}
  - {name: t, type: Tanh}
  - {name: fc2, type: Affine, out_shape: 4}
  - {name: s, type: Sigmoid}
  - {name: loss, type: SquaredError, input: s, T: {generator: Uniform}}
outputs: [t, s, loss]
"""

FROM_FILES = """
nnspec: 2
seed: 3
layers:
  - {name: x, type: Input, size: [5]}
  - {name: fc, type: Affine, out_shape: 8}
  - {name: r, type: ReLU}
  - {name: out, type: Affine, out_shape: 3}
  - {name: sm, type: Softmax}
outputs: [r, sm]
"""


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two worker processes of one thread on 127.0.0.1, for the module: its address."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1"
    ) as local:
        yield local.scheduler_address


def same_stats(local: nnspec.RunResult, spread: nnspec.RunResult) -> None:
    """Every layer's statistics the same, field by field (to_dict: counts, extremes, moments, histogram,
    percentiles), and every check's measures."""
    assert set(local.stats) == set(spread.stats)
    for name, stats in local.stats.items():
        assert spread.stats[name].output.to_dict() == stats.output.to_dict(), name
        assert set(spread.stats[name].measures) == set(stats.measures), name
        for check, measure in stats.measures.items():
            other = spread.stats[name].measures[check]
            assert set(other) == set(measure), (name, check)
            for key, value in measure.items():
                np.testing.assert_array_equal(other[key], value, err_msg=f"{name} {check} {key}")


def same_run(local: nnspec.RunResult, spread: nnspec.RunResult) -> None:
    same_stats(local, spread)
    assert local.samples == spread.samples
    assert set(local.outputs) == set(spread.outputs)
    for name, value in local.outputs.items():
        assert spread.outputs[name].dtype == value.dtype, name
        np.testing.assert_array_equal(spread.outputs[name], value, err_msg=name)
    assert [(f.layer, f.check, f.severity, f.message) for f in spread.findings] == [
        (f.layer, f.check, f.severity, f.message) for f in local.findings
    ]


def both(spec, cluster: str, **arguments) -> tuple[nnspec.RunResult, nnspec.RunResult]:
    local = nnspec.run(spec, **arguments)
    spread = nnspec.run(spec, executor=Dask(scheduler=cluster), **arguments)
    return local, spread


def test_a_dataset_of_images_gives_the_run_of_one_process(cluster):
    spec = nnspec.load(DIGITS)
    arguments = {"dataset": DIGITS_DATA / "index_test.csv", "params": DIGITS_DATA / "params.npz", "batch_size": 64}
    local, spread = both(spec, cluster, **arguments)
    same_run(local, spread)
    assert spread.samples == 500 and spread.scores["error"]["value"] == pytest.approx(0.02)
    # both workers ran batches, and together every one of the 8
    assert len(spread.workers) == 2
    assert sum(w.batches for w in spread.workers) == 8 and sum(w.samples for w in spread.workers) == 500
    assert all(w.seconds > 0 for w in spread.workers)
    assert not local.workers


def test_the_spec_data_section_and_uneven_batches(cluster):
    spec = nnspec.load(DIGITS)  # its data: ten digits, in batches of 3, 3, 3 and 1
    local, spread = both(spec, cluster, batch_size=3)
    same_run(local, spread)
    assert spread.samples == 10


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv"])
def test_data_files(cluster, tmp_path, write_spec, suffix):
    spec = nnspec.load(write_spec(FROM_FILES))
    values = np.random.default_rng(5).normal(0, 2, (203, 5)).astype(np.float32)
    path = tmp_path / f"x{suffix}"
    if suffix == ".npy":
        np.save(path, values)
    elif suffix == ".npz":
        np.savez(path, x=values)
    else:
        np.savetxt(path, values, delimiter=",", fmt="%.9g")
    local, spread = both(spec, cluster, input_files={"x": path}, batch_size=25)
    same_run(local, spread)
    assert spread.samples == 203


@pytest.mark.parametrize("view", ["validation", "training"])
def test_generators_and_batch_dependent_layers(cluster, write_spec, view):
    # training: Dropout's draws and BatchNormalization's batch statistics come out the same, the batches being
    # the local run's
    spec = nnspec.load(write_spec(GENERATED))
    local, spread = both(spec, cluster, samples=300, batch_size=32, view=view)
    same_run(local, spread)


@pytest.mark.parametrize(
    "name", ["elman_net", "repeat_residual", "bn_residual", "squeezenet_fire", "vae_side_inputs", "arguments"]
)
def test_the_example_specs_on_their_own_data(cluster, name):
    # a recurrent loop unrolled (its layer type variants pickled too), repeats, side inputs, Dropout's seeds
    spec = nnspec.load(SPECS / f"{name}.yaml")
    local, spread = both(spec, cluster, samples=24, batch_size=5)
    same_run(local, spread)


def test_an_nnc_project_s_executor_dataset(cluster, tmp_path):
    # raw_pixels.sdcproj reads its executor's dataset, data\\validation.csv beside it, unnormalised 8-bit images
    Image = pytest.importorskip("PIL.Image")
    text = (ROOT / "tests" / "fixtures" / "nnc" / "raw_pixels.sdcproj").read_text(encoding="utf-8")
    project = tmp_path / "raw_pixels.sdcproj"
    project.write_text(text, encoding="utf-8", newline="")
    (tmp_path / "data" / "images").mkdir(parents=True)
    rows = ["x:image,y:label,z__0,z__1"]
    for index in range(13):
        pixels = np.random.default_rng(index).integers(0, 256, (4, 4), dtype=np.uint8)
        Image.fromarray(pixels, mode="L").save(tmp_path / "data" / "images" / f"{index}.png")
        rows.append(f"images/{index}.png,{index % 3},{index % 2},{1 - index % 2}")
    (tmp_path / "data" / "validation.csv").write_text("\n".join(rows) + "\n")
    spec = nnspec.load(project)
    local, spread = both(spec, cluster, batch_size=4)
    same_run(local, spread)
    assert spread.samples == 13 and spread.stats["Input"].output.max > 1  # read as 0..255


def test_outputs_only(cluster, write_spec):
    spec = nnspec.load(write_spec(GENERATED))
    local, spread = both(spec, cluster, samples=100, batch_size=30, statistics=False)
    assert spread.stats == {} and spread.findings == []
    same_run(local, spread)


def test_synthetic_data(cluster):
    spec = nnspec.load(SPECS / "lenet.yaml")
    local, spread = both(spec, cluster, synthetic=True, samples=40, batch_size=16)
    same_run(local, spread)


def test_without_a_batch_size_the_batches_are_the_rule_s_whatever_the_workers(cluster, write_spec):
    spec = nnspec.load(write_spec(GENERATED))
    assert default_batch_size(300) == 5 and default_batch_size(10**6) == 1024 and default_batch_size(1) == 1
    spread = nnspec.run(spec, samples=300, executor=Dask(scheduler=cluster))
    assert spread.memory is not None and spread.memory.batch == 5
    assert sum(w.batches for w in spread.workers) == 60
    same_run(nnspec.run(spec, samples=300, batch_size=5), spread)


def test_the_onnxruntime_engine(cluster, write_spec):
    pytest.importorskip("onnxruntime")
    spec = nnspec.load(
        write_spec(FROM_FILES.replace("x, type: Input, size: [5]", "x, type: Input, size: [5], generator: Normal"))
    )
    local, spread = both(spec, cluster, samples=120, batch_size=50, engine="onnxruntime")
    same_run(local, spread)


def test_the_client_builds_no_engine_its_workers_build_theirs(cluster):
    # onnxruntime's engine writes the model and opens sessions: on the client of a distributed run, for nothing.
    # The layers it leaves to numpy (here a Dropout drawing its mask, and a SquaredError on it) are said all the same.
    pytest.importorskip("onnxruntime")
    from .test_onnxruntime_fallback import APPLIED

    spec = nnspec.loads(APPLIED)
    local = nnspec.prepare(spec, engine="onnxruntime")
    spread = nnspec.prepare(spec, engine="onnxruntime", executor=Dask(scheduler=cluster))
    assert "engine" not in vars(spread) and "engine" in vars(local)  # built on first use, by a local run only
    assert list(local.numpy_layers) == ["d", "se"] and spread.numpy_layers == local.numpy_layers
    arguments = {"samples": 40, "batch_size": 16, "synthetic": True}
    result, reference = spread.run(**arguments), local.run(**arguments)
    assert "engine" not in vars(spread)
    assert result.engine == "onnxruntime" and result.numpy_layers == reference.numpy_layers
    same_run(reference, result)


def test_arrays_in_memory_are_not_sent(cluster, write_spec):
    spec = nnspec.load(write_spec(FROM_FILES))
    with pytest.raises(UsageError, match="from files: give x as files"):
        nnspec.run(spec, {"x": np.zeros((4, 5), np.float32)}, executor=Dask(scheduler=cluster))


def test_an_error_on_a_worker_is_the_error_of_a_local_run(cluster, tmp_path, write_spec):
    # a dataset whose image is unreadable: the worker that reads it raises what the local run raises
    images = tmp_path / "images"
    images.mkdir()
    (images / "bad.png").write_bytes(b"not a png")
    index = tmp_path / "index.csv"
    index.write_text("x:image,y:label\nimages/bad.png,1\n")
    spec = nnspec.load(DIGITS)
    with pytest.raises(UsageError) as in_process:
        nnspec.run(spec, dataset=index, params=DIGITS_DATA / "params.npz")
    with pytest.raises(UsageError) as on_worker:
        nnspec.run(spec, dataset=index, params=DIGITS_DATA / "params.npz", executor=Dask(scheduler=cluster))
    assert str(on_worker.value) == str(in_process.value)


def test_ctrl_c_cancels_the_tasks_and_reports_the_samples_done(cluster, write_spec):
    spec = nnspec.load(write_spec(GENERATED))

    def interrupt(done: int, total: int) -> None:
        if done >= 60:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as stopped:
        nnspec.run(spec, samples=3000, batch_size=20, executor=Dask(scheduler=cluster), progress=interrupt)
    result = stopped.value.result
    assert result.interrupted and result.total == 3000
    assert 0 < result.samples < 3000 and result.samples % 20 == 0
    # the statistics are those of the samples before the first batch not done, as a local run's
    same_stats(nnspec.run(spec, samples=result.samples, batch_size=20), result)


def test_the_progress_bar_says_how_many_workers_are_busy(cluster, write_spec):
    from nnspec.runtime.progress import Progress

    from .test_streaming import Terminal

    stream = Terminal()
    progress = Progress(stream, delay=0.0, use_tqdm=False)
    nnspec.run(nnspec.loads(GENERATED), samples=300, batch_size=20, executor=Dask(scheduler=cluster), progress=progress)
    progress.close()
    lines = stream.getvalue().split("\r")
    assert re.search(r"^300/300 samples  100%  [\d,]+ samples/s  0 s left  [012] of 2 workers busy *$", lines[-3]), (
        lines
    )
    # told after the first batch back, shown from the next update on: never on the first line; erased at the end
    assert lines[-2].strip() == ""
    assert "workers" not in lines[1]


def remote_batches(spec, count: int, cwd: str | None = None, samples: int | None = None):
    """The job a distributed run sends its workers, for ``spec``'s generated data (``samples``, else ``count``),
    run here; ``count`` is the number of samples the client found, ``cwd`` its working directory."""
    import dataclasses

    from nnspec.runtime.runner import Runner, _DataRequest

    making = Runner(spec)._making()
    if cwd is not None:
        making = dataclasses.replace(making, cwd=cwd)
    request = _DataRequest(samples=samples or count).anywhere()
    return RemoteBatches(making, request, count, list(spec.outputs))


def test_a_worker_computes_a_batch_as_the_local_run_does(write_spec):
    spec = nnspec.load(write_spec(GENERATED))
    job = pickle.loads(pickle.dumps(remote_batches(spec, 300)))  # as a worker receives it
    batch = job(32, 64)
    local = nnspec.run(spec, samples=64, batch_size=32)
    np.testing.assert_array_equal(batch.outputs["t"], local.outputs["t"][32:64])
    assert batch.data == {}  # the data stays where it was read


def test_a_worker_that_finds_other_data_says_so(write_spec):
    spec = nnspec.load(write_spec(GENERATED))
    with pytest.raises(UsageError, match="a worker finds 300 samples in the data where nnspec found 299"):
        remote_batches(spec, 299, samples=300)(0, 10)


def test_a_worker_elsewhere_refuses_a_relative_spec_path(write_spec, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    write_spec(GENERATED)  # tmp_path/spec.yaml
    spec = nnspec.load("spec.yaml")
    with pytest.raises(UsageError, match="give the spec as an absolute path"):
        remote_batches(spec, 300, cwd="/somewhere/else")(0, 10)


# --- the command line ---------------------------------------------------------------------------


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_output_report_and_exit_code_are_the_local_run_s(cluster, tmp_path, capsys):
    arguments = [
        "run",
        DIGITS,
        "--dataset",
        DIGITS_DATA / "index_test.csv",
        "--params",
        DIGITS_DATA / "params.npz",
        "--batch-size",
        "100",
        "--format",
        "json",
    ]
    code, out, _ = cli(capsys, *arguments, "--output", tmp_path / "local.npz")
    spread_code, spread_out, _ = cli(capsys, *arguments, "--output", tmp_path / "spread.npz", "--scheduler", cluster)
    assert spread_code == code == 0
    with np.load(tmp_path / "local.npz") as local, np.load(tmp_path / "spread.npz") as spread:
        assert sorted(local.files) == sorted(spread.files)
        for name in local.files:
            np.testing.assert_array_equal(spread[name], local[name])
    report, spread_report = json.loads(out), json.loads(spread_out)
    workers = spread_report.pop("workers")
    assert report == spread_report
    assert len(workers) == 2 and sum(w["samples"] for w in workers) == 500
    from jsonschema import validate

    validate(json.loads(spread_out), json.loads((ROOT / "schemas" / "report.schema.json").read_text()))


def test_cli_text_report_says_which_workers_ran(cluster, capsys):
    code, out, _ = cli(capsys, "run", DIGITS, "--batch-size", "4", "--scheduler", cluster)
    assert code == 0
    assert "ran on 2 Dask workers in batches of 4:" in out
    assert out.count("  tcp://127.0.0.1:") == 2


def test_cli_local_workers(tmp_path, capsys):
    # --workers N: a cluster of N processes started for the run and stopped after it
    code, out, err = cli(capsys, "run", DIGITS, "--batch-size", "5", "--workers", "1")
    assert code == 0, err
    assert "ran on 1 Dask worker in batches of 5:" in out


def test_cli_workers_without_a_number_starts_one_a_usable_core(monkeypatch, capsys):
    # --workers alone: a user with one big machine gets all its cores (here made 1, to start one process)
    import nnspec.cli

    monkeypatch.setattr(nnspec.cli, "usable_cores", lambda: 1)
    code, out, err = cli(capsys, "run", DIGITS, "--batch-size", "5", "--workers")
    assert code == 0, err
    assert "ran on 1 Dask worker in batches of 5:" in out
    assert nnspec.cli.ALL_CORES < 1  # never a number --workers N accepts


def test_usable_cores_is_this_process_s_affinity():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    from nnspec.cli import usable_cores

    assert usable_cores() == expected


def test_cli_graph_run_on_a_cluster_draws_the_local_run_s_findings(cluster, capsys):
    arguments = ["graph", SPECS / "deep_sigmoid.yaml", "--run", "--samples", "24", "--batch-size", "5"]  # 8 warnings
    code, local, _ = cli(capsys, *arguments)
    spread_code, spread, err = cli(capsys, *arguments, "--scheduler", cluster)
    assert spread_code == code == 0, err
    assert spread == local and "digraph" in spread  # the same boxes, coloured by the same findings, the same title


def test_cli_graph_takes_a_cluster_only_for_a_run(capsys):
    code, _, err = cli(capsys, "graph", DIGITS, "--workers", "2")
    assert code == 2
    assert "nnspec: error: --workers give data for a run: add --run (or leave them out)" in err


def test_cli_without_the_extra_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed raises ImportError
    code, _, err = cli(capsys, "run", DIGITS, "--workers", "2")
    assert code == 2
    assert "needs dask and distributed: pip install dask distributed" in err


def test_cli_scheduler_and_workers_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", str(DIGITS), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert exited.value.code == 2


def test_cli_an_unreachable_scheduler_is_a_clear_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(remote, "CONNECT_SECONDS", 1.0)
    port = free_port()
    code, out, err = cli(
        capsys, "run", DIGITS, "--scheduler", f"tcp://127.0.0.1:{port}", "--output", tmp_path / "o.npz"
    )
    assert code == 2
    assert f"nnspec: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err
    assert "Traceback" not in err and not (tmp_path / "o.npz").exists()


def test_a_scheduler_without_workers_is_a_clear_error(monkeypatch, write_spec):
    from distributed import LocalCluster

    monkeypatch.setattr(remote, "CONNECT_SECONDS", 1.0)
    spec = nnspec.load(write_spec(GENERATED))
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0", host="127.0.0.1") as empty:
        address = empty.scheduler_address
        with pytest.raises(ClusterError, match=f"the Dask scheduler at {address} has no workers"):
            nnspec.run(spec, samples=10, executor=Dask(scheduler=address))


# --- faults: a cluster of dask's own command line, killed mid-run ---------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# A dead peer is given up on after 3 s, not dask's 30: the faults' tests stay short.
FAST_TIMEOUTS = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}


def dask_command(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **FAST_TIMEOUTS},
    )


@pytest.fixture
def own_cluster():
    """A scheduler and two workers (no nanny: a worker killed stays dead) started by dask's command line:
    the address and the processes, stopped at the end."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = dask_command(
        "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"
    )
    workers = [
        dask_command("distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard")
        for _ in range(2)
    ]
    processes = [scheduler, *workers]
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, scheduler, workers
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def test_a_worker_killed_mid_run_has_its_batches_run_again_elsewhere(own_cluster, write_spec):
    address, _, workers = own_cluster
    spec = nnspec.load(write_spec(GENERATED))
    killed: list[int] = []

    def kill_a_worker(done: int, total: int) -> None:
        if not killed:  # after the first batch back: the other batches are queued or running
            workers[0].send_signal(signal.SIGKILL)
            killed.append(workers[0].pid)

    arguments = {"samples": 4000, "batch_size": 100}
    spread = nnspec.run(spec, executor=Dask(scheduler=address), progress=kill_a_worker, **arguments)
    assert killed and workers[0].wait(timeout=10) == -signal.SIGKILL
    same_run(nnspec.run(spec, **arguments), spread)
    assert sum(w.samples for w in spread.workers) == 4000  # each batch taken once, wherever it ran last


def test_the_scheduler_going_away_is_a_clear_error_and_nothing_is_written(own_cluster, write_spec, tmp_path, capsys):
    address, scheduler, _ = own_cluster
    spec_path = write_spec(GENERATED)
    output = tmp_path / "out.npz"
    original = remote._Collected._back

    def stop_the_scheduler(self, *arguments):
        original(self, *arguments)
        if scheduler.poll() is None:
            scheduler.send_signal(signal.SIGKILL)

    began = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(remote._Collected, "_back", stop_the_scheduler)
        code, _, err = cli(
            capsys,
            "run",
            spec_path,
            "--samples",
            "4000",
            "--batch-size",
            "100",
            "--scheduler",
            address,
            "--output",
            output,
        )
    assert code == 2, err
    assert f"nnspec: error: lost the Dask scheduler at {address} after " in err
    assert "nothing was written" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == [Path(spec_path).name]  # no output, no temporary file left
    assert time.monotonic() - began < 60


# --- Ctrl-C at a terminal, and a batch no worker survives ---------------------------------------------

# Two convolutions over 3x32x32 samples: a few hundred samples a second a worker, so that a run of 100,000 in
# batches of 50 is still going when the test interrupts it, seconds in.
SLOW = """
nnspec: 2
seed: 1
layers:
  - {name: x, type: Input, size: [3, 32, 32], generator: Normal}
  - {name: c1, type: Convolution, out_maps: 16, kernel_shape: [3, 3], padding: [1, 1]}
  - {name: r, type: ReLU}
  - {name: c2, type: Convolution, out_maps: 16, kernel_shape: [3, 3], padding: [1, 1]}
  - {name: t, type: Tanh}
  - {name: fc, type: Affine, out_shape: 10}
outputs: [fc]
"""

# "1,250/100,000 samples" (nnspec's own bar) or "1.25k/100k [" (tqdm's): the samples done, before the slash
PROGRESS = re.compile(rb"(\d[\d,.]*)(k?)/\d[\d,.]*[kM]? (?:samples|\[)")


def samples_shown(terminal: bytes) -> float:
    """The most samples done a progress bar drew on ``terminal``."""
    return max((float(n.replace(b",", b"")) * (1000 if k else 1) for n, k in PROGRESS.findall(terminal)), default=0)


def interrupted_at_a_terminal(argv: list[str], samples: int) -> tuple[int, str, str, dict[int, str]]:
    """``python -m nnspec ARGV`` in a process group of its own, its stderr a terminal (a pseudo-terminal: the
    progress bar draws only on one), sent SIGINT as a terminal's Ctrl-C sends it, to the whole group, once the
    bar shows ``samples`` done (it counts the batches back in any order; the report, those before the first not
    back). Its exit code, stdout and stderr, and every process it started (pid: command)."""
    psutil = pytest.importorskip("psutil")  # distributed's own dependency
    terminal, stderr = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "nnspec", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        start_new_session=True,  # its own process group, as a shell's job
    )
    os.close(stderr)
    shown, started = b"", {}
    try:
        deadline = time.monotonic() + 90
        while samples_shown(shown) < samples:
            assert time.monotonic() < deadline and process.poll() is None, shown.decode(errors="replace")
            if select.select([terminal], [], [], 0.2)[0]:
                shown += os.read(terminal, 65536)
            with suppress(psutil.Error):
                started.update((c.pid, " ".join(c.cmdline())) for c in psutil.Process(process.pid).children(True))
        os.killpg(process.pid, signal.SIGINT)
        out, _ = process.communicate(timeout=60)
        with suppress(OSError):  # the terminal's other end closed: everything was read
            while select.select([terminal], [], [], 0.5)[0]:
                shown += os.read(terminal, 65536)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(terminal)
    return process.returncode, out.decode(), shown.decode(errors="replace"), started


def left_running(pids: dict[int, str], seconds: float = 15.0) -> dict[int, str]:
    """Those of ``pids`` still running after up to ``seconds`` (a zombie, ended and waiting to be reaped, is not)."""
    import psutil

    deadline = time.monotonic() + seconds
    while True:
        alive = {}
        for pid, command in pids.items():
            with suppress(psutil.NoSuchProcess):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive[pid] = command
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.mark.parametrize("where", ["--workers", "--scheduler"])
def test_ctrl_c_at_a_terminal_stops_the_run_and_reports_the_samples_done(cluster, write_spec, tmp_path, where):
    spec = write_spec(SLOW)
    output = tmp_path / "out.npz"
    run = ["run", str(spec), "--samples", "100000", "--batch-size", "50", "--output", str(output)]
    code, out, err, started = interrupted_at_a_terminal([*run, where, "2" if where == "--workers" else cluster], 300)
    assert code == 130, err
    assert "Traceback" not in out + err
    done = re.search(r"nnspec: interrupted after ([\d,]+) of 100,000 samples: the statistics and findings cover", err)
    assert done is not None, err
    samples = int(done[1].replace(",", ""))
    assert 0 < samples < 100_000 and samples % 50 == 0
    assert f"the cluster's tasks cancelled after {done[1]} samples" in err
    assert f"{output} not written" in err
    assert re.search(r"samples/s  \d+ s left  [012] of 2 workers busy", err)  # the bar said how many were busy
    assert "0 errors, 0 warnings" in out  # the report of the samples done, on stdout
    assert os.listdir(tmp_path) == [spec.name]  # no output, no temporary file
    if where == "--workers":  # the local cluster's worker processes: stopped with the run
        assert sum("multiprocessing" in command for command in started.values()) >= 2, started
    assert left_running(started) == {}
    if where == "--scheduler":  # the shared cluster holds none of the run's tasks any more
        from distributed import Client

        with Client(cluster) as client:
            deadline = time.monotonic() + 15
            while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
                assert time.monotonic() < deadline
                time.sleep(0.2)


class KillingBatches(RemoteBatches):
    """A distributed run's job whose every batch kills the worker process running it, as a batch too large for
    its memory does (unpickled by reference: the workers import this module)."""

    def __call__(self, start: int, stop: int):
        os._exit(1)


class BatchesKillingTheFirstWorker(RemoteBatches):
    """A job whose first batch ever kills the worker process running it, as a node lost does; its other batches are
    computed (a marker file, NNSPEC_TEST_MARKER in the workers' environment, says the first has come)."""

    def __call__(self, start: int, stop: int):
        marker = Path(os.environ["NNSPEC_TEST_MARKER"])
        if not marker.exists():
            marker.touch()
            os._exit(1)
        return super().__call__(start, stop)


def test_the_only_worker_dying_and_restarted_finishes_the_run(monkeypatch, write_spec, tmp_path):
    # Its nanny restarts it, without the job it held: the cluster computes the job again (a task, not data
    # scattered from the client, which would be lost with every batch: "lost the Dask scheduler")
    from distributed import LocalCluster

    from nnspec.runtime import runner

    monkeypatch.setenv("NNSPEC_TEST_MARKER", str(tmp_path / "killed"))
    monkeypatch.setattr(runner, "RemoteBatches", BatchesKillingTheFirstWorker)
    spec = nnspec.load(write_spec(GENERATED))
    arguments = {"samples": 100, "batch_size": 10}
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0", host="127.0.0.1") as local:
        spread = nnspec.run(spec, executor=Dask(scheduler=local.scheduler_address), **arguments)
    assert (tmp_path / "killed").exists()
    same_run(nnspec.run(spec, **arguments), spread)


def test_a_batch_that_kills_every_worker_is_a_clear_error(monkeypatch, write_spec, tmp_path, capsys):
    import dask
    from distributed import LocalCluster

    from nnspec.runtime import runner

    monkeypatch.setattr(runner, "RemoteBatches", KillingBatches)
    output = tmp_path / "out.npz"
    # one worker death is enough for Dask to give up on the batch (allowed-failures: 3 by default)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0", host="127.0.0.1") as local,
    ):
        argv = ["run", write_spec(SLOW), "--samples", "40", "--batch-size", "20", "--output", output]
        code, out, err = cli(capsys, *argv, "--scheduler", local.scheduler_address)
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    # the worker died running both batches: either may be the one said
    said = re.search(
        r"nnspec: error: the batch of samples (0 to 20|20 to 40) killed every worker that ran it, on (.*)", err
    )
    assert said is not None, err
    assert said[2] == (
        f"the Dask scheduler at {local.scheduler_address} (Dask's distributed.scheduler.allowed-failures); too little "
        "memory for a batch? a smaller --batch-size needs less"
    )
    assert not output.exists()
