"""Write tests/fixtures/nnabla/augmentation.npz: what nnabla's image_augmentation computes.

    OMP_NUM_THREADS=1 /work/nnabla-venv/bin/python scripts/make_nnabla_augmentation_fixture.py

Each case is a seeded float32 input, ``F.image_augmentation`` applied on nnabla's CPU context, and
its output, stored under ``<case>_x``, ``<case>_out``:

- ``det``: input (2, 3, 8, 10), pad (1, 2), scale 0.5 fixed, contrast_center 0.3: the padded image
  (10 x 14) scaled to exactly the output (5 x 7), so nnabla's random crop position has no room and
  the output is deterministic: what nnspec computes at evaluation;
- ``up``: input (2, 1, 6, 6), scale 2 fixed, output (12, 12): upsampling, deterministic too;
- ``full``: input (3, 2, 9, 11), output (2, 7, 8), every random part on but noise (min/max scale 0.7
  and 1.3, angle 0.3, aspect ratio 1.4, distortion 0.2, both flips, brightness 0.1 each channel,
  contrast 1.5 each channel, contrast_center 0.4) with seed 313. nnabla draws from a
  std::mt19937 seeded 313; the same generator (numpy's MT19937 seeded as the C++ one is) gives
  the draws it used, stored as ``full_levels`` (images, draws): each draw's ``rgen() % 1001``
  (``% 2`` for the flips), in nnabla's order: scale, aspect, angle, x, y, flip_lr, flip_ud,
  brightness, contrast, then per channel brightness and contrast, then distortion and noise.
  OMP_NUM_THREADS=1 keeps nnabla's images in order (its loop over images is OpenMP-parallel and
  shares the generator).

``nnabla_version`` records the version. Running the script again gives the same arrays.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla" / "augmentation.npz"
SEED = 21
FULL_SEED = 313
FULL = {
    "shape": (2, 7, 8),
    "min_scale": 0.7,
    "max_scale": 1.3,
    "angle": 0.3,
    "aspect_ratio": 1.4,
    "distortion": 0.2,
    "flip_lr": True,
    "flip_ud": True,
    "brightness": 0.1,
    "brightness_each": True,
    "contrast": 1.5,
    "contrast_center": 0.4,
    "contrast_each": True,
}


def nnabla_levels(seed: int, images: int, channels: int) -> np.ndarray:
    """The draws nnabla's image_augmentation makes per image with every random part on but noise,
    from a std::mt19937 seeded ``seed`` (numpy's MT19937 with the C++ seeding)."""
    generator = np.random.MT19937(0)
    generator._legacy_seeding(seed)  # init_genrand(seed): std::mt19937(seed)'s seeding
    per_image = 9 + 2 * channels + 2
    raw = generator.random_raw(images * per_image).astype(np.int64).reshape(images, per_image)
    levels = raw % 1001
    levels[:, 5:7] = raw[:, 5:7] % 2  # the flips
    return levels


def main() -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import nnabla as nn
    import nnabla.functions as F

    rng = np.random.default_rng(SEED)
    data = {
        "det_x": rng.uniform(-1, 1, (2, 3, 8, 10)).astype(np.float32),
        "up_x": rng.uniform(-1, 1, (2, 1, 6, 6)).astype(np.float32),
        "full_x": rng.uniform(-1, 1, (3, 2, 9, 11)).astype(np.float32),
    }

    def run(name: str, **args) -> np.ndarray:
        x = nn.Variable.from_numpy_array(data[f"{name}_x"])
        out = F.image_augmentation(x, **args)
        out.forward()
        return out.d.copy()

    results = {
        "det_out": run("det", shape=(3, 5, 7), pad=(1, 2), min_scale=0.5, max_scale=0.5, contrast_center=0.3),
        "up_out": run("up", shape=(1, 12, 12), min_scale=2.0, max_scale=2.0),
        "full_out": run("full", seed=FULL_SEED, **FULL),
        "full_levels": nnabla_levels(FULL_SEED, 3, 2),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, **data, **results, nnabla_version=np.array(nn.__version__))
    for name, value in results.items():
        print(f"{name}: {value.shape} {value.ravel()[:6]}")
    print(f"wrote {OUT} with nnabla {nn.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
