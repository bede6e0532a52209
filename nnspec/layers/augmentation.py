"""NNC's data augmentation layers (its "Others (Pre Process)" palette): ImageAugmentation,
RandomFlip, RandomShift, RandomCrop and RandomErase, with nnabla's semantics.

What runs when (nnspec.spec.semantics decides training or evaluation; the runner says which to
the layers here through ``batch_context``):

- evaluation (the validation and runtime views): a layer with ``skip_at_test`` true passes its input
  through, as NNC leaves it out; with ``skip_at_test`` false its random parts are set to their
  middle and only the deterministic rest applies: ImageAugmentation resizes by the fixed scale
  (the geometric middle of min_scale..max_scale), pads and crops the centre to ``shape``, with no
  rotation, flip, distortion, brightness, contrast change or noise; RandomFlip, RandomShift and
  RandomErase change nothing. RandomCrop has no SkipAtTest in NNC: it crops at random at evaluation
  too, as NNC's evaluation does.
- training (``--view training``): every random part is drawn, per sample.

Draws are counter-based, as the generated data's are (nnspec.layers.generators): each sample's
draws depend only on the layer's seed (NNC's -1 becomes one made of the spec's seed and the layer's
name, nnspec.spec.semantics.layer_seed), the layer type and the sample's index in the run, so
batches of 1, 7 or all samples give the same outputs. nnabla draws from one Mersenne Twister in
sample order instead: the distributions are nnabla's (its 1001 levels of each uniform draw
included), the values are not.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from math import inf, log, sqrt

import numpy as np

from ..core.estimate import Estimate, mixture
from .catalog import LayerType, Property, ShapeError, check_axis, format_shape, register
from .generators import GENERATORS
from .others import _trailing

CATEGORY = "Others(Pre Process)"
_AUGMENTATION = ("ImageAugmentation", "RandomFlip", "RandomShift", "RandomCrop", "RandomErase")


# --- the batch a forward computes ---------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """What a random layer needs to know beside its inputs: the index in the run of the batch's
    first sample, and whether the run trains (random parts drawn) or evaluates."""

    first_sample: int = 0
    training: bool = False


_OUTSIDE_A_RUN = Batch()
_BATCH: contextvars.ContextVar[Batch] = contextvars.ContextVar("nnspec_augmentation_batch")


@contextlib.contextmanager
def batch_context(first_sample: int, training: bool) -> Iterator[None]:
    """Within it, the augmentation layers compute samples ``first_sample`` onwards of a training or
    evaluation run. The runner enters it around each batch; a forward called outside one computes
    samples 0 onwards at evaluation."""
    token = _BATCH.set(Batch(first_sample, training))
    try:
        yield
    finally:
        _BATCH.reset(token)


def current_batch() -> Batch:
    return _BATCH.get(_OUTSIDE_A_RUN)


# The streams' names start with what no data variable's name holds, so that a layer never draws the
# values a generated variable of the same name and seed gets.
_STREAM = "augmentation:"


def _uniforms(seed: int, stream: str, count: int, per_sample: int) -> np.ndarray:
    """(count, per_sample) uniform draws in [0, 1) for the batch's samples, from the layer's seed."""
    first = current_batch().first_sample
    draws = GENERATORS["Uniform"].draw(_stream_seed(seed), _STREAM + stream, first, count, (per_sample,))
    return (draws + 1.0) * 0.5  # Uniform draws k / 2**53 * 2 - 1: this is k / 2**53 again, exactly


def _normals(seed: int, stream: str, count: int, size: tuple[int, ...]) -> np.ndarray:
    """(count, *size) standard normal draws for the batch's samples, from the layer's seed."""
    first = current_batch().first_sample
    return GENERATORS["Normal"].draw(_stream_seed(seed), _STREAM + stream, first, count, size)


def _stream_seed(seed: int) -> int:
    """The seed as the draws take it (a non-negative integer); NNC's -1 outside a run is seed 0,
    as for Dropout."""
    return 0 if seed == -1 else seed & 0xFFFFFFFF


def _levels(u: np.ndarray) -> np.ndarray:
    """nnabla's uniform draws in 0..1: rgen() % 1001 * 0.001f, one of 1001 levels, in float32 as nnabla."""
    return (np.floor(u * 1001.0).astype(np.float32) * np.float32(0.001)).astype(np.float64)


