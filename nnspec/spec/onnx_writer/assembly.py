"""``write_onnx``: a view's layers emitted in the order they run into a Graph (each through its type's
Op in ``OPS``), the graph inputs and outputs declared, and the model serialized at opset 17 and IR
version 8, which older runtimes read. Every refusal is raised before anything is written, and a
parameter another layer feeds is given a zero stand-in of its shape first, so that the families see
every parameter's shape alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..model import Spec
from .builder import BATCH, OPSET, PRODUCER, Graph, bypassed, graph_inputs, layer_tensors, onnx_module, with_batch
from .ops import OPS
from .refusals import refuse_unwritable


def write_onnx(spec: Spec, parameters: Mapping[str, Mapping[str, np.ndarray]]) -> bytes:
    """``spec`` (a view of a validated spec, as nnspec.spec.views.as_view gives) as an ONNX model's
    bytes, its initializers from ``parameters`` (layer -> parameter name -> array, as
    nnspec.runtime.params.resolve_parameters gives them); a UsageError naming every layer ONNX
    cannot hold, and one saying how to install onnx where it is missing."""
    refuse_unwritable(spec)
    onnx = onnx_module()
    from onnx import helper, numpy_helper

    graph = Graph(helper, numpy_helper, _with_fed_shapes(spec, parameters), graph_inputs=graph_inputs(spec))
    tensor_of = layer_tensors(spec)  # layer -> the tensor holding its value
    for name in spec.order:
        layer = spec.layers[name]
        if layer.type.is_source or bypassed(layer):
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


def _constant_target(graph: Graph, value: float, shape: Sequence[int]) -> str:
    """A generated Constant target: ``value`` in every place of [N, *shape], N read from a graph input."""
    return graph.node("Expand", [graph.constant(value), with_batch(graph, graph.batch_source(), shape)])


def _value_info(helper: Any, onnx: Any, name: str, shape: Sequence[int]) -> Any:
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [BATCH, *shape])
