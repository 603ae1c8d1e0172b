"""Faults that must leave true results: real sshd processes killed, frozen and refusing,
and 1,000 hosts of which 100 are unreachable in four different ways."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.testing.fleet import (
    SilentServer,
    SSHServer,
    free_port,
    host_names,
    keygen,
    processes_matching,
    wait_until,
    write_inventory,
)
from tests.conftest import REPO, json_records

pytestmark = pytest.mark.sshd


def host_records(stdout: str) -> dict[str, dict]:
    return {r["host"]: r for r in json_records(stdout) if r["type"] == "host"}


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (sshd's per-connection children call setsid, so they
    are not in the listener's process group, but they are still its children)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children[ppid].append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def signal_sessions(server: SSHServer, sig: int, *, listener: bool = False) -> int:
    """Send ``sig`` to the server's sshd session processes (and the listener if asked)."""
    assert server.proc is not None
    pids = [p for p in descendants(server.proc.pid) if process_name(p) == "sshd"]
    if listener:
        pids.append(server.proc.pid)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    return len(pids)


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def out_dir_records(out: Path) -> dict[str, dict]:
    """The per-host JSON records --out-dir wrote (for runs watched with --stream)."""
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def wait_for_lines(proc: subprocess.Popen, text: str, count: int) -> None:
    seen = 0
    assert proc.stdout is not None
    while seen < count:
        line = proc.stdout.readline()
        assert line, f"runner ended early: {proc.stderr.read() if proc.stderr else ''}"
        seen += text in line


def wait_no_remote_left(marker: str, timeout: float = 5) -> None:
    """Fail unless every remote ``sleep MARKER`` has ended within ``timeout`` seconds."""
    wait_until(
        lambda: not processes_matching(f"^sleep {marker}"),
        timeout,
        f"the remote 'sleep {marker}' to be ended",
    )


@pytest.fixture
def victim(ssh_root, client_key):
    """A throwaway sshd that a test may kill or freeze."""
    server = SSHServer(ssh_root / f"victim-{time.monotonic_ns()}", client_key).start()
    yield server
    with contextlib.suppress(Exception):
        signal_sessions(server, signal.SIGCONT)
    signal_sessions(server, signal.SIGKILL)
    server.stop()


def mixed_inventory(tmp_path, victim: SSHServer, healthy: SSHServer, n: int = 3) -> Path:
    """n hosts on the victim sshd (vic*) and n on a healthy one (ok*)."""
    inv = tmp_path / "mixed.yml"
    lines = [
        "all:",
        "  vars:",
        f"    ansible_user: {healthy.user}",
        f"    ansible_ssh_private_key_file: {healthy.client_key}",
        "    ansible_host: 127.0.0.1",
        "  hosts:",
    ]
    for name in host_names(n, "vic"):
        lines += [f"    {name}:", f"      ansible_port: {victim.port}"]
    for name in host_names(n, "ok"):
        lines += [f"    {name}:", f"      ansible_port: {healthy.port}"]
    inv.write_text("\n".join(lines) + "\n")
    return inv


CMD = "case {{ inventory_hostname }} in vic*) echo started; sleep 30;; *) sleep 1; echo done;; esac"


def test_sshd_killed_mid_command_is_connection_lost(victim, sshd, tmp_path):
    inv = mixed_inventory(tmp_path, victim, sshd)
    kh = str(tmp_path / "kh")
    out_dir = tmp_path / "out"
    proc = start_cli(
        "run",
        "-i",
        str(inv),
        "--known-hosts",
        kh,
        "--stream",
        "--out-dir",
        str(out_dir),
        "all",
        CMD,
    )
    started = time.monotonic()
    wait_for_lines(proc, "| started", 3)
    assert signal_sessions(victim, signal.SIGKILL, listener=True) >= 3
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 15, "nothing may hang"
    assert proc.returncode == 4, err
    recs = out_dir_records(out_dir)
    assert len(recs) == 6
    for name in host_names(3, "vic"):
        assert recs[name]["status"] == "unreachable", recs[name]
        assert recs[name]["error_kind"] == "lost"
        assert "connection lost" in recs[name]["error"]
    for name in host_names(3, "ok"):
        assert (recs[name]["status"], recs[name]["stdout"]) == ("ok", "done\n")


