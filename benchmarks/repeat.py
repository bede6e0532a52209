"""A repeat of N iterations against the same network written out by hand: run and validation time.

Issue 19's target: a RepeatStart/RepeatEnd block of 100 iterations runs within 1.3x of the same
network written out by hand. Both specs are built here: a block of Affine 64 -> Tanh repeated
``--times`` times between an Input of 64 values and an Affine 10 head; the hand-written one names
iteration k's layers Affine_k and Tanh_k with ``parameter_scope: "Affine[k]"``, so both draw the
same parameters (drawn per nnabla name) and give the same outputs, which the script checks first.

Each round validates both specs (nnspec.loads) and runs both (nnspec.run, 256 samples in one batch),
with statistics and without, interleaved (repeat, hand, repeat, hand, ...) so machine noise hits
both alike. The figures are medians over the rounds; the headline is repeat / hand.

    python benchmarks/repeat.py                  # 100 iterations, 15 rounds (~30 s)
    python benchmarks/repeat.py --times 300 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from statistics import median
from time import perf_counter

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnspec  # noqa: E402

HEAD = """\
nnspec: 1
layers:
  - {name: x, type: Input, size: [64], generator: Uniform}
"""
TAIL = "  - {name: head, type: Affine, out_shape: 10}\n"


def repeat_spec(times: int) -> str:
    return (
        HEAD
        + f"  - {{name: RepeatStart, type: RepeatStart, times: {times}}}\n"
        + "  - {name: Affine, type: Affine, out_shape: 64}\n"
        + "  - {name: Tanh, type: Tanh}\n"
        + "  - {name: RepeatEnd, type: RepeatEnd}\n"
        + TAIL
    )


def hand_spec(times: int) -> str:
    body = "".join(
        f'  - {{name: Affine_{k}, type: Affine, out_shape: 64, parameter_scope: "Affine[{k}]"}}\n'
        f"  - {{name: Tanh_{k}, type: Tanh}}\n"
        for k in range(times)
    )
    return HEAD + body + TAIL


def timed(action, *args, **kwargs) -> float:
    began = perf_counter()
    action(*args, **kwargs)
    return perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=100, help="iterations of the repeat (default 100)")
    parser.add_argument("--repeat", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--samples", type=int, default=256, help="samples per run, one batch (default 256)")
    args = parser.parse_args(argv)
    texts = {"repeat": repeat_spec(args.times), "hand": hand_spec(args.times)}
    specs = {kind: nnspec.loads(text) for kind, text in texts.items()}
    runs = {kind: nnspec.run(spec, samples=args.samples) for kind, spec in specs.items()}
    if not np.array_equal(runs["repeat"].outputs["head"], runs["hand"].outputs["head"]):
        print("the two specs give different outputs", file=sys.stderr)
        return 1
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for kind in ("repeat", "hand"):
            times.setdefault(("validate", kind), []).append(timed(nnspec.loads, texts[kind]))
            for label, statistics in (("run", True), ("run, statistics off", False)):
                seconds = timed(nnspec.run, specs[kind], samples=args.samples, statistics=statistics)
                times.setdefault((label, kind), []).append(seconds)
    print(
        f"{args.times} iterations of Affine 64 / Tanh, {args.samples} samples, {args.repeat} rounds, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'':22} {'repeat':>10} {'by hand':>10} {'ratio':>7}")
    for label in ("validate", "run", "run, statistics off"):
        ours, theirs = median(times[(label, "repeat")]), median(times[(label, "hand")])
        print(f"{label:22} {ours * 1e3:8.1f}ms {theirs * 1e3:8.1f}ms {ours / theirs:6.2f}x")
    print("target: run within 1.3x of the network written out by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
