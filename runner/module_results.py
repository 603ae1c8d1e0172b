"""How a module's result (``runner run -m``) reads as text: the lines the grouped report
folds across hosts, and the one-line forms of ``-o`` and ``--stream``. Pure functions of
the result's JSON data; nothing here prints.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

# Not shown as key lines: the verdict is in the header, the lines are in stdout/stderr,
# timings differ on every host (they would keep identical results from folding), and
# ``diff`` is shown as a diff after the keys.
_NOT_SHOWN = frozenset(
    {
        "changed", "failed", "skipped", "invocation", "diff", "stdout_lines",
        "stderr_lines", "start", "end", "delta", "failed_when_result",
    }
)  # fmt: skip


def _value_text(value: Any) -> str:
    if isinstance(value, str) and "\n" not in value:
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def result_lines(data: Mapping[str, Any]) -> list[str]:
    """``key: value`` for each key worth showing, in key order (empty values left out).

    >>> result_lines({"changed": True, "path": "/tmp/x", "state": "touch", "mode": None})
    ['path: /tmp/x', 'state: touch']
    >>> result_lines({"msg": "a\\nb", "n": [1, 2], "ok": False})
    ['msg: "a\\\\nb"', 'n: [1, 2]', 'ok: false']
    """
    return [
        f"{key}: {_value_text(value)}"
        for key, value in sorted(data.items(), key=lambda kv: str(kv[0]))
        if str(key) not in _NOT_SHOWN and value not in (None, "", [], {})
    ]


def result_text(data: Mapping[str, Any]) -> str:
    """The body of a group of hosts with this result: its key lines, then the diff a
    copy or template made (``--diff``), each line ending in a newline.

    >>> result_text({"dest": "/etc/motd", "diff": "--- before\\n+++ after\\n"})
    'dest: /etc/motd\\n--- before\\n+++ after\\n'
    """
    lines = result_lines(data)
    text = "".join(line + "\n" for line in lines)
    diff = diff_text(data.get("diff"))
    if diff:
        text += diff if diff.endswith("\n") else diff + "\n"
    return text


def diff_text(diff: Any) -> str:
    """A result's ``diff`` as unified diff text: runner's modules give text; Ansible's
    modules (through the bridge) give ``{before, after, before_header, after_header}``,
    ``{prepared}`` or a list of those.

    >>> print(diff_text({"before": "a\\n", "after": "b\\n", "before_header": "/x"}), end="")
    --- before: /x
    +++ after: /x
    @@ -1 +1 @@
    -a
    +b
    """
    if not diff:
        return ""
    if isinstance(diff, str):
        return diff
    parts: list[str] = []
    for one in diff if isinstance(diff, list) else [diff]:
        if not isinstance(one, Mapping):
            parts.append(str(one))
        elif one.get("prepared"):
            parts.append(str(one["prepared"]))
        elif "before" in one or "after" in one:
            before, after = (_diff_side(one.get(k)) for k in ("before", "after"))
            head_before = one.get("before_header")
            head_after = one.get("after_header", head_before)
            lines = difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                f"before: {head_before}" if head_before else "before",
                f"after: {head_after}" if head_after else "after",
            )
            parts.append("".join(x if x.endswith("\n") else x + "\n" for x in lines))
    return "".join(parts)


def _diff_side(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=4, sort_keys=True) + "\n"


def result_json(data: Mapping[str, Any]) -> str:
    """The whole result on one line, keys sorted, as ``ansible -o`` prints it after
    ``=>`` (``"key": value`` pairs joined by a bare comma).

    >>> result_json({"path": "/x", "changed": False})
    '{"changed": false,"path": "/x"}'
    """
    shown = {k: v for k, v in data.items() if k != "invocation"}
    return json.dumps(shown, sort_keys=True, indent=0, ensure_ascii=False, default=str).replace(
        "\n", ""
    )


def verdict(status: str) -> str:
    """The word ``ansible`` prints for a host's status.

    >>> verdict("ok"), verdict("changed"), verdict("failed")
    ('SUCCESS', 'CHANGED', 'FAILED')
    """
    return {"ok": "SUCCESS"}.get(status, status.upper())
