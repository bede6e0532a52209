"""Peak memory of `nnspec run` streaming a .npy file through an MLP: bounded by the batch, not the data.

For each data size (float32 .npy files, written chunk by chunk with np.lib.format.open_memmap in a
temporary directory and deleted afterwards) and each batch size, a fresh Python process runs
`nnspec run SPEC --input x=FILE --batch-size N --quiet` and reports its own peak resident set size
(resource.getrusage ru_maxrss) and the time the run took. The peak should not grow with the data size.
The files are written by another child process: a child's ru_maxrss counts its parent's peak from
before the exec, so this process itself stays small.

    python benchmarks/stream_memory.py                          # 200 MB and 2 GB, batches 256 and 4096
    python benchmarks/stream_memory.py --sizes 50M 500M --batches 64 1024
    python benchmarks/stream_memory.py --dataset-samples 2000 20000   # NNC dataset CSVs of 28x28 PNGs

With --dataset-samples, the data is instead an NNC dataset (index.csv naming one 28x28 grayscale
PNG a sample, written by a child process; needs Pillow), run with --dataset: its images are read
a batch at a time, so the peak should grow only with the index (a path a sample), not the images.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nnspec.files.memory import format_bytes, parse_size  # noqa: E402

FEATURES = 784
SPEC = """\
nnspec: 1
name: mlp-784-256-10
seed: 0
layers:
  - {name: x, type: Input, size: [784]}
  - {name: fc1, type: Affine, out_shape: 256}
  - {name: relu, type: ReLU}
  - {name: fc2, type: Affine, out_shape: 10}
  - {name: probs, type: Softmax}
"""
CHILD = """
import json, resource, sys, time
from nnspec.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - started
sys.stdout.flush()
print(json.dumps({"code": code, "seconds": elapsed, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      file=sys.stderr)
"""
FREE_FOR_LARGE = 6 * 2**30  # the large file needs room, with a margin


def write_npy(path: Path | str, samples: int, chunk: int = 4096) -> None:
    """Uniform -1..1 float32 samples, written a chunk at a time (never the whole array in memory)."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(samples, FEATURES))
    rng = np.random.default_rng(0)
    for start in range(0, samples, chunk):
        stop = min(start + chunk, samples)
        array[start:stop] = rng.uniform(-1, 1, (stop - start, FEATURES)).astype(np.float32)
    array.flush()
    del array


def write_dataset(folder: Path | str, samples: int) -> None:
    """An NNC dataset: index.csv (header x:image) and one 28x28 grayscale PNG a sample."""
    from PIL import Image

    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with open(folder / "index.csv", "w") as index:
        index.write("x:image\n")
        for i in range(samples):
            Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / "images" / f"{i}.png")
            index.write(f"images/{i}.png\n")


def measure(spec: Path, data: Path, batch: int) -> dict:
    source = ["--dataset", str(data)] if data.suffix == ".csv" else ["--input", f"x={data}"]
    argv = ["run", str(spec), *source, "--batch-size", str(batch), "--quiet"]
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, cwd=ROOT)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    if report["code"] not in (0, 1):
        raise SystemExit(f"nnspec run failed ({report['code']}):\n{proc.stdout}\n{proc.stderr}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["200M", "2G"], help="data sizes (default: 200M 2G)")
    parser.add_argument("--batches", nargs="+", type=int, default=[256, 4096], help="batch sizes (default: 256 4096)")
    parser.add_argument(
        "--dataset-samples", nargs="+", type=int, help="measure NNC datasets of this many PNG images instead"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nnspec-stream-") as directory:
        directory = Path(directory)
        spec = directory / "mlp.yaml"
        spec.write_text(SPEC)
        baseline = measure_baseline()
        print(f"MLP 784-256-10 (ReLU, Softmax), float32; {sys.executable}")
        print(f"python + numpy + nnspec imported, nothing run: peak RSS {format_bytes(baseline * 1024)}\n")
        header = f"{'data':>10} {'samples':>9} {'batch':>6} {'peak RSS':>10} {'time':>8} {'samples/s':>10}"
        print(header)
        print("-" * len(header))
        for samples in args.dataset_samples or []:
            folder = directory / f"dataset_{samples}"
            writer = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            writer += f"from stream_memory import write_dataset; write_dataset({str(folder)!r}, {samples})"
            subprocess.run([sys.executable, "-c", writer], check=True, cwd=ROOT)
            for batch in args.batches:
                found = measure(spec, folder / "index.csv", batch)
                print(
                    f"{'dataset':>10} {samples:>9,} {batch:>6} "
                    f"{format_bytes(found['maxrss_kib'] * 1024):>10} {found['seconds']:>7.1f}s "
                    f"{samples / found['seconds']:>10,.0f}",
                    flush=True,
                )
            shutil.rmtree(folder)
        for size in [] if args.dataset_samples else args.sizes:
            wanted = parse_size(size)
            free = shutil.disk_usage(directory).free
            if wanted > 2**30 and free < FREE_FOR_LARGE:
                print(f"{size:>10}  skipped: {format_bytes(free)} free in {directory}, fewer than 6 GiB")
                continue
            samples = wanted // (FEATURES * 4)
            data = directory / f"x_{size}.npy"
            started = time.perf_counter()
            # in a process of its own: a child's ru_maxrss starts from its parent's peak (fork, exec),
            # so this process must never hold much memory itself
            writer = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            writer += f"from stream_memory import write_npy; write_npy({str(data)!r}, {samples})"
            subprocess.run([sys.executable, "-c", writer], check=True, cwd=ROOT)
            written = time.perf_counter() - started
            for batch in args.batches:
                found = measure(spec, data, batch)
                print(
                    f"{format_bytes(data.stat().st_size):>10} {samples:>9,} {batch:>6} "
                    f"{format_bytes(found['maxrss_kib'] * 1024):>10} {found['seconds']:>7.1f}s "
                    f"{samples / found['seconds']:>10,.0f}",
                    flush=True,
                )
            data.unlink()
            print(f"{'':>10} (file written in {written:.1f} s, then deleted)")


def measure_baseline() -> int:
    code = (
        "import resource, numpy, nnspec.cli, nnspec.runtime.runner; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout)


if __name__ == "__main__":
    main()
