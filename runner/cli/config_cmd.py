"""``runner config``: every setting a command run here would use, and where each came
from (the command line, an environment variable, the project's ansible.cfg and its line,
or the default), without loading an inventory or connecting."""

from __future__ import annotations

import json
from typing import Any

import click

from runner.cli.environment import Environment
from runner.cli.options import connection_options, project_settings

__all__ = ["config_command"]


@click.command("config")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def config_command(env: Environment, as_json: bool, **params: Any) -> int:
    """Show the effective settings and where each came from.

    Highest first: the command line (the options below count as in run/play), the
    environment (RUNNER_*, then ANSIBLE_*), the project's ansible.cfg (ANSIBLE_CONFIG,
    ./ansible.cfg unless the folder is world-writable, ~/.ansible.cfg,
    /etc/ansible/ansible.cfg; runner's own settings under [runner]), the default.
    """
    from runner.cli.options import build_config

    settings = project_settings(params, env)
    build_config(params, env, settings)  # the same checks a run makes (become_method...)
    from runner.project.settings import BY_NAME
    from runner.project.values import redact_url

    def shown(name: str, value: Any) -> Any:  # a broker URL's password never printed
        return redact_url(value) if BY_NAME[name].kind == "broker_url" and value else value

    if as_json:
        data = {
            "config_file": settings.config_file,
            "found_via": settings.found_via or None,
            "settings": {
                name: {"value": _plain(shown(name, found.value)), "source": found.source}
                for name, found in settings.values.items()
            },
            "notices": list(settings.notices),
        }
        env.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    from runner.output.controls import escape_controls, is_terminal_file

    show = escape_controls if is_terminal_file(env.stdout) else str
    where = settings.config_file or "none found"
    via = f" (found as {settings.found_via})" if settings.found_via else ""
    lines = [f"config file: {where}{via}"]
    for name, found in settings.values.items():
        value = _text(shown(name, found.value), BY_NAME[name].unset)
        lines.append(f"  {name:<20} {value:<36} {found.source}")
    env.stdout.write(show("\n".join(lines)) + "\n")
    return 0


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _text(value: Any, unset: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == ():
        return f"- ({unset})" if unset else "-"
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)
