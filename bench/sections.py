"""bench/RESULTS.md is written by several benches, each owning one ``## `` section."""

from __future__ import annotations

from pathlib import Path


def replace_section(results: Path, title: str, text: str) -> None:
    """Put ``text`` (starting with its ``title`` line) in place of ``title``'s section of
    ``results``, or at its end; the other benches' sections stay as they are."""
    old = results.read_text() if results.exists() else ""
    start = old.find(title)
    if start < 0:
        results.write_text(old.rstrip("\n") + "\n\n" + text)
        return
    end = old.find("\n## ", start + len(title))
    rest = old[end + 1 :] if end >= 0 else ""
    results.write_text(old[:start] + text + ("\n" + rest if rest else ""))
