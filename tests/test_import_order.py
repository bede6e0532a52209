"""The package's stages import one another in one direction only.

Each subpackage of nnspec may import the stages below it in ORDER, never one above it, so there is
no cycle between them and the tree reads bottom-up (the order is also written in nnspec/__init__.py's
docstring and README's Development section):

    core < files < layers < checks < spec < runtime < report < nnspec (the API and the CLI)

Every ``import`` and ``from ... import`` under nnspec/ counts, function-local ones too: an import
postponed into a function still ties the two modules together (it only hides a cycle from Python).
Imports under ``if TYPE_CHECKING:`` are exempt: they never run, and an annotation may name a type
from a later stage (a check judges the Spec it is given)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nnspec"

# Bottom to top. "nnspec" is the top level: nnspec/__init__.py, validation.py (load, validate), cli.py.
ORDER = ("core", "files", "layers", "checks", "spec", "runtime", "report", "nnspec")


def _module(path: Path, package: Path) -> str:
    parts = ["nnspec", *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str:
    """The stage a module belongs to: its subpackage under nnspec, or the top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ORDER else "nnspec"


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).split(".")[-1] == "TYPE_CHECKING":
            for child in node.body:
                exempt.update(id(n) for n in ast.walk(child))
    return exempt


def imports(package: Path = PACKAGE) -> list[tuple[str, str, int, str]]:
    """(importing module, imported module, line, imported name) for every nnspec import under ``package``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        module = _module(path, package)
        parent = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in exempt:
                continue
            if isinstance(node, ast.Import):
                found += [(module, a.name, node.lineno, "") for a in node.names if a.name.split(".")[0] == "nnspec"]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = parent.split(".")[: len(parent.split(".")) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                if target.split(".")[0] == "nnspec":
                    found += [(module, target, node.lineno, a.name) for a in node.names]
    return found


def against_the_order(package: Path = PACKAGE) -> list[str]:
    wrong = []
    for module, target, line, name in imports(package):
        if target == "nnspec" and name == "__version__":
            continue  # package metadata, in nnspec/__init__.py where setuptools reads it; that import runs nothing
        here, there = _stage(module), _stage(f"{target}.{name}" if target == "nnspec" else target)
        if ORDER.index(there) > ORDER.index(here):
            wrong.append(f"{module}:{line} ({here}) imports {target} {name} ({there})")
    return wrong


def test_the_stages_are_the_subpackages():
    present = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert present == set(ORDER) - {"nnspec"}, "a new subpackage needs its place in ORDER (and README's Development)"


def test_no_import_against_the_order():
    wrong = against_the_order()
    assert not wrong, "imports against the order " + " < ".join(ORDER) + ":\n" + "\n".join(wrong)


def test_no_cycle_between_modules():
    """Within a stage too, modules import one another one way. The one exception is registration:
    the catalog imports nnspec.layers on first use, whose modules register their layer types into it;
    that import is the catalog loading its entries, not a dependency of its code on theirs."""
    modules = {_module(p, PACKAGE) for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    for module, target, _, name in imports():
        imported = f"{target}.{name}" if f"{target}.{name}" in modules else target
        if imported != module and (module, imported) != ("nnspec.layers.catalog", "nnspec.layers"):
            graph.add_edge(module, imported)
    cycles = sorted(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles}"


def test_a_wrong_import_is_caught(tmp_path):
    """The check itself: a function-local import of the runner from core is reported; the same under
    TYPE_CHECKING, or an import downwards, is not."""
    package = tmp_path / "nnspec"
    for stage in ORDER[:-1]:
        (package / stage).mkdir(parents=True)
        (package / stage / "__init__.py").write_text("")
    (package / "__init__.py").write_text("__version__ = '0'\n")
    (package / "core" / "bad.py").write_text("def f():\n    from ..runtime import runner\n")
    (package / "core" / "fine.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import nnspec.spec\n"
    )
    (package / "report" / "down.py").write_text("from ..core.fine import x\nfrom .. import __version__\n")
    assert against_the_order(package) == ["nnspec.core.bad:2 (core) imports nnspec.runtime runner (runtime)"]


@pytest.mark.parametrize("stage", ORDER)
def test_every_stage_holds_modules(stage):
    """A stage in ORDER that maps no module is a name gone stale (a package renamed or removed)."""
    assert any(_stage(_module(p, PACKAGE)) == stage for p in PACKAGE.rglob("*.py"))
