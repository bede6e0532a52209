"""Activation layers. Each forward is a vectorised numpy expression that never warns
about overflow for a finite input."""

from __future__ import annotations

from math import log, pi, sqrt

import numpy as np

from ..core.estimate import DRAWN_ROWS, Estimate, drawn_along_axis, mixture, through
from .catalog import (
    PARAMETER_SCOPE,
    LayerType,
    Parameter,
    Property,
    check_axis,
    register,
    same_shape,
    unary,
)


def tanh(x, out=None):
    """o = tanh(i)"""
    return np.tanh(x, out=out)


def sigmoid(x, out=None):
    """o = 1 / (1 + exp(-i))"""
    # Computed as nnabla does. For i below about -88.7 (float32) exp(-i) overflows to
    # inf and 1/(1+inf) is exactly 0, the correct limit (scipy's expit agrees); the
    # overflow is expected there, so its warning is silenced for this line only.
    # Step by step, so that every step can write into ``out``: the same operations as 1 / (1 + exp(-i)).
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(x, out=out), out=out)
        return np.reciprocal(np.add(e, 1, out=out), out=out)


def relu(x, out=None):
    """o = max(0, i)"""
    return np.maximum(x, 0, out=out)


def leaky_relu(inputs, props, params):
    """o = max(0, i) + alpha min(0, i)"""
    x = inputs[0]
    return np.where(x > 0, x, x * x.dtype.type(props["alpha"]))


def softmax(inputs, props, params):
    """o_x = exp(i_x) / sum_j exp(i_j), along axis (shifted by the maximum, so exp never overflows)"""
    x = inputs[0]
    axis = props["axis"] + 1  # the batch axis comes first
    # x - max overflows to -inf only where the spread of a sample exceeds the dtype's
    # range; exp(-inf) = 0 is then the right probability, so that warning is silenced.
    with np.errstate(over="ignore"):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_estimate(inputs, shapes, props, params, dtype):
    """Probabilities from logits distributed as estimated: a fixed Monte Carlo sample
    (the same every time), since softmax mixes a whole axis."""
    classes = shapes[0][props["axis"]]
    draws = drawn_along_axis(inputs[0], DRAWN_ROWS, classes, dtype)
    share = draws.shape[1] / classes  # of the axis's sum that the drawn classes hold, on average
    probabilities = softmax([draws], {"axis": 0}, {}).astype(np.float64) * share
    return Estimate(float(probabilities.mean()), float(probabilities.std()), 0.0, 1.0)


def softmax_shape(shapes, props):
    check_axis(props["axis"], shapes[0])
    return shapes[0]


register(
    LayerType(
        name="Tanh",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=tanh(i)",
        description="Hyperbolic tangent: squashes any input into -1..1.",
        forward=unary(tanh),
        in_place=tanh,
        infer_shape=same_shape,
        input_range=(-2.65, 2.65),
        output_range=(-1.0, 1.0),
        saturates=True,
        range_note="Past |i| = 2.65 the output is beyond +-0.99; from |i| = 10 float32 tanh is exactly +-1 "
        "(float64 from 19), so different inputs give the same output.",
    )
)

register(
    LayerType(
        name="Sigmoid",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=sigmoid(i)",
        description="Logistic sigmoid 1/(1+exp(-i)): outputs in 0..1, used where probabilities are wanted.",
        forward=unary(sigmoid),
        in_place=sigmoid,
        infer_shape=same_shape,
        input_range=(-4.6, 4.6),
        output_range=(0.0, 1.0),
        saturates=True,
        range_note="Past |i| = 4.6 the output leaves 0.01..0.99; float32 sigmoid is exactly 1 from i = 16.7 "
        "and exactly 0 below i = -88.7 (float64: 36.7 and -709.8).",
    )
)

register(
    LayerType(
        name="ReLU",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=max(0, i)",
        description="Rectified linear unit: keeps positive inputs, outputs 0 for the rest.",
        forward=unary(relu),
        in_place=relu,
        infer_shape=same_shape,
        output_range=(0.0, None),
        zero_for_negative=True,
        range_note="Negative inputs are dropped by design; a unit whose inputs are never positive outputs nothing.",
    )
)

