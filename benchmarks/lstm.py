"""An LSTM over N steps against the same network written out by hand: run and validation time.

Issue 19's target: an LSTM over 100 steps runs within 1.3x of the same network written out by hand.
Both specs are built here: an Input of ``--steps`` x 32 values, an LSTM of state 64 (NNC's LSTM unit,
unrolled by nnspec.spec.recurrence) and an Affine 10 head on its last step. The hand-written one
writes every step's layers out as nnabla unrolls NNC's unit: Slice + Reshape (the step's input),
Concatenate [h, x], the four gate Affines with ``parameter_scope: LSTM/Affine`` etc. (the names
the LSTM's parameters have, shared by every step, so both draw the same values), Tanh/Sigmoid,
Mul2/Add2, and a Stack of the h's; h and c at step 0 are Constant-0 Inputs. The outputs must be
bit-identical, which the script checks first.

Each round validates both specs (nnspec.loads) and runs both (nnspec.run, 256 samples in one batch),
with statistics and without, interleaved so machine noise hits both alike. The figures are medians
over the rounds; the headline is LSTM / hand.

    OPENBLAS_NUM_THREADS=1 python benchmarks/lstm.py           # 100 steps, 9 rounds
    python benchmarks/lstm.py --steps 30 --repeat 5
"""

from __future__ import annotations

import argparse
import sys

from against_hand import compare  # benchmarks/, beside this script

FEATURES, STATE = 32, 64
TAIL = "  - {name: Last, type: Slice, start: [{last}, 0], stop: [{steps}, 64], step: [1, 1]}\n" + (
    "  - {name: head, type: Affine, out_shape: 10}\n"
)


def lstm_spec(steps: int) -> str:
    return (
        "nnspec: 1\nlayers:\n"
        f"  - {{name: x, type: Input, size: [{steps}, {FEATURES}], generator: Uniform}}\n"
        f"  - {{name: LSTM, type: LSTM, size: [{STATE}]}}\n"
        + TAIL.replace("{last}", str(steps - 1)).replace("{steps}", str(steps))
    )


# one step of NNC's LSTM unit: (name, type, inputs, properties); {h} and {c} are the state before
STEP = [
    ("Concatenate", "Concatenate", ["{h}", "Step"], "axis: 0"),
    ("Affine", "Affine", ["Concatenate"], f"out_shape: {STATE}, parameter_scope: LSTM/Affine"),
    ("Tanh", "Tanh", ["Affine"], ""),
    ("IGate", "Affine", ["Concatenate"], f"out_shape: {STATE}, parameter_scope: LSTM/IGate"),
    ("Sigmoid", "Sigmoid", ["IGate"], ""),
    ("Mul2", "Mul2", ["Sigmoid", "Tanh"], ""),
    ("FGate", "Affine", ["Concatenate"], f"out_shape: {STATE}, parameter_scope: LSTM/FGate"),
    ("Sigmoid_2", "Sigmoid", ["FGate"], ""),
    ("Mul2_2", "Mul2", ["Sigmoid_2", "{c}"], ""),
    ("Add2", "Add2", ["Mul2", "Mul2_2"], ""),
    ("Tanh_2", "Tanh", ["Add2"], ""),
    ("OGate", "Affine", ["Concatenate"], f"out_shape: {STATE}, parameter_scope: LSTM/OGate"),
    ("Sigmoid_4", "Sigmoid", ["OGate"], ""),
    ("Mul2_3", "Mul2", ["Sigmoid_4", "Tanh_2"], ""),
]


def hand_spec(steps: int) -> str:
    lines = [
        "nnspec: 1",
        "layers:",
        f"  - {{name: x, type: Input, size: [{steps}, {FEATURES}], generator: Uniform}}",
        f"  - {{name: h0, type: Input, size: [{STATE}], generator: Constant, generator_multiplier: 0.0}}",
        f"  - {{name: c0, type: Input, size: [{STATE}], generator: Constant, generator_multiplier: 0.0}}",
    ]
    h, c = "h0", "c0"
    for t in range(steps):
        lines.append(
            f"  - {{name: Slice_{t}, type: Slice, input: x, start: [{t}, 0], stop: [{t + 1}, {FEATURES}], "
            "step: [1, 1]}"
        )
        lines.append(f"  - {{name: Step_{t}, type: Reshape, out_shape: [{FEATURES}]}}")
        for name, kind, inputs, props in STEP:
            wired = [h if s == "{h}" else c if s == "{c}" else f"{s}_{t}" for s in inputs]
            extra = f", {props}" if props else ""
            lines.append(f"  - {{name: {name}_{t}, type: {kind}, input: [{', '.join(wired)}]{extra}}}")
        h, c = f"Mul2_3_{t}", f"Add2_{t}"
    lines.append(f"  - {{name: LSTM, type: Stack, input: [{', '.join(f'Mul2_3_{t}' for t in range(steps))}], axis: 0}}")
    return "\n".join(lines) + "\n" + TAIL.replace("{last}", str(steps - 1)).replace("{steps}", str(steps))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="time steps (default 100)")
    parser.add_argument("--repeat", type=int, default=9, help="rounds (default 9)")
    parser.add_argument("--samples", type=int, default=256, help="samples per run, one batch (default 256)")
    args = parser.parse_args(argv)
    what = f"LSTM of state {STATE} over {args.steps} steps of {FEATURES} values"
    return compare(
        "LSTM",
        lstm_spec(args.steps),
        hand_spec(args.steps),
        output="head",
        samples=args.samples,
        rounds=args.repeat,
        what=what,
    )


if __name__ == "__main__":
    sys.exit(main())
