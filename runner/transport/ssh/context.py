"""Per-run SSH state shared by every host: the parsed ssh_config, keys (auth.Keyring),
known_hosts indexes and bastion connections (jump.BastionPool), and the handshake
(TCP or tunnel or proxy command -> SSH -> host key -> authentication) used for hosts and
jump hosts alike.

Imports paramiko, so it is used only through runner/transport/ssh.py.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError, SSHException

from runner.errors import ConfigError, ConnectError, HostError
from runner.models import Host
from runner.transport.ssh.auth import Keyring, authenticate
from runner.transport.ssh.hostkey import check_host_key
from runner.transport.ssh.jump import BastionPool, Keepalive, ProxyCommandSocket
from runner.transport.ssh.known_hosts import KnownHosts, KnownHostsFiles, known_hosts_name
from runner.transport.sshopts import CLIOptions, HostSettings, hop_settings, resolve_settings

if TYPE_CHECKING:
    from runner.transport.ssh import SSHTransport

HOST_KEY_POLICIES = ("strict", "accept-new", "off")
DEFAULT_SSH_CONFIG = "~/.ssh/config"


@dataclass(frozen=True)
class SSHOptions:
    """Connection settings from the command line (None: not given, so the inventory,
    then ssh_config, then the default decides)."""

    user: str | None = None
    password: str | None = None
    private_key: str | None = None
    connect_timeout: float | None = None
    host_key_checking: str | None = None
    known_hosts: str | None = None
    jump: str | None = None
    keepalive: float | None = None
    ssh_config: str | None = None  # None: ~/.ssh/config when it exists; "none": no file
    key_passphrase: str | None = None
    use_agent: bool = True

    def __repr__(self) -> str:  # never show the password or the passphrase
        return (
            f"SSHOptions(user={self.user!r}, private_key={self.private_key!r}, "
            f"jump={self.jump!r}, host_key_checking={self.host_key_checking!r})"
        )


def load_ssh_config(path: str | None) -> paramiko.SSHConfig:
    """Parse an ssh_config once per run (an empty one for "none" or a missing default)."""
    if path and path.lower() == "none":
        return paramiko.SSHConfig()
    explicit = path is not None
    full = os.path.expanduser(path or DEFAULT_SSH_CONFIG)
    if not os.path.isfile(full):
        if explicit:
            raise ConfigError(f"ssh config {path}: no such file")
        return paramiko.SSHConfig()
    try:
        return _SSHConfig.from_path(full)
    except (paramiko.ssh_exception.ConfigParseError, OSError, ValueError) as exc:
        raise ConfigError(f"cannot read ssh config: {exc}", path=full) from exc


class _SSHConfig(paramiko.SSHConfig):
    """paramiko's parser, leaving %h/%p/%r in ProxyCommand and ProxyJump to be expanded
    with the host's final address, port and user (inventory values included)."""

    TOKENS_BY_CONFIG_KEY = {
        **paramiko.SSHConfig.TOKENS_BY_CONFIG_KEY,
        "proxycommand": ["~"],
        "proxyjump": [],
    }


