"""End-to-end: ssh_config, ProxyJump bastions (one shared connection), ProxyCommand."""

from __future__ import annotations

import os
import signal
import time

import pytest

from runner.testing.fleet import SSHServer, free_port, write_inventory
from tests.conftest import inventory_without_key, ssh_agent_holding
from tests.test_faults_e2e import (
    json_records,
    out_dir_records,
    signal_sessions,
    start_cli,
    wait_for_lines,
)

pytestmark = pytest.mark.sshd

BASTION_CONFIG = "LogLevel INFO\nAllowTcpForwarding yes\n"


def accepted_logins(server: SSHServer) -> int:
    """How many SSH connections logged in (sshd logs one line per login at INFO)."""
    return (server.workdir / "sshd.log").read_text(errors="replace").count("Accepted publickey")


@pytest.fixture
def bastion(ssh_root, client_key):
    server = SSHServer(
        ssh_root / f"bastion-{time.monotonic_ns()}", client_key, extra_config=BASTION_CONFIG
    ).start()
    yield server
    signal_sessions(server, signal.SIGKILL)
    server.stop()


@pytest.fixture
def bastion2(ssh_root, client_key):
    server = SSHServer(
        ssh_root / f"bastion2-{time.monotonic_ns()}", client_key, extra_config=BASTION_CONFIG
    ).start()
    yield server
    server.stop()


def test_hundreds_of_hosts_share_one_bastion_connection(make_fleet, bastion, cli):
    fleet = make_fleet(200)
    jump = f"{bastion.user}@127.0.0.1:{bastion.port}"
    res = cli("run", *fleet.args(), "-J", jump, "-f", "200", "--json", "all", "echo $SSH_CLIENT")
    assert res.exit_code == 0, res
    hosts = [r for r in json_records(res.stdout) if r["type"] == "host"]
    assert len(hosts) == 200 and {r["status"] for r in hosts} == {"ok"}
    # the target saw every connection come from the bastion's side of a tunnel
    assert all(r["stdout"].startswith("127.0.0.1 ") for r in hosts)
    assert accepted_logins(bastion) == 1, "200 hosts must reuse ONE bastion connection"


def test_jump_from_inventory_common_args_and_runner_jump_host(make_fleet, bastion, cli):
    jump = f"{bastion.user}@127.0.0.1:{bastion.port}"
    fleet = make_fleet(
        4,
        host_vars={
            "web01": {"ansible_ssh_common_args": f"-o StrictHostKeyChecking=accept-new -J {jump}"},
            "web02": {"runner_jump_host": jump},
        },
    )
    res = cli("run", *fleet.args(), "--json", "all", "echo ok")
    assert res.exit_code == 0, res
    assert accepted_logins(bastion) == 1  # web01 and web02 shared it; web03/04 went direct


def test_two_hops_from_ssh_config(make_fleet, bastion, bastion2, cli, tmp_path):
    """ssh_config names the hops and the target: HostName, Port, User, IdentityFile and
    ProxyJump with two hops; the inventory is just the aliases."""
    fleet = make_fleet(1)
    key = fleet.server.client_key
    config = tmp_path / "ssh_config"
    config.write_text(
        f"""
Host hop1
    HostName 127.0.0.1
    Port {bastion.port}
    User {bastion.user}
    IdentityFile {key}
Host hop2
    HostName 127.0.0.1
    Port {bastion2.port}
    User {bastion2.user}
    IdentityFile {key}
Host app-*
    HostName 127.0.0.1
    Port {fleet.server.port}
    User {fleet.server.user}
    IdentityFile {key}
    IdentitiesOnly yes
    ProxyJump hop1,hop2
    ConnectTimeout 5
"""
    )
    known = tmp_path / "kh"
    args = ["run", "-F", str(config), "-i", "app-a,app-b,app-c,", "--known-hosts", str(known)]
    res = cli(*args, "--json", "all", "echo {{ inventory_hostname }}")
    assert res.exit_code == 0, res
    out = {r["host"]: r["stdout"] for r in json_records(res.stdout) if r["type"] == "host"}
    assert out == {"app-a": "app-a\n", "app-b": "app-b\n", "app-c": "app-c\n"}
    assert accepted_logins(bastion) == 1 and accepted_logins(bastion2) == 1
    # hop host keys were recorded like any other host's
    recorded = known.read_text()
    assert f"[127.0.0.1]:{bastion.port}" in recorded and f"[127.0.0.1]:{bastion2.port}" in recorded
    # -J none on the command line wins over ssh_config: straight to the target
    direct = cli(*args, "-J", "none", "--json", "all", "true")
    assert direct.exit_code == 0, direct
    assert accepted_logins(bastion) == 1


