"""DeformableConvolution and AdaptiveSeparableConvolution (nnspec/layers/basic.py) checked against loop
references and nnabla 1.39.

The reference follows nnabla's definition output by output and tap by tap in Python floats: the tap
of kernel position (i, j) of output (y, x) reads the input at (y s + i d - p + dy, x s + j d - p + dx),
(dy, dx) the offsets of its deformable group stored at the input position (y s, x s), bilinearly
between the four neighbouring pixels (a neighbour outside the image counts 0; a position outside
(-1, H) x (-1, W) reads 0), times the mask there; then the weighted sum over the taps and the input
channels of the output's group, plus the bias.

Tolerance: a sum of up to 4 x 9 x 4 products of values of order 1, in float64 and rounded once: the
harness's RTOL with an absolute floor of 1e-6 (float32) / 1e-12 (float64) for outputs that cancel to
near 0. nnabla's outputs (tests/fixtures/nnabla/misc_layers.npz) are compared in float32, rtol 1e-5.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.core.diagnostics import SpecError

from .layer_harness import assert_shape_rule, run_spec

FIXTURE = Path(__file__).parent / "fixtures" / "nnabla" / "misc_layers.npz"


def _pixel(image, row: int, col: int) -> float:
    height, width = len(image), len(image[0])
    return float(image[row][col]) if 0 <= row < height and 0 <= col < width else 0.0


def _read(image, h: float, w: float) -> float:
    """The image (H x W) at a fractional position, bilinearly, as nnabla's im2col_bilinear."""
    height, width = len(image), len(image[0])
    if not (h > -1 and w > -1 and h < height and w < width):
        return 0.0
    h0, w0 = math.floor(h), math.floor(w)
    lh, lw = h - h0, w - w0
    return (
        (1 - lh) * (1 - lw) * _pixel(image, h0, w0)
        + (1 - lh) * lw * _pixel(image, h0, w0 + 1)
        + lh * (1 - lw) * _pixel(image, h0 + 1, w0)
        + lh * lw * _pixel(image, h0 + 1, w0 + 1)
    )


