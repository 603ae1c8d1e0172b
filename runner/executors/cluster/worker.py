"""The worker's side: one Celery task per shard, run in-process with the worker's own
keys, agent, known_hosts and RUNNER_BECOME_PASSWORD.

A shard is claimed once, before any work (``SET NX`` of its claim key, and its lease in
the same Lua call); a shard delivered again finds the claim taken, is refused and says
so on the stream. Each host's start is on the stream before its command runs, so when a
worker dies the CLI knows which hosts may have run. One writer greenlet per worker
process writes every record (XADD in pipelined batches, retried until Redis takes them),
and one keeper greenlet refreshes the worker's heartbeat and its shards' leases and
watches the cancel keys of its runs, each in one pipelined round trip: the Redis calls
do not grow with the hosts (redis-py's pool is capped). The keeper is a real thread, so a
worker whose hub is busy still refreshes its leases.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue

from runner.config import Secrets
from runner.events import HostFinished, HostOutput, HostStarted, Notice, RunFinished, RunStarted
from runner.executors.base import Run
from runner.executors.cluster import stream as keys
from runner.executors.cluster.stream import encode_record
from runner.executors.inprocess import InProcessExecutor
from runner.executors.protocol import encode_event

log = logging.getLogger("runner.cluster.worker")

# Claim the shard (once, ever) and take its lease in one step: a claim without a lease
# would look like a dead worker, a lease without a claim like a live one.
CLAIM_SCRIPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  return 1
end
return 0
"""

BATCH = 500


class Writer:
    """The one greenlet that writes this worker's records to the runs' streams."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.queue: Queue = Queue()
        self.greenlet: Any = None

    def start(self) -> Writer:
        self.greenlet = gevent.spawn(self._run)
        return self

    def put(self, stream: str, data: bytes, keep: int, done: Event | None = None) -> None:
        self.queue.put((stream, data, keep, done))

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except Empty:
                    break
            self._write(batch)
            for *_, done in batch:
                if done is not None:
                    done.set()

    def _write(self, batch: list[tuple[str, bytes, int, Event | None]]) -> None:
        import redis

        delay = 0.05
        while True:
            try:
                pipe = self.client.pipeline(transaction=False)
                expire: dict[str, int] = {}
                for stream, data, keep, _ in batch:
                    pipe.xadd(stream, {"r": data})
                    expire[stream] = keep
                for stream, keep in expire.items():
                    pipe.expire(stream, keep)
                pipe.execute()
                return
            except redis.RedisError as exc:  # kept and sent again: the reader drops repeats
                log.warning("writing %d records failed (%s); trying again", len(batch), exc)
                gevent.sleep(delay)
                delay = min(delay * 2, 2.0)


@dataclass
class WorkerState:
    """What every shard of this worker process shares."""

    name: str
    zone: str
    client: Any
    secrets: Secrets
    lease: float = 10.0
    writer: Writer | None = None
    active: dict[tuple[str, int], ShardRun] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    stopping: bool = False
    url: str = ""
    cancelled_runs: set[str] = field(default_factory=set)

    def start(self) -> None:
        self.writer = Writer(self.client).start()
        # The keeper is a real thread with its own Redis client: a worker whose greenlets
        # keep the hub busy (hundreds of hosts forking commands on a loaded machine) must
        # not look dead. It only reads shared state and writes Redis; cancels it finds
        # are applied by a greenlet of the hub (gevent objects belong to their thread).
        threads = gevent.get_hub().threadpool  # native threads, each with its own hub
        threads.maxsize += 1  # the keeper's own: the resolver keeps the others
        threads.spawn(self._keep)
        gevent.spawn(self._apply_cancels)

    def _apply_cancels(self) -> None:
        while True:
            for shard in list(self.active.values()):
                if shard.run_id in self.cancelled_runs:
                    shard.cancel()
            gevent.sleep(0.1)

    def _keep(self) -> None:
        """Heartbeat, leases and cancel keys, every 0.3 s in one round trip."""
        import redis

        client = redis.Redis.from_url(
            self.url,
            socket_timeout=10,
            socket_connect_timeout=10,
            client_name=f"runner-keeper-{self.name}",
        )
        refresh_every = max(self.lease / 3, 0.2)
        next_refresh = 0.0
        while True:
            now = time.monotonic()
            shards = list(self.active.values())
            runs = sorted({s.run_id for s in shards})
            refresh = now >= next_refresh
            try:
                pipe = client.pipeline(transaction=False)
                if refresh:
                    ttl = max(1000, round(self.lease * 1000))
                    if not self.stopping:
                        value = json.dumps({**self.info, "active": len(shards)})
                        pipe.set(keys.worker_key(self.zone, self.name), value, px=ttl)
                    for shard in shards:
                        pipe.set(keys.lease_key(shard.run_id, shard.shard), self.name, px=ttl)
                for run_id in runs:
                    pipe.exists(keys.cancel_key(run_id))
                answers = pipe.execute()
                if refresh:
                    next_refresh = now + refresh_every
                flags = answers[len(answers) - len(runs) :]
                self.cancelled_runs.update(r for r, a in zip(runs, flags, strict=True) if a)
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)
            except Exception:  # never let the keeper die: the leases would run out
                log.exception("keeper")
            gevent.sleep(0.3)  # this thread's hub: the worker's hub is not involved

    def stop(self) -> None:
        """Warm shutdown: no new work comes here (the heartbeat goes); shards finish."""
        self.stopping = True
        try:
            self.client.delete(keys.worker_key(self.zone, self.name))
        except Exception as exc:  # Redis away: the heartbeat expires by itself
            log.warning("could not remove the heartbeat: %s", exc)


class ShardRun:
    """One shard on this worker: its records, numbered, through the process's writer."""

    def __init__(self, state: WorkerState, payload: Mapping[str, Any]) -> None:
        self.state = state
        self.run_id = str(payload["run_id"])
        self.shard = int(payload["shard"])
        self.keep = int(payload.get("keep") or keys.KEEP_SECONDS)
        self.stream = keys.stream_key(self.run_id)
        self.seq = 0
        self.cancelled = False
        self.executor: InProcessExecutor | None = None

    def record(self, kind: str, *, wait: bool = False, **fields: Any) -> None:
        """Queue a record; with ``wait``, return once Redis has it."""
        assert self.state.writer is not None
        self.seq += 1
        data = encode_record(kind, self.shard, self.seq, self.state.name, **fields)
        done = Event() if wait else None
        self.state.writer.put(self.stream, data, self.keep, done)
        if done is not None:
            done.wait()

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            log.info("run %s shard %d: cancelled", self.run_id, self.shard)
            if self.executor is not None:
                self.executor.cancel()


