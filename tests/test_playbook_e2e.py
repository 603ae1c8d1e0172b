"""End-to-end: the real `runner play` command against a real OpenSSH sshd fleet."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import BECOME_PASSWORD, REPO
from tests.test_ssh_bastion import accepted_logins, bastion  # noqa: F401 (a fixture)

pytestmark = pytest.mark.sshd

PLAYBOOKS = REPO / "playbooks"


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def recap(stdout: str) -> dict:
    return [r for r in records(stdout) if r["type"] == "recap"][0]["hosts"]


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "deploy"


def root_var(root: Path) -> str:
    return json.dumps({"deploy_root": f"{root}/{{{{ inventory_hostname }}}}"})


def test_rolling_deploy_batches_and_recap(make_fleet, in_process, root, tmp_path):
    fleet = make_fleet(5, groups={"web": host_names(5)})
    junit = tmp_path / "junit.xml"
    args = ["play", *fleet.args(), str(PLAYBOOKS / "rolling_deploy.yml"), "-e", root_var(root)]
    res = in_process(*args, "--junit", str(junit))
    assert res.exit_code == 0, res
    # serial [1, "50%"] of 5 hosts: 1, then 2, then 2
    assert "batch 1/3: web01 (1)" in res.stdout
    assert "batch 2/3: web[02-03] (2)" in res.stdout
    assert "batch 3/3: web[04-05] (2)" in res.stdout
    assert re.search(r"^web\[01-05\] : ok=5 +changed=3 +unreachable=0 +failed=0", res.stdout, re.M)
    for name in fleet.names:
        assert (root / name / "current" / "VERSION").read_text().startswith("release=1.0.0")
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == 5 * 5
    # a second run changes nothing
    again = in_process(*args, "--json")
    assert again.exit_code == 0, again
    assert all(c["changed"] == 0 and c["ok"] == 5 for c in recap(again.stdout).values())


def host_names(n: int) -> list[str]:
    return [f"web{i:02d}" for i in range(1, n + 1)]


def test_rolling_deploy_list_hosts_prints_batch_plan(make_fleet, in_process):
    fleet = make_fleet(5, groups={"web": host_names(5)})
    res = in_process("play", *fleet.args(), str(PLAYBOOKS / "rolling_deploy.yml"), "--list-hosts")
    assert res.exit_code == 0, res
    assert "hosts (5):" in res.stdout
    assert "batches (3; serial: 1, 50%, max_fail_percentage: 0%):" in res.stdout
    assert "2: web[02-03] (2)" in res.stdout


def test_rolling_deploy_failure_stops_before_next_batch(make_fleet, in_process, root):
    fleet = make_fleet(5, groups={"web": host_names(5)})
    # web01 (the canary) cannot create its directory: a file is in the way
    (root / "web01").mkdir(parents=True)
    (root / "web01" / "releases").write_text("not a directory")
    res = in_process(
        "play", *fleet.args(), str(PLAYBOOKS / "rolling_deploy.yml"), "-e", root_var(root),
        "--json",
    )  # fmt: skip
    assert res.exit_code == 2, res
    counts = recap(res.stdout)
    assert counts["web01"]["failed"] == 1
    # no later batch ran: the other hosts never started
    assert all(counts[h]["ok"] == 0 for h in fleet.names[1:]), counts
    assert (
        "max_fail_percentage"
        in [r for r in records(res.stdout) if r["type"] == "recap"][0]["stopped"]
    )


def test_config_push_handler_runs_only_when_changed(make_fleet, in_process, root):
    fleet = make_fleet(3, groups={"db": ["web03"]})
    args = ["play", *fleet.args(), str(PLAYBOOKS / "config_push.yml"), "-e", root_var(root)]
    first = in_process(*args)
    assert first.exit_code == 0, first
    assert "RUNNING HANDLER [restart app]" in first.stdout
    assert "changed: web[01-03] (3)" in first.stdout
    conf = (root / "web03" / "etc" / "app.conf").read_text()
    assert "role = database" in conf and "port = 8080" in conf
    assert "role = web" in (root / "web01" / "etc" / "app.conf").read_text()
    # change the config of one host only: only it is restarted
    second = in_process(*args, "-e", "app_port=9090", "--limit", "web02", "--diff")
    assert second.exit_code == 0, second
    assert "-port = 8080" in second.stdout and "+port = 9090" in second.stdout
    assert "RUNNING HANDLER [restart app]" in second.stdout
    third = in_process(*args, "--json")
    counts = recap(third.stdout)
    # web02 goes back to 8080 (changed + restart); the others are untouched
    assert counts["web01"]["changed"] == 0 and counts["web03"]["changed"] == 0
    assert counts["web02"]["changed"] == 2


def test_config_push_check_mode_changes_nothing(make_fleet, in_process, root):
    fleet = make_fleet(2)
    res = in_process(
        "play", *fleet.args(), str(PLAYBOOKS / "config_push.yml"), "-e", root_var(root),
        "--check", "--json",
    )  # fmt: skip
    assert not (root / "web01" / "etc").exists()
    tasks = [r for r in records(res.stdout) if r["type"] == "task"]
    render = [r for r in tasks if r["task"] == "render app.conf"]
    assert all(r["status"] == "changed" for r in render)
    # the grep check is a command: skipped in check mode
    assert all(r["status"] == "skipped" for r in tasks if r["task"] == "check the config parses")
    assert res.exit_code == 0, res


def test_audit_register_when(make_fleet, in_process, root):
    fleet = make_fleet(3)
    res = in_process("play", *fleet.args(), str(PLAYBOOKS / "audit.yml"), "-e", root_var(root))
    assert res.exit_code == 0, res
    assert "no release deployed under" in res.stdout
    assert re.search(r"^web\[01-03\] : ok=6 +changed=0 ", res.stdout, re.M)


def test_unreachable_and_failed_exit_codes_and_script_fetch(make_fleet, in_process, tmp_path):
    fleet = make_fleet(3, host_vars={"web03": {"ansible_port": 1}})
    script = tmp_path / "files" / "probe.sh"
    script.parent.mkdir()
    script.write_text('#!/bin/sh\necho probe "$1" $(id -un)\n')
    book = tmp_path / "book.yml"
    book.write_text(
        f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: probe
      script: probe.sh hello
      register: probe
    - name: save
      copy:
        content: "{{{{ probe.stdout }}}}\\n"
        dest: "{tmp_path}/out-{{{{ inventory_hostname }}}}.txt"
    - name: fetch it back
      fetch:
        src: "{tmp_path}/out-{{{{ inventory_hostname }}}}.txt"
        dest: "{tmp_path}/fetched"
    - name: fail on web02
      command: /bin/false
      when: inventory_hostname == 'web02'
    - name: after
      debug: msg=done
"""
    )
    res = in_process("play", *fleet.args(), str(book), "--json", "--connect-timeout", "2")
    assert res.exit_code == 6, res
    counts = recap(res.stdout)
    assert counts["web03"]["unreachable"] == 1
    assert counts["web02"]["failed"] == 1
    assert counts["web01"] == {
        "ok": 4, "changed": 3, "unreachable": 0, "failed": 0, "skipped": 1, "rescued": 0,
        "ignored": 0,
    }  # fmt: skip
    fetched = tmp_path / "fetched" / "web01" / str(tmp_path).lstrip("/") / "out-web01.txt"
    assert fetched.read_text().startswith("probe hello")
    stderr_tasks = [r for r in records(res.stdout) if r["type"] == "task" and r["host"] == "web02"]
    assert stderr_tasks[-1]["task"] == "fail on web02" and stderr_tasks[-1]["exit_code"] == 1


