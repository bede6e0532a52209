"""The Others layers (Dropout, Broadcast, BroadcastTo, Tile, Pad, Flip, Shift, Transpose, Slice,
Stack, MatrixDiag, MatrixDiagPart, Sort, Interpolate, ResetNaN, ResetInf, OneHot) checked against
independent references.

The references never call nnspec: they are explicit Python loops over small arrays that read each
output value from where the NNC/nnabla definition says it comes from, written without numpy's
indexing helpers (np.pad, np.flip, np.take...) that the implementation uses, plus exact rational
arithmetic (fractions.Fraction) for Interpolate, plus values worked out by hand from nnabla's
documented examples.

Tolerances:

* Every layer here except Interpolate and Dropout only moves, repeats or picks values (or writes
  0, 1, NaN), so its output must equal the reference bit for bit, in float32 and float64 alike:
  assert_array_equal (NaN equal to NaN), plus the dtype.
* Interpolate computes sum_k w_k x_k with up to 8 terms (3 axes). Each weight is rounded to the
  dtype (eps/2 relative), each product rounds (eps/2) and each of the up to 3 levels of sums rounds
  (eps/2 of a partial sum, at most sum_k |w_k x_k|), so a correct result is within
  5/2 eps * sum_k |w_k x_k| of the exact value. The bound used is 4 eps * sum_k |w_k x_k| plus the
  dtype's smallest normal number (below it values are subnormal, see tests/test_layers.py). It is
  taken relative to the sum of magnitudes, not to the result: interpolating between 1e4 and -1e4
  near 0 cancels, and a relative bound would fail a correct float32 result there.
* Dropout (skip_at_test false) multiplies by 1/(1-p) in float64 and rounds once to the dtype, as
  nnabla does (a float times a double). The reference rounds the float64 product of the same two
  numbers once: equal in float64; in float32 the double product is rounded twice (to float64, then
  to float32), which can differ from a single rounding by 1 ulp, so float32 gets rtol 1.2e-7 (1 ulp).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.spec.semantics import layer_seed

from .layer_harness import (
    DTYPES,
    assert_error_within,
    assert_shape_rule,
    case_params,
    cycled,
    forward_raising,
    layer_spec,
    nnabla_layers,
    received,
    run_spec,
)

# The layer types this module adds to the catalog (and tests).
OTHERS_TYPES = {
    "Dropout",
    "Broadcast",
    "BroadcastTo",
    "Tile",
    "Pad",
    "Flip",
    "Shift",
    "Transpose",
    "Slice",
    "Stack",
    "MatrixDiag",
    "MatrixDiagPart",
    "Sort",
    "Interpolate",
    "ResetNaN",
    "ResetInf",
    "OneHot",
}


# --- independent references ------------------------------------------------------------
#
# Each takes the layer inputs as float64 arrays (batch axis first, holding exactly the values
# nnspec receives) and the properties as NNC defines them (spelled out by each case, never read
# from nnspec's catalog), and returns the float64 result.


def _batch_and_sample(x: np.ndarray):
    return x.shape[0], x.shape[1:]


def ref_dropout(inputs, props):
    """Inference (skip_at_test true, NNC's default): Dropout is left out, o = i, copied value by value.
    The training behaviour (skip_at_test false) is random; test_dropout_* check its contract."""
    assert props["skip_at_test"], "the reference covers inference; training is checked by its own tests"
    x = inputs[0]
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        out[index] = float(x[index])
    return out


def ref_broadcast(inputs, props):
    """out[n, i0, i1, ...] = x[n, j0, j1, ...] with j_k = 0 on the input's size-1 axes, else i_k."""
    x = inputs[0]
    n, shape = _batch_and_sample(x)
    out_shape = tuple(props["out_shape"]) if props["out_shape"] is not None else shape
    out = np.empty((n, *out_shape))
    for index in np.ndindex(out.shape):
        source = [index[0]] + [0 if shape[k] == 1 else i for k, i in enumerate(index[1:])]
        out[index] = x[tuple(source)]
    return out


def ref_broadcast_to(inputs, props):
    """nnabla's broadcast_to(x, y, axis) on the whole arrays, batch axis first, given the axis NNC passes
    it (its Axis + 1: `ArgumentName=broadcast_to_param.axis -a`): the output has x's shape and
    out[k] = y[k[a : a + y.ndim]], a that axis, or x.ndim - y.ndim where it is negative (y at x's tail)."""
    x, y = inputs
    a = props["axis"] + 1
    if a < 0:
        a = x.ndim - y.ndim
    out = np.empty(x.shape)
    for index in np.ndindex(out.shape):
        out[index] = y[index[a : a + y.ndim]]
    return out


def ref_tile(inputs, props):
    """numpy.tile's rule on the sample: reps count from the last axis; more reps than axes put new
    size-1 axes in front; out[..., i, ...] = x[..., i mod size, ...]."""
    x = inputs[0]
    n, shape = _batch_and_sample(x)
    reps = list(props["reps"])
    while len(shape) < len(reps):
        shape = (1, *shape)
    while len(reps) < len(shape):
        reps = [1, *reps]
    x = x.reshape((n, *shape))
    out = np.empty((n, *(s * r for s, r in zip(shape, reps))))
    for index in np.ndindex(out.shape):
        out[index] = x[(index[0], *(i % s for i, s in zip(index[1:], shape)))]
    return out


def _mirror_excluding_edge(position: int, size: int) -> int:
    """Pad's reflect: the input read back and forth without repeating the edge value:
    for size 4 the sequence ... 2 1 | 0 1 2 3 | 2 1 0 1 2 3 2 ... (period 2 (size - 1))."""
    if size == 1:
        return 0
    cycle = list(range(size)) + list(range(size - 2, 0, -1))
    return cycle[abs(position) % len(cycle)]


def ref_pad(inputs, props):
    """pad_width pairs cover the last axes; each output position reads the input position it
    corresponds to, or the constant where there is none (constant mode)."""
    x = inputs[0]
    n, shape = _batch_and_sample(x)
    width = list(props["pad_width"])
    pairs = [(0, 0)] * (len(shape) - len(width) // 2) + [(width[i], width[i + 1]) for i in range(0, len(width), 2)]
    out_shape = tuple(s + a + b for s, (a, b) in zip(shape, pairs))
    out = np.empty((n, *out_shape))
    for index in np.ndindex(out.shape):
        source = [index[0]]
        outside = False
        for k, i in enumerate(index[1:]):
            position = i - pairs[k][0]  # relative to the input's first value
            if 0 <= position < shape[k]:
                source.append(position)
            elif props["mode"] == "constant":
                outside = True
                break
            elif props["mode"] == "repeat":
                source.append(0 if position < 0 else shape[k] - 1)
            else:
                source.append(_mirror_excluding_edge(position, shape[k]))
        out[index] = props["constant_value"] if outside else x[tuple(source)]
    return out


def ref_flip(inputs, props):
    x = inputs[0]
    n, shape = _batch_and_sample(x)
    axes = set(props["axes"])
    out = np.empty(x.shape)
    for index in np.ndindex(out.shape):
        source = [index[0]] + [shape[k] - 1 - i if k in axes else i for k, i in enumerate(index[1:])]
        out[index] = x[tuple(source)]
    return out


def _mirror_including_edge(position: int, size: int) -> int:
    """Shift's reflect: the input mirrored with its edge values repeated:
    for size 3 the sequence ... 1 0 | 0 1 2 | 2 1 0 | 0 1 2 ... (period 2 size)."""
    cycle = list(range(size)) + list(range(size - 1, -1, -1))
    return cycle[position % len(cycle)]


def ref_shift(inputs, props):
    """out[..., i, ...] = x[..., i - shift, ...] along the last len(shift) axes; a position outside
    the input reads the nearest edge value, or the mirrored input (reflect). Valid for shifts up to
    twice an axis' size, where nnabla's reflection is this mirror (test_shift_reflect_beyond_* pins
    nnabla's formula past that)."""
    x = inputs[0]
    n, shape = _batch_and_sample(x)
    shifts = list(props["shift"])
    shifts = [0] * (len(shape) - len(shifts)) + shifts
    out = np.empty(x.shape)
    for index in np.ndindex(out.shape):
        source = [index[0]]
        for k, i in enumerate(index[1:]):
            assert abs(shifts[k]) <= 2 * shape[k]
            position = i - shifts[k]
            if props["border_mode"] == "nearest":
                source.append(min(max(position, 0), shape[k] - 1))
            else:
                source.append(_mirror_including_edge(position, shape[k]))
        out[index] = x[tuple(source)]
    return out


def ref_transpose(inputs, props):
    """Output axis k is input axis axes[k]: out[n, i_0, i_1, ...] = x[n, j] with j[axes[k]] = i_k."""
    x = inputs[0]
    n, shape = _batch_and_sample(x)
    axes = list(props["axes"])
    out = np.empty((n, *(shape[a] for a in axes)))
    for index in np.ndindex(out.shape):
        source = [0] * len(shape)
        for k, i in enumerate(index[1:]):
            source[axes[k]] = i
        out[index] = x[(index[0], *source)]
    return out


def ref_slice(inputs, props):
    """Along each sliced (last) axis the positions start, start + step, ... below min(stop, size);
    the output holds every combination in row-major order."""
    x = inputs[0]
    n, shape = _batch_and_sample(x)
    start, step = list(props["start"]), list(props["step"])
    stop = list(props["stop"]) if props["stop"] is not None else list(shape[len(shape) - len(start) :])
    lead = len(shape) - len(start)
    positions = [list(range(s)) for s in shape[:lead]]
    for k in range(len(start)):
        positions.append(list(range(start[k], min(stop[k], shape[lead + k]), step[k])))
    out_shape = tuple(len(p) for p in positions)
    values = [x[(b, *combo)] for b in range(n) for combo in itertools.product(*positions)]
    return np.array(values, dtype=np.float64).reshape((n, *out_shape))


def ref_stack(inputs, props):
    """out[n, ..., k, ...] (k at the new axis) = input k at [n, ...]."""
    axis = props["axis"]
    n, shape = _batch_and_sample(inputs[0])
    out_shape = (*shape[:axis], len(inputs), *shape[axis:])
    out = np.empty((n, *out_shape))
    for index in np.ndindex(out.shape):
        sample = list(index[1:])
        k = sample.pop(axis)
        out[index] = inputs[k][(index[0], *sample)]
    return out


def ref_matrix_diag(inputs, props):
    x = inputs[0]
    m = x.shape[-1]
    out = np.empty((*x.shape, m))
    for index in np.ndindex(out.shape):
        j, k = index[-2], index[-1]
        out[index] = x[index[:-1]] if j == k else 0.0
    return out


def ref_matrix_diag_part(inputs, props):
    x = inputs[0]
    out = np.empty(x.shape[:-1])
    for index in np.ndindex(out.shape):
        out[index] = x[(*index, index[-1])]
    return out


def ref_sort(inputs, props):
    """Each line along axis sorted with Python's sorted(), which is stable (with reverse=True too:
    equal values keep their order); only_index gives the source positions."""
    x = inputs[0]
    axis = props["axis"] + 1 if props["axis"] >= 0 else x.ndim + props["axis"]
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape)
    for index in np.ndindex(moved.shape[:-1]):
        line = [float(v) for v in moved[index]]
        order = sorted(range(len(line)), key=lambda j: line[j], reverse=props["reverse"])
        out[index] = order if props["only_index"] else [line[j] for j in order]
    return np.moveaxis(out, -1, axis)


def _interpolation_terms(size_in: int, size_out: int, align_corners: bool) -> list[list[tuple[Fraction, int]]]:
    """For each output index, the (weight, input index) pairs of linear interpolation, exactly:
    position f = o (n - 1)/(m - 1) with align_corners (0 for m = 1), f = o n / m without (nnabla's
    default half_pixel=False); weights 1 - (f - floor f) at floor f, f - floor f at floor f + 1
    (the last input index where that is past the end)."""
    terms = []
    for o in range(size_out):
        if size_out == 1:
            f = Fraction(0)
        elif align_corners:
            f = Fraction(o * (size_in - 1), size_out - 1)
        else:
            f = Fraction(o * size_in, size_out)
        low = math.floor(f)
        high = min(low + 1, size_in - 1)
        terms.append([(1 - (f - low), low), (f - low, high)])
    return terms


def _interpolate_exact(x: np.ndarray, props) -> tuple[np.ndarray, np.ndarray]:
    """(exact result rounded to float64, sum of |weight * value| of its terms) per output value."""
    sizes = list(props["output_size"])
    n, shape = _batch_and_sample(x)
    lead = len(shape) - len(sizes)
    per_axis = [_interpolation_terms(shape[lead + k], sizes[k], props["align_corners"]) for k in range(len(sizes))]
    out_shape = (n, *shape[:lead], *sizes)
    value, magnitude = np.empty(out_shape), np.empty(out_shape)
    for index in np.ndindex(out_shape):
        total, size = Fraction(0), Fraction(0)
        kept = index[: 1 + lead]
        for combo in itertools.product(*(per_axis[k][index[1 + lead + k]] for k in range(len(sizes)))):
            weight = math.prod(w for w, _ in combo)
            term = weight * Fraction(float(x[(*kept, *(i for _, i in combo))]))
            total += term
            size += abs(term)
        value[index], magnitude[index] = float(total), float(size)
    return value, magnitude


def ref_interpolate(inputs, props):
    return _interpolate_exact(inputs[0], props)[0]


def ref_reset_nan(inputs, props):
    x = inputs[0]
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        v = float(x[index])
        out[index] = 0.0 if math.isnan(v) else v
    return out


def ref_reset_inf(inputs, props):
    x = inputs[0]
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        v = float(x[index])
        out[index] = 0.0 if math.isinf(v) else v
    return out


def ref_one_hot(inputs, props):
    """out[..., c_0, c_1, ...] = 1 where (c_0, c_1, ...) are the indices in x's last axis, else 0."""
    x = inputs[0]
    classes = tuple(props["shape"])
    out = np.zeros((*x.shape[:-1], *classes))
    for index in np.ndindex(x.shape[:-1]):
        target = tuple(int(v) for v in x[index])
        assert all(0 <= c < n for c, n in zip(target, classes))
        out[(*index, *target)] = 1.0
    return out


REFERENCES: dict[str, Callable[..., np.ndarray]] = {
    "Dropout": ref_dropout,
    "Broadcast": ref_broadcast,
    "BroadcastTo": ref_broadcast_to,
    "Tile": ref_tile,
    "Pad": ref_pad,
    "Flip": ref_flip,
    "Shift": ref_shift,
    "Transpose": ref_transpose,
    "Slice": ref_slice,
    "Stack": ref_stack,
    "MatrixDiag": ref_matrix_diag,
    "MatrixDiagPart": ref_matrix_diag_part,
    "Sort": ref_sort,
    "Interpolate": ref_interpolate,
    "ResetNaN": ref_reset_nan,
    "ResetInf": ref_reset_inf,
    "OneHot": ref_one_hot,
}


# --- inputs -----------------------------------------------------------------------------


def edge_values(dtype: str) -> list[float]:
    """0, tiny values (1e-30, the dtype's smallest normal number), the large +-100 and +-1e4, and a
    few ordinary values, both signs."""
    tiny = float(np.finfo(dtype).tiny)
    base = [0.0, 1e-30, tiny, 0.5, 1.0, 2.25, 7.0, 100.0, 1e4]
    return base + [-v for v in base[1:]]


def sample_values(dtype: str, shape: tuple[int, ...], shift: int = 0, batch: int = 2) -> np.ndarray:
    """A (batch, *shape) float64 array cycling through the edge values (stride 5, so neighbours differ
    and values repeat: Sort meets ties)."""
    return cycled(edge_values(dtype), shape, shift=shift, batch=batch, stride=5)


def _special_data(dtype: str) -> dict[str, np.ndarray]:
    """NaN and both infinities among ordinary and edge values, for ResetNaN and ResetInf."""
    x = sample_values(dtype, (3, 4))
    x[0, 0, 0], x[0, 1, 2], x[1, 2, 3], x[1, 0, 1] = np.nan, np.inf, -np.inf, np.nan
    return {"x": x}


def _labels(*classes: int, shape: tuple[int, ...] = (), batch: int = 2):
    """Integer class indices: every index of each class count appears (cycled), in random order."""

    def make(dtype: str) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(3)
        count = batch * math.prod(shape)
        columns = [rng.permutation(np.arange(count) % n) for n in classes]
        return {"x": np.stack(columns, axis=-1).reshape((batch, *shape, len(classes))).astype(float)}

    return make


# --- cases: one spec per layer configuration --------------------------------------------


@dataclass
class Case:
    """One layer configuration: the layer (named y) after Inputs of the given sizes."""

    id: str
    type: str
    layer: str  # the YAML mapping of the layer's properties, without name/type/input
    sizes: dict[str, tuple[int, ...]]
    ref_props: dict[str, Any] = field(default_factory=dict)
    data: Callable[[str], dict[str, np.ndarray]] | None = None  # dtype -> data (default: edge values)

    def spec_text(self, dtype: str) -> str:
        return layer_spec(dtype, self.type, self.sizes, self.layer)

    def inputs(self, dtype: str) -> dict[str, np.ndarray]:
        if self.data is not None:
            return self.data(dtype)
        return {name: sample_values(dtype, size, shift=3 * k) for k, (name, size) in enumerate(self.sizes.items())}


# NNC's defaults, as nnc-layer-defaults.txt gives them, spelled out for the references.
PAD_DEFAULTS = {"pad_width": (0, 0, 0, 0), "mode": "constant", "constant_value": 0.0}
SHIFT_DEFAULTS = {"shift": (0, 0), "border_mode": "nearest"}
SLICE_DEFAULTS = {"start": (0, 0, 0), "stop": None, "step": (1, 1, 1)}
SORT_DEFAULTS = {"axis": 0, "reverse": False, "only_index": False}
INTERPOLATE_DEFAULTS = {"output_size": (32, 32), "mode": "linear", "align_corners": True}

CASES = [
    # Dropout: NNC's defaults (p 0.5, seed -1, skip_at_test true) and other p and seed at inference
    Case("Dropout-default", "Dropout", "", {"x": (3, 4)}, {"p": 0.5, "seed": -1, "skip_at_test": True}),
    Case("Dropout-p-seed", "Dropout", "p: 0.25, seed: 7", {"x": (13,)}, {"p": 0.25, "seed": 7, "skip_at_test": True}),
    # Broadcast: default out_shape (*Input: unchanged), size-1 axes repeated
    Case("Broadcast-default", "Broadcast", "", {"x": (2, 3)}, {"out_shape": None}),
    Case("Broadcast-1x3-to-4x3", "Broadcast", "out_shape: [4, 3]", {"x": (1, 3)}, {"out_shape": (4, 3)}),
    Case("Broadcast-3x1x1", "Broadcast", "out_shape: [3, 2, 5]", {"x": (3, 1, 1)}, {"out_shape": (3, 2, 5)}),
    Case("Broadcast-1-to-7", "Broadcast", "out_shape: 7", {"x": (1,)}, {"out_shape": (7,)}),
    # BroadcastTo: NNC's axis -1 (nnabla's 0) lines the second input up with the first's leading axes;
    # a lower axis lines the whole arrays up at the tail, which is the same for inputs of one rank
    Case("BroadcastTo-one-axis", "BroadcastTo", "", {"x": (2, 3, 4), "z": (2,)}, {"axis": -1}),
    Case("BroadcastTo-two-axes", "BroadcastTo", "axis: -1", {"x": (2, 3, 4), "z": (2, 3)}, {"axis": -1}),
    Case("BroadcastTo-2d", "BroadcastTo", "", {"x": (3, 2), "z": (3,)}, {"axis": -1}),
    Case("BroadcastTo-same", "BroadcastTo", "axis: -3", {"x": (2, 3), "z": (2, 3)}, {"axis": -3}),
    # Tile: default reps 2 (last axis), reps per axis, reps longer than the axes
    Case("Tile-default", "Tile", "", {"x": (2, 3)}, {"reps": (2,)}),
    Case("Tile-2x3", "Tile", "reps: [2, 3]", {"x": (2, 3)}, {"reps": (2, 3)}),
    Case("Tile-new-axis", "Tile", "reps: [2, 1, 3]", {"x": (4,)}, {"reps": (2, 1, 3)}),
    # Pad: defaults (nothing), each mode, widths past the axis size, fewer pairs than axes
    Case("Pad-default", "Pad", "", {"x": (2, 3)}, PAD_DEFAULTS),
    Case(
        "Pad-constant",
        "Pad",
        "pad_width: [1, 2, 0, 3], constant_value: -2.5",
        {"x": (2, 3)},
        {**PAD_DEFAULTS, "pad_width": (1, 2, 0, 3), "constant_value": -2.5},
    ),
    Case(
        "Pad-reflect",
        "Pad",
        "pad_width: [2, 1, 3, 3], mode: reflect",
        {"x": (3, 4)},
        {**PAD_DEFAULTS, "pad_width": (2, 1, 3, 3), "mode": "reflect"},
    ),
    Case(
        "Pad-reflect-wide",
        "Pad",
        "pad_width: [7, 9], mode: reflect",
        {"x": (2, 3)},
        {**PAD_DEFAULTS, "pad_width": (7, 9), "mode": "reflect"},
    ),
    Case(
        "Pad-reflect-size1",
        "Pad",
        "pad_width: [2, 1], mode: reflect",
        {"x": (3, 1)},
        {**PAD_DEFAULTS, "pad_width": (2, 1), "mode": "reflect"},
    ),
    Case(
        "Pad-repeat",
        "Pad",
        "pad_width: [1, 0, 2, 4], mode: repeat",
        {"x": (2, 2, 3)},
        {**PAD_DEFAULTS, "pad_width": (1, 0, 2, 4), "mode": "repeat"},
    ),
    Case(
        "Pad-vector-batch-pair",  # NNC's default 4 values on a vector: the pair for the batch axis is 0, 0
        "Pad",
        "pad_width: [0, 0, 2, 1], constant_value: 1e4",
        {"x": (5,)},
        {**PAD_DEFAULTS, "pad_width": (2, 1), "constant_value": 1e4},
    ),
    # Flip: default axis 0, another axis, several, none
    Case("Flip-default", "Flip", "", {"x": (3, 4)}, {"axes": (0,)}),
    Case("Flip-axis1", "Flip", "axes: 1", {"x": (3, 4)}, {"axes": (1,)}),
    Case("Flip-all", "Flip", "axes: [0, 2, 1, 2]", {"x": (2, 3, 4)}, {"axes": (0, 2, 1)}),
    Case("Flip-none", "Flip", "axes: []", {"x": (5,)}, {"axes": ()}),
    # Shift: defaults (nothing), both border modes, both signs, shifts as large as twice the axis
    Case("Shift-default", "Shift", "", {"x": (3, 4)}, SHIFT_DEFAULTS),
    Case("Shift-nearest", "Shift", "shift: [1, -2]", {"x": (3, 4)}, {**SHIFT_DEFAULTS, "shift": (1, -2)}),
    Case(
        "Shift-reflect",
        "Shift",
        "shift: [-2, 3], border_mode: reflect",
        {"x": (3, 4)},
        {"shift": (-2, 3), "border_mode": "reflect"},
    ),
    Case(
        "Shift-reflect-large",
        "Shift",
        "shift: [6, -8], border_mode: reflect",
        {"x": (3, 4)},
        {"shift": (6, -8), "border_mode": "reflect"},
    ),
    Case("Shift-one-axis", "Shift", "shift: 2", {"x": (2, 5)}, {**SHIFT_DEFAULTS, "shift": (2,)}),
    Case("Shift-vector", "Shift", "shift: [0, -3]", {"x": (6,)}, {**SHIFT_DEFAULTS, "shift": (-3,)}),
    # Transpose: NNC's default (0, 1, 2: unchanged), permutations
    Case("Transpose-default", "Transpose", "", {"x": (2, 3, 4)}, {"axes": (0, 1, 2)}),
    Case("Transpose-2d", "Transpose", "axes: [1, 0]", {"x": (2, 3)}, {"axes": (1, 0)}),
    Case("Transpose-3d", "Transpose", "axes: [2, 0, 1]", {"x": (2, 3, 4)}, {"axes": (2, 0, 1)}),
    # Slice: defaults (everything), start/stop/step, fewer axes than the input, stop past the end
    Case("Slice-default", "Slice", "", {"x": (2, 3, 4)}, SLICE_DEFAULTS),
    Case(
        "Slice-3d",
        "Slice",
        "start: [1, 0, 1], stop: [2, 3, 4], step: [1, 2, 2]",
        {"x": (2, 3, 4)},
        {"start": (1, 0, 1), "stop": (2, 3, 4), "step": (1, 2, 2)},
    ),
    Case(
        "Slice-last-axis",
        "Slice",
        "start: 1, stop: 100, step: 3",
        {"x": (2, 8)},
        {"start": (1,), "stop": (100,), "step": (3,)},
    ),
    Case(
        "Slice-stop-default",
        "Slice",
        "start: [2], step: [2]",
        {"x": (7,)},
        {"start": (2,), "stop": None, "step": (2,)},
    ),
    # Stack: default axis 0, a middle axis, the last, several inputs
    Case("Stack-default", "Stack", "", {"x": (2, 3), "z": (2, 3)}, {"axis": 0}),
    Case("Stack-axis1", "Stack", "axis: 1", {"x": (2, 3), "z": (2, 3), "w": (2, 3)}, {"axis": 1}),
    Case("Stack-last", "Stack", "axis: 2", {"x": (2, 3), "z": (2, 3)}, {"axis": 2}),
    Case("Stack-one", "Stack", "axis: 1", {"x": (4,)}, {"axis": 1}),
    # MatrixDiag / MatrixDiagPart
    Case("MatrixDiag-vector", "MatrixDiag", "", {"x": (4,)}),
    Case("MatrixDiag-2d", "MatrixDiag", "", {"x": (2, 3)}),
    Case("MatrixDiagPart-2d", "MatrixDiagPart", "", {"x": (3, 3)}),
    Case("MatrixDiagPart-3d", "MatrixDiagPart", "", {"x": (2, 4, 4)}),
    # Sort: defaults, another axis, a negative axis, descending, indices
    Case("Sort-default", "Sort", "", {"x": (6, 3)}, SORT_DEFAULTS),
    Case("Sort-axis1", "Sort", "axis: 1", {"x": (3, 7)}, {**SORT_DEFAULTS, "axis": 1}),
    Case("Sort-axis-neg", "Sort", "axis: -2", {"x": (5, 2, 3)}, {**SORT_DEFAULTS, "axis": -2}),
    Case(
        "Sort-reverse", "Sort", "axis: 1, reverse: true", {"x": (3, 7)}, {**SORT_DEFAULTS, "axis": 1, "reverse": True}
    ),
    Case("Sort-index", "Sort", "only_index: true", {"x": (17,)}, {**SORT_DEFAULTS, "only_index": True}),
    Case(
        "Sort-index-reverse",
        "Sort",
        "axis: -1, reverse: true, only_index: true",
        {"x": (2, 9)},
        {"axis": -1, "reverse": True, "only_index": True},
    ),
    Case(
        "Sort-index-ties",  # long lines of few values: only a stable sort keeps the tied indices in order
        "Sort",
        "axis: 1, reverse: true, only_index: true",
        {"x": (2, 64)},
        {"axis": 1, "reverse": True, "only_index": True},
        data=lambda dtype: {"x": np.random.default_rng(2).integers(-2, 3, (2, 2, 64)).astype(float)},
    ),
    Case(
        "Sort-index-ties-ascending",
        "Sort",
        "axis: 0, only_index: true",
        {"x": (64, 2)},
        {"axis": 0, "reverse": False, "only_index": True},
        data=lambda dtype: {"x": np.random.default_rng(4).integers(-2, 3, (2, 64, 2)).astype(float)},
    ),
    # Interpolate: NNC's default 32x32, up and down, 1 to 3 axes, both align_corners, size 1
    Case("Interpolate-default", "Interpolate", "", {"x": (2, 3, 4)}, INTERPOLATE_DEFAULTS),
    Case(
        "Interpolate-1d-up",
        "Interpolate",
        "output_size: 7",
        {"x": (2, 3)},
        {**INTERPOLATE_DEFAULTS, "output_size": (7,)},
    ),
    Case(
        "Interpolate-1d-no-align",
        "Interpolate",
        "output_size: 7, align_corners: false",
        {"x": (2, 3)},
        {**INTERPOLATE_DEFAULTS, "output_size": (7,), "align_corners": False},
    ),
    Case(
        "Interpolate-2d-down",
        "Interpolate",
        "output_size: [2, 3], align_corners: false",
        {"x": (5, 7)},
        {**INTERPOLATE_DEFAULTS, "output_size": (2, 3), "align_corners": False},
    ),
    Case(
        "Interpolate-2d-mixed",
        "Interpolate",
        "output_size: [5, 2]",
        {"x": (2, 3, 6)},
        {**INTERPOLATE_DEFAULTS, "output_size": (5, 2)},
    ),
    Case(
        "Interpolate-3d",
        "Interpolate",
        "output_size: [3, 4, 5], mode: linear",
        {"x": (2, 3, 2)},
        {**INTERPOLATE_DEFAULTS, "output_size": (3, 4, 5)},
    ),
    Case(
        "Interpolate-3d-no-align",
        "Interpolate",
        "output_size: [1, 4, 3], align_corners: false",
        {"x": (2, 3, 2)},
        {**INTERPOLATE_DEFAULTS, "output_size": (1, 4, 3), "align_corners": False},
    ),
    Case(
        "Interpolate-from-1",
        "Interpolate",
        "output_size: [3, 1]",
        {"x": (1, 4)},
        {**INTERPOLATE_DEFAULTS, "output_size": (3, 1)},
    ),
    # ResetNaN / ResetInf, with NaN and both infinities among the values
    Case("ResetNaN", "ResetNaN", "", {"x": (3, 4)}, data=_special_data),
    Case("ResetNaN-finite", "ResetNaN", "", {"x": (17,)}),
    Case("ResetInf", "ResetInf", "", {"x": (3, 4)}, data=_special_data),
    Case("ResetInf-finite", "ResetInf", "", {"x": (17,)}),
    # OneHot: NNC's default 100 classes, few classes, several indices per position, 2-d positions
    Case("OneHot-default", "OneHot", "", {"x": (1,)}, {"shape": (100,)}, data=_labels(100, batch=150)),
    Case("OneHot-5", "OneHot", "shape: 5", {"x": (1,)}, {"shape": (5,)}, data=_labels(5, batch=7)),
    Case("OneHot-2d", "OneHot", "shape: [3, 4]", {"x": (2,)}, {"shape": (3, 4)}, data=_labels(3, 4, batch=6)),
    Case(
        "OneHot-positions",
        "OneHot",
        "shape: 4",
        {"x": (2, 3, 1)},
        {"shape": (4,)},
        data=_labels(4, shape=(2, 3), batch=2),
    ),
]
CASE_PARAMS = case_params(CASES)


def run_case(case: Case, dtype: str):
    """Load and run a case with every numpy warning an error; returns (spec, result, data)."""
    data = case.inputs(dtype)
    spec, result = run_spec(case.spec_text(dtype), data, statistics=False)
    return spec, result, data


# --- the layers this module adds are all covered ----------------------------------------


def test_references_cover_exactly_the_layers_added():
    assert set(REFERENCES) == OTHERS_TYPES
    assert OTHERS_TYPES <= set(nnspec.layer_types())
    assert {case.type for case in CASES} == OTHERS_TYPES


def test_catalog_entries_follow_nnc_defaults():
    """Names, categories, properties and defaults as nnc-layer-defaults.txt gives them (macros such
    as *Input become None)."""
    expected = {
        "Dropout": {"p": 0.5, "seed": -1, "skip_at_test": True},
        "Broadcast": {"out_shape": None},
        "BroadcastTo": {"axis": -1},
        "Tile": {"reps": (2,)},
        "Pad": {"pad_width": (0, 0, 0, 0), "mode": "constant", "constant_value": 0.0},
        "Flip": {"axes": (0,)},
        "Shift": {"shift": (0, 0), "border_mode": "nearest"},
        "Transpose": {"axes": (0, 1, 2)},
        "Slice": {"start": (0, 0, 0), "stop": None, "step": (1, 1, 1)},
        "Stack": {"axis": 0},
        "MatrixDiag": {},
        "MatrixDiagPart": {},
        "Sort": {"axis": 0, "reverse": False, "only_index": False},
        "Interpolate": {"output_size": (32, 32), "mode": "linear", "align_corners": True},
        "ResetNaN": {},
        "ResetInf": {},
        "OneHot": {"shape": (100,)},
    }
    types = nnspec.layer_types()
    for name, defaults in expected.items():
        entry = types[name]
        assert {p.name: p.normalize(p.default) for p in entry.properties} == defaults, name
        assert entry.category == ("Others(Pre Process)" if name == "OneHot" else "Others"), name
        assert entry.formula and entry.description, name
    choices = {p.name: p.choices for t in ("Pad", "Shift", "Interpolate") for p in types[t].properties if p.choices}
    assert choices == {
        "mode": ("linear",),  # the last of the two "mode" properties read: Interpolate's
        "border_mode": ("nearest", "reflect"),
    }
    assert types["Pad"].property_map["mode"].choices == ("constant", "reflect", "repeat")
    assert {name for name in OTHERS_TYPES if types[name].elementwise} == {"ResetNaN", "ResetInf"}
    assert str(types["BroadcastTo"].arity) == "exactly 2 inputs"
    assert types["Stack"].arity.accepts(1) and types["Stack"].arity.accepts(5)


# --- every layer against its reference, and its shape rule against its output -----------


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_layer_matches_reference(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    got = result.outputs["y"]
    assert got.dtype == np.dtype(dtype)
    inputs = received(data, case.sizes, dtype)
    if case.type == "Interpolate":
        expected, magnitude = _interpolate_exact(inputs[0], case.ref_props)
        eps, tiny = float(np.finfo(dtype).eps), float(np.finfo(dtype).tiny)
        assert got.shape == expected.shape
        assert_error_within(got, expected, 4 * eps * magnitude + tiny)
    else:
        expected = REFERENCES[case.type](inputs, case.ref_props)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected.astype(dtype))


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_shape_rule_matches_output(case: Case, dtype: str):
    spec, result, data = run_case(case, dtype)
    assert_shape_rule(spec, result.outputs["y"], len(next(iter(data.values()))))


@pytest.mark.parametrize("case, dtype", CASE_PARAMS)
def test_forward_never_warns_for_finite_input(case: Case, dtype: str):
    """The runner silences numpy's floating-point warnings around every layer, so here the
    catalog's forward function runs on the case's inputs with overflow, invalid and divide raised
    (ResetNaN and ResetInf meet NaN and inf by design: testing for them raises nothing)."""
    spec, result, data = run_case(case, dtype)
    layer = spec.layers["y"]
    forward_raising(layer, [np.asarray(data[name]).astype(dtype) for name in case.sizes], {})


# --- Dropout -----------------------------------------------------------------------------


def _dropout_spec(dtype: str, props: str, size: int = 4000) -> str:
    return (
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: [{size}]}}\n"
        f"  - {{name: d, type: Dropout, {props}}}\n"
    )


