"""The layer reference, rendered from the catalog: for ``nnspec layers`` and docs/layers.md."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from ..core.numbers import format_number
from ..layers.catalog import LayerType, Property, layer_types


def _by_category() -> list[tuple[str, list[LayerType]]]:
    types = sorted(layer_types().values(), key=lambda t: (t.category, t.name))
    return [(category, list(group)) for category, group in groupby(types, key=lambda t: t.category)]


def _default(prop: Property) -> str:
    return "-" if prop.default is None else json.dumps(prop.default)


def _range(bounds: tuple[Any, Any] | None) -> str:
    if bounds is None:
        return "any"
    low, high = bounds
    return f"{'-inf' if low is None else format_number(low, 6)}..{'inf' if high is None else format_number(high, 6)}"


def at_evaluation(layer_type: LayerType) -> str:
    """What NNC's evaluation, nnspec run's default, changes in a layer (nnspec.spec.semantics); "" if nothing."""
    if layer_type.test_arguments:
        given = " and ".join(f"{name} {json.dumps(value)}" for name, value in layer_type.test_arguments)
        return f"At evaluation (nnspec run without --training) NNC passes {given}, whatever the spec says."
    if layer_type.skip_at_test:
        return (
            "At evaluation (nnspec run without --training) NNC leaves the layer out where skip_at_test is true: "
            "its input passes through."
        )
    return ""


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


def stored_as(layer_type: LayerType, parameter: str) -> str:
    """The name nnabla stores a parameter under: {scope}/{function scope}/NAME, /NAME unscoped, or the
    layer's own name for a type without a function scope (Parameter, WorkingMemory;
    nnspec.spec.model.Layer.parameter_key)."""
    if layer_type.unscoped_parameters:
        return f"/{parameter}"
    if layer_type.function_scope is None:
        return "{the layer's name}"
    return f"{{scope}}/{layer_type.function_scope}/{parameter}"


def entry(layer_type: LayerType) -> str:
    """One layer's reference entry, as NNC's reference writes it, plus nnspec's value ranges."""
    t = layer_type
    lines = [f"{t.name} ({t.category})", "", f"  {t.formula}", f"  {t.description}", "", f"  inputs: {t.arity}"]
    if t.properties:
        lines.append("  properties (snake_case of NNC's names):")
        width = max(len(p.name) for p in t.properties)
        for p in t.properties:
            lines.append(f"    {p.name.ljust(width)}  default {_default(p)}; {p.expects}. {p.description}")
    for parameter in t.parameters:
        lines.append(
            f"  parameter {parameter.name}: {parameter.description} Initializer {parameter.initializer} "
            f"x {format_number(parameter.multiplier, 6)}; stored as {stored_as(t, parameter.name)}; "
            f"initializers: {', '.join(parameter.initializers)}."
        )
    for target in t.targets:
        lines.append(
            f"  target {target.name}: {target.description}; read from data variable {target.dataset} by default, "
            f"or {target.name}: {{generator: ...}} or {{input: LAYER}}."
        )
    if t.operand is not None:
        lines.append(f"  second operand: input: [a, b], or {_operand_forms(t)}.")
    lines += [
        f"  well-behaved input range: {_range(t.input_range)}",
        f"  output range: {_range(t.output_range)}",
    ]
    if t.range_note:
        lines.append(f"  {t.range_note}")
    if at_evaluation(t):
        lines.append(f"  {at_evaluation(t)}")
    return "\n".join(lines) + "\n"


