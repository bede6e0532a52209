"""Close-match suggestions for misspelt names."""

from __future__ import annotations

import pytest

from nnspec.core.suggest import closest

TYPES = ["Tanh", "ReLU", "LeakyReLU", "Sigmoid", "Affine", "Add2"]
PROPERTIES = ["out_shape", "with_bias", "parameter_scope"]


@pytest.mark.parametrize(
    "word, candidates, expected",
    [
        ("Tanhh", TYPES, "Tanh"),  # a typo
        ("relu", TYPES, "ReLU"),  # case
        ("Tnah", TYPES, "Tanh"),  # adjacent letters swapped
        ("thna", ["tanh", "x"], "tanh"),  # letters scrambled
        ("OutShape", PROPERTIES, "out_shape"),  # NNC's CamelCase spelling
        ("out_sise", PROPERTIES, "out_shape"),
        ("WithBias", PROPERTIES, "with_bias"),
        ("parameter-scope", PROPERTIES, "parameter_scope"),
        ("Convolution", TYPES, None),  # nothing close: no suggestion rather than a wrong one
        ("x", TYPES, None),
    ],
)
def test_closest(word, candidates, expected):
    assert closest(word, candidates) == expected
