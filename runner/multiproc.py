"""Runs of many thousands of hosts over several worker processes (``--procs N``).

The parent splits the hosts round-robin over N workers. Each worker is ``runner _worker``
(so the gevent patch runs first there too) with its own gevent pool and SSH connections;
it streams its engine's events back over its stdout as length-prefixed pickle frames. The
parent forwards them to the same renderers a single-process run uses and builds the same
RunReport, so output, JSON and exit codes do not depend on the number of processes.

The job (hosts, command, options, the secrets if any) goes to each worker on its stdin,
never on its command line nor in its environment. Workers run in their own process
group: the parent alone receives the terminal's Ctrl-C and forwards one SIGINT to each; a
worker whose parent dies sees its stdin close and stops at once, so no process is left
behind.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from runner.credentials import Secrets, child_environment
from runner.events import (
    EventSink,
    HostFinished,
    HostOutput,
    HostStarted,
    Notice,
    RunFinished,
    RunStarted,
)
from runner.models import HostResult, RunReport, Status

_HEADER = struct.Struct("!I")


def write_frame(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    """The next object, or None at end of stream."""
    header = _read_exact(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    data = _read_exact(stream, size)
    if data is None:
        return None
    return pickle.loads(data)


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


@dataclass
class WorkerJob:
    """Everything a worker needs; pickled onto its stdin. The secrets travel here and
    only here (a worker's environment has none, see runner.credentials); their repr
    shows only which ones are set."""

    hosts: list[Any]
    command: str
    extra_vars: dict[str, Any]
    options: dict[str, Any]  # the CLI's connection/output options (no secret among them)
    secrets: Secrets = field(default_factory=Secrets, repr=False)
    forks: int = 100


class FrameSink:
    """EventSink of a worker: forwards each event to the parent as one frame.

    Writes go to a non-blocking fd and wait in select() (cooperative once gevent has
    patched select), so a slow reader never stalls the worker's other hosts.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._lock = threading.Lock()  # one frame at a time, whatever greenlet emits

    def handle(self, event: object) -> None:
        if isinstance(event, (RunStarted, RunFinished)):
            return  # the parent emits its own run-level events
        data = pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            _write_all(self.fd, _HEADER.pack(len(data)) + data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]


def wait_for_eof(fd: int) -> None:
    """Block (cooperatively) until ``fd`` reaches end of file."""
    os.set_blocking(fd, False)
    while True:
        select.select([fd], [], [])
        try:
            if not os.read(fd, 65536):
                return
        except BlockingIOError:
            continue


def split_round_robin(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``split_round_robin([1,2,3,4,5], 2)`` -> ``[[1, 3, 5], [2, 4]]``."""
    if not items:
        return []
    parts = max(1, min(parts, len(items)))
    return [list(items[i::parts]) for i in range(parts)]


class MultiProcessRun:
    """The parent's side: start workers, merge their events, stop them on cancel()."""

    def __init__(self, sink: EventSink, procs: int) -> None:
        self.sink = sink
        self.procs = procs
        self._workers: list[subprocess.Popen] = []
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        for proc in self._workers:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGINT)
                except ProcessLookupError:
                    pass

    def kill(self) -> None:
        for proc in self._workers:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def run(self, job: WorkerJob, forks: int) -> RunReport:
        hosts = job.hosts
        started = time.time()
        clock = time.monotonic()
        chunks = split_round_robin(hosts, self.procs)
        per_worker = max(1, -(-forks // len(chunks))) if chunks else 1
        self.sink.handle(RunStarted(tuple(h.name for h in hosts), forks, started))
        results: dict[str, HostResult] = {}
        readers = []
        try:
            for chunk in chunks:
                if self._cancelled:
                    break
                proc = self._spawn()
                self._workers.append(proc)
                chunk_job = WorkerJob(
                    chunk, job.command, job.extra_vars, job.options, job.secrets, per_worker
                )
                assert proc.stdin is not None
                write_frame(proc.stdin, chunk_job)  # stdin stays open: closing it stops the worker
                reader = threading.Thread(target=self._pump, args=(proc, chunk, results))
                reader.start()
                readers.append(reader)
            for reader in readers:
                reader.join()
        finally:
            self.kill()
            for proc in self._workers:
                if proc.stdin:
                    try:
                        proc.stdin.close()
                    except OSError:
                        pass
                proc.wait()
        ordered = {h.name: results[h.name] for h in hosts if h.name in results}
        cut_off = tuple(h.name for h in hosts if h.name not in results)
        # a worker that died already gave its hosts a result (_pump), so only a cancelled
        # run has hosts without one
        report = RunReport(ordered, time.monotonic() - clock, cut_off if self._cancelled else ())
        self.sink.handle(RunFinished(report))
        return report

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "runner", "_worker"],
            env=child_environment(),  # secrets go on stdin, in the job, never here
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the parent only; it forwards one SIGINT
        )

    def _pump(self, proc: subprocess.Popen, chunk: list[Any], results: dict) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        errors = threading.Thread(target=lambda: setattr(proc, "_err", proc.stderr.read()))
        errors.start()
        while True:
            event = read_frame(proc.stdout)
            if event is None:
                break
            if isinstance(event, HostFinished):
                results[event.result.host] = event.result
            if isinstance(event, (HostStarted, HostOutput, HostFinished, Notice)):
                self.sink.handle(event)
        proc.wait()
        errors.join()
        if self._cancelled:
            return
        missing = [h for h in chunk if h.name not in results]
        if missing:  # the worker died: every host still gets exactly one result
            tail = (getattr(proc, "_err", b"") or b"").decode(errors="replace").strip()
            reason = f"worker process exited with {proc.returncode}" + (
                f": {tail.splitlines()[-1]}" if tail else ""
            )
            for host in missing:
                result = HostResult(host.name, Status.FAILED, None, reason, "internal")
                results[host.name] = result
                self.sink.handle(HostFinished(result))
