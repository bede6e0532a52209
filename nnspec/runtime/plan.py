"""A batch's plan: the layers in order, what each reads, when each tensor dies, and which layers may
write over their input; and, for runs without statistics, the plan as one Python function.

A batch's tensors live in a list, each at its own slot: data variables first, then every layer's
output. A step reads slots and writes its own; the tensors it is the last to read are freed after it
(liveness, from the graph), except output layers', which the run keeps.

Why a generated function: in a deep net of small layers, a layer's numpy work is a microsecond or
two (a 32-wide Affine at batch 32), and a loop over the steps that unpacks each one, looks up its
inputs and frees what died costs a third of that again. The same steps written out as straight-line
code, a statement or two per layer with the tensors in local variables, cost only the calls
themselves: the run is then as fast as the same network written in numpy by hand (see
benchmarks/peers.py). The code is made from the plan's structure alone (slot numbers and which
steps write in place); the layers' functions, properties and parameters are handed to the factory
that makes it, never written into its text, so no name or value from a spec can change what it does.
"""

from __future__ import annotations

import linecache
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any, NamedTuple

import numpy as np

from ..checks.check import Check
from ..core.diagnostics import NnspecError
from ..core.printable import quoted_name
from ..layers.catalog import Bound, Forward
from ..spec.model import Layer, Spec, TargetSource


@dataclass(frozen=True, slots=True)
class Step:
    """One layer's part in a batch, everything it needs looked up beforehand. Read by name: a
    field added or moved cannot shift what a reader takes (slots keep the reads as fast as a
    tuple's)."""

    forward: Forward
    bound: Bound | None  # the layer's own forward (LayerType.bind), in a plan for runs without statistics
    props: dict[str, Any]
    params: dict[str, np.ndarray]
    reads: tuple[int, ...]  # the slots of the tensors it takes: data or layer outputs
    slot: int  # where its output goes
    frees: tuple[int, ...]  # slots of the tensors it is the last to read (output layers' are kept)
    in_place: Callable[..., np.ndarray] | None  # where it may write over its only input, nothing else reading it
    hands_over: bool  # its output goes to such a layer, which may write over it if the run owns it
    checks: list[Check] | None  # the checks measured on it (None: no statistics)
    layer: Layer


class Plan(NamedTuple):
    """The steps of a batch and where its tensors live. In a plan for runs without statistics,
    ``forward(tensors)`` runs them all: ``tensors`` holds the data at its slots and gets the output
    layers' values at theirs."""

    steps: list[Step]
    slots: dict[str, int]  # layer name or data_key(variable) -> slot
    data: tuple[int, ...]  # the slots of the data, in the order of the variables given to make_plan
    forward: Callable[[list[Any]], None] | None  # None in a plan for runs with statistics


def data_key(variable: str) -> str:
    """How a data variable's batch is keyed among the tensors: ':' is not allowed in layer names."""
    return f"data:{variable}"


def make_plan(
    spec: Spec,
    order: Sequence[str],
    parameters: dict[str, dict[str, np.ndarray]],
    measured: dict[str, list[Check]],
    statistics: bool,
    data_variables: list[str],
) -> Plan:
    """The steps of a batch, layers in ``order``: what each reads, and which tensors die after it.
    ``measured`` gives each measured layer's checks. Without ``statistics``, layers may write over
    an input that nothing else reads (statistics read a layer's input after it ran, and on another
    thread), and the plan gets its function."""
    own = {name for name in order if _makes_own_values(spec.layers[name]) and data_variables}
    reads = {name: layer_reads(spec.layers[name], data_variables) for name in order}
    slots = {key: slot for slot, key in enumerate([*map(data_key, data_variables), *order])}
    last_reader = {tensor: name for name in order for tensor in reads[name]}
    readings = Counter(tensor for name in order for tensor in reads[name])
    outputs = set(spec.outputs)

    def writes_over_input(name: str) -> bool:
        (source, *more) = reads[name] or ("",)
        return (
            not statistics
            and spec.layers[name].type.in_place is not None
            and not more
            and source in spec.layers  # a layer's output, never the caller's data
            and readings[source] == 1
            and source not in outputs
        )

    over = {name for name in order if writes_over_input(name)}
    handed_over = {reads[name][0] for name in over}  # the outputs those layers may write over
    steps = [
        Step(
            forward=_sized_to_batch(_forward(spec.layers[name])) if name in own else _forward(spec.layers[name]),
            bound=_bind(spec.layers[name], parameters[name]) if not statistics and name not in own else None,
            props=spec.layers[name].props,
            params=parameters[name],
            reads=tuple(slots[tensor] for tensor in reads[name]),
            slot=slots[name],
            frees=tuple(
                dict.fromkeys(
                    slots[t] for t in reads[name] if last_reader[t] == name and t not in outputs and t in spec.layers
                )
            ),
            in_place=spec.layers[name].type.in_place if name in over else None,
            hands_over=name in handed_over,
            checks=measured.get(name),
            layer=spec.layers[name],
        )
        for name in order
    ]
    data = tuple(slots[data_key(variable)] for variable in data_variables)
    kept = tuple(slots[name] for name in spec.outputs)
    return Plan(steps, slots, data, None if statistics else _function(steps, data, kept))


