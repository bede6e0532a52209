"""What a boundary between the pieces of ``--engine onnxruntime`` costs (nnspec.runtime.mixed): the same prepared
spec all in one onnxruntime session, and cut into 2, 3 and 4 pieces by layers handed to numpy.

The spec is a net of benchmarks/peers.py (the CNN, the MLP) with two Identity layers added, ``mid`` after
its middle activation (the CNN's relu2, 16x14x14 a sample; the MLP's relu2, 512) and ``end`` after its
last layer. ONNX holds every layer, so the cut is forced: the engine is given which layers go to numpy,
as the writer's verdict would give them. An Identity costs next to nothing on either side, so what a cut
adds is the boundary itself: one more session run, the tensor handed out of onnxruntime and into it again,
and the statistics' bookkeeping across pieces.

    python benchmarks/mixed.py                  # batches 1 and 256, 0.3 s of calls a cell, 20 at least
    python benchmarks/mixed.py --nets cnn --batches 32 --budget 1

Each row: the ms of ``runner.run({"x": x})`` for each cut, called in turns (in a new, seeded order each
round) so that machine noise hits all alike, and each cut's time over the uncut one's (``1 piece``: the
mixed engine given nothing to cut, one session); numpy's engine on the same spec for scale. The
mixed engine's sessions do not spin (nnspec.runtime.mixed): onnxruntime's threads, left spinning
after a run, would take the cores from whatever runs next, numpy's work above all. So the engine
``--engine onnxruntime`` uses for a spec ONNX holds whole, whose session spins (onnxruntime's default), is
timed apart, after the others (``spinning``), its ratio to ``1 piece`` too. Two tables: the median call,
and the fastest (on a machine shared with other work, the fastest call is the one least disturbed by it:
the cost of the work itself). The outputs are checked to agree first (rtol 1e-4).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from time import perf_counter

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peers import NETS, make_data, make_params, spec_text  # noqa: E402

import nnspec  # noqa: E402
from nnspec.checks.check import Check  # noqa: E402
from nnspec.runtime.mixed import MixedEngine  # noqa: E402
from nnspec.spec.model import Spec  # noqa: E402

# The cuts timed: the layers given to numpy, and how many pieces that makes
CUTS: dict[str, tuple[str, ...]] = {
    "1 piece": (),
    "2 pieces": ("end",),  # onnxruntime | numpy: one boundary
    "3 pieces": ("mid",),  # onnxruntime | numpy | onnxruntime: two
    "4 pieces": ("mid", "end"),  # three
}
MIDDLE = {"cnn": "relu2", "mlp": "relu2"}  # the activation ``mid`` follows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", choices=tuple(MIDDLE), default=["cnn", "mlp"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 256])
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of timed calls per cut and cell")
    parser.add_argument("--rounds", type=int, default=20, help="at least this many calls of each, whatever the budget")
    return parser.parse_args(argv)


def cut_spec(net_name: str) -> str:
    """The net's spec with ``mid`` after its middle activation and ``end`` after its last layer."""
    lines = spec_text(NETS[net_name]()).splitlines()
    at = next(k for k, line in enumerate(lines) if f"name: {MIDDLE[net_name]}," in line)
    lines.insert(at + 1, "  - {name: mid, type: Identity}")
    lines.append("  - {name: end, type: Identity}")
    return "\n".join(lines) + "\n"


def forced(on_numpy: tuple[str, ...]) -> Callable[..., MixedEngine]:
    """An engine factory cutting the spec as if ONNX could not hold ``on_numpy``."""

    def factory(
        spec: Spec,
        parameters: dict[str, dict[str, np.ndarray]],
        observed: Mapping[str, list[Check]] | None,
        variables: list[str],
    ) -> MixedEngine:
        return MixedEngine(spec, parameters, observed, variables, dict.fromkeys(on_numpy, "forced"))

    return factory


Run = Callable[[np.ndarray], np.ndarray]


def runners(net_name: str, statistics: bool) -> tuple[dict[str, Run], Run]:
    """Each cut's prepared runner of the net and numpy's engine's, with the same parameters; and the
    spinning engine of ``--engine onnxruntime``'s."""
    spec, params = nnspec.loads(cut_spec(net_name)), make_params(NETS[net_name]())
    made = {}
    for label, on_numpy in CUTS.items():
        runner = nnspec.prepare(spec, params, statistics=statistics, engine=forced(on_numpy))
        assert len(runner.engine.pieces) == int(label.split()[0]), label  # type: ignore[attr-defined]
        made[label] = _calls(runner)
    made["numpy"] = _calls(nnspec.prepare(spec, params, statistics=statistics))
    return made, _calls(nnspec.prepare(spec, params, statistics=statistics, engine="onnxruntime"))


def _calls(runner: nnspec.Runner) -> Run:
    """A batch through the runner: the last layer's values."""
    return lambda x: runner.run({"x": x}).outputs["end"]


def call_times(runs: dict[str, Run], x: np.ndarray, budget: float, least: int) -> dict[str, list[float]]:
    """Seconds each call of each took, after a warm-up call that also checks the outputs agree."""
    first, outputs = {}, {}
    for name, run in runs.items():
        first[name] = perf_counter()
        outputs[name] = run(x)
        first[name] = perf_counter() - first[name]
    reference = next(iter(outputs.values()))
    for name, output in outputs.items():
        np.testing.assert_allclose(output, reference, rtol=1e-4, atol=1e-5, err_msg=name)
    rounds = max(least, min(1000, round(budget / max(max(first.values()), 1e-7))))
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = np.random.default_rng(0)
    for _ in range(rounds):
        for name in order.permutation(list(runs)):
            start = perf_counter()
            runs[name](x)
            times[name].append(perf_counter() - start)
    return times


def main(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore", nnspec.RangeWarning)  # range findings are not what is measured here
    import onnxruntime

    print(f"python {platform.python_version()} on {platform.machine()}; cpus: {os.cpu_count()}")
    print(f"numpy {np.__version__}, onnxruntime {onnxruntime.__version__} (CPU)")
    print(f"nnspec from {Path(nnspec.__file__).parent}")
    labels = [*CUTS, "numpy", "spinning"]
    tables: dict[str, list[str]] = {"median": [], "fastest": []}
    for net_name in args.nets:
        for statistics in (False, True):
            runs, spinning = runners(net_name, statistics)
            for batch in args.batches:
                x = make_data(NETS[net_name](), batch)
                times = call_times(runs, x, args.budget, args.rounds)
                np.testing.assert_allclose(spinning(x), runs["1 piece"](x), rtol=1e-4, atol=1e-5)
                times["spinning"] = call_times({"spinning": spinning}, x, args.budget, args.rounds)["spinning"]
                for kind, pick in (("median", np.median), ("fastest", np.min)):
                    t = {name: float(pick(values)) for name, values in times.items()}
                    cells = [f"{t[label] * 1e3:.3f} ({t[label] / t['1 piece']:.2f}x)" for label in labels]
                    label = "default" if statistics else "off"
                    row = f"{net_name:<5}{batch:>6}  {label:<11}" + "".join(f"{cell:>22}" for cell in cells)
                    tables[kind].append(row)
    for kind, rows in tables.items():
        print(f"\nms a call, the {kind} (each cut's ratio to 1 piece)")
        print(f"{'net':<5}{'batch':>6}  {'statistics':<11}" + "".join(f"{label:>22}" for label in labels))
        print("\n".join(rows))


if __name__ == "__main__":
    main(parse_args())
