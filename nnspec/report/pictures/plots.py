"""One figure a layer: what it received, its curve, what it gave (matplotlib, the ``plot`` extra).

The left panel is a histogram of the values the layer received, with the input ranges
where it loses information shaded and its well-behaved range marked; for a layer that
computes o = f(i) value by value (an activation, a math or trigonometric function) the
curve f, from the catalog's own forward function in the spec's dtype, is drawn over it,
the way a textbook draws tanh over -255..255 to show why raw values break it. The right
panel is a histogram of its output. An Input has one panel: its data.

The histograms come from the run's statistics (see histogram.py): no value is kept for them;
a layer with few distinct values has a bar at each of them, its exact share.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np

from ...checks.check import Finding
from ...checks.measures import PINNED
from ...checks.stats import TensorStats
from ...core.numbers import format_number, format_share
from ...core.printable import printable
from ...files.save import check_folder, write_atomically
from ...runtime.runner import RunResult
from ...spec.model import Layer, Spec
from .extra import SAVE_BACKENDS, drawing, matplotlib
from .histogram import even_histogram, exact_values
from .ranges import curve, drawable, has_curve, regions, view, with_margin
from .style import BAR_COLOUR, CLEAN, COLOURS, CURVE_COLOUR, LABELS, REGION_COLOURS, worst

PLOT_SUFFIX = ".png"
DPI = 100
FONT_SIZE = 8
PANEL_SIZE = (4.6, 3.3)  # inches: 460 x 330 pixels a panel at DPI
HISTOGRAM_BINS = 60


def plot_file_names(names: Iterable[str]) -> dict[str, str]:
    """A file name for each layer's plot: ``NAME.png``, a '/' in the name (a unit's or an LSTM's layers:
    ``LSTM/Tanh_LSTM[0]``) written '.' (``LSTM.Tanh_LSTM[0].png``: in one directory); on a file system
    that ignores case, 'Relu' and 'relu' would be one file, so a later one of them gets ``NAME-2.png``."""
    taken: set[str] = set()
    files = {}
    for name in names:
        flat = name.replace("/", ".")  # '.' never occurs in a layer name, so this cannot meet another layer
        stem, n = flat, 1
        while stem.casefold() in taken:
            n += 1
            stem = f"{flat}-{n}"  # '-' never occurs in a layer name, so this cannot meet another layer
        taken.add(stem.casefold())
        files[name] = stem + PLOT_SUFFIX
    return files


def check_plot_directory(directory: Path, spec: Spec, force: bool) -> None:
    """Refuse, before a run, a --plots DIR that is a file or cannot be made or written in, a plot's
    name taken by a directory, or plots already there without ``force``."""
    check_folder(directory, plot_paths(directory, spec), force, "--plots")


def plot_paths(directory: Path, spec: Spec) -> list[Path]:
    """Every file --plots DIR may write, one a layer."""
    return [directory / name for name in plot_file_names(spec.order).values()]


def write_plots(directory: Path, spec: Spec, pngs: Mapping[str, bytes]) -> None:
    """Each layer's PNG into ``directory`` (made if missing), each file written whole or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    names = plot_file_names(spec.order)
    for name, png in pngs.items():
        write_atomically(directory / names[name], _writer(png))


def _writer(data: bytes) -> Callable[[IO[bytes]], object]:
    """What writes ``data`` into the file write_atomically opens (a lambda with a default mypy cannot type)."""
    return lambda handle: handle.write(data)


def plotted_layers(result: RunResult) -> list[str]:
    """The layers that have statistics, in execution order."""
    return [name for name in result.spec.order if name in result.stats]


def received(result: RunResult, name: str) -> TensorStats:
    """The statistics of everything a layer received, its inputs together (a source layer: its data; a
    layer of no input, a Delay's first step: the Initial it gives)."""
    layer = result.spec.layers[name]
    if layer.type.is_source or not layer.inputs:
        return result.stats[name].output
    parts = [result.stats[source].output for source in layer.inputs]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.merge(part)
    return combined


def layer_plot(result: RunResult, name: str) -> bytes:
    """The PNG of one layer's figure."""
    with drawing("plotting a layer", _RC):
        figure = layer_figure(result, name)
        buffer = io.BytesIO()
        # no version: the same bytes each time
        figure.savefig(buffer, format="png", metadata={"Software": None}, backend=SAVE_BACKENDS["png"])
    return buffer.getvalue()


