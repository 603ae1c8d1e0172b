"""The execution keywords, as the loader reads them: ``connection``, ``remote_user`` /
``user``, ``throttle``, ``ignore_unreachable``, ``order``, ``strategy``,
``force_handlers``, templated ``environment`` and the ``action:`` / ``local_action:``
forms of a task. Each check names the file and the line; what runs them at run time is
runner.playbook.delegation (where a task connects) and runner.playbook.strategy.

Kept apart from runner.playbook.tasks and checks so those stay about task structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.errors import PlaybookError
from runner.playbook.reader import LineDict, line_of
from runner.templating import is_template

#: Connection plugins runner implements: its SSH transport and its local one.
SSH_CONNECTIONS = frozenset({"ssh", "paramiko", "smart", "paramiko_ssh"})
CONNECTIONS = SSH_CONNECTIONS | {"local"}

#: Ansible's ``order`` values for the hosts of a play.
ORDERS = ("inventory", "reverse_inventory", "sorted", "reverse_sorted", "shuffle")

#: strategy -> the one runner runs (Mitogen's strategies are Ansible's with a faster
#: connection; runner's own connection plays that part).
STRATEGIES = {
    "linear": "linear",
    "free": "free",
    "mitogen_linear": "linear",
    "mitogen_free": "free",
    "ansible.builtin.linear": "linear",
    "ansible.builtin.free": "free",
}


def connection_name(value: Any, path: str, line: int | None) -> str | None:
    """A ``connection:`` keyword: ``local`` or one of the SSH names (-> ``ssh``); other
    plugins are refused. A template is kept and checked when rendered.

    >>> connection_name("smart", "p.yml", 3), connection_name("local", "p.yml", 3)
    ('ssh', 'local')
    """
    if value is None:
        return None
    text = str(value).strip()
    if is_template(text):
        return text
    short = text.removeprefix("ansible.builtin.").removeprefix("ansible.legacy.")
    if short in SSH_CONNECTIONS:
        return "ssh"
    if short == "local":
        return "local"
    raise PlaybookError(
        f"connection {text!r} is not supported; runner connects over SSH or locally",
        path=path,
        line=line,
        hint="use 'connection: ssh' (also paramiko, smart) or 'connection: local'; "
        "containers, Windows and network devices need another tool",
    )


def remote_user(
    data: Mapping[Any, Any], path: str, default: Any = None, *, play: bool = False
) -> Any:
    """``remote_user`` (on a play also its old name ``user``; on a task ``user:`` is the
    user module); a template stays one."""
    if not play:
        value = data.get("remote_user", default)
        return None if value is None else str(value)
    if "remote_user" in data and "user" in data:
        raise PlaybookError(
            "give 'remote_user' or 'user', not both", path=path, line=line_of(data, "user")
        )
    value = data.get("remote_user", data.get("user", default))
    return None if value is None else str(value) if not isinstance(value, str) else value


def throttle(data: Mapping[Any, Any], path: str, default: Any = None) -> Any:
    """``throttle``: a positive number of hosts (0: no limit), or a template."""
    value = data.get("throttle", default)
    if value is None or (isinstance(value, str) and is_template(value)):
        return value
    try:
        number = int(str(value))
    except ValueError:
        number = -1
    if number < 0:
        raise PlaybookError(
            f"throttle must be a number of hosts, not {value!r}",
            path=path,
            line=line_of(data, "throttle"),
        )
    return number or None


def order(data: Mapping[Any, Any], path: str) -> str:
    value = str(data.get("order", "inventory"))
    if value not in ORDERS:
        raise PlaybookError(
            f"order {value!r} is not one of {', '.join(ORDERS)}",
            path=path,
            line=line_of(data, "order"),
        )
    return value


def strategy(data: Mapping[Any, Any], path: str) -> tuple[str, str | None]:
    """(the strategy runner runs, a notice when it maps another name onto it)."""
    value = str(data.get("strategy", "linear"))
    mapped = STRATEGIES.get(value)
    if mapped is None:
        raise PlaybookError(
            f"strategy {value!r} is not supported",
            path=path,
            line=line_of(data, "strategy"),
            hint="use 'linear' (hosts run each task together) or 'free' (each host at "
            "its own pace)",
        )
    notice = None
    if value.startswith("mitogen"):
        notice = (
            f"{path}:{line_of(data, 'strategy')}: strategy {value} runs as runner's "
            f"{mapped} strategy (runner's own connections play Mitogen's part)"
        )
    return mapped, notice


def environment_layer(data: Mapping[Any, Any], path: str) -> Any:
    """One ``environment:`` value: a mapping, a list of mappings (merged in order) or a
    template naming a mapping (``"{{ proxy_env }}"``); None when not given."""
    value = data.get("environment")
    if value is None:
        return None
    line = line_of(data, "environment")
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, str) and is_template(value):
        return value
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, dict) and not (isinstance(item, str) and is_template(item)):
                break
        else:
            return [
                {str(k): v for k, v in item.items()} if isinstance(item, dict) else item
                for item in value
            ]
    raise PlaybookError(
        "'environment' must be a mapping, a list of mappings or a template naming one",
        path=path,
        line=line,
    )


class Environment(dict):
    """A task's ``environment``: the merged mappings (a plain dict for whoever reads it as
    one), and ``layers``, each a mapping or a template, outermost (play) first, which
    runner.playbook.delegation.render_environment renders per host and merges."""

    layers: tuple[Any, ...] = ()


def merge_environment(base: Mapping[str, Any] | None, layer: Any) -> Mapping[str, Any]:
    """``base`` (the enclosing play's or block's environment) with ``layer`` over it.

    >>> env = merge_environment({"A": "1"}, [{"B": "2"}, "{{ more }}"])
    >>> dict(env), env.layers
    ({'A': '1', 'B': '2'}, ({'A': '1'}, {'B': '2'}, '{{ more }}'))
    """
    if layer is None:
        return base if base is not None else {}
    layers = list(getattr(base, "layers", None) or ([dict(base)] if base else []))
    layers.extend(layer if isinstance(layer, list) else [layer])
    out = Environment()
    for one in layers:
        if isinstance(one, dict):
            out.update(one)
    out.layers = tuple(layers)
    return out


def action_form(data: LineDict | dict, path: str) -> dict:
    """A task written with ``action:`` or ``local_action:`` rewritten to the usual form
    (``MODULE: ARGS``; ``local_action`` adds ``delegate_to: localhost``), keeping the
    lines of its keys. Other tasks come back as they are.

    >>> action_form({"action": "command echo hi", "register": "r"}, "p.yml")
    {'register': 'r', 'command': 'echo hi'}
    >>> action_form({"local_action": {"module": "copy", "content": "x", "dest": "/t"}}, "p")
    {'copy': {'content': 'x', 'dest': '/t'}, 'delegate_to': 'localhost'}
    """
    keys = [k for k in ("action", "local_action") if k in data]
    if not keys:
        return data
    key = keys[0]
    line = line_of(data, key)
    if len(keys) > 1 or (key == "local_action" and "delegate_to" in data):
        raise PlaybookError(
            "give one of 'action', 'local_action' (with no 'delegate_to')", path=path, line=line
        )
    raw = data[key]
    if isinstance(raw, str):
        module, _, args = raw.strip().partition(" ")
        new_args: Any = args.strip() or None
    elif isinstance(raw, dict) and isinstance(raw.get("module"), str):
        module = raw["module"]
        new_args = {k: v for k, v in raw.items() if k != "module"} or None
    else:
        raise PlaybookError(
            f"'{key}' takes 'MODULE ARGS' or a mapping with 'module:'", path=path, line=line
        )
    if not module or module in data:
        raise PlaybookError(f"'{key}' needs a module name", path=path, line=line)
    out = LineDict() if isinstance(data, LineDict) else {}
    lines = dict(getattr(data, "key_lines", {}))
    for k, v in data.items():
        if k != key:
            out[k] = v
    out[module] = new_args
    lines[module] = line or 0
    if key == "local_action":
        out["delegate_to"] = "localhost"
        lines["delegate_to"] = line or 0
    if isinstance(out, LineDict):
        out.line = getattr(data, "line", 0)
        out.key_lines = lines
    return out


def play_keywords(data: Mapping[Any, Any], path: str, warnings: list[str]) -> dict[str, Any]:
    """The execution keywords of a play: ``strategy``, ``order`` and ``force_handlers``
    for the Play, and under ``"inherited"`` what its tasks inherit (connection,
    remote_user, throttle, run_once, ignore_unreachable, ignore_errors, become_method,
    become_flags, become_exe)."""
    mapped, notice = strategy(data, path)
    if notice:
        warnings.append(notice)
    inherited = {
        "connection": connection_name(data.get("connection"), path, line_of(data, "connection")),
        "remote_user": remote_user(data, path, play=True),
        "throttle": throttle(data, path),
        "run_once": bool(data.get("run_once", False)),
        "ignore_unreachable": bool(data.get("ignore_unreachable", False)),
        "ignore_errors": data.get("ignore_errors", False),
        "become_method": data.get("become_method"),
        "become_flags": data.get("become_flags"),
        "become_exe": data.get("become_exe"),
    }
    return {
        "strategy": mapped,
        "order": order(data, path),
        "force_handlers": bool(data.get("force_handlers", False)),
        "inherited": inherited,
    }
