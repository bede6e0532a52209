"""NNC dataset CSVs (--dataset): values, per-sample data CSVs and images, bound to Inputs and targets by name."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError
from nnspec.runtime.inputs import gather_inputs

try:
    from PIL import Image
except ImportError:  # pragma: no cover - the test extra installs Pillow
    Image = None

needs_pillow = pytest.mark.skipif(Image is None, reason="Pillow is not installed (pip install Pillow)")


def spec_for(x_size, *, target: str = "", extra: str = "", allow_paths=()):
    """A spec reading x (and, with ``target``, y as a loss target) and passing x through unchanged."""
    text = (
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {list(x_size)}}}\n  - {{name: out, type: Identity}}\n"
    )
    return nnspec.loads(text + target + extra, allow_paths=allow_paths)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read(spec, dataset, **kwargs):
    """Every sample of every variable (a dataset's samples load when asked for: here, all at once)."""
    data, to_generate, count, _ = gather_inputs(spec, dataset=dataset, **kwargs)
    assert to_generate == []
    return {variable: source[0:count] for variable, source in data.items()}, count


def unreachable(*roots: Path) -> str:
    """What a missing file, or one outside the allowed roots, is said to be: the roots are the
    spec's (the current directory's repository, for a spec read from text) and the dataset's own directory."""
    allowed = [Path(__file__).resolve().parent.parent, *roots]
    return f"not found (or outside the allowed roots {', '.join(map(str, allowed))}; see --allow-path)"


def usage_error(spec, dataset, **kwargs) -> str:
    with pytest.raises(UsageError) as caught:
        read(spec, dataset, **kwargs)
    return str(caught.value)


# --- values ------------------------------------------------------------------------------


def test_dimension_columns_give_each_variable_its_values_in_order(tmp_path):
    # Columns out of order in the file: x__2 comes first, and a column no layer reads sits between.
    index = write(tmp_path / "index.csv", "x__2:c,x__0:a,note,x__1:b\n3,1,hello,2\n-6,-4,x,-5.5\n")
    data, count = read(spec_for([3]), index)
    assert count == 2
    np.testing.assert_array_equal(data["x"], [[1, 2, 3], [-4, -5.5, -6]])


def test_dimension_columns_are_reshaped_to_the_inputs_size(tmp_path):
    header = ",".join(f"x__{i}" for i in range(6))
    index = write(tmp_path / "index.csv", f"{header}\n" + ",".join(map(str, range(6))) + "\n")
    data, _ = read(spec_for([1, 2, 3]), index)
    np.testing.assert_array_equal(data["x"], np.arange(6.0).reshape(1, 1, 2, 3))


def test_per_sample_data_csvs_relative_and_absolute(tmp_path):
    first = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    second = -first
    write(tmp_path / "data" / "0.csv", "1,2,3\n4,5,6\n")
    absolute = write(tmp_path / "elsewhere" / "1.csv", "-1,-2,-3\n-4,-5,-6\n")
    index = write(tmp_path / "sets" / "index.csv", f"x\n../data/0.csv\n{absolute}\n")
    data, count = read(spec_for([2, 3], allow_paths=[tmp_path]), index)  # outside the CSV's directory: allowed
    assert count == 2
    np.testing.assert_array_equal(data["x"], np.stack([first, second]))


@pytest.mark.parametrize("content", ["1,2,3,4\n", "1\n2\n3\n4\n"], ids=["one-row", "one-column"])
def test_a_data_csv_of_one_row_or_one_column_is_one_dimensional(tmp_path, content):
    write(tmp_path / "a.csv", content)
    index = write(tmp_path / "index.csv", "x\na.csv\n")
    data, _ = read(spec_for([4]), index)
    np.testing.assert_array_equal(data["x"], [[1, 2, 3, 4]])


@needs_pillow
def test_grayscale_png_is_one_channel_divided_by_255(tmp_path):
    pixels = [np.array([[0, 128, 255], [1, 2, 3]], np.uint8), np.array([[10, 20, 30], [40, 50, 60]], np.uint8)]
    for i, image in enumerate(pixels):
        (tmp_path / "img").mkdir(exist_ok=True)
        Image.fromarray(image, mode="L").save(tmp_path / "img" / f"{i}.png")
    index = write(tmp_path / "index.csv", "x:image\nimg/0.png\nimg/1.png\n")
    data, _ = read(spec_for([1, 2, 3]), index)
    expected = np.stack([p.astype(np.float64)[np.newaxis] / 255 for p in pixels])
    np.testing.assert_allclose(data["x"], expected, rtol=0, atol=1e-12)


@needs_pillow
def test_rgb_png_is_channels_height_width_divided_by_255(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2, 3, 3), dtype=np.uint8)  # height 2, width 3, RGB
    Image.fromarray(pixels, mode="RGB").save(tmp_path / "rgb.png")
    index = write(tmp_path / "index.csv", "x:image\nrgb.png\n")
    data, _ = read(spec_for([3, 2, 3]), index)
    expected = np.moveaxis(pixels.astype(np.float64), -1, 0) / 255
    assert data["x"].shape == (1, 3, 2, 3)
    np.testing.assert_allclose(data["x"][0], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(data["x"][0, 0, 0, 0], pixels[0, 0, 0] / 255)  # red of the top-left pixel


@needs_pillow
def test_16bit_png_is_divided_by_65535(tmp_path):
    pixels = np.array([[0, 1000, 65535], [30000, 2, 12345]], np.uint16)
    Image.fromarray(pixels).save(tmp_path / "deep.png")
    index = write(tmp_path / "index.csv", "x\ndeep.png\n")
    data, _ = read(spec_for([1, 2, 3]), index)
    np.testing.assert_allclose(data["x"][0, 0], pixels.astype(np.float64) / 65535, rtol=0, atol=1e-12)


@needs_pillow
def test_input_and_loss_target_both_from_the_dataset_run_and_report_the_loss(tmp_path, capsys):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (4, 2, 2), dtype=np.uint8)
    labels = [0, 2, 1, 2]
    rows = ["x:image,y:label,source"]
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image, mode="L").save(tmp_path / f"{i}.png")
        rows.append(f"{i}.png,{label},camera-{i}")
    index = write(tmp_path / "index.csv", "\n".join(rows) + "\n")
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1, 2, 2]}\n"
        "  - {name: fc, type: Affine, out_shape: 3}\n  - {name: p, type: Softmax}\n"
        "  - {name: loss, type: CategoricalCrossEntropy, T: {dataset: y}}\n"
    )
    spec = nnspec.loads(text)
    result = nnspec.run(spec, dataset=index)
    # The same network on the same data given as arrays: the dataset was read as they are.
    arrays = {"x": images[:, np.newaxis] / 255, "y": np.array(labels, float).reshape(4, 1)}
    expected = nnspec.run(spec, arrays)
    assert result.samples == 4
    np.testing.assert_allclose(result.outputs["loss"], expected.outputs["loss"], rtol=1e-6)
    spec_file = write(tmp_path / "spec.yaml", text)
    assert main(["run", str(spec_file), "--dataset", str(index)]) == 0
    out = capsys.readouterr().out
    assert "4 samples" in out and "CategoricalCrossEntropy" in out


