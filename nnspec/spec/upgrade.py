"""Format evolution: specs written for an older format version, brought up to this one.

A spec names its format version in its ``nnspec:`` key. Each change of the format
is one upgrade step in ``STEPS``: ``STEPS[n]`` takes the plain data of a version-n
spec and returns that of a version n+1 spec meaning the same network, with notes
saying what it changed. ``upgrade`` applies the steps in order up to
``FORMAT_VERSION``; a later format version adds its step here and every older file
keeps working. A spec newer than this nnspec reads is an error, never guessed at.
The loader reads versions ``LOADED_VERSIONS`` (nnspec.spec.schema) as they are: a version-1
spec is upgraded in memory (``as_current``) each time it is loaded, so it keeps its meaning.

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
version is returned as it was, byte for byte; one whose upgrade changes only its ``nnspec:``
value keeps every comment: only that number is rewritten.

Version 2 (the one change of meaning, side inputs): a target with a generator no longer
shares the data variable its ``dataset`` names (``y`` by default); it has its own variable
``LAYER/T``. Version 1 had every reader of a variable (its Input layers, its targets with or
without a generator) share one variable: data given for it, else the generator of the first
reader written. ``_version_1_to_2`` writes that meaning in version 2's terms (docs/spec.md,
"Format versions").
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import codes
from ..core.diagnostics import INFO, Diagnostic, SpecError
from ..core.printable import is_clean, printable
from ..layers.catalog import LayerType, Target, layer_types
from ..layers.generators import NO_GENERATOR
from .loader import SourceMap, load_text
from .model import Spec
from .resolved import dump_yaml
from .schema import FORMAT_VERSION, LOADED_VERSIONS

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


@dataclass(frozen=True)
class _Reader:
    """One reading of a data variable in a version-1 spec: an Input layer's (``pin`` None) or a
    side input's, at ``position`` in the layers; ``generated``: a target with a generator, the one
    reading whose meaning version 2 changed (``rewritable``: a loss's T or q, which version 1 had)."""

    position: int
    pin: str | None
    generated: bool = False
    rewritable: bool = False


def _version_1_to_2(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Version 1 -> 2: each target with a generator that shared its data variable with another
    reading, or with the spec's ``data:``, is written so that it takes the values version 1 gave it.

    Per variable, readers in the order written (version 1's rule: data given for the variable, else
    the first reader's generator):

    - the first reader is an Input or reads data, or ``data:`` holds the variable: each generated
      target reads the variable, ``T: {dataset: VAR}`` (its generator was never used);
    - the first is a generated target and an Input reads the variable too: that target's generator
      drew the variable, Input's included, so the first such Input takes that generator and
      multiplier, and each generated target reads the variable;
    - the first is a generated target and only targets read it: each later one takes the first's
      generator and multiplier (drawn from the same variable's stream: the same values).

    Generated targets alone on their variable stay generated; version 1 gave them data given for it
    at run time, which no version-2 text says: a note says so (a version-1 spec's run still does it,
    nnspec.runtime.inputs.version_1_shared).

    Only the main network's ``layers:`` are looked at: ``networks:`` came with version 2's change,
    and mean what version 2 says.
    """
    notes: list[str] = []
    given = data.get("layers")
    layers: list[Any] = given if isinstance(given, list) else []
    spec_data = data.get("data")
    in_data = set(spec_data) if isinstance(spec_data, dict) else set()
    for variable, readers in _readers_by_variable(layers).items():
        generated = [reader for reader in readers if reader.generated and reader.rewritable]
        if not generated:
            continue
        first = readers[0]
        if variable not in in_data and all(reader.generated for reader in readers):
            notes += [_stays_generated(layers, reader, variable) for reader in generated]
        if variable in in_data or not first.generated:
            reason = "the spec's data: holds it" if variable in in_data else "another layer reads it"
            notes += _read_from_data(layers, generated, variable, reason)
            continue
        drawn = _generator_of(layers[first.position][first.pin])
        inputs = [reader for reader in readers if reader.pin is None]
        if inputs:
            notes += _give_generator(layers, inputs[0], drawn, variable)
            notes += _read_from_data(layers, generated, variable, "an Input reads it")
        else:
            for reader in readers[1:]:
                notes += _give_generator(layers, reader, drawn, variable)
    return data, notes


def _stays_generated(layers: list[Any], reader: _Reader, variable: str) -> str:
    """What no version-2 text says: data given at run time for the variable went to the target."""
    return (
        f"layer {layers[reader.position].get('name')!r}: {reader.pin} stays generated, where version 1 took data "
        f"given for {variable!r} at run time (--input {variable}=, a dataset column {variable}): "
        f"{reader.pin}: {{dataset: {variable}}} reads it"
    )


def _readers_by_variable(layers: list[Any]) -> dict[str, list[_Reader]]:
    """Each data variable the layers read, with its readers in the order written."""
    types = layer_types()
    found: dict[str, list[_Reader]] = {}
    for position, layer in enumerate(layers):
        type_name = layer.get("type") if isinstance(layer, dict) else None
        layer_type = types.get(type_name) if isinstance(type_name, str) else None
        if layer_type is None:
            continue  # not a layer validation accepts: it reports it
        if layer_type.is_source:
            variable = layer.get("dataset") or layer.get("name")
            if isinstance(variable, str):
                found.setdefault(variable, []).append(_Reader(position, None))
        for pin in _loss_targets(layer_type):
            source = layer.get(pin.name, {})
            if not isinstance(source, dict) or "input" in source:
                continue  # a layer feeds it
            variable = source.get("dataset", pin.dataset)
            if isinstance(variable, str):
                is_generated = source.get("generator", NO_GENERATOR) != NO_GENERATOR
                found.setdefault(variable, []).append(_Reader(position, pin.name, is_generated, True))
        operand = layer.get(layer_type.operand) if layer_type.operand else None
        # a second operand read from data (R: {dataset: r}, a version-2 addition) reads its variable too
        if isinstance(operand, dict) and isinstance(operand.get("dataset"), str) and "generator" not in operand:
            found.setdefault(operand["dataset"], []).append(_Reader(position, layer_type.operand))
    return found


def _loss_targets(layer_type: LayerType) -> list[Target]:
    """The side inputs version 1 had: the targets that read data unless told otherwise (a loss's T,
    KLMultinomial's q); a Delay's or an LSTM's initial values came with version 2."""
    return [target for target in layer_type.targets if target.generator == NO_GENERATOR]


def _generator_of(source: dict[str, Any]) -> tuple[Any, Any]:
    return source.get("generator"), source.get("generator_multiplier", 1.0)


def _read_from_data(layers: list[Any], readers: list[_Reader], variable: str, reason: str) -> list[str]:
    notes = []
    for reader in readers:
        layer = layers[reader.position]
        assert reader.pin is not None, "only targets are generated"
        source = layer[reader.pin]
        kept = {key: value for key, value in source.items() if key not in ("generator", "generator_multiplier")}
        layer[reader.pin] = {**kept, "dataset": variable}
        notes.append(
            f"layer {layer.get('name')!r}: {reader.pin} reads data variable {variable!r}, as version 1 read it "
            f"({reason}): its generator {source.get('generator')!r} was not used"
        )
    return notes


def _give_generator(layers: list[Any], reader: _Reader, drawn: tuple[Any, Any], variable: str) -> list[str]:
    """The reader draws ``drawn`` (generator, multiplier): the values version 1 gave it."""
    layer = layers[reader.position]
    holder = layer if reader.pin is None else layer.setdefault(reader.pin, {})  # T unwritten: {dataset: y}
    generator, multiplier = drawn
    if _generator_of(holder) == drawn:
        return []
    holder["generator"] = generator
    holder["generator_multiplier"] = multiplier
    if multiplier == 1.0:
        del holder["generator_multiplier"]
    where = f"layer {layer.get('name')!r}" + ("" if reader.pin is None else f": {reader.pin}")
    return [
        f"{where} takes generator {generator!r} x{multiplier}: in version 1 the target written first drew "
        f"data variable {variable!r} for every layer reading it"
    ]


STEPS: dict[int, Step] = {
    0: _version_0_to_1,
    1: _version_1_to_2,
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


def as_current(data: Any) -> tuple[Any, list[str]]:
    """A loaded spec's data as the current format version says it, when it is of an older version the
    loader reads (``LOADED_VERSIONS``): upgraded in memory, with the notes of what changed. Any other
    data comes back as it is, for validation to report (a version it does not read, say)."""
    version = data.get("nnspec") if isinstance(data, dict) else None
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    if isinstance(version, bool) or version not in LOADED_VERSIONS or version == FORMAT_VERSION:
        return data, []
    return upgrade(data)


def upgrade_note(spec: Spec) -> list[Diagnostic]:
    """An info note, at its ``nnspec:`` key, for a spec of an older version whose upgrade (done in
    memory) changed how it is written: its text means something else in the current version, which
    `nnspec upgrade` writes. Nothing for a spec whose upgrade changes only its version number: it
    reads the same in both, and a note on each would only be noise (and no warning: --strict
    passes a valid older spec)."""
    return upgrade_notes_at(spec.upgrade_notes, spec.file, spec.source_map)


def upgrade_notes_at(notes: Sequence[str], file: str, source_map: SourceMap, invalid: bool = False) -> list[Diagnostic]:
    """``upgrade_note`` for the notes of an in-memory upgrade; ``invalid``: the upgraded spec has errors,
    which may come from what the upgrade rewrote (a target now reading an Input's variable of
    another shape, as version 1 refused): the note then says how to have the current meaning."""
    if not notes:
        return []
    line, column = source_map.locate(("nnspec",))
    steps, changes = zip(*(note.split(": ", 1) for note in notes), strict=True)
    version = steps[0].split()[1]  # 'version 1 -> 2'
    advice = (
        f"; a spec meant for version {FORMAT_VERSION}, where a generated target has a variable of its own, "
        f"says 'nnspec: {FORMAT_VERSION}'"
        if invalid
        else "; 'nnspec upgrade FILE' writes it so"
    )
    return [
        Diagnostic(
            f"format version {version} is read with its own meaning; in version {FORMAT_VERSION}'s terms: "
            f"{'; '.join(changes)}{advice}",
            file,
            line,
            column,
            INFO,
            code=codes.VERSION,
            path=("nnspec",),
        )
    ]


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
    renumbered = _renumbered(text, doc.source_map, data, printed)
    if renumbered is not None:
        return renumbered, notes
    return _leading_comments(text) + dump_yaml(data), notes


def _renumbered(text: str, source_map: SourceMap, upgraded: Any, printed: bool) -> str | None:
    """The text with only its ``nnspec:`` value rewritten, when that is all the upgrade changed (every
    comment kept); None when more changed, or the text cannot be edited so (a value written oddly), or
    it is ``printed`` and holds what the output guard would change (see upgrade_text_with_notes)."""
    line, column = source_map.locate(("nnspec",))
    if line is None or column is None:
        return None
    lines = text.splitlines(keepends=True)
    if line > len(lines):
        return None
    before, after = lines[line - 1][: column - 1], lines[line - 1][column - 1 :]
    number = re.match(r"[0-9.]+", after)
    if number is None:
        return None
    lines[line - 1] = before + str(upgraded["nnspec"]) + after[number.end() :]
    edited = "".join(lines)
    try:
        same = load_text(edited).data == upgraded
    except SpecError:
        return None
    return edited if same and (is_clean(edited) or not printed) else None


def _version(data: Any, file: str, source_map: SourceMap | None) -> int:
    if not isinstance(data, dict):
        raise SpecError([_error("a spec is a mapping with at least 'nnspec:' and 'layers:'", file, source_map)])
    if "nnspec" not in data:
        raise SpecError(
            [
                _error(
                    f"missing the format version: a spec starts with 'nnspec: VERSION' (this nnspec "
                    f"reads versions 0 to {FORMAT_VERSION}; write 'nnspec: {FORMAT_VERSION}')",
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
