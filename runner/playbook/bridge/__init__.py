"""The Ansible module bridge: a module runner does not implement natively is run from the
module files of the ansible-core (and collections) installed on the control node, on the
target's Python, over the host's existing connection: one command per host and task.

runner imports no ansible code: it finds the files (runner.playbook.bridge.locate), reads
their imports with ``ast`` and packs them into a zip (runner.playbook.bridge.pack), and
sends that to the user's own hosts with a small wrapper of its own
(runner.playbook.bridge.remote). ansible-core is GPL-3.0 and an optional extra
(``pip install 'runner[ansible]'``).

One Bridge serves a run: it caches the modules found, their zips, and the interpreter
found on each host.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from runner.errors import PlaybookError
from runner.playbook.bridge.locate import (
    BridgeRefusal,
    Locator,
    ModuleFile,
    ansible_version,
    collection_roots,
    find_ansible,
)
from runner.playbook.bridge.pack import Packer, Payload

INSTALL_HINT = "pip install 'runner[ansible]' (ansible-core), then ansible-galaxy collection install NS.COLL for collections"

__all__ = ["Bridge", "BridgeRefusal", "ModuleFile", "Payload", "bridge_for", "canonical"]


def canonical(name: str) -> str:
    """``ansible.builtin.X`` / ``ansible.legacy.X`` -> ``X``; other names as given."""
    for prefix in ("ansible.builtin.", "ansible.legacy."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def bridge_for(project: Any) -> Bridge:
    """The Bridge of a run configured by ``project`` (a runner.config.ProjectConfig)."""
    return Bridge(project.collections_path, project.bridge_modules)


class Bridge:
    """Finds, packs and runs Ansible's modules for one run.

    ``collections_path``: the project's collections_path (default: Ansible's);
    ``forced``: module names runner has natively but runs through the bridge
    (``bridge_modules``); ``search_path``: where to look for the ``ansible`` package and
    pip-installed collections (default: sys.path of this Python).
    """

    def __init__(
        self,
        collections_path: Sequence[str] = (),
        forced: Sequence[str] = (),
        search_path: Sequence[str] | None = None,
    ) -> None:
        self.collections_path = tuple(collections_path)
        self.forced = frozenset(canonical(n) for n in forced)
        self.search_path = None if search_path is None else tuple(search_path)
        self.ansible_dir = find_ansible(self.search_path)
        self._locators: dict[str | None, Locator] = {}
        self._found: dict[tuple[str, str | None], ModuleFile | None] = {}
        self._payloads: dict[str, Payload] = {}
        self._scans: dict[str, tuple[bytes, list]] = {}
        self._specs: dict[str, frozenset[str] | None] = {}
        self.interpreters: dict[str, str] = {}  # host name -> discovered interpreter
        self._pass_vars: frozenset[str] | None = None

    @property
    def version(self) -> str:
        return ansible_version(self.ansible_dir) if self.ansible_dir else "0.0"

    def bridged(self, name: str, native: Any) -> bool:
        """Whether the task's module ``name`` goes through the bridge: not one of
        ``native`` (runner's own), or forced by ``bridge_modules``."""
        short = canonical(name)
        return short not in native or short in self.forced

    def locator(self, base_dir: str | None) -> Locator:
        if base_dir not in self._locators:
            roots = collection_roots(self.collections_path, base_dir, self.search_path)
            self._locators[base_dir] = Locator(self.ansible_dir, roots)
        return self._locators[base_dir]

    def find(self, name: str, base_dir: str | None = None) -> ModuleFile | None:
        """The module file for ``name`` (None: not found); BridgeRefusal when it cannot
        run through the bridge."""
        key = (name, base_dir)
        if key not in self._found:
            self._found[key] = self.locator(base_dir).find(name)
        return self._found[key]

    def check(
        self,
        name: str,
        base_dir: str | None,
        path: str,
        line: int | None,
        supported: Sequence[str],
        instead: str | None = None,
    ) -> ModuleFile:
        """The module for a task (load time), or a PlaybookError naming file and line."""
        try:
            found = self.find(name, base_dir)
        except BridgeRefusal as exc:
            raise PlaybookError(exc.message, path=path, line=line, hint=exc.hint) from exc
        if found is not None:
            if self.ansible_dir is None:
                raise PlaybookError(
                    f"module {name!r} ({found.path}) needs ansible-core's module_utils, "
                    "and ansible-core is not installed", path=path, line=line, hint=INSTALL_HINT,
                )  # fmt: skip
            return found
        raise self.unknown(name, base_dir, path, line, supported, instead)

    def unknown(
        self,
        name: str,
        base_dir: str | None,
        path: str,
        line: int | None,
        supported: Sequence[str],
        instead: str | None = None,
    ) -> PlaybookError:
        """The error for a module neither runner nor the installed Ansible has."""
        close = difflib.get_close_matches(canonical(name), supported, n=3, cutoff=0.8)
        hints = [f"did you mean {' or '.join(close)}?"] if close else []
        if instead:
            hints.append(f"use {instead}.")
        if self.ansible_dir is None:
            message = f"unknown module {name!r} (not one of runner's own, and ansible-core is not installed)"
            hints.append(f"runner runs Ansible's modules from ansible-core: {INSTALL_HINT}")
        else:
            message = f"unknown module {name!r}"
            looked = ", ".join(self.locator(base_dir).roots) or "none found"
            hints.append(
                f"not in ansible-core ({self.ansible_dir}) nor in the collections in: {looked}; "
                "install its collection (ansible-galaxy collection install NS.COLL) or set "
                "collections_path"
            )
        return PlaybookError(
            f"{message}; runner supports: {', '.join(supported)}",
            path=path, line=line, hint=" ".join(hints),
        )  # fmt: skip

    def unsupported(self, module: ModuleFile, args: Mapping[str, Any]) -> str | None:
        """Why ``args`` do not fit the module's literal argument_spec (None: they fit, or
        the spec is built at run time and the module checks them on the host)."""
        from runner.playbook.bridge.argspec import accepted_names

        if module.path not in self._specs:
            try:
                with open(module.path, "rb") as fh:
                    self._specs[module.path] = accepted_names(fh.read())
            except OSError:
                self._specs[module.path] = None
        accepted = self._specs[module.path]
        if accepted is None:
            return None
        unknown = sorted(k for k in args if not str(k).startswith("_") and k not in accepted)
        if not unknown:
            return None
        return (
            f"{module.name} does not support {', '.join(map(repr, unknown))}; it accepts: "
            + ", ".join(sorted(accepted))
        )

    def payload(self, module: ModuleFile, base_dir: str | None = None) -> Payload:
        """The zip of ``module`` (packed once per run), its module_utils taken from the
        collection roots that found it."""
        if module.path not in self._payloads:
            packer = Packer(self.locator(base_dir), self._scans)
            self._payloads[module.path] = packer.pack(module)
        return self._payloads[module.path]

    @property
    def pass_vars(self) -> frozenset[str]:
        from runner.playbook.bridge.remote import pass_vars

        if self._pass_vars is None:
            self._pass_vars = pass_vars(self.ansible_dir)
        return self._pass_vars

    def run(self, ctx: Any, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Run module ``name`` with ``args`` on ``ctx``'s host (a ModuleContext)."""
        from runner.playbook.bridge.execute import run_module

        return run_module(self, ctx, name, args)
