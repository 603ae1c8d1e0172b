"""A live progress view while hosts run, cheap enough for thousands of hosts.

Events only update counters and a dict (O(1) each); the view, including the
longest-running hosts, is built only when rich refreshes it (``refresh_per_second``).
Transient: it disappears before the final report is printed. Sample::

    ━━━━━━━━━━━━╺━━━━━━━━━━━━━━━━━ 812/2000 ok=790 failed=12 unreachable=10 4.2s
      web0042  3.9s
      web0107  3.8s
      and 1186 more running
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from itertools import islice
from operator import itemgetter

from rich.console import Console
from rich.errors import LiveError
from rich.live import Live
from rich.text import Text

from runner.events import HostFinished, HostStarted, Notice, RunFinished, RunStarted
from runner.models import Status
from runner.output.console import color_on, live_capable
from runner.output.controls import display_filter
from runner.output.grouped import notice_text

__all__ = ["LiveProgress"]

_BAR_WIDTH = 30


class LiveProgress:
    """EventSink drawing a live progress view on ``console`` between RunStarted and
    RunFinished; does nothing on a non-terminal (``enabled`` is False then). When
    enabled it also prints Notices (``warning: ...``), above the view while it is shown.

    ``clock`` must be the clock of ``HostStarted.started`` (``time.monotonic``); tests
    pass a fake. Put it before the report sinks so it is gone when they print.
    """

    def __init__(
        self,
        console: Console,
        *,
        refresh_per_second: float = 4,
        max_running: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.refresh_per_second = refresh_per_second
        self.max_running = max_running
        self.clock = clock
        self.enabled = live_capable(console)
        self._name = display_filter(console, line=True)  # host names can carry escapes
        self.total = 0
        self.done = 0
        self.ok = 0
        self.failed = 0
        self.unreachable = 0
        self.running: dict[str, float] = {}  # host -> HostStarted.started
        # HostStarted events normally come in start order, so the dict's insertion
        # order is oldest first and the longest-running hosts are simply its head.
        self._in_start_order = True
        self._last_start = float("-inf")
        self._started_at = clock()
        self._live: Live | None = None

    @property
    def active(self) -> bool:
        """True while the live view is on screen."""
        return self._live is not None

    def handle(self, event: object) -> None:
        if isinstance(event, HostStarted):
            if event.started < self._last_start:
                self._in_start_order = False
            self._last_start = event.started
            self.running.pop(event.host, None)  # a restarted host moves to the end
            self.running[event.host] = event.started
        elif isinstance(event, HostFinished):
            result = event.result
            self.running.pop(result.host, None)
            self.done += 1
            status = result.status
            if status is Status.OK or status is Status.CHANGED:
                self.ok += 1
            elif status is Status.FAILED:
                self.failed += 1
            elif status is Status.UNREACHABLE:
                self.unreachable += 1
        elif isinstance(event, RunStarted):
            self.total = len(event.hosts)
            self._started_at = self.clock()
            self.start()
        elif isinstance(event, RunFinished):
            self.stop()
        elif isinstance(event, Notice) and self.enabled:
            # Printed while the view is on, rich puts it above the view. Before RunStarted
            # too: report_sinks turns the report's notices off when a live view is used.
            self.console.print(notice_text(event, self.console))

    def start(self) -> None:
        """Show the live view (no-op when not a terminal or already shown)."""
        if not self.enabled or self._live is not None:
            return
        live = Live(
            console=self.console,
            get_renderable=self.render,
            refresh_per_second=self.refresh_per_second,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        try:
            live.start()
        except LiveError:  # another live view owns this console
            return
        self._live = live

    def stop(self) -> None:
        """Remove the live view. Idempotent; safe to call from a Ctrl-C handler."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def render(self) -> Text:
        """The view as it should look now; called by rich at most refresh_per_second."""
        now = self.clock()
        total = max(self.total, self.done)
        text = Text(no_wrap=True, overflow="ellipsis")
        self._bar(text, total)
        text.append(f" {self.done}/{total}")
        text.append(f" ok={self.ok}", "green")
        text.append(" failed=")
        text.append(str(self.failed), "bold red" if self.failed else "")
        text.append(" unreachable=")
        text.append(str(self.unreachable), "bold magenta" if self.unreachable else "")
        text.append(f" {now - self._started_at:.1f}s", "dim")

        longest = [(self._name(host), started) for host, started in self.longest_running()]
        if longest:
            width = max(len(host) for host, _ in longest)
            for host, started in longest:
                text.append(f"\n  {host:<{width}}  ")
                text.append(f"{now - started:.1f}s", "dim")
        more = len(self.running) - len(longest)
        if more > 0:
            text.append(f"\n  and {more} more running", "dim")
        return text

    def longest_running(self) -> list[tuple[str, float]]:
        """(host, start) of the ``max_running`` hosts running the longest, oldest first.

        O(max_running) when starts came in order (the dict's head), else one
        heapq.nsmallest over the running set.
        """
        if self._in_start_order:
            try:
                return list(islice(self.running.items(), self.max_running))
            except RuntimeError:  # changed by another (real) thread mid-iteration
                pass
        # list() is one C-level copy: safe even if rich refreshes from a real thread.
        running = list(self.running.items())
        return heapq.nsmallest(self.max_running, running, key=itemgetter(1))

    def _bar(self, text: Text, total: int) -> None:
        filled = (self.done * _BAR_WIDTH // total) if total else 0
        # Two shades of one line need colour (NO_COLOR terminals get # and -).
        fancy = color_on(self.console) and self.console.encoding.lower().startswith("utf")
        done_char, todo_char = ("━", "━") if fancy else ("#", "-")
        text.append(done_char * filled, "green" if fancy else "")
        text.append(todo_char * (_BAR_WIDTH - filled), "grey37" if fancy else "")
