"""The connection keeper against real sshd: the second run opens no new SSH connection
(sshd's own log counts the logins), a connection the server killed or that went silent
is replaced before anything is sent, another uid is refused, the keeper exits after its
idle time, and Ctrl-C through it ends the remote commands.

Every test gets its own runtime folder (XDG_RUNTIME_DIR, so its own keeper) and the
fixture stops that keeper and checks that no keeper process is left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runner.testing.fleet import SSHServer, processes_matching, wait_until
from tests.conftest import REPO, Fleet, json_records, run_cli, run_inprocess


@pytest.fixture(scope="module")
def logged_sshd(ssh_root, client_key):
    """A real sshd that logs every login (LogLevel VERBOSE: 'Accepted publickey for')."""
    server = SSHServer(ssh_root / "keeper-sshd", client_key, extra_config="LogLevel VERBOSE")
    server.start()
    yield server
    server.stop()


def logins(server: SSHServer) -> int:
    return (server.workdir / "sshd.log").read_text(errors="replace").count("Accepted publickey for")


def sessions(server: SSHServer) -> list[str]:
    """The pids of the per-connection sshd processes (children of the listener)."""
    assert server.proc is not None
    found = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True)
    return found.stdout.split()


class Keeper:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {"XDG_RUNTIME_DIR": str(folder), "RUNNER_PERSIST": "30"}

    def run(self, *args: str, **env: str | None) -> object:
        return run_inprocess(*args, env={**self.env, **env})

    def status(self) -> str:
        return run_inprocess("keeper", "status", env=self.env).stdout

    def pids(self) -> list[str]:
        return processes_matching(f"runner _keeper --socket {self.folder}/")

    def log(self) -> str:
        return "".join(p.read_text() for p in (self.folder / "runner").glob("keeper-*.log"))


@pytest.fixture
def keeper():
    folder = Path(tempfile.mkdtemp(prefix="rk-", dir="/tmp"))  # a short socket path
    folder.chmod(0o700)
    kept = Keeper(folder)
    try:
        yield kept
    finally:
        run_inprocess("keeper", "stop", env=kept.env)
        left = wait_until(lambda: not kept.pids() or None, 10, "the keeper to exit") is None
        shutil.rmtree(folder, ignore_errors=True)
        assert not left, kept.pids()


@pytest.fixture
def fleet(make_fleet, logged_sshd) -> Fleet:
    return make_fleet(3, server=logged_sshd)


def test_the_second_run_opens_no_new_connection(keeper, fleet):
    before = logins(fleet.server)
    first = keeper.run("run", *fleet.args(), "--json", "all", "echo hi; exit 3")
    assert first.exit_code == 2, first
    assert logins(fleet.server) == before + 3
    second = keeper.run("run", *fleet.args(), "--json", "all", "echo hi; exit 3")
    assert logins(fleet.server) == before + 3  # the same three connections served it
    assert second.exit_code == first.exit_code

    def shape(result):
        records = [
            {k: v for k, v in r.items() if k not in ("started", "duration")}
            for r in json_records(result.stdout)
        ]
        return sorted(records, key=lambda r: r.get("host", "~"))

    assert shape(second) == shape(first)
    assert [r.get("exit_code") for r in shape(second)] == [3, 3, 3, None]
    status = keeper.status()
    assert "3 connections held" in status, status
    for name in fleet.names:
        assert f"({name})" in status
    assert len(keeper.pids()) == 1


def test_anything_else_gets_a_new_connection(keeper, fleet, tmp_path):
    assert keeper.run("run", *fleet.args(), "all", "true").exit_code == 0
    before = logins(fleet.server)
    other_known = tmp_path / "other_known_hosts"
    shutil.copy(fleet.known_hosts, other_known)
    args = ["-i", str(fleet.inventory), "--known-hosts", str(other_known)]
    assert keeper.run("run", *args, "all", "true").exit_code == 0
    assert logins(fleet.server) == before + 3  # another known_hosts file: new connections
    assert keeper.run("run", *fleet.args(), "all", "true").exit_code == 0
    assert logins(fleet.server) == before + 3  # the first ones are still held


def test_play_copy_and_fetch_use_the_keeper_too(keeper, fleet, tmp_path):
    playbook = tmp_path / "site.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo hi\n")
    assert keeper.run("run", *fleet.args(), "all", "true").exit_code == 0
    before = logins(fleet.server)
    played = keeper.run("play", *fleet.args(), str(playbook))
    assert played.exit_code == 0, played
    assert "ok=1" in played.stdout and "changed=1" in played.stdout, played
    src = tmp_path / "file.txt"
    src.write_text("content\n")
    dest = f"/tmp/runner-keeper-{os.getpid()}-{{{{ inventory_hostname }}}}.txt"
    copied = keeper.run("copy", *fleet.args(), "all", str(src), dest)
    assert copied.exit_code == 0, copied
    fetched = keeper.run(
        "fetch",
        *fleet.args(),
        "web01",
        dest.replace("{{ inventory_hostname }}", "web01"),
        str(tmp_path / "out"),
    )
    assert fetched.exit_code == 0, fetched
    assert logins(fleet.server) == before  # all three on the held connections
    for name in fleet.names:
        os.unlink(f"/tmp/runner-keeper-{os.getpid()}-{name}.txt")


def test_a_connection_killed_by_the_server_is_replaced(keeper, fleet):
    assert keeper.run("run", *fleet.args(), "all", "true").exit_code == 0
    before = logins(fleet.server)
    killed = sessions(fleet.server)
    assert len(killed) == 3
    for pid in killed:
        os.kill(int(pid), signal.SIGKILL)
    wait_until(lambda: not set(killed) & set(sessions(fleet.server)), 10, "the sessions to end")
    again = keeper.run("run", *fleet.args(), "--json", "all", "echo again")
    assert again.exit_code == 0, again
    records = json_records(again.stdout)
    assert sorted(r["stdout"] for r in records if r["type"] == "host") == ["again\n"] * 3
    assert logins(fleet.server) == before + 3


def test_a_silent_connection_is_replaced_before_anything_is_sent(keeper, fleet, tmp_path):
    """The server's side stops answering (SIGSTOP: no FIN, no reply): the request to open
    the first channel gets no answer, and the run goes on a new connection; nothing ran
    on the frozen one."""
    marker = tmp_path / "ran"
    assert keeper.run("run", *fleet.args(), "web01", "true").exit_code == 0
    frozen = sessions(fleet.server)
    assert len(frozen) == 1
    os.kill(int(frozen[0]), signal.SIGSTOP)
    try:
        before = logins(fleet.server)
        again = keeper.run("run", *fleet.args(), "web01", f"echo >> {marker}; echo fine")
        assert again.exit_code == 0, again
        assert "fine" in again.stdout
        assert logins(fleet.server) == before + 1
    finally:
        os.kill(int(frozen[0]), signal.SIGCONT)
    wait_until(lambda: len(sessions(fleet.server)) <= 2, 10, "the sessions to settle")
    assert marker.read_text() == "\n"  # the command ran once, on the new connection


def test_a_peer_with_another_uid_is_refused(keeper, fleet):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to connect as another user")
    assert keeper.run("run", *fleet.args(), "all", "true").exit_code == 0
    folder = keeper.folder / "runner"
    (sock,) = folder.glob("keeper-*.sock")
    keeper.folder.chmod(0o711)  # let nobody reach the socket, for this test only
    folder.chmod(0o711)
    sock.chmod(0o777)
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"s.connect({str(sock)!r})\n"
        "s.settimeout(10)\n"
        "try:\n"
        '    s.sendall(b\'{"protocol":1,"type":"status"}\\n\')\n'
        "    print(repr(s.recv(100)))\n"
        "except (BrokenPipeError, ConnectionResetError):\n"
        "    print('closed')\n"
    )
    try:
        done = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            + [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        keeper.folder.chmod(0o700)
        folder.chmod(0o700)
        sock.chmod(0o600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("b''", "closed")  # closed without a word
    assert "refused a connection from uid 65534" in keeper.log()
    # and the keeper still serves its own user
    assert "3 connections held" in keeper.status()


def test_a_keeper_of_another_user_is_never_used(keeper, fleet):
    """The runtime folder must be the user's own, 0700: else the run goes on without
    the keeper (and no keeper starts)."""
    folder = keeper.folder / "runner"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    done = keeper.run("run", *fleet.args(), "all", "echo hi")
    assert done.exit_code == 0, done
    assert "connection keeper not used" in done.stderr and "open to others" in done.stderr
    assert not keeper.pids()
    assert not list(folder.iterdir())


def test_the_keeper_exits_after_its_idle_time(keeper, fleet):
    assert keeper.run("run", *fleet.args(), "--persist", "2", "all", "true").exit_code == 0
    assert len(keeper.pids()) == 1
    held = len(sessions(fleet.server))
    wait_until(lambda: not keeper.pids(), 20, "the keeper to exit after 2 s idle")
    assert not list((keeper.folder / "runner").glob("*.sock"))
    wait_until(lambda: len(sessions(fleet.server)) <= held - 3, 30, "its connections to close")
    assert "exiting: idle for 2s" in keeper.log()


def test_no_keeper_under_ci_unless_asked(keeper, fleet):
    done = keeper.run("run", *fleet.args(), "all", "true", CI="true", RUNNER_PERSIST=None)
    assert done.exit_code == 0
    assert not keeper.pids()
    asked = keeper.run("run", *fleet.args(), "--persist", "5", "all", "true", CI="true")
    assert asked.exit_code == 0
    assert len(keeper.pids()) == 1


def test_a_bad_runner_persist_is_an_input_error(keeper, fleet):
    done = keeper.run("run", *fleet.args(), "all", "true", RUNNER_PERSIST="soon")
    assert done.exit_code == 1
    assert "RUNNER_PERSIST = 'soon': expected seconds" in done.stderr


def test_ctrl_c_through_the_keeper_ends_remote_commands(keeper, make_fleet, user_sshd):
    if user_sshd is None:
        pytest.skip("needs root for a non-root login (sshd honours signals only there)")
    fleet = make_fleet(3, server=user_sshd)
    env = {**os.environ, "PYTHONPATH": str(REPO), **keeper.env}
    assert run_cli("run", *fleet.args(), "all", "true", env=keeper.env).exit_code == 0
    marker = "52.417"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", *fleet.args(), "--stream", "all"]
        + [f"echo started; sleep {marker}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    seen = 0
    while seen < 3:
        line = proc.stdout.readline()
        assert line, "runner ended early"
        seen += "started" in line
    wait_until(lambda: len(processes_matching(f"^sleep {marker}")) >= 3, 10, "3 sleeps")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert "interrupted=3" in out
    wait_until(lambda: not processes_matching(f"^sleep {marker}"), 10, "the sleeps to end")
    # the keeper goes on serving
    again = run_cli("run", *fleet.args(), "all", "echo after", env=keeper.env)
    assert again.exit_code == 0 and "after" in again.stdout


def test_the_keeper_socket_speaks_only_json_lines(keeper, fleet):
    """A record of another protocol version gets no run; the keeper goes on."""
    assert keeper.run("run", *fleet.args(), "all", "true").exit_code == 0
    (sock_path,) = (keeper.folder / "runner").glob("keeper-*.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(sock_path))
        sock.sendall(json.dumps({"protocol": 99, "type": "stop"}).encode() + b"\n")
        sock.settimeout(10)
        assert sock.recv(100) == b""
    assert len(keeper.pids()) == 1


def test_hosts_behind_a_bastion_reuse_both_connections(keeper, make_fleet, ssh_root, client_key):
    """The bastion's connection is held too: the second run logs in nowhere."""
    bastion = SSHServer(
        ssh_root / f"keeper-bastion-{os.getpid()}",
        client_key,
        extra_config="LogLevel VERBOSE\nAllowTcpForwarding yes\n",
    ).start()
    try:
        target = SSHServer(
            ssh_root / f"keeper-target-{os.getpid()}", client_key, extra_config="LogLevel VERBOSE"
        ).start()
        try:
            fleet = make_fleet(4, server=target)
            jump = ["-J", f"{bastion.user}@127.0.0.1:{bastion.port}"]
            first = keeper.run("run", *fleet.args(), *jump, "all", "echo $SSH_CLIENT")
            assert first.exit_code == 0, first
            assert "127.0.0.1 " in first.stdout
            assert (logins(bastion), logins(target)) == (1, 4)
            second = keeper.run("run", *fleet.args(), *jump, "all", "echo again")
            assert second.exit_code == 0, second
            assert (logins(bastion), logins(target)) == (1, 4)
            assert f"bastion {bastion.user}@127.0.0.1:{bastion.port}" in keeper.status()
            direct = keeper.run("run", *fleet.args(), "all", "true")  # no jump: not the same
            assert direct.exit_code == 0
            assert (logins(bastion), logins(target)) == (1, 8)
        finally:
            run_inprocess("keeper", "stop", env=keeper.env)
            target.stop()
    finally:
        bastion.stop()


