"""What runs killed while writing leave behind: six runs writing a 27 MB .csv, each killed (SIGKILL,
then SIGTERM) once its temporary file holds 20 MB, then one more run writing the same file.

    python benchmarks/killed_writes.py
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SPEC = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [8]}\n  - {name: r, type: ReLU}\n"
KILLS = 6


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "spec.yaml").write_text(SPEC)
        np.save(root / "x.npy", np.random.default_rng(0).normal(size=(500_000, 8)).astype(np.float32))
        argv = [sys.executable, "-m", "nnspec", "run", "-q", str(root / "spec.yaml"), "--input", f"x={root / 'x.npy'}"]
        argv += ["--output", str(root / "o.csv"), "--force"]
        for sig in (signal.SIGKILL, signal.SIGTERM):
            codes = [_killed_while_writing(argv, root, sig) for _ in range(KILLS)]
            print(f"{signal.Signals(sig).name}: exit codes {codes}; left behind: {_left(root) / 2**20:.0f} MiB")
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            print(f"  after one more run writing the file: {_left(root) / 2**20:.0f} MiB")


def _killed_while_writing(argv: list[str], root: Path, sig: int) -> int:
    """One run, sent ``sig`` once its own temporary file (not one an earlier run left) holds 20 MB."""
    before = set(root.glob(".o.csv.*.tmp"))
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not any(p.stat().st_size > 20_000_000 for p in set(root.glob(".o.csv.*.tmp")) - before):
        if child.poll() is not None:
            break
        time.sleep(0.01)
    child.send_signal(sig)
    return child.wait()


def _left(root: Path) -> int:
    total = 0
    for path in root.glob(".o.csv.*.tmp"):
        try:
            total += path.stat().st_size
        except FileNotFoundError:  # removed as we looked
            pass
    return total


if __name__ == "__main__":
    main()