def test_squared_error_target_from_dimension_columns(tmp_path):
    index = write(tmp_path / "index.csv", "x__0,x__1,y__0,y__1\n1,2,1,0\n3,4,0,4\n")
    spec = spec_for([2], target="  - {name: loss, type: SquaredError, input: x, T: {dataset: y}}\n")
    result = nnspec.run(spec, dataset=index)
    np.testing.assert_allclose(result.outputs["loss"], [[0, 4], [9, 0]])


def test_input_files_override_the_datasets_column(tmp_path):
    index = write(tmp_path / "index.csv", "x__0,x__1\n1,2\n3,4\n")
    override = write(tmp_path / "x.csv", "10,20\n30,40\n")
    data, _ = read(spec_for([2]), index, files={"x": override})
    np.testing.assert_array_equal(data["x"], [[10, 20], [30, 40]])
    data, _ = read(spec_for([2]), index, arrays={"x": np.zeros((2, 2))})
    np.testing.assert_array_equal(data["x"], np.zeros((2, 2)))


def test_the_dataset_overrides_the_specs_data(tmp_path):
    index = write(tmp_path / "index.csv", "x__0,x__1\n1,2\n")
    spec = spec_for([2], extra="data:\n  x: [[7, 8]]\n")
    data, _ = read(spec, index)
    np.testing.assert_array_equal(data["x"], [[1, 2]])


