"""Write tests/fixtures/nnabla/quantize.npz: what nnabla computes for the binary, quantize and prune layers.

    python -m pip install nnabla      # nnabla 1.39.0 on Python 3.10 made the committed file
    python scripts/make_nnabla_quantize_fixture.py

Each case is seeded numpy inputs and parameters, nnabla's function applied to them on its CPU context in
float32 as NNC's network calls it, and nnabla's output, stored under ``<case>_<name>`` (tests/
test_layers_quantize.py reads them; every case sets properties away from NNC's defaults):

- ``bca``: ``F.binary_connect_affine(x, W, Wb, b)``, x (3, 2, 3), W (6, 2, 3) with exact zeros (sign(0) = 1),
  Wb and b random (Wb is overwritten);
- ``bwa``: ``F.binary_weight_affine(x, W, Wb, b)``: NNC's pins W, Wb, b, so nnabla reads b as alpha and adds
  no bias (b random: its values are overwritten); x (3, 5), W (5, 4);
- ``bcc``: ``F.binary_connect_convolution`` on x (2, 4, 7, 7), W (6, 2, 3, 3): group 2, pad (1, 0), stride
  (2, 1), dilation (1, 2), with a bias;
- ``bwc``: ``F.binary_weight_convolution(x, W, Wb, b, ...)`` the same, b read as alpha;
- ``btanh`` / ``bsig``: ``F.binary_tanh`` / ``F.binary_sigmoid`` on values with 0 and +-1e-30;
- ``fpq1``: ``F.fixed_point_quantize(sign=False, n=5, delta=0.3)``; ``fpq2``: sign True, n 3, delta 0.7,
  on values with exact half steps;
- ``p2q1``: ``F.pow2_quantize(sign=False, with_zero=True, n=4, m=2)``; ``p2q2``: sign True, with_zero False,
  n 5, m 0; ``p2q3``: sign False, with_zero False, n 3, m 3; inputs spread over 2^-12..2^6 with both signs;
- ``mmq1``: ``F.min_max_quantize(x, r, R, l, L, decay=0.9, eps=0.05)`` with (1,) ranges as NNC's: r -1.3,
  R 2.7, l 0, L 15; ``mmq2``: r 0.5, R 0.52 (closer than eps 0.1: R is raised) l 2, L 9; ``mmq3``: r -5,
  R -1 (a zero point beyond L);
- ``prune1``: ``F.prune(rate=0.7)`` on (4, 3, 5); ``prune2`` rate 1; ``prune3`` rate 0.

``nnabla_version`` records the version. The values come from numpy's seeded generator, so running the
script again gives the same arrays.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla" / "quantize.npz"
SEED = 21


def _inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    f32 = np.float32
    bca_W = rng.normal(0.0, 1.0, (6, 2, 3))
    bca_W[0, 0, 0] = bca_W[3, 1, 2] = 0.0
    wide = np.concatenate([rng.normal(0.0, 3.0, 40), np.arange(-9, 9) * 0.35, [0.0, -0.0]])
    magnitudes = 2.0 ** rng.uniform(-12, 6, 48)
    pow2_x = magnitudes * np.where(rng.random(48) < 0.5, -1.0, 1.0)
    pow2_x[:6] = [0.0, 2.0**0.5, -(2.0**-1.5), 2.0**-3.5, 3.0, -1.0]
    return {
        "bca_x": rng.normal(0.0, 1.0, (3, 2, 3)).astype(f32),
        "bca_W": bca_W.astype(f32),
        "bca_Wb": rng.normal(0.0, 1.0, (6, 2, 3)).astype(f32),
        "bca_b": rng.normal(0.0, 1.0, (2, 3)).astype(f32),
        "bwa_x": rng.normal(0.0, 1.0, (3, 5)).astype(f32),
        "bwa_W": rng.normal(0.0, 0.4, (5, 4)).astype(f32),
        "bwa_Wb": rng.normal(0.0, 1.0, (5, 4)).astype(f32),
        "bwa_b": rng.normal(0.0, 1.0, (4,)).astype(f32),
        "bcc_x": rng.normal(0.0, 1.0, (2, 4, 7, 7)).astype(f32),
        "bcc_W": rng.normal(0.0, 1.0, (6, 2, 3, 3)).astype(f32),
        "bcc_Wb": np.zeros((6, 2, 3, 3), f32),
        "bcc_b": rng.normal(0.0, 1.0, (6,)).astype(f32),
        "bwc_W": rng.normal(0.0, 0.3, (6, 2, 3, 3)).astype(f32),
        "bwc_b": rng.normal(0.0, 1.0, (6,)).astype(f32),
        "bin_x": np.concatenate([rng.normal(0.0, 1.0, 12), [0.0, -0.0, 1e-30, -1e-30]]).reshape(2, 8).astype(f32),
        "fpq_x": wide.reshape(3, 20).astype(f32),
        "p2q_x": pow2_x.reshape(4, 12).astype(f32),
        "mmq_x": rng.normal(0.5, 2.0, (4, 3, 5)).astype(f32),
        "prune_x": rng.normal(0.0, 1.0, (4, 3, 5)).astype(f32),
    }


RANGES = {  # (r, R, l, L, eps)
    "mmq1": (-1.3, 2.7, 0.0, 15.0, 0.05),
    "mmq2": (0.5, 0.52, 2.0, 9.0, 0.1),
    "mmq3": (-5.0, -1.0, 0.0, 7.0, 0.01),
}


def main() -> int:
    import nnabla as nn
    import nnabla.functions as F

    data = _inputs(np.random.default_rng(SEED))

    def v(name: str):
        return nn.Variable.from_numpy_array(data[name].copy())  # nnabla writes into Wb and alpha: a copy each time

    def out(variable) -> np.ndarray:
        variable.forward()
        return variable.d.copy()

    conv = {"pad": (1, 0), "stride": (2, 1), "dilation": (1, 2), "group": 2}
    results = {
        "bca_out": out(F.binary_connect_affine(v("bca_x"), v("bca_W"), v("bca_Wb"), v("bca_b"))),
        # NNC's mapping: x, W, Wb, b; nnabla's signature: x, W, Wb, alpha, bias=None
        "bwa_out": out(F.binary_weight_affine(v("bwa_x"), v("bwa_W"), v("bwa_Wb"), v("bwa_b"))),
        "bcc_out": out(F.binary_connect_convolution(v("bcc_x"), v("bcc_W"), v("bcc_Wb"), v("bcc_b"), **conv)),
        "bwc_out": out(F.binary_weight_convolution(v("bcc_x"), v("bwc_W"), v("bcc_Wb"), v("bwc_b"), **conv)),
        "btanh_out": out(F.binary_tanh(v("bin_x"))),
        "bsig_out": out(F.binary_sigmoid(v("bin_x"))),
        "fpq1_out": out(F.fixed_point_quantize(v("fpq_x"), sign=False, n=5, delta=0.3)),
        "fpq2_out": out(F.fixed_point_quantize(v("fpq_x"), sign=True, n=3, delta=0.7)),
        "p2q1_out": out(F.pow2_quantize(v("p2q_x"), sign=False, with_zero=True, n=4, m=2)),
        "p2q2_out": out(F.pow2_quantize(v("p2q_x"), sign=True, with_zero=False, n=5, m=0)),
        "p2q3_out": out(F.pow2_quantize(v("p2q_x"), sign=False, with_zero=False, n=3, m=3)),
        "prune1_out": out(F.prune(v("prune_x"), rate=0.7)),
        "prune2_out": out(F.prune(v("prune_x"), rate=1.0)),
        "prune3_out": out(F.prune(v("prune_x"), rate=0.0)),
    }
    for case, (r, R, low, high, eps) in RANGES.items():
        ranges = [nn.Variable.from_numpy_array(np.array([value], np.float32)) for value in (r, R, low, high)]
        results[f"{case}_out"] = out(F.min_max_quantize(v("mmq_x"), *ranges, decay=0.9, eps=eps))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **data, **results, nnabla_version=np.array(nn.__version__))
    for name, value in results.items():
        print(f"{name}: {value.shape} {value.ravel()[:6]}")
    print(f"wrote {OUT} with nnabla {nn.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
