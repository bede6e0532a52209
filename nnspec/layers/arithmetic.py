"""Arithmetic layers: one input and a constant, two inputs (broadcast), or two or more inputs of one shape."""

from __future__ import annotations

from math import inf, isinf, isnan, sqrt

import numpy as np

from ..core.estimate import Estimate, total
from .catalog import (
    NONNEGATIVE,
    NONZERO,
    POSITIVE,
    Arity,
    Domain,
    LayerType,
    Property,
    ShapeError,
    register,
    same_shape,
)


def add2(inputs, props, params):
    """o = i0 + i1"""
    with np.errstate(over="ignore"):  # a sum past the dtype's range is inf, which the nan-inf check reports
        return inputs[0] + inputs[1]


def broadcast_shape(shapes, props):
    """nnabla's broadcast: equal numbers of axes, each axis equal or 1 in one of the inputs."""
    if len({len(shape) for shape in shapes}) > 1:
        ranks = " and ".join(str(len(shape)) for shape in shapes)
        raise ShapeError(
            f"they have {ranks} axes: nnabla broadcasts only inputs with the same number of axes "
            "(give the smaller one axes of size 1)"
        )
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


# --- Arithmetic (Scalar): one input and a number, value by value -------------------------------
#
# nnabla casts the property to the data's type before using it ((T)val), so in a float32
# network value 0.1 is float32's 0.1; _value does the same. Results past the dtype's range
# (overflow to inf), division by zero (inf) and powers of negative bases (nan) are what nnabla
# computes too; they are values the nan-inf check reports, so numpy's warnings about them are
# silenced where each operation makes them.


def _value(x: np.ndarray, value: float) -> np.generic:
    """The property as nnabla uses it: cast to the data's dtype."""
    # A value beyond float32's range becomes inf in the cast, as nnabla's (T)val gives.
    with np.errstate(over="ignore"):
        return x.dtype.type(value)


def add_scalar(inputs, props, params):
    """o = i + value"""
    x = inputs[0]
    with np.errstate(over="ignore"):  # near the dtype's largest value the sum is inf, as in nnabla
        return x + _value(x, props["value"])


def mul_scalar(inputs, props, params):
    """o = i * value"""
    x = inputs[0]
    # A product past the dtype's range is inf, and a value beyond it (cast to inf) times 0 is
    # nan: nnabla computes the same, and the nan-inf check reports it.
    with np.errstate(over="ignore", invalid="ignore"):
        return x * _value(x, props["value"])


def r_sub_scalar(inputs, props, params):
    """o = value - i"""
    x = inputs[0]
    with np.errstate(over="ignore"):  # a difference past the dtype's range is inf, as in nnabla
        return _value(x, props["value"]) - x


def r_div_scalar(inputs, props, params):
    """o = value / i"""
    x = inputs[0]
    # value/0 is +-inf, 0/0 is nan, and a tiny i can push the quotient past the dtype's range:
    # nnabla computes the same, and the nan-inf check reports it.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _value(x, props["value"]) / x


def pow_scalar(inputs, props, params):
    """o = i^value (value 0.5: sqrt(i), as nnabla computes it)"""
    x = inputs[0]
    value = props["value"]
    # A negative base with a non-integer exponent is nan, 0 to a negative power is inf, and a
    # large base overflows to inf: nnabla computes the same, and the nan-inf check reports it.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if value == 0.5:  # nnabla takes the (correctly rounded) square root for this exponent
            return np.sqrt(x)
        return np.power(x, _value(x, value))


def r_pow_scalar(inputs, props, params):
    """o = value^i"""
    x = inputs[0]
    # A negative value to a non-integer power is nan, 0 to a negative power is inf, and large
    # powers overflow to inf: nnabla computes the same, and the nan-inf check reports it.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.power(_value(x, props["value"]), x)


def maximum_scalar(inputs, props, params):
    """o = max(i, value): i where i > value, else value (a NaN input gives value, as in nnabla)"""
    x = inputs[0]
    value = _value(x, props["value"])
    return np.where(x > value, x, value)


def minimum_scalar(inputs, props, params):
    """o = min(i, value): i where i < value, else value (a NaN input gives value, as in nnabla)"""
    x = inputs[0]
    value = _value(x, props["value"])
    return np.where(x < value, x, value)


SCALAR = "Arithmetic (Scalar)"