def test_timeouts_are_the_same_and_the_connection_stays_held(keeper, fleet):
    args = [*fleet.args(), "--json", "-t", "1", "web01", "sleep 30"]
    without = run_inprocess("run", *args, env={**keeper.env, "RUNNER_PERSIST": "0"})
    first = keeper.run("run", *args)
    assert first.exit_code == without.exit_code == 2
    (mine,), (theirs,) = (
        [r for r in json_records(res.stdout) if r["type"] == "host"] for res in (first, without)
    )
    assert mine["error"] == theirs["error"] == "command timed out after 1s"
    assert mine["error_kind"] == "timeout"
    before = logins(fleet.server)
    after = keeper.run("run", *fleet.args(), "web01", "echo next")
    assert after.exit_code == 0 and "next" in after.stdout
    assert logins(fleet.server) == before


def test_a_host_key_replaced_in_known_hosts_is_not_reused(keeper, fleet):
    """The held connection's key is checked again against this run's known_hosts: a
    changed entry fails the host as it would without the keeper."""
    assert keeper.run("run", *fleet.args(), "web01", "true").exit_code == 0
    text = fleet.known_hosts.read_text()
    other = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(fleet.known_hosts) + ".k"],
        check=True,
    )
    assert other.returncode == 0
    fake = Path(str(fleet.known_hosts) + ".k.pub").read_text().split()[:2]
    name = text.split()[0]
    fleet.known_hosts.write_text(f"{name} {' '.join(fake)}\n")
    before = logins(fleet.server)
    done = keeper.run("run", *fleet.args(), "--json", "web01", "echo ran")
    assert done.exit_code == 4, done
    (host,) = [r for r in json_records(done.stdout) if r["type"] == "host"]
    assert host["error_kind"] == "hostkey" and "ran" not in done.stdout
    without = run_inprocess(
        "run", *fleet.args(), "--json", "web01", "echo ran", env={"RUNNER_PERSIST": "0"}
    )
    (plain,) = [r for r in json_records(without.stdout) if r["type"] == "host"]
    assert plain["error"] == host["error"]
    assert logins(fleet.server) == before  # refused at the key, before authentication


