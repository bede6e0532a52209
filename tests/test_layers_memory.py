"""NNC's Parameter category, Parameter and WorkingMemory (nnspec/layers/memory.py), checked against
values written by hand.

Neither computes anything from an input: a Parameter's output is its array, a WorkingMemory's its
content or, linked from a layer, that layer's output. The references say so value by value; the
arrays are given by nnabla's name (the layer's name alone, as NNC stores a Parameter layer's array
in parameter.h5) or drawn from the initializer, whose distribution is checked. They copy values, so
the results must equal the references bit for bit.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError
from nnspec.spec.readers import read_spec

from .layer_harness import DTYPES, run_spec


def ref_own_array(inputs, props, value):
    """Every sample of the batch gets the array: out[n, ...] = value[...]."""
    batch = len(inputs[0])
    out = np.empty((batch, *value.shape))
    for n in range(batch):
        for index in np.ndindex(value.shape):
            out[(n, *index)] = float(value[index])
    return out


def ref_working_memory(inputs, props, value):
    """Linked from a layer: that layer's values; else its content, as a Parameter's."""
    if len(inputs) > 1:
        x = inputs[1]
        out = np.empty(x.shape)
        for index in np.ndindex(x.shape):
            out[index] = float(x[index])
        return out
    return ref_own_array(inputs, props, value)


REFERENCES = {"Parameter": ref_own_array, "WorkingMemory": ref_working_memory}

VALUE = np.array([[1.5, -2.0, 0.25], [3.0, 1e-30, -7.5]])


def _spec(dtype: str, layer: str) -> str:
    return (
        f"nnspec: 1\ndtype: {dtype}\nseed: 0\nlayers:\n  - {{name: x, type: Input, size: [2, 3]}}\n"
        f"  - {layer}\n  - {{name: y, type: Add2, input: [x, p]}}\noutputs: [p, y]\n"
    )


CASES = [
    ("parameter", "Parameter", "{name: p, type: Parameter, size: [2, 3]}", False),
    ("memory", "WorkingMemory", "{name: p, type: WorkingMemory, size: [2, 3]}", False),
    ("memory-linked", "WorkingMemory", "{name: p, type: WorkingMemory, size: [2, 3], input: x}", True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case, layer_type, layer, linked", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_reference(case, layer_type, layer, linked, dtype):
    x = np.arange(12, dtype=np.float64).reshape(2, 2, 3) / 4
    spec, result = run_spec(_spec(dtype, layer), {"x": x}, params={"p": VALUE})
    value = VALUE.astype(dtype).astype(np.float64)
    inputs = [x.astype(dtype).astype(np.float64)] + ([x.astype(dtype).astype(np.float64)] if linked else [])
    expected = REFERENCES[layer_type](inputs, {}, value)
    got = result.outputs["p"]
    assert spec.layers["p"].shape == (2, 3) and got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, expected.astype(dtype))
    np.testing.assert_array_equal(result.outputs["y"], (inputs[0] + expected).astype(dtype))


def test_every_reference_has_a_case():
    assert {case[1] for case in CASES} == set(REFERENCES)


def test_the_array_is_stored_under_the_layer_name():
    spec = nnspec.loads(_spec("float32", "{name: p, type: Parameter, size: [2, 3]}"))
    assert spec.layers["p"].parameter_key("value") == "p"


def test_outputs_do_not_depend_on_the_batch_size():
    """The array is drawn once from the spec's seed, not per batch: batches of 1, 2 and all agree."""
    text = _spec("float64", "{name: p, type: Parameter, size: [2, 3], value: {initializer: Uniform, multiplier: 3}}")
    x = np.zeros((5, 2, 3))
    outputs = [run_spec(text, {"x": x}, batch_size=size)[1].outputs["p"] for size in (1, 2, 5)]
    for other in outputs[1:]:
        np.testing.assert_array_equal(outputs[0], other)
    assert np.all(outputs[0] == outputs[0][0]) and np.all(np.abs(outputs[0]) <= 3)


