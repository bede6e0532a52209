"""Acceptance test of specs/bn_residual.yaml against an independent float64 reference.

The spec is run as a user runs it, with every parameter given by its nnabla name (a dict, as
``--params`` takes from a .npz file), on a batch of two float32 inputs. The reference below is
written from the layer definitions alone (nnabla's, as NNC computes them), as plain Python loops
over Python floats (float64): it never calls nnspec's layer code, and it reshapes nothing.

* Convolution, border_mode same: correlation (nnabla does not flip the kernel) with one zero
  added at each end of both spatial axes for a 3x3 kernel, summed term by term.
* BatchNormalization: (x - mean) / sqrt(var + eps) * gamma + beta per channel, eps = 1e-4, the
  default of NNC's Epsilon for this layer, which the spec leaves unset (nnabla's Python function
  F.batch_normalization defaults to eps=1e-5; test_tolerance_tells_wrong_formulas_apart shows
  that value would be caught); batch_stat false: the stored mean and var; batch_stat true: the
  mean and the biased variance
  (sum / n) of the channel over the batch and both spatial axes.
* Add2 (the residual connection), ReLU, GlobalAveragePooling (the mean of each map), Affine with
  nnabla's W layout (inputs, outputs), Softmax with math.exp.

The reference takes the values nnspec receives (inputs and parameters rounded to float32, then
widened to float64 exactly), so it is the answer for exactly those values, and any difference is
nnspec's float32 arithmetic or a mistake.

Tolerance: atol 1e-5 on the probabilities (rtol 0: they lie in 0..1). nnspec computes in float32,
unit roundoff u = 2^-24 = 6e-8. The logits come out of sums of at most 72 products of about 0.1
to 1 (conv2), two standardisations, a residual sum, an average of 256 values and an 8-term
Affine, all with magnitudes of a few units; rounding errors of either sign grow like sqrt(n) u
times those magnitudes, so a logit should be within about 1e-6 of the exact value. A probability
moves by at most 1/4 of each logit's error (dp_i/dz_j = p_i (delta_ij - p_j)), so the
probabilities should be within a few 1e-6; measured: 5.9e-7 with stored statistics, 1.2e-7 with
the batch's. 1e-5 is a margin over that expectation (not a proven bound) and far below what a
wrong definition costs: test_tolerance_tells_wrong_formulas_apart shows each usual mistake
(unbiased batch variance, nnabla's API epsilon 1e-5, epsilon outside the square root, a flipped
kernel, a shifted window, a missing residual) moves some probability by more than 10 x 1e-5
(measured 2.5e-4 to 0.39).
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import nnspec

from .conftest import SPECS

SPEC = SPECS / "bn_residual.yaml"
ATOL = 1e-5
EPSILON = 1e-4  # NNC's BatchNormalization Epsilon default; the spec leaves it unset
BATCH = 2
C_IN, C, H, W, CLASSES = 3, 8, 16, 16, 10


# --- data and parameters --------------------------------------------------------------------------


def make_inputs() -> np.ndarray:
    """Two samples of (3, 16, 16) in -1..1, as the spec declares, in float32."""
    rng = np.random.default_rng(20240611)
    return rng.uniform(-1.0, 1.0, (BATCH, C_IN, H, W)).astype(np.float32)


def make_params() -> dict[str, np.ndarray]:
    """Every parameter by its nnabla name and in nnabla's layout, float32. The batch normalization
    statistics are far from NNC's initial 0 and 1: means of either sign, variances 0.3..2.5. Map 0
    of each convolution is quiet (weights 1/50 of the others', values varying by about 0.02), as
    after a weakly trained kernel: its variance, stored or measured, is a few 1e-4, where epsilon
    (1e-4) changes the scale by a tenth or more, so a wrong epsilon cannot hide in the tolerance."""
    rng = np.random.default_rng(7)

    def normal(std, shape):
        return rng.normal(0.0, std, shape)

    params = {
        "conv1/conv/W": normal(0.3, (C, C_IN, 3, 3)),
        "conv1/conv/b": normal(0.2, (C,)),
        "conv2/conv/W": normal(0.2, (C, C, 3, 3)),
        "conv2/conv/b": normal(0.2, (C,)),
        "fc/affine/W": normal(1.0, (C, CLASSES)),
        "fc/affine/b": normal(0.3, (CLASSES,)),
    }
    for scope in ("bn1", "bn2"):
        params[f"{scope}/bn/beta"] = normal(0.3, (1, C, 1, 1))
        params[f"{scope}/bn/gamma"] = rng.uniform(0.5, 1.5, (1, C, 1, 1))
        params[f"{scope}/bn/mean"] = normal(0.4, (1, C, 1, 1))
        params[f"{scope}/bn/var"] = rng.uniform(0.3, 2.5, (1, C, 1, 1))
    for conv, bn in (("conv1", "bn1"), ("conv2", "bn2")):
        params[f"{conv}/conv/W"][0] /= 50  # the quiet map
        params[f"{bn}/bn/mean"][0, 0] = params[f"{conv}/conv/b"][0] + 0.01  # its stored statistics
        params[f"{bn}/bn/var"][0, 0] = 4e-4
    return {name: value.astype(np.float32) for name, value in params.items()}


# --- the independent reference: plain loops over Python floats ------------------------------------


def conv3x3_same(x, weights, bias, flip=False, offset=1):
    """o[n][m][y][x] = b[m] + sum_{c, ky, kx} W[m][c][ky][kx] i[n][c][y + ky - 1][x + kx - 1],
    zero outside the input. ``flip`` (true convolution) and ``offset`` (0: the window starts at
    the output position instead of centring on it) exist only to show wrong definitions are
    caught."""
    out = []
    for sample in x:
        maps = []
        for m in range(len(weights)):
            rows = []
            for y in range(H):
                row = []
                for xx in range(W):
                    total = bias[m]
                    for c in range(len(sample)):
                        for ky in range(3):
                            for kx in range(3):
                                iy, ix = y + ky - offset, xx + kx - offset
                                if 0 <= iy < H and 0 <= ix < W:
                                    k = weights[m][c][2 - ky][2 - kx] if flip else weights[m][c][ky][kx]
                                    total += k * sample[c][iy][ix]
                    row.append(total)
                rows.append(row)
            maps.append(rows)
        out.append(maps)
    return out


def batch_norm(x, beta, gamma, mean, var, batch_stat, eps=EPSILON, unbiased=False, eps_outside=False):
    """(x - mean) / sqrt(var + eps) * gamma + beta, channel by channel. With batch_stat the mean
    and biased variance of the channel's values over every sample and position. ``unbiased`` and
    ``eps_outside`` (and an ``eps`` other than NNC's) exist only to show wrong definitions are caught."""
    out = [[[[0.0] * W for _ in range(H)] for _ in range(C)] for _ in x]
    for c in range(C):
        if batch_stat:
            values = [x[n][c][y][xx] for n in range(len(x)) for y in range(H) for xx in range(W)]
            mu = math.fsum(values) / len(values)
            squares = math.fsum((v - mu) ** 2 for v in values)
            sigma2 = squares / (len(values) - 1 if unbiased else len(values))
        else:
            mu, sigma2 = mean[0][c][0][0], var[0][c][0][0]
        scale = 1.0 / (math.sqrt(sigma2) + eps) if eps_outside else 1.0 / math.sqrt(sigma2 + eps)
        for n in range(len(x)):
            for y in range(H):
                for xx in range(W):
                    out[n][c][y][xx] = (x[n][c][y][xx] - mu) * scale * gamma[0][c][0][0] + beta[0][c][0][0]
    return out


def elementwise(f, *arrays):
    """f applied value by value to nested lists of one shape."""
    if isinstance(arrays[0], list):
        return [elementwise(f, *parts) for parts in zip(*arrays)]
    return f(*arrays)


def reference(x, params, batch_stat, residual=True, **mistakes):
    """The network's probabilities, a list of BATCH lists of CLASSES floats."""
    p = {name: value.astype(np.float64).tolist() for name, value in params.items()}
    conv_mistakes = {k: mistakes.pop(k) for k in ("flip", "offset") if k in mistakes}
    x = x.astype(np.float64).tolist()

    def bn(v, scope):
        names = (f"{scope}/bn/{n}" for n in ("beta", "gamma", "mean", "var"))
        return batch_norm(v, *(p[n] for n in names), batch_stat, **mistakes)

    def relu(v):
        return elementwise(lambda a: a if a > 0.0 else 0.0, v)

    relu1 = relu(bn(conv3x3_same(x, p["conv1/conv/W"], p["conv1/conv/b"], **conv_mistakes), "bn1"))
    bn2 = bn(conv3x3_same(relu1, p["conv2/conv/W"], p["conv2/conv/b"], **conv_mistakes), "bn2")
    relu2 = relu(elementwise(lambda a, b: a + b, bn2, relu1) if residual else bn2)
    probabilities = []
    for sample in relu2:
        pooled = [math.fsum(v for row in sample[c] for v in row) / (H * W) for c in range(C)]
        logits = [
            p["fc/affine/b"][j] + math.fsum(pooled[i] * p["fc/affine/W"][i][j] for i in range(C))
            for j in range(CLASSES)
        ]
        top = max(logits)
        exps = [math.exp(z - top) for z in logits]  # exp(z - top) / sum: the same quotient, no overflow
        total = math.fsum(exps)
        probabilities.append([e / total for e in exps])
    return probabilities


# --- runs -----------------------------------------------------------------------------------------


STORED = re.compile(r"^(\s+)batch_stat: false\b", re.MULTILINE)  # the property, not the description


def spec_text(batch_stat: bool) -> str:
    """The spec as written (stored statistics), or with NNC's default batch_stat: true."""
    text = SPEC.read_text(encoding="utf-8")
    assert len(STORED.findall(text)) == 2
    return STORED.sub(r"\1batch_stat: true", text) if batch_stat else text


def run(batch_stat: bool, training: bool) -> nnspec.runtime.runner.RunResult:
    spec = nnspec.loads(spec_text(batch_stat))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a finding or a numpy warning fails the test
        return nnspec.run(spec, {"x": make_inputs()}, params=make_params(), batch_size=BATCH, training=training)


@pytest.fixture(scope="module")
def results():
    """The spec as written, run as NNC evaluates (stored statistics); batch_stat: true, run as
    training does (the batch's statistics: NNC's evaluation would ignore the setting)."""
    return {batch_stat: run(batch_stat, training=batch_stat) for batch_stat in (False, True)}


def test_batch_stat_true_is_a_training_setting():
    """At evaluation (nnspec's default) NNC passes batch_stat false whatever the spec says: the
    batch_stat: true spec then gives the stored-statistics reference."""
    result = run(True, training=False)
    assert result.semantics == "evaluation"
    expected = np.array(reference(make_inputs(), make_params(), False))
    np.testing.assert_allclose(result.outputs["probs"], expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("batch_stat", [False, True], ids=["stored-statistics", "batch-statistics"])
def test_outputs_match_the_float64_reference(results, batch_stat):
    result = results[batch_stat]
    assert list(result.outputs) == ["probs"]
    got = result.outputs["probs"]
    assert got.dtype == np.float32 and got.shape == (BATCH, CLASSES)
    expected = np.array(reference(make_inputs(), make_params(), batch_stat))
    difference = float(np.max(np.abs(got.astype(np.float64) - expected)))
    print(f"batch_stat {batch_stat}: max |nnspec - reference| = {difference:.3g}")
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    # The probabilities are not all alike, so the comparison says something.
    assert expected.max() - expected.min() > 0.1
    # Nothing worse than information: these parameters are not NNC's initial scale, and scale-drift
    # (info) says so for conv2 and fc.
    assert [f for f in result.findings if f.severity != "info"] == []


LAYER_SCOPES = {"conv1": "conv", "bn1": "bn", "conv2": "conv", "bn2": "bn", "fc": "affine"}


def test_parameters_are_the_ones_given(results):
    """Every parameter of the spec came from the dict, none from an initializer."""
    given = make_params()
    used = {
        f"{layer}/{scope}/{name}": value
        for layer, scope in LAYER_SCOPES.items()
        for name, value in results[False].layer_parameters[layer].items()
    }
    assert sorted(used) == sorted(given)
    for name, value in given.items():
        np.testing.assert_array_equal(used[name], value, err_msg=name)


def test_the_two_modes_differ(results):
    """Stored statistics and the batch's own give clearly different outputs for these parameters,
    so each mode is checked on its own definition, not on the other's."""
    stored, batch = (results[b].outputs["probs"].astype(np.float64) for b in (False, True))
    assert np.max(np.abs(stored - batch)) > 100 * ATOL


@pytest.mark.parametrize(
    "batch_stat, mistake",
    [
        (True, {"unbiased": True}),
        (False, {"eps": 1e-5}),
        (True, {"eps": 1e-5}),
        (False, {"eps_outside": True}),
        (True, {"eps_outside": True}),
        (False, {"flip": True}),
        (False, {"offset": 0}),
        (False, {"residual": False}),
    ],
    ids=[
        "unbiased-variance",
        "nnabla-api-eps-stored",
        "nnabla-api-eps-batch",
        "eps-outside-sqrt-stored",
        "eps-outside-sqrt-batch",
        "flipped-kernel",
        "shifted-window",
        "no-residual",
    ],
)
def test_tolerance_tells_wrong_formulas_apart(results, batch_stat, mistake):
    got = results[batch_stat].outputs["probs"].astype(np.float64)
    wrong = np.array(reference(make_inputs(), make_params(), batch_stat, **mistake))
    print(f"{mistake}, batch_stat {batch_stat}: max |nnspec - wrong reference| = {np.max(np.abs(got - wrong)):.3g}")
    assert np.max(np.abs(got - wrong)) > 10 * ATOL
