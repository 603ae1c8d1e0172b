"""NoticePrinter: only the notices (``warning: ...``), on stderr, for --json runs whose
stdout is JSON Lines. rich is imported when the first notice comes, so a --json run with
nothing to say never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.events import Notice

if TYPE_CHECKING:
    from rich.console import Console


class NoticePrinter:
    """EventSink printing notices to ``console`` (default: a console on stderr, made when
    the first notice arrives)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console

    def handle(self, event: object) -> None:
        if not isinstance(event, Notice):
            return
        from runner.output.grouped import notice_text

        if self.console is None:
            from runner.output.console import make_console

            self.console = make_console(stderr=True)
        self.console.print(notice_text(event, self.console))
