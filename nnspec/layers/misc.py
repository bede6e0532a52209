"""NNC's remaining layers of the Others, Math and Spectral categories: the gradient tools (VATNoise,
Unlink, the Clip layers, TopKGrad), which at evaluation compute what nnabla's forward computes, and
Flatten, TopKData, the batched matrix functions and the Fourier transforms.

Several of these do their work in training's backward pass only: their forward is the identity
(Unlink, ClipGradByValue, ClipGradByNorm, TopKGrad). nnspec runs forward passes, so there they pass
their input through, and each entry says what training would do besides.
"""

from __future__ import annotations

from math import prod, sqrt

import numpy as np

from ..core.estimate import Estimate
from .catalog import (
    LayerType,
    Property,
    ShapeError,
    Target,
    check_axis,
    format_shape,
    register,
    same_shape,
    unary,
)


def _identity(x):
    """o = i"""
    return x


def _same_values(inputs, shapes, props, params, dtype) -> Estimate:
    """Layers that only move or pick values: the values keep their distribution."""
    return inputs[0]


def _check_base_axis(shape, base_axis: int) -> None:
    if base_axis >= len(shape):
        raise ShapeError(
            f"base_axis {base_axis} is out of range: the input has {len(shape)} "
            f"ax{'i' if len(shape) == 1 else 'e'}s (batch axis excluded), so base_axis is at most {len(shape) - 1}",
            "base_axis",
        )


def _check_axes(axes, shape, prop: str) -> None:
    for axis in axes:
        check_axis(axis, shape, prop)


# --- VATNoise --------------------------------------------------------------------------------------


def vat_noise(inputs, props, params):
    """o = epsilon i / sqrt(sum of i^2 + 1e-8), the sum over the axes from base_axis on"""
    x = inputs[0]  # inputs[1], Buf, is where training writes the gradient: forward never reads it
    axes = tuple(range(props["base_axis"] + 1, x.ndim))
    wide = x.astype(np.float64)
    norm = np.sqrt((wide * wide).sum(axis=axes, keepdims=True) + 1e-8)  # nnabla's sum starts at 1e-8
    return (props["epsilon"] * wide / norm).astype(x.dtype)


def vat_noise_shape(shapes, props):
    _check_base_axis(shapes[0], props["base_axis"])
    if len(shapes) > 1 and tuple(shapes[1]) != tuple(shapes[0]):
        raise ShapeError(
            f"Buf has shape {format_shape(shapes[1])}, the input {format_shape(shapes[0])}: nnabla's vat_noise "
            "needs them equal (Buf holds the input's gradient in training)"
        )
    return shapes[0]


def vat_noise_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """Each group of m values (the axes from base_axis on) is scaled to norm epsilon: the values'
    root mean square becomes epsilon / sqrt(m), their mean keeps its share of it, none exceeds epsilon."""
    x, eps = inputs[0], abs(props["epsilon"])
    m = prod(shapes[0][props["base_axis"] :])
    rms = eps / sqrt(m)
    square = x.std**2 + x.mean**2
    mean = rms * x.mean / sqrt(square) if square > 0 else 0.0
    return Estimate(mean, sqrt(max(rms * rms - mean * mean, 0.0)), -eps, eps)


register(
    LayerType(
        name="VATNoise",
        category="Others",
        formula="o = epsilon i / sqrt(sum(i^2) + 1e-8), summed over the axes from base_axis on",
        description="Virtual adversarial training's noise (Miyato et al.): scales each sample's input (from "
        "base_axis on) to norm epsilon. In training, nnabla's backward writes epsilon times the output's "
        "gradient into Buf (NNC links a WorkingMemory there) and passes no gradient to the input; at evaluation "
        "Buf is not read, but must have the input's shape.",
        forward=vat_noise,
        infer_shape=vat_noise_shape,
        estimate=vat_noise_estimate,
        properties=(
            Property(
                "base_axis",
                "uint",
                0,
                "First axis of each noise vector (batch axis excluded): the axes from it on are normalised together.",
            ),
            Property("epsilon", "float", 0.0001, "The norm each noise vector is scaled to."),
        ),
        targets=(
            Target(
                "Buf",
                "where training writes the input's gradient (NNC links a WorkingMemory); of the input's shape, "
                "not read at evaluation",
                dataset="buf",
            ),
        ),
    )
)


# --- Unlink, Flatten -----------------------------------------------------------------------------