register(
    LayerType(
        name="LeakyReLU",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=max(0, i) + a min(0, i)",
        description="ReLU that lets a fraction alpha of negative inputs through.",
        forward=leaky_relu,
        infer_shape=same_shape,
        properties=(Property("alpha", "float", 0.1, "Slope a for negative inputs."),),
        range_note="Keeps information on both sides of 0; with a small alpha, mostly-negative inputs shrink.",
    )
)

register(
    LayerType(
        name="Softmax",
        category="Activation",
        formula="o_x=exp(i_x) / sum_j exp(i_j)",
        description="Turns scores along an axis into probabilities that sum to 1.",
        forward=softmax,
        infer_shape=softmax_shape,
        estimate=softmax_estimate,
        properties=(Property("axis", "uint", 0, "Axis the probabilities sum to 1 over (batch axis excluded)."),),
        output_range=(0.0, 1.0),
        probabilities=True,
        range_note="Only differences between inputs matter; a logit more than about 104 (float32) below the "
        "largest gets probability exactly 0.",
    )
)


# --- the rest of NNC's Activation palette ---------------------------------------------------
#
# Semantics are nnabla's (NNC's engine). Where an exp could overflow, the forward uses a form
# that never evaluates exp of a large positive number: exp(-|i|), exp(min(i, 0)) or the
# logits shifted by their maximum. So none of these layers is flagged exp_overflows: their
# outputs stay finite and right for every finite input.


def _sigmoid(z):
    """1 / (1 + exp(-z)), from exp(-|z|) only, so nothing overflows and tiny results keep their
    precision (e/(1+e) for negative z instead of 1/(1+inf))."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    """log(1 + exp(i)) = max(i, 0) + log1p(exp(-|i|)): exp of a non-positive number only."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _elu(x, alpha: float):
    """i for i > 0, alpha (exp(i) - 1) otherwise: expm1 of min(i, 0), so a large positive i never
    reaches exp, and expm1 keeps small negative inputs exact where exp(i) - 1 would give 0."""
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))


def hard_tanh(x, out=None):
    """o = max(-1, min(1, i))"""
    return np.clip(x, -1, 1, out=out)


# Depth of the continued fraction below: for |i| < 1 its truncation error is below 1e-19
# relative, far under float64's 1.1e-16.
_TANH_SHRINK_DEPTH = 10


def tanh_shrink(x):
    """o = i - tanh(i)

    For |i| >= 1 computed as written (the subtraction loses at most a factor 4.2 of precision,
    at i = 1). Below, i - tanh(i) ~ i^3/3 cancels catastrophically (float32 at i = 1e-3 keeps
    no correct digit), so it comes from Lambert's continued fraction
    tanh(i) = i / (1 + q), q = i^2 / (3 + i^2 / (5 + i^2 / (7 + ...))), as i - tanh(i) = i q / (1 + q):
    only sums and quotients of positive numbers, so no precision is lost.
    """
    small = np.abs(x) < 1
    t = np.where(small, x, 0) ** 2  # large inputs are not squared: they take the other branch
    f = np.full_like(t, 2 * _TANH_SHRINK_DEPTH + 1)
    for k in range(_TANH_SHRINK_DEPTH - 1, 0, -1):  # a fixed number of vectorised steps, not a loop over values
        f = (2 * k + 1) + t / f
    q = t / f
    return np.where(small, x * q / (1 + q), x - np.tanh(x))


def hard_sigmoid(x):
    """o = max(0, min(1, 0.2 i + 0.5)) (nnabla's slope 0.2, not PyTorch's 1/6)

    Computed as 0.2 (i + 2.5): near i = -2.5, where the output nears 0, i + 2.5 is exact
    (Sterbenz), while 0.2 i + 0.5 would cancel (float32 0.5 - 0.4993 keeps 4 digits).
    """
    return np.clip((x + x.dtype.type(2.5)) * x.dtype.type(0.2), 0, 1)


