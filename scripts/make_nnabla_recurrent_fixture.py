"""Write tests/fixtures/nnabla/recurrent/: what nnabla computes for NNC's own exports of two recurrent
tutorials, elman_net and LSTM_auto_encoder, and for nnspec's own recurrent .nntxt (two_loops.nntxt),
so that tests/test_recurrence_nnabla.py can run nnspec's hand translation of the tutorials, nnspec's
reading of the exports themselves, and nnspec's reading of two_loops.nntxt against nnabla.

    python3.10 -m venv /tmp/nnabla && /tmp/nnabla/bin/pip install nnabla==1.39.0
    git clone --depth 1 https://github.com/sony/nnabla /tmp/nnabla-src
    /tmp/nnabla/bin/python scripts/make_nnabla_recurrent_fixture.py /tmp/nnabla-src/python/test/core/nntxt.py

nnabla's test data (python/test/core/nntxt.py) keeps NNC's .nntxt exports of its tutorials as Python
strings; the script reads the two it names below (the 2018-07-20 exports), loads each with nnabla's
NnpLoader, which unrolls their recurrent loops (nnabla's expander), and runs the MainRuntime network:

- every parameter is set to seeded values, drawn in the order of their sorted names with numpy's
  ``default_rng(SEED).normal(0, 0.1, shape)`` as float32: the test draws the same values itself, so
  no parameter file is committed; ``expected.npz`` keeps each parameter's sum (``sum:NAME``) to prove it;
- the input ``Input`` is uniform in 0..1 (3 samples, seeded), the Delays' initial values are 0
  (NNC's Constant 0 generator);
- ``<network>.npz`` holds the input ``x``, nnabla's output (``output``), the recurrent loops'
  outputs by their NNC names, the parameter sums, the names of the unrolled network's variables
  (``variables``, one a line: ``Affine_2_RecurrentInput[3]``, ...) and ``nnabla_version``.

two_loops.nntxt (written for nnspec in the grammar of NNC's exports: two loops, the second over the
first's outputs reversed, a Delay starting from data and one from the executor's Constant 0.5) runs
its Runtime network the same way, with ``h0`` drawn N(0, 0.5) and ``Delay_2_Initial`` 0.5:
``two_loops.npz`` holds ``x``, ``h0``, ``output``, both loops' outputs and one step's copy of each
loop's Tanh (nnabla's names), the parameter sums and ``nnabla_version``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla" / "recurrent"
SEED = 19
SAMPLES = 3

# network name -> (the variable in nntxt.py holding its 2018-07-20 export, its output, loop outputs kept)
NETWORKS = {
    "elman_net": ("N00000000", "Sigmoid", ("RecurrentOutput",)),
    "LSTM_auto_encoder": ("N00000011", "Sigmoid_4", ("RecurrentOutput_2",)),
}


def seeded_parameters(shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The values the fixture's parameters get (the test calls the same function on nnspec's names)."""
    rng = np.random.default_rng(SEED)
    return {name: rng.normal(0.0, 0.1, shapes[name]).astype(np.float32) for name in sorted(shapes)}


# nnspec's own recurrent .nntxt: (its network, its output, loop outputs and step copies kept)
OWN = {
    "two_loops": (
        "Runtime",
        "Sigmoid",
        ("RecurrentOutput", "RecurrentOutput_2", "Tanh_RecurrentInput[2]", "Tanh_2_RecurrentInput_2[4]"),
    )
}
# The values of the Delays' initial values its executor generates (every other Delay's: NNC's Constant 0)
OWN_GENERATED = {"two_loops": {"Delay_2_Initial": 0.5}}


def export_text(nntxt_py: Path, variable: str) -> str:
    found = re.search(rf"^{variable} = r'''(.*?)'''", nntxt_py.read_text(), re.S | re.M)
    if found is None:
        raise SystemExit(f"{nntxt_py} holds no {variable}")
    return found.group(1)


def run_network(
    text: str,
    output: str,
    kept: tuple[str, ...],
    network_name: str = "MainRuntime",
    generated: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    import nnabla as nn
    from nnabla.utils.nnp_graph import NnpLoader

    nn.clear_parameters()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "net.nntxt"
        path.write_text(text)
        network = NnpLoader(str(path)).get_network(network_name, batch_size=SAMPLES)
    parameters = nn.get_parameters(grad_only=False)
    values = seeded_parameters({name: tuple(p.shape) for name, p in parameters.items()})
    for name, parameter in parameters.items():
        parameter.d = values[name]
    rng = np.random.default_rng(SEED + 1)
    for name, variable in network.inputs.items():
        variable.d = input_values(name, variable.shape, rng, generated or {})
    targets = [network.variables[name] for name in (output, *kept)]
    nn.forward_all(targets)
    result = {"x": network.inputs["Input"].d.astype(np.float32), "output": targets[0].d.copy()}
    if "h0" in network.inputs:
        result["h0"] = network.inputs["h0"].d.astype(np.float32)
    result.update({name: network.variables[name].d.copy() for name in kept})
    result.update({f"sum:{name}": np.float64(value.astype(np.float64).sum()) for name, value in values.items()})
    result["variables"] = np.array("\n".join(sorted(network.variables)))  # nnabla's names, one a line
    result["nnabla_version"] = np.array(nn.__version__)
    return result


def input_values(
    name: str, shape: tuple[int, ...], rng: np.random.Generator, generated: dict[str, float]
) -> np.ndarray:
    """The sequence uniform in 0..1, two_loops' h0 N(0, 0.5), a Delay's initial value the constant its
    executor generates (``generated``), else NNC's Constant 0."""
    if name == "Input":
        return rng.uniform(0.0, 1.0, shape)
    if name == "h0":
        return rng.normal(0.0, 0.5, shape)
    return np.full(shape, generated.get(name, 0.0))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    nntxt_py = Path(argv[0])
    OUT.mkdir(parents=True, exist_ok=True)
    for network, (variable, output, kept) in NETWORKS.items():
        arrays = run_network(export_text(nntxt_py, variable), output, kept)
        np.savez_compressed(OUT / f"{network}.npz", **arrays)
        print(f"wrote {OUT / network}.npz: output {arrays['output'].shape}")
    for network, (network_name, output, kept) in OWN.items():
        text = (OUT / f"{network}.nntxt").read_text()
        arrays = run_network(text, output, kept, network_name, OWN_GENERATED[network])
        np.savez_compressed(OUT / f"{network}.npz", **arrays)
        print(f"wrote {OUT / network}.npz: output {arrays['output'].shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
