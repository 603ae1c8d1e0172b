"""End-to-end: habits from Ansible, clush and pssh on `runner run/copy/fetch` (issue 12):
``--`` before the command, ``--list-hosts``, ``-o/--one-line``, against real sshd."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from runner.testing.fleet import free_port
from tests.ansible_ssh import ansible_ssh_env

pytestmark = pytest.mark.sshd

SUMMARY = r"ok=\d+ failed=\d+ unreachable=\d+ hosts=\d+ in [\d.]+s"
ANSIBLE = Path(sys.executable).with_name("ansible")


def test_words_after_dashdash_are_the_command_joined_with_spaces(make_fleet, in_process):
    fleet = make_fleet(2)
    res = in_process("run", *fleet.args(), "all", "--", "echo", "-n", "a", "b;", "echo", "c")
    assert res.exit_code == 0, res
    assert "---- web[01-02] (2) ----\na bc\n" in res.stdout
    # the same as the one quoted argument, as ssh joins its words
    quoted = in_process("run", *fleet.args(), "all", "echo -n a b; echo c")
    assert quoted.stdout.splitlines()[:2] == res.stdout.splitlines()[:2]


def test_unquoted_command_with_an_option_gets_the_quoting_hint(make_fleet, in_process):
    fleet = make_fleet(1)
    res = in_process("run", *fleet.args(), "all", "ls", "-la")
    assert res.exit_code == 5, res
    assert "No such option '-l'" in res.stderr
    assert (
        "hint: if it is the command's, quote the command (runner run PATTERN 'ls -la /tmp') "
        "or put it after --: runner run PATTERN -- ls -la /tmp" in res.stderr
    )
    assert res.stdout == ""


def test_unquoted_command_of_two_words_is_refused_not_cut(make_fleet, in_process):
    fleet = make_fleet(1)
    res = in_process("run", *fleet.args(), "all", "ls", "/tmp")
    assert res.exit_code == 5, res
    assert "Error: COMMAND is one argument, got 2: 'ls /tmp'" in res.stderr
    assert "put it after --: runner run PATTERN -- ls -la /tmp" in res.stderr
    assert res.stdout == ""


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 that only counts who connected to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def _connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


@pytest.mark.parametrize("command", ["run", "copy", "fetch"])
def test_list_hosts_prints_the_selection_and_connects_nowhere(
    command, make_fleet, in_process, listener, tmp_path
):
    port = listener.getsockname()[1]
    names = ["web01", "web02", "web03"]
    fleet = make_fleet(3, host_vars={n: {"ansible_port": port} for n in names})
    tail = {
        "run": [],  # no COMMAND needed
        "copy": [str(fleet.inventory), "/tmp/x"],
        "fetch": ["/etc/hostname", str(tmp_path / "got")],
    }[command]
    res = in_process(command, *fleet.args(), "--list-hosts", "web02:web03", *tail)
    assert res.exit_code == 0, res
    assert res.stdout == "  hosts (2):\n    web02\n    web03\n"
    assert _connections(listener) == 0
    assert not (tmp_path / "got").exists()


def test_list_hosts_with_nothing_listening_matches_ansible(in_process):
    inventory = f"web2:{free_port()},web10,db1,"  # no server anywhere
    res = in_process("run", "-i", inventory, "all", "--list-hosts")
    assert res.exit_code == 0, res
    ansible = subprocess.run(
        [str(ANSIBLE), "-i", inventory, "all", "--list-hosts"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.stdout == ansible.stdout == "  hosts (3):\n    web2\n    web10\n    db1\n"


def test_one_line_per_host_in_natural_order_then_summary(make_fleet, in_process, tmp_path):
    fleet = make_fleet(4, host_vars={"web04": {"ansible_port": free_port()}})
    res = in_process(
        "run",
        *fleet.args(),
        "-o",
        "--out-dir",
        str(tmp_path / "out"),
        "--junit",
        str(tmp_path / "junit.xml"),
        "all",
        'case {{ inventory_hostname }} in web02) printf "x\\ny\\n"; echo bad >&2; exit 3;; '
        "*) echo hello;; esac",
    )
    assert res.exit_code == 6, res
    lines = res.stdout.splitlines()
    assert lines[:3] == [
        "web01 | CHANGED | rc=0 | (stdout) hello",
        "web02 | FAILED | rc=3 | (stdout) x\\ny (stderr) bad",
        "web03 | CHANGED | rc=0 | (stdout) hello",
    ]
    assert re.fullmatch(r"web04 \| UNREACHABLE!: .*refused.*", lines[3]), lines[3]
    assert re.fullmatch(r"ok=2 failed=1 unreachable=1 hosts=4 in [\d.]+s", lines[4])
    assert len(lines) == 5
    assert (tmp_path / "out" / "web02.stdout").read_text() == "x\ny\n"
    assert 'name="web02"' in (tmp_path / "junit.xml").read_text()


def test_one_line_orders_hosts_naturally(make_fleet, in_process):
    fleet = make_fleet(1)
    inventory = f"web10:{fleet.server.port},web9:{fleet.server.port},"
    res = in_process(
        "run",
        "-i",
        inventory,
        "--known-hosts",
        str(fleet.known_hosts),
        "-e",
        f"ansible_host={fleet.server.address} ansible_user={fleet.server.user} "
        f"ansible_ssh_private_key_file={fleet.server.client_key}",
        "-o",
        "all",
        "echo {{ inventory_hostname }}",
    )
    assert res.exit_code == 0, res
    assert res.stdout.splitlines()[:2] == [
        "web9 | CHANGED | rc=0 | (stdout) web9",
        "web10 | CHANGED | rc=0 | (stdout) web10",
    ]


def test_one_line_copy_says_copied_then_unchanged(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    src = tmp_path / "f.txt"
    src.write_text("data\n")
    # every fleet host is the same machine: one file per host, or they race for one file
    stem = f"/tmp/runner-habits-{free_port()}"
    dest = stem + "-{{ inventory_hostname }}.txt"
    first = in_process("copy", *fleet.args(), "-o", "all", str(src), dest)
    assert first.exit_code == 0, first
    copied = (
        rf"(web0[12]) \| CHANGED \| rc=0 \| \(stdout\) copied {src} -> {stem}-\1.txt \(5 bytes.*"
    )
    assert [bool(re.fullmatch(copied, line)) for line in first.stdout.splitlines()] == [
        True,
        True,
        False,
    ]
    again = in_process("copy", *fleet.args(), "-o", "all", str(src), dest)
    assert again.exit_code == 0, again
    unchanged = (
        rf"(web0[12]) \| CHANGED \| rc=0 \| \(stdout\) unchanged {stem}-\1.txt \(sha256 \w+\)"
    )
    lines = again.stdout.splitlines()
    assert [bool(re.fullmatch(unchanged, line)) for line in lines[:2]] == [True, True], lines
    assert re.fullmatch(SUMMARY, lines[2]) and len(lines) == 3


@pytest.mark.parametrize("other", ["--json", "--stream"])
def test_one_line_refuses_json_and_stream(make_fleet, in_process, other):
    fleet = make_fleet(1)
    res = in_process("run", *fleet.args(), "-o", other, "all", "true")
    assert res.exit_code == 5, res
    assert "Error: -o/--one-line cannot be combined with --json or --stream" in res.stderr
    assert res.stdout == ""


def test_one_line_host_without_a_result_shows_its_reason(make_fleet, in_process):
    fleet = make_fleet(2)
    res = in_process(
        "run",
        *fleet.args(),
        "-o",
        "-t",
        "0.5",
        "all",
        "{% if inventory_hostname == 'web02' %}sleep 5{% else %}echo fine{% endif %}",
    )
    assert res.exit_code == 2, res
    lines = res.stdout.splitlines()
    assert lines[0] == "web01 | CHANGED | rc=0 | (stdout) fine"
    assert re.fullmatch(r"web02 \| FAILED!: .*time.*", lines[1]), lines
    assert re.fullmatch(r"ok=1 failed=1 unreachable=0 hosts=2 in [\d.]+s", lines[2])


def test_one_line_report_interrupted_hosts_and_escaped_controls_on_a_terminal():
    """The renderer alone (fakes tier): hosts cut off by Ctrl-C get a line, and on a
    terminal a host's control characters cannot forge another line."""
    import io

    from rich.console import Console

    from runner.events import RunFinished
    from runner.models import CommandResult, HostResult, RunReport, Status
    from runner.output.oneline import OneLineReport

    report = RunReport(
        {
            "web10": HostResult("web10", Status.OK, CommandResult(0, b"a\x1b[2Jb\n")),
            "web9": HostResult("web9", Status.FAILED, CommandResult(1, b"", b"e\r\n")),
        },
        duration=0.25,
        interrupted=("web2",),
    )
    for terminal, shown in ((True, "a^[[2Jb"), (False, "a\x1b[2Jb")):
        out = io.StringIO()
        OneLineReport(Console(file=out, force_terminal=terminal)).handle(RunFinished(report))
        assert out.getvalue().splitlines() == [
            "web2 | INTERRUPTED",
            "web9 | FAILED | rc=1 | (stdout)  (stderr) e\\r",
            f"web10 | CHANGED | rc=0 | (stdout) {shown}",
            "ok=1 failed=1 unreachable=0 hosts=3 in 0.2s interrupted=1",
        ]


def test_one_line_output_is_ansibles_for_the_command_module(make_fleet, in_process, tmp_path):
    """-o claims ansible -o's shape: the same host line for the same command, compared
    with real Ansible (ansible-core, a test dependency) on the same host."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    ansible = Path(sys.executable).with_name("ansible")
    if not ansible.exists() and shutil.which("ansible") is None:
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    fleet = make_fleet(1)
    home = tmp_path / "ansible-home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
    }
    command = "printf 'one\\ntwo\\n'"
    theirs = subprocess.run(
        [str(ansible) if ansible.exists() else "ansible", "all", "-o", "-i", str(fleet.inventory),
         "-m", "shell", "-a", command, "-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    ours = in_process("run", *fleet.args(), "-o", "all", command)
    assert ours.exit_code == 0, ours
    expected = "web01 | CHANGED | rc=0 | (stdout) one\\ntwo"
    assert expected in theirs.stdout.splitlines(), theirs
    assert ours.stdout.splitlines()[0] == expected
