"""The lookups that shape data: items, list, dict, indexed_items, sequence, subelements,
nested, together, vars, varnames. Each takes (context, terms, options), returns a list."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from jinja2.runtime import missing

from runner.templating.filters import truth
from runner.templating.limits import MAX_TEMPLATE_OUTPUT, TemplateLimitError
from runner.templating.lookup_files import LookupFailed


def _flatten_once(terms: Any) -> list:
    out: list = []
    for term in terms:
        if isinstance(term, (list, tuple)):
            out.extend(term)
        else:
            out.append(term)
    return out


def _listify(term: Any) -> list:
    if isinstance(term, str):
        return [term]
    if isinstance(term, Mapping):
        return [term]
    if isinstance(term, (list, tuple)):
        return list(term)
    return [term]


# -- plugins: each takes (context, terms, options) and returns a list ----------------------


def lookup_dict(context: Any, terms: list, opts: dict) -> list:
    out = []
    for term in terms:
        if not isinstance(term, Mapping):
            raise LookupFailed(f"with_dict expects a dict, not {type(term).__name__}")
        out += [{"key": k, "value": v} for k, v in term.items()]
    return out


def lookup_indexed_items(context: Any, terms: list, opts: dict) -> list:
    return [[i, x] for i, x in enumerate(_flatten_once(terms))]


_NUM = r"(0?x?[0-9a-f]+)"  # no negative numbers in the shortcut form, as in Ansible
_SHORTCUT = re.compile(rf"^(?:{_NUM}-)?{_NUM}(?:/{_NUM})?(?::(.+))?$", re.I)


def _int(text: Any) -> int:
    """Decimal only: ansible-core 2.19 refuses the hex its documentation shows."""
    try:
        return int(str(text))
    except ValueError as exc:
        raise LookupFailed(f"sequence expects integers, not {text!r}") from exc


def lookup_sequence(context: Any, terms: list, opts: dict) -> list:
    out: list[str] = []
    for term in terms:
        spec = {"start": 1, "end": None, "count": None, "stride": 1, "format": "%d"}
        spec.update({k: v for k, v in opts.items() if k in spec})
        words = str(term).split()
        if words and "=" not in words[0]:
            match = _SHORTCUT.match(words[0])
            if not match:
                raise LookupFailed(f"can't parse arg {words[0]!r} as a sequence")
            start, end, stride, fmt = match.groups()
            spec.update({"end": end, "start": start or 1, "stride": stride or 1})
            if fmt:
                spec["format"] = fmt
            words = words[1:]
        for word in words:
            key, _, value = word.partition("=")
            if key not in spec:
                raise LookupFailed(f"unrecognized sequence argument {key!r}")
            spec[key] = value
        start, stride = _int(spec["start"]), _int(spec["stride"])
        if spec["count"] is not None:
            count = _int(spec["count"])
            end = start + count * stride - 1 if count else start - 1
            if count == 0:
                continue
        elif spec["end"] is not None:
            end = _int(spec["end"])
        else:
            raise LookupFailed("must specify count or end in with_sequence")
        if stride == 0:
            continue
        if (stride > 0 and end < start) or (stride < 0 and end > start):
            raise LookupFailed("to count backwards make stride negative")
        stop = end + (1 if stride > 0 else -1)
        if abs((stop - start) // stride) > MAX_TEMPLATE_OUTPUT:
            raise TemplateLimitError("the sequence is too long")
        out += [str(spec["format"]) % n for n in range(start, stop, stride)]
    return out


def lookup_subelements(context: Any, terms: list, opts: dict) -> list:
    if len(terms) not in (2, 3):
        raise LookupFailed("subelements lookup expects a list, a key and optional flags")
    items, key = terms[0], terms[1]
    flags = terms[2] if len(terms) == 3 else {}
    skip = isinstance(flags, Mapping) and truth(flags.get("skip_missing", False))
    if isinstance(items, Mapping):
        items = list(items.values())
    out = []
    parts = str(key).split(".")
    for item in items:
        if not isinstance(item, Mapping):
            raise LookupFailed(f"subelements lookup expects a dictionary, got {item!r}")
        if item.get("skipped", False) is not False:
            continue
        # the item is given without the sub-list (Ansible pops it): copy the path to it
        top = outer = dict(item)
        found = True
        for part in parts[:-1]:
            inner = outer.get(part)
            if not isinstance(inner, Mapping):
                found = False
                break
            outer[part] = dict(inner)
            outer = outer[part]
        if not found or parts[-1] not in outer:
            if skip:
                continue
            raise LookupFailed(f"could not find {key!r} key in iterated item {item!r}")
        value = outer.pop(parts[-1])
        if not isinstance(value, list):
            raise LookupFailed(f"the key {key} should point to a list, got {value!r}")
        out += [[top, sub] for sub in value]
    return out


def lookup_nested(context: Any, terms: list, opts: dict) -> list:
    if not terms:
        raise LookupFailed("with_nested requires at least one element in the nested list")
    lists = [_listify(t) for t in terms]
    size = 1
    for part in lists:
        size *= len(part)
    if size > MAX_TEMPLATE_OUTPUT:
        raise TemplateLimitError("the nested product is too long")
    return [_flatten_once(combo) for combo in itertools.product(*lists)]


def lookup_together(context: Any, terms: list, opts: dict) -> list:
    if not terms:
        raise LookupFailed("with_together requires at least one element in each list")
    return [list(t) for t in itertools.zip_longest(*[_listify(t) for t in terms])]


def lookup_vars(context: Any, terms: list, opts: dict) -> list:
    out = []
    for term in terms:
        value = context.resolve_or_missing(str(term))
        if value is missing:
            if "default" in opts:
                value = opts["default"]
            else:
                raise LookupFailed(f"No variable found with this name: {term}")
        out.append(value)
    return out


def lookup_varnames(context: Any, terms: list, opts: dict) -> list:
    names = sorted(set(context.get_all()), key=str)
    out: list[str] = []
    for term in terms:
        pattern = re.compile(str(term))
        out += [n for n in names if pattern.search(n)]
    return out


def lookup_items(context: Any, terms: list, opts: dict) -> list:
    return _flatten_once(terms)
