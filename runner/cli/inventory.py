"""``runner inventory``: show the inventory as ``ansible-inventory`` shows it.

Loads nothing but the inventory (no paramiko; ``--host H --connection`` also reads
ssh_config with paramiko's parser) and connects nowhere: safe to run anywhere.
Errors are :class:`runner.errors.RunnerError` subclasses, left for the CLI to report.
"""

from __future__ import annotations

import click

from runner.cli.connection_view import (
    connection_settings,
    connection_view_options,
    render_json,
    render_text,
    view_configs,
)
from runner.cli.environment import Environment
from runner.cli.vault import open_keyring, vault_options
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
    metavar="SOURCE",
    help="Inventory file, directory, script or 'host1,host2,' list (repeatable; "
    "merged in order). Default: $RUNNER_INVENTORY, $ANSIBLE_INVENTORY, ansible.cfg's "
    "inventory.",
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
    is_flag=True,
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
@click.option(
    "--connection",
    "show_connection",
    is_flag=True,
    help="With --host: its connection and become settings and where each came from "
    "(the options below count as in run/play; nothing connects). --json: as JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="With --connection: print JSON.")
@connection_view_options
@vault_options
# GROUP is a positional argument, as in ansible-inventory: both --graph GROUP --vars and
# --graph --vars GROUP then read the same.
@click.argument("group", required=False, metavar="[GROUP]")
@click.pass_obj
def inventory_command(
    env: Environment,
    sources: tuple[str, ...],
    extra_vars: tuple[str, ...],
    show_list: bool,
    graph: bool,
    group: str | None,
    host: str | None,
    hosts_pattern: str | None,
    as_yaml: bool,
    export: bool,
    show_vars: bool,
    show_connection: bool,
    as_json: bool,
    **connection: object,
) -> None:
    """Show the inventory: groups, hosts and merged variables.

    The output of --list, --graph and --host has the same shape as ansible-inventory's,
    so the two can be diffed.
    """
    chosen = [show_list, graph, host is not None, hosts_pattern is not None]
    if sum(chosen) != 1:
        raise click.UsageError("choose exactly one of --list, --graph, --host or --hosts")
    if group is not None and not graph:
        raise click.UsageError(f"the group {group!r} goes with --graph (--graph GROUP)")
    if show_connection and host is None:
        raise click.UsageError("--connection goes with --host HOST")
    from runner.cli.options import project_settings

    settings = project_settings({**connection, "inventories": sources}, env)
    vault = open_keyring(connection, env, settings)
    extra = parse_extra_vars(extra_vars, vault)
    inv = load_inventory(list(settings["inventory"]), extra, vault)
    # Names and values come from the inventory: on a terminal, its controls show escaped.
    out = env.stdout
    show = escape_controls if is_terminal_file(out) else str
    if show_list:
        if as_yaml:
            click.echo(show(dump_yaml(yaml_inventory(inv, export))), nl=False, file=out)
        else:
            click.echo(show(dump_json(list_inventory(inv, export))), file=out)
    elif graph:
        click.echo(show(graph_inventory(inv, group or "all", show_vars, vault)), file=out)
    elif host is not None and show_connection:
        host_variables(inv, host)  # an unknown host: the same error as --host
        found_host = inv.get(host)
        assert found_host is not None
        view = connection_settings(found_host, *view_configs(settings), extra, vault)
        render = render_json if as_json else render_text
        click.echo(show(render(found_host.name, view)), file=out)
    elif host is not None:
        found = host_variables(inv, host, export)
        text = dump_yaml(found) if as_yaml else dump_json(found)
        click.echo(show(text), nl=not as_yaml, file=out)
    else:
        for selected in inv.select(hosts_pattern or "all"):
            click.echo(show(selected.name), file=out)
