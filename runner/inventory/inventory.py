"""The loaded inventory: hosts with merged variables, groups, and pattern selection."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Mapping, Sequence

from runner.errors import HostPatternError, InputError
from runner.inventory.model import Group
from runner.inventory.patterns import (
    LOCALHOST_NAMES,
    apply_subscript,
    close_names,
    is_literal,
    order_patterns,
    shown,
    split_patterns,
    split_subscript,
)
from runner.inventory.variables import VariableResolver
from runner.models import Host
from runner.textfiles import read_text

__all__ = ["Inventory"]


class Inventory:
    """Hosts (in inventory order) and groups; ``select`` resolves host patterns.

    ``hosts`` maps name -> :class:`runner.models.Host` with fully merged ``vars``
    and ``groups`` = Ansible's ``group_names`` (sorted, without ``all``).
    ``groups`` maps name -> :class:`Group` (``all`` and ``ungrouped`` included).
    """

    def __init__(
        self,
        hosts: Mapping[str, Host],
        groups: Mapping[str, Group],
        implicit_localhost: Host,
        sources: Sequence[str] = (),
        resolver: VariableResolver | None = None,
    ) -> None:
        self.hosts: dict[str, Host] = dict(hosts)
        self.groups: dict[str, Group] = dict(groups)
        self.sources = tuple(sources)
        self.resolver = resolver  # raw (unmerged) variables, for --export
        self._implicit_localhost = implicit_localhost
        self._names = list(self.hosts)
        self._index = {name: i for i, name in enumerate(self._names)}
        self._members: dict[str, frozenset[int]] = {}
        self._implicit_name = implicit_localhost.name

    def __repr__(self) -> str:
        return f"Inventory(hosts={len(self.hosts)}, groups={len(self.groups)})"

    def __len__(self) -> int:
        return len(self.hosts)

    def get(self, name: str) -> Host | None:
        """The host called ``name``; the implicit localhost for an unlisted localhost."""
        host = self.hosts.get(name)
        if host is None and name in LOCALHOST_NAMES:
            return self._implicit(name)
        return host

    def group_hosts(self, name: str) -> list[Host]:
        """Every host in group ``name`` or its descendants, in inventory order."""
        return [self.hosts[self._names[i]] for i in sorted(self._group_members(name))]

    def select(self, pattern: str, *, strict: bool = False) -> list[Host]:
        """Hosts matching an Ansible host pattern, in inventory order, without duplicates.

        Raises :class:`HostPatternError` when nothing matches (with the closest group
        and host names as a hint), or, with ``strict``, when any plain or ``&`` part
        matches nothing (Ansible only warns about those).
        """
        parts = self._expand_files(split_patterns(pattern), pattern)
        if not parts:
            raise HostPatternError(
                "empty host pattern", pattern=pattern, hint="use 'all' to select every host"
            )
        selected: set[int] = set()
        unmatched: list[str] = []
        for part in order_patterns(parts):
            if part[0] not in "!&" and part in self._index:
                matched: set[int] | frozenset[int] = {self._index[part]}
            else:
                matched = self._match_part(part[1:] if part[0] in "!&" else part, pattern)
            if part[0] == "!":
                selected -= matched
            elif part[0] == "&":
                selected &= matched
            else:
                selected |= matched
            if not matched and part[0] != "!":
                unmatched.append(part)
        if not selected or (strict and unmatched):
            raise self._no_match(pattern, unmatched)
        implicit = len(self._names)
        return [
            self._implicit(self._implicit_name) if i == implicit else self.hosts[self._names[i]]
            for i in sorted(selected)
        ]

    def changed(self, hosts: Mapping[str, Host], groups: Mapping[str, Group]) -> None:
        """The playbook changed the inventory (runner.inventory.dynamic): ``hosts`` are new
        or rebuilt (a new one goes last), ``groups`` is the whole new group map."""
        for name, host in hosts.items():
            if name not in self._index:
                self._index[name] = len(self._names)
                self._names.append(name)
            self.hosts[name] = host
        self.groups = dict(groups)
        self._members.clear()

    # -- internals ---------------------------------------------------------------

    def _implicit(self, name: str) -> Host:
        base = self._implicit_localhost
        return base if base.name == name else Host(name, base.vars, base.groups)

    def _expand_files(self, parts: list[str], pattern: str) -> list[str]:
        if not any(p.startswith("@") for p in parts):
            return parts
        result = []
        for part in parts:
            if not part.startswith("@"):
                result.append(part)
                continue
            try:
                lines = read_text(part[1:]).splitlines()
            except InputError as exc:
                raise HostPatternError(
                    f"cannot read host pattern file {exc}",
                    pattern=pattern,
                    hint="@FILE reads one host pattern per line",
                ) from exc
            for line in lines:
                line = line.strip()
                if line and not line.startswith("#"):
                    result.extend(split_patterns(line))
        return result

    def _match_part(self, part: str, pattern: str) -> frozenset[int]:
        expr, subscript = split_subscript(part)
        if subscript is None:
            return frozenset(self._enumerate(expr, pattern, ordered=False))
        matched = self._enumerate(expr, pattern, ordered=True)
        assert isinstance(matched, list)  # ordered=True always gives a list
        if not matched:
            return frozenset()
        try:
            return frozenset(apply_subscript(matched, subscript))
        except IndexError:
            raise HostPatternError(
                f"subscript in {shown(part)} is out of range: {shown(expr)} matches {len(matched)} hosts",
                pattern=pattern,
                hint=f"indexes go from 0 to {len(matched) - 1} (or -1 for the last host)",
            ) from None

    def _enumerate(self, expr: str, pattern: str, ordered: bool) -> Collection[int]:
        """Ansible's rule: matching groups give all their hosts; hosts are matched by
        name when no group matched, or when the part is a wildcard, regex or has a dot.

        With ``ordered``, a list in Ansible's order (each group's hosts in its own
        order, then matching hosts), which is what subscripts count in.
        """
        if is_literal(expr):
            groups = [expr] if expr in self.groups else []
            hosts = [self._index[expr]] if expr in self._index else []
        else:
            try:
                regex = re.compile(expr[1:] if expr.startswith("~") else fnmatch.translate(expr))
            except (re.error, RecursionError, OverflowError, ValueError) as exc:
                raise HostPatternError(
                    f"invalid regular expression in host pattern {shown(expr)}: {exc}",
                    pattern=pattern,
                    hint="~REGEX uses Python's re syntax, matched from the start of the name",
                ) from exc
            match = regex.match
            groups = [name for name in self.groups if match(name)]
            hosts = [i for i, name in enumerate(self._names) if match(name)]
        if groups and is_literal(expr) and "." not in expr:
            hosts = []
        found: list[int] | set[int]
        if ordered:
            found = [i for name in groups for i in self._ordered_group_hosts(name)] + hosts
        else:
            found = set(hosts)
            for name in groups:
                found |= self._group_members(name)
        if not found and expr in LOCALHOST_NAMES:
            self._implicit_name = expr
            return [len(self._names)]  # the implicit localhost sorts last
        return found

    def _ordered_group_hosts(self, name: str) -> list[int]:
        """A group's hosts in Ansible's order: its own, then its children's, level by
        level (Ansible leaves the order below the first level to set iteration; this
        takes children in declaration order)."""
        index, groups = self._index, self.groups
        level, seen_groups = [name], {name}
        result: dict[int, None] = {}
        while level:
            below: list[str] = []
            for group_name in level:
                group = groups[group_name]
                result.update((index[h], None) for h in group._hosts)
                for child in group._children:
                    if child not in seen_groups:
                        seen_groups.add(child)
                        below.append(child)
            level = below
        return list(result)

    def _group_members(self, name: str) -> frozenset[int]:
        members = self._members.get(name)
        if members is None:
            if name == "all":
                members = frozenset(range(len(self._names)))
            else:
                index, groups = self._index, self.groups
                found: set[int] = set()
                seen = {name}
                todo = [name]
                while todo:
                    group = groups[todo.pop()]
                    found.update(index[h] for h in group._hosts)
                    for child in group._children:
                        if child not in seen:
                            seen.add(child)
                            todo.append(child)
                members = frozenset(found)
            self._members[name] = members
        return members

    def _no_match(self, pattern: str, unmatched: list[str]) -> HostPatternError:
        if not self.hosts:
            return HostPatternError(
                f"host pattern {shown(pattern)} matches no hosts: the inventory is empty",
                pattern=pattern,
                hint="give an inventory with -i (a file, a directory or 'host1,host2,'); "
                "without one only 'localhost' exists",
            )
        names = [*self.groups, *self._names]
        suggestions: list[str] = []
        for part in unmatched or [pattern]:
            expr = split_subscript(part[1:] if part[0] in "!&" else part)[0].lstrip("~")
            for close in close_names(expr, names):
                if close not in suggestions:
                    suggestions.append(close)
        what = (
            f" ({', '.join(shown(p) for p in unmatched[:5])} matched nothing)" if unmatched else ""
        )
        hint = (
            f"did you mean: {', '.join(suggestions[:5])}?"
            if suggestions
            else "run 'runner inventory --graph' to see the groups and hosts"
        )
        return HostPatternError(
            f"host pattern {shown(pattern)} matches no hosts{what}", pattern=pattern, hint=hint
        )
