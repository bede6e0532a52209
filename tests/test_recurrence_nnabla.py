"""Recurrent networks against nnabla 1.39 running NNC's own exports of two tutorials, and nnspec's own
recurrent .nntxt.

tests/fixtures/nnabla/recurrent/ holds, for elman_net and LSTM_auto_encoder, what nnabla computes for
the MainRuntime network NNC exported (scripts/make_nnabla_recurrent_fixture.py: nnabla's NnpLoader
unrolls the loops), and nnspec's hand translation of each network (``<network>.yaml``); for
two_loops.nntxt (nnspec's, in the grammar of NNC's exports) what nnabla computes for it. Both sides
use the same seeded parameters (the script's ``seeded_parameters``, checked against the sums the
fixture keeps) and the same input; nnspec's outputs must match nnabla's to 1e-5. NNC's exports
themselves are not kept here: with NNABLA_TEST_NNTXT naming nnabla's python/test/core/nntxt.py,
nnspec reads them as .nntxt and is compared too.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.spec.readers import read_spec
from nnspec.validation import validate_document

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


def _with_outputs(path: Path, outputs: list[str]) -> nnspec.Spec:
    """The spec read from ``path``, its outputs replaced by ``outputs`` (to keep inner values)."""
    document = read_spec(path)
    document.data["outputs"] = outputs
    return validate_document(document)


TWO_LOOPS_KEPT = [
    "Sigmoid",
    "RecurrentOutput",
    "RecurrentOutput_2",
    "Tanh_RecurrentInput[2]",
    "Tanh_2_RecurrentInput_2[4]",
]


def test_an_nntxt_with_two_recurrent_loops_computes_what_nnabla_computes() -> None:
    """two_loops.nntxt, read as nnabla reads it: its loops unrolled by nnspec, its h0 data as the first
    Delay's Initial, the executor's Constant 0.5 as the second's; every value nnabla kept (the output,
    both loops' stacked steps, one step's copy in each loop, by nnabla's names) matches."""
    expected = np.load(FIXTURES / "two_loops.npz")
    assert str(expected["nnabla_version"]) == "1.39.0"
    spec = _with_outputs(FIXTURES / "two_loops.nntxt", TWO_LOOPS_KEPT)
    shapes = {layer.parameter_key(p): s for layer in spec.layers.values() for p, s in layer.parameter_shapes.items()}
    params = _script().seeded_parameters(shapes)
    for name, value in params.items():  # nnspec's parameter names are nnabla's, and so the values drawn
        assert value.astype(np.float64).sum() == expected[f"sum:{name}"], name
    result = nnspec.run(spec, {"x": expected["x"], "h0": expected["h0"]}, params=params, statistics=False)
    assert not result.notes
    for name in TWO_LOOPS_KEPT:
        key = "output" if name == "Sigmoid" else name
        np.testing.assert_allclose(result.outputs[name], expected[key], rtol=0, atol=1e-5, err_msg=name)


def test_the_nntxt_reading_of_two_loops_is_nnspecs_recurrent_layers() -> None:
    layers = {layer["name"]: layer for layer in read_spec(FIXTURES / "two_loops.nntxt").data["layers"]}
    assert layers["RecurrentInput"] == {"name": "RecurrentInput", "type": "RecurrentInput", "input": "Input", "axis": 0}
    assert layers["Delay"] == {
        "name": "Delay",
        "type": "Delay",
        "input": "Tanh",
        "size": [3],
        "Initial": {"input": "h0"},
    }
    assert layers["Delay_2"]["Initial"] == {"generator": "Constant", "generator_multiplier": 0.5}
    assert layers["RecurrentOutput_2"]["axis"] == 1  # nnabla's axis 2 less the batch axis


# NNC's own exports, kept in nnabla's test data: give its python/test/core/nntxt.py to run them.
NNABLA_NNTXT = os.environ.get("NNABLA_TEST_NNTXT")
EXPORTS = {"elman_net": ("N00000000", "RecurrentOutput"), "LSTM_auto_encoder": ("N00000011", "RecurrentOutput_2")}


@pytest.mark.skipif(not NNABLA_NNTXT, reason="NNABLA_TEST_NNTXT (nnabla's python/test/core/nntxt.py) not given")
@pytest.mark.parametrize("network", sorted(EXPORTS))
def test_nncs_own_exports_read_as_nntxt_compute_what_nnabla_computes(network: str, tmp_path: Path) -> None:
    """The .nntxt NNC exported, read by nnspec as it is (no hand translation), against nnabla's run of it."""
    variable, loop_output = EXPORTS[network]
    path = tmp_path / f"{network}.nntxt"
    path.write_text(_script().export_text(Path(str(NNABLA_NNTXT)), variable))
    expected = np.load(FIXTURES / f"{network}.npz")
    spec = nnspec.load(path)
    spec = _with_outputs(path, [*spec.outputs, loop_output])
    shapes = {layer.parameter_key(p): s for layer in spec.layers.values() for p, s in layer.parameter_shapes.items()}
    params = _script().seeded_parameters(shapes)
    for name, value in params.items():
        assert value.astype(np.float64).sum() == expected[f"sum:{name}"], name
    result = nnspec.run(spec, {"x": expected["x"]}, params=params, statistics=False)
    np.testing.assert_allclose(result.outputs[spec.outputs[0]], expected["output"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.outputs[loop_output], expected[loop_output], rtol=0, atol=1e-5)
