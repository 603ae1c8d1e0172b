"""What the keeper writes to the client of a run: its records (:class:`Writer`, events
batched) and, under -v, its log lines (:class:`ForwardedLogs`)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from runner.events import HostFinished
from runner.executors.keeper.wire import encode_any_event
from runner.executors.protocol import encode_line, record
from runner.models import HostResult


class Writer:
    """Records to one client, in order, whatever greenlet sends them; a client that went
    away makes ``gone`` true (the run is then cancelled).

    A run's events are written in batches (``handle``): a flusher sends what gathered
    within FLUSH_SECONDS of the first waiting event in one write, instead of one write
    per event (a tenth of the keeper's CPU on a warm 200-host run went to those writes,
    and as much again to the client's reads). Any other record (``send``) goes out at
    once, after the events before it."""

    FLUSH_SECONDS = 0.005

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.gone = False
        self.on_gone: Any = None
        self._pending: list[bytes] = []
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        self._sent: dict[str, HostResult] = {}  # host_finished results, by host

    def send(self, data: dict[str, Any]) -> None:
        self._write(encode_line(data), now=True)

    def handle(self, event: object) -> None:  # the run's EventSink
        data = encode_any_event(event, self._sent)
        if isinstance(event, HostFinished):
            self._sent[event.result.host] = event.result
        self._write(encode_line(record("event", event=data)), now=False)

    def _write(self, line: bytes, *, now: bool) -> None:
        with self.lock:
            if self.gone:
                return
            self._pending.append(line)
            if not now:
                if self._flusher is None:
                    self._flusher = threading.Thread(target=self._flush_soon, daemon=True)
                    self._flusher.start()
                self._wake.set()
                return
            self._flush_locked()
        self._check_gone()

    def _flush_soon(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.FLUSH_SECONDS)  # let the events of this moment gather
            with self.lock:
                self._wake.clear()
                if self.gone:
                    return
                self._flush_locked()
            self._check_gone()

    def _flush_locked(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        try:
            self.conn.sendall(data)
        except OSError:
            self.gone = True

    def _check_gone(self) -> None:
        if self.gone and self.on_gone is not None:
            self.on_gone()

    def close(self) -> None:
        """Stop the flusher (what is pending is dropped: send the last record first)."""
        with self.lock:
            self.gone = True
            self._pending.clear()
            self._wake.set()


class ForwardedLogs(logging.Handler):
    """-v / -vv / -vvv of a run served here: its log records go to the client, which
    writes them where it would have written them itself (its stderr)."""

    def __init__(self, writer: Writer, verbose: int) -> None:
        super().__init__()
        self.writer = writer
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        self.saved = root.level, logging.getLogger("paramiko").level
        root.addHandler(self)
        root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        logging.getLogger("paramiko").setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)

    def emit(self, entry: logging.LogRecord) -> None:
        try:
            self.writer.send(record("log", text=self.format(entry)))
        except Exception:  # a log line never fails the run
            self.handleError(entry)

    def close(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self.saved[0])
        logging.getLogger("paramiko").setLevel(self.saved[1])
        super().close()
