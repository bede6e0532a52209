"""Units (nnspec.spec.units) and named networks (nnspec.spec.networks): a spec with units must give
bit-identical outputs and statistics to the same network written out by hand, its parameters read
from the same .npz under the names NNC gives them (FireModule_3/Squeeze/conv/W)."""

from __future__ import annotations

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError

FIRE = """
networks:
  FireModule:
    arguments:
      SqueezeMaps: {type: PInt, value: 4}
      ExpandMaps: {type: PInt, value: 8}
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: Squeeze, type: Convolution, out_maps: =SqueezeMaps, kernel_shape: [1, 1], border_mode: valid}
      - {name: SqueezeReLU, type: ReLU}
      - {name: Expand1x1, type: Convolution, out_maps: =ExpandMaps, kernel_shape: [1, 1], border_mode: valid}
      - {name: Expand1x1ReLU, type: ReLU}
      - {name: Expand3x3, type: Convolution, input: SqueezeReLU, out_maps: =ExpandMaps, kernel_shape: [3, 3]}
      - {name: Expand3x3ReLU, type: ReLU}
      - {name: Concatenate, type: Concatenate, input: [Expand1x1ReLU, Expand3x3ReLU]}
"""

WITH_UNITS = (
    "nnspec: 1\n"
    + FIRE
    + """
arguments:
  Base: {type: PInt, value: 3}
layers:
  - {name: x, type: Input, size: [3, 6, 6]}
  - {name: FireModule_3, type: Unit, network: FireModule, arguments: {SqueezeMaps: 2, ExpandMaps: 3}}
  - name: FireModule_4
    type: Unit
    network: FireModule
    arguments: {SqueezeMaps: "=Input[0]/3", ExpandMaps: "=Base*2"}
  - {name: Pool, type: AveragePooling, kernel_shape: [6, 6]}
"""
)


def _fire_by_hand(unit: str, source: str, squeeze: int, expand: int) -> str:
    """One FireModule written out, its layers named U_Inner, its parameters scoped U/Inner as a unit's."""
    u = unit
    return f"""
  - {{name: {u}_Squeeze, type: Convolution, input: {source}, out_maps: {squeeze}, kernel_shape: [1, 1],
     border_mode: valid, parameter_scope: {u}/Squeeze}}
  - {{name: {u}_SqueezeReLU, type: ReLU}}
  - {{name: {u}_Expand1x1, type: Convolution, out_maps: {expand}, kernel_shape: [1, 1], border_mode: valid,
     parameter_scope: {u}/Expand1x1}}
  - {{name: {u}_Expand1x1ReLU, type: ReLU}}
  - {{name: {u}_Expand3x3, type: Convolution, input: {u}_SqueezeReLU, out_maps: {expand}, kernel_shape: [3, 3],
     parameter_scope: {u}/Expand3x3}}
  - {{name: {u}_Expand3x3ReLU, type: ReLU}}
  - {{name: {u}_Concatenate, type: Concatenate, input: [{u}_Expand1x1ReLU, {u}_Expand3x3ReLU]}}"""


BY_HAND = (
    "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 6, 6]}"
    + _fire_by_hand("FireModule_3", "x", 2, 3)
    + _fire_by_hand("FireModule_4", "FireModule_3_Concatenate", 2, 6)
    + "\n  - {name: Pool, type: AveragePooling, kernel_shape: [6, 6]}\n"
)


