"""Convolution, pooling and embedding layers against independent references.

The references below never call nnspec: each is a plain nested Python loop over a small
array in float64, written from nnabla's definitions (functions.yaml and the CPU kernels):

* Convolution: y[n, m, o] = sum_{c, k} W[m, c, k] x[n, g*Cg + c, o*s + k*d - p] + b[m], with
  x = 0 outside the input, m in group g; output length (L + 2p - d(k-1) - 1) / s + 1 with
  C++'s integer division (toward zero).
* Deconvolution: every x[n, c, i] W[c, m, k] added to y[n, g*Og + m, i*s + k*d - p], the
  output s(L-1) + d(k-1) + 1 - 2p long.
* Pooling: window w covers w*s - p .. w*s - p + k - 1, its end clipped at L + p, the values
  taken from the part inside 0..L-1; AveragePooling divides by the clipped window's size
  (including_pad) or by the number of input values in it; output lengths
  (L + 2p - k) / s + 1 (ignore_border) or (L + p - 1) / s + 1, divided toward zero.

Each layer runs through the public API (nnspec.loads + nnspec.run) in float32 and float64
on inputs holding 0, negatives, +-100, +-1e4, 1e-30 and the dtype's smallest normal number.

Tolerances:

* MaxPooling, Unpooling and Embed copy input or weight values: their outputs must equal the
  reference exactly.
* The others sum K terms (products, or values divided by a window size). The classic a-priori
  bound of a floating-point sum of K terms is |error| <= gamma_K sum_i |t_i|, gamma_K ~ K eps,
  taken twice (for the roundings of products, of the bias, of the result) with K + 2:
  |got - ref| <= 2 (K + 2) eps sum_i |t_i| + tiny. A relative tolerance would not do: +-1e4
  beside 1e-30 in one sum cancels, so a correct float32 result can be far from the exact one
  relative to itself, never relative to the size of its terms. The layers are linear with
  non-negative coefficients in |x|, |W| and |b|, so sum_i |t_i| is the reference itself run on
  the absolute values. tiny (the dtype's smallest normal number) covers subnormal results.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates

from .layer_harness import (
    DTYPES,
    as_received,
    assert_shape_rule,
    case_params,
    forward_raising,
    layer_spec,
    run_spec,
)

TASK_LAYERS = {
    "Convolution",
    "DepthwiseConvolution",
    "Deconvolution",
    "DepthwiseDeconvolution",
    "Embed",
    "MaxPooling",
    "AveragePooling",
    "SumPooling",
    "GlobalAveragePooling",
    "Unpooling",
}


# --- independent references -------------------------------------------------------------
#
# Each takes the inputs (float64 arrays holding exactly the values nnspec receives, batch
# axis first), the properties as NNC defines them (defaults and derived padding written out
# by each case, never read from nnspec), and the parameters W and b in float64.


def c_div(a: int, b: int) -> int:
    """C++ integer division: the quotient truncated toward zero."""
    return int(a / b)


def _conv_get(x, n, c, pos, channel_last):
    """x at sample n, channel c, spatial position pos; 0 outside the input (zero padding)."""
    spatial = x.shape[1:-1] if channel_last else x.shape[2:]
    if any(not 0 <= q < length for q, length in zip(pos, spatial)):
        return 0.0
    return float(x[(n, *pos, c)] if channel_last else x[(n, c, *pos)])


def ref_convolution(inputs, props, params):
    x, W, b = inputs[0], params["W"], params.get("b")
    kernel, strides, dilation, padding = props["kernel"], props["strides"], props["dilation"], props["padding"]
    group, channel_last, maps = props["group"], props["channel_last"], props["out_maps"]
    channels = x.shape[-1] if channel_last else x.shape[1]
    spatial = x.shape[1:-1] if channel_last else x.shape[2:]
    out = [
        c_div(length + 2 * p - d * (k - 1) - 1, s) + 1
        for length, k, s, d, p in zip(spatial, kernel, strides, dilation, padding)
    ]
    per_group, maps_per_group = channels // group, maps // group
    y = np.empty((x.shape[0], *out, maps) if channel_last else (x.shape[0], maps, *out))
    for n in range(x.shape[0]):
        for m in range(maps):
            g = m // maps_per_group
            for o in itertools.product(*(range(v) for v in out)):
                terms = [0.0 if b is None else float(b[m])]
                for c in range(per_group):
                    for k in itertools.product(*(range(v) for v in kernel)):
                        pos = [oi * s + ki * d - p for oi, ki, s, d, p in zip(o, k, strides, dilation, padding)]
                        w = W[(m, *k, c)] if channel_last else W[(m, c, *k)]
                        terms.append(float(w) * _conv_get(x, n, g * per_group + c, pos, channel_last))
                y[(n, *o, m) if channel_last else (n, m, *o)] = math.fsum(terms)
    return y


def ref_depthwise_convolution(inputs, props, params):
    """Output map j = c*M + i filters input map c with W[j]."""
    x, W, b = inputs[0], params["W"], params.get("b")
    kernel, strides, dilation, padding, mult = (
        props["kernel"],
        props["strides"],
        props["dilation"],
        props["padding"],
        props["multiplier"],
    )
    out = [
        c_div(n + 2 * p - d * (k - 1) - 1, s) + 1
        for n, k, s, d, p in zip(x.shape[2:], kernel, strides, dilation, padding)
    ]
    maps = x.shape[1] * mult
    y = np.empty((x.shape[0], maps, *out))
    for n in range(x.shape[0]):
        for j in range(maps):
            for o in itertools.product(*(range(v) for v in out)):
                terms = [0.0 if b is None else float(b[j])]
                for k in itertools.product(*(range(v) for v in kernel)):
                    pos = [oi * s + ki * d - p for oi, ki, s, d, p in zip(o, k, strides, dilation, padding)]
                    terms.append(float(W[(j, *k)]) * _conv_get(x, n, j // mult, pos, False))
                y[(n, j, *o)] = math.fsum(terms)
    return y


def _spread(x, out_maps, out, kernel, strides, dilation, padding, channel_last, target, weight):
    """Deconvolution by scattering: every x[n, c, i] times a tap reaches output i*s + k*d - p;
    ``target(c, m)`` is the output map input map c reaches through tap set m, ``weight(c, m, k)`` the tap."""
    terms: dict[tuple, list[float]] = {}
    channels = x.shape[-1] if channel_last else x.shape[1]
    spatial = x.shape[1:-1] if channel_last else x.shape[2:]
    for n in range(x.shape[0]):
        for c in range(channels):
            for i in itertools.product(*(range(v) for v in spatial)):
                value = float(x[(n, *i, c)] if channel_last else x[(n, c, *i)])
                for m, to in target(c):
                    for k in itertools.product(*(range(v) for v in kernel)):
                        pos = tuple(ii * s + ki * d - p for ii, ki, s, d, p in zip(i, k, strides, dilation, padding))
                        if all(0 <= q < length for q, length in zip(pos, out)):
                            terms.setdefault((n, to, pos), []).append(value * float(weight(c, m, k)))
    return terms


def _deconv_out(spatial, kernel, strides, dilation, padding):
    return [s * (n - 1) + d * (k - 1) + 1 - 2 * p for n, k, s, d, p in zip(spatial, kernel, strides, dilation, padding)]


def ref_deconvolution(inputs, props, params):
    x, W, b = inputs[0], params["W"], params.get("b")
    kernel, strides, dilation, padding = props["kernel"], props["strides"], props["dilation"], props["padding"]
    group, channel_last, maps = props["group"], props["channel_last"], props["out_maps"]
    channels = x.shape[-1] if channel_last else x.shape[1]
    spatial = x.shape[1:-1] if channel_last else x.shape[2:]
    out = _deconv_out(spatial, kernel, strides, dilation, padding)
    per_group, maps_per_group = channels // group, maps // group

    def target(c):
        return [(m, (c // per_group) * maps_per_group + m) for m in range(maps_per_group)]

    def weight(c, m, k):
        return W[(c, *k, m)] if channel_last else W[(c, m, *k)]

    terms = _spread(x, maps, out, kernel, strides, dilation, padding, channel_last, target, weight)
    y = np.empty((x.shape[0], *out, maps) if channel_last else (x.shape[0], maps, *out))
    for n in range(x.shape[0]):
        for m in range(maps):
            for o in itertools.product(*(range(v) for v in out)):
                total = math.fsum([0.0 if b is None else float(b[m]), *terms.get((n, m, o), [])])
                y[(n, *o, m) if channel_last else (n, m, *o)] = total
    return y


def ref_depthwise_deconvolution(inputs, props, params):
    """Input map c spreads through W[c] into output map c // divisor."""
    x, W, b = inputs[0], params["W"], params.get("b")
    kernel, strides, dilation, padding, divisor = (
        props["kernel"],
        props["strides"],
        props["dilation"],
        props["padding"],
        props["divisor"],
    )
    out = _deconv_out(x.shape[2:], kernel, strides, dilation, padding)
    maps = x.shape[1] // divisor
    terms = _spread(
        x,
        maps,
        out,
        kernel,
        strides,
        dilation,
        padding,
        False,
        lambda c: [(0, c // divisor)],
        lambda c, m, k: W[(c, *k)],
    )
    y = np.empty((x.shape[0], maps, *out))
    for n in range(x.shape[0]):
        for m in range(maps):
            for o in itertools.product(*(range(v) for v in out)):
                y[(n, m, *o)] = math.fsum([0.0 if b is None else float(b[m]), *terms.get((n, m, o), [])])
    return y


def ref_embed(inputs, props, params):
    """Row int(i) of W (int() truncates toward zero, as nnabla's cast to an integer index does)."""
    x, W = inputs[0], params["W"]
    y = np.empty(x.shape + W.shape[1:])
    for index in np.ndindex(x.shape):
        v = float(x[index])
        row = int(v) if math.isfinite(v) and -1 < v < W.shape[0] else None
        for tail in np.ndindex(W.shape[1:]):
            y[index + tail] = math.nan if row is None else float(W[(row, *tail)])
    return y


def _pool(x, props, combine):
    """Every output position of nnabla's pooling, window by window: combine(values, clipped size)."""
    kernel, padding, ignore_border = props["kernel"], props["padding"], props["ignore_border"]
    strides = props.get("strides") or kernel  # NNC's default Strides: *KernelShape
    channel_last = props.get("channel_last", False)
    last = x.ndim - (1 if channel_last else 0)
    axes = list(range(last - len(kernel), last))
    out_shape = list(x.shape)
    for a, k, s, p in zip(axes, kernel, strides, padding):
        length = x.shape[a]
        out_shape[a] = c_div(length + 2 * p - k, s) + 1 if ignore_border else c_div(length + p - 1, s) + 1
    y = np.empty(out_shape)
    for index in np.ndindex(*out_shape):
        ranges, size = [], 1
        for a, k, s, p in zip(axes, kernel, strides, padding):
            start = index[a] * s - p
            end = min(start + k, x.shape[a] + p)
            size *= end - start
            ranges.append(range(max(start, 0), min(end, x.shape[a])))
        values = []
        for pos in itertools.product(*ranges):
            source = list(index)
            for a, q in zip(axes, pos):
                source[a] = q
            values.append(float(x[tuple(source)]))
        y[index] = combine(values, size)
    return y


def ref_max_pooling(inputs, props, params):
    return _pool(inputs[0], props, lambda values, size: max(values))


def ref_average_pooling(inputs, props, params):
    if props["including_pad"]:
        return _pool(inputs[0], props, lambda values, size: math.fsum(values) / size)
    return _pool(inputs[0], props, lambda values, size: math.fsum(values) / len(values))


def ref_sum_pooling(inputs, props, params):
    return _pool(inputs[0], props, lambda values, size: math.fsum(values))


def ref_global_average_pooling(inputs, props, params):
    x = inputs[0]
    y = np.empty((x.shape[0], x.shape[1], 1, 1))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            values = [float(v) for v in x[n, c].ravel()]
            y[n, c, 0, 0] = math.fsum(values) / len(values)
    return y


def ref_unpooling(inputs, props, params):
    """y[..., k*i + j] = x[..., i] along each of the last len(kernel) axes."""
    x, kernel = inputs[0], props["kernel"]
    lead = x.ndim - len(kernel)
    y = np.empty(x.shape[:lead] + tuple(n * k for n, k in zip(x.shape[lead:], kernel)))
    for index in np.ndindex(y.shape):
        source = index[:lead] + tuple(i // k for i, k in zip(index[lead:], kernel))
        y[index] = x[source]
    return y


REFERENCES: dict[str, Callable[..., np.ndarray]] = {
    "Convolution": ref_convolution,
    "DepthwiseConvolution": ref_depthwise_convolution,
    "Deconvolution": ref_deconvolution,
    "DepthwiseDeconvolution": ref_depthwise_deconvolution,
    "Embed": ref_embed,
    "MaxPooling": ref_max_pooling,
    "AveragePooling": ref_average_pooling,
    "SumPooling": ref_sum_pooling,
    "GlobalAveragePooling": ref_global_average_pooling,
    "Unpooling": ref_unpooling,
}
EXACT = {"MaxPooling", "Unpooling", "Embed"}  # outputs are copies of input or weight values


# --- inputs -----------------------------------------------------------------------------


def edge_values(dtype: str) -> list[float]:
    tiny = float(np.finfo(dtype).tiny)
    return [0.0, 1.0, -1.0, 0.5, -2.5, 100.0, -100.0, 1e4, -1e4, 1e-30, tiny, -3.25, 0.75, 7.0, -0.125, 2.0, -6.0, 13.5]


def sample_values(dtype: str, shape: tuple[int, ...], batch: int = 2) -> np.ndarray:
    """(batch, *shape) values cycling through the edge values in a scrambled order."""
    values = edge_values(dtype)
    count = batch * math.prod(shape)
    return np.array([values[(k * 7 + k // len(values)) % len(values)] for k in range(count)]).reshape(batch, *shape)


def weights(scope: str, **shapes: tuple[int, ...]) -> Callable[[], dict[str, np.ndarray]]:
    """Parameters named as nnabla names them (y/{scope}/{name}), drawn from N(0, 0.5^2)."""

    def make() -> dict[str, np.ndarray]:
        rng = np.random.default_rng(2024)
        return {f"y/{scope}/{name}": rng.normal(0.0, 0.5, shape) for name, shape in shapes.items()}

    return make


# --- cases ------------------------------------------------------------------------------


@dataclass
class Case:
    """One layer configuration: a layer y after an Input x of the given size."""

    id: str
    type: str
    layer: str  # the layer's properties as YAML, without name/type
    size: tuple[int, ...]
    ref_props: dict[str, Any] = field(default_factory=dict)
    params: Callable[[], dict[str, np.ndarray]] | None = None
    terms: int = 0  # the most terms summed into one output (the tolerance's K); 0 for exact layers
    data: Callable[[str], np.ndarray] | None = None

    def spec_text(self, dtype: str) -> str:  # y reads x as the layer before it: no input
        return layer_spec(dtype, self.type, {"x": self.size}, self.layer, wired=False, outputs=False)

    def inputs(self, dtype: str) -> np.ndarray:
        return self.data(dtype) if self.data else sample_values(dtype, self.size)


def conv(kernel, padding, strides=None, dilation=None, out_maps=16, group=1, channel_last=False):
    """A Convolution's properties for the reference, NNC's defaults written out."""
    ones = (1,) * len(kernel)
    return {
        "kernel": kernel,
        "padding": padding,
        "strides": strides or ones,
        "dilation": dilation or ones,
        "out_maps": out_maps,
        "group": group,
        "channel_last": channel_last,
    }


def depthwise(kernel, padding, strides=None, dilation=None, multiplier=1):
    ones = (1,) * len(kernel)
    return {
        "kernel": kernel,
        "padding": padding,
        "strides": strides or ones,
        "dilation": dilation or ones,
        "multiplier": multiplier,
    }


def deconv(kernel, padding, strides=None, dilation=None, out_maps=16, group=1, channel_last=False):
    return conv(kernel, padding, strides, dilation, out_maps, group, channel_last)


def dw_deconv(kernel, padding, strides=None, dilation=None, divisor=1):
    props = depthwise(kernel, padding, strides, dilation)
    del props["multiplier"]
    return {**props, "divisor": divisor}


def pool(kernel=(2, 2), strides=None, padding=(0, 0), ignore_border=True, channel_last=False, including_pad=True):
    return {
        "kernel": kernel,
        "strides": strides,
        "padding": padding,
        "ignore_border": ignore_border,
        "channel_last": channel_last,
        "including_pad": including_pad,
    }


def embed_data(shape: tuple[int, ...], num_class: int) -> Callable[[str], np.ndarray]:
    """Class indices: the first and last class, fractions (truncated toward zero: 2.7 -> 2,
    -0.5 -> 0, num_class - 0.01 -> num_class - 1) and others."""

    def make(dtype: str) -> np.ndarray:
        values = [0.0, num_class - 1, 2.7, -0.5, num_class - 0.01, 1.0, 3.0, 0.25]
        count = 2 * math.prod(shape)
        return np.array([values[k % len(values)] for k in range(count)]).reshape(2, *shape)

    return make


IMAGE = (3, 7, 6)  # 3 channels, 7 x 6
CASES = [
    # Convolution: NNC's defaults are out_maps 16, kernel 3x3, border_mode same (padding 1, 1)
    Case(
        "conv-defaults", "Convolution", "", IMAGE, conv((3, 3), (1, 1)), weights("conv", W=(16, 3, 3, 3), b=(16,)), 28
    ),
    Case(
        "conv-valid",
        "Convolution",
        "out_maps: 4, kernel_shape: [3, 2], border_mode: valid",
        IMAGE,
        conv((3, 2), (0, 0), out_maps=4),
        weights("conv", W=(4, 3, 3, 2), b=(4,)),
        19,
    ),
    Case(
        "conv-full",
        "Convolution",
        "out_maps: 2, kernel_shape: [2, 3], border_mode: full",
        IMAGE,
        conv((2, 3), (1, 2), out_maps=2),  # full: k - 1
        weights("conv", W=(2, 3, 2, 3), b=(2,)),
        19,
    ),
    Case(
        "conv-same-strides-dilation",
        "Convolution",
        "out_maps: 4, kernel_shape: [3, 3], strides: [2, 1], dilation: [1, 2]",
        IMAGE,
        conv((3, 3), (1, 2), (2, 1), (1, 2), out_maps=4),  # same: floor(d (k - 1) / 2)
        weights("conv", W=(4, 3, 3, 3), b=(4,)),
        28,
    ),
    Case(
        "conv-padding-overrides-border-mode",
        "Convolution",
        "out_maps: 2, kernel_shape: [3, 3], border_mode: full, padding: [0, 1]",
        IMAGE,
        conv((3, 3), (0, 1), out_maps=2),
        weights("conv", W=(2, 3, 3, 3), b=(2,)),
        28,
    ),
    Case(
        "conv-group",
        "Convolution",
        "out_maps: 6, kernel_shape: [2, 2], border_mode: valid, group: 3",
        IMAGE,
        conv((2, 2), (0, 0), out_maps=6, group=3),
        weights("conv", W=(6, 1, 2, 2), b=(6,)),
        5,
    ),
    Case(
        "conv-group-2-maps-each",
        "Convolution",
        "out_maps: 4, kernel_shape: [2, 2], border_mode: valid, group: 2",
        (4, 7, 6),
        conv((2, 2), (0, 0), out_maps=4, group=2),
        weights("conv", W=(4, 2, 2, 2), b=(4,)),
        9,
    ),
    Case(
        "conv-channel-last",
        "Convolution",
        "out_maps: 6, kernel_shape: [2, 1], border_mode: valid, strides: [1, 2], group: 3, channel_last: true",
        (7, 6, 3),
        conv((2, 1), (0, 0), (1, 2), out_maps=6, group=3, channel_last=True),
        weights("conv", W=(6, 2, 1, 1), b=(6,)),
        3,
    ),
    Case(
        "conv-no-bias-1x1",
        "Convolution",
        "out_maps: 3, kernel_shape: [1, 1], with_bias: false",
        IMAGE,
        conv((1, 1), (0, 0), out_maps=3),
        weights("conv", W=(3, 3, 1, 1)),
        4,
    ),
    Case(
        "conv-1d",
        "Convolution",
        "out_maps: 2, kernel_shape: [3], strides: [2], dilation: [2]",
        (3, 9),
        conv((3,), (2,), (2,), (2,), out_maps=2),
        weights("conv", W=(2, 3, 3), b=(2,)),
        10,
    ),
    Case(
        "conv-3d",
        "Convolution",
        "out_maps: 2, kernel_shape: [2, 2, 2], strides: [1, 1, 1], dilation: [1, 1, 1], border_mode: valid",
        (2, 4, 3, 3),
        conv((2, 2, 2), (0, 0, 0), out_maps=2),
        weights("conv", W=(2, 2, 2, 2, 2), b=(2,)),
        17,
    ),
    # nnabla keeps one output where the kernel overhangs by less than a stride: (2 - 3) / 2 + 1 = 1
    Case(
        "conv-overhang",
        "Convolution",
        "out_maps: 2, kernel_shape: [3, 3], strides: [2, 2], border_mode: valid",
        (3, 2, 2),
        conv((3, 3), (0, 0), (2, 2), out_maps=2),
        weights("conv", W=(2, 3, 3, 3), b=(2,)),
        28,
    ),
    # DepthwiseConvolution: NNC's defaults are kernel 5x5, border_mode valid, multiplier 1
    Case(
        "depthwise-defaults",
        "DepthwiseConvolution",
        "",
        IMAGE,
        depthwise((5, 5), (0, 0)),
        weights("depthwise_conv", W=(3, 5, 5), b=(3,)),
        26,
    ),
    Case(
        "depthwise-multiplier-same",
        "DepthwiseConvolution",
        "kernel_shape: [3, 3], border_mode: same, multiplier: 2",
        IMAGE,
        depthwise((3, 3), (1, 1), multiplier=2),
        weights("depthwise_conv", W=(6, 3, 3), b=(6,)),
        10,
    ),
    Case(
        "depthwise-full-strides-dilation",
        "DepthwiseConvolution",
        "kernel_shape: [2, 3], border_mode: full, strides: [2, 1], dilation: [2, 1]",
        IMAGE,
        depthwise((2, 3), (2, 2), (2, 1), (2, 1)),  # full: d (k - 1)
        weights("depthwise_conv", W=(3, 2, 3), b=(3,)),
        7,
    ),
    Case(
        "depthwise-padding-no-bias",
        "DepthwiseConvolution",
        "kernel_shape: [3, 3], padding: [2, 0], with_bias: false",
        IMAGE,
        depthwise((3, 3), (2, 0)),
        weights("depthwise_conv", W=(3, 3, 3)),
        10,
    ),
    Case(
        "depthwise-1d",
        "DepthwiseConvolution",
        "kernel_shape: [3], strides: [1], dilation: [1], multiplier: 2",
        (3, 9),
        depthwise((3,), (0,), multiplier=2),
        weights("depthwise_conv", W=(6, 3), b=(6,)),
        4,
    ),
    # Deconvolution: NNC's defaults are out_maps 16, kernel 5x5, padding 0
    Case(
        "deconv-defaults",
        "Deconvolution",
        "",
        (3, 4, 3),
        deconv((5, 5), (0, 0)),
        weights("deconv", W=(3, 16, 5, 5), b=(16,)),
        76,
    ),
    Case(
        "deconv-strides-dilation-padding",
        "Deconvolution",
        "out_maps: 4, kernel_shape: [3, 2], strides: [2, 3], dilation: [1, 2], padding: [1, 1]",
        (3, 4, 3),
        deconv((3, 2), (1, 1), (2, 3), (1, 2), out_maps=4),
        weights("deconv", W=(3, 4, 3, 2), b=(4,)),
        19,
    ),
    Case(
        "deconv-group",
        "Deconvolution",
        "out_maps: 6, kernel_shape: [2, 2], group: 3",
        (3, 4, 3),
        deconv((2, 2), (0, 0), out_maps=6, group=3),
        weights("deconv", W=(3, 2, 2, 2), b=(6,)),
        5,
    ),
    Case(
        "deconv-group-2-maps-each",
        "Deconvolution",
        "out_maps: 6, kernel_shape: [2, 2], strides: [2, 1], group: 2",
        (4, 4, 3),
        deconv((2, 2), (0, 0), (2, 1), out_maps=6, group=2),
        weights("deconv", W=(4, 3, 2, 2), b=(6,)),
        9,
    ),
    Case(
        "deconv-channel-last",
        "Deconvolution",
        "out_maps: 2, kernel_shape: [3, 3], strides: [2, 2], padding: [1, 0], channel_last: true",
        (4, 3, 3),
        deconv((3, 3), (1, 0), (2, 2), out_maps=2, channel_last=True),
        weights("deconv", W=(3, 3, 3, 2), b=(2,)),
        28,
    ),
    Case(
        "deconv-1d-no-bias",
        "Deconvolution",
        "out_maps: 2, kernel_shape: [3], strides: [2], dilation: [1], padding: [0], with_bias: false",
        (3, 5),
        deconv((3,), (0,), (2,), out_maps=2),
        weights("deconv", W=(3, 2, 3)),
        10,
    ),
    # DepthwiseDeconvolution: NNC's defaults are kernel 5x5, padding 0, divisor 1
    Case(
        "depthwise-deconv-defaults",
        "DepthwiseDeconvolution",
        "",
        (3, 4, 3),
        dw_deconv((5, 5), (0, 0)),
        weights("depthwise_deconv", W=(3, 5, 5), b=(3,)),
        26,
    ),
    Case(
        "depthwise-deconv-divisor",
        "DepthwiseDeconvolution",
        "kernel_shape: [2, 3], divisor: 2, strides: [2, 1], dilation: [1, 2], padding: [1, 1]",
        (4, 4, 3),
        dw_deconv((2, 3), (1, 1), (2, 1), (1, 2), divisor=2),
        weights("depthwise_deconv", W=(4, 2, 3), b=(2,)),
        13,
    ),
    Case(
        "depthwise-deconv-1d-no-bias",
        "DepthwiseDeconvolution",
        "kernel_shape: [3], strides: [3], dilation: [1], padding: [0], divisor: 3, with_bias: false",
        (3, 5),
        dw_deconv((3,), (0,), (3,), divisor=3),
        weights("depthwise_deconv", W=(3, 3)),
        10,
    ),
    # Embed: NNC's defaults are num_class 100, shape 32
    Case("embed-defaults", "Embed", "", (4,), {}, weights("embed", W=(100, 32)), data=embed_data((4,), 100)),
    Case(
        "embed-2d",
        "Embed",
        "num_class: 5, shape: [2, 3]",
        (2, 3),
        {},
        weights("embed", W=(5, 2, 3)),
        data=embed_data((2, 3), 5),
    ),
    # MaxPooling: NNC's defaults are kernel 2x2, strides = kernel, ignore_border true, padding 0
    Case("max-defaults", "MaxPooling", "", IMAGE, pool()),
    Case("max-keep-border", "MaxPooling", "ignore_border: false", IMAGE, pool(ignore_border=False)),
    Case(
        "max-strides-padding",
        "MaxPooling",
        "kernel_shape: [3, 2], strides: [2, 1], padding: [1, 1]",
        IMAGE,
        pool((3, 2), (2, 1), (1, 1)),
    ),
    Case(
        "max-padding-keep-border",
        "MaxPooling",
        "kernel_shape: [3, 3], strides: [2, 2], padding: [2, 1], ignore_border: false",
        IMAGE,
        pool((3, 3), (2, 2), (2, 1), ignore_border=False),
    ),
    Case(
        "max-channel-last",
        "MaxPooling",
        "kernel_shape: [2, 3], channel_last: true",
        (7, 6, 3),
        pool((2, 3), channel_last=True),
    ),
    Case(
        "max-3d",
        "MaxPooling",
        "kernel_shape: [2, 2, 2], padding: [0, 0, 0]",
        (2, 5, 4, 3),
        pool((2, 2, 2), padding=(0, 0, 0)),
    ),
    Case("max-2d-sample", "MaxPooling", "", (7, 6), pool()),
    Case("max-overhang", "MaxPooling", "", (2, 1, 3), pool()),  # (1 - 2) / 2 + 1 = 1 in C++
    # AveragePooling: NNC's defaults add including_pad true
    Case("avg-defaults", "AveragePooling", "", IMAGE, pool(), terms=4),
    Case(
        "avg-padding-including",
        "AveragePooling",
        "kernel_shape: [3, 3], strides: [2, 2], padding: [1, 1]",
        IMAGE,
        pool((3, 3), (2, 2), (1, 1)),
        terms=9,
    ),
    Case(
        "avg-padding-excluding",
        "AveragePooling",
        "kernel_shape: [3, 3], strides: [2, 2], padding: [1, 1], including_pad: false",
        IMAGE,
        pool((3, 3), (2, 2), (1, 1), including_pad=False),
        terms=9,
    ),
    Case(
        "avg-keep-border-including",
        "AveragePooling",
        "kernel_shape: [3, 2], strides: [2, 2], padding: [1, 0], ignore_border: false",
        IMAGE,
        pool((3, 2), (2, 2), (1, 0), ignore_border=False),
        terms=6,
    ),
    Case(
        "avg-keep-border-excluding",
        "AveragePooling",
        "kernel_shape: [3, 2], strides: [2, 2], padding: [1, 0], ignore_border: false, including_pad: false",
        IMAGE,
        pool((3, 2), (2, 2), (1, 0), ignore_border=False, including_pad=False),
        terms=6,
    ),
    Case(
        "avg-channel-last",
        "AveragePooling",
        "kernel_shape: [2, 2], strides: [1, 2], channel_last: true, including_pad: false",
        (7, 6, 3),
        pool((2, 2), (1, 2), channel_last=True, including_pad=False),
        terms=4,
    ),
    # the last window along 7 rows starts at 6 and is cut at L + p = 7: it divides by 1 x 2, not 2 x 2
    Case("avg-keep-border-cut", "AveragePooling", "ignore_border: false", IMAGE, pool(ignore_border=False), terms=4),
    # padding as wide as the kernel: the first windows hold only padding and average to 0
    Case("avg-padding-only-windows", "AveragePooling", "padding: [2, 2]", IMAGE, pool(padding=(2, 2)), terms=4),
    # SumPooling (no channel_last in NNC)
    Case("sum-defaults", "SumPooling", "", IMAGE, pool(), terms=4),
    Case(
        "sum-keep-border-strides-padding",
        "SumPooling",
        "kernel_shape: [3, 2], strides: [2, 1], padding: [1, 1], ignore_border: false",
        IMAGE,
        pool((3, 2), (2, 1), (1, 1), ignore_border=False),
        terms=6,
    ),
    Case("gap-image", "GlobalAveragePooling", "", IMAGE, terms=42),
    Case("gap-2d", "GlobalAveragePooling", "", (3, 5), terms=5),
    Case("gap-1d", "GlobalAveragePooling", "", (4,), terms=1),
    # Unpooling: NNC's default kernel is 2x2
    Case("unpool-defaults", "Unpooling", "", (3, 4, 3), {"kernel": (2, 2)}),
    Case("unpool-1d", "Unpooling", "kernel_shape: [3]", (3, 5), {"kernel": (3,)}),
    Case("unpool-3d", "Unpooling", "kernel_shape: [1, 2, 3]", (2, 2, 3), {"kernel": (1, 2, 3)}),
]
CASE_PARAMS = case_params(CASES)


def run_case(case: Case, dtype: str):
    """Load and run a case with numpy's RuntimeWarnings as errors; (spec, result, data, params)."""
    data = case.inputs(dtype)
    params = case.params() if case.params else None
    spec, result = run_spec(case.spec_text(dtype), {"x": data}, params)
    return spec, result, data, params


def reference(case: Case, dtype: str, data, params, absolute: bool = False) -> np.ndarray:
    """The reference on exactly the values nnspec received (or on their absolute values)."""
    to = np.abs if absolute else (lambda a: a)
    ref_params = {key.rsplit("/", 1)[-1]: to(as_received(value, dtype)) for key, value in (params or {}).items()}
    return REFERENCES[case.type]([to(as_received(data, dtype))], case.ref_props, ref_params)


def assert_sum_close(got, expected, magnitude, terms: int, dtype: str) -> None:
    """|got - ref| <= 2 (K + 2) eps sum|terms| + tiny (see the module docstring)."""
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    eps, tiny = float(np.finfo(dtype).eps), float(np.finfo(dtype).tiny)
    bound = 2 * (terms + 2) * eps * magnitude + tiny
    error = np.abs(got.astype(np.float64) - expected)
    assert np.all(error <= bound), f"max error {error.max()}, bound there {bound[np.argmax(error - bound)]}"


# --- coverage ---------------------------------------------------------------------------


def test_references_are_exactly_this_tasks_layers():
    assert set(REFERENCES) == TASK_LAYERS
    assert TASK_LAYERS <= set(nnspec.layer_types())


def test_every_reference_has_a_case():
    assert {case.type for case in CASES} == set(REFERENCES)


# --- every case against its reference ---------------------------------------------------


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data, params = run_case(case, dtype)
    got = result.outputs["y"]
    expected = reference(case, dtype, data, params)
    if case.type in EXACT:
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected.astype(dtype))
    else:
        assert_sum_close(got, expected, reference(case, dtype, data, params, absolute=True), case.terms, dtype)


@pytest.mark.parametrize(
    "case, dtype", case_params([case for case in CASES if case.type in ("Convolution", "DepthwiseConvolution")])
)
def test_convolution_made_a_sample_at_a_time_matches_the_reference(case: Case, dtype: str, monkeypatch):
    """At a large batch a convolution makes and multiplies its columns a few samples at a time
    (nnspec.layers.basic.COLUMNS_AT_ONCE); here, one sample at a time."""
    import nnspec.layers.basic

    monkeypatch.setattr(nnspec.layers.basic, "COLUMNS_AT_ONCE", 1)
    spec, result, data, params = run_case(case, dtype)
    assert len(data) > 1
    magnitude = reference(case, dtype, data, params, absolute=True)
    assert_sum_close(result.outputs["y"], reference(case, dtype, data, params), magnitude, case.terms, dtype)


def test_a_convolutions_columns_are_bounded_at_a_large_batch():
    """Its columns, 9 values for each input value under a 3x3 kernel, are made COLUMNS_AT_ONCE
    values at a time: the peak of the call stays within the padded input, the output and one part
    of columns (a whole batch of columns would be 9 times the input, 75 MB here)."""
    import tracemalloc

    import nnspec.layers.basic

    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [8, 64, 64]}\n"
        "  - {name: c, type: Convolution, out_maps: 8, kernel_shape: [3, 3], border_mode: same}\n"
    )
    layer = spec.layers["c"]
    x = np.ones((64, 8, 64, 64), np.float32)  # 8.4 MB
    params = {"W": np.ones((8, 8, 3, 3), np.float32), "b": np.ones(8, np.float32)}
    tracemalloc.start()
    try:
        y = layer.type.forward([x], layer.props, params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(y[:, :, 1:-1, 1:-1], 73.0)  # 72 ones times one, plus the bias
    padded = 64 * 8 * 66 * 66 * 4
    part = 4 * nnspec.layers.basic.COLUMNS_AT_ONCE
    assert peak <= y.nbytes + padded + part + 2**20  # + 1 MiB for the rest


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data, params = run_case(case, dtype)
    assert_shape_rule(spec, result.outputs["y"], len(data))


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The runner silences numpy's floating-point warnings (it reports NaN/Inf itself); the
    forward function called directly must raise none on these finite inputs."""
    spec, result, data, params = run_case(case, dtype)
    layer = spec.layers["y"]
    forward_raising(layer, [np.asarray(data).astype(dtype)], result.layer_parameters["y"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_averages_of_the_largest_values_do_not_overflow(dtype):
    """Averages of values near the dtype's largest are finite: no sum overflows first."""
    big = float(np.finfo(dtype).max)
    x = np.full((1, 1, 2, 2), big, dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        avg = nnspec.layer_types()["AveragePooling"].forward([x], _pool_props(), {})
        gap = nnspec.layer_types()["GlobalAveragePooling"].forward([x], {}, {})
        total = nnspec.layer_types()["SumPooling"].forward([x], _pool_props(), {})
    np.testing.assert_array_equal(avg, np.full((1, 1, 1, 1), big, dtype=dtype))
    np.testing.assert_array_equal(gap, np.full((1, 1, 1, 1), big, dtype=dtype))
    assert np.isposinf(total).all()  # the true sum, 4 * max, is beyond the dtype: inf is right


def _pool_props(**changes):
    props = {
        "kernel_shape": (2, 2),
        "strides": None,
        "ignore_border": True,
        "padding": (0, 0),
        "channel_last": False,
        "including_pad": True,
    }
    return {**props, **changes}


# --- sizes worked by hand -----------------------------------------------------------------


def _shape_of(layer: str, size) -> tuple[int, ...]:
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {list(size)}}}\n  - {{name: y, {layer}}}\n"
    )
    return spec.layers["y"].shape


@pytest.mark.parametrize(
    "layer, expected",
    [
        # 7 x 6 input, kernel 3 x 2: valid 7-3+1, 6-2+1; full 7+3-1, 6+2-1; same pads floor((k-1)/2) = 1, 0
        ("type: Convolution, out_maps: 2, kernel_shape: [3, 2], border_mode: valid", (2, 5, 5)),
        ("type: Convolution, out_maps: 2, kernel_shape: [3, 2], border_mode: full", (2, 9, 7)),
        ("type: Convolution, out_maps: 2, kernel_shape: [3, 2], border_mode: same", (2, 7, 5)),
        ("type: Convolution, out_maps: 2, kernel_shape: [3, 3]", (2, 7, 6)),  # default same: the size kept
        # dilation 2 spans 5: same pads 2 and keeps the size;
        # strides 2: (7 + 4 - 5) / 2 + 1 = 4, (6 + 4 - 5) / 2 + 1 = 3
        ("type: Convolution, out_maps: 2, kernel_shape: [3, 3], dilation: [2, 2]", (2, 7, 6)),
        ("type: Convolution, out_maps: 2, kernel_shape: [3, 3], dilation: [2, 2], strides: [2, 2]", (2, 4, 3)),
        ("type: DepthwiseConvolution", (3, 3, 2)),  # 5 x 5 valid
        ("type: DepthwiseConvolution, multiplier: 3, border_mode: full", (9, 11, 10)),
        # s (L - 1) + d (k - 1) + 1 - 2p: 2*6 + 3 - 2 = 13, 1*5 + 2*1 + 1 - 0 = 8
        (
            "type: Deconvolution, out_maps: 4, kernel_shape: [3, 2], strides: [2, 1], dilation: [1, 2], "
            "padding: [1, 0]",
            (4, 13, 8),
        ),
        ("type: DepthwiseDeconvolution, divisor: 3", (1, 11, 10)),
        ("type: Embed, num_class: 10, shape: [4, 2]", (3, 7, 6, 4, 2)),
        # pooling 2 x 2: ignore_border (7 - 2) / 2 + 1 = 3, (6 - 2) / 2 + 1 = 3; else (7 - 1) / 2 + 1 = 4, 3
        ("type: MaxPooling", (3, 3, 3)),
        ("type: MaxPooling, ignore_border: false", (3, 4, 3)),
        ("type: AveragePooling, kernel_shape: [3, 3], strides: [2, 2], padding: [1, 1]", (3, 4, 3)),
        (
            "type: AveragePooling, kernel_shape: [3, 3], strides: [2, 2], padding: [1, 1], ignore_border: false",
            (3, 4, 4),
        ),
        ("type: SumPooling, kernel_shape: [3, 3], strides: [1, 1]", (3, 5, 4)),
        ("type: GlobalAveragePooling", (3, 1, 1)),
        ("type: Unpooling, kernel_shape: [2, 3]", (3, 14, 18)),
    ],
)
def test_output_sizes_by_hand(layer, expected):
    assert _shape_of(layer, IMAGE) == expected


def test_unpooling_by_hand():
    spec = nnspec.loads(
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [1, 2, 2]}\n"
        "  - {name: y, type: Unpooling, kernel_shape: [2, 3]}\n"
    )
    got = nnspec.run(spec, {"x": np.array([[[[1.0, 2.0], [3.0, 4.0]]]])}).outputs["y"][0, 0]
    np.testing.assert_array_equal(got, [[1, 1, 1, 2, 2, 2], [1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4], [3, 3, 3, 4, 4, 4]])


def test_average_pooling_divisors_by_hand():
    """A 3 x 3 input of ones, kernel 2 x 2, padding 1, stride 2 (2 x 2 outputs): each window holds
    one input value at the corner (0, 0) and more elsewhere. including_pad divides by the window's
    4 positions; excluding divides by the input values in it, so every average is 1."""
    text = (
        "nnspec: 1\ndtype: float64\nlayers:\n  - {{name: x, type: Input, size: [1, 3, 3]}}\n"
        "  - {{name: y, type: AveragePooling, padding: [1, 1], including_pad: {}}}\n"
    )
    ones = np.ones((1, 1, 3, 3))
    with_pad = nnspec.run(nnspec.loads(text.format("true")), {"x": ones}).outputs["y"][0, 0]
    without = nnspec.run(nnspec.loads(text.format("false")), {"x": ones}).outputs["y"][0, 0]
    np.testing.assert_array_equal(with_pad, [[1 / 4, 2 / 4], [2 / 4, 4 / 4]])
    np.testing.assert_array_equal(without, [[1, 1], [1, 1]])


def test_average_pooling_counts_padding_only_up_to_l_plus_p():
    """ignore_border false, no padding, kernel 2 x 2 on 3 x 3 ones: the windows starting at 2 are cut
    at L + p = 3, so nnabla divides them by 2 (1 x 2 or 2 x 1) or 1 even with including_pad: every
    average is 1, not 2/4 or 1/4 as a division by the kernel's 4 positions would give."""
    text = (
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [1, 3, 3]}\n"
        "  - {name: y, type: AveragePooling, ignore_border: false}\n"
    )
    got = nnspec.run(nnspec.loads(text), {"x": np.ones((1, 1, 3, 3))}).outputs["y"][0, 0]
    np.testing.assert_array_equal(got, [[1, 1], [1, 1]])


# --- the LeNet-style chain, by hand ---------------------------------------------------------

LENET = """
nnspec: 1
layers:
  - {name: x, type: Input, size: [1, 5, 5]}
  - {name: conv, type: Convolution, out_maps: 2, kernel_shape: [2, 2], border_mode: valid}
  - {name: relu, type: ReLU}
  - {name: pool, type: MaxPooling}
  - {name: fc, type: Affine, out_shape: 3}
  - {name: prob, type: Softmax}
outputs: [conv, relu, pool, fc, prob]
"""
LENET_X = np.array([[1, 2, 0, 1, 3], [0, 1, 3, 2, 1], [2, 0, 1, 0, 2], [1, 3, 2, 1, 0], [0, 1, 0, 2, 1]], dtype=float)
LENET_PARAMS = {
    # map 0: x[i, j] - x[i+1, j+1]; map 1: half the 2 x 2 sum, minus 1
    "conv/conv/W": np.array([[[[1.0, 0.0], [0.0, -1.0]]], [[[0.5, 0.5], [0.5, 0.5]]]]),
    "conv/conv/b": np.array([0.0, -1.0]),
    # the pooled (2, 2, 2) flattened: column 0 sums it / 10, column 1 takes 0.5 of value 1,
    # column 2 takes 0.5 (value 4 - value 5)
    "fc/affine/W": np.array(
        [[0.1, 0, 0], [0.1, 0.5, 0], [0.1, 0, 0], [0.1, 0, 0], [0.1, 0, 0.5], [0.1, 0, -0.5], [0.1, 0, 0], [0.1, 0, 0]]
    ),
    "fc/affine/b": np.array([0.1, -0.2, 0.3]),
}


def test_lenet_chain_matches_hand_computation():
    result = nnspec.run(nnspec.loads(LENET), {"x": LENET_X[np.newaxis, np.newaxis]}, params=LENET_PARAMS)
    out = {name: value[0] for name, value in result.outputs.items()}
    assert all(value.dtype == np.float32 for value in out.values())
    conv = [
        [[0, -1, -2, 0], [0, 0, 3, 0], [-1, -2, 0, 0], [0, 3, 0, 0]],
        [[1, 2, 2, 2.5], [0.5, 1.5, 2, 1.5], [2, 2, 1, 0.5], [1.5, 2, 1.5, 1]],
    ]
    relu = [[[0, 0, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0], [0, 3, 0, 0]], conv[1]]
    pool = [[[0, 3], [3, 0]], [[2, 2.5], [2, 1.5]]]
    logits = [1.4 + 0.1, 1.5 - 0.2, 0.5 * (2 - 2.5) + 0.3]  # sum 14 / 10; 0.5 * 3; 0.5 * (2 - 2.5)
    total = math.fsum(math.exp(v) for v in logits)
    prob = [math.exp(v) / total for v in logits]
    for name, expected in (("conv", conv), ("relu", relu), ("pool", pool), ("fc", logits), ("prob", prob)):
        np.testing.assert_allclose(out[name], expected, rtol=0, atol=1e-5, err_msg=name)
    assert abs(prob[0] - 0.48702) < 1e-5 and abs(prob[2] - 0.11424) < 1e-5  # the values written out


# --- parameters: layouts, initializers, sharing ---------------------------------------------


def _parameters(layer: str, size, seed: int = 0) -> dict[str, np.ndarray]:
    spec = nnspec.loads(
        f"nnspec: 1\nseed: {seed}\nlayers:\n  - {{name: x, type: Input, size: {list(size)}}}\n"
        f"  - {{name: y, {layer}}}\n"
    )
    return nnspec.run(spec, {"x": np.zeros((1, *size))}, statistics=False).layer_parameters["y"]


def _assert_normal_std(values: np.ndarray, sigma: float) -> None:
    """The sample std within 5 standard errors (sigma / sqrt(2n)) of sigma, the mean within 5 sigma / sqrt(n)."""
    n = values.size
    assert abs(values.std() - sigma) <= 5 * sigma / math.sqrt(2 * n), (values.std(), sigma)
    assert abs(values.mean()) <= 5 * sigma / math.sqrt(n)


def test_convolution_default_initializer_is_glorot_with_per_group_fans():
    """NormalConvolutionGlorot: std sqrt(2 / (K inmaps + outmaps)) with nnabla's fans as NNC's loader
    passes them for W (64, 16, 3, 3): inmaps = W.shape[1] = in_maps / group = 16, outmaps 64, K 9:
    sqrt(2 / 208) = 0.098. Fans counting all 32 input maps would give sqrt(2 / 352) = 0.075 (-23 %),
    far outside 5 standard errors (0.7 %)."""
    params = _parameters("type: Convolution, out_maps: 64, group: 2", (32, 6, 6))
    W, b = params["W"].astype(np.float64), params["b"]
    assert W.shape == (64, 16, 3, 3) and b.shape == (64,)
    _assert_normal_std(W, math.sqrt(2 / (9 * 16 + 64)))
    assert np.all(b == 0)


def test_deconvolution_default_initializer_is_he_forward():
    """NormalConvolutionHeForward: std sqrt(2 / (K inmaps)) with inmaps = W.shape[1] = out_maps / group,
    as NNC's loader reads W (in_maps, out_maps / group, *kernel): sqrt(2 / (25 * 16)) = 0.0707;
    inmaps = in_maps 8 would give 0.1 (+41 %)."""
    W = _parameters("type: Deconvolution", (8, 4, 4))["W"].astype(np.float64)
    assert W.shape == (8, 16, 5, 5)
    _assert_normal_std(W, math.sqrt(2 / (25 * 16)))


def test_depthwise_default_initializers():
    """Depthwise W (maps, *kernel): NNC's loader reads inmaps = outmaps = maps. DepthwiseConvolution's
    Glorot: sqrt(2 / (25 * 64 + 64)); DepthwiseDeconvolution's HeForward: sqrt(2 / (25 * 64))."""
    W = _parameters("type: DepthwiseConvolution, multiplier: 2", (32, 5, 5))["W"].astype(np.float64)
    assert W.shape == (64, 5, 5)
    _assert_normal_std(W, math.sqrt(2 / (25 * 64 + 64)))
    W = _parameters("type: DepthwiseDeconvolution", (64, 2, 2))["W"].astype(np.float64)
    assert W.shape == (64, 5, 5)
    _assert_normal_std(W, math.sqrt(2 / (25 * 64)))


@pytest.mark.parametrize(
    "layer, size, shape, sigma",
    [
        # He forward: std sqrt(2 / fan_in), fan_in the values one output reads: nnabla's
        # calc_normal_std_he_forward(inmaps, outmaps, kernel) = sqrt(2 / (inmaps * prod(kernel))).
        ("type: Affine, out_shape: 50, W: {initializer: NormalAffineHe}", (8, 5), (40, 50), math.sqrt(2 / 40)),
        (
            "type: Affine, out_shape: 50, W: {initializer: NormalAffineHe, multiplier: 3}",
            (40,),
            (40, 50),
            3 * math.sqrt(2 / 40),
        ),
        # W (64, 16, 3, 3): inmaps 16, kernel 3 x 3: sqrt(2 / 144) (Glorot, the default, would be sqrt(2 / 208))
        (
            "type: Convolution, out_maps: 64, W: {initializer: NormalConvolutionHe}",
            (16, 6, 6),
            (64, 16, 3, 3),
            math.sqrt(2 / 144),
        ),
        # channel_last W (64, 3, 3, 16): nnabla's CLConv form reads inmaps from the last axis, kernel 3 x 3
        (
            "type: Convolution, out_maps: 64, channel_last: true, W: {initializer: NormalCLConvHe}",
            (6, 6, 16),
            (64, 3, 3, 16),
            math.sqrt(2 / 144),
        ),
        # Deconvolution W (8, 16, 5, 5): NNC's loader reads inmaps = W.shape[1] = 16, kernel 5 x 5
        ("type: Deconvolution, W: {initializer: NormalConvolutionHe}", (8, 4, 4), (8, 16, 5, 5), math.sqrt(2 / 400)),
    ],
)
def test_legacy_he_initializer_names_are_he_forward(layer, size, shape, sigma):
    """NormalAffineHe, NormalConvolutionHe and NormalCLConvHe, the names older NNC projects hold (NNC's own
    binary_semantic_segmentation tutorial uses NormalConvolutionHe), are read by nnabla's loader
    (utils/load.py, _create_initializer) exactly as NormalAffineHeForward, NormalConvolutionHeForward and
    NormalCLConvHeForward: the spec validates, and W is drawn with He forward's std, worked out by hand."""
    W = _parameters(layer, size)["W"].astype(np.float64)
    assert W.shape == shape
    _assert_normal_std(W, sigma)


def test_legacy_he_initializer_names_draw_what_their_he_forward_forms_draw():
    """Same seed, same parameter name: the legacy name and its HeForward form give the same values."""
    for legacy, current in [
        ("NormalConvolutionHe", "NormalConvolutionHeForward"),
        ("NormalCLConvHe", "NormalCLConvHeForward"),
    ]:
        layer = "type: Convolution, out_maps: 4, W: {initializer: %s}"
        np.testing.assert_array_equal(
            _parameters(layer % legacy, (3, 5, 5))["W"], _parameters(layer % current, (3, 5, 5))["W"]
        )
    with pytest.raises(nnspec.SpecError, match="'y' \\(Deconvolution\\)"):
        _parameters("type: Deconvolution, W: {initializer: NormalCLConvHe}", (3, 4, 4))  # no CLConv names there


def test_embed_default_initializer_is_uniform():
    W = _parameters("type: Embed", (3,))["W"].astype(np.float64)
    assert W.shape == (100, 32)
    assert -1 <= W.min() and W.max() <= 1
    assert abs(W.std() - 1 / math.sqrt(3)) < 5 * 0.0075  # uniform(-1, 1): std 0.577, standard error ~0.0075


def test_initializer_choice_and_multiplier():
    params = _parameters(
        "type: Convolution, out_maps: 2, W: {initializer: Constant, multiplier: 0.5}, "
        "b: {initializer: Constant, multiplier: 2.0}",
        (3, 4, 4),
    )
    np.testing.assert_array_equal(params["W"], np.full((2, 3, 3, 3), 0.5, dtype=np.float32))
    np.testing.assert_array_equal(params["b"], np.full((2,), 2.0, dtype=np.float32))
    # NNC offers the CLConv initializers for Convolution only
    _parameters("type: Convolution, channel_last: true, W: {initializer: UniformCLConvGlorot}", (4, 4, 3))
    with pytest.raises(nnspec.SpecError, match="'y' \\(Deconvolution\\)"):
        _parameters("type: Deconvolution, W: {initializer: NormalCLConvGlorot}", (3, 4, 4))


@pytest.mark.parametrize(
    "layer, names",
    [
        ("type: Convolution, with_bias: false", ["y/conv/W"]),
        ("type: DepthwiseConvolution", ["y/depthwise_conv/W", "y/depthwise_conv/b"]),
        ("type: Deconvolution", ["y/deconv/W", "y/deconv/b"]),
        ("type: DepthwiseDeconvolution, with_bias: false", ["y/depthwise_deconv/W"]),
        ("type: Embed", ["y/embed/W"]),
    ],
)
def test_parameter_names_follow_nnabla(layer, names):
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [3, 8, 8]}}\n  - {{name: y, {layer}}}\n"
    )
    layer_ = spec.layers["y"]
    assert sorted(layer_.parameter_key(p) for p in layer_.parameter_shapes) == sorted(names)


