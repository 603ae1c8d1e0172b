"""What ``runner inventory`` prints, shaped exactly like ``ansible-inventory``'s output.

``list_inventory`` is ``--list`` (JSON), ``yaml_inventory`` is ``--list --yaml`` (the
YAML inventory format, loadable again with ``-i``), ``graph_inventory`` is ``--graph``.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import yaml

from runner.errors import InventoryError
from runner.inventory.inventory import Inventory
from runner.tagged import UnsafeText, VaultValue
from runner.vault import Keyring

__all__ = [
    "list_inventory",
    "yaml_inventory",
    "graph_inventory",
    "host_variables",
    "dump_json",
    "dump_yaml",
    "INTERNAL_VARS",
]

# Magic variables that ansible-inventory never prints (C.INTERNAL_STATIC_VARS).
INTERNAL_VARS = frozenset(
    {
        "ansible_async_path",
        "ansible_collection_name",
        "ansible_config_file",
        "ansible_dependent_role_names",
        "ansible_diff_mode",
        "ansible_facts",
        "ansible_forks",
        "ansible_inventory_sources",
        "ansible_limit",
        "ansible_play_batch",
        "ansible_play_hosts",
        "ansible_play_hosts_all",
        "ansible_play_role_names",
        "ansible_playbook_python",
        "ansible_role_name",
        "ansible_role_names",
        "ansible_run_tags",
        "ansible_skip_tags",
        "ansible_verbosity",
        "ansible_version",
        "inventory_dir",
        "inventory_file",
        "inventory_hostname",
        "inventory_hostname_short",
        "groups",
        "group_names",
        "hostvars",
        "playbook_dir",
        "play_hosts",
        "role_name",
        "role_names",
        "role_path",
        "role_uuid",
    }
)


def host_variables(inv: Inventory, name: str, export: bool = False) -> dict[str, Any]:
    """Merged variables of one host (``--host``); with ``export`` only its own."""
    host = inv.get(name)
    if host is None:
        raise InventoryError(
            f"host {name!r} is not in the inventory",
            hint="run 'runner inventory --graph' to see the hosts",
        )
    if export and inv.resolver is not None and name in inv.hosts:
        found = inv.resolver.host_own_vars(name)
    else:
        found = dict(host.vars)
    return {k: v for k, v in found.items() if k not in INTERNAL_VARS}


def _group_vars(inv: Inventory, name: str) -> dict[str, Any]:
    if inv.resolver is None:
        return {}
    return {k: v for k, v in inv.resolver.group_own_vars(name).items() if k not in INTERNAL_VARS}


def _top(inv: Inventory, group: str):
    top = inv.groups.get(group)
    if top is None:
        raise InventoryError(
            f"{group!r} is not a group of the inventory",
            hint="--graph takes a group name; run 'runner inventory --graph' to see them",
        )
    return top


def list_inventory(inv: Inventory, export: bool = False) -> dict[str, Any]:
    """``ansible-inventory --list``: groups with direct hosts and children, merged hostvars."""
    groups = inv.groups
    results: dict[str, Any] = {}
    seen: set[str] = set()

    def visit(name: str) -> None:
        group = groups[name]
        entry: dict[str, Any] = {}
        if name != "all":
            entry["hosts"] = list(group._hosts)
        entry["children"] = list(group._children)
        if export:
            entry["vars"] = _group_vars(inv, name)
        results[name] = entry
        for child in group._children:
            if child not in seen:
                seen.add(child)
                visit(child)
        for key in ("hosts", "vars", "children"):
            if key in entry and not entry[key]:
                del entry[key]
        if not entry:
            del results[name]

    visit("all")
    hostvars = {}
    for name in inv.hosts:
        found = host_variables(inv, name, export)
        if found:
            hostvars[name] = found
    results["_meta"] = {"hostvars": hostvars, "profile": "inventory_legacy"}
    return results


def yaml_inventory(inv: Inventory, export: bool = False) -> dict[str, Any]:
    """``ansible-inventory --list --yaml``: nested groups, each host's vars shown once."""
    groups = inv.groups
    seen_hosts: set[str] = set()
    seen_groups: set[str] = set()

    def visit(name: str) -> dict[str, Any]:
        group = groups[name]
        entry: dict[str, Any] = {"children": {}, "hosts": {}}
        for child in group._children:
            if child in seen_groups:
                entry["children"][child] = {}
            else:
                entry["children"].update(visit(child))
                seen_groups.add(child)
        if name != "all":
            for host in group._hosts:
                host_vars = {}
                if host not in seen_hosts:
                    seen_hosts.add(host)
                    host_vars = host_variables(inv, host, export)
                entry["hosts"][host] = host_vars
        if export:
            entry["vars"] = _group_vars(inv, name)
        for key in ("hosts", "vars", "children"):
            if key in entry and not entry[key]:
                del entry[key]
        return {name: entry} if entry else {}

    return visit("all")


