"""Where a module's file is, read as data: the installed ansible-core's ``ansible/modules``
and the collections on the collections path. Nothing here imports ansible.

A name is found as Ansible's plugin loader finds it, in spirit: ``ansible.builtin.X`` /
``ansible.legacy.X`` / ``X`` in ansible-core's modules, else through ansible-core's
routing table (``ini_file`` -> ``community.general.ini_file``); ``NS.COLL.X`` in the
first collection root that has ``ansible_collections/NS/COLL``, following the
collection's ``meta/runtime.yml`` redirects. A module that needs a controller-side action
plugin, or is not a Python module, is refused with the reason (runner runs only what can
run on the target by itself).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

#: Ansible's default collections path (its COLLECTIONS_PATHS setting).
DEFAULT_COLLECTIONS = ("~/.ansible/collections", "/usr/share/ansible/collections")

#: ansible-core "modules" that are really keywords of Ansible's executor (no file to run).
EXECUTOR_ONLY = frozenset(
    {
        "import_playbook", "import_role", "import_tasks", "include_role", "include_tasks",
        "meta", "include_vars", "set_fact", "set_stats", "add_host", "group_by", "debug",
        "fail", "assert", "pause", "async_status", "gather_facts", "validate_argument_spec",
    }
)  # fmt: skip

#: What to use instead of a module refused for its action plugin.
ACTION_HINTS = {
    "service": "use ansible.builtin.systemd_service (or sysvinit), which run on the target",
    "package": "use the distribution's module (ansible.builtin.apt, ansible.builtin.dnf)",
    "yum": "use ansible.builtin.dnf",
    "synchronize": "use command: rsync ... with delegate_to: localhost",
    "template": "use runner's template module",
    "copy": "use runner's copy module",
    "fetch": "use runner's fetch module",
}


class BridgeRefusal(Exception):
    """A module that exists but cannot go through the bridge; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class ModuleFile:
    """A module found on the control node: the name the task gave, its FQCN, the Python
    name it runs under on the target (``ansible.modules.lineinfile``,
    ``ansible_collections.NS.COLL.plugins.modules.X``) and its file."""

    name: str
    fqcn: str
    python_name: str
    path: str


def find_ansible(search_path: Sequence[str] | None = None) -> str | None:
    """The directory of the installed ``ansible`` package, or None. ``find_spec`` of a
    top-level name only locates it (nothing is executed); ``search_path`` (tests) looks
    in those directories instead of sys.path."""
    if search_path is not None:
        for entry in search_path:
            candidate = os.path.join(entry, "ansible")
            if os.path.isdir(os.path.join(candidate, "modules")):
                return candidate
        return None
    spec = importlib.util.find_spec("ansible")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if os.path.isdir(os.path.join(location, "modules")):
            return str(location)
    return None


