"""``--rerun failed|unreachable|both``: the hosts of the last run that failed, were
unreachable, or either, among those the pattern selects; and the record of each
run/copy/fetch/play that the next ``--rerun`` reads (runner.lastrun)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from runner.cli.environment import Environment
from runner.events import Notice
from runner.lastrun import SELECTIONS, LastRun
from runner.models import Host

#: (one host ..., hosts that ...) for each --rerun choice
VERBS = {
    "failed": ("failed", "failed"),
    "unreachable": ("was unreachable", "were unreachable"),
    "both": ("failed or was unreachable", "failed or were unreachable"),
}


def rerun_option(func: Callable) -> Callable:
    """``--rerun``, shared by run, copy, fetch and play."""
    return click.option(
        "--rerun",
        type=click.Choice(tuple(SELECTIONS)),
        default=None,
        help="Only the hosts that failed, were unreachable, or both, in the last run, "
        "copy, fetch or play (recorded in $XDG_STATE_HOME/runner/last-run.json, "
        "default ~/.local/state/runner/), of those the pattern selects.",
    )(func)


@dataclass(frozen=True)
class Rerun:
    """What ``--rerun WHICH`` selects from the last run's record."""

    which: str
    last: LastRun

    @property
    def option(self) -> str:
        return f"--rerun {self.which}"

    def about(self) -> str:
        """``runner run web 'uptime' (2026-12-01 22:50 UTC: 3 ok, 2 failed)``"""
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.last.finished))
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.last.counts().items()))
        return f"{self.last.summary} ({when}: {counts or 'no host finished'})"


def load_rerun(env: Environment, which: str | None) -> Rerun | None:
    """The last run's record for ``--rerun WHICH`` (None without the option); a missing
    or damaged record is an input error naming the file."""
    if which is None:
        return None
    from runner.lastrun import read_last_run, state_file

    return Rerun(which, read_last_run(state_file(env.environ), f"--rerun {which}"))


def narrow(
    rerun: Rerun | None, inventory: Any, hosts: Sequence[Host], what: str
) -> tuple[list[Host], list[Notice]]:
    """``hosts`` (what ``what`` selects, in inventory order) that ``rerun`` selects, and
    the notices to show: which run they come from, and which of its hosts the inventory
    no longer has. None of them left is an input error, as a pattern matching nothing is."""
    from runner.aggregate import fold_hosts
    from runner.errors import ConfigError

    if rerun is None:
        return list(hosts), []
    wanted = rerun.last.select(rerun.which)
    one, many = VERBS[rerun.which]
    if not wanted:
        raise ConfigError(
            f"{rerun.option}: no host {one} in the last run: nothing to do",
            hint=f"the last run: {rerun.about()}",
        )
    chosen = set(wanted)
    kept = [h for h in hosts if h.name in chosen]
    notices = []
    gone = [name for name in wanted if inventory.get(name) is None]
    if gone:
        notices.append(
            Notice(
                f"{rerun.option}: not in the inventory any more: {fold_hosts(gone)} ({len(gone)})"
            )
        )
    if not kept:
        hint = f"the last run: {rerun.about()}"
        if gone:
            hint += f"; not in the inventory any more: {fold_hosts(gone)}"
        if len(wanted) == 1:
            which = f"the one host that {one} in the last run ({wanted[0]}) is not"
        else:
            which = f"none of the {len(wanted)} hosts that {many} in the last run "
            which += f"({fold_hosts(wanted)}) is"
        raise ConfigError(f"{rerun.option}: {which} among those {what} selects", hint=hint)
    if len(wanted) == 1:
        these = f"the one host that {one}"
    elif len(kept) == len(wanted):
        these = f"the {len(wanted)} hosts that {many}"
    else:
        these = f"{len(kept)} of the {len(wanted)} hosts that {many}"
    notices.append(
        Notice(f"{rerun.option}: {these} in the last run: {rerun.about()}", level="info")
    )
    return kept, notices


def title_of(command: str, rerun: str | None, *words: str) -> tuple[str, str]:
    """(the command's name, the command as typed) for the record: its words, quoted as
    a shell would need them, with ``--rerun`` when given.

    >>> title_of("run", "failed", "web", "echo hi")
    ('run', "runner run --rerun failed web 'echo hi'")
    """
    import shlex

    typed = [command, *(["--rerun", rerun] if rerun else []), *words]
    return command, "runner " + shlex.join(typed)


def print_notices(env: Environment, notices: Sequence[Notice]) -> None:
    """Notices before anything runs (``--list-hosts``), on stderr."""
    from runner.output.controls import escape_controls, is_terminal_file

    show = escape_controls if is_terminal_file(env.stderr) else str
    for notice in notices:
        env.stderr.write(f"{notice.level}: {show(notice.message)}\n")


def record_run(
    env: Environment,
    command: str,
    summary: str,
    inventories: Sequence[str],
    hosts: Sequence[str],
    outcome: object,
    duration: float,
) -> None:
    """Keep each finished host's outcome for the next ``--rerun``; a state folder that
    cannot be written is a warning on stderr, never a changed exit code."""
    from runner.lastrun import record_of, state_file, write_last_run

    path = state_file(env.environ)
    record = record_of(command, summary, inventories, hosts, outcome, duration)
    try:
        write_last_run(path, record)
    except OSError as exc:
        env.stderr.write(
            f"warning: this run's outcome is not kept for --rerun: {path}: {exc.strerror or exc}\n"
        )


__all__ = [
    "Rerun",
    "load_rerun",
    "narrow",
    "print_notices",
    "record_run",
    "rerun_option",
    "title_of",
]
