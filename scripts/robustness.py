#!/usr/bin/env python3
"""Hostile inputs through the real command line: does nnspec answer each one cleanly?

For every class of bad input issue 7 lists (hostile YAML, hostile numbers, hostile files,
output paths), this script makes many cases, varied at random from a seed, and runs each
as a user would, ``python -m nnspec validate|run ...`` in a subprocess of its own, in a
fresh directory, measuring its exit code, stderr, wall time and peak memory (the child's
own ru_maxrss, from os.wait4). Each case is judged:

  clean    a located error (the documented exit code, a message naming the file, and
           LINE:COL where the input has lines), or success where the input was fine;
  failure  a traceback, an "internal error", a Python warning reaching the user, the
           wrong exit code, an error without its file or location, bad input accepted,
           more than 1 s (confirmed by a second run: the machine is shared) or 200 MB,
           or no answer within the timeout (10 s).

It prints one row per class: cases, clean, failures, worst time and worst peak memory,
then each failure. Exit status 1 when any case failed.

    python scripts/robustness.py             # every case (a few minutes)
    python scripts/robustness.py --quick     # a few cases per class (under a minute)
    python scripts/robustness.py --only tabs --show 20

The cases need numpy (nnspec's own dependency); those of images need Pillow, and those of
nnabla's .h5 parameter files h5py: without them they are left out, and the table says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import pickle
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the catalog, for the property cases

# A case may take this much longer than nnspec takes to start and validate a one-layer spec, measured in
# the same run (start_up below): the limit catches a hostile input that makes nnspec work for seconds, and
# a machine that is slow or busy for everything moves the baseline rather than failing every case.
TIME_BUDGET = 1.0  # seconds
MEMORY_LIMIT = 200 * 2**20  # bytes
TIMEOUT = 10.0  # seconds: a case still running then is stopped, and fails
SPEC = "spec.yaml"
INT_MAX = 2**31 - 1
PYTHON_WARNING = re.compile(r"\.py:\d+: \w*Warning: ")

# --- what a case is, and what it should give ------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """The outcome a case should have.

    ``outcome``: "error" (a clean error), "ok" (exit 0) or "either" (exit 0, or a clean error).
    A clean error exits with one of ``codes``, names ``where`` (a file) in its message, with
    :LINE:COL after it when ``located`` and the exit code is 1 (a spec's own error; a run's
    findings are located by their "line N:"), and holds every text in ``mentions``."""

    outcome: str = "error"
    codes: tuple[int, ...] = (1, 2)
    where: str | None = SPEC
    located: bool = True
    mentions: tuple[str, ...] = ()


def spec_error(*mentions: str) -> Expect:
    """The spec is invalid: exit 1, FILE:LINE:COL: error: ..."""
    return Expect("error", (1,), SPEC, True, mentions)


def usage_error(where: str | None, *mentions: str) -> Expect:
    """A file or an argument cannot be used: exit 2, the message names it."""
    return Expect("error", (2,), where, False, mentions)


OK = Expect("ok")
EITHER = Expect("either")

Content = bytes | str | Callable[[Path], None]  # a file's bytes or text, or a function that makes it


@dataclass
class Case:
    group: str
    label: str
    argv: list[str]  # after "python -m nnspec"
    files: dict[str, Content]
    expect: Expect
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Path], str | None] | None = None  # a condition on the directory afterwards
    said: Callable[[str, str], str | None] | None = None  # a condition on (stdout, stderr)
    # (signal, seconds, from the write): atomicity cases interrupt the run that many seconds after it
    # starts, or after it starts writing its output (a temporary file appears in its directory).
    signal_after: tuple[int, float, bool] | None = None
    signal_by_cpu: bool = False  # the seconds of signal_after are nnspec's CPU time, not the clock's
    # (file, seconds, change): ``change`` is made to the case's directory that many seconds after nnspec
    # has opened ``file`` (on Linux, seen in /proc; elsewhere, after the run starts)
    change_after: tuple[str, float, Callable[[Path], None]] | None = None
    timed: bool = True  # False: the case is interrupted on purpose, its time says nothing
    # The start-up its time is measured beyond (START_UPS): an ONNX model's validate imports onnx first,
    # 1 s and more here, which the one-layer spec's start-up does not.
    start_up: str = "spec"


@dataclass
class Result:
    code: int | None
    stdout: str
    stderr: str
    wall: float
    peak: int  # bytes
    timed_out: bool = False
    problems: list[str] = field(default_factory=list)


# --- spec texts ---------------------------------------------------------------------------------

FLOW = """nnspec: 1
seed: 0
layers:
  - {name: x, type: Input, size: [8], generator: Normal}
  - {name: fc, type: Affine, out_shape: 4}
  - {name: t, type: Tanh}
"""

BLOCK = """nnspec: 1
seed: 0
layers:
  - name: x
    type: Input
    size: [8]
    generator: Normal
  - name: fc
    type: Affine
    out_shape: 4
  - name: t
    type: Tanh
"""

DATA_SPEC = """nnspec: 1
layers:
  - {name: x, type: Input, size: [4]}
  - {name: fc, type: Affine, out_shape: 3}
  - {name: t, type: Tanh}
"""


def spec_with_layer(layer: str, size: str = "[8]", generator: str = "Normal", extra: str = "") -> str:
    """A spec of an Input and one layer (flow style), plus ``extra`` top-level text."""
    return (
        "nnspec: 1\nseed: 0\nlayers:\n"
        f"  - {{name: x, type: Input, size: {size}, generator: {generator}}}\n"
        f"  - {layer}\n" + extra
    )


def commands(rng: random.Random) -> list[str]:
    """validate, or a quiet run of a few samples: each goes through the loader and validation."""
    return ["validate", SPEC] if rng.random() < 0.5 else ["run", "-q", SPEC, "--samples", "3"]


def yaml_case(group: str, label: str, text: str | bytes, expect: Expect, rng: random.Random, **extra) -> Case:
    return Case(group, label, commands(rng), {SPEC: text}, expect, **extra)


# --- hostile YAML ------------------------------------------------------------------------------


def billion_laughs(rng: random.Random) -> Iterator[Case]:
    for i in range(40):
        depth, width = rng.randint(2, 10), rng.randint(2, 12)
        lines = ["lol0: &a0 [lol, lol]"]
        for level in range(1, depth + 1):
            items = ", ".join([f"*a{level - 1}"] * width)
            lines.append(f"lol{level}: &a{level} [{items}]" if i % 2 else f"lol{level}: &a{level}\n  - {items}")
        bomb = "\n".join(lines) + "\n"
        where = i % 3
        if where == 0:  # top level
            text = BLOCK + bomb
        elif where == 1:  # inside a layer's mapping
            text = BLOCK + "    laughs:\n" + "".join("      " + line + "\n" for line in bomb.splitlines())
        else:  # as data
            text = DATA_SPEC + "data:\n" + "".join("  " + line + "\n" for line in bomb.splitlines())
        yield yaml_case("billion laughs", f"depth {depth} width {width} at {where}", text, spec_error("YAML"), rng)


def recursive_aliases(rng: random.Random) -> Iterator[Case]:
    forms = [
        "a: &a [*a]\n",
        "a: &a {k: *a}\n",
        "a: &a [x, [y, *a]]\n",
        "a: &a\n  - *a\n",
        "a: &a\n  k: *a\n",
        "a: &a [*b]\nb: &b [*a]\n",
        "a: *nowhere\n",
        "a: &a [1]\nb: &a [*a, *a]\n",  # an anchor defined twice
        "&a a: *a\n",
        "a: &a [*a, *a, *a, *a, *a, *a, *a, *a]\n",
        "? &a [*a]\n: 1\n",
        "a: &a !!python/object:os.system [*a]\n",
    ]
    for i in range(30):
        form = forms[i % len(forms)]
        anchor = "".join(rng.choice("abcxyz") for _ in range(rng.randint(1, 12)))
        form = form.replace("&a", f"&{anchor}").replace("*a", f"*{anchor}")
        text = BLOCK + form if i % 2 else form + BLOCK.replace("nnspec: 1\n", "nnspec: 1\n", 1)
        yield yaml_case("recursive aliases", f"form {i % len(forms)}", text, spec_error(), rng)


def merge_keys(rng: random.Random) -> Iterator[Case]:
    source = "  - {name: x, type: Input, size: [8], generator: Normal}\n"
    forms = [
        ("  - &common {name: x, type: Input, size: [8], generator: Normal}\n  - {<<: *common, name: y}\n", "alias"),
        (source + "  - {name: fc, <<: {type: Affine, out_shape: 3}}\n", "inline"),
        (source + "  - {name: fc, <<: [{type: Affine}, {out_shape: 3}]}\n", "list"),
        (source + "  - name: fc\n    <<:\n      type: Tanh\n", "block"),
        (source + "  - {name: fc, type: Affine, out_shape: 3, W: {<<: {initializer: Normal}}}\n", "parameter"),
        (source + "  - {name: fc, type: Affine, out_shape: 3, '<<': 1}\n", "quoted"),
    ]
    for i in range(24):
        layers, kind = forms[i % len(forms)]
        top = "<<: {seed: 1}\n" if i % 4 == 3 else ""
        text = f"nnspec: 1\n{top}layers:\n{layers}"
        yield yaml_case("merge keys", kind + (" + top" if top else ""), text, spec_error(), rng)


TAGS = [
    "!!python/object/apply:os.system ['touch PWNED']",
    "!!python/object/new:os.system ['touch PWNED']",
    "!!python/object:__main__.X {a: 1}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple [1, 2]",
    "!!python/bytes aGk=",
    "!!python/unicode x",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!pairs [a: 1]",
    "!!timestamp 2024-01-01",
    "!foo 1",
    "!<tag:yaml.org,2002:python/object/apply:os.system> ['touch PWNED']",
    "!<tag:example.com,2000:x> 1",
    "!!int abc",
    "!!float abc",
    "!!bool maybe",
    "!!int ''",
    "!!float ''",
    "!!int 0x",
    "!!int " + "9" * 5000,
]


def python_tags(rng: random.Random) -> Iterator[Case]:
    for i in range(60):
        tag = TAGS[i % len(TAGS)]
        where = rng.randrange(4)
        if where == 0:
            text = FLOW + f"seed_x: {tag}\n"
        elif where == 1:
            text = spec_with_layer(f"{{name: fc, type: Affine, out_shape: {tag}}}")
        elif where == 2:
            text = f"%TAG !e! tag:yaml.org,2002:python/object/apply:\n---\n{FLOW}extra: !e!os.system ['touch PWNED']\n"
        else:
            text = DATA_SPEC + f"data:\n  x: {tag}\n"
        yield yaml_case("python tags", f"{tag[:40]} at {where}", text, spec_error(), rng, check=not_created("PWNED"))


def not_created(name: str) -> Callable[[Path], str | None]:
    def check(directory: Path) -> str | None:
        return f"{name} was created: something in the input was executed" if (directory / name).exists() else None

    return check


def deep_nesting(rng: random.Random) -> Iterator[Case]:
    depths = [10, 40, 63, 64, 65, 66, 100, 500, 1000, 10_000, 30_000, 60_000]  # 60,000 levels: near the size limit
    for i in range(36):
        depth = depths[i % len(depths)]
        form = rng.choice(["seq", "map", "mixed", "block"])
        if form == "seq":
            value = "[" * depth + "1" + "]" * depth
        elif form == "map":
            value = "{a: " * depth + "1" + "}" * depth
        elif form == "mixed":
            value = "".join(rng.choice(["[", "{a: "]) for _ in range(depth))
            closing = "".join("]" if c == "[" else "}" for c in reversed(re.findall(r"\[|\{", value)))
            value = value + "1" + closing
        else:
            depth = min(depth, 200)  # indentation: 2 spaces a level
            value = "\n" + "".join("  " * (level + 1) + "a:\n" for level in range(depth)) + "  " * (depth + 1) + "1"
        spot = rng.choice(["top", "layer", "data"])
        if spot == "top":
            text = FLOW + f"deep: {value}\n"
        elif spot == "layer":
            text = (
                spec_with_layer(f"{{name: t, type: Tanh, deep: {value}}}")
                if form != "block"
                else FLOW + f"deep: {value}\n"
            )
        else:
            text = DATA_SPEC + f"data:\n  x: {value}\n"
        # Within the limit (64 levels, the spec's own two or three included), the value is still wrong there.
        expect = spec_error("nesting deeper than 64") if depth > 64 else spec_error()
        yield yaml_case("deep nesting", f"{form} depth {depth} at {spot}", text, within_limit(text, expect), rng)


def long_scalars(rng: random.Random) -> Iterator[Case]:
    lengths = [1_000, 10_000, 100_000, 120_000]  # the last near the size limit
    kinds = [
        "name",
        "type",
        "description",
        "property",
        "key",
        "int",
        "float",
        "data",
        "comment",
        "file",
        "quoted",
        "variable",
    ]
    for i in range(48):
        n, kind = lengths[i % len(lengths)], kinds[i % len(kinds)]
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
        expect = spec_error()
        if kind == "name":  # a valid name, if a long one
            text = spec_with_layer(f"{{name: t{word}, type: Tanh}}")
            expect = OK
        elif kind == "type":
            text = spec_with_layer(f"{{name: t, type: Tanh{word}}}")
        elif kind == "description":
            text = FLOW + f"description: {word}\n"
            expect = OK
        elif kind == "property":
            text = spec_with_layer(f"{{name: c, type: Convolution, border_mode: {word}}}", size="[1, 4, 4]")
        elif kind == "key":
            text = spec_with_layer(f"{{name: t, type: Tanh, {word}: 1}}")
        elif kind == "int":
            text = spec_with_layer(f"{{name: fc, type: Affine, out_shape: {'9' * n}}}")
        elif kind == "float":
            text = spec_with_layer(f"{{name: l, type: LeakyReLU, alpha: 0.{'3' * n}}}")
            expect = OK
        elif kind == "data":
            text = DATA_SPEC + f"data:\n  x: [[1, 2, 3, {'7' * n}]]\n"
        elif kind == "comment":
            text = FLOW + f"# {word}\n"
            expect = OK
        elif kind == "variable":  # a data variable's name, as an explicit key (a plain one stops at 1024)
            text = FLOW + f"data:\n  ? v{word}\n  : [1, 2, 3, 4, 5, 6, 7, 8]\n"
        elif kind == "file":
            text = spec_with_layer(f"{{name: fc, type: Affine, out_shape: 2, W: {{file: {word}.npy}}}}")
        else:
            text = FLOW + f'description: "{chr(92) + "x07" + word}"\n'
            expect = OK
        yield yaml_case("long scalars", f"{kind} of {n:,}", text, within_limit(text, expect), rng)


def huge_files(rng: random.Random) -> Iterator[Case]:
    limit = _spec_limit()
    for i, size in enumerate([limit + 1, limit + 100, 2 * limit, 10 * limit, 100 * 2**20, 2**30]):

        def make(path: Path, size: int = size, i: int = i) -> None:
            with open(path, "wb") as handle:
                handle.write(FLOW.encode())
                if i % 2:
                    handle.write(b"data:\n  x: [" + b"0.5, " * ((min(size, 2 * limit) - len(FLOW)) // 5) + b"]\n")
                handle.truncate(size)  # the rest sparse: a large file costs no disk

        yield Case(
            "huge files", f"{size:,} bytes", commands(rng), {SPEC: make}, usage_error(SPEC, "NNSPEC_MAX_SPEC_SIZE")
        )
    for device in ["/dev/zero", "/dev/urandom"]:
        yield Case("huge files", device, ["validate", device], {}, usage_error(device, "NNSPEC_MAX_SPEC_SIZE"))

    def fifo(path: Path) -> None:
        os.mkfifo(path)

    yield Case("huge files", "named pipe, no writer", ["validate", SPEC], {SPEC: fifo}, spec_error("empty"))
    # Within the limit: a file of the limit's size, of what makes loading slow or large.
    for kind in ["data rows", "comments", "description", "flow list", "layers"]:
        yield Case("huge files", f"{kind} at the limit", commands(rng), {SPEC: _at_limit(kind, limit)}, EITHER)
    # The limit raised: the same file is read.
    big = FLOW + "description: " + "x" * (limit + 10) + "\n"
    yield Case("huge files", "limit raised", ["validate", SPEC], {SPEC: big}, OK, env={"NNSPEC_MAX_SPEC_SIZE": "4M"})
    for setting in ["abc", "-1", "1e999", ""]:
        expect = OK if not setting else usage_error("NNSPEC_MAX_SPEC_SIZE")
        yield Case(
            "huge files",
            f"limit set to {setting!r}",
            ["validate", SPEC],
            {SPEC: FLOW},
            expect,
            env={"NNSPEC_MAX_SPEC_SIZE": setting},
        )


def within_limit(text: str, expect: Expect) -> Expect:
    """``expect`` for a spec within the size limit; the limit's own error for a larger one."""
    return expect if len(text.encode()) <= _spec_limit() else usage_error(SPEC, "NNSPEC_MAX_SPEC_SIZE")


def _spec_limit() -> int:
    from nnspec.spec.loader import MAX_SPEC_BYTES

    return MAX_SPEC_BYTES


