"""Layers that move, join or reshape values without computing new ones."""

from __future__ import annotations

from math import prod, sqrt

import numpy as np

from ..core.estimate import Estimate, mixture
from .catalog import Arity, LayerType, Property, ShapeError, check_axis, format_shape, register, same_shape, unary


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
        description="Joins two or more inputs along one axis (nnabla refuses a single input, so NNC cannot "
        "run one; Identity passes one input through).",
        forward=concatenate,
        infer_shape=concatenate_shape,
        estimate=lambda inputs, shapes, props, params, dtype: mixture([(e, prod(s)) for e, s in zip(inputs, shapes)]),
        # nnabla's Concatenate needs at least 2 inputs (its setup fails on one, so NNC cannot run it):
        # one input is refused here too, rather than run as a copy NNC would never compute.
        arity=Arity(2, None),
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


# --- shared helpers ---------------------------------------------------------------------
#
# Forward functions receive arrays with the batch axis first; properties name sample axes
# (batch excluded), so sample axis a is numpy axis a + 1.


def _constant(value: float) -> Estimate:
    return Estimate(value, 0.0, value, value)


def _same_values(inputs, shapes, props, params, dtype) -> Estimate:
    """Layers that only move, repeat or pick values: the values keep their distribution."""
    return inputs[0]


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _axis_range(first: int, count: int) -> str:
    return f"axis {first}" if count == 1 else f"axes {first}..{first + count - 1}"


def _check_axes(axes, shape, prop: str) -> None:
    for axis in axes:
        check_axis(axis, shape, prop)