def test_invalid_playbook_is_an_input_error_before_connecting(in_process, tmp_path):
    book = tmp_path / "bad.yml"
    book.write_text("- hosts: all\n  tasks:\n    - name: x\n      yum: name=nginx\n")
    res = in_process("play", "-i", "nosuchhost,", str(book))
    assert res.exit_code == 1, res
    assert f"{book}:4: unknown module 'yum'" in res.stderr
    assert "shell: yum install" in res.stderr


def test_stream_and_out_dir(make_fleet, in_process, tmp_path):
    """--stream prints task output lines as they come; --out-dir keeps every command's
    output per host and one JSON line per task; no_log output goes to neither."""
    fleet = make_fleet(2)
    book = tmp_path / "pb.yml"
    book.write_text(
        """- hosts: all
  gather_facts: false
  tasks:
    - name: say
      shell: echo first-{{ inventory_hostname }}; echo warn >&2
    - name: secret
      shell: echo hidden-token
      no_log: true
    - name: again
      command: echo second
"""
    )
    out = tmp_path / "out"
    res = in_process("play", *fleet.args(), "--stream", "--out-dir", str(out), str(book))
    assert res.exit_code == 0, res
    for name in fleet.names:
        assert re.search(rf"^{name} +\| first-{name}$", res.stdout, re.M)
        assert (out / f"{name}.stdout").read_text() == f"first-{name}\nsecond\n"
        assert (out / f"{name}.stderr").read_text() == "warn\n"
        tasks = [
            json.loads(line)["task"] for line in (out / f"{name}.json").read_text().splitlines()
        ]
        assert tasks == ["say", "secret", "again"]
    assert "hidden-token" not in res.stdout
    assert all("hidden-token" not in p.read_text() for p in out.iterdir())


