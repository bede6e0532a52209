"""resolved_text: a spec with nothing implicit, which loads back to the same spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.spec.loader import load_text
from nnspec.spec.resolved import resolved_text
from nnspec.spec.schema import FORMAT_VERSION

from .conftest import SPECS

EXAMPLES = sorted(SPECS.glob("*.yaml"))


def same_spec(a: nnspec.Spec, b: nnspec.Spec) -> None:
    """Everything a run depends on is equal: layers (order, types, properties, inputs,
    parameter sources, targets, check settings, shapes) and the spec's settings and data."""
    assert list(a.layers) == list(b.layers)
    for name, layer in a.layers.items():
        other = b.layers[name]
        assert other.type is layer.type, name
        assert other.props == layer.props, name
        assert other.inputs == layer.inputs, name
        assert other.targets == layer.targets, name
        assert other.checks == layer.checks, name
        assert other.shape == layer.shape, name
        assert other.parameter_shapes == layer.parameter_shapes, name
        assert other.parameters.keys() == layer.parameters.keys(), name
        for key, source in layer.parameters.items():
            got = other.parameters[key]
            if source.file is not None:  # read from the file: the initializer is not used
                assert got.file is not None and got.file.resolve() == source.file.resolve(), (name, key)
            else:
                assert (got.initializer, got.multiplier, got.file) == (source.initializer, source.multiplier, None)
        assert {layer.parameter_key(p) for p in layer.parameter_shapes} == {
            other.parameter_key(p) for p in other.parameter_shapes
        }
    assert (a.name, a.description, a.dtype, a.seed) == (b.name, b.description, b.dtype, b.seed)
    assert a.outputs == b.outputs
    assert a.checks == b.checks
    assert (a.dataset is None) == (b.dataset is None)
    if a.dataset is not None:
        assert a.dataset.resolve() == b.dataset.resolve()
    assert a.data.keys() == b.data.keys()
    for variable, values in a.data.items():
        np.testing.assert_array_equal(b.data[variable], values)
        assert b.data[variable].shape == values.shape


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_resolves_to_the_same_spec(path: Path) -> None:
    spec = nnspec.load(path)
    text = resolved_text(spec)
    again = nnspec.loads(text, str(path))  # the spec's own name: relative paths resolve as before
    same_spec(spec, again)
    assert resolved_text(again) == text  # a fixed point: nothing left to resolve


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_resolved_has_nothing_implicit(path: Path) -> None:
    spec = nnspec.load(path)
    written = load_text(resolved_text(spec)).data
    assert written["nnspec"] == FORMAT_VERSION
    assert written["dtype"] == spec.dtype and written["seed"] == spec.seed
    assert written["outputs"] == spec.outputs
    assert len(written["layers"]) == len(spec.written_layers)
    for raw, layer in zip(written["layers"], spec.written_layers.values()):
        if layer.type.arity.least > 0:
            assert "input" in raw, layer.name
        for prop in layer.type.properties:
            assert (prop.name in raw) == (layer.props[prop.name] is not None), (layer.name, prop.name)
        for param in layer.type.parameters:
            assert (param.name in raw) == param.enabled(layer.props), (layer.name, param.name)
        for target in layer.type.targets:
            fed = layer.targets[target.name].input is not None  # T: {input: layer} names only the layer
            assert set(raw[target.name]) == ({"input"} if fed else {"dataset", "generator", "generator_multiplier"})


def test_defaults_and_inputs_are_written_out(write_spec) -> None:
    path = write_spec(
        "nnspec: 1\n"
        "layers:\n"
        "  - {name: x, type: Input, size: [4]}\n"
        "  - {name: fc1, type: Affine, out_shape: 3, with_bias: false}\n"
        "  - {name: act, type: Tanh}\n"
        "  - {name: fc2, type: Affine, out_shape: 3, input: x}\n"
        "  - {name: sum, type: Add2, input: [act, fc2]}\n"
    )
    text = resolved_text(nnspec.load(path))
    assert "  - name: act\n    type: Tanh\n    input: fc1\n" in text  # the previous layer, written out
    assert "    input: [act, fc2]\n" in text
    assert "    W: {initializer: NormalAffineGlorot, multiplier: 1.0}\n" in text
    assert "    out_shape: [3]\n    with_bias: false\n    W:" in text  # no b: with_bias switches it off
    assert "dtype: float32\nseed: 0\n" in text
    assert "outputs: [sum]\n" in text  # the default: the layers nobody reads
    raw = load_text(text).data
    assert "input" not in raw["layers"][0]  # an Input reads no layer
    assert raw["layers"][0] == {
        "name": "x",
        "type": "Input",
        "size": [4],
        "generator": "None",
        "generator_multiplier": 1.0,
    }
    assert "dataset" not in raw["layers"][0] and "parameter_scope" not in raw["layers"][1]  # derived from the name


