"""nnspec's public API as code that uses it sees it under mypy: never run, only type-checked.

mypy checks this file with its strict flags (see the override for tests.typed_api in pyproject.toml),
so a call or a result used against the types nnspec declares fails tests/test_tooling.py, which also
asks mypy what each name nnspec exports is: none may be Any (as all were while nnspec/__init__.py
declared them only at run time, imported on first use).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import nnspec


def validate_then_run(path: Path) -> float:
    problems: list[nnspec.Diagnostic] = nnspec.validate(path, {"dead-units": "off"}, read_data=False)
    located: list[str] = [f"{d.file}:{d.line}:{d.column}: {d.message} [{d.code}]" for d in problems]
    del located
    try:
        spec: nnspec.Spec = nnspec.load(path)
    except nnspec.SpecError as error:
        return float(len(error.diagnostics))
    again: nnspec.Spec = nnspec.loads(path.read_text(), str(path))
    layer: nnspec.Layer = again.layers[again.outputs[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        result: nnspec.RunResult = nnspec.run(spec, {"x": np.zeros((2, 4))}, batch_size=1)
    stats: nnspec.TensorStats = result.stats[layer.name].output
    findings: list[nnspec.Finding] = result.findings
    runner: nnspec.Runner = nnspec.prepare(spec, statistics=False, view="runtime")
    read_from: dict[str, str] = {name: source.description for name, source in result.sources.items()}
    view: str = result.view
    del read_from, view
    try:
        outputs: dict[str, np.ndarray] = runner.run({"x": np.ones((3, 4))}).outputs
    except nnspec.RunInterrupted as stopped:
        outputs = stopped.result.outputs
    except (nnspec.UsageError, nnspec.NnspecError):
        outputs = {}
    names: list[str] = [*nnspec.layer_types(), *nnspec.spec_schema()]
    return float(stats.max or 0.0) + len(findings) + len(outputs) + len(names) + len(nnspec.__version__)


def run_a_path(path: Path) -> int:
    # A path where a Spec is taken, a size as the CLI writes it, and what the result offers a notebook.
    result: nnspec.RunResult = nnspec.run(str(path), max_memory="2G")
    prepared: nnspec.Runner = nnspec.prepare(path, max_memory=2**30)
    scores: dict[str, dict[str, object]] = dict(result.scores)
    records: list[dict[str, object]] = list(result.to_records())
    found: nnspec.Finding = result.findings[0]
    where: tuple[str | None, int | None, int | None] = (found.file, found.line, found.column)
    stats: nnspec.LayerStats = result.stats[found.layer]
    page: str = result._repr_html_()
    return len(scores) + len(records) + len(where) + stats.output.count + len(page) + len(repr(prepared))
