"""NNC's 12_residual_learning, two repeats of a residual block, against nnabla's run of NNC's own export.

tests/fixtures/nnabla_repeat/ is written by scripts/make_nnabla_repeat_fixture.py: nnabla 1.39.0
loads the tutorial's .nntxt (nnabla's expander writes out both repeats), runs its MainRuntime
network with seeded random parameters (``parameters.npz``, under nnabla's names such as
``Convolution_5[0]/conv/W``) on two inputs, and keeps its output and the variables named in
``expected.npz`` (``ReLU_7_RepeatStart[1]``: nnabla's name for iteration 1's ReLU_7).
``residual_learning.yaml`` is the same network translated by hand, with RepeatStart/RepeatEnd.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nnspec

HERE = Path(__file__).parent / "fixtures" / "nnabla_repeat"
TOLERANCE = 1e-5  # float32 through 13 convolutions; measured: at most 1.9e-6 apart (ReLU_10[1])


def nnspec_name(nnabla_name: str) -> str:
    """nnabla's name for a repeat's copy (ReLU_7_RepeatStart[1]) as nnspec names it (ReLU_7[1])."""
    return re.sub(r"_RepeatStart(_\d+)?(\[\d+\])", r"\2", nnabla_name)


@pytest.fixture(scope="module")
def compared() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    expected = dict(np.load(HERE / "expected.npz"))
    assert str(expected.pop("nnabla_version")) == "1.39.0"
    spec = nnspec.load(str(HERE / "residual_learning.yaml"))
    result = nnspec.run(spec, {"Input": expected.pop("Input")}, params=HERE / "parameters.npz", statistics=False)
    assert not result.notes  # every parameter of nnabla's file read, none missing
    return expected, result.outputs


def test_the_spec_expands_to_nnablas_copies_and_parameter_names() -> None:
    spec = nnspec.load(str(HERE / "residual_learning.yaml"))
    names = set(np.load(HERE / "parameters.npz").files)
    keys = {layer.parameter_key(p) for layer in spec.layers.values() for p in layer.parameter_shapes}
    assert keys == names
    assert "Convolution_5[1]/conv/W" in keys and "BatchNormalization_10[0]/bn/var" in keys


def test_every_compared_variable_matches_nnabla(compared) -> None:
    expected, outputs = compared
    assert len(expected) == 10  # Softmax and the nine variables the script keeps
    for name, values in expected.items():
        ours = outputs[nnspec_name(name)]
        assert ours.shape == values.shape, name
        np.testing.assert_allclose(ours, values, rtol=0, atol=TOLERANCE, err_msg=name)


def test_iterations_differ_so_the_comparison_sees_each_copy(compared) -> None:
    expected, _ = compared
    first, second = expected["ReLU_7_RepeatStart[0]"], expected["ReLU_7_RepeatStart[1]"]
    assert np.abs(first - second).max() > 0.1
