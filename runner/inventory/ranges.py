"""Host ranges and ``host:port`` addresses, as Ansible writes them in inventories.

Pure functions: they raise :class:`RangeError` (a ``ValueError``) with a short message
and leave it to the caller to say which file and line it came from.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import string

__all__ = [
    "RangeError",
    "expand_host_range",
    "split_host_port",
    "is_single_address",
    "check_host_count",
    "MAX_RANGE_HOSTS",
    "MAX_INVENTORY_HOSTS",
]

MAX_RANGE_HOSTS = 100_000  # hosts one expression may make (the product of its brackets)
MAX_INVENTORY_HOSTS = 1_000_000  # hosts all ranges of an inventory may add up to
_MAX_BOUND_DIGITS = 18  # bounds and steps of a range: more is a typo, not a host

_LETTERS = string.ascii_letters  # Ansible's alphabet for [a:z] ranges: a-z then A-Z
_BRACKETS = re.compile(r"\[[^\]]*\]")
_HOSTNAME = re.compile(r"[A-Za-z0-9_.\-]+")


class RangeError(ValueError):
    """A host range or address that cannot be understood."""


def expand_host_range(text: str) -> list[str]:
    """Expand every ``[begin:end]`` or ``[begin:end:step]`` range in a host name.

    Zero padding of the bounds is kept; bounds are numbers or single letters. The
    hosts are counted before they are made: more than ``MAX_RANGE_HOSTS`` is an error.

    >>> expand_host_range("web[01:03].example.com")
    ['web01.example.com', 'web02.example.com', 'web03.example.com']
    >>> expand_host_range("db-[a:c]")
    ['db-a', 'db-b', 'db-c']
    >>> expand_host_range("node[1:10:3]")
    ['node1', 'node4', 'node7', 'node10']
    >>> expand_host_range("r[1:2]n[a:b]")
    ['r1na', 'r1nb', 'r2na', 'r2nb']
    >>> expand_host_range("plain")
    ['plain']
    >>> expand_host_range("r[0:9999]n[0:9999]")
    Traceback (most recent call last):
    runner.inventory.ranges.RangeError: host range 'r[0:9999]n[0:9999]' makes 100,000,000 hosts; \
