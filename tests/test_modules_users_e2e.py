"""user and group FOR REAL on this machine (the fleet's host logs in as root here), side by
side with the real ansible-playbook from the same starting state. Test accounts are named
rtest-* and removed before and after; the runs are serial (one host)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.system_side import (
    dump_task,
    read_registered,
    run_side_by_side,
    runner_recap,
    same_keys,
    same_values,
)

pytestmark = pytest.mark.machine_wide  # users, dpkg or /etc: see tests/shards.py

USERS = ("rtest-alice", "rtest-bob")
GROUPS = ("rtest-grp", "rtest-extra")
# openssl passwd -6 -salt runnersalt secret
HASH = "$6$runnersalt$FZ3iZ/p5gBp8H70gdKR7W25.IpSlngEXUjjT3cYPJw2owXfg4Qs2dqJsyZCww29KFd3O97SQBUPkftiReMUAK1"
REGISTERED = ("g1", "g2", "g3", "u1", "u2", "u3", "u4", "u5", "u6", "g4", "u7")

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - group: {name: rtest-grp, gid: 47011}
      register: g1
    - group: name=rtest-grp gid=47011
      register: g2
    - group: {name: rtest-extra, system: true}
      register: g3
    - user:
        name: rtest-alice
        uid: 47021
        group: rtest-grp
        groups: [rtest-extra]
        shell: /bin/sh
        home: "{{ home }}"
        comment: Alice
        password: "{{ hash }}"
      register: u1
    - user:
        name: rtest-alice
        uid: 47021
        group: rtest-grp
        groups: rtest-extra
        shell: /bin/sh
        comment: Alice
        password: "{{ hash }}"
      register: u2
    - user: {name: rtest-alice, shell: /bin/bash, groups: [rtest-grp], append: true}
      register: u3
    - user: {name: rtest-bob, create_home: false, system: true}
      register: u4
    - user: {name: rtest-bob, state: absent}
      register: u5
    - user: {name: rtest-bob, state: absent}
      register: u6
    - group: {name: rtest-extra, state: absent}
      register: g4
    - user: {name: rtest-alice, groups: [rtest-nosuch]}
      register: u7
      ignore_errors: true
""" + dump_task(REGISTERED)

CONVERGED = """\
- hosts: all
  gather_facts: false
  tasks:
    - group: {name: rtest-grp, gid: 47011}
    - user: {name: rtest-alice, uid: 47021, group: rtest-grp, shell: /bin/bash, comment: Alice,
             password: "{{ hash }}", groups: [rtest-grp], append: true}
    - user: {name: rtest-bob, state: absent}
    - group: {name: rtest-extra, state: absent}
"""

# from CONVERGED's end state: each task would change something
WOULD_CHANGE = """\
- hosts: all
  gather_facts: false
  tasks:
    - group: {name: rtest-extra}
    - group: {name: rtest-grp, gid: 47012}
    - user: {name: rtest-alice, shell: /bin/sh, comment: Changed}
    - user: {name: rtest-bob}
    - user: {name: rtest-alice, state: absent}
"""


def _cleanup() -> None:
    for name in USERS:
        subprocess.run(["userdel", "-r", "-f", name], capture_output=True)
    for name in GROUPS:
        subprocess.run(["groupdel", name], capture_output=True)


def _accounts(home: Path) -> dict[str, object]:
    def entries(db: str, names: tuple[str, ...]) -> list[str]:
        found = subprocess.run(["getent", db, *names], capture_output=True, text=True)
        return sorted(found.stdout.splitlines())

    return {
        "passwd": entries("passwd", USERS),
        "group": entries("group", GROUPS),
        "shadow": [line.split(":")[1] for line in entries("shadow", USERS)],
        "home": sorted(p.name for p in home.iterdir()) if home.exists() else None,
    }


def test_user_and_group_as_in_ansible(make_fleet, in_process, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("adding users needs root")
    fleet = make_fleet(1)
    host = fleet.names[0]
    home = tmp_path / "alice"
    ends: dict[str, dict[str, object]] = {}

    def reset(side: str) -> dict[str, str]:
        if side == "ansible":
            ends["runner"] = _accounts(home)
        _cleanup()
        return {"home": str(home), "hash": HASH}

    try:
        ours, mine, _, out_r, out_a = run_side_by_side(tmp_path, fleet, in_process, PLAY, reset)
        ends["ansible"] = _accounts(home)
        assert ends["runner"] == ends["ansible"]
        assert ends["runner"]["shadow"] == [HASH]
        assert ends["runner"]["group"] == ["rtest-grp:x:47011:rtest-alice"]
        assert mine[host]["changed"] == 8 and mine[host]["ignored"] == 1, mine
        regs_r, regs_a = read_registered(out_r, host), read_registered(out_a, host)
        keys = ("changed", "name", "state", "uid", "group", "gid", "home", "shell", "comment")
        for name in REGISTERED:
            same_keys(regs_r[name], regs_a[name], name)
            same_values(regs_r[name], regs_a[name], (*keys, "groups", "system", "append"), name)
        assert regs_r["u7"]["msg"] == "Group rtest-nosuch does not exist"

        converged = tmp_path / "converged.yml"
        converged.write_text(CONVERGED)
        args = ["-e", f"hash={HASH}", "-e", f"home={home}"]
        again = in_process("play", *fleet.args(), str(converged), "--json", *args)
        assert runner_recap(again.stdout)[host]["changed"] == 0, again

        before = _accounts(home)
        would = tmp_path / "would.yml"
        would.write_text(WOULD_CHANGE)
        check = in_process("play", *fleet.args(), str(would), "--json", "--check")
        assert runner_recap(check.stdout)[host] == {
            **runner_recap(check.stdout)[host],
            "changed": 5,
            "failed": 0,
        }, check
        assert _accounts(home) == before
    finally:
        _cleanup()
