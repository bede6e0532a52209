"""matplotlib, the optional ``plot`` extra, loaded only when a picture needs it.

nnspec never imports pyplot: figures are ``matplotlib.figure.Figure`` objects drawn by the
Agg renderer (and matplotlib's SVG writer), so no window opens and no interactive backend
is chosen, whatever the environment says.
"""

from __future__ import annotations

from types import ModuleType

from ..diagnostics import UsageError

INSTALL_HINT = "pip install 'nnspec[plot]'"


class MissingExtra(UsageError):
    """An optional dependency a command needs is not installed (exit code 2, like any unusable request)."""


def matplotlib(purpose: str) -> ModuleType:
    """The matplotlib module, with Agg as the renderer of every figure nnspec makes.

    ``purpose`` says what needed it, for the message when it is missing.
    """
    try:
        import matplotlib as mpl
        import matplotlib.backends.backend_agg  # noqa: F401  (the renderer; imported here so a broken install fails early)
        import matplotlib.figure  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) == "matplotlib" or "matplotlib" not in str(exc)
        state = "which is not installed" if missing else f"which cannot be imported ({exc})"
        raise MissingExtra(f"{purpose}: needs matplotlib, {state}; install the plot extra: {INSTALL_HINT}") from None
    return mpl


def require_matplotlib(purpose: str) -> None:
    """Fail now, before a run, rather than after it, when matplotlib is missing."""
    matplotlib(purpose)
