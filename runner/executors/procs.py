"""Runs of many thousands of hosts over several worker processes (``--procs N``).

The parent splits the hosts round-robin over N workers. Each worker is ``runner _worker``
(so the gevent patch runs first there too), executes its share in-process with its own
gevent pool, SSH connections and open-file limit (it fits its forks to it), and streams
its events back as protocol records (runner.executors.protocol). The parent forwards
them to the same renderers a single-process run uses and builds the same RunReport, so
output, JSON and exit codes do not depend on the number of processes.

The run and its secrets go to each worker on its stdin, never on its command line nor
in its environment. Workers run in their own process group: the parent alone receives
the terminal's Ctrl-C and forwards one SIGINT to each; a worker whose parent dies sees
its stdin close and stops at once, so no process is left behind.

A playbook does not run under --procs: its linear strategy moves all hosts of a batch
from task to task together (and ``run_once``, ``serial``, ``max_fail_percentage`` and
handlers decide on the whole batch), so every task would need a barrier across the
processes; a playbook runs in one process with the same pool.
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from runner.config import Secrets, child_environment
from runner.engine.job import HostJob
from runner.errors import ConfigError
from runner.events import EventSink, HostFinished, RunFinished, RunStarted
from runner.executors.base import Executor, Run
from runner.executors.protocol import decode_event, encode_event, encode_line, read_record, record
from runner.models import Host, HostResult, RunReport, Status

PROCS_THRESHOLD = 1000


def default_procs(hosts: int) -> int:
    """One process up to 1,000 hosts; above that, one per core.

    >>> default_procs(10), default_procs(1001) == (os.cpu_count() or 1)
    (1, True)
    """
    return (os.cpu_count() or 1) if hosts > PROCS_THRESHOLD else 1


def split_round_robin(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``split_round_robin([1,2,3,4,5], 2)`` -> ``[[1, 3, 5], [2, 4]]``."""
    if not items:
        return []
    parts = max(1, min(parts, len(items)))
    return [list(items[i::parts]) for i in range(parts)]


class ProcsExecutor(Executor):
    """The parent's side: start workers, merge their events, stop them on cancel()."""

    def __init__(
        self,
        procs: int,
        *,
        ask_passphrase: Callable[[str], str | None] | None = None,
        worker: Sequence[str] | None = None,
    ) -> None:
        self.procs = procs
        self.ask_passphrase = ask_passphrase
        self.worker = list(worker or [sys.executable, "-m", "runner", "_worker"])
        self._workers: list[subprocess.Popen[bytes]] = []
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True
        for proc in self._workers:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGINT)
                except ProcessLookupError:
                    pass

    def _kill(self) -> None:
        for proc in self._workers:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def execute(self, run: Run, secrets: Secrets, sink: EventSink) -> RunReport:
        if not isinstance(run.job, HostJob):
            raise ConfigError(f"a {run.job.kind} job cannot be split over processes")
        hosts = run.hosts
        secrets = self._prepare(run, secrets)
        started = time.time()
        clock = time.monotonic()
        chunks = split_round_robin(hosts, self.procs)
        per_worker = max(1, -(-run.config.forks // len(chunks))) if chunks else 1
        config = dataclasses.replace(run.config, forks=per_worker, procs=1)
        sink.handle(RunStarted(tuple(h.name for h in hosts), run.config.forks, started))
        results: dict[str, HostResult] = {}
        readers = []
        try:
            for chunk in chunks:
                if self._cancelled:
                    break
                proc = self._spawn()
                self._workers.append(proc)
                share = Run(tuple(chunk), run.job, config)
                assert proc.stdin is not None
                # stdin stays open: closing it stops the worker
                proc.stdin.write(
                    encode_line(record("run", run=share.to_dict(), secrets=secrets.to_dict()))
                )
                proc.stdin.flush()
                reader = threading.Thread(target=self._pump, args=(proc, chunk, results, sink))
                reader.start()
                readers.append(reader)
            for reader in readers:
                reader.join()
        finally:
            self._kill()
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
        sink.handle(RunFinished(report))
        return report

    def _prepare(self, run: Run, secrets: Secrets) -> Secrets:
        """Check the connection settings and load the keys here first, so an encrypted
        key's passphrase is asked once, on this terminal, and reaches every worker."""
        from runner.transport.factory import ConnectionFactory

        answers: list[str] = []

        def ask(path: str) -> str | None:
            answer = self.ask_passphrase(path) if self.ask_passphrase else None
            if answer:
                answers.append(answer)
            return answer

        factory = ConnectionFactory(run.config.connection, secrets, ask_passphrase=ask)
        try:
            factory.prepare(run.hosts)
        finally:
            factory.close()
        if answers and not secrets.key_passphrase:
            return dataclasses.replace(secrets, key_passphrase=answers[-1])
        return secrets

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.worker,
            env=child_environment(),  # secrets go on stdin, in the run record, never here
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the parent only; it forwards one SIGINT
        )

    def _pump(
        self,
        proc: subprocess.Popen[bytes],
        chunk: list[Host],
        results: dict[str, HostResult],
        sink: EventSink,
    ) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        stderr = proc.stderr
        said: list[bytes] = []
        errors = threading.Thread(target=lambda: said.append(stderr.read()))
        errors.start()
        problem = ""
        try:
            while True:
                data = read_record(proc.stdout)
                if data is None:
                    break
                if data.get("type") != "event":
                    continue
                event = decode_event(data["event"])
                if isinstance(event, HostFinished):
                    results[event.result.host] = event.result
                if not isinstance(event, (RunStarted, RunFinished)):
                    sink.handle(event)
        except ConfigError as exc:  # a worker that speaks something else: stop it
            problem = f": {exc.message}"
            self._kill()
        proc.wait()
        errors.join()
        if self._cancelled:
            return
        missing = [h for h in chunk if h.name not in results]
        if missing:  # the worker died: every host still gets exactly one result
            tail = b"".join(said).decode(errors="replace").strip()
            reason = f"worker process exited with {proc.returncode}{problem}" + (
                f": {tail.splitlines()[-1]}" if tail else ""
            )
            for host in missing:
                result = HostResult(host.name, Status.FAILED, None, reason, "internal")
                results[host.name] = result
                sink.handle(HostFinished(result))


# -- the worker's side ----------------------------------------------------------------


class RecordSink:
    """A worker's EventSink: each event to the parent as one protocol record.

    Writes go to a non-blocking fd and wait in select() (cooperative once gevent has
    patched select), so a slow reader never stalls the worker's other hosts. Run-level
    events stay here: the parent emits its own.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._lock = threading.Lock()  # one record at a time, whatever greenlet emits

    def handle(self, event: object) -> None:
        if isinstance(event, (RunStarted, RunFinished)):
            return
        line = encode_line(record("event", event=encode_event(event)))
        with self._lock:
            _write_all(self.fd, line)


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


def read_run(stdin: IO[bytes]) -> tuple[Run, Secrets]:
    """The run record a worker gets first on its stdin."""
    data = read_record(stdin)
    if data is None or data.get("type") != "run":
        raise ConfigError("_worker: no run on stdin", hint="runner starts its workers itself")
    return Run.from_dict(data["run"]), Secrets.from_dict(data.get("secrets") or {})
