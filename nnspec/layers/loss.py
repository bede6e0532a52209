"""Loss layers: each compares its input with a target read from the data (NNC's T)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .catalog import BINARY, CLASSES, LayerType, Property, Role, Target, check_axis, register, same_shape

TARGET = Target("T", "the values the input should have, one per input value")


def binary_cross_entropy(inputs, props, params):
    """o = -(t ln(i) + (1 - t) ln(1 - i)), i and 1 - i taken at least the dtype's smallest normal number"""
    # nnabla clamps the same way, so a confident wrong answer costs -ln(tiny) (87.3 in float32), not inf.
    # ln(1 - i) is taken as log1p(-i) below 0.5, where 1 - i would round away most of a small i.
    x, t = inputs
    tiny = np.finfo(x.dtype).tiny
    log_not = np.where(x < 0.5, np.log1p(-np.minimum(x, 0.5)), np.log(np.maximum(1 - x, tiny)))
    return -(t * np.log(np.maximum(x, tiny)) + (1 - t) * log_not)


def squared_error(inputs, props, params):
    """o = (i - t)^2"""
    x, t = inputs
    return np.square(x - t)


register(
    LayerType(
        name="BinaryCrossEntropy",
        category="Loss",
        role=Role.LOSS,
        formula="o = -(t ln(i) + (1 - t) ln(1 - i))",
        description="Cross-entropy of a probability i against a binary target t, value by value.",
        forward=binary_cross_entropy,
        infer_shape=same_shape,
        targets=(replace(TARGET, labels=BINARY),),
        input_range=(0.0, 1.0),
        output_range=(0.0, None),
        probability_input=True,
        range_note="NNC's rule: the input is a probability in 0..1 (a Sigmoid's output) and the target 0 or 1.",
    )
)

register(
    LayerType(
        name="SquaredError",
        category="Loss",
        role=Role.LOSS,
        formula="o = (i - t)^2",
        description="Squared difference between the input and its target, value by value.",
        forward=squared_error,
        infer_shape=same_shape,
        targets=(TARGET,),
        output_range=(0.0, None),
    )
)


# --- more losses and the validation layers ---------------------------------------------------------------
#
# nnabla reads the target of SigmoidCrossEntropy, SoftmaxCrossEntropy, CategoricalCrossEntropy and
# TopNError as int32 (function_types.yaml): a float target is cast as C casts, truncated toward 0, so
# 0.7 counts as 0 and -0.5 as class 0. The forwards below truncate the same way.

LABEL = Target("T", "the label of each input value: 0 or 1 (read as an integer, truncated toward 0)", labels=BINARY)
BINARY_LABEL = Target("T", "the label of each input value: 0 or 1 (compared with 0.5)", labels=BINARY)


def _label_shape(shapes, props):
    """The input's shape with 1 along axis: one class index for each position of the other axes."""
    shape, axis = shapes[0], props["axis"]
    check_axis(axis, shape)
    return (*shape[:axis], 1, *shape[axis + 1 :])


CLASS_INDEX = Target(
    "T",
    "the class index (0 .. size along axis - 1) of each position: the input's shape with 1 along axis",
    shape=_label_shape,
    labels=CLASSES,
)


def _as_dtype(value: float, dtype: np.dtype) -> np.generic:
    """A property as a scalar of the computing dtype, as nnabla casts it ((T)delta)."""
    with np.errstate(over="ignore"):  # a value past the dtype's range is inf after the cast, as in nnabla
        return dtype.type(value)


