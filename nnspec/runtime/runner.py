"""The runner: a validated spec's graph run on data, batch by batch.

An engine (nnspec.runtime.engine; numpy's by default, which follows the plan of
nnspec.runtime.plan) computes each batch and shows the runner each measured layer's inputs and
output as it is made, whose statistics the runner takes there; an executor
(nnspec.runtime.executor; in-process by default) drives the batches and merges their statistics;
the checks judge them at the end. Neither the checks nor the report know which engine or executor ran;
the result names the engine, and the layers it left to numpy's forwards (``RunResult.numpy_layers``).
Findings are returned as data, and also issued as Python warnings of category ``RangeWarning``
for library users who never read a report.

Memory is bounded by the batch: every data source is sliced a batch at a time (a .npy file's
or .npz member's rows, a CSV's rows, a dataset's samples: see nnspec.files.rows),
generated data is made a batch at a time, and only the outputs asked for are kept.
Ctrl-C stops after the current batch; the statistics and findings of the samples run so far
come back in ``RunInterrupted.result``.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import settings
from ..checks.check import Finding
from ..checks.stats import PERCENTILES
from ..checks.table import BatchObserver, LayerStats, checks_for, run_checks
from ..core import codes
from ..core.diagnostics import ERROR, INFO, WARNING, Diagnostic, NnspecError, UsageError
from ..core.numbers import format_score
from ..files import memory
from ..files.memory import RunMemory
from ..layers.augmentation import batch_context
from ..layers.catalog import Role
from ..spec.model import DataReader, Spec
from ..spec.semantics import EVALUATION
from ..spec.views import DEFAULT_VIEW, RUNTIME, as_view, semantics_of, view_notes
from . import notebook
from .engine import Engine, EngineFactory, NumpyEngine
from .executor import BatchResult, Executor, InProcess, Remote, WorkerRun
from .inputs import DatasetChoice, DataSource, draw, gather_inputs, release, variables
from .params import Loaded, by_nnabla_name, holds_its_parameters, load_parameter_file, loaded_layers, resolve_parameters
from .plan import owns
from .project import ProjectDataset, checked_root, project_dataset
from .synthetic import Synthesis

# What a scored layer's mean output is (RunResult.scores)
SCORE_KINDS = {Role.LOSS: "loss", Role.VALIDATION: "error rate"}


class RangeWarning(UserWarning):
    """A range check fired: values reach a layer in a range where it destroys information."""


@dataclass
class RunResult:
    """What a run gives back: output arrays, per-layer statistics, findings.

    ``stats`` maps every layer to its LayerStats: its output's statistics over all samples
    (``.output``) and what its checks measured (``.measures``); a layer's inputs are its input layers'
    outputs, so their statistics are those layers' (``stats[source].output``), kept once.
    ``samples`` is the number of samples run (fewer than the data holds when ``interrupted``, or as
    many when Ctrl-C came in the last batch);
    ``omitted`` gives the shape of each output layer whose values were not kept (see
    ``keep_outputs`` of :func:`run`); ``view`` says which view of the network ran, ``"validation"``,
    ``"runtime"`` or ``"training"`` (see nnspec.spec.views), and ``semantics`` what it computed,
    ``"evaluation"`` (NNC's: the validation and runtime views) or ``"training"``; ``spec`` is the view
    as it ran: its layers those the view keeps, their properties those it used (``batch_stat`` false
    at evaluation). ``sources`` says where each data variable the run read took its values from
    (nnspec.runtime.inputs.DataSource: ``result.sources["x"].description`` is "file x.npy").
    ``engine`` names the engine that computed the batches (``"numpy"``, ``"onnxruntime"``, or a class's
    name), and ``numpy_layers`` the layers it left to numpy's forwards, each with why (``--engine
    onnxruntime``: the layers ONNX cannot hold, see nnspec.runtime.mixed).
    """

    spec: Spec
    samples: int
    outputs: dict[str, np.ndarray]
    stats: dict[str, LayerStats]
    findings: list[Finding]
    layer_parameters: dict[str, dict[str, np.ndarray]]  # by layer, then W, b, ...: what the layers read
    notes: list[Diagnostic] = field(default_factory=list)
    omitted: dict[str, tuple[int, ...]] = field(default_factory=dict)
    interrupted: bool = False
    total: int | None = None  # the samples the data holds (samples, unless interrupted)
    semantics: str = EVALUATION
    memory: RunMemory | None = None  # its samples, batch size and the memory it was checked to need
    view: str = DEFAULT_VIEW
    sources: dict[str, DataSource] = field(default_factory=dict)
    engine: str = "numpy"
    numpy_layers: dict[str, str] = field(default_factory=dict)
    workers: tuple[WorkerRun, ...] = ()  # a distributed run's workers, what each computed (empty in process)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def spec_warnings(self) -> list[Diagnostic]:
        """The spec's own warnings, which validate counts with its predictions (an argument whose
        number NNC's type refuses, used as written: argument-type); printed with the notes."""
        return [note for note in self.spec.notes if note.severity == WARNING]

    @property
    def warning_count(self) -> int:
        """The warnings the report counts and --strict fails on: the findings' and the spec's own."""
        return len(self.warnings) + len(self.spec_warnings)

    @property
    def scores(self) -> dict[str, dict[str, Any]]:
        """Each loss layer's mean loss and each validation layer's error rate over the whole data:
        ``{"loss": {"kind": "loss", "value": 0.31}, "error": {"kind": "error rate", "value": 0.02}}``.

        A loss layer outputs a loss per value and a validation layer 1 per error, so both are the
        mean of the layer's output, which the statistics already hold over every sample (none
        without statistics, or where no value was finite).
        """
        return {
            name: {"kind": SCORE_KINDS[layer.type.role], "value": self.stats[name].output.mean}
            for name, layer in self.spec.layers.items()
            if layer.type.role in SCORE_KINDS and name in self.stats and self.stats[name].output.finite
        }

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """The parameters the run used by nnabla name (``fc1/affine/W``), one entry per shared array, as
        ``--save-params`` writes them and ``params=`` reads them back (``layer_parameters`` keys the same
        arrays by layer, then W, b, ...)."""
        return by_nnabla_name(self.spec, self.layer_parameters)

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict a measured layer, in the order the layers ran: ``pandas.DataFrame(result.to_records())``
        is a table of the run (str, int, float, None and lists of str only: no numpy scalars, no pandas needed).

        Keys: layer, type, shape, count, nan, posinf, neginf, zeros, min, max, mean, std (None where no
        value was finite), p1, p5, p50, p95, p99 (percentiles of the finite values, estimated from the
        statistics' histogram where there were too many distinct values to keep), findings (the ids of the
        checks that fired there).
        """
        fired: dict[str, list[str]] = {}
        for finding in self.findings:
            fired.setdefault(finding.layer, []).append(finding.check)
        records = []
        for name in self.spec.order:
            if name not in self.stats:
                continue
            o, layer = self.stats[name].output, self.spec.layers[name]
            finite = bool(o.finite)
            record: dict[str, Any] = {
                "layer": name,
                "type": layer.type.name,
                "shape": "x".join(str(n) for n in layer.inferred_shape),
                "count": int(o.count),
                "nan": int(o.nan),
                "posinf": int(o.posinf),
                "neginf": int(o.neginf),
                "zeros": int(o.zeros),
                **{key: float(getattr(o, key)) if finite else None for key in ("min", "max", "mean", "std")},
            }
            for q in PERCENTILES:
                value = o.percentile(q)
                record[f"p{q}"] = None if value is None else float(value)
            record["findings"] = fired.get(name, [])
            records.append(record)
        return records

    def __repr__(self) -> str:
        # One line: the generated repr printed the whole spec, every array and the catalog (~80 kB).
        figures = [
            f"{self.samples} sample" + ("" if self.samples == 1 else "s"),
            f"{self.view} view",
            f"{len(self.stats)} layers measured",
        ]
        figures.append(f"{len(self.errors)} errors, {self.warning_count} warnings")
        figures += [f"{name} {_score(score)}" for name, score in list(self.scores.items())[:3]]
        if self.interrupted:
            figures.append(f"interrupted after {self.samples} of {self.total}")
        return f"<RunResult of {_spec_name(self.spec)}: {'; '.join(figures)}>"

    def _repr_html_(self) -> str:
        """The result in a notebook (Jupyter calls this): a table of the measured layers' output
        statistics and the findings. Every name and message is escaped: a spec's text is untrusted."""
        return notebook.result_html(self)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (KeyboardInterrupt) stopped a run after at least one batch: ``result`` holds the
    outputs, statistics and findings of the samples run until then (``result.interrupted`` is
    True, ``result.samples`` says how many). Being a KeyboardInterrupt, it stops a script as
    Ctrl-C does anywhere else, unless caught."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"interrupted after {result.samples} of {result.total} samples")
        self.result = result


