"""nnspec's two engines, numpy's (the default) and onnxruntime's (``--engine onnxruntime``), beside
onnxruntime alone, with issue 22's ratios printed in the same command.

    python benchmarks/engines.py                  # CNN and MLP of benchmarks/peers.py, batch 256
    python benchmarks/engines.py --batches 1 32 256 --budget 1
    python benchmarks/engines.py --resnet50       # the onnx wheel's light ResNet-50, batch 8, peak memory
    python benchmarks/engines.py --pipelining 100 # the engine's second thread on and off, 100 paired calls

Networks: the MLP 784-512-512-10 and the CNN of benchmarks/peers.py, with its weights. Each is
timed, on the same data, as:

- ``numpy``: nnspec prepared with the numpy engine, statistics off, then with the default statistics;
- ``onnxruntime engine``: nnspec prepared with ``engine="onnxruntime"``, likewise;
- ``onnxruntime alone``: the model nnspec's writer makes of the spec, run by one InferenceSession
  with onnxruntime's default options, nothing else (what the engine computes without statistics);
- ``onnxruntime, every layer out``: the same model with every layer's value as a graph output
  (what statistics must read), one session;
- ``onnxruntime + moments``: that, and numpy taking the min, max, mean and std of every value it
  gives and of the input (four reductions a tensor: benchmarks/peers.py's ``moments_of``), in line.
  A floor for statistics of every layer on onnxruntime: they must read each value at least once.

No onnxruntime session of the process spins (``session.intra_op.allow_spinning`` 0, set for every
session by ``no_spinning``; ``--spin`` keeps onnxruntime's default): a session's threads, spinning for a
while after its call by default, take the cores from whatever is timed next, here another engine, so the
interleaved medians measured the neighbours (on an idle machine, the CNN at batch 256: the onnxruntime
engine with statistics 39.7 ms median against 14.5 ms fastest with spinning, 14.2 against 13.0 without).

Each cell is the median of a call after a warm-up, the engines called in turns, in a new order each
round, so that machine noise hits all alike; every output is checked against the numpy engine's
first (rtol 1e-4). The ratios under each net are issue 22's targets: the onnxruntime engine with
statistics over onnxruntime alone (at most 1.5x), the numpy engine's over the onnxruntime engine's,
both with statistics (at least 3x on the CNN), and the floor over onnxruntime alone.

``--resnet50`` runs the light model zoo's ResNet-50 that ships in the onnx wheel
(``onnx/backend/test/data/light/light_resnet50.onnx``, read by nnspec as any .onnx) on one batch of
8 images 3x224x224 (seeded normal values), each engine in a fresh child process that reports its own
peak memory (ru_maxrss) and the median of ``--runs`` runs after a warm-up: the numpy engine and the
onnxruntime engine with the default statistics, and onnxruntime alone on the model nnspec writes of the
file (what the engine runs without statistics; the file itself fixes the batch at 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peers import NETS, make_data, make_params, moments_of, spec_text  # noqa: E402

import nnspec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RTOL, ATOL = 1e-4, 1e-5
NUMPY_OFF, NUMPY_ON = "numpy, stats off", "numpy, default stats"
ENGINE_OFF, ENGINE_ON = "onnxruntime engine, stats off", "onnxruntime engine, default stats"
ALONE, EVERY_LAYER, FLOOR = "onnxruntime alone", "onnxruntime, every layer out", "onnxruntime + moments"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", choices=("mlp", "cnn"), default=["cnn", "mlp"])
    parser.add_argument("--batches", nargs="+", type=int, default=[256])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per engine and cell")
    parser.add_argument("--resnet50", action="store_true", help="the light ResNet-50 instead, with peak memory")
    parser.add_argument(
        "--pipelining", type=int, metavar="PAIRS", help="instead: the engine's thread on and off, in PAIRS paired calls"
    )
    parser.add_argument("--runs", type=int, default=3, help="--resnet50: timed runs per engine after a warm-up")
    parser.add_argument("--spin", action="store_true", help="leave onnxruntime's sessions spinning (its default)")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "MODEL"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def no_spinning() -> None:
    """Every onnxruntime session made from now on in this process with threads that sleep as soon as a
    call ends (the module's docstring says why); the engine's own setting of the same entry is kept."""
    import onnxruntime

    class NotSpinning(onnxruntime.SessionOptions):
        def __init__(self) -> None:
            super().__init__()
            super().add_session_config_entry(SPINNING, "0")

        def add_session_config_entry(self, key: str, value: str) -> None:
            if key != SPINNING:  # already 0: setting it again makes onnxruntime warn
                super().add_session_config_entry(key, value)

    onnxruntime.SessionOptions = NotSpinning


SPINNING = "session.intra_op.allow_spinning"


# --- the small nets -------------------------------------------------------------------------------


def session(model: Any) -> Any:
    """One InferenceSession with onnxruntime's default options (as the engine without statistics)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def onnxruntime_runners(runner: Any) -> dict[str, Callable[[np.ndarray], Any]]:
    """onnxruntime alone on the model the writer makes of ``runner``'s spec, and with every layer out
    (plus the floor: moments of everything it gives)."""
    import onnx

    from nnspec.spec.onnx_writer import write_onnx

    spec = runner.spec
    written = write_onnx(spec, runner.layer_parameters)
    alone = session(onnx.load_from_string(written))
    model = onnx.load_from_string(written)
    outputs = [value.name for value in model.graph.output]
    layers = [name for name in spec.order if not spec.layers[name].type.is_source and name not in outputs]
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in layers)
    every = session(model)
    names = [*outputs, *layers]

    def floor(x: np.ndarray) -> Any:
        values = every.run(names, {"x": x})
        for value in (x, *values):
            moments_of(value)
        return values[0]

    return {
        ALONE: lambda x: alone.run(outputs, {"x": x})[0],
        EVERY_LAYER: lambda x: every.run(names, {"x": x})[0],
        FLOOR: floor,
    }