def layer_reads(layer: Layer, data_variables: Sequence[str]) -> tuple[str, ...]:
    """What a layer reads, keyed as a batch's tensors are (a layer's name, or ``data_key(variable)``): a
    source layer its data variable; a layer that makes its values reading nothing the batch's first
    data variable, for its size; every other its inputs; then its side inputs, in pin order."""
    if layer.type.is_source:
        main: tuple[str, ...] = (data_key(layer.dataset),)
    elif _makes_own_values(layer) and data_variables:
        main = (data_key(data_variables[0]),)
    else:
        main = tuple(layer.inputs)
    return main + tuple(_side_read(layer, pin, source) for pin, source in layer.targets.items())


def _makes_own_values(layer: Layer) -> bool:
    """A layer reading neither a layer nor data (a Parameter, a WorkingMemory linked to nothing): its
    forward gives a batch of one (nnspec.layers.memory)."""
    return not layer.type.is_source and not layer.inputs and not layer.targets


def _sized_to_batch(forward: Forward) -> Forward:
    """The forward of such a layer, its batch of one repeated for each sample of the batch it is handed."""

    def sized(inputs: Sequence[np.ndarray], props: Mapping[str, Any], params: Mapping[str, np.ndarray]) -> np.ndarray:
        one = forward([], props, params)
        return np.ascontiguousarray(np.broadcast_to(one, (len(inputs[0]), *one.shape[1:])))

    sized.__doc__ = forward.__doc__
    return sized


def _side_read(layer: Layer, pin: str, source: TargetSource) -> str:
    """What a side input reads: its layer's output, or its data variable (a generated one's own)."""
    variable = source.variable(layer.name, pin)
    if variable is None:
        assert source.input is not None, "a side input without data is a layer's output"
        return source.input
    return data_key(variable)


def _bind(layer: Layer, params: dict[str, np.ndarray]) -> Bound | None:
    bind = layer.type.bind
    if bind is None or layer.fed_parameters():  # a parameter a layer gives changes with each batch
        return None
    return bind(layer.props, params)


