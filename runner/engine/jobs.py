"""The jobs a run can be handed, by kind: what reads a job back from its JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.engine.command import CommandJob
from runner.engine.job import Job
from runner.engine.transfer import TransferJob
from runner.errors import ConfigError

#: Jobs that can cross a process boundary. A playbook runs where it was loaded.
JOBS: dict[str, Any] = {CommandJob.kind: CommandJob, TransferJob.kind: TransferJob}


def job_from_dict(data: Mapping[str, Any]) -> Job:
    """The job ``to_dict`` described (ConfigError for an unknown kind).

    >>> job_from_dict(CommandJob("uptime").to_dict())
    CommandJob(command='uptime', env={}, chdir=None, pty=False, script_name='script')
    """
    kind = data.get("kind") if isinstance(data, Mapping) else None
    cls = JOBS.get(str(kind))
    if cls is None:
        raise ConfigError(f"unknown job kind {kind!r}", hint="runner versions must match")
    job: Job = cls.from_dict(data)
    return job
