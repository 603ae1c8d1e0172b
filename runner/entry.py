"""Console-script target. The gevent patch is the first thing this module does (habit 1):
paramiko's Transport subclasses threading.Thread at import time, so patching later would
leave real threads behind. The one import ahead of it, importlib.metadata, is one that
patch_all makes itself before it patches anything. No other module in runner patches
anything."""

# gevent's patch_all imports importlib.metadata itself before it patches anything (to look
# for plugins), so importing it first changes no import order; see _patch_all.
from importlib import metadata as _metadata
from typing import Any

from gevent import monkey


def _patch_all() -> None:
    """`monkey.patch_all()`, reading the installed packages' entry points once.

    gevent looks for plugins before and after each of its ~25 patch steps, and every look
    calls `importlib.metadata.entry_points()`, which reads the metadata of every installed
    distribution: about 70 ms of a one-host run in a 30-package virtualenv. Nothing can be
    installed while patch_all runs, so the first reading answers the other 24; plugins
    load and run exactly as before."""
    read = _metadata.entry_points
    installed = None

    def entry_points(**params: Any) -> Any:
        nonlocal installed
        if installed is None:
            installed = read()
        return installed.select(**params) if params else installed

    _metadata.entry_points = entry_points
    try:
        monkey.patch_all()
    finally:
        _metadata.entry_points = read


_patch_all()

import atexit  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
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
