"""input-range and static prediction for data a dataset feeds unnormalised (NNC's ImageNormalization=0).

A network fed 0..255 images scales them itself (NNC's samples: MulScalar, AddScalar), so the check
judges what the first layer that takes the values receives, past the scaling, shape, pooling and
augmentation layers, and validate assumes 0..255 for an image-shaped Input of such a dataset. The
expected figures are worked by hand: uniform 0..255 has mean 127.5 and std 255 / sqrt(12); the PNGs
are written here from known pixels, so what reaches a layer is those pixels, scaled by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.spec.static import estimates

try:
    from PIL import Image
except ImportError:  # pragma: no cover - the test extra installs Pillow
    Image = None

needs_pillow = pytest.mark.skipif(Image is None, reason="Pillow is not installed (pip install Pillow)")

RAW_DATASET = "dataset: {uri: index.csv, image_normalization: false}\n"
NORMALISED_DATASET = "dataset: index.csv\n"
TO_NNC_RANGE = (  # 0..255 onto -1..1, as NNC's samples scale raw pixels
    "  - {name: scaled, type: MulScalar, value: 0.00784313725490196}\n  - {name: shifted, type: AddScalar, value: -1}\n"
)
PIXELS = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4 + 3  # 3..255 in steps of 4


def spec(folder: Path, dataset: str, before_conv: str = "", size: str = "[1, 8, 8]") -> Path:
    """An Input of a PNG dataset, ``before_conv`` layers, then a Convolution and a Tanh."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "img").mkdir(exist_ok=True)
    if Image is not None:
        for i in range(4):
            Image.fromarray(np.roll(PIXELS, i), mode="L").save(folder / "img" / f"{i}.png")
    (folder / "index.csv").write_text("x:image\n" + "".join(f"img/{i}.png\n" for i in range(4)), encoding="utf-8")
    path = folder / "spec.yaml"
    path.write_text(
        f"nnspec: 2\n{dataset}layers:\n  - {{name: x, type: Input, size: {size}}}\n{before_conv}"
        "  - {name: conv, type: Convolution, out_maps: 2, kernel_shape: [3, 3]}\n"
        "  - {name: t, type: Tanh}\noutputs: [t]\n",
        encoding="utf-8",
    )
    return path


def input_range(diagnostics_or_findings) -> list[str]:
    return [
        d.message
        for d in diagnostics_or_findings
        if getattr(d, "code", None) == "input-range" or getattr(d, "check", None) == "input-range"
    ]


# -- validate: 0..255 assumed for an image-shaped Input of an unnormalised dataset ----------------------


def test_an_image_input_of_an_unnormalised_dataset_is_estimated_as_0_to_255(tmp_path):
    found = estimates(nnspec.load(spec(tmp_path, RAW_DATASET, TO_NNC_RANGE)))
    x = found["x"]
    assert (x.low, x.high) == (0.0, 255.0)
    assert x.mean == pytest.approx(127.5) and x.std == pytest.approx(255 / 12**0.5)
    # x / 127.5 - 1: -1..1, mean 0 (in float32)
    shifted = found["shifted"]
    assert shifted.low == pytest.approx(-1.0) and shifted.high == pytest.approx(1.0)
    assert shifted.mean == pytest.approx(0.0, abs=1e-6)


def test_normalised_data_and_inputs_that_are_not_images_keep_nncs_rule(tmp_path):
    normalised = estimates(nnspec.load(spec(tmp_path / "a", NORMALISED_DATASET)))["x"]
    assert (normalised.low, normalised.high) == (-1.0, 1.0)
    # (8, 8): not (1 or 3, H, W), not an image as NNC's datasets give one; numbers are never normalised
    flat = estimates(
        nnspec.load(spec(tmp_path / "b", RAW_DATASET, "  - {name: r, type: Reshape, out_shape: [1, 8, 8]}\n", "[8, 8]"))
    )
    assert (flat["x"].low, flat["x"].high) == (-1.0, 1.0)


def test_a_declared_range_wins_over_the_assumption(tmp_path):
    path = spec(tmp_path, RAW_DATASET)
    path.write_text(path.read_text().replace("size: [1, 8, 8]}", "size: [1, 8, 8], range: [0, 65535]}"))
    x = estimates(nnspec.load(path))["x"]
    assert (x.low, x.high) == (0.0, 65535.0)


def test_validate_warns_where_unscaled_pixels_reach_a_layer_and_not_where_the_network_scales_them(tmp_path):
    raw = input_range(nnspec.validate(spec(tmp_path / "raw", RAW_DATASET)))
    assert len(raw) == 1
    assert "reach 'conv' (Convolution) directly as 0..255" in raw[0]
    assert "MulScalar 0.007843 then AddScalar -1" in raw[0] and "image_normalization true" in raw[0]
    assert not input_range(nnspec.validate(spec(tmp_path / "scaled", RAW_DATASET, TO_NNC_RANGE)))
    # the same network on a normalised dataset: -1..1 reaches it, as before
    assert not input_range(nnspec.validate(spec(tmp_path / "normalised", NORMALISED_DATASET)))


