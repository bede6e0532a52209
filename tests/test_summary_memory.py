"""The model summary's memory (bytes per batch, the run's peak), ``run --summary``, and the costs in the
JSON report, the HTML report and the graph's tooltips: every figure against a count by hand from
LeNet's shapes (specs/lenet.yaml) and what nnspec.files.memory.Footprint says it counts."""

from __future__ import annotations

import json
import re
import warnings

import jsonschema
import pytest

import nnspec
from nnspec.cli import main

from .conftest import ROOT, SPECS

LENET = str(SPECS / "lenet.yaml")
# LeNet's outputs of one sample, in values: x, conv1, relu1, pool1, conv2, relu2, pool2, fc1, relu3, fc2, relu4,
# fc3, probs
OUTPUT_VALUES = [784, 3456, 3456, 864, 1024, 1024, 256, 120, 120, 84, 84, 10, 10]
PARAMETERS = 44_426
FLOAT32 = 4


def hand_peak(samples: int, batch: int, outputs_kept: int) -> dict[str, int]:
    """What Footprint's docstring says a run needs, by hand: parameters drawn in float64 and kept in
    float32; a batch of x's 784 generated values, 48 bytes each while drawn plus 4 kept; every layer's
    output of a batch plus a float64 copy of the largest (conv1's 3456 values, 16 bytes: float64 and
    its statistics' copy); the outputs kept for every sample."""
    parts = {
        "parameters": PARAMETERS * (8 + FLOAT32),
        "data": 784 * batch * (48 + FLOAT32),
        "activations": batch * (sum(OUTPUT_VALUES) * FLOAT32 + max(OUTPUT_VALUES) * 16),
        "outputs": samples * outputs_kept * FLOAT32,
    }
    return {**parts, "peak": sum(parts.values())}


def peak_bytes(text: str) -> int:
    match = re.search(r"^peak memory: about .* \(([\d,]+) bytes\) for (\d+) samples", text, re.M)
    assert match, text
    return int(match.group(1).replace(",", ""))


def test_peak_memory_at_batch_64_equals_the_hand_count(capsys):
    assert main(["validate", "--summary", "--batch-size", "64", LENET]) == 0
    out = capsys.readouterr().out
    # the text report shows no output of 100 x 10 values (more than 32): none kept
    expected = hand_peak(samples=100, batch=64, outputs_kept=0)
    assert expected["peak"] == 533_112 + 2_609_152 + 6_429_696 == 9_571_960
    assert peak_bytes(out) == expected["peak"]
    assert "for 100 samples in batches of 64, the estimate --max-memory is checked against:" in out
    components = dict(re.findall(r"^  (parameters|generated data|activations|outputs) +([\d.]+ \w+)", out, re.M))
    assert components == {
        "parameters": "520.6 KiB",  # 533,112 / 1024
        "generated data": "2.5 MiB",  # 2,609,152 / 1024**2 = 2.49
        "activations": "6.1 MiB",  # 6,429,696 / 1024**2 = 6.13
        "outputs": "0 B",
    }
    assert "--output keeps them all: 3.9 KiB" in out  # 100 samples x 10 values x 4 bytes = 4,000 bytes
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[-1] == f"{sum(OUTPUT_VALUES) * FLOAT32 * 64:,}"  # bytes/batch's total