def _class_indices(x: np.ndarray, t: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index, label, valid): the target truncated toward 0 as nnabla's int cast does (label), whether
    it names a class of x along axis (valid), and a safe index for take_along_axis (0 where invalid)."""
    label = np.trunc(t)
    valid = (label >= 0) & (label < x.shape[axis])  # NaN compares False: invalid
    index = np.where(valid, label, 0).astype(np.intp)
    return index, label, valid


def huber_loss(inputs, props, params):
    """o = d^2 where |d| < delta, else delta (2|d| - delta), with d = i - t"""
    x, t = inputs
    delta = _as_dtype(props["delta"], x.dtype)
    # |i - t| and the loss can pass the dtype's range for inputs near its largest values:
    # inf is then the right (rounded) result, so the overflow warning is silenced.
    with np.errstate(over="ignore"):
        d = np.abs(x - t)
        quadratic = np.square(d)
        # delta 0: the linear side is exactly 0, also where 2|d| would overflow (0 * inf is NaN)
        linear = delta * (2 * d - delta) if delta != 0 else np.zeros_like(d)
    return np.where(d < delta, quadratic, linear)  # nnabla's test: |d| = delta takes the linear side


def absolute_error(inputs, props, params):
    """o = |i - t|"""
    x, t = inputs
    with np.errstate(over="ignore"):  # a difference past the dtype's range is inf, the right rounded result
        return np.abs(x - t)


def epsilon_insensitive_loss(inputs, props, params):
    """o = |i - t| - epsilon where |i - t| > epsilon, else 0"""
    x, t = inputs
    epsilon = _as_dtype(props["epsilon"], x.dtype)
    with np.errstate(over="ignore"):  # a difference past the dtype's range is inf, the right rounded result
        d = np.abs(x - t)
        return np.where(d > epsilon, d - epsilon, x.dtype.type(0))


def sigmoid_cross_entropy(inputs, props, params):
    """o = -(t ln(sigmoid(i)) + (1 - t) ln(1 - sigmoid(i))) = i ([i >= 0] - t) + ln(1 + exp(-|i|))"""
    # nnabla's stable form on logits: exp never sees a positive argument. ln(1 + .) is taken as
    # log1p, which keeps the tiny loss of a confident right answer (ln(1 + 2e-9) rounds to 0 otherwise).
    x, t = inputs
    label = np.trunc(t)  # nnabla reads the target as an integer
    # i ([i >= 0] - t) passes the dtype's range only for a target other than 0 or 1 beside a huge
    # logit: inf is then the right rounded loss, so the overflow warning is silenced.
    with np.errstate(over="ignore"):
        return x * ((x >= 0) - label) + np.log1p(np.exp(-np.abs(x)))


def categorical_cross_entropy(inputs, props, params):
    """o = -ln(max(i_t, tiny)) along axis, i_t the input at the target's class index; 0 where t < 0"""
    # As nnabla: the probability is taken at least the dtype's smallest normal number (a certain wrong
    # answer costs 87.3 in float32, not inf), and a negative class index marks a position to ignore.
    # An index past the last class reads outside the array in nnabla; here it gives NaN, which the
    # nan-inf check reports at this layer.
    x, t = inputs
    axis = props["axis"] + 1  # the batch axis comes first
    index, label, valid = _class_indices(x, t, axis)
    p = np.take_along_axis(x, index, axis=axis)
    loss = -np.log(np.maximum(p, np.finfo(x.dtype).tiny))
    return np.where(label < 0, x.dtype.type(0), np.where(valid, loss, x.dtype.type(np.nan)))


def softmax_cross_entropy(inputs, props, params):
    """o = ln(sum_j exp(i_j - m)) - (i_t - m) along axis, m the largest i; 0 where t < 0"""
    # nnabla's form: log-softmax, then its negation at the target's class, with no clamp (logits
    # [200, -200, 0, 1] with label 1 cost 400). The sum of exponentials is accumulated class by class
    # in the input's dtype, as nnabla's loop does, so the loss rounds as nnabla's. A negative class
    # index marks a position to ignore (loss 0); an index past the last class reads outside the array
    # in nnabla, and gives NaN here, which the nan-inf check reports at this layer.
    x, t = inputs
    axis = props["axis"] + 1  # the batch axis comes first
    index, label, valid = _class_indices(x, t, axis)
    # i - m overflows to -inf only where a sample's logits spread past the dtype's range: exp(-inf) = 0
    # is the right probability, and the loss of such a class is inf, so the warning is silenced.
    with np.errstate(over="ignore"):
        shifted = x - x.max(axis=axis, keepdims=True)
        exp_sum = np.add.accumulate(np.exp(shifted), axis=axis).take([-1], axis=axis)  # at least 1
        loss = np.log(exp_sum) - np.take_along_axis(shifted, index, axis=axis)
    return np.where(label < 0, x.dtype.type(0), np.where(valid, loss, x.dtype.type(np.nan)))


