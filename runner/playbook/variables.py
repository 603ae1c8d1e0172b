"""The variables a task sees: PRECEDENCE below lists where they come from, lowest first
(Ansible's order, with the levels runner has), and ``VarScope.host_layer`` merges them
in exactly that order. README "Variable precedence" shows the same list.

plus the magic variables ``inventory_hostname``, ``inventory_hostname_short``,
``group_names``, ``groups``, ``hostvars``, ``ansible_play_hosts``,
``ansible_play_batch``, ``ansible_check_mode``, ``playbook_dir``, ``ansible_play_name``,
``ansible_play_role_names``/``role_names`` and, for a role's task, ``role_name``,
``role_path``, ``ansible_role_name``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from runner.models import Host
from runner.playbook.model import Role
from runner.templating import LazyVars
from runner.vault import Keyring

# Where a task's variables come from, lowest first; a later level wins. One place, in
# order: host_layer merges by walking it. (name, what it holds)
PRECEDENCE: tuple[tuple[str, str], ...] = (
    ("role defaults", "defaults/main.yml of the play's public roles (roles:, import_role, "
     "include_role with public), then of the task's own role and its dependencies"),
    ("inventory", "inventory variables of the host: group vars (all, then parent groups "
     "before children), then host vars, as the inventory merges them"),
    ("facts", "the host's facts: gathered (setup) and set_fact with cacheable: true, as "
     "ansible_* names and as ansible_facts"),
    ("play vars", "the play's vars, then its vars_files in the order listed"),
    ("role vars", "vars/main.yml (and the roles: entry's vars) of the play's public roles, "
     "then of the task's own role"),
    ("task vars", "block vars (outer blocks first), then the task's vars"),
    ("include_vars", "variables read by include_vars, kept for the whole run"),
    ("set_fact", "set_fact and register results, kept for the whole run"),
    ("role params", "a role's parameters (- role: x, param: value; include_role/import_role "
     "vars), along the dependency chain"),
    ("extra vars", "-e/--extra-vars"),
    ("loop", "the loop variable of the item being run (item, loop_control's loop_var and "
     "index_var, ansible_loop): set by the executor over all of the above, as in Ansible"),
)  # fmt: skip

_MAGIC = frozenset(
    {
        "inventory_hostname", "inventory_hostname_short", "group_names", "groups",
        "hostvars", "ansible_play_hosts", "ansible_play_hosts_all", "play_hosts",
        "ansible_play_batch", "ansible_check_mode", "playbook_dir", "ansible_play_name",
        "omit", "role_name", "role_path", "ansible_role_name", "ansible_play_role_names",
        "role_names",
    }
)  # fmt: skip


class Facts:
    """Per-host facts for a whole playbook run: ``set_fact`` facts and registered results
    (``of``/``set``), and the fact cache (``cached``/``cache``: gathered facts and
    cacheable set_fact facts), which lasts across the plays of the run."""

    def __init__(self) -> None:
        self._by_host: dict[str, dict[str, Any]] = {}
        self._cache: dict[str, dict[str, Any]] = {}
        self._included: dict[str, dict[str, Any]] = {}

    def included(self, host: str) -> dict[str, Any]:
        """What ``include_vars`` set on ``host``."""
        return self._included.get(host, {})

    def include(self, host: str, values: Mapping[str, Any]) -> None:
        self._included.setdefault(host, {}).update(values)

    def of(self, host: str) -> dict[str, Any]:
        return self._by_host.setdefault(host, {})

    def set(self, host: str, values: Mapping[str, Any]) -> None:
        self.of(host).update(values)

    def cached(self, host: str) -> dict[str, Any]:
        return self._cache.get(host, {})

    def cache(self, host: str, values: Mapping[str, Any]) -> None:
        self._cache.setdefault(host, {}).update(values)

    def gathered(self, host: str) -> bool:
        """Whether setup ran on ``host`` in this run (``gathering: smart``)."""
        return bool(self._cache.get(host, {}).get("module_setup"))


def ansible_facts(cached: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ansible_facts`` variable: the cached facts without their ``ansible_`` prefix.

    >>> ansible_facts({"ansible_os_family": "Debian", "role": "web"})
    {'os_family': 'Debian', 'role': 'web'}
    """
    return {
        (k[8:] if k.startswith("ansible_") and k != "ansible_local" else k): v
        for k, v in cached.items()
    }


def groups_of(hosts: Mapping[str, Host]) -> dict[str, list[str]]:
    """``groups`` magic variable: group name -> host names, plus ``all``."""
    groups: dict[str, list[str]] = {"all": list(hosts)}
    for name, host in hosts.items():
        for group in host.groups:
            members = groups.setdefault(group, [])
            if name not in members and group != "all":
                members.append(name)
    return groups


