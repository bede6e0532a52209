"""A validated spec written as an ONNX model: the network as nnspec runs it, for onnxruntime and others.

What is written is one view of the spec (nnspec.spec.views; the validation view unless another is
asked for), expanded as nnspec runs it (units and repeats written out, recurrent loops step by step),
as nnspec.spec.nntxt_writer writes nnabla's file; layers the view bypasses (Dropout at evaluation)
are not written. The model holds:

- a graph input per data variable the view reads (an Input layer's, named as the layer; a loss's
  target, named as its dataset), float32, with the batch axis symbolic (``N``): any number of samples runs;
- an initializer per parameter, named as nnabla names it (``fc1/affine/W``), written once when layers
  share it, its values those given (``--params``) or drawn from the initializers as ``nnspec run`` draws them;
- a few nodes per layer (the table ``OPS``: layer type -> a function emitting its nodes), NCHW, each
  layer's value in a tensor named as the layer;
- a graph output per output layer of the view, named as the layer.

The opset is 17 (``OPSET``): the one every maintained runtime and converter reads (PyTorch's default
export opset, onnxruntime since 1.11); nothing nnspec writes needs a later one: the per-sample
normalizations are written out as ReduceMean, Sub, Div... (nnabla's exact formula), not as ONNX's
LayerNormalization (17) or GroupNormalization (18, whose scale changed shape in 21); FFT and IFFT are
opset 17's DFT. docs/onnx.md. Where nnspec's numpy computes in float64 and rounds once, the nodes do
too (Cast to double and back); where an ONNX operator does not say nnspec's formula (atan2's signed
zeros, a running product, rounding halves away from 0, a log2 rounded), the nodes say it.

Every layer type is written (``REFUSED``, the types without an exact ONNX form and why, is empty). What
is refused is a layer that draws at random in the view (the augmentations in the training view, an
applied Dropout, RandomCrop with a shape) and a side input a generator other than Constant draws:
one UsageError naming every such layer of the spec at once, before anything is drawn or written.
``unwritable_layers`` gives the verdict layer by layer (``unwritable_reason`` one layer's), which the
onnxruntime engine follows to run such layers on numpy (nnspec.runtime.mixed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import prod
from typing import Any

import numpy as np

from ...core.diagnostics import UsageError
from ...core.extras import install_hint
from ...layers.generators import NO_GENERATOR
from ..model import Layer, Spec

OPSET = 17
BATCH = "N"  # the symbolic batch dimension of every graph input and output
PRODUCER = "nnspec"
FLOAT, INT64, DOUBLE = 1, 7, 11  # onnx.TensorProto's element types, without importing onnx here
TINY = float(np.finfo(np.float32).tiny)  # nnabla's floor under a probability before its log


def onnx_module() -> Any:
    """The onnx package, imported when first needed; a UsageError saying how to install it when absent."""
    try:
        import onnx
    except ImportError:
        raise UsageError(f"writing an ONNX model needs the onnx package: {install_hint('onnx')}") from None
    return onnx


@dataclass
class _Graph:
    """The model under construction: nodes, initializers and the parameters of the spec."""

    helper: Any
    numpy_helper: Any
    parameters: Mapping[str, Mapping[str, np.ndarray]]
    nodes: list[Any] = field(default_factory=list)
    initializers: dict[str, Any] = field(default_factory=dict)
    counter: int = 0
    input_shapes: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)  # layer -> its inputs' sample shapes
    graph_inputs: dict[str, tuple[int, ...]] = field(default_factory=dict)  # data variable -> its sample shape
    channel_last_weights: set[str] = field(default_factory=set)  # layers whose W is laid out channels last
    fed: dict[str, dict[str, str]] = field(default_factory=dict)  # layer -> parameter -> the tensor giving it

    def input_shape(self, layer: Layer) -> tuple[int, ...]:
        """The sample shape of the layer's first input (() for a layer without one)."""
        shapes = self.input_shapes[layer.name]
        return shapes[0] if shapes else ()

    def first_input_of(self, layer: Layer, index: int) -> tuple[int, ...]:
        return self.input_shapes[layer.name][index]

    def batch_source(self) -> str:
        """A graph input to read the batch size from (for values the same in every sample)."""
        if not self.graph_inputs:
            raise UsageError(
                "a value the same for every sample (a Parameter layer's, a generated Constant target) needs "
                "a graph input to take the batch size from: the spec reads no data"
            )
        return next(iter(self.graph_inputs))

    def node(self, op: str, inputs: Sequence[str], output: str | None = None, **attributes: Any) -> str:
        """Appends one node; its output tensor's name (a fresh one unless ``output`` names it)."""
        if output is None:
            self.counter += 1
            output = f"/{self.counter}:{op}"  # '/' first: no layer, data variable or parameter is so named
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=output, **attributes))
        return output

    def constant(self, values: Any, dtype: Any = np.float32) -> str:
        """An initializer holding ``values`` (a scalar or list): its name."""
        self.counter += 1
        name = f"/{self.counter}:constant"
        self.initializers[name] = self.numpy_helper.from_array(np.asarray(values, dtype=dtype), name)
        return name

    def parameter(self, layer: Layer, name: str, shape: Sequence[int] | None = None) -> str:
        """The layer's parameter ``name`` as an initializer named as nnabla names it (reshaped to
        ``shape`` where ONNX wants another layout than nnabla's: a new name then); a parameter another
        layer gives (``W: {input: p}``), that layer's first sample, as nnspec's run takes it."""
        if name in self.fed.get(layer.name, {}):
            return self._fed_parameter(layer, name, shape)
        key = layer.parameter_key(name)
        value = np.asarray(self.parameters[layer.name][name], dtype=np.float32)
        if shape is not None and tuple(shape) != value.shape:
            key = f"{key}:{'x'.join(map(str, shape))}"
            value = value.reshape(shape)
        if key not in self.initializers:
            self.initializers[key] = self.numpy_helper.from_array(value, key)
        if name == "W" and layer.name in self.channel_last_weights:  # (O, *kernel, C) -> ONNX's (O, C, *kernel)
            return self.node("Transpose", [key], perm=[0, value.ndim - 1, *range(1, value.ndim - 1)])
        return key

    def _fed_parameter(self, layer: Layer, name: str, shape: Sequence[int] | None) -> str:
        value = self.node("Gather", [self.fed[layer.name][name], self.constant(0, np.int64)], axis=0)
        natural = layer.parameter_shapes[name]
        if shape is not None and tuple(shape) != tuple(natural):
            value = self.node("Reshape", [value, self.constant(list(shape), np.int64)])
        if name == "W" and layer.name in self.channel_last_weights:
            rank = len(shape if shape is not None else natural)
            return self.node("Transpose", [value], perm=[0, rank - 1, *range(1, rank - 1)])
        return value


Emit = Callable[[_Graph, Layer, list[str], str], object]  # (graph, layer, operand tensors, output name)


@dataclass(frozen=True)
class Op:
    emit: Emit
    refuse: Callable[[Layer], str | None] = lambda layer: None  # a reason this layer cannot be written


def _axis(value: int) -> int:
    """A sample axis as an ONNX axis (the batch axis is 0)."""
    return value + 1


def _axes(value: Any) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


# --- element-wise ---------------------------------------------------------------------------------


def _unary(op: str, **attributes: Any) -> Op:
    return Op(lambda g, layer, x, out: g.node(op, x[:1], out, **attributes))


def _binary(op: str) -> Op:
    return Op(lambda g, layer, x, out: g.node(op, x[:2], out))


def _scalar(op: str, reverse: bool = False) -> Op:
    """x op value (value op x with ``reverse``), the value a constant of the layer's property."""

    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        value = g.constant(float(layer.props["value"]))
        g.node(op, [value, x[0]] if reverse else [x[0], value], out)

    return Op(emit)


def _chain(op: str) -> Op:
    """A variadic op (Sum, Max...) over every input."""
    return Op(lambda g, layer, x, out: g.node(op, x, out))


def _clip(low: float, high: float) -> Op:
    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        g.node("Clip", [x[0], g.constant(low), g.constant(high)], out)

    return Op(emit)


