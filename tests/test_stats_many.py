"""The statistics of small tensors taken together (stats_of_many, and the runner's BatchObserver that
puts a batch's small layers aside for it): every figure held against numpy on the whole tensor, and
against TensorStats.of of the tensor alone, for several layers, several batches, several batch
sizes, with NaN, Inf, zeros and subnormal values mixed in."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnspec
from nnspec.checks import table
from nnspec.checks.stats import (
    _EMAX,
    _EMIN,
    _SUB,
    _ZERO,
    BINS,
    SAMPLED_PER_SAMPLE,
    SMALL,
    TensorStats,
    _flat_positions,
    stats_of_many,
)

from .test_stats_sampling import assert_percentiles_true


def numpy_figures(values: np.ndarray) -> dict[str, float | int]:
    """What a tensor's statistics must say, from numpy on the whole tensor."""
    flat = values.reshape(-1)
    finite = flat[np.isfinite(flat)].astype(np.float64)
    tiny = np.finfo(values.dtype).tiny
    scale = float(np.abs(finite).max()) or 1.0  # numpy's squares of 1e200 overflow: taken in its units
    return {
        "count": flat.size,
        "nan": int(np.isnan(flat).sum()),
        "posinf": int(np.isposinf(flat).sum()),
        "neginf": int(np.isneginf(flat).sum()),
        "zeros": int((finite == 0).sum()),
        "subnormal": int(((finite != 0) & (np.abs(finite) < tiny)).sum()),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float((finite / scale).mean()) * scale,
        "std": float((finite / scale).std()) * scale,
    }


def numpy_histogram(values: np.ndarray, start: int) -> np.ndarray:
    """The histogram the documented rule gives, written out with numpy: the sampled values (every
    value of a sample of at most SAMPLED_PER_SAMPLE, else the positions drawn for its size and
    number; a sample's values in the order they lie in memory), each counted by sign, binary
    exponent (clipped to the kept range) and quarter of its octave, zeros in their own bin."""
    rows = values.ravel(order="K").reshape(len(values), -1)
    if rows.shape[1] <= SAMPLED_PER_SAMPLE:
        sample = rows.reshape(-1)
    else:
        sample = rows.reshape(-1)[_flat_positions(start, *rows.shape)]
    counts = np.zeros(BINS, dtype=np.int64)
    side = (_EMAX - _EMIN + 1) * _SUB
    for value in sample[np.isfinite(sample)].astype(np.float64).tolist():
        if value == 0:
            counts[_ZERO] += 1
            continue
        mantissa, exponent = math.frexp(abs(value))  # |value| = mantissa 2^exponent, mantissa in [0.5, 1)
        quarter = math.floor((mantissa - 0.5) * 2 * _SUB)
        offset = min(max((min(max(exponent, _EMIN), _EMAX) - _EMIN) * _SUB + quarter, 0), side - 1)
        counts[_ZERO + 1 + offset if value > 0 else _ZERO - 1 - offset] += 1
    return counts


def assert_true_to_numpy(stats: TensorStats, values: np.ndarray, start: int = 0) -> None:
    expected = numpy_figures(values)
    for key in ("count", "nan", "posinf", "neginf", "zeros", "subnormal", "min", "max"):
        assert getattr(stats, key) == expected[key], key
    # to the dtype's rounding of the values' magnitude: a sample's values are summed in the dtype
    rounding = 4 * float(np.finfo(values.dtype).eps) * max(abs(expected["min"]), abs(expected["max"]))
    assert stats.mean == pytest.approx(expected["mean"], rel=1e-6, abs=rounding)
    assert stats.std == pytest.approx(expected["std"], rel=1e-5, abs=rounding)
    np.testing.assert_array_equal(stats.histogram, numpy_histogram(values, start))
    rows = values.reshape(len(values), -1)
    assert stats.varies == bool(len(rows) > 1 and not np.array_equal(rows, np.broadcast_to(rows[0], rows.shape)))
    assert_percentiles_true(stats, values[np.isfinite(values)] if not np.isfinite(values).all() else values)


