"""The editing rules of lineinfile, blockinfile and replace, on bytes: no I/O, so each
rule is tested case by case against ansible-core's own modules (tests/test_textedit.py).

The rules are Ansible's, quirks included (an anchor on a last line without a newline,
an empty block creating an empty file), because playbooks written for Ansible rely on
what it does rather than on what its documentation says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NL = b"\n"


def _bare(line: bytes) -> bytes:
    return line.rstrip(b"\r\n")


def _ends_line(data: bytes) -> bool:
    return data[-1:] in (b"\n", b"\r")


@dataclass(frozen=True)
class LineEdit:
    """What lineinfile did: the new lines, a message ('line added'...) and, for
    state=absent, how many lines matched."""

    lines: list[bytes]
    changed: bool
    msg: str
    found: int = 0


def _compile(pattern: str | None) -> re.Pattern[bytes] | None:
    return re.compile(pattern.encode()) if pattern is not None else None


def line_present(
    lines: list[bytes],
    line: str,
    *,
    regexp: str | None = None,
    search_string: str | None = None,
    insertafter: str | None = None,
    insertbefore: str | None = None,
    backrefs: bool = False,
    firstmatch: bool = False,
) -> LineEdit:
    """lineinfile state=present: replace the line a regexp/search_string finds (the last
    one, or the first with ``firstmatch``), else insert ``line`` after/before an anchor
    (BOF, EOF or a regexp), else append it; nothing when the line is already there.

    >>> line_present([b"a\\n", b"b\\n"], "x", regexp="^b").lines
    [b'a\\n', b'x\\n']
    >>> line_present([b"a\\n"], "a").changed
    False
    """
    if insertafter is None and insertbefore is None:
        insertafter = "EOF"
    out = list(lines)
    want = line.encode()
    finder = _compile(regexp)
    anchor_re = None
    if insertafter not in (None, "BOF", "EOF"):
        anchor_re = _compile(insertafter)
    elif insertbefore not in (None, "BOF"):
        anchor_re = _compile(insertbefore)

    hit = -1  # the line to replace
    anchor = -1  # where to insert when nothing is replaced
    match: re.Match[bytes] | None = None
    found = False
    needle = search_string.encode() if search_string is not None else None
    for number, current in enumerate(out):
        if finder is not None:
            m = finder.search(current)
            if m:
                hit, match, found = number, m, True
        elif needle is not None and needle in current:
            hit, found = number, True
        if found and firstmatch:
            break
    if not found:
        for number, current in enumerate(out):
            if _bare(current) == want:
                hit = number
            elif anchor_re is not None and anchor_re.search(current):
                anchor = number + 1 if insertafter else number
                if firstmatch:
                    break

    if hit != -1:
        new = match.expand(want) if backrefs and match is not None else want
        if not new.endswith(NL):
            new += NL
        if out[hit] == new:
            return LineEdit(out, False, "")
        out[hit] = new
        return LineEdit(out, True, "line replaced")
    if backrefs:  # without a match there is nothing to fill the backreferences with
        return LineEdit(out, False, "")
    if "BOF" in (insertbefore, insertafter):
        out.insert(0, want + NL)
    elif insertafter == "EOF" or anchor == -1:
        if out and not _ends_line(out[-1]):
            out.append(NL)
        out.append(want + NL)
    elif insertafter:
        neighbour = out[anchor - 1] if anchor == len(out) else out[anchor]
        if _bare(neighbour) == want:
            return LineEdit(out, False, "")
        out.insert(anchor, want + NL)
    else:
        out.insert(anchor, want + NL)
    return LineEdit(out, True, "line added")


def line_absent(
    lines: list[bytes],
    *,
    line: str | None = None,
    regexp: str | None = None,
    search_string: str | None = None,
) -> LineEdit:
    """lineinfile state=absent: drop every line the regexp matches, that contains
    search_string or (without either) equals ``line``.

    >>> line_absent([b"a\\n", b"b\\n", b"a\\n"], line="a").found
    2
    """
    finder = _compile(regexp)
    needle = search_string.encode() if search_string is not None else None
    want = (line or "").encode()

    def matches(current: bytes) -> bool:
        if finder is not None:
            return finder.search(current) is not None
        if needle is not None:
            return needle in current
        return _bare(current) == want

    keep = [current for current in lines if not matches(current)]
    found = len(lines) - len(keep)
    return LineEdit(keep, found > 0, f"{found} line(s) removed" if found else "", found)


def block_edit(
    original: bytes | None,
    block: str,
    *,
    present: bool = True,
    marker: str = "# {mark} ANSIBLE MANAGED BLOCK",
    marker_begin: str = "BEGIN",
    marker_end: str = "END",
    insertafter: str | None = None,
    insertbefore: str | None = None,
    prepend_newline: bool = False,
    append_newline: bool = False,
) -> tuple[bytes, str]:
    """blockinfile: the new content and Ansible's message ('' when unchanged).

    The block sits between two marker lines; an existing pair is replaced in place,
    otherwise the block goes after/before the last line an anchor regexp matches (a
    MULTILINE anchor is searched in the whole text), at EOF by default.

    >>> block_edit(b"a\\n", "x", marker="# {mark}")
    (b'a\\n# BEGIN\\nx\\n# END\\n', 'Block inserted')
    """
    lines = original.splitlines(True) if original is not None else []
    if insertafter is None and insertbefore is None:
        insertafter = "EOF"
    anchor_re = None
    if insertafter not in (None, "EOF"):
        anchor_re = _compile(insertafter)
    elif insertbefore not in (None, "BOF"):
        anchor_re = _compile(insertbefore)
    raw_marker = marker.encode()
    begin = re.sub(rb"{mark}", marker_begin.encode(), raw_marker) + NL
    end = re.sub(rb"{mark}", marker_end.encode(), raw_marker) + NL
    body = block.encode()
    new_block: list[bytes] = []
    if present and body:
        if not body.endswith(NL):
            body += NL
        new_block = [begin, *body.splitlines(True), end]

    first = last = None
    for number, current in enumerate(lines):
        if current == begin:
            first = number
        if current == end:
            last = number
    if first is not None and last is not None:
        low, high = min(first, last), max(first, last)
        del lines[low : high + 1]
        at = low
    elif anchor_re is not None:
        found = None
        if anchor_re.flags & re.MULTILINE:
            text = original or b""
            m = anchor_re.search(text)
            if m:
                found = text.count(NL, 0, m.end() if insertafter else m.start())
        else:
            for number, current in enumerate(lines):
                if anchor_re.search(current):
                    found = number
        shift = 1 if insertafter is not None else 0
        at = len(lines) if found is None else found + shift
    else:
        at = 0 if insertbefore is not None else len(lines)

    if at > 0 and not lines[at - 1].endswith(NL):
        lines[at - 1] += NL
    if prepend_newline and present and at != 0 and lines[at - 1] != NL:
        lines.insert(at, NL)
        at += 1
    lines[at:at] = new_block
    after = at + len(new_block)
    if append_newline and present and after < len(lines) and lines[after] != NL:
        lines.insert(after, NL)
    result = b"".join(lines)
    if result == original:
        return result, ""
    if original is None:
        return result, "File created"
    return result, "Block inserted" if new_block else "Block removed"


def replace_edit(
    contents: str,
    regexp: str,
    replace: str = "",
    *,
    after: str | None = None,
    before: str | None = None,
) -> tuple[str, int, str | None]:
    """replace: (new text, number of replacements, message when after/before found no
    section). ``regexp`` is MULTILINE; the section between ``after`` and ``before``
    matches across lines (DOTALL), as Ansible builds it.

    >>> replace_edit("a=1\\nb=1\\n", r"=1$", "=2", after="a=")
    ('a=1\\nb=2\\n', 1, None)
    """
    pattern = ""
    if after and before:
        pattern = f"{after}(?P<subsection>.*?){before}"
    elif after:
        pattern = f"{after}(?P<subsection>.*)"
    elif before:
        pattern = f"(?P<subsection>.*){before}"
    start, stop = 0, len(contents)
    if pattern:
        section_match = re.search(pattern, contents, re.DOTALL)
        if section_match is None:
            return (
                contents,
                0,
                (f"Pattern for before/after params did not match the given file: {pattern}"),
            )
        start, stop = section_match.span("subsection")
    section = contents[start:stop]
    new_section, count = re.subn(re.compile(regexp, re.MULTILINE), replace, section)
    if count == 0 or new_section == section:
        return contents, 0, None
    return contents[:start] + new_section + contents[stop:], count, None
