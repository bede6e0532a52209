"""nnspec's two engines on the same prepared spec: numpy's (the default) and onnxruntime's
(``--engine onnxruntime``), on the MLP 784-512-512-10 and the CNN of benchmarks/peers.py, with
statistics off and with the default statistics.

    python benchmarks/engines.py                  # batches 1 and 256, 0.3 s of calls a cell
    python benchmarks/engines.py --batches 32 4096 --budget 1

Each row: the median ms of ``runner.run({"x": x})`` for each engine, called in turns (numpy,
onnxruntime, numpy, ...) so that machine noise hits both alike, and onnxruntime's over numpy's
(below 1: onnxruntime is faster). The outputs are checked to agree first (rtol 1e-4). Both engines
use the threads they take by default (BLAS's and onnxruntime's intra-op pool): the machine's line
says how many cores that is.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peers import NETS, make_data, make_params, spec_text  # noqa: E402

import nnspec  # noqa: E402

ENGINES = ("numpy", "onnxruntime")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", choices=("mlp", "cnn"), default=["mlp", "cnn"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 256])
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of timed calls per engine and cell")
    return parser.parse_args(argv)


def runners(net_name: str, statistics: bool) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each engine's prepared runner of the net, with the same parameters: a call runs one batch."""
    net = NETS[net_name]()
    spec, params, output = nnspec.loads(spec_text(net)), make_params(net), net.layers[-1].name
    made = {}
    for engine in ENGINES:
        runner = nnspec.prepare(spec, params, statistics=statistics, engine=engine)
        made[engine] = lambda x, runner=runner: runner.run({"x": x}).outputs[output]
    return made


def median_times(runs: dict[str, Callable[[np.ndarray], np.ndarray]], x: np.ndarray, budget: float) -> dict[str, float]:
    """Median seconds a call of each, after a warm-up call that also checks the outputs agree."""
    first, outputs = {}, {}
    for name, run in runs.items():
        first[name] = perf_counter()
        outputs[name] = run(x)
        first[name] = perf_counter() - first[name]
    np.testing.assert_allclose(outputs["onnxruntime"], outputs["numpy"], rtol=1e-4, atol=1e-5)
    rounds = max(3, min(1000, round(budget / max(max(first.values()), 1e-7))))
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = perf_counter()
            run(x)
            times[name].append(perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def main(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore", nnspec.RangeWarning)  # range findings are not what is measured here
    import onnxruntime

    print(f"python {platform.python_version()} on {platform.machine()}; cpus: {os.cpu_count()}")
    print(f"numpy {np.__version__}, onnxruntime {onnxruntime.__version__} (CPU)")
    print(f"nnspec from {Path(nnspec.__file__).parent}")
    print(f"\n{'net':<5}{'batch':>6}  {'statistics':<11}{'numpy ms':>10}{'onnxruntime ms':>16}{'ratio':>8}")
    for net_name in args.nets:
        for statistics in (False, True):
            runs = runners(net_name, statistics)
            for batch in args.batches:
                t = median_times(runs, make_data(NETS[net_name](), batch), args.budget)
                ratio = t["onnxruntime"] / t["numpy"]
                label = "default" if statistics else "off"
                print(
                    f"{net_name:<5}{batch:>6}  {label:<11}{t['numpy'] * 1e3:10.3f}{t['onnxruntime'] * 1e3:16.3f}"
                    f"{ratio:7.2f}x"
                )


if __name__ == "__main__":
    main(parse_args())
