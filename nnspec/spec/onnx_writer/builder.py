"""The graph under construction and what every op family writes with: ``Graph`` (nodes, initializers
named as nnabla names the parameters, each layer's input shapes), ``Op`` (a layer type's function
emitting its nodes, and the reason, if any, a layer of it cannot be written), the opset, and the few
helpers the families share (a sample axis as an ONNX axis, a boolean as 0 and 1, the batch size read
from a tensor). It also says what of a view the graph holds: its inputs (the data variables the view
reads) and the layers the view passes through. The batch axis is symbolic and comes first, so sample
axes are shifted by one; tensor names the builder makes start with '/' so that they never meet a
layer's, a data variable's or a parameter's name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...core.diagnostics import UsageError
from ...core.extras import optional_module
from ..model import Layer, Spec

OPSET = 17
BATCH = "N"  # the symbolic batch dimension of every graph input and output
PRODUCER = "nnspec"
FLOAT, INT64, DOUBLE = 1, 7, 11  # onnx.TensorProto's element types, without importing onnx here


def onnx_module() -> Any:
    """The onnx package, imported when first needed; a UsageError saying how to install it when absent."""
    return optional_module("onnx", "onnx", "writing an ONNX model")


@dataclass
class Graph:
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


Emit = Callable[[Graph, Layer, list[str], str], object]  # (graph, layer, operand tensors, output name)


@dataclass(frozen=True)
class Op:
    """A layer type's writing: ``emit`` adds a layer's nodes to the graph."""

    emit: Emit
    refuse: Callable[[Layer], str | None] = lambda layer: None  # a reason this layer cannot be written


def onnx_axis(value: int) -> int:
    """A sample axis as an ONNX axis (the batch axis is 0)."""
    return value + 1


def axis_list(value: Any) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def as_float(g: Graph, boolean: str, out: str | None = None) -> str:
    return g.node("Cast", [boolean], out, to=FLOAT)


def reshaped_to_output(g: Graph, layer: Layer, value: str, out: str) -> None:
    """``value`` given as the layer's output ``out``, reshaped to [N, *its inferred shape]."""
    g.node("Reshape", [value, g.constant([-1, *layer.inferred_shape], np.int64)], out)


def with_batch(g: Graph, x: str, sample: Sequence[int]) -> str:
    """The shape [N, *sample] as a tensor, N read from ``x`` (opset 17's Resize takes no axes)."""
    batch = g.node("Slice", [g.node("Shape", [x]), g.constant([0], np.int64), g.constant([1], np.int64)])
    return g.node("Concat", [batch, g.constant(list(sample), np.int64)], axis=0)


def folded(g: Graph, op: str, values: Sequence[str]) -> str:
    """values[0] op values[1] op ..., left to right: the order nnspec accumulates sums and products in."""
    result = values[0]
    for value in values[1:]:
        result = g.node(op, [result, value])
    return result


def graph_inputs(spec: Spec) -> dict[str, tuple[int, ...]]:
    """The data variables the view reads, in the order it first reads them, each with its sample shape:
    an Input layer's (named as its dataset), a target's given by data (named as its variable)."""
    inputs: dict[str, tuple[int, ...]] = {}
    for name in spec.order:
        layer = spec.layers[name]
        if layer.type.is_source:
            inputs.setdefault(layer.dataset, layer.inferred_shape)
            continue
        if bypassed(layer):
            continue
        for pin, source in layer.targets.items():
            if pin in layer.parameters or source.input is not None or source.generator == "Constant":
                continue
            variable = source.variable(name, pin)
            assert variable is not None
            inputs.setdefault(variable, layer.target_shapes[pin])
    return inputs


def layer_tensors(spec: Spec) -> dict[str, str]:
    """Each layer's tensor in the model: a source layer's is its graph input (the data variable), a
    layer the view bypasses has its input's, every other layer's is named as the layer."""
    tensor: dict[str, str] = {}
    for name in spec.order:
        layer = spec.layers[name]
        if layer.type.is_source:
            tensor[name] = layer.dataset
        elif bypassed(layer):
            tensor[name] = tensor[layer.inputs[0]]
        else:
            tensor[name] = name
    return tensor


def bypassed(layer: Layer) -> bool:
    """Whether the view passes the layer's input through (Dropout, the random augmentations at evaluation)."""
    return bool(layer.type.skip_at_test and layer.props.get("skip_at_test"))