def test_a_layer_may_read_a_later_one_and_derived_properties_stay_unset(write_spec) -> None:
    path = write_spec(
        "nnspec: 1\n"
        "layers:\n"
        "  - {name: x, type: Input, size: [1, 8, 8]}\n"
        "  - {name: pool, type: MaxPooling, input: conv}\n"
        "  - {name: conv, type: Convolution, out_maps: 2, input: x, padding: [1, 1]}\n"
    )
    spec = nnspec.load(path)
    text = resolved_text(spec)
    same_spec(spec, nnspec.loads(text, str(path)))
    pool, conv = load_text(text).data["layers"][1:]
    assert pool["input"] == "conv" and conv["input"] == "x"
    assert "strides" not in pool  # pooling strides default to the kernel: no value says so
    assert conv["padding"] == [1, 1] and conv["border_mode"] == "same"


def test_settings_targets_files_and_data_survive(tmp_path, write_spec) -> None:
    (tmp_path / "params").mkdir()
    np.save(tmp_path / "params" / "W.npy", np.ones((3, 2)))
    path = write_spec(
        "nnspec: 1\n"
        "name: several\n"
        "description: |\n  two lines\n  of text\n"
        "dtype: float64\n"
        "seed: 7\n"
        "checks: {input-range: off, tanh-saturation: {threshold: 0.2, severity: error}}\n"
        "layers:\n"
        "  - {name: x, type: Input, size: [3], dataset: pixels, range: [0, 1]}\n"
        "  - name: fc\n"
        "    type: Affine\n"
        "    out_shape: 2\n"
        "    W: {file: params/W.npy}\n"
        "    b: {initializer: Constant, multiplier: 0.5}\n"
        "    parameter_scope: shared\n"
        "  - {name: probs, type: Softmax, checks: {softmax-overconfident: off}}\n"
        "  - {name: loss, type: CategoricalCrossEntropy, T: {dataset: label}}\n"
        "outputs: probs\n"
        "data:\n"
        "  pixels: [0.5, 0, 1]\n"  # one sample written alone
        "  label: [[1], [0.25]]\n"
    )
    spec = nnspec.load(path)
    text = resolved_text(spec)
    same_spec(spec, nnspec.loads(text, str(path)))
    raw = load_text(text).data
    assert raw["description"] == "two lines\nof text\n"
    assert "description: |\n" in text
    assert raw["checks"] == {"input-range": False, "tanh-saturation": {"threshold": 0.2, "severity": "error"}}
    assert raw["layers"][0]["dataset"] == "pixels" and raw["layers"][0]["range"] == [0.0, 1.0]
    assert raw["layers"][1]["W"] == {"file": "params/W.npy"}
    assert raw["layers"][1]["b"] == {"initializer": "Constant", "multiplier": 0.5}
    assert raw["layers"][1]["parameter_scope"] == "shared"
    assert raw["layers"][2]["checks"] == {"softmax-overconfident": False}
    assert raw["layers"][3]["T"] == {"dataset": "label", "generator": "None", "generator_multiplier": 1.0}
    assert raw["outputs"] == ["probs"]
    assert raw["data"] == {"pixels": [[0.5, 0, 1]], "label": [[1], [0.25]]}
    assert "    - [0.5, 0, 1]\n" in text  # a sample a line, whole numbers without a fraction


def test_dataset_path_stays_relative_to_the_spec(tmp_path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "index.csv").write_text("x\n1\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / ".git").mkdir()  # a repository: its specs may name its files (see nnspec.files.confine)
    path = tmp_path / "specs" / "net.yaml"
    path.write_text("nnspec: 1\ndataset: ../data/index.csv\nlayers:\n  - {name: x, type: Input, size: [1]}\n")
    spec = nnspec.load(path)
    text = resolved_text(spec)
    assert "dataset: ../data/index.csv\n" in text
    same_spec(spec, nnspec.loads(text, str(path)))


def test_text_that_looks_like_other_values_stays_text(write_spec) -> None:
    path = write_spec(
        "nnspec: 1\nname: 'yes'\ndescription: '1e-5: not a number, # not a comment'\n"
        "layers:\n  - {name: x, type: Input, size: [2]}\n"
    )
    spec = nnspec.load(path)
    again = nnspec.loads(resolved_text(spec), str(path))
    assert (again.name, again.description) == ("yes", "1e-5: not a number, # not a comment")
