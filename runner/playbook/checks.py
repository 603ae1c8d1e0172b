"""Validation helpers of the playbook loader: keywords, module arguments, conditions,
templates, handler names and local files (found by runner.playbook.localfiles), and the
small converters the loader shares. Every error names the file and line."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from runner.errors import PlaybookError, TemplateError
from runner.playbook import modspec
from runner.playbook.adhoc_args import parse_kv
from runner.playbook.localfiles import resolve_local, search_dirs
from runner.playbook.model import Play
from runner.playbook.reader import line_of
from runner.templating import check_constant, check_expression, compile_template, is_template
from runner.templating.lookup_names import LOOKUP_NAMES, WITH_KEYWORDS

PLAY_KEYWORDS = frozenset(
    {
        "name", "hosts", "vars", "vars_files", "become", "become_user", "become_method",
        "become_flags", "become_exe",
        "serial", "max_fail_percentage", "any_errors_fatal", "gather_facts", "tasks",
        "handlers", "environment", "tags", "strategy", "gather_subset", "gather_timeout",
        "pre_tasks", "post_tasks", "roles",
        "collections", "module_defaults", "vars_prompt", "check_mode", "diff",
        "connection", "remote_user", "user", "order",
        "force_handlers", "throttle", "run_once", "ignore_unreachable", "ignore_errors",
    }
)  # fmt: skip
_INHERITED = frozenset(
    {
        "name", "when", "become", "become_user", "become_method", "environment", "tags",
        "vars", "ignore_errors", "run_once", "delegate_to", "delegate_facts", "any_errors_fatal",
        "check_mode", "no_log", "diff", "module_defaults", "collections",
        "connection", "remote_user", "throttle", "ignore_unreachable",
        "become_flags", "become_exe",
    }
)  # fmt: skip
BLOCK_KEYWORDS = _INHERITED | {"block", "rescue", "always"}
TASK_KEYWORDS = _INHERITED | WITH_KEYWORDS | {
    "register", "loop", "loop_control", "changed_when", "failed_when",
    "notify", "retries", "until", "delay", "timeout", "args", "async", "poll",
}  # fmt: skip
HANDLER_KEYWORDS = TASK_KEYWORDS | {"listen"}

# Ansible keywords runner knows about but does not implement, with what to do instead.
UNSUPPORTED = {
    "port": "set ansible_port in the inventory",
    "debugger": "none (runner has no debugger)",
    "fact_path": "none (runner reads no local facts.d files)",
    "hosts": "'hosts' belongs to plays, not tasks",
}
_LOOP_HINT = "use 'loop:' with a list, or with_ one of: " + ", ".join(sorted(LOOKUP_NAMES))


_KEY_VALUE_ONLY = frozenset({"debug", "fail", "set_fact", "assert", "pause"})


def raw_module_args(
    data: dict[Any, Any], key: Any, parse: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """A task's module arguments as written: free form (read by ``parse``) or a mapping,
    with the task's ``args:`` on top; ValueError when they are neither. Shared by runner's
    own modules and the module bridge."""
    raw = data[key]
    if raw is None:
        args: dict[str, Any] = {}
    elif isinstance(raw, str):
        args = parse(raw)
    elif isinstance(raw, dict):
        args = plain(raw)
    else:
        raise ValueError(f"arguments must be a string or a mapping, not {raw!r}")
    extra = data.get("args")
    if extra is not None:
        if not isinstance(extra, dict):
            raise ValueError("'args' must be a mapping")
        args.update(plain(extra))
    return args


def free_form_args(module: str, text: str) -> dict[str, Any]:
    r"""A task's ``module: k=v ...`` string as Ansible's parse_kv reads it: a command
    module's own options taken out of its command line (runner.playbook.modspec), any
    other module's ``key=value`` words with their escapes decoded (``content="a\nb"``
    is two lines, as in ansible-playbook) and one pair of quotes removed.

    >>> free_form_args("lineinfile", r'path=/x line="a\tb"')
    {'path': '/x', 'line': 'a\tb'}
    """
    if modspec.SPECS[module].free_form:
        return modspec.parse_free_form(module, text)
    args = parse_kv(text)
    raw = str(args.pop("_raw_params", "")).split()
    if raw:
        raise ValueError(f"expected key=value arguments, got {raw[0]!r}")
    return args


class Checks:
    """Mixed into the loader: checks that need only the data, its path and line."""

    def _module_args(
        self, module: str, data: dict[Any, Any], key: str, path: str
    ) -> dict[str, Any]:
        raw = data[key]
        line = line_of(data, key)
        try:
            if isinstance(raw, str) and "=" not in raw and module in _KEY_VALUE_ONLY:
                raise ValueError(f"{module} takes key=value arguments or a mapping")
            args = raw_module_args(data, key, lambda text: free_form_args(module, text))
            if module in ("command", "shell") and isinstance(args.get("argv"), str):
                raise ValueError("argv must be a list")
            modspec.check_args(module, args)
        except ValueError as exc:
            raise PlaybookError(str(exc), path=path, line=line) from exc
        if module == "pause" and "prompt" in args:
            raise PlaybookError("pause supports only 'seconds'/'minutes'", path=path, line=line)
        self._check_local_file(module, args, path, line)
        return args

    def _check_local_file(self, module: str, args: dict, path: str, line: int | None) -> None:
        """Files read on the control node must exist (when their names are not templated)."""
        src = None
        if module in ("copy", "template") and args.get("remote_src") in (None, False):
            src = args.get("src")  # (remote_src: the file is on the host)
        elif module == "script":
            raw = args.get("cmd") or args.get("_raw_params") or ""
            src = str(raw).split()[0] if str(raw).split() else None
        if not isinstance(src, str) or is_template(src):
            return
        # the modules look next to the play's file, also for tasks of an imported file
        base = os.path.dirname(getattr(self, "play_path", "") or path)
        role = self._role_dir_of(path)  # type: ignore[attr-defined]
        found = resolve_local(src, base, module, role)
        if found is None:
            raise PlaybookError(
                f"{module}: local file {src!r} not found (looked in "
                f"{', '.join(search_dirs(base, module, role))})", path=path, line=line,
            )  # fmt: skip
        if module != "copy" and os.path.isdir(found):
            raise PlaybookError(
                f"{module}: {src!r} is a directory; {module} takes a file",
                path=path, line=line,
            )  # fmt: skip

    # -- checks ---------------------------------------------------------------------

    def _bad_keyword(self, key: Any, what: str, path: str, line: int | None, allowed) -> None:
        key = str(key)
        hint: str | None
        if key.startswith("with_") and key not in WITH_KEYWORDS:
            hint = _LOOP_HINT
        else:
            hint = UNSUPPORTED.get(key)
        supported = ", ".join(sorted(allowed))
        if what == "play" and modspec.canonical_module(key) in modspec.SPECS:
            message = f"module {key!r} at play level; put it under 'tasks:'"
        elif hint:
            message = f"runner does not support the {what} keyword {key!r}"
        else:
            message = f"unknown {what} keyword {key!r}; supported: {supported}"
        raise PlaybookError(message, path=path, line=line, hint=hint and f"instead: {hint}")

    def _check_method(self, data: dict[Any, Any], path: str) -> None:
        method = data.get("become_method", "sudo")
        if method not in ("sudo", "su") and not is_template(str(method)):
            raise PlaybookError(
                f"become_method {method!r} is not supported",
                path=path, line=line_of(data, "become_method"),
                hint="use become_method sudo or su",
            )  # fmt: skip

    def _delegate(self, data: dict[Any, Any], path: str, default: str | None) -> str | None:
        """``delegate_to``: any host name or a template (rendered per host when run)."""
        if "delegate_to" not in data:
            return default
        target = data["delegate_to"]
        if target is None or str(target).strip() == "":
            return None
        self._check_templates(target, path, line_of(data, "delegate_to"))
        return str(target).strip()

    def _check_expr(self, expr: Any, path: str, line: int | None) -> None:
        if not isinstance(expr, str):
            return
        text = expr.strip()
        if text.startswith("{{") and text.endswith("}}"):
            text = text[2:-2]
        try:
            check_expression(text)
            check_constant("{{ " + text + " }}")
        except TemplateError as exc:
            raise PlaybookError(
                f"invalid condition {expr!r}: {exc.message}", path=path, line=line
            ) from exc

    def _check_templates(self, value: Any, path: str, line: int | None) -> None:
        if isinstance(value, str):
            if is_template(value):
                try:
                    compile_template(value)
                    check_constant(value)
                except TemplateError as exc:
                    raise PlaybookError(exc.message, path=path, line=line) from exc
        elif isinstance(value, dict):
            for v in value.values():
                self._check_templates(v, path, line)
        elif isinstance(value, list):
            for v in value:
                self._check_templates(v, path, line)

    #: Names (and listen topics) of handlers whose own errors were collected: notifying
    #: one is not a second error (runner.playbook.collect). Cleared after each play.
    unloaded_handlers: set[str]

    def _check_notify(self, play: Play) -> None:
        names = {h.name for h in play.handlers if h.name}
        names |= {topic for h in play.handlers for topic in h.listen}
        names |= self.unloaded_handlers
        self.unloaded_handlers = set()
        for task in play.all_tasks():
            for target in task.notify:
                if target not in names:
                    known = ", ".join(sorted(names)) or "none defined"
                    raise PlaybookError(
                        f"notify: no handler named {target!r} in this play (handlers: {known})",
                        path=task.path, line=task.line,
                    )  # fmt: skip

    def _mapping(self, data: dict[Any, Any], key: str, path: str) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise PlaybookError(f"'{key}' must be a mapping", path=path, line=line_of(data, key))
        return plain(value)


def plain(value: Any) -> Any:
    """LineDicts -> dicts (recursively), so templates and JSON see ordinary data."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def as_tuple(value: Any) -> tuple[Any, ...]:
    """None -> (), a list -> its items, anything else -> a 1-tuple."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def opt_str(value: Any) -> str | None:
    """None stays None; anything else becomes its text."""
    return None if value is None else str(value)


def tags_of(value: Any, path: str, line: int | None) -> frozenset[str]:
    """A ``tags:`` keyword (a string with commas, a list, a number) as a set of names."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(t.strip() for t in value.split(",") if t.strip())
    if isinstance(value, list):
        return frozenset(str(t) for t in value)
    if isinstance(value, (int, float)):
        return frozenset({str(value)})
    raise PlaybookError("tags must be a string or a list", path=path, line=line)
