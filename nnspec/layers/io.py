"""IO layers: where data enters the network."""

from __future__ import annotations

from .catalog import NO_INPUT, LayerType, Property, Role, register
from .generators import GENERATOR_CHOICES, NO_GENERATOR, generators_described


def input_forward(inputs, props, params):
    """o = the data bound to the layer's data variable."""
    return inputs[0]


def input_shape(shapes, props):
    return props["size"]


INPUT = register(
    LayerType(
        name="Input",
        category="IO",
        formula="o = data",
        description="Feeds one data variable (from a file, the spec's data: section, or a generator) into the network.",
        forward=input_forward,
        infer_shape=input_shape,
        arity=NO_INPUT,
        role=Role.SOURCE,
        properties=(
            Property("size", "shape", [1, 28, 28], "Shape of one sample, without the batch axis."),
            Property("dataset", "text", None, "Data variable the layer reads (default: the layer's name)."),
            Property(
                "generator",
                "choice",
                NO_GENERATOR,
                f"Make the data instead of reading it: {generators_described()}, each times generator_multiplier.",
                choices=GENERATOR_CHOICES,
            ),
            Property("generator_multiplier", "float", 1.0, "Scale applied to generated values."),
            Property("range", "range", None, "Declared value range [low, high] the data is expected to take."),
        ),
        input_range=(-1.0, 1.0),
        range_note="NNC's rule: data should be normalised to roughly -1..1 before it enters the network.",
    )
)
