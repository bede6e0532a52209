"""Mutated specs end in success or in nnspec's own located errors, never in a crash.

Each case takes an example spec, changes one to three things at random (a value
replaced by one of many awkward values, a key deleted, renamed or added, an item
duplicated) and validates and runs it. The cases are seeded, so a failure repeats;
NNSPEC_MUTATIONS=N runs N of them (default 300).
"""

from __future__ import annotations

import copy
import os
import random

import pytest
import yaml

import nnspec
from nnspec.diagnostics import NnspecError, SpecError

from .conftest import SPECS

pytestmark = [  # a numpy warning reaching the user is a failure too; range findings are expected
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::nnspec.runner.RangeWarning"),
]

CASES = int(os.environ.get("NNSPEC_MUTATIONS", "300"))
AWKWARD = [
    None,
    0,
    -1,
    1,
    2,
    1.5,
    -3.2,
    1e308,
    float("nan"),
    float("inf"),
    True,
    False,
    "",
    "x",
    "fc1",
    "Tanh",
    [],
    [0],
    [1, 2],
    [-1],
    {},
    {"a": 1},
    [[1]],
    "None",
    10**30,
    [10**30],
    [1e9, 1e9],
    "t\n",
    "Affine",
]
KEYS = [
    "name",
    "type",
    "input",
    "size",
    "out_shape",
    "axis",
    "alpha",
    "with_bias",
    "generator",
    "range",
    "generator_multiplier",
    "dataset",
    "W",
    "b",
    "parameter_scope",
    "nnspec",
    "layers",
    "outputs",
    "data",
    "seed",
    "dtype",
    "initializer",
    "multiplier",
    "file",
]
BASES = [yaml.safe_load(path.read_text()) for path in sorted(SPECS.glob("*.yaml"))]


def places(node, path=()):
    yield path, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from places(child, path + (key,))


def mutate(doc, rng: random.Random):
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        path, node = rng.choice([p for p in places(doc) if p[0]])
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        roll = rng.random()
        if roll < 0.35:
            parent[path[-1]] = copy.deepcopy(rng.choice(AWKWARD))
        elif roll < 0.5:
            del parent[path[-1]]
        elif roll < 0.65 and isinstance(node, dict):
            node[rng.choice(KEYS)] = copy.deepcopy(rng.choice(AWKWARD))
        elif roll < 0.8 and isinstance(parent, list):
            parent.insert(rng.randrange(len(parent) + 1), copy.deepcopy(node))
        elif isinstance(node, dict) and node:
            node[rng.choice(KEYS)] = node.pop(rng.choice(list(node)))
    return doc


@pytest.mark.parametrize("case", range(CASES))
def test_mutated_spec_gives_success_or_located_errors(case):
    rng = random.Random(case)
    text = yaml.safe_dump(mutate(rng.choice(BASES), rng))
    try:
        spec = nnspec.loads(text, "mutated.yaml")
    except SpecError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.line is not None and d.column is not None, d.format()
            assert "\n" not in d.format()
        return
    try:
        result = nnspec.run(spec, samples=3, max_memory=2**28)
    except NnspecError as exc:
        assert str(exc)
        return
    assert set(result.outputs) == set(spec.outputs)
    for name in spec.outputs:
        assert result.outputs[name].shape[1:] == spec.layers[name].shape
