"""Pictures: the graph (DOT, SVG, PNG), the per-layer plots and the HTML report, checked by content."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from math import inf

import numpy as np
import pytest

import nnspec
from nnspec.checks.stats import BINS, TensorStats, bin_bounds
from nnspec.cli import main
from nnspec.layers.catalog import layer_types
from nnspec.report.pictures import diagram
from nnspec.report.pictures.histogram import even_histogram
from nnspec.report.pictures.plots import plot_file_names
from nnspec.report.pictures.ranges import curve, regions, view
from nnspec.report.pictures.style import CLEAN, COLOURS

from .conftest import ROOT, SPECS, load_script

SEED = str(SPECS / "seed_activations.yaml")
LENET = str(SPECS / "lenet.yaml")
SEED_LAYERS = ["x", "tanh", "sigmoid", "relu"]
LENET_LAYERS = [
    "x",
    "conv1",
    "relu1",
    "pool1",
    "conv2",
    "relu2",
    "pool2",
    "fc1",
    "relu3",
    "fc2",
    "relu4",
    "fc3",
    "probs",
]
WARNING_FILL, WARNING_EDGE = COLOURS["warning"]
CLEAN_FILL, CLEAN_EDGE = COLOURS[CLEAN]
SVG = "{http://www.w3.org/2000/svg}"


def quiet_run(path: str) -> nnspec.RunResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        return nnspec.run(nnspec.load(path))


@pytest.fixture(scope="module")
def seed_result() -> nnspec.RunResult:
    return quiet_run(SEED)


@pytest.fixture(scope="module")
def lenet_result() -> nnspec.RunResult:
    return quiet_run(LENET)


# --- DOT: no extra needed -----------------------------------------------------------------------

QUOTED = r'"(?:[^"\\]|\\.)*"'


def dot_nodes(text: str) -> dict[str, dict[str, str]]:
    """Each node statement's attributes, by node name (quoted strings unescaped)."""
    nodes = {}
    for match in re.finditer(rf"^  ({QUOTED}) \[(.*)\];$", text, re.M):
        attributes = dict(re.findall(rf"(\w+)=({QUOTED}|\w+)", match.group(2)))
        nodes[_unquote(match.group(1))] = {k: _unquote(v) for k, v in attributes.items()}
    return nodes


def dot_edges(text: str) -> list[tuple[str, str]]:
    return [(_unquote(a), _unquote(b)) for a, b in re.findall(rf"^  ({QUOTED}) -> ({QUOTED});$", text, re.M)]


def _unquote(text: str) -> str:
    if not text.startswith('"'):
        return text
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text[1:-1])


