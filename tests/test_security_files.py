"""Data and parameter files from strangers (issue 15, items 4, 5, 10, 12): nnspec reads only the
bytes of the file it was given, never runs a program to decode one, and never takes more memory
to read one than the run's --max-memory, checked from the file's header before anything is
allocated. The memory of a whole run is measured in a child process (ru_maxrss)."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli import main

from .conftest import ROOT

h5py = pytest.importorskip("h5py")
Image = pytest.importorskip("PIL.Image")

SECRET = b"NNSPEC_TEST_SECRET=hunter2-0123456789abcdef\n"
AFFINE = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3], generator: Uniform}\n  - {name: fc, type: Affine, out_shape: 3}\n"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, *argv: str) -> str:
    """Run the CLI, expect exit 2 with nnspec's own error and no traceback; the error text."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("nnspec: error: ") and "Traceback" not in err, err
    return err


# --- item 4: an .h5 parameter file reads nothing but its own bytes ----------------------------------


def _spec_and_secret(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_bytes(SECRET)
    spec = tmp_path / "spec.yaml"
    spec.write_text(AFFINE, encoding="utf-8")
    return spec


def _h5(tmp_path: Path, build) -> Path:
    """A parameter file with a good fc/affine/b and whatever ``build(handle)`` adds."""
    path = tmp_path / "params.h5"
    with h5py.File(path, "w") as handle:
        handle["fc/affine/b"] = np.zeros(3)
        build(handle)
    return path


def _external_storage(handle) -> None:
    handle.create_dataset("fc/affine/W", shape=(3, 3), dtype="u1", external=[("secret.txt", 0, 9)])


def _virtual_dataset(handle) -> None:
    with h5py.File(Path(handle.filename).parent / "other.h5", "w") as other:
        other["W"] = np.frombuffer(SECRET[:9], np.uint8).reshape(3, 3)
    layout = h5py.VirtualLayout(shape=(3, 3), dtype="u1")
    layout[:] = h5py.VirtualSource("other.h5", "W", shape=(3, 3))
    handle.create_virtual_dataset("fc/affine/W", layout)


def _external_link(handle) -> None:
    with h5py.File(Path(handle.filename).parent / "other.h5", "w") as other:
        other["W"] = np.frombuffer(SECRET[:9], np.uint8).reshape(3, 3)
    handle["fc/affine/W"] = h5py.ExternalLink("other.h5", "/W")


def _soft_link(handle) -> None:
    handle["stash/W"] = np.ones((3, 3))
    handle["fc/affine/W"] = h5py.SoftLink("/stash/W")


def _unknown_filter(handle) -> None:
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_chunk((3, 3))
    plist.set_filter(32004, h5py.h5z.FLAG_OPTIONAL)  # lz4: a plugin HDF5 would load from disk
    space = h5py.h5s.create_simple((3, 3))
    group = handle.require_group("fc/affine")
    h5py.h5d.create(group.id, b"W", h5py.h5t.NATIVE_DOUBLE, space, dcpl=plist)


@pytest.mark.parametrize(
    ("build", "said"),
    [
        (_external_storage, "'fc/affine/W' is stored in external files"),
        (_virtual_dataset, "'fc/affine/W' is a virtual dataset"),
        (_external_link, "'fc/affine/W' is an external link to another file"),
        (_soft_link, "'fc/affine/W' is a soft link"),
        (_unknown_filter, "'fc/affine/W' is encoded with HDF5 filter 32004"),
    ],
)
def test_an_h5_whose_values_live_elsewhere_is_refused_before_anything_is_read(tmp_path, capsys, build, said):
    spec = _spec_and_secret(tmp_path)
    params = _h5(tmp_path, build)
    output = tmp_path / "out.npz"
    err = refused(capsys, "run", str(spec), "--params", str(params), "--output", str(output), "--samples", "2")
    assert str(params) in err and said in err
    assert b"hunter2" not in err.encode() and not output.exists()


def test_the_datasets_of_an_h5_are_bounded_by_max_memory_before_they_are_read(tmp_path, capsys):
    spec = _spec_and_secret(tmp_path)
    # 800 MB of zeros, compressed to a file of under 1 MB: declared in the header, never decoded
    params = _h5(
        tmp_path,
        lambda handle: handle.create_dataset(
            "fc/affine/W", shape=(10_000, 10_000), dtype="f8", chunks=(1000, 1000), compression="gzip", fillvalue=0.0
        ),
    )
    with h5py.File(params, "a") as handle:
        handle["fc/affine/W"][:1000, :1000] = 0.0
    assert params.stat().st_size < 2**20
    err = refused(capsys, "run", str(spec), "--params", str(params), "--max-memory", "50M", "--samples", "2")
    assert str(params) in err and "762.9 MiB" in err and "memory limit of 50.0 MiB (--max-memory)" in err
