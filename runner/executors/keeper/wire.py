"""Events on the keeper's socket: the host-job events of runner.executors.protocol, and
a playbook's events (frozen dataclasses of runner.playbook.events) as tagged JSON.

>>> from runner.models import HostResult, RunReport, Status
>>> from runner.playbook.events import HostCounts, PlaybookFinished, TaskOutcome
>>> event = PlaybookFinished({"web1": HostCounts(ok=2)}, 1.5, interrupted=True)
>>> decode_any_event(encode_any_event(event)) == event
True
>>> done = TaskOutcome("web1", Status.OK, {"rc": 0, "stdout": "hi", "lines": ("a",)})
>>> decode_any_event(encode_any_event(done)) == done
True
>>> outcome_of(event).interrupted
True

A run's last event repeats every host's result; on this socket a result the client
already has from its ``host_finished`` event is sent as the host's name alone:

>>> from runner.events import HostFinished, RunFinished
>>> from runner.models import HostResult, RunReport
>>> ok = HostResult("web1", Status.OK)
>>> report = RunReport({"web1": ok, "web2": HostResult("web2", Status.FAILED)}, 1.0)
>>> data = encode_any_event(RunFinished(report), sent={"web1": ok})
>>> data["results"][0]
'web1'
>>> decode_any_event(data, finished={"web1": ok}) == RunFinished(report)
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from runner.errors import ConfigError
from runner.events import RunFinished
from runner.executors.base import Run
from runner.executors.protocol import decode_event, decode_result, encode_event, encode_result
from runner.jsonvalues import decode_value, encode_value
from runner.models import HostResult, RunReport, Status


def _playbook_classes() -> dict[str, type]:
    from runner.playbook import events

    return {
        cls.__name__: cls
        for cls in (
            events.TaskOutcome,
            events.PlaybookStarted,
            events.PlayStarted,
            events.BatchStarted,
            events.TaskStarted,
            events.TaskHostDone,
            events.TaskFinished,
            events.PlayStopped,
            events.HostCounts,
            events.PlaybookFinished,
        )
    }


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__class__": type(value).__name__, "fields": fields}
    if isinstance(value, Status):
        return {"__status__": value.value}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {"__map__": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return {"__value__": encode_value(value)}


def _decode(data: Any, classes: Mapping[str, type]) -> Any:
    if isinstance(data, list):
        return [_decode(v, classes) for v in data]
    if not isinstance(data, dict):
        return data
    if "__class__" in data:
        cls = classes.get(data["__class__"])
        if cls is None:
            raise ConfigError(f"protocol: unknown playbook event {data['__class__']!r}")
        return cls(**{k: _decode(v, classes) for k, v in data["fields"].items()})
    if "__status__" in data:
        return Status(data["__status__"])
    if "__tuple__" in data:
        return tuple(_decode(v, classes) for v in data["__tuple__"])
    if "__map__" in data:
        return {k: _decode(v, classes) for k, v in data["__map__"].items()}
    return decode_value(data.get("__value__"))


def encode_any_event(event: object, sent: Mapping[str, HostResult] | None = None) -> dict[str, Any]:
    """An event as JSON data; ``sent``: the results already sent in ``host_finished``
    events, which a ``run_finished`` names instead of repeating them (at 500 hosts,
    encoding and decoding them again cost the keeper and the CLI each about 0.1 ms a
    host)."""
    if isinstance(event, RunFinished) and sent:
        report = event.report
        return {
            "kind": "run_finished",
            "results": [
                name if sent.get(name) is result else encode_result(result)
                for name, result in report.results.items()
            ],
            "duration": report.duration,
            "interrupted": list(report.interrupted),
        }
    try:
        return encode_event(event)
    except TypeError:
        return {"kind": "playbook", "event": _encode(event)}


def decode_any_event(
    data: Mapping[str, Any], finished: Mapping[str, HostResult] | None = None
) -> object:
    """The event ``data`` encodes; ``finished``: the results of the ``host_finished``
    events read so far, which a ``run_finished`` may name."""
    if data.get("kind") == "playbook":
        try:
            return _decode(data["event"], _playbook_classes())
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"protocol: malformed playbook event: {exc}") from exc
    if data.get("kind") == "run_finished" and any(isinstance(r, str) for r in data["results"]):
        known = finished or {}
        try:
            results = {}
            for item in data["results"]:
                result = known[item] if isinstance(item, str) else decode_result(item)
                results[result.host] = result
            report = RunReport(results, float(data["duration"]), tuple(data["interrupted"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"protocol: malformed run_finished event: {exc}") from exc
        return RunFinished(report)
    return decode_event(data)


def run_from_dict(data: Mapping[str, Any]) -> Run:
    """A Run sent to the keeper: any job a Run carries, and a playbook (which the keeper,
    unlike a --procs worker, runs whole: it loads the playbook again where it was read)."""
    job = data.get("job") if isinstance(data, Mapping) else None
    if not isinstance(job, Mapping) or job.get("kind") != "playbook":
        return Run.from_dict(data)
    from runner.engine.command import CommandJob
    from runner.playbook.job import PlaybookJob

    shell = Run.from_dict({**data, "job": CommandJob("true").to_dict()})
    try:
        return dataclasses.replace(shell, job=PlaybookJob.from_dict(job))
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"malformed playbook job: {exc}") from exc


def outcome_of(last: object) -> Any:
    """The job's outcome from its last event: a host job's RunReport, a playbook's
    RunSummary."""
    if isinstance(last, RunFinished):
        return last.report
    from runner.playbook.events import PlaybookFinished
    from runner.playbook.run import RunSummary

    if isinstance(last, PlaybookFinished):
        return RunSummary(last.recap, last.stopped, last.interrupted)
    raise ConfigError("the connection keeper ended the run without its last event")