_AWAY_FROM_ZERO = (
    "keep the divisor away from 0: divide by a positive activation plus a constant (SoftPlus, then AddScalar), "
    "or add a constant of the divisor's sign"
)


def _power_domain(power: float) -> str | None:
    """What a base must be for i^power to be defined: anything for a power that is a whole number >= 0,
    not 0 for a negative whole power, >= 0 for a positive fraction, > 0 for a negative one. An infinite
    power counts as whole (no base gives NaN; 0^-inf is inf); a NaN power gives NaN whatever the base,
    which nan-inf reports."""
    if isnan(power):
        return None
    if isinf(power) or float(power).is_integer():
        return None if power >= 0 else NONZERO
    return NONNEGATIVE if power > 0 else POSITIVE


def _scalar_layer(name: str, formula: str, description: str, forward, default: float, value_doc: str, **ranges) -> None:
    """Registers a layer of one input and the property value, applied value by value."""
    register(
        LayerType(
            name=name,
            category=SCALAR,
            elementwise=True,
            formula=formula,
            description=description,
            forward=forward,
            infer_shape=same_shape,
            properties=(Property("value", "float", default, value_doc),),
            **ranges,
        )
    )


_scalar_layer(
    "AddScalar",
    "o=i+value",
    "Adds a constant to every input.",
    add_scalar,
    0.0,
    "The constant added.",
)
_scalar_layer(
    "MulScalar",
    "o=i*value",
    "Multiplies every input by a constant.",
    mul_scalar,
    1.0,
    "The constant factor.",
    range_note="The output's spread is |value| times the input's: a large value scales values far beyond -1..1.",
)
_scalar_layer(
    "RSubScalar",
    "o=value-i",
    "Subtracts every input from a constant.",
    r_sub_scalar,
    0.0,
    "The constant the input is subtracted from.",
)
_scalar_layer(
    "RDivScalar",
    "o=value/i",
    "Divides a constant by every input.",
    r_div_scalar,
    1.0,
    "The constant divided by the input.",
    range_note="Behaves well for inputs away from 0: near 0 the output grows without bound, i = 0 gives +-inf "
    "(nan when value is 0), and in float32 |i| below |value| / 3.4e38 overflows to inf.",
    domain=Domain(
        "division-by-zero",
        lambda props: NONZERO,
        "value / 0 is +-inf (NaN when value is 0 too), and near 0 the quotient grows without bound",
        _AWAY_FROM_ZERO,
    ),
)
_scalar_layer(
    "PowScalar",
    "o=i^value",
    "Raises every input to a constant power.",
    pow_scalar,
    2.0,
    "The exponent (0.5 is computed as a square root, as nnabla does).",
    input_range=(0.0, None),
    range_note="Non-negative inputs work for any exponent; a negative input gives nan unless value is an integer, "
    "0 gives inf for a negative value, and for value > 0 the output overflows to inf once |i| passes "
    "(dtype max)^(1/value) (float32, value 2: 1.8e19).",
    domain=Domain(
        "pow-domain",
        lambda props: _power_domain(props["value"]),
        "a negative number to a non-integer power is NaN, and 0 to a negative power inf",
        "keep the base inside the domain: a non-integer power needs i >= 0 (take Abs or a ReLU first), a "
        "negative power i != 0",
    ),
)
_scalar_layer(
    "RPowScalar",
    "o=value^i",
    "Raises a constant to the power of every input.",
    r_pow_scalar,
    1.0,
    "The base.",
    range_note="For value > 0 the output is >= 0 and overflows to inf once i ln(value) passes ln(dtype max) "
    "(88.7 in float32, 709.8 in float64); value 0 gives inf for negative inputs, and a negative value gives "
    "nan for non-integer inputs.",
)
_scalar_layer(
    "MaximumScalar",
    "o=max(i,value)",
    "Keeps inputs above a constant and raises the rest to it.",
    maximum_scalar,
    0.0,
    "The lower bound of the output.",
    range_note="The output is at least value: inputs below it are all mapped to value (with value 0 it is ReLU).",
)
_scalar_layer(
    "MinimumScalar",
    "o=min(i,value)",
    "Keeps inputs below a constant and lowers the rest to it.",
    minimum_scalar,
    1.0,
    "The upper bound of the output.",
    range_note="The output is at most value: inputs above it are all mapped to value.",
)


