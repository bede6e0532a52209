"""How close a run's reported percentiles and plotted shares are to the exact ones, layer by layer.

    python scripts/percentile_accuracy.py specs/lenet.yaml [--samples N] [--batch-size N]

Runs the spec once with every layer kept as an output, then compares what nnspec reports for each
layer's output (its p1, p5, p50, p95 and p99, and the shares a histogram plot draws at 0 and at
the layer's output bounds) with numpy on that layer's whole output tensor: numpy.percentile
(linear interpolation) and exact counts. The last line gives the largest |reported - exact| in units
of the layer's standard deviation. Run it from the repository root.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nnspec  # noqa: E402
from nnspec.checks.stats import PERCENTILES  # noqa: E402
from nnspec.report.pictures.histogram import even_histogram  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--samples", type=int)
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    spec = nnspec.load(args.spec)
    spec = replace(spec, outputs=list(spec.layers))  # every layer's values, to compare with
    result = nnspec.run(spec, samples=args.samples, batch_size=args.batch_size)
    header = " ".join(f"{f'p{q} rep/exact':>19}" for q in PERCENTILES)
    print(f"{'layer':10} {header}  {'share at bounds rep/exact':>28}")
    worst = 0.0
    for name, layer in spec.layers.items():
        values = np.asarray(result.outputs[name], dtype=np.float64)
        values = values[np.isfinite(values)]
        stats = result.stats[name].output
        if not values.size:
            continue
        exact = np.percentile(values, PERCENTILES)
        reported = [stats.percentile(q) for q in PERCENTILES]
        std = values.std()
        if std:
            worst = max(worst, max(abs(r - e) for r, e in zip(reported, exact)) / std)
        cells = " ".join(f"{f'{r:.3g}/{e:.3g}':>19}" for r, e in zip(reported, exact))
        print(f"{name:10} {cells}  {_bound_shares(layer, stats, values):>28}")
    print(f"largest |reported - exact| / std: {worst:.3f}")


def _bound_shares(layer, stats, values: np.ndarray) -> str:
    """The shares a plot draws in the bars holding 0 and the layer's output bounds, against the
    exact shares of values in those bars' intervals."""
    low, high = float(values.min()), float(values.max())
    if low == high:
        return "-"
    edges, shares = even_histogram(stats, low, high)
    cells = []
    for point in sorted({b for b in (*layer.type.output_range, 0.0) if b is not None and low <= b <= high}):
        bar = min(int(np.searchsorted(edges, point, side="right")) - 1, len(shares) - 1)
        inside = (values >= edges[bar]) & ((values < edges[bar + 1]) | (bar == len(shares) - 1))
        cells.append(f"{point:g}: {shares[bar]:.1%}/{inside.mean():.1%}")
    return ", ".join(cells) or "-"


if __name__ == "__main__":
    main()
