"""Data as NNC feeds it: image normalisation as a property of the dataset read, the dataset an NNC
project's executor names (nnspec.runtime.project), and --synthetic (nnspec.runtime.synthetic).

tests/fixtures/nnc/raw_pixels.sdcproj is written for these tests in NNC's grammar: raw 0..255
pixels scaled inside the network (MulScalar 1/128, AddScalar -1), a SoftmaxCrossEntropy over 3
classes (target y) and a SigmoidCrossEntropy over 2 values (target z); its datasets have
ImageNormalization=0, Training at {SDCPATH}samples\\sample_dataset\\tiny\\train.csv and Validation
(the executor's, on MainValidation) at the relative data\\validation.csv, neither shipped.
The images the tests read are PNGs written here with Pillow from known pixels: the expected
values are those pixels, divided by 255 (65535) or not, by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError, UsageError
from nnspec.layers.generators import GENERATORS
from nnspec.spec.readers import read_spec

try:
    from PIL import Image
except ImportError:  # pragma: no cover - the test extra installs Pillow
    Image = None

needs_pillow = pytest.mark.skipif(Image is None, reason="Pillow is not installed (pip install Pillow)")

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "tests" / "fixtures" / "nnc" / "raw_pixels.sdcproj"
PIXELS = np.array([[[0, 1, 2, 3], [64, 100, 127, 128], [200, 250, 254, 255], [7, 77, 177, 17]]], np.uint8)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """nnspec on the command line, this checkout's wherever it runs."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "nnspec", *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=environment
    )


def gray_png(path: Path, pixels: np.ndarray = PIXELS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[0], mode="L").save(path)
    return path


def identity_spec(folder: Path, dataset: str = "", size: str = "[1, 4, 4]") -> Path:
    """A spec that outputs what its Input reads, in float64 (exact for every 8-bit value / 255)."""
    return write(
        folder / "spec.yaml",
        f"nnspec: 2\ndtype: float64\n{dataset}layers:\n  - {{name: x, type: Input, size: {size}}}\n"
        "  - {name: out, type: Identity}\noutputs: [out]\n",
    )


# -- ImageNormalization: a property of the dataset read ---------------------------------------------------


@needs_pillow
def test_8bit_images_are_divided_by_255_only_when_the_dataset_is_normalised(tmp_path):
    gray_png(tmp_path / "img" / "a.png")
    index = write(tmp_path / "index.csv", "x:image\nimg/a.png\n")
    spec = identity_spec(tmp_path)
    normalised = nnspec.run(spec, dataset=index).outputs["out"][0]
    raw = nnspec.run(spec, dataset=index, image_normalization=False).outputs["out"][0]
    np.testing.assert_array_equal(raw, PIXELS.astype(np.float64))  # 0..255, as NNC feeds ImageNormalization=0
    np.testing.assert_array_equal(normalised, PIXELS / 255.0)
    assert raw[0, 2, 3] == 255.0 and normalised[0, 2, 3] == 1.0


@needs_pillow
def test_16bit_and_rgb_images_are_read_as_they_are_without_normalisation(tmp_path):
    deep = np.array([[0, 1000, 65535], [30000, 2, 12345]], np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 14
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "rgb.png")
    write(tmp_path / "deep.csv", "x\ndeep.png\n")
    write(tmp_path / "rgb.csv", "x\nrgb.png\n")
    spec = identity_spec(tmp_path, size="[1, 2, 3]")
    out = nnspec.run(spec, dataset=tmp_path / "deep.csv", image_normalization=False).outputs["out"][0, 0]
    np.testing.assert_array_equal(out, deep.astype(np.float64))
    out = nnspec.run(spec, dataset=tmp_path / "deep.csv").outputs["out"][0, 0]
    np.testing.assert_allclose(out, deep / 65535.0, rtol=0, atol=1e-15)
    spec = identity_spec(tmp_path, size="[3, 2, 3]")
    out = nnspec.run(spec, dataset=tmp_path / "rgb.csv", image_normalization=False).outputs["out"][0]
    np.testing.assert_array_equal(out, rgb.transpose(2, 0, 1).astype(np.float64))


