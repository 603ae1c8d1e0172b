"""End-to-end: the real `runner` CLI on a real pty, against a real sshd whose commands
(and whose inventory's host names) carry terminal control sequences. On the terminal
they must show escaped; piped text, --json and --out-dir keep the exact characters."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from runner.testing.fleet import free_port, write_inventory
from tests.conftest import REPO, Fleet

pytestmark = pytest.mark.sshd

# OSC window title, clear screen, then a CR that would start the line over as if it
# were another host's --stream line; on stderr a cursor-position query (the terminal
# would answer on stdin), the switch to the alternate screen and a C1 CSI (U+009B).
HOSTILE_CMD = r"printf '\033]0;pwned\007\033[2J\rFORGED | x\n'; printf 'err\033[6n\033[?1049h\302\2332J\n' >&2"
HOSTILE_OUT = "\x1b]0;pwned\x07\x1b[2J\rFORGED | x\n"
HOSTILE_ERR = "err\x1b[6n\x1b[?1049h\x9b2J\n"
SHOWN_OUT = "^[]0;pwned^G^[[2J^MFORGED | x"
SHOWN_ERR = "err^[[6n^[[?1049h<U+009B>2J"
# What the host sent, none of which rich ever emits itself (its live view uses \r,
# ESC[2K, ESC[1A, ESC[?25l/h and SGR colours only).
RAW = [
    b"\x1b]",
    b"\x07",
    b"\x1b[2J",
    b"\rFORGED",
    b"\x1b[6n",
    b"\x1b[?1049h",
    b"\x1b]2;",
    b"\x1b(0",
    "\x9b".encode(),
]
EVIL_HOST = "evil\x1b]2;host\x07"
SHOWN_HOST = "evil^[]2;host^G"
SGR = re.compile(r"\x1b\[[0-9;]*m")


def run_on_pty(*args: str, timeout: float = 120, columns: int = 160) -> tuple[int, bytes]:
    """Run `python -m runner args` with stdout and stderr on a pty slave; (exit, bytes).

    The slave's output post-processing is off (no \\n -> \\r\\n), so every \\r read from
    the master was written by runner."""
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES"):
        env.pop(name, None)
    env.pop("RUNNER_INVENTORY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([master], [], [], max(left, 0))
            if not ready:
                proc.kill()
                raise AssertionError(f"runner {args} did not finish in {timeout}s: {chunks!r}")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave end is closed
                break
            if not data:
                break
            chunks.append(data)
        return proc.wait(30), b"".join(chunks)
    finally:
        os.close(master)


def assert_nothing_raw(raw: bytes) -> str:
    """The pty bytes as text without runner's own colour codes; fails on any host byte."""
    for seq in RAW:
        assert seq not in raw, (seq, raw)
    text = SGR.sub("", raw.decode("utf-8", "replace"))
    return text


@pytest.fixture
def fleet(sshd, tmp_path) -> Fleet:
    """Two ordinary hosts and one whose inventory name carries an OSC sequence."""
    names = ["web01", "web02", EVIL_HOST]
    inventory = write_inventory(tmp_path / "inventory.yml", sshd, names)
    return Fleet(sshd, inventory, names, tmp_path / "known_hosts")


def test_run_grouped_on_a_terminal_shows_host_controls_escaped(fleet, tmp_path):
    out_dir = tmp_path / "out"
    code, raw = run_on_pty("run", *fleet.args(), "--out-dir", str(out_dir), "all", HOSTILE_CMD)
    text = assert_nothing_raw(raw)
    assert code == 0, text
    assert f"---- {SHOWN_HOST},web[01-02] (3) ----\n{SHOWN_OUT}\n{SHOWN_ERR}\n" in text
    assert "ok=3 failed=0 unreachable=0 hosts=3" in text
    # --out-dir keeps every byte the host sent.
    assert (out_dir / "web01.stdout").read_bytes() == HOSTILE_OUT.encode()
    assert (out_dir / "web01.stderr").read_bytes() == HOSTILE_ERR.encode()


def test_run_stream_on_a_terminal_a_cr_cannot_forge_a_line(fleet):
    code, raw = run_on_pty("run", *fleet.args(), "--stream", "all", HOSTILE_CMD)
    text = assert_nothing_raw(raw)
    assert code == 0, text
    lines = text.split("\n")
    for name in ("web01", "web02", SHOWN_HOST):
        assert f"{name:<15} | {SHOWN_OUT}" in lines, text
        assert f"{name:<15} ! {SHOWN_ERR}" in lines, text
    assert not [ln for ln in lines if ln.startswith("FORGED")]


def test_run_failure_lines_and_unreachable_notes_on_a_terminal(sshd, tmp_path):
    """Failed hosts' summary lines and an unreachable host's note, all with hostile names."""
    gone = "gone\x1b(0"  # ESC ( 0: line-drawing characters from here on
    names = ["web01", EVIL_HOST, gone]
    inventory = write_inventory(
        tmp_path / "inventory.yml", sshd, names, host_vars={gone: {"ansible_port": free_port()}}
    )
    fleet = Fleet(sshd, inventory, names, tmp_path / "known_hosts")
    code, raw = run_on_pty(
        "run", *fleet.args(), "--stream", "--connect-timeout", "5", "all", HOSTILE_CMD + "; exit 4"
    )
    text = assert_nothing_raw(raw)
    assert code != 0, text
    lines = text.split("\n")
    assert f"{SHOWN_HOST},web01: failed: exit code 4" in lines, text
    assert any(ln.startswith("gone^[(0: unreachable: connection refused") for ln in lines), text
    assert any(
        re.match(r"gone\^\[\(0 {8}\| \[unreachable: connection refused", ln) for ln in lines
    ), text


