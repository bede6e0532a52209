"""Logical layers: comparisons and logical operations, value by value.

Every layer here outputs 1 where its test holds and 0 where it does not, in the spec's
dtype: nnabla's logical functions return floats of the input's type, not booleans.

- A value is true when it is nonzero, as nnabla's C++ ``bool(x)`` takes it; NaN is
  nonzero, so NaN is true (LogicalNot of NaN is 0).
- Comparisons follow IEEE 754, as nnabla's C++ operators do: NaN compares unequal to
  everything, itself included (Equal 0, NotEqual 1, every ordering test 0); -inf and
  inf compare as the smallest and largest values.
- The scalar comparisons compare with ``value`` rounded to the dtype first, as nnabla's
  ``x == (T)val`` does: in float32, EqualScalar with value 0.1 matches inputs of
  float32(0.1). The scalar logical layers take ``value`` as a truth value (nnabla's ``val``
  is a bool): true when nonzero.
- The layers of two inputs broadcast them as nnabla does: the same number of axes, each
  axis equal in both or 1 in one of them (numpy's rule, without numpy's padding of the
  shorter shape with leading axes, which nnabla refuses). NNC's second input, R, is the
  second name in ``input``.
"""

from __future__ import annotations

from collections.abc import Callable
from math import sqrt

import numpy as np

from ..core.estimate import Estimate
from .arithmetic import broadcast_shape
from .catalog import Arity, Forward, LayerType, Property, register, same_shape, unary

Test = Callable[[np.ndarray, np.ndarray], np.ndarray]  # two arrays (or an array and a scalar) -> booleans

RANGE_NOTE = "Outputs are exactly 0 or 1: by design, how far apart the values were is not passed on."
COMPARISON_NOTE = RANGE_NOTE + " NaN compares unequal to everything, itself included."


def _true(x: np.ndarray) -> np.ndarray:
    """Truth as nnabla's bool(x) takes it: nonzero (NaN included) is true."""
    return x != 0


# Logical operations: name suffix -> (test on truth values, the formula's word,
# what the description says of two inputs, of an input and value).
LOGICAL: dict[str, tuple[Test, str, str, str]] = {
    "And": (np.logical_and, "and", "both inputs are", "both the input and value are"),
    "Or": (np.logical_or, "or", "either input is", "the input or value is"),
    "Xor": (np.logical_xor, "xor", "exactly one input is", "exactly one of the input and value is"),
}

# Comparisons: layer name -> (test, the formula's operator, description's phrase).
COMPARISONS: dict[str, tuple[Test, str, str]] = {
    "Equal": (np.equal, "==", "equals"),
    "NotEqual": (np.not_equal, "!=", "differs from"),
    "GreaterEqual": (np.greater_equal, ">=", "is greater than or equal to"),
    "Greater": (np.greater, ">", "is greater than"),
    "LessEqual": (np.less_equal, "<=", "is less than or equal to"),
    "Less": (np.less, "<", "is less than"),
}


def _two_inputs(test: Test, formula: str) -> Forward:
    """A forward function o = test(i0, i1) as 0/1 in the inputs' dtype, i0 and i1 broadcast."""

    def forward(inputs, props, params):
        a, b = inputs
        return test(a, b).astype(np.result_type(a, b))

    forward.__doc__ = formula
    return forward


def _in_dtype(value: float, dtype: np.dtype) -> np.generic:
    """value rounded to the dtype, as nnabla's (T)val cast rounds it."""
    # A value beyond the dtype's range (1e39 in float32) becomes +-inf, as the cast makes it,
    # and compares as such; numpy's overflow warning says nothing more, so it is silenced.
    with np.errstate(over="ignore"):
        return np.dtype(dtype).type(value)


def _with_scalar(test: Test, formula: str) -> Forward:
    """A forward function o = test(i, value) as 0/1 in the input's dtype, value in that dtype."""

    def forward(inputs, props, params):
        x = inputs[0]
        return test(x, _in_dtype(props["value"], x.dtype)).astype(x.dtype)

    forward.__doc__ = formula
    return forward


def _logical_with_scalar(test: Test, formula: str) -> Forward:
    """A forward function o = test(i != 0, value != 0) as 0/1 in the input's dtype.

    value is taken as a truth value before any rounding to the dtype, as NNC hands it to
    nnabla as a bool: 1e-50 is true in float32 too."""

    def forward(inputs, props, params):
        x = inputs[0]
        return test(_true(x), bool(props["value"])).astype(x.dtype)

    forward.__doc__ = formula
    return forward


def _draws(x: Estimate, rng: np.random.Generator, count: int) -> np.ndarray:
    """Values distributed as estimated: evenly between the bounds, or normally within them."""
    if x.uniform:
        return rng.uniform(x.low, x.high, count)
    return np.clip(x.mean + x.std * rng.standard_normal(count), x.low, x.high)


