"""-v's logging on the command's stderr."""

from __future__ import annotations

import logging
from typing import IO


def configure_logging(verbose: int, stream: IO[str]) -> None:
    """-v: info, -vv: debug logs of runner (-vvv: paramiko's too), on ``stream``.

    Idempotent (commands run in process more than once in tests): the handler runner
    installs replaces the one it installed before."""
    paramiko_log = logging.getLogger("paramiko")
    if verbose <= 0:
        # paramiko logs a traceback for every host whose server never greets it; the
        # host's result already says so: keep Python's last-resort handler quiet.
        if not any(isinstance(h, logging.NullHandler) for h in paramiko_log.handlers):
            paramiko_log.addHandler(logging.NullHandler())
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "runner_cli", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.runner_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    paramiko_log.setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)
