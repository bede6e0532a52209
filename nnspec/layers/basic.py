"""Basic layers: the ones with learnable weights."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core.estimate import Estimate, weighted_sum
from .catalog import PARAMETER_SCOPE, LayerType, Parameter, Property, Shape, ShapeError, Target, format_shape, register

AFFINE_INITIALIZERS = (
    "Normal",
    "NormalAffineHeForward",
    "NormalAffineHeBackward",
    "NormalAffineGlorot",
    "Uniform",
    "UniformAffineGlorot",
    "Constant",
    "NormalAffineHe",  # the legacy name of NormalAffineHeForward, as nnabla's loader reads it
)


def affine(inputs, props, params):
    """o = Wi + b, the sample flattened to a vector first"""
    # Arrays are reshaped only where their shape is not already the one needed: in a deep net
    # of small layers, each reshape costs about as much as the product itself. np.dot, not @:
    # the same BLAS product without matmul's ufunc dispatch, 0.3 us less on a 32 x 32 matrix.
    x, W, b = inputs[0], params["W"], params.get("b")
    rows = x if x.ndim == 2 else x.reshape(len(x), -1)
    y = np.dot(rows, W if W.ndim == 2 else W.reshape(W.shape[0], -1))
    if b is not None:
        y += b if b.ndim == 1 else b.reshape(-1)
    return y if len(props["out_shape"]) == 1 else y.reshape((len(x), *props["out_shape"]))


def affine_bound(props, params):
    """affine for one layer: its weights and bias looked up once, not on every batch."""
    W, b = params["W"], params.get("b")
    if b is None or len(props["out_shape"]) != 1:
        return lambda inputs: affine(inputs, props, params)

    def forward(inputs):
        x = inputs[0]
        y = np.dot(x if x.ndim == 2 else x.reshape(len(x), -1), W)
        y += b
        return y

    return forward


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
        bind=affine_bound,
        fresh_output=True,
        infer_shape=affine_shape,
        estimate=affine_estimate,
        function_scope="affine",
        properties=(
            Property("out_shape", "shape", 100, "Shape of the output (without the batch axis)."),
            Property("with_bias", "bool", True, "Whether to add the bias b."),
            PARAMETER_SCOPE,
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


# --- the convolution family -----------------------------------------------------------
#
# Shapes follow nnabla with NNC's BaseAxis 0: a sample is (C, *spatial) with one spatial
# axis per kernel axis, or (*spatial, C) with channel_last. Output lengths are computed as
# nnabla's C++ computes them, integer division rounding toward zero.

CONVOLUTION_INITIALIZERS = (
    "Normal",
    "NormalConvolutionHeForward",
    "NormalConvolutionHeBackward",
    "NormalConvolutionGlorot",
    "NormalCLConvHeForward",
    "NormalCLConvHeBackward",
    "NormalCLConvGlorot",
    "Uniform",
    "UniformConvolutionGlorot",
    "UniformCLConvGlorot",
    "Constant",
    # legacy names of the HeForward forms, as nnabla's loader reads them
    "NormalConvolutionHe",
    "NormalCLConvHe",
)
# DepthwiseConvolution, Deconvolution and DepthwiseDeconvolution offer no CLConv initializers in NNC.
CONV_INITIALIZERS = tuple(name for name in CONVOLUTION_INITIALIZERS if "CLConv" not in name)
BORDER_MODES = ("valid", "full", "same")


def conv_fans(shape: Shape) -> tuple[int, int, int]:
    """(inmaps, outmaps, kernel size) of a weight laid out (outputs, inputs per group, *kernel), as
    NNC's parameter loader passes them to nnabla's calc_normal_std_* for a 2-D kernel: (W.shape[1],
    W.shape[0], prod of the rest). Deconvolution's (in_maps, out_maps/group, *kernel) reads the same
    way, so there inmaps is out_maps/group, again as NNC's loader has it."""
    return shape[1], shape[0], prod(shape[2:])


def depthwise_fans(shape: Shape) -> tuple[int, int, int]:
    """(maps, maps, kernel size) of a depthwise weight (maps, *kernel), as NNC's loader reads a 2-D one."""
    return shape[0], shape[0], prod(shape[1:])


def _trunc_div(a: int, b: int) -> int:
    """a / b rounded toward zero, as C++ integer division (nnabla's shape arithmetic) rounds."""
    return abs(a) // b if a >= 0 else -(abs(a) // b)


