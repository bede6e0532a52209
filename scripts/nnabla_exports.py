#!/usr/bin/env python3
"""How many of NNC's .nntxt exports kept in nnabla's test data nnspec reads, validates and runs.

nnabla's repository keeps 31 .nntxt files NNC exported from its tutorials as Python strings named
N00000000 to N00000030 in python/test/core/nntxt.py (sony/nnabla); they are not kept in this
repository. Give that file: it is parsed (``ast``), never imported or run.

    python scripts/nnabla_exports.py path/to/nnabla/python/test/core/nntxt.py [--markdown]

Each export is written to a temporary .nntxt and taken through scripts/nnc_samples.py's stages
(import, validate, run on 2 generated samples), and the table says which use recurrence
(RecurrentInput, Delay, RecurrentOutput) or repeats, and each failure's first reason.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from nnc_samples import STAGES, measure  # the same stages as NNC's sample projects

EXPORT_NAME = re.compile(r"N000000[0-9]{2}")


def exports(nntxt_py: Path) -> dict[str, str]:
    """The N-numbered exports of nnabla's test data, by name (N00000000 ...), in the file's order."""
    found: dict[str, str] = {}
    for node in ast.parse(nntxt_py.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if (
                EXPORT_NAME.fullmatch(name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found[name] = node.value.value
    return found


def uses(text: str) -> str:
    types = set(re.findall(r'^\s*type: "(\w+)"', text, re.M))
    kinds = [
        kind
        for kind, marks in (("recurrence", {"RecurrentInput", "Delay"}), ("repeat", {"RepeatStart"}))
        if types & marks
    ]
    return ", ".join(kinds) or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nntxt_py", type=Path, help="nnabla's python/test/core/nntxt.py")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    texts = exports(args.nntxt_py)
    passed: Counter[str] = Counter()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, text in texts.items():
            path = Path(folder) / f"{name}.nntxt"
            path.write_text(text, encoding="utf-8")
            stage, reason = measure(path)
            for k in range(STAGES.index(stage) + 1 if stage else 0):
                passed[(uses(text), STAGES[k])] += 1
                passed[("all", STAGES[k])] += 1
            rows.append((name, uses(text), stage or "-", reason))
    bar = "|" if args.markdown else ""
    print(f"{bar} exports {bar} uses {bar} import {bar} validate {bar} run {bar}".strip())
    if args.markdown:
        print("| ---: | --- | ---: | ---: | ---: |")
    for kind in ("all", *sorted({row[1] for row in rows})):
        count = len(rows) if kind == "all" else sum(row[1] == kind for row in rows)
        figures = f" {bar} ".join(str(passed[(kind, stage)]) for stage in STAGES)
        print(f"{bar} {count} {bar} {kind} {bar} {figures} {bar}".strip())
    print()
    if args.markdown:
        print("| export | uses | passes | first failure |\n| --- | --- | --- | --- |")
    for name, kind, stage, reason in rows:
        reason = reason.replace("|", "\\|") if args.markdown else reason
        plain = f"{name} ({kind}): {stage}" + (f": {reason}" if reason else "")
        print(f"| {name} | {kind} | {stage} | {reason} |" if args.markdown else plain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