def test_validate_names_the_layers_the_values_passed_through(tmp_path):
    halved = "  - {name: half, type: MulScalar, value: 0.5}\n  - {name: pool, type: MaxPooling, kernel_shape: [2, 2]}\n"
    raw = input_range(nnspec.validate(spec(tmp_path, RAW_DATASET, halved)))
    assert len(raw) == 1
    # 0..255 halved: 0..127.5, onto -1..1 by x * 2 / 127.5 - 1
    assert "reach 'conv' (Convolution) through 'half' (MulScalar), 'pool' (MaxPooling) as 0..127.5" in raw[0]
    assert "MulScalar 0.01569 then AddScalar -1" in raw[0]


def test_a_normalisation_layer_first_is_no_finding(tmp_path):
    batch_norm = "  - {name: bn, type: BatchNormalization}\n"
    assert not input_range(nnspec.validate(spec(tmp_path, RAW_DATASET, batch_norm)))


def test_a_projects_unnormalised_dataset_is_what_validate_assumes(tmp_path):
    raw_pixels = Path(__file__).resolve().parent / "fixtures" / "nnc" / "raw_pixels.sdcproj"
    found = estimates(nnspec.load(raw_pixels))  # its Input (1, 4, 4), ImageNormalization=0, x / 128 - 1
    assert (found["Input"].low, found["Input"].high) == (0.0, 255.0)
    assert found["AddScalar"].low == pytest.approx(-1.0) and found["AddScalar"].high == pytest.approx(255 / 128 - 1)
    assert not input_range(nnspec.validate(raw_pixels))


# -- run: the pixels as read, judged where the network takes them ---------------------------------------


@needs_pillow
def test_run_warns_where_unscaled_pixels_reach_a_layer(tmp_path):
    result = nnspec.run(spec(tmp_path, RAW_DATASET))
    raw = [f for f in result.findings if f.check == "input-range"]
    assert len(raw) == 1 and raw[0].layer == "x"
    # the pixels as they are: 3..255 (PIXELS), not divided by 255
    assert f"reaches 'conv' (Convolution) directly as {PIXELS.min()}..{PIXELS.max()}" in (raw[0].message)
    assert "MulScalar 0.007937 then AddScalar -1.024" in raw[0].message  # 2 / 252, -1 - 3 * 2 / 252


@needs_pillow
def test_run_is_quiet_when_the_network_scales_its_pixels_or_the_dataset_normalises_them(tmp_path):
    scaled = nnspec.run(spec(tmp_path / "scaled", RAW_DATASET, TO_NNC_RANGE))
    assert not input_range(scaled.findings)
    # the unscaled network, its dataset normalised for the run: 3/255..1 at the Input, judged there
    normalised = nnspec.run(spec(tmp_path / "raw", RAW_DATASET), image_normalization=True)
    assert normalised.sources["x"].image_normalization is None and not input_range(normalised.findings)


def test_a_synthetic_run_of_unnormalised_images_is_judged_as_the_dataset_would_be(tmp_path):
    # no dataset: --synthetic --no-image-normalization draws 0..255 for x, as for a dataset fed so
    raw = nnspec.run(spec(tmp_path / "raw", ""), synthetic=True, image_normalization=False, samples=20)
    assert raw.sources["x"].synthesis is not None and raw.sources["x"].synthesis.unnormalised
    (message,) = input_range(raw.findings)
    assert "reaches 'conv' (Convolution)" in message
    scaled = nnspec.run(spec(tmp_path / "scaled", "", TO_NNC_RANGE), synthetic=True, image_normalization=False)
    assert not input_range(scaled.findings)


def test_the_layers_passed_and_the_normalising_ones_are_layer_types_nnspec_has():
    from nnspec.checks.data import NORMALISING, PASSING
    from nnspec.layers.catalog import layer_types

    assert not (PASSING | NORMALISING) - set(layer_types())
    # every one of them is named in docs/spec.md, where the rule is documented
    text = (Path(__file__).resolve().parents[1] / "docs" / "spec.md").read_text(encoding="utf-8")
    rule = " ".join(text[text.index("The range checks know such data") :].split("`validate` predicts")[0].split())
    named = {name for name in PASSING | NORMALISING if name in rule}
    poolings = {"MaxPooling", "AveragePooling", "SumPooling", "GlobalAveragePooling"}
    augmentations = {"RandomCrop", "RandomFlip", "RandomShift", "RandomErase"}
    assert (PASSING | NORMALISING) - named <= poolings | augmentations
    assert "the poolings" in rule and "Random* augmentations" in rule


def test_a_comparison_first_is_no_finding(tmp_path):
    # a label image tested against 254 (NNC's U-Net samples): the value is set for 0..255
    tested = "  - {name: valid, type: LessEqualScalar, value: 254}\n"
    assert not input_range(nnspec.validate(spec(tmp_path, RAW_DATASET, tested)))


def test_every_path_is_followed_and_the_unscaled_one_named(tmp_path):
    # x feeds a BatchNormalization (fine) and, on another path, a Convolution directly (not)
    branch = (
        "  - {name: bn, type: BatchNormalization}\n"
        "  - {name: side, type: Convolution, input: x, out_maps: 2, kernel_shape: [3, 3]}\n"
    )
    path = spec(tmp_path, RAW_DATASET, branch)
    path.write_text(
        path.read_text().replace("{name: conv, type: Convolution,", "{name: conv, type: Convolution, input: bn,")
    )
    (message,) = input_range(nnspec.validate(path))
    assert "reach 'side' (Convolution) directly as 0..255" in message
