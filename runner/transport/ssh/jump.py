"""Jump hosts (ProxyJump) shared by every host behind them, and keepalives.

Imports paramiko, so it is used only through runner/transport/ssh.py. A bastion is one
paramiko transport per run (per chain of hops): the hosts behind it are direct-tcpip
channels multiplexed over it, so 500 hosts behind one bastion make one connection to
it. Several hosts asking for the same bastion at once wait for one attempt; a failed
attempt is shared by everyone who asks within the connect timeout, so a dead bastion
fails its hosts fast instead of once per host.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import paramiko
from paramiko.ssh_exception import ChannelException, SSHException

from runner.errors import ConnectError, HostError
from runner.transport.ssh.settings import HostSettings

log = logging.getLogger(__name__)

# OpenSSH answers an unknown global request that wants a reply with a failure: either
# answer proves the server is alive.
KEEPALIVE_REQUEST = "keepalive@openssh.com"

ChainKey = tuple[tuple[str, str, int, str, str, tuple[str, ...]], ...]


def chain_key(hops: Sequence[HostSettings]) -> ChainKey:
    """Hosts share a bastion connection only when they would check its host key the same
    way: one verified against another known_hosts file (or under "off") is not theirs."""
    return tuple(
        (h.user, h.address, h.port, h.host_key_checking, h.known_hosts, h.other_known_hosts)
        for h in hops
    )


def hop_label(hops: Sequence[HostSettings]) -> str:
    """'bastion ops@gw:22' or 'bastion ops@gw:22 -> root@inner:22' for messages."""
    return "bastion " + " -> ".join(f"{h.user}@{h.address}:{h.port}" for h in hops)


class _Attempt:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.transport: paramiko.Transport | None = None
        self.error: HostError | None = None
        self.finished_at = 0.0


class BastionPool:
    """Open jump-host transports of one run, keyed by their chain of hops.

    ``connect(settings, sock)`` (given by the SSH context) makes an authenticated
    transport over a socket or channel; the pool decides when to call it.
    """

    def __init__(
        self, connect: Callable[[HostSettings, object, str, str], paramiko.Transport]
    ) -> None:
        self._connect = connect
        self._attempts: dict[ChainKey, _Attempt] = {}
        self._lock = threading.Lock()
        self.connections_made = 0  # how many bastion connections this run opened

    def transport(self, hops: Sequence[HostSettings], host: str) -> paramiko.Transport:
        """The authenticated transport to the last of ``hops`` (reached through the
        ones before it). Raises ConnectError/AuthenticationError/HostKeyError naming the
        bastion, for ``host``."""
        key = chain_key(hops)
        with self._lock:
            attempt = self._attempts.get(key)
            if attempt is not None and attempt.done.is_set():
                stale = (attempt.transport is not None and not attempt.transport.is_active()) or (
                    attempt.error is not None
                    and time.monotonic() - attempt.finished_at > hops[-1].connect_timeout
                )
                if stale:
                    attempt = None
            mine = attempt is None
            if mine:
                attempt = _Attempt()
                self._attempts[key] = attempt
        assert attempt is not None
        if mine:
            try:
                attempt.transport = self._open(hops, host)
            except HostError as exc:
                attempt.error = exc
            except Exception as exc:  # never leave waiters hanging
                attempt.error = ConnectError(f"{hop_label(hops)}: {exc}", host=host)
            finally:
                attempt.finished_at = time.monotonic()
                attempt.done.set()
        else:
            attempt.done.wait()
        if attempt.error is not None:
            raise _for_host(attempt.error, host)
        assert attempt.transport is not None
        return attempt.transport

    def _open(self, hops: Sequence[HostSettings], host: str) -> paramiko.Transport:
        last = hops[-1]
        label = f"{hop_label(hops)}: "
        if len(hops) == 1:
            sock: object = None  # the context opens a plain TCP socket
        else:
            sock = open_tunnel(self.transport(hops[:-1], host), last, hops[:-1], host)
        transport = self._connect(last, sock, label, host)
        self.connections_made += 1
        log.debug("connected to %s", hop_label(hops))
        return transport

    def alive(self, hops: Sequence[HostSettings]) -> bool:
        for i in range(1, len(hops) + 1):
            attempt = self._attempts.get(chain_key(hops[:i]))
            if attempt is None or attempt.transport is None:
                return False
            if not attempt.transport.is_active():
                return False
        return True

    def close(self) -> None:
        with self._lock:
            attempts = list(self._attempts.values())
            self._attempts.clear()
        for attempt in reversed(attempts):  # innermost hops first
            if attempt.transport is not None:
                attempt.transport.close()


def _for_host(error: HostError, host: str) -> HostError:
    """The shared bastion error, re-issued for one more host."""
    clone = type(error).__new__(type(error))
    clone.__dict__.update(error.__dict__)
    clone.args = error.args
    clone.host = host
    return clone


def open_tunnel(
    via: paramiko.Transport, target: HostSettings, hops: Sequence[HostSettings], host: str
) -> paramiko.Channel:
    """A direct-tcpip channel from the last of ``hops`` to ``target``."""
    where = f"{target.address}:{target.port}"
    try:
        return via.open_channel(
            "direct-tcpip",
            (target.address, target.port),
            ("127.0.0.1", 0),
            timeout=target.connect_timeout,
        )
    except ChannelException as exc:
        raise ConnectError(
            f"{hop_label(hops)} could not reach {where}: {exc.text or exc}",
            host=host,
            hint="check that the bastion can reach the host and allows TCP forwarding "
            "(AllowTcpForwarding)",
            transient=True,
        ) from exc
    except (SSHException, EOFError, OSError) as exc:
        raise ConnectError(
            f"{hop_label(hops)} went away while opening a tunnel to {where}: "
            f"{exc or type(exc).__name__}",
            host=host,
            transient=True,
        ) from exc


class Keepalive:
    """Sends a keepalive every ``interval`` seconds that the server must answer; after
    ``count`` unanswered ones in a row it closes the transport and calls ``on_dead``
    with the reason (as OpenSSH's ServerAliveInterval/ServerAliveCountMax do).

    Keeps NAT and firewall state alive on quiet connections, and turns a host that
    stopped answering (frozen, cable pulled) into a lost connection instead of a hang.
    """

    def __init__(
        self,
        transport: paramiko.Transport,
        interval: float,
        count: int,
        on_dead: Callable[[str], None] | None = None,
    ) -> None:
        self.transport = transport
        self.interval = interval
        self.count = max(1, count)
        self.on_dead = on_dead
        self._thread = threading.Thread(target=self._run, name="keepalive", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        transport = self.transport
        missed = 0
        while transport.is_active():
            answered = threading.Event()
            sent = time.monotonic()
            try:
                # paramiko sets completion_event when a global reply arrives
                transport.completion_event = answered
                msg = paramiko.Message()
                msg.add_byte(paramiko.common.cMSG_GLOBAL_REQUEST)
                msg.add_string(KEEPALIVE_REQUEST)
                msg.add_boolean(True)
                transport._send_user_message(msg)  # type: ignore[attr-defined]  # private
            except Exception:  # the transport is closing
                return
            if answered.wait(self.interval):
                missed = 0
                time.sleep(max(0.0, self.interval - (time.monotonic() - sent)))
                continue
            missed += 1
            if missed >= self.count and transport.is_active():
                reason = f"no answer to {self.count} keepalives in {self.count * self.interval:g}s"
                log.debug("closing connection: %s", reason)
                if self.on_dead:
                    self.on_dead(reason)
                transport.close()
                return


class ProxyCommandSocket:
    """A socket-like pipe to a ProxyCommand (run with /bin/sh, as ssh does).

    Unlike paramiko's ProxyCommand, end of output reads as b"" (EOF), so a proxy that
    exits ends the connection instead of spinning; its stderr is kept for the message.
    """

    def __init__(self, command: str) -> None:
        import subprocess
        import tempfile

        from runner.config import child_environment

        self.command = command
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            env=child_environment(),  # never runner's secrets
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,
            start_new_session=True,
        )
        self._timeout: float | None = None

    def send(self, data: bytes) -> int:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(data)
        except OSError as exc:
            raise OSError(f"ProxyCommand ended: {self.stderr_text() or exc}") from exc
        return len(data)

    def recv(self, size: int) -> bytes:
        import os
        import select

        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self._timeout)
        if not ready:
            raise TimeoutError()
        return os.read(self.process.stdout.fileno(), size)

    def stderr_text(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read(2000).decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(2)
            except Exception:
                self.process.kill()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        self._stderr.close()

    @property
    def closed(self) -> bool:
        return self.process.poll() is not None

    _closed = closed