class SSHContext:
    """State shared by every host of one run; ``transport(host)`` is the factory."""

    def __init__(
        self, options: SSHOptions, *, ask_passphrase: Callable[[str], str | None] | None = None
    ) -> None:
        if options.host_key_checking not in (None, *HOST_KEY_POLICIES):
            raise ValueError(f"host_key_checking must be one of {HOST_KEY_POLICIES}")
        self.options = options
        self.cli = CLIOptions(
            user=options.user,
            private_key=options.private_key,
            jump=options.jump,
            connect_timeout=options.connect_timeout,
            host_key_checking=options.host_key_checking,
            known_hosts=options.known_hosts,
            keepalive=options.keepalive,
        )
        self.config = load_ssh_config(options.ssh_config)
        self.keyring = Keyring(
            options.key_passphrase, use_agent=options.use_agent, ask=ask_passphrase
        )
        self.bastions = BastionPool(self._connect_hop)
        self._lookups: dict[str, Mapping[str, Any]] = {}
        self._known: dict[str, KnownHosts] = {}
        self._settings: dict[str, HostSettings] = {}  # host vars do not change in a run

    # -- per-host settings ---------------------------------------------------------

    def lookup(self, name: str) -> Mapping[str, Any]:
        """ssh_config values for ``name`` (cached: many inventory hosts share an address)."""
        found = self._lookups.get(name)
        if found is None:
            try:
                found = dict(self.config.lookup(name))
            except Exception as exc:  # e.g. "Match exec" without the invoke package
                raise ConnectError(
                    f"ssh config: cannot evaluate the settings for {name}: {exc}", host=name
                ) from exc
            self._lookups[name] = found
        return found

    def settings(self, host: Host) -> HostSettings:
        """The host's resolved connection settings, worked out once per run (prepare()
        and the host's transport both ask)."""
        cached = self._settings.get(host.name)
        if cached is not None:
            return cached
        key = str(host.vars.get("ansible_host") or host.name)
        try:
            settings = resolve_settings(host.name, host.vars, self.cli, self.lookup(key))
        except ValueError as exc:
            raise ConnectError(str(exc), host=host.name) from exc
        if settings.host_key_checking not in HOST_KEY_POLICIES:
            raise ConnectError(
                f"unknown host key checking policy {settings.host_key_checking!r}",
                host=host.name,
                hint=f"use one of {', '.join(HOST_KEY_POLICIES)}",
            )
        self._settings[host.name] = settings
        return settings

    def hops(self, settings: HostSettings) -> list[HostSettings]:
        return [hop_settings(h, settings, self.lookup(h.host)) for h in settings.jump]

    def known_hosts(self, path: str) -> KnownHosts:
        known = self._known.get(path)
        if known is None:
            known = self._known[path] = KnownHosts(path)
        return known

    def prepare(self, hosts: list[Host]) -> None:
        """Load every private key the hosts will use before connecting, asking for a
        passphrase (once) while nothing else is running. Optional: keys load lazily too."""
        paths: dict[str, None] = {}
        for host in hosts:
            try:
                settings = self.settings(host)
            except HostError:
                continue  # reported when that host connects
            for path in settings.key_files:
                paths.setdefault(path)
        for path in paths:
            self.keyring.load(path, interactive=True)

    # -- connecting ----------------------------------------------------------------

    def open_socket(self, settings: HostSettings, host: str, label: str = "") -> socket.socket:
        where = f"{settings.address}:{settings.port}"
        timeout = settings.connect_timeout
        try:
            sock = _connect_tcp(settings.address, settings.port, timeout)
        except socket.gaierror as exc:
            raise ConnectError(
                f"{label}could not resolve host name {settings.address!r}: {exc.strerror}",
                host=host,
                hint="check the host name, or set ansible_host to its address",
            ) from exc
        except TimeoutError as exc:
            raise ConnectError(
                f"{label}timed out connecting to {where} after {timeout:g}s",
                host=host,
                transient=True,
            ) from exc
        except ConnectionRefusedError as exc:
            raise ConnectError(
                f"{label}connection refused ({where})", host=host, transient=True
            ) from exc
        except (NoValidConnectionsError, OSError) as exc:
            reason = os.strerror(exc.errno) if getattr(exc, "errno", None) else str(exc)
            transient = getattr(exc, "errno", None) in (
                errno.ECONNRESET,
                errno.EHOSTUNREACH,
                errno.ENETUNREACH,
                errno.EAGAIN,
            )
            raise ConnectError(
                f"{label}cannot connect to {where}: {reason}", host=host, transient=transient
            ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def handshake(
        self,
        sock: Any,
        settings: HostSettings,
        *,
        host: str,
        label: str = "",
        password: str | None = None,
    ) -> paramiko.Transport:
        """SSH handshake, host key check and authentication over ``sock`` (a socket, a
        tunnel channel or a proxy command)."""
        timeout = settings.connect_timeout
        deadline = time.monotonic() + timeout
        where = f"{settings.address}:{settings.port}"
        transport = LeanTransport(sock)
        _prefer_aead(transport)
        known = KnownHostsFiles(
            self.known_hosts(settings.known_hosts),
            [self.known_hosts(path) for path in settings.other_known_hosts],
        )
        # as ssh does: the key types known_hosts holds for this host are asked for first
        transport.host_key_order = known.preferred_algorithms(
            known_hosts_name(settings.address, settings.port), transport.preferred_keys
        )
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        transport.auth_timeout = timeout
        try:
            try:
                transport.start_client(timeout=max(0.1, deadline - time.monotonic()))
            except SSHException as exc:
                raise _handshake_error(exc, timeout, where, host, label, sock) from exc
            except (EOFError, OSError) as exc:
                raise ConnectError(
                    f"{label}connection closed during SSH handshake ({where})" + _proxy_said(sock),
                    host=host,
                    transient=True,
                ) from exc
            if not getattr(transport, "initial_kex_done", True) or not transport.is_active():
                # start_client returns quietly when its own deadline passes first
                error = transport.get_exception()
                if transport.remote_version:
                    message = f"SSH handshake with {where} timed out after {timeout:g}s"
                else:
                    message = (
                        f"no SSH greeting from {where} within {timeout:g}s "
                        "(is an SSH server listening there?)"
                    )
                raise ConnectError(
                    f"{label}{message}{_proxy_said(sock)}", host=host, transient=True
                ) from error
            try:
                check_host_key(transport, settings, known, host=host, label=label)
            except SSHException as exc:  # "No existing session": closed right after kex
                raise ConnectError(
                    f"{label}connection closed during SSH handshake ({where})",
                    host=host,
                    transient=True,
                ) from exc
            authenticate(transport, settings, self.keyring, password, host=host, label=label)
        except BaseException:
            transport.close()
            raise
        _slow_idle_poll(transport)
        return transport

    def _connect_hop(self, settings: HostSettings, sock: Any, label: str, host: str):
        if sock is None:
            sock = self.open_socket(settings, host, label)
        transport = self.handshake(
            sock, settings, host=host, label=label, password=self.options.password
        )
        if settings.keepalive > 0:
            Keepalive(transport, settings.keepalive, settings.keepalive_count)
        return transport

    def transport(self, host: Host) -> SSHTransport:
        from runner.transport.ssh import SSHTransport

        return SSHTransport(host, self)

    def close(self) -> None:
        """Close the shared bastion connections (host connections close themselves)."""
        self.bastions.close()


log = logging.getLogger(__name__)


_FILTERED_ALGORITHMS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}


