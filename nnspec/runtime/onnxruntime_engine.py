"""An engine on onnxruntime: the spec written as an ONNX model once (nnspec.spec.onnx_writer), run by
onnxruntime on the CPU, batch after batch (``nnspec run --engine onnxruntime``).

The model is the one ``nnspec convert -o model.onnx`` writes, with the run's parameters as its
initializers. Without statistics one InferenceSession runs it whole and gives the output layers.
With statistics the observer must see every observed layer's value and its inputs' (the writer names
each layer's value tensor after the layer), and it is shown the layers in the order numpy's engine
shows them (nnspec.runtime.plan's: the spec's order), each with the values of what it reads. So
statistics, findings and outputs come from the same code as numpy's run, the values from onnxruntime.

How a run with statistics is fast (benchmarks/engines.py measures each choice; docs/onnx.md has the
figures):

- **Segments.** The graph is cut, at layer boundaries only, into up to ``SEGMENTS`` consecutive
  sub-graphs of about equal output values, each its own session with one intra-op thread; a segment's
  outputs are the layers' values it makes that the observer or a later segment reads. Each layer's
  value must come out of onnxruntime either way (as a graph output of one session or of a segment),
  and onnxruntime optimises a segment of a few layers better: on the CNN of benchmarks/peers.py it
  converts fewer values between its blocked NCHWc layout and NCHW (3 conversions against 6 in one
  session with every value out). Batches from ``SEGMENTED_VALUES`` values on run the segments.
- **Small batches.** Below ``SEGMENTED_VALUES``, a session call a segment costs more than it saves:
  one session giving every value, with onnxruntime's threads, runs the batch (made only where a batch
  of one sample is below that, so never for a network that large).
- **Pipelining, off by default.** With ``pipelined = True``, a second thread runs the segments one
  after another (onnxruntime releases the GIL) while the calling thread observes the layers of the
  segments already computed. The same sessions compute the same values from the same inputs either
  way: outputs, statistics and findings are the same to the bit. On this project's 2 shared cores it
  was slower (the CNN at batch 256: 2.0x the time in the calling thread, median of 100 paired calls
  under load; the MLP at batch 1024: 1.13x): it can gain only where a core is free for it.
- **Memory.** A layer's value is let go once the last layer that reads it has been observed and no
  later segment takes it, as numpy's engine frees a tensor after its last reader; a thread runs at
  most two segments ahead of the one being observed, so that slow statistics do not make it hold
  every layer's value of the batch at once; and sessions that give every layer's value run without
  onnxruntime's memory arena (see ``_options``).

A spec with a layer the writer refuses is refused here, one UsageError naming every such layer: the engine
``--engine onnxruntime`` names (nnspec.runtime.mixed) runs this one on the whole spec, or on each
piece of layers the writer holds and numpy's forwards on the rest. onnxruntime computes in float32, as
the writer writes: a float64 spec is refused (:func:`refuse_float64`).
"""

from __future__ import annotations

import queue
import threading
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np

from ..checks.check import Check
from ..core.diagnostics import UsageError
from ..core.extras import optional_module
from ..spec.model import Spec
from ..spec.onnx_writer import layer_tensors, onnx_module, refuse_unwritable, write_onnx
from .engine import Observer
from .plan import layer_reads

SEGMENTS = 8  # at most this many segments: a session call each, a few layers in each
SEGMENTED_VALUES = 1 << 21  # values onnxruntime gives a batch, from which it runs the segments
SUBGRAPHS = (5, 10)  # onnx.AttributeProto.GRAPH and GRAPHS: attributes holding a sub-graph (Loop, If, Scan)


def onnxruntime_module() -> Any:
    """The onnxruntime package, imported when first needed; a UsageError saying how to install it when absent."""
    return optional_module("onnxruntime", "onnx", "--engine onnxruntime")


def require_engine_packages() -> None:
    """Both packages the engine needs (onnx writes the model, onnxruntime runs it), asked for before any
    work, so that a missing one is said as the engine's need rather than as a step's inside it."""
    optional_module("onnx", "onnx", "--engine onnxruntime")
    onnxruntime_module()


def refuse_float64(spec: Spec) -> None:
    """A UsageError for a spec of another dtype than float32: the model nnspec writes computes in float32."""
    if np.dtype(spec.dtype) != np.float32:
        raise UsageError(
            f"{spec.file}: --engine onnxruntime runs float32 (the ONNX model nnspec writes); "
            f"this spec's dtype is {spec.dtype}: run it with --engine numpy"
        )


