"""The cluster executor: a run spread over Celery workers (gevent pool, Redis broker),
hosts routed to their zone's queue, per-host records back on one Redis Stream per run.

- client.py: the CLI's side (cut into shards, check zones, dispatch, cancel)
- follow.py: reading a run's stream into events and one result per host (CLI, attach)
- worker.py: the Celery task (claim, lease, run the shard in-process, write records)
- app.py: the Celery app of both sides (signed JSON: Celery's ``auth`` serializer)
- stream.py: keys, records, shards and zones (pure, no celery or redis)

celery and redis come with the optional extra ``runner[cluster]``; nothing here imports
them at module level, and a run without --cluster never imports this package.
"""

from __future__ import annotations

from runner.errors import ConfigError

INSTALL_HINT = "install the cluster extra: pip install 'runner[cluster]'"


def require_cluster_extra(what: str) -> None:
    """ConfigError saying how to install celery and redis when they are missing."""
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"{what} needs celery and redis ({exc.name} is not installed)", hint=INSTALL_HINT
        ) from exc
