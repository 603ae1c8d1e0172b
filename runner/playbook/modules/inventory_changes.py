"""``add_host`` and ``group_by``: they touch no host; their result says how the run's
in-memory inventory changes, and the strategy applies it (runner.playbook.taskrun,
runner.inventory.dynamic), so later tasks and plays see the new hosts and groups.

The result keys are Ansible's own (``add_host``, ``add_group``, ``parent_groups``), so
a registered result reads the same.
"""

from __future__ import annotations

import re
from typing import Any

from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult

# Arguments of add_host that are not host variables (as in Ansible, 'group' and 'host'
# are read as names and also kept as variables).
_NOT_VARS = frozenset({"name", "hostname", "groupname", "groups", "_raw_params"})
_HOST_PORT = re.compile(r"^(\[[^\]]+\]|[^:\[\]]+):(\d+)$")


def _names(value: Any, what: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise ModuleFailure(f"{what} must be a list or a comma-separated string, got {value!r}")
    found: list[str] = []
    for one in value:
        name = str(one).strip()
        if name and name not in found:
            found.append(name)
    return found


def add_host(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """The host to add: ``name`` (or ``hostname``/``host``, ``NAME:PORT`` sets
    ``ansible_ssh_port``), its groups, and every other argument as a host variable."""
    given = args.get("name", args.get("hostname", args.get("host")))
    if given in (None, ""):
        raise ModuleFailure("add_host: name, host or hostname needs to be provided")
    name = str(given)
    host_vars = {k: v for k, v in args.items() if k not in _NOT_VARS}
    match = _HOST_PORT.match(name)
    if match:
        name = match.group(1).strip("[]")
        host_vars["ansible_ssh_port"] = int(match.group(2))
    groups = _names(args.get("groupname", args.get("groups", args.get("group"))), "groups")
    return {
        "changed": False,
        "add_host": {"host_name": name, "groups": groups, "host_vars": host_vars},
    }


def group_by(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """The group this host joins (``key``) and the groups above it (``parents``,
    ``all`` by default); spaces in names become dashes, as in Ansible."""
    key = args.get("key")
    if key in (None, ""):
        raise ModuleFailure("the 'key' param is required when using group_by")
    parents = _names(args.get("parents", ["all"]), "parents") or ["all"]
    return {
        "changed": False,
        "add_group": str(key).replace(" ", "-"),
        "parent_groups": [p.replace(" ", "-") for p in parents],
    }
