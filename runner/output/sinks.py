"""How the CLI composes the default (non-streaming) renderers."""

from __future__ import annotations

from rich.console import Console

from runner.events import EventSink
from runner.output.grouped import GroupedReport
from runner.output.live import LiveProgress


def report_sinks(
    console: Console,
    *,
    err_console: Console | None = None,
    live: bool = True,
    quiet: bool = False,
    verbose: bool = False,
) -> list[EventSink]:
    """[LiveProgress (when ``live`` and a terminal), GroupedReport], wired together.

    The live view comes first so it is gone before the report prints, and it prints
    notices above itself while shown; the report prints them when there is no live view.
    The CLI keeps the LiveProgress (``sinks[0]``) to ``stop()`` it on Ctrl-C.
    """
    sinks: list[EventSink] = []
    progress = LiveProgress(console) if live else None
    if progress is not None and progress.enabled:
        sinks.append(progress)
    else:
        progress = None
    report = GroupedReport(
        console,
        quiet=quiet,
        verbose=verbose,
        err_console=err_console,
        notices=progress is None,
    )
    sinks.append(report)
    return sinks
