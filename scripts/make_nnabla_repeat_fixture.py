"""Write tests/fixtures/nnabla_repeat/: NNC's 12_residual_learning run by nnabla, repeats expanded by nnabla.

    python3.10 -m venv /tmp/nnabla-venv && /tmp/nnabla-venv/bin/pip install nnabla==1.39.0
    /tmp/nnabla-venv/bin/python scripts/make_nnabla_repeat_fixture.py NNABLA/python/test/core/nntxt.py

The network is NNC's export of the sample project tutorial/basics/12_residual_learning
(20180720_182255/net.nntxt), which nnabla's own tests keep as the string ``N00000020`` in
``python/test/core/nntxt.py`` of the sony/nnabla repository (give that file's path). It is read
with ``ast.literal_eval`` (the file is never imported or run), written to a temporary .nntxt
and loaded by nnabla's ``NnpLoader``, whose expander writes out NNC's two repeats (RepeatStart
and RepeatStart_2, times 2 each: ``Convolution_5_RepeatStart[0]``, parameters
``Convolution_5[0]/conv/W``). Its ``MainRuntime`` network (Input (1, 28, 28) to Softmax 10, no
loss) runs on nnabla's CPU context with

- every parameter drawn from numpy's seeded generator at a scale that keeps the activations
  near 1 through 13 convolutions (convolution and affine weights N(0, 1/fan_in); batch
  normalization's gamma U(0.5, 1.5), beta and mean N(0, 0.1), var U(0.5, 2));
- ``SAMPLES`` inputs drawn U(0, 1).

Written (nothing of nnabla's own files: only what this script computes):

- ``parameters.npz``: every parameter under nnabla's name (``Convolution_5[0]/conv/W``);
- ``expected.npz``: ``Input``, nnabla's output ``Softmax``, and the variables named in
  ``VARIABLES`` under nnabla's names for them (``ReLU_7_RepeatStart[1]``), float32, and
  ``nnabla_version``.

tests/fixtures/nnabla_repeat/residual_learning.yaml is the same network translated by hand into
an nnspec spec; tests/test_nnabla_repeat.py runs it with these parameters and compares.
"""

from __future__ import annotations

import ast
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla_repeat"
SEED = 19
SAMPLES = 2
NNTXT_NAME = "N00000020"  # 12_residual_learning.files/20180720_182255/net.nntxt in nnabla's test data
NETWORK = "MainRuntime"

# Variables kept beside the output: the loop's entry, each iteration's last layer of both repeats,
# and the layers after them (small ones: later layers are pooled down).
VARIABLES = (
    "MaxPooling",
    "ReLU_7_RepeatStart[0]",
    "ReLU_7_RepeatStart[1]",
    "MaxPooling_2",
    "Add2_3_RepeatStart_2[0]",
    "ReLU_10_RepeatStart_2[0]",
    "ReLU_10_RepeatStart_2[1]",
    "ReLU_13",
    "Affine",
)


def read_nntxt(source: Path) -> str:
    """The .nntxt text assigned to NNTXT_NAME in nnabla's nntxt.py, read as a literal."""
    tree = ast.parse(source.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == NNTXT_NAME for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit(f"{source} assigns no {NNTXT_NAME}: give sony/nnabla's python/test/core/nntxt.py")


def draw(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A parameter's values, at a scale that keeps a deep network's activations near 1."""
    kind = name.rsplit("/", 1)[-1]
    if kind == "var":
        values = rng.uniform(0.5, 2.0, shape)
    elif kind == "gamma":
        values = rng.uniform(0.5, 1.5, shape)
    elif kind in ("beta", "mean", "b"):
        values = rng.normal(0.0, 0.1, shape)
    else:  # W: convolution (out, in, kh, kw) or affine (in, out)
        fan_in = int(np.prod(shape[1:])) if "/conv/" in name else shape[0]
        values = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
    return values.astype(np.float32)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    import nnabla as nn
    from nnabla.ext_utils import get_extension_context
    from nnabla.utils.nnp_graph import NnpLoader

    nn.set_default_context(get_extension_context("cpu"))
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory() as scratch:
        nntxt = Path(scratch) / "net.nntxt"
        nntxt.write_text(read_nntxt(Path(argv[0])))
        network = NnpLoader(str(nntxt)).get_network(NETWORK, batch_size=SAMPLES)
    parameters = {name: variable for name, variable in network.variables.items() if "/" in name}
    for name, variable in sorted(parameters.items()):
        variable.d = draw(name, variable.shape, rng)
    x = network.inputs["Input"]
    x.d = rng.uniform(0.0, 1.0, x.shape).astype(np.float32)
    output = network.outputs["Softmax"]
    output.forward()

    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(OUT / "parameters.npz", **{name: variable.d.copy() for name, variable in parameters.items()})
    kept = {name: network.variables[name].d.copy() for name in VARIABLES}
    np.savez(
        OUT / "expected.npz",
        Input=x.d.copy(),
        Softmax=output.d.copy(),
        **kept,
        nnabla_version=np.array(nn.__version__),
    )
    for name, values in kept.items():
        print(f"{name}: {values.shape}, mean {values.mean():.4g}, std {values.std():.4g}")
    print(f"{len(parameters)} parameters; wrote {OUT} with nnabla {nn.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
