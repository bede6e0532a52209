"""nnspec: Neural Network Console-style network specs, validated and run in numpy.

    import nnspec
    nnspec.validate("specs/seed_activations.yaml")        # [] or a list of located Diagnostics
    spec = nnspec.load("specs/seed_activations.yaml")   # raises nnspec.SpecError if invalid
    result = nnspec.run(spec)                            # or run("spec.yaml"), run(spec, {"x": array})
    result.outputs["tanh"], result.stats["tanh"].output.max, result.findings
    runner = nnspec.prepare(spec, statistics=False)    # the per-spec work once, then
    runner.run({"x": array}).outputs["tanh"]             # run as often as you like

The names below are imported on first use, so that ``nnspec --help`` does not pay
for numpy, jsonschema and networkx.

The subpackages are the stages, and import one way only, each from those before it here
(tests/test_import_order.py holds this; README's Development section maps the tree):

    core < files < layers < checks < spec < runtime < report < this package (validation, cli)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # what each name is, for type checkers; at run time __getattr__ imports it on first use
    from .api import graph as graph
    from .api import html_report as html_report
    from .api import plot as plot
    from .api import prepare as prepare
    from .api import run as run
    from .checks.check import Finding as Finding
    from .checks.stats import TensorStats as TensorStats
    from .checks.table import LayerStats as LayerStats
    from .core.diagnostics import Diagnostic as Diagnostic
    from .core.diagnostics import NnspecError as NnspecError
    from .core.diagnostics import SpecError as SpecError
    from .core.diagnostics import UsageError as UsageError
    from .layers.catalog import layer_types as layer_types
    from .runtime.runner import RangeWarning as RangeWarning
    from .runtime.runner import RunInterrupted as RunInterrupted
    from .runtime.runner import Runner as Runner
    from .runtime.runner import RunResult as RunResult
    from .spec.model import Layer as Layer
    from .spec.model import Spec as Spec
    from .spec.schema import spec_schema as spec_schema
    from .validation import load as load
    from .validation import loads as loads
    from .validation import validate as validate

_API = {
    "load": "validation",
    "loads": "validation",
    "validate": "validation",
    "run": "api",
    "prepare": "api",
    "graph": "api",
    "plot": "api",
    "html_report": "api",
    "Runner": "runtime.runner",
    "RunResult": "runtime.runner",
    "RunInterrupted": "runtime.runner",
    "RangeWarning": "runtime.runner",
    "Spec": "spec.model",
    "Layer": "spec.model",
    "Diagnostic": "core.diagnostics",
    "NnspecError": "core.diagnostics",
    "SpecError": "core.diagnostics",
    "UsageError": "core.diagnostics",
    "TensorStats": "checks.stats",
    "LayerStats": "checks.table",
    "Finding": "checks.check",
    "layer_types": "layers.catalog",
    "spec_schema": "spec.schema",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'nnspec' has no attribute {name!r}")


def __dir__() -> list[str]:
    # __getattr__ imports the API on first use, so the module's namespace alone hides it from dir(),
    # IPython's and editors' completion: list it with what is already there.
    # (the module's own imports, Any and importlib, are no part of it: only dunders and the API)
    return sorted({*(name for name in globals() if name.startswith("__")), *__all__})
