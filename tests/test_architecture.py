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


def test_gevent_pools_only_in_the_scheduler():
    assert importers("gevent.pool") == {"runner/engine/scheduler.py"}


@pytest.mark.parametrize(
    "layer",
    [
        "runner/engine/",
        "runner/executors/",
        "runner/transport/",
        "runner/models.py",
        "runner/config.py",
        "runner/playbook/",
        "runner/inventory/",
    ],
)
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
    for leaf in ("runner/models.py", "runner/errors.py", "runner/tagged.py"):
        assert {n for n in MODULES[leaf] if n.startswith("runner")} == set(), leaf
    # the JSON form of variables knows the values YAML tags make (another leaf), only
    inside = {n for n in MODULES["runner/jsonvalues.py"] if n.startswith("runner")}
    assert {n.removeprefix("runner.tagged.") for n in inside} <= {
        "runner.tagged",
        "UnsafeText",
        "VaultValue",
    }


def test_the_run_configuration_knows_nothing_above_it():
    allowed = {"runner.errors", "runner.jsonvalues"}
    inside = {n.rsplit(".", 1)[0] if n.count(".") > 1 else n for n in MODULES["runner/config.py"]}
    assert {n for n in inside if n.startswith("runner")} <= allowed


def test_the_engine_never_imports_the_playbook_or_the_executors():
    for module, names in MODULES.items():
        if module.startswith("runner/engine/"):
            assert not {n for n in names if n.startswith(("runner.playbook", "runner.executors"))}


def test_nothing_below_the_cli_reads_click():
    for module, names in MODULES.items():
        if not module.startswith("runner/cli/"):
            assert not {n for n in names if n.split(".")[0] == "click"}, module


# -- size and cycles ------------------------------------------------------------------------

MAX_LINES = 400


def test_every_module_is_under_400_lines():
    long = {
        module: n
        for module in MODULES
        if (n := len((PACKAGE.parent / module).read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def module_name(module: str) -> str:
    name = module.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


NAMES = {module_name(m) for m in MODULES}


def runner_imports(module: str) -> set[str]:
    """The runner modules ``module`` imports, at the top or inside a function:
    ``from runner.playbook import modspec`` is runner.playbook.modspec, not the package."""
    out: set[str] = set()
    for node in ast.walk(ast.parse((PACKAGE.parent / module).read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in NAMES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names}
            out |= subs & NAMES
            if not subs <= NAMES and node.module in NAMES:
                out.add(node.module)
    return out


def import_cycles() -> list[set[str]]:
    """The strongly connected groups of runner's import graph (Tarjan), larger than one."""
    graph = {module_name(m): runner_imports(m) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycles_not_even_through_function_level_imports():
    """A function-level import that closes a cycle hides it: none is allowed."""
    assert import_cycles() == []


def test_nothing_in_the_runtime_imports_the_test_harness():
    harness = {m for m in MODULES if m.startswith("runner/testing/")}
    assert harness  # the check would be vacuous otherwise
    assert {m for m in importers("runner.testing") if m not in harness} == set()
