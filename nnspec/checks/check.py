"""What a range check is: the Check row, what its measure sees (Probe) and its judge reads (Context),
the Finding it gives, and the wording helpers the families share.

Names with an underscore are the checks package's own: the family modules share them, nothing outside does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from math import ceil, copysign, floor, log10, prod
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..core.diagnostics import ERROR, INFO, WARNING, Diagnostic
from ..core.estimate import Estimate
from ..core.numbers import format_number
from ..layers.catalog import LayerType, layer_types
from .stats import TensorStats

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it), and the table
    # (LayerStats) above the families it assembles
    from ..spec.model import Layer, Spec
    from .table import LayerStats


SEVERITIES = (INFO, WARNING, ERROR)
UNIT_SAMPLES = 10  # a claim that a unit is never positive, or always pinned, needs at least this many samples
# A unit positive on 1 sample in 100 (alive, and learning) gives 0 on all of n samples with probability
# 0.99^n, under 1% from 459 samples: from there "never positive" is stated as a fact, below it as "possibly".
FIRM_UNIT_SAMPLES = 459


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
    # Where the layer is written in the spec: filled in by the run (Runner.run), which knows the spec;
    # not compared, so a finding equals the same finding unlocated.
    file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)
    column: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "layer": self.layer, "message": self.message}

    def located(self, spec: Spec) -> Finding:
        """The same finding with the file, line and column where its layer is written in ``spec``."""
        line, column = spec.locate(self.layer)
        return replace(self, file=spec.file, line=line, column=column)

    def __repr__(self) -> str:
        # One line a finding: a list of them reads as a list of messages, not of field dumps.
        where = f" ({self.file}:{self.line}:{self.column})" if self.line is not None else ""
        return f"<Finding {self.severity} [{self.check}] {self.layer}{where}: {_shortened(self.message, 160)}>"

    def diagnostic(self, spec: Spec) -> Diagnostic:
        """The finding located where its layer is written in the spec: the one conversion every
        report of findings goes through (text, JSON, HTML, GitHub, SARIF, Python's warnings),
        the check's id as the diagnostic's code."""
        line, column = spec.locate(self.layer)
        path = ("layers", spec.layers[self.layer].index)
        return Diagnostic(self.message, spec.file, line, column, self.severity, self.check, path, self.layer)


def _shortened(text: str, most: int) -> str:
    """``text`` on one line, cut to at most ``most`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= most else line[: most - 3] + "..."


class Probe(NamedTuple):
    """One batch through one layer, as a check's ``measure`` sees it: the arrays, and the
    statistics already taken of them, which often spare a measure its pass over the data.
    (A named tuple: one is made for every layer of every batch, and tuples are made fastest.)"""

    layer: Layer
    inputs: list[np.ndarray]
    output: np.ndarray
    input_stats: list[TensorStats]
    output_stats: TensorStats
    parameters: Mapping[str, np.ndarray] = MappingProxyType({})  # the layer's, by name (W, b, r, ...)


class Context(NamedTuple):
    """What a check's judge reads: the layer, every layer's merged statistics, its settings,
    every layer's parameter arrays, which layers' parameters were loaded (trained) rather
    than drawn from their initializers, and the table of checks."""

    spec: Spec
    layer: Layer
    stats: Mapping[str, LayerStats]
    threshold: float | None
    check: str
    parameters: Mapping[str, Mapping[str, np.ndarray]] = MappingProxyType({})
    trained: frozenset[str] = frozenset()
    # The table of checks by id (all_checks()): handed in, since the table is assembled above the families
    checks: Mapping[str, Check] = MappingProxyType({})
    # The data variables the run read from a dataset that feeds its images as they are (NNC's
    # ImageNormalization=0): the network is to scale them itself (see nnspec.checks.data)
    unnormalised: frozenset[str] = frozenset()

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
    # Static analysis of a side input another layer feeds (T: {input: layer}): (layer, pin, that layer's
    # name, the estimate of its output).
    predict_side: Callable[[Layer, str, str, Estimate], str | None] | None = None
    # Static analysis of a source fed unnormalised images: (spec, the source layer, every layer's estimate,
    # threshold), judging where the network takes the values rather than the source itself.
    predict_unnormalised: Callable[[Spec, Layer, Mapping[str, Estimate | None], float | None], str | None] | None = None
    threshold_range: tuple[float, float] = (0.0, 1.0)  # thresholds are shares unless said otherwise
    names_cause: bool = False  # its advice names the layer where the scale went wrong (see scale_origin)
    # Merges a run of its findings along a path into one (see nnspec.checks.table._group_runs).
    group: Callable[[Spec, Mapping[str, LayerStats], list[Finding], frozenset[str]], Finding] | None = None


def _expected_span(x: Estimate) -> str:
    if np.isfinite(x.low) and np.isfinite(x.high):
        return f"span {format_number(x.low)}..{format_number(x.high)}"
    return f"have mean {format_number(x.mean, 3)} and std {format_number(x.std, 3)}"


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
