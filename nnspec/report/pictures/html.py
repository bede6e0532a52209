"""The HTML report of a run: one self-contained file, viewed with no network access.

Everything is inside the file: the CSS inline, the graph as inline SVG (its boxes link to
the layers' sections), each layer's plot as a base64 PNG, no script and nothing fetched.
A contents list and the anchors ``#layer-NAME`` make it navigable by layer; the graph, the
table, the findings and the outputs link to the same anchors.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ... import __version__
from ...checks.measures import PINNED
from ...checks.stats import PERCENTILES
from ...core.numbers import format_number, format_score, format_share
from ...core.printable import printable_lines
from ...files.save import check_target
from ...layers.catalog import format_shape
from ...runtime.runner import RunResult
from ...spec.summary import summarize, total_parameters
from ..results import HEADINGS, MAX_VALUES_SHOWN, engine_lines, format_values, scores, source_lines, to_dict
from ..summary import NOT_COUNTED_MARK, memory_lines
from .diagram import MAX_DRAWN_ARROWS, MAX_DRAWN_LAYERS, draw, element_id, title
from .plots import layer_plot, plotted_layers
from .style import CLEAN, COLOURS, LABELS, SEVERITIES, worst

REPORT_SUFFIXES = (".html", ".htm")


def escape(text: str, quote: bool = True) -> str:
    """Text for the page: each line ``printable`` (no control or bidi character from a spec
    reaches the reader's screen), then HTML-escaped."""
    return html.escape(printable_lines(text), quote)


def anchor(layer: str) -> str:
    """The id of a layer's section (diagram.element_id: valid for expanded names too)."""
    return f"layer-{element_id(layer)}"


def check_report_path(path: Path, force: bool) -> None:
    """Refuse, before a run, a report file that is not HTML's, cannot be written, or exists (without ``force``)."""
    check_target(path, force, REPORT_SUFFIXES, "the report is an HTML page: give a file name ending in .html")


def build_report(result: RunResult, plots: Mapping[str, bytes] | None = None) -> str:
    """The report of ``result``: draws the graph, and every layer's plot unless ``plots`` holds them
    already (PNG bytes by layer), with matplotlib; then the page."""
    spec, graph = result.spec, None
    if len(spec.layers) <= MAX_DRAWN_LAYERS and spec.graph.number_of_edges() <= MAX_DRAWN_ARROWS:  # else "(no graph)"
        graph = draw(spec, result.findings, title(spec, result.samples), "svg", lambda n: f"#{anchor(n)}")
    if plots is None:
        plots = {name: layer_plot(result, name) for name in plotted_layers(result)}
    return report_html(result, None if graph is None else graph.decode("utf-8"), plots)


def report_html(result: RunResult, graph_svg: str | None, plots: Mapping[str, bytes]) -> str:
    """The page, from pictures already made: the graph's SVG text and each layer's PNG bytes."""
    data = to_dict(result)
    layers = data["layers"]
    spec = result.spec
    heading = spec.name or Path(spec.file).name
    sections = [
        _header(result, heading),
        _section("graph", "Graph", _graph(graph_svg)),
        _section("table", "Layers", _table(result, layers)),
        _section("cost", "Cost and memory", _cost_table(result)),
        _section("findings", "Findings", _findings(result)),
    ]
    found_scores = scores(result)
    if found_scores:
        sections.append(_section("scores", "Over all samples", _scores(result, found_scores)))
    shown = {name: value for name, value in result.outputs.items() if value.size <= MAX_VALUES_SHOWN}
    if shown:
        sections.append(_section("outputs", "Outputs", _outputs(shown)))
    sections += [_layer_section(result, layer, plots.get(layer["name"])) for layer in layers]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="nnspec {escape(__version__)}">\n'
        f"<title>nnspec report: {escape(heading)}</title>\n"
        f"<style>\n{_css()}</style>\n</head>\n<body>\n"
        f"{_contents(result, layers, bool(found_scores), bool(shown))}\n"
        f"<main>\n{''.join(sections)}</main>\n</body>\n</html>\n"
    )


# --- parts of the page --------------------------------------------------------------------------


def _header(result: RunResult, heading: str) -> str:
    spec = result.spec
    samples = f"{result.samples:,} sample{'s' if result.samples != 1 else ''}"
    if result.interrupted:
        samples = f"interrupted after {result.samples:,} of {result.total:,} samples (the figures cover those only)"
    counts = ", ".join(
        f"{n} {word}{'s' * (n != 1)}" for n, word in ((len(result.errors), "error"), (len(result.warnings), "warning"))
    )
    description = f"<p>{escape(spec.description)}</p>\n" if spec.description else ""
    return (
        f"<header>\n<h1>{escape(heading)}</h1>\n{description}"
        f'<p class="meta">{escape(spec.file)} &middot; {len(spec.layers)} layers &middot; {escape(samples)} '
        f"&middot; {escape(spec.dtype)} &middot; {escape(HEADINGS[result.view])} "
        f"&middot; <strong>{escape(counts)}</strong></p>\n{_sources(result)}</header>\n"
    )


