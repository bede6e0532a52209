"""The layer graph: one box a layer, arrows for data flow, each box coloured by its worst finding.

DOT text needs nothing but the standard library (Graphviz lays it out: ``dot -Tsvg net.dot``).
SVG and PNG are drawn by matplotlib, the ``plot`` extra, on a layered layout computed here
with networkx (already required): ``pip install matplotlib`` is all a new user needs,
where Graphviz's Python binding would also need Graphviz's ``dot`` program from the
operating system's packages.
"""

from __future__ import annotations

import dataclasses
import html
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from math import inf
from pathlib import Path

import networkx as nx
import numpy as np

from ...checks.check import Finding
from ...core.diagnostics import UsageError
from ...core.numbers import format_number
from ...core.printable import printable, printable_lines
from ...files.save import check_target
from ...layers.catalog import format_shape
from ...layers.cost import Cost
from ...layers.generators import NO_GENERATOR
from ...layers.unit import UNIT
from ...spec.model import Layer, RepeatBlock, Spec
from ...spec.summary import layer_costs
from ...spec.views import DEFAULT_VIEW
from .extra import SAVE_BACKENDS, drawing, matplotlib
from .style import CLEAN, COLOURS, LABELS, SEVERITIES, worst

DOT_SUFFIXES = (".dot", ".gv")
DRAWN_SUFFIXES = (".svg", ".png")
MAX_PROPERTY_LINES = 4  # more would make a box taller than the picture can afford
MAX_VALUE_CHARS = 28

# Box geometry, in points (1/72 inch). The boxes' text is monospaced, so a line's width is
# its length times one advance (DejaVu Sans Mono's, and near enough any monospace font's).
FONT_SIZE = 8.5
TITLE_SIZE = 10.0
CHAR_WIDTH = 0.602 * FONT_SIZE
LINE_HEIGHT = 1.3 * FONT_SIZE
PAD_X, PAD_Y = 8.0, 5.0
MIN_BOX_WIDTH = 70.0
GAP_X, GAP_Y = 18.0, 26.0
LANE = 7.0  # between arrows that run beside the same rows
# Between a repeat block's frame and its boxes: above and below (GAP_Y leaves room for two nested
# frames), and at the sides, where the left strip holds the frame's label, written upwards.
FRAME_PAD = 6.0
FRAME_SIDE = 12.0
MARGIN = 12.0
PNG_DPI = 110
# Layers drawn at most: the layout and the arrows' routes grow faster than the layers (a picture of
# 500 layers takes seconds and 200 MB at most, skip connections and all); DOT text has no limit.
MAX_DRAWN_LAYERS = 500
MAX_DRAWN_ARROWS = 2000  # each arrow is routed past the rows it spans: 2,000 arrows over 400 layers take 9 s
MAX_PNG_PIXELS = 2**25  # 128 MiB of RGBA: a chain of 500 layers is a fifth of it, skip connections widen it


@dataclass(frozen=True)
class Box:
    """What one layer's box says: name, type, output shape, key properties, findings."""

    name: str
    type: str
    shape: str
    properties: tuple[str, ...]
    findings: tuple[Finding, ...]
    cost: Cost = Cost()

    @property
    def severity(self) -> str:
        return worst(self.findings)

    @property
    def lines(self) -> tuple[str, ...]:
        """The box's text, a line each, ``printable``: the first (the name) is drawn bold."""
        checks = dict.fromkeys(f.check for f in self.findings)  # one line a check, in the order found
        lines = (self.name, self.type, self.shape, *self.properties, *(f"! {check}" for check in checks))
        return tuple(map(printable, lines))

    @property
    def tooltip(self) -> str:
        """What hovering the box shows: the layer's cost per sample (NNC's count), then its findings."""
        if self.cost.counted:
            cost = f"{self.cost.parameter:,} parameters, {self.cost.multiply_add:,} multiply-adds per sample"
        else:
            cost = f"cost not counted (nnspec does not know NNC's count for {self.type})"
        findings = [f"{f.severity}: {f.message} [{f.check}]" for f in self.findings] or [LABELS[CLEAN]]
        return "\n".join(printable(line) for line in (f"{self.name} ({self.type}): {cost}", *findings))