def _spec_name(spec: Spec) -> str:
    return repr(spec.name) if spec.name else repr(spec.file)


def _score(score: dict[str, Any]) -> str:
    return f"{score['kind']} {format_score(score['kind'], score['value'])}"


def execution_order(spec: Spec) -> list[str]:
    """The order the layers run in, as validation found it (Spec.order); kept for callers of
    nnspec.runtime.runner from before the order was kept on the Spec."""
    return list(spec.order)


ENGINES = ("numpy", "onnxruntime")  # the engines --engine and engine="..." name


def engine_named(name: str) -> EngineFactory:
    """The engine ``name`` (one of :data:`ENGINES`) names; onnxruntime's module is imported only when
    named (it needs the onnx extra, which its engine's constructor asks for)."""
    if name == "numpy":
        return NumpyEngine
    if name == "onnxruntime":
        from .mixed import onnxruntime_engine

        return onnxruntime_engine
    raise UsageError(f"unknown engine {name!r}: one of {', '.join(ENGINES)}")


def _left_to_numpy(engine: EngineFactory | str, spec: Spec) -> dict[str, str] | None:
    """The layers ``engine`` (a name, or a factory) leaves to numpy's forwards, each with why, known without
    building it: for numpy's and onnxruntime's (None for another: only the built engine says)."""
    if engine == "numpy" or engine is NumpyEngine:
        return {}
    if engine == "onnxruntime":
        from .mixed import onnxruntime_numpy_layers

        return onnxruntime_numpy_layers(spec)
    return None