def assert_same(a: TensorStats, b: TensorStats) -> None:
    """Two statistics of one tensor alike: exactly, but the mean and std to rounding."""
    for key in ("count", "nan", "posinf", "neginf", "zeros", "subnormal", "min", "max", "varies", "distinct"):
        assert getattr(a, key) == getattr(b, key), key
    assert a.mean == pytest.approx(b.mean, rel=1e-9, abs=1e-300)
    assert a.std == pytest.approx(b.std, rel=1e-5)
    np.testing.assert_array_equal(a.histogram, b.histogram)
    np.testing.assert_array_equal(a.first, b.first)


def layers(rng: np.random.Generator, batch: int) -> list[np.ndarray]:
    """Outputs of a batch through narrow layers of several kinds, float32 and float64."""
    tanh = np.tanh(rng.standard_normal((batch, 32)) * 2).astype(np.float32)
    relu = np.maximum(rng.standard_normal((batch, 24)), 0).astype(np.float32)  # about half zeros
    with_nan = rng.standard_normal((batch, 10)).astype(np.float32)
    with_nan[0, 3], with_nan[-1, 0] = np.nan, np.inf
    with_inf = rng.standard_normal((batch, 40)).astype(np.float32)
    with_inf[batch // 2, 7] = -np.inf
    subnormal = rng.standard_normal((batch, 20)).astype(np.float32)
    subnormal[0, 1], subnormal[-1, 2] = 1e-40, -3e-42
    signed_zero = rng.standard_normal((batch, 12)).astype(np.float32)
    signed_zero[0, 0], signed_zero[-1, -1] = -0.0, 0.0
    labels = rng.integers(0, 5, (batch, 1)).astype(np.float32)  # few distinct values: kept exactly
    constant = np.full((batch, 8), 0.25, np.float32)  # no sample differs from the first
    offset = (1000 + rng.standard_normal((batch, 16)) * 1e-3).astype(np.float32)  # spread small beside the mean
    wide = rng.standard_normal((batch, 3, 5, 7)).astype(np.float32).transpose(0, 2, 3, 1)  # channels last
    doubles = rng.standard_normal((batch, 50)) * 1e200  # float64, squares past its range
    return [tanh, relu, with_nan, with_inf, subnormal, signed_zero, labels, constant, offset, wide, doubles]


@pytest.mark.parametrize("batch", [1, 2, 7, 64])
@pytest.mark.parametrize("start", [0, 1000])
def test_statistics_taken_together_are_numpys_on_each_whole_tensor(batch, start):
    tensors = layers(np.random.default_rng(batch), batch)
    together = stats_of_many(tensors, start)
    assert len(together) == len(tensors)
    for values, stats in zip(tensors, together):
        assert_true_to_numpy(stats, values, start)
        assert_same(stats, TensorStats.of(values, start))


def test_few_distinct_values_taken_together_are_numpys_exactly():
    rng = np.random.default_rng(3)
    tensors = [rng.integers(-2, 3, (40, 6)).astype(np.float32), np.sign(rng.standard_normal((40, 30)))]
    for values, stats in zip(tensors, stats_of_many(tensors)):
        unique, counts = np.unique(values, return_counts=True)
        assert stats.distinct == dict(zip(unique.tolist(), counts.tolist()))


def test_large_and_integer_tensors_go_alone_and_come_back_in_place():
    rng = np.random.default_rng(4)
    tensors = [
        rng.standard_normal((8, 4)).astype(np.float32),
        rng.standard_normal((SMALL // 100 + 1, 100)).astype(np.float32),  # past SMALL
        np.arange(12).reshape(3, 4),  # integers
        rng.standard_normal((2, 5)),
        np.zeros((0, 3), np.float32),  # no samples
        np.linspace(-1, 1, 40, dtype=np.float32),  # samples of one value each: taken together
        np.float32(2.5) * np.ones((), np.float32),  # no batch axis
        np.ones((4, 3), np.float16),  # a dtype whose bits the histogram does not read
    ]
    together = stats_of_many(tensors, 5)
    for values, stats in zip(tensors, together):
        assert_same(stats, TensorStats.of(values, 5))
    assert together[4].count == 0


NARROW = """\
nnspec: 1
name: narrow
dtype: float32
seed: 2
layers:
  - {name: x, type: Input, size: [16]}
  - {name: t0, type: Tanh}
  - {name: fc1, type: Affine, out_shape: 24}
  - {name: t1, type: Tanh}
  - {name: fc2, type: Affine, out_shape: 24}
  - {name: r2, type: ReLU}
  - {name: fc3, type: Affine, out_shape: 8}
  - {name: s3, type: Sigmoid}
  - {name: fc4, type: Affine, out_shape: 3}
outputs: [x, t0, fc1, t1, fc2, r2, fc3, s3, fc4]
"""


def run_narrow(x: np.ndarray, **options) -> nnspec.RunResult:
    return nnspec.run(nnspec.loads(NARROW), {"x": x}, **options)


def test_a_run_of_narrow_layers_reports_numpys_figures_in_any_batching():
    x = np.random.default_rng(6).standard_normal((150, 16)).astype(np.float32) * 3
    x[5, 2], x[7, 0], x[9, 9] = 0.0, 1e-41, -0.0  # a zero, a subnormal value, a negative zero
    runs = [run_narrow(x, batch_size=size) for size in (None, 1, 7, 64)]
    for run in runs:  # each run's figures, numpy's on its own outputs (BLAS rounds a product by batch shape)
        for name, values in run.outputs.items():
            assert_true_to_numpy(run.stats[name].output, values)
    whole = runs[0]
    for other in runs[1:]:
        for name in ("x", "t0"):  # the data, and a layer of it alone: the same values in any batching
            assert_same(whole.stats[name].output, other.stats[name].output)
        for name in whole.stats:
            assert other.stats[name].measures.keys() == whole.stats[name].measures.keys()
        assert [(f.check, f.layer) for f in other.findings] == [(f.check, f.layer) for f in whole.findings]
    assert whole.stats["x"].output.subnormal == 1 and whole.stats["x"].output.zeros == 2


def test_nan_and_inf_in_a_narrow_run_are_counted_where_they_are_made(recwarn):
    x = np.random.default_rng(7).standard_normal((40, 16)).astype(np.float32)
    x[3, 4], x[10, 1] = np.nan, np.inf
    result = run_narrow(x, batch_size=16)
    assert (result.stats["x"].output.nan, result.stats["x"].output.posinf) == (1, 1)
    for name, values in result.outputs.items():
        assert_true_to_numpy(result.stats[name].output, values)
    assert [f.layer for f in result.findings if f.check == "nan-inf"] == ["x"]


def test_put_aside_layers_give_what_each_layer_taken_at_once_gives(monkeypatch):
    """The batch's layers taken a few at a time (PENDING small), at the batch's end, or one by one
    (as before stats_of_many): the same statistics and measures."""
    x = np.random.default_rng(8).standard_normal((90, 16)).astype(np.float32) * 2
    together = run_narrow(x, batch_size=30)
    monkeypatch.setattr(table.BatchObserver, "PENDING", 100)  # taken every layer or two
    few = run_narrow(x, batch_size=30)
    monkeypatch.setattr(table, "SMALL", -1)  # every output taken as it comes, alone
    alone = run_narrow(x, batch_size=30)
    for name in together.stats:
        for other in (few, alone):
            assert_same(together.stats[name].output, other.stats[name].output)
            a, b = together.stats[name].measures, other.stats[name].measures
            assert a.keys() == b.keys()
            for check in a:
                for key in a[check]:
                    np.testing.assert_array_equal(a[check][key], b[check][key])
