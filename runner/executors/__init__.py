"""Executors: who carries a run out. A :class:`Run` (hosts + job + RunConfig) is plain
data; an executor executes it, in this process (:mod:`.inprocess`) or spread over
``--procs`` worker processes (:mod:`.procs`), and delivers the same events to the same
sink either way, so output, JSON and exit codes do not depend on where the work ran.
Workers speak the versioned JSON protocol of :mod:`.protocol`; a later executor (a
process keeping connections warm, a Celery worker) speaks it too."""

from runner.executors.base import Executor, Run

__all__ = ["Executor", "Run"]
