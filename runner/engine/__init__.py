"""The engine: the scheduler that runs work on many hosts at once (``Engine``, the only
user of gevent pools) and the jobs it is handed (``runner.engine.command``,
``runner.engine.transfer``; a playbook is the job in ``runner.playbook.job``)."""

from runner.engine.job import HostJob, Job, JobContext, error_result
from runner.engine.scheduler import Cancelled, Engine, fit_forks, raise_fd_limit

__all__ = [
    "Cancelled",
    "Engine",
    "HostJob",
    "Job",
    "JobContext",
    "error_result",
    "fit_forks",
    "raise_fd_limit",
]