def _dropout_data(dtype: str, size: int = 4000) -> np.ndarray:
    """Edge values, never 0, so that a dropped value (0) is told from a kept one."""
    values = [v for v in edge_values(dtype) if v != 0.0]
    return np.array([[values[k % len(values)] for k in range(size)]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.5, 0.25, 0.9])
def test_dropout_training_drops_p_and_scales_the_rest(dtype, p):
    """skip_at_test false: every output is 0 (dropped) or i / (1 - p) rounded once (kept), and the
    share dropped is p. With n = 4000 draws the share has standard error sqrt(p (1-p) / n) (at most
    0.8 %); 5 standard errors make a false failure a < 1e-6 event."""
    x = _dropout_data(dtype)
    spec = nnspec.loads(_dropout_spec(dtype, f"p: {p}, seed: 5, skip_at_test: false"))
    got = nnspec.run(spec, {"x": x}, statistics=False).outputs["d"]
    assert got.dtype == np.dtype(dtype) and got.shape == x.shape
    xs = x.astype(dtype).astype(np.float64)
    dropped = got == 0
    kept_expected = np.array([float(v) * (1.0 / (1.0 - p)) for v in xs.ravel()]).reshape(x.shape).astype(dtype)
    rtol = 0.0 if dtype == "float64" else float(np.finfo(np.float32).eps)  # float32: see the module docstring
    np.testing.assert_allclose(got[~dropped], kept_expected[~dropped], rtol=rtol, atol=0)
    n = x.size
    assert abs(dropped.mean() - p) <= 5 * math.sqrt(p * (1 - p) / n)