# --- Arithmetic (2 Inputs): broadcast as Add2 -------------------------------------------------


def sub2(inputs, props, params):
    """o = i0 - i1"""
    with np.errstate(over="ignore"):  # a difference past the dtype's range is inf, as in nnabla
        return inputs[0] - inputs[1]


def mul2(inputs, props, params):
    """o = i0 * i1"""
    with np.errstate(over="ignore"):  # a product past the dtype's range is inf, as in nnabla
        return inputs[0] * inputs[1]


def div2(inputs, props, params):
    """o = i0 / i1"""
    # x/0 is +-inf, 0/0 is nan, and a tiny divisor can push the quotient past the dtype's range:
    # nnabla computes the same, and the nan-inf check reports it.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return inputs[0] / inputs[1]


def pow2(inputs, props, params):
    """o = i0^i1"""
    # A negative base with a non-integer exponent is nan, 0 to a negative power is inf, and large
    # powers overflow to inf: nnabla computes the same, and the nan-inf check reports it.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.power(inputs[0], inputs[1])


def maximum2(inputs, props, params):
    """o = max(i0, i1): i0 where i0 > i1, else i1 (as nnabla picks; np.maximum differs for NaN)"""
    x0, x1 = inputs
    return np.where(x0 > x1, x0, x1)


def minimum2(inputs, props, params):
    """o = min(i0, i1): i0 where i0 < i1, else i1 (as nnabla picks; np.minimum differs for NaN)"""
    x0, x1 = inputs
    return np.where(x0 < x1, x0, x1)


def sub2_estimate(inputs, shapes, props, params, dtype):
    """The difference of independent tensors."""
    a, b = inputs
    return Estimate(a.mean - b.mean, sqrt(a.std**2 + b.std**2), a.low - b.high, a.high - b.low)


def mul2_estimate(inputs, shapes, props, params, dtype):
    """The product of independent tensors: mean ma mb, variance sa^2 sb^2 + sa^2 mb^2 + sb^2 ma^2."""
    a, b = inputs
    var = a.std**2 * b.std**2 + a.std**2 * b.mean**2 + b.std**2 * a.mean**2
    return Estimate(a.mean * b.mean, sqrt(var), *_product_bounds(a, b))


def _product_bounds(a: Estimate, b: Estimate) -> tuple[float, float]:
    """The extremes of a product lie at the corners of the two ranges (unbounded if either is)."""
    ends = (a.low, a.high, b.low, b.high)
    if not all(np.isfinite(ends)):
        return -inf, inf
    corners = [a.low * b.low, a.low * b.high, a.high * b.low, a.high * b.high]
    return min(corners), max(corners)


def _pairwise_estimate(pick, bound):
    """An estimate rule for o = pick(i0, i1), by quadrature over both (independent) inputs;
    bound combines the inputs' bounds the same way (max for Maximum2, min for Minimum2)."""

    def estimate(inputs, shapes, props, params, dtype):
        a, b = inputs
        (xa, wa), (xb, wb) = a.points(), b.points()
        values = pick(xa[:, None], xb[None, :])
        weights = wa[:, None] * wb[None, :]
        mean = float((weights * values).sum())
        std = sqrt(max(float((weights * (values - mean) ** 2).sum()), 0.0))
        return Estimate(mean, std, bound(a.low, b.low), bound(a.high, b.high))

    return estimate


TWO = "Arithmetic (2 Inputs)"
_BROADCAST = "broadcast as nnabla does: equal shapes, or shapes that differ only where one of them is 1"

register(
    LayerType(
        name="Sub2",
        category=TWO,
        formula="o = i0 - i1",
        description=f"Elementwise difference of two inputs ({_BROADCAST}).",
        forward=sub2,
        infer_shape=broadcast_shape,
        estimate=sub2_estimate,
        arity=Arity(2, 2),
        operand="R",
    )
)

register(
    LayerType(
        name="Mul2",
        category=TWO,
        formula="o = i0 * i1",
        description=f"Elementwise product of two inputs ({_BROADCAST}).",
        forward=mul2,
        infer_shape=broadcast_shape,
        estimate=mul2_estimate,
        arity=Arity(2, 2),
    )
)

