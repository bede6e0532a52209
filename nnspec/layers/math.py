"""Math layers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from math import inf, pi, sqrt
from typing import Any

import numpy as np

from ..core.estimate import Estimate, weighted_sum
from ..core.numbers import format_number
from .catalog import (
    POSITIVE,
    Arity,
    Domain,
    LayerType,
    Property,
    Shape,
    ShapeError,
    check_axis,
    format_shape,
    register,
    same_shape,
    unary,
)


def exp(x, out=None):
    """o = exp(i)"""
    # Past log(max) of the dtype (88.72 in float32) the result is inf, as in nnabla; the
    # exp-overflow check reports those inputs, so numpy's warning is silenced.
    with np.errstate(over="ignore"):
        return np.exp(x, out=out)


register(
    LayerType(
        name="Exp",
        category="Math",
        curve=True,
        elementwise=True,
        formula="o=exp(i)",
        description="Exponential of each input.",
        forward=unary(exp),
        in_place=exp,
        infer_shape=same_shape,
        input_range=(-87.3, 88.72),
        output_range=(0.0, None),
        exp_overflows=True,
        range_note="float32 exp overflows to inf past 88.72 and gives subnormals below -87.3 (float64: 709.78, "
        "-708.4).",
    )
)


# --- shared helpers -------------------------------------------------------------------------------
#
# Reductions, scans and matrix products accumulate in float64 (a float32 result is then rounded
# once), and scale each slice by a power of two first (exact, unlike a division), so that no
# partial sum or product overflows: a result is inf only where the true value lies beyond the
# dtype's range. nnabla accumulates in the dtype; the results agree wherever nnabla's stay finite.


def _numpy_axes(props: Mapping[str, Any]) -> tuple[int, ...]:
    """NNC's axes (batch axis excluded) as axes of the batched array, in order."""
    return tuple(sorted(a + 1 for a in props["axes"]))