def test_dropout_is_deterministic_per_seed_and_minus_one_is_the_layers_seed_from_the_specs():
    x = _dropout_data("float32", 200)

    def run(props):
        spec = nnspec.loads(_dropout_spec("float32", props, 200))
        return nnspec.run(spec, {"x": x}, statistics=False).outputs["d"]

    first, again = run("seed: 3, skip_at_test: false"), run("seed: 3, skip_at_test: false")
    other = run("seed: 4, skip_at_test: false")
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first == 0, other == 0)
    # NNC's seed -1 (no fixed seed): a run hands the layer a seed made of the spec's (0 here) and its name
    derived = layer_seed(0, "d")
    np.testing.assert_array_equal(run("skip_at_test: false"), run(f"seed: {derived}, skip_at_test: false"))


def test_dropout_mask_does_not_depend_on_batching():
    """The mask is drawn per sample (from the seed, the sample's values and each value's position):
    a run gives the same outputs in one batch, in batches of 3, or with the samples reordered."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 6, 7))
    spec = nnspec.loads(
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [6, 7]}\n"
        "  - {name: d, type: Dropout, p: 0.4, seed: 11, skip_at_test: false}\n"
    )
    whole = nnspec.run(spec, {"x": x}, statistics=False).outputs["d"]
    batched = nnspec.run(spec, {"x": x}, batch_size=3, statistics=False).outputs["d"]
    order = rng.permutation(10)
    reordered = nnspec.run(spec, {"x": x[order]}, statistics=False).outputs["d"]
    np.testing.assert_array_equal(whole, batched)
    np.testing.assert_array_equal(whole[order], reordered)
    masks = (whole == 0).reshape(10, -1)
    assert len({m.tobytes() for m in masks}) == 10  # different samples, different masks


def test_dropout_at_inference_is_the_identity_whatever_p():
    x = _dropout_data("float64", 50)
    spec = nnspec.loads(_dropout_spec("float64", "p: 0.9, seed: 1", 50))
    np.testing.assert_array_equal(nnspec.run(spec, {"x": x}, statistics=False).outputs["d"], x)


def test_dropout_keeps_nan_of_a_dropped_infinity():
    """nnabla computes i * m * scale: a dropped inf gives inf * 0 = NaN, not 0."""
    layer = nnspec.layer_types()["Dropout"]
    x = np.full((1, 64), np.inf, dtype=np.float32)
    got = layer.forward([x], {"p": 0.5, "seed": 0, "skip_at_test": False}, {})
    assert np.isnan(got).any() and np.isposinf(got).any() and not (got == 0).any()


# --- by hand, from nnabla's documented examples -------------------------------------------


def _run_one(layer: str, data: dict[str, np.ndarray], sizes: dict[str, list[int]], dtype: str = "float64"):
    lines = ["nnspec: 1", f"dtype: {dtype}", "layers:"]
    lines += [f"  - {{name: {name}, type: Input, size: {size}}}" for name, size in sizes.items()]
    lines += [f"  - {{name: y, {layer}}}"]
    spec = nnspec.loads("\n".join(lines) + "\n")
    result = nnspec.run(spec, data, statistics=False)
    assert spec.layers["y"].shape == result.outputs["y"].shape[1:]
    return result.outputs["y"]


@pytest.mark.parametrize(
    "props, expected",
    [
        ("mode: constant, constant_value: -1", [-1, -1, -1, 1, 2, 3, 4, -1, -1, -1]),
        ("mode: reflect", [4, 3, 2, 1, 2, 3, 4, 3, 2, 1]),
        ("mode: repeat", [1, 1, 1, 1, 2, 3, 4, 4, 4, 4]),
    ],
)
def test_pad_modes_by_hand(props, expected):
    """nnabla's documentation of F.pad: [1, 2, 3, 4] padded by (3, 3) in each mode."""
    got = _run_one(f"type: Pad, pad_width: [3, 3], {props}", {"x": np.array([[1.0, 2, 3, 4]])}, {"x": [4]})
    np.testing.assert_array_equal(got[0], expected)


