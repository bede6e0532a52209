#!/usr/bin/env python3
"""Coverage-guided fuzzing of nnspec's loader and validator with atheris (run by hand, not in CI).

Each input is the bytes of a spec file. It goes the way `nnspec validate` takes one: decoded as
UTF-8 (loader.decode), parsed (loader.load_text), validated (validation.validate_document), and,
when valid, analysed for the warnings validate prints (validation.predicted). nnspec's own errors
(NnspecError) are the expected outcome for bad input; the target fails, and atheris saves the input
as crash-*, on anything else: any other exception, or a spec error without a line and column.

    python3 -m pip install atheris
    python3 scripts/fuzz_validate.py -max_total_time=600

Without directories, the corpus (the inputs that reached new code) is kept in the temporary
directory's nnspec-fuzz-corpus, and seeded from specs/ and tests/fixtures/invalid/; given
directories, the first is the corpus (libFuzzer writes into it: never specs/ itself) and the
others seed it. Unless -dict= is given, the words of the layer catalog and YAML's punctuation are
given to libFuzzer as a dictionary. Other libFuzzer options pass through (-max_len=8192 is the
default here: specs are small, and the loader's limits are tested elsewhere). A crash is saved as
crash-<hash> in the current directory and replays with: python3 scripts/fuzz_validate.py crash-<hash>
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parent.parent
SEEDS = [REPO / "specs", REPO / "tests" / "fixtures" / "invalid"]
sys.path.insert(0, str(REPO))  # this checkout's nnspec

with atheris.instrument_imports(include=["nnspec"]):
    from nnspec.core.diagnostics import NnspecError, SpecError
    from nnspec.spec.loader import decode, load_text
    from nnspec.validation import predicted, validate_document

FILE = "fuzz.yaml"
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


def test_one_input(data: bytes) -> None:
    try:
        spec = validate_document(load_text(decode(data, FILE), FILE))
        predicted(spec)
    except SpecError as exc:
        unlocated = [d for d in exc.diagnostics if d.line is None or d.column is None]
        if unlocated:
            raise AssertionError(f"a spec error without LINE:COL: {unlocated[0].format()}") from None
    except NnspecError:
        pass  # a usage error: the message was checked by the harness, not here


def dictionary() -> str:
    """A libFuzzer dictionary: the catalog's layer types, property and parameter names, and YAML tokens."""
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
        *YAML_TOKENS,
    }
    for entry in layer_types().values():
        words.add(entry.name)
        words.update(prop.name for prop in entry.properties)
        words.update(param.name for param in entry.parameters)
        words.update(target.name for target in entry.targets)
    lines = ['"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"' for word in sorted(words)]
    path = Path(tempfile.gettempdir()) / "nnspec-fuzz.dict"  # one file, written again by each run
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def with_corpus(argv: list[str]) -> list[str]:
    """The arguments with a corpus directory and the seeds when none is given; an error when the
    corpus given first is a directory of the seeds, which libFuzzer would fill with its inputs."""
    given = [Path(arg) for arg in argv[1:] if not arg.startswith("-")]
    if not given:
        corpus = Path(tempfile.gettempdir()) / "nnspec-fuzz-corpus"
        corpus.mkdir(exist_ok=True)
        return [*argv, str(corpus), *map(str, SEEDS)]
    if given[0].is_dir() and given[0].resolve() in [seed.resolve() for seed in SEEDS]:
        sys.exit(f"{given[0]}: libFuzzer writes new inputs into the first directory: give a corpus of its own first")
    return argv


def main() -> None:
    argv = list(sys.argv)
    replaying = any(Path(arg).is_file() for arg in argv[1:] if not arg.startswith("-"))
    if not replaying:
        argv = with_corpus(argv)
    if not replaying and not any(arg.startswith("-dict=") for arg in argv):
        argv.append(f"-dict={dictionary()}")
    if not any(arg.startswith("-max_len=") for arg in argv):
        argv.append("-max_len=8192")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
