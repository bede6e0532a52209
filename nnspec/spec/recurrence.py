"""Recurrence: NNC's RecurrentInput, RecurrentOutput, Delay and LSTM, unrolled over the sequence.

Part of the expansion stage (nnspec.spec.expand): it takes the written layers and gives the layers
that run, before they are wired. Its semantics are nnabla's (``NnpExpander.expand_recurrent`` and
``ProtoNetwork.expand_loop_control``, which run NNC's exports):

- a recurrent loop is a RecurrentInput, a RecurrentOutput downstream of it (the nearest one no
  nearer RecurrentInput claims), and every layer on a path from the one to the other, the paths
  through a Delay included;
- it runs once per step, T times, T the length of the RecurrentInput's input along its axis (known
  only once the shapes before the loop are: they are inferred here first);
- at step t the RecurrentInput gives its input's slice t along the axis (nnabla's Split), each
  layer of the loop runs as its copy ``Name_ID[t]`` (nnabla's name: ID is the RecurrentInput's
  name, NNC's recurrent id), and the RecurrentOutput stacks the copies of its input (nnabla's Stack,
  under the RecurrentOutput's own name, so the layers after the loop read it unchanged);
- a Delay at step 0 gives its Initial (its copy ``Delay_ID[0]`` reads it), at step t > 0 its input's
  value at step t-1: the layers reading it then read that copy directly, as nnabla's expander wires
  them, so a Delay has no layer of its own after step 0;
- the copies SHARE their parameters: NNC writes a loop's parameters without a repeat id
  (``Affine_2/affine/W``) and nnabla keeps that one name for every step, so a copy's
  parameter_scope is its written layer's.

A Delay's input is a layer later in the step: the written graph has a cycle through each Delay, the
only cycle a network may have. Any other cycle is left to wiring, which reports it naming its layers.

An LSTM layer is NNC's LSTM unit (settings/NNabla/layer_component/Unit/LSTM.sdcproj): it is first
written out as the unit's layers, named ``LSTM/Affine``, ``LSTM/IGate``, ... (the unit's inner names
under the layer's), its recurrent id the LSTM's name, and its RecurrentOutput the LSTM layer itself.

Copies keep the written layer's ``index``: every error about a copy points at the line the layer is
written on, and names the copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ..core import codes
from ..core.diagnostics import DiagnosticList
from ..core.printable import quoted_name
from ..layers.catalog import LayerType, format_shape, layer_types
from ..layers.loop import (
    DELAY,
    DELAY_START,
    LSTM,
    RECURRENT_INPUT,
    RECURRENT_OUTPUT,
    RECURRENT_TYPES,
    STACKED_STEPS,
    STEP,
)
from .expand import pair_markers
from .expressions import Unusable, Value
from .graph import execution_order, infer_shapes
from .model import Layer, ParameterSource, TargetSource

# The most layers the loops may unroll to (as nnspec.spec.expand's cap for repeats).
MAX_UNROLLED_LAYERS = 20_000


def step_name(name: str, loop_id: str, step: int) -> str:
    """A written layer's copy at one step, as nnabla names it: ``Affine_RecurrentInput[3]``."""
    return f"{name}_{loop_id}[{step}]"


@dataclass
class Loop:
    """One recurrent loop: a RecurrentInput, its RecurrentOutput and the written layers between them."""

    start: Layer  # the RecurrentInput
    end: Layer  # the RecurrentOutput
    body: frozenset[str]  # the layers between them, Delays included
    loop_id: str  # nnabla's recurrent id: the RecurrentInput's name, or an LSTM's
    length: int = 0  # the number of steps, once known

    @property
    def title(self) -> str:
        return f"the recurrent loop from '{self.start.name}' to '{self.end.name}'"

    def delays(self, layers: Mapping[str, Layer]) -> list[str]:
        return [name for name in self.body if layers[name].type is DELAY]


