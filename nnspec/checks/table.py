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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from math import ceil, copysign, floor, inf, log, log10, prod, sqrt
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..core.diagnostics import ERROR, INFO, WARNING, Diagnostic
from ..core.estimate import Estimate, drawn_along_axis
from ..core.numbers import format_number, format_share
from ..layers.catalog import NONNEGATIVE, NONZERO, POSITIVE, LayerType, Role, layer_types, whole_catalog
from .measures import (
    CERTAIN,
    DISTRIBUTIONS,
    FEATURE_M2,
    FEATURE_MEAN,
    MAX_SPREAD,
    NONFINITE,
    NOT_BINARY,
    OUTSIDE,
    OVERFLOWING,
    PINNED,
    ROWS,
    SUM_SQUARES,
    SUM_VALUES,
    UNITS_INSIDE,
    UNITS_POSITIVE,
    VALUES,
    WITH_ZEROS,
    merge_by_prefix,
)
from .stats import TensorStats, blocks

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Layer, Spec

SEVERITIES = (INFO, WARNING, ERROR)
UNIT_SAMPLES = 10  # a claim that a unit is never positive, or always pinned, needs at least this many samples
# A unit positive on 1 sample in 100 (alive, and learning) gives 0 on all of n samples with probability
# 0.99^n, under 1% from 459 samples: from there "never positive" is stated as a fact, below it as "possibly".
FIRM_UNIT_SAMPLES = 459
# "The bulk" of an Input's data, which input-range judges: its 1st to 99th percentile. Standardised data
# (mean 0, std 1) spans -2.33..2.33 there; 0..255 pixels reach 250 and more.
BULK = (1.0, 99.0)
# Features are on different scales when the spread of one is this many times another's (the 90th against
# the 10th percentile over the features, so that a few near-constant ones do not decide it) ...
FEATURE_SPREADS = 100.0
# ... or when their means differ by more than this many times their spread (in variance: between-feature
# variance over the mean within-feature variance): one common x / a then squeezes each feature's variation
# into a sliver of -1..1. Pixels share a scale: their means differ less than they vary.
FEATURE_LEVELS = 10.0


class Tentative(str):
    """A judge's message that rests on too little data to be stated as a fact (a unit dead on every one
    of 30 samples): reported as info, whatever the check's severity."""


@dataclass(frozen=True)
class Finding:
    """What a check found at one layer."""

    check: str
    severity: str
    layer: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "layer": self.layer, "message": self.message}

    def diagnostic(self, spec: Spec) -> Diagnostic:
        """The finding located where its layer is written in the spec: the one conversion every
        report of findings goes through (text, JSON, HTML, GitHub, SARIF, Python's warnings),
        the check's id as the diagnostic's code."""
        line, column = spec.locate(self.layer)
        path = ("layers", spec.layers[self.layer].index)
        return Diagnostic(self.message, spec.file, line, column, self.severity, self.check, path, self.layer)


class Probe(NamedTuple):
    """One batch through one layer, as a check's ``measure`` sees it: the arrays, and the
    statistics already taken of them, which often spare a measure its pass over the data.
    (A named tuple: one is made for every layer of every batch, and tuples are made fastest.)"""

    layer: Layer
    inputs: list[np.ndarray]
    output: np.ndarray
    input_stats: list[TensorStats]
    output_stats: TensorStats


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


class Context(NamedTuple):
    """What a check's judge reads: the layer, every layer's merged statistics, its settings,
    every layer's parameter arrays, and which layers' parameters were loaded (trained) rather
    than drawn from their initializers."""

    spec: Spec
    layer: Layer
    stats: Mapping[str, LayerStats]
    threshold: float | None
    check: str
    parameters: Mapping[str, Mapping[str, np.ndarray]] = MappingProxyType({})
    trained: frozenset[str] = frozenset()

    @property
    def output(self) -> TensorStats:
        return self.stats[self.layer.name].output

    @property
    def measured(self) -> dict[str, Any]:
        return self.stats[self.layer.name].measures[self.check]

    @property
    def samples(self) -> int:
        return self.output.count // max(1, prod(self.layer.shape))

    @property
    def inputs(self) -> list[TensorStats]:
        """The statistics of what the layer received (a source layer: its data)."""
        if self.layer.type.is_source:
            return [self.output]
        return [self.stats[source].output for source in self.layer.inputs]


# (layer, its parameters' (mean, variance) by name, the estimate of what it receives, threshold)
# "Layer" quoted: this alias is evaluated at import, and the spec stage (above) is imported for annotations only
ParameterPrediction = Callable[["Layer", Mapping[str, tuple[float, float]], Estimate, float], str | None]


@dataclass(frozen=True)
class Check:
    """One row of the table of checks."""

    id: str
    severity: str
    threshold: float | None
    looks_at: str
    why: str
    applies: Callable[[LayerType], bool]
    judge: Callable[[Context], str | None]
    measure: Callable[[Probe], dict[str, Any]] | None = None
    superseded_by: tuple[str, ...] = ()  # not reported at a layer where one of these checks fires
    merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None  # default: by name prefix
    # Static analysis: judges an estimate of what the layer receives (layer, estimate, threshold, dtype).
    predict: Callable[[Layer, Estimate, float | None, str], str | None] | None = None
    # Static analysis from a layer's own parameters and what it receives.
    predict_from_parameters: ParameterPrediction | None = None
    threshold_range: tuple[float, float] = (0.0, 1.0)  # thresholds are shares unless said otherwise
    names_cause: bool = False  # its advice names the layer where the scale went wrong (see scale_origin)
    # Merges a run of its findings along a path into one (see _group_runs).
    group: Callable[[Spec, Mapping[str, LayerStats], list[Finding], frozenset[str]], Finding] | None = None


