"""Reading a run's stream into the renderers' events and exactly one result per host.

Used by the CLI that dispatched the run and by ``runner attach`` (a second viewer, or
one after the CLI died): both know the run from its shards and read the stream from its
first record (attach) or the last one read, and both decide the same from Redis alone:

- a shard's records come from the worker holding its claim, numbered: a number already
  seen (a batch written again after a dropped connection) is dropped;
- a shard whose worker's lease expired without its ``done`` record was lost: its hosts
  that had started are unreachable (``lost``: the command may have run, it is not run
  again), the others are not started (``not_started``), never re-run automatically;
- a shard whose claim the CLI took itself (Ctrl-C before any worker did) never runs;
- records of a host that already has its result (a worker declared lost that was only
  cut off) are dropped: the first result stays.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.events import EventSink, HostFinished, HostOutput, HostStarted, Notice
from runner.executors.cluster import stream as keys
from runner.executors.cluster.stream import decode_record
from runner.executors.protocol import decode_event
from runner.models import HostResult, Status

log = logging.getLogger("runner.cluster")

CLI_CLAIM = "cli:cancelled"
NO_WORKER_CLAIM = "cli:no-worker"
ZONE_GRACE = 30.0  # seconds a zone may be without a worker (a restart) before giving up
NO_WORKER = "not started: zone {zone} has no live worker left; not re-run"
LOST = "worker {worker} lost; the command may have run; not re-run"
NOT_STARTED = "not started: worker {worker} was lost before this host began; not re-run"


@dataclass
class ShardState:
    hosts: list[str]
    zone: str
    holder: str | None = None
    last_seq: int = 0
    started: set[str] = field(default_factory=set)
    state: str = "dispatched"  # claimed, done, lost, cancelled

    @property
    def open(self) -> bool:
        return self.state in ("dispatched", "claimed")


def retrying(call: Callable[[], Any], on_error: Callable[[Exception], None]) -> Any:
    """``call()``, again after each Redis connection error (with a growing pause)."""
    import redis

    delay = 0.05
    while True:
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            on_error(exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


class Follower:
    """The stream of one run, applied to ``sink``; ``results`` fills as hosts finish."""

    def __init__(
        self,
        client: Any,
        run_id: str,
        shards: Mapping[int, tuple[str, Sequence[str]]],
        sink: EventSink,
        lease_check: float = 1.0,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.stream = keys.stream_key(run_id)
        self.shards = {n: ShardState(list(h), zone) for n, (zone, h) in shards.items()}
        self.sink = sink
        self.lease_check = lease_check
        self.last_id = "0-0"
        self.results: dict[str, HostResult] = {}
        self.interrupted: list[str] = []
        self.first_record_at: float | None = None
        self._notices: set[str] = set()
        self._next_check = 0.0
        self._disconnected = False
        self._suspects: set[int] = set()
        self._zone_gone: dict[str, float] = {}
        self._next_zone_check = 0.0

    # -- reading ---------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return not any(s.open for s in self.shards.values())

    def _lost_connection(self, exc: Exception) -> None:
        if not self._disconnected:
            self._disconnected = True
            self.notice(f"lost the connection to Redis ({exc}); reconnecting")
        log.info("redis: %s", exc)

    def read(self, block_ms: int | None = 500) -> int:
        """Apply the records written since the last read (waiting up to ``block_ms``;
        None: not at all)."""
        answer = retrying(
            lambda: self.client.xread({self.stream: self.last_id}, count=1000, block=block_ms),
            self._lost_connection,
        )
        self._disconnected = False
        count = 0
        for _stream, entries in answer or ():
            for entry_id, fields in entries:
                self.last_id = entry_id
                data = fields.get(b"r") or fields.get("r")
                if data is not None:
                    self.apply(decode_record(data))
                    count += 1
        return count

    def drain(self) -> None:
        while self.read(block_ms=None):
            pass

    def follow(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        while not self.finished and not should_stop():
            self.read()
            self.check()

    # -- records -----------------------------------------------------------------------

    def notice(self, message: str, level: str = "warning") -> None:
        if message not in self._notices:
            self._notices.add(message)
            self.sink.handle(Notice(message, level))

    def apply(self, record: Mapping[str, Any]) -> None:
        if self.first_record_at is None:
            self.first_record_at = time.monotonic()
        shard = self.shards.get(int(record.get("s", -1)))
        kind, worker = record["k"], sys.intern(str(record.get("w")))  # one per worker
        if shard is None:
            return
        if kind == "refused":
            if record.get("by") in (CLI_CLAIM, NO_WORKER_CLAIM):
                return  # a shard this run fenced off itself, as meant
            self.notice(
                f"shard {record['s']} was delivered again to {worker} and refused "
                f"(claimed by {record.get('by')}): nothing runs twice"
            )
            return
        if shard.holder is not None and worker != shard.holder:
            return  # not from the claim's holder
        seq = int(record.get("q", 0))
        if seq <= shard.last_seq:
            return  # written again after a dropped connection: seen already
        shard.last_seq = seq
        if kind == "claim":
            shard.holder = worker
            if shard.state == "dispatched":
                shard.state = "claimed"
        elif kind == "start":
            host = record["h"]
            if host not in self.results and shard.open:
                shard.started.add(host)
                started = time.monotonic() - max(0.0, time.time() - float(record["t"]))
                self.sink.handle(HostStarted(host, started))
        elif kind == "event":
            self._event(decode_event(record["e"]), worker, shard)
        elif kind == "done":
            for host in record.get("interrupted") or ():
                if host not in self.results and host not in self.interrupted:
                    self.interrupted.append(host)
            self._close(shard, "done")
        elif kind == "failed":
            error = f"worker {worker}: the shard could not run: {record.get('error')}"
            self._finish_rest(
                shard,
                lambda h: HostResult(h, Status.FAILED, None, error, "internal", worker=worker),
            )
            self._close(shard, "done")

    def _event(self, event: object, worker: str, shard: ShardState) -> None:
        if isinstance(event, HostFinished):
            result = event.result
            if result.host not in self.results and shard.open:
                shard.started.discard(result.host)  # only hosts under way are kept
                self._result(dataclasses.replace(result, worker=worker))
        elif isinstance(event, HostOutput):
            if event.host not in self.results and shard.open:
                self.sink.handle(event)
        elif isinstance(event, Notice):
            self.notice(event.message, event.level)

    def _result(self, result: HostResult) -> None:
        self.results[result.host] = result
        self.sink.handle(HostFinished(result))

    def _finish_rest(self, shard: ShardState, make: Callable[[str], HostResult]) -> None:
        for host in shard.hosts:
            if host not in self.results and host not in self.interrupted:
                self._result(make(host))

    def _close(self, shard: ShardState, state: str) -> None:
        shard.state = state

    # -- leases ------------------------------------------------------------------------

    def check(self, force: bool = False) -> None:
        """Every ``lease_check`` seconds: claims taken, and leases that expired."""
        now = time.monotonic()
        if not force and now < self._next_check:
            return
        self._next_check = now + self.lease_check
        numbers = [n for n, s in self.shards.items() if s.open]
        if not numbers:
            return
        self._check_zones(now)

        def look() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for n in numbers:
                pipe.get(keys.claim_key(self.run_id, n))
                pipe.exists(keys.lease_key(self.run_id, n))
            return pipe.execute()

        answers = retrying(look, self._lost_connection)
        expired = []
        for i, n in enumerate(numbers):
            claim, lease = answers[2 * i], answers[2 * i + 1]
            shard = self.shards[n]
            holder = claim.decode(errors="replace") if isinstance(claim, bytes) else claim
            if holder == CLI_CLAIM:
                self._cancelled(shard)
            elif holder == NO_WORKER_CLAIM:
                if shard.open:
                    self._no_worker(shard)
            elif holder and not lease:
                expired.append((shard, holder))
        # a lease missing at two looks in a row: one late refresh of a busy worker is not
        # a lost worker
        suspects, self._suspects = self._suspects, {id(s) for s, _ in expired}
        expired = [(s, h) for s, h in expired if id(s) in suspects]
        if expired:
            self.drain()  # what the worker wrote before its lease ran out is read first
            for shard, holder in expired:
                if shard.open:
                    self._lost(shard, shard.holder or holder)

    def _cancelled(self, shard: ShardState) -> None:
        if shard.open:
            for host in shard.hosts:
                if host not in self.results and host not in self.interrupted:
                    self.interrupted.append(host)
            self._close(shard, "cancelled")

    def _lost(self, shard: ShardState, worker: str) -> None:
        number = next(n for n, s in self.shards.items() if s is shard)
        self.notice(
            f"worker {worker} lost (its lease expired): the {len(shard.hosts)} hosts of "
            f"shard {number} are not run again"
        )

        def make(host: str) -> HostResult:
            if host in shard.started:
                return HostResult(
                    host,
                    Status.UNREACHABLE,
                    None,
                    LOST.format(worker=worker),
                    "lost",
                    worker=worker,
                )
            return HostResult(
                host,
                Status.UNREACHABLE,
                None,
                NOT_STARTED.format(worker=worker),
                "not_started",
                worker=worker,
            )

        self._finish_rest(shard, make)
        self._close(shard, "lost")

    def _check_zones(self, now: float) -> None:
        """A zone whose shards wait while it has no live worker for ZONE_GRACE seconds:
        those shards are fenced off (never run later) and their hosts are not started."""
        if now < self._next_zone_check:
            return
        self._next_zone_check = now + 5.0
        zones = {s.zone for s in self.shards.values() if s.state == "dispatched"}
        for zone in zones:

            def any_worker(z: str = zone) -> Any:
                return next(iter(self.client.scan_iter(match=keys.worker_pattern(z))), None)

            alive = retrying(any_worker, self._lost_connection)
            if alive is not None:
                self._zone_gone.pop(zone, None)
                continue
            since = self._zone_gone.setdefault(zone, now)
            if now - since >= ZONE_GRACE:
                self.fence_unclaimed(zone=zone)

    # -- cancelling --------------------------------------------------------------------

    def fence_unclaimed(self, zone: str | None = None) -> None:
        """Take the claim of every shard no worker has claimed, so none ever runs: on
        Ctrl-C (their hosts are interrupted), or in a ``zone`` left without a worker
        (their hosts are not started)."""
        numbers = [
            n
            for n, s in self.shards.items()
            if s.state == "dispatched" and (zone is None or s.zone == zone)
        ]
        value = CLI_CLAIM if zone is None else NO_WORKER_CLAIM

        def fence() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for n in numbers:
                pipe.set(keys.claim_key(self.run_id, n), value, nx=True, ex=keys.KEEP_SECONDS)
            return pipe.execute()

        for n, taken in zip(numbers, retrying(fence, self._lost_connection), strict=True):
            if taken and zone is None:
                self._cancelled(self.shards[n])
            elif taken:
                self._no_worker(self.shards[n])

    def _no_worker(self, shard: ShardState) -> None:
        number = next(n for n, s in self.shards.items() if s is shard)
        self.notice(
            f"zone {shard.zone!r} has had no live worker for {ZONE_GRACE:g} s: the "
            f"{len(shard.hosts)} hosts of shard {number} are not started"
        )
        error = NO_WORKER.format(zone=shard.zone)
        self._finish_rest(
            shard, lambda h: HostResult(h, Status.UNREACHABLE, None, error, "not_started")
        )
        self._close(shard, "lost")