def _sources(result: RunResult) -> str:
    """Which engine ran (but numpy's) and where each data variable's values came from, one line each, as
    the text report says them."""
    said = [*engine_lines(result), *source_lines(result)]
    if not said:
        return ""
    lines = "<br>\n".join(escape(line) for line in said)
    return f'<p class="meta sources">{lines}</p>\n'


def _section(ident: str, heading: str, body: str) -> str:
    return f'<section id="{ident}">\n<h2>{escape(heading)}</h2>\n{body}</section>\n'


def _contents(result: RunResult, layers: Sequence[dict[str, Any]], has_scores: bool, has_outputs: bool) -> str:
    parts = [
        ("graph", "Graph"),
        ("table", "Layers"),
        ("cost", "Cost and memory"),
        ("findings", f"Findings ({len(result.findings)})"),
    ]
    if has_scores:
        parts.append(("scores", "Over all samples"))
    if has_outputs:
        parts.append(("outputs", "Outputs"))
    items = "".join(f'<li><a href="#{ident}">{escape(text)}</a></li>' for ident, text in parts)
    layer_items = "".join(
        f'<li class="{_severity_class(result, layer["name"])}"><a href="#{anchor(layer["name"])}">'
        f'{escape(layer["name"])}</a> <span class="type">{escape(layer["type"])}</span></li>'
        for layer in layers
    )
    return (
        f'<nav id="contents" aria-label="Contents">\n<h2>Contents</h2>\n<ul>{items}</ul>\n'
        f'<h2>Layers</h2>\n<ol class="layers">{layer_items}</ol>\n</nav>'
    )


def _graph(svg: str | None) -> str:
    if svg is None:
        return "<p>(no graph)</p>\n"
    # Inline SVG: from the <svg> element on (no XML prolog), and the links matplotlib writes
    # with target="_blank" made to move within the page instead of opening a new one.
    inline = svg[svg.index("<svg") :]
    inline = re.sub(r'<a xlink:href="(#[^"]*)" target="_blank">', r'<a href="\1" xlink:href="\1">', inline)
    return f'<div class="graph">\n{inline}</div>\n'


_TABLE_HEADER = ("layer", "type", "shape", "input", "output", "mean", "std", "sat", "zero", "nan/inf", "findings")


def _table(result: RunResult, layers: Sequence[dict[str, Any]]) -> str:
    rows = []
    for layer in layers:
        out = layer["output"]
        finite = out["mean"] is not None
        pinned = layer["measures"].get(_pinned_check(layer), {}).get(PINNED)
        findings = [f for f in result.findings if f.layer == layer["name"]]
        cells = [
            f'<a href="#{anchor(layer["name"])}">{escape(layer["name"])}</a>',
            escape(layer["type"]),
            escape("x".join(map(str, layer["shape"]))),
            escape(_span_of(layer["input_stats"])),
            escape(_span_of([out])),
            format_number(out["mean"]) if finite else "-",
            format_number(out["std"]) if finite else "-",
            format_share(pinned, out["count"]) if pinned is not None else "-",
            format_share(out["zeros"], out["count"]),
            str(out["nan"] + out["posinf"] + out["neginf"]),
            escape(", ".join(dict.fromkeys(f.check for f in findings))) or "-",
        ]
        rows.append(
            f'<tr class="{_severity_class(result, layer["name"])}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        )
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in _TABLE_HEADER)
    return (
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + ("\n</tbody>\n</table></div>\n")
    )


_COST_HEADER = ("layer", "type", "parameters", "multiply-adds", "bytes/sample", "bytes/batch")


