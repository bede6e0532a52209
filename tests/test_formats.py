"""--format github and --format sarif, and the pre-commit hook: nnspec where CI reads it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import jsonschema
import pytest

from nnspec.cli import main
from nnspec.core.diagnostics import ERROR, INFO, WARNING, Diagnostic
from nnspec.report.formats import artifact_uri, github, github_line, sarif_log

from .conftest import BROKEN, ROOT, SPECS

VALID = "nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [8]}\n  - {name: t, type: Tanh}\n"

# GitHub code scanning's requirements on an uploaded SARIF file ("SARIF support for code
# scanning", docs.github.com), written out here because no PyPI package ships the SARIF
# 2.1.0 JSON schema for offline use (sarif-om and sarif-tools, the SARIF packages on PyPI,
# carry none): version 2.1.0; runs[].tool.driver.name; rules with an id (shortDescription
# shown in the alert); each result a ruleId, a message.text and at least one (at most ten)
# location whose physicalLocation has artifactLocation.uri and region.startLine.
_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}}
CODE_SCANNING = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "$schema": {"type": "string", "pattern": "sarif-schema-2\\.1\\.0\\.json$|sarif-2\\.1\\.0\\.json$"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "id": {"type": "string", "minLength": 1, "maxLength": 1024},
                                                "shortDescription": _TEXT,
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": _TEXT,
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 10,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {"uri": {"type": "string", "minLength": 1}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def assert_code_scanning_sarif(log: dict) -> None:
    """The fields GitHub code scanning requires, and what a schema cannot say: the rules are the
    codes used, once each, each result's ruleIndex points at its rule, and a uri relative to the
    source root is a relative reference with forward slashes."""
    jsonschema.validate(log, CODE_SCANNING)
    [run] = log["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules))
    assert rules == list(dict.fromkeys(result["ruleId"] for result in run["results"]))
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        for location in result["locations"]:
            artifact = location["physicalLocation"]["artifactLocation"]
            if "uriBaseId" in artifact:
                assert artifact["uriBaseId"] in run["originalUriBaseIds"]
                assert not artifact["uri"].startswith(("/", "file:")) and "\\" not in artifact["uri"]
            else:
                assert artifact["uri"].startswith("file:///")


# --- github ------------------------------------------------------------------------------


def test_github_annotations_for_a_broken_spec(tmp_path, monkeypatch, capsys):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "broken.yaml").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--format", "github", "specs/broken.yaml"]) == 1  # exit code as in text
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        "::error file=specs/broken.yaml,line=5,col=23,title=nnspec unknown-type::"
        "unknown layer type 'Tanhh'; did you mean 'Tanh'?",
        "::error file=specs/broken.yaml,line=6,col=31,title=nnspec unknown-property::"
        "layer 'fc2' (Affine) has no property 'OutShape'; NNC's 'OutShape' is written 'out_shape: 16' in nnspec",
    ]
    # an absolute path inside the current directory is made relative to it, as GitHub wants
    assert main(["validate", "--format", "github", str(tmp_path / "specs" / "broken.yaml")]) == 1
    assert capsys.readouterr().out == out


def test_github_escapes_the_message_and_the_properties():
    diagnostic = Diagnostic("50% done\r\nnext: a, b", "dir,a/b:c.yaml", 3, 4, INFO, "some-code")
    # a message is one line, as in the text format: CR and LF are shown as \r \n (nnspec.core.printable)
    assert github_line(diagnostic, "/") == (
        "::notice file=dir%2Ca/b%3Ac.yaml,line=3,col=4,title=nnspec some-code::50%25 done\\r\\nnext: a, b"
    )
    whole_file = Diagnostic("cannot read", "x.yaml", severity=WARNING, code="unreadable")
    assert github_line(whole_file, "/") == "::warning file=x.yaml,title=nnspec unreadable::cannot read"
    assert github([], "/") == ""


def test_github_and_sarif_of_a_valid_spec(write_spec, capsys):
    clean = write_spec(VALID)
    assert main(["validate", "--format", "github", str(clean)]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["validate", "--format", "sarif", str(clean)]) == 0
    out, err = capsys.readouterr()
    log = json.loads(out)
    assert_code_scanning_sarif(log)
    [run] = log["runs"]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == [] and err == ""


def test_run_findings_as_github_annotations_at_their_layers(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["run", "specs/seed_activations.yaml", "--format", "github"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == "" and len(lines) == 3  # the findings only: no report
    assert [line.split("::")[1] for line in lines] == [
        "warning file=specs/seed_activations.yaml,line=10,col=5,title=nnspec input-range",
        "warning file=specs/seed_activations.yaml,line=14,col=5,title=nnspec tanh-hard-saturation",
        "warning file=specs/seed_activations.yaml,line=15,col=5,title=nnspec sigmoid-hard-saturation",
    ]
    assert "8 of 9 outputs (89%25) are exactly -1 or 1" in lines[1]
    assert main(["run", "specs/seed_activations.yaml", "--format", "github", "--strict"]) == 1
    capsys.readouterr()


def test_run_of_an_invalid_spec_prints_its_errors_in_the_format(write_spec, capsys):
    broken = write_spec(BROKEN)
    assert main(["run", str(broken), "--format", "github"]) == 1
    out, err = capsys.readouterr()
    assert err == "" and [line.split(",line=")[1].split(",title")[0] for line in out.splitlines()] == [
        "5,col=23",
        "6,col=31",
    ]
    assert main(["run", str(broken), "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert_code_scanning_sarif(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["unknown-type", "unknown-property"]


# --- sarif -------------------------------------------------------------------------------


def test_sarif_of_validate_locates_every_diagnostic(tmp_path, monkeypatch, capsys):
    (tmp_path / "my specs").mkdir()
    (tmp_path / "my specs" / "broken.yaml").write_text(BROKEN)
    shutil.copy(SPECS / "seed_activations.yaml", tmp_path / "seed.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--format", "sarif", "my specs/broken.yaml", "seed.yaml"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    log = json.loads(out)
    assert_code_scanning_sarif(log)
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "nnspec" and driver["version"]
    assert [rule["id"] for rule in driver["rules"]] == [
        "unknown-type",
        "unknown-property",
        "input-range",
        "tanh-hard-saturation",
        "sigmoid-hard-saturation",
    ]
    assert driver["rules"][0]["shortDescription"]["text"] == "an unknown layer type"
    located = [
        (
            r["ruleId"],
            r["level"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in run["results"]
    ]
    assert located == [
        ("unknown-type", "error", "my%20specs/broken.yaml", 5, 23),
        ("unknown-property", "error", "my%20specs/broken.yaml", 6, 31),
        ("input-range", "warning", "seed.yaml", 10, 5),
        ("tanh-hard-saturation", "warning", "seed.yaml", 14, 5),
        ("sigmoid-hard-saturation", "warning", "seed.yaml", 15, 5),
    ]
    assert run["results"][0]["message"]["text"] == "unknown layer type 'Tanhh'; did you mean 'Tanh'?"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_sarif_of_run_findings(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["run", "specs/seed_activations.yaml", "--format", "sarif"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    log = json.loads(out)  # stdout is the SARIF log alone
    assert_code_scanning_sarif(log)
    [run] = log["runs"]
    assert [(r["ruleId"], r["level"], r["properties"]["layer"]) for r in run["results"]] == [
        ("input-range", "warning", "x"),
        ("tanh-hard-saturation", "warning", "tanh"),
        ("sigmoid-hard-saturation", "warning", "sigmoid"),
    ]
    region = run["results"][1]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (14, 5)
    rule = run["tool"]["driver"]["rules"][1]
    assert rule["shortDescription"]["text"].startswith("range check: Tanh outputs exactly at -1..1's bounds")
    # every example spec's run gives a log GitHub accepts; a clean one, a run with no results
    for spec in sorted(SPECS.glob("*_fixed.yaml")):
        main(["run", str(spec.relative_to(ROOT)), "--format", "sarif"])
        log = json.loads(capsys.readouterr().out)
        assert_code_scanning_sarif(log)
        assert log["runs"][0]["results"] == []


def test_sarif_levels_and_files_outside_the_current_directory(tmp_path):
    outside = tmp_path / "elsewhere" / "a.yaml"
    here = tmp_path / "repo"
    diagnostics = [
        Diagnostic("bad", str(outside), 2, 3, ERROR, "shape"),
        Diagnostic("hm", "b.yaml", 1, None, WARNING, "input-range"),
        Diagnostic("fyi", "b.yaml", None, None, INFO, "made-up-code"),
    ]
    log = sarif_log(diagnostics, "9.9", cwd=here)
    assert_code_scanning_sarif(log)
    results = log["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": outside.as_uri()}
    assert results[2]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 1}
    assert log["runs"][0]["tool"]["driver"]["rules"][2]["shortDescription"]["text"] == "made up code"
    assert artifact_uri("../repo/c d.yaml", here) == "c%20d.yaml"


# --- pre-commit --------------------------------------------------------------------------


def _git(*args: str, cwd, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **(extra_env or {}),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    return proc


@pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is not installed (the test extra has it)")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_blocks_a_commit_with_a_broken_spec(tmp_path):
    """The hook as a user adds it: three lines of .pre-commit-config.yaml naming this repository.

    The hook repository is a copy of this working tree committed in a temporary git repository,
    so the test checks the files as they are, committed or not. pre-commit installs nnspec
    from it into its own environment (under a temporary PRE_COMMIT_HOME).
    """
    hook = tmp_path / "hook"
    hook.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hook / name)
    shutil.copytree(ROOT / "nnspec", hook / "nnspec", ignore=shutil.ignore_patterns("__pycache__"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "nnspec"]):
        assert _git(*args, cwd=hook).returncode == 0
    rev = _git("rev-parse", "HEAD", cwd=hook).stdout.strip()

    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "good.yaml").write_text(VALID)
    (project / "specs" / "broken.yaml").write_text(BROKEN)
    shutil.copy(SPECS / "seed_activations.yaml", project / "specs" / "seed.yaml")  # warnings do not block
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook.as_posix()}\n    rev: {rev}\n    hooks: [{{id: nnspec-validate}}]\n"
    )
    assert _git("init", "-q", cwd=project).returncode == 0
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}  # hook environments: temporary
    installed = subprocess.run(["pre-commit", "install"], cwd=project, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    assert _git("add", "-A", cwd=project).returncode == 0

    blocked = _git("commit", "-m", "specs", cwd=project, extra_env={"PRE_COMMIT_HOME": env["PRE_COMMIT_HOME"]})
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, shown
    assert "nnspec validate" in shown and "Failed" in shown
    assert "specs/broken.yaml:5:23: error: unknown layer type 'Tanhh'; did you mean 'Tanh'? [unknown-type]" in shown
    assert "specs/broken.yaml:6:31: error: layer 'fc2' (Affine) has no property 'OutShape'" in shown
    assert "good.yaml" not in shown and ".pre-commit-config.yaml" not in shown  # other tools' YAML left alone
    assert _git("rev-parse", "--verify", "HEAD", cwd=project).returncode != 0  # nothing was committed

    # with the spec fixed, the same commit goes through
    (project / "specs" / "broken.yaml").write_text(BROKEN.replace("Tanhh", "Tanh").replace("OutShape", "out_shape"))
    assert _git("add", "-A", cwd=project).returncode == 0
    passed = subprocess.run(["pre-commit", "run", "--all-files"], cwd=project, env=env, capture_output=True, text=True)
    assert passed.returncode == 0, passed.stdout + passed.stderr