def _integers(u: np.ndarray, count: np.ndarray | int) -> np.ndarray:
    """Uniform integers in 0..count-1 from uniform draws in [0, 1)."""
    return np.minimum(np.floor(u * count), np.asarray(count) - 1).astype(np.int64)


def _training() -> bool:
    """Whether the layer draws its random parts: in training only; at evaluation a layer not skipped
    (skip_at_test false) takes them at their middle (see the module's docstring)."""
    return current_batch().training


def evaluation_note(layer_type: LayerType, props) -> str:
    """What NNC's evaluation computes in an augmentation layer that is not skipped, in words for the
    resolved spec's notes ("" for another layer, or one skipped)."""
    if layer_type.name == "RandomCrop":
        return "crops at random (NNC's RandomCrop has no skip_at_test), from its seed"
    if layer_type.name not in _AUGMENTATION or props.get("skip_at_test", True):
        return ""
    if layer_type.name == "ImageAugmentation":
        return "keeps only the fixed scale and the centre crop (its random parts at their middle)"
    return "changes nothing (its random parts are off at evaluation)"


# --- RandomFlip ----------------------------------------------------------------------------------


def random_flip(inputs, props, params):
    """o = i reversed along each of axes with probability 1/2, per sample and axis (training)"""
    x = inputs[0]
    if props["skip_at_test"] or not _training() or len(x) == 0:
        return x
    axes = sorted(set(props["axes"]))
    flips = _uniforms(props["seed"], "RandomFlip", len(x), len(axes)) < 0.5
    out = x.copy()
    for column, axis in enumerate(axes):
        chosen = flips[:, column]
        out[chosen] = np.flip(out[chosen], axis=axis + 1)
    return out


def random_flip_shape(shapes, props):
    for axis in props["axes"]:
        check_axis(axis, shapes[0], "axes")
    return shapes[0]


# --- RandomShift ---------------------------------------------------------------------------------


def random_shift(inputs, props, params):
    """o[..., j] = i[..., j - s] along each axis, s drawn uniformly in -shift..shift per sample and
    axis (training), the border filled as border_mode says"""
    x = inputs[0]
    limits = _trailing(props["shift"], x.ndim - 1, 0, "shift")
    if props["skip_at_test"] or not _training() or len(x) == 0 or not any(limits):
        return x
    draws = _uniforms(props["seed"], "RandomShift", len(x), len(limits))
    out = x
    for column, limit in enumerate(limits):
        if limit:
            amounts = _integers(draws[:, column], 2 * abs(limit) + 1) - abs(limit)
            out = _gather(out, column + 1, _shift_sources(x.shape[column + 1], amounts, props["border_mode"]))
    return out


def _shift_sources(size: int, amounts: np.ndarray, border_mode: str) -> np.ndarray:
    """(samples, size): the input index each output index reads, per sample (nnabla's shift, as
    the Shift layer's nnspec.layers.others._shift_source for one amount)."""
    position = np.arange(size)[None, :] - amounts[:, None]
    if border_mode == "nearest":
        return np.clip(position, 0, size - 1)
    if size == 1:
        return np.zeros_like(position)
    # reflect at the borders with the edge value repeated: ... 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...
    a = np.abs(position + 2 * size) % (2 * size)
    return np.where(a >= size, 2 * size - 1 - a, a)


def _gather(x: np.ndarray, axis: int, sources: np.ndarray) -> np.ndarray:
    """x with numpy axis ``axis`` of each sample n read at ``sources[n]`` (samples, new size)."""
    shape = [len(x)] + [1] * (x.ndim - 1)
    shape[axis] = sources.shape[1]
    return np.take_along_axis(x, sources.reshape(shape), axis=axis)


def random_shift_shape(shapes, props):
    _trailing(props["shift"], len(shapes[0]), 0, "shift")
    return shapes[0]


# --- RandomCrop ----------------------------------------------------------------------------------


def random_crop(inputs, props, params):
    """o = the window of the last axes of size shape, at a position drawn uniformly per sample
    (at evaluation too: NNC's RandomCrop has no SkipAtTest)"""
    x = inputs[0]
    shape = _crop_shape(x.shape[1:], props["shape"])
    if len(x) == 0:
        return np.empty((0, *shape), dtype=x.dtype)
    draws = _uniforms(props["seed"], "RandomCrop", len(x), len(shape))
    out = x
    for axis, (size, kept) in enumerate(zip(x.shape[1:], shape), start=1):
        if kept < size:
            starts = _integers(draws[:, axis - 1], size - kept + 1)
            out = _gather(out, axis, starts[:, None] + np.arange(kept))
    return out