def log_sigmoid(x):
    """o = log(1 / (1 + exp(-i))) = min(i, 0) - log1p(exp(-|i|))"""
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def absolute(x, out=None):
    """o = abs(i)"""
    return np.abs(x, out=out)


def relu6(x, out=None):
    """o = min(max(0, i), 6)"""
    return np.clip(x, 0, 6, out=out)


def gelu(x):
    """o = i/2 (1 + tanh(sqrt(2/pi) (i + 0.044715 i^3))), nnabla's tanh approximation

    Computed as i sigmoid(2u) with u = sqrt(2/pi) (i + 0.044715 i^3), which equals it exactly
    (1 + tanh(u) = 2 sigmoid(2u)) but does not cancel for negative i, where 1 + tanh(u) adds 1 to
    -0.9999... . Beyond |i| = 100, sigmoid(2u) is exactly 0 or 1 in float32 and float64 alike
    (|2u| > 70000), so i is clipped there before cubing, which keeps i^3 from overflowing.
    """
    c = np.clip(x, -100, 100)
    two_u = x.dtype.type(2 * sqrt(2 / pi)) * (c + x.dtype.type(0.044715) * c**3)
    return x * _sigmoid(two_u)


def softplus(x):
    """o = log(1 + exp(i)) (nnabla's beta = 1), as max(i, 0) + log1p(exp(-|i|))"""
    return _softplus(x)


def softsign(x):
    """o = i / (1 + |i|)"""
    return x / (1 + np.abs(x))


def sinc(x):
    """o = sin(i) / i, 1 at i = 0 (nnabla's unnormalised sinc, not numpy's sin(pi i)/(pi i))"""
    zero = x == 0
    return np.where(zero, x.dtype.type(1), np.sin(x) / np.where(zero, x.dtype.type(1), x))


def swish(x):
    """o = i / (1 + exp(-i)) = i sigmoid(i)"""
    return x * _sigmoid(x)


def mish(x):
    """o = i tanh(log(1 + exp(i)))"""
    return x * np.tanh(_softplus(x))


def elu(inputs, props, params):
    """o = max(0, i) + alpha (exp(min(0, i)) - 1)"""
    return _elu(inputs[0], props["alpha"])


def selu(inputs, props, params):
    """o = scale (max(0, i) + alpha (exp(min(0, i)) - 1))"""
    x = inputs[0]
    # scale * i exceeds the dtype's range only where the true result does (i near the largest
    # finite value, scale > 1): inf is then the right result, so that overflow is not reported.
    with np.errstate(over="ignore"):
        return x.dtype.type(props["scale"]) * _elu(x, props["alpha"])


def crelu(inputs, props, params):
    """o = concatenate(max(0, i), max(0, -i)) along axis"""
    x = inputs[0]
    return np.concatenate([relu(x), relu(-x)], axis=props["axis"] + 1)


def celu(inputs, props, params):
    """o = concatenate(elu(i), elu(-i)) along axis, elu with alpha"""
    x = inputs[0]
    return np.concatenate([_elu(x, props["alpha"]), _elu(-x, props["alpha"])], axis=props["axis"] + 1)


def prelu(inputs, props, params):
    """o = max(0, i) + a min(0, i), a one slope per position along base_axis (or one in all)"""
    x = inputs[0]
    slope = params["slope"].astype(x.dtype, copy=False)
    if slope.size == 1:  # nnabla's single-slope mode: one slope shared by every value
        a = slope.reshape(())
    else:
        shape = [1] * x.ndim
        shape[props["base_axis"] + 1] = slope.size  # the batch axis comes first
        a = slope.reshape(shape)
    # a slope beyond +-1 times an input near the largest finite value overflows only where the
    # true result does (inf is right); positive inputs overflowing here are discarded by where.
    with np.errstate(over="ignore"):
        return np.where(x >= 0, x, x * a)


def log_softmax(inputs, props, params):
    """o_x = log(exp(i_x) / sum_j exp(i_j)) = (i_x - max) - log(sum_j exp(i_j - max)), along axis"""
    x = inputs[0]
    axis = props["axis"] + 1
    # i - max overflows to -inf only where a sample's spread exceeds the dtype's range; the true
    # log-probability is then below the dtype's range too, so -inf is right and not reported.
    with np.errstate(over="ignore"):
        shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))  # the sum is >= 1


