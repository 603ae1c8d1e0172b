"""One pass of errors: while a playbook loads, each play, import and task that raises
a PlaybookError is recorded and loading goes on with the next one, so ``runner play``
and ``--syntax-check`` report every problem of the playbook (and of all it imports) at
once, each with its file, line and hint.

The checks themselves keep ``raise PlaybookError(...)``: only the loops over plays,
imports and tasks call ``collect``, which is what makes the layer cheap to keep. Files
read while the playbook runs (an ``include_tasks`` with a templated name) are read
after collecting has ended, so their first error fails the host as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from runner.errors import PlaybookError

T = TypeVar("T")

#: More than this many errors are summed up in one last line: the first ones say enough.
MAX_SHOWN = 50


class PlaybookErrors(PlaybookError):
    """Several problems found in one load; ``errors`` holds each PlaybookError."""

    def __init__(self, errors: list[PlaybookError]) -> None:
        self.errors = list(errors)
        files = sorted({e.path for e in errors if e.path})
        lines = [f"{len(errors)} problems in {', '.join(files) or 'the playbook'}:"]
        for exc in errors[:MAX_SHOWN]:
            lines.append(f"  {exc}")
            if exc.hint:
                lines.append(f"      hint: {exc.hint}")
        if len(errors) > MAX_SHOWN:
            lines.append(f"  ... and {len(errors) - MAX_SHOWN} more")
        super().__init__(
            "\n".join(lines), hint="fix them all, then check again with --syntax-check"
        )


class Collecting:
    """Mixed into the playbook loader: ``collect`` runs one unit (a play, an import, a
    task) and, while collecting, records its PlaybookError instead of raising it."""

    _errors: list[PlaybookError] | None = None

    def start_collecting(self) -> None:
        self._errors = []

    def collect(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``fn(*args, **kwargs)``; None (the error recorded) if it raised PlaybookError
        while collecting."""
        if self._errors is None:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except PlaybookErrors as many:
            for exc in many.errors:
                self._record(exc)
        except PlaybookError as exc:
            self._record(exc)
        return None

    def _record(self, exc: PlaybookError) -> None:
        assert self._errors is not None
        if all(str(exc) != str(seen) for seen in self._errors):
            self._errors.append(exc)

    def stop_collecting(self) -> None:
        """End collecting; raise what was found (one error as it is, several together)."""
        errors, self._errors = self._errors or [], None
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise PlaybookErrors(errors)
