"""The end-of-run report: identical outputs printed once, then failures, then a summary.

Sample (without colour)::

    ---- db3,web[01-20] (21) ----
    Linux
    ---- web05 (1) exit 2 ----
    ls: cannot access '/x': No such file or directory

    web[07-09]: unreachable: connection refused
    interrupted: web[10-12] (3)
    ok=21 failed=1 unreachable=3 hosts=28 in 1.8s interrupted=3
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from runner.aggregate import (
    OutputGroup,
    fold_hosts,
    fold_reasons,
    group_results,
    natural_key,
)
from runner.events import Notice, RunFinished
from runner.models import HostResult, RunReport, Status
from runner.output.console import Verbatim
from runner.output.controls import display_filter

__all__ = ["GroupedReport", "failure_lines", "is_module_run", "notice_text", "summary_line"]

_FAILURES = (Status.FAILED, Status.UNREACHABLE)
_DIFF_STYLES = {"-": "red", "+": "green", "@": "cyan"}


def is_module_run(report: RunReport) -> bool:
    """Whether the run was a module's (``runner run -m``), not a command's."""
    return any(r.module for r in report.results.values())


def summary_line(report: RunReport) -> str:
    """``ok=90 failed=5 unreachable=5 hosts=100 in 1.8s`` (+ `` interrupted=N``).

    ``ok`` counts ok and changed hosts; ``hosts`` counts every host of the run, including
    those cut off before they had a result. `` skipped=N`` is added when any were skipped;
    a module run (``runner run -m``) says `` changed=N`` after ``ok``, as Ansible's recap.
    """
    counts = dict.fromkeys(Status, 0)
    for result in report.results.values():
        counts[result.status] += 1
    hosts = len(report.results) + sum(1 for h in report.interrupted if h not in report.results)
    changed = f" changed={counts[Status.CHANGED]}" if is_module_run(report) else ""
    line = (
        f"ok={counts[Status.OK] + counts[Status.CHANGED]}{changed} "
        f"failed={counts[Status.FAILED]} "
        f"unreachable={counts[Status.UNREACHABLE]} hosts={hosts} in {report.duration:.1f}s"
    )
    if counts[Status.SKIPPED]:
        line += f" skipped={counts[Status.SKIPPED]}"
    if report.interrupted:
        line += f" interrupted={len(report.interrupted)}"
    return line


def _reason(result: HostResult, *, exit_codes: bool, verbose: bool) -> str | None:
    """Why a host failed, as shown after ``host: ``; None when it needs no line."""
    if result.status not in _FAILURES:
        return None
    if result.error:
        kind = f" ({result.error_kind})" if verbose and result.error_kind else ""
        return f"{result.status.value}{kind}: {result.error}"
    if result.command is None:
        return f"{result.status.value}: no result"
    if exit_codes:
        return f"{result.status.value}: exit code {result.command.exit_code}"
    return None  # its output group header already says "exit N"


def failure_lines(
    results: Iterable[HostResult],
    *,
    exit_codes: bool = False,
    verbose: bool = False,
    skip: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """(folded hosts, reason) for failed/unreachable hosts, hosts with one reason folded.

    Hosts with a command result and no error only get a line when ``exit_codes`` is set
    (quiet and stream modes, where no group header shows the exit code). Ordered failed
    before unreachable, then by host set: ``[("web[07-09]", "unreachable: refused")]``.
    Reasons that differ only in their addresses fold too, the addresses folded or counted
    (runner.aggregate.fold_reasons): ``connection refused (127.0.0.1:[2201-2230])``.
    """
    by_status: list[list[tuple[str, str]]] = [[] for _ in _FAILURES]
    for result in results:
        if result.host in skip:
            continue
        reason = _reason(result, exit_codes=exit_codes, verbose=verbose)
        if reason is not None:
            by_status[_FAILURES.index(result.status)].append((result.host, reason))
    lines = [
        (order, fold_hosts(hosts), reason)
        for order, pairs in enumerate(by_status)
        for hosts, reason in fold_reasons(pairs)
    ]
    lines.sort()
    return [(hosts, reason) for _, hosts, reason in lines]


def notice_text(notice: Notice, console: Console) -> Text:
    """``warning: forks lowered to 512 (open file limit)``, for printing on ``console``
    (a message can name hosts, and on a terminal their control characters show escaped)."""
    style = "yellow" if notice.level == "warning" else "dim"
    message = display_filter(console)(notice.message)
    return Text.assemble((f"{notice.level}:", style), " ", message)


class GroupedReport:
    """EventSink printing the grouped report on RunFinished (see the module docstring).

    ``diff``: each output group but the reference one (runner.output.diff) is shown as a
    unified diff of its stdout against the reference's, its stderr as usual.
    ``quiet``: only failures (with exit codes) and the summary line. ``verbose``: failure
    lines carry the error kind and the five slowest hosts are listed. Notices go to
    ``err_console`` (default ``console``) unless ``notices`` is False, which the CLI sets
    when a live view is on and prints them itself. On a terminal, control characters in
    host output, host names and errors show escaped (runner.output.controls).
    """

    def __init__(
        self,
        console: Console,
        *,
        quiet: bool = False,
        verbose: bool = False,
        err_console: Console | None = None,
        notices: bool = True,
        diff: bool = False,
    ) -> None:
        self.console = console
        self.diff = diff
        self.err_console = err_console or console
        self.quiet = quiet
        self.verbose = verbose
        self.notices = notices

    def handle(self, event: object) -> None:
        if isinstance(event, RunFinished):
            self.render(event.report)
        elif isinstance(event, Notice) and self.notices:
            self.err_console.print(notice_text(event, self.err_console))

    def render(self, report: RunReport) -> None:
        print_ = self.console.print
        safe = display_filter(self.console)
        name = display_filter(self.console, line=True)
        results = report.results.values()
        printed_groups = False
        if not self.quiet:
            groups = group_results(results)
            reference = None
            if self.diff and len(groups) > 1:
                from runner.output.diff import reference_group

                reference = reference_group(groups)
            for group in groups:
                printed_groups = True
                if reference is None or group is reference:
                    self._print_group_header(name(group.label), group.exit_code, group.status)
                    outputs: list[tuple[str, str | None]] = [
                        (group.stdout, None),
                        (group.stderr, "red"),
                    ]
                else:
                    self._print_diff(reference, group)
                    outputs = [(group.stderr, "red")]
                for text, style in outputs:
                    if text:
                        if not text.endswith("\n"):
                            text += "\n"
                        print_(Verbatim(safe(text), style))

        interrupted = frozenset(report.interrupted)
        lines = failure_lines(
            results, exit_codes=self.quiet, verbose=self.verbose, skip=interrupted
        )
        tail: list[Text] = []
        for hosts, reason in lines:
            status, _, detail = reason.partition(":")
            style = "red" if status.startswith(Status.FAILED.value) else "magenta"
            tail.append(
                Text.assemble((name(hosts), "bold"), ": ", (status, style), ":", safe(detail))
            )
        if report.interrupted:
            names = sorted(report.interrupted, key=natural_key)
            folded = f"{name(fold_hosts(names))} ({len(names)})"
            tail.append(Text.assemble(("interrupted:", "yellow"), " ", folded))
        if self.verbose and report.results:
            slowest = heapq.nlargest(5, results, key=lambda r: r.duration)
            text = ", ".join(f"{name(r.host)} {r.duration:.1f}s" for r in slowest)
            tail.append(Text.assemble(("slowest:", "dim"), " ", text))
        tail.append(self._summary_text(report))
        if printed_groups:
            print_()
        for line in tail:
            print_(line)

    def _print_diff(self, reference: OutputGroup, group: OutputGroup) -> None:
        """``group``'s stdout as a unified diff against ``reference``'s (--diff)."""
        from runner.output.diff import diff_lines

        safe = display_filter(self.console, line=True)
        for i, line in enumerate(diff_lines(reference, group)):
            if i < 2:
                style = "bold red" if group.exit_code and i == 1 else "bold"
            else:
                style = _DIFF_STYLES.get(line[:1], "")
            self.console.print(Verbatim(safe(line) + "\n", style or None))

    def _print_group_header(self, label: str, exit_code: int, status: str | None) -> None:
        """``---- web[1-3] (3) ----``, ``... exit 2 ----``; a module run's groups say
        their verdict: ``---- web[1-3] (3) changed ----`` (``ok``, ``skipped``)."""
        if exit_code:
            self.console.print(Text(f"---- {label} exit {exit_code} ----", style="bold red"))
        elif status:
            style = "bold yellow" if status == "changed" else "bold cyan"
            self.console.print(Text(f"---- {label} {status} ----", style=style))
        else:
            self.console.print(Text(f"---- {label} ----", style="bold cyan"))

    def _summary_text(self, report: RunReport) -> Text:
        text = Text(summary_line(report))
        failed = report.count(Status.FAILED)
        unreachable = report.count(Status.UNREACHABLE)
        text.highlight_regex(r"^ok=\d+", "green")
        text.highlight_regex(r"changed=[1-9]\d*", "yellow")
        if failed:
            text.highlight_regex(r"failed=\d+", "bold red")
        if unreachable:
            text.highlight_regex(r"unreachable=\d+", "bold magenta")
        if report.interrupted:
            text.highlight_regex(r"interrupted=\d+", "yellow")
        return text
