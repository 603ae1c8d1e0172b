"""Runs a playbook: its plays, each play's hosts in rolling batches (``serial``), the
recap. Each batch runs by the linear strategy (runner.playbook.strategy).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from runner.errors import InventoryError
from runner.events import EventSink, HostOutput, Notice
from runner.inventory import dynamic
from runner.models import Host
from runner.playbook import batches as rules
from runner.playbook.events import (
    BatchStarted,
    PlaybookFinished,
    PlaybookStarted,
    PlayStarted,
    PlayStopped,
)
from runner.playbook.executor import BecomeDefaults, TaskExecutor
from runner.playbook.hosts import order_hosts, play_hosts
from runner.playbook.model import Play, Playbook
from runner.playbook.recap import Stats
from runner.playbook.strategy import Batch, Interrupted, LinearBatch
from runner.playbook.strategy_free import FreeBatch
from runner.playbook.variables import Facts, VarScope, groups_of
from runner.transport.base import Transport


@dataclass
class RunSummary:
    """How a playbook run ended; the CLI turns it into an exit code."""

    recap: Mapping[str, Any]
    stopped: str | None = None
    interrupted: bool = False
    # meta clear_host_errors: host -> (failed, unreachable) counts when its errors were
    # cleared; only failures after that make the exit code (as ansible-playbook's)
    cleared: Mapping[str, tuple[int, int]] = dataclasses.field(default_factory=dict)

    @property
    def any_failed(self) -> bool:
        return any(c.failed > self.cleared.get(h, (0, 0))[0] for h, c in self.recap.items())

    @property
    def any_unreachable(self) -> bool:
        return any(c.unreachable > self.cleared.get(h, (0, 0))[1] for h, c in self.recap.items())


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
        only: Collection[str] | None = None,
        check: bool = False,
        diff: bool = False,
        max_output: int = 1 << 20,
        default_timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stream: bool = False,
        out_dir: str | None = None,
        become: BecomeDefaults | None = None,
        pty: bool = False,
        gathering: str = "implicit",
        gather_subset: tuple[str, ...] | None = None,
        vault: Any = None,
        reload_inventory: Callable[[], Any] | None = None,
        bridge: Any = None,
        force_handlers: bool = False,
    ) -> None:
        self.inventory = inventory
        self.reload_inventory = reload_inventory  # meta refresh_inventory
        self.bridge = bridge  # runner.playbook.bridge.Bridge: Ansible's modules, for the run
        self.vault = vault  # the run's runner.vault.Keyring: !vault values read by tasks
        self.engine_factory = engine_factory
        self.sink = sink
        self.local_factory = local_factory
        self.extra_vars = dict(extra_vars or {})
        self.limit = limit
        self.only = only  # --rerun's hosts
        self.check = check
        self.diff = diff
        self.max_output = max_output
        self.default_timeout = default_timeout
        self.sleep = sleep
        self.stream = stream
        self.out_dir = out_dir
        self.become = become or BecomeDefaults()
        self.pty = pty
        self.gathering = gathering
        self.gather_subset = gather_subset or None
        self.force_handlers = force_handlers  # --force-handlers (or the play's keyword)
        self.stats = Stats()
        self.facts = Facts()
        self.dead: set[str] = set()  # failed or unreachable: out of later plays
        self.cleared: dict[str, tuple[int, int]] = {}  # by meta clear_host_errors
        self._engine: Any = None
        # add_host/group_by results applied so far, applied again after refresh_inventory
        self._dynamic: list[tuple[str, Mapping[str, Any]]] = []
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
        hosts, skipped = play_hosts(self.inventory, play, self.limit, self.only)
        if skipped:
            self.sink.handle(Notice(skipped))
        return hosts

    def _groups(self) -> dict[str, list[str]]:
        inv = self.inventory
        if hasattr(inv, "group_hosts") and hasattr(inv, "groups"):
            return {g: [h.name for h in inv.group_hosts(g)] for g in inv.groups}
        return groups_of(inv.hosts)

    def _refresh(self, scope: VarScope, batch: Batch) -> None:
        """meta refresh_inventory: the sources read again; the running batch keeps its
        hosts (with their new variables), later plays take the new inventory's."""
        if self.reload_inventory is None:
            return
        self.inventory = self.reload_inventory()
        for host, result in self._dynamic:  # as Ansible: add_host/group_by survive it
            try:
                self._apply_dynamic(host, result)
            except InventoryError:  # its host is gone from the sources: as Ansible, skipped
                pass
        scope.hosts = self.inventory.hosts
        scope.groups = scope.magic_common["groups"] = self._groups()
        batch.hosts[:] = [self.inventory.hosts.get(h.name, h) for h in batch.hosts]

    def _change_inventory(
        self, scope: VarScope, batch: Batch, host: str, result: Mapping[str, Any]
    ) -> bool:
        """add_host / group_by: one result applied to the run's inventory; later tasks
        (``groups``, ``group_names``, ``hostvars``) and later plays' patterns see it."""
        changed = self._apply_dynamic(host, result)
        self._dynamic.append((host, result))
        if changed:
            scope.hosts = self.inventory.hosts
            scope.groups = scope.magic_common["groups"] = self._groups()
            batch.hosts[:] = [self.inventory.hosts.get(h.name, h) for h in batch.hosts]
        return changed

    def _apply_dynamic(self, host: str, result: Mapping[str, Any]) -> bool:
        if "add_host" in result:
            info = result["add_host"]
            return dynamic.add_host(
                self.inventory, info["host_name"], info["groups"], info["host_vars"]
            )
        return dynamic.group_by(self.inventory, host, result["add_group"], result["parent_groups"])

    def _clear_errors(self, play: Play) -> set[str]:
        """meta clear_host_errors: every host of the play's pattern that failed or was
        unreachable (in this play or an earlier one) is no longer; the names."""
        names = {h.name for h in play_hosts(self.inventory, play, self.limit, self.only)[0]}
        cleared = names & self.dead
        self.dead -= cleared
        recap = self.stats.snapshot()
        for name in cleared:
            counts = recap.get(name)
            self.cleared[name] = (counts.failed, counts.unreachable) if counts else (0, 0)
        return cleared

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
        except (Interrupted, KeyboardInterrupt):
            self.cancel()
            interrupted = True
        interrupted = interrupted or self._cancelled
        recap = self.stats.snapshot()
        self.sink.handle(PlaybookFinished(recap, time.monotonic() - clock, stopped, interrupted))
        return RunSummary(recap, stopped, interrupted, dict(self.cleared))

    def _run_play(self, play: Play, playbook: Playbook) -> str | None:
        hosts = [h for h in self.play_hosts(play) if h.name not in self.dead]
        hosts = order_hosts(hosts, play.order)
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
                batch = Batch(batch_hosts, number, len(batches))
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
                    vault=self.vault,
                    role_defaults=play.role_defaults,
                    role_vars=play.role_vars,
                    role_names=play.role_names,
                )
                scope.localhost = self.inventory.get("localhost")
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
                    bridge=self.bridge,
                )
                strategy = FreeBatch if play.strategy == "free" else LinearBatch
                linear = strategy(
                    play,
                    batch,
                    engine,
                    executor,
                    sink=self.sink,
                    stats=self.stats,
                    facts=self.facts,
                    dead=self.dead,
                    diff=self.diff,
                    cancelled=lambda: self._cancelled,
                    gathering=self.gathering,
                    gather_subset=self.gather_subset,
                    refresh=functools.partial(self._refresh, scope, batch),
                    clear_errors=functools.partial(self._clear_errors, play),
                    change_inventory=functools.partial(self._change_inventory, scope, batch),
                    force_handlers=self.force_handlers,
                )
                reason = linear.run()
                if linear.play_ended and not reason:
                    break
                if reason:
                    not_run = [h.name for b in batches[number:] for h in b]
                    self.sink.handle(PlayStopped(play.name, reason, tuple(not_run)))
                    return reason
        finally:
            self._engine = None
            engine.close()
        return None
