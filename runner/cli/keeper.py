"""``runner keeper status|stop``: what the connection keeper holds, and ending it; and the
hidden ``runner _keeper`` that is the keeper (started by the first run that needs it)."""

from __future__ import annotations

import click

from runner.cli.environment import Environment


@click.group("keeper")
def keeper_group() -> None:
    """The connection keeper: connections held between runs (see --persist)."""


def _sockets(env: Environment) -> list[str]:
    from runner.executors.keeper.paths import keeper_sockets

    return keeper_sockets(env.environ)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _ago(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


@keeper_group.command("status")
@click.pass_obj
def status_command(env: Environment) -> int:
    """List the connections each keeper holds, with their idle times and memory."""
    from runner.executors.keeper.client import request
    from runner.executors.keeper.paths import KeeperUnavailable

    out = env.stdout
    found = 0
    for path in _sockets(env):
        try:
            status = request(path, "status")
        except KeeperUnavailable:
            continue
        if not status:
            continue
        found += 1
        held = status.get("held") or []
        rss, base = status.get("rss_kb", 0), status.get("baseline_rss_kb", 0)
        per = f", {(rss - base) / len(held):.0f} KiB per connection" if held else ""
        exits = status.get("exits_in")
        when = "serving a run" if exits is None else f"exits in {_ago(exits)} if unused"
        out.write(
            f"keeper pid {status.get('pid')} (runner {status.get('version')}): "
            f"{_count(len(held), 'connection')} held, "
            f"{_count(int(status.get('runs') or 0), 'run')} served, {when}\n"
            f"  memory: {rss / 1024:.1f} MiB resident ({base / 1024:.1f} MiB at start{per})\n"
            f"  socket: {path}\n"
        )
        for row in held:
            name = f" ({row['host']})" if row.get("host") else ""
            out.write(f"  {row['kind']:<7} {row['label']}{name}  idle {_ago(row['idle'])}\n")
    if not found:
        out.write("no connection keeper is running\n")
    return 0


@keeper_group.command("stop")
@click.pass_obj
def stop_command(env: Environment) -> int:
    """End the keeper (its connections are closed)."""
    from runner.executors.keeper.client import request
    from runner.executors.keeper.paths import KeeperUnavailable

    stopped = 0
    for path in _sockets(env):
        try:
            answer = request(path, "stop")
        except KeeperUnavailable:
            continue
        if answer:
            stopped += 1
            env.stdout.write(f"stopped keeper pid {answer.get('pid')}\n")
    if not stopped:
        env.stdout.write("no connection keeper is running\n")
    return 0


@click.command("_keeper", hidden=True)
@click.option("--socket", "path", required=True)
@click.option("--idle", type=click.FloatRange(min=0.1), default=60.0)
def keeper_daemon(path: str, idle: float) -> None:
    """Internal: the connection keeper process (started by runs, see --persist)."""
    from runner.executors.keeper.server import daemonise_and_serve

    daemonise_and_serve(path, idle)
