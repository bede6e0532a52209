"""Static analysis: range findings predicted from the spec alone, before any data exists.

Each Input's values are estimated from its ``data:``, its declared ``range``, its
generator, or NNC's rule that data lies in -1..1 (0..255 for an image-shaped Input, (1 or 3, H, W),
of a dataset that feeds its images as they are: see unnormalised_sources); the estimates pass through the
graph (nnspec.core.estimate: mean and spread, with hard bounds where they are tight,
and parameters' moments from their initializers or files), and the range checks
that can be judged from a distribution are judged on them. ``nnspec validate``
reports the predictions as warnings, so CI catches "this network feeds raw 0..255
pixels into Tanh" at review time.

The prediction is of what ``nnspec run`` computes, in the same view (nnspec.spec.views): the
validation view by default, each layer's properties as nnspec.spec.semantics gives them
(BatchNormalization with its stored statistics); the runtime view, without the loss and validation
layers; or the training view (``training`` is ``view="training"``), the training forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from ..checks.causes import scale_origin, with_cause
from ..checks.check import Check, Finding
from ..checks.data import EIGHT_BIT, image_like
from ..checks.table import checks_for
from ..core.diagnostics import INFO, WARNING
from ..core.estimate import DRAWN_ROWS, Estimate, drawn_along_axis, through
from ..layers.catalog import clip_levels
from ..layers.generators import GENERATORS
from ..layers.initializers import moments
from .model import Layer, Spec, TargetSource
from .project import images_unnormalised
from .views import as_view


def estimates(spec: Spec, *, view: str | None = None, training: bool = False) -> dict[str, Estimate | None]:
    """Every layer of the view's output, estimated without data (None where nothing can be said), in
    a run of that view (see the module's docstring; default: the spec's, see views.chosen_view)."""
    spec = as_view(spec, view, training=training)
    unnormalised = unnormalised_sources(spec)
    found: dict[str, Estimate | None] = {}
    for name in spec.order:
        layer = spec.layers[name]
        if layer.type.is_source:
            found[name] = _source(spec, layer, name in unnormalised)
        else:
            found[name] = _passed(spec, layer, found)
    return found


def unnormalised_sources(spec: Spec) -> frozenset[str]:
    """The source layers whose data a run reads from a dataset that feeds its images as they are
    (nnspec.spec.project.images_unnormalised): those with neither ``data:`` nor a generator."""
    if not images_unnormalised(spec):
        return frozenset()
    return frozenset(
        name
        for name in spec.order
        if (layer := spec.layers[name]).type.is_source
        and layer.dataset is not None
        and layer.dataset not in spec.data
        and layer.props["generator"] not in GENERATORS
    )


def _source(spec: Spec, layer: Layer, unnormalised: bool = False) -> Estimate:
    props = layer.props
    declared = props["range"]
    if unnormalised and declared is None and image_like(layer.shape):
        return Estimate.between(*EIGHT_BIT)  # 8-bit images as they are (16-bit ones: declare a range)
    return _data(spec, layer.dataset, props["generator"], props["generator_multiplier"], declared)


def _data(
    spec: Spec, variable: str | None, generator_name: str, multiplier: float, declared: tuple | None = None
) -> Estimate:
    """Data's estimate: from the spec's data:, a declared range, its generator, or NNC's rule."""
    generator = GENERATORS.get(generator_name)
    if generator is not None and variable is None:
        return generator.estimate(multiplier)  # a generated side input: no data variable gives it
    if variable in spec.data:
        data = spec.data[variable]
        return Estimate(float(data.mean()), float(data.std()), float(data.min()), float(data.max()))
    if declared is not None:
        return Estimate.between(*declared)
    if generator is None:
        return Estimate.between(-1.0, 1.0)  # NNC's rule for real data
    return generator.estimate(multiplier)


