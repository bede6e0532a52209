"""NNC's Parameter category: layers whose output is an array of their own, not made from an input.

In nnabla these are variables, not functions: a Parameter layer is a parameter named after the layer,
learned as any other; a WorkingMemory is a buffer of the batch's size that training writes into (VAT's
gradient, mixup's second batch) and that otherwise keeps what its initializer drew. nnspec runs
forward passes only, so a WorkingMemory with no input holds its initial content: nnspec keeps that as a
parameter named after the layer too (drawn from its initializer, or given by a file or --params), one
array of shape size that every sample reads.

A Parameter's size left out is NNC's default *GraphOutput, the shape of the parameter pin it feeds:
shape inference works it out (nnspec.spec.pin_sizes) and gives it to the rules below as `size`.

Both are written as NNC writes them, their settings at the top (`initializer`, `multiplier`, `file`,
`lrate_multiplier` under the parameter `value`), and make one value per sample like any layer: the
runner sizes their one array to the batch (nnspec.runtime.plan). Their forward gives a batch of one.
"""

from __future__ import annotations

from math import sqrt

import numpy as np

from ..core.estimate import Estimate
from .basic import AFFINE_INITIALIZERS, CONVOLUTION_INITIALIZERS, conv_fans
from .catalog import NO_INPUT, Arity, LayerType, Parameter, Property, ShapeError, affine_fans, format_shape, register

VALUE = "value"
# every initializer NNC offers a Parameter layer, the affine and the convolution families together
PARAMETER_INITIALIZERS = tuple(dict.fromkeys(AFFINE_INITIALIZERS + CONVOLUTION_INITIALIZERS))


def parameter_fans(shape) -> tuple[int, int, int]:
    """A weight's fans as nnabla's initializers read them: (inputs, outputs) of a matrix, a convolution
    kernel's (out maps, in maps, *kernel) layout from 3 axes on."""
    return conv_fans(shape) if len(shape) >= 3 else affine_fans(shape)


def _size(shapes, props):
    size = props["size"]
    if size is None:  # a Parameter's left-out size is given by shape inference (nnspec.spec.pin_sizes)
        raise ShapeError("size is required", "size")
    return tuple(size)


def own_array(inputs, props, params):
    """o = value, the layer's own array (a batch of one: the runner repeats it for every sample)"""
    value = params[VALUE]
    return value.reshape((1, *value.shape))


def parameter_shape(shapes, props):
    return _size(shapes, props)


def working_memory(inputs, props, params):
    """o = i when linked from a layer (what NNC writes into the buffer), else its content"""
    return inputs[0] if inputs else own_array(inputs, props, params)


def working_memory_shape(shapes, props):
    size = _size(shapes, props)
    if shapes and tuple(shapes[0]) != size:
        raise ShapeError(
            f"the input {format_shape(shapes[0])} must have the buffer's size {format_shape(size)}: NNC copies "
            "it into the buffer",
            "size",
        )
    return size


def _own_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """The array's moments: its initializer's, or its file's."""
    if inputs:
        return inputs[0]
    mean, variance = params[VALUE]
    return Estimate(mean, sqrt(max(variance, 0.0)))


_SETTINGS = (
    "Its value is the parameter `value`: `value: {initializer: ..., multiplier: ..., file: ...}` (NNC's "
    "Initializer, InitializerMultiplier and File), stored under the layer's name alone."
)


def _size_property(default, what: str) -> Property:
    return Property("size", "shape", default, f"Shape of {what}, without the batch axis.")


register(
    LayerType(
        name="Parameter",
        category="Parameter",
        formula="o = value",
        description="A learned array of shape size as a layer's output: what NNC links into another layer's "
        "parameter pin, or computes a penalty from (its L1 norm, say). " + _SETTINGS + " nnabla's array has no "
        "batch axis; nnspec gives every sample the same array, so a layer after it counts its axes as NNC "
        "shows them. Left out, size is NNC's default *GraphOutput: the shape of the parameter its output "
        "feeds (an Affine's W from `W: {input: p}`), directly or through layers that keep the shape (one input, "
        "computed value by value); the parameters it reaches must have one shape.",
        forward=own_array,
        infer_shape=parameter_shape,
        estimate=_own_estimate,
        arity=NO_INPUT,
        properties=(
            _size_property(None, "the array (left out: the shape of the parameter pin it feeds, NNC's *GraphOutput)"),
        ),
        size_from_pin="size",
        parameters=(
            Parameter(
                VALUE,
                "Normal",
                0.01,
                lambda shapes, props: tuple(props["size"]),
                "The array, of shape size; fans for the Glorot and He initializers as an Affine W (inputs, "
                "outputs) below 3 axes, as a Convolution W (out maps, in maps, *kernel) from 3.",
                initializers=PARAMETER_INITIALIZERS,
                fans=parameter_fans,
            ),
        ),
    )
)

register(
    LayerType(
        name="WorkingMemory",
        category="Parameter",
        formula="o = i, or its content where nothing is linked in",
        description="A buffer of one array of shape size per sample. Linked from a layer, it holds that layer's "
        "output (NNC copies it in). Otherwise it holds what training wrote there (VAT's gradient, through "
        "VATNoise's Buf) or, before that, what its initializer drew: nnspec runs no training, so it holds its "
        "initial content, one array every sample reads. " + _SETTINGS,
        forward=working_memory,
        infer_shape=working_memory_shape,
        estimate=_own_estimate,
        arity=Arity(0, 1),
        properties=(_size_property([1, 28, 28], "the buffer"),),
        parameters=(
            Parameter(
                VALUE,
                "Normal",
                1.0,
                lambda shapes, props: tuple(props["size"]),
                "The initial content, of shape size (not used when a layer is linked in).",
            ),
        ),
    )
)


def batch_of(values: np.ndarray, batch: int) -> np.ndarray:
    """A layer's batch of one repeated for every sample of a batch, as an array of its own."""
    return np.ascontiguousarray(np.broadcast_to(values, (batch, *values.shape[1:])))
