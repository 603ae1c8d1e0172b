"""The variables a task sees, and their precedence (lowest first):

1. inventory variables of the host (group vars, then host vars, as the inventory merges them)
1b. the host's facts: gathered (setup, "Gathering Facts") and ``set_fact`` with
   ``cacheable: true``, injected as they were returned (``ansible_distribution``...) and
   as ``ansible_facts`` (the same without the ``ansible_`` prefix), as in Ansible (its
   "host facts / cached set_facts", between inventory host vars and play vars)
2. play ``vars``, then play ``vars_files`` (in the order listed)
3. block ``vars``, then task ``vars`` (inner blocks win)
3b. variables from ``include_vars`` (kept for the whole run, as in Ansible)
4. facts from ``set_fact`` and results from ``register`` (kept for the whole run,
   across plays, as in Ansible)
5. the loop variable (``item``)
6. extra vars (``-e``): always win

plus the magic variables ``inventory_hostname``, ``inventory_hostname_short``,
``group_names``, ``groups``, ``hostvars``, ``ansible_play_hosts``,
``ansible_play_batch``, ``ansible_check_mode``, ``playbook_dir``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from runner.models import Host
from runner.templating import LazyVars
from runner.vault import Keyring

_MAGIC = frozenset(
    {
        "inventory_hostname", "inventory_hostname_short", "group_names", "groups",
        "hostvars", "ansible_play_hosts", "ansible_play_hosts_all", "play_hosts",
        "ansible_play_batch", "ansible_check_mode", "playbook_dir", "ansible_play_name",
        "omit",
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
    ) -> None:
        self.hosts = hosts
        self.vault = vault  # decrypts !vault values when a task reads them
        self.play_vars = dict(play_vars)
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
        }
        self.hostvars = HostVars(self)

    def host_layer(self, host: Host, task_vars: Mapping[str, Any] | None = None) -> LazyVars:
        merged: dict[str, Any] = {}
        merged.update(host.vars)
        cached = self.facts.cached(host.name)
        merged.update(cached)
        merged["ansible_facts"] = ansible_facts(cached)
        merged.update(self.play_vars)
        if task_vars:
            merged.update(task_vars)
        merged.update(self.facts.included(host.name))
        facts = self.facts.of(host.name)
        merged.update(facts)
        merged.update(self.extra_vars)
        merged["inventory_hostname"] = host.name
        merged["inventory_hostname_short"] = host.name.split(".")[0]
        merged["group_names"] = sorted(g for g in host.groups if g != "all")
        # Facts and registered results are data: a "{{" in them is never rendered.
        unsafe = (set(facts) - set(self.extra_vars)) | _MAGIC
        overridden = set(self.play_vars) | set(task_vars or {}) | set(self.extra_vars)
        unsafe |= {"ansible_facts", *(set(cached) - overridden)}
        return LazyVars(merged, unsafe, self.vault)

    def for_host(self, host: Host, task_vars: Mapping[str, Any] | None = None) -> LazyVars:
        """Everything a task on ``host`` can refer to. Variables whose values are
        templates are rendered when used, against these same variables."""
        merged = self.host_layer(host, task_vars)
        dict.update(merged, self.magic_common)
        dict.__setitem__(merged, "hostvars", self.hostvars)
        return merged
