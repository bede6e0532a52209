"""JSON Schemas of what nnspec prints with --format json, for the tools that read it.

schemas/report.schema.json (``nnspec run --format json``) and
schemas/validate.schema.json (``nnspec validate --format json``) are this module's
output, committed; a test fails when they are stale or when real output does not
validate against them.
"""

from __future__ import annotations

from typing import Any

from ..checks.stats import PERCENTILES
from ..core.diagnostics import ERROR, INFO, WARNING
from ..layers.cost import COST_FIELDS
from ..spec.views import VIEWS

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_LINE = {"type": ["integer", "null"], "minimum": 1, "description": "1-based; null when not known"}
_COUNTS = {
    "count": "values seen, over every sample",
    "nan": "NaN values",
    "posinf": "+Inf values",
    "neginf": "-Inf values",
    "zeros": "values exactly 0",
    "subnormal": "values neither 0 nor of full precision (below the dtype's smallest normal number)",
}
_MOMENTS = {
    "min": "smallest finite value",
    "max": "largest finite value",
    "mean": "mean of the finite values",
    "std": "population standard deviation of the finite values",
}


def _diagnostic() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["file", "line", "column", "severity", "code", "message", "path", "layer"],
        "additionalProperties": False,
        "properties": {
            "file": {"type": "string"},
            "line": _LINE,
            "column": _LINE,
            "severity": {"enum": [ERROR, WARNING, INFO]},
            "code": {
                "type": "string",
                "description": "stable id of the kind of problem, e.g. unknown-property: one of docs/codes.md "
                "(nnspec codes), or a range check's id (docs/checks.md)",
            },
            "message": {"type": "string"},
            "path": {
                "type": "array",
                "items": {"type": ["string", "integer"]},
                "description": "keys and list indices from the top of the spec to the offending value",
            },
            "layer": {"type": ["string", "null"], "description": "the layer concerned, if any"},
        },
    }


def validate_schema() -> dict[str, Any]:
    return {
        "$schema": _DRAFT,
        "title": "nnspec validate --format json",
        "type": "object",
        "required": ["files"],
        "additionalProperties": False,
        "properties": {
            "files": {
                "type": "array",
                "description": "one entry per file, in the order given",
                "items": {
                    "type": "object",
                    "required": ["file", "valid", "diagnostics"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {"type": "string"},
                        "valid": {"type": "boolean"},
                        "diagnostics": {"type": "array", "items": {"$ref": "#/$defs/diagnostic"}},
                    },
                },
            }
        },
        "$defs": {"diagnostic": _diagnostic()},
    }


def _cost() -> dict[str, Any]:
    figures = {
        "parameter": "parameters (NNC's CostParameter)",
        "add": "additions (CostAdd)",
        "multiply": "multiplications (CostMultiply)",
        "multiply_add": "multiply-adds (CostMultiplyAdd)",
        "division": "divisions (CostDivision)",
        "exp": "exponentials and logarithms (CostExp)",
        "if": "comparisons (CostIf)",
    }
    return {
        "type": "object",
        "description": "what one sample costs the layer, counted as NNC's layer definitions count it",
        "required": [*COST_FIELDS, "counted"],
        "additionalProperties": False,
        "properties": {
            **{name: {"type": "integer", "minimum": 0, "description": figures[name]} for name in COST_FIELDS},
            "counted": {
                "type": "boolean",
                "description": "false: nnspec does not know NNC's count for the layer type, and the zeros mean "
                "not counted",
            },
        },
    }


def _output_bytes(what: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"{what}, at the spec's dtype",
        "required": ["sample", "batch"],
        "additionalProperties": False,
        "properties": {
            "sample": {"type": "integer", "minimum": 0, "description": "for one sample"},
            "batch": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "for a batch of the run (memory.batch samples; null: not known)",
            },
        },
    }


def _totals() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "NNC's Cost* summed over every layer, for one sample; parameter counts each parameter once "
        "(layers sharing a parameter_scope share their arrays, where NNC's per-layer sum counts them again)",
        "required": [*COST_FIELDS, "counted", "output_bytes"],
        "additionalProperties": False,
        "properties": {
            **{name: {"type": "integer", "minimum": 0} for name in COST_FIELDS},
            "counted": {
                "type": "boolean",
                "description": "false: some layer's type is not counted (its cost.counted is false), so the sums are "
                "lower bounds",
            },
            "output_bytes": _output_bytes("every layer's output together"),
        },
    }