def _at_limit(kind: str, limit: int) -> str:
    """A spec of about ``limit`` bytes made of one kind of content."""
    room = limit - len(FLOW) - 64
    if kind == "data rows":
        row = "  - [" + ", ".join(["0.123"] * 4) + "]\n"
        return DATA_SPEC + "data:\n  x:\n" + row * (room // len(row))
    if kind == "comments":
        line = "# " + "c" * 78 + "\n"
        return FLOW + line * (room // len(line))
    if kind == "description":
        return FLOW + "description: " + "d" * room + "\n"
    if kind == "flow list":
        return FLOW + "extra: [" + "1, " * (room // 3) + "]\n"
    line = "  - {name: l%d, type: Tanh}\n"
    count = room // len(line % 100000)
    return FLOW + "".join(line % n for n in range(count))


def non_utf8(rng: random.Random) -> Iterator[Case]:
    bad = [
        b"\x80",
        b"\xbf",
        b"\xc0\xaf",
        b"\xc1\xbf",
        b"\xe0\x80\xaf",
        b"\xed\xa0\x80",
        b"\xf5\x80\x80\x80",
        b"\xff",
        b"\xfe",
        b"\xc3",
        b"\xe2\x82",
        b"caf\xe9",
        b"\x93quoted\x94",
        b"\x82\xa0\x82\xa2",
    ]
    text = BLOCK.encode()
    for i in range(40):
        chunk = bad[i % len(bad)]
        mode = rng.randrange(4)
        if mode == 0:  # inside a value
            raw = text.replace(b"type: Tanh", b"type: Tanh" + chunk, 1)
        elif mode == 1:  # at a random byte
            at = rng.randrange(len(text))
            raw = text[:at] + chunk + text[at:]
        elif mode == 2:  # at the end, a sequence cut short
            raw = text + b"name: x" + chunk[:1]
        else:  # a whole file in another encoding
            raw = (BLOCK + "description: café — ü\n").encode(
                rng.choice(["latin-1", "utf-16-le", "utf-16-be", "cp1252"]), "replace"
            )
        expect = spec_error("not UTF-8")
        yield yaml_case("non-UTF-8", f"{chunk!r} mode {mode}", raw, expect, rng)


def boms(rng: random.Random) -> Iterator[Case]:
    utf8 = b"\xef\xbb\xbf"
    body = BLOCK
    forms: list[tuple[str, bytes, Expect]] = [
        ("UTF-8 BOM", utf8 + body.encode(), OK),
        ("UTF-8 BOM, CRLF", utf8 + body.replace("\n", "\r\n").encode(), OK),
        ("two UTF-8 BOMs", utf8 + utf8 + body.encode(), EITHER),
        ("UTF-16-LE BOM", body.encode("utf-16"), spec_error("UTF-16")),
        ("UTF-16-BE BOM", b"\xfe\xff" + body.encode("utf-16-be"), spec_error("UTF-16")),
        ("UTF-32 BOM", body.encode("utf-32"), spec_error()),
        ("BOM mid-line", body.replace("type: Tanh", "type: \ufeffTanh").encode(), spec_error()),
        ("BOM on a later line", body.replace("  - name: fc", "\ufeff  - name: fc").encode(), EITHER),
        ("BOM alone", utf8, spec_error("empty")),
        ("BOM then a document marker", utf8 + b"---\n" + body.encode(), OK),
    ]
    for i in range(30):
        label, raw, expect = forms[i % len(forms)]
        yield yaml_case("BOMs", label, raw, expect, rng)


def tabs(rng: random.Random) -> Iterator[Case]:
    lines = BLOCK.splitlines()
    for i in range(40):
        mode = i % 5
        edited = list(lines)
        if mode == 0:  # indentation of a random indented line
            at = rng.choice([n for n, line in enumerate(lines) if line.startswith("  ")])
            edited[at] = "\t" + edited[at].lstrip(" ")
            expect = spec_error()
        elif mode == 1:  # after the colon: allowed
            at = rng.choice([n for n, line in enumerate(lines) if ": " in line])
            edited[at] = edited[at].replace(": ", ":\t", 1)
            expect = EITHER
        elif mode == 2:  # inside a quoted value: allowed, the text holds a tab
            edited.append('description: "a\ttab"')
            expect = OK
        elif mode == 3:  # a tab-only line between layers
            edited.insert(rng.randrange(3, len(edited)), "\t")
            expect = EITHER
        else:  # indentation mixing spaces and a tab
            at = rng.choice([n for n, line in enumerate(lines) if line.startswith("    ")])
            edited[at] = "  \t" + edited[at].lstrip(" ")
            expect = spec_error()
        yield yaml_case("tabs", f"mode {mode}", "\n".join(edited) + "\n", expect, rng)


def duplicate_keys(rng: random.Random) -> Iterator[Case]:
    forms = [
        FLOW + "seed: 1\n",
        FLOW + "layers: []\n",
        FLOW.replace("{name: t, type: Tanh}", "{name: t, type: Tanh, type: ReLU}"),
        FLOW.replace("{name: t, type: Tanh}", "{name: t, name: u, type: Tanh}"),
        FLOW.replace("out_shape: 4}", "out_shape: 4, 'out_shape': 5}"),
        FLOW.replace("out_shape: 4}", 'out_shape: 4, "out_shape": 5}'),
        BLOCK.replace("    out_shape: 4\n", "    out_shape: 4\n    out_shape: 4\n"),
        DATA_SPEC + "data:\n  x: [[1, 2, 3, 4]]\n  x: [[1, 2, 3, 4]]\n",
        FLOW.replace("out_shape: 4}", "out_shape: 4, W: {initializer: Normal, initializer: Uniform}}"),
        FLOW + "checks: {tanh-saturation: off, tanh-saturation: warning}\n",
        BLOCK.replace("nnspec: 1\n", "nnspec: 1\nnnspec: 1\n"),
        FLOW.replace("{name: t, type: Tanh}", "{name: t, type: Tanh, ? type : ReLU}"),
    ]
    for i in range(36):
        text = forms[i % len(forms)]
        yield yaml_case("duplicate keys", f"form {i % len(forms)}", text, spec_error("duplicate key"), rng)


def non_string_keys(rng: random.Random) -> Iterator[Case]:
    keys = [
        "1",
        "1.5",
        "-3",
        "0x10",
        "yes",
        "no",
        "on",
        "off",
        "true",
        "False",
        "~",
        "null",
        ".nan",
        ".inf",
        "[a, b]",
        "{a: 1}",
        "!!int 3",
        "2024-01-01",
    ]
    for i in range(36):
        key = keys[i % len(keys)]
        spot = rng.choice(["top", "layer", "data", "parameter"])
        if key.startswith(("[", "{")):
            key = f"? {key}\n:" if spot == "top" else f"? {key} :"
        entry = f"{key}: 1" if not key.endswith(":") else f"{key} 1"
        if spot == "top":
            text = FLOW + entry + "\n"
        elif spot == "layer":
            text = spec_with_layer(f"{{name: t, type: Tanh, {entry}}}")
        elif spot == "data":
            text = DATA_SPEC + f"data: {{{entry}}}\n"
        else:
            text = spec_with_layer(f"{{name: fc, type: Affine, out_shape: 2, W: {{{entry}}}}}")
        # A date is text to PyYAML's safe loader: then the key is merely unknown, a located error too.
        yield yaml_case("non-string keys", f"{key.strip()} at {spot}", text, spec_error(), rng)


def several_documents(rng: random.Random) -> Iterator[Case]:
    for i in range(30):
        count = rng.choice([2, 3, 10, 100, 1000])
        mode = i % 5
        if mode == 0:
            text = "---\n" + "---\n".join([FLOW] * count)
        elif mode == 1:
            text = FLOW + "...\n---\n" + FLOW
        elif mode == 2:
            text = "%YAML 1.1\n---\n" + FLOW + "---\n%YAML 1.1\n" * 0 + "---\n" + FLOW
        elif mode == 3:
            text = FLOW + "---\n" * count
        else:
            text = FLOW + "---\n# only a comment after\n"
        yield yaml_case("several documents", f"mode {mode}, {count}", text, spec_error("document"), rng)
    # One document, marked: fine.
    for text in ["---\n" + FLOW, "---\n" + FLOW + "...\n", "%YAML 1.1\n---\n" + FLOW]:
        yield yaml_case("several documents", "one marked document", text, OK, rng)


# --- hostile numbers -----------------------------------------------------------------------------


def overflowing_shapes(rng: random.Random) -> Iterator[Case]:
    big = [INT_MAX, 2**30, 2**20 + 7, 65_536, 1_000_003]
    for i in range(45):
        dims = [rng.choice(big) for _ in range(rng.randint(2, 6))]
        form = i % 9
        if form == 0:
            text = spec_with_layer("{name: t, type: Tanh}", size=str(dims))
        elif form == 1:
            text = spec_with_layer(f"{{name: fc, type: Affine, out_shape: {dims}}}")
        elif form == 2:
            text = spec_with_layer(f"{{name: r, type: Reshape, out_shape: {dims}}}")
        elif form == 3:
            text = spec_with_layer(f"{{name: b, type: Broadcast, out_shape: {dims[:1] + [1] * 0}}}", size="[1]")
        elif form == 4:
            text = spec_with_layer(f"{{name: t, type: Tile, reps: {dims[:2]}}}", size="[8, 8]")
        elif form == 5:
            text = spec_with_layer(f"{{name: p, type: Pad, pad_width: {[dims[0]] * 4}}}", size="[1, 4, 4]")
        elif form == 6:
            text = spec_with_layer(
                f"{{name: c, type: Convolution, out_maps: {INT_MAX}, kernel_shape: [3, 3]}}", size="[1, 16, 16]"
            )
        elif form == 7:
            text = spec_with_layer(
                f"{{name: e, type: Embed, num_class: {INT_MAX}, shape: {dims[:2]}}}", size="[1]", generator="Constant"
            )
        else:
            text = spec_with_layer(f"{{name: o, type: OneHot, shape: {dims[:3]}}}", size="[1]", generator="Constant")
        command = ["validate", SPEC] if i % 2 else ["run", "-q", SPEC, "--samples", "2"]
        # validate may accept a spec it cannot run; run must refuse it before allocating anything.
        expect = Expect("either", (1, 2), SPEC if i % 2 else None, True, ()) if i % 2 else memory_or_spec_error()
        yield Case("overflowing shapes", f"form {form} {dims}", command, {SPEC: text}, expect)


def memory_or_spec_error() -> Expect:
    """Refused: as an invalid spec (exit 1, located), or by the memory check (exit 2)."""
    return Expect("error", (1, 2), None, True, ())


def beyond_memory(rng: random.Random) -> Iterator[Case]:
    for i in range(36):
        form = i % 6
        values = rng.choice([2**31, 10**10, 3 * 10**9, 10**11])
        side = int(values**0.5)
        argv = ["run", "-q", SPEC]
        if form == 0:  # one sample beyond memory
            text = spec_with_layer("{name: t, type: Tanh}", size=f"[{side}, {side}]")
        elif form == 1:  # parameters beyond memory
            text = spec_with_layer(f"{{name: fc, type: Affine, out_shape: {side}}}", size=f"[{side}]")
        elif form == 2:  # too many samples
            text = spec_with_layer("{name: t, type: Tanh}", size="[1000]")
            argv += ["--samples", str(values)]
        elif form == 3:  # a batch too large
            text = spec_with_layer("{name: t, type: Tanh}", size="[10000]")
            argv += ["--samples", "1000000", "--batch-size", "1000000"]
        elif form == 4:  # small, under a small limit
            text = spec_with_layer("{name: fc, type: Affine, out_shape: 512}", size="[512]")
            argv += ["--max-memory", rng.choice(["1K", "100K", "1M"])]
        else:  # a data file declaring far more rows than memory (sparse: nothing on disk)
            text = DATA_SPEC.replace("size: [4]", "size: [1000]")
            argv += ["--input", "x=big.npy"]
            yield Case(
                "beyond memory",
                "npy of 10^7 rows",
                argv,
                {SPEC: text, "big.npy": _sparse_npy((10**7, 1000))},
                usage_error(None, "--max-memory"),
            )
            continue
        yield Case(
            "beyond memory", f"form {form}, {values:.0e} values", argv, {SPEC: text}, usage_error(None, "--max-memory")
        )


def _sparse_npy(shape: tuple[int, ...]) -> Callable[[Path], None]:
    """A .npy file of float32 zeros of ``shape``, its data a hole: large, costing no disk."""

    def make(path: Path) -> None:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
        with open(path, "wb") as handle:
            handle.write(header.getvalue())
            handle.truncate(len(header.getvalue()) + 4 * int(np.prod(shape, dtype=object)))

    return make


def zero_negative_sizes(rng: random.Random) -> Iterator[Case]:
    layers = [
        ("{name: t, type: Tanh}", "0"),
        ("{name: t, type: Tanh}", "[0]"),
        ("{name: t, type: Tanh}", "[-1]"),
        ("{name: t, type: Tanh}", "[4, 0]"),
        ("{name: t, type: Tanh}", "[]"),
        ("{name: fc, type: Affine, out_shape: 0}", "[8]"),
        ("{name: fc, type: Affine, out_shape: -3}", "[8]"),
        ("{name: fc, type: Affine, out_shape: [2, 0]}", "[8]"),
        ("{name: c, type: Convolution, out_maps: 2, kernel_shape: [0, 3]}", "[1, 8, 8]"),
        ("{name: c, type: Convolution, out_maps: 2, kernel_shape: [3, 3], strides: [0, 1]}", "[1, 8, 8]"),
        ("{name: c, type: Convolution, out_maps: 2, kernel_shape: [3, 3], strides: [-1, 1]}", "[1, 8, 8]"),
        ("{name: c, type: Convolution, out_maps: 2, kernel_shape: [9, 9], border_mode: valid}", "[1, 8, 8]"),
        ("{name: c, type: Convolution, out_maps: 0}", "[1, 8, 8]"),
        ("{name: c, type: Convolution, out_maps: 2, group: 0}", "[1, 8, 8]"),
        ("{name: c, type: Convolution, out_maps: 2, dilation: [0, 1]}", "[1, 8, 8]"),
        ("{name: p, type: MaxPooling, kernel_shape: [0, 2]}", "[1, 8, 8]"),
        ("{name: p, type: Pad, pad_width: [-1, -1, 0, 0]}", "[1, 8, 8]"),
        ("{name: s, type: Softmax, axis: 5}", "[8]"),
        ("{name: s, type: Softmax, axis: -1}", "[8]"),
        ("{name: r, type: Reshape, out_shape: [3, 3]}", "[8]"),
        ("{name: r, type: Reshape, out_shape: [-1]}", "[8]"),
        ("{name: s, type: Slice, start: [5], stop: [2], step: [1]}", "[8]"),
        ("{name: s, type: Slice, start: [0], stop: [8], step: [0]}", "[8]"),
        ("{name: t, type: Tile, reps: 0}", "[8]"),
        ("{name: d, type: Dropout, p: 1.5}", "[8]"),
        ("{name: d, type: Dropout, p: -0.5}", "[8]"),
        ("{name: e, type: Embed, num_class: 0}", "[1]"),
    ]
    for layer, size in layers:
        text = spec_with_layer(layer, size=size)
        yield yaml_case("zero/negative sizes", f"{layer} size {size}", text, spec_error(), rng)
    arguments = [
        ["--batch-size", "0"],
        ["--batch-size", "-1"],
        ["--batch-size", "1.5"],
        ["--samples", "0"],
        ["--samples", "-5"],
        ["--samples", "1e999"],
        ["--max-memory", "0"],
        ["--max-memory", "-1"],
        ["--max-memory", "abc"],
        ["--max-memory", "1e999"],
        ["--max-memory", "99999999999999999999T"],
    ]
    for argument in arguments:
        expect = Expect("error", (2,), None, False, (argument[0],))
        if argument[1].endswith("T"):
            expect = Expect("error", (2,), None, False, ("1024T",))  # beyond the largest size taken: says which
        yield Case("zero/negative sizes", " ".join(argument), ["run", "-q", SPEC, *argument], {SPEC: FLOW}, expect)


def nan_inf_properties(rng: random.Random) -> Iterator[Case]:
    from nnspec.layers.catalog import layer_types

    specials = [".nan", ".inf", "-.inf", "1e999", "-1e999", ".NaN", ".Inf"]
    floats = [
        (t, p) for t in layer_types().values() for p in t.properties if p.kind in ("float", "range", "float_array")
    ]
    for i in range(80):
        value = specials[i % len(specials)]
        form = i % 8
        if form < 5:  # a layer's own property: its formula says what NaN or inf means, or its rule refuses it
            layer_type, prop = floats[rng.randrange(len(floats))]
            shown = f"[{value}, 1]" if prop.kind == "range" else f"[{value}]" if prop.kind == "float_array" else value
            if layer_type.is_source:
                text = spec_with_layer("{name: t, type: Tanh}", generator=f"Normal, {prop.name}: {shown}")
                expect = spec_error("finite")
            else:
                text = _layer_spec(layer_type, f"{prop.name}: {shown}")
                expect = Expect("either", (1,), SPEC, True)  # refused by the layer's rule, or the run reports NaN/inf
            label = f"{layer_type.name}.{prop.name} = {value}"
        elif form == 5:
            text = spec_with_layer(
                f"{{name: fc, type: Affine, out_shape: 2, W: {{initializer: Normal, multiplier: {value}}}}}"
            )
            expect, label = spec_error("finite"), f"W.multiplier = {value}"
        elif form == 6:
            text = FLOW + f"checks: {{tanh-saturation: {value}}}\n"
            expect, label = Expect("either", (1,), SPEC, True), f"check threshold {value}"
        else:
            text = DATA_SPEC + f"data:\n  x: [[1, 2, 3, {value}]]\n"  # data: NaN/inf are data, the run reports them
            expect, label = Expect("either", (1,), SPEC, True), f"data {value}"
        yield yaml_case("NaN/Inf properties", label, text, expect, rng)


def _layer_spec(layer_type, props: str) -> str:
    """A spec feeding one layer of ``layer_type`` from Inputs of a shape most layers take."""
    inputs = max(layer_type.arity.least, 1)
    lines = [f"  - {{name: x{n}, type: Input, size: [2, 4, 4], generator: Normal}}" for n in range(inputs)]
    wiring = ", ".join(f"x{n}" for n in range(inputs))
    targets = "".join(f", {t.name}: {{generator: Normal}}" for t in layer_type.targets)
    lines.append(f"  - {{name: l, type: {layer_type.name}, input: [{wiring}], {props}{targets}}}")
    return "nnspec: 1\nlayers:\n" + "\n".join(lines) + "\n"


def int_vs_float(rng: random.Random) -> Iterator[Case]:
    forms = [
        ("{name: t, type: Tanh}", "[8.0]", OK),
        ("{name: t, type: Tanh}", "[8.5]", spec_error()),
        ("{name: t, type: Tanh}", "[8e0]", OK),
        ("{name: fc, type: Affine, out_shape: 3.0}", "[8]", OK),
        ("{name: fc, type: Affine, out_shape: 3.5}", "[8]", spec_error()),
        ("{name: fc, type: Affine, out_shape: '3'}", "[8]", spec_error()),
        ("{name: fc, type: Affine, out_shape: 0x10}", "[8]", OK),
        ("{name: fc, type: Affine, out_shape: 010}", "[8]", OK),
        ("{name: fc, type: Affine, out_shape: 1_000}", "[8]", OK),
        ("{name: fc, type: Affine, out_shape: 1:30}", "[8]", OK),
        ("{name: s, type: Softmax, axis: 0.0}", "[8]", OK),
        ("{name: s, type: Softmax, axis: 0.5}", "[8]", spec_error()),
        ("{name: l, type: LeakyReLU, alpha: 1}", "[8]", OK),
        ("{name: l, type: LeakyReLU, alpha: 100000000000000000000}", "[8]", OK),
        ("{name: l, type: LeakyReLU, alpha: " + "9" * 400 + "}", "[8]", spec_error("float can hold")),
        ("{name: l, type: LeakyReLU, alpha: 0x" + "f" * 300 + "}", "[8]", spec_error("float can hold")),
        ("{name: l, type: LeakyReLU, alpha: '0.1'}", "[8]", spec_error()),
        ("{name: l, type: LeakyReLU, alpha: 1e-400}", "[8]", OK),
        ("{name: d, type: Dropout, seed: 1.5}", "[8]", spec_error()),
        ("{name: fc, type: Affine, out_shape: 2, W: {initializer: Normal, multiplier: 2}}", "[8]", OK),
        ("{name: fc, type: Affine, out_shape: 2, W: {initializer: Normal, multiplier: '2'}}", "[8]", spec_error()),
        ("{name: m, type: MulScalar, value: 3}", "[8]", OK),
    ]
    for i in range(44):
        layer, size, expect = forms[i % len(forms)]
        yield yaml_case("int vs float", f"{layer[:60]} size {size}", spec_with_layer(layer, size=size), expect, rng)
    for seed in ["1.5", "'7'", "9" * 400, "-1"]:
        yield yaml_case(
            "int vs float", f"seed {seed[:20]}", FLOW.replace("seed: 0", f"seed: {seed}"), spec_error(), rng
        )


def booleans_as_numbers(rng: random.Random) -> Iterator[Case]:
    booleans = ["true", "false", "yes", "no", "on", "off", "True", "NO"]
    slots = [
        ("{name: t, type: Tanh}", "size"),
        ("{name: fc, type: Affine, out_shape: B}", None),
        ("{name: fc, type: Affine, out_shape: [2, B]}", None),
        ("{name: l, type: LeakyReLU, alpha: B}", None),
        ("{name: s, type: Softmax, axis: B}", None),
        ("{name: m, type: MulScalar, value: B}", None),
        ("{name: fc, type: Affine, out_shape: 2, W: {initializer: Normal, multiplier: B}}", None),
        ("{name: d, type: Dropout, p: B}", None),
        ("{name: fc, type: Affine, out_shape: 2, with_bias: 1}", None),
    ]
    for i in range(40):
        word = booleans[i % len(booleans)]
        layer, slot = slots[i % len(slots)]
        if slot == "size":
            text = spec_with_layer(layer, size=f"[{word}]")
        else:
            text = spec_with_layer(layer.replace("B", word))
        yield yaml_case("booleans as numbers", f"{layer.replace('B', word)[:50]}", text, spec_error(), rng)
    for label, text in [
        ("nnspec: true", FLOW.replace("nnspec: 1", "nnspec: true")),
        ("seed: yes", FLOW.replace("seed: 0", "seed: yes")),
        ("dtype: on", FLOW + "dtype: on\n"),
    ]:
        yield yaml_case("booleans as numbers", label, text, spec_error(), rng)


# --- hostile files -------------------------------------------------------------------------------


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npz_bytes(compressed: bool = False, allow_pickle: bool = False, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            archive.writestr(name + ".npy", npy_bytes(array, allow_pickle))
    return buffer.getvalue()


class Payload:
    """Unpickling this runs a command: nnspec must never unpickle anything."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


GOOD = np.linspace(-1, 1, 8).reshape(2, 4)
PARAMS = {"fc/affine/W": np.full((4, 3), 0.1), "fc/affine/b": np.zeros(3)}


def input_slots(name: str) -> list[tuple[list[str], dict[str, Content], Expect]]:
    """The ways a data or parameter file reaches nnspec: (argv, extra files, expected error)."""
    alone = (
        [(["run", "-q", SPEC, "--input", name], {SPEC: DATA_SPEC}, usage_error(name))] if name.endswith(".npz") else []
    )
    return alone + [
        (["run", "-q", SPEC, "--input", f"x={name}"], {SPEC: DATA_SPEC}, usage_error(name)),
        (
            ["run", "-q", SPEC, "--params", name, "--input", "x=good.npy"],
            {SPEC: DATA_SPEC, "good.npy": npy_bytes(GOOD)},
            Expect("error", (1, 2), name, False),
        ),
        (
            ["run", "-q", SPEC],
            {
                SPEC: DATA_SPEC.replace("out_shape: 3}", f"out_shape: 3, W: {{file: {name}}}}}")
                + "data:\n  x: [[1, 2, 3, 4]]\n"
            },
            Expect("error", (1, 2), name, False),
        ),
    ]


def pickled_files(rng: random.Random) -> Iterator[Case]:
    objects = np.array([Payload()] * 8, dtype=object).reshape(2, 4)
    contents = {
        "object array .npy": ("data.npy", npy_bytes(objects, allow_pickle=True)),
        "raw pickle as .npy": ("data.npy", pickle.dumps(Payload())),
        "object member, stored .npz": ("data.npz", npz_bytes(allow_pickle=True, x=objects)),
        "object member, compressed .npz": ("data.npz", npz_bytes(compressed=True, allow_pickle=True, x=objects)),
        "raw pickle as .npz": ("data.npz", pickle.dumps({"x": Payload()})),
        "pickled params .npz": (
            "data.npz",
            npz_bytes(allow_pickle=True, **{"fc/affine/W": objects, "fc/affine/b": objects}),
        ),
    }
    for i in range(36):
        label = list(contents)[i % len(contents)]
        name, raw = contents[label]
        slots = input_slots(name)
        argv, files, expect = slots[rng.randrange(len(slots))]
        if name.endswith(".npz") and rng.random() < 0.3:
            argv, files, expect = ["run", "-q", SPEC, "--input", name], {SPEC: DATA_SPEC}, usage_error(name)
        yield Case("pickled .npy/.npz", label, argv, {**files, name: raw}, expect, check=not_created("PWNED"))


def corrupt_files(rng: random.Random) -> Iterator[Case]:
    originals = {
        "data.npy": npy_bytes(GOOD),
        "data.npz": npz_bytes(x=GOOD, **{k: v for k, v in PARAMS.items()}),
        "zipped.npz": npz_bytes(compressed=True, x=GOOD, **PARAMS),
        "data.csv": b"1,2,3,4\n5,6,7,8\n",
    }
    for i in range(70):
        name = list(originals)[i % len(originals)]
        raw = originals[name]
        mode = rng.randrange(4)
        if mode == 0:  # cut short
            raw = raw[: rng.randrange(len(raw))]
        elif mode == 1:  # bytes overwritten
            raw = bytearray(raw)
            for _ in range(rng.randint(1, 16)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            raw = bytes(raw)
        elif mode == 2:  # random bytes
            raw = rng.randbytes(rng.randint(0, 400))
        else:  # the .npy header lies
            shape = rng.choice(["(-1, 4)", "(2**62, 2**62)", "(10**12, 4)", "(2, 4, 'x')", "()", "(2, 4)"])
            descr = rng.choice(["'<f8'", "'<U4'", "'O'", "'|V8'", "'<f8,<i4'", "'>c16'", "'xyz'"])
            header = f"{{'descr': {descr}, 'fortran_order': {rng.choice(['False', 'True', '1'])}, 'shape': {shape}, }}"
            header = header.encode().ljust(118) + b"\n"
            raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 64
            name = "data.npy"
        slots = input_slots(name)
        argv, files, _ = slots[rng.randrange(len(slots))]
        if name.endswith(".csv"):
            argv, files = ["run", "-q", SPEC, "--input", f"x={name}"], {SPEC: DATA_SPEC}
        # Damage that leaves the numbers readable may still run: then a clean success is fine.
        yield Case(
            "truncated/corrupt files",
            f"{name} mode {mode}",
            argv,
            {**files, name: raw},
            Expect("either", (1, 2), name, False),
        )
    for kind in ("npz", "h5", "png"):
        for i in range(6):
            yield from _corrupt_special(kind, i, rng)


def _corrupt_special(kind: str, i: int, rng: random.Random) -> Iterator[Case]:
    if kind == "npz":  # a compressed member whose stream is damaged, or whose sizes lie
        raw = bytearray(npz_bytes(compressed=True, x=np.zeros((200, 4))))
        start = raw.index(b"x.npy") + 5
        for offset in range(start + 10 + i * 7, start + 20 + i * 7):
            raw[offset] ^= 0xFF
        yield Case(
            "truncated/corrupt files",
            f"deflate stream damaged {i}",
            ["run", "-q", SPEC, "--input", "x=z.npz"],
            {SPEC: DATA_SPEC, "z.npz": bytes(raw)},
            usage_error("z.npz"),
        )
    elif kind == "h5":
        if not _has("h5py"):
            return
        raw = _h5_bytes(PARAMS)
        raw = (
            raw[: rng.randrange(len(raw))]
            if i % 2
            else bytes(b ^ 0x5A if n % 97 == i else b for n, b in enumerate(raw))
        )
        yield Case(
            "truncated/corrupt files",
            f"parameter .h5 damaged {i}",
            ["run", "-q", SPEC, "--params", "p.h5", "--input", "x=good.npy"],
            {SPEC: DATA_SPEC, "p.h5": raw, "good.npy": npy_bytes(GOOD)},
            Expect("either", (1, 2), "p.h5", False),
        )
    elif _has("PIL"):
        raw = _png_bytes(np.full((4, 4), 200, np.uint8))
        raw = raw[: rng.randrange(8, len(raw))] if i % 2 else raw[:30] + rng.randbytes(20) + raw[50:]
        yield _dataset_case(
            "truncated/corrupt files",
            f"image damaged {i}",
            {"img.png": raw},
            "img.png",
            Expect("either", (2,), "img.png", False),
            size="[1, 4, 4]",
        )


def _has(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def _h5_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import h5py

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "p.h5"
        with h5py.File(path, "w") as handle:
            for index, (name, value) in enumerate(arrays.items()):
                handle.create_dataset(name, data=value).attrs["index"] = index
        return path.read_bytes()


def _png_bytes(pixels: np.ndarray, mode: str | None = None, form: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, form)
    return buffer.getvalue()


def _dataset_case(
    group: str, label: str, files: dict[str, Content], cell: str | list[str], expect: Expect, size: str = "[1, 4, 4]"
) -> Case:
    cells = [cell] if isinstance(cell, str) else cell
    index = "x:image\n" + "".join(f"{c}\n" for c in cells)
    spec = f"nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: {size}}}\n  - {{name: t, type: Tanh}}\n"
    return Case(
        group, label, ["run", "-q", SPEC, "--dataset", "index.csv"], {SPEC: spec, "index.csv": index, **files}, expect
    )


def wrong_dtypes(rng: random.Random) -> Iterator[Case]:
    arrays = {
        "complex64": (GOOD.astype(np.complex64), False),
        "complex128": (GOOD + 1j, False),
        "unicode": (np.array([["a", "b", "c", "d"]] * 2), False),
        "bytes": (np.array([[b"a", b"b", b"c", b"d"]] * 2), False),
        "datetime64": (np.zeros((2, 4), "datetime64[s]"), False),
        "timedelta64": (np.zeros((2, 4), "timedelta64[s]"), False),
        "structured": (np.zeros((2, 4), "i4,f4"), False),
        "void": (np.zeros((2, 4), "V8"), False),
        "bool": (GOOD > 0, True),
        "float16": (GOOD.astype(np.float16), True),
        "int8": ((GOOD * 100).astype(np.int8), True),
        "uint64": (np.arange(8, dtype=np.uint64).reshape(2, 4), True),
        "longdouble": (GOOD.astype(np.longdouble), True),
        "big-endian float": (GOOD.astype(">f8"), True),
        "fortran order": (np.asfortranarray(GOOD), True),
    }
    for i in range(45):
        label = list(arrays)[i % len(arrays)]
        array, usable = arrays[label]
        slot = rng.randrange(3)
        if slot == 0:
            argv, files, name = (
                ["run", "-q", SPEC, "--input", "x=data.npy"],
                {SPEC: DATA_SPEC, "data.npy": npy_bytes(array)},
                "data.npy",
            )
        elif slot == 1:
            params = {"fc/affine/W": np.resize(array, (4, 3)), "fc/affine/b": np.resize(array, (3,))}
            argv = ["run", "-q", SPEC, "--params", "p.npz", "--input", "x=good.npy"]
            files, name = {SPEC: DATA_SPEC, "p.npz": npz_bytes(**params), "good.npy": npy_bytes(GOOD)}, "p.npz"
        else:
            argv, files, name = (
                ["run", "-q", SPEC, "--input", "x=data.npz"],
                {SPEC: DATA_SPEC, "data.npz": npz_bytes(x=array)},
                "data.npz",
            )
        expect = (
            Expect("either", (1,), SPEC, True)
            if usable
            else Expect("error", (1, 2), name if slot != 1 else None, False, ())
        )
        yield Case(
            "wrong dtype", f"{label} via {['--input .npy', '--params', '--input .npz'][slot]}", argv, files, expect
        )


def wrong_shapes(rng: random.Random) -> Iterator[Case]:
    shapes = [(), (4,), (3,), (2, 3), (2, 5), (2, 2, 2), (0, 4), (2, 4, 1), (4, 2), (1, 1, 1, 1, 4), (2, 0)]
    for i in range(33):
        shape = shapes[i % len(shapes)]
        array = np.ones(shape)
        mode = i % 3
        # A file's samples are reshaped when their number of values matches; data: in the spec is not.
        fine = shape in ([(4,), (2, 2, 2), (2, 4, 1), (1, 1, 1, 1, 4)] if mode == 0 else [(4,)])
        if mode == 0:
            argv, files = ["run", "-q", SPEC, "--input", "x=data.npy"], {SPEC: DATA_SPEC, "data.npy": npy_bytes(array)}
            expect = Expect("either", (1, 2), None, True) if fine else Expect("error", (2,), None, False, ("x",))
        elif mode == 1:
            argv, files = ["run", "-q", SPEC, "--input", "x=data.csv"], {SPEC: DATA_SPEC, "data.csv": _csv(array)}
            expect = Expect("either", (1, 2), None, True)
        else:
            text = DATA_SPEC + f"data:\n  x: {array.tolist()}\n"
            argv, files = ["run", "-q", SPEC], {SPEC: text}
            expect = Expect("either", (1,), SPEC, True) if fine else spec_error()
        yield Case("wrong shapes", f"{shape} mode {mode}", argv, files, expect)
    for shape in [(3, 4), (4,), (4, 3, 1), (12,), (0, 3)]:
        params = {"fc/affine/W": np.ones(shape), "fc/affine/b": np.zeros(3)}
        argv = ["run", "-q", SPEC, "--params", "p.npz", "--input", "x=good.npy"]
        files = {SPEC: DATA_SPEC, "p.npz": npz_bytes(**params), "good.npy": npy_bytes(GOOD)}
        yield Case("wrong shapes", f"W of shape {shape}", argv, files, spec_error("fc/affine/W"))


def _csv(array: np.ndarray) -> bytes:
    rows = array.reshape(array.shape[0], int(np.prod(array.shape[1:]))) if array.ndim else array.reshape(1, 1)
    return "".join(",".join(f"{v:g}" for v in row) + "\n" for row in rows).encode()


def csv_files(rng: random.Random) -> Iterator[Case]:
    bad = [
        b"1,2,3,4\n1,2,3\n",
        b"1,2,3,4\n1,2,3,4,5\n",
        b"1,2,3,4\n1,a,3,4\n",
        b"a,b,c,d\n1,2,3,4\n",
        b"1,,3,4\n",
        b"1,2,3,4,\n",
        b"",
        b"\n\n\n",
        b"1,2\x00,3,4\n",
        b'1,2,"3,4\n1,2,3,4\n',
        b"1;2;3;4\n",
        b"1\t2\t3\t4\n",
        b"1,2,3,\xe9\n",
        b"0x10,2,3,4\n",
        b"1," + b"9" * 200_000 + b",3,4\n",
        b'1,"' + b"9" * 200_000 + b'",3,4\n',
        b"\xef\xbb\xbfa,2,3,4\n",
        b"1,2,3,4\r\n1,2,3\r\n",
        b"1,2,3,4\r5,6,7,8\r",  # lines ended by CR alone: read as the first row alone until issue 15
    ]
    fine = [
        b"1,2,3,4\n5,6,7,8\n",
        b"\xef\xbb\xbf1,2,3,4\n",
        b" 1 , 2 ,3,4\n",
        b"1e-3,2E2,-3,+4\n",
        b"nan,inf,-inf,1\n",
        b"1,2,3,4\n\n\n5,6,7,8\n",
        b'"1","2","3","4"\n',
    ]
    for i in range(36):
        raw, ok = (bad[i % len(bad)], False) if i % 3 else (fine[i % len(fine)], True)
        expect = Expect("either", (1,), None, True) if ok else usage_error("data.csv")
        yield Case(
            "ragged/text CSVs",
            f"{raw[:30]!r}",
            ["run", "-q", SPEC, "--input", "x=data.csv"],
            {SPEC: DATA_SPEC, "data.csv": raw},
            expect,
        )
    # NNC dataset index CSVs: header and rows.
    spec = DATA_SPEC.replace("size: [4]", "size: [2]")
    indexes = [
        (b"x__0,x__1\n1,2\n3\n", usage_error("index.csv", "row 3")),
        (b"x__0,x__1\n1,2\n3,a\n", usage_error("index.csv", "row 3")),
        (b"x__0,x__2\n1,2\n", usage_error("index.csv")),
        (b"x,x\n1,2\n", usage_error("index.csv")),
        (b"y__0,y__1\n1,2\n", usage_error("index.csv", "names no data variable")),
        (b"x__0,x__1\n", usage_error("index.csv", "no samples")),
        (b"", usage_error("index.csv", "empty")),
        (b",x__1\n1,2\n", usage_error("index.csv")),
        (b"x__0,x__1\n1,2\n" + b"3,4\n" * 1000 + b"5\n", usage_error("index.csv", "row 1003")),
        (b'x__0,x__1\n"1,2\n', usage_error("index.csv")),
        (b"x__0,x__1\n1\x00,2\n", usage_error("index.csv")),
        (b"x\x00\n1\n", usage_error("index.csv")),
        (b"x:image\nmissing.csv\n", usage_error("index.csv", "missing.csv")),
        (b"x:image\nsub.csv\n", usage_error("index.csv", "sub.csv")),
        (b"x__0,x__1\n1,2\n3,4\n", OK),
    ]
    for raw, expect in indexes:
        files: dict[str, Content] = {SPEC: spec, "index.csv": raw, "sub.csv": b"1\n2,3\n"}
        yield Case(
            "ragged/text CSVs", f"dataset {raw[:24]!r}", ["run", "-q", SPEC, "--dataset", "index.csv"], files, expect
        )


def parameter_files(rng: random.Random) -> Iterator[Case]:
    argv = ["run", "-q", SPEC, "--params", "p.npz", "--input", "x=good.npy"]
    variants: list[tuple[str, dict[str, np.ndarray], Expect]] = [
        ("exact", PARAMS, OK),
        ("an extra entry", {**PARAMS, "other/affine/W": np.ones(2)}, OK),
        ("many extra entries", {**PARAMS, **{f"x{n}/affine/W": np.ones(1) for n in range(50)}}, OK),
        ("W missing", {"fc/affine/b": np.zeros(3)}, spec_error("missing")),
        ("both missing", {"other/affine/W": np.ones((4, 3))}, spec_error("missing")),
        ("empty", {}, spec_error("missing")),
        ("W transposed", {**PARAMS, "fc/affine/W": np.ones((3, 4))}, spec_error("shape")),
        ("b a scalar", {**PARAMS, "fc/affine/b": np.float64(0)}, spec_error("shape")),
        ("W of text", {**PARAMS, "fc/affine/W": np.full((4, 3), "a")}, spec_error("numbers")),
        ("W NaN", {**PARAMS, "fc/affine/W": np.full((4, 3), np.nan)}, spec_error("NaN")),
        ("W beyond float32", {**PARAMS, "fc/affine/W": np.full((4, 3), 1e300)}, spec_error("NaN or Inf")),
        ("odd names", {**PARAMS, "../../etc/passwd": np.ones(1), "a" * 200: np.ones(1), "ü/ß": np.ones(1)}, OK),
        ("names without scope", {"W": np.ones((4, 3)), "b": np.zeros(3)}, spec_error("missing")),
        ("W of bool", {**PARAMS, "fc/affine/W": np.ones((4, 3), bool)}, Expect("either", (1,), SPEC, True)),
    ]
    for i in range(42):
        label, params, expect = variants[i % len(variants)]
        compressed = bool(i // len(variants) % 2)
        files = {SPEC: DATA_SPEC, "p.npz": npz_bytes(compressed=compressed, **params), "good.npy": npy_bytes(GOOD)}
        yield Case("parameter files", f"{label}{' (compressed)' if compressed else ''}", argv, files, expect)
    if _has("h5py"):
        h5argv = ["run", "-q", SPEC, "--params", "p.h5", "--input", "x=good.npy"]
        for label, params, expect in variants[:8]:
            files = {SPEC: DATA_SPEC, "p.h5": _h5_bytes(params), "good.npy": npy_bytes(GOOD)}
            yield Case("parameter files", f".h5 {label}", h5argv, files, expect)
    for label, raw in [("a .npy named .npz", npy_bytes(GOOD)), ("text", b"fc/affine/W = 1\n"), ("zero bytes", b"")]:
        files = {SPEC: DATA_SPEC, "p.npz": raw, "good.npy": npy_bytes(GOOD)}
        yield Case("parameter files", label, argv, files, usage_error("p.npz"))


def images(rng: random.Random) -> Iterator[Case]:
    if not _has("PIL"):
        return
    gray = np.full((4, 4), 100, np.uint8)
    rgb = np.full((4, 4, 3), 100, np.uint8)
    not_images: list[tuple[str, bytes]] = [
        ("text", b"hello, I am not an image\n"),
        ("empty", b""),
        ("a .npy", npy_bytes(GOOD)),
        ("HTML", b"<html><body>404</body></html>"),
        ("SVG", b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'),
        ("PNG signature only", b"\x89PNG\r\n\x1a\n"),
        ("random bytes", bytes(range(256))),
        ("a PNG cut short", _png_bytes(gray)[:45]),  # within its image data
        ("a JPEG named .png", _png_bytes(rgb, form="JPEG")),
        ("a bomb of 10^10 pixels", _png_claiming(100_000, 100_000)),
        ("a bomb of 10^8 pixels", _png_claiming(10_000, 10_000)),
        ("a bomb of 4*10^7 pixels", _png_claiming(8_000, 5_000)),
    ]
    for i in range(36):
        label, raw = not_images[i % len(not_images)]
        suffix = rng.choice([".png", ".jpg", ".gif", ".bmp", ".tiff"])
        expect = Expect("either", (2,), None, False) if "JPEG" in label else usage_error(f"img{suffix}")
        yield _dataset_case(
            "non-images as images", f"{label} as {suffix}", {f"img{suffix}": raw}, f"img{suffix}", expect
        )
    valid = [
        ("gray PNG", _png_bytes(gray), OK),
        ("RGB PNG into a 1-channel Input", _png_bytes(rgb), usage_error("index.csv")),
        ("16-bit PNG", _png_bytes(np.full((4, 4), 30000, np.uint16)), OK),
        ("palette GIF", _png_bytes(gray, form="GIF"), OK),
        ("a GIF named .png", _png_bytes(gray, form="GIF"), usage_error("img.png", "not a PNG file")),
        ("two sizes", None, usage_error("index.csv", "row 3")),
        ("a directory named .png", None, usage_error("dir.png", "directory")),
    ]
    for label, raw, expect in valid:
        if label == "two sizes":
            files = {"a.png": _png_bytes(gray), "b.png": _png_bytes(np.zeros((5, 4), np.uint8))}
            yield _dataset_case("non-images as images", label, files, ["a.png", "b.png"], expect)
        elif raw is None:
            yield _dataset_case(
                "non-images as images", label, {"dir.png": lambda path: path.mkdir()}, "dir.png", expect
            )
        else:  # an image is read as the format its suffix names, and only that one
            name = "img.gif" if label == "palette GIF" else "img.png"
            yield _dataset_case("non-images as images", label, {name: raw}, name, expect)


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with almost no data after it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def _link(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def missing_paths(rng: random.Random) -> Iterator[Case]:
    names = [
        "missing.npy",
        "no/such/dir/x.npy",
        "a" * 300 + ".npy",
        ("d" * 200 + "/") * 30 + "x.npy",
        "spec.yaml/x.npy",
        "dangling.npy",
        "loop.npy",
        " .npy",
        "-.npy",
    ]
    made: dict[str, Content] = {"dangling.npy": _link("nowhere.npy"), "loop.npy": _link("loop.npy")}
    for i in range(45):
        name = names[i % len(names)]
        slot = i % 5
        files: dict[str, Content] = {SPEC: DATA_SPEC, **made}
        shown = name if len(name) < 250 else None  # the system's message may shorten a very long name
        if slot == 0:
            argv, expect = ["run", "-q", SPEC, "--input", f"x={name}"], usage_error(shown)
        elif slot == 1:
            argv, expect = ["run", "-q", SPEC, "--params", name.replace(".npy", ".npz")], usage_error(None)
        elif slot == 2:
            argv, expect = ["run", "-q", SPEC, "--dataset", name.replace(".npy", ".csv")], usage_error(None)
        elif slot == 3:  # a parameter file named in the spec: the spec's error, at the key
            text = DATA_SPEC.replace("out_shape: 3}", f"out_shape: 3, W: {{file: '{name}'}}}}")
            argv, files, expect = ["validate", SPEC], {SPEC: text, **made}, spec_error("parameter file")
        else:  # the spec's dataset:
            text = DATA_SPEC + f"dataset: '{name.replace('.npy', '.csv')}'\n"
            argv, files, expect = ["validate", SPEC], {SPEC: text, **made}, spec_error("dataset")
        yield Case("missing paths", f"{name[:40]} slot {slot}", argv, files, expect)
    for name in ["missing.yaml", "a" * 300 + ".yaml", "dangling.npy", "loop.npy", ""]:
        yield Case(
            "missing paths", f"spec {name[:30]!r}", ["validate", name], dict(made), usage_error(name[:250] or None)
        )
    # A NUL character can reach a path only through the spec (an argument cannot hold one).
    for key, text in [
        ("W file", DATA_SPEC.replace("out_shape: 3}", 'out_shape: 3, W: {file: "a\\0b.npy"}}')),
        ("dataset", DATA_SPEC + 'dataset: "a\\0b.csv"\n'),
    ]:
        yield Case("missing paths", f"NUL in the {key}", ["validate", SPEC], {SPEC: text}, spec_error())


def directories(rng: random.Random) -> Iterator[Case]:
    def make_dir(path: Path) -> None:
        path.mkdir()

    for name in ["sub", "sub.npy", "sub.npz", "sub.csv", "sub.h5", ".", ".."]:
        files: dict[str, Content] = {SPEC: DATA_SPEC}
        if name.startswith("sub"):
            files[name] = make_dir
        slots = [
            (["run", "-q", SPEC, "--input", f"x={name}"], usage_error(None)),
            (["run", "-q", SPEC, "--params", name], usage_error(None)),
            (["run", "-q", SPEC, "--dataset", name], usage_error(None)),
            (["validate", name], usage_error(None, "directory")),
            (["run", "-q", SPEC, "--output", name, "--input", "x=good.npy"], usage_error(None)),
        ]
        for argv, expect in slots:
            yield Case(
                "directories as paths",
                f"{name} as {argv[-1] if argv[0] == 'validate' else argv[3]}",
                argv,
                {**files, "good.npy": npy_bytes(GOOD)},
                expect,
            )
        text = DATA_SPEC.replace("out_shape: 3}", f"out_shape: 3, W: {{file: '{name}'}}}}")
        # The directory above the spec's is outside the root (the case's directory): missing, as far as it is told.
        said = spec_error("directory") if name != ".." else spec_error("not found (or outside the allowed root")
        yield Case("directories as paths", f"{name} as W file", ["validate", SPEC], {**files, SPEC: text}, said)
        yield Case(
            "directories as paths",
            f"{name} as dataset:",
            ["validate", SPEC],
            {**files, SPEC: DATA_SPEC + f"dataset: '{name}'\n"},
            said,
        )


# --- paths a spec or a dataset names, outside the root (issue 15) --------------------------------

SECRET = "NNSPEC-ROBUSTNESS-SECRET-0123456789"  # in the environment and in files outside the root


def _outside(name: str, content: str = SECRET + "\n") -> Callable[[Path], None]:
    """A secret file beside the case's directory (outside its root, as ~/.ssh is), and a symlink to it."""

    def make(path: Path) -> None:
        target = path.parent.parent / f"{path.parent.name}-{name}"
        target.write_text(content)
        path.symlink_to(target)

    return make


def _outside_directory(path: Path) -> None:
    """A directory beside the case's directory holding a secret, and a symlink to it."""
    target = path.parent.parent / f"{path.parent.name}-home"
    target.mkdir()
    (target / "id_rsa.csv").write_text(SECRET + "\n")
    (target / "W.npy").write_bytes(npy_bytes(np.ones((4, 3))))
    (target / "index.csv").write_text("x__0,x__1,x__2,x__3\n1,2,3,4\n")
    path.symlink_to(target)


def _git_config(path: Path) -> None:
    """A repository's .git with the token actions/checkout leaves in .git/config."""
    path.mkdir()
    (path / "config").write_text(f"[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n")


def no_secret(directory: Path) -> str | None:
    """The case printed nothing of the secret (its output files sit beside its directory)."""
    said = "".join(
        (directory.parent / f"{directory.name}{suffix}").read_text(errors="replace") for suffix in (".out", ".err")
    )
    return "the secret reached the output" if SECRET in said or SECRET[:12] in said else None


def paths_outside_the_root(rng: random.Random) -> Iterator[Case]:
    """Paths a spec (dataset:, a parameter's file:) or a dataset's cells name, outside the root: absolute,
    ../, symlinks to files and directories outside, the environment, ~/.ssh-like files, .git/config.
    Each is refused with the same words as a missing file, and nothing of what it names is printed."""
    made: dict[str, Content] = {
        "link.csv": _outside("secret.csv"),
        "link.npy": _outside("secret.npy"),
        "link.png": _outside("secret.png"),
        "linkdir": _outside_directory,
        "environ.csv": _link("/proc/self/environ"),
        ".git": _git_config,
    }
    targets = [
        "/proc/self/environ",
        "/etc/passwd",
        "../../../../../../../../etc/passwd",
        "../{case}-secret.csv",
        "link.csv",
        "link.npy",
        "link.png",
        "linkdir/id_rsa.csv",
        "linkdir/W.npy",
        "linkdir/index.csv",
        "environ.csv",
        "./sub/../../{case}-secret.csv",
        ".git/config",
    ]
    env = {"CI_TOKEN": SECRET}
    for i in range(rng.randint(60, 70)):
        target = targets[i % len(targets)]
        slot = (i // len(targets) + i) % 4
        files: dict[str, Content] = dict(made)  # link.csv made ../{case}-secret.csv

        def named(directory_name: str, target: str = target) -> str:
            return target.replace("{case}", directory_name)

        if slot == 0:  # the spec's dataset:
            text = DATA_SPEC + "dataset: '{target}'\n"
            argv, expect = ["validate", SPEC], spec_error("dataset", "not found (or outside the allowed root")
        elif slot == 1:  # a parameter's file:
            text = DATA_SPEC.replace("out_shape: 3}", "out_shape: 3, W: {file: '{target}'}}")
            argv, expect = ["run", "-q", SPEC], spec_error("parameter file", "not found (or outside the allowed root")
        elif slot == 2:  # a cell of a dataset the user names
            text = DATA_SPEC
            files["index.csv"] = "x\n{target}\n"
            argv, expect = ["run", "-q", SPEC, "--dataset", "index.csv"], usage_error("index.csv", "not found (or")
        else:  # a cell of the spec's own dataset
            text = DATA_SPEC + "dataset: cells.csv\n"
            files["cells.csv"] = "x\n{target}\n"
            argv, expect = ["run", "-q", SPEC], usage_error("cells.csv", "not found (or")
        files[SPEC] = _with_target(text, named)
        for name in ("index.csv", "cells.csv"):
            if name in files:
                files[name] = _with_target(str(files[name]), named)
        yield Case("paths outside the root", f"{target} as slot {slot}", argv, files, expect, env=env, check=no_secret)
    # Within the root a symlink is followed: a dataset, a parameter file and a cell through links inside.
    inside: dict[str, Content] = {
        "data.csv": "x__0,x__1,x__2,x__3\n1,2,3,4\n",
        "W.npy": npy_bytes(np.ones((4, 3))),
        "row.csv": "1,2,3,4\n",
        "alias.csv": _link("data.csv"),
        "alias.npy": _link("W.npy"),
        "row-alias.csv": _link("row.csv"),
    }
    for text, argv in [
        (DATA_SPEC + "dataset: alias.csv\n", ["run", "-q", SPEC]),
        (
            DATA_SPEC.replace("out_shape: 3}", "out_shape: 3, W: {file: alias.npy}}") + "dataset: data.csv\n",
            ["run", "-q", SPEC],
        ),
        (DATA_SPEC + "dataset: cells.csv\n", ["run", "-q", SPEC]),
    ]:
        yield Case(
            "paths outside the root",
            f"a symlink within the root: {argv}",
            argv,
            {**inside, SPEC: text, "cells.csv": "x\nrow-alias.csv\n"},
            OK,
        )


def _with_target(text: str, named: Callable[[str], str]) -> Callable[[Path], None]:
    """A file whose text names a target relative to the case's own directory (known only when it is made)."""

    def make(path: Path) -> None:
        path.write_text(text.replace("{target}", named(path.parent.name)))

    return make


def validate_without_data(rng: random.Random) -> Iterator[Case]:
    """validate --no-data: a spec whose data files are absent, LFS pointers, pipes or directories is valid,
    as long as their paths lie within the root; one naming a path outside it is still refused."""

    def fifo(path: Path) -> None:
        os.mkfifo(path)

    contents: list[tuple[str, Content | None]] = [
        ("absent", None),
        ("an LFS pointer", "version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 12\n"),
        ("a pipe", fifo),
        ("a directory", lambda path: path.mkdir()),
        ("empty", b""),
    ]
    for i in range(20):
        what, content = contents[i % len(contents)]
        slot = i % 2
        name = "data/train.csv" if slot == 0 else "params/fc_W.npy"
        text = (
            DATA_SPEC + f"dataset: {name}\n"
            if slot == 0
            else DATA_SPEC.replace("out_shape: 3}", f"out_shape: 3, W: {{file: {name}}}}}")
        )
        files: dict[str, Content] = {SPEC: text}
        if content is not None:
            files[name.split("/")[0]] = lambda path: path.mkdir()
            files[name] = content
        yield Case("validate --no-data", f"{what} as {name}", ["validate", "--no-data", SPEC], files, OK)
    for target in ["/etc/passwd", "../outside.csv", "../../x/train.csv"]:
        yield Case(
            "validate --no-data",
            f"{target}, outside the root",
            ["validate", "--no-data", SPEC],
            {SPEC: DATA_SPEC + f"dataset: '{target}'\n"},
            spec_error("dataset", "not found (or outside the allowed root"),
        )


# --- output injection: text from a spec or a file printed, or drawn ---------------------------------

# What a stranger's text may try on a terminal or a CI log: control and bidi characters, GitHub's
# workflow commands (``::cmd::`` at a line's start, ``##[cmd]`` anywhere, lines split at CR).
PAYLOADS = [
    "\r",
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\u202e",
    "\u2066x\u2069",
    "\u200f",
    "\x85",
    "\u2028",
    "\x9b2J",
    "\x00",
    "\x7f",
    "::error::forged",
    "  ::add-mask::secret",
    "::stop-commands::tok",
    "##[error]forged",
    "\n::error file=x.yaml::forged",
    "\r\n##[group]x",
]
ANY_CLEAN = Expect("either", (1, 2), None, False)


def _spec_json(data: dict) -> str:
    """A spec as JSON, which is YAML: any character as a JSON escape, read back as itself."""
    return json.dumps({"nnspec": 1, **data})


def _layers(*extra: dict, first: dict | None = None) -> list[dict]:
    return [{"name": "x", "type": "Input", "size": [4], "generator": "Uniform", **(first or {})}, *extra]


# Where a spec carries text: each makes the spec's data from a payload.
TEXT_FIELDS: dict[str, Callable[[str], dict]] = {
    "layer type": lambda p: {"layers": _layers({"name": "y", "type": p})},
    "property key": lambda p: {"layers": _layers({"name": "y", "type": "Tanh", p: 1})},
    "layer name": lambda p: {"layers": _layers({"name": p, "type": "Tanh"})},
    "input": lambda p: {"layers": _layers({"name": "y", "type": "Tanh", "input": p})},
    "output": lambda p: {"layers": _layers({"name": "y", "type": "Tanh"}), "outputs": [p]},
    "check id": lambda p: {"layers": _layers({"name": "y", "type": "Tanh"}), "checks": {p: "off"}},
    "dataset": lambda p: {"layers": _layers({"name": "y", "type": "Tanh"}, first={"dataset": p})},
    "scope": lambda p: {"layers": _layers({"name": "y", "type": "Affine", "out_shape": 2, "parameter_scope": p})},
    "name": lambda p: {"name": p, "layers": _layers({"name": "y", "type": "Tanh"})},
    "parameter file": lambda p: {"layers": _layers({"name": "y", "type": "Affine", "W": {"file": p + ".npy"}})},
}
OUTPUT_COMMANDS = [
    ["validate", SPEC],
    ["validate", "--format", "github", SPEC],
    ["validate", "--format", "json", SPEC],
    ["validate", "--format", "sarif", SPEC],
    ["validate", "--print-resolved", SPEC],
    ["run", SPEC, "--samples", "3"],
    ["run", "--format", "github", SPEC, "--samples", "3"],
    ["graph", SPEC],
    ["upgrade", SPEC],
]
_OWN_COMMAND = re.compile(r"^::(error|warning|notice) file=[^:\s]*(,line=\d+,col=\d+)?,title=nnspec [^:]*::")


def log_safe(stdout: str, stderr: str) -> str | None:
    """What in nnspec's output a terminal or GitHub's runner would act on (None: nothing)."""
    for stream, text in (("stdout", stdout), ("stderr", stderr)):
        bad = sorted({ch for ch in text if ch in "\r\x1b\x00\x7f\x85\u2028\u2029" or 0x80 <= ord(ch) < 0xA0})
        bidi = sorted({ch for ch in text if 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069})
        if bad or bidi:
            return f"raw {[*bad, *bidi]!r} on {stream}"
        if "##[" in text:
            return f"'##[' on {stream}"
        for line in text.split("\n"):
            if line.lstrip().startswith("::") and not _OWN_COMMAND.match(line):
                return f"a line on {stream} starts a workflow command: {line[:80]!r}"
    return None


def control_characters(rng: random.Random) -> Iterator[Case]:
    for i in range(60):
        payload = PAYLOADS[i % len(PAYLOADS)]
        if i % 6 == 5:  # a file name: on the command line, and named by the spec
            name = payload.replace("\x00", "0").replace("/", "_") + ".yaml"
            argv = [part if part != SPEC else name for part in rng.choice(OUTPUT_COMMANDS)]
            files = {name: _spec_json({"layers": _layers({"name": "y", "type": "Tanhh"})})}
            yield Case(
                "control characters in text", f"file name {payload!r}: {argv[0]}", argv, files, ANY_CLEAN, said=log_safe
            )
            continue
        where = rng.choice(list(TEXT_FIELDS))
        argv = rng.choice(OUTPUT_COMMANDS)
        files = {SPEC: _spec_json(TEXT_FIELDS[where](payload))}
        label = f"{where} {payload!r}: {' '.join(argv[:-1] if argv[-1] == SPEC else argv)}"
        yield Case("control characters in text", label, argv, files, ANY_CLEAN, said=log_safe)


MATHTEXT = ["$\\foo$", "$x^$", "$\\frac{$", "$a_{b$", "$$", "$\\sqrt[$", "a $ b $ c", "$\\mathdefault{x}$"]


def mathtext(rng: random.Random) -> Iterator[Case]:
    if not _has("matplotlib"):
        return
    for i in range(16):
        text = MATHTEXT[i % len(MATHTEXT)]
        where = rng.choice(["name", "dataset", "scope", "file name"])
        spec = SPEC if where != "file name" else f"s{text}.yaml".replace("/", "_")
        data = TEXT_FIELDS["name" if where == "file name" else where](text)
        picture = rng.choice(["g.svg", "g.png", "report"])
        if picture == "report":
            argv = ["run", "-q", spec, "--samples", "3", "--report", "r.html"]
        else:
            argv = ["graph", spec, "-o", picture]
        yield Case("mathtext", f"{where} {text!r}: {' '.join(argv)}", argv, {spec: _spec_json(data)}, OK, timed=False)


def _rc_marker(directory: Path) -> str | None:
    if (directory / "imported").exists():
        return "a module named by the working directory's matplotlibrc was imported"
    return None


def _silent_stderr(stdout: str, stderr: str) -> str | None:
    return f"stderr not empty (the rc file was read?): {stderr.strip()[:120]!r}" if stderr.strip() else None


RC_LINES = [
    "backend: module://rc_backend",
    "text.usetex: True",
    "text.latex.preamble: \\input{/etc/passwd}",
    "font.size: 40",
    "svg.fonttype: path",
    "savefig.bbox: tight",
    "figure.dpi: 3000",
    "savefig.dpi: 3000",
    "text.parse_math: True",
    "path.sketch: 100, 100, 100",
    "no.such.key: 1",
    "font.size: \x1b[31m not a number",
    "axes.prop_cycle: cycler('color', ['r'] * 1000000)",
]


def matplotlibrc_in_cwd(rng: random.Random) -> Iterator[Case]:
    if not _has("matplotlib"):
        return
    for i in range(12):
        lines = rng.sample(RC_LINES, k=rng.randint(2, 6))
        if i % 2 == 0:
            lines = [RC_LINES[0], RC_LINES[1], *lines]
        files = {
            SPEC: _spec_json({"name": "$\\foo$ net", "layers": _layers({"name": "y", "type": "Tanh"})}),
            "matplotlibrc": "\n".join(dict.fromkeys(lines)) + "\n",
            "rc_backend.py": "open('imported', 'w').write('ran')\n",
        }
        picture = rng.choice(["g.svg", "g.png", "report"])
        argv = (
            ["run", "-q", SPEC, "--samples", "3", "--report", "r.html"]
            if picture == "report"
            else ["graph", SPEC, "-o", picture]
        )
        yield Case(
            "matplotlibrc in cwd",
            f"{'; '.join(dict.fromkeys(lines))}: {argv[0]}",
            argv,
            files,
            OK,
            check=_rc_marker,
            said=_silent_stderr,
            timed=False,
        )


# --- output paths --------------------------------------------------------------------------------

OLD = b"old contents, to be kept\n"


def unchanged(name: str) -> Callable[[Path], str | None]:
    def check(directory: Path) -> str | None:
        if (directory / name).read_bytes() != OLD:
            return f"{name} was changed although it was not to be overwritten"
        return _leftovers(directory)

    return check


def _leftovers(directory: Path) -> str | None:
    stray = [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    return f"temporary files left behind: {stray}" if stray else None


def existing_outputs(rng: random.Random) -> Iterator[Case]:
    for i in range(30):
        suffix = [".npz", ".npy", ".csv"][i % 3]
        name = f"out{suffix}"
        spec = FLOW if suffix != ".npy" else FLOW + "outputs: [t]\n"
        mode = i % 5
        if mode == 0:
            argv, expect, check = ["run", "-q", SPEC, "--output", name], usage_error(name, "--force"), unchanged(name)
        elif mode == 1:
            argv, expect, check = (
                ["run", "-q", SPEC, "--save-params", "p.npz"],
                usage_error("p.npz", "--force"),
                unchanged("p.npz"),
            )
            name = "p.npz"
        elif mode == 2:
            argv, expect, check = ["upgrade", SPEC, "-o", name], usage_error(name, "--force"), unchanged(name)
        elif mode == 3:  # with --force: replaced whole
            argv, expect, check = ["run", "-q", SPEC, "--output", name, "--force"], OK, _replaced(name)
        else:  # --output beside a file of that name, in a directory that does not exist, with a bad suffix
            bad = rng.choice(["nodir/out.npz", "out.txt", "out", "out.npz/x.npz", "o" * 300 + ".npz"])
            argv, expect, check = ["run", "-q", SPEC, "--output", bad], usage_error(None), unchanged(name)
        yield Case("existing output", f"{' '.join(argv[3:])}", argv, {SPEC: spec, name: OLD}, expect, check=check)


def _replaced(name: str) -> Callable[[Path], str | None]:
    def check(directory: Path) -> str | None:
        if (directory / name).read_bytes() == OLD:
            return f"{name} was not replaced despite --force"
        return _whole(directory / name) or _leftovers(directory)

    return check


def _whole(path: Path, rows: int | None = None) -> str | None:
    """None when ``path`` holds a whole output file (of ``rows`` samples, if given)."""
    try:
        if path.suffix == ".csv":
            lines = path.read_text().splitlines()
            complete = all(len(line.split(",")) == len(lines[0].split(",")) for line in lines[1:])
            count = len(lines) - 1
        elif path.suffix == ".npy":
            complete, count = True, len(np.load(path, allow_pickle=False))
        else:
            with np.load(path, allow_pickle=False) as loaded:
                complete, count = True, min(len(loaded[k]) for k in loaded.files)
    except Exception as exc:  # noqa: BLE001 - any failure to read it back means it is not whole
        return f"{path.name} is not a whole file: {type(exc).__name__}: {exc}"
    if not complete or (rows is not None and count != rows):
        return f"{path.name} is partial ({count} of {rows} rows)"
    return None


# Each run SIGKILL left a temporary file behind was killed while it wrote its output.
KILLED_WHILE_WRITING: list[str] = []


def atomic_outputs(rng: random.Random) -> Iterator[Case]:
    samples = 200_000  # 5 million values: the .csv takes about a second to write, the others a few hundredths
    spec = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [25], generator: Uniform}\n  - {name: t, type: Tanh}\n"
    for i in range(30):
        suffix = [".csv", ".npz", ".npy"][i % 3]
        name = f"out{suffix}"
        existing = i % 2 == 1
        sig = signal.SIGKILL if i % 5 < 4 else signal.SIGINT
        during_write = i % 6 != 5  # most while the output is written; the others during the run (or after it)
        if during_write:
            delay = rng.uniform(0, 0.9 if suffix == ".csv" else 0.03)
        else:
            delay = rng.uniform(0.6 if sig == signal.SIGINT else 0.3, 1.2)  # Ctrl-C once nnspec has started
        argv = ["run", "-q", SPEC, "--samples", str(samples), "--batch-size", "20000", "--output", name]
        argv += ["--force"] if existing else []
        files: dict[str, Content] = {SPEC: spec, **({name: OLD} if existing else {})}
        when = f"{delay:.2f} s into {'the write' if during_write else 'the run'}"
        yield Case(
            "atomic outputs",
            f"{signal.Signals(sig).name} {when}, {name}{' over a file' if existing else ''}",
            argv,
            files,
            EITHER,
            check=_old_or_whole(name, existing, samples),
            signal_after=(sig, delay, during_write),
            timed=False,
        )


def _old_or_whole(name: str, existing: bool, samples: int) -> Callable[[Path], str | None]:
    """The output is the old file, or absent when there was none, or whole: never partial."""

    def check(directory: Path) -> str | None:
        if any(p.name.endswith(".tmp") for p in directory.iterdir()):
            KILLED_WHILE_WRITING.append(name)
        path = directory / name
        if not path.exists():
            return f"{name} disappeared" if existing else None
        if existing and path.read_bytes() == OLD:
            return None
        return _whole(path, samples)

    return check


# --- issue 15: files from strangers (hostile .h5, image formats, image bombs, huge CSV rows) --------

SECRET_FILE = b"NNSPEC_SECRET=hunter2\n"  # a file an .h5 must never read


def _h5_file(build: Callable[[Any, Path], None]) -> Callable[[Path], None]:
    """A parameter .h5 at the path given: a good fc/affine/b, and what ``build(handle, folder)`` adds."""

    def make(path: Path) -> None:
        import h5py

        with h5py.File(path, "w") as handle:
            handle["fc/affine/b"] = np.zeros(3)
            build(handle, path.parent)

    return make


def _h5_other(folder: Path) -> None:
    import h5py

    with h5py.File(folder / "other.h5", "w") as other:
        other["W"] = np.frombuffer(SECRET_FILE[:12], np.uint8).reshape(4, 3).astype(np.float64)


def _h5_external(handle: Any, folder: Path) -> None:
    handle.create_dataset("fc/affine/W", shape=(4, 3), dtype="u1", external=[("secret.txt", 0, 12)])


def _h5_virtual(handle: Any, folder: Path) -> None:
    import h5py

    _h5_other(folder)
    layout = h5py.VirtualLayout(shape=(4, 3), dtype="f8")
    layout[:] = h5py.VirtualSource("other.h5", "W", shape=(4, 3))
    handle.create_virtual_dataset("fc/affine/W", layout)


def _h5_external_link(handle: Any, folder: Path) -> None:
    import h5py

    _h5_other(folder)
    handle["fc/affine/W"] = h5py.ExternalLink("other.h5", "/W")


def _h5_soft_link(handle: Any, folder: Path) -> None:
    import h5py

    handle["elsewhere/W"] = np.ones((4, 3))
    handle["fc/affine/W"] = h5py.SoftLink("/elsewhere/W")


def _h5_bomb(handle: Any, folder: Path) -> None:
    handle.create_dataset("fc/affine/W", shape=(20_000, 10_000), dtype="f8", chunks=(1000, 1000), compression=9)


def _h5_text(handle: Any, folder: Path) -> None:
    handle["fc/affine/W"] = np.full((4, 3), b"abc")


def hostile_h5(rng: random.Random) -> Iterator[Case]:
    if not _has("h5py"):
        return
    variants: list[tuple[str, Callable[[Any, Path], None], tuple[str, ...]]] = [
        ("external storage", _h5_external, ("external files",)),
        ("a virtual dataset", _h5_virtual, ("virtual dataset",)),
        ("an external link", _h5_external_link, ("external link",)),
        ("a soft link", _h5_soft_link, ("soft link",)),
        ("1.6 GB of zeros in a gzip", _h5_bomb, ("--max-memory",)),
        ("text", _h5_text, ("not numbers",)),
    ]
    for i in range(30):
        label, build, mentions = variants[i % len(variants)]
        argv = ["run", "-q", SPEC, "--params", "p.h5", "--input", "x=good.npy"]
        argv += ["--max-memory", rng.choice(["20M", "50M", "1G"])]
        files = {SPEC: DATA_SPEC, "p.h5": _h5_file(build), "good.npy": npy_bytes(GOOD), "secret.txt": SECRET_FILE}
        yield Case("hostile .h5", f"{label} ({argv[-1]})", argv, files, usage_error("p.h5", *mentions))


EPS_BYTES = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 4\nnewpath 0 0 moveto 4 4 lineto stroke\nshowpage\n%%EOF\n"
FAKE_GHOSTSCRIPT = "#!/bin/sh\ntouch gs-was-run\nexit 1\n"


def _executable(text: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)

    return make


def image_formats(rng: random.Random) -> Iterator[Case]:
    """Images whose bytes are another format than their name says; PostScript among them, with a
    `gs` on PATH that leaves a file behind if Pillow ever runs it."""
    if not _has("PIL"):
        return
    gray = np.full((4, 4), 100, np.uint8)
    contents = {form: _png_bytes(gray, form=form) for form in ("PNG", "JPEG", "GIF", "BMP", "TIFF")}
    contents.update({"EPS": EPS_BYTES, "PDF": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"})
    suffixes = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".bmp": "BMP", ".tif": "TIFF"}
    path = f"bin{os.pathsep}{os.environ.get('PATH', '')}"
    for _ in range(36):
        suffix = rng.choice(list(suffixes))
        form = rng.choice([f for f in contents if f != suffixes[suffix]] + ["EPS"])
        files = {f"img{suffix}": contents[form], "bin/gs": _executable(FAKE_GHOSTSCRIPT)}
        case = _dataset_case("image formats by content", f"{form} as {suffix}", files, f"img{suffix}", OK)
        yield dataclasses.replace(
            case, expect=usage_error(f"img{suffix}", "not a"), env={"PATH": path}, check=not_created("gs-was-run")
        )
    for suffix, form in suffixes.items():  # as their names say: read
        yield _dataset_case(
            "image formats by content", f"{form} as {suffix}", {f"img{suffix}": contents[form]}, f"img{suffix}", OK
        )


def _png_of(width: int, height: int) -> Callable[[Path], None]:
    """A whole grayscale PNG of zeros, width x height: a few hundred KB for tens of millions of pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    def make(path: Path) -> None:
        compressor, row = zlib.compressobj(9), bytes(width + 1)
        data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
        header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))

    return make


def image_bombs(rng: random.Random) -> Iterator[Case]:
    """Whole images of millions of pixels in small files, under a memory limit they do not fit."""
    if not _has("PIL"):
        return
    for _ in range(20):
        side = rng.choice([2_000, 4_000, 6_000, 9_000])
        limit = rng.choice(["5M", "20M", "50M"])
        case = _dataset_case(
            "image bombs",
            f"{side} x {side} under {limit}",
            {"big.png": _png_of(side, side)},
            "big.png",
            usage_error("big.png", "--max-memory"),
        )
        yield dataclasses.replace(case, argv=[*case.argv, "--max-memory", limit])
    small = _dataset_case(
        "image bombs", "500 x 500 within 50M", {"ok.png": _png_of(500, 500)}, "ok.png", OK, size="[1, 500, 500]"
    )
    yield dataclasses.replace(small, argv=[*small.argv, "--max-memory", "50M"])


def _csv_row(values: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "w") as handle:
            for _ in range(values // 1000):
                handle.write("1.5," * 1000)
            handle.write("1\n")

    return make


def _csv_rows(rows: int) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(b"1,2,3,4\n" * rows)


def huge_csv_rows(rng: random.Random) -> Iterator[Case]:
    """CSVs whose parsing would take more memory than --max-memory: one row of millions of values
    (as --input, as a dataset's cell, as a dataset's index), or millions of rows."""
    for i in range(24):
        limit = rng.choice(["5M", "10M", "20M"])
        kind = i % 4
        if kind == 0:
            values = rng.choice([2_000_000, 5_000_000])
            argv = ["run", "-q", SPEC, "--input", "x=x.csv", "--max-memory", limit]
            yield Case(
                "huge CSV rows",
                f"--input: a row of {values:,} values under {limit}",
                argv,
                {SPEC: DATA_SPEC, "x.csv": _csv_row(values)},
                usage_error("x.csv", "--max-memory"),
            )
        elif kind == 1:
            rows = rng.choice([1_000_000, 2_000_000])
            argv = ["run", "-q", SPEC, "--input", "x=x.csv", "--batch-size", "1000", "--max-memory", "5M"]
            yield Case(
                "huge CSV rows",
                f"--input: {rows:,} rows under 5M",
                argv,
                {SPEC: DATA_SPEC, "x.csv": _csv_rows(rows)},
                usage_error("x.csv", "--max-memory"),
            )
        elif kind == 2:
            case = _dataset_case(
                "huge CSV rows",
                f"a dataset cell: one row of 3,000,000 values under {limit}",
                {"s.csv": _csv_row(3_000_000)},
                "s.csv",
                usage_error("s.csv", "--max-memory"),
            )
            yield dataclasses.replace(case, argv=[*case.argv, "--max-memory", limit])
        else:
            index = "x:image\n" + "1," * 1_000_000 + "1\n"
            case = _dataset_case(
                "huge CSV rows",
                f"a dataset index line of 1,000,001 cells under {limit}",
                {},
                "1",
                usage_error("index.csv", "--max-memory"),
            )
            yield dataclasses.replace(
                case, argv=[*case.argv, "--max-memory", limit], files={**case.files, "index.csv": index}
            )


# --- issue 15: work that grew with the sizes and names in a spec ----------------------------------------


def _near_the_size_limit(head: list[str], line: Callable[[int], str]) -> str:
    """``head``, then lines made by ``line(0)``, ``line(1)``, ... while the spec stays under 127 KB."""
    lines, size = list(head), sum(len(text) + 1 for text in head)
    for i in range(100_000):
        text = line(i)
        if size + len(text) + 1 > 127_000:
            break
        lines.append(text)
        size += len(text) + 1
    return "\n".join(lines) + "\n"


def unknown_names(rng: random.Random) -> Iterator[Case]:
    """Thousands of unknown names in one spec, each once asked "did you mean": the work is bounded per file."""
    head = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [4]}"]
    for i in range(12):
        length = rng.choice([2, 8, 20, 45, 90])
        stem = "".join(rng.choice("abcdefghij") for _ in range(length))
        form = i % 4
        if form == 0:  # unknown inputs, alike: difflib's worst case
            text = _near_the_size_limit(
                head, lambda n, stem=stem: f"  - {{name: {stem}{n:05d}, type: ReLU, input: {stem[::-1]}{n}}}"
            )
        elif form == 1:  # unknown types
            text = _near_the_size_limit(head, lambda n, stem=stem: f"  - {{name: l{n}, type: {stem}{n}}}")
        elif form == 2:  # unknown properties
            text = _near_the_size_limit(head, lambda n, stem=stem: f"  - {{name: l{n}, type: Affine, {stem}{n}: 3}}")
        else:  # outputs naming no layer
            names = _near_the_size_limit([], lambda n, stem=stem: f"  - {stem}{n}")
            text = "\n".join(head) + "\noutputs:\n" + names
        yield Case(
            "unknown names en masse", f"form {form}, names of {length}", ["validate", SPEC], {SPEC: text}, spec_error()
        )


def huge_shapes_in_validate(rng: random.Random) -> Iterator[Case]:
    """Sizes in the spec do not size what validate allocates: its estimates draw samples of bounded size."""
    layers = [
        "{name: p, type: Softmax}",
        "{name: p, type: LogSoftmax}",
        "{name: p, type: Softmax, axis: 0}",
        "{name: s, type: Sum, axes: [0]}",
        "{name: f, type: Affine, out_shape: 10}",
        "{name: m, type: Max2, input: [x, x]}",
        "{name: e, type: Equal2, input: [x, x]}",
        "{name: o, type: MaxPooling, kernel_shape: [2]}",
    ]
    for i in range(24):
        size = rng.choice([10**6, 10**7, 10**8, 2**31 - 1])
        shape = f"[{size}]" if i % 3 else f"[{size}, {size}]"
        text = spec_with_layer(layers[i % len(layers)], size=shape)
        yield Case(
            "huge shapes in validate", f"{layers[i % len(layers)]} of {shape}", ["validate", SPEC], {SPEC: text}, EITHER
        )


def huge_graphs(rng: random.Random) -> Iterator[Case]:
    """Pictures of a bounded size: a larger graph is refused before it is drawn (DOT has no limit)."""
    for i in range(12):
        count = rng.choice([501, 1000, 4400])
        skips = i % 2 == 1
        head = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [4]}", "  - {name: a0, type: ReLU}"]
        line = (
            (lambda n: f"  - {{name: a{n + 1}, type: Add2, input: [a{n}, x]}}")
            if skips
            else (lambda n: f"  - {{name: a{n + 1}, type: ReLU}}")
        )
        text = "\n".join(head + [line(n) for n in range(count - 2)]) + "\n"
        form = rng.choice(["svg", "png"])
        label = f"{count} layers{' reading the Input' if skips else ''}"
        yield Case(
            "huge graphs",
            f"{label}, {form}",
            ["graph", SPEC, "-o", f"g.{form}"],
            {SPEC: text},
            usage_error(SPEC, "DOT"),
        )
    for count in (200, 300):  # few layers, each reading the Input: a picture too wide and too tall for a PNG
        head = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [4]}", "  - {name: a0, type: ReLU}"]
        text = "\n".join(head + [f"  - {{name: a{n + 1}, type: Add2, input: [a{n}, x]}}" for n in range(count)]) + "\n"
        yield Case(
            "huge graphs",
            f"{count} skips, png",
            ["graph", SPEC, "-o", "g.png"],
            {SPEC: text},
            usage_error(SPEC, "pixels"),
        )


def too_many_axes(rng: random.Random) -> Iterator[Case]:
    """More axes than numpy broadcasts (32 with the batch axis): refused where the shape is written;
    a shape whose memory overflows a float: refused by the run's memory check, in words."""
    layers = ["{name: a, type: Add2, input: [x, x]}", "{name: t, type: Tanh}", "{name: p, type: Softmax}"]
    for i in range(18):
        axes = rng.choice([32, 33, 40, 63, 64, 65, 100])
        shape = "[" + ", ".join(["1"] * axes) + "]"
        command = ["validate", SPEC] if i % 2 else ["run", "-q", SPEC]
        yield Case(
            "too many axes",
            f"{axes} axes, {command[0]}",
            command,
            {SPEC: spec_with_layer(layers[i % 3], size=shape)},
            spec_error("axes"),
        )
    for axes in (8, 20, 31):
        shape = "[" + ", ".join(["2147483647"] * axes) + "]"
        yield Case(
            "too many axes",
            f"{axes} axes of 2^31",
            ["run", "-q", SPEC],
            {SPEC: spec_with_layer("{name: t, type: Tanh}", size=shape)},
            usage_error(None, "--max-memory"),
        )
    for size in ("99999999999T", "1e400", "-1", "9" * 5000, "1025T"):
        argv = ["run", "-q", SPEC, "--max-memory", size]
        yield Case(
            "too many axes",
            f"--max-memory {size[:12]}",
            argv,
            {SPEC: spec_with_layer("{name: t, type: Tanh}")},
            usage_error(None, "1024T"),
        )


# --- issue 15: what nnspec writes ------------------------------------------------------------------


def _case_outcome(directory: Path) -> tuple[int | None, str, str]:
    """A case's exit code, stdout and stderr, for checks that judge them together with its files."""
    report = directory.parent / f"{directory.name}.report"
    code = int(report.read_text().split()[0]) if report.exists() else None
    out, err = (directory.parent / f"{directory.name}{end}" for end in (".out", ".err"))
    return code, out.read_text(errors="replace"), err.read_text(errors="replace")


def _all_unchanged(originals: dict[str, bytes]) -> Callable[[Path], str | None]:
    """The files a run reads are as they were, no temporary file is left, and no report was printed
    (the refusal came before the run)."""

    def check(directory: Path) -> str | None:
        changed = [name for name, data in originals.items() if (directory / name).read_bytes() != data]
        if changed:
            return f"written over: {changed}"
        if _case_outcome(directory)[1]:
            return "the run went ahead (its report is on stdout) before the refusal"
        return _leftovers(directory)

    return check


def _hard_link(target: str) -> Callable[[Path], None]:
    return lambda path: os.link(path.parent / target, path)


def colliding_outputs(rng: random.Random) -> Iterator[Case]:
    params = npz_bytes(**{"fc/affine/W": np.ones((4, 3), np.float32), "fc/affine/b": np.zeros(3, np.float32)})
    data, weights = npy_bytes(GOOD), npy_bytes(np.ones((4, 3), np.float32))
    named = DATA_SPEC.replace("out_shape: 3}", "out_shape: 3, W: {file: w.npy}}")
    index = "x\n" + "".join(f"row{i}.csv\n" for i in range(2))
    run = ["run", "-q", SPEC, "--input", "x=x.npy"]
    variants = [  # (what, argv after run, mention, extra files)
        ("--output = --save-params", ["--output", "r.npz", "--save-params", "r.npz"], "both write", {}),
        ("--output = ./--save-params", ["--output", "r.npz", "--save-params", "./r.npz"], "both write", {}),
        ("--save-params through a link", ["--output", "r.npz", "--save-params", "l.npz", "--force"], "both write", {}),
        ("--save-params not .npz", ["--save-params", rng.choice(["t.png", "p.npy", "p", "p.csv"])], ".npz", {}),
        ("--output over --input", ["--output", "x.npy", "--force"], "the data of x", {}),
        ("--output over an --input link", ["--output", "hard.npy", "--force"], "the data of x", {}),
        ("--save-params over --params", ["--params", "p.npz", "--save-params", "p.npz", "--force"], "--params", {}),
        ("--output over a spec's W file", ["--output", "w.npy", "--force"], "parameter file", {SPEC: named}),
        ("--output over --dataset", ["--dataset", "index.csv", "--output", "index.csv", "--force"], "dataset", {}),
    ]
    for i in range(27):
        what, options, mention, extra = variants[i % len(variants)]
        files: dict[str, Content] = {
            SPEC: DATA_SPEC,
            "x.npy": data,
            "w.npy": weights,
            "p.npz": params,
            "index.csv": index,
            **extra,
        }
        files["l.npz"] = _link("r.npz")
        files["hard.npy"] = _hard_link("x.npy")
        originals = {
            name: content.encode() if isinstance(content, str) else content
            for name, content in files.items()
            if not callable(content)
        }
        yield Case(
            "output paths that collide",
            what,
            [*run, *options],
            files,
            usage_error(None, mention),
            check=_all_unchanged(originals),
        )
    # The spec itself as an output (a spec may have any name), and graph -o as a hard link to the spec.
    spec_csv = DATA_SPEC
    yield Case(
        "output paths that collide",
        "--output over the spec",
        ["run", "-q", "s.csv", "--input", "x=x.npy", "--output", "s.csv", "--force"],
        {"s.csv": spec_csv, "x.npy": data},
        usage_error("s.csv", "the spec"),
        check=_all_unchanged({"s.csv": spec_csv.encode()}),
    )
    yield Case(
        "output paths that collide",
        "graph -o over the spec (hard link)",
        ["graph", SPEC, "-o", "g.dot", "--force"],
        {SPEC: DATA_SPEC, "g.dot": _hard_link(SPEC)},
        usage_error("g.dot", "the spec"),
        check=_all_unchanged({SPEC: DATA_SPEC.encode()}),
    )


def _unwritable_folders() -> list[tuple[str, str, Callable[[Path], None] | None]]:
    """(what, folder, how to make it): folders no output can go into."""
    folders: list[tuple[str, str, Callable[[Path], None] | None]] = [
        ("a missing folder", "missing/deeper", None),
        ("a file as the folder", "afile", lambda path: path.write_text("")),
    ]
    if os.path.isdir("/proc/self"):  # a folder that says it is writable (to root) but takes no file
        folders.append(("/proc", "/proc", None))
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root writes in a read-only folder
        folders.append(("a read-only folder", "ro", lambda path: path.mkdir(mode=0o555)))
    return folders


def unwritable_folders(rng: random.Random) -> Iterator[Case]:
    drawn = _has("matplotlib")
    targets = [
        (["run", "-q", SPEC, "--output"], "o.npz"),
        (["run", "-q", SPEC, "--save-params"], "p.npz"),
        (["graph", SPEC, "-o"], "g.dot"),
        (["graph", SPEC, "--run", "-o"], "g.dot"),
        (["upgrade", SPEC, "-o"], "u.yaml"),
        *([(["run", "-q", SPEC, "--report"], "r.html"), (["run", "-q", SPEC, "--plots"], "plots")] if drawn else []),
    ]
    for what, folder, make in _unwritable_folders():
        for command, name in targets:
            if make is None and name == "plots" and folder != "/proc":
                continue  # --plots makes a missing folder: nothing to refuse
            target = f"{folder}/{name}"
            files: dict[str, Content] = {SPEC: FLOW}
            if make is not None:
                files[folder] = make
            yield Case(
                "unwritable output folders",
                f"{' '.join(command[:1] + command[3:])} into {what}",
                [*command, target],
                files,
                usage_error(None, folder),
                check=_all_unchanged({SPEC: FLOW.encode()}),
            )


def _host_tag() -> str:
    from nnspec.files.save import _host  # the harness's host is nnspec's: the same name for a process of it

    return _host()


def _dead_pid() -> int:
    """The process id of a process that has ended (reaped: nothing runs under it now)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def killed_while_writing(rng: random.Random) -> Iterator[Case]:
    """SIGTERM or SIGHUP at random moments, most of them while the output is written: exit 143 or 129
    (0 when it came too late), the old file or a whole new one, and no temporary file left. Then a
    run writing a file beside temporary files of it that processes left: a dead one's removed."""
    samples = 200_000
    spec = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [25], generator: Uniform}\n  - {name: t, type: Tanh}\n"
    for i in range(24):
        suffix = [".csv", ".npz", ".npy"][i % 3]
        name = f"out{suffix}"
        existing = i % 2 == 1
        sig = signal.SIGTERM if i % 4 else signal.SIGHUP
        during_write = i % 6 != 5
        delay = rng.uniform(0, 0.9 if suffix == ".csv" else 0.03) if during_write else rng.uniform(0.3, 1.2)
        argv = ["run", "-q", SPEC, "--samples", str(samples), "--batch-size", "20000", "--output", name]
        argv += ["--force"] if existing else []
        yield Case(
            "killed while writing",
            f"{signal.Signals(sig).name} {delay:.2f} s into {'the write' if during_write else 'the run'}, {name}",
            argv,
            {SPEC: spec, **({name: OLD} if existing else {})},
            EITHER,
            check=_cleaned_up(name, existing, samples),
            signal_after=(sig, delay, during_write),
            timed=False,
        )
    host, dead = _host_tag(), _dead_pid()
    for i in range(6):
        name = ["out.npz", "out.csv", "out.npy"][i % 3]
        stale = [f".{name}.nnspec-{host}-{dead}-{rng.randrange(16**8):08x}.tmp" for _ in range(1 + i % 3)]
        kept = [
            f".{name}.nnspec-{host}-{os.getpid()}-abcdefgh.tmp",  # this harness runs: a writer at work
            f".{name}.nnspec-00000000-{dead}-abcdefgh.tmp",  # another host's process
            f".other.csv.nnspec-{host}-{dead}-abcdefgh.tmp",  # another file's
        ]
        spec_text = FLOW + ("outputs: [t]\n" if name.endswith(".npy") else "")
        files: dict[str, Content] = {SPEC: spec_text, **{n: b"partial" for n in stale + kept}}
        yield Case(
            "killed while writing",
            f"{len(stale)} stale temporary files of {name}",
            ["run", "-q", SPEC, "--samples", "5", "--output", name],
            files,
            OK,
            check=_stale_removed(stale, kept),
        )


def _cleaned_up(name: str, existing: bool, samples: int) -> Callable[[Path], str | None]:
    old_or_whole = _old_or_whole(name, existing, samples)

    def check(directory: Path) -> str | None:
        code = _case_outcome(directory)[0]
        if code not in (0, 128 + signal.SIGTERM, 128 + signal.SIGHUP, -signal.SIGTERM, -signal.SIGHUP):
            return f"exit {code} after SIGTERM/SIGHUP"
        return _leftovers(directory) or old_or_whole(directory)

    return check


def _stale_removed(stale: list[str], kept: list[str]) -> Callable[[Path], str | None]:
    def check(directory: Path) -> str | None:
        left = [name for name in stale if (directory / name).exists()]
        gone = [name for name in kept if not (directory / name).exists()]
        if left:
            return f"stale temporary files left: {left}"
        return f"removed temporary files of others: {gone}" if gone else None

    return check


# Each run Ctrl-C reached in its last batch (the harness cannot aim a signal at one batch).
INTERRUPTED_IN_LAST_BATCH: list[str] = []


def ctrl_c_in_the_last_batch(rng: random.Random) -> Iterator[Case]:
    """Ctrl-C at random moments of a run of two batches: whenever nnspec said it would stop after
    the batch, it exits 130 without --output, even in the last batch (it wrote it and exited 0)."""
    # Start-up takes about 0.6 s of CPU time and a batch 0.3 s: the signals, spread over 0.4 to 1.6 s of
    # nnspec's CPU time (Linux; elsewhere of the clock's), reach some runs in their start-up, some in
    # the first batch, some in the last, some as they write.
    by_cpu = os.path.isdir("/proc/self")
    layers = "".join(f"  - {{name: t{i}, type: Tanh}}\n" for i in range(50))
    spec = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [25], generator: Uniform}\n" + layers
    for i in range(24):
        stratum = i * 7 % 24  # each 24th of the span once, the first few cases spread over all of it
        delay = 0.4 + 1.2 * (stratum + rng.random()) / 24
        argv = ["run", "-q", SPEC, "--samples", "60000", "--batch-size", "30000", "--output", "out.npz"]
        yield Case(
            "Ctrl-C in the last batch",
            f"SIGINT {delay:.2f} s of {'CPU' if by_cpu else 'the clock'} into the run",
            argv,
            {SPEC: spec},
            EITHER,
            check=_stopped_means_no_output("out.npz", 60_000),
            signal_after=(signal.SIGINT, delay, False),
            signal_by_cpu=by_cpu,
            timed=False,
        )


def _stopped_means_no_output(name: str, samples: int) -> Callable[[Path], str | None]:
    def check(directory: Path) -> str | None:
        code, _, err = _case_outcome(directory)
        if "interrupted in the last batch" in err:
            INTERRUPTED_IN_LAST_BATCH.append(name)
        if "stopping after this batch" in err and code != 130:
            return f"said it would stop after the batch, then exited {code}"
        if code == 130 and (directory / name).exists():
            return f"{name} written by an interrupted run"
        return _whole(directory / name, samples) if code == 0 else _leftovers(directory)

    return check


def overflowing_float64(rng: random.Random) -> Iterator[Case]:
    """float64 data near its largest number (1.8e308), in every format and with the pictures: finite
    statistics, strict JSON, plots that draw."""
    drawn = _has("matplotlib")
    biggest = float(np.finfo(np.float64).max)
    spec = (
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [6]}\n"
        "  - {name: t, type: Tanh}\n  - {name: r, type: ReLU, input: x}\n  - {name: a, type: Abs, input: x}\n"
    )
    forms = ["text", "json", "github", "sarif", *(["--report", "--plots"] if drawn else [])]
    for i in range(30):
        rows = rng.randint(1, 40)
        choices = [biggest, -biggest, 1e308, -1e308, 1.5e308, 0.0, 1.0, -3.0]
        values = np.array([[rng.choice(choices) for _ in range(6)] for _ in range(rows)], np.float64)
        form = forms[i % len(forms)]
        argv = ["run", SPEC, "--input", "x=x.npy", "--batch-size", str(rng.randint(1, rows))]
        argv += [form, "r.html" if form == "--report" else "plots"] if form.startswith("--") else ["--format", form]
        yield Case(
            "overflowing float64 data",
            f"{rows} rows, {form}",
            argv,
            {SPEC: spec, "x.npy": npy_bytes(values)},
            OK,
            check=_finite_json if form == "json" else None,
            timed=not form.startswith("--"),  # matplotlib takes its time
        )


def _finite_json(directory: Path) -> str | None:
    import json
    import math

    try:
        report = json.loads(_case_outcome(directory)[1])
    except ValueError as exc:
        return f"stdout is not JSON: {exc}"
    for layer in report["layers"]:
        for stats in (layer["output"], *layer["input_stats"]):
            bad = [key for key in ("min", "max", "mean", "std") if not math.isfinite(stats[key])]
            if bad:
                return f"{layer['name']}: {bad} not finite"
    return None


# --- issue 15: .npz bombs, lying headers, files changed during a run ----------------------------------

BOMB_BYTES = 256 * 2**20  # what a bomb's member inflates to: 256 KB on disk


def header_text(shape: object, descr: str = "'<f8'", fortran: str = "False") -> str:
    return f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}"


def npy_claiming(header: str, payload: bytes = b"") -> bytes:
    """A .npy whose header is ``header``, whatever it says, followed by ``payload``."""
    text = header.encode("latin-1").ljust(118) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def _bomb(path: Path, members: dict[str, tuple[object, int]], extra: dict[str, np.ndarray]) -> None:
    """A deflated .npz: ``extra``'s arrays, and members whose header declares a shape of float64 and
    which hold that many bytes of zeros (a few hundred KB on disk, whatever they inflate to)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in extra.items():
            archive.writestr(name + ".npy", npy_bytes(array))
        for name, (shape, size) in members.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                member.write(npy_claiming(header_text(shape)))
                chunk = bytes(2**20)
                for start in range(0, size, len(chunk)):
                    member.write(chunk[: min(len(chunk), size - start)])


def _bomb_file(members: dict[str, tuple[object, int]], extra: dict[str, np.ndarray]) -> Callable[[Path], None]:
    return lambda path: _bomb(path, members, extra)


def npz_bombs(rng: random.Random) -> Iterator[Case]:
    """Small .npz files whose members inflate to hundreds of megabytes, under --max-memory 50M: a
    member no layer needs is never inflated, one whose header lies is refused by its header, one
    whose stream holds more than its header declares is refused by its size, and data is inflated
    no further than the batch."""
    limit = ["--max-memory", "50M"]
    params = ["run", "-q", SPEC, "--params", "p.npz", "--input", "x=good.npy", *limit]
    good = {SPEC: DATA_SPEC, "good.npy": npy_bytes(GOOD)}
    variants: list[tuple[str, list[str], dict[str, Content], Expect]] = [
        (
            "--params: a member no layer needs",
            params,
            {**good, "p.npz": _bomb_file({"junk": ((BOMB_BYTES // 8,), BOMB_BYTES)}, PARAMS)},
            OK,
        ),
        (
            "--params: W's header declares its inflated size",
            params,
            {
                **good,
                "p.npz": _bomb_file({"fc/affine/W": ((BOMB_BYTES // 8,), BOMB_BYTES)}, {"fc/affine/b": np.zeros(3)}),
            },
            spec_error("fc/affine/W", "shape"),
        ),
        (
            "--params: W's header declares (4, 3), its stream holds more",
            params,
            {**good, "p.npz": _bomb_file({"fc/affine/W": ((4, 3), BOMB_BYTES)}, {"fc/affine/b": np.zeros(3)})},
            usage_error("p.npz", "more than its header declares"),
        ),
        (
            "--input NAME=: the member declares (8, 4), its stream holds more",
            ["run", "-q", SPEC, "--input", "x=d.npz", *limit],
            {SPEC: DATA_SPEC, "d.npz": _bomb_file({"x": ((8, 4), BOMB_BYTES)}, {})},
            usage_error("d.npz", "more than its header declares"),
        ),
        (
            "--input .npz alone: a member no layer reads",
            ["run", "-q", SPEC, "--input", "d.npz", *limit],
            {SPEC: DATA_SPEC, "d.npz": _bomb_file({"other": ((BOMB_BYTES // 8,), BOMB_BYTES)}, {"x": GOOD})},
            OK,
        ),
        (
            "--input NAME=: honest, 32 MB of rows, batches of 65536",
            ["run", "-q", SPEC, "--input", "x=d.npz", "--batch-size", "65536", *limit],
            {SPEC: DATA_SPEC, "d.npz": _bomb_file({"x": ((2**20, 4), 2**20 * 32)}, {})},
            Expect("either", (1, 2), "d.npz", False),
        ),
    ]
    for i in range(18):
        label, argv, files, expect = variants[i % len(variants)]
        yield Case("npz bombs", label, argv, files, expect)


LYING_HEADERS = [
    header_text("(True, 4)"),
    header_text("(-1, 4)"),
    header_text("(2.0, 4)"),
    header_text("[2, 4]"),
    header_text("(2**62, 4)"),
    header_text("(4611686018427387904, 4611686018427387904)"),
    header_text("(1000000000000, 4)"),
    header_text(str((1,) * 65)),
    header_text("(2, 4)", fortran="1"),
    header_text("(2, 4)", descr="'xyz'"),
    header_text("(2, 4)", descr="[('a', '<f8')]"),
    header_text("(2, 4)", descr="'(2,)<f8'"),
    header_text("(2, 4)", descr="'|O'"),
    header_text("(2, 4)", descr="'<M8[s]'"),
    header_text("(2, 4)", descr="'<U1000000000'"),
    "{'descr': '<f8', 'shape': (2, 4), }",
    "__import__('os').system('touch PWNED')",
    "(" * 300 + ")" * 300,
]


HEADER_SLOTS = ["--input .npy", "--input .npz", "--input .npz (deflated)", "--params", "file:"]


def lying_headers(rng: random.Random) -> Iterator[Case]:
    """.npy files and .npz members whose header lies or is malformed, in every place a file reaches
    nnspec (--input .npy and .npz, --params, a parameter's file: under validate and run); and stored
    members whose header claims more rows than they hold, or whose bytes were changed (their CRC)."""
    payload = GOOD.astype("<f8").tobytes()
    for i in range(54):
        header = LYING_HEADERS[i % len(LYING_HEADERS)]
        raw = npy_claiming(header, payload)
        slot = rng.randrange(5)
        if slot == 0:
            argv, files, expect = ["run", "-q", SPEC, "--input", "x=d.npy"], {"d.npy": raw}, usage_error("d.npy")
        elif slot in (1, 2):
            compressed = slot == 2
            argv = ["run", "-q", SPEC, "--input", "x=d.npz"]
            files, expect = {"d.npz": _npz_raw({"x": raw}, compressed)}, usage_error("d.npz")
        elif slot == 3:
            argv = ["run", "-q", SPEC, "--params", "p.npz", "--input", "x=good.npy"]
            members = {"fc/affine/W": raw, "fc/affine/b": npy_bytes(np.zeros(3))}
            files = {"p.npz": _npz_raw(members, rng.random() < 0.5), "good.npy": npy_bytes(GOOD)}
            expect = Expect("error", (1, 2), "p.npz", False)
        else:
            spec = (
                DATA_SPEC.replace("out_shape: 3}", "out_shape: 3, W: {file: w.npy}}") + "data:\n  x: [[1, 2, 3, 4]]\n"
            )
            argv, files = commands(rng), {SPEC: spec, "w.npy": raw}
            expect = Expect("error", (1, 2), "w.npy", False)
        files = {SPEC: DATA_SPEC, **files}
        label = f"{header[:60]} via {HEADER_SLOTS[slot]}"
        yield Case("lying npy/npz headers", label, argv, files, expect, check=not_created("PWNED"))
    for rows in (9, 100, 2**20):
        raw = _npz_raw({"x": npy_claiming(header_text(f"({rows}, 4)"), payload)}, False)
        argv = ["run", "-q", SPEC, "--input", "x=d.npz"]
        yield Case(
            "lying npy/npz headers",
            f"stored member claiming {rows} rows, holding 8",
            argv,
            {SPEC: DATA_SPEC, "d.npz": raw},
            usage_error("d.npz", "cut short or damaged"),
        )
    for i in range(6):
        raw = bytearray(_npz_raw({"x": npy_bytes(GOOD), **{k: npy_bytes(v) for k, v in PARAMS.items()}}, False))
        start = raw.index(npy_bytes(GOOD)[-64:])
        raw[start + rng.randrange(64)] ^= 1 << rng.randrange(8)
        argv = ["run", "-q", SPEC, "--input", "x=d.npz", "--batch-size", str(1 + i % 3), "--output", "out.npz"]
        yield Case(
            "lying npy/npz headers",
            f"a bit flipped in a stored member's values ({i})",
            argv,
            {SPEC: DATA_SPEC, "d.npz": bytes(raw)},
            usage_error("d.npz", "Bad CRC-32"),
            check=not_created("out.npz"),
        )


def _npz_raw(members: dict[str, bytes], compressed: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as archive:
        for name, raw in members.items():
            archive.writestr(name + ".npy", raw)
    return buffer.getvalue()


def _sparse_rows(path: Path, rows: int = 200_000, width: int = 256) -> None:
    """A .npy of float32 zeros, rows x width, written as a sparse file (no disk, no time)."""
    raw = npy_claiming(header_text(f"({rows}, {width})", descr="'<f4'"))
    with open(path, "wb") as handle:
        handle.write(raw)
        handle.truncate(len(raw) + rows * width * 4)


def _truncate(name: str, size: int) -> Callable[[Path], None]:
    return lambda directory: os.truncate(directory / name, size)


def _overwrite_tail(name: str) -> Callable[[Path], None]:
    def change(directory: Path) -> None:
        with open(directory / name, "r+b") as handle:
            handle.seek(-4096, 2)
            handle.write(b"\x7f" * 4096)

    return change


def changed_files(rng: random.Random) -> Iterator[Case]:
    """An input .npy cut short or rewritten while a run reads it, soon after nnspec opened it (a
    memory-mapped file ended the process with SIGBUS): the run ends with an error naming the file
    ("changed while being read"), or finishes first."""
    spec = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [256]}\n  - {name: t, type: Tanh}\n"
    for i in range(12):
        change = _truncate("x.npy", rng.choice([0, 200, 50_000_000])) if i % 3 else _overwrite_tail("x.npy")
        delay = rng.uniform(0.0, 0.3)
        yield Case(
            "file changed during a run",
            f"{'truncated' if i % 3 else 'rewritten'} {delay:.2f} s after nnspec opened it",
            ["run", "-q", SPEC, "--input", "x=x.npy", "--batch-size", "256", "--check", "tanh-saturation=off"],
            {SPEC: spec, "x.npy": _sparse_rows},
            Expect("either", (2,), "x.npy", False, ("while being read",)),
            change_after=("x.npy", delay, change),
            timed=False,
        )


# --- issue 19's parts together: repeats, expressions, side inputs, views --------------------------

INTERPLAY_COMMANDS = [
    ["validate", SPEC],
    ["validate", "--summary", SPEC],
    ["validate", "--print-resolved", SPEC],
    ["validate", "--format", "json", SPEC],
    ["validate", "--format", "sarif", SPEC],
    ["validate", "--format", "github", SPEC],
    ["run", "-q", SPEC, "--samples", "3"],
    ["run", "-q", "--view", "runtime", SPEC, "--samples", "3"],
    ["run", "-q", "--view", "training", SPEC, "--samples", "3"],
    ["graph", SPEC],
    ["graph", "--view", "runtime", SPEC],
]
# A clean answer: success, or a located error (exit 1) or a usage error (exit 2) naming the spec.
LOCATED_OR_OK = Expect("either", (1, 2), SPEC, True)

# Values a RepeatStart's times may be written as: fine, out of range, expressions good and bad.
TIMES = [
    "1",
    "3",
    "0",
    "-2",
    "2.5",
    "1e9",
    "2147483648",
    "true",
    "null",
    "[2]",
    '"3"',
    "=n",
    "=n-1",
    "=n-n",
    "=n*1000000",
    "=n/2",
    "=n//0",
    "=m",
    "=Input[0]",
    '"=Input"',
    "=(((n)))",
    "=" + "(" * 40 + "n" + ")" * 40,
    "=n-",
    "=1e999*1e999",
    "=True",
]
# Layers a repeat's body may hold, some reading the RepeatStart or other body layers on their pins.
BODY_LAYERS = [
    "{name: fc, type: Affine, out_shape: 4}",
    '{name: fc, type: Affine, out_shape: "=Input[0]"}',
    '{name: fc, type: Affine, out_shape: "=Input[0]*2"}',
    '{name: fc, type: Affine, out_shape: "=k"}',
    "{name: t, type: Tanh}",
    "{name: d, type: Dropout, p: 0.5}",
    "{name: d, type: Dropout, p: =p}",
    "{name: s, type: Sub2, R: {input: RepeatStart}}",
    "{name: s, type: Sub2, R: {input: x}}",
    "{name: s, type: Sub2, R: {input: RepeatEnd}}",
    "{name: s, type: Sub2, R: {generator: Constant}}",
    "{name: a, type: Add2, input: [t, RepeatStart]}",
    "{name: e, type: SquaredError, T: {input: t}}",
    "{name: e, type: SquaredError, T: {input: RepeatEnd}}",
    "{name: e, type: SquaredError, T: {input: nowhere}}",
    "{name: inner, type: RepeatStart, times: 2}",
    "{name: innerEnd, type: RepeatEnd}",
    "{name: RepeatStart, type: Tanh}",
]
AFTER_LAYERS = [
    "{name: y, type: Affine, out_shape: 2}",
    "{name: probs, type: Softmax}",
    "{name: loss, type: SquaredError, T: {input: RepeatEnd}}",
    "{name: loss, type: SquaredError, T: {input: t}}",
    "{name: loss, type: SquaredError, T: {input: fc}}",
    "{name: loss, type: CategoricalCrossEntropy, T: {generator: Constant}}",
    "{name: late, type: Tanh, input: t}",
    "{name: again, type: RepeatEnd}",
]
OUTPUT_LINES = [
    "",
    "outputs: [RepeatEnd]",
    "outputs: [RepeatStart]",
    'outputs: ["t[0]"]',
    'outputs: ["t[99]"]',
    "outputs: [t]",
    'outputs: ["fc[0][0]"]',
]
ARGUMENT_LINES = [
    "arguments:\n  n: {type: PInt, value: 3}\n  k: {type: Int, value: 4}\n  p: {type: Float, value: 0.5}",
    "arguments:\n  n: {type: Int, value: -1}\n  k: {type: Text, value: four}\n  p: {type: Float, value: 2}",
    "arguments:\n  n: {type: PInt, value: 100000}\n  k: {type: Int, value: 4}\n  p: {type: Boolean, value: true}",
    "",
]


def interplay_spec(rng: random.Random) -> str:
    """A spec with a repeat whose times, body, side inputs and surroundings are drawn at random."""
    body = [rng.choice(BODY_LAYERS) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:  # a well-formed nested repeat
        body = [
            "{name: inner, type: RepeatStart, times: 2}",
            "{name: t, type: Tanh}",
            "{name: innerEnd, type: RepeatEnd}",
        ]
    markers = rng.random()
    start = [] if markers < 0.05 else [f"{{name: RepeatStart, type: RepeatStart, times: {rng.choice(TIMES)}}}"]
    end = [] if 0.05 <= markers < 0.1 else ["{name: RepeatEnd, type: RepeatEnd}"]
    layers = ["{name: x, type: Input, size: [4], generator: Uniform}", "{name: t, type: Tanh}", *start, *body, *end]
    layers += [rng.choice(AFTER_LAYERS) for _ in range(rng.randint(0, 2))]
    text = "nnspec: 1\n" + rng.choice(ARGUMENT_LINES) + "\nlayers:\n" + "".join(f"  - {line}\n" for line in layers)
    return text + rng.choice(OUTPUT_LINES) + "\n" + rng.choice(["", "view: runtime\n", "view: training\n"])


def machine_located(stdout: str, stderr: str) -> str | None:
    """A machine format's answer (on stdout) locates every error it reports: JSON's diagnostics and
    SARIF's results carry a line, GitHub's ::error commands a line= (None: they do)."""
    if stdout.startswith("{"):
        report = json.loads(stdout)
        if "runs" in report:  # SARIF
            for result in report["runs"][0]["results"]:
                region = result["locations"][0]["physicalLocation"].get("region", {})
                if result["level"] == "error" and "startLine" not in region:
                    return f"a SARIF error without a line: {result['message']['text'][:80]!r}"
            return None
        for entry in report["files"]:
            for diagnostic in entry["diagnostics"]:
                if diagnostic["severity"] == "error" and diagnostic.get("line") is None:
                    return f"a JSON error without a line: {diagnostic['message'][:80]!r}"
        return None
    for line in stdout.splitlines():
        if line.startswith("::error") and ",line=" not in line:
            return f"a GitHub error without a line: {line[:80]!r}"
    return None


def repeats_expressions_side_inputs(rng: random.Random) -> Iterator[Case]:
    """Repeats with expressions, side inputs, views and every output format: each answers cleanly
    (a machine format on stdout, its errors located there)."""
    for i in range(80):
        argv = rng.choice(INTERPLAY_COMMANDS)
        machine = "--format" in argv
        yield Case(
            "repeats, expressions, side inputs",
            f"case {i}: {' '.join(argv[:-1])}",
            argv,
            {SPEC: interplay_spec(rng)},
            Expect("either", (1, 2), None, False) if machine else LOCATED_OR_OK,
            said=machine_located if machine else None,
        )


# --- NNC projects (.sdcproj) ---------------------------------------------------------------------

PROJECT = "p.sdcproj"
# A small project in NNC's grammar: Input -> Affine -> Tanh, and a loss whose target is a layer's output.
SMALL_PROJECT = "\n".join(
    [
        "[Engine]",
        "SDeepEngineType=NNabla",
        "[Network_Global]",
        "NumLayer=4",
        "NumLink=4",
        "[Layer_0]",
        "ID=0",
        "Type=Input",
        "Position_0=24",
        "Position_1=24",
        "Property_0_Name=Name",
        "Property_0_Value=x",
        "Property_1_Name=Size",
        "Property_1_Value=1,4,4",
        "Property_2_Name=Dataset",
        "Property_2_Value=x",
        "Property_3_Name=Generator",
        "Property_3_Value=Normal",
        "NumProperty=4",
        "[Layer_1]",
        "ID=1",
        "Type=Affine",
        "Property_0_Name=Name",
        "Property_0_Value=fc",
        "Property_1_Name=OutShape",
        "Property_1_Value=Input[1]*2",
        "Property_2_Name=W.Initializer",
        "Property_2_Value=NormalAffineGlorot",
        "Property_3_Name=W.File",
        "Property_3_Value=",
        "NumProperty=4",
        "[Layer_2]",
        "ID=2",
        "Type=Tanh",
        "Property_0_Name=Name",
        "Property_0_Value=y'",
        "NumProperty=1",
        "[Layer_3]",
        "ID=3",
        "Type=SquaredError",
        "Property_0_Name=Name",
        "Property_0_Value=loss",
        "NumProperty=1",
        "[Link_0]",
        "ID=0",
        "SourceLayerID=0",
        "SourcePinIndex=0",
        "DestLayerID=1",
        "DestPinIndex=0",
        "[Link_1]",
        "ID=1",
        "SourceLayerID=1",
        "SourcePinIndex=0",
        "DestLayerID=2",
        "DestPinIndex=0",
        "[Link_2]",
        "ID=2",
        "SourceLayerID=2",
        "SourcePinIndex=0",
        "DestLayerID=3",
        "DestPinIndex=0",
        "[Link_3]",
        "ID=3",
        "SourceLayerID=1",
        "SourcePinIndex=0",
        "DestLayerID=3",
        "DestPinIndex=1",
        "[Executor_0]",
        "Executor_NetworkName=MainRuntime",
    ]
)
PROJECT_VALUES = [
    "",
    "-1",
    "0",
    "999999999999",
    "1e400",
    "nan",
    "x",
    "*",
    "*Input",
    "*Nope",
    "Input[9]",
    "1,,2",
    "True",
    "../../../etc/passwd",
    "/etc/passwd",
    "\x07\x1b[31m",
    "'",
    "=",
    "[Layer_0]",
    "a" * 5000,
    "(" * 100,
]


def _mutated_project(rng: random.Random) -> tuple[str, str]:
    """The small project with one random change: a value, a line dropped or doubled, a count, a
    section header, line ends; and a label saying which."""
    lines = SMALL_PROJECT.split("\n")
    k = rng.randrange(len(lines))
    kind = rng.choice(["value", "drop", "double", "count", "header", "crlf", "truncate", "engine"])
    if kind == "value" and "=" in lines[k]:
        key = lines[k].partition("=")[0]
        lines[k] = f"{key}={rng.choice(PROJECT_VALUES)}"
    elif kind == "drop":
        del lines[k]
    elif kind == "double":
        lines.insert(k, lines[k])
    elif kind == "count":
        where = next(
            i for i, line in enumerate(lines) if line.startswith(rng.choice(["NumLayer", "NumLink", "NumProperty"]))
        )
        lines[where] = lines[where].partition("=")[0] + "=" + rng.choice(["-1", "10**9", "1000000000", "5", "0", "x"])
    elif kind == "header":
        lines[k] = rng.choice(["[", "[]", "[Layer_0", "[Layer_9]", "[Network_Global]"])
    elif kind == "truncate":
        lines = lines[:k]
    elif kind == "engine":
        lines[1] = "SDeepEngineType=" + rng.choice(["Transformers", "Caffe", ""])
    text = "\n".join(lines) + "\n"
    return kind, text.replace("\n", "\r\n") if kind == "crlf" else text


def nnc_projects(rng: random.Random) -> Iterator[Case]:
    """NNC projects with one random change, through validate (every format) and run: each answers
    cleanly, an error located at its .sdcproj line (a Transformers project: refused, exit 2)."""
    commands = [
        ["validate", PROJECT],
        ["validate", "--format", "json", PROJECT],
        ["validate", "--format", "sarif", PROJECT],
        ["validate", "--format", "github", PROJECT],
        ["run", "-q", PROJECT, "--samples", "2"],
        ["graph", PROJECT],
        ["convert", PROJECT, "-o", "back.sdcproj"],  # written back as NNC's text, read back the same
        ["convert", PROJECT, "-o", "p.yaml"],
    ]
    for i in range(80):
        kind, text = _mutated_project(rng)
        argv = rng.choice(commands)
        machine = "--format" in argv
        transformers = "=Transformers" in text
        expect = (
            usage_error(PROJECT, "Transformers")
            if transformers
            else Expect("either", (1, 2), None, False)
            if machine
            else Expect("either", (1, 2), PROJECT, True)
        )
        yield Case(
            "NNC projects (.sdcproj)",
            f"case {i}: {kind}: {' '.join(argv[:-1])}",
            argv,
            {PROJECT: text},
            expect,
            said=machine_located if machine and not transformers else None,
        )
    # A project over its own size limit (NNSPEC_MAX_PROJECT_SIZE, 8 MiB: larger than a spec's), refused
    # before it is read; the limit raised, the same file is read.
    from nnspec.files.limits import PROJECT_TEXT

    for size in [PROJECT_TEXT.default + 1, 2**30]:

        def huge(path: Path, size: int = size) -> None:
            with open(path, "wb") as handle:
                handle.write(b"[Engine]\nSDeepEngineType=NNabla\n")
                handle.truncate(size)  # the rest sparse: a large file costs no disk

        yield Case(
            "NNC projects (.sdcproj)",
            f"{size:,} bytes",
            ["validate", PROJECT],
            {PROJECT: huge},
            usage_error(PROJECT, "NNSPEC_MAX_PROJECT_SIZE"),
        )


# --- nnabla's .nntxt and .nnp -----------------------------------------------------------------

NNTXT = REPO / "tests" / "fixtures" / "nnabla_nnp" / "cnn.nntxt"
NNTXT_NAME = "net.nntxt"


def _mutated_nntxt(rng: random.Random, text: str) -> tuple[str, str]:
    """One random damage to a valid .nntxt: what a truncated download, a bad edit or an attacker gives."""
    kind = rng.choice(["cut", "brace", "quote", "escape", "type", "input", "deep", "flood", "bytes", "number"])
    at = rng.randrange(len(text))
    if kind == "cut":
        return kind, text[:at]
    if kind == "brace":
        return kind, text[:at] + rng.choice("{}") + text[at:]
    if kind == "quote":
        return kind, text[:at] + '"' + text[at:]
    if kind == "escape":
        return kind, text.replace('"x"', '"x\\' + rng.choice('qz9"u') + '"', 1)
    if kind == "type":
        return kind, text.replace('type: "ReLU"', f'type: "{rng.choice(["Relu", "RELU", "Foo", "", "ReLU" * 30])}"')
    if kind == "input":
        return kind, text.replace('input: "x"', f'input: "{rng.choice(["y", "", "@@", "x" * 500])}"', 1)
    if kind == "deep":
        depth = rng.choice([31, 33, 200, 5000])
        return kind, text + "a {" * depth + "}" * depth
    if kind == "flood":
        return kind, text + "b: 1 " * rng.choice([10, 10_000, 30_000])
    if kind == "bytes":
        return kind, text[:at] + "".join(chr(rng.randrange(1, 256)) for _ in range(rng.randrange(1, 20))) + text[at:]
    return kind, text.replace(
        "dim: 6", f"dim: {rng.choice(['-5', '0', '99999999999', '1e309', 'nan', '2147483648'])}", 1
    )


def hostile_nntxt(rng: random.Random) -> Iterator[Case]:
    """Damaged nnabla networks: a located error (or a clean run where the damage happens to be valid)."""
    text = NNTXT.read_text(encoding="utf-8")
    yield Case("hostile .nntxt", "intact", ["validate", NNTXT_NAME], {NNTXT_NAME: text}, Expect("ok"))
    for _ in range(60):
        kind, damaged = _mutated_nntxt(rng, text)
        files: dict[str, Content] = {NNTXT_NAME: damaged}
        argv = ["validate", NNTXT_NAME]
        if rng.random() < 0.3:  # a run, on data of the network's input shape
            argv = ["run", "-q", NNTXT_NAME, "--input", "x=x.npy"]
            files["x.npy"] = npy_bytes(np.zeros((2, 2, 8, 8), np.float32))
        # a run's own refusals (no data for a variable the damage made an input) name the variable, not the file
        where = NNTXT_NAME if argv[0] == "validate" else None
        yield Case("hostile .nntxt", kind, argv, files, Expect("either", (1, 2), where, True))
    yield from hostile_recurrent_nntxt(rng)


RECURRENT_NNTXT = REPO / "tests" / "fixtures" / "nnabla" / "recurrent" / "two_loops.nntxt"
# Damage to a recurrent loop's marks: (label, the text replaced, its replacement)
RECURRENT_DAMAGE = [
    *(
        (
            f"recurrent axis {value}",
            'axis: 1\n      repeat_id: "RecurrentInput"',
            f'axis: {value}\n      repeat_id: "RecurrentInput"',
        )
        for value in ("0", "-1", "2", "99", "2147483648", "1e9", '"x"')
    ),
    *(
        (f"repeat_info times {value}", "times: 5", f"times: {value}")
        for value in ("0", "-1", "4", "999999999999", "1e400")
    ),
    ("a Delay without its Initial", 'input: "Tanh"\n    input: "h0"', 'input: "Tanh"'),
    ("a Delay with three inputs", 'input: "Tanh"\n    input: "h0"', 'input: "Tanh"\n    input: "h0"\n    input: "h0"'),
    ("a Delay of itself", 'input: "Tanh"\n    input: "h0"', 'input: "Delay"\n    input: "h0"'),
    ("a Delay outside its loop", 'input: "Tanh"\n    input: "h0"', 'input: "Input"\n    input: "h0"'),
    ("a RecurrentInput gone", 'type: "RecurrentInput"\n    repeat_id: "RecurrentInput"\n', 'type: "Identity"\n'),
    ("a RecurrentOutput gone", 'type: "RecurrentOutput"\n    input: "Tanh"', 'type: "Identity"\n    input: "Tanh"'),
    ("an unknown repeat_id", 'repeat_id: "RecurrentInput_2"\n    }', 'repeat_id: "Nope"\n    }'),
    (
        "a Delay's shape gone",
        'name: "Delay"\n    type: "Buffer"\n    repeat_id: "RecurrentInput"\n    shape: { dim: -1 dim: 3 }',
        'name: "Delay"\n    type: "Buffer"',
    ),
    (
        "a loop read by its own input",
        'input: "Input"\n    output: "RecurrentInput"',
        'input: "Tanh"\n    output: "RecurrentInput"',
    ),
]


def hostile_recurrent_nntxt(rng: random.Random) -> Iterator[Case]:
    """A recurrent .nntxt (two loops) with its loops' marks damaged: a located error, or a clean run."""
    text = RECURRENT_NNTXT.read_text(encoding="utf-8")
    data: dict[str, Content] = {
        "x.npy": npy_bytes(np.zeros((2, 5, 4), np.float32)),
        "h0.npy": npy_bytes(np.zeros((2, 3), np.float32)),
    }
    run = ["run", "-q", NNTXT_NAME, "--input", "x=x.npy", "--input", "h0=h0.npy"]
    yield Case("hostile .nntxt", "recurrent: intact", run, {NNTXT_NAME: text, **data}, Expect("ok"))
    for label, old, new in RECURRENT_DAMAGE:
        assert old in text, label
        argv = rng.choice([["validate", NNTXT_NAME], run])
        where = NNTXT_NAME if argv[0] == "validate" else None
        files = {NNTXT_NAME: text.replace(old, new, 1), **data}
        yield Case("hostile .nntxt", f"recurrent: {label}", argv, files, Expect("either", (1, 2), where, True))


def _zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def hostile_nnp(rng: random.Random) -> Iterator[Case]:
    """Damaged and hostile .nnp archives: refused before any member is inflated beyond its bound."""
    network = NNTXT.read_bytes()
    good = (REPO / "tests" / "fixtures" / "nnabla_nnp" / "mlp_protobuf.nnp").read_bytes()
    argv = ["validate", "m.nnp"]
    refused = usage_error("m.nnp")
    variants: list[tuple[str, bytes, Expect]] = [
        ("intact (protobuf parameters)", good, OK),
        ("a folder in a name", _zip_bytes({"../network.nntxt": network}), refused),
        ("an absolute name", _zip_bytes({"/etc/network.nntxt": network}), refused),
        ("many members", _zip_bytes({f"m{n}.txt": b"" for n in range(500)}), refused),
        ("a bomb", _zip_bytes({"network.nntxt": b"network {" + b" " * 50_000_000 + b"}"}), refused),
        ("no network", _zip_bytes({"nnp_version.txt": b"0.1\n"}), refused),
        ("two networks", _zip_bytes({"a.nntxt": network, "b.nntxt": network}), refused),
        ("bzip2 members", _zip_bytes({"network.nntxt": network}, zipfile.ZIP_BZIP2), refused),
        ("not a zip", b"network { }", refused),
        ("empty", b"", refused),
        ("truncated", good[: len(good) // 2], refused),
    ]
    for label, data, expect in variants:
        yield Case("hostile .nnp", label, argv, {"m.nnp": data}, expect)
    for _ in range(20):  # flipped bytes anywhere: a clean answer, whatever it is
        damaged = bytearray(good)
        for _ in range(rng.randrange(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        run = ["run", "-q", "m.nnp", "--input", "x=x.npy"]
        files: dict[str, Content] = {"m.nnp": bytes(damaged), "x.npy": npy_bytes(np.zeros((2, 2, 3, 4), np.float32))}
        yield Case("hostile .nnp", "flipped bytes", run, files, Expect("either", (1, 2), "m.nnp", True))


def _onnx_model(nodes, inputs, outputs, initializers=(), opset: int = 17) -> bytes:
    from onnx import helper

    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def _onnx_external(location: str, offset: str = "0", length: str = "32") -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    return _onnx_model([helper.make_node("MatMul", ["x", "W"], ["y"])], [x], [y], [weight])


def _onnx_nested(depth: int, body_location: str | None = None) -> bytes:
    """A Relu inside If bodies nested ``depth`` deep, written as protobuf bytes (the library refuses
    to build messages nested past 100), the innermost body holding an initializer whose external data
    is at ``body_location`` when given."""
    from onnx import TensorProto, helper, numpy_helper

    from nnspec.files.nnpfile import encode_bytes_field as field
    from nnspec.files.nnpfile import encode_varint as varint

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("Relu", ["x"], ["y"]).SerializeToString()
    otherwise = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "else", [], [y])
    for level in range(depth):
        body = field(1, node) + field(2, b"body") + field(12, y.SerializeToString())
        if level == 0 and body_location is not None:
            tensor = numpy_helper.from_array(np.ones(2, np.float32), "inner")
            tensor.data_location = TensorProto.EXTERNAL
            tensor.ClearField("raw_data")
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", body_location
            body += field(5, tensor.SerializeToString())
        branch = field(1, b"then_branch") + varint(20 << 3) + varint(5) + field(6, body)
        node = field(1, b"cond") + field(2, b"y") + field(4, b"If") + field(5, branch)
        node += field(5, helper.make_attribute("else_branch", otherwise).SerializeToString())
    cond = numpy_helper.from_array(np.array(True), "cond")
    model = _onnx_model([], [x], [y], [cond])
    return model + field(7, field(1, node))  # protobuf merges the graph given twice: the node is added


def _declared(name: str, dims: list[int]) -> Any:
    """A float initializer declaring ``dims`` but holding 16 bytes (a file cannot hold 2^62 values)."""
    from onnx import TensorProto

    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, raw_data=bytes(16))
    tensor.dims.extend(dims)
    return tensor


def _onnx_wide(inputs: int) -> bytes:
    """One Relu, with ``inputs`` graph inputs in all (a hundred thousand fit in a few MB)."""
    from onnx import TensorProto, helper

    declared = [helper.make_tensor_value_info(f"in{k}", TensorProto.FLOAT, [1, 4]) for k in range(inputs)]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    return _onnx_model([helper.make_node("Relu", ["in0"], ["y"])], declared, [y])


def hostile_onnx(rng: random.Random) -> Iterator[Case]:
    """Damaged and hostile .onnx models (issue 22): located errors, nothing read outside the model's folder."""
    if not _has("onnx"):
        return
    from onnx import TensorProto, helper, numpy_helper

    x4 = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y4 = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    good = _onnx_model([helper.make_node("Relu", ["x"], ["y"])], [x4], [y4])
    refused = Expect("error", (1,), "m.onnx", True)
    EITHER_ONNX = Expect("either", (1, 2), "m.onnx", True)  # noqa: N806
    huge_shape = numpy_helper.from_array(np.array([1, 2**20, 2**20], np.int64), "shape")

    def _info(name: str, shape: list[int]) -> Any:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    variants: list[tuple[str, Content, Expect]] = [
        ("intact", good, OK),
        ("external data leaving the folder", _onnx_external("../secret.txt"), refused),
        ("external data at an absolute path", _onnx_external("/etc/passwd"), refused),
        ("external data through a symlink out", _onnx_external("link.bin"), refused),
        (
            "a huge declared constant",
            _onnx_model(
                [helper.make_node("ConstantOfShape", ["shape"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
                [x4],
                [y4],
                [huge_shape],
            ),
            Expect("error", (1,), "m.onnx", True, ("declares a tensor",)),
        ),
        (
            "a cycle",
            _onnx_model(
                [helper.make_node("Add", ["x", "b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])],
                [x4],
                [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 4])],
            ),
            refused,
        ),
        (
            "unknown operators",
            _onnx_model([helper.make_node("Hardmax", ["x"], ["h"]), helper.make_node("Erf", ["h"], ["y"])], [x4], [y4]),
            Expect("error", (1,), "m.onnx", True, ("Hardmax", "Erf")),
        ),
        (
            "a string input",
            _onnx_model(
                [helper.make_node("Identity", ["s"], ["y"])],
                [helper.make_tensor_value_info("s", TensorProto.STRING, [1, 4])],
                [y4],
            ),
            refused,
        ),
        ("not protobuf", b"\xff" * 64, refused),
        ("empty", b"", refused),
        ("truncated", good[: len(good) // 2], Expect("error", (1,), "m.onnx", True)),
        # more of each kind issue 22 names: huge declared tensors, paths leaving the folder, cycles,
        # unknown operators, wrong types, and what the fuzzer (scripts/fuzz_onnx.py) found
        ("external data through a folder symlink out", _onnx_external("linkdir/weights.bin"), refused),
        ("external data by sub/../..", _onnx_external("sub/../../secret.txt"), refused),
        ("external data in a FIFO", _onnx_external("fifo"), refused),
        ("external data at a NUL in its path", _onnx_external("weights.bin\x00../x"), refused),
        ("external data past the file's end", _onnx_external("weights.bin", "4096"), refused),
        ("external data of a huge length", _onnx_external("weights.bin", "0", str(2**62)), refused),
        ("external data offset not a number", _onnx_external("weights.bin", "1e3"), refused),
        ("external data in a nested body", _onnx_nested(1, "../secret.txt"), refused),
        (
            "an initializer declaring 2^62 values",
            _onnx_model(
                [helper.make_node("Add", ["x", "c"], ["y"])],
                [x4],
                [y4],
                [_declared("c", [2**31, 2**31])],
            ),
            refused,
        ),
        (
            "a graph input declaring 2^40 features",
            _onnx_model([helper.make_node("Relu", ["x"], ["y"])], [_info("x", [1, 2**40])], [_info("y", [1, 2**40])]),
            Expect("either", (1,), "m.onnx", True),
        ),
        (
            "a negative dimension",
            _onnx_model([helper.make_node("Relu", ["x"], ["y"])], [_info("x", [1, -4])], [y4]),
            Expect("either", (1,), "m.onnx", True),
        ),
        (
            "100,000 axes",
            _onnx_model([helper.make_node("Relu", ["x"], ["y"])], [_info("x", [1] * 100_000)], [y4]),
            refused,
        ),
        ("100,000 graph inputs", _onnx_wide(100_000), Expect("error", (1,), "m.onnx", True, ("20,000",))),
        (
            "a node reading its own output",
            _onnx_model([helper.make_node("Add", ["x", "y"], ["y"])], [x4], [y4]),
            refused,
        ),
        (
            "an unknown domain",
            _onnx_model([helper.make_node("Relu", ["x"], ["y"], domain="com.example")], [x4], [y4]),
            Expect("error", (1,), "m.onnx", True, ("com.example.Relu",)),
        ),
        (
            "an initializer of strings",
            _onnx_model(
                [helper.make_node("Add", ["x", "s"], ["y"])],
                [x4],
                [y4],
                [helper.make_tensor("s", TensorProto.STRING, [4], [b"a", b"b", b"c", b"d"])],
            ),
            refused,
        ),
        (
            "an attribute of the wrong type",
            _onnx_model([helper.make_node("LeakyRelu", ["x"], ["y"], alpha="high")], [x4], [y4]),
            Expect("either", (1,), "m.onnx", True),
        ),
        (
            "an absurd opset",
            _onnx_model([helper.make_node("Relu", ["x"], ["y"])], [x4], [y4], opset=2**62),
            EITHER_ONNX,
        ),
        ("If bodies 3 deep", _onnx_nested(3), refused),
        ("If bodies 2,000 deep", _onnx_nested(2000), refused),
    ]
    for label, data, expect in variants:
        files: dict[str, Content] = {
            "m.onnx": data,
            "link.bin": _outside("weights.bin"),
            "linkdir": _outside_directory,
            "weights.bin": bytes(64),
            "sub": lambda path: path.mkdir(),
            "fifo": lambda path: os.mkfifo(path),
        }
        yield Case("hostile .onnx", label, ["validate", "m.onnx"], files, expect, check=no_secret, start_up="onnx")
    for _ in range(20):  # flipped bytes anywhere: a clean answer, whatever it is
        damaged = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        run = ["run", "-q", "m.onnx", "--synthetic", "--samples", "2"]
        either = Expect("either", (1, 2), "m.onnx", True)
        yield Case("hostile .onnx", "flipped bytes", run, {"m.onnx": bytes(damaged)}, either, start_up="onnx")


# --- hostile .sdcproj (issue 20) ----------------------------------------------------------------

NncLayer = tuple[str, str, dict[str, str]]  # (type, name, other properties by NNC's names)


def nnc_network(prefix: str, layers: list[NncLayer], links: list[tuple[int, int, int]]) -> list[str]:
    """One network's sections in NNC's grammar (``prefix``: "" for a project's only network, else
    NAME_): layer k has ID k; a link is (source ID, destination ID, destination pin)."""
    lines = [f"[{prefix}Network_Global]", f"NumLayer={len(layers)}", f"NumLink={len(links)}"]
    for k, (layer_type, name, props) in enumerate(layers):
        lines += [f"[{prefix}Layer_{k}]", f"ID={k}", f"Type={layer_type}"]
        for p, (key, value) in enumerate({"Name": name, **props}.items()):
            lines += [f"Property_{p}_Name={key}", f"Property_{p}_Value={value}"]
        lines.append(f"NumProperty={len(props) + 1}")
    for j, (source, dest, pin) in enumerate(links):
        lines += [f"[{prefix}Link_{j}]", f"ID={j}", f"SourceLayerID={source}", "SourcePinIndex=0"]
        lines += [f"DestLayerID={dest}", f"DestPinIndex={pin}"]
    return lines


def nnc_project(networks: dict[str, tuple[list[NncLayer], list[tuple[int, int, int]]]], *tail: str) -> str:
    """A project in NNC's grammar: one network written without [Global] when its name is "", else the
    [Global] form listing them; ``tail``: further lines (datasets, executors)."""
    lines = ["[Engine]", "SDeepEngineType=NNabla"]
    if list(networks) != [""]:
        lines += ["[Global]", f"NumNetwork={len(networks)}"]
        lines += [f"Network_{k}={name}" for k, name in enumerate(networks)]
    for name, (layers, links) in networks.items():
        lines += nnc_network(f"{name}_" if name else "", layers, links)
    return "\n".join([*lines, *tail]) + "\n"


X_INPUT: NncLayer = ("Input", "x", {"Size": "1,4,4", "Dataset": "x", "Generator": "Normal"})
CHAIN: list[NncLayer] = [X_INPUT, ("Affine", "fc", {"OutShape": "3"}), ("Tanh", "y", {})]
CHAIN_LINKS = [(0, 1, 0), (1, 2, 0)]
SDCPROJ_COMMANDS = [
    ["validate", PROJECT],
    ["validate", "--format", "json", PROJECT],
    ["validate", "--format", "github", PROJECT],
    ["run", "-q", PROJECT, "--samples", "2"],
]
LOCATED = Expect("either", (1, 2), PROJECT, True)
MAX_OUTPUT = 256 * 1024  # characters: an error per missing section would be megabytes for NumLink=100000


def _chain(**changes: dict[str, str]) -> list[NncLayer]:
    """CHAIN with properties of its layers (by name) changed."""
    return [(kind, name, {**props, **changes.get(name, {})}) for kind, name, props in CHAIN]


def brief_output(stdout: str, stderr: str) -> str | None:
    """The answer is readable: no flood of one error per missing section, and no terminal control."""
    if len(stdout) + len(stderr) > MAX_OUTPUT:
        return f"{len(stdout) + len(stderr):,} characters of output (at most {MAX_OUTPUT:,})"
    return log_safe(stdout, stderr)


def _sdcproj_counts() -> Iterator[tuple[str, str]]:
    small = nnc_project({"": (CHAIN, CHAIN_LINKS)})
    for key, written in (("NumLayer", 3), ("NumLink", 2)):
        for value in ("999999999999", "1" + "0" * 40, "20000", "100000", "-1", "0x10", "1e3"):
            yield f"{key}={value}", small.replace(f"{key}={written}", f"{key}={value}", 1)
    for value in ("10000", "999999999999"):
        yield f"NumProperty={value}", small.replace("NumProperty=2", f"NumProperty={value}", 1)
    listed = nnc_project({"Main": (CHAIN, CHAIN_LINKS)})
    for value in ("1000", "1001", "999999999999"):
        yield f"NumNetwork={value}", listed.replace("NumNetwork=1", f"NumNetwork={value}", 1)


def _sdcproj_units() -> Iterator[tuple[str, str]]:
    def unit(network: str) -> NncLayer:
        return ("Unit", f"u_{network}", {"Network": network, "ParameterScope": "*Name"})

    body: list[NncLayer] = [("Input", "i", {"Size": "1,4,4"}), ("Tanh", "t", {})]
    yield "a unit calling its own network", nnc_project({"Main": ([X_INPUT, unit("Main")], [(0, 1, 0)])})
    yield (
        "two units calling each other",
        nnc_project(
            {
                "Main": ([X_INPUT, unit("A")], [(0, 1, 0)]),
                "A": ([("Input", "i", {"Size": "1,4,4"}), unit("B")], [(0, 1, 0)]),
                "B": ([("Input", "i", {"Size": "1,4,4"}), unit("A")], [(0, 1, 0)]),
            }
        ),
    )
    for depth in (40, 70, 250):  # nnspec's limit is 64 deep
        chain = {"Main": ([X_INPUT, unit("N1")], [(0, 1, 0)])}
        for k in range(1, depth):
            chain[f"N{k}"] = ([("Input", "i", {"Size": "1,4,4"}), unit(f"N{k + 1}")], [(0, 1, 0)])
        chain[f"N{depth}"] = (body, [(0, 1, 0)])
        yield f"units nested {depth} deep", nnc_project(chain)
    yield "a unit calling a network the project lacks", nnc_project({"Main": ([X_INPUT, unit("Nope")], [(0, 1, 0)])})
    fan = {"Main": ([X_INPUT, unit("A")], [(0, 1, 0)])}
    for outer, inner in (("A", "B"), ("B", "C"), ("C", "D")):  # ten units each, in a chain: 10 x 10 x 10 calls
        calls = [(kind, f"{name}{k}", props) for k, (kind, name, props) in enumerate([unit(inner)] * 10)]
        links = [(0, 1, 0)] + [(k, k + 1, 0) for k in range(1, 10)]
        fan[outer] = ([("Input", "i", {"Size": "1,4,4"}), *calls], links)
    fan["D"] = (body, [(0, 1, 0)])
    yield "units calling units 10 x 10 x 10 times", nnc_project(fan)


def _sdcproj_links() -> Iterator[tuple[str, str]]:
    for source, dest, pin in ((99, 1, 0), (0, -5, 0), (0, 99999999999, 0), (0, 1, 999999), (0, 1, -1), (2, 2, 0)):
        yield f"a link {source} -> {dest} pin {pin}", nnc_project({"": (CHAIN, [(source, dest, pin), (1, 2, 0)])})
    yield "a cycle of links", nnc_project({"": (CHAIN, [(0, 1, 0), (1, 2, 0), (2, 1, 0)])})
    yield "a link into a parameter pin", nnc_project({"": (CHAIN, [(0, 1, 0), (1, 2, 0), (0, 1, 1)])})
    text = nnc_project({"": (CHAIN, CHAIN_LINKS)})
    yield "SourcePinIndex=3", text.replace("SourcePinIndex=0", "SourcePinIndex=3", 1)
    yield "a link without its keys", text.replace("SourceLayerID=0\n", "", 1)


def _sdcproj_bytes(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    text = nnc_project({"": (CHAIN, CHAIN_LINKS)}).encode()
    yield "random bytes", bytes(rng.randrange(256) for _ in range(4096))
    yield "random bytes after [Engine]", b"[Engine]\n" + bytes(rng.randrange(256) for _ in range(4096))
    yield "NUL bytes in values", text.replace(b"Value=fc", b"Value=f\x00c")
    yield "UTF-16", nnc_project({"": (CHAIN, CHAIN_LINKS)}).encode("utf-16")
    yield "a zip", _zip_bytes({"net.sdcproj": text})
    yield "CR-only line ends", text.replace(b"\n", b"\r")
    yield "mixed line ends", text.replace(b"\n", b"\r\n", 20).replace(b"\n", b"\r", 5)
    yield "a 10 MB line", b"[Engine]\nSDeepEngineType=NNabla\nx=" + b"a" * 10_000_000 + b"\n"
    yield "a name of 100,000 characters", text.replace(b"Value=fc", b"Value=" + b"f" * 100_000)
    yield "a size of 60,000 numbers", text.replace(b"Value=1,4,4", b"Value=" + b"1," * 60_000)
    yield "a value of 100,000 brackets", text.replace(b"Value=3", b"Value=" + b"(" * 50_000 + b")" * 50_000)


def _sdcproj_repeats() -> Iterator[tuple[str, str]]:
    for times in ("1000000000000", "2147483648", "20001", "-3", "0", "1e400", "nan", "*Nope"):
        layers: list[NncLayer] = [
            X_INPUT,
            ("RepeatStart", "rs", {"Times": times}),
            ("Tanh", "t", {}),
            ("RepeatEnd", "re", {"RepeatStart": "rs"}),
        ]
        yield f"RepeatStart Times={times}", nnc_project({"": (layers, [(0, 1, 0), (1, 2, 0), (2, 3, 0)])})
    nested: list[NncLayer] = [
        X_INPUT,
        ("RepeatStart", "a", {"Times": "1000"}),
        ("RepeatStart", "b", {"Times": "1000"}),
        ("Tanh", "t", {}),
        ("RepeatEnd", "be", {"RepeatStart": "b"}),
        ("RepeatEnd", "ae", {"RepeatStart": "a"}),
    ]
    yield "repeats 1000 x 1000", nnc_project({"": (nested, [(k, k + 1, 0) for k in range(5)])})


HOSTILE_EXPRESSIONS = [
    "9" * 4000,
    "(" * 500 + "1" + ")" * 500,
    "1/0",
    "Input[0]/0",
    "99999999999*99999999999*99999999999*99999999999",
    "Input[99999]",
    "Input[-99999999999]",
    "*Nope",
    "*",
    "__import__('os').system('touch pwned')",
    "lambda: 0",
    "1e400*1e400",
    "-" * 1000 + "1",
    "Input[0]" + "*Input[0]" * 3000,
]


def _sdcproj_expressions() -> Iterator[tuple[str, str]]:
    for text in HOSTILE_EXPRESSIONS:
        yield f"OutShape={text[:30]!r}", nnc_project({"": (_chain(fc={"OutShape": text}), CHAIN_LINKS)})
    arguments: list[NncLayer] = [
        ("Argument", "A", {"Type": "PInt", "Value": "*B"}),
        ("Argument", "B", {"Type": "PInt", "Value": "*A"}),
        *_chain(fc={"OutShape": "*A"}),
    ]
    yield "arguments referring to each other", nnc_project({"": (arguments, [(2, 3, 0), (3, 4, 0)])})


def _sdcproj_outside() -> Iterator[tuple[str, dict[str, Content], list[str]]]:
    """A parameter file or a dataset named outside the project's folder, a symlink leading out of it."""
    run = ["run", "-q", PROJECT, "--samples", "2"]
    for where in ("../outside-W.npy", "/etc/passwd", "link.npy", "{SDCPATH}../outside-W.npy", "C:\\Windows\\x.npy"):
        text = nnc_project({"": (_chain(fc={"W.File": where}), CHAIN_LINKS)})
        yield f"W.File={where}", {PROJECT: text, "link.npy": _outside("secret.npy")}, run
    dataset = ["[Dataset]", "Num=1", "MainIndex=0", "[Dataset_0]", "Name=Training"]
    for uri in ("../../secret.csv", "/etc/passwd", "link.csv", "file:///etc/passwd", "{SDCPATH}..\\..\\x.csv"):
        text = nnc_project({"": (CHAIN, CHAIN_LINKS)}, *dataset, f"URI={uri}", "ImageNormalization=0")
        yield f"dataset URI={uri}", {PROJECT: text, "link.csv": _outside("secret.csv")}, run


def _sdcproj_many_networks() -> Iterator[tuple[str, str]]:
    one: list[NncLayer] = [("Input", "x", {"Size": "4"}), ("Tanh", "t", {})]
    yield "300 networks", nnc_project({f"N{k}": (one, [(0, 1, 0)]) for k in range(300)})
    yield (
        "one network listed 400 times",
        nnc_project({"Main": (one, [(0, 1, 0)])}).replace(
            "NumNetwork=1\nNetwork_0=Main", "NumNetwork=400\n" + "\n".join(f"Network_{k}=Main" for k in range(400))
        ),
    )
    wide: list[NncLayer] = [("Input", "x", {"Size": "4"}), *(("Tanh", f"t{k}", {}) for k in range(600))]
    yield "600 layers reading one input", nnc_project({"": (wide, [(0, k, 0) for k in range(1, 601)])})


def hostile_sdcproj(rng: random.Random) -> Iterator[Case]:
    """NNC projects built to hurt: huge counts, recursive units, links to nothing, garbage bytes,
    CR-only line ends, control characters, files outside the folder, enormous lines, many networks,
    huge repeats, hostile expressions. Each gets a clean answer: a located error (exit 1), a refused
    file (exit 2), or success where the project is in fact fine; brief, and without terminal control."""
    group = "hostile .sdcproj"
    made: list[tuple[str, Content]] = [
        *_sdcproj_counts(),
        *_sdcproj_units(),
        *_sdcproj_links(),
        *_sdcproj_bytes(rng),
        *_sdcproj_repeats(),
        *_sdcproj_expressions(),
        *_sdcproj_many_networks(),
    ]
    for label, content in made:
        # a file refused whole (beyond the size limit) has no line for a machine format to give
        argv = ["validate", PROJECT] if label == "a 10 MB line" else rng.choice(SDCPROJ_COMMANDS)
        machine = "--format" in argv
        expect = Expect("either", (1, 2), None, False) if machine else LOCATED
        said = (lambda out, err: machine_located(out, err) or brief_output(out, err)) if machine else brief_output
        yield Case(group, f"{label}: {' '.join(argv[:-1])}", argv, {PROJECT: content}, expect, said=said)
    for payload in PAYLOADS:
        for key in ("Value=fc", "Value=1,4,4", "Value=x\n"):
            text = nnc_project({"": (CHAIN, CHAIN_LINKS)}).replace(key, key.replace("=", "=" + payload), 1)
            argv = rng.choice(SDCPROJ_COMMANDS)
            yield Case(
                group, f"{payload!r} in {key.strip()}: {argv[0]}", argv, {PROJECT: text}, ANY_CLEAN, said=log_safe
            )
    for label, files, argv in _sdcproj_outside():
        yield Case(group, label, argv, files, Expect("either", (1, 2), None, False), check=no_secret)


GROUPS: list[tuple[str, Callable[[random.Random], Iterator[Case]]]] = [
    ("billion laughs", billion_laughs),
    ("recursive aliases", recursive_aliases),
    ("merge keys", merge_keys),
    ("python tags", python_tags),
    ("deep nesting", deep_nesting),
    ("long scalars", long_scalars),
    ("huge files", huge_files),
    ("non-UTF-8", non_utf8),
    ("BOMs", boms),
    ("tabs", tabs),
    ("duplicate keys", duplicate_keys),
    ("non-string keys", non_string_keys),
    ("several documents", several_documents),
    ("overflowing shapes", overflowing_shapes),
    ("beyond memory", beyond_memory),
    ("zero/negative sizes", zero_negative_sizes),
    ("NaN/Inf properties", nan_inf_properties),
    ("int vs float", int_vs_float),
    ("booleans as numbers", booleans_as_numbers),
    ("pickled .npy/.npz", pickled_files),
    ("truncated/corrupt files", corrupt_files),
    ("wrong dtype", wrong_dtypes),
    ("wrong shapes", wrong_shapes),
    ("ragged/text CSVs", csv_files),
    ("parameter files", parameter_files),
    ("non-images as images", images),
    ("missing paths", missing_paths),
    ("directories as paths", directories),
    ("existing output", existing_outputs),
    ("atomic outputs", atomic_outputs),
    ("control characters in text", control_characters),
    ("mathtext", mathtext),
    ("matplotlibrc in cwd", matplotlibrc_in_cwd),
    ("hostile .h5", hostile_h5),
    ("image formats by content", image_formats),
    ("image bombs", image_bombs),
    ("huge CSV rows", huge_csv_rows),
    ("unknown names en masse", unknown_names),
    ("huge shapes in validate", huge_shapes_in_validate),
    ("huge graphs", huge_graphs),
    ("too many axes", too_many_axes),
    ("output paths that collide", colliding_outputs),
    ("unwritable output folders", unwritable_folders),
    ("killed while writing", killed_while_writing),
    ("Ctrl-C in the last batch", ctrl_c_in_the_last_batch),
    ("overflowing float64 data", overflowing_float64),
    ("npz bombs", npz_bombs),
    ("lying npy/npz headers", lying_headers),
    ("file changed during a run", changed_files),
    ("paths outside the root", paths_outside_the_root),
    ("validate --no-data", validate_without_data),
    ("repeats, expressions, side inputs", repeats_expressions_side_inputs),
    ("NNC projects (.sdcproj)", nnc_projects),
    ("hostile .nntxt", hostile_nntxt),
    ("hostile .nnp", hostile_nnp),
    ("hostile .sdcproj", hostile_sdcproj),
    ("hostile .onnx", hostile_onnx),
]

# --- running and judging -------------------------------------------------------------------------


# Each case runs under this small launcher, which forks nnspec and reports its exit status, wall time
# and peak memory. Linux counts in a child's peak memory (ru_maxrss) the memory of the process that
# forked it, at the fork: forked from this script (numpy, Pillow, h5py loaded) or from pytest, nnspec
# would seem to take that much. Forked from the launcher, it is measured alone.
# The launcher writes nnspec's process id beside its report, for the signals of the atomicity cases,
# and on SIGTERM (the timeout) kills nnspec and still reports: a case stopped is measured too.
LAUNCHER = """
import os, signal, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "nnspec", *argv])
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
with open(report + ".pid", "w") as handle:
    handle.write(str(pid))
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as handle:
    handle.write(f"{os.waitstatus_to_exitcode(status)} {time.perf_counter() - start} {usage.ru_maxrss}")
"""


def execute(case: Case, directory: Path) -> Result:
    """Run one case in ``directory``: exit code, output, wall time and nnspec's peak memory."""
    directory.mkdir(parents=True)
    for name, content in case.files.items():
        path = directory / name
        if callable(content):
            content(path)
        else:
            path.write_bytes(content.encode() if isinstance(content, str) else content)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NNSPEC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.update(case.env)
    report = directory.parent / f"{directory.name}.report"
    with (
        open(directory.parent / f"{directory.name}.out", "w+b") as out,
        open(directory.parent / f"{directory.name}.err", "w+b") as err,
    ):
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(report), *case.argv],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,  # a process group: a signal or the timeout reaches nnspec too
        )
        timed_out = _wait(process, start, case.signal_after, directory, report, case.signal_by_cpu, case.change_after)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if report.exists():
        code, wall_text, peak = report.read_text().split()
        return Result(None if timed_out else int(code), stdout, stderr, float(wall_text), int(peak) * 1024, timed_out)
    return Result(None, stdout, stderr, wall, 0, timed_out)  # the launcher itself did not answer


def _wait(
    process: subprocess.Popen,
    start: float,
    signal_after: tuple[int, float, bool] | None,
    directory: Path,
    report: Path,
    by_cpu: bool = False,
    change_after: tuple[str, float, Callable[[Path], None]] | None = None,
) -> bool:
    """Wait for the launcher, sending nnspec a signal or changing a file when the case asks for it,
    and stopping it after TIMEOUT (the whole process group, should the launcher not answer); whether
    it timed out."""
    sent = timed_out = changed = False
    opened = None  # when nnspec was first seen holding change_after's file open
    origin = None if signal_after and signal_after[2] else start  # None: when the output's writing starts
    while process.poll() is None:
        now = time.perf_counter()
        if origin is None and any(name.endswith(".tmp") for name in os.listdir(directory)):
            origin = now
        if signal_after and not sent:
            if by_cpu:
                due = (_cpu_seconds(report) or 0.0) >= signal_after[1]
            else:
                due = origin is not None and now - origin >= signal_after[1]
            if due:
                sent = _signal_nnspec(report, signal_after[0])
        if change_after and opened is None and _holds_open(report, directory / change_after[0]):
            opened = now
        if change_after and not changed and opened is not None and now - opened >= change_after[1]:
            change_after[2](directory)
            changed = True
        if now - start > TIMEOUT and not timed_out:
            process.terminate()  # the launcher kills nnspec, and reports its peak memory
            timed_out = True
        if now - start > TIMEOUT + 5:
            os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.002)
    return timed_out


def _cpu_seconds(report: Path) -> float | None:
    """nnspec's CPU time so far (Linux's /proc/PID/stat: the same work takes the same CPU time on a
    busy machine, where the clock's time doubles); None while its process id is not known."""
    try:
        pid = int((report.parent / (report.name + ".pid")).read_text())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime and stime, in ticks


def _holds_open(report: Path, path: Path) -> bool:
    """Whether nnspec (the launcher's child) has ``path`` open; True where /proc cannot tell."""
    if not Path("/proc/self/fd").is_dir():
        return True
    try:
        pid = int((report.parent / (report.name + ".pid")).read_text())
        fds = Path(f"/proc/{pid}/fd")
        return any(os.readlink(fds / fd) == str(path) for fd in os.listdir(fds))
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False


def _signal_nnspec(report: Path, number: int) -> bool:
    """Send nnspec (the launcher's child) a signal; False while its process id is not known yet."""
    try:
        os.kill(int((report.parent / (report.name + ".pid")).read_text()), number)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True


def judge(case: Case, result: Result, directory: Path, time_limit: float = math.inf) -> list[str]:
    """What is wrong with a case's outcome (nothing: it is clean)."""
    if result.timed_out:
        return [f"no answer within {TIMEOUT:g} s (peak memory {result.peak / 2**20:.0f} MB by then)"]
    problems = []
    if "Traceback" in result.stderr:
        problems.append("a traceback")
    if "internal error" in result.stderr:
        problems.append(_first_line(result.stderr, "internal error"))
    warning = PYTHON_WARNING.search(result.stderr)
    if warning:
        problems.append("a Python warning reached the user: " + _first_line(result.stderr[warning.start() :], ""))
    if result.peak > MEMORY_LIMIT:
        problems.append(f"peak memory {result.peak / 2**20:.0f} MB")
    if case.timed and result.wall > time_limit:
        problems.append(f"took {result.wall:.2f} s")
    if case.signal_after is None:
        problems += _outcome_problems(case.expect, result)
    elif result.code is not None and result.code not in (0, 130, 129, 143, *(-s for s in _SENT)):
        # Ctrl-C: 130 from nnspec, SIGTERM 143, SIGHUP 129; or ended by the signal itself when it came
        # as nnspec was exiting (or starting)
        problems.append(f"exit {result.code} after a signal")
    if case.check:
        problem = case.check(directory)
        if problem:
            problems.append(problem)
    if case.said:
        problem = case.said(result.stdout, result.stderr)
        if problem:
            problems.append(problem)
    return problems


_SENT = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _outcome_problems(expect: Expect, result: Result) -> list[str]:
    code, said = result.code, result.stderr + result.stdout
    if code is None or code < 0:
        return [f"ended by signal {-(code or 0)}"]
    if code == 0:
        return [] if expect.outcome != "error" else ["accepted: exit 0 where a clean error was expected"]
    if expect.outcome == "ok":
        return [f"exit {code} where success was expected: {_first_line(result.stderr, '')}"]
    if code not in expect.codes:
        return [f"exit {code}, expected {' or '.join(map(str, expect.codes))}: {_first_line(result.stderr, '')}"]
    problems = []
    findings = code == 1 and _run_findings(result)  # a run's report: its findings are at their layers' lines
    if expect.where and expect.where not in said and not findings:
        problems.append(f"the message does not name {expect.where}: {_first_line(result.stderr, '')}")
    if expect.located and code == 1 and not _located(result):
        problems.append(f"no LINE:COL: {_first_line(result.stderr, '')}")
    for text in expect.mentions:
        if text not in said:
            problems.append(f"the message does not say {text!r}: {_first_line(result.stderr, '')}")
    return problems


def _located(result: Result) -> bool:
    """A spec's error (FILE:LINE:COL: error:), or a run's finding at a layer's line."""
    return bool(re.search(r"^\S.*?:\d+:\d+: error: ", result.stderr, re.M)) or _run_findings(result)


def _run_findings(result: Result) -> bool:
    """Whether the run's text report lists findings at their layers' lines ("  line 12: ...")."""
    return bool(re.search(r"^\s+line \d+: ", result.stdout, re.M))


def _first_line(text: str, containing: str) -> str:
    for line in text.splitlines():
        if containing in line and line.strip():
            return line.strip()[:200]
    return "(nothing on stderr)"


def run_case(case: Case, root: Path, index: int, time_limit: float) -> tuple[Case, Result]:
    directory = root / f"{index:05d}"
    result = execute(case, directory)
    result.problems = judge(case, result, directory, time_limit)
    return case, result


ONE_LAYER = "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [1]}\n"
BASELINE = Case("start-up", "a one-layer spec", ["validate", SPEC], {SPEC: ONE_LAYER}, Expect("ok"))


def _onnx_baseline() -> Case:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    model = _onnx_model([helper.make_node("Relu", ["x"], ["y"])], [x], [y])
    return Case("start-up", "a one-node ONNX model", ["validate", "m.onnx"], {"m.onnx": model}, Expect("ok"))


# What a case's time is measured beyond, by Case.start_up: nnspec validating the smallest input of its kind.
START_UPS: dict[str, Callable[[], Case]] = {"spec": lambda: BASELINE, "onnx": _onnx_baseline}


def start_up(root: Path, kinds: Iterable[str] = ("spec",)) -> dict[str, float]:
    """The best of three wall times of nnspec validating the smallest input of each kind here and now:
    what a case of that kind costs before its input does anything."""
    return {
        kind: min(execute(START_UPS[kind](), root / f"start-up-{kind}-{attempt}").wall for attempt in range(3))
        for kind in sorted(set(kinds))
    }


def _beyond(baselines: dict[str, float]) -> str:
    """``1 s beyond a 1.04 s start-up (onnx: 2.31 s)``."""
    others = ", ".join(f"{kind}: {wall:.2f} s" for kind, wall in baselines.items() if kind != "spec")
    spec = baselines.get("spec")
    shown = f"{TIME_BUDGET:g} s beyond a {spec:.2f} s start-up" if spec is not None else f"{TIME_BUDGET:g} s beyond"
    return f"{shown} ({others})" if others else shown


def confirm_slow(results: list[tuple[Case, Result]], root: Path, time_limits: dict[str, float]) -> None:
    """Run again, one at a time, each case whose only fault was its time: the machine is shared,
    and a case that was slow beside another may not be slow alone. Its best time counts."""
    for index, (case, result) in enumerate(results):
        if not result.problems or not all(p.startswith("took ") for p in result.problems):
            continue
        time_limit = time_limits[case.start_up]
        for attempt in range(2):
            again = execute(case, root / f"{index:05d}-again{attempt}")
            result.wall = min(result.wall, again.wall)
        if result.wall <= time_limit:
            result.problems = []
        else:
            result.problems = [f"took {result.wall:.2f} s (the best of three runs; the limit: {time_limit:.2f} s)"]


# --- the table -----------------------------------------------------------------------------------


def table(results: list[tuple[Case, Result]], groups: list[str]) -> str:
    rows = [("class", "cases", "clean", "failures", "worst time", "worst peak memory")]
    totals = [0, 0, 0]
    for group in groups:
        mine = [r for c, r in results if c.group == group]
        if not mine:
            rows.append((group, "0", "-", "-", "-", "- (needs an optional package)"))
            continue
        timed = [r.wall for c, r in results if c.group == group and c.timed]
        failures = sum(bool(r.problems) for r in mine)
        worst_time = f"{max(timed):.2f} s" if timed else "(interrupted)"
        rows.append(
            (
                group,
                str(len(mine)),
                str(len(mine) - failures),
                str(failures),
                worst_time,
                f"{max(r.peak for r in mine) / 2**20:.0f} MB",
            )
        )
        totals = [totals[0] + len(mine), totals[1] + len(mine) - failures, totals[2] + failures]
    timed_all = [r.wall for c, r in results if c.timed]
    rows.append(
        (
            "all",
            *map(str, totals),
            f"{max(timed_all, default=0):.2f} s",
            f"{max((r.peak for _, r in results), default=0) / 2**20:.0f} MB",
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="at most 5 cases per class")
    parser.add_argument(
        "--only", action="append", default=[], metavar="CLASS", help="classes whose name contains CLASS"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the variations (default 7)")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--show", type=int, default=10, metavar="N", help="failures shown per class (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the cases' directories (printed at the end)")
    parser.add_argument(
        "--no-time-limit",
        action="store_true",
        help=f"judge every case but its time (otherwise: at most {TIME_BUDGET:g} s beyond nnspec's start-up, "
        "measured in the same run)",
    )
    args = parser.parse_args(argv)
    chosen = [(g, make) for g, make in GROUPS if not args.only or any(o.lower() in g.lower() for o in args.only)]
    cases = []
    for group, make in chosen:
        made = list(make(random.Random(f"{args.seed}/{group}")))
        cases += made[:5] if args.quick else made
    root = Path(tempfile.mkdtemp(prefix="nnspec-robustness-"))
    started = time.perf_counter()
    try:
        kinds = {case.start_up for case in cases}
        baselines = {} if args.no_time_limit else start_up(root, kinds)
        limits = {kind: baselines[kind] + TIME_BUDGET if baselines else math.inf for kind in kinds}
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(
                pool.map(lambda item: run_case(item[1], root, item[0], limits[item[1].start_up]), enumerate(cases))
            )
        if not args.no_time_limit:
            confirm_slow(results, root, limits)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(table(results, [g for g, _ in chosen]))
    print(
        f"\n{len(cases)} cases in {time.perf_counter() - started:.0f} s; limits: "
        f"{'no time limit' if args.no_time_limit else _beyond(baselines)}, "
        f"{MEMORY_LIMIT // 2**20} MB, timeout {TIMEOUT:g} s; seed {args.seed}"
    )
    if KILLED_WHILE_WRITING:
        print(f"atomic outputs: {len(KILLED_WHILE_WRITING)} runs were killed while writing their output")
    if INTERRUPTED_IN_LAST_BATCH:
        print(f"Ctrl-C in the last batch: {len(INTERRUPTED_IN_LAST_BATCH)} runs were interrupted in their last batch")
    _print_failures(results, args.show)
    if args.keep:
        print(f"cases kept in {root}")
    return 1 if any(r.problems for _, r in results) else 0


def _print_failures(results: list[tuple[Case, Result]], show: int) -> None:
    shown: dict[str, int] = {}
    for case, result in results:
        if result.problems and shown.get(case.group, 0) < show:
            shown[case.group] = shown.get(case.group, 0) + 1
            print(f"\nFAIL [{case.group}] {case.label}\n  nnspec {' '.join(a[:80] for a in case.argv)}")
            for problem in result.problems:
                print(f"  - {problem}")


if __name__ == "__main__":
    sys.exit(main())
