"""Per-run SSH state shared by every host: the parsed ssh_config, keys (auth.Keyring),
known_hosts indexes and bastion connections (jump.BastionPool), and the handshake
(TCP or tunnel or proxy command -> SSH -> host key -> authentication) used for hosts and
jump hosts alike.

Imports paramiko: used only inside runner/transport/ssh/.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Any

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError, SSHException

from runner.config import HOST_KEY_POLICIES, ConnectionConfig, Secrets, child_environment
from runner.errors import ConfigError, ConnectError, HostError, TaskError, VaultError
from runner.models import Host
from runner.transport.ssh.auth import Keyring, authenticate
from runner.transport.ssh.hostkey import check_host_key
from runner.transport.ssh.jump import BastionPool, Keepalive, ProxyCommandSocket
from runner.transport.ssh.known_hosts import KnownHosts, KnownHostsFiles, known_hosts_name
from runner.transport.ssh.lean import (
    LeanTransport,
    connect_tcp,
    invalid_host_name,
    prefer_aead,
    slow_idle_poll,
)
from runner.transport.ssh.settings import HostSettings, hop_settings, resolve_settings
from runner.vault import Keyring as VaultKeyring

DEFAULT_SSH_CONFIG = "~/.ssh/config"


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

    def _does_match(  # paramiko's private matcher (not in its stubs)
        self, match_list: Any, target_hostname: Any, canonical: Any, final: Any, options: Any
    ) -> Any:
        """paramiko's ``Match`` evaluation, except ``exec``: paramiko runs it with invoke,
        whose reader threads call os.read on pipes that gevent made non-blocking
        (BlockingIOError and a traceback per host). Here it runs as a plain, cooperative
        subprocess; criteria are still tried in order, stopping at the first that fails."""
        matched = []
        for candidate in match_list:
            if candidate["type"] == "exec":
                command = self._tokenize(  # type: ignore[attr-defined]  # paramiko private
                    options, target_hostname, "match-exec", candidate["param"]
                )
                if self._should_fail(_exec_passes(command), candidate):  # type: ignore[attr-defined]
                    return False
            else:
                one = super()._does_match(  # type: ignore[misc]
                    [candidate], target_hostname, canonical, final, options
                )
                if one is True or not one:  # "all" (a hard pass), or a failed criterion
                    return one
            matched.append(candidate)
        return matched


MATCH_EXEC_TIMEOUT = 30.0


def _exec_passes(command: str) -> bool:
    """Whether a ``Match exec`` command exits 0 (run by /bin/sh, as ssh does with the
    user's shell; its output is not shown). ValueError when it cannot run or hangs."""
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=child_environment(),
            timeout=MATCH_EXEC_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ValueError(
            f"Match exec {command!r} still running after {MATCH_EXEC_TIMEOUT:g}s"
        ) from exc
    except OSError as exc:
        raise ValueError(f"Match exec {command!r} cannot run: {exc}") from exc
    return done.returncode == 0


def host_settings(
    host: Host, connection: ConnectionConfig, vault: VaultKeyring | None = None
) -> HostSettings:
    """One host's resolved settings (with ``sources``) as a run would use them, without
    connecting: the ssh_config read and looked up as in a run (runner inventory
    --connection); ``!vault`` settings decrypted with ``vault`` (VaultError without).
    ConfigError when the ssh_config or a setting cannot be used."""
    config = load_ssh_config(connection.ssh_config)
    variables = (vault or VaultKeyring()).revealing(host.vars)
    key = str(variables.get("ansible_host") or host.name)
    try:
        lookup = dict(config.lookup(key))
    except Exception as exc:  # e.g. "Match exec" whose command cannot run
        raise ConfigError(f"ssh config: cannot evaluate the settings for {key}: {exc}") from exc
    try:
        return resolve_settings(host.name, variables, connection, lookup)
    except ValueError as exc:
        raise ConfigError(f"host {host.name}: {exc}") from exc


class SSHContext:
    """State shared by every host of one run (each host's transport.SSHTransport holds it)."""

    def __init__(
        self,
        connection: ConnectionConfig,
        secrets: Secrets,
        *,
        ask_passphrase: Callable[[str], str | None] | None = None,
        use_agent: bool = True,
    ) -> None:
        self.connection = connection  # what the command line said (None: not given)
        self.password = secrets.ssh_password
        self.vault = VaultKeyring(secrets.vault_passwords)  # for a !vault ansible_password
        self.config = load_ssh_config(connection.ssh_config)
        self.keyring = Keyring(secrets.key_passphrase, use_agent=use_agent, ask=ask_passphrase)
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
            except Exception as exc:  # e.g. a "Match exec" command that hangs
                raise ConnectError(
                    f"ssh config: cannot evaluate the settings for {name}: {exc}", host=name
                ) from exc
            self._lookups[name] = found
        return found

    def settings(self, host: Host) -> HostSettings:
        """The host's resolved connection settings, worked out once per run (prepare()
        and the host's transport both ask). A task's ``remote_user`` gives the host
        another ``ansible_user`` (runner.playbook.delegation): settings of their own."""
        name = host.name
        user = host.vars.get("ansible_user")
        cache_key = name if user is None else f"{name}\0{user}"
        cached = self._settings.get(cache_key)
        if cached is not None:
            return cached
        variables = self.vault.revealing(host.vars)  # a !vault ansible_host, ansible_user...
        try:
            key = str(variables.get("ansible_host") or host.name)
            settings = resolve_settings(host.name, variables, self.connection, self.lookup(key))
        except VaultError as exc:  # the host fails (it was not tried), naming the variable
            raise TaskError(str(exc), host=host.name) from exc
        except ValueError as exc:
            raise ConnectError(str(exc), host=host.name) from exc
        if settings.host_key_checking not in HOST_KEY_POLICIES:
            raise ConnectError(
                f"unknown host key checking policy {settings.host_key_checking!r}",
                host=host.name,
                hint=f"use one of {', '.join(HOST_KEY_POLICIES)}",
            )
        self._settings[cache_key] = settings
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
        bad_name = invalid_host_name(settings.address)
        if bad_name:  # found here: under gevent, getaddrinfo would raise it in a thread
            raise ConnectError(
                f"{label}could not resolve host name {settings.address!r}: {bad_name}",
                host=host,
                hint="check the host name, or set ansible_host to its address",
            )
        try:
            sock = connect_tcp(settings.address, settings.port, timeout)
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
            code = getattr(exc, "errno", None)
            reason = os.strerror(code) if code else str(exc)
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
        prefer_aead(transport)
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
        slow_idle_poll(transport)
        return transport

    def _connect_hop(self, settings: HostSettings, sock: Any, label: str, host: str):
        if sock is None:
            sock = self.open_socket(settings, host, label)
        transport = self.handshake(sock, settings, host=host, label=label, password=self.password)
        if settings.keepalive > 0:
            Keepalive(transport, settings.keepalive, settings.keepalive_count)
        return transport

    def close(self) -> None:
        """Close the shared bastion connections (host connections close themselves)."""
        self.bastions.close()


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
