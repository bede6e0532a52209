"""Per-tensor statistics that merge exactly across batches.

Mean and standard deviation are merged with Chan et al.'s pairwise formula, so
statistics gathered batch by batch equal those of one big batch (to rounding), and
two partial runs can be combined. The standard deviation is kept rather than the
sum of squares, and scaled before squaring, so float64 values up to the dtype's
maximum never overflow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import inf, sqrt
from typing import Any

import numpy as np


@dataclass
class TensorStats:
    """Statistics of the values of one tensor over every sample seen so far.

    ``outside`` counts values outside a layer's well-behaved input range and
    ``at_bounds`` values exactly at a layer's output bounds, when those are asked for.
    min, max, mean and std are over the finite values.
    """

    count: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    zeros: int = 0
    min: float = inf
    max: float = -inf
    mean: float = 0.0
    std: float = 0.0  # population standard deviation
    outside: int = 0
    at_bounds: int = 0

    @classmethod
    def of(
        cls,
        values: np.ndarray,
        outside: tuple[float, float] | None = None,
        bounds: tuple[float | None, float | None] | None = None,
    ) -> TensorStats:
        """Statistics of one array (one batch)."""
        flat = np.asarray(values).reshape(-1)
        finite_mask = np.isfinite(flat)
        finite = flat if finite_mask.all() else flat[finite_mask]
        stats = cls(count=flat.size)
        if finite.size < flat.size:
            stats.nan = int(np.isnan(flat).sum())
            stats.posinf = int(np.isposinf(flat).sum())
            stats.neginf = int(np.isneginf(flat).sum())
        if finite.size:
            wide = finite.astype(np.float64, copy=False)
            stats.min, stats.max = float(finite.min()), float(finite.max())
            stats.mean, stats.std = _mean_std(wide)
            stats.zeros = int(np.count_nonzero(finite == 0))
        if outside is not None:
            stats.outside = int(np.count_nonzero((finite < outside[0]) | (finite > outside[1])))
        if bounds is not None:
            stats.at_bounds = int(sum(np.count_nonzero(finite == b) for b in bounds if b is not None))
        return stats

    @property
    def finite(self) -> int:
        return self.count - self.nan - self.posinf - self.neginf

    @property
    def max_abs(self) -> float:
        return max(abs(self.min), abs(self.max)) if self.finite else 0.0

    def merge(self, other: TensorStats) -> TensorStats:
        """The statistics of both sets of values together."""
        n_a, n_b = self.finite, other.finite
        n = n_a + n_b
        delta = other.mean - self.mean
        # Chan et al.: m2 = m2_a + m2_b + delta^2 n_a n_b / n, in units of the largest term.
        scale = max(self.std, other.std, abs(delta))
        std = (
            scale
            * sqrt(
                (n_a * (self.std / scale) ** 2 + n_b * (other.std / scale) ** 2 + (delta / scale) ** 2 * n_a * n_b / n)
                / n
            )
            if n and scale
            else 0.0
        )
        return TensorStats(
            count=self.count + other.count,
            nan=self.nan + other.nan,
            posinf=self.posinf + other.posinf,
            neginf=self.neginf + other.neginf,
            zeros=self.zeros + other.zeros,
            min=min(self.min, other.min),
            max=max(self.max, other.max),
            mean=self.mean + delta * n_b / n if n else 0.0,
            std=std,
            outside=self.outside + other.outside,
            at_bounds=self.at_bounds + other.at_bounds,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.finite:
            data["min"] = data["max"] = None
        return data


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation of finite float64 values, without overflow.

    Sums and squares of values near float64's maximum overflow, so such values are
    divided by their largest magnitude first (only then: it costs a pass over the data).
    """
    scale = float(np.abs(values).max())
    if scale > _SAFE_MAGNITUDE:
        mean, std = _mean_std(values / scale)
        return mean * scale, std * scale
    mean = float(values.mean())
    return mean, sqrt(float(np.square(values - mean).mean()))


_SAFE_MAGNITUDE = 1e150  # squares and sums of a few billion values below this stay finite