def boxes(spec: Spec, findings: Iterable[Finding]) -> dict[str, Box]:
    """Every layer's box, in execution order."""
    by_layer: dict[str, list[Finding]] = {}
    for finding in findings:
        by_layer.setdefault(finding.layer, []).append(finding)
    costs = layer_costs(spec)
    return {
        name: Box(
            name,
            spec.layers[name].type.name,
            format_shape(spec.layers[name].inferred_shape),
            tuple(key_properties(spec, spec.layers[name])),
            tuple(by_layer.get(name, ())),
            costs[name],
        )
        for name in spec.order
    }


def key_properties(spec: Spec, layer: Layer) -> list[str]:
    """The properties and parameters the spec writes or that differ from NNC's defaults, as
    ``key: value`` lines.

    A shape property equal to the layer's output shape (an Input's size, an Affine's
    out_shape) is left out: the shape line says it already.
    """
    lines = []
    for prop in layer.type.properties:
        value = layer.props[prop.name]
        written = ("layers", layer.index, prop.name) in spec.source_map.values
        if not written and value == prop.normalize(prop.default):
            continue
        if prop.kind == "shape" and value is not None and tuple(value) == layer.inferred_shape:
            continue
        lines.append(f"{prop.name}: {_show(value)}")
    for param in layer.type.parameters:
        source = layer.parameters.get(param.name)
        if source is None:
            continue
        if source.file is not None:
            lines.append(f"{param.name}: file {_show(source.file.name)}")
        elif (source.initializer, source.multiplier) != (param.initializer, param.multiplier):
            lines.append(f"{param.name}: {source.initializer} x{_show(source.multiplier)}")
    default_variable = {target.name: target.dataset for target in layer.type.targets}
    for name, target in layer.targets.items():
        if target.input is not None:
            lines.append(f"{name}: from {_show(target.input)}")  # drawn as an edge too
        elif target.generator != NO_GENERATOR:
            lines.append(f"{name}: {target.generator} x{_show(target.multiplier)}")
        elif target.dataset != default_variable.get(name):
            lines.append(f"{name}: dataset {_show(target.dataset)}")
    if len(lines) > MAX_PROPERTY_LINES:
        hidden = len(lines) - MAX_PROPERTY_LINES + 1
        lines = lines[: MAX_PROPERTY_LINES - 1] + [f"(+{hidden} more)"]
    return lines


def _show(value: object) -> str:
    """A property value as the spec's YAML writes it, cut short if long."""
    if isinstance(value, (tuple, list)):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = format_number(value, 6)
    else:
        text = printable(" ".join(str(value).split()))  # one line in a box, whatever the text holds
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def title(spec: Spec, samples: int | None) -> str:
    """What the colours are from: the static analysis (``samples`` None) or a run; and the view drawn,
    where it is not the default (nnspec.spec.views)."""
    name = printable(spec.name or Path(spec.file).name)
    view = f" ({spec.view} view)" if spec.view not in (None, DEFAULT_VIEW) else ""
    if samples is None:
        return f"{name}: findings predicted from the spec{view}"
    return f"{name}: findings of a run on {samples:,} sample{'s' if samples != 1 else ''}{view}"


# --- DOT ---------------------------------------------------------------------------------


