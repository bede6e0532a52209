"""How fast `nnspec validate` reads a large NNC project: a ResNet-110 written in NNC's grammar.

Issue 20's target: "reading a large project (resnet-110) validates in under 0.5 s". The script
writes its own project (no NNC file is kept in the repository): NNC's CIFAR-10 ResNet-110 as NNC's
sample project draws it, pre-activation blocks (BatchNormalization, ReLU, Convolution, twice, and
Add2 with the block's input) in three stages of 16, 32 and 64 maps, each stage's blocks a
RepeatStart/RepeatEnd of `--blocks` - 1 copies after a first block that halves the image, as NNC
writes it (`--blocks 18`: 110 weighted layers, 387 layers once the repeats are expanded), or, with
`--flat`, every block written out (no repeats: 387 written layers, each with its own section).

Each figure is beside a baseline measured in the same command, so that machine speed cancels out:

  1. in-process, after nnspec is imported (median of warm calls, interleaved):
     read      readers.read_spec: the .sdcproj parsed and mapped onto a spec document;
     validate  nnspec.validate(path): read, repeats expanded, wired, shapes inferred, checked, and
               the static analysis `nnspec validate` prints warnings from;
     baseline  nnspec.validate of a one-layer YAML spec;
  2. the whole `nnspec validate project.sdcproj` process, wall time and CPU time (user + system,
     which a busy machine changes less than the wall's), beside `nnspec validate` of the one-layer
     spec (nnspec's start-up): their difference is what the project costs in CI.

    python benchmarks/nnc_project_speed.py                      # ~10 s
    python benchmarks/nnc_project_speed.py --flat --runs 11
    python benchmarks/nnc_project_speed.py --nnc /path/to/resnet-110.sdcproj   # NNC's own file too

With `--nnc FILE`, NNC's own project is measured as well: in-process (read, and validate) and as
a `nnspec validate` process beside the same start-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnspec  # noqa: E402
from nnspec.spec.readers import read_spec  # noqa: E402

TARGET_SECONDS = 0.5
ONE_LAYER = "nnspec: 2\nlayers:\n  - {name: x, type: Input, size: [1]}\n"
STAGE_MAPS = (16, 32, 64)


# --- the project, in NNC's grammar ----------------------------------------------------------------


class Project:
    """One network's layers and links as NNC writes them: each layer an ID, its properties by NNC's
    names; each link from a layer's output into pin 0 of another, in the order they are added."""

    def __init__(self) -> None:
        self.layers: list[tuple[str, str, dict[str, str]]] = []
        self.links: list[tuple[int, int]] = []
        self.ids: dict[str, int] = {}

    def add(self, layer_type: str, name: str, inputs: Sequence[str] = (), **props: str) -> str:
        self.ids[name] = len(self.layers)
        self.layers.append((layer_type, name, props))
        self.links += [(self.ids[source], self.ids[name]) for source in inputs]
        return name

    def text(self) -> str:
        lines = ["[Engine]", "SDeepEngineType=NNabla", "[Network_Global]"]
        lines += [f"NumLayer={len(self.layers)}", f"NumLink={len(self.links)}"]
        for k, (layer_type, name, props) in enumerate(self.layers):
            lines += [f"[Layer_{k}]", f"ID={k}", f"Type={layer_type}"]
            for p, (key, value) in enumerate({"Name": name, **props}.items()):
                lines += [f"Property_{p}_Name={key}", f"Property_{p}_Value={value}"]
            lines.append(f"NumProperty={len(props) + 1}")
        for j, (source, dest) in enumerate(self.links):
            lines += [f"[Link_{j}]", f"ID={j}", f"SourceLayerID={source}", "SourcePinIndex=0"]
            lines += [f"DestLayerID={dest}", "DestPinIndex=0"]
        return (
            "\r\n".join([*lines, "[Executor_0]", "Executor_Name=Executor", "Executor_NetworkName=MainRuntime"]) + "\r\n"
        )


