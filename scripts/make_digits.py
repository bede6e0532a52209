"""Write data/digits/: scikit-learn's 8x8 handwritten digits as an NNC dataset, and a trained classifier.

    python -m pip install scikit-learn pillow numpy
    python scripts/make_digits.py            # writes data/digits/ (or: make_digits.py OTHER_FOLDER)

scikit-learn is needed only here, to read the 1797 digits it ships (nothing is downloaded);
nnspec itself never imports it. The script writes, under data/digits/:

- ``images/NNNN.png``: every digit as an 8x8, 8-bit grayscale PNG, its 0..16 values scaled to
  0..255 (``round(v * 255 / 16)``), named by its index in ``load_digits()``;
- ``index_train.csv`` (1297 digits) and ``index_test.csv`` (500 digits): NNC's dataset format,
  header ``x:image,y:label``, image paths relative to the CSV. The split is a permutation drawn
  from ``numpy.random.default_rng(SEED)``;
- ``params.npz``: the parameters of specs/digits.yaml (x (1, 8, 8) -> fc1 Affine 32 -> Tanh ->
  fc2 Affine 10 -> Softmax), by nnabla name (``fc1/affine/W`` of shape (64, 32), ...), trained
  here in plain numpy on the train split: full-batch gradient descent with momentum on the
  mean cross-entropy, from Glorot-scaled normal weights drawn with SEED, on the pixels exactly
  as nnspec reads them (the PNG's 0..255 values divided by 255), stored as float32;
- ``params/fc1/affine/W.npy`` and the like: the same arrays one file each, which the spec's
  ``W: {file: ...}`` entries name, so that ``nnspec run specs/digits.yaml`` runs the trained
  network without ``--params``.

Everything is deterministic: running the script again rewrites the same files, byte for byte
(the PNGs are encoded without timestamps, and the .npz is written with fixed zip timestamps),
given the same numpy and Pillow; a different BLAS may change the trained weights in their last
bits. tests/test_digits.py checks this when scikit-learn is installed. The script prints the
train and test error rates of the network it saved.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np

SEED = 20240501
TEST_SIZE = 500
HIDDEN = 32
STEPS = 600
LEARNING_RATE = 0.5
MOMENTUM = 0.9
OUT = Path(__file__).resolve().parent.parent / "data" / "digits"


def load() -> tuple[np.ndarray, np.ndarray]:
    """The digits as 8-bit pixels (N, 8, 8) and labels (N,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.rint(digits.images * 255 / 16).astype(np.uint8)
    return pixels, digits.target.astype(np.int64)


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden activations and the class probabilities of specs/digits.yaml for x of shape (N, 64)."""
    hidden = np.tanh(x @ params["fc1/affine/W"] + params["fc1/affine/b"])
    logits = hidden @ params["fc2/affine/W"] + params["fc2/affine/b"]
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return hidden, exp / exp.sum(axis=1, keepdims=True)


def train(x: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """An MLP 64-HIDDEN-10 trained by full-batch gradient descent with momentum on the mean cross-entropy."""
    n_in, n_out = x.shape[1], 10
    params = {
        "fc1/affine/W": rng.normal(0.0, np.sqrt(2.0 / (n_in + HIDDEN)), (n_in, HIDDEN)),
        "fc1/affine/b": np.zeros(HIDDEN),
        "fc2/affine/W": rng.normal(0.0, np.sqrt(2.0 / (HIDDEN + n_out)), (HIDDEN, n_out)),
        "fc2/affine/b": np.zeros(n_out),
    }
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    onehot = np.eye(n_out)[labels]
    for _ in range(STEPS):
        hidden, probs = forward(params, x)
        d_logits = (probs - onehot) / len(x)
        d_hidden = (d_logits @ params["fc2/affine/W"].T) * (1 - hidden**2)
        grads = {
            "fc2/affine/W": hidden.T @ d_logits,
            "fc2/affine/b": d_logits.sum(axis=0),
            "fc1/affine/W": x.T @ d_hidden,
            "fc1/affine/b": d_hidden.sum(axis=0),
        }
        for key, grad in grads.items():
            velocity[key] = MOMENTUM * velocity[key] - LEARNING_RATE * grad
            params[key] += velocity[key]
    return params


def error_rate(params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(forward(params, x)[1].argmax(axis=1) != labels))


def write_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG", optimize=False, compress_level=9)
    path.write_bytes(buffer.getvalue())


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A .npz that np.load reads, with fixed zip timestamps so the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())


def write_index(path: Path, indices: np.ndarray, labels: np.ndarray) -> None:
    rows = ["x:image,y:label"] + [f"images/{i:04d}.png,{labels[i]}" for i in indices]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUT
    pixels, labels = load()
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(labels))
    test, train_split = np.sort(order[:TEST_SIZE]), np.sort(order[TEST_SIZE:])

    (out / "images").mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(pixels):
        write_png(out / "images" / f"{i:04d}.png", image)
    write_index(out / "index_train.csv", train_split, labels)
    write_index(out / "index_test.csv", test, labels)

    x = pixels.reshape(len(pixels), -1).astype(np.float64) / 255  # as nnspec reads an 8-bit PNG
    params = train(x[train_split], labels[train_split], rng)
    # float32, as specs/digits.yaml computes; the error rates below are of these values
    params = {key: value.astype(np.float32) for key, value in params.items()}
    write_npz(out / "params.npz", params)
    for key, value in params.items():
        (out / "params" / key).parent.mkdir(parents=True, exist_ok=True)
        np.save(out / "params" / f"{key}.npy", value, allow_pickle=False)
    saved = {key: value.astype(np.float64) for key, value in params.items()}
    print(f"wrote {len(pixels)} images, {len(train_split)} train and {len(test)} test, and params.npz to {out}")
    print(f"error rate: train {error_rate(saved, x[train_split], labels[train_split]):.2%}, ", end="")
    print(f"test {error_rate(saved, x[test], labels[test]):.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
