"""SSH connections held between runs (the connection keeper, runner.executors.keeper).

A run served by the keeper makes its transports with :class:`HeldConnectionFactory`:
every host first asks the keeper's store for a held connection made by exactly the same
settings (:func:`reuse_key`: address, port, user, the keys and password that would be
offered, the host-key policy and known_hosts files, the jump chain, ProxyCommand and
keepalives), checks it (still open, its host key still passes this run's known_hosts
and policy), and otherwise opens a new connection as any run does. At the end of the run
an open connection goes back to the store instead of being closed. Bastions are held the
same way, shared by the hosts behind them.

A held connection that went stale is found before a command is sent on it: the request
to open the first channel is the check (it carries no command; a keepalive round trip
before it cost every host a third more CPU). When that request fails because the
connection is gone, or gets no answer within PROBE_TIMEOUT, a new connection replaces it
on the spot and the channel is opened there, so no command is ever sent twice. (SFTP's
first channel and a bastion are checked with a keepalive first.)

Imports paramiko: used only inside runner/transport/ssh/.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

import paramiko

from runner.config import ConnectionConfig, Secrets
from runner.errors import HostError
from runner.models import Host
from runner.transport.base import Transport
from runner.transport.factory import ConnectionFactory
from runner.transport.ssh.context import SSHContext
from runner.transport.ssh.hostkey import HostCertificate, check_host_key
from runner.transport.ssh.jump import KEEPALIVE_REQUEST, BastionPool, chain_key, hop_label
from runner.transport.ssh.known_hosts import KnownHostsFiles
from runner.transport.ssh.lean import slow_idle_poll
from runner.transport.ssh.settings import HostSettings, expand_proxy_command
from runner.transport.ssh.transport import SSHTransport

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0  # a held connection that does not answer a keepalive in this is replaced
# A held connection's reader wakes this seldom on its idle socket (2 s in a run: lean.py);
# a close or the server's FIN still wakes it at once. 1,000 held connections polled every
# 2 s cost the keeper about 5% of a core doing nothing.
HELD_POLL_SECONDS = 30.0


def _poll_every(transport: Any, seconds: float) -> None:
    settimeout = getattr(getattr(transport, "sock", None), "settimeout", None)
    if settimeout is not None:
        try:
            settimeout(seconds)
        except OSError:  # closed meanwhile
            pass


class Store(Protocol):
    """Where held connections wait between runs (runner.executors.keeper.pool.Pool)."""

    def take(self, key: Hashable) -> Any | None:
        """A held host connection for ``key`` (exclusively), or None."""

    def give(self, key: Hashable, transport: Any, label: str, host: str, persist: float) -> None:
        """Hold ``transport`` for ``persist`` seconds."""

    def bastion(self, key: Hashable) -> Any | None:
        """The held (shared) bastion connection for ``key``, or None."""

    def keep_bastion(self, key: Hashable, transport: Any, label: str, persist: float) -> None:
        """Hold (or refresh) a bastion connection."""


def probe(transport: paramiko.Transport, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the server still answers on ``transport``: a keepalive@openssh.com global
    request that wants a reply (OpenSSH answers failure; any answer will do). A server
    that closed the connection shows as inactive; one that went silent does not answer."""
    if not transport.is_active():
        return False
    answered = threading.Event()
    before = getattr(transport, "global_response", None)
    try:
        transport.completion_event = answered  # paramiko sets it on a global reply
        msg = paramiko.Message()
        msg.add_byte(paramiko.common.cMSG_GLOBAL_REQUEST)
        msg.add_string(KEEPALIVE_REQUEST)
        msg.add_boolean(True)
        transport._send_user_message(msg)  # type: ignore[attr-defined]  # paramiko private
    except Exception:  # closing, or closed under us
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # a Keepalive thread may have swapped the event: its reply proves life as well
        if answered.wait(0.05) or getattr(transport, "global_response", None) is not before:
            return transport.is_active()
        if not transport.is_active():
            return False
    return False


def forget_secrets(transport: paramiko.Transport) -> None:
    """paramiko's auth handler keeps the password (and key) it authenticated with for the
    transport's life: a held connection needs neither."""
    handler = getattr(transport, "auth_handler", None)
    if handler is not None:
        for name in ("password", "private_key"):
            if hasattr(handler, name):
                setattr(handler, name, None)