register(
    LayerType(
        name="Div2",
        category=TWO,
        formula="o = i0 / i1",
        description=f"Elementwise quotient of two inputs ({_BROADCAST}).",
        forward=div2,
        infer_shape=broadcast_shape,
        arity=Arity(2, 2),
        operand="R",
        range_note="Behaves well for divisors i1 away from 0: near 0 the output grows without bound, i1 = 0 gives "
        "+-inf (nan where i0 is 0 too).",
        domain=Domain(
            "division-by-zero",
            lambda props: NONZERO,
            "x / 0 is +-inf (NaN where i0 is 0 too), and near 0 the quotient grows without bound",
            _AWAY_FROM_ZERO,
            index=1,
        ),
    )
)

register(
    LayerType(
        name="Pow2",
        category=TWO,
        formula="o = i0^i1",
        description=f"Raises the first input to the power of the second, elementwise ({_BROADCAST}).",
        forward=pow2,
        infer_shape=broadcast_shape,
        arity=Arity(2, 2),
        operand="R",
        range_note="Behaves well for bases i0 > 0: a negative base gives nan unless its exponent is an integer, "
        "0 to a negative power gives inf, and large powers overflow to inf.",
    )
)

register(
    LayerType(
        name="Maximum2",
        category=TWO,
        formula="o = max(i0, i1)",
        description=f"Elementwise maximum of two inputs ({_BROADCAST}).",
        forward=maximum2,
        infer_shape=broadcast_shape,
        estimate=_pairwise_estimate(np.maximum, max),
        arity=Arity(2, 2),
    )
)

register(
    LayerType(
        name="Minimum2",
        category=TWO,
        formula="o = min(i0, i1)",
        description=f"Elementwise minimum of two inputs ({_BROADCAST}).",
        forward=minimum2,
        infer_shape=broadcast_shape,
        estimate=_pairwise_estimate(np.minimum, min),
        arity=Arity(2, 2),
    )
)


# --- Arithmetic (N Inputs): two or more inputs of one shape ---------------------------------


def add_n(inputs, props, params):
    """o = i0 + i1 + ... + i(n-1), summed in that order from 0 as nnabla sums"""
    total = np.zeros_like(inputs[0])
    with np.errstate(over="ignore"):  # a sum past the dtype's range is inf, as in nnabla
        for x in inputs:  # one pass per input, each vectorised
            total += x
    return total


def mul_n(inputs, props, params):
    """o = i0 * i1 * ... * i(n-1), multiplied in that order from 1 as nnabla multiplies"""
    total = np.ones_like(inputs[0])
    # A partial product past the dtype's range is inf, and inf times a later 0 is nan: nnabla,
    # multiplying in the same order, gives the same, and the nan-inf check reports it.
    with np.errstate(over="ignore", invalid="ignore"):
        for x in inputs:  # one pass per input, each vectorised
            total *= x
    return total


def same_shapes(shapes, props):
    """nnabla's AddN and MulN take inputs of one shape, without broadcasting."""
    first = tuple(shapes[0])
    if any(tuple(shape) != first for shape in shapes[1:]):
        raise ShapeError(
            "its inputs must all have the same shape (nnabla does not broadcast them); "
            "Add2 and Mul2 broadcast two inputs"
        )
    return first


def mul_n_estimate(inputs, shapes, props, params, dtype):
    """The product of independent tensors: mean prod m_i, second moment prod (s_i^2 + m_i^2)."""
    result = inputs[0]
    for other in inputs[1:]:
        mean = result.mean * other.mean
        second = (result.std**2 + result.mean**2) * (other.std**2 + other.mean**2)
        result = Estimate(mean, sqrt(max(second - mean**2, 0.0)), *_product_bounds(result, other))
    return result


N_INPUTS = "Arithmetic (N Inputs)"

register(
    LayerType(
        name="AddN",
        category=N_INPUTS,
        formula="o = i0 + i1 + ... + i(n-1)",
        description="Elementwise sum of two or more inputs of one shape.",
        forward=add_n,
        infer_shape=same_shapes,
        estimate=lambda inputs, shapes, props, params, dtype: total(inputs),
        arity=Arity(2, None),
    )
)

register(
    LayerType(
        name="MulN",
        category=N_INPUTS,
        formula="o = i0 * i1 * ... * i(n-1)",
        description="Elementwise product of two or more inputs of one shape.",
        forward=mul_n,
        infer_shape=same_shapes,
        estimate=mul_n_estimate,
        arity=Arity(2, None),
    )
)
