"""Ansible's linear strategy over one batch: every host runs task N before any host
starts task N+1.

Each host walks the play through its own small state machine (a generator that yields
the next task and is sent the outcome), so blocks, rescue and always are per host;
the strategy always runs the earliest pending task, for all hosts waiting on it, in
one ``engine.map`` (the hosts run concurrently; each uses its one connection). Then the
notified handlers run, in the order the play lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from runner.engine.job import report_not_ended
from runner.errors import HostError
from runner.events import EventSink
from runner.models import Host, Status
from runner.playbook import batches as rules
from runner.playbook.events import TaskFinished, TaskHostDone, TaskOutcome, TaskStarted
from runner.playbook.executor import TaskExecutor
from runner.playbook.flow import Flow, flow
from runner.playbook.gathering import gather_task, plays_gather
from runner.playbook.includes import expand_include, resolve_include
from runner.playbook.meta import HOST_ACTIONS, run_host_meta
from runner.playbook.model import Node, Play, Task
from runner.playbook.recap import Stats
from runner.playbook.roles import included_roles
from runner.playbook.task_keywords import task_diff
from runner.playbook.variables import Facts


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


class LinearBatch:
    """One batch of one play, run task by task, then its handlers.

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
        refresh: Callable[[], None] | None = None,
        clear_errors: Callable[[], set[str]] | None = None,
    ) -> None:
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

    def _expand(self, task: Task, outcome: TaskOutcome) -> list[Node]:
        for role in included_roles(task, outcome):  # include_role: handlers, public vars
            if "defaults" in role:
                self.executor.scope.export_role(role["defaults"], role["vars"])
            known = {id(h) for h in self.play.handlers}
            self.play.handlers.extend(h for h in role.get("handlers", ()) if id(h) not in known)
        return expand_include(task, outcome, self._included)

    def gather_facts(self) -> set[str]:
        """The implicit Gathering Facts task (if the play gathers); the hosts it lost."""
        if not plays_gather(self.play, self.gathering):
            return set()
        hosts = self.batch.hosts
        if self.gathering == "smart":
            hosts = [h for h in hosts if not self.facts.gathered(h.name)]
        if not hosts:
            return set()
        outcomes = self.run_task(gather_task(self.play, self.gather_subset), hosts)
        lost = set()
        for host in hosts:
            outcome = outcomes[host.name]
            if outcome.status is Status.UNREACHABLE or outcome.hard_failed:
                lost.add(host.name)
                self.dead.add(host.name)
        return lost

    def run(self) -> str | None:
        """Run the batch; the reason the play stops (max_fail_percentage...) or None."""
        batch = self.batch
        lost = self.gather_facts()
        if lost:
            reason = self._verdict(False, False)
            if reason:
                return reason
        survivors = {h.name for h in batch.hosts} - lost
        for section in self.play.sections():
            if not section:
                continue
            reason = self._section(section, survivors)
            if reason:
                return reason
            # the handlers notified in this section run at its end (Ansible's flush)
            self.run_handlers([h for h in batch.hosts if h.name in survivors])
            survivors -= self.dead
            batch.notified.clear()
        for host in batch.hosts:
            if host.name not in survivors and host.name not in self.ended:
                self.dead.add(host.name)
        return self._verdict(True, False)

    def _meta(
        self,
        task: Task,
        hosts: list[Host],
        flows: dict[str, Flow],
        pending: dict[str, Task],
        survivors: set[str],
    ) -> dict[str, TaskOutcome]:
        """``meta`` on the hosts that reached it: no output and no recap counts (as in
        Ansible). Hosts a meta ends leave ``pending`` and ``survivors`` without failing;
        their notified handlers do not run."""
        action = task.args.get("_raw_params")
        outcomes = {h.name: self.executor.run(task, h) for h in hosts}
        reached = [h.name for h in hosts if outcomes[h.name].status is Status.OK]
        for host in hosts:
            if outcomes[host.name].hard_failed:  # e.g. its 'when' could not be evaluated
                self.stats.record(outcomes[host.name])
                self.batch.failed.add(host.name)
        ending: list[str] = []
        if action == "flush_handlers":
            alive = [h for h in hosts if h.name in reached]
            self.run_handlers(alive)
            for host in alive:
                self.batch.notified.pop(host.name, None)
                if host.name in self.dead:
                    outcomes[host.name] = TaskOutcome(host.name, Status.FAILED, {"failed": True})
        elif action in HOST_ACTIONS:
            alive = [h for h in hosts if h.name in reached]
            run_host_meta(action, alive, batch=self.batch, dead=self.dead, ended=self.ended,
                          engine=self.engine, refresh=self.refresh,
                          clear_errors=self.clear_errors)  # fmt: skip
        elif action == "end_host":
            ending = reached
        elif action in ("end_batch", "end_play") and reached:
            ending = list(pending)
            self.play_ended = action == "end_play"
        for name in ending:
            flows.pop(name).close()
            del pending[name]
            survivors.discard(name)
            self.ended.add(name)
            self.batch.notified.pop(name, None)
        return outcomes

    def _section(self, nodes: list[Node], survivors: set[str]) -> str | None:
        """Run one section (pre_tasks, tasks, post_tasks) on the surviving hosts; the
        reason the play stops, or None. Hosts that fail leave ``survivors``."""
        batch = self.batch
        flows: dict[str, Flow] = {}
        pending: dict[str, Task] = {}
        for host in batch.hosts:
            if host.name not in survivors:
                continue
            walk = flow(nodes, self._expand)
            try:
                pending[host.name] = next(walk)
                flows[host.name] = walk
            except StopIteration:
                pass
        while pending:
            task = min(pending.values(), key=lambda t: t.sort_key)
            hosts = [h for h in batch.hosts if pending.get(h.name) is task]
            if task.module == "meta":
                outcomes = self._meta(task, hosts, flows, pending, survivors)
            else:
                outcomes = self.run_task(task, hosts)
            for host in hosts:
                if host.name not in pending:  # ended by meta
                    continue
                outcome = outcomes[host.name]
                if outcome.status is Status.UNREACHABLE:
                    flows.pop(host.name).close()
                    del pending[host.name]
                    survivors.discard(host.name)
                    continue
                try:
                    pending[host.name] = flows[host.name].send(outcome)
                except StopIteration as end:
                    del pending[host.name]
                    if not end.value:
                        survivors.discard(host.name)
                        self.dead.add(host.name)
            reason = self._verdict(False, task.any_errors_fatal)
            if reason:
                for walk in flows.values():
                    walk.close()
                return reason
        return None

    def _verdict(self, done: bool, fatal: bool) -> str | None:
        batch = self.batch
        return rules.stop_reason(
            failed=len(batch.failed),
            size=len(batch.hosts),
            number=batch.number,
            total=batch.total,
            max_fail_percentage=self.play.max_fail_percentage,
            any_errors_fatal=fatal,
            batch_done=done,
        )

    def run_handlers(self, hosts: list[Host]) -> None:
        """The handlers notified on ``hosts``, in the play's order, once each."""
        alive = list(hosts)
        for handler in self.play.handlers:
            names = {handler.name, *handler.listen} - {None}
            targets = [h for h in alive if self.batch.notified.get(h.name, set()) & names]
            if not targets:
                continue
            if handler.include is not None:  # include_tasks as a handler: its tasks run
                left = {h.name for h in targets}
                self._section([handler], left)
                alive = [h for h in alive if h.name in left or h not in targets]
                continue
            outcomes = self.run_task(handler, targets)
            for host in targets:
                outcome = outcomes[host.name]
                if outcome.status is Status.UNREACHABLE or outcome.hard_failed:
                    alive.remove(host)
                    self.dead.add(host.name)

    # -- one task on many hosts -------------------------------------------------------

    def run_task(self, task: Task, hosts: list[Host]) -> dict[str, TaskOutcome]:
        """``task`` on ``hosts`` at once (the first only, for run_once): events, stats,
        and what the outcome registers, sets or notifies."""
        play, batch, engine = self.play, self.batch, self.engine
        if self.cancelled():
            raise Interrupted
        run_hosts = hosts[:1] if task.run_once else hosts
        names = tuple(h.name for h in run_hosts)
        self.sink.handle(
            TaskStarted(
                play.name, task.label, names, task.handler, task.module, task.path, task.line
            )
        )

        def work(host: Host) -> TaskOutcome:
            try:
                outcome = resolve_include(task, self.executor.run(task, host))
            except BaseException as exc:  # Ctrl-C: say if a command may still be running
                report_not_ended(self.sink, host.name, exc)
                raise
            self.sink.handle(TaskHostDone(play.name, task.label, outcome))
            return outcome

        def on_error(host: Host, exc: BaseException) -> TaskOutcome:
            outcome = error_outcome(host.name, exc)
            self.sink.handle(TaskHostDone(play.name, task.label, outcome))
            return outcome

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
            elif outcome.hard_failed and not outcome.rescued:
                batch.failed.add(host.name)
        if stopping:
            # Ctrl-C: the hosts that finished the task before it are reported all the same
            done = tuple(outcomes[n] for n in names if n in outcomes)
            self.sink.handle(
                TaskFinished(
                    play.name,
                    task.label,
                    done,
                    task.handler,
                    task.module,
                    task_diff(task, self.diff),
                )  # fmt: skip
            )
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
        self.sink.handle(
            TaskFinished(
                play.name,
                task.label,
                tuple(outcomes[n] for n in names),
                task.handler,
                task.module,
                task_diff(task, self.diff),
            )
        )
        return outcomes

    def _keep_facts(self, task: Task, host: str, result: Mapping[str, Any]) -> None:
        """A result's ``ansible_facts``: set_fact's for the run (and the fact cache when
        cacheable), any other module's (setup) for the fact cache. With delegate_facts
        they belong to the host the task was delegated to."""
        facts = result["ansible_facts"]
        owner = task.delegate_to if task.delegate_facts and task.delegate_to else host
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


def error_outcome(host: str, exc: BaseException) -> TaskOutcome:
    """What a task's exception on one host becomes: unreachable, or a failed task."""
    if isinstance(exc, HostError) and exc.unreachable:
        msg = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return TaskOutcome(
            host, Status.UNREACHABLE, {"unreachable": True, "changed": False, "msg": msg}
        )
    msg = str(exc) if isinstance(exc, HostError) else f"internal error: {type(exc).__name__}: {exc}"
    return TaskOutcome(host, Status.FAILED, {"failed": True, "changed": False, "msg": msg})
