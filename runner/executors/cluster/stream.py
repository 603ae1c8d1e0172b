"""What travels between the CLI and the workers, as pure data: Redis key names, the
records of a run's stream, the shards and zones of a run. No celery or redis here.

Every stream entry has one field ``r``: compact JSON ``{"k": KIND, "s": SHARD, "q": SEQ,
"w": WORKER, ...}``. A worker numbers each shard's records (``q`` from 1); a record seen
again (a batch re-sent after a dropped connection) has a number already seen and is
dropped, so the reader sees each record once.

>>> data = encode_record("start", 3, 7, "w1", h="web01", t=1.5)
>>> decode_record(data)["h"], decode_record(data)["q"]
('web01', 7)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner.errors import ConfigError
from runner.models import Host

PREFIX = "runner"
DEFAULT_ZONE = "default"
ZONE_VARIABLE = "runner_zone"
QUEUE_PREFIX = "runner.zone."
SHARD_MAX = 2000  # hosts in one shard (one Celery task) at most
KEEP_SECONDS = 3600  # a run's keys and stream live this long after their last write
TASK_NAME = "runner.shard"

#: Host variables that hold a secret: they never travel through the broker.
SECRET_HOST_VARS = frozenset(
    {
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
        "ansible_ssh_private_key_passphrase",
    }
)


def queue_name(zone: str) -> str:
    """``queue_name("dc1")`` -> ``'runner.zone.dc1'``."""
    return QUEUE_PREFIX + zone


def stream_key(run_id: str) -> str:
    return f"{PREFIX}:run:{run_id}:stream"


def meta_key(run_id: str) -> str:
    return f"{PREFIX}:run:{run_id}:meta"


def cancel_key(run_id: str) -> str:
    return f"{PREFIX}:run:{run_id}:cancel"


def claim_key(run_id: str, shard: int) -> str:
    return f"{PREFIX}:run:{run_id}:shard:{shard}:claim"


def lease_key(run_id: str, shard: int) -> str:
    return f"{PREFIX}:run:{run_id}:shard:{shard}:lease"


def worker_key(zone: str, worker: str) -> str:
    return f"{PREFIX}:worker:{zone}:{worker}"


def worker_pattern(zone: str) -> str:
    return f"{PREFIX}:worker:{zone}:*"


def encode_record(kind: str, shard: int, seq: int, worker: str, **fields: Any) -> bytes:
    data = {"k": kind, "s": shard, "q": seq, "w": worker, **fields}
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode()


def decode_record(data: bytes | str) -> dict[str, Any]:
    try:
        record = json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"cluster: a stream record that is not JSON: {data[:80]!r}") from exc
    if not isinstance(record, dict) or "k" not in record:
        raise ConfigError(f"cluster: a stream record without a kind: {data[:80]!r}")
    return record


# -- zones and shards --------------------------------------------------------------------


def check_zone_name(zone: str, host: str) -> str:
    """A zone is a queue name's suffix: letters, digits, '-', '_' and '.'.

    >>> check_zone_name("dc-1", "web1")
    'dc-1'
    """
    if not isinstance(zone, str) or not zone or not all(c.isalnum() or c in "-_." for c in zone):
        raise ConfigError(
            f"host {host}: {ZONE_VARIABLE}={zone!r} is not a zone name",
            hint="a zone is letters, digits, '-', '_' and '.' (runner worker --zone NAME)",
        )
    return zone


def hosts_by_zone(hosts: Iterable[Host]) -> dict[str, list[Host]]:
    """Hosts grouped by their ``runner_zone`` variable (``default`` without one), in order.

    >>> zones = hosts_by_zone([Host("a", {"runner_zone": "dc1"}), Host("b", {})])
    >>> {zone: [h.name for h in members] for zone, members in zones.items()}
    {'dc1': ['a'], 'default': ['b']}
    """
    zones: dict[str, list[Host]] = {}
    for host in hosts:
        zone = check_zone_name(host.vars.get(ZONE_VARIABLE, DEFAULT_ZONE), host.name)
        zones.setdefault(zone, []).append(host)
    return zones


def shard_sizes(count: int, workers: int, shard_max: int = SHARD_MAX) -> list[int]:
    """How ``count`` hosts of a zone are cut: two shards per live worker (so a fast worker
    takes a second one while a slow one works), at most ``shard_max`` hosts each, sizes
    differing by one at most.

    >>> shard_sizes(10, 2), shard_sizes(5, 4), shard_sizes(9000, 1, 2000)
    ([3, 3, 2, 2], [1, 1, 1, 1, 1], [1800, 1800, 1800, 1800, 1800])
    """
    if count <= 0:
        return []
    parts = max(2 * max(workers, 1), -(-count // shard_max))
    parts = min(parts, count)
    base, extra = divmod(count, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def cut_shards(hosts: Sequence[Host], sizes: Sequence[int]) -> list[list[Host]]:
    """``hosts`` cut in order into pieces of ``sizes``."""
    shards, start = [], 0
    for size in sizes:
        shards.append(list(hosts[start : start + size]))
        start += size
    return shards


def without_secrets(host: Host) -> tuple[Host, list[str]]:
    """The host without its secret variables (they never reach the broker), and their
    names.

    >>> host, dropped = without_secrets(Host("a", {"ansible_password": "x", "p": 1}))
    >>> dict(host.vars), dropped
    ({'p': 1}, ['ansible_password'])
    """
    dropped = sorted(name for name in host.vars if name in SECRET_HOST_VARS)
    if not dropped:
        return host, []
    kept = {k: v for k, v in host.vars.items() if k not in SECRET_HOST_VARS}
    return Host(host.name, kept, host.groups), dropped


def shard_payload(
    run_id: str, shard: int, zone: str, run: Mapping[str, Any], keep: int = KEEP_SECONDS
) -> dict[str, Any]:
    """The one argument of a shard's Celery task: JSON, no secret."""
    return {
        "version": 1,
        "run_id": run_id,
        "shard": shard,
        "zone": zone,
        "run": dict(run),
        "keep": keep,
    }