register(
    LayerType(
        name="Unlink",
        category="Others",
        elementwise=True,
        formula="o = i",
        description="Passes its input through and stops the gradient there: in training nothing upstream learns "
        "from what follows it (NNC's VAT sample holds a prediction fixed with it). At evaluation, the identity.",
        forward=unary(_identity),
        infer_shape=same_shape,
    )
)


def flatten(inputs, props, params):
    """o = i with its sample axes joined into one"""
    x = inputs[0]
    return x.reshape((len(x), -1))


register(
    LayerType(
        name="Flatten",
        category="Others",
        formula="o = i reshaped to (the product of its sizes,)",
        description="Joins a sample's axes into one, in row-major order (nnabla's reshape to (batch, size)).",
        forward=flatten,
        infer_shape=lambda shapes, props: (prod(shapes[0]),),
        estimate=_same_values,
    )
)


# --- the Clip layers --------------------------------------------------------------------------------


def _bound(name: str, generator_multiplier: float, side: str) -> Target:
    """A bound of ClipByValue or ClipGradByValue: NNC's data pin, Constant x multiplier by default."""
    return Target(
        name,
        f"the {side} bound, value by value, of the input's shape (default: Constant x{generator_multiplier:g}, NNC's)",
        dataset="",
        generator="Constant",
        multiplier=generator_multiplier,
    )


CLIP_BOUNDS = (_bound("min", -1.0, "lower"), _bound("Max", 1.0, "upper"))


def clip_by_value(inputs, props, params):
    """o = min(max(i, min), Max)"""
    x, low, high = inputs
    return np.minimum(np.maximum(x, low), high)  # nnabla: maximum2 with min, then minimum2 with Max


def clip_by_value_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """The input's estimate with its bounds narrowed to the bounds' reach."""
    x, low, high = inputs
    lowest, highest = max(x.low, low.low), min(x.high, high.high)
    if lowest > highest:
        lowest, highest = min(lowest, highest), max(lowest, highest)
    mean = min(max(x.mean, lowest), highest)
    return Estimate(mean, x.std, lowest, highest)


def clip_by_value_shape(shapes, props):
    for pin, shape in zip(("min", "Max"), shapes[1:]):
        if tuple(shape) != tuple(shapes[0]):
            raise ShapeError(
                f"{pin} has shape {format_shape(shape)}, the input {format_shape(shapes[0])}: they must be equal"
            )
    return shapes[0]


def _positive_clip_norm(props) -> None:
    if not props["clip_norm"] > 0:
        raise ShapeError(f"clip_norm {props['clip_norm']} must be positive (nnabla refuses it)", "clip_norm")


def clip_by_norm(inputs, props, params):
    """o = clip_norm i / max(||i||, clip_norm), ||i|| the L2 norm over axis"""
    x = inputs[0]
    axes = tuple(a + 1 for a in props["axis"])
    wide = x.astype(np.float64)
    norm = np.sqrt((wide * wide).sum(axis=axes, keepdims=True))
    clip = props["clip_norm"]
    return (wide * clip / np.maximum(norm, clip)).astype(x.dtype)


def clip_by_norm_shape(shapes, props):
    _check_axes(props["axis"], shapes[0], "axis")
    _positive_clip_norm(props)
    return shapes[0]


def clip_by_norm_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """Values are only ever shrunk toward 0, and none exceeds clip_norm."""
    x, clip = inputs[0], props["clip_norm"]
    return Estimate(x.mean, x.std, max(x.low, -clip), min(x.high, clip))


def clip_grad_by_norm_shape(shapes, props):
    _check_axes(props["axes"], shapes[0], "axes")
    _positive_clip_norm(props)
    return shapes[0]


def _pass_input(inputs, props, params):
    """o = i (the side inputs, read in training's backward only, are not used)"""
    return inputs[0]


register(
    LayerType(
        name="ClipByValue",
        category="Others",
        formula="o = min(max(i, min), Max)",
        description="Clips each value into [min, Max], the bounds given value by value by two side inputs "
        "(default: Constant -1 and 1). NNC's layer list leaves this type out of its palette, and nnabla has it "
        "as a Python function (F.clip_by_value: maximum2, then minimum2), not as a function an .nntxt can name.",
        forward=clip_by_value,
        infer_shape=clip_by_value_shape,
        estimate=clip_by_value_estimate,
        targets=CLIP_BOUNDS,
    )
)

