#!/usr/bin/env python3
"""How many of NNC's sample projects nnspec reads, validates and runs, and why the others fail.

NNC's samples are public (sony/nnc-desktop,
local_editor/web_component/local_editor_top/src/assets/sdcproj/); they are not kept in this
repository. Give the folder (or any folder of .sdcproj files):

    python scripts/nnc_samples.py path/to/sdcproj            # the table, then each failure's first reason
    python scripts/nnc_samples.py path/to/sdcproj --markdown

Each NNabla-engine project is taken through three stages, each only if the one before passed
(and, for every project that imports, a fourth one beside them):

  import    the .sdcproj read as a spec (nnspec.spec.sdcproj): NNC's grammar, counts and links;
  validate  the spec validated as `nnspec validate` does (every network; the one run wired and shaped);
  run       the network and view its first executor evaluates, on 2 samples, as
            `nnspec run PROJECT --synthetic --samples 2` does: NNC's datasets are rarely on disk, so
            every data variable without a source is drawn by nnspec.runtime.synthetic (uniform in
            -1..1, or 0..255 where the dataset has ImageNormalization=0; class indices in range for
            a classification loss's target);
  round trip  .sdcproj -> YAML -> .sdcproj -> YAML, by nnspec's readers and writers (as `nnspec convert`
            does, editor positions kept): a fixed point, the two YAML texts equal, with nothing
            reported as left out (not gated on validate: every project that imports is written back).

Transformers-engine projects are counted apart: nnspec refuses them (they have no layers).
Project files are read within their own size limit (NNSPEC_MAX_PROJECT_SIZE, 8 MiB by default).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the nnspec of this checkout

from nnspec.core.diagnostics import ERROR, SpecError, UsageError  # noqa: E402
from nnspec.runtime.runner import run  # noqa: E402
from nnspec.spec.readers import FORMATS, format_of, prepared, read_spec  # noqa: E402
from nnspec.validation import validate_document  # noqa: E402

STAGES = ("import", "validate", "run")
ROUND_TRIP = "round trip"
SAMPLES = 2


def engine_of(path: Path) -> str:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[:5]:
        if line.startswith("SDeepEngineType="):
            return line.partition("=")[2].strip()
    return "NNabla"


def first_reason(exc: Exception) -> str:
    if isinstance(exc, SpecError):
        errors = [d for d in exc.diagnostics if d.severity == ERROR] or exc.diagnostics
        first = errors[0]
        return f"{first.message} [{first.code}] (line {first.line})"
    return f"{type(exc).__name__}: {exc}"


def round_trip(data: dict) -> str:
    """ "" when .sdcproj data -> YAML -> .sdcproj -> YAML gives the same YAML text, else why not."""
    yaml, sdcproj = FORMATS[0], format_of("x.sdcproj")
    assert yaml.write is not None and sdcproj.write is not None
    first = yaml.write(data)
    kept, lost = prepared(sdcproj, yaml.read(first.encode(), "first.yaml").data)
    if lost:
        return "left out: " + ", ".join(".".join(map(str, where)) for where, _ in lost)
    try:
        text = sdcproj.write(kept)
        second = yaml.write(sdcproj.read(text.encode(), "written.sdcproj").data)
    except (SpecError, UsageError) as exc:
        return "written back: " + first_reason(exc)
    if first == second:
        return ""
    differing = next(
        (n, a, b) for n, (a, b) in enumerate(zip(first.splitlines() + [""], second.splitlines() + [""]), 1) if a != b
    )
    return f"the YAMLs differ at line {differing[0]}: {differing[1].strip()!r} became {differing[2].strip()!r}"


def measure(path: Path) -> tuple[str, str]:
    """(the last stage passed, or "" for none; the first failure's reason, or "")."""
    try:
        doc = read_spec(path)
    except (SpecError, UsageError) as exc:
        return "", first_reason(exc)
    try:
        spec = validate_document(doc, read_data=False)
    except (SpecError, UsageError) as exc:
        return "import", first_reason(exc)
    try:
        with warnings.catch_warnings():  # the run's range findings: not what this script counts
            warnings.simplefilter("ignore")
            run(spec, samples=SAMPLES, statistics=True, synthetic=True)
    except (SpecError, UsageError, ValueError) as exc:
        return "validate", first_reason(exc)
    return "run", ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    projects = sorted(args.folder.rglob("*.sdcproj"))
    transformers = [p for p in projects if engine_of(p) == "Transformers"]
    results = {p: measure(p) for p in projects if p not in transformers}
    trips = {p: round_trip(read_spec(p).data) for p, (stage, _) in results.items() if stage}
    passed = Counter()
    for stage, _ in results.values():
        for k in range(STAGES.index(stage) + 1 if stage else 0):
            passed[STAGES[k]] += 1
    passed[ROUND_TRIP] = sum(1 for reason in trips.values() if not reason)
    total = len(results)
    bar = "|" if args.markdown else ""
    print(f"{bar} projects (NNabla engine) {bar} import {bar} validate {bar} run {bar} round trip {bar}".strip())
    if args.markdown:
        print("| --- | ---: | ---: | ---: | ---: |")
    counts = f" {bar} ".join(str(passed[stage]) for stage in (*STAGES, ROUND_TRIP))
    print(f"{bar} {total} {bar} {counts} {bar}".strip())
    print(f"\n{len(transformers)} Transformers-engine projects refused (exit 2), as they should be.\n")
    failures = [(p, stage, reason) for p, (stage, reason) in results.items() if reason]
    failures += [(p, ROUND_TRIP, reason) for p, reason in trips.items() if reason]
    if args.markdown and failures:
        print("| project | fails at | first reason |\n| --- | --- | --- |")
    for path, stage, reason in failures:
        failed = ROUND_TRIP if stage == ROUND_TRIP else STAGES[STAGES.index(stage) + 1] if stage else STAGES[0]
        name = path.relative_to(args.folder)
        reason = reason.replace("|", "\\|") if args.markdown else reason
        print(f"| {name} | {failed} | {reason} |" if args.markdown else f"{name}: {failed}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
