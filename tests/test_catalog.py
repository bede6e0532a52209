"""The catalog's behaviour fields: each layer's role and traits, and registration closing once
tables have been built from the catalog.

The roles are checked against NNC's layer palette, written out here by hand (its Loss,
Validation, Normalization and IO groups); what reads them (the report's scores, the checks)
must never match category names instead.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from nnspec.checks.table import all_checks
from nnspec.layers.catalog import LateRegistration, Role, layer_types, register
from nnspec.layers.unsupported import KEPT_ELSEWHERE, REFUSED, not_supported_message
from nnspec.spec.schema import spec_schema

# NNC's palette groups (nnc-desktop's layer settings), the types nnspec implements among them
NNC_LOSS = {
    "SquaredError",
    "HuberLoss",
    "AbsoluteError",
    "EpsilonInsensitiveLoss",
    "BinaryCrossEntropy",
    "SigmoidCrossEntropy",
    "CategoricalCrossEntropy",
    "SoftmaxCrossEntropy",
    "KLMultinomial",
}
NNC_VALIDATION = {"BinaryError", "TopNError"}
# normalizations that compute their own scale from the values they receive
NNC_NORMALIZATION = {
    "BatchNormalization",
    "NormNormalization",
    "LayerNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "FusedBatchNormalization",
    "WeightStandardization",
    "WeightNormalization",
    "SpectralNorm",
}


def _with_role(role: Role) -> set[str]:
    return {name for name, entry in layer_types().items() if entry.role is role}


def test_roles_follow_nnc_palette():
    assert _with_role(Role.LOSS) == NNC_LOSS
    assert _with_role(Role.VALIDATION) == NNC_VALIDATION
    assert _with_role(Role.NORMALIZATION) == NNC_NORMALIZATION
    assert _with_role(Role.SOURCE) == {"Input"}


def test_is_source_and_is_result_are_read_off_the_role():
    for name, entry in layer_types().items():
        assert entry.is_source == (name == "Input"), name
        assert entry.role.is_result == (name in NNC_LOSS | NNC_VALIDATION), name


def test_curve_trait_only_on_functions_of_one_value():
    """A curve o = f(i) exists only for a layer computed value by value from one input and
    nothing else: no parameters, no targets."""
    curves = {name for name, entry in layer_types().items() if entry.curve}
    assert {"Tanh", "ReLU", "Sigmoid", "Exp", "Log", "Sin", "ATanh", "Round"} <= curves
    # two inputs, parameters, a target, or a probability over an axis: no curve
    assert not curves & {"Add2", "PReLU", "Affine", "SquaredError", "Softmax", "BatchNormalization"}
    for name in curves:
        entry = layer_types()[name]
        assert entry.elementwise and entry.arity.least == entry.arity.most == 1, name
        assert not entry.parameters and not entry.targets, name


@pytest.mark.parametrize("build", [all_checks, spec_schema], ids=["checks", "schema"])
def test_a_layer_type_registered_after_a_table_was_built_from_the_catalog_is_refused(build):
    build()  # the table now holds every layer type registered so far
    late = replace(layer_types()["ReLU"], name="LateReLU")
    with pytest.raises(LateRegistration, match="LateReLU registered after .* built from the catalog"):
        register(late)
    assert "LateReLU" not in layer_types()
    assert "LateReLU" not in spec_schema()["$defs"]


def test_a_layer_type_registered_twice_is_refused():
    with pytest.raises(ValueError, match="ReLU registered twice"):
        register(layer_types()["ReLU"])


# --- NNC's whole palette ----------------------------------------------------------------------------


def _nnc_layer_types() -> list[str]:
    path = Path(__file__).parent / "fixtures" / "nnc" / "layer_types.txt"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


def test_every_nnc_layer_type_is_a_layer_or_refused_with_its_reason():
    """Each of NNC's layer definitions is a catalog type, or one nnspec refuses saying why (a GUI
    setting, a placeholder) or keeps elsewhere (Comment in comments:, Argument in arguments:): none is
    left as "not supported yet", and the catalog has no type NNC lacks."""
    nnc = _nnc_layer_types()
    assert len(nnc) == 190
    catalog = set(layer_types())
    outside = [name for name in nnc if name not in catalog]
    assert sorted(outside) == sorted([*REFUSED.keys() & set(nnc), *KEPT_ELSEWHERE])
    assert all("not support" not in not_supported_message(name) for name in outside)
    assert catalog <= set(nnc)
