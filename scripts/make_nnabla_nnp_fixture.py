"""Write tests/fixtures/nnabla_nnp/: small networks built and saved by nnabla, with nnabla's outputs.

    python3.10 -m venv /tmp/nnabla-venv && /tmp/nnabla-venv/bin/pip install nnabla==1.39.0
    /tmp/nnabla-venv/bin/python scripts/make_nnabla_nnp_fixture.py

Three networks, built with nnabla's parametric functions and saved with ``nnabla.utils.save.save``
(nnabla's own writer, as NNC's exports and nnabla users' models are written), each as

- ``NAME.nntxt`` (the network alone, as nnabla writes it into an .nnp) and ``NAME.h5`` (its
  parameters, nnabla's parameter.h5, as ``nnabla.save_parameters`` writes it);
- ``NAME.nnp`` (network and parameters in one zip, parameter.h5 inside, nnabla 1.39's default) and,
  for the MLP, ``mlp_protobuf.nnp`` with parameter.protobuf inside: both of nnabla's formats;
- in ``expected.npz``: ``NAME/x`` the input (drawn U(-1, 1)), ``NAME/y`` nnabla's output for it,
  computed by nnabla's CPU context on the graph that was saved, and ``NAME/layers/KK/TYPE`` the
  output of every function, in the order nnabla visits the graph (the order it writes them).

The networks: ``mlp`` (Affine, ReLU, Affine, Tanh, Affine, Softmax), ``cnn`` (Convolution with
padding, BatchNormalization at test time with trained-like statistics, ReLU, MaxPooling, Convolution,
AveragePooling of an odd size with ignore_border false, Affine, Sigmoid; nnabla leaves
``ignore_border`` and ``batch_stat`` unwritten, their false being protobuf 3's zero), ``axes``
(Concatenate along the channel axis, Slice, Softmax along axis 1 of three, MulScalar, Add2,
Reshape). Parameters are drawn from
numpy's seeded generator at trained-like scales (weights N(0, 1/fan_in), BN statistics away from
0 and 1), so a wrong layout or axis changes the outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla_nnp"
SAMPLES = 3


def mlp(nn, F, PF, x):
    h = F.relu(PF.affine(x, 16, name="fc1"))
    h = F.tanh(PF.affine(h, 12, name="fc2"))
    return F.softmax(PF.affine(h, 5, name="fc3"))


def cnn(nn, F, PF, x):
    h = PF.convolution(x, 6, (3, 3), pad=(1, 1), name="conv1")
    h = F.relu(PF.batch_normalization(h, batch_stat=False, name="bn1"))
    h = F.max_pooling(h, (2, 2))
    h = PF.convolution(h, 4, (2, 2), stride=(1, 1), name="conv2")  # 3x3: odd, so ignore_border matters
    h = F.average_pooling(h, (2, 2), ignore_border=False)
    return F.sigmoid(PF.affine(h, 3, name="fc"))


def axes(nn, F, PF, x):
    a = PF.convolution(x, 3, (1, 1), name="left")
    b = F.tanh(x)
    c = F.concatenate(a, b, axis=1)  # 3 + 2 channels
    s = F.slice(c, start=(1, 0, 1), stop=(5, 4, 4), step=(1, 2, 1))  # (4, 2, 3)
    p = F.softmax(s, axis=2)
    q = F.add2(F.mul_scalar(p, 3.0), s)
    return F.reshape(q, (q.shape[0], 24))


NETWORKS = {"mlp": (mlp, (2, 3, 4)), "cnn": (cnn, (2, 8, 8)), "axes": (axes, (2, 4, 5))}


def draw_parameters(nn, rng) -> None:
    for name, param in nn.get_parameters(grad_only=False).items():
        shape = param.shape
        if name.endswith("/mean"):
            values = rng.normal(0, 0.3, shape)
        elif name.endswith("/var"):
            values = rng.uniform(0.5, 2.0, shape)
        elif name.endswith("/gamma"):
            values = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("/b") or name.endswith("/beta"):
            values = rng.normal(0, 0.2, shape)
        else:
            fan_in = int(np.prod(shape[1:])) if "conv" in name or "left" in name else shape[0]
            values = rng.normal(0, 1 / np.sqrt(fan_in), shape)
        param.d = values.astype(np.float32)


def main() -> int:
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.parametric_functions as PF
    from nnabla.utils.save import save

    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20)
    expected = {"nnabla_version": np.array(nn.__version__)}
    for name, (build, shape) in NETWORKS.items():
        nn.clear_parameters()
        x = nn.Variable((SAMPLES, *shape))
        y = build(nn, F, PF, x)
        draw_parameters(nn, rng)
        x.d = rng.uniform(-1, 1, x.shape).astype(np.float32)
        y.forward(clear_buffer=False)
        expected[f"{name}/x"] = x.d.copy()
        expected[f"{name}/y"] = y.d.copy()
        functions: list = []
        y.visit(functions.append)  # every function, inputs before the functions reading them
        for k, function in enumerate(functions):
            expected[f"{name}/layers/{k:02d}/{function.info.type_name}"] = function.outputs[0].d.copy()
        contents = {
            "networks": [{"name": name, "batch_size": SAMPLES, "outputs": {"y": y}, "names": {"x": x}}],
            "executors": [{"name": "runtime", "network": name, "data": ["x"], "output": ["y"]}],
        }
        save(str(OUT / f"{name}.nntxt"), contents)
        nn.save_parameters(str(OUT / f"{name}.h5"))
        save(str(OUT / f"{name}.nnp"), contents)
        if name == "mlp":
            save(str(OUT / "mlp_protobuf.nnp"), contents, parameter_format=".protobuf")
    np.savez_compressed(OUT / "expected.npz", **expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
