"""Turn ``-i`` sources into an :class:`Inventory`.

A source is, checked in this order:

* a directory: every inventory file in it, in name order (recursively), skipping
  hidden entries, ``group_vars``/``host_vars``/``vars_plugins`` and Ansible's
  ``INVENTORY_IGNORE_EXTS`` default (``IGNORED_EXTENSIONS`` below);
* a file: ``.yml``/``.yaml``/``.json`` is a YAML inventory; an executable starting
  with ``#!`` (or an ELF binary) is a dynamic inventory script; anything else is INI;
* a string with a comma that is not a path: an inline host list, ``web1,web2:2222,``
  (``host:port`` sets ``ansible_port``; ranges like ``web[1:3]`` are expanded).

``group_vars/`` and ``host_vars/`` are read beside each file source and inside each
directory source (see :mod:`runner.inventory.variables` for the precedence).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from runner.errors import InventoryError
from runner.inventory.ini_source import load_ini_inventory
from runner.inventory.inventory import Inventory
from runner.inventory.model import InventoryData
from runner.inventory.ranges import RangeError, expand_host_range, split_host_port
from runner.inventory.script_source import load_script_inventory
from runner.inventory.variables import VariableResolver
from runner.inventory.vars_files import VarsDirectory
from runner.inventory.yaml_source import load_yaml_inventory
from runner.models import Host
from runner.tagged import VaultValue
from runner.vault import Keyring

__all__ = ["load_inventory", "IGNORED_EXTENSIONS", "YAML_EXTENSIONS"]

# Ansible's INVENTORY_IGNORE_EXTS default: REJECT_EXTS + ['.orig', '.cfg', '.retry'].
IGNORED_EXTENSIONS = (
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst",
    ".orig", ".cfg", ".retry",
)  # fmt: skip
IGNORED_NAMES = frozenset({"group_vars", "host_vars", "vars_plugins"})
YAML_EXTENSIONS = (".yml", ".yaml", ".json")
PORT_VARS = ("ansible_port", "ansible_ssh_port")


def load_inventory(
    sources: Sequence[str],
    extra_vars: Mapping[str, Any] | None = None,
    vault: Keyring | None = None,
    playbook_dirs: Sequence[str] = (),
) -> Inventory:
    """Load and merge inventory sources in order; raises :class:`InventoryError`.
    Files encrypted whole with Ansible Vault are decrypted with ``vault``; ``!vault``
    values stay encrypted (runner.tagged.VaultValue) until a host's task reads them.

    With no sources only the implicit ``localhost`` (``ansible_connection=local``)
    exists, as in Ansible. ``playbook_dirs``: the folders of the playbooks being run,
    whose ``group_vars/`` and ``host_vars/`` come after the inventory's, as Ansible's
    ``host_group_vars`` plugin reads them for a play (runner.inventory.variables).
    """
    if isinstance(sources, str):
        sources = [sources]
    data = InventoryData()
    vars_dirs: list[tuple[VarsDirectory, VarsDirectory]] = []
    for source in sources:
        _load_source(data, source, vars_dirs, vault)
    _add_playbook_dirs(vars_dirs, playbook_dirs, vault)
    data.reconcile()
    resolver = VariableResolver(data, vars_dirs, extra_vars)
    names_by_groups: dict[tuple[str, ...], tuple[str, ...]] = {}
    hosts: dict[str, Host] = {}
    for name, entry in data.hosts.items():
        ordered, _ = resolver.host_groups(entry.groups)
        group_names = names_by_groups.get(ordered)
        if group_names is None:
            group_names = names_by_groups[ordered] = tuple(sorted(ordered))
        host_vars = resolver.host_vars(name, entry.vars, entry.groups)
        if "ansible_port" in host_vars or "ansible_ssh_port" in host_vars:
            for var in PORT_VARS:
                port = host_vars.get(var)
                if port is None or port.__class__ is VaultValue:  # checked when decrypted
                    continue
                if not (port.__class__ is int and 0 <= port <= 65535):
                    _check_port(name, var, port, sources, extra_vars)
        hosts[name] = Host(name, host_vars, group_names)
    local_vars = resolver.host_vars("localhost", {"ansible_connection": "local"}, ())
    implicit = Host("localhost", local_vars, ())
    return Inventory(hosts, data.groups, implicit, sources, resolver)


def _check_port(
    host: str, var: str, port: Any, sources: Sequence[str], extra_vars: Mapping[str, Any] | None
) -> None:
    """Refuse a port that the SSH transport could only fail on, before any host runs."""
    if isinstance(port, str) and port.strip().isdigit() and int(port) <= 65535:
        return
    if port == "":
        return
    raise InventoryError(
        f"{var} of host {host!r} must be a port number from 0 to 65535, got {port!r:.60}",
        path="-e" if extra_vars and var in extra_vars else ", ".join(sources) or None,
        hint="ports are plain numbers: ansible_port=2222 (templates are not rendered here)",
    )


def _load_source(
    data: InventoryData,
    source: str,
    vars_dirs: list[tuple[VarsDirectory, VarsDirectory]],
    vault: Keyring | None = None,
) -> None:
    if os.path.isdir(source):
        _load_directory(data, source, vault)
        base = source
    elif os.path.exists(source):
        _load_file(data, source, vault)
        base = os.path.dirname(source) or "."
    elif "," in source:
        _load_inline(data, source)
        return
    else:
        raise InventoryError(
            "inventory source not found",
            path=source,
            hint="give a file, a directory, or a comma-separated host list "
            "(a single host needs a trailing comma: 'web1,')",
        )
    base = os.path.realpath(base)
    vars_dirs.append(
        (
            VarsDirectory(os.path.join(base, "group_vars"), vault),
            VarsDirectory(os.path.join(base, "host_vars"), vault),
        )
    )


def _add_playbook_dirs(
    vars_dirs: list[tuple[VarsDirectory, VarsDirectory]],
    playbook_dirs: Sequence[str],
    vault: Keyring | None,
) -> None:
    """group_vars/ and host_vars/ beside the playbooks, after the inventory sources' (a
    folder that is also an inventory source's is read once)."""
    seen = {group.path for group, _ in vars_dirs}
    for folder in playbook_dirs:
        base = os.path.realpath(folder or ".")
        groups = os.path.join(base, "group_vars")
        if groups in seen:
            continue
        seen.add(groups)
        vars_dirs.append(
            (VarsDirectory(groups, vault), VarsDirectory(os.path.join(base, "host_vars"), vault))
        )


