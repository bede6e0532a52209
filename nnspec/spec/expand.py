"""Expansion: the spec's layers as they run, with NNC's repeats written out.

A stage between resolving the written layers (nnspec.spec.graph.resolve_layers) and wiring
them: it takes the written layers and gives the layers that run. Today it expands NNC's
RepeatStart/RepeatEnd blocks; other structure that stands for several layers (units) can
join it here, so that wiring, shapes, static analysis, runs and reports only ever see the
expanded layers.

A repeat, with nnabla's semantics (nnabla's ``NnpExpander._expand_repeat`` and
``ProtoNetwork.expand_loop_control``, run on NNC's exports):

- its body is every layer on a path from a RepeatStart to its RepeatEnd (the nearest
  RepeatEnd downstream that no nearer RepeatStart claims); inside it, reading the
  RepeatStart reads this iteration's input;
- iteration 0 reads the loop's input (the RepeatStart's input), iteration k reads iteration
  k-1's last layer (the RepeatEnd's input), and the layers reading the RepeatEnd read the
  last iteration;
- each iteration has its own copy of every body layer, named ``Name[k]``, and its own
  parameters: NNC writes a body parameter as ``Name{RepeatStart}/conv/W`` and nnabla
  replaces ``{RepeatStart}`` with ``[k]``, so the copy's parameter scope is its scope with
  ``[k]`` appended (``Name[k]``, or ``scope[k]`` when the layer sets parameter_scope);
- repeats nest: NNC writes ``Name{Outer}{Inner}``, so a copy is ``Name[i][j]``, outer
  iteration first;
- the RepeatStart and RepeatEnd layers themselves are markers: the expanded network has no
  layer for them (nnabla's expander removes them too), so reports, statistics and findings
  name only the copies.

Copies keep the written layer's ``index``: every error about a copy points at the line the
layer is written on, and names the copy.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from types import MappingProxyType
from typing import Any, Protocol

import networkx as nx

from ..core import codes
from ..core.diagnostics import Diagnostic, DiagnosticList
from ..core.printable import quoted_name
from ..layers.catalog import format_shape
from ..layers.loop import REPEAT_END, REPEAT_START
from .expressions import Unusable, Value
from .graph import evaluate_expressions
from .model import Layer, RepeatBlock

# The most layers a spec may expand to: a repeat of a repeat multiplies, and validating takes
# about 0.1 ms a layer, so 20,000 layers validate in a few seconds.
MAX_EXPANDED_LAYERS = 20_000

Iterations = tuple[int, ...]  # the iteration of each repeat around a layer, outermost first


# Why a RepeatStart's times cannot read Input: the repeats are expanded before shapes are inferred.
TIMES_NO_INPUT = (
    "a RepeatStart's times is evaluated before any shape is known (the repeats are written out first, "
    "then shapes inferred): times may read arguments (times: =n-1), not Input"
)


def repeat_times(start: Layer) -> int:
    """How many times a RepeatStart's block runs (its times, evaluated by evaluate_times when written
    as an expression)."""
    return int(start.props["times"])


def evaluate_times(
    layers: dict[str, Layer], arguments: Mapping[str, Value | Unusable], diagnostics: DiagnosticList
) -> bool:
    """Evaluate each RepeatStart's times written as an expression (NNC's ``Times=n-1``) with the
    arguments alone; False, each problem reported where it is written, if one does not evaluate."""
    evaluated = True
    for layer in layers.values():
        if layer.type is REPEAT_START and layer.expressions:
            evaluated &= evaluate_expressions(layer, [], arguments, diagnostics, no_input=TIMES_NO_INPUT)
    return evaluated


def copy_name(name: str, iterations: Iterations) -> str:
    """The name of a written layer's copy in the given iterations: Conv_5[1], Conv_5[0][2]."""
    return name + "".join(f"[{k}]" for k in iterations)


@dataclass(frozen=True)
class Repeat:
    """One RepeatStart/RepeatEnd pair and the written layers between them."""

    start: Layer
    end: Layer
    body: frozenset[str]  # every layer on a path from start to end, markers of nested repeats included

    @property
    def times(self) -> int:
        return repeat_times(self.start)

    @property
    def entry(self) -> str:
        """The layer the loop reads: what iteration 0 receives."""
        return self.start.inputs[0]

    @property
    def last(self) -> str:
        """The body's last layer: what the next iteration, and the layers after the loop, receive."""
        return self.end.inputs[0]

    @property
    def title(self) -> str:
        return f"the repeat from '{self.start.name}' to '{self.end.name}'"