def _trailing(values: tuple, ndim: int, neutral, prop: str, per_axis: int = 1) -> tuple:
    """Per-axis values given for the last axes, as nnabla takes them: the axes they leave out
    get ``neutral``. Values beyond the sample's axes would reach nnabla's batch axis: allowed only
    when they leave it alone (NNC's default Shift 0,0 on a vector), refused otherwise."""
    count = len(values) // per_axis
    if count > ndim:
        extra = values[: (count - ndim) * per_axis]
        if any(v != neutral for v in extra):
            raise ShapeError(
                f"{prop} gives values for {count} axes, but the input has {ndim}: the values for the first "
                f"{_plural(count - ndim, 'axis', 'axes')} would reach the batch axis, so they must be {neutral} "
                "(or be left out)",
                prop,
            )
        values = values[(count - ndim) * per_axis :]
    return (neutral,) * ((ndim - len(values) // per_axis) * per_axis) + tuple(values)


# --- Dropout ---------------------------------------------------------------------------------


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads uint64 keys over all 64 bits (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _dropout_uniform(x: np.ndarray, seed: int) -> np.ndarray:
    """One uniform number in [0, 1) per value, a hash of (seed, the sample's values, the value's
    position in the sample). The same sample gets the same numbers in any batch, at any batch
    position and with any batch size, so a run's outputs do not depend on how it is batched."""
    flat = x.reshape(len(x), -1)
    position = np.arange(flat.shape[1], dtype=np.uint64)
    salt = _mix(position * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed))  # per seed and position
    bits = flat.astype(np.float64).view(np.uint64)  # float32 -> float64 is exact: equal values, equal bits
    sample_key = _mix(bits ^ salt).sum(axis=1, keepdims=True)  # uint64 sum, wrapping
    draws = _mix(sample_key ^ _mix(salt)) >> np.uint64(11)  # 53 random bits
    return (draws * 2.0**-53).reshape(x.shape)


def dropout(inputs, props, params):
    """o = i with skip_at_test; else o = i m / (1 - p), m = 0 with probability p and 1 otherwise"""
    x = inputs[0]
    if props["skip_at_test"]:
        return x  # NNC runs inference without Dropout: the identity
    p = props["p"]
    # A seed of -1 is NNC's "no fixed seed" (nnabla then draws from its global generator). A run
    # hands over a seed derived from the spec's in its place (nnspec.spec.semantics.layer_seed), so it stays
    # reproducible; called directly with -1, seed 0 (nnspec's default spec seed) is used.
    keep = _dropout_uniform(x, props["seed"] if props["seed"] >= 0 else 0) >= p  # kept with probability 1 - p
    # nnabla computes x * m * scale with m in {0, 1} of x's type and scale = 1 / (1 - p) a double,
    # so the product is taken in float64 and rounded once to the dtype; x * 0 keeps inf * 0 = NaN.
    # A kept value beyond max * (1 - p) rounds to inf, as in nnabla: that overflow is expected.
    with np.errstate(over="ignore", invalid="ignore"):
        return ((x * keep.astype(x.dtype)).astype(np.float64) * (1.0 / (1.0 - p))).astype(x.dtype)


def dropout_shape(shapes, props):
    p = props["p"]
    if not 0.0 < p < 1.0:  # nnabla refuses p outside the open interval (also when skipped at test)
        raise ShapeError(f"p {p} is not a dropout probability: it must lie strictly between 0 and 1", "p")
    return shapes[0]


def dropout_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """Inference: unchanged. Dropping: the mean stays, E[o^2] = E[i^2] / (1 - p)."""
    x = inputs[0]
    if props["skip_at_test"]:
        return x
    scale = 1.0 / (1.0 - props["p"])
    square = (x.std**2 + x.mean**2) * scale
    return Estimate(x.mean, sqrt(max(square - x.mean**2, 0.0)), min(0.0, x.low * scale), max(0.0, x.high * scale))


# --- Broadcast, BroadcastTo, Tile ------------------------------------------------------------


def broadcast(inputs, props, params):
    """o = i repeated along its size-1 axes up to out_shape"""
    x = inputs[0]
    if props["out_shape"] is None:
        return x
    # a copy: broadcast_to gives a read-only view with zero strides
    return np.ascontiguousarray(np.broadcast_to(x, (len(x), *props["out_shape"])))


def broadcast_shape(shapes, props):
    shape, out = shapes[0], props["out_shape"]
    if out is None:
        return shape  # NNC's *Input: the input's own shape
    if len(out) != len(shape):
        raise ShapeError(
            f"out_shape {format_shape(out)} has {_plural(len(out), 'axis', 'axes')} and the input "
            f"{len(shape)}: "
            "Broadcast keeps the number of axes (give size-1 axes with Reshape first)",
            "out_shape",
        )
    for axis, (size, target) in enumerate(zip(shape, out)):
        if size not in (1, target):
            raise ShapeError(
                f"axis {axis} has size {size}, which cannot become {target} of out_shape {format_shape(out)}: "
                "only size-1 axes are repeated",
                "out_shape",
            )
    return out


def _broadcast_to_check(x_shape, y_shape, axis: int) -> None:
    """Whether nnabla's broadcast_to, given what NNC passes it, can line y up with x sample by sample.

    NNC passes Axis + 1 (``broadcast_to_param.axis -a``: nnabla's arrays have the batch axis first),
    and nnabla lines y's whole shape, batch axis included, up with x's from that axis, a negative
    one meaning x's last axes. So NNC's default -1 is nnabla's 0: batch on batch, y's sample axes on
    x's leading ones. Any other alignment puts y's batch axis on one of x's sample axes: each output
    sample would be made of other samples' values, and exist only for one batch size. Refused."""
    if len(y_shape) > len(x_shape):
        raise ShapeError(
            f"the second input has more axes ({len(y_shape)}) than the first ({len(x_shape)}): "
            "BroadcastTo repeats the second input's values to the first input's shape"
        )
    nnabla_axis = axis + 1
    if nnabla_axis > len(x_shape):
        raise ShapeError(f"axis {axis} is out of range for the first input's {len(x_shape)} axes", "axis")
    # where y's batch axis lands among x's axes counted with the batch axis (0: on x's batch axis)
    batch_lands = nnabla_axis if nnabla_axis >= 0 else len(x_shape) - len(y_shape)
    if batch_lands != 0:
        raise ShapeError(
            f"NNC passes axis + 1 to nnabla, whose arrays have the batch axis first: axis {axis} lines the "
            f"second input's batch axis up with the first input's axis {batch_lands - 1} (size "
            f"{x_shape[batch_lands - 1]}), mixing samples, for one batch size only; use axis -1, "
            "which lines the second input up with the first input's leading axes",
            "axis",
        )
    leading = tuple(x_shape[: len(y_shape)])
    if leading != tuple(y_shape):
        raise ShapeError(
            f"the second input's shape {format_shape(y_shape)} must equal the first input's "
            f"{_axis_range(0, len(y_shape))}, {format_shape(leading)}: NNC's axis -1 (nnabla's 0) "
            "lines it up with the first input's leading axes",
            "axis",
        )


def broadcast_to(inputs, props, params):
    """o = i1 repeated to the shape of i0, i1's axes lined up with i0's leading axes (NNC's axis -1:
    nnabla's broadcast_to(x=i0, y=i1, axis=0))"""
    x, y = inputs
    x_shape, y_shape = x.shape[1:], y.shape[1:]
    _broadcast_to_check(x_shape, y_shape, props["axis"])
    lined_up = y.reshape((len(y), *y_shape, *(1,) * (len(x_shape) - len(y_shape))))
    return np.ascontiguousarray(np.broadcast_to(lined_up, x.shape))  # a copy, not a read-only view


def broadcast_to_shape(shapes, props):
    _broadcast_to_check(shapes[0], shapes[1], props["axis"])
    return shapes[0]


def _tile_layout(shape, reps):
    """(the sample shape with new leading size-1 axes where reps is longer, reps as long as it)"""
    shape = (1,) * (len(reps) - len(shape)) + tuple(shape)
    return shape, (1,) * (len(shape) - len(reps)) + tuple(reps)


def tile(inputs, props, params):
    """o = i repeated reps[k] times along axis k (reps counts from the last axis, as numpy.tile)"""
    x = inputs[0]
    shape, reps = _tile_layout(x.shape[1:], props["reps"])
    return np.tile(x.reshape((len(x), *shape)), (1, *reps))


def tile_shape(shapes, props):
    shape, reps = _tile_layout(shapes[0], props["reps"])
    return tuple(n * r for n, r in zip(shape, reps))


# --- Pad, Flip, Shift, Transpose, Slice ------------------------------------------------------


def _pad_pairs(pad_width, ndim: int) -> list[tuple[int, int]]:
    if len(pad_width) % 2:
        raise ShapeError(
            f"pad_width holds {len(pad_width)} values: it takes a (before, after) pair for each padded axis",
            "pad_width",
        )
    flat = _trailing(pad_width, ndim, 0, "pad_width", per_axis=2)
    return [(flat[2 * k], flat[2 * k + 1]) for k in range(ndim)]


def _reflect_index(index: np.ndarray, last: int) -> np.ndarray:
    """nnabla's reflection of |index| into 0..last, reversing at 0 and last (the edge value once):
    last = 3 maps 0 1 2 3 4 5 6 7 to 0 1 2 3 2 1 0 1."""
    if last == 0:
        return np.zeros_like(index)
    return np.abs(((index // last) & 1) * last - index % last)


def pad(inputs, props, params):
    """o = i with pad_width[2k], pad_width[2k+1] values added before and after the k-th padded axis"""
    x = inputs[0]
    pairs = _pad_pairs(props["pad_width"], x.ndim - 1)
    mode = props["mode"]
    if mode == "constant":
        # a constant beyond the dtype's range becomes inf, as nnabla's float cast gives
        with np.errstate(over="ignore"):
            value = x.dtype.type(props["constant_value"])
        return np.pad(x, [(0, 0), *pairs], mode="constant", constant_values=value)
    out = x
    for axis, (before, after) in enumerate(pairs, start=1):
        if before == after == 0:
            continue
        size = x.shape[axis]
        position = np.arange(-before, size + after)  # output position relative to the input's first value
        if mode == "repeat":
            source = np.clip(position, 0, size - 1)
        else:  # reflect
            source = _reflect_index(np.abs(position), size - 1)
        out = np.take(out, source, axis=axis)
    return out


def pad_shape(shapes, props):
    pairs = _pad_pairs(props["pad_width"], len(shapes[0]))
    return tuple(n + before + after for n, (before, after) in zip(shapes[0], pairs))


def pad_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    if props["mode"] != "constant":
        return inputs[0]  # reflect and repeat copy input values
    size_in = prod(shapes[0])
    size_out = prod(pad_shape(shapes, props))
    if size_out == size_in:
        return inputs[0]
    return mixture([(inputs[0], size_in), (_constant(props["constant_value"]), size_out - size_in)])


def flip(inputs, props, params):
    """o = i reversed along each axis in axes"""
    x = inputs[0]
    axes = sorted({a + 1 for a in props["axes"]})  # an axis named twice is flipped once, as in nnabla
    return np.flip(x, axis=tuple(axes)) if axes else x


def flip_shape(shapes, props):
    _check_axes(props["axes"], shapes[0], "axes")
    return shapes[0]


def _shift_source(size: int, amount: int, border_mode: str) -> np.ndarray:
    """The input index each output index reads along one axis (nnabla's shift)."""
    position = np.arange(size) - amount
    if border_mode == "nearest":
        return np.clip(position, 0, size - 1)
    if size == 1:
        return np.zeros(1, dtype=np.int64)
    # reflect at the borders with the edge value repeated: ... 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...
    a = np.abs(position + 2 * size) % (2 * size)
    return np.where(a >= size, 2 * size - 1 - a, a)


def shift(inputs, props, params):
    """o[..., j] = i[..., j - shift] along each shifted axis, the borders filled as border_mode says"""
    x = inputs[0]
    amounts = _trailing(props["shift"], x.ndim - 1, 0, "shift")
    out = x
    for axis, amount in enumerate(amounts, start=1):
        if amount:
            out = np.take(out, _shift_source(x.shape[axis], amount, props["border_mode"]), axis=axis)
    return out


def shift_shape(shapes, props):
    _trailing(props["shift"], len(shapes[0]), 0, "shift")
    return shapes[0]


def transpose(inputs, props, params):
    """o = i with its axes permuted: output axis k is input axis axes[k]"""
    x = inputs[0]
    return np.transpose(x, (0, *(a + 1 for a in props["axes"])))


def transpose_shape(shapes, props):
    shape, axes = shapes[0], props["axes"]
    if sorted(axes) != list(range(len(shape))):
        raise ShapeError(
            f"axes {list(axes)} must name each of the input's {len(shape)} axes 0..{len(shape) - 1} once",
            "axes",
        )
    return tuple(shape[a] for a in axes)


def _slices(shape, props) -> list[slice]:
    """One slice per sample axis: start, stop and step cover the last axes, the leading axes whole
    (as nnabla fills them in); stop None is NNC's *Input, the end of each axis."""
    start, stop, step = props["start"], props["stop"], props["step"]
    ndim = len(shape)
    for prop, values in (("stop", stop), ("step", step)):
        if values is not None and len(values) != len(start):
            raise ShapeError(
                f"start has {len(start)} values and {prop} {len(values)}: they give one value per sliced axis each",
                prop,
            )
    if len(start) > ndim:
        raise ShapeError(
            f"start, stop and step give values for {len(start)} axes, but the input has {ndim}: "
            f"give {ndim} or fewer (they cover the last axes)",
            "start",
        )
    if stop is None:
        stop = tuple(shape[ndim - len(start) :])
    lead = ndim - len(start)
    result = [slice(None)] * lead
    for k, (a, b, c) in enumerate(zip(start, stop, step)):
        axis = lead + k
        if c == 0:
            raise ShapeError(f"step {list(step)} holds 0 for axis {axis}: a step must be at least 1", "step")
        if len(range(a, min(b, shape[axis]), c)) == 0:
            raise ShapeError(
                f"start {a}, stop {b} select nothing of axis {axis} (size {shape[axis]}): the slice would be empty",
                "start" if a >= shape[axis] else "stop",
            )
        result.append(slice(a, b, c))
    return result


def slice_(inputs, props, params):
    """o = i[start:stop:step] along each axis"""
    x = inputs[0]
    return x[(slice(None), *_slices(x.shape[1:], props))]


def slice_shape(shapes, props):
    shape = shapes[0]
    return tuple(len(range(*s.indices(n))) for s, n in zip(_slices(shape, props), shape))


# --- Stack, MatrixDiag, MatrixDiagPart ---------------------------------------------------------


def stack(inputs, props, params):
    """o = i0, i1, ... joined along a new axis"""
    return np.stack(inputs, axis=props["axis"] + 1)


def stack_shape(shapes, props):
    first, axis = shapes[0], props["axis"]
    if axis > len(first):
        raise ShapeError(
            f"axis {axis} is out of range: the new axis goes before one of the {len(first)} input axes "
            f"or after the last, so axis is at most {len(first)}",
            "axis",
        )
    for shape in shapes[1:]:
        if tuple(shape) != tuple(first):
            raise ShapeError("Stack needs inputs of one shape")
    return (*first[:axis], len(shapes), *first[axis:])


def stack_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    return mixture([(e, prod(s)) for e, s in zip(inputs, shapes)])


def matrix_diag(inputs, props, params):
    """o[..., j, k] = i[..., j] where j = k, else 0"""
    x = inputs[0]
    m = x.shape[-1]
    out = np.zeros((*x.shape, m), dtype=x.dtype)
    diagonal = np.arange(m)
    out[..., diagonal, diagonal] = x
    return out


def matrix_diag_shape(shapes, props):
    shape = shapes[0]
    if len(shape) < 1:
        raise ShapeError("MatrixDiag needs at least one axis: the last becomes the diagonal")
    return (*shape, shape[-1])


def matrix_diag_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    size = prod(shapes[0])
    if shapes[0][-1] == 1:
        return inputs[0]
    return mixture([(inputs[0], size), (_constant(0.0), size * (shapes[0][-1] - 1))])


def matrix_diag_part(inputs, props, params):
    """o[..., j] = i[..., j, j]"""
    return np.diagonal(inputs[0], axis1=-2, axis2=-1).copy()


def matrix_diag_part_shape(shapes, props):
    shape = shapes[0]
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError("MatrixDiagPart needs square matrices in the last two axes")
    return shape[:-1]


# --- Sort, Interpolate ---------------------------------------------------------------------


def _sort_axis(axis: int) -> int:
    """The numpy axis of Sort's axis: from 0 the sample's axes, negative counted from the last."""
    return axis + 1 if axis >= 0 else axis


def sort(inputs, props, params):
    """o = i sorted along axis (ascending, or descending with reverse), or the source indices with only_index"""
    x = inputs[0]
    axis = _sort_axis(props["axis"])
    # Stable sorts: equal values keep their order (nnabla's std::sort leaves it open); NaN sorts
    # last either way. Negation is exact, so sorting -i ascending is sorting i descending.
    order = np.argsort(-x if props["reverse"] else x, axis=axis, kind="stable")
    if props["only_index"]:
        return order.astype(x.dtype)
    return np.take_along_axis(x, order, axis=axis)


def sort_shape(shapes, props):
    shape, axis = shapes[0], props["axis"]
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(
            f"axis {axis} is out of range: with {len(shape)} axes it lies in {-len(shape)}..{len(shape) - 1} "
            "(negative axes count from the last)",
            "axis",
        )
    return shape


def sort_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    if not props["only_index"]:
        return inputs[0]
    n = shapes[0][props["axis"]]
    return Estimate((n - 1) / 2, sqrt((n * n - 1) / 12), 0.0, float(n - 1))  # 0..n-1, each once


def _interpolate_axis(x: np.ndarray, axis: int, size: int, align_corners: bool) -> np.ndarray:
    """Linear interpolation of x along one axis to ``size`` points, as nnabla places them:
    output index o reads input position f = o (n-1)/(size-1) with align_corners, f = o n/size
    without (nnabla's default half_pixel=False); a single output point reads position 0.
    o = (1 - w) i[floor f] + w i[min(floor f + 1, n - 1)], w = f - floor f."""
    n = x.shape[axis]
    # f = o * numerator / denominator, kept as integers: floor f and both weights come out exact
    # before their one rounding to the dtype. (nnabla computes f in float32 and lx0 = 1 - lx1, whose
    # roundings shift its results by a few ulp of the values weighed; nnspec gives the exact weights.)
    if size <= 1:
        numerator, denominator = 0, 1
    elif align_corners:
        numerator, denominator = n - 1, size - 1
    else:
        numerator, denominator = n, size
    low, remainder = np.divmod(np.arange(size) * numerator, denominator)
    high = np.minimum(low + 1, n - 1)
    layout = [1] * x.ndim
    layout[axis] = size
    w1 = (remainder / denominator).astype(x.dtype).reshape(layout)
    w0 = ((denominator - remainder) / denominator).astype(x.dtype).reshape(layout)
    return w0 * np.take(x, low, axis=axis) + w1 * np.take(x, high, axis=axis)


def interpolate(inputs, props, params):
    """o = i resized to output_size over its last len(output_size) axes by (bi/tri)linear interpolation"""
    x = inputs[0]
    sizes = props["output_size"]
    # One axis at a time from the last: the same products and sums in the same order as nnabla's
    # 2-D and 3-D formulas, ly0 (lx0 a + lx1 b) + ly1 (lx0 c + lx1 d).
    for k in reversed(range(len(sizes))):
        x = _interpolate_axis(x, x.ndim - len(sizes) + k, sizes[k], props["align_corners"])
    return x


def interpolate_shape(shapes, props):
    shape, sizes = shapes[0], props["output_size"]
    if len(sizes) > 3:
        raise ShapeError(
            f"output_size {format_shape(sizes)} resizes {len(sizes)} axes: nnabla interpolates 1, 2 or 3",
            "output_size",
        )
    if len(sizes) > len(shape):
        raise ShapeError(
            f"output_size {format_shape(sizes)} resizes {len(sizes)} axes, but the input has {len(shape)}",
            "output_size",
        )
    return (*shape[: len(shape) - len(sizes)], *sizes)


# --- ResetNaN, ResetInf, OneHot --------------------------------------------------------------


def reset_nan(x):
    """o = 0 where i is NaN, else i"""
    return np.where(np.isnan(x), x.dtype.type(0), x)


def reset_inf(x):
    """o = 0 where i is +inf or -inf, else i"""
    return np.where(np.isinf(x), x.dtype.type(0), x)


def one_hot(inputs, props, params):
    """o[..., c0, c1, ...] = 1 where (c0, c1, ...) = the indices in i's last axis, else 0"""
    x = inputs[0]
    classes = props["shape"]
    # An index that is not an integer in 0..n-1 has no place (nnabla writes out of bounds): its
    # whole block becomes NaN, which the nan-inf check reports with this layer.
    valid = np.isfinite(x) & (x == np.floor(x)) & (x >= 0) & (x < np.array(classes, dtype=x.dtype))
    index = np.where(valid, x, 0).astype(np.int64)
    flat = np.ravel_multi_index(tuple(np.moveaxis(index, -1, 0)), classes)  # row-major, as nnabla's addr
    out = np.zeros((*x.shape[:-1], prod(classes)), dtype=x.dtype)
    np.put_along_axis(out, flat[..., np.newaxis], 1, axis=-1)
    out[~valid.all(axis=-1)] = np.nan
    return out.reshape((*x.shape[:-1], *classes))


def one_hot_shape(shapes, props):
    shape, classes = shapes[0], props["shape"]
    if len(shape) < 1 or shape[-1] != len(classes):
        last = shape[-1] if shape else 0
        raise ShapeError(
            f"the last axis holds {last} ind{'ex' if last == 1 else 'ices'} per position, but shape "
            f"{format_shape(classes)} gives {len(classes)} class count{'s' if len(classes) != 1 else ''}: "
            "give one class count per index",
            "shape",
        )
    return (*shape[:-1], *classes)


def one_hot_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    share = 1.0 / prod(props["shape"])  # one 1 among prod(shape) values
    return Estimate(share, sqrt(share * (1.0 - share)), 0.0, 1.0)


# --- the catalog entries -------------------------------------------------------------------

register(
    LayerType(
        name="Dropout",
        category="Others",
        formula="o=i (skip_at_test, at evaluation); o=i*m/(1-p), m=0 with probability p, else 1 (training)",
        description="Drops values at random while training; NNC evaluates without it (skip_at_test), as nnspec run "
        "does unless --training is given.",
        forward=dropout,
        infer_shape=dropout_shape,
        estimate=dropout_estimate,
        properties=(
            Property("p", "float", 0.5, "Probability of dropping each value, strictly between 0 and 1."),
            Property(
                "seed",
                "int",
                -1,
                "Seed of the dropping pattern (drawn per sample, whatever the batching); -1 (NNC: no fixed seed) "
                "uses a seed made of the spec's seed and the layer's name in nnspec.",
            ),
            Property(
                "skip_at_test",
                "bool",
                True,
                "Pass values through unchanged at evaluation (nnspec run without --training); false drops them "
                "at evaluation too. In training (--training) values are always dropped.",
            ),
        ),
        skip_at_test=True,  # NNC's definition has the SkipAtTest property (default true)
        range_note="Where values are dropped (--training, or skip_at_test false), kept values grow by 1/(1-p): "
        "p = 0.9 multiplies them by 10.",
    )
)

register(
    LayerType(
        name="Broadcast",
        category="Others",
        formula="o=i repeated along its size-1 axes to out_shape",
        description="Repeats the values of size-1 axes to reach out_shape.",
        forward=broadcast,
        infer_shape=broadcast_shape,
        estimate=_same_values,
        properties=(
            Property(
                "out_shape",
                "shape",
                None,
                "Shape to broadcast to, with as many axes as the input (default: the input's shape).",
            ),
        ),
    )
)

register(
    LayerType(
        name="BroadcastTo",
        category="Others",
        formula="o=i1 repeated to the shape of i0, i1's axes lined up with i0's leading axes",
        description="Repeats the second input's values to the first input's shape, each value along the "
        "first input's trailing axes (nnabla's broadcast_to(x, y, axis=0), which NNC runs for its Axis -1).",
        forward=broadcast_to,
        infer_shape=broadcast_to_shape,
        estimate=lambda inputs, shapes, props, params, dtype: inputs[1],
        arity=Arity(2, 2),
        operand="y",
        properties=(
            Property(
                "axis",
                "int",
                -1,
                "NNC's Axis, which NNC passes to nnabla as axis + 1 (nnabla counts the batch axis): -1 lines "
                "the second input's axes up with the first input's leading axes. Another value would line "
                "the second input's batch axis up with a sample axis, and is refused.",
            ),
        ),
    )
)

register(
    LayerType(
        name="Tile",
        category="Others",
        formula="o=i repeated reps times along each axis",
        description="Repeats the whole input along each axis (reps counts from the last axis, as numpy.tile).",
        forward=tile,
        infer_shape=tile_shape,
        estimate=_same_values,
        properties=(
            Property(
                "reps",
                "shape",
                2,
                "Repetitions per axis, for the last axes; more values than axes add new leading axes.",
            ),
        ),
    )
)

register(
    LayerType(
        name="Pad",
        category="Others",
        formula="o=i with pad_width values added before and after the last axes",
        description="Pads the last axes with a constant, their reflection, or their edge values.",
        forward=pad,
        infer_shape=pad_shape,
        estimate=pad_estimate,
        properties=(
            Property(
                "pad_width",
                "uint_array",
                [0, 0, 0, 0],
                "(before, after) pairs, one per padded axis; the pairs cover the last axes.",
            ),
            Property(
                "mode",
                "choice",
                "constant",
                "constant: constant_value; reflect: mirrored at the edge value (4 3 2 | 1 2 3 4 | 3 2 1); "
                "repeat: the edge value repeated (1 1 1 | 1 2 3 4 | 4 4 4).",
                choices=("constant", "reflect", "repeat"),
            ),
            Property("constant_value", "float", 0.0, "Value padded with in constant mode."),
        ),
    )
)

register(
    LayerType(
        name="Flip",
        category="Others",
        formula="o=i reversed along axes",
        description="Reverses the order of the values along each of the given axes.",
        forward=flip,
        infer_shape=flip_shape,
        estimate=_same_values,
        properties=(Property("axes", "uint_array", [0], "Axes to reverse (batch axis excluded)."),),
    )
)

register(
    LayerType(
        name="Shift",
        category="Others",
        formula="o[j]=i[j-shift] along each shifted axis",
        description="Shifts the values along the last axes, filling the vacated border from the input's edge.",
        forward=shift,
        infer_shape=shift_shape,
        estimate=_same_values,
        properties=(
            Property(
                "shift",
                "int_array",
                [0, 0],
                "Shift per axis, for the last axes (0, 0: the last two); positive moves values to higher indices.",
            ),
            Property(
                "border_mode",
                "choice",
                "nearest",
                "nearest: the edge value repeated; reflect: the input mirrored, its edge value included.",
                choices=("nearest", "reflect"),
            ),
        ),
    )
)

register(
    LayerType(
        name="Transpose",
        category="Others",
        formula="o=i with axes permuted: output axis k is input axis axes[k]",
        description="Reorders the axes.",
        forward=transpose,
        infer_shape=transpose_shape,
        estimate=_same_values,
        properties=(Property("axes", "uint_array", [0, 1, 2], "Input axis for each output axis: a permutation."),),
    )
)

register(
    LayerType(
        name="Slice",
        category="Others",
        formula="o=i[start:stop:step]",
        description="Takes every step-th value from start up to (not including) stop along the last axes.",
        forward=slice_,
        infer_shape=slice_shape,
        estimate=_same_values,
        properties=(
            Property("start", "uint_array", [0, 0, 0], "First index per axis, for the last axes."),
            Property(
                "stop",
                "uint_array",
                None,
                "End index (excluded) per axis; past the end means the end (default: the input's shape, all).",
            ),
            Property("step", "uint_array", [1, 1, 1], "Step per axis, at least 1."),
        ),
    )
)

register(
    LayerType(
        name="Stack",
        category="Others",
        formula="o=stack(i0, i1, ...) along a new axis",
        description="Joins inputs of one shape along a new axis.",
        forward=stack,
        infer_shape=stack_shape,
        estimate=stack_estimate,
        arity=Arity(1, None),
        properties=(Property("axis", "uint", 0, "Position of the new axis (batch axis excluded)."),),
    )
)

register(
    LayerType(
        name="MatrixDiag",
        category="Others",
        formula="o[..., j, k]=i[..., j] if j=k, else 0",
        description="Turns the last axis into the diagonal of square matrices.",
        forward=matrix_diag,
        infer_shape=matrix_diag_shape,
        estimate=matrix_diag_estimate,
    )
)

register(
    LayerType(
        name="MatrixDiagPart",
        category="Others",
        formula="o[..., j]=i[..., j, j]",
        description="Takes the diagonals of square matrices in the last two axes.",
        forward=matrix_diag_part,
        infer_shape=matrix_diag_part_shape,
        estimate=_same_values,
    )
)

register(
    LayerType(
        name="Sort",
        category="Others",
        formula="o=sort(i) along axis",
        description="Sorts the values along an axis, or gives the indices that sort them (only_index).",
        forward=sort,
        infer_shape=sort_shape,
        estimate=sort_estimate,
        properties=(
            Property("axis", "int", 0, "Axis to sort along (batch axis excluded; negative counts from the last)."),
            Property("reverse", "bool", False, "Sort in descending order."),
            Property("only_index", "bool", False, "Output the indices of the sorted values instead of the values."),
        ),
        range_note="Equal values keep their order; NaN sorts last.",
    )
)

register(
    LayerType(
        name="Interpolate",
        category="Others",
        formula="o=linear interpolation of i to output_size",
        description="Resizes the last len(output_size) axes (1 to 3) by linear interpolation.",
        forward=interpolate,
        infer_shape=interpolate_shape,
        estimate=_same_values,
        properties=(
            Property("output_size", "shape", [32, 32], "New sizes of the last axes."),
            Property("mode", "choice", "linear", "Interpolation mode.", choices=("linear",)),
            Property(
                "align_corners",
                "bool",
                True,
                "Map the first and last output points onto the first and last input points; false: output "
                "point o reads input position o * in_size / out_size.",
            ),
        ),
    )
)

register(
    LayerType(
        name="ResetNaN",
        category="Others",
        elementwise=True,
        formula="o=0 if i is NaN, else i",
        description="Replaces NaN values with 0.",
        forward=unary(reset_nan),
        infer_shape=same_shape,
    )
)

register(
    LayerType(
        name="ResetInf",
        category="Others",
        elementwise=True,
        formula="o=0 if i is inf or -inf, else i",
        description="Replaces infinite values with 0.",
        forward=unary(reset_inf),
        infer_shape=same_shape,
    )
)

register(
    LayerType(
        name="OneHot",
        category="Others(Pre Process)",
        formula="o[..., c]=1 if c=i, else 0",
        description="Turns integer class indices in the last axis into one-hot vectors of the classes in shape.",
        forward=one_hot,
        infer_shape=one_hot_shape,
        estimate=one_hot_estimate,
        properties=(Property("shape", "shape", 100, "Number of classes for each index of the input's last axis."),),
        output_range=(0.0, 1.0),
        range_note="Indices must be integers in 0..n-1; any other index makes its whole one-hot block NaN.",
    )
)
