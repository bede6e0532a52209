"""Write tests/fixtures/nnabla/misc_layers.npz: what nnabla 1.39 computes for NNC's remaining layers.

    python -m pip install nnabla      # nnabla 1.39.0 on Python 3.10 made the committed file
    python scripts/make_nnabla_misc_fixture.py

Each case is seeded numpy input, the nnabla function applied to it on nnabla's CPU context in float32
with the arguments NNC passes it (a property whose definition says ``-a`` gets + 1: nnabla's arrays
have the batch axis first), and nnabla's output, stored under ``<case>_<name>``:

- ``vat``: ``F.vat_noise(x, w, base_axis=1, eps=1.4)`` on (3, 2, 4, 5) (NNC's BaseAxis 0, Epsilon 1.4);
  ``vat2``: base_axis=2, eps=10 (NNC's BaseAxis 1); ``w`` (NNC's Buf) is random and unused forward;
- ``unlink``: ``F.unlink(x)``;
- ``cgv``: ``F.clip_grad_by_value(x, min, max)`` and ``cgn``: ``F.clip_grad_by_norm(x, 0.5, axes=(2,))``:
  forward, the identity;
- ``cv``: ``F.clip_by_value(x, min, max)`` with min and max arrays of x's shape;
- ``cn``: ``F.clip_by_norm(x, 2.0, axis=(2,))`` (NNC's Axis 1), ``cn0``: ``axis=(1, 2)`` (NNC's 0,1),
  ``cn_big``: clip_norm 50 (no value clipped);
- ``topk``: ``F.top_k_data(x, 3, abs=False, reduce=True, base_axis=1)`` (nnabla's largest=True, its
  default and NNC's documented meaning), ``topk_abs``: abs=True, reduce=False, base_axis=2,
  ``topk_smallest``: largest=False, what nnabla runs for NNC's nntxt, which leaves the flag out;
- ``topkg``: ``F.top_k_grad(x, 2)``: forward, the identity;
- ``det``, ``inv``, ``logdet``: ``F.batch_det``, ``F.batch_inv``, ``F.batch_logdet`` on (4, 3, 3)
  (logdet on matrices of positive determinant);
- ``fbn``: ``F.fused_batch_normalization(x, beta, gamma, mean, var, axes=[1], eps=1e-3, batch_stat=False)`` on
  (4, 3, 2, 2), the parameters (1, 3, 1, 1) (NNC's evaluation: BatchStat -test=False), nonlinearity relu;
- ``ws``: ``F.weight_standardization(w, channel_axis=1, eps=1e-5)`` on w (3, 4, 5) (NNC's ChannelAxis 0),
  ``ws2``: channel_axis=2 (NNC's 1): the statistics run over every other axis, the batch axis too;
- ``wn``: ``F.weight_normalization(w, g, dim=1, eps=1e-12)`` (NNC's Dim 0), g (4,);
- ``sn``: ``F.spectral_norm(w, u, dim=1, itr=2, test=True)`` (NNC's Dim 0, Itr 1: NNC passes Itr + 1),
  u (4,); ``sn_itr1``: itr=1;
- ``nms``: ``F.nms_detection2d(x, thresh=0.05, nms=0.2, nms_per_class=True)`` on (2, 8, 7) candidate boxes
  (x, y, w, h in 0..1, objectness, 2 class probabilities; scores distinct, boxes in overlapping clusters),
  ``nms_obj``: nms_per_class=False, thresh 0.2, nms 0.3;
- ``dconv``: ``F.deformable_convolution(x, W, offset, mask, b, pad=(1, 1), stride=(1, 2), group=2,
  deformable_group=2)`` on x (2, 4, 5, 6), W (6, 2, 3, 3), offsets Normal x1.5 (2, 36, 5, 6), mask in 0..1
  (2, 18, 5, 6); ``dconv2``: dilation (2, 2), pad (2, 0), one group;
- ``asc``: ``F.adaptive_separable_convolution(x, kv, kh)`` on x (2, 3, 6, 7), kernels (2, 3, 4, 4) and
  (2, 4, 4, 4) (vertical 3, horizontal 4; the output (2, 3, 4, 4));
- FFT and IFFT are left out: nnabla 1.39 has no CPU implementation of them ("FFT forward not
  implemented in CPU yet"), so NNC runs them on a GPU only; tests/test_layers_misc.py checks them
  against the DFT's formula instead.

``nnabla_version`` records the version. The values come from numpy's seeded generator, so running
the script again gives the same arrays.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla" / "misc_layers.npz"
SEED = 21


def _boxes(rng: np.random.Generator) -> np.ndarray:
    """Two samples of 8 candidate boxes around 3 centres, so that many overlap; objectness and class
    probabilities random in 0..1 (distinct, so that the order of equal scores never matters)."""
    centres = rng.uniform(0.2, 0.8, (2, 3, 2))[:, rng.integers(0, 3, 8)]
    xy = centres + rng.normal(0.0, 0.05, (2, 8, 2))
    wh = rng.uniform(0.1, 0.4, (2, 8, 2))
    scores = rng.uniform(0.0, 1.0, (2, 8, 3))
    return np.concatenate([xy, wh, scores], axis=2)


def _inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    f32 = np.float32
    matrices = rng.normal(0.0, 1.0, (4, 3, 3))
    positive = matrices @ matrices.transpose(0, 2, 1) + 0.5 * np.eye(3)  # symmetric positive definite
    topk_x = rng.normal(0.0, 2.0, (3, 2, 5))
    topk_x[0, 0, :3] = [1.5, 1.5, -4.0]  # a tie and a large negative value
    return {
        "vat_x": rng.normal(0.0, 1.0, (3, 2, 4, 5)).astype(f32),
        "vat_w": rng.normal(0.0, 1.0, (3, 2, 4, 5)).astype(f32),
        "x": rng.normal(0.0, 2.0, (3, 4, 5)).astype(f32),
        "cv_min": rng.uniform(-2.0, 0.0, (3, 4, 5)).astype(f32),
        "cv_max": rng.uniform(0.0, 2.0, (3, 4, 5)).astype(f32),
        "topk_x": topk_x.astype(f32),
        "mat_x": matrices.astype(f32),
        "pos_x": positive.astype(f32),
        "nms_x": _boxes(rng).astype(f32),
        "dconv_x": rng.normal(0.0, 1.0, (2, 4, 5, 6)).astype(f32),
        "dconv_W": rng.normal(0.0, 0.5, (6, 2, 3, 3)).astype(f32),
        "dconv_b": rng.normal(0.0, 1.0, (6,)).astype(f32),
        "dconv_offset": rng.normal(0.0, 1.5, (2, 36, 5, 6)).astype(f32),
        "dconv_mask": rng.uniform(0.0, 1.0, (2, 18, 5, 6)).astype(f32),
        "dconv2_W": rng.normal(0.0, 0.5, (6, 4, 3, 3)).astype(f32),
        "dconv2_offset": rng.normal(0.0, 1.5, (2, 18, 5, 6)).astype(f32),
        "dconv2_mask": rng.uniform(0.0, 1.0, (2, 9, 5, 6)).astype(f32),
        "asc_x": rng.normal(0.0, 1.0, (2, 3, 6, 7)).astype(f32),
        "asc_v": rng.normal(0.0, 1.0, (2, 3, 4, 4)).astype(f32),
        "asc_h": rng.normal(0.0, 1.0, (2, 4, 4, 4)).astype(f32),
        "fbn_x": rng.normal(0.5, 2.0, (4, 3, 2, 2)).astype(f32),
        "fbn_beta": rng.normal(0.0, 1.0, (1, 3, 1, 1)).astype(f32),
        "fbn_gamma": rng.normal(1.0, 0.5, (1, 3, 1, 1)).astype(f32),
        "fbn_mean": rng.normal(0.0, 1.0, (1, 3, 1, 1)).astype(f32),
        "fbn_var": rng.uniform(0.5, 2.0, (1, 3, 1, 1)).astype(f32),
        "w": rng.normal(0.3, 1.5, (3, 4, 5)).astype(f32),
        "wn_g": rng.normal(1.0, 0.5, (4,)).astype(f32),
        "sn_u": rng.normal(0.0, 1.0, (4,)).astype(f32),
    }


def main() -> int:
    import nnabla as nn
    import nnabla.functions as F

    data = _inputs(np.random.default_rng(SEED))

    def var(name: str):
        return nn.Variable.from_numpy_array(data[name])

    def run(out) -> np.ndarray:
        out.forward()
        return out.d.copy()

    results = {
        "vat_out": run(F.vat_noise(var("vat_x"), var("vat_w"), base_axis=1, eps=1.4)),
        "vat2_out": run(F.vat_noise(var("vat_x"), var("vat_w"), base_axis=2, eps=10.0)),
        "unlink_out": run(F.unlink(var("x"))),
        "cgv_out": run(F.clip_grad_by_value(var("x"), var("cv_min"), var("cv_max"))),
        "cgn_out": run(F.clip_grad_by_norm(var("x"), 0.5, axes=(2,))),
        "cv_out": run(F.clip_by_value(var("x"), var("cv_min"), var("cv_max"))),
        "cn_out": run(F.clip_by_norm(var("x"), 2.0, axis=(2,))),
        "cn0_out": run(F.clip_by_norm(var("x"), 2.0, axis=(1, 2))),
        "cn_big_out": run(F.clip_by_norm(var("x"), 50.0, axis=(2,))),
        "topk_out": run(F.top_k_data(var("topk_x"), 3, abs=False, reduce=True, base_axis=1)),
        "topk_abs_out": run(F.top_k_data(var("topk_x"), 2, abs=True, reduce=False, base_axis=2)),
        "topk_smallest_out": run(F.top_k_data(var("topk_x"), 3, reduce=True, base_axis=1, largest=False)),
        "topkg_out": run(F.top_k_grad(var("topk_x"), 2)),
        "det_out": run(F.batch_det(var("mat_x"))),
        "inv_out": run(F.batch_inv(var("mat_x"))),
        "logdet_out": run(F.batch_logdet(var("pos_x"))),
        "fbn_out": run(
            F.fused_batch_normalization(
                var("fbn_x"),
                *(var(f"fbn_{p}") for p in ("beta", "gamma", "mean", "var")),
                axes=[1],
                eps=1e-3,
                batch_stat=False,
                nonlinearity="relu",
            )
        ),
        "nms_out": run(F.nms_detection2d(var("nms_x"), thresh=0.05, nms=0.2, nms_per_class=True)),
        "nms_obj_out": run(F.nms_detection2d(var("nms_x"), thresh=0.2, nms=0.3, nms_per_class=False)),
        "dconv_out": run(
            F.deformable_convolution(
                var("dconv_x"),
                var("dconv_W"),
                var("dconv_offset"),
                var("dconv_mask"),
                var("dconv_b"),
                pad=(1, 1),
                stride=(1, 2),
                group=2,
                deformable_group=2,
            )
        ),
        "dconv2_out": run(
            F.deformable_convolution(
                var("dconv_x"),
                var("dconv2_W"),
                var("dconv2_offset"),
                var("dconv2_mask"),
                var("dconv_b"),
                pad=(2, 0),
                dilation=(2, 2),
            )
        ),
        "asc_out": run(F.adaptive_separable_convolution(var("asc_x"), var("asc_v"), var("asc_h"))),
        "ws_out": run(F.weight_standardization(var("w"), channel_axis=1, eps=1e-5)),
        "ws2_out": run(F.weight_standardization(var("w"), channel_axis=2, eps=1e-5)),
        "wn_out": run(F.weight_normalization(var("w"), var("wn_g"), dim=1, eps=1e-12)),
        "sn_out": run(F.spectral_norm(var("w"), var("sn_u"), dim=1, itr=2, test=True)),
        "sn_itr1_out": run(F.spectral_norm(var("w"), var("sn_u"), dim=1, itr=1, test=True)),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **data, **results, nnabla_version=np.array(nn.__version__))
    for name, value in results.items():
        print(f"{name}: {value.shape} {value.ravel()[:4]}")
    print(f"wrote {OUT} with nnabla {nn.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
