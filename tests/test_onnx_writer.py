"""nnspec convert to ONNX: every model passes onnx's full checker and onnxruntime reproduces nnspec's
numpy outputs within 1e-5 (float32), a layer type at a time (with properties off their defaults)
and for every example spec ONNX can hold.

The reference is onnxruntime's own kernels running the graph nnspec wrote; the parameters are the
ones nnspec's run used, so any difference is the writer's translation, or a layer's numpy formula.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError
from nnspec.layers.catalog import layer_types
from nnspec.spec.onnx_writer import OPS, OPSET, refuse_unwritable, unwritable_reason, write_onnx
from nnspec.spec.onnx_writer import REFUSED as WRITER_REFUSED

from .conftest import ROOT

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5
IMAGE = "- {name: x, type: Input, size: [3, 9, 10]}"
VECTOR = "- {name: x, type: Input, size: [12]}"
POSITIVE = "- {name: x, type: Input, size: [12], generator: Uniform}"  # 0..1 ranges follow via AddScalar


def _spec(*layers: str) -> str:
    return "nnspec: 2\nseed: 3\nlayers:\n" + "\n".join(f"  {line}" for line in layers) + "\n"


def _inside(op: str) -> str:
    """A unary op whose domain is -1..1 or positive: its input squeezed to 0.1..0.9 first."""
    return _spec(
        VECTOR,
        "- {name: s, type: Sigmoid}",
        "- {name: m, type: MulScalar, value: 0.8}",
        "- {name: a, type: AddScalar, value: 0.1}",
        f"- {{name: out, type: {op}}}",
    )


# One spec a layer type nnspec writes, with properties off their defaults where it has any.
CASES: dict[str, str] = {
    **{
        op: _spec(VECTOR, f"- {{name: out, type: {op}}}")
        for op in (
            "ReLU",
            "Sigmoid",
            "Tanh",
            "Abs",
            "Exp",
            "Sin",
            "Cos",
            "Tan",
            "ATan",
            "Sinh",
            "Cosh",
            "ASinh",
            "Ceil",
            "Floor",
            "Sign",
            "Identity",
            "SoftPlus",
            "SoftSign",
            "HardSigmoid",
            "HardTanh",
            "ReLU6",
            "Swish",
            "Mish",
            "GELU",
            "TanhShrink",
            "LogSigmoid",
        )
    },
    **{op: _inside(op) for op in ("Log", "ASin", "ACos", "ATanh")},
    "ACosh": _spec(
        VECTOR, "- {name: a, type: Abs}", "- {name: out, type: AddScalar, value: 1.5}", "- {name: out2, type: ACosh}"
    ),
    "LeakyReLU": _spec(VECTOR, "- {name: out, type: LeakyReLU, alpha: 0.3}"),
    "ELU": _spec(VECTOR, "- {name: out, type: ELU, alpha: 0.7}"),
    "SELU": _spec(VECTOR, "- {name: out, type: SELU, scale: 1.2, alpha: 1.5}"),
    "CReLU": _spec(IMAGE, "- {name: out, type: CReLU, axis: 1}"),
    "CELU": _spec(IMAGE, "- {name: out, type: CELU, alpha: 0.5, axis: 2}"),
    "PReLU": _spec(IMAGE, "- {name: out, type: PReLU, base_axis: 0, slope: {initializer: Uniform, multiplier: 0.5}}"),
    "Softmax": _spec(IMAGE, "- {name: out, type: Softmax, axis: 1}"),
    "LogSoftmax": _spec(IMAGE, "- {name: out, type: LogSoftmax, axis: 2}"),
    **{
        op: _spec(
            VECTOR,
            "- {name: a, type: Tanh}",
            "- {name: b, type: Sigmoid, input: x}",
            f"- {{name: out, type: {op}, input: [a, b]}}",
        )
        for op in ("Add2", "Sub2", "Mul2", "Div2", "Maximum2", "Minimum2")
    },
    "Pow2": _spec(
        VECTOR,
        "- {name: a, type: Sigmoid}",
        "- {name: b, type: Tanh, input: x}",
        "- {name: out, type: Pow2, input: [a, b]}",
    ),
    "AddN": _spec(
        VECTOR,
        "- {name: a, type: Tanh}",
        "- {name: b, type: Sigmoid, input: x}",
        "- {name: out, type: AddN, input: [a, b, x]}",
    ),
    **{
        op: _spec(VECTOR, f"- {{name: out, type: {op}, value: 1.7}}")
        for op in ("AddScalar", "MulScalar", "RSubScalar", "RDivScalar", "RPowScalar", "MaximumScalar", "MinimumScalar")
    },
    "PowScalar": _spec(VECTOR, "- {name: a, type: Sigmoid}", "- {name: out, type: PowScalar, value: 1.7}"),
    "Affine": _spec(IMAGE, "- {name: out, type: Affine, out_shape: [4, 5], b: {initializer: Uniform}}"),
    "Convolution": _spec(
        IMAGE,
        "- {name: out, type: Convolution, out_maps: 6, kernel_shape: [3, 2], group: 3,"
        " dilation: [2, 1], padding: [1, 2], strides: [2, 1], b: {initializer: Uniform}}",
    ),
    "DepthwiseConvolution": _spec(
        IMAGE,
        "- {name: out, type: DepthwiseConvolution, kernel_shape: [3, 3],"
        " multiplier: 2, padding: [1, 0], strides: [1, 2], b: {initializer: Uniform}}",
    ),
    "Deconvolution": _spec(
        IMAGE,
        "- {name: out, type: Deconvolution, out_maps: 6, kernel_shape: [3, 2], group: 3,"
        " dilation: [1, 2], padding: [1, 0], strides: [2, 1], b: {initializer: Uniform}}",
    ),
    "MaxPooling": _spec(
        IMAGE,
        "- {name: out, type: MaxPooling, kernel_shape: [3, 2], strides: [2, 3], ignore_border: false, padding: [1, 1]}",
    ),
    "AveragePooling": _spec(
        IMAGE,
        "- {name: out, type: AveragePooling, kernel_shape: [3, 2], strides: [2, 3],"
        " padding: [1, 1], including_pad: false}",
    ),
    "SumPooling": _spec(
        IMAGE, "- {name: out, type: SumPooling, kernel_shape: [3, 3], strides: [2, 2], padding: [1, 0]}"
    ),
    "GlobalAveragePooling": _spec(IMAGE, "- {name: out, type: GlobalAveragePooling}"),
    "BatchNormalization": _spec(
        IMAGE,
        "- {name: out, type: BatchNormalization, epsilon: 0.01,"
        " mean: {initializer: Uniform}, var: {initializer: Constant, multiplier: 2},"
        " gamma: {initializer: Uniform}, beta: {initializer: Uniform}}",
    ),
    "MeanSubtraction": _spec(IMAGE, "- {name: out, type: MeanSubtraction, mean: {initializer: Uniform}}"),
    "Reshape": _spec(IMAGE, "- {name: out, type: Reshape, out_shape: [10, 27]}"),
    "Flatten": _spec(IMAGE, "- {name: out, type: Flatten}"),
    "Concatenate": _spec(IMAGE, "- {name: a, type: Tanh}", "- {name: out, type: Concatenate, axis: 2, input: [a, x]}"),
    "Transpose": _spec(IMAGE, "- {name: out, type: Transpose, axes: [2, 0, 1]}"),
    "Slice": _spec(IMAGE, "- {name: out, type: Slice, start: [1, 2], stop: [8, 20], step: [2, 3]}"),
    **{
        op: _spec(IMAGE, f"- {{name: out, type: {op}, axes: [0, 2], keep_dims: true}}")
        for op in ("Sum", "Mean", "Max", "Min", "Prod")
    },
    "SquaredError": _spec(VECTOR, "- {name: out, type: SquaredError, T: {dataset: y}}"),
    "AbsoluteError": _spec(VECTOR, "- {name: out, type: AbsoluteError, T: {dataset: y}}"),
    "CategoricalCrossEntropy": _spec(
        "- {name: x, type: Input, size: [3, 4]}",
        "- {name: p, type: Softmax, axis: 0}",
        "- {name: out, type: CategoricalCrossEntropy, axis: 0, T: {dataset: y}}",
    ),
    "SoftmaxCrossEntropy": _spec(
        "- {name: x, type: Input, size: [3, 4]}", "- {name: out, type: SoftmaxCrossEntropy, axis: 1, T: {dataset: y}}"
    ),
    "TopNError": _spec(
        "- {name: x, type: Input, size: [5, 4]}", "- {name: out, type: TopNError, axis: 0, n: 2, T: {dataset: y}}"
    ),
    "BinaryCrossEntropy": _spec(
        VECTOR, "- {name: p, type: Sigmoid}", "- {name: out, type: BinaryCrossEntropy, T: {dataset: y}}"
    ),
    "SigmoidCrossEntropy": _spec(VECTOR, "- {name: out, type: SigmoidCrossEntropy, T: {dataset: y}}"),
    **{
        op: _spec(
            VECTOR,
            "- {name: a, type: Round}",
            "- {name: b, type: Round, input: x, }",
            "- {name: c, type: MulScalar, input: b, value: -1}",
            f"- {{name: out, type: {op}, input: [a, c]}}",
        )
        for op in (
            "Equal",
            "NotEqual",
            "Greater",
            "GreaterEqual",
            "Less",
            "LessEqual",
            "LogicalAnd",
            "LogicalOr",
            "LogicalXor",
        )
    },
    **{
        op: _spec(VECTOR, "- {name: a, type: Round}", f"- {{name: out, type: {op}, value: 1.0}}")
        for op in (
            "EqualScalar",
            "NotEqualScalar",
            "GreaterScalar",
            "GreaterEqualScalar",
            "LessScalar",
            "LessEqualScalar",
            "LogicalAndScalar",
            "LogicalOrScalar",
            "LogicalXorScalar",
        )
    },
    "LogicalNot": _spec(VECTOR, "- {name: a, type: Round}", "- {name: out, type: LogicalNot}"),
    "IsNaN": _spec(VECTOR, "- {name: a, type: Log}", "- {name: out, type: IsNaN}"),
    "IsInf": _spec(
        VECTOR, "- {name: a, type: Round}", "- {name: b, type: RDivScalar, value: 1}", "- {name: out, type: IsInf}"
    ),
    "Round": _spec(
        VECTOR,
        "- {name: a, type: MulScalar, value: 2}",
        "- {name: b, type: Round}",
        "- {name: c, type: MulScalar, value: 0.5}",
        "- {name: out, type: Round}",
    ),
    "Stack": _spec(IMAGE, "- {name: a, type: Tanh}", "- {name: out, type: Stack, axis: 2, input: [a, x]}"),
    "BatchMatmul": _spec(
        "- {name: x, type: Input, size: [2, 3, 4]}",
        "- {name: t, type: Transpose, axes: [0, 2, 1]}",
        "- {name: out, type: BatchMatmul, input: [x, t]}",
    ),
    "Flip": _spec(IMAGE, "- {name: out, type: Flip, axes: [0, 2]}"),
    "Broadcast": _spec(
        "- {name: x, type: Input, size: [3, 1, 5, 1]}", "- {name: out, type: Broadcast, out_shape: [3, 4, 5, 2]}"
    ),
    "Tile": _spec(IMAGE, "- {name: out, type: Tile, reps: [2, 1, 1, 3]}"),
    "Pad": _spec(IMAGE, "- {name: out, type: Pad, pad_width: [1, 2, 0, 3], mode: reflect}"),
    "ClipByValue": _spec(
        VECTOR,
        "- {name: low, type: MulScalar, value: 0, input: x}",
        "- {name: high, type: AddScalar, value: 0.5, input: low}",
        "- {name: out, type: ClipByValue, input: x, min: {input: low}, Max: {input: high}}",
    ),
    "Dropout": _spec(VECTOR, "- {name: d, type: Dropout, p: 0.3}", "- {name: out, type: Tanh}"),
    "LayerNormalization": _spec(
        IMAGE,
        "- {name: out, type: LayerNormalization, epsilon: 0.01,"
        " gamma: {initializer: Uniform}, beta: {initializer: Uniform}}",
    ),
    "InstanceNormalization": _spec(
        IMAGE,
        "- {name: out, type: InstanceNormalization, channel_axis: 1,"
        " epsilon: 0.01, gamma: {initializer: Uniform}, beta: {initializer: Uniform}}",
    ),
    "GroupNormalization": _spec(
        "- {name: x, type: Input, size: [6, 4, 5]}",
        "- {name: out, type: GroupNormalization, num_groups: 3, epsilon: 0.01,"
        " gamma: {initializer: Uniform}, beta: {initializer: Uniform}}",
    ),
    "MulN": _spec(
        VECTOR,
        "- {name: a, type: Tanh}",
        "- {name: b, type: Sigmoid, input: x}",
        "- {name: out, type: MulN, input: [a, b, x]}",
    ),
    "Unlink": _spec(VECTOR, "- {name: out, type: Unlink}"),
    "HuberLoss": _spec(VECTOR, "- {name: out, type: HuberLoss, delta: 0.8, T: {dataset: y}}"),
    "EpsilonInsensitiveLoss": _spec(
        VECTOR, "- {name: out, type: EpsilonInsensitiveLoss, epsilon: 0.5, T: {dataset: y}}"
    ),
    "BinaryError": _spec(VECTOR, "- {name: out, type: BinaryError, T: {dataset: y}}"),
    "BinarySigmoid": _spec(VECTOR, "- {name: a, type: Round}", "- {name: out, type: BinarySigmoid}"),
    "BinaryTanh": _spec(VECTOR, "- {name: a, type: Round}", "- {name: out, type: BinaryTanh}"),
    "CumSum": _spec(IMAGE, "- {name: out, type: CumSum, axis: 1, exclusive: true, reverse: true}"),
    "Sinc": _spec(VECTOR, "- {name: a, type: Round}", "- {name: out, type: Sinc}"),
    "ResetNaN": _spec(VECTOR, "- {name: a, type: Log}", "- {name: out, type: ResetNaN}"),
    "ResetInf": _spec(
        VECTOR, "- {name: a, type: Round}", "- {name: b, type: RDivScalar, value: 1}", "- {name: out, type: ResetInf}"
    ),
    "Embed": _spec(
        "- {name: x, type: Input, size: [4]}",
        "- {name: a, type: Abs}",
        "- {name: out, type: Embed, num_class: 6, shape: [2, 3]}",
    ),
    "Interpolate": _spec(IMAGE, "- {name: out, type: Interpolate, output_size: [5, 17], align_corners: false}"),
    "OneHot": _spec(
        "- {name: x, type: Input, size: [4, 2]}",
        "- {name: a, type: Abs}",
        "- {name: b, type: Floor}",
        "- {name: c, type: MinimumScalar, value: 2}",
        "- {name: out, type: OneHot, shape: [3, 4]}",
    ),
    "DepthwiseDeconvolution": _spec(
        "- {name: x, type: Input, size: [6, 5, 7]}",
        "- {name: out, type: DepthwiseDeconvolution, kernel_shape: [3, 2], divisor: 3, strides: [2, 1],"
        " dilation: [1, 2], padding: [1, 0], b: {initializer: Uniform}}",
    ),
    "MatrixDiag": _spec(IMAGE, "- {name: out, type: MatrixDiag}"),
    "MatrixDiagPart": _spec("- {name: x, type: Input, size: [2, 4, 4]}", "- {name: out, type: MatrixDiagPart}"),
    "ClipByNorm": _spec(IMAGE, "- {name: out, type: ClipByNorm, clip_norm: 3, axis: [0, 2]}"),
    "KLMultinomial": _spec(
        IMAGE,
        "- {name: p, type: Softmax, axis: 2}",
        "- {name: q, type: Sigmoid, input: x}",
        "- {name: out, type: KLMultinomial, base_axis: 1, input: p, q: {input: q}}",
    ),
    "Sort": _spec(IMAGE, "- {name: out, type: Sort, axis: 1, reverse: true}"),
    **{
        op: _spec(  # a recurrent loop over axis 1, its Delay starting from 0.5 everywhere
            IMAGE,
            "- {name: r, type: RecurrentInput, axis: 1}",
            "- {name: d, type: Delay, size: [3, 10], input: t,"
            " Initial: {generator: Constant, generator_multiplier: 0.5}}",
            "- {name: c, type: Concatenate, input: [r, d], axis: 1}",
            "- {name: a, type: Affine, out_shape: [3, 10]}",
            "- {name: t, type: Tanh}",
            "- {name: out, type: RecurrentOutput, axis: 2}",
        )
        for op in ("RecurrentInput", "Delay", "RecurrentOutput")
    },
    "Unpooling": _spec(IMAGE, "- {name: out, type: Unpooling, kernel_shape: [3, 2]}"),
    "Norm": _spec(IMAGE, "- {name: out, type: Norm, p: 3, axes: [0, 2], keep_dims: true}"),
    "FusedBatchNormalization": _spec(
        IMAGE,
        "- {name: out, type: FusedBatchNormalization, epsilon: 0.01, mean: {initializer: Uniform},"
        " var: {initializer: Constant, multiplier: 2}, gamma: {initializer: Uniform}, beta: {initializer: Uniform}}",
    ),
    "ATan2": _spec(
        IMAGE,
        "- {name: a, type: Tanh}",
        "- {name: r, type: Round, input: x}",
        "- {name: out, type: ATan2, input: [r, a]}",
    ),
    "BroadcastTo": _spec(
        IMAGE,
        "- {name: s, type: Sum, axes: [2], input: x}",
        "- {name: out, type: BroadcastTo, input: [x, s]}",
    ),
    "CumProd": _spec(
        IMAGE, "- {name: r, type: Round}", "- {name: out, type: CumProd, axis: 2, exclusive: true, reverse: true}"
    ),
    "Shift": _spec(IMAGE, "- {name: out, type: Shift, shift: [2, -3], border_mode: reflect}"),
    "TopKData": _spec(IMAGE, "- {name: out, type: TopKData, k: 7, abs: true, reduce: false, base_axis: 1}"),
    "TopKGrad": _spec(IMAGE, "- {name: out, type: TopKGrad, k: 3, abs: true, base_axis: 1}"),
    "BatchDet": _spec("- {name: x, type: Input, size: [4, 4]}", "- {name: out, type: BatchDet}"),
    "BatchInv": _spec("- {name: x, type: Input, size: [5, 5]}", "- {name: out, type: BatchInv}"),
    "BatchLogdet": _spec("- {name: x, type: Input, size: [3, 3]}", "- {name: out, type: BatchLogdet}"),
    "FFT": _spec(
        "- {name: x, type: Input, size: [3, 6, 5, 2]}", "- {name: out, type: FFT, signal_ndim: 2, normalized: true}"
    ),
    "IFFT": _spec("- {name: x, type: Input, size: [3, 8, 2]}", "- {name: out, type: IFFT, signal_ndim: 1}"),
    "Prune": _spec(IMAGE, "- {name: out, type: Prune, rate: 0.3}"),
    "AdaptiveSeparableConvolution": _spec(
        IMAGE,
        "- {name: out, type: AdaptiveSeparableConvolution, kernel_shape: [3, 2], V: {dataset: v}, H: {dataset: h}}",
    ),
    "FixedPointQuantize": _spec(VECTOR, "- {name: out, type: FixedPointQuantize, sign: false, n: 4, delta: 0.25}"),
    "Pow2Quantize": _spec(VECTOR, "- {name: out, type: Pow2Quantize, sign: true, with_zero: true, n: 5, m: 2}"),
    "MinMaxQuantize": _spec(
        VECTOR,
        "- {name: out, type: MinMaxQuantize, epsilon: 0.5, r: {initializer: Constant, multiplier: -1.3},"
        " R: {initializer: Constant, multiplier: 2.2}, L: {initializer: Constant, multiplier: 15}}",
    ),
    "BinaryConnectAffine": _spec(
        IMAGE, "- {name: out, type: BinaryConnectAffine, out_shape: [2, 5], b: {initializer: Uniform}}"
    ),
    "BinaryWeightAffine": _spec(IMAGE, "- {name: out, type: BinaryWeightAffine, out_shape: [7]}"),
    "BinaryConnectConvolution": _spec(
        IMAGE,
        "- {name: out, type: BinaryConnectConvolution, out_maps: 4, kernel_shape: [3, 2], padding: [1, 0],"
        " strides: [2, 1], dilation: [1, 2], b: {initializer: Uniform}}",
    ),
    "BinaryWeightConvolution": _spec(
        IMAGE,
        "- {name: out, type: BinaryWeightConvolution, out_maps: 6, kernel_shape: [2, 3], group: 3, border_mode: same}",
    ),
    "WeightStandardization": _spec(IMAGE, "- {name: out, type: WeightStandardization, channel_axis: 1, epsilon: 0.01}"),
    "WeightNormalization": _spec(
        IMAGE, "- {name: out, type: WeightNormalization, dim: 2, epsilon: 0.01, g: {initializer: Uniform}}"
    ),
    "NormNormalization": _spec(IMAGE, "- {name: out, type: NormNormalization, p: 3, axes: [0, 2], epsilon: 0.5}"),
    "SpectralNorm": _spec(
        IMAGE, "- {name: out, type: SpectralNorm, dim: 1, itr: 2, epsilon: 0.001, u: {initializer: Uniform}}"
    ),
    "VATNoise": _spec(IMAGE, "- {name: out, type: VATNoise, base_axis: 1, epsilon: 2.5, Buf: {dataset: buf}}"),
    "Parameter": _spec(
        VECTOR,
        "- {name: p, type: Parameter, size: [12], value: {initializer: Uniform}}",
        "- {name: out, type: Add2, input: [x, p]}",
    ),
    "WorkingMemory": _spec(
        VECTOR,
        "- {name: m, type: WorkingMemory, size: [3, 4], value: {initializer: Uniform}}",
        "- {name: w, type: WorkingMemory, size: [12], input: x}",
        "- {name: r, type: Reshape, out_shape: [3, 4], input: w}",
        "- {name: out, type: Mul2, input: [r, m]}",
    ),
    **{
        op: _spec(IMAGE, f"- {{name: a, type: {op}, skip_at_test: false}}", "- {name: out, type: Tanh}")
        for op in ("RandomFlip", "RandomShift", "RandomErase")
    },
    "RandomCrop": _spec(IMAGE, "- {name: a, type: RandomCrop}", "- {name: out, type: Tanh}"),
    "DeformableConvolution": _spec(
        "- {name: x, type: Input, size: [4, 7, 8]}",
        "- {name: o, type: Input, size: [24, 7, 8]}",
        "- {name: m, type: Sigmoid, input: o}",
        "- {name: k, type: Slice, input: m, start: [0, 0, 0], stop: [12, 7, 8]}",
        "- {name: out, type: DeformableConvolution, input: x, out_maps: 6, kernel_shape: [3, 2], padding: [1, 0],"
        " strides: [2, 1], dilation: [1, 2], group: 2, deformable_group: 2, b: {initializer: Uniform},"
        " Offset: {input: o}, Mask: {input: k}}",
    ),
    "NmsDetection2d": _spec(
        "- {name: x, type: Input, size: [12, 8]}",
        "- {name: out, type: NmsDetection2d, thresh: 0.3, nms: 0.2, nms_per_class: true}",
    ),
    "ImageAugmentation": _spec(
        IMAGE,
        "- {name: out, type: ImageAugmentation, skip_at_test: false, shape: [3, 7, 8], pad: [1, 2],"
        " min_scale: 0.8, max_scale: 1.5, angle: 0.3, aspect_ratio: 1.3, distortion: 0.2, brightness: 0.4,"
        " contrast: 1.7, contrast_center: 0.3, flip_lr: true}",
    ),
    "Output": _spec(VECTOR, "- {name: t, type: Tanh}", "- {name: out, type: Output, variable_name: z}"),
    "ClipGradByValue": _spec(
        VECTOR,
        "- {name: low, type: MulScalar, value: 0}",
        "- {name: out, type: ClipGradByValue, input: x, min: {input: low}, Max: {input: low}}",
    ),
    "ClipGradByNorm": _spec(VECTOR, "- {name: out, type: ClipGradByNorm, clip_norm: 2}"),
}

# The layer types nnspec writes as the layers they stand for: units and repeats are written out before
# the graph is built (specs/squeezenet_fire.yaml and specs/repeat_residual.yaml, converted below), and an
# LSTM as NNC's LSTM unit, unrolled over its steps (its case here).
EXPANDED = {
    "LSTM": _spec(
        "- {name: x, type: Input, size: [4, 3]}",
        "- {name: out, type: LSTM, size: [5], axis: 0, parameter_scope: unit,"
        " H: {generator: Constant, generator_multiplier: 0.25}}",
    ),
}
EXPANDED_ELSEWHERE = ["RepeatEnd", "RepeatStart", "Unit"]

# Every layer type nnspec does not write to ONNX (Input is the graph's inputs): listed, so that it
# changes only on purpose; each has its reason in the writer's REFUSED.
REFUSED: list[str] = []


# Targets that are class indices: whole numbers from -2 (negative: a position to ignore) to the last class.
LABELS = {"CategoricalCrossEntropy": -2, "SoftmaxCrossEntropy": -2, "TopNError": 0}


def _feed(spec, reader, rng: np.random.Generator, samples: int) -> np.ndarray:
    shape = (samples, *reader.sample_shape)
    lowest = LABELS.get(reader.layer.type.name) if reader.target else None
    if lowest is None:
        return rng.normal(0, 1.5, shape).astype(np.float32)
    scores = spec.layers[reader.layer.inputs[0]].inferred_shape
    return rng.integers(lowest, scores[reader.layer.props["axis"]], shape).astype(np.float32)


def _roundtrip(text: str, tmp_path: Path, samples: int = 5) -> None:
    """nnspec's outputs for random data, and onnxruntime's for the same data and parameters."""
    spec = nnspec.loads(text)
    rng = np.random.default_rng(0)
    feeds = {reader.variable: _feed(spec, reader, rng, samples) for reader in _readers(spec)}
    result = nnspec.run(spec, feeds)
    model = write_onnx(result.spec, result.layer_parameters)
    path = tmp_path / "model.onnx"
    path.write_bytes(model)
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    assert names == list(result.spec.outputs)
    got = session.run(None, {item.name: feeds[item.name] for item in session.get_inputs()})
    for name, value in zip(names, got):
        expected = np.asarray(result.outputs[name], dtype=np.float32)
        assert value.shape == expected.shape, name
        np.testing.assert_allclose(value, expected, rtol=TOLERANCE, atol=TOLERANCE, err_msg=name)


def _readers(spec):
    """The data variables a run is given values for: not a generated target (the model makes it too)."""
    from nnspec.spec.model import data_readers

    return [reader for reader in data_readers(spec.layers) if not (reader.target and reader.generator != "None")]


@pytest.mark.parametrize("layer_type", sorted(CASES))
def test_layer_type_runs_in_onnxruntime_as_in_nnspec(layer_type: str, tmp_path: Path) -> None:
    assert f"type: {layer_type}" in CASES[layer_type]
    _roundtrip(CASES[layer_type], tmp_path)


@pytest.mark.parametrize("layer_type", sorted(EXPANDED))
def test_a_layer_written_as_its_expansion_runs_in_onnxruntime_as_in_nnspec(layer_type: str, tmp_path: Path) -> None:
    _roundtrip(EXPANDED[layer_type], tmp_path)


def test_every_written_type_has_a_case_and_the_refused_list_is_counted() -> None:
    assert sorted(CASES) == sorted(OPS)
    expanded = sorted([*EXPANDED, *EXPANDED_ELSEWHERE])
    assert sorted(set(layer_types()) - set(OPS) - {"Input"} - set(expanded)) == REFUSED == sorted(WRITER_REFUSED)
    assert (len(OPS) + len(expanded), len(REFUSED), len(layer_types())) == (182, 0, 183)


def test_the_table_is_the_families_tables_each_type_in_one() -> None:
    from types import SimpleNamespace

    from nnspec.spec.onnx_writer.ops import FAMILIES, assembled

    assert sum(len(family.OPS) for family in FAMILIES) == len(OPS)  # no type in two families
    assert all(OPS[name] is op for family in FAMILIES for name, op in family.OPS.items())
    first, second = SimpleNamespace(OPS={"ReLU": OPS["ReLU"]}), SimpleNamespace(OPS={"ReLU": OPS["Tanh"]})
    second.__name__ = "second"
    with pytest.raises(ValueError, match="ReLU is in two op families' tables .*second"):
        assembled((first, second))


def test_the_batch_is_symbolic_and_the_opset_declared(tmp_path: Path) -> None:
    spec = nnspec.loads(CASES["Convolution"])
    result = nnspec.run(spec, {"x": np.zeros((1, 3, 9, 10), np.float32)})
    model = onnx.load_from_string(write_onnx(result.spec, result.layer_parameters))
    assert [op.version for op in model.opset_import] == [OPSET]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        (out,) = session.run(None, {"x": np.ones((batch, 3, 9, 10), np.float32)})
        assert out.shape[0] == batch


def test_every_layer_onnx_cannot_hold_is_named_at_once() -> None:
    spec = nnspec.loads(
        _spec(
            IMAGE,
            "- {name: c, type: Convolution}",
            "- {name: f, type: ATan2, input: [x, x]}",
            "- {name: s, type: SquaredError, input: x, T: {generator: Normal}}",
            "- {name: p, type: Dropout, input: x, skip_at_test: false}",
        )
    )
    with pytest.raises(UsageError) as raised:
        refuse_unwritable(spec)
    message = str(raised.value)
    assert "'s' (SquaredError): its T is generated (Normal): a graph input cannot draw values" in message
    assert "'p' (Dropout): applied in this view" in message
    assert "'c'" not in message and "'f'" not in message


EXAMPLES = sorted((ROOT / "specs").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_specs_convert_and_run_alike(path: Path, tmp_path: Path) -> None:
    """convert writes the model; onnxruntime runs it on the spec's data to nnspec's outputs."""
    output = tmp_path / "model.onnx"
    params = tmp_path / "params.npz"
    code = main(["convert", str(path), "-o", str(output)])
    assert code == 0
    onnx.checker.check_model(str(output), full_check=True)
    spec = nnspec.load(path)
    rng = np.random.default_rng(1)
    feeds = {
        reader.variable: rng.uniform(-1, 1, (6, *reader.sample_shape)).astype(np.float32) for reader in _readers(spec)
    }
    result = nnspec.run(spec, feeds)
    np.savez(params, **result.parameters)
    assert main(["convert", str(path), "-o", str(output), "--force", "--params", str(params)]) == 0
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    got = session.run(None, {item.name: feeds[item.name] for item in session.get_inputs()})
    assert [item.name for item in session.get_outputs()] == list(result.spec.outputs)
    for item, value in zip(session.get_outputs(), got):
        expected = result.outputs[item.name]
        # The absolute part scales with the output: exploding_stack's reach 2e19, and float32 rounding in
        # another summation order leaves 1.2e-6 of that (nnspec's float32 is as far from its float64).
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(value, expected, rtol=TOLERANCE, atol=TOLERANCE * scale, err_msg=item.name)


def test_without_the_onnx_extra_convert_says_how_to_install_it(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    output = tmp_path / "model.onnx"
    assert main(["convert", str(ROOT / "specs" / "lenet.yaml"), "-o", str(output)]) == 2
    assert "pip install onnx onnxruntime" in capsys.readouterr().err
    assert not output.exists()


def test_convert_refuses_what_onnx_cannot_hold_naming_every_layer(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(
        _spec(
            IMAGE,
            "- {name: c, type: Convolution}",
            "- {name: s, type: RandomCrop, shape: [5, 5]}",
            "- {name: p, type: Dropout, skip_at_test: false, input: x}",
        )
    )
    assert main(["convert", str(spec), "-o", str(tmp_path / "model.onnx")]) == 2
    err = capsys.readouterr().err
    assert "'s' (RandomCrop): it crops at a position drawn per sample" in err
    assert "'p' (Dropout): applied in this view" in err
    assert "Traceback" not in err and not (tmp_path / "model.onnx").exists()


def test_upgrade_refuses_to_write_a_network_format(tmp_path: Path, capsys) -> None:
    for suffix in (".onnx", ".nntxt"):
        output = tmp_path / f"out{suffix}"
        assert main(["upgrade", str(ROOT / "specs" / "lenet.yaml"), "-o", str(output)]) == 2
        assert "nnspec convert writes them" in capsys.readouterr().err
        assert not output.exists()


def test_convert_to_onnx_refuses_the_nnp_only_option_and_writes_the_view_asked_for(tmp_path: Path, capsys) -> None:
    output = tmp_path / "model.onnx"
    spec = str(ROOT / "specs" / "digits.yaml")
    assert main(["convert", spec, "-o", str(output), "--parameter-format", "h5"]) == 2
    assert "--parameter-format is for an .nnp" in capsys.readouterr().err
    assert main(["convert", spec, "-o", str(output), "--view", "runtime"]) == 0
    assert "drawn from the spec's initializers (seed 0)" in capsys.readouterr().err
    model = onnx.load(str(output))
    assert [item.name for item in model.graph.input] == ["x"]  # the runtime view reads no target
    assert [item.name for item in model.graph.output] == ["probs"]


@pytest.mark.parametrize(
    "pooling",
    [
        "MaxPooling, kernel_shape: [3, 3], strides: [2, 2], ignore_border: false, padding: [0, 1]",
        "MaxPooling, kernel_shape: [2, 3], strides: [3, 2], ignore_border: false",
        "MaxPooling, kernel_shape: [3, 2], strides: [2, 2], padding: [1, 1]",
        "AveragePooling, kernel_shape: [3, 3], strides: [2, 2], padding: [1, 1], including_pad: true",
        "AveragePooling, kernel_shape: [2, 3], strides: [1, 2], padding: [1, 0], including_pad: false",
        "SumPooling, kernel_shape: [3, 2], strides: [2, 3], padding: [1, 1]",
        "SumPooling, kernel_shape: [3, 2], strides: [2, 3], padding: [1, 0], ignore_border: false",
        "AveragePooling, kernel_shape: [3, 3], strides: [2, 2], padding: [1, 0], ignore_border: false",
        "AveragePooling, kernel_shape: [2, 3], strides: [3, 2], padding: [0, 1], ignore_border: false,"
        " including_pad: false",
        "AveragePooling, kernel_shape: [4, 4], strides: [3, 3], ignore_border: false",
    ],
)
def test_pooling_geometries(pooling: str, tmp_path: Path) -> None:
    """Windows cut at the border, padding on one axis, strides past the kernel: as nnspec counts them."""
    _roundtrip(_spec(IMAGE, f"- {{name: out, type: {pooling}}}"), tmp_path)


def test_docs_onnx_lists_every_type_written_and_refused() -> None:
    text = (ROOT / "docs" / "onnx.md").read_text(encoding="utf-8")
    written = text[text.index("### The layer types written") : text.index("Where nnabla and ONNX differ")]
    assert re.findall(r"^\| (\w+) \| [^|]+ \|$", written, re.M) == sorted(OPS, key=str)
    assert f"All {len(layer_types()) - 1} of nnspec's layer types but Input are written: the {len(OPS)} in" in text
    assert REFUSED == [] and "No layer type is refused as a whole" in text


def test_an_nnp_converts_with_its_own_parameters(tmp_path: Path, capsys) -> None:
    """nnabla's archive -> ONNX: the parameters inside it become the initializers (no note of drawing)."""
    archive, output = tmp_path / "lenet.nnp", tmp_path / "lenet.onnx"
    assert (
        main(["convert", str(ROOT / "specs" / "lenet.yaml"), "-o", str(archive), "--parameter-format", "protobuf"]) == 0
    )
    capsys.readouterr()
    assert main(["convert", str(archive), "-o", str(output)]) == 0
    assert "drawn from the spec's initializers" not in capsys.readouterr().err
    x = np.random.default_rng(2).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32)
    expected = nnspec.run(archive, {"x": x}).outputs["probs"]
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x})
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)