@dataclass
class Recurrence:
    """How the written layers were unrolled."""

    written: dict[str, Layer]  # the layers as written, LSTMs written out as their units' layers
    loops: list[Loop]
    copies: dict[str, tuple[str, tuple[int]]] = field(default_factory=dict)  # copy -> (written name, (step,))
    # The edges that carry a value from one step to the next (through a Delay): the pictures dash them.
    delayed: set[tuple[str, str]] = field(default_factory=set)

    def loop_of(self, name: str) -> Loop | None:
        return next((loop for loop in self.loops if name in loop.body or name == loop.start.name), None)

    def output(self, name: str) -> tuple[str | None, str]:
        """What ``outputs: [name]`` names once unrolled, or a problem ("" if none)."""
        loop = self.loop_of(name)
        if loop is None or name in self.copies:
            return name, ""
        if self.written[name].type is DELAY:
            return None, (
                f"outputs names Delay '{name}', which has no layer of its own after step 0: name the layer it "
                f"delays, one of its copies such as '{self.written[name].inputs[0]}_{loop.loop_id}[0]'"
            )
        last = step_name(name, loop.loop_id, loop.length - 1)
        return None, (
            f"outputs names '{name}', which is inside {loop.title}: its copies are "
            f"{step_name(name, loop.loop_id, 0)} to {last}; name one of them (e.g. '{last}', the last step's), "
            f"or '{loop.end.name}' for every step's"
        )


def has_recurrence(layers: Mapping[str, Layer]) -> bool:
    return any(layer.type.name in RECURRENT_TYPES for layer in layers.values())


def unroll(
    layers: dict[str, Layer],
    diagnostics: DiagnosticList,
    arguments: Mapping[str, Value | Unusable],
) -> tuple[dict[str, Layer], Recurrence | None]:
    """The layers with every recurrent loop unrolled, and how (None: no recurrent layer). When the
    loops are invalid (each problem reported), the recurrent layers and the loops' layers are left
    out, so that wiring and shapes report what else is wrong and nothing that follows from it."""
    if not has_recurrence(layers):
        return layers, None
    written, loop_ids = _lstms_written_out(layers, diagnostics)
    recurrence = Recurrence(written, [])
    if not nx.is_directed_acyclic_graph(_graphs(written)[1]):
        # a cycle not through a Delay: wiring reports it, naming its layers, once the cycles through
        # the Delays, which a network may have, are out of its way
        return {name: layer for name, layer in written.items() if layer.type is not DELAY}, recurrence
    loops = _loops(written, loop_ids, diagnostics)
    if loops is None:
        return _without_loops(written), recurrence
    recurrence.loops = loops
    expanded = dict(written)
    for n, loop in enumerate(loops):  # upstream loops first: a loop's length may depend on one before it
        length = _length(loop, expanded, arguments, diagnostics)
        if length is None:
            return _without_loops(written), recurrence
        loop.length = length
        if not _small_enough(loops[: n + 1], diagnostics):
            return _without_loops(written), recurrence
        expanded = _unrolled(loop, expanded, recurrence)
    return expanded, recurrence


# --- the LSTM unit ------------------------------------------------------------------------------

# NNC's LSTM unit, layer by layer: (inner name, type, inputs), inputs in NNC's link order; "<input>" is
# the LSTM's input, H and C are the Delays of h and c (their Initial: the LSTM's H and C).
LSTM_GATES = ("Affine", "IGate", "FGate", "OGate")  # its Affine layers, whose parameters NNC names by them
LSTM_UNIT: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("RecurrentInput", "RecurrentInput", ("<input>",)),
    ("H", "Delay", ("Mul2_3",)),
    ("C", "Delay", ("Add2",)),
    ("Concatenate", "Concatenate", ("H", "RecurrentInput")),  # [h_{t-1}, x_t]
    ("Affine", "Affine", ("Concatenate",)),
    ("Tanh", "Tanh", ("Affine",)),  # g
    ("IGate", "Affine", ("Concatenate",)),
    ("Sigmoid", "Sigmoid", ("IGate",)),  # i
    ("Mul2", "Mul2", ("Sigmoid", "Tanh")),  # i * g
    ("FGate", "Affine", ("Concatenate",)),
    ("Sigmoid_2", "Sigmoid", ("FGate",)),  # f
    ("Mul2_2", "Mul2", ("Sigmoid_2", "C")),  # f * c_{t-1}
    ("Add2", "Add2", ("Mul2", "Mul2_2")),  # c_t
    ("Tanh_2", "Tanh", ("Add2",)),
    ("OGate", "Affine", ("Concatenate",)),
    ("Sigmoid_4", "Sigmoid", ("OGate",)),  # o
    ("Mul2_3", "Mul2", ("Sigmoid_4", "Tanh_2")),  # h_t
)


