"""Streaming view: every line as it arrives, prefixed with its host. Sample::

    web01 | starting
    db3   | starting
    web01 ! warning: disk 91% full        <- stderr lines use "!" (red with colour)
    web07 | [unreachable: connection refused]
    web07: unreachable: connection refused   <- at the end: failures + summary only
    ok=2 failed=0 unreachable=1 hosts=3 in 0.4s

Each line is one ``write`` of a pre-rendered string, so lines of different hosts never
tear (greenlets switch only on I/O). It writes straight to ``console.file``: do not
combine it with a LiveProgress on the same console. On a terminal, control characters
in a line or a host name show escaped (``\r`` as ``^M``), so no host can rewrite
another host's line or its own prefix; piped lines keep their exact characters.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console

from runner.events import EventSink, HostFinished, HostOutput
from runner.models import Status
from runner.module_results import result_lines
from runner.output.console import color_on, paint
from runner.output.controls import display_filter
from runner.output.grouped import GroupedReport

__all__ = ["PALETTE", "StreamPrinter", "host_style", "stream_sinks"]

# No red: red is kept for errors and stderr.
PALETTE = (
    "cyan",
    "green",
    "yellow",
    "blue",
    "magenta",
    "bright_cyan",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "bright_magenta",
)


def host_style(host: str) -> str:
    """A colour for ``host``, the same in every run (crc32, not the salted ``hash``)."""
    return PALETTE[zlib.crc32(host.encode("utf-8", "replace")) % len(PALETTE)]


class StreamPrinter:
    """EventSink printing ``host | line`` for stdout and ``host ! line`` for stderr.

    Host names are left-aligned to the longest of ``hosts``; a host failing without a
    command result gets ``host | [unreachable: reason]``. Nothing is printed at
    RunFinished (pair it with a quiet GroupedReport: see :func:`stream_sinks`).
    """

    def __init__(self, console: Console, hosts: Sequence[str]) -> None:
        self.console = console
        self._line = display_filter(console, line=True)
        self.width = max((cell_len(self._line(h)) for h in hosts), default=0)
        self._color = color_on(console)
        self._prefixes: dict[str, tuple[str, str]] = {}

    def _prefix(self, host: str) -> tuple[str, str]:
        """(stdout prefix, stderr prefix), rendered once per host."""
        prefixes = self._prefixes.get(host)
        if prefixes is None:
            shown = self._line(host)
            padded = shown + " " * max(self.width - cell_len(shown), 0)
            if self._color:
                name = paint(self.console, padded, host_style(host))
                out = f"{name} {paint(self.console, '|', 'dim')}"
                err = f"{name} {paint(self.console, '!', 'bold red')}"
            else:
                out, err = f"{padded} |", f"{padded} !"
            prefixes = self._prefixes[host] = (out, err)
        return prefixes

    def handle(self, event: object) -> None:
        if isinstance(event, HostOutput):
            text = event.line.decode("utf-8", errors="replace")
            if text.endswith("\n"):
                text = text[:-1]
                if text.endswith("\r"):
                    text = text[:-1]
            out, err = self._prefix(event.host)
            prefix = err if event.stream == "stderr" else out
            self._write(f"{prefix} {self._line(text)}\n" if text else f"{prefix}\n")
        elif isinstance(event, HostFinished):
            result = event.result
            data = result.module_result
            if data is not None and result.command is None and not result.error:
                shown = self._line(", ".join(result_lines(data)))  # a module's result
                out, _ = self._prefix(result.host)
                note = paint(self.console, f"[{result.status.value}]", "dim")
                self._write(f"{out} {note} {shown}\n" if shown else f"{out} {note}\n")
            elif result.error and result.status in (Status.FAILED, Status.UNREACHABLE):
                reason = self._line(" ".join(result.error.splitlines()))
                note = f"[{result.status.value}: {reason}]"
                style = "red" if result.status is Status.FAILED else "magenta"
                out, _ = self._prefix(result.host)
                self._write(f"{out} {paint(self.console, note, style)}\n")

    def _write(self, line: str) -> None:
        file = self.console.file
        file.write(line)
        file.flush()


def stream_sinks(
    console: Console,
    hosts: Sequence[str],
    *,
    err_console: Console | None = None,
    verbose: bool = False,
) -> list[EventSink]:
    """The sinks of ``--stream`` mode: lines as they come, then failures + summary."""
    return [
        StreamPrinter(console, hosts),
        GroupedReport(console, quiet=True, verbose=verbose, err_console=err_console),
    ]
