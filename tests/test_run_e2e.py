"""End-to-end: the real `runner run` command against real OpenSSH sshd processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import paramiko
import pytest

from runner.testing.fleet import (
    Netns,
    SilentServer,
    SSHServer,
    free_port,
    keygen,
    loopback_addresses,
    netns_server,
    processes_matching,
    wait_until,
    why_no_netns,
    write_inventory,
)
from tests.conftest import (
    REPO,
    inventory_without_key,
    json_records,
    require_sshd,
    ssh_agent_holding,
)

pytestmark = pytest.mark.sshd


def test_hundred_hosts_all_ok_grouped_once(make_fleet, in_process):
    fleet = make_fleet(100)
    res = in_process("run", *fleet.args(), "all", "echo hello")
    assert res.exit_code == 0, res
    # identical output from 100 hosts is printed once, under the folded host set
    assert "web[001-100] (100)" in res.stdout
    assert res.stdout.count("hello") == 1
    assert re.search(r"^ok=100 failed=0 unreachable=0 hosts=100 in [\d.]+s$", res.stdout, re.M)


def test_json_schema_every_host_and_summary(make_fleet, in_process):
    fleet = make_fleet(12)
    res = in_process("run", *fleet.args(), "--json", "all", "echo out; echo err >&2")
    assert res.exit_code == 0, res
    records = json_records(res.stdout)  # stdout holds JSON Lines and nothing else
    hosts = [r for r in records if r["type"] == "host"]
    assert sorted(r["host"] for r in hosts) == fleet.names
    for r in hosts:
        assert set(r) >= {
            "type",
            "host",
            "status",
            "exit_code",
            "stdout",
            "stderr",
            "error",
            "started",
            "duration",
        }
        assert (r["status"], r["exit_code"], r["stdout"], r["stderr"]) == (
            "ok",
            0,
            "out\n",
            "err\n",
        )
        assert r["error"] is None
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", r["started"])
        assert isinstance(r["duration"], float) and r["duration"] >= 0
    summary = records[-1]
    assert summary["type"] == "summary"
    assert (summary["hosts"], summary["ok"], summary["failed"], summary["unreachable"]) == (
        12,
        12,
        0,
        0,
    )


def test_failing_command_is_failed_with_exit_code(make_fleet, in_process):
    fleet = make_fleet(3)
    res = in_process("run", *fleet.args(), "--json", "all", "echo boom >&2; exit 3")
    assert res.exit_code == 2, res
    hosts = [r for r in json_records(res.stdout) if r["type"] == "host"]
    assert {(r["status"], r["exit_code"], r["stderr"]) for r in hosts} == {("failed", 3, "boom\n")}


def test_per_host_templating_and_extra_vars(make_fleet, in_process):
    fleet = make_fleet(3, host_vars={"web02": {"role": "primary"}})
    res = in_process(
        "run",
        *fleet.args(),
        "--json",
        "-e",
        "greeting=hi",
        "all",
        "echo {{ greeting }} {{ inventory_hostname }} {{ role | default('none') }}",
    )
    assert res.exit_code == 0, res
    out = {r["host"]: r["stdout"] for r in json_records(res.stdout) if r["type"] == "host"}
    assert out == {
        "web01": "hi web01 none\n",
        "web02": "hi web02 primary\n",
        "web03": "hi web03 none\n",
    }


def test_undefined_variable_fails_that_host_naming_it(make_fleet, in_process):
    fleet = make_fleet(2, host_vars={"web01": {"port_no": 80}})
    res = in_process("run", *fleet.args(), "--json", "all", "echo {{ port_no }}")
    assert res.exit_code == 2, res
    recs = {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}
    assert recs["web01"]["status"] == "ok" and recs["web01"]["stdout"] == "80\n"
    assert recs["web02"]["status"] == "failed"
    assert "port_no" in recs["web02"]["error"]


def test_template_syntax_error_is_input_error_before_connecting(make_fleet, in_process):
    fleet = make_fleet(2)
    res = in_process("run", *fleet.args(), "all", "echo {{ broken")
    assert res.exit_code == 1, res
    assert "template" in res.stderr and "COMMAND" in res.stderr
    assert not fleet.known_hosts.exists()  # no connection was opened


def test_closed_port_is_unreachable_fast(in_process, tmp_path):
    port = free_port()  # nothing listens there
    inv = tmp_path / "closed.yml"
    inv.write_text(
        f"all:\n  hosts:\n    dead1:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
    )
    start = time.monotonic()
    res = in_process("run", "-i", str(inv), "--json", "all", "true")
    assert time.monotonic() - start < 8
    assert res.exit_code == 4, res
    rec = json_records(res.stdout)[0]
    assert rec["status"] == "unreachable" and rec["exit_code"] is None
    assert "connection refused" in rec["error"]


def test_silent_server_times_out_as_unreachable(in_process, tmp_path):
    silent = SilentServer()
    try:
        inv = tmp_path / "silent.yml"
        inv.write_text(
            f"all:\n  hosts:\n    mute:\n      ansible_host: 127.0.0.1\n"
            f"      ansible_port: {silent.port}\n"
        )
        start = time.monotonic()
        res = in_process("run", "-i", str(inv), "--json", "--connect-timeout", "1.5", "all", "true")
        elapsed = time.monotonic() - start
    finally:
        silent.close()
    assert res.exit_code == 4, res
    rec = json_records(res.stdout)[0]
    assert rec["status"] == "unreachable"
    assert "no SSH greeting" in rec["error"]
    assert 1.4 <= elapsed < 8


def wait_no_remote_left(marker: str, timeout: float = 5) -> None:
    """Fail unless every remote ``sleep MARKER`` has ended within ``timeout`` seconds."""
    wait_until(
        lambda: not processes_matching(f"^sleep {marker}"),
        timeout,
        f"the remote 'sleep {marker}' to be ended",
    )


def test_command_timeout_fails_host_and_ends_remote_command(make_fleet, in_process, user_sshd):
    fleet = make_fleet(2, server=user_sshd)
    marker = "37.123"
    start = time.monotonic()
    res = in_process("run", *fleet.args(), "--json", "-t", "1", "all", f"sleep {marker}")
    assert time.monotonic() - start < 10
    assert res.exit_code == 2, res
    for rec in json_records(res.stdout)[:-1]:
        assert rec["status"] == "failed" and "timed out after 1s" in rec["error"]
    if user_sshd is not None:  # (root logins: tests/test_remote_ending_e2e.py)
        wait_no_remote_left(marker)  # the remote command must be ended on timeout


def test_exit_codes_six_and_one_and_five(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    port = free_port()
    inv = tmp_path / "mixed.yml"
    inv.write_text(
        f"""all:
  vars:
    ansible_user: {fleet.server.user}
    ansible_ssh_private_key_file: {fleet.server.client_key}
  hosts:
    good:
      ansible_host: 127.0.0.1
      ansible_port: {fleet.server.port}
    dead:
      ansible_host: 127.0.0.1
      ansible_port: {port}
