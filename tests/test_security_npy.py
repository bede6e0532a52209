"""Issue 15, items 7, 11, 15, 16 and 17: .npy and .npz files from strangers, read without trusting them.

Every .npy and .npz path (--input, --params, a parameter's file:, validate) goes through
nnspec.files.npyfile: the header is checked in full before any value is read, values are read by
positioned reads or inflated a chunk at a time, never memory-mapped, a .npz member is read only when
a layer needs it and never beyond the bytes its header declares, and its CRC is checked.

The memory tests run nnspec in a child process and read its own peak RSS (ru_maxrss from os.wait4,
through a launcher that forks it, as scripts/robustness.py does: a child's ru_maxrss would otherwise
start from pytest's). A run must stay within --max-memory plus OVERHEAD: the interpreter, numpy and
nnspec imported (about 52 MiB measured on the reference machine, ``python -c "import nnspec.cli"``)
and a margin for the reader's own 1 MiB chunks and the allocator.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
OVERHEAD = 80 * 2**20  # bytes beyond --max-memory a run may take: Python, numpy, nnspec, and a margin
LIMIT = "32M"
DATA_SPEC = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: fc, type: Affine, out_shape: 3}\n"
WIDE_SPEC = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [1024]}\n  - {name: t, type: Tanh}\n"
PARAMS = {"fc/affine/W": np.full((4, 3), 0.5), "fc/affine/b": np.zeros(3)}
GOOD = np.linspace(-1, 1, 32).reshape(8, 4)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # a numpy warning reaching the user fails


def cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err + captured.out
    assert "Traceback" not in err and "internal error" not in err and "Warning" not in err, err
    return code, err


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_claiming(header: str, payload: bytes = b"\0" * 64, version: int = 1) -> bytes:
    """A .npy file whose header is ``header`` (the dict's text), whatever it says."""
    text = header.encode("latin-1").ljust(118) + b"\n"
    size = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + payload


def header_of(shape: tuple[int, ...], descr: str = "<f8") -> str:
    return "{'descr': " + repr(descr) + ", 'fortran_order': False, 'shape': " + repr(shape) + ", }"


def npz(members: dict[str, bytes], compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as archive:
        for name, raw in members.items():
            archive.writestr(name + ".npy", raw)
    return buffer.getvalue()


def write(path: Path, raw: bytes | str) -> Path:
    path.write_bytes(raw.encode() if isinstance(raw, str) else raw)
    return path


# --- item 17: every field of a .npy header checked, each a clean error naming the file -----------------

HOSTILE_HEADERS = [
    (
        "{'descr': '<f8', 'fortran_order': False, 'shape': (True, 4), }",
        "its shape (True, 4) is not a tuple of integers",
    ),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 4), }", "its shape (-1, 4) has a negative size"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2.0, 4), }", "its shape (2.0, 4) is not a tuple of integers"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': [2, 4], }", "its shape [2, 4] is not a tuple of integers"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 'x'), }", "is not a tuple of integers"),
    (
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }",
        "larger than any array numpy can hold",
    ),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 4), }", "is cut short or damaged"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': " + str((1,) * 65) + ", }", "65 axes, more than the 64"),
    ("{'descr': '<f8', 'fortran_order': 1, 'shape': (2, 4), }", "its fortran_order 1 is not True or False"),
    ("{'descr': 'xyz', 'fortran_order': False, 'shape': (2, 4), }", "its descr 'xyz' is no dtype numpy knows"),
    ("{'descr': 42, 'fortran_order': False, 'shape': (2, 4), }", "its descr 42 is no dtype"),
    ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2, 4), }", "holds structured records"),
    ("{'descr': '<f8,<i4', 'fortran_order': False, 'shape': (2, 4), }", "records, not numbers"),
    ("{'descr': '(2,)<f8', 'fortran_order': False, 'shape': (2, 4), }", "records, not numbers"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (2, 4), }", "holds Python objects"),
    ("{'descr': '<f8', 'shape': (2, 4), }", "it must hold exactly descr, fortran_order and shape"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), 'x': 1}", "it must hold exactly descr"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), ", "not the dict numpy.save writes"),
    ("__import__('os').system('touch PWNED')", "not the dict numpy.save writes"),
    ("(" * 300 + ")" * 300, "not the dict numpy.save writes"),
]


