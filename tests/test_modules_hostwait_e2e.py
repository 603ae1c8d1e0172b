"""service_facts, wait_for_connection and reboot on the real sshd fleet.

service_facts: natively and through the bridge (ansible-core's module) from the same
machine, on this container's SysV init scripts (``service --status-all``); and natively
with the RECORDING STAND-IN ``systemctl`` (tests/data/standins/systemctl) first on PATH,
which says systemd runs (``is-system-running``) and lists its units.

reboot (Ansible's is an action plugin, which the bridge cannot run): the reboot command is
a RECORDING STAND-IN ``shutdown`` (tests/data/standins/shutdown) first on PATH; it asks
for the "reboot", which the test carries out on an sshd of its own: its sessions are
killed (so the connection runner held is dead), the boot id (a file the play's
``boot_time_command`` reads) changes, and the sshd starts again on the same port a little
later. The play goes on over a new connection.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from runner.testing.fleet import SSHServer, free_port
from tests.system_side import STANDINS, dump_task, read_registered, runner_recap
from tests.test_faults_e2e import signal_sessions
from tests.test_native_vs_bridge_e2e import MODES, run_native_and_bridged

pytestmark = pytest.mark.sshd

PATH = "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _sysv_states() -> dict[str, str]:
    done = subprocess.run(["service", "--status-all"], capture_output=True, text=True)
    return dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r"^\s*\[ ([+-]) \]\s+(.+)$", done.stdout, re.M)
    )


def test_service_facts_native_as_bridged(make_fleet, in_process, tmp_path):
    if not os.path.isdir("/etc/init.d") or subprocess.run(["which", "service"]).returncode:
        pytest.skip("needs SysV's service command and /etc/init.d")
    fleet = make_fleet(1)
    host = fleet.names[0]
    play = (
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - service_facts:\n      register: f1\n"
        "    - set_fact: {seen: '{{ ansible_facts.services | length }}'}\n"
    ) + dump_task(["f1", "seen"])
    before = _sysv_states()
    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, play, lambda mode: {}, ("service_facts",), probe="f1"
    )
    steady = {
        k for k, v in _sysv_states().items() if before.get(k) == v
    }  # not (re)started meanwhile
    native, bridged = (read_registered(outs[mode], host) for mode in MODES)
    ours, theirs = (r["f1"]["ansible_facts"]["services"] for r in (native, bridged))
    assert sorted(ours) == sorted(theirs) and ours, (ours, theirs)
    for name in steady:
        assert ours[name] == theirs[name], name
    assert int(native["seen"]) == int(bridged["seen"]) == len(ours)
    assert recaps["native"][host]["changed"] == 1  # the dump


def test_service_facts_from_systemctl_standin(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    host = fleet.names[0]
    state = tmp_path / "units" / host
    for name in ("app", "idle", "hidden"):
        (state / "units").mkdir(parents=True, exist_ok=True)
        (state / "units" / f"{name}.service").write_text("[Service]\nExecStart=/bin/true\n")
    (state / "active").mkdir()
    (state / "enabled").mkdir()
    (state / "active" / "app").write_text("active\n")
    (state / "enabled" / "app").write_text("enabled\n")
    (state / "enabled" / "idle").write_text("enabled\n")
    (state / "enabled" / "hidden").write_text("disabled\n")  # not loaded: list-unit-files only
    book = tmp_path / "play.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  environment:\n"
        f'    PATH: "{PATH}"\n'
        f'    SYSTEMCTL_STANDIN: "{tmp_path}/units/{{{{ inventory_hostname }}}}"\n'
        "  tasks:\n    - service_facts:\n"
        "    - assert: {that: \"ansible_facts.services['app.service'].state == 'running'\"}\n"
        + dump_task(["s"]).replace("'s': s", "'s': ansible_facts.services")
    )
    done = in_process(
        "play", *fleet.args(), str(book), "--json", "-e", f"bin={STANDINS}", "-e", f"out={tmp_path}"
    )
    assert done.exit_code == 0, done
    services = json.loads((tmp_path / f"{host}.json").read_text())["s"]
    systemd = {k: v for k, v in services.items() if v["source"] == "systemd"}
    assert systemd == {
        "app.service": {
            "name": "app.service",
            "state": "running",
            "status": "enabled",
            "source": "systemd",
        },
        "idle.service": {
            "name": "idle.service",
            "state": "stopped",
            "status": "enabled",
            "source": "systemd",
        },
        "hidden.service": {
            "name": "hidden.service",
            "state": "inactive",
            "status": "disabled",
            "source": "systemd",
        },
    }
    calls = (state / "calls").read_text().splitlines()
    assert "show hidden.service --property=ActiveState" in calls, calls  # the unit not loaded


REBOOT_PLAY = f"""\
- hosts: all
  gather_facts: false
  environment:
    PATH: "{PATH}"
    REBOOT_STANDIN: "{{{{ state }}}}"
  tasks:
    - wait_for_connection: {{timeout: 30}}
      register: w1
    - reboot: {{boot_time_command: "cat {{{{ state }}}}/boot_id", reboot_timeout: 60, msg: runner test, test_command: "test -f {{{{ state }}}}/boot_id"}}
      register: r1
    - command: cat {{{{ state }}}}/boot_id
      register: after
    - reboot: {{boot_time_command: "cat {{{{ state }}}}/boot_id"}}
      check_mode: true
      register: r2