def _factory_name(factory: EngineFactory) -> str:
    """How a run's result names an engine given as a class: numpy's by its name, another by its own."""
    return "numpy" if factory is NumpyEngine else getattr(factory, "__name__", type(factory).__name__)


def run(
    spec: Spec,
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    input_files: Mapping[str, str | Path] | None = None,
    dataset: str | Path | None = None,
    params: Mapping[str, np.ndarray] | str | Path | None = None,
    batch_size: int | None = None,
    samples: int | None = None,
    max_memory: int | str | None = None,
    checks: Mapping[str, Any] | None = None,
    statistics: bool = True,
    keep_outputs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_paths: Iterable[str | Path] = (),
    training: bool = False,
    engine: EngineFactory | str | None = None,
    executor: Executor | None = None,
    view: str | None = None,
    dataset_root: str | Path | None = None,
    synthetic: bool = False,
    image_normalization: bool | None = None,
) -> RunResult:
    """Run ``spec`` on data and return its outputs, statistics and findings.

    ``inputs`` maps data variables to arrays of shape (N, *size); ``input_files`` maps
    them to .npy, .npz or .csv files; ``dataset`` is an NNC dataset CSV whose columns
    bind to data variables by name (default: the spec's ``dataset:``; arrays, then files,
    then the dataset, then the spec's data:, then generators: see nnspec.runtime.inputs.gather_inputs; without
    ``dataset`` or ``dataset:``, the dataset of the spec's ``project:`` executor that evaluates the network, its
    ``{SDCPATH}`` and relative URI taken against ``dataset_root``: see nnspec.runtime.project); ``params`` is a
    mapping of nnabla parameter names to arrays, or a path to a .npz file of them.
    A run whose estimated memory exceeds ``max_memory`` (bytes, or a size such as ``"2G"``; default: half the
    machine's memory) stops before allocating anything. ``checks`` overrides check
    settings for the whole run (``{"tanh-saturation": "off"}``, see nnspec.checks.settings);
    ``statistics=False`` runs without statistics or checks (outputs only).

    ``image_normalization`` (None: as the dataset says, its ``image_normalization``, true by default)
    sets whether the dataset's 8-bit images are divided by 255 (16-bit by 65535) or read as 0..255.
    ``synthetic=True`` draws every data variable that has no source in NNC's ranges, class labels in
    range for the losses' targets (nnspec.runtime.synthetic); without it, such a variable is an error.

    ``view`` is the view of the network that runs (nnspec.spec.views; default: the spec's ``view:``,
    else ``"validation"``). The validation view computes what NNC's evaluation computes: each layer
    type's test-time arguments applied (BatchNormalization with its stored mean and var,
    MeanSubtraction with its stored mean) and Dropout bypassed, so no output depends on the batch
    size beyond float rounding (BLAS may sum a matrix product in another order for another batch
    shape). ``"runtime"`` is that without the loss and validation layers and their targets: an inference
    run, which reads only the network's inputs (data given for a variable only the left-out layers
    read is not used, and a note says so), and outputs what the losses read where the spec's outputs
    name them. ``"training"`` (or ``training=True``, its older spelling) runs the training forward
    pass: the spec's batch_stat and update_running_mean as written, Dropout applied (drawn per sample
    from its seed; for -1, see semantics.layer_seed); batch statistics then make outputs depend on
    ``batch_size``. See nnspec.spec.semantics.

    ``keep_outputs``: None (default) keeps every output layer's values for every sample;
    a number n keeps only the output layers of at most n values over the whole run (0:
    none), so that a run that only reports needs no memory for the others; their shapes
    are in ``result.omitted``. ``progress(done, total)`` is called after each batch.

    The files the spec names and a dataset's cells must lie within the spec's allowed roots (see
    nnspec.files.confine; ``nnspec.load(..., allow_paths=...)`` sets them), or a directory in ``allow_paths``;
    a dataset's cells may also name files under the dataset's own directory.

    Ctrl-C during a run of several batches finishes the current batch (a second Ctrl-C
    abandons it) and raises :class:`RunInterrupted`, a KeyboardInterrupt whose ``result``
    holds the outputs, statistics and findings of the samples run, even when that batch was
    the last (the run was still asked to stop: a caller writes no output for it); an
    interrupt before the first batch ends is a plain KeyboardInterrupt.

    ``engine`` makes what computes the batches: a class (default: nnspec.runtime.engine.NumpyEngine)
    or an engine's name, ``"numpy"`` or ``"onnxruntime"`` (needs the onnx extra; docs/onnx.md), and
    ``executor`` drives them (default: nnspec.runtime.executor.InProcess); the results are the same
    whichever ran.

    To run one spec many times, prepare it once (``nnspec.prepare``, or :class:`Runner`): this function is
    ``Runner(spec, params, checks=checks, statistics=statistics, max_memory=max_memory,
    training=training, engine=engine, executor=executor, view=view).run(...)``, but for the order of the checks:
    here the whole run's memory is checked before the parameters are drawn or loaded, where a Runner,
    knowing no data yet, checks its parameters' alone.
    """
    if allow_paths:
        spec = replace(spec, confinement=spec.allowed.widened(allow_paths))
    # The whole run's memory is checked before the parameters are drawn or loaded, as one estimate:
    # a Runner alone knows no data and checks its parameters only, which would report a part of the
    # need to a limit too small for them (issue 18: 520.6 KiB under --max-memory 1, 14.0 MiB under 1M).
    limit = _limit(max_memory)
    viewed = as_view(spec, view, training=training)
    footprint = memory.Footprint.of(viewed)
    request = _DataRequest(
        inputs,
        input_files,
        dataset,
        batch_size,
        samples,
        keep_outputs,
        _DataChoices(dataset_root, synthetic, image_normalization),
    )
    planned = _spread(_plan(viewed, variables(viewed), footprint, request, limit), request, executor)
    need = footprint.estimate(planned.count, planned.step, planned.to_generate, planned.kept)
    memory.check(need, limit)
    runner = Runner(
        spec,
        params,
        checks=checks,
        statistics=statistics,
        max_memory=max_memory,
        training=training,
        engine=engine,
        executor=executor,
        view=view,
    )
    return runner._execute(planned, need, progress, request)