@dataclass
class Expansion:
    """How the written layers became the layers that run."""

    written: dict[str, Layer]
    repeats: dict[str, Repeat]  # by RepeatStart name, outer repeats before the ones inside them
    around: dict[str, tuple[str, ...]]  # written layer -> the RepeatStarts around it, outermost first
    copies: dict[str, tuple[str, Iterations]]  # expanded name -> (written name, iterations)

    def resolve(self, name: str, iterations: Iterations) -> str:
        """The expanded layer that a reference to written layer ``name`` reads, from a layer in
        ``iterations`` (which begin with the iterations of the repeats around ``name``)."""
        own = iterations[: len(self.around[name])]
        layer = self.written[name]
        if layer.type is REPEAT_START:  # read from inside its body: this iteration's input
            repeat, k = self.repeats[name], iterations[len(own)]
            return self.resolve(repeat.entry, own) if k == 0 else self.resolve(repeat.last, own + (k - 1,))
        if layer.type is REPEAT_END:  # read from after the loop: the last iteration
            repeat = self._repeat_ending(name)
            return self.resolve(repeat.last, own + (repeat.times - 1,))
        return copy_name(name, own)

    def _repeat_ending(self, end: str) -> Repeat:
        return next(r for r in self.repeats.values() if r.end.name == end)

    def contexts(self, starts: tuple[str, ...]) -> Iterator[Iterations]:
        """Every combination of iterations of the given repeats (outermost first)."""
        return itertools.product(*(range(self.repeats[s].times) for s in starts))

    def output(self, name: str) -> tuple[str | None, str]:
        """What ``outputs: [name]`` names in the expanded network, or a problem ("" if none)."""
        if name in self.copies or name not in self.written:
            return name, ""
        layer = self.written[name]
        if layer.type is REPEAT_START:
            return None, (
                f"outputs names RepeatStart '{name}', a marker the expanded network has no layer for: "
                f"name the layer it reads, '{layer.inputs[0]}'"
            )
        if self.around[name]:
            times = [self.repeats[s].times for s in self.around[name]]
            first, last = copy_name(name, (0,) * len(times)), copy_name(name, tuple(t - 1 for t in times))
            return None, (
                f"outputs names '{name}', which is inside a repeat: its copies are {first} to {last}; "
                f"name one of them (e.g. '{last}', the last iteration's)"
            )
        if layer.type is REPEAT_END:
            return self.resolve(name, ()), ""
        return name, ""


def expand(
    layers: dict[str, Layer],
    diagnostics: DiagnosticList,
    arguments: Mapping[str, Value | Unusable] = MappingProxyType({}),
) -> tuple[dict[str, Layer], Expansion | None]:
    """The layers that run, and how they were expanded (None: nothing to expand, or the structure
    is invalid and reported: the written layers are returned, the markers passing values through,
    so that wiring and shapes report what else is wrong). ``arguments``: what a RepeatStart's times
    written as an expression reads."""
    markers = [layer for layer in layers.values() if layer.type in (REPEAT_START, REPEAT_END)]
    if not markers:
        return layers, None  # the common case costs one pass
    if not evaluate_times(layers, arguments, diagnostics):
        return layers, None
    graph = _written_graph(layers)
    if not nx.is_directed_acyclic_graph(graph) or any(len(marker.inputs) != 1 for marker in markers):
        return layers, None  # wiring reports the cycle, or the marker's number of inputs
    # A layer left out (its own error reported) or an input naming no layer (reported by wiring) can
    # cut a RepeatStart off from its RepeatEnd: nothing more is said of the repeats then, rather than
    # report an unpaired marker that is not.
    if not all(source in layers for layer in layers.values() for source in _sources(layer)):
        return layers, None
    repeats = _pair(layers, graph, diagnostics)
    if repeats is None or not _well_formed(repeats, layers, graph, diagnostics):
        return layers, None
    around = _around(layers, repeats)
    expansion = Expansion(layers, repeats, around, {})
    if not _small_enough(expansion, diagnostics):
        return layers, None
    expanded: dict[str, Layer] = {}
    top = [name for name in layers if not around[name]]
    for copy, written, iterations in _copies(expansion, top, ()):
        expansion.copies[copy.name] = (written, iterations)
        expanded[copy.name] = copy
    return expanded, expansion


