"""A run's memory, estimated from the spec before anything is allocated.

A spec can ask for any shape; a run that cannot fit stops with a clear message
instead of exhausting the machine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from math import prod

import numpy as np

from .diagnostics import UsageError
from .spec import DataReader, Spec

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


@dataclass(frozen=True)
class Estimate:
    """Bytes a run needs, by what they hold."""

    parameters: int
    data: int
    activations: int
    outputs: int

    @property
    def total(self) -> int:
        return self.parameters + self.data + self.activations + self.outputs


GENERATOR_BYTES = 48  # float64 bytes a generated value takes while a batch is made: draws, Box-Muller's parts


@dataclass(frozen=True)
class Footprint:
    """What a spec's memory estimate needs from its layers, taken once for every run of it."""

    item: int  # bytes a value
    parameter_values: int
    activation_values: int  # every layer's output, one sample
    largest_values: int  # the largest layer output, one sample
    sample_values: dict[str, int]  # each output layer's, one sample
    outputs: tuple[str, ...]

    @classmethod
    def of(cls, spec: Spec) -> Footprint:
        shapes = {
            layer.parameter_key(name): shape
            for layer in spec.layers.values()
            for name, shape in layer.parameter_shapes.items()
        }
        sizes = [prod(layer.shape) for layer in spec.layers.values()]
        return cls(
            item=np.dtype(spec.dtype).itemsize,
            parameter_values=sum(prod(shape) for shape in shapes.values()),
            activation_values=sum(sizes),
            largest_values=max(sizes, default=0),
            sample_values={name: prod(spec.layers[name].shape) for name in spec.outputs},
            outputs=tuple(spec.outputs),
        )

    def estimate(
        self, samples: int, batch: int, generated: list[DataReader], kept: list[str] | None = None
    ) -> Estimate:
        """An upper bound of the bytes a run of ``samples`` in batches of ``batch`` allocates.

        Parameters are drawn in float64 and then converted; generated data is made one batch at a
        time (the draws and the float64 values, then converted); every layer's output of a batch is
        counted as if alive at once, plus float64 copies of the largest for its statistics; the
        output layers in ``kept`` (default: all) are kept for every sample, in arrays filled batch by
        batch. Data from files is not counted: a batch of it is an Input's output, and the files are
        read a batch at a time (see nnspec.sources and nnspec.npyfile).
        """
        item = self.item
        kept = self.outputs if kept is None else kept
        return Estimate(
            parameters=self.parameter_values * (8 + item),
            data=sum(prod(reader.size) for reader in generated) * batch * (GENERATOR_BYTES + item),
            activations=batch * (self.activation_values * item + self.largest_values * 16),
            outputs=samples * sum(self.sample_values[name] for name in kept) * item,
        )


def check(needed: Estimate, limit: int) -> None:
    if needed.total > limit:
        parts = ", ".join(
            f"{label} {format_bytes(value)}"
            for label, value in (
                ("parameters", needed.parameters),
                ("generated data", needed.data),
                ("activations", needed.activations),
                ("outputs", needed.outputs),
            )
            if value
        )
        raise UsageError(
            f"this run needs about {format_bytes(needed.total)} ({parts}), more than the limit of "
            f"{format_bytes(limit)}: use a smaller --batch-size or --samples, or raise --max-memory"
        )


@cache  # the machine's memory does not change during a process; runs ask once each
def default_limit() -> int:
    """Half of this machine's physical memory (8 GiB where that cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def parse_size(text: str) -> int:
    """'512M', '8G', '1.5g', '1000000' -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r} (write e.g. 512M, 8G)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
