"""``runner copy`` and ``runner fetch``: one file to or from many hosts over SFTP.
Registered by cli.py (imported only when used)."""

from __future__ import annotations

import os
from typing import Any

import click

from runner.cli_common import (
    AppContext,
    app_secrets,
    build_sinks,
    check_connections,
    command_spec,
    configure_logging,
    connection_options,
    event_fan_out,
    exit_status_for,
    load_hosts,
    output_options,
    parse_extra_vars,
    resolve_secrets,
    stop_sinks,
    transport_factory,
)


@click.command("copy")
@click.argument("pattern")
@click.argument("src", type=click.Path(dir_okay=False, exists=True))
@click.argument("dest")
@connection_options
@output_options
@click.pass_context
def copy_command(ctx: click.Context, pattern: str, src: str, dest: str, **opts: Any) -> None:
    """Copy the local file SRC to DEST on every host PATTERN selects (over SFTP).

    DEST ending in '/' is a folder. The file's mode is kept; a host that already has the
    same content and mode is left alone (sha256). Written atomically (temp file, rename).
    With become (-b / --become-user / -K, or ansible_become) the become user writes it,
    the content sent on sudo's standard input.
    """
    from runner.transport.transfer import Transfer

    ctx.exit(_transfer(ctx, pattern, Transfer("copy", src, dest), opts))


@click.command("fetch")
@click.argument("pattern")
@click.argument("src")
@click.argument("destdir", type=click.Path(file_okay=False))
@connection_options
@output_options
@click.pass_context
def fetch_command(ctx: click.Context, pattern: str, src: str, destdir: str, **opts: Any) -> None:
    """Fetch the file SRC from every host PATTERN selects into DESTDIR/HOST/ (over SFTP).

    Its mode is kept; a file already there with the same sha256 is not downloaded again.
    HOST is the inventory name with '/' written as '_'; nothing is written outside DESTDIR.
    With become (-b / --become-user / -K, or ansible_become) it is read through sudo.
    """
    from runner.transport.transfer import Transfer

    ctx.exit(_transfer(ctx, pattern, Transfer("fetch", src, destdir), opts))


def _transfer(ctx: click.Context, pattern: str, transfer: Any, opts: dict[str, Any]) -> int:
    from runner.engine import Engine, fit_forks, raise_fd_limit
    from runner.events import Notice
    from runner.transport.transfer import BecomeOptions, transfer_factory

    configure_logging(opts["verbose"])
    extra_vars = parse_extra_vars(opts["extra_vars"])
    _inventory, hosts = load_hosts(opts["inventories"], pattern, extra_vars)
    check_connections(hosts)
    check_local_names(transfer, [h.name for h in hosts], opts["out_dir"])
    if transfer.direction == "fetch":
        os.makedirs(transfer.dest, exist_ok=True)
    if opts["out_dir"]:
        os.makedirs(opts["out_dir"], exist_ok=True)
    secrets = resolve_secrets(opts, app_secrets(ctx))
    base = transport_factory(opts, secrets)
    base.prepare(hosts)
    becomes = BecomeOptions(
        enabled=bool(opts["become"]),
        user=opts["become_user"],
        password=secrets.become_password,
    )
    factory = transfer_factory(base, transfer, becomes)
    sinks = build_sinks(opts, [h.name for h in hosts])
    sink = event_fan_out(sinks)
    forks, forks_notice = fit_forks(opts["forks"], len(hosts), raise_fd_limit())
    if forks_notice:
        sink.handle(Notice(forks_notice))
    engine = Engine(factory, sink, forks=forks, retries=opts["retries"])
    app = ctx.find_object(AppContext)
    interrupts = app.interrupts if app else None
    unregister = interrupts.register(engine.cancel) if interrupts else (lambda: None)
    label = f"{transfer.direction} {transfer.src} {transfer.dest}"
    try:
        report = engine.run_command(hosts, command_spec(opts, lambda host: label))
    finally:
        unregister()
        base.close()
        stop_sinks(sinks)
    return exit_status_for(report.any_failed, report.any_unreachable, bool(report.interrupted))


def check_local_names(transfer: Any, hosts: list[str], out_dir: str | None) -> None:
    """Before any connection: every host name can be a file name under --out-dir and
    DEST (fetch keeps DEST/HOST/NAME), and fetch's SRC names a file."""
    from runner.errors import ConfigError, UnsafePathError
    from runner.localpaths import check_host_names, remote_file_name

    if out_dir:
        check_host_names(hosts, f"--out-dir {out_dir}")
    if transfer.direction == "fetch":
        try:
            remote_file_name(transfer.src)
        except UnsafePathError as exc:
            raise ConfigError(
                f"fetch SRC: {exc.message}", hint="give the path of a file on the hosts"
            ) from exc
        check_host_names(hosts, f"fetch DEST {transfer.dest}")


__all__ = ["copy_command", "fetch_command"]
