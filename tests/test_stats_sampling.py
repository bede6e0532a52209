"""Percentiles and plotted shares true for every layout (issue 16, item 1).

Every reported percentile is held against numpy's exact percentile of the whole tensor, every
plotted share against numpy's count on the whole tensor, within the tolerance nnspec.checks.stats
states: where every value is in the histogram, within the stored bin that holds numpy's
percentile; where values are sampled, within the bins holding numpy's percentiles at the ranks
a sample of n values strays to with a chance below 1e-6 (Chernoff's bound, plus one rank);
exact where a tensor has few distinct values, and for the share of zeros always.
"""

from __future__ import annotations

from math import log

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.checks.stats import _ZERO, DISTINCT_KEPT, PERCENTILES, SAMPLED_PER_SAMPLE, TensorStats, bin_bounds
from nnspec.report.pictures.histogram import even_histogram, exact_values

from .conftest import SPECS

BOUND = 14.0  # n KL(sampled share || true share) beyond which a sample strays with a chance below e^-14 (1e-6)


# --- the tolerance, written out from the whole tensor -------------------------------------------


def stored_bin(value: float) -> tuple[float, float]:
    """The bounds of the histogram bin a value is counted in (found by counting it alone)."""
    [index] = np.flatnonzero(TensorStats.of(np.array([[value]])).histogram)
    low, high = bin_bounds()
    return float(low[index]), float(high[index])


def divergence(a: float, b: float) -> float:
    """KL(a || b) of two Bernoulli shares: Chernoff's bound on a sample of n values from a share b
    showing a share a or further is exp(-n KL(a || b))."""
    if not 0 < b < 1:
        return float("inf")
    return (a * log(a / b) if a > 0 else 0.0) + ((1 - a) * log((1 - a) / (1 - b)) if a < 1 else 0.0)


def stray(share: float, n: int, direction: int) -> float:
    """How far (0..1) above (direction 1) or below (-1) ``share`` the true share may lie while a
    sample of n values still shows ``share`` with a chance above e^-BOUND."""
    low, high = 0.0, 1 - share if direction > 0 else share
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (low, middle) if n * divergence(share, share + direction * middle) >= BOUND else (middle, high)
    return high


def rank_span(stats: TensorStats, q: float) -> tuple[float, float]:
    """The ranks (0..100) between which numpy's percentile may be taken for the estimate at q: q
    itself where every value was counted, else as far as a sample of n values strays; and one
    rank more either side for rounding."""
    n = int(stats.histogram.sum())
    if n == stats.finite:
        return max(q - 100 / n, 0), min(q + 100 / n, 100)
    share = q / 100
    return max(100 * (share - stray(share, n, -1)) - 100 / n, 0), min(100 * (share + stray(share, n, 1)) + 100 / n, 100)


def assert_percentiles_true(stats: TensorStats, values: np.ndarray) -> None:
    whole = values.astype(np.float64).reshape(-1)
    for q in PERCENTILES:
        estimate, exact = stats.percentile(q), float(np.percentile(whole, q))
        if stats.distinct:
            assert estimate == pytest.approx(exact, rel=1e-12, abs=1e-15 * np.abs(whole).max()), (q, estimate, exact)
            continue
        ranks = rank_span(stats, q)
        below = float(np.percentile(whole, ranks[0], method="lower"))
        above = float(np.percentile(whole, ranks[1], method="higher"))
        low = max(stored_bin(below)[0], whole.min())
        high = min(stored_bin(above)[1], whole.max())
        assert low <= estimate <= high, (q, estimate, exact, low, high, ranks)


