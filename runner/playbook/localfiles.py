"""Where a playbook's local files are: ``templates/`` or ``files/`` next to the playbook,
then the playbook's folder (Ansible's search order, without roles).

A leaf: the loader checks that the files exist, the modules read them; both import this.
"""

from __future__ import annotations

import os

_SUBFOLDER = {"template": "templates", "copy": "files", "script": "files"}


def search_dirs(base: str, module: str) -> list[str]:
    """The folders ``module`` looks in, first to last.

    >>> search_dirs("site", "template"), search_dirs("", "copy")
    (['site/templates', 'site'], ['files', '.'])
    """
    sub = _SUBFOLDER.get(module)
    return ([os.path.join(base, sub)] if sub else []) + [base or "."]


def resolve_local(name: str, base: str, module: str) -> str | None:
    """Where a local source file is: ``templates/``/``files/`` next to the playbook, then
    the playbook's folder (Ansible's search order, without roles). None if not found."""
    name = os.path.expanduser(name)
    if os.path.isabs(name):
        return name if os.path.exists(name) else None
    for folder in search_dirs(base, module):
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            return candidate
    return None