@pytest.mark.parametrize("header, reason", HOSTILE_HEADERS, ids=[r for _, r in HOSTILE_HEADERS])
def test_a_hostile_npy_header_is_a_clean_error_naming_the_file_for_input_and_for_validate(
    header, reason, tmp_path, capsys
):
    write(tmp_path / "data.npy", npy_claiming(header))
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    code, err = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'data.npy'}"], capsys)
    assert code == 2 and "data.npy: " in err and reason in err
    write(tmp_path / "p.yaml", DATA_SPEC.replace("out_shape: 3}", "out_shape: 3, W: {file: data.npy}}"))
    code, err = cli(["validate", str(tmp_path / "p.yaml")], capsys)
    assert code == 1 and ":4:54:" in err and "parameter file" in err and "data.npy" in err and reason in err
    assert not (tmp_path / "PWNED").exists()


def test_header_size_and_version_are_checked_before_the_header_is_read(tmp_path, capsys):
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    huge = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{" * 64
    for raw, reason in [
        (huge, "a header of 2,147,483,648 bytes, more than the 10,000 numpy allows"),
        (b"\x93NUMPY\x09\x00" + b"\0" * 64, "format version 9.0"),
        (b"\x93NUMPY\x01\x00\xff", "is cut short in its header"),
    ]:
        write(tmp_path / "data.npy", raw)
        code, err = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'data.npy'}"], capsys)
        assert code == 2 and "data.npy: " in err and reason in err


def test_real_npy_files_of_every_layout_still_read_as_numpy_reads_them(tmp_path, capsys):
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    for label, array in [
        ("C order", GOOD),
        ("Fortran order", np.asfortranarray(GOOD.reshape(8, 2, 2))),
        ("big-endian", GOOD.astype(">f4")),
        ("int8", (GOOD * 100).astype(np.int8)),
        ("bool", GOOD > 0),
        ("version 3", GOOD),
    ]:
        raw = npy(array)
        if label == "version 3":
            raw = raw[:6] + b"\x03\x00" + struct.pack("<I", struct.unpack("<H", raw[8:10])[0]) + raw[10:]
        write(tmp_path / "x.npy", raw)
        out = tmp_path / f"{label}.npz"
        code, err = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'x.npy'}", "--batch-size", "3",
                         "--output", str(out)], capsys)  # fmt: skip
        assert code in (0, 1), (label, err)
        expected = nnspec_reference(array.reshape(8, 4).astype(np.float32))
        np.testing.assert_allclose(np.load(out)["fc"], expected, rtol=1e-6, err_msg=label)


def nnspec_reference(x: np.ndarray) -> np.ndarray:
    """What DATA_SPEC computes from ``x``, by the library on an array in memory."""
    import nnspec

    return nnspec.run(nnspec.loads(DATA_SPEC), {"x": x}).outputs["fc"]


# --- item 7: validate reads a parameter file's header only, with the run's own dtype and shape rules --------

PARAMETER_FILES = [
    ("structured", np.zeros((4, 3), "i4,f4"), "holds structured records"),
    ("text", np.full((4, 3), "a"), "'fc/affine/W' in {file} holds <U1 values, not real numbers"),
    ("bytes", np.full((4, 3), b"a"), "holds |S1 values, not real numbers"),
    ("complex", np.ones((4, 3), complex), "holds complex128 values, not real numbers"),
    ("timedelta", np.zeros((4, 3), "m8[s]"), "holds timedelta64[s] values, not real numbers"),
    ("bool", np.ones((4, 3), bool), "holds bool values, not real numbers"),
    ("transposed", np.ones((3, 4)), "has shape (3, 4) in {file}, but the layer needs (4, 3)"),
    ("empty", np.ones((0, 3)), "has shape (0, 3) in {file}, but the layer needs (4, 3)"),
    ("a scalar", np.float64(1), "has shape () in {file}, but the layer needs (4, 3)"),
]


