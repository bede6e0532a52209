"""What collecting statistics costs in nnspec.run, on an MLP 784-512-512-10.

Three ways of computing the same network on the same data, timed in one process,
interleaved (a, b, c, a, b, c, ...) so that machine noise hits all three alike:

  (a) hand-written numpy of the network, float32;
  (b) nnspec.run(spec, {"x": x}, params=params, statistics=False);
  (c) nnspec.run(spec, {"x": x}, params=params): statistics and every check on (the default).

The headline is (c)/(b), the statistics overhead, against the target of 1.25x.

    python benchmarks/stats_overhead.py                        # batch 256, 30 rounds after 3 warm-ups
    python benchmarks/stats_overhead.py --batch 32 256 1024 --repeat 50
    python benchmarks/stats_overhead.py --profile              # where (c)'s extra time goes

The script measures the nnspec of the checkout it lives in (it puts the repository
root first on sys.path). It sets no environment variables: BLAS threads are what the
machine gives. The performance issue's conditions are one BLAS thread
(OPENBLAS_NUM_THREADS=1 python benchmarks/stats_overhead.py).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import sys
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import is_dataclass
from math import sqrt
from pathlib import Path
from time import perf_counter

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnspec  # noqa: E402
import nnspec.checks.settings  # noqa: E402
import nnspec.checks.stats  # noqa: E402
import nnspec.checks.table  # noqa: E402
import nnspec.runtime.params  # noqa: E402
import nnspec.runtime.runner  # noqa: E402

SPEC = """\
nnspec: 1
name: mlp-784-512-512-10
dtype: float32
layers:
  - {name: x, type: Input, size: [784]}
  - {name: fc1, type: Affine, out_shape: 512}
  - {name: tanh1, type: Tanh}
  - {name: fc2, type: Affine, out_shape: 512}
  - {name: relu2, type: ReLU}
  - {name: fc3, type: Affine, out_shape: 10}
  - {name: probs, type: Softmax}
"""
AFFINES = (("fc1", 784, 512), ("fc2", 512, 512), ("fc3", 512, 10))
OUTPUT = "probs"
TARGET = 1.25
PARAM_SEED, DATA_SEED = 0, 1
VARIANTS = {
    "a": "(a) hand-written numpy",
    "b": "(b) nnspec.run, statistics=False",
    "c": "(c) nnspec.run (statistics, checks)",
}


def make_params() -> dict[str, np.ndarray]:
    """nnabla-named float32 parameters, W and b drawn with Glorot's scale sqrt(2 / (in + out))."""
    rng = np.random.default_rng(PARAM_SEED)
    params = {}
    for name, n_in, n_out in AFFINES:
        scale = sqrt(2.0 / (n_in + n_out))
        params[f"{name}/affine/W"] = rng.normal(0.0, scale, (n_in, n_out)).astype(np.float32)
        params[f"{name}/affine/b"] = rng.normal(0.0, scale, (n_out,)).astype(np.float32)
    return params


def make_data(batch: int) -> np.ndarray:
    return np.random.default_rng([DATA_SEED, batch]).standard_normal((batch, 784), dtype=np.float32)


