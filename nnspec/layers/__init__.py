"""The layer implementations, one module per NNC palette category.

Importing this package registers every layer type in ``nnspec.layers.catalog.CATALOG``.
To add a layer: one ``register(LayerType(...))`` entry beside a small pure forward
function (inputs, properties, parameters) -> output and its shape rule, then a
reference test in tests/test_layers.py.
"""

from . import (  # noqa: F401
    activation,
    arithmetic,
    augmentation,
    basic,
    io,
    logical,
    loop,
    loss,
    math,
    memory,
    misc,
    normalization,
    others,
    pooling,
    quantize,
    unit,
)
