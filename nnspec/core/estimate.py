"""Value estimates without data: what the static analysis propagates through a network.

An Estimate describes the values of one tensor as a distribution: a realistic mean
and standard deviation, hard bounds where they are known, and whether the values
are spread uniformly between the bounds (data in a declared range) or roughly
normally (sums of many terms, by the central limit theorem). Worst-case interval
arithmetic alone is uselessly loose after a weighted sum (784 inputs in -1..1 give
a bound near +-30 with Glorot weights, where real values stay near +-2); so the
mean and spread carry the estimate, and the bounds clip it where they are tight
(after Tanh, Sigmoid, Softmax).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import erfc, inf, sqrt
from statistics import NormalDist

import numpy as np

_NODES = 48  # quadrature nodes: exact enough for smooth activations, cheap for a thousand layers


def _normalised(nodes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights summing to 1, read-only: every estimate shares them."""
    weights = weights / weights.sum()
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


# A normal value lies beyond 6 standard deviations of its mean once in 500 million: "in practice, never".
PRACTICAL = 6.0

# Computed once: each costs about 0.3 ms, and a thousand-layer spec asks for them 500 times.
_LEGENDRE = _normalised(*np.polynomial.legendre.leggauss(_NODES))  # on -1..1
_HERMITE = _normalised(*np.polynomial.hermite_e.hermegauss(_NODES))  # standard normal


@dataclass(frozen=True)
class Estimate:
    """Expected values of a tensor: mean, spread, hard bounds, shape of the distribution."""

    mean: float
    std: float
    low: float = -inf
    high: float = inf
    uniform: bool = False  # spread evenly over [low, high] rather than normally around the mean
    # How far the values reach in practice, where the layers that made them say so (None: PRACTICAL
    # standard deviations around the mean, within the bounds). A normal fit of exp's output reaches
    # below 0; these carry exp(mean - 6 std) > 0 instead, and a ReLU's exact 0.
    reach_low: float | None = None
    reach_high: float | None = None

    @property
    def practical_low(self) -> float:
        """The lowest value expected in practice: what a domain check (log of values <= 0) judges."""
        if self.reach_low is not None:
            return self.reach_low
        return self.low if self.uniform else max(self.low, self.mean - PRACTICAL * self.std)

    @property
    def practical_high(self) -> float:
        if self.reach_high is not None:
            return self.reach_high
        return self.high if self.uniform else min(self.high, self.mean + PRACTICAL * self.std)

    def quantile(self, q: float) -> float:
        """The value below which a share q (0..1) of the values is expected."""
        if self.std == 0:
            return self.mean
        if self.uniform and self.high > self.low:
            return self.low + q * (self.high - self.low)
        return min(max(self.mean + self.std * NormalDist().inv_cdf(q), self.low), self.high)

    @classmethod
    def between(cls, low: float, high: float) -> Estimate:
        """Values spread evenly between two bounds (an Input's declared range)."""
        return cls((low + high) / 2, (high - low) / sqrt(12), low, high, uniform=True)

    def share_below(self, x: float) -> float:
        """The expected share of values below x."""
        if x <= self.low:
            return 0.0
        if x > self.high:
            return 1.0
        if self.uniform and self.high > self.low:
            return (x - self.low) / (self.high - self.low)
        if self.std == 0:
            return 1.0 if self.mean < x else 0.0
        return 0.5 * erfc(-(x - self.mean) / (self.std * sqrt(2)))

    def share_outside(self, low: float, high: float) -> float:
        """The expected share of values below ``low`` or above ``high``."""
        return self.share_below(low) + 1.0 - self.share_below(high)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature nodes and weights (summing to 1) representing the distribution."""
        if self.std == 0:
            return np.array([self.mean]), np.array([1.0])
        if self.uniform:
            nodes, weights = _LEGENDRE
            return self.low + (nodes + 1) * (self.high - self.low) / 2, weights
        nodes, weights = _HERMITE
        return np.clip(self.mean + self.std * nodes, self.low, self.high), weights


def through(f: Callable[[np.ndarray], np.ndarray], x: Estimate, dtype: str) -> Estimate:
    """The estimate of f(values) for an elementwise f, by quadrature through f itself."""
    nodes, weights = x.points()
    with np.errstate(all="ignore"):
        values = f(nodes.astype(dtype)).astype(np.float64)
        ends = f(np.array([x.low, x.high]).astype(dtype)).astype(np.float64)
        reach = f(np.array([x.practical_low, x.practical_high]).astype(dtype)).astype(np.float64)
    if not np.isfinite(values).all():
        return Estimate(inf, inf)
    mean = float(weights @ values)
    std = sqrt(max(float(weights @ (values - mean) ** 2), 0.0))
    # The practical reach: f at its ends, and at the nodes between them (the least of x^2 lies inside)
    within = (nodes >= x.practical_low) & (nodes <= x.practical_high)
    reached = np.concatenate([values[within], reach[~np.isnan(reach)]])
    reach_low, reach_high = float(reached.min()), float(reached.max())
    if not (np.isfinite(x.low) and np.isfinite(x.high)):
        # unbounded input: the layer's own output range bounds it, if anything
        return Estimate(mean, std, reach_low=reach_low, reach_high=reach_high)
    candidates = np.concatenate([values, ends])  # exact bounds for a monotonic f
    return Estimate(
        mean, std, float(candidates.min()), float(candidates.max()), reach_low=reach_low, reach_high=reach_high
    )


# Softmax mixes a whole axis, so its estimates draw rows of logits along it. Beyond this many classes,
# that many stand for them all (a sum over the axis is classes / drawn times the sample's): an axis of
# a million classes took 11.8 GB and 50 s to estimate; now at most 1000 x 1024 values (8 MiB).
DRAWN_CLASSES = 1024
DRAWN_ROWS = 256


def drawn_along_axis(x: Estimate, rows: int, classes: int, dtype: str) -> np.ndarray:
    """Rows of at most DRAWN_CLASSES values distributed (normally) as estimated: a fixed Monte Carlo
    sample, the same every time."""
    draws = np.random.default_rng(0).standard_normal((rows, min(classes, DRAWN_CLASSES))) * x.std + x.mean
    return draws.astype(dtype)


def weighted_sum(x: Estimate, n: int, w_mean: float, w_var: float, b_mean: float, b_var: float) -> Estimate:
    """sum_i x_i w_i + b over n independent inputs: mean n mx mw + mb, variance
    n (vw (sx^2 + mx^2) + mw^2 sx^2) + vb."""
    mean = b_mean + n * x.mean * w_mean
    var = n * (w_var * (x.std**2 + x.mean**2) + w_mean**2 * x.std**2) + b_var
    return Estimate(mean, sqrt(max(var, 0.0)))


def mixture(parts: list[tuple[Estimate, int]]) -> Estimate:
    """Values pooled from several tensors of the given sizes (a concatenation)."""
    total = sum(size for _, size in parts)
    mean = sum(e.mean * size for e, size in parts) / total
    var = sum(size * (e.std**2 + (e.mean - mean) ** 2) for e, size in parts) / total
    return Estimate(mean, sqrt(var), min(e.low for e, _ in parts), max(e.high for e, _ in parts))


def total(parts: list[Estimate]) -> Estimate:
    """The sum of independent tensors."""
    return Estimate(
        sum(e.mean for e in parts),
        sqrt(sum(e.std**2 for e in parts)),
        sum(e.low for e in parts),
        sum(e.high for e in parts),
    )
