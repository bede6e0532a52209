"""Each format's size limit: a spec's (NNSPEC_MAX_SPEC_SIZE, 128 KiB) and the larger one of the files NNC
and nnabla write (NNSPEC_MAX_PROJECT_SIZE, 8 MiB): 14 of NNC's 61 sample projects are over 128 KiB,
the largest (densenet-161) 1.1 MiB."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from nnspec.cli import main
from nnspec.files.limits import PROJECT_TEXT, SPEC_TEXT
from nnspec.spec.readers import FORMATS, format_of

FIXTURES = Path(__file__).parent / "fixtures"
LENET = FIXTURES / "nnc" / "lenet.sdcproj"
NNTXT = FIXTURES / "nnabla_nnp" / "mlp.nntxt"
KIB = 1024


def big_project(tmp_path: Path, size: int) -> Path:
    """NNC's LeNet project grown to about ``size`` bytes by its description (a [Description] line)."""
    text = LENET.read_text()
    padding = "x" * max(0, size - len(text))
    path = tmp_path / "big.sdcproj"
    path.write_text(text.replace("Text=A small LeNet-like network", "Text=" + padding, 1))
    return path


def big_nntxt(tmp_path: Path, size: int) -> Path:
    """The MLP network text grown to about ``size`` bytes by a comment line."""
    text = NNTXT.read_text()
    path = tmp_path / "big.nntxt"
    path.write_text("# " + "x" * max(0, size - len(text)) + "\n" + text)
    return path


def validate(path: Path, capsys) -> tuple[int, str]:
    code = main(["validate", "--no-data", str(path)])
    return code, capsys.readouterr().err


def test_the_defaults_and_which_format_has_which():
    assert (SPEC_TEXT.variable, SPEC_TEXT.default) == ("NNSPEC_MAX_SPEC_SIZE", 128 * KIB)
    assert (PROJECT_TEXT.variable, PROJECT_TEXT.default) == ("NNSPEC_MAX_PROJECT_SIZE", 8 * KIB * KIB)
    by_suffix = {suffix: form.size for form in FORMATS for suffix in form.suffixes if form.read_file is None}
    assert by_suffix == {
        ".yaml": SPEC_TEXT,
        ".yml": SPEC_TEXT,
        ".json": SPEC_TEXT,
        ".sdcproj": PROJECT_TEXT,
        ".nntxt": PROJECT_TEXT,
        ".prototxt": PROJECT_TEXT,
    }
    assert format_of("x.SDCPROJ").size is PROJECT_TEXT


@pytest.mark.parametrize("make", [big_project, big_nntxt])
def test_a_project_larger_than_a_spec_may_be_is_read_by_default(tmp_path, capsys, make):
    path = make(tmp_path, 300 * KIB)  # the size of NNC's ResNet-50 project
    assert path.stat().st_size > SPEC_TEXT.default
    code, err = validate(path, capsys)
    assert code == 0, err


@pytest.mark.parametrize("make", [big_project, big_nntxt])
def test_a_project_over_its_limit_is_refused_naming_its_variable(tmp_path, capsys, monkeypatch, make):
    path = make(tmp_path, 300 * KIB)
    monkeypatch.setenv("NNSPEC_MAX_PROJECT_SIZE", "200K")
    code, err = validate(path, capsys)
    assert code == 2
    assert f"may hold {200 * KIB:,} bytes; this one is {path.stat().st_size:,} bytes" in err
    assert "NNSPEC_MAX_PROJECT_SIZE=SIZE" in err and "NNSPEC_MAX_SPEC_SIZE" not in err
    monkeypatch.setenv("NNSPEC_MAX_PROJECT_SIZE", "lots")
    code, err = validate(path, capsys)
    assert code == 2 and "NNSPEC_MAX_PROJECT_SIZE: not a size: 'lots'" in err


def test_the_default_project_limit_holds(tmp_path, capsys):
    path = big_project(tmp_path, 8 * KIB * KIB + 100)  # a little over: the padding replaces a few characters
    code, err = validate(path, capsys)
    assert code == 2 and f"may hold {8 * KIB * KIB:,} bytes" in err


def test_each_variable_bounds_its_own_formats_only(tmp_path, capsys, monkeypatch):
    """The spec limit lowered leaves projects alone, and the project limit raised leaves specs alone."""
    monkeypatch.setenv("NNSPEC_MAX_SPEC_SIZE", "1K")
    assert validate(LENET, capsys)[0] == 0
    monkeypatch.delenv("NNSPEC_MAX_SPEC_SIZE")
    monkeypatch.setenv("NNSPEC_MAX_PROJECT_SIZE", "64M")
    spec = tmp_path / "spec.yaml"
    layers = "\nlayers: [{name: x, type: Input, size: [1]}]\n"
    spec.write_text("nnspec: 2\ndescription: " + "x" * SPEC_TEXT.default + layers)
    code, err = validate(spec, capsys)
    assert code == 2 and "NNSPEC_MAX_SPEC_SIZE=SIZE" in err


def test_the_network_text_of_an_nnp_has_the_nntxt_limit(tmp_path, capsys, monkeypatch):
    text = big_nntxt(tmp_path, 300 * KIB).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("nnp_version.txt", "0.1\n")
        archive.writestr("network.nntxt", text)
    path = tmp_path / "big.nnp"
    path.write_bytes(buffer.getvalue())
    assert validate(path, capsys)[0] == 0
    monkeypatch.setenv("NNSPEC_MAX_PROJECT_SIZE", "200K")
    code, err = validate(path, capsys)
    assert code == 2 and f"declares {len(text):,} bytes, more than the {200 * KIB:,}" in err


def test_upgrade_reads_a_project_within_its_limit(tmp_path, capsys):
    path = big_project(tmp_path, 300 * KIB)
    assert main(["upgrade", str(path), "-o", str(tmp_path / "big.yaml")]) == 0, capsys.readouterr().err