def _onnxruntime_outputs(text: str, feeds: dict[str, np.ndarray], tmp_path: Path) -> tuple[dict, dict]:
    """(onnxruntime's outputs, nnspec's) for the spec on these feeds, the model checked in full first."""
    result = nnspec.run(nnspec.loads(text), feeds)
    path = tmp_path / "model.onnx"
    path.write_bytes(write_onnx(result.spec, result.layer_parameters))
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {item.name: feeds[item.name] for item in session.get_inputs()})
    return dict(zip(result.spec.outputs, got)), dict(result.outputs)


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.0, np.inf, -np.inf, np.nan, 1e-30, -3e38], np.float32)


def test_atan2_gives_cs_limits_at_signed_zeros_and_infinities(tmp_path: Path) -> None:
    """Every pair of special values against numpy's arctan2 (C's atan2, nnabla's): +-0, +-inf, NaN."""
    y, x = (values.reshape(1, -1).astype(np.float32) for values in np.meshgrid(SPECIAL, SPECIAL))
    text = _spec(
        f"- {{name: y, type: Input, size: [{y.size}]}}",
        f"- {{name: x, type: Input, size: [{x.size}]}}",
        "- {name: out, type: ATan2, input: [y, x]}",
    )
    got, _ = _onnxruntime_outputs(text, {"y": y, "x": x}, tmp_path)
    expected = np.arctan2(y, x)
    np.testing.assert_allclose(got["out"], expected, rtol=1e-6, atol=0)
    zeros = expected == 0
    assert np.array_equal(np.signbit(got["out"][zeros]), np.signbit(expected[zeros]))


