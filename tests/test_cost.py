"""The model summary: each layer's cost per sample, against counts made by hand from NNC's formulas
(sony/nnc-desktop settings/NNabla/layer_component/*.txt) and the layer's arithmetic."""

from __future__ import annotations

import json

import jsonschema
import pytest

import nnspec
from nnspec.cli import main
from nnspec.layers.cost import NOT_COUNTED, Cost
from nnspec.spec.summary import layer_costs, total_parameters

from .conftest import ROOT, SPECS


def costs_of(layers: str) -> dict[str, Cost]:
    return layer_costs(nnspec.loads("nnspec: 1\nlayers:\n" + layers))


def test_affine_counts_its_weights_and_one_multiply_add_per_weight():
    costs = costs_of(
        "  - {name: x, type: Input, size: [3, 4]}\n"
        "  - {name: fc, type: Affine, out_shape: 5}\n"
        "  - {name: nobias, type: Affine, out_shape: 2, with_bias: false}\n"
    )
    # 12 inputs x 5 outputs = 60 weights, 5 biases; each weight one multiply-add, each bias one add
    assert costs["fc"] == Cost(parameter=65, multiply_add=60, add=5)
    assert costs["nobias"] == Cost(parameter=10, multiply_add=10)
    assert costs["x"] == Cost()  # NNC declares no cost for an Input


def test_convolution_counts_a_multiply_add_per_weight_each_output_reads():
    costs = costs_of(
        "  - {name: x, type: Input, size: [4, 8, 8]}\n"
        "  - {name: conv, type: Convolution, out_maps: 6, kernel_shape: [3, 3], border_mode: valid}\n"
        "  - {name: grouped, type: Convolution, out_maps: 4, kernel_shape: [3, 3], group: 2, border_mode: same}\n"
    )
    # conv: W 6x4x3x3 = 216 + 6 biases; output 6x6x6 = 216 values, each reading 4*3*3 = 36 weights
    assert costs["conv"] == Cost(parameter=222, multiply_add=216 * 36, add=216)
    # grouped: input 6x6x6, 3 maps a group: W 4x3x3x3 = 108 + 4; output 4x6x6 = 144 values, each 27 weights
    assert costs["grouped"] == Cost(parameter=112, multiply_add=144 * 27, add=144)


def test_depthwise_convolution_reads_one_input_map_per_output_value():
    costs = costs_of(
        "  - {name: x, type: Input, size: [3, 6, 6]}\n"
        "  - {name: dw, type: DepthwiseConvolution, kernel_shape: [3, 3], multiplier: 2}\n"
    )
    # 6 maps of 4x4 (valid), each value reading its 3x3 kernel: W 6x3x3 = 54 + 6 biases
    assert costs["dw"] == Cost(parameter=60, multiply_add=96 * 9, add=96)


def test_deconvolution_counts_as_nnc_a_multiply_add_per_output_value_and_weight_of_its_map():
    costs = costs_of(
        "  - {name: x, type: Input, size: [2, 3, 3]}\n"
        "  - {name: up, type: Deconvolution, out_maps: 4, kernel_shape: [2, 2], strides: [2, 2]}\n"
        "  - {name: dwup, type: DepthwiseDeconvolution, kernel_shape: [3, 3], divisor: 2}\n"
    )
    # W 2x4x2x2 = 32 + 4 biases; output 4x6x6 = 144 values, each (NNC's count, the stride's zeros
    # included) 2 input maps x 4 taps; one bias add each
    assert costs["up"] == Cost(parameter=36, multiply_add=144 * 8, add=144)
    # input 4x6x6, W 4x3x3 = 36 + 2 biases; output 2x8x8 = 128 values, each 3x3 taps
    assert costs["dwup"] == Cost(parameter=38, multiply_add=128 * 9, add=128)


