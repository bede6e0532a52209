"""Spec formats by file suffix: how each is read, and (for some) written.

One table, ``FORMATS``, that every command reading a spec file goes through (``read_spec``), that
``nnspec convert`` picks its writer from (``writer_for``), and that the help and the error for an
unknown suffix name their suffixes from. A format is its suffixes, a reader and optionally a writer:

- the reader takes the file's bytes (already read by ``read_spec`` within the format's size limit:
  a spec's, NNSPEC_MAX_SPEC_SIZE, or the larger one of the files NNC and nnabla write,
  NNSPEC_MAX_PROJECT_SIZE; nnspec.files.limits) and gives a ``loader.Document``,
  plain data plus the source map that locates every diagnostic, as the YAML loader does;
- the writer takes plain spec data and gives text that its reader reads back to the same data;
- a format that cannot hold all of a spec (an NNC project has no ``data:`` or ``checks:``) has a
  ``prepare`` step: the spec as the format holds it, and what it leaves out (each with its path, for a
  located warning), so that nothing is dropped silently.

A file with no suffix at all (``/dev/stdin``, a named pipe called ``spec``) is read, and written, as
YAML, as every file was before formats had suffixes; a suffix no format claims is refused, naming those that are read,
rather than read as YAML and reported as a YAML error in what may well be an ONNX file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.diagnostics import UsageError
from ..files.limits import PROJECT_TEXT, SPEC_TEXT, TextLimit

# The readers and writers import the loader (PyYAML) and resolved.py (numpy, the catalog) when first
# called, not here: the CLI reads this table for its help, and `nnspec --help` or `nnspec layers`
# should not pay a quarter of a second for modules they never use.
if TYPE_CHECKING:
    import numpy as np

    from .loader import Document
    from .model import Spec
    from .nntxt_writer import NntxtFile

Reader = Callable[[bytes, str], "Document"]  # (the file's bytes, its name for messages) -> Document
Writer = Callable[[Any], str]  # plain spec data -> text
NetworkWriter = Callable[["Spec"], "NntxtFile"]  # a validated view of a spec -> nnabla's .nntxt
# a validated view of a spec and its parameters (layer -> name -> array) -> a model file's bytes
ModelWriter = Callable[["Spec", "Mapping[str, Mapping[str, np.ndarray]]"], bytes]
Lost = list[tuple[tuple, str]]  # what a format cannot hold: (its path in the spec, what it is)
Preparer = Callable[[Any], tuple[Any, Lost]]  # plain spec data -> (the data the format holds, what it leaves out)


@dataclass(frozen=True)
class SpecFormat:
    name: str
    suffixes: tuple[str, ...]  # lower case, with the dot; the first is the one suggested
    read: Reader
    write: Writer | None = None  # None: nnspec reads this format but does not write it
    size: TextLimit = SPEC_TEXT  # the largest file read
    # A binary container read from its path under limits of its own (an .nnp: a zip whose parameters
    # may be far larger than a text spec), instead of its bytes under a text size limit.
    read_file: Callable[[str], Document] | None = None
    # nnabla's formats are written from the validated spec as it runs (expanded, one view: see
    # nnspec.spec.nntxt_writer), not from its data; ``archive``: an .nnp, the network and its parameters.
    write_network: NetworkWriter | None = None
    archive: bool = False
    # A model written from the validated spec and its parameters together (ONNX: nnspec.spec.onnx_writer).
    write_model: ModelWriter | None = None
    prepare: Preparer | None = None  # None: the writer holds every spec as it is

    @property
    def writable(self) -> bool:
        return self.write is not None or self.write_network is not None or self.write_model is not None


def _read_yaml(raw: bytes, file: str) -> Document:
    from .loader import decode, load_text

    return load_text(decode(raw, file), file)


def _read_sdcproj(raw: bytes, file: str) -> Document:
    from .sdcproj import read_sdcproj

    return read_sdcproj(raw, file)


def _write_sdcproj(data: Any) -> str:
    from .sdcproj_write import write

    return write(data)


def _prepare_sdcproj(data: Any) -> tuple[Any, Lost]:
    from .sdcproj_write import prepare

    return prepare(data)


def _read_nntxt(raw: bytes, file: str) -> Document:
    from .nntxt import read

    return read(raw, file)


def _read_nnp_bytes(raw: bytes, file: str) -> Document:
    """An .nnp given as bytes (``reads_back``'s path): written to nowhere, read from memory."""
    raise UsageError(f"{file}: an .nnp is read from its file, not from text")


def _read_nnp(path: str) -> Document:
    from .nntxt import read_nnp

    return read_nnp(path)


def _read_onnx_bytes(raw: bytes, file: str) -> Document:
    raise UsageError(f"{file}: an ONNX model is read from its file, not from text")


def _read_onnx(path: str) -> Document:
    from .onnx_reader import read_file

    return read_file(path)


def _write_nntxt(spec: Spec) -> NntxtFile:
    from .nntxt_writer import write_nntxt

    return write_nntxt(spec)


def _write_onnx(spec: Spec, parameters: Mapping[str, Mapping[str, np.ndarray]]) -> bytes:
    from .onnx_writer import write_onnx

    return write_onnx(spec, parameters)


def _write_yaml(data: Any) -> str:
    from .resolved import dump_yaml  # what upgrade writes, and --print-resolved under its header

    return dump_yaml(data)


def _write_json(data: Any) -> str:
    """JSON that the YAML loader (JSON's reader, below) reads back to ``data``. Infinity and NaN have
    no JSON spelling, so a spec holding them is refused rather than written as JSON nothing reads."""
    if _holds_non_finite(data):
        raise UsageError("JSON has no spelling for .inf or .nan, which this spec holds: write it as YAML")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _holds_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_holds_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_non_finite(item) for item in value)
    return False


