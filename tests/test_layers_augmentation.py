"""The augmentation layers (ImageAugmentation, RandomFlip, RandomShift, RandomCrop, RandomErase)
checked against independent references, nnabla 1.39, and the distributions they draw from.

References:

* evaluation (nnspec's default): a layer with skip_at_test passes its input through (checked bit for
  bit); ImageAugmentation with skip_at_test false is its fixed scale and centre crop: a hand-cut
  window where the crop falls on whole pixels, and nnabla's own output on fixtures where its random
  position has no room (tests/fixtures/nnabla/augmentation.npz, scripts/make_nnabla_augmentation_fixture.py),
  float32 within 1e-5. nnabla's whole random warp is checked too, with the draws nnabla made
  (reproduced from its seeded std::mt19937) given to nnspec's transform.
* RandomCrop crops at random at evaluation too: each output sample must be one window of its input.
* training: the draws are checked by their distribution, with tolerances of 4.5 standard errors of the
  sample size used (a correct layer fails such a test about once in 150,000 runs), and for reproducibility and
  batching invariance (batches of 1, 7 and all samples give identical outputs).
"""

from __future__ import annotations

from collections import Counter
from math import sqrt
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.estimate import Estimate
from nnspec.layers import augmentation as aug
from nnspec.spec.semantics import effective_props

# The layer types this module adds to the catalog (and tests), each with its reference at evaluation.


def ref_identity(inputs, props):
    return inputs[0].copy()


def ref_center_crop(inputs, props):
    """Scale 1: the window of the output's size in the middle of the (padded, edge-repeated) image."""
    x = inputs[0]
    pad_h, pad_w = props.get("pad", (0, 0))
    x = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)), mode="edge")
    h, w = props["shape"][-2:]
    top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
    return x[:, :, top : top + h, left : left + w]


REFERENCES = {
    "ImageAugmentation": ref_center_crop,
    "RandomFlip": ref_identity,
    "RandomShift": ref_identity,
    "RandomErase": ref_identity,
    "RandomCrop": None,  # random at evaluation: test_random_crop_at_evaluation_is_a_window_of_the_input
}

NNABLA = np.load(Path(__file__).parent / "fixtures" / "nnabla" / "augmentation.npz")


def spec_text(dtype: str, size, layer: str, props: str = "", seed: int = 0) -> str:
    extra = f", {props}" if props else ""
    return (
        f"nnspec: 2\ndtype: {dtype}\nseed: {seed}\nlayers:\n"
        f"  - {{name: x, type: Input, size: {list(size)}}}\n"
        f"  - {{name: y, type: {layer}, input: x{extra}}}\n"
        "outputs: [y]\n"
    )


def run(text: str, x: np.ndarray, **options) -> np.ndarray:
    result = nnspec.run(nnspec.loads(text), {"x": x}, statistics=False, **options)
    return result.outputs["y"]


def uniform(shape, seed=0, dtype="float32") -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


# --- the catalog follows NNC's definitions ------------------------------------------------------


def test_catalog_entries_follow_nnc_defaults():
    """NNC's layer_component/Others(Pre Process)/*.txt values, written out here by hand."""
    expected = {
        "ImageAugmentation": {
            "shape": None,
            "pad": [0, 0],
            "min_scale": 1.0,
            "max_scale": 1.0,
            "angle": 0.0,
            "aspect_ratio": 1.0,
            "distortion": 0.0,
            "flip_lr": False,
            "flip_ud": False,
            "brightness": 0.0,
            "brightness_each": False,
            "contrast": 1.0,
            "contrast_center": 0.5,
            "contrast_each": False,
            "noise": 0.0,
            "seed": -1,
            "skip_at_test": True,
        },
        "RandomFlip": {"axes": [0], "seed": -1, "skip_at_test": True},
        "RandomShift": {"shift": [0, 0], "border_mode": "nearest", "seed": -1, "skip_at_test": True},
        "RandomCrop": {"shape": None, "seed": -1},
        "RandomErase": {
            "prob": 0.5,
            "area_ratios": [0.02, 0.4],
            "aspect_ratios": [0.3, 3.3333],
            "replacements": [0.0, 1.0],
            "n": 1,
            "share": True,
            "channel_last": False,
            "ste_fine_grained": True,
            "seed": -1,
            "skip_at_test": True,
        },
    }
    types = nnspec.layer_types()
    for name, defaults in expected.items():
        assert {p.name: p.default for p in types[name].properties} == defaults, name
        assert types[name].skip_at_test == ("skip_at_test" in defaults)


