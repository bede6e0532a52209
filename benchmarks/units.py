"""Validation of a spec with nested units against the same network written out by hand.

Issue 19's target: validation of a spec with 10 nested units stays under 0.2 s. The spec built here
has networks N0..N9: network Nk holds an Input, an Affine 32 -> Tanh and a Unit calling N(k+1) (N9
holds the Affine and Tanh alone), and the main network calls N0 twice, so units nest 10 deep and
the spec expands to 20 units and 40 layers with expressions (out_shape: =Width, a per-call argument).
The hand-written spec holds the same 41 layers with their expanded names' parameter scopes.

Each round validates both (nnspec.loads, with the static analysis nnspec validate adds:
nnspec.validation.predicted), interleaved; the figures are medians over the rounds.

    python benchmarks/units.py                   # 10 levels, 30 rounds (~2 s)
    python benchmarks/units.py --depth 20 --repeat 10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import median
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnspec  # noqa: E402
from nnspec.validation import predicted  # noqa: E402

TARGET_SECONDS = 0.2


def units_spec(depth: int) -> str:
    lines = ["nnspec: 1", "networks:"]
    for k in range(depth):
        lines += [
            f"  N{k}:",
            "    arguments: {Width: {type: PInt, value: 32}}",
            "    layers:",
            "      - {name: Input, type: Input, size: [1]}",
            "      - {name: Affine, type: Affine, out_shape: =Width}",
            "      - {name: Tanh, type: Tanh}",
        ]
        if k + 1 < depth:
            lines.append(f'      - {{name: U, type: Unit, network: N{k + 1}, arguments: {{Width: "=Input[0]"}}}}')
    lines += [
        "layers:",
        "  - {name: x, type: Input, size: [32], generator: Uniform}",
        "  - {name: A, type: Unit, network: N0}",
        "  - {name: B, type: Unit, network: N0, arguments: {Width: 16}}",
    ]
    return "\n".join(lines) + "\n"


def hand_spec(depth: int) -> str:
    lines = ["nnspec: 1", "layers:", "  - {name: x, type: Input, size: [32], generator: Uniform}"]
    for unit, width in (("A", 32), ("B", 16)):
        for k in range(depth):
            scope = "/".join([unit] + ["U"] * k)
            name = scope.replace("/", "_")
            lines.append(
                f"  - {{name: {name}_Affine, type: Affine, out_shape: {width}, parameter_scope: {scope}/Affine}}"
            )
            lines.append(f"  - {{name: {name}_Tanh, type: Tanh}}")
    return "\n".join(lines) + "\n"


def validate_seconds(text: str) -> float:
    start = perf_counter()
    spec = nnspec.loads(text, "bench.yaml")
    predicted(spec)
    return perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=10, help="units nested this deep (default 10)")
    parser.add_argument("--repeat", type=int, default=30, help="rounds (default 30)")
    args = parser.parse_args()
    units, hand = units_spec(args.depth), hand_spec(args.depth)
    expanded, written = nnspec.loads(units, "bench.yaml"), nnspec.loads(hand, "bench.yaml")
    assert len(expanded.layers) == len(written.layers), (len(expanded.layers), len(written.layers))
    keys = sorted(layer.parameter_key("W") for layer in expanded.layers.values() if layer.parameter_shapes)
    assert keys == sorted(layer.parameter_key("W") for layer in written.layers.values() if layer.parameter_shapes)
    timings: dict[str, list[float]] = {"units": [], "hand": []}
    for _ in range(args.repeat):
        timings["units"].append(validate_seconds(units))
        timings["hand"].append(validate_seconds(hand))
    with_units, by_hand = median(timings["units"]), median(timings["hand"])
    print(f"{args.depth} nested units, {len(expanded.layers)} layers expanded, {args.repeat} rounds (medians)")
    print(f"  validate, units:    {with_units * 1000:8.2f} ms")
    print(f"  validate, by hand:  {by_hand * 1000:8.2f} ms")
    verdict = "within" if with_units < TARGET_SECONDS else "OVER"
    print(f"  units / by hand:    {with_units / by_hand:8.2f}x   ({verdict} the {TARGET_SECONDS} s target)")


if __name__ == "__main__":
    main()
