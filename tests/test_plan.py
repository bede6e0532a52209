"""The plan of a batch as one generated function (nnspec.runtime.plan): it computes what the statistics
loop computes, its text holds nothing of the spec's, and its code is kept but not without bound."""

from __future__ import annotations

import linecache
import traceback

import numpy as np
import pytest

import nnspec
from nnspec.layers.catalog import layer_types
from nnspec.runtime import plan

from .conftest import SPECS

pytestmark = pytest.mark.filterwarnings("ignore::nnspec.RangeWarning")

CHAIN = """\
nnspec: 1
layers:
  - {{name: {x}, type: Input, size: [6]}}
  - {{name: {a}, type: Affine, out_shape: 5}}
  - {{name: {t}, type: Tanh}}
  - {{name: {b}, type: Affine, out_shape: 3}}
  - {{name: {r}, type: ReLU}}
"""


def _plan(spec: nnspec.Spec, statistics: bool = False) -> plan.Plan:
    runner = nnspec.prepare(spec, statistics=statistics)
    return plan.make_plan(spec, spec.order, runner.layer_parameters, {}, statistics, ["x"])


def _source(spec: nnspec.Spec) -> str:
    p = _plan(spec)
    return plan.source_of(p.steps, p.data, tuple(p.slots[name] for name in spec.outputs))


@pytest.mark.parametrize("example", sorted(path.name for path in SPECS.glob("*.yaml")))
def test_the_generated_function_computes_what_the_statistics_loop_computes(example):
    spec = nnspec.load(SPECS / example)
    generated = nnspec.run(spec, samples=7, statistics=False)  # the plan's function, writing in place
    looped = nnspec.run(spec, samples=7)  # the statistics loop: every step in turn, nothing in place
    assert generated.outputs.keys() == looped.outputs.keys()
    for name in looped.outputs:
        np.testing.assert_array_equal(generated.outputs[name], looped.outputs[name])


def test_the_text_of_the_function_holds_no_name_from_the_spec():
    plain = nnspec.loads(CHAIN.format(x="x", a="a", t="t", b="b", r="r"))
    # names the function's own variables have: were they written in, they would clash
    odd = nnspec.loads(CHAIN.format(x="x", a="tensors", t="owns", b="forward1", r="batch"))
    assert _source(plain) == _source(odd)


def test_a_layer_that_writes_in_place_does_so_only_over_an_array_the_run_owns():
    source = _source(nnspec.loads(CHAIN.format(x="x", a="a", t="t", b="b", r="r")))
    # Affine makes its output itself (fresh_output): Tanh may write over it, with no check
    assert "owned2 = True" in source
    assert "if owned2:\n            t3 = in_place2(t2, out=t2)\n        else:\n            t3 = forward2(" in source
    assert "del t2" in source  # Affine's output, read by Tanh alone, dies after it
    # Input passes the caller's data on: whether the run owns it is asked, and the answer is no
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3]}\n  - {name: t, type: Tanh}\n")
    assert "owned1 = owns(t1, [t0], params0)" in _source(spec)
    x = np.array([[0.5, -2.0, 9.0]], np.float32)
    kept = x.copy()
    np.testing.assert_array_equal(nnspec.run(spec, {"x": x}, statistics=False).outputs["t"], np.tanh(kept))
    np.testing.assert_array_equal(x, kept)


def test_a_plan_for_statistics_has_no_function_and_writes_nothing_in_place():
    spec = nnspec.loads(CHAIN.format(x="x", a="a", t="t", b="b", r="r"))
    measured = _plan(spec, statistics=True)
    assert measured.forward is None
    assert all(step.in_place is None for step in measured.steps)


def test_a_traceback_through_the_function_shows_its_lines():
    spec = nnspec.loads(CHAIN.format(x="x", a="a", t="t", b="b", r="r"))
    p = _plan(spec)
    tensors = [np.ones((2, 7), np.float32)] + [None] * len(p.steps)  # 7 values where the Affine takes 6
    with pytest.raises(ValueError) as caught:
        p.forward(tensors)
    text = "".join(traceback.format_exception(caught.value))
    assert "<nnspec batch" in text and "t2 = forward1([t1])" in text


