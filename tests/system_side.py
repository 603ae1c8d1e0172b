"""Shared pieces of the system modules' differential tests: run one playbook with runner
and with the real ansible-playbook from the same starting state, and read back what each
registered.

Each playbook ends by writing the results it registered to ``{{ out }}/HOST.json``, so the
same playbook can later run native against bridged modules as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap

STANDINS = Path(__file__).resolve().parent / "data" / "standins"

# keys one tool registers and the other need not: bookkeeping, not the module's answer
BOOKKEEPING = frozenset(
    {"invocation", "warnings", "deprecations", "_ansible_no_log", "failed", "attempts", "exception"}
    | {"skip_reason", "false_condition", "skipped", "ansible_facts"}
)


def dump_task(names: Iterable[str]) -> str:
    """The playbook's last task: every registered result, as JSON, in OUT/HOST.json."""
    pairs = ", ".join(f"'{n}': {n}" for n in names)
    return (
        "    - name: keep what was registered\n"
        "      copy:\n"
        f'        content: "{{{{ {{{pairs}}} | to_json }}}}"\n'
        '        dest: "{{ out }}/{{ inventory_hostname }}.json"\n'
    )


def read_registered(out: Path, host: str) -> dict[str, Any]:
    return json.loads((out / f"{host}.json").read_text())


def same_keys(ours: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
    """The same result keys (bookkeeping aside) as Ansible registered."""
    mine = set(ours) - BOOKKEEPING
    other = set(theirs) - BOOKKEEPING
    assert mine == other, (where, sorted(mine - other), sorted(other - mine))


def same_values(ours: dict[str, Any], theirs: dict[str, Any], keys: Iterable[str], where: str):
    for key in keys:
        assert ours.get(key) == theirs.get(key), (where, key, ours.get(key), theirs.get(key))


def run_side_by_side(
    tmp_path: Path,
    fleet: Any,
    in_process: Callable[..., Any],
    playbook: str,
    reset: Callable[[str], dict[str, str]],
    *,
    ansible_env: dict[str, str] | None = None,
) -> tuple[Any, dict[str, dict[str, int]], dict[str, dict[str, int]], Path, Path]:
    """``reset(side)`` restores the starting state and returns the extra vars for that side
    ("runner" or "ansible"); runner runs first, then Ansible from the same state."""
    book = tmp_path / "play.yml"
    book.write_text(playbook)
    outs = {}
    for side in ("runner", "ansible"):
        outs[side] = tmp_path / f"out-{side}"
        outs[side].mkdir()
    extra = reset("runner")
    extra_args = [
        a for k, v in {**extra, "out": str(outs["runner"])}.items() for a in ("-e", f"{k}={v}")
    ]
    ours = in_process("play", *fleet.args(), str(book), "--json", *extra_args)
    assert ours.exit_code in (0, 2), ours
    extra = reset("ansible")
    extra_args = [
        a for k, v in {**extra, "out": str(outs["ansible"])}.items() for a in ("-e", f"{k}={v}")
    ]
    theirs = ansible_playbook(
        tmp_path,
        "-i",
        str(fleet.inventory),
        str(book),
        *extra_args,
        env=ansible_env,
        timeout=600,  # a dozen module runs on a loaded 2-core machine
    )
    assert theirs.returncode in (0, 2), theirs.stdout[-3000:] + theirs.stderr[-3000:]
    mine, other = runner_recap(ours.stdout), ansible_recap(theirs.stdout)
    same_recap(mine, other)
    return ours, mine, other, outs["runner"], outs["ansible"]