def test_quantizers_round_as_nnspec_at_their_boundaries(tmp_path: Path) -> None:
    """Values on and one float32 step either side of each rounding boundary, and the special values:
    onnxruntime's outputs equal nnspec's, bit for bit."""
    delta = np.float32(0.25)
    halves = (np.arange(-40, 40, dtype=np.float32) + np.float32(0.5)) * delta  # FixedPoint's boundaries
    powers = np.float32(2.0) ** np.arange(-30, 4, dtype=np.float32) * np.float32(np.sqrt(2))  # Pow2's
    edges = np.concatenate([halves, powers, -powers, SPECIAL, [np.float32(0.49999997) * delta]])
    values = np.concatenate([edges, np.nextafter(edges, np.float32(np.inf)), np.nextafter(edges, -np.float32(np.inf))])
    values = values.astype(np.float32).reshape(1, -1)
    layers = [
        "FixedPointQuantize, sign: true, n: 6, delta: 0.25",
        "FixedPointQuantize, sign: false, n: 3, delta: 0.25",
        "Pow2Quantize, sign: true, with_zero: true, n: 6, m: 2",
        "Pow2Quantize, sign: false, with_zero: false, n: 4, m: 0",
        "Pow2Quantize, sign: false, with_zero: true, n: 3, m: 1",
        "MinMaxQuantize, r: {initializer: Constant, multiplier: -0.7}, R: {initializer: Constant, multiplier: 1.9}",
        "Round",
    ]
    for layer in layers:
        text = _spec(f"- {{name: x, type: Input, size: [{values.size}]}}", f"- {{name: out, type: {layer}}}")
        got, expected = _onnxruntime_outputs(text, {"x": values}, tmp_path)
        np.testing.assert_array_equal(got["out"], expected["out"], err_msg=layer)


