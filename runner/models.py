"""Immutable result values. Nothing here knows how it is computed or rendered."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(str, enum.Enum):
    """Final state of one host (or of one task on one host)."""

    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, eq=False)
class Host:
    """One inventory host: its name, its merged variables and the groups it belongs to.

    Connection settings are read from Ansible's variable names, so an inventory written
    for Ansible means the same thing here.
    """

    name: str
    vars: Mapping[str, Any] = field(default_factory=dict, repr=False)
    groups: tuple[str, ...] = field(default=(), repr=False)

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host") or self.name)

    @property
    def port(self) -> int | None:
        """``ansible_port`` as given (None when unset, or not plain data: a ``!vault``
        value is the connection settings' to decrypt)."""
        port = self.vars.get("ansible_port")
        if port in (None, "") or not isinstance(port, (int, str)):
            return None
        return int(port)

    @property
    def user(self) -> str | None:
        user = self.vars.get("ansible_user")
        return str(user) if user not in (None, "") else None

    @property
    def connection(self) -> str:
        return str(self.vars.get("ansible_connection") or "ssh")

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and other.name == self.name


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What one command printed and how it ended. Output is kept as bytes.

    ``stdout_dropped``/``stderr_dropped`` count bytes that did not fit in memory
    (``--max-output``); they are still in the ``--out-dir`` files when those are used.
    """

    exit_code: int
    stdout: bytes = b""
    stderr: bytes = b""
    duration: float = 0.0
    stdout_dropped: int = 0
    stderr_dropped: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def stdout_text(self) -> str:
        return decode_output(self.stdout, self.stdout_dropped)

    @property
    def stderr_text(self) -> str:
        return decode_output(self.stderr, self.stderr_dropped)

    def __repr__(self) -> str:
        return (
            f"CommandResult(exit_code={self.exit_code}, stdout={len(self.stdout)}B, "
            f"stderr={len(self.stderr)}B, duration={self.duration:.3f})"
        )


def decode_output(data: bytes, dropped: int = 0) -> str:
    """Bytes to text for display: invalid UTF-8 becomes U+FFFD, truncation is marked.

    >>> decode_output(b"ok\\xff")
    'ok\\ufffd'
    >>> decode_output(b"abc", 10)
    'abc\\n[... 10 bytes truncated ...]'
    """
    text = data.decode("utf-8", errors="replace")
    if dropped:
        sep = "" if not text or text.endswith("\n") else "\n"
        text = f"{text}{sep}[... {dropped} bytes truncated ...]"
    return text


@dataclass(frozen=True, slots=True)
class HostResult:
    """The final result of one host in an ad-hoc run.

    ``error`` is a human message when the host failed without a command result
    (unreachable, timeout, template error); ``error_kind`` a short machine tag
    (``connect``, ``auth``, ``hostkey``, ``lost``, ``timeout``, ``task``, ``interrupted``).
    ``module`` names the module of a ``runner run -m`` run and ``module_result`` is what
    it returned on this host (JSON data: ``changed``, ``msg``, ``rc``, ``path``...);
    ``command`` then holds a command module's exit code and output.
    """

    host: str
    status: Status
    command: CommandResult | None = None
    error: str | None = None
    error_kind: str | None = None
    started: float = 0.0
    duration: float = 0.0
    module: str | None = None
    module_result: Mapping[str, Any] | None = field(default=None, repr=False)
    worker: str | None = None  # the cluster worker that ran the host (--cluster only)

    @property
    def exit_code(self) -> int | None:
        return self.command.exit_code if self.command else None

    def __repr__(self) -> str:
        detail = f"exit_code={self.exit_code}" if self.command else f"error={self.error!r}"
        return f"HostResult({self.host!r}, {self.status.value}, {detail})"


@dataclass(frozen=True)
class RunReport:
    """Everything one run produced: a result for every host that finished.

    ``interrupted`` lists hosts cut off by Ctrl-C (started or never started).
    """

    results: Mapping[str, HostResult]
    duration: float
    interrupted: tuple[str, ...] = ()

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results.values() if r.status is status)

    @property
    def any_failed(self) -> bool:
        return any(r.status is Status.FAILED for r in self.results.values())

    @property
    def any_unreachable(self) -> bool:
        return any(r.status is Status.UNREACHABLE for r in self.results.values())

    def __repr__(self) -> str:
        return f"RunReport(hosts={len(self.results)}, duration={self.duration:.2f})"