def test_pad_shapes_by_hand():
    """nnabla's documentation: (3, 4, 2) padded by (1, 1, 2, 2) is (3, 8, 4) (the last two axes)."""
    got = _run_one("type: Pad, pad_width: [1, 1, 2, 2]", {"x": np.ones((1, 3, 4, 2))}, {"x": [3, 4, 2]})
    assert got.shape == (1, 3, 6, 6)
    got = _run_one("type: Pad, pad_width: [0, 1, 2, 1, 3, 3]", {"x": np.ones((1, 3, 4, 2))}, {"x": [3, 4, 2]})
    assert got.shape == (1, 4, 7, 8)


def test_shift_by_hand():
    """nnabla: shift (-3, 2) moves an image up 3 and right 2; nearest repeats the edge value,
    reflect mirrors the input with its edge value repeated."""
    x = np.array([[1.0, 2, 3, 4, 5]])
    nearest = _run_one("type: Shift, shift: 2", {"x": x}, {"x": [5]})
    np.testing.assert_array_equal(nearest[0], [1, 1, 1, 2, 3])
    reflect = _run_one("type: Shift, shift: -2, border_mode: reflect", {"x": x}, {"x": [5]})
    np.testing.assert_array_equal(reflect[0], [3, 4, 5, 5, 4])
    image = np.arange(1.0, 26.0).reshape(1, 5, 5)
    moved = _run_one("type: Shift, shift: [-3, 2]", {"x": image}, {"x": [5, 5]})
    np.testing.assert_array_equal(moved[0, 0], [16, 16, 16, 17, 18])  # row 3 of the input, moved right by 2