"""
    )
    known = str(tmp_path / "kh")
    both = in_process("run", "-i", str(inv), "--known-hosts", known, "all", "exit 1")
    assert both.exit_code == 6, both
    assert "dead" in both.stdout and "connection refused" in both.stdout
    # invalid input: pattern matching nothing, bad inventory -> 1, before any connection
    nomatch = in_process("run", "-i", str(inv), "--known-hosts", known, "nosuchgroup", "true")
    assert nomatch.exit_code == 1 and "nosuchgroup" in nomatch.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  hosts: [unclosed\n")
    broken = in_process("run", "-i", str(bad), "all", "true")
    assert broken.exit_code == 1 and "bad.yml" in broken.stderr
    # usage errors: 5, never click's own 2
    assert in_process("run").exit_code == 5
    assert in_process("run", "--forks", "zero", "all", "true").exit_code == 5
    assert in_process("frobnicate").exit_code == 5


def test_changed_host_key_is_refused(make_fleet, in_process, tmp_path, ssh_root):
    fleet = make_fleet(1)
    first = in_process("run", *fleet.args(), "all", "true")
    assert first.exit_code == 0, first
    recorded = fleet.known_hosts.read_text()
    assert f"[127.0.0.1]:{fleet.server.port}" in recorded
    # a second server on the same address and port with a different host key
    fleet.server.stop()
    other = SSHServer(
        ssh_root / f"impostor-{os.getpid()}", fleet.server.client_key, port=fleet.server.port
    )
    other.start()
    try:
        res = in_process("run", *fleet.args(), "--json", "all", "true")
        strict = in_process(
            "run", *fleet.args(), "--json", "--host-key-checking", "strict", "all", "true"
        )
    finally:
        other.stop()
        fleet.server.start()
    for r in (res, strict):
        assert r.exit_code == 4, r
        rec = json_records(r.stdout)[0]
        assert rec["status"] == "unreachable" and "host key changed" in rec["error"]
    assert fleet.known_hosts.read_text() == recorded  # nothing was overwritten


def test_strict_refuses_unknown_and_off_warns(make_fleet, in_process):
    fleet = make_fleet(1)
    strict = in_process(
        "run", *fleet.args(), "--json", "--host-key-checking", "strict", "all", "true"
    )
    assert strict.exit_code == 4
    assert "host key unknown" in json_records(strict.stdout)[0]["error"]
    off = in_process("run", *fleet.args(), "--host-key-checking", "off", "all", "true")
    assert off.exit_code == 0
    assert "host key checking is off" in off.stderr
    assert not fleet.known_hosts.exists()


def test_accept_new_records_200_hosts_at_once(tmp_path, client_key):
    reason = why_no_netns()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    require_sshd()
    with Netns() as ns:
        server = netns_server(ns, tmp_path / "sshd", client_key)
        try:
            addresses = loopback_addresses(200)
            names = [f"node{i:03d}" for i in range(1, 201)]
            inv = write_inventory(
                tmp_path / "inv.yml",
                server,
                names,
                host_vars={n: {"ansible_host": a} for n, a in zip(names, addresses, strict=True)},
            )
            known = tmp_path / "known_hosts"
            proc = subprocess.run(
                [
                    *ns.exec_prefix,
                    sys.executable,
                    "-m",
                    "runner",
                    "run",
                    "-i",
                    str(inv),
                    "--known-hosts",
                    str(known),
                    "-f",
                    "200",
                    "--json",
                    "all",
                    "echo ok",
                ],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        finally:
            server.stop()
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = known.read_text().splitlines()
    assert len(lines) == 200
    assert sorted(line.split()[0] for line in lines) == sorted(addresses)
    hostkeys = paramiko.HostKeys(str(known))  # a valid file that OpenSSH tooling can read
    assert len(hostkeys.keys()) == 200
    assert len({line.split(" ", 1)[1] for line in lines}) == 1  # the same server key


def test_stream_mode_prints_whole_prefixed_lines(make_fleet, in_process):
    fleet = make_fleet(4)
    res = in_process(
        "run",
        *fleet.args(),
        "--stream",
        "all",
        "for i in 1 2 3; do echo line$i-{{ inventory_hostname }}; done",
    )
    assert res.exit_code == 0, res
    lines = [line for line in res.stdout.splitlines() if "|" in line]
    for name in fleet.names:
        for i in (1, 2, 3):
            assert f"{name} | line{i}-{name}" in lines


def test_out_dir_keeps_whole_output_and_json(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    out = tmp_path / "out"
    res = in_process(
        "run",
        *fleet.args(),
        "--out-dir",
        str(out),
        "--max-output",
        "10",
        "all",
        "seq 1 1000; echo e >&2",
    )
    assert res.exit_code == 0, res
    expected = "".join(f"{i}\n" for i in range(1, 1001))
    for name in fleet.names:
        assert (out / f"{name}.stdout").read_text() == expected
        assert (out / f"{name}.stderr").read_text() == "e\n"
        rec = json.loads((out / f"{name}.json").read_text())
        assert rec["host"] == name and "truncated" in rec["stdout"]
    assert "truncated" in res.stdout  # the in-memory copy is bounded and says so


def test_junit_report(make_fleet, in_process, tmp_path):
    import xml.etree.ElementTree as ET

    fleet = make_fleet(3)
    junit = tmp_path / "report.xml"
    res = in_process(
        "run",
        *fleet.args(),
        "--junit",
        str(junit),
        "all",
        "test {{ inventory_hostname }} != web02 || { echo bad >&2; exit 9; }",
    )
    assert res.exit_code == 2
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == set(fleet.names)
    assert cases["web02"].find("failure") is not None
    assert cases["web01"].find("failure") is None


def test_invalid_utf8_is_replaced(make_fleet, in_process):
    fleet = make_fleet(1)
    res = in_process("run", *fleet.args(), "--json", "all", r"printf 'ok\377\n'")
    assert json_records(res.stdout)[0]["stdout"] == "ok\ufffd\n"


def test_local_connection_runs_on_control_node(in_process, tmp_path):
    inv = tmp_path / "local.yml"
    inv.write_text("all:\n  hosts:\n    ctl:\n      ansible_connection: local\n")
    res = in_process("run", "-i", str(inv), "--json", "all", "echo local-$((1+1))")
    assert res.exit_code == 0, res
    assert json_records(res.stdout)[0]["stdout"] == "local-2\n"


def test_inline_inventory_list(sshd, in_process, tmp_path):
    res = in_process(
        "run",
        "-i",
        f"127.0.0.1:{sshd.port},",
        "-u",
        sshd.user,
        "--private-key",
        str(sshd.client_key),
        "--known-hosts",
        str(tmp_path / "kh"),
        "--json",
        "all",
        "echo x",
    )
    assert res.exit_code == 0, res
    assert json_records(res.stdout)[0]["host"] == "127.0.0.1"


def test_big_output_keeps_memory_bounded(make_fleet, tmp_path):
    """50 MB from one host: in memory only --max-output is kept; --out-dir gets it all."""
    fleet = make_fleet(1)
    out = tmp_path / "out"

    def peak_rss_kb(command: str) -> int:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner",
                "run",
                *fleet.args(),
                "--out-dir",
                str(out),
                "-q",
                "all",
                command,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode == 0
        return usage.ru_maxrss

    small = peak_rss_kb("echo small")
    big = peak_rss_kb("head -c 50000000 /dev/zero | tr '\\0' x")
    assert (out / "web01.stdout").stat().st_size == 50_000_000
    assert big - small < 20_000, f"peak RSS grew by {(big - small) / 1024:.0f} MB"


def test_sigint_mid_run_reports_partial_results(make_fleet, tmp_path, user_sshd):
    fleet = make_fleet(6, server=user_sshd)
    marker = "41.321"
    cmd = (
        "case {{ inventory_hostname }} in web01|web02) echo quick;; "
        f"*) echo started; sleep {marker};; esac"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", *fleet.args(), "--stream", "all", cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    seen = 0
    assert proc.stdout is not None
    while seen < 4:  # wait until the four slow hosts are running
        line = proc.stdout.readline()
        assert line, "runner ended early"
        seen += "started" in line
    if user_sshd is not None:  # the four remote sleeps run (then ending them means something)
        wait_until(lambda: len(processes_matching(f"^sleep {marker}")) >= 4, 10, "4 sleeps")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert "interrupted=4" in out
    assert "web[03-06]" in out  # the cut-off hosts, folded
    if user_sshd is not None:
        wait_no_remote_left(marker)  # the remote commands must end on Ctrl-C


def test_retries_reconnect_after_transient_refusal(make_fleet, tmp_path, ssh_root):
    """A server that comes up while runner retries: the host ends up ok."""
    fleet = make_fleet(1)
    key = fleet.server.client_key
    late = SSHServer(ssh_root / f"late-{os.getpid()}", key, port=free_port())
    inv = write_inventory(tmp_path / "late.yml", late, ["late1"])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            "-i",
            str(inv),
            "--known-hosts",
            str(tmp_path / "kh"),
            "--retries",
            "4",
            "--json",
            "all",
            "echo up",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    time.sleep(0.8)
    late.start()
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        late.stop()
    assert proc.returncode == 0, err
    assert json_records(out)[0]["stdout"] == "up\n"


def test_wrong_key_is_authentication_failure(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    wrong = keygen(tmp_path / "wrong_key")
    res = in_process(
        "run",
        *fleet.args(),
        "--json",
        "-e",
        f"ansible_ssh_private_key_file={wrong}",
        "all",
        "true",
    )
    assert res.exit_code == 4, res
    rec = json_records(res.stdout)[0]
    assert rec["error_kind"] == "auth" and "authentication failed" in rec["error"]


def test_password_auth_from_environment(user_sshd, tmp_path, ssh_root, in_process):
    """-k / RUNNER_SSH_PASSWORD: password authentication, and a wrong one is reported."""
    if user_sshd is None:
        pytest.skip("password logins need a test user with a password (root only)")
    subprocess.run(["chpasswd"], input=f"{user_sshd.user}:s3cret-pw\n", text=True, check=True)
    server = SSHServer(
        ssh_root / f"pw-{os.getpid()}",
        user_sshd.client_key,
        login_user=user_sshd.user,
        extra_config="PasswordAuthentication yes\nPubkeyAuthentication no\n",
    ).start()
    try:
        inv = tmp_path / "pw.yml"
        inv.write_text(
            f"all:\n  hosts:\n    pw1:\n      ansible_host: 127.0.0.1\n"
            f"      ansible_port: {server.port}\n      ansible_user: {server.user}\n"
        )
        args = ["run", "-i", str(inv), "--known-hosts", str(tmp_path / "kh"), "--json", "all"]
        good = in_process(*args, "whoami", env={"RUNNER_SSH_PASSWORD": "s3cret-pw"})
        bad = in_process(*args, "whoami", env={"RUNNER_SSH_PASSWORD": "wrong"})
    finally:
        server.stop()
        subprocess.run(["usermod", "-p", "*", user_sshd.user], check=True)
    assert good.exit_code == 0, good
    assert json_records(good.stdout)[0]["stdout"] == f"{server.user}\n"
    assert bad.exit_code == 4
    rec = json_records(bad.stdout)[0]
    assert rec["error_kind"] == "auth" and "password" in rec["error"]
    assert "s3cret" not in good.stdout + good.stderr and "wrong" not in bad.stdout + bad.stderr


def test_ssh_agent_keys_are_used(make_fleet, cli, tmp_path):
    """No key file given: the key held by ssh-agent logs in."""
    fleet = make_fleet(3)
    inv = inventory_without_key(fleet, tmp_path / "agent.yml")
    # a real process: runner reads SSH_AUTH_SOCK and HOME from os.environ
    with ssh_agent_holding(fleet.server.client_key, tmp_path) as env:
        res = cli(
            "run",
            "-i",
            str(inv),
            "--known-hosts",
            str(fleet.known_hosts),
            "--json",
            "all",
            "echo via-agent",
            env=env,
        )
    assert res.exit_code == 0, res
    assert {r["stdout"] for r in json_records(res.stdout)[:-1]} == {"via-agent\n"}
