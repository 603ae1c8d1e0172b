"""The common Ansible filters and tests runner's Jinja2 environment adds (the sandbox
wraps each in the size checks of runner.templating.guards), and Ansible's idea of true
they share with conditions. Imports no jinja2 at the top: ``truth`` is needed without it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def truth(value: Any) -> bool:
    """Ansible's idea of true: ``"yes"``, ``"on"``, ``"1"``, ``"true"`` (any case) are
    true and ``"no"``, ``"off"``, ``"0"``, ``"false"``, ``""`` are false; other values
    use Python truthiness.

    >>> truth("False"), truth("yes"), truth([]), truth(1)
    (False, True, False, True)
    """
    if isinstance(value, str):
        lowered = value.strip().lower()
        return lowered not in ("no", "off", "0", "false", "n", "f", "", "none")
    return bool(value)


def ansible_filters() -> dict[str, Any]:
    import json
    import os.path
    import shlex

    import yaml

    def to_bool(value: Any) -> bool:
        return truth(value) if value is not None else False

    def regex_replace(
        value: Any,
        pattern: str,
        replacement: str = "",
        ignorecase: bool = False,
        multiline: bool = False,
        count: int = 0,
    ) -> str:
        flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
        return re.sub(pattern, replacement, str(value), count=count, flags=flags)

    def regex_search(value: Any, pattern: str, ignorecase: bool = False) -> str | None:
        found = re.search(pattern, str(value), re.I if ignorecase else 0)
        return found.group(0) if found else None

    def regex_findall(value: Any, pattern: str, ignorecase: bool = False) -> list:
        return re.findall(pattern, str(value), re.I if ignorecase else 0)

    def to_json(value: Any, indent: int | None = None, sort_keys: bool = False) -> str:
        return json.dumps(value, indent=indent, sort_keys=sort_keys, default=str)

    def to_yaml(
        value: Any, indent: int | None = None, flow: bool | None = None, sort_keys: bool = True
    ) -> str:
        """As Ansible: keys sorted, unicode kept, no ``...`` after a lone scalar."""
        text = yaml.safe_dump(
            value, default_flow_style=flow, indent=indent, sort_keys=sort_keys, allow_unicode=True
        )
        return text.removesuffix("...\n") if not isinstance(value, (dict, list)) else text

    def mandatory(value: Any, msg: str | None = None) -> Any:
        from jinja2 import Undefined
        from jinja2.exceptions import UndefinedError

        if isinstance(value, Undefined):
            raise UndefinedError(msg or "mandatory variable not defined")
        return value

    def ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
        if value is None and none_val is not None:
            return none_val
        return true_val if truth(value) else false_val

    def dict2items(value: Mapping) -> list[dict]:
        return [{"key": k, "value": v} for k, v in value.items()]

    def items2dict(value: list, key_name: str = "key", value_name: str = "value") -> dict:
        return {item[key_name]: item[value_name] for item in value}

    def combine(*dicts: Mapping) -> dict:
        out: dict = {}
        for d in dicts:
            out.update(d)
        return out

    def flatten(value: list, levels: int | None = None) -> list:
        out: list = []
        for item in value:
            if isinstance(item, (list, tuple)) and (levels is None or levels > 0):
                out.extend(flatten(list(item), None if levels is None else levels - 1))
            else:
                out.append(item)
        return out

    def b64encode(value: Any) -> str:
        import base64

        return base64.b64encode(str(value).encode()).decode()

    def b64decode(value: Any) -> str:
        import base64

        return base64.b64decode(str(value)).decode(errors="replace")

    return {
        "bool": to_bool,
        "regex_replace": regex_replace,
        "regex_search": regex_search,
        "regex_findall": regex_findall,
        "to_json": to_json,
        "to_nice_json": lambda v, indent=4: to_json(v, indent=indent, sort_keys=True),
        "from_json": lambda v: json.loads(v),
        "to_yaml": to_yaml,
        "to_nice_yaml": lambda v, indent=4, sort_keys=True: to_yaml(v, indent, False, sort_keys),
        "from_yaml": lambda v: yaml.safe_load(v),
        "basename": lambda v: os.path.basename(str(v)),
        "dirname": lambda v: os.path.dirname(str(v)),
        "quote": lambda v: shlex.quote(str(v)),
        "mandatory": mandatory,
        "ternary": ternary,
        "dict2items": dict2items,
        "items2dict": items2dict,
        "combine": combine,
        "flatten": flatten,
        "b64encode": b64encode,
        "b64decode": b64decode,
        "splitlines": lambda v: str(v).splitlines(),
    }


def _result_flag(value: Any, key: str) -> bool:
    if not isinstance(value, Mapping):
        raise TypeError(
            f"the '{key}' test needs a registered task result, not {type(value).__name__}"
        )
    if key == "changed" and "results" in value and not value.get("changed"):
        return any(truth(r.get("changed", False)) for r in value["results"])
    return truth(value.get(key, False))


def ansible_tests() -> dict[str, Any]:
    def match(value: Any, pattern: str, ignorecase: bool = False) -> bool:
        return re.match(pattern, str(value), re.I if ignorecase else 0) is not None

    def search(value: Any, pattern: str, ignorecase: bool = False) -> bool:
        return re.search(pattern, str(value), re.I if ignorecase else 0) is not None

    def failed(value: Any) -> bool:
        return _result_flag(value, "failed")

    def succeeded(value: Any) -> bool:
        return not _result_flag(value, "failed")

    return {
        "failed": failed,
        "failure": failed,
        "succeeded": succeeded,
        "success": succeeded,
        "successful": succeeded,
        "changed": lambda v: _result_flag(v, "changed"),
        "change": lambda v: _result_flag(v, "changed"),
        "skipped": lambda v: _result_flag(v, "skipped"),
        "skip": lambda v: _result_flag(v, "skipped"),
        "match": match,
        "search": search,
        "regex": search,
        "truthy": truth,
        "falsy": lambda v: not truth(v),
    }
