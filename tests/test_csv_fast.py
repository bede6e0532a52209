"""Issue 18, section 6: a numeric CSV is parsed by numpy's C parser a batch of rows at a time, with
the same values and the same located errors as the per-cell reading it replaces.

The reference for values is Python's csv module and float() on each cell, read here independently."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from nnspec.core.diagnostics import UsageError
from nnspec.files.rows import CsvRows


def reference(path: Path) -> np.ndarray:
    """The file's rows by csv and float(), lines of only a line end skipped."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return np.array([[float(cell) for cell in row] for row in csv.reader(handle) if row], dtype=np.float64)


def batches(rows: CsvRows, size: int) -> np.ndarray:
    return np.concatenate([rows[start : start + size] for start in range(0, len(rows), size)])


@pytest.mark.parametrize("fmt", ["%.17g", "%d", "%.6g", "%.3e"])
@pytest.mark.parametrize("fast_text", [1, 300, 2**20])  # one row a parse, a few, a whole batch
def test_values_are_bitwise_those_of_float_per_cell(fmt, fast_text, tmp_path, monkeypatch):
    monkeypatch.setattr(CsvRows, "FAST_TEXT", fast_text)
    values = np.random.default_rng(1).standard_normal((97, 13)) * 10.0 ** np.arange(-6, 7)
    if fmt == "%d":
        values = np.round(values)
    else:
        values[3, 4], values[5, 6], values[7, 8], values[9, 0] = np.nan, np.inf, -np.inf, -0.0
    path = tmp_path / "data.csv"
    np.savetxt(path, values, delimiter=",", fmt=fmt)
    got = batches(CsvRows(path), 10)
    assert got.tobytes() == reference(path).tobytes()


def test_quotes_spaces_crlf_bom_and_blank_lines_read_as_the_csv_module_reads_them(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b'\xef\xbb\xbf1,"2.5", 3 \r\n\r\n4,5e-1,-6\n\n"7",+8,9')
    assert batches(CsvRows(path), 2).tobytes() == reference(path).tobytes()
    assert CsvRows(path)[0:3].tolist() == [[1, 2.5, 3], [4, 0.5, -6], [7, 8, 9]]


def test_a_numeric_file_is_read_by_numpys_parser_not_per_cell(tmp_path, monkeypatch):
    path = tmp_path / "data.csv"
    np.savetxt(path, np.arange(600.0).reshape(200, 3), delimiter=",")
    rows = CsvRows(path)  # the first row, whose width is unknown, is read per cell
    calls = []
    original = CsvRows._row
    monkeypatch.setattr(CsvRows, "_row", lambda self, *a: calls.append(1) or original(self, *a))
    assert batches(rows, 64).tolist() == np.arange(600.0).reshape(200, 3).tolist()
    assert calls == []


def _write(tmp_path: Path, bad_line: str, at: int = 150) -> Path:
    lines = [f"{i},{i + 1},{i + 2}" for i in range(200)]
    lines[at] = bad_line
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "bad, message",
    [
        ("1,2,abc", ":151:3: not a number: 'abc'"),
        ("1,,3", ":151:2: not a number: ''"),
        ("1,2", ":151: has 2 values, but line 1 has 3"),
        ("1,2,3,4", ":151: has 4 values, but line 1 has 3"),
        ("   ", ":151:1: not a number: '   '"),
        ("1,2\r3", ":151: a line break is a CR alone"),
        ("1,0x10,3", ":151:2: not a number: '0x10'"),
        ("1,2,#3", ":151:3: not a number: '#3'"),
    ],
)
def test_a_bad_row_in_a_later_batch_is_located_as_per_cell_reading_locates_it(bad, message, tmp_path):
    path = _write(tmp_path, bad)
    rows = CsvRows(path)
    assert rows[0:128].shape == (128, 3)  # the batches before it read
    with pytest.raises(UsageError) as caught:
        rows[128:200]
    assert str(caught.value).startswith(f"{path}{message}")


def test_bytes_not_utf8_are_located(tmp_path):
    path = _write(tmp_path, "1,2,3")
    path.write_bytes(path.read_bytes().replace(b"\n100,101,102\n", b"\n100,\xff,102\n"))
    with pytest.raises(UsageError, match=r":101: cannot read as UTF-8"):
        CsvRows(path)[0:200]


def test_the_batch_is_still_bounded_by_max_memory(tmp_path):
    path = tmp_path / "data.csv"
    np.savetxt(path, np.ones((100, 50)), delimiter=",")
    rows = CsvRows(path, max_memory=10_000)
    assert rows[0:20].shape == (20, 50)
    with pytest.raises(UsageError, match="rows of 50 values"):
        rows[0:100]


def test_integers_past_float64s_precision_and_int64s_range_read_as_float_reads_them(tmp_path):
    cells = ["9007199254740993", "-9007199254740995", "9223372036854775807", "99999999999999999999", "-0", "+7"]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(",".join(cells[i:] + cells[:i]) for i in range(len(cells))) + "\n")
    got = CsvRows(path)[0 : len(cells)]
    assert got.tobytes() == reference(path).tobytes()
    assert np.signbit(got[0, 4])  # -0 stays -0.0, as float("-0")


@pytest.mark.parametrize("bad", ["+-5", "--5", "5-", "-", "+", "0-1", "007-"])
def test_signs_out_of_place_in_an_integer_file_are_not_numbers(bad, tmp_path):
    with pytest.raises(ValueError):
        float(bad)  # the premise: the reference refuses it
    path = _write(tmp_path, f"1,2,{bad}")
    with pytest.raises(UsageError, match=rf":151:3: not a number: '{re.escape(bad)}'"):
        CsvRows(path)[0:200]


def test_an_integer_file_is_read_as_int64_by_numpy(tmp_path, monkeypatch):
    path = tmp_path / "data.csv"
    np.savetxt(path, np.arange(600).reshape(200, 3), delimiter=",", fmt="%d")
    dtypes = []
    original = np.loadtxt
    monkeypatch.setattr(np, "loadtxt", lambda *a, **k: dtypes.append(k["dtype"]) or original(*a, **k))
    assert CsvRows(path)[0:200].tolist() == np.arange(600.0).reshape(200, 3).tolist()
    assert dtypes == [np.int64]


@pytest.mark.parametrize(
    "cell", ["1_000", "\t5", "\u00a05", "١٢", "5.", ".5", "1e3", "INF", "-nan", "0x10", "2 3", "1e"]
)
def test_any_cell_reads_as_float_reads_it_or_is_an_error_where_float_refuses(cell, tmp_path):
    path = _write(tmp_path, f"1,{cell},3")
    try:
        expected = float(cell)
    except ValueError:
        with pytest.raises(UsageError, match=":151:2: not a number"):
            CsvRows(path)[0:200]
        return
    got = CsvRows(path)[0:200]
    assert got[150].tobytes() == np.array([1.0, expected, 3.0]).tobytes()
