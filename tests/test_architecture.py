"""The arrows STYLE.md forbids, checked on every module's imports (static, via ast)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "runner"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


MODULES = {str(p.relative_to(PACKAGE.parent)): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def importers(prefix: str) -> set[str]:
    return {
        module
        for module, names in MODULES.items()
        if any(n == prefix or n.startswith(prefix + ".") for n in names)
    }


def test_paramiko_only_in_the_ssh_transport():
    assert importers("paramiko") <= {m for m in MODULES if m.startswith("runner/transport/ssh/")}
    assert importers("paramiko")  # the check would be vacuous otherwise


def test_rich_only_in_output():
    assert {m for m in importers("rich") if not m.startswith("runner/output/")} == set()


def test_only_entry_patches_gevent():
    assert importers("gevent.monkey") == {"runner/entry.py"}


def test_gevent_pools_only_in_engine():
    assert importers("gevent.pool") == {"runner/engine.py"}


@pytest.mark.parametrize("layer", ["runner/engine.py", "runner/transport/", "runner/models.py"])
def test_core_layers_never_reach_up(layer):
    for module, names in MODULES.items():
        if not module.startswith(layer):
            continue
        upward = {
            n
            for n in names
            if n.split(".")[0] in ("click", "rich") or n.startswith(("runner.output", "runner.cli"))
        }
        assert upward == set(), f"{module} imports {upward}"


def test_models_and_errors_are_leaves():
    for leaf in ("runner/models.py", "runner/errors.py"):
        assert {n for n in MODULES[leaf] if n.startswith("runner")} == set(), leaf
