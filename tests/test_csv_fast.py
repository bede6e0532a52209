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


TRICKY_DECIMALS = [
    "0.1",
    "-0",
    "-0.0",
    "1e-310",  # subnormal
    "4.9406564584124654e-324",  # the least subnormal
    "2.4703282292062327e-324",  # just under half of it: 0.0
    "2.4703282292062328e-324",  # just over: the least subnormal
    "2.2250738585072011e-308",  # the value that once hung strtod
    "1.7976931348623157e308",
    "1.7976931348623159e308",  # past the largest double: inf
    "9007199254740993.0",  # 2**53 + 1, a tie rounded to even
    "9007199254740995e0",
    "7.038531e-26",
    "0." + "1" * 400,  # a mantissa far past 17 digits
    "1" * 30 + "." + "9" * 30 + "e-30",
    "1.00000000000000011102230246251565404236316680908203125",  # exactly halfway between two doubles
    "1.00000000000000011102230246251565404236316680908203126",  # just above it
]


@pytest.mark.parametrize("fast_text", [1, 2**20])  # each row alone, the whole file at once
def test_tricky_decimals_are_bitwise_those_of_float(fast_text, tmp_path, monkeypatch):
    monkeypatch.setattr(CsvRows, "FAST_TEXT", fast_text)
    cells = TRICKY_DECIMALS
    path = tmp_path / "data.csv"
    # every cell in every column: each row is the list turned by one
    path.write_text("\n".join(",".join(cells[i:] + cells[:i]) for i in range(len(cells))) + "\n")
    rows = CsvRows(path)  # its first row is read per cell, which sets the width
    per_cell = []
    original = CsvRows._row
    monkeypatch.setattr(CsvRows, "_row", lambda self, *a: per_cell.append(1) or original(self, *a))
    got = rows[0 : len(cells)]
    expected = np.array([[float(cell) for cell in cells[i:] + cells[:i]] for i in range(len(cells))])
    assert got.tobytes() == expected.tobytes()
    assert per_cell == []  # numpy's parser read them all


@pytest.mark.parametrize(
    "text, alone", [(b"1,2\r\n3,4\r\n", False), (b"1,2\n3,4", False), (b"1,2\r3,4\n", True), (b"1\r\r\n2\r\n", True)]
)
def test_a_cr_alone_is_found_among_crlf_line_ends(text, alone):
    from nnspec.files.rows import _cr_alone

    assert _cr_alone(text) is alone


@pytest.mark.parametrize(
    "text, integers", [(b"1,-2\n+3,4\n", True), (b"1,2.5\n", False), (b"1e3,2\n", False), (b"1,-0\n", False)]
)
def test_only_integer_text_is_given_to_int64(text, integers):
    from nnspec.files.rows import _integers

    assert _integers(text) is integers


def reference_index(data: bytes) -> list[tuple[int, int]]:
    """(where it starts, line number) of each line holding more than CRs, split here by bytes.split."""
    offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    rows = []
    for number, line in enumerate(data[offset:].split(b"\n"), 1):
        if line.strip(b"\r"):
            rows.append((offset, number))
        offset += len(line) + 1
    return rows


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64, 2**18])
def test_the_index_finds_every_row_and_its_line_whatever_the_block(block, monkeypatch):
    import io
    from array import array

    monkeypatch.setattr(CsvRows, "INDEX_BLOCK", block)
    rng = np.random.default_rng(block)
    pieces = [b"1", b"23", b",", b"\n", b"\r\n", b"\r", b" ", b"\n\n", b"\r\r\n"]
    for trial in range(200):
        data = b"".join(rng.choice(pieces, size=rng.integers(0, 30)))
        if trial % 3 == 0:
            data = b"\xef\xbb\xbf" + data
        rows = CsvRows.__new__(CsvRows)  # the index alone: no first row read
        rows.path, rows.max_memory, rows._starts, rows._lines = Path("x.csv"), None, array("q"), array("q")
        end = rows._index(io.BytesIO(data))
        assert list(zip(rows._starts, rows._lines)) == reference_index(data), data
        assert end == len(data)


@pytest.mark.parametrize("fast_text", [1, 10, 25, 2**20])
def test_runs_of_rows_cover_the_batch_in_order_within_fast_text(fast_text, tmp_path, monkeypatch):
    monkeypatch.setattr(CsvRows, "FAST_TEXT", fast_text)
    path = tmp_path / "data.csv"
    lengths = np.random.default_rng(2).integers(1, 12, 60)
    path.write_text("".join("1" * int(n) + "\n" for n in lengths))
    rows = CsvRows(path)
    for start, stop in [(0, 60), (7, 31), (59, 60), (12, 13)]:
        ends = list(rows._spans(start, stop))
        firsts = [start, *ends[:-1]]
        assert ends[-1] == stop and all(a < b for a, b in zip(firsts, ends))
        for first, end in zip(firsts, ends):  # each run fits, or is one row; one row more would not fit
            text = int(sum(lengths[first:end] + 1))
            assert text <= fast_text or end == first + 1
            if end < stop:
                assert text + int(lengths[end]) + 1 > fast_text