def doubled_shape(shapes, props):
    """CReLU, CELU: the input's shape with the axis twice as long."""
    axis = props["axis"]
    check_axis(axis, shapes[0])
    shape = list(shapes[0])
    shape[axis] *= 2
    return tuple(shape)


def prelu_shape(shapes, props):
    check_axis(props["base_axis"], shapes[0], "base_axis")
    return shapes[0]


def log_softmax_shape(shapes, props):
    check_axis(props["axis"], shapes[0])
    return shapes[0]


def crelu_estimate(inputs, shapes, props, params, dtype):
    """Half the outputs are max(0, i), half max(0, -i)."""
    x = inputs[0]
    return mixture([(through(relu, x, dtype), 1), (through(lambda a: relu(-a), x, dtype), 1)])


def celu_estimate(inputs, shapes, props, params, dtype):
    """Half the outputs are elu(i), half elu(-i)."""
    x, alpha = inputs[0], props["alpha"]
    return mixture(
        [(through(lambda a: _elu(a, alpha), x, dtype), 1), (through(lambda a: _elu(-a, alpha), x, dtype), 1)]
    )


def prelu_estimate(inputs, shapes, props, params, dtype):
    """Negative inputs times the slopes' mean (their spread across channels is left out)."""
    slope = params["slope"][0]
    return through(lambda a: np.where(a >= 0, a, a * a.dtype.type(slope)), inputs[0], dtype)


def log_softmax_estimate(inputs, shapes, props, params, dtype):
    """Log-probabilities from logits distributed as estimated: a fixed Monte Carlo sample,
    as for Softmax, since log-softmax mixes a whole axis."""
    classes = shapes[0][props["axis"]]
    draws = drawn_along_axis(inputs[0], DRAWN_ROWS, classes, dtype)
    values = log_softmax([draws], {"axis": 0}, {}).astype(np.float64) + log(draws.shape[1] / classes)
    return Estimate(float(values.mean()), float(values.std()), float(values.min()), 0.0)


register(
    LayerType(
        name="HardTanh",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=max(-1, min(1, i))",
        description="Piecewise-linear tanh: i itself within -1..1, clipped to -1 and 1 outside.",
        forward=unary(hard_tanh),
        in_place=hard_tanh,
        infer_shape=same_shape,
        input_range=(-1.0, 1.0),
        output_range=(-1.0, 1.0),
        range_note="Outside -1..1 the output is exactly -1 or 1 and the gradient 0, by design: clipped inputs "
        "cannot be told apart.",
    )
)

register(
    LayerType(
        name="TanhShrink",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=i-tanh(i)",
        description="The input minus its tanh: about i^3/3 near 0, about i -+ 1 for large |i|.",
        forward=unary(tanh_shrink),
        infer_shape=same_shape,
        range_note="Flat near 0 (gradient tanh(i)^2): inputs within +-0.5 all give outputs within +-0.04; "
        "beyond |i| = 3 it is i -+ 1 within 0.005.",
    )
)

register(
    LayerType(
        name="HardSigmoid",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=max(0, min(1, 0.2i+0.5))",
        description="Piecewise-linear sigmoid (nnabla's slope 0.2): 0 below -2.5, 1 above 2.5.",
        forward=unary(hard_sigmoid),
        infer_shape=same_shape,
        input_range=(-2.5, 2.5),
        output_range=(0.0, 1.0),
        range_note="Outside -2.5..2.5 the output is exactly 0 or 1 and the gradient 0, by design. nnabla's slope "
        "is 0.2 (PyTorch's hardsigmoid uses 1/6 and clips at +-3).",
    )
)

register(
    LayerType(
        name="LogSigmoid",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=log(1/(1+exp(-i)))",
        description="Logarithm of the sigmoid: about i for negative inputs, approaching 0 for positive ones.",
        forward=unary(log_sigmoid),
        infer_shape=same_shape,
        output_range=(None, 0.0),
        range_note="Above i = 4.6 the output is within 0.01 of 0 and its gradient below 0.01; float32 gives "
        "exactly 0 from i = 104 (float64 from 745). Below 0 it follows i (gradient near 1).",
    )
)

