"""End-to-end: runner copy / fetch with become (-b, --become-user, -K via
RUNNER_BECOME_PASSWORD, and the inventory's ansible_become*), against a real sshd where the
plain user runner-e2e logs in and may become root (with its password) or daemon (without).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from tests.conftest import BECOME_PASSWORD
from tests.test_faults_e2e import json_records

pytestmark = pytest.mark.sshd


def hosts_of(res) -> dict[str, dict]:
    return {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}


@pytest.fixture
def root_only():
    """A folder the login user can enter but only root can write (outside the 0700
    pytest temp folder, which runner-e2e cannot enter)."""
    folder = Path(tempfile.mkdtemp(prefix="runner-become-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_copy_with_become_writes_where_only_root_can(
    make_fleet, sudo_user, cli, tmp_path, root_only
):
    fleet = make_fleet(2, server=sudo_user)
    env = {"RUNNER_BECOME_PASSWORD": BECOME_PASSWORD}
    src = tmp_path / "app.conf"
    src.write_bytes(os.urandom(200_000))
    src.chmod(0o640)
    dest = root_only / "app.conf"
    args = ["copy", *fleet.args(), "--json", "web01", str(src), str(dest)]
    refused = cli(*args)
    assert refused.exit_code == 2, refused
    assert "Permission denied" in hosts_of(refused)["web01"]["error"]
    assert not dest.exists()
    copied = cli(*args[:-3], "-b", "-K", *args[-3:], env=env)
    assert copied.exit_code == 0, copied
    assert hosts_of(copied)["web01"]["stdout"].startswith("copied")
    assert dest.read_bytes() == src.read_bytes()
    info = dest.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_uid == 0  # written by root
    again = cli(*args[:-3], "-b", "-K", *args[-3:], env=env)
    assert hosts_of(again)["web01"]["stdout"].startswith("unchanged"), again
    assert [p.name for p in root_only.iterdir()] == ["app.conf"]  # no temp file left
    for res in (copied, again):
        assert BECOME_PASSWORD not in res.stdout + res.stderr

    # --become-user: a folder only daemon may write; no password needed for daemon
    daemon = pwd.getpwnam("daemon")
    daemon_dir = root_only / "daemon"
    daemon_dir.mkdir()
    os.chown(daemon_dir, daemon.pw_uid, daemon.pw_gid)
    as_daemon = cli(
        *args[:-3], "-b", "--become-user", "daemon", "web01", str(src), f"{daemon_dir}/"
    )
    assert as_daemon.exit_code == 0, as_daemon
    assert (daemon_dir / "app.conf").stat().st_uid == daemon.pw_uid


def test_copy_follows_the_inventory_ansible_become(make_fleet, sudo_user, cli, tmp_path, root_only):
    fleet = make_fleet(
        1,
        server=sudo_user,
        host_vars={"web01": {"ansible_become": True, "ansible_become_password": BECOME_PASSWORD}},
    )
    src = tmp_path / "motd"
    src.write_text("hello\n")
    res = cli("copy", *fleet.args(), "--json", "all", str(src), f"{root_only}/")
    assert res.exit_code == 0, res
    assert (root_only / "motd").read_text() == "hello\n"
    assert (root_only / "motd").stat().st_uid == 0


def test_fetch_with_become_reads_what_only_root_can(
    make_fleet, sudo_user, cli, tmp_path, root_only
):
    fleet = make_fleet(2, server=sudo_user)
    env = {"RUNNER_BECOME_PASSWORD": BECOME_PASSWORD}
    secret = root_only / "secret.key"
    data = os.urandom(300_000)
    secret.write_bytes(data)
    secret.chmod(0o600)
    into = tmp_path / "fetched"
    args = ["fetch", *fleet.args(), "--json", "all", str(secret), str(into)]
    refused = cli(*args)
    assert refused.exit_code == 2, refused
    assert all("Permission denied" in r["error"] for r in hosts_of(refused).values())
    got = cli(*args[:-4], "-b", "-K", *args[-4:], env=env)
    assert got.exit_code == 0, got
    for name in fleet.names:
        assert hosts_of(got)[name]["stdout"].startswith("fetched"), got
        local = into / name / "secret.key"
        assert hashlib.sha256(local.read_bytes()).digest() == hashlib.sha256(data).digest()
        assert stat.S_IMODE(local.stat().st_mode) == 0o600
        assert [p.name for p in local.parent.iterdir()] == ["secret.key"]  # no temp left
    again = cli(*args[:-4], "-b", "-K", *args[-4:], env=env)
    assert {r["stdout"].split()[0] for r in hosts_of(again).values()} == {"unchanged"}
    wrong = cli(*args[:-4], "-b", "-K", *args[-4:], env={"RUNNER_BECOME_PASSWORD": "wrong"})
    assert wrong.exit_code == 2
    assert all(r["error_kind"] == "become" for r in hosts_of(wrong).values()), wrong
    for res in (got, again, wrong):
        assert BECOME_PASSWORD not in res.stdout + res.stderr
