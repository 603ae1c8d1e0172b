"""Telling the user when a flag they typed lost to an inventory variable.

Connection and become variables beat the command line (runner.transport.ssh.settings
has the rule), as in Ansible: ``-u root`` does not change a host whose inventory sets
``ansible_user``. That is right for a fleet with exceptions, and surprising when not
said, so a run says it once per flag and variable, with the hosts folded. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.aggregate import fold_hosts
from runner.become import resolve_become
from runner.config import BecomeConfig, ConnectionConfig
from runner.models import Host
from runner.tagged import VaultValue
from runner.transport.ssh.settings import CLI_OPTIONS, resolve_settings


def override_notices(
    hosts: Iterable[Host],
    connection: ConnectionConfig,
    become: BecomeConfig,
    become_password: bool = False,
) -> list[str]:
    """One text per (flag, variable) that overrode it, naming the hosts, folded.
    ``become_password``: -K (or RUNNER_BECOME_PASSWORD) gave one. A variable that sets
    the same value as the flag overrides nothing; a value the project gave (ansible.cfg,
    ANSIBLE_*: in ``origins``) is a default hosts may override, and says nothing.

    >>> hosts = [Host(f"web{i:02d}", {"ansible_user": "deploy"}) for i in range(1, 21)]
    >>> hosts += [Host("db1", {"ansible_user": "root"}), Host("db2", {"ansible_become": "no"})]
    >>> for text in override_notices(hosts, ConnectionConfig(user="root"), BecomeConfig(True)):
    ...     print(text)
    -u root not used for web[01-20] (20): their inventory sets ansible_user
    -b not used for db2 (1): its inventory sets ansible_become
    >>> override_notices(hosts[:1], ConnectionConfig(), BecomeConfig())
    []
    """
    found: dict[tuple[str, str], list[str]] = {}
    baseline = resolve_settings("-", {}, connection, {})
    seen: dict[tuple[tuple[str, str], ...], list[tuple[str, str]]] = {}
    for host in hosts:
        for flag, variable in _connection_overrides(host, connection, baseline, seen):
            found.setdefault((flag, variable), []).append(host.name)
        for flag, variable in _become_overrides(host, become, become_password):
            found.setdefault((flag, variable), []).append(host.name)
    texts = []
    for (flag, variable), names in found.items():
        whose = "their inventory sets" if len(names) > 1 else "its inventory sets"
        texts.append(f"{flag} not used for {fold_hosts(names)} ({len(names)}): {whose} {variable}")
    return texts


def _connection_overrides(
    host: Host,
    cli: ConnectionConfig,
    baseline,
    seen: dict[tuple[tuple[str, str], ...], list[tuple[str, str]]],
) -> list[tuple[str, str]]:
    """What ``host``'s variables override; hosts with the same connection variables
    (the ansible_* and runner_* ones but the address, which overrides no flag) have the
    same answer, worked out once (a 500-host run resolved 500 times the same settings)."""
    if host.connection == "local":
        return []
    plain = _plain_vars(host)
    key = tuple(
        sorted(
            (name, repr(value))
            for name, value in plain.items()
            if name.startswith(("ansible_", "runner_")) and name not in _ADDRESS
        )
    )
    if key not in seen:
        seen[key] = _overrides_of(host.name, plain, cli, baseline)
    return seen[key]


_ADDRESS = ("ansible_host", "ansible_ssh_host")


def _overrides_of(name: str, plain: Mapping[str, Any], cli: ConnectionConfig, baseline):
    try:
        settings = resolve_settings(name, plain, cli, {})
    except ValueError:  # a bad jump spec: the host fails when it connects, saying why
        return []
    out = []
    for setting, (attr, flag) in CLI_OPTIONS.items():
        given = getattr(cli, attr)
        source = settings.sources.get(setting, "")
        if given is None or attr in cli.origins or not source.startswith("inventory: "):
            # not typed (ansible.cfg, ANSIBLE_*): a project default that hosts override
            continue
        if getattr(settings, setting) != getattr(baseline, setting):
            out.append((f"{flag} {given}", source.removeprefix("inventory: ")))
    return out


def _become_overrides(host: Host, cli: BecomeConfig, password: bool) -> list[tuple[str, str]]:
    if not (cli.enabled or cli.user or password):
        return []
    result, sources = resolve_become(
        _plain_vars(host), enabled=cli.enabled, user=cli.user, password="-K" if password else None
    )
    out = []
    typed_enabled = cli.enabled and "enabled" not in cli.origins
    if typed_enabled and result is None and sources["enabled"].startswith("inventory: "):
        out.append(("-b", sources["enabled"].removeprefix("inventory: ")))
    if result is None:
        return out
    user = sources.get("user", "")
    typed_user = cli.user and "user" not in cli.origins
    if typed_user and user.startswith("inventory: ") and result.user != cli.user:
        out.append((f"--become-user {cli.user}", user.removeprefix("inventory: ")))
    secret = sources.get("password", "")
    if password and secret.startswith("inventory: "):
        out.append(("-K", secret.removeprefix("inventory: ")))  # never the password itself
    return out


def _plain_vars(host: Host) -> Mapping[str, Any]:
    """The host's variables without its ``!vault`` ones: notices are worked out before
    anything is decrypted (a vaulted setting then makes no notice)."""
    if any(value.__class__ is VaultValue for value in host.vars.values()):
        return {k: v for k, v in host.vars.items() if v.__class__ is not VaultValue}
    return host.vars


__all__ = ["override_notices"]