def test_cli_dataset_option_runs_and_writes_outputs(tmp_path, capsys):
    index = write(tmp_path / "index.csv", "x__0,x__1\n0.5,-0.5\n0.25,0\n")
    spec_file = write(
        tmp_path / "spec.yaml",
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n  - {name: out, type: Identity}\n",
    )
    out = tmp_path / "out.npz"
    assert main(["run", str(spec_file), "--dataset", str(index), "--output", str(out)]) == 0
    with np.load(out) as saved:
        np.testing.assert_array_equal(saved["out"], [[0.5, -0.5], [0.25, 0]])


# --- errors ------------------------------------------------------------------------------


def test_ragged_shapes_name_the_row_column_and_both_shapes(tmp_path):
    write(tmp_path / "a.csv", "1,2,3\n4,5,6\n")
    write(tmp_path / "b.csv", "1,2,3\n4,5,6\n")
    write(tmp_path / "c.csv", "1,2\n3,4\n")
    index = write(tmp_path / "index.csv", "x\na.csv\nb.csv\nc.csv\n")
    message = usage_error(spec_for([2, 3]), index)
    assert message.startswith(f"{index}: row 4, column x: shape (2, 2); row 2 had (2, 3)")


@needs_pillow
def test_ragged_image_sizes(tmp_path):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((28, 27), np.uint8)).save(tmp_path / "b.png")
    index = write(tmp_path / "index.csv", "x:image\n" + "a.png\n" * 5 + "b.png\n")
    message = usage_error(spec_for([1, 28, 28]), index)
    assert message.startswith(f"{index}: row 7, column x: shape (1, 28, 27); row 2 had (1, 28, 28)")


def test_missing_file(tmp_path):
    index = write(tmp_path / "index.csv", "x,y\n1,2\nimages/gone.png,3\n")
    message = usage_error(spec_for([1]), index)
    assert message == f"{index}: row 3, column x: 'images/gone.png' {unreachable(tmp_path)}"


