"""Loss layers: each compares its input with a target read from the data (NNC's T)."""

from __future__ import annotations

import numpy as np

from ..catalog import LayerType, Target, register, same_shape

TARGET = Target("T", "the values the input should have, one per input value")


def binary_cross_entropy(inputs, props, params):
    """o = -(t ln(i) + (1 - t) ln(1 - i)), i and 1 - i taken at least the dtype's smallest normal number"""
    # nnabla clamps the same way, so a confident wrong answer costs -ln(tiny) (87.3 in float32), not inf.
    # ln(1 - i) is taken as log1p(-i) below 0.5, where 1 - i would round away most of a small i.
    x, t = inputs
    tiny = np.finfo(x.dtype).tiny
    log_not = np.where(x < 0.5, np.log1p(-np.minimum(x, 0.5)), np.log(np.maximum(1 - x, tiny)))
    return -(t * np.log(np.maximum(x, tiny)) + (1 - t) * log_not)


def squared_error(inputs, props, params):
    """o = (i - t)^2"""
    x, t = inputs
    return np.square(x - t)


register(
    LayerType(
        name="BinaryCrossEntropy",
        category="Loss",
        formula="o = -(t ln(i) + (1 - t) ln(1 - i))",
        description="Cross-entropy of a probability i against a binary target t, value by value.",
        forward=binary_cross_entropy,
        infer_shape=same_shape,
        targets=(TARGET,),
        input_range=(0.0, 1.0),
        output_range=(0.0, None),
        probability_input=True,
        range_note="NNC's rule: the input is a probability in 0..1 (a Sigmoid's output) and the target 0 or 1.",
    )
)

register(
    LayerType(
        name="SquaredError",
        category="Loss",
        formula="o = (i - t)^2",
        description="Squared difference between the input and its target, value by value.",
        forward=squared_error,
        infer_shape=same_shape,
        targets=(TARGET,),
        output_range=(0.0, None),
    )
)
