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
AFFINE = """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [3], generator: Uniform}
  - {name: fc, type: Affine, out_shape: 3}
"""


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


# --- a child process, measured: exit code, stderr and peak memory (ru_maxrss) -----------------------

# nnspec is forked from this small launcher, not from pytest: Linux counts in a child's peak memory
# the memory of the process that forked it, at the fork (as scripts/robustness.py explains).
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "nnspec", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)
"""
# What a run takes besides --max-memory: Python with numpy, PyYAML, networkx and jsonschema
# imported (60 MB measured for `nnspec run` of a two-layer spec), Pillow and h5py (73 MB with both),
# and allocator slack. A run's peak memory stays under its --max-memory plus this.
OVERHEAD = 80 * 2**20
LIMIT = "20M"


def measured(directory: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, int]:
    """``python -m nnspec ARGV`` in ``directory``: exit code, stderr and peak memory in bytes."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, peak = done.stdout.split()[-2:]  # the launcher's report, after whatever nnspec printed
    return int(code), done.stderr, int(peak)


def within_limit(peak: int, limit: str = LIMIT) -> bool:
    from nnspec.files.memory import parse_size

    return peak <= parse_size(limit) + OVERHEAD


# --- item 5: an image is opened as the format its name says, never through another program ---------

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 4\nnewpath 0 0 moveto 4 4 lineto stroke\nshowpage\n%%EOF\n"
IMAGE_SPEC = (
    "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1, 4, 4]}\n  - {name: fc, type: Affine, out_shape: 2}\n"
)


def _dataset(directory: Path, *cells: str, spec: str = IMAGE_SPEC) -> None:
    (directory / "spec.yaml").write_text(spec, encoding="utf-8")
    (directory / "index.csv").write_text("x\n" + "".join(f"{cell}\n" for cell in cells), encoding="utf-8")


def test_postscript_named_png_never_reaches_ghostscript(tmp_path):
    """Pillow's EPS reader runs Ghostscript (`gs`) to decode: a fake `gs` first on PATH records a call."""
    bin_directory, called = tmp_path / "bin", tmp_path / "gs-was-run"
    bin_directory.mkdir()
    (bin_directory / "gs").write_text(f"#!/bin/sh\ntouch '{called}'\nexit 1\n", encoding="utf-8")
    (bin_directory / "gs").chmod(0o755)
    (tmp_path / "img.png").write_bytes(EPS)
    _dataset(tmp_path, "img.png")
    path = f"{bin_directory}{os.pathsep}{os.environ.get('PATH', '')}"
    code, err, _ = measured(tmp_path, "run", "-q", "spec.yaml", "--dataset", "index.csv", env={"PATH": path})
    assert code == 2 and not called.exists(), err
    assert "row 2, column x" in err and "'img.png': cannot read the image: not a PNG file, as its name says" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("suffix", "form"), [(".png", "JPEG"), (".jpg", "PNG"), (".gif", "BMP"), (".tiff", "GIF")])
def test_an_image_in_another_format_than_its_name_says_is_refused(tmp_path, capsys, suffix, form):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / f"img{suffix}", format=form)
    _dataset(tmp_path, f"img{suffix}")
    err = refused(capsys, "run", "-q", str(tmp_path / "spec.yaml"), "--dataset", str(tmp_path / "index.csv"))
    assert f"'img{suffix}': cannot read the image: not a {Image.registered_extensions()[suffix]} file" in err


# --- item 10: an image's size is checked against --max-memory before it is decoded -----------------