def observe(
    layer: Layer,
    checks: list[Check],
    inputs: list[np.ndarray],
    output: np.ndarray,
    input_stats: list[TensorStats],
    start: int = 0,
) -> LayerStats:
    """The statistics of one batch through one layer: its output's, and each check's measure.
    ``input_stats`` are those of its inputs in this batch (for a source layer, unused); the
    batch's first sample is the run's sample number ``start`` (see TensorStats.of)."""
    output_stats = TensorStats.of(output, start)
    probe = Probe(layer, inputs, output, input_stats or [output_stats], output_stats)
    return LayerStats(output_stats, {c.id: c.measure(probe) for c in checks if c.measure is not None})


def run_checks(
    spec: Spec,
    stats: Mapping[str, LayerStats],
    settings: Mapping[str, dict[str, tuple[str, float | None]]],
    parameters: Mapping[str, Mapping[str, np.ndarray]] = MappingProxyType({}),
    trained: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Every finding, in the order of the layers in the spec. ``settings`` maps a layer to
    its checks' (severity, threshold), as nnspec.checks.settings.resolve gives them; "off" checks are absent.
    ``parameters`` are the run's parameter arrays by layer; ``trained`` the layers whose parameters
    were loaded (``--params`` or a ``file:``) rather than drawn, so that advice fits them."""
    findings: list[Finding] = []
    measured_std = _measured_std(stats)
    for name in sorted(stats, key=lambda n: spec.layers[n].index):
        layer = spec.layers[name]
        fired: dict[str, Finding] = {}
        for check in checks_for(layer.type):
            if check.id not in settings[name]:
                continue
            severity, threshold = settings[name][check.id]
            message = check.judge(Context(spec, layer, stats, threshold, check.id, parameters, trained))
            if message is not None:
                severity = INFO if isinstance(message, Tentative) else severity
                if check.names_cause:
                    message = with_cause(message, scale_origin(spec, name, measured_std))
                fired[check.id] = Finding(check.id, severity, name, message)
        for check_id, finding in fired.items():
            if not any(other in fired for other in all_checks()[check_id].superseded_by):
                findings.append(finding)
    return _group_runs(spec, stats, findings, trained)


# --- the cause of a wrong scale --------------------------------------------------------------

# A layer whose output std is above this many times its input's changed the scale (scale-drift's default).
SCALE_JUMP = 2.0
# The advice a check gives when it cannot tell which layer made its inputs too large.
GENERIC_ADVICE = (
    "(normalise the data or scale the layer before it)",
    "scale the layer before it down",
    "scale the logits down",
)


class ScaleJump(NamedTuple):
    """A layer on the path to a finding whose output's spread jumped against its input's."""

    layer: str
    ratio: float
    before: float
    after: float


def _measured_std(stats: Mapping[str, LayerStats]) -> Callable[[str], float | None]:
    def std(name: str) -> float | None:
        out = stats[name].output if name in stats else None
        return out.std if out is not None and out.finite == out.count and out.count else None

    return std


def scale_origin(spec: Spec, name: str, std: Callable[[str], float | None]) -> ScaleJump | None:
    """The first layer on the path into ``name`` (through first inputs, back to the data or to
    a bounded activation, which resets the scale) whose output std is more than SCALE_JUMP
    times its input's: where the values a finding complains of were made too large. ``std``
    gives a layer's output std (measured, or estimated by static analysis), None if unknown."""
    jumps: list[ScaleJump] = []
    current = spec.layers[name]
    while current.inputs:
        producer = spec.layers[current.inputs[0]]
        if producer.type.is_source or None not in producer.type.output_range or not producer.inputs:
            break
        before, after = std(producer.inputs[0]), std(producer.name)
        if before and after is not None and after / before > SCALE_JUMP:
            jumps.append(ScaleJump(producer.name, after / before, before, after))
        current = producer
    return jumps[-1] if jumps else None  # the farthest back: later layers only carry its scale on


def with_cause(message: str, cause: ScaleJump | None) -> str:
    """A finding's message with its generic advice ("scale the layer before it") replaced by
    the layer that made the scale, when one is known."""
    if cause is None:
        return message
    named = (
        f"its inputs were scaled x{format_number(cause.ratio, 3)} by '{cause.layer}', std "
        f"{format_number(cause.before, 3)} -> "
        f"{format_number(cause.after, 3)}: fix the scale there"
    )
    for generic in GENERIC_ADVICE:
        if message.endswith(generic):
            return message[: -len(generic)] + (f"({named})" if generic.startswith("(") else named)
    return f"{message}; {named}"


# --- grouping a run of the same finding along a path ------------------------------------------


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


# --- the judges and measures -------------------------------------------------------------


def _nan_inf(c: Context) -> str | None:
    """The first layer whose output holds NaN or Inf although what it received does not."""
    out = c.output
    if out.finite == out.count:
        return None
    bad = _count_nonfinite(out)
    if c.layer.type.is_source:
        return (
            f"the data for {c.layer.title} holds {bad} as {c.spec.dtype} "
            f"(whose largest value is {format_number(np.finfo(c.spec.dtype).max, 3)})"
        )
    if any(s.finite < s.count for s in c.inputs):
        return None  # inherited: the layer that produced them is reported
    received = "; ".join(f"{source}: {_span(s)}" for source, s in zip(c.layer.inputs, c.inputs))
    return f"{c.layer.title} produced {bad} from finite inputs ({received}); every layer after it inherits them"


def _input_range(c: Context) -> str | None:
    """The bulk of the data (1st..99th percentile) beyond -threshold..threshold: judged on the bulk, not
    the extremes, so that standardised data (a few values past 3 in a thousand) passes and 0..255 does not."""
    data = c.output
    if not data.finite:
        return None
    low, high = _bulk(data)
    limit = _as(c.threshold, c.spec.dtype)
    if -limit <= low and high <= limit:
        return None
    features = _feature_moments(c.measured, c.samples)
    if features is not None and _scales_differ(*features):
        hint = _standardise_hint(c.layer, *features)
    else:
        hint = _rescale_hint(data.min, data.max, c.spec.dtype, data.mean, data.std)
    return (
        f"the data for {c.layer.title} spans {_exact_span(data, c.spec.dtype)}, its bulk (1st..99th percentile) "
        f"{format_number(low)}..{format_number(high)}, beyond "
        f"-{format_number(c.threshold)}..{format_number(c.threshold)}: outside NNC's rule that inputs "
        f"lie in about -1..1; {hint}"
    )


def _bulk(s: TensorStats) -> tuple[float, float]:
    low, high = (s.percentile(q) for q in BULK)
    return (s.min if low is None else low), (s.max if high is None else high)


# Per-feature moments of an Input's data (a feature: one position of a sample), merged across batches
# as Chan et al. merge them, so that any batching gives the same figures.
_FEATURE_MAGNITUDE = 1e150  # squares of differences of such values stay within float64
_FEATURE_BLOCK = 1 << 20  # values a block: float64 copies of the data stay at 8 MiB


def _measure_features(p: Probe) -> dict[str, Any]:
    x = p.output
    width = prod(x.shape[1:])
    moments = {ROWS: 0, NONFINITE: 0, FEATURE_MEAN: np.zeros(width), FEATURE_M2: np.zeros(width)}
    # nan-inf reports non-finite values; values past _FEATURE_MAGNITUDE would overflow the squared
    # deviations (float64 data near 1e308): there is no per-feature advice for either
    if p.output_stats.finite < p.output_stats.count or p.output_stats.max_abs > _FEATURE_MAGNITUDE:
        return {
            ROWS: len(x),
            NONFINITE: 1,
            FEATURE_MEAN: np.full(width, np.nan),
            FEATURE_M2: np.full(width, np.nan),
        }
    rows = x.reshape(len(x), width)
    step = max(1, _FEATURE_BLOCK // max(1, width))
    for start in range(0, len(rows), step):
        block = rows[start : start + step]
        # Sums of values and of squares in float64 (a sixth of the time of deviations from the block's
        # mean): m2 = sum x^2 - n mean^2 keeps about 16 - 2 log10(|mean| / std) digits, which
        # advice in three digits has to spare unless a feature varies by less than a millionth of its mean.
        total = block.sum(axis=0, dtype=np.float64)
        squares = np.square(block, dtype=np.float64).sum(axis=0)  # exact squares of float32 values
        mean = total / len(block)
        part = {ROWS: len(block), NONFINITE: 0, FEATURE_MEAN: mean}
        moments = _merge_moments(moments, {**part, FEATURE_M2: np.maximum(squares - total * mean, 0.0)})
    return moments


def _merge_moments(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per-feature count, mean and sum of squared deviations of two sets of rows together."""
    n = a[ROWS] + b[ROWS]
    if not a[ROWS] or not b[ROWS]:
        return {**(b if not a[ROWS] else a), ROWS: n, NONFINITE: max(a[NONFINITE], b[NONFINITE])}
    delta = b[FEATURE_MEAN] - a[FEATURE_MEAN]
    return {
        ROWS: n,
        NONFINITE: max(a[NONFINITE], b[NONFINITE]),
        FEATURE_MEAN: a[FEATURE_MEAN] + delta * (b[ROWS] / n),
        FEATURE_M2: a[FEATURE_M2] + b[FEATURE_M2] + delta**2 * (a[ROWS] * b[ROWS] / n),
    }


def _feature_moments(m: dict[str, Any], samples: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each feature's mean and std, where there are features to compare and samples to compare them on."""
    if samples < UNIT_SAMPLES or m[NONFINITE] or m[FEATURE_MEAN].size < 2:
        return None
    return m[FEATURE_MEAN], np.sqrt(m[FEATURE_M2] / m[ROWS])


def _scales_differ(mean: np.ndarray, std: np.ndarray) -> bool:
    """Whether the features need a scale each: their spreads differ by FEATURE_SPREADS or more, or their
    means differ by far more than they vary (FEATURE_LEVELS)."""
    varying = std[std > 0]
    if varying.size < 2:
        return False
    typical_high = np.percentile(varying, 90, method="higher")
    typical_low = np.percentile(varying, 10, method="lower")
    if typical_high >= FEATURE_SPREADS * typical_low:
        return True
    return float(np.var(mean)) > FEATURE_LEVELS * float(np.mean(std**2))


def _standardise_hint(layer: Layer, mean: np.ndarray, std: np.ndarray) -> str:
    """Per-feature standardisation, with the figures of the features of the largest and the smallest spread."""
    varying = np.flatnonzero(std > 0)
    widest, narrowest = varying[np.argmax(std[varying])], varying[np.argmin(std[varying])]
    examples = "; ".join(
        f"feature {_feature_name(layer, i)}: (x - {format_number(mean[i])}) / {format_number(std[i])}"
        for i in (widest, narrowest)
    )
    return (
        f"its {mean.size} features lie on different scales (means "
        f"{format_number(mean.min())}..{format_number(mean.max())}, stds "
        f"{format_number(std.min())}..{format_number(std.max())}), so one common scaling would squeeze some of "
        "them flat: standardise "
        f"each feature, (x - mean) / std with that feature's mean and std over the training data ({examples})"
    )


def _feature_name(layer: Layer, index: int) -> str:
    if len(layer.shape) <= 1:
        return str(index)
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(index, layer.shape)) + "]"


def _declared_range(c: Context) -> str | None:
    declared, data = c.layer.props["range"], c.output
    if declared is None or not data.finite:
        return None
    if _as(declared[0], c.spec.dtype) <= data.min and data.max <= _as(declared[1], c.spec.dtype):
        return None
    return (
        f"the data for {c.layer.title} spans {_exact_span(data, c.spec.dtype)}, outside the range "
        f"{_range(declared)} the spec declares for it: the data or the declaration is wrong"
    )


def _measure_pinned(p: Probe) -> dict[str, Any]:
    """Outputs exactly at the output bounds, and per unit whether it ever was strictly inside."""
    low, high = p.layer.type.output_range
    if low < p.output_stats.min and p.output_stats.max < high:  # nothing at a bound
        return {PINNED: 0, UNITS_INSIDE: np.ones(_unit_count(p.output), dtype=bool)}
    pinned = (p.output == low) | (p.output == high)
    return {PINNED: int(np.count_nonzero(pinned)), UNITS_INSIDE: _per_unit(~pinned, np.any)}


def _hard_saturation(c: Context) -> str | None:
    out, m = c.output, c.measured
    if not out.count or m[PINNED] / out.count <= c.threshold or _inherits_nonfinite(c):
        return None
    layer_type = c.layer.type
    low, high = layer_type.output_range
    limits = pin_limits(layer_type.name, c.spec.dtype)
    pinned_where = " and ".join(
        f"exactly {format_number(bound)} for i {'<=' if limit < 0 else '>='} {_beyond(limit)}"
        for bound, limit in zip((low, high), limits)
        if limit is not None
    )
    where = (
        f"{c.spec.dtype} {layer_type.name.lower()} is {pinned_where}" if pinned_where else "its outputs round to them"
    )
    units = m[UNITS_INSIDE]
    always = int(np.count_nonzero(~units))
    unit_note = (
        f"; {always} of its {units.size} units {'is' if always == 1 else 'are'} pinned on every one of "
        f"{c.samples} samples"
        if always and units.size > 1 and c.samples >= UNIT_SAMPLES
        else ""
    )
    return (
        f"{c.layer.title}: {m[PINNED]} of {out.count} outputs ({format_share(m[PINNED], out.count)}) are exactly "
        f"{format_number(low)} or {format_number(high)} (saturated): its inputs span {_span(c.inputs[0])}, and "
        f"{where}, "
        f"so different inputs give the same output{unit_note}; "
        f"{_keep_within(layer_type)}"
    )


def _measure_outside(p: Probe) -> dict[str, Any]:
    low, high = p.layer.type.input_range
    x, seen = p.inputs[0], p.input_stats[0]
    if seen.finite == seen.count and low <= seen.min and seen.max <= high:
        return {OUTSIDE: 0}
    # a block at a time: the comparisons' temporaries stay small
    return {OUTSIDE: int(sum(np.count_nonzero((block < low) | (block > high)) for block in blocks(x)))}


def _saturation(c: Context) -> str | None:
    received, outside = c.inputs[0], c.measured[OUTSIDE]
    if _inherits_nonfinite(c):
        return None
    if received.count and outside / received.count > c.threshold:
        return (
            f"{c.layer.title}: {outside} of {received.count} inputs ({format_share(outside, received.count)}) lie "
            "outside "
            f"{_range(c.layer.type.input_range)}, where its output is within 1% of a bound and its gradient nearly "
            f"0; {_keep_within(c.layer.type)}"
        )
    low, high = c.layer.type.output_range
    out = c.output
    near = 0.05 * (high - low)  # outputs in 0..1 (probabilities) averaging this close to a bound barely vary
    if low == 0 and out.finite and not low + near <= out.mean <= high - near:
        return (
            f"{c.layer.title}: its outputs average {format_number(out.mean)}, within {format_number(near)} of a "
            "bound: the layer is "
            f"stuck near {format_number(low if out.mean < low + near else high)}; {_keep_within(c.layer.type)}"
        )
    return None


def _measure_exp(p: Probe) -> dict[str, Any]:
    limit = _exp_limit(p.output.dtype)
    if p.input_stats[0].max <= limit and not p.input_stats[0].posinf:
        return {OVERFLOWING: 0}
    return {OVERFLOWING: int(np.count_nonzero(p.inputs[0] > limit))}


def _exp_overflow(c: Context) -> str | None:
    n, received = c.measured[OVERFLOWING], c.inputs[0]
    if not received.count or n / received.count <= c.threshold:
        return None
    limit = _exp_limit(np.dtype(c.spec.dtype))
    return (
        f"{c.layer.title}: {n} of {received.count} inputs exceed {_beyond(limit)}, where {c.spec.dtype} exp "
        f"overflows to inf (its inputs reach {_exact(received.max, c.spec.dtype)}); scale the layer before it down"
    )


def _measure_positive(p: Probe) -> dict[str, Any]:
    x = p.inputs[0]
    head = _per_unit(x[:16] > 0, np.any)  # most units show a positive value within a few samples
    return {UNITS_POSITIVE: head if head.all() else _per_unit(x > 0, np.any)}


def _dead_units(c: Context) -> str | None:
    """Units never positive, stated as a fact from FIRM_UNIT_SAMPLES samples, as "possibly" (info) from
    UNIT_SAMPLES, and below that not judged, which the first per-unit layer says once for the run."""
    n = c.samples
    if n < UNIT_SAMPLES:
        return _too_few_for_units(c) if n > 1 else None  # one sample is one example, not a statistic
    positive = c.measured[UNITS_POSITIVE]
    dead = int(np.count_nonzero(~positive))
    if not dead or dead / positive.size < c.threshold:
        return None
    units = f"{dead} of its {positive.size} units ({format_share(dead, positive.size)}) gave 0 for all {n} samples"
    fix = "check the bias and the weight scale of the layer before it"
    if n >= FIRM_UNIT_SAMPLES:
        return (
            f"{c.layer.title}: {units} (no positive input on any), so they output 0 always and pass nothing on; {fix}"
        )
    return Tentative(
        f"{c.layer.title}: possibly dead units: {units}, but a live unit positive on 1 sample in 100 gives 0 on "
        f"all {n} with probability {format_share(0.99**n, 1)}, so {n} samples are too few to call them dead (from "
        f"{FIRM_UNIT_SAMPLES} samples this is a {all_checks()[c.check].severity}); if they are, {fix}"
    )


def _too_few_for_units(c: Context) -> str | None:
    """Once a run: at the first layer (in the spec) that a per-unit check judges, why none is judged."""
    per_unit = [check.id for check in all_checks().values() if check.judge is _dead_units]
    judged = (c.spec.layers[name] for name in c.stats)
    first = min(
        (layer for layer in judged if any(check.id in per_unit for check in checks_for(layer.type))),
        key=lambda layer: layer.index,
    )
    if first.name != c.layer.name:
        return None
    return Tentative(
        f"{c.layer.title}: per-unit checks ({', '.join(per_unit)}) need at least {UNIT_SAMPLES} samples to say "
        f"anything about one unit, and this run has {c.samples}: no unit of any layer is judged (give more "
        f"data, or --samples {FIRM_UNIT_SAMPLES} or more for findings stated as facts)"
    )


def _dead_layer(c: Context) -> str | None:
    received = c.inputs[0]
    if not received.finite or received.max > 0:
        return None
    return (
        f"{c.layer.title}: all {received.count} inputs are <= 0 (largest {format_number(received.max)}), so it "
        "outputs only "
        "zeros and passes nothing on; check the sign and scale of the layer before it"
    )


def _zero_limit(dtype: np.dtype) -> float:
    """How far below the largest a logit must be for its probability to round to exactly 0:
    exp(-gap) below half the smallest subnormal number (float32: 103.97; float64: 745.13)."""
    return log(2) - log(float(np.finfo(dtype).smallest_subnormal))


def _measure_certain(p: Probe) -> dict[str, Any]:
    axis = p.layer.props["axis"] + 1
    spread = np.ptp(p.inputs[0], axis=axis)
    inside = 0 < p.output_stats.min and p.output_stats.max < 1  # then no probability is exactly 0 or 1
    return {
        DISTRIBUTIONS: int(spread.size),
        CERTAIN: 0 if inside else int(np.count_nonzero(p.output.max(axis=axis) == 1)),
        WITH_ZEROS: 0 if inside else int(np.count_nonzero(p.output.min(axis=axis) == 0)),
        MAX_SPREAD: np.atleast_1d(spread.max()),
    }


def _overconfident(c: Context) -> str | None:
    m = c.measured
    n = m[DISTRIBUTIONS]
    if not n or max(m[CERTAIN], m[WITH_ZEROS]) / n <= c.threshold:
        return None
    dtype = c.spec.dtype
    return (
        f"{c.layer.title}: in {m[CERTAIN]} of {n} distributions ({format_share(m[CERTAIN], n)}) one class has "
        f"probability exactly 1, and {m[WITH_ZEROS]} ({format_share(m[WITH_ZEROS], n)}) hold a probability of "
        f"exactly 0, whose log is -inf: its logits spread up to {format_number(float(m[MAX_SPREAD][0]))} within one "
        f"distribution, and {dtype} rounds a probability to 0 once its logit is "
        f"{format_number(_zero_limit(np.dtype(dtype)), 4)} below the largest; "
        "scale the logits down"
    )


def _scale_drift(c: Context) -> str | None:
    """A weighted layer's output spread against its input's.

    After a bounded activation (Tanh, Sigmoid, Softmax) the input's spread is squeezed by
    design and the weights restore it, so such layers are not compared; saturation has
    checks of its own.
    """
    source = c.spec.layers[c.layer.inputs[0]]
    if None not in source.type.output_range:
        return None
    before, after = c.inputs[0], c.output
    if not (before.finite and after.finite) or before.std == 0:
        return None
    ratio = after.std / before.std
    low, high = 1 / c.threshold, c.threshold
    if low <= ratio <= high:
        return None
    return (
        f"{c.layer.title}: output std {format_number(after.std)} is {format_number(ratio, 3)}x its input's "
        f"({format_number(before.std)}); "
        f"a ratio outside {format_number(low)}..{format_number(high)} from layer to layer makes values explode or "
        "vanish with depth "
        f"(Glorot & Bengio, 2010): {_drift_advice([c.layer.name], c.trained)}"
    )


def _drift_advice(layers: list[str], trained: frozenset[str]) -> str:
    """What to look at for a scale that drifts: drawn weights have their initializer to blame;
    loaded (trained) ones learned their scale, so the data is the likelier culprit."""
    if all(name in trained for name in layers):
        return (
            "its weights were loaded (trained), so their scale was learned: check that the data is scaled as it "
            "was in training"
        )
    return "check the initializer's scale"


def overflow_range(dtype: str) -> float:
    """Where a grouped scale-drift becomes a warning: values whose square overflows the dtype
    (float32: 1.84e19; float64: 1.34e154), so a variance, a norm or a squared error of them is inf."""
    return float(np.sqrt(np.finfo(dtype).max))


def _scale_drift_run(
    spec: Spec, stats: Mapping[str, LayerStats], run: list[Finding], trained: frozenset[str]
) -> Finding:
    """One finding for layers along a path whose spread drifts the same way, each after the other:
    the growth per layer (geometric mean), where it starts and ends, placed at the first layer
    (where the fix starts: the later ones carry its scale on); a warning once the values reach
    overflow_range."""
    names = [f.layer for f in run]
    first, last = spec.layers[names[0]], spec.layers[names[-1]]
    before, after = stats[first.inputs[0]].output, stats[last.name].output
    per_layer = (after.std / before.std) ** (1 / len(run))
    limit = overflow_range(spec.dtype)
    reached = after.max_abs > limit
    severity = WARNING if reached and run[0].severity == INFO else run[0].severity
    message = (
        f"std {'grows' if per_layer > 1 else 'shrinks'} x{format_number(per_layer, 3)} per layer over the "
        f"{len(run)} layers "
        f"{', '.join(names)}: from {format_number(before.std)} into '{first.name}' to {format_number(after.std)} "
        f"out of '{last.name}', "
        f"values up to {format_number(after.max_abs, 3)}"
        + (f", past {format_number(limit, 3)}, where their squares overflow {spec.dtype}" if reached else "")
        + f"; values explode or vanish with depth (Glorot & Bengio, 2010): {_drift_advice(names, trained)}"
    )
    return Finding(run[0].check, severity, first.name, message)


def _measure_channels(p: Probe) -> dict[str, Any]:
    """Per channel (each index of the normalization's axes, laid out as its parameters are):
    the count, sum and sum of squares of its inputs in float64, added across batches."""
    if p.layer.props.get("batch_stat"):
        return {VALUES: 0, SUM_VALUES: np.zeros(1), SUM_SQUARES: np.zeros(1)}  # stored statistics unused
    x = p.inputs[0]
    kept = {axis + 1 for axis in p.layer.props["axes"]}
    over = tuple(axis for axis in range(x.ndim) if axis not in kept)
    w = x.astype(np.float64)
    return {
        VALUES: int(np.prod([x.shape[axis] for axis in over])),
        SUM_VALUES: w.sum(axis=over, keepdims=True),  # a prefix: per-channel arrays, not counts
        SUM_SQUARES: np.square(w).sum(axis=over, keepdims=True),
    }


def _stored_gain(c: Context) -> str | None:
    """A normalization's stored statistics against what each of its channels receives.

    With stored statistics the layer computes (i - mean) * gamma / sqrt(var + epsilon) + beta:
    a fixed gain per channel. Trained, mean and var are its input's, and the output's spread is
    about gamma's; NNC initialises var to 0, so an untrained layer multiplies by
    1/sqrt(epsilon) (100 for 1e-4). A large gain alone does not condemn a layer (a trained one
    whose channel receives tiny values needs one), so a channel is reported where both its gain
    and its inputs' root mean square distance from the stored mean, over the stored std
    sqrt(var + epsilon), are above the threshold: its outputs spread that many times wider than
    gamma.
    """
    props, m = c.layer.props, c.measured
    params = c.parameters.get(c.layer.name, {})
    if props.get("batch_stat") or not {"gamma", "var", "mean"} <= params.keys() or not m[VALUES]:
        return None
    if _inherits_nonfinite(c):
        return None
    gamma, var, mean = (np.asarray(params[name], np.float64) for name in ("gamma", "var", "mean"))
    with np.errstate(all="ignore"):
        stored_std = np.sqrt(var + props["epsilon"])
        gain = np.abs(gamma) / stored_std
        square_distance = (m[SUM_SQUARES] - 2 * mean * m[SUM_VALUES]) / m[VALUES] + mean**2
        widened = np.sqrt(np.maximum(square_distance, 0.0)) / stored_std
    amplifies = (gain > c.threshold) & (widened > c.threshold)
    if not np.any(amplifies) or not np.all(np.isfinite(gain)):
        return None  # var + epsilon <= 0 divides by zero: nan-inf reports what comes of it
    return (
        f"{_gain_clause(c.layer, float(np.max(gain)), var)}: its output std is {format_number(c.output.std, 3)} "
        "from its "
        f"input's {format_number(c.inputs[0].std, 3)}, where normalised values would spread like gamma (in "
        f"{int(np.count_nonzero(amplifies))} of {gain.size} channels the inputs lie over {format_number(c.threshold)} "
        f"stored stds from the stored mean, up to {format_number(float(np.max(widened)), 3)}); "
        f"{_gain_advice(c.layer.name in c.trained)}"
    )


def _gain_clause(layer: Layer, largest: float, var: np.ndarray) -> str:
    untrained = ", var 0 as NNC initialises it: untrained statistics" if not np.any(var) else ""
    return (
        f"{layer.title} multiplies its inputs by up to {format_number(largest, 3)} "
        f"(gamma / sqrt(var + epsilon){untrained})"
    )


def _gain_advice(trained: bool) -> str:
    if trained:
        return (
            "its statistics were loaded (trained), so it receives values unlike those it was trained on: check that "
            "the data is scaled as it was in training"
        )
    return "NNC's evaluation uses the stored mean and var: train the network, or load trained statistics (--params)"


def _predict_stored_gain(
    layer: Layer, parameters: Mapping[str, tuple[float, float]], x: Estimate, threshold: float
) -> str | None:
    """_stored_gain from the parameters' moments (their initializers' or files'), exact for
    NNC's constant initial values: the gain is gamma's root mean square over sqrt(mean var +
    epsilon), the input's spread the estimate's."""
    if layer.props.get("batch_stat") or not {"gamma", "var"} <= parameters.keys():
        return None
    (g_mean, g_var), (v_mean, v_var) = parameters["gamma"], parameters["var"]
    m_mean, m_var = parameters.get("mean", (0.0, 0.0))
    stored_std = sqrt(v_mean + layer.props["epsilon"]) if v_mean + layer.props["epsilon"] > 0 else 0.0
    if not stored_std:
        return None
    gain = sqrt(g_mean**2 + g_var) / stored_std
    distance = sqrt(x.std**2 + (x.mean - m_mean) ** 2 + m_var)  # of the inputs from the stored mean
    if not (gain > threshold and distance / stored_std > threshold):
        return None
    untrained = ", var 0 as NNC initialises it: untrained statistics" if v_mean == v_var == 0 else ""
    return (
        f"{layer.title} multiplies its inputs by about {format_number(gain, 3)} (gamma / sqrt(var + "
        f"epsilon){untrained}): "
        f"inputs of std {format_number(x.std, 3)} would leave it with std about {format_number(x.std * gain, 3)}; "
        f"{_gain_advice(all(source.file is not None for source in layer.parameters.values()))}"
    )


def _constant_output(c: Context) -> str | None:
    out = c.output
    if c.samples < 2 or not out.finite or out.varies:
        return None
    if not any(received.varies for received in c.inputs):
        return None  # it received the same values on every sample: the layer before it is the one to report
    return (
        f"{c.layer.title}: its output is the same for every one of {c.samples} samples (values {_span(out)}): "
        "it ignores its input; look for saturation or dead units before it"
    )


def _measure_probability_input(p: Probe) -> dict[str, Any]:
    x, target = p.inputs[0], p.inputs[-1]
    seen = p.input_stats[0]
    inside = seen.finite == seen.count and 0 <= seen.min and seen.max <= 1
    return {
        OUTSIDE: 0 if inside else int(np.count_nonzero(~((x >= 0) & (x <= 1)))),
        NOT_BINARY: int(np.count_nonzero((target != 0) & (target != 1))),
        VALUES: int(x.size),
    }


def _probability_input(c: Context) -> str | None:
    m = c.measured
    if not (m[OUTSIDE] or m[NOT_BINARY]):
        return None
    problems = []
    if m[OUTSIDE]:
        problems.append(
            f"{m[OUTSIDE]} of {m[VALUES]} inputs lie outside 0..1 (they span {_span(c.inputs[0])}): the input "
            "must be a probability, such as a Sigmoid's output"
        )
    if m[NOT_BINARY]:
        problems.append(f"{m[NOT_BINARY]} of {m[VALUES]} target values are neither 0 nor 1")
    return f"{c.layer.title}: " + "; ".join(problems) + " (NNC's rule for this layer)"


# --- predictions from estimates (static analysis, no data) ---------------------------------------

DEAD_SHARE = 1e-6  # a ReLU expected to see fewer positive inputs than this is predicted dead


def _expected_span(x: Estimate) -> str:
    if np.isfinite(x.low) and np.isfinite(x.high):
        return f"span {format_number(x.low)}..{format_number(x.high)}"
    return f"have mean {format_number(x.mean, 3)} and std {format_number(x.std, 3)}"


def _predict_input_range(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    low, high = (x.quantile(q / 100) for q in BULK)
    if -threshold <= low and high <= threshold:
        return None
    bounded = np.isfinite(x.low) and np.isfinite(x.high)
    return (
        f"the data for {layer.title} is expected to {_expected_span(x)}, its bulk (1st..99th percentile) "
        f"{format_number(low)}..{format_number(high)}, beyond "
        f"-{format_number(threshold)}..{format_number(threshold)}: outside NNC's rule that inputs "
        "lie in about -1..1"
        + (f"; {_rescale_hint(x.low, x.high, dtype, x.mean, x.std)}" if bounded else "; normalise it")
    )


def _predict_hard_saturation(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    low_limit, high_limit = pin_limits(layer.type.name, dtype)
    share = (x.share_below(low_limit) if low_limit is not None else 0.0) + (
        1.0 - x.share_below(high_limit) if high_limit is not None else 0.0
    )
    if share <= threshold:
        return None
    low, high = layer.type.output_range
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {format_share(share, 1)} of its "
        "outputs "
        f"would be exactly {format_number(low)} or {format_number(high)} in {dtype} (saturated); "
        f"{_keep_within(layer.type)}"
    )


def _predict_saturation(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    share = x.share_outside(*layer.type.input_range)
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {format_share(share, 1)} of "
        "them would "
        f"lie outside {_range(layer.type.input_range)}, where its gradient is nearly 0; {_keep_within(layer.type)}"
    )


def _predict_dead_layer(layer: Layer, x: Estimate, threshold: float | None, dtype: str) -> str | None:
    if 1.0 - x.share_below(np.finfo(dtype).tiny) >= DEAD_SHARE:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so it would hardly ever receive a positive "
        "value and would output only zeros; check the bias and the sign of the layer before it"
    )


def _predict_exp_overflow(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    limit = _exp_limit(np.dtype(dtype))
    share = 1.0 - x.share_below(limit)
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {format_share(share, 1)} of "
        "them would "
        f"exceed {format_number(limit)}, where {dtype} exp overflows to inf"
    )


def _predict_overconfident(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    """A fixed Monte Carlo sample of logits as estimated: how many distributions come out certain
    (of an axis over DRAWN_CLASSES long, the share among that many classes: more would be certain less often)."""
    logits = drawn_along_axis(x, 1000, layer.shape[layer.props["axis"]], dtype)
    top = layer.type.forward([logits], {"axis": 0}, {}).max(axis=1)
    share = float(np.mean(top == 1))
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its logits are expected to {_expected_span(x)}, so about {format_share(share, 1)} of its "
        "distributions would give one class probability exactly 1; scale the logits down"
    )


# --- domains: inputs where a layer's formula is undefined (log of <= 0, division by 0) ------------

_DOMAIN_WORDS = {POSITIVE: "<= 0", NONNEGATIVE: "< 0", NONZERO: "exactly 0"}


def _outside_domain(kind: str, x: np.ndarray) -> np.ndarray:
    """Finite values outside the domain: an inherited -inf is the nan-inf check's, reported where it was made."""
    if kind == POSITIVE:
        return (x <= 0) & (x > -np.inf)
    return (x < 0) & (x > -np.inf) if kind == NONNEGATIVE else x == 0


def _measure_domain(p: Probe) -> dict[str, Any]:
    domain = p.layer.type.domain
    kind = domain.kind(p.layer.props)
    x, seen = p.inputs[domain.index], p.input_stats[domain.index]
    inside = {POSITIVE: seen.min > 0, NONNEGATIVE: seen.min >= 0, NONZERO: seen.zeros == 0}
    if kind is None or seen.finite and inside[kind]:
        return {OUTSIDE: 0}
    return {OUTSIDE: int(sum(np.count_nonzero(_outside_domain(kind, block)) for block in blocks(x)))}


def _domain(c: Context) -> str | None:
    domain = c.layer.type.domain
    outside, received = c.measured[OUTSIDE], c.inputs[domain.index]
    if not outside:
        return None
    which = f"values of its input {c.layer.inputs[domain.index]}" if domain.index else "inputs"
    return (
        f"{c.layer.title}: {outside} of {received.count} {which} ({format_share(outside, received.count)}) are "
        f"{_DOMAIN_WORDS[domain.kind(c.layer.props)]} (they span {_span(received)}), where {domain.outside}; "
        f"{domain.fix}"
    )


def _predict_domain(layer: Layer, x: Estimate, threshold: float | None, dtype: str) -> str | None:
    """Judged on the values' practical reach (Estimate.practical_low: a ReLU's exact 0, exp's underflow,
    6 standard deviations of a normal fit), not on a share: one log(0) is already -inf."""
    domain = layer.type.domain
    kind = domain.kind(layer.props)
    low, high = x.practical_low, x.practical_high
    possible = {POSITIVE: low <= 0, NONNEGATIVE: low < 0, NONZERO: low <= 0 <= high}
    if kind is None or not possible[kind]:
        return None
    which = f"the values of its input {layer.inputs[domain.index]}" if domain.index else "its inputs"
    return (
        f"{layer.title}: {which} are expected to {_expected_span(x)} and reach "
        f"{format_number(low)}..{format_number(high)}, so some "
        f"can be {_DOMAIN_WORDS[kind]}, where {domain.outside}; {domain.fix}"
    )


# --- the table -------------------------------------------------------------------------------------


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
            f"{format_number(FEATURE_LEVELS**0.5, 2)}x their spread)",
            why="NNC's rule: data should be normalised to roughly -1..1; judged on the bulk, not the extremes, "
            "so that standardised data passes and raw 0..255 pixels do not",
            applies=lambda t: t.is_source,
            judge=_input_range,
            measure=_measure_features,
            merge=_merge_moments,
            predict=_predict_input_range,
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
        ),
        Check(
            id="scale-drift",
            severity=INFO,
            threshold=2.0,
            looks_at="layers with weights (normalizations aside), unless they follow a bounded activation: output "
            "std over input std outside 1/threshold..threshold",
            why="activations that grow or shrink layer after layer explode or vanish (Glorot & Bengio, 2010)",
            applies=lambda t: bool(t.parameters) and t.role is not Role.NORMALIZATION,  # those set the scale
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
            # a loss or an error count that is the same for every sample is a result, not a fault
            applies=lambda t: not t.is_source and not t.role.is_result,
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


# --- helpers -----------------------------------------------------------------------------


def _unit_count(values: np.ndarray) -> int:
    return values.shape[1] if values.ndim >= 2 else 1


def _per_unit(values: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """Reduce over every axis but the first after the batch axis: one value per unit (feature
    or channel). A layer whose samples are scalars has one unit."""
    if values.ndim < 2:
        return np.atleast_1d(reduce(values))
    axes = (0, *range(2, values.ndim))
    return reduce(values, axis=axes)


def _exp_limit(dtype: np.dtype) -> float:
    return float(np.log(np.finfo(dtype).max))


@cache
def pin_limits(type_name: str, dtype: str) -> tuple[float | None, float | None]:
    """Where a saturating layer's output becomes exactly its lower / upper bound in ``dtype``.

    Found by bisection on the layer's own forward function over the dtype's values
    themselves (positive floats sort as their bit patterns do), so the limit is exactly
    the one this dtype and this numpy have (float32 tanh: 10; float64: 18.99).
    """
    layer_type = layer_types()[type_name]
    as_bits = np.dtype(f"uint{np.dtype(dtype).itemsize * 8}")

    def value(bits: int) -> float:
        return float(np.array(bits, dtype=as_bits).view(dtype))

    def pinned(x: float, bound: float) -> bool:
        with np.errstate(all="ignore"):
            return bool(layer_type.forward([np.array([x], dtype=dtype)], {}, {})[0] == bound)

    limits = []
    for side, bound in zip((-1.0, 1.0), layer_type.output_range):
        near, far = 0, int(np.array(np.finfo(dtype).max, dtype=dtype).view(as_bits))
        if bound is None or not pinned(side * value(far), bound):
            limits.append(None)
            continue
        while far - near > 1:  # pinned at far, not at near
            mid = (near + far) // 2
            near, far = (near, mid) if pinned(side * value(mid), bound) else (mid, far)
        limits.append(side * value(far))
    return limits[0], limits[1]


def _rescale_hint(
    low: float, high: float, dtype: str = "float64", mean: float | None = None, std: float | None = None
) -> str:
    """One scaling for all of the data: image-style for data from about 0 (pixels), standardisation for
    data far from 0 for its spread (a scaling by its largest value would leave it a sliver near 1)."""
    if mean is not None and std is not None and std > 0 and abs(mean) > 3 * std and low > 0.1 * high:
        return f"(x - {format_number(mean)}) / {format_number(std)} standardises it (mean 0, std 1)"
    if low >= 0:
        return (
            f"x / {_exact(high / 2, dtype)} - 1 maps 0..{_exact(high, dtype)} onto -1..1 "
            f"(x / {_exact(high, dtype)} onto 0..1, as nnabla's image loader does)"
        )
    return f"x / {_exact(max(abs(low), abs(high)), dtype)} brings it into -1..1"


def _keep_within(layer_type: LayerType) -> str:
    return (
        f"keep its inputs within about {_range(layer_type.input_range)} "
        "(normalise the data or scale the layer before it)"
    )


def _count_nonfinite(s: TensorStats) -> str:
    parts = [f"{n} {label}" for n, label in ((s.nan, "NaN"), (s.posinf, "+Inf"), (s.neginf, "-Inf")) if n]
    return ", ".join(parts) + " value" + ("s" if s.count - s.finite > 1 else "")


def _span(s: TensorStats) -> str:
    return f"{format_number(s.min)}..{format_number(s.max)}" if s.finite else "no finite values"


def _range(r: tuple[float, float]) -> str:
    return f"{format_number(r[0])}..{format_number(r[1])}"


def _inherits_nonfinite(c: Context) -> bool:
    """NaN or Inf came in: nan-inf reports where they were made, and other judgements mean little."""
    return any(s.finite < s.count for s in c.inputs)


def _as(value: float, dtype: str) -> float:
    """A setting as the dtype holds it, so that data equal to 0.3 in float32 compares equal to 0.3."""
    with np.errstate(over="ignore"):  # a setting beyond the dtype's range is inf there
        return float(np.asarray(value, dtype=dtype))


def _exact(x: float, dtype: str) -> str:
    """The fewest digits that still name this value of the dtype (-1.0001, not -1)."""
    value = np.dtype(dtype).type(x)
    if value != 0 and np.isfinite(value) and not 1e-4 <= abs(value) < 1e7:
        return np.format_float_scientific(value, unique=True, trim="-")
    return np.format_float_positional(value, unique=True, trim="-")


def _exact_span(s: TensorStats, dtype: str) -> str:
    return f"{_exact(s.min, dtype)}..{_exact(s.max, dtype)}"


def _beyond(limit: float) -> str:
    """A limit rounded away from zero to 6 digits, so that 'i >= 16.6356' holds at the printed value."""
    magnitude = abs(limit)
    scale = 10 ** (floor(log10(magnitude)) - 5) if magnitude else 1
    return format_number(copysign(ceil(magnitude / scale) * scale, limit), 6)