@pytest.mark.parametrize("label, array, reason", PARAMETER_FILES, ids=[p[0] for p in PARAMETER_FILES])
def test_validate_refuses_a_parameter_file_a_run_would_refuse_with_the_same_words(
    label, array, reason, tmp_path, capsys
):
    write(tmp_path / "w.npy", npy(array))
    spec = write(tmp_path / "spec.yaml", DATA_SPEC.replace("out_shape: 3}", "out_shape: 3, W: {file: w.npy}}"))
    reason = reason.format(file=tmp_path / "w.npy")
    code, validated = cli(["validate", str(spec)], capsys)
    assert code == 1 and f"{spec}:4:" in validated and reason in validated
    write(tmp_path / "x.npy", npy(GOOD))
    code, ran = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'x.npy'}"], capsys)
    assert code in (1, 2) and reason in ran


def test_values_are_the_runs_business_validate_passes_a_file_of_inf_and_the_run_refuses_it(tmp_path, capsys):
    write(tmp_path / "w.npy", npy(np.full((4, 3), np.inf)))
    spec = write(tmp_path / "spec.yaml", DATA_SPEC.replace("out_shape: 3}", "out_shape: 3, W: {file: w.npy}}"))
    assert cli(["validate", str(spec)], capsys)[0] == 0
    write(tmp_path / "x.npy", npy(GOOD))
    code, err = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'x.npy'}"], capsys)
    assert code == 1 and "12 of the 12 values of parameter 'fc/affine/W' are NaN or Inf" in err


def sparse_npy(path: Path, shape: tuple[int, ...], dtype: str = "<f4") -> Path:
    """A .npy of zeros of ``shape``, written as a sparse file: its size costs no disk and no time."""
    raw = npy_claiming(header_of(shape, dtype), b"")
    with open(path, "wb") as handle:
        handle.write(raw)
        handle.truncate(len(raw) + int(np.prod(shape)) * np.dtype(dtype).itemsize)
    return path


LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "nnspec", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024, file=sys.stderr)
"""


def measured(argv: list[str], cwd: Path) -> tuple[int, int, str]:
    """Exit code, peak RSS (bytes) and stderr of ``python -m nnspec ARGV``, measured alone."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], cwd=cwd, capture_output=True, text=True, env=env)
    *said, last = proc.stderr.strip().splitlines()
    code, peak = map(int, last.split())
    return code, peak, "\n".join(said)


def test_validate_reads_a_200_mb_parameter_file_in_bounded_memory(tmp_path):
    sparse_npy(tmp_path / "w.npy", (5000, 10000))  # 200 MB of float32: validate peaked at 838 MB
    write(tmp_path / "spec.yaml", "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [5000]}\n"
          "  - {name: fc, type: Affine, out_shape: 10000, W: {file: w.npy}}\n")  # fmt: skip
    code, peak, err = measured(["validate", "spec.yaml"], tmp_path)
    assert code == 0, err
    assert peak < OVERHEAD, f"validate peaked at {peak / 2**20:.0f} MiB"


# --- items 11 and 15: .npz members read only when needed, never beyond their header, CRC checked -------------


def zeros_member(archive: zipfile.ZipFile, name: str, header_shape: tuple[int, ...], data_bytes: int) -> None:
    """A member whose header declares ``header_shape`` of float64 and which holds ``data_bytes`` zeros."""
    with archive.open(name + ".npy", "w", force_zip64=True) as member:
        member.write(npy_claiming(header_of(header_shape), b""))
        chunk = bytes(2**20)
        for start in range(0, data_bytes, len(chunk)):
            member.write(chunk[: min(len(chunk), data_bytes - start)])