def ansible_version(ansible_dir: str) -> str:
    """``__version__`` of ansible/release.py, read as text."""
    try:
        with open(os.path.join(ansible_dir, "release.py"), encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("__version__"):
                    return line.split("=", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return "0.0"


def collection_roots(
    collections_path: Sequence[str], base_dir: str | None, search_path: Sequence[str] | None
) -> list[str]:
    """Directories holding ``ansible_collections``, in Ansible's order: the playbook's own
    ``collections/``, the collections path, then ``ansible_collections`` beside the
    Python packages (pip-installed collections)."""
    roots: list[str] = []
    candidates = [os.path.join(base_dir, "collections")] if base_dir else []
    candidates += [os.path.expanduser(p) for p in collections_path or DEFAULT_COLLECTIONS]
    candidates += list(sys.path if search_path is None else search_path)
    for path in candidates:
        if not path:
            continue
        if os.path.basename(os.path.normpath(path)) == "ansible_collections":
            path = os.path.dirname(os.path.normpath(path))
        if os.path.isdir(os.path.join(path, "ansible_collections")) and path not in roots:
            roots.append(path)
    return roots


def _routing(path: str) -> dict[str, Any]:
    """``plugin_routing`` of a runtime.yml (empty when absent or unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError):
        return {}
    routing = data.get("plugin_routing") if isinstance(data, dict) else None
    return routing if isinstance(routing, dict) else {}


class Locator:
    """Finds module files in one ansible-core and a list of collection roots."""

    def __init__(self, ansible_dir: str | None, roots: Sequence[str]) -> None:
        self.ansible_dir = ansible_dir
        self.roots = list(roots)
        self._runtime: dict[str, dict[str, Any]] = {}

    def collection_dir(self, namespace: str, collection: str) -> str | None:
        for root in self.roots:
            path = os.path.join(root, "ansible_collections", namespace, collection)
            if os.path.isdir(path):
                return path
        return None

    def find(self, name: str) -> ModuleFile | None:
        """The module ``name`` names, None when there is none; BridgeRefusal when it
        exists but cannot run through the bridge."""
        return self._find(name, name, 0)

    def _find(self, asked: str, name: str, depth: int) -> ModuleFile | None:
        if depth > 5:
            raise BridgeRefusal(f"module {asked!r}: too many redirects")
        parts = name.split(".")
        if len(parts) == 1 or (
            len(parts) == 3 and parts[0] == "ansible" and parts[1] in ("builtin", "legacy")
        ):
            return self._core(asked, parts[-1], depth)
        if len(parts) < 3:
            return None
        namespace, collection, short = parts[0], parts[1], ".".join(parts[2:])
        where = self.collection_dir(namespace, collection)
        if where is None:
            return None
        module_dir = os.path.join(where, "plugins", "modules")
        path = os.path.join(module_dir, *short.split(".")) + ".py"
        fqcn = f"{namespace}.{collection}.{short}"
        if not os.path.isfile(path):
            if os.path.isfile(os.path.join(module_dir, short + ".ps1")):
                raise BridgeRefusal(
                    f"module {asked!r} is a PowerShell module (Windows)",
                    "runner manages POSIX hosts over SSH only",
                )
            route = self._route(os.path.join(where, "meta", "runtime.yml"), short)
            if route is not None:
                return self._find(asked, route, depth + 1)
            return None
        self._refuse_action(asked, fqcn, short, os.path.join(where, "plugins", "action"))
        python_name = f"ansible_collections.{namespace}.{collection}.plugins.modules.{short}"
        return _python_module(ModuleFile(asked, fqcn, python_name, path))

    def _core(self, asked: str, short: str, depth: int) -> ModuleFile | None:
        if self.ansible_dir is None:
            return None
        if short in EXECUTOR_ONLY:
            raise BridgeRefusal(
                f"{asked!r} is part of Ansible's executor, not a module that runs on a host",
                "runner does not support it",
            )
        path = os.path.join(self.ansible_dir, "modules", short + ".py")
        if os.path.isfile(path):
            self._refuse_action(
                asked, f"ansible.builtin.{short}", short,
                os.path.join(self.ansible_dir, "plugins", "action"),
            )  # fmt: skip
            return _python_module(
                ModuleFile(asked, f"ansible.builtin.{short}", f"ansible.modules.{short}", path)
            )
        route = self._route(
            os.path.join(self.ansible_dir, "config", "ansible_builtin_runtime.yml"), short
        )
        if route is not None:
            return self._find(asked, route, depth + 1)
        return None

    def _route(self, runtime_yml: str, short: str) -> str | None:
        """Where runtime.yml redirects module ``short`` (None: no redirect); a removed
        module (tombstone) is refused with the collection's message."""
        if runtime_yml not in self._runtime:
            self._runtime[runtime_yml] = _routing(runtime_yml)
        modules = self._runtime[runtime_yml].get("modules")
        entry = modules.get(short) if isinstance(modules, dict) else None
        if not isinstance(entry, dict):
            return None
        tombstone = entry.get("tombstone")
        if isinstance(tombstone, dict):
            raise BridgeRefusal(
                f"module {short!r} was removed: {tombstone.get('warning_text') or 'no replacement named'}"
            )
        redirect = entry.get("redirect")
        return str(redirect) if isinstance(redirect, str) and redirect else None

    def _refuse_action(self, asked: str, fqcn: str, short: str, action_dir: str) -> None:
        if os.path.isfile(os.path.join(action_dir, short + ".py")):
            raise BridgeRefusal(
                f"module {asked!r} ({fqcn}) needs Ansible's controller-side action plugin, "
                "which runner does not provide",
                ACTION_HINTS.get(short, "use a module that runs on the target by itself"),
            )


def _python_module(found: ModuleFile) -> ModuleFile:
    """``found`` when it is a new-style Python module (it imports module_utils)."""
    try:
        with open(found.path, "rb") as fh:
            head = fh.read()
    except OSError as exc:
        raise BridgeRefusal(f"module {found.name!r}: cannot read {found.path}: {exc}") from exc
    if b"ansible.module_utils" not in head and b"module_utils" not in head:
        raise BridgeRefusal(
            f"module {found.name!r} ({found.path}) is not a Python module built on "
            "ansible.module_utils; runner runs only those",
        )
    return found