@pytest.mark.parametrize(
    "layer, mean, std",
    [
        ("{name: p, type: Parameter, size: [100, 100]}", 0.0, 0.01),  # NNC's defaults: Normal x0.01
        ("{name: p, type: WorkingMemory, size: [100, 100]}", 0.0, 1.0),  # Normal x1
        (
            "{name: p, type: WorkingMemory, size: [100, 100], value: {initializer: Uniform, multiplier: 2}}",
            0.0,
            2 / math.sqrt(3),
        ),
        ("{name: p, type: Parameter, size: [100, 100], value: {initializer: Constant, multiplier: 0.5}}", 0.5, 0.0),
    ],
)
def test_initial_values_follow_the_initializer(layer, mean, std):
    """10,000 values: the sample mean is within 5 standard errors of the mean, the std within 5%."""
    text = (
        "nnspec: 1\ndtype: float64\nseed: 4\nlayers:\n  - {name: x, type: Input, size: [1]}\n"
        f"  - {layer}\noutputs: [p]\n"
    )
    values = run_spec(text, {"x": np.zeros((1, 1))})[1].outputs["p"][0]
    assert abs(values.mean() - mean) <= 5 * std / 100 + 1e-12
    assert values.std() == pytest.approx(std, rel=0.05, abs=1e-12)


def test_parameter_needs_its_size():
    with pytest.raises(SpecError) as raised:
        nnspec.loads(_spec("float32", "{name: p, type: Parameter}"))
    assert "size is left out, so it is NNC's default *GraphOutput" in str(raised.value)


def test_parameter_takes_no_input():
    with pytest.raises(SpecError) as raised:
        nnspec.loads(_spec("float32", "{name: p, type: Parameter, size: [2, 3], input: x}"))
    assert "takes no input" in str(raised.value)


def test_working_memory_linked_from_a_layer_of_another_size_is_refused():
    with pytest.raises(SpecError) as raised:
        nnspec.loads(_spec("float32", "{name: p, type: WorkingMemory, size: [3, 2], input: x}"))
    assert "must have the buffer's size (3, 2)" in str(raised.value)


def test_no_constant_output_finding_for_an_array_every_sample_shares():
    x = np.random.default_rng(0).normal(size=(8, 2, 3))
    _, result = run_spec(_spec("float32", "{name: p, type: Parameter, size: [2, 3]}"), {"x": x})
    assert not [f for f in result.findings if f.layer == "p"], result.findings


def test_summary_counts_the_array_as_parameters():
    spec = nnspec.loads(_spec("float32", "{name: p, type: WorkingMemory, size: [2, 3]}"))
    from nnspec.layers.cost import layer_cost

    layer = spec.layers["p"]
    assert layer_cost("WorkingMemory", [], layer.shape, layer.props, layer.parameter_shapes).parameter == 6


SDCPROJ = """[Engine]
SDeepEngineType=NNabla
[Network_Global]
NumLayer=3
NumLink=1
[Layer_0]
ID=0
Type=Input
Property_0_Name=Name
Property_0_Value=x
Property_1_Name=Size
Property_1_Value=2,3
NumProperty=2
[Layer_1]
ID=1
Type=Parameter
Property_0_Name=Name
Property_0_Value=p
Property_1_Name=Size
Property_1_Value=2,3
Property_2_Name=File
Property_2_Value=
Property_3_Name=Initializer
Property_3_Value=Uniform
Property_4_Name=InitializerMultiplier
Property_4_Value=0.5
Property_5_Name=LRateMultiplier
Property_5_Value=1.0
NumProperty=6
[Layer_2]
ID=2
Type=WorkingMemory
Property_0_Name=Name
Property_0_Value=m
Property_1_Name=Size
Property_1_Value=2,3
Property_2_Name=File
Property_2_Value=
Property_3_Name=Initializer
Property_3_Value=Normal
Property_4_Name=InitializerMultiplier
Property_4_Value=1.0
Property_5_Name=LRateMultiplier
Property_5_Value=0.0
NumProperty=6
[Link_0]
ID=0
SourceLayerID=0
SourcePinIndex=0
DestLayerID=2
DestPinIndex=0
"""


def test_nnc_project_settings_become_the_value_parameter(tmp_path: Path):
    """NNC writes the array's settings at the top (Initializer, InitializerMultiplier, LRateMultiplier):
    they are the parameter value's; a Parameter takes no input, a WorkingMemory linked from x reads it."""
    path = tmp_path / "p.sdcproj"
    path.write_text(SDCPROJ)
    layers = {layer["name"]: layer for layer in read_spec(path).data["layers"]}
    assert layers["p"] == {
        "name": "p",
        "type": "Parameter",
        "size": [2, 3],
        "value": {"initializer": "Uniform", "multiplier": 0.5},
    }
    assert layers["m"]["input"] == "x" and layers["m"]["value"] == {"lrate_multiplier": 0.0}
    spec = nnspec.load(path)
    assert spec.layers["p"].inputs == [] and spec.layers["m"].inputs == ["x"]
