"""Exit codes: bit flags for what happened on the hosts, and the codes for everything
that stops a run before or outside the hosts."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    INPUT_ERROR = 1  # bad input found before any connection
    FAILED = 2  # some host failed
    UNREACHABLE = 4  # some host unreachable
    FAILED_AND_UNREACHABLE = 6
    USAGE = 5  # invalid command-line usage (click's own 2 never leaks)
    INTERRUPTED = 130


def exit_status_for(any_failed: bool, any_unreachable: bool, interrupted: bool) -> int:
    """Exit code of a finished run.

    >>> exit_status_for(True, True, False), exit_status_for(False, False, True)
    (6, 130)
    >>> exit_status_for(False, True, False), exit_status_for(False, False, False)
    (4, 0)
    """
    if interrupted:
        return int(ExitStatus.INTERRUPTED)
    return (ExitStatus.FAILED if any_failed else 0) | (
        ExitStatus.UNREACHABLE if any_unreachable else 0
    )


def exit_status_of(outcome: object) -> int:
    """Exit code of a job's outcome (a RunReport, a playbook's RunSummary)."""
    return exit_status_for(
        bool(getattr(outcome, "any_failed", False)),
        bool(getattr(outcome, "any_unreachable", False)),
        bool(getattr(outcome, "interrupted", False)),
    )
