"""Run the suite as N pytest processes side by side (``make test`` runs two).

Most of the suite waits on sshd, ansible-playbook and Redis rather than on the CPU, so two
processes on two cores finish in much less time than one. pytest-xdist cannot be used: its
workers talk to the controller through threads, which runner's gevent patch (the first
thing every test process does, as runner.entry does) turns into greenlets, and the worker
hangs (pytest-xdist issues #254 and #1069).

Each process gets ``RUNNER_TEST_SHARD=K/N``; tests/conftest.py then keeps only the test
files :func:`assign` gives to shard K. Whole files go to one shard, so a module's fixtures
(fleets, workers, a sudoers rule) are set up once. The files that change the one system
user (``SYSTEM_USER_FIXTURES``), and those marked ``machine_wide`` (users, dpkg, /etc), all go
to shard 0, so two never change the same thing at once.

    python tests/shards.py 2 -- .venv/bin/python -m pytest -q [ARGS]

prints each shard's output when it ends and exits non-zero when any shard failed.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

# A test that starts sshd, runner or ansible-playbook costs far more than a unit test.
HEAVY_FIXTURES = frozenset({"sshd", "user_sshd", "sudo_user", "make_fleet", "cli", "in_process"})
HEAVY, LIGHT = 10, 1
ANSIBLE = 60  # a test beside the real ansible-playbook
# The fixtures that change the local user runner-e2e, its password and a sudoers rule.
# Test files that change other machine-wide things (users, dpkg, /etc) say so with
# ``pytestmark = pytest.mark.machine_wide``; both kinds go to shard 0.
SYSTEM_USER_FIXTURES = frozenset({"user_sshd", "sudo_user"})
NO_TESTS = 5  # pytest's exit code when a shard got nothing to run (a narrow PYTEST_ARGS)


@functools.cache
def names_system_user(path: Path) -> bool:
    """Whether a test file names one of SYSTEM_USER_FIXTURES at all: some ask for them by
    name at run time (``request.getfixturevalue``), which collection cannot see."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    return any(name in text for name in SYSTEM_USER_FIXTURES)


@functools.cache
def runs_ansible(path: Path) -> bool:
    """Whether a test file runs the real ansible-playbook (a differential test): its
    tests cost a minute each, not seconds."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    return "ansible_playbook(" in text or "run_side_by_side(" in text


def weight(fixtures: Iterable[str], path: Path | None = None) -> int:
    if path is not None and runs_ansible(path):
        return ANSIBLE
    return HEAVY if HEAVY_FIXTURES & set(fixtures) else LIGHT


def assign(weights: Mapping[str, int], shards: int, pinned: Iterable[str] = ()) -> dict[str, int]:
    """file -> shard: the pinned files on shard 0, the rest heaviest first, each to the
    lightest shard so far (ties by file name, so every process computes the same answer).

    >>> assign({"a": 5, "b": 4, "c": 3, "d": 2}, 2)
    {'a': 0, 'b': 1, 'c': 1, 'd': 0}
    >>> assign({"a": 5, "b": 4, "c": 3}, 2, pinned=["c"])
    {'c': 0, 'a': 1, 'b': 0}
    """
    load = [0] * shards
    out: dict[str, int] = {}
    for name in sorted(set(pinned) & set(weights)):
        out[name] = 0
        load[0] += weights[name]
    for name in sorted((n for n in weights if n not in out), key=lambda n: (-weights[n], n)):
        shard = min(range(shards), key=lambda k: (load[k], k))
        out[name] = shard
        load[shard] += weights[name]
    return out


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
