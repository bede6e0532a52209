#!/usr/bin/env python3
"""Coverage-guided fuzzing of nnspec's readers and validator with atheris (run by hand, not in CI).

Each input is the bytes of a spec file in one format, chosen with --format: a YAML spec (the
default), an NNC project (sdcproj), an nnabla network in protobuf text (nntxt) or an ONNX model
(onnx). It goes the way `nnspec validate` takes a file of that suffix: read by the format's reader
(readers.format_of: loader.decode and load_text, sdcproj.read_sdcproj, nntxt.read; an .onnx model
from a file in a folder of its own, onnx_reader.read_file), validated
(validation.validate_document), and, when valid, analysed for the warnings validate prints
(validation.predicted). nnspec's own errors (NnspecError) are the expected outcome for bad input;
the target fails, and atheris saves the input as crash-*, on anything else: any other exception,
or a spec error without a line and column; for an .onnx model, also any file or folder opened
outside the model's folder (an audit hook, sys.addaudithook, watches every open), where a symlink
and external data beside it point at a secret file outside.

ONNX models have a second fuzzer, of structured mutations (scripts/fuzz_onnx.py: declared
dimensions, external data paths, cycles, unknown operators, nested If/Loop/Scan bodies... ),
through the command line with its whole contract checked (exit code, output, memory, time, files
opened); atheris is not needed for it:

    python3 scripts/fuzz_validate.py --format onnx --structured 2000 [--seed N]

    python3 -m pip install atheris
    python3 scripts/fuzz_validate.py -max_total_time=600
    python3 scripts/fuzz_validate.py --format sdcproj -max_total_time=300

Without directories, the corpus (the inputs that reached new code) is kept in the temporary
directory's nnspec-fuzz-corpus (nnspec-fuzz-corpus-sdcproj, -nntxt), and seeded from the format's
examples (specs/ and tests/fixtures/invalid/; the .sdcproj or .nntxt files of tests/fixtures/; for
.onnx, the models nnspec's writer makes of specs/ and the handmade models of fuzz_onnx.handmade);
given directories, the first is the corpus (libFuzzer writes into it: never a seed directory
itself) and the others seed it. Unless -dict= is given, the words of the layer catalog and the
format's punctuation and keys are given to libFuzzer as a dictionary. Other libFuzzer options pass
through (-max_len=8192 is the default here, 65536 for .onnx: specs are small, and the readers' limits are tested
elsewhere). A crash is saved as crash-<hash> in the current directory and replays with:
python3 scripts/fuzz_validate.py [--format F] crash-<hash>
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

try:
    import atheris
except ImportError:  # the structured .onnx fuzzer runs without it
    atheris = None

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
ONNX_SEEDS = Path(tempfile.gettempdir()) / "nnspec-fuzz-seeds-onnx"  # written by nnspec's writer when fuzzing starts
# Each format: the file name its inputs are read as (the suffix picks the reader) and its seeds.
FORMATS = {
    "yaml": ("fuzz.yaml", [REPO / "specs", FIXTURES / "invalid"]),
    "sdcproj": ("fuzz.sdcproj", sorted(FIXTURES.rglob("*.sdcproj"))),
    "nntxt": ("fuzz.nntxt", sorted(FIXTURES.rglob("*.nntxt"))),
    "onnx": ("fuzz.onnx", [ONNX_SEEDS]),
}
sys.path.insert(0, str(REPO))  # this checkout's nnspec
sys.path.insert(0, str(REPO / "scripts"))  # fuzz_onnx

# the structured fuzzer runs nnspec in workers of its own: nothing here is instrumented for it
STRUCTURED = any(arg.split("=")[0] == "--structured" for arg in sys.argv)
with atheris.instrument_imports(include=["nnspec"]) if atheris and not STRUCTURED else contextlib.nullcontext():
    from nnspec.core.diagnostics import NnspecError, SpecError
    from nnspec.spec.readers import format_of
    from nnspec.validation import predicted, validate_document

FILE, SEEDS = FORMATS["yaml"]  # set by --format
YAML_TOKENS = [
    ": ",
    "- ",
    "---",
    "...",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a",
    "*a",
    "!!str",
    "!!int",
    "!!float",
    "!!bool",
    "!!python/object:",
    "!tag",
    "<<",
    "? ",
    "|",
    ">",
    "#",
    "'",
    '"',
    "\\t",
    "\\n",
    ".nan",
    ".inf",
    "-.inf",
    "~",
    "null",
    "true",
    "yes",
    "on",
    "0x1F",
    "0o17",
    "1_000",
    "1e-5",
    "1:30",
    "%YAML 1.1",
    "%TAG ! !",
]


SDCPROJ_TOKENS = [
    "[Engine]",
    "SDeepEngineType=NNabla",
    "[Global]",
    "NumNetwork=",
    "Network_0=",
    "[Network_Global]",
    "NumLayer=",
    "NumLink=",
    "[Layer_0]",
    "[Layer_1]",
    "ID=",
    "Type=",
    "Property_0_Name=",
    "Property_0_Value=",
    "Property_1_Name=",
    "Property_1_Value=",
    "NumProperty=",
    "[Link_0]",
    "SourceLayerID=",
    "SourcePinIndex=",
    "DestLayerID=",
    "DestPinIndex=",
    "[Executor_0]",
    "Executor_NetworkName=",
    "[Dataset_0]",
    "URI=",
    "\r\n",
    "\r",
    "*Name",
    "Input[0]",
    "Unit",
    "Argument",
    "RepeatStart",
    "Times",
    "W.File",
    "T.Dataset",
]
NNTXT_TOKENS = [
    "network {",
    "function {",
    "variable {",
    "executor {",
    "repeat_info {",
    "recurrent_param {",
    "repeat_param {",
    "shape: { dim: ",
    "dim: -1",
    "name: ",
    "type: ",
    "input: ",
    "output: ",
    "repeat_id: ",
    "times: ",
    "axis: ",
    "length: ",
    "network_name: ",
    "data_variable {",
    "generator_variable {",
    "output_variable {",
    "variable_name: ",
    "data_name: ",
    '"Parameter"',
    '"Buffer"',
    "/affine/W",
    "/conv/W",
    "_param {",
    "}",
    '"',
    "\\",
    "#",
]
# protobuf's wire format has no words; these are the names and values an .onnx model spells out
ONNX_TOKENS = [
    "location",
    "offset",
    "length",
    "../secret.txt",
    "link.bin",
    "weights.bin",
    "/etc/passwd",
    "ai.onnx",
    "com.microsoft",
    "then_branch",
    "else_branch",
    "body",
    "kernel_shape",
    "pads",
    "strides",
]
TOKENS = {"yaml": YAML_TOKENS, "sdcproj": SDCPROJ_TOKENS, "nntxt": NNTXT_TOKENS, "onnx": ONNX_TOKENS}


def read_document(data: bytes):  # noqa: ANN201
    """The input read as validate reads a file of the format: an .onnx model from a file (its
    external data beside it), with every file opened checked to lie in its folder."""
    if not FILE.endswith(".onnx"):
        return format_of(FILE).read(data, FILE)
    path = MODEL_FOLDER / FILE
    path.write_bytes(data)
    with _confined_opens(MODEL_FOLDER):
        return format_of(FILE).read_file(str(path))


def test_one_input(data: bytes) -> None:
    try:
        spec = validate_document(read_document(data))
        predicted(spec)
    except SpecError as exc:
        unlocated = [d for d in exc.diagnostics if d.line is None or d.column is None]
        if unlocated:
            raise AssertionError(f"a spec error without LINE:COL: {unlocated[0].format()}") from None
    except NnspecError:
        pass  # a usage error: the message was checked by the harness, not here


MODEL_FOLDER = Path(tempfile.gettempdir()) / "nnspec-fuzz-model-onnx"  # made by onnx_folder()
_OPENED_OUTSIDE: list[str] = []
_WATCHED: list[str] = []  # the folder opens must lie in, while a model is read


def onnx_folder() -> None:
    """The folder an .onnx input is read in: weights.bin for external data, a symlink to a secret
    file outside it, and that secret; and the audit hook that watches opens."""
    from fuzz_onnx import allowed_path, code_roots

    MODEL_FOLDER.mkdir(exist_ok=True)
    secret = MODEL_FOLDER.parent / "nnspec-fuzz-secret.txt"
    secret.write_text("secret\n" * 8)
    (MODEL_FOLDER / "weights.bin").write_bytes(bytes(256))
    link = MODEL_FOLDER / "link.bin"
    if not link.is_symlink():
        link.symlink_to(secret)
    roots = code_roots()

    def audit(event: str, args: tuple) -> None:
        if not _WATCHED or event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        if args[0] is None or isinstance(args[0], int):
            return
        folder = _WATCHED.pop()  # realpath below is not watched
        try:
            real = os.path.realpath(os.fsdecode(args[0]))
            if not allowed_path(real, folder, roots):
                _OPENED_OUTSIDE.append(real)
        finally:
            _WATCHED.append(folder)

    sys.addaudithook(audit)


@contextlib.contextmanager
def _confined_opens(folder: Path):  # noqa: ANN201
    _OPENED_OUTSIDE.clear()
    _WATCHED.append(os.path.realpath(folder))
    try:
        yield
    finally:
        _WATCHED.clear()
        if _OPENED_OUTSIDE:
            raise AssertionError(f"reading the model opened {_OPENED_OUTSIDE[0]}, outside its folder")


def onnx_seeds() -> None:
    """The seed models written into ONNX_SEEDS (nnspec's writer's and the handmade ones)."""
    from fuzz_onnx import seeds

    ONNX_SEEDS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for name, data in seeds(Path(scratch)).items():
            (ONNX_SEEDS / f"{name}.onnx").write_bytes(data)


def dictionary(form: str) -> str:
    """A libFuzzer dictionary: the catalog's layer types, property and parameter names (and NNC's
    property names for a project), and the format's tokens."""
    from nnspec.layers.catalog import layer_types

    words = {
        "nnspec",
        "layers",
        "name",
        "type",
        "input",
        "outputs",
        "data",
        "seed",
        "dtype",
        "checks",
        "dataset",
        "generator",
        "initializer",
        "multiplier",
        "file",
        "float32",
        "float64",
        "Normal",
        "Uniform",
        "y'",  # NNC's prime in a name, and a quote YAML gives meaning to at a scalar's start
        "W: {input: ",  # a parameter given by a layer
        *TOKENS[form],
    }
    for entry in layer_types().values():
        words.add(entry.name)
        words.update(prop.name for prop in entry.properties)
        words.update(param.name for param in entry.parameters)
        words.update(target.name for target in entry.targets)
        if form == "sdcproj":
            words.update(prop.nnc_name for prop in entry.properties)
    lines = ['"' + _escaped(word) + '"' for word in sorted(words)]
    path = Path(tempfile.gettempdir()) / f"nnspec-fuzz-{form}.dict"  # one file, written again by each run
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _escaped(word: str) -> str:
    """A word as libFuzzer's dictionary writes it: \\ and \" escaped, other bytes than printable
    ASCII as \\xNN (a CR in a project's line end, UTF-8 in a name)."""
    return "".join(
        "\\" + chr(byte) if chr(byte) in '\\"' else chr(byte) if 32 <= byte < 127 else f"\\x{byte:02X}"
        for byte in word.encode("utf-8")
    )