def test_the_peak_is_the_figure_max_memory_is_checked_against(capsys):
    assert main(["validate", "--summary", "--batch-size", "64", LENET]) == 0
    peak = peak_bytes(capsys.readouterr().out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        assert main(["run", "-q", "--batch-size", "64", "--max-memory", str(peak - 1), LENET]) == 2
        assert "needs about 9.1 MiB" in capsys.readouterr().err
        assert main(["run", "-q", "--batch-size", "64", "--max-memory", str(peak), LENET]) == 0


def test_the_default_batch_is_every_sample_as_a_run_makes_it(capsys):
    assert main(["validate", "--summary", "--samples", "10", LENET]) == 0
    out = capsys.readouterr().out
    assert "for 10 samples in one batch" in out
    assert peak_bytes(out) == hand_peak(samples=10, batch=10, outputs_kept=0)["peak"]


def test_batch_size_and_samples_need_summary(capsys):
    assert main(["validate", "--batch-size", "8", LENET]) == 2
    assert "--batch-size sizes the run --summary shows: add --summary" in capsys.readouterr().err


def test_a_dataset_left_unread_is_said_in_the_peak_line(tmp_path, capsys):
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "nnspec: 1\ndataset: data/index.csv\nlayers:\n"
        "  - {name: x, type: Input, size: [3]}\n"
        "  - {name: fc, type: Affine, out_shape: 2}\n"
    )
    assert main(["validate", "--summary", "--no-data", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "peak memory: not estimated: the run's sample count is in its dataset, which --no-data leaves unread" in out
    assert "bytes/batch" not in out


@pytest.fixture
def quiet_ranges():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        yield


def test_run_summary_appends_the_table_with_totals_and_the_peak(capsys, quiet_ranges):
    assert main(["run", "--summary", "--batch-size", "64", LENET]) == 0
    out = capsys.readouterr().out
    lines = out[out.index("lenet.yaml: 13 layers, per sample") :].splitlines()
    assert lines[1].split()[-2:] == ["bytes/sample", "bytes/batch"]
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1:3] == ["44,426", "281,640"]
    assert peak_bytes(out) == hand_peak(samples=100, batch=64, outputs_kept=0)["peak"]


def test_run_summary_with_quiet_and_with_output(tmp_path, capsys, quiet_ranges):
    assert main(["run", "-q", "--summary", "--output", str(tmp_path / "out.npz"), LENET]) == 0
    out = capsys.readouterr().out
    # --output keeps every output: probs's 100 x 10 values
    assert peak_bytes(out) == hand_peak(samples=100, batch=100, outputs_kept=10)["peak"]
    assert re.search(r"^  outputs +3\.9 KiB  every output layer's values, kept for every sample$", out, re.M)


def test_run_summary_is_refused_with_a_format_other_than_text(capsys):
    assert main(["run", "--summary", "--format", "json", LENET]) == 2
    assert "the JSON report has each layer's cost, the totals and the memory already" in capsys.readouterr().err


def test_json_report_carries_totals_bytes_and_memory(capsys, quiet_ranges):
    assert main(["run", "--format", "json", "--batch-size", "64", LENET]) == 0
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, json.loads((ROOT / "schemas" / "report.schema.json").read_text()))
    by_name = {layer["name"]: layer for layer in report["layers"]}
    assert by_name["conv1"]["output_bytes"] == {"sample": 3456 * 4, "batch": 3456 * 4 * 64}
    totals = report["totals"]
    assert (totals["parameter"], totals["multiply_add"], totals["counted"]) == (PARAMETERS, 281_640, True)
    # CostAdd: the biases of conv1 (6x24x24), conv2 (16x8x8), fc1-3 (120, 84, 10), and Softmax's |Input| (10)
    assert totals["add"] == 3456 + 1024 + 120 + 84 + 10 + 10
    # CostIf: ReLUs |Input|, MaxPooling |Output| x 4
    assert totals["if"] == 3456 + 1024 + 120 + 84 + 864 * 4 + 256 * 4
    assert totals["output_bytes"] == {"sample": sum(OUTPUT_VALUES) * 4, "batch": sum(OUTPUT_VALUES) * 4 * 64}
    # the JSON report keeps outputs up to 100,000 values: probs's 100 x 10 are kept
    expected = hand_peak(samples=100, batch=64, outputs_kept=10)
    assert report["memory"] == {"samples": 100, "batch": 64, **expected, "all_outputs": 4000}


