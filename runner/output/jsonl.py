"""Machine-readable output: one JSON object per line, flushed as each host finishes.

::

    {"type":"host","host":"web01","status":"ok","exit_code":0,"stdout":"hi\\n","stderr":"",
     "error":null,"error_kind":null,"started":"2024-05-01T12:00:00.123+00:00","duration":0.123}
    {"type":"summary","hosts":2,"ok":1,"failed":0,"unreachable":1,"duration":1.8}
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import IO, Any

from runner.events import HostFinished, RunFinished
from runner.models import HostResult, RunReport, Status

__all__ = ["JsonLines", "dumps", "host_record", "iso_utc", "json_safe", "summary_record"]


def iso_utc(epoch: float) -> str | None:
    """``1714564800.5`` -> ``'2024-05-01T12:00:00.500+00:00'``; None for an unset (0) time."""
    if not epoch:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds")


def host_record(result: HostResult) -> dict[str, Any]:
    """The JSON record of one host (also what ``--out-dir`` writes to HOST.json).

    stdout/stderr are decoded text (invalid UTF-8 -> U+FFFD) carrying the truncation
    marker (always strings, empty when no command ran); ``exit_code`` is null when no
    command ran, ``started`` null when unknown. A module run (``runner run -m``) adds
    ``module``, ``changed`` and ``result`` (what the module returned, null when the
    host was not reached); a command module's rc and output are ``exit_code``,
    ``stdout`` and ``stderr``. A host run by a cluster worker
    also names it (``worker``).
    """
    cmd = result.command
    record: dict[str, Any] = {
        "type": "host",
        "host": result.host,
        "status": result.status.value,
        "exit_code": cmd.exit_code if cmd else None,
        "stdout": cmd.stdout_text if cmd else "",
        "stderr": cmd.stderr_text if cmd else "",
        "error": result.error,
        "error_kind": result.error_kind,
        "started": iso_utc(result.started),
        "duration": round(result.duration, 3),
    }
    if result.module:
        record["module"] = result.module
        record["changed"] = result.status is Status.CHANGED
        record["result"] = dict(result.module_result) if result.module_result else None
    if result.worker is not None:
        record["worker"] = result.worker
    return record


def summary_record(report: RunReport) -> dict[str, Any]:
    """``{"type":"summary","hosts":..,"ok":..,"failed":..,"unreachable":..,"duration":..}``.

    ``ok`` counts ok and changed hosts; ``interrupted`` (host names) only when non-empty;
    ``changed`` only in a module run (``runner run -m``).
    """
    statuses = [r.status for r in report.results.values()]
    record: dict[str, Any] = {
        "type": "summary",
        "hosts": len(report.results)
        + sum(1 for h in report.interrupted if h not in report.results),
        "ok": statuses.count(Status.OK) + statuses.count(Status.CHANGED),
        "failed": statuses.count(Status.FAILED),
        "unreachable": statuses.count(Status.UNREACHABLE),
        "duration": round(report.duration, 3),
    }
    if any(r.module for r in report.results.values()):
        record["changed"] = statuses.count(Status.CHANGED)
    if report.interrupted:
        record["interrupted"] = list(report.interrupted)
    return record


# json.dumps escapes C0 controls but, with ensure_ascii=False, passes DEL, C1 controls
# (U+009B acts as CSI on some terminals) and bidi overrides through; they appear only
# inside strings, where \u escapes decode to the very same characters.
_TERMINAL_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def dumps(record: dict[str, Any]) -> str:
    """Compact JSON, UTF-8 kept as is (no \\u escapes for non-ASCII) except for the
    characters a terminal could obey: every control character and bidi override is
    \\u-escaped, so a JSON line is safe on a terminal and decodes to the exact text.

    Never fails: a value JSON has no type for (a set, bytes, a Jinja2 object a debug task
    printed, a float that is not finite, a loop of references) is written as faithful
    text, see json_safe.

    >>> dumps({"out": "\\x1b[2J\\x9b\\u202e\\u00e9"})
    '{"out":"\\\\u001b[2J\\\\u009b\\\\u202eé"}'
    """
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(json_safe(record), ensure_ascii=False, separators=(",", ":"))
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_safe(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    """``value`` as JSON types: sets and tuples become lists, bytes text (invalid UTF-8 ->
    U+FFFD), non-finite floats and other objects their str() (repr() if that fails);
    containers below 100 levels or inside themselves become a placeholder.

    >>> json_safe({"s": {2, 1}, "b": b"hi", "f": float("inf"), "t": (1,)})
    {'s': [1, 2], 'b': 'hi', 'f': 'inf', 't': [1]}
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 10000 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        if depth >= 100:
            return "<nested too deeply>"
        if id(value) in seen:
            return "<recursive>"
        inner = seen | {id(value)}
        if isinstance(value, dict):
            return {_key(k): json_safe(v, depth + 1, inner) for k, v in value.items()}
        items = list(value)
        if isinstance(value, (set, frozenset)):
            try:
                items.sort()
            except TypeError:
                pass
        return [json_safe(v, depth + 1, inner) for v in items]
    try:
        return str(value)
    except Exception:  # e.g. an Undefined, whose str() raises
        return f"<{type(value).__name__}>"


def _key(key: Any) -> str | int | float | bool | None:
    if key is None or isinstance(key, (str, int, float, bool)):
        return json_safe(key)
    return json_safe(str(key)) if not isinstance(key, tuple) else str(json_safe(key, 98))


class JsonLines:
    """EventSink writing a ``host`` line per HostFinished and a ``summary`` line at the end.

    Nothing else is ever written to ``file``; each line is flushed so a consumer can
    follow the run (``runner ... --json | jq``).
    """

    def __init__(self, file: IO[str]) -> None:
        self.file = file

    def handle(self, event: object) -> None:
        if isinstance(event, HostFinished):
            self._write(host_record(event.result))
        elif isinstance(event, RunFinished):
            self._write(summary_record(event.report))

    def _write(self, record: dict[str, Any]) -> None:
        self.file.write(dumps(record) + "\n")
        self.file.flush()
