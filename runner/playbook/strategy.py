"""Runs a playbook: plays, rolling batches, Ansible's linear strategy, handlers, recap.

Linear strategy: every host of a batch runs task N before any host starts task N+1.
Each host walks the play through its own small state machine (a generator that yields
the next task and is sent the outcome), so blocks, rescue and always are per host;
the strategy always runs the earliest pending task, for all hosts waiting on it, in
one ``engine.map`` (the hosts run concurrently; each uses its one connection).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runner.errors import HostError, HostPatternError
from runner.events import EventSink, HostOutput, Notice
from runner.models import Host, Status
from runner.playbook import batches as rules
from runner.playbook.events import (
    BatchStarted,
    PlaybookFinished,
    PlaybookStarted,
    PlayStarted,
    PlayStopped,
    TaskFinished,
    TaskHostDone,
    TaskOutcome,
    TaskStarted,
)
from runner.playbook.executor import BecomeDefaults, TaskExecutor
from runner.playbook.model import Block, Node, Play, Playbook, Task
from runner.playbook.recap import Stats
from runner.playbook.variables import Facts, VarScope, groups_of
from runner.transport.base import Transport

Flow = Generator[Task, TaskOutcome, bool]


@dataclass
class RunSummary:
    """How a playbook run ended; the CLI turns it into an exit code."""

    recap: Mapping[str, Any]
    stopped: str | None = None
    interrupted: bool = False

    @property
    def any_failed(self) -> bool:
        return any(c.failed for c in self.recap.values())

    @property
    def any_unreachable(self) -> bool:
        return any(c.unreachable for c in self.recap.values())


@dataclass
class _Batch:
    hosts: list[Host]
    number: int
    total: int
    failed: set[str] = field(default_factory=set)  # counted by the stop rules
    notified: dict[str, set[str]] = field(default_factory=dict)


class _Interrupted(Exception):
    pass


def _flow(nodes: Sequence[Node]) -> Flow:
    """One host's walk through tasks; returns False when the host failed."""
    for node in nodes:
        if isinstance(node, Task):
            outcome = yield node
            if outcome.hard_failed:
                return False
        else:
            ok = yield from _block(node)
            if not ok:
                return False
    return True


def _block(block: Block) -> Flow:
    ok = yield from _flow(block.block)
    if not ok and block.rescue:
        ok = yield from _flow(block.rescue)
    if block.always:
        always_ok = yield from _flow(block.always)
        ok = ok and always_ok
    return ok