def _parameters(spec: nnspec.Spec, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        layer.parameter_key(name): rng.normal(size=shape).astype(np.float32)
        for layer in spec.layers.values()
        for name, shape in layer.parameter_shapes.items()
    }


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_units_give_the_outputs_and_statistics_of_the_network_written_out(tmp_path):
    units = nnspec.load(_write(tmp_path, "units.yaml", WITH_UNITS))
    hand = nnspec.load(_write(tmp_path, "hand.yaml", BY_HAND))
    params = _parameters(hand)
    np.savez(tmp_path / "params.npz", **params)
    assert sorted(_parameters(units)) == sorted(params)  # the same names: FireModule_3/Squeeze/conv/W
    assert "FireModule_4/Expand3x3/conv/W" in params
    x = np.random.default_rng(0).normal(size=(5, 3, 6, 6)).astype(np.float32)
    got = nnspec.run(units, {"x": x}, params=tmp_path / "params.npz")
    want = nnspec.run(hand, {"x": x}, params=tmp_path / "params.npz")
    assert np.array_equal(got.outputs["Pool"], want.outputs["Pool"])
    for name in hand.layers:
        expanded = name.replace("_3_", "_3/").replace("_4_", "_4/")
        assert got.stats[expanded].output.mean == want.stats[name].output.mean, name
        assert got.stats[expanded].output.std == want.stats[name].output.std, name


def test_unit_layers_are_named_as_nnc_names_them_and_their_arguments_evaluated_per_call(tmp_path):
    spec = nnspec.load(_write(tmp_path, "units.yaml", WITH_UNITS))
    assert list(spec.layers)[1:3] == ["FireModule_3/Squeeze", "FireModule_3/SqueezeReLU"]
    assert spec.layers["FireModule_3/Expand3x3"].shape == (3, 6, 6)
    assert spec.layers["FireModule_4/Squeeze"].shape == (2, 6, 6)  # =Input[0]/3 of the 6 maps it receives
    assert spec.layers["FireModule_4/Concatenate"].shape == (12, 6, 6)  # 2 x =Base*2
    assert spec.units["FireModule_4"].output == "FireModule_4/Concatenate"
    assert list(spec.written_layers) == ["x", "FireModule_3", "FireModule_4", "Pool"]


def test_outputs_may_name_a_unit_or_an_expanded_layer(tmp_path):
    text = WITH_UNITS + "outputs: [FireModule_3, FireModule_4/Squeeze]\n"
    spec = nnspec.load(_write(tmp_path, "units.yaml", text))
    assert spec.outputs == ["FireModule_3/Concatenate", "FireModule_4/Squeeze"]


NESTED = """nnspec: 1
networks:
  Inner:
    arguments: {Maps: {type: PInt, value: 2}}
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: Conv, type: Convolution, out_maps: =Maps, kernel_shape: [3, 3]}
      - {name: Act, type: Tanh}
  Outer:
    arguments: {Width: {type: PInt, value: 2}}
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: A, type: Unit, network: Inner, arguments: {Maps: =Width}}
      - {name: B, type: Unit, network: Inner, arguments: {Maps: "=Input[0]+1"}}
layers:
  - {name: x, type: Input, size: [2, 5, 5]}
  - {name: O, type: Unit, network: Outer, arguments: {Width: 3}}
"""

NESTED_BY_HAND = """nnspec: 1
layers:
  - {name: x, type: Input, size: [2, 5, 5]}
  - {name: O_A_Conv, type: Convolution, out_maps: 3, kernel_shape: [3, 3], parameter_scope: O/A/Conv}
  - {name: O_A_Act, type: Tanh}
  - {name: O_B_Conv, type: Convolution, out_maps: 4, kernel_shape: [3, 3], parameter_scope: O/B/Conv}
  - {name: O_B_Act, type: Tanh}
"""


def test_nested_units_join_names_scopes_and_arguments(tmp_path):
    spec = nnspec.load(_write(tmp_path, "nested.yaml", NESTED))
    hand = nnspec.load(_write(tmp_path, "hand.yaml", NESTED_BY_HAND))
    assert list(spec.layers) == ["x", "O/A/Conv", "O/A/Act", "O/B/Conv", "O/B/Act"]
    assert spec.layers["O/B/Conv"].parameter_key("W") == "O/B/Conv/conv/W"
    assert spec.layers["O/B/Act"].shape == (4, 5, 5)  # Input[0]+1 of A's 3 maps
    assert set(spec.units) == {"O", "O/A", "O/B"}
    params = _parameters(hand)
    x = np.random.default_rng(2).normal(size=(3, 2, 5, 5))
    got, want = nnspec.run(spec, {"x": x}, params=params), nnspec.run(hand, {"x": x}, params=params)
    assert np.array_equal(got.outputs["O/B/Act"], want.outputs["O_B_Act"])


