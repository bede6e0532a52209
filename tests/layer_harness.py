"""The harness shared by the layer reference tests (tests/test_layers.py and tests/test_layers_*.py).

Plain helpers, no fixtures and no tests: each test module keeps its own references (its
``REFERENCES`` dict), its cases, its tolerances and its layer-specific tests, and uses these for
what every module does the same way:

* ``layer_spec``: the text of a spec holding Inputs and one layer ``y`` (its variants, which the
  modules' specs differ by, are keyword arguments);
* ``case_params``: a case list crossed with the dtypes, as pytest parameters ``<case id>-<dtype>``;
* ``run_spec``: load and run a spec with numpy's RuntimeWarnings as errors (or another filter);
* ``as_received`` / ``received``: the values nnspec works on, the data rounded to the dtype and
  held in float64, as the references take them;
* ``forward_raising`` / ``call_forward``: a catalog forward function called directly with
  overflow, invalid and divide-by-zero raised (underflow to 0 is expected and fine): the runner
  silences numpy's warnings around each layer, so only a direct call shows them;
* ``assert_shape_rule``: a layer's inferred shape is its output's per-sample shape;
* ``assert_close``: nnspec's result against the float64 reference rounded to the dtype, rtol
  ``RTOL`` (or a given one) and atol the dtype's smallest normal number (tests/test_layers.py's
  docstring justifies both);
* ``assert_error_within``: |got - expected| <= bound, value by value;
* ``cycled``: a (batch, *shape) array of values taken with a stride coprime to their count;
* ``elementwise`` / ``pairwise``: a scalar float64 function applied value by value in a plain
  Python loop (pairwise broadcasting two inputs of one rank by hand), for the references;
* ``nnabla_layers``: tests/fixtures/nnabla/layers.npz, inputs and the outputs nnabla 1.39 computed
  from them (made by scripts/make_nnabla_layer_fixture.py; nnabla is never needed to run the tests).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnspec

DTYPES = ("float32", "float64")
RTOL = {"float32": 1e-6, "float64": 1e-12}


# --- specs and cases ---------------------------------------------------------------------------


def layer_spec(
    dtype: str,
    layer_type: str,
    sizes: Mapping[str, Sequence[int]],
    props: str = "",
    *,
    seed: bool = True,
    wired: bool = True,
    outputs: bool = True,
) -> str:
    """A spec: an Input per entry of sizes (name -> per-sample size), then the layer y of
    layer_type reading them (``input: x`` or ``input: [x, z, ...]``; none when not wired: y then
    reads the layer before it) with props, the YAML of its properties without name/type/input.
    seed adds ``seed: 0``, outputs ``outputs: [y]``."""
    lines = ["nnspec: 1", f"dtype: {dtype}"] + (["seed: 0"] if seed else []) + ["layers:"]
    lines += [f"  - {{name: {name}, type: Input, size: {list(size)}}}" for name, size in sizes.items()]
    names = list(sizes)
    wiring = (", input: " + (names[0] if len(names) == 1 else "[" + ", ".join(names) + "]")) if wired else ""
    extra = f", {props}" if props else ""
    lines.append(f"  - {{name: y, type: {layer_type}{wiring}{extra}}}")
    if outputs:
        lines.append("outputs: [y]")
    return "\n".join(lines) + "\n"


def case_params(cases: Sequence[Any], dtypes: Sequence[str] = DTYPES) -> list[Any]:
    """Every case in every dtype, as pytest parameters (case, dtype) with the id <case.id>-<dtype>."""
    return [pytest.param(case, dtype, id=f"{case.id}-{dtype}") for case in cases for dtype in dtypes]


# --- running ---------------------------------------------------------------------------------------


def run_spec(
    text: str,
    data: Mapping[str, np.ndarray] | None,
    params: Mapping[str, np.ndarray] | None = None,
    *,
    action: str = "error",
    category: type[Warning] = RuntimeWarning,
    **run_options: Any,
):
    """Load and run a spec under ``warnings.simplefilter(action, category)`` (by default a numpy
    RuntimeWarning, overflow or invalid, fails the test); returns (spec, result)."""
    spec = nnspec.loads(text)
    with warnings.catch_warnings():
        warnings.simplefilter(action, category)
        result = nnspec.run(spec, data, params=params, **run_options)
    return spec, result


def as_received(values: Any, dtype: str) -> np.ndarray:
    """The float64 values nnspec works on: the data (or a parameter) rounded to the dtype."""
    return np.asarray(values).astype(dtype).astype(np.float64)


def received(data: Mapping[str, np.ndarray], names: Sequence[str], dtype: str) -> list[np.ndarray]:
    """The named inputs exactly as nnspec receives them: rounded to the dtype, held in float64."""
    return [as_received(data[name], dtype) for name in names]


def forward_raising(layer: Any, args: Sequence[np.ndarray], params: Mapping[str, np.ndarray]) -> Any:
    """The catalog's forward function of a spec's layer, called with overflow, invalid and
    divide-by-zero raised (underflow to 0 is expected and fine)."""
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        return layer.type.forward(args, layer.props, params)


def call_forward(text: str, data: Mapping[str, np.ndarray], names: Sequence[str], dtype: str) -> np.ndarray:
    """The forward function of the layer y of a spec, on the named data in the dtype, without
    parameters, numpy's warnings raised."""
    layer = nnspec.loads(text).layers["y"]
    return forward_raising(layer, [np.asarray(data[name]).astype(dtype) for name in names], {})