def test_pow2_quantize_levels_are_powers_of_two_by_hand() -> None:
    """The table the writer looks Pow2Quantize up in, checked by its formula, not by nnspec: n 5 with sign
    and zero leaves n' = 3 bits, levels 2^(m - (2^n' - 1)) .. 2^m = 2^-5 .. 2^2 and 0; a level's step at
    the geometric mean of two levels (2^(k + 1/2)), 0 below 2^-5 / sqrt(2)."""
    from nnspec.spec.onnx_writer.quantizers import _pow2_levels

    thresholds, levels = _pow2_levels({"sign": True, "with_zero": True, "n": 5, "m": 2})
    assert levels.tolist() == [0.0, *(2.0**k for k in range(-5, 3))]
    # within two float32 steps: numpy's float32 log2 rounds near the boundary
    np.testing.assert_allclose(thresholds, [2.0 ** (k + 0.5) for k in range(-6, 2)], rtol=2.5e-7)


def test_cumprod_keeps_zeros_and_overflow_as_nnspec(tmp_path: Path) -> None:
    """A zero after an overflow to inf gives 0 (not inf * 0 = NaN); checked against numpy by hand."""
    x = np.array([[[3e30, 3e30, 0.0, 2.0, -1.5], [1.0, np.nan, 0.0, 4.0, 2.0]]], np.float32)
    text = _spec("- {name: x, type: Input, size: [2, 5]}", "- {name: out, type: CumProd, axis: 1}")
    got, _ = _onnxruntime_outputs(text, {"x": x}, tmp_path)
    expected = np.array([[[3e30, np.inf, 0, 0, 0], [1, np.nan, 0, 0, 0]]], np.float32)
    np.testing.assert_array_equal(got["out"], expected)


