"""Executors: what drives a run's batches and merges their statistics. In-process (below) runs them one
after another here; nnspec.runtime.distributed's on the workers of a Dask cluster (a :class:`Remote`
executor: handed a job each worker computes batches with, reading the data itself).

The runner hands an executor the batches' bounds, a function computing one batch (its data read,
its engine run, its statistics taken: a :class:`BatchResult`) and one taking a computed batch's
outputs into the run's. The executor merges the batches' statistics (LayerStats.merge, exact in
any grouping; merged in the order of the batches, as the statistics of a single batch would be)
and says how far the run got. It knows neither the engine nor the checks.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..checks.table import LayerStats


@dataclass(slots=True)
class BatchResult:
    """One computed batch: samples ``start`` to ``stop``, the output layers' values (``outputs``), the
    batch's data arrays by variable (``data``: an output that is one of them is not the run's to
    keep as it is) and the statistics of its measured layers (empty without statistics)."""

    start: int
    stop: int
    outputs: dict[str, np.ndarray]
    data: dict[str, np.ndarray]
    stats: dict[str, LayerStats]


@dataclass(frozen=True, slots=True)
class WorkerRun:
    """What one worker of a distributed run computed: its batches, their samples, and the seconds it spent
    computing them (its tasks' own time: no waiting, no transfer)."""

    worker: str
    batches: int
    samples: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"worker": self.worker, "batches": self.batches, "samples": self.samples, "seconds": self.seconds}


@dataclass(slots=True)
class Executed:
    """How far a run got: the statistics merged over its first ``done`` samples, and whether Ctrl-C
    stopped it (then ``done`` counts the batches finished before); ``workers``, for a run spread over
    other processes, what each computed (empty in process)."""

    stats: dict[str, LayerStats]
    done: int
    interrupted: bool
    workers: tuple[WorkerRun, ...] = ()


class Executor(Protocol):
    """Runs a run's batches (``nnspec.prepare(..., executor=...)``)."""

    def execute(
        self,
        batches: Sequence[tuple[int, int]],
        compute: Callable[[int, int], BatchResult],
        take: Callable[[BatchResult], None],
        progress: Callable[[int, int], None] | None,
    ) -> Executed:
        """Every ``(start, stop)`` of ``batches`` (in order, covering the samples from 0) computed by
        ``compute`` and handed to ``take`` once, in order; ``progress(done, total)`` after each.
        A KeyboardInterrupt before any batch is done propagates; after, the run stops and says so."""
        ...


@runtime_checkable
class Remote(Protocol):
    """An executor that computes the batches in other processes (``nnspec.runtime.distributed.Dask``).

    It is handed ``job``, picklable, which computes one batch, ``job(start, stop)`` returning its
    BatchResult, wherever it is unpickled: it carries the spec, the parameters and where the data is, never
    the data, and opens the data itself on its first call in a process. The executor hands ``take`` the
    batches and merges their statistics in the order of the batches, whatever order they were computed in,
    so that the result is the one InProcess gives.
    """

    def execute_remote(
        self,
        batches: Sequence[tuple[int, int]],
        job: Callable[[int, int], BatchResult],
        take: Callable[[BatchResult], None],
        progress: Callable[[int, int], None] | None,
    ) -> Executed: ...

    def batch_size(self, samples: int) -> int:
        """The batch size of a run of ``samples`` given none: enough batches to keep every worker busy."""
        ...


@runtime_checkable
class ShowsWorkers(Protocol):
    """A progress callback that also shows how many of a cluster's workers are busy with the run (the command
    line's bar, nnspec.runtime.progress.Progress): a Remote executor tells it, at most once a second, while it
    is ``enabled`` (a bar drawn on a terminal: the scheduler is asked only then)."""

    enabled: bool

    def __call__(self, done: int, total: int) -> None: ...

    def workers(self, busy: int, total: int) -> None: ...


def merged(stats: dict[str, LayerStats], batch: BatchResult) -> dict[str, LayerStats]:
    """The run's statistics so far, ``stats``, with those of its next batch merged in (LayerStats.merge)."""
    return {name: stats[name].merge(s) if name in stats else s for name, s in batch.stats.items()}


class InProcess:
    """The batches one after another in this process: memory is one batch's. Ctrl-C during a run
    of several batches finishes the current batch (a second one abandons it)."""

    def execute(
        self,
        batches: Sequence[tuple[int, int]],
        compute: Callable[[int, int], BatchResult],
        take: Callable[[BatchResult], None],
        progress: Callable[[int, int], None] | None,
    ) -> Executed:
        total = batches[-1][1] if batches else 0
        stats: dict[str, LayerStats] = {}
        done, interrupted = 0, False
        try:
            with _stop_after_batch() if len(batches) > 1 else nullcontext(_never) as stop_requested:
                for start, stop in batches:
                    batch = compute(start, stop)
                    take(batch)
                    stats, done = merged(stats, batch), stop  # a batch counts once its statistics are all in
                    del batch  # its tensors: before the next batch's are made
                    if progress is not None:
                        progress(done, total)
                    if stop_requested():  # in the last batch too: Ctrl-C means no run to its end, no output
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            if done == 0:
                raise  # nothing ran to the end: nothing to report
            interrupted = True
        return Executed(stats, done, interrupted)


def _never() -> bool:
    return False


@contextmanager
def _stop_after_batch() -> Iterator[Callable[[], bool]]:
    """While a run of several batches goes on, a first Ctrl-C asks it to stop after the current
    batch (the returned function then says True) and a second stops it at once. Only in the main
    thread, and only where Ctrl-C has Python's own handler (one the caller set is left alone)."""
    requested: list[bool] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield _never
        return

    def handler(signum: int, frame: Any) -> None:
        if requested:
            raise KeyboardInterrupt
        requested.append(True)
        print("\nnnspec: stopping after this batch (Ctrl-C again stops at once)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(requested)
    finally:
        signal.signal(signal.SIGINT, previous)