def _pair_estimate(forward: Forward) -> Callable[..., Estimate]:
    """The share of 1s for two independent inputs distributed as estimated (independence is
    assumed, as in Add2's estimate), from a fixed Monte Carlo sample: the same every time.
    A sample rather than quadrature, since two continuous inputs never tie (Equal 0), while
    the quadrature nodes of two like estimates coincide."""

    def estimate(inputs, shapes, props, params, dtype):
        rng = np.random.default_rng(0)
        with np.errstate(over="ignore"):  # draws beyond the dtype's range become inf and compare as such
            a, b = (_draws(x, rng, 4096).astype(dtype) for x in inputs)
        share = float(forward([a, b], props, {}).astype(np.float64).mean())
        return Estimate(share, sqrt(share * (1.0 - share)), 0.0, 1.0)

    return estimate


def _register_two_inputs(
    name: str, test: Test, formula: str, description: str, note: str, operand: str | None = None
) -> None:
    forward = _two_inputs(test, formula)
    register(
        LayerType(
            name=name,
            category="Logical",
            formula=formula,
            description=description,
            forward=forward,
            infer_shape=broadcast_shape,
            estimate=_pair_estimate(forward),
            arity=Arity(2, 2),
            operand=operand,
            output_range=(0.0, 1.0),
            range_note=note,
        )
    )


def _register_one_input(name: str, forward: Forward, formula: str, description: str, note: str, **extra) -> None:
    register(
        LayerType(
            name=name,
            category="Logical",
            elementwise=True,
            formula=formula,
            description=description,
            forward=forward,
            infer_shape=same_shape,
            output_range=(0.0, 1.0),
            range_note=note,
            **extra,
        )
    )


def logical_not(x):
    """o = (i == 0)"""
    return (x == 0).astype(x.dtype)


def is_nan(x):
    """o = isnan(i)"""
    return np.isnan(x).astype(x.dtype)


def is_inf(x):
    """o = isinf(i)"""
    return np.isinf(x).astype(x.dtype)


VALUE = Property("value", "float", 0.0, "The scalar each input value is tested against.")
TRUTH_VALUE = Property("value", "float", 0.0, "The scalar operand, taken as true when nonzero.")
TRUE_NAN = " NaN is nonzero, so it counts as true."


def _on_truth_values(test: Test) -> Test:
    """``test`` applied to whether each input is nonzero (true)."""
    return lambda a, b: test(_true(a), _true(b))


def _register_palette() -> None:
    """Every Logical layer, in the order of NNC's palette."""
    for suffix, (test, word, phrase, _) in LOGICAL.items():
        _register_two_inputs(
            f"Logical{suffix}",
            _on_truth_values(test),
            f"o = (i0 != 0) {word} (i1 != 0)",
            f"1 where {phrase} nonzero (true), else 0; the inputs broadcast as in nnabla.",
            RANGE_NOTE + TRUE_NAN,
        )
    for name, (test, sign, phrase) in COMPARISONS.items():
        _register_two_inputs(
            name,
            test,
            f"o = (i0 {sign} i1)",
            f"1 where the first input {phrase} the second (NNC's R), else 0; the inputs broadcast as in nnabla.",
            COMPARISON_NOTE,
            operand=None if name in ("Equal", "NotEqual") else "R",  # NNC's Equal, NotEqual take both on pin 0
        )
    for suffix, (test, word, _, phrase) in LOGICAL.items():
        formula = f"o = (i != 0) {word} (value != 0)"
        _register_one_input(
            f"Logical{suffix}Scalar",
            _logical_with_scalar(test, formula),
            formula,
            f"1 where {phrase} nonzero (true), else 0.",
            RANGE_NOTE + TRUE_NAN,
            properties=(TRUTH_VALUE,),
        )
    for name, (test, sign, phrase) in COMPARISONS.items():
        formula = f"o = (i {sign} value)"
        _register_one_input(
            f"{name}Scalar",
            _with_scalar(test, formula),
            formula,
            f"1 where the input {phrase} value (taken in the spec's dtype), else 0.",
            COMPARISON_NOTE,
            properties=(VALUE,),
        )
    _register_one_input(
        "LogicalNot",
        unary(logical_not),
        "o = (i == 0)",
        "1 where the input is 0 (false), else 0: logical NOT, with nonzero values true.",
        RANGE_NOTE + " NaN is nonzero (true), so its NOT is 0.",
    )
    _register_one_input(
        "IsNaN",
        unary(is_nan),
        "o = isnan(i)",
        "1 where the input is NaN, else 0.",
        "Outputs are exactly 0 or 1; on data without NaN every output is 0.",
    )
    _register_one_input(
        "IsInf",
        unary(is_inf),
        "o = isinf(i)",
        "1 where the input is inf or -inf, else 0.",
        "Outputs are exactly 0 or 1; on finite data (and on NaN) every output is 0.",
    )


_register_palette()