register(
    LayerType(
        name="Abs",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=abs(i)",
        description="Absolute value.",
        forward=unary(absolute),
        in_place=absolute,
        infer_shape=same_shape,
        output_range=(0.0, None),
        range_note="Folds the negative inputs onto the positive ones: i and -i give the same output.",
    )
)

register(
    LayerType(
        name="CReLU",
        category="Activation",
        formula="o=concatenate(max(0, i), max(0, -i)) along axis",
        description="Concatenated ReLU: ReLU of the input and of its negation, joined along an axis.",
        forward=crelu,
        infer_shape=doubled_shape,
        estimate=crelu_estimate,
        properties=(
            Property("axis", "uint", 0, "Axis the two halves are joined along (batch axis excluded); it doubles."),
        ),
        output_range=(0.0, None),
        range_note="Drops nothing: every input reaches one half or the other, so it has no dead units.",
    )
)

register(
    LayerType(
        name="PReLU",
        category="Activation",
        formula="o=max(0, i) + a min(0, i)",
        description="ReLU with a learned slope a for negative inputs, one slope per channel along base_axis.",
        forward=prelu,
        infer_shape=prelu_shape,
        estimate=prelu_estimate,
        function_scope="prelu",
        properties=(
            Property(
                "base_axis",
                "int",
                0,
                "Axis of the channels (batch axis excluded): one slope for each position along it.",
            ),
            PARAMETER_SCOPE,
        ),
        parameters=(
            Parameter(
                "slope",
                "Constant",
                0.25,
                lambda shapes, props: (shapes[0][props["base_axis"]],),
                "Negative slope a, one per channel: shape (size of the base_axis axis,).",
            ),
        ),
        range_note="Keeps information on both sides of 0 unless a slope is 0 (a ReLU there); NNC learns one slope "
        "per channel (nnabla's shared=False).",
    )
)

register(
    LayerType(
        name="ReLU6",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=min(max(0, i), 6)",
        description="ReLU capped at 6.",
        forward=unary(relu6),
        in_place=relu6,
        infer_shape=same_shape,
        input_range=(0.0, 6.0),
        output_range=(0.0, 6.0),
        zero_for_negative=True,
        range_note="Outputs 0 for every input <= 0 and exactly 6 for every input >= 6, by design; a unit whose "
        "inputs are never positive outputs nothing.",
    )
)

register(
    LayerType(
        name="ELU",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=max(0, i) + alpha(exp(min(0, i)) - 1)",
        description="Exponential linear unit: i for positive inputs, alpha (exp(i) - 1) for the rest.",
        forward=elu,
        infer_shape=same_shape,
        properties=(Property("alpha", "float", 1.0, "Coefficient alpha of the negative part."),),
        range_note="For alpha > 0 the outputs stay above -alpha; below i = -4.6 they are within 1% of -alpha "
        "and their gradient is nearly 0.",
    )
)

register(
    LayerType(
        name="CELU",
        category="Activation",
        formula="o=concatenate(elu(i), elu(-i)) along axis",
        description="Concatenated ELU: ELU of the input and of its negation, joined along an axis.",
        forward=celu,
        infer_shape=doubled_shape,
        estimate=celu_estimate,
        properties=(
            Property("alpha", "float", 1.0, "Coefficient alpha of the negative part of each ELU."),
            Property("axis", "uint", 0, "Axis the two halves are joined along (batch axis excluded); it doubles."),
        ),
        range_note="For alpha > 0 the outputs stay above -alpha; every input reaches one half linearly.",
    )
)

register(
    LayerType(
        name="SELU",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=scale {max(0, i) + alpha(exp(min(0, i)) - 1)}",
        description="Scaled ELU, self-normalising with the default scale and alpha (Klambauer et al., 2017).",
        forward=selu,
        infer_shape=same_shape,
        properties=(
            Property("scale", "float", 1.05070098735548, "Scale lambda of the whole output."),
            Property("alpha", "float", 1.673263242354377, "Coefficient alpha of the negative part."),
        ),
        range_note="With the defaults the outputs stay above -scale alpha = -1.7581, within 1% of it below "
        "i = -4.6; self-normalising only for inputs of mean 0 and variance 1.",
    )
)