class HostVars(Mapping):
    """``hostvars``: every inventory host's variables, computed on access."""

    def __init__(self, scope: VarScope) -> None:
        self._scope = scope

    def __getitem__(self, name: str) -> dict[str, Any]:
        host = self._scope.hosts.get(name)
        if host is None:
            # delegate_facts can give facts to localhost outside the inventory
            cached, facts = self._scope.facts.cached(name), self._scope.facts.of(name)
            if not cached and not facts:
                raise KeyError(name)
            return {**cached, **facts, "ansible_facts": ansible_facts(cached)}
        return self._scope.host_layer(host)

    def __iter__(self) -> Iterator[str]:
        return iter(self._scope.hosts)

    def __len__(self) -> int:
        return len(self._scope.hosts)


class VarScope:
    """Builds task variables for the hosts of one play (one batch)."""

    def __init__(
        self,
        *,
        hosts: Mapping[str, Host],
        groups: Mapping[str, list[str]] | None = None,
        play_vars: Mapping[str, Any],
        extra_vars: Mapping[str, Any],
        facts: Facts,
        play_hosts: list[str],
        batch: list[str],
        check_mode: bool,
        playbook_dir: str,
        play_name: str = "",
        vault: Keyring | None = None,
        role_defaults: Mapping[str, Any] | None = None,
        role_vars: Mapping[str, Any] | None = None,
        role_names: tuple[str, ...] = (),
    ) -> None:
        self.hosts = hosts
        self.localhost: Host | None = None  # the implicit localhost (the 'all' group's vars)
        self.vault = vault  # decrypts !vault values when a task reads them
        self.play_vars = dict(play_vars)
        self.role_defaults = dict(role_defaults or {})  # the play's public roles'
        self.role_vars = dict(role_vars or {})
        self.extra_vars = dict(extra_vars)
        self.facts = facts
        self.groups = dict(groups) if groups is not None else groups_of(hosts)
        self.magic_common = {
            "groups": self.groups,
            "ansible_play_hosts": list(play_hosts),
            "ansible_play_hosts_all": list(play_hosts),
            "play_hosts": list(play_hosts),
            "ansible_play_batch": list(batch),
            "ansible_check_mode": check_mode,
            "playbook_dir": playbook_dir,
            "ansible_play_name": play_name,
            "omit": "__omit_place_holder__",
            "ansible_play_role_names": list(role_names),
            "role_names": list(role_names),
        }
        self.hostvars = HostVars(self)

    def export_role(self, defaults: Mapping[str, Any], role_vars: Mapping[str, Any]) -> None:
        """An ``include_role`` with ``public: true`` ran: its defaults and vars are seen
        by the play's later tasks, at the levels of the play's public roles."""
        self.role_defaults.update(defaults)
        self.role_vars.update(role_vars)

    def host_layer(
        self, host: Host, task_vars: Mapping[str, Any] | None = None, role: Role | None = None
    ) -> LazyVars:
        cached = self.facts.cached(host.name)
        facts = self.facts.of(host.name)
        layers: dict[str, Mapping[str, Any]] = {
            "role defaults": {**self.role_defaults, **(role.defaults if role else {})},
            "inventory": host.vars,
            "facts": {**cached, "ansible_facts": ansible_facts(cached)},
            "play vars": self.play_vars,
            "role vars": {**self.role_vars, **(role.vars if role else {})},
            "task vars": task_vars or {},
            "include_vars": self.facts.included(host.name),
            "set_fact": facts,
            "role params": role.params if role else {},
            "extra vars": self.extra_vars,
        }
        merged: dict[str, Any] = {}
        for level, _ in PRECEDENCE:
            merged.update(layers.get(level, {}))
        merged["inventory_hostname"] = host.name
        merged["inventory_hostname_short"] = host.name.split(".")[0]
        merged["group_names"] = sorted(g for g in host.groups if g != "all")
        # Facts and registered results are data: a "{{" in them is never rendered.
        written = [
            layers[n]
            for n in ("play vars", "role vars", "task vars", "include_vars", "role params")
        ]
        overridden = set(self.extra_vars).union(*written)
        unsafe = (set(facts) - overridden) | _MAGIC
        unsafe |= {"ansible_facts", *(set(cached) - overridden)}
        return LazyVars(merged, unsafe, self.vault)

    def for_host(
        self, host: Host, task_vars: Mapping[str, Any] | None = None, role: Role | None = None
    ) -> LazyVars:
        """Everything a task on ``host`` (of ``role``) can refer to. Variables whose
        values are templates are rendered when used, against these same variables."""
        merged = self.host_layer(host, task_vars, role)
        dict.update(merged, self.magic_common)
        if role is not None:
            magic = {"role_name": role.name, "role_path": role.path,
                     "ansible_role_name": role.fqcn or role.name}  # fmt: skip
            dict.update(merged, magic)
        dict.__setitem__(merged, "hostvars", self.hostvars)
        return merged
