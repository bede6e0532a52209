"""Pooling layers.

MaxPooling, AveragePooling and SumPooling follow nnabla's pooling: the kernel slides over
the last len(kernel_shape) axes of a sample (the axes before the last with channel_last),
every leading axis is a map of its own, and window w along an axis covers positions
w*s - p .. w*s - p + k - 1 of the input, cut to 0..L-1 (padding never enters a max or a
sum). Output lengths are nnabla's:

    ignore_border true:  (L + 2p - k) / s + 1
    ignore_border false: (L + p - 1) / s + 1   (every window starting inside the input)

divided as C++ divides integers (toward zero). Each is computed over a strided window view
of the padded input (numpy's sliding_window_view): no Python loop over positions or maps.
"""

from __future__ import annotations

from functools import reduce
from itertools import product
from math import prod, sqrt
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core.estimate import Estimate
from .catalog import LayerType, Property, Shape, ShapeError, format_shape, register


def _trunc_div(a: int, b: int) -> int:
    """a / b rounded toward zero, as C++ integer division (nnabla's shape arithmetic) rounds."""
    return abs(a) // b if a >= 0 else -(abs(a) // b)


def pooled_length(length: int, k: int, s: int, p: int, ignore_border: bool) -> int:
    """nnabla's output length: (L + p - (k - p if ignore_border else 1)) / s + 1."""
    return _trunc_div(length + p - (k - p if ignore_border else 1), s) + 1


def _geometry(props) -> tuple[Shape, Shape, Shape]:
    """(kernel, strides, padding), strides defaulting to the kernel as NNC's *KernelShape does."""
    kernel = props["kernel_shape"]
    strides = props["strides"] if props["strides"] is not None else kernel
    return kernel, strides, props["padding"]


def _spatial_axes(ndim: int, n: int, channel_last: bool) -> tuple[int, ...]:
    """The axes (of an array of ndim axes) the kernel slides over."""
    last = ndim - (1 if channel_last else 0)
    return tuple(range(last - n, last))


def pooling_shape(shapes, props, empty_window_matters: bool = True):
    """The output shape, checking the kernel against nnabla's rules."""
    shape = shapes[0]
    kernel, strides, padding = _geometry(props)
    n, channel_last = len(kernel), props.get("channel_last", False)
    if n not in (2, 3):
        raise ShapeError(
            f"kernel_shape {format_shape(kernel)} has {n} ax{'is' if n == 1 else 'es'}; nnabla pools over 2 or 3 axes",
            "kernel_shape",
        )
    for name, value in (("strides", strides), ("padding", padding)):
        if len(value) != n:
            raise ShapeError(
                f"{name} {format_shape(value)} has {len(value)} value{'s' if len(value) != 1 else ''}, but "
                f"kernel_shape {format_shape(kernel)} has {n} axes: give one per kernel axis",
                name,
            )
    needed = n + (1 if channel_last else 0)
    if len(shape) < needed:
        where = f"the {n} axes before the channel axis" if channel_last else f"the last {n} axes"
        raise ShapeError(
            f"a {n}-D kernel_shape {format_shape(kernel)} pools over {where}, so samples need at least {needed} axes",
            "kernel_shape",
        )
    if empty_window_matters:
        for axis, (k, p) in enumerate(zip(kernel, padding)):
            if p >= k:
                raise ShapeError(
                    f"padding {p} along pooled axis {axis} is not smaller than the kernel ({k}): the first window "
                    "would hold padding only, and has no value to take",
                    "padding",
                )
    axes = _spatial_axes(len(shape), n, channel_last)
    out = list(shape)
    for i, (axis, k, s, p) in enumerate(zip(axes, kernel, strides, padding)):
        out[axis] = pooled_length(shape[axis], k, s, p, props["ignore_border"])
        if out[axis] < 1:
            raise ShapeError(
                f"along pooled axis {i} the kernel ({k}) is longer than the {shape[axis] + 2 * p} values there "
                f"with padding {p}",
                "kernel_shape",
            )
    return tuple(out)