def _png(width: int, height: int) -> bytes:
    """A whole grayscale PNG of zeros, compressed row by row (a huge image in a small file)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    compressor, row, parts = zlib.compressobj(9), bytes(width + 1), []
    for _ in range(height):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def test_an_image_bomb_is_refused_from_its_header_within_the_memory_limit(tmp_path):
    (tmp_path / "big.png").write_bytes(_png(9_000, 9_000))  # 81 M pixels, under Pillow's own bomb limit
    assert (tmp_path / "big.png").stat().st_size < 200_000
    _dataset(tmp_path, "big.png")
    code, err, peak = measured(tmp_path, "run", "-q", "spec.yaml", "--dataset", "index.csv", "--max-memory", LIMIT)
    assert code == 2, err
    assert "row 2, column x: 'big.png': an image of 9000 x 9000 pixels (L): reading it needs about 1.5 GiB" in err
    assert "more than the memory limit of 20.0 MiB (--max-memory)" in err
    assert within_limit(peak), peak


# --- minor: what an image's values leave out is said once, naming the file --------------------------


def test_an_animation_and_converted_colors_are_a_warning_naming_the_file_once(tmp_path, capsys):
    frames = [Image.fromarray(np.full((4, 4), value, np.uint8)) for value in (10, 200, 90)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("LAB", (4, 4), (50, 10, 20)).save(tmp_path / "lab.tiff")
    Image.fromarray(np.full((4, 4), 7, np.uint8)).save(tmp_path / "plain.png")
    spec = IMAGE_SPEC.replace("[1, 4, 4]", "[48]")  # LAB becomes RGB: 3 x 4 x 4 values, as are the others...
    _dataset(tmp_path, "lab.tiff", "lab.tiff", spec=spec)
    code, out, err = run_cli(capsys, "run", "-q", str(tmp_path / "spec.yaml"), "--dataset", str(tmp_path / "index.csv"))
    assert code == 0, err
    assert err.count("'lab.tiff': colors in LAB, converted to RGB without a color profile") == 1
    assert "warning" in err and "[image-read]" in err
    _dataset(tmp_path, "anim.gif", "plain.png", "anim.gif")  # ...and a gray GIF is one channel
    code, out, err = run_cli(capsys, "run", "-q", str(tmp_path / "spec.yaml"), "--dataset", str(tmp_path / "index.csv"))
    assert code == 0, err
    assert err.count("'anim.gif': an animation of 3 frames: only its first frame is read") == 1
    assert "plain.png" not in err


# --- item 12: CSV text is parsed within the memory limit --------------------------------------------


def _long_row(path: Path, values: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for _ in range(values // 1000):
            handle.write("1," * 1000)
        handle.write("1\n")


def test_a_csv_row_of_ten_million_values_is_refused_within_the_memory_limit(tmp_path):
    _long_row(tmp_path / "row.csv", 10_000_000)  # 20 MB of text: 80 MB of float64 values
    (tmp_path / "spec.yaml").write_text(AFFINE.replace("size: [3], generator: Uniform", "size: [3]"))
    code, err, peak = measured(tmp_path, "run", "-q", "spec.yaml", "--input", "x=row.csv", "--max-memory", LIMIT)
    assert code == 2, err
    assert "row.csv:1: a row of " in err and "values or more: reading it needs about 20.5 MiB" in err
    assert within_limit(peak), peak


def test_csv_text_read_in_pieces_gives_what_the_csv_module_gives(tmp_path, monkeypatch):
    """Rows cut into pieces of a few bytes (between cells, never inside quotes) read as they would whole."""
    from nnspec.files.rows import CsvRows, read_csv

    rng = np.random.default_rng(5)
    values = rng.normal(0, 1e3, (7, 40)) / 10.0 ** rng.integers(0, 9, (7, 40))
    lines = []
    for row in values:
        cells = [f'"{v}"' if i % 5 == 0 else f" {v} " if i % 7 == 0 else str(v) for i, v in enumerate(row.tolist())]
        lines.append(",".join(cells))
    text = "\ufeff" + "\r\n".join(lines[:3]) + "\n\n\r\n" + "\n".join(lines[3:])  # a BOM, blank lines, no last \n
    (tmp_path / "data.csv").write_text(text, encoding="utf-8", newline="")
    for block in (1, 3, 8, 64, 2**16):
        monkeypatch.setattr(CsvRows, "BLOCK", block)
        np.testing.assert_array_equal(read_csv(tmp_path / "data.csv"), values)
        rows = CsvRows(tmp_path / "data.csv")
        np.testing.assert_array_equal(rows[2:5], values[2:5])
        assert list(rows._lines) == [1, 2, 3, 6, 7, 8, 9]


def test_a_long_rows_errors_name_their_line_and_column_and_quote_a_short_excerpt(tmp_path):
    from nnspec.core.diagnostics import UsageError
    from nnspec.files.rows import read_csv

    cells = ["1"] * 100_000
    cells[54_321] = "x" * 100_000
    (tmp_path / "bad.csv").write_text(",".join(cells) + "\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        read_csv(tmp_path / "bad.csv")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'bad.csv'}:1:54322: not a number: 'xxx") and len(message) < 200
    (tmp_path / "ragged.csv").write_text("1,2,3\n" + "1," * 99_999 + "1\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        read_csv(tmp_path / "ragged.csv")
    assert str(caught.value).endswith(
        ":2: has 100000 values, but line 1 has 3: every row (sample) must have the same number"
    )


# --- the class: every reader of .h5, CSV, images and NNC datasets stays within --max-memory ---------


def _h5_bomb(directory: Path) -> list[str]:
    with h5py.File(directory / "p.h5", "w") as handle:
        handle.create_dataset("fc/affine/W", shape=(10_000, 10_000), dtype="f8", chunks=(1000, 1000), compression=9)
        handle["fc/affine/b"] = np.zeros(3)
    return ["--params", "p.h5"]


def _h5_fine(directory: Path) -> list[str]:
    with h5py.File(directory / "p.h5", "w") as handle:
        handle["fc/affine/W"] = np.full((3, 3), 0.5)
        handle["fc/affine/b"] = np.zeros(3)
        handle["unused/affine/W"] = np.zeros((500, 500))  # 2 MB, read (and named in a warning)
    return ["--params", "p.h5"]


def _csv_long_row(directory: Path) -> list[str]:
    _long_row(directory / "x.csv", 5_000_000)
    return ["--input", "x=x.csv"]


def _csv_many_rows(directory: Path) -> list[str]:
    (directory / "x.csv").write_bytes(b"1,2,3\n" * 2_000_000)  # 12 MB: an index of 32 MB
    return ["--input", "x=x.csv", "--batch-size", "1000"]


def _csv_fine(directory: Path) -> list[str]:
    np.savetxt(directory / "x.csv", np.random.default_rng(0).normal(size=(100_000, 3)), delimiter=",")
    return ["--input", "x=x.csv", "--batch-size", "10000"]


def _image_bomb(directory: Path) -> list[str]:
    (directory / "big.png").write_bytes(_png(6_000, 6_000))
    (directory / "index.csv").write_text("x\nbig.png\n")
    return ["--dataset", "index.csv"]


def _index_long_line(directory: Path) -> list[str]:
    (directory / "index.csv").write_text("x\n" + "1," * 2_000_000 + "1\n")
    return ["--dataset", "index.csv"]


def _cell_csv_long_row(directory: Path) -> list[str]:
    _long_row(directory / "sample.csv", 5_000_000)
    (directory / "index.csv").write_text("x\nsample.csv\n")
    return ["--dataset", "index.csv"]


def _dataset_fine(directory: Path) -> list[str]:
    rng = np.random.default_rng(1)
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (300, 300), np.uint8)).save(directory / f"{i}.png")
        np.savetxt(directory / f"{i}.csv", rng.normal(size=(300, 300)), delimiter=",")
    (directory / "index.csv").write_text("x,y\n" + "".join(f"{i}.png,{i}.csv\n" for i in range(20)))
    return ["--dataset", "index.csv", "--batch-size", "4"]


SMALL = AFFINE.replace("size: [3], generator: Uniform", "size: [3]")
IMAGES = AFFINE.replace("size: [3], generator: Uniform", "size: [1, 300, 300]")
TWO_COLUMNS = IMAGES + "  - {name: y, type: Input, size: [90000]}\n  - {name: fy, type: Affine, out_shape: 3}\n"


@pytest.mark.parametrize(
    ("make", "spec", "refused_with"),
    [
        (_h5_bomb, AFFINE, "p.h5: the parameters up to dataset 'fc/affine/W': reading it needs about 762.9 MiB"),
        (_h5_fine, AFFINE, None),
        (_csv_long_row, SMALL, "x.csv:1: a row of "),
        (_csv_many_rows, SMALL, "x.csv: the index of its rows: reading it needs about 20.0 MiB"),
        (_csv_fine, SMALL, None),
        (_image_bomb, IMAGES, "'big.png': an image of 6000 x 6000 pixels (L): reading it needs about 686.6 MiB"),
        (_index_long_line, SMALL, "index.csv: line 2 ("),
        (_cell_csv_long_row, SMALL, "sample.csv:1: a row of "),
        (_dataset_fine, TWO_COLUMNS, None),
    ],
    ids=lambda value: getattr(value, "__name__", None) or "",
)
def test_every_reader_stays_within_the_memory_limit(tmp_path, make, spec, refused_with):
    (tmp_path / "spec.yaml").write_text(spec, encoding="utf-8")
    argv = ["run", "-q", "spec.yaml", *make(tmp_path), "--max-memory", LIMIT]
    code, err, peak = measured(tmp_path, *argv)
    if refused_with is None:
        assert code == 0, err
    else:
        assert code == 2 and refused_with in err and "more than the memory limit of 20.0 MiB" in err, err
    assert "Traceback" not in err
    assert within_limit(peak), f"peak {peak / 2**20:.0f} MiB"


def test_a_csv_whose_lines_end_in_cr_alone_is_an_error_not_a_row_of_mixed_rows(tmp_path):
    from nnspec.core.diagnostics import UsageError
    from nnspec.files.rows import read_csv

    (tmp_path / "cr.csv").write_bytes(b"1,2,3\r4,5,6\r7,8,9\r")  # was read as its first row alone
    with pytest.raises(UsageError) as caught:
        read_csv(tmp_path / "cr.csv")
    assert (
        str(caught.value)
        == f"{tmp_path / 'cr.csv'}:1: a line break is a CR alone: save the file with LF or CRLF line ends"
    )