class StreamSink:
    """A shard's EventSink: host events to the stream; a host's start is on the stream
    before its command runs (the host waits for the write)."""

    def __init__(self, shard: ShardRun) -> None:
        self.shard = shard

    def handle(self, event: object) -> None:
        if isinstance(event, (RunStarted, RunFinished)):
            return
        if isinstance(event, HostStarted):
            wall = time.time() - (time.monotonic() - event.started)
            self.shard.record("start", wait=True, h=event.host, t=wall)
        elif isinstance(event, (HostOutput, HostFinished, Notice)):
            self.shard.record("event", e=encode_event(event))


def run_shard(payload: Mapping[str, Any], state: WorkerState) -> str:
    """The task's body; returns what happened (for the worker's log)."""
    shard = ShardRun(state, payload)
    claim, lease = (
        keys.claim_key(shard.run_id, shard.shard),
        keys.lease_key(shard.run_id, shard.shard),
    )
    ttl = max(1000, round(state.lease * 1000))
    claimed = state.client.eval(CLAIM_SCRIPT, 2, claim, lease, state.name, shard.keep, ttl)
    if not claimed:
        holder = state.client.get(claim)
        by = holder.decode(errors="replace") if holder else "?"
        log.warning(
            "run %s shard %d: delivered again, refused (claimed by %s)",
            shard.run_id,
            shard.shard,
            by,
        )
        shard.record("refused", wait=True, by=by)
        return "refused"
    state.active[(shard.run_id, shard.shard)] = shard
    try:
        run = Run.from_dict(payload["run"])
        shard.record("claim", wait=True, n=len(run.hosts), pid=os.getpid())
        if state.client.exists(keys.cancel_key(shard.run_id)):
            shard.cancel()
        if shard.cancelled:
            shard.record("done", wait=True, interrupted=[h.name for h in run.hosts])
            return "cancelled"
        shard.executor = InProcessExecutor()
        if shard.cancelled:
            shard.executor.cancel()
        try:
            report = shard.executor.execute(run, state.secrets, StreamSink(shard))
        except Exception as exc:  # the shard as a whole could not run (bad key file...)
            log.exception("run %s shard %d failed", shard.run_id, shard.shard)
            shard.record("failed", wait=True, error=f"{type(exc).__name__}: {exc}")
            return "failed"
        shard.record("done", wait=True, interrupted=list(report.interrupted))
        return f"done ({len(run.hosts)} hosts)"
    finally:
        del state.active[(shard.run_id, shard.shard)]
        try:
            state.client.delete(lease)
        except Exception as exc:  # expires by itself
            log.warning("could not remove lease %s: %s", lease, exc)
