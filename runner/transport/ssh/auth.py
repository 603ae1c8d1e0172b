"""Who the server is and who we are: known_hosts checking and authentication.

Imports paramiko, so (like everything that does) it is used only through
runner/transport/ssh.py. Per-run state is built once and shared by every host: the
known_hosts index per file, private keys (decrypted once), the ssh-agent's keys.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import paramiko
from paramiko.ssh_exception import (
    AuthenticationException,
    BadAuthenticationType,
    PasswordRequiredException,
    SSHException,
)

from runner.errors import AuthenticationError, ConnectError, HostKeyError
from runner.transport.sshopts import HostSettings

log = logging.getLogger(__name__)

DEFAULT_KEY_FILES = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")


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


class Keyring:
    """Private keys and agent keys, each loaded once per run.

    An encrypted key is opened with ``passphrase`` (RUNNER_KEY_PASSPHRASE or the one
    answer to the CLI's prompt); ``ask`` (when given) is called at most once per run to
    get that passphrase, before any connection is made (see ``SSHContext.prepare``).
    """

    def __init__(
        self,
        passphrase: str | None = None,
        *,
        use_agent: bool = True,
        ask: Callable[[str], str | None] | None = None,
    ) -> None:
        self._passphrase = passphrase
        self._ask = ask
        self._asked = False
        self.use_agent = use_agent
        self._keys: dict[str, paramiko.PKey | None] = {}
        self._errors: dict[str, str] = {}
        self._agent_keys: list[paramiko.PKey] | None = None
        self._agent_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the passphrase
        return f"Keyring(keys={len(self._keys)}, agent={self._agent_keys is not None})"

    def load(self, path: str, *, interactive: bool = False) -> paramiko.PKey | None:
        """The key at ``path``, or None (with the reason kept for ``error``)."""
        path = os.path.expanduser(path)
        if path in self._keys and not (
            interactive and self._errors.get(path, "").startswith("enc")
        ):
            return self._keys[path]
        key = None
        self._errors.pop(path, None)
        try:
            try:
                key = paramiko.PKey.from_path(path)
            except (PasswordRequiredException, TypeError):  # TypeError: PEM keys
                if self._passphrase is None and interactive and self._ask and not self._asked:
                    self._asked = True
                    self._passphrase = self._ask(path)
                if self._passphrase is None:
                    raise PasswordRequiredException("encrypted") from None
                # positional: the keyword is "passphrase" in paramiko 3, "password" in 5
                key = paramiko.PKey.from_path(path, self._passphrase.encode())
        except FileNotFoundError:
            self._errors[path] = "not found"
        except (PasswordRequiredException, TypeError):
            self._errors[path] = "encrypted: set RUNNER_KEY_PASSPHRASE"
        except (SSHException, ValueError, OSError) as exc:
            text = str(exc)
            if "passphrase" in text.lower() or "decrypt" in text.lower():
                text = "wrong passphrase"
            self._errors[path] = f"unreadable: {text}"
        self._keys[path] = key
        return key

    def error(self, path: str) -> str | None:
        return self._errors.get(os.path.expanduser(path))

    def agent_keys(self) -> list[paramiko.PKey]:
        if self._agent_keys is None:
            keys: list[paramiko.PKey] = []
            if self.use_agent and os.environ.get("SSH_AUTH_SOCK"):
                try:
                    agent = paramiko.Agent()
                    keys = [_LockedAgentKey(k, self._agent_lock) for k in agent.get_keys()]
                except (SSHException, OSError) as exc:
                    log.debug("ssh-agent unavailable: %s", exc)
            self._agent_keys = keys
        return self._agent_keys

    def candidates(
        self, settings: HostSettings
    ) -> tuple[list[tuple[str, paramiko.PKey]], list[str]]:
        """Keys to offer, in order, and notes on keys that could not be used.

        Keys given on the command line or in the inventory are the only ones offered;
        ssh_config IdentityFiles come with the agent's keys (unless IdentitiesOnly);
        with neither, the agent's keys and then the default ~/.ssh/id_* files.
        """
        keys: list[tuple[str, paramiko.PKey]] = []
        notes: list[str] = []
        for path in settings.key_files:
            key = self.load(path)
            if key is not None:
                keys.append((path, key))
            elif settings.explicit_keys or self.error(path) != "not found":
                notes.append(f"key {path} ({self.error(path)})")
        if settings.explicit_keys:
            return keys, notes
        if not settings.identities_only:
            keys.extend(("ssh-agent", k) for k in self.agent_keys())
        if not settings.key_files:
            for path in DEFAULT_KEY_FILES:
                key = self.load(path)
                if key is not None:
                    keys.append((path, key))
        return keys, notes


def check_host_key(
    transport: paramiko.Transport,
    settings: HostSettings,
    known: KnownHosts,
    *,
    host: str,
    label: str = "",
) -> None:
    """Apply the host-key policy; raise HostKeyError for a changed or (strict) unknown key."""
    policy = settings.host_key_checking
    if policy == "off":
        return
    key = transport.get_remote_server_key()
    name = known_hosts_name(settings.address, settings.port)
    recorded = known.lookup(name)
    key_type, b64 = key.get_name(), key.get_base64()
    same_type = [k for k in recorded if k[0] == key_type]
    if same_type:
        if (key_type, b64) in same_type:
            return
        raise HostKeyError(
            f"{label}host key changed for {name}: the server offered a different {key_type} "
            f"key than the one recorded in {known.path}; this can mean an attack "
            "(someone in the middle) or a reinstalled host",
            host=host,
            hint=f"if the change is expected, remove the old entry: ssh-keygen -R '{name}'"
            f" -f {known.path}",
        )
    if policy == "strict":
        raise HostKeyError(
            f"{label}host key unknown for {name} ({key_type}) and host key checking is strict",
            host=host,
            hint="connect once with --host-key-checking accept-new, or add the key "
            f"to {known.path} (ssh-keyscan)",
        )
    known.record(name, key)


def authenticate(
    transport: paramiko.Transport,
    settings: HostSettings,
    keyring: Keyring,
    password: str | None,
    *,
    host: str,
    label: str = "",
) -> None:
    """Offer keys, then the password; raise AuthenticationError naming what was tried."""
    where = f"{settings.user}@{settings.address}:{settings.port}"
    keys, tried = keyring.candidates(settings)
    allowed: list[str] | None = None
    for key_label, key in keys:
        try:
            remaining = transport.auth_publickey(settings.user, key)
        except BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
            tried.append(f"{key_label} (publickey not allowed)")
            break
        except AuthenticationException:
            tried.append(f"{key_label} (key refused)")
            continue
        except (SSHException, EOFError, OSError) as exc:
            raise lost_during_auth(exc, where, host, label) from exc
        if not remaining and transport.is_authenticated():
            return
    if password and (allowed is None or "password" in allowed):
        try:
            transport.auth_password(settings.user, password)
            if transport.is_authenticated():
                return
        except BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
            tried.append("password (not allowed)")
        except AuthenticationException:
            tried.append("password (rejected)")
        except (SSHException, EOFError, OSError) as exc:
            raise lost_during_auth(exc, where, host, label) from exc
    detail = ", ".join(tried) if tried else "no key or password available"
    hint = "give a key with --private-key or ansible_ssh_private_key_file, or -k for a password"
    if allowed:
        hint = f"the server accepts: {', '.join(allowed)}"
    raise AuthenticationError(
        f"{label}authentication failed for {where} (tried: {detail})", host=host, hint=hint
    )


def lost_during_auth(exc: BaseException, where: str, host: str, label: str) -> ConnectError:
    return ConnectError(
        f"{label}connection lost during authentication ({where}): {exc or type(exc).__name__}",
        host=host,
        transient=True,
    )
