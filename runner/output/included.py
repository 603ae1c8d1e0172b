"""The lines an ``include_tasks`` task shows, as ansible-playbook prints them:
``included: FILE for HOSTS`` once per file (and loop item), instead of ``ok: HOSTS``.

>>> from runner.models import Status
>>> from runner.playbook.events import TaskOutcome
>>> a = TaskOutcome("a", Status.OK, {"include": "/p/x.yml"})
>>> b = TaskOutcome("b", Status.OK, {"include": "/p/x.yml"})
>>> included_lines([a, b])
[('/p/x.yml', ['a', 'b'], '')]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runner.models import Status


def included_lines(outcomes: Sequence[Any]) -> list[tuple[str, list[str], str]]:
    """(file, hosts, item label) per file an include brought in, in first-seen order;
    outcomes that are not ``ok`` (failed, skipped) are left to the usual lines."""
    groups: dict[tuple[str, str], list[str]] = {}
    for outcome in outcomes:
        if outcome.status is not Status.OK:
            continue
        result = outcome.result
        items = result.get("results") if isinstance(result.get("results"), list) else [result]
        for one in items:
            if one.get("skipped") or not isinstance(one.get("include"), str):
                continue
            label = ""
            if "ansible_loop_var" in one:
                shown = one.get("_ansible_item_label", one.get(one["ansible_loop_var"]))
                label = f"(item={shown})"
            hosts = groups.setdefault((one["include"], label), [])
            if outcome.host not in hosts:
                hosts.append(outcome.host)
    return [(path, hosts, label) for (path, label), hosts in groups.items()]
