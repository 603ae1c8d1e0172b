"""Console-script target. The gevent patch is the first thing this module does (habit 1):
paramiko's Transport subclasses threading.Thread at import time, so patching later would
leave real threads behind. No other module in runner patches anything."""

import os
import re
import sys
import types
from typing import Any

from gevent import monkey

_PLUGINS = "gevent.plugins."
_SECTION = re.compile(r"\[\s*([^\]]+?)\s*\]")
_VALUE = re.compile(r"([\w.]+)\s*(?::\s*([\w.]+)\s*)?(?:\[.*\]\s*)?$")


class _EntryPoint:
    """A ``module:attribute`` entry point: what gevent uses of importlib.metadata's."""

    def __init__(self, name: str, group: str, module: str, attribute: str | None) -> None:
        self.name, self.group, self.module, self.attr = name, group, module, attribute

    def load(self) -> Any:
        import importlib

        found: Any = importlib.import_module(self.module)
        for part in (self.attr or "").split(".") if self.attr else ():
            found = getattr(found, part)
        return found


def _gevent_plugins() -> dict[str, list[_EntryPoint]] | None:
    """The gevent plugin entry points of the installed distributions, by group, read as
    importlib.metadata reads them (entry_points.txt of each ``*.dist-info`` and
    ``*.egg-info`` folder on sys.path, the first distribution of a name winning); None
    when a path entry is not a folder (a zip: only importlib.metadata reads those)."""
    groups: dict[str, list[_EntryPoint]] = {}
    seen: set[str] = set()
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(os.listdir(folder))
        except NotADirectoryError:
            return None
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            dist = re.sub(r"[-_.]+", "_", name.rsplit(".", 1)[0].split("-", 1)[0]).lower()
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            if _PLUGINS in text:
                _read_plugins(text, groups)
    return groups


def _read_plugins(text: str, groups: dict[str, list[_EntryPoint]]) -> None:
    group = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        section = _SECTION.fullmatch(line)
        if section:
            group = section.group(1)
        elif group.startswith(_PLUGINS) and "=" in line:
            name, value = (part.strip() for part in line.split("=", 1))
            parsed = _VALUE.match(value)
            if parsed:
                point = _EntryPoint(name, group, parsed.group(1), parsed.group(2))
                groups.setdefault(group, []).append(point)


def _patch_all() -> None:
    """`monkey.patch_all()`, its plugins found without importlib.metadata.

    gevent looks for plugins before and after each of its ~25 patch steps, and every look
    calls `importlib.metadata.entry_points()`, which parses the metadata of every
    installed distribution; importing importlib.metadata brings email, zipfile, csv and
    importlib.resources with it. Together a quarter of the CLI's CPU in a warm one-host
    run served by the connection keeper. So gevent is handed a stand-in
    importlib.metadata whose ``entry_points(group=...)`` answers from the entry_points.txt
    files read once here (gevent itself declares one plugin); anything else asked of it
    is the real module's, and the plugins load and run as before. When importlib.metadata
    is already imported (or a zip is on sys.path), its entry points are read once
    instead of 25 times."""
    plugins = None if "importlib.metadata" in sys.modules else _gevent_plugins()
    if plugins is not None:
        stand_in = types.ModuleType("importlib.metadata", "gevent's plugins, read by runner")

        def entry_points(**params: Any) -> Any:
            if set(params) == {"group"}:
                return list(plugins.get(params["group"], ()))
            return real("entry_points")(**params)

        def real(name: str) -> Any:
            if sys.modules.get("importlib.metadata") is stand_in:
                del sys.modules["importlib.metadata"]
            import importlib.metadata

            return getattr(importlib.metadata, name)

        stand_in.entry_points = entry_points  # type: ignore[attr-defined]
        stand_in.__getattr__ = real  # type: ignore[method-assign]
        sys.modules["importlib.metadata"] = stand_in
        try:
            monkey.patch_all()
        finally:
            if sys.modules.get("importlib.metadata") is stand_in:
                del sys.modules["importlib.metadata"]
        return
    from importlib import metadata

    read = metadata.entry_points
    installed = None

    def entry_points_once(**params: Any) -> Any:
        nonlocal installed
        if installed is None:
            installed = read()
        return installed.select(**params) if params else installed

    metadata.entry_points = entry_points_once
    try:
        monkey.patch_all()
    finally:
        metadata.entry_points = read