def test_numbers_and_data_csvs_are_never_divided(tmp_path):
    # nnabla's normalize divides uint8 and uint16 images only: numbers in the index and data CSVs stay
    write(tmp_path / "cells" / "a.csv", "0,255,300\n1,2,3\n")
    index = write(tmp_path / "index.csv", "x\ncells/a.csv\n")
    spec = identity_spec(tmp_path, size="[2, 3]")
    for normalised in (True, False):
        out = nnspec.run(spec, dataset=index, image_normalization=normalised).outputs["out"][0]
        np.testing.assert_array_equal(out, [[0, 255, 300], [1, 2, 3]])


@needs_pillow
def test_the_spec_dataset_key_sets_image_normalization_and_the_option_overrides_it(tmp_path):
    gray_png(tmp_path / "img" / "a.png")
    write(tmp_path / "index.csv", "x:image\nimg/a.png\n")
    spec = identity_spec(tmp_path, "dataset: {uri: index.csv, image_normalization: false}\n")
    result = nnspec.run(spec)
    np.testing.assert_array_equal(result.outputs["out"][0], PIXELS.astype(np.float64))
    assert result.sources["x"].image_normalization is False
    assert "image_normalization false" in result.sources["x"].description
    forced = nnspec.run(spec, image_normalization=True)
    np.testing.assert_array_equal(forced.outputs["out"][0], PIXELS / 255.0)
    assert forced.sources["x"].image_normalization is None
    # written out by --print-resolved, and read back the same
    resolved = cli("validate", "--print-resolved", str(spec), cwd=tmp_path)
    assert "dataset: {uri: index.csv, image_normalization: false}" in resolved.stdout


def test_the_dataset_mapping_is_checked_by_the_schema(tmp_path):
    spec = identity_spec(tmp_path, "dataset: {uri: index.csv, image_normalisation: false}\n")
    found = nnspec.validate(spec, read_data=False)
    assert [d.code for d in found if d.severity == "error"] and "image_normalisation" in found[0].message
    spec = identity_spec(tmp_path, "dataset: {uri: missing.csv}\n")
    [error] = [d for d in nnspec.validate(spec) if d.severity == "error"]
    assert error.code == "missing-file" and error.line == 3


@needs_pillow
def test_cli_no_image_normalization_with_dataset(tmp_path):
    gray_png(tmp_path / "img" / "a.png")
    write(tmp_path / "index.csv", "x:image\nimg/a.png\n")
    spec = identity_spec(tmp_path)
    done = cli("run", str(spec), "--dataset", "index.csv", "--no-image-normalization", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, json.loads((ROOT / "schemas" / "report.schema.json").read_text()))
    assert report["sources"]["x"]["image_normalization"] is False
    assert report["outputs"]["out"][0][0][2] == [200, 250, 254, 255]


# -- the dataset an NNC project names ---------------------------------------------------------------------


def project_copy(folder: Path, executor_dataset: str = "Validation") -> Path:
    """raw_pixels.sdcproj in ``folder`` (its relative URI then points into ``folder``)."""
    text = RAW.read_text(encoding="utf-8")
    text = text.replace("Executor_DatasetName=Validation", f"Executor_DatasetName={executor_dataset}")
    path = folder / "raw_pixels.sdcproj"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


def project_dataset(folder: Path) -> None:
    """The Validation dataset of raw_pixels.sdcproj: one image, class 2, labels 1, 0."""
    gray_png(folder / "images" / "a.png")
    write(folder / "validation.csv", "x:image,y:label,z__0,z__1\nimages/a.png,2,1,0\n")


def test_the_project_section_holds_the_datasets_and_executors_as_nnc_wrote_them():
    project = read_spec(RAW).data["project"]
    training = project["datasets"][0]
    assert {key: training[key] for key in ("name", "uri", "image_normalization")} == {
        "name": "Training",
        "uri": "{SDCPATH}samples\\sample_dataset\\tiny\\train.csv",
        "image_normalization": False,
    }
    assert project["datasets"][1]["uri"] == "data\\validation.csv"
    [executor] = project["executors"]
    assert {key: executor[key] for key in ("name", "network", "dataset")} == {
        "name": "Executor",
        "network": "MainValidation",
        "dataset": "Validation",
    }


