"""The CLI's side of a cluster run: cut the hosts into shards per zone, check that each
zone has a live worker, dispatch one signed Celery task per shard, then follow the run's
stream (follow.py) until every host has its one result. Ctrl-C sets the run's cancel
key (workers end their commands as a local run does) and takes the claim of every shard
no worker has started, so it never runs; the run then ends with exit 130 as locally.

Nothing secret is sent: passwords given to this CLI (-k, -K, RUNNER_*_PASSWORD) and
secret host variables (ansible_password, ansible_become_password...) stay here; workers
use their own agent, keys, known_hosts and RUNNER_BECOME_PASSWORD.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from runner.config import Secrets
from runner.engine.job import HostJob
from runner.errors import ConfigError
from runner.events import EventSink, Notice, RunFinished, RunStarted
from runner.executors.base import Executor, Run
from runner.executors.cluster import require_cluster_extra
from runner.executors.cluster import stream as keys
from runner.executors.cluster.app import Signing, make_app
from runner.executors.cluster.follow import Follower, retrying
from runner.models import Host, RunReport
from runner.project.values import redact_url


def connect(url: str, name: str) -> Any:
    """A redis-py client on ``url`` (redis:// or rediss://), named for CLIENT LIST."""
    import redis

    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=15,
            socket_connect_timeout=10,
            health_check_interval=10,
            max_connections=8,
            client_name=name,  # every connection of the pool, reconnected ones too
        )
        client.ping()
        return client
    except (redis.RedisError, ValueError) as exc:
        raise ConfigError(
            f"--cluster {redact_url(url)}: {exc}",
            hint="is Redis running there, and the password right?",
        ) from exc


def _quiet(exc: Exception) -> None:
    """A connection error retried (follow.retrying) that needs no word of its own."""


def live_workers(client: Any, zone: str) -> list[str]:
    return sorted(
        k.decode().rsplit(":", 1)[-1]
        for k in client.scan_iter(match=keys.worker_pattern(zone), count=1000)
    )


class ClusterExecutor(Executor):
    """Runs host jobs over the Celery workers of each host's zone."""

    def __init__(
        self,
        url: str,
        signing: Signing | None = None,
        *,
        shard_max: int = keys.SHARD_MAX,
        lease_check: float = 1.0,
    ) -> None:
        self.url = url
        self.signing = signing or Signing.from_environ()
        self.shard_max = shard_max
        self.lease_check = lease_check
        self._cancelled = False
        self.run_id = uuid.uuid4().hex[:16]

    def cancel(self) -> None:
        self._cancelled = True

    def execute(self, run: Run, secrets: Secrets, sink: EventSink) -> RunReport:
        require_cluster_extra("--cluster")
        if not isinstance(run.job, HostJob):
            raise ConfigError(f"a {run.job.kind} job does not run on a cluster (yet)")
        zones = keys.hosts_by_zone(run.hosts)
        client = connect(self.url, f"runner-cli-{self.run_id}")
        workers = {zone: live_workers(client, zone) for zone in zones}
        for zone, members in zones.items():
            if not workers[zone]:
                raise ConfigError(
                    f"zone {zone!r} has no live worker ({len(members)} hosts, e.g. "
                    f"{members[0].name}); nothing was dispatched",
                    hint=f"start one there: runner worker --broker URL --zone {zone}",
                )
        app = make_app(self.url, signing=self.signing, worker=False)
        shards, dropped = self._shards(zones, workers, run)
        started = time.time()
        clock = time.monotonic()
        sink.handle(RunStarted(tuple(h.name for h in run.hosts), run.config.forks, started))
        self._notices(sink, secrets, dropped)
        meta = {
            "run_id": self.run_id,
            "hosts": [h.name for h in run.hosts],
            "shards": {
                str(n): [zone, [h.name for h in hosts]] for n, (zone, hosts) in shards.items()
            },
            "started": started,
        }
        text = json.dumps(meta)
        retrying(lambda: client.set(keys.meta_key(self.run_id), text, ex=keys.KEEP_SECONDS), _quiet)
        follower = Follower(
            client,
            self.run_id,
            {n: (zone, [h.name for h in hosts]) for n, (zone, hosts) in shards.items()},
            sink,
            lease_check=self.lease_check,
        )
        self.follower = follower
        sink.handle(
            Notice(
                f"cluster run {self.run_id}: {len(shards)} shards over "
                f"{', '.join(f'{z} ({len(w)} workers)' for z, w in workers.items())}",
                "info",
            )
        )
        for n, (zone, hosts) in shards.items():
            if self._cancelled:
                break
            app.send_task(  # each payload made when sent: the run is not held twice
                keys.TASK_NAME,
                args=[self._payload(n, zone, hosts, run)],
                queue=keys.queue_name(zone),
                task_id=f"{self.run_id}.{n}",
                ignore_result=True,
            )
        cancelled = False
        while not follower.finished:
            if self._cancelled and not cancelled:
                cancelled = True
                self._cancel(client, follower)
            follower.read(block_ms=300)
            follower.check()
        order = [h.name for h in run.hosts]
        results = {h: follower.results[h] for h in order if h in follower.results}
        cut_off = tuple(h for h in order if h not in results)
        report = RunReport(results, time.monotonic() - clock, cut_off)

        def keep() -> None:
            client.expire(keys.meta_key(self.run_id), keys.KEEP_SECONDS)
            client.expire(keys.stream_key(self.run_id), keys.KEEP_SECONDS)

        retrying(keep, _quiet)
        sink.handle(RunFinished(report))
        return report

    def _cancel(self, client: Any, follower: Follower) -> None:
        retrying(
            lambda: client.set(keys.cancel_key(self.run_id), "1", ex=keys.KEEP_SECONDS), _quiet
        )
        follower.fence_unclaimed()

    def _shards(
        self, zones: Mapping[str, Sequence[Host]], workers: Mapping[str, Sequence[str]], run: Run
    ) -> tuple[dict[int, tuple[str, list[Host]]], list[str]]:
        shards: dict[int, tuple[str, list[Host]]] = {}
        for zone, members in zones.items():
            sizes = keys.shard_sizes(len(members), len(workers[zone]), self.shard_max)
            for piece in keys.cut_shards(members, sizes):
                shards[len(shards)] = (zone, piece)
        dropped = {name for h in run.hosts for name in h.vars if name in keys.SECRET_HOST_VARS}
        return shards, sorted(dropped)

    def _payload(self, number: int, zone: str, hosts: list[Host], run: Run) -> dict[str, Any]:
        """A shard's task argument: its hosts without secret variables, forks fitted."""
        clean = tuple(keys.without_secrets(host)[0] for host in hosts)
        config = dataclasses.replace(run.config, forks=min(run.config.forks, len(hosts)), procs=1)
        share = Run(clean, run.job, config)
        return keys.shard_payload(self.run_id, number, zone, share.to_dict())

    def _notices(self, sink: EventSink, secrets: Secrets, dropped: list[str]) -> None:
        given = [
            n for n in ("ssh_password", "become_password", "key_passphrase") if getattr(secrets, n)
        ]
        if given:
            sink.handle(
                Notice(
                    f"--cluster: the {', '.join(given)} given here is not sent to the workers: "
                    "they use their own (RUNNER_BECOME_PASSWORD, ssh-agent, keys)"
                )
            )
        if dropped:
            sink.handle(
                Notice(
                    f"--cluster: secret host variables are not sent to the workers: {', '.join(dropped)}"
                )
            )