def graph_inventory(
    inv: Inventory, group: str = "all", show_vars: bool = False, vault: Keyring | None = None
) -> str:
    """``ansible-inventory --graph [GROUP]``: children first, then direct hosts. With
    ``show_vars``, ``!vault`` values are shown decrypted with ``vault``, as
    ansible-inventory shows them (VaultError naming one without its password)."""
    top = _top(inv, group)
    keyring = vault if vault is not None else Keyring()
    lines: list[str] = []

    def name_at(text: str, depth: int) -> str:
        return "  |" * depth + "--" + text if depth else text

    def show(found: dict[str, Any], depth: int) -> None:
        for key, value in sorted(found.items()):
            lines.append(name_at(f"{{{key} = {keyring.reveal(value, key)}}}", depth))

    def visit(name: str, depth: int) -> None:
        lines.append(name_at(f"@{name}:", depth))
        group = inv.groups[name]
        for child in group._children:
            visit(child, depth + 1)
        if name != "all":
            for host in group._hosts:
                lines.append(name_at(host, depth + 1))
                if show_vars:
                    show(host_variables(inv, host), depth + 2)
        if show_vars:
            show(_group_vars(inv, name), depth + 1)

    visit(top.name, 0)
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _text_keys(value: Any) -> Any:
    """Every mapping key as JSON writes it (``1`` -> ``"1"``, ``True`` -> ``"true"``), so
    that keys of mixed types can be sorted."""
    if isinstance(value, dict):
        return {_key_text(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_text_keys(v) for v in value]
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return str(_json_default(key))


def _ansible_tags(value: Any) -> Any:
    """``!vault`` and ``!unsafe`` values as ansible-inventory writes them in JSON:
    ``{"__ansible_vault": TEXT}`` (still encrypted) and ``{"__ansible_unsafe": TEXT}``."""
    kind = value.__class__
    if kind is VaultValue:
        return {"__ansible_vault": value.envelope}
    if kind is UnsafeText:
        return {"__ansible_unsafe": str(value)}
    if kind is dict or isinstance(value, dict):
        return {k: _ansible_tags(v) for k, v in value.items()}
    if kind is list or isinstance(value, (list, tuple)):
        return [_ansible_tags(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    """safe_dump, plus ``!vault |`` for values still encrypted (as ansible-inventory)."""


_Dumper.add_representer(
    VaultValue, lambda dumper, value: dumper.represent_scalar("!vault", value.envelope, style="|")
)
_Dumper.add_representer(UnsafeText, lambda dumper, value: dumper.represent_str(str(value)))


def dump_json(data: Any) -> str:
    """JSON as ansible-inventory prints it: sorted keys, 4-space indent.

    >>> print(dump_json({"b": {1: "x", "a": None}}))
    {
        "b": {
            "1": "x",
            "a": null
        }
    }
    """
    data = _ansible_tags(data)
    try:
        return json.dumps(data, sort_keys=True, indent=4, ensure_ascii=False, default=_json_default)
    except TypeError:  # keys that are not strings and do not sort with the others
        return json.dumps(
            _text_keys(data), sort_keys=True, indent=4, ensure_ascii=False, default=_json_default
        )


def dump_yaml(data: Any) -> str:
    """Block-style YAML, as ansible-inventory --yaml prints it."""
    try:
        return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, allow_unicode=True)
    except (TypeError, yaml.YAMLError):  # keys that do not sort together, tuple keys
        return yaml.dump(
            _text_keys(data), Dumper=_Dumper, default_flow_style=False, allow_unicode=True
        )