def _lstms_written_out(
    layers: dict[str, Layer], diagnostics: DiagnosticList
) -> tuple[dict[str, Layer], dict[str, str]]:
    """The layers with each LSTM written out as NNC's unit, and each unit's recurrent id (the LSTM's
    name) by its RecurrentInput."""
    written: dict[str, Layer] = {}
    loop_ids: dict[str, str] = {}
    for name, layer in layers.items():
        if layer.type is not LSTM:
            written[name] = layer
            continue
        if layer.expressions:  # the unit is written out before shapes are known, so its properties must be
            diagnostics.add(
                f"layer {layer.title} writes {', '.join(sorted(layer.expressions))} as an expression; an LSTM's "
                "properties must be values (its unit's layers are written out before the shapes are known)",
                ("layers", layer.index, sorted(layer.expressions)[0]),
                code=codes.EXPRESSION,
                layer=name,
            )
            continue
        if len(layer.inputs) != 1:
            diagnostics.add(
                f"layer {layer.title} takes exactly 1 input; got {len(layer.inputs)} ({', '.join(layer.inputs)})",
                ("layers", layer.index, "input"),
                code=codes.ARITY,
                layer=name,
            )
            continue
        unit = _lstm_unit(layer)
        written.update(unit)
        loop_ids[f"{name}/RecurrentInput"] = name
    return written, loop_ids


def _lstm_unit(lstm: Layer) -> dict[str, Layer]:
    types = layer_types()
    size, axis = list(lstm.props["size"]), lstm.props["axis"]
    scope = lstm.parameter_scope
    props: dict[str, dict[str, Any]] = {
        "RecurrentInput": {"axis": axis},
        "H": {"size": size},
        "C": {"size": size},
        "Concatenate": {"axis": axis},
        **{gate: {"out_shape": size, "parameter_scope": f"{scope}/{gate}"} for gate in LSTM_GATES},
    }
    initial = {"H": lstm.targets["H"], "C": lstm.targets["C"]}
    unit = {}
    for inner, type_name, sources in LSTM_UNIT:
        name = f"{lstm.name}/{inner}"
        inputs = [lstm.inputs[0] if s == "<input>" else f"{lstm.name}/{s}" for s in sources]
        layer = _layer(types[type_name], name, inputs, props.get(inner, {}), lstm.index)
        if inner in initial:
            layer.targets = {"Initial": initial[inner]}
        unit[name] = layer
    unit[lstm.name] = _layer(RECURRENT_OUTPUT, lstm.name, [f"{lstm.name}/Mul2_3"], {"axis": axis}, lstm.index)
    return unit


def _layer(layer_type: LayerType, name: str, inputs: list[str], given: Mapping[str, Any], index: int) -> Layer:
    """A layer of the catalog's defaults but for ``given``, as if written at ``index``."""
    props = {p.name: p.normalize(given.get(p.name, p.default)) for p in layer_type.properties}
    params = {p.name: ParameterSource(p.initializer, p.multiplier) for p in layer_type.parameters}
    targets = {t.name: TargetSource(t.dataset, t.generator, t.multiplier) for t in layer_type.targets}
    return Layer(name, layer_type, props, inputs, params, index, {}, targets)


# --- the loops, and what makes them invalid -----------------------------------------------------


def _graphs(layers: Mapping[str, Layer]) -> tuple[nx.DiGraph, nx.DiGraph]:
    """The written graph (every input and side input) and the step graph: the same without the edges
    into a Delay from its input, which carry a value to the next step."""
    whole: nx.DiGraph[str] = nx.DiGraph()
    whole.add_nodes_from(layers)
    step: nx.DiGraph[str] = nx.DiGraph()
    step.add_nodes_from(layers)
    for layer in layers.values():
        for source in [*layer.inputs, *layer.side_inputs().values()]:
            if source in layers:
                whole.add_edge(source, layer.name)
                if not (layer.type is DELAY and source in layer.inputs):
                    step.add_edge(source, layer.name)
    return whole, step