def bomb(path: Path, members: dict[str, tuple[tuple[int, ...], int]], extra: dict[str, np.ndarray] | None = None):
    """A deflated .npz of members of zeros (each a few hundred KB on disk however large), and ``extra``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in (extra or {}).items():
            archive.writestr(name + ".npy", npy(array))
        for name, (shape, size) in members.items():
            zeros_member(archive, name, shape, size)
    return path


BOMB = 400 * 2**20  # bytes a member inflates to: 400 KB on disk


def run_with_params_bomb(
    tmp_path: Path, members: dict[str, tuple[tuple[int, ...], int]], others: dict[str, np.ndarray]
) -> tuple[int, int, str]:
    """`nnspec run` of DATA_SPEC on good data with a p.npz whose ``members`` are bombs (see bomb);
    the exit code, peak memory and stderr."""
    bomb(tmp_path / "p.npz", members, others)
    write(tmp_path / "spec.yaml", DATA_SPEC)
    write(tmp_path / "x.npy", npy(GOOD))
    argv = ["run", "-q", "spec.yaml", "--params", "p.npz", "--input", "x=x.npy", "--max-memory", LIMIT]
    return measured(argv, tmp_path)


def test_params_npz_bomb_members_no_layer_needs_are_never_inflated(tmp_path):
    code, peak, err = run_with_params_bomb(tmp_path, {"junk": ((BOMB // 8,), BOMB)}, PARAMS)
    assert code == 0 and "used by no layer: junk" in err, err
    assert peak < 32 * 2**20 + OVERHEAD, f"peaked at {peak / 2**20:.0f} MiB"


def test_a_params_member_lying_about_its_shape_is_refused_before_it_is_inflated(tmp_path):
    code, peak, err = run_with_params_bomb(
        tmp_path, {"fc/affine/W": ((BOMB // 8,), BOMB)}, {"fc/affine/b": np.zeros(3)}
    )
    assert code == 1 and "has shape (52428800,) in parameter file p.npz, but the layer needs (4, 3)" in err, err
    assert peak < 32 * 2**20 + OVERHEAD, f"peaked at {peak / 2**20:.0f} MiB"


def test_a_member_whose_stream_holds_more_than_its_header_declares_is_refused(tmp_path, capsys):
    bomb(tmp_path / "p.npz", {"fc/affine/W": ((4, 3), BOMB)}, {"fc/affine/b": np.zeros(3)})
    write(tmp_path / "x.npy", npy(GOOD))
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    code, err = cli(["run", "-q", str(spec), "--params", str(tmp_path / "p.npz"), "--input", f"x={tmp_path / 'x.npy'}"],
                    capsys)  # fmt: skip
    assert code == 2 and "p.npz: member fc/affine/W.npy holds 419,430,304 bytes more than its header declares" in err


@pytest.mark.parametrize("compressed", [False, True], ids=["stored", "deflated"])
def test_an_npz_member_bigger_than_the_memory_limit_is_streamed_a_batch_at_a_time(compressed, tmp_path):
    rows = BOMB // 8 // 1024
    with zipfile.ZipFile(tmp_path / "x.npz", "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as z:
        zeros_member(z, "x", (rows, 1024), rows * 1024 * 8)
    write(tmp_path / "spec.yaml", WIDE_SPEC)
    argv = ["run", "-q", "spec.yaml", "--input", "x=x.npz", "--batch-size", "256", "--max-memory", LIMIT]
    code, peak, err = measured(argv, tmp_path)
    assert code == 0, err
    assert peak < 32 * 2**20 + OVERHEAD, f"peaked at {peak / 2**20:.0f} MiB"


def test_an_npy_bigger_than_the_memory_limit_is_read_a_batch_at_a_time(tmp_path):
    sparse_npy(tmp_path / "x.npy", (BOMB // 4 // 1024, 1024))
    write(tmp_path / "spec.yaml", WIDE_SPEC)
    argv = ["run", "-q", "spec.yaml", "--input", "x=x.npy", "--batch-size", "256", "--max-memory", LIMIT]
    code, peak, err = measured(argv, tmp_path)
    assert code == 0, err
    assert peak < 32 * 2**20 + OVERHEAD, f"peaked at {peak / 2**20:.0f} MiB"


def stored_member_claiming(rows: int, data: np.ndarray) -> bytes:
    """A stored .npz whose member x's header claims ``rows`` rows of 4, holding ``data``."""
    return npz({"x": npy_claiming(header_of((rows, 4)), data.astype("<f8").tobytes())})


def test_a_stored_member_claiming_more_rows_than_it_holds_is_refused(tmp_path, capsys):
    write(tmp_path / "x.npz", stored_member_claiming(9, GOOD))  # 8 rows: the 9th was read from the zip directory
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    code, err = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'x.npz'}"], capsys)
    assert code == 2 and "x.npz: member x.npy is cut short or damaged: its header declares shape (9, 4)" in err