@dataclass(frozen=True)
class _Planned:
    """A run's data, found and opened but not read: its sources, the readers still to generate theirs,
    the sample count, the batch size, the output layers kept, where each variable's values come from,
    and the notes on data given that the view does not read."""

    data: dict[str, Any]
    to_generate: list[DataReader]
    count: int
    step: int
    kept: list[str]
    sources: dict[str, DataSource]
    unused: list[Diagnostic]
    synthetic: dict[str, Synthesis] = field(default_factory=dict)


@dataclass(frozen=True)
class _DataChoices:
    """What a run is told about its data beyond the sources themselves (run's arguments)."""

    dataset_root: str | Path | None = None
    synthetic: bool = False
    image_normalization: bool | None = None


@dataclass(frozen=True)
class _DataRequest:
    """A run's data as its caller named it (run's arguments): what :func:`_plan` finds the sources from,
    here and, for a distributed run, again on each worker (nnspec.runtime.distributed)."""

    inputs: Mapping[str, np.ndarray] | None = None
    input_files: Mapping[str, str | Path] | None = None
    dataset: str | Path | None = None
    batch_size: int | None = None
    samples: int | None = None
    keep_outputs: int | None = None
    choices: _DataChoices = _DataChoices()

    def anywhere(self) -> _DataRequest:
        """The request as a worker in another directory reads it: the paths the caller named made absolute
        (a worker shares the files, not the client's working directory). Arrays given in memory are refused:
        a distributed run's workers read the data themselves, it is never sent."""
        if self.inputs:
            given = ", ".join(sorted(self.inputs))
            raise UsageError(
                f"a distributed run reads its data on the workers, from files: give {given} as files "
                "(input_files=, --input), not arrays"
            )
        choices = self.choices
        return replace(
            self,
            input_files={name: _absolute(path) for name, path in (self.input_files or {}).items()},
            dataset=None if self.dataset is None else _absolute(self.dataset),
            choices=replace(
                choices, dataset_root=None if choices.dataset_root is None else _absolute(choices.dataset_root)
            ),
        )


def _absolute(path: str | Path) -> Path:
    return Path(path).absolute()


def _spread(planned: _Planned, request: _DataRequest, executor: Executor | None) -> _Planned:
    """A run planned for a distributed executor with no batch size given: in batches of
    nnspec.runtime.distributed's default size (a fixed rule, so that its results do not depend on
    the number of workers), not in one batch, which one worker would run alone."""
    if request.batch_size is not None or not isinstance(executor, Remote):
        return planned
    return replace(planned, step=min(executor.batch_size(planned.count), planned.count) if planned.count else 0)


