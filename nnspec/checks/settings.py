"""Check settings: each check's severity and threshold, per layer.

A check's defaults come from the table in nnspec.checks.table; the spec's top-level
``checks:`` overrides them for every layer, a layer's ``checks:`` for that layer,
and the command line (``--check ID=SETTING``) for the whole run. A setting is
``off``, a severity (``info``, ``warning``, ``error``), a threshold (a number), or
``{severity: ..., threshold: ...}``. YAML reads a bare ``off`` as false, so false
means off too, and true means on with the check's default severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import inf
from typing import TYPE_CHECKING, Any

from ..core.diagnostics import UsageError
from ..core.numbers import format_number
from ..core.suggest import did_you_mean
from .check import SEVERITIES, Check
from .table import all_checks, checks_for

if TYPE_CHECKING:  # annotations only: the spec stage sits above the check table (it reads it)
    from ..spec.model import Spec

OFF = "off"
CHOICES = (OFF, *SEVERITIES)


def normalize(setting: Any, default_severity: str = SEVERITIES[1]) -> dict[str, Any]:
    """A setting as {severity?, threshold?} (the schema has checked its form)."""
    if isinstance(setting, bool):
        return {"severity": default_severity if setting else OFF}
    if isinstance(setting, str):
        return {"severity": setting}
    if isinstance(setting, (int, float)) and not isinstance(setting, bool):
        return {"threshold": float(setting)}
    return dict(setting)


def problem(check: Check, setting: Any) -> str | None:
    """What is wrong with a setting for a check, in words, or None."""
    if isinstance(setting, dict) and set(setting) <= {"severity", "threshold"}:
        form_ok = setting.get("severity", OFF) in CHOICES and isinstance(setting.get("threshold", 0), (int, float))
    else:
        form_ok = isinstance(setting, (bool, int, float)) or setting in CHOICES
    if not form_ok or isinstance(setting, dict) and isinstance(setting.get("threshold"), bool):
        return f"must be {SETTING_FORMS}; got {setting!r}"
    threshold = normalize(setting).get("threshold")
    if threshold is None:
        return None
    if check.threshold is None:
        return "takes no threshold: set it off or give it a severity"
    low, high = check.threshold_range
    if not low <= threshold <= high:
        shown_low = format_number(low, 6)
        limits = f"from {shown_low} to {format_number(high, 6)}" if high < inf else f"at least {shown_low}"
        return f"threshold must be {limits}; got {format_number(threshold, 6)}"
    return None


SETTING_FORMS = "off, info, warning, error, a threshold (a number) or {severity: ..., threshold: ...}"


def resolve(spec: Spec, overrides: Mapping[str, Any] | None = None) -> dict[str, dict[str, tuple[str, float | None]]]:
    """For every layer, its enabled checks' (severity, threshold); checks set off are left out.

    ``overrides`` (from the command line or the API) are checked here; the spec's settings
    were checked when it was validated.
    """
    overrides = dict(overrides or {})
    for check_id, setting in overrides.items():
        if check_id not in all_checks():
            raise UsageError(f"unknown check '{check_id}'{did_you_mean(check_id, all_checks())}")
        wrong = problem(all_checks()[check_id], setting)
        if wrong:
            raise UsageError(f"check '{check_id}': {wrong}")
    settings: dict[str, dict[str, tuple[str, float | None]]] = {}
    for layer in spec.layers.values():
        settings[layer.name] = {}
        for check in checks_for(layer.type):
            current: dict[str, Any] = {"severity": check.severity, "threshold": check.threshold}
            for layer_settings in (spec.checks, layer.checks, overrides):
                if check.id in layer_settings:
                    current.update(normalize(layer_settings[check.id], check.severity))
            if current["severity"] != OFF:
                settings[layer.name][check.id] = (current["severity"], current["threshold"])
    return settings


def parse_cli(item: str) -> tuple[str, Any]:
    """--check ID=SETTING: SETTING is off, a severity or a threshold."""
    check_id, sep, value = item.partition("=")
    if not sep or not check_id or not value:
        raise UsageError(f"--check takes ID=SETTING (off, info, warning, error or a threshold); got {item!r}")
    if check_id not in all_checks():
        raise UsageError(f"--check: unknown check '{check_id}'{did_you_mean(check_id, all_checks())}")
    if value in CHOICES:
        return check_id, value
    try:
        threshold = float(value)
    except ValueError:
        raise UsageError(f"--check {check_id}: '{value}' is not off, info, warning, error or a number") from None
    wrong = problem(all_checks()[check_id], threshold)
    if wrong:
        raise UsageError(f"--check {check_id}: {wrong}")
    return check_id, threshold