def ref_deformable_convolution(x, offset, mask, weight, bias, props):
    batch, channels, height, width = x.shape
    maps, per_group_in, kh, kw = weight.shape
    (ph, pw), (sh, sw), (dh, dw) = props["padding"], props["strides"], props["dilation"]
    group, groups = props["group"], props["deformable_group"]
    out_h = (height + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    out_w = (width + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    out = np.zeros((batch, maps, out_h, out_w))
    for n in range(batch):
        for m in range(maps):
            g = m // (maps // group)
            for y in range(out_h):
                for xo in range(out_w):
                    total = float(bias[m]) if bias is not None else 0.0
                    for c in range(per_group_in):
                        channel = g * per_group_in + c
                        dg = channel // (channels // groups)
                        for i in range(kh):
                            for j in range(kw):
                                tap = i * kw + j
                                dy = float(offset[n, dg * 2 * kh * kw + 2 * tap, y * sh, xo * sw])
                                dx = float(offset[n, dg * 2 * kh * kw + 2 * tap + 1, y * sh, xo * sw])
                                scale = float(mask[n, dg * kh * kw + tap, y * sh, xo * sw])
                                value = _read(x[n, channel], y * sh + i * dh - ph + dy, xo * sw + j * dw - pw + dx)
                                total += float(weight[m, c, i, j]) * value * scale
                    out[n, m, y, xo] = total
    return out


def ref_adaptive_separable_convolution(x, vertical, horizontal):
    """o[n, c, y, x] = sum_{j, i} V[n, j, y, x] H[n, i, y, x] x[n, c, y + j, x + i], value by value."""
    batch, channels, height, width = x.shape
    kv, kh = vertical.shape[1], horizontal.shape[1]
    out = np.zeros((batch, channels, height - kv + 1, width - kh + 1))
    for n, c, y, xo in np.ndindex(out.shape):
        out[n, c, y, xo] = sum(
            float(vertical[n, j, y, xo]) * float(horizontal[n, i, y, xo]) * float(x[n, c, y + j, xo + i])
            for j in range(kv)
            for i in range(kh)
        )
    return out


REFERENCES = {
    "DeformableConvolution": ref_deformable_convolution,
    "AdaptiveSeparableConvolution": ref_adaptive_separable_convolution,
}

_RNG = np.random.default_rng(8)
CASES = [
    # (id, props for the spec, props for the reference, input shape, weight shape)
    (
        "same",
        "out_maps: 4",
        {"padding": (1, 1), "strides": (1, 1), "dilation": (1, 1), "group": 1, "deformable_group": 1},
        (2, 4, 5),
        (4, 2, 3, 3),
    ),
    (
        "groups-strided",
        "out_maps: 4, padding: [1, 0], strides: [2, 1], group: 2, deformable_group: 2, with_bias: false",
        {"padding": (1, 0), "strides": (2, 1), "dilation": (1, 1), "group": 2, "deformable_group": 2},
        (4, 5, 4),
        (4, 2, 3, 3),
    ),
    (
        "dilated-valid",
        "out_maps: 2, border_mode: valid, dilation: [2, 1], kernel_shape: [2, 3]",
        {"padding": (0, 0), "strides": (1, 1), "dilation": (2, 1), "group": 1, "deformable_group": 1},
        (3, 5, 5),
        (2, 3, 2, 3),
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case, props, ref_props, shape, weight_shape", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_reference(case, props, ref_props, shape, weight_shape, dtype):
    kh, kw = weight_shape[2:]
    groups = ref_props["deformable_group"]
    x = _RNG.normal(0, 1, (2, *shape))
    offset = _RNG.normal(0, 1.5, (2, 2 * groups * kh * kw, *shape[1:]))  # some taps read outside the image
    mask = _RNG.uniform(0, 1, (2, groups * kh * kw, *shape[1:]))
    weight = _RNG.normal(0, 0.5, weight_shape)
    bias = _RNG.normal(0, 1, (weight_shape[0],))
    with_bias = "with_bias: false" not in props
    params = {"y/deformable_conv/W": weight, **({"y/deformable_conv/b": bias} if with_bias else {})}
    text = (
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: {list(shape)}}}\n"
        f"  - {{name: y, type: DeformableConvolution, input: x, {props}, Offset: {{dataset: shifts}}, "
        "Mask: {dataset: m}}\noutputs: [y]\n"
    )
    spec, result = run_spec(text, {"x": x, "shifts": offset, "m": mask}, params=params)
    got = result.outputs["y"]

    def r(a):
        return a.astype(dtype).astype(np.float64)

    expected = ref_deformable_convolution(
        r(x), r(offset), r(mask), r(weight), r(bias) if with_bias else None, ref_props
    )
    assert_shape_rule(spec, got, 2)
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-12, 1e-12)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "case, props, offset, mask, weight",
    [
        (
            "dconv",
            "padding: [1, 1], strides: [1, 2], group: 2, deformable_group: 2",
            "dconv_offset",
            "dconv_mask",
            "dconv_W",
        ),
        ("dconv2", "padding: [2, 0], dilation: [2, 2]", "dconv2_offset", "dconv2_mask", "dconv2_W"),
    ],
)
def test_matches_nnabla(case, props, offset, mask, weight):
    with np.load(FIXTURE) as data:
        fixture = {name: data[name] for name in data.files}
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [4, 5, 6]}\n"
        f"  - {{name: y, type: DeformableConvolution, input: x, out_maps: 6, {props}, Offset: {{dataset: shifts}}, "
        "Mask: {dataset: m}}\noutputs: [y]\n"
    )
    params = {"y/deformable_conv/W": fixture[weight], "y/deformable_conv/b": fixture["dconv_b"]}
    data = {"x": fixture["dconv_x"], "shifts": fixture[offset], "m": fixture[mask]}
    _, result = run_spec(text, data, params=params)
    np.testing.assert_allclose(result.outputs["y"], fixture[f"{case}_out"], rtol=1e-5, atol=1e-5)


