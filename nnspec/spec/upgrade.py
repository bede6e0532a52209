"""Format evolution: specs written for an older format version, brought up to this one.

A spec names its format version in its ``nnspec:`` key. Each change of the format
is one upgrade step in ``STEPS``: ``STEPS[n]`` takes the plain data of a version-n
spec and returns that of a version n+1 spec meaning the same network, with notes
saying what it changed. ``upgrade`` applies the steps in order up to
``FORMAT_VERSION``; a later format version adds its step here and every older file
keeps working. A spec newer than this nnspec reads is an error, never guessed at.

Version 0 is synthetic: no nnspec release wrote it. It exists to test the mechanism
with one small, plausible step (docs/ci.md says so too):

- version 0 wrote ``nnspec: 0``, and called the layer list ``network:``;
- it spelled layer properties in NNC's CamelCase, as NNC's editor shows them
  (``OutShape: 32``, ``WithBias: false``, ``BorderMode: valid``), where version 1
  writes snake_case (``out_shape``, ``with_bias``, ``border_mode``). Layer keys
  (``name``, ``type``, ``input``, ``checks``), parameters (``W``, ``b``) and targets
  (``T``) were spelled as in version 1.

``upgrade_text`` works on YAML text. It loads the text with nnspec's loader (so the
same YAML rules and located errors apply), upgrades the data and writes it as YAML.
**Comments are lost**, except the block of comment lines at the very top of the file
(such as the ``# yaml-language-server: $schema=...`` line), and the layout becomes
nnspec's (block mappings, lists of numbers on one line). A spec already at this
version is returned as it was, byte for byte.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ..core import codes
from ..core.diagnostics import Diagnostic, SpecError
from ..core.printable import is_clean, printable
from ..layers.catalog import layer_types
from .loader import SourceMap, load_text
from .resolved import dump_yaml
from .schema import FORMAT_VERSION

Step = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]


class UpgradeStepError(ValueError):
    """A step cannot upgrade what it was given (its message says why, in the spec's terms)."""


def _version_0_to_1(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Version 0 -> 1: ``network:`` becomes ``layers:``; CamelCase properties become snake_case."""
    notes: list[str] = []
    if "network" in data:
        if "layers" in data:
            raise UpgradeStepError("a version-0 spec has 'network:' and 'layers:' both: keep one")
        data = {("layers" if key == "network" else key): value for key, value in data.items()}
        notes.append("'network:' renamed 'layers:'")
    given = data.get("layers")
    layers: list[Any] = given if isinstance(given, list) else []
    types = layer_types()
    for position, layer in enumerate(layers):
        if not isinstance(layer, dict):
            continue
        type_name = layer.get("type")
        layer_type = types.get(type_name) if isinstance(type_name, str) else None
        if layer_type is None:
            continue  # validation reports the type; its properties cannot be told apart from anything else
        renames = {p.nnc_name: p.name for p in layer_type.properties if p.nnc_name != p.name}
        renamed = {}
        for key, value in layer.items():
            new = renames.get(key, key)
            if new != key and new in layer:
                raise UpgradeStepError(
                    f"layer {layer.get('name', position + 1)!r} has both '{key}' and '{new}': keep one"
                )
            if new != key:
                notes.append(f"layer {layer.get('name', position + 1)!r}: '{key}' renamed '{new}'")
            renamed[new] = value
        layers[position] = renamed
    return data, notes


STEPS: dict[int, Step] = {
    0: _version_0_to_1,
}
"""``STEPS[n]`` upgrades a version-n spec to version n+1: (data) -> (data, notes)."""


def upgrade(data: Any, file: str = "<spec>", source_map: SourceMap | None = None) -> tuple[Any, list[str]]:
    """The spec's plain data upgraded to ``FORMAT_VERSION``, and notes on what changed
    (each prefixed with its step, e.g. ``version 0 -> 1: 'network:' renamed 'layers:'``).

    The data given is not modified. A spec at ``FORMAT_VERSION`` comes back equal, with no
    notes. Raises SpecError (located at the ``nnspec:`` key when ``source_map`` is given)
    for a spec without a version, with a version that is not a whole number, or with a
    version newer than this nnspec reads, or when a step cannot apply.
    """
    version = _version(data, file, source_map)
    notes: list[str] = []
    data = copy.deepcopy(data)
    while version < FORMAT_VERSION:
        step = STEPS.get(version)
        if step is None:  # a gap in STEPS is nnspec's bug, not the spec's
            raise AssertionError(f"no upgrade step from format version {version}")
        try:
            data, step_notes = step(data)
        except UpgradeStepError as exc:
            raise SpecError(
                [_error(f"cannot upgrade from format version {version}: {exc}", file, source_map)]
            ) from None
        data["nnspec"] = version + 1
        notes += [f"version {version} -> {version + 1}: {note}" for note in step_notes]
        version += 1
    return data, notes


def upgrade_text(text: str, file: str = "<spec>") -> str:
    """Spec text upgraded to ``FORMAT_VERSION``, as YAML.

    Comments are lost (except the comment lines at the top of the file) and the layout
    becomes nnspec's; text already at ``FORMAT_VERSION`` is returned unchanged. The
    result is not validated here: validate it as any spec (``nnspec.loads``).
    """
    return upgrade_text_with_notes(text, file)[0]


def upgrade_text_with_notes(text: str, file: str = "<spec>", printed: bool = False) -> tuple[str, list[str]]:
    """``upgrade_text``, with the notes saying what each step changed (for ``nnspec upgrade``).

    ``printed``: the text goes to a terminal or a CI log (``nnspec upgrade`` without ``-o``),
    where a spec at this version is not given back as it is if it holds what
    ``nnspec.core.printable`` escapes (control or bidi characters, '::', '##['): the output guard
    would change it on its way, no longer the same YAML. It is written as nnspec writes YAML
    instead, such text escaped in double quotes (a note says so); CRLF line ends alone just
    become LF.
    """
    doc = load_text(text, file)
    data, notes = upgrade(doc.data, file, doc.source_map)
    if data == doc.data:
        if not printed:
            return text, notes
        text = text.replace("\r\n", "\n")
        if is_clean(text):
            return text, notes
        notes = [
            *notes,
            "written as nnspec writes YAML (comments below the top ones dropped): it holds text not printed as it is "
            "(control or bidi characters, '::' or '##['); -o PATH writes it unchanged",
        ]
    return _leading_comments(text) + dump_yaml(data), notes


def _version(data: Any, file: str, source_map: SourceMap | None) -> int:
    if not isinstance(data, dict):
        raise SpecError([_error("a spec is a mapping with at least 'nnspec:' and 'layers:'", file, source_map)])
    if "nnspec" not in data:
        raise SpecError(
            [
                _error(
                    f"missing the format version: a spec starts with 'nnspec: VERSION' (this nnspec "
                    f"reads versions 0 to {FORMAT_VERSION})",
                    file,
                    source_map,
                )
            ]
        )
    version = data["nnspec"]
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SpecError([_error(f"format version must be a whole number >= 0; got {version!r}", file, source_map)])
    if version > FORMAT_VERSION:
        raise SpecError(
            [
                _error(
                    f"format version {version} is newer than this nnspec reads (versions 0 to {FORMAT_VERSION}): "
                    "install a newer nnspec",
                    file,
                    source_map,
                )
            ]
        )
    return version


def _error(message: str, file: str, source_map: SourceMap | None) -> Diagnostic:
    line, column = source_map.locate(("nnspec",)) if source_map is not None else (None, None)
    return Diagnostic(message, file, line, column, code=codes.VERSION, path=("nnspec",))


def _leading_comments(text: str) -> str:
    """The comment lines (and blank lines between them) at the top of the text."""
    kept: list[str] = []
    for line in text.lstrip("\ufeff").splitlines(keepends=True):
        if line.lstrip().startswith("#") or (kept and not line.strip()):
            kept.append(printable(line.rstrip("\r\n")) + "\n")  # comments are printed too
        else:
            break
    while kept and not kept[-1].strip():
        kept.pop()
    return "".join(kept)