@dataclass(frozen=True)
class Segment:
    """Consecutive nodes of the model as a session of their own: the tensors it takes (graph inputs or
    earlier segments' outputs), those it gives, and those no later segment takes once it has run."""

    session: Any
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    done_with: tuple[str, ...]


class OnnxRuntimeEngine:
    """The spec's ONNX model run by onnxruntime (CPU); see the module's docstring."""

    def __init__(
        self,
        spec: Spec,
        parameters: dict[str, dict[str, np.ndarray]],
        observed: Mapping[str, list[Check]] | None,
        variables: list[str],
        *,
        spinning: bool = True,
    ) -> None:
        """``spinning=False``: the session's threads sleep as soon as a run ends, rather than spin a while
        for the next one (onnxruntime's default), which takes the cores from numpy's work between the
        runs of a mixed engine (nnspec.runtime.mixed; benchmarks/mixed.py measures it)."""
        refuse_unwritable(spec)  # before anything is imported or written: the layers named first
        refuse_float64(spec)
        onnx = onnx_module()
        ort = onnxruntime_module()
        self.spec = spec
        self._tensor = layer_tensors(spec)
        # What the observer is shown, in numpy's order: each observed layer and the keys of what it reads.
        self._shown = [
            (spec.layers[name], layer_reads(spec.layers[name], variables))
            for name in spec.order
            if observed is not None and name in observed
        ]
        model = onnx.load_from_string(write_onnx(spec, parameters))
        self._inputs = sorted(value.name for value in model.graph.input)
        kept = [self._tensor[name] for name in spec.outputs]
        wanted = _unique(
            self._tensor[key] for layer, reads in self._shown for key in (*reads, layer.name) if key in self._tensor
        )
        # The tensors the observer reads, each counted once per observation that reads it: the
        # batch lets one go when its count reaches 0 (an output layer's it keeps).
        self._readers = Counter(
            self._tensor[key] for shown in self._shown for key in _keys(shown) if key in self._tensor
        )
        self._kept = frozenset(kept)
        values = {self._tensor[name]: prod(spec.layers[name].inferred_shape) for name in spec.order}
        self._values_per_sample = sum(values.get(tensor, 0) for tensor in wanted)
        cuts = _cuts(model, self._inputs, wanted, values, SEGMENTS) if self._shown else [len(model.graph.node)]
        self._segmented = len(cuts) > 1
        fetched = [*kept, *wanted]
        self.segments = _segments(
            onnx, model, cuts, self._inputs, fetched, _options(ort, bool(self._shown), self._segmented, spinning)
        )
        # Batches too small for segments: one session giving every value, onnxruntime's threads (a session
        # call a segment costs more there than it saves); made where a batch of one sample is that small.
        self._whole: list[Segment] = []
        if self._segmented and self._values_per_sample < SEGMENTED_VALUES:
            end = [len(model.graph.node)]
            self._whole = _segments(onnx, model, end, self._inputs, fetched, _options(ort, True, False, spinning))
        # Whether a second thread runs the segments while this one takes the statistics (the module's text)
        self.pipelined = False

    @property
    def session(self) -> Any:
        """The first segment's session (the only one in a run without statistics)."""
        return self.segments[0].session

    def batch(self, data: Mapping[str, np.ndarray], observe: Observer | None) -> dict[str, np.ndarray]:
        feeds = {name: np.ascontiguousarray(data[name], dtype=np.float32) for name in self._inputs}
        values: dict[str, Any] = dict(feeds)
        readers = self._readers.copy()

        def value(key: str) -> Any:
            """A layer's value, or a data variable's (``data:x``), as numpy's engine holds them."""
            if key in self._tensor:
                return values[self._tensor[key]]
            return data[key.removeprefix("data:")]

        samples = len(next(iter(feeds.values()))) if feeds else 1
        computed: Iterator[dict[str, Any]]
        if self._whole and samples * self._values_per_sample < SEGMENTED_VALUES:
            computed = _computed(self._whole, feeds, self.spec.file)
        elif self._segmented and self.pipelined:
            computed = _Ahead(_computed(self.segments, feeds, self.spec.file))
        else:
            computed = _computed(self.segments, feeds, self.spec.file)
        waiting = deque(self._shown)
        try:
            for made in _after_each(computed):
                values.update(made)
                # each layer as soon as all it reads is there (the data first of all), in order
                while waiting and all(self._ready(key, values) for key in _keys(waiting[0])):
                    layer, reads = waiting.popleft()
                    if observe is not None:
                        observe(layer, [value(key) for key in reads], value(layer.name))
                    self._let_go(values, readers, _keys((layer, reads)), feeds)
        finally:
            _close(computed)  # a thread still running stops after its segment
        return {name: value(name) for name in self.spec.outputs}

    def _ready(self, key: str, values: Mapping[str, Any]) -> bool:
        """Whether what ``key`` names is there: a layer's value once made, a data variable's always."""
        return key not in self._tensor or self._tensor[key] in values

    def _let_go(
        self, values: dict[str, Any], readers: Counter[str], keys: Sequence[str], feeds: Mapping[str, Any]
    ) -> None:
        """The values no later observation reads, unless the batch gives them back or was given them."""
        for key in keys:
            tensor = self._tensor.get(key)
            if tensor is None:
                continue
            readers[tensor] -= 1
            if readers[tensor] == 0 and tensor not in self._kept and tensor not in feeds:
                del values[tensor]


