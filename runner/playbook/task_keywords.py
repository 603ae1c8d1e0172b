"""Keywords that change a task's arguments or how its module is found, folded in when
the playbook loads: ``module_defaults`` and ``collections``.

``module_defaults`` (on plays, blocks and tasks) is, as in ansible-core, a mapping from
module name to default arguments, or a list of such mappings. The layers are merged
from the play inwards and a later layer replaces a module's whole entry (it does not
merge the argument dicts); the task's own arguments win over the merged defaults. Keys
may be short names or ``ansible.builtin.`` names; ``group/NAME`` keys name collection
action groups (ansible.builtin defines none), so they never apply to runner's modules.

``collections`` lists the collections short module names are looked up in, before
ansible.builtin (module_candidates); the module bridge's load-time checks
(runner.playbook.bridge.loading) resolve a short name to the first listed collection that
has that module. A name no listed collection has stays ansible.builtin's: runner's own
module, or ansible-core's through the bridge.
"""

from __future__ import annotations

from typing import Any

from runner.errors import PlaybookError
from runner.playbook import modspec
from runner.playbook.checks import plain
from runner.playbook.reader import line_of

#: Modules whose arguments are not module arguments: module_defaults never apply.
NO_DEFAULTS = frozenset({"meta", "include_tasks", "set_fact", "include_vars"})


def defaults_layer(data: Any, path: str) -> tuple[dict[str, dict[str, Any]], ...]:
    """The ``module_defaults`` of one play, block or task: a tuple of mappings, checked.

    >>> defaults_layer({"module_defaults": {"ansible.builtin.shell": {"chdir": "/"}}}, "p")
    ({'shell': {'chdir': '/'}},)
    """
    raw = data.get("module_defaults") if hasattr(data, "get") else None
    if raw is None:
        return ()
    line = line_of(data, "module_defaults")
    layers = raw if isinstance(raw, list) else [raw]
    out = []
    for layer in layers:
        if not isinstance(layer, dict):
            raise PlaybookError(
                "module_defaults must map module names to their default arguments",
                path=path, line=line, hint="module_defaults: {ansible.builtin.file: {mode: '0644'}}",
            )  # fmt: skip
        fixed: dict[str, dict[str, Any]] = {}
        for name, args in layer.items():
            name = str(name)
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise PlaybookError(
                    f"module_defaults: the defaults of {name!r} must be a mapping of arguments",
                    path=path, line=line,
                )  # fmt: skip
            key = name if name.startswith("group/") else modspec.canonical_module(name)
            fixed[key] = plain(args)
        out.append(fixed)
    return tuple(out)


def apply_defaults(
    module: str, args: dict[str, Any], layers: tuple[Any, ...], path: str, line: int | None
) -> dict[str, Any]:
    """``args`` over the module's merged defaults, checked as the module's arguments.

    >>> apply_defaults("file", {"path": "/x"}, ({"file": {"mode": "0600"}},), "p", 1)
    {'mode': '0600', 'path': '/x'}
    """
    if not layers or module in NO_DEFAULTS:
        return args
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        merged.update(layer)
    defaults = merged.get(module)
    if not defaults:
        return args
    out = {**defaults, **args}
    try:
        modspec.check_args(module, out)
    except ValueError as exc:
        raise PlaybookError(
            f"{exc} (with module_defaults {defaults})", path=path, line=line
        ) from exc
    return out


def collections_of(data: Any, path: str) -> tuple[str, ...]:
    """The ``collections`` keyword: collection names (``namespace.name``), checked."""
    raw = data.get("collections") if hasattr(data, "get") else None
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        text = str(item)
        if not isinstance(item, str) or text.count(".") != 1 or not all(text.split(".")):
            raise PlaybookError(
                f"collections lists collection names such as community.general, not {item!r}",
                path=path, line=line_of(data, "collections"),
            )  # fmt: skip
        out.append(text)
    return tuple(out)


def task_diff(task: Any, default: bool) -> bool:
    """Whether a task shows its changes: its ``diff:`` keyword, else ``--diff``.

    >>> from runner.playbook.model import Task
    >>> task_diff(Task("copy", {}, "p", 1, diff="yes"), False), task_diff(Task("copy", {}, "p", 1), True)
    (True, True)
    """
    if task.diff is None:
        return default
    from runner.templating import truth

    return bool(truth(task.diff))


def module_candidates(name: str, collections: tuple[str, ...]) -> list[str]:
    """The fully qualified names a task's module NAME stands for, in lookup order (as
    ansible-core resolves short names against ``collections``, ansible.builtin last): for
    runner.playbook.bridge.loading, which runs collection modules. A qualified name is
    itself.

    >>> module_candidates("ufw", ("community.general",))
    ['community.general.ufw', 'ansible.builtin.ufw']
    >>> module_candidates("community.general.ufw", ("x.y",))
    ['community.general.ufw']
    """
    if "." in name:
        return [name]
    found = [f"{c}.{name}" for c in collections if c != "ansible.builtin"]
    return [*found, f"ansible.builtin.{name}"]