def run_piped(*args: str, timeout: float = 120) -> tuple[int, bytes]:
    """Run `python -m runner args` with stdout on a pipe; (exit, stdout bytes). Bytes, not
    text: universal newlines would turn the host's \\r into \\n."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RUNNER_INVENTORY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "runner", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout


def test_run_piped_keeps_the_exact_characters(fleet):
    code, out = run_piped("run", *fleet.args(), "all", HOSTILE_CMD)
    assert code == 0, out
    assert f",web[01-02] (3) ----\n{HOSTILE_OUT}{HOSTILE_ERR}\n".encode() in out
    code, out = run_piped("run", *fleet.args(), "--stream", "all", HOSTILE_CMD)
    assert code == 0, out
    assert f"web01 | {HOSTILE_OUT}".encode() in out.replace(b" " * 2, b"")
    assert f"{EVIL_HOST} ! {HOSTILE_ERR}".encode() in out


def test_json_on_a_terminal_is_escaped_by_json_and_exact_when_read(fleet):
    code, raw = run_on_pty("run", *fleet.args(), "--json", "all", HOSTILE_CMD)
    assert code == 0, raw
    for seq in (b"\x1b", b"\x07", "\x9b".encode()):  # JSON escapes them: \u001b, \u009b...
        assert seq not in raw, raw
    records = [json.loads(line) for line in raw.decode().splitlines() if line.startswith("{")]
    hosts = {r["host"]: r for r in records if r["type"] == "host"}
    assert sorted(hosts) == sorted(fleet.names)
    assert hosts[EVIL_HOST]["stdout"] == HOSTILE_OUT
    assert hosts["web01"]["stderr"] == HOSTILE_ERR


PLAYBOOK = r"""- hosts: all
  gather_facts: false
  tasks:
    - name: hostile
      shell: |
        printf '\033]0;pwned\007\033[2J\rFORGED | x\n'
        exit 3
      register: out
      ignore_errors: true
    - name: show
      debug:
        msg: "{{ out.stdout }}"
    - name: show the result
      debug:
        var: out.stdout
"""


def test_play_on_a_terminal_shows_task_output_escaped(fleet, tmp_path):
    book = tmp_path / "hostile.yml"
    book.write_text(PLAYBOOK)
    code, raw = run_on_pty("play", *fleet.args(), str(book))
    text = assert_nothing_raw(raw)
    assert code == 0, text
    hosts = f"{SHOWN_HOST},web[01-02] (3)"
    assert f"ignored: {hosts} (exit 3) => {SHOWN_OUT}\n" in text
    assert f"ok: {hosts} => {SHOWN_OUT}\n" in text
    assert f"ok: {hosts} => out.stdout: {SHOWN_OUT}\n" in text
    assert f"\n{SHOWN_HOST},web[01-02] : ok=3  changed=1  " in text


def test_play_stream_on_a_terminal(fleet, tmp_path):
    book = tmp_path / "hostile.yml"
    book.write_text(PLAYBOOK)
    code, raw = run_on_pty("play", *fleet.args(), "--stream", str(book))
    text = assert_nothing_raw(raw)
    assert code == 0, text
    assert f"{SHOWN_HOST} | {SHOWN_OUT}\n" in text
    assert f"{'web01':<15} | {SHOWN_OUT}\n" in text


def test_play_piped_keeps_the_exact_characters(fleet, tmp_path):
    book = tmp_path / "hostile.yml"
    book.write_text(PLAYBOOK)
    code, out = run_piped("play", *fleet.args(), str(book))
    assert code == 0, out
    assert f"(exit 3) => {HOSTILE_OUT}".encode() in out
    assert f"(3) => {HOSTILE_OUT}".encode() in out  # the debug msg


def test_pty_helper_sees_raw_bytes_when_nothing_escapes(tmp_path: Path):
    """The harness itself can fail: a program that writes ESC and CR to the pty gets
    them read back as they were."""
    script = "import sys; sys.stdout.write('\\x1b]0;t\\x07\\rFORGED\\n')"
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=slave, stderr=slave)
    os.close(slave)
    proc.wait(30)
    data = os.read(master, 1024)
    os.close(master)
    assert data == b"\x1b]0;t\x07\rFORGED\n"


def test_inventory_and_play_listings_on_a_terminal(fleet, tmp_path):
    code, raw = run_on_pty("inventory", "-i", str(fleet.inventory), "--graph")
    text = assert_nothing_raw(raw)
    assert code == 0, text
    assert f"  |--{SHOWN_HOST}\n" in text
    code, raw = run_on_pty("inventory", "-i", str(fleet.inventory), "--hosts", "all")
    assert f"{SHOWN_HOST}\n" in assert_nothing_raw(raw)
    book = tmp_path / "hostile.yml"
    book.write_text(PLAYBOOK)
    code, raw = run_on_pty("play", *fleet.args(), "--list-hosts", str(book))
    text = assert_nothing_raw(raw)
    assert code == 0, text
    assert f"      {SHOWN_HOST}\n" in text
    code, out = run_piped("inventory", "-i", str(fleet.inventory), "--hosts", "all")
    assert f"{EVIL_HOST}\n".encode() in out
