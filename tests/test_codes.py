"""The table of diagnostic codes: every code nnspec emits is in it, and everything in it is emitted.

The raise sites are found by reading nnspec's source (ast), not by running it, so a code on a
path no test reaches is covered too: a code given as text instead of a ``codes`` constant, a
misspelt constant, or a Diagnostic made without a code (whose default is no registered code).
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nnspec.checks.table import all_checks
from nnspec.cli import main
from nnspec.core import codes
from nnspec.core.codes import CODES, STAGES

from .conftest import ROOT
from .test_invalid_specs import FIXTURES, expectations

PACKAGE = ROOT / "nnspec"
CONSTANTS = {
    name: value for name, value in vars(codes).items() if name.isupper() and isinstance(value, str) and value in CODES
}


@functools.cache
def _parsed() -> tuple[tuple[Path, ast.Module], ...]:
    return tuple(
        (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "codes.py"
    )


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    """nnspec's modules but the table itself, parsed once."""
    yield from _parsed()


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _code_positions() -> dict[str, int]:
    """Each function of nnspec with a parameter called ``code``: the position of that argument in a call
    (``self`` not counted), and Diagnostic's own (its sixth field)."""
    positions = {"Diagnostic": 5}
    for _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
                if "code" in names:
                    positions[node.name] = names.index("code")
    return positions


def _code_arguments() -> Iterator[tuple[str, ast.expr]]:
    """Every expression passed as a code in nnspec, with where it is."""
    positions = _code_positions()
    for path, tree in _modules():
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            for keyword in call.keywords:
                if keyword.arg == "code":
                    yield where, keyword.value
            position = positions.get(_callee(call) or "")
            if position is None:
                continue
            starred = [i for i, arg in enumerate(call.args) if isinstance(arg, ast.Starred)]
            if starred and starred[0] <= position:  # *line_column: any argument after it may be the code
                yield from ((where, arg) for arg in call.args[starred[0] + 1 :])
            elif position < len(call.args):
                yield where, call.args[position]


def _alternatives(expr: ast.expr) -> Iterator[ast.expr]:
    """The values an expression can take, through ``a if c else b``."""
    if isinstance(expr, ast.IfExp):
        yield from _alternatives(expr.body)
        yield from _alternatives(expr.orelse)
    else:
        yield expr


def _constants_used() -> Iterator[tuple[str, str]]:
    """Every ``codes.NAME`` in nnspec, with where it is."""
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "codes":
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node.attr


def test_the_scan_finds_the_raise_sites():
    # A scan that found nothing would pass everything below.
    arguments = list(_code_arguments())
    assert len(arguments) >= 40
    assert {"_at", "_error", "Diagnostic"} <= set(_code_positions())  # add() takes code= by keyword only


def test_no_code_is_given_as_text():
    literal = [
        (where, ast.unparse(value))
        for where, expr in _code_arguments()
        for value in _alternatives(expr)
        if isinstance(value, ast.Constant)
    ]
    assert literal == [], "give a code as a constant of nnspec.core.codes, e.g. codes.SHAPE"


def test_no_code_text_hides_elsewhere():
    # A code handed on in a tuple (schema_check's _describe) is no call argument: no text in the
    # package may spell a registered code with a hyphen (single words such as 'shape' are ordinary text).
    spelt = {code for code in CODES if "-" in code}
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in spelt
    ]
    assert found == []


def test_every_constant_used_is_registered():
    unknown = [(where, name) for where, name in _constants_used() if name not in CONSTANTS]
    assert unknown == []


def test_every_registered_code_is_emitted_somewhere():
    used = {name for _, name in _constants_used()}
    assert sorted(set(CONSTANTS) - used) == []
    assert len(CONSTANTS) == len(CODES)  # one constant a code: none registered without a name to use


def test_every_diagnostic_made_in_nnspec_has_a_code():
    # Diagnostic's default code, "invalid", is no registered code: nnspec always says which.
    bare = [
        f"{path.relative_to(ROOT)}:{call.lineno}"
        for path, tree in _modules()
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and _callee(call) == "Diagnostic"
        and len(call.args) <= 5
        and not any(isinstance(arg, ast.Starred) for arg in call.args)  # formats: *spec.locate(...), then the check
        and not any(k.arg == "code" for k in call.keywords)
    ]
    assert bare == []


def test_the_table_is_complete_and_apart_from_the_check_ids():
    for code in CODES.values():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code.id), code
        assert code.stage in STAGES, code
        assert code.summary.strip() and code.summary == code.summary.strip(), code
    # a run's findings carry check ids as codes: one id must not mean two things
    assert set(CODES) & set(all_checks()) == set()
    # the table reads in the order a spec goes through the stages
    order = [STAGES.index(code.stage) for code in CODES.values()]
    assert order == sorted(order)


def test_nothing_registers_over_the_table():
    with pytest.raises(ValueError, match="registered twice"):
        codes._code("shape", "shape", "another meaning")
    with pytest.raises(TypeError):
        CODES["new-code"] = CODES["shape"]  # type: ignore[index]
    assert CODES["shape"].summary == "shapes a layer cannot take"


def test_the_codes_the_invalid_fixtures_expect_are_registered():
    expected = {e.code for path in FIXTURES.glob("*.yaml") for e in expectations(path)}
    assert len(expected) >= 15
    assert expected - set(CODES) - set(all_checks()) == set()


# The codes the old SARIF table lacked, each from a spec that makes it, described from the table.
UNDESCRIBED_BEFORE = {
    "encoding": b"nnspec: 1\nname: caf\xe9\nlayers:\n  - {name: x, type: Input, size: [2]}\n",
    "yaml-value": b"nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [!!int two]}\n",
    "yaml-merge-key": b"nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2], <<: {a: 1}}\n",
    "invalid-file": b"nnspec: 1\nlayers:\n  - {name: x, type: Input, size: [2]}\n"
    b"  - {name: fc, type: Affine, out_shape: 3, W: {file: w.npy}}\n",
}


@pytest.mark.parametrize("code", sorted(UNDESCRIBED_BEFORE))
def test_sarif_describes_a_code_from_the_table(code, tmp_path, monkeypatch, capsys):
    (tmp_path / "spec.yaml").write_bytes(UNDESCRIBED_BEFORE[code])
    np.save(tmp_path / "w.npy", np.zeros((5, 3), np.float32))  # Affine's W from 2 inputs is (2, 3)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--format", "sarif", "spec.yaml"]) == 1
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert [result["ruleId"] for result in run["results"]] == [code]
    assert run["tool"]["driver"]["rules"] == [{"id": code, "shortDescription": {"text": CODES[code].summary}}]


def test_codes_command_lists_the_table(capsys):
    assert main(["codes"]) == 0
    rows = [line.split(None, 2) for line in capsys.readouterr().out.splitlines()[:-1]]
    assert [(row[0], row[1], row[2]) for row in rows] == [(c.id, c.stage, c.summary) for c in CODES.values()]