def _pad_for_pooling(x: np.ndarray, props, fill: float) -> tuple[np.ndarray, tuple[int, ...], list[int]]:
    """x (batch axis first) with its pooled axes last and padded with ``fill``: p before each and,
    after it, as far as the last window reaches; with the pooled axes of x and the output lengths."""
    kernel, strides, padding = _geometry(props)
    n = len(kernel)
    axes = _spatial_axes(x.ndim, n, props.get("channel_last", False))
    if props.get("channel_last", False):
        x = np.moveaxis(x, -1, -n - 1)
    lengths = x.shape[-n:]
    out = [pooled_length(L, k, s, p, props["ignore_border"]) for L, k, s, p in zip(lengths, kernel, strides, padding)]
    after = [max(0, (o - 1) * s + k - p - L) for L, k, s, p, o in zip(lengths, kernel, strides, padding, out)]
    if any(padding) or any(after):
        x = np.pad(x, [(0, 0)] * (x.ndim - n) + list(zip(padding, after)), constant_values=fill)
    return x, axes, out


def _windows(x: np.ndarray, props, fill: float) -> tuple[np.ndarray, tuple[int, ...], list[int]]:
    """Every pooling window of x (batch axis first) as a strided view (..., *out, *kernel), positions
    outside the input holding ``fill``; with the pooled axes of x and the output lengths."""
    padded, axes, out = _pad_for_pooling(x, props, fill)
    kernel, strides, _ = _geometry(props)
    n = len(kernel)
    view = sliding_window_view(padded, kernel, axis=tuple(range(padded.ndim - n, padded.ndim)))
    starts = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, strides))
    windows: tuple[Any, ...] = (Ellipsis, *starts, *(slice(None),) * n)  # typed: numpy's overloads mislead mypy
    return view[windows], axes, out


def _offset_views(padded: np.ndarray, props, out: list[int]):
    """For each position in the kernel, the strided view of the value at that position in every window
    (..., *out): a kernel of K positions gives K views. Reducing across them runs K whole-array
    operations, several times faster than reducing each small window of a window view."""
    kernel, strides, _ = _geometry(props)
    for offset in product(*(range(k) for k in kernel)):
        at: tuple[Any, ...] = (Ellipsis, *(slice(i, i + (o - 1) * s + 1, s) for i, o, s in zip(offset, out, strides)))
        yield padded[at]


def _restore(y: np.ndarray, props, n: int) -> np.ndarray:
    """The pooled axes back in front of the channel axis with channel_last."""
    return np.moveaxis(y, -n - 1, -1) if props.get("channel_last", False) else y


def _window_sizes(lengths, out, props) -> np.ndarray:
    """nnabla's divisor per window: the positions of the window inside the padded input
    (clipped at L + p) with including_pad, else those inside the input; the outer product over axes."""
    kernel, strides, padding = _geometry(props)
    sizes = []
    for L, o, k, s, p in zip(lengths, out, kernel, strides, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, L + p)
        sizes.append(end - start if props["including_pad"] else np.minimum(end, L) - np.maximum(start, 0))
    return reduce(np.multiply.outer, sizes)


# MaxPooling


def max_pooling(inputs, props, params):
    """o = max of the input values in each window (padding excluded)"""
    x = inputs[0]
    # -inf can never be the maximum of a window: each holds at least one input value (padding < kernel).
    padded, axes, out = _pad_for_pooling(x, props, -np.inf)
    views = _offset_views(padded, props, out)
    y = np.array(next(views))
    for view in views:
        np.maximum(y, view, out=y)
    return _restore(y, props, len(out))


def max_pooling_estimate(inputs, shapes, props, params, dtype):
    """The largest of prod(kernel_shape) values drawn from the input's distribution, taken as
    independent (neighbours in real maps are correlated, so this is the largest plausible shift):
    its distribution F^K, by quadrature over the input's nodes."""
    x = inputs[0]
    nodes, weights = x.points()
    order = np.argsort(nodes)
    nodes, cdf = nodes[order], np.clip(np.cumsum(weights[order]), 0.0, 1.0)
    k = prod(props["kernel_shape"])
    shares = np.diff(np.concatenate([[0.0], cdf**k]))
    mean = float(shares @ nodes)
    return Estimate(mean, sqrt(max(float(shares @ (nodes - mean) ** 2), 0.0)), x.low, x.high)


