"""nnspec.run and nnspec.prepare as the package gives them: a spec, or the path of a spec file.

The runtime stage runs a validated Spec and may not import validation (tests/test_import_order.py:
validation sits above it), so a path is loaded here, at the top, then handed to nnspec.runtime.runner.
The signatures are written out in full, not forwarded as ``**kwargs``, so that editors and type
checkers see every keyword and ``nnspec.run(...)`` is a RunResult, not Any.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .runtime import runner
from .runtime.engine import EngineFactory
from .runtime.executor import Executor
from .runtime.runner import Runner, RunResult
from .spec.model import Spec
from .validation import load

SpecLike = Spec | str | os.PathLike[str]


def _spec(spec: SpecLike, allow_paths: Iterable[str | Path] = ()) -> Spec:
    """A Spec as it is, a path loaded and validated (SpecError if the file is invalid)."""
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return load(os.fspath(spec), allow_paths=allow_paths)
    raise TypeError(f"expected a Spec (nnspec.load) or the path of a spec file; got {type(spec).__name__}")


def run(
    spec: SpecLike,
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    input_files: Mapping[str, str | Path] | None = None,
    dataset: str | Path | None = None,
    params: Mapping[str, np.ndarray] | str | Path | None = None,
    batch_size: int | None = None,
    samples: int | None = None,
    max_memory: int | str | None = None,
    checks: Mapping[str, Any] | None = None,
    statistics: bool = True,
    keep_outputs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_paths: Iterable[str | Path] = (),
    training: bool = False,
    engine: EngineFactory | None = None,
    executor: Executor | None = None,
) -> RunResult:
    allow_paths = list(allow_paths)
    return runner.run(
        _spec(spec, allow_paths),
        inputs,
        input_files=input_files,
        dataset=dataset,
        params=params,
        batch_size=batch_size,
        samples=samples,
        max_memory=max_memory,
        checks=checks,
        statistics=statistics,
        keep_outputs=keep_outputs,
        progress=progress,
        allow_paths=allow_paths,
        training=training,
        engine=engine,
        executor=executor,
    )


def prepare(
    spec: SpecLike,
    params: Mapping[str, np.ndarray] | str | Path | None = None,
    *,
    checks: Mapping[str, Any] | None = None,
    statistics: bool = True,
    max_memory: int | str | None = None,
    training: bool = False,
    engine: EngineFactory | None = None,
    executor: Executor | None = None,
) -> Runner:
    return runner.prepare(
        _spec(spec),
        params,
        checks=checks,
        statistics=statistics,
        max_memory=max_memory,
        training=training,
        engine=engine,
        executor=executor,
    )


# The runtime's documentation is the one to read: a path is the only addition.
_PATH_NOTE = "``spec`` is a Spec (nnspec.load) or the path of a spec file, loaded and validated first.\n\n"
run.__doc__ = _PATH_NOTE + (runner.run.__doc__ or "")
prepare.__doc__ = _PATH_NOTE + (runner.prepare.__doc__ or "")
