"""NNC's data generators (an Input's or a target's ``generator:``), one table row each.

Every place that knows about generators reads ``GENERATORS``: the catalog's choices and their
description (hence docs/layers.md and the schema), the target schema's enum, the data a run draws
(nnspec.runtime.inputs.generate) and the estimate `validate` starts from (nnspec.spec.static). A new generator is
one row here.

Draws are counter-based: each sample's values depend only on the spec's seed, the variable and the
sample's index, never on which samples are drawn with it. A Philox generator, keyed by the seed and
the variable, is moved to the sample's own place in its stream, so batches of 1, 7 or all samples
give the same data, and a batch costs only its own memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from math import prod

import numpy as np

from ..core.estimate import Estimate

NO_GENERATOR = "None"  # read the data variable instead


@dataclass(frozen=True)
class Generator:
    """One generator: what it makes, how, and what `validate` expects of it.

    ``draw(seed, variable, start, count, size)`` gives samples ``start`` to ``start + count`` as a
    float64 array of shape ``(count, *size)``, before the multiplier; ``estimate(multiplier)`` is the
    distribution of the values after it."""

    name: str
    makes: str  # the documentation's words for the values, before the multiplier
    draw: Callable[[int, str, int, int, tuple[int, ...]], np.ndarray]
    estimate: Callable[[float], Estimate]


def _normal(seed: int, variable: str, start: int, count: int, size: tuple[int, ...]) -> np.ndarray:
    """Box-Muller: two draws make a pair of values, so a sample takes an even number of draws."""
    stride = 2 * -(-prod(size) // 2)
    draws = _draws(_key(seed, variable), start * stride, count * stride).reshape(count, stride)
    half = stride // 2
    radius = np.sqrt(-2.0 * np.log1p(-_unit(draws[:, :half])))  # 1 - u lies in (0, 1]: log is finite
    angle = (2.0 * np.pi) * _unit(draws[:, half:])
    values = np.concatenate([radius * np.cos(angle), radius * np.sin(angle)], axis=1)[:, : prod(size)]
    return values.reshape(count, *size)


def _uniform(seed: int, variable: str, start: int, count: int, size: tuple[int, ...]) -> np.ndarray:
    """One 64-bit draw a value."""
    stride = prod(size)
    draws = _draws(_key(seed, variable), start * stride, count * stride).reshape(count, *size)
    return _unit(draws) * 2.0 - 1.0


def _constant(seed: int, variable: str, start: int, count: int, size: tuple[int, ...]) -> np.ndarray:
    return np.ones((count, *size))


def _range(seed: int, variable: str, start: int, count: int, size: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.linspace(-1.0, 1.0, prod(size)).reshape(size), (count, *size))


def _key(seed: int, variable: str) -> np.ndarray:
    """A variable's 128-bit Philox key, from the spec's seed and the variable's name."""
    return np.random.SeedSequence([seed, zlib.crc32(("data/" + variable).encode())]).generate_state(2, np.uint64)


def _draws(key: np.ndarray, first: int, count: int) -> np.ndarray:
    """Draws ``first`` to ``first + count`` of the stream of 64-bit integers a Philox keyed ``key`` makes."""
    generator = np.random.Philox(key=key)
    generator.advance(first // 4)  # one step of the counter makes four draws
    return generator.random_raw(first % 4 + count)[first % 4 :]


def _unit(draws: np.ndarray) -> np.ndarray:
    """Draws as doubles in [0, 1): their top 53 bits, as numpy's own generators make them."""
    return (draws >> np.uint64(11)) * (1.0 / 2**53)


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator("Normal", "mean 0, std 1", _normal, lambda m: Estimate(0.0, abs(m))),
        Generator("Uniform", "-1..1", _uniform, lambda m: Estimate.between(-abs(m), abs(m))),
        Generator("Constant", "1", _constant, lambda m: Estimate(m, 0.0, m, m)),
        Generator(
            "Range", "evenly spaced from -1 to 1 over each sample", _range, lambda m: Estimate.between(-abs(m), abs(m))
        ),
    )
}

GENERATOR_CHOICES = (NO_GENERATOR, *GENERATORS)  # what a spec's generator: may say


def generators_described() -> str:
    """The generators as a sentence, for the catalog's and the schema's descriptions."""
    return ", ".join(f"{g.name} ({g.makes})" for g in GENERATORS.values())
