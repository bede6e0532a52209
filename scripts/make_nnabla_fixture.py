"""Write tests/fixtures/nnabla/: parameters saved by nnabla itself, and the outputs nnabla computes with them.

    python -m pip install nnabla      # nnabla 1.39.0 on Python 3.10 made the committed files
    python scripts/make_nnabla_fixture.py

The network is NNC_SPEC below (tests/test_params_h5.py runs the same text): a (2, 6, 6) input,
a 3x3 Convolution of 3 maps, BatchNormalization on stored statistics, ReLU, Affine 4 and Softmax,
built with nnabla's parametric functions under the scopes conv1, bn1 and fc, so its parameters
get nnabla's own names and layouts (conv1/conv/W (3, 2, 3, 3), bn1/bn/mean (1, 3, 1, 1),
fc/affine/W (48, 4), ...). Every parameter is set to seeded random values (var positive), then

- ``parameter.h5`` is written by ``nnabla.save_parameters``: the file under test;
- ``expected.npz`` holds the input ``x`` (5 samples), nnabla's outputs ``conv1``, ``bn1`` and
  ``probs`` on it (float32, nnabla's CPU context), and ``nnabla_version``.

The values come from numpy's seeded generator, so running the script again gives the same
arrays (HDF5 and zip metadata may differ byte for byte).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nnabla"
SEED = 7
SAMPLES = 5

NNC_SPEC = """\
nnspec: 1
name: nnabla-fixture
layers:
  - {name: x, type: Input, size: [2, 6, 6]}
  - {name: conv1, type: Convolution, out_maps: 3, kernel_shape: [3, 3], border_mode: valid}
  - {name: bn1, type: BatchNormalization, batch_stat: false, epsilon: 0.0001}
  - {name: relu1, type: ReLU}
  - {name: fc, type: Affine, out_shape: 4}
  - {name: probs, type: Softmax}
outputs: [conv1, bn1, probs]
"""


def main() -> int:
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.parametric_functions as PF

    rng = np.random.default_rng(SEED)
    nn.clear_parameters()
    x = nn.Variable((SAMPLES, 2, 6, 6))
    with nn.parameter_scope("conv1"):
        conv1 = PF.convolution(x, 3, (3, 3))  # nnabla's default: no padding, as border_mode valid
    with nn.parameter_scope("bn1"):
        bn1 = PF.batch_normalization(conv1, batch_stat=False, eps=1e-4)
    h = F.relu(bn1)
    with nn.parameter_scope("fc"):
        fc = PF.affine(h, 4)
    probs = F.softmax(fc)

    for name, parameter in nn.get_parameters(grad_only=False).items():
        if name.endswith("/var"):
            parameter.d = rng.uniform(0.5, 2.0, parameter.shape).astype(np.float32)
        else:
            parameter.d = rng.normal(0.0, 0.5, parameter.shape).astype(np.float32)
    x.d = rng.uniform(-1.0, 1.0, x.shape).astype(np.float32)
    nn.forward_all([conv1, bn1, probs])

    OUT.mkdir(parents=True, exist_ok=True)
    nn.save_parameters(str(OUT / "parameter.h5"))
    np.savez(
        OUT / "expected.npz",
        x=x.d.copy(),
        conv1=conv1.d.copy(),
        bn1=bn1.d.copy(),
        probs=probs.d.copy(),
        nnabla_version=np.array(nn.__version__),
    )
    for name, parameter in nn.get_parameters(grad_only=False).items():
        print(f"{name}: {parameter.shape}")
    print(f"wrote {OUT / 'parameter.h5'} and {OUT / 'expected.npz'} with nnabla {nn.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
