"""nnspec beside its peers: the same networks in hand-written numpy, nnspec, onnxruntime and onnx's
ReferenceEvaluator, with identical float32 weights, timed in one process.

Networks (each described once, as a list of layers, from which the script builds the nnspec
YAML, the numpy function and the ONNX graph, so the engines cannot drift apart):

  mlp   784-512-512-10: Affine -> Tanh -> Affine -> ReLU -> Affine -> Sigmoid
  cnn   input 1x28x28: 2 x [Convolution 3x3 (8, then 16 maps, border_mode same) -> ReLU ->
        MaxPooling 2x2] -> Affine 10
  deep  input 32: 25 x [Affine 32 -> Tanh], 50 layers of small work, where per-layer overhead shows

Engines: hand-written numpy (the baseline every ratio is taken against; the CNN by im2col with
sliding_window_view + tensordot); the same numpy also taking the min, max, mean and std of every
tensor, four reductions each ("numpy + moments": a floor for per-layer statistics, which must read
every value, and nnspec's hold more); nnspec prepared once (nnspec.prepare) and run per call, with
statistics=False ("stats off") and with its default statistics and checks ("default"); nnspec.run
per call, which also does the per-spec work (parameters checked, order planned) every time
("nnspec.run stats off"); nnspec prepared with its onnxruntime engine (``engine="onnxruntime"``,
onnxruntime's own thread settings), statistics off ("nnspec ort stats off") and default ("nnspec ort
default"); onnxruntime (one intra-op thread) and onnx.reference.ReferenceEvaluator.
Before timing, every engine's output is checked against numpy's (rtol 1e-4, atol 1e-5); the
script stops at the first disagreement.

Each cell is the median over enough calls for about --budget seconds (at least 3), after one
warm-up call; engines are called in turn, round after round, so machine noise hits all alike,
in a new (seeded) order each round, so that no engine always runs after the same one.
ReferenceEvaluator is skipped ("skipped (too slow)") from the first batch where its warm-up call
takes more than --slow seconds (default 2) on.

    python benchmarks/peers.py                       # every net, batches 1 32 256 4096, 1 BLAS thread
    python benchmarks/peers.py --quick               # batches 1 and 256, 0.05 s a cell
    python benchmarks/peers.py --nets cnn --batches 32 256 --threads 0

--threads N (default 1, the conditions of the performance issue) sets OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS, VECLIB_MAXIMUM_THREADS and NUMEXPR_NUM_THREADS to N before numpy
is imported, and gives onnxruntime N intra-op threads; --threads 0 leaves the environment alone
(numpy's BLAS then uses what the machine gives) and lets onnxruntime choose. Variables already set
in the environment are overridden only when --threads is not 0.

onnx and onnxruntime are optional (pip install '.[bench]'); without them their columns are
left out and the rest runs.
"""

from __future__ import annotations

import argparse
import os
import sys

THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", choices=("mlp", "cnn", "deep"), default=["mlp", "cnn", "deep"])
    parser.add_argument("--batches", nargs="+", type=int, default=None, help="default 1 32 256 4096")
    parser.add_argument("--quick", action="store_true", help="batches 1 and 256 (unless given), 0.05 s a cell")
    parser.add_argument("--budget", type=float, default=None, help="seconds of timed calls per cell (default 0.3)")
    parser.add_argument("--slow", type=float, default=2.0, help="skip ReferenceEvaluator beyond this many s a call")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / onnxruntime threads; 0: leave as is")
    args = parser.parse_args(argv)
    args.batches = args.batches or ([1, 256] if args.quick else [1, 32, 256, 4096])
    args.budget = args.budget or (0.05 if args.quick else 0.3)
    return args


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads > 0:
    # BLAS libraries read these once, when loaded: they must be set before numpy is imported.
    for _variable in THREAD_VARIABLES:
        os.environ[_variable] = str(ARGS.threads)

import platform  # noqa: E402
import random  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from math import sqrt  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure the nnspec of this checkout

import nnspec  # noqa: E402

try:
    import onnx
    import onnx.reference
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # the bench extra is optional
    onnx = onnxruntime = None

PARAM_SEED, DATA_SEED = 0, 1
OPSET = 17
RTOL, ATOL = 1e-4, 1e-5
BASELINE = "numpy"
SLOW_ENGINE = "onnx reference"
MOMENTS = "numpy + moments"


# --- the networks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One layer: kind is affine, conv (3x3, pad 1), tanh, relu, sigmoid or maxpool (2x2)."""

    kind: str
    name: str
    n_in: int = 0  # affine: input features; conv: input maps
    n_out: int = 0  # affine: output features; conv: output maps


@dataclass(frozen=True)
class Net:
    name: str
    input_shape: tuple[int, ...]  # one sample, NNC's C, H, W layout for images
    layers: tuple[Layer, ...]


