"""The layers that draw at random: Dropout and the augmentations. At evaluation their random parts are
off and they are written as what is left (the identity, or ImageAugmentation's deterministic warp
and tone, with nnspec's float32 weights and order). Where they draw in the view they are refused,
since the draws are nnspec's own, per sample from its seed: the augmentations in the training view
(``DRAWN_IN_TRAINING``, read by refusals.py), and here, by their Ops, an applied Dropout and a
RandomCrop with a shape."""

from __future__ import annotations

from math import prod

import numpy as np

from ..model import Layer
from .builder import Graph, Op, folded
from .elementwise import unary

# The augmentations that draw in the training view (refused there); at evaluation their random parts are off.
DRAWN_IN_TRAINING = ("RandomFlip", "RandomShift", "RandomErase", "RandomCrop", "ImageAugmentation")


def _dropout_refusal(layer: Layer) -> str | None:
    return "applied in this view (training, or skip_at_test: false): its random mask is nnspec's own draw"


def _random_crop_refusal(layer: Layer) -> str | None:
    if layer.props.get("shape") is None:
        return None  # the whole input: nothing cropped
    return (
        "it crops at a position drawn per sample, at evaluation too (NNC's RandomCrop has no SkipAtTest): "
        "the draws are nnspec's own"
    )


def _image_augmentation(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """What evaluation computes of a layer not skipped, the same for every sample: each output pixel
    the sum of its four neighbours' values times their bilinear weights (nnspec's float32 weights and
    order, a Gather and a Mul each), then (o + shift) gain + contrast_center per channel."""
    from ...layers.augmentation import evaluation_warp

    sample, shape = g.input_shape(layer), layer.inferred_shape
    channels = prod(sample[:-2])
    corners, (shift, gain) = evaluation_warp(tuple(sample[-2:]), tuple(shape[-2:]), channels, layer.props)
    flat = g.node("Reshape", [x[0], g.constant([-1, channels, sample[-2] * sample[-1]], np.int64)])
    terms = [
        g.node(
            "Mul", [g.node("Gather", [flat, g.constant(index.ravel(), np.int64)], axis=2), g.constant(weight.ravel())]
        )
        for index, weight in corners
    ]
    total = folded(g, "Add", terms)
    along_channels = (1, channels, 1)
    shifted = g.node("Add", [total, g.constant(shift.reshape(along_channels))])
    toned = g.node("Mul", [shifted, g.constant(gain.reshape(along_channels))])
    centred = g.node("Add", [toned, g.constant(float(np.float32(layer.props["contrast_center"])))])
    g.node("Reshape", [centred, g.constant([-1, *shape], np.int64)], out)


OPS: dict[str, Op] = {
    "Dropout": Op(lambda g, layer, x, out: None, _dropout_refusal),
    "RandomFlip": unary("Identity"),
    "RandomShift": unary("Identity"),
    "RandomErase": unary("Identity"),
    "RandomCrop": Op(
        lambda g, layer, x, out: g.node("Identity", x[:1], out), lambda layer: _random_crop_refusal(layer)
    ),
    "ImageAugmentation": Op(_image_augmentation),
}
