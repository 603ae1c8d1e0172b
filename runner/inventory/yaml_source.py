"""Ansible's YAML inventory format: ``all:`` with ``hosts:``, ``vars:``, ``children:``.

Files are parsed with libyaml's safe loader and no line tracking (fast for 50,000
hosts); when an error needs a line number the file is composed again with marks.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from runner import safeyaml, textfiles
from runner.errors import InputError, InventoryError
from runner.inventory.fastyaml import NotSimple, load_simple_yaml
from runner.inventory.model import InventoryData, Origin
from runner.inventory.ranges import (
    RangeError,
    check_host_count,
    expand_host_range,
    split_host_port,
)
from runner.tagged import from_json_object
from runner.vault import Keyring

__all__ = ["load_yaml_inventory", "parse_yaml", "find_key_line", "read_text"]

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
GROUP_KEYS = ("hosts", "vars", "children")
_CONSTRUCTOR = SafeConstructor()


def read_text(path: str, error: type[InputError] = InventoryError) -> str:
    """Read a UTF-8 text file, turning OS and decoding errors into ``error`` (with the
    line of a bad byte); see :func:`runner.textfiles.read_text`."""
    return textfiles.read_text(path, error)


class _NotJson(Exception):
    """Text that json cannot take as it is (or not as strictly as we need)."""


def _unique_pairs(pairs: list[tuple[str, Any]], path: str | None = None) -> Any:
    result = from_json_object(pairs, path)  # {"__ansible_vault": ...}, as ansible-inventory
    if isinstance(result, dict) and len(result) != len(pairs):
        raise _NotJson("duplicate key")  # the YAML reader names both lines
    return result


def parse_yaml(
    text: str, path: str, error: type[InputError] = InventoryError, vault: Keyring | None = None
) -> Any:
    """Safe YAML (see :mod:`runner.safeyaml`) with errors that name the file and line.

    Like Ansible's loader, text that starts like JSON is tried as JSON first; big plain
    files take the fast path of :mod:`runner.inventory.fastyaml`. Whatever either of
    them does not take as it is (duplicate keys, deep nesting, bad values...) goes to
    the full reader, which also writes the error messages. A whole file encrypted with
    Ansible Vault is decrypted with ``vault`` first.
    """
    return _parse(text, path, error, vault)[0]


def _parse(
    text: str, path: str, error: type[InputError], vault: Keyring | None = None
) -> tuple[Any, bool]:
    """(data, True when every mapping key is a string)."""
    text = safeyaml.open_vaulted(text, path, error, vault)
    if text.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(text, object_pairs_hook=lambda p: _unique_pairs(p, path))
            safeyaml.check_depth(data, path, error)
            return data, True
        except (ValueError, RecursionError, _NotJson, InputError):
            pass
    try:
        return load_simple_yaml(text), True
    except NotSimple:
        pass
    return safeyaml.load_text(text, path, error), False


def _compose(path: str) -> yaml.Node | None:
    with open(path, encoding="utf-8") as fh:
        return yaml.compose(fh, Loader=SafeLoader)


def _same_key(node: yaml.Node, key: Any) -> bool:
    if not isinstance(node, yaml.ScalarNode):
        return False
    if node.value == str(key):
        return True
    try:
        return _CONSTRUCTOR.construct_object(node) == key
    except Exception:  # noqa: BLE001 - only looking for a line
        return False


def find_key_line(path: str, key_path: tuple[Any, ...]) -> int | None:
    """1-based line of the mapping key reached by ``key_path``, or None if not found."""
    try:
        node = _compose(path)
    except (OSError, ValueError, RecursionError, yaml.YAMLError):
        return None
    line = None
    for key in key_path:
        if not isinstance(node, yaml.MappingNode):
            return line
        for key_node, value_node in node.value:
            if _same_key(key_node, key):
                line, node = key_node.start_mark.line + 1, value_node
                break
        else:
            return line
    return line


def load_yaml_inventory(data: InventoryData, path: str, vault: Keyring | None = None) -> None:
    """Add the groups and hosts of one YAML (or JSON) inventory file to ``data``."""
    doc, string_keys = _parse(read_text(path), path, InventoryError, vault)
    if doc is None:
        return
    if not isinstance(doc, Mapping):
        raise InventoryError(
            f"a YAML inventory must be a mapping of group names, found a {_kind(doc)}",
            path=path,
            line=1,
            hint="start the file with 'all:' and put hosts under 'all: hosts:'",
        )
    if "plugin" in doc:
        raise InventoryError(
            f"inventory plugin configuration ({doc['plugin']!r}) is not supported",
            path=path,
            line=find_key_line(path, ("plugin",)),
            hint="export the hosts with 'ansible-inventory --list' and use that file",
        )
    _YamlGroups(data, path, check_names=not string_keys).parse_all(doc)


class _YamlGroups:
    def __init__(self, data: InventoryData, path: str, check_names: bool = True) -> None:
        self.data = data
        self.path = path
        self.check_names = check_names  # the fast readers only make string keys

    def check_var_names(self, variables: Mapping[Any, Any], where: tuple[Any, ...]) -> None:
        for var in variables:
            if not isinstance(var, str):
                raise self.error(
                    f"variable name {var!r} ({_a(type(var).__name__)}) must be a string",
                    (*where, var),
                    hint=f"quote it: '{var}': ...",
                )

    def error(self, message: str, key_path: tuple[Any, ...], hint: str | None = None):
        return InventoryError(
            message, path=self.path, line=find_key_line(self.path, key_path), hint=hint
        )

    def parse_all(self, doc: Mapping[Any, Any]) -> None:
        for name, body in doc.items():
            self.parse_group(str(name), body, (name,))

    def parse_group(self, name: str, body: Any, where: tuple[Any, ...]) -> None:
        self.data.add_group(name)
        if body is None:
            return
        if not isinstance(body, Mapping):
            raise self.error(
                f"group {name!r} must be a mapping with 'hosts', 'vars' or 'children', "
                f"found a {_kind(body)}",
                where,
                hint="write hosts as 'hosts: {web1: , web2: }', one per line with a colon",
            )
        for key, section in body.items():
            if key not in GROUP_KEYS:
                close = difflib.get_close_matches(str(key), GROUP_KEYS, n=1)
                raise self.error(
                    f"unknown key {key!r} in group {name!r}: expected 'hosts', 'vars' or "
                    "'children'",
                    (*where, key),
                    hint=f"did you mean {close[0]!r}?"
                    if close
                    else "host variables go under 'hosts: HOST:', group variables under 'vars:'",
                )
            if section is None:
                continue
            if isinstance(section, str):
                section = {section: None}  # Ansible accepts a single name as a string
            if not isinstance(section, Mapping):
                raise self.error(
                    f"'{key}' of group {name!r} must be a mapping, found a {_kind(section)}",
                    (*where, key),
                    hint="list entries as 'name:' keys (with a colon), not as '- name' items",
                )
            if key == "vars":
                if self.check_names:
                    self.check_var_names(section, (*where, key))
                for var, value in section.items():
                    try:
                        self.data.set_group_var(name, var, value)
                    except InventoryError as exc:
                        raise self.error(exc.message, (*where, key, var), exc.hint) from exc
            elif key == "children":
                for child, child_body in section.items():
                    child_where = (*where, "children", child)
                    self.parse_group(str(child), child_body, child_where)
                    self.data.add_child(name, str(child), self._origin(child_where))
            else:
                self.parse_hosts(name, section, (*where, "hosts"))

    def parse_hosts(self, group: str, section: Mapping[Any, Any], where: tuple[Any, ...]) -> None:
        data = self.data
        for pattern, host_vars in section.items():
            pattern = str(pattern)
            if host_vars is not None and not isinstance(host_vars, Mapping):
                raise self.error(
                    f"variables of host {pattern!r} in group {group!r} must be a mapping, "
                    f"found a {_kind(host_vars)}",
                    (*where, pattern),
                )
            if host_vars and self.check_names:
                self.check_var_names(host_vars, (*where, pattern))
            if "[" in pattern or ":" in pattern:
                try:
                    host, port = split_host_port(pattern)
                    names = expand_host_range(host)
                    check_host_count(len(data.hosts), len(names))
                except RangeError as exc:
                    raise self.error(
                        str(exc),
                        (*where, pattern),
                        hint="ranges look like web[01:20] or db-[a:f]; a port is host:22",
                    ) from exc
            else:
                names, port = [pattern], None
            for name in names:
                entry = data.add_host(name, group, port)
                if host_vars:
                    entry.vars.update(host_vars)

    def _origin(self, key_path: tuple[Any, ...]) -> Origin:
        path = self.path
        return Origin(path=path, locate=lambda: find_key_line(path, key_path))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"