def layer_figure(result: RunResult, name: str):
    """One layer's matplotlib Figure: a panel of what it received (its curve over it) and one of its output."""
    matplotlib("plotting a layer")
    from matplotlib.figure import Figure

    spec, layer = result.spec, result.spec.layers[name]
    findings = [f for f in result.findings if f.layer == name]
    panels = 1 if layer.type.is_source else 2
    figure = Figure(figsize=(PANEL_SIZE[0] * panels, PANEL_SIZE[1]), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    _title(figure, layer, findings)
    _input_panel(axes[0], layer, received(result, name), spec.dtype, _source_label(layer))
    if panels == 2:
        _output_panel(axes[1], layer, result.stats[name].output, _pinned(result, name))
    return figure


_RC = {"font.size": FONT_SIZE, "axes.titlesize": FONT_SIZE + 0.5, "legend.fontsize": FONT_SIZE - 1}


def _title(figure, layer: Layer, findings: list[Finding]) -> None:
    severity = worst(findings)
    checks = ", ".join(dict.fromkeys(f.check for f in findings))
    text = printable(f"{layer.name} ({layer.type.name})   {layer.type.formula}")
    if severity != CLEAN:
        text += f"   {LABELS[severity]}: {checks}"
    figure.suptitle(text, color=COLOURS[severity][1] if severity != CLEAN else "#1b2631", fontsize=FONT_SIZE + 1.5)


def _source_label(layer: Layer) -> str:
    if layer.type.is_source:
        return "its data"
    return "received from " + printable(", ".join(layer.inputs))


def _input_panel(axes, layer: Layer, stats: TensorStats, dtype: str, source: str) -> None:
    low, high = view(stats, layer.type.input_range)
    axes.set_xlim(low, high)
    handles = []
    labelled: set[str] = set()
    for region in regions(layer.type, dtype):
        a, b = max(region.low, low), min(region.high, high)
        if a < b:
            patch = axes.axvspan(a, b, color=REGION_COLOURS[region.kind], alpha=0.55, linewidth=0, zorder=0)
            if region.label not in labelled:
                labelled.add(region.label)
                patch.set_label(region.label)
                handles.append(patch)
    for i, bound in enumerate(b for b in layer.type.input_range or () if low <= b <= high):
        line = axes.axvline(bound, color="#2e4053", linestyle="--", linewidth=0.9, zorder=1)
        if i == 0:
            line.set_label("well-behaved range")
            handles.append(line)
    _bars(axes, stats, low, high)
    axes.set_title(f"input, {source}: {_span(stats)}", loc="left")
    axes.set_xlabel("input value")
    axes.set_ylabel("share of values (%)")
    if has_curve(layer.type):
        handles += _curve(axes, layer, dtype, low, high)
    if handles:
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)


def _curve(axes, layer: Layer, dtype: str, low: float, high: float) -> list:
    """The layer's function on a second y axis, over the same inputs as the histogram."""
    x, y = curve(layer, dtype, low, high)
    twin = axes.twinx()
    (line,) = twin.plot(x, y, color=CURVE_COLOUR, linewidth=1.6, label=f"{layer.type.formula} ({dtype})", zorder=3)
    twin.set_ylabel("output value")
    bottom, top = layer.type.output_range
    finite = y[np.isfinite(y)]
    if finite.size:
        lo = bottom if bottom is not None else finite.min()
        hi = top if top is not None else finite.max()
        twin.set_ylim(*with_margin(*drawable(lo, hi), 0.06))
    return [line]


def _output_panel(axes, layer: Layer, stats: TensorStats, pinned: int | None) -> None:
    low, high = view(stats)
    axes.set_xlim(low, high)
    bounds = [b for b in layer.type.output_range if b is not None and low <= b <= high]
    for bound in bounds:
        axes.axvline(bound, color="#2e4053", linestyle=":", linewidth=1.0, zorder=1, label="bound of its outputs")
    _bars(axes, stats, low, high)
    if bounds:
        handles = axes.get_legend_handles_labels()[0][:1]
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    title = f"output: {_span(stats)}"
    if stats.finite:
        title += f", mean {format_number(stats.mean, 3)}, std {format_number(stats.std, 3)}"
    if pinned:
        title += f"\n{pinned} of {stats.count} ({format_share(pinned, stats.count)}) exactly at a bound"
    axes.set_title(title, loc="left")
    axes.set_xlabel("output value")
    axes.set_ylabel("share of values (%)")


def _bars(axes, stats: TensorStats, low: float, high: float) -> None:
    if not stats.finite:
        axes.text(0.5, 0.5, _span(stats), transform=axes.transAxes, ha="center", va="center")
        return
    exact = exact_values(stats)
    if exact is not None:  # few distinct values: a bar at each, as wide as an even bin would be
        values, shares = exact
        # values past what matplotlib can draw (near float64's largest) at the view's edge, as the even
        # histogram puts them in its end bins
        values = np.clip(values, low, high)
        axes.bar(values, 100 * shares, width=(high - low) / HISTOGRAM_BINS, align="center", color=BAR_COLOUR, zorder=2)
    else:
        edges, shares = even_histogram(stats, low, high, HISTOGRAM_BINS)
        axes.bar(edges[:-1], 100 * shares, width=np.diff(edges), align="edge", color=BAR_COLOUR, zorder=2)
    axes.set_ylim(0, max(1.0, 100 * shares.max()) * 1.08)


def _pinned(result: RunResult, name: str) -> int | None:
    measures: Mapping[str, dict] = result.stats[name].measures
    return next((int(m[PINNED]) for m in measures.values() if PINNED in m), None)


def _span(stats: TensorStats) -> str:
    if not stats.finite:
        bad = stats.count - stats.finite
        return f"no finite values ({bad} NaN or Inf)" if bad else "no values"
    return f"{format_number(stats.min)}..{format_number(stats.max)}"