def test_secrets_reach_the_keeper_only_over_its_socket(keeper, fleet, tmp_path):
    """An encrypted key's passphrase from RUNNER_KEY_PASSPHRASE: the keeper's command line,
    environment and files never hold it, and the second run reuses the connection."""
    key = tmp_path / "locked_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "Pass-4711-word", "-f", str(key)], check=True
    )
    auth = fleet.server.workdir / "authorized_keys"
    auth.write_text(auth.read_text() + Path(f"{key}.pub").read_text())
    args = ["-i", str(fleet.inventory), "--known-hosts", str(fleet.known_hosts)]
    inventory = fleet.inventory.read_text().replace(str(fleet.server.client_key), str(key))
    fleet.inventory.write_text(inventory)
    env = {"RUNNER_KEY_PASSPHRASE": "Pass-4711-word"}
    first = keeper.run("run", *args, "web01", "echo locked", **env)
    assert first.exit_code == 0 and "locked" in first.stdout, first
    before = logins(fleet.server)
    again = keeper.run("run", *args, "web01", "echo locked", **env)
    assert again.exit_code == 0 and logins(fleet.server) == before
    (pid,) = keeper.pids()
    for place in (f"/proc/{pid}/cmdline", f"/proc/{pid}/environ"):
        assert b"Pass-4711-word" not in Path(place).read_bytes()
    for path in (keeper.folder / "runner").iterdir():
        if path.is_file():
            assert b"Pass-4711-word" not in path.read_bytes()


