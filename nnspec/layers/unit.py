"""NNC's Unit: a layer that runs another network of the spec (one of its ``networks:``) in its place.

A Unit never runs itself: nnspec.spec.units writes the network it calls out in its place before the
graph is built, its layers named ``<unit>/<inner>`` (``FireModule_3/Squeeze``), as NNC expands units
in its exports. The forward and shape rule below pass the input through, which is all a Unit would
be if it were left in a graph.
"""

from __future__ import annotations

from .catalog import LayerType, Property, register, same_shape, unary


def _expanded(x):
    """o = the called network's output (the unit is expanded before a run)"""
    return x


UNIT = register(
    LayerType(
        name="Unit",
        category="Unit",
        formula="o = the output of network `network` run on i",
        description="Runs another network of the spec (one of its `networks:`, NNC's network tabs) in its "
        "place: that network's one Input takes this layer's input, and its one output is this layer's. "
        "Its layers are named `<unit>/<inner>` (`FireModule_3/Squeeze`) in reports and findings, and their "
        "parameters `<parameter_scope>/<inner>/...` (`FireModule_3/Squeeze/conv/W`). Units nest; a network "
        "may not reach itself through units (docs/spec.md, Networks and units).",
        forward=unary(_expanded),
        infer_shape=same_shape,
        properties=(
            Property("network", "text", None, "The network it runs: a name under networks: (NNC's Network)."),
            Property(
                "arguments",
                "mapping",
                None,
                "Values for the called network's arguments, by name: literals, or expressions (=...) of this "
                "layer's input (Input[k]) and of the caller's arguments; an argument not given keeps its value.",
            ),
            Property(
                "parameter_scope",
                "text",
                None,
                "Prefix of the inner layers' parameter names (default: the unit's name, NNC's *Name); an empty "
                'scope ("") adds none, so units calling one network with it share their parameters.',
            ),
            Property(
                "parameters",
                "mapping",
                None,
                "Settings of the inner layers' parameters, by inner layer and parameter, as a layer's own "
                "(Squeeze: {W: {multiplier: 2}}): NNC's <Layer>.<param>.InitializerMultiplier and the like.",
            ),
        ),
    )
)
