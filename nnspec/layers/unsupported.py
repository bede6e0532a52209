"""NNC's layer types nnspec does not have yet.

Taken from Neural Network Console's layer definitions (sony/nnc-desktop,
``settings/NNabla/layer_component/<category>/<Type>.txt``), less the types nnspec's catalog
has, plus nnabla's recurrent functions (RNN, GRU) that NNC users meet as layers. A spec that
names one of these was written for NNC: it gets "not supported yet", not a typo suggestion
that would point at an unrelated type (GRU -> ELU). The ones in ``REFUSED`` are not coming: their
message says why (GUI settings, placeholders, the Transformers engine's layers).
"""

from __future__ import annotations

NNC_TYPES_NOT_SUPPORTED: dict[str, tuple[str, ...]] = {
    "Basic": ("RNN", "GRU"),
    "IO": ("Constant", "InputFileName", "InputString"),
    "Others": (
        "Comment",
        "Extract",
        "Unsupported",
    ),
    "Setting": ("Import", "StructureSearch", "TestNetwork"),
    "Unit": ("Argument",),
}

# The types nnspec refuses for good, with the reason: they compute nothing a spec could run. The message
# says why instead of "not yet". (Transformers: NNC's other engine, whose projects nnspec refuses whole.)
_TRANSFORMERS = (
    "a layer of NNC's Transformers engine (its pipelines of text and files), which nnspec does not run; "
    "NNabla-engine networks have no such layer"
)
REFUSED: dict[str, str] = {
    "Constant": "NNC's Constant holds one text or number (Value, ValueType Text/Int/Float, ArgName), as the "
    "Transformers engine's pipelines take it, not a tensor: for constant data write an Input with generator: "
    "Constant and generator_multiplier",
    "InputFileName": _TRANSFORMERS,
    "InputString": _TRANSFORMERS,
    "Extract": _TRANSFORMERS,
    "Import": "a setting of NNC's editor (no input, no output) naming another network, which computes nothing; "
    "remove it (a Unit layer runs another network in a layer's place)",
    "StructureSearch": "a setting of NNC's automatic structure search (whether the search may change this network), "
    "which computes nothing and which nnspec does not run; remove it",
    "TestNetwork": "a setting of NNC's editor (ModifyForTesting: how NNC derives the evaluation networks from this "
    "one), which computes nothing; nnspec derives its evaluation view itself (--view); remove it",
    "Unsupported": "the placeholder NNC's importers put where they met a layer NNC cannot run; it computes "
    "nothing: replace it with the layers it stands for",
}

# By case-folded name: no two of NNC's types differ only in case, and `gru` means GRU too.
_BY_FOLDED = {name.lower(): (name, category) for category, names in NNC_TYPES_NOT_SUPPORTED.items() for name in names}


def nnc_category(type_name: str) -> str | None:
    """The NNC category of a layer type NNC has and nnspec does not (any case), else None."""
    found = _BY_FOLDED.get(type_name.lower())
    return found[1] if found else None


# NNC types that nnspec keeps elsewhere than in layers: (not a layer, but the place they go).
KEPT_ELSEWHERE = {
    "Comment": "an NNC Comment computes nothing: write it in the network's comments: list "
    "({text: ..., position: [x, y]}), where NNC projects' Comment layers are read to",
    "Argument": "an NNC Argument is a value, not a layer: write it in the network's arguments: "
    "({NAME: {type: PInt, value: 5}}), where NNC projects' Argument layers are read to, and use it as =NAME",
}


def not_supported_message(type_name: str) -> str:
    """The message for such a type: what it is, and that no other type is meant."""
    name, category = _BY_FOLDED[type_name.lower()]
    shown = f"'{type_name}'" if name == type_name else f"'{type_name}' (NNC's {name})"
    if name in KEPT_ELSEWHERE:
        return f"{shown} is not a layer in nnspec: {KEPT_ELSEWHERE[name]}"
    if name in REFUSED:
        return f"{shown} is not a layer nnspec runs: {REFUSED[name]} (NNC's {category} category)"
    return (
        f"{shown} is an NNC layer type nnspec does not support yet "
        f"(NNC's {category} category); `nnspec layers` lists the types nnspec has"
    )