def test_batch_normalization_and_nnc_per_value_formulas():
    costs = costs_of(
        "  - {name: x, type: Input, size: [4, 5, 5]}\n"
        "  - {name: bn, type: BatchNormalization}\n"
        "  - {name: t, type: Tanh}\n"
        "  - {name: pool, type: MaxPooling, kernel_shape: [2, 2]}\n"
        "  - {name: s, type: Softmax}\n"
    )
    # beta, gamma, mean, var: 4 channels each; NNC: CostAdd = CostMultiply = |Input| (100)
    assert costs["bn"] == Cost(parameter=16, add=100, multiply=100)
    # Tanh: CostAdd = |Input| + |Input|, CostDivision = CostExp = |Input|
    assert costs["t"] == Cost(add=200, division=100, exp=100)
    # MaxPooling: CostIf = |Output| * |KernelShape| = (4*2*2) * 4
    assert costs["pool"] == Cost(if_=64)
    assert costs["s"] == Cost(add=16, exp=16, division=16)


def test_a_layer_type_without_a_known_rule_is_marked_not_counted():
    from nnspec.layers.cost import layer_cost

    cost = layer_cost("SomeFutureLayer", [(2, 3)], (2, 3), {}, {})
    assert cost == NOT_COUNTED and not cost.counted


def test_batch_matmul_counts_the_summed_axis_for_every_output_value():
    costs = costs_of(
        "  - {name: a, type: Input, size: [2, 3, 4]}\n"
        "  - {name: b, type: Input, size: [1, 4, 5]}\n"
        "  - {name: m, type: BatchMatmul, input: [a, b]}\n"
    )
    # output 2x3x5 (b broadcast over the leading axis), each value a sum of 4 products
    assert costs["m"] == Cost(multiply_add=2 * 3 * 5 * 4)


def test_every_layer_type_has_a_decided_count():
    """A new layer type gets NNC's formula, NNC's "no cost", or an explicit "not counted"."""
    from nnspec.layers.catalog import layer_types
    from nnspec.layers.cost import NO_COST, OWN_RULES, PER_VALUE, UNKNOWN

    groups = [set(PER_VALUE), set(OWN_RULES), set(NO_COST), set(UNKNOWN)]
    assert sum(len(group) for group in groups) == len(set().union(*groups))  # no type in two groups
    assert set(layer_types()) - set().union(*groups) == set()


def test_lenet_total_against_a_hand_count():
    spec = nnspec.load(SPECS / "lenet.yaml")
    costs = layer_costs(spec)
    # conv1 6x(1x5x5)+6, conv2 16x(6x5x5)+16, fc1 256x120+120, fc2 120x84+84, fc3 84x10+10
    assert total_parameters(spec) == 156 + 2416 + 30840 + 10164 + 850 == 44426
    # conv1 (6x24x24)x25, conv2 (16x8x8)x150, then one per Affine weight
    multiply_adds = 6 * 24 * 24 * 25 + 16 * 8 * 8 * 150 + 256 * 120 + 120 * 84 + 84 * 10
    assert sum(cost.multiply_add for cost in costs.values()) == multiply_adds == 281640


def test_shared_parameters_are_counted_once_in_the_total():
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n"
        "  - {name: x, type: Input, size: [3]}\n"
        "  - {name: a, type: Affine, out_shape: 3, parameter_scope: shared}\n"
        "  - {name: b, type: Affine, out_shape: 3, parameter_scope: shared}\n"
    )
    assert [cost.parameter for cost in layer_costs(spec).values()] == [0, 12, 12]  # per layer, as NNC shows
    assert total_parameters(spec) == 12


