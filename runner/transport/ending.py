"""Ending a remote command that runner stops waiting for (timeout, Ctrl-C), whatever the
login: the command reports its process groups, and a second channel ends them.

sshd starts every command without a terminal in a new session (setsid), so the login
shell's pid is the id of the process group the command runs in. A wrapper prints that
id on stderr before the command starts (``report_prefix``), and under sudo the shell
inside sudo prints its own pid too (sudo with ``use_pty`` runs the command in another
session, where that shell leads the group). ``PidFilter`` takes those lines out of
stderr before anyone sees it, so the output stays byte for byte what the command wrote.

To end the command, ``end_script`` (POSIX sh) sends TERM to the groups, waits up to a
grace period for them to go, then sends KILL, and exits 0 only when none is left. It
runs on another channel of the same connection, through the same sudo when the command
runs as another user (only that user, or root, may signal its processes). This replaces
the SSH "signal" channel request, which OpenSSH refuses for root logins.

Pure text and bytes: no I/O.
"""

from __future__ import annotations

import re

STILL_RUNNING = "the command may still be running"
GRACE_SECONDS = 2.0  # from TERM to KILL
KILL_WAIT_SECONDS = 2.0  # from KILL to giving up on the groups going away


def pid_marker(nonce: str) -> bytes:
    return f"RUNNER-PGID-{nonce}-".encode()


def report_prefix(nonce: str) -> str:
    """Shell text put before a command run by the login shell: a child ``/bin/sh``
    prints its parent's pid (the login shell's, the process group's id). A child, not
    the ``$$`` builtin, so it works whatever the login shell is (sh, bash, zsh, csh,
    fish all parse it).

    >>> report_prefix("ab12")
    "/bin/sh -c 'echo RUNNER-PGID-ab12-$PPID >&2'; "
    """
    return f"/bin/sh -c 'echo RUNNER-PGID-{nonce}-$PPID >&2'; "


def inner_report_prefix(nonce: str) -> str:
    """Shell text put before a command inside sudo's ``/bin/sh -c`` (POSIX for sure):
    that shell's own pid, the group's id when sudo runs the command in a new session.

    >>> inner_report_prefix("ab12")
    'echo RUNNER-PGID-ab12-$$ >&2; '
    """
    return f"echo RUNNER-PGID-{nonce}-$$ >&2; "


class PidFilter:
    """Takes the process-group lines (``RUNNER-PGID-<nonce>-<pid>``) out of a command's
    stderr and keeps the pids; everything else passes through unchanged and in order.
    Holds back only what could be the start of such a line, until it is told (``flush``).

    >>> f = PidFilter("ab12", expected=1)
    >>> f.feed(b"warn\\nRUNNER-PG"), f.feed(b"ID-ab12-4711\\nerr\\n"), f.pids
    (b'warn\\n', b'err\\n', [4711])
    >>> f.feed(b"RUNNER-PGID-ab12-1\\n")  # all pids seen: the rest is output
    b'RUNNER-PGID-ab12-1\\n'
    """

    __slots__ = ("marker", "expected", "pids", "_held")

    def __init__(self, nonce: str, expected: int = 1) -> None:
        self.marker = pid_marker(nonce)
        self.expected = expected
        self.pids: list[int] = []
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        if len(self.pids) >= self.expected and not self._held:
            return data
        buf = self._held + data
        self._held = b""
        out = []
        while len(self.pids) < self.expected:
            index = buf.find(self.marker)
            if index < 0:
                keep = _partial_prefix(buf, self.marker)
                out.append(buf[: len(buf) - keep])
                self._held = buf[len(buf) - keep :]
                return b"".join(out)
            end = buf.find(b"\n", index)
            if end < 0:
                out.append(buf[:index])
                self._held = buf[index:]
                return b"".join(out)
            digits = buf[index + len(self.marker) : end]
            out.append(buf[:index])
            if re.fullmatch(rb"[0-9]{1,10}", digits):
                self.pids.append(int(digits))
            else:  # not ours after all: it is output
                out.append(buf[index : end + 1])
            buf = buf[end + 1 :]
        out.append(buf)
        return b"".join(out)

    def flush(self) -> bytes:
        """What is held back (the stream ended)."""
        held, self._held = self._held, b""
        return held


def _partial_prefix(buf: bytes, marker: bytes) -> int:
    """The length of the longest end of ``buf`` that starts ``marker``."""
    for size in range(min(len(buf), len(marker) - 1), 0, -1):
        if marker.startswith(buf[-size:]):
            return size
    return 0


def end_script(
    groups: list[int], grace: float = GRACE_SECONDS, kill_wait: float = KILL_WAIT_SECONDS
) -> str:
    """POSIX sh that ends the process groups ``groups``: TERM, up to ``grace`` seconds
    for them to go, KILL, up to ``kill_wait`` more. Exits 0 once none of them has a
    process this user may signal, 1 when some are still there; prints ``killed`` when
    TERM was not enough. (``sleep 0.1`` where fractions work, else ``sleep 1``.)

    >>> end_script([42, 57])[:65]
    "g='42 57'; for p in $g; do kill -s TERM -- -$p 2>/dev/null; done;"
    """
    if not groups or not all(isinstance(g, int) and g > 1 for g in groups):
        raise ValueError(f"process group ids expected, got {groups!r}")
    ids = " ".join(str(g) for g in groups)
    term, dead = round(grace * 10), round((grace + kill_wait) * 10)
    return (
        f"g='{ids}'; "
        "for p in $g; do kill -s TERM -- -$p 2>/dev/null; done; "
        "i=0; "
        "while :; do "
        "a=; for p in $g; do kill -s 0 -- -$p 2>/dev/null && a=1; done; "
        '[ -z "$a" ] && exit 0; '
        f"[ $i -ge {dead} ] && exit 1; "
        f'if [ $i -ge {term} ] && [ -z "$k" ]; then k=1; echo killed; '
        "for p in $g; do kill -s KILL -- -$p 2>/dev/null; done; fi; "
        "if sleep 0.1 2>/dev/null; then i=$((i+1)); else sleep 1; i=$((i+10)); fi; "
        "done"
    )


__all__ = [
    "GRACE_SECONDS",
    "PidFilter",
    "STILL_RUNNING",
    "end_script",
    "inner_report_prefix",
    "report_prefix",
]