class Identities:
    """Digests of what a run would authenticate with: the public keys offered, in order,
    and the password (an HMAC under the keeper's own random salt, never the password)."""

    def __init__(self, context: SSHContext, salt: bytes) -> None:
        self.context = context
        self.salt = salt
        self._keys: dict[int, str] = {}

    def password(self, password: str | None) -> str:
        if not password:
            return ""
        return hmac.new(self.salt, password.encode(), hashlib.sha256).hexdigest()

    def keys(self, settings: HostSettings) -> tuple[str, ...]:
        offered, _notes = self.context.keyring.candidates(settings)
        out = []
        for _label, key in offered:
            digest = self._keys.get(id(key))
            if digest is None:
                digest = hashlib.sha256(key.asbytes()).hexdigest()[:32]
                self._keys[id(key)] = digest
            out.append(digest)
        return tuple(out)


def _shape(settings: HostSettings) -> tuple[Any, ...]:
    """The settings that shape a connection once it is open (timeouts to open it aside)."""
    return (
        settings.address,
        settings.port,
        settings.user,
        settings.host_key_checking,
        settings.known_hosts,
        settings.other_known_hosts,
        settings.keepalive,
        settings.keepalive_count,
        settings.identities_only,
        settings.explicit_keys,
    )


def hops_key(
    identities: Identities, hops: Sequence[HostSettings], password: str | None
) -> tuple[Any, ...]:
    return tuple((*_shape(h), identities.keys(h), identities.password(password)) for h in hops) + (
        chain_key(hops),
    )


def reuse_key(
    identities: Identities,
    settings: HostSettings,
    hops: Sequence[HostSettings],
    password: str | None,
) -> tuple[Any, ...]:
    """Everything that made a host's connection: a held one is reused only when a new
    one would be made the same way."""
    proxy = (
        expand_proxy_command(settings.proxy_command, settings.address, settings.port, settings.user)
        if settings.proxy_command and not hops
        else None
    )
    return (
        "host",
        _shape(settings),
        identities.keys(settings),
        identities.password(password),
        proxy,
        hops_key(identities, hops, identities.context.password) if hops else (),
    )


def _host_key_holds(context: SSHContext, transport: Any, settings: HostSettings, host: str) -> bool:
    """Whether a held connection's server key passes this run's known_hosts and policy
    (a key revoked or replaced in known_hosts since then is not accepted by reuse).

    A plain key that passed is not checked again while the policy, the address and the
    known_hosts files' contents are the same (0.2 ms a host of a warm run); a
    certificate is checked every time (its validity ends)."""
    known = KnownHostsFiles(
        context.known_hosts(settings.known_hosts),
        [context.known_hosts(path) for path in settings.other_known_hosts],
    )
    same = (settings.address, settings.port, settings.host_key_checking, known.version())
    if getattr(transport, "host_key_passed", None) == same:
        return True
    try:
        check_host_key(transport, settings, known, host=host)
    except (HostError, paramiko.SSHException):
        return False
    if HostCertificate.of(transport.get_remote_server_key()) is None:
        # after the check: accept-new may have recorded the key, a new version
        passed = (settings.address, settings.port, settings.host_key_checking, known.version())
        try:
            transport.host_key_passed = passed
        except AttributeError:  # a transport that takes no attributes: checked every time
            pass
    return True


def usable(context: SSHContext, transport: Any, settings: HostSettings, host: str) -> bool:
    return probe(transport, min(PROBE_TIMEOUT, settings.connect_timeout)) and _host_key_holds(
        context, transport, settings, host
    )


def _gone(exc: BaseException) -> bool:
    """Whether a channel-open failed because the connection is gone or silent, not
    because the server refused the channel (which a new connection would not change)."""
    return not isinstance(exc, paramiko.ChannelException)


