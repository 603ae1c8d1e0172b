"""Runs work on many hosts at once. The only user of gevent pools in runner.

One greenlet per host for its whole life (connect, run, read, close). Every exception a
host raises becomes that host's result: a failure on one host is data, never control
flow. The engine emits events to a sink and never prints.
"""

from __future__ import annotations

import logging
import random
import resource
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import gevent
import gevent.pool

from runner.errors import ConnectError, HostError, RunnerError
from runner.events import (
    EventSink,
    HostFinished,
    HostOutput,
    HostStarted,
    RunFinished,
    RunStarted,
)
from runner.localpaths import out_paths
from runner.models import HostResult, RunReport, Status
from runner.transport.base import OutputCapture, Transport, TransportFactory

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_FORKS = 100
DEFAULT_CONNECT_BURST = 64  # connections opening at once per address (sshd's backlog is 128)
# Handshakes in flight at once, all addresses together. Handshakes are CPU-bound on both
# ends: a thousand started together share the CPU and each takes a thousand times longer,
# so all of them run into --connect-timeout; a bounded number finish in turn at the same
# total rate. 128 at ~5 ms of client CPU each still allows hundreds of logins per second.
DEFAULT_CONNECT_CONCURRENCY = 128
FDS_PER_HOST = 3  # the SSH socket, plus --out-dir files while a command runs
FDS_RESERVED = 64  # stdio, inventory files, known_hosts, logging...


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (as OpenSSH tools do); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def fit_forks(requested: int, hosts: int, fd_limit: int) -> tuple[int, str | None]:
    """Forks actually used, and a notice when the open-file limit lowered them.

    >>> fit_forks(100, 10, 1024)
    (10, None)
    >>> fit_forks(1000, 5000, 1024)[0]
    320
    """
    wanted = max(1, min(requested, hosts)) if hosts else 1
    ceiling = max(1, (fd_limit - FDS_RESERVED) // FDS_PER_HOST)
    if wanted > ceiling:
        return ceiling, (
            f"--forks {requested} lowered to {ceiling} to fit the open-file limit "
            f"({fd_limit}); raise it with 'ulimit -n' to run more hosts at once"
        )
    return wanted, None


class _Cancelled(gevent.GreenletExit):
    """Thrown into host greenlets when the user interrupts the run."""


@dataclass(frozen=True)
class CommandSpec:
    """What an ad-hoc run does on each host."""

    render: Callable[[Any], str]  # Host -> command text; may raise HostError/TemplateError
    timeout: float | None = None
    max_output: int = 1 << 20
    out_dir: str | None = None
    stream: bool = False
    stdin: bytes | None = None
    env: Mapping[str, str] | None = None
    pty: bool = False


class Engine:
    """Schedules per-host work on a bounded gevent pool and keeps connections per host.

    ``factory`` builds a Transport for a Host; ``sink`` receives events. ``retries`` is
    the number of extra connection attempts after a transient connect error (a command
    is never re-run).
    """

    def __init__(
        self,
        factory: TransportFactory,
        sink: EventSink,
        *,
        forks: int = DEFAULT_FORKS,
        retries: int = 0,
        retry_delay: float = 0.5,
        connect_burst: int = DEFAULT_CONNECT_BURST,
        connect_concurrency: int = DEFAULT_CONNECT_CONCURRENCY,
    ) -> None:
        self.factory = factory
        self.sink = sink
        self.forks = max(1, forks)
        self.retries = max(0, retries)
        self.retry_delay = retry_delay
        self._pool: gevent.pool.Pool | None = None
        self._cancelled = False
        self._connections: dict[str, Transport] = {}
        self._opened: set[str] = set()
        self._gates: dict[Any, threading.BoundedSemaphore] = {}
        self.connect_burst = connect_burst
        self._all_gate = threading.BoundedSemaphore(max(1, connect_concurrency))

    # -- lifecycle ----------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop starting hosts and end the running ones (their channels are closed).

        Safe to call from a signal handler greenlet.
        """
        self._cancelled = True
        if self._pool is not None:
            self._pool.kill(exception=_Cancelled, block=False)

    def connection(self, host: Any) -> Transport:
        """The host's one connection for this engine's life, opened on first use."""
        transport = self._connections.get(host.name)
        if transport is None:
            transport = self.factory(host)
            self._connections[host.name] = transport
        elif host.name in self._opened:
            transport.connect()  # already open: a no-op, or a reconnect after a drop
            return transport
        attempt = 0
        while True:
            try:
                with self._pace(transport, host), self._all_gate:
                    transport.connect()
                self._opened.add(host.name)
                return transport
            except ConnectError as exc:
                if not exc.transient or attempt >= self.retries or self._cancelled:
                    raise
                attempt += 1
                delay = min(5.0, self.retry_delay * 2 ** (attempt - 1))
                gevent.sleep(delay * random.uniform(0.8, 1.2))

    def _pace(self, transport: Transport, host: Any) -> threading.Semaphore:
        """At most ``connect_burst`` connections being opened at once to one address, so
        a burst of hundreds of hosts behind one address (a load balancer, a NAT, one test
        sshd) never overflows its listen backlog into 1-second SYN retries."""
        key = getattr(transport, "pace_key", None) or (host.address, host.port)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = threading.BoundedSemaphore(self.connect_burst)
        return gate

    def disconnect(self, host: Any) -> None:
        self._opened.discard(host.name)
        transport = self._connections.pop(host.name, None)
        if transport is not None:
            _close_quietly(transport)

    def close(self) -> None:
        """Close every connection still open."""
        for name in list(self._connections):
            _close_quietly(self._connections.pop(name))

    # -- scheduling -----------------------------------------------------------------

    def map(
        self,
        hosts: Sequence[Any],
        work: Callable[[Any], T],
        on_error: Callable[[Any, BaseException], T],
    ) -> tuple[dict[str, T], list[str]]:
        """Run ``work(host)`` for every host, at most ``forks`` at once.

        Returns (results by host name, names of hosts cut off by cancel()). Any
        exception from ``work`` goes through ``on_error(host, exc)`` and becomes the
        host's result, so the map is complete for every host not cut off.
        """
        results: dict[str, T] = {}
        pool = gevent.pool.Pool(self.forks)
        self._pool = pool

        def one(host: Any) -> None:
            if self._cancelled:  # spawned while cancel() was killing the pool
                return
            try:
                results[host.name] = work(host)
            except _Cancelled:
                self.disconnect(host)
            except Exception as exc:  # every failure is data
                if not isinstance(exc, RunnerError):
                    log.debug("unexpected error on %s", host.name, exc_info=True)
                results[host.name] = on_error(host, exc)

        try:
            for host in hosts:
                if self._cancelled:
                    break
                pool.spawn(one, host)  # waits for a free slot when the pool is full
            pool.join()
        except _Cancelled:  # cancel() raced with spawn(); the pool is being killed
            pool.join()
        finally:
            self._pool = None
        cut_off = [h.name for h in hosts if h.name not in results]
        return results, cut_off

    # -- ad-hoc commands --------------------------------------------------------------

    def run_command(self, hosts: Sequence[Any], spec: CommandSpec) -> RunReport:
        """Run one command on every host and return the complete report."""
        started = time.time()
        clock = time.monotonic()
        self.sink.handle(RunStarted(tuple(h.name for h in hosts), self.forks, started))

        def work(host: Any) -> HostResult:
            return self._run_one(host, spec)

        def on_error(host: Any, exc: BaseException) -> HostResult:
            result = _error_result(host.name, exc, time.time(), 0.0)
            self.sink.handle(HostFinished(result))
            return result

        try:
            results, cut_off = self.map(hosts, work, on_error)
        finally:
            self.close()
        ordered = {h.name: results[h.name] for h in hosts if h.name in results}
        report = RunReport(ordered, time.monotonic() - clock, tuple(cut_off))
        self.sink.handle(RunFinished(report))
        return report

    def _run_one(self, host: Any, spec: CommandSpec) -> HostResult:
        wall = time.time()
        clock = time.monotonic()
        self.sink.handle(HostStarted(host.name, clock))
        try:
            command = spec.render(host)
            transport = self.connection(host)
            with ExitStack() as stack:
                stdout, stderr = self._captures(host.name, spec, stack)
                outcome = transport.run(
                    command,
                    stdout=stdout,
                    stderr=stderr,
                    timeout=spec.timeout,
                    stdin=spec.stdin,
                    env=spec.env,
                    pty=spec.pty,
                )
            status = Status.OK if outcome.exit_code == 0 else Status.FAILED
            result = HostResult(
                host.name, status, outcome, started=wall, duration=time.monotonic() - clock
            )
        except _Cancelled:
            raise
        except Exception as exc:
            result = _error_result(host.name, exc, wall, time.monotonic() - clock)
        finally:
            self.disconnect(host)
        self.sink.handle(HostFinished(result))
        return result

    def _captures(
        self, name: str, spec: CommandSpec, stack: ExitStack
    ) -> tuple[OutputCapture, OutputCapture]:
        files: list[Any] = [None, None]
        if spec.out_dir:
            out_path, err_path, _ = out_paths(spec.out_dir, name)
            files = [stack.enter_context(open(p, "wb")) for p in (out_path, err_path)]
        callbacks: list[Any] = [None, None]
        if spec.stream:
            sink = self.sink
            callbacks = [
                lambda line, s=stream: sink.handle(HostOutput(name, s, line))
                for stream in ("stdout", "stderr")
            ]
        return (
            OutputCapture(spec.max_output, files[0], callbacks[0]),
            OutputCapture(spec.max_output, files[1], callbacks[1]),
        )


def _error_result(name: str, exc: BaseException, started: float, duration: float) -> HostResult:
    if isinstance(exc, HostError):
        status = Status.UNREACHABLE if exc.unreachable else Status.FAILED
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return HostResult(name, status, None, message, exc.kind, started, duration)
    if isinstance(exc, RunnerError):  # e.g. a template with an undefined variable
        return HostResult(name, Status.FAILED, None, str(exc), "task", started, duration)
    return HostResult(
        name,
        Status.FAILED,
        None,
        f"internal error: {type(exc).__name__}: {exc}",
        "internal",
        started,
        duration,
    )


def _close_quietly(transport: Transport) -> None:
    try:
        transport.close()
    except Exception:  # closing never changes a host's result
        log.debug("close failed", exc_info=True)
