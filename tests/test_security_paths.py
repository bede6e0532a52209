"""Issue 15, items 6 and 7 (--no-data): files a spec or a dataset names are confined to a root.

A spec and the files beside it may come from an untrusted pull request; a dataset from anywhere. The
paths they name (the spec's dataset:, a parameter's file:, a dataset's cells) are resolved, symlinks
included, and must lie in the spec's repository (or a directory given with --allow-path; a dataset's
cells also under the dataset's own directory). A missing and a forbidden path get the same answer, and
no message quotes a file the user did not name. `validate --no-data` checks a spec without its data files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli import main
from nnspec.core.diagnostics import UsageError

SECRET = "TOKEN-0123456789-SECRET"
PLAIN = "nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [2]}}\n  - {{name: out, type: Identity}}\n"
DATASET = PLAIN.replace("layers:", "dataset: {path}\nlayers:")  # the spec's dataset: on line 2
AFFINE = (  # a parameter file: on line 4
    "nnspec: 1\nlayers:\n  - {{name: x, type: Input, size: [2], generator: Uniform}}\n"
    "  - {{name: fc, type: Affine, out_shape: 1, W: {{file: {path}}}}}\n"
)
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): error: (?P<message>.*) \[(?P<code>[a-z-]+)\]$")


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A repository (repo/, holding .git) with specs/ and data/, and outside it a secret, as ~/.ssh
    would be. The current directory is elsewhere, so that it is not the root."""
    repo, outside = tmp_path / "repo", tmp_path / "home"
    for directory in (repo / ".git", repo / "specs", repo / "data", outside / ".ssh"):
        directory.mkdir(parents=True)
    (outside / ".ssh" / "id_rsa.csv").write_text(f"{SECRET}\n")
    (outside / ".ssh" / "id_rsa").write_text(f"{SECRET}\n")
    np.save(outside / "W.npy", np.ones((2, 1)))
    (outside / "index.csv").write_text("x__0,x__1\n1,2\n")
    (repo / "data" / "index.csv").write_text("x__0,x__1\n1,2\n3,4\n")
    np.save(repo / "data" / "W.npy", np.ones((2, 1)))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return repo, outside


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(item) for item in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out, err


def located(err: str) -> list[tuple[int, int, str, str]]:
    found = [LOCATED.match(line) for line in err.splitlines()]
    return [(int(m["line"]), int(m["column"]), m["code"], m["message"]) for m in found if m]


def spec(repo: Path, template: str, path: str | Path) -> Path:
    file = repo / "specs" / "spec.yaml"
    file.write_text(template.format(path=path), encoding="utf-8")
    return file


def unreachable(*roots: Path) -> str:
    kind = "root" if len(roots) == 1 else "roots"
    return f"not found (or outside the allowed {kind} {', '.join(str(r.resolve()) for r in roots)}; see --allow-path)"


# --- the spec's own paths: dataset: and a parameter's file: -------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "ABSOLUTE",  # an absolute path outside the repository
        "../../home/index.csv",  # ../ out of it
        "../data/escape.csv",  # a symlink in it to a file outside
        "../data/linked/index.csv",  # through a symlinked directory
        "/proc/self/environ",  # the environment, with CI's secrets
        "../.git/config",  # inside the repository, but where actions/checkout keeps the job's token
    ],
)
@pytest.mark.parametrize("template", [DATASET, AFFINE], ids=["dataset", "parameter-file"])
def test_a_spec_cannot_name_a_file_outside_its_repository(world, template, written, capsys):
    repo, outside = world
    (repo / "data" / "escape.csv").symlink_to(outside / "index.csv")
    (repo / "data" / "linked").symlink_to(outside)
    (repo / ".git" / "config").write_text(f"[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n")
    if written == "ABSOLUTE":
        written = str(outside / ("index.csv" if template is DATASET else "W.npy"))
    file = spec(repo, template, written)
    for command in (["validate"], ["run", "-q"], ["graph"]):
        code, out, err = cli([*command, file], capsys)
        assert code == 1, (command, err)
        [(line, column, kind, message)] = located(err)
        assert (line, kind) == ((2, "missing-file") if template is DATASET else (4, "missing-file"))
        assert message.endswith(unreachable(repo))
        assert SECRET not in out + err
    with pytest.raises(nnspec.SpecError):
        nnspec.load(file)


def test_missing_and_forbidden_paths_get_the_same_answer(world, capsys):
    repo, outside = world
    answers = {}
    for name, written in [("missing", "../data/gone.csv"), ("forbidden", outside / "index.csv")]:
        code, _, err = cli(["validate", spec(repo, DATASET, written)], capsys)
        [(line, column, kind, message)] = located(err)
        answers[name] = (code, line, column, kind, message.replace(str(written), "PATH"))
    assert answers["missing"][4].replace(str(repo / "specs") + "/", "") == answers["forbidden"][4]
    assert answers["missing"][:4] == answers["forbidden"][:4] == (1, 2, 10, "missing-file")