def runners(net_name: str) -> dict[str, Callable[[np.ndarray], Any]]:
    """Every engine of the table on the net, with the same parameters: a call runs one batch."""
    net = NETS[net_name]()
    spec, params, output = nnspec.loads(spec_text(net)), make_params(net), net.layers[-1].name
    made: dict[str, Callable[[np.ndarray], Any]] = {}
    for label, engine, statistics in (
        (NUMPY_OFF, "numpy", False),
        (NUMPY_ON, "numpy", True),
        (ENGINE_OFF, "onnxruntime", False),
        (ENGINE_ON, "onnxruntime", True),
    ):
        runner = nnspec.prepare(spec, params, statistics=statistics, engine=engine)
        made[label] = lambda x, runner=runner: runner.run({"x": x}).outputs[output]
    made.update(onnxruntime_runners(runner))
    return made


def median_times(
    runs: dict[str, Callable[[np.ndarray], Any]], x: np.ndarray, budget: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Median and fastest seconds a call of each, after a warm-up call that also checks the outputs
    agree; the calls interleaved, in a new order each round."""
    first: dict[str, float] = {}
    expected = None
    for name, run in runs.items():
        start = perf_counter()
        got = run(x)
        first[name] = perf_counter() - start
        if expected is None:
            expected = got
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=name)
    rounds = max(5, min(1000, round(budget / max(sum(first.values()), 1e-7))))
    times: dict[str, list[float]] = {name: [] for name in runs}
    order, shuffle = list(runs.items()), random.Random(len(x)).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name, run in order:
            start = perf_counter()
            run(x)
            times[name].append(perf_counter() - start)
    medians = {name: float(np.median(values)) for name, values in times.items()}
    return medians, {name: float(np.min(values)) for name, values in times.items()}


def print_cell(net_name: str, batch: int, t: dict[str, float], fastest: dict[str, float]) -> None:
    """The cell's figures: each engine's median (and its ratio to onnxruntime alone's) and its fastest
    call, then issue 22's ratios of the medians (of the fastest calls in brackets: on a shared
    machine, the calls least slowed by other processes)."""
    print(f"\n{net_name}, batch {batch}{'median ms':>37}{'vs alone':>10}{'fastest ms':>12}")
    for name, seconds in t.items():
        print(f"  {name:<36}{seconds * 1e3:10.3f}{seconds / t[ALONE]:9.2f}x{fastest[name] * 1e3:12.3f}")
    ratios = (
        ("onnxruntime engine with stats / onnxruntime alone", ENGINE_ON, ALONE, "(target <= 1.5x)"),
        ("numpy engine / onnxruntime engine, both with stats", NUMPY_ON, ENGINE_ON, "(target >= 3x, CNN)"),
        ("floor (onnxruntime + moments) / onnxruntime alone", FLOOR, ALONE, ""),
        ("onnxruntime engine with stats / floor", ENGINE_ON, FLOOR, ""),
    )
    for what, above, below, target in ratios:
        print(f"  {what:<52}{t[above] / t[below]:6.2f}x ({fastest[above] / fastest[below]:5.2f}x)  {target}")


def environment() -> None:
    import onnxruntime

    print(f"python {platform.python_version()} on {platform.machine()}; cpus: {os.cpu_count()}")
    print(f"numpy {np.__version__}, onnxruntime {onnxruntime.__version__} (CPU)")
    print(f"nnspec from {Path(nnspec.__file__).parent}")
    print(f"load average at start: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print("threads: each library's default (BLAS's, onnxruntime's intra-op pool)")


def small_nets(args: argparse.Namespace) -> None:
    environment()
    for net_name in args.nets:
        runs = runners(net_name)
        for batch in args.batches:
            print_cell(net_name, batch, *median_times(runs, make_data(NETS[net_name](), batch), args.budget))


# --- the engine's thread ---------------------------------------------------------------------------


def pipelining(args: argparse.Namespace) -> None:
    """The onnxruntime engine with the default statistics, its segments run by a second thread
    (``pipelined = True``) and in the calling thread, in pairs of calls (which goes first alternates):
    the quartiles of the pairs' ratios, thread over calling thread."""
    from nnspec.runtime import onnxruntime_engine

    environment()
    onnxruntime_engine.SEGMENTED_VALUES = 0  # the segments at every batch size
    for net_name in args.nets:
        net = NETS[net_name]()
        spec, params = nnspec.loads(spec_text(net)), make_params(net)
        prepared = {}
        for threaded in (False, True):
            prepared[threaded] = nnspec.prepare(spec, params, engine="onnxruntime")
            prepared[threaded].engine.pipelined = threaded
        for batch in args.batches:
            x = make_data(net, batch)
            outputs = [prepared[threaded].run({"x": x}).outputs for threaded in (False, True)]
            for name, values in outputs[0].items():
                np.testing.assert_array_equal(outputs[1][name], values)  # the same sessions, the same values
            ratios, fastest = [], {False: np.inf, True: np.inf}
            for pair in range(args.pipelining):
                took = {}
                for threaded in (pair % 2 == 0, pair % 2 == 1):
                    start = perf_counter()
                    prepared[threaded].run({"x": x})
                    took[threaded] = perf_counter() - start
                    fastest[threaded] = min(fastest[threaded], took[threaded])
                ratios.append(took[True] / took[False])
            low, middle, high = np.percentile(ratios, [25, 50, 75])
            print(
                f"{net_name}, batch {batch}: thread / calling thread {middle:.2f}x (quartiles {low:.2f}x-{high:.2f}x, "
                f"{args.pipelining} pairs); fastest {fastest[True] * 1e3:.2f} ms against {fastest[False] * 1e3:.2f} ms"
            )


# --- ResNet-50 ------------------------------------------------------------------------------------

RESNET_BATCH = 8
RESNET_ENGINES = ("numpy", "onnxruntime", "alone")


def light_resnet50() -> Path:
    import onnx

    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_resnet50.onnx"


def child(engine: str, model: str, runs: int) -> None:
    """In a fresh process: one engine on the model, its median run time and its own peak memory."""
    import resource

    warnings.simplefilter("ignore")
    started = perf_counter()
    if engine == "write":  # the model the onnxruntime engine runs without statistics, to a file
        from nnspec.spec.onnx_writer import write_onnx

        source, target = model.split("\n")
        runner = nnspec.prepare(nnspec.load(source), statistics=False, engine="numpy")
        Path(target).write_bytes(write_onnx(runner.spec, runner.layer_parameters))
        return
    if engine == "alone":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4
        alone = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        variable = alone.get_inputs()[0].name

        def run(x: np.ndarray) -> None:
            alone.run(None, {variable: x})

    else:
        runner = nnspec.prepare(nnspec.load(model), engine=engine)
        (variable,) = runner._variables

        def run(x: np.ndarray) -> None:
            runner.run({variable: x})

    prepared = perf_counter() - started
    x = np.random.default_rng(0).standard_normal((RESNET_BATCH, 3, 224, 224), dtype=np.float32)
    run(x)
    times = []
    for _ in range(runs):
        start = perf_counter()
        run(x)
        times.append(perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"prepare": prepared, "seconds": float(np.median(times)), "peak": peak}))


