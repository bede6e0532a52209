"""Validation: JSON Schema, then wiring, then shapes; every problem collected at once.

Each stage runs on whatever the previous one left intact, so one spec can report
an unknown property, a dangling input and a shape mismatch together:

    loader        YAML -> plain data + source map          (nnspec.spec.loader; readers picks by suffix)
    schema        JSON Schema errors as diagnostics        (nnspec.spec.schema_check)
    expand        recurrent loops unrolled step by step    (nnspec.spec.recurrence)
                  and repeats written out, copy by copy    (nnspec.spec.expand)
    graph         layers, wiring, cycles, shapes           (nnspec.spec.graph)
    data          the spec's data: section                 (nnspec.runtime.inputs)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .core import codes
from .core.diagnostics import ERROR, Diagnostic, DiagnosticList, SpecError
from .files.confine import Confinement
from .runtime.inputs import check_spec_data
from .runtime.params import check_parameter_files
from .spec.expand import (
    Expansion,
    check_repeat_shapes,
    expand,
    expanded_outputs,
    merge_copy_diagnostics,
    repeat_blocks,
)
from .spec.expressions import argument_values, read_arguments
from .spec.graph import (
    check_settings,
    check_shared_variables,
    check_switched_parameters,
    execution_order,
    infer_shapes,
    output_layers,
    resolve_layers,
    wire,
)
from .spec.loader import Document, load_text
from .spec.model import Layer, Spec
from .spec.networks import MAIN, Network, NetworkTable, chosen_network, flatten
from .spec.project import check_references
from .spec.readers import read_spec
from .spec.recurrence import check_delay_sizes, unroll
from .spec.schema import FORMAT_VERSION
from .spec.schema_check import check_schema
from .spec.units import expand_units, has_units
from .spec.upgrade import as_current, upgrade_note, upgrade_notes_at


def load(
    path: str | Path, *, allow_paths: Iterable[str | Path] = (), read_data: bool = True, network: str | None = None
) -> Spec:
    """Load and validate a spec file, read as its suffix says (nnspec.spec.readers: .yaml, .yml, .json;
    no suffix: YAML); raise SpecError with every diagnostic if it is invalid, UsageError for a file
    that cannot be read or a suffix no format claims.

    The files the spec names must lie in its repository (see nnspec.files.confine) or a directory of
    ``allow_paths``; with ``read_data`` false only their paths are checked: they are never opened,
    nor required to exist. ``network`` names the network to validate and run: one of the spec's
    ``networks:`` (default: the main one, ``layers:``); an unknown name raises UsageError.
    """
    return validate_document(read_spec(path), Confinement.for_spec(path, allow_paths), read_data, network)


def loads(
    text: str,
    file: str = "<spec>",
    *,
    allow_paths: Iterable[str | Path] = (),
    read_data: bool = True,
    network: str | None = None,
) -> Spec:
    """Load and validate spec text (``file`` names it in messages and anchors relative paths; the
    other arguments as for ``load``)."""
    return validate_document(load_text(text, file), Confinement.for_spec(file, allow_paths), read_data, network)


def validate(
    path: str | Path,
    checks: Mapping[str, Any] | None = None,
    *,
    allow_paths: Iterable[str | Path] = (),
    read_data: bool = True,
    view: str | None = None,
    training: bool = False,
    network: str | None = None,
) -> list[Diagnostic]:
    """Every diagnostic for one spec file: its errors; or, for a valid spec, the range
    warnings its static analysis predicts (an empty list: nothing to say).

    ``checks`` overrides check settings as ``run`` does; ``allow_paths`` and ``read_data`` are as
    for ``load`` (``read_data=False`` is ``nnspec validate --no-data``). ``view`` is the view of the
    network whose run is predicted (nnspec.spec.views; default: the spec's ``view:``, else
    "validation"; ``training=True`` is ``view="training"``); the runtime view adds a note (info) for
    each output the spec names that it leaves out. ``network`` is as for ``load``. A file that cannot
    be read raises UsageError, as for ``load``.
    """
    return checked(
        path, checks, allow_paths=allow_paths, read_data=read_data, view=view, training=training, network=network
    )[1]


def checked(
    path: str | Path,
    checks: Mapping[str, Any] | None = None,
    *,
    allow_paths: Iterable[str | Path] = (),
    read_data: bool = True,
    view: str | None = None,
    training: bool = False,
    network: str | None = None,
) -> tuple[Spec | None, list[Diagnostic]]:
    """``validate``, with the spec itself when it is valid (None when it is not)."""
    try:
        spec = load(path, allow_paths=allow_paths, read_data=read_data, network=network)
    except SpecError as exc:
        return None, exc.diagnostics
    return spec, predicted(spec, checks, view=view, training=training)


def predicted(
    spec: Spec, checks: Mapping[str, Any] | None = None, *, view: str | None = None, training: bool = False
) -> list[Diagnostic]:
    """What a run of the view would meet, predicted from the spec: the view's notes (views.view_notes),
    then the range findings its static analysis predicts, as located diagnostics."""
    from .checks.settings import resolve
    from .spec.static import predict
    from .spec.views import as_view, view_notes

    seen = as_view(spec, view, training=training)
    with np.errstate(all="ignore"):  # estimates from data holding NaN or inf are NaN, and predict skips them
        found = predict(seen, resolve(seen, checks))
    return [*spec.notes, *upgrade_note(spec), *view_notes(seen), *(finding.diagnostic(seen) for finding in found)]


def validate_document(
    doc: Document, confinement: Confinement | None = None, read_data: bool = True, network: str | None = None
) -> Spec:
    """The spec a loaded document describes; SpecError with every diagnostic if it is invalid. The files
    it names must lie within ``confinement`` (default: the spec's repository, see nnspec.files.confine).
    ``network``: the one of its ``networks:`` to validate and run (None: the main one)."""
    confinement = confinement or Confinement.for_spec(doc.file)
    diagnostics = DiagnosticList(doc.file, doc.source_map)
    data = doc.data
    if not isinstance(data, dict):
        diagnostics.add(
            f"a spec is a mapping with at least 'nnspec: {FORMAT_VERSION}' and 'layers:'", (), code=codes.NOT_A_MAPPING
        )
        raise SpecError(diagnostics.items)
    diagnostics.items.extend(doc.notes)  # a reader's notes (nnspec.spec.sdcproj): shown with every outcome
    # a version-1 spec read with its own meaning (nnspec.spec.upgrade): what its upgrade changed is noted
    data, upgrade_notes = as_current(data)
    data, table = flatten(data, doc.source_map)  # every network's layers in one list (nnspec.spec.networks)
    chosen = chosen_network(table, network)
    broken = check_schema(data, diagnostics)
    check_references(doc.data, diagnostics)  # project: the networks and datasets its settings name
    spec = _build_spec(doc, data, broken, diagnostics, confinement, read_data, table, chosen)
    if diagnostics.errors:
        raise SpecError(diagnostics.items + upgrade_notes_at(upgrade_notes, doc.file, doc.source_map, invalid=True))
    assert spec is not None, "a schema error was found but not reported"
    # a reader's notes and validation's warnings (an argument used as written): shown with the outcome
    spec.notes = tuple(d for d in diagnostics.items if d.severity != ERROR)
    spec.upgrade_notes = tuple(upgrade_notes)
    spec.format_version = int(doc.data["nnspec"])  # valid: one of LOADED_VERSIONS (1.0 read as 1)
    return spec


def _build_spec(
    doc: Document,
    data: dict[str, Any],
    broken: set[Any],
    diagnostics: DiagnosticList,
    confinement: Confinement,
    read_data: bool,
    table: NetworkTable,
    chosen: str | None,
) -> Spec | None:
    given = data.get("layers")
    raw_layers: list[Any] = given if isinstance(given, list) else []
    span = table.spans[chosen]
    names = [
        raw_layers[i]["name"]
        for i in span
        if isinstance(raw_layers[i], dict) and isinstance(raw_layers[i].get("name"), str)
    ]
    main_written = resolve_layers(raw_layers, broken, doc, diagnostics, table.spans[MAIN])
    networks = _networks(data, raw_layers, broken, doc, diagnostics, table)
    arguments = read_arguments(data, diagnostics) if chosen is None else networks[chosen].arguments
    written = main_written if chosen is None else networks[chosen].layers
    if isinstance(data.get("checks"), dict):
        check_settings(data["checks"], ("checks",), None, diagnostics)
    # recurrent loops unrolled, repeats written out (their times read from the arguments), units
    # written out (in the repeats' copies too): from here on, the layers that run
    layers, recurrence = unroll(written, diagnostics, argument_values(arguments))
    layers, expansion = expand(layers, diagnostics, argument_values(arguments))
    unit_outputs: dict[str, str] = {}
    units: dict[str, Any] = {}
    if has_units(layers):
        layers, unit_outputs, units = expand_units(layers, networks, chosen, diagnostics, doc.file)
    if expansion is not None or recurrence is not None or units:
        names = names + list(layers)
    graph = wire(layers, names, diagnostics)
    listed = data if chosen is None else {}  # outputs: names the main network's layers
    outputs = output_layers(listed, names, layers, graph, diagnostics)
    if recurrence is not None:
        outputs = expanded_outputs(recurrence, listed, outputs, diagnostics)
    if expansion is not None:
        outputs = expanded_outputs(expansion, listed, outputs, diagnostics)
    outputs = [unit_outputs.get(name, name) for name in outputs]  # a unit named: its output layer
    order = execution_order(graph, layers) if graph is not None else ()
    if graph is not None:
        infer_shapes(order, layers, diagnostics, argument_values(arguments))
        check_switched_parameters(layers, raw_layers, diagnostics)
        if expansion is not None and all(out in layers for out in unit_outputs.values()):
            # a unit's copy in a repeat is known there by its name: its output layer stands for it
            seen = {**layers, **{unit: layers[out] for unit, out in unit_outputs.items() if out in layers}}
            check_repeat_shapes(expansion, seen, graph, diagnostics)
        if recurrence is not None:
            check_delay_sizes(recurrence, layers, graph, diagnostics)
    # after shapes: a file's shape is checked against the layer's
    check_parameter_files(layers, confinement, read_data, diagnostics)
    check_shared_variables(layers, diagnostics)
    data_values = check_spec_data(_readable_data(data, broken), layers, diagnostics)
    dataset = _check_dataset(doc, data, diagnostics, confinement, read_data)
    if expansion is not None:
        merge_copy_diagnostics(expansion, diagnostics)
    if recurrence is not None:  # a loop's copies share their parameters: one problem with them, said once
        merge_copy_diagnostics(Expansion(recurrence.written, {}, {}, dict(recurrence.copies)), diagnostics)
    if diagnostics.errors or broken or graph is None:  # no graph without an error: the test tells mypy
        return None
    return Spec(
        file=doc.file,
        name=data.get("name"),
        description=data.get("description"),
        dtype=data.get("dtype", "float32"),
        seed=int(data.get("seed", 0)),  # JSON Schema counts 3.0 as an integer
        layers=layers,
        outputs=outputs,
        data=data_values,
        graph=graph,
        order=order,
        source_map=doc.source_map,
        checks=data.get("checks", {}),
        dataset=dataset,
        image_normalization=_image_normalization(data),
        project=_project(data),
        comments=data.get("comments", []),
        confinement=confinement,
        read_data=read_data,
        arguments=arguments,
        view=data.get("view"),
        written=None if expansion is None and recurrence is None and not units else written,
        repeats=() if expansion is None else repeat_blocks(expansion),
        delayed=frozenset() if recurrence is None else frozenset(recurrence.delayed),
        network=chosen,
        networks=networks,
        main_layers=main_written if chosen is not None else None,
        units=units,
        notes=tuple(doc.notes),
    )


def _networks(
    data: dict[str, Any],
    raw_layers: list[Any],
    broken: set[Any],
    doc: Document,
    diagnostics: DiagnosticList,
    table: NetworkTable,
) -> dict[str, Network]:
    """Every named network, its arguments read and its layers resolved (each network's names its own)."""
    networks: dict[str, Network] = {}
    for name in table.named:
        written = data["networks"][name]
        arguments = read_arguments(written, diagnostics, ("networks", name)) if isinstance(written, dict) else {}
        layers: dict[str, Layer] = resolve_layers(raw_layers, broken, doc, diagnostics, table.spans[name])
        complete = len(layers) == len(table.spans[name])
        comments = written.get("comments", []) if isinstance(written, dict) else []
        networks[name] = Network(name, arguments, layers, ("networks", name), complete, comments)
    return networks


def _readable_data(data: dict[str, Any], broken: set[Any]) -> dict[str, Any]:
    """The spec with the data variables that hold a number too large to read left out (reported already)."""
    values = data.get("data")
    if not isinstance(values, dict) or not any(part[:1] == ("data",) and len(part) == 2 for part in broken):
        return data
    return {**data, "data": {name: value for name, value in values.items() if ("data", name) not in broken}}


def _check_dataset(
    doc: Document, data: dict[str, Any], diagnostics: DiagnosticList, confinement: Confinement, read_data: bool
) -> Path | None:
    """The spec's dataset: path, relative to the spec; a file that is missing, or outside the roots,
    is an error at the key."""
    value = data.get("dataset")
    where: tuple[str, ...] = ("dataset",)
    if isinstance(value, dict):  # {uri: PATH, image_normalization: false}
        value, where = value.get("uri"), ("dataset", "uri")
    if not isinstance(value, str):
        return None  # absent, or the schema reports it
    path = Path(doc.file).parent / value
    problem = confinement.problem(path, read=read_data)
    if problem:
        problem = "is a directory, not a dataset CSV" if problem == "is a directory" else problem
        diagnostics.add(f"dataset {path} {problem}", where, code=codes.MISSING_FILE)
    return path


def _project(data: dict[str, Any]) -> dict[str, Any]:
    """The spec's project: section as written (its shape checked by the schema), or nothing."""
    project = data.get("project")
    return project if isinstance(project, dict) else {}


def _image_normalization(data: dict[str, Any]) -> bool:
    """Whether the spec's dataset: feeds its images normalised (its image_normalization, true unless set)."""
    value = data.get("dataset")
    return not (isinstance(value, dict) and value.get("image_normalization") is False)