def test_a_project_whose_data_is_not_on_disk_validates():
    assert not [d for d in nnspec.validate(RAW) if d.severity == "error"]
    done = cli("validate", str(RAW))
    assert done.returncode == 0, done.stderr


@needs_pillow
def test_run_reads_the_executors_dataset_relative_to_the_project_unnormalised(tmp_path):
    project_dataset(tmp_path / "data")
    result = nnspec.run(project_copy(tmp_path), keep_outputs=None)
    assert result.samples == 1
    # AddScalar's output is x / 128 - 1 on the raw pixels: NNC's ImageNormalization=0
    np.testing.assert_allclose(result.outputs["SoftmaxCrossEntropy"].shape, (1, 1))
    assert result.stats["Input"].output.max == 255.0 and result.stats["Input"].output.min == 0.0
    np.testing.assert_allclose(result.stats["AddScalar"].output.max, np.float32(255 * 0.0078125 - 1), rtol=1e-6)
    source = result.sources["x"]
    assert source.kind == "dataset" and source.image_normalization is False
    assert Path(source.file) == (tmp_path / "data" / "validation.csv").resolve()
    assert "dataset 'Validation' of the project's executor 'Executor'" in source.description
    assert result.sources["y"].kind == "dataset" and result.sources["z"].columns == ("z__0", "z__1")


@needs_pillow
def test_dataset_root_stands_for_sdcpath(tmp_path):
    root = tmp_path / "nnc"
    project_dataset(root / "samples" / "sample_dataset" / "tiny")
    (root / "samples" / "sample_dataset" / "tiny" / "validation.csv").rename(
        root / "samples" / "sample_dataset" / "tiny" / "train.csv"
    )
    path = project_copy(tmp_path / "project", executor_dataset="Training")
    with pytest.raises(UsageError) as caught:
        nnspec.run(path)
    message = str(caught.value)
    assert "no data for 'Input' (Input): the dataset 'Training' of the project's executor 'Executor'" in message
    assert "{SDCPATH}" in message and "--dataset-root DIR" in message
    assert "--dataset PATH" in message and "--synthetic" in message
    result = nnspec.run(path, dataset_root=root)
    assert result.stats["Input"].output.max == 255.0
    assert Path(result.sources["x"].file) == (root / "samples/sample_dataset/tiny/train.csv").resolve()


@needs_pillow
def test_a_relative_uri_is_taken_against_dataset_root_when_given(tmp_path):
    project_dataset(tmp_path / "elsewhere" / "data")
    path = project_copy(tmp_path / "project")
    result = nnspec.run(path, dataset_root=tmp_path / "elsewhere")
    assert Path(result.sources["x"].file) == (tmp_path / "elsewhere" / "data" / "validation.csv").resolve()


def test_dataset_root_must_be_a_directory(tmp_path):
    with pytest.raises(UsageError, match="--dataset-root .*: not a directory"):
        nnspec.run(project_copy(tmp_path), dataset_root=tmp_path / "missing", synthetic=True)


@pytest.mark.parametrize(
    "uri, said",
    [
        ("", "has no URI"),
        ("K:\\dbs\\texttest\\train.csv", "is an absolute path"),
        ("/srv/data/train.csv", "is an absolute path"),
        ("\\\\server\\share\\train.csv", "is an absolute path"),
        ("https://example.com/train.csv", "is a URL"),
        ("ccbf15a0-bcb6-4ba6-b10e-27fc877c4348/25", "a dataset of NNC's cloud service"),
        ("..\\..\\..\\..\\etc\\passwd", "not found (or outside the allowed"),
    ],
)
def test_uris_nnspec_does_not_read_are_said_clearly(tmp_path, uri, said):
    path = project_copy(tmp_path)
    path.write_text(path.read_text().replace("URI=data\\validation.csv", f"URI={uri}"), newline="")
    with pytest.raises(UsageError) as caught:
        nnspec.run(path, dataset_root=None)
    message = str(caught.value)
    assert said in message and "dataset 'Validation'" in message and "--synthetic" in message
    assert "root:" not in message  # nothing read from outside: the same answer for missing and forbidden


