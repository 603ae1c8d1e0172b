"""Where a role is, as Ansible looks for it, and the files inside it.

A role named ``web`` is looked for in ``roles/`` beside the playbook, then in each
``roles_path`` folder (the project setting; Ansible's default is ``~/.ansible/roles``,
``/usr/share/ansible/roles``, ``/etc/ansible/roles``), then in the playbook's own folder.
A name with a slash is a path (relative to the playbook's folder). ``ns.coll.web`` is a
collection role: ``ansible_collections/ns/coll/roles/web`` under each ``collections_path``
folder (and beside the playbook, as Ansible's playbook-adjacent collections). Pure
functions of the file system; nothing here reads YAML.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

# the folders of a role and the files Ansible reads from them when given no name
ROLE_PARTS = ("tasks", "handlers", "defaults", "vars", "meta")
_EXTENSIONS = ("", ".yml", ".yaml", ".json")


@dataclass(frozen=True)
class FoundRole:
    """A role found on disk: its short name (``role_name``), its full name
    (``ansible_role_name``: ``ns.coll.web`` for a collection role) and its folder."""

    name: str
    fqcn: str
    path: str


def role_dirs(
    playbook_dir: str, roles_path: Sequence[str], parent_dir: str | None = None
) -> list[str]:
    """The folders a plain role name is looked up in, first to last; ``parent_dir`` is
    the folder holding the role whose meta/main.yml names this one (a dependency).

    >>> role_dirs("site", ["/etc/ansible/roles"], "/r")
    ['site/roles', '/etc/ansible/roles', '/r', 'site']
    """
    base = playbook_dir or "."
    out = [os.path.join(base, "roles")]
    out += [os.path.expanduser(p) for p in roles_path]
    if parent_dir:
        out.append(parent_dir)
    out.append(base)
    return list(dict.fromkeys(out))


def collection_dirs(playbook_dir: str, collections_path: Sequence[str]) -> list[str]:
    """The folders holding ``ansible_collections/`` that a collection role is looked up in.

    >>> collection_dirs("site", ["/c"])
    ['site/collections', '/c']
    """
    base = playbook_dir or "."
    out = [os.path.join(base, "collections")] + [os.path.expanduser(p) for p in collections_path]
    return list(dict.fromkeys(out))


def find_role(
    name: str,
    playbook_dir: str,
    roles_path: Sequence[str] = (),
    collections_path: Sequence[str] = (),
    parent_dir: str | None = None,
) -> tuple[FoundRole | None, list[str]]:
    """The role ``name`` names and the folders tried (for the error when it is missing).

    >>> find_role("nowhere", "/nonexistent")[0] is None
    True
    >>> find_role("nowhere", "/nonexistent")[1][:2]
    ['/nonexistent/roles/nowhere', '/nonexistent/nowhere']
    """
    name = name.strip()
    tried: list[str] = []
    expanded = os.path.expanduser(name)
    if "/" in name or os.path.isabs(expanded):
        candidate = os.path.normpath(os.path.join(playbook_dir or ".", expanded))
        tried.append(candidate)
        if os.path.isdir(candidate):
            short = os.path.basename(candidate)
            return FoundRole(short, short, candidate), tried
        return None, tried
    parts = name.split(".")
    if len(parts) >= 3 and all(parts):
        ns, coll, role = parts[0], parts[1], ".".join(parts[2:])
        for folder in collection_dirs(playbook_dir, collections_path):
            candidate = os.path.join(folder, "ansible_collections", ns, coll, "roles", role)
            tried.append(candidate)
            if os.path.isdir(candidate):
                return FoundRole(role, name, candidate), tried
    for folder in role_dirs(playbook_dir, roles_path, parent_dir):
        candidate = os.path.join(folder, name)
        tried.append(candidate)
        if os.path.isdir(candidate):
            return FoundRole(name, name, candidate), tried
    return None, tried


def role_file(role_path: str, part: str, name: str | None = None) -> str | None:
    """The file of a role's ``part`` (tasks, handlers, defaults, vars, meta): ``main``
    (or the ``*_from`` name given), with .yml, .yaml, .json or no extension; a folder
    ``main/`` is not supported. None when the role has no such file.

    >>> role_file("/nonexistent", "tasks") is None
    True
    """
    folder = os.path.join(role_path, part)
    stem = name or "main"
    for ext in _EXTENSIONS:
        candidate = os.path.join(folder, stem + ext)
        if os.path.isfile(candidate):
            return candidate
    return None


def role_file_names(role_path: str, part: str, name: str | None = None) -> list[str]:
    """The files ``role_file`` tries, for a message that says where it looked."""
    stem = name or "main"
    return [os.path.join(role_path, part, stem + ext) for ext in _EXTENSIONS if ext]
