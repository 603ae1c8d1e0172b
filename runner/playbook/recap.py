"""PLAY RECAP counting, by Ansible's rules.

- ``ok``: every task that ran and did not fail, *including* changed ones, plus failures
  under ``ignore_errors`` (which also count as ``ignored``).
- ``changed``: tasks that reported a change (also under ``ignore_errors``).
- ``failed``: failures that were neither ignored nor caught by a block's ``rescue``.
- ``rescued``: failures caught by a ``rescue`` section.
- ``skipped``: tasks whose ``when`` was false for every item, and commands in ``--check``.
- ``unreachable``: the host could not be reached; it runs no further task.
"""

from __future__ import annotations

from collections import Counter

from runner.models import Status
from runner.playbook.events import HostCounts, TaskOutcome


class Stats:
    """Per-host counters for one playbook run, in the order hosts were first seen."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter] = {}

    def ensure(self, host: str) -> None:
        self._counts.setdefault(host, Counter())

    def record(self, outcome: TaskOutcome) -> None:
        c = self._counts.setdefault(outcome.host, Counter())
        if outcome.status is Status.UNREACHABLE:
            c["unreachable"] += 1
        elif outcome.status is Status.FAILED:
            if outcome.ignored:
                c["ok"] += 1
                c["ignored"] += 1
                c["changed"] += outcome.changed
            elif outcome.rescued:
                c["rescued"] += 1
            else:
                c["failed"] += 1
        elif outcome.status is Status.SKIPPED:
            c["skipped"] += 1
        else:
            c["ok"] += 1
            c["changed"] += outcome.changed

    def add_ok(self, host: str, count: int) -> None:
        """``count`` more ok (include_tasks with a loop counts one per included file)."""
        self._counts.setdefault(host, Counter())["ok"] += count

    def snapshot(self) -> dict[str, HostCounts]:
        return {host: HostCounts(**dict(c)) for host, c in self._counts.items()}
