"""The runner: a validated spec's graph executed in numpy, batch by batch.

The loop knows no layer by name: it asks the catalog entry for the forward
function, feeds source layers from the data, and frees each tensor after its
last consumer has run. Statistics are gathered per batch (on a second thread, beside the
next layers, when a core would otherwise stay idle) and merged; the checks
judge them at the end. Findings are returned as data, and also issued as Python
warnings of category ``RangeWarning`` for library users who never read a report.

Memory is bounded by the batch: every data source is sliced a batch at a time (a memory-mapped
.npy or uncompressed .npz member, a CSV's rows, a dataset's samples: see nnspec.sources),
generated data is made a batch at a time, and only the outputs asked for are kept.
Ctrl-C stops after the current batch; the statistics and findings of the samples run so far
come back in ``RunInterrupted.result``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from . import memory, settings
from .checks import Check, Finding, LayerStats, checks_for, observe, run_checks
from .data import gather_inputs, generate, release
from .diagnostics import ERROR, INFO, WARNING, Diagnostic, NnspecError
from .params import load_parameter_file, resolve_parameters
from .spec import Layer, Spec


class RangeWarning(UserWarning):
    """A range check fired: values reach a layer in a range where it destroys information."""


@dataclass
class RunResult:
    """What a run gives back: output arrays, per-layer statistics, findings.

    ``samples`` is the number of samples run (fewer than the data holds when ``interrupted``);
    ``omitted`` gives the shape of each output layer whose values were not kept (see
    ``keep_outputs`` of :func:`run`).
    """

    spec: Spec
    samples: int
    outputs: dict[str, np.ndarray]
    stats: dict[str, LayerStats]
    findings: list[Finding]
    parameters: dict[str, dict[str, np.ndarray]]
    notes: list[Diagnostic] = field(default_factory=list)
    omitted: dict[str, tuple[int, ...]] = field(default_factory=dict)
    interrupted: bool = False
    total: int | None = None  # the samples the data holds (samples, unless interrupted)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (KeyboardInterrupt) stopped a run after at least one batch: ``result`` holds the
    outputs, statistics and findings of the samples run until then (``result.interrupted`` is
    True, ``result.samples`` says how many). Being a KeyboardInterrupt, it stops a script as
    Ctrl-C does anywhere else, unless caught."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"interrupted after {result.samples} of {result.total} samples")
        self.result = result


def execution_order(spec: Spec) -> list[str]:
    """Topological order, ties broken by the order layers are written in."""
    return list(nx.lexicographical_topological_sort(spec.graph, key=lambda n: spec.layers[n].index))


def run(
    spec: Spec,
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    input_files: Mapping[str, str | Path] | None = None,
    dataset: str | Path | None = None,
    params: Mapping[str, np.ndarray] | str | Path | None = None,
    batch_size: int | None = None,
    samples: int | None = None,
    max_memory: int | None = None,
    checks: Mapping[str, Any] | None = None,
    statistics: bool = True,
    keep_outputs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run ``spec`` on data and return its outputs, statistics and findings.

    ``inputs`` maps data variables to arrays of shape (N, *size); ``input_files`` maps
    them to .npy, .npz or .csv files; ``dataset`` is an NNC dataset CSV whose columns
    bind to data variables by name (default: the spec's ``dataset:``; arrays, then files,
    then the dataset, then the spec's data:, then generators: see nnspec.data.gather_inputs); ``params`` is a
    mapping of nnabla parameter names to arrays, or a path to a .npz file of them.
    A run whose estimated memory exceeds ``max_memory`` bytes (default: half the
    machine's memory) stops before allocating anything. ``checks`` overrides check
    settings for the whole run (``{"tanh-saturation": "off"}``, see nnspec.settings);
    ``statistics=False`` runs without statistics or checks (outputs only).

    ``keep_outputs``: None (default) keeps every output layer's values for every sample;
    a number n keeps only the output layers of at most n values over the whole run (0:
    none), so that a run that only reports needs no memory for the others; their shapes
    are in ``result.omitted``. ``progress(done, total)`` is called after each batch.

    Ctrl-C during a run of several batches finishes the current batch (a second Ctrl-C
    abandons it) and raises :class:`RunInterrupted`, a KeyboardInterrupt whose ``result``
    holds the outputs, statistics and findings of the samples run; an interrupt before
    the first batch ends is a plain KeyboardInterrupt.
    """
    enabled = settings.resolve(spec, checks) if statistics else {}
    if batch_size is not None and batch_size < 1:
        raise NnspecError(f"batch size must be at least 1; got {batch_size}")
    if dataset is None:
        dataset = spec.dataset  # the spec's dataset: unless the caller gives one
    data, to_generate, count = gather_inputs(spec, inputs, input_files, samples, dataset)
    step = min(batch_size or count, count)
    kept = [name for name in spec.outputs if keep_outputs is None or count * _size(spec, name) <= keep_outputs]
    memory.check(memory.estimate(spec, count, step, to_generate, kept), max_memory or memory.default_limit())
    if isinstance(params, (str, Path)):
        loaded, source = load_parameter_file(params), f"parameter file {params}"
    else:
        loaded, source = params, "the parameters given"
    parameters, notes = resolve_parameters(spec, loaded, source)
    order = execution_order(spec)
    last_use = {source: step for step, name in enumerate(order) for source in spec.layers[name].inputs}
    measured = {name: [c for c in checks_for(spec.layers[name].type) if c.id in enabled[name]] for name in enabled}
    dtype = np.dtype(spec.dtype)
    statistician = _statistician() if statistics and spare_core() else None
    stats: dict[str, LayerStats] = {}
    outputs: dict[str, np.ndarray] = {}  # filled batch by batch: no list of parts to join at the end
    done = 0
    try:
        with _stop_after_batch(count > step) as stop_requested:
            for start in range(0, count, step):
                stop = min(start + step, count)
                with np.errstate(over="ignore"):  # data beyond the dtype's range becomes inf: nan-inf says so
                    feeds = {variable: np.asarray(values[start:stop], dtype) for variable, values in data.items()}
                    for reader in to_generate:
                        feeds[reader.variable] = generate(reader, start, stop, spec.seed).astype(dtype)
                values, batch_stats = _forward(spec, order, last_use, feeds, parameters, measured, statistician)
                for name in kept:
                    if name not in outputs:
                        outputs[name] = np.empty((count, *values[name].shape[1:]), values[name].dtype)
                    outputs[name][start:stop] = values[name]
                merged = {name: stats[name].merge(s) if name in stats else s for name, s in batch_stats.items()}
                stats, done = merged, stop  # a batch counts once its statistics are all in
                del feeds, values, batch_stats
                for source in data.values():
                    release(source)  # a memory-mapped file's pages read for this batch
                if progress is not None:
                    progress(done, count)
                if stop_requested() and done < count:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        if done == 0:
            raise  # nothing ran to the end: nothing to report
    if done < count:
        outputs = {name: value[:done] for name, value in outputs.items()}
    findings = run_checks(spec, stats, enabled) if statistics else []
    for finding in (f for f in findings if f.severity != INFO):
        line, _ = spec.locate(finding.layer)
        warnings.warn_explicit(f"{finding.message} [{finding.check}]", RangeWarning, spec.file, line or 0)
    omitted = {name: (done, *spec.layers[name].shape) for name in spec.outputs if name not in kept}
    result = RunResult(spec, done, outputs, stats, findings, parameters, notes, omitted, done < count, count)
    if result.interrupted:
        raise RunInterrupted(result)
    return result


