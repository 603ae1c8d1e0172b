"""The task keywords ``async`` and ``poll``, read as the one thing they change in a
run that waits: how long the task may take.

ansible-core starts an ``async: N`` task in the background on the host and, with
``poll: P`` > 0 (default 15 s, ``DEFAULT_POLL_INTERVAL``), checks back every P seconds
until it ends or N seconds have passed; then the task fails ("async task did not
complete within the requested time"). The play waits for it either way, so runner runs
the task in the foreground with ``timeout = N`` (a task's own ``timeout:`` wins when both
are given) and fails it when N seconds pass: the same recap, without the job files.

``poll: 0`` is fire-and-forget (the play moves on, ``async_status`` collects the result
later): runner has no background jobs, so it is refused when the playbook loads, with a
hint. A templated ``poll`` cannot be known then and is treated as waiting.

As in ansible-core, only modules without a controller-side action plugin (and
``command``/``shell``, ``package``, ``service``, ``uri``, ``dnf``) take ``async``: for
the others ansible-core fails the task with "This action (NAME) does not support
async.", so runner refuses them when the playbook loads.

    >>> async_timeout({"async": 45, "poll": 5}, "command", "site.yml")
    45
    >>> async_timeout({"async": 45, "timeout": 10}, "command", "site.yml")
    10
    >>> async_timeout({"command": "true"}, "command", "site.yml") is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.errors import PlaybookError
from runner.playbook.reader import line_of
from runner.templating import is_template

KEYWORDS = frozenset({"async", "poll"})

#: ansible-core action plugins that do not set ``_supports_async`` (2.19): a task of
#: one of these with ``async`` fails on every host in Ansible.
NO_ASYNC = frozenset(
    {
        "add_host", "assemble", "assert", "async_status", "copy", "debug", "fail", "fetch",
        "gather_facts", "group_by", "include_vars", "pause", "raw", "reboot", "script",
        "set_fact", "set_stats", "template", "unarchive", "validate_argument_spec",
        "wait_for_connection", "meta",
    }
)  # fmt: skip

_HINT_POLL0 = (
    "drop 'poll: 0' to wait for it (runner then gives it 'async' seconds), or start it "
    "in the background yourself: shell: nohup CMD >/dev/null 2>&1 &"
)


def _seconds(value: Any, key: str, path: str, line: int | None) -> int | str:
    if isinstance(value, str) and is_template(value):
        return value
    if isinstance(value, bool):
        raise PlaybookError(f"'{key}' must be a number of seconds", path=path, line=line)
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise PlaybookError(
            f"'{key}' must be a number of seconds, not {value!r}", path=path, line=line
        ) from exc
    if number < 0:
        raise PlaybookError(f"'{key}' must not be negative", path=path, line=line)
    return number


def async_timeout(data: Mapping[Any, Any], module: str, path: str) -> Any:
    """The timeout a task with ``async``/``poll`` runs under: its ``timeout`` if given,
    else its ``async`` seconds; None when the task has neither. PlaybookError (file and
    line) for ``poll: 0``, for a module ansible-core runs no async task of, and for
    values that are not seconds."""
    if "async" not in data:
        if "poll" in data:  # ansible-core ignores a lone poll: so does runner
            _seconds(data["poll"], "poll", path, line_of(data, "poll"))
        return data.get("timeout")
    line = line_of(data, "async")
    seconds = _seconds(data["async"], "async", path, line)
    poll = _seconds(data.get("poll", 15), "poll", path, line_of(data, "poll") or line)
    if seconds == 0:  # async: 0 is ansible-core's "not async"
        return data.get("timeout")
    if module in NO_ASYNC:
        raise PlaybookError(
            f"{module} does not take 'async' (ansible-core fails it: "
            f"\"This action ({module}) does not support async.\")",
            path=path, line=line, hint="remove 'async'/'poll' from this task",
        )  # fmt: skip
    if poll == 0:
        raise PlaybookError(
            "'async' with 'poll: 0' (run in the background, collect with async_status) "
            "is not supported: runner waits for every task",
            path=path, line=line_of(data, "poll") or line, hint=_HINT_POLL0,
        )  # fmt: skip
    return data.get("timeout", seconds)