def _load_directory(data: InventoryData, path: str, vault: Keyring | None) -> None:
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        raise InventoryError(f"cannot list inventory directory: {exc.strerror}", path=path) from exc
    for entry in entries:
        if entry.startswith(".") or entry in IGNORED_NAMES or entry.endswith(IGNORED_EXTENSIONS):
            continue
        full = os.path.join(path, entry)
        if os.path.isdir(full):
            _load_directory(data, full, vault)
        else:
            _load_file(data, full, vault)


def _is_script(path: str) -> bool:
    if not os.access(path, os.X_OK):
        return False
    try:
        with open(path, "rb") as fh:
            start = fh.read(4)
    except OSError:
        return False
    return start.startswith(b"#!") or start == b"\x7fELF"


def _load_file(data: InventoryData, path: str, vault: Keyring | None) -> None:
    if path.lower().endswith(YAML_EXTENSIONS):
        load_yaml_inventory(data, path, vault)
    elif _is_script(path):
        load_script_inventory(data, path)
    else:
        load_ini_inventory(data, path, vault)


def _load_inline(data: InventoryData, source: str) -> None:
    for item in source.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            host, port = split_host_port(item)
            names = expand_host_range(host)
        except RangeError as exc:
            raise InventoryError(
                f"bad host in inline inventory {source!r}: {exc}",
                hint="write host, host:port or web[01:03], separated by commas",
            ) from exc
        for name in names:
            if name not in data.hosts:  # as Ansible: a later repeat changes nothing
                data.add_host(name, "ungrouped", port)
