"""Basic layers: the ones with learnable weights."""

from __future__ import annotations

from math import prod

from ..catalog import LayerType, Parameter, Property, register
from ..estimate import weighted_sum

AFFINE_INITIALIZERS = (
    "Normal",
    "NormalAffineHeForward",
    "NormalAffineHeBackward",
    "NormalAffineGlorot",
    "Uniform",
    "UniformAffineGlorot",
    "Constant",
)


def affine(inputs, props, params):
    """o = Wi + b, the sample flattened to a vector first"""
    x = inputs[0]
    W = params["W"]
    y = x.reshape(len(x), -1) @ W.reshape(W.shape[0], -1)
    if "b" in params:
        y += params["b"].reshape(-1)
    return y.reshape((len(x), *props["out_shape"]))


def affine_estimate(inputs, shapes, props, params, dtype):
    """Each output sums prod(input shape) inputs times weights, plus a bias."""
    return weighted_sum(inputs[0], prod(shapes[0]), *params["W"], *params.get("b", (0.0, 0.0)))


def affine_shape(shapes, props):
    return props["out_shape"]


register(
    LayerType(
        name="Affine",
        category="Basic",
        formula="o = Wi+b",
        description="Fully connected layer: every output is a weighted sum of all inputs plus a bias.",
        forward=affine,
        infer_shape=affine_shape,
        estimate=affine_estimate,
        function_scope="affine",
        properties=(
            Property("out_shape", "shape", 100, "Shape of the output (without the batch axis)."),
            Property("with_bias", "bool", True, "Whether to add the bias b."),
            Property(
                "parameter_scope",
                "text",
                None,
                "Name parameters are stored under (default: the layer's name); layers with one scope share parameters.",
            ),
        ),
        parameters=(
            Parameter(
                "W",
                "NormalAffineGlorot",
                1.0,
                lambda shapes, props: (prod(shapes[0]), *props["out_shape"]),
                "Weights, shape (inputs, *out_shape).",
                initializers=AFFINE_INITIALIZERS,
            ),
            Parameter(
                "b",
                "Constant",
                0.0,
                lambda shapes, props: tuple(props["out_shape"]),
                "Bias, shape out_shape.",
                enabled=lambda props: props["with_bias"],
            ),
        ),
    )
)