# NNC's property names, as its definitions list them ([Property] of each .txt), less Input and Output
# and what the .sdcproj reader drops on purpose (InPlace, BaseAxis: memory reuse, a fixed 0).
NNC_PROPERTIES = {
    "ImageAugmentation": "Shape Pad MinScale MaxScale Angle AspectRatio Distortion FlipLR FlipUD Brightness "
    "BrightnessEach Contrast ContrastCenter ContrastEach Noise Seed SkipAtTest",
    "RandomCrop": "Shape Seed",
    "RandomErase": "Prob AreaRatios AspectRatios Replacements N Share Seed ChannelLast STEFineGrained SkipAtTest",
    "RandomFlip": "Axes Seed SkipAtTest",
    "RandomShift": "Shift BorderMode Seed SkipAtTest",
}


def test_every_nnc_property_has_its_nnc_spelling():
    """A project's FlipLR or STEFineGrained is read into the property it means, not left out."""
    types = nnspec.layer_types()
    for name, properties in NNC_PROPERTIES.items():
        assert [p.nnc_name for p in types[name].properties] == properties.split(), name


# --- evaluation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer, props",
    [
        ("RandomFlip", "axes: [1, 2]"),
        ("RandomShift", "shift: [3, 3]"),
        ("RandomErase", "prob: 1.0"),
        ("ImageAugmentation", "flip_lr: true, angle: 0.5, noise: 0.3, brightness: 0.2"),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_skipped_at_evaluation_is_the_identity(layer, props, dtype):
    x = uniform((5, 3, 6, 7), dtype=dtype)
    got = run(spec_text(dtype, (3, 6, 7), layer, props), x)
    np.testing.assert_array_equal(got, ref_identity([x], {}))
    assert got.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    "props, ref_props",
    [
        ("shape: [3, 4, 5]", {"shape": (3, 4, 5)}),
        ("shape: [6, 7], pad: [1, 2]", {"shape": (6, 7), "pad": (1, 2)}),
        ("shape: [3, 8, 9], flip_lr: true, angle: 1.0, brightness: 0.5, noise: 0.5", {"shape": (3, 8, 9)}),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_image_augmentation_at_evaluation_is_the_centre_crop(props, ref_props, dtype):
    """contrast_center 0 keeps (v + 0) * 1 + 0 exact; the random parts are off at evaluation."""
    x = uniform((4, 3, 8, 9), dtype=dtype)
    text = spec_text(dtype, (3, 8, 9), "ImageAugmentation", props + ", contrast_center: 0, skip_at_test: false")
    np.testing.assert_array_equal(run(text, x), ref_center_crop([x], ref_props))


@pytest.mark.parametrize(
    "case, props",
    [
        ("det", "shape: [3, 5, 7], pad: [1, 2], min_scale: 0.5, max_scale: 0.5, contrast_center: 0.3"),
        ("up", "shape: [1, 12, 12], min_scale: 2.0, max_scale: 2.0"),
    ],
)
def test_image_augmentation_at_evaluation_matches_nnabla(case, props):
    x = NNABLA[f"{case}_x"]
    got = run(spec_text("float32", x.shape[1:], "ImageAugmentation", props + ", skip_at_test: false"), x)
    np.testing.assert_allclose(got, NNABLA[f"{case}_out"], rtol=0, atol=1e-5)


def test_image_augmentation_warp_matches_nnabla_given_its_draws():
    """Every random part on (but noise): nnspec's transform given the draws nnabla made."""
    levels = NNABLA["full_levels"]
    u = (levels.astype(np.float32) * np.float32(0.001)).astype(np.float64)
    draws = aug._Draws(
        scale=u[:, 0],
        aspect=u[:, 1],
        angle=u[:, 2],
        x=u[:, 3],
        y=u[:, 4],
        flip_lr=levels[:, 5].astype(float),
        flip_ud=levels[:, 6].astype(float),
        brightness=u[:, [9, 11]],
        contrast=u[:, [10, 12]],
        distortion=u[:, 13],
        noise=u[:, 14],
    )
    props = {
        "shape": (2, 7, 8),
        "pad": (0, 0),
        "min_scale": 0.7,
        "max_scale": 1.3,
        "angle": 0.3,
        "aspect_ratio": 1.4,
        "distortion": 0.2,
        "brightness": 0.1,
        "contrast": 1.5,
        "contrast_center": 0.4,
    }
    x = NNABLA["full_x"]
    got = aug._tone(aug._warp(x, (7, 8), props, draws), props, draws)
    np.testing.assert_allclose(got, NNABLA["full_out"], rtol=0, atol=1e-5)


def windows(x: np.ndarray, size) -> list[np.ndarray]:
    """Every window of ``size`` in one sample (C, H, W), by explicit loops."""
    h, w = size
    return [x[:, i : i + h, j : j + w] for i in range(x.shape[1] - h + 1) for j in range(x.shape[2] - w + 1)]


def test_random_crop_at_evaluation_is_a_window_of_the_input():
    x = uniform((12, 2, 7, 8))
    text = spec_text("float32", (2, 7, 8), "RandomCrop", "shape: [2, 4, 5]")
    got = run(text, x)
    positions = set()
    for sample, out in zip(x, got):
        matches = [k for k, window in enumerate(windows(sample, (4, 5))) if np.array_equal(window, out)]
        assert len(matches) == 1
        positions.add(matches[0])
    assert len(positions) > 1  # at random, not one fixed window
    np.testing.assert_array_equal(run(text, x, batch_size=5), got)  # reproducible and batching-invariant


# --- training: reproducible, batching-invariant, and drawn from the right distributions ----------

TRAINING_CASES = [
    (
        "ImageAugmentation",
        "shape: [3, 6, 7], min_scale: 0.8, max_scale: 1.2, angle: 0.2, flip_lr: true, "
        "flip_ud: true, brightness: 0.1, brightness_each: true, contrast: 1.3, noise: 0.1, distortion: 0.1, "
        "skip_at_test: false",
    ),
    ("RandomFlip", "axes: [0, 2]"),
    ("RandomShift", "shift: [2, 3], border_mode: reflect"),
    ("RandomCrop", "shape: [5, 6]"),
    ("RandomErase", "prob: 0.7, n: 2, share: false"),
]


@pytest.mark.parametrize("layer, props", TRAINING_CASES, ids=[case[0] for case in TRAINING_CASES])
def test_training_draws_are_reproducible_and_do_not_depend_on_batching(layer, props):
    x = uniform((20, 3, 8, 9), seed=5)
    text = spec_text("float32", (3, 8, 9), layer, props, seed=4)
    whole = run(text, x, view="training")
    for batch in (1, 7):
        np.testing.assert_array_equal(run(text, x, view="training", batch_size=batch), whole)
    assert not np.array_equal(run(spec_text("float32", (3, 8, 9), layer, props, seed=5), x, view="training"), whole)
    if layer != "RandomCrop":
        assert not np.array_equal(whole, run(text, x))  # training differs from evaluation


def within(observed: float, expected: float, standard_error: float) -> bool:
    return abs(observed - expected) <= 4.5 * standard_error


def test_random_flip_flips_each_axis_with_probability_one_half():
    n = 4000
    x = np.broadcast_to(np.arange(12, dtype=np.float32).reshape(1, 3, 4), (n, 3, 4)).copy()
    got = run(spec_text("float32", (3, 4), "RandomFlip", "axes: [0, 1]"), x, view="training")
    flipped_rows = got[:, 0, 0] >= 8
    flipped_columns = got[:, 0, 0] % 4 == 3
    for flipped in (flipped_rows, flipped_columns):
        assert within(flipped.mean(), 0.5, sqrt(0.25 / n))
    assert within((flipped_rows & flipped_columns).mean(), 0.25, sqrt(0.25 * 0.75 / n))  # independent
    for out, rows, columns in zip(got, flipped_rows, flipped_columns):
        expected = x[0][::-1] if rows else x[0]
        np.testing.assert_array_equal(out, expected[:, ::-1] if columns else expected)


def test_random_shift_amounts_are_uniform_in_minus_shift_to_shift():
    n, limit = 3500, 3
    x = np.broadcast_to(np.arange(16, dtype=np.float32), (n, 16)).copy()
    got = run(spec_text("float32", (16,), "RandomShift", f"shift: [{limit}]"), x, view="training")
    amounts = 8 - got[:, 8]  # o[8] = i[8 - s] = 8 - s away from the borders
    counts = Counter(amounts.astype(int))
    assert set(counts) == set(range(-limit, limit + 1))
    p = 1 / (2 * limit + 1)
    for amount in counts:
        assert within(counts[amount] / n, p, sqrt(p * (1 - p) / n))
        shifted = np.clip(np.arange(16) - amount, 0, 15)  # nearest: the edge value repeated
        np.testing.assert_array_equal(got[amounts == amount], np.broadcast_to(shifted, (counts[amount], 16)))


def test_random_crop_positions_are_uniform():
    n = 3000
    x = np.broadcast_to(np.arange(30, dtype=np.float32).reshape(5, 6), (n, 5, 6)).copy()
    got = run(spec_text("float32", (5, 6), "RandomCrop", "shape: [3, 3]"), x)
    tops, lefts = got[:, 0, 0] // 6, got[:, 0, 0] % 6
    for starts, count in ((tops, 3), (lefts, 4)):
        counts = Counter(starts.astype(int))
        assert set(counts) == set(range(count))
        for value in counts.values():
            assert within(value / n, 1 / count, sqrt((1 / count) * (1 - 1 / count) / n))


def test_image_augmentation_noise_has_the_drawn_moments():
    """A flat image at contrast_center: what comes out is the noise alone. nnabla draws each image's
    std as noise * k / 1000 (k uniform in 0..1000): the variance of the values is noise^2 E[(k/1000)^2]
    = noise^2 * 2001 / 6000."""
    n, noise = 600, 0.2
    x = np.full((n, 1, 10, 10), 0.5, dtype=np.float64)
    text = spec_text("float64", (1, 10, 10), "ImageAugmentation", f"noise: {noise}")
    values = run(text, x, view="training").reshape(n, -1) - 0.5
    assert within(values.mean(), 0.0, noise * sqrt(2001 / 6000) / sqrt(values.size))
    per_image = (values**2).mean(axis=1) / noise**2  # about (k/1000)^2 for each image
    assert within(per_image.mean(), 2001 / 6000, np.std(per_image) / sqrt(n))
    stds = np.sqrt((values**2).mean(axis=1)) / noise
    assert stds.min() < 0.1 and stds.max() > 0.9  # spread over 0..1


def test_image_augmentation_flips_half_of_the_images():
    n = 2000
    ramp = np.broadcast_to(np.linspace(-1, 1, 8), (n, 1, 5, 8)).copy()
    text = spec_text("float64", (1, 5, 8), "ImageAugmentation", "flip_lr: true, contrast_center: 0")
    got = run(text, ramp, view="training")
    flipped = got[:, 0, 0, 0] > 0
    assert within(flipped.mean(), 0.5, sqrt(0.25 / n))
    np.testing.assert_allclose(got[flipped], ramp[flipped][..., ::-1], atol=1e-12)
    np.testing.assert_allclose(got[~flipped], ramp[~flipped], atol=1e-12)


def nnabla_erased_share(height: int, width: int, area_ratios, aspect_ratios, draws: int) -> float:
    """The mean share of an image nnabla's random_erase replaces, worked out from its C++ with
    numpy's own generator: box sides floor(sqrt(S R)), floor(sqrt(S / R)) capped at the image, both
    ends of each included (nnabla's <=), the start uniform in 0..H - He."""
    rng = np.random.default_rng(7)
    area = rng.uniform(*area_ratios, draws) * height * width
    aspect = rng.uniform(*aspect_ratios, draws)
    box_h = np.minimum(np.floor(np.sqrt(area * aspect)), height)
    box_w = np.minimum(np.floor(np.sqrt(area / aspect)), width)
    top = np.floor(rng.uniform(0, 1, draws) * (height - box_h + 1))
    left = np.floor(rng.uniform(0, 1, draws) * (width - box_w + 1))
    rows = np.minimum(top + box_h, height - 1) - top + 1
    columns = np.minimum(left + box_w, width - 1) - left + 1
    return float(np.mean(rows * columns) / (height * width))


def test_random_erase_rate_and_area():
    n, prob = 3000, 0.6
    x = np.zeros((n, 2, 12, 10))
    text = spec_text("float64", (2, 12, 10), "RandomErase", f"prob: {prob}, replacements: [1.0, 2.0]")
    got = run(text, x, view="training")
    erased = got > 0
    assert ((got[erased] >= 1.0) & (got[erased] < 2.0)).all()
    np.testing.assert_array_equal(erased[:, 0], erased[:, 1])  # share: one box for both channels
    hit = erased.any(axis=(1, 2, 3))
    assert within(hit.mean(), prob, sqrt(prob * (1 - prob) / n))
    for mask in erased[hit, 0][:50]:  # each erasure a rectangle
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert mask.sum() == len(rows) * len(columns) == (rows[-1] - rows[0] + 1) * (columns[-1] - columns[0] + 1)
    shares = erased[hit, 0].mean(axis=(1, 2))
    expected = nnabla_erased_share(12, 10, (0.02, 0.4), (0.3, 3.3333), 400_000)
    assert within(shares.mean(), expected, shares.std() / sqrt(len(shares)) + 0.002)


# --- shapes, errors, estimates -------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer, size, props, prop",
    [
        ("ImageAugmentation", (3, 8, 8), "shape: [3, 6, 6]", "shape"),  # skipped at test: shapes would differ
        ("ImageAugmentation", (3, 8, 8), "shape: [2, 6, 6], skip_at_test: false", "shape"),
        ("ImageAugmentation", (8,), "", None),
        ("ImageAugmentation", (3, 8, 8), "min_scale: 0, skip_at_test: false", "min_scale"),
        ("RandomCrop", (3, 8, 8), "shape: [9, 8]", "shape"),
        ("RandomErase", (8, 8), "", None),
        ("RandomErase", (3, 8, 8), "channel_last: true", "channel_last"),
        ("RandomFlip", (3, 8), "axes: [2]", "axes"),
        ("RandomShift", (8,), "shift: [1, 1]", "shift"),
    ],
)
def test_invalid_configuration_is_a_located_error(layer, size, props, prop):
    with pytest.raises(nnspec.SpecError) as error:
        nnspec.loads(spec_text("float32", size, layer, props))
    message = str(error.value)
    assert "'y'" in message or "y" in message
    if prop:
        assert prop in message


def test_estimate_rules_by_hand():
    """A flip, shift or crop keeps the input's range; brightness, contrast and noise widen it."""
    x = Estimate.between(0.0, 1.0)
    types = nnspec.layer_types()
    base = {p.name: p.normalize(p.default) for p in types["ImageAugmentation"].properties}
    widened = types["ImageAugmentation"].estimate(
        [x], [(3, 8, 8)], {**base, "skip_at_test": False, "brightness": 0.1, "contrast": 2.0}, {}, "float32"
    )
    # (v + b - 0.5) * k + 0.5 over v in 0..1, b in -0.1..0.1, k in 0.5..2
    assert (widened.low, widened.high) == pytest.approx((-0.7, 1.7))
    noisy = types["ImageAugmentation"].estimate([x], [(3, 8, 8)], {**base, "skip_at_test": False, "noise": 0.1}, {}, "")
    assert noisy.low == -np.inf and noisy.high == np.inf
    for name in ("RandomFlip", "RandomShift", "RandomCrop"):
        props = {p.name: p.normalize(p.default) for p in types[name].properties}
        assert types[name].estimate([x], [(3, 8, 8)], props, {}, "float32") is x
    erase = {p.name: p.normalize(p.default) for p in types["RandomErase"].properties}
    erased = types["RandomErase"].estimate(
        [x], [(3, 8, 8)], {**erase, "skip_at_test": False, "replacements": (-2.0, 3.0)}, {}, "float32"
    )
    assert (erased.low, erased.high) == (-2.0, 3.0)


# --- NNC's repeated evaluations ----------------------------------------------------------------------


def test_an_executor_averaging_several_evaluations_gets_a_note(tmp_path):
    """NumEvaluations > 1 (NNC averaging the outputs over random crops): nnspec evaluates once, and says so."""
    from nnspec.validation import checked

    lenet = Path(__file__).parent / "fixtures" / "nnc" / "lenet.sdcproj"
    text = lenet.read_text()
    assert "NumEvaluations=1\n" in text
    path = tmp_path / "p.sdcproj"
    path.write_text(text.replace("NumEvaluations=1\n", "NumEvaluations=64\n"))
    _, found = checked(path)
    [note] = [d for d in found if "NumEvaluations=64" in d.message]
    assert note.severity == "info" and "evaluates each sample once" in note.message
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if row.startswith("NumEvaluations"))
    assert note.line == line
    _, plain = checked(lenet)
    assert not [d for d in plain if "NumEvaluations" in d.message]