def conv(project: Project, name: str, source: str, maps: int, stride: int = 1) -> str:
    props = {"OutMaps": str(maps), "KernelShape": "3,3", "WithBias": "False", "BorderMode": "same"}
    return project.add("Convolution", name, [source], **props, Strides=f"{stride},{stride}")


def block(project: Project, source: str, maps: int, tag: str, stride: int = 1) -> str:
    """A pre-activation residual block: BN, ReLU, Conv, BN, ReLU, Conv, and Add2 with a shortcut
    (the block's input, or a strided convolution of its activation where the block halves the image)."""
    bn1 = project.add("BatchNormalization", f"BN_{tag}a", [source])
    relu1 = project.add("ReLU", f"ReLU_{tag}a", [bn1])
    conv1 = conv(project, f"Conv_{tag}a", relu1, maps, stride)
    bn2 = project.add("BatchNormalization", f"BN_{tag}b", [conv1])
    relu2 = project.add("ReLU", f"ReLU_{tag}b", [bn2])
    conv2 = conv(project, f"Conv_{tag}b", relu2, maps)
    shortcut = source if stride == 1 else conv(project, f"Conv_{tag}s", relu1, maps, stride)
    return project.add("Add2", f"Add2_{tag}", [shortcut, conv2])


def resnet(blocks: int, flat: bool) -> Project:
    """NNC's CIFAR-10 ResNet (6 * blocks + 2 weighted layers: 110 for 18 blocks a stage)."""
    project = Project()
    x = project.add("Input", "Input", Size="3,32,32", Dataset="x")
    x = conv(project, "Conv_stem", x, STAGE_MAPS[0])
    for stage, maps in enumerate(STAGE_MAPS):
        first = 0 if stage == 0 else 1  # a stage after the first starts with a block that halves the image
        if first:
            x = block(project, x, maps, f"s{stage}_0", stride=2)
        if flat:
            for k in range(first, blocks):
                x = block(project, x, maps, f"s{stage}_{k}")
        else:
            start = project.add("RepeatStart", f"RepeatStart_{stage}", [x], Times=str(blocks - first))
            x = project.add("RepeatEnd", f"RepeatEnd_{stage}", [block(project, start, maps, f"s{stage}")])
    x = project.add("BatchNormalization", "BN_last", [x])
    x = project.add("ReLU", "ReLU_last", [x])
    x = project.add("AveragePooling", "AveragePooling", [x], KernelShape="8,8")
    x = project.add("Affine", "Affine", [x], OutShape="10")
    project.add("SoftmaxCrossEntropy", "SoftmaxCrossEntropy", [x], **{"T.Dataset": "y"})
    return project


# --- timing ---------------------------------------------------------------------------------------


