"""How large a text file nnspec reads as a network: one limit for the specs people write, and one for
the project files and network texts that NNC and nnabla write, which are larger for the same network.

A YAML or JSON spec holds a network in about 60 bytes a layer; NNC's .sdcproj writes every property of
every layer (about 25 lines a layer), and an .nntxt repeats the network for each of its executors, so
NNC's largest sample project (densenet-161) takes 1.1 MiB where its spec would take some 50 KiB. Each
limit is a default raised or lowered by an environment variable, checked before a file is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..core.diagnostics import UsageError


@dataclass(frozen=True)
class TextLimit:
    """The largest file of a kind read, in bytes: ``default``, or ``variable`` when it is set (e.g. 8M)."""

    what: str  # the files it bounds, for messages: "a spec file"
    variable: str
    default: int
    example: str  # a raised limit, for messages: "8M"
    advice: str = ""  # what to do besides raising the limit

    def bytes(self) -> int:
        from .memory import parse_size  # numpy comes with it: only once a file is read

        setting = os.environ.get(self.variable, "").strip()
        if not setting:
            return self.default
        try:
            return parse_size(setting)
        except ValueError as exc:
            raise UsageError(f"{self.variable}: {exc}") from None

    def refusal(self, path: object, size: str, limit: int) -> str:
        """The message for a file of ``size`` over ``limit``."""
        advice = f"{self.advice}, or raise" if self.advice else "raise"
        return (
            f"{path}: {self.what} may hold {limit:,} bytes; this one is {size}: {advice} the limit with "
            f"{self.variable}=SIZE (e.g. {self.example})"
        )


# A thousand-layer spec takes about 60 KiB, and the largest validate within a second.
SPEC_TEXT = TextLimit(
    "a spec file",
    "NNSPEC_MAX_SPEC_SIZE",
    2**17,
    "8M",
    "put large data in files (--input, --dataset) rather than under data:",
)
# NNC's largest sample project, densenet-161, takes 1.1 MiB; 8 MiB leaves room for networks several times
# its size (a project is counted before it is read: at most 20,000 layers a network, sdcproj.MAX_LAYERS).
PROJECT_TEXT = TextLimit(
    "an NNC project or nnabla network text (.sdcproj, .nntxt)", "NNSPEC_MAX_PROJECT_SIZE", 8 * 2**20, "32M"
)
