"""The Python API as editors and notebooks see it (issue 18, section 2): dir(nnspec), one-line
reprs, a result's HTML in a notebook, a path wherever a Spec is taken, max_memory as the CLI
writes it, scores on the result, located findings and plain per-layer records.

Expected values come from the data (numpy over the arrays run) and the spec's text, not from
nnspec's own report."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import NnspecError, SpecError, UsageError

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "seed_activations.yaml"
X = np.array([[255, 150, 100, 10, 0, -10, -100, -150, -255]], dtype=np.float32)  # the spec's data:
SCORED = (
    "nnspec: 1\nname: scored\nlayers:\n  - {name: p, type: Input, size: [2]}\n"
    "  - {name: loss, type: SquaredError, T: {dataset: t}}\n"
    "  - {name: err, type: BinaryError, input: p, T: {dataset: t}}\n"
)
P = np.array([[0.9, 0.2], [0.4, 0.6], [0.1, 0.8]])
T = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])


def _quiet_run(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        return nnspec.run(*args, **kwargs)


def test_dir_lists_the_public_api_and_not_the_modules_imports():
    listed = dir(nnspec)
    for name in ("run", "prepare", "load", "loads", "validate", "RunResult", "Spec", "Runner", "Finding", "LayerStats"):
        assert name in listed
    assert set(nnspec.__all__) <= set(listed)
    assert not {"importlib", "Any", "annotations", "TYPE_CHECKING"} & set(listed)
    assert listed == sorted(listed)
    assert (ROOT / "nnspec" / "py.typed").is_file()


def test_run_and_prepare_take_a_path_as_str_or_path():
    expected = np.tanh(X)
    for path in (str(SEED), SEED):
        assert np.allclose(_quiet_run(path).outputs["tanh"], expected, atol=1e-6)
        runner = nnspec.prepare(path, statistics=False)
        assert np.allclose(runner.run({"x": X}).outputs["tanh"], expected, atol=1e-6)


def test_an_invalid_spec_file_is_a_spec_error_and_not_a_spec_a_type_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nnspec: 1\nlayers:\n  - {name: x, type: Inptu, size: [2]}\n")
    with pytest.raises(SpecError):
        nnspec.run(bad)
    with pytest.raises(TypeError, match="a Spec .* or the path of a spec file; got int"):
        nnspec.run(42)


def test_max_memory_takes_a_size_as_the_cli_does():
    assert _quiet_run(SEED, max_memory="2G").samples == 1
    assert nnspec.prepare(SEED, max_memory="1.5g").spec.name == "seed-activations"
    with pytest.raises(UsageError, match=r"more than the limit of 10 B"):
        nnspec.run(SEED, max_memory="10")  # the same limit, in bytes, as max_memory=10
    with pytest.raises(NnspecError, match=r"max_memory: not a size: 'lots' \(write a size"):
        nnspec.run(SEED, max_memory="lots")


def test_scores_are_on_the_result():
    result = nnspec.run(nnspec.loads(SCORED), {"p": P, "t": T}, batch_size=2)
    assert result.scores["loss"] == {"kind": "loss", "value": pytest.approx(np.mean((P - T) ** 2), rel=1e-6)}
    # BinaryError: 1 where (p >= 0.5) != (t >= 0.5): the pairs (0.4, 1) and (0.8, 0) of six
    assert result.scores["err"] == {"kind": "error rate", "value": pytest.approx(2 / 6)}
    assert nnspec.run(nnspec.loads(SCORED), {"p": P, "t": T}, statistics=False).scores == {}


def test_findings_say_where_their_layer_is_written():
    result = _quiet_run(SEED)
    lines = SEED.read_text().splitlines()
    assert result.findings
    for finding in result.findings:
        assert finding.file == str(SEED)
        written = lines[finding.line - 1]
        # the layer's entry begins at its column: "- name: x" (block) or "- {name: tanh, ...}" (flow)
        assert f"name: {finding.layer}" in written
        assert written[finding.column - 1 :].startswith(("name:", "{name:"))


def test_records_are_plain_values_that_match_the_data():
    result = _quiet_run(SEED)
    records = result.to_records()
    assert [r["layer"] for r in records] == ["x", "tanh", "sigmoid", "relu"]
    plain = (str, int, float, type(None), list)
    for record in records:
        for key, value in record.items():
            assert type(value) in plain, (key, type(value))  # exactly these: no numpy scalars (pandas-ready)
        assert all(type(check) is str for check in record["findings"])
        assert list(record) == list(records[0])  # every record has the same columns, in the same order
    by_layer = {r["layer"]: r for r in records}
    for name, values in {"x": X, "tanh": np.tanh(X), "relu": np.maximum(X, 0)}.items():
        record = by_layer[name]
        assert record["count"] == values.size
        assert record["zeros"] == int(np.count_nonzero(values == 0))
        assert record["min"] == pytest.approx(float(values.min()), abs=1e-6)
        assert record["max"] == pytest.approx(float(values.max()), abs=1e-6)
        assert record["mean"] == pytest.approx(float(values.astype(np.float64).mean()), abs=1e-5)
        assert record["std"] == pytest.approx(float(values.astype(np.float64).std()), abs=1e-5)
        # nine distinct values at most: the percentiles are numpy's exactly
        assert record["p50"] == pytest.approx(float(np.percentile(values.astype(np.float64), 50)), abs=1e-5)
        assert record["p99"] == pytest.approx(float(np.percentile(values.astype(np.float64), 99)), abs=1e-4)
    assert by_layer["tanh"]["findings"] == ["tanh-hard-saturation"]


def test_records_of_a_layer_without_finite_values_have_no_figures():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n  - {name: l, type: Log, input: x}\n"
    )
    record = {r["layer"]: r for r in _quiet_run(spec, {"x": np.array([[0.0, -1.0]])}).to_records()}["l"]
    assert (record["neginf"], record["nan"]) == (1, 1)
    assert record["min"] is record["mean"] is record["p50"] is None


def test_reprs_are_one_short_line_with_the_key_figures():
    result = _quiet_run(SEED)
    shown = {
        "RunResult": repr(result),
        "Spec": repr(result.spec),
        "Runner": repr(nnspec.prepare(SEED)),
        "LayerStats": repr(result.stats["relu"]),
        "Finding": repr(result.findings[0]),
    }
    for kind, text in shown.items():
        assert text.startswith(f"<{kind} ") and text.endswith(">"), text
        assert "\n" not in text and len(text) <= 300, (kind, len(text))
    assert "'seed-activations'" in shown["RunResult"] and "1 sample;" in shown["RunResult"]
    assert f"{len(result.warnings)} warnings" in shown["RunResult"]
    assert "4 layers" in shown["Spec"] and "tanh, sigmoid, relu" in shown["Spec"]
    relu = np.maximum(X, 0).astype(np.float64)
    assert f"count=9, min=0, max=255, mean={relu.mean():.4g}" in shown["LayerStats"]
    assert "zeros=5" in shown["LayerStats"]
    first = result.findings[0]
    assert f"[{first.check}] {first.layer} ({SEED}:{first.line}:{first.column})" in shown["Finding"]


def test_the_reprs_of_a_large_spec_stay_short():
    layers = "".join(f"  - {{name: t{i}, type: Tanh}}\n" for i in range(300))
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n" + layers)
    result = nnspec.run(spec, {"x": np.zeros((2, 3))})
    assert len(repr(result)) <= 300 and len(repr(spec)) <= 300


def test_a_result_shows_in_a_notebook_as_an_escaped_table():
    text = SCORED.replace("name: scored", "name: '<script>alert(1)</script> & co'")
    result = nnspec.run(nnspec.loads(text), {"p": P, "t": T})
    page = result._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert page.count("<tr>") == 1 + len(result.stats)  # the header, then a row a measured layer
    assert "error rate 33.33%" in page  # 2 wrong of 6, as test_scores_are_on_the_result counts
    for name in result.stats:
        assert f"<td>{name}</td>" in page
    quiet = _quiet_run(SEED)._repr_html_()
    assert "[tanh-hard-saturation]" in quiet and "No findings" not in quiet


def test_the_readme_python_example_runs_and_its_repr_is_current(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    python = readme[readme.index("\n## Python\n") :]
    block = python[python.index("```python\n") + len("```python\n") : python.index("\n```\n")]
    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnspec.RangeWarning)
        exec(compile(block, "README.md", "exec"), {})
    shown = re.search(r"\(`(<RunResult of [^`]*>)`\)", python.replace("\n", " "))
    assert shown, "README's Python section shows no RunResult repr"
    assert " ".join(shown.group(1).split()) == repr(_quiet_run(SEED))


def test_the_graph_of_a_spec_or_a_result_as_dot_text(monkeypatch, capsys):
    from nnspec.cli import main

    monkeypatch.chdir(ROOT)
    of_spec = nnspec.graph("specs/seed_activations.yaml", form="dot").decode()
    assert "\ndigraph " in of_spec and "findings predicted from the spec" in of_spec
    assert main(["graph", "specs/seed_activations.yaml"]) == 0
    assert capsys.readouterr().out == of_spec  # what `nnspec graph` prints
    of_result = nnspec.graph(_quiet_run(SEED), form="dot").decode()
    assert "findings of a run on 1 sample" in of_result
    for name in ("x", "tanh", "sigmoid", "relu"):
        assert f'"{name}"' in of_result
    with pytest.raises(NnspecError, match=r"a graph is one of svg, png, dot; got 'gif'"):
        nnspec.graph(SEED, form="gif")


def test_a_plot_and_the_html_report_of_a_result():
    pytest.importorskip("matplotlib")
    result = _quiet_run(SEED)
    assert nnspec.plot(result, "tanh").startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(NnspecError, match=r"no statistics of a layer 'nope' .* x, tanh, sigmoid, relu"):
        nnspec.plot(result, "nope")
    page = nnspec.html_report(result)
    assert page.lstrip().lower().startswith("<!doctype html>") and "tanh-hard-saturation" in page
    assert nnspec.graph(result).lstrip().startswith((b"<?xml", b"<svg"))


def test_parameters_by_nnabla_name_are_the_arrays_the_run_used():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n"
        "  - {name: fc1, type: Affine, out_shape: 2}\n  - {name: t, type: Tanh}\n"
    )
    x = np.array([[0.5, -0.25, 1.0]])
    result = nnspec.run(spec, {"x": x})
    named = result.parameters
    assert sorted(named) == ["fc1/affine/W", "fc1/affine/b"]  # nnabla's {scope}/affine/{name}
    expected = np.tanh(x @ named["fc1/affine/W"] + named["fc1/affine/b"])
    assert np.allclose(result.outputs["t"], expected, atol=1e-6)
