"""Running one task on the hosts of a batch: the events, the recap counts, and what the
outcome registers, sets or notifies, shared by the linear strategy
(runner.playbook.strategy) and the free one (runner.playbook.strategy_free).

``throttle`` caps how many hosts run a task at once; ``ignore_unreachable`` turns a
host that cannot be reached on that task into an ignored failure (counted ``ok`` and
``ignored``, as ansible-playbook 2.19 counts it) and the host goes on; ``run_once``
runs on the first host and gives its result to all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from runner.engine.job import report_not_ended
from runner.errors import HostError, InventoryError
from runner.events import EventSink
from runner.models import Host, Status
from runner.playbook.events import TaskFinished, TaskHostDone, TaskOutcome, TaskStarted
from runner.playbook.executor import TaskExecutor
from runner.playbook.includes import expand_include, resolve_include
from runner.playbook.model import Node, Play, Task
from runner.playbook.recap import Stats
from runner.playbook.roles import included_roles
from runner.playbook.task_keywords import task_diff
from runner.playbook.variables import Facts
from runner.templating import render_value

# Modules whose result changes the run's inventory (runner.inventory.dynamic).
INVENTORY_MODULES = frozenset({"add_host", "group_by"})


@dataclass
class Batch:
    """One rolling batch of a play (``serial``), and what its tasks left behind."""

    hosts: list[Host]
    number: int
    total: int
    failed: set[str] = field(default_factory=set)  # counted by the stop rules
    notified: dict[str, set[str]] = field(default_factory=dict)


class Interrupted(Exception):
    """Ctrl-C, or the engine was cancelled: the run stops where it is."""


class BatchRun:
    """One batch of one play: what its strategy shares (runner.playbook.strategy).

    ``stats``, ``facts`` and ``dead`` (failed or unreachable hosts, out of later plays)
    belong to the whole run and are updated in place; ``cancelled`` says Ctrl-C came.
    """

    def __init__(
        self,
        play: Play,
        batch: Batch,
        engine: Any,
        executor: TaskExecutor,
        *,
        sink: EventSink,
        stats: Stats,
        facts: Facts,
        dead: set[str],
        diff: bool,
        cancelled: Callable[[], bool],
        gathering: str = "implicit",
        gather_subset: tuple[str, ...] | None = None,
        force_handlers: bool = False,
        refresh: Callable[[], None] | None = None,
        clear_errors: Callable[[], set[str]] | None = None,
        change_inventory: Callable[[str, Mapping[str, Any]], bool] | None = None,
    ) -> None:
        # add_host/group_by: (host, one result) -> whether the run's inventory changed
        self.change_inventory = change_inventory
        self.refresh = refresh  # meta refresh_inventory: read the inventory sources again
        self.clear_errors = clear_errors  # meta clear_host_errors: the hosts it cleared
        self.play = play
        self.batch = batch
        self.engine = engine
        self.executor = executor
        self.sink = sink
        self.stats = stats
        self.facts = facts
        self.dead = dead
        self.diff = diff
        self.cancelled = cancelled
        self.gathering = gathering
        self.gather_subset = gather_subset
        self._included: dict[Any, list[Node]] = {}
        self.ended: set[str] = set()  # meta end_host/end_batch/end_play: done, not failed
        self.play_ended = False  # meta end_play: no later batch runs either
        self._roles_ended: dict[str, set[int]] = {}  # meta end_role: host -> id(Role)
        self.force_handlers = force_handlers or play.force_handlers
        self.unreachable: set[str] = set()  # hosts lost to a connection in this batch
        self._throttles: dict[int, threading.BoundedSemaphore] = {}

    def roles_ended(self, host: str) -> set[int]:
        """The roles ``host`` ended with ``meta: end_role`` (ids of runner.playbook.model.Role),
        which its walk (runner.playbook.flow) passes over."""
        return self._roles_ended.setdefault(host, set())

    def flush_hosts(self, survivors: set[str]) -> list[Host]:
        """The hosts whose notified handlers run now: those still in the play, and with
        ``force_handlers`` also those that failed (not the unreachable ones)."""
        names = set(survivors)
        if self.force_handlers:
            names |= set(self.batch.notified) - self.unreachable - self.ended
        return [h for h in self.batch.hosts if h.name in names]

    def _expand(self, task: Task, outcome: TaskOutcome) -> list[Node]:
        for role in included_roles(task, outcome):  # include_role: handlers, public vars
            if "defaults" in role:
                self.executor.scope.export_role(role["defaults"], role["vars"])
            known = {id(h) for h in self.play.handlers}
            self.play.handlers.extend(h for h in role.get("handlers", ()) if id(h) not in known)
        return expand_include(task, outcome, self._included)

    # -- one task on many hosts -------------------------------------------------------

    def run_task(
        self, task: Task, hosts: list[Host], *, inline: bool = False
    ) -> dict[str, TaskOutcome]:
        """``task`` on ``hosts`` at once (the first only, for run_once): events, stats,
        and what the outcome registers, sets or notifies. ``inline``: on this greenlet,
        one host after the other (the free strategy already runs each host on its own);
        its events are then sent together once the task is done, so renderers see one
        task at a time although hosts run different tasks at once."""
        play, batch, engine = self.play, self.batch, self.engine
        if self.cancelled():
            raise Interrupted
        run_hosts = hosts[:1] if task.run_once else hosts
        names = tuple(h.name for h in run_hosts)
        held: list[Any] = []
        emit = held.append if inline else self.sink.handle
        emit(
            TaskStarted(
                play.name, task.label, names, task.handler, task.module, task.path, task.line
            )
        )
        gate = self._throttle(task, run_hosts)

        def work(host: Host) -> TaskOutcome:
            try:
                if gate is None:
                    outcome = resolve_include(task, self.executor.run(task, host))
                else:
                    with gate:
                        outcome = resolve_include(task, self.executor.run(task, host))
                if task.module in INVENTORY_MODULES:
                    outcome = self._inventory_outcome(task, host.name, outcome)
            except BaseException as exc:  # Ctrl-C: say if a command may still be running
                report_not_ended(self.sink, host.name, exc)
                raise
            emit(TaskHostDone(play.name, task.label, outcome))
            return outcome

        def on_error(host: Host, exc: BaseException) -> TaskOutcome:
            outcome = error_outcome(host.name, exc)
            if outcome.status is Status.UNREACHABLE and task.ignore_unreachable:
                outcome = replace(outcome, status=Status.FAILED, ignored=True)
            emit(TaskHostDone(play.name, task.label, outcome))
            return outcome

        if inline:
            results, cut_off = _inline(run_hosts, work, on_error), []
        else:
            results, cut_off = engine.map(run_hosts, work, on_error)
        stopping = bool(cut_off) or self.cancelled() or getattr(engine, "cancelled", False)
        outcomes: dict[str, TaskOutcome] = {}
        for host in run_hosts:
            outcome = results.get(host.name)
            if outcome is None:  # cut off by Ctrl-C: no outcome to report
                continue
            outcomes[host.name] = outcome
            self.stats.record(outcome)
            if task.include is not None and task.loop is not None and not outcome.hard_failed:
                items = outcome.result.get("results") or []
                files = sum(1 for one in items if not one.get("skipped"))
                self.stats.add_ok(host.name, max(files - 1, 0))
            if outcome.status is Status.UNREACHABLE:
                engine.disconnect(host)
                batch.failed.add(host.name)
                self.dead.add(host.name)
                self.unreachable.add(host.name)
            elif outcome.result.get("unreachable"):  # ignore_unreachable: the host goes on
                engine.disconnect(host)
            elif outcome.hard_failed and not outcome.rescued:
                batch.failed.add(host.name)
        if stopping:
            # Ctrl-C: the hosts that finished the task before it are reported all the same
            done = tuple(outcomes[n] for n in names if n in outcomes)
            emit(TaskFinished(play.name, task.label, done, task.handler, task.module,
                              task_diff(task, self.diff)))  # fmt: skip
            self._flush(held)
            raise Interrupted
        if (
            task.run_once
            and run_hosts
            and outcomes[run_hosts[0].name].status is not Status.UNREACHABLE
        ):
            first = outcomes[run_hosts[0].name]
            for host in hosts[1:]:
                outcomes[host.name] = replace(first, host=host.name)
        for host in hosts:
            outcome = outcomes.get(host.name)
            if outcome is None:  # run_once on an unreachable host: the others go on
                outcomes[host.name] = TaskOutcome(host.name, Status.SKIPPED, {"skipped": True})
                continue
            self._apply(task, host.name, outcome)
        emit(
            TaskFinished(
                play.name,
                task.label,
                tuple(outcomes[n] for n in names),
                task.handler,
                task.module,
                task_diff(task, self.diff),
            )
        )
        self._flush(held)
        return outcomes

    def _inventory_outcome(self, task: Task, host: str, outcome: TaskOutcome) -> TaskOutcome:
        """add_host/group_by: each result (each item's, in a loop) applied to the run's
        inventory at once, so the next item and task see it; ``changed`` is whether the
        inventory changed, as in Ansible (unless the task has its own changed_when)."""
        if self.change_inventory is None or outcome.status not in (Status.OK, Status.CHANGED):
            return outcome
        result = dict(outcome.result)
        items = result.get("results")
        parts = items if isinstance(items, list) else [result]
        changed = False
        for index, one in enumerate(parts):
            if not isinstance(one, Mapping) or one.get("skipped") or one.get("failed"):
                continue
            try:
                now = self.change_inventory(host, one)
            except InventoryError as exc:
                return TaskOutcome(host, Status.FAILED, {**result, "failed": True,
                                   "changed": False, "msg": exc.message})  # fmt: skip
            changed = changed or now
            if task.changed_when is None:
                parts[index] = {**one, "changed": now}
        if task.changed_when is not None:
            return outcome
        result["changed"] = changed
        if isinstance(items, list):
            result["results"] = parts
        return replace(outcome, status=Status.CHANGED if changed else Status.OK, result=result)

    def _flush(self, held: list[Any]) -> None:
        for event in held:
            self.sink.handle(event)

    def _throttle(self, task: Task, hosts: list[Host]) -> threading.BoundedSemaphore | None:
        """The gate that lets at most ``throttle`` hosts run ``task`` at once (one per
        task for the batch, so the free strategy's hosts share it), or None."""
        if task.throttle is None or not hosts:
            return None
        gate = self._throttles.get(id(task))
        if gate is None:
            limit = task.throttle
            if isinstance(limit, str):  # a template: the first host's variables decide
                variables = self.executor.scope.for_host(hosts[0], task.vars)
                limit = render_value(limit, variables, where=task.where)
            try:
                number = int(limit)
            except (TypeError, ValueError):
                number = 0
            if number <= 0:
                return None
            gate = self._throttles[id(task)] = threading.BoundedSemaphore(number)
        return gate

    def _keep_facts(self, task: Task, host: str, result: Mapping[str, Any]) -> None:
        """A result's ``ansible_facts``: set_fact's for the run (and the fact cache when
        cacheable), any other module's (setup) for the fact cache. With delegate_facts
        they belong to the host the task was delegated to."""
        facts = result["ansible_facts"]
        delegated = result.get("_ansible_delegated_vars") or {}
        target = delegated.get("ansible_delegated_host") if task.delegate_facts else None
        owner = str(target) if target else host
        if task.module == "include_vars":
            self.facts.include(owner, facts)
        elif task.module == "set_fact":
            self.facts.set(owner, facts)
            if result.get("_ansible_facts_cacheable"):
                self.facts.cache(owner, facts)
        else:
            self.facts.cache(owner, facts)

    def _apply(self, task: Task, host: str, outcome: TaskOutcome) -> None:
        """Register, set facts, remember rescue details and handler notifications."""
        if outcome.status is Status.UNREACHABLE:
            return
        result = dict(outcome.result)
        if task.register:
            self.facts.set(host, {task.register: result})
        if outcome.status is not Status.FAILED:
            items = result.get("results")
            for one in [result, *(items if isinstance(items, list) else [])]:
                if isinstance(one, Mapping) and isinstance(one.get("ansible_facts"), Mapping):
                    self._keep_facts(task, host, one)
        if outcome.rescued:
            self.facts.set(
                host,
                {
                    "ansible_failed_result": result,
                    "ansible_failed_task": {"name": task.label, "action": task.module},
                },
            )
        if task.notify and outcome.changed and not outcome.hard_failed:
            self.batch.notified.setdefault(host, set()).update(task.notify)


def _inline(
    hosts: list[Host],
    work: Callable[[Host], TaskOutcome],
    on_error: Callable[[Host, BaseException], TaskOutcome],
) -> dict[str, TaskOutcome]:
    """engine.map's contract, on the calling greenlet, one host after the other."""
    results: dict[str, TaskOutcome] = {}
    for host in hosts:
        try:
            results[host.name] = work(host)
        except Exception as exc:  # every failure is data (Ctrl-C goes up)
            results[host.name] = on_error(host, exc)
    return results


def error_outcome(host: str, exc: BaseException) -> TaskOutcome:
    """What a task's exception on one host becomes: unreachable, or a failed task."""
    if isinstance(exc, HostError) and exc.unreachable:
        msg = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return TaskOutcome(
            host, Status.UNREACHABLE, {"unreachable": True, "changed": False, "msg": msg}
        )
    msg = str(exc) if isinstance(exc, HostError) else f"internal error: {type(exc).__name__}: {exc}"
    return TaskOutcome(host, Status.FAILED, {"failed": True, "changed": False, "msg": msg})