def _swish(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Mul", [x[0], g.node("Sigmoid", x[:1])], out)


def _mish(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Mul", [x[0], g.node("Tanh", [g.node("Softplus", x[:1])])], out)


def _tanh_shrink(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Sub", [x[0], g.node("Tanh", x[:1])], out)


def _log_sigmoid(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Neg", [g.node("Softplus", [g.node("Neg", x[:1])])], out)


def _gelu(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's GELU, tanh's approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    cube = g.node("Mul", [g.node("Mul", [x[0], x[0]]), x[0]])
    inner = g.node("Add", [x[0], g.node("Mul", [cube, g.constant(0.044715)])])
    tanh = g.node("Tanh", [g.node("Mul", [inner, g.constant(float(np.sqrt(2 / np.pi)))])])
    g.node("Mul", [g.node("Mul", [x[0], g.constant(0.5)]), g.node("Add", [tanh, g.constant(1.0)])], out)


def _concatenated(function: Callable[[_Graph, Layer, str], str]) -> Op:
    """CReLU and CELU: f(x) and f(-x) side by side along the layer's axis."""

    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        negated = g.node("Neg", x[:1])
        g.node("Concat", [function(g, layer, x[0]), function(g, layer, negated)], out, axis=_axis(layer.props["axis"]))

    return Op(emit)


def _relu(g: _Graph, layer: Layer, x: str) -> str:
    return g.node("Relu", [x])


def _elu(g: _Graph, layer: Layer, x: str) -> str:
    return g.node("Elu", [x], alpha=float(layer.props["alpha"]))


def _prelu(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's slope is one value, or one per channel of axis base_axis: broadcast to the sample's shape."""
    slope = g.parameters[layer.name]["slope"]
    sample = layer.inferred_shape
    if slope.size == 1:
        shape: list[int] = [1]
    else:
        shape = [1] * len(sample)
        shape[layer.props["base_axis"]] = slope.size
    g.node("PRelu", [x[0], g.parameter(layer, "slope", shape)], out)


# --- the layers with weights ----------------------------------------------------------------------


def _channels_first(inner: Emit) -> Emit:
    """A convolution or pool with channel_last written channels first, as ONNX takes them: a Transpose
    of the input (the last axis to the front), the layer as with channel_last false (its W, kept in
    nnabla's (O, *kernel, C) layout as the initializer, transposed in the graph), and a Transpose back."""

    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> object:
        if not layer.props.get("channel_last"):
            return inner(g, layer, x, out)
        sample, shape = g.input_shape(layer), layer.inferred_shape
        rank = len(sample) + 1
        moved = g.node("Transpose", x[:1], perm=[0, rank - 1, *range(1, rank - 1)])
        first = replace(layer, props={**layer.props, "channel_last": False}, shape=(shape[-1], *shape[:-1]))
        g.input_shapes[layer.name] = [(sample[-1], *sample[:-1]), *g.input_shapes[layer.name][1:]]
        g.channel_last_weights.add(layer.name)
        inner(g, first, [moved, *x[1:]], f"{out}/channels_first")
        return g.node("Transpose", [f"{out}/channels_first"], out, perm=[0, *range(2, rank), 1])

    return emit


def _affine(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    weight = g.parameters[layer.name]["W"]
    rows = g.node("Flatten", x[:1], axis=1)
    width = prod(layer.props["out_shape"])
    inputs = [rows, g.parameter(layer, "W", (weight.shape[0], width) if weight.ndim != 2 else None)]
    if "b" in g.parameters[layer.name]:
        inputs.append(g.parameter(layer, "b", (width,)))
    if len(layer.props["out_shape"]) == 1:
        g.node("Gemm", inputs, out)
    else:
        g.node("Reshape", [g.node("Gemm", inputs), g.constant([-1, *layer.props["out_shape"]], np.int64)], out)


def _conv_attributes(layer: Layer, padding: Sequence[int]) -> dict[str, Any]:
    props = layer.props
    return {
        "kernel_shape": list(props["kernel_shape"]),
        "strides": list(props["strides"]),
        "dilations": list(props["dilation"]),
        "pads": [*padding, *padding],
    }


def _convolution(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    from ...layers.basic import conv_padding

    inputs = [x[0], g.parameter(layer, "W")]
    if "b" in g.parameters[layer.name]:
        inputs.append(g.parameter(layer, "b"))
    g.node("Conv", inputs, out, group=layer.props["group"], **_conv_attributes(layer, conv_padding(layer.props)))


def _depthwise_convolution(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's depthwise kernels (C multiplier, *kernel) as a Conv with one group a channel."""
    from ...layers.basic import conv_padding

    weight = g.parameters[layer.name]["W"]
    kernel = layer.props["kernel_shape"]
    channels = weight.shape[0] // layer.props["multiplier"]
    inputs = [x[0], g.parameter(layer, "W", (weight.shape[0], 1, *kernel))]
    if "b" in g.parameters[layer.name]:
        inputs.append(g.parameter(layer, "b"))
    props = dict(layer.props)
    props.setdefault("dilation", [1] * len(kernel))
    g.node("Conv", inputs, out, group=channels, **_conv_attributes(layer, conv_padding(props)))


def _deconvolution(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    inputs = [x[0], g.parameter(layer, "W")]
    if "b" in g.parameters[layer.name]:
        inputs.append(g.parameter(layer, "b"))
    g.node("ConvTranspose", inputs, out, group=layer.props["group"], **_conv_attributes(layer, layer.props["padding"]))


def _depthwise_deconvolution(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's kernels (C, *kernel) as a ConvTranspose whose groups take ``divisor`` input maps each."""
    weight = g.parameters[layer.name]["W"]
    channels, kernel = weight.shape[0], layer.props["kernel_shape"]
    inputs = [x[0], g.parameter(layer, "W", (channels, 1, *kernel))]
    if "b" in g.parameters[layer.name]:
        inputs.append(g.parameter(layer, "b"))
    groups = channels // layer.props["divisor"]
    g.node("ConvTranspose", inputs, out, group=groups, **_conv_attributes(layer, layer.props["padding"]))


# --- pooling --------------------------------------------------------------------------------------


def _pool_geometry(layer: Layer, input_shape: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """(kernel, strides, pads) for ONNX: the end pads grown where nnabla keeps windows cut at the border
    (ignore_border false), so that ONNX's floor counts the outputs nnabla makes."""
    props = layer.props
    kernel = list(props["kernel_shape"])
    strides = list(props["strides"] or kernel)
    padding = list(props["padding"])
    spatial = input_shape[-len(kernel) :]
    outputs = layer.inferred_shape[-len(kernel) :]
    ends = [max(0, (o - 1) * s + k - n - p) for n, o, s, k, p in zip(spatial, outputs, strides, kernel, padding)]
    return kernel, strides, [*padding, *ends]


def _pool_attributes(g: _Graph, layer: Layer) -> dict[str, Any]:
    kernel, strides, pads = _pool_geometry(layer, g.input_shape(layer))
    return {"kernel_shape": kernel, "strides": strides, "pads": pads}


def _max_pooling(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("MaxPool", x[:1], out, **_pool_attributes(g, layer))


def _average_pooling(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """ONNX's AveragePool, but for windows cut at the border (ignore_border false) with including_pad:
    nnabla counts the padding p there, not the end ONNX is given to keep the cut windows, so the
    window's sum (its average over the whole kernel, times the kernel's size) is divided by nnspec's
    own count per window."""
    counted = bool(layer.props["including_pad"])
    if not (counted and layer.props["ignore_border"] is False):
        g.node("AveragePool", x[:1], out, count_include_pad=int(counted), **_pool_attributes(g, layer))
        return
    from ...layers.pooling import _window_sizes

    n = len(layer.props["kernel_shape"])
    lengths, outputs = g.input_shape(layer)[-n:], layer.inferred_shape[-n:]
    sizes = _window_sizes(lengths, outputs, layer.props).astype(np.float32)
    g.node("Div", [_sum_of_windows(g, layer, x[0]), g.constant(sizes)], out)


def _sum_of_windows(g: _Graph, layer: Layer, x: str) -> str:
    """Each window's sum, the positions outside the input counted as 0: the average over the whole
    kernel (padding included) times the kernel's size."""
    average = g.node("AveragePool", [x], count_include_pad=1, **_pool_attributes(g, layer))
    return g.node("Mul", [average, g.constant(float(prod(layer.props["kernel_shape"])))])


def _sum_pooling(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """ONNX has no sum pool: the windows' sums as _sum_of_windows takes them."""
    g.node("Identity", [_sum_of_windows(g, layer, x[0])], out)


def _global_average(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("GlobalAveragePool", x[:1], out)


# --- normalisation --------------------------------------------------------------------------------


def _batch_normalization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """ONNX's BatchNormalization for the usual case (stored statistics per channel, axes [0]), which
    onnxruntime fuses into a preceding Conv; else nnspec's float64 formulas: with stored statistics
    ((i/2 - mean/2) k) 2 + beta, k = gamma / sqrt(var + epsilon), per index of axes; with batch
    statistics (the training view) the batch's standardised values times gamma plus beta."""
    axes = list(_axes(layer.props["axes"]))
    if axes == [0] and not layer.props.get("batch_stat"):
        channels = layer.inferred_shape[0]
        names = [g.parameter(layer, name, (channels,)) for name in ("gamma", "beta", "mean", "var")]
        g.node("BatchNormalization", [x[0], *names], out, epsilon=float(layer.props["epsilon"]))
        return
    gamma, beta = (_double(g, g.parameter(layer, name)) for name in ("gamma", "beta"))
    w = _double(g, x[0])
    if layer.props.get("batch_stat"):
        kept = {_axis(axis) for axis in axes}
        reduced = [axis for axis in range(len(layer.inferred_shape) + 1) if axis not in kept]
        xhat = _standardized_wide(g, w, reduced, float(layer.props["epsilon"]))
        _single(g, g.node("Add", [g.node("Mul", [xhat, gamma]), beta]), out)
        return
    mean, var = (_double(g, g.parameter(layer, name)) for name in ("mean", "var"))
    k = g.node("Div", [gamma, g.node("Sqrt", [g.node("Add", [var, _wide(g, float(layer.props["epsilon"]))])])])
    half = _wide(g, 0.5)
    centred = g.node("Sub", [g.node("Mul", [half, w]), g.node("Mul", [half, mean])])
    scaled = g.node("Mul", [g.node("Mul", [centred, k]), _wide(g, 2.0)])
    _single(g, g.node("Add", [scaled, beta]), out)


def _fused_batch_normalization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    _batch_normalization(g, layer, x, f"{out}/normalized")
    g.node("Relu", [f"{out}/normalized"], out)


def _mean_subtraction(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Sub", [x[0], g.parameter(layer, "mean", (1, *layer.inferred_shape))], out)


# --- shape ----------------------------------------------------------------------------------------


def _reshape_to_output(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Reshape", [x[0], g.constant([-1, *layer.inferred_shape], np.int64)], out)


def _concatenate(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Concat", x, out, axis=_axis(layer.props["axis"]))


def _transpose(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Transpose", x[:1], out, perm=[0, *(_axis(a) for a in layer.props["axes"])])


def _slice(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """start/stop/step apply to the sample's last axes; the output's shape says what nnabla kept."""
    sample = g.input_shape(layer)
    start = list(layer.props["start"])
    step = list(layer.props["step"])
    stop = layer.props.get("stop")
    first = len(sample) - len(start)
    stops = [min(s, n) for s, n in zip(stop, sample[first:])] if stop is not None else list(sample[first:])
    axes = [first + i + 1 for i in range(len(start))]
    g.node(
        "Slice",
        [
            x[0],
            g.constant(start, np.int64),
            g.constant(stops, np.int64),
            g.constant(axes, np.int64),
            g.constant(step, np.int64),
        ],
        out,
    )


def _softmax(op: str) -> Op:
    return Op(lambda g, layer, x, out: g.node(op, x[:1], out, axis=_axis(layer.props["axis"])))


def _reduce(op: str, position: str | None = None) -> Op:
    """A reduction over axes; Max and Min with only_index give the position instead (``position``:
    ArgMax or ArgMin)."""

    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        axes = [_axis(a) for a in _axes(layer.props["axes"])]
        keep = int(bool(layer.props["keep_dims"]))
        if position is not None and layer.props.get("only_index"):
            _position_over(g, layer, x[0], sorted(axes), position, out)
        elif op == "ReduceSum":
            g.node(op, [x[0], g.constant(axes, np.int64)], out, keepdims=keep)
        else:
            g.node(op, x[:1], out, axes=axes, keepdims=keep)

    return Op(emit)


def _position_over(g: _Graph, layer: Layer, x: str, axes: list[int], op: str, out: str) -> None:
    """The first position of the extreme value over axes, counted row-major over them (nnspec moves
    them last and flattens them, then takes numpy's arg), as a float."""
    rank = len(g.input_shape(layer)) + 1
    kept = [axis for axis in range(rank) if axis not in axes]
    moved = g.node("Transpose", [x], perm=kept + axes)
    flat = g.node("Reshape", [moved, g.constant([0] * len(kept) + [-1], np.int64)])
    index = g.node(op, [flat], axis=-1, keepdims=0, select_last_index=0)
    g.node("Reshape", [_as_float(g, index), g.constant([-1, *layer.inferred_shape], np.int64)], out)


# --- losses ---------------------------------------------------------------------------------------


def _squared_error(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    difference = g.node("Sub", x[:2])
    g.node("Mul", [difference, difference], out)


def _absolute_error(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Abs", [g.node("Sub", x[:2])], out)


# --- comparisons and logic: ONNX's give booleans, nnspec's 0 and 1 in the data's dtype -----------


def _as_float(g: _Graph, boolean: str, out: str | None = None) -> str:
    return g.node("Cast", [boolean], out, to=FLOAT)


def _truth(g: _Graph, x: str) -> str:
    """nnabla's bool(x): nonzero, NaN included."""
    return g.node("Not", [g.node("Equal", [x, g.constant(0.0)])])


def _compare(op: str, scalar: bool = False, negate: bool = False) -> Op:
    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        right = g.constant(float(layer.props["value"])) if scalar else x[1]
        test = g.node(op, [x[0], right])
        _as_float(g, g.node("Not", [test]) if negate else test, out)

    return Op(emit)


def _logic(op: str, scalar: bool = False) -> Op:
    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        right = g.constant(float(layer.props["value"])) if scalar else x[1]
        _as_float(g, g.node(op, [_truth(g, x[0]), _truth(g, right)]), out)

    return Op(emit)


def _logical_not(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    _as_float(g, g.node("Equal", [x[0], g.constant(0.0)]), out)


def _test(op: str) -> Op:
    return Op(lambda g, layer, x, out: _as_float(g, g.node(op, x[:1]), out))


def _sign(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """1 above 0, -1 below, alpha at 0 and for NaN (ONNX's Sign gives 0 and NaN there)."""
    below = g.node(
        "Where", [g.node("Less", [x[0], g.constant(0.0)]), g.constant(-1.0), g.constant(float(layer.props["alpha"]))]
    )
    g.node("Where", [g.node("Greater", [x[0], g.constant(0.0)]), g.constant(1.0), below], out)


def _round(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """Halves away from 0, as nnabla (ONNX's Round takes them to even): sign(x) floor(|x| + 0.5), in
    float64, where 0.49999997 + 0.5 stays below 1 (float32 rounds it up to 1)."""
    _single(g, _round_half_away(g, _double(g, x[0])), out)


# --- losses on class indices --------------------------------------------------------------------


def _class_index(g: _Graph, target: str) -> str:
    """The target truncated toward 0 (nnabla's int cast), a negative one read as class 0 (masked after)."""
    return g.node("Cast", [g.node("Max", [target, g.constant(0.0)])], to=INT64)


def _ignored_where_negative(g: _Graph, target: str, loss: str, out: str) -> None:
    """0 where the class index is negative (t <= -1: nnabla truncates -0.5 to class 0)."""
    g.node("Where", [g.node("LessOrEqual", [target, g.constant(-1.0)]), g.constant(0.0), loss], out)


def _categorical_cross_entropy(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = _axis(layer.props["axis"])
    picked = g.node("GatherElements", [x[0], _class_index(g, x[1])], axis=axis)
    loss = g.node("Neg", [g.node("Log", [g.node("Max", [picked, g.constant(TINY)])])])
    _ignored_where_negative(g, x[1], loss, out)


def _softmax_cross_entropy(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = _axis(layer.props["axis"])
    logs = g.node("LogSoftmax", x[:1], axis=axis)
    loss = g.node("Neg", [g.node("GatherElements", [logs, _class_index(g, x[1])], axis=axis)])
    _ignored_where_negative(g, x[1], loss, out)


def _top_n_error(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """1 where more than n values along axis are >= the target class's value (ties count against it)."""
    axis = _axis(layer.props["axis"])
    threshold = g.node("GatherElements", [x[0], _class_index(g, x[1])], axis=axis)
    above = _as_float(g, g.node("GreaterOrEqual", [x[0], threshold]))
    count = g.node("ReduceSum", [above, g.constant([axis], np.int64)], keepdims=1)
    _as_float(g, g.node("Greater", [count, g.constant(float(layer.props["n"]))]), out)


def _binary_cross_entropy(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """-(t ln(max(i, tiny)) + (1 - t) ln(max(1 - i, tiny)))"""
    one = g.constant(1.0)
    log_p = g.node("Log", [g.node("Max", [x[0], g.constant(TINY)])])
    log_q = g.node("Log", [g.node("Max", [g.node("Sub", [one, x[0]]), g.constant(TINY)])])
    total = g.node("Add", [g.node("Mul", [x[1], log_p]), g.node("Mul", [g.node("Sub", [one, x[1]]), log_q])])
    g.node("Neg", [total], out)


def _sigmoid_cross_entropy(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnabla's stable form: i ([i >= 0] - trunc(t)) + ln(1 + exp(-|i|)), the target truncated."""
    label = g.node("Cast", [g.node("Cast", [x[1]], to=INT64)], to=FLOAT)
    sign = _as_float(g, g.node("GreaterOrEqual", [x[0], g.constant(0.0)]))
    linear = g.node("Mul", [x[0], g.node("Sub", [sign, label])])
    g.node("Add", [linear, g.node("Softplus", [g.node("Neg", [g.node("Abs", x[:1])])])], out)


# --- more shapes ----------------------------------------------------------------------------------


def _stack(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = g.constant([_axis(layer.props["axis"])], np.int64)
    g.node("Concat", [g.node("Unsqueeze", [item, axis]) for item in x], out, axis=_axis(layer.props["axis"]))


def _batch_matmul(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("MatMul", x[:2], out)


def _flip(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = sorted({_axis(a) for a in layer.props["axes"]})
    if not axes:
        g.node("Identity", x[:1], out)
        return
    ends = [np.iinfo(np.int64).min] * len(axes)
    g.node(
        "Slice",
        [
            x[0],
            g.constant([-1] * len(axes), np.int64),
            g.constant(ends, np.int64),
            g.constant(axes, np.int64),
            g.constant([-1] * len(axes), np.int64),
        ],
        out,
    )


def _tile(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    from ...layers.others import _tile_layout

    shape, reps = _tile_layout(g.input_shape(layer), _axes(layer.props["reps"]))
    reshaped = g.node("Reshape", [x[0], g.constant([-1, *shape], np.int64)])
    g.node("Tile", [reshaped, g.constant([1, *reps], np.int64)], out)


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "repeat": "edge"}


def _pad(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    from ...layers.others import _pad_pairs

    pairs = [(0, 0)] + _pad_pairs(layer.props["pad_width"], len(g.input_shape(layer)))
    pads = g.constant([before for before, _ in pairs] + [after for _, after in pairs], np.int64)
    mode = _PAD_MODES[layer.props["mode"]]
    inputs = [x[0], pads] + ([g.constant(float(layer.props["constant_value"]))] if mode == "constant" else [])
    g.node("Pad", inputs, out, mode=mode)


def _clip_by_value(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Min", [g.node("Max", [x[0], x[1]]), x[2]], out)


def _with_batch(g: _Graph, x: str, sample: Sequence[int]) -> str:
    """The shape [N, *sample] as a tensor, N read from ``x`` (opset 17's Resize takes no axes)."""
    batch = g.node("Slice", [g.node("Shape", [x]), g.constant([0], np.int64), g.constant([1], np.int64)])
    return g.node("Concat", [batch, g.constant(list(sample), np.int64)], axis=0)


def _interpolate(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """Linear, output index o reading input position o (n-1)/(size-1) (align_corners) or o n/size."""
    mode = "align_corners" if layer.props["align_corners"] else "asymmetric"
    sizes = _with_batch(g, x[0], layer.inferred_shape)
    g.node("Resize", [x[0], "", "", sizes], out, mode="linear", coordinate_transformation_mode=mode)


def _one_hot(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """1 at the row-major place of the indices in the last axis, 0 elsewhere: the place as a product
    of the indices with the classes' strides, compared with every place."""
    classes = _axes(layer.props["shape"])
    strides = [prod(classes[k + 1 :]) for k in range(len(classes))]
    place = g.node("MatMul", [x[0], g.constant([[stride] for stride in strides])])  # (..., 1)
    hits = _as_float(g, g.node("Equal", [place, g.constant(np.arange(prod(classes)))]))  # (..., prod(classes))
    g.node("Reshape", [hits, g.constant([-1, *layer.inferred_shape], np.int64)], out)


def _eye(g: _Graph, size: int) -> str:
    return g.constant(np.eye(size, dtype=bool), bool)


def _matrix_diag(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """o[..., j, k] = i[..., j] where j = k, else 0 (chosen, not multiplied: an inf stays off the rest)."""
    size = layer.inferred_shape[-1]
    column = g.node("Unsqueeze", [x[0], g.constant([-1], np.int64)])  # (..., n, 1)
    g.node("Where", [_eye(g, size), column, g.constant(0.0)], out)


def _matrix_diag_part(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """o[..., j] = i[..., j, j]: the diagonal's places in each matrix read flat."""
    size = layer.inferred_shape[-1]
    flat = g.node("Reshape", [x[0], g.constant([-1, *layer.inferred_shape[:-1], size * size], np.int64)])
    g.node("Gather", [flat, g.constant([j * (size + 1) for j in range(size)], np.int64)], out, axis=-1)


def _clip_by_norm(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """clip_norm i / max(||i||, clip_norm), the L2 norm over axis."""
    clip = g.constant(float(layer.props["clip_norm"]))
    axes = g.constant([_axis(a) for a in _axes(layer.props["axis"])], np.int64)
    norm = g.node("Sqrt", [g.node("ReduceSum", [g.node("Mul", [x[0], x[0]]), axes], keepdims=1)])
    g.node("Div", [g.node("Mul", [x[0], clip]), g.node("Max", [norm, clip])], out)


def _kl_multinomial(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """sum p (ln(p + 1e-8) - ln(q + 1e-8)) over the axes from base_axis on."""
    eps = g.constant(1e-8)
    logs = [g.node("Log", [g.node("Add", [value, eps])]) for value in x[:2]]
    terms = g.node("Mul", [x[0], g.node("Sub", logs)])
    axes = list(range(_axis(layer.props["base_axis"]), len(g.input_shape(layer)) + 1))
    total = g.node("ReduceSum", [terms, g.constant(axes, np.int64)], keepdims=1)
    g.node("Reshape", [total, g.constant([-1, *layer.inferred_shape], np.int64)], out)


def _sort(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """The values along axis in order, or with only_index their source positions: ONNX's TopK of all of
    them (ascending unless reverse; the lower index first among equals, as nnspec's stable sort)."""
    axis = layer.props["axis"]  # negative: counted from the last axis, as ONNX counts it too
    size = g.constant([layer.inferred_shape[axis]], np.int64)
    axis = _axis(axis) if axis >= 0 else axis
    largest = int(bool(layer.props["reverse"]))
    values = f"{out}/values" if layer.props["only_index"] else out
    indices = f"{out}/indices"
    g.nodes.append(g.helper.make_node("TopK", [x[0], size], [values, indices], name=values, axis=axis, largest=largest))
    if layer.props["only_index"]:
        _as_float(g, indices, out)


def _recurrent_step(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """A RecurrentInput's copy for step t: the input's slice t along axis, that axis removed."""
    step = g.constant(layer.props["step"], np.int64)  # a scalar index: Gather drops the axis
    g.node("Gather", [x[0], step], out, axis=_axis(layer.props["axis"]))


def _broadcast(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """Size-1 axes repeated to the output's shape; a leading 1 leaves the batch as it is."""
    g.node("Expand", [x[0], g.constant([1, *layer.inferred_shape], np.int64)], out)


def _dropout_refusal(layer: Layer) -> str | None:
    return "applied in this view (training, or skip_at_test: false): its random mask is nnspec's own draw"


# --- the normalisations nnspec computes from each sample's own statistics ----------------------------


def _standardized(g: _Graph, x: str, axes: list[int], epsilon: float) -> str:
    """(x - mean) / sqrt(var + epsilon), mean and biased variance over ``axes`` (ONNX axes)."""
    centred = g.node("Sub", [x, g.node("ReduceMean", [x], axes=axes, keepdims=1)])
    variance = g.node("ReduceMean", [g.node("Mul", [centred, centred])], axes=axes, keepdims=1)
    return g.node("Div", [centred, g.node("Sqrt", [g.node("Add", [variance, g.constant(epsilon)])])])


def _scaled(g: _Graph, layer: Layer, xhat: str, out: str) -> None:
    """xhat gamma + beta, the parameters in nnabla's layout (a leading 1 that broadcasts over the batch)."""
    g.node("Add", [g.node("Mul", [xhat, g.parameter(layer, "gamma")]), g.parameter(layer, "beta")], out)


def _sample_axes(layer: Layer, rank: int, also_kept: set[int]) -> list[int]:
    """The ONNX axes a per-sample normalization reduces: a sample's, but those ``also_kept`` and a
    batch_axis naming one of them (statistics per index of it, nnabla's second batch axis)."""
    batch_axis = layer.props.get("batch_axis", -1)
    kept = also_kept | ({_axis(batch_axis)} if batch_axis >= 0 else set())
    return [axis for axis in range(1, rank + 1) if axis not in kept]


def _layer_normalization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = _sample_axes(layer, len(layer.inferred_shape), set())
    _scaled(g, layer, _standardized(g, x[0], axes, float(layer.props["epsilon"])), out)


def _instance_normalization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = _sample_axes(layer, len(layer.inferred_shape), {_axis(layer.props["channel_axis"])})
    _scaled(g, layer, _standardized(g, x[0], axes, float(layer.props["epsilon"])), out)


def _group_normalization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """The channel axis split into (num_groups, C / num_groups), standardised over all but the group axis."""
    shape, channel, groups = layer.inferred_shape, layer.props["channel_axis"], layer.props["num_groups"]
    grouped_shape = [*shape[:channel], groups, shape[channel] // groups, *shape[channel + 1 :]]
    grouped = g.node("Reshape", [x[0], g.constant([-1, *grouped_shape], np.int64)])
    batch_axis = layer.props.get("batch_axis", -1)  # in the grouped shape, one further on past the channel
    kept = {channel + 1} | ({batch_axis + 1 if batch_axis < channel else batch_axis + 2} if batch_axis >= 0 else set())
    axes = [axis for axis in range(1, len(grouped_shape) + 1) if axis not in kept]
    xhat = _standardized(g, grouped, axes, float(layer.props["epsilon"]))
    _scaled(g, layer, g.node("Reshape", [xhat, g.constant([-1, *shape], np.int64)]), out)


# --- the rest ------------------------------------------------------------------------------------


def _difference(g: _Graph, x: list[str]) -> str:
    return g.node("Abs", [g.node("Sub", x[:2])])


def _huber_loss(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    delta = float(layer.props["delta"])
    d = _difference(g, x)
    linear = g.node("Mul", [g.node("Sub", [g.node("Mul", [d, g.constant(2.0)]), g.constant(delta)]), g.constant(delta)])
    g.node("Where", [g.node("Less", [d, g.constant(delta)]), g.node("Mul", [d, d]), linear], out)


def _epsilon_insensitive_loss(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    epsilon = g.constant(float(layer.props["epsilon"]))
    d = _difference(g, x)
    g.node("Where", [g.node("Greater", [d, epsilon]), g.node("Sub", [d, epsilon]), g.constant(0.0)], out)


def _binary_error(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    half = g.constant(0.5)
    guessed, meant = (g.node("GreaterOrEqual", [value, half]) for value in x[:2])
    _as_float(g, g.node("Xor", [guessed, meant]), out)


def _step(low: float) -> Op:
    """BinarySigmoid (low 0) and BinaryTanh (low -1): 1 above 0, low elsewhere."""
    return Op(
        lambda g, layer, x, out: g.node(
            "Where", [g.node("Greater", [x[0], g.constant(0.0)]), g.constant(1.0), g.constant(low)], out
        )
    )


def _cumulative_sum(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axis = g.constant(_axis(layer.props["axis"]), np.int64)
    g.node(
        "CumSum",
        [x[0], axis],
        out,
        exclusive=int(bool(layer.props["exclusive"])),
        reverse=int(bool(layer.props["reverse"])),
    )


def _sinc(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """sin(i) / i, 1 at i = 0."""
    zero = g.node("Equal", [x[0], g.constant(0.0)])
    safe = g.node("Where", [zero, g.constant(1.0), x[0]])
    g.node("Where", [zero, g.constant(1.0), g.node("Div", [g.node("Sin", [safe]), safe])], out)


def _reset(test: str) -> Op:
    """ResetNaN and ResetInf: 0 where the test holds."""
    return Op(lambda g, layer, x, out: g.node("Where", [g.node(test, x[:1]), g.constant(0.0), x[0]], out))


def _embed(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """W's rows at the class indices (truncated toward 0, as nnabla's int cast)."""
    g.node("Gather", [g.parameter(layer, "W"), g.node("Cast", x[:1], to=INT64)], out, axis=0)


def _unpooling(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """Each value repeated k times along each kernel axis: nearest-neighbour resizing by whole factors."""
    kernel = list(layer.props["kernel_shape"])
    scales = [1.0] * (len(layer.inferred_shape) + 1 - len(kernel)) + [float(k) for k in kernel]
    g.node(
        "Resize",
        [x[0], "", g.constant(scales)],
        out,
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )


def _norm(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's (sum |i|^p)^(1/p) in float64 with the largest magnitude s taken out (s (sum |i/s|^p)^(1/p):
    no term overflows, and p = inf gives s)."""
    p = float(layer.props["p"])
    axes = [_axis(a) for a in _axes(layer.props["axes"])]
    magnitude = g.node("Abs", [_double(g, x[0])])
    peak = _reduce_max(g, magnitude, axes)
    finite = g.node("Not", [g.node("Or", [g.node("IsInf", [peak]), g.node("IsNaN", [peak])])])
    usable = g.node("And", [finite, g.node("Greater", [peak, _wide(g, 0.0)])])
    scale = g.node("Where", [usable, peak, _wide(g, 1.0)])
    total = _reduce_sum(g, g.node("Pow", [g.node("Div", [magnitude, scale]), _wide(g, p)]), axes)
    result = g.node("Mul", [scale, g.node("Pow", [total, _wide(g, 1.0 / p)])])
    g.node("Reshape", [_single(g, result), g.constant([-1, *layer.inferred_shape], np.int64)], out)


# --- computed in float64, as nnspec's numpy computes them ------------------------------------------
#
# Where nnspec's numpy widens to float64 and rounds once to float32 at the end, the graph does the
# same (Cast to double and back): onnxruntime's double kernels then round as numpy does, and a sum
# or a running product taken in float32 would not.


def _summed(g: _Graph, terms: Sequence[str]) -> str:
    """The terms added left to right, as nnspec accumulates them."""
    total = terms[0]
    for term in terms[1:]:
        total = g.node("Add", [total, term])
    return total


def _double(g: _Graph, x: str) -> str:
    return g.node("Cast", [x], to=DOUBLE)


def _single(g: _Graph, x: str, out: str | None = None) -> str:
    return g.node("Cast", [x], out, to=FLOAT)


def _wide(g: _Graph, value: Any) -> str:
    return g.constant(value, np.float64)


def _round_half_away(g: _Graph, x: str) -> str:
    """nnabla's round (C's: halves away from 0) of a float64 tensor: sign(x) floor(|x| + 0.5), exact in
    float64 for every float32 value (0.49999997 + 0.5 stays below 1 there, not in float32)."""
    magnitude = g.node("Floor", [g.node("Add", [g.node("Abs", [x]), _wide(g, 0.5)])])
    return g.node("Mul", [g.node("Sign", [x]), magnitude])


def _shifted(g: _Graph, x: str, rank: int, axis: int, size: int, by: int, fill: str) -> str:
    """x (of ``rank`` axes) moved ``by`` places along ``axis`` (of ``size``), ``fill`` coming in first:
    a Pad at the start, then a Slice of the first ``size``."""
    pads = [0] * (2 * rank)
    pads[axis] = by
    padded = g.node("Pad", [x, g.constant(pads, np.int64), fill], mode="constant")
    return g.node(
        "Slice",
        [padded, g.constant([0], np.int64), g.constant([size], np.int64), g.constant([axis], np.int64)],
    )


def _reversed(g: _Graph, x: str, axis: int) -> str:
    ends = [np.iinfo(np.int64).min]
    return g.node(
        "Slice",
        [
            x,
            g.constant([-1], np.int64),
            g.constant(ends, np.int64),
            g.constant([axis], np.int64),
            g.constant([-1], np.int64),
        ],
    )


def _cumulative_product(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's running product in float64, loop-free: the axis doubled log2(n) times (each place
    times the place 1, 2, 4... before it, Hillis and Steele's scan), zeros taken out first and put back
    as 0 from the first zero on (so an overflow to inf before a zero still gives 0, not NaN)."""
    axis = _axis(layer.props["axis"])
    size = g.input_shape(layer)[layer.props["axis"]]
    rank = len(g.input_shape(layer)) + 1
    one = _wide(g, 1.0)
    values = _double(g, x[0])
    if layer.props["reverse"]:
        values = _reversed(g, values, axis)
    if layer.props["exclusive"]:
        values = _shifted(g, values, rank, axis, size, 1, one)
    zero = g.node("Equal", [values, _wide(g, 0.0)])
    reached = g.node(
        "Greater",
        [g.node("CumSum", [g.node("Cast", [zero], to=DOUBLE), g.constant(axis, np.int64)]), _wide(g, 0.0)],
    )
    running = g.node("Where", [zero, one, values])
    step = 1
    while step < size:
        running = g.node("Mul", [running, _shifted(g, running, rank, axis, size, step, one)])
        step *= 2
    result = g.node("Where", [reached, _wide(g, 0.0), running])
    if layer.props["reverse"]:
        result = _reversed(g, result, axis)
    _single(g, result, out)


def _sign_bit(g: _Graph, x: str) -> str:
    """Whether x is negative, -0 included (1 / -0 is -inf): atan2 tells +0 from -0."""
    zero = g.constant(0.0)
    negative_zero = g.node(
        "And", [g.node("Equal", [x, zero]), g.node("Less", [g.node("Div", [g.constant(1.0), x]), zero])]
    )
    return g.node("Or", [g.node("Less", [x, zero]), negative_zero])


def _atan2(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """C's atan2(y, x), numpy's and nnabla's: atan(y / x), plus pi (y's sign) where x is negative
    or -0; where y / x is 0 / 0 or inf / inf, the limits C gives (y itself or +-pi, +-pi/4 or +-3pi/4)."""
    y, x_ = x[0], x[1]
    pi = float(np.pi)
    x_negative, y_negative = _sign_bit(g, x_), _sign_bit(g, y)

    def by_y_sign(value: float) -> str:
        return g.node("Where", [y_negative, g.constant(-value), g.constant(value)])

    half_turn = by_y_sign(pi)
    ratio = g.node("Atan", [g.node("Div", [y, x_])])
    general = g.node("Where", [x_negative, g.node("Add", [ratio, half_turn]), ratio])  # + 0 would lose a -0
    zero = g.constant(0.0)
    both_zero = g.node("And", [g.node("Equal", [y, zero]), g.node("Equal", [x_, zero])])
    both_infinite = g.node("And", [g.node("IsInf", [y]), g.node("IsInf", [x_])])
    at_zero = g.node("Where", [x_negative, half_turn, y])
    at_infinity = g.node("Where", [x_negative, by_y_sign(3 * pi / 4), by_y_sign(pi / 4)])
    angle = g.node("Where", [both_zero, at_zero, g.node("Where", [both_infinite, at_infinity, general])])
    # atan2 has y's sign, -0 included; onnxruntime's Where can turn a chosen -0 into +0, so the sign is
    # put back by a product
    g.node("Mul", [g.node("Abs", [angle]), g.node("Where", [y_negative, g.constant(-1.0), g.constant(1.0)])], out)


def _broadcast_to(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """The second input's axes lined up with the first's leading ones (size-1 axes after), then expanded."""
    target = layer.inferred_shape
    source = g.first_input_of(layer, 1)
    lined_up = [*source, *[1] * (len(target) - len(source))]
    reshaped = g.node("Reshape", [x[1], g.constant([-1, *lined_up], np.int64)])
    g.node("Expand", [reshaped, g.constant([1, *target], np.int64)], out)


def _shift(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """Each shifted axis read at the indices nnspec reads (the borders as border_mode says): a Gather."""
    from ...layers.others import _shift_source, _trailing

    sample = g.input_shape(layer)
    amounts = _trailing(layer.props["shift"], len(sample), 0, "shift")
    value = x[0]
    for axis, amount in enumerate(amounts):
        if amount:
            indices = _shift_source(sample[axis], amount, layer.props["border_mode"])
            value = g.node("Gather", [value, g.constant(indices, np.int64)], axis=axis + 1)
    g.node("Identity", [value], out)


def _top_k_data(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """The k largest (of |i| with abs) of each sample from base_axis on: TopK's indices (the lower index
    first among equals, as nnspec's stable sort), their values gathered; without reduce, scattered
    into zeros of the input's shape."""
    base = layer.props["base_axis"]
    sample = g.input_shape(layer)
    flat = g.node("Reshape", [x[0], g.constant([-1, *sample[:base], prod(sample[base:])], np.int64)])
    key = g.node("Abs", [flat]) if layer.props["abs"] else flat
    k = g.constant([layer.props["k"]], np.int64)
    indices = f"{out}/indices"
    g.nodes.append(
        g.helper.make_node("TopK", [key, k], [f"{out}/keys", indices], name=f"{out}/topk", axis=-1, largest=1, sorted=1)
    )
    values = g.node("GatherElements", [flat, indices], axis=-1)
    if layer.props["reduce"]:
        g.node("Identity", [values], out)
        return
    zeros = g.node("ConstantOfShape", [g.node("Shape", [flat])])
    kept = g.node("ScatterElements", [zeros, indices, values], axis=-1)
    g.node("Reshape", [kept, g.constant([-1, *layer.inferred_shape], np.int64)], out)


# --- quantizers: nnspec's float32 arithmetic, step by step ------------------------------------------


def _fixed_point_quantize(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """sign(i) floor(|i| / delta + 0.5) delta within min..max: the division in float32, the + 0.5 and
    the floor in float64 (as nnspec: float32 would carry 0.49999997 up to 1), clipped after."""
    from ...layers.quantize import fixed_point_bounds

    delta, low, high = fixed_point_bounds(layer.props, np.float32)
    delta_, low_, high_ = g.constant(float(delta)), g.constant(float(low)), g.constant(float(high))
    steps = _double(g, g.node("Div", [g.node("Abs", x[:1]), delta_]))
    whole = g.node("Floor", [g.node("Add", [steps, _wide(g, 0.5)])])
    magnitude = g.node("Mul", [_single(g, whole), delta_])
    inside = g.node("Where", [g.node("Less", [x[0], g.constant(0.0)]), g.node("Neg", [magnitude]), magnitude])
    below = g.node("Where", [g.node("Less", [x[0], low_]), low_, inside])
    g.node("Where", [g.node("Greater", [x[0], high_]), high_, below], out)


def _pow2_levels(props: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return _pow2_table(bool(props["sign"]), bool(props["with_zero"]), int(props["n"]), int(props["m"]))


@functools.lru_cache(maxsize=64)  # a bisection of ~0.2 s, the same for every layer of these settings
def _pow2_table(sign: bool, with_zero: bool, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, levels): Pow2Quantize of |i| for i >= 0 is levels[number of thresholds <= |i|].
    The thresholds are the float32 values where nnspec's output steps up, found by bisection over
    float32's bit patterns (its output only grows with |i|), so that the model rounds at exactly
    the inputs where numpy's log2 does."""
    from ...layers.quantize import pow2_quantize

    props = {"sign": sign, "with_zero": with_zero, "n": n, "m": m}

    def quantized(bits: np.ndarray) -> np.ndarray:
        return pow2_quantize([bits.astype(np.uint32).view(np.float32)], props, {})

    positive_inf = 0x7F800000
    thresholds, levels = [], [float(quantized(np.array([0]))[0])]
    start = 0
    while True:
        low, high = start, positive_inf  # the first pattern past ``start`` with a level above the last
        if quantized(np.array([high]))[0] <= levels[-1]:
            break
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if quantized(np.array([middle]))[0] <= levels[-1] else (low, middle)
        thresholds.append(np.array([high], np.uint32).view(np.float32)[0])
        levels.append(float(quantized(np.array([high]))[0]))
        start = high
    return np.array(thresholds, np.float32), np.array(levels, np.float32)


def _pow2_quantize(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """The level of |i| looked up among nnspec's (a Gather at the count of thresholds |i| reaches);
    negative inputs as the sign and with_zero say; NaN stays NaN."""
    from ...layers.quantize import pow2_bounds

    thresholds, levels = _pow2_levels(layer.props)
    magnitude = g.node("Unsqueeze", [g.node("Abs", x[:1]), g.constant([-1], np.int64)])
    reached = g.node("Cast", [g.node("GreaterOrEqual", [magnitude, g.constant(thresholds)])], to=INT64)
    level = g.node(
        "Gather", [g.constant(levels), g.node("ReduceSum", [reached, g.constant([-1], np.int64)], keepdims=0)]
    )
    if layer.props["sign"]:
        negative = g.node("Neg", [level])
    else:
        _, low, _ = pow2_bounds(layer.props, np.float32)
        negative = g.constant(0.0 if layer.props["with_zero"] else float(low))
    signed = g.node("Where", [g.node("Less", [x[0], g.constant(0.0)]), negative, level])
    g.node("Where", [g.node("IsNaN", x[:1]), x[0], signed], out)


def _round_single(g: _Graph, x: str) -> str:
    """nnabla's round of a float32 tensor, computed in float64 and exact back in float32."""
    return _single(g, _round_half_away(g, _double(g, x)))


def _min_max_quantize(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's float32 steps: R raised to r + epsilon where closer, scale (R - r) / (L - l), the zero
    point l - r / scale rounded within l..L, the nudged ends, then round((clip(i) - m) / s) s + m."""
    r, R, l_, L = (g.parameter(layer, name) for name in ("r", "R", "l", "L"))
    epsilon = g.constant(float(np.float32(layer.props["epsilon"])))
    widened = g.node("Add", [r, epsilon])
    R = g.node("Where", [g.node("Less", [g.node("Sub", [R, r]), epsilon]), widened, R])
    scale = g.node("Div", [g.node("Sub", [R, r]), g.node("Sub", [L, l_])])
    from_min = g.node("Sub", [l_, g.node("Div", [r, scale])])
    inside = g.node("Where", [g.node("GreaterOrEqual", [from_min, L]), L, _round_single(g, from_min)])
    zero_point = g.node("Where", [g.node("LessOrEqual", [from_min, l_]), l_, inside])
    low = g.node("Mul", [g.node("Sub", [l_, zero_point]), scale])
    high = g.node("Mul", [g.node("Sub", [L, zero_point]), scale])
    clipped = g.node("Min", [g.node("Max", [x[0], low]), high])
    levels = _round_single(g, g.node("Div", [g.node("Sub", [clipped, low]), scale]))
    g.node("Add", [g.node("Mul", [levels, scale]), low], out)


# --- binary weights: sign(W) in the graph, from the W nnabla stores ------------------------------------
#
# The initializer is W itself, as nnabla's parameter files hold it (Wb is never read: nnabla overwrites
# it), so that a model's weights are a file's; the binarised weight is a few nodes onnxruntime folds
# into a constant when it loads the model.


def _binarised(g: _Graph, weight: str) -> str:
    """sign(W), 0 counted as +1 (nnabla's quantize_zero_to)."""
    return g.node("Where", [g.node("Less", [weight, g.constant(0.0)]), g.constant(-1.0), g.constant(1.0)])


def _mean_magnitude(g: _Graph, weight: str, axes: list[int], count: int) -> str:
    """alpha: the sum of |W| over each output's weights (in float64: nnspec's float32 sum is pairwise,
    no order onnxruntime has) times float32(1 / count), as nnabla scales it."""
    total = g.node("ReduceSum", [_double(g, g.node("Abs", [weight])), g.constant(axes, np.int64)], keepdims=1)
    return g.node("Mul", [_single(g, total), g.constant(float(np.float32(1.0 / count)))])


def _binary_affine(scaled: bool) -> Emit:
    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        weight = g.parameters[layer.name]["W"]
        width = prod(layer.props["out_shape"])
        matrix = g.parameter(layer, "W", (weight.shape[0], width) if weight.ndim != 2 else None)
        binary = _binarised(g, matrix)
        if scaled:
            binary = g.node("Mul", [binary, _mean_magnitude(g, matrix, [0], weight.shape[0])])
        inputs = [g.node("Flatten", x[:1], axis=1), binary]
        if not scaled and "b" in g.parameters[layer.name]:
            inputs.append(g.parameter(layer, "b", (width,)))
        g.node("Reshape", [g.node("Gemm", inputs), g.constant([-1, *layer.props["out_shape"]], np.int64)], out)

    return emit


def _binary_convolution(scaled: bool) -> Emit:
    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        from ...layers.basic import conv_padding

        weight = g.parameter(layer, "W")
        shape = g.parameters[layer.name]["W"].shape
        binary = _binarised(g, weight)
        if scaled:
            binary = g.node("Mul", [binary, _mean_magnitude(g, weight, list(range(1, len(shape))), prod(shape[1:]))])
        inputs = [x[0], binary]
        if not scaled and "b" in g.parameters[layer.name]:
            inputs.append(g.parameter(layer, "b"))
        attributes = _conv_attributes(layer, conv_padding(layer.props))
        g.node("Conv", inputs, out, group=layer.props["group"], **attributes)

    return emit


# --- the weight normalizations and their kin: nnspec's float64 formulas ---------------------------------


def _axes_attribute(axes: list[int] | None) -> dict[str, Any]:
    """opset 17's ReduceMax/ReduceMean take axes as an attribute; none given: every axis."""
    return {"axes": axes} if axes else {}


def _reduce_max(g: _Graph, x: str, axes: list[int] | None) -> str:
    return g.node("ReduceMax", [x], keepdims=1, **_axes_attribute(axes))


def _reduce_sum(g: _Graph, x: str, axes: list[int] | None) -> str:
    return g.node("ReduceSum", [x] + ([g.constant(axes, np.int64)] if axes else []), keepdims=1)


def _reduce_mean(g: _Graph, x: str, axes: list[int] | None) -> str:
    return g.node("ReduceMean", [x], keepdims=1, **_axes_attribute(axes))


def _largest_magnitude(g: _Graph, w: str, axes: list[int] | None) -> str:
    """s, the largest |w| over axes, 1 where that is 0 (nnspec scales by it to keep squares finite)."""
    s = _reduce_max(g, g.node("Abs", [w]), axes)
    return g.node("Where", [g.node("Greater", [s, _wide(g, 0.0)]), s, _wide(g, 1.0)])


def _standardized_wide(g: _Graph, w: str, axes: list[int], epsilon: float) -> str:
    """nnspec's _standardize: d / hypot(sqrt(var(u)), sqrt(eps) / s), u = w / s, d = u - mean(u)."""
    s = _largest_magnitude(g, w, axes)
    u = g.node("Div", [w, s])
    d = g.node("Sub", [u, _reduce_mean(g, u, axes)])
    variance = _reduce_mean(g, g.node("Mul", [d, d]), axes)
    floor = g.node("Div", [_wide(g, float(np.sqrt(epsilon))), s])
    return g.node("Div", [d, g.node("Sqrt", [g.node("Add", [variance, g.node("Mul", [floor, floor])])])])


def _all_axes_but(layer: Layer, g: _Graph, kept: int) -> list[int]:
    """Every ONNX axis, the batch axis included (these layers' statistics run over it), but ``kept``."""
    return [axis for axis in range(len(g.input_shape(layer)) + 1) if axis != kept]


def _weight_standardization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    axes = _all_axes_but(layer, g, _axis(layer.props["channel_axis"]))
    _single(g, _standardized_wide(g, _double(g, x[0]), axes, float(layer.props["epsilon"])), out)


def _along_axis(g: _Graph, layer: Layer, name: str, axis: int) -> str:
    """A parameter vector laid along ONNX axis ``axis`` of the layer's input, in float64."""
    shape = [1] * (len(g.input_shape(layer)) + 1)
    shape[axis] = -1
    vector = g.node("Reshape", [g.parameter(layer, name), g.constant(shape, np.int64)])
    return _double(g, vector)


def _weight_normalization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """g w / sqrt(sum of w^2 + epsilon), the sum over every axis but dim (the batch axis too)."""
    axis = _axis(layer.props["dim"])
    w = _double(g, x[0])
    total = _reduce_sum(g, g.node("Mul", [w, w]), _all_axes_but(layer, g, axis))
    norm = g.node("Sqrt", [g.node("Add", [total, _wide(g, float(layer.props["epsilon"]))])])
    _single(g, g.node("Div", [g.node("Mul", [_along_axis(g, layer, "g", axis), w]), norm]), out)


def _norm_normalization(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's i / (sum |i|^p + epsilon)^(1/p) with the largest magnitude s taken out first."""
    p, epsilon = float(layer.props["p"]), float(layer.props["epsilon"])
    axes = [axis + 1 for axis in sorted(layer.props["axes"])] or None  # none given: every axis, the batch's too
    w = _double(g, x[0])
    s = _largest_magnitude(g, w, axes)
    u = g.node("Div", [w, s])
    total = _reduce_sum(g, g.node("Pow", [g.node("Abs", [u]), _wide(g, p)]), axes)
    root = _wide(g, 1.0 / p)
    if epsilon == 0:
        _single(g, g.node("Div", [u, g.node("Pow", [total, root])]), out)
        return
    sp = g.node("Pow", [s, _wide(g, p)])
    eps = _wide(g, epsilon)
    small = g.node("Div", [w, g.node("Pow", [g.node("Add", [g.node("Mul", [sp, total]), eps]), root])])
    large = g.node("Div", [u, g.node("Pow", [g.node("Add", [total, g.node("Div", [eps, sp])]), root])])
    _single(g, g.node("Where", [g.node("LessOrEqual", [sp, _wide(g, 1.0)]), small, large]), out)


def _unit_vector(g: _Graph, v: str, epsilon: str) -> str:
    return g.node(
        "Div", [v, g.node("Sqrt", [g.node("Add", [g.node("ReduceSum", [g.node("Mul", [v, v])], keepdims=1), epsilon])])]
    )


def _spectral_norm(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """i / sigma: i as a (size of dim, rest) matrix, the batch axis among the rest (nnabla's, given NNC's
    axis + 1), sigma = u' M v after itr + 1 power iterations from u, in float64."""
    axis = _axis(layer.props["dim"])
    rank = len(g.input_shape(layer)) + 1
    w = _double(g, x[0])
    moved = g.node("Transpose", [w], perm=[axis, *(a for a in range(rank) if a != axis)])
    matrix = g.node("Reshape", [moved, g.constant([g.input_shape(layer)[layer.props["dim"]], -1], np.int64)])
    transposed = g.node("Transpose", [matrix], perm=[1, 0])
    epsilon = _wide(g, float(layer.props["epsilon"]))
    u = _double(g, g.node("Reshape", [g.parameter(layer, "u"), g.constant([-1, 1], np.int64)]))  # a column
    v = u
    for _ in range(layer.props["itr"] + 1):
        v = _unit_vector(g, g.node("MatMul", [transposed, u]), epsilon)
        u = _unit_vector(g, g.node("MatMul", [matrix, v]), epsilon)
    sigma = g.node("MatMul", [g.node("MatMul", [g.node("Transpose", [u], perm=[1, 0]), matrix]), v])  # (1, 1)
    _single(g, g.node("Div", [w, g.node("Reshape", [sigma, g.constant([1], np.int64)])]), out)


def _vat_noise(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """epsilon i / sqrt(sum of i^2 + 1e-8) over the axes from base_axis on, in float64 (Buf is not read)."""
    axes = list(range(_axis(layer.props["base_axis"]), len(g.input_shape(layer)) + 1))
    w = _double(g, x[0])
    norm = g.node("Sqrt", [g.node("Add", [_reduce_sum(g, g.node("Mul", [w, w]), axes), _wide(g, 1e-8)])])
    scaled = g.node("Mul", [_wide(g, float(layer.props["epsilon"])), w])
    _single(g, g.node("Div", [scaled, norm]), out)


# --- arrays of their own, matrices, transforms -------------------------------------------------------


def _own_array(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """A Parameter's (or an unlinked WorkingMemory's) array, the same for every sample: its initializer
    expanded to [N, *size], N read from a graph input."""
    if x:  # a WorkingMemory linked from a layer holds that layer's output
        g.node("Identity", x[:1], out)
        return
    shape = layer.inferred_shape
    value = g.parameter(layer, "value", (1, *shape))
    g.node("Expand", [value, _with_batch(g, g.batch_source(), shape)], out)


def _batch_det(g: _Graph, layer: Layer, x: list[str], out: str | None) -> str:
    """ONNX's Det (float32: onnxruntime has no float64 Det), one (1,) value a sample."""
    return g.node("Unsqueeze", [g.node("Det", x[:1]), g.constant([1], np.int64)], out)


def _batch_inv(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """Each sample's inverse by Gauss-Jordan elimination with partial pivoting, unrolled over the n
    columns, in float64 (ONNX has no inverse): [A | I] reduced to [I | A^-1]. The pivot is the
    column's largest magnitude from the diagonal down (the first among equals, as LAPACK's), swapped
    in by a Gather of the rows; a zero pivot is a singular matrix, all NaN (nnspec's det = 0)."""
    n = layer.inferred_shape[-1]
    rows = np.arange(n)
    matrix = g.node(
        "Concat",
        [_double(g, x[0]), g.node("Expand", [g.constant(np.eye(n)[None], np.float64), g.node("Shape", [x[0]])])],
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
        zero_pivot = g.node("Equal", [pivot, _wide(g, 0.0)])
        singular = zero_pivot if singular is None else g.node("Or", [singular, zero_pivot])
        pivot_values = g.node("Div", [sliced(matrix, [k], [k + 1], [1]), pivot])  # row k / pivot: (N, 1, 2n)
        factors = sliced(matrix, [k], [k + 1], [2])  # (N, n, 1)
        eliminated = g.node("Sub", [matrix, g.node("Mul", [factors, pivot_values])])
        matrix = g.node("Where", [g.constant((rows == k)[:, None], bool), pivot_values, eliminated])
    inverse = g.node(
        "Slice", [matrix, g.constant([n], np.int64), g.constant([2 * n], np.int64), g.constant([2], np.int64)]
    )
    nan = _wide(g, float("nan"))
    assert singular is not None  # n >= 1: one pivot at least
    _single(g, g.node("Where", [singular, nan, inverse]), out)


def _batch_logdet(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    g.node("Log", [g.node("Abs", [_batch_det(g, layer, x, None)])], out)


def _fourier(inverse: bool) -> Emit:
    """nnabla's FFT/IFFT: complex values as (real, imaginary) on the last axis, which is ONNX's DFT
    layout; one DFT (opset 17) per signal axis, in float64 as nnspec's numpy; normalized: 1/sqrt(N)
    either way (ONNX's inverse divides by N, so that is taken back times sqrt(N))."""

    def emit(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
        sample = g.input_shape(layer)
        ndim = layer.props["signal_ndim"]
        axes = range(len(sample) - ndim, len(sample))  # ONNX axes of the signal: the last before (re, im)
        value = _double(g, x[0])
        for axis in axes:
            value = g.node("DFT", [value], axis=axis, inverse=int(inverse), onesided=0)
        if layer.props["normalized"]:
            size = prod(sample[len(sample) - 1 - ndim : -1])
            value = g.node("Mul", [value, _wide(g, float(np.sqrt(size)) if inverse else 1.0 / float(np.sqrt(size)))])
        _single(g, value, out)

    return emit


def _image_augmentation(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """What evaluation computes of a layer not skipped, the same for every sample: each output pixel
    the sum of its four neighbours' values times their bilinear weights (nnspec's float32 weights and
    order, a Gather and a Mul each), then (o + shift) gain + contrast_center per channel."""
    from ...layers.augmentation import evaluation_warp

    sample, shape = g.input_shape(layer), layer.inferred_shape
    channels = prod(sample[:-2])
    corners, (shift, gain) = evaluation_warp(tuple(sample[-2:]), tuple(shape[-2:]), channels, layer.props)
    flat = g.node("Reshape", [x[0], g.constant([-1, channels, sample[-2] * sample[-1]], np.int64)])
    terms = [
        g.node(
            "Mul", [g.node("Gather", [flat, g.constant(index.ravel(), np.int64)], axis=2), g.constant(weight.ravel())]
        )
        for index, weight in corners
    ]
    total = _summed(g, terms)
    along_channels = (1, channels, 1)
    shifted = g.node("Add", [total, g.constant(shift.reshape(along_channels))])
    toned = g.node("Mul", [shifted, g.constant(gain.reshape(along_channels))])
    centred = g.node("Add", [toned, g.constant(float(np.float32(layer.props["contrast_center"])))])
    g.node("Reshape", [centred, g.constant([-1, *shape], np.int64)], out)


def _deformable_convolution(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's modulated deformable convolution in float64, in opset 17's operators (ONNX's DeformConv
    is opset 19): each tap's fractional position (a constant grid plus its offset, read where the
    output's window starts), its four neighbours gathered and weighted (0 outside the image, as
    nnabla's im2col_bilinear), scaled by the mask, then each group's kernels as a MatMul."""
    from ...layers.basic import _conv_lengths, conv_padding

    props = layer.props
    channels, height, width = g.input_shape(layer)
    (kh, kw), (sh, sw), (dh, dw) = props["kernel_shape"], props["strides"], props["dilation"]
    ph, pw = conv_padding(props)
    out_h, out_w = _conv_lengths((height, width), props)
    groups, taps, group = props["deformable_group"], kh * kw, props["group"]
    cg = channels // groups

    def at_outputs(value: str, shape: list[int]) -> str:
        """(N, *shape, H, W) read at the input positions where the outputs' windows start."""
        grid = g.node("Reshape", [_double(g, value), g.constant([-1, *shape, height, width], np.int64)])
        axes = [len(shape) + 1, len(shape) + 2]
        ends = [out_h * sh, out_w * sw]
        return g.node(
            "Slice",
            [
                grid,
                g.constant([0, 0], np.int64),
                g.constant(ends, np.int64),
                g.constant(axes, np.int64),
                g.constant([sh, sw], np.int64),
            ],
        )

    shift = at_outputs(x[1], [groups, taps, 2])  # (N, G, taps, 2, out_h, out_w)
    scale = at_outputs(x[2], [groups, taps])
    tap_h = (np.arange(kh) * dh).repeat(kw)[:, None, None]
    tap_w = np.tile(np.arange(kw) * dw, kh)[:, None, None]
    base_rows = (np.arange(out_h) * sh)[None, :, None] + tap_h - ph + np.zeros((1, 1, out_w))
    base_cols = (np.arange(out_w) * sw)[None, None, :] + tap_w - pw + np.zeros((1, out_h, 1))

    def part(index: int) -> str:
        picked = g.node("Gather", [shift, g.constant(index, np.int64)], axis=3)  # (N, G, taps, out_h, out_w)
        return g.node("Reshape", [picked, g.constant([-1, groups, taps * out_h * out_w], np.int64)])

    flat_grid = [-1, 1, taps * out_h * out_w]
    rows = g.node("Add", [g.constant(base_rows.reshape(flat_grid[1:]), np.float64), part(0)])  # (N, G, P)
    cols = g.node("Add", [g.constant(base_cols.reshape(flat_grid[1:]), np.float64), part(1)])
    image = g.node("Reshape", [_double(g, x[0]), g.constant([-1, groups, cg, height * width], np.int64)])
    zero, one = _wide(g, 0.0), _wide(g, 1.0)

    def test(op: str, value: str, bound: float) -> str:
        return g.node(op, [value, _wide(g, bound)])

    inside = g.node(
        "And",
        [
            g.node("And", [test("Greater", rows, -1), test("Greater", cols, -1)]),
            g.node("And", [test("Less", rows, height), test("Less", cols, width)]),
        ],
    )
    low_h, low_w = g.node("Floor", [rows]), g.node("Floor", [cols])
    terms = []
    for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        r = g.node("Add", [low_h, _wide(g, float(dr))])
        c = g.node("Add", [low_w, _wide(g, float(dc))])
        weight = g.node(
            "Mul",
            [
                g.node("Sub", [one, g.node("Abs", [g.node("Sub", [rows, r])])]),
                g.node("Sub", [one, g.node("Abs", [g.node("Sub", [cols, c])])]),
            ],
        )
        valid = inside
        for check in (
            test("GreaterOrEqual", r, 0),
            test("GreaterOrEqual", c, 0),
            test("LessOrEqual", r, height - 1),
            test("LessOrEqual", c, width - 1),
        ):
            valid = g.node("And", [valid, check])
        place = g.node("Where", [valid, g.node("Add", [g.node("Mul", [r, _wide(g, float(width))]), c]), zero])
        index = g.node("Unsqueeze", [g.node("Cast", [place], to=INT64), g.constant([2], np.int64)])  # (N, G, 1, P)
        index = g.node("Expand", [index, g.constant([1, 1, cg, 1], np.int64)])
        values = g.node("GatherElements", [image, index], axis=3)  # (N, G, Cg, P)
        gain = g.node("Unsqueeze", [g.node("Where", [valid, weight, zero]), g.constant([2], np.int64)])
        terms.append(g.node("Mul", [values, gain]))
    sampled = g.node("Reshape", [_summed(g, terms), g.constant([-1, groups, cg, taps, out_h, out_w], np.int64)])
    columns = g.node("Mul", [sampled, g.node("Unsqueeze", [scale, g.constant([2], np.int64)])])
    weights = g.parameters[layer.name]["W"]
    per_in, per_out = channels // group, weights.shape[0] // group
    columns = g.node("Reshape", [columns, g.constant([-1, group, per_in * taps, out_h * out_w], np.int64)])
    kernels = _double(g, g.parameter(layer, "W", (group, per_out, per_in * taps)))
    result = g.node(
        "Reshape", [g.node("MatMul", [kernels, columns]), g.constant([-1, weights.shape[0], out_h, out_w], np.int64)]
    )
    if "b" in g.parameters[layer.name]:
        result = g.node("Add", [result, _double(g, g.parameter(layer, "b", (weights.shape[0], 1, 1)))])
    _single(g, result, out)


def _columns(g: _Graph, x: str, start: int, end: int) -> str:
    """Columns start..end of the last axis of (N, boxes, 5 + classes)."""
    return g.node("Slice", [x, g.constant([start], np.int64), g.constant([end], np.int64), g.constant([2], np.int64)])


def _overlaps(g: _Graph, boxes: str) -> str:
    """(N, B, B): the overlap ratio of box i with box j, nnspec's _iou in float32 (0 where they do not
    overlap), from the (x, y, w, h) centre and size of each."""
    centre, size = _columns(g, boxes, 0, 2), _columns(g, boxes, 2, 4)
    half = g.node("Div", [size, g.constant(2.0)])
    low, high = g.node("Sub", [centre, half]), g.node("Add", [centre, half])

    def pairs(value: str) -> tuple[str, str]:  # (N, B, 1, 2) against (N, 1, B, 2)
        return (
            g.node("Unsqueeze", [value, g.constant([2], np.int64)]),
            g.node("Unsqueeze", [value, g.constant([1], np.int64)]),
        )

    (high_i, high_j), (low_i, low_j) = pairs(high), pairs(low)
    overlap = g.node("Sub", [g.node("Min", [high_i, high_j]), g.node("Max", [low_i, low_j])])  # (N, B, B, 2)

    def part(value: str, index: int) -> str:
        return g.node(
            "Squeeze",
            [
                g.node(
                    "Slice",
                    [
                        value,
                        g.constant([index], np.int64),
                        g.constant([index + 1], np.int64),
                        g.constant([-1], np.int64),
                    ],
                ),
                g.constant([-1], np.int64),
            ],
        )

    w, h = part(overlap, 0), part(overlap, 1)
    intersection = g.node("Mul", [w, h])
    area = g.node("Mul", [part(size, 0), part(size, 1)])  # (N, B)
    area_i = g.node("Unsqueeze", [area, g.constant([2], np.int64)])
    area_j = g.node("Unsqueeze", [area, g.constant([1], np.int64)])
    union = g.node("Sub", [g.node("Add", [area_i, area_j]), intersection])
    both = g.node("And", [g.node("Greater", [w, g.constant(0.0)]), g.node("Greater", [h, g.constant(0.0)])])
    return g.node("Where", [both, g.node("Div", [intersection, union]), g.constant(0.0)])


def _in_order(g: _Graph, overlaps: str, order: str) -> str:
    """overlaps[..., order[i], order[j]]: the overlaps (N, ..., B, B) of the boxes ranked i and j, for
    orders (N, ..., B)."""
    shape = g.node("Shape", [overlaps])

    def spread(axis: int) -> str:
        return g.node("Expand", [g.node("Unsqueeze", [order, g.constant([axis], np.int64)]), shape])

    rows = g.node("GatherElements", [overlaps, spread(-1)], axis=-2)
    return g.node("GatherElements", [rows, spread(-2)], axis=-1)


def _at_rank(g: _Graph, value: str, rank: int) -> str:
    """value[..., rank:rank + 1] along the last axis."""
    starts, ends = g.constant([rank], np.int64), g.constant([rank + 1], np.int64)
    return g.node("Slice", [value, starts, ends, g.constant([-1], np.int64)])


def _sorted_down(g: _Graph, scores: str, count: int, name: str) -> str:
    """The indices of scores (last axis) from the highest down, the lower index first among equals."""
    indices = f"{name}/order"
    g.nodes.append(
        g.helper.make_node(
            "TopK",
            [scores, g.constant([count], np.int64)],
            [f"{name}/sorted", indices],
            name=name,
            axis=-1,
            largest=1,
            sorted=1,
        )
    )
    return indices


def _nms_detection2d(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """nnspec's suppression, box by box in score order: per class, an unrolled pass over the boxes
    (each box still scored suppresses the later ones overlapping it by more than nms); by objectness,
    each box overlapping any better-ranked one by more than nms, at once (nnabla compares with every
    better box, suppressed or not)."""
    boxes_count, width = layer.inferred_shape
    thresh, nms = (
        g.constant(float(np.float32(layer.props["thresh"]))),
        g.constant(float(np.float32(layer.props["nms"]))),
    )
    zero = g.constant(0.0)
    boxes = x[0]
    objectness = _columns(g, boxes, 4, 5)
    objectness = g.node("Where", [g.node("Less", [objectness, thresh]), zero, objectness])
    scores = g.node("Mul", [objectness, _columns(g, boxes, 5, width)])
    scores = g.node("Where", [g.node("Less", [scores, thresh]), zero, scores])  # (N, B, K)
    overlaps = _overlaps(g, boxes)
    later = np.arange(boxes_count)
    if layer.props["nms_per_class"]:
        per_class = g.node("Transpose", [scores], perm=[0, 2, 1])  # (N, K, B)
        order = _sorted_down(g, per_class, boxes_count, f"{out}/by_class")
        ranked = g.node("GatherElements", [per_class, order], axis=-1)
        alive = g.node("Not", [g.node("Equal", [ranked, zero])])
        shape = g.node("Shape", [per_class])
        for i in range(boxes_count - 1):  # a (N, K, B) row a step: the memory of one step, not of K B^2
            here = _at_rank(g, alive, i)  # (N, K, 1)
            box = g.node("Expand", [_at_rank(g, order, i), shape])  # the box ranked i, in every column
            row = g.node("GatherElements", [overlaps, box], axis=1)  # its overlap with each box j: (N, K, B)
            row = g.node("GatherElements", [row, order], axis=-1)  # ... with the box ranked j
            hit = g.node("And", [g.node("Greater", [row, nms]), g.constant(later > i, bool)])
            alive = g.node("And", [alive, g.node("Not", [g.node("And", [here, hit])])])
        kept = g.node("Where", [alive, ranked, zero])
        back = g.node(
            "ScatterElements", [g.node("ConstantOfShape", [g.node("Shape", [per_class])]), order, kept], axis=-1
        )
        probabilities = g.node("Transpose", [back], perm=[0, 2, 1])
    else:
        flat = g.node("Squeeze", [objectness, g.constant([2], np.int64)])  # (N, B)
        order = _sorted_down(g, flat, boxes_count, f"{out}/by_objectness")
        ordered = _in_order(g, overlaps, order)
        better = g.constant(later[None, :] < later[:, None], bool)  # j ranked before i
        overlapping = g.node(
            "ReduceMax",
            [g.node("Cast", [g.node("And", [g.node("Greater", [ordered, nms]), better])], to=FLOAT)],
            axes=[-1],
            keepdims=0,
        )
        ranked = g.node("GatherElements", [flat, order], axis=-1)
        hit = g.node("And", [g.node("Greater", [overlapping, zero]), g.node("Not", [g.node("Equal", [ranked, zero])])])
        hit = g.node(
            "ScatterElements",
            [g.node("ConstantOfShape", [g.node("Shape", [flat])]), order, g.node("Cast", [hit], to=FLOAT)],
            axis=-1,
        )
        suppressed = g.node("Unsqueeze", [g.node("Greater", [hit, zero]), g.constant([2], np.int64)])  # (N, B, 1)
        objectness = g.node("Where", [suppressed, zero, objectness])
        probabilities = g.node("Where", [suppressed, zero, scores])
    g.node("Concat", [_columns(g, boxes, 0, 4), objectness, probabilities], out, axis=2)


def _prune(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """0 where |i| is below t, t the (size - 1) rate -th smallest |i| of the whole batch (+1 at rate 1):
    the index computed in float32 from the batch's size, as nnspec, and the value TopK's last."""
    rate = float(np.float32(layer.props["rate"]))
    magnitude = g.node("Abs", x[:1])
    flat = g.node("Reshape", [magnitude, g.constant([-1], np.int64)])
    size = g.node("Cast", [g.node("Shape", [flat])], to=FLOAT)
    position = g.node("Mul", [g.node("Sub", [size, g.constant([1.0])]), g.constant([rate])])
    count = g.node("Add", [g.node("Cast", [position], to=INT64), g.constant([1], np.int64)])
    smallest = f"{out}/smallest"
    g.nodes.append(
        g.helper.make_node("TopK", [flat, count], [smallest, f"{out}/order"], name=f"{out}/topk", largest=0, sorted=1)
    )
    threshold = g.node("Gather", [smallest, g.node("Sub", [count, g.constant([1], np.int64)])])
    if rate == 1:
        threshold = g.node("Add", [threshold, g.constant(1.0)])
    g.node("Where", [g.node("Less", [magnitude, threshold]), g.constant(0.0), x[0]], out)


def _adaptive_separable_convolution(g: _Graph, layer: Layer, x: list[str], out: str) -> None:
    """o[c, y, x] = sum_{j, i} V[j, y, x] H[i, y, x] i[c, y + j, x + i]: a Slice of the image and a
    product of the kernels a tap, summed in float64 in nnspec's order (j, then i)."""
    kv, kh = layer.props["kernel_shape"]
    out_h, out_w = layer.inferred_shape[-2:]
    image, vertical, horizontal = (_double(g, value) for value in x[:3])

    def window(value: str, starts: list[int], sizes: list[int], axes: list[int]) -> str:
        ends = [start + size for start, size in zip(starts, sizes)]
        return g.node(
            "Slice", [value, g.constant(starts, np.int64), g.constant(ends, np.int64), g.constant(axes, np.int64)]
        )

    terms = []
    for j in range(kv):
        for i in range(kh):
            weight = g.node("Mul", [window(vertical, [j], [1], [1]), window(horizontal, [i], [1], [1])])  # (N, 1, h, w)
            term = g.node("Mul", [weight, window(image, [j, i], [out_h, out_w], [2, 3])])
            terms.append(term)
    _single(g, _summed(g, terms), out)


OPS: dict[str, Op] = {
    # activations
    "ReLU": _unary("Relu"),
    "Sigmoid": _unary("Sigmoid"),
    "Tanh": _unary("Tanh"),
    "Abs": _unary("Abs"),
    "Exp": _unary("Exp"),
    "Log": _unary("Log"),
    "Sin": _unary("Sin"),
    "Cos": _unary("Cos"),
    "Tan": _unary("Tan"),
    "ASin": _unary("Asin"),
    "ACos": _unary("Acos"),
    "ATan": _unary("Atan"),
    "Sinh": _unary("Sinh"),
    "Cosh": _unary("Cosh"),
    "ASinh": _unary("Asinh"),
    "ACosh": _unary("Acosh"),
    "ATanh": _unary("Atanh"),
    "Ceil": _unary("Ceil"),
    "Floor": _unary("Floor"),
    "Sign": Op(_sign),
    "Identity": _unary("Identity"),
    "SoftPlus": _unary("Softplus"),
    "SoftSign": _unary("Softsign"),
    "HardSigmoid": _unary("HardSigmoid", alpha=0.2, beta=0.5),
    "HardTanh": _clip(-1.0, 1.0),
    "ReLU6": _clip(0.0, 6.0),
    "LeakyReLU": Op(lambda g, layer, x, out: g.node("LeakyRelu", x[:1], out, alpha=float(layer.props["alpha"]))),
    "ELU": Op(lambda g, layer, x, out: g.node("Elu", x[:1], out, alpha=float(layer.props["alpha"]))),
    "SELU": Op(
        lambda g, layer, x, out: g.node(
            "Selu", x[:1], out, alpha=float(layer.props["alpha"]), gamma=float(layer.props["scale"])
        )
    ),
    "Swish": Op(_swish),
    "Mish": Op(_mish),
    "GELU": Op(_gelu),
    "TanhShrink": Op(_tanh_shrink),
    "LogSigmoid": Op(_log_sigmoid),
    "CReLU": _concatenated(_relu),
    "CELU": _concatenated(_elu),
    "PReLU": Op(_prelu),
    "Softmax": _softmax("Softmax"),
    "LogSoftmax": _softmax("LogSoftmax"),
    # arithmetic
    "Add2": _binary("Add"),
    "Sub2": _binary("Sub"),
    "Mul2": _binary("Mul"),
    "Div2": _binary("Div"),
    "Pow2": _binary("Pow"),
    "Maximum2": _binary("Max"),
    "Minimum2": _binary("Min"),
    "AddN": _chain("Sum"),
    "AddScalar": _scalar("Add"),
    "MulScalar": _scalar("Mul"),
    "PowScalar": _scalar("Pow"),
    "RSubScalar": _scalar("Sub", reverse=True),
    "RDivScalar": _scalar("Div", reverse=True),
    "RPowScalar": _scalar("Pow", reverse=True),
    "MaximumScalar": _scalar("Max"),
    "MinimumScalar": _scalar("Min"),
    # with weights
    "Affine": Op(_affine),
    "Convolution": Op(_channels_first(_convolution)),
    "DepthwiseConvolution": Op(_depthwise_convolution),
    "Deconvolution": Op(_channels_first(_deconvolution)),
    # pooling
    "MaxPooling": Op(_channels_first(_max_pooling)),
    "AveragePooling": Op(_channels_first(_average_pooling)),
    "SumPooling": Op(_sum_pooling),
    "GlobalAveragePooling": Op(_global_average),
    # normalisation
    "BatchNormalization": Op(_batch_normalization),
    "MeanSubtraction": Op(_mean_subtraction),
    # shape
    "Reshape": Op(_reshape_to_output),
    "Flatten": Op(_reshape_to_output),
    "Concatenate": Op(_concatenate),
    "Transpose": Op(_transpose),
    "Slice": Op(_slice),
    "Sum": _reduce("ReduceSum"),
    "Mean": _reduce("ReduceMean"),
    "Max": _reduce("ReduceMax", "ArgMax"),
    "Min": _reduce("ReduceMin", "ArgMin"),
    "Prod": _reduce("ReduceProd"),
    # losses
    "SquaredError": Op(_squared_error),
    "AbsoluteError": Op(_absolute_error),
    "CategoricalCrossEntropy": Op(_categorical_cross_entropy),
    "SoftmaxCrossEntropy": Op(_softmax_cross_entropy),
    "TopNError": Op(_top_n_error),
    "BinaryCrossEntropy": Op(_binary_cross_entropy),
    "SigmoidCrossEntropy": Op(_sigmoid_cross_entropy),
    # comparisons and logic
    "Equal": _compare("Equal"),
    "NotEqual": _compare("Equal", negate=True),
    "Greater": _compare("Greater"),
    "GreaterEqual": _compare("GreaterOrEqual"),
    "Less": _compare("Less"),
    "LessEqual": _compare("LessOrEqual"),
    "EqualScalar": _compare("Equal", scalar=True),
    "NotEqualScalar": _compare("Equal", scalar=True, negate=True),
    "GreaterScalar": _compare("Greater", scalar=True),
    "GreaterEqualScalar": _compare("GreaterOrEqual", scalar=True),
    "LessScalar": _compare("Less", scalar=True),
    "LessEqualScalar": _compare("LessOrEqual", scalar=True),
    "LogicalAnd": _logic("And"),
    "LogicalOr": _logic("Or"),
    "LogicalXor": _logic("Xor"),
    "LogicalAndScalar": _logic("And", scalar=True),
    "LogicalOrScalar": _logic("Or", scalar=True),
    "LogicalXorScalar": _logic("Xor", scalar=True),
    "LogicalNot": Op(_logical_not),
    "IsNaN": _test("IsNaN"),
    "IsInf": _test("IsInf"),
    # more shapes and the rest
    "Stack": Op(_stack),
    "BatchMatmul": Op(_batch_matmul),
    "Flip": Op(_flip),
    "Tile": Op(_tile),
    "Broadcast": Op(_broadcast),
    "Pad": Op(_pad),
    "ClipByValue": Op(_clip_by_value),
    "Round": Op(_round),
    "Dropout": Op(lambda g, layer, x, out: None, _dropout_refusal),
    "LayerNormalization": Op(_layer_normalization),
    "InstanceNormalization": Op(_instance_normalization),
    "GroupNormalization": Op(_group_normalization),
    "MulN": Op(lambda g, layer, x, out: g.node("Mul", [_product(g, x[:-1]), x[-1]], out)),
    "Unlink": _unary("Identity"),
    "HuberLoss": Op(_huber_loss),
    "EpsilonInsensitiveLoss": Op(_epsilon_insensitive_loss),
    "BinaryError": Op(_binary_error),
    "BinarySigmoid": _step(0.0),
    "BinaryTanh": _step(-1.0),
    "CumSum": Op(_cumulative_sum),
    "Sinc": Op(_sinc),
    "ResetNaN": _reset("IsNaN"),
    "ResetInf": _reset("IsInf"),
    "Embed": Op(_embed),
    "Interpolate": Op(_interpolate),
    "OneHot": Op(_one_hot),
    "MatrixDiag": Op(_matrix_diag),
    "MatrixDiagPart": Op(_matrix_diag_part),
    "ClipByNorm": Op(_clip_by_norm),
    "KLMultinomial": Op(_kl_multinomial),
    # recurrent loops, as the expansion writes them out step by step
    "RecurrentInput": Op(_recurrent_step),
    "RecurrentOutput": Op(_stack),
    "Delay": _unary("Identity"),  # step 0's copy: its Initial (later steps read the layer itself)
    "Sort": Op(_sort),
    "DepthwiseDeconvolution": Op(_depthwise_deconvolution),
    "Unpooling": Op(_unpooling),
    "Norm": Op(_norm),
    "FusedBatchNormalization": Op(_fused_batch_normalization),
    # math, shapes and selections
    "ATan2": Op(_atan2),
    "BroadcastTo": Op(_broadcast_to),
    "CumProd": Op(_cumulative_product),
    "Shift": Op(_shift),
    "TopKData": Op(_top_k_data),
    "BatchDet": Op(_batch_det),
    "BatchLogdet": Op(_batch_logdet),
    "BatchInv": Op(_batch_inv),
    "FFT": Op(_fourier(inverse=False)),
    "IFFT": Op(_fourier(inverse=True)),
    "Prune": Op(_prune),
    "AdaptiveSeparableConvolution": Op(_adaptive_separable_convolution),
    # quantizers and binary weights
    "FixedPointQuantize": Op(_fixed_point_quantize),
    "Pow2Quantize": Op(_pow2_quantize),
    "MinMaxQuantize": Op(_min_max_quantize),
    "BinaryConnectAffine": Op(_binary_affine(scaled=False)),
    "BinaryWeightAffine": Op(_binary_affine(scaled=True)),
    "BinaryConnectConvolution": Op(_binary_convolution(scaled=False)),
    "BinaryWeightConvolution": Op(_binary_convolution(scaled=True)),
    # the weight normalizations and their kin
    "WeightStandardization": Op(_weight_standardization),
    "WeightNormalization": Op(_weight_normalization),
    "NormNormalization": Op(_norm_normalization),
    "SpectralNorm": Op(_spectral_norm),
    "VATNoise": Op(_vat_noise),
    # arrays of their own
    "Parameter": Op(_own_array),
    "WorkingMemory": Op(_own_array),
    # the random augmentations the view applies: at evaluation their random parts are off
    "RandomFlip": _unary("Identity"),
    "RandomShift": _unary("Identity"),
    "RandomErase": _unary("Identity"),
    "ImageAugmentation": Op(_image_augmentation),
    "DeformableConvolution": Op(_deformable_convolution),
    "NmsDetection2d": Op(_nms_detection2d),
    "RandomCrop": Op(
        lambda g, layer, x, out: g.node("Identity", x[:1], out), lambda layer: _random_crop_refusal(layer)
    ),
    # identities in a forward pass
    "TopKGrad": _unary("Identity"),
    "Output": _unary("Identity"),
    "ClipGradByValue": _unary("Identity"),
    "ClipGradByNorm": _unary("Identity"),
}


def _product(g: _Graph, x: list[str]) -> str:
    """MulN's inputs multiplied left to right, as nnabla does."""
    result = x[0]
    for item in x[1:]:
        result = g.node("Mul", [result, item])
    return result


def write_onnx(spec: Spec, parameters: Mapping[str, Mapping[str, np.ndarray]]) -> bytes:
    """``spec`` (a view of a validated spec, as nnspec.spec.views.as_view gives) as an ONNX model's
    bytes, its initializers from ``parameters`` (layer -> parameter name -> array, as
    nnspec.runtime.params.resolve_parameters gives them); a UsageError naming every layer ONNX
    cannot hold, and one saying how to install onnx where it is missing."""
    refuse_unwritable(spec)
    onnx = onnx_module()
    from onnx import helper, numpy_helper

    graph = _Graph(helper, numpy_helper, _with_fed_shapes(spec, parameters), graph_inputs=_graph_inputs(spec))
    tensor_of: dict[str, str] = {}  # layer -> the tensor holding its value
    for name in spec.order:
        layer = spec.layers[name]
        if layer.type.is_source:
            tensor_of[name] = layer.dataset
            continue
        if _bypassed(layer):
            tensor_of[name] = tensor_of[layer.inputs[0]]
            continue
        operands = [tensor_of[source] for source in layer.inputs]
        graph.fed[name] = {pin: tensor_of[source] for pin, source in layer.fed_parameters().items()}
        for pin, source in layer.targets.items():
            if pin in layer.parameters:
                continue
            if source.input is not None:
                operands.append(tensor_of[source.input])
            elif source.generator == "Constant":  # a Delay's Initial, NNC's default: multiplier everywhere
                operands.append(_constant_target(graph, source.multiplier, layer.target_shapes[pin]))
            else:
                variable = source.variable(name, pin)
                assert variable is not None
                operands.append(variable)
        graph.input_shapes[name] = [spec.layers[source].inferred_shape for source in layer.inputs]
        OPS[layer.type.name].emit(graph, layer, operands, name)
        tensor_of[name] = name
    outputs = []
    for name in spec.outputs:
        if tensor_of[name] != name:  # a bypassed layer's output: named as the layer all the same
            graph.node("Identity", [tensor_of[name]], name)
        outputs.append(_value_info(helper, onnx, name, spec.layers[name].inferred_shape))
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            spec.name or "Main",
            [_value_info(helper, onnx, name, shape) for name, shape in graph.graph_inputs.items()],
            outputs,
            list(graph.initializers.values()),
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
    )
    model.ir_version = 8  # the IR version opset 17 came with: what older runtimes read
    return bytes(model.SerializeToString())


def _with_fed_shapes(
    spec: Spec, parameters: Mapping[str, Mapping[str, np.ndarray]]
) -> dict[str, Mapping[str, np.ndarray]]:
    """The parameters, and for each a layer gives (not in them: computed each batch) a stand-in of its
    shape (no memory: a broadcast 0), so that the writer sees every parameter's shape alike."""
    given: dict[str, Mapping[str, np.ndarray]] = dict(parameters)
    for name, layer in spec.layers.items():
        fed = layer.fed_parameters()
        if fed:
            stand_ins = {pin: np.broadcast_to(np.float32(0), layer.parameter_shapes[pin]) for pin in fed}
            given[name] = {**parameters.get(name, {}), **stand_ins}
    return given


def _graph_inputs(spec: Spec) -> dict[str, tuple[int, ...]]:
    """The data variables the view reads, in the order it first reads them, each with its sample shape:
    an Input layer's (named as its dataset), a target's given by data (named as its variable)."""
    inputs: dict[str, tuple[int, ...]] = {}
    for name in spec.order:
        layer = spec.layers[name]
        if layer.type.is_source:
            inputs.setdefault(layer.dataset, layer.inferred_shape)
            continue
        if _bypassed(layer):
            continue
        for pin, source in layer.targets.items():
            if pin in layer.parameters or source.input is not None or source.generator == "Constant":
                continue
            variable = source.variable(name, pin)
            assert variable is not None
            inputs.setdefault(variable, layer.target_shapes[pin])
    return inputs


def _constant_target(graph: _Graph, value: float, shape: Sequence[int]) -> str:
    """A generated Constant target: ``value`` in every place of [N, *shape], N read from a graph input."""
    return graph.node("Expand", [graph.constant(value), _with_batch(graph, graph.batch_source(), shape)])


def _value_info(helper: Any, onnx: Any, name: str, shape: Sequence[int]) -> Any:
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [BATCH, *shape])


def refuse_unwritable(spec: Spec) -> None:
    """One UsageError naming every layer ONNX cannot hold (unwritable_layers), with its reason."""
    problems = [f"{spec.layers[name].title}: {reason}" for name, reason in unwritable_layers(spec).items()]
    if problems:
        raise UsageError(f"{spec.file}: ONNX cannot hold these layers as nnspec writes them: " + "; ".join(problems))


def unwritable_layers(spec: Spec) -> dict[str, str]:
    """Every layer of ``spec`` (a view) the writer cannot write, with why, in the order they run."""
    training = spec.view == "training"
    reads_data = bool(_graph_inputs(spec))
    reasons = {}
    for name in spec.order:
        layer = spec.layers[name]
        reason = unwritable_reason(layer, training=training)
        if not reason and not reads_data and _same_for_every_sample(layer):
            reason = "its value is the same for every sample, and the spec reads no data to take the batch size from"
        if reason:
            reasons[name] = reason
    return reasons


def _same_for_every_sample(layer: Layer) -> bool:
    """Whether the model expands one value to the batch for this layer: a Parameter's array (a
    WorkingMemory's without an input), a Constant side input."""
    if layer.type.name in ("Parameter", "WorkingMemory") and not layer.inputs:
        return True
    return any(
        pin not in layer.parameters and source.input is None and source.generator == "Constant"
        for pin, source in layer.targets.items()
    )


def unwritable_reason(layer: Layer, *, training: bool = False) -> str | None:
    """Why the writer cannot write ``layer`` (a layer of a view; ``training``: of the training view,
    where the random augmentations draw), or None where it can: written, bypassed by the view, or an
    Input (the graph's inputs). What a caller running the rest in onnxruntime keeps on numpy."""
    if layer.type.is_source or _bypassed(layer):
        return None
    name = layer.type.name
    if name in REFUSED:
        return REFUSED[name]
    if training and name in _DRAWN_IN_TRAINING:
        return "its random parts are drawn in the training view: the draws are nnspec's own (per sample, from its seed)"
    op = OPS.get(name)
    if op is None:
        return "no ONNX form in nnspec"
    for pin, source in layer.targets.items():
        if pin not in layer.parameters and source.input is None and source.generator not in (NO_GENERATOR, "Constant"):
            return f"its {pin} is generated ({source.generator}): a graph input cannot draw values"
    return op.refuse(layer)


def _bypassed(layer: Layer) -> bool:
    """Whether the view passes the layer's input through (Dropout, the random augmentations at evaluation)."""
    return bool(layer.type.skip_at_test and layer.props.get("skip_at_test"))


def _random_crop_refusal(layer: Layer) -> str | None:
    if layer.props.get("shape") is None:
        return None  # the whole input: nothing cropped
    return (
        "it crops at a position drawn per sample, at evaluation too (NNC's RandomCrop has no SkipAtTest): "
        "the draws are nnspec's own"
    )


# The random augmentations whose random parts are off at evaluation (written as what is left there).
_DRAWN_IN_TRAINING = ("RandomFlip", "RandomShift", "RandomErase", "RandomCrop", "ImageAugmentation")

# The layer types with no exact ONNX form, and why (RepeatStart, RepeatEnd, Unit and LSTM never reach
# the writer: the spec's expansion writes them out as the layers they stand for first).
REFUSED: dict[str, str] = {}