def _operands(spec: Spec, layer: Layer, found: Mapping[str, Estimate | None]) -> list[Estimate | None]:
    """The estimates of what a layer's formula takes: its inputs, and a second operand read from data
    or a generator (``R: {generator: Constant}``)."""
    estimated = [found.get(source) for source in layer.inputs]
    pin = layer.type.operand
    if pin is not None and pin in layer.targets:
        estimated.append(_side(spec, layer.targets[pin], found))
    if not layer.type.arity.most and layer.targets:  # a Delay's first step (unrolled): its Initial is its value
        estimated.extend(_side(spec, source, found) for source in layer.targets.values())
    return estimated


def _side(spec: Spec, source: TargetSource, found: Mapping[str, Estimate | None]) -> Estimate | None:
    """A side input's estimate: its layer's, or its data's or generator's."""
    if source.input is not None:
        return found.get(source.input)
    generated = source.generator in GENERATORS
    return _data(spec, None if generated else source.dataset, source.generator, source.multiplier)


def _passed(spec: Spec, layer: Layer, found: Mapping[str, Estimate | None]) -> Estimate | None:
    estimated = _operands(spec, layer, found)
    inputs = [e for e in estimated if e is not None and np.isfinite(e.mean)]
    if len(inputs) < len(estimated):
        return None
    layer_type = layer.type
    if layer_type.elementwise:
        result = through(lambda a: layer_type.forward([a], layer.props, {}), inputs[0], spec.dtype)
    elif layer_type.estimate is not None:
        if not _known_parameters(spec, layer):
            return None  # validate --no-data reads no parameter file; a parameter a layer gives is not known
        shapes = [spec.layers[source].shape for source in layer.inputs]
        pin = layer_type.operand
        if pin is not None and len(shapes) < len(inputs):  # a second operand from data: R's shape
            shapes.append(layer.target_shapes[pin])
        result = layer_type.estimate(inputs, shapes, layer.props, parameter_moments(spec, layer), spec.dtype)
        if layer_type.probabilities:
            result = replace(result, **_reach_of_probabilities(layer, inputs[0], spec.dtype))
    else:
        return None
    low, high = layer_type.output_range
    if layer_type.clips and not layer_type.parameters:  # a quantizer's levels bound it (its properties set them)
        low, high = clip_levels(layer_type, layer.props, {}, spec.dtype)
    return Estimate(
        result.mean,
        result.std,
        result.low if low is None else max(result.low, low),
        result.high if high is None else min(result.high, high),
        result.uniform,
        result.reach_low if low is None or result.reach_low is None else max(result.reach_low, low),
        result.reach_high if high is None or result.reach_high is None else min(result.reach_high, high),
    )


def parameter_moments(spec: Spec, layer: Layer) -> dict[str, tuple[float, float]]:
    """Mean and variance of each of a layer's parameters, from its file or its initializer."""
    return {
        p.name: moments(
            layer.parameters[p.name],
            layer.parameter_shapes[p.name],
            p.fans(layer.parameter_shapes[p.name]),
            spec.allowed,
        )
        for p in layer.type.parameters
        if p.name in layer.parameter_shapes
    }


def _known_parameters(spec: Spec, layer: Layer) -> bool:
    """validate --no-data reads no parameter file, so a layer with one has unknown parameters; nor is a
    parameter another layer gives (W: {input: LAYER}) known before a run."""
    if layer.fed_parameters():
        return False
    return spec.read_data or all(source.file is None for source in layer.parameters.values())


def _predicted(
    spec: Spec,
    layer: Layer,
    check: Check,
    received: Estimate,
    threshold: float | None,
    estimated_std: Callable[[str], float | None],
) -> str | None:
    """One check's prediction at a layer: from what it receives, naming where a wrong scale came
    from when the check says so; or from the layer's own parameters."""
    if check.predict is not None:
        message = check.predict(layer, received, threshold, spec.dtype)
        if message is not None and check.names_cause:
            return with_cause(message, scale_origin(spec, layer.name, estimated_std))
        return message
    if check.predict_from_parameters is not None and _known_parameters(spec, layer):
        # checks/ types this threshold float, Check.predict's float | None: settled with the checks' types
        return check.predict_from_parameters(layer, parameter_moments(spec, layer), received, threshold)  # type: ignore[arg-type]
    return None