def _operand_forms(t: LayerType, quote: str = "") -> str:
    """How a layer's second operand may be written under NNC's pin name (Sub2's R)."""
    forms = [f"{t.operand}: {{input: LAYER}}"]
    if t.operand_from_data:
        forms.append(f"{t.operand}: {{dataset: VARIABLE}}")
        forms.append(f"{t.operand}: {{generator: Constant, generator_multiplier: 1}}")
        return ", ".join(f"{quote}{form}{quote}" for form in forms) + " (data of the first input's shape)"
    return f"{quote}{forms[0]}{quote} (NNC's pin takes a link only)"


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
                    f"- Parameter `{p.name}` (`{stored_as(t, p.name)}`): {p.description} "
                    f"Default initializer {p.initializer} x {format_number(p.multiplier, 6)}; "
                    f"initializers: {', '.join(p.initializers)}."
                )
            for target in t.targets:
                default = (
                    f"dataset: {target.dataset}"
                    if target.generator == "None"
                    else f"generator: {target.generator}, generator_multiplier: {format_number(target.multiplier, 6)}"
                )
                other = "`{dataset: ...}`, " if target.generator != "None" else ""
                out.append(
                    f"- Target `{target.name}` (`{target.name}: {{{default}}}` by default; or {other}"
                    f"`{{generator: ...}}`, `{{input: LAYER}}`): {target.description}."
                )
            if t.operand is not None:
                out.append(f"- Second operand: `input: [a, b]`, or {_operand_forms(t, '`')}.")
            if t.parameters or t.targets or t.operand:
                out.append("")
            out += [
                f"Well-behaved input range: {_range(t.input_range)}. Output range: {_range(t.output_range)}."
                + (f" {t.range_note}" if t.range_note else ""),
                "",
            ]
            out += [at_evaluation(t), ""] if at_evaluation(t) else []
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
            "input_range": _json_bounds(t.input_range),
            "output_range": _json_bounds(t.output_range),
            "range_note": t.range_note,
            "at_evaluation": at_evaluation(t),
        }
        for _, types in _by_category()
        for t in types
    ]


def checks_text() -> str:
    """The table of range checks, for ``nnspec checks``."""
    from ..checks.table import all_checks

    lines = []
    for check in all_checks().values():
        threshold = "" if check.threshold is None else f", threshold {format_number(check.threshold, 6)}"
        lines += [f"{check.id} ({check.severity}{threshold})", f"  {check.looks_at}", f"  why: {check.why}", ""]
    lines.append("Set them in a spec's checks: (or a layer's), or with --check ID=SETTING; docs/checks.md explains.")
    return "\n".join(lines) + "\n"


def _causes_section() -> list[str]:
    """How findings name their cause and how a run of them is grouped (docs/checks.md)."""
    from ..checks.causes import SCALE_JUMP
    from ..checks.scale import overflow_range
    from ..checks.table import all_checks

    naming = ", ".join(f"`{c.id}`" for c in all_checks().values() if c.names_cause)
    grouping = ", ".join(f"`{c.id}`" for c in all_checks().values() if c.group is not None)
    return [
        "## Causes and runs",
        "",
        f"A finding of {naming} names the layer where its values were made too large when there is",
        "one: going back from the layer through first inputs, to the data or to the last bounded",
        "activation (whose output resets the scale), the farthest layer whose output std is more than",
        f"{format_number(SCALE_JUMP, 6)} times its input's (run: measured; `validate`: estimated). Its advice then "
        "points",
        'at that layer instead of "normalise the data or scale the layer before it".',
        "",
        f"Findings of {grouping} that follow one another along a path (each layer's nearest earlier",
        "layer the check applies to has the same finding, drifting the same way) are one finding: the",
        "growth per layer (the geometric mean), the layers it spans and the values at the last. It is",
        "located at the first layer, where the growth starts and the fix begins, and names the others.",
        "It is a warning, whatever the check's severity below that, once the values pass the square",
        f"root of the dtype's largest value ({format_number(overflow_range('float32'), 3)} in float32, "
        f"{format_number(overflow_range('float64'), 3)} in float64), where their squares (a variance, a norm, a",
        "squared error) overflow.",
        "",
        "Advice fits where the parameters came from: weights loaded with `--params` or a `file:` were",
        "trained, so scale-drift points at the data's scaling rather than at an initializer.",
        "",
    ]


