"""Ansible's linear strategy over one batch: every host runs task N before any host
starts task N+1.

Each host walks the play through its own small state machine (a generator that yields
the next task and is sent the outcome), so blocks, rescue and always are per host;
the strategy always runs the earliest pending task, for all hosts waiting on it, in
one ``engine.map`` (the hosts run concurrently; each uses its one connection). Then the
notified handlers run, in the order the play lists them.
"""

from __future__ import annotations

from dataclasses import replace

from runner.models import Host, Status
from runner.playbook import batches as rules
from runner.playbook.events import TaskOutcome
from runner.playbook.flow import Flow, flow
from runner.playbook.gathering import gather_task, plays_gather
from runner.playbook.meta import HOST_ACTIONS, run_host_meta
from runner.playbook.model import Node, Task
from runner.playbook.taskrun import Batch, BatchRun, Interrupted, error_outcome

__all__ = ["Batch", "Interrupted", "LinearBatch", "error_outcome"]


class LinearBatch(BatchRun):
    """One batch of one play, run task by task, then its handlers."""

    def gather_facts(self) -> set[str]:
        """The implicit Gathering Facts task (if the play gathers); the hosts it lost."""
        if not plays_gather(self.play, self.gathering):
            return set()
        hosts = self.batch.hosts
        if self.gathering == "smart":
            hosts = [h for h in hosts if not self.facts.gathered(h.name)]
        if not hosts:
            return set()
        task = gather_task(self.play, self.gather_subset)
        task = replace(task, connection=self.play.connection, remote_user=self.play.remote_user)
        outcomes = self.run_task(task, hosts)
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
                if self.force_handlers:
                    self.run_handlers(self.flush_hosts(survivors))
                return reason
            # the handlers notified in this section run at its end (Ansible's flush)
            self.run_handlers(self.flush_hosts(survivors))
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
        elif action == "end_role":  # the host's walk passes over the role's other tasks
            for name in reached:
                self.roles_ended(name).add(id(task.role))
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
            walk = flow(nodes, self._expand, self.roles_ended(host.name))
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
