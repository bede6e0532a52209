"""Range checks: rules over per-layer statistics that find values a layer destroys.

Each check has a stable id, a severity and a message that says what happened in
numbers and what to do about it. The checks read the catalog (a layer's
well-behaved input range, its output bounds, whether it saturates or zeroes
negatives), never a layer's name. The thresholds are those of
shared reference range-checks.md; see docs/checks.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .catalog import LayerType, layer_types
from .diagnostics import ERROR, WARNING
from .spec import Layer, Spec
from .stats import TensorStats

HARD_SATURATION_SHARE = 0.01  # outputs exactly at a bound, above this share: warn
SATURATION_SHARE = 0.5  # inputs outside the well-behaved range, above this share: warn


@dataclass(frozen=True)
class Finding:
    """What a check found at one layer."""

    check: str
    severity: str
    layer: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "layer": self.layer, "message": self.message}


@dataclass
class LayerStats:
    """Statistics of one layer's output and of each of its inputs, merged over every batch."""

    output: TensorStats
    inputs: list[TensorStats]

    def merge(self, other: LayerStats) -> LayerStats:
        return LayerStats(self.output.merge(other.output), [a.merge(b) for a, b in zip(self.inputs, other.inputs)])


def observe(layer_type: LayerType, inputs: list[np.ndarray], output: np.ndarray) -> LayerStats:
    """The statistics the checks need from one batch through one layer."""
    return LayerStats(
        output=TensorStats.of(output, bounds=layer_type.output_range if layer_type.saturates else None),
        inputs=[TensorStats.of(x, outside=layer_type.input_range) for x in inputs],
    )


def run_checks(spec: Spec, stats: Mapping[str, LayerStats]) -> list[Finding]:
    """Every finding, in the order of the layers in the spec."""
    findings: list[Finding] = []
    for name in sorted(stats, key=lambda n: spec.layers[n].index):
        layer = spec.layers[name]
        for check in CHECKS:
            findings.extend(check(spec, layer, stats))
    return findings


# --- the checks ------------------------------------------------------------------------


def nan_inf(spec: Spec, layer: Layer, stats: Mapping[str, LayerStats]) -> Iterator[Finding]:
    """nan-inf: the first layer whose output holds NaN or Inf although its inputs do not."""
    out = stats[layer.name].output
    if out.finite == out.count:
        return
    bad = _count_nonfinite(out)
    if layer.type.is_source:
        yield Finding(
            "nan-inf",
            ERROR,
            layer.name,
            f"the data for {layer.title} holds {bad} as {spec.dtype} (whose largest "
            f"value is {np.finfo(spec.dtype).max:.3g})",
        )
        return
    inputs = stats[layer.name].inputs
    if all(s.finite == s.count for s in inputs):
        received = "; ".join(f"{source}: {_span(s)}" for source, s in zip(layer.inputs, inputs))
        yield Finding(
            "nan-inf",
            ERROR,
            layer.name,
            f"{layer.title} produced {bad} from finite inputs ({received}); every layer after it inherits them",
        )


def input_range(spec: Spec, layer: Layer, stats: Mapping[str, LayerStats]) -> Iterator[Finding]:
    """input-range: data entering an Input layer beyond NNC's -1..1 rule."""
    if not layer.type.is_source:
        return
    data = stats[layer.name].inputs[0]
    low, high = layer.type.input_range
    if not data.finite or (data.min >= low and data.max <= high):
        return
    yield Finding(
        "input-range",
        WARNING,
        layer.name,
        f"the data for {layer.title} spans {_num(data.min)}..{_num(data.max)}, outside NNC's rule that inputs "
        f"lie in about {_num(low)}..{_num(high)}; {_rescale_hint(data.min, data.max)}",
    )


def declared_range(spec: Spec, layer: Layer, stats: Mapping[str, LayerStats]) -> Iterator[Finding]:
    """declared-range: data outside the range its Input layer declares (``range: [low, high]``)."""
    declared = layer.props.get("range") if layer.type.is_source else None
    data = stats[layer.name].inputs[0] if declared else None
    if data is None or not data.finite or (declared[0] <= data.min and data.max <= declared[1]):
        return
    yield Finding(
        "declared-range",
        WARNING,
        layer.name,
        f"the data for {layer.title} spans {_span(data)}, outside the range {_range(declared)} the spec declares "
        "for it: the data or the declaration is wrong",
    )


