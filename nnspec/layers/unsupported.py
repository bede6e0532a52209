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
    "Normalization": (
        "FusedBatchNormalization",
        "SpectralNorm",
        "WeightNormalization",
        "WeightStandardization",
    ),
    "Others (Pre Process)": ("ImageAugmentation", "RandomCrop", "RandomErase", "RandomFlip", "RandomShift"),
    "Others": (
        "Comment",
        "Extract",
        "NmsDetection2d",
        "Output",
        "Prune",
        "Unsupported",
    ),
    "Quantize": (
        "BinaryConnectAffine",
        "BinaryConnectConvolution",
        "BinarySigmoid",
        "BinaryTanh",
        "BinaryWeightAffine",
        "BinaryWeightConvolution",
        "FixedPointQuantize",
        "MinMaxQuantize",
        "Pow2Quantize",
    ),
    "Setting": ("Import", "StructureSearch", "TestNetwork"),
    "Unit": ("Argument",),
}

# By case-folded name: no two of NNC's types differ only in case, and `gru` means GRU too.
_BY_FOLDED = {name.lower(): (name, category) for category, names in NNC_TYPES_NOT_SUPPORTED.items() for name in names}


def nnc_category(type_name: str) -> str | None:
    """The NNC category of a layer type NNC has and nnspec does not (any case), else None."""
    found = _BY_FOLDED.get(type_name.lower())
    return found[1] if found else None


def not_supported_message(type_name: str) -> str:
    """The message for such a type: what it is, and that no other type is meant."""
    name, category = _BY_FOLDED[type_name.lower()]
    shown = f"'{type_name}'" if name == type_name else f"'{type_name}' (NNC's {name})"
    return (
        f"{shown} is an NNC layer type nnspec does not support yet "
        f"(NNC's {category} category); `nnspec layers` lists the types nnspec has"
    )