class LeanTransport(paramiko.Transport):
    """paramiko's Transport minus three costs a profile of 500 hosts showed per
    connection: SSH_MSG_DEBUG messages (OpenSSH sends one per key option after publickey
    auth) are escaped byte by byte in Python even when nobody logs them, the preferred
    algorithm lists are re-filtered on every access (16 times per handshake), and debug
    log calls go all the way into logging. And minus one wait: see
    _parse_global_request.

    Plus two things for host key checking: ``host_key_order`` (None: paramiko's order)
    is the host key algorithms to ask for, and ``server_host_key_algorithms`` what the
    server offered."""

    host_key_order: tuple[str, ...] | None = None
    server_host_key_algorithms: tuple[str, ...] = ()

    @property
    def preferred_keys(self) -> tuple[str, ...]:
        order = self.host_key_order
        return order if order is not None else super().preferred_keys

    def _really_parse_kex_init(self, m: paramiko.Message, ignore_first_byte: bool = False):
        parsed = super()._really_parse_kex_init(m, ignore_first_byte)
        if not ignore_first_byte:  # the peer's KEXINIT (ours is re-read with its type byte)
            self.server_host_key_algorithms = tuple(parsed["server_key_algo_list"])
        return parsed

    def _parse_global_request(self, m: paramiko.Message) -> None:
        """Acknowledge at once the TCP segment that carried a global request.

        Right after authentication OpenSSH sends `hostkeys-00@openssh.com`, which wants no
        reply, so nothing carries our ACK back and the kernel delays it by 40 ms. The
        server's answer to our channel-open is a small packet that Nagle's algorithm then
        holds until that ACK: every host's first command started 43 ms late (strace of
        sshd: the confirmation written at once, our next packet read 43 ms later)."""
        super()._parse_global_request(m)
        ack_now(self.sock)

    def _parse_debug(self, m: paramiko.Message) -> None:
        if log.isEnabledFor(logging.DEBUG):
            super()._parse_debug(m)

    def _filter_algorithm(self, type_: str) -> tuple[str, ...]:
        # The answer depends only on these three values, so one table serves every
        # connection of the run (it has a handful of entries).
        disabled = self.disabled_algorithms.get(type_)
        key = (type_, getattr(self, "_preferred_" + type_), tuple(disabled) if disabled else ())
        try:
            return _FILTERED_ALGORITHMS[key]
        except KeyError:
            filtered = _FILTERED_ALGORITHMS[key] = super()._filter_algorithm(type_)
            return filtered

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        # paramiko logs ~35 debug messages per connection; most runs log none of them
        if self.logger.isEnabledFor(level):
            super()._log(level, msg, *args)


