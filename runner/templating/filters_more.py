"""More of Ansible's filters and tests: versions, sets, combine with recursive/list_merge,
hashes and password_hash, json_query (jmespath), zip/product/permutations, random and
shuffle (seeded), paths, dates, human sizes, comment, and the control-node path tests.
Imports no jinja2 at the top (the sandbox wraps each in runner.templating.guards)."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
from collections.abc import Mapping
from typing import Any

_OPERATORS = {
    "==": "eq", "=": "eq", "eq": "eq", "<": "lt", "lt": "lt", "<=": "le", "le": "le",
    ">": "gt", "gt": "gt", ">=": "ge", "ge": "ge", "!=": "ne", "<>": "ne", "ne": "ne",
}  # fmt: skip
_STRICT = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$")
_LOOSE = re.compile(r"(\d+|[a-z]+|\.)", re.I)
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def _version_key(text: str, kind: str | None, strict: bool) -> Any:
    if kind == "semver" or kind == "semantic":
        match = _SEMVER.match(text)
        if not match:
            raise ValueError(f"invalid semantic version {text!r}")
        pre = match.group(4)
        parts = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ()
        # a release sorts after its pre-releases; numeric identifiers before alphanumeric
        pre_key = [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts]
        return (tuple(int(g) for g in match.groups()[:3]), not pre, pre_key)
    if strict or kind == "strict":
        match = _STRICT.match(text)
        if not match:
            raise ValueError(f"invalid version number {text!r}")
        major, minor, patch, tag, number = match.groups()
        release = (int(major), int(minor), int(patch or 0))
        return (release, (tag, int(number)) if tag else ("z", 0))
    pieces = [p for p in _LOOSE.split(text) if p and p != "."]
    return [int(p) if p.isdigit() else p for p in pieces]


def version_compare(
    value: Any,
    version: Any,
    operator: str = "eq",
    strict: bool = False,
    version_type: str | None = None,
) -> bool:
    """Ansible's ``version`` test: loose (default), strict or semver comparison."""
    op = _OPERATORS.get(str(operator))
    if op is None:
        raise ValueError(f"invalid operator type ({operator})")
    left = _version_key(str(value), version_type, strict)
    right = _version_key(str(version), version_type, strict)
    try:
        return {
            "eq": left == right, "lt": left < right, "le": left <= right,
            "gt": left > right, "ge": left >= right, "ne": left != right,
        }[op]  # fmt: skip
    except TypeError as exc:
        raise ValueError(f"Version comparison failed: {exc}") from exc


def unique(value: Any) -> list:
    out: list = []
    for item in value:
        if item not in out:
            out.append(item)
    return out


def intersect(a: Any, b: Any) -> list:
    return unique([x for x in a if x in b])


def difference(a: Any, b: Any) -> list:
    return unique([x for x in a if x not in b])


def symmetric_difference(a: Any, b: Any) -> list:
    common = intersect(a, b)
    return [x for x in unique(list(a) + list(b)) if x not in common]


def _merge_lists(old: list, new: list, how: str) -> list:
    if how == "replace":
        return new
    if how == "keep":
        return old
    if how == "append":
        return old + new
    if how == "prepend":
        return new + old
    if how == "append_rp":
        return [x for x in old if x not in new] + new
    if how == "prepend_rp":
        return new + [x for x in old if x not in new]
    raise ValueError(
        f"merge_hash: 'list_merge' accepts only replace, keep, append, prepend, append_rp, prepend_rp, not {how!r}"
    )


def merge(old: Mapping, new: Mapping, recursive: bool, how: str) -> dict:
    out = dict(old)
    for key, value in new.items():
        before = out.get(key)
        if recursive and isinstance(before, Mapping) and isinstance(value, Mapping):
            out[key] = merge(before, value, recursive, how)
        elif isinstance(before, list) and isinstance(value, list):
            out[key] = _merge_lists(before, value, how)
        else:
            out[key] = value
    return out


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict:
    dicts: list = []
    for term in terms:
        dicts += list(term) if isinstance(term, list) else [term]
    out: dict = {}
    for d in dicts:
        if not isinstance(d, Mapping):
            raise TypeError(f"combine expects dictionaries, got {d!r}")
        out = merge(out, d, recursive, list_merge)
    return out


def to_hash(value: Any, kind: str = "sha1") -> str:
    try:
        digest = hashlib.new(kind)
    except ValueError as exc:
        raise ValueError(f"unknown hash type {kind!r}") from exc
    digest.update(str(value).encode())
    return digest.hexdigest()


