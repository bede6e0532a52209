"""Write tests/fixtures/nnabla/layers.npz: what nnabla computes for the layers issue 16 found wrong.

    python -m pip install nnabla      # nnabla 1.39.0 on Python 3.10 made the committed file
    python scripts/make_nnabla_layer_fixture.py

Each case is a seeded numpy input, the nnabla function applied to it on nnabla's CPU context in
float32, and nnabla's output, stored under ``<case>_<name>``:

- ``sce``: ``F.softmax_cross_entropy(x, t, axis=1)`` on (8, 5) logits spread from about 1 to 1,000
  (row 0 is the issue's 200, -200, 0, 1 with label 1), labels including -1 and -3 (ignored by nnabla);
- ``sce3``: the same on (4, 3, 6) logits along axis 1 (nnspec's sample axis 0), labels (4, 1, 6);
- ``cce``: ``F.categorical_cross_entropy(p, t, axis=1)`` on softmax probabilities with exact zeros;
- ``bce``: ``F.binary_cross_entropy(p, t)`` with p at 0, 1, 1e-10, 1 - 2^-24 and soft targets;
- ``sigce``: ``F.sigmoid_cross_entropy(x, t)`` on logits from -100 to 100, integer targets;
- ``bt``: ``F.broadcast_to(x, y, axis=0)``, x (3, 2, 3, 4), y (3, 2): what NNC runs for its default
  Axis -1 (NNC passes Axis + 1, `broadcast_to_param.axis -a`); ``bt2`` the same with y (3, 2, 3);
- ``btmix``: ``F.broadcast_to(x, y, axis=1)``, x (2, 2, 3), y (2, 3): NNC's Axis 0, where y's batch axis
  lines up with x's sample axis 0, so sample 0's output holds every sample's y;
- ``concat1_error``: the message nnabla gives for ``F.concatenate`` of one input.

``nnabla_version`` records the version. The values come from numpy's seeded generator, so running
the script again gives the same arrays.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla" / "layers.npz"
SEED = 16


def _inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every case's inputs, float32 values and int32 labels."""
    f32 = np.float32
    sce_x = rng.normal(0.0, 1.0, (8, 5)) * np.array([1, 1, 10, 10, 100, 100, 1000, 1000])[:, None]
    sce_x[0] = [200.0, -200.0, 0.0, 1.0, -3.0]
    cce_logits = rng.normal(0.0, 3.0, (6, 4))
    cce_p = np.exp(cce_logits) / np.exp(cce_logits).sum(axis=1, keepdims=True)
    cce_p[0] = [0.0, 1.0, 0.0, 0.0]  # a certain wrong answer for label 0: nnabla's clamp
    bce_p = np.array([[0.0, 1.0, 1e-10, 1.0 - 2.0**-24, 0.5, 0.25, 0.75, 0.0, 1.0, 0.9, 1e-30, 0.999]])
    bce_t = np.array([[0.0, 1.0, 0.0, 1.0, 1.0, 0.3, 0.7, 1.0, 0.0, 0.0, 1.0, 0.5]])
    return {
        "sce_x": sce_x.astype(f32),
        "sce_t": np.array([[1], [0], [4], [-1], [2], [3], [-3], [1]], dtype=np.int32),
        "sce3_x": (rng.normal(0.0, 5.0, (4, 3, 6))).astype(f32),
        "sce3_t": rng.integers(-1, 3, (4, 1, 6)).astype(np.int32),
        "cce_x": cce_p.astype(f32),
        "cce_t": np.array([[0], [1], [2], [3], [-1], [2]], dtype=np.int32),
        "bce_x": bce_p.astype(f32),
        "bce_t": bce_t.astype(f32),
        "sigce_x": np.array([[-100.0, -20.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 20.0, 100.0, 3.5]], dtype=f32),
        "sigce_t": np.array([[0, 1, 0, 1, 1, 0, 1, 1, 0, 1]], dtype=np.int32),
        "bt_x": rng.normal(0.0, 1.0, (3, 2, 3, 4)).astype(f32),
        "bt_y": rng.normal(0.0, 1.0, (3, 2)).astype(f32),
        "bt2_y": rng.normal(0.0, 1.0, (3, 2, 3)).astype(f32),
        "btmix_x": np.zeros((2, 2, 3), dtype=f32),
        "btmix_y": np.arange(6, dtype=f32).reshape(2, 3),
    }


def main() -> int:
    import nnabla as nn
    import nnabla.functions as F

    data = _inputs(np.random.default_rng(SEED))

    def run(function, *names, **args) -> np.ndarray:
        variables = [nn.Variable.from_numpy_array(data[name]) for name in names]
        out = function(*variables, **args)
        out.forward()
        return out.d.copy()

    results = {
        "sce_out": run(F.softmax_cross_entropy, "sce_x", "sce_t", axis=1),
        "sce3_out": run(F.softmax_cross_entropy, "sce3_x", "sce3_t", axis=1),
        "cce_out": run(F.categorical_cross_entropy, "cce_x", "cce_t", axis=1),
        "bce_out": run(F.binary_cross_entropy, "bce_x", "bce_t"),
        "sigce_out": run(F.sigmoid_cross_entropy, "sigce_x", "sigce_t"),
        "bt_out": run(F.broadcast_to, "bt_x", "bt_y", axis=0),
        "bt2_out": run(F.broadcast_to, "bt_x", "bt2_y", axis=0),
        "btmix_out": run(F.broadcast_to, "btmix_x", "btmix_y", axis=1),
    }
    try:
        run(F.concatenate, "bt_y", axis=1)
        results["concat1_error"] = np.array("")
    except RuntimeError as error:
        results["concat1_error"] = np.array(str(error).strip().splitlines()[-1])

    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **data, **results, nnabla_version=np.array(nn.__version__))
    for name, value in results.items():
        print(f"{name}: {value.shape} {value.ravel()[:6]}")
    print(f"wrote {OUT} with nnabla {nn.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
