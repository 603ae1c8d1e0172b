"""The system modules against real sshd, side by side with the real ansible-playbook from
the same starting state: the same recap, the same registered keys and values that matter,
the same end state; a second runner run changes nothing; --check changes nothing.

systemd cannot run in this container: the systemd tests put a RECORDING STAND-IN
``systemctl`` (tests/data/standins/systemctl, a POSIX sh script that keeps each unit's state
in a temp folder and logs every call) first on the target's PATH through the play's
``environment``. Ansible's systemd module calls ``systemctl`` as well, so the same stand-in
answers both tools. The SysV ``service`` test uses a real init script in /etc/init.d and the
real update-rc.d (named runner-test-*, removed afterwards): this container has no systemd,
so Ansible's service module takes that path too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.system_side import (
    STANDINS,
    dump_task,
    read_registered,
    run_side_by_side,
    runner_recap,
    same_keys,
    same_values,
)

pytestmark = pytest.mark.machine_wide  # users, dpkg or /etc: see tests/shards.py

SYSTEMD_REGISTERED = ("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9")

SYSTEMD_PLAY = """\
- hosts: all
  gather_facts: false
  environment:
    PATH: "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    SYSTEMCTL_STANDIN: "{{ state }}/{{ inventory_hostname }}"
  tasks:
    - systemd: {name: app, state: started, enabled: true, daemon_reload: true}
      register: s1
    - systemd: name=app state=started
      register: s2
    - ansible.builtin.systemd_service: {name: app.service, state: restarted}
      register: s3
    - systemd: {name: app, enabled: false, state: stopped}
      register: s4
    - systemd: {name: other, masked: true}
      register: s5
    - service: {name: app, state: reloaded, use: systemd}
      register: s6
    - service: {name: app, enabled: true, use: systemd}
      register: s7
    - systemd: {name: missing, state: started}
      register: s8
      ignore_errors: true
    - systemd: {name: other, masked: false, enabled: true}
      register: s9
""" + dump_task(SYSTEMD_REGISTERED)

# the end state of SYSTEMD_PLAY, asked again: nothing to change
SYSTEMD_CONVERGED = """\
- hosts: all
  gather_facts: false
  environment:
    PATH: "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    SYSTEMCTL_STANDIN: "{{ state }}/{{ inventory_hostname }}"
  tasks:
    - systemd: {name: app, state: started, enabled: true}
    - systemd: {name: other, masked: false, enabled: true, daemon_reload: true}
    - service: {name: app, state: started, enabled: true, use: systemd}