def test_shift_reflect_beyond_twice_the_axis_follows_nnabla():
    """nnabla reads index a = |i + 2n - shift| mod 2n, then 2n - 1 - a where a >= n: for shifts past
    2n that is not the periodic mirror (the absolute value turns it around). Worked by hand for
    n = 3, shift 10: i = 0 gives |0 + 6 - 10| = 4 -> 6 - 1 - 4 = 1; i = 1: 3 -> 2; i = 2: 2 -> 2."""
    got = _run_one("type: Shift, shift: 10, border_mode: reflect", {"x": np.array([[10.0, 20, 30]])}, {"x": [3]})
    np.testing.assert_array_equal(got[0], [20, 30, 30])


def test_broadcast_to_by_hand():
    """The output has the first input's shape and the second input's values, each repeated along the
    first input's trailing axes: NNC's axis -1 is nnabla's axis 0."""
    x = np.zeros((1, 2, 3))
    y = np.array([[10.0, 20.0]])
    got = _run_one("type: BroadcastTo, input: [x, z]", {"x": x, "z": y}, {"x": [2, 3], "z": [2]})
    np.testing.assert_array_equal(got[0], [[10, 10, 10], [20, 20, 20]])


@pytest.mark.parametrize("case, y_shape", [("bt", (2,)), ("bt2", (2, 3))])
def test_broadcast_to_matches_nnabla(case, y_shape):
    """nnabla 1.39's F.broadcast_to(x, y, axis=0), what NNC runs for its default Axis -1, on x (3, 2, 3, 4)
    and y (3, 2) or (3, 2, 3) (tests/fixtures/nnabla/layers.npz): the same values, bit for bit."""
    data = nnabla_layers()
    x, y = data["bt_x"], data[f"{case}_y"]
    assert y.shape[1:] == y_shape
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {list(x.shape[1:])}}}\n"
        f"  - {{name: z, type: Input, size: {list(y_shape)}}}\n"
        "  - {name: y, type: BroadcastTo, input: [x, z]}\n"
    )
    assert spec.layers["y"].shape == x.shape[1:]
    got = nnspec.run(spec, {"x": x, "z": y}).outputs["y"]
    np.testing.assert_array_equal(got, data[f"{case}_out"])


