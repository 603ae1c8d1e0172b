"""``runner play``: run Ansible-syntax playbooks."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import click

from runner.cli.environment import Environment
from runner.cli.execute import check_connections, make_out_dir
from runner.cli.options import (
    configure,
    configure_logging,
    connection_options,
    output_options,
    without_short_timeout,
)
from runner.cli.rerun import load_rerun, narrow, print_notices, rerun_option, title_of
from runner.cli.secrets import resolve_secrets
from runner.cli.status import exit_status_of


def _split(values: Sequence[str]) -> list[str]:
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


@click.command("play")
@click.argument("playbooks", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-l", "--limit", metavar="PATTERN", help="Only hosts that also match PATTERN.")
@click.option("--check", is_flag=True, help="Change nothing: report what would change.")
@click.option("--diff", is_flag=True, help="Show the changes copy/template make to files.")
@click.option("--start-at-task", metavar="NAME", help="Skip the tasks before the task NAME.")
@click.option("-t", "--tags", multiple=True, metavar="TAGS", help="Only tasks with these tags.")
@click.option("--skip-tags", multiple=True, metavar="TAGS", help="Not tasks with these tags.")
@click.option("--list-tasks", is_flag=True, help="List the tasks that would run, and exit.")
@click.option("--list-hosts", is_flag=True, help="List each play's hosts and batches, and exit.")
@click.option("--syntax-check", is_flag=True, help="Check the playbooks, and exit.")
@click.option(
    "--force-handlers", is_flag=True, help="Run notified handlers even on hosts that failed."
)
@click.option(
    "--pty",
    is_flag=True,
    help="Request a terminal for commands run with become (sudoers 'requiretty'); "
    "their output then arrives as one stream.",
)
@rerun_option
@click.option(
    "--cluster",
    metavar="URL",
    hidden=True,  # said, so that it is refused with the reason rather than as unknown
    help="Not supported yet for playbooks.",
)
@without_short_timeout
@connection_options
@output_options
@click.pass_obj
def play_command(env: Environment, playbooks: tuple[str, ...], **params: Any) -> int:
    """Run PLAYBOOK... (Ansible syntax) on the hosts of their plays.

    Hosts run each task together (Ansible's linear strategy; 'strategy: free' lets
    each go at its own pace), each over its one SSH connection; 'serial' plays run in
    rolling batches.
    """
    from runner.errors import ConfigError
    from runner.playbook.job import PlaybookJob

    if params.pop("cluster", None):
        raise ConfigError(
            "runner play --cluster is not supported yet: a play's linear strategy moves "
            "the hosts of a batch from task to task together, which needs a barrier "
            "across workers",
            hint="run the playbook from one node (runner play without --cluster), or "
            "ad-hoc commands with runner run --cluster",
        )
    config, vault = configure(params, env)
    configure_logging(config.output.verbose, env.stderr)
    if config.cluster:  # from RUNNER_CLUSTER or [runner] cluster, meant for runner run
        env.stderr.write(
            "warning: the cluster setting is for runner run; playbooks run from this "
            "machine (runner play --cluster is not supported yet)\n"
        )
        config = dataclasses.replace(config, cluster=None)
    job = PlaybookJob(
        paths=tuple(playbooks),
        limit=params["limit"],
        check_mode=bool(params["check"]),
        diff=bool(params["diff"]),
        pty=bool(params["pty"]),
        tags=tuple(_split(params["tags"])),
        skip_tags=tuple(_split(params["skip_tags"])),
        start_at_task=params["start_at_task"],
        force_handlers=bool(params["force_handlers"]),
    )
    from runner.inventory import load_inventory
    from runner.playbook.bridge import bridge_for

    bridge = bridge_for(config.project)
    book = job.load_book(config.extra_vars, vault, bridge, config.project)
    if params["syntax_check"]:
        from runner.output.controls import escape_controls
        from runner.playbook.gathering import gathering_warnings

        for warning in gathering_warnings(book.plays, config.gathering):
            click.echo(f"[WARNING]: {escape_controls(warning)}", file=env.stderr)
        for path in playbooks:
            click.echo(f"playbook: {path}", file=env.stdout)
        return 0
    rerun = load_rerun(env, params["rerun"])
    inventory = load_inventory(
        list(config.inventories), config.extra_vars, vault, job.playbook_dirs()
    )
    if job.limit:
        inventory.select(job.limit)  # no match: an input error before anything runs
    job = dataclasses.replace(job, book=book, inventory=inventory, bridge=bridge)
    notices: list = []
    if rerun is not None:
        job, notices = _narrow_to_rerun(rerun, job)
    if params["list_hosts"] or params["list_tasks"]:
        print_notices(env, notices)
        _print_listing(env, book, inventory, params, job.only)
        return 0
    job = _ask_prompts(env, job, config.extra_vars)
    return _run(env, config, job, params, notices, vault)


def _ask_prompts(env: Environment, job: Any, extra_vars: Any) -> Any:
    """vars_prompt: asked on the terminal before anything runs (-e answers one; with no
    terminal the default is taken, or it is an input error); the job carries the answers."""
    from runner.playbook.prompts import answer_plays

    if not any(play.vars_prompt for play in job.book.plays):
        return job
    ask = (lambda text, _private: env.prompt(text)) if env.is_interactive() else None
    answers = answer_plays(job.book.plays, extra_vars, ask)
    return dataclasses.replace(job, prompted=tuple(answers))


def _narrow_to_rerun(rerun: Any, job: Any) -> tuple[Any, list]:
    """The job on those hosts of its plays (after --limit) that --rerun selects."""
    from runner.playbook.hosts import play_hosts

    names = {
        h.name for play in job.book.plays for h in play_hosts(job.inventory, play, job.limit)[0]
    }
    hosts = [h for h in job.inventory.hosts.values() if h.name in names]
    what = "the plays' patterns" + (f" and --limit {job.limit!r}" if job.limit else "")
    kept, notices = narrow(rerun, job.inventory, hosts, what)
    return dataclasses.replace(job, only=tuple(h.name for h in kept)), notices


def _run(
    env: Environment,
    config: Any,
    job: Any,
    params: dict[str, Any],
    notices: Sequence[Any],
    vault: Any = None,
) -> int:
    """Connect as `runner run` does (same transports, credentials asked once, keys loaded
    before the first connection, bastion connections closed at the end) and run."""
    from runner.cli.execute import HOST_KEY_OFF, choose_executor
    from runner.cli.rerun import record_run
    from runner.events import Notice
    from runner.executors import Run
    from runner.output.compose import fan_out, playbook_sinks, stop_sinks
    from runner.overrides import override_notices
    from runner.playbook.hosts import play_hosts

    all_hosts: dict[str, Any] = {}
    per_play = [
        (play, play_hosts(job.inventory, play, job.limit, job.only)[0]) for play in job.book.plays
    ]
    for _play, hosts in per_play:
        for host in hosts:
            all_hosts[host.name] = host
    check_connections(list(all_hosts.values()))
    _check_local_names(per_play, list(all_hosts), config.output.out_dir)
    secrets = resolve_secrets(config, env, vault)
    make_out_dir(config)
    executor = choose_executor(env, config, list(all_hosts.values()), playbook=True)
    sinks = playbook_sinks(config.output, sorted(all_hosts), env)
    sink = fan_out(sinks)
    if config.connection.host_key_checking == "off":
        sink.handle(Notice(HOST_KEY_OFF))
    become = config.become, secrets.become_password is not None
    for text in override_notices(all_hosts.values(), config.connection, *become):
        sink.handle(Notice(text))
    for notice in notices:
        sink.handle(notice)
    # The live view leaves the screen first, so Ctrl-C's notice is not drawn over.
    clear_screen = env.on_interrupt(lambda: stop_sinks(sinks), before_notice=True)
    unregister = env.on_interrupt(executor.cancel)
    clock = time.monotonic()
    try:
        summary = executor.execute(Run(tuple(all_hosts.values()), job, config), secrets, sink)
    finally:
        unregister()
        clear_screen()
        stop_sinks(sinks)
    duration = time.monotonic() - clock
    title = title_of(
        "play", params["rerun"], *(["--limit", job.limit] if job.limit else []), *job.paths
    )
    record_run(env, *title, config.inventories, list(all_hosts), summary, duration)
    return exit_status_of(summary)


def _check_local_names(play_hosts: list, hosts: list[str], out_dir: str | None) -> None:
    """Before any connection: every host name can be a file name under --out-dir, and
    in each play with a fetch task (which keeps DEST/HOST/SRC) those of its hosts; when
    the task's dest itself names the host ('{{ inventory_hostname }}'), with no '/'. The
    fetch module confines DEST/HOST/SRC again, and fails the task, if a host gets past."""
    from runner.localpaths import check_host_names

    if out_dir:
        check_host_names(hosts, f"--out-dir {out_dir}")
    for play, members in play_hosts:
        names = [h.name for h in members]
        for task in _tasks_and_handlers(play):
            if task.module != "fetch":
                continue
            dest = str(task.args.get("dest", ""))
            # A dest naming the host goes into the path as it is: no '/' in the names then.
            as_is = "inventory_hostname" in dest
            where = f"dest {dest!r} of the fetch task at {task.where}"
            check_host_names(
                names, where if as_is else f"the fetch task at {task.where}", as_is=as_is
            )


def _tasks_and_handlers(play: Any) -> Any:
    from runner.playbook.model import iter_tasks

    yield from play.all_tasks()
    yield from iter_tasks(play.handlers)


def _print_listing(
    env: Environment, book: Any, inventory: Any, params: dict, only: Any = None
) -> None:
    from runner.aggregate import fold_hosts
    from runner.output.controls import escape_controls, is_terminal_file
    from runner.playbook.batches import plan_batches
    from runner.playbook.hosts import play_hosts

    # Host and task names can carry controls: on a terminal they show escaped.
    out = env.stdout
    show = escape_controls if is_terminal_file(out) else str

    def echo(text: str) -> None:
        click.echo(show(text), file=out)

    echo(f"\nplaybook: {book.path}")
    for number, play in enumerate(book.plays, 1):
        tags = ", ".join(sorted(play.tags))
        echo(f"\n  play #{number} ({play.hosts}): {play.name}\tTAGS: [{tags}]")
        if params["list_hosts"]:
            hosts, _skipped = play_hosts(inventory, play, params["limit"], only)
            echo(
                f"    pattern: {play.hosts!r}"
                + (f" limit: {params['limit']!r}" if params["limit"] else "")
            )
            echo(f"    hosts ({len(hosts)}):")
            for host in hosts:
                echo(f"      {host.name}")
            batches = plan_batches(hosts, play.serial)
            serial = ", ".join(str(s) for s in play.serial) or "all hosts at once"
            limit = play.max_fail_percentage
            extra = f", max_fail_percentage: {limit:g}%" if limit is not None else ""
            echo(f"    batches ({len(batches)}; serial: {serial}{extra}):")
            for i, batch in enumerate(batches, 1):
                names = [h.name for h in batch]
                echo(f"      {i}: {fold_hosts(names)} ({len(names)})")
        if params["list_tasks"]:
            echo("    tasks:")
            for task in play.all_tasks():
                echo(f"      {task.label}\tTAGS: [{', '.join(sorted(task.tags))}]")


__all__ = ["play_command"]
