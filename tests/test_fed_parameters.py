"""A parameter given by a layer's output, ``W: {input: LAYER}``: NNC's link into a parameter pin (a
Parameter layer into Affine's W in 02_l1_regularization, a MulScalar into a Convolution's W in
unetlike_125px). The layer's output for a batch is the parameter: of the parameter's shape, the same
for every sample. Checked against numpy by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import NnspecError, SpecError
from nnspec.report.pictures.diagram import to_dot
from nnspec.spec.readers import read_spec
from nnspec.spec.resolved import resolved_text

X = np.array([[1, 2, 3], [-4, 0.5, 6]], dtype=np.float32)

# The weights: a constant (3, 2) input halved by MulScalar, as NNC's Parameter -> MulScalar -> W chain.
AFFINE = """\
nnspec: 2
layers:
  - {name: x, type: Input, size: [3]}
  - {name: ones, type: Input, size: [3, 2], generator: Constant, generator_multiplier: 2}
  - {name: w, type: MulScalar, input: ones, value: 0.25}
  - name: fc
    type: Affine
    input: x
    out_shape: 2
    W: {input: w}
    b: {initializer: Constant, multiplier: 1}
outputs: fc
"""


def errors_of(path: Path) -> list:
    with pytest.raises(SpecError) as caught:
        nnspec.load(path)
    return [d for d in caught.value.diagnostics if d.severity == "error"]


def test_an_affines_weights_from_a_layer(write_spec):
    result = nnspec.run(str(write_spec(AFFINE)), {"x": X})
    expected = X @ np.full((3, 2), 0.5, dtype=np.float32) + 1  # 2 x 0.25 = 0.5 every weight, bias 1
    np.testing.assert_allclose(result.outputs["fc"], expected, rtol=1e-6)


def test_the_same_run_with_statistics_and_in_batches(write_spec):
    path = str(write_spec(AFFINE))
    plain = nnspec.run(path, {"x": X}).outputs["fc"]
    for batch_size in (1, 2):
        result = nnspec.run(path, {"x": X}, batch_size=batch_size, statistics=True)
        np.testing.assert_array_equal(result.outputs["fc"], plain)


CONVOLUTION = """\
nnspec: 2
layers:
  - {name: x, type: Input, size: [2, 3, 3]}
  - {name: k, type: Input, size: [4, 2, 1, 1]}
  - {name: scaled, type: MulScalar, input: k, value: 0.5}
  - {name: conv, type: Convolution, input: x, out_maps: 4, kernel_shape: [1, 1], with_bias: false, W: {input: scaled}}