def _exponent(x: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """Per slice along axis (kept with size 1), the power-of-two exponent e with |x| < 2**e:
    0 for slices of zeros and for slices holding inf or NaN, which then pass unscaled."""
    peak = np.max(np.abs(x), axis=axis, keepdims=True)
    return np.frexp(np.where(np.isfinite(peak), peak, 0.0))[1]


def _narrow(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float64 result in the spec's dtype."""
    # A value beyond the dtype's range rounds to +-inf, which is what the true value rounds to.
    with np.errstate(over="ignore"):
        return y.astype(dtype, copy=False)


def _drop(y: np.ndarray, axes: tuple[int, ...], keep_dims: bool) -> np.ndarray:
    """y was reduced with keepdims: drop the reduced axes unless keep_dims."""
    return y if keep_dims else np.squeeze(y, axis=axes)


def _reduced_last(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """x with the reduced axes moved to the end, in order, and flattened into one (row-major)."""
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    return moved.reshape(*moved.shape[: len(kept)], -1)


def _reduced_shape(shape: Shape, axes: tuple[int, ...], keep_dims: bool) -> Shape:
    if keep_dims:
        return tuple(1 if a in axes else n for a, n in enumerate(shape))
    return tuple(n for a, n in enumerate(shape) if a not in axes)


def _axes_words(n: int) -> str:
    return f"{n} ax{'i' if n == 1 else 'e'}s"


def reduce_shape(shapes: Sequence[Shape], props: Mapping[str, Any]) -> Shape:
    """The input's shape without the axes reduced (or with them as 1, with keep_dims)."""
    shape, axes = shapes[0], props["axes"]
    for a in axes:
        if not 0 <= a < len(shape):
            if not shape:
                raise ShapeError("it holds one value a sample and has no axis left to reduce", "axes")
            negative = " (and nnabla takes no negative axes here)" if a < 0 else ""
            raise ShapeError(
                f"axes holds {a}, out of range: axes count from 0 without the batch axis{negative}, so with "
                f"{_axes_words(len(shape))} the last is {len(shape) - 1}",
                "axes",
            )
    twice = sorted({a for a in axes if axes.count(a) > 1})
    if twice:
        raise ShapeError(f"axes names axis {twice[0]} twice: each axis can be reduced once", "axes")
    return _reduced_shape(shape, axes, props["keep_dims"])


AXES = Property(
    "axes",
    "int_array",
    0,
    "Axes to reduce (batch axis excluded), each once; an empty list reduces none, as in nnabla.",
)
KEEP_DIMS = Property("keep_dims", "bool", False, "Keep each reduced axis as an axis of size 1.")
ONLY_INDEX = Property(
    "only_index",
    "bool",
    False,
    "Output the position of the extreme value instead of the value (as a float; over several axes, "
    "the row-major position within the reduced axes; the first one where values tie).",
)


# --- reductions -------------------------------------------------------------------------------------


def sum_(inputs, props, params):
    """o = sum of i over axes"""
    x, axes = inputs[0], _numpy_axes(props)
    wide = x.astype(np.float64)
    e = _exponent(wide, axes)
    with np.errstate(over="ignore"):  # only a total beyond the dtype's range overflows: inf is right
        total = np.ldexp(np.sum(np.ldexp(wide, -e), axis=axes, keepdims=True), e)
    return _narrow(_drop(total, axes, props["keep_dims"]), x.dtype)


def mean(inputs, props, params):
    """o = sum of i over axes / number of values summed"""
    x, axes = inputs[0], _numpy_axes(props)
    wide = x.astype(np.float64)
    e = _exponent(wide, axes)
    # Every scaled value is below 1 in magnitude, so is their mean: scaled back, it cannot overflow.
    average = np.ldexp(np.mean(np.ldexp(wide, -e), axis=axes, keepdims=True), e)
    return _narrow(_drop(average, axes, props["keep_dims"]), x.dtype)


def prod(inputs, props, params):
    """o = product of i over axes"""
    x, axes = inputs[0], _numpy_axes(props)
    flat = _reduced_last(x.astype(np.float64), axes)
    # Each value split into a mantissa in 0.5..1 and a power of two; mantissas multiplied pairwise
    # and split again after each round, so no partial product overflows or underflows (an overflow
    # then a zero would give inf * 0 = NaN). The exponents add up exactly.
    mantissa, exponent = np.frexp(flat)
    exponent = exponent.astype(np.int64)
    while mantissa.shape[-1] > 1:
        if mantissa.shape[-1] % 2:  # pair the last value with 1 = 0.5 * 2**1
            mantissa = np.concatenate([mantissa, np.full((*mantissa.shape[:-1], 1), 0.5)], axis=-1)
            exponent = np.concatenate([exponent, np.ones((*exponent.shape[:-1], 1), dtype=np.int64)], axis=-1)
        mantissa, carry = np.frexp(mantissa[..., 0::2] * mantissa[..., 1::2])
        exponent = exponent[..., 0::2] + exponent[..., 1::2] + carry
    with np.errstate(over="ignore"):  # only a product beyond the dtype's range overflows: inf is right
        product = np.ldexp(mantissa[..., 0], exponent[..., 0])
    shape = _reduced_shape(x.shape, axes, props["keep_dims"])
    return _narrow(product.reshape(shape), x.dtype)


def _index_of(x: np.ndarray, props: Mapping[str, Any], arg) -> np.ndarray:
    """The position of the extreme value within the reduced axes, as a float of x's dtype."""
    axes = _numpy_axes(props)
    index = arg(_reduced_last(x, axes), axis=-1)
    return index.astype(x.dtype).reshape(_reduced_shape(x.shape, axes, props["keep_dims"]))


def max_(inputs, props, params):
    """o = max of i over axes (its position, with only_index)"""
    x = inputs[0]
    if props["only_index"]:
        return _index_of(x, props, np.argmax)
    return np.max(x, axis=_numpy_axes(props), keepdims=props["keep_dims"])


def min_(inputs, props, params):
    """o = min of i over axes (its position, with only_index)"""
    x = inputs[0]
    if props["only_index"]:
        return _index_of(x, props, np.argmin)
    return np.min(x, axis=_numpy_axes(props), keepdims=props["keep_dims"])


def norm(inputs, props, params):
    """o = (sum of |i|^p over axes)^(1/p)"""
    x, axes, p = inputs[0], _numpy_axes(props), props["p"]
    magnitude = np.abs(x.astype(np.float64))
    peak = np.max(magnitude, axis=axes, keepdims=True)
    scale = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
    # Divided by the largest magnitude, every term is at most 1, so |i|^p cannot overflow, and the
    # largest term is exactly 1, so the sum cannot underflow to 0 however large p is (p = inf gives
    # the largest magnitude). nnabla raises |i| to p directly, which overflows for |i| > max^(1/p).
    if p == math.inf:  # the largest magnitude itself: the sum's form gives 0^0 = 1 for a slice of zeros
        result = peak
    else:
        total = np.sum((magnitude / scale) ** p, axis=axes, keepdims=True)
        with np.errstate(over="ignore"):  # only a norm beyond the dtype's range overflows: inf is right
            result = scale * total ** (1 / p)
    return _narrow(_drop(result, axes, props["keep_dims"]), x.dtype)


def norm_shape(shapes, props):
    p = props["p"]
    if not p >= 1:
        raise ShapeError(f"p is {format_number(p, 6)}, but a p-norm needs p >= 1, as nnabla's Norm requires", "p")
    return reduce_shape(shapes, props)


def _reduced_count(shapes, props) -> int:
    """Values a reduction sums, in Python's integers: numpy's int64 product wrapped around for huge shapes."""
    return math.prod(shapes[0][a] for a in props["axes"])


def sum_estimate(inputs, shapes, props, params, dtype):
    """A sum of n values taken as independent: n times the mean, sqrt(n) times the spread."""
    x, n = inputs[0], _reduced_count(shapes, props)
    return Estimate(n * x.mean, sqrt(n) * x.std, n * x.low, n * x.high)


def mean_estimate(inputs, shapes, props, params, dtype):
    """A mean of n values taken as independent: the same mean, the spread over sqrt(n)."""
    x, n = inputs[0], _reduced_count(shapes, props)
    return Estimate(x.mean, x.std / sqrt(n), x.low, x.high)


REDUCTIONS = (
    ("Sum", "o=sum(i) over axes", "Sum of the values over the given axes.", sum_, sum_estimate),
    ("Mean", "o=mean(i) over axes", "Mean of the values over the given axes.", mean, mean_estimate),
    ("Prod", "o=prod(i) over axes", "Product of the values over the given axes.", prod, None),
)
for _name, _formula, _description, _forward, _estimate in REDUCTIONS:
    register(
        LayerType(
            name=_name,
            category="Math",
            formula=_formula,
            description=_description,
            forward=_forward,
            infer_shape=reduce_shape,
            estimate=_estimate,
            properties=(AXES, KEEP_DIMS),
        )
    )

register(
    LayerType(
        name="Max",
        category="Math",
        formula="o=max(i) over axes",
        description="Largest value over the given axes, or with only_index its position.",
        forward=max_,
        infer_shape=reduce_shape,
        properties=(AXES, KEEP_DIMS, ONLY_INDEX),
    )
)

register(
    LayerType(
        name="Min",
        category="Math",
        formula="o=min(i) over axes",
        description="Smallest value over the given axes, or with only_index its position.",
        forward=min_,
        infer_shape=reduce_shape,
        properties=(AXES, KEEP_DIMS, ONLY_INDEX),
    )
)

register(
    LayerType(
        name="Norm",
        category="Math",
        formula="o=(sum |i|^p)^(1/p) over axes",
        description="p-norm of the values over the given axes.",
        forward=norm,
        infer_shape=norm_shape,
        properties=(
            Property("p", "float", 2.0, "Order of the norm, at least 1 (inf: the largest magnitude)."),
            AXES,
            KEEP_DIMS,
        ),
        output_range=(0.0, None),
    )
)


# --- cumulative sums and products ---------------------------------------------------------------------


def _scan(x: np.ndarray, props: Mapping[str, Any], accumulate, identity: float) -> np.ndarray:
    """accumulate along axis, from the end with reverse, each output leaving its own value out
    with exclusive (the first output is then the identity)."""
    axis = props["axis"] + 1
    if props["reverse"]:
        x = np.flip(x, axis)
    if props["exclusive"]:  # shift the values one place along the axis, the identity coming in first
        start = np.full_like(np.take(x, [0], axis=axis), identity)
        x = np.concatenate([start, np.delete(x, -1, axis=axis)], axis=axis)
    y = accumulate(x, axis)
    return np.flip(y, axis) if props["reverse"] else y


def _running_sum(x: np.ndarray, axis: int) -> np.ndarray:
    wide = x.astype(np.float64)
    e = _exponent(wide, axis)
    with np.errstate(over="ignore"):  # only a running sum beyond the dtype's range overflows: inf is right
        return _narrow(np.ldexp(np.cumsum(np.ldexp(wide, -e), axis=axis), e), x.dtype)


def _running_product(x: np.ndarray, axis: int) -> np.ndarray:
    wide = x.astype(np.float64)
    zero = wide == 0
    # Multiplied in order, as nnabla does; a zero makes that output and every later one 0, even
    # after the running product overflowed to inf (where inf * 0 would give NaN).
    with np.errstate(over="ignore"):  # a running product beyond the dtype's range: inf
        running = np.cumprod(np.where(zero, 1.0, wide), axis=axis)
    return _narrow(np.where(np.logical_or.accumulate(zero, axis=axis), 0.0, running), x.dtype)


def cumsum(inputs, props, params):
    """o_k = i_0 + ... + i_k along axis (exclusive: up to i_(k-1); reverse: from the end)"""
    return _scan(inputs[0], props, _running_sum, 0.0)


def cumprod(inputs, props, params):
    """o_k = i_0 * ... * i_k along axis (exclusive: up to i_(k-1); reverse: from the end)"""
    return _scan(inputs[0], props, _running_product, 1.0)


def scan_shape(shapes, props):
    check_axis(props["axis"], shapes[0])
    return shapes[0]


SCAN_PROPERTIES = (
    Property("axis", "uint", 0, "Axis to accumulate along (batch axis excluded)."),
    Property("exclusive", "bool", False, "Leave each position's own value out (the first output is the identity)."),
    Property("reverse", "bool", False, "Accumulate from the last position to the first."),
)

register(
    LayerType(
        name="CumSum",
        category="Math",
        formula="o_k=i_0+...+i_k along axis",
        description="Running sum along an axis.",
        forward=cumsum,
        infer_shape=scan_shape,
        properties=SCAN_PROPERTIES,
    )
)

register(
    LayerType(
        name="CumProd",
        category="Math",
        formula="o_k=i_0*...*i_k along axis",
        description="Running product along an axis.",
        forward=cumprod,
        infer_shape=scan_shape,
        properties=SCAN_PROPERTIES,
    )
)


# --- value by value -----------------------------------------------------------------------------------


def log(x):
    """o = ln(i)"""
    # ln(0) = -inf and the log of a negative input is NaN, as in nnabla; the nan-inf check reports
    # them with the layer's inputs, so numpy's divide and invalid warnings are silenced here.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def sign(inputs, props, params):
    """o = 1 for i > 0, -1 for i < 0, alpha otherwise (i = 0, and NaN as in nnabla)"""
    x = inputs[0]
    with np.errstate(over="ignore"):  # an alpha beyond the dtype's range is +-inf in it
        alpha = np.asarray(props["alpha"]).astype(x.dtype)
    one = np.ones_like(x)
    return np.where(x > 0, one, np.where(x < 0, -one, alpha))


def round_(x):
    """o = round(i), halves away from zero"""
    # nnabla uses C's round (2.5 -> 3, -2.5 -> -3); numpy's round takes halves to the even integer.
    # modf splits exactly, so no rounding of i + 0.5 can push 0.49999997 up to 1.
    fraction, whole = np.modf(x)
    return np.where(np.abs(fraction) >= 0.5, whole + np.copysign(1, x), whole)


def ceil(x):
    """o = ceil(i)"""
    return np.ceil(x)


def floor(x):
    """o = floor(i)"""
    return np.floor(x)


register(
    LayerType(
        name="Log",
        category="Math",
        curve=True,
        elementwise=True,
        formula="o=ln(i)",
        description="Natural logarithm of each input.",
        forward=unary(log),
        infer_shape=same_shape,
        input_range=(0.0, inf),
        range_note="Defined for i > 0: ln(0) = -inf and negative inputs give NaN (the log-domain check reports both).",
        domain=Domain(
            "log-domain",
            lambda props: POSITIVE,
            "ln(0) is -inf and the log of a negative number NaN",
            "feed it values > 0: add a small constant first (AddScalar), or take a positive activation such as "
            "Exp or SoftPlus (plus a small constant where it can underflow to 0)",
        ),
    )
)

register(
    LayerType(
        name="Sign",
        category="Math",
        curve=True,
        elementwise=True,
        formula="o=1 (i>0), -1 (i<0), alpha (i=0)",
        description="Sign of each input, alpha where it is 0.",
        forward=sign,
        infer_shape=same_shape,
        properties=(Property("alpha", "float", 0.0, "Output for an input of 0."),),
    )
)

for _name, _function, _formula, _description in (
    ("Round", round_, "o=round(i)", "Rounds each input to the nearest integer, halves away from zero."),
    ("Ceil", ceil, "o=ceil(i)", "Rounds each input up to an integer."),
    ("Floor", floor, "o=floor(i)", "Rounds each input down to an integer."),
):
    register(
        LayerType(
            name=_name,
            category="Math",
            curve=True,
            elementwise=True,
            formula=_formula,
            description=_description,
            forward=unary(_function),
            infer_shape=same_shape,
        )
    )


# --- matrix product -----------------------------------------------------------------------------------


def batch_matmul(inputs, props, params):
    """o = i0 i1, a matrix product over the last two axes; the leading axes broadcast"""
    a, b = (x.astype(np.float64) for x in inputs)
    # Products of float32 values cannot overflow float64 (they stay below 1.2e77), so in float32
    # every output is a float64 dot product rounded once. Float64 data near 1e308 can overflow a
    # product or a partial sum; those outputs (inf, or NaN from inf - inf) are recomputed below.
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.matmul(a, b)
    overflowed = ~np.isfinite(y)
    if overflowed.any():
        # Rows of i0 and columns of i1 scaled by powers of two (exact), so every scaled product is
        # below 1 and nothing overflows before the final scaling: inf only for a result beyond
        # float64's range. (Inf and NaN inputs still give inf and NaN.)
        row, column = _exponent(a, -1), _exponent(b, -2)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = np.ldexp(np.matmul(np.ldexp(a, -row), np.ldexp(b, -column)), row + column)
        y = np.where(overflowed, scaled, y)
    return _narrow(y, inputs[0].dtype)


def batch_matmul_shape(shapes, props):
    a, b = shapes
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(
            "it multiplies the matrices held in the last two axes, so each input needs at least 2 axes "
            "(without the batch axis)"
        )
    if len(a) != len(b):
        raise ShapeError(
            f"the inputs have {_axes_words(len(a))} and {_axes_words(len(b))}: nnabla's BatchMatmul needs the same "
            "number (make the leading axes match with a Reshape)"
        )
    if a[-1] != b[-2]:
        raise ShapeError(
            f"the first input holds {a[-2]}x{a[-1]} matrices and the second {b[-2]}x{b[-1]}: the first's column "
            "count must equal the second's row count"
        )
    leading = []
    for m, n in zip(a[:-2], b[:-2]):
        if m != n and 1 not in (m, n):
            raise ShapeError(
                f"their leading axes {format_shape(a[:-2])} and {format_shape(b[:-2])} do not broadcast: "
                "sizes must be equal, or one of them 1"
            )
        leading.append(max(m, n))
    return (*leading, a[-2], b[-1])


def batch_matmul_estimate(inputs, shapes, props, params, dtype):
    """Each output sums K products of independent values of i0 and i1 (K: i0's column count)."""
    a, b = inputs
    return weighted_sum(a, shapes[0][-1], b.mean, b.std**2, 0.0, 0.0)


register(
    LayerType(
        name="BatchMatmul",
        category="Math",
        formula="o=i0 i1 (matrix product over the last two axes)",
        description="Matrix product of two inputs, matrix by matrix over the leading axes (broadcast where one is 1).",
        forward=batch_matmul,
        infer_shape=batch_matmul_shape,
        estimate=batch_matmul_estimate,
        arity=Arity(2, 2),
        operand="R",
        operand_from_data=False,  # NNC's BatchMatmul has no R.Dataset/R.Generator: R is linked
    )
)


# --- trigonometric ------------------------------------------------------------------------------------


def sinh(x):
    """o = sinh(i)"""
    # Beyond |i| = 89.4 (float32; 710.5 float64) sinh is beyond the dtype's range: +-inf is right,
    # and the nan-inf check reports it.
    with np.errstate(over="ignore"):
        return np.sinh(x)


def cosh(x):
    """o = cosh(i)"""
    with np.errstate(over="ignore"):  # inf beyond |i| = 89.4 (float32), as for sinh
        return np.cosh(x)


def arcsin(x):
    """o = asin(i)"""
    # Outside -1..1 there is no real result: NaN, as in nnabla, reported by the nan-inf check.
    with np.errstate(invalid="ignore"):
        return np.arcsin(x)


def arccos(x):
    """o = acos(i)"""
    with np.errstate(invalid="ignore"):  # NaN outside -1..1, as for asin
        return np.arccos(x)


def arccosh(x):
    """o = acosh(i)"""
    with np.errstate(invalid="ignore"):  # NaN below 1, reported by the nan-inf check
        return np.arccosh(x)


def arctanh(x):
    """o = atanh(i)"""
    # +-inf at +-1 and NaN beyond, as in nnabla, reported by the nan-inf check.
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.arctanh(x)


def atan2(inputs, props, params):
    """o = atan2(i0, i1): the angle of the point (i1, i0), in -pi..pi"""
    return np.arctan2(inputs[0], inputs[1])


def atan2_shape(shapes, props):
    a, b = shapes
    if len(a) != len(b) or any(m != n and 1 not in (m, n) for m, n in zip(a, b)):
        raise ShapeError(
            "they do not broadcast: nnabla's ATan2 expects shapes with the same number of axes, equal or 1 on each axis"
        )
    return tuple(max(m, n) for m, n in zip(a, b))


HALF_PI = pi / 2
TRIGONOMETRIC = (
    # name, function, description, input range, output range, range note
    ("Sin", np.sin, "Sine of each input (in radians).", None, (-1.0, 1.0), ""),
    ("Cos", np.cos, "Cosine of each input (in radians).", None, (-1.0, 1.0), ""),
    (
        "Tan",
        np.tan,
        "Tangent of each input (in radians).",
        None,
        (None, None),
        "Poles at pi/2 + k pi, near which the output grows without bound.",
    ),
    (
        "Sinh",
        sinh,
        "Hyperbolic sine of each input.",
        (-89.41, 89.41),
        (None, None),
        "float32 sinh is +-inf beyond |i| = 89.41 (float64: 710.47), where the nan-inf check reports it.",
    ),
    (
        "Cosh",
        cosh,
        "Hyperbolic cosine of each input.",
        (-89.41, 89.41),
        (1.0, None),
        "float32 cosh is inf beyond |i| = 89.41 (float64: 710.47), where the nan-inf check reports it.",
    ),
    (
        "ASin",
        arcsin,
        "Arcsine of each input, in radians.",
        (-1.0, 1.0),
        (-HALF_PI, HALF_PI),
        "Defined on -1..1; other inputs give NaN.",
    ),
    (
        "ACos",
        arccos,
        "Arccosine of each input, in radians.",
        (-1.0, 1.0),
        (0.0, pi),
        "Defined on -1..1; other inputs give NaN.",
    ),
    ("ATan", np.arctan, "Arctangent of each input, in radians.", None, (-HALF_PI, HALF_PI), ""),
    ("ASinh", np.arcsinh, "Inverse hyperbolic sine of each input.", None, (None, None), ""),
    (
        "ACosh",
        arccosh,
        "Inverse hyperbolic cosine of each input.",
        (1.0, inf),
        (0.0, None),
        "Defined for i >= 1; smaller inputs give NaN.",
    ),
    (
        "ATanh",
        arctanh,
        "Inverse hyperbolic tangent of each input.",
        (-1.0, 1.0),
        (None, None),
        "Defined on -1..1: +-1 give +-inf and inputs beyond give NaN.",
    ),
)
for _name, _function, _description, _input_range, _output_range, _note in TRIGONOMETRIC:
    register(
        LayerType(
            name=_name,
            category="Trigonometric",
            curve=True,
            elementwise=True,
            formula=f"o={_name.lower()}(i)",
            description=_description,
            forward=unary(_function),
            infer_shape=same_shape,
            input_range=_input_range,
            output_range=_output_range,
            range_note=_note,
        )
    )

register(
    LayerType(
        name="ATan2",
        category="Trigonometric",
        formula="o=atan2(i0, i1)",
        description="Angle of the point (i1, i0) from the positive x axis, in -pi..pi: atan(i0 / i1) in the "
        "right quadrant.",
        forward=atan2,
        infer_shape=atan2_shape,
        arity=Arity(2, 2),
        operand="x",
        output_range=(-pi, pi),
    )
)
