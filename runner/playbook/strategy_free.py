"""Ansible's free strategy over one batch: each host goes through the tasks at its own
pace, never waiting for the others between tasks (a slow host does not hold the fast
ones back). Handlers still run at the end of each section, once every host is there,
as Ansible's free strategy flushes them.

Each host walks its own flow (runner.playbook.flow) on its own greenlet (one
``engine.map`` over the hosts, so ``--forks`` still caps them); each task runs on that
host inline (``BatchRun.run_task(..., inline=True)``). What is shared is guarded:
``throttle`` by one gate per task, ``run_once`` by one lock per task (the first host
to arrive runs it, the later ones take its result, as Ansible's free strategy does), a
stop (``any_errors_fatal``, ``max_fail_percentage``) is seen by every host before its
next task. ``meta: end_play`` / ``end_batch`` end only the host that reaches them.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from runner.models import Host, Status
from runner.playbook.events import TaskOutcome
from runner.playbook.flow import flow
from runner.playbook.model import Node, Task
from runner.playbook.strategy import LinearBatch
from runner.playbook.taskrun import INVENTORY_MODULES, Interrupted


class FreeBatch(LinearBatch):
    """One batch of one play, each host at its own pace."""

    def _section(self, nodes: list[Node], survivors: set[str]) -> str | None:
        hosts = [h for h in self.batch.hosts if h.name in survivors]
        self._stop: str | None = None
        self._interrupted = False
        self._once: dict[int, TaskOutcome] = {}
        self._once_locks: dict[int, threading.Lock] = {}

        def walk(host: Host) -> bool:
            try:
                return self._walk(host, nodes, survivors)
            except Interrupted:
                self._interrupted = True
                return False

        def on_error(host: Host, exc: BaseException) -> bool:
            # a bug, not a host's failure (those are outcomes): the host leaves the play
            survivors.discard(host.name)
            self.dead.add(host.name)
            self.batch.failed.add(host.name)
            return False

        _, cut_off = self.engine.map(hosts, walk, on_error)
        if self._interrupted or cut_off or self.cancelled():
            raise Interrupted
        return self._stop

    def _walk(self, host: Host, nodes: list[Node], survivors: set[str]) -> bool:
        walk = flow(nodes, self._expand, self.roles_ended(host.name))
        try:
            task = next(walk)
        except StopIteration:
            return True
        flows, pending = {host.name: walk}, {host.name: task}
        while True:
            if self._stop is not None:
                walk.close()
                return False
            if task.module == "meta":
                outcome = self._meta(task, [host], flows, pending, survivors)[host.name]
                if host.name not in pending:  # ended by meta
                    return True
            else:
                outcome = self._one(task, host)
                if task.module in INVENTORY_MODULES:  # group_names etc. for its next tasks
                    host = next((h for h in self.batch.hosts if h.name == host.name), host)
            if outcome.status is Status.UNREACHABLE:
                walk.close()
                survivors.discard(host.name)
                return False
            fatal = task.any_errors_fatal
            try:
                task = pending[host.name] = walk.send(outcome)
            except StopIteration as end:
                if not end.value:
                    survivors.discard(host.name)
                    self.dead.add(host.name)
                self._check_stop(fatal)
                return bool(end.value)
            self._check_stop(fatal)

    def _check_stop(self, fatal: bool) -> None:
        reason = self._verdict(False, fatal)
        if reason and self._stop is None:
            self._stop = reason

    def _one(self, task: Task, host: Host) -> TaskOutcome:
        """``task`` on ``host``; for run_once, the first host's outcome for all."""
        if not task.run_once:
            return self.run_task(task, [host], inline=True)[host.name]
        lock = self._once_locks.setdefault(id(task), threading.Lock())
        with lock:
            first = self._once.get(id(task))
            if first is None:
                outcome = self.run_task(task, [host], inline=True)[host.name]
                if outcome.status is not Status.UNREACHABLE:
                    self._once[id(task)] = outcome
                return outcome
        outcome = replace(first, host=host.name)
        self._apply(task, host.name, outcome)
        return outcome
