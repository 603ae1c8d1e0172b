"""SSH transport on paramiko. The only module in runner that imports paramiko.

Everything paramiko or the socket layer raises is translated here, at the edge, into
runner.errors.HostError subclasses with a message a person can act on.

Per-run state (private keys, the known_hosts index) lives in one ``SSHContext`` shared
by every host's transport, so a 2,000-host run parses each key file and the
known_hosts file once, not 2,000 times.
"""

from __future__ import annotations

import errno
import getpass
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import paramiko
from paramiko.ssh_exception import (
    AuthenticationException,
    BadAuthenticationType,
    NoValidConnectionsError,
    PasswordRequiredException,
    SSHException,
)

from runner.errors import (
    AuthenticationError,
    CommandTimeoutError,
    ConnectError,
    ConnectionLostError,
    HostKeyError,
)
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport

log = logging.getLogger(__name__)

HOST_KEY_POLICIES = ("strict", "accept-new", "off")
DEFAULT_KEY_FILES = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")
_READ_SIZE = 65536


@dataclass(frozen=True)
class SSHOptions:
    """Connection settings from the command line; inventory variables override them."""

    user: str | None = None
    password: str | None = None
    private_key: str | None = None
    connect_timeout: float = 10.0
    host_key_checking: str = "accept-new"
    known_hosts: str = "~/.ssh/known_hosts"
    use_agent: bool = True
    look_for_keys: bool = True

    def __repr__(self) -> str:  # never show the password
        return (
            f"SSHOptions(user={self.user!r}, private_key={self.private_key!r}, "
            f"host_key_checking={self.host_key_checking!r})"
        )


