"""nnabla's parameter .h5 files (--params file.h5): one dataset per parameter at the path of its nnabla
name, as nnabla's save_parameters writes them; h5py is the optional h5 extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError
from nnspec.runtime.params import H5_EXTRA, load_parameter_file

from .conftest import ROOT, load_script

try:
    import h5py
except ImportError:  # pragma: no cover - the test extra installs h5py
    h5py = None

needs_h5py = pytest.mark.skipif(h5py is None, reason="h5py is not installed (pip install h5py)")
FIXTURE = ROOT / "tests" / "fixtures" / "nnabla"

SPEC = """\
nnspec: 1
seed: 3
layers:
  - {name: x, type: Input, size: [2, 5, 5], generator: Uniform}
  - {name: conv1, type: Convolution, out_maps: 3, kernel_shape: [3, 3]}
  - {name: bn1, type: BatchNormalization, batch_stat: false}
  - {name: fc1, type: Affine, out_shape: 4, b: {initializer: Normal, multiplier: 0.1}}
  - {name: probs, type: Softmax}
"""


def write_nnabla_h5(path, params: dict[str, np.ndarray]) -> None:
    """What nnabla's save_parameters writes: hd[name] = value (groups for the scopes along the name),
    with attributes need_grad and index (the order the parameters were created in)."""
    with h5py.File(path, "w") as handle:
        for i, (name, value) in enumerate(params.items()):
            handle[name] = value
            handle[name].attrs["need_grad"] = not name.endswith(("/mean", "/var"))
            handle[name].attrs["index"] = i


def spec_parameters():
    """The spec and its initial parameters by nnabla name, made non-trivial (random BN statistics)."""
    spec = nnspec.loads(SPEC)
    params = nnspec.run(spec, samples=2).parameters
    rng = np.random.default_rng(0)
    for key in ("bn1/bn/mean", "bn1/bn/beta"):
        params[key] = rng.normal(0, 0.3, params[key].shape).astype(np.float32)
    params["bn1/bn/var"] = rng.uniform(0.5, 2, params["bn1/bn/var"].shape).astype(np.float32)
    return spec, params


@needs_h5py
def test_an_h5_in_nnablas_layout_gives_the_same_outputs_as_the_same_parameters_in_npz(tmp_path):
    spec, params = spec_parameters()
    assert set(params) == {
        "conv1/conv/W",
        "conv1/conv/b",
        "bn1/bn/beta",
        "bn1/bn/gamma",
        "bn1/bn/mean",
        "bn1/bn/var",
        "fc1/affine/W",
        "fc1/affine/b",
    }
    np.savez(tmp_path / "params.npz", **params)
    write_nnabla_h5(tmp_path / "parameter.h5", params)
    with h5py.File(tmp_path / "parameter.h5", "r") as handle:  # the layout: nested groups, a dataset at each name
        assert isinstance(handle["conv1"], h5py.Group) and isinstance(handle["conv1/conv"], h5py.Group)
        assert isinstance(handle["conv1/conv/W"], h5py.Dataset)

    loaded = load_parameter_file(tmp_path / "parameter.h5")
    assert list(loaded) == list(params)
    for key, value in params.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype

    x = np.random.default_rng(1).uniform(-1, 1, (6, 2, 5, 5))
    from_npz = nnspec.run(spec, {"x": x}, params=tmp_path / "params.npz")
    from_h5 = nnspec.run(spec, {"x": x}, params=str(tmp_path / "parameter.h5"))
    np.testing.assert_array_equal(from_h5.outputs["probs"], from_npz.outputs["probs"])
    assert from_h5.notes == from_npz.notes == []


@needs_h5py
def test_datasets_come_back_in_nnablas_index_order_whatever_order_they_were_written_in(tmp_path):
    with h5py.File(tmp_path / "p.h5", "w") as handle:
        for name, index in (("b/affine/W", 2), ("a/affine/b", 1), ("c/conv/W", 0)):
            handle[name] = np.full((2,), float(index), dtype=np.float32)
            handle[name].attrs["index"] = index
            handle[name].attrs["need_grad"] = True
    loaded = load_parameter_file(tmp_path / "p.h5")
    assert list(loaded) == ["c/conv/W", "a/affine/b", "b/affine/W"]


@needs_h5py
def test_the_cli_takes_an_h5_and_unused_datasets_are_a_warning(tmp_path, write_spec, capsys):
    spec, params = spec_parameters()
    write_nnabla_h5(tmp_path / "parameter.h5", {**params, "extra/affine/W": np.zeros((2, 2), np.float32)})
    path = write_spec(SPEC)
    assert main(["run", str(path), "--params", str(tmp_path / "parameter.h5"), "--samples", "3"]) == 0
    assert "extra/affine/W" in capsys.readouterr().err


@needs_h5py
def test_a_missing_parameter_in_the_h5_is_an_error_naming_it(tmp_path):
    spec, params = spec_parameters()
    del params["fc1/affine/W"]
    write_nnabla_h5(tmp_path / "parameter.h5", params)
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.run(spec, samples=2, params=tmp_path / "parameter.h5")
    assert "'fc1/affine/W'" in str(caught.value) and "parameter.h5" in str(caught.value)


def usage_error(path) -> str:
    with pytest.raises(UsageError) as caught:
        load_parameter_file(path)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_a_missing_h5_file_is_a_usage_error_with_the_path(tmp_path):
    assert "parameter file not found" in usage_error(tmp_path / "nowhere.h5")
    (tmp_path / "folder.h5").mkdir()
    assert "is a directory" in usage_error(tmp_path / "folder.h5")


@needs_h5py
def test_a_file_that_is_not_hdf5_is_a_usage_error_with_the_path(tmp_path):
    (tmp_path / "params.h5").write_text("fc1/affine/W,1,2,3\n", encoding="utf-8")
    assert "cannot read as an HDF5 parameter file" in usage_error(tmp_path / "params.h5")


@needs_h5py
def test_a_dataset_of_text_is_a_usage_error_naming_the_file_and_the_dataset(tmp_path):
    with h5py.File(tmp_path / "params.h5", "w") as handle:
        handle["fc1/affine/W"] = np.zeros((2, 2), np.float32)
        handle["fc1/affine/note"] = "trained on Tuesday"
    message = usage_error(tmp_path / "params.h5")
    assert "'fc1/affine/note'" in message and "not numbers" in message


@needs_h5py
def test_the_cli_reports_an_unreadable_h5_with_exit_code_2(tmp_path, write_spec, capsys):
    (tmp_path / "params.h5").write_bytes(b"\x00not hdf5")
    assert main(["run", str(write_spec(SPEC)), "--params", str(tmp_path / "params.h5")]) == 2
    assert "params.h5" in capsys.readouterr().err


def test_without_h5py_the_error_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "parameter.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    message = usage_error(tmp_path / "parameter.h5")
    assert "needs h5py" in message and H5_EXTRA in message
    assert H5_EXTRA == "pip install h5py"


# --- a fixture made by nnabla itself (scripts/make_nnabla_fixture.py) ----------------------


def nnabla_fixture_spec() -> str:
    return load_script("make_nnabla_fixture").NNC_SPEC


@needs_h5py
def test_parameters_saved_by_nnabla_give_nnablas_outputs():
    with np.load(FIXTURE / "expected.npz", allow_pickle=False) as archive:
        expected = {key: archive[key] for key in archive.files}
    assert str(expected["nnabla_version"]).count(".") == 2
    loaded = load_parameter_file(FIXTURE / "parameter.h5")
    assert list(loaded) == [  # nnabla's names, in the order nnabla created them
        "conv1/conv/W",
        "conv1/conv/b",
        "bn1/bn/beta",
        "bn1/bn/gamma",
        "bn1/bn/mean",
        "bn1/bn/var",
        "fc/affine/W",
        "fc/affine/b",
    ]
    with h5py.File(FIXTURE / "parameter.h5", "r") as handle:  # the layout nnabla wrote, which the loader reads
        assert isinstance(handle["bn1/bn"], h5py.Group)
        assert dict(handle["bn1/bn/mean"].attrs) == {"need_grad": False, "index": 4}
        assert handle["fc/affine/W"].attrs["index"] == 6 and handle["fc/affine/W"].attrs["need_grad"]
    result = nnspec.run(nnspec.loads(nnabla_fixture_spec()), {"x": expected["x"]}, params=FIXTURE / "parameter.h5")
    assert result.notes == []
    for name in ("conv1", "bn1", "probs"):
        assert result.outputs[name].dtype == expected[name].dtype == np.float32
        np.testing.assert_allclose(result.outputs[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
