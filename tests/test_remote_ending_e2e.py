"""A command runner stops waiting for (``-t``, Ctrl-C, a play task's ``timeout:``) is
ended on the host, for root and non-root logins, with and without become, and nothing of
it is left; when the end cannot be confirmed, the host says the command may still run.

Every command here has a unique ``sleep N.NNNNNN`` so its processes can be found with
pgrep; "nothing left" is polled against a deadline. The test sshd (``sshd``) is started
by root, so its logins are root logins, where OpenSSH refuses "signal" requests.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest

from runner.testing.fleet import SSHServer, processes_matching, wait_until, write_inventory
from tests.conftest import BECOME_PASSWORD, REPO, SYSTEM_USER, json_records

pytestmark = pytest.mark.sshd


def unique_sleep() -> str:
    """A sleep argument no other process has: ``sleep 3NN.NNNNNN`` (about 5 minutes)."""
    return f"{random.randint(300, 399)}.{random.randint(100000, 999999)}"


def left(marker: str) -> list[str]:
    return processes_matching(f"^sleep {marker}")


def wait_none_left(marker: str, timeout: float = 10) -> None:
    wait_until(lambda: not left(marker), timeout, f"no process 'sleep {marker}' on the host")


def owners(pids: list[str]) -> set[str]:
    found = subprocess.run(["ps", "-o", "user=", "-p", ",".join(pids)], capture_output=True)
    return set(found.stdout.decode().split())


def need_root() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but the tests do not run as root (no root login to test)")
        pytest.skip("needs root: the sshd fixture's logins are root logins only then")


# login -> (server fixture, become options, sudo's password, the user the sleep runs as)
LOGINS = {
    "root": ("sshd", [], None, "root"),
    "user": ("user_sshd", [], None, SYSTEM_USER),
    "root-become-daemon": ("sshd", ["-b", "--become-user", "daemon"], None, "daemon"),
    "user-become-root-password": ("sudo_user", ["-b"], BECOME_PASSWORD, "root"),
    "user-become-daemon": ("sudo_user", ["-b", "--become-user", "daemon"], None, "daemon"),
}


class Login:
    def __init__(self, request, make_fleet, name: str) -> None:
        need_root()
        server_fixture, self.become, password, self.runs_as = LOGINS[name]
        self.server: SSHServer = request.getfixturevalue(server_fixture)
        assert self.server.user == ("root" if server_fixture == "sshd" else SYSTEM_USER)
        self.fleet = make_fleet(1, server=self.server)
        self.env = {"RUNNER_BECOME_PASSWORD": password} if password else {}

    def args(self, *more: str) -> list[str]:
        return [*self.fleet.args(), *self.become, *more]


@pytest.fixture(params=list(LOGINS))
def login(request, make_fleet):
    return Login(request, make_fleet, request.param)


@pytest.mark.parametrize("ignores_term", [False, True], ids=["plain", "ignores-TERM"])
def test_timeout_ends_the_command(login, in_process, tmp_path, ignores_term):
    marker = unique_sleep()
    trap = "trap '' TERM; " if ignores_term else ""  # the sleep inherits it: KILL is needed
    command = f"{trap}id -un; sleep {marker}; echo not-ended"
    out = tmp_path / "out"
    res = in_process(
        "run", *login.args("-t", "2", "--json", "--out-dir", str(out)), "all", command,
        env=login.env,
    )  # fmt: skip
    assert res.exit_code == 2, res
    record = json_records(res.stdout)[0]
    assert record["error_kind"] == "timeout", record
    assert record["error"] == "command timed out after 2s", record  # ended: nothing to add
    # it ran as who it should, and the marker runner strips never reaches the output
    assert (out / "web01.stdout").read_text() == f"{login.runs_as}\n"
    assert "RUNNER-PGID" not in (out / "web01.stderr").read_text()
    assert "RUNNER-PGID" not in res.stdout + res.stderr
    wait_none_left(marker)


def start_runner(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def interrupt_when_running(proc: subprocess.Popen, marker: str) -> tuple[str, str, set[str]]:
    """SIGINT ``proc`` once the remote ``sleep MARKER`` runs; (stdout, stderr, the users
    the sleep ran as)."""
    try:
        pids = wait_until(lambda: left(marker), 60, f"the remote 'sleep {marker}' to start")
        assert isinstance(pids, list)
        users = owners(pids)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return out, err, users


@pytest.mark.parametrize("ignores_term", [False, True], ids=["plain", "ignores-TERM"])
def test_ctrl_c_ends_the_command(login, ignores_term):
    marker = unique_sleep()
    trap = "trap '' TERM; " if ignores_term else ""
    proc = start_runner(
        "run", *login.args("--stream"), "all", f"{trap}sleep {marker}", env=login.env
    )
    out, err, users = interrupt_when_running(proc, marker)
    assert users == {login.runs_as}
    assert proc.returncode == 130, err
    assert "interrupted=1" in out
    assert "may still be running" not in err
    wait_none_left(marker)


@pytest.mark.parametrize("procs", ["1", "2"])
def test_ctrl_c_ends_every_hosts_command_on_root_logins(make_fleet, procs):
    """The issue's case: Ctrl-C during a many-host run left a process per host."""
    need_root()
    fleet = make_fleet(16)
    marker = unique_sleep()
    proc = start_runner("run", *fleet.args(), "--procs", procs, "all", f"sleep {marker}", env={})
    try:
        wait_until(lambda: len(left(marker)) == 16, 60, "16 remote sleeps")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted=16" in out
    assert "may still be running" not in err
    wait_none_left(marker)


PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: slow
      shell: "id -un; sleep {marker}"
      timeout: {timeout}
{become}
"""


@pytest.mark.parametrize("become", [None, "daemon"], ids=["no-become", "become-daemon"])
@pytest.mark.parametrize("server_fixture", ["sshd", "user_sshd"], ids=["root", "user"])
def test_play_task_timeout_ends_the_command(
    request, make_fleet, in_process, tmp_path, become, server_fixture
):
    need_root()
    server = request.getfixturevalue(
        "sudo_user" if become and server_fixture != "sshd" else server_fixture
    )
    fleet = make_fleet(1, server=server)
    marker = unique_sleep()
    keywords = f"      become: true\n      become_user: {become}" if become else ""
    book = tmp_path / "play.yml"
    book.write_text(PLAY.format(marker=marker, become=keywords, timeout=2))
    res = in_process("play", *fleet.args(), str(book))
    assert res.exit_code == 2, res
    assert "command timed out after 2s" in res.stdout, res
    assert "may still be running" not in res.stdout + res.stderr
    wait_none_left(marker)


@pytest.fixture
def one_session_sshd(ssh_root, client_key):
    """An sshd that allows one session per connection (OpenSSH's MaxSessions 1): the
    channel that would end a command is refused."""
    need_root()
    server = SSHServer(ssh_root / f"one-session-{os.getpid()}-{random.random()}", client_key)
    server.extra_config = "MaxSessions 1"
    server.start()
    yield server
    server.stop()


def kill_all(marker: str) -> None:
    for pid in left(marker):
        os.kill(int(pid), signal.SIGKILL)
    wait_none_left(marker)


def test_an_end_that_cannot_be_confirmed_says_so(one_session_sshd, in_process, tmp_path):
    inv = write_inventory(tmp_path / "inv.yml", one_session_sshd, ["solo"])
    marker = unique_sleep()
    args = ["-i", str(inv), "--known-hosts", str(tmp_path / "kh")]
    try:
        res = in_process("run", *args, "-t", "2", "--json", "all", f"sleep {marker}")
        assert res.exit_code == 2, res
        record = json_records(res.stdout)[0]
        assert record["error_kind"] == "timeout"
        assert record["error"].startswith("command timed out after 2s; the command may still be")
        assert "could not open a channel to end it" in record["error"], record
        assert left(marker), "the command really is still running"
    finally:
        kill_all(marker)


def test_ctrl_c_that_cannot_end_the_command_says_so(one_session_sshd, tmp_path):
    inv = write_inventory(tmp_path / "inv.yml", one_session_sshd, ["solo"])
    marker = unique_sleep()
    args = ["-i", str(inv), "--known-hosts", str(tmp_path / "kh")]
    try:
        proc = start_runner("run", *args, "all", f"sleep {marker}", env={})
        out, err, _ = interrupt_when_running(proc, marker)
        assert proc.returncode == 130, err
        assert "interrupted" in out
        assert "solo: interrupted; the command may still be running" in err, err
        assert left(marker)
    finally:
        kill_all(marker)


def test_ctrl_c_in_a_play_that_cannot_end_the_command_says_so(one_session_sshd, tmp_path):
    inv = write_inventory(tmp_path / "inv.yml", one_session_sshd, ["solo"])
    marker = unique_sleep()
    book = tmp_path / "play.yml"
    book.write_text(PLAY.format(marker=marker, become="", timeout=60))
    args = ["-i", str(inv), "--known-hosts", str(tmp_path / "kh")]
    try:
        proc = start_runner("play", *args, str(book), env={})
        out, err, _ = interrupt_when_running(proc, marker)
        assert proc.returncode == 130, err
        assert "solo: interrupted; the command may still be running" in out + err, (out, err)
        assert left(marker)
    finally:
        kill_all(marker)


COMMAND = "cat; printf 'e1\\ne2' >&2; printf 'o1'; exit 3"


def ssh_client_output(server: SSHServer, command: str, stdin: bytes) -> tuple[bytes, bytes, int]:
    """What OpenSSH's own client gets from ``command`` on ``server``."""
    done = subprocess.run(
        [
            "ssh", "-T", "-i", str(server.client_key), "-p", str(server.port),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            f"{server.user}@{server.address}", command,
        ],
        input=stdin,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return done.stdout, done.stderr, done.returncode


@pytest.mark.parametrize("server_fixture", ["sshd", "user_sshd"], ids=["root", "user"])
def test_output_stdin_and_exit_code_are_the_commands_own(
    request, make_fleet, in_process, tmp_path, server_fixture
):
    need_root()
    server = request.getfixturevalue(server_fixture)
    fleet = make_fleet(1, server=server)
    data = b"in\x00put\nRUNNER-PGID-x-1\n"
    (tmp_path / "stdin").write_bytes(data)
    expected = ssh_client_output(server, COMMAND, data)
    assert (expected[0], expected[1][-5:], expected[2]) == (data + b"o1", b"e1\ne2", 3)
    out = tmp_path / "out"
    args = [*fleet.args(), "--stdin-file", str(tmp_path / "stdin"), "--out-dir", str(out)]
    res = in_process("run", *args, "--json", "all", COMMAND)
    record = json_records(res.stdout)[0]
    assert (record["stdout"], record["stderr"], record["exit_code"]) == (
        expected[0].decode(),
        expected[1].decode(),
        expected[2],
    )
    assert (out / "web01.stdout").read_bytes() == expected[0]
    assert (out / "web01.stderr").read_bytes() == expected[1]
    streamed = in_process("run", *args, "--stream", "all", COMMAND).stdout
    assert "web01 ! e1\nweb01 | o1\nweb01 ! e2\n" in streamed
    assert streamed.count("RUNNER-PGID") == 1  # the one in the input, and only that


@pytest.mark.parametrize("how", ["timeout", "ctrl-c"])
def test_local_connection_ends_its_process_group(in_process, tmp_path, how):
    inv = tmp_path / "local.yml"
    inv.write_text("all:\n  hosts:\n    ctl:\n      ansible_connection: local\n")
    marker = unique_sleep()
    command = f"trap '' TERM; sleep {marker} & wait"  # a child that needs KILL
    if how == "timeout":
        res = in_process("run", "-i", str(inv), "-t", "2", "--json", "all", command)
        record = json_records(res.stdout)[0]
        assert record["error"] == "command timed out after 2s", res
    else:
        proc = start_runner("run", "-i", str(inv), "all", command, env={})
        out, err, _ = interrupt_when_running(proc, marker)
        assert proc.returncode == 130, err
        assert "may still be running" not in err
    wait_none_left(marker)
