"""Mutated specs end in success or in nnspec's own located errors, never in a crash.

Each case takes an example spec, changes one to three things at random (a value
replaced by one of many awkward values, a key deleted, renamed or added, an item
duplicated) and validates and runs it. The cases are seeded, so a failure repeats;
NNSPEC_MUTATIONS=N runs N of them (default 300). The property tests at the end do the same with
hypothesis, on specs drawn from the whole catalog.
"""

from __future__ import annotations

import copy
import os
import random

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.core.diagnostics import NnspecError, SpecError
from nnspec.validation import predicted

from .conftest import SPECS
from .test_generated import property_settings, valid_specs

pytestmark = [  # a numpy warning reaching the user is a failure too; range findings are expected
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::nnspec.runtime.runner.RangeWarning"),
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


def loaded_or_located_errors(text: str) -> nnspec.Spec | None:
    """The spec, or None after checking that every error it gives has a line, a column and one line of text."""
    try:
        return nnspec.loads(text, "mutated.yaml")
    except SpecError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.line is not None and d.column is not None, d.format()
            assert "\n" not in d.format()
        return None


def runs_or_says_why(spec: nnspec.Spec, max_memory: int) -> None:
    """A valid spec runs, every output of its inferred shape, or stops with nnspec's own error."""
    try:
        result = nnspec.run(spec, samples=3, max_memory=max_memory)
    except NnspecError as exc:
        assert str(exc)
        return
    assert set(result.outputs) == set(spec.outputs)
    for name in spec.outputs:
        assert result.outputs[name].shape[1:] == spec.layers[name].shape


@pytest.mark.parametrize("case", range(CASES))
def test_mutated_spec_gives_success_or_located_errors(case):
    rng = random.Random(case)
    text = yaml.safe_dump(mutate(rng.choice(BASES), rng))
    spec = loaded_or_located_errors(text)
    if spec is None:
        return
    runs_or_says_why(spec, max_memory=2**28)


# --- mutations of random valid specs from the catalog (hypothesis) ---------------------------------------
#
# The same property, on specs drawn from the whole catalog (test_generated.valid_specs) and changed by
# named mutations: delete, duplicate, retype, rename, rewire, perturb a number. Repeatable in CI;
# NNSPEC_MUTATIONS=N draws N fresh examples here too.

NUMBERS = [0, -1, 1, 2, 3.5, -0.0, 2**31, 2**63, 10**400, 1e-320, 1e308, float("nan"), float("inf"), -float("inf")]
OTHER_TYPES = [None, True, "x", "", 7, 2.5, [], [1], {}, {"a": 1}, [[1, 2]], "Tanh", "Normal"]


def _parent_and_key(doc, draw, want=lambda path, node: True):
    """A random place in the document (not the root), as its parent container and key; None if none fits."""
    # Not the version: changing it hides every other change (the first random tests cover it).
    spots = [(path, node) for path, node in places(doc) if path and path != ("nnspec",) and want(path, node)]
    if not spots:
        return None
    path, _ = draw(st.sampled_from(spots))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    return parent, path[-1]


def delete(doc, draw) -> None:
    spot = _parent_and_key(doc, draw)
    if spot:
        del spot[0][spot[1]]


def duplicate(doc, draw) -> None:
    spot = _parent_and_key(doc, draw, lambda path, node: isinstance(node, (dict, list)) or len(path) > 1)
    if spot:
        parent, key = spot
        if isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))  # a second layer of the same name, a repeated input
        else:
            parent[draw(st.sampled_from(KEYS))] = copy.deepcopy(parent[key])


def retype(doc, draw) -> None:
    spot = _parent_and_key(doc, draw)
    if spot:
        spot[0][spot[1]] = copy.deepcopy(draw(st.sampled_from(OTHER_TYPES)))


def rename(doc, draw) -> None:
    spot = _parent_and_key(doc, draw, lambda path, node: isinstance(path[-1], str))
    if spot:
        parent, key = spot
        new = draw(st.sampled_from([*KEYS, key.upper(), key + "s", key[:-1] or "k", "name"]))
        parent[new] = parent.pop(key)


def rewire(doc, draw) -> None:
    written = doc.get("layers") if isinstance(doc, dict) else None
    layers = [layer for layer in written if isinstance(layer, dict)] if isinstance(written, list) else []
    if not layers:
        return
    layer = draw(st.sampled_from(layers))
    names = [other.get("name") for other in layers if isinstance(other.get("name"), str)]
    choices = [*names, "nowhere", layer.get("name"), names[::-1], [], [layer.get("name")] * 2] if names else ["nowhere"]
    layer["input"] = copy.deepcopy(draw(st.sampled_from(choices)))  # another layer, itself (a cycle), a later one


def perturb(doc, draw) -> None:
    spot = _parent_and_key(doc, draw, lambda path, node: isinstance(node, (int, float)) and not isinstance(node, bool))
    if spot:
        parent, key = spot
        value = parent[key]
        parent[key] = draw(st.sampled_from([*NUMBERS, value + 1, value - 1, -value, value * 1000, float(value)]))


MUTATIONS = [delete, duplicate, retype, rename, rewire, perturb]


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict:
    doc = copy.deepcopy(draw(valid_specs(most_layers=4)))
    for _ in range(draw(st.integers(1, 3))):
        draw(st.sampled_from(MUTATIONS))(doc, draw)
    return doc


@property_settings()
@given(mutated_specs())
def test_mutated_catalog_specs_validate_and_run_to_success_or_located_errors(doc):
    text = yaml.safe_dump(doc, sort_keys=False)
    spec = loaded_or_located_errors(text)
    if spec is None:
        return
    for d in predicted(spec):  # what `nnspec validate` prints for a valid spec: located warnings
        assert d.line is not None, d.format()
    runs_or_says_why(spec, max_memory=2**27)