def reflected(size: int, amount: int) -> list[int]:
    """The index each output reads in a shift by ``amount`` with the border mirrored, the edge value
    included (... 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...), by explicit reflection."""
    sources = []
    for j in range(size):
        source = j - amount
        while not 0 <= source < size:
            source = -source - 1 if source < 0 else 2 * size - 1 - source
        sources.append(source)
    return sources


def test_random_shift_reflect_mirrors_the_border():
    n, limit = 400, 5
    x = np.broadcast_to(np.arange(4, dtype=np.float64), (n, 4)).copy()  # shifts beyond the axis's size too
    got = run(spec_text("float64", (4,), "RandomShift", f"shift: [{limit}], border_mode: reflect"), x, view="training")
    seen = set()
    for out in got:
        matches = [s for s in range(-limit, limit + 1) if list(out) == reflected(4, s)]
        assert matches
        seen.update(matches)
    assert len(seen) >= 4  # several amounts drawn (some give the same output)


@pytest.mark.parametrize("layer, props", TRAINING_CASES, ids=[case[0] for case in TRAINING_CASES])
@pytest.mark.parametrize("training", [False, True])
def test_forward_never_warns_for_finite_input(layer, props, training):
    """The runner silences numpy's floating-point warnings; here the forward runs with them raised."""
    x = uniform((6, 3, 8, 9), seed=2) * 1e4
    y = nnspec.loads(spec_text("float32", (3, 8, 9), layer, props)).layers["y"]
    ran = effective_props(y.type, y.props, training=training, seed=3)  # as the view runs it
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"), aug.batch_context(0, training):
        out = y.type.forward([x], ran, {})
    assert np.isfinite(out).all() and out.shape[1:] == y.shape


