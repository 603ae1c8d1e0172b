"""Variable precedence for inventory data: written down once, here, in order.

Lowest first; each layer replaces whole values of the layers before it (Ansible's
default ``hash_behaviour = replace``: dicts are not merged key by key).

1. vars of group ``all`` from the inventory sources
2. vars of the host's other groups from the inventory sources, parent before child
   (by depth below ``all``), then by ``ansible_group_priority`` (default 1), then by name
3. ``group_vars/all`` beside each inventory source (sources in ``-i`` order), then
   beside the playbooks (``runner play``)
4. ``group_vars/GROUP`` for each of the host's groups, ordered as in 2
   (for each source in ``-i`` order, then beside the playbooks)
5. host vars from the inventory sources (inline INI vars, YAML ``hosts:`` entries,
   script ``_meta.hostvars``); when a host is defined twice, the later definition wins
6. ``host_vars/HOST`` beside each inventory source (sources in ``-i`` order), then
   beside the playbooks
7. extra vars (``-e``)

This is Ansible's order for these sources (``VARIABLE_PRECEDENCE`` default), so an
inventory means the same to runner and to Ansible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.inventory.model import DEFAULT_GROUP_PRIORITY, Group, InventoryData
from runner.inventory.vars_files import VarsDirectory

__all__ = ["PRECEDENCE", "VariableResolver", "group_sort_key"]

PRECEDENCE = (
    "inventory vars of group 'all'",
    "inventory vars of the host's other groups (by depth, ansible_group_priority, name)",
    "group_vars/all files (beside each inventory source, then beside the playbook)",
    "group_vars/GROUP files (groups in the same order; inventory's, then playbook's)",
    "inventory vars of the host",
    "host_vars/HOST files (beside each inventory source, then beside the playbook)",
    "extra vars",
)


def group_sort_key(group: Group) -> tuple[int, int, str]:
    """Ansible's group order for merging: depth, then priority, then name."""
    return (group.depth, group.priority, group.name)


class VariableResolver:
    """Computes each host's merged variables; group layers are shared between hosts.

    ``vars_dirs`` holds one ``(group_vars, host_vars)`` pair per file-based source,
    in ``-i`` order.
    """

    def __init__(
        self,
        data: InventoryData,
        vars_dirs: Iterable[tuple[VarsDirectory, VarsDirectory]],
        extra_vars: Mapping[str, Any] | None = None,
    ) -> None:
        self.data = data
        pairs = list(vars_dirs)
        self.group_dirs = [g for g, _ in pairs if g]
        self.host_dirs = [h for _, h in pairs if h]
        self.extra_vars = dict(extra_vars or {})
        self._ancestors: dict[str, frozenset[str]] = {}
        self._by_groups: dict[frozenset[str], tuple[tuple[str, ...], dict[str, Any]]] = {}

    def ancestors(self, name: str) -> frozenset[str]:
        """The group and every group above it (``all`` included)."""
        found = self._ancestors.get(name)
        if found is None:
            groups = self.data.groups
            result = {name}
            todo = list(groups[name]._parents)
            while todo:
                parent = todo.pop()
                if parent not in result:
                    result.add(parent)
                    known = self._ancestors.get(parent)
                    if known is not None:
                        result |= known
                    else:
                        todo.extend(groups[parent]._parents)
            found = self._ancestors[name] = frozenset(result)
        return found

    def host_groups(self, direct: Iterable[str]) -> tuple[tuple[str, ...], dict[str, Any]]:
        """For a host's direct groups: (group names sorted for merging, merged layers 1-4)."""
        key = frozenset(direct)
        cached = self._by_groups.get(key)
        if cached is not None:
            return cached
        groups = self.data.groups
        members: set[str] = {"all"}
        for name in key:
            members |= self.ancestors(name)
        members.discard("all")
        ordered = tuple(g.name for g in sorted((groups[n] for n in members), key=group_sort_key))
        merged: dict[str, Any] = dict(groups["all"].vars)
        for name in ordered:
            merged.update(groups[name].vars)
        for directory in self.group_dirs:
            found = directory.vars_for("all")
            if found:
                merged.update(found)
        for directory in self.group_dirs:
            for name in ordered:
                found = directory.vars_for(name)
                if found:
                    merged.update(found)
        cached = self._by_groups[key] = (ordered, merged)
        return cached

    def host_vars(self, name: str, own_vars: Mapping[str, Any], direct: Iterable[str]) -> dict:
        """All seven layers for one host."""
        _, merged = self.host_groups(direct)
        result = dict(merged)
        result.update(own_vars)
        for directory in self.host_dirs:
            found = directory.vars_for(name)
            if found:
                result.update(found)
        result.update(self.extra_vars)
        return result

    def group_own_vars(self, name: str) -> dict[str, Any]:
        """A group's variables as ``ansible-inventory --export`` shows them: inventory
        vars, then its ``group_vars/`` files, plus a non-default priority."""
        group = self.data.groups[name]
        result = dict(group.vars)
        for directory in self.group_dirs:
            found = directory.vars_for(name)
            if found:
                result.update(found)
        if group.priority != DEFAULT_GROUP_PRIORITY:
            result["ansible_group_priority"] = group.priority
        return result

    def host_own_vars(self, name: str) -> dict[str, Any]:
        """A host's inventory vars then its ``host_vars/`` files (``--export``)."""
        entry = self.data.hosts.get(name)
        result = dict(entry.vars) if entry is not None else {}
        for directory in self.host_dirs:
            found = directory.vars_for(name)
            if found:
                result.update(found)
        return result
