"""The per-task playbook view: Ansible's default output, grouped by identical result.

Sample (without colour)::

    PLAY [deploy] ******************************************************************

    TASK [install the release] *****************************************************
    changed: web[01-03]
    failed: web04 (exit 2)
      tar: release.tgz: Cannot open: No such file or directory

    PLAY RECAP *********************************************************************
    web[01-03] : ok=3  changed=1  unreachable=0  failed=0  skipped=0  rescued=0  ignored=0
    web04      : ok=1  changed=0  unreachable=0  failed=1  skipped=0  rescued=0  ignored=0

While a task runs on a terminal, a transient line shows its progress. On a terminal,
control characters in task output, messages, diffs, names and host names show escaped
(runner.output.controls); hosts are grouped by their exact results all the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.errors import LiveError
from rich.live import Live
from rich.text import Text

from runner.aggregate import fold_hosts, natural_key
from runner.events import Notice
from runner.models import Status
from runner.module_results import diff_text
from runner.output.console import Verbatim, live_capable
from runner.output.controls import display_filter
from runner.output.grouped import notice_text
from runner.output.included import included_lines
from runner.playbook.events import (
    BatchStarted,
    HostCounts,
    PlaybookFinished,
    PlayStarted,
    PlayStopped,
    TaskFinished,
    TaskHostDone,
    TaskOutcome,
    TaskStarted,
)

__all__ = ["PlaybookView", "delegation_text", "outcome_label", "outcome_detail", "recap_lines"]

_WIDTH = 80
_ORDER = ["ok", "changed", "skipping", "ignored", "rescued", "failed", "unreachable"]
_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "skipping": "cyan",
    "ignored": "cyan",
    "rescued": "magenta",
    "failed": "bold red",
    "unreachable": "bold magenta",
}


def outcome_label(outcome: TaskOutcome) -> str:
    """``ok``, ``changed``, ``skipping``, ``failed``, ``ignored`` (a failure under
    ignore_errors), ``rescued`` (caught by a rescue) or ``unreachable``."""
    status = outcome.status
    if status is Status.FAILED:
        return "ignored" if outcome.ignored else "rescued" if outcome.rescued else "failed"
    if status is Status.SKIPPED:
        return "skipping"
    return status.value


def delegation_text(outcome: TaskOutcome) -> str:
    """`` -> db1`` for a host whose task was delegated to db1, `` -> db1(10.0.0.5)`` when
    its ansible_host differs, as ansible-playbook labels it; empty when not delegated."""
    where = outcome.delegation
    if where is None:
        return ""
    name, address = where
    return f" -> {name}" + (f"({address})" if address and address != name else "")


def _failure_text(result: Mapping[str, Any], censored: bool) -> tuple[str, str]:
    """(suffix for the host line, indented detail) of one failed result."""
    if censored:
        return "", "(output hidden: no_log)"
    rc = result.get("rc")
    msg = str(result.get("msg") or "")
    lines: list[str] = []
    if msg and msg != "non-zero return code":
        lines.append(msg)
    stderr = str(result.get("stderr") or "").rstrip("\n")
    stdout = str(result.get("stdout") or "").rstrip("\n")
    if stderr:
        lines.append(stderr)
    elif stdout and isinstance(rc, int):
        lines.append(stdout)
    if "assertion" in result:
        lines.append(f"assertion: {result['assertion']}")
    suffix = f" (exit {rc})" if isinstance(rc, int) else ""
    return suffix, "\n".join(lines)


def outcome_detail(outcome: TaskOutcome, module: str, diff: bool) -> tuple[str, str]:
    """(suffix, detail) shown for a group of hosts: hosts group only when both match."""
    result = outcome.result
    label = outcome_label(outcome)
    if label in ("failed", "ignored", "rescued", "unreachable"):
        if "results" in result and not outcome.censored:
            parts = []
            for item in result["results"]:
                if item.get("failed"):
                    loop_var = item.get("ansible_loop_var", "item")
                    suffix, text = _failure_text(item, False)
                    head = f"item={_item_label(item, loop_var)}{suffix}"
                    parts.append(f"{head}: {text}" if text else head)
            return "", "\n".join(parts) or outcome.message
        return _failure_text(result, outcome.censored)
    if outcome.censored:
        return "", ""
    if module == "debug" and label == "ok":
        if isinstance(result.get("results"), list):
            return "", "\n".join(_debug_item(item) for item in result["results"])
        return "", _debug_text(result, ())
    notes = _warnings(result)
    if diff and label == "changed" and result.get("diff"):
        return "", "\n".join([*notes, diff_text(result["diff"]).rstrip("\n")])
    return "", "\n".join(notes)


def _warnings(result: Mapping[str, Any]) -> list[str]:
    """A module's ``warnings`` and ``deprecations`` (Ansible's modules, through the bridge),
    as Ansible prints them."""
    lines = []
    for key, word in (("warnings", "WARNING"), ("deprecations", "DEPRECATION WARNING")):
        items = result.get(key)
        if isinstance(items, list):
            lines += [f"[{word}]: {item}" for item in items]
    return lines


def _debug_text(result: Mapping[str, Any], hidden: tuple[str, ...]) -> str:
    """What a debug result shows: its ``msg``, else each variable it printed."""
    if "msg" in result:
        return _show(result["msg"])
    shown = {k: v for k, v in result.items() if k not in ("changed", "failed", *hidden)}
    return "\n".join(f"{k}: {_show(v)}" for k, v in shown.items())


def _item_label(item: Mapping[str, Any], loop_var: str) -> str:
    """The item as a result names it: loop_control's ``label`` when given."""
    if "_ansible_item_label" in item:
        return _short(item["_ansible_item_label"])
    return _short(item.get(loop_var))


