"""Pure helpers for reports: fold host names into ranges, group identical outputs.

Nothing here prints or knows about rich. Folding follows ClusterShell's nodeset text:

>>> fold_hosts(["web01", "web02", "web03", "db3"])
'db3,web[01-03]'
>>> expand_folded("db3,web[01-03]")
['db3', 'web01', 'web02', 'web03']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from runner.models import HostResult
from runner.module_results import result_text

__all__ = [
    "OutputGroup",
    "expand_folded",
    "fold_addresses",
    "fold_hosts",
    "fold_reasons",
    "group_results",
    "natural_key",
    "split_addresses",
]

_ASCII_DIGITS = "0123456789"
_NOT_DIGITS = "".join(chr(c) for c in range(128) if chr(c) not in _ASCII_DIGITS)
_DIGITS = re.compile(r"([0-9]+)")
_RUN = re.compile(r"[0-9]+")


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically.

    ``sorted(["web10", "web9", "db1"], key=natural_key)`` -> ``['db1', 'web9', 'web10']``.
    Equal numbers with different zero padding are ordered shorter first
    (``web1`` before ``web01``), so the order is total and deterministic.
    """
    parts = _DIGITS.split(name)
    # re.split with one group alternates text, digits, text...: positions keep their type.
    for i in range(1, len(parts), 2):
        digits = parts[i]
        parts[i] = (int(digits), len(digits))
    return tuple(parts)


def _ranges(numbers: list[int], width: int) -> str:
    """Sorted unique ints -> ``01-03,05`` (zero padded to ``width``)."""
    out: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n == prev + 1:
            prev = n
            continue
        out.append(_span(start, prev, width))
        start = prev = n
    out.append(_span(start, prev, width))
    return ",".join(out)


def _span(start: int, end: int, width: int) -> str:
    if start == end:
        return f"{start:0{width}d}"
    return f"{start:0{width}d}-{end:0{width}d}"


def fold_hosts(names: Iterable[str]) -> str:
    """Fold host names into compact nodeset text; duplicates are dropped.

    Names fold on their LAST number; zero padding is kept and different paddings are
    different sets; names without digits are listed as they are::

        ["web01", ..., "web20", "db3"]      -> "db3,web[01-20]"
        ["web01", "web02", "web03", "web05"] -> "web[01-03,05]"
        ["rack1-node01", ..., "rack1-node04"] -> "rack1-node[01-04]"
        ["web1", "web01"]                   -> "web1,web01"
        ["web9", "web10", "web11"]          -> "web[9-11]"
        ["web08", "web09", "web10"]         -> "web[08-10]"
        ["a1.example.com", "a2.example.com"] -> "a[1-2].example.com"
        ["localhost"]                       -> "localhost"

    Pieces are ordered by prefix (naturally), suffix, padding width, then first number.
    A number without a leading zero (``web10``) joins the padded set of its width
    (``web[08-10]``) when there is one, else the unpadded set. Names containing
    ``[``, ``]`` or ``,`` are listed as is and cannot be expanded back unambiguously.
    """
    # (prefix, suffix) -> digit strings seen with them. Two C-level rstrip calls per name
    # find its last number: "rack1-node01.a" -> ("rack1-node", "01", ".a").
    families: dict[tuple[str, str], list[str]] = {}
    plain: set[str] = set()
    for name in names:
        stem = name.rstrip(_NOT_DIGITS)
        if not stem:
            plain.add(name)
            continue
        if stem[-1] not in _ASCII_DIGITS:  # a non-ASCII character: take the slow path
            parts = _DIGITS.split(name)
            if len(parts) == 1:
                plain.add(name)
                continue
            stem = name[: len(name) - len(parts[-1])]
        prefix = stem.rstrip(_ASCII_DIGITS)
        key = (prefix, name[len(stem) :])
        family = families.get(key)
        if family is None:
            families[key] = [stem[len(prefix) :]]
        else:
            family.append(stem[len(prefix) :])

    pieces: list[tuple[tuple, str]] = [((n, n, "", -1, -1), n) for n in plain]
    items = list(families.items())
    prefix_keys = _sortable([prefix for (prefix, _), _ in items])
    for ((prefix, suffix), digit_list), pkey in zip(items, prefix_keys, strict=True):
        if len(digit_list) == 1:  # fast path: most names of a badly folding inventory
            digits = digit_list[0]
            width = len(digits) if digits[0] == "0" and len(digits) > 1 else 0
            pieces.append(((pkey, prefix, suffix, width, int(digits)), prefix + digits + suffix))
            continue
        # width 0 = unpadded; width w = zero padded to w digits.
        unique = set(digit_list)
        padded_widths = {len(d) for d in unique if d[0] == "0" and len(d) > 1}
        by_width: dict[int, list[int]] = {}
        for digits in unique:
            width = len(digits)
            if width not in padded_widths:
                width = 0
            by_width.setdefault(width, []).append(int(digits))
        for width, numbers in by_width.items():
            numbers.sort()
            if len(numbers) == 1:
                text = f"{prefix}{numbers[0]:0{width}d}{suffix}"
            else:
                text = f"{prefix}[{_ranges(numbers, width)}]{suffix}"
            pieces.append(((pkey, prefix, suffix, width, numbers[0]), text))
    pieces.sort()
    return ",".join([text for _, text in pieces])


