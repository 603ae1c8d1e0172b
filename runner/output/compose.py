"""Which renderers a run gets, from its OutputConfig, and the wrapping every renderer
gets. Renderer modules are imported only when chosen: ``--json`` never loads rich.

``consoles`` is where output goes (runner.cli.environment.Environment in the CLI, a
stand-in in tests): ``consoles.stdout`` for JSON Lines and ``consoles.console(stderr=)``
for rich consoles on stdout or stderr.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol

from runner.config import OutputConfig
from runner.events import EventSink, FanOut

if TYPE_CHECKING:
    from runner.output.console import Console


class Consoles(Protocol):
    stdout: IO[str]

    def console(self, *, stderr: bool = False) -> Console: ...


class ReaderGone:
    """An EventSink wrapper for when the reader of our output goes away mid-run
    (`runner run ... | head`): the run goes on to its end without output and exits with
    its real status. A pager closing must not cut commands off half-way across a fleet,
    nor turn every later line into a traceback.

    A broken pipe points stdout at /dev/null (stderr instead when stdout already is: both
    went to the same pipe); the event that hit it is dropped for this sink only, the other
    sinks get every event. rich consoles do the same for their own file
    (runner.output.console)."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def handle(self, event: object) -> None:
        try:
            self.sink.handle(event)
        except BrokenPipeError:
            from runner.output.console import to_devnull

            to_devnull(1) or to_devnull(2)


def fan_out(sinks: Iterable[EventSink]) -> FanOut:
    """One sink delivering every event to ``sinks`` in order, each behind ReaderGone."""
    return FanOut(ReaderGone(s) for s in sinks)


def stop_sinks(sinks: Iterable[Any]) -> None:
    """Take down what a renderer keeps on screen (a live view) at the end or on Ctrl-C."""
    for sink in sinks:
        stop = getattr(sink, "stop", None)
        if stop:
            stop()


def host_job_sinks(
    output: OutputConfig, hosts: Sequence[str], consoles: Consoles
) -> list[EventSink]:
    """Renderers of ``run``, ``copy`` and ``fetch``. Human messages go to stderr under
    --json, whose stdout carries nothing but JSON Lines."""
    sinks: list[EventSink] = []
    verbose = bool(output.verbose)
    if output.mode == "json":
        from runner.output.jsonl import JsonLines

        sinks.append(JsonLines(consoles.stdout))
        sinks.append(_LazyNotices(consoles))
    elif output.mode == "stream":
        from runner.output.stream import stream_sinks

        sinks.extend(
            stream_sinks(
                consoles.console(),
                hosts,
                err_console=consoles.console(stderr=True),
                verbose=verbose,
            )
        )
    elif output.mode == "oneline":
        from runner.output.oneline import OneLineReport

        sinks.append(OneLineReport(consoles.console(), err_console=consoles.console(stderr=True)))
    else:
        from runner.output.sinks import report_sinks

        sinks.extend(
            report_sinks(
                consoles.console(),
                err_console=consoles.console(stderr=True),
                live=not output.quiet,
                quiet=output.quiet,
                verbose=verbose,
                diff=output.diff,
            )
        )
    if output.out_dir:
        from runner.output.outdir import OutDirWriter

        sinks.append(OutDirWriter(output.out_dir))
    if output.junit:
        from runner.output.junit import JUnitWriter

        sinks.append(JUnitWriter(output.junit))
    return sinks


class _LazyNotices:
    """NoticePrinter on a stderr console made at the first notice, so a --json run with
    nothing to say never loads rich."""

    def __init__(self, consoles: Consoles) -> None:
        self.consoles = consoles
        self.printer: Any = None

    def handle(self, event: object) -> None:
        from runner.events import Notice

        if not isinstance(event, Notice):
            return
        if self.printer is None:
            from runner.output.notices import NoticePrinter

            self.printer = NoticePrinter(self.consoles.console(stderr=True))
        self.printer.handle(event)


def playbook_sinks(
    output: OutputConfig, hosts: Sequence[str], consoles: Consoles
) -> list[EventSink]:
    """Renderers of ``play``: the playbook view (and ``--stream`` lines), or JSON Lines."""
    from runner.output.playbook_json import PlaybookJsonLines, PlaybookJUnit, PlaybookOutDir

    sinks: list[EventSink] = []
    if output.mode == "json":
        sinks.append(PlaybookJsonLines(consoles.stdout))
        sinks.append(_LazyNotices(consoles))
    else:
        from runner.output.playbook import PlaybookView
        from runner.output.stream import StreamPrinter

        console = consoles.console()
        if output.mode == "stream":
            sinks.append(StreamPrinter(console, hosts))
        sinks.append(
            PlaybookView(
                console,
                err_console=consoles.console(stderr=True),
                quiet=output.quiet,
                verbose=bool(output.verbose),
            )
        )
    if output.junit:
        sinks.append(PlaybookJUnit(output.junit))
    if output.out_dir:
        sinks.append(PlaybookOutDir(output.out_dir))
    return sinks
