"""The inventory as the loaders build it: groups, hosts, memberships and raw variables.

Every source (YAML, INI, script, inline list) writes into one :class:`InventoryData`
through the same few methods, so multiple ``-i`` sources merge the way Ansible merges
them: a group or host named twice is the same object, later variables replace earlier
ones key by key (Ansible's default ``hash_behaviour = replace``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.errors import InventoryError

__all__ = ["Group", "HostEntry", "InventoryData", "Origin"]

DEFAULT_GROUP_PRIORITY = 1  # Ansible's default ansible_group_priority


@dataclass(frozen=True)
class Origin:
    """Where something was declared, for error messages.

    ``locate`` lets a loader find the line lazily, only when an error needs it (the YAML
    loader parses without line numbers for speed).
    """

    path: str | None = None
    line: int | None = None
    locate: Callable[[], int | None] | None = None

    def line_number(self) -> int | None:
        if self.line is None and self.locate is not None:
            return self.locate()
        return self.line


class Group:
    """One inventory group: direct hosts, child and parent groups, and its own vars.

    ``hosts`` are the hosts listed directly in this group (not its children's), in the
    order they were added; ``vars`` are the group's variables from the inventory source
    (``group_vars/`` files are applied per host, see :mod:`runner.inventory.variables`).
    """

    __slots__ = ("name", "vars", "priority", "depth", "_hosts", "_children", "_parents")

    def __init__(self, name: str) -> None:
        self.name = name
        self.vars: dict[str, Any] = {}
        self.priority = DEFAULT_GROUP_PRIORITY
        self.depth = 0
        self._hosts: dict[str, None] = {}
        self._children: dict[str, None] = {}
        self._parents: dict[str, None] = {}

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self._hosts)

    @property
    def children(self) -> tuple[str, ...]:
        return tuple(self._children)

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(self._parents)

    def __repr__(self) -> str:
        return f"Group({self.name!r}, hosts={len(self._hosts)}, children={list(self._children)})"


class HostEntry:
    """A host while loading: its inventory variables and the groups it is listed in."""

    __slots__ = ("name", "vars", "groups")

    def __init__(self, name: str) -> None:
        self.name = name
        self.vars: dict[str, Any] = {}
        self.groups: dict[str, None] = {}


class InventoryData:
    """Mutable inventory that sources populate; :meth:`reconcile` makes it consistent."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.hosts: dict[str, HostEntry] = {}
        self.links: dict[tuple[str, str], Origin] = {}
        self.add_group("all")
        self.add_group("ungrouped")
        self.add_child("all", "ungrouped")

    def add_group(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = Group(name)
        return group

    def add_host(self, name: str, group: str | None = None, port: int | None = None) -> HostEntry:
        entry = self.hosts.get(name)
        if entry is None:
            entry = self.hosts[name] = HostEntry(name)
        if group is not None:
            self.add_group(group)._hosts[name] = None
            entry.groups[group] = None
        if port is not None:
            entry.vars["ansible_port"] = port
        return entry

    def add_child(self, parent: str, child: str, origin: Origin | None = None) -> None:
        parent_group, child_group = self.add_group(parent), self.add_group(child)
        if child == "all":
            raise InventoryError(
                f"group 'all' cannot be a child of group {parent!r}",
                path=origin.path if origin else None,
                line=_line_of(origin),
                hint="every group is already inside 'all'; remove it from the children list",
            )
        parent_group._children[child] = None
        child_group._parents[parent] = None
        if origin is not None:
            self.links.setdefault((parent, child), origin)

    def set_group_var(self, group: str, key: str, value: Any) -> None:
        target = self.add_group(group)
        if key == "ansible_group_priority":
            # As in Ansible: sets the merge priority; it is not kept as a variable.
            try:
                target.priority = int(value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise InventoryError(
                    f"ansible_group_priority of group {group!r} must be an integer, got {value!r}"
                ) from exc
            return
        target.vars[key] = value

    def reconcile(self) -> None:
        """Attach orphan groups to ``all``, fill ``ungrouped``, check cycles, set depths."""
        for name, group in self.groups.items():
            if name != "all" and not group._parents:
                self.add_child("all", name)
        self._check_cycles()
        ungrouped = self.groups["ungrouped"]._hosts
        for name, entry in self.hosts.items():
            real = [g for g in entry.groups if g != "all" and g != "ungrouped"]
            if real:
                if "ungrouped" in entry.groups:
                    del entry.groups["ungrouped"]
                    ungrouped.pop(name, None)
            elif "ungrouped" not in entry.groups:
                entry.groups["ungrouped"] = None
                ungrouped[name] = None
        self._set_depths()

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        for root in self.groups:
            if state.get(root):
                continue
            stack: list[tuple[str, Any]] = [(root, iter(self.groups[root]._children))]
            state[root] = 1
            path = [root]
            while stack:
                name, kids = stack[-1]
                for kid in kids:
                    seen = state.get(kid)
                    if seen == 1:
                        self._raise_cycle(path[path.index(kid) :] + [kid])
                    if not seen:
                        state[kid] = 1
                        path.append(kid)
                        stack.append((kid, iter(self.groups[kid]._children)))
                        break
                else:
                    state[name] = 2
                    path.pop()
                    stack.pop()

    def _raise_cycle(self, cycle: list[str]) -> None:
        origin = self.links.get((cycle[-2], cycle[-1])) or Origin()
        raise InventoryError(
            f"group {cycle[-1]!r} is its own ancestor: {' -> '.join(cycle)}",
            path=origin.path,
            line=_line_of(origin),
            hint=f"remove {cycle[-1]!r} from the children of {cycle[-2]!r}",
        )

    def _set_depths(self) -> None:
        """Depth = longest path from ``all`` (Ansible sorts group vars by it)."""
        depth: dict[str, int] = {"all": 0}

        def resolve(name: str) -> int:
            stack = [name]
            while stack:
                top = stack[-1]
                if top in depth:
                    stack.pop()
                    continue
                pending = [p for p in self.groups[top]._parents if p not in depth]
                if pending:
                    stack.extend(pending)
                    continue
                parents = self.groups[top]._parents
                depth[top] = 1 + max((depth[p] for p in parents), default=-1)
                stack.pop()
            return depth[name]

        for name, group in self.groups.items():
            group.depth = resolve(name)


def _line_of(origin: Origin | None) -> int | None:
    return origin.line_number() if origin is not None else None
