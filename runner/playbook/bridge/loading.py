"""Load-time checks of a task whose module goes through the bridge (mixed into the
playbook loader): the module must be found and runnable, its arguments a mapping or
``key=value`` words. The module itself validates them on the host, as in Ansible."""

from __future__ import annotations

import os
from typing import Any

from runner.errors import PlaybookError
from runner.playbook import modspec
from runner.playbook.bridge import Bridge, BridgeRefusal, canonical
from runner.playbook.reader import line_of
from runner.playbook.task_keywords import module_candidates


class BridgeChecks:
    """Mixed into the TaskLoader; ``bridge`` is the run's Bridge (None: Ansible's
    default collections path, sys.path, no module forced)."""

    bridge: Bridge | None = None

    def _the_bridge(self) -> Bridge:
        if self.bridge is None:
            self.bridge = Bridge()
        return self.bridge

    def _bridged(
        self, data: dict[Any, Any], key: Any, path: str, collections: tuple[str, ...] = ()
    ) -> tuple[str, dict] | None:
        """(module name, arguments) of a task run through the bridge; None for a module
        runner runs natively. PlaybookError when the module cannot be run. A short name
        under the ``collections`` keyword is first looked up in those collections."""
        name = str(key)
        base = os.path.dirname(getattr(self, "play_path", "") or path)
        if collections and "." not in name:
            name = self._in_collections(name, collections, base) or name
        if canonical(name) in modspec.SPECS and not self.bridge:
            return None
        bridge = self._the_bridge()
        if not bridge.bridged(name, modspec.SPECS):
            return None
        line = line_of(data, key)
        instead = modspec.INSTEAD.get(canonical(name))
        found = bridge.check(name, base, path, line, modspec.SUPPORTED_MODULES, instead)
        args = _bridge_args(data, key, path, line)
        problem = bridge.unsupported(found, args)
        if problem:
            raise PlaybookError(problem, path=path, line=line)
        return canonical(name), args

    def _in_collections(self, name: str, collections: tuple[str, ...], base: str) -> str | None:
        """The FQCN of the first of ``collections`` that has module ``name`` (Ansible's
        order: task_keywords.module_candidates), None when none has it and the name means
        ansible.builtin's module (runner's own, or ansible-core's through the bridge). A
        module found but refused by the bridge is returned too: its check says why."""
        bridge = self._the_bridge()
        for candidate in module_candidates(name, collections):
            if candidate.startswith(("ansible.builtin.", "ansible.legacy.")):
                continue
            try:
                if bridge.find(candidate, base) is not None:
                    return candidate
            except BridgeRefusal:
                return candidate
        return None


def _bridge_args(data: dict[Any, Any], key: Any, path: str, line: int | None) -> dict:
    from runner.playbook.adhoc_args import parse_kv
    from runner.playbook.checks import raw_module_args

    try:
        args = raw_module_args(data, key, parse_kv)
    except ValueError as exc:
        raise PlaybookError(str(exc), path=path, line=line) from exc
    return args
