"""The dataset an NNC project gives a run: the one its executor evaluates on, found on disk.

A spec's ``project:`` (an .sdcproj's [Dataset_N] and [Executor_N]) names datasets by the URI NNC
wrote: ``{SDCPATH}samples\\sample_dataset\\mnist\\mnist_test.csv`` (``{SDCPATH}``: the folder NNC is
installed in), a path relative to the project, an absolute path on the author's machine
(``K:\\dbs\\train.csv``), a tenant of NNC's cloud service (``<uuid>/<id>``), or nothing at all
(NNC's samples ship no data for most projects). A run of a network reads the dataset of the first
executor that evaluates it, as NNC's Evaluate does, when nothing else gives the data (--dataset,
the spec's ``dataset:``):

- ``{SDCPATH}`` becomes ``--dataset-root DIR`` (``dataset_root``); a relative URI is taken against
  ``--dataset-root`` when given, else the project's folder; ``\\`` separates folders as ``/`` does;
- an absolute path, a URL and a cloud tenant's dataset are not read: the run says so, and how to go on.

The file found must lie within the spec's allowed roots (nnspec.files.confine), ``--dataset-root``
among them (a folder the user named), like every file a spec names: a project cannot make a run
read /etc. A dataset that cannot be read is no error until a variable needs it (`validate` never
opens it); then the run says which, why, and the options that go on (``WAYS_ON``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from ..core.diagnostics import UsageError
from ..core.printable import printable
from ..files.confine import OutsideRoots
from ..spec.model import Spec
from ..spec.project import evaluating_executor

SDCPATH = "{SDCPATH}"  # NNC's install folder, as its URIs begin
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_CLOUD = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/\d+")
# What a user can do when the project's dataset is not there (the CLI's options; the API's keywords alike)
WAYS_ON = (
    "give --dataset-root DIR (the folder {SDCPATH} and relative URIs stand for), --dataset PATH (a dataset CSV "
    "of your own), or --synthetic (generated data in NNC's ranges)"
)


@dataclass(frozen=True)
class ProjectDataset:
    """The dataset a project's executor evaluates a network on: ``path`` the file found (None when it
    cannot be read, ``problem`` saying why), ``image_normalization`` as the project sets it."""

    name: str
    executor: str
    image_normalization: bool = True
    path: Path | None = None
    problem: str | None = None

    @property
    def title(self) -> str:
        return f"dataset '{printable(self.name)}' of the project's executor '{printable(self.executor)}'"


def project_dataset(spec: Spec, dataset_root: str | Path | None = None) -> ProjectDataset | None:
    """The dataset of the first executor of ``spec.project`` that evaluates the network the spec runs
    (None when none does), its URI resolved and confined (see the module's docstring)."""
    executor = evaluating_executor(spec)
    if executor is None:
        return None
    name, wanted = str(executor.get("name", "")), str(executor.get("dataset", ""))
    datasets = [d for d in spec.project.get("datasets") or () if isinstance(d, dict)]
    entry = next((d for d in datasets if d.get("name") == wanted), None)
    if entry is None:
        return ProjectDataset(wanted, name, problem="is not among the project's datasets")
    normalised = entry.get("image_normalization") is not False
    uri = entry["uri"] if isinstance(entry.get("uri"), str) else ""
    try:
        path = resolve_uri(uri, spec.directory, dataset_root)
    except _Unusable as exc:
        return ProjectDataset(wanted, name, normalised, problem=str(exc))
    allowed = spec.allowed.widened([dataset_root] if dataset_root is not None else [])
    try:
        return ProjectDataset(wanted, name, normalised, path=allowed.file(path))
    except OutsideRoots as exc:  # missing or forbidden: one answer for both (nnspec.files.confine)
        return ProjectDataset(
            wanted, name, normalised, problem=f"({printable(uri)}) names {printable(str(path))}, which is {exc}"
        )


def checked_root(root: str | Path) -> Path:
    """``--dataset-root DIR`` as given, when it is a directory; else UsageError."""
    if not Path(root).is_dir():
        raise UsageError(f"--dataset-root {printable(str(root))}: not a directory")
    return Path(root)


class _Unusable(Exception):
    """A URI nnspec does not read from: the message says what it is."""


def resolve_uri(uri: str, project_folder: Path, dataset_root: str | Path | None) -> Path:
    """The file a dataset's URI names: ``{SDCPATH}`` as ``dataset_root``, a relative path against
    ``dataset_root`` (when given) or ``project_folder``, ``\\`` as ``/``; _Unusable for a URI that is
    empty, absolute, a URL or a dataset of NNC's cloud service."""
    text = uri.strip()
    shown = printable(text)
    if not text:
        raise _Unusable("has no URI (NNC's sample projects ship without their data)")
    if _URL.match(text):
        raise _Unusable(f"is a URL ({shown}): nnspec reads datasets from local files")
    if _CLOUD.fullmatch(text):
        raise _Unusable(f"({shown}) is a dataset of NNC's cloud service: export it as a dataset CSV")
    installed = text[: len(SDCPATH)].upper() == SDCPATH
    rest = text[len(SDCPATH) :].lstrip("\\/") if installed else text
    if installed and dataset_root is None:
        raise _Unusable(f"({shown}) lies in NNC's install folder ({SDCPATH}), which nnspec is not told")
    if PureWindowsPath(rest).drive or rest.startswith(("/", "\\")):
        raise _Unusable(f"({shown}) is an absolute path, on the machine the project was made on")
    base = Path(dataset_root) if dataset_root is not None else project_folder
    return base.joinpath(*[part for part in rest.replace("\\", "/").split("/") if part])
