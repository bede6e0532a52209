"""How fast `nnspec validate` is in CI: one deep spec, `--help`, and 200 specs in one call.

Three measurements, each beside a baseline taken in the same command so that machine
speed cancels out:

  1. a 1000-layer spec (Input [64], then Affine 64 / Tanh / ReLU / ... 999 layers):
     nnspec.validate(path) in-process after nnspec is imported (median of warm calls;
     the first call, which also pays nnspec's lazy imports, is printed beside it), and
     the whole `nnspec validate` process, wall time;
  2. `nnspec --help`, wall time, beside `python -c pass`;
  3. one `nnspec validate` over 200 varied specs beside one `check-jsonschema` over the
     same files with schemas/nnspec.schema.json. check-jsonschema only checks the schema;
     nnspec also wires the layers, infers shapes and runs its static range analysis (its
     predicted warnings are part of what users run, so they are measured too).

    python benchmarks/validate_speed.py                 # ~15 s
    python benchmarks/validate_speed.py --runs 11       # more runs per median

The script measures the nnspec of the checkout it lives in: in-process through sys.path,
and in subprocesses as `python -m nnspec` with the repository root on PYTHONPATH (the
console script may not be installed, or may be another copy). Row 3 needs check-jsonschema
(`pip install '.[bench]'`); without it that row is skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnspec  # noqa: E402

SCHEMA = ROOT / "schemas" / "nnspec.schema.json"
DEEP_LAYERS = 1000
SPEC_FILES = 200
TARGET_DEEP_SECONDS = 0.2
TARGET_HELP_SECONDS = 0.3
TARGET_RATIO = 1.0


# --- timing ---------------------------------------------------------------------------------------


def median_seconds(func: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = perf_counter()
        func()
        times.append(perf_counter() - start)
    return statistics.median(times)


def child_env() -> dict[str, str]:
    """This checkout first on PYTHONPATH, so `python -m nnspec` runs the code measured in-process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def command_runner(argv: Sequence[str]) -> Callable[[], None]:
    """A function running argv once, output discarded; a failing exit is an error, not a time.

    `nnspec validate` exits 0 on valid specs with predicted warnings (no --strict), and
    check-jsonschema exits 0 when every file passes, so 0 is expected of every command here.
    """
    env = child_env()

    def run() -> None:
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} ... exited {done.returncode}:\n{done.stderr[-2000:]}")

    return run


