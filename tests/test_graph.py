"""Wiring and shapes: the graph a spec describes."""

from __future__ import annotations

import pytest

import nnspec
from nnspec.core.diagnostics import SpecError


def test_inputs_default_to_the_previous_layer_and_may_name_later_ones():
    spec = nnspec.loads(
        """
nnspec: 1
layers:
  - {name: x, type: Input, size: [3]}
  - {name: t, type: Tanh}
  - {name: sum, type: Add2, input: [t, late]}
  - {name: late, type: ReLU, input: x}
"""
    )
    assert spec.layers["t"].inputs == ["x"]
    assert spec.layers["sum"].inputs == ["t", "late"]
    assert sorted(spec.graph.edges) == [("late", "sum"), ("t", "sum"), ("x", "late"), ("x", "t")]
    assert spec.outputs == ["sum"]  # the only layer nobody reads


def test_the_spec_keeps_the_order_its_layers_run_in():
    """Each layer after every layer it reads; among layers free to run, the one written first."""
    spec = nnspec.loads(
        """
nnspec: 1
layers:
  - {name: x, type: Input, size: [3]}
  - {name: sum, type: Add2, input: [late, early]}
  - {name: late, type: ReLU, input: early}
  - {name: early, type: Tanh, input: x}
  - {name: side, type: Sigmoid, input: x}
"""
    )
    # x; then early (written before side; late and sum wait for it); then late (now free, written before
    # side), then sum (free once late ran, written before side); side last
    assert spec.order == ("x", "early", "late", "sum", "side")


def test_shapes_and_parameter_shapes_are_inferred():
    spec = nnspec.loads(
        """
nnspec: 1
layers:
  - {name: x, type: Input, size: [2, 3]}
  - {name: fc, type: Affine, out_shape: [4, 5]}
  - {name: flat, type: Reshape, out_shape: 20}
  - {name: both, type: Concatenate, input: [flat, flat]}
"""
    )
    assert [spec.layers[n].shape for n in ("x", "fc", "flat", "both")] == [(2, 3), (4, 5), (20,), (40,)]
    assert spec.layers["fc"].parameter_shapes == {"W": (6, 4, 5), "b": (4, 5)}


def test_a_densely_cyclic_graph_reports_one_cycle_per_knot():
    """Listing every cycle of 25 layers that all read each other would never end."""
    names = [f"c{i}" for i in range(25)]
    layers = "\n".join(
        f"  - {{name: {n}, type: Concatenate, input: [{', '.join(m for m in names if m != n)}]}}" for n in names
    )
    text = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [2]}}\n{layers}\n"
    with pytest.raises(SpecError) as caught:
        nnspec.loads(text)
    [cycle] = caught.value.diagnostics
    assert cycle.code == "cycle" and cycle.message.startswith("the layers form a cycle: c0 -> ")


def test_a_self_loop_is_a_cycle():
    with pytest.raises(SpecError) as caught:
        nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n  - {name: t, type: Tanh, input: t}\n")
    [d] = caught.value.diagnostics
    assert (d.code, d.line, d.message) == (
        "cycle",
        4,
        "the layers form a cycle: t -> t; a network must be acyclic, but for a Delay's input (a Delay reads its "
        "input's value at the step before, in a recurrent loop)",
    )


def test_inputs_reading_one_variable_must_agree_on_its_size():
    with pytest.raises(SpecError) as caught:
        nnspec.loads(
            "nnspec: 1\nlayers:\n  - {name: a, type: Input, size: [2], dataset: x}\n"
            "  - {name: b, type: Input, size: [3], dataset: x}\n"
        )
    [d] = caught.value.diagnostics
    assert (d.code, d.line, d.column) == ("shape", 4, 34)
    assert "both read data variable 'x', but with shapes (2,) and (3,)" in d.message
