"""nnspec.run and nnspec.prepare as the package gives them: a spec, or the path of a spec file; and the
pictures of a result (graph, plot, html_report), which the report stage draws.

The runtime stage runs a validated Spec and may not import validation (tests/test_import_order.py:
validation sits above it), so a path is loaded here, at the top, then handed to nnspec.runtime.runner.
The signatures are written out in full, not forwarded as ``**kwargs``, so that editors and type
checkers see every keyword and ``nnspec.run(...)`` is a RunResult, not Any.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .checks.settings import resolve
from .core.diagnostics import NnspecError
from .report.pictures.diagram import render, title
from .report.pictures.html import build_report
from .report.pictures.plots import layer_plot, plotted_layers
from .runtime import runner
from .runtime.engine import EngineFactory
from .runtime.executor import Executor
from .runtime.runner import Runner, RunResult
from .spec.model import Spec
from .spec.static import predict
from .spec.views import as_view
from .validation import load

SpecLike = Spec | str | os.PathLike[str]


def _spec(spec: SpecLike, allow_paths: Iterable[str | Path] = (), network: str | None = None) -> Spec:
    """A Spec as it is, a path loaded and validated (SpecError if the file is invalid); ``network``
    names the network of the file to load (a Spec is one network already: it must be that one)."""
    if isinstance(spec, Spec):
        if network is not None and network != spec.network:
            shown = "its main network" if spec.network is None else f"network {spec.network!r}"
            raise NnspecError(f"this Spec is {shown}; load network {network!r} with nnspec.load(path, network=...)")
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return load(os.fspath(spec), allow_paths=allow_paths, network=network)
    raise TypeError(f"expected a Spec (nnspec.load) or the path of a spec file; got {type(spec).__name__}")


def run(
    spec: SpecLike,
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    input_files: Mapping[str, str | Path] | None = None,
    dataset: str | Path | None = None,
    params: Mapping[str, np.ndarray] | str | Path | None = None,
    batch_size: int | None = None,
    samples: int | None = None,
    max_memory: int | str | None = None,
    checks: Mapping[str, Any] | None = None,
    statistics: bool = True,
    keep_outputs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_paths: Iterable[str | Path] = (),
    training: bool = False,
    engine: EngineFactory | str | None = None,
    executor: Executor | None = None,
    view: str | None = None,
    network: str | None = None,
    dataset_root: str | Path | None = None,
    synthetic: bool = False,
    image_normalization: bool | None = None,
) -> RunResult:
    allow_paths = list(allow_paths)
    return runner.run(
        _spec(spec, allow_paths, network),
        inputs,
        input_files=input_files,
        dataset=dataset,
        params=params,
        batch_size=batch_size,
        samples=samples,
        max_memory=max_memory,
        checks=checks,
        statistics=statistics,
        keep_outputs=keep_outputs,
        progress=progress,
        allow_paths=allow_paths,
        training=training,
        engine=engine,
        executor=executor,
        view=view,
        dataset_root=dataset_root,
        synthetic=synthetic,
        image_normalization=image_normalization,
    )


def prepare(
    spec: SpecLike,
    params: Mapping[str, np.ndarray] | str | Path | None = None,
    *,
    checks: Mapping[str, Any] | None = None,
    statistics: bool = True,
    max_memory: int | str | None = None,
    training: bool = False,
    engine: EngineFactory | str | None = None,
    executor: Executor | None = None,
    view: str | None = None,
    network: str | None = None,
) -> Runner:
    return Runner(
        _spec(spec, network=network),
        params,
        checks=checks,
        statistics=statistics,
        max_memory=max_memory,
        training=training,
        engine=engine,
        executor=executor,
        view=view,
    )


GRAPH_FORMS = ("svg", "png", "dot")


def graph(
    of: RunResult | SpecLike,
    form: str = "svg",
    *,
    view: str | None = None,
    network: str | None = None,
    collapse_units: bool = False,
) -> bytes:
    """The layer graph as ``nnspec graph`` draws it: SVG or PNG (matplotlib, the ``plot`` extra), or
    DOT text (no dependency). Of a result, the view that ran, its boxes coloured by the run's findings;
    of a spec (or a spec file's path), its ``view`` (nnspec.spec.views; default: the spec's, else
    "validation"), by the findings its static analysis predicts, as ``nnspec graph`` without --run.
    ``network``: the spec file's network to draw (default: its main one); ``collapse_units``: each unit
    drawn as one box rather than its layers in a box labelled with it."""
    if form not in GRAPH_FORMS:
        raise NnspecError(f"a graph is one of {', '.join(GRAPH_FORMS)}; got {form!r}")
    if isinstance(of, RunResult):
        if view is not None and view != of.view:
            raise NnspecError(f"this result is of the {of.view} view: its graph is that view's, not the {view} view's")
        spec, findings, heading = of.spec, of.findings, title(of.spec, of.samples)
    else:
        spec = as_view(_spec(of, network=network), view)
        findings, heading = predict(spec, resolve(spec, None)), title(spec, None)
    return render(spec, findings, heading, form, collapse_units=collapse_units)


def plot(result: RunResult, layer: str) -> bytes:
    """The PNG of one layer's figure, as ``nnspec run --plots`` writes it: what the layer received, its
    curve over that, what it gave (matplotlib, the ``plot`` extra)."""
    if layer not in result.stats:
        measured = ", ".join(plotted_layers(result)) or "none: the run had no statistics"
        raise NnspecError(f"no statistics of a layer {layer!r} in this result; the measured layers: {measured}")
    return layer_plot(result, layer)


def html_report(result: RunResult) -> str:
    """The HTML report page, as ``nnspec run --report`` writes it: graph, table, findings and every
    measured layer's plot, self-contained (matplotlib, the ``plot`` extra)."""
    return build_report(result)


# The runtime's documentation is the one to read: a path is the only addition.
_PATH_NOTE = "``spec`` is a Spec (nnspec.load) or the path of a spec file, loaded and validated first.\n\n"
run.__doc__ = _PATH_NOTE + (runner.run.__doc__ or "")
prepare.__doc__ = _PATH_NOTE + "``spec`` made ready to run many times: see :class:`nnspec.Runner`."