def _crop_shape(shape: tuple[int, ...], wanted: tuple[int, ...] | None) -> tuple[int, ...]:
    """The output's shape: ``wanted`` gives the last axes (None: the input's, NNC's *Input)."""
    if wanted is None:
        return shape
    if len(wanted) > len(shape):
        raise ShapeError(
            f"shape {format_shape(wanted)} has {len(wanted)} axes, the input {format_shape(shape)} {len(shape)}",
            "shape",
        )
    lead = len(shape) - len(wanted)
    for axis, (size, kept) in enumerate(zip(shape[lead:], wanted), start=lead):
        if kept > size:
            raise ShapeError(
                f"shape {format_shape(wanted)} is larger than the input {format_shape(shape)} along axis {axis}: "
                "a crop takes at most the whole axis",
                "shape",
            )
    return (*shape[:lead], *wanted)


def random_crop_shape(shapes, props):
    return _crop_shape(shapes[0], props["shape"])


# --- RandomErase ---------------------------------------------------------------------------------


def random_erase(inputs, props, params):
    """o = i with n rectangles per image (per channel unless share) replaced by values drawn in
    replacements, each with probability prob (training)"""
    x = inputs[0]
    if props["skip_at_test"] or not _training() or len(x) == 0:
        return x
    count, (channels, height, width) = len(x), x.shape[1:]
    boxes = 1 if props["share"] else channels
    n = props["n"]
    # per erasure and box: area, aspect ratio, probability, top, left
    draws = _uniforms(props["seed"], "RandomErase", count, n * boxes * 5).reshape(count, n, boxes, 5)
    values = _uniforms(props["seed"], "RandomErase/values", count, n * channels * height * width)
    low, high = props["replacements"]
    values = (low + (high - low) * values).reshape(count, n, channels, height, width)
    area_low, area_high = props["area_ratios"]
    aspect_low, aspect_high = props["aspect_ratios"]
    rows, columns = np.arange(height), np.arange(width)
    out = x.copy()
    for k in range(n):
        area, aspect, chance, top, left = np.moveaxis(draws[:, k], -1, 0)  # each (count, boxes)
        area = (area_low + (area_high - area_low) * area) * (height * width)
        aspect = aspect_low + (aspect_high - aspect_low) * aspect
        box_height = np.minimum(np.floor(np.sqrt(area * aspect)), height).astype(np.int64)
        box_width = np.minimum(np.floor(np.sqrt(area / aspect)), width).astype(np.int64)
        top = _integers(top, height - box_height + 1)
        left = _integers(left, width - box_width + 1)
        # nnabla's box takes the rows top..top + box_height and columns left..left + box_width, both ends in
        erased = (chance <= props["prob"])[..., None, None]
        erased = erased & _within(rows, top, top + box_height)[..., :, None]
        erased = erased & _within(columns, left, left + box_width)[..., None, :]
        erased = np.broadcast_to(erased, (count, channels, height, width))
        out[erased] = values[:, k][erased].astype(x.dtype)
    return out