@needs_pillow
def test_a_project_dataset_outside_the_repository_is_refused_and_dataset_root_allows_it(tmp_path):
    outside = tmp_path / "outside"
    project_dataset(outside / "data")
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)
    path = project_copy(repository)
    text = path.read_text()
    path.write_text(text.replace("URI=data\\validation.csv", "URI=..\\outside\\data\\validation.csv"))
    with pytest.raises(UsageError, match="not found \\(or outside the allowed root"):
        nnspec.run(path)
    with pytest.raises(UsageError, match="not found \\(or outside the allowed root"):
        nnspec.run(path, dataset_root=repository)  # taken against the root, but still outside it
    path.write_text(text)
    with pytest.raises(UsageError, match="not found \\(or outside the allowed root"):
        nnspec.run(path)  # repo/data/validation.csv: not there
    result = nnspec.run(path, dataset_root=outside)  # a folder the user named: allowed
    assert result.sources["x"].kind == "dataset"


@needs_pillow
def test_dataset_option_replaces_the_project_dataset_and_keeps_its_normalisation(tmp_path):
    project_dataset(tmp_path / "mine")
    path = project_copy(tmp_path / "project")
    result = nnspec.run(path, dataset=tmp_path / "mine" / "validation.csv")
    assert result.stats["Input"].output.max == 255.0  # the project's ImageNormalization=0 still applies
    assert "of the project's executor" not in result.sources["x"].description
    done = cli("run", str(path), "--dataset", str(tmp_path / "mine" / "validation.csv"), "--image-normalization")
    assert done.returncode == 0, done.stderr
    assert "Input               Input               1x4x4 0..1" in done.stdout


def test_a_missing_project_dataset_on_the_command_line_says_how_to_go_on(tmp_path):
    done = cli("run", str(RAW))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the dataset 'Validation' of the project's executor 'Executor' (data\\validation.csv)" in done.stderr
    assert "--dataset-root DIR" in done.stderr and "--synthetic" in done.stderr


# -- --synthetic -----------------------------------------------------------------------------------------


def uniform(seed: int, variable: str, count: int, size: tuple[int, ...]) -> np.ndarray:
    """The reference draws: generator Uniform's, -1..1, as a spec's `generator: Uniform` makes them."""
    return GENERATORS["Uniform"].draw(seed, variable, 0, count, size)


def test_synthetic_run_of_an_nnc_project_on_the_cli():
    done = cli("run", str(RAW), "--synthetic", "--samples", "4", "--format", "json", "-q")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, json.loads((ROOT / "schemas" / "report.schema.json").read_text()))
    sources = report["sources"]
    assert sources["x"] == {
        "kind": "synthetic",
        "description": "synthetic uniform 0..255 (images not normalised: image_normalization false)",
        "values": "uniform",
        "low": 0.0,
        "high": 255.0,
    }
    assert sources["y"]["values"] == "classes" and (sources["y"]["low"], sources["y"]["high"]) == (0, 2)
    assert sources["z"]["values"] == "binary"
    assert report["samples"] == 4
    done = cli("run", str(RAW), "--synthetic", "--samples", "4")
    assert done.returncode == 0 and "data y: synthetic class indices 0..2" in done.stdout
    note = "the dataset 'Validation' of the project's executor 'Executor' (data\\validation.csv) names"
    assert note in done.stderr and "not read; synthetic data drawn for x, y, z instead (--synthetic)" in done.stderr