def interleaved_walls(commands: dict[str, Sequence[str]], runs: int) -> dict[str, float]:
    """Median wall seconds of each command, run in turn, round after round, after one warm-up
    round (which fills the OS file cache and writes .pyc files, as a CI job's second step would find)."""
    runners = {key: command_runner(argv) for key, argv in commands.items()}
    times: dict[str, list[float]] = {key: [] for key in commands}
    for round_ in range(runs + 1):
        for key, run in runners.items():
            start = perf_counter()
            run()
            if round_:
                times[key].append(perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


# --- specs ----------------------------------------------------------------------------------------


def deep_spec(layers: int) -> str:
    """Input [64], then Affine 64, Tanh, Affine 64, ReLU, ... up to `layers` layers in all.

    Flow style, one layer a line, as the repository's specs write short layers.
    """
    lines = ["nnspec: 1", f"name: deep-{layers}", "seed: 0", "layers:", "  - {name: x, type: Input, size: [64]}"]
    activations = ("Tanh", "ReLU")
    for i in range(1, layers):
        if i % 2:
            lines.append(f"  - {{name: fc{i}, type: Affine, out_shape: 64}}")
        else:
            lines.append(f"  - {{name: act{i}, type: {activations[(i // 2) % 2]}}}")
    return "\n".join(lines) + "\n"


def mlp(index: int) -> dict:
    """An MLP whose depth, width, activation and input size vary with index."""
    width = (16, 32, 64, 128, 256)[index % 5]
    activation = ("Tanh", "ReLU", "Sigmoid", "ELU")[index % 4]
    layers: list[dict] = [{"name": "x", "type": "Input", "size": [8 + index % 50], "generator": "Uniform"}]
    for depth in range(1, 2 + index % 8):
        layers.append({"name": f"fc{depth}", "type": "Affine", "out_shape": width})
        layers.append({"name": f"act{depth}", "type": activation})
    layers += [{"name": "out", "type": "Affine", "out_shape": 10}, {"name": "probs", "type": "Softmax"}]
    return {"nnspec": 1, "name": f"mlp-{index}", "seed": index, "layers": layers}


def cnn(index: int) -> dict:
    """A LeNet-like CNN: convolution stages whose count, maps and image size vary with index."""
    side = (16, 28, 32)[index % 3]
    layers: list[dict] = [{"name": "x", "type": "Input", "size": [1 + index % 3, side, side], "range": [-1, 1]}]
    for stage in range(1, 2 + index % 2):
        maps = 4 * stage * (1 + index % 4)
        layers.append(
            {"name": f"conv{stage}", "type": "Convolution", "out_maps": maps, "kernel_shape": [3, 3]}
            | {"border_mode": "same"}
        )
        layers.append({"name": f"relu{stage}", "type": "ReLU"})
        layers.append({"name": f"pool{stage}", "type": "MaxPooling", "kernel_shape": [2, 2]})
    layers += [
        {"name": "fc", "type": "Affine", "out_shape": 32 + index % 64},
        {"name": "tanh", "type": "Tanh"},
        {"name": "out", "type": "Affine", "out_shape": 10},
        {"name": "probs", "type": "Softmax"},
    ]
    return {"nnspec": 1, "name": f"cnn-{index}", "seed": index, "layers": layers}


def residual(index: int) -> dict:
    """bn_residual.yaml's shape: convolution + inference BatchNormalization blocks, a skip
    connection (Add2, so the wiring is a graph, not a chain) and global average pooling."""
    maps = 4 + index % 12
    side = (8, 16)[index % 2]

    def block(n: int) -> list[dict]:
        return [
            {"name": f"conv{n}", "type": "Convolution", "out_maps": maps, "kernel_shape": [3, 3]}
            | {"border_mode": "same"},
            {
                "name": f"bn{n}",
                "type": "BatchNormalization",
                "batch_stat": False,
                "mean": {"initializer": "Constant", "multiplier": 0.0},
                "var": {"initializer": "Constant", "multiplier": 1.0},
            },
        ]

    layers = [
        {"name": "x", "type": "Input", "size": [3, side, side], "generator": "Uniform", "range": [-1, 1]},
        *block(1),
        {"name": "relu1", "type": "ReLU"},
        *block(2),
        {"name": "add", "type": "Add2", "input": ["bn2", "relu1"]},
        {"name": "relu2", "type": "ReLU"},
        {"name": "pool", "type": "GlobalAveragePooling"},
        {"name": "fc", "type": "Affine", "out_shape": 10},
        {"name": "probs", "type": "Softmax"},
    ]
    return {"nnspec": 1, "name": f"residual-{index}", "seed": index, "layers": layers}


def self_contained_examples() -> list[Path]:
    """The repository's specs that name no file or dataset: paths in a spec are relative to it,
    so only these still mean the same when copied into the temporary directory."""
    return [
        path
        for path in sorted((ROOT / "specs").glob("*.yaml"))
        if "file:" not in (text := path.read_text()) and "dataset" not in text
    ]


def write_specs(folder: Path, count: int) -> list[Path]:
    """`count` specs: the self-contained examples copied under new names (some predict warnings,
    as real projects' specs do), then generated MLPs, CNNs and residual CNNs in turn."""
    paths = []
    for example in self_contained_examples()[:count]:
        paths.append(folder / f"example_{example.name}")
        shutil.copyfile(example, paths[-1])
    makers = (mlp, cnn, residual)
    for index in range(count - len(paths)):
        spec = makers[index % 3](index)
        paths.append(folder / f"{spec['name']}.yaml")
        paths[-1].write_text(yaml.safe_dump(spec, sort_keys=False))
    return paths


def require_valid(paths: Sequence[Path]) -> int:
    """Stop unless every spec is valid (no error diagnostic); the number of predicted warnings."""
    warnings = 0
    for path in paths:
        diagnostics = nnspec.validate(path)
        errors = [d for d in diagnostics if d.severity == "error"]
        if errors:
            raise SystemExit(f"generated spec {path.name} is invalid: {errors[0]}")
        warnings += len(diagnostics)
    return warnings


# --- the three measurements -----------------------------------------------------------------------


def measure_deep(folder: Path, runs: int) -> dict[str, float]:
    path = folder / f"deep_{DEEP_LAYERS}.yaml"
    path.write_text(deep_spec(DEEP_LAYERS))
    first = median_seconds(lambda: nnspec.validate(path), 1)  # also imports what validate loads lazily
    require_valid([path])
    warm = median_seconds(lambda: nnspec.validate(path), runs)
    nnspec_cli = [sys.executable, "-m", "nnspec"]
    walls = interleaved_walls(
        {"cli": [*nnspec_cli, "validate", str(path)], "help": [*nnspec_cli, "--help"]}, max(3, runs // 2)
    )
    return {"first": first, "warm": warm, "cli": walls["cli"], "help": walls["help"]}


def measure_help(runs: int) -> dict[str, float]:
    return interleaved_walls(
        {"help": [sys.executable, "-m", "nnspec", "--help"], "python": [sys.executable, "-c", "pass"]}, runs
    )


def measure_many(folder: Path, runs: int) -> dict[str, float | int | str]:
    paths = write_specs(folder, SPEC_FILES)
    warnings = require_valid(paths)
    files = [str(path) for path in paths]
    commands = {"nnspec": [sys.executable, "-m", "nnspec", "validate", *files]}
    checker = shutil.which("check-jsonschema")
    if checker:
        commands["check-jsonschema"] = [checker, "--schemafile", str(SCHEMA), *files]
    result: dict[str, float | int | str] = {"files": len(paths), "warnings": warnings}
    result.update(interleaved_walls(commands, runs))
    if checker:
        result["checker_version"] = _version([checker, "--version"])
    return result


def _version(argv: Sequence[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


# --- report ---------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(deep: dict[str, float], help_: dict[str, float], many: dict[str, float | int | str]) -> None:
    print(f"\n1. {DEEP_LAYERS}-layer spec (Input [64], Affine 64 / Tanh / Affine 64 / ReLU ...), valid")
    print(f"   nnspec.validate(path), warm, median     {deep['warm'] * 1e3:8.1f} ms")
    print(f"   nnspec.validate(path), first call       {deep['first'] * 1e3:8.1f} ms  (with nnspec's lazy imports)")
    print(f"   nnspec validate FILE, whole process     {deep['cli'] * 1e3:8.1f} ms")
    print(f"   nnspec --help, same rounds              {deep['help'] * 1e3:8.1f} ms  (startup and CLI imports)")
    print(f"   difference, validate - --help           {(deep['cli'] - deep['help']) * 1e3:8.1f} ms")

    print("\n2. startup")
    print(f"   nnspec --help                           {help_['help'] * 1e3:8.1f} ms")
    print(f"   python -c pass                          {help_['python'] * 1e3:8.1f} ms")
    print(f"   difference (nnspec's own startup)       {(help_['help'] - help_['python']) * 1e3:8.1f} ms")

    print(f"\n3. one call over {many['files']} valid specs ({many['warnings']} predicted warnings in all)")
    print(f"   nnspec validate FILES                   {many['nnspec'] * 1e3:8.1f} ms")
    ratio = None
    if "check-jsonschema" in many:
        ratio = many["nnspec"] / many["check-jsonschema"]
        checker_ms = many["check-jsonschema"] * 1e3
        print(f"   check-jsonschema --schemafile ... FILES {checker_ms:8.1f} ms  ({many['checker_version']})")
        print(f"   ratio nnspec / check-jsonschema         {ratio:8.2f}x")
    else:
        print("   check-jsonschema not found: pip install check-jsonschema, then rerun (row skipped)")

    print(f"\n{'measure':46}{'value':>10}{'target':>12}  verdict")
    rows = [
        (
            f"{DEEP_LAYERS}-layer validate, after imports",
            f"{deep['warm']:.3f} s",
            f"< {TARGET_DEEP_SECONDS} s",
            verdict(deep["warm"] < TARGET_DEEP_SECONDS),
        ),
        (
            "nnspec --help, wall",
            f"{help_['help']:.3f} s",
            f"< {TARGET_HELP_SECONDS} s",
            verdict(help_["help"] < TARGET_HELP_SECONDS),
        ),
    ]
    if ratio is not None:
        rows.append(
            (
                f"{many['files']} files, nnspec / check-jsonschema",
                f"{ratio:.2f}x",
                f"<= {TARGET_RATIO:.2f}x",
                verdict(ratio <= TARGET_RATIO),
            )
        )
    else:
        rows.append((f"{many['files']} files, nnspec / check-jsonschema", "-", f"<= {TARGET_RATIO:.2f}x", "skipped"))
    for name, value, target, result in rows:
        print(f"{name:46}{value:>10}{target:>12}  {result}")


def environment() -> None:
    load = f"; load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.system()}; cpus {os.cpu_count()}{load}"
    )
    print(
        f"nnspec {nnspec.__version__} from {Path(nnspec.__file__).parent}; pyyaml {yaml.__version__}"
        f" (C loader: {hasattr(yaml, 'CSafeLoader')})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per median (default 7)")
    args = parser.parse_args(argv)
    environment()
    with tempfile.TemporaryDirectory(prefix="nnspec-validate-speed-") as tmp:
        folder = Path(tmp)
        deep = measure_deep(folder, args.runs)
        help_ = measure_help(args.runs)
        many_folder = folder / "many"
        many_folder.mkdir()
        many = measure_many(many_folder, max(3, args.runs // 2))
    report(deep, help_, many)


if __name__ == "__main__":
    main()