def _after_each(computed: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Nothing made yet (the data alone), then each segment's outputs."""
    yield {}
    yield from computed


def _close(computed: Iterator[Any]) -> None:
    close = getattr(computed, "close", None)
    if close is not None:
        close()


def _keys(shown: tuple[Any, tuple[str, ...]]) -> tuple[str, ...]:
    """What showing a layer reads: its reads and its own value, each once."""
    layer, reads = shown
    return tuple(dict.fromkeys((*reads, layer.name)))


def _computed(segments: Sequence[Segment], feeds: Mapping[str, np.ndarray], file: Any) -> Iterator[dict[str, Any]]:
    """Each segment's outputs by tensor, segment after segment, each computed from the feeds and the
    earlier segments' outputs; a tensor no later segment takes is let go once its last taker has run."""
    live: dict[str, Any] = dict(feeds)
    for segment in segments:
        try:
            made = segment.session.run(segment.outputs, {name: live[name] for name in segment.inputs})
        except Exception as error:  # onnxruntime's own exception types (pybind11's): any is the batch's failure
            raise UsageError(
                f"{file}: onnxruntime could not run a batch: {_reason(error)}; numpy's engine "
                "(--engine numpy) runs it and reports such values as findings"
            ) from None
        outputs = dict(zip(segment.outputs, made))
        live.update(outputs)
        for name in segment.done_with:
            live.pop(name, None)
        yield outputs


class _Ahead(Iterator[Any]):
    """``items`` computed one after another in a thread of their own while the caller takes them:
    the caller gets them in order, and any exception ``items`` raises where it would have met it.
    The thread waits while one item it made waits for the caller (a queue of one), so no more than
    three items are alive at once however slow the caller is: the caller's, the waiting one, the one
    being made. ``close()`` asks the thread to
    stop after the item it is computing, and waits for it."""

    _DONE = object()

    def __init__(self, items: Iterator[Any]) -> None:
        self._queue: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name="nnspec-onnxruntime", daemon=True)
        self._thread.start()

    def _run(self, items: Iterator[Any]) -> None:
        while not self._stop.is_set():  # asked before each item is made: close() waits for one at most
            try:
                item = next(items)
            except StopIteration:
                item = self._DONE
            except BaseException as error:  # handed to the caller's thread, raised there
                self._queue.put((None, error))
                return
            self._queue.put((item, None))
            if item is self._DONE:
                return

    def __next__(self) -> Any:
        item, error = self._queue.get()
        if error is not None:
            raise error
        if item is self._DONE:
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # what it still hands over is taken, so that it never waits to put
            try:
                self._queue.get(timeout=0.01)
            except queue.Empty:
                pass
        self._thread.join()