def conv_padding(props) -> tuple[int, ...]:
    """The padding: as given, else NNC's *ConvolutionPaddingSize from border_mode with the dilated
    kernel d (k - 1) + 1: valid 0, full d (k - 1), same floor(d (k - 1) / 2)."""
    if props.get("padding") is not None:
        return props["padding"]
    spans = [d * (k - 1) for k, d in zip(props["kernel_shape"], props["dilation"])]
    mode = props.get("border_mode", "valid")
    return tuple(0 if mode == "valid" else span if mode == "full" else span // 2 for span in spans)


def _check_per_axis(props, names: Sequence[str]) -> None:
    """strides, dilation and padding give one value per kernel axis, as nnabla requires."""
    kernel = props["kernel_shape"]
    for name in names:
        value = props.get(name)
        if value is not None and len(value) != len(kernel):
            raise ShapeError(
                f"{name} {format_shape(value)} has {len(value)} value{'s' if len(value) != 1 else ''}, but "
                f"kernel_shape {format_shape(kernel)} has {len(kernel)} ax{'is' if len(kernel) == 1 else 'es'}: "
                "give one per kernel axis",
                name,
            )


def _split_sample(shape: Shape, props, layout: str) -> tuple[int, Shape]:
    """(channels, spatial shape) of a sample, which must have one axis per kernel axis besides its channels."""
    kernel = props["kernel_shape"]
    channel_last = props.get("channel_last", False)
    if len(shape) != len(kernel) + 1:
        spatial = ", ".join(f"L{i + 1}" for i in range(len(kernel)))
        expected = f"({spatial}, C)" if channel_last else f"(C, {spatial})"
        raise ShapeError(
            f"a {len(kernel)}-D kernel_shape {format_shape(kernel)} {layout} samples of shape {expected}, "
            f"{len(kernel) + 1} axes; this one has {len(shape)}",
            "kernel_shape",
        )
    return (shape[-1], shape[:-1]) if channel_last else (shape[0], shape[1:])


def _conv_lengths(spatial: Shape, props) -> list[int]:
    """nnabla's output lengths (L + 2p - (d (k - 1) + 1)) / s + 1, each at least 1."""
    out = []
    for axis, (length, k, s, d, p) in enumerate(
        zip(spatial, props["kernel_shape"], props["strides"], props["dilation"], conv_padding(props))
    ):
        span = d * (k - 1) + 1
        o = _trunc_div(length + 2 * p - span, s) + 1
        if o < 1:
            raise ShapeError(
                f"along spatial axis {axis} the kernel spans {span} (kernel {k}, dilation {d}), more than the "
                f"{length + 2 * p} values there with padding {p}",
                "kernel_shape",
            )
        out.append(o)
    return out


def _deconv_lengths(spatial: Shape, props) -> list[int]:
    """nnabla's output lengths s (L - 1) - 2p + d (k - 1) + 1, each at least 1."""
    out = []
    for axis, (length, k, s, d, p) in enumerate(
        zip(spatial, props["kernel_shape"], props["strides"], props["dilation"], props["padding"])
    ):
        o = s * (length - 1) + d * (k - 1) + 1 - 2 * p
        if o < 1:
            raise ShapeError(
                f"along spatial axis {axis} padding {p} crops both ends of the {o + 2 * p} values the "
                "deconvolution spreads the input over, leaving none",
                "padding",
            )
        out.append(o)
    return out


def _check_groups(channels: int, maps: int, group: int, maps_name: str) -> None:
    if channels % group or maps % group:
        raise ShapeError(
            f"group {group} must divide both the {channels} input channels and the {maps} {maps_name}",
            "group",
        )


def _out_sample(maps: int, lengths: Sequence[int], channel_last: bool) -> Shape:
    return (*lengths, maps) if channel_last else (maps, *lengths)


# The columns a convolution multiplies are its input copied once for every kernel tap (9 times
# for 3x3): at a large batch, far more memory than its output. They are made this many values at a
# time at most, a few samples each, every part multiplied into its place in the output.
COLUMNS_AT_ONCE = 2**20


def _convolve(x, W, b, kernel, strides, dilation, padding, group, channel_last):
    """y[n, g Og + m, o] = sum_{c, k} W[g Og + m, c, k] x[n, g Cg + c, o s + k d - p] + b[g Og + m],
    x read as 0 outside itself: im2col through a strided window view, then a matmul for every few
    samples (COLUMNS_AT_ONCE)."""
    nd = len(kernel)
    if channel_last:
        x, W = np.moveaxis(x, -1, 1), np.moveaxis(W, -1, 1)
    batch, channels, spatial = x.shape[0], x.shape[1], x.shape[2:]
    maps = W.shape[0]
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    out = [_trunc_div(n + 2 * p - e, s) + 1 for n, p, e, s in zip(spatial, padding, spans, strides)]
    # nnabla keeps one output where the kernel overhangs the padded input by less than a stride;
    # the values it reads beyond the end are zeros, as the extra padding on the right gives.
    right = [p + max(0, (o - 1) * s + e - (n + 2 * p)) for n, p, e, s, o in zip(spatial, padding, spans, strides, out)]
    xp = np.pad(x, [(0, 0), (0, 0), *zip(padding, right)]) if any(padding) or any(right) else x
    windows = sliding_window_view(xp, spans, axis=tuple(range(2, 2 + nd)))
    picks = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, strides)) + tuple(
        slice(None, None, d) for d in dilation
    )
    patches = windows[(slice(None), slice(None), *picks)]  # (N, C, *out, *kernel)
    per_group, positions, size = channels // group, prod(out), prod(kernel)
    weights = W.reshape(group, maps // group, per_group * size).transpose(0, 2, 1)
    product = np.empty((batch, group, positions, maps // group), np.result_type(x, W))
    step = max(1, COLUMNS_AT_ONCE // max(1, channels * positions * size))  # samples a part
    for start in range(0, batch, step):
        part = patches[start : start + step]
        columns = np.moveaxis(part.reshape(len(part), group, per_group, *out, *kernel), 2, 2 + nd)
        columns = columns.reshape(len(part), group, positions, per_group * size)
        np.matmul(columns, weights, out=product[start : start + step])
    y = np.moveaxis(product, 3, 2).reshape(batch, maps, *out)  # (N, G, P, Og) -> (N, O, *out)
    if b is not None:
        bias = b.reshape((1, maps) + (1,) * nd)
        # into the product, its own array (as large as the output), unless the sum is of a wider dtype
        y = np.add(y, bias, out=y if np.result_type(y, bias) == y.dtype else None)
    return np.moveaxis(y, 1, -1) if channel_last else y


def _deconvolve(x, W, b, kernel, strides, dilation, padding, group, channel_last):
    """y[n, g Og + m, i s + k d - p] += x[n, g Cg + c, i] W[g Cg + c, m, k], summed over c, i and k,
    plus b[g Og + m]: every input value times every kernel tap in one matmul, then added into place
    once per kernel offset (a loop over prod(kernel_shape) offsets, none over positions)."""
    nd = len(kernel)
    if channel_last:
        x, W = np.moveaxis(x, -1, 1), np.moveaxis(W, -1, 1)
    batch, channels, spatial = x.shape[0], x.shape[1], x.shape[2:]
    per_group, maps_per_group, size = channels // group, W.shape[1], prod(kernel)
    maps = maps_per_group * group
    full = [s * (n - 1) + d * (k - 1) + 1 for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    taps = W.reshape(group, per_group, maps_per_group * size).transpose(0, 2, 1)  # (G, Og K, Cg)
    spread = taps @ x.reshape(batch, group, per_group, prod(spatial))  # (N, G, Og K, P)
    spread = spread.reshape(batch, maps, size, *spatial)
    y = np.zeros((batch, maps, *full), dtype=spread.dtype)
    for j, offset in enumerate(np.ndindex(*kernel)):
        place = tuple(
            slice(k * d, k * d + s * (n - 1) + 1, s) for k, d, s, n in zip(offset, dilation, strides, spatial)
        )
        y[(slice(None), slice(None), *place)] += spread[:, :, j]
    y = y[(slice(None), slice(None), *(slice(p, f - p) for p, f in zip(padding, full)))]
    if b is not None:
        y = y + b.reshape((1, maps) + (1,) * nd)
    return np.moveaxis(y, 1, -1) if channel_last else y


# Convolution


def convolution(inputs, props, params):
    """o[m, y] = sum_{n, k} W[m, n, k] i[n, y*s + k*d - p] + b[m], over the input maps n of m's group"""
    return _convolve(
        inputs[0],
        params["W"],
        params.get("b"),
        props["kernel_shape"],
        props["strides"],
        props["dilation"],
        conv_padding(props),
        props["group"],
        props["channel_last"],
    )


def convolution_shape(shapes, props):
    _check_per_axis(props, ("padding", "strides", "dilation"))
    channels, spatial = _split_sample(shapes[0], props, "convolves")
    _check_groups(channels, props["out_maps"], props["group"], "out_maps")
    return _out_sample(props["out_maps"], _conv_lengths(spatial, props), props["channel_last"])


def convolution_weight_shape(shapes, props):
    channels, _ = _split_sample(shapes[0], props, "convolves")
    per_group, kernel = channels // props["group"], props["kernel_shape"]
    return (props["out_maps"], *kernel, per_group) if props["channel_last"] else (props["out_maps"], per_group, *kernel)


def convolution_estimate(inputs, shapes, props, params, dtype):
    """Each output sums (in_maps / group) prod(kernel_shape) inputs times weights, plus a bias."""
    channels, _ = _split_sample(shapes[0], props, "convolves")
    n = channels // props["group"] * prod(props["kernel_shape"])
    return weighted_sum(inputs[0], n, *params["W"], *params.get("b", (0.0, 0.0)))


def _bias(shape, description: str) -> Parameter:
    return Parameter("b", "Constant", 0.0, shape, description, enabled=lambda props: props["with_bias"])


_KERNEL = "Kernel size along each spatial axis, e.g. [3, 5] (height, width) or [7] for a 1-D signal."
_PADDING = (
    "Zeros added at both ends of each spatial axis (default: from border_mode: valid 0, full d(k-1), "
    "same floor(d(k-1)/2) for kernel k and dilation d)."
)
_BORDER = (
    "How far the kernel may reach past the input when padding is not given: valid (not at all: L-k+1 outputs), "
    "full (wherever it overlaps it: L+k-1), same (as many outputs as inputs for an odd kernel)."
)
_STRIDES = "Step between kernel positions along each spatial axis."
_DILATION = "Spacing between kernel taps along each spatial axis (1: adjacent)."

register(
    LayerType(
        name="Convolution",
        category="Basic",
        formula="o[m, y] = sum_{n, k} W[m, n, k] i[n, y*s + k*d - p] + b[m]",
        description="Convolves the input maps with out_maps kernels (correlation, as nnabla computes it).",
        forward=convolution,
        infer_shape=convolution_shape,
        estimate=convolution_estimate,
        function_scope="conv",
        properties=(
            Property("out_maps", "pint", 16, "Number of output maps (kernels)."),
            Property("kernel_shape", "shape", [3, 3], _KERNEL),
            Property("border_mode", "choice", "same", _BORDER, choices=BORDER_MODES),
            Property("padding", "uint_array", None, _PADDING),
            Property("strides", "shape", [1, 1], _STRIDES),
            Property("dilation", "shape", [1, 1], _DILATION),
            Property(
                "group",
                "pint",
                1,
                "Number of channel groups: output maps of group g see only input maps of group g; "
                "it divides both the input maps and out_maps.",
            ),
            Property("channel_last", "bool", False, "Samples are (*spatial, C) instead of (C, *spatial)."),
            Property("with_bias", "bool", True, "Whether to add the bias b."),
            PARAMETER_SCOPE,
        ),
        parameters=(
            Parameter(
                "W",
                "NormalConvolutionGlorot",
                1.0,
                convolution_weight_shape,
                "Kernels, shape (out_maps, in_maps/group, *kernel_shape); with channel_last "
                "(out_maps, *kernel_shape, in_maps/group).",
                initializers=CONVOLUTION_INITIALIZERS,
                fans=conv_fans,
            ),
            _bias(lambda shapes, props: (props["out_maps"],), "Bias, one per output map: shape (out_maps,)."),
        ),
    )
)


# DepthwiseConvolution


def _check_depthwise(props, shape) -> tuple[int, Shape]:
    kernel = props["kernel_shape"]
    if len(kernel) not in (1, 2):
        raise ShapeError(
            f"kernel_shape {format_shape(kernel)} has {len(kernel)} axes; nnabla's depthwise layers take 1-D or "
            "2-D kernels only",
            "kernel_shape",
        )
    return _split_sample(shape, props, "filters")


def depthwise_convolution(inputs, props, params):
    """o[c*M + j, y] = sum_k W[c*M + j, k] i[c, y*s + k*d - p] + b[c*M + j], M = multiplier"""
    x, W = inputs[0], params["W"]
    return _convolve(
        x,
        W[:, np.newaxis],  # a grouped convolution with one group per input map
        params.get("b"),
        props["kernel_shape"],
        props["strides"],
        props["dilation"],
        conv_padding(props),
        x.shape[1],
        False,
    )


def depthwise_convolution_shape(shapes, props):
    channels, spatial = _check_depthwise(props, shapes[0])
    _check_per_axis(props, ("padding", "strides", "dilation"))
    return (channels * props["multiplier"], *_conv_lengths(spatial, props))


def _depthwise_maps(shapes, props) -> int:
    return shapes[0][0] * props["multiplier"]


def depthwise_convolution_estimate(inputs, shapes, props, params, dtype):
    """Each output sums prod(kernel_shape) inputs of one map times weights, plus a bias."""
    return weighted_sum(inputs[0], prod(props["kernel_shape"]), *params["W"], *params.get("b", (0.0, 0.0)))


register(
    LayerType(
        name="DepthwiseConvolution",
        category="Basic",
        formula="o[c*M + j, y] = sum_k W[c*M + j, k] i[c, y*s + k*d - p] + b[c*M + j]",
        description="Convolves each input map with its own multiplier kernels (a Convolution with one group per map).",
        forward=depthwise_convolution,
        infer_shape=depthwise_convolution_shape,
        estimate=depthwise_convolution_estimate,
        function_scope="depthwise_conv",
        properties=(
            Property("kernel_shape", "shape", [5, 5], _KERNEL + " 1-D or 2-D only."),
            Property("border_mode", "choice", "valid", _BORDER, choices=BORDER_MODES),
            Property("padding", "uint_array", None, _PADDING),
            Property("strides", "shape", [1, 1], _STRIDES),
            Property("dilation", "shape", [1, 1], _DILATION),
            Property("multiplier", "pint", 1, "Output maps per input map M: out maps = in maps * M."),
            Property("with_bias", "bool", True, "Whether to add the bias b."),
            PARAMETER_SCOPE,
        ),
        parameters=(
            Parameter(
                "W",
                "NormalConvolutionGlorot",
                1.0,
                lambda shapes, props: (_depthwise_maps(shapes, props), *props["kernel_shape"]),
                "Kernels, one per output map: shape (in_maps*multiplier, *kernel_shape).",
                initializers=CONV_INITIALIZERS,
                fans=depthwise_fans,
            ),
            _bias(
                lambda shapes, props: (_depthwise_maps(shapes, props),),
                "Bias, one per output map: shape (in_maps*multiplier,).",
            ),
        ),
    )
)


# Deconvolution


def deconvolution(inputs, props, params):
    """o[m, y*s + k*d - p] += sum_n W[n, m, k] i[n, y], summed over k and y, plus b[m], within groups"""
    return _deconvolve(
        inputs[0],
        params["W"],
        params.get("b"),
        props["kernel_shape"],
        props["strides"],
        props["dilation"],
        props["padding"],
        props["group"],
        props["channel_last"],
    )


def deconvolution_shape(shapes, props):
    _check_per_axis(props, ("padding", "strides", "dilation"))
    channels, spatial = _split_sample(shapes[0], props, "deconvolves")
    _check_groups(channels, props["out_maps"], props["group"], "out_maps")
    return _out_sample(props["out_maps"], _deconv_lengths(spatial, props), props["channel_last"])


def deconvolution_weight_shape(shapes, props):
    channels, _ = _split_sample(shapes[0], props, "deconvolves")
    per_group, kernel = props["out_maps"] // props["group"], props["kernel_shape"]
    return (channels, *kernel, per_group) if props["channel_last"] else (channels, per_group, *kernel)


def deconvolution_estimate(inputs, shapes, props, params, dtype):
    """Each output sums on average (in_maps / group) prod(kernel_shape) / prod(strides) inputs times
    weights (the strides spread the taps apart), plus a bias."""
    channels, _ = _split_sample(shapes[0], props, "deconvolves")
    n = max(1.0, channels // props["group"] * prod(props["kernel_shape"]) / prod(props["strides"]))
    return weighted_sum(inputs[0], n, *params["W"], *params.get("b", (0.0, 0.0)))


register(
    LayerType(
        name="Deconvolution",
        category="Basic",
        formula="o[m, y*s + k*d - p] += sum_n W[n, m, k] i[n, y]; o[m] += b[m]",
        description="Transposed convolution: spreads each input value over the output through the kernels "
        "(the gradient of Convolution with respect to its input).",
        forward=deconvolution,
        infer_shape=deconvolution_shape,
        estimate=deconvolution_estimate,
        function_scope="deconv",
        scope_aliases=("conv",),  # NNC's exports (nnabla's test data, python/test/core/nntxt.py) name it so
        properties=(
            Property("out_maps", "pint", 16, "Number of output maps."),
            Property("kernel_shape", "shape", [5, 5], _KERNEL),
            Property("padding", "uint_array", [0, 0], "Values cropped from both ends of each spatial output axis."),
            Property("strides", "shape", [1, 1], "Step between the places input values are spread to."),
            Property("dilation", "shape", [1, 1], _DILATION),
            Property(
                "group",
                "pint",
                1,
                "Number of channel groups: input maps of group g reach only output maps of group g; "
                "it divides both the input maps and out_maps.",
            ),
            Property("channel_last", "bool", False, "Samples are (*spatial, C) instead of (C, *spatial)."),
            Property("with_bias", "bool", True, "Whether to add the bias b."),
            PARAMETER_SCOPE,
        ),
        parameters=(
            Parameter(
                "W",
                "NormalConvolutionHeForward",
                1.0,
                deconvolution_weight_shape,
                "Kernels, shape (in_maps, out_maps/group, *kernel_shape); with channel_last "
                "(in_maps, *kernel_shape, out_maps/group).",
                initializers=CONV_INITIALIZERS,
                fans=conv_fans,
            ),
            _bias(lambda shapes, props: (props["out_maps"],), "Bias, one per output map: shape (out_maps,)."),
        ),
    )
)


# DepthwiseDeconvolution


def depthwise_deconvolution(inputs, props, params):
    """o[c, y*s + k*d - p] += sum_{j < D} W[c*D + j, k] i[c*D + j, y], plus b[c], D = divisor"""
    x, W = inputs[0], params["W"]
    return _deconvolve(
        x,
        W[:, np.newaxis],  # a grouped deconvolution: divisor input maps per group, one output map each
        params.get("b"),
        props["kernel_shape"],
        props["strides"],
        props["dilation"],
        props["padding"],
        x.shape[1] // props["divisor"],
        False,
    )


def depthwise_deconvolution_shape(shapes, props):
    channels, spatial = _check_depthwise(props, shapes[0])
    _check_per_axis(props, ("padding", "strides", "dilation"))
    if channels % props["divisor"]:
        raise ShapeError(f"divisor {props['divisor']} must divide the {channels} input maps", "divisor")
    return (channels // props["divisor"], *_deconv_lengths(spatial, props))


def depthwise_deconvolution_estimate(inputs, shapes, props, params, dtype):
    """Each output sums on average divisor prod(kernel_shape) / prod(strides) inputs times weights, plus a bias."""
    n = max(1.0, props["divisor"] * prod(props["kernel_shape"]) / prod(props["strides"]))
    return weighted_sum(inputs[0], n, *params["W"], *params.get("b", (0.0, 0.0)))


register(
    LayerType(
        name="DepthwiseDeconvolution",
        category="Basic",
        formula="o[c, y*s + k*d - p] += sum_{j<D} W[c*D + j, k] i[c*D + j, y]; o[c] += b[c]",
        description="Transposed depthwise convolution: each input map spread through its own kernel, "
        "every divisor consecutive maps summed into one output map.",
        forward=depthwise_deconvolution,
        infer_shape=depthwise_deconvolution_shape,
        estimate=depthwise_deconvolution_estimate,
        function_scope="depthwise_deconv",
        properties=(
            Property("kernel_shape", "shape", [5, 5], _KERNEL + " 1-D or 2-D only."),
            Property("padding", "uint_array", [0, 0], "Values cropped from both ends of each spatial output axis."),
            Property("strides", "shape", [1, 1], "Step between the places input values are spread to."),
            Property("dilation", "shape", [1, 1], _DILATION),
            Property("divisor", "pint", 1, "Input maps per output map D: out maps = in maps / D."),
            Property("with_bias", "bool", True, "Whether to add the bias b."),
            PARAMETER_SCOPE,
        ),
        parameters=(
            Parameter(
                "W",
                "NormalConvolutionHeForward",
                1.0,
                lambda shapes, props: (shapes[0][0], *props["kernel_shape"]),
                "Kernels, one per input map: shape (in_maps, *kernel_shape).",
                initializers=CONV_INITIALIZERS,
                fans=depthwise_fans,
            ),
            _bias(
                lambda shapes, props: (shapes[0][0] // props["divisor"],),
                "Bias, one per output map: shape (in_maps/divisor,).",
            ),
        ),
    )
)


# Embed


def embed(inputs, props, params):
    """o[..., :] = W[i] for every class index i, truncated toward zero as nnabla casts it to an integer;
    NaN where i is not a class index 0..num_class-1 (nnabla would read outside W)"""
    x, W = inputs[0], params["W"]
    valid = np.isfinite(x) & (x > -1) & (x < W.shape[0])  # truncates to 0..num_class-1
    rows = W[np.where(valid, x, 0).astype(np.intp)]
    if valid.all():
        return rows
    return np.where(valid.reshape(valid.shape + (1,) * (W.ndim - 1)), rows, W.dtype.type(np.nan))


def embed_estimate(inputs, shapes, props, params, dtype):
    """The outputs are rows of W: its mean and spread."""
    mean, variance = params["W"]
    return Estimate(mean, float(np.sqrt(max(variance, 0.0))))


register(
    LayerType(
        name="Embed",
        category="Basic",
        formula="o = W[i]",
        description="Looks up one learned array of shape `shape` per class index: "
        "inputs are integers 0..num_class-1, such as word indexes.",
        forward=embed,
        infer_shape=lambda shapes, props: (*shapes[0], *props["shape"]),
        estimate=embed_estimate,
        function_scope="embed",
        properties=(
            Property("num_class", "pint", 100, "Number of classes N: inputs are indices 0..N-1."),
            Property("shape", "shape", 32, "Shape of the array assigned to each class."),
            PARAMETER_SCOPE,
        ),
        parameters=(
            Parameter(
                "W",
                "Uniform",
                1.0,
                lambda shapes, props: (props["num_class"], *props["shape"]),
                "One array per class: shape (num_class, *shape).",
            ),
        ),
        range_note="NNC's rule: inputs are class indices 0..num_class-1. A fractional index is truncated "
        "toward zero as nnabla truncates it; an index outside 0..num_class-1 gives NaN.",
    )
)


# DeformableConvolution (nnabla's modulated deformable convolution, 2-D, channels first)


def _deformable_offsets(shapes, props) -> Shape:
    """Offset: a (row, column) shift per deformable group and kernel tap, at every input position."""
    _, spatial = _split_sample(shapes[0], props, "convolves")
    return (2 * props["deformable_group"] * prod(props["kernel_shape"]), *spatial)


def _deformable_mask(shapes, props) -> Shape:
    """Mask: a factor per deformable group and kernel tap, at every input position."""
    _, spatial = _split_sample(shapes[0], props, "convolves")
    return (props["deformable_group"] * prod(props["kernel_shape"]), *spatial)


def _bilinear(image: np.ndarray, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """image (N, G, Cg, H, W) read at the fractional positions h, w (N, G, P), each of the four neighbours
    outside the image counting 0, and 0 where (h, w) lies outside (-1, H) x (-1, W), as nnabla's
    im2col_bilinear: (N, G, Cg, P)."""
    height, width = image.shape[-2:]
    flat = image.reshape((*image.shape[:3], height * width))
    inside = (h > -1) & (w > -1) & (h < height) & (w < width)
    low_h, low_w = np.floor(h), np.floor(w)
    total = np.zeros((*image.shape[:3], h.shape[-1]))
    for dh, dw in ((0, 0), (0, 1), (1, 0), (1, 1)):
        rows, cols = low_h + dh, low_w + dw
        weight = (1 - np.abs(h - rows)) * (1 - np.abs(w - cols))
        valid = inside & (rows >= 0) & (cols >= 0) & (rows <= height - 1) & (cols <= width - 1)
        index = np.where(valid, rows * width + cols, 0).astype(np.intp)
        values = np.take_along_axis(flat, index[:, :, None, :], axis=3)
        total += values * np.where(valid, weight, 0.0)[:, :, None, :]
    return total


def deformable_convolution(inputs, props, params):
    """o[m, y] = sum_{n, k} W[m, n, k] mask_k(y) i[n, y*s + k*d - p + offset_k(y)] + b[m] (i read bilinearly)"""
    x, offset, mask = inputs
    batch, channels, height, width = x.shape
    (kh, kw), (sh, sw), (dh, dw) = props["kernel_shape"], props["strides"], props["dilation"]
    ph, pw = conv_padding(props)
    out_h, out_w = _conv_lengths((height, width), props)
    groups, taps = props["deformable_group"], kh * kw
    # offsets and mask are read at the input position of each output, (y s) (nnabla's h_in, w_in)
    shift = offset.astype(np.float64).reshape(batch, groups, taps, 2, height, width)[
        ..., : out_h * sh : sh, : out_w * sw : sw
    ]
    scale = mask.astype(np.float64).reshape(batch, groups, taps, height, width)[
        ..., : out_h * sh : sh, : out_w * sw : sw
    ]
    tap_h = (np.arange(kh) * dh).repeat(kw)[:, None, None]
    tap_w = np.tile(np.arange(kw) * dw, kh)[:, None, None]
    rows = (np.arange(out_h) * sh)[None, :, None] + tap_h - ph + shift[:, :, :, 0]  # (N, G, taps, out_h, out_w)
    cols = (np.arange(out_w) * sw)[None, None, :] + tap_w - pw + shift[:, :, :, 1]
    image = x.astype(np.float64).reshape(batch, groups, channels // groups, height, width)
    sampled = _bilinear(image, rows.reshape(batch, groups, -1), cols.reshape(batch, groups, -1))
    columns = sampled.reshape(batch, groups, channels // groups, taps, out_h, out_w) * scale[:, :, None]
    columns = columns.reshape(batch, channels, taps, out_h, out_w)
    weights = params["W"].astype(np.float64)
    group = props["group"]
    per_in, per_out = channels // group, weights.shape[0] // group
    out = np.concatenate(
        [
            np.einsum(
                "mck,nckyx->nmyx",
                weights[g * per_out : (g + 1) * per_out].reshape(per_out, per_in, taps),
                columns[:, g * per_in : (g + 1) * per_in],
            )
            for g in range(group)
        ],
        axis=1,
    )
    if "b" in params:
        out += params["b"].astype(np.float64)[None, :, None, None]
    return out.astype(x.dtype)


def deformable_convolution_shape(shapes, props):
    if len(props["kernel_shape"]) != 2:
        raise ShapeError("nnabla's deformable convolution is 2-D: kernel_shape must have 2 values", "kernel_shape")
    if props["channel_last"]:
        raise ShapeError("channel_last is not supported by nnspec's DeformableConvolution yet", "channel_last")
    out = convolution_shape(shapes[:1], props)
    channels, spatial = _split_sample(shapes[0], props, "convolves")
    if channels % props["deformable_group"] or props["out_maps"] % props["deformable_group"]:
        raise ShapeError(
            f"deformable_group {props['deformable_group']} must divide both the {channels} input channels and the "
            f"{props['out_maps']} out_maps",
            "deformable_group",
        )
    padding = conv_padding(props)
    if all(p >= (k + 1) // 2 for p, k in zip(padding, props["kernel_shape"])):
        raise ShapeError(
            f"padding {format_shape(padding)} puts the kernel's centre in the padding (nnabla refuses it): "
            "make it smaller",
            "padding",
        )
    for axis, (length, o, s) in enumerate(zip(spatial, out[1:], props["strides"])):
        if (o - 1) * s >= length:
            raise ShapeError(
                f"along spatial axis {axis} the {o} outputs read their offsets at input positions up to {(o - 1) * s}, "
                f"past the input's {length}: nnabla reads them there (outside its arrays); use less padding",
                "padding",
            )
    return out


register(
    LayerType(
        name="DeformableConvolution",
        category="Basic",
        formula="o[m, y] = sum_{n, k} W[m, n, k] Mask_k(y) i[n, y*s + k*d - p + Offset_k(y)] + b[m]",
        description="A 2-D convolution whose every kernel tap at every output reads the input at a learned shift "
        "(Offset: row, column per deformable group and tap, bilinear between pixels, 0 outside) and is scaled by "
        "Mask (Dai et al.; Zhu et al.). Offset and Mask are side inputs at the input's positions, read where "
        "each output's window starts (y s); by default Offset is drawn Normal and Mask is Constant 1, as NNC's.",
        forward=deformable_convolution,
        infer_shape=deformable_convolution_shape,
        estimate=convolution_estimate,
        function_scope="deformable_conv",
        properties=(
            Property("out_maps", "pint", 16, "Number of output maps (kernels)."),
            Property("kernel_shape", "shape", [3, 3], "Kernel size (height, width)."),
            Property("border_mode", "choice", "same", _BORDER, choices=BORDER_MODES),
            Property("padding", "uint_array", None, _PADDING),
            Property("strides", "shape", [1, 1], _STRIDES),
            Property("dilation", "shape", [1, 1], _DILATION),
            Property("group", "pint", 1, "Number of channel groups, as Convolution's."),
            Property(
                "deformable_group",
                "pint",
                1,
                "Number of channel groups with their own offsets and mask; it divides the input maps and out_maps.",
            ),
            Property("channel_last", "bool", False, "Samples are (*spatial, C) (not supported by nnspec yet)."),
            Property("with_bias", "bool", True, "Whether to add the bias b."),
            PARAMETER_SCOPE,
        ),
        parameters=(
            Parameter(
                "W",
                "NormalConvolutionGlorot",
                1.0,
                convolution_weight_shape,
                "Kernels, shape (out_maps, in_maps/group, *kernel_shape).",
                initializers=CONVOLUTION_INITIALIZERS,
                fans=conv_fans,
            ),
            _bias(lambda shapes, props: (props["out_maps"],), "Bias, one per output map: shape (out_maps,)."),
        ),
        targets=(
            Target(
                "Offset",
                "the (row, column) shift of each tap, (2 x deformable_group x taps, H, W) (default: Normal, NNC's)",
                dataset="",
                shape=_deformable_offsets,
                generator="Normal",
            ),
            Target(
                "Mask",
                "the factor of each tap, (deformable_group x taps, H, W) (default: Constant 1, NNC's)",
                dataset="",
                shape=_deformable_mask,
                generator="Constant",
            ),
        ),
    )
)


# AdaptiveSeparableConvolution


def _separable_out(shapes, props) -> tuple[int, int]:
    kv, kh = props["kernel_shape"]
    _, height, width = shapes[0]
    return height - kv + 1, width - kh + 1


def adaptive_separable_convolution(inputs, props, params):
    """o[c, y, x] = sum_{j, i} V[j, y, x] H[i, y, x] i[c, y + j, x + i]"""
    x, vertical, horizontal = inputs
    kv, kh = props["kernel_shape"]
    out_h, out_w = x.shape[2] - kv + 1, x.shape[3] - kh + 1
    image = x.astype(np.float64)
    out = np.zeros((len(x), x.shape[1], out_h, out_w))
    for j in range(kv):
        for i in range(kh):
            weight = vertical[:, j].astype(np.float64) * horizontal[:, i].astype(np.float64)  # (N, out_h, out_w)
            out += weight[:, None] * image[:, :, j : j + out_h, i : i + out_w]
    return out.astype(x.dtype)


def adaptive_separable_convolution_shape(shapes, props):
    shape, kernel = shapes[0], props["kernel_shape"]
    if len(kernel) != 2:
        raise ShapeError("kernel_shape must be (vertical, horizontal) kernel lengths, 2 values", "kernel_shape")
    if len(shape) != 3:
        raise ShapeError(f"the input {format_shape(shape)} must be (C, H, W): nnabla's function is 2-D, channels first")
    out_h, out_w = _separable_out(shapes, props)
    if out_h < 1 or out_w < 1:
        raise ShapeError(
            f"kernel_shape {format_shape(kernel)} is longer than the input's (H, W) {format_shape(shape[1:])}",
            "kernel_shape",
        )
    return (shape[0], out_h, out_w)


def _separable_kernel(which: int):
    def shape(shapes, props) -> Shape:
        return (props["kernel_shape"][which], *_separable_out(shapes, props))

    return shape


register(
    LayerType(
        name="AdaptiveSeparableConvolution",
        category="Basic",
        formula="o[c, y, x] = sum_{j, i} V[j, y, x] H[i, y, x] i[c, y + j, x + i]",
        description="Convolves every channel with a kernel of its own at each output pixel and sample, the "
        "outer product of a vertical kernel V and a horizontal kernel H (Niklaus et al.), given as side inputs "
        "of shape (kernel length, output height, output width); no padding (pad the input first). By default "
        "V is drawn Normal and H is Constant 1, as NNC's.",
        forward=adaptive_separable_convolution,
        infer_shape=adaptive_separable_convolution_shape,
        properties=(Property("kernel_shape", "shape", [3, 3], "Lengths of the vertical and horizontal kernels."),),
        targets=(
            Target(
                "V",
                "the vertical kernel at each output pixel, (kernel_shape[0], out H, out W) (default: Normal, NNC's)",
                dataset="",
                shape=_separable_kernel(0),
                generator="Normal",
            ),
            Target(
                "H",
                "the horizontal kernel at each output pixel, (kernel_shape[1], out H, out W) (default: Constant 1, "
                "NNC's)",
                dataset="",
                shape=_separable_kernel(1),
                generator="Constant",
            ),
        ),
    )
)