def _within(index: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """(*first.shape, len(index)): whether each index lies in first..last (both included)."""
    return (index >= first[..., None]) & (index <= last[..., None])


def random_erase_shape(shapes, props):
    shape = shapes[0]
    if len(shape) != 3:
        raise ShapeError(
            f"the input {format_shape(shape)} is not an image: RandomErase takes (channels, height, width), as nnabla",
            None,
        )
    if not 0.0 <= props["prob"] <= 1.0:
        raise ShapeError(f"prob {props['prob']} is not a probability: it must lie in 0..1", "prob")
    for prop in ("area_ratios", "aspect_ratios", "replacements"):
        if len(props[prop]) != 2:
            raise ShapeError(f"{prop} must be two numbers [low, high], as nnabla takes it", prop)
    if props["channel_last"]:
        raise ShapeError("channel_last is refused by nnabla's CPU implementation, which NNC runs", "channel_last")
    if props["area_ratios"][0] < 0 or props["aspect_ratios"][0] <= 0:
        raise ShapeError("area_ratios must be >= 0 and aspect_ratios > 0", "area_ratios")
    return shape


def random_erase_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """Skipped: the input. Erasing: up to every value may be a replacement, so the bounds take in
    the replacements' range; the mean and spread are the input's mixed with the expected erased share."""
    x = inputs[0]
    if props["skip_at_test"]:
        return x
    low, high = props["replacements"]
    replacement = Estimate.between(min(low, high), max(low, high))
    share = min(1.0, props["prob"] * props["n"] * props["area_ratios"][1])
    mixed = mixture([(x, max(1.0 - share, 1e-9)), (replacement, max(share, 1e-9))])
    return Estimate(mixed.mean, mixed.std, min(x.low, replacement.low), max(x.high, replacement.high))


# --- ImageAugmentation ---------------------------------------------------------------------------

# One draw a sample for each of these, then one per channel for brightness and contrast (used
# when brightness_each, contrast_each).
_PARTS = ("scale", "aspect", "angle", "x", "y", "flip_lr", "flip_ud", "brightness", "contrast", "distortion", "noise")


@dataclass(frozen=True)
class _Draws:
    """One batch's draws of ImageAugmentation, each in nnabla's 0..1 levels: (samples,) arrays, and
    (samples, channels) for brightness and contrast."""

    scale: np.ndarray
    aspect: np.ndarray
    angle: np.ndarray
    x: np.ndarray
    y: np.ndarray
    flip_lr: np.ndarray
    flip_ud: np.ndarray
    brightness: np.ndarray
    contrast: np.ndarray
    distortion: np.ndarray
    noise: np.ndarray


def _middle(count: int, channels: int) -> _Draws:
    """Every draw at its middle: the deterministic augmentation NNC's evaluation is given here."""
    half, one = np.full(count, 0.5), np.full((count, channels), 0.5)
    return _Draws(half, half, half, half, half, half * 0, half * 0, one, one, half, half * 0)


def _drawn(props, count: int, channels: int) -> _Draws:
    u = _uniforms(props["seed"], "ImageAugmentation", count, len(_PARTS) + 2 * channels)
    levels = _levels(u)
    parts = dict(zip(_PARTS, levels.T[: len(_PARTS)]))
    each_brightness = levels[:, len(_PARTS) : len(_PARTS) + channels]
    each_contrast = levels[:, len(_PARTS) + channels :]
    brightness = each_brightness if props["brightness_each"] else np.repeat(parts["brightness"][:, None], channels, 1)
    contrast = each_contrast if props["contrast_each"] else np.repeat(parts["contrast"][:, None], channels, 1)
    parts["flip_lr"] = (u[:, _PARTS.index("flip_lr")] < 0.5).astype(np.float64)
    parts["flip_ud"] = (u[:, _PARTS.index("flip_ud")] < 0.5).astype(np.float64)
    return _Draws(**{**parts, "brightness": brightness, "contrast": contrast})


def image_augmentation(inputs, props, params):
    """o = the input warped by a random scale, aspect ratio, rotation, flip, distortion and crop to
    shape (bilinear, edges repeated), then (o + brightness - contrast_center) * contrast +
    contrast_center + noise (training); at evaluation, the fixed scale and the centre crop alone"""
    x = inputs[0]
    if props["skip_at_test"]:
        return x
    out_shape = _augmented_shape(x.shape[1:], props)
    images = x.reshape(len(x), -1, *x.shape[-2:])  # (samples, channels, height, width)
    count, channels = images.shape[:2]
    if count == 0:
        return np.empty((0, *out_shape), dtype=x.dtype)
    training = _training()
    draws = _drawn(props, count, channels) if training else _middle(count, channels)
    out = _tone(_warp(images, out_shape[-2:], props, draws), props, draws)
    if training and props["noise"] > 0:  # each image's std drawn in 0..noise, then a normal per value
        std = (draws.noise * props["noise"]).astype(np.float32)
        normal = _normals(props["seed"], "ImageAugmentation/noise", count, out.shape[1:])
        out += (normal * std[:, None, None, None]).astype(out.dtype)
    return out.reshape(count, *out_shape)


def _warp(images: np.ndarray, size: tuple[int, ...], props, draws: _Draws) -> np.ndarray:
    """nnabla's geometric transform, vectorised over samples and pixels: each output pixel reads
    the input at coordinates computed in float32 as nnabla accumulates them (row by row, pixel by
    pixel), clipped to the image, bilinear between its four neighbours."""
    x_in, y_in = sampling_coordinates(images.shape[2:], size, props, draws)
    return _bilinear(images, x_in, y_in)


def sampling_coordinates(image: tuple[int, ...], size: tuple[int, ...], props, draws: _Draws):
    """(x, y): the float32 coordinates in the input image (height, width) each output pixel of
    ``size`` reads, per sample (samples, rows, columns), clipped to the image."""
    h_in, w_in = image
    h_out, w_out = size
    pad_h, pad_w = props["pad"]
    f32 = np.float32
    min_scale, max_scale, aspect_ratio = props["min_scale"], props["max_scale"], props["aspect_ratio"]
    scale = (min_scale * np.exp(draws.scale * log(max_scale / min_scale))).astype(f32)
    scale_x = np.exp(-log(aspect_ratio) * 0.5 + draws.aspect * log(aspect_ratio)).astype(f32)
    scale_y = (1.0 / scale_x.astype(np.float64)).astype(f32)
    i_scale_x = (f32(1) / (scale * scale_x)).astype(f32)
    i_scale_y = (f32(1) / (scale * scale_y)).astype(f32)
    angle = (-props["angle"] + draws.angle * props["angle"] * 2).astype(f32)
    w_scaled = (w_in + 2 * pad_w) * scale * scale_x
    h_scaled = (h_in + 2 * pad_h) * scale * scale_y
    cx, cy = f32((w_out - 1) * 0.5), f32((h_out - 1) * 0.5)
    cx_scaled = (draws.x.astype(f32) * (w_scaled - w_out) + cx).astype(f32)
    cy_scaled = (draws.y.astype(f32) * (h_scaled - h_out) + cy).astype(f32)
    cos, sin = np.cos(angle), np.sin(angle)
    flip_lr, flip_ud = draws.flip_lr > 0, draws.flip_ud > 0
    x_ax = (np.where(flip_lr, -cos, cos) * i_scale_x).astype(f32)
    y_ax = (np.where(flip_lr, sin, -sin) * i_scale_y).astype(f32)
    x_ay = (np.where(flip_ud, -sin, sin) * i_scale_x).astype(f32)
    y_ay = (np.where(flip_ud, -cos, cos) * i_scale_y).astype(f32)
    x0 = (cx_scaled * i_scale_x - (x_ax * cx + y_ax * cy) - f32(pad_w)).astype(f32)
    y0 = (cy_scaled * i_scale_y - (x_ay * cx + y_ay * cy) - f32(pad_h)).astype(f32)
    distortion = (np.exp(draws.distortion * 2.0 * props["distortion"] - props["distortion"]) - 1.0).astype(f32)
    if props["distortion"] != 0:
        x_in, y_in = _distorted(x0, y0, x_ax, y_ax, x_ay, y_ay, distortion, h_out, w_out)
    else:
        x_in = _accumulated(x0, y_ax, x_ax, h_out, w_out)
        y_in = _accumulated(y0, y_ay, x_ay, h_out, w_out)
    return np.clip(x_in, 0, w_in - 1), np.clip(y_in, 0, h_in - 1)


def _accumulated(start: np.ndarray, per_row: np.ndarray, per_column: np.ndarray, rows: int, columns: int):
    """(samples, rows, columns) coordinates summed in float32 in nnabla's order: each row starts at
    the previous row's start plus ``per_row``, each pixel at the previous pixel's plus ``per_column``."""
    count = len(start)
    steps = np.empty((count, rows), dtype=np.float32)
    steps[:, 0], steps[:, 1:] = start, per_row[:, None]
    row_starts = np.add.accumulate(steps, axis=1, dtype=np.float32)
    line = np.empty((count, rows, columns), dtype=np.float32)
    line[:, :, 0], line[:, :, 1:] = row_starts, per_column[:, None, None]
    return np.add.accumulate(line, axis=2, dtype=np.float32)


def _distorted(x0, y0, x_ax, y_ax, x_ay, y_ay, distortion, rows: int, columns: int):
    """nnabla's barrel distortion: each output pixel's coordinates moved radially by distortion * r^2,
    then mapped through the transform from the image's corner (no accumulation)."""
    f32 = np.float32
    w_half, h_half = f32(columns * 0.5), f32(rows * 0.5)
    dx = ((np.arange(columns, dtype=f32) - w_half) * (f32(1) / w_half))[None, None, :]
    dy = ((np.arange(rows, dtype=f32) - h_half) * (f32(1) / h_half))[None, :, None]
    d = distortion[:, None, None]
    r2 = np.sqrt(dx * dx + dy * dy) ** 2
    scale = f32(1) / (f32(1) + d)
    px = (dx + dx * d * r2) * w_half * scale + w_half
    py = (dy + dy * d * r2) * h_half * scale + h_half
    x_in = x0[:, None, None] + px * x_ax[:, None, None] + py * y_ax[:, None, None]
    y_in = y0[:, None, None] + px * x_ay[:, None, None] + py * y_ay[:, None, None]
    return x_in.astype(f32), y_in.astype(f32)


def _bilinear(images: np.ndarray, x_in: np.ndarray, y_in: np.ndarray) -> np.ndarray:
    """(samples, channels, rows, columns): images read at float coordinates already in the image,
    the four neighbours weighted as nnabla weighs them, summed in its order, in the images' dtype.
    One sample at a time: np.take of a sample's pixels is several times faster than one gather over
    the batch, and its temporaries stay small."""
    count, channels, h_in, w_in = images.shape
    dtype = images.dtype
    corners = bilinear_corners(x_in, y_in, h_in, w_in)
    flat = images.reshape(count, channels, h_in * w_in)
    out = np.empty((count, channels, x_in.shape[1] * x_in.shape[2]), dtype=dtype)
    for n in range(count):
        (first, first_gain), *rest = corners
        total = out[n]
        np.multiply(flat[n].take(first[n].ravel(), axis=1), first_gain[n].ravel().astype(dtype), out=total)
        for index, gain in rest:
            total += flat[n].take(index[n].ravel(), axis=1) * gain[n].ravel().astype(dtype)
    return out.reshape(count, channels, *x_in.shape[1:])


def bilinear_corners(x_in: np.ndarray, y_in: np.ndarray, h_in: int, w_in: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The four neighbours of each coordinate, in the order nnabla sums them: (flat index into the
    image, float32 weight) each."""
    ix, iy = x_in.astype(np.intp), y_in.astype(np.intp)
    fx, fy = x_in - ix.astype(np.float32), y_in - iy.astype(np.float32)
    ix1, iy1 = np.minimum(ix + 1, w_in - 1), np.minimum(iy + 1, h_in - 1)
    one = np.float32(1)
    return [
        (iy * w_in + ix, (one - fx) * (one - fy)),
        (iy * w_in + ix1, fx * (one - fy)),
        (iy1 * w_in + ix, (one - fx) * fy),
        (iy1 * w_in + ix1, fx * fy),
    ]


def evaluation_warp(image: tuple[int, ...], size: tuple[int, ...], channels: int, props):
    """What ImageAugmentation (not skipped) computes at evaluation, the same for every sample: the
    bilinear corners of each output pixel (bilinear_corners) and the tone's (shift, gain) per channel,
    each float32 (channels,)."""
    draws = _middle(1, channels)
    x_in, y_in = sampling_coordinates(image, size, props, draws)
    corners = [(index[0], gain[0]) for index, gain in bilinear_corners(x_in, y_in, *image)]
    return corners, _tone_terms(props, draws)


def _tone_terms(props, draws: _Draws) -> tuple[np.ndarray, np.ndarray]:
    """(brightness - contrast_center, contrast gain) per sample and channel, in float32."""
    brightness, contrast = props["brightness"], props["contrast"]
    level = (draws.brightness * brightness * 2.0 - brightness).astype(np.float32)
    gain = (np.exp(draws.contrast * log(contrast) * 2.0) / contrast).astype(np.float32)
    return (level - np.float32(props["contrast_center"])).astype(np.float32), gain


def _tone(warped: np.ndarray, props, draws: _Draws) -> np.ndarray:
    """(o + brightness - contrast_center) * contrast + contrast_center, per sample and channel."""
    dtype = warped.dtype
    shift, gain = _tone_terms(props, draws)
    shift = shift.astype(dtype)[:, :, None, None]
    center = dtype.type(props["contrast_center"])
    return (warped + shift) * gain.astype(dtype)[:, :, None, None] + center


def _augmented_shape(shape: tuple[int, ...], props) -> tuple[int, ...]:
    """The output's shape: ``shape``'s last two axes (height, width) replace the input's; the axes
    before them must stay (nnabla writes as many channels as it reads)."""
    if len(shape) not in (2, 3):
        raise ShapeError(
            f"the input {format_shape(shape)} is not an image: ImageAugmentation takes (height, width) or "
            "(channels, height, width)",
            None,
        )
    wanted = props["shape"] if props["shape"] is not None else shape
    if len(wanted) < 2 or len(wanted) > len(shape):
        raise ShapeError(
            f"shape {format_shape(wanted)} must give the output's height and width (and its channels), "
            f"at most the input's {len(shape)} axes",
            "shape",
        )
    lead = len(shape) - len(wanted)
    if tuple(wanted[:-2]) != tuple(shape[lead:-2]):
        raise ShapeError(
            f"shape {format_shape(wanted)} changes the channels of the input {format_shape(shape)}: only the height "
            "and width may change",
            "shape",
        )
    return (*shape[:-2], *wanted[-2:])


def image_augmentation_shape(shapes, props):
    shape = _augmented_shape(shapes[0], props)
    if len(props["pad"]) != 2:
        raise ShapeError("pad must be two numbers (height, width), as nnabla takes it", "pad")
    for prop in ("min_scale", "max_scale", "aspect_ratio"):
        if not props[prop] > 0:
            raise ShapeError(f"{prop} {props[prop]} must be > 0: it is a ratio of sizes", prop)
    if not props["contrast"] > 0:
        raise ShapeError(f"contrast {props['contrast']} must be > 0: the contrast factor lies in 1/c..c", "contrast")
    if props["skip_at_test"] and shape != tuple(shapes[0]):
        raise ShapeError(
            f"skip_at_test passes the input {format_shape(shapes[0])} through at evaluation, but shape makes "
            f"{format_shape(shape)} in training: the layers after it would get two shapes (set skip_at_test "
            "false to resize at evaluation too, or shape to the input's)",
            "shape",
        )
    return shape


def image_augmentation_estimate(inputs, shapes, props, params, dtype) -> Estimate:
    """Skipped: the input. Else the warp keeps the input's range (bilinear weights are convex), and
    (v + b - c) * k + c + noise widens it: b in -brightness..brightness, k in 1/contrast..contrast
    (either way round), the noise a normal of up to ``noise`` std."""
    x = inputs[0]
    if props["skip_at_test"]:
        return x
    b, c = abs(props["brightness"]), props["contrast_center"]
    k_low, k_high = sorted((props["contrast"], 1.0 / props["contrast"]))
    ends = [(v + s - c) * k + c for v in (x.low, x.high) for s in (-b, b) for k in (k_low, k_high)]
    noise = abs(props["noise"])
    mean = x.mean
    std = sqrt((x.std * k_high) ** 2 + b**2 / 3 + noise**2 / 3)
    low, high = min(ends), max(ends)
    if noise > 0:
        low, high = -inf, inf
    return Estimate(mean, std, float(low), float(high))


# --- registrations -------------------------------------------------------------------------------

_SEED = Property("seed", "int", -1, "Seed of the random draws; -1: one made of the spec's seed and the layer's name.")
_SKIP = Property(
    "skip_at_test",
    "bool",
    True,
    "Left out at evaluation (NNC's SkipAtTest): its input passes through; false keeps its deterministic part.",
)


def _same(inputs, shapes, props, params, dtype) -> Estimate:
    return inputs[0]


register(
    LayerType(
        name="ImageAugmentation",
        category=CATEGORY,
        formula="o = (warp(i) + b - contrast_center) * k + contrast_center + noise",
        description="Augments images: a random scale, aspect ratio, rotation, flip and lens distortion, cropped "
        "to shape, then random brightness, contrast and noise (nnabla's image_augmentation). At evaluation with "
        "skip_at_test false: the fixed scale sqrt(min_scale * max_scale) and the centre crop alone.",
        forward=image_augmentation,
        infer_shape=image_augmentation_shape,
        estimate=image_augmentation_estimate,
        skip_at_test=True,
        range_note="Brightness, contrast and noise widen the input's range; the warp keeps it.",
        properties=(
            Property(
                "shape", "shape", None, "Output shape, its last two axes the height and width (default: the input's)."
            ),
            Property("pad", "uint_array", [0, 0], "Border added to height and width before scaling (edges repeated)."),
            Property("min_scale", "float", 1.0, "Smallest scale drawn (geometric: log-uniform in min..max)."),
            Property("max_scale", "float", 1.0, "Largest scale drawn."),
            Property("angle", "float", 0.0, "Rotation drawn in -angle..angle, radians."),
            Property("aspect_ratio", "float", 1.0, "Aspect ratio change drawn in 1/sqrt(r)..sqrt(r) of width."),
            Property("distortion", "float", 0.0, "Lens distortion drawn in exp(-d)-1..exp(d)-1."),
            Property("flip_lr", "bool", False, "Flip left-right with probability 1/2.", nnc_spelling="FlipLR"),
            Property("flip_ud", "bool", False, "Flip up-down with probability 1/2.", nnc_spelling="FlipUD"),
            Property("brightness", "float", 0.0, "Brightness added, drawn in -brightness..brightness."),
            Property("brightness_each", "bool", False, "A brightness drawn per channel (else one per image)."),
            Property("contrast", "float", 1.0, "Contrast factor drawn log-uniformly in 1/contrast..contrast."),
            Property("contrast_center", "float", 0.5, "Value the contrast scales around."),
            Property("contrast_each", "bool", False, "A contrast drawn per channel (else one per image)."),
            Property("noise", "float", 0.0, "Gaussian noise added, its std drawn in 0..noise per image."),
            _SEED,
            _SKIP,
        ),
    )
)

register(
    LayerType(
        name="RandomFlip",
        category=CATEGORY,
        formula="o = i reversed along each axis in axes with probability 1/2",
        description="Flips each sample along each of axes at random (nnabla's random_flip).",
        forward=random_flip,
        infer_shape=random_flip_shape,
        estimate=lambda inputs, shapes, props, params, dtype: inputs[0],
        skip_at_test=True,
        properties=(
            Property("axes", "uint_array", [0], "Axes that may be flipped (batch axis excluded)."),
            _SEED,
            _SKIP,
        ),
    )
)

register(
    LayerType(
        name="RandomShift",
        category=CATEGORY,
        formula="o[j] = i[j - s] along each axis, s drawn in -shift..shift",
        description="Shifts each sample by a random amount along the last axes (nnabla's random_shift).",
        forward=random_shift,
        infer_shape=random_shift_shape,
        estimate=lambda inputs, shapes, props, params, dtype: inputs[0],
        skip_at_test=True,
        properties=(
            Property("shift", "int_array", [0, 0], "Largest shift per axis, for the last axes (0, 0: none)."),
            Property(
                "border_mode",
                "choice",
                "nearest",
                "nearest: the edge value repeated; reflect: the input mirrored, its edge value included.",
                choices=("nearest", "reflect"),
            ),
            _SEED,
            _SKIP,
        ),
    )
)

register(
    LayerType(
        name="RandomCrop",
        category=CATEGORY,
        formula="o = the window of size shape at a random position",
        description="Crops each sample to shape at a random position (nnabla's random_crop); NNC has no "
        "SkipAtTest for it, so it crops at random at evaluation too.",
        forward=random_crop,
        infer_shape=random_crop_shape,
        estimate=lambda inputs, shapes, props, params, dtype: inputs[0],
        properties=(
            Property("shape", "shape", None, "Output shape, for the last axes (default: the input's)."),
            _SEED,
        ),
    )
)

register(
    LayerType(
        name="RandomErase",
        category=CATEGORY,
        formula="o = i with random rectangles replaced by values drawn in replacements",
        description="Erases n random rectangles of each image with probability prob each (nnabla's random_erase, "
        "channels first).",
        forward=random_erase,
        infer_shape=random_erase_shape,
        estimate=random_erase_estimate,
        skip_at_test=True,
        range_note="The replacements' range joins the input's.",
        properties=(
            Property("prob", "float", 0.5, "Probability of each erasure."),
            Property("area_ratios", "float_array", [0.02, 0.4], "Erased area drawn in this share of the image."),
            Property("aspect_ratios", "float_array", [0.3, 3.3333], "Erased rectangle's height / width drawn here."),
            Property("replacements", "float_array", [0.0, 1.0], "Erased values drawn uniformly in this range."),
            Property("n", "pint", 1, "Erasures per image."),
            Property("share", "bool", True, "One rectangle for every channel (else one per channel)."),
            _SEED,
            Property("channel_last", "bool", False, "Channels last: nnabla's CPU refuses it, so nnspec does."),
            Property(
                "ste_fine_grained",
                "bool",
                True,
                "Gradient through erased values only (training's backward).",
                nnc_spelling="STEFineGrained",
            ),
            _SKIP,
        ),
    )
)