def test_zero_offsets_and_unit_mask_are_a_convolution():
    """With Offset 0 and Mask 1 every tap reads its pixel: the output is Convolution's with the same W and b."""
    x = _RNG.normal(0, 1, (2, 3, 5, 5))
    weight, bias = _RNG.normal(0, 1, (4, 3, 3, 3)), _RNG.normal(0, 1, (4,))
    text = (
        "nnspec: 1\ndtype: float64\nlayers:\n  - {name: x, type: Input, size: [3, 5, 5]}\n"
        "  - {name: d, type: DeformableConvolution, input: x, out_maps: 4, Offset: {generator: Constant, "
        "generator_multiplier: 0}}\n  - {name: c, type: Convolution, input: x, out_maps: 4}\noutputs: [d, c]\n"
    )
    params = {"d/deformable_conv/W": weight, "d/deformable_conv/b": bias, "c/conv/W": weight, "c/conv/b": bias}
    outputs = run_spec(text, {"x": x}, params=params)[1].outputs
    np.testing.assert_allclose(outputs["d"], outputs["c"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "props, words",
    [
        ("kernel_shape: [3]", "2-D"),
        ("channel_last: true", "channel_last is not supported"),
        ("deformable_group: 3", "deformable_group 3 must divide"),
        ("padding: [2, 2]", "puts the kernel's centre in the padding"),
        (
            "border_mode: full, padding: [1, 1], strides: [1, 1], kernel_shape: [3, 3], dilation: [1, 1], out_maps: 2",
            None,
        ),
    ],
)
def test_shapes_nnabla_refuses_are_refused(props, words):
    text = (
        "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [3, 5, 5]}\n"
        f"  - {{name: y, type: DeformableConvolution, input: x, {props}}}\n"
    )
    if words is None:
        assert nnspec.loads(text).layers["y"].target_shapes["Offset"] == (18, 5, 5)
        return
    with pytest.raises(SpecError) as raised:
        nnspec.loads(text)
    assert words in str(raised.value)


def _separable_text(dtype: str, shape, kernel) -> str:
    return (
        f"nnspec: 1\ndtype: {dtype}\nlayers:\n  - {{name: x, type: Input, size: {list(shape)}}}\n"
        f"  - {{name: y, type: AdaptiveSeparableConvolution, input: x, kernel_shape: {list(kernel)}, "
        "V: {dataset: v}, H: {dataset: h}}\noutputs: [y]\n"
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adaptive_separable_convolution_matches_reference(dtype):
    x = _RNG.normal(0, 1, (2, 3, 6, 5))
    vertical, horizontal = _RNG.normal(0, 1, (2, 2, 5, 3)), _RNG.normal(0, 1, (2, 3, 5, 3))
    spec, result = run_spec(_separable_text(dtype, (3, 6, 5), (2, 3)), {"x": x, "v": vertical, "h": horizontal})
    got = result.outputs["y"]

    def r(a):
        return a.astype(dtype).astype(np.float64)

    assert_shape_rule(spec, got, 2)
    assert spec.layers["y"].target_shapes == {"V": (2, 5, 3), "H": (3, 5, 3)}
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-12, 1e-12)
    np.testing.assert_allclose(
        got, ref_adaptive_separable_convolution(r(x), r(vertical), r(horizontal)), rtol=rtol, atol=atol
    )


def test_adaptive_separable_convolution_matches_nnabla():
    with np.load(FIXTURE) as data:
        fixture = {name: data[name] for name in data.files}
    data = {"x": fixture["asc_x"], "v": fixture["asc_v"], "h": fixture["asc_h"]}
    _, result = run_spec(_separable_text("float32", (3, 6, 7), (3, 4)), data)
    np.testing.assert_allclose(result.outputs["y"], fixture["asc_out"], rtol=1e-5, atol=1e-5)


def test_adaptive_separable_kernel_longer_than_the_input_is_refused():
    with pytest.raises(SpecError) as raised:
        nnspec.loads(_separable_text("float32", (3, 4, 4), (5, 3)))
    assert "longer than the input's (H, W) (4, 4)" in str(raised.value)


def _input_section(index: int, name: str, size: str) -> str:
    return (
        f"[Layer_{index}]\nID={index}\nType=Input\nProperty_0_Name=Name\nProperty_0_Value={name}\n"
        f"Property_1_Name=Size\nProperty_1_Value={size}\nNumProperty=2\n"
    )


def _link(index: int, source: int, pin: int) -> str:
    return f"[Link_{index}]\nID={index}\nSourceLayerID={source}\nSourcePinIndex=0\nDestLayerID=3\nDestPinIndex={pin}\n"


def test_nnc_project_links_offset_and_mask_by_nnc_s_pin_order(tmp_path):
    """NNC's DeformableConvolution pins are W, Offset, Mask, b (not parameters first): a link into pin 2
    is Offset's, into pin 3 Mask's."""
    text = (
        "[Engine]\nSDeepEngineType=NNabla\n[Network_Global]\nNumLayer=4\nNumLink=3\n"
        + _input_section(0, "x", "3,5,5")
        + _input_section(1, "shifts", "18,5,5")
        + _input_section(2, "scales", "9,5,5")
        + "[Layer_3]\nID=3\nType=DeformableConvolution\nProperty_0_Name=Name\nProperty_0_Value=d\n"
        "Property_1_Name=OutMaps\nProperty_1_Value=4\nNumProperty=2\n"
        + _link(0, 0, 0)
        + _link(1, 1, 2)
        + _link(2, 2, 3)
    )
    path = tmp_path / "p.sdcproj"
    path.write_text(text)
    layer = nnspec.load(path).layers["d"]
    assert layer.side_inputs() == {"Offset": "shifts", "Mask": "scales"}
    assert layer.shape == (4, 5, 5)
