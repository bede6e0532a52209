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
from math import ceil, copysign, floor, inf, log, log10, prod
from typing import Any, NamedTuple

import numpy as np

from .catalog import LayerType, layer_types
from .diagnostics import ERROR, INFO, WARNING
from .estimate import Estimate, drawn_along_axis
from .spec import Layer, Spec
from .stats import TensorStats, blocks

SEVERITIES = (INFO, WARNING, ERROR)
UNIT_SAMPLES = 10  # a claim that a unit is never positive, or always pinned, needs at least this many samples


@dataclass(frozen=True)
class Finding:
    """What a check found at one layer."""

    check: str
    severity: str
    layer: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "layer": self.layer, "message": self.message}


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

    A measure maps names to counts (added across batches) or to per-unit arrays, merged
    by the name's prefix: ``any:`` logical or, ``min:`` minimum, ``max:`` maximum.
    """

    output: TensorStats
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def merge(self, other: LayerStats) -> LayerStats:
        checks = all_checks()
        return LayerStats(
            self.output.merge(other.output),
            {
                check: (checks[check].merge or _merge_measure)(self.measures[check], other.measures[check])
                for check in self.measures
            },
        )


_MERGES: dict[str, Callable[[Any, Any], Any]] = {"any": np.logical_or, "min": np.minimum, "max": np.maximum}


def _merge_measure(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {key: _MERGES.get(key.split(":")[0], lambda x, y: x + y)(a[key], b[key]) for key in a}


class Context(NamedTuple):
    """What a check's judge reads: the layer, every layer's merged statistics, its settings."""

    spec: Spec
    layer: Layer
    stats: Mapping[str, LayerStats]
    threshold: float | None
    check: str

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
    threshold_range: tuple[float, float] = (0.0, 1.0)  # thresholds are shares unless said otherwise


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
    spec: Spec, stats: Mapping[str, LayerStats], settings: Mapping[str, dict[str, tuple[str, float | None]]]
) -> list[Finding]:
    """Every finding, in the order of the layers in the spec. ``settings`` maps a layer to
    its checks' (severity, threshold), as nnspec.settings.resolve gives them; "off" checks are absent."""
    findings: list[Finding] = []
    for name in sorted(stats, key=lambda n: spec.layers[n].index):
        layer = spec.layers[name]
        fired: dict[str, Finding] = {}
        for check in checks_for(layer.type):
            if check.id not in settings[name]:
                continue
            severity, threshold = settings[name][check.id]
            message = check.judge(Context(spec, layer, stats, threshold, check.id))
            if message is not None:
                fired[check.id] = Finding(check.id, severity, name, message)
        for check_id, finding in fired.items():
            if not any(other in fired for other in all_checks()[check_id].superseded_by):
                findings.append(finding)
    return findings


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
            f"(whose largest value is {np.finfo(c.spec.dtype).max:.3g})"
        )
    if any(s.finite < s.count for s in c.inputs):
        return None  # inherited: the layer that produced them is reported
    received = "; ".join(f"{source}: {_span(s)}" for source, s in zip(c.layer.inputs, c.inputs))
    return f"{c.layer.title} produced {bad} from finite inputs ({received}); every layer after it inherits them"


def _input_range(c: Context) -> str | None:
    data = c.output
    if not data.finite or data.max_abs <= _as(c.threshold, c.spec.dtype):
        return None
    return (
        f"the data for {c.layer.title} spans {_exact_span(data, c.spec.dtype)}, outside NNC's rule that inputs lie "
        f"in about -{_num(c.threshold)}..{_num(c.threshold)}; {_rescale_hint(data.min, data.max, c.spec.dtype)}"
    )


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
        return {"pinned": 0, "any:inside": np.ones(_unit_count(p.output), dtype=bool)}
    pinned = (p.output == low) | (p.output == high)
    return {"pinned": int(np.count_nonzero(pinned)), "any:inside": _per_unit(~pinned, np.any)}


def _hard_saturation(c: Context) -> str | None:
    out, m = c.output, c.measured
    if not out.count or m["pinned"] / out.count <= c.threshold or _inherits_nonfinite(c):
        return None
    layer_type = c.layer.type
    low, high = layer_type.output_range
    limits = pin_limits(layer_type.name, c.spec.dtype)
    pinned_where = " and ".join(
        f"exactly {_num(bound)} for i {'<=' if limit < 0 else '>='} {_beyond(limit)}"
        for bound, limit in zip((low, high), limits)
        if limit is not None
    )
    where = (
        f"{c.spec.dtype} {layer_type.name.lower()} is {pinned_where}" if pinned_where else "its outputs round to them"
    )
    units = m["any:inside"]
    always = int(np.count_nonzero(~units))
    unit_note = (
        f"; {always} of its {units.size} units {'is' if always == 1 else 'are'} pinned on every one of "
        f"{c.samples} samples"
        if always and units.size > 1 and c.samples >= UNIT_SAMPLES
        else ""
    )
    return (
        f"{c.layer.title}: {m['pinned']} of {out.count} outputs ({_pct(m['pinned'], out.count)}) are exactly "
        f"{_num(low)} or {_num(high)} (saturated): its inputs span {_span(c.inputs[0])}, and {where}, "
        f"so different inputs give the same output{unit_note}; "
        f"{_keep_within(layer_type)}"
    )


