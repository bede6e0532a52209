"""The Python API: what the CLI does, as functions returning data."""

from __future__ import annotations

import numpy as np
import pytest

import nnspec

from .conftest import SPECS


def test_every_public_name_resolves():
    for name in nnspec.__all__:
        assert getattr(nnspec, name) is not None
    with pytest.raises(AttributeError):
        nnspec.no_such_thing  # noqa: B018


def test_validate_returns_located_diagnostics(write_spec):
    predicted = nnspec.validate(SPECS / "seed_activations.yaml")  # valid: only predicted range warnings
    assert [(d.severity, d.code, d.layer) for d in predicted] == [
        ("warning", "input-range", "x"),
        ("warning", "tanh-hard-saturation", "tanh"),
        ("warning", "sigmoid-hard-saturation", "sigmoid"),
    ]
    bad = write_spec("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: t, type: Tanhh}\n")
    [d] = nnspec.validate(bad)
    assert (d.file, d.line, d.column, d.code, d.layer) == (str(bad), 4, 21, "unknown-type", "t")
    assert d.to_dict()["message"] == "unknown layer type 'Tanhh'; did you mean 'Tanh'?"


def test_load_raises_spec_error_with_every_diagnostic():
    with pytest.raises(nnspec.SpecError) as caught:
        nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Tanhh}\n  - {name: x, type: ReLU, alpha: 1}\n")
    assert [d.code for d in caught.value.diagnostics] == ["unknown-type", "duplicate-name", "unknown-property"]


def test_run_on_arrays_gives_outputs_statistics_and_findings():
    spec = nnspec.load(SPECS / "seed_activations.yaml")
    x = np.array([[0.5, -0.5, 0.25, 0, 0, 0, 0, 0, 1]])
    result = nnspec.run(spec, {"x": x})
    np.testing.assert_array_equal(result.outputs["relu"], np.maximum(x, 0).astype(np.float32))
    tanh = result.stats["tanh"]
    assert result.stats["x"].output.max == 1.0 and tanh.output.max == pytest.approx(np.tanh(1.0))
    assert tanh.output.count == 9 and tanh.output.nan == 0
    assert result.findings == [] and result.errors == [] and result.warnings == []
    assert result.samples == 1


def test_json_report_keeps_large_outputs_out(tmp_path):
    from nnspec.report.results import to_dict

    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [400], generator: Uniform}\n")
    report = to_dict(nnspec.run(spec, samples=300))  # 120,000 values
    assert report["outputs"] == {} and report["outputs_omitted"] == {"x": [300, 400]}
