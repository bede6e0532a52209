"""How much slower `nnspec run --input x=data.csv` is than the same data as .npy.

Writes N x C seeded float64 values (default 5000 x 784; --rows, --columns) as a CSV (numpy's
"%.17g" by default, so the CSV holds exactly the .npy's values; --fmt %.6g for shorter text;
--fmt %d for pixels 0..255) and as a .npy in a temporary directory, then runs
`python -m nnspec run SPEC --input x=FILE --quiet` on each, alternating (npy, csv, npy, csv,
...) so that machine noise hits both alike; each run is a fresh process, timed from outside,
and reports its own peak RSS and CPU seconds. The spec is an MLP C-64-10 so that reading the
data, not the network, is most of the run. The headline is the ratio of the median wall times, csv / npy,
beside issue 18's target of 1.5x.

    python benchmarks/csv_input.py                  # 5000 rows, 5 rounds (~20 s)
    python benchmarks/csv_input.py --rows 20000 --repeat 3
    python benchmarks/csv_input.py --rows 400000 --columns 8 --fmt %.6g   # a tall table
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from time import perf_counter

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
nnspec: 1
name: csv-input-benchmark
dtype: float32
layers:
  - {name: x, type: Input, size: [COLUMNS]}
  - {name: fc1, type: Affine, out_shape: 64}
  - {name: relu1, type: ReLU}
  - {name: fc2, type: Affine, out_shape: 10}
"""

# The child reports its own peak RSS (ru_maxrss in KiB on Linux) and CPU seconds (user + system, all
# its threads) after running the CLI in-process.
CHILD = """\
import resource, sys
from nnspec.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
usage = resource.getrusage(resource.RUSAGE_SELF)
print("PEAK", usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)
sys.exit(code or 0)
"""


def run_once(spec: Path, data: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one `nnspec run` in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # and cwd: `python -c` puts the cwd first on sys.path
    command = [sys.executable, "-c", CHILD, "run", str(spec), "--input", f"x={data}", "--quiet"]
    began = perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    took = perf_counter() - began
    if done.returncode not in (0, 1):  # 1: findings, which a seeded random network may have
        sys.exit(f"nnspec run failed ({done.returncode}):\n{done.stderr}")
    _, peak, cpu = next(line.split() for line in done.stderr.splitlines() if line.startswith("PEAK"))
    return took, float(cpu), int(peak) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--columns", type=int, default=784, help="values a row (8: a tall table of few features)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fmt", default="%.17g", help="how the CSV writes each value (%%.6g: shorter text)")
    args = parser.parse_args()
    shape = (args.rows, args.columns)
    print(f"load average {os.getloadavg()[0]:.2f}; numpy {np.__version__}; ", end="")
    print(f"{args.rows:,} x {args.columns} float64 as {args.fmt}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(0)
        if args.fmt == "%d":  # integers as images are stored: 8-bit pixels, as MNIST's 784 columns
            values = rng.integers(0, 256, shape).astype(np.float64)
        else:
            values = rng.standard_normal(shape)
        np.save(folder / "data.npy", values)
        np.savetxt(folder / "data.csv", values, delimiter=",", fmt=args.fmt)
        (folder / "spec.yaml").write_text(SPEC.replace("COLUMNS", str(args.columns)))
        size = (folder / "data.csv").stat().st_size
        print(f"CSV {size / 2**20:.1f} MiB; .npy {(folder / 'data.npy').stat().st_size / 2**20:.1f} MiB")
        times: dict[str, list[float]] = {"npy": [], "csv": []}
        cpus: dict[str, list[float]] = {"npy": [], "csv": []}
        peaks: dict[str, list[float]] = {"npy": [], "csv": []}
        for _ in range(args.repeat):
            for kind in ("npy", "csv"):
                took, cpu, peak = run_once(folder / "spec.yaml", folder / f"data.{kind}")
                times[kind].append(took)
                cpus[kind].append(cpu)
                peaks[kind].append(peak)
        for kind in ("npy", "csv"):
            took, cpu, peak = median(times[kind]), median(cpus[kind]), max(peaks[kind])
            print(
                f"{kind}: median {took:.2f} s (min {min(times[kind]):.2f}), CPU {cpu:.2f} s "
                f"(min {min(cpus[kind]):.2f}), peak RSS {peak:.0f} MiB"
            )
        ratio = median(times["csv"]) / median(times["npy"])
        print(f"csv / npy: {ratio:.2f}x (target <= 1.5x) {'ok' if ratio <= 1.5 else 'OVER'}")
        # CPU seconds move less than wall time when other work shares the cores (a load above 1 a core)
        print(f"csv / npy in CPU seconds: {median(cpus['csv']) / median(cpus['npy']):.2f}x")


if __name__ == "__main__":
    main()
