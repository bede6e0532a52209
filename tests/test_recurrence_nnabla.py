"""Recurrent networks against nnabla 1.39 running NNC's own exports of two tutorials.

tests/fixtures/nnabla/recurrent/ holds, for elman_net and LSTM_auto_encoder, what nnabla computes for
the MainRuntime network NNC exported (scripts/make_nnabla_recurrent_fixture.py: nnabla's NnpLoader
unrolls the loops), and nnspec's hand translation of each network (``<network>.yaml``). Both sides
use the same seeded parameters (the script's ``seeded_parameters``, checked against the sums the
fixture keeps) and the same input; nnspec's outputs must match nnabla's to 1e-5.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import nnspec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "nnabla" / "recurrent"


def _script():
    spec = importlib.util.spec_from_file_location("make_fixture", ROOT / "scripts" / "make_nnabla_recurrent_fixture.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# nnspec's LSTM names its gates as NNC's LSTM unit does; NNC's export of the tutorial wrote the unit out
# under the layer names of its time: the same gates, by what each computes.
LSTM_GATES = {"Affine": "g = tanh", "IGate": "i", "FGate": "f", "OGate": "o"}
EXPORTED = {
    "Encoder": {"Affine": "Affine_2", "IGate": "Affine_4", "FGate": "Affine_5", "OGate": "Affine_6"},
    "Decoder": {"Affine": "Affine_7", "IGate": "Affine_8", "FGate": "Affine_9", "OGate": "Affine_10"},
}


def _exported_name(key: str) -> str:
    """Encoder/IGate/affine/W -> Affine_4/affine/W (the export's name); other names are the same."""
    scope, *rest = key.split("/")
    if scope in EXPORTED:
        return "/".join([EXPORTED[scope][rest[0]], *rest[1:]])
    return key


@pytest.mark.parametrize("network", ["elman_net", "LSTM_auto_encoder"])
def test_nnspec_computes_what_nnabla_computes(network: str) -> None:
    expected = np.load(FIXTURES / f"{network}.npz")
    spec = nnspec.load(FIXTURES / f"{network}.yaml")
    shapes = {layer.parameter_key(p): s for layer in spec.layers.values() for p, s in layer.parameter_shapes.items()}
    exported = {_exported_name(key): shape for key, shape in shapes.items()}
    values = _script().seeded_parameters(exported)
    for name, value in values.items():  # the very values nnabla ran with
        assert value.astype(np.float64).sum() == expected[f"sum:{name}"], name
    params = {key: values[_exported_name(key)] for key in shapes}
    result = nnspec.run(spec, {"Input": expected["x"]}, params=params)
    output = spec.outputs[0]
    np.testing.assert_allclose(result.outputs[output], expected["output"], rtol=0, atol=1e-5)
    loop_output = "RecurrentOutput" if network == "elman_net" else "Decoder"
    nnabla_name = "RecurrentOutput" if network == "elman_net" else "RecurrentOutput_2"
    np.testing.assert_allclose(result.outputs[loop_output], expected[nnabla_name], rtol=0, atol=1e-5)
    assert str(expected["nnabla_version"]) == "1.39.0"


def test_steps_and_parameters_are_named_as_nnabla_names_them() -> None:
    """nnabla 1.39 names the unrolled elman_net's values ``Affine_2_RecurrentInput[3]`` and keeps one
    ``Affine_2/affine/W`` for every step: nnspec's copies and parameter keys are those names."""
    variables = set(str(np.load(FIXTURES / "elman_net.npz")["variables"]).splitlines())
    spec = nnspec.load(FIXTURES / "elman_net.yaml")
    steps = {name for name in spec.layers if "_RecurrentInput[" in name}
    assert len(steps) == 4 * 28 + 1  # RecurrentInput, Concatenate, Affine_2, Tanh per step; Delay at step 0
    assert steps <= variables
    keys = {layer.parameter_key(p) for layer in spec.layers.values() for p in layer.parameter_shapes}
    assert keys == {"Affine_2/affine/W", "Affine_2/affine/b", "Affine/affine/W", "Affine/affine/b"}
    assert keys <= variables