def kl_multinomial(inputs, props, params):
    """o = sum_j p_j (ln(p_j + 1e-8) - ln(q_j + 1e-8)), p the input and q the target, summed over the
    axes from base_axis on"""
    p, q = inputs
    eps = p.dtype.type(1e-8)  # nnabla's (T)1.0e-8: ln never sees 0 for probabilities
    # Outside the domain (p or q below -1e-8) ln gives NaN, as in nnabla, and the nan-inf check reports
    # it; a sum past the dtype's range is inf. Those warnings are silenced: the values are the answer.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        terms = p * (np.log(p + eps) - np.log(q + eps))
        total = terms.sum(axis=tuple(range(props["base_axis"] + 1, p.ndim)))
    return total[..., np.newaxis]


def kl_multinomial_shape(shapes, props):
    """nnabla's: the axes before base_axis, then 1."""
    shape, base_axis = shapes[0], props["base_axis"]
    check_axis(base_axis, shape, "base_axis")
    return (*shape[:base_axis], 1)


def binary_error(inputs, props, params):
    """o = 1 where (i >= 0.5) != (t >= 0.5), else 0"""
    x, t = inputs
    return ((x >= 0.5) != (t >= 0.5)).astype(x.dtype)


def top_n_error(inputs, props, params):
    """o = 1 where more than n values of i along axis are >= i_t (i_t the value at the target's class
    index), else 0"""
    # nnabla's count includes i_t itself and every tie, so a tie with the target's class counts against
    # it. A class index outside 0 .. size - 1 reads outside the array in nnabla; here it gives NaN.
    x, t = inputs
    axis = props["axis"] + 1  # the batch axis comes first
    index, _, valid = _class_indices(x, t, axis)
    threshold = np.take_along_axis(x, index, axis=axis)
    count = np.count_nonzero(x >= threshold, axis=axis, keepdims=True)
    return np.where(valid, (count > props["n"]).astype(x.dtype), x.dtype.type(np.nan))


def _axis_property(what: str) -> Property:
    return Property("axis", "uint", 0, f"Axis {what} (batch axis excluded).")


register(
    LayerType(
        name="HuberLoss",
        category="Loss",
        role=Role.LOSS,
        formula="o = (i - t)^2 if |i - t| < delta, else delta (2|i - t| - delta)",
        description="Squared error near the target, growing linearly beyond delta (robust to outliers).",
        forward=huber_loss,
        infer_shape=same_shape,
        properties=(Property("delta", "float", 1.0, "Distance from the target where the loss turns linear."),),
        targets=(TARGET,),
        output_range=(0.0, None),
        range_note="nnabla's form: d^2 inside delta (not d^2 / 2), 2 delta |d| - delta^2 outside; the output "
        "range holds for delta >= 0 (a negative delta gives negative losses, as in nnabla).",
    )
)

register(
    LayerType(
        name="AbsoluteError",
        category="Loss",
        role=Role.LOSS,
        formula="o = |i - t|",
        description="Absolute difference between the input and its target, value by value.",
        forward=absolute_error,
        infer_shape=same_shape,
        targets=(TARGET,),
        output_range=(0.0, None),
    )
)

register(
    LayerType(
        name="EpsilonInsensitiveLoss",
        category="Loss",
        role=Role.LOSS,
        formula="o = |i - t| - epsilon if |i - t| > epsilon, else 0",
        description="Absolute error that ignores differences up to epsilon, value by value.",
        forward=epsilon_insensitive_loss,
        infer_shape=same_shape,
        properties=(Property("epsilon", "float", 0.0, "Differences up to this size cost nothing."),),
        targets=(TARGET,),
        output_range=(0.0, None),
        range_note="The output range holds for epsilon >= 0; a negative epsilon adds |epsilon| to every loss.",
    )
)

register(
    LayerType(
        name="SigmoidCrossEntropy",
        category="Loss",
        role=Role.LOSS,
        formula="o = -(t ln(sigmoid(i)) + (1 - t) ln(1 - sigmoid(i)))",
        description="Cross-entropy of a logit i (a score before Sigmoid) against a binary target t, "
        "value by value, computed stably.",
        forward=sigmoid_cross_entropy,
        infer_shape=same_shape,
        targets=(LABEL,),
        output_range=(0.0, None),
        range_note="Takes logits, any real number (Sigmoid + BinaryCrossEntropy in one step, without their "
        "clamping); nnabla reads the target as an integer, so a soft target 0.7 counts as 0: use "
        "BinaryCrossEntropy for soft targets.",
    )
)