def test_parameter_scope_shares_kernels():
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2, 5, 5]}\n"
        "  - {name: a, type: Convolution, out_maps: 2, parameter_scope: shared}\n"
        "  - {name: b, type: Convolution, out_maps: 2, parameter_scope: shared, input: x}\n"
    )
    result = nnspec.run(nnspec.loads(text), {"x": sample_values("float32", (2, 5, 5))})
    assert result.layer_parameters["a"]["W"] is result.layer_parameters["b"]["W"]
    np.testing.assert_array_equal(result.outputs["a"], result.outputs["b"])


# --- Embed's domain --------------------------------------------------------------------------


def test_embed_out_of_range_indices_give_nan_and_an_error_finding():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n"
        "  - {name: y, type: Embed, num_class: 3, shape: 2}\n"
    )
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # the range warnings the findings carry
        result = nnspec.run(spec, {"x": np.array([[2.0, -1.0, 3.0, 1e9]])}, params={"y/embed/W": W})
    got = result.outputs["y"][0]
    np.testing.assert_array_equal(got[0], [5, 6])
    assert np.isnan(got[1:]).all()
    assert any(f.check == "nan-inf" and f.layer == "y" for f in result.findings)


# --- invalid properties and shapes ---------------------------------------------------------


@pytest.mark.parametrize(
    "layer, size, fragment",
    [
        ("type: Convolution, border_mode: sideways", IMAGE, "border_mode"),
        ("type: Convolution, out_maps: 0", IMAGE, "out_maps"),
        ("type: Convolution, group: 2", IMAGE, "group 2 must divide"),
        ("type: Convolution, out_maps: 4, group: 3", IMAGE, "4 out_maps"),
        ("type: Convolution, strides: [1]", IMAGE, "strides (1,) has 1 value"),
        ("type: Convolution, dilation: [1, 1, 1]", IMAGE, "dilation"),
        ("type: Convolution, padding: [1]", IMAGE, "padding (1,)"),
        ("type: Convolution, kernel_shape: [3, 3]", (3, 9), "samples of shape (C, L1, L2)"),
        ("type: Convolution, kernel_shape: [3, 3], channel_last: true", (9, 3), "(L1, L2, C)"),
        ("type: Convolution, kernel_shape: [9, 3], border_mode: valid", IMAGE, "kernel spans 9"),
        ("type: Convolution, strides: [0, 1]", IMAGE, "strides"),
        ("type: Convolution, padding: [-1, 0]", IMAGE, "padding"),
        ("type: DepthwiseConvolution, kernel_shape: [2, 2, 2]", (3, 4, 4, 4), "1-D or 2-D"),
        ("type: DepthwiseConvolution, multiplier: 0", IMAGE, "multiplier"),
        ("type: Deconvolution, kernel_shape: [2, 2], padding: [5, 0]", IMAGE, "padding 5"),
        ("type: Deconvolution, out_maps: 4, group: 3", IMAGE, "group 3"),
        ("type: Deconvolution, border_mode: same", IMAGE, "border_mode"),  # NNC's Deconvolution has none
        ("type: DepthwiseDeconvolution, divisor: 2", IMAGE, "divisor 2 must divide the 3"),
        ("type: Embed, num_class: 0", (4,), "num_class"),
        ("type: Embed, shape: [2, 0]", (4,), "shape"),
        ("type: MaxPooling, kernel_shape: [2]", IMAGE, "2 or 3 axes"),
        ("type: MaxPooling, kernel_shape: [2, 2, 2, 2]", (1, 4, 4, 4, 4), "2 or 3 axes"),
        ("type: MaxPooling, strides: [1]", IMAGE, "strides (1,)"),
        ("type: MaxPooling, padding: [2, 0]", IMAGE, "padding 2 along pooled axis 0"),
        ("type: MaxPooling, kernel_shape: [3, 3, 3], padding: [0, 0, 0]", (3, 3), "at least 3 axes"),
        ("type: MaxPooling, kernel_shape: [9, 2], strides: [1, 1]", IMAGE, "kernel (9) is longer"),
        ("type: AveragePooling, padding: [0, 3], including_pad: false", IMAGE, "padding 3"),
        ("type: AveragePooling, ignore_border: maybe", IMAGE, "ignore_border"),
        ("type: SumPooling, channel_last: true", IMAGE, "channel_last"),  # NNC's SumPooling has none
        ("type: GlobalAveragePooling", (2, 3, 4, 5), "(C, H, W)"),
        ("type: Unpooling, kernel_shape: [2, 2, 2, 2]", IMAGE, "more than the sample's 3"),
        ("type: Unpooling, kernel_shape: [0, 2]", IMAGE, "kernel_shape"),
    ],
)
def test_invalid_properties_and_shapes_name_the_layer(layer, size, fragment):
    text = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {list(size)}}}\n  - {{name: y, {layer}}}\n"
    type_name = layer.split(",")[0].split(": ")[1]
    with pytest.raises(nnspec.SpecError) as info:
        nnspec.loads(text)
    message = str(info.value)
    assert f"'y' ({type_name})" in message
    assert fragment in message