def _loops(layers: dict[str, Layer], loop_ids: Mapping[str, str], diagnostics: DiagnosticList) -> list[Loop] | None:
    """Every loop, upstream loops first; None if one is invalid (each problem reported)."""
    if not _one_input_each(layers, diagnostics):
        return None
    whole, step = _graphs(layers)
    order = list(nx.lexicographical_topological_sort(step, key=lambda n: layers[n].index))
    starts = [n for n in order if layers[n].type is RECURRENT_INPUT]
    ends = [n for n in order if layers[n].type is RECURRENT_OUTPUT]
    pairs, unpaired = pair_markers(order, starts, ends, whole)
    ok = not unpaired
    for end in unpaired:
        diagnostics.add(
            f"RecurrentOutput '{end}' has no RecurrentInput upstream: a recurrent loop is a RecurrentInput, "
            "the layers run at each step, then a RecurrentOutput; add a RecurrentInput before the first of them",
            ("layers", layers[end].index),
            code=codes.RECURRENCE,
            layer=end,
        )
    loops = [  # in the order their RecurrentOutputs run, as pair_markers took them
        Loop(
            layers[start],
            layers[end],
            frozenset((nx.descendants(whole, start) & upstream) - {start, end}),
            loop_ids.get(start, start),
        )
        for start, (end, upstream) in pairs.items()
    ]
    for start in starts:
        claimed = next((loop for loop in loops if loop.end.name in nx.descendants(whole, start)), None)
        if start not in pairs and claimed is not None:
            diagnostics.add(
                f"RecurrentInput '{start}' leads to RecurrentOutput '{claimed.end.name}', whose loop starts at "
                f"RecurrentInput '{claimed.start.name}': a recurrent loop has one RecurrentInput (nnspec unrolls no "
                "loop inside another; to step through two sequences together, concatenate them before one "
                "RecurrentInput)",
                ("layers", layers[start].index),
                code=codes.RECURRENCE,
                layer=start,
            )
            ok = False
        elif start not in pairs:
            diagnostics.add(
                f"RecurrentInput '{start}' has no RecurrentOutput downstream: add "
                "{name: RecurrentOutput, type: RecurrentOutput} after the last layer of the step",
                ("layers", layers[start].index),
                code=codes.RECURRENCE,
                layer=start,
            )
            ok = False
    if not ok:
        return None
    ok = _apart(loops, layers, diagnostics)
    ok = _delays_inside(loops, layers, diagnostics) and ok
    ok = _read_only_inside(loops, layers, whole, diagnostics) and ok
    return loops if ok else None


def _one_input_each(layers: Mapping[str, Layer], diagnostics: DiagnosticList) -> bool:
    """RecurrentInput, RecurrentOutput and Delay take exactly one input each (wiring never sees them)."""
    ok = True
    for layer in layers.values():
        if layer.type in (RECURRENT_INPUT, RECURRENT_OUTPUT, DELAY) and len(layer.inputs) != 1:
            got = ", ".join(layer.inputs) if layer.inputs else "none"
            diagnostics.add(
                f"layer {layer.title} takes exactly 1 input; got {len(layer.inputs)} ({got})",
                ("layers", layer.index, "input") if layer.inputs else ("layers", layer.index),
                code=codes.ARITY,
                layer=layer.name,
            )
            ok = False
    return ok


def _apart(loops: list[Loop], layers: Mapping[str, Layer], diagnostics: DiagnosticList) -> bool:
    ok = True
    for n, loop in enumerate(loops):
        for other in loops[:n]:
            shared = (loop.body | {loop.start.name}) & (other.body | {other.start.name, other.end.name})
            if shared:
                names = ", ".join(sorted(shared, key=lambda s: layers[s].index))
                diagnostics.add(
                    f"{loop.title} overlaps {other.title} (they share {names}): recurrent loops must lie "
                    "apart; nnspec does not unroll a loop inside another",
                    ("layers", loop.start.index),
                    code=codes.RECURRENCE,
                    layer=loop.start.name,
                )
                ok = False
    return ok


def _delays_inside(loops: list[Loop], layers: Mapping[str, Layer], diagnostics: DiagnosticList) -> bool:
    """Every Delay is in a loop, with its input in the same loop and its Initial from outside it."""
    ok = True
    inside = {name: loop for loop in loops for name in loop.body}
    for layer in layers.values():
        if layer.type is not DELAY:
            continue
        if layer.props["size"] is None and "size" not in layer.expressions:
            diagnostics.add(
                f"Delay {layer.title} needs size: the shape of the value it carries to the next step (its "
                "input's shape; NNC writes it)",
                ("layers", layer.index),
                code=codes.RECURRENCE,
                layer=layer.name,
            )
            ok = False
        loop = inside.get(layer.name)
        source = layer.inputs[0]
        if loop is None or (source not in loop.body and source != loop.start.name):
            diagnostics.add(
                f"Delay {layer.title} reads {quoted_name(source)}, which is not in a recurrent loop with it: "
                "a Delay gives "
                "the value its input had at the step before, so it and its input must lie on a path from a "
                "RecurrentInput to its RecurrentOutput",
                ("layers", layer.index, "input"),
                code=codes.RECURRENCE,
                layer=layer.name,
            )
            ok = False
            continue
        initial = layer.targets["Initial"].input
        if initial is not None and (initial in loop.body or initial == loop.start.name):
            diagnostics.add(
                f"Initial of Delay {layer.title} comes from '{initial}', which is inside {loop.title}: the value "
                "at step 0 comes from before the loop (a layer outside it, data, or a generator)",
                ("layers", layer.index, "Initial", "input"),
                code=codes.RECURRENCE,
                layer=layer.name,
            )
            ok = False
    return ok


