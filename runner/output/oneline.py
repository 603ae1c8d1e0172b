"""One line per host, as ``ansible -o`` (its oneline callback) and ``clush -L``. Sample::

    web01 | CHANGED | rc=0 | (stdout) Linux
    web02 | FAILED | rc=2 | (stdout)  (stderr) ls: cannot access '/x'
    web03 | UNREACHABLE!: connection refused
    web04 | FAILED!: timed out after 5.0s
    web05 | INTERRUPTED
    ok=1 failed=2 unreachable=1 hosts=5 in 0.4s interrupted=1

Printed at the end, hosts in natural order (web2 before web10), the summary line last.
Output keeps one line per host: a newline shows as ``\\n`` and a carriage return as
``\\r`` (as ansible does), one trailing newline dropped; on a terminal the other control
characters show escaped too (runner.output.controls). A host with a result is
``CHANGED`` (exit 0, as ansible's command module says) or ``FAILED``, a copy or fetch
saying ``copied ...`` or ``unchanged ...`` as its stdout; a host without one (timeout,
template error) is ``FAILED!: reason``, as an unreachable one is ``UNREACHABLE!: reason``.
A module run (``runner run -m``) says the module's verdict as ansible does: ``SUCCESS``
(ok), ``CHANGED``, ``FAILED``, with a command module's ``rc=`` and output, any other
module's result as JSON: ``web01 | CHANGED => {"changed": true,"path": "/tmp/x"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console

from runner.aggregate import natural_key
from runner.events import Notice, RunFinished
from runner.models import HostResult, RunReport, Status
from runner.module_results import result_json, verdict
from runner.output.controls import display_filter
from runner.output.grouped import notice_text, summary_line

__all__ = ["OneLineReport", "one_line"]

_CAPTIONS = {
    Status.OK: "SUCCESS",
    Status.CHANGED: "CHANGED",
    Status.FAILED: "FAILED",
    Status.SKIPPED: "SKIPPED",
}


def _flat(data: bytes) -> str:
    r"""Command output on one line.

    >>> _flat(b"a\nb\r\n")
    'a\\nb\\r'
    """
    text = data.decode("utf-8", "replace")
    if text.endswith("\n"):
        text = text[:-1]
    return text.replace("\n", "\\n").replace("\r", "\\r")


def one_line(result: HostResult) -> str:
    """The line of one host (before terminal escaping).

    >>> from runner.models import CommandResult
    >>> one_line(HostResult("web01", Status.CHANGED, CommandResult(0, b"a\\nb\\n")))
    'web01 | CHANGED | rc=0 | (stdout) a\\\\nb'
    >>> one_line(HostResult("db1", Status.UNREACHABLE, error="connection refused"))
    'db1 | UNREACHABLE!: connection refused'
    """
    command = result.command
    if result.status is Status.UNREACHABLE:
        return f"{result.host} | UNREACHABLE!: {result.error or 'no result'}"
    if result.module and result.module_result is not None:
        return _module_line(result, result.module_result)
    if command is None:
        if result.status is Status.FAILED:
            return f"{result.host} | FAILED!: {result.error or 'no result'}"
        return f"{result.host} | {_CAPTIONS[result.status]}"
    caption = "CHANGED" if command.exit_code == 0 else "FAILED"
    line = f"{result.host} | {caption} | rc={command.exit_code} | (stdout) {_flat(command.stdout)}"
    if command.stderr:
        line += f" (stderr) {_flat(command.stderr)}"
    return line


def _module_line(result: HostResult, data: Mapping[str, Any]) -> str:
    """A module run's line, as ``ansible -o`` prints it: a command module's
    ``CHANGED | rc=0 | (stdout) ...``, any other module's ``CHANGED => {...}``.

    >>> _module_line(HostResult("w1", Status.OK, module="file"), {"path": "/x"})
    'w1 | SUCCESS => {"path": "/x"}'
    """
    caption = verdict(result.status.value)
    command = result.command
    if command is not None:
        line = f"{result.host} | {caption} | rc={command.exit_code} | (stdout) "
        line += _flat(command.stdout)
        if command.stderr:
            line += f" (stderr) {_flat(command.stderr)}"
        return line
    if result.status is Status.FAILED:
        caption += "!"
    if result.status is Status.SKIPPED:
        return f"{result.host} | {caption}"
    return f"{result.host} | {caption} => {result_json(data)}"


class OneLineReport:
    """EventSink printing one line per host (see the module docstring) and the summary
    line at RunFinished; notices go to ``err_console``."""

    def __init__(self, console: Console, *, err_console: Console | None = None) -> None:
        self.console = console
        self.err_console = err_console or console

    def handle(self, event: object) -> None:
        if isinstance(event, RunFinished):
            self.render(event.report)
        elif isinstance(event, Notice):
            self.err_console.print(notice_text(event, self.err_console))

    def render(self, report: RunReport) -> None:
        safe = display_filter(self.console, line=True)
        interrupted = set(report.interrupted) - set(report.results)
        lines: list[tuple[str, str]] = [(h, one_line(r)) for h, r in report.results.items()]
        lines.extend((h, f"{h} | INTERRUPTED") for h in interrupted)
        lines.sort(key=lambda item: natural_key(item[0]))
        write = self.console.file.write
        for _host, line in lines:
            write(safe(line) + "\n")
        write(summary_line(report) + "\n")
        self.console.file.flush()