def test_compiled_functions_are_kept_for_the_next_run_but_not_without_bound():
    spec = nnspec.loads(CHAIN.format(x="x", a="a", t="t", b="b", r="r"))
    p = _plan(spec)
    structure = plan._structure(p.steps, p.data, (p.slots["r"],))
    first = plan._factory(structure, p.steps)
    again = _plan(nnspec.loads(CHAIN.format(x="x", a="b", t="c", b="d", r="e")))  # another spec, the same structure
    assert plan._factory(plan._structure(again.steps, again.data, (again.slots["e"],)), again.steps) is first
    filename = plan._FACTORIES[structure][0]
    for data_slot in range(plan._KEEP + 5):  # as many other structures as are kept, and more
        plan._factory(((data_slot + 100,), *structure[1:]), p.steps)
    assert len(plan._FACTORIES) == plan._KEEP
    assert structure not in plan._FACTORIES and filename not in linecache.cache


def test_a_thousand_layers_run_as_one_function():
    layers = "".join(
        f"  - {{name: l{i}, type: {'Affine, out_shape: 4' if i % 2 else 'Tanh'}}}\n" for i in range(1, 1001)
    )
    spec = nnspec.loads(f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [4]}}\n{layers}")
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    generated = nnspec.run(spec, {"x": x}, statistics=False)
    looped = nnspec.run(spec, {"x": x}, checks={"scale-drift": "off"})
    np.testing.assert_array_equal(generated.outputs["l1000"], looped.outputs["l1000"])


@pytest.mark.parametrize(
    ("size", "out_shape", "with_bias"),
    [([6], 5, True), ([2, 3], 5, True), ([6], 5, False), ([6], [2, 3], True), ([1], 1, True)],
)
def test_a_bound_forward_gives_exactly_what_the_forward_gives(size, out_shape, with_bias):
    spec = nnspec.loads(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n"
        f"  - {{name: a, type: Affine, out_shape: {out_shape}, with_bias: {str(with_bias).lower()}}}\n"
    )
    layer, params = spec.layers["a"], nnspec.prepare(spec).layer_parameters["a"]
    x = np.random.default_rng(1).normal(size=(4, *size)).astype(np.float32)
    bound = layer.type.bind(layer.props, params)
    np.testing.assert_array_equal(bound([x]), layer.type.forward([x], layer.props, params))


def _fresh_output_types(shaped: bool) -> list[str]:
    """The types said to make their output, with (Affine's kind) or without an out_shape."""
    return sorted(
        name
        for name, t in layer_types().items()
        if t.fresh_output and shaped == any(p.name == "out_shape" for p in t.properties)
    )


def _assert_outputs_fresh(spec_text: str, x: np.ndarray) -> None:
    spec = nnspec.loads(spec_text)
    layer, params = spec.layers["a"], nnspec.prepare(spec).layer_parameters["a"]
    outputs = [layer.type.forward([x], layer.props, params)]
    if layer.type.bind is not None:
        outputs.append(layer.type.bind(layer.props, params)([x]))
    for output in outputs:
        assert not any(np.shares_memory(output, given) for given in [x, *params.values()])


@pytest.mark.parametrize("name", _fresh_output_types(shaped=True))
@pytest.mark.parametrize(("out_shape", "with_bias"), [(5, True), (5, False), ([2, 3], True)])
def test_a_layer_said_to_make_its_output_never_returns_an_input_or_a_parameter(name, out_shape, with_bias):
    _assert_outputs_fresh(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [2, 3]}}\n"
        f"  - {{name: a, type: {name}, out_shape: {out_shape}, with_bias: {str(with_bias).lower()}}}\n",
        np.random.default_rng(2).normal(size=(4, 2, 3)).astype(np.float32),
    )


@pytest.mark.parametrize("name", _fresh_output_types(shaped=False))
def test_a_layer_of_its_input_shape_said_to_make_its_output_never_returns_its_input(name):
    _assert_outputs_fresh(
        f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [2, 3]}}\n  - {{name: a, type: {name}}}\n",
        np.random.default_rng(2).normal(size=(4, 2, 3)).astype(np.float32),
    )