def test_a_unit_in_a_repeat_is_expanded_per_copy_and_a_repeat_in_a_unit_network_too(tmp_path):
    text = """nnspec: 1
networks:
  Block:
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: RepeatStart, type: RepeatStart, times: 2}
      - {name: Affine, type: Affine, out_shape: 4}
      - {name: RepeatEnd, type: RepeatEnd}
layers:
  - {name: x, type: Input, size: [4]}
  - {name: RepeatStart, type: RepeatStart, times: 2}
  - {name: Fire, type: Unit, network: Block}
  - {name: RepeatEnd, type: RepeatEnd}
"""
    spec = nnspec.load(_write(tmp_path, "repeat.yaml", text))
    assert list(spec.layers) == [
        "x",
        "Fire[0]/Affine[0]",
        "Fire[0]/Affine[1]",
        "Fire[1]/Affine[0]",
        "Fire[1]/Affine[1]",
    ]
    assert spec.layers["Fire[1]/Affine[0]"].inputs == ["Fire[0]/Affine[1]"]
    assert spec.layers["Fire[1]/Affine[1]"].parameter_key("W") == "Fire[1]/Affine[1]/affine/W"
    assert spec.outputs == ["Fire[1]/Affine[1]"]


def test_an_empty_parameter_scope_shares_the_parameters_of_units_calling_one_network(tmp_path):
    text = (
        "nnspec: 1\n"
        + FIRE
        + """
layers:
  - {name: x, type: Input, size: [3, 6, 6]}
  - {name: A, type: Unit, input: x, network: FireModule, parameter_scope: ""}
  - {name: B, type: Unit, input: x, network: FireModule, parameter_scope: ""}
  - {name: C, type: Unit, input: x, network: FireModule}
"""
    )
    spec = nnspec.load(_write(tmp_path, "shared.yaml", text))
    assert (
        spec.layers["A/Squeeze"].parameter_key("W") == "Squeeze/conv/W" == spec.layers["B/Squeeze"].parameter_key("W")
    )
    assert spec.layers["C/Squeeze"].parameter_key("W") == "C/Squeeze/conv/W"
    x = np.random.default_rng(3).normal(size=(2, 3, 6, 6))
    result = nnspec.run(spec, {"x": x})
    assert np.array_equal(result.outputs["A/Concatenate"], result.outputs["B/Concatenate"])
    assert not np.array_equal(result.outputs["A/Concatenate"], result.outputs["C/Concatenate"])


def test_a_unit_sets_the_inner_layers_parameters(tmp_path):
    text = (
        "nnspec: 1\n"
        + FIRE
        + """
layers:
  - {name: x, type: Input, size: [3, 6, 6]}
  - name: F
    type: Unit
    network: FireModule
    parameters: {Squeeze: {W: {initializer: Constant, multiplier: 2, lrate_multiplier: 0}}}
"""
    )
    spec = nnspec.load(_write(tmp_path, "override.yaml", text))
    source = spec.layers["F/Squeeze"].parameters["W"]
    assert (source.initializer, source.multiplier, source.lrate_multiplier) == ("Constant", 2.0, 0.0)
    assert spec.layers["F/Expand1x1"].parameters["W"].initializer != "Constant"


def test_network_runs_a_named_network(tmp_path):
    path = _write(tmp_path, "units.yaml", WITH_UNITS.replace("size: [1]", "size: [3, 6, 6]"))
    spec = nnspec.load(path, network="FireModule")
    assert spec.network == "FireModule"
    assert spec.layers["Squeeze"].shape == (4, 6, 6)  # the network's own argument values
    assert spec.outputs == ["Concatenate"]
    result = nnspec.run(path, {"Input": np.ones((1, 3, 6, 6))}, network="FireModule")
    assert result.outputs["Concatenate"].shape == (1, 16, 6, 6)
    with pytest.raises(UsageError, match="did you mean 'FireModule'"):
        nnspec.load(path, network="FireModul")