def _plan(
    spec: Spec,
    readers: Mapping[str, DataReader],
    footprint: memory.Footprint,
    request: _DataRequest,
    limit: int,
) -> _Planned:
    """Where a run's data comes from and how it is batched (run's arguments): all that its memory
    estimate needs, and nothing read yet but headers."""
    inputs, input_files, dataset = request.inputs, request.input_files, request.dataset
    batch_size, samples, keep_outputs, choices = (
        request.batch_size,
        request.samples,
        request.keep_outputs,
        request.choices,
    )
    if batch_size is not None and batch_size < 1:
        raise NnspecError(f"batch size must be at least 1; got {batch_size}")
    if choices.dataset_root is not None:  # a folder the user named: its files may be read, as --allow-path's
        spec = replace(spec, confinement=spec.allowed.widened([checked_root(choices.dataset_root)]))
    choice = _dataset_choice(spec, dataset, choices)
    given, files, unused = _given_for_view(spec, readers, inputs, input_files)
    gathered = gather_inputs(
        spec, given, files, samples, None, readers, limit, choice=choice, synthetic=choices.synthetic
    )
    if choice.unread is not None and gathered.synthetic:
        drawn = ", ".join(gathered.synthetic)
        note = f"{choice.unread}: not read; synthetic data drawn for {drawn} instead (--synthetic)"
        unused.append(Diagnostic(note, spec.file, severity=INFO, code=codes.PROJECT_DATASET))
    count = gathered.samples
    kept = [
        name for name in spec.outputs if keep_outputs is None or count * footprint.sample_values[name] <= keep_outputs
    ]
    step = min(batch_size or count, count)
    return _Planned(
        gathered.data, gathered.to_generate, count, step, kept, gathered.sources, unused, gathered.synthetic
    )


def _dataset_choice(spec: Spec, dataset: str | Path | None, choices: _DataChoices) -> DatasetChoice:
    """The dataset a run reads: the one given (``dataset``: the user's own file, read wherever it is),
    else the spec's ``dataset:``, else its project's executor's (nnspec.runtime.project; both confined
    to the spec's roots). The dataset given replaces the file of the one the run would read, whose
    image normalisation still applies, unless ``choices.image_normalization`` sets it."""
    if spec.dataset is not None:
        choice = DatasetChoice(spec.dataset, True, spec.image_normalization)
    else:
        choice = _project_choice(project_dataset(spec, choices.dataset_root))
    if dataset is not None:
        choice = DatasetChoice(dataset, False, choice.image_normalization)
    if choices.image_normalization is not None:
        choice = replace(choice, image_normalization=choices.image_normalization)
    return choice


def _project_choice(chosen: ProjectDataset | None) -> DatasetChoice:
    """A project's dataset as the run's (none when no executor evaluates the network); one that cannot
    be read is no dataset, and says why (``unread``)."""
    if chosen is None:
        return DatasetChoice()
    unread = f"the {chosen.title} {chosen.problem}" if chosen.problem is not None else None
    return DatasetChoice(chosen.path, True, chosen.image_normalization, chosen.title, unread)


def _given_for_view(
    spec: Spec,
    readers: Mapping[str, DataReader],
    inputs: Mapping[str, np.ndarray] | None,
    files: Mapping[str, str | Path] | None,
) -> tuple[dict[str, np.ndarray], dict[str, str | Path], list[Diagnostic]]:
    """The data given for the variables a view of a spec reads (``readers``), and a note for each
    given that only layers the view leaves out read (the runtime view's targets, ``y``): an inference
    run handed the same data as a validation run does not fail on it, nor use it."""
    inputs, files = dict(inputs or {}), dict(files or {})
    written = spec.as_written
    if spec.view != RUNTIME or written is None:
        return inputs, files, []
    read_by: dict[str, list[str]] = {}
    for reader in written.readers:
        read_by.setdefault(reader.variable, []).append(reader.layer.name)
    notes = []
    for variable in sorted((set(inputs) | set(files)) & (set(read_by) - set(readers))):
        inputs.pop(variable, None)
        files.pop(variable, None)
        layers = ", ".join(f"'{name}'" for name in dict.fromkeys(read_by[variable]))
        notes.append(
            Diagnostic(
                f"data variable '{variable}' is read only by {layers}, which the runtime view leaves out: "
                "the data given for it is not used",
                written.file,
                severity=INFO,
                code=codes.UNKNOWN_VARIABLE,
            )
        )
    return inputs, files, notes


def planned_memory(
    spec: Spec, *, batch_size: int | None = None, samples: int | None = None, keep_outputs: int | None = None
) -> RunMemory:
    """What ``run(spec, batch_size=..., samples=..., keep_outputs=...)`` on the spec's own data (its
    ``dataset:``, ``data:`` or generators) would need, worked out before it runs: its sample count, its
    batch size (default: every sample at once, as a run's) and the memory estimate the run checks
    ``max_memory`` against. Opens the spec's dataset to count its samples (UsageError if it cannot)."""
    gathered = gather_inputs(
        spec, samples=samples, dataset=spec.dataset, max_memory=memory.default_limit(), dataset_from_spec=True
    )
    count = gathered.samples
    footprint = memory.Footprint.of(spec)
    step = min(batch_size or count, count)
    need = footprint.estimate(count, step, gathered.to_generate, footprint.kept(count, keep_outputs))
    return RunMemory(count, step, need, footprint.output_bytes(count))


