"""Variables as JSON and back, for what crosses a process boundary.

Inventory and ``-e`` variables are whatever YAML made of them: besides JSON's own types
there are dates, timestamps, bytes (``!!binary``), sets (``!!set``), tuples, non-string
mapping keys, non-finite floats, ``!unsafe`` text and (still encrypted) ``!vault``
values (runner.tagged). ``encode_value`` turns those into tagged JSON
objects (``{"__runner__": "date", "value": "2024-05-01"}``) and ``decode_value`` turns
them back, so a worker sees the same variables as the process that loaded them.

>>> import datetime
>>> value = {"when": datetime.date(2024, 5, 1), 1: b"x", "s": {2}, "n": [1, None]}
>>> decode_value(encode_value(value)) == value
True
>>> encode_value({"a": [1, "b"]})
{'a': [1, 'b']}
>>> decode_value(encode_value([UnsafeText("{{ x }}")]))
[UnsafeText('{{ x }}')]
"""

from __future__ import annotations

import base64
import datetime
import math
from typing import Any

from runner.tagged import UnsafeText, VaultValue

TAG = "__runner__"

__all__ = ["TAG", "decode_value", "encode_value"]


def encode_value(value: Any) -> Any:
    """``value`` as JSON data (tuples become lists; anything unknown becomes its repr,
    tagged, so encoding never fails)."""
    kind = value.__class__
    if kind is UnsafeText:
        return {TAG: "unsafe", "value": str(value)}
    if kind is VaultValue:  # still encrypted: the other side has the keyring
        return {TAG: "vault", "value": value.envelope, "path": value.path, "line": value.line}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {TAG: "float", "value": repr(value)}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode_value(v) for k, v in value.items()}
        return {
            TAG: "dict",
            "items": [[encode_value(k), encode_value(v)] for k, v in value.items()],
        }
    if isinstance(value, datetime.datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, datetime.date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, (bytes, bytearray)):
        return {TAG: "bytes", "value": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return {TAG: "set", "items": [encode_value(v) for v in value]}
    return {TAG: "repr", "value": repr(value)}


def decode_value(data: Any) -> Any:
    """The inverse of :func:`encode_value` (a ``repr`` tag stays its text)."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(TAG)
    if tag is None:
        return {k: decode_value(v) for k, v in data.items()}
    if tag == "dict":
        return {_hashable(decode_value(k)): decode_value(v) for k, v in data["items"]}
    if tag == "datetime":
        return datetime.datetime.fromisoformat(data["value"])
    if tag == "date":
        return datetime.date.fromisoformat(data["value"])
    if tag == "bytes":
        return base64.b64decode(data["value"])
    if tag == "set":
        return {_hashable(decode_value(v)) for v in data["items"]}
    if tag == "float":
        return float(data["value"])
    if tag == "unsafe":
        return UnsafeText(data["value"])
    if tag == "vault":
        return VaultValue(data["value"], data.get("path"), data.get("line"))
    return data["value"]


def _hashable(value: Any) -> Any:
    """A decoded mapping key or set member (lists came from tuples)."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