def _measure_outside(p: Probe) -> dict[str, Any]:
    low, high = p.layer.type.input_range
    x, seen = p.inputs[0], p.input_stats[0]
    if seen.finite == seen.count and low <= seen.min and seen.max <= high:
        return {"outside": 0}
    # a block at a time: the comparisons' temporaries stay small
    return {"outside": int(sum(np.count_nonzero((block < low) | (block > high)) for block in blocks(x)))}


def _saturation(c: Context) -> str | None:
    received, outside = c.inputs[0], c.measured["outside"]
    if _inherits_nonfinite(c):
        return None
    if received.count and outside / received.count > c.threshold:
        return (
            f"{c.layer.title}: {outside} of {received.count} inputs ({_pct(outside, received.count)}) lie outside "
            f"{_range(c.layer.type.input_range)}, where its output is within 1% of a bound and its gradient nearly "
            f"0; {_keep_within(c.layer.type)}"
        )
    low, high = c.layer.type.output_range
    out = c.output
    near = 0.05 * (high - low)  # outputs in 0..1 (probabilities) averaging this close to a bound barely vary
    if low == 0 and out.finite and not low + near <= out.mean <= high - near:
        return (
            f"{c.layer.title}: its outputs average {_num(out.mean)}, within {_num(near)} of a bound: the layer is "
            f"stuck near {_num(low if out.mean < low + near else high)}; {_keep_within(c.layer.type)}"
        )
    return None


def _measure_exp(p: Probe) -> dict[str, Any]:
    limit = _exp_limit(p.output.dtype)
    if p.input_stats[0].max <= limit and not p.input_stats[0].posinf:
        return {"overflowing": 0}
    return {"overflowing": int(np.count_nonzero(p.inputs[0] > limit))}


def _exp_overflow(c: Context) -> str | None:
    n, received = c.measured["overflowing"], c.inputs[0]
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
    return {"any:positive": head if head.all() else _per_unit(x > 0, np.any)}


def _dead_units(c: Context) -> str | None:
    positive = c.measured["any:positive"]
    dead = int(np.count_nonzero(~positive))
    if c.samples < UNIT_SAMPLES or not dead or dead / positive.size < c.threshold:
        return None
    return (
        f"{c.layer.title}: {dead} of its {positive.size} units ({_pct(dead, positive.size)}) received no positive "
        f"input on any of {c.samples} samples, so they output 0 always and pass nothing on; check the bias "
        "and the weight scale of the layer before it"
    )


def _dead_layer(c: Context) -> str | None:
    received = c.inputs[0]
    if not received.finite or received.max > 0:
        return None
    return (
        f"{c.layer.title}: all {received.count} inputs are <= 0 (largest {_num(received.max)}), so it outputs only "
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
        "distributions": int(spread.size),
        "certain": 0 if inside else int(np.count_nonzero(p.output.max(axis=axis) == 1)),
        "with_zeros": 0 if inside else int(np.count_nonzero(p.output.min(axis=axis) == 0)),
        "max:spread": np.atleast_1d(spread.max()),
    }


def _overconfident(c: Context) -> str | None:
    m = c.measured
    n = m["distributions"]
    if not n or max(m["certain"], m["with_zeros"]) / n <= c.threshold:
        return None
    dtype = c.spec.dtype
    return (
        f"{c.layer.title}: in {m['certain']} of {n} distributions ({_pct(m['certain'], n)}) one class has probability "
        f"exactly 1, and {m['with_zeros']} ({_pct(m['with_zeros'], n)}) hold a probability of exactly 0, whose log is "
        f"-inf: its logits spread up to {_num(float(m['max:spread'][0]))} within one distribution, and {dtype} "
        f"rounds a probability to 0 once its logit is {_num(_zero_limit(np.dtype(dtype)), 4)} below the largest; "
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
        f"{c.layer.title}: output std {_num(after.std)} is {_num(ratio, 3)}x its input's ({_num(before.std)}); "
        f"a ratio outside {_num(low)}..{_num(high)} from layer to layer makes values explode or vanish with depth "
        "(Glorot & Bengio, 2010): check the initializer's scale"
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
        "outside": 0 if inside else int(np.count_nonzero(~((x >= 0) & (x <= 1)))),
        "not_binary": int(np.count_nonzero((target != 0) & (target != 1))),
        "values": int(x.size),
    }