def _read_only_inside(
    loops: list[Loop], layers: Mapping[str, Layer], whole: nx.DiGraph, diagnostics: DiagnosticList
) -> bool:
    """No layer outside a loop reads a layer inside it: after the loop, its RecurrentOutput holds every step."""
    ok = True
    for loop in loops:
        inside = loop.body | {loop.start.name}
        for source in sorted(inside, key=lambda n: layers[n].index):
            for reader in sorted(whole.successors(source), key=lambda n: layers[n].index):
                if reader in inside or reader == loop.end.name:
                    continue
                if layers[reader].type is DELAY:  # a Delay that reads it but leads nowhere: reported there
                    continue
                diagnostics.add(
                    f"layer {layers[reader].title} reads {quoted_name(source)}, which is inside {loop.title}, "
                    "but does not "
                    f"lead to '{loop.end.name}': a loop's layers run once per step; after the loop, read "
                    f"'{loop.end.name}' (every step's value)",
                    _reading(layers[reader], source),
                    code=codes.RECURRENCE,
                    layer=reader,
                )
                ok = False
    return ok


def _reading(layer: Layer, source: str) -> tuple:
    for pin, named in layer.side_inputs().items():
        if named == source and source not in layer.inputs:
            return ("layers", layer.index, pin, "input")
    if len(layer.inputs) > 1:
        return ("layers", layer.index, "input", layer.inputs.index(source))
    return ("layers", layer.index, "input")


def _without_loops(layers: dict[str, Layer]) -> dict[str, Layer]:
    """The layers less the recurrent ones and every layer reading one, directly or not: what is left
    is wired and checked as usual, and nothing is said of what the invalid loops would have given."""
    whole, _ = _graphs(layers)
    dropped = {name for name, layer in layers.items() if layer.type.name in RECURRENT_TYPES}
    for name in list(dropped):
        dropped |= nx.descendants(whole, name)
    return {name: layer for name, layer in layers.items() if name not in dropped}


# --- the number of steps ------------------------------------------------------------------------


def _length(
    loop: Loop,
    layers: dict[str, Layer],
    arguments: Mapping[str, Value | Unusable],
    diagnostics: DiagnosticList,
) -> int | None:
    """How many steps a loop runs: its input's length along the RecurrentInput's axis. The shapes of
    the layers before the loop are inferred on copies of them (their errors are reported by the shape
    inference of the whole network later); None if that shape is unknown or the axis out of range."""
    source = loop.start.inputs[0]
    if source not in layers:
        return None
    step_graph = _graphs(layers)[1]
    needed = nx.ancestors(step_graph, source) | {source}
    before = {name: dataclasses.replace(layers[name]) for name in layers if name in needed}
    graph = step_graph.subgraph(before)
    scratch = DiagnosticList(diagnostics.file, diagnostics.source_map)  # the whole network's inference reports
    infer_shapes(execution_order(graph, before), before, scratch, arguments)
    shape = before[source].shape
    if shape is None:
        return None
    axis = loop.start.props["axis"]
    if axis >= len(shape):
        diagnostics.add(
            f"layer {loop.start.title} receives {source} {format_shape(shape)}: axis {axis} is out of range; "
            f"the time steps run along one of its axes 0 to {len(shape) - 1} (batch axis excluded)",
            ("layers", loop.start.index, "axis"),
            code=codes.SHAPE,
            layer=loop.start.name,
        )
        return None
    return shape[axis]


def _small_enough(loops: list[Loop], diagnostics: DiagnosticList) -> bool:
    count = sum(loop.length * (len(loop.body) + 1) for loop in loops)
    if count <= MAX_UNROLLED_LAYERS:
        return True
    longest = max(loops, key=lambda loop: loop.length * (len(loop.body) + 1))
    diagnostics.add(
        f"the recurrent loops unroll to {count:,} layers; nnspec runs at most {MAX_UNROLLED_LAYERS:,}: "
        f"{longest.title} runs {longest.length:,} steps",
        ("layers", longest.start.index),
        code=codes.RECURRENCE,
        layer=longest.start.name,
    )
    return False