the limit is 100,000
    """
    if "[" not in text:
        if "]" in text:
            raise RangeError(f"unmatched ']' in host name {text!r}")
        return [text]
    pieces: list[list[str] | tuple[str, range, int]] = []
    count = 1
    rest = text
    while "[" in rest:
        head, _, tail = rest.partition("[")
        body, closed, rest = tail.partition("]")
        if not closed:
            raise RangeError(f"unclosed '[' in host range {text!r}")
        if "]" in head:
            raise RangeError(f"unmatched ']' in host name {text!r}")
        one = _parse_one(body, text)
        count *= len(one[1])
        pieces += [[head], one]
    if "]" in rest:
        raise RangeError(f"unmatched ']' in host name {text!r}")
    if count > MAX_RANGE_HOSTS:
        raise RangeError(
            f"host range {text!r} makes {count:,} hosts; the limit is {MAX_RANGE_HOSTS:,}"
        )
    pieces.append([rest])
    return ["".join(parts) for parts in itertools.product(*map(_names, pieces))]


def _names(piece: list[str] | tuple[str, range, int]) -> list[str]:
    if isinstance(piece, list):
        return piece
    kind, numbers, width = piece
    if kind == "letters":
        return [_LETTERS[n] for n in numbers]
    return [str(n).zfill(width) for n in numbers]


def check_host_count(existing: int, adding: int) -> None:
    """Refuse a range that would take the inventory past ``MAX_INVENTORY_HOSTS`` hosts.

    >>> check_host_count(999_999, 1)
    >>> check_host_count(999_999, 2)
    Traceback (most recent call last):
    runner.inventory.ranges.RangeError: this range takes the inventory past 1,000,000 hosts
    """
    if adding > 1 and existing + adding > MAX_INVENTORY_HOSTS:
        raise RangeError(f"this range takes the inventory past {MAX_INVENTORY_HOSTS:,} hosts")


def _parse_one(body: str, text: str) -> tuple[str, range, int]:
    """The inside of one ``[...]`` range (``01:20``, ``a:f``, ``1:10:3``) as (kind,
    numbers, zero-padded width), without making any name yet."""
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise RangeError(f"host range [{body}] in {text!r} must be [begin:end] or [begin:end:step]")
    begin, end = bounds[0] or "0", bounds[1]
    if not end:
        raise RangeError(f"host range [{body}] in {text!r} has no end value")
    if any(len(bound) > _MAX_BOUND_DIGITS for bound in bounds):
        raise RangeError(
            f"host range [{body[:40]}] in {text[:60]!r}: numbers may have at most "
            f"{_MAX_BOUND_DIGITS} digits"
        )
    step = 1
    if len(bounds) == 3:
        if not bounds[2].isdigit() or int(bounds[2]) < 1:
            raise RangeError(f"host range [{body}] in {text!r}: step must be a positive number")
        step = int(bounds[2])
    if begin in _LETTERS and end in _LETTERS and len(begin) == len(end) == 1:
        first, last = _LETTERS.index(begin), _LETTERS.index(end)
        if first > last:
            raise RangeError(f"host range [{body}] in {text!r} is reversed (begin > end)")
        return "letters", range(first, last + 1, step), 0
    if not (begin.isdigit() and end.isdigit()):
        raise RangeError(
            f"host range [{body}] in {text!r}: bounds must be two numbers or two single letters"
        )
    padded = (begin.startswith("0") and len(begin) > 1) or (end.startswith("0") and len(end) > 1)
    if padded and len(begin) != len(end):
        raise RangeError(
            f"host range [{body}] in {text!r} mixes padding: begin and end must have the same width"
        )
    first, last = int(begin), int(end)
    if first > last:
        raise RangeError(f"host range [{body}] in {text!r} is reversed (begin > end)")
    width = len(begin) if padded else 0
    return "numbers", range(first, last + 1, step), width


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def split_host_port(text: str) -> tuple[str, int | None]:
    """Split ``host:port`` (ranges allowed in ``host``); bare IPv6 has no port.

    >>> split_host_port("web1:2222")
    ('web1', 2222)
    >>> split_host_port("web[01:03]")
    ('web[01:03]', None)
    >>> split_host_port("web[1:3]:22")
    ('web[1:3]', 22)
    >>> split_host_port("fe80::1")
    ('fe80::1', None)
    >>> split_host_port("[::1]:2200")
    ('::1', 2200)
    """
    if text.startswith("[") and "]" in text:
        inner, _, after = text[1:].partition("]")
        if _is_ipv6(inner) and (not after or re.fullmatch(r":\d+", after)):
            return inner, (_port(after[1:], text) if after else None)
    masked = _BRACKETS.sub(lambda m: "x" * len(m.group()), text)
    colons = masked.count(":")
    if colons == 0:
        return text, None
    if colons > 1:
        if _is_ipv6(text):
            return text, None
        raise RangeError(f"{text!r} is neither host:port nor an IPv6 address")
    cut = masked.index(":")
    host, port = text[:cut], text[cut + 1 :]
    if not host:
        raise RangeError(f"{text!r} has a port but no host name")
    return host, _port(port, text)


def _port(port: str, text: str) -> int:
    if not port.isdigit() or int(port) > 65535:
        raise RangeError(f"port in {text!r} must be a number from 0 to 65535")
    return int(port)


def is_single_address(text: str) -> bool:
    """True when ``text`` reads as one host name or address (ranges and port allowed).

    Used by pattern splitting, which treats ``:`` as a separator only otherwise.

    >>> is_single_address("web[1:3]"), is_single_address("::1"), is_single_address("web:db")
    (True, True, False)
    """
    try:
        host, _ = split_host_port(text)
    except RangeError:
        return False
    if _is_ipv6(host):
        return True
    return bool(_HOSTNAME.fullmatch(_BRACKETS.sub("x", host)))