def resnet50(args: argparse.Namespace) -> None:
    environment()
    model = light_resnet50()
    print(f"{model}, batch {RESNET_BATCH} x 3x224x224; each engine in a process of its own")
    labels = {"numpy": NUMPY_ON, "onnxruntime": ENGINE_ON, "alone": ALONE}
    found = {}

    def in_child(engine: str, model: str) -> str:
        command = [sys.executable, __file__, "--child", engine, model, "--runs", str(args.runs)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            sys.exit(f"{engine} failed:\n{done.stderr}")
        return done.stdout

    with tempfile.TemporaryDirectory(prefix="nnspec-engines-") as directory:
        # onnxruntime alone runs the model nnspec writes of the file (the batch relaxed: the file fixes it
        # at 1), written by a child of its own: this process must never hold much memory itself
        written = str(Path(directory) / "resnet50.onnx")
        in_child("write", f"{model}\n{written}")
        for engine in RESNET_ENGINES:
            found[engine] = json.loads(in_child(engine, written if engine == "alone" else str(model)).splitlines()[-1])
    alone = found["alone"]["seconds"]
    print(f"  {'':<36}{'prepare s':>10}{'run s':>9}{'vs alone':>10}{'peak MiB':>10}")
    for engine in RESNET_ENGINES:
        f = found[engine]
        print(
            f"  {labels[engine]:<36}{f['prepare']:10.2f}{f['seconds']:9.3f}{f['seconds'] / alone:9.2f}x"
            f"{f['peak'] / 2**20:10.0f}"
        )


def main(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore", nnspec.RangeWarning)  # range findings are not what is measured here
    if not args.spin:
        no_spinning()
    if args.child:
        child(*args.child, args.runs)
    elif args.resnet50:
        resnet50(args)
    elif args.pipelining:
        pipelining(args)
    else:
        small_nets(args)


if __name__ == "__main__":
    main(parse_args())
