"""End-to-end privilege escalation: sudo with and without a password, through a pty or
``sudo -S``, against a real sshd where the plain user ``runner-e2e`` logs in.

Needs root (to write a sudoers rule and give the user a password) and sudo; the rule is
removed and the password locked again afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.conftest import BECOME_PASSWORD as PASSWORD
from tests.test_faults_e2e import json_records, start_cli, wait_for_lines

pytestmark = pytest.mark.sshd


@pytest.fixture
def fleet(make_fleet, sudo_user):
    return make_fleet(3, server=sudo_user)


def hosts_of(res) -> dict[str, dict]:
    return {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}


def test_become_without_password(fleet, cli):
    res = cli("run", *fleet.args(), "-b", "--become-user", "daemon", "--json", "all", "whoami")
    assert res.exit_code == 0, res
    assert {r["stdout"] for r in hosts_of(res).values()} == {"daemon\n"}


def test_become_with_password_sudo_s_and_pty(fleet, cli, tmp_path):
    env = {"RUNNER_BECOME_PASSWORD": PASSWORD}
    out = tmp_path / "out"
    plain = cli(
        "run",
        *fleet.args(),
        "-b",
        "--json",
        "--out-dir",
        str(out),
        "all",
        "whoami; echo to-stderr >&2",
        env=env,
    )
    assert plain.exit_code == 0, plain
    for rec in hosts_of(plain).values():
        assert rec["stdout"] == "root\n"
        assert rec["stderr"].endswith("to-stderr\n") and "password" not in rec["stderr"]
    pty = cli("run", *fleet.args(), "-b", "--pty", "--json", "all", "whoami", env=env)
    assert pty.exit_code == 0, pty
    assert {r["stdout"] for r in hosts_of(pty).values()} == {"root\r\n"}  # no prompt shown
    everything = plain.stdout + plain.stderr + pty.stdout + pty.stderr
    everything += "".join(p.read_text() for p in out.iterdir())
    assert PASSWORD not in everything and "BECOME-SUCCESS" not in everything


def test_become_with_inventory_variables_and_stdin(make_fleet, sudo_user, cli, tmp_path):
    fleet = make_fleet(
        2,
        server=sudo_user,
        host_vars={
            n: {"ansible_become": True, "ansible_become_password": PASSWORD}
            for n in ("web01", "web02")
        },
    )
    data = tmp_path / "in.txt"
    data.write_text("first\nsecond\n")
    res = cli("run", *fleet.args(), "--stdin-file", str(data), "--json", "all", "cat; id -un")
    assert res.exit_code == 0, res
    assert {r["stdout"] for r in hosts_of(res).values()} == {"first\nsecond\nroot\n"}


def test_wrong_become_password_fails_fast_with_a_clear_message(fleet, cli):
    for extra in ((), ("--pty",)):
        started = time.monotonic()
        res = cli(
            "run",
            *fleet.args(),
            "-b",
            *extra,
            "--json",
            "all",
            "whoami",
            env={"RUNNER_BECOME_PASSWORD": "not-the-password"},
        )
        assert time.monotonic() - started < 15, "a wrong password must not hang"
        assert res.exit_code == 2, res
        for rec in hosts_of(res).values():
            assert rec["status"] == "failed" and rec["error_kind"] == "become"
            assert rec["error"].startswith("sudo: incorrect password")
        assert "not-the-password" not in res.stdout + res.stderr


def test_missing_become_password_is_reported_not_waited_for(fleet, cli):
    res = cli("run", *fleet.args(), "-b", "--json", "all", "whoami")
    assert res.exit_code == 2, res
    for rec in hosts_of(res).values():
        assert rec["error_kind"] == "become" and "password is required" in rec["error"]


def test_become_password_is_in_no_process_listing(fleet, tmp_path):
    out = tmp_path / "out"
    env_before = os.environ.get("RUNNER_BECOME_PASSWORD")
    os.environ["RUNNER_BECOME_PASSWORD"] = PASSWORD
    try:
        proc = start_cli(
            "run",
            *fleet.args(),
            "-b",
            "--stream",
            "--out-dir",
            str(out),
            "all",
            "echo started; sleep 2",
        )
    finally:
        if env_before is None:
            os.environ.pop("RUNNER_BECOME_PASSWORD")
    wait_for_lines(proc, "| started", 3)
    listing = subprocess.run(["ps", "axww", "-o", "args"], capture_output=True, text=True).stdout
    proc.communicate(timeout=20)
    assert "sudo -H -S -p" in listing  # the remote sudo is running right now...
    assert PASSWORD not in listing  # ...and its password is not on any command line
    for path in out.iterdir():
        assert PASSWORD not in path.read_text()
    assert {json.loads(p.read_text())["status"] for p in out.glob("*.json")} == {"ok"}