BECOME_BOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: as root
      command: id -un
      become: true
      register: whoami
    - assert:
        that: whoami.stdout == 'root'
    - name: as the login user
      command: id -un
      register: plain
    - assert:
        that: plain.stdout == '{user}'
    - name: as daemon (passwordless for this user)
      shell: id -un
      become: true
      become_user: daemon
      register: daemon
    - assert:
        that: daemon.stdout == 'daemon'
    - name: write where only root can
      copy:
        content: "only root writes here\\n"
        dest: "{root_only}/{{{{ inventory_hostname }}}}.conf"
        mode: "0600"
      become: true
"""


@pytest.fixture
def root_only_dir():
    """A directory only root may write to (not under pytest's root-only tmp tree, which
    the test user could not even enter)."""
    path = Path(tempfile.mkdtemp(prefix="runner-become-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_become_with_a_password_from_the_environment(
    make_fleet, sudo_user, in_process, root_only_dir, tmp_path
):
    fleet = make_fleet(2, server=sudo_user)
    book = tmp_path / "become.yml"
    book.write_text(BECOME_BOOK.format(user=sudo_user.user, root_only=root_only_dir))
    out = tmp_path / "out"
    env = {"RUNNER_BECOME_PASSWORD": BECOME_PASSWORD}
    res = in_process("play", *fleet.args(), "--json", "--out-dir", str(out), str(book), env=env)
    assert res.exit_code == 0, res
    assert all(c["failed"] == 0 and c["ok"] == 7 for c in recap(res.stdout).values())
    for name in fleet.names:
        written = root_only_dir / f"{name}.conf"
        assert written.read_text() == "only root writes here\n"
        assert written.stat().st_uid == 0 and written.stat().st_mode & 0o777 == 0o600
    # through a terminal (sudoers requiretty), human output: the copy changes nothing now
    again = in_process("play", *fleet.args(), "--pty", str(book), env=env)
    assert again.exit_code == 0, again
    assert re.search(r"^web\[01-02\] : ok=7 +changed=3 ", again.stdout, re.M), again
    everything = res.stdout + res.stderr + again.stdout + again.stderr
    everything += "".join(p.read_text() for p in out.iterdir())
    assert BECOME_PASSWORD not in everything and "BECOME-SUCCESS" not in everything
    assert "[sudo via runner" not in everything


def test_command_line_become_and_a_wrong_password(make_fleet, sudo_user, in_process, tmp_path):
    """-b makes tasks without a become keyword escalate; a wrong password fails each host
    at once with sudo's verdict, and the password is printed nowhere."""
    fleet = make_fleet(2, server=sudo_user)
    book = tmp_path / "who.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - {name: who, command: id -un, register: who}\n"
        "    - {name: after, debug: {msg: '{{ who.stdout }}'}}\n"
    )
    good = in_process("play", *fleet.args(), "-b", "--json", str(book), env={
        "RUNNER_BECOME_PASSWORD": BECOME_PASSWORD})  # fmt: skip
    assert good.exit_code == 0, good
    msgs = [r["result"]["msg"] for r in records(good.stdout) if r.get("task") == "after"]
    assert msgs == ["root", "root"]

    wrong = "not-the-password"
    started = time.monotonic()
    res = in_process("play", *fleet.args(), "-b", "--json", str(book), env={
        "RUNNER_BECOME_PASSWORD": wrong})  # fmt: skip
    assert time.monotonic() - started < 30, "a wrong password must not hang"
    assert res.exit_code == 2, res
    failed = [r for r in records(res.stdout) if r["type"] == "task" and r["task"] == "who"]
    assert {r["host"] for r in failed} == set(fleet.names)
    for rec in failed:
        assert rec["status"] == "failed"
        assert rec["msg"].startswith("sudo: incorrect password"), rec
    assert all(c["failed"] == 1 and c["ok"] == 0 for c in recap(res.stdout).values())
    assert wrong not in res.stdout + res.stderr


def test_play_through_a_bastion(make_fleet, bastion, in_process, tmp_path):  # noqa: F811 (fixture)
    """-J reaches every host through ONE shared bastion connection; commands and SFTP
    uploads both go through it."""
    fleet = make_fleet(4)
    book = tmp_path / "via.yml"
    book.write_text(
        f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: where from
      shell: echo $SSH_CLIENT
      register: client
    - copy:
        content: "from={{{{ client.stdout.split()[0] }}}}\\n"
        dest: "{tmp_path}/{{{{ inventory_hostname }}}}.txt"
"""
    )
    jump = f"{bastion.user}@127.0.0.1:{bastion.port}"
    res = in_process("play", *fleet.args(), "-J", jump, "--keepalive", "5", "--json", str(book))
    assert res.exit_code == 0, res
    assert all(c["ok"] == 2 and c["changed"] == 2 for c in recap(res.stdout).values())
    for name in fleet.names:
        assert (tmp_path / f"{name}.txt").read_text() == "from=127.0.0.1\n"
    assert accepted_logins(bastion) == 1, "4 hosts must reuse ONE bastion connection"
