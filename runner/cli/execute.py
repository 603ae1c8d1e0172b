"""What every command that works on hosts does around its job: load the inventory and
select the hosts, refuse what cannot work before any connection, then hand the run to an
executor with the chosen renderers, Ctrl-C wired to it."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runner.cli.environment import Environment
from runner.cli.secrets import PassphrasePrompt, resolve_secrets
from runner.cli.status import exit_status_of
from runner.config import RunConfig
from runner.engine.job import Job
from runner.errors import ConfigError
from runner.events import Notice
from runner.models import Host
from runner.vault import Keyring

if TYPE_CHECKING:
    from runner.executors.base import Executor

SUPPORTED_CONNECTIONS = ("ssh", "paramiko", "smart", "local")

HOST_KEY_OFF = "host key checking is off: connections are open to man-in-the-middle attacks"


def select_hosts(
    config: RunConfig, pattern: str, vault: Keyring | None = None
) -> tuple[Any, list[Host]]:
    """The inventory and the hosts ``pattern`` selects (InputError before any connection);
    files encrypted whole with Ansible Vault are decrypted with ``vault``."""
    from runner.inventory import load_inventory

    inventory = load_inventory(list(config.inventories), extra_vars=config.extra_vars, vault=vault)
    return inventory, inventory.select(pattern)


def choose_hosts(
    env: Environment,
    config: RunConfig,
    pattern: str,
    rerun: str | None,
    vault: Keyring | None = None,
) -> tuple[list[Host], list[Notice]]:
    """The hosts ``pattern`` selects, narrowed by ``--rerun`` to those of the last run
    it names (runner.cli.rerun), and the notices that narrowing gives."""
    from runner.cli.rerun import load_rerun, narrow

    last = load_rerun(env, rerun)  # no record: an input error before the inventory loads
    inventory, hosts = select_hosts(config, pattern, vault)
    return narrow(last, inventory, hosts, f"the pattern {pattern!r}")


def check_connections(hosts: Sequence[Host]) -> None:
    """Before any connection: every host's connection type is one runner speaks (its
    port was checked when the inventory was loaded)."""
    for host in hosts:
        if host.connection not in SUPPORTED_CONNECTIONS:
            raise ConfigError(
                f"host {host.name}: ansible_connection={host.connection!r} is not supported",
                hint=f"runner supports: {', '.join(SUPPORTED_CONNECTIONS)}",
            )


def check_out_dir(config: RunConfig, hosts: Sequence[Host]) -> None:
    """Every host name can be a file name in --out-dir (then the folder is made)."""
    out_dir = config.output.out_dir
    if out_dir:
        from runner.localpaths import check_host_names

        check_host_names([h.name for h in hosts], f"--out-dir {out_dir}")


def print_host_list(env: Environment, hosts: Sequence[Host], notices: Sequence[Notice] = ()) -> int:
    """``--list-hosts``: the selected hosts as ``ansible --list-hosts`` prints them
    (``  hosts (2):`` then one indented name a line), in inventory order; exit 0; the
    notices on stderr. On a terminal, control characters in a name show escaped."""
    from runner.cli.rerun import print_notices
    from runner.output.controls import escape_line, is_terminal_file

    print_notices(env, notices)
    shown = escape_line if is_terminal_file(env.stdout) else (lambda text: text)
    lines = [f"  hosts ({len(hosts)}):"] + [f"    {shown(h.name)}" for h in hosts]
    env.stdout.write("\n".join(lines) + "\n")
    env.stdout.flush()
    return 0


def make_out_dir(config: RunConfig) -> None:
    if config.output.out_dir:
        os.makedirs(config.output.out_dir, exist_ok=True)


def choose_executor(
    env: Environment,
    config: RunConfig,
    hosts: Sequence[Host],
    *,
    playbook: bool = False,
) -> Executor:
    """Who carries the run out: the Celery workers of ``config.cluster`` (``--cluster
    URL``); ``--procs N``
    workers when asked for; else the connection keeper (runner.executors.keeper) unless
    ``--persist 0`` or no host needs SSH; else this process, or workers by default above
    1,000 hosts (a playbook: one process)."""
    from runner.executors.inprocess import InProcessExecutor, connection_factory
    from runner.executors.procs import ProcsExecutor, default_procs

    if config.cluster:
        if config.procs is not None:
            raise ConfigError("--procs and --cluster: a cluster run's processes are its workers")
        from runner.executors.cluster.app import Signing
        from runner.executors.cluster.client import ClusterExecutor

        return ClusterExecutor(
            config.cluster, Signing.from_environ(env.environ), shard_max=config.cluster_shard_max
        )
    prompt = PassphrasePrompt(env)
    if playbook:
        procs = 1
    else:
        procs = config.procs if config.procs is not None else default_procs(len(hosts))

    def fallback() -> Executor:
        if procs > 1:
            return ProcsExecutor(procs, ask_passphrase=prompt)
        return InProcessExecutor(connection_factory(prompt))

    over_ssh = any(h.connection != "local" for h in hosts)
    if config.persist > 0 and over_ssh and not (config.procs and config.procs > 1):
        from runner.executors.keeper.client import KeeperExecutor

        return KeeperExecutor(
            env.environ,
            fallback,
            ask_passphrase=prompt,
            log_stream=env.stderr if config.output.verbose > 0 else None,
        )
    return fallback()


def execute_host_job(
    env: Environment,
    config: RunConfig,
    hosts: Sequence[Host],
    job: Job,
    params: Mapping[str, Any],
    *,
    title: tuple[str, str],
    notices: Sequence[Notice] = (),
    vault: Keyring | None = None,
) -> int:
    """Run ``job`` on ``hosts`` (in this process, or over --procs workers) with the
    renderers of ``config.output``, ``notices`` shown first; return the exit code.
    Each host's outcome is recorded for the next ``--rerun`` under ``title`` (the
    command's name and what was typed)."""
    from runner.cli.rerun import record_run
    from runner.executors import Run
    from runner.output.compose import fan_out, host_job_sinks, stop_sinks
    from runner.overrides import override_notices

    job.check(hosts)
    secrets = resolve_secrets(config, env, vault)
    make_out_dir(config)
    executor = choose_executor(env, config, hosts)
    sinks = host_job_sinks(config.output, [h.name for h in hosts], env)
    sink = fan_out(sinks)
    if config.connection.host_key_checking == "off":
        sink.handle(Notice(HOST_KEY_OFF))
    for text in override_notices(
        hosts, config.connection, config.become, secrets.become_password is not None
    ):
        sink.handle(Notice(text))
    for notice in notices:
        sink.handle(notice)
    # The live view leaves the screen first, so Ctrl-C's notice is not drawn over.
    clear_screen = env.on_interrupt(lambda: stop_sinks(sinks), before_notice=True)
    unregister = env.on_interrupt(executor.cancel)
    clock = time.monotonic()
    try:
        outcome = executor.execute(Run(tuple(hosts), job, config), secrets, sink)
    finally:
        unregister()
        clear_screen()
        stop_sinks(sinks)
    names = [h.name for h in hosts]
    record_run(env, *title, config.inventories, names, outcome, time.monotonic() - clock)
    return exit_status_of(outcome)
