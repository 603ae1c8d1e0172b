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


def diff_text(diff: Any) -> str:
    """A result's ``diff`` as text: a string as it is; Ansible's ``{before, after}`` dict
    (user, hostname, sysctl...) as a unified diff; nothing for an empty one.

    >>> print(diff_text({"before": "a = 1\\n", "after": "a = 2\\n"}), end="")
    --- before
    +++ after
    @@ -1 +1 @@
    -a = 1
    +a = 2
    """
    if isinstance(diff, str):
        return diff
    if not isinstance(diff, Mapping) or not ("before" in diff or "after" in diff):
        return ""

    def lines(value: Any) -> list[str]:
        text = value if isinstance(value, str) else json.dumps(value, indent=4, default=str)
        return [line + "\n" for line in text.splitlines()]

    before, after = lines(diff.get("before", "")), lines(diff.get("after", ""))
    return "".join(difflib.unified_diff(before, after, "before", "after"))


def result_text(data: Mapping[str, Any]) -> str:
    """The body of a group of hosts with this result: its key lines, then the diff a
    copy or template made (``--diff``), each line ending in a newline.

    >>> result_text({"dest": "/etc/motd", "diff": "--- before\\n+++ after\\n"})
    'dest: /etc/motd\\n--- before\\n+++ after\\n'
    """
    lines = result_lines(data)
    text = "".join(line + "\n" for line in lines)
    diff = data.get("diff")
    if isinstance(diff, str) and diff:
        text += diff if diff.endswith("\n") else diff + "\n"
    return text


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