def _written_graph(layers: dict[str, Layer]) -> nx.DiGraph:
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(layers)
    graph.add_edges_from(
        (source, layer.name) for layer in layers.values() for source in _sources(layer) if source in layers
    )
    return graph


def _sources(layer: Layer) -> list[str]:
    """The layers a layer reads: its inputs, and the layers feeding its side inputs (``T: {input: X}``),
    which a repeat resolves as it resolves inputs (NNC links a pin as it links an input)."""
    return [*layer.inputs, *layer.side_inputs().values()]


def _read_at(layer: Layer, source: str) -> tuple:
    """Where a layer's spec says it reads ``source``: its input (the position, if it has several), or
    the side input naming it."""
    if source in layer.inputs:
        where: tuple = ("layers", layer.index, "input")
        return where + (layer.inputs.index(source),) if len(layer.inputs) > 1 else where
    pin = next(pin for pin, named in layer.side_inputs().items() if named == source)
    return ("layers", layer.index, pin, "input")


def pair_markers(
    order: Sequence[str], starts: Sequence[str], ends: Iterable[str], graph: nx.DiGraph
) -> tuple[dict[str, tuple[str, set[str]]], list[str]]:
    """Each end marker (a RepeatEnd, a RecurrentOutput) with its start: the nearest start upstream in
    ``graph`` not yet taken, the ends taken in ``order`` (the order they run), so inner blocks pair
    first. Returns {start: (end, the end's ancestors)} and the ends with no start upstream."""
    position = {name: n for n, name in enumerate(order)}
    pairs: dict[str, tuple[str, set[str]]] = {}
    unpaired = []
    for end in ends:
        upstream = nx.ancestors(graph, end)
        candidates = [s for s in starts if s in upstream and s not in pairs]
        if candidates:
            pairs[max(candidates, key=position.__getitem__)] = (end, upstream)
        else:
            unpaired.append(end)
    return pairs, unpaired


def _pair(layers: dict[str, Layer], graph: nx.DiGraph, diagnostics: DiagnosticList) -> dict[str, Repeat] | None:
    """Each RepeatEnd paired with its RepeatStart (pair_markers); None if one is unpaired."""
    order = list(nx.lexicographical_topological_sort(graph, key=lambda n: layers[n].index))
    starts = [name for name in order if layers[name].type is REPEAT_START]
    ends = [name for name in order if layers[name].type is REPEAT_END]
    pairs, unpaired = pair_markers(order, starts, ends, graph)
    for end in unpaired:
        diagnostics.add(
            f"RepeatEnd '{end}' has no RepeatStart upstream: a repeat is a RepeatStart, the layers "
            f"it repeats, then a RepeatEnd; add a RepeatStart before the first layer to repeat",
            ("layers", layers[end].index),
            code=codes.REPEAT,
            layer=end,
        )
    for start in starts:
        if start not in pairs:
            diagnostics.add(
                f"RepeatStart '{start}' has no RepeatEnd downstream: add "
                "{name: RepeatEnd, type: RepeatEnd} after the last layer to repeat",
                ("layers", layers[start].index),
                code=codes.REPEAT,
                layer=start,
            )
    if unpaired or len(pairs) < len(starts):
        return None
    paired = {
        start: Repeat(layers[start], layers[end], frozenset(nx.descendants(graph, start) & upstream))
        for start, (end, upstream) in pairs.items()
    }
    # Outer repeats first: a repeat's body holds every repeat inside it, so it is larger.
    return dict(sorted(paired.items(), key=lambda item: (-len(item[1].body), item[1].start.index)))


