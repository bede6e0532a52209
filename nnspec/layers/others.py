"""Layers that move, join or reshape values without computing new ones."""

from __future__ import annotations

from math import prod

import numpy as np

from ..catalog import Arity, LayerType, Property, ShapeError, check_axis, format_shape, register, same_shape, unary
from ..estimate import mixture


def concatenate(inputs, props, params):
    """o = the inputs joined along axis"""
    return np.concatenate(inputs, axis=props["axis"] + 1)


def concatenate_shape(shapes, props):
    axis = props["axis"]
    first = shapes[0]
    check_axis(axis, first)
    for shape in shapes[1:]:
        if len(shape) != len(first) or any(a != b for i, (a, b) in enumerate(zip(shape, first)) if i != axis):
            raise ShapeError(f"their shapes must be equal except along axis {axis}", "axis")
    return (*first[:axis], sum(s[axis] for s in shapes), *first[axis + 1 :])


def reshape(inputs, props, params):
    """o = i with shape out_shape"""
    x = inputs[0]
    return x.reshape((len(x), *props["out_shape"]))


def reshape_shape(shapes, props):
    out_shape = props["out_shape"]
    if prod(shapes[0]) != prod(out_shape):
        raise ShapeError(
            f"{prod(shapes[0])} values, but out_shape {format_shape(out_shape)} holds {prod(out_shape)}: "
            "the sizes must be equal",
            "out_shape",
        )
    return out_shape


def identity(x):
    """o = i"""
    return x


register(
    LayerType(
        name="Concatenate",
        category="Others",
        formula="o = concatenate(i0, i1, ...) along axis",
        description="Joins its inputs along one axis.",
        forward=concatenate,
        infer_shape=concatenate_shape,
        estimate=lambda inputs, shapes, props, params, dtype: mixture([(e, prod(s)) for e, s in zip(inputs, shapes)]),
        arity=Arity(1, None),
        properties=(Property("axis", "uint", 0, "Axis to join along (batch axis excluded)."),),
    )
)

register(
    LayerType(
        name="Reshape",
        category="Others",
        formula="o = i reshaped to out_shape",
        description="Gives the values a new shape with the same number of elements.",
        forward=reshape,
        infer_shape=reshape_shape,
        estimate=lambda inputs, shapes, props, params, dtype: inputs[0],
        properties=(Property("out_shape", "shape", 100, "New shape (without the batch axis)."),),
    )
)

register(
    LayerType(
        name="Identity",
        category="Others",
        elementwise=True,
        formula="o=i",
        description="Passes its input through unchanged.",
        forward=unary(identity),
        infer_shape=same_shape,
    )
)