"""


def _unit_state(folder: Path, host: str) -> dict[str, str]:
    found = {}
    for kind in ("active", "enabled"):
        for path in sorted((folder / host / kind).glob("*")):
            found[f"{kind}/{path.name}"] = path.read_text().strip()
    return found


def test_systemd_and_service_with_the_stand_in_as_in_ansible(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    states = {side: tmp_path / f"units-{side}" for side in ("runner", "ansible")}

    def reset(side: str) -> dict[str, str]:
        if states[side].exists():
            shutil.rmtree(states[side])
        for host in fleet.names:
            units = states[side] / host / "units"
            units.mkdir(parents=True)
            for name in ("app", "other"):
                (units / f"{name}.service").write_text("[Service]\nExecStart=/bin/true\n")
        return {"bin": str(STANDINS), "state": str(states[side])}

    ours, mine, _, out_r, out_a = run_side_by_side(tmp_path, fleet, in_process, SYSTEMD_PLAY, reset)
    host = fleet.names[0]
    assert mine[host]["changed"] == 8 and mine[host]["ignored"] == 1, mine
    regs_r, regs_a = read_registered(out_r, host), read_registered(out_a, host)
    for name in SYSTEMD_REGISTERED:
        same_keys(regs_r[name], regs_a[name], name)
        same_values(regs_r[name], regs_a[name], ("changed", "name", "state", "enabled"), name)
        status_r, status_a = regs_r[name].get("status", {}), regs_a[name].get("status", {})
        same_values(status_r, status_a, ("ActiveState", "UnitFileState", "LoadState"), name)
    assert regs_r["s1"]["status"]["ActiveState"] == "inactive"  # as before the change
    assert "Could not find the requested service missing" in regs_r["s8"]["msg"]
    for h in fleet.names:
        assert _unit_state(states["runner"], h) == _unit_state(states["ansible"], h)
    assert _unit_state(states["runner"], host) == {
        "active/app": "active",
        "enabled/app": "enabled",
        "enabled/other": "enabled",
    }

    # a second run towards the same end state changes nothing
    book = tmp_path / "play.yml"
    converged = tmp_path / "converged.yml"
    converged.write_text(SYSTEMD_CONVERGED)
    args = ["-e", f"bin={STANDINS}", "-e", f"state={states['runner']}", "-e", f"out={out_r}"]
    again = in_process("play", *fleet.args(), str(converged), "--json", *args)
    assert runner_recap(again.stdout)[host]["changed"] == 0, again

    # --check from a fresh state: reported, not done (only reads reach systemctl)
    reset("runner")
    check = in_process("play", *fleet.args(), str(book), "--json", "--check", *args)
    assert runner_recap(check.stdout)[host]["changed"] >= 1, check
    assert _unit_state(states["runner"], host) == {}
    verbs = {
        line.split()[0]
        for line in (states["runner"] / host / "calls").read_text().split("\n")
        if line
    }
    assert verbs <= {"show", "is-enabled"}, verbs


SYSV_NAME = "runner-test-sysv"

SYSV_PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - service: {name: runner-test-sysv, state: started, enabled: true}
      register: v1
    # use: service skips the service-manager fact Ansible would gather for each task
    - service: name=runner-test-sysv state=started use=service
      register: v2
    - service: {name: runner-test-sysv, state: restarted, use: service}
      register: v3
    - service: {name: runner-test-sysv, state: stopped, enabled: false, use: service}
      register: v4
    - service: {name: runner-test-sysv, enabled: false, use: service}
      register: v5
    - service: {name: runner-test-missing, state: started, use: service}
      register: v6
      ignore_errors: true
""" + dump_task(["v1", "v2", "v3", "v4", "v5", "v6"])

SYSV_CONVERGED = """\
- hosts: all
  gather_facts: false
  tasks:
    - service: {name: runner-test-sysv, state: stopped, enabled: false}
"""

INIT_SCRIPT = """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          runner-test-sysv
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: a runner test service that only keeps a state file
### END INIT INFO
S={state}
echo "$1" >> $S.calls
case "$1" in
  start) echo running > $S ;;
  stop) echo stopped > $S ;;
  restart|reload|force-reload) echo running > $S ;;
  status) if [ "$(cat $S 2>/dev/null)" = running ]; then echo "is running"; exit 0; fi
          echo "is not running"; exit 3 ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
"""


def _sysv_links() -> list[str]:
    return sorted(p.name for p in Path("/etc").glob(f"rc?.d/[SK]??{SYSV_NAME}"))


def _sysv_remove() -> None:
    if Path(f"/etc/init.d/{SYSV_NAME}").exists():
        subprocess.run(["update-rc.d", "-f", SYSV_NAME, "remove"], capture_output=True)
    Path(f"/etc/init.d/{SYSV_NAME}").unlink(missing_ok=True)


