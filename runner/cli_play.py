"""``runner play``: run Ansible-syntax playbooks. Registered by cli.py as ``play``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from runner.cli_common import (
    AppContext,
    app_secrets,
    check_connections,
    configure_logging,
    connection_options,
    event_fan_out,
    exit_status_for,
    output_options,
    parse_extra_vars,
    resolve_secrets,
    stop_sinks,
    transport_factory,
)


def _timeout_without_short_flag(func: Any) -> Any:
    """connection_options spells the command timeout ``-t/--timeout``; in ``play``
    ``-t`` means ``--tags`` (as in ansible-playbook), so keep only ``--timeout``."""
    for param in getattr(func, "__click_params__", []):
        if param.name == "timeout":
            param.opts = [o for o in param.opts if o != "-t"]
    return func


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
    "--pty",
    is_flag=True,
    help="Request a terminal for commands run with become (sudoers 'requiretty'); "
    "their output then arrives as one stream.",
)
@_timeout_without_short_flag
@connection_options
@output_options
@click.pass_context
def play_command(ctx: click.Context, playbooks: tuple[str, ...], **opts: Any) -> None:
    """Run PLAYBOOK... (Ansible syntax) on the hosts of their plays.

    Hosts run each task together (Ansible's linear strategy), each over its one SSH
    connection; 'serial' plays run in rolling batches.
    """
    from runner.playbook import load_playbook, select_tasks
    from runner.playbook.model import Playbook

    configure_logging(opts["verbose"])
    extra_vars = parse_extra_vars(opts["extra_vars"])
    loaded = [load_playbook(path, extra_vars) for path in playbooks]
    book = Playbook(
        ", ".join(playbooks),
        [play for pb in loaded for play in pb.plays],
        [w for pb in loaded for w in pb.warnings],
    )
    book = select_tasks(
        book,
        tags=_split(opts["tags"]),
        skip_tags=_split(opts["skip_tags"]),
        start_at_task=opts["start_at_task"],
    )
    if opts["syntax_check"]:
        for path in playbooks:
            click.echo(f"playbook: {path}")
        ctx.exit(0)

    from runner.inventory import load_inventory

    inventory = load_inventory(list(opts["inventories"]), extra_vars=extra_vars)
    if opts["limit"]:
        inventory.select(opts["limit"])  # no match: an input error before anything runs
    if opts["list_hosts"] or opts["list_tasks"]:
        _print_listing(book, inventory, opts)
        ctx.exit(0)
    ctx.exit(_run(ctx, book, inventory, extra_vars, opts))


def _run(ctx: click.Context, book: Any, inventory: Any, extra_vars: dict, opts: dict) -> int:
    """Connect as `runner run` does (same factory, credentials asked once, keys loaded
    before the first connection, bastion connections closed at the end) and run."""
    import gevent

    from runner.engine import Engine, fit_forks, raise_fd_limit
    from runner.events import Notice, NullSink
    from runner.playbook import BecomeDefaults, PlaybookRunner
    from runner.transport.local import LocalTransport

    all_hosts: dict[str, Any] = {}
    probe = PlaybookRunner(
        inventory=inventory,
        engine_factory=lambda: None,
        sink=NullSink(),
        local_factory=LocalTransport,
        limit=opts["limit"],
    )
    play_hosts = [(play, probe.play_hosts(play)) for play in book.plays]
    for _play, hosts in play_hosts:
        for host in hosts:
            all_hosts[host.name] = host
    check_connections(list(all_hosts.values()))
    _check_local_names(play_hosts, list(all_hosts), opts["out_dir"])
    secrets = resolve_secrets(opts, app_secrets(ctx))
    become = BecomeDefaults(
        enabled=bool(opts["become"]), user=opts["become_user"], password=secrets.become_password
    )
    factory = transport_factory(opts, secrets)
    sinks: list[Any] = []
    try:
        factory.prepare(list(all_hosts.values()))
        if opts["out_dir"]:
            os.makedirs(opts["out_dir"], exist_ok=True)
        sinks = _sinks(opts, sorted(all_hosts))
        sink = event_fan_out(sinks)
        forks, forks_notice = fit_forks(opts["forks"], max(1, len(all_hosts)), raise_fd_limit())
        if forks_notice:
            sink.handle(Notice(forks_notice))
        if opts["host_key_checking"] == "off":
            sink.handle(Notice("host key checking is off: connections are open to MITM attacks"))
        runner = PlaybookRunner(
            inventory=inventory,
            engine_factory=lambda: Engine(factory, sink, forks=forks, retries=opts["retries"]),
            sink=sink,
            local_factory=LocalTransport,
            extra_vars=extra_vars,
            limit=opts["limit"],
            check=opts["check"],
            diff=opts["diff"],
            max_output=opts["max_output"],
            default_timeout=opts["timeout"],
            sleep=gevent.sleep,
            stream=bool(opts["stream"]) and not opts["json_lines"],
            out_dir=opts["out_dir"],
            become=become,
            pty=bool(opts["pty"]),
        )
        app = ctx.find_object(AppContext)
        interrupts = app.interrupts if app else None
        unregister = interrupts.register(runner.cancel) if interrupts else (lambda: None)
        try:
            summary = runner.run(book)
        finally:
            unregister()
    finally:
        stop_sinks(sinks)
        factory.close()
    return exit_status_for(summary.any_failed, summary.any_unreachable, summary.interrupted)


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


def _sinks(opts: dict, hosts: list[str]) -> list[Any]:
    from runner.output import NoticePrinter, StreamPrinter, make_console
    from runner.output.playbook import PlaybookView
    from runner.output.playbook_json import PlaybookJsonLines, PlaybookJUnit, PlaybookOutDir

    err_console = make_console(stderr=True)
    sinks: list[Any] = []
    if opts["json_lines"]:
        sinks.append(PlaybookJsonLines(sys.stdout))
        sinks.append(NoticePrinter(err_console))
    else:
        console = make_console()
        if opts["stream"]:
            sinks.append(StreamPrinter(console, hosts))
        sinks.append(
            PlaybookView(
                console,
                err_console=err_console,
                quiet=opts["quiet"],
                verbose=bool(opts["verbose"]),
            )
        )
    if opts["junit"]:
        sinks.append(PlaybookJUnit(opts["junit"]))
    if opts["out_dir"]:
        sinks.append(PlaybookOutDir(opts["out_dir"]))
    return sinks


def _print_listing(book: Any, inventory: Any, opts: dict) -> None:
    from runner.aggregate import fold_hosts
    from runner.events import NullSink
    from runner.playbook import PlaybookRunner
    from runner.playbook.batches import plan_batches
    from runner.transport.local import LocalTransport

    probe = PlaybookRunner(
        inventory=inventory,
        engine_factory=lambda: None,
        sink=NullSink(),
        local_factory=LocalTransport,
        limit=opts["limit"],
    )
    from runner.output.controls import escape_controls, is_terminal_file

    # Host and task names can carry controls: on a terminal they show escaped.
    show = escape_controls if is_terminal_file(sys.stdout) else str

    def echo(text: str) -> None:
        click.echo(show(text))

    echo(f"\nplaybook: {book.path}")
    for number, play in enumerate(book.plays, 1):
        tags = ", ".join(sorted(play.tags))
        echo(f"\n  play #{number} ({play.hosts}): {play.name}\tTAGS: [{tags}]")
        if opts["list_hosts"]:
            hosts = probe.play_hosts(play)
            echo(
                f"    pattern: {play.hosts!r}"
                + (f" limit: {opts['limit']!r}" if opts["limit"] else "")
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
        if opts["list_tasks"]:
            echo("    tasks:")
            for task in play.all_tasks():
                echo(f"      {task.label}\tTAGS: [{', '.join(sorted(task.tags))}]")


__all__ = ["play_command"]
