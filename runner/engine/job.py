"""Jobs: what a run does, handed to the scheduler. The scheduler (Engine) decides when and
how many hosts run; a job decides what happens on each.

A job is plain data: ``to_dict()`` gives JSON and runner.engine.jobs.job_from_dict reads
it back, so a run can be described to another process (a ``--procs`` worker) and
executed there.
Jobs hold no secret: the executor hands the run's Secrets in through the JobContext.

Most jobs are *host jobs*: one unit of work per host, whose outcome is a CommandResult
(the ad-hoc command, copy, fetch). :meth:`HostJob.run` drives them the same way: the
host's events, its connection, every exception turned into that host's result, and a
RunReport complete for every host that was not cut off by Ctrl-C. A playbook is a job
that drives the scheduler itself, task by task (runner.playbook.strategy).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from runner.config import RunConfig, Secrets
from runner.engine.scheduler import Cancelled, Engine
from runner.errors import HostError, RunnerError, not_ended
from runner.events import (
    EventSink,
    HostFinished,
    HostStarted,
    Notice,
    RunFinished,
    RunStarted,
)
from runner.models import CommandResult, Host, HostResult, RunReport, Status
from runner.transport.base import Transport, TransportFactory


@dataclass
class JobContext:
    """What an executor gives the job it runs: the run's configuration and secrets, the
    sink for events, and engines over the run's transport factory (``forks`` already
    fitted to the open-file limit)."""

    config: RunConfig
    secrets: Secrets
    sink: EventSink
    factory: TransportFactory
    forks: int
    _engines: list[Engine] = field(default_factory=list, repr=False)
    cancelled: bool = False

    def new_engine(self) -> Engine:
        """A scheduler over the run's connections (a playbook makes one per play)."""
        engine = Engine(self.factory, forks=self.forks, retries=self.config.retries)
        if self.cancelled:
            engine.cancel()
        self._engines.append(engine)
        return engine

    def cancel(self) -> None:
        """Ctrl-C: no host starts any more, running ones are cut off."""
        self.cancelled = True
        for engine in self._engines:
            engine.cancel()


class Job(abc.ABC):
    """What a run does. ``kind`` names it in the JSON form."""

    kind: ClassVar[str]

    def check(self, hosts: Sequence[Host]) -> None:  # noqa: B027 - optional hook
        """Input errors found before any connection (raise InputError)."""

    @abc.abstractmethod
    def run(self, ctx: JobContext, hosts: Sequence[Host]) -> Any:
        """Do the work on ``hosts``; return the outcome (a RunReport for host jobs), which
        has ``any_failed``, ``any_unreachable`` and ``interrupted``."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON data with ``kind``; read back by runner.engine.jobs.job_from_dict."""


class HostJob(Job):
    """A job that is one unit of work per host (see the module docstring)."""

    #: Hosts that never need a connection (the work happens on the control node).
    needs_connection: ClassVar[bool] = True

    @abc.abstractmethod
    def on_host(self, ctx: JobContext, host: Host, connect: Callable[[], Transport]) -> Any:
        """The work on one host: a CommandResult (exit code 0 is ok, else failed). Raise
        HostError/RunnerError for a host that could not do it; ``connect()`` gives the
        host's one connection."""

    def host_result(self, host: Host, outcome: Any, started: float, duration: float) -> HostResult:
        """The host's result from what ``on_host`` returned: a CommandResult, ok when its
        exit code is 0, else failed (a job whose outcome is another value says how)."""
        command: CommandResult = outcome
        status = Status.OK if command.exit_code == 0 else Status.FAILED
        return HostResult(host.name, status, command, started=started, duration=duration)

    def finish_result(self, result: HostResult) -> HostResult:
        """Every host's result, failures included, as it is reported (a hook: as is)."""
        return result

    def run(self, ctx: JobContext, hosts: Sequence[Host]) -> RunReport:
        engine = ctx.new_engine()
        sink = ctx.sink
        sink.handle(RunStarted(tuple(h.name for h in hosts), engine.forks, time.time()))
        clock = time.monotonic()

        def work(host: Host) -> HostResult:
            wall, started = time.time(), time.monotonic()
            sink.handle(HostStarted(host.name, started))
            try:
                outcome = self.on_host(ctx, host, lambda: engine.connection(host))
                result = self.host_result(host, outcome, wall, time.monotonic() - started)
            except Cancelled as exc:
                report_not_ended(sink, host.name, exc)
                raise
            except Exception as exc:
                result = error_result(host.name, exc, wall, time.monotonic() - started)
            finally:
                engine.disconnect(host)
            result = self.finish_result(result)
            sink.handle(HostFinished(result))
            return result

        def on_error(host: Host, exc: BaseException) -> HostResult:
            result = self.finish_result(error_result(host.name, exc, time.time(), 0.0))
            sink.handle(HostFinished(result))
            return result

        try:
            results, cut_off = engine.map(hosts, work, on_error)
        finally:
            engine.close()
        ordered = {h.name: results[h.name] for h in hosts if h.name in results}
        report = RunReport(ordered, time.monotonic() - clock, tuple(cut_off))
        sink.handle(RunFinished(report))
        return report


def report_not_ended(sink: EventSink, host: str, exc: BaseException) -> None:
    """A warning when Ctrl-C cut ``host`` off and its command could not be ended."""
    cause = not_ended(exc)
    if cause is not None:
        sink.handle(Notice(f"{host}: interrupted; {cause.message}"))


def error_result(name: str, exc: BaseException, started: float, duration: float) -> HostResult:
    """A host's result when its work raised ``exc``: unreachable or failed, with a message
    a person can act on; anything not raised on purpose is an "internal error"."""
    if isinstance(exc, HostError):
        status = Status.UNREACHABLE if exc.unreachable else Status.FAILED
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return HostResult(name, status, None, message, exc.kind, started, duration)
    if isinstance(exc, RunnerError):  # e.g. a template with an undefined variable
        return HostResult(name, Status.FAILED, None, str(exc), "task", started, duration)
    return HostResult(
        name,
        Status.FAILED,
        None,
        f"internal error: {type(exc).__name__}: {exc}",
        "internal",
        started,
        duration,
    )