def _options(ort: Any, observed: bool, segmented: bool, spinning: bool = True) -> Any:
    """Session options: onnxruntime's own, but for its log (fatal only: a batch it cannot run is
    reported by the engine); where every layer's value comes out (``observed``), no memory arena: an
    arena keeps the most a session ever held, which for sessions giving every layer's value is the
    whole batch's values, for as long as the engine lives (the light ResNet-50 at batch 8 peaked at
    2.8 GiB with it, 1.6 GiB without; benchmarks/engines.py --resnet50); and for the segments, one
    intra-op thread that does not spin: as fast for them, and the other core is left to numpy (or to
    the statistics, where a second thread runs the segments). ``spinning=False``: no session's threads
    spin (the pieces of a mixed run)."""
    options = ort.SessionOptions()
    options.log_severity_level = 4
    if observed:
        options.enable_cpu_mem_arena = False
    if segmented:
        options.intra_op_num_threads = 1
    if segmented or not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _cuts(model: Any, inputs: Sequence[str], wanted: Sequence[str], values: Mapping[str, int], most: int) -> list[int]:
    """Where to cut the model's nodes into at most ``most`` segments (each cut the index of the node
    after a segment's last; the last cut is the node count): only where every tensor that crosses
    the cut is a graph input or a ``wanted`` tensor (a layer's value: never a layer's inner helper
    tensor), and so that each segment makes about the same number of wanted ``values`` (a tensor's
    per sample), which is what the statistics' time follows."""
    nodes = list(model.graph.node)
    wanted_set = set(wanted)
    total = sum(values.get(name, 0) for name in wanted_set) or 1
    last_read = {name: k for k, node in enumerate(nodes) for name in node.input if name}
    if any(attribute.type in SUBGRAPHS for node in nodes for attribute in node.attribute):
        return [len(nodes)]  # a sub-graph may read any tensor of the graph around it: no cut
    crossing: set[str] = set()
    made, cuts = 0, list[int]()
    for k, node in enumerate(nodes):
        crossing |= {name for name in node.output if last_read.get(name, -1) > k}
        crossing -= {name for name in crossing if last_read[name] <= k}
        made += sum(values.get(name, 0) for name in node.output if name in wanted_set)
        share = total * (len(cuts) + 1) / most
        if k + 1 < len(nodes) and made >= share and crossing <= wanted_set | set(inputs):
            cuts.append(k + 1)
    return [*cuts, len(nodes)]


def _segments(
    onnx: Any, model: Any, cuts: Sequence[int], inputs: Sequence[str], fetched: Sequence[str], options: Any
) -> list[Segment]:
    """The model's nodes cut at ``cuts`` (see :func:`_cuts`), each part a session; a segment gives the
    ``fetched`` tensors it makes and those a later segment takes."""
    ort = onnxruntime_module()
    helper, graph = onnx.helper, model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    spans = list(zip([0, *cuts[:-1]], cuts))
    parts = [list(graph.node[start:stop]) for start, stop in spans]
    taken = [{name for node in part for name in node.input if name and name not in initializers} for part in parts]
    made = [{name for node in part for name in node.output} for part in parts]
    later = [set().union(*taken[k + 1 :]) for k in range(len(parts))]
    fetched_set = set(fetched)
    segments = []
    available = set(inputs)
    for k, part in enumerate(parts):
        needs = tuple(sorted(taken[k] - made[k]))
        gives = tuple(_unique(name for node in part for name in node.output if name in fetched_set or name in later[k]))
        if len(parts) == 1:
            gives = tuple(_unique(name for name in fetched if name in made[k]))
        if not gives:
            continue  # nothing of it is read (a model of no nodes)
        used = _unique(name for node in part for name in node.input if name in initializers)
        sub = helper.make_graph(
            part,
            f"{graph.name}:{k}",
            [_float(onnx, name) for name in needs],
            [_float(onnx, name) for name in gives],
            [initializers[name] for name in used],
        )
        sub_model = helper.make_model(sub, opset_imports=model.opset_import, producer_name=model.producer_name)
        sub_model.ir_version = model.ir_version
        session = ort.InferenceSession(
            sub_model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
        )
        available |= made[k]
        done_with = tuple(sorted(name for name in available if name not in later[k]))
        segments.append(Segment(session, needs, gives, done_with))
    return segments


def _float(onnx: Any, name: str) -> Any:
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)


def _unique(names: Any) -> list[str]:
    return list(dict.fromkeys(names))


def _reason(error: Exception) -> str:
    """onnxruntime's message without its code prefix: ``[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : ...``."""
    return str(error).rsplit(" : ", 1)[-1].strip()
