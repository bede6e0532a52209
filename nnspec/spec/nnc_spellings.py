"""NNC's own spellings of spec settings, answered with the nnspec form to write.

An NNC user types what NNC's property panel shows: ``OutShape``, ``W.Initializer``,
``T.Dataset``, ``Size: 1,8,8``. nnspec writes these in snake_case, with a parameter's or a
target's settings nested under its name, and lists as YAML lists. The hints here turn the
NNC spelling, with the value the user wrote, into the line to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..core.suggest import snake_case

# NNC's names whose nnspec name is not simply their snake_case form.
# NNC's names whose nnspec name is not simply their snake_case form (NNC's STEFineGrained, NMSPerClass).
_RENAMED = {
    "initializer_multiplier": "multiplier",
    "stefine_grained": "ste_fine_grained",
    "nmsper_class": "nms_per_class",
}

# A comma list as NNC's panel shows it (1,8,8), read by YAML as one string.
_COMMA_LIST = re.compile(r"\s*-?\d+(\.\d*)?(\s*,\s*-?\d+(\.\d*)?)+\s*")

# What a parameter (W, b) takes, which NNC users may write on the layer itself.
_PARAMETER_SETTINGS = ("initializer", "multiplier", "lrate_multiplier", "file")

_BOOLEANS = {"true": True, "false": False}


def nnspec_name(nnc_name: str) -> str:
    """NNC's property name as nnspec spells it: OutShape -> out_shape, InitializerMultiplier -> multiplier."""
    name = snake_case(nnc_name)
    return _RENAMED.get(name, name)


def flow(value: Any) -> str:
    """A value as YAML's flow style writes it, a comma list turned into the list it means."""
    if isinstance(value, str) and _COMMA_LIST.fullmatch(value):
        return "[" + ", ".join(part.strip() for part in value.split(",")) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, str) and value.lower() in _BOOLEANS:
        return flow(_BOOLEANS[value.lower()])
    if value is None:
        return "..."
    return str(value)


def property_hint(key: str, value: Any, allowed: list[str], parameters: Sequence[str] = ()) -> str:
    """'; NNC's 'X' is written 'x: ...' in nnspec' for an unknown key NNC would know, else ''.

    ``allowed`` are the names valid where ``key`` was written; a dotted NNC name whose prefix is
    one of them (a parameter W, a target T) becomes that name's nested mapping; ``parameters``
    are the parameters there, under which a parameter's own setting written on the layer belongs.
    """
    if "." in key:
        owner, _, setting = key.partition(".")
        name = nnspec_name(setting)
        if owner in allowed:
            form = f"{owner}: {{{name}: {flow(value)}}}"
        elif name in allowed:  # X.Generator on an Input: nnspec has no X, the setting is the layer's
            form = f"{name}: {flow(value)}"
        else:
            return ""
    elif nnspec_name(key) in _PARAMETER_SETTINGS and parameters:
        form = f"{parameters[0]}: {{{nnspec_name(key)}: {flow(value)}}}"
        return f"; '{key}' is a parameter's setting: write it under {' or '.join(parameters)}, e.g. '{form}'"
    else:
        name = nnspec_name(key)
        if name == key or name not in allowed:
            return ""  # not an NNC spelling of an nnspec name: the ordinary suggestion applies
        form = f"{name}: {flow(value)}"
    return f"; NNC's '{key}' is written '{form}' in nnspec"


def value_hint(name: str, value: Any) -> str:
    """'; write ...' for a value written as NNC shows it (a comma list, 'True'), else ''."""
    if isinstance(value, str) and _COMMA_LIST.fullmatch(value):
        return f"; NNC's comma list is a YAML list in nnspec: write '{name}: {flow(value)}'"
    if isinstance(value, str) and value.lower() in _BOOLEANS:
        return f"; write '{name}: {flow(value)}' without quotes (a YAML boolean)"
    return ""