def _cost_table(result: RunResult) -> str:
    """Every layer's cost per sample as NNC counts it (parameters, multiply-adds), its output's bytes
    per sample and for a batch, the totals, then the run's peak memory and what it counts."""
    spec, sized = result.spec, result.memory
    batch = sized.batch if sized is not None else None
    rows = summarize(spec)

    def cells(name: str, kind: str, parameters: str, multiply_adds: str, sample: int) -> str:
        figures = (parameters, multiply_adds, f"{sample:,}", f"{sample * batch:,}" if batch is not None else "-")
        return f"<td>{name}</td><td>{escape(kind)}</td>" + "".join(f'<td class="num">{f}</td>' for f in figures)

    body = [
        "<tr>"
        + cells(
            f'<a href="#{anchor(row.name)}">{escape(row.name)}</a>',
            row.type,
            f"{row.cost.parameter:,}" if row.cost.counted else NOT_COUNTED_MARK,
            f"{row.cost.multiply_add:,}" if row.cost.counted else NOT_COUNTED_MARK,
            row.output_bytes,
        )
        + "</tr>"
        for row in rows
    ]
    total = cells(
        "total",
        "",
        f"{total_parameters(spec):,}",
        f"{sum(row.cost.multiply_add for row in rows):,}",
        sum(row.output_bytes for row in rows),
    )
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in _COST_HEADER)
    notes = ["Per sample, as NNC counts them (CostParameter, CostMultiplyAdd); bytes at the spec's dtype."]
    skipped = sorted({row.type for row in rows if not row.cost.counted})
    if skipped:
        notes.append(f"{NOT_COUNTED_MARK}: not counted (nnspec does not know NNC's count for {', '.join(skipped)}).")
    memory = memory_lines(spec, sized) if sized is not None else []
    return (
        "".join(f"<p>{escape(note)}</p>\n" for note in notes)
        + f'<div class="scroll"><table class="cost">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + f'\n</tbody>\n<tfoot><tr class="total">{total}</tr></tfoot>\n</table></div>\n'
        + (f'<pre class="memory">{escape(chr(10).join(memory))}</pre>\n' if memory else "")
    )


def _pinned_check(layer: dict[str, Any]) -> str:
    return next((check for check, measure in layer["measures"].items() if PINNED in measure), "")


def _findings(result: RunResult) -> str:
    if not result.findings:
        return "<p>No findings: every check passed.</p>\n"
    parts = []
    for severity in SEVERITIES:
        found = [f for f in result.findings if f.severity == severity]
        if not found:
            continue
        items = []
        for source in found:
            finding = source.diagnostic(result.spec)
            where = f"line {finding.line}" if finding.line is not None else ""
            items.append(
                f'<li class="sev-{severity}"><span class="badge">{escape(severity)}</span> '
                f'<a href="#{anchor(source.layer)}">{escape(source.layer)}</a> '
                f'<span class="where">{escape(where)}</span> {escape(finding.message)} '
                f'<code class="check">[{escape(finding.code)}]</code></li>'
            )
        heading = f"{len(found)} {LABELS[severity]}{'s' if len(found) != 1 and severity != 'info' else ''}"
        parts.append(f'<h3>{escape(heading)}</h3>\n<ul class="findings">\n' + "\n".join(items) + "\n</ul>\n")
    return "".join(parts)


def _scores(result: RunResult, found: Mapping[str, dict[str, Any]]) -> str:
    rows = []
    for name, score in found.items():
        value = format_score(score["kind"], score["value"])
        rows.append(
            f'<tr><td><a href="#{anchor(name)}">{escape(name)}</a></td><td>{escape(score["kind"])}</td>'
            f"<td>{escape(value)}</td><td>{escape(result.spec.layers[name].type.name)}</td></tr>"
        )
    return "<table>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"


def _outputs(shown: Mapping[str, Any]) -> str:
    rows = [
        f'<tr><td><a href="#{anchor(name)}">{escape(name)}</a></td>'
        f"<td><code>{escape(format_values(value[0] if len(value) == 1 else value))}</code></td></tr>"
        for name, value in shown.items()
    ]
    return "<table>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"


def _layer_section(result: RunResult, layer: dict[str, Any], plot: bytes | None) -> str:
    name = layer["name"]
    layer_type = result.spec.layers[name].type
    spec_layer = result.spec.layers[name]
    reads = ", ".join(f'<a href="#{anchor(s)}">{escape(s)}</a>' for s in layer["inputs"])
    if layer_type.is_source:
        reads = f"data variable <code>{escape(spec_layer.dataset)}</code>"
    findings = [f for f in result.findings if f.layer == name]
    finding_items = "".join(
        f'<li class="sev-{f.severity}"><span class="badge">{escape(f.severity)}</span> {escape(f.message)} '
        f'<code class="check">[{escape(f.check)}]</code></li>'
        for f in findings
    )
    out = layer["output"]
    stats = [
        ("values", f"{out['count']:,}"),
        ("min .. max", _span_of([out])),
        ("mean", format_number(out["mean"]) if out["mean"] is not None else "-"),
        ("std", format_number(out["std"]) if out["std"] is not None else "-"),
        ("zeros", f"{out['zeros']:,}"),
        ("NaN / +Inf / -Inf", f"{out['nan']} / {out['posinf']} / {out['neginf']}"),
        *(
            (
                f"{_ordinal(q)} percentile",
                format_number(out["percentiles"][str(q)]) if out["percentiles"][str(q)] is not None else "-",
            )
            for q in PERCENTILES
        ),
    ]
    stat_rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in stats)
    picture = (
        f'<img src="data:image/png;base64,{base64.b64encode(plot).decode("ascii")}" '
        f'alt="{escape(_plot_description(name, layer_type.is_source), quote=True)}">'
        if plot is not None
        else ""
    )
    return (
        f'<section id="{anchor(name)}" class="layer {_severity_class(result, name)}">\n'
        f'<h2>{escape(name)} <span class="type">{escape(layer_type.name)}</span></h2>\n'
        f"<p><code>{escape(layer_type.formula)}</code> &middot; reads {reads} &middot; line {layer['line']} "
        f"&middot; output shape {escape(format_shape(tuple(layer['shape'])))}</p>\n"
        + (f'<ul class="findings">{finding_items}</ul>\n' if finding_items else "")
        + f'<div class="layer-body"><dl class="stats">{stat_rows}</dl>\n{picture}</div>\n'
        + '<p class="top"><a href="#contents">back to the contents</a></p>\n</section>\n'
    )


