"""Native modules side by side with the same modules run through the Ansible module bridge
(ansible-core's own module files, forced with RUNNER_BRIDGE_MODULES), on the real sshd
fleet, from the same starting state: the same recap (changed counts included), the same
registered keys and the values that matter, the same files / state on the host.

The playbooks are the module tests' own (tests/test_modules_files_e2e.py,
tests/test_modules_system_e2e.py, tests/test_modules_users_e2e.py), each run twice by
runner only (in_process; no ansible-playbook): once native, once bridged. A difference is
a bug in the native module (those tests already pin the native side against
ansible-playbook).

Compared here (bridged in the second run): lineinfile, blockinfile, replace, stat, slurp,
find, systemd, systemd_service, ping, getent, hostname, wait_for, group, user, file, apt,
cron.
Native in both runs, because the bridge refuses them (they need Ansible's controller-side
action plugin, runner.playbook.bridge.locate): copy, template, fetch, assemble, service,
package, command, shell. Not compared: setup (facts are gathered, not a change). To extend: add a playbook and the modules it names to a test below.
authorized_key, sysctl, mount (ansible.posix, tests/posix_side.py), git and service_facts
are compared with run_native_and_bridged in their own files
(tests/test_modules_{sshkeys,sysctl,mount,git,hostwait}_e2e.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests import test_modules_apt_e2e as apt
from tests import test_modules_system_e2e as system
from tests import test_modules_users_e2e as users
from tests.system_side import BOOKKEEPING, STANDINS, dump_task, read_registered, runner_recap
from tests.test_file_module_ansible import STEPS
from tests.test_modules_apt_e2e import apt_repo  # noqa: F401 (the fixture)
from tests.test_modules_files_e2e import PLAYBOOK as FILES_PLAY
from tests.test_modules_files_e2e import compare_roots, seed, seed_sources

pytestmark = [pytest.mark.sshd, pytest.mark.machine_wide]

MODES = ("native", "bridged")

# Every bridged run also writes whether the module's result came from Ansible's module
# (Ansible's modules register 'invocation'; runner's own do not): proof that the bridge ran.
PROOF_TASK = """\
    - name: which implementation ran
      changed_when: false
      copy:
        content: "{{{{ {probe}.invocation is defined }}}}"
        dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}.bridged"