def test_broadcast_to_axis_that_mixes_samples_is_refused():
    """NNC's Axis 0 is nnabla's axis 1: for x (2, 2, 3) and y (2, 3) nnabla lines y's batch axis up with
    x's axis 1, and its output sample 0 holds both samples' y (tests/fixtures/nnabla/layers.npz: y is
    0..5, out[0] is [[0, 1, 2], [3, 4, 5]]); with 3 samples it would fail. nnspec refuses it, at validation."""
    data = nnabla_layers()
    np.testing.assert_array_equal(data["btmix_out"][0], data["btmix_y"])
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2, 3]}\n  - {name: z, type: Input, size: [3]}\n"
        "  - {name: y, type: BroadcastTo, input: [x, z], axis: 0}\n"
    )
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads(text)
    [problem] = caught.value.diagnostics
    assert problem.line == 5
    assert "lines the second input's batch axis up with the first input's axis 0 (size 2)" in problem.message


def test_one_hot_by_hand():
    """nnabla's documentation of F.one_hot: labels 9, 4, 5, 1, 0 of 10 classes; and (1, 7) of (10, 8)."""
    labels = np.array([[9.0], [4], [5], [1], [0]])
    got = _run_one("type: OneHot, shape: 10", {"x": labels}, {"x": [1]}, "float32")
    np.testing.assert_array_equal(got, np.eye(10, dtype=np.float32)[[9, 4, 5, 1, 0]])
    got = _run_one("type: OneHot, shape: [10, 8]", {"x": np.array([[1.0, 7.0]])}, {"x": [2]}, "float32")
    expected = np.zeros((1, 10, 8), dtype=np.float32)
    expected[0, 1, 7] = 1
    np.testing.assert_array_equal(got, expected)