register(
    LayerType(
        name="ClipByNorm",
        category="Others",
        formula="o = clip_norm i / max(||i||, clip_norm), ||i|| the L2 norm over axis",
        description="Scales the values down where their L2 norm over `axis` exceeds clip_norm, to norm clip_norm; "
        "leaves them alone otherwise. NNC's layer list leaves this type out of its palette; nnabla has it as a "
        "Python function (F.clip_by_norm), not as a function an .nntxt can name.",
        forward=clip_by_norm,
        infer_shape=clip_by_norm_shape,
        estimate=clip_by_norm_estimate,
        properties=(
            Property("clip_norm", "float", 1.0, "The largest norm let through (positive)."),
            Property("axis", "uint_array", [0], "Axes the norm is taken over (batch axis excluded)."),
        ),
    )
)

register(
    LayerType(
        name="ClipGradByValue",
        category="Others",
        formula="o = i (training: the gradient clipped into [min, Max])",
        description="The identity forward. In training, nnabla clips the gradient passing back through it into "
        "[min, Max], the bounds given value by value by two side inputs (default: Constant -1 and 1), which "
        "evaluation does not read.",
        forward=_pass_input,
        infer_shape=clip_by_value_shape,
        estimate=_same_values,
        targets=CLIP_BOUNDS,
    )
)

register(
    LayerType(
        name="ClipGradByNorm",
        category="Others",
        formula="o = i (training: the gradient scaled to norm clip_norm over axes)",
        description="The identity forward. In training, nnabla scales the gradient passing back through it to "
        "L2 norm clip_norm over `axes`.",
        forward=_pass_input,
        infer_shape=clip_grad_by_norm_shape,
        estimate=_same_values,
        properties=(
            Property("clip_norm", "float", 1.0, "The norm the gradient is scaled to in training (positive)."),
            Property("axes", "uint_array", [0], "Axes the gradient's norm is taken over (batch axis excluded)."),
        ),
    )
)


# --- TopKData, TopKGrad ------------------------------------------------------------------------------


def _top_k_positions(flat: np.ndarray, k: int, by_magnitude: bool) -> np.ndarray:
    """The positions of the k largest values along the last axis (of |value| if by_magnitude), largest
    first, the first position first among equal values, as nnabla picks them."""
    key = np.abs(flat) if by_magnitude else flat
    order = np.argsort(-key.astype(np.float64), axis=-1, kind="stable")
    return order[..., :k]


def top_k_data(inputs, props, params):
    """o = the k largest values of each sample from base_axis on (largest first), or, without reduce, i with
    the others set to 0"""
    x = inputs[0]
    base = props["base_axis"] + 1
    flat = x.reshape((*x.shape[:base], -1))
    picked = _top_k_positions(flat, props["k"], props["abs"])
    values = np.take_along_axis(flat, picked, axis=-1)
    if props["reduce"]:
        return values
    out = np.zeros_like(flat)
    np.put_along_axis(out, picked, values, axis=-1)
    return out.reshape(x.shape)


def _check_k(shapes, props) -> None:
    _check_base_axis(shapes[0], props["base_axis"])
    size = prod(shapes[0][props["base_axis"] :])
    if props["k"] > size:
        raise ShapeError(
            f"k {props['k']} is more than the {size} values each sample has from base_axis {props['base_axis']} on",
            "k",
        )


def top_k_data_shape(shapes, props):
    _check_k(shapes, props)
    if props["reduce"]:
        return (*shapes[0][: props["base_axis"]], props["k"])
    return shapes[0]


def top_k_data_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """The kept values lie among the input's; without reduce, 0 joins them."""
    x = inputs[0]
    if props["reduce"]:
        return x
    return Estimate(x.mean, x.std, min(x.low, 0.0), max(x.high, 0.0))


def top_k_grad_shape(shapes, props):
    _check_k(shapes, props)
    return shapes[0]


_TOP_K_PROPERTIES = (
    Property("k", "pint", 1, "How many values are kept per sample."),
    Property("abs", "bool", False, "Rank the values by magnitude."),
)