"""


def _bridge_ready() -> None:
    from runner.playbook.bridge import Bridge

    if Bridge().ansible_dir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ansible-core is a test dependency and is not installed")
        pytest.skip("needs ansible-core installed for the bridge")


def run_native_and_bridged(
    tmp_path: Path,
    fleet: Any,
    in_process: Callable[..., Any],
    playbook: str,
    reset: Callable[[str], dict[str, str]],
    bridged: Sequence[str],
    probe: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> tuple[dict[str, dict[str, dict[str, int]]], dict[str, Path]]:
    """Run ``playbook`` natively, then with ``bridged`` forced through the bridge, each from
    the state ``reset(mode)`` makes (it returns that run's extra vars). Returns the recaps
    and each mode's OUT folder, after checking the recaps are equal and which
    implementation answered the task registered as ``probe``. ``env``: more environment
    for both runs (ANSIBLE_COLLECTIONS_PATH for a collection's modules)."""
    _bridge_ready()
    book = tmp_path / "compare.yml"
    book.write_text(playbook + PROOF_TASK.format(probe=probe))
    recaps, outs = {}, {}
    for mode in MODES:
        outs[mode] = tmp_path / f"out-{mode}"
        outs[mode].mkdir()
        extra = {**reset(mode), "out": str(outs[mode])}
        args = [a for k, v in extra.items() for a in ("-e", f"{k}={v}")]
        forced = {"RUNNER_BRIDGE_MODULES": ",".join(bridged) if mode == "bridged" else None}
        res = in_process(
            "play",
            *fleet.args(),
            str(book),
            "--json",
            *args,
            env={**(env or {}), **forced},
            timeout=timeout,
        )
        assert res.exit_code in (0, 2), (mode, res)
        recaps[mode] = runner_recap(res.stdout)
        for host in fleet.names:
            ran = (outs[mode] / f"{host}.bridged").read_text().strip().lower()
            assert ran == ("true" if mode == "bridged" else "false"), (mode, host, ran)
    assert recaps["native"] == recaps["bridged"]
    return recaps, outs


def compare_registered(
    outs: dict[str, Path], host: str, names: Sequence[str], keys: Sequence[str], **skip: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same keys (bookkeeping aside) and the same values of ``keys`` in each result
    registered as one of ``names``; ``skip={name: (keys...)}`` leaves documented
    differences out of that result."""
    native, bridged = (read_registered(outs[mode], host) for mode in MODES)
    for name in names:
        ours, theirs = native[name], bridged[name]
        if not isinstance(ours, dict):
            assert ours == theirs, (name, ours, theirs)
            continue
        left_out = set(skip.get(name, ()))
        mine = set(ours) - BOOKKEEPING - left_out
        other = set(theirs) - BOOKKEEPING - left_out
        assert mine == other, (name, sorted(mine - other), sorted(other - mine))
        for key in keys:
            if key not in left_out:
                assert ours.get(key) == theirs.get(key), (name, key, ours.get(key), theirs.get(key))
    return native, bridged


def test_file_edit_modules_native_as_bridged(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    seed_sources(tmp_path)
    roots = {mode: tmp_path / f"root-{mode}" for mode in MODES}

    def reset(mode: str) -> dict[str, str]:
        seed(roots[mode], fleet.names)
        return {"root": str(roots[mode])}

    bridged = ("lineinfile", "blockinfile", "replace", "stat", "slurp", "find")
    recaps, _ = run_native_and_bridged(
        tmp_path, fleet, in_process, FILES_PLAY, reset, bridged, probe="st_file"
    )
    assert recaps["native"][fleet.names[0]]["changed"] == 14, recaps
    # the files left, modes included, and results.json (the registered values that matter)
    compare_roots(roots["native"], roots["bridged"])


def test_systemd_native_as_bridged(make_fleet, in_process, tmp_path):
    """systemctl is the recording stand-in (tests/data/standins/systemctl), for both."""
    fleet = make_fleet(1)
    host = fleet.names[0]
    states = {mode: tmp_path / f"units-{mode}" for mode in MODES}

    def reset(mode: str) -> dict[str, str]:
        for name in ("app", "other"):
            units = states[mode] / host / "units"
            units.mkdir(parents=True, exist_ok=True)
            (units / f"{name}.service").write_text("[Service]\nExecStart=/bin/true\n")
        return {"bin": str(STANDINS), "state": str(states[mode])}

    bridged = ("systemd", "systemd_service")  # service: refused by the bridge, native in both
    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, system.SYSTEMD_PLAY, reset, bridged, probe="s1"
    )
    assert recaps["native"][host]["changed"] == 8, recaps
    native, bridged_regs = compare_registered(
        outs, host, system.SYSTEMD_REGISTERED, ("changed", "name", "state", "enabled", "msg")
    )
    for name in system.SYSTEMD_REGISTERED:
        status_n, status_b = native[name].get("status", {}), bridged_regs[name].get("status", {})
        for key in ("ActiveState", "UnitFileState", "LoadState"):
            assert status_n.get(key) == status_b.get(key), (name, key)
    assert system._unit_state(states["native"], host) == system._unit_state(states["bridged"], host)


def test_ping_getent_hostname_wait_for_native_as_bridged(make_fleet, in_process, tmp_path):
    """hostname runs against the hostnamectl stand-in only: the container keeps its name."""
    fleet = make_fleet(1)
    host = fleet.names[0]
    states = {mode: tmp_path / f"hostname-{mode}" for mode in MODES}

    def reset(mode: str) -> dict[str, str]:
        states[mode].mkdir()
        for kind in ("transient", "static"):
            (states[mode] / kind).write_text("web-old\n")
        return {"bin": str(STANDINS), "state": str(states[mode]), "sshport": str(fleet.server.port)}

    bridged = ("ping", "getent", "hostname", "wait_for")
    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, system.HOST_PLAY, reset, bridged, probe="p1"
    )
    assert recaps["native"][host]["changed"] == 2, recaps
    for mode in MODES:  # each mode has its own folder: compare paths as STATE/...
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(states[mode]), "STATE"))
    names = ("p1", "p2", "e1", "e3", "e4", "h1", "h2", "w1", "w2", "w3", "w4", "w5")
    keys = ("changed", "ping", "msg", "name", "diff", "state", "path", "port", "search_regex")
    keys += ("mode", "size", "owner", "match_groups", "match_groupdict")
    compare_registered(outs, host, (*names, "root_home", "has_root_group"), keys)
    for kind in ("transient", "static"):
        assert (states["native"] / kind).read_text() == (states["bridged"] / kind).read_text()


# user and group for real: own account names and ids, so that a concurrent run of
# test_modules_users_e2e.py (rtest-*, 470xx) does not meet these.
def _own(text: str) -> str:
    return text.replace("rtest-", "rtestnb-").replace("470", "471")


def _cleanup_users() -> None:
    for name in users.USERS:
        subprocess.run(["userdel", "-r", "-f", _own(name)], capture_output=True)
    for name in users.GROUPS:
        subprocess.run(["groupdel", _own(name)], capture_output=True)


def _accounts(home: Path) -> dict[str, object]:
    def entries(db: str, names: tuple[str, ...]) -> list[str]:
        found = subprocess.run(
            ["getent", db, *(_own(n) for n in names)], capture_output=True, text=True
        )
        return sorted(found.stdout.splitlines())

    return {
        "passwd": entries("passwd", users.USERS),
        "group": entries("group", users.GROUPS),
        "shadow": [line.split(":")[1] for line in entries("shadow", users.USERS)],
        "home": sorted(p.name for p in home.iterdir()) if home.exists() else None,
    }


def test_user_and_group_native_as_bridged(make_fleet, in_process, tmp_path):
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("adding users needs root and useradd")
    fleet = make_fleet(1)
    host = fleet.names[0]
    home = tmp_path / "alice"
    ends: dict[str, dict[str, object]] = {}

    def reset(mode: str) -> dict[str, str]:
        if mode == "bridged":
            ends["native"] = _accounts(home)
            shutil.rmtree(home, ignore_errors=True)
        _cleanup_users()
        return {"home": str(home), "hash": users.HASH}

    try:
        recaps, outs = run_native_and_bridged(
            tmp_path, fleet, in_process, _own(users.PLAY), reset, ("group", "user"), probe="u1"
        )
        ends["bridged"] = _accounts(home)
    finally:
        _cleanup_users()
    assert ends["native"] == ends["bridged"]
    assert recaps["native"][host]["changed"] == 8, recaps
    keys = ("changed", "name", "state", "uid", "group", "gid", "home", "shell", "comment")
    compare_registered(outs, host, users.REGISTERED, (*keys, "groups", "system", "append", "msg"))


FILE_KEYS = ("changed", "msg", "path", "dest", "src", "state", "mode", "owner", "size")


def test_file_native_as_bridged(make_fleet, in_process, tmp_path):
    """test_file_module_ansible.py's steps, each a task on an sshd host."""
    from tests.test_file_module_ansible import snapshot

    fleet = make_fleet(1)
    host = fleet.names[0]
    roots = {mode: tmp_path / f"f-{mode[0]}" for mode in MODES}  # one length: link sizes
    tasks = [
        {"file": {k: v.replace("{r}", "{{ r }}") if isinstance(v, str) else v
                  for k, v in step.items()}, "register": f"s{i}", "ignore_errors": True}
        for i, step in enumerate(STEPS)
    ]  # fmt: skip
    names = [f"s{i}" for i in range(len(STEPS))]
    pairs = ", ".join(f"'{n}': {n}" for n in names)
    dump = {
        "copy": {"content": "{{ {" + pairs + "} | to_json }}",
                 "dest": "{{ out }}/{{ inventory_hostname }}.json"},
    }  # fmt: skip
    # flow-style tasks (JSON is YAML) in a YAML play, which PROOF_TASK extends
    play = "- hosts: all\n  gather_facts: false\n  tasks:\n" + "".join(
        f"    - {json.dumps(task)}\n" for task in [*tasks, dump]
    )

    def reset(mode: str) -> dict[str, str]:
        roots[mode].mkdir()
        (roots[mode] / "data").write_text("x\n")
        return {"r": str(roots[mode])}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, play, reset, ("file",), probe="s0"
    )
    for mode in MODES:
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(roots[mode]), "R"))
    native, bridged = (read_registered(outs[mode], host) for mode in MODES)
    for name in names:
        shown = [{k: r[k] for k in FILE_KEYS if k in r} for r in (native[name], bridged[name])]
        if native[name].get("failed"):  # a failure's changed is runner's own: always false
            shown = [{k: v for k, v in s.items() if k != "changed"} for s in shown]
        assert shown[0] == shown[1], (name, STEPS[int(name[1:])])
    assert snapshot(roots["native"]) == snapshot(roots["bridged"])