# JSON is read by the YAML loader: JSON text is YAML flow text (the loader takes YAML 1.2's 1e-5 floats,
# as JSON writes them), and so a JSON spec gets the same refusals (duplicate keys, nesting depth) and a
# line and column on every diagnostic, with no second parser to keep in step.
FORMATS: tuple[SpecFormat, ...] = (
    SpecFormat("YAML", (".yaml", ".yml"), _read_yaml, _write_yaml),
    SpecFormat("JSON", (".json",), _read_yaml, _write_json),
    # read by nnspec.spec.sdcproj, written by nnspec.spec.sdcproj_write
    SpecFormat(
        "NNC project", (".sdcproj",), _read_sdcproj, _write_sdcproj, size=PROJECT_TEXT, prepare=_prepare_sdcproj
    ),
    SpecFormat(
        "nnabla protobuf text", (".nntxt", ".prototxt"), _read_nntxt, size=PROJECT_TEXT, write_network=_write_nntxt
    ),
    SpecFormat(
        "nnabla archive", (".nnp",), _read_nnp_bytes, read_file=_read_nnp, write_network=_write_nntxt, archive=True
    ),
    # read by nnspec.spec.onnx_reader (the onnx extra), its initializers the run's parameters; written by
    # nnspec.spec.onnx_writer
    SpecFormat("ONNX model", (".onnx",), _read_onnx_bytes, read_file=_read_onnx, write_model=_write_onnx),
)
DEFAULT = FORMATS[0]  # what a file with no suffix is read as
# How an .nnp holds its parameters (nnspec.files.nnpfile.write_nnp): parameter.h5 or parameter.protobuf.
PARAMETER_FORMATS = ("h5", "protobuf")


def readable_suffixes() -> list[str]:
    return [suffix for form in FORMATS for suffix in form.suffixes]


def writable_suffixes() -> list[str]:
    return [suffix for form in FORMATS if form.writable for suffix in form.suffixes]


def _by_suffix(path: Path) -> SpecFormat | None:
    suffix = path.suffix.lower()
    return next((form for form in FORMATS if suffix in form.suffixes), None)


def format_of(path: str | Path) -> SpecFormat:
    """The format a spec file is read as, by its suffix; a suffix no format claims is a usage error."""
    path = Path(path)
    if not path.suffix:
        return DEFAULT
    form = _by_suffix(path)
    if form is None:
        raise UsageError(
            f"{path}: nnspec does not read '{path.suffix}' files: a spec file ends in {_listed(readable_suffixes())}"
        )
    return form


def read_spec(path: str | Path) -> Document:
    """A spec file read by the reader its suffix picks; an unreadable file is a usage error, and
    one its reader cannot make sense of a SpecError located in it."""
    from .loader import read_bytes

    form = format_of(path)
    if form.read_file is not None:
        return form.read_file(str(path))
    return form.read(read_bytes(path, form.size), str(path))


def writer_for(path: str | Path) -> SpecFormat:
    """The format a spec is written as to ``path``, by its suffix (none: YAML, as it is read back, and
    as ``upgrade -o`` always wrote); a usage error when nnspec writes no format with that suffix."""
    path = Path(path)
    form = _by_suffix(path) if path.suffix else DEFAULT
    if form is None or not form.writable:
        raise UsageError(
            f"{path}: nnspec does not write '{path.suffix}' files: give a name ending in {_listed(writable_suffixes())}"
        )
    return form


def _listed(suffixes: Sequence[str]) -> str:
    return ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else suffixes[0]


def prepared(form: SpecFormat, data: Any) -> tuple[Any, Lost]:
    """The spec as ``form`` holds it, and what it leaves out (nothing for YAML and JSON)."""
    return form.prepare(data) if form.prepare is not None else (data, [])


def without_positions(data: Any) -> Any:
    """The spec without NNC's editor positions (layers' and comments' ``position``), in every network."""
    if not isinstance(data, dict):
        return data
    stripped = dict(data)
    for key in ("layers", "comments"):
        if isinstance(data.get(key), list):
            stripped[key] = [_unplaced(item) for item in data[key]]
    if isinstance(data.get("networks"), dict):
        stripped["networks"] = {name: without_positions(network) for name, network in data["networks"].items()}
    return stripped


def _unplaced(item: Any) -> Any:
    return {key: value for key, value in item.items() if key != "position"} if isinstance(item, dict) else item


def reads_back(form: SpecFormat, text: str, data: Any) -> bool:
    """Whether ``form``'s reader reads ``text`` back to ``data`` (NaN counting as equal to NaN, which
    ``==`` does not): what every writer promises, checked by ``nnspec convert`` before it writes."""
    return _same(form.read(text.encode("utf-8"), "<written>").data, data)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b