# --- the HTML report and the graph ------------------------------------------------------------------


def test_dot_tooltips_carry_each_layers_parameters_and_multiply_adds(capsys):
    from .test_pictures import dot_nodes

    assert main(["graph", LENET]) == 0
    nodes = dot_nodes(capsys.readouterr().out)
    # conv1: 6x1x5x5 + 6; (6x24x24) x 25. fc1: 256x120 + 120; 256 x 120
    assert nodes["conv1"]["tooltip"].startswith("conv1 (Convolution): 156 parameters, 86,400 multiply-adds per sample")
    assert nodes["fc1"]["tooltip"].startswith("fc1 (Affine): 30,840 parameters, 30,720 multiply-adds per sample")
    assert nodes["relu1"]["tooltip"].split("\n") == [
        "relu1 (ReLU): 0 parameters, 0 multiply-adds per sample",
        "no finding",
    ]


def test_svg_boxes_and_their_texts_carry_the_tooltip_as_a_title(tmp_path):
    pytest.importorskip("matplotlib")
    import xml.etree.ElementTree as ET

    path = tmp_path / "net.svg"
    assert main(["graph", LENET, "-o", str(path)]) == 0
    svg = "{http://www.w3.org/2000/svg}"
    groups = {g.get("id"): g for g in ET.parse(path).iter(f"{svg}g") if g.get("id", "").startswith("layer-box-")}
    title = groups["layer-box-conv2"].find(f"{svg}title")
    assert title is not None and title.text.startswith(
        "conv2 (Convolution): 2,416 parameters, 153,600 multiply-adds per sample"  # 16x6x5x5 + 16; (16x8x8) x 150
    )
    assert groups["layer-box-conv2-text-0"].find(f"{svg}title").text == title.text  # hovering the name too


def test_html_report_has_the_cost_table_with_totals(tmp_path, quiet_ranges):
    pytest.importorskip("matplotlib")
    page = tmp_path / "report.html"
    assert main(["run", "-q", "--batch-size", "64", "--report", str(page), LENET]) == 0
    html = page.read_text()
    section = html[html.index('<section id="cost">') :]
    section = section[: section.index("</section>")]
    row = re.search(r'<tr><td><a href="#layer-conv1">conv1</a></td>(.*?)</tr>', section).group(1)
    assert re.findall(r'<td class="num">([\d,]+)</td>', row) == ["156", "86,400", "13,824", "884,736"]
    total = re.search(r'<tr class="total">(.*?)</tr>', section).group(1)
    figures = re.findall(r'<td class="num">([\d,]+)</td>', total)
    assert figures == ["44,426", "281,640", f"{sum(OUTPUT_VALUES) * 4:,}", f"{sum(OUTPUT_VALUES) * 4 * 64:,}"]
    assert "peak memory: about 9.1 MiB (9,571,960 bytes)" in section
    assert '<a href="#cost">Cost and memory</a>' in html
    # the graph's boxes carry their tooltip
    assert "<title>fc3 (Affine): 850 parameters, 840 multiply-adds per sample" in html


def test_validate_summary_counts_the_view_it_is_given(capsys):
    """--view runtime leaves out the loss and validation layers, so the summary lists and totals the
    rest: digits.yaml's rows without 'loss' and 'error', and a total of their bytes."""
    digits = str(SPECS / "digits.yaml")
    assert main(["validate", "--summary", "--view", "runtime", digits]) == 0
    table = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in table.splitlines() if re.match(r"^\w+\s+[A-Z]\w+\s+\(", line)}
    assert "loss" not in rows and "error" not in rows and {"x", "fc1", "probs"} <= set(rows)
    per_sample = sum(int(row[-2].replace(",", "")) for row in rows.values())  # bytes/sample, hand-summed
    total = next(line for line in table.splitlines() if line.startswith("total"))
    assert int(total.split()[-2].replace(",", "")) == per_sample