register(
    LayerType(
        name="TopKData",
        category="Others",
        formula="o = the k largest i (by |i| with abs) of each sample from base_axis on; the rest 0 without reduce",
        description="Keeps the k largest values of each sample (counted over the axes from base_axis on). With "
        "reduce they are the output, largest first; without it the output has the input's shape and every "
        "other value is 0. These are NNC's documented k largest values: NNC's converter leaves out nnabla's "
        "`largest` flag, which then reads false, so NNC's own runs keep the k smallest (nnspec follows the "
        "documentation).",
        forward=top_k_data,
        infer_shape=top_k_data_shape,
        estimate=top_k_data_estimate,
        properties=(
            *_TOP_K_PROPERTIES,
            Property("reduce", "bool", True, "Output only the k values (else the input's shape, 0 elsewhere)."),
            Property("base_axis", "uint", 0, "First axis of the values ranked together (batch axis excluded)."),
        ),
    )
)

register(
    LayerType(
        name="TopKGrad",
        category="Others",
        formula="o = i (training: only the k largest gradients of each sample pass back)",
        description="The identity forward. In training, nnabla passes back only the k largest gradients (by "
        "magnitude with abs) of each sample from base_axis on, and 0 for the others.",
        forward=_pass_input,
        infer_shape=top_k_grad_shape,
        estimate=_same_values,
        properties=(
            *_TOP_K_PROPERTIES,
            Property("base_axis", "uint", 0, "First axis of the gradients ranked together (batch axis excluded)."),
        ),
    )
)


# --- BatchDet, BatchInv, BatchLogdet -----------------------------------------------------------------


def _square(shapes, props):
    shape = shapes[0]
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ShapeError(
            f"the input {format_shape(shape)} must be one square matrix per sample, (n, n): nnabla takes a "
            "3-axis array (batch, n, n)"
        )
    return shape


def batch_det(inputs, props, params):
    """o = det(i), one (1,) value per sample"""
    x = inputs[0]
    return np.linalg.det(x.astype(np.float64)).astype(x.dtype).reshape(len(x), 1)


def batch_logdet(inputs, props, params):
    """o = ln |det(i)|, one (1,) value per sample"""
    x = inputs[0]
    _, logabsdet = np.linalg.slogdet(x.astype(np.float64))
    return logabsdet.astype(x.dtype).reshape(len(x), 1)


def batch_inv(inputs, props, params):
    """o = the inverse of i"""
    x = inputs[0]
    wide = x.astype(np.float64)
    singular = np.linalg.det(wide) == 0
    wide[singular] = np.nan  # a singular matrix has no inverse: NaN, not numpy's LinAlgError
    return np.linalg.inv(wide).astype(x.dtype)


def _unknown(inputs, shapes, props, params, dtype) -> Estimate:
    """No useful estimate: determinants and inverses range over every value."""
    return Estimate(0.0, float("inf"))


_ONE_PER_SAMPLE = (
    "NNC shows the output as (1,) per sample, nnspec's shape too; nnabla's array is (batch,), without that axis, "
    "which a following layer reading all of a sample's values does not notice."
)

register(
    LayerType(
        name="BatchDet",
        category="Math",
        formula="o = det(i)",
        description="The determinant of each sample's square matrix. " + _ONE_PER_SAMPLE,
        forward=batch_det,
        infer_shape=lambda shapes, props: (_square(shapes, props), (1,))[1],
        estimate=_unknown,
    )
)

register(
    LayerType(
        name="BatchLogdet",
        category="Math",
        formula="o = ln |det(i)|",
        description="The logarithm of the absolute determinant of each sample's square matrix (nnabla: "
        "batch_det, abs, log); -inf for a singular matrix. " + _ONE_PER_SAMPLE,
        forward=batch_logdet,
        infer_shape=lambda shapes, props: (_square(shapes, props), (1,))[1],
        estimate=_unknown,
    )
)

register(
    LayerType(
        name="BatchInv",
        category="Math",
        formula="o = i^-1",
        description="The inverse of each sample's square matrix (NaN for a singular one).",
        forward=batch_inv,
        infer_shape=_square,
        estimate=_unknown,
    )
)


# --- FFT, IFFT ---------------------------------------------------------------------------------------


def _complex(x: np.ndarray) -> np.ndarray:
    return x[..., 0].astype(np.float64) + 1j * x[..., 1].astype(np.float64)


