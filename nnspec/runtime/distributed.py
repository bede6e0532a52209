"""A run spread over a Dask cluster: ``nnspec run --scheduler tcp://HOST:8786`` or ``--workers N``.

The client (this process) plans the run as a local one: the same batches, of ``--batch-size`` samples
(of :func:`default_batch_size` without it). It sends the cluster, once, the job that computes a batch
(nnspec.runtime.runner.RemoteBatches: the spec, the parameters, and the paths of the data, never the data),
which every worker gets a copy of, then one small task a batch: its bounds. A worker opens the data itself
from those paths, computes the batch, and sends back its kept outputs and its statistics; the client merges
the statistics in the order of the batches, whatever order they finished in, as a run in one process merges
them, so that the statistics, the findings and the outputs are that run's exactly.

A worker that dies has its batches run again elsewhere (Dask reschedules them); a scheduler that goes
away ends the run with a :class:`ClusterError` (exit 2) and nothing written; Ctrl-C cancels the tasks
and the run reports the samples of the batches done before the first one not done, as a local run does.

dask and distributed (the ``dask`` extra) are imported only here, and only when a run asks for them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..checks.table import LayerStats
from ..core.diagnostics import UsageError
from ..core.extras import install_hint
from .executor import BatchResult, Executed, ShowsWorkers, WorkerRun, merged

INSTALL_HINT = install_hint("dask")
# A run given no batch size goes in batches of ceil(samples / BATCHES), at most MAX_BATCH samples: enough
# batches to share among workers, each large enough that the cost of a task (a few milliseconds) stays
# small beside its computation. The rule does not look at the number of workers: a run's batches, and so
# its results to the last bit, are the same on one worker or a hundred.
BATCHES = 64
MAX_BATCH = 1024
CONNECT_SECONDS = 10.0  # how long a scheduler may take to answer
# Batches submitted past the first one not yet back: enough to keep every worker thread busy (a few each,
# so none waits for its next task), few enough that the batches back early, held until it is, stay few.
AHEAD_PER_THREAD = 4
MIN_AHEAD = 16
WORKERS_EVERY = 1.0  # seconds between two questions to the scheduler of how many workers are busy (a progress bar's)


# What a client raises when the scheduler goes away: its connection closed (CommClosedError is an OSError), a
# reconnection that timed out, the run's futures cancelled (distributed's FutureCancelledError derives from
# asyncio's or concurrent.futures' CancelledError, depending on its version).
_LOST = (OSError, TimeoutError, asyncio.CancelledError, concurrent.futures.CancelledError)


class ClusterError(UsageError):
    """The Dask cluster could not be used: unreachable, gone during the run, or a batch that kept killing
    its workers (exit code 2, as for any request that cannot be carried out)."""


def dask_modules() -> ModuleType:
    """``distributed``, imported when a run first needs it; a UsageError saying how to install it when absent."""
    try:
        import distributed
    except ImportError:
        raise UsageError(
            f"a run on a Dask cluster (--scheduler, --workers) needs dask and distributed: {INSTALL_HINT}"
        ) from None
    return distributed


def default_batch_size(samples: int) -> int:
    """The batch size of a distributed run given none (see BATCHES)."""
    return max(1, min(MAX_BATCH, math.ceil(samples / BATCHES)))


@dataclass
class Dask:
    """The executor of a run on a Dask cluster: the one whose scheduler is at ``scheduler``
    (``tcp://HOST:8786``), else a local cluster of ``workers`` processes started for the run and stopped
    after it (one thread each: a batch's numpy work is what each process does).

        nnspec.run(spec, dataset="index.csv", batch_size=256, executor=Dask("tcp://head:8786"))
    """

    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if (self.scheduler is None) == (self.workers is None):
            raise UsageError("a Dask run needs a scheduler's address or a number of local workers, one of the two")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"a local cluster needs at least 1 worker; got {self.workers}")
        dask_modules()  # a missing extra is said before any work

    @property
    def where(self) -> str:
        """The cluster, as messages name it."""
        if self.scheduler is not None:
            return f"the Dask scheduler at {self.scheduler}"
        return f"a local Dask cluster of {self.workers} worker{'s' * (self.workers != 1)}"

    def batch_size(self, samples: int) -> int:
        return default_batch_size(samples)

    def execute_remote(
        self,
        batches: Sequence[tuple[int, int]],
        job: Callable[[int, int], BatchResult],
        take: Callable[[BatchResult], None],
        progress: Callable[[int, int], None] | None,
    ) -> Executed:
        distributed = dask_modules()
        with self._client(distributed) as client:
            return _Collected(batches, take, progress).run(client, job, self.where, distributed)

    @contextmanager
    def _client(self, distributed: ModuleType) -> Iterator[Any]:
        """A client of the cluster, closed (and a local cluster stopped) at the end."""
        with ExitStack() as stack:
            try:
                if self.workers is None:
                    client = stack.enter_context(distributed.Client(self.scheduler, timeout=CONNECT_SECONDS))
                else:
                    cluster = stack.enter_context(local_cluster(self.workers))
                    client = stack.enter_context(distributed.Client(cluster))
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"cannot reach {self.where}: {exc}") from None
            try:  # a scheduler without workers would hold the run's tasks for ever
                client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except (OSError, TimeoutError):
                hint = f": start some with `dask worker {self.scheduler} --nthreads 1`" if self.scheduler else ""
                raise ClusterError(
                    f"{self.where} has no workers (none joined within {CONNECT_SECONDS:g} s){hint}"
                ) from None
            yield client


def local_cluster(workers: int) -> Any:
    """A Dask LocalCluster of ``workers`` processes of one thread on this machine, as ``--workers`` starts it.

    Its worker processes are started without the MALLOC_TRIM_THRESHOLD_ Dask's nanny sets by default
    (``distributed.nanny.pre-spawn-environ``): setting it turns off glibc's adjustment of the size from
    which it maps memory afresh, so that every large temporary array of a batch is mapped and its pages
    faulted in again; nnspec's batches ran 1.5 to 3 times slower so (benchmarks/scale.py). The one BLAS
    thread the nanny sets is kept.
    """
    import dask
    from distributed import LocalCluster

    unset = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}  # None: not set at all
    with dask.config.set(unset), _workers_ignore_ctrl_c():
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",  # this machine's own: no port open to the network
            dashboard_address=":0",  # any free port: never "8787 already in use"
            silence_logs=50,  # logging.CRITICAL: a worker's restart is said by the run
        )


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """While a local cluster's worker processes start, SIGINT ignored, which they inherit: Ctrl-C at a
    terminal reaches every process of its group, and the workers are to be stopped by this process, which
    reports the samples done, not each to die printing its traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _Collected:
    """The batches' results as they come back, taken and merged in the order of the batches."""

    batches: Sequence[tuple[int, int]]
    take: Callable[[BatchResult], None]
    progress: Callable[[int, int], None] | None
    stats: dict[str, LayerStats] = field(default_factory=dict)
    done: int = 0  # samples of the batches taken: those before the first batch not yet back
    finished: int = 0  # samples of the batches back, in any order (the progress bar's count)
    waiting: dict[int, BatchResult] = field(default_factory=dict)  # batches back before an earlier one
    next: int = 0  # the index of the next batch to take
    workers: dict[str, list[float]] = field(default_factory=dict)  # worker: [batches, samples, seconds]
    asked: float = -math.inf  # when the scheduler was last asked which workers are busy

    def run(self, client: Any, job: Callable[[int, int], BatchResult], where: str, distributed: ModuleType) -> Executed:
        total = self.batches[-1][1] if self.batches else 0
        futures: list[Any] = []
        try:
            try:
                shared = _shared_job(client, job)
                ahead = max(MIN_AHEAD, AHEAD_PER_THREAD * sum(client.nthreads().values()))

                def submit(index: int) -> Any:
                    start, stop = self.batches[index]
                    futures.append(client.submit(_compute, shared, index, start, stop, pure=False))
                    return futures[-1]

                arriving = distributed.as_completed([submit(index) for index in range(min(ahead, len(self.batches)))])
                for future in arriving:
                    index, batch, worker, seconds = future.result()
                    future.release()  # its outputs are ours now: the worker may forget them
                    self._back(index, batch, worker, seconds, total)
                    self._show_workers(client, futures)
                    # at most `ahead` batches past the first not yet taken: a slow batch does not leave every
                    # later one waiting here, statistics and outputs, in memory
                    while len(futures) < min(self.next + ahead, len(self.batches)):
                        arriving.add(submit(len(futures)))
            except distributed.KilledWorker:
                start, stop = self.batches[futures.index(future)]
                raise ClusterError(
                    f"the batch of samples {start:,} to {stop:,} killed every worker that ran it, on {where} "
                    "(Dask's distributed.scheduler.allowed-failures); too little memory for a batch? "
                    "a smaller --batch-size needs less"
                ) from None
            except _LOST as exc:
                raise ClusterError(
                    f"lost {where} after {self.done:,} of {total:,} samples ({type(exc).__name__}: {exc}); "
                    "nothing was written"
                ) from None
        except KeyboardInterrupt:
            with suppress(Exception):  # the cluster may be going down too (Ctrl-C reached its processes)
                client.cancel(futures, force=True)
            if self.done == 0:
                raise  # no batch taken: nothing to report, as in a local run
            print(f"\nnnspec: the cluster's tasks cancelled after {self.done:,} samples", file=sys.stderr, flush=True)
            return self._executed(interrupted=True)
        return self._executed(interrupted=False)

    def _back(self, index: int, batch: BatchResult, worker: str, seconds: float, total: int) -> None:
        """A batch is back: counted, and taken with every batch after it that waited for it."""
        batches, samples, busy = self.workers.get(worker, [0, 0, 0.0])
        self.workers[worker] = [batches + 1, samples + batch.stop - batch.start, busy + seconds]
        self.waiting[index] = batch
        self.finished += batch.stop - batch.start
        while self.next in self.waiting:
            ready = self.waiting.pop(self.next)
            self.take(ready)
            self.stats, self.done = merged(self.stats, ready), ready.stop
            self.next += 1
        if self.progress is not None:
            self.progress(self.finished, total)

    def _show_workers(self, client: Any, futures: list[Any]) -> None:
        """How many workers hold a batch of the run, and of how many, to a progress bar that shows it (once a
        second at most: it asks the scheduler)."""
        bar = self.progress
        if not isinstance(bar, ShowsWorkers) or not bar.enabled or time.monotonic() - self.asked < WORKERS_EVERY:
            return
        self.asked = time.monotonic()
        pending = {future.key for future in futures if not future.done()}
        processing = client.processing()  # worker: the keys of the tasks it holds, every client's
        busy = sum(1 for keys in processing.values() if pending.intersection(keys))
        bar.workers(busy, len(processing))

    def _executed(self, interrupted: bool) -> Executed:
        workers = tuple(
            WorkerRun(name, int(batches), int(samples), seconds)
            for name, (batches, samples, seconds) in sorted(self.workers.items())
        )
        return Executed(self.stats, self.done, interrupted, workers)


def _shared_job(client: Any, job: Callable[[int, int], BatchResult]) -> Any:
    """The job (spec, parameters, paths) held by every worker, as a task's result that the batches' tasks depend
    on: the client sends it once, one worker computes it, the others copy it from one another (Dask's replicate,
    in a tree), and each batch's task carries its bounds only. Copied to every worker before the batches, or the
    scheduler would keep the batches where the job is, one worker busy. A task, not data scattered from here: a
    cluster whose every worker holding it died (one worker, restarted by its nanny) computes it again from the
    task, where scattered data would be lost, and every batch with it."""
    with warnings.catch_warnings():  # "large graph": the parameters, sent once, on purpose
        warnings.simplefilter("ignore", UserWarning)
        shared = client.submit(_itself, job, pure=False)
    client.replicate([shared])
    return shared


def _itself(job: Callable[[int, int], BatchResult]) -> Callable[[int, int], BatchResult]:
    return job


def _compute(
    job: Callable[[int, int], BatchResult], index: int, start: int, stop: int
) -> tuple[int, BatchResult, str, float]:
    """On a worker: the batch ``start``..``stop``, with the worker's address and the seconds it took."""
    from distributed import get_worker

    began = time.perf_counter()
    batch = job(start, stop)
    return index, batch, get_worker().address, time.perf_counter() - began