def test_a_directory_where_a_file_should_be(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    index = write(tmp_path / "index.csv", "x\nfolder.csv\n")
    assert usage_error(spec_for([1]), index) == f"{index}: row 2, column x: 'folder.csv' is a directory"


def test_the_dataset_itself_missing_or_a_directory(tmp_path):
    assert usage_error(spec_for([1]), tmp_path / "none.csv") == f"{tmp_path / 'none.csv'}: file not found"
    assert usage_error(spec_for([1]), tmp_path) == f"{tmp_path}: is a directory"


def test_non_numbers_in_a_value_cell_and_in_a_dimension_column(tmp_path):
    index = write(tmp_path / "index.csv", "x\n1\nabc\n")
    assert usage_error(spec_for([1]), index).startswith(f"{index}: row 3, column x: not a number, nor a path")
    index = write(tmp_path / "dims.csv", "x__0,x__1\n1,2\n3,\n")
    assert usage_error(spec_for([2]), index) == f"{index}: row 3, column x__1: not a number: ''"


def test_non_number_inside_a_per_sample_csv_names_both_files(tmp_path):
    data_file = write(tmp_path / "s.csv", "1,2\n3,oops\n")
    index = write(tmp_path / "index.csv", "x\ns.csv\n")
    message = usage_error(spec_for([2, 2]), index)
    assert message == f"{index}: row 2, column x: 's.csv': {data_file}:2:2: not a number"  # its text not quoted


def test_unknown_file_type(tmp_path):
    write(tmp_path / "sample.webp", "not really")
    index = write(tmp_path / "index.csv", "x\nsample.webp\n")
    message = usage_error(spec_for([1]), index)
    assert message.startswith(f"{index}: row 2, column x: 'sample.webp': unknown file type '.webp'")


@needs_pillow
def test_an_unreadable_image(tmp_path):
    write(tmp_path / "broken.png", "this is no png")
    index = write(tmp_path / "index.csv", "x\nbroken.png\n")
    message = usage_error(spec_for([1]), index)
    assert message.startswith(f"{index}: row 2, column x: 'broken.png': cannot read the image")


def test_empty_dataset_and_header_only(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    assert usage_error(spec_for([1]), empty).startswith(f"{empty}: is empty")
    header_only = write(tmp_path / "header.csv", "x:image,y:label\n")
    assert usage_error(spec_for([1]), header_only).startswith(f"{header_only}: holds no samples")


def test_a_header_naming_no_variable_the_spec_reads_suggests_a_close_one(tmp_path):
    index = write(tmp_path / "index.csv", "image,xx:image\n1,2\n")
    message = usage_error(spec_for([1]), index)
    assert message == (
        f"{index}: the header names no data variable the spec reads (it names image, xx; the spec reads x); "
        "did you mean 'x' for column 'xx'?"
    )


def test_a_row_with_too_few_cells(tmp_path):
    index = write(tmp_path / "index.csv", "x,y\n1,2\n3\n")
    assert usage_error(spec_for([1]), index) == f"{index}: row 3: has 1 cells, but the header has 2"


def test_dimension_columns_with_a_gap(tmp_path):
    index = write(tmp_path / "index.csv", "x__0,x__2\n1,2\n")
    message = usage_error(spec_for([2]), index)
    assert message.startswith(f"{index}: row 1, column 2: the columns of 'x' are numbered 0, 2")


def test_samples_of_the_wrong_size_for_the_input(tmp_path):
    index = write(tmp_path / "index.csv", "x__0,x__1,x__2\n1,2,3\n")
    message = usage_error(spec_for([2]), index)
    assert message == (
        f"{index}: column x: each sample has shape (3,) (3 values), but 'x' (Input) reads samples "
        "of shape (2,) (2 values)"
    )


def test_a_variable_the_dataset_lacks_says_so(tmp_path):
    index = write(tmp_path / "index.csv", "x\n1\n")
    spec = spec_for([1], target="  - {name: loss, type: SquaredError, input: x, T: {dataset: y}}\n")
    message = usage_error(spec, index)
    assert message.startswith(f"no data for target T of 'loss' (SquaredError) (the dataset {index} has no column 'y')")


def test_missing_pillow_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "a.png").write_bytes(b"\x89PNG")  # never opened: the import fails first
    index = write(tmp_path / "index.csv", "x\na.png\n")
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    message = usage_error(spec_for([1, 2, 2]), index)
    assert message == (
        f"{index}: row 2, column x: 'a.png' is an image; reading images needs Pillow: pip install Pillow"
    )


def test_cli_errors_exit_2_with_the_location_and_no_traceback(tmp_path, capsys):
    spec_file = write(tmp_path / "spec.yaml", "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1]}\n")
    index = write(tmp_path / "index.csv", "x\n1\nmissing.csv\n")
    assert main(["run", str(spec_file), "--dataset", str(index)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"nnspec: error: {index}: row 3, column x: 'missing.csv' not found (or outside the allowed root {tmp_path}; "
        "see --allow-path)\n"  # a spec outside a repository and the current directory: its own directory
    )
    assert "Traceback" not in err
