"""``runner inventory``: show the inventory as ``ansible-inventory`` shows it.

Loads nothing but the inventory (no gevent, no paramiko): safe to run anywhere.
Errors are :class:`runner.errors.RunnerError` subclasses, left for the CLI to report.
"""

from __future__ import annotations

import sys

import click

from runner.inventory import load_inventory
from runner.inventory.export import (
    dump_json,
    dump_yaml,
    graph_inventory,
    host_variables,
    list_inventory,
    yaml_inventory,
)
from runner.inventory.extravars import parse_extra_vars
from runner.output.controls import escape_controls, is_terminal_file

__all__ = ["inventory_command"]


@click.command("inventory")
@click.option(
    "-i",
    "--inventory",
    "sources",
    multiple=True,
    envvar="RUNNER_INVENTORY",
    metavar="SOURCE",
    help="Inventory file, directory, script or 'host1,host2,' list (repeatable; "
    "merged in order). Default: $RUNNER_INVENTORY.",
)
@click.option(
    "-e",
    "--extra-vars",
    "extra_vars",
    multiple=True,
    metavar="VARS",
    help="Extra variables: key=value, a JSON/YAML mapping, or @FILE (repeatable).",
)
@click.option("--list", "show_list", is_flag=True, help="All groups and host variables as JSON.")
@click.option(
    "--graph",
    "graph",
    is_flag=False,
    flag_value="all",
    default=None,
    metavar="[GROUP]",
    help="A tree of groups and hosts under GROUP (default: all).",
)
@click.option("--host", "host", metavar="HOST", help="The merged variables of one host as JSON.")
@click.option("--hosts", "hosts_pattern", metavar="PATTERN", help="Hosts matching a pattern.")
@click.option("--yaml", "as_yaml", is_flag=True, help="With --list or --host: print YAML.")
@click.option(
    "--export",
    is_flag=True,
    help="With --list: each group's and host's own variables instead of merged ones.",
)
@click.option("--vars", "show_vars", is_flag=True, help="With --graph: show variables too.")
def inventory_command(
    sources: tuple[str, ...],
    extra_vars: tuple[str, ...],
    show_list: bool,
    graph: str | None,
    host: str | None,
    hosts_pattern: str | None,
    as_yaml: bool,
    export: bool,
    show_vars: bool,
) -> None:
    """Show the inventory: groups, hosts and merged variables.

    The output of --list, --graph and --host has the same shape as ansible-inventory's,
    so the two can be diffed.
    """
    chosen = [show_list, graph is not None, host is not None, hosts_pattern is not None]
    if sum(chosen) != 1:
        raise click.UsageError("choose exactly one of --list, --graph, --host or --hosts")
    inv = load_inventory(list(sources), parse_extra_vars(extra_vars))
    # Names and values come from the inventory: on a terminal, its controls show escaped.
    show = escape_controls if is_terminal_file(sys.stdout) else str
    if show_list:
        if as_yaml:
            click.echo(show(dump_yaml(yaml_inventory(inv, export))), nl=False)
        else:
            click.echo(show(dump_json(list_inventory(inv, export))))
    elif graph is not None:
        click.echo(show(graph_inventory(inv, graph, show_vars)))
    elif host is not None:
        found = host_variables(inv, host, export)
        click.echo(show(dump_yaml(found) if as_yaml else dump_json(found)), nl=not as_yaml)
    else:
        for selected in inv.select(hosts_pattern or "all"):
            click.echo(show(selected.name))
