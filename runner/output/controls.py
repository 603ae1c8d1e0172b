"""Remote and inventory text made harmless for the operator's terminal.

A host (or an inventory) can print bytes that a terminal obeys: ESC sequences set the
window title, clear the screen and move the cursor, ``\\r`` rewrites the current line
(forging another host's ``--stream`` line), C1 codes such as U+009B act as CSI on some
terminals, and bidi overrides reorder what is shown. On a terminal such characters are
shown escaped instead, as ``less`` and ``cat -v`` show them:

- C0 controls except newline and tab, in caret notation: ESC -> ``^[``, CR -> ``^M``,
  BEL -> ``^G``, NUL -> ``^@``; DEL -> ``^?``;
- C1 controls (U+0080-U+009F) and the bidi embeddings, overrides and isolates
  (U+202A-U+202E, U+2066-U+2069) as ``<U+009B>``, the way ``less`` shows them.

Only the display path uses this: ``--json``, ``--out-dir``, JUnit and text piped into
another program keep the exact characters (see :func:`display_filter`). Imports no rich,
so the CLI's error boundary can use it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["display_filter", "escape_controls", "escape_line", "is_terminal_file"]


def _visible(code: int) -> str:
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


_UNSAFE = (
    [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]
    + [*range(0x202A, 0x202F)]
    + [*range(0x2066, 0x206A)]
)
_SHOWN = {chr(c): _visible(c) for c in [*_UNSAFE, 0x0A]}
_shown = _SHOWN.__getitem__
# One compiled class: re.sub returns the very same string when nothing matches, so
# clean text (the common case) costs one C-level scan and no copy.
_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """``text`` with every control character but newline and tab shown visibly.

    >>> escape_controls("\\x1b]0;pwned\\x07\\x1b[2J\\rFORGED | x\\n")
    '^[]0;pwned^G^[[2J^MFORGED | x\\n'
    >>> escape_controls("a\\tb\\nc\\x00\\x7f")
    'a\\tb\\nc^@^?'
    >>> escape_controls("\\x9b31m \\u202eevil\\u2069")
    '<U+009B>31m <U+202E>evil<U+2069>'
    >>> escape_controls("caf\\u00e9 \\u2713 [red]x[/red]")  # nothing to escape: as is
    'café ✓ [red]x[/red]'
    """
    return _TEXT.sub(lambda m: _shown(m.group()), text)


def escape_line(text: str) -> str:
    """:func:`escape_controls` for text that must stay on one line (host names, one
    ``--stream`` line): a newline shows as ``^J`` too.

    >>> escape_line("web01\\nweb02 | forged")
    'web01^Jweb02 | forged'
    >>> escape_line("a\\tb\\rc")
    'a\\tb^Mc'
    """
    return _LINE.sub(lambda m: _shown(m.group()), text)


def _same(text: str) -> str:
    return text


def is_terminal_file(file: IO[str] | None) -> bool:
    """True when ``file`` is a terminal (False for anything without a working isatty)."""
    try:
        return bool(file is not None and file.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def display_filter(console: Console, *, line: bool = False) -> Callable[[str], str]:
    """:func:`escape_controls` (:func:`escape_line` with ``line``) when ``console``
    writes to a terminal, else the identity: piped or redirected text keeps its exact
    characters, so ``runner run ... | grep`` and ``> file`` see what the hosts printed.

    "A terminal" is rich's view (which FORCE_COLOR and TTY_COMPATIBLE=1 can claim for a
    pipe whose reader renders escapes, as CI log viewers do) or a real tty, whatever the
    environment says: no setting turns the escaping off on a real terminal.
    """
    if console.is_terminal or is_terminal_file(console.file):
        return escape_line if line else escape_controls
    return _same
