"""The interface every transport implements, the factory that makes them, and bounded
output capture."""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import BinaryIO

from runner.become import Become
from runner.models import CommandResult, Host

LineCallback = Callable[[bytes], None]


class OutputCapture:
    """Collects one output stream of one command.

    Keeps at most ``limit`` bytes in memory (the rest is counted in ``dropped``), writes
    everything to ``sink_file`` when given, and hands whole lines to ``on_line`` when given.
    Memory stays bounded however much the host prints.

    >>> c = OutputCapture(limit=4)
    >>> c.feed(b"abcdef"); c.value, c.dropped
    (b'abcd', 2)
    """

    __slots__ = ("limit", "sink_file", "on_line", "_chunks", "_size", "dropped", "_partial")

    def __init__(
        self,
        limit: int = 1 << 20,
        sink_file: BinaryIO | None = None,
        on_line: LineCallback | None = None,
    ) -> None:
        self.limit = limit
        self.sink_file = sink_file
        self.on_line = on_line
        self._chunks: list[bytes] = []
        self._size = 0
        self.dropped = 0
        self._partial = b""

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self.sink_file is not None:
            self.sink_file.write(data)
        room = self.limit - self._size
        if room >= len(data):
            self._chunks.append(data)
            self._size += len(data)
        else:
            if room > 0:
                self._chunks.append(data[:room])
                self._size += room
            self.dropped += len(data) - max(room, 0)
        if self.on_line is not None:
            self._split_lines(data, self.on_line)

    def _split_lines(self, data: bytes, on_line: LineCallback) -> None:
        buf = self._partial + data
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            on_line(buf[start : end + 1])
            start = end + 1
        self._partial = buf[start:]
        if len(self._partial) > 65536:  # a huge line without newline: flush it in pieces
            on_line(self._partial)
            self._partial = b""

    def close(self) -> None:
        """Flush a last line that had no newline."""
        if self.on_line is not None and self._partial:
            self.on_line(self._partial)
            self._partial = b""

    @property
    def value(self) -> bytes:
        if len(self._chunks) > 1:
            self._chunks = [b"".join(self._chunks)]
        return self._chunks[0] if self._chunks else b""


class Transport(abc.ABC):
    """A connection to one host: commands (with privilege escalation) and files.

    Raises only runner.errors.HostError subclasses for connection trouble (a lost
    connection, a timeout, sudo refusing) and OSError for what a file operation found
    on the host (no such file, permission denied); nothing from paramiko or the socket
    layer gets past a transport.
    """

    host: Host

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection (idempotent: a no-op when open, a reconnect after a drop)."""

    @abc.abstractmethod
    def run(
        self,
        command: str,
        *,
        stdout: OutputCapture,
        stderr: OutputCapture,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        pty: bool = False,
        become: Become | None = None,
    ) -> CommandResult:
        """Run ``command`` through the login shell (through sudo when ``become``) and
        wait for it.

        A non-zero exit code is a result, not an error. Raises CommandTimeoutError after
        ``timeout`` seconds, ConnectionLostError if the connection drops, BecomeError
        when sudo refuses. The remote command is ended when the call does not finish;
        when that cannot be confirmed, the error says "the command may still be running"
        (an interruption is re-raised with a CommandNotEndedError as its ``__cause__``).
        """

    @abc.abstractmethod
    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        """Write ``data`` to ``path`` (replacing it), then set ``mode`` if given."""

    @abc.abstractmethod
    def put_new_file(self, data: bytes, path: str, mode: int = 0o600) -> None:
        """Create ``path`` with ``data``; it must not exist (never follows a planted file)."""

    @abc.abstractmethod
    def get_file(self, path: str) -> bytes:
        """The whole content of ``path``."""

    @abc.abstractmethod
    def remove_file(self, path: str) -> None:
        """Remove ``path``."""

    @abc.abstractmethod
    def upload(self, local_path: str, remote_path: str, mode: int) -> int:
        """Copy a local file to ``remote_path`` atomically (temp name, then rename) with
        ``mode``; return the bytes sent."""

    @abc.abstractmethod
    def download(self, remote_path: str, local_path: str) -> tuple[int, int]:
        """Copy ``remote_path`` to ``local_path`` atomically; return (bytes, remote mode)."""

    def pace_key(self) -> Hashable:
        """What the engine paces connection bursts by: the address connected to."""
        return (self.host.address, self.host.port)

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection; safe to call more than once, and from another greenlet."""


class TransportFactory(abc.ABC):
    """Makes each host's Transport for one run, and owns what the run's transports share
    (parsed ssh_config, keys, known_hosts, bastion connections)."""

    @abc.abstractmethod
    def __call__(self, host: Host) -> Transport:
        """A new, unconnected transport for ``host``."""

    def prepare(self, hosts: Sequence[Host]) -> None:  # noqa: B027 - optional hook
        """Before any connection: load what the hosts will need (private keys), asking
        for a passphrase at most once while nothing else runs."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """At the end of the run: close what the transports shared (bastions)."""