def _mlp() -> Net:
    return Net(
        "mlp",
        (784,),
        (
            Layer("affine", "fc1", 784, 512),
            Layer("tanh", "tanh1"),
            Layer("affine", "fc2", 512, 512),
            Layer("relu", "relu2"),
            Layer("affine", "fc3", 512, 10),
            Layer("sigmoid", "out"),
        ),
    )


def _cnn() -> Net:
    return Net(
        "cnn",
        (1, 28, 28),
        (
            Layer("conv", "conv1", 1, 8),
            Layer("relu", "relu1"),
            Layer("maxpool", "pool1"),  # (8, 14, 14)
            Layer("conv", "conv2", 8, 16),
            Layer("relu", "relu2"),
            Layer("maxpool", "pool2"),  # (16, 7, 7)
            Layer("affine", "fc", 16 * 7 * 7, 10),
        ),
    )


def _deep(pairs: int = 25, width: int = 32) -> Net:
    layers: list[Layer] = []
    for i in range(1, pairs + 1):
        layers += [Layer("affine", f"fc{i}", width, width), Layer("tanh", f"tanh{i}")]
    return Net("deep", (width,), tuple(layers))


NETS: dict[str, Callable[[], Net]] = {"mlp": _mlp, "cnn": _cnn, "deep": _deep}


def make_params(net: Net) -> dict[str, np.ndarray]:
    """float32 weights under nnabla's names (what nnspec.run's params= takes), Glorot-scaled so that
    no activation saturates: Affine W is (in, out), Convolution W is (out_maps, in_maps, kh, kw)."""
    rng = np.random.default_rng(PARAM_SEED)
    params = {}
    for layer in net.layers:
        if layer.kind == "affine":
            key, shape, fan = f"{layer.name}/affine", (layer.n_in, layer.n_out), layer.n_in + layer.n_out
        elif layer.kind == "conv":
            key, shape, fan = f"{layer.name}/conv", (layer.n_out, layer.n_in, 3, 3), 9 * (layer.n_in + layer.n_out)
        else:
            continue
        scale = sqrt(2.0 / fan)
        params[f"{key}/W"] = rng.normal(0.0, scale, shape).astype(np.float32)
        params[f"{key}/b"] = rng.normal(0.0, scale, (layer.n_out,)).astype(np.float32)
    return params


def make_data(net: Net, batch: int) -> np.ndarray:
    return np.random.default_rng([DATA_SEED, batch]).standard_normal((batch, *net.input_shape), dtype=np.float32)


# --- nnspec ------------------------------------------------------------------------------------

_YAML_LAYER = {
    "affine": "{{name: {name}, type: Affine, out_shape: {n_out}}}",
    "conv": "{{name: {name}, type: Convolution, out_maps: {n_out}, kernel_shape: [3, 3], border_mode: same}}",
    "tanh": "{{name: {name}, type: Tanh}}",
    "relu": "{{name: {name}, type: ReLU}}",
    "sigmoid": "{{name: {name}, type: Sigmoid}}",
    "maxpool": "{{name: {name}, type: MaxPooling, kernel_shape: [2, 2]}}",
}


def spec_text(net: Net) -> str:
    lines = [
        "nnspec: 1",
        f"name: peers-{net.name}",
        "dtype: float32",
        "layers:",
        f"  - {{name: x, type: Input, size: [{', '.join(map(str, net.input_shape))}]}}",
    ]
    lines += ["  - " + _YAML_LAYER[layer.kind].format(name=layer.name, n_out=layer.n_out) for layer in net.layers]
    return "\n".join(lines) + "\n"


def nnspec_runner(
    net: Net, params: dict[str, np.ndarray], statistics: bool, prepared: bool = True, engine: str = "numpy"
) -> Callable[[np.ndarray], np.ndarray]:
    """nnspec on the net: prepared once (parameters checked, order and liveness planned), then run
    per call, as a program running a spec many times would; or ``prepared=False``: nnspec.run per
    call, which does that per-spec work every time. ``engine`` is nnspec's engine (``--engine``)."""
    spec = nnspec.loads(spec_text(net))
    output = net.layers[-1].name
    if prepared:
        runner = nnspec.prepare(spec, params, statistics=statistics, engine=engine)
        return lambda x: runner.run({"x": x}).outputs[output]
    return lambda x: nnspec.run(spec, {"x": x}, params=params, statistics=statistics).outputs[output]


# --- hand-written numpy ------------------------------------------------------------------------