def test_fft_matches_numpy_by_hand(tmp_path: Path) -> None:
    """FFT over 2 axes, normalized, against numpy's fftn on the complex values (an independent reference)."""
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 6, 2)).astype(np.float32)
    text = _spec("- {name: x, type: Input, size: [3, 4, 6, 2]}", "- {name: out, type: FFT, normalized: true}")
    got, _ = _onnxruntime_outputs(text, {"x": x}, tmp_path)
    spectrum = np.fft.fftn(x[..., 0] + 1j * x[..., 1], axes=(2, 3)) / np.sqrt(24)
    np.testing.assert_allclose(got["out"], np.stack([spectrum.real, spectrum.imag], -1), rtol=1e-5, atol=1e-5)


def test_unwritable_reason_per_layer_and_view() -> None:
    """What another engine asks before running a layer in onnxruntime: None where the writer writes it."""
    spec = nnspec.loads(
        _spec(
            IMAGE,
            "- {name: f, type: RandomFlip, skip_at_test: false}",
            "- {name: c, type: RandomCrop, shape: [5, 5], input: x}",
            "- {name: a, type: ImageAugmentation, input: x}",
        )
    )
    from nnspec.spec.views import as_view

    evaluation, training = as_view(spec, "validation"), as_view(spec, "training")
    assert unwritable_reason(evaluation.layers["x"]) is None
    assert unwritable_reason(evaluation.layers["f"]) is None  # its random parts are off: the identity
    assert "drawn in the training view" in unwritable_reason(training.layers["f"], training=True)
    assert "crops at a position drawn per sample" in unwritable_reason(evaluation.layers["c"])
    assert unwritable_reason(evaluation.layers["a"]) is None  # skipped at evaluation (skip_at_test)
    assert "drawn in the training view" in unwritable_reason(training.layers["a"], training=True)
    with pytest.raises(UsageError, match="'f' \\(RandomFlip\\): its random parts are drawn"):
        refuse_unwritable(training)


