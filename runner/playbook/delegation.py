"""Where one task on one host connects, and the environment it runs with.

Ansible's rules, which this module follows:

- ``delegate_to`` (templated per host, against the original host's variables) names the
  host connected to. An inventory host is reached with *its* connection variables
  (``ansible_host``, ``ansible_port``, ``ansible_user``, key, ``ansible_connection``,
  ``ansible_become*``); ``localhost`` / ``127.0.0.1`` outside the inventory is the
  control node; any other name is reached over SSH by that name. Everything else the
  task reads (its variables, ``inventory_hostname``) stays the original host's.
- The connection type: the connected host's ``ansible_connection`` variable, else the
  ``connection:`` keyword (task > block > play), else SSH.
- The login user: the connected host's ``ansible_user`` variable, else the
  ``remote_user`` keyword (task > block > play), else ``-u`` / ansible.cfg / ssh_config.
  (Checked against ansible-playbook 2.19: the inventory variable beats the keyword.)

A delegated task gets a connection of its own for each original host (key
``TARGET<-HOST``), so hosts delegating to one target at once never share one SSH
session's channels (sshd's MaxSessions) and never wait for each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from runner.errors import TaskError
from runner.models import Host
from runner.playbook.keywords import CONNECTIONS, SSH_CONNECTIONS
from runner.templating import render_value

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Route:
    """How one task on one host connects: to ``host`` (perhaps with ``ansible_user``
    set from ``remote_user``), ``local`` or over SSH, through the engine's connection
    named ``key`` (None: the host's own). ``delegated``: the delegate_to target's name."""

    host: Host
    local: bool = False
    key: str | None = None
    delegated: str | None = None


def delegate_target(task: Any, variables: Mapping[str, Any]) -> str | None:
    """The rendered ``delegate_to`` of a task, or None."""
    if not task.delegate_to:
        return None
    target = render_value(task.delegate_to, variables, where=task.where)
    if target in (None, ""):
        return None
    return str(target).strip()


def _rendered(value: Any, variables: Mapping[str, Any], task: Any) -> str | None:
    if value is None:
        return None
    out = render_value(value, variables, where=task.where)
    return None if out in (None, "") else str(out)


def plan_route(
    task: Any, host: Host, variables: Mapping[str, Any], inventory: Mapping[str, Host]
) -> Route:
    """The Route of ``task`` on ``host`` (module docstring for the rules)."""
    target = delegate_target(task, variables)
    base, delegated = host, None
    if target is not None and target != host.name:
        delegated = target
        found = inventory.get(target)
        if found is None and target in LOCAL_NAMES:
            found = Host(target, {"ansible_connection": "local"})
        base = found if found is not None else Host(target, {})
    kind = base.vars.get("ansible_connection")
    if kind in (None, ""):
        kind = _rendered(getattr(task, "connection", None), variables, task) or "ssh"
    kind = str(kind).removeprefix("ansible.builtin.")
    if kind not in CONNECTIONS:
        raise TaskError(
            f"connection {kind!r} is not supported; runner connects over SSH or locally",
            host=host.name,
        )
    if kind == "local":  # the control node: its transport reports as the original host
        return Route(host, local=True, delegated=delegated)
    key = None if delegated is None else f"{base.name}<-{host.name}"
    user = _rendered(getattr(task, "remote_user", None), variables, task)
    if user and not (base.vars.get("ansible_user") or base.vars.get("ansible_ssh_user")):
        base = replace(base, vars={**base.vars, "ansible_user": user})
        key = f"{key or base.name}@{user}"
    return Route(base, key=key, delegated=delegated)


def delegated_vars(
    task: Any, host: Host, variables: Mapping[str, Any], inventory: Mapping[str, Host],
    route: Route | None, localhost: Host | None = None,
) -> dict[str, Any] | None:  # fmt: skip
    """What a delegated task's result records of where it ran, as Ansible's
    ``_ansible_delegated_vars``: the target's name and, for an inventory host, its
    ``ansible_host`` (output shows ``web1 -> db1(10.0.0.5)`` when they differ). None when
    the task is not delegated (or is delegated to the host itself). ``route`` is the
    task's Route; None for a module that runs on the control node (debug, set_fact),
    whose target is rendered here. ``localhost``: the implicit localhost, which has the
    'all' group's variables (its ansible_host too, as in Ansible)."""
    target = route.delegated if route is not None else delegate_target(task, variables)
    if target is None or target == host.name:
        return None
    out: dict[str, Any] = {"ansible_delegated_host": target}
    found = inventory.get(target)
    if found is None and target in LOCAL_NAMES:
        found = localhost
    address = found.vars.get("ansible_host") if found is not None else None
    if isinstance(address, str) and address:
        out["ansible_host"] = address
    return out


def is_ssh(kind: str) -> bool:
    return kind in SSH_CONNECTIONS


def route_connector(
    route: Route,
    connect: Callable[..., Any],
    local_connect: Callable[[Host], Any],
    local: list[Any],
) -> Callable[[], Any]:
    """A function giving the Route's transport: a local transport made for this task
    (closed by the executor through ``local``), or the engine's connection."""
    if route.local:

        def connect_local() -> Any:
            if not local:
                local.append(local_connect(route.host))
            return local[0]

        return connect_local
    if route.key is None:
        return lambda: connect(route.host)
    return lambda: connect(route.host, key=route.key)


def render_environment(
    environment: Mapping[str, Any], variables: Mapping[str, Any], where: str
) -> dict[str, str]:
    """A task's environment for one host: each layer (runner.playbook.keywords.Environment)
    rendered and merged in order, a template layer naming a mapping; a plain mapping is
    rendered as it is."""
    layers = getattr(environment, "layers", None) or ([environment] if environment else [])
    out: dict[str, Any] = {}
    for layer in layers:
        value = render_value(layer, variables, where=where)
        if value in (None, ""):
            continue
        if not isinstance(value, Mapping):
            raise TaskError(
                f"environment must be a mapping of variable names to values, not {value!r}",
            )
        out.update(value)
    return {str(k): v for k, v in out.items()}