def test_cli_network_and_collapsed_graph(tmp_path, capsys):
    path = _write(tmp_path, "units.yaml", WITH_UNITS.replace("size: [1]", "size: [3, 6, 6]"))
    assert main(["validate", str(path), "--network", "FireModule"]) == 0
    assert main(["validate", str(path), "--network", "Nope"]) == 2
    capsys.readouterr()
    assert main(["graph", str(path)]) == 0
    dot = capsys.readouterr().out
    assert 'subgraph "cluster_FireModule_3"' in dot and '"FireModule_3/Squeeze";' in dot
    assert main(["graph", str(path), "--collapse-units"]) == 0
    dot = capsys.readouterr().out
    assert '"x" -> "FireModule_3";' in dot and "cluster" not in dot


def test_print_resolved_writes_networks_and_units_as_written(tmp_path, capsys):
    path = _write(tmp_path, "units.yaml", WITH_UNITS)
    assert main(["validate", str(path), "--print-resolved"]) == 0
    text = capsys.readouterr().out
    assert "networks:\n  FireModule:\n" in text and "type: Unit" in text and "FireModule_3/" not in text
    again = _write(tmp_path, "again.yaml", text)
    assert list(nnspec.load(again).layers) == list(nnspec.load(path).layers)


def test_static_analysis_sees_through_units(tmp_path):
    text = """nnspec: 1
networks:
  Big:
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: Scale, type: MulScalar, value: 1000}
      - {name: Act, type: Tanh}
layers:
  - {name: x, type: Input, size: [4], range: [-1, 1]}
  - {name: U, type: Unit, network: Big}
"""
    path = _write(tmp_path, "static.yaml", text)
    found = nnspec.validate(path)
    saturated = [d for d in found if d.code == "tanh-hard-saturation"]
    assert [(d.layer, d.line, d.severity) for d in saturated] == [("U/Act", 7, "warning")], found
    assert "scaled x1e+03 by 'U/Scale'" in saturated[0].message  # the cause, named as expanded


def test_an_error_inside_a_unit_carries_the_written_path_and_names_the_copy(tmp_path):
    text = """nnspec: 1
networks:
  Block:
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: Conv, type: Convolution, out_maps: 2, kernel_shape: [9, 9], border_mode: valid}
layers:
  - {name: x, type: Input, size: [3, 8, 8]}
  - {name: Block_1, type: Unit, network: Block}
"""
    (error,) = nnspec.validate(_write(tmp_path, "inner.yaml", text))
    assert error.path == ("networks", "Block", "layers", 1, "kernel_shape")
    assert (error.line, error.layer, error.code) == (6, "Block_1/Conv", "shape")
    assert error.message.startswith("layer 'Block_1/Conv' (Convolution) receives x (3, 8, 8)")


def test_the_drawn_graph_boxes_each_unit_and_can_collapse_it(tmp_path):
    pytest.importorskip("matplotlib")
    path = _write(tmp_path, "units.yaml", WITH_UNITS)
    svg = nnspec.graph(path, "svg").decode()
    assert "FireModule_3 (Unit: FireModule)" in svg and "FireModule_4/Squeeze" in svg
    collapsed = nnspec.graph(path, "svg", collapse_units=True).decode()
    assert "FireModule_4/Squeeze" not in collapsed and "network: FireModule" in collapsed
    whole = _write(tmp_path, "whole.yaml", WITH_UNITS.replace("size: [1]", "size: [3, 6, 6]"))
    one = nnspec.graph(whole, "dot", network="FireModule").decode()
    assert '"Squeeze" -> "SqueezeReLU";' in one and "cluster" not in one


def test_a_units_layer_plot_is_a_file_in_the_plots_directory():
    from nnspec.report.pictures.plots import plot_file_names

    assert plot_file_names(["Fire/Squeeze", "Fire[0]/Conv[1]"]) == {
        "Fire/Squeeze": "Fire.Squeeze.png",
        "Fire[0]/Conv[1]": "Fire[0].Conv[1].png",
    }


