"""Checks of scale: activations that grow or shrink layer after layer, and normalizations whose stored
statistics multiply their inputs."""

from __future__ import annotations

from collections.abc import Mapping
from math import sqrt
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.diagnostics import INFO, WARNING
from ..core.estimate import Estimate
from ..core.numbers import format_number
from ..core.printable import quoted_name
from .check import Context, Finding, Probe, _inherits_nonfinite
from .measures import SUM_SQUARES, SUM_VALUES, VALUES

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it), and the table
    # (LayerStats) above the families it assembles
    from ..spec.model import Layer, Spec
    from .table import LayerStats


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
        f"{', '.join(names)}: from {format_number(before.std)} into {quoted_name(first.name)} to "
        f"{format_number(after.std)} "
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
