"""``runner worker`` (a Celery worker of a cluster zone) and ``runner attach RUN_ID`` (a
second viewer of a cluster run, or one after its CLI died)."""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

import click

from runner.cli.environment import Environment
from runner.cli.options import cluster_url, configure_logging, output_options


def broker_option(name: str, help_text: str) -> Any:
    return click.option(name, "url", metavar="URL", help=help_text)


@click.command("worker")
@broker_option("--broker", "Redis URL (redis:// or rediss://) of the cluster (env RUNNER_CLUSTER).")
@click.option(
    "--zone",
    default="default",
    show_default=True,
    help="The zone whose hosts this worker runs (queue runner.zone.ZONE).",
)
@click.option("--name", metavar="NAME", help="This worker's name [default: HOSTNAME.PID].")
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Shards run at once (each with its own pool of -f hosts).",
)
@click.option(
    "--certs",
    type=click.Path(file_okay=False),
    envvar="RUNNER_CLUSTER_CERTS",
    metavar="DIR",
    help="Folder of the certificates whose keys may sign runs (env RUNNER_CLUSTER_CERTS).",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=1),
    default=10.0,
    show_default=True,
    metavar="S",
    help="Seconds after which a silent worker's shards count as lost.",
)
@click.option("-v", "--verbose", count=True, help="More detail (repeat for debug logs).")
@click.pass_obj
def worker_command(
    env: Environment,
    url: str | None,
    zone: str,
    name: str | None,
    concurrency: int,
    certs: str | None,
    lease: float,
    verbose: int,
) -> None:
    """Run the shards of cluster runs for the hosts of ZONE (a Celery worker, gevent pool).

    It uses this machine's ssh-agent, keys, known_hosts and RUNNER_BECOME_PASSWORD:
    nothing secret comes through the broker.
    """
    from runner.errors import ConfigError
    from runner.executors.cluster import require_cluster_extra
    from runner.executors.cluster.stream import check_zone_name, queue_name

    require_cluster_extra("runner worker")
    url = cluster_url(url, env)
    if not url:
        raise ConfigError("runner worker needs --broker URL (or RUNNER_CLUSTER, [runner] cluster)")
    check_zone_name(zone, "--zone")
    from runner.engine.scheduler import raise_fd_limit
    from runner.entry import patch_state
    from runner.executors.cluster.app import Signing, make_app
    from runner.executors.cluster.client import connect
    from runner.executors.cluster.stream import TASK_NAME
    from runner.executors.cluster.worker import WorkerState, run_shard
    from runner.project.values import redact_url

    report = patch_state()  # before celery and paramiko are imported
    # paramiko and cryptography now, not in the first shard: an import holds the whole
    # process (its lease refreshes too) for a second on a busy machine
    import runner.engine.command  # noqa: F401
    import runner.transport.factory  # noqa: F401
    import runner.transport.ssh.transport  # noqa: F401

    raise_fd_limit()
    configure_logging(max(verbose, 1), env.stderr)
    name = name or f"{socket.gethostname()}.{os.getpid()}"
    signing = Signing(certs=certs or env.environ.get("RUNNER_CLUSTER_CERTS"))
    app = make_app(url, signing=signing, worker=True)
    client = connect(url, f"runner-worker-{name}")
    state = WorkerState(name, zone, client, env.secrets, lease=lease, url=url)
    state.info = {**report, "pid": os.getpid(), "pool": "gevent", "zone": zone}

    @app.task(name=TASK_NAME, ignore_result=True, acks_late=False)
    def shard(payload: dict[str, Any]) -> str:
        return run_shard(payload, state)

    import gevent
    from celery import signals

    signals.worker_ready.connect(lambda **_: state.start(), weak=False)
    # called in the signal handler, where nothing may block: the heartbeat goes in a greenlet
    signals.worker_shutting_down.connect(lambda **_: gevent.spawn(state.stop), weak=False)
    env.stderr.write(f"runner worker {name}: zone {zone}, broker {redact_url(url)}\n")
    env.stderr.flush()
    app.worker_main(
        [
            "worker",
            "-P",
            "gevent",
            "-Q",
            queue_name(zone),
            "-c",
            str(concurrency),
            "-n",
            name if "@" in name else f"{name}@{socket.gethostname()}",
            "--prefetch-multiplier",
            "1",
            "--disable-prefetch",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "DEBUG" if verbose >= 2 else "INFO",
        ]
    )


@click.command("attach")
@click.argument("run_id")
@broker_option("--cluster", "Redis URL of the cluster (env RUNNER_CLUSTER).")
@output_options
@click.pass_obj
def attach_command(env: Environment, run_id: str, url: str | None, **params: Any) -> int:
    """Follow the cluster run RUN_ID from its first host: the same output and exit code as
    the CLI that started it. Ctrl-C leaves the run going."""
    from runner.cli.options import build_config
    from runner.cli.status import exit_status_of
    from runner.errors import ConfigError
    from runner.events import RunFinished, RunStarted
    from runner.executors.cluster import require_cluster_extra
    from runner.executors.cluster import stream as keys
    from runner.executors.cluster.client import connect
    from runner.executors.cluster.follow import Follower
    from runner.models import RunReport
    from runner.output.compose import fan_out, host_job_sinks, stop_sinks

    require_cluster_extra("runner attach")
    config = build_config({**params, "cluster": url}, env)
    url = config.cluster
    if not url:
        raise ConfigError("runner attach needs --cluster URL (or RUNNER_CLUSTER, [runner] cluster)")
    configure_logging(config.output.verbose, env.stderr)
    client = connect(url, f"runner-attach-{run_id}")
    raw = client.get(keys.meta_key(run_id))
    if raw is None:
        raise ConfigError(
            f"no cluster run {run_id!r} in {keys.PREFIX}:run:* (ended over "
            f"{keys.KEEP_SECONDS} s ago, or never started)"
        )
    meta = json.loads(raw)
    hosts = list(meta["hosts"])
    sinks = host_job_sinks(config.output, hosts, env)
    sink = fan_out(sinks)
    stopped = []
    unregister = env.on_interrupt(lambda: stopped.append(True))
    try:
        sink.handle(RunStarted(tuple(hosts), config.forks, float(meta["started"])))
        shards = {int(n): (zone, members) for n, (zone, members) in meta["shards"].items()}
        follower = Follower(client, run_id, shards, sink)
        follower.follow(lambda: bool(stopped))
        results = {h: follower.results[h] for h in hosts if h in follower.results}
        report = RunReport(results, 0.0, tuple(h for h in hosts if h not in results))
        sink.handle(RunFinished(report))
    finally:
        unregister()
        stop_sinks(sinks)
    return exit_status_of(report)


__all__ = ["attach_command", "worker_command", "sys"]