outputs: conv
"""


def test_a_convolutions_kernel_from_a_layer_as_unetlike_125px(write_spec):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
    kernel = rng.normal(size=(4, 2, 1, 1)).astype(np.float32)
    k = np.broadcast_to(kernel, (3, *kernel.shape)).copy()  # one kernel, the same in every sample
    result = nnspec.run(str(write_spec(CONVOLUTION)), {"x": x, "k": k})
    expected = np.einsum("oi,bihw->bohw", 0.5 * kernel[:, :, 0, 0], x)  # a 1x1 convolution by hand
    np.testing.assert_allclose(result.outputs["conv"], expected, rtol=1e-5, atol=1e-6)


def test_a_parameter_whose_samples_differ_is_refused_at_run_time(write_spec, tmp_path, capsys):
    path = write_spec(CONVOLUTION)
    k = np.stack([np.ones((4, 2, 1, 1)), 2 * np.ones((4, 2, 1, 1))]).astype(np.float32)
    x = np.zeros((2, 2, 3, 3), dtype=np.float32)
    with pytest.raises(NnspecError, match="parameter W of layer 'conv' \\(Convolution\\) is the output of layer"):
        nnspec.run(str(path), {"x": x, "k": k})
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "k.npy", k)
    given = ["--input", f"x={tmp_path / 'x.npy'}", "--input", f"k={tmp_path / 'k.npy'}"]
    assert main(["run", "-q", str(path), *given]) == 2
    assert "whose samples differ in this batch" in capsys.readouterr().err


def test_its_shape_must_be_the_parameters(write_spec):
    path = write_spec(AFFINE.replace("size: [3, 2]", "size: [2, 3]"))
    [error] = errors_of(path)
    assert error.code == "shape" and (error.line, error.column) == (10, 16)
    assert "W of layer 'fc' (Affine) must have shape (3, 2)" in error.message and "gives (2, 3)" in error.message


def test_an_unknown_layer_is_an_error_at_its_name_with_a_suggestion(write_spec):
    [error] = errors_of(write_spec(AFFINE.replace("W: {input: w}", "W: {input: ww}")))
    assert error.code == "unknown-input" and (error.line, error.column) == (10, 16)
    assert "reads 'ww' for W" in error.message and "'w'" in error.message


def test_a_layer_and_an_initializer_both_is_an_error(write_spec):
    [error] = errors_of(write_spec(AFFINE.replace("W: {input: w}", "W: {input: w, initializer: Constant}")))
    assert error.line == 10 and "comes from layer 'w' (input:) and also sets initializer" in error.message


def test_a_weight_computed_from_the_layers_own_output_is_a_cycle(write_spec):
    text = AFFINE.replace("input: ones, value", "input: fc, value").replace("outputs: fc", "outputs: w")
    [error] = errors_of(write_spec(text))
    assert error.code == "cycle"


def test_no_parameter_is_stored_for_it(write_spec, tmp_path):
    path = str(write_spec(AFFINE))
    np.save(tmp_path / "x.npy", X)
    saved = tmp_path / "p.npz"
    assert main(["run", "-q", path, "--input", f"x={tmp_path / 'x.npy'}", "--save-params", str(saved)]) == 0
    with np.load(saved) as params:
        assert list(params) == ["fc/affine/b"]
    # a parameter file without it is complete
    assert main(["run", "-q", path, "--input", f"x={tmp_path / 'x.npy'}", "--params", str(saved)]) == 0


def test_validate_predicts_nothing_from_unknown_weights(write_spec):
    found = nnspec.validate(write_spec(AFFINE))
    assert not [d for d in found if d.severity == "error"]


def test_the_summary_and_the_memory_estimate_count_no_stored_weight(write_spec):
    from nnspec.files.memory import Footprint
    from nnspec.spec.summary import total_parameters

    spec = nnspec.load(write_spec(AFFINE))
    assert total_parameters(spec) == 2  # fc's bias; W is w's output
    assert Footprint.of(spec).parameter_values == 2


def test_resolved_and_pictures_show_the_link(write_spec):
    spec = nnspec.load(write_spec(AFFINE))
    text = resolved_text(spec)
    assert "W: {input: w}" in text and "initializer: NormalAffineGlorot" not in text
    assert '"w" -> "fc"' in to_dot(spec, [], "heading")


REPEATED = """\
nnspec: 2
layers:
  - {name: x, type: Input, size: [3]}
  - {name: eye, type: Input, size: [3, 3]}
  - {name: RepeatStart, type: RepeatStart, input: x, times: 2}
  - {name: w, type: MulScalar, input: eye, value: 2}
  - {name: fc, type: Affine, input: RepeatStart, out_shape: 3, with_bias: false, W: {input: w}}
  - {name: RepeatEnd, type: RepeatEnd, input: fc}
outputs: RepeatEnd
"""


def test_repeat_copies_share_a_weight_layer_outside_the_block(write_spec):
    """w reads no layer of the block (it does not depend on RepeatStart), so it is not copied: every
    copy of fc reads it, as NNC shares it."""
    spec = nnspec.load(write_spec(REPEATED))
    assert spec.layers["fc[0]"].fed_parameters() == spec.layers["fc[1]"].fed_parameters() == {"W": "w"}
    eye = np.broadcast_to(np.eye(3, dtype=np.float32), (2, 3, 3)).copy()
    result = nnspec.run(spec, {"x": X, "eye": eye})
    np.testing.assert_allclose(next(iter(result.outputs.values())), X * 4, rtol=1e-6)  # (2 I)(2 I) x


# -- NNC's link into a parameter pin ---------------------------------------------------------------

LENET = Path(__file__).parent / "fixtures" / "nnc" / "lenet.sdcproj"
INTO_W = "[Link_6]\nID=6\nSourceLayerID=10\nSourcePinIndex=0\nDestLayerID=4\nDestPinIndex=1\n"


def test_an_nnc_link_into_a_parameter_pin_reads_as_w_input(tmp_path):
    text = LENET.read_text().replace("NumLink=6", "NumLink=7", 1).replace("[Dataset]\n", INTO_W + "[Dataset]\n", 1)
    path = tmp_path / "p.sdcproj"
    path.write_text(text)
    document = read_spec(path)
    index = [layer["name"] for layer in document.data["layers"]].index("Affine")
    assert document.data["layers"][index]["W"] == {"input": "Tanh"}
    line = text.splitlines().index("DestLayerID=4", text.splitlines().index("[Link_6]")) + 1
    assert document.source_map.locate(("layers", index, "W", "input"))[0] == line
    # Tanh gives (4, 3, 3) where W is (36, 10): the shape error is located at the link
    [error] = errors_of(path)
    assert error.code == "shape" and error.line == line and "W of layer 'Affine'" in error.message
