"""Ansible's host pattern grammar, as pure functions.

A pattern is a list of parts separated by ``,`` (or ``:`` when that cannot be part of
a host name, IPv6 address or range). Each part is one of::

    all  *            every host
    web               a group (all hosts in it and its children) or a host name
    web*  db-?.lan    fnmatch wildcards on group and host names
    ~web\\d+          a regular expression (re.match: anchored at the start only)
    web[0] web[-1]    one host of the matched hosts (negative counts from the end)
    web[1:3] web[2:]  hosts 1 to 3 *inclusive*, or from 2 to the end
    &db               intersection: keep only hosts also matched by this part
    !web1             exclusion: drop hosts matched by this part
    @file             the parts listed in a file, one per line

Parts are applied in Ansible's order, whatever order they are written in: first all
plain parts (union), then every ``&`` part, then every ``!`` part. A pattern with only
``&``/``!`` parts starts from ``all``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from typing import TypeVar

from runner.aggregate import natural_key
from runner.errors import HostPatternError
from runner.inventory.ranges import is_single_address

__all__ = [
    "split_patterns",
    "order_patterns",
    "split_subscript",
    "apply_subscript",
    "is_literal",
    "LOCALHOST_NAMES",
    "shown",
    "close_names",
]

T = TypeVar("T")

LOCALHOST_NAMES = ("localhost", "127.0.0.1", "::1")  # names that get an implicit localhost

_COLON_PARTS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_GLOB_CHARS = frozenset("*?[")
_BALANCED = re.compile(r"[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*")
_MAX_INDEX_DIGITS = 18


def shown(text: str, limit: int = 60) -> str:
    """``repr`` of a pattern for a message, cut to ``limit`` characters.

    >>> shown("web"), shown("w" * 100, 5)
    ("'web'", "'wwwww...'")
    """
    return repr(text if len(text) <= limit else text[:limit] + "...")


def split_patterns(pattern: str) -> list[str]:
    """Split a pattern into parts on ``,`` or, failing that, on ``:``.

    >>> split_patterns("web, db[0] ,!web1")
    ['web', 'db[0]', '!web1']
    >>> split_patterns("web:&prod:!web1")
    ['web', '&prod', '!web1']
    >>> split_patterns("web[1:3]"), split_patterns("fe80::1")
    (['web[1:3]'], ['fe80::1'])

    A malformed part is a :class:`HostPatternError`, never a part that selects more:

    >>> split_patterns("web[0")
    Traceback (most recent call last):
    runner.errors.HostPatternError: host pattern 'web[0': unbalanced '[' or ']' in 'web[0'
    >>> split_patterns("web,!")
    Traceback (most recent call last):
    runner.errors.HostPatternError: host pattern 'web,!': '!' must be followed by a pattern
    """
    if "," in pattern:
        parts = pattern.split(",")
    elif is_single_address(pattern.strip()):
        parts = [pattern]
    else:
        parts = _COLON_PARTS.findall(pattern)
        if _COLON_PARTS.sub("", pattern).strip(": \t\n"):
            raise _malformed(pattern, f"unbalanced '[' or ']' in {shown(pattern)}")
    result = [part.strip() for part in parts if part.strip()]
    for part in result:
        _check_part(part, pattern)
    return result


def _malformed(pattern: str, message: str) -> HostPatternError:
    return HostPatternError(
        f"host pattern {shown(pattern)}: {message}",
        pattern=pattern,
        hint="patterns look like web, web*, ~web\\d+, web[0], web[1:3], &prod, !web1, "
        "joined by ',' or ':'",
    )


def _check_part(part: str, pattern: str) -> None:
    expr = part[1:] if part[0] in "!&" else part
    if not expr:
        raise _malformed(pattern, f"{shown(part)} must be followed by a pattern")
    if expr[0] == "~":
        if len(expr) == 1:
            raise _malformed(pattern, "'~' must be followed by a regular expression")
        return
    if not _BALANCED.fullmatch(expr):
        raise _malformed(pattern, f"unbalanced '[' or ']' in {shown(part)}")
    match = _SUBSCRIPT.match(expr)
    if match and any(len(n) > _MAX_INDEX_DIGITS for n in match.groups()[1:] if n):
        raise _malformed(pattern, f"subscript in {shown(part)} is too large")


def order_patterns(parts: Sequence[str]) -> list[str]:
    """Plain parts first, then ``&`` parts, then ``!`` parts; ``all`` if no plain part.

    >>> order_patterns(["!web1", "&prod", "web", "db"])
    ['web', 'db', '&prod', '!web1']
    >>> order_patterns(["!web1"])
    ['all', '!web1']
    """
    plain = [p for p in parts if p and p[0] not in "!&"]
    both = [p for p in parts if p and p[0] == "&"]
    minus = [p for p in parts if p and p[0] == "!"]
    return (plain or ["all"]) + both + minus


def split_subscript(part: str) -> tuple[str, tuple[int, int | None] | None]:
    """Separate a ``[n]`` or ``[start:end]`` subscript from a part (not from ``~regex``).

    The end is inclusive; an empty end means the last host (stored as -1).

    >>> split_subscript("web[0]"), split_subscript("web[1:3]"), split_subscript("web[2:]")
    (('web', (0, None)), ('web', (1, 3)), ('web', (2, -1)))
    >>> split_subscript("~web[0]"), split_subscript("web")
    (('~web[0]', None), ('web', None))
    """
    if part.startswith("~"):
        return part, None
    match = _SUBSCRIPT.match(part)
    if not match:
        return part, None
    expr, index, start, _sep, end = match.groups()
    if index is not None:
        return expr, (int(index), None)
    return expr, (int(start), int(end) if end else -1)


def apply_subscript(items: Sequence[T], subscript: tuple[int, int | None] | None) -> list[T]:
    """Apply a subscript from :func:`split_subscript` as Ansible does.

    Raises IndexError when a single index is out of range; a slice out of range is
    just shorter (or empty).

    >>> hosts = ["a", "b", "c", "d"]
    >>> apply_subscript(hosts, (0, None)), apply_subscript(hosts, (-1, None))
    (['a'], ['d'])
    >>> apply_subscript(hosts, (1, 2)), apply_subscript(hosts, (2, -1))
    (['b', 'c'], ['c', 'd'])
    """
    if not items or subscript is None:
        return list(items)
    start, end = subscript
    if end:  # as in Ansible, an end of 0 means "no end": [n:0] is [n]
        if end == -1:
            end = len(items) - 1
        return list(items[start : end + 1])
    return [items[start]]


def is_literal(expr: str) -> bool:
    """True for a part that matches names exactly (no wildcard, not a regex)."""
    return not expr.startswith("~") and _GLOB_CHARS.isdisjoint(expr)


def close_names(word: str, names: Iterable[str], limit: int = 5, cutoff: float = 0.6) -> list[str]:
    """At most ``limit`` of ``names`` like ``word``, best first: by difflib's ratio, then
    in natural order (difflib.get_close_matches breaks ties in reverse string order).

    >>> close_names("webs", ["web30", "web29", "web", "web1", "db"])
    ['web', 'web1', 'web29', 'web30']
    """
    matcher = SequenceMatcher()
    matcher.set_seq2(word)
    scored = []
    for name in dict.fromkeys(names):
        matcher.set_seq1(name)
        # the cheap upper bounds first, as get_close_matches does
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            ratio = matcher.ratio()
            if ratio >= cutoff:
                scored.append((-ratio, natural_key(name), name))
    return [name for *_, name in sorted(scored)[:limit]]
