"""Write tests/fixtures/nnabla_written/: .nnp files written by nnspec, loaded and run by nnabla 1.39.

    /work/nnabla-venv/bin/python scripts/make_nnabla_written_fixture.py [NNSPEC_PYTHON]

For each spec in SPECS, with nnabla's Python (NNSPEC_PYTHON, default /work/venv/bin/python, runs nnspec):

1. ``nnspec convert SPEC -o NAME_drawn.nnp`` (parameters drawn from the spec's initializers), loaded
   by ``nnabla.utils.nnp_graph.NnpLoader`` only to learn its parameters' names and shapes;
2. trained-like values drawn for them from numpy's seeded generator (BatchNormalization statistics
   away from 0 and 1, so a wrong axis or a missing test-time argument changes the outputs), saved
   as ``NAME_params.npz``;
3. ``nnspec convert SPEC -o NAME.nnp --params NAME_params.npz`` (parameter.h5, nnabla's default;
   the MLP also as ``mlp_branches_protobuf.nnp`` with parameter.protobuf), loaded by NnpLoader,
   its network built for SAMPLES samples and run on fixed inputs drawn U(-1, 1);
4. into ``expected.npz``: ``NAME/in/VARIABLE`` the inputs and ``NAME/out/VARIABLE`` nnabla's outputs
   (the executor's output variables, named as the spec's output layers).

tests/test_nntxt_writer.py runs nnspec on the same specs, parameters and inputs and compares.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "nnabla_written"
SAMPLES = 3
SPECS = {
    "mlp_branches": ROOT / "specs" / "mlp_branches.yaml",
    "lenet": ROOT / "specs" / "lenet.yaml",
    "bn_residual": ROOT / "specs" / "bn_residual.yaml",
    "repeat_residual": ROOT / "specs" / "repeat_residual.yaml",
    "squeezenet_fire": ROOT / "specs" / "squeezenet_fire.yaml",
    "arguments": ROOT / "specs" / "arguments.yaml",
    "axes": OUT / "axes.yaml",
    "layers": OUT / "layers.yaml",
}


def convert(python: str, spec: Path, target: Path, *options: str) -> None:
    command = [python, "-m", "nnspec", "convert", str(spec), "-o", str(target), "--force", *options]
    subprocess.run(command, check=True, cwd=ROOT)


def trained_like(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if name.endswith("/mean"):
        values = rng.normal(0, 0.3, shape)
    elif name.endswith("/var"):
        values = rng.uniform(0.5, 2.0, shape)
    elif name.endswith("/gamma"):
        values = rng.uniform(0.5, 1.5, shape)
    elif name.endswith("/b") or name.endswith("/beta"):
        values = rng.normal(0, 0.2, shape)
    else:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 2 else shape[0]
        values = rng.normal(0, 1 / np.sqrt(max(fan_in, 1)), shape)
    return values.astype(np.float32)


def executor_outputs(path: Path) -> list[str]:
    """The executor's output variables, read from the .nnp's network.nntxt (written by nnspec)."""
    text = zipfile.ZipFile(path).read("network.nntxt").decode()
    lines = text.splitlines()
    return [
        lines[k + 1].split('"')[1]
        for k, line in enumerate(lines)
        if line.strip() == "output_variable {" and "variable_name" in lines[k + 1]
    ]


def main(python: str) -> int:
    import nnabla as nn
    from nnabla.utils.nnp_graph import NnpLoader

    rng = np.random.default_rng(39)
    expected: dict[str, np.ndarray] = {"nnabla_version": np.array(nn.__version__)}
    for name, spec in SPECS.items():
        drawn = OUT / f"{name}_drawn.nnp"
        convert(python, spec, drawn)
        nn.clear_parameters()
        loader = NnpLoader(str(drawn))
        loader.get_network(loader.get_network_names()[0], batch_size=SAMPLES)
        shapes = {key: tuple(value.shape) for key, value in nn.get_parameters(grad_only=False).items()}
        drawn.unlink()
        params = {key: trained_like(key, shape, rng) for key, shape in sorted(shapes.items())}
        np.savez(OUT / f"{name}_params.npz", **params)
        targets = [OUT / f"{name}.nnp"]
        given = ("--params", str(OUT / f"{name}_params.npz"))
        convert(python, spec, targets[0], *given, "--parameter-format", "h5")
        if name == "mlp_branches":
            targets.append(OUT / f"{name}_protobuf.nnp")
            convert(python, spec, targets[1], *given, "--parameter-format", "protobuf")
        inputs: dict[str, np.ndarray] = {}
        for k, target in enumerate(targets):
            nn.clear_parameters()
            loader = NnpLoader(str(target))
            network = loader.get_network(loader.get_network_names()[0], batch_size=SAMPLES)
            for variable, holder in network.inputs.items():
                if variable not in inputs:
                    inputs[variable] = rng.uniform(-1, 1, holder.shape).astype(np.float32)
                holder.d = inputs[variable]
            outputs = executor_outputs(target)
            for output in outputs:
                network.variables[output].forward(clear_buffer=False)
            prefix = name if k == 0 else f"{name}_protobuf"
            for variable, value in inputs.items():
                expected[f"{prefix}/in/{variable}"] = value
            for output in outputs:
                expected[f"{prefix}/out/{output}"] = network.variables[output].d.copy()
    np.savez_compressed(OUT / "expected.npz", **expected)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/work/venv/bin/python"))