@pytest.mark.parametrize(
    "augmentation",
    [
        "shape: [6, 12], angle: 0.5, min_scale: 1.2, max_scale: 1.2",  # no distortion: coordinates accumulated
        "shape: [3, 5, 4], pad: [2, 0], flip_ud: true, contrast: 2.0, brightness_each: true",
        "pad: [0, 3], aspect_ratio: 0.6, distortion: 0.5",
    ],
)
def test_image_augmentation_at_evaluation(augmentation: str, tmp_path: Path) -> None:
    """The fixed scale, padding and centre crop of every geometry, on (C, H, W) and (H, W) images."""
    size = "[9, 10]" if "[6, 12]" in augmentation else "[3, 9, 10]"
    _roundtrip(
        _spec(
            f"- {{name: x, type: Input, size: {size}}}",
            f"- {{name: out, type: ImageAugmentation, skip_at_test: false, {augmentation}}}",
        ),
        tmp_path,
    )


def test_deformable_convolution_with_its_default_mask_and_no_bias(tmp_path: Path) -> None:
    """Mask left at NNC's Constant 1 (expanded to the batch in the model), offsets from data reaching
    past the image on every side, border_mode same, no bias."""
    _roundtrip(
        _spec(
            "- {name: x, type: Input, size: [2, 6, 5]}",
            "- {name: out, type: DeformableConvolution, out_maps: 3, kernel_shape: [3, 3], with_bias: false,"
            " Offset: {dataset: offsets}}",
        ),
        tmp_path,
    )