# paramiko's reader wakes up every 0.1 s on an idle socket to notice a close and send
# keepalives. After the handshake that is only overhead (1,000 hosts running `sleep 5`
# would wake it 50,000 times): close() shuts the socket, which wakes the reader at once,
# and keepalives have their own timer (jump.Keepalive).
IDLE_POLL_SECONDS = 2.0

# AES-GCM first: the AEAD cipher authenticates in C, while paramiko checks the HMAC of
# every packet of the other ciphers with a pure-Python constant-time compare (about a
# quarter of the client's CPU per host in a profile of 500 `echo hi` hosts). OpenSSH has
# offered aes128-gcm since 6.2; servers without it fall back to the usual order.
_AEAD_FIRST = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def _prefer_aead(transport: paramiko.Transport) -> None:
    options = transport.get_security_options()
    available = tuple(options.ciphers)
    first = tuple(c for c in _AEAD_FIRST if c in available)
    options.ciphers = first + tuple(c for c in available if c not in first)


def ack_now(sock: Any) -> None:
    """Send the ACK the kernel is holding back for this TCP socket, if it is one (a tunnel
    through a bastion or a proxy command is not; only Linux has TCP_QUICKACK)."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    setsockopt = getattr(sock, "setsockopt", None)
    if quickack is None or setsockopt is None:
        return
    try:
        setsockopt(socket.IPPROTO_TCP, quickack, 1)
    except OSError:  # closed meanwhile: nothing to acknowledge
        pass


def _slow_idle_poll(transport: paramiko.Transport) -> None:
    settimeout = getattr(transport.sock, "settimeout", None)
    if settimeout is not None:
        settimeout(IDLE_POLL_SECONDS)


def _connect_tcp(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection; an IP literal skips name resolution (under gevent, every
    getaddrinfo is a round trip through a thread pool)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    except ValueError:
        return socket.create_connection((address, port), timeout=timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _handshake_error(
    exc: SSHException, timeout: float, where: str, host: str, label: str, sock: Any
) -> ConnectError:
    text = str(exc)
    if "banner" in text.lower():
        message = (
            f"no SSH greeting from {where} within {timeout:g}s (is an SSH server listening there?)"
        )
    elif "timeout" in text.lower() or "timed out" in text.lower():
        message = f"SSH handshake with {where} timed out after {timeout:g}s"
    else:
        message = f"SSH handshake with {where} failed: {text}"
    return ConnectError(f"{label}{message}{_proxy_said(sock)}", host=host, transient=True)


def _proxy_said(sock: Any) -> str:
    if isinstance(sock, ProxyCommandSocket):
        said = sock.stderr_text()
        return f" (ProxyCommand said: {said})" if said else " (ProxyCommand ended)"
    return ""
