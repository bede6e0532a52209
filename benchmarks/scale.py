"""A run spread over a Dask cluster (nnspec.runtime.distributed) against the same run in one process.

1. CPU-bound: peers.py's CNN (two 3x3 convolutions, 8 and 16 maps, ReLU, 2x2 max pooling, Affine 10;
   its seeded float32 weights) over --samples (20,000) 1x28x28 samples read from a .npy file, in batches of
   --batch (500), with statistics and every check: in process, then on a local cluster of 1 worker process,
   then of 2. The cluster is started before the clock starts (its start is timed apart), so each figure is
   the run's: the job sent once to each worker, the worker's first batch opening the data and building the
   engine, then the batches. Speed-up = in-process time / cluster time; the 1-worker ratio is the cluster
   path's overhead.
2. Per-batch overhead: a spec of next to no work (Input 4 -> Affine 2) over --tiny-batches (2,000)
   batches of one sample, in process and on 1 worker: (cluster - in process) / batches is what a batch
   costs on the cluster path beside its computation (a task's scheduling, its bounds and its result sent),
   beside a bare Dask task (a function returning its argument) submitted and collected the same way.

3. The client's preparation: nnspec.prepare of the CNN with each engine, in process (its engine built) and for a
   cluster (none built on the client: the workers build theirs), the best of 5.

Every run's statistics are checked equal to the in-process run's (field by field) before a figure is
printed. One BLAS thread everywhere (OPENBLAS_NUM_THREADS=1 and the like, set before numpy is imported and
inherited by the workers): a worker is a core. Each figure is the best of --repeat runs (default 2).

    python benchmarks/scale.py                   # ~2 min on 2 cores
    python benchmarks/scale.py --samples 4000 --tiny-batches 500 --repeat 1     # ~30 s
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy is imported, here and in every worker (they inherit it)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # this checkout's nnspec, not an installed one

import peers  # noqa: E402

import nnspec  # noqa: E402
from nnspec.runtime.distributed import Dask, local_cluster  # noqa: E402

TINY = """nnspec: 2
name: tiny
dtype: float32
seed: 0
layers:
  - {name: x, type: Input, size: [4], generator: Normal}
  - {name: fc, type: Affine, out_shape: 2}
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--tiny-batches", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=2)
    return parser.parse_args()


def best_of(repeat: int, run: Callable[[], nnspec.RunResult]) -> tuple[float, nnspec.RunResult]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    assert result is not None
    return min(times), result


def check_same(reference: nnspec.RunResult, other: nnspec.RunResult, what: str) -> None:
    for name, stats in reference.stats.items():
        if other.stats[name].output.to_dict() != stats.output.to_dict():
            sys.exit(f"{what}: the statistics of {name} differ from the in-process run's")


def _nothing(index: int) -> int:
    return index


def bare_tasks(client, count: int) -> float:
    """Seconds a task of next to no work costs, submitted and collected as nnspec's batches are."""
    from distributed import as_completed

    began = time.perf_counter()
    for future in as_completed([client.submit(_nothing, i, pure=False) for i in range(count)]):
        future.result()
        future.release()
    return (time.perf_counter() - began) / count


def start_cluster(workers: int):
    """The cluster --workers starts (nnspec.runtime.distributed.local_cluster), started apart from the runs."""
    from distributed import Client

    began = time.perf_counter()
    cluster = local_cluster(workers)
    client = Client(cluster)
    client.wait_for_workers(workers)
    return cluster, client, time.perf_counter() - began


def preparation(spec: nnspec.Spec, params: Path, engine: str, executor: Dask | None) -> float:
    """The best of 5 seconds nnspec.prepare takes (parameters loaded, engine built unless the executor is remote)."""
    times = []
    for _ in range(5):
        began = time.perf_counter()
        nnspec.prepare(spec, params=params, engine=engine, executor=executor)
        times.append(time.perf_counter() - began)
    return min(times)


def print_preparation(spec: nnspec.Spec, params: Path) -> None:
    print("\nthe client's preparation (nnspec.prepare), in process and for a cluster (no engine built on the client)")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        engines = ["numpy"]
    else:
        engines = ["numpy", "onnxruntime"]
    for engine in engines:
        here = preparation(spec, params, engine, None)
        remote = preparation(spec, params, engine, Dask(workers=1))  # Dask(...) starts nothing until a run
        figures = f"in process {here * 1e3:6.1f} ms   for a cluster {remote * 1e3:6.1f} ms   ({here / remote:.1f}x)"
        print(f"  {engine:<12} {figures}")


def main() -> None:
    args = parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} cores, load average {load:.2f} (figures are noisy above the core count); one BLAS thread")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        net = peers.NETS["cnn"]()
        (root / "cnn.yaml").write_text(peers.spec_text(net))
        np.savez(root / "params.npz", **peers.make_params(net))
        data = np.random.default_rng(peers.DATA_SEED).standard_normal((args.samples, *net.input_shape), np.float32)
        np.save(root / "x.npy", data)
        (root / "tiny.yaml").write_text(TINY)
        cnn, tiny = nnspec.load(root / "cnn.yaml"), nnspec.load(root / "tiny.yaml")

        def cnn_run(executor=None) -> nnspec.RunResult:
            return nnspec.run(
                cnn,
                input_files={"x": root / "x.npy"},
                params=root / "params.npz",
                batch_size=args.batch,
                keep_outputs=0,
                executor=executor,
            )

        def tiny_run(executor=None) -> nnspec.RunResult:
            return nnspec.run(tiny, samples=args.tiny_batches, batch_size=1, keep_outputs=0, executor=executor)

        local, reference = best_of(args.repeat, cnn_run)
        tiny_local, tiny_reference = best_of(args.repeat, tiny_run)
        print(f"\nCNN over {args.samples:,} samples in batches of {args.batch} ({args.samples // args.batch} batches)")
        print(f"  {'in process':<12} {local:7.2f} s  {args.samples / local:8,.0f} samples/s")
        per_batch = bare = None
        for workers in (1, 2):
            cluster, client, started = start_cluster(workers)
            try:
                executor = Dask(scheduler=cluster.scheduler_address)
                spread, result = best_of(args.repeat, partial(cnn_run, executor))
                check_same(reference, result, f"{workers} workers")
                busy = sum(w.seconds for w in result.workers)
                label = f"{workers} worker{'s' if workers > 1 else ''}"
                print(
                    f"  {label:<12} {spread:7.2f} s  {args.samples / spread:8,.0f} samples/s  speed-up "
                    f"{local / spread:4.2f}x  (workers busy {busy:.2f} s in all; cluster started in {started:.1f} s, "
                    "not counted)"
                )
                if workers == 1:
                    tiny_spread, tiny_result = best_of(args.repeat, partial(tiny_run, executor))
                    check_same(tiny_reference, tiny_result, "the tiny run")
                    per_batch = (tiny_spread - tiny_local) / args.tiny_batches
                    bare = min(bare_tasks(client, args.tiny_batches) for _ in range(args.repeat))
            finally:
                client.close()
                cluster.close()
        assert per_batch is not None and bare is not None
        print(
            f"\nper-batch overhead of the cluster path: {per_batch * 1e3:.2f} ms a batch "
            f"({args.tiny_batches:,} batches of 1 sample: {tiny_local:.2f} s in process, "
            f"{tiny_local + per_batch * args.tiny_batches:.2f} s on 1 worker)"
        )
        print(f"a bare Dask task beside it, submitted and collected as nnspec's batches: {bare * 1e3:.2f} ms")
        print_preparation(cnn, root / "params.npz")


if __name__ == "__main__":
    main()
