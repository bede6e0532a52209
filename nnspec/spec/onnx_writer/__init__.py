"""A validated spec written as an ONNX model (split into modules in the next commit)."""

from .builder import (
    OPS,
    OPSET,
    REFUSED,
    onnx_module,
    refuse_unwritable,
    unwritable_layers,
    unwritable_reason,
    write_onnx,
)

__all__ = [
    "OPS",
    "OPSET",
    "REFUSED",
    "onnx_module",
    "refuse_unwritable",
    "unwritable_layers",
    "unwritable_reason",
    "write_onnx",
]
