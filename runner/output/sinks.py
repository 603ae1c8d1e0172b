"""How the CLI composes the default (non-streaming) renderers."""

from __future__ import annotations

from rich.console import Console

from runner.events import EventSink
from runner.output.console import live_capable
from runner.output.grouped import GroupedReport


def report_sinks(
    console: Console,
    *,
    err_console: Console | None = None,
    live: bool = True,
    quiet: bool = False,
    verbose: bool = False,
    diff: bool = False,
) -> list[EventSink]:
    """[LiveProgress (when ``live`` and a terminal), GroupedReport], wired together.

    The live view comes first so it is gone before the report prints, and it prints
    notices above itself while shown; the report prints them when there is no live view.
    The CLI keeps the LiveProgress (``sinks[0]``) to ``stop()`` it on Ctrl-C.
    """
    sinks: list[EventSink] = []
    progress = None
    if live and live_capable(console):  # rich's live display is imported only for a terminal
        from runner.output.live import LiveProgress

        progress = LiveProgress(console)
        sinks.append(progress)
    report = GroupedReport(
        console,
        quiet=quiet,
        verbose=verbose,
        err_console=err_console,
        notices=progress is None,
        diff=diff,
    )
    sinks.append(report)
    return sinks