def _transform(inputs, props, inverse: bool) -> np.ndarray:
    x = inputs[0]
    ndim = props["signal_ndim"]
    axes = tuple(range(x.ndim - 1 - ndim, x.ndim - 1))  # the signal's axes: the last before real/imaginary
    values = (np.fft.ifftn if inverse else np.fft.fftn)(_complex(x), axes=axes)
    if props["normalized"]:
        size = prod(x.shape[a] for a in axes)
        values = values * (sqrt(size) if inverse else 1.0 / sqrt(size))  # unitary: 1/sqrt(N) either way
    return np.stack([values.real, values.imag], axis=-1).astype(x.dtype)


def fft(inputs, props, params):
    """o = sum_n i_n exp(-2 pi j k n / N) over the signal axes, complex values as (real, imaginary) pairs"""
    return _transform(inputs, props, inverse=False)


def ifft(inputs, props, params):
    """o = 1/N sum_n i_n exp(2 pi j k n / N) over the signal axes, complex values as (real, imaginary) pairs"""
    return _transform(inputs, props, inverse=True)


def fft_shape(shapes, props):
    shape, ndim = shapes[0], props["signal_ndim"]
    if ndim not in (1, 2, 3):
        raise ShapeError(f"signal_ndim {ndim} must be 1, 2 or 3 (nnabla's fft)", "signal_ndim")
    if len(shape) < ndim + 1 or shape[-1] != 2:
        raise ShapeError(
            f"the input {format_shape(shape)} must end with the {ndim} signal "
            f"ax{'i' if ndim == 1 else 'e'}s and an axis of size 2 (real, imaginary)",
            "signal_ndim",
        )
    return shape


def _fft_estimate(inverse: bool):
    def estimate(inputs, shapes, props, params, dtype) -> Estimate:
        """A sum of N values (1/N of it for the inverse, 1/sqrt(N) normalized): its spread grows as sqrt(N)
        for the forward transform, shrinks as 1/sqrt(N) for the inverse."""
        x = inputs[0]
        n = prod(shapes[0][-1 - props["signal_ndim"] : -1])
        scale = 1.0 if props["normalized"] else (1.0 / sqrt(n) if inverse else sqrt(n))
        spread = sqrt(x.std**2 + x.mean**2) * scale
        bound = max(abs(x.low), abs(x.high)) * (sqrt(n) if props["normalized"] else (1.0 if inverse else n))
        return Estimate(0.0, spread, -2 * bound, 2 * bound)  # real and imaginary parts each sum N terms

    return estimate


_FFT_PROPERTIES = (
    Property("signal_ndim", "pint", 2, "How many axes each signal has (1, 2 or 3): the last before real/imaginary."),
    Property("normalized", "bool", False, "Multiply by 1/sqrt(N), N the signal's size (a unitary transform)."),
)
_FFT_LAYOUT = (
    "Complex values are pairs along the last axis, (real, imaginary), as nnabla lays them out; the "
    "signal is the signal_ndim axes before it. nnabla 1.39 computes it on a GPU only (its CPU context has "
    "no FFT), so NNC runs it with a GPU."
)

register(
    LayerType(
        name="FFT",
        category="Spectral",
        formula="o_k = sum_n i_n exp(-2 pi j k.n / N) over the signal axes (x 1/sqrt(N) normalized)",
        description="The discrete Fourier transform of each sample's complex signal. " + _FFT_LAYOUT,
        forward=fft,
        infer_shape=fft_shape,
        estimate=_fft_estimate(inverse=False),
        properties=_FFT_PROPERTIES,
    )
)

register(
    LayerType(
        name="IFFT",
        category="Spectral",
        formula="o_k = 1/N sum_n i_n exp(2 pi j k.n / N) over the signal axes (1/sqrt(N) normalized)",
        description="The inverse discrete Fourier transform of each sample's complex signal. " + _FFT_LAYOUT,
        forward=ifft,
        infer_shape=fft_shape,
        estimate=_fft_estimate(inverse=True),
        properties=_FFT_PROPERTIES,
    )
)


# --- Output ---------------------------------------------------------------------------------------

register(
    LayerType(
        name="Output",
        category="Others",
        elementwise=True,
        formula="o = i",
        description="NNC's hidden marker of a network output: it names its input's values (variable_name, the "
        "name NNC gives the output variable of the network it exports, y by default) and computes nothing. Its "
        "output is its input, an output of the network like that of any layer nothing reads.",
        forward=unary(_identity),
        infer_shape=same_shape,
        properties=(Property("variable_name", "text", "y", "The name NNC gives this output variable."),),
    )
)