def test_a_symlink_within_the_repository_is_followed(world, capsys):
    repo, _ = world
    (repo / "data" / "alias.csv").symlink_to(repo / "data" / "index.csv")
    (repo / "data" / "W_alias.npy").symlink_to(Path("W.npy"))  # relative, within data/
    file = spec(repo, DATASET, "../data/alias.csv")
    assert cli(["validate", file], capsys)[0] == 0
    code, out, _ = cli(["run", "--format", "json", file], capsys)
    assert code == 0 and '"samples": 2' in out
    assert cli(["validate", spec(repo, AFFINE, "../data/W_alias.npy")], capsys)[0] == 0


def test_allow_path_widens_the_root_on_every_command_and_in_the_api(world, capsys):
    repo, outside = world
    for template, name in [(DATASET, "index.csv"), (AFFINE, "W.npy")]:
        file = spec(repo, template, outside / name)
        assert cli(["validate", file], capsys)[0] == 1
        assert cli(["validate", "--allow-path", outside, file], capsys)[0] == 0
        assert cli(["run", "-q", "--allow-path", outside, file], capsys)[0] == 0
        assert cli(["graph", "--allow-path", outside, file], capsys)[0] == 0
        assert cli(["graph", "--run", "--allow-path", outside, file], capsys)[0] == 0
        assert cli(["upgrade", "--allow-path", outside, file], capsys)[0] == 0
        assert cli(["upgrade", file], capsys)[0] == 1  # the upgraded spec is validated as the original is
        assert nnspec.validate(file, allow_paths=[outside]) == []
        assert nnspec.validate(file) != []
        nnspec.run(nnspec.load(file, allow_paths=[outside]))


# --- a dataset's cells -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "ABSOLUTE",  # ~/.ssh/id_rsa.csv by its absolute path
        "../home/.ssh/id_rsa.csv",  # ../ out of the dataset's directory
        "sample.csv",  # a symlink beside the CSV to the secret: once printed the token
        "linked/id_rsa.csv",  # through a symlinked directory
        "/proc/self/environ.csv",
    ],
)
def test_dataset_cells_cannot_reach_outside_the_roots(world, cell, capsys, tmp_path):
    repo, outside = world
    downloaded = tmp_path / "downloaded"  # a dataset from elsewhere, named on the command line
    downloaded.mkdir()
    (downloaded / "sample.csv").symlink_to(outside / ".ssh" / "id_rsa.csv")
    (downloaded / "linked").symlink_to(outside / ".ssh")
    if cell == "ABSOLUTE":
        cell = str(outside / ".ssh" / "id_rsa.csv")
    if cell == "../home/.ssh/id_rsa.csv":
        assert (downloaded / cell).resolve() == (outside / ".ssh" / "id_rsa.csv").resolve()
    index = downloaded / "index.csv"
    index.write_text(f"x\n{cell}\n")
    file = spec(repo, PLAIN, "")
    code, out, err = cli(["run", "-q", file, "--dataset", index], capsys)
    assert code == 2
    assert err.startswith(f"nnspec: error: {index}: row 2, column x: ")
    assert err.rstrip().endswith(unreachable(repo, downloaded))
    assert SECRET not in out + err
    with pytest.raises(UsageError, match="not found"):
        nnspec.run(nnspec.load(file), dataset=index)


def test_dataset_cells_may_name_files_under_the_dataset_or_the_repository(world, capsys, tmp_path):
    repo, outside = world
    downloaded = tmp_path / "downloaded"
    (downloaded / "samples").mkdir(parents=True)
    (downloaded / "samples" / "0.csv").write_text("1,2\n")
    (repo / "data" / "1.csv").write_text("3,4\n")
    index = downloaded / "index.csv"
    index.write_text(f"x\nsamples/0.csv\n{repo / 'data' / '1.csv'}\n")
    file = spec(repo, PLAIN, "")
    out = tmp_path / "out.npy"
    assert cli(["run", "-q", file, "--dataset", index, "--output", out], capsys)[0] == 0
    np.testing.assert_array_equal(np.load(out), [[1, 2], [3, 4]])


def test_allow_path_lets_dataset_cells_reach_a_directory(world, capsys, tmp_path):
    repo, outside = world
    (outside / "sample.csv").write_text("5,6\n")
    index = repo / "data" / "cells.csv"
    index.write_text(f"x\n{outside / 'sample.csv'}\n")
    file = spec(repo, PLAIN, "")
    assert cli(["run", "-q", file, "--dataset", index], capsys)[0] == 2
    assert cli(["run", "-q", file, "--dataset", index, "--allow-path", outside], capsys)[0] == 0
    result = nnspec.run(nnspec.load(file), dataset=index, allow_paths=[outside])
    np.testing.assert_array_equal(result.outputs["out"], [[5, 6]])