def _limit(max_memory: int | str | None) -> int:
    """The memory limit of a run: the one given (0 too; a size as the CLI's --max-memory takes it, "2G",
    read by the same parser), else half of the machine's."""
    if max_memory is None:
        return memory.default_limit()
    if isinstance(max_memory, str):
        try:
            return memory.parse_size(max_memory)
        except ValueError as exc:
            raise NnspecError(f"max_memory: {exc}") from None
    return max_memory


class Runner:
    """A spec made ready to run: the work that does not depend on the data, done once.

    Parameters are loaded or drawn and checked for NaN and Inf, check settings resolved,
    the execution order fixed and, for every layer, the tensors it is the last to read;
    :meth:`run` then only moves data through the layers. ``params``, ``checks``, ``statistics``,
    ``max_memory``, ``training``, ``view``, ``engine`` and ``executor`` are :func:`run`'s; the parameters'
    memory is checked against ``max_memory`` before any is drawn or loaded. The parameter arrays are shared by
    every result (``result.parameters``, by nnabla name; ``runner.parameters`` likewise, and
    ``layer_parameters`` by layer): arrays given in ``params`` as the spec's dtype are
    used as they are, not copied, so changing them changes what later runs compute.

        runner = nnspec.prepare(spec, params="params.npz", statistics=False)
        for batch in batches:
            probabilities = runner.run({"x": batch}).outputs["softmax"]
    """

    def __init__(
        self,
        spec: Spec,
        params: Mapping[str, np.ndarray] | str | Path | None = None,
        *,
        checks: Mapping[str, Any] | None = None,
        statistics: bool = True,
        max_memory: int | str | None = None,
        training: bool = False,
        engine: EngineFactory | str | None = None,
        executor: Executor | None = None,
        view: str | None = None,
    ) -> None:
        written = spec
        # The view that runs: its layers, with their properties as it uses them. The plan, the checks
        # and the result all read these (nnspec.spec.views), never the spec's own where they differ.
        self.spec = spec = as_view(spec, view, training=training)
        self.view = spec.view or DEFAULT_VIEW
        self.semantics = semantics_of(self.view)
        self.statistics = statistics
        self.enabled = settings.resolve(spec, checks) if statistics else {}
        self._footprint = memory.Footprint.of(spec)
        # The parameters are drawn or loaded here: their memory is checked before, not after.
        memory.check(self._footprint.estimate(0, 0, [], []), _limit(max_memory))
        loaded: Loaded | None
        if params is None and holds_its_parameters(spec.file):
            params = spec.file  # an .nnp or .onnx holds its model's parameters beside the network
        if isinstance(params, (str, Path)):
            loaded, source = load_parameter_file(params, _limit(max_memory)), f"parameter file {params}"
        else:
            loaded, source = params, "the parameters given"
        self.layer_parameters, self.notes = resolve_parameters(spec, loaded, source)
        self.notes = [*spec.notes, *view_notes(spec), *self.notes]
        self.trained = loaded_layers(spec, loaded)
        self.order = list(spec.order)
        measured = {
            name: [c for c in checks_for(spec.layers[name].type) if c.id in enabled]
            for name, enabled in self.enabled.items()
        }
        self._measured = measured
        self._variables = variables(spec)
        self._factory = factory = engine_named(engine) if isinstance(engine, str) else engine or NumpyEngine
        self.engine_name = engine if isinstance(engine, str) else _factory_name(factory)
        self.executor: Executor = executor or InProcess()
        # An engine may leave layers to numpy's forwards, and says which and why (nnspec.runtime.mixed). A run on
        # other processes' engines (RemoteBatches: each worker builds its own) builds none here where the
        # engine's name says which layers it leaves without building it: onnxruntime's writes its model and
        # opens its sessions, for nothing.
        known = _left_to_numpy(engine or factory, spec) if isinstance(self.executor, Remote) else None
        self.numpy_layers: dict[str, str] = (
            known if known is not None else dict(getattr(self.engine, "numpy_layers", {}))
        )
        self._dtype = np.dtype(spec.dtype)
        self._given = (written, checks, statistics, max_memory, training, engine, view)
        self._estimates: dict[tuple[int, int, tuple[str, ...], tuple[str, ...]], memory.MemoryNeed] = {}

    @cached_property
    def engine(self) -> Engine:
        """What computes this runner's batches, built on first use: when the runner is made, unless its
        batches run on other processes (a Remote executor), which build their own."""
        measured = self._measured if self.statistics else None
        return self._factory(self.spec, self.layer_parameters, measured, list(self._variables))

    def __repr__(self) -> str:
        # One line, as RunResult's: the spec, the kind of run, the parameters' count
        values = sum(int(array.size) for array in self.parameters.values())
        measured = "with statistics" if self.statistics else "outputs only"
        return f"<Runner of {_spec_name(self.spec)}: {self.view} view, {measured}, {values:,} parameter values>"

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """The parameters by nnabla name (``fc1/affine/W``), as ``result.parameters``."""
        return by_nnabla_name(self.spec, self.layer_parameters)

    def run(
        self,
        inputs: Mapping[str, np.ndarray] | None = None,
        *,
        input_files: Mapping[str, str | Path] | None = None,
        dataset: str | Path | None = None,
        batch_size: int | None = None,
        samples: int | None = None,
        max_memory: int | str | None = None,
        keep_outputs: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        dataset_root: str | Path | None = None,
        synthetic: bool = False,
        image_normalization: bool | None = None,
    ) -> RunResult:
        """One run over the data: the arguments are :func:`run`'s."""
        limit = _limit(max_memory)
        request = _DataRequest(
            inputs,
            input_files,
            dataset,
            batch_size,
            samples,
            keep_outputs,
            _DataChoices(dataset_root, synthetic, image_normalization),
        )
        planned = _spread(_plan(self.spec, self._variables, self._footprint, request, limit), request, self.executor)
        need = self._estimate(planned.count, planned.step, tuple(planned.to_generate), tuple(planned.kept))
        memory.check(need, limit)
        return self._execute(planned, need, progress, request)

    def _execute(
        self,
        planned: _Planned,
        need: memory.MemoryNeed,
        progress: Callable[[int, int], None] | None,
        request: _DataRequest,
    ) -> RunResult:
        """The run ``planned``, its memory checked (``need``): its batches through the engine, outputs
        kept, checks run."""
        spec = self.spec
        data, to_generate, count, step, kept = (
            planned.data,
            planned.to_generate,
            planned.count,
            planned.step,
            planned.kept,
        )
        sized = RunMemory(count, step, need, self._footprint.output_bytes(count))
        outputs: dict[str, np.ndarray] = {}  # filled batch by batch: no list of parts to join at the end

        def take(batch: BatchResult) -> None:
            start, stop = batch.start, batch.stop
            for name in kept:
                value = batch.outputs[name]
                if step == count and owns(
                    value, [*batch.data.values(), *outputs.values()], self.layer_parameters[name]
                ):
                    outputs[name] = value  # the whole run in one batch, in an array of its own
                    continue
                if name not in outputs:
                    outputs[name] = np.empty((count, *value.shape[1:]), value.dtype)
                outputs[name][start:stop] = value
            for source in data.values():
                release(source)  # a memory-mapped file's pages read for this batch

        # one batch, the common case of a program running a prepared spec: no list to make
        batches = [(0, count)] if step == count else [(i, min(i + step, count)) for i in range(0, count, step)]
        if isinstance(self.executor, Remote):
            job = RemoteBatches(self._making(), request.anywhere(), count, kept)
            executed = self.executor.execute_remote(batches, job, take, progress)
        else:
            compute = partial(self._run_batch, data, to_generate, planned.synthetic)
            executed = self.executor.execute(batches, compute, take, progress)
        stats, done, interrupted = executed.stats, executed.done, executed.interrupted
        if done < count:
            outputs = {name: value[:done] for name, value in outputs.items()}
        unnormalised = frozenset(name for name, source in planned.sources.items() if source.unnormalised)
        findings = (
            run_checks(spec, stats, self.enabled, self.layer_parameters, self.trained, unnormalised)
            if self.statistics
            else []
        )
        findings = [finding.located(spec) for finding in findings]
        for found in (finding.diagnostic(spec) for finding in findings if finding.severity != INFO):
            warnings.warn_explicit(f"{found.message} [{found.code}]", RangeWarning, found.file, found.line or 0)
        omitted = {name: (done, *spec.layers[name].inferred_shape) for name in spec.outputs if name not in kept}
        notes = [*self.notes, *planned.unused]
        notes += [note for source in data.values() for note in getattr(source, "notes", ())]
        result = RunResult(
            spec,
            done,
            outputs,
            stats,
            findings,
            self.layer_parameters,
            notes,
            omitted,
            interrupted,
            count,
            self.semantics,
            sized,
            self.view,
            planned.sources,
            self.engine_name,
            self.numpy_layers,
            executed.workers,
        )
        if result.interrupted:
            raise RunInterrupted(result)
        return result

    def _making(self) -> _RunnerMaking:
        """How a worker makes this runner again (RemoteBatches): as it was made here, but with the parameters
        as they came out here, by nnabla name: drawn or loaded once, then sent once to each worker."""
        written, checks, statistics, max_memory, training, engine, view = self._given
        return _RunnerMaking(
            written, self.parameters, checks, statistics, max_memory, training, engine, view, str(Path.cwd())
        )

    def _run_batch(
        self,
        data: Mapping[str, Any],
        to_generate: list[DataReader],
        synthetic: Mapping[str, Synthesis],
        start: int,
        stop: int,
    ) -> BatchResult:
        """Samples ``start`` to ``stop`` through the engine: the output layers' values, and the
        measured layers' statistics, each taken as the engine shows the layer's output."""
        dtype, seed = self._dtype, self.spec.seed
        # Data beyond the dtype's range becomes inf, layers overflow or divide by zero: not errors
        # here, the nan-inf check reports them afterwards with the layer that produced them. Set
        # once for the engine and the statistics too (see Engine.batch).
        # The augmentation layers draw per sample from its index in the run, and only in training.
        with np.errstate(all="ignore"), batch_context(start, training=self.semantics != EVALUATION):
            batch = {variable: np.asarray(values[start:stop], dtype) for variable, values in data.items()}
            for reader in to_generate:
                batch[reader.variable] = draw(reader, start, stop, seed, synthetic.get(reader.variable)).astype(dtype)
            if not self.statistics:
                return BatchResult(start, stop, self.engine.batch(batch, None), batch, {})
            # takes the statistics as the engine shows each measured layer (the batch starts at the
            # run's sample number ``start``), some as it shows them, small ones together later
            observer = BatchObserver(self._measured, self.layer_parameters, start)
            outputs = self.engine.batch(batch, observer)
            return BatchResult(start, stop, outputs, batch, observer.finish())

    def _estimate(
        self, samples: int, batch: int, generated: tuple[DataReader, ...], kept: tuple[str, ...]
    ) -> memory.MemoryNeed:
        """The memory a run needs (Footprint.estimate), worked out once for each kind of run."""
        key = (samples, batch, tuple(reader.variable for reader in generated), kept)
        if key not in self._estimates:
            if len(self._estimates) >= 64:
                self._estimates.clear()  # a caller running every batch size there is: keep it small
            self._estimates[key] = self._footprint.estimate(samples, batch, list(generated), list(kept))
        return self._estimates[key]