# --- static analysis passes through the layers ------------------------------------------------


def test_static_estimates_pass_through_a_cnn():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1, 28, 28], range: [0, 1]}\n"
        "  - {name: c1, type: Convolution, out_maps: 8, kernel_shape: [5, 5], border_mode: valid}\n"
        "  - {name: r1, type: ReLU}\n  - {name: p1, type: MaxPooling}\n"
        "  - {name: d1, type: DepthwiseConvolution, kernel_shape: [3, 3], multiplier: 2}\n"
        "  - {name: a1, type: AveragePooling}\n  - {name: s1, type: SumPooling}\n"
        "  - {name: u1, type: Unpooling}\n  - {name: t1, type: Deconvolution, out_maps: 4}\n"
        "  - {name: t2, type: DepthwiseDeconvolution, kernel_shape: [2, 2], divisor: 2}\n"
        "  - {name: g1, type: GlobalAveragePooling}\n  - {name: fc, type: Affine, out_shape: 10}\n"
        "  - {name: ids, type: Input, size: [4], range: [0, 9]}\n"
        "  - {name: e1, type: Embed, num_class: 10, shape: 3, input: ids}\n"
    )
    found = estimates(spec)
    for name in ("c1", "p1", "d1", "a1", "s1", "u1", "t1", "t2", "g1", "fc", "e1"):
        assert found[name] is not None and math.isfinite(found[name].mean) and math.isfinite(found[name].std), name
    assert found["p1"].mean > found["r1"].mean  # the largest of 4 exceeds their mean


def test_convolution_estimate_matches_a_run():
    """Each output of a valid 3 x 3 convolution with group 2 over 4 maps sums 2 * 9 = 18 products:
    the predicted spread, sqrt(18 var(W) E[x^2]), is within 15 % of the measured one (one draw of
    576 weights: their mean square varies by about sqrt(2 / 576) = 6 %)."""
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4, 12, 12], generator: Uniform}\n"
        "  - {name: c, type: Convolution, out_maps: 32, group: 2, border_mode: valid, with_bias: false}\n"
    )
    predicted = estimates(spec)["c"]
    measured = nnspec.run(spec, samples=64).outputs["c"].astype(np.float64)
    assert abs(predicted.std - measured.std()) <= 0.15 * measured.std()
    assert predicted.std == pytest.approx(math.sqrt(18 * 2 / (9 * 2 + 32) / 3))