def test_frozen_host_ends_by_keepalive_as_lost(victim, sshd, tmp_path):
    inv = mixed_inventory(tmp_path, victim, sshd, n=2)
    kh = str(tmp_path / "kh")
    proc = start_cli(
        "run", "-i", str(inv), "--known-hosts", kh, "--keepalive", "0.5", "--json", "all", CMD
    )
    wait_until(
        lambda: len([p for p in descendants(victim.proc.pid) if process_name(p) == "sleep"]) >= 2,
        10,
        "both remote commands to run on the victim",
    )
    frozen_at = time.monotonic()
    assert signal_sessions(victim, signal.SIGSTOP) >= 2
    out, err = proc.communicate(timeout=20)
    elapsed = time.monotonic() - frozen_at
    assert 1.0 <= elapsed < 8, elapsed  # 3 keepalives of 0.5 s, not the 30 s command
    assert proc.returncode == 4, err
    recs = host_records(out)
    for name in host_names(2, "vic"):
        assert recs[name]["status"] == "unreachable" and recs[name]["error_kind"] == "lost"
        assert "no answer to 3 keepalives" in recs[name]["error"]
    assert {recs[n]["status"] for n in host_names(2, "ok")} == {"ok"}


def test_frozen_host_without_keepalive_ends_by_command_timeout(victim, tmp_path):
    inv = write_inventory(tmp_path / "one.yml", victim, ["frozen1"])
    kh = str(tmp_path / "kh")
    proc = start_cli(
        "run",
        "-i",
        str(inv),
        "--known-hosts",
        kh,
        "-t",
        "2",
        "--stream",
        "--out-dir",
        str(tmp_path / "out"),
        "all",
        "echo started; sleep 30",
    )
    wait_for_lines(proc, "| started", 1)
    signal_sessions(victim, signal.SIGSTOP)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2, err
    rec = out_dir_records(tmp_path / "out")["frozen1"]
    assert rec["status"] == "failed" and rec["error_kind"] == "timeout"
    assert "timed out after 2s" in rec["error"]


def test_pty_timeout_hangs_up_the_remote_command(make_fleet, in_process):
    """With a pty runner does not wrap the command: closing the channel hangs the
    terminal up and SIGHUP ends the command (a root login here)."""
    fleet = make_fleet(1)
    marker = "43.217"
    res = in_process("run", *fleet.args(), "--pty", "-t", "1", "--json", "all", f"sleep {marker}")
    assert res.exit_code == 2, res
    assert json_records(res.stdout)[0]["error_kind"] == "timeout"
    wait_no_remote_left(marker)  # closing the pty must hang the command up


def test_pty_gives_a_terminal_and_one_stream(make_fleet, in_process):
    fleet = make_fleet(1)
    res = in_process("run", *fleet.args(), "--pty", "--json", "all", "tty; echo err >&2")
    rec = json_records(res.stdout)[0]
    assert rec["stdout"].startswith("/dev/pts/") and "err" in rec["stdout"]  # one stream


