"""Views of one network: the networks NNC derives from the one drawn, to train it, validate it and run it.

NNC keeps one network per tab and writes three from it into a project's exports (see
/work/shared/reference/nnc-projects.md, section 2.11, verified on NNC's own exports):

- ``training`` (NNC's Main): the network as drawn, which the optimizers train: every property as
  written (BatchNormalization's batch statistics, Dropout applied);
- ``validation`` (MainValidation; nnspec's default): every layer type's test-time arguments
  applied (BatchNormalization ``batch_stat`` false, MeanSubtraction ``update_running_mean`` false)
  and every layer with SkipAtTest bypassed, its consumers reading its input; the losses kept;
- ``runtime`` (MainRuntime): the validation view without the loss and validation layers (the types
  whose NNC definition says ``IsLossFunction=True``: the 9 losses, TopNError and BinaryError; in
  the catalog, ``Role.is_result``) and without their targets, so the data variables only targets read
  are not read at all: an inference run needs the network's inputs only.

The properties each view runs with are nnspec.spec.semantics' (``as_run``). A bypassed layer stays
in the view and passes its input through unchanged, which computes exactly what its consumers reading
its input would, and keeps the layer where a report or a graph shows it. The runtime view removes
layers: every result layer, and every layer that reads one (it cannot run without the targets).

Outputs follow the view. A spec's outputs that the runtime view removes are replaced, in place, by
the layers the removed part reads that the view keeps: a loss is replaced by the layer it judges,
as NNC's runtime executor outputs the variable its loss read (``y'``). Where the spec's outputs are
its default (the layers no other layer reads), this is the runtime view's own default, the sinks that
remain; where the spec names a removed layer in ``outputs:``, a note (``view-output``) says which
layer takes its place. A replacement rather than an error: a spec written and resolved for validation
(``validate --print-resolved`` writes its outputs out) runs in the runtime view unchanged.

A view of a spec is a Spec itself (``Spec.view`` says which, ``Spec.as_written`` holds the spec it
came from), so a view's view is taken from the spec as written: views never stack.
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from ..core import codes
from ..core.diagnostics import INFO, Diagnostic, NnspecError
from ..core.suggest import did_you_mean
from .model import Spec
from .semantics import EVALUATION, as_run

TRAINING = "training"
VALIDATION = "validation"
RUNTIME = "runtime"
VIEWS = (TRAINING, VALIDATION, RUNTIME)
DEFAULT_VIEW = VALIDATION

# What each view is, for help texts and the reports' references.
DESCRIPTIONS = {
    TRAINING: "the network as written: BatchNormalization's batch statistics, Dropout applied (NNC's Main)",
    VALIDATION: "as NNC evaluates: BatchNormalization with its stored statistics, Dropout bypassed, the losses "
    "kept (NNC's MainValidation; the default)",
    RUNTIME: "the validation view without the loss and validation layers and their targets: an inference run "
    "(NNC's MainRuntime)",
}


def chosen_view(spec: Spec, view: str | None = None, training: bool = False) -> str:
    """The view a run of ``spec`` takes: ``view`` when given, ``training`` when ``training`` (the older
    spelling of ``view="training"``), else the spec's own (its ``view:`` key, or the view it is),
    else the validation view."""
    if view is not None and view not in VIEWS:
        raise NnspecError(f"a view is one of {', '.join(VIEWS)}; got {view!r}{did_you_mean(str(view), VIEWS)}")
    if training:
        if view not in (None, TRAINING):
            raise NnspecError(
                f"training is the training view: it cannot run as the {view} view too (give the view alone)"
            )
        return TRAINING
    return view or spec.view or DEFAULT_VIEW


def as_view(spec: Spec, view: str | None = None, *, training: bool = False) -> Spec:
    """The view of ``spec`` a run takes (``chosen_view``): its layers' properties as that view runs
    them, and in the runtime view without the loss and validation layers, its outputs replaced as the
    module's docstring says. A new Spec sharing the unchanged layers; ``spec`` is left as it is."""
    written = spec.as_written or spec
    chosen = chosen_view(spec, view, training)
    derived = as_run(written, training=chosen == TRAINING)
    if chosen == RUNTIME:
        derived = _without(derived, left_out(derived))
    return replace(derived, view=chosen, as_written=written)