def _encode_number(match: re.Match) -> str:
    digits = match[0].lstrip("0")
    return chr(0x30 + len(digits)) + digits


def _sortable(texts: list[str]) -> list[str]:
    """Strings that sort naturally: each number becomes its length then its digits.

    ``rack2-`` -> ``rack12-``, ``rack10-`` -> ``rack210-``, so rack2 sorts before rack10.
    One regex pass over all the texts at once (fold_hosts' pathological case is 10,000
    prefixes); equal keys (``r01``/``r1``) are tie-broken by the caller.
    """
    keys = _RUN.sub(_encode_number, "\0".join(texts)).split("\0")
    if len(keys) != len(texts):  # a NUL inside a name
        keys = [_RUN.sub(_encode_number, text) for text in texts]
    return keys


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets: ``a,b[1,2]`` -> ``['a', 'b[1,2]']``."""
    items: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "[":
            if depth:
                raise ValueError(f"nested '[' in {text!r}")
            depth = 1
        elif ch == "]":
            if not depth:
                raise ValueError(f"unbalanced ']' in {text!r}")
            depth = 0
        elif ch == "," and not depth:
            items.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"unbalanced '[' in {text!r}")
    items.append(text[start:])
    return [item for item in items if item]


def _expand_ranges(body: str, text: str) -> list[str]:
    """``01-03,7`` -> ``['01', '02', '03', '7']``; padding follows the start bound."""
    out: list[str] = []
    for part in body.split(","):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"bad range {part!r} in {text!r}")
        if not sep:
            out.append(lo)
            continue
        width = len(lo) if lo[0] == "0" and len(lo) > 1 else 0
        start, end = int(lo), int(hi)
        if start > end:
            raise ValueError(f"range {part!r} goes backwards in {text!r}")
        out.extend(f"{n:0{width}d}" for n in range(start, end + 1))
    return out


def expand_folded(text: str) -> list[str]:
    """Inverse of :func:`fold_hosts`: nodeset text -> host names, in text order.

    ``"db3,web[01-03,05]"`` -> ``['db3', 'web01', 'web02', 'web03', 'web05']``;
    ``"r[1-2]n[1-2]"`` -> ``['r1n1', 'r1n2', 'r2n1', 'r2n2']`` (several brackets multiply).
    Raises ValueError on unbalanced brackets or malformed ranges.
    """
    names: list[str] = []
    for item in _split_top(text):
        expanded = [""]
        rest = item
        while "[" in rest:
            head, _, tail = rest.partition("[")
            body, _, rest = tail.partition("]")
            values = _expand_ranges(body, text)
            expanded = [f"{done}{head}{v}" for done in expanded for v in values]
        names.extend(f"{done}{rest}" for done in expanded)
    return names


@dataclass(frozen=True)
class OutputGroup:
    """Hosts that printed exactly the same thing and ended with the same exit code."""

    hosts: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    status: str | None = None  # a module's verdict (runner run -m): ok, changed, skipped

    @cached_property
    def folded(self) -> str:
        """The host set as nodeset text, e.g. ``web[01-20]``."""
        return fold_hosts(self.hosts)

    @property
    def label(self) -> str:
        """``web[01-20] (20)``."""
        return f"{self.folded} ({len(self.hosts)})"


def group_results(results: Iterable[HostResult]) -> list[OutputGroup]:
    """Group hosts that have a command result by identical (exit code, stdout, stderr),
    and the hosts of a module run (``runner run -m``) also by verdict; those a module
    ran on without a command (file, copy...) by identical result text
    (runner.module_results), its failures left to their failure lines.

    Hosts without a command (unreachable, template errors...) are left out. One hash
    per host on the raw bytes (and the dropped-byte counts, which change the text); the
    text is decoded once per group. Groups are ordered by exit code, then host set text;
    hosts inside a group are sorted naturally. 500 identical outputs -> one group.
    """
    buckets: dict[tuple, list[HostResult]] = {}
    texts: dict[tuple, str] = {}
    for result in results:
        cmd = result.command
        status = result.status.value if result.module else None
        if cmd is not None:
            key: tuple = (cmd.exit_code, cmd.stdout, cmd.stdout_dropped, cmd.stderr)
            key += (cmd.stderr_dropped, status)
        elif result.module_result is not None and result.status.value in _MODULE_SHOWN:
            text = result_text(result.module_result)  # a module's result, not a command's
            key = (None, text, status)
            texts[key] = text
        else:
            continue
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = [result]
        else:
            bucket.append(result)

    groups: list[OutputGroup] = []
    for key, members in buckets.items():
        first = members[0]
        hosts = tuple(sorted((r.host for r in members), key=natural_key))
        status = key[-1]
        if first.command is None:
            groups.append(OutputGroup(hosts, 0, texts[key], "", status))
        else:
            cmd = first.command
            groups.append(
                OutputGroup(hosts, cmd.exit_code, cmd.stdout_text, cmd.stderr_text, status)
            )
    groups.sort(key=lambda g: (g.exit_code, g.status or "", g.folded))
    return groups


_MODULE_SHOWN = frozenset({"ok", "changed", "skipped"})  # failures get a failure line


# -- folding failure reasons ------------------------------------------------------------

# An address part of an error message: [user@](host|[v6]|bare v6):port. Bare v6 is how the
# transport writes f"{address}:{port}" for ::1. Not inside a word, a path or another address.
_ADDRESS = re.compile(
    r"(?<![\w.:@/\[\]-])"
    r"(?:[^\s@()\[\]'\",]+@)?"
    r"(?:\[[0-9A-Za-z:.%_-]+\]"
    r"|[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:]*"
    r"|[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)"
    r":[0-9]{1,5}(?![\w])"
)
_SLOT = "\x00"
_MAX_SHOWN = 40  # a folded address set longer than this is shown as a count


def split_addresses(reason: str) -> tuple[str, tuple[str, ...]]:
    """``reason`` with each address part (``HOST:PORT``, ``[v6]:port``, ``user@host:port``,
    the hops of ``via bastion ...``) replaced by a NUL, and those parts in order: hosts
    failing for the same reason at different addresses share the first item.

    >>> split_addresses("connection refused (127.0.0.1:2201)")
    ('connection refused (\\x00)', ('127.0.0.1:2201',))
    >>> split_addresses("authentication failed for deploy@10.0.0.32:22 (tried: ~/.ssh/id)")
    ('authentication failed for \\x00 (tried: ~/.ssh/id)', ('deploy@10.0.0.32:22',))
    >>> split_addresses("connection lost ([::1]:2222 via bastion ops@gw:22 -> root@in:22)")
    ('connection lost (\\x00 via bastion \\x00 -> \\x00)', ('[::1]:2222', 'ops@gw:22', 'root@in:22'))
    >>> split_addresses("cannot connect to ::1:22: Network is unreachable")
    ('cannot connect to \\x00: Network is unreachable', ('::1:22',))
    >>> split_addresses("host key changed, see /etc/ssh/known_hosts:12")
    ('host key changed, see /etc/ssh/known_hosts:12', ())

    Text such as ``12:30`` is taken for an address too; it costs nothing, since a part
    every host shares is shown as it is.
    """
    if _SLOT in reason:  # kept exactly (its NUL shows as ^@ on a terminal), not folded
        return reason, ()
    parts = tuple(m.group() for m in _ADDRESS.finditer(reason))
    return _ADDRESS.sub(_SLOT, reason), parts


def fold_addresses(addresses: Iterable[str]) -> str:
    """One address as is; several folded as host names are when that gives one short
    piece, else a count.

    >>> fold_addresses(["127.0.0.1:2201"])
    '127.0.0.1:2201'
    >>> fold_addresses(["127.0.0.1:2202", "127.0.0.1:2201", "127.0.0.1:2203"])
    '127.0.0.1:[2201-2203]'
    >>> fold_addresses(["10.0.0.31:22", "10.0.0.30:22"])
    '10.0.0.[30-31]:22'
    >>> fold_addresses(["a.example:22", "b.example:2222"])
    '2 addresses'
    """
    unique = sorted(set(addresses), key=natural_key)
    if len(unique) == 1:
        return unique[0]
    folded = fold_hosts(unique)
    if len(_split_top(folded)) > 1 or len(folded) > _MAX_SHOWN:
        heads = {a.rpartition(":")[0] for a in unique}
        ports = {a.rpartition(":")[2] for a in unique}
        folded = ""
        if len(ports) == 1 and len(heads) == len(unique):
            folded = f"{fold_hosts(heads)}:{ports.pop()}"
        if not folded or len(_split_top(folded)) > 1 or len(folded) > _MAX_SHOWN:
            return f"{len(unique)} addresses"
    return folded


def fold_reasons(reasons: Iterable[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(host, reason) pairs -> (hosts, reason) with hosts whose reasons differ only in
    their addresses together, the addresses folded (:func:`fold_addresses`), in first
    seen order.

    >>> fold_reasons([("web01", "refused (10.0.0.1:22)"), ("web02", "refused (10.0.0.2:22)"),
    ...               ("db1", "auth failed for root@db1:22")])
    [(['web01', 'web02'], 'refused (10.0.0.[1-2]:22)'), (['db1'], 'auth failed for root@db1:22')]
    """
    groups: dict[tuple[str, int], tuple[list[str], list[list[str]]]] = {}
    for host, reason in reasons:
        template, parts = split_addresses(reason)
        key = (template, len(parts))
        group = groups.get(key)
        if group is None:
            groups[key] = ([host], [[p] for p in parts])
        else:
            group[0].append(host)
            for slot, part in zip(group[1], parts, strict=True):
                slot.append(part)
    out: list[tuple[list[str], str]] = []
    for (template, _), (hosts, slots) in groups.items():
        if not slots:
            out.append((hosts, template))
            continue
        pieces = template.split(_SLOT)
        text = pieces[0]
        for slot, piece in zip(slots, pieces[1:], strict=True):
            text += fold_addresses(slot) + piece
        out.append((hosts, text))
    return out