# --- unrolling ----------------------------------------------------------------------------------


def _unrolled(loop: Loop, layers: dict[str, Layer], recurrence: Recurrence) -> dict[str, Layer]:
    """The layers with one loop unrolled: its copies, step after step, where its RecurrentInput is
    written; its RecurrentOutput reading every step's copy of its input."""
    members = [name for name in layers if name in loop.body or name == loop.start.name]
    unrolled: dict[str, Layer] = {}
    for name, layer in layers.items():
        if name == loop.start.name:
            for t in range(loop.length):
                for member in members:
                    copy = _copy(loop, layers[member], t, layers, recurrence)
                    if copy is not None:
                        unrolled[copy.name] = copy
                        recurrence.copies[copy.name] = (member, (t,))
        elif name == loop.end.name:
            inputs = [_resolve(loop, layer.inputs[0], t, layers, None, recurrence) for t in range(loop.length)]
            unrolled[name] = dataclasses.replace(layer, type=STACKED_STEPS, inputs=inputs)
        elif name not in loop.body:
            unrolled[name] = layer
    return unrolled


def _copy(loop: Loop, layer: Layer, t: int, layers: Mapping[str, Layer], recurrence: Recurrence) -> Layer | None:
    name = step_name(layer.name, loop.loop_id, t)
    if layer.type is RECURRENT_INPUT:
        return dataclasses.replace(layer, name=name, props={**layer.props, STEP: t})
    if layer.type is DELAY:  # its value at step t > 0 is read from its input's copy directly
        return dataclasses.replace(layer, name=name, type=DELAY_START, inputs=[]) if t == 0 else None
    inputs = [_resolve(loop, source, t, layers, name, recurrence) for source in layer.inputs]
    targets = {
        pin: source
        if source.input is None
        else dataclasses.replace(source, input=_resolve(loop, source.input, t, layers, name, recurrence))
        for pin, source in layer.targets.items()
    }
    props = layer.props
    if layer.type.parameters:  # one set of parameters for every step: the written layer's scope
        props = {**props, "parameter_scope": layer.parameter_scope}
    return dataclasses.replace(layer, name=name, inputs=inputs, targets=targets, props=props)


def _resolve(
    loop: Loop, source: str, t: int, layers: Mapping[str, Layer], reader: str | None, recurrence: Recurrence
) -> str:
    """The layer that a reference to written layer ``source`` reads at step t."""
    if source == loop.start.name or (source in loop.body and layers[source].type is not DELAY):
        return step_name(source, loop.loop_id, t)
    if source not in loop.body:
        return source  # outside the loop: the same layer at every step
    if t == 0:
        return step_name(source, loop.loop_id, 0)  # the Delay's Initial
    delayed = _resolve(loop, layers[source].inputs[0], t - 1, layers, None, recurrence)
    if reader is not None:
        recurrence.delayed.add((delayed, reader))
    return delayed


# --- after shape inference ----------------------------------------------------------------------


def check_delay_sizes(
    recurrence: Recurrence, layers: Mapping[str, Layer], graph: nx.DiGraph, diagnostics: DiagnosticList
) -> None:
    """A Delay's size must be the shape of its input: its value at step t is the input's at t-1. A
    Delay that differs is reported once, at its size, and the shape errors it causes at later steps
    and after the loop are left out."""
    for loop in recurrence.loops:
        for delay in sorted(loop.delays(recurrence.written), key=lambda n: recurrence.written[n].index):
            written = recurrence.written[delay]
            source = _resolve(loop, written.inputs[0], 0, recurrence.written, None, recurrence)
            given = layers[source].shape if source in layers else None
            size = tuple(written.props["size"] or ())
            if given is None or given == size:
                continue
            path = ("layers", written.index, "size")
            diagnostics.add(
                f"Delay {written.title} has size {format_shape(size)}, but its input '{written.inputs[0]}' gives "
                f"{format_shape(given)} at each step: a Delay carries its input's value to the next step, so its "
                "size must be its input's shape",
                path if path in diagnostics.source_map.values else ("layers", written.index),
                code=codes.SHAPE,
                layer=written.name,
            )
            later = {copy for copy, (_, (t,)) in recurrence.copies.items() if t > 0 and copy in layers}
            consequences = later | nx.descendants(graph, loop.end.name) | {loop.end.name}
            diagnostics.items[:] = [
                d for d in diagnostics.items if not (d.code == codes.SHAPE and d.layer in consequences)
            ]
