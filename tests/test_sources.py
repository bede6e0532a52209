"""Every data source streams: .npy, .npz, numeric .csv and NNC datasets give the same outputs and
statistics whatever the batch size, and a dataset's samples are loaded only when their batch runs.
Also the spec's dataset: key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError
from nnspec.files.rows import CsvRows
from nnspec.runtime.inputs import read_array_file

try:
    from PIL import Image
except ImportError:  # pragma: no cover - the test extra installs Pillow
    Image = None

needs_pillow = pytest.mark.skipif(Image is None, reason="Pillow is not installed (pip install Pillow)")

SPEC = """
nnspec: 1
layers:
  - {name: x, type: Input, size: [6]}
  - {name: out, type: Identity}
  - {name: t, type: Tanh}
outputs: [out, t]
"""
SAMPLES = 11
PIXELS = np.random.default_rng(5).integers(0, 256, (SAMPLES, 2, 3)).astype(np.uint8)
VALUES = np.random.default_rng(4).normal(size=(SAMPLES, 6)) * 3


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def numbers(row) -> str:
    return ",".join(repr(float(v)) for v in row)


def make_source(kind: str, folder: Path) -> tuple[dict, np.ndarray]:
    """run() keyword arguments reading VALUES (or PIXELS / 255 for images) through one kind of source."""
    if kind == "npy":
        np.save(folder / "x.npy", VALUES)
        return {"input_files": {"x": folder / "x.npy"}}, VALUES
    if kind == "npz":
        np.savez(folder / "x.npz", x=VALUES, other=np.zeros(3))
        return {"input_files": {"x": folder / "x.npz"}}, VALUES
    if kind == "npz-fortran":
        np.savez(folder / "x.npz", x=np.asfortranarray(VALUES.reshape(SAMPLES, 2, 3)))
        return {"input_files": {"x": folder / "x.npz"}}, VALUES
    if kind == "npz-compressed":
        np.savez_compressed(folder / "x.npz", x=VALUES)
        return {"input_files": {"x": folder / "x.npz"}}, VALUES
    if kind == "csv":
        lines = [numbers(row) for row in VALUES]
        lines[3:3] = ["", ""]  # blank lines are skipped
        write(folder / "x.csv", "\ufeff" + "\n".join(lines) + "\n")  # a BOM, as Excel writes
        return {"input_files": {"x": folder / "x.csv"}}, VALUES
    if kind == "dataset-columns":
        header = ",".join(f"x__{i}" for i in range(6)) + ",label\n"
        write(folder / "index.csv", header + "".join(numbers(row) + ",3\n" for row in VALUES))
        return {"dataset": folder / "index.csv"}, VALUES
    if kind == "dataset-csvs":
        for i, row in enumerate(VALUES):
            write(folder / "samples" / f"{i}.csv", numbers(row[:3]) + "\n" + numbers(row[3:]) + "\n")
        write(folder / "index.csv", "x:data\n" + "".join(f"samples/{i}.csv\n" for i in range(SAMPLES)))
        return {"dataset": folder / "index.csv"}, VALUES
    assert kind == "dataset-images"
    for i, pixels in enumerate(PIXELS):
        Image.fromarray(pixels).save(folder / f"{i}.png")
    write(folder / "index.csv", "x:image\n" + "".join(f"{i}.png\n" for i in range(SAMPLES)))
    return {"dataset": folder / "index.csv"}, PIXELS.reshape(SAMPLES, 6) / 255


KINDS = [
    "npy",
    "npz",
    "npz-fortran",
    "npz-compressed",
    "csv",
    "dataset-columns",
    "dataset-csvs",
    pytest.param("dataset-images", marks=needs_pillow),
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_source_gives_the_same_outputs_and_statistics_whatever_the_batch_size(kind, tmp_path):
    spec = nnspec.loads(SPEC)
    source, expected = make_source(kind, tmp_path)
    whole = nnspec.run(spec, **source)
    np.testing.assert_array_equal(whole.outputs["out"], expected.astype(np.float32))
    for batch_size in (1, 4, SAMPLES + 5):
        batched = nnspec.run(spec, batch_size=batch_size, **source)
        assert batched.samples == SAMPLES
        for name in ("out", "t"):
            np.testing.assert_array_equal(batched.outputs[name], whole.outputs[name], err_msg=f"{name} {batch_size}")
            ours, theirs = batched.stats[name].output, whole.stats[name].output
            assert (ours.count, ours.min, ours.max, ours.zeros) == (theirs.count, theirs.min, theirs.max, theirs.zeros)
            assert ours.mean == pytest.approx(theirs.mean) and ours.std == pytest.approx(theirs.std)
            np.testing.assert_array_equal(ours.histogram, theirs.histogram)


def test_npz_members_stored_or_compressed_are_read_a_batch_of_rows_at_a_time(tmp_path):
    np.savez(tmp_path / "stored.npz", x=VALUES, y=np.arange(4))
    np.savez_compressed(tmp_path / "packed.npz", x=VALUES)
    stored = read_array_file(tmp_path / "stored.npz", "x")
    assert not isinstance(stored, np.ndarray) and stored.shape == VALUES.shape  # nothing read yet
    np.testing.assert_array_equal(stored[0 : len(stored)], VALUES)
    np.testing.assert_array_equal(read_array_file(tmp_path / "stored.npz", "y").read(), np.arange(4))
    packed = read_array_file(tmp_path / "packed.npz", "anything")  # the only array
    np.testing.assert_array_equal(packed[3:7], VALUES[3:7])
    np.testing.assert_array_equal(packed[1:2], VALUES[1:2])  # back: the member is inflated again from its start
    np.testing.assert_array_equal(packed[5 : len(packed)], VALUES[5:])
    with pytest.raises(UsageError, match="has no array named 'z' \\(it has x, y\\)"):
        read_array_file(tmp_path / "stored.npz", "z")
    write(tmp_path / "broken.npz", "PK\x03\x04 not a zip")
    with pytest.raises(UsageError, match="cannot read as a .npz file"):
        read_array_file(tmp_path / "broken.npz", "x")


def test_a_csv_is_read_a_batch_of_rows_at_a_time(tmp_path):
    path = write(tmp_path / "x.csv", "1,2\n\n3,4\n5,6\n7,8\n")
    rows = CsvRows(path)
    assert (len(rows), rows.shape) == (4, (4, 2))
    np.testing.assert_array_equal(rows[1:3], [[3, 4], [5, 6]])
    np.testing.assert_array_equal(rows[3:10], [[7, 8]])
    assert rows[2:2].shape == (0, 2)


def test_a_bad_csv_row_in_a_later_batch_names_its_line_after_the_earlier_batches_ran(tmp_path):
    lines = [numbers(row) for row in VALUES]
    lines.insert(2, "")  # line 3 is blank: sample 9 is on line 10
    lines[9] = "1,2,3,4,5"
    path = write(tmp_path / "x.csv", "\n".join(lines) + "\n")
    done = []
    with pytest.raises(UsageError) as caught:
        nnspec.run(nnspec.loads(SPEC), input_files={"x": path}, batch_size=4, progress=lambda d, n: done.append(d))
    assert str(caught.value).startswith(f"{path}:10: has 5 values, but line 1 has 6")
    assert done == [4, 8]  # the batches before it ran; the third found the row (sample 9)
    lines[9] = "1,2,3,4,5,x"
    write(path, "\n".join(lines) + "\n")
    with pytest.raises(UsageError, match=f"^{path}:10:6: not a number: 'x'$"):
        nnspec.run(nnspec.loads(SPEC), input_files={"x": path}, batch_size=4)


@needs_pillow
def test_a_datasets_images_are_read_only_for_the_batch_that_runs(tmp_path, monkeypatch):
    source, _ = make_source("dataset-images", tmp_path)
    opened = []
    original = Image.open
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args[0]) or original(*args, **kwargs))
    seen = []
    nnspec.run(nnspec.loads(SPEC), batch_size=4, progress=lambda done, total: seen.append(len(opened)), **source)
    # the first sample is read when the dataset is opened (its shape), then each batch's own
    assert seen == [1 + 4, 1 + 8, 1 + SAMPLES]
    assert [Path(p).name for p in opened[1:]] == [f"{i}.png" for i in range(SAMPLES)]


@needs_pillow
def test_a_broken_image_is_reported_with_its_row_when_its_batch_runs(tmp_path):
    source, _ = make_source("dataset-images", tmp_path)
    write(tmp_path / "7.png", "this is no png")  # sample 8: row 9 (the header is row 1)
    done = []
    with pytest.raises(UsageError) as caught:
        nnspec.run(nnspec.loads(SPEC), batch_size=4, progress=lambda d, n: done.append(d), **source)
    assert str(caught.value).startswith(f"{source['dataset']}: row 9, column x: '7.png': cannot read")
    assert done == [4]


def test_a_ragged_sample_in_a_later_batch_is_a_usage_error_with_both_rows(tmp_path):
    for i in range(6):
        write(tmp_path / f"{i}.csv", "1,2,3\n4,5,6\n" if i != 4 else "1,2\n3,4\n")
    index = write(tmp_path / "index.csv", "x\n" + "".join(f"{i}.csv\n" for i in range(6)))
    done = []
    with pytest.raises(UsageError) as caught:
        nnspec.run(nnspec.loads(SPEC), dataset=index, batch_size=2, progress=lambda d, n: done.append(d))
    assert str(caught.value).startswith(f"{index}: row 6, column x: shape (2, 2); row 2 had (2, 3)")
    assert done == [2, 4]  # sample 5 (row 6) is in the third batch


# --- the spec's dataset: key ------------------------------------------------------------------

SPEC_WITH_DATASET = (
    "nnspec: 1\nseed: 1\ndataset: {path}\nlayers:\n"
    "  - {{name: x, type: Input, size: [2]}}\n  - {{name: out, type: Identity}}\n"
)


def test_the_specs_dataset_is_relative_to_the_spec(tmp_path, monkeypatch):
    write(tmp_path / "data" / "index.csv", "x__0,x__1\n1,2\n3,4\n")
    spec_file = write(tmp_path / "specs" / "spec.yaml", SPEC_WITH_DATASET.format(path="../data/index.csv"))
    (tmp_path / ".git").mkdir()  # a repository, whose files its specs may name (see nnspec.files.confine)
    monkeypatch.chdir(tmp_path / "data")  # not where the path is relative to
    spec = nnspec.load(spec_file)
    assert spec.dataset == tmp_path / "specs" / "../data/index.csv"
    np.testing.assert_array_equal(nnspec.run(spec).outputs["out"], [[1, 2], [3, 4]])


def test_the_command_line_dataset_wins_over_the_specs(tmp_path):
    write(tmp_path / "index.csv", "x__0,x__1\n1,2\n3,4\n")
    other = write(tmp_path / "other.csv", "x__0,x__1\n-1,-2\n")
    spec_file = write(tmp_path / "spec.yaml", SPEC_WITH_DATASET.format(path="index.csv"))
    out = tmp_path / "out.npy"
    assert main(["run", str(spec_file), "--dataset", str(other), "--output", str(out), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(out), [[-1, -2]])
    np.testing.assert_array_equal(nnspec.run(nnspec.load(spec_file), dataset=other).outputs["out"], [[-1, -2]])
    assert main(["run", str(spec_file), "--output", str(out), "--quiet", "--force"]) == 0
    np.testing.assert_array_equal(np.load(out), [[1, 2], [3, 4]])


def test_a_missing_dataset_is_an_error_at_its_key(tmp_path):
    spec_file = write(tmp_path / "spec.yaml", SPEC_WITH_DATASET.format(path="gone.csv"))
    diagnostics = nnspec.validate(spec_file)
    assert [(d.code, d.line, d.message) for d in diagnostics] == [
        (
            "missing-file",
            3,
            f"dataset {tmp_path / 'gone.csv'} not found (or outside the allowed root {tmp_path}; see --allow-path)",
        )
    ]
    (tmp_path / "folder").mkdir()
    write(spec_file, SPEC_WITH_DATASET.format(path="folder"))
    assert [d.message for d in nnspec.validate(spec_file)] == [
        f"dataset {tmp_path / 'folder'} is a directory, not a dataset CSV"
    ]
    write(spec_file, SPEC_WITH_DATASET.format(path="3"))
    assert [d.code for d in nnspec.validate(spec_file)] != []  # a number: the schema says so
