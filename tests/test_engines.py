"""Engines and executors behind their interfaces (nnspec.runtime.engine, nnspec.runtime.executor):
statistics, checks and reports come out the same whichever computes the batches, checked against
values numpy computes here."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec
from nnspec.checks.check import Check
from nnspec.checks.table import LayerStats
from nnspec.report.results import to_dict, to_text
from nnspec.runtime.engine import NumpyEngine, Observer
from nnspec.runtime.executor import BatchResult, Executed, InProcess
from nnspec.spec.model import Spec

TANH = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4]}\n  - {name: t, type: Tanh}\n"
DATA = np.array([[3.0, -4.0, 5.0, 0.5], [4.0, -3.0, 6.0, -5.0], [0.0, -0.2, 5.0, 4.0]], np.float32)


class HandTanh:
    """An engine of its own for Input -> Tanh: tanh written out with exp, not np.tanh, and not the
    catalog's forwards; it records what it was asked."""

    def __init__(
        self,
        spec: Spec,
        parameters: dict[str, dict[str, np.ndarray]],
        observed: Mapping[str, list[Check]] | None,
        variables: list[str],
    ) -> None:
        assert [spec.layers[name].type.name for name in spec.order] == ["Input", "Tanh"]
        self.spec, self.observed, self.variables = spec, observed, variables
        self.batches: list[int] = []
        self.shown: list[str] = []

    def batch(self, data: Mapping[str, np.ndarray], observe: Observer | None) -> dict[str, np.ndarray]:
        x = data["x"]
        y = (1 - 2 / (np.exp(2 * x.astype(np.float64)) + 1)).astype(x.dtype)
        self.batches.append(len(x))
        if observe is not None:
            for name, args, output in (("x", [x], x), ("t", [x], y)):
                if self.observed is not None and name in self.observed:
                    self.shown.append(name)
                    observe(self.spec.layers[name], args, output)
        return {"t": y}


def test_an_engine_of_its_own_gives_the_statistics_findings_and_report_numpy_does():
    spec = nnspec.loads(TANH)
    runner = nnspec.prepare(spec, engine=HandTanh)
    with pytest.warns(nnspec.RangeWarning):
        result = runner.run({"x": DATA}, batch_size=2)
    engine = runner.engine
    assert isinstance(engine, HandTanh)
    assert engine.batches == [2, 1] and engine.shown == ["x", "t", "x", "t"] and engine.variables == ["x"]
    expected = np.tanh(DATA.astype(np.float64))
    np.testing.assert_allclose(result.outputs["t"], expected, rtol=1e-6)
    t = result.stats["t"].output
    assert (t.count, t.zeros) == (12, 1)
    assert t.mean == pytest.approx(expected.mean(), rel=1e-6)
    assert t.std == pytest.approx(expected.std(), rel=1e-6)
    assert (t.min, t.max) == (pytest.approx(expected.min(), rel=1e-6), pytest.approx(expected.max(), rel=1e-6))
    assert result.stats["x"].output.max == 6.0
    # 9 of the 12 inputs lie where tanh is flat (beyond ±2.65): the soft saturation check's finding
    saturation = [f for f in result.findings if f.layer == "t"]
    assert [f.check for f in saturation] == ["tanh-saturation"]
    assert "9 of 12 inputs" in saturation[0].message
    report = to_dict(result)
    assert report["samples"] == 3 and "tanh-saturation" in to_text(result)
    # the same findings as numpy's engine, report for report
    with pytest.warns(nnspec.RangeWarning):
        numpy_result = nnspec.run(spec, {"x": DATA}, batch_size=2)
    assert [(f.check, f.layer, f.severity, f.message) for f in result.findings] == [
        (f.check, f.layer, f.severity, f.message) for f in numpy_result.findings
    ]


def test_an_engine_is_shown_nothing_without_statistics():
    spec = nnspec.loads(TANH)
    runner = nnspec.prepare(spec, engine=HandTanh, statistics=False)
    result = runner.run({"x": DATA})
    assert isinstance(runner.engine, HandTanh)
    assert runner.engine.observed is None and runner.engine.shown == []
    assert result.stats == {} and result.findings == []
    np.testing.assert_allclose(result.outputs["t"], np.tanh(DATA.astype(np.float64)), rtol=1e-6)


