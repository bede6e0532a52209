"""``--engine onnxruntime`` with numpy's forwards for the layers ONNX cannot hold: the run's graph cut
into pieces, each run by the engine that can, batch after batch.

The ONNX writer says, layer by layer, whether ONNX can hold a layer and why not
(nnspec.spec.onnx_writer.unwritable_layers); this module keeps no list of its own. Where it holds every
layer, the engine is nnspec.runtime.onnxruntime_engine's alone, on the whole spec. Otherwise the layers
are cut into pieces (:func:`pieces`): runs of layers ONNX holds and runs of layers it does not, as
few as the graph allows, in an order where a piece reads only what the pieces before it made.
Each ONNX piece is an OnnxRuntimeEngine, each other piece a NumpyEngine, on a spec of its own
(:func:`piece_spec`): the piece's layers, the spec's Input layers they read, and an Input layer in
place of each layer of another piece they read (its value handed over as that Input's data); its
outputs are its layers read elsewhere and the spec's outputs among its layers. The ONNX pieces'
sessions do not spin after a run, which would take the cores from the numpy piece after them.

The observer is shown every observed layer in numpy's order (the spec's) once the batch's pieces have
all run, each with the values it read: the pieces' engines show their layers to a recorder, whose
arrays stay valid until the batch ends (each engine runs once a batch, and neither writes over an array
it has shown while taking statistics: numpy's plans with statistics write nothing in place, onnxruntime
gives new arrays).
So statistics, findings and the report come from the same code as any run's; the run's result says which
layers ran on numpy and why (``numpy_layers``).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..checks.check import Check
from ..layers.generators import NO_GENERATOR
from ..layers.io import INPUT
from ..spec.model import Layer, Spec
from ..spec.onnx_writer import unwritable_layers
from .engine import Engine, NumpyEngine, Observer
from .onnxruntime_engine import OnnxRuntimeEngine, refuse_float64, require_engine_packages

ONNX, NUMPY = "onnxruntime", "numpy"  # who runs a piece


@dataclass(frozen=True)
class Piece:
    """Layers one engine runs together: ``layers`` in the spec's order; ``reads``, the layers of other
    pieces whose values they read; ``gives``, its layers read by other pieces or among the spec's
    outputs. The spec's Input layers belong to no piece: their values are the batch's data."""

    engine: str  # ONNX or NUMPY
    layers: tuple[str, ...]
    reads: tuple[str, ...]
    gives: tuple[str, ...]


def pieces(spec: Spec, on_numpy: Mapping[str, object]) -> list[Piece]:
    """The spec's layers (Input layers aside) cut into as few pieces as the graph allows, in an order
    they can run in: the layers in ``on_numpy`` on numpy, the others on onnxruntime; a layer that computes
    nothing (one the view bypasses, as Dropout at evaluation) joins whichever piece reaches it first.

    Each piece takes every layer of its engine whose inputs are made (by earlier pieces or itself),
    layer after layer, before the next piece, of the other engine, begins. Taking all it can, a piece
    leaves no less done than any other cut would after as many pieces, so this order, started on the
    engine that ends with fewer pieces, has the fewest there are. A piece need not be connected: two
    branches side by side on one engine are one piece (one onnxruntime session), not two."""
    names = [name for name in spec.order if not spec.layers[name].type.is_source]
    wants = {
        name: None if _computes_nothing(spec.layers[name]) else NUMPY if name in on_numpy else ONNX for name in names
    }
    cuts = [_greedy(spec, names, wants, first) for first in (ONNX, NUMPY)]
    first_layer = next((wants[name] for name in names if wants[name] is not None), ONNX)
    # the fewer pieces; as many either way: started on the engine of the spec's first layer
    fewest = min(cuts, key=lambda cut: (len(cut), bool(cut) and cut[0][0] != first_layer))
    return _bounded(spec, fewest)


def _greedy(spec: Spec, names: list[str], wants: Mapping[str, str | None], first: str) -> list[tuple[str, list[str]]]:
    """The pieces (engine, layers in the spec's order), the first on ``first``'s engine, each taking
    every layer of its engine (or of either) whose inputs are made before the next begins."""
    position = {name: n for n, name in enumerate(names)}
    reads = {name: {source for source in _read_layers(spec.layers[name]) if source in position} for name in names}
    readers: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for source in reads[name]:
            readers[source].append(name)
    waiting = {name: len(reads[name]) for name in names}
    ready = [position[name] for name in names if not waiting[name]]
    heapq.heapify(ready)
    cut: list[tuple[str, list[str]]] = []
    engine = first
    while ready:
        members: list[str] = []
        later: list[int] = []  # ready, but for the other engine: for the next piece
        while ready:
            name = names[heapq.heappop(ready)]
            if wants[name] not in (None, engine):
                later.append(position[name])
                continue
            members.append(name)
            for reader in readers[name]:
                waiting[reader] -= 1
                if not waiting[reader]:
                    heapq.heappush(ready, position[reader])
        if members:
            # layers that compute nothing alone: no onnxruntime session for them, but numpy's piece, the
            # one before or the next (the next phase is numpy's: nothing else of this one was ready)
            kind = engine if any(wants[name] is not None for name in members) else NUMPY
            if cut and cut[-1][0] == kind:
                members = cut.pop()[1] + members
            cut.append((kind, sorted(members, key=position.__getitem__)))
        for at in later:
            heapq.heappush(ready, at)
        engine = NUMPY if engine == ONNX else ONNX
    assert sum(len(members) for _, members in cut) == len(names), "a validated spec's graph has no cycle"
    return cut


def _bounded(spec: Spec, cut: list[tuple[str, list[str]]]) -> list[Piece]:
    """The pieces with what each reads from the others and gives them (or the run, as its outputs)."""
    owner = {name: k for k, (_, members) in enumerate(cut) for name in members}
    read_elsewhere: set[str] = set()
    made = []
    for k, (engine, members) in enumerate(cut):
        outside = [
            source
            for name in members
            for source in _read_layers(spec.layers[name])
            if source in owner and owner[source] != k
        ]
        read_elsewhere.update(outside)
        made.append((engine, members, tuple(dict.fromkeys(outside))))
    outputs = set(spec.outputs)
    return [
        Piece(engine, tuple(members), reads, tuple(n for n in members if n in read_elsewhere or n in outputs))
        for engine, members, reads in made
    ]


def _read_layers(layer: Layer) -> list[str]:
    """The layers whose values a layer reads: its inputs, then the layers feeding its side inputs."""
    return [*layer.inputs, *layer.side_inputs().values()]


def _computes_nothing(layer: Layer) -> bool:
    """A layer the view bypasses: its value is its input's, in either engine."""
    return bool(layer.type.skip_at_test and layer.props.get("skip_at_test"))


def handed_over(layer: str) -> str:
    """The data variable carrying a layer's value into a later piece: ':' is in no layer's or data
    variable's name, nor in a tensor the ONNX writer names after a layer."""
    return f"{layer}:value"


def piece_spec(spec: Spec, piece: Piece) -> Spec:
    """The spec one piece's engine runs: an Input layer for each layer of another piece it reads (named
    as that layer, reading :func:`handed_over`'s variable), first; the spec's Input layers it reads; its own
    layers; its outputs those it gives."""
    own = set(piece.layers)
    inputs = [
        source
        for name in piece.layers
        for source in _read_layers(spec.layers[name])
        if source not in own and spec.layers[source].type.is_source
    ]
    layers = {name: _input_for(spec.layers[name]) for name in piece.reads}
    layers.update((name, spec.layers[name]) for name in dict.fromkeys(inputs))
    layers.update((name, spec.layers[name]) for name in piece.layers)
    order = tuple(layers)
    return replace(spec, layers=layers, order=order, outputs=list(piece.gives), graph=spec.graph.subgraph(order))


def _input_for(producer: Layer) -> Layer:
    """An Input layer standing for another piece's layer: its name, its shape, its value as data."""
    props = {prop.name: prop.default for prop in INPUT.properties}
    props.update(size=list(producer.inferred_shape), dataset=handed_over(producer.name), generator=NO_GENERATOR)
    return Layer(producer.name, INPUT, props, [], {}, producer.index, shape=producer.inferred_shape)


class MixedEngine:
    """The spec's pieces run one after another, each by its engine; see the module's docstring.
    ``numpy_layers`` names the layers numpy ran, each with why ONNX could not hold it."""

    def __init__(
        self,
        spec: Spec,
        parameters: dict[str, dict[str, np.ndarray]],
        observed: Mapping[str, list[Check]] | None,
        variables: list[str],
        on_numpy: Mapping[str, str],
    ) -> None:
        self.spec = spec
        self.numpy_layers = dict(on_numpy)
        self.pieces = pieces(spec, on_numpy)
        self._parts: list[tuple[Piece, Engine]] = []
        for piece in self.pieces:
            sub = piece_spec(spec, piece)
            watched = None if observed is None else {n: observed[n] for n in piece.layers if n in observed}
            given = [*variables, *map(handed_over, piece.reads)]
            own = {n: parameters.get(n, {}) for n in sub.layers}
            if piece.engine == ONNX:
                # threads that spin after a run would take the cores from the numpy piece that follows
                engine: Engine = OnnxRuntimeEngine(sub, own, watched, given, spinning=False)
            else:
                engine = NumpyEngine(sub, own, watched, given)
            self._parts.append((piece, engine))
        self._shown = [spec.layers[name] for name in spec.order if observed is not None and name in observed]

    def batch(self, data: Mapping[str, np.ndarray], observe: Observer | None) -> dict[str, np.ndarray]:
        values: dict[str, Any] = dict(data)  # the batch's data, and each handed-over layer's value
        made: dict[str, Any] = {}
        seen: dict[str, tuple[list[Any], Any]] = {}

        def record(layer: Layer, args: list[Any], output: Any) -> None:
            seen[layer.name] = (args, output)

        for piece, engine in self._parts:
            given = engine.batch(values, None if observe is None else record)
            made.update(given)
            values.update((handed_over(name), given[name]) for name in piece.gives)
        if observe is not None:
            for layer in self._shown:
                if layer.type.is_source:  # as numpy's engine shows it: the data, read and given
                    seen[layer.name] = ([data[layer.dataset]], data[layer.dataset])
                args, output = seen[layer.name]
                observe(layer, args, output)
        layers = self.spec.layers
        return {name: made[name] if name in made else data[layers[name].dataset] for name in self.spec.outputs}


def onnxruntime_engine(
    spec: Spec,
    parameters: dict[str, dict[str, np.ndarray]],
    observed: Mapping[str, list[Check]] | None,
    variables: list[str],
) -> Engine:
    """The engine ``--engine onnxruntime`` names: onnxruntime's on the whole spec where ONNX holds every
    layer, else the spec's pieces, the layers it cannot hold on numpy (:class:`MixedEngine`).
    A float64 spec is refused: onnxruntime would compute it in float32 (the model nnspec writes)."""
    on_numpy = onnxruntime_numpy_layers(spec)
    if not on_numpy:
        return OnnxRuntimeEngine(spec, parameters, observed, variables)
    return MixedEngine(spec, parameters, observed, variables, on_numpy)


def onnxruntime_numpy_layers(spec: Spec) -> dict[str, str]:
    """The layers :func:`onnxruntime_engine` leaves to numpy, each with why, known without building it (a run on
    a cluster's workers, whose engines are theirs). A float64 spec is refused, as the engine refuses it."""
    require_engine_packages()
    refuse_float64(spec)  # not run on numpy instead: docs/onnx.md says why
    return unwritable_layers(spec)
