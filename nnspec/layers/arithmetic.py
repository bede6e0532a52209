"""Arithmetic layers of two or more inputs."""

from __future__ import annotations

import numpy as np

from ..catalog import Arity, LayerType, ShapeError, register
from ..estimate import total


def add2(inputs, props, params):
    """o = i0 + i1"""
    return inputs[0] + inputs[1]


def broadcast_shape(shapes, props):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(
            "they do not broadcast; it expects equal shapes, or shapes that differ only where one of them is 1"
        ) from None


register(
    LayerType(
        name="Add2",
        category="Arithmetic (2 Inputs)",
        formula="o = i0 + i1",
        description="Elementwise sum of two inputs (broadcast as nnabla does).",
        forward=add2,
        infer_shape=broadcast_shape,
        estimate=lambda inputs, shapes, props, params, dtype: total(inputs),
        arity=Arity(2, 2),
    )
)
