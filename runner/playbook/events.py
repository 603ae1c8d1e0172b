"""Events a playbook run emits; renderers in runner.output.playbook subscribe to them.

Like the engine's events these carry names and results, never secrets: a task with
``no_log: true`` has its output replaced before an outcome is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.models import Status

CENSORED = "the output has been hidden due to 'no_log: true'"


@dataclass(frozen=True)
class TaskOutcome:
    """What one task did on one host.

    ``status`` follows Ansible: ``changed`` is also ok; a failure under ignore_errors has
    status ``failed`` with ``ignored`` set; a failure caught by a block's rescue has
    ``rescued`` set. ``result`` is the registered value (``rc``, ``stdout``, ``changed``...).
    """

    host: str
    status: Status
    result: Mapping[str, Any] = field(default_factory=dict, repr=False)
    ignored: bool = False
    rescued: bool = False
    started: float = 0.0  # time.time()
    duration: float = 0.0
    censored: bool = False  # no_log: the result is registered but never shown

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed")) and self.status is not Status.UNREACHABLE

    @property
    def hard_failed(self) -> bool:
        """Failed, and neither ignored nor (about to be) rescued."""
        return self.status is Status.FAILED and not self.ignored

    @property
    def exit_code(self) -> int | None:
        rc = self.result.get("rc")
        return rc if isinstance(rc, int) else None

    @property
    def stdout(self) -> str:
        return "" if self.censored else str(self.result.get("stdout", "") or "")

    @property
    def stderr(self) -> str:
        return "" if self.censored else str(self.result.get("stderr", "") or "")

    @property
    def message(self) -> str:
        if self.censored:
            return CENSORED
        return str(self.result.get("msg", "") or "")

    @property
    def delegated_to(self) -> str | None:
        """The host a ``delegate_to`` task ran on for this host (None: its own), from the
        result's ``_ansible_delegated_vars``, or its loop items' when they all agree."""
        where = self.delegation
        return None if where is None else where[0]

    @property
    def delegation(self) -> tuple[str, str | None] | None:
        """(delegated host, its ansible_host) or None; see ``delegated_to``."""
        records = [self.result]
        items = self.result.get("results")
        if isinstance(items, list) and "_ansible_delegated_vars" not in self.result:
            records = [i for i in items if isinstance(i, Mapping) and not i.get("skipped")]
        found = set()
        for record in records:
            info = record.get("_ansible_delegated_vars")
            if not isinstance(info, Mapping) or not info.get("ansible_delegated_host"):
                return None
            found.add((str(info["ansible_delegated_host"]), info.get("ansible_host")))
        return found.pop() if len(found) == 1 else None

    def __repr__(self) -> str:
        extra = " ignored" if self.ignored else " rescued" if self.rescued else ""
        return f"TaskOutcome({self.host!r}, {self.status.value}{extra}, rc={self.exit_code})"


@dataclass(frozen=True)
class PlaybookStarted:
    path: str
    check: bool = False


@dataclass(frozen=True)
class PlayStarted:
    name: str
    hosts: tuple[str, ...]
    batches: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class BatchStarted:
    number: int  # 1-based
    total: int
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class TaskStarted:
    play: str
    task: str
    hosts: tuple[str, ...]
    handler: bool = False
    module: str = ""
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class TaskHostDone:
    """One host finished the current task (drives live progress)."""

    play: str
    task: str
    outcome: TaskOutcome


@dataclass(frozen=True)
class TaskFinished:
    play: str
    task: str
    outcomes: tuple[TaskOutcome, ...]
    handler: bool = False
    module: str = ""
    diff: bool = False


@dataclass(frozen=True)
class PlayStopped:
    """The play (and the playbook) stops early: a failure rule fired."""

    play: str
    reason: str
    not_run: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostCounts:
    ok: int = 0
    changed: int = 0
    unreachable: int = 0
    failed: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "ok": self.ok,
            "changed": self.changed,
            "unreachable": self.unreachable,
            "failed": self.failed,
            "skipped": self.skipped,
            "rescued": self.rescued,
            "ignored": self.ignored,
        }


@dataclass(frozen=True)
class PlaybookFinished:
    recap: Mapping[str, HostCounts]
    duration: float
    stopped: str | None = None  # why the run stopped early, if it did
    interrupted: bool = False
