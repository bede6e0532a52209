"""matplotlib, the optional ``plot`` extra, loaded only when a picture needs it.

nnspec never imports pyplot: figures are ``matplotlib.figure.Figure`` objects saved by the
Agg renderer or matplotlib's SVG writer, named when saving (``SAVE_BACKENDS``), so no window
opens and no backend is ever taken from the environment or an rc file (a ``backend:
module://NAME`` would import NAME).

Every figure is drawn from matplotlib's built-in defaults (``drawing``), never from a
``matplotlibrc`` found on disk: the working directory may be a stranger's checkout, and its
matplotlibrc could set ``text.usetex: True`` (running ``latex`` on spec text) or change what
is drawn. matplotlib reads ``./matplotlibrc`` when it is imported, so nnspec imports it from
its own directory (``_import_matplotlib``); an rc file elsewhere (``$MATPLOTLIBRC``, the
user's config) is the user's own, and ``drawing`` sets it aside too. Text is drawn as it is,
never parsed as mathtext (``$\\foo$`` in a name is text, not a command).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from ...core.diagnostics import UsageError
from ...core.extras import install_hint

INSTALL_HINT = install_hint("plot")


class MissingExtra(UsageError):
    """An optional dependency a command needs is not installed (exit code 2, like any unusable request)."""


def matplotlib(purpose: str) -> ModuleType:
    """The matplotlib module, with Agg as the renderer of every figure nnspec makes.

    ``purpose`` says what needed it, for the message when it is missing.
    """
    try:
        _import_matplotlib()
        import matplotlib as mpl
        import matplotlib.backends.backend_agg  # noqa: F401  (the renderer; imported here so a broken install fails early)
        import matplotlib.figure  # noqa: F401
        import matplotlib.style  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) == "matplotlib" or "matplotlib" not in str(exc)
        state = "which is not installed" if missing else f"which cannot be imported ({exc})"
        raise MissingExtra(f"{purpose}: needs matplotlib, {state}: {INSTALL_HINT}") from None
    return mpl


def require_matplotlib(purpose: str) -> None:
    """Fail now, before a run, rather than after it, when matplotlib is missing."""
    matplotlib(purpose)


def _import_matplotlib() -> None:
    """Import matplotlib with the current directory elsewhere for the while: its import reads
    ``./matplotlibrc`` first of all rc files (and prints what it cannot parse of it)."""
    if "matplotlib" in sys.modules:
        return
    try:
        here = os.getcwd()
    except OSError:  # a removed directory: no matplotlibrc is found there either
        here = None
    if here is not None:  # once a process, for the import only (a program that imported matplotlib is left alone)
        os.chdir(Path(__file__).parent)  # nnspec's own files: no matplotlibrc among them
    try:
        import matplotlib  # noqa: F401
    finally:
        if here is not None:
            os.chdir(here)


# What nnspec's figures set over matplotlib's built-in defaults, whatever a picture adds.
SAFE_TEXT = {
    "text.usetex": False,  # never run latex
    "text.parse_math": False,  # '$...$' is text: mathtext would fail on an unknown command
}
SAVE_BACKENDS = {"png": "agg", "svg": "svg"}  # the writer of each format, named when saving


@contextmanager
def drawing(purpose: str, rc: Mapping[str, Any]) -> Iterator[ModuleType]:
    """matplotlib, for drawing a figure from its built-in defaults, ``SAFE_TEXT`` and ``rc``
    only: make and save the figure inside the block."""
    mpl = matplotlib(purpose)
    with mpl.style.context("default"), mpl.rc_context({**SAFE_TEXT, **rc}):
        yield mpl