def test_one_hot_invalid_index_gives_nan_block():
    """An index that is negative, too large, fractional or not finite has no one-hot position: its
    block becomes NaN (the nan-inf check then reports the layer); the other blocks are unaffected."""
    labels = np.array([[2.0], [-1], [3], [1.5], [np.nan], [0]])
    got = _run_one("type: OneHot, shape: 3", {"x": labels}, {"x": [1]})
    np.testing.assert_array_equal(got[0], [0, 0, 1])
    np.testing.assert_array_equal(got[5], [1, 0, 0])
    assert np.isnan(got[1:5]).all()
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1]}\n  - {name: y, type: OneHot, shape: 3}\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = nnspec.run(spec, {"x": np.array([[0.0], [7.0]])})
    assert any(f.layer == "y" and f.check == "nan-inf" for f in result.findings)


def test_interpolate_by_hand():
    """[0, 10] to 3 points: align_corners reads positions 0, 0.5, 1 -> 0, 5, 10; without it
    positions 0, 2/3, 4/3 (past the last point, which repeats) -> 0, 6.67, 10."""
    x = np.array([[0.0, 10.0]])
    aligned = _run_one("type: Interpolate, output_size: 3", {"x": x}, {"x": [2]})
    np.testing.assert_allclose(aligned[0], [0, 5, 10], rtol=1e-15)
    plain = _run_one("type: Interpolate, output_size: 3, align_corners: false", {"x": x}, {"x": [2]})
    np.testing.assert_allclose(plain[0], [0, 20 / 3, 10], rtol=1e-15)
    # 2-d: the corners of a 2x2 sample stay, the centre is their mean
    square = np.array([[[0.0, 4.0], [8.0, 12.0]]])
    got = _run_one("type: Interpolate, output_size: [3, 3]", {"x": square}, {"x": [2, 2]})
    np.testing.assert_allclose(got[0], [[0, 2, 4], [4, 6, 8], [8, 10, 12]], rtol=1e-15)


def test_sort_by_hand():
    x = np.array([[3.0, -1.0, 2.0, -1.0, 0.0]])
    np.testing.assert_array_equal(_run_one("type: Sort", {"x": x}, {"x": [5]})[0], [-1, -1, 0, 2, 3])
    np.testing.assert_array_equal(_run_one("type: Sort, reverse: true", {"x": x}, {"x": [5]})[0], [3, 2, 0, -1, -1])
    # indices: equal values (-1 at 1 and 3) keep their order, ascending and descending
    np.testing.assert_array_equal(_run_one("type: Sort, only_index: true", {"x": x}, {"x": [5]})[0], [1, 3, 4, 2, 0])
    got = _run_one("type: Sort, only_index: true, reverse: true", {"x": x}, {"x": [5]})
    np.testing.assert_array_equal(got[0], [0, 2, 4, 1, 3])


def test_matrix_diag_round_trip_by_hand():
    x = np.array([[1.0, -2.0, 3.0]])
    diag = _run_one("type: MatrixDiag", {"x": x}, {"x": [3]})
    np.testing.assert_array_equal(diag[0], [[1, 0, 0], [0, -2, 0], [0, 0, 3]])
    part = _run_one("type: MatrixDiagPart", {"x": diag}, {"x": [3, 3]})
    np.testing.assert_array_equal(part, x)


def test_slice_transpose_tile_by_hand():
    x = np.arange(12.0).reshape(1, 3, 4)
    got = _run_one("type: Slice, start: [1, 0], stop: [3, 4], step: [1, 3]", {"x": x}, {"x": [3, 4]})
    np.testing.assert_array_equal(got[0], [[4, 7], [8, 11]])
    got = _run_one("type: Transpose, axes: [1, 0]", {"x": x}, {"x": [3, 4]})
    np.testing.assert_array_equal(got[0], x[0].T)
    got = _run_one("type: Tile, reps: [2, 1]", {"x": np.array([[1.0, 2.0]])}, {"x": [2]})
    np.testing.assert_array_equal(got[0], [[1, 2], [1, 2]])


# --- static analysis passes estimates through every layer ---------------------------------


def test_static_estimates_pass_through_every_layer():
    """Each layer gives the static analysis an estimate (none stops it), with the means the layers
    imply: Dropout keeps the mean and widens the spread in training; OneHot gives 1/classes."""
    from nnspec.spec.static import estimates

    text = """nnspec: 1
layers:
  - {name: x, type: Input, size: [2, 3], range: [-1, 1]}
  - {name: v, type: Input, size: [2], range: [0, 2]}
  - {name: lab, type: Input, size: [1], range: [0, 3]}
  - {name: drop, type: Dropout, input: x}
  - {name: train, type: Dropout, input: x, skip_at_test: false, p: 0.75}
  - {name: b, type: Broadcast, input: x}
  - {name: bt, type: BroadcastTo, input: [x, v]}
  - {name: t, type: Tile, input: x}
  - {name: p, type: Pad, input: x, pad_width: [1, 1], constant_value: 4}
  - {name: f, type: Flip, input: x}
  - {name: s, type: Shift, input: x}
  - {name: tr, type: Transpose, input: x, axes: [1, 0]}
  - {name: sl, type: Slice, input: x, start: [0, 0], step: [1, 1]}
  - {name: st, type: Stack, input: [x, v]}
  - {name: md, type: MatrixDiag, input: x}
  - {name: mdp, type: MatrixDiagPart, input: md}
  - {name: so, type: Sort, input: x, axis: 1, only_index: true}
  - {name: ip, type: Interpolate, input: x, output_size: [4, 4]}
  - {name: rn, type: ResetNaN, input: x}
  - {name: ri, type: ResetInf, input: x}
  - {name: oh, type: OneHot, input: lab, shape: 4}
"""
    with pytest.raises(nnspec.SpecError, match="Stack needs inputs of one shape"):
        nnspec.loads(text)
    spec = nnspec.loads(text.replace("input: [x, v]}\n  - {name: md", "input: [x, x]}\n  - {name: md"))
    found = estimates(spec)
    assert all(found[name] is not None for name in spec.layers), [n for n in spec.layers if found[n] is None]
    x = found["x"]
    assert found["drop"] == x
    assert found["train"].mean == pytest.approx(0.0, abs=1e-12)
    assert found["train"].std == pytest.approx(x.std * 2)  # E[o^2] = E[i^2] / (1 - p), p = 0.75
    assert (found["train"].low, found["train"].high) == (-4.0, 4.0)
    assert found["bt"] == found["v"]
    assert found["p"].high == 4.0 and found["p"].mean == pytest.approx(4.0 * 4 / 10)  # (2, 3) -> (2, 5): 4 of 10 padded
    assert found["so"].mean == pytest.approx(1.0)  # indices 0, 1, 2
    assert found["oh"].mean == pytest.approx(0.25)
    assert found["rn"].mean == pytest.approx(0.0, abs=1e-6)


