"""Per-tensor statistics that merge exactly across batches.

Counts, min and max merge exactly; mean and standard deviation with Chan et al.'s
pairwise formula, so statistics gathered batch by batch equal those of one big
batch (to rounding) and two partial runs can be combined. A batch's mean sums each
sample in the tensor's dtype and the samples in float64, so a sample's share is the
same in any batching. The standard deviation is kept rather than the sum of squares,
and values whose squares would overflow or underflow are scaled first.

Percentiles come from a fixed-bin histogram: bins by binary exponent, four per
octave (a bin spans at most 25% of its values), for each sign, plus one for zero. Bins do
not depend on the data, so histograms merge by adding counts. The histogram holds every
value of a sample of at most ``SAMPLED_PER_SAMPLE`` values, and of a larger one that many
at positions no layout can alias: one of ``POSITION_SETS`` sets of random positions drawn
once for the sample's size (seeded by it), the set picked by a hash of the sample's number in
the run. A sample gets the same positions in any batch, and samples next to each other other
sets, so over many samples the positions, and with them the channels of a channels-last
tensor, are drawn alike. (Every k-th value of each sample, as before, drew channel 0 only
whenever k was a multiple of the channel count: LeNet's conv2 reported p50 -2.25 for -0.31.)
The number comes from the runner (TensorStats.of's ``start``), not from the values, which a
layer may round differently in another batch size (a matrix product of one row, say).

Accuracy, held by tests/test_stats_sampling.py against numpy on the whole tensor: the zero bin
always holds the exact count of zeros (the sample only shares out the rest), so a percentile is
exact where zeros decide it. Where every value is in the histogram, a percentile lies within the
histogram bin that holds numpy's (a bin spans at most 25% of its values; the estimate is placed
within it by rank, as if its values were even). Where values are sampled, it lies within the
bins holding numpy's percentiles at the ranks a sample of n values strays to with a chance
below 1e-6 (Chernoff's bound, n KL = 14): for p1 of 4,096 sampled values (256 samples),
p0.4..p2.1; for p50, p45.9..p54.1. One standard error, the typical miss, is
sqrt(q (100 - q) / n) percentage points: 0.16 for p1 of 4,096. A tensor with at most
``DISTINCT_KEPT`` distinct values (labels, quantised data, a Sign) keeps them exactly, value
-> count, and its percentiles are numpy's. Every count, min, max, mean and std is over all values.

stats_of_many takes the statistics of many small tensors at once, the same figures as TensorStats.of
of each (see the section at the end): the runner hands it a batch's small layers together
(nnspec.checks.table.BatchObserver).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import groupby
from math import inf, isfinite, sqrt
from typing import Any

import numpy as np

SAMPLED_PER_SAMPLE = 16
DISTINCT_KEPT = 16  # a tensor with at most this many distinct values keeps them exactly
PERCENTILES = (1, 5, 50, 95, 99)
_SUB = 4  # bins per octave
_EMIN, _EMAX = -160, 130  # binary exponents kept apart: all of float32; float64 beyond goes to the end bins
_SIDE = (_EMAX - _EMIN + 1) * _SUB  # bins for each sign
_ZERO = _SIDE  # index of the zero bin; negatives below it, positives above
BINS = 2 * _SIDE + 1


@dataclass
class TensorStats:
    """Statistics of the values of one tensor over every sample seen so far.

    min, max, mean and std are over the finite values; ``subnormal`` counts values too
    small for the dtype's full precision (neither 0 nor normal). ``distinct`` maps each finite
    value to its count while there are at most DISTINCT_KEPT of them, else is None.
    """

    count: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    zeros: int = 0
    subnormal: int = 0
    min: float = inf
    max: float = -inf
    mean: float = 0.0
    std: float = 0.0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(BINS, dtype=np.int64), repr=False)
    # Whether some sample differs from the first, which is kept, so that batches merge: two
    # batches, each of one sample repeated, vary if their samples differ.
    varies: bool = False
    first: np.ndarray | None = field(default=None, repr=False)
    distinct: dict[float, int] | None = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, values: np.ndarray, start: int = 0) -> TensorStats:
        """Statistics of one batch: an array whose first axis is the batch axis, its first sample
        the run's sample number ``start`` (a sample's number picks the positions the histogram
        samples in it: given it, any batching gives the same statistics)."""
        values = _in_memory_order(np.asarray(values))
        flat = values.reshape(-1)
        if not flat.size:
            return cls(count=0)
        low, high = np.minimum.reduce(flat), np.maximum.reduce(flat)
        nan = posinf = neginf = 0
        finite = flat
        if not (isfinite(low) and isfinite(high)):  # NaN or an infinity is there (NaN wins min and max)
            nan = int(np.count_nonzero(np.isnan(flat)))
            posinf = int(np.count_nonzero(np.isposinf(flat)))
            neginf = int(np.count_nonzero(np.isneginf(flat)))
            finite = flat[np.isfinite(flat)]
            if not finite.size:
                varies, first = _sameness(values)
                return cls(count=flat.size, nan=nan, posinf=posinf, neginf=neginf, varies=varies, first=first)
            low, high = finite.min(), finite.max()
        low, high = float(low), float(high)
        rows = values.reshape(len(values), -1) if values.ndim else values.reshape(1, 1)
        sample = _sample(rows, start)  # before non-finite values are set to 0 below: _histogram drops them
        if finite is not flat:
            rows = np.where(np.isfinite(rows), rows, 0)
        mean = _mean(rows, finite.size)
        std = _std(finite, mean, max(abs(low), abs(high)), low, high)
        zeros, subnormal = _tiny_counts(finite, low, high)
        normal_only = finite is flat and not subnormal
        histogram = _histogram_from_bits(sample) if normal_only else _histogram(sample)
        sampled = sample if finite is flat else sample[np.isfinite(sample)]
        distinct = _few_distinct(finite, sampled, histogram, (low, high))
        varies, first = _sameness(values)
        return cls(
            flat.size, nan, posinf, neginf, zeros, subnormal, low, high, mean, std, histogram, varies, first, distinct
        )

    @property
    def finite(self) -> int:
        return self.count - self.nan - self.posinf - self.neginf

    @property
    def max_abs(self) -> float:
        return max(abs(self.min), abs(self.max)) if self.finite else 0.0

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0..100) of the finite values: numpy's (linear interpolation) where
        the distinct values are kept, else estimated from the histogram (see the module's text)."""
        if self.distinct:
            return _exact_percentile(self.distinct, q)
        shares = self.shares()
        if shares is None:
            return None
        cumulative = np.cumsum(shares)
        index = min(int(np.searchsorted(cumulative, q / 100, side="left")), BINS - 1)
        # where within its bin: as far as the rank is through the bin's share, the bin's values
        # taken as even between its bounds (narrowed to the min and max)
        through = (q / 100 - (cumulative[index - 1] if index else 0.0)) / shares[index] if shares[index] else 0.5
        low, high = (min(max(float(bound[index]), self.min), self.max) for bound in bin_bounds())
        return low + (high - low) * min(max(float(through), 0.0), 1.0)

    def shares(self) -> np.ndarray | None:
        """The share (0..1) of the finite values in each histogram bin: the zero bin's is exact (the
        count of zeros), the sampled counts share out the rest (unless the sample held zeros only:
        then it is the sample's shares). None when nothing was sampled."""
        total = int(self.histogram.sum())
        if not total or not self.finite:
            return None
        shares = self.histogram / total
        sampled_zeros, zeros = shares[_ZERO], self.zeros / self.finite
        if sampled_zeros < 1:  # else the sample holds nothing to share the rest out by
            shares *= (1 - zeros) / (1 - sampled_zeros)
            shares[_ZERO] = zeros
        return shares

    def merge(self, other: TensorStats) -> TensorStats:
        """The statistics of both sets of values together."""
        n_a, n_b = self.finite, other.finite
        n = n_a + n_b
        # Means of float64 values near its largest number can lie further apart than it (1e308 and
        # -1e308), or their difference overflow once weighted: then the difference and the spreads are
        # worked out in halves, and the new mean as a weighted sum of the two.
        delta = other.mean - self.mean
        unit = 1.0 if isfinite(delta * n_b) else 0.5
        if unit != 1.0:
            delta = other.mean * unit - self.mean * unit
        std_a, std_b = self.std * unit, other.std * unit
        # Chan et al.: m2 = m2_a + m2_b + delta^2 n_a n_b / n, in units of the largest term.
        scale = max(std_a, std_b, abs(delta))
        std = (
            scale
            * sqrt((n_a * (std_a / scale) ** 2 + n_b * (std_b / scale) ** 2 + (delta / scale) ** 2 * n_a * n_b / n) / n)
            / unit
            if n and scale
            else 0.0
        )
        low, high = min(self.min, other.min), max(self.max, other.max)
        if not n:
            mean = 0.0
        elif unit == 1.0:
            mean = self.mean + delta * n_b / n
        else:
            mean = self.mean * (n_a / n) + other.mean * (n_b / n)
        return TensorStats(
            count=self.count + other.count,
            nan=self.nan + other.nan,
            posinf=self.posinf + other.posinf,
            neginf=self.neginf + other.neginf,
            zeros=self.zeros + other.zeros,
            subnormal=self.subnormal + other.subnormal,
            min=low,
            max=high,
            mean=mean,
            std=min(std, _largest_std(low, high)) if n else 0.0,
            histogram=self.histogram + other.histogram,
            varies=self.varies or other.varies or _differ(self.first, other.first),
            first=self.first if self.first is not None else other.first,
            distinct=_merged_distinct(self.distinct, other.distinct),
        )

    def to_dict(self) -> dict[str, Any]:
        finite = bool(self.finite)
        return {
            "count": self.count,
            "nan": self.nan,
            "posinf": self.posinf,
            "neginf": self.neginf,
            "zeros": self.zeros,
            "subnormal": self.subnormal,
            "min": self.min if finite else None,
            "max": self.max if finite else None,
            "mean": self.mean if finite else None,
            "std": self.std if finite else None,
            "percentiles": {str(q): self.percentile(q) for q in PERCENTILES},
        }


