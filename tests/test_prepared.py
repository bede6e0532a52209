"""The prepared runner (nnspec.prepare), in-place layers and the release of tensors after their
last reader: the same results as before, never a write over anything the caller owns, and no
more memory than the tensors that must be alive at once."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import nnspec
from nnspec.checks.stats import BLOCK, TensorStats
from nnspec.core.diagnostics import SpecError
from nnspec.layers.catalog import layer_types

from .conftest import SPECS

pytestmark = pytest.mark.filterwarnings("ignore::nnspec.RangeWarning")

MLP = """\
nnspec: 1
seed: 7
layers:
  - {name: x, type: Input, size: [20]}
  - {name: fc1, type: Affine, out_shape: 30}
  - {name: t, type: Tanh}
  - {name: fc2, type: Affine, out_shape: 30}
  - {name: r, type: ReLU}
  - {name: fc3, type: Affine, out_shape: 4}
  - {name: s, type: Sigmoid}
"""


def _data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, shape).astype(np.float32)


@pytest.mark.parametrize("statistics", [False, True])
@pytest.mark.parametrize("example", ["mlp_branches.yaml", "lenet.yaml", "bn_residual.yaml", "seed_activations.yaml"])
def test_a_prepared_runner_gives_what_run_gives_call_after_call(example, statistics):
    spec = nnspec.load(SPECS / example)
    runner = nnspec.prepare(spec, statistics=statistics)
    for samples in (5, 3):  # the same runner, twice, on different amounts of generated data
        once = nnspec.run(spec, samples=samples, statistics=statistics)
        again = runner.run(samples=samples)
        assert once.outputs.keys() == again.outputs.keys()
        for name in once.outputs:
            np.testing.assert_array_equal(again.outputs[name], once.outputs[name])
        assert again.findings == once.findings
        assert {n: s.output.to_dict() for n, s in again.stats.items()} == {
            n: s.output.to_dict() for n, s in once.stats.items()
        }


def test_writing_in_place_gives_the_same_values_as_a_run_with_statistics():
    spec = nnspec.loads(MLP)
    x = _data((64, 20))
    plain = nnspec.run(spec, {"x": x}, statistics=False, batch_size=16)
    measured = nnspec.run(spec, {"x": x}, batch_size=16)  # statistics on: nothing is written in place
    np.testing.assert_array_equal(plain.outputs["s"], measured.outputs["s"])
    expected = x.astype(np.float64)
    p = plain.layer_parameters
    expected = np.tanh(expected @ p["fc1"]["W"] + p["fc1"]["b"])
    expected = np.maximum(expected @ p["fc2"]["W"] + p["fc2"]["b"], 0)
    expected = 1 / (1 + np.exp(-(expected @ p["fc3"]["W"] + p["fc3"]["b"])))
    np.testing.assert_allclose(plain.outputs["s"], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "layers",
    [
        "  - {name: t, type: Tanh}\n",  # the Input's output is the caller's array
        "  - {name: i, type: Identity}\n  - {name: t, type: Tanh}\n",  # passed on as it is
        "  - {name: v, type: Reshape, out_shape: [4, 5]}\n  - {name: t, type: ReLU}\n",  # a view of it
        "  - {name: a, type: Abs}\n  - {name: e, type: Exp, input: a}\n  - {name: t, type: Tanh, input: a}\n",
    ],
    ids=["input", "identity", "reshape-view", "two-readers"],
)
def test_nothing_the_caller_owns_or_another_layer_reads_is_written_over(layers):
    spec = nnspec.loads("nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [20]}\n" + layers)
    x = _data((8, 20))
    kept = x.copy()
    result = nnspec.prepare(spec, statistics=False).run({"x": x})
    np.testing.assert_array_equal(x, kept)
    for name, value in result.outputs.items():
        assert not np.shares_memory(value, x), name
    if "a" in spec.layers:  # Abs is read by two layers: Exp must have seen it unchanged
        np.testing.assert_array_equal(result.outputs["e"], np.exp(np.abs(x)))


def test_parameters_given_are_never_written_over():
    spec = nnspec.loads(MLP)
    runner = nnspec.prepare(spec, statistics=False)
    given = {key: value.copy() for key, value in runner.parameters.items()}
    kept = {key: value.copy() for key, value in given.items()}
    again = nnspec.prepare(spec, given, statistics=False)
    for _ in range(3):
        again.run({"x": _data((16, 20))})
    for key, value in given.items():
        np.testing.assert_array_equal(value, kept[key])


def test_an_output_is_never_an_array_another_output_or_the_caller_holds():
    # Identity hands on fc3's array itself; both are outputs, listed: each gets an array of its own.
    spec = nnspec.loads(MLP + "  - {name: i, type: Identity, input: fc3}\noutputs: [s, fc3, i]\n")
    result = nnspec.prepare(spec, statistics=False).run({"x": _data((4, 20))})
    assert set(result.outputs) == {"s", "fc3", "i"}
    np.testing.assert_array_equal(result.outputs["fc3"], result.outputs["i"])
    assert not np.shares_memory(result.outputs["fc3"], result.outputs["i"])


@pytest.mark.parametrize("name", sorted(n for n, t in layer_types().items() if t.in_place is not None))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_in_place_forward_writes_what_its_forward_returns(name, dtype):
    layer_type = layer_types()[name]
    x = np.concatenate(
        [np.linspace(-120, 120, 241), [0.0, -0.0, 1e-30, -1e-30, 88.0, 89.0, -89.0, 710.0, -710.0]]
    ).astype(dtype)[None, :]
    with np.errstate(all="ignore"):
        expected = layer_type.forward([x.copy()], {}, {})
        buffer = x.copy()
        written = layer_type.in_place(buffer, out=buffer)
    assert written is buffer
    np.testing.assert_array_equal(written, expected)  # bit for bit, signed zeros and infinities included
    assert np.array_equal(np.signbit(written), np.signbit(expected))


def test_nan_parameters_are_found_when_preparing_not_on_each_run():
    spec = nnspec.loads(MLP)
    runner = nnspec.prepare(spec)
    given = {key: value.copy() for key, value in runner.parameters.items()}
    given["fc2/affine/W"][0, 0] = np.nan
    with pytest.raises(SpecError, match="NaN or Inf"):
        nnspec.prepare(spec, given)


def _peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        call()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_run_holds_no_more_than_the_tensors_alive_at_once():
    # Input 256 -> Affine 1024 -> Tanh -> ReLU -> Affine 8, batch 512, float32; the batch is the caller's.
    # Tanh and ReLU write over their inputs, which nothing else reads: one 512 x 1024 tensor (2 MiB) is
    # all a run needs at once, beside the 512 x 8 output.
    spec = nnspec.loads(
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [256]}\n"
        "  - {name: a, type: Affine, out_shape: 1024}\n  - {name: t, type: Tanh}\n"
        "  - {name: r, type: ReLU}\n  - {name: c, type: Affine, out_shape: 8}\n"
    )
    x = _data((512, 256))
    tensor, output = 512 * 1024 * 4, 512 * 8 * 4
    quiet = nnspec.prepare(spec, statistics=False)
    peak = _peak_bytes(lambda: quiet.run({"x": x}))
    assert tensor <= peak <= 1.05 * (tensor + output)
    # With statistics nothing is written in place (they read a layer's input after it ran): a layer's
    # input and output are alive together, and each input dies once its one reader is done.
    measured = nnspec.prepare(spec)
    assert 2 * tensor <= _peak_bytes(lambda: measured.run({"x": x})) <= 1.3 * 2 * tensor


def test_statistics_of_a_tensor_larger_than_a_block_are_those_of_all_its_values():
    rng = np.random.default_rng(3)
    for values in (
        rng.normal(0.5, 1, 3 * BLOCK + 17).astype(np.float32),  # spread beside the mean: one pass of squares
        rng.normal(5, 3, 3 * BLOCK + 17).astype(np.float32),  # the mean dominates: squared deviations
        np.r_[rng.normal(1, 1e-3, BLOCK), [-40.0, 40.0]].astype(np.float32),  # wide range, small spread: both
        (rng.normal(0, 1, 2 * BLOCK + 1) * 3e37).astype(np.float32),  # squares overflow: scaled first
        np.where(rng.random(BLOCK + 9) < 0.3, 0, rng.normal(0, 1e-39, BLOCK + 9)).astype(np.float32),
    ):
        with np.errstate(over="ignore", invalid="ignore"):  # as the runner takes them: the sums overflow
            stats = TensorStats.of(values[None, :])
        wide = values.astype(np.float64)
        assert stats.std == pytest.approx(wide.std(), rel=1e-5)
        assert stats.zeros == np.count_nonzero(values == 0)
        assert stats.subnormal == np.count_nonzero((values != 0) & (np.abs(values) < np.finfo(np.float32).tiny))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zeros_and_subnormals_among_values_of_both_signs_are_found_however_few(dtype):
    # One value nearer 0 than the smallest normal number, hidden among values of both signs: the
    # statistics look for it in the values' bits, and must find it wherever it is and whatever its sign.
    tiny = np.finfo(dtype).tiny
    below = np.nextafter(dtype(tiny), dtype(0))  # the largest subnormal
    base = np.random.default_rng(4).normal(0, 3, (70, 1000)).astype(dtype)  # 70,000 values: two blocks
    base[np.abs(base) < 1e-3] = 1.0  # nothing near 0 to begin with
    for value, zeros, subnormal in [
        (None, 0, 0),
        (0.0, 1, 0),
        (-0.0, 1, 0),
        (below, 0, 1),
        (-below, 0, 1),
        (tiny, 0, 0),
        (-tiny, 0, 0),
    ]:
        for position in (0, 33_333, base.size - 1):
            values = base.copy()
            if value is not None:
                values.reshape(-1)[position] = value
            stats = TensorStats.of(values)
            assert (stats.zeros, stats.subnormal) == (zeros, subnormal), (value, position)
            expected_small = int(np.count_nonzero(np.abs(values) < tiny))
            assert stats.zeros + stats.subnormal == expected_small


def test_statistics_of_a_transposed_tensor_are_those_of_its_values_and_copy_nothing():
    # A convolution's output is a channels-last view; statistics read it in memory order, no copy.
    rng = np.random.default_rng(5)
    laid_out = np.maximum(rng.normal(0, 2, (64, 9, 10, 8)).astype(np.float32), 0)  # N, H, W, C in memory
    view = laid_out.transpose(0, 3, 1, 2)  # N, C, H, W, as a convolution returns it
    copy = np.ascontiguousarray(view)
    a, b = TensorStats.of(view), TensorStats.of(copy)
    assert (a.count, a.min, a.max, a.zeros, a.subnormal) == (b.count, b.min, b.max, b.zeros, b.subnormal)
    assert a.mean == pytest.approx(copy.astype(np.float64).mean(), rel=1e-6)
    assert a.std == pytest.approx(copy.astype(np.float64).std(), rel=1e-5)
    assert a.histogram.sum() == b.histogram.sum()  # the same number sampled, at other positions
    tracemalloc.start()
    TensorStats.of(view)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < view.nbytes / 2  # no copy of the tensor


def test_statistics_of_a_transposed_tensor_merge_batch_by_batch_into_those_of_all_of_it():
    laid_out = np.random.default_rng(6).normal(0, 2, (64, 9, 10, 8)).astype(np.float32)
    view = laid_out.transpose(0, 3, 1, 2)  # channels last in memory, as a convolution's output
    whole = TensorStats.of(view)
    merged = TensorStats.of(view[:16])
    for start in range(16, 64, 16):
        merged = merged.merge(TensorStats.of(view[start : start + 16], start))  # each sample by its number
    assert (whole.count, whole.min, whole.max, whole.zeros) == (merged.count, merged.min, merged.max, merged.zeros)
    np.testing.assert_array_equal(whole.histogram, merged.histogram)  # a sample's positions in every batch
    assert whole.mean == pytest.approx(merged.mean, rel=1e-9, abs=1e-12)
    assert whole.std == pytest.approx(merged.std, rel=1e-6)