MLP = """nnspec: 1
layers:
  - {name: x, type: Input, size: [3]}
  - {name: fc, type: Affine, out_shape: 2}
  - {name: r, type: ReLU}
"""


class Recording(NumpyEngine):
    """numpy's engine, recording which layers it shows the observer."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.shown: list[list[str]] = []

    def batch(self, data: Mapping[str, np.ndarray], observe: Observer | None) -> dict[str, np.ndarray]:
        names: list[str] = []
        self.shown.append(names)

        def recorded(layer: Any, args: list[Any], output: Any) -> None:
            names.append(layer.name)
            assert observe is not None
            observe(layer, args, output)

        return super().batch(data, recorded if observe is not None else None)


def test_numpy_engine_shows_every_measured_layer_in_order_as_it_is_made():
    spec = nnspec.loads(MLP)
    W, b = np.array([[1.0, -1.0], [2.0, 0.5], [-1.0, 1.0]], np.float32), np.array([0.5, -0.5], np.float32)
    x = np.array([[1, 2, 3], [0, -1, 4], [2, 2, 2], [-3, 0, 1]], np.float32)
    runner = nnspec.prepare(spec, {"fc/affine/W": W, "fc/affine/b": b}, engine=Recording)
    result = runner.run({"x": x}, batch_size=3)
    assert isinstance(runner.engine, Recording)
    assert runner.engine.shown == [["x", "fc", "r"], ["x", "fc", "r"]]
    expected = np.maximum(x.astype(np.float64) @ W + b, 0)
    np.testing.assert_allclose(result.outputs["r"], expected, rtol=1e-6)
    r = result.stats["r"].output
    assert (r.count, r.zeros) == (8, int((expected == 0).sum()))
    assert r.mean == pytest.approx(expected.mean(), rel=1e-6)


class AllFirst:
    """An executor that computes every batch before taking any, as one running batches on workers
    would, and merges their statistics as a tree (pairs, then pairs of pairs)."""

    def __init__(self) -> None:
        self.computed: list[tuple[int, int]] = []

    def execute(
        self,
        batches: Sequence[tuple[int, int]],
        compute: Callable[[int, int], BatchResult],
        take: Callable[[BatchResult], None],
        progress: Callable[[int, int], None] | None,
    ) -> Executed:
        results = [compute(start, stop) for start, stop in batches]
        self.computed = [(r.start, r.stop) for r in results]
        for r in results:
            take(r)
        level: list[dict[str, LayerStats]] = [r.stats for r in results]
        while len(level) > 1:
            pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
            level = [{n: p[0][n].merge(p[1][n]) for n in p[0]} if len(p) == 2 else p[0] for p in pairs]
        return Executed(level[0] if level else {}, batches[-1][1], False)


def test_an_executor_of_its_own_merges_the_statistics_of_its_batches():
    spec = nnspec.loads(TANH)
    x = np.random.default_rng(7).normal(0, 0.5, (50, 4)).astype(np.float32)
    executor = AllFirst()
    result = nnspec.run(spec, {"x": x}, batch_size=8, executor=executor)
    assert executor.computed == [(i, min(i + 8, 50)) for i in range(0, 50, 8)]
    expected = np.tanh(x.astype(np.float64))
    np.testing.assert_allclose(result.outputs["t"], expected, rtol=1e-6)
    t = result.stats["t"].output
    assert t.count == 200
    assert t.mean == pytest.approx(expected.mean(), rel=1e-5)
    assert t.std == pytest.approx(expected.std(), rel=1e-5)
    assert (t.min, t.max) == (pytest.approx(expected.min(), rel=1e-6), pytest.approx(expected.max(), rel=1e-6))
    # the histogram samples by sample number: the same counts as the batches run one after another
    in_order = nnspec.run(spec, {"x": x}, batch_size=8, executor=InProcess())
    assert np.array_equal(t.histogram, in_order.stats["t"].output.histogram)


def test_statistics_checks_and_reports_import_no_engine_or_executor():
    root = Path(nnspec.__file__).parent
    for package in ("checks", "report"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom):
                    named = [node.module or "", *(alias.name for alias in node.names)]
                elif isinstance(node, ast.Import):
                    named = [alias.name for alias in node.names]
                else:
                    continue
                assert not any(n.split(".")[-1] in ("engine", "executor") for n in named), path