""" + dump_task(["w1", "r1", "after", "r2"])


def test_reboot_drops_the_connection_and_reconnects(
    make_fleet, in_process, tmp_path, ssh_root, client_key
):
    server = SSHServer(ssh_root / f"reboot-{time.monotonic_ns()}", client_key).start()
    state = tmp_path / "state"
    state.mkdir()
    (state / "boot_id").write_text("first-boot\n")
    restarted: list[int] = []

    def reboot_when_asked() -> None:
        """What a reboot does to the host's sshd: sessions gone, back a little later."""
        deadline = time.monotonic() + 120
        while not (state / "requested").exists():
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        old = server.proc.pid if server.proc else 0
        signal_sessions(server, signal.SIGKILL)
        server.stop()
        (state / "boot_id").write_text("second-boot\n")
        time.sleep(2)  # down for a while: runner's first tries are refused
        server.start()
        restarted.append(old)

    watcher = threading.Thread(target=reboot_when_asked, daemon=True)
    watcher.start()
    try:
        fleet = make_fleet(1, server=server, prefix="rb")
        host = fleet.names[0]
        book = tmp_path / "play.yml"
        book.write_text(REBOOT_PLAY)
        done = in_process(
            "play", *fleet.args(), str(book), "--json",
            "-e", f"bin={STANDINS}", "-e", f"state={state}", "-e", f"out={tmp_path}",
        )  # fmt: skip
        watcher.join(10)
    finally:
        server.stop()
    assert done.exit_code == 0, done
    assert restarted and server.proc is None, restarted
    got = read_registered(tmp_path, host)
    assert got["w1"]["changed"] is False and isinstance(got["w1"]["elapsed"], int)
    assert got["r1"]["rebooted"] is True and got["r1"]["changed"] is True
    assert isinstance(got["r1"]["elapsed"], int)
    assert got["after"]["stdout"] == "second-boot"  # the play went on after the reboot
    assert got["r2"] == {**got["r2"], "changed": True, "rebooted": True, "elapsed": 0}
    assert (state / "calls").read_text().splitlines() == ["shutdown -r 0 runner test"]
    assert runner_recap(done.stdout)[host]["changed"] == 4  # r1, after, r2, the dump


def test_wait_for_connection_times_out_on_a_dead_host(make_fleet, in_process, tmp_path):
    port = free_port("127.0.0.1")  # nothing listens there
    fleet = make_fleet(1, host_vars={"web01": {"ansible_port": port}})
    book = tmp_path / "play.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - wait_for_connection: {timeout: 2, sleep: 1}\n"
    )
    done = in_process("play", *fleet.args(), str(book), "--json")
    assert done.exit_code == 2, done
    counts = runner_recap(done.stdout)["web01"]
    assert counts["failed"] == 1 and counts["unreachable"] == 0, counts
    assert "timed out waiting for ping module test" in done.stdout
