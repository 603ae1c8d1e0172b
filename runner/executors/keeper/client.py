"""The CLI's side of the keeper: an Executor that hands the run to the user's keeper
(starting it when none answers) and reads its events back. Imports neither paramiko nor
the SSH transport: a warm run's CLI only loads the inventory, talks and renders.

When the keeper cannot be used (the runtime folder is refused, it does not start, it is
busy with another run) the run goes on in this process, as without a keeper."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

import runner
from runner.config import Secrets, child_environment
from runner.errors import ConfigError, RunnerError
from runner.events import EventSink, HostFinished, Notice, RunFinished
from runner.executors.base import Executor, Run
from runner.executors.keeper.paths import KeeperUnavailable, peer_uid, socket_path
from runner.executors.keeper.wire import decode_any_event, outcome_of
from runner.executors.protocol import encode_line, read_record, record
from runner.models import HostResult, RunReport, Status

START_TIMEOUT = 10.0  # seconds for a new keeper to answer


def connect(path: str, timeout: float = 5.0) -> socket.socket:
    """A connection to the keeper at ``path``, checked to be this user's
    (KeeperUnavailable when nobody answers there or someone else does)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise KeeperUnavailable(f"no keeper at {path}: {exc.strerror or exc}") from exc
    uid = peer_uid(sock)
    if uid != os.getuid():
        sock.close()
        raise KeeperUnavailable(f"the process at {path} runs as uid {uid}, not {os.getuid()}")
    sock.settimeout(None)
    return sock


def request(path: str, kind: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """Send one ``status`` or ``stop`` record; the keeper's answer (None: none came)."""
    sock = connect(path, timeout)
    try:
        sock.settimeout(timeout)
        sock.sendall(encode_line(record(kind)))
        return read_record(sock.makefile("rb"))
    except OSError:
        return None
    finally:
        sock.close()


def start_keeper(path: str, environ: Mapping[str, str], idle: float) -> None:
    """Start ``runner _keeper`` for ``path`` (through runner's entry point, so the gevent
    patch comes first there too) and wait until it listens. It puts itself in the
    background: the process started here exits as soon as the keeper is ready."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(runner.__file__)))
    env = child_environment(environ=environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner", "_keeper", "--socket", path, "--idle", f"{idle:g}"],
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # no terminal's Ctrl-C reaches it
        )
    except OSError as exc:
        raise KeeperUnavailable(f"cannot start the keeper: {exc}") from exc
    assert proc.stdout is not None
    try:
        said = proc.stdout.readline()  # "ready" (or "running": another one won the race)
    finally:
        proc.stdout.close()
        proc.wait()
    if not said:
        raise KeeperUnavailable(f"the keeper did not start (exit code {proc.returncode})")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class KeeperExecutor(Executor):
    """Runs through the user's keeper; ``fallback()`` makes the executor used when the
    keeper cannot serve the run."""

    def __init__(
        self,
        environ: Mapping[str, str],
        fallback: Callable[[], Executor],
        *,
        ask_passphrase: Callable[[str], str | None] | None = None,
        log_stream: IO[str] | None = None,
    ) -> None:
        self.environ = environ
        self.log_stream = log_stream  # where -v's log lines from the keeper go
        self.fallback = fallback
        self.ask_passphrase = ask_passphrase
        self._sock: socket.socket | None = None
        self._cancelled = False
        self._other: Executor | None = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self._cancelled = True
        if self._other is not None:
            self._other.cancel()
        self._send(record("cancel"))

    def _send(self, data: Mapping[str, Any]) -> None:
        sock = self._sock
        if sock is None:
            return
        with self._lock:
            try:
                sock.sendall(encode_line(data))
            except OSError:
                pass

    def _open(self, idle: float) -> socket.socket:
        path = socket_path(self.environ)
        try:
            return connect(path)
        except KeeperUnavailable:
            start_keeper(path, self.environ, idle)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                return connect(path)
            except KeeperUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _in_process(self, run: Run, secrets: Secrets, sink: EventSink) -> Any:
        self._other = self.fallback()
        if self._cancelled:
            self._other.cancel()
        return self._other.execute(run, secrets, sink)

    def execute(self, run: Run, secrets: Secrets, sink: EventSink) -> Any:
        try:
            sock = self._open(run.config.persist)
        except KeeperUnavailable as exc:
            sink.handle(Notice(f"connection keeper not used: {exc}", "info"))
            return self._in_process(run, secrets, sink)
        self._sock = sock
        stream = sock.makefile("rb")
        try:
            self._send(
                record(
                    "run",
                    run=run.to_dict(),
                    secrets=secrets.to_dict(),
                    cwd=os.getcwd(),
                    environ=child_environment(environ=self.environ),
                    umask=_umask(),
                )
            )
            if self._cancelled:
                self._send(record("cancel"))
            return self._follow(run, stream, secrets, sink)
        finally:
            self._sock = None
            stream.close()
            sock.close()

    def _follow(self, run: Run, stream: Any, secrets: Secrets, sink: EventSink) -> Any:
        finished: dict[str, HostResult] = {}
        last: object = None
        seen = False
        while True:
            try:
                data = read_record(stream)
            except OSError:
                data = None
            if data is None:
                if not seen:  # it ended before the run began (its idle time ran out)
                    return self._in_process(run, secrets, sink)
                return self._keeper_died(run, finished, last, sink)
            seen = True
            kind = data.get("type")
            if kind == "event":
                event = decode_any_event(data["event"], finished)
                if isinstance(event, HostFinished):
                    finished[event.result.host] = event.result
                if isinstance(event, RunFinished) or type(event).__name__ == "PlaybookFinished":
                    last = event
                sink.handle(event)
            elif kind == "log":
                if self.log_stream is not None:
                    self.log_stream.write(f"{data.get('text')}\n")
                    self.log_stream.flush()
            elif kind == "ask":
                answer = self.ask_passphrase(str(data.get("path"))) if self.ask_passphrase else None
                self._send(record("answer", value=answer))
            elif kind == "done":
                return outcome_of(last)
            elif kind in ("busy", "unusable"):
                if kind == "unusable":
                    sink.handle(Notice(f"connection keeper not used: {data.get('reason')}", "info"))
                return self._in_process(run, secrets, sink)
            elif kind == "error":
                raise ConfigError(str(data.get("message")), hint=data.get("hint"))

    def _keeper_died(
        self, run: Run, finished: dict[str, HostResult], last: object, sink: EventSink
    ) -> Any:
        """The keeper went away mid-run: every host still gets one result."""
        if isinstance(last, RunFinished):
            return last.report
        if not all(hasattr(run.job, name) for name in ("on_host", "needs_connection")):
            raise RunnerError("the connection keeper ended during the playbook run")
        for host in run.hosts:
            if host.name not in finished:
                result = HostResult(
                    host.name, Status.FAILED, None, "the connection keeper ended", "internal"
                )
                finished[host.name] = result
                sink.handle(HostFinished(result))
        report = RunReport({h.name: finished[h.name] for h in run.hosts}, 0.0, ())
        sink.handle(RunFinished(report))
        return report