def test_the_specs_dataset_has_its_cells_confined_to_the_repository(world, capsys):
    repo, outside = world
    (repo / "data" / "cells.csv").write_text(f"x\n{outside / '.ssh' / 'id_rsa.csv'}\n")
    code, out, err = cli(["run", "-q", spec(repo, DATASET, "../data/cells.csv")], capsys)
    assert code == 2 and err.rstrip().endswith(unreachable(repo)) and SECRET not in out + err


# --- what messages quote ---------------------------------------------------------------------------


def test_a_per_sample_file_a_cell_names_is_never_quoted(world, capsys, tmp_path):
    repo, _ = world
    (repo / "data" / "sample.csv").write_text(f"1,{SECRET}\n")  # within the root, but the user never named it
    index = repo / "data" / "cells.csv"
    index.write_text("x\nsample.csv\n")
    code, out, err = cli(["run", "-q", spec(repo, PLAIN, ""), "--dataset", index], capsys)
    assert code == 2 and err.rstrip().endswith(":1:2: not a number")
    assert SECRET not in out + err and "TOKEN" not in out + err


def test_a_dataset_the_spec_names_is_never_quoted(world, capsys):
    repo, _ = world
    for content in (f"x\n{SECRET}\n", f"{SECRET},other\n1,2\n", f"x__0,x__1\n1,{SECRET}\n"):
        (repo / "data" / "creds.csv").write_text(content)
        code, out, err = cli(["run", "-q", spec(repo, DATASET, "../data/creds.csv")], capsys)
        assert code == 2 and ("row" in err or "header" in err), err
        assert SECRET not in out + err and "TOKEN" not in out + err


def test_a_cell_of_a_dataset_the_user_named_is_quoted_in_20_characters_at_most(world, capsys):
    repo, _ = world
    index = repo / "data" / "cells.csv"
    index.write_text(f"x__0,x__1\n1,{SECRET * 10}\n")
    code, _, err = cli(["run", "-q", spec(repo, PLAIN, ""), "--dataset", index], capsys)
    assert code == 2
    assert f"row 2, column x__1: not a number: '{SECRET[:20]}'... (230 characters)" in err
    assert SECRET not in err


# --- validate --no-data -------------------------------------------------------------------------------


def test_no_data_validates_a_spec_whose_data_files_are_absent(world, capsys):
    repo, _ = world
    for template, name in [(DATASET, "../data/lfs/train.csv"), (AFFINE, "../data/lfs/fc_W.npy")]:
        file = spec(repo, template, name)
        code, _, err = cli(["validate", file], capsys)
        assert code == 1 and "missing-file" in err
        assert cli(["validate", "--no-data", file], capsys) == (0, "", "")
        assert nnspec.validate(file, read_data=False) == []


def test_no_data_opens_no_data_file(world, capsys):
    repo, _ = world
    # Files that would be errors if opened: not a .npy; a pipe (reading it would never end).
    (repo / "data" / "W.npy").write_text("an LFS pointer, not numpy's format\n")
    os.mkfifo(repo / "data" / "train.csv")
    for template, name in [(AFFINE, "../data/W.npy"), (DATASET, "../data/train.csv")]:
        file = spec(repo, template, name)
        assert cli(["validate", file], capsys)[0] == 1
        assert cli(["validate", "--no-data", "--format", "json", file], capsys)[0] == 0


@pytest.mark.parametrize(
    "written", ["ABSOLUTE", "../../home/index.csv", "../data/linked/index.csv", "../data/link.csv"]
)
def test_no_data_still_refuses_a_path_that_leads_outside_the_root(world, written, capsys):
    repo, outside = world
    (repo / "data" / "linked").symlink_to(outside)
    (repo / "data" / "link.csv").symlink_to(outside / "gone.csv")  # dangling: --no-data asks no file to exist
    file = spec(repo, DATASET, outside / "index.csv" if written == "ABSOLUTE" else written)
    code, _, err = cli(["validate", "--no-data", file], capsys)
    assert code == 1 and located(err)[0][3].endswith(unreachable(repo))
    assert cli(["validate", "--no-data", "--allow-path", outside, file], capsys)[0] == 0


def test_no_data_keeps_the_predictions_that_need_no_file(world, capsys):
    repo, _ = world
    text = AFFINE.format(path="../data/gone.npy").replace("generator: Uniform}", "range: [-255, 255]}")
    file = repo / "specs" / "spec.yaml"
    file.write_text(text)
    diagnostics = nnspec.validate(file, read_data=False)
    assert [d.code for d in diagnostics] == ["input-range"]  # the Input's own; the Affine's weights are unknown


# --- the default root ---------------------------------------------------------------------------------


def test_outside_a_repository_the_root_is_the_current_directory_holding_the_spec(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "data" / "index.csv").write_text("x__0,x__1\n1,2\n")
    file = project / "specs" / "spec.yaml"
    file.write_text(DATASET.format(path="../data/index.csv"))
    monkeypatch.chdir(project)
    assert cli(["validate", "specs/spec.yaml"], capsys)[0] == 0
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")  # the spec outside the current directory: its own directory only
    code, _, err = cli(["validate", file], capsys)
    assert code == 1 and unreachable(project / "specs") in err
