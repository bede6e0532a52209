"""Peak memory of one run against the tensors that must be alive at once.

For a network from benchmarks/peers.py (default: the MLP 784-512-512-10 at batch 4096, float32),
the script works out the largest live set from the spec alone: the layers in execution order,
each tensor alive from the layer that makes it to the last layer that reads it (output layers'
tensors to the end), and at each layer the bytes of the tensors alive while it runs; the largest
of these sums is the least any runner that does not write in place must hold. The input batch is
the caller's array and counts for no one.

It then measures, with tracemalloc (numpy reports its array buffers to it), the peak of the bytes
allocated during one call, above what was allocated before it (parameters and input), for:
nnspec prepared with statistics off, nnspec with its default statistics, and hand-written numpy
(``x @ W + b`` and so on, as in peers.py). Each figure is printed with its ratio to the live set.

    python benchmarks/peak_memory.py                       # mlp, batch 4096
    python benchmarks/peak_memory.py --net cnn --batch 512
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peers import NETS, make_data, make_params, numpy_runner, spec_text  # noqa: E402

import nnspec  # noqa: E402
from nnspec.files.memory import format_bytes  # noqa: E402


def largest_live_set(spec: nnspec.Spec, batch: int) -> tuple[int, str]:
    """The most bytes alive at once, and the layer running then, for a run that writes nothing in place."""
    order = spec.order
    position = {name: i for i, name in enumerate(order)}
    item = np.dtype(spec.dtype).itemsize
    size = {name: batch * int(np.prod(spec.layers[name].shape)) * item for name in order}
    end = len(order)
    last = {
        name: end if name in spec.outputs else max((position[r] for r in spec.graph.successors(name)), default=end)
        for name in order
    }
    best, where = 0, ""
    for i, running in enumerate(order):
        alive = sum(size[t] for t in order if position[t] <= i <= last[t] and not spec.layers[t].type.is_source)
        if alive > best:
            best, where = alive, running
    return best, where


def peak_during(call: Callable[[], object]) -> int:
    """Bytes allocated at the peak of ``call``, above what was allocated when it started."""
    tracemalloc.start()
    try:
        call()  # a first call: caches and lazy imports are not what is measured
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=sorted(NETS), default="mlp")
    parser.add_argument("--batch", type=int, default=4096)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", nnspec.RangeWarning)  # range findings are not what is measured here

    net = NETS[args.net]()
    params = make_params(net)
    spec = nnspec.loads(spec_text(net))
    x = make_data(net, args.batch)
    live, layer = largest_live_set(spec, args.batch)
    output = net.layers[-1].name
    quiet = nnspec.prepare(spec, params, statistics=False)
    measured = nnspec.prepare(spec, params)
    hand = numpy_runner(net, params)
    rows = {
        "nnspec stats off": peak_during(lambda: quiet.run({"x": x}).outputs[output]),
        "nnspec default": peak_during(lambda: measured.run({"x": x}).outputs[output]),
        "hand-written numpy": peak_during(lambda: hand(x)),
    }
    print(f"{net.name} at batch {args.batch}, {spec.dtype}: input {format_bytes(x.nbytes)} (the caller's)")
    print(f"largest live set: {format_bytes(live)} (while '{layer}' runs)")
    print(f"{'engine':<20}{'peak':>12}{'vs live set':>13}")
    for name, peak in rows.items():
        print(f"{name:<20}{format_bytes(peak):>12}{peak / live:12.2f}x")


if __name__ == "__main__":
    main()
