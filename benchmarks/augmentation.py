"""The augmentation layers against the first convolution of a ResNet-18, on the same batch.

Issue 21's target: augmenting a batch of 64 images of 3 x 224 x 224 costs less than the first
convolution of a ResNet-18 on it (7 x 7, 64 maps, stride 2, padding 3). Both are nnspec's own layer
forwards from the catalog, called on one float32 batch in this process, interleaved round by round
(convolution, then each augmentation) so that machine noise hits them alike; the figures are medians.

Augmentations timed, each in the training view (every random part drawn, per sample) unless said:
ImageAugmentation with the ILSVRC samples' training settings (scale 0.467..1.67, aspect ratio 1.33,
left-right flips) and with everything on (angle, distortion, brightness, contrast each channel,
noise); its evaluation (the centre crop at scale 0.8, as the ILSVRC samples validate); RandomFlip,
RandomShift (4, 4), RandomCrop to 200 x 200, RandomErase.

    python benchmarks/augmentation.py                 # batch 64, 5 rounds (~40 s on 2 cores)
    python benchmarks/augmentation.py --repeat 3 --batch 16
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from statistics import median
from time import perf_counter

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnspec  # noqa: E402
from nnspec.layers.augmentation import batch_context  # noqa: E402

SIZE = (3, 224, 224)
AUGMENTATIONS = {
    "ImageAugmentation (ILSVRC training)": (
        "ImageAugmentation",
        {"min_scale": 0.467, "max_scale": 1.67, "aspect_ratio": 1.33, "flip_lr": True},
        True,
    ),
    "ImageAugmentation (all parts)": (
        "ImageAugmentation",
        {
            "min_scale": 0.8,
            "max_scale": 1.2,
            "angle": 0.2,
            "distortion": 0.1,
            "flip_lr": True,
            "brightness": 0.1,
            "brightness_each": True,
            "contrast": 1.3,
            "contrast_each": True,
            "noise": 0.05,
        },
        True,
    ),
    "ImageAugmentation (evaluation)": ("ImageAugmentation", {"min_scale": 0.8, "max_scale": 0.8}, False),
    "RandomFlip": ("RandomFlip", {"axes": (1, 2)}, True),
    "RandomShift": ("RandomShift", {"shift": (4, 4)}, True),
    "RandomCrop": ("RandomCrop", {"shape": (3, 200, 200)}, True),
    "RandomErase": ("RandomErase", {}, True),
}


def props_of(layer: str, given: dict) -> dict:
    """The layer's properties: the catalog's defaults, ``given`` over them, skip_at_test off."""
    layer_type = nnspec.layer_types()[layer]
    props = {p.name: p.normalize(p.default) for p in layer_type.properties}
    props.update({name: layer_type.property_map[name].normalize(value) for name, value in given.items()})
    if "skip_at_test" in props:
        props["skip_at_test"] = False
    props["seed"] = 1
    return props


def convolution(x: np.ndarray) -> Callable[[], np.ndarray]:
    """ResNet-18's first layer, nnspec's Convolution forward, seeded He-scaled weights."""
    rng = np.random.default_rng(0)
    params = {
        "W": (rng.standard_normal((64, 3, 7, 7)) * np.sqrt(2 / 147)).astype(np.float32),
        "b": np.zeros(64, dtype=np.float32),
    }
    props = props_of("Convolution", {"out_maps": 64, "kernel_shape": [7, 7], "strides": [2, 2], "padding": [3, 3]})
    forward = nnspec.layer_types()["Convolution"].forward
    return lambda: forward([x], props, params)


def augmentation(x: np.ndarray, layer: str, given: dict, training: bool) -> Callable[[], np.ndarray]:
    props = props_of(layer, given)
    forward = nnspec.layer_types()[layer].forward

    def run() -> np.ndarray:
        with batch_context(0, training=training):
            return forward([x], props, {})

    return run


def timed(call: Callable[[], np.ndarray]) -> float:
    start = perf_counter()
    call()
    return perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5, help="rounds after one warm-up")
    args = parser.parse_args(argv)
    x = np.random.default_rng(1).uniform(0, 1, (args.batch, *SIZE)).astype(np.float32)
    calls = {"Convolution 7x7, 64 maps, stride 2": convolution(x)}
    calls |= {name: augmentation(x, *spec) for name, spec in AUGMENTATIONS.items()}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(args.repeat + 1):
        for name, call in calls.items():
            seconds = timed(call)
            if round_:  # the first round warms up
                times[name].append(seconds)
    baseline = median(times["Convolution 7x7, 64 maps, stride 2"])
    print(f"batch {args.batch} x {'x'.join(map(str, SIZE))} float32, medians of {args.repeat} rounds")
    print(f"{'layer':40} {'ms':>9} {'/ conv':>8}")
    for name, values in times.items():
        print(f"{name:40} {median(values) * 1e3:9.1f} {median(values) / baseline:7.2f}x")
    worst = max(median(values) for name, values in times.items() if name in AUGMENTATIONS)
    verdict = "meets" if worst < baseline else "misses"
    print(f"slowest augmentation / convolution: {worst / baseline:.2f}x ({verdict} the target < 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