register(
    LayerType(
        name="CategoricalCrossEntropy",
        category="Loss",
        role=Role.LOSS,
        formula="o = -ln(i_t), i_t the input at the target's class index along axis",
        description="Cross-entropy of probabilities along an axis (a Softmax's output) against a class index.",
        forward=categorical_cross_entropy,
        infer_shape=_label_shape,
        properties=(_axis_property("of the classes, along which the input holds probabilities"),),
        targets=(CLASS_INDEX,),
        input_range=(0.0, 1.0),
        output_range=(0.0, None),
        range_note="The input must be probabilities (a Softmax's output); their ln is taken at least at the "
        "dtype's smallest normal number, so the loss is at most 87.3 (float32) or 708.4 (float64). The "
        "target is a class index, truncated to an integer; a negative index gives loss 0 (ignored), an "
        "index past the last class NaN.",
    )
)

register(
    LayerType(
        name="SoftmaxCrossEntropy",
        category="Loss",
        role=Role.LOSS,
        formula="o = -ln(exp(i_t) / sum_j exp(i_j)) along axis, computed as ln(sum_j exp(i_j - m)) - (i_t - m), "
        "m the largest i",
        description="Cross-entropy of logits (scores before Softmax) along an axis against a class index, "
        "computed stably.",
        forward=softmax_cross_entropy,
        infer_shape=_label_shape,
        properties=(_axis_property("of the classes, along which Softmax is taken"),),
        targets=(CLASS_INDEX,),
        output_range=(0.0, None),
        range_note="Takes logits, any real numbers. As in nnabla the loss is not clamped: it grows with the "
        "gap between the largest logit and the target's (logits 200, -200, 0, 1 with target 1 cost 400), "
        "unlike Softmax + CategoricalCrossEntropy, which stops at 87.3 (float32). The target is a class "
        "index, truncated to an integer; a negative index gives loss 0 (ignored), an index past the last "
        "class NaN.",
    )
)

register(
    LayerType(
        name="KLMultinomial",
        category="Loss",
        role=Role.LOSS,
        formula="o = sum_j i_j (ln(i_j + 1e-8) - ln(q_j + 1e-8))",
        description="Kullback-Leibler divergence KL(i || q) of the distribution i from the target "
        "distribution q, over the axes from base_axis on.",
        forward=kl_multinomial,
        infer_shape=kl_multinomial_shape,
        properties=(
            Property(
                "base_axis",
                "uint",
                0,
                "First axis of each distribution: the axes before it index distributions, the rest are "
                "summed over (batch axis excluded).",
            ),
        ),
        targets=(Target("q", "the target distribution, of the input's shape", dataset="y"),),
        input_range=(0.0, 1.0),
        output_range=(0.0, None),
        range_note="Both i and q are probabilities; ln(. + 1e-8), as nnabla, keeps ln(0) away. The output is "
        "0 for i = q, and at least 0 (up to the 1e-8 shift) for distributions that each sum to 1; an input or "
        "target below -1e-8 gives NaN.",
    )
)

register(
    LayerType(
        name="BinaryError",
        category="Validation",
        role=Role.VALIDATION,
        formula="o = 1 if (i >= 0.5) != (t >= 0.5), else 0",
        description="Whether a probability i, read as a yes/no answer at 0.5, disagrees with the target t.",
        forward=binary_error,
        infer_shape=same_shape,
        targets=(BINARY_LABEL,),
        output_range=(0.0, 1.0),
        range_note="The threshold is 0.5 on both: the input should be a probability (a Sigmoid's output), "
        "not a logit, whose threshold would be 0.",
    )
)

register(
    LayerType(
        name="TopNError",
        category="Validation",
        role=Role.VALIDATION,
        formula="o = 1 if more than n values of i along axis are >= i_t, else 0",
        description="Whether the target's class is missing from the n highest scores along an axis "
        "(ties count against it).",
        forward=top_n_error,
        infer_shape=_label_shape,
        properties=(
            _axis_property("of the classes"),
            Property("n", "uint", 1, "How many of the highest scores may hold the target's class."),
        ),
        targets=(CLASS_INDEX,),
        output_range=(0.0, 1.0),
        range_note="As nnabla: 1 where more than n values along axis are >= the target's, so a tie counts as "
        "an error and n = 0 always gives 1. The target is a class index, truncated to an integer; an index "
        "outside 0 .. classes - 1 gives NaN.",
    )
)