# AveragePooling


def average_pooling(inputs, props, params):
    """o = sum of the input values in each window / the window's size (with or without padding)"""
    x = inputs[0]
    windows, axes, out = _windows(x, props, 0.0)
    n = len(out)
    lengths = tuple(x.shape[axis] for axis in axes)
    sizes = _window_sizes(lengths, out, props).astype(x.dtype)
    # Each value is divided before the sum, so that the sum of values near the dtype's largest
    # cannot overflow where their average does not.
    y = (windows / sizes.reshape(sizes.shape + (1,) * n)).sum(axis=tuple(range(-n, 0)))
    return _restore(y, props, n)


def _padded(props) -> bool:
    """Whether windows can reach past the input, where averages including padding count zeros."""
    return any(props["padding"]) or not props["ignore_border"]


def average_pooling_estimate(inputs, shapes, props, params, dtype):
    """Neighbouring values in images and feature maps are strongly correlated, so an average keeps
    about their mean and spread (independent values would shrink the spread by sqrt(K)); zeros
    counted from padding widen the bounds to include 0."""
    x = inputs[0]
    if props.get("including_pad", True) and _padded(props):
        return Estimate(x.mean, x.std, min(x.low, 0.0), max(x.high, 0.0))
    return Estimate(x.mean, x.std, x.low, x.high)


# SumPooling


def sum_pooling(inputs, props, params):
    """o = sum of the input values in each window (padding excluded)"""
    windows, axes, out = _windows(inputs[0], props, 0.0)
    n = len(out)
    # A sum beyond the dtype's largest value is inf, the right result: its overflow is expected.
    with np.errstate(over="ignore"):
        return _restore(windows.sum(axis=tuple(range(-n, 0))), props, n)


def sum_pooling_estimate(inputs, shapes, props, params, dtype):
    """K = prod(kernel_shape) strongly correlated values (see AveragePooling): K times their mean and
    spread; a window cut by the border sums fewer values, so the bounds reach from 1 to K of them."""
    x, k = inputs[0], prod(props["kernel_shape"])
    return Estimate(k * x.mean, k * x.std, min(x.low, k * x.low), max(x.high, k * x.high))


# GlobalAveragePooling


def global_average_pooling(inputs, props, params):
    """o[c] = mean of i[c, ...] over every axis after the channel axis"""
    x = inputs[0]
    maps = x.reshape(x.shape[0], x.shape[1], -1)
    # Each value is divided before the sum, so the sum cannot overflow where the mean does not.
    y = (maps / x.dtype.type(maps.shape[2])).sum(axis=2)
    return y.reshape(x.shape[0], x.shape[1], 1, 1)


def global_average_pooling_estimate(inputs, shapes, props, params, dtype):
    """A map's values are correlated (see AveragePooling): the means keep about their mean and spread."""
    x = inputs[0]
    return Estimate(x.mean, x.std, x.low, x.high)


def global_average_pooling_shape(shapes, props):
    shape = shapes[0]
    if len(shape) > 3:
        raise ShapeError(
            f"nnabla's GlobalAveragePooling averages the axes after the channel axis of (C,), (C, H) or (C, H, W) "
            f"samples; this one has {len(shape)} axes"
        )
    return (shape[0], 1, 1)


# Unpooling


def unpooling(inputs, props, params):
    """o[..., k1*y1 + j1, k2*y2 + j2] = i[..., y1, y2] for 0 <= j < k: each value repeated k times per axis"""
    x = inputs[0]
    kernel = props["kernel_shape"]
    for axis, k in zip(range(x.ndim - len(kernel), x.ndim), kernel):  # a loop over the kernel's axes
        x = np.repeat(x, k, axis=axis)
    return x


