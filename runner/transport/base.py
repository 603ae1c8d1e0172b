"""The small interface every transport implements, and bounded output capture."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import BinaryIO, Protocol

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
            self._split_lines(data)

    def _split_lines(self, data: bytes) -> None:
        buf = self._partial + data
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            self.on_line(buf[start : end + 1])
            start = end + 1
        self._partial = buf[start:]
        if len(self._partial) > 65536:  # a huge line without newline: flush it in pieces
            self.on_line(self._partial)
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
    """A connection to one host. Raises only runner.errors.HostError subclasses."""

    host: Host

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection (idempotent)."""

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
    ) -> CommandResult:
        """Run ``command`` through the login shell and wait for it.

        A non-zero exit code is a result, not an error. Raises CommandTimeoutError
        after ``timeout`` seconds, ConnectionLostError if the connection drops.
        """

    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot upload files")

    def get_file(self, path: str) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} cannot download files")

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection; safe to call more than once, and from another greenlet."""


class TransportFactory(Protocol):
    def __call__(self, host: Host) -> Transport: ...
