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
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # what each name is, for type checkers; at run time __getattr__ imports it on first use
    from .catalog import layer_types as layer_types
    from .checks import Finding as Finding
    from .diagnostics import Diagnostic as Diagnostic
    from .diagnostics import NnspecError as NnspecError
    from .diagnostics import SpecError as SpecError
    from .diagnostics import UsageError as UsageError
    from .runner import RangeWarning as RangeWarning
    from .runner import RunInterrupted as RunInterrupted
    from .runner import Runner as Runner
    from .runner import RunResult as RunResult
    from .runner import prepare as prepare
    from .runner import run as run
    from .schema import spec_schema as spec_schema
    from .spec import Layer as Layer
    from .spec import Spec as Spec
    from .stats import TensorStats as TensorStats
    from .validation import load as load
    from .validation import loads as loads
    from .validation import validate as validate

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
