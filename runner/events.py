"""Events the engine emits while it works, and the sink interface renderers implement.

The core never prints: it calls ``sink.handle(event)`` and renderers (runner.output)
decide what to show. Events carry host names and results, never secrets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from runner.models import HostResult, RunReport


@dataclass(frozen=True)
class RunStarted:
    hosts: tuple[str, ...]
    forks: int
    started: float  # time.time()


@dataclass(frozen=True)
class HostStarted:
    host: str
    started: float  # time.monotonic(), comparable with other HostStarted events


@dataclass(frozen=True)
class HostOutput:
    """One whole line (with its newline, if it had one) a host printed.

    Only emitted when the run asked for streaming.
    """

    host: str
    stream: str  # "stdout" | "stderr"
    line: bytes


@dataclass(frozen=True)
class HostFinished:
    result: HostResult


@dataclass(frozen=True)
class RunFinished:
    report: RunReport


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not a host result (forks lowered...)."""

    message: str
    level: str = "warning"  # "info" | "warning"


class EventSink(Protocol):
    def handle(self, event: object) -> None: ...


class NullSink:
    """Discards every event."""

    def handle(self, event: object) -> None:
        pass


class FanOut:
    """Delivers each event to several sinks, in order."""

    def __init__(self, sinks: Iterable[EventSink]) -> None:
        self.sinks = tuple(sinks)

    def handle(self, event: object) -> None:
        for sink in self.sinks:
            sink.handle(event)


class Recorder:
    """Keeps every event; for tests and for renderers that need the whole history."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def handle(self, event: object) -> None:
        self.events.append(event)

    def of_type(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]