def test_auth_failures_are_distinct(make_fleet, in_process, tmp_path, ssh_root, user_sshd):
    fleet = make_fleet(1)
    args = ["run", *fleet.args(), "--json"]
    # 1. a key the server does not know
    wrong = keygen(tmp_path / "wrong_key")
    refused = in_process(*args, "-e", f"ansible_ssh_private_key_file={wrong}", "all", "true")
    # 2. an encrypted key without its passphrase, then with it
    locked = tmp_path / "locked_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f", str(locked)], check=True
    )
    authorized = fleet.server.workdir / "authorized_keys"
    authorized.write_text(authorized.read_text() + Path(f"{locked}.pub").read_text())
    encrypted = in_process(*args, "-e", f"ansible_ssh_private_key_file={locked}", "all", "true")
    unlocked = in_process(
        *args,
        "-e",
        f"ansible_ssh_private_key_file={locked}",
        "all",
        "echo unlocked",
        env={"RUNNER_KEY_PASSPHRASE": "pass phrase"},
    )
    # 3. a server that takes no keys at all
    nokeys = SSHServer(
        ssh_root / f"nokeys-{os.getpid()}",
        fleet.server.client_key,
        extra_config="PubkeyAuthentication no\nPasswordAuthentication yes\n",
    ).start()
    try:
        inv = write_inventory(tmp_path / "nokeys.yml", nokeys, ["nk1"])
        not_accepted = in_process(
            "run", "-i", str(inv), "--known-hosts", str(tmp_path / "kh2"), "--json", "all", "true"
        )
    finally:
        nokeys.stop()
    messages = []
    for res, expected in (
        (refused, "key refused"),
        (encrypted, "encrypted: set RUNNER_KEY_PASSPHRASE"),
        (not_accepted, "publickey not allowed"),
    ):
        assert res.exit_code == 4, res
        rec = json_records(res.stdout)[0]
        assert rec["error_kind"] == "auth" and expected in rec["error"], rec["error"]
        messages.append(rec["error"])
    assert "the server accepts: password" in messages[2]
    assert unlocked.exit_code == 0, unlocked
    assert "pass phrase" not in unlocked.stdout + unlocked.stderr
    # 4. a wrong password (needs a user with a password: root only)
    if user_sshd is None:
        return
    pw_server = SSHServer(
        ssh_root / f"pwonly-{os.getpid()}",
        user_sshd.client_key,
        login_user=user_sshd.user,
        extra_config="PasswordAuthentication yes\nPubkeyAuthentication no\n",
    ).start()
    subprocess.run(["chpasswd"], input=f"{user_sshd.user}:right-pw\n", text=True, check=True)
    try:
        inv = tmp_path / "pw.yml"
        inv.write_text(
            f"all:\n  hosts:\n    pw1:\n      ansible_host: 127.0.0.1\n"
            f"      ansible_port: {pw_server.port}\n      ansible_user: {pw_server.user}\n"
        )
        bad = in_process(
            "run",
            "-i",
            str(inv),
            "--known-hosts",
            str(tmp_path / "kh3"),
            "--json",
            "all",
            "true",
            env={"RUNNER_SSH_PASSWORD": "not-it"},
        )
    finally:
        pw_server.stop()
        subprocess.run(["usermod", "-p", "*", user_sshd.user], check=True)
    assert bad.exit_code == 4, bad
    rec = json_records(bad.stdout)[0]
    assert rec["error_kind"] == "auth" and "password (rejected)" in rec["error"]
    assert len(set(messages + [rec["error"]])) == 4


def test_thousand_hosts_hundred_unreachable_in_four_ways(sshd, tmp_path, client_key):
    """900 good hosts and 100 bad ones (refused, silent, wrong key, lost mid-command):
    every host gets exactly one result, the counts add up, the run ends in bounded time."""
    wrong = keygen(tmp_path / "wrong")
    silent = SilentServer()
    closed = free_port()
    names = host_names(1000, "n")
    kinds = {}
    host_vars: dict[str, dict] = {}
    for i, name in enumerate(names):
        if i % 10:
            continue
        kind = ("refused", "silent", "auth", "lost")[(i // 10) % 4]
        kinds[name] = kind
        host_vars[name] = {
            "refused": {"ansible_port": closed},
            "silent": {"ansible_port": silent.port, "ansible_ssh_timeout": 2},
            "auth": {"ansible_ssh_private_key_file": str(wrong)},
            "lost": {"drop_me": True},
        }[kind]
    inv = write_inventory(tmp_path / "k.yml", sshd, names, host_vars=host_vars)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "runner",
                "run",
                "-i",
                str(inv),
                "--known-hosts",
                str(tmp_path / "kh"),
                "-f",
                "500",
                "--json",
                "all",
                "{% if drop_me is defined %}kill -9 $PPID; sleep 5; {% endif %}echo ok",
            ],
            capture_output=True,
            text=True,
            timeout=90,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    finally:
        silent.close()
    elapsed = time.monotonic() - started
    assert proc.returncode == 4, proc.stderr[-2000:]
    records = json_records(proc.stdout)
    hosts = [r for r in records if r["type"] == "host"]
    assert sorted(r["host"] for r in hosts) == sorted(names)  # exactly one result each
    by_kind = collections.Counter()
    for rec in hosts:
        kind = kinds.get(rec["host"])
        if kind is None:
            assert (rec["status"], rec["stdout"]) == ("ok", "ok\n"), rec
            continue
        assert rec["status"] == "unreachable", rec
        expected = {
            "refused": "connection refused",
            "silent": "no SSH greeting",
            "auth": "authentication failed",
            "lost": "connection lost",
        }[kind]
        assert expected in rec["error"], rec
        by_kind[kind] += 1
    assert by_kind == {"refused": 25, "silent": 25, "auth": 25, "lost": 25}
    summary = records[-1]
    assert (summary["hosts"], summary["ok"], summary["unreachable"], summary["failed"]) == (
        1000,
        900,
        100,
        0,
    )
    assert elapsed < 60, elapsed
