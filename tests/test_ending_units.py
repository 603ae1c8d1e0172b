"""The pure parts of ending a remote command (runner.transport.ending): the filter that
takes the process-group lines out of stderr, and the POSIX sh script that ends groups,
run here by dash (Debian's /bin/sh) against real process groups."""

from __future__ import annotations

import shutil
import subprocess
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.testing.fleet import wait_until
from runner.transport.ending import PidFilter, end_script, inner_report_prefix, report_prefix

NONCE = "0123abcd4567ef89"
MARKER = f"RUNNER-PGID-{NONCE}-".encode()


def filtered(chunks: list[bytes], expected: int) -> tuple[bytes, list[int]]:
    pids = PidFilter(NONCE, expected)
    out = b"".join(pids.feed(chunk) for chunk in chunks) + pids.flush()
    return out, pids.pids


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


# output that looks like the marker, partly or wholly, but is the command's own
LOOKALIKES = st.sampled_from(
    [b"R", b"RUNNER-", b"RUNNER-PGID-", MARKER, MARKER + b"x\n", MARKER[:-1] + b"\n", b"\n"]
)
OUTPUT = st.lists(st.one_of(st.binary(max_size=40), LOOKALIKES), max_size=8).map(b"".join)


@given(
    before=OUTPUT,
    between=OUTPUT,
    after=OUTPUT,
    pids=st.lists(st.integers(2, 4_194_304), min_size=1, max_size=2),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
)
def test_the_filter_removes_exactly_the_pid_lines(before, between, after, pids, cuts):
    """However the stream is cut into chunks, the output is the command's bytes in order
    and the pids are the reported ones (output before them that merely looks like a
    marker line passes through; pid lines come one per reported pid)."""
    lines = [MARKER + str(pid).encode() + b"\n" for pid in pids]
    middle = between if len(lines) == 2 else b""
    stream = before + lines[0] + middle + (lines[1] if len(lines) == 2 else b"") + after
    out, seen = filtered(split(stream, cuts), len(pids))
    if MARKER in before or (len(lines) == 2 and MARKER in middle):
        return  # a command printing our nonce first: not a case that happens (random nonce)
    assert seen == pids
    assert out == before + middle + after


def test_the_filter_passes_everything_through_when_no_pid_comes():
    out, seen = filtered([b"sudo: a password is required\n", b"RUNNER"], 2)
    assert (out, seen) == (b"sudo: a password is required\nRUNNER", [])


def test_the_wrappers_are_plain_shell_text():
    assert report_prefix(NONCE) == f"/bin/sh -c 'echo RUNNER-PGID-{NONCE}-$PPID >&2'; "
    assert inner_report_prefix(NONCE) == f"echo RUNNER-PGID-{NONCE}-$$ >&2; "
    with pytest.raises(ValueError):
        end_script([])
    with pytest.raises(ValueError):
        end_script([1])  # never init's group, never "every process" (-1)


def start_group(command: str) -> subprocess.Popen:
    return subprocess.Popen(["/bin/sh", "-c", command], start_new_session=True)


def group_alive(pgid: int) -> bool:
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True).returncode == 0


@pytest.fixture
def dash():
    path = shutil.which("dash")
    if path is None:
        pytest.skip("dash not installed (the POSIX sh the script is checked with)")
    return path


@pytest.mark.parametrize("ignores_term", [False, True], ids=["TERM", "KILL"])
def test_the_script_ends_the_groups_with_term_then_kill(dash, ignores_term):
    trap = "trap '' TERM; " if ignores_term else ""
    groups = [start_group(f"{trap}sleep 300 & sleep 300 & wait") for _ in range(2)]
    try:
        wait_until(lambda: all(group_alive(g.pid) for g in groups), 10, "both groups")
        for group in groups:  # reap the leaders as they die, as sshd does
            threading.Thread(target=group.wait, daemon=True).start()
        # grace 3 s: the sleeps, orphaned when their shell dies, are zombies until init
        # reaps them, and kill -0 counts a zombie (this machine's init reaps every ~0.7 s)
        done = subprocess.run(
            [dash, "-c", end_script([g.pid for g in groups], grace=3, kill_wait=3)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done
        assert done.stdout == ("killed\n" if ignores_term else "")
        for group in groups:
            wait_until(lambda g=group: not group_alive(g.pid), 5, f"group {group.pid} gone")
    finally:
        for group in groups:
            group.kill()
