"""What the writer refuses, and why: the verdict layer by layer (``unwritable_reason``,
``unwritable_layers``) that both ``write_onnx`` (one UsageError naming every such layer at once) and
the onnxruntime engine (which runs those layers on numpy instead) follow. A layer is refused where it
draws at random in the view (nnspec's draws, per sample from its seed, have no ONNX form), where a
generator other than Constant draws one of its side inputs, where its Op refuses it (an applied
Dropout, a RandomCrop with a shape), or where its value is the same for every sample and the spec
reads no data to take the batch size from. ``REFUSED`` lists the layer types refused as a whole: none."""

from __future__ import annotations

from ...core.diagnostics import UsageError
from ...layers.generators import NO_GENERATOR
from ..model import Layer, Spec
from .builder import bypassed, graph_inputs
from .ops import OPS
from .random_layers import DRAWN_IN_TRAINING


def refuse_unwritable(spec: Spec) -> None:
    """One UsageError naming every layer ONNX cannot hold (unwritable_layers), with its reason."""
    problems = [f"{spec.layers[name].title}: {reason}" for name, reason in unwritable_layers(spec).items()]
    if problems:
        raise UsageError(f"{spec.file}: ONNX cannot hold these layers as nnspec writes them: " + "; ".join(problems))


def unwritable_layers(spec: Spec) -> dict[str, str]:
    """Every layer of ``spec`` (a view) the writer cannot write, with why, in the order they run."""
    training = spec.view == "training"
    reads_data = bool(graph_inputs(spec))
    reasons = {}
    for name in spec.order:
        layer = spec.layers[name]
        reason = unwritable_reason(layer, training=training)
        if not reason and not reads_data and _same_for_every_sample(layer):
            reason = "its value is the same for every sample, and the spec reads no data to take the batch size from"
        if reason:
            reasons[name] = reason
    return reasons


def _same_for_every_sample(layer: Layer) -> bool:
    """Whether the model expands one value to the batch for this layer: a Parameter's array (a
    WorkingMemory's without an input), a Constant side input."""
    if layer.type.name in ("Parameter", "WorkingMemory") and not layer.inputs:
        return True
    return any(
        pin not in layer.parameters and source.input is None and source.generator == "Constant"
        for pin, source in layer.targets.items()
    )


def unwritable_reason(layer: Layer, *, training: bool = False) -> str | None:
    """Why the writer cannot write ``layer`` (a layer of a view; ``training``: of the training view,
    where the random augmentations draw), or None where it can: written, bypassed by the view, or an
    Input (the graph's inputs). What a caller running the rest in onnxruntime keeps on numpy."""
    if layer.type.is_source or bypassed(layer):
        return None
    name = layer.type.name
    if name in REFUSED:
        return REFUSED[name]
    if training and name in DRAWN_IN_TRAINING:
        return "its random parts are drawn in the training view: the draws are nnspec's own (per sample, from its seed)"
    op = OPS.get(name)
    if op is None:
        return "no ONNX form in nnspec"
    for pin, source in layer.targets.items():
        if pin not in layer.parameters and source.input is None and source.generator not in (NO_GENERATOR, "Constant"):
            return f"its {pin} is generated ({source.generator}): a graph input cannot draw values"
    return op.refuse(layer)


# The layer types with no exact ONNX form, and why (RepeatStart, RepeatEnd, Unit and LSTM never reach
# the writer: the spec's expansion writes them out as the layers they stand for first).
REFUSED: dict[str, str] = {}