def test_grayscale_images_of_two_axes():
    """(height, width) samples: one channel, as nnabla takes them."""
    x = uniform((5, 8, 9))
    text = spec_text("float32", (8, 9), "ImageAugmentation", "shape: [4, 5], contrast_center: 0, skip_at_test: false")
    got = run(text, x)
    np.testing.assert_array_equal(got, ref_center_crop([x[:, None]], {"shape": (4, 5)})[:, 0])
    assert run(text, x, view="training").shape == (5, 4, 5)


def test_resolved_spec_says_what_evaluation_does_with_each_augmentation_layer():
    from nnspec.spec.resolved import resolved_text

    text = (
        "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [3, 8, 8]}\n"
        "  - {name: aug, type: ImageAugmentation, shape: [3, 6, 6], skip_at_test: false}\n"
        "  - {name: flip, type: RandomFlip}\n  - {name: shift, type: RandomShift, skip_at_test: false}\n"
        "  - {name: crop, type: RandomCrop, shape: [3, 4, 4]}\n"
    )
    resolved = resolved_text(nnspec.loads(text))
    assert [line for line in resolved.splitlines() if line.startswith("#")][1:] == [
        "# nnspec run (as NNC evaluates): aug keeps only the fixed scale and the centre crop (its random parts at "
        "their middle)",
        "# nnspec run (as NNC evaluates) skips flip: its input passes through",
        "# nnspec run (as NNC evaluates): shift changes nothing (its random parts are off at evaluation)",
        "# nnspec run (as NNC evaluates): crop crops at random (NNC's RandomCrop has no skip_at_test), from its seed",
        "# nnspec run --training runs the properties as written",
    ]
    assert resolved_text(nnspec.loads(resolved)) == resolved