def hard_saturation(spec: Spec, layer: Layer, stats: Mapping[str, LayerStats]) -> Iterator[Finding]:
    """{type}-hard-saturation: outputs exactly at the bounds, where inputs can no longer be told apart."""
    if not layer.type.saturates:
        return
    out = stats[layer.name].output
    if not out.count or out.at_bounds / out.count <= HARD_SATURATION_SHARE:
        return
    low, high = layer.type.output_range
    received = stats[layer.name].inputs[0]
    limits = pin_limits(layer.type.name, spec.dtype)
    pinned = " and ".join(
        f"exactly {_num(bound)} for i {'<=' if limit < 0 else '>='} {_num(limit, 3)}"
        for bound, limit in zip((low, high), limits)
        if limit is not None
    )
    yield Finding(
        f"{layer.type.name.lower()}-hard-saturation",
        WARNING,
        layer.name,
        f"{layer.title}: {out.at_bounds} of {out.count} outputs ({_pct(out.at_bounds, out.count)}) are exactly "
        f"{_num(low)} or {_num(high)} (saturated): its inputs span {_span(received)}, and {spec.dtype} "
        f"{layer.type.name.lower()} is {pinned}, so different inputs give the same output; "
        f"{_keep_within(layer.type)}",
    )


def saturation(spec: Spec, layer: Layer, stats: Mapping[str, LayerStats]) -> Iterator[Finding]:
    """{type}-saturation: most inputs beyond the well-behaved range (said once: hard saturation includes it)."""
    if not layer.type.saturates or any(True for _ in hard_saturation(spec, layer, stats)):
        return
    received = stats[layer.name].inputs[0]
    if not received.count or received.outside / received.count <= SATURATION_SHARE:
        return
    yield Finding(
        f"{layer.type.name.lower()}-saturation",
        WARNING,
        layer.name,
        f"{layer.title}: {received.outside} of {received.count} inputs ({_pct(received.outside, received.count)}) "
        f"lie outside {_range(layer.type.input_range)}, where its output is within 1% of a bound and its gradient "
        f"nearly 0; {_keep_within(layer.type)}",
    )


def dead_layer(spec: Spec, layer: Layer, stats: Mapping[str, LayerStats]) -> Iterator[Finding]:
    """relu-dead-layer: every input <= 0, so a ReLU outputs nothing but zeros."""
    if not layer.type.zero_for_negative:
        return
    received = stats[layer.name].inputs[0]
    if received.finite and received.max <= 0:
        yield Finding(
            f"{layer.type.name.lower()}-dead-layer",
            ERROR,
            layer.name,
            f"{layer.title}: all {received.count} inputs are <= 0 (largest {_num(received.max)}), so it outputs only "
            "zeros and passes nothing on; check the sign and scale of the layer before it",
        )


CHECKS: tuple[Callable[[Spec, Layer, Mapping[str, LayerStats]], Iterator[Finding]], ...] = (
    nan_inf,
    input_range,
    declared_range,
    hard_saturation,
    saturation,
    dead_layer,
)


# --- helpers -----------------------------------------------------------------------------


@cache
def pin_limits(type_name: str, dtype: str) -> tuple[float | None, float | None]:
    """Where a saturating layer's output becomes exactly its lower / upper bound in ``dtype``.

    Found by bisection on the layer's own forward function, so the limit is the one
    this dtype and this numpy really have (float32 tanh: 10; float64: 19.0).
    """
    layer_type = layer_types()[type_name]

    def pinned(x: float, bound: float) -> bool:
        return bool(layer_type.forward([np.array([x], dtype=dtype)], {}, {})[0] == bound)

    limits = []
    for side, bound in zip((-1.0, 1.0), layer_type.output_range):
        near, far = 0.0, 1e6
        if bound is None or not pinned(side * far, bound):
            limits.append(None)
            continue
        for _ in range(100):
            mid = (near + far) / 2
            near, far = (near, mid) if pinned(side * mid, bound) else (mid, far)
        limits.append(side * far)
    return limits[0], limits[1]


def _rescale_hint(low: float, high: float) -> str:
    if low >= 0:
        return (
            f"x / {_num(high / 2)} - 1 maps 0..{_num(high)} onto -1..1 "
            f"(x / {_num(high)} onto 0..1, as nnabla's image loader does)"
        )
    bound = max(abs(low), abs(high))
    return f"x / {_num(bound)} brings it into -1..1"


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


def _num(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"