def hand_written(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """(a): the network in plain numpy, float32 throughout."""
    h = np.tanh(x @ p["fc1/affine/W"] + p["fc1/affine/b"])
    h = np.maximum(h @ p["fc2/affine/W"] + p["fc2/affine/b"], 0)
    z = h @ p["fc3/affine/W"] + p["fc3/affine/b"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def variants(spec: nnspec.Spec, x: np.ndarray, params: dict[str, np.ndarray]) -> dict[str, Callable[[], np.ndarray]]:
    return {
        "a": lambda: hand_written(x, params),
        "b": lambda: nnspec.run(spec, {"x": x}, params=params, statistics=False).outputs[OUTPUT],
        "c": lambda: nnspec.run(spec, {"x": x}, params=params).outputs[OUTPUT],
    }


def interleaved(funcs: dict[str, Callable[[], object]], repeat: int, warmup: int) -> dict[str, np.ndarray]:
    """Seconds per call of each function, called in turn, round after round; warm-up rounds dropped."""
    times: dict[str, list[float]] = {key: [] for key in funcs}
    for round_ in range(warmup + repeat):
        for key, func in funcs.items():
            start = perf_counter()
            func()
            elapsed = perf_counter() - start
            if round_ >= warmup:
                times[key].append(elapsed)
    return {key: np.array(values) for key, values in times.items()}


def quartiles(values: np.ndarray) -> tuple[float, float, float]:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return float(q1), float(median), float(q3)


def environment() -> None:
    load = f"; load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}; cpus: {_cpus()}{load}")
    print(f"numpy {np.__version__}; nnspec {nnspec.__version__} from {Path(nnspec.__file__).parent}")
    limits = [
        f"{v}={os.environ[v]}"
        for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        if v in os.environ
    ]
    print(f"BLAS threads: {', '.join(limits) or 'not limited (every core)'}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return
    for pool in threadpool_info():
        print(
            f"{pool['user_api']}: {pool['internal_api']} {pool.get('version')}, {pool['num_threads']} threads, "
            f"{pool.get('architecture', '?')} ({Path(pool['filepath']).name})"
        )


def _cpus() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return f"{os.cpu_count()}" + (f" ({usable} usable)" if usable is not None and usable != os.cpu_count() else "")


def checks_summary(spec: nnspec.Spec, result: nnspec.RunResult) -> str:
    enabled = nnspec.checks.settings.resolve(spec)
    total = sum(len(ids) for ids in enabled.values())
    measured = sum(
        1
        for name, ids in enabled.items()
        for check in nnspec.checks.table.checks_for(spec.layers[name].type)
        if check.id in ids and check.measure is not None
    )
    found = ", ".join(f"{f.check} at {f.layer} ({f.severity})" for f in result.findings) or "none"
    return (
        f"(c) gathers statistics of {len(result.stats)} layers and runs {total} checks ({measured} measure each "
        f"batch); findings: {found}"
    )


def benchmark(spec: nnspec.Spec, params: dict[str, np.ndarray], batch: int, repeat: int, warmup: int) -> None:
    x = make_data(batch)
    funcs = variants(spec, x, params)
    outputs = {key: func() for key, func in funcs.items()}
    for key in "bc":
        np.testing.assert_allclose(outputs[key], outputs["a"], rtol=1e-5, err_msg=f"{VARIANTS[key]} differs from (a)")
    times = interleaved(funcs, repeat, warmup)
    print(f"\nbatch {batch}: {repeat} rounds after {warmup} warm-ups, interleaved a, b, c; outputs agree (rtol 1e-5)")
    print(f"{'':38}{'median ms':>10}{'IQR ms':>9}{'vs (a)':>8}")
    base = float(np.median(times["a"]))
    for key, label in VARIANTS.items():
        q1, median, q3 = quartiles(times[key])
        print(f"{label:38}{median * 1e3:10.3f}{(q3 - q1) * 1e3:9.3f}{median / base:7.2f}x")
    ratio = float(np.median(times["c"]) / np.median(times["b"]))
    r1, r_median, r3 = quartiles(times["c"] / times["b"])
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(
        f"statistics overhead (c)/(b): {ratio:.2f}x   target <= {TARGET:.2f}x: {verdict}   "
        f"(per-round c/b: median {r_median:.2f}x, IQR {r1:.2f}..{r3:.2f})"
    )
    if r3 - r1 > 0.1 * r_median:
        print("noisy: the per-round ratios spread by more than 10%; rerun, or see benchmarks/README.md")


# --- --profile: where (c)'s extra time goes ------------------------------------------------------


# TensorStats.of's helpers, each timed by --profile
STATS_HELPERS = (
    "_mean",
    "_std",
    "_tiny_counts",
    "_sample",
    "_histogram_from_bits",
    "_histogram",
    "_few_distinct",
)


@contextmanager
def instrumented(
    spec: nnspec.Spec, record: dict[tuple[str, str, str], list[float]], phase: list[str]
) -> Iterator[None]:
    """Record seconds per call, keyed by (phase[0], layer, what): each layer's forward function;
    TensorStats.of (and its helpers in STATS_HELPERS), each check's measure and observe
    as a whole; and per run ("(run)") resolve_parameters, settings.resolve and run_checks.
    Monkeypatches nnspec in this process only, and restores everything on exit."""
    stats_cls = nnspec.checks.stats.TensorStats
    layer = ["-"]
    restore: list[Callable[[], None]] = []

    def timed(what: str, func: Callable, per_layer: bool = True) -> Callable:
        def wrapper(*args, **kwargs):
            start = perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                record[(phase[0], layer[0] if per_layer else "(run)", what)].append(perf_counter() - start)

        return wrapper

    def patch(owner: object, name: str, value: object) -> None:
        original = vars(owner)[name] if isinstance(owner, type) else getattr(owner, name)
        # Check and LayerType are frozen dataclasses, and cached: patched in place, undone on exit
        assign = object.__setattr__ if is_dataclass(owner) and not isinstance(owner, type) else setattr
        assign(owner, name, value)
        restore.append(lambda: assign(owner, name, original))

    def named(func: Callable, what: str) -> Callable:
        def wrapper(spec_layer, *args):
            layer[0] = spec_layer.name
            return timed(what, func)(spec_layer, *args)

        return wrapper

    names = {id(spec_layer.props): name for name, spec_layer in spec.layers.items()}

    def forward(func: Callable) -> Callable:
        def wrapper(inputs, props, params):
            layer[0] = names.get(id(props), "?")  # the runner passes each layer its own props dict
            return timed("forward", func)(inputs, props, params)

        return wrapper

    for layer_type in {spec_layer.type.name: spec_layer.type for spec_layer in spec.layers.values()}.values():
        patch(layer_type, "forward", forward(layer_type.forward))
    of = vars(stats_cls)["of"].__func__
    # a layer's measures, once its output's statistics are taken (at once for a large output; small
    # outputs are put aside and taken together, see nnspec.checks.table.BatchObserver)
    patch(nnspec.checks.table, "_measured", named(nnspec.checks.table._measured, "observe (measures)"))
    patch(
        nnspec.checks.stats, "_of_group", timed("stats_of_many (small, together)", nnspec.checks.stats._of_group, False)
    )
    patch(stats_cls, "of", classmethod(timed("TensorStats.of", of)))
    for helper in STATS_HELPERS:
        patch(nnspec.checks.stats, helper, timed(f"  {helper}", getattr(nnspec.checks.stats, helper)))
    for module, name, what in (
        (nnspec.runtime.runner, "resolve_parameters", "resolve_parameters"),
        (nnspec.checks.settings, "resolve", "settings.resolve"),
        (nnspec.runtime.runner, "run_checks", "run_checks (judges)"),
    ):
        patch(module, name, timed(what, getattr(module, name), per_layer=False))
    for check in nnspec.checks.table.all_checks().values():  # cached, so the runner sees these very objects
        if check.measure is not None:
            patch(check, "measure", timed(f"measure {check.id}", check.measure))
    try:
        yield
    finally:
        for undo in reversed(restore):
            undo()


def micro(func: Callable[[], object], n: int = 200) -> float:
    """Median microseconds per call of a small function."""
    for _ in range(5):
        func()
    times = []
    for _ in range(n):
        start = perf_counter()
        func()
        times.append(perf_counter() - start)
    return float(np.median(times)) * 1e6


def passes_of_tensor_stats(values: np.ndarray) -> list[tuple[str, float]]:
    """The passes over the data TensorStats.of makes for finite float values, each timed alone.

    They mirror nnspec/checks/stats.py as written at the time of this script; the last row is the
    real TensorStats.of, so a sum of parts far from it means the two have drifted apart.
    """
    stats = nnspec.checks.stats
    flat = values.reshape(-1)
    rows_of_samples = values.reshape(len(values), -1)
    low, high = float(flat.min()), float(flat.max())
    mean = float(np.add.reduce(flat, dtype=np.float64)) / flat.size
    magnitude = max(abs(low), abs(high))
    sampled = getattr(stats, "SAMPLED_PER_SAMPLE", "?")
    sample = stats._sample(rows_of_samples, 0)
    histogram = stats._histogram_from_bits(sample)
    rows = [
        ("of: min, max", micro(lambda: (np.minimum.reduce(flat), np.maximum.reduce(flat)))),
        ("_mean: a sum a sample (einsum)", micro(lambda: stats._mean(rows_of_samples, flat.size))),
        ("_std: dot(values, values) a block at a time", micro(lambda: stats._std(flat, mean, magnitude, low, high))),
        ("_tiny_counts: zeros and subnormals", micro(lambda: stats._tiny_counts(flat, low, high))),
        (f"_sample: gather {sampled} values a sample", micro(lambda: stats._sample(rows_of_samples, 0))),
        ("_histogram_from_bits (of the sample)", micro(lambda: stats._histogram_from_bits(sample))),
        ("_few_distinct", micro(lambda: stats._few_distinct(flat, sample, histogram, (low, high)))),
    ]
    return [
        *rows,
        ("sum of the above", sum(us for _, us in rows)),
        ("TensorStats.of itself", micro(lambda: nnspec.checks.stats.TensorStats.of(values))),
        ("for scale: one pass over the data, flat.max()", micro(flat.max)),
    ]


def profile(spec: nnspec.Spec, params: dict[str, np.ndarray], batch: int, repeat: int, warmup: int) -> None:
    x = make_data(batch)
    funcs = variants(spec, x, params)
    record: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    phase = ["-"]
    totals: dict[str, list[float]] = {"b": [], "c": []}
    with instrumented(spec, record, phase):
        for round_ in range(warmup + repeat):
            if round_ == warmup:
                record.clear()
            for key in "bc":
                phase[0] = key
                start = perf_counter()
                funcs[key]()
                totals[key].append(perf_counter() - start)
    b_us, c_us = (float(np.median(totals[key][warmup:])) * 1e6 for key in "bc")
    us = {key: float(np.median(values)) * 1e6 for key, values in record.items()}

    print(f"\nprofile, batch {batch}: median us per call over {repeat} interleaved runs of (b) and (c), instrumented")
    print(f"(b) {b_us:.0f} us, (c) {c_us:.0f} us with the wrappers, which add about 1 us a call")
    print(f"{'layer':8}{'shape':13}{'what':36}{'(b) us':>9}{'(c) us':>9}")
    shapes = {name: str((batch, *layer.shape)) for name, layer in spec.layers.items()}
    rows = sorted({(name, what) for _, name, what in us}, key=lambda row: _order(spec, row))
    for name, what in rows:
        cells = "".join(f"{us[(key, name, what)]:9.1f}" if (key, name, what) in us else f"{'':9}" for key in "bc")
        print(f"{name:8}{shapes.get(name, ''):13}{what:36}{cells}")

    def total(key: str, what: str) -> float:
        return sum(value for (k, _, w), value in us.items() if k == key and w.startswith(what))

    observed = total("c", "observe") + total("c", "stats_of_many") + total("c", "TensorStats.of")
    forward = total("c", "forward") - total("b", "forward")
    per_run = total("c", "settings.resolve") + total("c", "run_checks")
    parameters = total("c", "resolve_parameters") - total("b", "resolve_parameters")
    rest = c_us - b_us - observed - forward - per_run - parameters
    print(
        f"(c) - (b) = {c_us - b_us:.0f} us, of which statistics and measures {observed:.0f} us: TensorStats.of "
        f"{total('c', 'TensorStats.of'):.0f} ("
        + ", ".join(f"{helper} {total('c', '  ' + helper):.0f}" for helper in STATS_HELPERS)
        + f"), small outputs together {total('c', 'stats_of_many'):.0f}, measures {total('c', 'measure'):.0f};\n"
        f"  settings.resolve + run_checks {per_run:.0f} us; the same forward functions {forward:+.0f} us, "
        f"resolve_parameters {parameters:+.0f} us; the rest {rest:.0f} us. "
        f"The {TARGET}x target allows {(TARGET - 1) * b_us:.0f} us."
    )

    hidden = _hidden_outputs(spec, x, params)
    for name in ("tanh1", "relu2"):
        values = hidden[name]
        print(
            f"\nthe passes of TensorStats.of over {name}'s output {values.shape} {values.dtype}, each timed alone "
            "(warm caches: less than inside a run)"
        )
        for what, micros in passes_of_tensor_stats(values):
            print(f"  {what:52}{micros:9.1f} us")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        funcs["c"]()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print(f"\ncProfile of {repeat} runs of (c), top 15 by own time (cProfile inflates small calls)")
    print("\n".join(lines[start:]))


_RANKS = ("forward", "TensorStats.of", *(f"  {helper}" for helper in STATS_HELPERS), "measure", "observe", "")


def _order(spec: nnspec.Spec, row: tuple[str, str]) -> tuple[int, int, str]:
    """Layers in spec order, per-run rows last; in a layer: forward, of, its helpers, measures, observe."""
    name, what = row
    index = spec.layers[name].index if name in spec.layers else len(spec.layers)
    return index, next(i for i, prefix in enumerate(_RANKS) if what.startswith(prefix)), what


def _hidden_outputs(spec: nnspec.Spec, x: np.ndarray, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every layer's output, computed by nnspec's own forward functions (the tensors (c) measures)."""
    parameters, _ = nnspec.runtime.params.resolve_parameters(spec, params)
    values: dict[str, np.ndarray] = {}
    for name in spec.order:
        layer = spec.layers[name]
        args = [x] if layer.type.is_source else [values[source] for source in layer.inputs]
        values[name] = layer.type.forward(args, layer.props, parameters[name])
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--batch", type=int, nargs="+", default=[256], help="batch sizes (default 256), e.g. 32 256 1024"
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--profile", action="store_true", help="also show where (c)'s extra time goes")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0 or min(args.batch) < 1:
        parser.error("--repeat and --batch take positive numbers, --warmup a number >= 0")

    environment()
    spec = nnspec.loads(SPEC)
    params = make_params()
    # Findings are issued as RangeWarning on every run; printing them would time the terminal.
    warnings.simplefilter("ignore", nnspec.runtime.runner.RangeWarning)
    print(checks_summary(spec, nnspec.run(spec, {"x": make_data(args.batch[0])}, params=params)))
    for batch in args.batch:
        benchmark(spec, params, batch, args.repeat, args.warmup)
    if args.profile:
        for batch in args.batch:
            profile(spec, params, batch, args.repeat, args.warmup)


if __name__ == "__main__":
    main()
