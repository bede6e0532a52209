"""A Parameter layer whose size is left out: NNC's default *GraphOutput, the shape of the parameter pin its
output feeds (nnspec/spec/pin_sizes.py). 02_l1_regularization links one into an Affine's W (and into an
Abs, its L1 penalty); unetlike_125px through AddScalar and MulScalar into a Convolution's W.

The shapes are nnabla's parameter layouts worked out by hand (Affine W: (inputs, outputs), Convolution W:
(out maps, in maps, *kernel)); the values are numpy's formulas on the array the run drew, read from the
Parameter's own output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError
from nnspec.spec.readers import read_spec
from nnspec.spec.sdcproj_write import prepare, write

X = np.array([[1, 2, 3], [-4, 0.5, 6]], dtype=np.float32)

# The Parameter is written first: the Affine whose W it gives, and the Input before that, come later.
AFFINE = """\
nnspec: 2
seed: 3
layers:
  - {name: p, type: Parameter, value: {initializer: Uniform, multiplier: 1}}
  - {name: l1, type: Abs, input: p}
  - {name: x, type: Input, size: [3]}
  - {name: fc, type: Affine, input: x, out_shape: 2, W: {input: p}, b: {initializer: Constant, multiplier: 0.5}}
outputs: [fc, p, l1]
"""


def errors_of(path: Path) -> list:
    with pytest.raises(SpecError) as caught:
        nnspec.load(path)
    return [d for d in caught.value.diagnostics if d.severity == "error"]


def test_the_size_is_the_affines_w_shape(write_spec):
    spec = nnspec.load(write_spec(AFFINE))
    assert spec.layers["p"].shape == (3, 2)  # W of an Affine from 3 inputs to 2 outputs: (3, 2)
    assert spec.layers["l1"].shape == (3, 2)
    assert spec.layers["p"].parameter_shapes == {"value": (3, 2)}
    assert spec.layers["p"].props["size"] is None  # the spec keeps it left out


def test_the_affine_computes_x_w_plus_b_with_the_drawn_array(write_spec):
    result = nnspec.run(str(write_spec(AFFINE)), {"x": X})
    w = result.outputs["p"][0]  # the array the run drew, every sample's the same
    np.testing.assert_array_equal(result.outputs["p"][1], w)
    assert w.shape == (3, 2) and np.all(np.abs(w) <= 1) and len(np.unique(w)) == 6
    np.testing.assert_allclose(result.outputs["fc"], X @ w + 0.5, rtol=1e-6)
    np.testing.assert_array_equal(result.outputs["l1"], np.abs(result.outputs["p"]))


# unetlike_125px's chain: Parameter -> AddScalar -> MulScalar -> Convolution's W, a 1x1 kernel.
CHAIN = """\
nnspec: 2
seed: 5
layers:
  - {name: p, type: Parameter, value: {initializer: Uniform, multiplier: 1}}
  - {name: shifted, type: AddScalar, input: p, value: 1}
  - {name: w, type: MulScalar, input: shifted, value: 0.5}
  - {name: x, type: Input, size: [2, 4, 4]}
  - {name: conv, type: Convolution, input: x, out_maps: 3, kernel_shape: [1, 1], with_bias: false, W: {input: w}}
outputs: [conv, p]
"""


def test_through_layers_that_keep_the_shape_as_unetlike_125px(write_spec):
    spec = nnspec.load(write_spec(CHAIN))
    assert spec.layers["p"].shape == spec.layers["w"].shape == (3, 2, 1, 1)  # (out maps, in maps, 1, 1)
    x = np.arange(2 * 2 * 4 * 4, dtype=np.float32).reshape(2, 2, 4, 4) / 10
    result = nnspec.run(spec, {"x": x})
    kernel = (result.outputs["p"][0] + 1) * 0.5
    expected = np.einsum("nchw,oc->nohw", x, kernel[:, :, 0, 0])  # a 1x1 convolution: a matrix over channels
    np.testing.assert_allclose(result.outputs["conv"], expected, rtol=1e-5)


def test_two_pins_of_one_shape(write_spec):
    text = AFFINE.replace(
        "outputs: [fc, p, l1]", "  - {name: fc2, type: Affine, input: x, out_shape: 2, W: {input: p}}\n"
    )
    spec = nnspec.load(write_spec(text))
    assert spec.layers["p"].shape == (3, 2)


def test_a_written_size_is_still_checked_against_the_pin(write_spec):
    [error] = errors_of(write_spec(AFFINE.replace("type: Parameter,", "type: Parameter, size: [2, 3],")))
    assert "W of layer 'fc' (Affine) must have shape (3, 2)" in error.message


def test_feeding_no_parameter_is_an_error_at_the_layer(write_spec):
    text = "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: p, type: Parameter}\n"
    text += "  - {name: l1, type: Abs, input: p}\n  - {name: y, type: Add2, input: [x, l1]}\n"
    [error] = errors_of(write_spec(text))
    assert error.code == "shape" and error.line == 4 and error.layer == "p"
    assert "size is left out" in error.message and "reaches none" in error.message


def test_pins_of_different_shapes_is_an_error_naming_them(write_spec):
    text = AFFINE.replace(
        "outputs: [fc, p, l1]", "  - {name: fc2, type: Affine, input: x, out_shape: 4, W: {input: p}}\n"
    )
    [error] = errors_of(write_spec(text))
    assert error.code == "shape" and error.line == 4 and error.layer == "p"
    assert "W of layer 'fc' (Affine) (3, 2)" in error.message and "W of layer 'fc2' (Affine) (3, 4)" in error.message


def test_a_size_that_depends_on_itself_is_an_error(write_spec):
    """fc's inputs come from p, and p's size from fc's W: no order gives either first."""
    text = """\
nnspec: 2
layers:
  - {name: p, type: Parameter}
  - {name: a, type: Abs, input: p}
  - {name: fc, type: Affine, input: a, out_shape: 2, W: {input: p}}
"""
    [error] = errors_of(write_spec(text))
    assert error.line == 3 and "W of layer 'fc' (Affine)" in error.message and "depend on itself" in error.message


