"""Range checks: a declarative table of rules over per-layer statistics.

Each check has a stable id, a default severity and threshold, a note of what it
looks at and why (NNC's rule, Glorot & Bengio, the dtype's limits), the layer
types it applies to, an optional ``measure`` that counts what it needs from each
batch, and a ``judge`` that reads the merged statistics and returns a message in
numbers, saying what to do, or None. The checks read the catalog (a layer's
well-behaved input range, its output bounds, whether it saturates, zeroes negative
inputs, computes exp or gives probabilities), never a layer's name, so a layer
added to the catalog with these facts is checked with no new code here.
docs/checks.md is the user's table of them.

The judges, measures and predictions live in one module per family (data, saturation, dead_units,
probability, scale, domains, quantization; what a check is, in check.py); the table is assembled here,
in one place, and run here (observe, run_checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from math import inf
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.diagnostics import ERROR, INFO, WARNING
from ..core.numbers import format_number
from ..layers.catalog import LayerType, Role, layer_types, whole_catalog
from .causes import _measured_std, scale_origin, with_cause
from .check import FIRM_UNIT_SAMPLES, UNIT_SAMPLES, Check, Context, Finding, Probe, Tentative, _range
from .data import (
    FEATURE_LEVELS,
    FEATURE_SPREADS,
    _declared_range,
    _input_range,
    _measure_features,
    _merge_moments,
    _nan_inf,
    _predict_input_range,
    predict_unnormalised_input_range,
)
from .dead_units import _constant_output, _dead_layer, _dead_units, _measure_positive, _predict_dead_layer
from .domains import _domain, _measure_domain, _predict_domain
from .measures import merge_by_prefix
from .probability import (
    _measure_certain,
    _measure_probability_input,
    _overconfident,
    _predict_binary_target,
    _predict_overconfident,
    _probability_input,
)
from .quantization import _batch_dependent, _clipping, _measure_batch, _measure_clipped, _predict_clipping
from .saturation import (
    _exp_overflow,
    _hard_saturation,
    _measure_exp,
    _measure_outside,
    _measure_pinned,
    _predict_exp_overflow,
    _predict_hard_saturation,
    _predict_saturation,
    _saturation,
)
from .scale import _measure_channels, _predict_stored_gain, _scale_drift, _scale_drift_run, _stored_gain
from .stats import SMALL, TensorStats, stats_of_many

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer, Spec


@dataclass
class LayerStats:
    """A layer's statistics over every batch: its output's, and what each check measured.

    A measure maps keys to counts (added across batches) or to per-unit arrays, merged by
    the key's prefix (nnspec.checks.measures: its keys and merge_by_prefix).
    """

    output: TensorStats
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def merge(self, other: LayerStats) -> LayerStats:
        checks = all_checks()
        return LayerStats(
            self.output.merge(other.output),
            {
                check: (checks[check].merge or merge_by_prefix)(self.measures[check], other.measures[check])
                for check in self.measures
            },
        )

    def __repr__(self) -> str:
        # The figures a person looks at, on one line; the histogram and per-unit arrays stay behind .output
        o = self.output
        figures = f"count={o.count}"
        if o.finite:
            figures += ", " + ", ".join(
                f"{key}={format_number(getattr(o, key))}" for key in ("min", "max", "mean", "std")
            )
        figures += f", zeros={o.zeros}"
        for key in ("nan", "posinf", "neginf"):
            if getattr(o, key):
                figures += f", {key}={getattr(o, key)}"
        measured = f"; measures: {', '.join(self.measures)}" if self.measures else ""
        return f"<LayerStats {figures}{measured}>"


def observe(
    layer: Layer,
    checks: list[Check],
    inputs: list[np.ndarray],
    output: np.ndarray,
    input_stats: list[TensorStats],
    start: int = 0,
    parameters: Mapping[str, np.ndarray] = MappingProxyType({}),
) -> LayerStats:
    """The statistics of one batch through one layer: its output's, and each check's measure.
    ``input_stats`` are those of its inputs in this batch (for a source layer, unused); the
    batch's first sample is the run's sample number ``start`` (see TensorStats.of); ``parameters``
    the layer's own, for the measures that read them (a quantizer's range)."""
    return _measured(layer, checks, inputs, output, input_stats, TensorStats.of(output, start), parameters)


class BatchObserver:
    """A batch's statistics taken as an engine shows its layers (an engine's observer: called with each
    measured layer, its inputs and its output, in the order the layers run), into ``stats`` by layer.

    A small output (at most stats.SMALL values) is put aside, with the arrays its layer read, and its
    statistics taken later together with others' (stats_of_many: where a tensor holds a few thousand
    values or fewer, numpy's dispatch is most of what its statistics cost); then each layer's measures
    run, in order, seeing the same Probe as ever. What is put aside is taken when it holds PENDING
    values, when a larger output comes (its own statistics are taken at once, as before) and at
    :meth:`finish`: so the arrays an engine shows must stay as they are until its batch is done, and a
    tensor the engine has freed is held at most until then, PENDING values in all.
    """

    PENDING = 2**16  # as many as stats_of_many takes at once (stats.GROUP): no more is held for it

    def __init__(
        self,
        measured: Mapping[str, list[Check]],
        parameters: Mapping[str, Mapping[str, np.ndarray]],
        start: int = 0,
    ) -> None:
        self.stats: dict[str, LayerStats] = {}
        self._measured, self._parameters, self._start = measured, parameters, start
        self._pending: list[tuple[Layer, list[np.ndarray], np.ndarray]] = []
        self._held: set[int] = set()  # the ids of the arrays put aside
        self._values = 0

    def __call__(self, layer: Layer, inputs: list[np.ndarray], output: np.ndarray) -> None:
        self._pending.append((layer, inputs, output))
        for array in (output, *inputs):
            if id(array) not in self._held:
                self._held.add(id(array))
                self._values += np.size(array)
        if np.size(output) > SMALL or self._values > self.PENDING:
            self._take()

    def finish(self) -> dict[str, LayerStats]:
        """Every observed layer's statistics (the batch is done)."""
        self._take()
        return self.stats

    def _take(self) -> None:
        pending, self._pending, self._held, self._values = self._pending, [], set(), 0
        outputs = stats_of_many([output for _, _, output in pending], self._start)
        for (layer, inputs, output), output_stats in zip(pending, outputs):
            received = [self.stats[source].output for source in layer.inputs if source in self.stats]
            self.stats[layer.name] = _measured(
                layer, self._measured[layer.name], inputs, output, received, output_stats, self._parameters[layer.name]
            )