def test_synthetic_values_follow_nncs_ranges_and_the_seed(tmp_path):
    result = nnspec.run(RAW, synthetic=True, samples=50, statistics=False, keep_outputs=None)
    spec = nnspec.load(RAW)
    u = {name: uniform(spec.seed, name, 50, size) for name, size in (("x", (1, 4, 4)), ("y", (1,)), ("z", (2,)))}
    # x: uniform 0..255 (ImageNormalization=0), from the same stream as generator Uniform
    x = (u["x"] + 1) / 2 * 255
    assert x.min() >= 0 and x.max() < 255 and x.max() > 250
    # y: class indices 0..2 by hand: floor(3 (u + 1) / 2); z: 0 or 1
    y = np.floor((u["y"] + 1) / 2 * 3)
    z = ((u["z"] + 1) / 2 >= 0.5).astype(np.float64)
    assert set(np.unique(y)) == {0.0, 1.0, 2.0} and set(np.unique(z)) == {0.0, 1.0}
    # the same values given as arrays make the same outputs: the synthetic data was exactly these
    given = nnspec.run(RAW, {"x": x, "y": y, "z": z}, statistics=False, keep_outputs=None)
    for name in ("SoftmaxCrossEntropy", "SigmoidCrossEntropy"):
        np.testing.assert_array_equal(result.outputs[name], given.outputs[name])


def test_synthetic_data_does_not_depend_on_the_batch_size():
    whole = nnspec.run(RAW, synthetic=True, samples=9, statistics=False, keep_outputs=None)
    batched = nnspec.run(RAW, synthetic=True, samples=9, batch_size=2, statistics=False, keep_outputs=None)
    for name in whole.outputs:
        np.testing.assert_array_equal(whole.outputs[name], batched.outputs[name])


def test_synthetic_uniform_is_nncs_rule_and_equals_generator_uniform(tmp_path):
    spec = write(
        tmp_path / "s.yaml",
        "nnspec: 2\ndtype: float64\nseed: 7\nlayers:\n  - {name: x, type: Input, size: [5]}\n"
        "  - {name: out, type: Identity}\n",
    )
    drawn = nnspec.run(spec, synthetic=True, samples=6).outputs["out"]
    np.testing.assert_allclose(drawn, uniform(7, "x", 6, (5,)), rtol=0, atol=1e-15)
    assert -1 <= drawn.min() and drawn.max() < 1
    other = nnspec.run(write(tmp_path / "t.yaml", spec.read_text().replace("seed: 7", "seed: 8")), synthetic=True)
    assert not np.array_equal(other.outputs["out"][:6], drawn)


@pytest.mark.parametrize(
    "loss, before, values, low, high",
    [
        ("BinaryCrossEntropy", "Sigmoid", "binary", 0, 1),
        ("SquaredError", "Sigmoid", "uniform", 0.0, 1.0),  # like its input's range: a Sigmoid's 0..1
        ("SquaredError", "Tanh", "uniform", -1.0, 1.0),
        ("SquaredError", "Identity", "uniform", -1.0, 1.0),  # unbounded input: NNC's rule for data
        ("CategoricalCrossEntropy", "Softmax", "classes", 0, 4),
    ],
)
def test_synthetic_targets_take_the_values_their_loss_expects(tmp_path, loss, before, values, low, high):
    spec = write(
        tmp_path / "s.yaml",
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [5]}\n"
        f"  - {{name: f, type: {before}}}\n  - {{name: loss, type: {loss}, T: {{dataset: t}}}}\n",
    )
    result = nnspec.run(spec, synthetic=True, samples=40)
    source = result.sources["t"]
    assert source.kind == "synthetic" and source.synthesis is not None
    assert (source.synthesis.values, source.synthesis.low, source.synthesis.high) == (values, low, high)
    assert result.sources["x"].description == "synthetic uniform -1..1 (NNC's rule for data)"


def test_synthetic_class_targets_stay_in_range_along_the_loss_axis(tmp_path):
    spec = write(
        tmp_path / "s.yaml",
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [7, 3]}\n"
        "  - {name: loss, type: SoftmaxCrossEntropy, axis: 0, T: {dataset: t}}\noutputs: [loss]\n",
    )
    result = nnspec.run(spec, synthetic=True, samples=30, keep_outputs=None)
    assert result.sources["t"].synthesis.high == 6  # 7 classes along axis 0
    assert np.isfinite(result.outputs["loss"]).all()  # an index out of range would give NaN


