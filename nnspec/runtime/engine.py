"""Engines: what computes a batch of a prepared spec: numpy's (below, the default) and onnxruntime's
(nnspec.runtime.onnxruntime_engine, with numpy's forwards for the layers ONNX cannot hold:
nnspec.runtime.mixed), chosen by name (nnspec.runtime.runner.engine_named, ``--engine``) or given as a
class of one's own with the same two methods.

An engine is made once per prepared spec (:class:`EngineFactory`) and then asked for one batch at
a time (:meth:`Engine.batch`): it gets the batch's data by variable and gives back the output
layers' values. Statistics are not its business: for each layer it is told to observe, it shows
the observer that layer's inputs and output as soon as the output is made, and writes over none of
them until the batch is done; the runner takes the statistics from there
(nnspec.checks.table.BatchObserver: small outputs together, after a few layers or at the batch's end).
So statistics, checks and reports see arrays and LayerStats, never which engine made them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from ..checks.check import Check
from ..spec.model import Layer, Spec
from .plan import Plan, Step, data_key, make_plan

# Shown each observed layer, its inputs and its output, in the order the layers run (a layer's
# inputs before it). The arrays must stay as they are until Engine.batch returns: the observer may
# keep them until then, to take the statistics of several small layers at once (the engine may drop
# its own references: a plan with statistics writes over no tensor; onnxruntime's are its outputs).
Observer = Callable[[Layer, list[Any], Any], None]


class Engine(Protocol):
    """One prepared spec's batches computed. An engine that leaves some layers to numpy's forwards says
    which, each with why, in an attribute ``numpy_layers`` (layer name -> reason), which the run's result
    and report carry (nnspec.runtime.mixed); without it, none."""

    def batch(self, data: Mapping[str, np.ndarray], observe: Observer | None) -> dict[str, np.ndarray]:
        """The output layers' values (``spec.outputs``, by name) for one batch. ``data`` maps
        each data variable to the batch's values, already in the spec's dtype; ``observe`` (None
        when the run takes no statistics) is called for every layer the engine was made to observe.
        Values beyond the dtype's range (inf, NaN) are not errors, the checks report them: the
        runner calls this with numpy's floating-point errors ignored (np.errstate), for the
        observer's statistics too."""
        ...


class EngineFactory(Protocol):
    """Makes an engine for one prepared spec (``nnspec.prepare(..., engine=...)``)."""

    def __call__(
        self,
        spec: Spec,
        parameters: dict[str, dict[str, np.ndarray]],
        observed: Mapping[str, list[Check]] | None,
        variables: list[str],
    ) -> Engine:
        """``spec`` as it runs (nnspec.spec.semantics), every layer's ``parameters``; ``observed``
        names the layers to show the observer (the checks measured on each come along for an
        engine that wants them; None: a run without statistics, nothing observed); ``variables``
        are the data variables a batch brings."""
        ...


class NumpyEngine:
    """The layers' numpy forwards from the catalog, run by the plan of nnspec.runtime.plan: as one
    generated function without statistics, step by step with them."""

    def __init__(
        self,
        spec: Spec,
        parameters: dict[str, dict[str, np.ndarray]],
        observed: Mapping[str, list[Check]] | None,
        variables: list[str],
    ) -> None:
        params = {name: dict(values) for name, values in parameters.items()}
        self.plan: Plan = make_plan(
            spec, list(spec.order), params, dict(observed or {}), observed is not None, variables
        )
        self._data = [(variable, self.plan.slots[data_key(variable)]) for variable in variables]
        self._outputs = [(name, self.plan.slots[name]) for name in spec.outputs]

    def batch(self, data: Mapping[str, np.ndarray], observe: Observer | None) -> dict[str, np.ndarray]:
        tensors: list[Any] = [None] * len(self.plan.slots)
        for variable, slot in self._data:
            tensors[slot] = data[variable]
        # numpy's floating-point errors are ignored by the caller (Engine.batch), not set again here:
        # another np.errstate would cost as much as a small layer.
        if observe is None:
            assert self.plan.forward is not None, "a plan made for statistics has no function"
            self.plan.forward(tensors)  # the plan's own function: see nnspec.runtime.plan
        else:
            _forward_observed(self.plan.steps, tensors, observe)
        return {name: tensors[slot] for name, slot in self._outputs}


def _forward_observed(steps: list[Step], tensors: list[Any], observe: Observer) -> None:
    """One batch through every step: ``tensors`` holds the batch's data at their slots and gets
    every layer's output at its own, each freed after its last reader (see nnspec.runtime.plan);
    each measured layer is shown to ``observe`` as its output is made."""
    for step in steps:
        args = [tensors[i] for i in step.reads]
        output = tensors[step.slot] = step.forward(args, step.props, step.params)
        if step.checks is not None:
            observe(step.layer, args, output)
        for i in step.frees:
            tensors[i] = None