def _well_formed(
    repeats: dict[str, Repeat], layers: dict[str, Layer], graph: nx.DiGraph, diagnostics: DiagnosticList
) -> bool:
    """Whether every repeat has a body, nothing outside a body reads inside it, and repeats nest."""
    ok = True
    for repeat in repeats.values():
        if repeat.last == repeat.start.name:
            diagnostics.add(
                f"{repeat.title} repeats no layer: RepeatEnd '{repeat.end.name}' reads RepeatStart "
                f"'{repeat.start.name}' directly; put the layers to repeat between them",
                ("layers", repeat.end.index),
                code=codes.REPEAT,
                layer=repeat.end.name,
            )
            ok = False
            continue
        inside = repeat.body | {repeat.start.name}
        for source in sorted(inside, key=lambda n: layers[n].index):
            for reader in sorted(graph.successors(source), key=lambda n: layers[n].index):
                if reader not in repeat.body and reader != repeat.end.name:
                    reader_layer = layers[reader]
                    diagnostics.add(
                        f"layer {reader_layer.title} reads {quoted_name(source)}, which is inside {repeat.title}, "
                        "but does "
                        f"not lead to '{repeat.end.name}': a repeat's layers are those on a path from its "
                        f"RepeatStart to its RepeatEnd; after the loop, read '{repeat.end.name}' (the last "
                        "iteration's value)",
                        _read_at(reader_layer, source),
                        code=codes.REPEAT,
                        layer=reader,
                    )
                    ok = False
    spans = {name: r.body | {r.start.name, r.end.name} for name, r in repeats.items()}
    for first, second in itertools.combinations(repeats.values(), 2):
        a, b = spans[first.start.name], spans[second.start.name]
        if a & b and not (a <= second.body or b <= first.body):
            later, other = sorted((first, second), key=lambda r: r.start.index, reverse=True)
            diagnostics.add(
                f"{later.title} overlaps {other.title}: the layers they share "
                f"({', '.join(sorted((a & b) - {later.end.name}, key=lambda n: layers[n].index))}) would "
                "run in both; "
                "a repeat must lie wholly inside another or apart from it",
                ("layers", later.start.index),
                code=codes.REPEAT,
                layer=later.start.name,
            )
            ok = False
    return ok


def _around(layers: dict[str, Layer], repeats: dict[str, Repeat]) -> dict[str, tuple[str, ...]]:
    """The RepeatStarts around each written layer, outermost first (repeats come outer first)."""
    return {name: tuple(s for s, r in repeats.items() if name in r.body) for name in layers}


def _small_enough(expansion: Expansion, diagnostics: DiagnosticList) -> bool:
    count = sum(
        prod(expansion.repeats[s].times for s in starts)
        for name, starts in expansion.around.items()
        if expansion.written[name].type not in (REPEAT_START, REPEAT_END)
    )
    if count <= MAX_EXPANDED_LAYERS:
        return True
    outermost = next(r for r in expansion.repeats.values() if not expansion.around[r.start.name])
    diagnostics.add(
        f"the repeats expand to {count:,} layers; nnspec runs at most {MAX_EXPANDED_LAYERS:,}: "
        f"lower times (here {outermost.times:,})",
        ("layers", outermost.start.index, "times"),
        code=codes.REPEAT,
        layer=outermost.start.name,
    )
    return False


def _copies(
    expansion: Expansion, members: list[str], iterations: Iterations
) -> Iterator[tuple[Layer, str, Iterations]]:
    """The copies of ``members`` (written layers directly in one scope, in written order) in
    ``iterations``; a RepeatStart among them gives its whole block, iteration after iteration."""
    for name in members:
        layer = expansion.written[name]
        if layer.type is REPEAT_START:
            depth = len(iterations) + 1
            inner = [n for n, starts in expansion.around.items() if len(starts) == depth and starts[-1] == name]
            for k in range(expansion.repeats[name].times):
                yield from _copies(expansion, inner, iterations + (k,))
        elif layer.type is not REPEAT_END:
            yield _copy(expansion, layer, iterations), name, iterations


def _copy(expansion: Expansion, layer: Layer, iterations: Iterations) -> Layer:
    inputs = [
        expansion.resolve(source, iterations) if source in expansion.written else source for source in layer.inputs
    ]
    targets = {
        pin: dataclasses.replace(source, input=expansion.resolve(source.input, iterations))
        if source.input in expansion.written
        else source
        for pin, source in layer.targets.items()
    }
    if not iterations:
        unchanged = inputs == layer.inputs and targets == layer.targets
        return layer if unchanged else dataclasses.replace(layer, inputs=inputs, targets=targets)
    # Each copy its own properties: expressions are evaluated into them, copy by copy, against the
    # input each copy receives.
    props: dict[str, Any] = dict(layer.props)
    if props.get("parameter_scope"):  # NNC's Scope{RepeatStart}: [k] appended to the scope written
        props = {**props, "parameter_scope": copy_name(props["parameter_scope"], iterations)}
    name = copy_name(layer.name, iterations)
    return dataclasses.replace(layer, name=name, inputs=inputs, props=props, targets=targets)


