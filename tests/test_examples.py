"""The example specs stay honest: each one validates, runs, and produces exactly the
findings it exists to show; each *_fixed.yaml produces none."""

from __future__ import annotations

from pathlib import Path

import pytest

import nnspec
from nnspec.core.diagnostics import ERROR

from .conftest import SPECS

EXAMPLES = sorted(SPECS.glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/nnspec.schema.json"

# Every finding (check id, layer name) an example's run produces, info severity included.
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "seed_activations.yaml": {
        ("input-range", "x"),
        ("tanh-hard-saturation", "tanh"),
        ("sigmoid-hard-saturation", "sigmoid"),
    },
    "mlp_branches.yaml": {
        ("input-range", "x"),
        ("tanh-hard-saturation", "tanh1"),
    },
    "raw_pixels_tanh.yaml": {
        ("input-range", "x"),
        ("tanh-hard-saturation", "tanh1"),
    },
    "raw_pixels_tanh_fixed.yaml": set(),
    # Weights 16x Glorot's scale: fc1 blows up its input's spread (after a Sigmoid the
    # spread is not compared: the activation squeezes it by design).
    "deep_sigmoid.yaml": {("sigmoid-hard-saturation", f"sigmoid{i}") for i in range(1, 9)} | {("scale-drift", "fc1")},
    "deep_sigmoid_fixed.yaml": set(),
    "dead_relu_bias.yaml": {("relu-dead-units", "relu2")},
    "dead_relu_bias_fixed.yaml": set(),
    "softmax_huge_logits.yaml": {("softmax-overconfident", "probs")},
    "softmax_huge_logits_fixed.yaml": set(),
    # Untrained stored statistics (var 0): bn1 amplifies x100, and tanh1's saturation names bn1 as its cause.
    "untrained_bn.yaml": {("normalization-gain", "bn1"), ("tanh-hard-saturation", "tanh1")},
    "untrained_bn_fixed.yaml": set(),
    # N(0, 1) weights at every layer: one grouped scale-drift finding for fc1..fc20, placed at fc1.
    "exploding_stack.yaml": {("scale-drift", "fc1")},
    "exploding_stack_fixed.yaml": set(),
    # Networks shown as they are, not as a problem; LeNet on uniform noise, where every
    # sample looks alike, leaves some fully connected units dead (its description says why).
    "lenet.yaml": {("relu-dead-units", "relu3"), ("relu-dead-units", "relu4"), ("scale-drift", "conv2")},
    "bn_residual.yaml": set(),
    "digits.yaml": {("scale-drift", "fc1")},  # trained weights, larger than Glorot's scale: information only
    # Sizes from arguments and Input[k]; average pooling shrinks the spread, which fc's Glorot weights regain.
    "arguments.yaml": {("scale-drift", "fc")},
    "vae_side_inputs.yaml": set(),  # side inputs from a layer and a generator, shown as they are
    "repeat_residual.yaml": set(),  # a residual block repeated: every copy stays in scale
    # Units: on uniform noise a few expand maps of the first Fire module get only negative sums (NNC's layer names)
    "squeezenet_fire.yaml": {("relu-dead-units", "FireModule_3/Expand1x1ReLU")},
    "elman_net.yaml": set(),  # a recurrent loop unrolled over 28 steps: h stays within tanh's range
}
SHOWCASES = {
    "lenet.yaml",
    "bn_residual.yaml",
    "digits.yaml",
    "arguments.yaml",
    "vae_side_inputs.yaml",
    "repeat_residual.yaml",
    "elman_net.yaml",
}


def test_every_example_has_an_expected_entry():
    assert sorted(path.name for path in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixed_examples_are_clean_and_broken_ones_are_not(name):
    if name.endswith("_fixed.yaml"):
        assert EXPECTED[name] == set()
        broken = name.replace("_fixed.yaml", ".yaml")
        assert EXPECTED.get(broken), f"{name} fixes {broken}, which should exist and have findings"
    elif name not in SHOWCASES:
        assert EXPECTED[name], f"{name} is an example of a problem, so it should produce findings"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_written_as_documented(path: Path):
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    spec = nnspec.load(path)
    assert spec.name and spec.description


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path: Path):
    diagnostics = nnspec.validate(path)
    assert [d for d in diagnostics if d.severity == ERROR] == []
    if path.name.endswith("_fixed.yaml"):
        assert diagnostics == [], "a fixed example should not even be predicted to have a problem"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_produces_exactly_its_findings(path: Path):
    result = nnspec.run(nnspec.load(path))
    found = {(finding.check, finding.layer) for finding in result.findings}
    assert found == EXPECTED[path.name], "\n".join(f"{f.check} at {f.layer}: {f.message}" for f in result.findings)