# --- invalid configurations -------------------------------------------------------------


INVALID = [
    # (id, layer properties, input sizes, the property named (None: the input shapes are at fault))
    ("Dropout-p-1", "type: Dropout, p: 1.0", {"x": [3]}, "p"),
    ("Dropout-p-0", "type: Dropout, p: 0", {"x": [3]}, "p"),
    ("Dropout-p-negative", "type: Dropout, p: -0.5, skip_at_test: false", {"x": [3]}, "p"),
    ("Dropout-seed-text", "type: Dropout, seed: abc", {"x": [3]}, "seed"),
    ("Dropout-skip-text", "type: Dropout, skip_at_test: maybe", {"x": [3]}, "skip_at_test"),
    ("Broadcast-not-1", "type: Broadcast, out_shape: [4, 3]", {"x": [2, 3]}, "out_shape"),
    ("Broadcast-axes", "type: Broadcast, out_shape: [2, 2, 3]", {"x": [2, 3]}, "out_shape"),
    ("Broadcast-zero", "type: Broadcast, out_shape: [0, 3]", {"x": [1, 3]}, "out_shape"),
    ("BroadcastTo-mismatch", "type: BroadcastTo, input: [x, z]", {"x": [2, 3], "z": [3]}, "axis"),
    ("BroadcastTo-axis-0", "type: BroadcastTo, input: [x, z], axis: 0", {"x": [2, 3], "z": [3]}, "axis"),
    ("BroadcastTo-axis-1", "type: BroadcastTo, input: [x, z], axis: 1", {"x": [2, 3], "z": [2]}, "axis"),
    ("BroadcastTo-axis-range", "type: BroadcastTo, input: [x, z], axis: 2", {"x": [2, 3], "z": [2]}, "axis"),
    ("BroadcastTo-tail", "type: BroadcastTo, input: [x, z], axis: -2", {"x": [2, 3], "z": [3]}, "axis"),
    ("BroadcastTo-bigger", "type: BroadcastTo, input: [x, z]", {"x": [3], "z": [2, 3]}, None),
    ("BroadcastTo-one-input", "type: BroadcastTo, input: x", {"x": [3]}, None),
    ("Tile-zero", "type: Tile, reps: [2, 0]", {"x": [3]}, "reps"),
    ("Pad-odd", "type: Pad, pad_width: [1, 2, 3]", {"x": [2, 3]}, "pad_width"),
    ("Pad-batch", "type: Pad, pad_width: [1, 1, 0, 0, 0, 0]", {"x": [2, 3]}, "pad_width"),
    ("Pad-negative", "type: Pad, pad_width: [-1, 1]", {"x": [3]}, "pad_width"),
    ("Pad-mode", "type: Pad, mode: wrap", {"x": [3]}, "mode"),
    ("Pad-value", "type: Pad, constant_value: high", {"x": [3]}, "constant_value"),
    ("Flip-axis", "type: Flip, axes: [0, 2]", {"x": [2, 3]}, "axes"),
    ("Flip-negative", "type: Flip, axes: -1", {"x": [2, 3]}, "axes"),
    ("Shift-batch", "type: Shift, shift: [1, 0, 0]", {"x": [2, 3]}, "shift"),
    ("Shift-batch-vector", "type: Shift, shift: [2, 1]", {"x": [3]}, "shift"),
    ("Shift-mode", "type: Shift, border_mode: constant", {"x": [3]}, "border_mode"),
    ("Transpose-default-2d", "type: Transpose", {"x": [2, 3]}, "axes"),
    ("Transpose-repeat", "type: Transpose, axes: [1, 1]", {"x": [2, 3]}, "axes"),
    ("Transpose-range", "type: Transpose, axes: [0, 2]", {"x": [2, 3]}, "axes"),
    ("Slice-default-2d", "type: Slice", {"x": [2, 3]}, "start"),
    ("Slice-step-length", "type: Slice, start: [0, 1], step: [1]", {"x": [2, 3]}, "step"),
    ("Slice-stop-length", "type: Slice, start: [0, 1], stop: [2], step: [1, 1]", {"x": [2, 3]}, "stop"),
    ("Slice-step-0", "type: Slice, start: [0, 1], step: [1, 0]", {"x": [2, 3]}, "step"),
    ("Slice-start-past", "type: Slice, start: [0, 3], step: [1, 1]", {"x": [2, 3]}, "start"),
    ("Slice-empty", "type: Slice, start: [1, 0], stop: [1, 3], step: [1, 1]", {"x": [2, 3]}, "stop"),
    ("Stack-axis", "type: Stack, input: [x, z], axis: 3", {"x": [2, 3], "z": [2, 3]}, "axis"),
    ("Stack-shapes", "type: Stack, input: [x, z]", {"x": [2, 3], "z": [3, 2]}, None),
    ("MatrixDiagPart-square", "type: MatrixDiagPart", {"x": [2, 3]}, None),
    ("MatrixDiagPart-vector", "type: MatrixDiagPart", {"x": [3]}, None),
    ("Sort-axis", "type: Sort, axis: 2", {"x": [2, 3]}, "axis"),
    ("Sort-axis-negative", "type: Sort, axis: -3", {"x": [2, 3]}, "axis"),
    ("Sort-reverse", "type: Sort, reverse: 1", {"x": [3]}, "reverse"),
    ("Interpolate-axes", "type: Interpolate, output_size: [4, 4, 4]", {"x": [2, 3]}, "output_size"),
    ("Interpolate-4d", "type: Interpolate, output_size: [2, 2, 2, 2]", {"x": [2, 2, 2, 2]}, "output_size"),
    ("Interpolate-mode", "type: Interpolate, mode: nearest", {"x": [2, 3]}, "mode"),
    ("Interpolate-align", "type: Interpolate, align_corners: yes please", {"x": [2, 3]}, "align_corners"),
    ("OneHot-count", "type: OneHot, shape: [3, 4]", {"x": [1]}, "shape"),
    ("OneHot-zero", "type: OneHot, shape: 0", {"x": [1]}, "shape"),
    ("ResetNaN-property", "type: ResetNaN, value: 1", {"x": [3]}, "value"),
    ("ResetInf-property", "type: ResetInf, val: 1", {"x": [3]}, "val"),
]


@pytest.mark.parametrize("layer, sizes, prop", [pytest.param(*row[1:], id=row[0]) for row in INVALID])
def test_invalid_configuration_names_layer_and_property(layer, sizes, prop):
    lines = ["nnspec: 1", "layers:"]
    lines += [f"  - {{name: {name}, type: Input, size: {size}}}" for name, size in sizes.items()]
    if "input:" not in layer:
        layer += ", input: x"
    lines.append(f"  - {{name: bad, {layer}}}")
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads("\n".join(lines) + "\n")
    layer_type = layer.split("type: ")[1].split(",")[0]
    errors = [d for d in caught.value.diagnostics if d.layer == "bad" or "'bad'" in d.message]
    assert errors, str(caught.value)
    message = " ".join(d.message for d in errors)
    assert f"'bad' ({layer_type})" in message or ("'bad'" in message and layer_type in message), message
    assert all(d.line == len(lines) for d in errors)  # located on the layer's line
    if prop is not None:
        assert prop in message, message
        if f"{prop}:" in layer:  # written in the spec: the error points at it (a default: at the layer)
            assert any(d.path[-1:] == (prop,) for d in errors), [d.path for d in errors]
