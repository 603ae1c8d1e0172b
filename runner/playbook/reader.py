"""Reading playbook files: YAML that remembers where every mapping and key came from.

``load_yaml(path)`` returns plain Python data whose dicts are ``LineDict``: a dict with
``.line`` (1-based line of the mapping) and ``.key_line(key)``. That is what lets
playbook errors say ``site.yml:12: unknown module 'apt'``. Reading and parsing are
runner.textfiles' and runner.safeyaml's, shared with inventories and variables files.
"""

from __future__ import annotations

from typing import Any

from runner.errors import PlaybookError
from runner.safeyaml import LineDict, load_text
from runner.textfiles import read_text
from runner.vault import Keyring

__all__ = ["LineDict", "parse_yaml", "load_yaml", "line_of"]


def parse_yaml(text: str, path: str, vault: Keyring | None = None) -> Any:
    """Parse YAML text safely (see :mod:`runner.safeyaml`); errors name the file and line.
    A file encrypted whole with Ansible Vault is decrypted with ``vault``."""
    return load_text(text, path, PlaybookError, lines=True, vault=vault)


def load_yaml(path: str, vault: Keyring | None = None) -> Any:
    """Read and parse one YAML file of a playbook (plays, vars_files, tasks)."""
    return parse_yaml(read_text(path, PlaybookError), path, vault)


def line_of(data: Any, key: str | None = None, default: int | None = None) -> int | None:
    """The line of ``data`` (a LineDict) or of one of its keys."""
    if isinstance(data, LineDict):
        return data.key_line(key) if key is not None else data.line
    return default