def password_hash(
    value: Any, hashtype: str = "sha512", salt: str | None = None, rounds: int | None = None
) -> str:
    from runner.templating.shacrypt import md5_crypt, sha_crypt

    if rounds and int(rounds) > MAX_CRYPT_ROUNDS:
        from runner.templating.limits import TemplateLimitError

        raise TemplateLimitError(f"password_hash rounds over {MAX_CRYPT_ROUNDS} (MAX_CRYPT_ROUNDS)")
    if hashtype in ("md5", "md5_crypt"):
        return md5_crypt(str(value), salt)
    kinds = {"sha512": "sha512", "sha512_crypt": "sha512", "sha256": "sha256",
             "sha256_crypt": "sha256"}  # fmt: skip
    if hashtype not in kinds:
        raise ValueError(f"password_hash supports sha512, sha256 and md5 (crypt), not {hashtype!r}")
    return sha_crypt(str(value), salt, kinds[hashtype], int(rounds) if rounds else None)


def json_query(value: Any, query: str) -> Any:
    import jmespath  # type: ignore[import-untyped]

    return jmespath.search(query, value)


def random_filter(end: Any, start: Any = None, step: Any = None, seed: Any = None) -> Any:
    from random import Random, SystemRandom

    rng: Any = SystemRandom() if seed is None else Random(seed)
    if isinstance(end, int):
        return rng.randrange(start or 0, end, step or 1)
    if hasattr(end, "__iter__"):
        return rng.choice(list(end))
    raise ValueError("random can only be used on sequences and integers")


def shuffle(value: Any, seed: Any = None) -> list:
    from random import Random, SystemRandom

    items = list(value)
    rng: Any = SystemRandom() if seed is None else Random(seed)
    rng.shuffle(items)
    return items


def human_readable(size: Any, isbits: bool = False, unit: str | None = None) -> str:
    """``1024`` -> ``1.00 KB``; below 1 KiB ``Bytes`` (``bits`` with ``isbits``)."""
    number = float(size)
    base = "bits" if isbits else "Bytes"
    prefixes = ["Y", "Z", "E", "P", "T", "G", "M", "K", "B"]
    for power, prefix in zip(range(8, -1, -1), prefixes, strict=True):
        limit = 1 << (10 * power)
        chosen = unit is not None and unit.upper()[:1] == prefix
        if (unit is None and number >= limit) or chosen:
            break
    text = base if limit == 1 else prefix + base[0]
    return f"{number / limit:.2f} {text}"


_HUMAN = re.compile(r"^\s*(\d*\.?\d+)\s*([KMGTPEZY]?)(i?)([Bb]?)(?:ytes?|its?)?\s*$", re.I)


def human_to_bytes(text: Any, default_unit: str | None = None, isbits: bool = False) -> int:
    match = _HUMAN.match(str(text))
    if not match:
        raise ValueError(f"human_to_bytes() can't interpret {text!r}")
    number, prefix = float(match.group(1)), match.group(2).upper()
    if not prefix and default_unit:
        prefix = default_unit[0].upper()
    return int(round(number * (1 << (10 * " KMGTPEZY".index(prefix or " ")))))


def comment(text: Any, style: str = "plain", decoration: str | None = None, **_: Any) -> str:
    """Ansible's ``comment``: an optional opening line, a bare decoration line, each line
    decorated, a bare decoration line, an optional closing line."""
    styles = {"plain": ("", "# ", ""), "c": ("", "// ", ""), "cblock": ("/*", " * ", " */"),
              "erlang": ("", "% ", ""), "xml": ("<!--", " - ", "-->")}  # fmt: skip
    begin, prefix, end = styles.get(style, styles["plain"])
    if decoration is not None:
        prefix = decoration
    bare = prefix.rstrip()
    lines = [prefix + line if line else bare for line in str(text).split("\n")]
    return "\n".join([*([begin] if begin else []), bare, *lines, bare, *([end] if end else [])])


def extract(item: Any, container: Any, morekeys: Any = None) -> Any:
    value = container[item]
    keys = [] if morekeys is None else morekeys if isinstance(morekeys, list) else [morekeys]
    for key in keys:
        value = value[key]
    return value


def subelements(value: Any, key: Any, skip_missing: bool = False) -> list:
    """The filter (unlike the lookup, each element keeps its sub-list)."""
    elements = list(value.values()) if isinstance(value, Mapping) else list(value)
    path = list(key) if isinstance(key, list) else str(key).split(".")
    out: list = []
    for element in elements:
        found: Any = element
        for part in path:
            if isinstance(found, Mapping) and part in found:
                found = found[part]
            elif skip_missing:
                found = []
                break
            else:
                raise ValueError(f"could not find {part!r} key in iterated item {found!r}")
        if not isinstance(found, list):
            raise TypeError(f"the key {path[-1]!r} should point to a list, got {found!r}")
        out += [[element, sub] for sub in found]
    return out