def unpooling_shape(shapes, props):
    shape, kernel = shapes[0], props["kernel_shape"]
    if len(kernel) > len(shape):
        raise ShapeError(
            f"kernel_shape {format_shape(kernel)} has {len(kernel)} axes, more than the sample's {len(shape)}",
            "kernel_shape",
        )
    lead = len(shape) - len(kernel)
    return (*shape[:lead], *(n * k for n, k in zip(shape[lead:], kernel)))


# --- the catalog entries --------------------------------------------------------------

_KERNEL = "Window size along each pooled axis: the last 2 or 3 axes of a sample."
_STRIDES = "Step between windows along each pooled axis (default: kernel_shape, windows side by side)."
_IGNORE_BORDER = (
    "true: only windows that fit in the padded input, (L+2p-k)/s+1 of them; "
    "false: every window starting inside the input, (L+p-1)/s+1, cut at the border."
)
_PADDING = "Padding at both ends of each pooled axis; it never enters a max or a sum."
_CHANNEL_LAST = "Samples are (..., *pooled axes, C): the kernel slides over the axes before the last."


def _pooling_properties(channel_last: bool) -> tuple[Property, ...]:
    properties = (
        Property("kernel_shape", "shape", [2, 2], _KERNEL),
        Property("strides", "shape", None, _STRIDES),
        Property("ignore_border", "bool", True, _IGNORE_BORDER),
        Property("padding", "uint_array", [0, 0], _PADDING),
    )
    return properties + (Property("channel_last", "bool", False, _CHANNEL_LAST),) if channel_last else properties


register(
    LayerType(
        name="MaxPooling",
        category="Pooling",
        formula="o = max_{k in window} i",
        description="Takes the largest value in each window.",
        forward=max_pooling,
        infer_shape=pooling_shape,
        estimate=max_pooling_estimate,
        properties=_pooling_properties(channel_last=True),
        range_note="Outputs lie within the range of the inputs.",
    )
)

register(
    LayerType(
        name="AveragePooling",
        category="Pooling",
        formula="o = sum_{k in window} i / window size",
        description="Averages the values in each window.",
        forward=average_pooling,
        infer_shape=lambda shapes, props: pooling_shape(shapes, props, empty_window_matters=not props["including_pad"]),
        estimate=average_pooling_estimate,
        properties=(
            *_pooling_properties(channel_last=True),
            Property(
                "including_pad",
                "bool",
                True,
                "Divide by the window's size counting padding (as nnabla: up to L+p) rather than by the number "
                "of input values in it.",
            ),
        ),
        range_note="Outputs lie within the range of the inputs (and 0, where padding is counted).",
    )
)

register(
    LayerType(
        name="GlobalAveragePooling",
        category="Pooling",
        formula="o_c = sum_{x} i_{c,x} / size",
        description="Averages each map (everything after the channel axis) to one value: (C, H, W) -> (C, 1, 1).",
        forward=global_average_pooling,
        infer_shape=global_average_pooling_shape,
        estimate=global_average_pooling_estimate,
        range_note="Outputs lie within the range of the inputs.",
    )
)

register(
    LayerType(
        name="SumPooling",
        category="Pooling",
        formula="o = sum_{k in window} i",
        description="Sums the values in each window.",
        forward=sum_pooling,
        infer_shape=lambda shapes, props: pooling_shape(shapes, props, empty_window_matters=False),
        estimate=sum_pooling_estimate,
        properties=_pooling_properties(channel_last=False),
    )
)

register(
    LayerType(
        name="Unpooling",
        category="Pooling",
        formula="o_{k*y + j} = i_y (0 <= j < k, along each kernel axis)",
        description="Nearest-neighbour upsampling: repeats each value kernel_shape times along the last axes.",
        forward=unpooling,
        infer_shape=unpooling_shape,
        estimate=lambda inputs, shapes, props, params, dtype: inputs[0],
        properties=(Property("kernel_shape", "shape", [2, 2], "Repetitions along each of the last axes."),),
        range_note="Outputs are the input values, repeated.",
    )
)