def conv3x3(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3x3 convolution, padding 1, by im2col: a (N, C, H, W, 3, 3) window view contracted with W."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(padded, (3, 3), axis=(2, 3))
    y = np.tensordot(windows, W, axes=([1, 4, 5], [1, 2, 3]))  # (N, H, W, out_maps)
    return (y + b).transpose(0, 3, 1, 2)


def maxpool2x2(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def numpy_runner(net: Net, params: dict[str, np.ndarray], moments: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """The net in numpy; with ``moments``, also the min, max, mean and std of the input and of each
    layer's output (see ``moments_of``)."""

    def run(x: np.ndarray) -> np.ndarray:
        if moments:
            moments_of(x)
        for layer in net.layers:
            if layer.kind == "affine":
                x = x.reshape(len(x), -1) @ params[f"{layer.name}/affine/W"] + params[f"{layer.name}/affine/b"]
            elif layer.kind == "conv":
                x = conv3x3(x, params[f"{layer.name}/conv/W"], params[f"{layer.name}/conv/b"])
            elif layer.kind == "tanh":
                x = np.tanh(x)
            elif layer.kind == "relu":
                x = np.maximum(x, 0)
            elif layer.kind == "sigmoid":
                x = 1 / (1 + np.exp(-x))
            elif layer.kind == "maxpool":
                x = maxpool2x2(x)
            if moments:
                moments_of(x)
        return x

    return run


def moments_of(x: np.ndarray) -> tuple[float, float, float, float]:
    """min, max, mean and std of a tensor: four numpy reductions over its values where they lie in
    memory, nothing copied. This is a floor for per-layer statistics: nnspec's hold these four and
    more (zeros, subnormals, NaN and Inf, a histogram, whether samples vary), and each of these four
    must read every value."""
    flat = x.ravel(order="K")  # a view, in memory order (a convolution's output is transposed)
    total, squares = float(np.add.reduce(flat)), float(np.dot(flat, flat))
    mean = total / flat.size
    return (
        float(np.minimum.reduce(flat)),
        float(np.maximum.reduce(flat)),
        mean,
        sqrt(max(squares / flat.size - mean * mean, 0)),
    )


# --- ONNX --------------------------------------------------------------------------------------


def onnx_model(net: Net, params: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The network as an ONNX graph (opset 17, batch axis symbolic), weights as initializers."""
    nodes, initializers = [], [numpy_helper.from_array(value, key) for key, value in params.items()]
    current, ndim = "x", 1 + len(net.input_shape)
    width = [layer.n_out for layer in net.layers if layer.n_out][-1]  # every net here ends in (N, width)
    for layer in net.layers:
        out = layer.name
        if layer.kind == "affine":
            if ndim > 2:  # NNC's Affine flattens a sample in C order, as Flatten(axis=1) does
                nodes.append(helper.make_node("Flatten", [current], [f"{out}_flat"], axis=1))
                current, ndim = f"{out}_flat", 2
            names = [current, f"{layer.name}/affine/W", f"{layer.name}/affine/b"]
            nodes.append(helper.make_node("Gemm", names, [out]))
        elif layer.kind == "conv":
            names = [current, f"{layer.name}/conv/W", f"{layer.name}/conv/b"]
            nodes.append(helper.make_node("Conv", names, [out], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        elif layer.kind == "maxpool":
            nodes.append(helper.make_node("MaxPool", [current], [out], kernel_shape=[2, 2], strides=[2, 2]))
        else:
            op = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}[layer.kind]
            nodes.append(helper.make_node(op, [current], [out]))
        current = out
    graph = helper.make_graph(
        nodes,
        f"peers-{net.name}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *net.input_shape])],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, ["N", width])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime >= 1.17 reads, whatever the installed onnx writes by default
    onnx.checker.check_model(model)
    return model


def onnx_runners(net: Net, params: dict[str, np.ndarray], threads: int) -> dict[str, Callable]:
    model = onnx_model(net, params)
    options = onnxruntime.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    reference = onnx.reference.ReferenceEvaluator(model)
    return {
        "onnxruntime": lambda x: session.run(None, {"x": x})[0],
        SLOW_ENGINE: lambda x: reference.run(None, {"x": x})[0],
    }


# --- timing ------------------------------------------------------------------------------------


def engines(net: Net, params: dict[str, np.ndarray], threads: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    runners = {
        BASELINE: numpy_runner(net, params),
        MOMENTS: numpy_runner(net, params, moments=True),
        "nnspec stats off": nnspec_runner(net, params, statistics=False),
        "nnspec default": nnspec_runner(net, params, statistics=True),
        "nnspec.run stats off": nnspec_runner(net, params, statistics=False, prepared=False),
    }
    if onnxruntime is not None:
        runners["nnspec ort stats off"] = nnspec_runner(net, params, statistics=False, engine="onnxruntime")
        runners["nnspec ort default"] = nnspec_runner(net, params, statistics=True, engine="onnxruntime")
        runners.update(onnx_runners(net, params, threads))
    return runners


def warm_up(run: Callable, x: np.ndarray) -> tuple[np.ndarray, float]:
    start = perf_counter()
    y = run(x)
    return y, perf_counter() - start


def check_moments(x: np.ndarray) -> None:
    """moments_of gives numpy's own min, max, mean and std, on an array and on a transposed view."""
    for values in (x, np.moveaxis(x, 0, -1)):
        expected = (values.min(), values.max(), values.mean(dtype=np.float64), values.std(dtype=np.float64))
        np.testing.assert_allclose(moments_of(values), expected, rtol=1e-4, atol=1e-5)


def check_agreement(net: Net, batch: int, name: str, got: np.ndarray, expected: np.ndarray) -> None:
    try:
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    except AssertionError as error:
        sys.exit(f"{net.name}, batch {batch}: {name}'s output differs from hand-written numpy's:\n{error}")


def time_cell(
    net: Net, batch: int, runners: dict[str, Callable], budget: float, slow: float, too_slow: set[str]
) -> dict[str, float | None]:
    """Median seconds per call of each engine on one batch (None: skipped as too slow).

    An engine whose warm-up call took more than ``slow`` seconds joins ``too_slow`` and is not
    called again for this or any larger batch (batches run in increasing order)."""
    x = make_data(net, batch)
    check_moments(x)
    active, repeats, expected = {}, {}, None
    for name, run in runners.items():
        if name in too_slow:
            continue
        y, first = warm_up(run, x)
        if expected is None:
            expected = y  # the baseline comes first
        check_agreement(net, batch, name, y, expected)
        if name == SLOW_ENGINE and first > slow:
            too_slow.add(name)
            continue
        active[name], repeats[name] = run, max(3, min(1000, round(budget / max(first, 1e-7))))
    times: dict[str, list[float]] = {name: [] for name in active}
    engines, shuffle = list(active.items()), random.Random(batch).shuffle
    for round_ in range(max(repeats.values())):
        # Interleaved, so that drift and noise hit every engine alike; in a new order each round, so
        # that no engine always runs after the same one, whose work evicts more or less of the
        # caches: in a fixed order, nnspec's default ran 3-10% slower right after onnx's engines
        # than right after another nnspec runner.
        shuffle(engines)
        for name, run in engines:
            if round_ < repeats[name]:
                start = perf_counter()
                run(x)
                times[name].append(perf_counter() - start)
    return {name: (float(np.median(times[name])) if name in times else None) for name in runners}


# --- report ------------------------------------------------------------------------------------


def environment(threads: int) -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}; cpus: {os.cpu_count()}")
    print(f"numpy {np.__version__}; nnspec {nnspec.__version__} from {Path(nnspec.__file__).parent}")
    if onnxruntime is None:
        print("onnx / onnxruntime not installed: their columns need `pip install '.[bench]'`")
    else:
        print(f"onnx {onnx.__version__} (ReferenceEvaluator), onnxruntime {onnxruntime.__version__} (CPU)")
    limits = [f"{v}={os.environ[v]}" for v in THREAD_VARIABLES if v in os.environ]
    print(f"threads: {', '.join(limits) or 'not limited'}; onnxruntime intra-op threads: {threads or 'default'}")


def print_table(net: Net, params: dict[str, np.ndarray], rows: list[tuple[int, str, float | None, float]]) -> None:
    count = sum(value.size for value in params.values())
    print(f"\n{net.name}: input {net.input_shape}, {len(net.layers)} layers, {count:,} parameters")
    print(f"{'batch':>6}  {'engine':<21}{'median ms':>12}{'vs numpy':>10}")
    for batch, name, seconds, base in rows:
        if seconds is None:
            print(f"{batch:>6}  {name:<21}{'skipped (too slow)':>22}")
        else:
            print(f"{batch:>6}  {name:<21}{seconds * 1e3:12.3f}{seconds / base:9.2f}x")


def main(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore", nnspec.RangeWarning)  # range findings are not what is measured here
    environment(args.threads)
    print(
        f"each cell: median over ~{args.budget} s of calls (>= 3), interleaved in a new order each round; "
        f"outputs checked rtol {RTOL}"
    )
    for net_name in args.nets:
        net = NETS[net_name]()
        params = make_params(net)
        runners = engines(net, params, args.threads)
        too_slow: set[str] = set()
        rows = []
        for batch in sorted(args.batches):
            medians = time_cell(net, batch, runners, args.budget, args.slow, too_slow)
            rows += [(batch, name, seconds, medians[BASELINE]) for name, seconds in medians.items()]
        print_table(net, params, rows)
        print(f"outputs of every engine timed agree with numpy's (rtol {RTOL}, atol {ATOL})")


if __name__ == "__main__":
    main(ARGS)