def _sameness(values: np.ndarray) -> tuple[bool, np.ndarray]:
    """Whether some sample differs from the first (compared as values: 0.0 equals -0.0, NaN
    equals nothing), and a copy of the first."""
    if values.ndim == 0:
        return False, values.reshape(1).copy()
    first = values[:1]
    # the second sample usually differs from the first: then no pass over the rest is needed
    varies = len(values) > 1 and bool((values[1] != values[0]).any() or (values[2:] != first).any())
    return varies, first.copy()


def _differ(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return False  # one side saw no sample
    return a.shape != b.shape or bool((a != b).any())


def _in_memory_order(values: np.ndarray) -> np.ndarray:
    """The values with the axes of a sample in the order they are laid out in memory, so that
    flattening them, or cutting them into a row a sample, copies nothing.

    A convolution's output is a transposed view (channels last in memory), and the layers after it
    keep that layout (numpy's ufuncs do): reshaped in C order, every such tensor was copied, a
    pass and an allocation for each statistic. Nothing here depends on the order of the values
    within a sample but the positions the histogram samples, and those are the same in every batch
    of a layer, whose layout does not change from batch to batch.
    """
    if values.ndim < 3 or values.flags.c_contiguous:
        return values
    axes = sorted(range(1, values.ndim), key=lambda axis: -abs(values.strides[axis]))
    permuted = values.transpose(0, *axes)
    return permuted if permuted.flags.c_contiguous else values


def _mean(rows: np.ndarray, count: int) -> float:
    """The mean of ``count`` values laid out a sample a row (non-finite values set to 0).

    Each row is summed in its own dtype (pairwise, as numpy does: the same for a sample
    whatever batch it is in), the rows' sums in float64; rows whose sum overflows the
    dtype are summed in float64 throughout, scaled down by a power of two so that float64's own
    values near its largest number cannot overflow it either (the mean of finite values is finite).
    """
    # einsum sums a row with SIMD, three times as fast as np.add.reduce, and the same for a row
    # wherever it lies in memory (tests/test_run.py holds it to that)
    sums = np.einsum("ij->i", rows) if rows.dtype.kind == "f" else np.add.reduce(rows, axis=1)
    total = float(sums.sum(dtype=np.float64))
    if isfinite(total):
        return total / count
    # A row's sum overflowed (inf, or nan where infinities of both signs met). Multiplying by a power
    # of two is exact, so this is the float64 sum itself wherever that does not overflow.
    step = max(1, BLOCK // max(rows.shape[1], 1))  # rows at a time: the float64 copy stays a block
    scaled = sum(
        float(np.add.reduce(rows[start : start + step].astype(np.float64) * _DOWN, axis=1).sum())
        for start in range(0, len(rows), step)
    )
    return scaled / count / _DOWN


# 2**-64: n values below float64's largest number, scaled by it, sum to less than its largest for
# any n below 2**64; values this small (2**-958) only lose bits that a sum this large cannot hold.
_DOWN = 2.0**-64


def _largest_std(low: float, high: float) -> float:
    """Popoviciu's bound: values within low..high have a standard deviation of at most half
    their span, which float64 holds even where the span itself does not (1e308 - -1e308)."""
    return high / 2 - low / 2


def _std(
    values: np.ndarray, mean: float, magnitude: float, low: float, high: float, sum_of_squares: float | None = None
) -> float:
    """Population standard deviation of finite values (between ``low`` and ``high``), without
    overflow or underflow.

    Sums of squares are taken in the values' own dtype (a BLAS dot, the fast way) a block at a
    time, the blocks' sums in float64. Where the spread is not small beside the mean, one pass
    gives it: var = E[x^2] - m^2, accepted when m^2 is at most half of E[x^2], so that at most one
    bit is lost to the subtraction. Otherwise the squared deviations from the mean rounded to the
    dtype are summed, and corrected for that rounding: E[(x - m')^2] = var + (m - m')^2. Squares
    overflow once values pass sqrt(max / n) and lose precision below sqrt(tiny); such values are
    divided by their largest magnitude (``magnitude``) first. ``sum_of_squares``: the values' squares
    summed already (stats_of_many's), for the one pass.
    """
    if not np.issubdtype(values.dtype, np.floating):  # integers: in float64, whose range holds their squares
        values = values.astype(np.float64)
    tiny, largest = _finite_range(values.dtype)
    scaled = magnitude > sqrt(largest / values.size) / 4 or 0 < magnitude < sqrt(tiny) * 1e8
    # Bhatia-Davis: var <= (high - mean)(mean - low); past that bound the one pass cannot be kept
    if not scaled and mean * mean <= 2 * (high - mean) * (mean - low):
        if sum_of_squares is None:
            sum_of_squares = sum(float(np.dot(block, block)) for block in blocks(values))
        squares = sum_of_squares / values.size
        if mean * mean <= squares / 2:
            return sqrt(squares - mean * mean)
    scale = magnitude if scaled else 1.0
    divisor, rounded = values.dtype.type(scale), values.dtype.type(mean / scale)
    total = 0.0
    for block in blocks(values):
        deviations = (block / divisor if scaled else block) - rounded
        total += float(np.dot(deviations, deviations))
    variance = total / values.size - (mean / scale - float(rounded)) ** 2
    # rounding can take the scaled result a hair past the bound, and past float64's range with it
    return min(sqrt(max(variance, 0.0)) * scale, _largest_std(low, high))


def _tiny_counts(values: np.ndarray, low: float, high: float) -> tuple[int, int]:
    """The zeros among finite values between ``low`` and ``high``, and the subnormal values: those
    neither 0 nor normal, nearer 0 than the dtype's smallest normal number."""
    float_range = _float_range(values.dtype)
    if float_range is None:
        return int(np.count_nonzero(values == 0)), 0
    tiny = float_range[0]
    if low >= tiny or high <= -tiny:  # all values on one side of (-tiny, tiny): none in it
        return 0, 0
    if low >= 0:  # ReLU's outputs, say: one comparison finds the small ones, without abs
        small = sum(np.count_nonzero(block < tiny) for block in blocks(values))
    elif _none_nearer_zero(values):  # values of both signs seldom hold one this small
        return 0, 0
    else:
        small = sum(np.count_nonzero(np.abs(block) < tiny) for block in blocks(values))
    zeros = sum(np.count_nonzero(block == 0) for block in blocks(values)) if small else 0
    return int(zeros), int(small - zeros)


def _none_nearer_zero(values: np.ndarray) -> bool:
    """Whether no value of a float32 or float64 array lies nearer 0 than the smallest normal number,
    nor is 0, found by two reductions over the values' bits, without a temporary array (abs would make one).

    Read as unsigned integers, the bits of non-negative floats count up with their magnitude and every
    negative float's are larger (the sign bit); read as signed integers, negative floats come first, the
    one nearest 0 lowest (-0.0 is the lowest of all). The smallest normal number's bits are
    ``1 << mantissa_bits``.
    """
    if values.dtype not in _BIT_LAYOUT:
        return bool(np.minimum.reduce(np.abs(values)) >= _finite_range(values.dtype)[0])
    unsigned, signed, _, mantissa_bits, _ = _BIT_LAYOUT[values.dtype]
    tiny_bits = 1 << mantissa_bits
    lowest = -(1 << (8 * values.itemsize - 1))
    return bool(
        np.minimum.reduce(values.view(unsigned)) >= tiny_bits
        and np.minimum.reduce(values.view(signed)) >= lowest + tiny_bits
    )


@cache
def _float_range(dtype: np.dtype) -> tuple[float, float] | None:
    """A float dtype's smallest normal and largest finite numbers; None for other dtypes."""
    return _finite_range(dtype) if np.issubdtype(dtype, np.floating) else None


def _finite_range(dtype: np.dtype) -> tuple[float, float]:
    """A float dtype's smallest normal and largest finite numbers."""
    info = np.finfo(dtype)
    return float(info.tiny), float(info.max)


BLOCK = 2**16  # values a pass over a large tensor takes at a time: its temporaries stay this small


def blocks(values: np.ndarray) -> Iterator[np.ndarray]:
    """A tensor's values, flat, in blocks of at most BLOCK: the temporaries a computation over
    them makes are bounded by the block, not the tensor (and stay in the cache)."""
    flat = values.reshape(-1)
    for start in range(0, flat.size, BLOCK):
        yield flat[start : start + BLOCK]


def _sample(rows: np.ndarray, start: int) -> np.ndarray:
    """The values the histogram counts, flat: every value of a sample (a row) of at most
    SAMPLED_PER_SAMPLE values; of a larger one, that many at one of POSITION_SETS sets of
    positions drawn once for its size, the set picked by the sample's number in the run (rows
    are samples ``start``, ``start`` + 1, ...; see the module's text)."""
    count, size = rows.shape
    if size <= SAMPLED_PER_SAMPLE:
        return rows.reshape(-1)
    return rows.reshape(-1).take(_flat_positions(start, count, size))


@lru_cache(maxsize=8)  # the layers of a batch share a few sizes; an entry is 128 bytes a sample
def _flat_positions(start: int, count: int, size: int) -> np.ndarray:
    """The positions _sample takes in a flat batch of samples ``start`` .. ``start + count - 1``."""
    positions = _position_sets(size).take(_picks(start, count), axis=0)
    positions += np.arange(0, count * size, size, dtype=np.intp)[:, None]  # each row's own
    positions = positions.reshape(-1)
    positions.flags.writeable = False  # shared by every call that asks for it
    return positions


POSITION_SETS = 64  # a power of two: a sum's bits pick one with a mask


@lru_cache(maxsize=256)
def _position_sets(size: int) -> np.ndarray:
    """POSITION_SETS sets of SAMPLED_PER_SAMPLE positions out of ``size``, drawn once, seeded by the
    size (each sorted: a gather then reads memory forwards)."""
    rng = np.random.default_rng(size)
    drawn = [np.sort(rng.choice(size, SAMPLED_PER_SAMPLE, replace=False)) for _ in range(POSITION_SETS)]
    return np.array(drawn, dtype=np.intp)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: odd, it spreads any bit over the top bits


def _picks(start: int, count: int) -> np.ndarray:
    """Which set of positions (0..POSITION_SETS-1) each of samples ``start`` .. ``start + count - 1``
    takes: a hash of its number, so that the sets are not in step with any order of the data (data
    ordered class by class, say)."""
    index = np.arange(start, start + count, dtype=np.uint64)
    picks: np.ndarray = ((index * _GOLDEN) >> np.uint64(58)).astype(np.intp)  # numpy's stubs: Any
    return picks


def _histogram(sample: np.ndarray) -> np.ndarray:
    """Counts per bin of the finite values of a sample."""
    sample = sample.astype(np.float64)
    sample = sample[np.isfinite(sample)]
    mantissa, exponent = np.frexp(np.abs(sample))  # |x| = mantissa * 2**exponent, mantissa in [0.5, 1)
    offset = (np.clip(exponent, _EMIN, _EMAX) - _EMIN) * _SUB + ((mantissa - 0.5) * 2 * _SUB).astype(np.int64)
    offset = np.clip(offset, 0, _SIDE - 1)
    index = np.where(sample > 0, _ZERO + 1 + offset, np.where(sample < 0, _ZERO - 1 - offset, _ZERO))
    return np.bincount(index, minlength=BINS).astype(np.int64)


def _few_distinct(
    finite: np.ndarray, sampled: np.ndarray, histogram: np.ndarray, span: tuple[float, float]
) -> dict[float, int] | None:
    """Each distinct finite value and its count, when there are at most DISTINCT_KEPT; else None.
    ``sampled`` are the finite values of the histogram's sample; ``span`` the exact min and max.

    Where every value was sampled, they are counted as they are. Else there are at least as many
    distinct values as the histogram has occupied bins, and as the sample has distinct values, and
    the sample must hold the exact min and max: only then are the sample's values counted over the
    whole tensor, in one pass that stops where another value turns up. A sparse ReLU, all zeros in
    the sample, costs no pass: it fails on its max.
    """
    if np.count_nonzero(histogram) > DISTINCT_KEPT or not sampled.size:
        return None
    if sampled.size == finite.size:  # the sample is every value
        if sampled.size <= 4 * DISTINCT_KEPT:  # a few values: counted in Python, quicker than np.unique's sort
            return _as_distinct(Counter(sampled.tolist()))
        if len(set(sampled[: 4 * DISTINCT_KEPT].tolist())) > DISTINCT_KEPT:  # the first values already differ
            return None
        values, counts = np.unique(sampled, return_counts=True)
        return _as_distinct(dict(zip(values.tolist(), counts.tolist())))
    if (float(np.minimum.reduce(sampled)), float(np.maximum.reduce(sampled))) != span:
        return None
    if len(set(sampled[: 4 * DISTINCT_KEPT].tolist())) > DISTINCT_KEPT:
        return None
    values = np.unique(sampled)
    if values.size > DISTINCT_KEPT:
        return None
    counted = _counts_of(finite, values)
    return None if counted is None else _as_distinct(dict(zip(values.tolist(), counted.tolist())))


def _counts_of(finite: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """How many of ``finite`` equal each of ``values`` (ascending), in one pass that stops at the first
    block holding another value (continuous data, whose sample happened to hold its min and max);
    None if some value is not among them."""
    counts = np.zeros(values.size, dtype=np.int64)
    for block in blocks(finite):
        index = np.minimum(np.searchsorted(values, block), values.size - 1)
        if not np.array_equal(values[index], block):
            return None
        counts += np.bincount(index, minlength=values.size)
    return counts


def _as_distinct(counts: dict[float, int]) -> dict[float, int] | None:
    """The values counted (0.0 and -0.0 are one), as floats, those seen; None if too many."""
    if len(counts) > DISTINCT_KEPT:
        return None
    return {float(value): count for value, count in counts.items() if count}


def _merged_distinct(a: dict[float, int] | None, b: dict[float, int] | None) -> dict[float, int] | None:
    if a is None or b is None:
        return None
    merged = dict(a)
    for value, count in b.items():
        merged[value] = merged.get(value, 0) + count
    return merged if len(merged) <= DISTINCT_KEPT else None


def _exact_percentile(distinct: dict[float, int], q: float) -> float:
    """numpy's percentile (linear interpolation between the two nearest ranks) of the values
    ``distinct`` counts."""
    values = sorted(distinct)
    ends = np.cumsum([distinct[value] for value in values])  # the rank after each value's last
    rank = q / 100 * (int(ends[-1]) - 1)
    below, above = (values[int(np.searchsorted(ends, r, side="right"))] for r in (np.floor(rank), np.ceil(rank)))
    if above == below:
        return below
    through = rank - np.floor(rank)
    # numpy's own way of interpolating, from the nearer end: the same rounding as np.percentile
    return float(above - (above - below) * (1 - through) if through >= 0.5 else below + (above - below) * through)


# The fast path: a float's bin is its sign, exponent and top two mantissa bits, read off
# its bits (float32: bits >> 21, float64: bits >> 50) and mapped through a table. It gives
# exactly _histogram's bins for zeros and normal numbers (subnormals take the slow path).
_BIT_LAYOUT = {  # the integers of a float's width, unsigned and signed; exponent and mantissa bits; bias
    np.dtype(np.float32): (np.uint32, np.int32, 8, 23, 127),
    np.dtype(np.float64): (np.uint64, np.int64, 11, 52, 1023),
}


@cache
def _bin_table(dtype: np.dtype) -> np.ndarray:
    _, _, exponent_bits, mantissa_bits, bias = _BIT_LAYOUT[dtype]
    codes = np.arange(2 ** (exponent_bits + 3))
    sign, biased, top = codes >> (exponent_bits + 2), (codes >> 2) & (2**exponent_bits - 1), codes & 3
    offset = (np.clip(biased - bias + 1, _EMIN, _EMAX) - _EMIN) * _SUB + top  # frexp's exponent is one more
    offset = np.clip(offset, 0, _SIDE - 1)
    bins = np.where(biased == 0, _ZERO, np.where(sign == 1, _ZERO - 1 - offset, _ZERO + 1 + offset))
    return bins.astype(np.intp)  # bincount's own index type: no cast


def _histogram_from_bits(sample: np.ndarray) -> np.ndarray:
    """_histogram for finite values without subnormals, an order of magnitude faster."""
    if sample.dtype not in _BIT_LAYOUT:
        return _histogram(sample)
    unsigned, _, _, mantissa_bits, _ = _BIT_LAYOUT[sample.dtype]
    codes = sample.view(unsigned).astype(np.intp)  # take's own index type: no cast inside it
    codes >>= mantissa_bits - 2
    return np.bincount(_bin_table(sample.dtype).take(codes), minlength=BINS).astype(np.int64, copy=False)


@cache
def bin_bounds() -> tuple[np.ndarray, np.ndarray]:
    """The value interval [low, high) of every histogram bin, by bin index (what a plot needs to
    spread a bin's count over the values it stands for).

    The zero bin is [0, 0]. stats.py clips binary exponents to its range, so the bins of the
    outermost octave also hold every larger magnitude (they reach to infinity here) and those
    of the innermost every smaller one (they reach to 0).
    """
    distance = np.abs(np.arange(BINS) - _ZERO)  # bins counted outwards from zero, on either side
    exponent, sub = np.divmod(np.maximum(distance - 1, 0), _SUB)
    scale = np.exp2((exponent + _EMIN).astype(np.float64))
    inner = np.where(distance <= _SUB, 0.0, scale * (0.5 + sub / (2 * _SUB)))
    outer = np.where(distance > _SIDE - _SUB, np.inf, scale * (0.5 + (sub + 1) / (2 * _SUB)))
    sign = np.sign(np.arange(BINS) - _ZERO)
    low = np.where(sign < 0, -outer, inner)
    high = np.where(sign < 0, -inner, outer)
    low[_ZERO] = high[_ZERO] = 0.0
    return low, high


# --- the statistics of many small tensors at once -------------------------------------------------
#
# A layer of 8,192 values (a 256 x 32 Affine) takes numpy a few microseconds; TensorStats.of makes some
# twenty numpy calls on its output, each costing as much again in dispatch alone. stats_of_many copies
# such tensors side by side into one array and makes each of those calls once for all of them:
# reductions by segment (ufunc.reduceat), sums a sample by einsum over every sample of one size at once,
# one gather and one bincount for all the histograms. Every figure is TensorStats.of's: counts, min,
# max, zeros and histograms exactly (the same positions are sampled: they depend on a sample's number
# and size, not on where it lies); the mean adds the same per-sample sums (einsum gives a row the same
# sum wherever it lies) in float64 in another order; the sum of squares is taken a sample at a time in
# the dtype, then in float64. A tensor the shared passes cannot settle (NaN, Inf, subnormal values,
# zeros, values whose squares overflow, a spread small beside the mean, few distinct values, samples
# alike) is finished, or taken whole, by TensorStats.of's own functions.

SMALL = 2**15  # tensors of at most this many values are taken together: a larger one's passes cost more
# than a numpy call's dispatch, and TensorStats.of reads it where it lies, with no copy


def stats_of_many(tensors: list[np.ndarray], start: int = 0) -> list[TensorStats]:
    """TensorStats.of of each tensor, a batch whose first sample is the run's sample number ``start``,
    the small float32 and float64 ones taken together (see above)."""
    ordered = [_in_memory_order(np.asarray(values)) for values in tensors]
    results: list[TensorStats | None] = [None] * len(ordered)
    groups: dict[np.dtype, list[int]] = {}
    for k, values in enumerate(ordered):
        if values.dtype in _BIT_LAYOUT and values.ndim and 0 < values.size <= SMALL:
            groups.setdefault(values.dtype, []).append(k)
        else:
            results[k] = TensorStats.of(values, start)
    for members in groups.values():
        for chunk in _chunks(members, [ordered[k].size for k in members]):
            for k, stats in zip(chunk, _of_group([ordered[k] for k in chunk], start)):
                results[k] = stats
    return [stats for stats in results if stats is not None]


GROUP = 2**16  # values taken together at most: their buffer stays in the cache for every pass over it


def _chunks(members: list[int], sizes: list[int]) -> Iterator[list[int]]:
    """``members`` in runs of at most GROUP values (one of them, if it alone is larger)."""
    chunk: list[int] = []
    total = 0
    for k, size in zip(members, sizes):
        if chunk and total + size > GROUP:
            yield chunk
            chunk, total = [], 0
        chunk.append(k)
        total += size
    if chunk:
        yield chunk


def _of_group(tensors: list[np.ndarray], start: int) -> list[TensorStats]:
    """TensorStats.of of non-empty float tensors of one dtype, given in memory order."""
    # in the buffer by sample size: each size's samples are then one 2-D array of a sample a row
    order = sorted(range(len(tensors)), key=lambda k: tensors[k].size // len(tensors[k]))
    values = [tensors[k] for k in order]
    counts = [len(v) for v in values]  # samples
    widths = [v.size // len(v) for v in values]  # values a sample
    offsets = np.cumsum([0, *(v.size for v in values[:-1])])
    flat = np.concatenate([v.reshape(-1) for v in values])
    lows, highs = np.minimum.reduceat(flat, offsets), np.maximum.reduceat(flat, offsets)
    blocks_ = _by_width(flat, widths, counts)
    row_offsets = np.cumsum([0, *counts[:-1]])
    sums = np.concatenate([np.einsum("ij->i", block) for block in blocks_])
    squares = np.concatenate([np.einsum("ij,ij->i", block, block) for block in blocks_])
    totals = np.add.reduceat(sums.astype(np.float64), row_offsets)
    square_totals = np.add.reduceat(squares.astype(np.float64), row_offsets)
    firsts, seconds_differ = _first_samples(blocks_, counts)
    near_zero = _some_near_zero(flat, offsets, lows, highs).tolist()
    means, stds = _moments_of_group(lows, highs, totals, square_totals, [v.size for v in values])

    kept: list[int] = []  # the tensors the shared passes settle; the others are taken whole
    zeros: dict[int, int] = {}
    whole: dict[int, TensorStats] = {}
    for k, (v, low, high, total) in enumerate(zip(values, lows.tolist(), highs.tolist(), totals.tolist())):
        finite = isfinite(low) and isfinite(high) and isfinite(total)  # else NaN or Inf, or sums past the dtype
        zeros[k], subnormal = _tiny_counts(v.reshape(-1), low, high) if finite and near_zero[k] else (0, 0)
        if finite and not subnormal:  # subnormal values: the bits' histogram cannot bin them
            kept.append(k)
        else:
            whole[k] = TensorStats.of(v, start)
    layout = tuple((counts[k], widths[k], int(offsets[k])) for k in kept)
    spans = [(float(lows[k]), float(highs[k])) for k in kept]
    histograms, distinct = _histograms_of_group(flat, layout, spans, start) if kept else (None, [])
    stats = dict(whole)
    for j, k in enumerate(kept):
        v, low, high, mean = values[k], float(lows[k]), float(highs[k]), means[k]
        std = stds[k] if stds[k] >= 0 else _std(v.reshape(-1), mean, max(abs(low), abs(high)), low, high)
        varies = counts[k] > 1 and (seconds_differ[k] or bool((v[2:] != v[:1]).any()))
        first = firsts[k].reshape(1, *v.shape[1:])
        assert histograms is not None
        stats[k] = TensorStats(
            v.size, 0, 0, 0, zeros[k], 0, low, high, mean, std, histograms[j], varies, first, distinct[j]
        )
    result: list[TensorStats] = [stats[0]] * len(values)
    for k, place in enumerate(order):
        result[place] = stats[k]
    return result


def _moments_of_group(
    lows: np.ndarray, highs: np.ndarray, totals: np.ndarray, square_totals: np.ndarray, sizes: list[int]
) -> tuple[list[float], list[float]]:
    """Each tensor's mean, and its std where _std would take it in one pass from these sums of squares
    (else -1: _std takes it, a second pass)."""
    tiny, largest = _finite_range(lows.dtype)
    n = np.array(sizes, dtype=np.float64)
    low, high = lows.astype(np.float64), highs.astype(np.float64)
    with np.errstate(all="ignore"):  # NaN and Inf: those tensors are taken whole
        mean, squares = totals / n, square_totals / n
        magnitude = np.maximum(np.abs(low), np.abs(high))
        scaled = (magnitude > np.sqrt(largest / n) / 4) | ((magnitude > 0) & (magnitude < sqrt(tiny) * 1e8))
        one_pass = ~scaled & (mean * mean <= 2 * (high - mean) * (mean - low)) & (mean * mean <= squares / 2)
        std = np.where(one_pass, np.sqrt(np.where(one_pass, squares - mean * mean, 0.0)), -1.0)
    return mean.tolist(), std.tolist()


def _by_width(flat: np.ndarray, widths: list[int], counts: list[int]) -> list[np.ndarray]:
    """The buffer's samples as 2-D arrays, a sample a row: one for each run of tensors of one sample size."""
    arrays, begin = [], 0
    for width, run in groupby(zip(widths, counts), key=lambda pair: pair[0]):
        rows = sum(count for _, count in run)
        arrays.append(flat[begin : begin + rows * width].reshape(rows, width))
        begin += rows * width
    return arrays


def _first_samples(arrays: list[np.ndarray], counts: list[int]) -> tuple[list[np.ndarray], list[bool]]:
    """Each tensor's first sample (a copy), and whether its second differs from it (_sameness's first
    test: usually all it takes)."""
    firsts: list[np.ndarray] = []
    differ: list[bool] = []
    for array in arrays:
        starts, rows = [], 0
        while rows < len(array):
            starts.append(rows)
            rows += counts[len(firsts) + len(starts) - 1]
        first = array.take(starts, axis=0)
        second = array.take([min(row + 1, len(array) - 1) for row in starts], axis=0)
        differ += (first != second).any(axis=1).tolist()
        firsts += list(first)
    return firsts, differ


def _some_near_zero(flat: np.ndarray, offsets: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    """For each tensor of the buffer, whether a value may be 0 or nearer 0 than the smallest normal
    number (_tiny_counts then counts them): by _none_nearer_zero's two reductions over the bits."""
    unsigned, signed, _, mantissa_bits, _ = _BIT_LAYOUT[flat.dtype]
    tiny = _finite_range(flat.dtype)[0]
    straddles: np.ndarray = (lows < tiny) & (highs > -tiny)
    if not straddles.any():
        return straddles
    tiny_bits, lowest = 1 << mantissa_bits, -(1 << (8 * flat.itemsize - 1))
    near: np.ndarray = (np.minimum.reduceat(flat.view(unsigned), offsets) < tiny_bits) | (
        np.minimum.reduceat(flat.view(signed), offsets) < lowest + tiny_bits
    )
    both: np.ndarray = straddles & near  # numpy's stubs: Any
    return both


def _histograms_of_group(
    flat: np.ndarray, layout: tuple[tuple[int, int, int], ...], spans: list[tuple[float, float]], start: int
) -> tuple[np.ndarray, list[dict[float, int] | None]]:
    """Each tensor's histogram (a row each) and distinct values, from one gather and one bincount;
    ``layout`` gives each tensor's samples, values a sample and offset in ``flat``, ``spans`` its min
    and max. Its values are finite and none subnormal: the bits give the bins."""
    positions, ends, segments = _group_positions(start, layout)
    sample = flat.take(positions)
    unsigned, _, _, mantissa_bits, _ = _BIT_LAYOUT[flat.dtype]
    codes = sample.view(unsigned).astype(np.intp)
    codes >>= mantissa_bits - 2
    bins = _bin_table(flat.dtype).take(codes)
    bins += segments  # each tensor's bins a BINS further on
    histograms = np.bincount(bins, minlength=len(layout) * BINS).reshape(len(layout), BINS)
    few = (np.count_nonzero(histograms, axis=1) <= DISTINCT_KEPT).tolist()
    distinct: list[dict[float, int] | None] = [None] * len(layout)
    if not any(few):
        return histograms, distinct
    # _few_distinct's first test for a sampled tensor, for all at once: its sample must hold its min and max
    begins = [0, *ends[:-1]]
    holds_span = zip(np.minimum.reduceat(sample, begins).tolist(), np.maximum.reduceat(sample, begins).tolist())
    for k, ((count, width, offset), span, sampled_span) in enumerate(zip(layout, spans, holds_span)):
        if few[k] and (width <= SAMPLED_PER_SAMPLE or sampled_span == span):
            values, sampled = flat[offset : offset + count * width], sample[begins[k] : ends[k]]
            distinct[k] = _few_distinct(values, sampled, histograms[k], span)
    return histograms, distinct


# A run's batches each start elsewhere; a prepared spec run again starts at 0 each time. An entry is
# 12 bytes a sampled value: 384 KiB for a group of 2^16 float32 values sampled at half of them.
@lru_cache(maxsize=2)
def _group_positions(start: int, layout: tuple[tuple[int, int, int], ...]) -> tuple[np.ndarray, list[int], np.ndarray]:
    """The positions in the buffer _histograms_of_group samples (each tensor's as _sample takes them), where
    each tensor's end among them, and each position's tensor, as a step of BINS."""
    parts = [
        np.arange(offset, offset + count * width, dtype=np.intp)
        if width <= SAMPLED_PER_SAMPLE
        else _flat_positions(start, count, width) + offset
        for count, width, offset in layout
    ]
    lengths = [len(part) for part in parts]
    segments = np.repeat(np.arange(len(parts), dtype=np.int32) * BINS, lengths)
    positions = np.concatenate(parts)
    for array in (positions, segments):
        array.flags.writeable = False  # shared by every call that asks for it
    return positions, np.cumsum(lengths).tolist(), segments
