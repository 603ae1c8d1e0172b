"""The protocol between a runner process and the executor processes working for it.

JSON Lines over a pipe, one record per line, each with ``"protocol": 1``:

``{"protocol": 1, "type": "run", "run": {...}, "secrets": {...}}``
    parent -> worker, once, on the worker's stdin (never its command line or
    environment): the Run (``Run.to_dict``: hosts, job, RunConfig) and the run's secrets.
    The worker keeps its stdin open and stops when it closes (the parent ended or died).

``{"protocol": 1, "type": "event", "event": {"kind": "host_finished", ...}}``
    worker -> parent, on the worker's stdout, one per event, in the order they happened:
    the same events the renderers consume (``encode_event`` below). Host output is
    base64 (it is bytes, and need not be UTF-8).

A record of another protocol version is an error naming both versions. The parent reads
the worker's stderr only to explain a worker that died.

>>> from runner.models import CommandResult, HostResult, Status
>>> event = HostFinished(HostResult("web1", Status.OK, CommandResult(0, b"hi\\n")))
>>> decode_event(encode_event(event)) == event
True
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import IO, Any

from runner.errors import ConfigError
from runner.events import HostFinished, HostOutput, HostStarted, Notice, RunFinished, RunStarted
from runner.jsonvalues import decode_value, encode_value
from runner.models import CommandResult, HostResult, RunReport, Status

PROTOCOL_VERSION = 1


def record(kind: str, **fields: Any) -> dict[str, Any]:
    return {"protocol": PROTOCOL_VERSION, "type": kind, **fields}


def write_record(stream: IO[bytes], data: Mapping[str, Any]) -> None:
    stream.write(encode_line(data))
    stream.flush()


def encode_line(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"


def read_record(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next record, or None at end of stream."""
    line = stream.readline()
    if not line:
        return None
    return decode_line(line)


def decode_line(line: bytes) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"protocol: a record that is not JSON: {line[:80]!r}") from exc
    if not isinstance(data, dict) or data.get("protocol") != PROTOCOL_VERSION:
        found = data.get("protocol") if isinstance(data, dict) else None
        raise ConfigError(
            f"protocol: a record of version {found!r}, this runner speaks {PROTOCOL_VERSION}"
        )
    return data


# -- events ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode_command(command: CommandResult | None) -> dict[str, Any] | None:
    if command is None:
        return None
    return {
        "exit_code": command.exit_code,
        "stdout": _b64(command.stdout),
        "stderr": _b64(command.stderr),
        "duration": command.duration,
        "stdout_dropped": command.stdout_dropped,
        "stderr_dropped": command.stderr_dropped,
    }


def decode_command(data: Mapping[str, Any] | None) -> CommandResult | None:
    if data is None:
        return None
    return CommandResult(
        exit_code=int(data["exit_code"]),
        stdout=base64.b64decode(data["stdout"]),
        stderr=base64.b64decode(data["stderr"]),
        duration=float(data["duration"]),
        stdout_dropped=int(data["stdout_dropped"]),
        stderr_dropped=int(data["stderr_dropped"]),
    )


def encode_result(result: HostResult) -> dict[str, Any]:
    return {
        "host": result.host,
        "status": result.status.value,
        "command": encode_command(result.command),
        "error": result.error,
        "error_kind": result.error_kind,
        "started": result.started,
        "duration": result.duration,
        "module": result.module,
        "module_result": encode_value(result.module_result),
        "worker": result.worker,
    }


def decode_result(data: Mapping[str, Any]) -> HostResult:
    return HostResult(
        host=data["host"],
        status=Status(data["status"]),
        command=decode_command(data["command"]),
        error=data["error"],
        error_kind=data["error_kind"],
        started=float(data["started"]),
        duration=float(data["duration"]),
        module=data.get("module"),
        module_result=decode_value(data.get("module_result")),
        worker=data.get("worker"),
    )


def encode_event(event: object) -> dict[str, Any]:
    """An event as JSON data with a ``kind``; TypeError for an event this protocol lacks."""
    if isinstance(event, HostStarted):
        return {"kind": "host_started", "host": event.host, "started": event.started}
    if isinstance(event, HostOutput):
        return {
            "kind": "host_output",
            "host": event.host,
            "stream": event.stream,
            "line": _b64(event.line),
        }
    if isinstance(event, HostFinished):
        return {"kind": "host_finished", "result": encode_result(event.result)}
    if isinstance(event, Notice):
        return {"kind": "notice", "message": event.message, "level": event.level}
    if isinstance(event, RunStarted):
        return {
            "kind": "run_started",
            "hosts": list(event.hosts),
            "forks": event.forks,
            "started": event.started,
        }
    if isinstance(event, RunFinished):
        report = event.report
        return {
            "kind": "run_finished",
            "results": [encode_result(r) for r in report.results.values()],
            "duration": report.duration,
            "interrupted": list(report.interrupted),
        }
    raise TypeError(f"no protocol record for {type(event).__name__}")


def decode_event(data: Mapping[str, Any]) -> object:
    kind = data.get("kind")
    try:
        if kind == "host_started":
            return HostStarted(data["host"], float(data["started"]))
        if kind == "host_output":
            return HostOutput(data["host"], data["stream"], base64.b64decode(data["line"]))
        if kind == "host_finished":
            return HostFinished(decode_result(data["result"]))
        if kind == "notice":
            return Notice(data["message"], data["level"])
        if kind == "run_started":
            return RunStarted(tuple(data["hosts"]), int(data["forks"]), float(data["started"]))
        if kind == "run_finished":
            results = {r["host"]: decode_result(r) for r in data["results"]}
            return RunFinished(
                RunReport(results, float(data["duration"]), tuple(data["interrupted"]))
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"protocol: malformed {kind} event: {exc}") from exc
    raise ConfigError(f"protocol: unknown event kind {kind!r}")
