"""Changes a running playbook makes to its in-memory inventory: ``add_host`` and
``group_by`` (Ansible's InventoryManager.add_dynamic_host/add_dynamic_group).

Both write into the loaded sources' :class:`InventoryData` (so group vars, ``all``,
``ungrouped`` and group depths follow the same rules as at load time), then rebuild the
:class:`Host` values whose groups or variables changed. Each returns whether anything
changed, which is the task's ``changed`` (as in Ansible).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.errors import InventoryError
from runner.inventory.inventory import Inventory
from runner.inventory.model import InventoryData
from runner.models import Host

__all__ = ["add_host", "group_by"]


def _data(inventory: Inventory) -> InventoryData:
    resolver = inventory.resolver
    if resolver is None:
        raise InventoryError("this inventory cannot be changed while the playbook runs")
    return resolver.data


def add_host(
    inventory: Inventory, name: str, groups: Iterable[str], host_vars: Mapping[str, Any]
) -> bool:
    """Add (or update) host ``name``: its variables over the ones it had, and its groups
    (created when new, under ``all``)."""
    data = _data(inventory)
    changed = name not in data.hosts
    entry = data.add_host(name)
    merged = {**entry.vars, **host_vars}
    if merged != entry.vars:
        entry.vars = merged
        changed = True
    for group in groups:
        if name not in data.add_group(group)._hosts:
            data.add_host(name, group)
            changed = True
    if changed:
        _settle(inventory, data, {name})
    return changed


def group_by(inventory: Inventory, host: str, group: str, parents: Iterable[str]) -> bool:
    """Put ``host`` in ``group`` (created when new) and ``group`` under each of
    ``parents`` (created when new)."""
    data = _data(inventory)
    changed = False
    affected = {host}
    for parent in parents:
        if parent not in data.groups:
            changed = True
        if parent != "all" and group not in data.add_group(parent)._children:
            if group in data.groups and parent in _below(data, group):
                raise InventoryError(
                    f"group_by: group {parent!r} cannot be a parent of {group!r}, "
                    f"which is its own ancestor"
                )
            data.add_child(parent, group)
            affected.update(_members(data, group))
            changed = True
    if host not in data.hosts:  # the implicit localhost becomes an inventory host
        known = inventory.get(host)
        if known is None:
            raise InventoryError(f"group_by: host {host!r} is not in the inventory")
        data.add_host(host).vars.update(known.vars)
    if host not in data.add_group(group)._hosts:
        data.add_host(host, group)
        changed = True
    if changed:
        _settle(inventory, data, affected)
    return changed


def _below(data: InventoryData, group: str) -> set[str]:
    """The group and every group under it."""
    todo, seen = [group], {group}
    while todo:
        for child in data.groups[todo.pop()]._children:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def _members(data: InventoryData, group: str) -> set[str]:
    return {h for one in _below(data, group) for h in data.groups[one]._hosts}


def _settle(inventory: Inventory, data: InventoryData, names: set[str]) -> None:
    """The same rules as after loading, then the changed hosts rebuilt."""
    data.reconcile()
    resolver = inventory.resolver
    assert resolver is not None
    resolver._ancestors.clear()
    resolver._by_groups.clear()
    hosts: dict[str, Host] = {}
    for name in names:
        entry = data.hosts[name]
        ordered, _ = resolver.host_groups(entry.groups)
        host_vars = resolver.host_vars(name, entry.vars, entry.groups)
        hosts[name] = Host(name, host_vars, tuple(sorted(ordered)))
    inventory.changed(hosts, data.groups)
