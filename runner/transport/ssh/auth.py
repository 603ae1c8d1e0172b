"""Who we are: private keys, the ssh-agent and authentication (who the server is:
hostkey.py and known_hosts.py).

Imports paramiko, so (like everything that does) it is used only through
runner/transport/ssh/. Per-run state is built once and shared by every host: private
keys (decrypted once), the ssh-agent's keys.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import cast

import paramiko
from paramiko.ssh_exception import (
    AuthenticationException,
    BadAuthenticationType,
    PasswordRequiredException,
    SSHException,
)

from runner.errors import AuthenticationError, ConnectError
from runner.transport.ssh.settings import HostSettings

log = logging.getLogger(__name__)

DEFAULT_KEY_FILES = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")


class _LockedAgentKey:
    """An agent key whose signing requests are serialised: one agent socket is shared by
    every greenlet, and interleaved requests would corrupt the agent protocol."""

    def __init__(self, key: paramiko.AgentKey, lock: threading.Lock) -> None:
        self._key = key
        self._lock = lock

    def sign_ssh_data(self, data: bytes, algorithm: str | None = None) -> paramiko.Message:
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
                key = paramiko.PKey.from_path(  # bytes, whatever its stubs say
                    path,
                    self._passphrase.encode(),  # type: ignore[arg-type]
                )
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
                    keys = [
                        cast(paramiko.PKey, _LockedAgentKey(k, self._agent_lock))  # acts as one
                        for k in agent.get_keys()
                    ]
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