def _measured(
    layer: Layer,
    checks: list[Check],
    inputs: list[np.ndarray],
    output: np.ndarray,
    input_stats: list[TensorStats],
    output_stats: TensorStats,
    parameters: Mapping[str, np.ndarray],
) -> LayerStats:
    """A layer's statistics of one batch, its output's taken: with what each check measures."""
    probe = Probe(layer, inputs, output, input_stats or [output_stats], output_stats, parameters)
    return LayerStats(output_stats, {c.id: c.measure(probe) for c in checks if c.measure is not None})


def run_checks(
    spec: Spec,
    stats: Mapping[str, LayerStats],
    settings: Mapping[str, dict[str, tuple[str, float | None]]],
    parameters: Mapping[str, Mapping[str, np.ndarray]] = MappingProxyType({}),
    trained: frozenset[str] = frozenset(),
    unnormalised: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Every finding, in the order of the layers in the spec. ``settings`` maps a layer to
    its checks' (severity, threshold), as nnspec.checks.settings.resolve gives them; "off" checks are absent.
    ``parameters`` are the run's parameter arrays by layer; ``trained`` the layers whose parameters
    were loaded (``--params`` or a ``file:``) rather than drawn, so that advice fits them; ``unnormalised``
    the data variables read from a dataset that feeds its images as they are (Context.unnormalised)."""
    findings: list[Finding] = []
    measured_std = _measured_std(stats)
    for name in sorted(stats, key=spec.positions.__getitem__):
        layer = spec.layers[name]
        fired: dict[str, Finding] = {}
        for check in checks_for(layer.type):
            if check.id not in settings[name]:
                continue
            severity, threshold = settings[name][check.id]
            context = Context(spec, layer, stats, threshold, check.id, parameters, trained, all_checks(), unnormalised)
            message = check.judge(context)
            if message is not None:
                severity = INFO if isinstance(message, Tentative) else severity
                if check.names_cause:
                    message = with_cause(message, scale_origin(spec, name, measured_std))
                fired[check.id] = Finding(check.id, severity, name, message)
        for check_id, finding in fired.items():
            if not any(other in fired for other in all_checks()[check_id].superseded_by):
                findings.append(finding)
    return _group_runs(spec, stats, findings, trained)


def _group_runs(
    spec: Spec, stats: Mapping[str, LayerStats], findings: list[Finding], trained: frozenset[str]
) -> list[Finding]:
    """Findings of a check that groups (Check.group) merged where they follow one another along
    a path: a finding's predecessor is the nearest earlier layer, through first inputs, that the
    check applies to; when that layer has the same finding, in the same direction, both belong to
    one run. A run of two or more becomes one finding, in the place of the first of it."""
    checks = all_checks()
    runs: list[list[Finding]] = []
    ends: dict[tuple[str, str], list[Finding]] = {}  # the run each (check, layer) ends, open to extend
    for finding in findings:
        check = checks[finding.check]
        if check.group is None:
            runs.append([finding])
            continue
        previous = _previous_applicable(spec, finding.layer, check)
        run = ends.pop((finding.check, previous), None) if previous is not None else None
        if run is None or _grows(spec, stats, run[-1].layer) != _grows(spec, stats, finding.layer):
            run = [finding]
            runs.append(run)
        else:
            run.append(finding)
        ends[(finding.check, finding.layer)] = run
    return [checks[run[0].check].group(spec, stats, run, trained) if len(run) > 1 else run[0] for run in runs]


def _previous_applicable(spec: Spec, name: str, check: Check) -> str | None:
    """The nearest layer before ``name`` along first inputs that ``check`` applies to; None past
    a bounded activation (it resets the scale) or at the data."""
    current = spec.layers[name]
    while current.inputs:
        current = spec.layers[current.inputs[0]]
        if check.applies(current.type):
            return current.name
        if current.type.is_source or None not in current.type.output_range:
            return None
    return None


def _grows(spec: Spec, stats: Mapping[str, LayerStats], name: str) -> bool:
    """Whether a layer's output std is above its input's."""
    return stats[name].output.std > stats[spec.layers[name].inputs[0]].output.std


def _table() -> list[Check]:
    types = whole_catalog("the table of checks").values()
    checks = [
        Check(
            id="nan-inf",
            severity=ERROR,
            threshold=None,
            looks_at="every layer's output",
            why="NaN and Inf spread to every later layer; the first layer that produces them is where to look",
            applies=lambda t: True,
            judge=_nan_inf,
            superseded_by=tuple(sorted({t.domain.check for t in types if t.domain is not None})),  # they say why
        ),
        Check(
            id="input-range",
            severity=WARNING,
            threshold=3.0,
            looks_at="data entering an Input layer: its bulk (1st..99th percentile) beyond -threshold..threshold "
            "(standardised data: -2.33..2.33); the advice is per-feature standardisation where the features "
            f"lie on different scales (spreads {format_number(FEATURE_SPREADS)}x apart, or means apart by over "
            f"{format_number(FEATURE_LEVELS**0.5, 2)}x their spread); for data of a dataset that feeds its "
            "images as they are (image_normalization false), what the first layer past the scaling, shape, "
            "pooling and augmentation layers receives (none past a normalisation or logical layer)",
            why="NNC's rule: data should be normalised to roughly -1..1; judged on the bulk, not the extremes, "
            "so that standardised data passes and raw 0..255 pixels do not; a network fed 0..255 images "
            "scales them itself, and is judged on what it made of them",
            applies=lambda t: t.is_source,
            judge=_input_range,
            measure=_measure_features,
            merge=_merge_moments,
            predict=_predict_input_range,
            predict_unnormalised=predict_unnormalised_input_range,
            threshold_range=(0.0, inf),
        ),
        Check(
            id="declared-range",
            severity=WARNING,
            threshold=None,
            looks_at="data entering an Input layer, against its declared range",
            why="the spec says what the data is; data outside it means one of them is wrong",
            applies=lambda t: t.is_source and "range" in t.property_map,
            judge=_declared_range,
        ),
    ]
    for t in (t for t in types if t.saturates):
        name = t.name.lower()
        checks += [
            Check(
                id=f"{name}-hard-saturation",
                severity=WARNING,
                threshold=0.01,
                looks_at=f"{t.name} outputs exactly at {_range(t.output_range)}'s bounds: share above the threshold",
                why="the dtype rounds the output to its bound: inputs past that point can no longer be told apart",
                applies=lambda u, n=t.name: u.name == n,
                judge=_hard_saturation,
                names_cause=True,
                measure=_measure_pinned,
                predict=_predict_hard_saturation,
            ),
            Check(
                id=f"{name}-saturation",
                severity=WARNING,
                threshold=0.5,
                looks_at=f"{t.name} inputs outside {_range(t.input_range)}: share above the threshold"
                + ("; or the mean output within 5% of a bound" if t.output_range[0] == 0 else ""),
                why="the output is within 1% of a bound there and the gradient nearly 0 (Glorot & Bengio, 2010)",
                applies=lambda u, n=t.name: u.name == n,
                judge=_saturation,
                names_cause=True,
                measure=_measure_outside,
                superseded_by=(f"{name}-hard-saturation",),
                predict=_predict_saturation,
            ),
        ]
    for t in (t for t in types if t.zero_for_negative):
        name = t.name.lower()
        checks += [
            Check(
                id=f"{name}-dead-layer",
                severity=ERROR,
                threshold=None,
                looks_at=f"{t.name} inputs: every one <= 0",
                why="the layer outputs only zeros",
                applies=lambda u, n=t.name: u.name == n,
                judge=_dead_layer,
                predict=_predict_dead_layer,
            ),
            Check(
                id=f"{name}-dead-units",
                severity=WARNING,
                threshold=0.1,
                looks_at=f"{t.name} units that receive no positive input on any sample: share at or above the "
                f"threshold; from {FIRM_UNIT_SAMPLES} samples (a unit positive on 1% of samples then looks dead "
                f"with probability under 1%), info as 'possibly' from {UNIT_SAMPLES}, and below that one info "
                "line for the run",
                why="a dead unit outputs 0 always and learns nothing (its gradient is 0)",
                applies=lambda u, n=t.name: u.name == n,
                judge=_dead_units,
                measure=_measure_positive,
                superseded_by=(f"{name}-dead-layer",),
            ),
        ]
    domains = {t.domain.check: [] for t in types if t.domain is not None}
    for t in (t for t in types if t.domain is not None):
        domains[t.domain.check].append(t.name)
    checks += [
        Check(
            id=check_id,
            severity=WARNING,
            threshold=None,
            looks_at=f"inputs of {', '.join(names)} where the formula is undefined ("
            + "; ".join(sorted({layer_types()[n].domain.outside for n in names}))
            + "); validate judges how far the values can reach (a ReLU's exact 0, exp's or a Sigmoid's "
            "underflow to 0, 6 standard deviations of a sum)",
            why="they give inf or NaN, which spread to every later layer; reported in place of nan-inf at the "
            "layer, with the values that caused it",
            applies=lambda u, i=check_id: u.domain is not None and u.domain.check == i,
            judge=_domain,
            measure=_measure_domain,
            predict=_predict_domain,
        )
        for check_id, names in domains.items()
    ]
    checks += [
        Check(
            id="exp-overflow",
            severity=WARNING,
            threshold=0.0,
            looks_at="inputs of layers computing exp(i) beyond the dtype's limit: share above the threshold",
            why="exp overflows to inf past 88.72 (float32) or 709.78 (float64)",
            applies=lambda t: t.exp_overflows,
            judge=_exp_overflow,
            names_cause=True,
            measure=_measure_exp,
            predict=_predict_exp_overflow,
        ),
        Check(
            id="softmax-overconfident",
            severity=WARNING,
            threshold=0.5,
            looks_at="distributions with a probability of exactly 1, or of exactly 0 (logits spread past the "
            "dtype's limit): share above the threshold",
            why="a logit 104 (float32) below the largest gets probability exactly 0, and log(0) = -inf",
            applies=lambda t: t.probabilities,
            judge=_overconfident,
            names_cause=True,
            measure=_measure_certain,
            predict=_predict_overconfident,
        ),
        Check(
            id="bce-input-range",
            severity=ERROR,
            threshold=None,
            looks_at="inputs of layers that take a probability, outside 0..1, and their targets, not 0 or 1",
            why="NNC's rule for BinaryCrossEntropy: a probability against a binary target; anything else gives "
            "a meaningless loss",
            applies=lambda t: t.probability_input,
            judge=_probability_input,
            measure=_measure_probability_input,
            predict_side=_predict_binary_target,
        ),
        Check(
            id="quantize-clipping",
            severity=WARNING,
            threshold=0.5,
            looks_at="quantizers' inputs beyond their lowest or highest level (the layer's own output for -inf and "
            "+inf): share above the threshold",
            why="a quantizer clips what lies beyond its levels: most of its inputs then come out as one of two values",
            applies=lambda t: t.clips,
            judge=_clipping,
            measure=_measure_clipped,
            predict_from_parameters=_predict_clipping,
        ),
        Check(
            id="batch-dependent",
            severity=INFO,
            threshold=None,
            looks_at="layers whose output depends on the other samples of the batch (Prune's threshold over the whole "
            "batch), in a run of batches of more than one sample",
            why="their results change with the batch size and the order of the data, unlike every other layer's at "
            "evaluation",
            applies=lambda t: bool(t.whole_batch),
            judge=_batch_dependent,
            measure=_measure_batch,
        ),
        Check(
            id="scale-drift",
            severity=INFO,
            threshold=2.0,
            looks_at="layers with weights (normalizations aside), unless they follow a bounded activation: output "
            "std over input std outside 1/threshold..threshold",
            why="activations that grow or shrink layer after layer explode or vanish (Glorot & Bengio, 2010)",
            # normalizations set the scale; a quantizer's parameters are its range, not weights; a Parameter or
            # WorkingMemory has no input to compare with
            applies=lambda t: (
                bool(t.parameters) and t.role is not Role.NORMALIZATION and not t.clips and t.arity.least > 0
            ),
            judge=_scale_drift,
            threshold_range=(1.0, inf),
            group=_scale_drift_run,
        ),
        Check(
            id="normalization-gain",
            severity=WARNING,
            threshold=10.0,
            looks_at="normalizations with stored statistics (batch_stat false, as NNC evaluates): channels whose "
            "gain gamma / sqrt(var + epsilon) and whose inputs' root mean square distance from the stored mean, "
            "over sqrt(var + epsilon), are both above the threshold",
            why="trained, var is the input's variance and the output's spread is gamma's; NNC initialises var to 0, "
            "so untrained statistics multiply by 1/sqrt(epsilon) (100 for 1e-4); 10 is far above any gain that "
            "leaves normalised values normalised",
            applies=lambda t: {"gamma", "var"} <= {p.name for p in t.parameters} and "epsilon" in t.property_map,
            judge=_stored_gain,
            measure=_measure_channels,
            predict_from_parameters=_predict_stored_gain,
            threshold_range=(1.0, inf),
        ),
        Check(
            id="constant-output",
            severity=WARNING,
            threshold=None,
            looks_at="every layer: each output unit the same on every sample",
            why="a layer whose output does not depend on its input passes nothing on",
            # a loss or an error count that is the same for every sample is a result, not a fault; a layer that
            # needs no input (Parameter, WorkingMemory) gives every sample its one array by design
            applies=lambda t: not t.is_source and not t.role.is_result and t.arity.least > 0,
            judge=_constant_output,  # reads TensorStats.varies: each tensor is compared once, not per reader
            superseded_by=tuple(f"{t.name.lower()}-dead-layer" for t in types if t.zero_for_negative),
        ),
    ]
    return checks


@cache
def all_checks() -> dict[str, Check]:
    """Every check by id (built from the catalog on first use)."""
    return {check.id: check for check in _table()}


def checks_for(layer_type: LayerType) -> list[Check]:
    """The checks that apply to a layer type."""
    return _checks_for(layer_type.name)


@cache
def _checks_for(type_name: str) -> list[Check]:
    return [check for check in all_checks().values() if check.applies(layer_types()[type_name])]