def left_out(spec: Spec) -> set[str]:
    """The layers the runtime view leaves out of ``spec``: its loss and validation layers (NNC's
    IsLossFunction), and every layer that reads one, directly or not."""
    results = [name for name, layer in spec.layers.items() if layer.type.role.is_result]
    removed = set(results)
    for name in results:
        removed |= nx.descendants(spec.graph, name)
    return removed


def _without(spec: Spec, removed: set[str]) -> Spec:
    """``spec`` without the layers ``removed`` (closed under reading: no layer kept reads one)."""
    if not removed:
        return spec
    layers = {name: layer for name, layer in spec.layers.items() if name not in removed}
    outputs: list[str] = []
    for name in spec.outputs:
        for output in stand_ins(spec, removed, name) if name in removed else [name]:
            if output not in outputs:
                outputs.append(output)
    return replace(
        spec,
        layers=layers,
        graph=nx.DiGraph(spec.graph.subgraph(layers)),
        order=tuple(name for name in spec.order if name not in removed),
        outputs=outputs,
    )


def stand_ins(spec: Spec, removed: set[str], name: str) -> list[str]:
    """What a view outputs in place of the removed layer ``name``: the layers kept that the removed
    part leading to it reads (a loss: the layer it judges), in the order they run."""
    reached = (nx.ancestors(spec.graph, name) | {name}) & removed
    read = {source for each in reached for source in spec.layers[each].inputs}
    return [layer for layer in spec.order if layer in read and layer not in removed]


def view_notes(view: Spec) -> list[Diagnostic]:
    """What a view changed of what its spec says to output: a note for each output the spec's
    ``outputs:`` names that the view leaves out, located there, and what the view outputs instead.
    Nothing where the spec's outputs are its default (the view's are then its own default)."""
    written = view.as_written
    if written is None or all(name in view.layers for name in written.outputs):
        return []
    graph = written.graph
    if written.outputs == [name for name in written.layers if graph.out_degree(name) == 0]:
        return []  # the default outputs: the runtime view's default is its own sinks, nothing to note
    removed = set(written.layers) - set(view.layers)
    notes = []
    for position, name in enumerate(written.outputs):
        if name not in removed:
            continue
        layer = written.layers[name]
        what = (
            f"a {layer.type.role.value} layer ({layer.type.name})"
            if layer.type.role.is_result
            else f"a layer reading {_results_read(written, name)}"
        )
        instead = ", ".join(f"'{each}'" for each in stand_ins(written, removed, name))
        line, column = written.source_map.locate(("outputs", position))
        notes.append(
            Diagnostic(
                f"outputs names '{name}', {what}, which the {view.view} view leaves out: the view outputs "
                f"{instead} in its place (what the layers left out read)",
                written.file,
                line,
                column,
                INFO,
                codes.VIEW_OUTPUT,
                ("outputs", position),
                name,
            )
        )
    return notes


def _results_read(spec: Spec, name: str) -> str:
    """The loss and validation layers a layer reads from, for a note: "loss layer 'l'"."""
    above = nx.ancestors(spec.graph, name)
    found = [each for each in spec.order if each in above and spec.layers[each].type.role.is_result]
    return ", ".join(f"{spec.layers[each].type.role.value} layer '{each}'" for each in found)


def semantics_of(view: str) -> str:
    """What the view computes, as RunResult.semantics says it: ``"training"`` or NNC's ``"evaluation"``."""
    return TRAINING if view == TRAINING else EVALUATION