def _debug_item(item: Any) -> str:
    """One item of a debug loop, as Ansible prints it: ``(item=a) => hello a``.

    >>> _debug_item({"msg": "hello a", "item": "a", "ansible_loop_var": "item"})
    '(item=a) => hello a'
    >>> _debug_item({"item": "x", "ansible_loop_var": "item", "changed": False})
    '(item=x) => item: x'
    """
    if not isinstance(item, Mapping):
        return _show(item)
    loop_var = str(item.get("ansible_loop_var", "item"))
    head = f"(item={_item_label(item, loop_var)})"  # as Ansible, whatever the loop_var
    if item.get("skipped"):
        return f"{head} skipped"
    looping = ["ansible_loop_var", "_ansible_item_label", "ansible_loop", "ansible_index_var"]
    looping.append(str(item.get("ansible_index_var", "ansible_index_var")))
    hidden: tuple[str, ...] = (*looping, loop_var)
    if not any(k not in ("changed", "failed", *hidden) for k in item):
        hidden = tuple(looping)  # debug: var=item shows the loop variable itself
    text = _debug_text(item, hidden)
    if "\n" in text:
        return f"{head} =>\n" + "\n".join("  " + ln for ln in text.split("\n"))
    return f"{head} => {text}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, default=str)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _banner(text: str) -> str:
    return f"{text} " + "*" * max(3, _WIDTH - len(text) - 1)


def recap_lines(recap: Mapping[str, HostCounts]) -> list[tuple[str, HostCounts]]:
    """Hosts with identical counts folded into one line, in host order."""
    groups: dict[HostCounts, list[str]] = {}
    for host, counts in recap.items():
        groups.setdefault(counts, []).append(host)
    lines = [
        (fold_hosts(hosts), counts, min(hosts, key=natural_key)) for counts, hosts in groups.items()
    ]
    lines.sort(key=lambda x: natural_key(x[2]))
    return [(folded, counts) for folded, counts, _ in lines]