@pytest.mark.parametrize("where", ["--input", "--params"])
def test_a_flipped_byte_in_a_stored_member_is_found_by_its_crc_and_nothing_is_written(where, tmp_path, capsys):
    raw = bytearray(npz({"x": npy(GOOD), **{k: npy(v) for k, v in PARAMS.items()}}))
    at = raw.index(npy(GOOD)[-8:])  # the last value of x, and of W below
    raw[at + 3] ^= 0x10
    at = raw.index(npy(PARAMS["fc/affine/W"])[-8:])
    raw[at + 3] ^= 0x10
    write(tmp_path / "d.npz", bytes(raw))
    write(tmp_path / "good.npz", npz({"x": npy(GOOD)}))
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    data = f"x={tmp_path / 'd.npz'}" if where == "--input" else f"x={tmp_path / 'good.npz'}"
    extra = ["--params", str(tmp_path / "d.npz")] if where == "--params" else []
    out = tmp_path / "out.npz"
    code, err = cli(
        ["run", "-q", str(spec), "--input", data, *extra, "--output", str(out), "--batch-size", "3"], capsys
    )
    assert code == 2 and "d.npz: member" in err and "Bad CRC-32" in err
    assert not out.exists()


def test_an_npz_member_compressed_otherwise_than_numpy_does_is_refused(tmp_path, capsys):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("x.npy", npy(GOOD))
    write(tmp_path / "x.npz", buffer.getvalue())
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    code, err = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'x.npz'}"], capsys)
    assert code == 2 and "x.npz: member x.npy is compressed with method 12, which nnspec does not read" in err


# --- item 16: a file changed while a run reads it stops the run with a message, never SIGBUS ------------------

TRUNCATING_RUN = """
import sys
import numpy as np
import nnspec
from nnspec.core.diagnostics import UsageError

path, how = sys.argv[1], sys.argv[2]
def change(done, total):
    if done == 10:  # after the first batch: the next one reads what is no longer there
        if how == "truncate":
            with open(path, "r+b") as handle:
                handle.truncate(200)
        else:
            with open(path, "r+b") as handle:
                handle.seek(-8, 2)
                handle.write(b"12345678")
spec = nnspec.loads("nnspec: 1\\nlayers:\\n  - {name: x, type: Input, size: [256]}\\n  - {name: t, type: Tanh}\\n")
try:
    nnspec.run(spec, input_files={"x": path}, batch_size=10, progress=change)
except UsageError as exc:
    print(exc)
    sys.exit(2)
"""


@pytest.mark.parametrize("how", ["truncate", "rewrite"])
def test_a_data_file_changed_during_a_run_is_a_clean_error_not_sigbus(how, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((40, 256)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(TRUNCATING_RUN), str(tmp_path / "x.npy"), how],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2, f"exit {proc.returncode} (-7 is SIGBUS): {proc.stderr}"
    assert f"{tmp_path / 'x.npy'}: changed while being read" in proc.stdout


def test_rows_of_a_changing_file_cut_short_between_its_check_and_its_read_are_an_error(tmp_path):
    from nnspec.core.diagnostics import UsageError
    from nnspec.files.npyfile import open_npy

    np.save(tmp_path / "x.npy", np.ones((40, 4)))
    rows = open_npy(tmp_path / "x.npy")
    os.truncate(tmp_path / "x.npy", 200)
    rows._identity = rows._stat()  # as if the file shrank after the check
    with pytest.raises(UsageError, match="x.npy: was cut short while being read"):
        rows[30:40]


def test_a_deflated_member_cut_short_is_a_clean_error_naming_it(tmp_path, capsys):
    raw = npz({"x": npy(np.arange(4000.0).reshape(1000, 4))}, compressed=True)
    write(tmp_path / "x.npz", raw[: len(raw) // 2] + raw[-200:])
    spec = write(tmp_path / "spec.yaml", DATA_SPEC)
    code, err = cli(["run", "-q", str(spec), "--input", f"x={tmp_path / 'x.npz'}"], capsys)
    assert code == 2 and "x.npz: member x.npy" in err


def test_a_parameter_files_moments_are_taken_a_block_at_a_time_as_numpy_takes_them_whole(tmp_path):
    from nnspec.layers.initializers import moments
    from nnspec.spec.model import ParameterSource

    values = np.random.default_rng(3).normal(2.0, 3.0, (700, 1000))  # 5.6 MB: six blocks of 1 MiB
    np.save(tmp_path / "w.npy", np.asfortranarray(values))
    mean, variance = moments(ParameterSource("Normal", 1.0, tmp_path / "w.npy"), (700, 1000), (700, 1000, 1))
    assert mean == pytest.approx(values.mean(), rel=1e-12) and variance == pytest.approx(values.var(), rel=1e-12)