@dataclass(frozen=True)
class _RunnerMaking:
    """Runner's arguments, as a worker of a distributed run makes the runner again."""

    spec: Spec  # as written (Runner takes its view), with the roots its files may be read from
    parameters: dict[str, np.ndarray]  # by nnabla name
    checks: Mapping[str, Any] | None
    statistics: bool
    max_memory: int | str | None
    training: bool
    engine: EngineFactory | str | None
    view: str | None
    cwd: str  # the client's working directory, against which the spec's relative paths were taken

    def runner(self) -> Runner:
        return Runner(
            self.spec,
            self.parameters,
            checks=self.checks,
            statistics=self.statistics,
            max_memory=self.max_memory,
            training=self.training,
            engine=self.engine,
            view=self.view,
        )


class RemoteBatches:
    """A run's batches as a worker of a distributed run computes them (see executor.Remote): called as
    ``job(start, stop)``, it returns that batch's BatchResult (the kept outputs and the statistics; no data).

    Pickled, it carries the spec, the parameters and where the data is (``request``, its paths absolute),
    never the data. On its first call in a process it makes the runner (its engine built once there) and
    opens the data itself, from the same paths, checking it finds as many samples as the client did
    (``count``); later calls reuse both. Calls run one at a time: an engine runs one batch at a time.
    """

    def __init__(self, making: _RunnerMaking, request: _DataRequest, count: int, kept: list[str]) -> None:
        self.making, self.request, self.count, self.kept = making, request, count, kept
        self._lock = threading.Lock()
        self._ready: tuple[Runner, _Planned] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"making": self.making, "request": self.request, "count": self.count, "kept": self.kept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["making"], state["request"], state["count"], state["kept"])  # type: ignore[misc]

    def __call__(self, start: int, stop: int) -> BatchResult:
        with self._lock:
            runner, planned = self._prepared()
            batch = runner._run_batch(planned.data, planned.to_generate, planned.synthetic, start, stop)
            for source in planned.data.values():
                release(source)
        return BatchResult(start, stop, {name: batch.outputs[name] for name in self.kept}, {}, batch.stats)

    def _prepared(self) -> tuple[Runner, _Planned]:
        if self._ready is None:
            making = self.making
            here = str(Path.cwd())
            if here != making.cwd and not Path(making.spec.file).is_absolute():
                raise UsageError(
                    f"a worker runs in {here}, not in {making.cwd} as nnspec does: the spec's relative paths "
                    "would name other files there; give the spec as an absolute path "
                    f"({Path(making.spec.file).absolute()})"
                )
            runner = making.runner()
            planned = _plan(runner.spec, runner._variables, runner._footprint, self.request, _limit(making.max_memory))
            if planned.count != self.count:
                raise UsageError(
                    f"a worker finds {planned.count:,} samples in the data where nnspec found {self.count:,}: "
                    "the workers must read the same files (a path they share)"
                )
            self._ready = (runner, planned)
        return self._ready