class KnownHosts:
    """An index over an OpenSSH known_hosts file, read once and appended to safely.

    Plain host names are looked up in a dict; hashed entries (``|1|salt|hash``) are
    checked with paramiko's ``HostKeys.hash_host``. Keys are compared as
    (type, base64) strings, so no key object is built per line.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.expanduser(path)
        self._plain: dict[str, list[tuple[str, str]]] = {}
        self._hashed: list[tuple[str, str, str, str]] = []  # (salt, hash, type, b64)
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read %s: %s", self.path, exc)
            return
        for line in lines:
            self._index_line(line)

    def _index_line(self, line: str) -> None:
        line = line.strip()
        if not line or line.startswith(("#", "@")):
            return  # comments; @cert-authority / @revoked markers are not supported
        fields = line.split()
        if len(fields) < 3:
            return
        names, key_type, b64 = fields[0], fields[1], fields[2]
        for name in names.split(","):
            if name.startswith("|1|"):
                parts = name.split("|")
                if len(parts) == 4:
                    self._hashed.append((parts[2], name, key_type, b64))
            else:
                self._plain.setdefault(name, []).append((key_type, b64))

    def lookup(self, name: str) -> list[tuple[str, str]]:
        """Every (key_type, base64) recorded for ``name``."""
        found = list(self._plain.get(name, ()))
        for salt, hashed, key_type, b64 in self._hashed:
            if paramiko.HostKeys.hash_host(name, salt) == hashed:
                found.append((key_type, b64))
        return found

    def record(self, name: str, key: paramiko.PKey) -> None:
        """Append one line for ``name``; a single O_APPEND write per host keeps the file valid
        even with hundreds of hosts recorded at once (and with another runner writing)."""
        entry = (key.get_name(), key.get_base64())
        with self._lock:
            if entry in self._plain.get(name, ()):
                return
            self._plain.setdefault(name, []).append(entry)
            line = f"{name} {entry[0]} {entry[1]}\n".encode()
            directory = os.path.dirname(self.path)
            if directory and not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


def known_hosts_name(address: str, port: int) -> str:
    """The name OpenSSH uses in known_hosts.

    >>> known_hosts_name("web1", 22), known_hosts_name("10.0.0.1", 2222)
    ('web1', '[10.0.0.1]:2222')
    """
    return address if port == 22 else f"[{address}]:{port}"


class SSHContext:
    """State shared by every host of one run: loaded keys, the known_hosts index, options."""

    def __init__(self, options: SSHOptions) -> None:
        if options.host_key_checking not in HOST_KEY_POLICIES:
            raise ValueError(f"host_key_checking must be one of {HOST_KEY_POLICIES}")
        self.options = options
        self._keys: dict[str, paramiko.PKey | None] = {}
        self._key_errors: dict[str, str] = {}
        self._agent_keys: list[paramiko.PKey] | None = None
        self._known_hosts: KnownHosts | None = None
        self._lock = threading.Lock()

    @property
    def known_hosts(self) -> KnownHosts:
        if self._known_hosts is None:
            self._known_hosts = KnownHosts(self.options.known_hosts)
        return self._known_hosts

    def load_key(self, path: str) -> paramiko.PKey | None:
        """Load a private key once per run; None (with the reason remembered) on failure."""
        path = os.path.expanduser(path)
        if path not in self._keys:
            key = None
            try:
                key = paramiko.PKey.from_path(path)
            except FileNotFoundError:
                self._key_errors[path] = "not found"
            except PasswordRequiredException:
                self._key_errors[path] = "encrypted (passphrase needed)"
            except (SSHException, ValueError, OSError) as exc:
                self._key_errors[path] = f"unreadable: {exc}"
            self._keys[path] = key
        return self._keys[path]

    def key_error(self, path: str) -> str | None:
        return self._key_errors.get(os.path.expanduser(path))

    def agent_keys(self) -> list[paramiko.PKey]:
        if self._agent_keys is None:
            keys: list[paramiko.PKey] = []
            if self.options.use_agent and os.environ.get("SSH_AUTH_SOCK"):
                try:
                    keys = [_LockedAgentKey(k, self._lock) for k in paramiko.Agent().get_keys()]
                except (SSHException, OSError) as exc:
                    log.debug("ssh-agent unavailable: %s", exc)
            self._agent_keys = keys
        return self._agent_keys

    def transport(self, host: Host) -> SSHTransport:
        return SSHTransport(host, self)


class _LockedAgentKey:
    """An agent key whose signing requests are serialised: one agent socket is shared by
    every greenlet, and interleaved requests would corrupt the agent protocol."""

    def __init__(self, key: paramiko.AgentKey, lock: threading.Lock) -> None:
        self._key = key
        self._lock = lock

    def sign_ssh_data(self, data: bytes, algorithm: str | None = None) -> bytes:
        with self._lock:
            return self._key.sign_ssh_data(data, algorithm)

    def __getattr__(self, name: str):
        return getattr(self._key, name)


class SSHTransport(Transport):
    """One paramiko connection to one host, reused for everything that host does in a run."""

    def __init__(self, host: Host, context: SSHContext) -> None:
        self.host = host
        self.context = context
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        opts = context.options
        self.address = host.address
        self.port = host.port or 22
        self.user = host.user or opts.user or getpass.getuser()
        self.where = f"{self.address}:{self.port}"

    # -- connecting ------------------------------------------------------------------

    def connect(self) -> None:
        if self._transport is not None and self._transport.is_active():
            return
        timeout = self.context.options.connect_timeout
        deadline = time.monotonic() + timeout
        sock = self._open_socket(timeout)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        transport.auth_timeout = timeout
        self._transport = transport
        try:
            try:
                transport.start_client(timeout=max(0.1, deadline - time.monotonic()))
            except SSHException as exc:
                raise self._handshake_error(exc, timeout) from exc
            except (EOFError, OSError) as exc:
                raise ConnectError(
                    f"connection closed during SSH handshake ({self.where})",
                    host=self.host.name,
                    transient=True,
                ) from exc
            self._check_host_key(transport)
            self._authenticate(transport)
        except BaseException:
            self.close()
            raise

    def _open_socket(self, timeout: float) -> socket.socket:
        name = self.host.name
        try:
            sock = socket.create_connection((self.address, self.port), timeout=timeout)
        except socket.gaierror as exc:
            raise ConnectError(
                f"could not resolve host name {self.address!r}: {exc.strerror}",
                host=name,
                hint="check the host name, or set ansible_host to its address",
            ) from exc
        except TimeoutError as exc:
            raise ConnectError(
                f"timed out connecting to {self.where} after {timeout:g}s",
                host=name,
                transient=True,
            ) from exc
        except ConnectionRefusedError as exc:
            raise ConnectError(
                f"connection refused ({self.where})", host=name, transient=True
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
                f"cannot connect to {self.where}: {reason}", host=name, transient=transient
            ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _handshake_error(self, exc: SSHException, timeout: float) -> ConnectError:
        text = str(exc)
        if "banner" in text.lower():
            message = (
                f"no SSH greeting from {self.where} within {timeout:g}s "
                "(is an SSH server listening there?)"
            )
        elif "timeout" in text.lower() or "timed out" in text.lower():
            message = f"SSH handshake with {self.where} timed out after {timeout:g}s"
        else:
            message = f"SSH handshake with {self.where} failed: {text}"
        return ConnectError(message, host=self.host.name, transient=True)

    def _check_host_key(self, transport: paramiko.Transport) -> None:
        policy = self.host.vars.get("runner_host_key_checking") or (
            self.context.options.host_key_checking
        )
        if policy == "off":
            return
        key = transport.get_remote_server_key()
        name = known_hosts_name(self.address, self.port)
        known = self.context.known_hosts
        recorded = known.lookup(name)
        key_type, b64 = key.get_name(), key.get_base64()
        same_type = [k for k in recorded if k[0] == key_type]
        if same_type:
            if (key_type, b64) in same_type:
                return
            raise HostKeyError(
                f"host key changed for {name}: the server offered a different {key_type} "
                f"key than the one recorded in {known.path}; this can mean an attack "
                "(someone in the middle) or a reinstalled host",
                host=self.host.name,
                hint=f"if the change is expected, remove the old entry: ssh-keygen -R '{name}'"
                f" -f {known.path}",
            )
        if policy == "strict":
            raise HostKeyError(
                f"host key unknown for {name} ({key_type}) and host key checking is strict",
                host=self.host.name,
                hint="connect once with --host-key-checking accept-new, or add the key "
                f"to {known.path} (ssh-keyscan)",
            )
        known.record(name, key)

    def _authenticate(self, transport: paramiko.Transport) -> None:
        ctx = self.context
        opts = ctx.options
        tried: list[str] = []
        allowed: list[str] | None = None

        key_files = _key_files(self.host, opts)
        keys: list[tuple[str, paramiko.PKey]] = []
        for path in key_files:
            key = ctx.load_key(path)
            if key is not None:
                keys.append((path, key))
            elif path in _explicit_key_files(self.host, opts):
                tried.append(f"key {path} ({ctx.key_error(path)})")
        agent = ctx.agent_keys() if not _explicit_key_files(self.host, opts) else []
        keys[len(keys) : len(keys)] = [("ssh-agent", k) for k in agent]
        if opts.look_for_keys and not _explicit_key_files(self.host, opts):
            for path in DEFAULT_KEY_FILES:
                key = ctx.load_key(path)
                if key is not None:
                    keys.append((path, key))

        for label, key in keys:
            try:
                remaining = transport.auth_publickey(self.user, key)
            except BadAuthenticationType as exc:
                allowed = list(exc.allowed_types)
                tried.append(f"{label} (publickey not allowed)")
                break
            except AuthenticationException:
                tried.append(label)
                continue
            except (SSHException, EOFError, OSError) as exc:
                raise self._lost_during_auth(exc) from exc
            if not remaining and transport.is_authenticated():
                return

        password = self.host.vars.get("ansible_password")
        if password in (None, ""):
            password = self.host.vars.get("ansible_ssh_pass") or opts.password
        if password and (allowed is None or "password" in allowed):
            try:
                transport.auth_password(self.user, str(password))
                if transport.is_authenticated():
                    return
            except BadAuthenticationType as exc:
                allowed = list(exc.allowed_types)
                tried.append("password (not allowed)")
            except AuthenticationException:
                tried.append("password")
            except (SSHException, EOFError, OSError) as exc:
                raise self._lost_during_auth(exc) from exc
        detail = ", ".join(tried) if tried else "no key or password available"
        hint = "give a key with --private-key or ansible_ssh_private_key_file, or -k for a password"
        if allowed:
            hint = f"the server accepts: {', '.join(allowed)}"
        raise AuthenticationError(
            f"authentication failed for {self.user}@{self.where} (tried: {detail})",
            host=self.host.name,
            hint=hint,
        )

    def _lost_during_auth(self, exc: BaseException) -> ConnectError:
        return ConnectError(
            f"connection lost during authentication ({self.where}): {exc or type(exc).__name__}",
            host=self.host.name,
            transient=True,
        )

    # -- running -----------------------------------------------------------------------

    def run(
        self,
        command: str,
        *,
        stdout: OutputCapture,
        stderr: OutputCapture,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        pty: bool = False,
    ) -> CommandResult:
        self.connect()
        transport = self._transport
        assert transport is not None
        started = time.monotonic()
        deadline = started + timeout if timeout else None
        try:
            chan = transport.open_session(timeout=self.context.options.connect_timeout)
            if env:
                chan.update_environment(dict(env))
            if pty:
                chan.get_pty()
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
        except (SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from exc
        finished = False
        try:
            exit_code = self._pump(chan, stdout, stderr, deadline, timeout)
            finished = True
        finally:
            stdout.close()
            stderr.close()
            if not finished:  # timeout, Ctrl-C or error: end the remote command too
                _signal_remote(chan, "TERM")
            chan.close()
        return CommandResult(
            exit_code=exit_code,
            stdout=stdout.value,
            stderr=stderr.value,
            duration=time.monotonic() - started,
            stdout_dropped=stdout.dropped,
            stderr_dropped=stderr.dropped,
        )

    def _pump(
        self,
        chan: paramiko.Channel,
        stdout: OutputCapture,
        stderr: OutputCapture,
        deadline: float | None,
        timeout: float | None,
    ) -> int:
        """Read both streams until EOF and the exit status, with one event for both."""
        ready = threading.Event()
        chan.in_buffer.set_event(ready)
        chan.in_stderr_buffer.set_event(ready)
        while True:
            while chan.recv_ready():
                stdout.feed(chan.recv(_READ_SIZE))
            while chan.recv_stderr_ready():
                stderr.feed(chan.recv_stderr(_READ_SIZE))
            ready.clear()
            if chan.recv_ready() or chan.recv_stderr_ready():
                continue
            if chan.eof_received or chan.closed:
                break
            timed_out = not ready.wait(_remaining(deadline))
            if timed_out and deadline is not None and time.monotonic() >= deadline:
                raise CommandTimeoutError(
                    f"command timed out after {timeout:g}s", host=self.host.name
                )
        # EOF on the streams; the exit status follows (or the channel closes).
        if not chan.status_event.wait(_remaining(deadline, floor=0.0, default=30.0)):
            if chan.closed or not self._alive():
                raise self._lost(None)
            raise CommandTimeoutError(
                f"command timed out after {timeout:g}s (output closed, no exit status)",
                host=self.host.name,
            )
        code = chan.exit_status
        if code == -1:
            if not self._alive():
                raise self._lost(None)
            # Killed by a signal (exit-signal, which paramiko does not expose): like ssh, 255.
            return 255
        return code

    def _alive(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    def _lost(self, exc: BaseException | None) -> ConnectionLostError:
        reason = f": {exc}" if exc and str(exc) else ""
        return ConnectionLostError(f"connection lost ({self.where}){reason}", host=self.host.name)

    # -- files ----------------------------------------------------------------------

    def _sftp_client(self) -> paramiko.SFTPClient:
        self.connect()
        if self._sftp is None:
            assert self._transport is not None
            try:
                self._sftp = paramiko.SFTPClient.from_transport(self._transport)
            except (SSHException, EOFError, OSError) as exc:
                raise self._lost(exc) from exc
        return self._sftp

    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        sftp = self._sftp_client()
        with sftp.open(path, "wb") as fh:
            fh.set_pipelined(True)
            fh.write(data)
        if mode is not None:
            sftp.chmod(path, mode)

    def get_file(self, path: str) -> bytes:
        sftp = self._sftp_client()
        with sftp.open(path, "rb") as fh:
            fh.prefetch()
            return fh.read()

    def close(self) -> None:
        transport, self._transport = self._transport, None
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            try:
                sftp.close()
            except Exception:  # closing never fails a host
                log.debug("sftp close failed", exc_info=True)
        if transport is not None:
            transport.close()


def _signal_remote(chan: paramiko.Channel, signame: str) -> None:
    """Send an RFC 4254 "signal" channel request; OpenSSH's sshd (7.9+) delivers it to the
    command's process group. Without a pty, closing the channel alone would leave the
    remote command running. paramiko has no public call for this request."""
    if chan.closed or not chan.active:
        return
    try:
        msg = paramiko.Message()
        msg.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
        msg.add_int(chan.remote_chanid)
        msg.add_string("signal")
        msg.add_boolean(False)
        msg.add_string(signame)
        chan.transport._send_user_message(msg)
    except Exception:  # best effort: the channel is closed right after
        log.debug("could not signal remote command", exc_info=True)


def _remaining(deadline: float | None, *, floor: float = 0.0, default: float | None = None):
    if deadline is None:
        return default
    return max(floor, deadline - time.monotonic())


def _explicit_key_files(host: Host, opts: SSHOptions) -> list[str]:
    path = host.vars.get("ansible_ssh_private_key_file") or host.vars.get(
        "ansible_private_key_file"
    )
    if path:
        return [str(path)]
    return [opts.private_key] if opts.private_key else []


def _key_files(host: Host, opts: SSHOptions) -> list[str]:
    return _explicit_key_files(host, opts)