def test_verbose_logs_of_the_keeper_side_reach_the_operator(keeper, fleet):
    assert keeper.run("run", *fleet.args(), "web01", "true").exit_code == 0
    done = keeper.run("run", *fleet.args(), "-vvv", "web01", "echo hi")
    assert done.exit_code == 0, done
    assert "paramiko.transport DEBUG" in done.stderr  # logged in the keeper, shown here
    quiet = keeper.run("run", *fleet.args(), "web01", "echo hi")
    assert "DEBUG" not in quiet.stderr


def test_a_run_while_the_keeper_is_busy_runs_in_its_own_process(keeper, fleet):
    assert keeper.run("run", *fleet.args(), "web01", "true").exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(REPO), **keeper.env}
    busy = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", *fleet.args(), "--stream", "web01"]
        + ["echo started; sleep 3; echo slow-done"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert busy.stdout is not None
    assert "started" in busy.stdout.readline()
    before = logins(fleet.server)
    meanwhile = keeper.run("run", *fleet.args(), "web02", "echo meanwhile")
    assert meanwhile.exit_code == 0 and "meanwhile" in meanwhile.stdout
    assert logins(fleet.server) == before + 1  # its own connection, made in its process
    out, err = busy.communicate(timeout=30)
    assert busy.returncode == 0, err
    assert "slow-done" in out
    status = keeper.status()  # the keeper served two runs; the third made and closed its own
    assert "1 connection held, 2 runs served" in status, status


def test_relative_paths_mean_the_clients_folder(keeper, fleet, tmp_path):
    """The keeper works in the client's folder: a relative --out-dir and fetch DESTDIR
    land where they would without it."""
    assert run_cli("run", *fleet.args(), "web01", "true", env=keeper.env).exit_code == 0
    work = tmp_path / "work"
    work.mkdir()
    done = run_cli(
        "run", *fleet.args(), "--out-dir", "kept", "web01", "echo here", env=keeper.env, cwd=work
    )
    assert done.exit_code == 0, done
    assert (work / "kept" / "web01.stdout").read_text() == "here\n"
    fetched = run_cli(
        "fetch", *fleet.args(), "web01", "/etc/hostname", "got", env=keeper.env, cwd=work
    )
    assert fetched.exit_code == 0, fetched
    assert (work / "got" / "web01" / "hostname").exists()
    assert "3 runs served" in keeper.status()  # all three were served by the keeper


def test_vault_values_are_decrypted_in_the_keeper_with_the_runs_password(keeper, fleet, tmp_path):
    """A !vault value read by the command is decrypted on the keeper's side with the
    run's vault password, which reaches it only over its socket (as the other secrets)."""
    from runner.vault import crypto

    text = crypto.encrypt(b"vaulted-4711", b"Vault-pw-0815")
    lines = "".join(f"  {line}\n" for line in text.splitlines())
    (tmp_path / "secret.yml").write_text(f"token: !vault |\n{lines}")
    pw = tmp_path / "pw"
    pw.write_text("Vault-pw-0815\n")
    args = [*fleet.args(), "-e", f"@{tmp_path / 'secret.yml'}", "--json", "web01"]
    first = keeper.run("run", *args, "echo {{ token }}", ANSIBLE_VAULT_PASSWORD_FILE=str(pw))
    assert first.exit_code == 0 and "vaulted-4711" in first.stdout, first
    before = logins(fleet.server)
    again = keeper.run("run", *args, "--vault-password-file", str(pw), "echo {{ token }}")
    assert again.exit_code == 0 and "vaulted-4711" in again.stdout, again
    assert logins(fleet.server) == before  # the keeper served it on the held connection
    (pid,) = keeper.pids()
    for place in (f"/proc/{pid}/cmdline", f"/proc/{pid}/environ"):
        assert b"Vault-pw-0815" not in Path(place).read_bytes()
    locked = keeper.run("run", *args, "echo {{ token }}")
    assert locked.exit_code == 2 and "no vault password was given" in locked.stdout, locked