def _plot_description(name: str, source: bool) -> str:
    if source:
        return f"Histogram of the data of {name}"
    return f"Histograms of the values {name} received and gave, with the ranges where it loses information"


# --- helpers --------------------------------------------------------------------------------


def _severity_class(result: RunResult, layer: str) -> str:
    return f"sev-{worst(f for f in result.findings if f.layer == layer)}"


def _span_of(parts: Sequence[dict[str, Any]]) -> str:
    finite = [p for p in parts if p["min"] is not None]
    if not finite:
        return "-"
    return f"{format_number(min(p['min'] for p in finite))}..{format_number(max(p['max'] for p in finite))}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _css() -> str:
    severity_rules = "".join(f".sev-{s} {{ --fill: {fill}; --edge: {edge}; }}\n" for s, (fill, edge) in COLOURS.items())
    return severity_rules + _CSS.replace("__CLEAN__", CLEAN)


_CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1b2631; background: #f8f9f9; display: grid; grid-template-columns: 14rem minmax(0, 1fr); }
nav#contents { position: sticky; top: 0; height: 100vh; overflow-y: auto; padding: 1rem;
  background: #fff; border-right: 1px solid #d5d8dc; font-size: 14px; }
nav#contents h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #566573;
  margin: 1rem 0 .3rem; }
nav#contents ul, nav#contents ol { margin: 0; padding-left: 1.2rem; }
nav#contents li { margin: .1rem 0; }
nav#contents ol.layers { list-style: none; padding-left: 0; }
nav#contents ol.layers li::before { content: ""; display: inline-block; width: .6em; height: .6em; margin-right: .45em;
  background: var(--fill); border: 2px solid var(--edge); border-radius: 2px; }
nav .type { color: #707b7c; font-size: 12px; }
main { padding: 1rem 2rem 4rem; max-width: 75rem; }
header h1 { margin: .2rem 0; }
.meta { color: #566573; }
section { background: #fff; border: 1px solid #d5d8dc; border-radius: 6px; padding: .5rem 1.2rem 1rem;
  margin: 1rem 0; scroll-margin-top: .5rem; }
section.layer { border-left: 6px solid var(--edge); }
section.layer.sev-__CLEAN__ { border-left-color: #d5d8dc; }
section:target { outline: 3px solid #5dade2; }
h2 .type { font-weight: normal; color: #707b7c; font-size: .8em; }
.graph { overflow: auto; text-align: center; }
.graph svg { max-width: 100%; height: auto; }
.graph svg text { pointer-events: none; }  /* a click on a box's text is a click on the box's link */
.graph svg a path { cursor: pointer; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e5e8e8; text-align: left; white-space: nowrap; }
td.num { text-align: right; }
tr.total td { font-weight: bold; border-top: 1px solid #aab7b8; }
pre.memory { font-size: 12px; white-space: pre-wrap; }
tbody tr { background: var(--fill); }
tbody tr.sev-__CLEAN__ { background: transparent; }
ul.findings { padding-left: 0; list-style: none; }
ul.findings li { border-left: 4px solid var(--edge); background: var(--fill); padding: .4rem .7rem; margin: .4rem 0; }
.badge { display: inline-block; min-width: 4.5rem; font-weight: bold; color: var(--edge); text-transform: uppercase;
  font-size: 12px; }
.where, .check { color: #566573; }
.layer-body { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
dl.stats { display: grid; grid-template-columns: auto auto; gap: .1rem .8rem; margin: 0; font-size: 13px;
  font-variant-numeric: tabular-nums; }
dl.stats dt { color: #566573; }
dl.stats dd { margin: 0; }
.layer img { max-width: 100%; height: auto; border: 1px solid #e5e8e8; }
.top { font-size: 12px; margin: .5rem 0 0; }
a { color: #1f618d; }
@media (max-width: 50rem) { body { display: block; } nav#contents { position: static; height: auto; } }
@media print { body { display: block; } nav#contents { display: none; } section { break-inside: avoid; } }
"""