def _probability_input(c: Context) -> str | None:
    m = c.measured
    if not (m["outside"] or m["not_binary"]):
        return None
    problems = []
    if m["outside"]:
        problems.append(
            f"{m['outside']} of {m['values']} inputs lie outside 0..1 (they span {_span(c.inputs[0])}): the input "
            "must be a probability, such as a Sigmoid's output"
        )
    if m["not_binary"]:
        problems.append(f"{m['not_binary']} of {m['values']} target values are neither 0 nor 1")
    return f"{c.layer.title}: " + "; ".join(problems) + " (NNC's rule for this layer)"


# --- predictions from estimates (static analysis, no data) ---------------------------------------

DEAD_SHARE = 1e-6  # a ReLU expected to see fewer positive inputs than this is predicted dead


def _expected_span(x: Estimate) -> str:
    if np.isfinite(x.low) and np.isfinite(x.high):
        return f"span {_num(x.low)}..{_num(x.high)}"
    return f"have mean {_num(x.mean, 3)} and std {_num(x.std, 3)}"


def _predict_input_range(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    bounded = np.isfinite(x.low) and np.isfinite(x.high)
    reach = max(abs(x.low), abs(x.high)) if bounded else abs(x.mean) + 3 * x.std
    if reach <= threshold:
        return None
    return (
        f"the data for {layer.title} is expected to {_expected_span(x)}, beyond NNC's rule that inputs lie in "
        f"about -{_num(threshold)}..{_num(threshold)}"
        + (f"; {_rescale_hint(x.low, x.high)}" if bounded else "; normalise it")
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
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {_pct(share, 1)} of its outputs "
        f"would be exactly {_num(low)} or {_num(high)} in {dtype} (saturated); {_keep_within(layer.type)}"
    )


def _predict_saturation(layer: Layer, x: Estimate, threshold: float, dtype: str) -> str | None:
    share = x.share_outside(*layer.type.input_range)
    if share <= threshold:
        return None
    return (
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {_pct(share, 1)} of them would "
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
        f"{layer.title}: its inputs are expected to {_expected_span(x)}, so about {_pct(share, 1)} of them would "
        f"exceed {_num(limit)}, where {dtype} exp overflows to inf"
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
        f"{layer.title}: its logits are expected to {_expected_span(x)}, so about {_pct(share, 1)} of its "
        "distributions would give one class probability exactly 1; scale the logits down"
    )


# --- the table -------------------------------------------------------------------------------------


def _table() -> list[Check]:
    types = layer_types().values()
    checks = [
        Check(
            id="nan-inf",
            severity=ERROR,
            threshold=None,
            looks_at="every layer's output",
            why="NaN and Inf spread to every later layer; the first layer that produces them is where to look",
            applies=lambda t: True,
            judge=_nan_inf,
        ),
        Check(
            id="input-range",
            severity=WARNING,
            threshold=1.0,
            looks_at="data entering an Input layer: largest magnitude above the threshold",
            why="NNC's rule: data should be normalised to roughly -1..1",
            applies=lambda t: t.is_source,
            judge=_input_range,
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
                looks_at=f"{t.name} units that receive no positive input on any sample (of at least {UNIT_SAMPLES}): "
                "share at or above the threshold",
                why="a dead unit outputs 0 always and learns nothing (its gradient is 0)",
                applies=lambda u, n=t.name: u.name == n,
                judge=_dead_units,
                measure=_measure_positive,
                superseded_by=(f"{name}-dead-layer",),
            ),
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
            applies=lambda t: bool(t.parameters) and t.category != "Normalization",  # those set the scale
            judge=_scale_drift,
            threshold_range=(1.0, inf),
        ),
        Check(
            id="constant-output",
            severity=WARNING,
            threshold=None,
            looks_at="every layer: each output unit the same on every sample",
            why="a layer whose output does not depend on its input passes nothing on",
            # a loss or an error count that is the same for every sample is a result, not a fault
            applies=lambda t: not t.is_source and t.category not in ("Loss", "Validation"),
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


def _rescale_hint(low: float, high: float, dtype: str = "float64") -> str:
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
    return f"{_num(s.min)}..{_num(s.max)}" if s.finite else "no finite values"


def _range(r: tuple[float, float]) -> str:
    return f"{_num(r[0])}..{_num(r[1])}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%"


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
    return _num(copysign(ceil(magnitude / scale) * scale, limit), 6)


def _num(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"