def test_service_on_sysv_init_scripts_as_in_ansible(make_fleet, in_process, tmp_path):
    if shutil.which("update-rc.d") is None or Path("/run/systemd/system").exists():
        pytest.skip("needs a SysV-style host (update-rc.d, no running systemd)")
    if not Path("/etc/init.d").is_dir() or not shutil.os.access("/etc/init.d", shutil.os.W_OK):
        pytest.skip("needs root to write an init script into /etc/init.d")
    fleet = make_fleet(1)
    host = fleet.names[0]
    state = tmp_path / "sysv.state"
    seen: dict[str, list[str]] = {}

    def reset(side: str) -> dict[str, str]:
        if side == "ansible":
            seen["runner"] = _sysv_links()
        _sysv_remove()
        state.unlink(missing_ok=True)
        script = Path(f"/etc/init.d/{SYSV_NAME}")
        script.write_text(INIT_SCRIPT.format(state=state))
        script.chmod(0o755)
        return {}

    try:
        ours, mine, _, out_r, out_a = run_side_by_side(
            tmp_path, fleet, in_process, SYSV_PLAY, reset
        )
        seen["ansible"] = _sysv_links()
        assert seen["runner"] == seen["ansible"]
        assert mine[host]["changed"] == 4 and mine[host]["ignored"] == 1, mine
        regs_r, regs_a = read_registered(out_r, host), read_registered(out_a, host)
        for name in ("v1", "v2", "v3", "v4", "v5", "v6"):
            same_keys(regs_r[name], regs_a[name], name)
            same_values(regs_r[name], regs_a[name], ("changed", "name", "state", "enabled"), name)
        assert state.read_text().strip() == "stopped"

        book = tmp_path / "play.yml"
        converged = tmp_path / "converged.yml"
        converged.write_text(SYSV_CONVERGED)
        again = in_process("play", *fleet.args(), str(converged), "--json")
        assert runner_recap(again.stdout)[host]["changed"] == 0, again
        before = (_sysv_links(), state.read_text())
        check = in_process(
            "play", *fleet.args(), str(book), "--json", "--check", "-e", f"out={out_r}"
        )
        assert runner_recap(check.stdout)[host]["changed"] >= 1, check
        assert (_sysv_links(), state.read_text()) == before
    finally:
        _sysv_remove()


HOST_PLAY = """\
- hosts: all
  gather_facts: false
  environment:
    PATH: "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    HOSTNAMECTL_STANDIN: "{{ state }}"
  tasks:
    - ping:
      register: p1
    - ping: {data: hello}
      register: p2
    - getent: {database: passwd, key: root}
      register: e1
    - set_fact:
        root_home: "{{ getent_passwd.root[4] }}"
    - getent: {database: group}
      register: e2
    - set_fact:
        has_root_group: "{{ 'root' in getent_group }}"
    - getent: {database: passwd, key: rtest-nobody, fail_key: false}
      register: e3
    - getent: {database: passwd, key: rtest-nobody}
      register: e4
      ignore_errors: true
    - hostname: {name: web-renamed.example.test, use: systemd}
      register: h1
    - hostname: {name: web-renamed.example.test, use: systemd}
      register: h2
    - wait_for: {path: "{{ state }}/static", timeout: 5}
      register: w1
    - wait_for:
        path: "{{ state }}/static"
        search_regex: "web-(?P<rest>[a-z]+)"
        timeout: 5
      register: w2
    - wait_for: {port: "{{ sshport }}", host: 127.0.0.1, timeout: 5}
      register: w3
    - wait_for: {path: "{{ state }}/nosuch", state: absent, timeout: 2}
      register: w4
    - wait_for: {path: "{{ state }}/nosuch", timeout: 1}
      register: w5
      ignore_errors: true
""" + dump_task(
    ["p1", "p2", "e1", "e3", "e4", "h1", "h2", "root_home", "has_root_group"]
    + ["w1", "w2", "w3", "w4", "w5"]
)