def test_batch_inv_pivots_and_marks_singular_matrices_as_numpy_by_hand(tmp_path: Path) -> None:
    """A permutation (zeros on the diagonal: pivoting needed), an exactly singular matrix (a row twice
    another), the zero matrix and a random one, against numpy's inv, NaN where numpy's det is 0 (nnspec's
    rule)."""
    rng = np.random.default_rng(5)
    singular = rng.integers(-3, 4, size=(4, 4)).astype(np.float64)
    singular[2] = 2 * singular[0]
    batch = np.stack([np.eye(4)[[2, 0, 3, 1]], singular, np.zeros((4, 4)), rng.normal(size=(4, 4))]).astype(np.float32)
    text = _spec("- {name: x, type: Input, size: [4, 4]}", "- {name: out, type: BatchInv}")
    got, _ = _onnxruntime_outputs(text, {"x": batch}, tmp_path)
    wide = batch.astype(np.float64)
    assert (np.linalg.det(wide) == 0).tolist() == [False, True, True, False]
    assert np.isnan(got["out"][1:3]).all()
    expected = np.linalg.inv(wide[[0, 3]]).astype(np.float32)
    np.testing.assert_allclose(got["out"][[0, 3]], expected, rtol=1e-5, atol=1e-6)


def _nms_by_hand(sample: np.ndarray, thresh: float, nms: float, per_class: bool) -> np.ndarray:
    """YOLO9000's suppression, written plainly from its description (a box at a time, in float32)."""
    boxes = sample.astype(np.float32).copy()
    f32 = np.float32

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        w = min(a[0] + a[2] / f32(2), b[0] + b[2] / f32(2)) - max(a[0] - a[2] / f32(2), b[0] - b[2] / f32(2))
        h = min(a[1] + a[3] / f32(2), b[1] + b[3] / f32(2)) - max(a[1] - a[3] / f32(2), b[1] - b[3] / f32(2))
        if w <= 0 or h <= 0:
            return 0.0
        return float(w * h / (a[2] * a[3] + b[2] * b[3] - w * h))

    for box in boxes:
        box[4] = 0 if box[4] < f32(thresh) else box[4]
        for k in range(5, len(box)):
            score = box[4] * box[k]
            box[k] = 0 if score < f32(thresh) else score
    if per_class:
        for k in range(5, boxes.shape[1]):
            order = sorted(range(len(boxes)), key=lambda i: (-float(boxes[i, k]), i))
            for rank, i in enumerate(order):
                if boxes[i, k] == 0:
                    continue
                for j in order[rank + 1 :]:
                    if boxes[j, k] != 0 and iou(boxes[i], boxes[j]) > np.float32(nms):
                        boxes[j, k] = 0
    else:
        order = sorted(range(len(boxes)), key=lambda i: (-float(boxes[i, 4]), i))
        for rank in range(len(order) - 1, 0, -1):
            i = order[rank]
            if boxes[i, 4] != 0 and any(iou(boxes[i], boxes[j]) > np.float32(nms) for j in order[:rank]):
                boxes[i, 4:] = 0
    return boxes