def repeat_blocks(expansion: Expansion) -> tuple[RepeatBlock, ...]:
    """Every run of every repeat's block, with the copies inside it: what the pictures draw as a
    bracketed block with its count. Outer blocks come before the blocks inside them."""
    blocks = []
    for start, repeat in expansion.repeats.items():
        depth = len(expansion.around[start])
        for outer in expansion.contexts(expansion.around[start]):
            inside = tuple(
                copy
                for copy, (written, iterations) in expansion.copies.items()
                if written in repeat.body and iterations[:depth] == outer
            )
            blocks.append(RepeatBlock(start, repeat.times, outer, inside))
    return tuple(blocks)


def check_repeat_shapes(
    expansion: Expansion, layers: dict[str, Layer], graph: nx.DiGraph, diagnostics: DiagnosticList
) -> None:
    """Each iteration must give back the shape it receives (NNC's rule: iteration k runs on
    iteration k-1's output). A repeat that changes it is reported once, at its RepeatEnd, and
    the shape errors this caused in later iterations and after the loop are left out. Inner repeats
    are checked first: an outer repeat around one that changes the shape is not reported again."""
    reported: list[str] = []
    for repeat in reversed(expansion.repeats.values()):
        if any(start in repeat.body for start in reported):
            continue
        around = expansion.around[repeat.start.name]
        for iterations in expansion.contexts(around):
            entry = layers[expansion.resolve(repeat.entry, iterations)]
            last = layers[expansion.resolve(repeat.last, iterations + (0,))]
            if entry.shape is None or last.shape is None or entry.shape == last.shape:
                continue
            diagnostics.add(
                f"{repeat.title} changes the shape: its first iteration receives {format_shape(entry.shape)} "
                f"from '{entry.name}' and its last layer '{last.name}' gives {format_shape(last.shape)}; each "
                "iteration runs on the previous one's output, so it must give back the shape it receives",
                ("layers", repeat.end.index),
                code=codes.SHAPE,
                layer=repeat.end.name,
            )
            consequences = nx.descendants(graph, last.name)
            diagnostics.items[:] = [
                d for d in diagnostics.items if not (d.code == codes.SHAPE and d.layer in consequences)
            ]
            reported.append(repeat.start.name)
            break


class NamesOutputs(Protocol):
    """A rewrite of the network that says what a name in ``outputs:`` becomes (Expansion, Recurrence)."""

    def output(self, name: str) -> tuple[str | None, str]: ...


def expanded_outputs(
    expansion: NamesOutputs, data: dict[str, Any], listed: list[str], diagnostics: DiagnosticList
) -> list[str]:
    """The spec's outputs in the rewritten network (repeats expanded, loops unrolled): a RepeatEnd
    stands for the last iteration's layer; a layer inside a repeat or loop must be named by one of its
    copies."""
    outputs = []
    for position, name in enumerate(listed):
        resolved, problem = expansion.output(name)
        if resolved is not None:
            outputs.append(resolved)
            continue
        where = ("outputs", position) if isinstance(data.get("outputs"), list) else ("outputs",)
        diagnostics.add(problem, where, code=codes.UNKNOWN_OUTPUT)
    return outputs


def merge_copy_diagnostics(expansion: Expansion, diagnostics: DiagnosticList) -> None:
    """One diagnostic for a problem every copy of a layer has alike (a parameter file missing for
    each of them): the first copy's, saying how many copies share it. Problems that differ from copy
    to copy (the shapes each iteration receives) stay one per copy."""
    kept: dict[tuple, int] = {}  # (path, code, message with the copy's name as written) -> position in merged
    merged: list[Diagnostic] = []
    counts: list[int] = []
    for diagnostic in diagnostics.items:
        origin = expansion.copies.get(diagnostic.layer or "")
        if origin is None or not origin[1]:
            merged.append(diagnostic)
            counts.append(1)
            continue
        key = (diagnostic.path, diagnostic.code, diagnostic.message.replace(f"'{diagnostic.layer}'", f"'{origin[0]}'"))
        if key in kept:
            counts[kept[key]] += 1
            continue
        kept[key] = len(merged)
        merged.append(diagnostic)
        counts.append(1)
    diagnostics.items[:] = [
        d if n == 1 else dataclasses.replace(d, message=f"{d.message} (the same for {n} copies of the layer)")
        for d, n in zip(merged, counts)
    ]
