"""NNC's layer types nnspec does not have yet.

Taken from Neural Network Console's layer definitions (sony/nnc-desktop,
``settings/NNabla/layer_component/<category>/<Type>.txt``), less the types nnspec's catalog
has, plus nnabla's recurrent functions (RNN, GRU) that NNC users meet as layers. A spec that
names one of these was written for NNC: it gets "not supported yet", not a typo suggestion
that would point at an unrelated type (GRU -> ELU).
"""

from __future__ import annotations

NNC_TYPES_NOT_SUPPORTED: dict[str, tuple[str, ...]] = {
    "Basic": ("AdaptiveSeparableConvolution", "DeformableConvolution", "RNN", "GRU"),
    "IO": ("Constant", "InputFileName", "InputString"),
    "Math": ("BatchDet", "BatchInv", "BatchLogdet"),
    "Normalization": (
        "FusedBatchNormalization",
        "SpectralNorm",
        "WeightNormalization",
        "WeightStandardization",
    ),
    "Others": (
        "ClipByNorm",
        "ClipByValue",
        "ClipGradByNorm",
        "ClipGradByValue",
        "Comment",
        "Extract",
        "Flatten",
        "NmsDetection2d",
        "Output",
        "TopKData",
        "TopKGrad",
        "Unlink",
        "Unsupported",
        "VATNoise",
    ),
    "Parameter": ("Parameter", "WorkingMemory"),
    "Setting": ("Import", "StructureSearch", "TestNetwork"),
    "Spectral": ("FFT", "IFFT"),
    "Unit": ("Argument",),
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
    "({text: ..., position: [x, y]}), where NNC projects' Comment layers are read to"
}


def not_supported_message(type_name: str) -> str:
    """The message for such a type: what it is, and that no other type is meant."""
    name, category = _BY_FOLDED[type_name.lower()]
    shown = f"'{type_name}'" if name == type_name else f"'{type_name}' (NNC's {name})"
    if name in KEPT_ELSEWHERE:
        return f"{shown} is not a layer in nnspec: {KEPT_ELSEWHERE[name]}"
    return (
        f"{shown} is an NNC layer type nnspec does not support yet "
        f"(NNC's {category} category); `nnspec layers` lists the types nnspec has"
    )
