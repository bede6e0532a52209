"""Activation layers. Each forward is a vectorised numpy expression that never warns
about overflow for a finite input."""

from __future__ import annotations

import numpy as np

from ..catalog import LayerType, Property, check_axis, register, same_shape, unary
from ..estimate import Estimate


def tanh(x):
    """o = tanh(i)"""
    return np.tanh(x)


def sigmoid(x):
    """o = 1 / (1 + exp(-i))"""
    # Computed as nnabla does. For i below about -88.7 (float32) exp(-i) overflows to
    # inf and 1/(1+inf) is exactly 0, the correct limit (scipy's expit agrees); the
    # overflow is expected there, so its warning is silenced for this line only.
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def relu(x):
    """o = max(0, i)"""
    return np.maximum(x, 0)


def leaky_relu(inputs, props, params):
    """o = max(0, i) + alpha min(0, i)"""
    x = inputs[0]
    return np.where(x > 0, x, x * x.dtype.type(props["alpha"]))


def softmax(inputs, props, params):
    """o_x = exp(i_x) / sum_j exp(i_j), along axis (shifted by the maximum, so exp never overflows)"""
    x = inputs[0]
    axis = props["axis"] + 1  # the batch axis comes first
    # x - max overflows to -inf only where the spread of a sample exceeds the dtype's
    # range; exp(-inf) = 0 is then the right probability, so that warning is silenced.
    with np.errstate(over="ignore"):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_estimate(inputs, shapes, props, params, dtype):
    """Probabilities from logits distributed as estimated: a fixed Monte Carlo sample
    (the same every time), since softmax mixes a whole axis."""
    logits = inputs[0]
    classes = shapes[0][props["axis"]]
    draws = np.random.default_rng(0).standard_normal((256, classes)) * logits.std + logits.mean
    probabilities = softmax([draws.astype(dtype)], {"axis": 0}, {}).astype(np.float64)
    return Estimate(float(probabilities.mean()), float(probabilities.std()), 0.0, 1.0)


def softmax_shape(shapes, props):
    check_axis(props["axis"], shapes[0])
    return shapes[0]


register(
    LayerType(
        name="Tanh",
        category="Activation",
        elementwise=True,
        formula="o=tanh(i)",
        description="Hyperbolic tangent: squashes any input into -1..1.",
        forward=unary(tanh),
        infer_shape=same_shape,
        input_range=(-2.65, 2.65),
        output_range=(-1.0, 1.0),
        saturates=True,
        range_note="Past |i| = 2.65 the output is beyond +-0.99; from |i| = 10 float32 tanh is exactly +-1 "
        "(float64 from 19), so different inputs give the same output.",
    )
)

register(
    LayerType(
        name="Sigmoid",
        category="Activation",
        elementwise=True,
        formula="o=sigmoid(i)",
        description="Logistic sigmoid 1/(1+exp(-i)): outputs in 0..1, used where probabilities are wanted.",
        forward=unary(sigmoid),
        infer_shape=same_shape,
        input_range=(-4.6, 4.6),
        output_range=(0.0, 1.0),
        saturates=True,
        range_note="Past |i| = 4.6 the output leaves 0.01..0.99; float32 sigmoid is exactly 1 from i = 16.7 "
        "and exactly 0 below i = -88.7 (float64: 36.7 and -709.8).",
    )
)

register(
    LayerType(
        name="ReLU",
        category="Activation",
        elementwise=True,
        formula="o=max(0, i)",
        description="Rectified linear unit: keeps positive inputs, outputs 0 for the rest.",
        forward=unary(relu),
        infer_shape=same_shape,
        output_range=(0.0, None),
        zero_for_negative=True,
        range_note="Negative inputs are dropped by design; a unit whose inputs are never positive outputs nothing.",
    )
)

register(
    LayerType(
        name="LeakyReLU",
        category="Activation",
        elementwise=True,
        formula="o=max(0, i) + a min(0, i)",
        description="ReLU that lets a fraction alpha of negative inputs through.",
        forward=leaky_relu,
        infer_shape=same_shape,
        properties=(Property("alpha", "float", 0.1, "Slope a for negative inputs."),),
        range_note="Keeps information on both sides of 0; with a small alpha, mostly-negative inputs shrink.",
    )
)

register(
    LayerType(
        name="Softmax",
        category="Activation",
        formula="o_x=exp(i_x) / sum_j exp(i_j)",
        description="Turns scores along an axis into probabilities that sum to 1.",
        forward=softmax,
        infer_shape=softmax_shape,
        estimate=softmax_estimate,
        properties=(Property("axis", "uint", 0, "Axis the probabilities sum to 1 over (batch axis excluded)."),),
        output_range=(0.0, 1.0),
        probabilities=True,
        range_note="Only differences between inputs matter; a logit more than about 104 (float32) below the "
        "largest gets probability exactly 0.",
    )
)
