"""Run the suite as N pytest processes side by side (``make test`` runs two).

Most of the suite waits on sshd, ansible-playbook and Redis rather than on the CPU, so two
processes on two cores finish in much less time than one. pytest-xdist cannot be used: its
workers talk to the controller through threads, which runner's gevent patch (the first
thing every test process does, as runner.entry does) turns into greenlets, and the worker
hangs (pytest-xdist issues #254 and #1069).

Each process gets ``RUNNER_TEST_SHARD=K/N``; tests/conftest.py then keeps only the test
files :func:`assign` gives to shard K, by :func:`weight` (what a test file costs, read from
its source: no list of files to keep up to date). Whole files go to one shard, so a module's
fixtures (fleets, workers, a sudoers rule) are set up once. No file has to be on a given
shard: each shard has its own local user (:func:`system_user`: user_sshd's logins, the
sudo_user rule and password), and the files marked ``machine_wide`` (users, dpkg, /etc) take
one machine-wide lock (tests/conftest.py ``machine_lock``), so two never run at once.

    python tests/shards.py 2 -- .venv/bin/python -m pytest -q [ARGS]

prints each shard's output when it ends and exits non-zero when any shard failed.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

# What a test costs, in about seconds on a quiet 2-core machine (see weight()).
UNIT = 0.05
SSHD = 1.0  # runner against a real sshd, or a runner process
ANSIBLE = 6.0  # a real Ansible command besides: a Python process loading ansible-core
HYPOTHESIS = 1.0  # a hundred generated examples
HEAVY_FIXTURES = frozenset({"sshd", "user_sshd", "sudo_user", "make_fleet", "cli", "in_process"})
# The commands that start ansible-core, and the shared helpers that run them
ANSIBLE_TOOLS = frozenset(
    {"ansible", "ansible-playbook", "ansible-inventory", "ansible-vault", "ansible-config"}
)
ANSIBLE_HELPERS = frozenset({"ansible_playbook", "run_side_by_side", "ansible_modules"})
NO_TESTS = 5  # pytest's exit code when a shard got nothing to run (a narrow PYTEST_ARGS)


def _names_in(node: ast.AST) -> set[str]:
    """The names a definition refers to: ``x`` and the ``y`` of ``mod.y``."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
    return found


def _names_a_tool(node: ast.AST) -> bool:
    """Whether a definition spells an Ansible command (``"ansible-playbook"``,
    ``with_name("ansible")``, ``BIN / "ansible-vault"``)."""
    return any(
        isinstance(sub, ast.Constant)
        and isinstance(sub.value, str)
        and sub.value.rsplit("/", 1)[-1] in ANSIBLE_TOOLS
        for sub in ast.walk(node)
    )