def test_without_synthetic_a_variable_without_data_says_to_use_it(tmp_path):
    spec = write(tmp_path / "s.yaml", "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [5]}\n")
    with pytest.raises(UsageError, match="or run with --synthetic"):
        nnspec.run(spec)


def test_synthetic_leaves_other_sources_alone(tmp_path):
    spec = write(
        tmp_path / "s.yaml",
        "nnspec: 2\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
        "  - {name: g, type: Input, size: [2], generator: Constant}\n  - {name: s, type: Add2, input: [x, g]}\n"
        "data:\n  x: [[1, 2], [3, 4]]\n",
    )
    result = nnspec.run(spec, synthetic=True)
    assert result.sources["x"].kind == "spec" and result.sources["g"].kind == "generator"
    np.testing.assert_array_equal(result.outputs["s"], [[2, 3], [4, 5]])


def test_an_input_read_only_as_class_indices_gets_indices_in_range(tmp_path):
    spec = write(
        tmp_path / "s.yaml",
        "nnspec: 2\nlayers:\n  - {name: label, type: Input, size: [1]}\n"
        "  - {name: onehot, type: OneHot, shape: [4]}\n  - {name: embed, type: Embed, num_class: 6, input: label}\n"
        "  - {name: x, type: Input, size: [1]}\n  - {name: both, type: Embed, num_class: 3}\n"
        "  - {name: t, type: Tanh, input: x}\noutputs: [onehot, embed, both, t]\n",
    )
    result = nnspec.run(spec, synthetic=True, samples=40, keep_outputs=None)
    label = result.sources["label"].synthesis
    assert (label.values, label.low, label.high) == ("classes", 0, 3)  # OneHot's 4 classes and Embed's 6: 0..3
    assert result.sources["x"].synthesis.values == "uniform"  # read by Tanh too: data, not indices
    assert not np.isnan(result.outputs["onehot"]).any() and set(np.unique(result.outputs["onehot"])) == {0.0, 1.0}
    np.testing.assert_array_equal(result.outputs["onehot"].sum(axis=-1), 1.0)  # one class a sample


def test_hostile_dataset_and_executor_sections_are_located_errors(tmp_path):
    # a section index of 5,000 digits (int() would refuse it), an executor naming no dataset, a
    # dataset without a URI: each located or said, never a traceback
    text = RAW.read_text(encoding="utf-8")
    path = tmp_path / "p.sdcproj"
    path.write_text(text.replace("[Dataset_1]", "[Dataset_" + "9" * 5000 + "]"), newline="")
    with pytest.raises(SpecError, match=r"\[Dataset_1\] is missing: \[Dataset\] says Num=2"):
        read_spec(path)
    path.write_text(text.replace("Executor_DatasetName=Validation", "Executor_DatasetName=Nowhere"), newline="")
    with pytest.raises(SpecError, match="executor 'Executor' names dataset 'Nowhere'.*unknown-dataset"):
        nnspec.run(path)
    path.write_text(text.replace("URI=data\\validation.csv\n", ""), newline="")
    with pytest.raises(UsageError, match="dataset 'Validation' .* has no URI"):
        nnspec.run(path)


def test_a_prepared_runner_takes_the_same_data_options():
    runner = nnspec.prepare(RAW, statistics=False)
    once = runner.run(synthetic=True, samples=3, keep_outputs=None)
    again = nnspec.run(RAW, synthetic=True, samples=3, statistics=False, keep_outputs=None)
    np.testing.assert_array_equal(once.outputs["SoftmaxCrossEntropy"], again.outputs["SoftmaxCrossEntropy"])
    assert once.sources == again.sources
    with pytest.raises(UsageError, match="--synthetic"):
        runner.run()


def test_graph_run_takes_synthetic_and_refuses_it_without_run(tmp_path):
    done = cli("graph", str(RAW), "--run", "--synthetic", "--samples", "2")
    assert done.returncode == 0, done.stderr
    assert 'digraph "raw_pixels"' in done.stdout
    done = cli("graph", str(RAW), "--synthetic")
    assert done.returncode == 2 and "--synthetic give data for a run: add --run" in done.stderr