@pytest.mark.parametrize("per_class", [True, False])
def test_nms_detection2d_suppresses_as_the_algorithm_says(per_class: bool, tmp_path: Path) -> None:
    """Crowded boxes (many overlaps), some with equal scores, against a plain box-at-a-time reference."""
    rng = np.random.default_rng(7)
    boxes = np.concatenate(
        [
            rng.uniform(0, 3, (3, 20, 2)),  # centres in a small field: much overlap
            rng.uniform(0.5, 2, (3, 20, 2)),  # sizes
            rng.choice([0.2, 0.5, 0.7, 0.9], (3, 20, 1)),  # objectness, with ties
            rng.choice([0.1, 0.6, 1.0], (3, 20, 3)),  # class probabilities, with ties
        ],
        axis=2,
    ).astype(np.float32)
    text = _spec(
        "- {name: x, type: Input, size: [20, 8]}",
        f"- {{name: out, type: NmsDetection2d, thresh: 0.3, nms: 0.35, nms_per_class: {str(per_class).lower()}}}",
    )
    got, _ = _onnxruntime_outputs(text, {"x": boxes}, tmp_path)
    expected = np.stack([_nms_by_hand(sample, 0.3, 0.35, per_class) for sample in boxes])
    unsuppressed = np.stack([_nms_by_hand(sample, 0.3, 10.0, per_class) for sample in boxes])
    assert (expected != unsuppressed).sum() >= 8  # boxes were suppressed (8 values per class, 22 by objectness)
    np.testing.assert_array_equal(got["out"], expected)


CHANNEL_LAST = "- {name: x, type: Input, size: [9, 10, 3]}"


@pytest.mark.parametrize(
    "layer",
    [
        "Convolution, out_maps: 6, kernel_shape: [3, 2], group: 3, dilation: [2, 1], padding: [1, 2], strides: [2, 1],"
        " b: {initializer: Uniform}",
        "Deconvolution, out_maps: 4, kernel_shape: [2, 3], strides: [2, 1], padding: [1, 0]",
        "MaxPooling, kernel_shape: [3, 2], strides: [2, 3], ignore_border: false, padding: [1, 1]",
        "AveragePooling, kernel_shape: [2, 2], padding: [1, 0], including_pad: false",
    ],
)
def test_channel_last_layers_are_written_channels_first_between_transposes(layer: str, tmp_path: Path) -> None:
    """(H, W, C) samples: transposed to ONNX's (C, H, W) and back; a kernel kept in nnabla's (O, *k, C)."""
    _roundtrip(_spec(CHANNEL_LAST, f"- {{name: out, type: {layer}, channel_last: true}}"), tmp_path)


@pytest.mark.parametrize(
    "layer",
    [
        "Max, axes: [0, 2], only_index: true, keep_dims: true",
        "Min, axes: [1], only_index: true",
        "Sort, axis: 2, only_index: true",
        "Sort, axis: -2, reverse: true, only_index: true",
        "Norm, p: .inf, axes: [1, 2]",
        "Norm, p: 1.5, axes: [0], keep_dims: true",
    ],
)
def test_positions_and_norms_other_properties_write(layer: str, tmp_path: Path) -> None:
    """only_index (positions, the first among equal values as numpy's) and an infinite p."""
    _roundtrip(_spec(IMAGE, "- {name: r, type: Round}", f"- {{name: out, type: {layer}}}"), tmp_path)


@pytest.mark.parametrize(
    "layer",
    [
        "BatchNormalization, axes: [1], epsilon: 0.1, mean: {initializer: Uniform}, var: {initializer: Constant,"
        " multiplier: 3}, gamma: {initializer: Uniform}, beta: {initializer: Uniform}",
        "BatchNormalization, axes: [0, 2], gamma: {initializer: Uniform}, beta: {initializer: Uniform}",
        "LayerNormalization, batch_axis: 1, epsilon: 0.01, gamma: {initializer: Uniform}",
        "InstanceNormalization, channel_axis: 0, batch_axis: 2, beta: {initializer: Uniform}",
        "GroupNormalization, num_groups: 3, channel_axis: 0, batch_axis: 1, gamma: {initializer: Uniform}",
    ],
)
def test_normalizations_over_other_axes(layer: str, tmp_path: Path) -> None:
    """BatchNormalization over axes but the channels (nnspec's float64 formula) and a second batch axis."""
    _roundtrip(_spec(IMAGE, f"- {{name: out, type: {layer}}}"), tmp_path)


def test_batch_statistics_in_the_training_view(tmp_path: Path) -> None:
    """BatchNormalization with batch_stat: each batch's own mean and variance, as nnspec's training view."""
    text = _spec(
        IMAGE,
        "- {name: out, type: BatchNormalization, axes: [0], batch_stat: true, epsilon: 0.01,"
        " gamma: {initializer: Uniform}, beta: {initializer: Uniform}}",
    )
    feeds = {"x": np.random.default_rng(3).normal(1.0, 2.0, (6, 3, 9, 10)).astype(np.float32)}
    result = nnspec.run(nnspec.loads(text), feeds, view="training")
    assert result.spec.view == "training"
    session = ort.InferenceSession(write_onnx(result.spec, result.layer_parameters), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, feeds)
    np.testing.assert_allclose(got, result.outputs["out"], rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize(
    "layers",
    [
        [
            "- {name: p, type: Parameter, size: [270, 4], value: {initializer: Uniform}}",
            "- {name: out, type: Affine, input: x, out_shape: [4], W: {input: p}}",
        ],
        [  # NNC's weight normalization: a Parameter normalised, fed to a convolution's W
            "- {name: p, type: Parameter, size: [5, 3, 3, 2], value: {initializer: Uniform}}",
            "- {name: n, type: WeightNormalization, input: p, g: {initializer: Uniform}}",
            "- {name: out, type: Convolution, input: x, out_maps: 5, kernel_shape: [3, 2], W: {input: n}}",
        ],
    ],
)
def test_a_parameter_another_layer_gives(layers: list[str], tmp_path: Path) -> None:
    """W: {input: p}: the first sample of p's output (the same in every sample), as nnspec's run takes it."""
    _roundtrip(_spec(IMAGE, *layers), tmp_path)


def test_a_spec_reading_no_data_cannot_size_its_batch() -> None:
    """A Parameter expanded to the batch needs a graph input to read the batch size from."""
    spec = nnspec.loads(_spec("- {name: p, type: Parameter, size: [3]}", "- {name: out, type: Tanh}"))
    with pytest.raises(UsageError, match="'p' \\(Parameter\\): its value is the same for every sample, and the spec"):
        refuse_unwritable(spec)


def test_atan2_broadcasts_an_axis_of_one(tmp_path: Path) -> None:
    """nnabla's ATan2 takes shapes equal or 1 on each axis: a (3, 1, 10) x against a (3, 9, 10) y."""
    _roundtrip(
        _spec(
            IMAGE,
            "- {name: s, type: Sum, axes: [1], keep_dims: true}",
            "- {name: out, type: ATan2, input: [x, s]}",
        ),
        tmp_path,
    )