def test_a_layer_whose_shape_fails_before_the_fed_one_is_the_only_error(write_spec):
    text = AFFINE.replace("input: x, out_shape: 2", "input: r, out_shape: 2").replace(
        "outputs:", "  - {name: r, type: Reshape, input: x, shape: [4]}\noutputs:"
    )
    assert [error.layer for error in errors_of(write_spec(text))] == ["r"]


# -- NNC's project ---------------------------------------------------------------------------------

# In NNC's grammar: Input x (3), a Parameter of Size *GraphOutput, Constant x0.5, linked into an
# Affine's W (DestPinIndex=1: the first parameter pin).
SDCPROJ = """[Engine]
SDeepEngineType=NNabla
[Network_Global]
NumLayer=3
NumLink=2
[Layer_0]
ID=0
Type=Input
Property_0_Name=Name
Property_0_Value=x
Property_1_Name=Size
Property_1_Value=3
NumProperty=2
[Layer_1]
ID=7
Type=Parameter
Property_0_Name=Name
Property_0_Value=p
Property_1_Name=Size
Property_1_Value=*GraphOutput
Property_2_Name=File
Property_2_Value=
Property_3_Name=Initializer
Property_3_Value=Constant
Property_4_Name=InitializerMultiplier
Property_4_Value=0.5
Property_5_Name=LRateMultiplier
Property_5_Value=1.0
NumProperty=6
[Layer_2]
ID=9
Type=Affine
Property_0_Name=Name
Property_0_Value=fc
Property_1_Name=OutShape
Property_1_Value=2
NumProperty=2
[Link_0]
ID=0
SourceLayerID=0
SourcePinIndex=0
DestLayerID=9
DestPinIndex=0
[Link_1]
ID=1
SourceLayerID=7
SourcePinIndex=0
DestLayerID=9
DestPinIndex=1
"""


def test_nncs_graph_output_reads_as_a_left_out_size(tmp_path: Path):
    path = tmp_path / "p.sdcproj"
    path.write_text(SDCPROJ)
    layers = {layer["name"]: layer for layer in read_spec(path).data["layers"]}
    assert "size" not in layers["p"] and layers["p"]["value"] == {"initializer": "Constant", "multiplier": 0.5}
    assert layers["fc"]["W"] == {"input": "p"}
    spec = nnspec.load(path)
    assert spec.layers["p"].shape == (3, 2)
    result = nnspec.run(spec, {"x": X})
    np.testing.assert_allclose(result.outputs["fc"], X @ np.full((3, 2), 0.5), rtol=1e-6)  # b: Constant 0


def test_it_is_written_back_as_nnc_writes_it(tmp_path: Path):
    """Size=*GraphOutput, and the array's settings at the top (Initializer, not value.Initializer)."""
    path = tmp_path / "p.sdcproj"
    path.write_text(SDCPROJ)
    data = read_spec(path).data
    kept, lost = prepare(data)
    assert not lost
    text = write(kept)
    section = text[text.index("Type=Parameter") : text.index("NumProperty", text.index("Type=Parameter"))]
    names = [line.split("=", 1)[1] for line in section.splitlines() if "_Name=" in line]
    assert names == ["Name", "Size", "Initializer", "InitializerMultiplier"]
    assert "Property_1_Value=*GraphOutput" in section and "Property_2_Value=Constant" in section
    again = tmp_path / "again.sdcproj"
    again.write_text(text)
    read_again = {layer["name"]: layer for layer in read_spec(again).data["layers"]}
    assert {key: value for key, value in read_again["p"].items() if key != "position"} == data["layers"][1]
    assert read_again["fc"]["W"] == {"input": "p"}
