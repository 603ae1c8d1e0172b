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

from runner.errors import InputError, InventoryError
from runner.inventory.fastyaml import NotSimple, load_simple_yaml
from runner.inventory.model import InventoryData, Origin
from runner.inventory.ranges import RangeError, expand_host_range, split_host_port

__all__ = ["load_yaml_inventory", "parse_yaml", "find_key_line", "read_text"]

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
GROUP_KEYS = ("hosts", "vars", "children")


def read_text(path: str, error: type[InputError] = InventoryError) -> str:
    """Read a UTF-8 text file, turning OS and decoding errors into ``error``."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise error(f"file is not valid UTF-8 text ({exc.reason})", path=path) from exc
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror}", path=path) from exc


def parse_yaml(text: str, path: str, error: type[InputError] = InventoryError) -> Any:
    """``yaml.safe_load`` with errors that name the file and the 1-based line.

    Like Ansible's loader, text that starts like JSON is tried as JSON first; big plain
    files take the fast path of :mod:`runner.inventory.fastyaml`.
    """
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    try:
        return load_simple_yaml(text)
    except NotSimple:
        pass
    try:
        return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        raise error(
            message,
            path=path,
            line=mark.line + 1 if mark is not None else None,
            hint="check the indentation and quoting around this line",
        ) from exc


def _compose(path: str) -> yaml.Node | None:
    with open(path, encoding="utf-8") as fh:
        return yaml.compose(fh, Loader=SafeLoader)


def find_key_line(path: str, key_path: tuple[Any, ...]) -> int | None:
    """1-based line of the mapping key reached by ``key_path``, or None if not found."""
    try:
        node = _compose(path)
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for key in key_path:
        if not isinstance(node, yaml.MappingNode):
            return line
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                line, node = key_node.start_mark.line + 1, value_node
                break
        else:
            return line
    return line


def load_yaml_inventory(data: InventoryData, path: str) -> None:
    """Add the groups and hosts of one YAML (or JSON) inventory file to ``data``."""
    doc = parse_yaml(read_text(path), path)
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
    _YamlGroups(data, path).parse_all(doc)


class _YamlGroups:
    def __init__(self, data: InventoryData, path: str) -> None:
        self.data = data
        self.path = path

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
                for var, value in section.items():
                    self.data.set_group_var(name, var, value)
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
            if "[" in pattern or ":" in pattern:
                try:
                    host, port = split_host_port(pattern)
                    names = expand_host_range(host)
                except RangeError as exc:
                    raise self.error(
                        str(exc),
                        (*where, pattern),
                        hint="ranges look like web[01:20] or db-[a:f]; a port is host:22",
                    ) from exc
            else:
                names, port = (pattern,), None
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