def quarter_octaves(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bounds of the stored bin of each value, written out from its definition: the quarter
    of a binary octave [2^(e-1), 2^e) that holds |x|, mirrored for negative values; 0 alone."""
    mantissa, exponent = np.frexp(np.abs(values))  # |x| = m 2^e, m in [0.5, 1)
    octave = np.ldexp(1.0, exponent - 1)
    quarter = np.floor((2 * mantissa - 1) * 4)
    inner, outer = octave * (1 + quarter / 4), octave * (1 + (quarter + 1) / 4)
    low = np.where(values < 0, -outer, np.where(values > 0, inner, 0.0))
    high = np.where(values < 0, -inner, np.where(values > 0, outer, 0.0))
    return low, high


def uncertain_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """For each even bar, the share of the values whose stored bin (narrowed to the min and max)
    reaches beyond the bar: a plot spreads them evenly within that bin, so they may be drawn in
    a neighbouring bar. Values whose bin lies within one bar are drawn in it."""
    low, high = quarter_octaves(values)
    low, high = np.maximum(low, values.min()), np.minimum(high, values.max())
    bins = len(edges) - 1
    first = np.clip(np.searchsorted(edges, low, side="right") - 1, 0, bins - 1)
    last = np.clip(np.searchsorted(edges, high, side="right") - 1, 0, bins - 1)
    spread = first != last
    reach = np.zeros(bins + 1)
    np.add.at(reach, first[spread], 1)
    np.add.at(reach, last[spread] + 1, -1)
    return np.cumsum(reach)[:bins] / values.size


def assert_plotted_shares_true(stats: TensorStats, values: np.ndarray, bins: int = 30) -> None:
    """Each even bar's share against numpy's histogram of the whole tensor: exact for few distinct
    values; else off by at most the share of values whose stored bin reaches beyond the bar,
    plus as far as a sample strays from the share. The zeros' share is exact."""
    whole = values.astype(np.float64).reshape(-1)
    low, high = whole.min(), whole.max()
    if low == high:
        high = low + 1
    edges, shares = even_histogram(stats, low, high, bins)
    exact = np.histogram(whole, edges)[0] / whole.size
    assert shares.sum() == pytest.approx(1.0)
    if stats.distinct:
        np.testing.assert_allclose(shares, exact, rtol=1e-12, atol=1e-15)
        return
    assert stats.shares()[_ZERO] == np.count_nonzero(whole == 0) / whole.size  # exact, sampled or not
    n = int(stats.histogram.sum())
    straddling = uncertain_shares(whole, edges)
    if n == whole.size:
        sampling = np.zeros(bins)
    else:  # as far as a sample strays from each exact share, and the zeros' exact share rescales it
        sampling = np.array([max(stray(p, n, 1), stray(p, n, -1)) for p in exact]) * 2 + 2 / n
    assert np.all(np.abs(shares - exact) <= straddling + sampling + 1e-9), (shares, exact)


# --- layouts and distributions ---------------------------------------------------------------------

LAYOUTS = {
    "C order": lambda a: a,  # N, C, H, W in memory
    "channels last": lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),  # a conv's
    "W, C, H in memory": lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1),
    "sliced view": lambda a: np.concatenate([a, a], axis=3)[..., ::2],  # not contiguous at all
}


def channel_offsets(rng, shape):
    """Each channel its own mean, far apart: what a fixed stride through channels-last memory
    turned into one channel's values."""
    return rng.normal(0, 1, shape) + 4 * np.arange(shape[1])[None, :, None, None]


def relu_like(rng, shape):
    """Mostly zeros, the rest positive, with offsets per channel: a ReLU after a convolution."""
    return np.maximum(rng.normal(-0.5, 1, shape) + 0.3 * np.arange(shape[1])[None, :, None, None], 0)


def saturated_tanh(rng, shape):
    """A Tanh after an untrained BatchNormalization: most values exactly -1 or 1 in float32."""
    return np.tanh(100 * rng.normal(0, 1, shape) + np.arange(shape[1])[None, :, None, None] - shape[1] / 2)


def few_values(rng, shape):
    """Nine values as the demo's input has them."""
    return rng.choice([255, 150, 100, 10, 0, -10, -100, -150, -255], size=shape)


def many_values(rng, shape):
    """Integers 0..40: more distinct values than are kept exactly."""
    return rng.integers(0, 41, size=shape)


