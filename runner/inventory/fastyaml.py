"""A fast reader for the plain block-mapping subset of YAML that big inventories use.

PyYAML builds Python node objects for every scalar even with libyaml, which costs
about 4 s for a 50,000-host inventory. Large inventories are almost always nested
``key: value`` / ``key:`` lines with plain scalars, which this module reads line by
line, resolving scalars with PyYAML's own YAML 1.1 rules (so ``yes`` is True, ``010``
is 8, ``1.5`` a float, exactly as ``yaml.safe_load`` gives).

Anything outside that subset (quotes, flow collections, lists, anchors, tags, block
scalars, tabs, odd indentation...) raises :class:`NotSimple`, and the caller falls
back to the full reader (:mod:`runner.safeyaml`), which also produces the error
messages for invalid files. So do duplicate keys, keys that are not strings (``80:``,
``yes:``), values that fail to construct (``2001-13-45``) and nesting deeper than
``MAX_DEPTH``: what this reader returns is always a tree of string-keyed dicts.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from runner.safeyaml import MAX_DEPTH, MAX_INT_DIGITS

__all__ = ["NotSimple", "load_simple_yaml"]

_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_CONSTRUCTOR = SafeConstructor()
_SCALAR_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
}
_STR_TAG = "tag:yaml.org,2002:str"
_INT_BOUND = 10**MAX_INT_DIGITS
# The usual inventory line, read with one regex: "  name:" or "  name: value".
_COMMON_LINE = re.compile(
    r"( *)([A-Za-z0-9_][A-Za-z0-9_.\-\[\]]*):(?: ([A-Za-z0-9_./][A-Za-z0-9_./\-]*))?"
)


# First characters for which some implicit resolver may apply; other scalars are strings.
class _AnyCharacter:
    def __contains__(self, item: object) -> bool:
        return True


_RESOLVED_FIRST: Any = frozenset(k for k in Resolver.yaml_implicit_resolvers if k)
if None in Resolver.yaml_implicit_resolvers:  # a resolver registered for any first character
    _RESOLVED_FIRST = _AnyCharacter()
# Tabs, escapes, control characters, a BOM and line breaks other than \n and \r.
_UNSUPPORTED = re.compile(r"[\t\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\u2028\u2029]")


class NotSimple(Exception):
    """The text uses YAML beyond the plain block-mapping subset."""


def _resolve(text: str, cache: dict[str, Any]) -> Any:
    """A plain scalar as PyYAML's SafeLoader would construct it."""
    try:
        return cache[text]
    except KeyError:
        pass
    resolvers = Resolver.yaml_implicit_resolvers
    tag = _STR_TAG
    for candidate, regexp in resolvers.get(text[0], []) + resolvers.get(None, []):
        if regexp.match(text):
            tag = candidate
            break
    if tag == _STR_TAG:
        value: Any = text
    elif tag in _SCALAR_TAGS:
        node = yaml.ScalarNode(tag, text)
        try:
            value = SafeConstructor.yaml_constructors[tag](_CONSTRUCTOR, node)
        except Exception as exc:  # noqa: BLE001 - the full reader says what is wrong
            raise NotSimple(text) from exc
        if isinstance(value, int) and not -_INT_BOUND < value < _INT_BOUND:
            raise NotSimple(text)
    else:  # '<<' merge keys, '=' value keys
        raise NotSimple(text)
    cache[text] = value
    return value


def _split_line(line: str) -> tuple[int, str, str | None] | None:
    """(indent, key, value or None) of one line; None for blank and comment lines."""
    body = line.lstrip(" ")
    if not body or body[0] == "#":
        return None
    indent = len(line) - len(body)
    cut = body.find(" #")
    if cut != -1:
        body = body[:cut]
    body = body.rstrip(" ")
    if body == "---":
        return indent, body, None
    if body.endswith(":") and ": " not in body:
        key, value = body[:-1].rstrip(" "), None
    else:
        key, sep, value = body.partition(": ")
        if not sep:
            raise NotSimple(line)
        key, value = key.rstrip(" "), value.strip(" ")
        if not value:
            value = None
        elif value[0] in _INDICATORS or ": " in value or value.endswith(":"):
            raise NotSimple(line)
    if not key or key[0] in _INDICATORS:
        raise NotSimple(line)
    return indent, key, value


def load_simple_yaml(text: str) -> Any:
    """Parse ``text`` if it is plain nested mappings; raise :class:`NotSimple` otherwise.

    >>> load_simple_yaml("all:\\n  hosts:\\n    web1:\\n      port: 22  # ssh\\n    web2:\\n")
    {'all': {'hosts': {'web1': {'port': 22}, 'web2': None}}}
    """
    if _UNSUPPORTED.search(text):
        raise NotSimple("tabs, escapes or special characters")
    cache: dict[str, Any] = {}
    root: dict[Any, Any] = {}
    stack: list[tuple[int, dict[Any, Any]]] = []
    pending: tuple[dict[Any, Any], Any, int] | None = None
    started = document_start = False
    common = _COMMON_LINE.fullmatch
    for line in text.splitlines():
        match = common(line)
        if match is not None:
            spaces, key, value = match.groups()
            indent = len(spaces)
        else:
            parsed = _split_line(line)
            if parsed is None:
                continue
            indent, key, value = parsed
        if key == "---":  # a document start is only accepted as the first line
            if started or indent or document_start:
                raise NotSimple(line)
            document_start = True
            continue
        if not started:
            started = True
            stack.append((indent, root))
        if pending is not None:
            parent, parent_key, parent_indent = pending
            if indent > parent_indent:
                if len(stack) >= MAX_DEPTH:
                    raise NotSimple(line)
                child: dict[Any, Any] = {}
                parent[parent_key] = child
                stack.append((indent, child))
            pending = None
        while stack and stack[-1][0] > indent:
            stack.pop()
        if not stack or stack[-1][0] != indent:
            raise NotSimple(line)
        current = stack[-1][1]
        if key[0] in _RESOLVED_FIRST:
            key = _resolve(key, cache)
            if key.__class__ is not str:
                raise NotSimple(line)
        if key in current:
            raise NotSimple(line)  # a duplicate key: the full reader names both lines
        if value is None:
            current[key] = None
            pending = (current, key, indent)
        else:
            current[key] = _resolve(value, cache) if value[0] in _RESOLVED_FIRST else value
    return root if started else None