_patch_all()

import atexit  # noqa: E402
import importlib.util  # noqa: E402
import signal  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import NoReturn  # noqa: E402

import gevent  # noqa: E402


def _defer_import(name: str) -> None:
    """Import `name` when one of its attributes is first used, not when it is imported.

    paramiko imports invoke at import time only to run ssh_config `Match exec` commands;
    invoke brings asyncio and unittest.mock with it, about 40 ms of every run's start-up.
    Deferred, `Match exec` still works and runs that never use it skip the cost. (The
    stdlib's LazyLoader does not help here: `import` itself reads the module's __spec__,
    which loads it.)"""
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return
    stand_in = types.ModuleType(name, f"{name}, imported on first use")

    def load(attribute: str) -> object:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attribute)

    stand_in.__getattr__ = load  # type: ignore[method-assign]
    sys.modules[name] = stand_in


class Interrupts:
    """Ctrl-C handling: the first SIGINT calls the registered handlers (the engine stops
    starting hosts and ends the running commands); a second one exits at once with 130.

    Handlers registered ``before_notice`` (taking a live view off the screen) run before
    the "press Ctrl-C again" notice is written, so the notice is not drawn over by the
    view, and the view is not left half-erased by the notice's lines."""

    NOTICE = "\ninterrupted: stopping (press Ctrl-C again to quit at once)\n"

    def __init__(self, stderr: Any = None) -> None:
        self._handlers: list[Callable[[], None]] = []
        self._screen: list[Callable[[], None]] = []
        self.stderr = stderr
        self.count = 0

    def register(
        self, handler: Callable[[], None], *, before_notice: bool = False
    ) -> Callable[[], None]:
        handlers = self._screen if before_notice else self._handlers
        handlers.append(handler)
        return lambda: handlers.remove(handler) if handler in handlers else None

    def fire(self) -> None:
        self.count += 1
        stderr = self.stderr or sys.stderr
        if self.count > 1 or not self._handlers:
            try:
                stderr.write("\ninterrupted\n")
                stderr.flush()
            finally:
                os._exit(130)
        try:
            for handler in list(self._screen):
                handler()
        finally:
            stderr.write(self.NOTICE)
            stderr.flush()
        for handler in list(self._handlers):
            handler()


def patch_state() -> dict[str, bool]:
    """Whether this process is patched, and was before paramiko was imported (``runner
    worker`` reports it in its heartbeat: a Celery worker patched too late hangs)."""
    modules = list(sys.modules)
    patched = monkey.is_module_patched("socket") and monkey.is_module_patched("threading")
    late = "paramiko" in sys.modules and modules.index("paramiko") < modules.index("gevent.monkey")
    return {"patched": patched, "paramiko_before_patch": late}


def main() -> None:
    _defer_import("invoke")  # before cli, and with it paramiko, is imported
    interrupts = Interrupts()
    gevent.signal_handler(signal.SIGINT, interrupts.fire)
    from runner import cli

    exit_now(cli.main(interrupts=interrupts))


def exit_now(code: int) -> NoReturn:
    """End the process without finalizing the interpreter.

    Finalization clears every module and collects every object that gevent, paramiko,
    cryptography and rich created: 60 ms at the end of every run, a sixth of a one-host
    run (strace: no system call between the last atexit handler and exit_group). runner
    needs none of it: it closes its files when it has written them, and the atexit
    handlers (logging, tempfile) run here first."""
    try:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (BrokenPipeError, ValueError):  # reader gone, or stream closed
                pass
    finally:
        os._exit(code)


if __name__ == "__main__":
    main()
