"""A run's memory, estimated from the spec before anything is allocated.

A spec can ask for any shape; a run that cannot fit stops with a clear message
instead of exhausting the machine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from math import prod
from typing import TYPE_CHECKING

import numpy as np

from ..core.diagnostics import UsageError

if TYPE_CHECKING:  # annotations only: the spec stage sits above files/ (it reads files through it)
    from ..spec.model import DataReader, Spec

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


@dataclass(frozen=True)
class MemoryNeed:
    """Bytes a run needs, by what they hold."""

    parameters: int
    data: int
    activations: int
    outputs: int

    @property
    def total(self) -> int:
        return self.parameters + self.data + self.activations + self.outputs


@dataclass(frozen=True)
class RunMemory:
    """A run's size and the memory it needs: ``need`` is what ``--max-memory`` is checked against;
    ``all_outputs`` what the outputs would take kept for every sample (``--output`` keeps them all)."""

    samples: int
    batch: int
    need: MemoryNeed
    all_outputs: int


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
            for name, shape in layer.stored_parameter_shapes.items()
        }
        sizes = [prod(layer.inferred_shape) for layer in spec.layers.values()]
        return cls(
            item=np.dtype(spec.dtype).itemsize,
            parameter_values=sum(prod(shape) for shape in shapes.values()),
            activation_values=sum(sizes),
            largest_values=max(sizes, default=0),
            sample_values={name: prod(spec.layers[name].inferred_shape) for name in spec.outputs},
            outputs=tuple(spec.outputs),
        )

    def estimate(
        self, samples: int, batch: int, generated: list[DataReader], kept: list[str] | None = None
    ) -> MemoryNeed:
        """An upper bound of the bytes a run of ``samples`` in batches of ``batch`` allocates.

        Parameters are drawn in float64 and then converted; generated data is made one batch at a
        time (the draws and the float64 values, then converted); every layer's output of a batch is
        counted as if alive at once, plus float64 copies of the largest for its statistics; the
        output layers in ``kept`` (default: all) are kept for every sample, in arrays filled batch by
        batch. Data from files is not counted: a batch of it is an Input's output, and the files are
        read a batch at a time (see nnspec.files.rows and nnspec.files.npyfile).
        """
        item = self.item
        outputs = self.outputs if kept is None else kept
        return MemoryNeed(
            parameters=self.parameter_values * (8 + item),
            data=sum(prod(reader.sample_shape) for reader in generated) * batch * (GENERATOR_BYTES + item),
            activations=batch * (self.activation_values * item + self.largest_values * 16),
            outputs=samples * sum(self.sample_values[name] for name in outputs) * item,
        )

    def kept(self, samples: int, keep_values: int | None) -> list[str]:
        """The output layers a run of ``samples`` keeps for every sample: those of at most
        ``keep_values`` values in all (None: every one)."""
        return [
            name for name in self.outputs if keep_values is None or samples * self.sample_values[name] <= keep_values
        ]

    def output_bytes(self, samples: int) -> int:
        """Bytes of every output layer kept for ``samples`` samples."""
        return samples * sum(self.sample_values.values()) * self.item


def check(needed: MemoryNeed, limit: int) -> None:
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
        if needed.total == needed.parameters:  # a prepared spec, before any data: its parameters are all it knows
            raise UsageError(
                f"its parameters need about {format_bytes(needed.total)}, more than the memory limit of "
                f"{format_bytes(limit)}: raise --max-memory (max_memory)"
            )
        remedy = (
            "raise --max-memory: its parameters alone need more than that"
            if needed.parameters > limit
            else "use a smaller --batch-size or --samples, or raise --max-memory"
        )
        raise UsageError(
            f"this run needs about {format_bytes(needed.total)} ({parts}), more than the limit of "
            f"{format_bytes(limit)}: {remedy}"
        )


def check_read(what: str, needed: int, limit: int | None) -> None:
    """Refuse to read something (a file, a dataset in it, an image) whose reading would allocate
    ``needed`` bytes, more than the run's ``limit`` (None: no limit): called before the allocation,
    from what a header declares, so that no file can take more memory than the run was given."""
    if limit is not None and needed > limit:
        raise UsageError(
            f"{what}: reading it needs about {format_bytes(needed)}, more than the memory limit of "
            f"{format_bytes(limit)} (--max-memory)"
        )


@cache  # the machine's memory does not change during a process; runs ask once each
def default_limit() -> int:
    """Half of this machine's physical memory (8 GiB where that cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


# The largest --max-memory: 1024T (1 PiB), more than any machine holds; a larger size is a mistake.
MAX_SIZE = 2**50
SIZES = "write a size from 0 to 1024T, e.g. 512M, 8G"


def parse_size(text: str) -> int:
    """'512M', '8G', '1.5g', '1000000' -> bytes, from 0 to MAX_SIZE."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower(), re.ASCII)
    if not match:
        raise ValueError(f"not a size: {text!r} ({SIZES})")
    whole, _, fraction = match.group(1).partition(".")
    whole = whole.lstrip("0") or "0"
    # Exact arithmetic on at most 16 + 20 digits: 16 already exceed MAX_SIZE bytes, and a 20th decimal of a
    # terabyte is far below a byte (huge digit strings overflowed a float, or Python's digit limit).
    if len(whole) > 16:
        raise ValueError(f"too large a size ({SIZES})")
    size = int(Fraction(f"{whole}.{fraction[:20] or 0}") * _UNITS[match.group(2)])
    if size > MAX_SIZE:
        raise ValueError(f"too large a size ({SIZES})")
    return size


def format_bytes(n: int) -> str:
    """Bytes for a person, in binary units up to PiB; exact for any Python int (a shape's product
    can exceed a float's range: 2 ** (31 * 31) bytes is 'over 2^961 bytes')."""
    for power, unit in enumerate(("B", "KiB", "MiB", "GiB", "TiB", "PiB")):
        if n < 1024 ** (power + 1) or unit == "PiB":
            break
    if power == 0:
        return f"{n} B"
    if n >= 2**70:  # over 1024**2 PiB: the digits would say nothing more
        return f"over 2^{n.bit_length() - 1} bytes"
    return f"{n / 1024**power:.1f} {unit}"