# --- checks -----------------------------------------------------------------------------------------


def assert_shape_rule(spec: Any, got: np.ndarray, batch: int, output: str = "y") -> None:
    """The layer's inferred shape is the output's per-sample shape, and the batch is kept."""
    assert spec.layers[output].shape == got.shape[1:]
    assert got.shape[0] == batch


def assert_close(got: np.ndarray, expected: np.ndarray, dtype: str, rtol: float | None = None) -> None:
    """got (nnspec, in dtype) equals the float64 reference rounded to dtype, within rtol (by
    default RTOL[dtype]) and the dtype's smallest normal number absolute; same dtype and shape."""
    assert got.dtype == np.dtype(dtype)
    assert got.shape == expected.shape
    rtol = RTOL[dtype] if rtol is None else rtol
    with np.errstate(over="ignore"):  # a reference beyond the dtype's range rounds to inf, as it should
        expected_in_dtype = expected.astype(dtype)
    np.testing.assert_allclose(got, expected_in_dtype, rtol=rtol, atol=float(np.finfo(dtype).tiny))


def assert_error_within(got: np.ndarray, expected: np.ndarray, bound: Any) -> None:
    """|got - expected| <= bound value by value, got taken to float64."""
    error = np.abs(got.astype(np.float64) - expected)
    assert np.all(error <= bound), f"errors {error[error > bound]} exceed {bound[error > bound]}"


# --- inputs -----------------------------------------------------------------------------------------


def cycled(values: Sequence[float], shape: tuple[int, ...], shift: int = 0, batch: int = 2, stride: int = 7):
    """A (batch, *shape) float64 array of the values, the k-th being values[(k stride + shift) % n]."""
    count = batch * math.prod(shape)
    flat = [values[(k * stride + shift) % len(values)] for k in range(count)]
    return np.array(flat, dtype=np.float64).reshape((batch, *shape))


# --- building references ------------------------------------------------------------------------


def elementwise(fn: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    """A plain Python loop applying a scalar float64 function to every value."""

    def apply(x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=np.float64)
        for index in np.ndindex(x.shape):
            out[index] = fn(float(x[index]))
        return out

    return apply


def pairwise(fn: Callable[[float, float], float]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """fn over two arrays of one rank, broadcast by hand: an axis of size 1 repeats its one value."""

    def apply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        assert a.ndim == b.ndim
        shape = tuple(max(m, n) for m, n in zip(a.shape, b.shape))
        out = np.empty(shape, dtype=np.float64)
        for index in np.ndindex(shape):
            ia = tuple(0 if m == 1 else k for k, m in zip(index, a.shape))
            ib = tuple(0 if m == 1 else k for k, m in zip(index, b.shape))
            out[index] = fn(float(a[ia]), float(b[ib]))
        return out

    return apply


NNABLA_LAYERS = Path(__file__).parent / "fixtures" / "nnabla" / "layers.npz"


def nnabla_layers() -> dict[str, np.ndarray]:
    """Every array of tests/fixtures/nnabla/layers.npz, by name (its script's docstring lists them)."""
    with np.load(NNABLA_LAYERS) as data:
        return {name: data[name] for name in data.files}
