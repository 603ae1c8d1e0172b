"""``runner inventory --host NAME --connection``: the connection and become settings one
host would use, and where each came from, without connecting."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import click

from runner.config import HOST_KEY_POLICIES, BecomeConfig, ConnectionConfig
from runner.models import Host


def connection_view_options(func: Callable) -> Callable:
    """The command-line options that take part in a host's settings (as run/play have
    them), so the answer reflects them."""
    options = [
        click.option("-u", "--user", help="As in run/play: remote user."),
        click.option("--private-key", "private_key", metavar="PATH", help="As in run/play."),
        click.option("-F", "--ssh-config", "ssh_config", metavar="PATH", help="As in run/play."),
        click.option("-J", "--jump", metavar="SPEC", help="As in run/play."),
        click.option("--host-key-checking", type=click.Choice(HOST_KEY_POLICIES), default=None),
        click.option("--known-hosts", metavar="PATH", default=None),
        click.option("--connect-timeout", type=click.FloatRange(min=0.1), metavar="S"),
        click.option("--keepalive", type=click.FloatRange(min=0.1), metavar="S"),
        click.option("-b", "--become", is_flag=True, help="As in run/play."),
        click.option("--become-user", metavar="USER", help="As in run/play."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def view_configs(settings: Any) -> tuple[ConnectionConfig, BecomeConfig]:
    """The run's connection and become defaults from the project settings
    (runner.project.settings.ProjectSettings: options, environment, ansible.cfg)."""
    from runner.project.runconfig import become_config, connection_config

    return connection_config(settings), become_config(settings)


def connection_settings(
    host: Host,
    connection: ConnectionConfig,
    become: BecomeConfig,
    extra_vars: Mapping[str, Any],
    vault: Any = None,
) -> dict[str, dict[str, Any]]:
    """setting -> {"value", "source"}, in the order a person reads them. A variable
    that came from ``-e`` is named as such; a password is only said to be set."""
    from runner.become import resolve_become

    out: dict[str, dict[str, Any]] = {
        "connection": _entry(host.connection, _var_source(host, "ansible_connection"))
    }
    if host.connection != "local":
        from runner.transport.ssh.context import host_settings

        s = host_settings(host, connection, vault)
        values = {
            "address": s.address,
            "port": s.port,
            "user": s.user,
            "key_files": list(s.key_files),
            "jump": ",".join(str(h) for h in s.jump) or None,
            "proxy_command": s.proxy_command,
            "connect_timeout": s.connect_timeout,
            "host_key_checking": s.host_key_checking,
            "known_hosts": s.known_hosts,
            "keepalive": s.keepalive or None,
        }
        for name, value in values.items():
            out[name] = _entry(value, s.sources.get(name, "default"))
    result, sources = resolve_become(
        host.vars, enabled=become.enabled, user=become.user, password=None, origins=become.origins
    )
    out["become"] = _entry(result is not None, sources["enabled"])
    if result is not None:
        out["become_user"] = _entry(result.target, sources["user"])
        out["become_password"] = _entry(
            "set" if result.password else "not set", sources["password"]
        )
    for entry in out.values():
        source = entry["source"]
        variable = source.removeprefix("inventory: ")
        if variable != source and variable in extra_vars:
            entry["source"] = f"extra vars (-e): {variable}"
    return out


def _var_source(host: Host, name: str) -> str:
    return f"inventory: {name}" if host.vars.get(name) not in (None, "") else "default"


def _entry(value: Any, source: str) -> dict[str, Any]:
    return {"value": value, "source": source}


def render_text(name: str, settings: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per setting: name, value, where it came from."""
    lines = [name]
    for setting, entry in settings.items():
        value = entry["value"]
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif value is None:
            value = "-"
        lines.append(f"  {setting:<18} {value!s:<28} {entry['source']}")
    return "\n".join(lines)


def render_json(name: str, settings: Mapping[str, Mapping[str, Any]]) -> str:
    return json.dumps({"host": name, "settings": settings}, indent=2)


__all__ = [
    "connection_settings",
    "connection_view_options",
    "render_json",
    "render_text",
    "view_configs",
]
