"""Every exception runner raises, under one public base.

This module is a leaf: it imports nothing from runner. Exceptions carry structured
attributes (``path``, ``line``, ``host``, ``pattern``) and a ``hint`` telling the user
what to do, so the CLI can print one well-formed message and map it to an exit code.
"""

from __future__ import annotations


class RunnerError(Exception):
    """Base of everything runner raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(RunnerError):
    """Bad user input found before any host is contacted (exit code 1).

    ``path`` and ``line`` (1-based) locate the problem when it comes from a file.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class ConfigError(InputError):
    """A bad option, variable or configuration value."""


class InventoryError(InputError):
    """An inventory source that cannot be read or understood."""


class HostPatternError(InventoryError):
    """A host pattern that is malformed or matches no host."""

    def __init__(self, message: str, *, pattern: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.pattern = pattern


class PlaybookError(InputError):
    """A playbook that cannot be read, or uses something runner does not support."""


class TemplateError(InputError):
    """A Jinja2 template that is malformed or refers to an undefined variable."""


class VaultError(InputError):
    """Ansible Vault data that cannot be decrypted: no password given, none that fits,
    or a vault text that is not well formed. ``path``/``line`` say where it was read."""


class HostError(RunnerError):
    """Something went wrong with one host. Becomes that host's result, never aborts a run.

    ``unreachable`` tells the engine whether the host counts as unreachable (the
    connection could not be made or was lost) or failed (it answered, but the work
    could not be done).
    """

    unreachable = True
    kind = "error"

    def __init__(self, message: str, *, host: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.host = host


class ConnectError(HostError):
    """TCP or SSH connection could not be established (refused, timeout, DNS...)."""

    kind = "connect"

    def __init__(
        self,
        message: str,
        *,
        host: str | None = None,
        hint: str | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, host=host, hint=hint)
        self.transient = transient


class AuthenticationError(HostError):
    """The server refused every credential we offered."""

    kind = "auth"


class HostKeyError(HostError):
    """The server's host key is unknown (under strict checking) or has changed."""

    kind = "hostkey"


class ConnectionLostError(HostError):
    """The connection dropped while a command was running."""

    kind = "lost"


class CommandTimeoutError(HostError):
    """The command did not finish within its timeout; it was ended on the host (or the
    message says it may still be running)."""

    unreachable = False
    kind = "timeout"


class CommandNotEndedError(HostError):
    """runner stopped waiting for a command (Ctrl-C) and could not confirm that it ended
    on the host: it may still be running. Set as the ``__cause__`` of the interruption
    the transport re-raises (runner.errors.not_ended reads it back)."""

    unreachable = False
    kind = "interrupted"


def not_ended(exc: BaseException) -> CommandNotEndedError | None:
    """What an interruption says about a command it could not end, if anything."""
    cause = exc.__cause__
    return cause if isinstance(cause, CommandNotEndedError) else None


class TaskError(HostError):
    """The work on a reachable host could not be done (render error, bad argument...)."""

    unreachable = False
    kind = "task"


class BecomeError(HostError):
    """Privilege escalation (sudo) refused: wrong or missing password, no sudoers rule.
    The host answered, so it counts as failed, not unreachable."""

    unreachable = False
    kind = "become"


class Interrupted(RunnerError):
    """The user pressed Ctrl-C."""


class UnsafePathError(InputError):
    """A local path built from an untrusted part (a host name, a remote path, a template)
    would leave the folder it belongs in. ``part`` is the untrusted text, ``base`` the
    folder."""

    def __init__(self, message: str, *, part: str, base: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.part = part
        self.base = base