def _predicted_side(layer: Layer, check: Check, found: Mapping[str, Estimate | None]) -> str | None:
    """One check's prediction of the side inputs other layers feed (a target from a layer): from
    those layers' estimates."""
    if check.predict_side is None:
        return None
    fed = layer.fed_parameters()  # a parameter, not a side input a check judges
    for pin, source in layer.side_inputs().items():
        if pin in fed:
            continue
        estimate = found.get(source)
        if estimate is not None and np.isfinite(estimate.mean):
            message = check.predict_side(layer, pin, source, estimate)
            if message is not None:
                return message
    return None


def _reach_of_probabilities(layer: Layer, logits: Estimate, dtype: str) -> dict[str, float]:
    """Probabilities are > 0 in exact arithmetic and 0 only where the dtype underflows: their least
    and largest over a fixed Monte Carlo sample of the logits (a normal fit clipped at 0 would say 0)."""
    drawn = drawn_along_axis(logits, DRAWN_ROWS, layer.inferred_shape[layer.props["axis"]], dtype)
    with np.errstate(all="ignore"):
        probabilities = layer.type.forward([drawn], {**layer.props, "axis": 0}, {})
    return {"reach_low": float(probabilities.min()), "reach_high": float(probabilities.max())}


def predict(
    spec: Spec,
    settings: Mapping[str, Mapping[str, tuple[str, float | None]]],
    *,
    view: str | None = None,
    training: bool = False,
) -> list[Finding]:
    """Range findings expected from the spec alone, with the checks' ids and settings, in a run of
    that view (see the module's docstring)."""
    spec = as_view(spec, view, training=training)
    found = estimates(spec)  # the view's own: a view of a view is itself
    unnormalised = unnormalised_sources(spec)
    findings = []

    def estimated_std(name: str) -> float | None:
        e = found.get(name)
        return e.std if e is not None and np.isfinite(e.std) else None

    for name in spec.order:
        layer = spec.layers[name]
        received = found[name] if layer.type.is_source else (found.get(layer.inputs[0]) if layer.inputs else None)
        if received is None or not np.isfinite(received.mean):
            continue
        fired: dict[str, str] = {}
        for check in checks_for(layer.type):
            judged = _judged(layer, check.id, received, _operands(spec, layer, found))
            if check.id in settings[name] and name in unnormalised and check.predict_unnormalised is not None:
                # judged where the network takes the values, which it is to scale itself
                message = check.predict_unnormalised(spec, layer, found, settings[name][check.id][1])
                if message is not None:
                    fired[check.id] = message
            elif check.id in settings[name] and judged is not None:
                message = _predicted(spec, layer, check, judged, settings[name][check.id][1], estimated_std)
                message = message or _predicted_side(layer, check, found)
                if message is not None:
                    fired[check.id] = message
        for check in checks_for(layer.type):
            if check.id in fired and not any(other in fired for other in check.superseded_by):
                severity = INFO if settings[name][check.id][0] == INFO else WARNING
                findings.append(
                    Finding(check.id, severity, name, f"{fired[check.id]} (predicted from the spec, without data)")
                )
    return findings


def _judged(layer: Layer, check_id: str, received: Estimate, operands: list[Estimate | None]) -> Estimate | None:
    """What a check judges: the layer's first input, or for a domain check the operand its domain
    concerns (Div2's divisor is its second, an input or R: data)."""
    domain = layer.type.domain
    if domain is None or domain.check != check_id or domain.index == 0:
        return received
    judged = operands[domain.index] if domain.index < len(operands) else None
    return judged if judged is not None and np.isfinite(judged.mean) else None