def _size(spec: Spec, name: str) -> int:
    """Values in one sample of a layer's output."""
    return int(np.prod(spec.layers[name].shape, dtype=np.int64))


@contextmanager
def _stop_after_batch(several_batches: bool) -> Iterator[Callable[[], bool]]:
    """While a run of several batches goes on, a first Ctrl-C asks it to stop after the current
    batch (the returned function then says True) and a second stops it at once. Only in the main
    thread, and only where Ctrl-C has Python's own handler (one the caller set is left alone)."""
    requested: list[bool] = []
    if (
        not several_batches
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield lambda: False
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


def _forward(
    spec: Spec,
    order: list[str],
    last_use: dict[str, int],
    feeds: dict[str, np.ndarray],
    parameters: dict[str, dict[str, np.ndarray]],
    measured: dict[str, list[Check]],
    statistician: ThreadPoolExecutor | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, LayerStats]]:
    """One batch through every layer in ``order``; returns the output layers' values and the
    statistics of the layers in ``measured`` (with the checks each measures). A tensor is
    freed once the last layer reading it (``last_use``) has run."""
    keep = set(spec.outputs)
    values: dict[str, np.ndarray] = {}
    stats: dict[str, LayerStats] = {}
    pending: list[Future] = []
    for i, name in enumerate(order):
        layer = spec.layers[name]
        args = [feeds[layer.dataset]] if layer.type.is_source else [values[s] for s in layer.inputs]
        args += [feeds[target.dataset] for target in layer.targets.values()]
        # Overflow and invalid operations are not errors here: the nan-inf check reports
        # them afterwards with the layer that produced them and its inputs' statistics.
        with np.errstate(all="ignore"):
            values[name] = layer.type.forward(args, layer.props, parameters[name])
        if name in measured:
            task = partial(_observe_into, stats, layer, measured[name], args, values[name])
            pending.append(statistician.submit(task) if statistician else _done(task()))
        for source in set(layer.inputs):
            if last_use[source] == i and source not in keep:
                del values[source]  # a statistics task still to run holds its own reference
    for task in pending:
        task.result()  # waits for the statistics, and passes on an exception from them
    return values, stats


def _observe_into(
    stats: dict[str, LayerStats], layer: Layer, checks: list[Check], inputs: list[np.ndarray], output: np.ndarray
) -> None:
    """One layer's statistics, from its inputs' (already there: the tasks run in layer order)."""
    with np.errstate(all="ignore"):  # numpy's error state is per thread
        received = [stats[source].output for source in layer.inputs if source in stats]
        stats[layer.name] = observe(layer, checks, inputs, output, received)


def _done(result: None) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def spare_core() -> bool:
    """Whether a core stays idle while numpy computes: BLAS limited (by the usual variables) to
    fewer threads than there are cores. Statistics then run on it, beside the next layers."""
    cores = os.cpu_count() or 1
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(variable, "").isdigit():
            return int(os.environ[variable]) < cores
    return False  # BLAS takes every core by default


@cache
def _statistician() -> ThreadPoolExecutor:
    """One worker, so that statistics are taken in layer order."""
    return ThreadPoolExecutor(1, "nnspec-statistics")
