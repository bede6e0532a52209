"""A validated spec's model summary: each layer's cost per sample (nnspec.layers.cost, NNC's count)
and output size, as ``nnspec validate --summary`` prints it and the JSON report carries it."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from ..layers.cost import COST_FIELDS, Cost, layer_cost
from .model import Spec


@dataclass(frozen=True)
class LayerSummary:
    name: str
    type: str
    shape: tuple[int, ...]
    cost: Cost
    output_bytes: int  # one sample's output, at the spec's dtype


def layer_costs(spec: Spec) -> dict[str, Cost]:
    """Each layer's cost per sample, by layer name, in the order the layers run."""
    costs = {}
    for name in spec.order:
        layer = spec.layers[name]
        inputs = [spec.layers[source].inferred_shape for source in layer.inputs]
        inputs += [layer.target_shapes[target] for target in layer.targets if target in layer.target_shapes]
        costs[name] = layer_cost(layer.type.name, inputs, layer.inferred_shape, layer.props, layer.parameter_shapes)
    return costs


def summarize(spec: Spec) -> list[LayerSummary]:
    itemsize = np.dtype(spec.dtype).itemsize
    costs = layer_costs(spec)
    return [
        LayerSummary(
            name,
            spec.layers[name].type.name,
            spec.layers[name].inferred_shape,
            costs[name],
            prod(spec.layers[name].inferred_shape) * itemsize,
        )
        for name in spec.order
    ]


def total_parameters(spec: Spec) -> int:
    """The spec's parameters, each counted once: layers sharing a parameter_scope share their arrays,
    which the per-layer figures (NNC's, per layer) would count once for each layer; a parameter another
    layer gives (W: {input: LAYER}) is that layer's values, not one of the spec's."""
    shapes = {
        layer.parameter_key(parameter): shape
        for layer in spec.layers.values()
        for parameter, shape in layer.stored_parameter_shapes.items()
    }
    return sum(prod(shape) for shape in shapes.values())


def cost_totals(spec: Spec) -> dict[str, int]:
    """Each of NNC's Cost* figures summed over the layers (one sample), parameters counted once each
    (total_parameters); a layer nnspec does not count adds nothing."""
    costs = [cost.as_dict() for cost in layer_costs(spec).values()]
    totals = {field: sum(cost[field] for cost in costs) for field in COST_FIELDS}
    totals["parameter"] = total_parameters(spec)
    return totals
