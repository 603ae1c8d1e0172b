"""The scheduler: runs work on many hosts at once. The only user of gevent pools in runner.

One greenlet per host for its whole life (connect, run, read, close), at most ``forks``
at once; each host's one connection, opened on first use and reused; connection bursts
paced per address and in total; cancel (Ctrl-C). What runs on a host is a job's business
(runner.engine.job): every exception a host raises becomes that host's result, a failure
on one host is data, never control flow. The engine never prints.
"""

from __future__ import annotations

import logging
import random
import resource
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import gevent
import gevent.pool

from runner.config import DEFAULT_FORKS
from runner.errors import ConnectError, RunnerError
from runner.models import Host
from runner.transport.base import Transport, TransportFactory

log = logging.getLogger(__name__)

T = TypeVar("T")

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


class Cancelled(gevent.GreenletExit):
    """Thrown into host greenlets when the user interrupts the run."""


class Engine:
    """Schedules per-host work on a bounded gevent pool and keeps connections per host.

    ``factory`` builds a Transport for a Host. ``retries`` is the number of extra
    connection attempts after a transient connect error (a command is never re-run).
    """

    def __init__(
        self,
        factory: TransportFactory,
        *,
        forks: int = DEFAULT_FORKS,
        retries: int = 0,
        retry_delay: float = 0.5,
        connect_burst: int = DEFAULT_CONNECT_BURST,
        connect_concurrency: int = DEFAULT_CONNECT_CONCURRENCY,
    ) -> None:
        self.factory = factory
        self.forks = max(1, forks)
        self.retries = max(0, retries)
        self.retry_delay = retry_delay
        self._pool: gevent.pool.Pool | None = None
        self._cancelled = False
        self._connections: dict[str, Transport] = {}
        self._opened: set[str] = set()
        self._gates: dict[Hashable, threading.BoundedSemaphore] = {}
        self.connect_burst = connect_burst
        self._all_gate = threading.BoundedSemaphore(max(1, connect_concurrency))

    # -- lifecycle ----------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop starting hosts and cut the running ones off (each transport ends its
        command on the host).

        Safe to call from a signal handler greenlet.
        """
        self._cancelled = True
        if self._pool is not None:
            self._pool.kill(exception=Cancelled, block=False)

    def connection(self, host: Host, key: str | None = None) -> Transport:
        """The host's one connection for this engine's life, opened on first use.
        ``key`` names another connection to the host (a task's ``remote_user``, a
        delegated task's: runner.playbook.delegation); the host's name by default."""
        key = key or host.name
        transport = self._connections.get(key)
        if transport is None:
            transport = self.factory(host)
            self._connections[key] = transport
        elif key in self._opened:
            transport.connect()  # already open: a no-op, or a reconnect after a drop
            return transport
        attempt = 0
        while True:
            try:
                with self._pace(transport), self._all_gate:
                    transport.connect()
                self._opened.add(key)
                return transport
            except ConnectError as exc:
                if not exc.transient or attempt >= self.retries or self._cancelled:
                    if attempt:  # the same error (class, kind, hint), with the count said
                        exc.message = f"{exc.message} after {attempt + 1} attempts"
                        exc.args = (exc.message, *exc.args[1:])
                    raise
                attempt += 1
                delay = min(5.0, self.retry_delay * 2 ** (attempt - 1))
                gevent.sleep(delay * random.uniform(0.8, 1.2))

    def _pace(self, transport: Transport) -> threading.BoundedSemaphore:
        """At most ``connect_burst`` connections being opened at once to one address, so
        a burst of hundreds of hosts behind one address (a load balancer, a NAT, one test
        sshd) never overflows its listen backlog into 1-second SYN retries."""
        key = transport.pace_key()
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = threading.BoundedSemaphore(self.connect_burst)
        return gate

    def disconnect(self, host: Host) -> None:
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
        hosts: Sequence[Host],
        work: Callable[[Host], T],
        on_error: Callable[[Host, BaseException], T],
    ) -> tuple[dict[str, T], list[str]]:
        """Run ``work(host)`` for every host, at most ``forks`` at once.

        Returns (results by host name, names of hosts cut off by cancel()). Any
        exception from ``work`` goes through ``on_error(host, exc)`` and becomes the
        host's result, so the map is complete for every host not cut off.
        """
        results: dict[str, T] = {}
        pool = gevent.pool.Pool(self.forks)
        self._pool = pool

        def one(host: Host) -> None:
            if self._cancelled:  # spawned while cancel() was killing the pool
                return
            try:
                results[host.name] = work(host)
            except Cancelled:
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
        except Cancelled:  # cancel() raced with spawn(); the pool is being killed
            pool.join()
        finally:
            self._pool = None
        cut_off = [h.name for h in hosts if h.name not in results]
        return results, cut_off


def _close_quietly(transport: Transport) -> None:
    try:
        transport.close()
    except Exception:  # closing never changes a host's result
        log.debug("close failed", exc_info=True)
