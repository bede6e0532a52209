"""nnspec: Neural Network Console-style network specs, validated and run in numpy.

    import nnspec
    nnspec.validate("specs/seed_activations.yaml")        # [] or a list of located Diagnostics
    spec = nnspec.load("specs/seed_activations.yaml")   # raises nnspec.SpecError if invalid
    result = nnspec.run(spec)                            # or run(spec, {"x": array})
    result.outputs["tanh"], result.stats["tanh"].output.max, result.findings
    runner = nnspec.prepare(spec, statistics=False)    # the per-spec work once, then
    runner.run({"x": array}).outputs["tanh"]             # run as often as you like

The names below are imported on first use, so that ``nnspec --help`` does not pay
for numpy, jsonschema and networkx.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "load": "validation",
    "loads": "validation",
    "validate": "validation",
    "run": "runner",
    "prepare": "runner",
    "Runner": "runner",
    "RunResult": "runner",
    "RunInterrupted": "runner",
    "RangeWarning": "runner",
    "Spec": "spec",
    "Layer": "spec",
    "Diagnostic": "diagnostics",
    "NnspecError": "diagnostics",
    "SpecError": "diagnostics",
    "UsageError": "diagnostics",
    "TensorStats": "stats",
    "Finding": "checks",
    "layer_types": "catalog",
    "spec_schema": "schema",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'nnspec' has no attribute {name!r}")