def _memory() -> dict[str, Any]:
    parts = {
        "peak": "the whole estimate, the figure --max-memory is checked against",
        "parameters": "the parameters, drawn or read in float64 and kept in the spec's dtype",
        "data": "a batch of generated data, drawn in float64 and converted",
        "activations": "every layer's output for a batch, as if alive at once, plus float64 copies of the largest "
        "for its statistics",
        "outputs": "the output layers kept for every sample",
        "all_outputs": "every output layer kept for every sample (what --output keeps)",
    }
    return {
        "type": ["object", "null"],
        "description": "the run's size and the memory it was estimated to need, in bytes, before it ran "
        "(null: not sized)",
        "required": ["samples", "batch", *parts],
        "additionalProperties": False,
        "properties": {
            "samples": {"type": "integer", "minimum": 1, "description": "the samples the data holds"},
            "batch": {"type": "integer", "minimum": 1, "description": "samples run at a time"},
            **{name: {"type": "integer", "minimum": 0, "description": text} for name, text in parts.items()},
        },
    }


def report_schema() -> dict[str, Any]:
    stats = {
        "type": "object",
        "required": [*_COUNTS, *_MOMENTS, "percentiles"],
        "additionalProperties": False,
        "properties": {
            **{name: {"type": "integer", "minimum": 0, "description": text} for name, text in _COUNTS.items()},
            **{
                name: {"type": ["number", "null"], "description": f"{text} (null: none)"}
                for name, text in _MOMENTS.items()
            },
            "percentiles": {
                "type": "object",
                "description": (
                    "estimated from a fixed-bin histogram of a sample of the values (16 of each sample, "
                    "at positions no layout aliases; zeros counted exactly), or numpy's exactly when the "
                    "tensor has at most 16 distinct values"
                ),
                "required": [str(q) for q in PERCENTILES],
                "additionalProperties": {"type": ["number", "null"]},
            },
        },
    }
    value = {"type": ["number", "string"], "description": 'a number, or "NaN", "Infinity", "-Infinity"'}
    nested = {"anyOf": [value, {"type": "array", "items": {"$ref": "#/$defs/values"}}]}
    return {
        "$schema": _DRAFT,
        "title": "nnspec run --format json",
        "type": "object",
        "required": [
            "nnspec_report",
            "spec",
            "name",
            "dtype",
            "samples",
            "semantics",
            "view",
            "sources",
            "engine",
            "layers",
            "outputs",
            "scores",
            "findings",
            "totals",
            "memory",
        ],
        "additionalProperties": False,
        "properties": {
            "nnspec_report": {"const": 1, "description": "version of this report format"},
            "spec": {"type": "string", "description": "the spec file"},
            "name": {"type": ["string", "null"]},
            "dtype": {"enum": ["float32", "float64"]},
            "samples": {"type": "integer", "minimum": 0},
            "semantics": {
                "enum": ["evaluation", "training"],
                "description": "what the run computed: NNC's evaluation (BatchNormalization's stored statistics, "
                "Dropout skipped: the validation and runtime views) or the training forward pass (the training view, "
                "nnspec run --training)",
            },
            "workers": {
                "type": "array",
                "description": "a run on a Dask cluster only (nnspec run --scheduler, --workers): each worker that "
                "computed batches, sorted by address",
                "items": {
                    "type": "object",
                    "required": ["worker", "batches", "samples", "seconds"],
                    "additionalProperties": False,
                    "properties": {
                        "worker": {"type": "string", "description": "its address, tcp://HOST:PORT"},
                        "batches": {"type": "integer", "minimum": 1},
                        "samples": {"type": "integer", "minimum": 1},
                        "seconds": {
                            "type": "number",
                            "minimum": 0,
                            "description": "the time its batches took there, transfers and waiting left out",
                        },
                    },
                },
            },
            "view": {
                "enum": list(VIEWS),
                "description": "the view of the network that ran (nnspec run --view): validation (as NNC evaluates, "
                "the default), runtime (validation without the loss and validation layers) or training; "
                "semantics is evaluation for the first two",
            },
            "sources": {
                "type": "object",
                "description": "for each data variable the run read, where its values came from, in the order "
                "the spec's layers read them",
                "additionalProperties": {
                    "type": "object",
                    "required": ["kind", "description"],
                    "additionalProperties": False,
                    "properties": {
                        "kind": {
                            "enum": ["array", "file", "dataset", "spec", "generator", "synthetic"],
                            "description": "an array given to the run; a file (--input); columns of an NNC dataset "
                            "CSV (--dataset, the spec's dataset:, or its project's executor's); the spec's data:; the "
                            "reader's generator; drawn by --synthetic",
                        },
                        "description": {"type": "string", "description": 'as the text report says it: "file x.npy"'},
                        "file": {"type": "string", "description": "the file or dataset, as its path was given"},
                        "columns": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "the dataset's columns of the variable (x__0, x__1, ..., or x)",
                        },
                        "line": {"type": "integer", "minimum": 1, "description": "where the spec's data: holds it"},
                        "image_normalization": {
                            "const": False,
                            "description": "a dataset whose 8-bit images were read as they are, 0..255 (absent: "
                            "divided by 255)",
                        },
                        "generator": {"type": "string"},
                        "multiplier": {"type": "number"},
                        "values": {
                            "enum": ["uniform", "classes", "binary"],
                            "description": "what --synthetic drew: uniform floats in low..high, class indices "
                            "low..high, or labels 0 or 1",
                        },
                        "low": {"type": "number"},
                        "high": {"type": "number"},
                    },
                },
            },
            "engine": {
                "type": "object",
                "description": "what computed the batches (nnspec run --engine)",
                "required": ["name", "numpy_layers"],
                "additionalProperties": False,
                "properties": {
                    "name": {
                        "type": "string",
                        "description": "numpy (the default), onnxruntime, or the name of an engine class given to "
                        "nnspec.run",
                    },
                    "numpy_layers": {
                        "type": "array",
                        "description": "the layers the engine left to numpy's forwards, in the order they run "
                        "(onnxruntime: those ONNX cannot hold as nnspec writes them; docs/onnx.md)",
                        "items": {
                            "type": "object",
                            "required": ["layer", "type", "reason"],
                            "additionalProperties": False,
                            "properties": {
                                "layer": {"type": "string"},
                                "type": {"type": "string"},
                                "reason": {"type": "string", "description": "why the engine could not run it"},
                            },
                        },
                    },
                },
            },
            "layers": {
                "type": "array",
                "description": "every layer, in the order it ran",
                "items": {
                    "type": "object",
                    "required": [
                        "name",
                        "type",
                        "inputs",
                        "shape",
                        "line",
                        "column",
                        "output",
                        "input_stats",
                        "measures",
                        "cost",
                        "output_bytes",
                    ],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"type": "string"},
                        "inputs": {"type": "array", "items": {"type": "string"}},
                        "shape": {"type": "array", "items": {"type": "integer"}, "description": "batch axis excluded"},
                        "line": _LINE,
                        "column": _LINE,
                        "output": {"$ref": "#/$defs/stats"},
                        "input_stats": {
                            "type": "array",
                            "items": {"$ref": "#/$defs/stats"},
                            "description": "one per input, in the order of the layer's inputs (an Input: its data)",
                        },
                        "measures": {
                            "type": "object",
                            "description": "what each enabled check counted, by check id (units_*: units for which "
                            "the flag held on some sample, of units)",
                            "additionalProperties": {
                                "type": "object",
                                "additionalProperties": {"type": "integer", "minimum": 0},
                            },
                        },
                        "cost": _cost(),
                        "output_bytes": _output_bytes("the layer's output"),
                    },
                },
            },
            "outputs": {
                "type": "object",
                "description": "each output layer's values, batch axis first",
                "additionalProperties": {"$ref": "#/$defs/values"},
            },
            "outputs_omitted": {
                "type": "object",
                "description": "outputs too large for the report: their shapes (--output saves them)",
                "additionalProperties": {"type": "array", "items": {"type": "integer"}},
            },
            "scores": {
                "type": "object",
                "description": "each loss layer's mean loss and each validation layer's error rate, over all samples",
                "additionalProperties": {
                    "type": "object",
                    "required": ["kind", "value"],
                    "additionalProperties": False,
                    "properties": {"kind": {"enum": ["loss", "error rate"]}, "value": {"type": "number"}},
                },
            },
            "totals": _totals(),
            "memory": _memory(),
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["check", "severity", "layer", "message", "line", "column"],
                    "additionalProperties": False,
                    "properties": {
                        "check": {"type": "string", "description": "stable id of the check, e.g. tanh-saturation"},
                        "severity": {"enum": [ERROR, WARNING, INFO]},
                        "layer": {"type": "string"},
                        "message": {"type": "string"},
                        "line": _LINE,
                        "column": _LINE,
                    },
                },
            },
        },
        "$defs": {"stats": stats, "values": nested},
    }
