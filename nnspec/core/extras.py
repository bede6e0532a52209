"""The optional extras a command may need, and the one way every message and doc says to install them.

nnspec is installed from a checkout or from git, not from a package index, so an extra named after
nnspec finds nothing there; the extra's own packages install anywhere: ``pip install matplotlib``.
pyproject.toml's ``[project.optional-dependencies]`` lists the same packages (tests/test_readme.py
holds the two, and the docs, to each other).
"""

from __future__ import annotations

from types import ModuleType

from .diagnostics import UsageError

EXTRAS: dict[str, tuple[str, ...]] = {
    "image": ("Pillow",),  # an NNC dataset's images
    "progress": ("tqdm",),  # the progress bar
    "h5": ("h5py",),  # nnabla's parameter.h5
    "plot": ("matplotlib",),  # pictures: graph as SVG or PNG, plots, the HTML report
    "onnx": ("onnx", "onnxruntime"),  # ONNX models: read, written by convert, run by onnxruntime
    "dask": ("dask", "distributed"),  # a run spread over a Dask cluster (--scheduler, --workers)
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``'s packages: ``pip install matplotlib`` for ``plot``."""
    return f"pip install {' '.join(EXTRAS[extra])}"


def optional_module(name: str, extra: str, purpose: str) -> ModuleType:
    """The optional package ``name``, imported when ``purpose`` first needs it; a UsageError saying
    what needed it and how to install ``extra`` when it is absent: ``{purpose} needs the {name} package:
    pip install ...``."""
    try:
        return __import__(name)  # a top-level package
    except ImportError:
        raise UsageError(f"{purpose} needs the {name} package: {install_hint(extra)}") from None
