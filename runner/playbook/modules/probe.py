"""The answer of a module's shell probe, cut at its marker lines.

A probe prints ``MARK NAME [WORDS]`` before each part of its answer; the lines after it,
up to the next marker, are that part's body. Modules pick their own MARK so that no
output of a command they ran can be taken for one.
"""

from __future__ import annotations


def marked_sections(text: str, mark: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each ``MARK NAME [WORDS]`` line starts section NAME: its WORDS (the first dict)
    and the lines after it (the second). Lines before the first marker are not kept.

    >>> marked_sections("noise\\n@@x:refs\\nabc\\tHEAD\\n@@x:refs-rc 0\\n", "@@x:")
    ({'refs': '', 'refs-rc': '0'}, {'refs': ['abc\\tHEAD'], 'refs-rc': []})
    """
    flags: dict[str, str] = {}
    body: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(mark):
            current, _, rest = line[len(mark) :].partition(" ")
            flags[current] = rest
            body[current] = []
        elif current is not None:
            body[current].append(line)
    return flags, body


__all__ = ["marked_sections"]
