"""``runner copy`` and ``runner fetch``: one file to or from many hosts."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click

from runner.cli.environment import Environment
from runner.cli.execute import (
    check_connections,
    check_out_dir,
    choose_hosts,
    execute_host_job,
    print_host_list,
)
from runner.cli.options import (
    configure,
    configure_logging,
    connection_options,
    host_job_options,
    output_options,
)
from runner.cli.rerun import rerun_option, title_of
from runner.models import Host


@click.command("copy")
@click.argument("pattern")
@click.argument("src", type=click.Path(dir_okay=False, exists=True))
@click.argument("dest")
@connection_options
@host_job_options
@rerun_option
@output_options
@click.pass_obj
def copy_command(env: Environment, pattern: str, src: str, dest: str, **params: Any) -> int:
    """Copy the local file SRC to DEST on every host PATTERN selects (over SFTP).

    DEST is a Jinja2 template rendered per host ('/srv/{{ inventory_hostname }}/x');
    ending in '/' it is a folder. The file's mode is kept; a host that already has the
    same content and mode is left alone (sha256). Written atomically (temp file, rename).
    With become (-b / --become-user / -K, or ansible_become) the become user writes it,
    the content sent on sudo's standard input.
    """
    return _transfer(env, pattern, "copy", src, dest, params)


@click.command("fetch")
@click.argument("pattern")
@click.argument("src")
@click.argument("destdir", type=click.Path(file_okay=False))
@connection_options
@host_job_options
@rerun_option
@output_options
@click.pass_obj
def fetch_command(env: Environment, pattern: str, src: str, destdir: str, **params: Any) -> int:
    """Fetch the file SRC from every host PATTERN selects into DESTDIR/HOST/ (over SFTP).

    Its mode is kept; a file already there with the same sha256 is not downloaded again.
    HOST is the inventory name with '/' written as '_'; nothing is written outside DESTDIR.
    With become (-b / --become-user / -K, or ansible_become) it is read through sudo.
    """
    return _transfer(env, pattern, "fetch", src, destdir, params)


def _transfer(
    env: Environment, pattern: str, direction: str, src: str, dest: str, params: dict[str, Any]
) -> int:
    from runner.engine.transfer import TransferJob

    config, vault = configure(params, env)
    # copy and fetch read and write files here: never over a cluster's workers
    config = dataclasses.replace(config, cluster=None)
    configure_logging(config.output.verbose, env.stderr)
    hosts, notices = choose_hosts(env, config, pattern, params["rerun"], vault)
    if params["list_hosts"]:
        return print_host_list(env, hosts, notices)
    check_connections(hosts)
    check_out_dir(config, hosts)
    job = TransferJob(direction, src, dest)
    if direction == "fetch":
        check_fetch(job, hosts)
        os.makedirs(dest, exist_ok=True)
    title = title_of(direction, params["rerun"], pattern, src, dest)
    return execute_host_job(
        env, config, hosts, job, params, title=title, notices=notices, vault=vault
    )


def check_fetch(job: Any, hosts: list[Host]) -> None:
    """Before any connection: fetch's SRC names a file and every host name can be a
    folder name in DEST (fetch keeps DEST/HOST/NAME)."""
    from runner.errors import ConfigError, UnsafePathError
    from runner.localpaths import check_host_names, remote_file_name

    try:
        remote_file_name(job.src)
    except UnsafePathError as exc:
        raise ConfigError(
            f"fetch SRC: {exc.message}", hint="give the path of a file on the hosts"
        ) from exc
    check_host_names([h.name for h in hosts], f"fetch DEST {job.dest}")


__all__ = ["copy_command", "fetch_command"]
