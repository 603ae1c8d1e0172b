"""The last run's outcome per host, kept in the user's state folder for ``--rerun``.

``$XDG_STATE_HOME/runner/last-run.json`` (default ``~/.local/state/runner/``), never in
the project: the folder is made 0700, the file 0600, written whole to a temp file in the
same folder and renamed over the old one, so concurrent runs leave the last writer's
record and a reader never sees half a file. The environment comes in as a mapping (the
CLI's Environment), never from os.environ directly.

Only hosts that finished get a status; a host that was to run and did not finish (Ctrl-C
cut it off, or a playbook stopped before it) is listed under ``unfinished``, and is
neither failed nor unreachable.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import ConfigError

FORMAT = 1
FILE_NAME = "last-run.json"
#: --rerun's choices -> the recorded statuses they select.
SELECTIONS: Mapping[str, frozenset[str]] = {
    "failed": frozenset({"failed"}),
    "unreachable": frozenset({"unreachable"}),
    "both": frozenset({"failed", "unreachable"}),
}


def state_dir(environ: Mapping[str, str]) -> str:
    """The folder runner keeps its state in: ``$XDG_STATE_HOME/runner``, else
    ``$HOME/.local/state/runner`` (a relative XDG_STATE_HOME is ignored, as the XDG
    base directory specification says).

    >>> state_dir({"XDG_STATE_HOME": "/s", "HOME": "/h"}), state_dir({"HOME": "/h"})
    ('/s/runner', '/h/.local/state/runner')
    >>> state_dir({"XDG_STATE_HOME": "rel", "HOME": "/h"})
    '/h/.local/state/runner'
    """
    base = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME") or os.path.expanduser("~")
        base = os.path.join(home, ".local", "state")
    return os.path.join(base, "runner")


def state_file(environ: Mapping[str, str]) -> str:
    return os.path.join(state_dir(environ), FILE_NAME)


@dataclass(frozen=True)
class LastRun:
    """One run's record: what ran (``command`` as typed: run's COMMAND template, copy's
    SRC and DEST, the playbooks; never a secret or an -e value), where, and each
    finished host's status (ok, changed, failed, unreachable)."""

    command: str  # run, copy, fetch, play
    summary: str
    inventories: tuple[str, ...]
    hosts: Mapping[str, str]
    finished: float = field(default_factory=time.time)
    duration: float = 0.0
    unfinished: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"LastRun({self.command!r}, hosts={len(self.hosts)})"

    def select(self, which: str) -> list[str]:
        """Names of the hosts whose status ``which`` (a SELECTIONS key) selects.

        >>> LastRun("run", "", (), {"a": "ok", "b": "failed", "c": "unreachable"}).select("both")
        ['b', 'c']
        """
        wanted = SELECTIONS[which]
        return [name for name, status in self.hosts.items() if status in wanted]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in self.hosts.values():
            counts[status] = counts.get(status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "command": self.command,
            "summary": self.summary,
            "inventories": list(self.inventories),
            "finished": self.finished,
            "duration": round(self.duration, 3),
            "hosts": dict(self.hosts),
            "unfinished": list(self.unfinished),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LastRun:
        hosts = data["hosts"]
        if not isinstance(hosts, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in hosts.items()
        ):
            raise TypeError("hosts is not a mapping of host names to statuses")
        return cls(
            command=str(data["command"]),
            summary=str(data["summary"]),
            inventories=tuple(str(i) for i in data["inventories"]),
            hosts=hosts,
            finished=float(data["finished"]),
            duration=float(data["duration"]),
            unfinished=tuple(str(h) for h in data.get("unfinished", ())),
        )


def outcome_statuses(outcome: object) -> dict[str, str]:
    """Each finished host's status from a run's outcome: a RunReport's results, or a
    playbook RunSummary's recap (unreachable, else failed, else changed, else ok; a
    failure a block rescued or ``ignore_errors`` let through is not a failure)."""
    results = getattr(outcome, "results", None)
    if results is not None:
        return {name: str(result.status) for name, result in results.items()}
    statuses: dict[str, str] = {}
    for name, counts in (getattr(outcome, "recap", None) or {}).items():
        if counts.unreachable:
            statuses[name] = "unreachable"
        elif counts.failed:
            statuses[name] = "failed"
        elif counts.changed:
            statuses[name] = "changed"
        else:
            statuses[name] = "ok"
    return statuses


def record_of(
    command: str,
    summary: str,
    inventories: Iterable[str],
    hosts: Iterable[str],
    outcome: object,
    duration: float,
) -> LastRun:
    """The record of a run of ``hosts`` that ended with ``outcome``; the hosts that did
    not finish are its ``unfinished``."""
    statuses = outcome_statuses(outcome)
    return LastRun(
        command=command,
        summary=summary,
        inventories=tuple(_absolute(source) for source in inventories),
        hosts=statuses,
        duration=duration,
        unfinished=tuple(h for h in hosts if h not in statuses),
    )


def _absolute(source: str) -> str:
    """A path as an absolute path (so the record means the same from any folder); an
    inline host list (``a,b,``) as given."""
    return os.path.abspath(source) if os.path.exists(source) else source


def write_last_run(path: str, record: LastRun) -> None:
    """Write ``record`` to ``path`` atomically (OSError when it cannot be written)."""
    folder = os.path.dirname(path)
    _make_private_dirs(folder)
    # as tempfile.mkstemp does (a new random name, 0600), without importing tempfile and
    # with it shutil, bz2 and lzma into every run's start-up
    temp = os.path.join(folder, f".last-run.{os.urandom(8).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temp, flags, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record.to_dict(), fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _make_private_dirs(folder: str) -> None:
    """``folder`` and every missing parent made 0700, as the XDG base directory
    specification asks of the folders it names; existing ones are left as they are."""
    if os.path.isdir(folder):
        return
    parent = os.path.dirname(folder)
    if parent and parent != folder:
        _make_private_dirs(parent)
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:  # another run made it meanwhile
        pass


def read_last_run(path: str, option: str) -> LastRun:
    """The record at ``path``; ConfigError naming the file when there is none or it
    cannot be read (``option`` says who asked: ``--rerun failed``)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{option}: no last run recorded ({path} does not exist)",
            hint="run, copy, fetch or play record each host's outcome there when they end; "
            "run one first",
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{option}: cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise TypeError(f"not a format-{FORMAT} record")
        return LastRun.from_dict(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{option}: not JSON ({exc.msg})", path=path, line=exc.lineno, hint=_DAMAGED
        ) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{option}: not a record of runner's last run ({exc})", path=path, hint=_DAMAGED
        ) from exc


_DAMAGED = "the file is runner's own record of the last run: remove it, and run again"


__all__ = [
    "SELECTIONS",
    "LastRun",
    "outcome_statuses",
    "read_last_run",
    "record_of",
    "state_dir",
    "state_file",
    "write_last_run",
]
