"""Which hosts a play runs on: its pattern, narrowed by ``--limit``, in inventory order."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from runner.errors import HostPatternError
from runner.models import Host
from runner.playbook.model import Play


def play_hosts(
    inventory: Any, play: Play, limit: str | None, only: Collection[str] | None = None
) -> tuple[list[Host], str | None]:
    """(the play's hosts, why the play is skipped or None). A pattern that matches no host
    skips the play, as in Ansible, instead of failing the run. ``only``: the host names
    ``--rerun`` keeps (None: no such narrowing)."""
    try:
        hosts = inventory.select(play.hosts)
    except HostPatternError as exc:
        return [], f"play {play.name!r}: {exc.message}; skipping the play"
    if limit:
        allowed = {h.name for h in inventory.select(limit)}
        hosts = [h for h in hosts if h.name in allowed]
    if only is not None:
        hosts = [h for h in hosts if h.name in only]
    return hosts, None


def order_hosts(hosts: list[Host], order: str, shuffle: Any = None) -> list[Host]:
    """The play's hosts in its ``order``: ``inventory`` (as they are), ``reverse_inventory``,
    ``sorted`` / ``reverse_sorted`` (by name) or ``shuffle`` (``shuffle(list)`` in place,
    random.shuffle by default).

    >>> names = lambda hs: [h.name for h in hs]
    >>> hs = [Host("b"), Host("c"), Host("a")]
    >>> names(order_hosts(hs, "reverse_inventory")), names(order_hosts(hs, "sorted"))
    (['a', 'c', 'b'], ['a', 'b', 'c'])
    >>> names(order_hosts(hs, "reverse_sorted"))
    ['c', 'b', 'a']
    """
    if order == "reverse_inventory":
        return list(reversed(hosts))
    if order in ("sorted", "reverse_sorted"):
        return sorted(hosts, key=lambda h: h.name, reverse=order == "reverse_sorted")
    if order == "shuffle":
        import random

        out = list(hosts)
        (shuffle or random.shuffle)(out)
        return out
    return list(hosts)
