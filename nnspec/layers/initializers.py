"""NNC's initializers: what each draws a parameter's values from, and the moments that gives.

The catalog names a parameter's default initializer; the runner draws the values
(nnspec.runtime.params.initialize), and ``validate``'s static prediction (nnspec.spec.static)
needs only their mean and variance, from the initializer or from the parameter's file, without
drawing a value. Both read the distribution from here, so they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from math import sqrt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.diagnostics import UsageError
from ..files.confine import Confinement
from ..files.npyfile import ArrayFile, NpyRows, open_npy
from ..files.rows import file_problem

if TYPE_CHECKING:  # annotations only: the spec stage sits above the catalog
    from ..spec.model import ParameterSource
    from .catalog import Shape

# name -> std (Normal*) or limit (Uniform*) from (inmaps, outmaps, kernel size), as nnabla's
# calc_normal_std_* / calc_uniform_lim_glorot define them; the result is times the multiplier.
_SCALES: dict[str, Callable[[int, int, int], float]] = {
    "HeForward": lambda n_in, n_out, k: sqrt(2.0 / (k * n_in)),
    "HeBackward": lambda n_in, n_out, k: sqrt(2.0 / (k * n_out)),
    "Glorot": lambda n_in, n_out, k: sqrt(2.0 / (k * n_in + n_out)),
}


# Names older NNC versions wrote, which nnabla's loader (utils/load.py, _create_initializer) still
# reads as the HeForward forms: a project saved before the Forward/Backward split keeps its scale.
LEGACY_INITIALIZERS: dict[str, str] = {
    "NormalAffineHe": "NormalAffineHeForward",
    "NormalConvolutionHe": "NormalConvolutionHeForward",
    "NormalCLConvHe": "NormalCLConvHeForward",
}


def distribution(initializer: str, multiplier: float, fans: tuple[int, int, int]) -> tuple[str, float]:
    """What an NNC initializer draws from: ("constant", value), ("normal", std) or ("uniform", limit).

    Normal: N(0, m^2); Uniform: U(-m, m); Constant: m everywhere; Normal{Affine,Convolution}{HeForward,
    HeBackward,Glorot}: N(0, (m*std)^2); Uniform{Affine,Convolution}Glorot: U(-m*lim, m*lim) with
    lim = sqrt(6 / (K*inmaps + outmaps)). The legacy names (``LEGACY_INITIALIZERS``) are their HeForward forms.
    """
    initializer = LEGACY_INITIALIZERS.get(initializer, initializer)
    if initializer == "Constant":
        return "constant", multiplier
    if initializer == "Normal":
        return "normal", multiplier
    if initializer == "Uniform":
        return "uniform", multiplier
    n_in, n_out, k = fans
    for suffix, scale in _SCALES.items():
        if initializer.endswith(suffix) and initializer.startswith("Normal"):
            return "normal", multiplier * scale(n_in, n_out, k)
    if initializer.startswith("Uniform") and initializer.endswith("Glorot"):
        return "uniform", multiplier * sqrt(6.0 / (k * n_in + n_out))
    raise ValueError(f"unknown initializer {initializer}")


def moments(
    source: ParameterSource, shape: Shape, fans: tuple[int, int, int], allowed: Confinement | None = None
) -> tuple[float, float]:
    """Mean and variance of a parameter's values, from its file or its initializer, without drawing them.
    A file is read only within ``allowed`` (the spec's roots; None: the file as it is named)."""
    if source.file is not None:
        return _file_moments(open_parameter_npy(source.file if allowed is None else allowed.file(source.file)))
    kind, a = distribution(source.initializer, source.multiplier, fans)
    return {"constant": (a, 0.0), "normal": (0.0, a * a), "uniform": (0.0, a * a / 3)}[kind]


def _file_moments(values: ArrayFile) -> tuple[float, float]:
    """Mean and variance of a file's values, read a block at a time (memory: a block, whatever the
    file's size), merged by Chan et al.'s rule; NaN when the file holds no value, or NaN or Inf."""
    count, mean, squares = 0, 0.0, 0.0
    for block in values.values():
        block = block.astype(np.float64)
        block_mean = float(block.mean())
        delta, total = block_mean - mean, count + block.size
        squares += float(np.square(block - block_mean).sum()) + delta * delta * count * block.size / total
        mean += delta * block.size / total
        count = total
    return (mean, squares / count) if count else (float("nan"), float("nan"))


def open_parameter_npy(path: Path) -> NpyRows:
    """A parameter's .npy ``file:`` with its header checked; its values are read when needed."""
    problem = file_problem(path)
    if problem:
        raise UsageError(f"{path}: {problem}")
    return open_npy(path)
