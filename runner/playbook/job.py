"""The playbook job: the plays of one or more playbooks, run by PlaybookRunner
(runner.playbook.run, batch by batch by the linear strategy) over the run's engines,
one per play.

A playbook job is described by its files and options (``to_dict``); the side that runs
it loads them again. It runs in one process: its strategy moves the hosts of a batch
from task to task together, so it cannot be split over ``--procs`` workers
(runner.executors.procs says why).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.engine.job import Job, JobContext
from runner.inventory import load_inventory
from runner.models import Host
from runner.playbook.bridge import bridge_for
from runner.playbook.executor import BecomeDefaults
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook
from runner.playbook.run import PlaybookRunner
from runner.playbook.selection import select_tasks
from runner.transport.local import LocalTransport
from runner.vault import Keyring, run_keyring


@dataclass(frozen=True)
class PlaybookJob(Job):
    """``book`` (already loaded and selected by tags) against ``inventory``."""

    kind = "playbook"

    paths: tuple[str, ...]
    limit: str | None = None
    only: tuple[str, ...] | None = None  # --rerun's hosts, when given
    check_mode: bool = False
    diff: bool = False
    pty: bool = False  # a terminal for commands run with become
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    start_at_task: str | None = None
    prompted: tuple[dict[str, Any], ...] = ()  # vars_prompt answers, per play in order
    force_handlers: bool = False  # --force-handlers
    book: Playbook | None = field(default=None, compare=False, repr=False)
    inventory: Any = field(default=None, compare=False, repr=False)
    bridge: Any = field(default=None, compare=False, repr=False)  # the one load_book used

    def run(self, ctx: JobContext, hosts: Sequence[Host]) -> Any:
        """Run the plays; the outcome is the strategy's RunSummary (the recap)."""
        import gevent  # the cooperative sleep of pause; only a playbook run needs gevent

        config = ctx.config
        book, inventory = self.book, self.inventory
        vault = run_keyring(ctx.secrets.vault_passwords)
        bridge = self.bridge or bridge_for(config.project)
        if book is None or inventory is None:
            book, inventory = self.load(
                config.extra_vars, config.inventories, vault, bridge, config.project
            )
        output = config.output
        runner = PlaybookRunner(
            inventory=inventory,
            engine_factory=ctx.new_engine,
            sink=ctx.sink,
            local_factory=LocalTransport,
            extra_vars=config.extra_vars,
            limit=self.limit,
            only=None if self.only is None else frozenset(self.only),
            check=self.check_mode,
            diff=self.diff,
            max_output=output.max_output,
            default_timeout=config.command_timeout,
            sleep=gevent.sleep,
            stream=output.mode == "stream",
            out_dir=output.out_dir,
            become=BecomeDefaults(
                enabled=config.become.enabled,
                user=config.become.user,
                password=ctx.secrets.become_password,
            ),
            pty=self.pty,
            gathering=config.gathering,
            gather_subset=config.gather_subset,
            vault=vault,
            reload_inventory=lambda: load_inventory(
                list(config.inventories), config.extra_vars, vault, self.playbook_dirs()
            ),
            bridge=bridge,
            force_handlers=self.force_handlers,
        )
        return runner.run(book)

    def load_book(
        self,
        extra_vars: Mapping[str, Any],
        vault: Keyring | None = None,
        bridge: Any = None,
        project: Any = None,
    ) -> Playbook:
        """The plays of the playbooks, with the tasks that tags and start-at-task select
        (PlaybookError naming file and line before anything runs); files encrypted with
        Ansible Vault are decrypted with ``vault``; ``bridge`` finds Ansible's modules;
        roles are looked up in ``project``'s roles_path and collections_path
        (runner.config.ProjectConfig)."""
        paths = {
            "roles_path": tuple(getattr(project, "roles_path", ())),
            "collections_path": tuple(getattr(project, "collections_path", ())),
        }
        loaded = [load_playbook(path, extra_vars, vault, bridge, **paths) for path in self.paths]
        book = Playbook(
            ", ".join(self.paths),
            [play for pb in loaded for play in pb.plays],
            [w for pb in loaded for w in pb.warnings],
        )
        for play, answers in zip(book.plays, self.prompted, strict=False):
            play.vars.update(answers)
        return select_tasks(
            book,
            tags=list(self.tags),
            skip_tags=list(self.skip_tags),
            start_at_task=self.start_at_task,
        )

    def load(
        self,
        extra_vars: Mapping[str, Any],
        inventories: Sequence[str],
        vault: Keyring | None = None,
        bridge: Any = None,
        project: Any = None,
    ) -> tuple[Playbook, Any]:
        """The playbooks and the inventory."""
        book = self.load_book(extra_vars, vault, bridge, project)
        return book, load_inventory(list(inventories), extra_vars, vault, self.playbook_dirs())

    def playbook_dirs(self) -> tuple[str, ...]:
        """The playbooks' folders, whose group_vars/ and host_vars/ the inventory reads
        after its own (runner.inventory.load_inventory)."""
        return tuple(os.path.dirname(os.path.abspath(p)) for p in self.paths)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "paths": list(self.paths),
            "limit": self.limit,
            "only": None if self.only is None else list(self.only),
            "check_mode": self.check_mode,
            "diff": self.diff,
            "pty": self.pty,
            "tags": list(self.tags),
            "skip_tags": list(self.skip_tags),
            "start_at_task": self.start_at_task,
            "prompted": [dict(a) for a in self.prompted],
            "force_handlers": self.force_handlers,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlaybookJob:
        return cls(
            paths=tuple(data["paths"]),
            limit=data["limit"],
            only=None if data.get("only") is None else tuple(data["only"]),
            check_mode=bool(data["check_mode"]),
            diff=bool(data["diff"]),
            pty=bool(data["pty"]),
            tags=tuple(data["tags"]),
            skip_tags=tuple(data["skip_tags"]),
            start_at_task=data["start_at_task"],
            prompted=tuple(dict(a) for a in data.get("prompted", ())),
            force_handlers=bool(data.get("force_handlers", False)),
        )
