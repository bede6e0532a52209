"""Math layers."""

from __future__ import annotations

import numpy as np

from ..catalog import LayerType, register, same_shape, unary


def exp(x):
    """o = exp(i)"""
    # Past log(max) of the dtype (88.72 in float32) the result is inf, as in nnabla; the
    # exp-overflow check reports those inputs, so numpy's warning is silenced.
    with np.errstate(over="ignore"):
        return np.exp(x)


register(
    LayerType(
        name="Exp",
        category="Math",
        elementwise=True,
        formula="o=exp(i)",
        description="Exponential of each input.",
        forward=unary(exp),
        infer_shape=same_shape,
        input_range=(-87.3, 88.72),
        output_range=(0.0, None),
        exp_overflows=True,
        range_note="float32 exp overflows to inf past 88.72 and gives subnormals below -87.3 (float64: 709.78, "
        "-708.4).",
    )
)