def seed_folders(form: str) -> list[Path]:
    """The seeds as folders (libFuzzer runs a file it is given instead of fuzzing): a format whose
    seeds are files gets a folder of copies in the temporary directory."""
    if all(seed.is_dir() for seed in SEEDS):
        return SEEDS
    folder = Path(tempfile.gettempdir()) / f"nnspec-fuzz-seeds-{form}"
    folder.mkdir(exist_ok=True)
    for k, seed in enumerate(SEEDS):
        (folder / f"{k}-{seed.name}").write_bytes(seed.read_bytes())
    return [folder]


def with_corpus(argv: list[str], form: str) -> list[str]:
    """The arguments with a corpus directory and the seeds when none is given; an error when the
    corpus given first is a directory of the seeds, which libFuzzer would fill with its inputs."""
    given = [Path(arg) for arg in argv[1:] if not arg.startswith("-")]
    if not given:
        corpus = Path(tempfile.gettempdir()) / ("nnspec-fuzz-corpus" + ("" if form == "yaml" else f"-{form}"))
        corpus.mkdir(exist_ok=True)
        return [*argv, str(corpus), *map(str, seed_folders(form))]
    seeded = {seed.resolve() if seed.is_dir() else seed.resolve().parent for seed in SEEDS}
    if given[0].is_dir() and given[0].resolve() in seeded:
        sys.exit(f"{given[0]}: libFuzzer writes new inputs into the first directory: give a corpus of its own first")
    return argv


