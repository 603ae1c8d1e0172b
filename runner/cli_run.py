"""`runner run`, and the hidden `runner _worker` that --procs starts."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import click

from runner.cli_common import (
    AppContext,
    PassphrasePrompt,
    adhoc_transport_factory,
    app_secrets,
    build_sinks,
    check_connections,
    command_spec,
    configure_logging,
    connection_options,
    event_fan_out,
    exit_status_for,
    host_template_vars,
    load_hosts,
    output_options,
    parse_extra_vars,
    resolve_secrets,
    stop_sinks,
)
from runner.errors import ConfigError


def command_options(func: Callable) -> Callable:
    """How `runner run` runs its command on each host."""
    options = [
        click.option(
            "--pty",
            is_flag=True,
            help="Request a terminal (some sudo setups need one); "
            "a timeout or Ctrl-C then hangs it up (SIGHUP). Output arrives as one stream.",
        ),
        click.option(
            "--env",
            multiple=True,
            metavar="K=V",
            help="Environment variable for the command (repeatable).",
        ),
        click.option("--chdir", metavar="DIR", help="Run the command in DIR."),
        click.option(
            "--stdin-file",
            type=click.Path(dir_okay=False, exists=True),
            metavar="FILE",
            help="Send FILE to the command's standard input on every host.",
        ),
        click.option(
            "--script",
            type=click.Path(dir_okay=False, exists=True),
            metavar="FILE",
            help="Upload FILE (SFTP, a fresh temp path), run it (COMMAND, if given, are its "
            "arguments) and remove it.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("run")
@click.argument("pattern")
@click.argument("command", required=False, default="")
@connection_options
@command_options
@output_options
@click.option(
    "--procs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Worker processes, each with its own pool (default: 1, or one per core above "
    "1,000 hosts).",
)
@click.pass_context
def run_command(ctx: click.Context, pattern: str, command: str, **opts: Any) -> None:
    """Run COMMAND on every host PATTERN selects (all, a group, a host, 'web:&prod'...).

    COMMAND runs through the remote login shell and is a Jinja2 template rendered per host:
    'echo {{ inventory_hostname }}'.
    """
    from runner.engine import Engine, fit_forks, raise_fd_limit
    from runner.events import Notice

    configure_logging(opts["verbose"])
    if not command and not opts["script"]:
        raise click.UsageError("give a COMMAND, or --script FILE")
    extra_vars = parse_extra_vars(opts["extra_vars"])
    _inventory, hosts = load_hosts(opts["inventories"], pattern, extra_vars)
    check_connections(hosts)
    render = command_renderer(command, extra_vars)
    if opts["out_dir"]:
        from runner.localpaths import check_host_names

        check_host_names([h.name for h in hosts], f"--out-dir {opts['out_dir']}")
        os.makedirs(opts["out_dir"], exist_ok=True)
    secrets = resolve_secrets(opts, app_secrets(ctx))
    prompt = PassphrasePrompt()
    factory = adhoc_transport_factory(opts, secrets, prompt)
    factory.prepare(hosts)
    if prompt.answer and not secrets.key_passphrase:  # asked on the terminal: for workers
        secrets = dataclasses.replace(secrets, key_passphrase=prompt.answer)
    procs = opts["procs"] if opts["procs"] is not None else default_procs(len(hosts))

    sinks = build_sinks(opts, [h.name for h in hosts])
    sink = event_fan_out(sinks)
    forks, forks_notice = fit_forks(opts["forks"], len(hosts), raise_fd_limit())
    if forks_notice and procs <= 1:
        sink.handle(Notice(forks_notice))
    if opts["host_key_checking"] == "off":
        sink.handle(
            Notice("host key checking is off: connections are open to man-in-the-middle attacks")
        )
    app = ctx.find_object(AppContext)
    interrupts = app.interrupts if app else None
    if procs > 1:
        from runner.multiproc import MultiProcessRun, WorkerJob

        runner_ = MultiProcessRun(sink, procs)
        unregister = interrupts.register(runner_.cancel) if interrupts else (lambda: None)
        job = WorkerJob(list(hosts), command, extra_vars, dict(opts), secrets)
        try:
            report = runner_.run(job, opts["forks"])
        finally:
            unregister()
            stop_sinks(sinks)
    else:
        engine = Engine(factory, sink, forks=forks, retries=opts["retries"])
        unregister = interrupts.register(engine.cancel) if interrupts else (lambda: None)
        try:
            report = engine.run_command(hosts, command_spec(opts, render))
        finally:
            unregister()
            factory.close()
            stop_sinks(sinks)
    ctx.exit(exit_status_for(report.any_failed, report.any_unreachable, bool(report.interrupted)))


PROCS_THRESHOLD = 1000


def default_procs(hosts: int) -> int:
    """One process up to 1,000 hosts; above that, one per core."""
    return (os.cpu_count() or 1) if hosts > PROCS_THRESHOLD else 1


def command_renderer(command: str, extra_vars: Mapping[str, Any]) -> Callable[[Any], str]:
    """Host -> command text. A template syntax error, or one that uses no variable and
    passes a size limit (``{{ 'a' * 10**10 }}``), is an InputError raised here, before any
    connection; an undefined variable fails only the host it is undefined for."""
    from runner import templating
    from runner.errors import TemplateError

    if not templating.is_template(command):
        return lambda host: command
    templating.compile_template(command, where="COMMAND")
    try:
        templating.check_constant(command)
    except TemplateError as exc:
        raise TemplateError(exc.message, path="COMMAND") from exc
    return lambda host: templating.render(command, host_template_vars(host, extra_vars))


@click.command("_worker", hidden=True)
@click.pass_context
def worker_command(ctx: click.Context) -> None:
    """Internal: one worker process of a --procs run (job on stdin, events on stdout)."""
    import threading

    from runner.engine import Engine, raise_fd_limit
    from runner.multiproc import FrameSink, read_frame, wait_for_eof

    stdin = sys.stdin.buffer
    job = read_frame(stdin)
    if job is None:
        raise ConfigError("_worker: no job on stdin")
    raise_fd_limit()
    configure_logging(job.options.get("verbose", 0))
    engine = Engine(
        adhoc_transport_factory(job.options, job.secrets),  # never the environment's
        FrameSink(sys.stdout.fileno()),
        forks=job.forks,
        retries=job.options.get("retries", 0),
    )
    app = ctx.find_object(AppContext)
    if app and app.interrupts:
        app.interrupts.register(engine.cancel)

    def watch_parent() -> None:  # stdin closes when the parent ends or dies
        wait_for_eof(stdin.fileno())
        engine.cancel()
        threading.Timer(2.0, os._exit, args=(130,)).start()

    threading.Thread(target=watch_parent, daemon=True).start()
    render = command_renderer(job.command, job.extra_vars)
    engine.run_command(job.hosts, command_spec(job.options, render))
    os._exit(0)  # the parent holds our stdin open; don't wait for the watcher
