"""Runs in this process: one transport factory, the forks fitted to the open-file limit,
and the job driving the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.config import Secrets
from runner.engine.job import JobContext
from runner.engine.scheduler import fit_forks, raise_fd_limit
from runner.events import EventSink, Notice
from runner.executors.base import Executor, Run
from runner.transport.base import TransportFactory

FactoryMaker = Callable[[Run, Secrets], TransportFactory]


def connection_factory(
    ask_passphrase: Callable[[str], str | None] | None = None,
) -> FactoryMaker:
    """The usual transports: SSH (and local) over the run's connection settings."""

    def make(run: Run, secrets: Secrets) -> TransportFactory:
        from runner.transport.factory import ConnectionFactory

        return ConnectionFactory(run.config.connection, secrets, ask_passphrase=ask_passphrase)

    return make


class InProcessExecutor(Executor):
    """``make_factory`` builds the run's transports (tests hand in fakes)."""

    def __init__(self, make_factory: FactoryMaker | None = None) -> None:
        self.make_factory = make_factory or connection_factory()
        self._context: JobContext | None = None
        self._cancelled = False

    def execute(self, run: Run, secrets: Secrets, sink: EventSink) -> Any:
        factory = self.make_factory(run, secrets)
        try:
            factory.prepare(run.hosts)
            forks, notice = fit_forks(run.config.forks, len(run.hosts), raise_fd_limit())
            if notice:
                sink.handle(Notice(notice))
            context = JobContext(run.config, secrets, sink, factory, forks)
            self._context = context
            if self._cancelled:
                context.cancel()
            return run.job.run(context, run.hosts)
        finally:
            self._context = None
            factory.close()

    def cancel(self) -> None:
        self._cancelled = True
        if self._context is not None:
            self._context.cancel()