def chosen_format(argv: list[str]) -> tuple[str, list[str]]:
    """--format F (or --format=F) taken out of the arguments (libFuzzer would refuse it)."""
    form, rest = "yaml", [argv[0]]
    args = iter(argv[1:])
    for arg in args:
        if arg == "--format":
            form = next(args, "")
        elif arg.startswith("--format="):
            form = arg.partition("=")[2]
        else:
            rest.append(arg)
    if form not in FORMATS:
        sys.exit(f"--format {form!r}: one of {', '.join(FORMATS)}")
    return form, rest


def main() -> None:
    global FILE, SEEDS
    form, argv = chosen_format(list(sys.argv))
    if form == "onnx" and STRUCTURED:
        from fuzz_onnx import main as structured

        sys.exit(structured(argv[1:]))
    if atheris is None:
        sys.exit("atheris is not installed: python3 -m pip install atheris")
    FILE, SEEDS = FORMATS[form]
    if form == "onnx":
        onnx_seeds()
        onnx_folder()
    replaying = any(Path(arg).is_file() for arg in argv[1:] if not arg.startswith("-"))
    if not replaying:
        argv = with_corpus(argv, form)
    if not replaying and not any(arg.startswith("-dict=") for arg in argv):
        argv.append(f"-dict={dictionary(form)}")
    if not any(arg.startswith("-max_len=") for arg in argv):  # a model with its weights: larger
        argv.append("-max_len=65536" if form == "onnx" else "-max_len=8192")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