class HeldSSHTransport(SSHTransport):
    """An SSHTransport that starts from a held connection when one fits, and hands its
    connection back to the store when the run is done with it."""

    def __init__(self, host: Host, factory: HeldConnectionFactory) -> None:
        super().__init__(host, factory.context)
        self.factory = factory
        self._key: tuple[Any, ...] | None = None
        self._asked_store = False
        self.reused = False
        # a held connection taken without a round trip: its first channel-open is the
        # check that it is alive (see open_session)
        self._unproven = False

    def _password(self) -> str | None:
        v = self.host.vars
        password = v.get("ansible_password") or v.get("ansible_ssh_pass")
        return str(password) if password not in (None, "") else self.context.password

    def connect(self) -> None:
        if self._transport is not None and self._transport.is_active():
            return
        s = self.settings
        if self._key is None:
            self._key = reuse_key(self.factory.identities, s, self._hops, self._password())
        if not self._asked_store:
            self._asked_store = True
            store = self.factory.store
            while (held := store.take(self._key)) is not None:
                if held.is_active() and _host_key_holds(self.context, held, s, self.host.name):
                    slow_idle_poll(held)
                    self._transport = held
                    self.reused = self._unproven = True
                    return
                log.debug("held connection to %s is closed: replaced", self.where)
                held.close()
        self._connect_new()

    def _connect_new(self) -> None:
        self._unproven = False
        super().connect()
        if self._transport is not None:
            forget_secrets(self._transport)

    def _replace_stale(self, why: object) -> None:
        log.debug("held connection to %s is stale (%s): replaced", self.where, why)
        stale, self._transport = self._transport, None
        if stale is not None:
            stale.close()
        self._connect_new()

    def open_session(self, timeout: float) -> paramiko.Channel:
        """A session channel; on a held connection not yet used in this run, opening it
        is the check that the connection is alive (the request to open a channel carries
        no command): when that fails for a gone or silent connection (within the probe
        time), a new connection replaces it and the channel is opened there."""
        if not self._unproven:
            return super().open_session(timeout)
        self._unproven = False
        try:
            return super().open_session(min(PROBE_TIMEOUT, timeout))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if not _gone(exc):
                raise
            self._replace_stale(exc)
        return super().open_session(timeout)

    def sftp(self) -> paramiko.SFTPClient:
        if self._unproven and self._sftp is None:
            self._unproven = False
            transport = self._transport
            if transport is not None and not probe(
                transport, min(PROBE_TIMEOUT, self.settings.connect_timeout)
            ):
                self._replace_stale("no answer to a keepalive")
        return super().sftp()

    _sftp_client = sftp

    def close(self) -> None:
        transport = self._transport
        if transport is None or self._key is None or not transport.is_active():
            super().close()
            return
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            try:
                sftp.close()
            except Exception:  # closing never fails a host
                log.debug("sftp close failed", exc_info=True)
        self._transport = None
        _poll_every(transport, HELD_POLL_SECONDS)
        label = f"{self.settings.user}@{self.where}"
        self.factory.store.give(self._key, transport, label, self.host.name, self.factory.persist)
        # A Keepalive thread keeps this object (its on_dead callback) for the connection's
        # life: let go of the run's context, which holds its password and decrypted keys.
        self.context = self.factory = None  # type: ignore[assignment]


class HeldBastionPool(BastionPool):
    """The run's bastion pool, starting from the keeper's held bastion connections; at
    the end of the run they stay open, held for the hosts behind them."""

    def __init__(self, factory: HeldConnectionFactory) -> None:
        super().__init__(factory.context._connect_hop)
        self.factory = factory
        self._used: dict[Hashable, tuple[Any, str]] = {}

    def _open(self, hops: Sequence[HostSettings], host: str) -> paramiko.Transport:
        context = self.factory.context
        key = ("bastion", hops_key(self.factory.identities, hops, context.password))
        held = self.factory.store.bastion(key)
        if held is not None and usable(context, held, hops[-1], host):
            slow_idle_poll(held)
            self._used[key] = (held, hop_label(hops).removeprefix("bastion "))
            return held
        transport = super()._open(hops, host)
        forget_secrets(transport)
        self._used[key] = (transport, hop_label(hops).removeprefix("bastion "))
        return transport

    def close(self) -> None:
        with self._lock:
            self._attempts.clear()
        for key, (transport, label) in self._used.items():
            if transport.is_active():
                _poll_every(transport, HELD_POLL_SECONDS)
                self.factory.store.keep_bastion(key, transport, label, self.factory.persist)
        self._used.clear()


class HeldConnectionFactory(ConnectionFactory):
    """The run's transports over the keeper's ``store`` (``persist``: seconds an unused
    connection stays held after this run; ``salt``: the keeper's secret for digests)."""

    def __init__(
        self,
        connection: ConnectionConfig,
        secrets: Secrets,
        *,
        store: Store,
        persist: float,
        salt: bytes,
        ask_passphrase: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__(connection, secrets, ask_passphrase=ask_passphrase)
        self.store = store
        self.persist = persist
        self.identities = Identities(self.context, salt)
        self.context.bastions = HeldBastionPool(self)

    def __call__(self, host: Host) -> Transport:
        if host.connection == "local":
            return super().__call__(host)
        return HeldSSHTransport(host, self)


__all__ = ["HeldConnectionFactory", "HeldSSHTransport", "Store", "probe", "reuse_key"]
