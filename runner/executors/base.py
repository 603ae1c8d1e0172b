"""The seam: a Run, and the interface every executor implements."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.config import RunConfig, Secrets
from runner.engine.job import Job
from runner.engine.jobs import job_from_dict
from runner.errors import ConfigError
from runner.events import EventSink
from runner.jsonvalues import decode_value, encode_value
from runner.models import Host


@dataclass(frozen=True)
class Run:
    """What to do (``job``), on which hosts, configured how. Secrets stay outside.

    >>> from runner.engine.command import CommandJob
    >>> run = Run((Host("web1", {"ansible_port": 2222}, ("web",)),), CommandJob("uptime"),
    ...           RunConfig())
    >>> again = Run.from_dict(run.to_dict())
    >>> again.hosts[0].name, again.hosts[0].port, again.job == run.job
    ('web1', 2222, True)
    """

    hosts: tuple[Host, ...]
    job: Job
    config: RunConfig

    def to_dict(self) -> dict[str, Any]:
        return {
            "hosts": [
                {"name": h.name, "vars": encode_value(dict(h.vars)), "groups": list(h.groups)}
                for h in self.hosts
            ],
            "job": self.job.to_dict(),
            "config": self.config.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        try:
            hosts = tuple(
                Host(h["name"], decode_value(h["vars"]), tuple(h["groups"])) for h in data["hosts"]
            )
            return cls(hosts, read_job(data["job"]), RunConfig.from_dict(data["config"]))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"malformed run: {exc}") from exc


def read_job(data: Mapping[str, Any]) -> Job:
    """The job a Run's ``job`` record describes: the engine's own jobs, and the ad-hoc
    module job (runner.playbook.adhoc, above the engine, which never imports it).

    >>> read_job({"kind": "module", "module": "ping", "args": {}, "check_mode": False,
    ...           "diff": False, "env": {}, "pty": False, "base_dir": "/"}).module
    'ping'
    """
    if isinstance(data, Mapping) and data.get("kind") == "module":
        from runner.playbook.adhoc import ModuleJob

        return ModuleJob.from_dict(data)
    return job_from_dict(data)


class Executor(abc.ABC):
    """Carries out runs; ``cancel()`` (Ctrl-C) may come from a signal handler greenlet."""

    @abc.abstractmethod
    def execute(self, run: Run, secrets: Secrets, sink: EventSink) -> Any:
        """Do ``run``, sending its events to ``sink``; return the job's outcome (a
        RunReport for host jobs: ``any_failed``, ``any_unreachable``, ``interrupted``)."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop starting hosts and end the running ones."""
