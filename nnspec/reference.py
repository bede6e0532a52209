"""The layer reference, rendered from the catalog: for ``nnspec layers`` and docs/layers.md."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from .catalog import LayerType, Property, layer_types


def _by_category() -> list[tuple[str, list[LayerType]]]:
    types = sorted(layer_types().values(), key=lambda t: (t.category, t.name))
    return [(category, list(group)) for category, group in groupby(types, key=lambda t: t.category)]


def _default(prop: Property) -> str:
    return "-" if prop.default is None else json.dumps(prop.default)


def _range(bounds: tuple[Any, Any] | None) -> str:
    if bounds is None:
        return "any"
    low, high = bounds
    return f"{'-inf' if low is None else f'{low:g}'}..{'inf' if high is None else f'{high:g}'}"


def summary() -> str:
    """Every layer type, by category, with its formula."""
    width = max(len(name) for name in layer_types())
    lines = []
    for category, types in _by_category():
        lines.append(f"{category}:")
        lines += [f"  {t.name.ljust(width)}  {t.formula}" for t in types]
    lines.append("")
    lines.append("nnspec layers TYPE shows one layer's reference entry.")
    return "\n".join(lines) + "\n"


def entry(layer_type: LayerType) -> str:
    """One layer's reference entry, as NNC's reference writes it, plus nnspec's value ranges."""
    t = layer_type
    lines = [f"{t.name} ({t.category})", "", f"  {t.formula}", f"  {t.description}", "", f"  inputs: {t.arity}"]
    if t.properties:
        lines.append("  properties (snake_case of NNC's names):")
        width = max(len(p.name) for p in t.properties)
        for p in t.properties:
            lines.append(f"    {p.name.ljust(width)}  default {_default(p)}; {p.expects}. {p.description}")
    for p in t.parameters:
        lines.append(
            f"  parameter {p.name}: {p.description} Initializer {p.initializer} x {p.multiplier:g}; "
            f"stored as {{scope}}/{t.function_scope}/{p.name}."
        )
    lines += [
        f"  well-behaved input range: {_range(t.input_range)}",
        f"  output range: {_range(t.output_range)}",
    ]
    if t.range_note:
        lines.append(f"  {t.range_note}")
    return "\n".join(lines) + "\n"


def markdown() -> str:
    """docs/layers.md: the whole reference (generated; a test fails when the file is stale)."""
    out = [
        "# Layer reference",
        "",
        "Generated from nnspec's layer catalog by `nnspec layers --format markdown`; do not edit by hand.",
        "Properties are NNC's, written in snake_case (NNC's `OutShape` is `out_shape`); shapes and axes",
        "exclude the batch axis.",
        "",
    ]
    for category, types in _by_category():
        out += [f"## {category}", ""]
        for t in types:
            out += [f"### {t.name}", "", f"`{t.formula}`", "", t.description, "", f"Inputs: {t.arity}.", ""]
            if t.properties:
                out += ["| property | NNC name | default | accepts | description |", "| --- | --- | --- | --- | --- |"]
                out += [
                    f"| `{p.name}` | {p.nnc_name} | `{_default(p)}` | {p.expects} | {p.description} |"
                    for p in t.properties
                ]
                out.append("")
            for p in t.parameters:
                out.append(
                    f"- Parameter `{p.name}` (`{{scope}}/{t.function_scope}/{p.name}`): {p.description} "
                    f"Default initializer {p.initializer} x {p.multiplier:g}."
                )
            if t.parameters:
                out.append("")
            out += [
                f"Well-behaved input range: {_range(t.input_range)}. Output range: {_range(t.output_range)}."
                + (f" {t.range_note}" if t.range_note else ""),
                "",
            ]
    return "\n".join(out)


def as_json() -> list[dict[str, Any]]:
    return [
        {
            "type": t.name,
            "category": t.category,
            "formula": t.formula,
            "description": t.description,
            "inputs": str(t.arity),
            "properties": [
                {
                    "name": p.name,
                    "nnc_name": p.nnc_name,
                    "default": p.default,
                    "accepts": p.expects,
                    "description": p.description,
                }
                for p in t.properties
            ],
            "parameters": [
                {"name": p.name, "initializer": p.initializer, "multiplier": p.multiplier, "description": p.description}
                for p in t.parameters
            ],
            "input_range": t.input_range,
            "output_range": t.output_range,
            "range_note": t.range_note,
        }
        for _, types in _by_category()
        for t in types
    ]