def dot_string(text: str) -> str:
    """``text`` as a quoted DOT string: each line ``printable``, backslashes and quotes escaped,
    newlines as DOT's \\n."""
    escaped = printable_lines(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def to_dot(spec: Spec, findings: Iterable[Finding], heading: str) -> str:
    """The graph as Graphviz DOT text: ``dot -Tsvg`` draws it top to bottom, as NNC does."""
    drawn = boxes(spec, findings)
    key = ", ".join(f"{LABELS[s]} {COLOURS[s][1]}" for s in (*SEVERITIES, CLEAN))
    lines = [
        f"// nnspec graph of {printable(spec.file)}",
        f"digraph {dot_string(printable(spec.name or Path(spec.file).stem))} {{",
        f"  graph [rankdir=TB, labelloc=t, fontname=Helvetica, label={dot_string(heading + chr(10) + key)}];",
        '  node [shape=box, style="rounded,filled", fontname=Courier, fontsize=10];',
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    blocks = drawn_blocks(spec)
    parents, homes = nesting(blocks)

    def emit(block: int | None, indent: str) -> None:
        """The boxes directly in ``block`` (None: the top), then each block inside it as a cluster."""
        for box in drawn.values():
            if homes.get(box.name) == block:
                lines.append(f"{indent}{_dot_node(box)}")
        for inner, parent in parents.items():
            if parent == block:
                lines.append(f"{indent}subgraph {dot_string(f'cluster_repeat_{inner}')} {{")
                lines.append(
                    f"{indent}  graph [label={dot_string(blocks[inner].label)}, labeljust=l, "
                    'style="rounded,dashed", color="#555555", fontname=Helvetica];'
                )
                emit(inner, indent + "  ")
                lines.append(f"{indent}}}")

    emit(None, "  ")
    # each unit a cluster naming its nodes, declared above: Graphviz draws a box around them
    lines.extend(_dot_clusters(spec, [u for u in spec.units if _parent_unit(spec, u) is None], "  "))
    for source, target in _edges(spec):
        # an edge through a Delay carries a value to the next step of a recurrent loop: dashed, as NNC draws it
        style = " [style=dashed]" if (source, target) in spec.delayed else ""
        lines.append(f"  {dot_string(source)} -> {dot_string(target)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _parent_unit(spec: Spec, unit: str) -> str | None:
    """The unit directly around ``unit`` (None: it is called by the network that runs)."""
    around = [other for other in spec.units if unit.startswith(other + "/")]
    return max(around, key=len) if around else None


def unit_label(spec: Spec, unit: str) -> str:
    return f"{unit} (Unit: {spec.units[unit].network})"


def _dot_clusters(spec: Spec, units: list[str], indent: str) -> list[str]:
    """Each unit as a cluster holding its layers, nested units as clusters inside it (Graphviz draws
    a box around each, labelled with the unit)."""
    lines = []
    for unit in units:
        inner = [u for u in spec.units if _parent_unit(spec, u) == unit]
        nested = {name for u in inner for name in spec.units[u].layers}
        own = [name for name in spec.units[unit].layers if name not in nested and name in spec.layers]
        lines.append(f"{indent}subgraph {dot_string('cluster_' + unit)} {{")
        lines.append(f'{indent}  label={dot_string(unit_label(spec, unit))}; style="rounded,dashed"; color="#7f8c8d";')
        lines.extend(f"{indent}  {dot_string(name)};" for name in own)
        lines.extend(_dot_clusters(spec, inner, indent + "  "))
        lines.append(f"{indent}}}")
    return lines


def collapse_units_of(spec: Spec, findings: Sequence[Finding]) -> tuple[Spec, list[Finding]]:
    """The spec drawn with each unit the network that runs calls as one box (a Unit layer reading
    what the unit reads, of its output's shape), and the findings of its layers moved onto it."""
    outermost = [u for u in spec.units if _parent_unit(spec, u) is None]
    if not outermost:
        return spec, list(findings)
    owner = {name: unit for unit in outermost for name in spec.units[unit].layers}
    layers: dict[str, Layer] = {}
    for name, layer in spec.layers.items():
        unit = owner.get(name)
        if unit is None:
            inputs = list(dict.fromkeys(owner.get(source, source) for source in layer.inputs))
            layers[name] = dataclasses.replace(layer, inputs=inputs)
        elif unit not in layers:
            call = spec.units[unit]
            members = set(call.layers)
            reads = [s for m in call.layers for s in spec.layers[m].inputs if s not in members]
            output = spec.layers[call.output]
            layers[unit] = Layer(
                unit,
                UNIT,
                {**{p.name: None for p in UNIT.properties}, "network": call.network},
                list(dict.fromkeys(owner.get(source, source) for source in reads)),
                {},
                output.index,
                shape=output.shape,
            )
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(layers)
    graph.add_edges_from((source, layer.name) for layer in layers.values() for source in layer.inputs)
    position = {name: n for n, name in enumerate(layers)}
    order = tuple(nx.lexicographical_topological_sort(graph, key=position.__getitem__))
    collapsed = dataclasses.replace(spec, layers=layers, graph=graph, order=order, units={})
    moved = [dataclasses.replace(f, layer=owner[f.layer]) if f.layer in owner else f for f in findings]
    return collapsed, moved


def _dot_node(box: Box) -> str:
    fill, edge = COLOURS[box.severity]
    attributes = {
        "label": dot_string("\n".join(box.lines)),
        "fillcolor": dot_string(fill),
        "color": dot_string(edge),
        "tooltip": dot_string(box.tooltip),
    }
    if box.findings:
        attributes["penwidth"] = "2"
    return f"{dot_string(box.name)} [{', '.join(f'{k}={v}' for k, v in attributes.items())}];"


def drawn_blocks(spec: Spec) -> list[RepeatBlock]:
    """The spec's repeat blocks, each with the copies this picture draws (a view may leave some out),
    those left with none left out."""
    blocks = [replace(b, layers=tuple(n for n in b.layers if n in spec.layers)) for b in spec.repeats]
    return [block for block in blocks if block.layers]


def nesting(blocks: Sequence[RepeatBlock]) -> tuple[dict[int, int | None], dict[str, int]]:
    """Which block each block lies in (None: the top), and each copy's innermost block, by position
    in ``blocks`` (outer blocks come first, so the last block holding a copy is its innermost)."""
    members = [set(block.layers) for block in blocks]
    parents: dict[int, int | None] = {}
    homes: dict[str, int] = {}
    for j, block in enumerate(blocks):
        parents[j] = next((i for i in reversed(range(j)) if members[j] <= members[i]), None)
        homes.update(dict.fromkeys(block.layers, j))
    return parents, homes


def _edges(spec: Spec) -> list[tuple[str, str]]:
    """Every data flow, in the order the layers are written (so the text is stable)."""
    return sorted(spec.graph.edges, key=lambda e: (spec.positions[e[1]], spec.positions[e[0]]))


# --- layout --------------------------------------------------------------------------------


def ranks(spec: Spec) -> dict[str, int]:
    """Each layer's row: its longest path from a source layer, so every arrow points down.

    A source layer (an Input) sits in the row just above its first reader rather than at
    the top: a label Input read by the loss at the bottom is drawn beside the loss.
    """
    row = {name: i for i, generation in enumerate(nx.topological_generations(spec.graph)) for name in generation}
    for name, layer in spec.layers.items():
        readers = list(spec.graph.successors(name))
        if layer.type.is_source and readers:
            row[name] = min(row[reader] for reader in readers) - 1
    return row


def layout(
    spec: Spec, sizes: Mapping[str, tuple[float, float]], gap_x: float = GAP_X, gap_y: float = GAP_Y
) -> dict[str, tuple[float, float]]:
    """The centre of every box, row by row from the top (y grows downwards).

    Within a row, boxes are ordered by the mean position of the boxes they read from
    (ties: the order they are written in), which keeps arrows from crossing in the common
    cases; each row is centred.
    """
    row_of = ranks(spec)
    rows: dict[int, list[str]] = {}
    for name in sorted(row_of, key=spec.positions.__getitem__):
        rows.setdefault(row_of[name], []).append(name)
    centres: dict[str, tuple[float, float]] = {}
    top = 0.0
    for row in sorted(rows):
        names = sorted(rows[row], key=lambda n: (_mean_x(spec, n, centres), spec.positions[n]))
        height = max(sizes[n][1] for n in names)
        width = sum(sizes[n][0] for n in names) + gap_x * (len(names) - 1)
        x = -width / 2
        for name in names:
            centres[name] = (x + sizes[name][0] / 2, top + height / 2)
            x += sizes[name][0] + gap_x
        top += height + gap_y
    return centres


def _mean_x(spec: Spec, name: str, centres: Mapping[str, tuple[float, float]]) -> float:
    placed = [centres[s][0] for s in spec.layers[name].inputs if s in centres]
    return sum(placed) / len(placed) if placed else 0.0


def routes(
    spec: Spec, centres: Mapping[str, tuple[float, float]], sizes: Mapping[str, tuple[float, float]]
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """The points each arrow passes through, from the bottom of its source box to the top of its target.

    An arrow to the next row is straight. One that passes rows (a residual connection, an
    Input read far below) would run through their boxes, so it leaves its source's row
    downwards, runs beside the boxes of the rows it passes, on the side nearer to it, in a
    lane of its own, and enters its target's row from above.
    """
    row = ranks(spec)
    row_bottom: dict[int, float] = {}
    row_top: dict[int, float] = {}
    for name, (_, y) in centres.items():
        h = sizes[name][1] / 2
        row_bottom[row[name]] = max(row_bottom.get(row[name], -inf), y + h)
        row_top[row[name]] = min(row_top.get(row[name], inf), y - h)
    lanes = {"left": 0, "right": 0}
    paths = {}
    for source, target in _edges(spec):
        (x0, y0), (x1, y1) = centres[source], centres[target]
        start, end = (x0, y0 + sizes[source][1] / 2), (x1, y1 - sizes[target][1] / 2)
        passed = [n for n in centres if row[source] < row[n] < row[target]]
        if not any(crosses(start, end, centres[n], sizes[n]) for n in passed):
            paths[(source, target)] = [start, end]
            continue
        left = min(centres[n][0] - sizes[n][0] / 2 for n in passed)
        right = max(centres[n][0] + sizes[n][0] / 2 for n in passed)
        side = "right" if (x0 + x1) / 2 >= (left + right) / 2 else "left"
        lanes[side] += 1
        offset = GAP_X / 2 + LANE * (lanes[side] - 1)
        x_side = right + offset if side == "right" else left - offset
        below, above = row_bottom[row[source]] + GAP_Y / 2, row_top[row[target]] - GAP_Y / 2
        paths[(source, target)] = [start, (x0, below), (x_side, below), (x_side, above), (x1, above), end]
    return paths


def crosses(
    start: tuple[float, float], end: tuple[float, float], centre: tuple[float, float], size: tuple[float, float]
) -> bool:
    """Whether the straight line from start to end runs through a box (or within a few points of it)."""
    t = np.linspace(0.0, 1.0, 101)
    x, y = start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])
    half_w, half_h = size[0] / 2 + 4, size[1] / 2 + 4
    return bool(np.any((np.abs(x - centre[0]) < half_w) & (np.abs(y - centre[1]) < half_h)))


def box_size(box: Box) -> tuple[float, float]:
    """Width and height of a box, in points."""
    width = max(MIN_BOX_WIDTH, max(map(len, box.lines)) * CHAR_WIDTH + 2 * PAD_X)
    return width, len(box.lines) * LINE_HEIGHT + 2 * PAD_Y


# --- drawing (matplotlib) --------------------------------------------------------------------


def draw(
    spec: Spec,
    findings: Iterable[Finding],
    heading: str,
    form: str,
    link: Callable[[str], str] | None = None,
) -> bytes:
    """The graph as an SVG or PNG file's bytes (``form``: "svg" or "png").

    ``link(name)``, if given, makes each box a link (SVG only): the HTML report's boxes
    jump to the layer's section (the report lets clicks on a box's text through to it).
    """
    matplotlib(f"drawing the graph as {form.upper()}")
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as Polyline  # pathlib's Path is the module's

    drawn = boxes(spec, findings)
    sizes = {name: box_size(box) for name, box in drawn.items()}
    centres = layout(spec, sizes)
    paths = routes(spec, centres, sizes)
    frames = block_frames(spec, centres, sizes)
    xs = [x for name in drawn for x in (centres[name][0] - sizes[name][0] / 2, centres[name][0] + sizes[name][0] / 2)]
    xs += [x for points in paths.values() for x, _ in points]
    xs += [x for _, (x0, _, x1, _) in frames for x in (x0, x1)]
    left, right = min(xs), max(xs)
    legend_width = _legend_width()
    width = max(right - left, len(heading) * CHAR_WIDTH * TITLE_SIZE / FONT_SIZE, legend_width) + 2 * MARGIN
    bottom = max([centres[n][1] + sizes[n][1] / 2 for n in drawn] + [y1 for _, (_, _, _, y1) in frames])
    head, foot = 2.2 * LINE_HEIGHT, 2.4 * LINE_HEIGHT
    height = bottom + head + foot + 2 * MARGIN
    middle = (left + right) / 2
    _check_pixels(spec, form, width, height)

    with drawing(f"drawing the graph as {form.upper()}", _RC):
        figure = Figure(figsize=(width / 72, height / 72))
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_xlim(middle - width / 2, middle + width / 2)
        axes.set_ylim(bottom + foot + MARGIN, -head - MARGIN)  # y grows downwards, as the layout's
        axes.set_axis_off()
        axes.text(middle, -head / 2 - MARGIN / 2, heading, ha="center", va="center", fontsize=TITLE_SIZE)
        for edge, points in paths.items():
            axes.add_patch(
                FancyArrowPatch(
                    path=Polyline(points),
                    linestyle="--" if edge in spec.delayed else "-",  # through a Delay: to the next step
                    arrowstyle="-|>",
                    mutation_scale=9,
                    color="#555555",
                    linewidth=0.9,
                    joinstyle="round",
                    zorder=1,
                )
            )
        for unit in spec.units:
            _draw_unit(axes, spec, unit, centres, sizes)
        for block, frame in frames:
            _draw_frame(axes, block, frame)
        for name, box in drawn.items():
            _draw_box(axes, box, centres[name], sizes[name], link(name) if link else None)
        _draw_legend(axes, middle - legend_width / 2, bottom + foot / 2 + MARGIN / 2)
        picture = _save(figure, form)
    return with_tooltips(picture, drawn) if form == "svg" else picture


def block_frames(
    spec: Spec, centres: Mapping[str, tuple[float, float]], sizes: Mapping[str, tuple[float, float]]
) -> list[tuple[RepeatBlock, tuple[float, float, float, float]]]:
    """A frame (left, top, right, bottom) around each repeat block's boxes, a block around inner
    blocks framed wider for each level of them, so frames nest without touching and each has a
    strip of its own at the left for its label."""
    blocks = drawn_blocks(spec)
    parents, _ = nesting(blocks)
    levels = dict.fromkeys(range(len(blocks)), 0)
    for inner in reversed(range(len(blocks))):  # inner blocks come after the blocks around them
        if (outer := parents[inner]) is not None:
            levels[outer] = max(levels[outer], levels[inner] + 1)
    frames = []
    for j, block in enumerate(blocks):
        side, pad = FRAME_SIDE * (levels[j] + 1), FRAME_PAD * (levels[j] + 1)
        frames.append(
            (
                block,
                (
                    min(centres[n][0] - sizes[n][0] / 2 for n in block.layers) - side,
                    min(centres[n][1] - sizes[n][1] / 2 for n in block.layers) - pad,
                    max(centres[n][0] + sizes[n][0] / 2 for n in block.layers) + side,
                    max(centres[n][1] + sizes[n][1] / 2 for n in block.layers) + pad,
                ),
            )
        )
    return frames


def _draw_frame(axes, block: RepeatBlock, frame: tuple[float, float, float, float]) -> None:
    """A repeat block as a dashed bracket around its boxes, its count (``RepeatStart x3``) written
    upwards in the frame's left strip, from its top, where no arrow runs."""
    from matplotlib.patches import FancyBboxPatch

    left, top, right, bottom = frame
    axes.add_patch(
        FancyBboxPatch(
            (left, top),
            right - left,
            bottom - top,
            boxstyle="round,pad=0,rounding_size=6",
            facecolor="none",
            edgecolor="#555555",
            linestyle="--",
            linewidth=0.9,
            zorder=0,
        )
    )
    axes.text(
        left + FRAME_SIDE / 2,
        top + FRAME_PAD,
        block.label,
        rotation=90,
        ha="center",
        va="top",
        fontsize=FONT_SIZE - 1.5,
        color="#1b2631",
        zorder=3,
    )


def element_id(name: str) -> str:
    """A layer's name as an XML name, for SVG and HTML ids and the links to them: a written name is an
    identifier, but expanded ones hold '/' (units: Fire/Squeeze) and '[k]' (repeats: Conv[0]), which
    XML names may not. '/' becomes '.', '[k]' '-k' (neither '.' nor '-' is in an identifier, so two
    names never share an id), anything else '-uXXXX-'."""
    out = []
    for char in name:
        if char.isascii() and (char.isalnum() or char == "_"):
            out.append(char)
        else:
            out.append({"/": ".", "[": "-", "]": ""}.get(char, f"-u{ord(char):04x}-"))
    return "".join(out)


def box_id(name: str) -> str:
    """The SVG id of a layer's box (its texts' ids add -text-N)."""
    return f"layer-box-{element_id(name)}"


def with_tooltips(svg: bytes, drawn: Mapping[str, Box]) -> bytes:
    """The SVG with each box's tooltip as a <title> in the box's group and in each of its texts' groups,
    which browsers show on hover (a text drawn over the box would otherwise hide the box's)."""
    text = svg.decode("utf-8")
    for name, box in drawn.items():
        title = f"<title>{html.escape(box.tooltip)}</title>"
        for group in (box_id(name), *(f"{box_id(name)}-text-{i}" for i in range(len(box.lines)))):
            opening = f'<g id="{group}">'
            text = text.replace(opening, opening + title, 1)
    return text.encode("utf-8")


_RC = {
    "font.family": "monospace",
    "font.monospace": ["DejaVu Sans Mono"],  # ships with matplotlib: the same metrics everywhere
    "svg.fonttype": "none",  # text stays text: searchable, selectable, and smaller
    "svg.hashsalt": "nnspec",  # the same ids on every run: the same file for the same spec
}


def _draw_box(axes, box: Box, centre: tuple[float, float], size: tuple[float, float], url: str | None) -> None:
    from matplotlib.patches import FancyBboxPatch

    (x, y), (w, h) = centre, size
    fill, edge = COLOURS[box.severity]
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0,rounding_size=5",
        facecolor=fill,
        edgecolor=edge,
        linewidth=1.8 if box.findings else 1.0,
        zorder=2,
    )
    patch.set_url(url)
    patch.set_gid(box_id(box.name))
    axes.add_patch(patch)
    finding_lines = len(box.lines) - len(dict.fromkeys(f.check for f in box.findings))
    for i, line in enumerate(box.lines):
        axes.text(
            x,
            y - h / 2 + PAD_Y + (i + 0.5) * LINE_HEIGHT,
            line,
            ha="center",
            va="center",
            fontsize=FONT_SIZE,
            fontweight="bold" if i == 0 else "normal",
            color=edge if i >= finding_lines else "#1b2631",
            zorder=3,
            gid=f"{box_id(box.name)}-text-{i}",
        )


def _draw_unit(axes, spec: Spec, unit: str, centres, sizes) -> None:
    """A dashed rectangle around a unit's boxes, its name at its top left; a nested unit's lies inside
    its caller's, which is drawn a little wider for each level of units it holds."""
    from matplotlib.patches import Rectangle

    members = [name for name in spec.units[unit].layers if name in centres]
    if not members:
        return
    depth = max((u.count("/") - unit.count("/") for u in spec.units if u.startswith(unit + "/")), default=0)
    pad = 5.0 + 6.0 * depth
    left = min(centres[n][0] - sizes[n][0] / 2 for n in members) - pad
    right = max(centres[n][0] + sizes[n][0] / 2 for n in members) + pad
    top = min(centres[n][1] - sizes[n][1] / 2 for n in members) - pad - LINE_HEIGHT
    bottom = max(centres[n][1] + sizes[n][1] / 2 for n in members) + pad
    axes.add_patch(
        Rectangle((left, top), right - left, bottom - top, fill=False, linestyle="--", edgecolor="#7f8c8d", zorder=0.5)
    )
    axes.text(
        left + 3,
        top + LINE_HEIGHT / 2 + 1,
        printable(unit_label(spec, unit)),
        ha="left",
        va="center",
        fontsize=FONT_SIZE,
        color="#566573",
        zorder=0.5,
    )


def _legend_entries() -> Sequence[str]:
    return (*SEVERITIES, CLEAN)


def _legend_width() -> float:
    return sum(len(LABELS[s]) * CHAR_WIDTH + 22 for s in _legend_entries())


def _draw_legend(axes, x: float, y: float) -> None:
    from matplotlib.patches import Rectangle

    for severity in _legend_entries():
        fill, edge = COLOURS[severity]
        axes.add_patch(Rectangle((x, y - 4.5), 9, 9, facecolor=fill, edgecolor=edge, linewidth=1.2))
        axes.text(x + 13, y, LABELS[severity], va="center", fontsize=FONT_SIZE - 0.5, color="#444444")
        x += len(LABELS[severity]) * CHAR_WIDTH + 22


def _save(figure, form: str) -> bytes:
    buffer = io.BytesIO()
    # No date (SVG) nor software version (PNG) in the file: the same spec gives the same bytes.
    metadata = {"Date": None} if form == "svg" else {"Software": None}
    figure.savefig(buffer, format=form, dpi=PNG_DPI, metadata=metadata, backend=SAVE_BACKENDS[form])
    return buffer.getvalue()


# --- files ---------------------------------------------------------------------------------------


def check_graph_path(path: Path, force: bool) -> str:
    """The format a graph file's name asks for ("dot", "svg" or "png"), once the file is known to be
    writable (and, without ``force``, new); a UsageError otherwise."""
    wrong = "cannot write '{suffix}' pictures: use .dot (Graphviz text, no extra needed), .svg or .png"
    check_target(path, force, DOT_SUFFIXES + DRAWN_SUFFIXES, wrong)
    suffix = path.suffix.lower()
    return "dot" if suffix in DOT_SUFFIXES else suffix[1:]


def check_drawable(spec: Spec) -> None:
    """A UsageError for a graph too large to draw: its time and memory grow faster than its layers
    (4,400 layers took 250 s and 1.17 GB; 1,500 each reading the Input, 500 s and 10 GB)."""
    layers, arrows = len(spec.layers), spec.graph.number_of_edges()
    if layers > MAX_DRAWN_LAYERS or arrows > MAX_DRAWN_ARROWS:
        too_many = f"{layers} layers" if layers > MAX_DRAWN_LAYERS else f"{arrows} arrows"
        raise UsageError(
            f"{spec.file}: {too_many} are too many to draw (at most {MAX_DRAWN_LAYERS} layers and "
            f"{MAX_DRAWN_ARROWS} arrows): write the graph as DOT (-o FILE.dot), which has no limit, and lay it "
            "out with Graphviz (dot -Tsvg)"
        )


def _check_pixels(spec: Spec, form: str, width: float, height: float) -> None:
    """A UsageError for a PNG of more than MAX_PNG_PIXELS (``width`` and ``height`` in points): a
    spec of 300 layers each reading its Input drew 3,333 x 31,768 pixels in 530 MB."""
    pixels = round(width * PNG_DPI / 72) * round(height * PNG_DPI / 72)
    if form == "png" and pixels > MAX_PNG_PIXELS:
        raise UsageError(
            f"{spec.file}: its graph would be a PNG of {pixels:,} pixels, more than {MAX_PNG_PIXELS:,}: "
            "write it as SVG (-o FILE.svg) or DOT (-o FILE.dot)"
        )


def render(spec: Spec, findings: Sequence[Finding], heading: str, form: str, collapse_units: bool = False) -> bytes:
    """The graph file's bytes in ``form`` ("dot", "svg" or "png"); ``collapse_units``: each unit one box."""
    if collapse_units:
        spec, findings = collapse_units_of(spec, findings)
    if form == "dot":
        return to_dot(spec, findings, heading).encode("utf-8")
    check_drawable(spec)
    return draw(spec, findings, heading, form)
