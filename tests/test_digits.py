"""The bundled real data set: scikit-learn's 8x8 digits in NNC's format (data/digits/), classified by
specs/digits.yaml with the parameters scripts/make_digits.py trained."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.report.results import scores

from .conftest import ROOT, load_script

try:
    from PIL import Image
except ImportError:  # pragma: no cover - the test extra installs Pillow
    Image = None

pytestmark = pytest.mark.skipif(Image is None, reason="Pillow is not installed (pip install Pillow)")

DIGITS = ROOT / "data" / "digits"
SPEC = ROOT / "specs" / "digits.yaml"
TEST_CSV = DIGITS / "index_test.csv"
PARAMS = DIGITS / "params.npz"
COMMAND = "nnspec run specs/digits.yaml --dataset data/digits/index_test.csv --params data/digits/params.npz"
KEYS = ("fc1/affine/W", "fc1/affine/b", "fc2/affine/W", "fc2/affine/b")


def index(path):
    """(image path relative to the CSV, label) of every row of an index CSV, after checking its header."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["x:image", "y:label"]
    return [(cell, int(label)) for cell, label in rows[1:]]


def pixels(relative: str) -> np.ndarray:
    """An image as nnabla reads an 8-bit grayscale PNG: values / 255, read here with Pillow directly."""
    with Image.open(DIGITS / relative) as image:
        assert image.mode == "L" and image.size == (8, 8)
        return np.asarray(image, dtype=np.float64) / 255


def reference_probs(images: np.ndarray) -> np.ndarray:
    """The spec's network, written out in numpy: Affine 32, Tanh, Affine 10, Softmax."""
    with np.load(PARAMS) as archive:
        p = {key: archive[key].astype(np.float64) for key in KEYS}
    hidden = np.tanh(images.reshape(len(images), -1) @ p["fc1/affine/W"] + p["fc1/affine/b"])
    logits = hidden @ p["fc2/affine/W"] + p["fc2/affine/b"]
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_the_bundled_files_exist_and_are_small():
    train, test = index(DIGITS / "index_train.csv"), index(TEST_CSV)
    assert (len(train), len(test)) == (1297, 500)
    assert not {path for path, _ in train} & {path for path, _ in test}, "the splits overlap"
    assert {label for _, label in test} == set(range(10))
    for path, _ in train + test:
        assert (DIGITS / path).is_file(), path
    total = sum(f.stat().st_size for f in DIGITS.rglob("*") if f.is_file())
    assert total < 1_000_000, f"data/digits holds {total} bytes"


def test_the_npy_files_the_spec_names_hold_the_same_parameters_as_params_npz():
    with np.load(PARAMS) as archive:
        assert sorted(archive.files) == sorted(KEYS)
        for key in KEYS:
            np.testing.assert_array_equal(np.load(DIGITS / "params" / f"{key}.npy"), archive[key])


def test_the_test_split_error_rate_equals_a_numpy_computation_and_is_low():
    rows = index(TEST_CSV)
    images = np.stack([pixels(path) for path, _ in rows])
    labels = np.array([label for _, label in rows])
    probs = reference_probs(images)
    expected_error = float(np.mean(probs.argmax(axis=1) != labels))

    result = nnspec.run(nnspec.load(SPEC), dataset=TEST_CSV, params=PARAMS)
    assert result.samples == 500
    np.testing.assert_allclose(result.outputs["probs"], probs, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(result.outputs["error"].ravel(), probs.argmax(axis=1) != labels)
    error_rate = scores(result)["error"]["value"]
    assert error_rate == pytest.approx(expected_error, abs=1e-9)
    assert error_rate < 0.05
    loss = -np.mean(np.log(probs[np.arange(len(labels)), labels]))
    assert scores(result)["loss"]["value"] == pytest.approx(loss, rel=1e-3, abs=1e-5)
    assert [finding.severity for finding in result.findings if finding.severity != "info"] == []


def test_the_readme_shows_the_command_and_the_error_rate_it_prints(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(COMMAND.split()[1:]) == 0
    out = capsys.readouterr().out
    shown = re.search(r"error\s+error rate (\d+\.\d+)% \(TopNError\)", out)
    assert shown, out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert COMMAND in readme
    tail = re.search(r"^over all samples\n.*?(?=^\.\.\.$|^```)", readme, re.S | re.M)  # to the excerpt's '...'
    assert tail and tail.group(0) in out, "README shows a different end of the run's report"
    assert f"error rate {shown.group(1)}%" in readme
    assert f"error rate {shown.group(1)}%" in " ".join(nnspec.load(SPEC).description.split())


def test_without_flags_the_spec_classifies_its_ten_inline_test_digits():
    spec = nnspec.load(SPEC)
    first_of_each = {}
    for path, label in index(TEST_CSV):
        first_of_each.setdefault(label, path)
    np.testing.assert_array_equal(np.ravel(spec.data["y"]), np.arange(10))
    for label in range(10):
        np.testing.assert_allclose(spec.data["x"][label][0], pixels(first_of_each[label]), atol=0.005 + 1e-9)
    result = nnspec.run(spec)
    assert result.samples == 10
    assert scores(result)["error"]["value"] == 0.0


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """data/digits/ written anew by scripts/make_digits.py into a temporary folder."""
    pytest.importorskip("sklearn", reason="scripts/make_digits.py reads the digits through scikit-learn")
    make_digits = load_script("make_digits")
    out = tmp_path_factory.mktemp("digits")
    assert make_digits.main([str(out)]) == 0
    return out


def test_the_script_regenerates_the_same_files(regenerated):
    made = sorted(f.relative_to(regenerated) for f in regenerated.rglob("*") if f.is_file())
    assert made == sorted(f.relative_to(DIGITS) for f in DIGITS.rglob("*") if f.is_file())
    for relative in made:
        if relative.suffix in (".png", ".csv"):
            assert (regenerated / relative).read_bytes() == (DIGITS / relative).read_bytes(), relative
    # Trained weights: the same up to the last bits a different BLAS may change.
    with np.load(regenerated / "params.npz") as again, np.load(PARAMS) as bundled:
        for key in KEYS:
            np.testing.assert_allclose(again[key], bundled[key], rtol=1e-4, atol=1e-5)
