"""Which tasks run: ``--tags``, ``--skip-tags`` and ``--start-at-task``, decided before
any host is contacted (so ``--list-tasks`` shows exactly what would run)."""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import replace

from runner.errors import InputError
from runner.playbook.model import Node, Playbook, Task


def tags_allow(tags: Collection[str], only: Collection[str], skip: Collection[str]) -> bool:
    """Ansible's tag rules for one task (ansible-core's Taggable.evaluate_tags).

    With no ``--tags`` every task is asked for (``all``); ``always`` runs unless skipped
    by name (or ``--skip-tags all``... always); ``never`` runs only when one of its tags
    (or ``never``) is asked for by name; ``tagged``/``untagged``/``all`` select by kind.
    A task without tags counts as tagged ``untagged``.

    >>> tags_allow({"deploy"}, {"deploy"}, ()), tags_allow({"x"}, {"deploy"}, ())
    (True, False)
    >>> tags_allow({"always"}, {"deploy"}, ()), tags_allow({"never", "debug"}, (), ())
    (True, False)
    >>> tags_allow({"never", "debug"}, {"debug"}, ()), tags_allow({"always", "x"}, (), {"x"})
    (True, False)
    """
    own = set(tags) or {"untagged"}
    only = set(only) or {"all"}
    skip = set(skip)
    if "always" in own or "all" in only and "never" not in own or own & only:
        run = True
    else:
        run = "tagged" in only and own != {"untagged"} and "never" not in own
    if run and skip:
        if "all" in skip:
            run = "always" in own and "always" not in skip
        elif own & skip or "tagged" in skip and own != {"untagged"}:
            run = False
    return run


def _filter(nodes: list[Node], keep, inner=None) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Task):
            if keep(node):
                if node.include is not None and inner is not None:
                    node = replace(node, include=replace(node.include, keep=inner))
                out.append(node)
        else:
            block = replace(
                node,
                block=_filter(node.block, keep, inner),
                rescue=_filter(node.rescue, keep, inner),
                always=_filter(node.always, keep, inner),
            )
            if block.block or block.rescue or block.always:
                out.append(block)
    return out


def select_tasks(
    playbook: Playbook,
    *,
    tags: Collection[str] = (),
    skip_tags: Collection[str] = (),
    start_at_task: str | None = None,
) -> Playbook:
    """A copy of the playbook holding only the tasks that will run."""
    started = start_at_task is None

    def keep(task: Task) -> bool:
        nonlocal started
        pattern = start_at_task or ""
        if (
            not started
            and task.name is not None
            # a role's task matches by its name or by ROLE : name, as in Ansible
            and any(
                n == pattern or fnmatch.fnmatchcase(n, pattern) for n in (task.name, task.label)
            )
        ):
            started = True
        return started and tags_allow(task.tags, tags, skip_tags)

    def included(task: Task) -> bool:
        return tags_allow(task.tags, tags, skip_tags)

    plays = []
    for play in playbook.plays:
        plays.append(
            replace(
                play,
                pre_tasks=_filter(play.pre_tasks, keep, included),
                tasks=_filter(play.tasks, keep, included),
                post_tasks=_filter(play.post_tasks, keep, included),
            )
        )
    if not started:
        raise InputError(
            f"--start-at-task: no task named {start_at_task!r}",
            hint="task names are matched exactly or as a shell pattern ('deploy*')",
        )
    return replace(playbook, plays=plays)