def test_network_on_a_spec_without_networks_says_so(tmp_path):
    path = _write(tmp_path, "plain.yaml", "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n")
    with pytest.raises(UsageError, match="no networks: section, only its main network"):
        nnspec.validate(path, network="Main")


def test_a_boolean_argument_passes_down_through_nested_units_as_nncs_macros_do(tmp_path):
    """NNC's unetlike project: the caller gives UNetBS, the unit passes ConvBS=*UNetBS down to BatchStat."""
    text = """nnspec: 1
networks:
  Conv:
    arguments: {ConvBS: {type: BooleanOrMacro, value: true}}
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: BN, type: BatchNormalization, batch_stat: =ConvBS}
  UNet:
    arguments: {UNetBS: {type: BooleanOrMacro, value: true}}
    layers:
      - {name: Input, type: Input, size: [1]}
      - {name: C, type: Unit, network: Conv, arguments: {ConvBS: =UNetBS}}
layers:
  - {name: x, type: Input, size: [2, 3, 3]}
  - {name: Train, type: Unit, network: UNet, arguments: {UNetBS: true}}
  - {name: Test, type: Unit, input: x, network: UNet, arguments: {UNetBS: false}}
"""
    spec = nnspec.load(_write(tmp_path, "macro.yaml", text))
    assert spec.layers["Train/C/BN"].props["batch_stat"] is True
    assert spec.layers["Test/C/BN"].props["batch_stat"] is False


def test_units_nested_deeper_than_the_limit_are_an_error_not_a_crash(tmp_path, capsys):
    """A chain of 1,000 networks each calling the next (100 KB of YAML, within the size limit)
    overflowed Python's stack (scripts/robustness.py, hostile .sdcproj): a located error now."""
    from nnspec.spec.units import MAX_UNIT_DEPTH

    depth = 1000
    lines = ["nnspec: 2", "layers:", "  - {name: x, type: Input, size: [4]}", "  - {name: u, type: Unit, network: N1}"]
    lines.append("networks:")
    for k in range(1, depth + 1):
        last = "{name: t, type: Tanh}" if k == depth else f"{{name: u, type: Unit, network: N{k + 1}}}"
        lines += [f"  N{k}:", "    layers:", "      - {name: i, type: Input, size: [4]}", f"      - {last}"]
    path = tmp_path / "deep.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    line = 5 + 4 * (MAX_UNIT_DEPTH - 1) + 4  # the unit of N64's layers, calling N65
    assert (
        f"deep.yaml:{line}:" in err and f"calls network 'N{MAX_UNIT_DEPTH + 1}' {MAX_UNIT_DEPTH + 1} units deep" in err
    )
    assert f"units nest at most {MAX_UNIT_DEPTH} deep" in err and "internal error" not in err
    assert err.count("error:") == 1


def test_units_nested_to_the_limit_run(tmp_path):
    from nnspec.spec.units import MAX_UNIT_DEPTH

    lines = ["nnspec: 2", "layers:", "  - {name: x, type: Input, size: [4]}", "  - {name: u, type: Unit, network: N1}"]
    lines.append("networks:")
    for k in range(1, MAX_UNIT_DEPTH + 1):
        last = "{name: t, type: Tanh}" if k == MAX_UNIT_DEPTH else f"{{name: u, type: Unit, network: N{k + 1}}}"
        lines += [f"  N{k}:", "    layers:", "      - {name: i, type: Input, size: [4]}", f"      - {last}"]
    path = tmp_path / "deep.yaml"
    path.write_text("\n".join(lines) + "\n")
    x = np.linspace(-2, 2, 8).reshape(2, 4)
    result = nnspec.run(nnspec.load(path), {"x": x})
    (output,) = result.outputs.values()
    np.testing.assert_allclose(output, np.tanh(x), rtol=1e-6)
