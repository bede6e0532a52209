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
import sys

from against_hand import compare  # benchmarks/, beside this script

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=100, help="iterations of the repeat (default 100)")
    parser.add_argument("--repeat", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--samples", type=int, default=256, help="samples per run, one batch (default 256)")
    args = parser.parse_args(argv)
    what = f"{args.times} iterations of Affine 64 / Tanh"
    return compare(
        "repeat",
        repeat_spec(args.times),
        hand_spec(args.times),
        output="head",
        samples=args.samples,
        rounds=args.repeat,
        what=what,
    )


if __name__ == "__main__":
    sys.exit(main())
