"""The one place a rich Console is made, plus helpers to print host output verbatim.

Host output is data, not markup: it is never wrapped, tab-expanded, highlighted or
interpreted (``[red]x[/red]`` prints as those ten characters).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import IO

from rich.console import COLOR_SYSTEMS, Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style

__all__ = ["Verbatim", "color_on", "live_capable", "make_console", "paint", "to_devnull"]


def to_devnull(fd: int) -> bool:
    """Point ``fd`` at /dev/null, unless it already is; True if it was changed. For an
    output whose reader went away (`runner ... | head`): later writes vanish instead of
    failing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        here, null = os.fstat(fd), os.fstat(devnull)
        if (here.st_dev, here.st_ino) == (null.st_dev, null.st_ino):
            return False
        os.dup2(devnull, fd)
        return True
    finally:
        os.close(devnull)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich's default exits with status 1 at once. runner goes on quietly instead, so
        that a run whose reader went away still finishes on every host and ends with its
        own exit status (see runner.output.compose.ReaderGone)."""
        self.quiet = True
        try:
            to_devnull(self.file.fileno())
        except (AttributeError, OSError, ValueError):  # not a real file: nothing to silence
            pass


def make_console(
    file: IO[str] | None = None,
    *,
    stderr: bool = False,
    color: bool | None = None,
    width: int | None = None,
    force_terminal: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> Console:
    """A Console for runner's output.

    ``color``: None = auto (a terminal and no ``NO_COLOR``), True = always (even into a
    pipe; wins over NO_COLOR, like ``--color=always``), False = never. A console that is
    not a terminal never gets a live view (see :func:`live_capable`). ``environ``
    replaces ``os.environ`` for tests.
    """
    env = os.environ if environ is None else environ
    no_color = env.get("NO_COLOR", "") != ""
    if color is False or (color is None and no_color):
        color_system: str | None = None
    else:
        color_system = "auto"
    options = dict(
        file=file,
        stderr=stderr,
        width=width,
        force_terminal=force_terminal,
        highlight=False,
        soft_wrap=True,
        markup=False,
        emoji=False,
        no_color=False if color else None,
        _environ=env,
    )
    console = _Console(color_system=color_system, **options)  # type: ignore[arg-type]
    if color and console.color_system is None:  # forced colour into a pipe or a file
        console = _Console(color_system="standard", **options)  # type: ignore[arg-type]
    return console


def color_on(console: Console) -> bool:
    """True when the console will emit colour codes."""
    return console.color_system is not None and not console.no_color


def live_capable(console: Console) -> bool:
    """True when a live (redrawn) view makes sense: a real, non-dumb terminal."""
    return console.is_terminal and not console.is_dumb_terminal


def paint(console: Console, text: str, style: str | Style | None) -> str:
    """``text`` wrapped in the ANSI codes for ``style`` on this console (or as is)."""
    if not style or not color_on(console) or not text:
        return text
    if isinstance(style, str):
        style = Style.parse(style)
    system = COLOR_SYSTEMS.get(console.color_system or "")
    return style.render(text, color_system=system)


class Verbatim:
    """A renderable that prints its text exactly: no markup, wrapping or tab expansion.

    Each line gets ``style`` separately (so a pager shows it right). Unlike writing to
    ``console.file`` directly, it goes through ``console.print`` and so appears above a
    live view instead of tearing it.
    """

    __slots__ = ("style", "text")

    def __init__(self, text: str, style: str | Style | None = None) -> None:
        self.text = text
        self.style = Style.parse(style) if isinstance(style, str) else style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        if self.style is None:
            yield Segment(self.text)
            return
        newline = Segment("\n")
        lines = self.text.split("\n")
        for i, line in enumerate(lines):
            if i:
                yield newline
            if line:
                yield Segment(line, self.style)