@functools.cache
def _definitions(path: Path) -> tuple[dict[str, tuple[set[str], bool]], frozenset[str]]:
    """name -> (the names it refers to, whether it spells an Ansible command) for every
    function (nested ones too: a test's own ``reset``) and module-level assignment; and
    which of those are top-level (what other files can import)."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return {}, frozenset()
    out: dict[str, tuple[set[str], bool]] = {}
    top: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [node.name]
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        else:
            continue
        if node in tree.body:
            top.update(names)
        used, spells = _names_in(node), _names_a_tool(node)
        for name in names:
            old_used, old_spells = out.get(name, (set(), False))
            out[name] = (old_used | used, old_spells or spells)
    return out, frozenset(top)


@functools.cache
def ansible_runners(folder: Path) -> dict[Path, frozenset[str]]:
    """file -> the names it can use that run a real Ansible command: its own
    (:func:`ansible_definitions`) and the helpers it can import from the other files."""
    found = ansible_definitions(folder)
    exported = set(ANSIBLE_HELPERS).union(*(found[path] & _definitions(path)[1] for path in found))
    return {
        path: frozenset(names | (exported - set(_definitions(path)[0])))
        for path, names in found.items()
    }


@functools.cache
def ansible_definitions(folder: Path) -> dict[Path, frozenset[str]]:
    """file -> the names it defines that run a real Ansible command, directly or through
    one another (a test calling a helper that calls ansible_playbook; a constant naming
    the command). A name a file does not define is looked up among the other files'
    top-level names, as the tests import their helpers; a new file's helpers count
    without anyone listing them."""
    files = {path: _definitions(path) for path in sorted(folder.glob("*.py"))}
    found: dict[Path, set[str]] = {
        path: {name for name, (_, spells) in defs.items() if spells}
        for path, (defs, _) in files.items()
    }
    grew = True
    while grew:
        grew = False
        exported = set(ANSIBLE_HELPERS).union(
            *(found[path] & top for path, (_, top) in files.items())
        )
        for path, (defs, _) in files.items():
            known = found[path] | (exported - set(defs))
            for name, (used, _) in defs.items():
                if name not in found[path] and used & known:
                    found[path].add(name)
                    grew = True
    return {path: frozenset(names) for path, names in found.items()}


def runs_ansible(path: Path | None, names: Iterable[str]) -> set[str]:
    """Which of ``names`` (fixtures of a test in ``path``) run a real Ansible command."""
    if path is None or not path.name.startswith("test_"):  # not runner/'s doctests
        return set()
    return set(names) & ansible_runners(path.parent).get(path, frozenset())


def body_runs_ansible(path: Path | None, name: str, fixtures: Iterable[str]) -> bool:
    """Whether test ``name``'s own body runs a real Ansible command: it spells one, or
    calls something that does other than its fixtures (a fixture's own cost is its own)."""
    if path is None or not path.name.startswith("test_"):
        return False
    used, spells = _definitions(path)[0].get(name, (set(), False))
    return spells or bool(runs_ansible(path, used - set(fixtures)))


def weight(
    fixtures: Iterable[str],
    path: Path | None = None,
    name: str = "",
    hypothesis: bool = False,
    shared: Iterable[str] = (),
) -> float:
    """What test ``name`` of ``path`` costs, from its source: a real Ansible command
    (through the test function or one of its fixtures) costs ANSIBLE, runner against sshd
    SSHD, a hypothesis test (a hundred examples) HYPOTHESIS, anything else UNIT. The
    ``shared`` fixtures (module or session scope) run once for a whole file: their
    Ansible command is counted once per file by the caller (:func:`shared_cost`), not here.

    >>> weight({"tmp_path"}), weight({"make_fleet", "sshd"}), weight(set(), hypothesis=True)
    (0.05, 1.0, 1.05)
    """
    fixtures = set(fixtures)
    cost = UNIT
    if body_runs_ansible(path, name, fixtures) or runs_ansible(path, fixtures - set(shared)):
        cost = ANSIBLE + SSHD
    elif HEAVY_FIXTURES & fixtures:
        cost = SSHD
    return cost + (HYPOTHESIS if hypothesis else 0.0)


def shared_cost(path: Path | None, shared: Iterable[str]) -> float:
    """The once-a-file cost of a file's module- and session-scoped fixtures that run a real
    Ansible command (tests/test_textedit.py runs its 97 cases through Ansible in one)."""
    return ANSIBLE * len(runs_ansible(path, shared))


def assign(weights: Mapping[str, float], shards: int) -> dict[str, int]:
    """file -> shard: heaviest first, each to the lightest shard so far (ties by file
    name, so every process computes the same answer).

    >>> assign({"a": 5, "b": 4, "c": 3, "d": 2}, 2)
    {'a': 0, 'b': 1, 'c': 1, 'd': 0}
    """
    load = [0.0] * shards
    out: dict[str, int] = {}
    for name in sorted(weights, key=lambda n: (-weights[n], n)):
        shard = min(range(shards), key=lambda k: (load[k], k))
        out[name] = shard
        load[shard] += weights[name]
    return out


def system_user(value: str | None) -> str:
    """The local user of shard ``value`` (``RUNNER_TEST_SHARD``): runner-e2e for shard 0
    and for a run without shards, runner-e2e-K for shard K.

    >>> system_user(None), system_user("0/2"), system_user("1/2")
    ('runner-e2e', 'runner-e2e', 'runner-e2e-1')
    """
    shard = parse(value)[0] if value else 0
    return "runner-e2e" if shard == 0 else f"runner-e2e-{shard}"


def parse(value: str) -> tuple[int, int]:
    """``"1/2"`` -> (1, 2)."""
    k, _, n = value.partition("/")
    shard, shards = int(k), int(n)
    if not 0 <= shard < shards:
        raise ValueError(f"RUNNER_TEST_SHARD={value!r}: expected K/N with 0 <= K < N")
    return shard, shards


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: shards.py N -- COMMAND...", file=sys.stderr)
        return 2
    shards, command = int(argv[0]), argv[2:]
    if shards <= 1:
        return subprocess.call(command)
    logs, procs = [], []
    for k in range(shards):
        log = tempfile.TemporaryFile("w+")
        env = {**os.environ, "RUNNER_TEST_SHARD": f"{k}/{shards}"}
        procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
        logs.append(log)
    print(f"running the suite as {shards} processes; each one's output follows when it ends")
    codes = []
    for k, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        codes.append(proc.wait())
        log.seek(0)
        print(f"===== shard {k}/{shards}: exit {codes[-1]} =====", flush=True)
        sys.stdout.write(log.read())
        sys.stdout.flush()
    ran = [c for c in codes if c != NO_TESTS]
    if not ran:
        return NO_TESTS
    return next((c for c in ran if c != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