class PlaybookView:
    """EventSink: task headers, grouped host lines, live progress and the PLAY RECAP."""

    def __init__(
        self,
        console: Console,
        *,
        err_console: Console | None = None,
        quiet: bool = False,
        live: bool = True,
        verbose: bool = False,
    ) -> None:
        self.console = console
        self.err_console = err_console or console
        self.quiet = quiet
        self.verbose = verbose
        self.live_enabled = live and live_capable(console) and not quiet
        self._safe = display_filter(console)
        self._line = display_filter(console, line=True)
        self._live: Live | None = None
        self._task = ""
        self._expected = 0
        self._done: dict[str, int] = {}
        self._started = 0.0

    def handle(self, event: object) -> None:
        if isinstance(event, TaskHostDone):
            label = outcome_label(event.outcome)
            self._done[label] = self._done.get(label, 0) + 1
            if self._live is not None:
                self._live.refresh()
        elif isinstance(event, TaskStarted):
            self._task_started(event)
        elif isinstance(event, TaskFinished):
            self.stop()
            self._task_finished(event)
        elif isinstance(event, PlayStarted):
            if not self.quiet:
                self.console.print()
                name = self._line(event.name)
                self.console.print(Text(_banner(f"PLAY [{name}]"), style="bold"))
        elif isinstance(event, BatchStarted):
            if not self.quiet:
                self.console.print()
                hosts = self._line(fold_hosts(event.hosts))
                self.console.print(
                    Text(
                        f"batch {event.number}/{event.total}: {hosts} ({len(event.hosts)})",
                        style="dim",
                    )
                )
        elif isinstance(event, PlayStopped):
            self.stop()
            message = f"play stopped: {self._safe(event.reason)}"
            if event.not_run:
                not_run = self._line(fold_hosts(event.not_run))
                message += f"; not run: {not_run} ({len(event.not_run)})"
            self.console.print(Text(message, style="bold red"))
        elif isinstance(event, PlaybookFinished):
            self.stop()
            self._recap(event)
        elif isinstance(event, Notice):
            self.err_console.print(notice_text(event, self.err_console))

    # -- live progress ------------------------------------------------------------------

    def _task_started(self, event: TaskStarted) -> None:
        self._task = event.task
        self._expected = len(event.hosts)
        self._done = {}
        self._started = time.monotonic()
        if not self.quiet:
            kind = "RUNNING HANDLER" if event.handler else "TASK"
            self.console.print()
            task = self._line(event.task)
            self.console.print(Text(_banner(f"{kind} [{task}]"), style="bold"))
        if self.live_enabled and self._expected > 0:
            live = Live(
                console=self.console,
                get_renderable=self._progress,
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            try:
                live.start()
                self._live = live
            except LiveError:
                self._live = None

    def _progress(self) -> Text:
        done = sum(self._done.values())
        counts = " ".join(f"{k}={v}" for k, v in sorted(self._done.items()))
        elapsed = time.monotonic() - self._started
        return Text(f"  {done}/{self._expected} hosts done {counts} {elapsed:.1f}s", style="dim")

    def stop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    # -- results --------------------------------------------------------------------------

    def _task_finished(self, event: TaskFinished) -> None:
        groups: dict[tuple[str, str, str, str], list[str]] = {}
        outcomes = event.outcomes
        if event.module == "include_tasks" and not self.quiet:
            for path, hosts, item in included_lines(outcomes):
                text = f"included: {self._line(path)} for {self._line(fold_hosts(hosts))}"
                self.console.print(Text(text + (f" => {self._line(item)}" if item else "")))
            outcomes = tuple(o for o in outcomes if o.status is not Status.OK)
        for outcome in outcomes:
            label = outcome_label(outcome)
            suffix, detail = outcome_detail(outcome, event.module, event.diff)
            key = (label, delegation_text(outcome), suffix, detail)
            groups.setdefault(key, []).append(outcome.host)
        ordered = sorted(
            groups.items(),
            key=lambda kv: (_ORDER.index(kv[0][0]), natural_key(min(kv[1], key=natural_key))),
        )
        for (label, delegated, suffix, detail), hosts in ordered:
            if self.quiet and label not in ("failed", "unreachable"):
                continue
            count = f" ({len(hosts)})" if len(hosts) > 1 else ""
            folded = self._line(fold_hosts(hosts))
            detail = self._safe(detail)
            line = Text.assemble(
                (f"{label}:", _STYLE[label]), " ", (folded, "bold"), count,
                self._line(delegated), self._safe(suffix),
            )  # fmt: skip
            if (
                detail
                and "\n" not in detail
                and len(detail) < 60
                and label in ("ok", "rescued", "ignored", "unreachable")
            ):
                # Verbatim, not Text: rich's Text would drop a piped \r or BEL.
                self.console.print(line, end="")
                self.console.print(Verbatim(f" => {detail}\n"))
                continue
            self.console.print(line)
            if detail:
                style = "red" if label in ("failed", "unreachable") else None
                indented = "\n".join("  " + ln for ln in detail.split("\n"))
                self.console.print(Verbatim(indented + "\n", style))

    def _recap(self, event: PlaybookFinished) -> None:
        print_ = self.console.print
        print_()
        print_(Text(_banner("PLAY RECAP"), style="bold"))
        lines = [(self._line(hosts), counts) for hosts, counts in recap_lines(event.recap)]
        width = max((len(h) for h, _ in lines), default=0)
        for hosts, c in lines:
            host_style = (
                "red"
                if c.failed
                else "magenta"
                if c.unreachable
                else "yellow"
                if c.changed
                else "green"
            )
            text = Text.assemble((hosts.ljust(width), host_style), " : ")
            for name, value in c.as_dict().items():
                style = None
                if value:
                    style = {
                        "ok": "green",
                        "changed": "yellow",
                        "failed": "red",
                        "unreachable": "magenta",
                    }.get(name)
                text.append(f"{name}={value}".ljust(len(name) + 4), style=style)
            text.rstrip()  # in place: drops the last column's padding
            print_(text)
        if event.stopped:
            print_(Text(f"stopped early: {self._safe(event.stopped)}", style="bold red"))
        if event.interrupted:
            print_(Text("interrupted: the run was stopped with Ctrl-C", style="yellow"))
        print_(Text(f"finished in {event.duration:.1f}s", style="dim"))
