"""The connections the keeper holds between runs: host connections (each taken by one
host of one run at a time) and bastion connections (shared by the hosts behind them),
each with the time it stops being held. Duck-typed: a held connection has ``close()``
and ``is_active()`` (paramiko's Transport; this module does not import it)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Held:
    transport: Any
    label: str  # user@address:port [via bastion ...]
    host: str  # the inventory name that used it last ("" for a bastion)
    since: float  # time.monotonic() it was last handed back
    expires: float


class Pool:
    """Held connections by reuse key (runner.transport.ssh.held.reuse_key)."""

    def __init__(self) -> None:
        self._idle: dict[Hashable, list[Held]] = {}
        self._bastions: dict[Hashable, Held] = {}
        self._lock = threading.Lock()

    # -- the Store interface of runner.transport.ssh.held --------------------------------

    def take(self, key: Hashable) -> Any | None:
        with self._lock:
            waiting = self._idle.get(key)
            if not waiting:
                return None
            held = waiting.pop()
            if not waiting:
                del self._idle[key]
            return held.transport

    def give(self, key: Hashable, transport: Any, label: str, host: str, persist: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._idle.setdefault(key, []).append(Held(transport, label, host, now, now + persist))

    def bastion(self, key: Hashable) -> Any | None:
        with self._lock:
            held = self._bastions.get(key)
            return held.transport if held is not None else None

    def keep_bastion(self, key: Hashable, transport: Any, label: str, persist: float) -> None:
        now = time.monotonic()
        with self._lock:
            old = self._bastions.get(key)
            self._bastions[key] = Held(transport, label, "", now, now + persist)
        if old is not None and old.transport is not transport:
            _close(old.transport)

    # -- keeping -------------------------------------------------------------------------

    def reap(self, now: float | None = None) -> int:
        """Close what expired or what the server closed (hosts first, then the bastions
        nobody holds a connection behind); return how many are still held."""
        now = time.monotonic() if now is None else now
        closing = []
        with self._lock:
            for key in list(self._idle):
                keep = []
                for held in self._idle[key]:
                    if held.expires <= now or not held.transport.is_active():
                        closing.append(held.transport)
                    else:
                        keep.append(held)
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]
            for key, held in list(self._bastions.items()):
                if held.expires <= now or not held.transport.is_active():
                    closing.append(held.transport)
                    del self._bastions[key]
            count = self._count()
        for transport in closing:
            _close(transport)
        return count

    def _count(self) -> int:
        return sum(len(v) for v in self._idle.values()) + len(self._bastions)

    def count(self) -> int:
        with self._lock:
            return self._count()

    def listing(self, now: float | None = None) -> list[dict[str, Any]]:
        """What is held, for ``runner keeper status``: label, host, kind, idle seconds."""
        now = time.monotonic() if now is None else now
        with self._lock:
            rows = [
                {"kind": "host", "label": h.label, "host": h.host, "idle": now - h.since}
                for waiting in self._idle.values()
                for h in waiting
            ]
            rows += [
                {"kind": "bastion", "label": h.label, "host": "", "idle": now - h.since}
                for h in self._bastions.values()
            ]
        return sorted(rows, key=lambda r: (r["kind"] != "bastion", r["label"], r["host"]))

    def close_all(self) -> None:
        with self._lock:
            hosts = [h.transport for waiting in self._idle.values() for h in waiting]
            bastions = [h.transport for h in self._bastions.values()]
            self._idle.clear()
            self._bastions.clear()
        for transport in hosts + bastions:
            _close(transport)


def _close(transport: Any) -> None:
    try:
        transport.close()
    except Exception:  # closing never fails anything
        log.debug("close failed", exc_info=True)
