"""Histograms to plot, from the statistics a run keeps: no value is kept for them.

A run keeps, for each tensor, counts in fixed bins by binary exponent of a sample of its
values (nnspec.checks.stats: four bins an octave for each sign, one for zero, whose count is exact),
and its exact minimum and maximum. A plot wants evenly spaced bins, so each stored bin's
share is spread over the even bins it overlaps, in proportion to the overlap, as if its
values lay evenly within it. A stored bin spans at most a quarter of its values'
magnitude, so no share moves further than that, and none beyond the exact min and max.

A tensor with few distinct values keeps each value and its count (TensorStats.distinct):
those are drawn where they are, a bar a value, not spread over bins.
"""

from __future__ import annotations

import numpy as np

from ...checks.stats import TensorStats, bin_bounds


def exact_values(stats: TensorStats) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct finite values, ascending, and the share (0..1) of the finite values each
    holds, when the statistics kept them (few distinct values); else None."""
    if not stats.distinct:
        return None
    values = np.array(sorted(stats.distinct))
    counts = np.array([stats.distinct[value] for value in values])
    return values, counts / counts.sum()


def even_histogram(stats: TensorStats, low: float, high: float, bins: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Edges of ``bins`` even bins over low..high, and the share (0..1) of the finite values
    in each (estimated from the sample, but exact at 0 and for few distinct values). All zeros
    when no finite value was seen."""
    edges = np.linspace(low, high, bins + 1)
    shares = np.zeros(bins)
    exact = exact_values(stats)
    if exact is not None:  # each value in the even bin that holds it
        values, weights = exact
        np.add.at(shares, np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1), weights)
        return edges, shares
    stored = stats.shares()
    if stored is None:
        return edges, shares
    occupied = np.flatnonzero(stored)
    bin_low, bin_high = bin_bounds()
    # Values lie within the exact min and max, whatever bin they were counted in.
    a = np.clip(bin_low[occupied], stats.min, stats.max)
    b = np.clip(bin_high[occupied], stats.min, stats.max)
    weight = stored[occupied]
    wide = b > a
    overlap = np.clip(np.minimum(b[wide, None], edges[None, 1:]) - np.maximum(a[wide, None], edges[None, :-1]), 0, None)
    shares += (overlap / (b[wide] - a[wide])[:, None] * weight[wide, None]).sum(axis=0)
    # A bin narrowed to a point (the zero bin, or one clipped at the min or max) falls in one even bin.
    points = np.clip(np.searchsorted(edges, a[~wide], side="right") - 1, 0, bins - 1)
    np.add.at(shares, points, weight[~wide])
    return edges, shares