# --- NmsDetection2d ----------------------------------------------------------------------------------


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The overlap ratio of one (x, y, w, h) box, centre and size, with each of boxes, in their dtype
    (0 where they do not overlap), as nnabla's calculate_iou."""
    half, halves = box[2:4] / 2, boxes[:, 2:4] / 2
    overlap = np.minimum(box[:2] + half, boxes[:, :2] + halves) - np.maximum(box[:2] - half, boxes[:, :2] - halves)
    w, h = overlap[:, 0], overlap[:, 1]
    intersection = w * h
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((w > 0) & (h > 0), intersection / union, 0)


def _by_score(scores: np.ndarray) -> np.ndarray:
    """Indices from the highest score down (the earlier index first among equal scores)."""
    return np.argsort(-scores.astype(np.float64), kind="stable")


def _suppress_per_class(boxes: np.ndarray, nms: float) -> None:
    """For each class, from the best score down: every later box of the class overlapping a kept one
    by more than nms gets probability 0 (in place)."""
    for k in range(5, boxes.shape[1]):
        order = _by_score(boxes[:, k])
        for i, index in enumerate(order):
            if boxes[index, k] == 0:
                continue
            rest = order[i + 1 :]
            rest = rest[boxes[rest, k] != 0]
            boxes[rest[_iou(boxes[index], boxes[rest]) > nms], k] = 0


def _suppress_by_objectness(boxes: np.ndarray, nms: float) -> None:
    """From the worst objectness up: a box overlapping any better one by more than nms (suppressed or not,
    as nnabla compares them) gets objectness and probabilities 0 (in place)."""
    order = _by_score(boxes[:, 4])
    for i in range(len(order) - 1, -1, -1):
        index = order[i]
        if boxes[index, 4] == 0 or i == 0:
            continue
        if np.any(_iou(boxes[index], boxes[order[:i]]) > nms):
            boxes[index, 4:] = 0


def nms_detection2d(inputs, props, params):
    """o = i with objectness below thresh set to 0, the class probabilities multiplied by objectness (0 below
    thresh), then those of boxes overlapping a better one by more than nms set to 0"""
    x = inputs[0]
    thresh = x.dtype.type(props["thresh"])
    out = x.copy()
    for boxes in out:  # each sample: (boxes, 5 + classes)
        objectness = np.where(boxes[:, 4] < thresh, 0, boxes[:, 4]).astype(x.dtype)
        boxes[:, 4] = objectness
        scores = objectness[:, None] * boxes[:, 5:]
        boxes[:, 5:] = np.where(scores < thresh, 0, scores)
        (_suppress_per_class if props["nms_per_class"] else _suppress_by_objectness)(boxes, x.dtype.type(props["nms"]))
    return out


def nms_detection2d_shape(shapes, props):
    shape = shapes[0]
    if len(shape) != 2 or shape[1] <= 5:
        raise ShapeError(
            f"the input {format_shape(shape)} must be (boxes, 5 + classes) with at least one class: x, y, w, h, "
            "objectness and the class probabilities of each candidate box (nnabla: (batch, boxes, 5 + classes))"
        )
    return shape


register(
    LayerType(
        name="NmsDetection2d",
        category="Others",
        formula="o = i, probabilities x objectness, below thresh or overlapping a better box by > nms: 0",
        description="Non-maximum suppression of a 2-D object detector's candidate boxes (YOLO9000's layout: x, "
        "y, w, h, objectness, class probabilities). Objectness and objectness x probability below thresh "
        "become 0; then, per class (nms_per_class) or by objectness, a box overlapping a better-scored one "
        "by more than nms (intersection over union) is suppressed to 0. Boxes of equal score are taken in "
        "their order (nnabla's sort leaves that order unspecified). NNC spells nms_per_class NMSPerClass.",
        forward=nms_detection2d,
        infer_shape=nms_detection2d_shape,
        estimate=lambda inputs, shapes, props, params, dtype: Estimate(
            inputs[0].mean, inputs[0].std, min(inputs[0].low, 0.0), max(inputs[0].high, 0.0)
        ),
        properties=(
            Property("thresh", "float", 0.5, "Detection score threshold: objectness and scores below it become 0."),
            Property(
                "nms", "float", 0.45, "Overlap (intersection over union) above which the worse box is suppressed."
            ),
            Property(
                "nms_per_class",
                "bool",
                True,
                "Suppress class by class on objectness x probability (else on objectness, every class at once).",
            ),
        ),
    )
)
