"""Where a playbook's local files are, in Ansible's search order: for a role's task the
role's ``templates/`` or ``files/``, the role's folder, its ``tasks/`` folder (with and
without the subfolder); then ``templates/`` or ``files/`` next to the playbook, then the
playbook's folder.

A leaf: the loader checks that the files exist, the modules read them; both import this.
"""

from __future__ import annotations

import os
from typing import Any

_SUBFOLDER = {"template": "templates", "copy": "files", "script": "files"}


def search_dirs(base: str, module: str, role: str | None = None) -> list[str]:
    """The folders ``module`` looks in, first to last (``role``: the task's role_path).

    >>> search_dirs("site", "template"), search_dirs("", "copy")
    (['site/templates', 'site'], ['files', '.'])
    >>> search_dirs("site", "copy", "r")
    ['r/files', 'r', 'r/tasks/files', 'r/tasks', 'site/files', 'site']
    """
    sub = _SUBFOLDER.get(module)
    out: list[str] = []
    for folder in ([role, os.path.join(role, "tasks")] if role else []) + [base]:
        out += ([os.path.join(folder, sub)] if sub else []) + [folder or "."]
    return out


def resolve_local(name: str, base: str, module: str, role: str | None = None) -> str | None:
    """Where a local source file is (search_dirs' order); None if not found."""
    name = os.path.expanduser(name)
    if os.path.isabs(name):
        return name if os.path.exists(name) else None
    for folder in search_dirs(base, module, role):
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            return candidate
    return None


def role_dir(ctx: Any) -> str | None:
    """The role folder of the task a module runs for (its ``role_path``), or None."""
    variables = getattr(ctx, "variables", None) or {}
    value = dict.get(variables, "role_path") if isinstance(variables, dict) else None
    return value if isinstance(value, str) and value else None