def _forward(layer: Layer) -> Forward:
    """The layer type's forward; for a layer given a parameter by another layer (``W: {input: LAYER}``),
    one that takes that layer's output from its reads (read as side inputs are, after its inputs) and
    passes it on as the parameter."""
    fed = layer.fed_parameters()
    if not fed:
        return layer.type.forward
    forward, title = layer.type.forward, layer.title
    first = len(layer.inputs)
    at = {pin: first + k for k, pin in enumerate(layer.targets) if pin in fed}  # where each is read
    kept = [k for k in range(first + len(layer.targets)) if k not in at.values()]

    def with_fed_parameters(
        inputs: Sequence[np.ndarray], props: Mapping[str, Any], params: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        given = dict(params)
        for pin, k in at.items():
            given[pin] = batch_parameter(inputs[k], pin, title, fed[pin])
        return forward([inputs[k] for k in kept], props, given)

    return with_fed_parameters


def batch_parameter(output: np.ndarray, pin: str, title: str, source: str) -> np.ndarray:
    """A parameter's value from a layer's output for a batch: its first sample, the same in every
    sample (a parameter has one value for the whole batch: a layer computed from data cannot be one)."""
    value = output[0]
    if len(output) > 1 and not np.array_equal(output, np.broadcast_to(value, output.shape), equal_nan=True):
        raise NnspecError(
            f"parameter {pin} of layer {title} is the output of layer {quoted_name(source)}, whose samples differ in "
            "this batch: "
            "a parameter has one value for every sample, so the layer giving it must not compute from data "
            "(NNC feeds a parameter pin from a Parameter layer)"
        )
    return value


def owns(output: np.ndarray, inputs: list[np.ndarray], params: Mapping[str, np.ndarray]) -> bool:
    """Whether a layer's output is an array of its own: not a view of anything, not one of its
    inputs or parameters returned as it is. Only then may a later layer write over it."""
    if not isinstance(output, np.ndarray) or output.base is not None or not output.flags.writeable:
        return False
    # Identity, not equality: loops, since this runs once a layer and generators cost more.
    for given in inputs:
        if output is given:
            return False
    for parameter in params.values():
        if output is parameter:
            return False
    return True


# --- the plan as a function ----------------------------------------------------------------------


def _function(steps: list[Step], data: tuple[int, ...], kept: tuple[int, ...]) -> Callable[[list[Any]], None]:
    """The steps as one function of the batch's tensors (see the module's docstring). Its code is
    made once for each structure of plan (which slots each step reads, writes and frees, and which
    steps write in place) and given this plan's functions, properties and parameters."""
    make = _factory(_structure(steps, data, kept), steps)
    given = (value for s in steps for value in (s.bound or s.forward, s.props, s.params, s.in_place))
    return make(owns, *given)


def _structure(steps: list[Step], data: tuple[int, ...], kept: tuple[int, ...]) -> tuple:
    """What the text of a plan's function depends on, and nothing else."""
    return (
        data,
        kept,
        tuple(
            (s.reads, s.slot, s.frees, s.bound is not None, s.in_place is not None, s.hands_over, _fresh(s), _kind(s))
            for s in steps
        ),
    )


def _fresh(step: Step) -> bool:
    return step.layer.type.fresh_output


def _kind(step: Step) -> str:
    """The layer type's name for a comment in the code: the catalog's, never a spec's text."""
    return step.layer.type.name if step.layer.type.name.isidentifier() else "layer"


def source_of(steps: list[Step], data: tuple[int, ...], kept: tuple[int, ...]) -> str:
    """The text of the function a plan runs as, inside a factory ``make`` that takes each step's
    function, properties, parameters and in-place function: tensor ``t<slot>`` in a local variable,
    and, for the outputs a layer may write over, ``owned<slot>``: whether the run owns that array.

    One statement per layer, written as the layer's step in the statistics loop does it:

            # step 1: Affine
            t3 = forward1([t2])                 # bound to its layer (LayerType.bind): inputs only
            owned3 = True                       # it makes its output (fresh_output); else owns(...)
            del t2                              # t2's last reader: freed
            # step 2: Tanh
            if owned3:                          # Tanh may write over its input if the run owns it
                t4 = in_place2(t3, out=t3)
            else:
                t4 = forward2([t3], props2, params2)
            del t3
    """
    arguments = ", ".join(f"forward{k}, props{k}, params{k}, in_place{k}" for k in range(len(steps)))
    lines = [f"def make(owns, {arguments}):", "    def batch(tensors):"]
    lines += [f"        t{slot} = tensors[{slot}]" for slot in data]
    for k, step in enumerate(steps):
        output, args = f"t{step.slot}", "[" + ", ".join(f"t{slot}" for slot in step.reads) + "]"
        call = f"({args})" if step.bound is not None else f"({args}, props{k}, params{k})"
        lines.append(f"        # step {k}: {_kind(step)}")
        if step.in_place is not None:
            source = step.reads[0]
            lines += [f"        if owned{source}:", f"            {output} = in_place{k}(t{source}, out=t{source})"]
            lines += [f"            owned{step.slot} = True"] if step.hands_over else []
            lines += ["        else:", f"            {output} = forward{k}{call}"]
            lines += [f"            owned{step.slot} = {_owned(step, k)}"] if step.hands_over else []
        else:
            lines.append(f"        {output} = forward{k}{call}")
            if step.hands_over:
                lines.append(f"        owned{step.slot} = {_owned(step, k)}")
        if step.frees:
            lines.append("        del " + ", ".join(f"t{slot}" for slot in step.frees))
    lines += [f"        tensors[{slot}] = t{slot}" for slot in kept]
    lines.append("    return batch")
    return "\n".join(lines) + "\n"


def _owned(step: Step, k: int) -> str:
    """Whether the run owns step k's output, as an expression: known where the layer type says so."""
    if _fresh(step):
        return "True"
    args = ", ".join(f"t{slot}" for slot in step.reads)
    return f"owns(t{step.slot}, [{args}], params{k})"


_FACTORIES: dict[tuple, tuple[str, Callable[..., Callable[[list[Any]], None]]]] = {}  # oldest first
_KEEP = 64
_NUMBERS = count(1)
_FACTORIES_LOCK = threading.Lock()  # specs may be prepared on several threads at once


def _factory(structure: tuple, steps: list[Step]) -> Callable[..., Callable[[list[Any]], None]]:
    """The compiled ``make`` of a plan's structure. The last ``_KEEP`` are kept, so that a spec run
    again (nnspec.run in a loop) is not written and compiled again; their text is in linecache while
    they are, so that a traceback through one shows its lines."""
    with _FACTORIES_LOCK:
        if structure not in _FACTORIES:
            if len(_FACTORIES) >= _KEEP:
                linecache.cache.pop(_FACTORIES.pop(next(iter(_FACTORIES)))[0], None)
            data, kept, _ = structure
            source = source_of(steps, data, kept)
            filename = f"<nnspec batch {next(_NUMBERS)}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
            namespace: dict[str, Any] = {}
            exec(compile(source, filename, "exec"), namespace)  # our own text, made of slot and step numbers only
            _FACTORIES[structure] = filename, namespace["make"]
        return _FACTORIES[structure][1]