class PlaybookRunner:
    """Runs playbooks against an inventory through engines made by ``engine_factory``."""

    def __init__(
        self,
        *,
        inventory: Any,
        engine_factory: Callable[[], Any],
        sink: EventSink,
        local_factory: Callable[[Host], Transport],
        extra_vars: Mapping[str, Any] | None = None,
        limit: str | None = None,
        check: bool = False,
        diff: bool = False,
        max_output: int = 1 << 20,
        default_timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stream: bool = False,
        out_dir: str | None = None,
        become: BecomeDefaults | None = None,
        pty: bool = False,
    ) -> None:
        self.inventory = inventory
        self.engine_factory = engine_factory
        self.sink = sink
        self.local_factory = local_factory
        self.extra_vars = dict(extra_vars or {})
        self.limit = limit
        self.check = check
        self.diff = diff
        self.max_output = max_output
        self.default_timeout = default_timeout
        self.sleep = sleep
        self.stream = stream
        self.out_dir = out_dir
        self.become = become or BecomeDefaults()
        self.pty = pty
        self.stats = Stats()
        self.facts = Facts()
        self.dead: set[str] = set()  # failed or unreachable: out of later plays
        self._engine: Any = None
        self._cancelled = False

    def _stream_line(self, host: str, stream: str, line: bytes) -> None:
        self.sink.handle(HostOutput(host, stream, line))

    def cancel(self) -> None:
        """Stop at once (Ctrl-C): running tasks are cut off, nothing new starts."""
        self._cancelled = True
        if self._engine is not None:
            self._engine.cancel()

    # -- hosts ----------------------------------------------------------------------

    def play_hosts(self, play: Play) -> list[Host]:
        """The play's hosts (pattern, then --limit), in inventory order."""
        try:
            hosts = self.inventory.select(play.hosts)
        except HostPatternError as exc:
            self.sink.handle(Notice(f"play {play.name!r}: {exc.message}; skipping the play"))
            return []
        if self.limit:
            allowed = {h.name for h in self.inventory.select(self.limit)}
            hosts = [h for h in hosts if h.name in allowed]
        return hosts

    def _groups(self) -> dict[str, list[str]]:
        inv = self.inventory
        if hasattr(inv, "group_hosts") and hasattr(inv, "groups"):
            return {g: [h.name for h in inv.group_hosts(g)] for g in inv.groups}
        return groups_of(inv.hosts)

    # -- the run --------------------------------------------------------------------

    def run(self, playbook: Playbook) -> RunSummary:
        clock = time.monotonic()
        self.sink.handle(PlaybookStarted(playbook.path, self.check))
        for warning in playbook.warnings:
            self.sink.handle(Notice(warning))
        stopped: str | None = None
        interrupted = False
        try:
            for play in playbook.plays:
                stopped = self._run_play(play, playbook)
                if stopped or self._cancelled:
                    break
        except (_Interrupted, KeyboardInterrupt):
            self.cancel()
            interrupted = True
        interrupted = interrupted or self._cancelled
        recap = self.stats.snapshot()
        self.sink.handle(PlaybookFinished(recap, time.monotonic() - clock, stopped, interrupted))
        return RunSummary(recap, stopped, interrupted)

    def _run_play(self, play: Play, playbook: Playbook) -> str | None:
        hosts = [h for h in self.play_hosts(play) if h.name not in self.dead]
        batches = rules.plan_batches(hosts, play.serial)
        self.sink.handle(
            PlayStarted(
                play.name,
                tuple(h.name for h in hosts),
                tuple(tuple(h.name for h in b) for b in batches),
            )
        )
        if not hosts:
            self.sink.handle(Notice(f"play {play.name!r}: no hosts left to run on", "info"))
            return None
        for host in hosts:
            self.stats.ensure(host.name)
        engine = self.engine_factory()
        self._engine = engine
        if self._cancelled:
            engine.cancel()
        try:
            for number, batch_hosts in enumerate(batches, 1):
                batch = _Batch(batch_hosts, number, len(batches))
                if len(batches) > 1:
                    self.sink.handle(
                        BatchStarted(number, len(batches), tuple(h.name for h in batch_hosts))
                    )
                scope = VarScope(
                    hosts=self.inventory.hosts,
                    groups=self._groups(),
                    play_vars=play.vars,
                    extra_vars=self.extra_vars,
                    facts=self.facts,
                    play_hosts=[h.name for h in hosts],
                    batch=[h.name for h in batch_hosts],
                    check_mode=self.check,
                    playbook_dir=os.path.dirname(os.path.abspath(play.path)),
                    play_name=play.name,
                )
                executor = TaskExecutor(
                    scope=scope,
                    connect=engine.connection,
                    local_connect=self.local_factory,
                    base_dir=os.path.dirname(play.path),
                    check_mode=self.check,
                    diff=self.diff,
                    max_output=self.max_output,
                    default_timeout=self.default_timeout,
                    sleep=self.sleep,
                    on_output=self._stream_line if self.stream else None,
                    out_dir=self.out_dir,
                    become=self.become,
                    pty=self.pty,
                )
                reason = self._run_batch(play, batch, engine, executor)
                if reason:
                    not_run = [h.name for b in batches[number:] for h in b]
                    self.sink.handle(PlayStopped(play.name, reason, tuple(not_run)))
                    return reason
        finally:
            self._engine = None
            engine.close()
        return None

    def _run_batch(
        self, play: Play, batch: _Batch, engine: Any, executor: TaskExecutor
    ) -> str | None:
        flows: dict[str, Flow] = {}
        pending: dict[str, Task] = {}
        for host in batch.hosts:
            flow = _flow(play.tasks)
            try:
                pending[host.name] = next(flow)
                flows[host.name] = flow
            except StopIteration:
                pass
        survivors = {h.name for h in batch.hosts}

        def verdict(done: bool, fatal: bool) -> str | None:
            return rules.stop_reason(
                failed=len(batch.failed),
                size=len(batch.hosts),
                number=batch.number,
                total=batch.total,
                max_fail_percentage=play.max_fail_percentage,
                any_errors_fatal=fatal,
                batch_done=done,
            )

        while pending:
            task = min(pending.values(), key=lambda t: t.index)
            hosts = [h for h in batch.hosts if pending.get(h.name) is task]
            outcomes = self._run_task(play, task, hosts, batch, engine, executor)
            for host in hosts:
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
            reason = verdict(False, task.any_errors_fatal)
            if reason:
                for flow in flows.values():
                    flow.close()
                return reason
        for host in batch.hosts:
            if host.name not in survivors:
                self.dead.add(host.name)
        self._run_handlers(
            play, batch, [h for h in batch.hosts if h.name in survivors], engine, executor
        )
        return verdict(True, False)

    def _run_handlers(
        self, play: Play, batch: _Batch, hosts: list[Host], engine: Any, executor: TaskExecutor
    ) -> None:
        alive = list(hosts)
        for handler in play.handlers:
            names = {handler.name, *handler.listen} - {None}
            targets = [h for h in alive if batch.notified.get(h.name, set()) & names]
            if not targets:
                continue
            outcomes = self._run_task(play, handler, targets, batch, engine, executor)
            for host in targets:
                outcome = outcomes[host.name]
                if outcome.status is Status.UNREACHABLE or outcome.hard_failed:
                    alive.remove(host)
                    self.dead.add(host.name)

    # -- one task on many hosts -------------------------------------------------------

    def _run_task(
        self,
        play: Play,
        task: Task,
        hosts: list[Host],
        batch: _Batch,
        engine: Any,
        executor: TaskExecutor,
    ) -> dict[str, TaskOutcome]:
        if self._cancelled:
            raise _Interrupted
        run_hosts = hosts[:1] if task.run_once else hosts
        names = tuple(h.name for h in run_hosts)
        self.sink.handle(
            TaskStarted(
                play.name, task.label, names, task.handler, task.module, task.path, task.line
            )
        )

        def work(host: Host) -> TaskOutcome:
            outcome = executor.run(task, host)
            self.sink.handle(TaskHostDone(play.name, task.label, outcome))
            return outcome

        def on_error(host: Host, exc: BaseException) -> TaskOutcome:
            outcome = _error_outcome(host.name, exc)
            self.sink.handle(TaskHostDone(play.name, task.label, outcome))
            return outcome

        results, cut_off = engine.map(run_hosts, work, on_error)
        if cut_off or self._cancelled or getattr(engine, "cancelled", False):
            raise _Interrupted
        outcomes: dict[str, TaskOutcome] = {}
        for host in run_hosts:
            outcome = results[host.name]
            outcomes[host.name] = outcome
            self.stats.record(outcome)
            if outcome.status is Status.UNREACHABLE:
                engine.disconnect(host)
                batch.failed.add(host.name)
                self.dead.add(host.name)
            elif outcome.hard_failed and not outcome.rescued:
                batch.failed.add(host.name)
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
            self._apply(task, host.name, outcome, batch)
        self.sink.handle(
            TaskFinished(
                play.name,
                task.label,
                tuple(outcomes[n] for n in names),
                task.handler,
                task.module,
                self.diff,
            )
        )
        return outcomes

    def _apply(self, task: Task, host: str, outcome: TaskOutcome, batch: _Batch) -> None:
        """Register, set facts, remember rescue details and handler notifications."""
        if outcome.status is Status.UNREACHABLE:
            return
        result = dict(outcome.result)
        if task.register:
            self.facts.set(host, {task.register: result})
        facts = result.get("ansible_facts")
        if isinstance(facts, Mapping) and outcome.status is not Status.FAILED:
            self.facts.set(host, facts)
        if outcome.rescued:
            self.facts.set(
                host,
                {
                    "ansible_failed_result": result,
                    "ansible_failed_task": {"name": task.label, "action": task.module},
                },
            )
        if task.notify and outcome.changed and not outcome.hard_failed:
            batch.notified.setdefault(host, set()).update(task.notify)


def _error_outcome(host: str, exc: BaseException) -> TaskOutcome:
    if isinstance(exc, HostError) and exc.unreachable:
        msg = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return TaskOutcome(
            host, Status.UNREACHABLE, {"unreachable": True, "changed": False, "msg": msg}
        )
    msg = str(exc) if isinstance(exc, HostError) else f"internal error: {type(exc).__name__}: {exc}"
    return TaskOutcome(host, Status.FAILED, {"failed": True, "changed": False, "msg": msg})