def test_validate_summary_prints_the_table_with_separators_and_a_total(capsys):
    assert main(["validate", "--summary", str(SPECS / "lenet.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    # a run of LeNet's generators makes 100 samples, in one batch unless --batch-size says otherwise
    assert lines[0].endswith("bytes: each output's size, per sample and for a batch of 100")
    assert lines[1].split() == ["layer", "type", "output", "parameters", "multiply-adds", "bytes/sample", "bytes/batch"]
    assert lines[4].split() == ["conv1", "Convolution", "(6,", "24,", "24)", "156", "86,400", "13,824", "1,382,400"]
    # bytes: every output of one sample at float32, 4 bytes a value
    outputs = 784 + 2 * 3456 + 864 + 2 * 1024 + 256 + 2 * 120 + 2 * 84 + 2 * 10
    total = next(line for line in lines if line.startswith("total"))
    assert total.split() == ["total", "44,426", "281,640", f"{outputs * 4:,}", f"{outputs * 4 * 100:,}"]


def test_validate_summary_is_refused_with_a_format_that_uses_stdout(capsys):
    assert main(["validate", "--summary", "--format", "json", str(SPECS / "lenet.yaml")]) == 2
    assert "--summary prints a table on stdout" in capsys.readouterr().err


def test_json_report_carries_each_layers_cost(capsys):
    assert main(["run", "--format", "json", str(SPECS / "lenet.yaml")]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, json.loads((ROOT / "schemas" / "report.schema.json").read_text()))
    cost = {layer["name"]: layer["cost"] for layer in report["layers"]}
    assert cost["fc1"] == {
        "parameter": 30840,
        "add": 120,
        "multiply": 0,
        "multiply_add": 30720,
        "division": 0,
        "exp": 0,
        "if": 0,
        "counted": True,
    }


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_summarizes(path, capsys):
    assert main(["validate", "--summary", str(path)]) in (0, 1)
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("total") for line in lines)
    assert any(line.startswith("peak memory: about") for line in lines)


# --- against NNC's own figures -------------------------------------------------------------------
# tests/fixtures/nnc/costs.json: what NNC's program (nncd_console_cli_util complete, sony/nnc-desktop)
# fills in as each layer's Cost* for specs/lenet.yaml and a chain of every convolution kind; see
# scripts/make_nnc_cost_fixture.py. NNC_FIELDS: its property names, as the JSON report names them.
NNC_FIELDS = {
    "CostParameter": "parameter",
    "CostAdd": "add",
    "CostMultiply": "multiply",
    "CostMultiplyAdd": "multiply_add",
    "CostDivision": "division",
    "CostExp": "exp",
    "CostIf": "if",
}
# Where nnspec counts otherwise, on purpose: NNC's DepthwiseDeconvolution declares W as
# (in_maps x divisor, kernel), nnabla's array is (in_maps, kernel): 8x2x2 = 32 + 4 biases, not 68.
# MeanSubtraction declares no CostParameter: NNC shows none for its running mean (2x3x5) and count (1).
NNC_DIFFERS = {("nnc-costs", "dwup", "parameter"): (36, 68), ("nnc-open", "mean", "parameter"): (31, 0)}


def nnc_figures() -> dict:
    return json.loads((ROOT / "tests" / "fixtures" / "nnc" / "costs.json").read_text())


@pytest.mark.parametrize("project", ["lenet", "nnc-costs", "nnc-open"])
def test_every_figure_equals_nncs_own(project):
    figures = nnc_figures()
    spec = nnspec.load(SPECS / "lenet.yaml") if project == "lenet" else nnspec.loads(figures["specs"][project])
    costs = layer_costs(spec)
    nnc = figures["projects"][project]
    assert list(nnc) == list(spec.order)
    for name, found in nnc.items():
        assert list(spec.layers[name].inferred_shape) == found["Output"], name
        ours = costs[name].as_dict()
        for nnc_name, field in NNC_FIELDS.items():
            expected = found.get(nnc_name, 0)
            if (project, name, field) in NNC_DIFFERS:
                assert (ours[field], expected) == NNC_DIFFERS[project, name, field]
            else:
                assert ours[field] == expected, (name, field)


def test_lenet_convolutions_follow_nncs_formula_by_hand():
    """NNC's *ConvolutionMultiplyAddSize: |Output| x in_maps/group x |kernel|; CostAdd: WithBias x |Output|;
    CostParameter: |W| + |b| (*SumParameterSize)."""
    costs = layer_costs(nnspec.load(SPECS / "lenet.yaml"))
    # conv1: 1x28x28 -> 6x24x24 (5x5 valid), one input map
    assert costs["conv1"] == Cost(parameter=6 * 1 * 5 * 5 + 6, add=6 * 24 * 24, multiply_add=(6 * 24 * 24) * 1 * 5 * 5)
    # conv2: 6x12x12 -> 16x8x8, six input maps
    assert costs["conv2"] == Cost(parameter=16 * 6 * 5 * 5 + 16, add=16 * 8 * 8, multiply_add=(16 * 8 * 8) * 6 * 5 * 5)
    assert (costs["conv1"].multiply_add, costs["conv2"].multiply_add) == (86_400, 153_600)