def strftime(fmt: str, second: Any = None, utc: bool = False) -> str:
    import time

    moment = time.time() if second is None else float(second)
    return time.strftime(fmt, time.gmtime(moment) if utc else time.localtime(moment))


def to_datetime(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> Any:
    import datetime

    return datetime.datetime.strptime(str(value), fmt)


def _bounded(count: int, what: str) -> None:
    """Refuse a result of ``count`` items over MAX_TEMPLATE_OUTPUT before it is built."""
    from runner.templating.limits import MAX_TEMPLATE_OUTPUT, TemplateLimitError

    if count > MAX_TEMPLATE_OUTPUT:
        raise TemplateLimitError(
            f"{what} would have {count} items, more than {MAX_TEMPLATE_OUTPUT} (MAX_TEMPLATE_OUTPUT)"
        )


def product(*lists: Any, repeat: int = 1) -> list:
    parts = [list(x) for x in lists]
    count = 1
    for part in parts:
        count *= len(part)
    if count > 1:
        _bounded(count ** min(int(repeat), 64), "the product")
    return [list(t) for t in itertools.product(*parts, repeat=repeat)]


def permutations(value: Any, r: int | None = None) -> list:
    items = list(value)
    _bounded(math.perm(len(items), r), "the permutations")
    return [list(t) for t in itertools.permutations(items, r)]


def combinations(value: Any, r: int) -> list:
    items = list(value)
    _bounded(math.comb(len(items), int(r)), "the combinations")
    return [list(t) for t in itertools.combinations(items, r)]


MAX_CRYPT_ROUNDS = 1_000_000  # password_hash rounds: CPU time, as the other limits


def more_filters() -> dict[str, Any]:
    import shlex

    import yaml

    return {
        "unique": unique,
        "union": lambda a, b: unique(list(a) + list(b)),
        "intersect": intersect,
        "difference": difference,
        "symmetric_difference": symmetric_difference,
        "combine": combine,
        "hash": to_hash,
        "checksum": lambda v: to_hash(v, "sha1"),
        "md5": lambda v: to_hash(v, "md5"),
        "sha1": lambda v: to_hash(v, "sha1"),
        "password_hash": password_hash,
        "json_query": json_query,
        "zip": lambda *lists: [list(t) for t in zip(*lists, strict=False)],
        "zip_longest": lambda *lists, fillvalue=None: [
            list(t) for t in itertools.zip_longest(*lists, fillvalue=fillvalue)
        ],
        "product": product,
        "permutations": permutations,
        "combinations": combinations,
        "random": random_filter,
        "shuffle": shuffle,
        "expanduser": lambda v: os.path.expanduser(str(v)),
        "expandvars": lambda v: os.path.expandvars(str(v)),
        "realpath": lambda v: os.path.realpath(str(v)),
        "relpath": lambda v, start=os.curdir: os.path.relpath(str(v), str(start)),
        "splitext": lambda v: list(os.path.splitext(str(v))),
        "path_join": lambda v: (
            os.path.join(*[str(p) for p in v]) if isinstance(v, list) else str(v)
        ),
        "strftime": strftime,
        "to_datetime": to_datetime,
        "human_readable": human_readable,
        "human_to_bytes": human_to_bytes,
        "comment": comment,
        "regex_escape": lambda v, re_type="python": re.escape(str(v)),
        "from_yaml_all": lambda v: list(yaml.safe_load_all(v)),
        "extract": extract,
        "subelements": subelements,
        "type_debug": lambda v: type(v).__name__,
        "version_compare": version_compare,
        "version": version_compare,
        "shell_quote": lambda v: shlex.quote(str(v)),
    }


def more_tests() -> dict[str, Any]:
    def subset(a: Any, b: Any) -> bool:
        return all(x in b for x in a)

    return {
        "version": version_compare,
        "version_compare": version_compare,
        "subset": subset,
        "superset": lambda a, b: subset(b, a),
        "contains": lambda seq, value: value in seq,
        "file": lambda p: os.path.isfile(str(p)),
        "directory": lambda p: os.path.isdir(str(p)),
        "exists": lambda p: os.path.exists(os.path.expanduser(str(p))),
        "link": lambda p: os.path.islink(str(p)),
        "abs": lambda p: os.path.isabs(str(p)),
        "same_file": lambda a, b: os.path.samefile(str(a), str(b)),
        "mount": lambda p: os.path.ismount(str(p)),
        "is_file": lambda p: os.path.isfile(str(p)),
        "is_dir": lambda p: os.path.isdir(str(p)),
        "is_link": lambda p: os.path.islink(str(p)),
        "is_abs": lambda p: os.path.isabs(str(p)),
    }
