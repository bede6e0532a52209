"""Write tests/fixtures/onnx_nnabla/: ONNX files written by nnabla's own converter, with nnabla's outputs.

    /work/nnabla-venv/bin/python scripts/make_nnabla_onnx_fixtures.py [NNSPEC_PYTHON]

Needs nnabla 1.39 and nnabla-converter 1.39 in nnabla's venv (Python 3.10):

    /work/nnabla-venv/bin/pip install nnabla-converter==1.39.0

which brings onnx 1.13.1, the onnx that works there: it is built against protobuf 3.20, the protobuf
nnabla 1.39 pins (a newer onnx wants protobuf 4 or later, which nnabla's generated nnabla_pb2 refuses).
Pin ``onnx==1.13.1`` if pip picks another.

For each network of ours in NETWORKS (``tests/fixtures/onnx_nnabla/NAME.yaml``, NNC-style specs written
for this fixture), with NNSPEC_PYTHON (default /work/venv/bin/python) running nnspec:

1. ``nnspec convert NAME.yaml -o NAME.nnp`` (parameters drawn), loaded by nnabla's ``NnpLoader`` only to
   learn its parameters' names and shapes; small trained-like values drawn for them (BatchNormalization
   statistics away from 0 and 1), and ``nnspec convert NAME.yaml -o NAME.nnp --params`` with them;
2. ``nnabla_cli convert NAME.nnp NAME.onnx``: nnabla's converter with its defaults (opset 11, the
   batch fixed at 1, ``-b 1`` being nnabla_cli's default); ``cnn_batch2.onnx`` and ``affine_batch2.onnx``
   fixed at batch 2 (``-b 2``), ``cnn_opset13.onnx`` at opset 13 (``-d opset_13``);
3. nnabla run on the .nnp (``NnpLoader``, batch SAMPLES) on fixed inputs drawn U(-1, 1), written to
   ``NAME.npz``: ``in/VARIABLE`` the inputs of SAMPLES samples and ``out/VARIABLE`` nnabla's outputs
   (the executor's output variables, named as the spec's output layers), the samples independent of one
   another (every layer works per sample at evaluation), so a test takes the first 1, 3 or all 7.

The .nnp files are not kept: the .onnx holds the parameters. tests/test_onnx_nnabla.py reads each .onnx
with nnspec and compares its run with the .npz.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from make_nnabla_written_fixture import executor_outputs, trained_like  # scripts/ is on the path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "onnx_nnabla"
NNABLA_CLI = Path(sys.executable).with_name("nnabla_cli")
SAMPLES = 7
NETWORKS = [
    "softmax",
    "layernorm",
    "pooling",
    "depthwise",
    "batchnorm",
    "convolution",
    "affine",
    "activations",
    "concat_reshape",
    "cnn",
    "shared",
]
# Fixtures converted with other options of nnabla_cli convert: name -> (network, options).
VARIANTS = {
    "cnn_batch2": ("cnn", ["-b", "2"]),
    "affine_batch2": ("affine", ["-b", "2"]),
    "cnn_opset13": ("cnn", ["-d", "opset_13"]),  # ReduceSum's axes an input, not an attribute
}


def nnspec_convert(python: str, spec: Path, target: Path, *options: str) -> None:
    command = [python, "-m", "nnspec", "convert", str(spec), "-o", str(target), "--force", *options]
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)


def nnabla_convert(nnp: Path, onnx: Path, options: list[str]) -> None:
    command = [str(NNABLA_CLI), "convert", *options, str(nnp), str(onnx)]
    subprocess.run(command, check=True, capture_output=True)


def parameter_shapes(nnp: Path) -> dict[str, tuple[int, ...]]:
    import nnabla as nn
    from nnabla.utils.nnp_graph import NnpLoader

    nn.clear_parameters()
    loader = NnpLoader(str(nnp))
    loader.get_network(loader.get_network_names()[0], batch_size=1)
    return {key: tuple(value.shape) for key, value in nn.get_parameters(grad_only=False).items()}


def run_nnabla(nnp: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    import nnabla as nn
    from nnabla.utils.nnp_graph import NnpLoader

    nn.clear_parameters()
    loader = NnpLoader(str(nnp))
    network = loader.get_network(loader.get_network_names()[0], batch_size=SAMPLES)
    saved: dict[str, np.ndarray] = {}
    for variable, holder in sorted(network.inputs.items()):
        holder.d = rng.uniform(-1, 1, holder.shape).astype(np.float32)
        saved[f"in/{variable}"] = holder.d.copy()
    outputs = executor_outputs(nnp)
    for output in outputs:
        network.variables[output].forward(clear_buffer=False)
    for output in outputs:
        saved[f"out/{output}"] = network.variables[output].d.copy()
    return saved


def main(python: str) -> int:
    import nnabla as nn

    rng = np.random.default_rng(122)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        nnps: dict[str, Path] = {}
        for name in NETWORKS:
            spec = OUT / f"{name}.yaml"
            drawn = work / f"{name}_drawn.nnp"
            nnspec_convert(python, spec, drawn)
            shapes = parameter_shapes(drawn)
            params = {key: trained_like(key, shape, rng) for key, shape in sorted(shapes.items())}
            np.savez(work / f"{name}_params.npz", **params)
            nnp = work / f"{name}.nnp"
            nnspec_convert(python, spec, nnp, "--params", str(work / f"{name}_params.npz"))
            nnps[name] = nnp
            nnabla_convert(nnp, OUT / f"{name}.onnx", [])
            expected = run_nnabla(nnp, rng)
            np.savez_compressed(OUT / f"{name}.npz", nnabla_version=np.array(nn.__version__), batch=1, **expected)
        for name, (network, options) in VARIANTS.items():
            nnabla_convert(nnps[network], OUT / f"{name}.onnx", options)
            batch = int(options[options.index("-b") + 1]) if "-b" in options else 1
            expected = run_nnabla(nnps[network], rng)
            np.savez_compressed(OUT / f"{name}.npz", nnabla_version=np.array(nn.__version__), batch=batch, **expected)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/work/venv/bin/python"))
