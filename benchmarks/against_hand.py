"""What benchmarks/repeat.py and benchmarks/lstm.py share: a structured spec timed against the same
network written out by hand, after checking that both give the same outputs.

Each round validates both texts (nnspec.loads) and runs both specs (nnspec.run, the samples in one
batch), with statistics and without, interleaved (structured, hand, structured, hand, ...) so machine
noise hits both alike. The figures are medians over the rounds; the headline is structured / hand.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from statistics import median
from time import perf_counter

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnspec  # noqa: E402

LABELS = ("validate", "run", "run, statistics off")


def timed(action, *args, **kwargs) -> float:
    began = perf_counter()
    action(*args, **kwargs)
    return perf_counter() - began


def compare(name: str, structured: str, hand: str, *, output: str, samples: int, rounds: int, what: str) -> int:
    """Print the medians and ratios of ``structured`` (called ``name`` in the table) against ``hand``;
    1 (and nothing timed) when their ``output`` layers differ."""
    texts = {name: structured, "hand": hand}
    specs = {kind: nnspec.loads(text) for kind, text in texts.items()}
    runs = {kind: nnspec.run(spec, samples=samples) for kind, spec in specs.items()}
    if not np.array_equal(runs[name].outputs[output], runs["hand"].outputs[output]):
        print("the two specs give different outputs", file=sys.stderr)
        return 1
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for kind in texts:
            times.setdefault(("validate", kind), []).append(timed(nnspec.loads, texts[kind]))
            for label, statistics in (("run", True), ("run, statistics off", False)):
                seconds = timed(nnspec.run, specs[kind], samples=samples, statistics=statistics)
                times.setdefault((label, kind), []).append(seconds)
    print(f"{what}, {samples} samples, {rounds} rounds, load {os.getloadavg()[0]:.2f}")
    print(f"{'':22} {name:>10} {'by hand':>10} {'ratio':>7}")
    for label in LABELS:
        ours, theirs = median(times[(label, name)]), median(times[(label, "hand")])
        print(f"{label:22} {ours * 1e3:8.1f}ms {theirs * 1e3:8.1f}ms {ours / theirs:6.2f}x")
    print("target: run within 1.3x of the network written out by hand")
    return 0