def test_graph_without_output_prints_dot_of_every_layer_coloured_by_predicted_findings(capsys):
    assert main(["graph", SEED]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("// nnspec graph of") and out.rstrip().endswith("}")
    nodes = dot_nodes(out)
    assert list(nodes) == SEED_LAYERS
    assert nodes["x"]["label"].split("\n") == ["x", "Input", "(9,)", "range: [-255, 255]", "! input-range"]
    assert nodes["tanh"]["label"].split("\n") == ["tanh", "Tanh", "(9,)", "! tanh-hard-saturation"]
    assert nodes["relu"]["label"].split("\n") == ["relu", "ReLU", "(9,)"]
    for name in ("x", "tanh", "sigmoid"):
        assert (nodes[name]["fillcolor"], nodes[name]["color"]) == (WARNING_FILL, WARNING_EDGE)
        assert "(predicted from the spec, without data)" in nodes[name]["tooltip"]
    assert (nodes["relu"]["fillcolor"], nodes["relu"]["color"]) == (CLEAN_FILL, CLEAN_EDGE)
    assert dot_edges(out) == [("x", "tanh"), ("x", "sigmoid"), ("x", "relu")]
    assert "seed-activations: findings predicted from the spec" in out


def test_graph_run_colours_by_the_findings_of_a_run(tmp_path, capsys):
    static, ran = tmp_path / "static.dot", tmp_path / "run.dot"
    assert main(["graph", LENET, "-o", str(static)]) == 0
    assert main(["graph", LENET, "--run", "--samples", "100", "-o", str(ran)]) == 0
    assert capsys.readouterr().out == ""
    before, after = dot_nodes(static.read_text()), dot_nodes(ran.read_text())
    assert list(after) == LENET_LAYERS
    assert before["relu3"]["fillcolor"] == CLEAN_FILL  # not predictable from the spec alone
    # possibly dead units, on 100 samples: info (a warning from 459 samples)
    assert after["relu3"]["fillcolor"] == COLOURS["info"][0] and after["relu3"]["label"].endswith("relu-dead-units")
    assert after["conv2"]["fillcolor"] == COLOURS["info"][0]  # scale-drift is info
    assert after["conv1"]["label"].split("\n") == [
        "conv1",
        "Convolution",
        "(6, 24, 24)",
        "out_maps: 6",
        "kernel_shape: [5, 5]",
        "border_mode: valid",
    ]
    assert "lenet: findings of a run on 100 samples" in ran.read_text()
    assert dot_edges(after_text := ran.read_text()) == list(zip(LENET_LAYERS, LENET_LAYERS[1:]))
    assert after_text.count(" -> ") == len(LENET_LAYERS) - 1


def test_dot_strings_escape_quotes_backslashes_and_newlines(write_spec, capsys):
    assert diagram.dot_string('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'
    path = write_spec(
        "nnspec: 1\nname: 'say \"hi\"'\nlayers:\n"
        "  - {name: x, type: Input, size: [2], dataset: 'we\"ird\\name'}\n"
        "  - {name: t, type: Tanh}\n"
    )
    assert main(["graph", str(path)]) == 0
    out = capsys.readouterr().out
    assert 'digraph "say \\"hi\\"" {' in out
    assert dot_nodes(out)["x"]["label"].split("\n")[3] == 'dataset: we"ird\\name'
    # every quote in the text opens or closes a string: nothing is left unbalanced
    assert '"' not in re.sub(QUOTED, "", out)


def test_key_properties_show_what_the_spec_sets_and_what_differs_from_defaults():
    spec = nnspec.load(SPECS / "softmax_huge_logits.yaml")
    boxes = diagram.boxes(spec, [])
    lines = [line for box in boxes.values() for line in box.properties]
    assert any(line.startswith("W: ") and line.endswith("x100") for line in lines), lines
    lenet = diagram.boxes(nnspec.load(LENET), [])
    assert lenet["x"].properties == ("generator: Uniform", "range: [-1, 1]")  # size is the shape line
    assert lenet["fc1"].properties == ()  # out_shape: 120 is the shape line


def test_layout_points_every_arrow_down_and_keeps_a_row_free_of_overlaps():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n"
        "  - {name: x, type: Input, size: [4]}\n"
        "  - {name: a, type: Affine, out_shape: 4}\n"
        "  - {name: b, type: Tanh, input: x}\n"
        "  - {name: join, type: Add2, input: [a, b]}\n"
        "  - {name: more, type: Affine, out_shape: 3}\n"
        "  - {name: probs, type: Softmax}\n"
        "  - {name: y, type: Input, size: [3]}\n"
        "  - {name: loss, type: Sub2, input: [probs, y]}\n"
    )
    sizes = {name: diagram.box_size(box) for name, box in diagram.boxes(spec, []).items()}
    centres = diagram.layout(spec, sizes)
    rows = diagram.ranks(spec)
    for source, target in spec.graph.edges:
        assert rows[target] > rows[source] and centres[target][1] > centres[source][1]
    assert rows["y"] == rows["loss"] - 1  # a label Input sits just above its reader, not at the top
    for row in set(rows.values()):
        placed = sorted(
            (centres[n][0] - sizes[n][0] / 2, centres[n][0] + sizes[n][0] / 2) for n in rows if rows[n] == row
        )
        assert all(left[1] < right[0] for left, right in zip(placed, placed[1:]))


def test_a_residual_arrow_runs_beside_the_boxes_it_passes():
    spec = nnspec.load(SPECS / "bn_residual.yaml")
    sizes = {name: diagram.box_size(box) for name, box in diagram.boxes(spec, []).items()}
    centres = diagram.layout(spec, sizes)
    paths = diagram.routes(spec, centres, sizes)
    assert set(paths) == set(spec.graph.edges)
    skip = paths[("relu1", "add")]
    assert skip[0] == (centres["relu1"][0], centres["relu1"][1] + sizes["relu1"][1] / 2)  # leaves the bottom
    assert skip[-1] == (centres["add"][0], centres["add"][1] - sizes["add"][1] / 2)  # enters the top
    for start, end in zip(skip, skip[1:]):
        for passed in ("conv2", "bn2"):
            assert not diagram.crosses(start, end, centres[passed], sizes[passed])
    assert len(paths[("conv2", "bn2")]) == 2  # the next row: straight


@pytest.mark.parametrize(
    "argv, message",
    [
        (["graph", SEED, "-o", "net.pdf"], "cannot write '.pdf' pictures: use .dot"),
        (["graph", SEED, "--input", "x=data.npy"], "--input give data for a run: add --run"),
        (["graph", "missing.yaml"], "missing.yaml: cannot read"),
        (["graph", SEED, "--run", "-o", "missing/net.dot"], "directory missing does not exist"),
    ],
)
def test_graph_unusable_arguments_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_graph_of_an_invalid_spec_exits_1_with_the_diagnostics(write_spec, capsys):
    broken = write_spec("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: t, type: Tanhh}\n")
    assert main(["graph", str(broken), "-o", str(broken.with_suffix(".dot"))]) == 1
    assert "unknown layer type 'Tanhh'; did you mean 'Tanh'?" in capsys.readouterr().err
    assert not broken.with_suffix(".dot").exists()


def test_graph_never_overwrites_without_force(tmp_path, capsys):
    path = tmp_path / "net.dot"
    path.write_text("mine")
    assert main(["graph", SEED, "-o", str(path)]) == 2
    assert "exists; add --force to overwrite it" in capsys.readouterr().err
    assert path.read_text() == "mine"
    assert main(["graph", SEED, "-o", str(path), "--force"]) == 0
    assert path.read_text().startswith("// nnspec graph")


def test_dot_needs_no_matplotlib():
    code = (
        "import sys\nfrom nnspec.cli import main\n"
        f"assert main(['graph', {SEED!r}]) == 0\n"
        "print('matplotlib' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "False"
    assert "digraph" in done.stdout


def test_a_missing_matplotlib_is_a_clear_error_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails as if not installed
    for argv in (
        ["graph", SEED, "-o", str(tmp_path / "net.svg")],
        ["run", SEED, "--plots", str(tmp_path / "plots")],
        ["run", SEED, "--report", str(tmp_path / "report.html")],
    ):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == "" and "Traceback" not in err
        assert "needs matplotlib, which is not installed: pip install matplotlib" in err
    assert list(tmp_path.iterdir()) == []
    assert main(["graph", SEED, "-o", str(tmp_path / "net.dot")]) == 0  # DOT needs nothing


# --- SVG and PNG (matplotlib) ---------------------------------------------------------------------


def test_graph_svg_has_a_box_and_the_text_of_every_layer(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "net.svg"
    assert main(["graph", SEED, "-o", str(path)]) == 0
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for line in ("x", "Input", "(9,)", "range: [-255, 255]", "! input-range", "tanh", "! tanh-hard-saturation"):
        assert line in texts
    assert "seed-activations: findings predicted from the spec" in texts
    assert {"error", "warning", "info", "no finding"} <= set(texts)  # the legend
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g")}
    for name, fill in (("tanh", WARNING_FILL), ("relu", CLEAN_FILL)):
        style = groups[f"layer-box-{name}"].find(f"{SVG}path").get("style")
        assert f"fill: {fill}" in style
    arrows = [g for g in groups if g.startswith("patch_")]
    assert len(arrows) >= len(SEED_LAYERS) + 3  # boxes and arrows (and the legend's squares)


def test_graph_svg_is_the_same_file_every_time(tmp_path):
    pytest.importorskip("matplotlib")
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    assert main(["graph", SEED, "-o", str(first)]) == 0
    assert main(["graph", SEED, "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_graph_png_shows_the_boxes_in_their_colours(tmp_path):
    pytest.importorskip("matplotlib")
    image_module = pytest.importorskip("PIL.Image")
    path = tmp_path / "net.png"
    assert main(["graph", SEED, "-o", str(path)]) == 0
    image = np.asarray(image_module.open(path).convert("RGB"))
    assert 400 < image.shape[1] < 1200 and 200 < image.shape[0] < 800
    colours = {tuple(int(WARNING_FILL[i : i + 2], 16) for i in (1, 3, 5))}
    warning_pixels = np.all(image == np.array(list(colours)[0]), axis=-1).sum()
    assert warning_pixels > 5000  # three filled boxes (and a legend square)


# --- histograms, ranges and curves (no matplotlib) ------------------------------------------------


def test_bin_bounds_hold_the_values_the_statistics_count_in_them():
    low, high = bin_bounds()
    values = np.concatenate([low[np.isfinite(low)], np.nextafter(high[np.isfinite(high)], 0), [0.0, 3e-300, 1e300]])
    for value in values:
        counts = TensorStats.of(np.array([[value]])).histogram
        [index] = np.flatnonzero(counts)
        assert low[index] <= value <= high[index], (value, index)
    assert len(low) == BINS and low[BINS // 2] == high[BINS // 2] == 0


def test_even_histogram_keeps_every_value_within_the_exact_span():
    stats = TensorStats.of(np.array([[255, 150, 100, 10, 0, -10, -100, -150, -255]], dtype=np.float32))
    edges, shares = even_histogram(stats, -300, 300, 60)
    assert shares.sum() == pytest.approx(1.0)
    assert shares[(edges[1:] <= -255) | (edges[:-1] >= 255)].sum() == 0  # nothing beyond -255..255
    assert shares[np.searchsorted(edges, 0, side="right") - 1] == pytest.approx(1 / 9)  # the zero, in one bin
    ones = TensorStats.of(np.ones((4, 3)))
    _, shares = even_histogram(ones, 0, 2, 10)
    assert shares[5] == 1.0  # a value met exactly stays a spike, not a smear
    _, shares = even_histogram(TensorStats.of(np.full((1, 2), np.nan)), -1, 1, 4)
    assert not shares.any()


def test_regions_shade_where_a_layer_type_loses_information():
    types = layer_types()
    tanh = [(r.low, r.high, r.kind) for r in regions(types["Tanh"], "float32")]
    assert tanh == [(-inf, -10.0, "hard"), (-10.0, -2.65, "soft"), (2.65, 10.0, "soft"), (10.0, inf, "hard")]
    assert regions(types["Tanh"], "float32")[0].label == "output exactly -1 or 1 in float32"
    assert [(r.low, r.high, r.kind) for r in regions(types["ReLU"], "float32")] == [(-inf, 0.0, "zero")]
    assert [r.kind for r in regions(types["Exp"], "float32")][-1] == "overflow"
    assert regions(types["Affine"], "float32") == []


def test_view_brings_a_near_well_behaved_bound_into_sight_only():
    inside = TensorStats.of(np.array([[-1.0, 1.0]]))
    low, high = view(inside, (-2.65, 2.65))
    assert low < -2.65 and high > 2.65  # the data sits well inside: show the whole range
    low, high = view(inside, (-100.0, 100.0))
    assert -1.2 < low < -1 and 1 < high < 1.2  # far bounds would squash the data into a line


def test_curve_comes_from_the_layer_in_the_spec_dtype(seed_result):
    x, y = curve(seed_result.spec.layers["tanh"], "float32", -255, 255)
    assert x.min() == -255 and x.max() == 255
    assert np.all(y[x >= 10] == 1) and np.all(y[x <= -10] == -1)  # float32 tanh is exactly +-1 there
    assert np.any((y > -1) & (y < 1))


def test_plot_file_names_never_collide_where_case_is_ignored():
    assert plot_file_names(["x", "Relu", "relu", "RELU"]) == {
        "x": "x.png",
        "Relu": "Relu.png",
        "relu": "relu-2.png",
        "RELU": "RELU-3.png",
    }


# --- per-layer plots (matplotlib) -----------------------------------------------------------------


def legend_texts(axes) -> list[str]:
    legend = axes.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_tanh_plot_draws_its_curve_over_the_raw_inputs_with_the_saturated_regions(seed_result):
    pytest.importorskip("matplotlib")
    from nnspec.report.pictures.plots import layer_figure

    figure = layer_figure(seed_result, "tanh")
    received, output, curve_axes = figure.axes
    assert figure.get_suptitle() == "tanh (Tanh)   o=tanh(i)   warning: tanh-hard-saturation"
    assert received.get_title(loc="left") == "input, received from x: -255..255"
    low, high = received.get_xlim()
    assert low < -255 and high > 255
    [bars] = received.containers
    assert sum(bar.get_height() for bar in bars) == pytest.approx(100)  # percentages of the values
    assert legend_texts(received) == [
        "output exactly -1 or 1 in float32",
        "outside the well-behaved range -2.65..2.65",
        "well-behaved range",
        "o=tanh(i) (float32)",
    ]
    [line] = curve_axes.get_lines()
    assert line.get_xdata().min() < -250 and line.get_ydata().max() == 1
    assert "8 of 9 (89%) exactly at a bound" in output.get_title(loc="left")
    assert output.get_title(loc="left").startswith("output: -1..1, mean 0, std 0.943")


def test_an_input_has_one_panel_and_a_dead_relu_shows_where_it_outputs_0(seed_result, lenet_result):
    pytest.importorskip("matplotlib")
    from nnspec.report.pictures.plots import layer_figure

    data = layer_figure(seed_result, "x")
    assert len(data.axes) == 1
    assert data.axes[0].get_title(loc="left") == "input, its data: -255..255"
    assert legend_texts(data.axes[0]) == ["outside the well-behaved range -1..1", "well-behaved range"]
    relu = layer_figure(lenet_result, "relu3")
    assert "info: relu-dead-units" in relu.get_suptitle()  # possibly dead: 100 samples
    assert legend_texts(relu.axes[0]) == ["output 0", "o=max(0, i) (float32)"]
    conv = layer_figure(lenet_result, "conv1")
    assert len(conv.axes) == 2 and legend_texts(conv.axes[0]) == []  # no curve, no ranges: histograms only


def test_run_plots_writes_a_png_a_layer_into_a_new_directory(tmp_path, capsys):
    image_module = pytest.importorskip("PIL.Image")
    pytest.importorskip("matplotlib")
    directory = tmp_path / "new" / "plots"
    assert main(["run", SEED, "--plots", str(directory)]) == 0
    assert "0 errors, 3 warnings" in capsys.readouterr().out  # the report is printed as ever
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{n}.png" for n in SEED_LAYERS)
    sizes = {p.stem: image_module.open(p).size for p in directory.iterdir()}
    assert sizes["x"] == (460, 330) and sizes["tanh"] == (920, 330)


def test_run_plots_and_report_never_overwrite_without_force(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    directory = tmp_path / "plots"
    directory.mkdir()
    (directory / "tanh.png").write_bytes(b"mine")
    assert main(["run", SEED, "--plots", str(directory)]) == 2
    assert f"{directory / 'tanh.png'} exists; add --force to overwrite" in capsys.readouterr().err
    assert (directory / "tanh.png").read_bytes() == b"mine" and len(list(directory.iterdir())) == 1
    assert main(["run", SEED, "--plots", str(directory), "--force"]) == 0
    assert (directory / "tanh.png").read_bytes().startswith(b"\x89PNG")
    report = tmp_path / "report.html"
    report.write_text("mine")
    assert main(["run", SEED, "--report", str(report)]) == 2
    assert report.read_text() == "mine"
    capsys.readouterr()


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--report", "report.pdf", "the report is an HTML page: give a file name ending in .html"),
        ("--report", "missing/report.html", "directory missing does not exist"),
        ("--plots", "afile", "is not a directory; --plots takes a directory"),
    ],
)
def test_run_unusable_picture_paths_exit_2_before_the_run(tmp_path, monkeypatch, capsys, option, value, message):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    assert main(["run", SEED, option, value]) == 2
    out, err = capsys.readouterr()
    assert message in err and out == ""


# --- the HTML report (content; the browser test is in test_pictures_browser.py) ---------------------


class Page(HTMLParser):
    """What a test needs of a page: ids, links, image sources, text, tags."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.add(tag)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "img":
            self.images.append(attributes["src"])

    def handle_data(self, data):
        self.text.append(data)


def test_report_holds_the_graph_table_findings_and_plots_and_needs_no_network(tmp_path, lenet_result, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "report.html"
    assert main(["run", LENET, "--report", str(path), "--quiet"]) == 0
    capsys.readouterr()
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    words = " ".join(" ".join(page.text).split())
    assert {"graph", "table", "findings", "contents"} <= page.ids
    assert {f"layer-{name}" for name in LENET_LAYERS} <= page.ids
    internal = [link for link in page.links if link.startswith("#")]
    assert set(internal) <= {f"#{i}" for i in page.ids}  # every anchor leads somewhere
    for name in LENET_LAYERS:
        assert internal.count(f"#layer-{name}") >= 3  # the contents, the table, the graph's box
    assert len(page.images) == len(LENET_LAYERS) and all(s.startswith("data:image/png;base64,") for s in page.images)
    assert "svg" in page.tags and not {"script", "link", "iframe"} & page.tags
    assert not re.search(r"""(src|href)=["']?(https?:|//)|@import|url\(\s*['"]?https?:""", text)
    findings = lenet_result.findings
    assert findings and all(" ".join(f.message.split()) in words for f in findings)
    assert "lenet: findings of a run on 100 samples" in words
    assert "0 errors, 0 warnings" in words  # its possibly dead units, on 100 samples, are info


# --- the docs' pictures stay true -----------------------------------------------------------------------


def test_docs_show_the_pictures_the_script_makes_with_the_commands_it_runs():
    script = load_script("make_pictures")
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / "docs" / "images").rglob("*") if p.is_file())
    assert committed == script.expected_files()
    docs = (ROOT / "docs" / "pictures.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"(?:\]\(|src=\")(images/[^)\"]+)", docs)
    assert sorted(set(shown)) == sorted(str(p.relative_to("docs")) for p in script.expected_files())
    for image in re.findall(r"\]\((docs/images/[^)]+)\)", readme):
        assert (ROOT / image).is_file(), image
    for command, _ in script.PICTURES + script.REPORTS:
        assert command.replace("OUT/", "") in docs


def test_the_committed_dot_is_what_nnspec_writes_today(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the docs' commands name specs from the repository root
    assert main(["graph", "specs/seed_activations.yaml", "-o", str(tmp_path / "graph.dot")]) == 0
    committed = ROOT / "docs" / "images" / "seed_activations" / "graph.dot"
    assert (tmp_path / "graph.dot").read_text() == committed.read_text()


def test_expanded_names_become_distinct_xml_ids():
    """Units (Fire/Squeeze) and repeats (Conv[0]) name layers with characters an XML id may not hold;
    each maps to its own id of letters, digits, '_', '.' and '-'."""
    from nnspec.report.pictures.diagram import element_id

    names = ["fc1", "Fire/Squeeze", "Conv[0]", "Conv[1]", "Conv[12]", "Conv[1][2]", "Fire[0]/Affine[1]", "y'"]
    ids = [element_id(name) for name in names]
    assert ids[:4] == ["fc1", "Fire.Squeeze", "Conv-0", "Conv-1"]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", each) for each in ids)
