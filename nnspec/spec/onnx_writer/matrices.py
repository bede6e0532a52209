"""Arrays of their own, matrices and transforms: a Parameter's (or unlinked WorkingMemory's) array
expanded to the batch, the batched matrix functions, MatrixDiag and MatrixDiagPart, FFT and IFFT.
ONNX has no inverse: BatchInv is Gauss-Jordan elimination with partial pivoting unrolled over the
columns, in float64; BatchDet is ONNX's Det in float32 (onnxruntime has no float64 one); FFT and IFFT
are opset 17's DFT, one per signal axis, in float64 as nnspec's numpy."""

from __future__ import annotations

from math import prod

import numpy as np

from ..model import Layer
from .builder import Emit, Graph, Op, with_batch
from .float64 import double, single, wide


def _batch_matmul(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("MatMul", x[:2], out)


def _eye(g: Graph, size: int) -> str:
    return g.constant(np.eye(size, dtype=bool), bool)


def _matrix_diag(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """o[..., j, k] = i[..., j] where j = k, else 0 (chosen, not multiplied: an inf stays off the rest)."""
    size = layer.inferred_shape[-1]
    column = g.node("Unsqueeze", [x[0], g.constant([-1], np.int64)])  # (..., n, 1)
    g.node("Where", [_eye(g, size), column, g.constant(0.0)], out)


def _matrix_diag_part(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """o[..., j] = i[..., j, j]: the diagonal's places in each matrix read flat."""
    size = layer.inferred_shape[-1]
    flat = g.node("Reshape", [x[0], g.constant([-1, *layer.inferred_shape[:-1], size * size], np.int64)])
    g.node("Gather", [flat, g.constant([j * (size + 1) for j in range(size)], np.int64)], out, axis=-1)


def _own_array(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """A Parameter's (or an unlinked WorkingMemory's) array, the same for every sample: its initializer
    expanded to [N, *size], N read from a graph input."""
    if x:  # a WorkingMemory linked from a layer holds that layer's output
        g.node("Identity", x[:1], out)
        return
    shape = layer.inferred_shape
    value = g.parameter(layer, "value", (1, *shape))
    g.node("Expand", [value, with_batch(g, g.batch_source(), shape)], out)


def _batch_det(g: Graph, layer: Layer, x: list[str], out: str | None) -> str:
    """ONNX's Det (float32: onnxruntime has no float64 Det), one (1,) value a sample."""
    return g.node("Unsqueeze", [g.node("Det", x[:1]), g.constant([1], np.int64)], out)


def _batch_inv(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    """Each sample's inverse by Gauss-Jordan elimination with partial pivoting, unrolled over the n
    columns, in float64 (ONNX has no inverse): [A | I] reduced to [I | A^-1]. The pivot is the
    column's largest magnitude from the diagonal down (the first among equals, as LAPACK's), swapped
    in by a Gather of the rows; a zero pivot is a singular matrix, all NaN (nnspec's det = 0)."""
    n = layer.inferred_shape[-1]
    rows = np.arange(n)
    matrix = g.node(
        "Concat",
        [double(g, x[0]), g.node("Expand", [g.constant(np.eye(n)[None], np.float64), g.node("Shape", [x[0]])])],
        axis=2,
    )  # (N, n, 2n)
    singular = None
    for k in range(n):

        def sliced(value: str, starts: list[int], ends: list[int], axes: list[int]) -> str:
            return g.node(
                "Slice",
                [value, g.constant(starts, np.int64), g.constant(ends, np.int64), g.constant(axes, np.int64)],
            )

        column = sliced(matrix, [k, k], [n, k + 1], [1, 2])  # (N, n - k, 1)
        pivot_row = g.node(
            "Add", [g.node("ArgMax", [g.node("Abs", [column])], axis=1, keepdims=1), g.constant(k, np.int64)]
        )
        order = g.node(
            "Where",
            [
                g.constant(rows[:, None] == k, bool),
                pivot_row,
                g.node(
                    "Where",
                    [
                        g.node("Equal", [g.constant(rows[:, None], np.int64), pivot_row]),
                        g.constant(k, np.int64),
                        g.constant(rows[:, None], np.int64),
                    ],
                ),
            ],
        )  # (N, n, 1): the row each place takes, k and the pivot's swapped
        matrix = g.node(
            "GatherElements", [matrix, g.node("Expand", [order, g.constant([1, n, 2 * n], np.int64)])], axis=1
        )
        pivot = sliced(matrix, [k, k], [k + 1, k + 1], [1, 2])  # (N, 1, 1)
        zero_pivot = g.node("Equal", [pivot, wide(g, 0.0)])
        singular = zero_pivot if singular is None else g.node("Or", [singular, zero_pivot])
        pivot_values = g.node("Div", [sliced(matrix, [k], [k + 1], [1]), pivot])  # row k / pivot: (N, 1, 2n)
        factors = sliced(matrix, [k], [k + 1], [2])  # (N, n, 1)
        eliminated = g.node("Sub", [matrix, g.node("Mul", [factors, pivot_values])])
        matrix = g.node("Where", [g.constant((rows == k)[:, None], bool), pivot_values, eliminated])
    inverse = g.node(
        "Slice", [matrix, g.constant([n], np.int64), g.constant([2 * n], np.int64), g.constant([2], np.int64)]
    )
    nan = wide(g, float("nan"))
    assert singular is not None  # n >= 1: one pivot at least
    single(g, g.node("Where", [singular, nan, inverse]), out)


def _batch_logdet(g: Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Log", [g.node("Abs", [_batch_det(g, layer, x, None)])], out)


def _fourier(inverse: bool) -> Emit:
    """nnabla's FFT/IFFT: complex values as (real, imaginary) on the last axis, which is ONNX's DFT
    layout; one DFT (opset 17) per signal axis, in float64 as nnspec's numpy; normalized: 1/sqrt(N)
    either way (ONNX's inverse divides by N, so that is taken back times sqrt(N))."""

    def emit(g: Graph, layer: Layer, x: list[str], out: str) -> None:
        sample = g.input_shape(layer)
        ndim = layer.props["signal_ndim"]
        axes = range(len(sample) - ndim, len(sample))  # ONNX axes of the signal: the last before (re, im)
        value = double(g, x[0])
        for axis in axes:
            value = g.node("DFT", [value], axis=axis, inverse=int(inverse), onesided=0)
        if layer.props["normalized"]:
            size = prod(sample[len(sample) - 1 - ndim : -1])
            value = g.node("Mul", [value, wide(g, float(np.sqrt(size)) if inverse else 1.0 / float(np.sqrt(size)))])
        single(g, value, out)

    return emit


OPS: dict[str, Op] = {
    "BatchMatmul": Op(_batch_matmul),
    "MatrixDiag": Op(_matrix_diag),
    "MatrixDiagPart": Op(_matrix_diag_part),
    "BatchDet": Op(_batch_det),
    "BatchLogdet": Op(_batch_logdet),
    "BatchInv": Op(_batch_inv),
    "FFT": Op(_fourier(inverse=False)),
    "IFFT": Op(_fourier(inverse=True)),
    "Parameter": Op(_own_array),
    "WorkingMemory": Op(_own_array),
}