def test_bastion_that_goes_away_fails_its_hosts_naming_it(make_fleet, sshd, bastion, tmp_path):
    fleet = make_fleet(
        6,
        host_vars={
            n: {"runner_jump_host": f"{bastion.user}@127.0.0.1:{bastion.port}"}
            for n in ("web01", "web02", "web03")
        },
    )
    out = tmp_path / "out"
    cmd = (
        "case {{ inventory_hostname }} in web0[123]) echo started; sleep 30;; "
        "*) sleep 1; echo done;; esac"
    )
    proc = start_cli("run", *fleet.args(), "--stream", "--out-dir", str(out), "all", cmd)
    started = time.monotonic()
    wait_for_lines(proc, "| started", 3)
    signal_sessions(bastion, signal.SIGKILL, listener=True)
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 15
    assert proc.returncode == 4, err
    recs = out_dir_records(out)
    for name in ("web01", "web02", "web03"):
        assert recs[name]["status"] == "unreachable", recs[name]
        assert f"bastion {bastion.user}@127.0.0.1:{bastion.port} went away" in recs[name]["error"]
    for name in ("web04", "web05", "web06"):
        assert recs[name]["status"] == "ok"


def test_unreachable_bastion_fails_all_its_hosts_fast(make_fleet, cli):
    fleet = make_fleet(40)
    port = free_port()
    started = time.monotonic()
    res = cli("run", *fleet.args(), "-J", f"root@127.0.0.1:{port}", "--json", "all", "true")
    assert time.monotonic() - started < 10
    assert res.exit_code == 4, res
    hosts = [r for r in json_records(res.stdout) if r["type"] == "host"]
    assert len(hosts) == 40
    for rec in hosts:
        assert rec["status"] == "unreachable"
        assert rec["error"].startswith(f"bastion root@127.0.0.1:{port}: connection refused")


def test_proxy_command_from_ssh_config(make_fleet, bastion, cli, tmp_path):
    fleet = make_fleet(2)
    key = fleet.server.client_key
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host *\n"
        f"    ProxyCommand ssh -q -i {key} -o BatchMode=yes -o StrictHostKeyChecking=no "
        f"-o UserKnownHostsFile=/dev/null -p {bastion.port} -W %h:%p root@127.0.0.1\n"
    )
    res = cli("run", *fleet.args(), "-F", str(config), "--json", "all", "echo proxied")
    assert res.exit_code == 0, res
    assert {r["stdout"] for r in json_records(res.stdout) if r["type"] == "host"} == {"proxied\n"}
    assert accepted_logins(bastion) == 2  # ProxyCommand: one ssh process per host


def test_missing_ssh_config_file_is_an_input_error(make_fleet, cli, tmp_path):
    fleet = make_fleet(1)
    res = cli("run", *fleet.args(), "-F", str(tmp_path / "nope"), "all", "true")
    assert res.exit_code == 1 and "no such file" in res.stderr


def test_inventory_wins_over_cli_and_cli_over_ssh_config(sshd, cli, tmp_path):
    """ssh_config points at a closed port and a wrong user; the inventory's port wins;
    the inventory's user wins over -u (Ansible's rule), which wins over ssh_config's."""
    config = tmp_path / "ssh_config"
    config.write_text(f"Host *\n    Port {free_port()}\n    User nobody-at-all\n")
    inv = write_inventory(tmp_path / "inv.yml", sshd, ["p1"])
    inv.write_text(inv.read_text().replace(f"ansible_user: {sshd.user}", "ansible_user: nobody2"))
    kh = str(tmp_path / "kh")
    base = ["run", "-F", str(config), "-i", str(inv), "--known-hosts", kh, "--json", "all"]
    wrong_user = cli(*base, "whoami")
    assert wrong_user.exit_code == 4 and "nobody2@" in json_records(wrong_user.stdout)[0]["error"]
    still = cli(*base[:-1], "-u", sshd.user, "all", "whoami")
    assert still.exit_code == 4 and "nobody2@" in json_records(still.stdout)[0]["error"]
    assert f"-u {sshd.user} not used for p1 (1): its inventory sets ansible_user" in still.stderr
    inv.write_text(inv.read_text().replace("ansible_user: nobody2", ""))
    res = cli(*base[:-1], "-u", sshd.user, "all", "whoami")  # over ssh_config's User
    assert res.exit_code == 0, res
    assert json_records(res.stdout)[0]["stdout"] == f"{sshd.user}\n"
    assert "not used" not in res.stderr
    assert os.path.exists(kh)


def test_agent_signs_for_many_hosts_at_once_through_a_bastion(make_fleet, bastion, tmp_path, cli):
    """No key file anywhere: the bastion and 120 hosts all log in with the one key held by
    ssh-agent, their signing requests multiplexed on one agent connection."""
    fleet = make_fleet(120)
    inv = inventory_without_key(fleet, tmp_path / "agent.yml")
    with ssh_agent_holding(fleet.server.client_key, tmp_path) as env:
        res = cli(
            "run",
            "-i",
            str(inv),
            "--known-hosts",
            str(fleet.known_hosts),
            "-f",
            "120",
            "-J",
            f"{bastion.user}@127.0.0.1:{bastion.port}",
            "--json",
            "all",
            "echo agent",
            env=env,
        )
    assert res.exit_code == 0, res
    hosts = [r for r in json_records(res.stdout) if r["type"] == "host"]
    assert len(hosts) == 120 and {r["stdout"] for r in hosts} == {"agent\n"}
    assert accepted_logins(bastion) == 1
