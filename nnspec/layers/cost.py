"""What one sample costs a layer, counted as Neural Network Console counts it.

NNC's layer definitions (sony/nnc-desktop, settings/NNabla/layer_component/*/*.txt) declare
CostParameter, CostAdd, CostMultiply, CostMultiplyAdd, CostDivision, CostExp and CostIf as
formulas over the layer's shapes, e.g. Tanh's ``CostAdd Value=*Calc +*Input:+*Input`` (twice the
input's size). The tables below transcribe those formulas; a layer type NNC declares no cost for
costs nothing here either (Reshape, Input, SquaredError, ...), as in NNC's summary.

Where NNC computes a figure in its program rather than in a formula (``*ConvolutionMultiplyAddSize``,
``*MatmulMultiplyAddSize``), the count here is the one NNC's program gives (its ``complete`` command,
run on projects of these layers: tests/fixtures/nnc/costs.json, scripts/make_nnc_cost_fixture.py):
every output value of the four convolutions costs one multiply-add per weight of its output map,
|Output| x in_maps/group x |kernel| (depthwise: |Output| x |kernel|). For a deconvolution that
counts the zeros a stride spreads between the inputs, as NNC does. BatchMatmul's
``*MatmulMultiplyAddSize`` is |Output| x the length of the axis summed over (NNC's program computes
no figure where the leading axes broadcast; the same formula counts those here). A layer type added
without a decided count is ``counted=False`` (NOT_COUNTED, the UNKNOWN set) rather than guessed.
Parameters are the sum of the layer's parameter sizes (NNC's ``*SumParameterSize``), the arrays
nnabla makes: BatchNormalization's mean and variance count. Two layer types differ from NNC's figure
on purpose: for DepthwiseDeconvolution NNC's definition declares W as (in_maps x divisor, kernel)
where nnabla's is (in_maps, kernel), so NNC shows more parameters; MeanSubtraction declares no
CostParameter, so NNC shows none for its running mean and count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

Shape = tuple[int, ...]

# The JSON report's names of NNC's Cost* figures, in NNC's order.
COST_FIELDS = ("parameter", "add", "multiply", "multiply_add", "division", "exp", "if")


@dataclass(frozen=True)
class Cost:
    """One sample's operations through a layer (``if_``: NNC's CostIf, comparisons).

    ``counted`` False: nnspec does not know NNC's rule for the layer type, and the zeros mean
    "not counted", not "free"."""

    parameter: int = 0
    add: int = 0
    multiply: int = 0
    multiply_add: int = 0
    division: int = 0
    exp: int = 0
    if_: int = 0
    counted: bool = True

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, "if_" if name == "if" else name) for name in COST_FIELDS}


NOT_COUNTED = Cost(counted=False)

# Formulas of the form ``*Calc +*Input:*n`` / ``+*Output:*n``: field -> (whose size, n).
_I, _O = "input", "output"
PER_VALUE: dict[str, dict[str, tuple[str, int]]] = {
    # Activation
    "Abs": {"if_": (_I, 1)},
    "CELU": {"if_": (_O, 1), "add": (_O, 1), "multiply": (_O, 1), "exp": (_O, 1)},
    "CReLU": {"if_": (_O, 1)},
    "ELU": {"if_": (_I, 1), "add": (_I, 1), "multiply": (_I, 1), "exp": (_I, 1)},
    "GELU": {"add": (_I, 2), "multiply": (_I, 6), "exp": (_I, 2)},
    "HardSigmoid": {"add": (_I, 1), "multiply": (_I, 1), "if_": (_I, 2)},
    "HardTanh": {"if_": (_I, 2)},
    "LeakyReLU": {"if_": (_I, 1), "multiply": (_I, 1)},
    "LogSigmoid": {"add": (_I, 1), "division": (_I, 1), "exp": (_I, 2)},
    "LogSoftmax": {"add": (_I, 1), "exp": (_I, 2)},
    "Mish": {"add": (_I, 2), "multiply": (_I, 1), "division": (_I, 1), "exp": (_I, 3)},
    "PReLU": {"if_": (_I, 1), "multiply_add": (_I, 1)},
    "ReLU": {"if_": (_I, 1)},
    "ReLU6": {"if_": (_I, 2)},
    "SELU": {"if_": (_I, 1), "add": (_I, 1), "multiply": (_I, 2), "exp": (_I, 1)},
    "Sigmoid": {"add": (_I, 1), "division": (_I, 1), "exp": (_I, 1)},
    "Sinc": {"division": (_I, 1), "if_": (_I, 1)},
    "SoftPlus": {"add": (_I, 1), "exp": (_I, 2)},
    "SoftSign": {"add": (_I, 1), "division": (_I, 1), "if_": (_I, 1)},
    "Softmax": {"add": (_I, 1), "exp": (_I, 1), "division": (_I, 1)},
    "Swish": {"add": (_I, 1), "multiply": (_I, 1), "division": (_I, 1), "exp": (_I, 1)},
    "Tanh": {"add": (_I, 2), "division": (_I, 1), "exp": (_I, 1)},
    "TanhShrink": {"add": (_I, 3), "division": (_I, 1), "exp": (_I, 1)},
    # Arithmetic: two or N inputs count the (broadcast) output, a scalar one its input
    "Add2": {"add": (_O, 1)},
    "Sub2": {"add": (_O, 1)},
    "Mul2": {"multiply": (_O, 1)},
    "Div2": {"division": (_O, 1)},
    "Pow2": {"multiply": (_O, 1), "exp": (_O, 2)},
    "Maximum2": {"if_": (_O, 1)},
    "Minimum2": {"if_": (_O, 1)},
    "AddN": {"add": (_O, 1)},
    "MulN": {"multiply": (_O, 1)},
    "AddScalar": {"add": (_I, 1)},
    "RSubScalar": {"add": (_I, 1)},
    "MulScalar": {"multiply": (_I, 1)},
    "RDivScalar": {"division": (_I, 1)},
    "PowScalar": {"multiply": (_I, 1), "exp": (_I, 2)},
    "RPowScalar": {"multiply": (_I, 1), "exp": (_I, 2)},
    "MaximumScalar": {"if_": (_I, 1)},
    "MinimumScalar": {"if_": (_I, 1)},
    # Logical: comparisons of two inputs count the output, of a scalar the input
    **{name: {"if_": (_O, 1)} for name in ("Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual")},
    **{name: {"if_": (_O, 1)} for name in ("LogicalAnd", "LogicalOr", "LogicalXor")},
    **{
        name + "Scalar": {"if_": (_I, 1)}
        for name in ("Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual")
    },
    **{name: {"if_": (_I, 1)} for name in ("LogicalAndScalar", "LogicalOrScalar", "LogicalXorScalar")},
    "LogicalNot": {"if_": (_I, 1)},
    "IsInf": {"if_": (_I, 1)},
    "IsNaN": {"if_": (_I, 1)},
    # Math
    "CumProd": {"multiply": (_I, 1)},
    "CumSum": {"add": (_I, 1)},
    "Exp": {"exp": (_I, 1)},
    "Log": {"exp": (_I, 1)},  # NNC counts a log as an exp
    "Max": {"if_": (_I, 1)},
    "Min": {"if_": (_I, 1)},
    "Mean": {"add": (_I, 1)},
    "Sum": {"add": (_I, 1)},
    "Prod": {"multiply": (_I, 1)},
    "Sign": {"if_": (_I, 1)},
    "Norm": {"add": (_I, 1), "multiply": (_I, 2), "exp": (_I, 2)},
    # Normalization (their parameters are added below)
    "BatchNormalization": {"add": (_I, 1), "multiply": (_I, 1)},
    "FusedBatchNormalization": {"add": (_I, 1), "multiply": (_I, 1)},
    "LayerNormalization": {"add": (_I, 4), "multiply": (_I, 3)},
    "InstanceNormalization": {"add": (_I, 4), "multiply": (_I, 3)},
    "GroupNormalization": {"add": (_I, 4), "multiply": (_I, 3)},
    "NormNormalization": {"add": (_I, 1), "multiply": (_I, 3), "exp": (_I, 2)},
    # Pooling, Others, Loss
    "AveragePooling": {"add": (_I, 1), "multiply": (_O, 1)},
    "GlobalAveragePooling": {"add": (_I, 1), "multiply": (_O, 1)},
    "SumPooling": {"add": (_I, 1)},
    "Dropout": {"multiply": (_I, 1)},
    "SigmoidCrossEntropy": {"add": (_I, 1), "division": (_I, 1), "exp": (_I, 1)},
    "SoftmaxCrossEntropy": {"add": (_I, 1), "exp": (_I, 1), "division": (_I, 1)},
    "MeanSubtraction": {"add": (_I, 1)},
    # Quantize
    "BinarySigmoid": {"add": (_I, 1), "multiply": (_I, 1), "if_": (_I, 1)},
    "BinaryTanh": {"add": (_I, 2), "multiply": (_I, 2), "if_": (_I, 1)},
}

# Layer types NNC's definitions declare no Cost* for: they cost nothing in NNC's summary.
NO_COST = frozenset(
    "ACos ACosh ASin ASinh ATan ATan2 ATanh AbsoluteError BinaryCrossEntropy BinaryError Broadcast "
    "BroadcastTo CategoricalCrossEntropy Ceil Concatenate Cos Cosh EpsilonInsensitiveLoss Flip Floor "
    "HuberLoss Identity Input Interpolate KLMultinomial MatrixDiag MatrixDiagPart OneHot Pad ResetInf "
    "ResetNaN Reshape Round Shift Sin Sinh Slice Sort SquaredError Stack Tan Tile TopNError Transpose "
    "Unpooling".split()
    # The loop markers: expanded away before a run (nnspec.spec.expand), their copies' layers cost what they cost.
    + ["RepeatStart", "RepeatEnd"]
    # The recurrent layers: unrolled before a run (nnspec.spec.recurrence); a RecurrentInput's step is a slice,
    # a RecurrentOutput a Stack, a Delay moves a value (none of them count in NNC), and an LSTM is its unit's layers.
    + ["RecurrentInput", "RecurrentOutput", "Delay", "LSTM"]
    # The quantizers and Prune declare none (MinMaxQuantize not even a CostParameter for its four ranges).
    + ["FixedPointQuantize", "MinMaxQuantize", "Pow2Quantize", "Prune"]
    # The augmentation layers (Others (Pre Process)): NNC's definitions declare no Cost* for them.
    + ["ImageAugmentation", "RandomCrop", "RandomErase", "RandomFlip", "RandomShift"]
    # nnspec/layers/misc.py's, whose definitions declare no Cost* either
    + "ClipByNorm ClipByValue ClipGradByNorm ClipGradByValue Flatten NmsDetection2d Output".split()
    + "TopKData TopKGrad Unlink VATNoise".split()
    + "SpectralNorm WeightNormalization WeightStandardization".split()
)

# Layer types whose count nnspec does not know: NOT_COUNTED, not zeros that would pass for free
# (tests/test_cost.py compares every other count of nnspec's with NNC's own or with NNC's formulas). A Unit is
# written out before a run, its layers counted one by one; only a picture drawing it collapsed into one box
# (graph --collapse-units) meets a Unit layer, and its box says "not counted" rather than 0.
# The binary weight layers' CostParameter is NNC's *AffineParameterSizeDiv32 / *ConvolutionParameterSizeDiv32 (bits
# packed 32 to a word), computed in NNC's program with a rounding no fixture here has pinned down yet.
# FFT and IFFT: NNC computes their multiply-adds in its program (*FFTMultiplyAddSize), with no formula to transcribe.
# AdaptiveSeparableConvolution's is a macro of NNC's program too (CostMultiplyAdd=*AdaptiveSeparableConv...).
UNKNOWN: frozenset[str] = frozenset(
    {
        "Unit",
        "BinaryConnectAffine",
        "BinaryConnectConvolution",
        "BinaryWeightAffine",
        "BinaryWeightConvolution",
        "FFT",
        "IFFT",
        "AdaptiveSeparableConvolution",
    }
)

# The convolutions' operations follow from their weight W (see layer_cost).
_CONVOLUTIONS = ("Convolution", "DepthwiseConvolution", "DeformableConvolution")  # the last: NNC's same formulas
_DECONVOLUTIONS = ("Deconvolution", "DepthwiseDeconvolution")
# The batched matrix functions: their counts are formulas of the matrix size n (NNC's Input[1]).
_MATRIX = ("BatchDet", "BatchLogdet", "BatchInv")
# The layer types layer_cost counts with a rule of their own, not PER_VALUE's one formula per figure.
OWN_RULES = frozenset(
    {
        "Affine",
        "BatchMatmul",
        "Embed",
        "MaxPooling",
        *_CONVOLUTIONS,
        *_DECONVOLUTIONS,
        *_MATRIX,
        "Parameter",
        "WorkingMemory",
    }
)


def layer_cost(
    type_name: str,
    input_shapes: Sequence[Shape],
    output_shape: Shape,
    props: Mapping[str, Any],
    parameter_shapes: Mapping[str, Shape],
) -> Cost:
    """One sample's cost of a layer of ``type_name``, given its (per-sample) shapes and properties."""
    parameters = sum(prod(shape) for shape in parameter_shapes.values())
    size_in = prod(input_shapes[0]) if input_shapes else 0
    size_out = prod(output_shape)
    if type_name in PER_VALUE:
        sizes = {_I: size_in, _O: size_out}
        rule = PER_VALUE[type_name]

        def count(field: str) -> int:
            whose, n = rule.get(field, (_I, 0))
            return sizes[whose] * n

        return Cost(
            parameters,
            count("add"),
            count("multiply"),
            count("multiply_add"),
            count("division"),
            count("exp"),
            count("if_"),
        )
    if type_name == "Affine":
        # CostAdd = WithBias * |OutShape|; CostMultiplyAdd = |Input| * |OutShape|
        outputs = prod(props["out_shape"])
        return Cost(parameter=parameters, add=outputs * bool(props["with_bias"]), multiply_add=size_in * outputs)
    if type_name in _CONVOLUTIONS or type_name in _DECONVOLUTIONS:
        # NNC's *ConvolutionMultiplyAddSize: |Output| x the weights of one output map, in_maps/group x
        # |kernel| (depthwise: |kernel|). Deconvolution's W is (in_maps, out_maps/group, kernel...),
        # the others' (maps, weights of a map...), in either layout (channel_last moves the channels last).
        weight = parameter_shapes["W"]
        per_map = prod(weight) // (props["out_maps"] if type_name == "Deconvolution" else weight[0])
        bias = size_out * bool(props.get("with_bias", True))
        return Cost(parameter=parameters, add=bias, multiply_add=size_out * per_map)
    if type_name == "BatchMatmul":
        # NNC's *MatmulMultiplyAddSize: each output value sums the first input's last axis
        return Cost(multiply_add=size_out * input_shapes[0][-1])
    if type_name == "MaxPooling":
        return Cost(if_=size_out * prod(props["kernel_shape"]))  # NNC: CostIf = |Output| * |KernelShape|
    if type_name in ("Embed", "Parameter", "WorkingMemory"):  # the last two: CostParameter = *Output
        return Cost(parameter=parameters)
    if type_name in _MATRIX:
        n = input_shapes[0][1]
        if type_name == "BatchInv":  # CostAdd = n (n-1)^2, CostMultiplyAdd = n^3
            return Cost(add=n * (n - 1) ** 2, multiply_add=n**3)
        # CostAdd = n^2, CostMultiply = n, CostMultiplyAdd = n^3, CostDivision = n^2; BatchLogdet CostExp = 1
        return Cost(add=n * n, multiply=n, multiply_add=n**3, division=n * n, exp=int(type_name == "BatchLogdet"))
    if type_name in NO_COST:
        return Cost()
    return NOT_COUNTED  # UNKNOWN, and any layer type added without deciding its count (a test lists them)