DISTRIBUTIONS = {
    "normal": lambda rng, shape: rng.normal(0, 1, shape),
    "per-channel offsets": channel_offsets,
    "relu-like": relu_like,
    "saturated tanh": saturated_tanh,
    "log-normal": lambda rng, shape: rng.lognormal(0, 3, shape),
    "nine values": few_values,
    "integers 0..40": many_values,
}


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    samples=st.integers(1, 48),
    channels=st.sampled_from([1, 2, 3, 4, 6, 8, 16, 32]),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    layout=st.sampled_from(sorted(LAYOUTS)),
    distribution=st.sampled_from(sorted(DISTRIBUTIONS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_percentiles_and_plotted_shares_match_numpy_on_the_whole_tensor(
    samples, channels, height, width, layout, distribution, dtype, seed
):
    shape = (samples, channels, height, width)
    values = LAYOUTS[layout](DISTRIBUTIONS[distribution](np.random.default_rng(seed), shape).astype(dtype))
    assert values.shape == shape
    stats = TensorStats.of(values)
    assert_percentiles_true(stats, values)
    assert_plotted_shares_true(stats, values)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_fixed_stride_through_channels_last_memory_no_longer_picks_one_channel(layout):
    # 16 channels of 8x8: a sample of 1,024 values, and 1,024 // 16 = 64, a multiple of 16 (the
    # stride the old every-k-th sampling took, which saw channel 0 only). Channel c has mean 4c.
    shape = (100, 16, 8, 8)
    values = LAYOUTS[layout](channel_offsets(np.random.default_rng(3), shape).astype(np.float32))
    stats = TensorStats.of(values)
    assert stats.histogram.sum() == 100 * SAMPLED_PER_SAMPLE
    assert_percentiles_true(stats, values)
    whole = values.astype(np.float64)
    # the median is near channel 7.5's mean (30), not channel 0's (0)
    assert abs(stats.percentile(50) - np.percentile(whole, 50)) < 0.1 * whole.std()


def test_the_zeros_of_a_relu_are_counted_exactly_in_its_picture_and_percentiles():
    # 60% zeros: the plotted share of zeros is 60%, not what a sample happened to hold
    rng = np.random.default_rng(4)
    values = np.maximum(rng.normal(-0.2533, 1, (64, 16, 8, 8)), 0).astype(np.float32)
    values = np.ascontiguousarray(values.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    stats = TensorStats.of(values)
    zeros = np.count_nonzero(values == 0) / values.size
    assert 0.55 < zeros < 0.65
    edges, shares = even_histogram(stats, 0.0, float(values.max()), 60)
    first_bar = np.count_nonzero(values < edges[1]) / values.size  # zeros and the smallest positives
    assert zeros <= shares[0] <= first_bar + stray(first_bar, int(stats.histogram.sum()), 1)
    assert stats.percentile(50) == 0.0 and np.percentile(values, 50) == 0.0


# --- few distinct values, exactly ---------------------------------------------------------------


def test_few_distinct_values_are_kept_exactly_and_drawn_where_they_are():
    demo = yaml.safe_load((SPECS / "seed_activations.yaml").read_text())["data"]["x"]
    values = np.array(demo * 5, dtype=np.float32)  # nine values, five samples
    stats = TensorStats.of(values)
    distinct, counts = np.unique(values, return_counts=True)
    assert stats.distinct == dict(zip(distinct.tolist(), counts.tolist()))
    positions, shares = exact_values(stats)
    np.testing.assert_array_equal(positions, distinct)
    np.testing.assert_allclose(shares, counts / values.size)
    for q in (*PERCENTILES, 0, 12.5, 100):
        assert stats.percentile(q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12)
    edges, bars = even_histogram(stats, -300, 300, 60)
    np.testing.assert_allclose(bars, np.histogram(values, edges)[0] / values.size)
    assert np.count_nonzero(bars) == 9  # nine bars, not clusters around 100..160


def test_distinct_values_merge_and_give_up_past_the_limit():
    a = TensorStats.of(np.array([[1.0, 2.0, 2.0]]))
    b = TensorStats.of(np.array([[2.0, 3.0, -0.0]]))
    assert a.merge(b).distinct == {1.0: 1, 2.0: 3, 3.0: 1, 0.0: 1}  # -0.0 and 0.0 are one value
    many = TensorStats.of(np.arange(DISTINCT_KEPT + 1, dtype=np.float64)[None, :] + 100)
    assert many.distinct is None and a.merge(many).distinct is None
    halves = [TensorStats.of(np.arange(k, k + DISTINCT_KEPT // 2 + 1, dtype=np.float32)[None]) for k in (0, 100)]
    assert halves[0].distinct and halves[1].distinct and halves[0].merge(halves[1]).distinct is None
    nan = TensorStats.of(np.array([[np.nan, 1.0, 1.0, np.inf]]))
    assert nan.distinct == {1.0: 2}  # finite values only, as the percentiles
    assert TensorStats.of(np.full((2, 3), np.nan)).distinct == {} and TensorStats(count=0).merge(a).distinct


def test_values_few_in_the_sample_but_not_in_the_tensor_are_not_kept():
    # 1,000 values a sample, all 0 but one position in each: a sample of 16 often sees only 0
    values = np.zeros((50, 1000), dtype=np.float32)
    values[np.arange(50), np.arange(50) * 7] = np.arange(1, 51)
    stats = TensorStats.of(values)
    assert stats.distinct is None
    assert stats.shares()[_ZERO] == np.count_nonzero(values == 0) / values.size


def test_the_demo_plot_draws_a_bar_at_each_of_its_nine_inputs():
    pytest.importorskip("matplotlib")
    from nnspec.report.pictures.plots import layer_figure

    spec = nnspec.load(SPECS / "seed_activations.yaml")
    result = nnspec.run(spec)
    values = np.asarray(yaml.safe_load((SPECS / "seed_activations.yaml").read_text())["data"]["x"], np.float32)
    distinct, counts = np.unique(values, return_counts=True)
    figure = layer_figure(result, "x")
    [container] = figure.axes[0].containers  # the bars (the shaded ranges are patches too)
    bars = [patch for patch in container.patches if patch.get_height() > 0]
    centres = sorted(patch.get_x() + patch.get_width() / 2 for patch in bars)
    np.testing.assert_allclose(centres, distinct)
    np.testing.assert_allclose(sorted(patch.get_height() for patch in bars), sorted(100 * counts / values.size))


# --- the same for any batching ---------------------------------------------------------------------

CONV = """\
nnspec: 1
name: conv-stats
dtype: float32
seed: 1
layers:
  - {name: x, type: Input, size: [3, 10, 10], generator: Normal}
  - {name: conv, type: Convolution, out_maps: 8, kernel_shape: [3, 3]}
  - {name: relu, type: ReLU}
  - {name: sign, type: Sign}
  - {name: fc, type: Affine, out_shape: 40, input: relu}
outputs: [sign, fc]
"""


def test_statistics_are_the_same_for_any_batch_size():
    spec = nnspec.loads(CONV)
    runs = [nnspec.run(spec, samples=60, batch_size=size) for size in (None, 1, 7)]
    for name in spec.layers:
        whole = runs[0].stats[name].output
        for other in (r.stats[name].output for r in runs[1:]):
            np.testing.assert_array_equal(whole.histogram, other.histogram)
            assert whole.distinct == other.distinct
            assert [whole.percentile(q) for q in PERCENTILES] == [other.percentile(q) for q in PERCENTILES]
    assert runs[0].stats["sign"].output.distinct is not None  # a Sign gives few values: kept exactly


def test_a_run_reports_true_percentiles_for_every_layer_of_lenet():
    # every layer made an output, so that numpy can see each whole tensor
    text = yaml.safe_load((SPECS / "lenet.yaml").read_text())
    text["outputs"] = [layer["name"] for layer in text["layers"]]
    spec = nnspec.loads(yaml.safe_dump(text, sort_keys=False))
    result = nnspec.run(spec)
    for name in spec.layers:
        assert_percentiles_true(result.stats[name].output, result.outputs[name])
    conv2 = result.outputs["conv2"].astype(np.float64)
    stats = result.stats["conv2"].output
    for q in PERCENTILES:  # the figures: p50 -2.25 and p99 -0.34 against -0.31 and 2.89
        assert abs(stats.percentile(q) - np.percentile(conv2, q)) < 0.25 * conv2.std()