def interleaved(functions: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds of each function, called in turn, round after round, after one warm-up round."""
    times: dict[str, list[float]] = {key: [] for key in functions}
    for round_ in range(runs + 1):
        for key, function in functions.items():
            start = perf_counter()
            function()
            if round_:
                times[key].append(perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def processes(commands: dict[str, Sequence[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of `python -m nnspec ARGV` of this checkout for each command, run in
    turn, round after round, after a warm-up round; an exit other than 0 stops the script."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    times: dict[str, list[tuple[float, float]]] = {key: [] for key in commands}
    for round_ in range(runs + 1):
        for key, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = perf_counter()
            done = subprocess.run([sys.executable, "-m", "nnspec", *argv], env=env, capture_output=True, text=True)
            wall = perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                raise SystemExit(f"nnspec {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
            if round_:
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                times[key].append((wall, cpu))
    return {
        key: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for key, values in times.items()
    }


def valid(path: Path) -> int:
    """The number of layers ``path`` expands to; stops unless it validates without an error."""
    errors = [d for d in nnspec.validate(path) if d.severity == "error"]
    if errors:
        raise SystemExit(f"{path.name} is invalid: {errors[0]}")
    return len(nnspec.load(path).layers)


# --- NNC's own project ------------------------------------------------------------------------------


def nnc_stages(path: Path, runs: int) -> tuple[dict[str, float], int]:
    """NNC's project read, and validated, as it is."""
    figures = interleaved({"read": lambda: read_spec(path), "validate": lambda: nnspec.validate(path)}, runs)
    return figures, len(nnspec.load(path).layers)


# --- the report -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=18, help="residual blocks a stage (default 18: ResNet-110)")
    parser.add_argument("--flat", action="store_true", help="every block written out, no RepeatStart/RepeatEnd")
    parser.add_argument("--runs", type=int, default=7, help="runs per median (default 7)")
    parser.add_argument("--nnc", type=Path, metavar="FILE", help="NNC's resnet-110.sdcproj, measured too")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "resnet.sdcproj"
        project.write_text(resnet(args.blocks, args.flat).text(), newline="")
        one = Path(folder) / "one.yaml"
        one.write_text(ONE_LAYER)
        layers = valid(project)
        written = len(read_spec(project).data["layers"])
        form = "flat" if args.flat else "repeats"
        print(
            f"ResNet-{6 * args.blocks + 2} ({form}): {project.stat().st_size:,} bytes, {written} layers written, "
            f"{layers} once expanded"
        )
        inside = interleaved(
            {
                "read": lambda: read_spec(project),
                "validate": lambda: nnspec.validate(project),
                "baseline": lambda: nnspec.validate(one),
            },
            args.runs,
        )
        walls = processes(
            {"project": ["validate", str(project)], "start-up": ["validate", str(one)]}, max(3, args.runs // 2)
        )
    wall = walls["project"][0] - walls["start-up"][0]
    cpu = walls["project"][1] - walls["start-up"][1]
    print("\nin-process, after import (median):")
    print(f"  read the .sdcproj          {inside['read'] * 1000:8.1f} ms")
    print(
        f"  nnspec.validate            {inside['validate'] * 1000:8.1f} ms   "
        f"({inside['validate'] / inside['baseline']:.0f}x a one-layer spec's {inside['baseline'] * 1000:.1f} ms)"
    )
    print("`nnspec validate` as a process (medians):       wall        CPU")
    for label, key in (("the project", "project"), ("a one-layer spec (start-up)", "start-up")):
        print(f"  {label:<30} {walls[key][0] * 1000:8.1f} ms {walls[key][1] * 1000:8.1f} ms")
    verdict = "within" if max(wall, cpu) < TARGET_SECONDS else "OVER"
    print(
        f"  {'its own cost':<30} {wall * 1000:8.1f} ms {cpu * 1000:8.1f} ms   "
        f"({verdict} the {TARGET_SECONDS:g} s target)"
    )
    if args.nnc:
        figures, expanded = nnc_stages(args.nnc, args.runs)
        with tempfile.TemporaryDirectory() as folder:
            one = Path(folder) / "one.yaml"
            one.write_text(ONE_LAYER)
            walls = processes(
                {"project": ["validate", str(args.nnc)], "start-up": ["validate", str(one)]}, max(3, args.runs // 2)
            )
        wall = walls["project"][0] - walls["start-up"][0]
        cpu = walls["project"][1] - walls["start-up"][1]
        verdict = "within" if max(wall, cpu) < TARGET_SECONDS else "OVER"
        print(f"\nNNC's {args.nnc.name} ({expanded} layers once expanded):")
        print(f"  read the .sdcproj          {figures['read'] * 1000:8.1f} ms")
        print(f"  nnspec.validate            {figures['validate'] * 1000:8.1f} ms")
        print(
            f"  `nnspec validate` beyond start-up {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms CPU   "
            f"({verdict} the {TARGET_SECONDS:g} s target)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
