"""``runner _worker`` (hidden): one worker process of a ``--procs`` run. The run and its
secrets arrive on stdin, events leave on stdout (runner.executors.protocol)."""

from __future__ import annotations

import os
import sys
import threading

import click

from runner.cli.environment import Environment
from runner.cli.options import configure_logging


@click.command("_worker", hidden=True)
@click.pass_obj
def worker_command(env: Environment) -> None:
    """Internal: one worker process of a --procs run (run on stdin, events on stdout)."""
    from runner.engine.scheduler import raise_fd_limit
    from runner.executors.inprocess import InProcessExecutor
    from runner.executors.procs import RecordSink, read_run, wait_for_eof

    stdin = sys.stdin.buffer
    run, secrets = read_run(stdin)  # secrets from here only, never the environment
    raise_fd_limit()
    configure_logging(run.config.output.verbose, env.stderr)
    executor = InProcessExecutor()
    env.on_interrupt(executor.cancel)

    def watch_parent() -> None:  # stdin closes when the parent ends or dies
        wait_for_eof(stdin.fileno())
        executor.cancel()
        threading.Timer(2.0, os._exit, args=(130,)).start()

    threading.Thread(target=watch_parent, daemon=True).start()
    executor.execute(run, secrets, RecordSink(sys.stdout.fileno()))
    os._exit(0)  # the parent holds our stdin open; don't wait for the watcher
