"""One host's walk through a play's tasks: a generator that yields the next task and is
sent its outcome, so blocks, rescue, always and included files are per host (the linear
strategy, runner.playbook.strategy, drives one per host)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Generator, Sequence

from runner.playbook.events import TaskOutcome
from runner.playbook.model import Block, Node, Task

Flow = Generator[Task, TaskOutcome, bool]
Expand = Callable[[Task, TaskOutcome], list[Node]]


def flow(nodes: Sequence[Node], expand: Expand | None = None, ended: Collection[int] = ()) -> Flow:
    """One host's walk through tasks; returns False when the host failed.
    ``expand`` gives the tasks an ``include_tasks`` outcome brings in. ``ended`` holds
    the ids of the roles this host ended (``meta: end_role``; the strategy adds to it as
    the walk goes): their remaining tasks are passed over, as if they were not there."""
    for node in nodes:
        if isinstance(node, Task):
            if node.role is not None and id(node.role) in ended:
                continue
            outcome = yield node
            if outcome.hard_failed:
                return False
            if node.include is not None and expand is not None:
                ok = yield from flow(expand(node, outcome), expand, ended)
                if not ok:
                    return False
        else:
            ok = yield from _block(node, expand, ended)
            if not ok:
                return False
    return True


def _block(block: Block, expand: Expand | None, ended: Collection[int]) -> Flow:
    ok = yield from flow(block.block, expand, ended)
    if not ok and block.rescue:
        ok = yield from flow(block.rescue, expand, ended)
    if block.always:
        always_ok = yield from flow(block.always, expand, ended)
        ok = ok and always_ok
    return ok
