"""``group_vars/`` and ``host_vars/`` beside an inventory source.

For an entity NAME, the first of ``NAME``, ``NAME.yml``, ``NAME.yaml``, ``NAME.json``
that exists is used, as Ansible's ``host_group_vars`` plugin does; when it is a
directory, every file in it (recursively, in name order, skipping hidden files, ``~``
backups and other extensions) is loaded and later files replace earlier keys.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.errors import InputError, InventoryError
from runner.inventory.yaml_source import find_key_line, parse_yaml, read_text
from runner.vault import Keyring

__all__ = ["VarsDirectory", "load_vars_file", "VARS_EXTENSIONS"]

VARS_EXTENSIONS = (".yml", ".yaml", ".json")
_LOOKUP_ORDER = ("", *VARS_EXTENSIONS)


def load_vars_file(
    path: str, error: type[InputError] = InventoryError, vault: Keyring | None = None
) -> dict[str, Any]:
    """Load one YAML/JSON file of variables; it must hold a mapping (or nothing). A file
    encrypted with Ansible Vault is decrypted with ``vault``."""
    data = parse_yaml(read_text(path, error), path, error, vault)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise error(
            f"a variables file must hold a mapping of name: value, found a {type(data).__name__}",
            path=path,
            line=1,
            hint="write one 'name: value' per line at the top level",
        )
    for name in data:
        if not isinstance(name, str):
            raise error(
                f"variable name {name!r} ({_a(type(name).__name__)}) must be a string",
                path=path,
                line=find_key_line(path, (name,)),
                hint=f"quote it: '{name}': ...",
            )
    return dict(data)


class VarsDirectory:
    """One ``group_vars`` or ``host_vars`` directory; listed once, files read on demand."""

    def __init__(self, path: str, vault: Keyring | None = None) -> None:
        self.path = path
        self.vault = vault
        try:
            self.entries = frozenset(os.listdir(path)) if os.path.isdir(path) else frozenset()
        except OSError as exc:
            raise InventoryError(f"cannot list directory: {exc.strerror}", path=path) from exc
        self._cache: dict[str, dict[str, Any] | None] = {}

    def __bool__(self) -> bool:
        return bool(self.entries)

    def vars_for(self, name: str) -> dict[str, Any] | None:
        """Merged variables for the group or host ``name``; None when it has no file."""
        if not self.entries:
            return None
        try:
            return self._cache[name]
        except KeyError:
            pass
        result = None
        for ext in _LOOKUP_ORDER:
            if name + ext in self.entries:
                full = os.path.join(self.path, name + ext)
                files = _dir_files(full) if os.path.isdir(full) else [full]
                result = {}
                for file in files:
                    result.update(load_vars_file(file, vault=self.vault))
                break
        self._cache[name] = result
        return result


def _dir_files(path: str) -> list[str]:
    found = []
    for entry in sorted(os.listdir(path)):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        ext = os.path.splitext(entry)[1]
        full = os.path.join(path, entry)
        if os.path.isdir(full):
            if not ext:
                found.extend(_dir_files(full))
        elif not ext or ext in VARS_EXTENSIONS:
            found.append(full)
    return found


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"