register(
    LayerType(
        name="GELU",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=i/2 (1 + tanh(sqrt(2/pi) (i + 0.044715 i^3)))",
        description="Gaussian error linear unit in nnabla's tanh approximation of i Phi(i).",
        forward=unary(gelu),
        infer_shape=same_shape,
        output_range=(-0.1701, None),
        range_note="Smallest output -0.17004 at i = -0.752; below i = -4 the outputs are within 1e-4 of 0 and "
        "their gradient nearly 0. nnabla uses the tanh approximation, not the exact i Phi(i).",
    )
)

register(
    LayerType(
        name="SoftPlus",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=log(1+exp(i))",
        description="Smooth ReLU: log(1 + exp(i)), positive everywhere.",
        forward=unary(softplus),
        infer_shape=same_shape,
        output_range=(0.0, None),
        range_note="Below i = -4.6 the outputs are under 0.01 (float32 exactly 0 below i = -104, float64 below "
        "-745); above 4.6 it is i within 0.01. Computed as max(i, 0) + log1p(exp(-|i|)), so it never overflows.",
    )
)

register(
    LayerType(
        name="SoftSign",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=i/(1+abs(i))",
        description="Squashes any input into -1..1 like tanh, but approaching the bounds polynomially.",
        forward=unary(softsign),
        infer_shape=same_shape,
        input_range=(-99.0, 99.0),
        output_range=(-1.0, 1.0),
        saturates=True,
        range_note="Past |i| = 99 the output is beyond +-0.99 and the gradient 1/(1+|i|)^2 below 1e-4; float32 "
        "rounds it to exactly +-1 only from about |i| = 2e7 (float64 1e16).",
    )
)

register(
    LayerType(
        name="Sinc",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=sin(i)/i",
        description="sin(i)/i, 1 at i = 0 (nnabla's unnormalised sinc, not numpy's sin(pi i)/(pi i)).",
        forward=unary(sinc),
        infer_shape=same_shape,
        input_range=(-100.0, 100.0),
        output_range=(-0.2173, 1.0),
        range_note="Rises and falls: 1 at 0, smallest -0.21723 at |i| = 4.493, zero at every multiple of pi. "
        "Beyond |i| = 100 the outputs stay within +-0.01 whatever the input.",
    )
)

register(
    LayerType(
        name="Swish",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=i/(1+exp(-i))",
        description="i times its sigmoid (SiLU).",
        forward=unary(swish),
        infer_shape=same_shape,
        output_range=(-0.2785, None),
        range_note="Smallest output -0.27846 at i = -1.278; below i = -10 the outputs are within 5e-4 of 0 and "
        "their gradient nearly 0.",
    )
)

register(
    LayerType(
        name="Mish",
        category="Activation",
        curve=True,
        elementwise=True,
        formula="o=i tanh(log(1+exp(i)))",
        description="i times the tanh of its softplus.",
        forward=unary(mish),
        infer_shape=same_shape,
        output_range=(-0.3089, None),
        range_note="Smallest output -0.30884 at i = -1.192; below i = -10 the outputs are within 5e-4 of 0 and "
        "their gradient nearly 0.",
    )
)

register(
    LayerType(
        name="LogSoftmax",
        category="Activation",
        formula="o_x=log(exp(i_x) / sum_j exp(i_j))",
        description="Log-probabilities along an axis: the logarithm of Softmax, computed without forming it.",
        forward=log_softmax,
        infer_shape=log_softmax_shape,
        estimate=log_softmax_estimate,
        properties=(Property("axis", "uint", 0, "Axis the probabilities sum to 1 over (batch axis excluded)."),),
        output_range=(None, 0.0),
        range_note="Only differences between inputs matter; a logit d below the largest gets about -d, finite "
        "where Softmax would give exactly 0 (104 below in float32).",
    )
)
