"""Load-time checks of a task whose module goes through the bridge (mixed into the
playbook loader): the module must be found and runnable, its arguments a mapping or
``key=value`` words. The module itself validates them on the host, as in Ansible."""

from __future__ import annotations

import os
from typing import Any

from runner.errors import PlaybookError
from runner.playbook import modspec
from runner.playbook.bridge import Bridge, canonical
from runner.playbook.reader import line_of


class BridgeChecks:
    """Mixed into the TaskLoader; ``bridge`` is the run's Bridge (None: Ansible's
    default collections path, sys.path, no module forced)."""

    bridge: Bridge | None = None

    def _the_bridge(self) -> Bridge:
        if self.bridge is None:
            self.bridge = Bridge()
        return self.bridge

    def _bridged(self, data: dict[Any, Any], key: Any, path: str) -> tuple[str, dict] | None:
        """(module name, arguments) of a task run through the bridge; None for a module
        runner runs natively. PlaybookError when the module cannot be run."""
        name = str(key)
        if canonical(name) in modspec.SPECS and not self.bridge:
            return None
        bridge = self._the_bridge()
        if not bridge.bridged(name, modspec.SPECS):
            return None
        line = line_of(data, key)
        base = os.path.dirname(getattr(self, "play_path", "") or path)
        instead = modspec.INSTEAD.get(canonical(name))
        found = bridge.check(name, base, path, line, modspec.SUPPORTED_MODULES, instead)
        args = _bridge_args(data, key, path, line)
        problem = bridge.unsupported(found, args)
        if problem:
            raise PlaybookError(problem, path=path, line=line)
        return canonical(name), args


def _bridge_args(data: dict[Any, Any], key: Any, path: str, line: int | None) -> dict:
    from runner.playbook.adhoc_args import parse_kv
    from runner.playbook.checks import plain

    raw = data[key]
    try:
        if raw is None:
            args: dict[str, Any] = {}
        elif isinstance(raw, str):
            args = parse_kv(raw)
        elif isinstance(raw, dict):
            args = plain(raw)
        else:
            raise ValueError(f"arguments must be a string or a mapping, not {raw!r}")
        extra = data.get("args")
        if extra is not None:
            if not isinstance(extra, dict):
                raise ValueError("'args' must be a mapping")
            args.update(plain(extra))
    except ValueError as exc:
        raise PlaybookError(str(exc), path=path, line=line) from exc
    return args