def test_apt_native_as_bridged(make_fleet, in_process, tmp_path, apt_repo):  # noqa: F811
    """test_modules_apt_e2e.py's dummy packages from a local file repository; Ansible's apt
    needs python3-apt, which the system's python has."""
    fleet = make_fleet(1)
    host = fleet.names[0]
    ends: dict[str, dict[str, str]] = {}

    def reset(mode: str) -> dict[str, str]:
        if mode == "bridged":
            ends["native"] = apt._installed()
        apt._purge()
        return {**apt_repo, "ansible_python_interpreter": "/usr/bin/python3"}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, apt.APT_PLAY, reset, ("apt",), probe="a1"
    )  # package: refused by the bridge, native in both
    ends["bridged"] = apt._installed()
    assert ends["native"] == ends["bridged"] and "runner-test-gamma" in ends["native"]
    assert recaps["native"][host]["changed"] == 7, recaps
    names = [n for n in apt.REGISTERED if n != "a11"]  # a11: apt's own failure wording
    compare_registered(outs, host, names, ("changed", "cache_updated", "cache_update_time"))
    failed = [read_registered(outs[mode], host)["a11"] for mode in MODES]
    assert [r.get("failed") for r in failed] == [True, True], failed


def test_cron_file_native_as_bridged(make_fleet, in_process, tmp_path):
    """Ansible's cron asks for the crontab binary even for a cron_file, which it then
    edits itself; this container has none, so a stand-in ``crontab`` (does nothing) is
    first on PATH for both runs."""
    fleet = make_fleet(1)
    host = fleet.names[0]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "crontab").chmod(0o755)
    files = {mode: tmp_path / f"cron-{mode}" for mode in MODES}
    play = system.CRON_PLAY.replace(
        "  gather_facts: false\n",
        "  gather_facts: false\n  environment:\n"
        f'    PATH: "{bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n',
    ) + dump_task(["c1", "c2", "c5"])

    def reset(mode: str) -> dict[str, str]:
        return {"file": str(files[mode])}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, play, reset, ("cron",), probe="c1"
    )
    assert recaps["native"][host]["changed"] == 5, recaps  # 4 cron tasks and the dump
    for mode in MODES:  # each mode has its own file: compare its name as FILE
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(files[mode]), "FILE"))
    compare_registered(outs, host, ("c1", "c2", "c5"), ("changed", "jobs", "envs", "cron_file"))
    assert files["native"].read_text() == files["bridged"].read_text()
    assert "#Ansible: nightly" in files["native"].read_text()