def checks_markdown() -> str:
    """docs/checks.md (generated; a test fails when the file is stale)."""
    from ..checks.table import all_checks

    out = [
        "# Range checks",
        "",
        "Generated from nnspec's table of checks by `nnspec checks --format markdown`; do not edit by hand.",
        "",
        "`nnspec run` gathers statistics of every layer's output, merged exactly across batches, and each",
        "check judges them: values that reach a layer in a range where it destroys information. Each",
        "finding names the layer and its line, gives the numbers, and says what to do. `nnspec validate`",
        "predicts the same findings from the spec alone, before any data exists: it estimates each Input's",
        "values from its `data:`, its declared `range`, its generator or NNC's -1..1 rule, and passes the",
        "estimates (mean, spread and tight bounds) through the layers and their initializers.",
        "",
        "| id | severity | threshold | fires when | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    for check in all_checks().values():
        threshold = "-" if check.threshold is None else format_number(check.threshold, 6)
        predicts = check.predict is not None or check.predict_from_parameters is not None
        predicted = " Predicted by `validate` too." if predicts else ""
        if not predicts and check.predict_side is not None:
            predicted = " Predicted by `validate` for a target another layer feeds."
        out.append(f"| `{check.id}` | {check.severity} | {threshold} | {check.looks_at}.{predicted} | {check.why} |")
    out += [
        "",
        "## Settings",
        "",
        "Every check can be set off, given another severity or another threshold: for the whole spec",
        "(top-level `checks:`), for one layer (the layer's `checks:`), or for one run or validation",
        "(`--check ID=SETTING`, or `checks=` in the Python API); each overrides the one before.",
        "",
        "```yaml",
        "checks:",
        "  input-range: off                       # or false: YAML reads a bare off as false",
        "  tanh-saturation: {threshold: 0.2, severity: error}",
        "layers:",
        "  - {name: r, type: ReLU, checks: {relu-dead-units: 0.5}}   # a number sets the threshold",
        "```",
        "",
        "Errors make `nnspec run` exit 1; warnings do too with `--strict`, which also makes",
        "`nnspec validate` exit 1 on predicted warnings. Info findings never fail anything.",
        "",
        *_causes_section(),
        f"Per-unit findings (dead units, units always saturated) need at least {_unit_samples()} samples.",
        "Percentiles in the statistics are estimated from a fixed-bin histogram of a deterministic",
        "sample of each tensor; counts, min, max, mean and std are over every value.",
        "",
    ]
    return "\n".join(out)


def _unit_samples() -> int:
    from ..checks.check import UNIT_SAMPLES

    return UNIT_SAMPLES


def _json_bounds(bounds: tuple[float | None, float | None] | None) -> list[float | None] | None:
    """Bounds for JSON, which has no infinity: an open side is null."""
    if bounds is None:
        return None
    return [None if b is None or abs(b) == float("inf") else b for b in bounds]


def codes_text() -> str:
    """The table of diagnostic codes, for ``nnspec codes``."""
    from ..core.codes import CODES

    width = max(len(code.id) for code in CODES.values())
    lines = [f"{code.id:<{width}}  {code.stage:<10}  {code.summary}" for code in CODES.values()]
    lines.append("A run's findings carry their range check's id as their code: nnspec checks lists those.")
    return "\n".join(lines) + "\n"


def codes_markdown() -> str:
    """docs/codes.md (generated; a test fails when the file is stale)."""
    from ..core.codes import CODES

    out = [
        "# Diagnostic codes",
        "",
        "Generated from nnspec's table of codes by `nnspec codes --format markdown`; do not edit by hand.",
        "",
        "Every problem nnspec reports carries a code: the last part of a line of `nnspec validate`",
        "(`FILE:LINE:COL: error: MESSAGE [CODE]`), `code` in its JSON, the title of a GitHub annotation",
        "and the rule id in SARIF. Codes are stable: scripts and CI may key on them. The stage says",
        "where in reading a spec the problem shows, in the order nnspec goes through them.",
        "",
        "| code | stage | meaning |",
        "| --- | --- | --- |",
    ]
    out += [f"| `{code.id}` | {code.stage} | {code.summary} |" for code in CODES.values()]
    out += [
        "",
        "The findings of a run (and the warnings `nnspec validate` predicts) carry the id of their",
        "range check as their code; [checks.md](checks.md) lists those.",
        "",
    ]
    return "\n".join(out)