def test_ping_getent_hostname_wait_for_as_in_ansible(make_fleet, in_process, tmp_path):
    """hostname runs against the hostnamectl stand-in only: the container keeps its name."""
    fleet = make_fleet(1)
    host = fleet.names[0]
    states = {side: tmp_path / f"hostname-{side}" for side in ("runner", "ansible")}
    own_name = Path("/proc/sys/kernel/hostname").read_text()

    def reset(side: str) -> dict[str, str]:
        states[side].mkdir()
        for kind in ("transient", "static"):
            (states[side] / kind).write_text("web-old\n")
        return {"bin": str(STANDINS), "state": str(states[side]), "sshport": str(fleet.server.port)}

    ours, mine, _, out_r, out_a = run_side_by_side(tmp_path, fleet, in_process, HOST_PLAY, reset)
    assert mine[host]["changed"] == 2 and mine[host]["ignored"] == 2, mine
    # each side has its own folder: compare paths (and messages naming them) as STATE/...
    regs_r, regs_a = (
        json.loads(json.dumps(read_registered(out, host)).replace(str(states[side]), "STATE"))
        for out, side in ((out_r, "runner"), (out_a, "ansible"))
    )
    for name in ("p1", "p2", "e1", "e3", "e4", "h1", "h2", "w1", "w2", "w3", "w4", "w5"):
        same_keys(regs_r[name], regs_a[name], name)
        same_values(regs_r[name], regs_a[name], ("changed", "ping", "msg", "name", "diff"), name)
        same_values(regs_r[name], regs_a[name], ("state", "path", "port", "search_regex"), name)
        same_values(regs_r[name], regs_a[name], ("mode", "size", "owner"), name)
        same_values(regs_r[name], regs_a[name], ("match_groups", "match_groupdict"), name)
    assert regs_r["w2"]["match_groupdict"] == {"rest": "renamed"}
    assert regs_r["root_home"] == regs_a["root_home"] == "/root"
    assert regs_r["has_root_group"] is True
    assert regs_r["h1"]["diff"] == {
        "before": "hostname = web-old\n",
        "after": "hostname = web-renamed.example.test\n",
    }
    for side in states:
        assert (states[side] / "static").read_text().strip() == "web-renamed.example.test"
    assert Path("/proc/sys/kernel/hostname").read_text() == own_name


CRON_PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - cron: {name: nightly, minute: "5", hour: "4", job: /usr/bin/true, user: root,
             cron_file: "{{ file }}"}
      register: c1
    - cron: {name: nightly, minute: "5", hour: "4", job: /usr/bin/true, user: root,
             cron_file: "{{ file }}"}
      register: c2
    - cron: {name: PATH, env: true, job: "/usr/bin:/bin", user: root, cron_file: "{{ file }}"}
    - cron: {name: gone, special_time: reboot, job: /bin/echo, user: root,
             cron_file: "{{ file }}"}
    - cron: {name: gone, state: absent, user: root, cron_file: "{{ file }}"}
      register: c5
"""


def test_cron_file_as_ansible_writes_it(make_fleet, in_process, tmp_path):
    """runner only: Ansible's cron module needs the crontab command even for a cron_file,
    and this container has none. The expected text is what Ansible's cron writes
    (a '#Ansible: NAME' line above each job, variables first)."""
    fleet = make_fleet(1)
    host = fleet.names[0]
    book = tmp_path / "cron.yml"
    book.write_text(CRON_PLAY)
    cron_file = tmp_path / "runner-test-cron"
    args = ["-e", f"file={cron_file}"]
    first = in_process("play", *fleet.args(), str(book), "--json", *args)
    assert runner_recap(first.stdout)[host]["changed"] == 4, first
    assert cron_file.read_text() == (
        'PATH="/usr/bin:/bin"\n#Ansible: nightly\n5 4 * * * root /usr/bin/true\n'
    )
    again = in_process("play", *fleet.args(), str(book), "--json", *args)
    assert runner_recap(again.stdout)[host]["changed"] == 2, again  # gone: added, removed
    cron_file.write_text("# kept\n")
    check = in_process("play", *fleet.args(), str(book), "--json", "--check", *args)
    assert runner_recap(check.stdout)[host]["changed"] >= 1, check
    assert cron_file.read_text() == "# kept\n"
