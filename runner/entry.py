"""Console-script target. The gevent patch is the FIRST statement (habit 1): paramiko's
Transport subclasses threading.Thread at import time, so patching later would leave real
threads behind. No other module in runner patches anything."""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

import gevent  # noqa: E402


class Interrupts:
    """Ctrl-C handling: the first SIGINT calls the registered handlers (the engine stops
    starting hosts and closes running channels); a second one exits at once with 130."""

    def __init__(self) -> None:
        self._handlers: list[Callable[[], None]] = []
        self.count = 0

    def register(self, handler: Callable[[], None]) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler) if handler in self._handlers else None

    def fire(self) -> None:
        self.count += 1
        if self.count > 1 or not self._handlers:
            try:
                sys.stderr.write("\ninterrupted\n")
                sys.stderr.flush()
            finally:
                os._exit(130)
        sys.stderr.write("\ninterrupted: stopping (press Ctrl-C again to quit at once)\n")
        sys.stderr.flush()
        for handler in list(self._handlers):
            handler()


def main() -> None:
    interrupts = Interrupts()
    gevent.signal_handler(signal.SIGINT, interrupts.fire)
    from runner import cli

    sys.exit(cli.main(interrupts=interrupts))


if __name__ == "__main__":
    main()
