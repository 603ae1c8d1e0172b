"""Load and validate playbooks: every error names the file, the line and what to do.

Nothing here contacts a host. After ``load_playbook`` returns, every module, keyword,
module argument, Jinja2 expression and handler name has been checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runner.errors import PlaybookError, TemplateError
from runner.playbook import modspec
from runner.playbook.checks import (
    BLOCK_KEYWORDS,
    HANDLER_KEYWORDS,
    PLAY_KEYWORDS,
    TASK_KEYWORDS,
    UNSUPPORTED,
    Checks,
    _as_tuple,
    _opt_str,
    _plain,
    _tags,
    resolve_local,
)
from runner.playbook.model import Block, Node, Play, Playbook, Task
from runner.playbook.yamlsrc import LineDict, line_of, load_yaml
from runner.templating import is_template, render_value

__all__ = ["load_playbook", "resolve_local"]


@dataclass(frozen=True)
class _Inherited:
    """Keywords a play or block passes down to its tasks."""

    when: tuple[Any, ...] = ()
    become: Any = None  # None: not set by the play or a block
    become_user: str | None = None
    environment: Mapping[str, Any] = None  # type: ignore[assignment]
    tags: frozenset[str] = frozenset()
    vars: Mapping[str, Any] = None  # type: ignore[assignment]
    ignore_errors: Any = False
    run_once: bool = False
    delegate_to: str | None = None
    any_errors_fatal: bool = False
    check_mode: bool | None = None
    no_log: bool = False
    rescuable: bool = False


class _Loader(Checks):
    def __init__(self, extra_vars: Mapping[str, Any] | None) -> None:
        self.extra_vars = dict(extra_vars or {})
        self.warnings: list[str] = []
        self._seen: set[str] = set()

    # -- playbook -------------------------------------------------------------------

    def playbook(self, path: str) -> list[Play]:
        real = os.path.realpath(path)
        if real in self._seen:
            raise PlaybookError("import_playbook loop: this file imports itself", path=path)
        self._seen.add(real)
        data = load_yaml(path)
        if data is None:
            return []
        if not isinstance(data, list):
            raise PlaybookError(
                "a playbook is a YAML list of plays", path=path, line=line_of(data, default=1),
                hint="start each play with '- hosts: PATTERN'",
            )  # fmt: skip
        plays: list[Play] = []
        for index, entry in enumerate(data):
            if not isinstance(entry, dict):
                raise PlaybookError(
                    f"each play must be a mapping (hosts:, tasks:...), not {_kind(entry)}",
                    path=path, line=_node_line(path, index),
                    hint="start each play with '- hosts: PATTERN'",
                )  # fmt: skip
            imported = entry.get("import_playbook", entry.get("ansible.builtin.import_playbook"))
            if imported is not None:
                extra = set(entry) - {"import_playbook", "ansible.builtin.import_playbook", "name"}
                if extra:
                    raise PlaybookError(
                        f"import_playbook does not support {', '.join(sorted(extra))}",
                        path=path, line=line_of(entry),
                    )  # fmt: skip
                target = os.path.join(os.path.dirname(path), str(imported))
                if os.path.realpath(target) in self._seen:
                    raise PlaybookError(
                        f"import_playbook {str(imported)!r} imports a playbook that is "
                        "already being imported (a loop)", path=path, line=line_of(entry),
                    )  # fmt: skip
                plays.extend(self.playbook(target))
                continue
            plays.append(self.play(entry, path))
        self._seen.discard(real)
        return plays

    # -- plays ----------------------------------------------------------------------

    def play(self, data: LineDict, path: str) -> Play:
        line = line_of(data) or 1
        for key in data:
            if key not in PLAY_KEYWORDS:
                self._bad_keyword(key, "play", path, line_of(data, key), PLAY_KEYWORDS)
        hosts = data.get("hosts")
        if isinstance(hosts, list):
            hosts = ",".join(str(h) for h in hosts)
        if not hosts or not isinstance(hosts, str):
            raise PlaybookError(
                "a play needs 'hosts' (a host pattern such as 'web' or 'all')",
                path=path, line=line,
            )  # fmt: skip
        name = data.get("name") or hosts
        self._check_method(data, path)
        if data.get("strategy", "linear") != "linear":
            raise PlaybookError(
                f"strategy {data['strategy']!r} is not supported; runner runs the linear "
                "strategy", path=path, line=line_of(data, "strategy"),
            )  # fmt: skip
        gather = data.get("gather_facts", False)
        if gather not in (False, None, "no", "false", "False"):
            self.warnings.append(
                f"{path}:{line_of(data, 'gather_facts')}: gather_facts is ignored: runner "
                "gathers no facts (set gather_facts: false to silence this)"
            )
        play_vars = self._mapping(data, "vars", path)
        self._check_templates(play_vars, path, line_of(data, "vars"))
        vars_files = self._vars_files(data, path, play_vars)
        merged_vars = {**play_vars}
        for _, file_vars in vars_files:
            merged_vars.update(file_vars)
        mfp = data.get("max_fail_percentage")
        if mfp is not None:
            try:
                mfp = float(str(mfp).rstrip("%"))
            except ValueError:
                mfp = -1.0
            if not 0 <= mfp <= 100:
                raise PlaybookError(
                    "max_fail_percentage must be a number from 0 to 100",
                    path=path, line=line_of(data, "max_fail_percentage"),
                )  # fmt: skip
        play = Play(
            name=str(name),
            hosts=hosts,
            path=path,
            line=line,
            vars=merged_vars,
            vars_files=tuple(p for p, _ in vars_files),
            serial=self._serial(data, path),
            max_fail_percentage=mfp,
            any_errors_fatal=bool(data.get("any_errors_fatal", False)),
            tags=_tags(data.get("tags"), path, line_of(data, "tags")),
            gather_facts=bool(gather) if isinstance(gather, bool) else False,
        )
        inherited = _Inherited(
            become=data.get("become"),
            become_user=_opt_str(data.get("become_user")),
            environment=self._mapping(data, "environment", path),
            tags=play.tags,
            vars={},
            any_errors_fatal=play.any_errors_fatal,
        )
        counter = [0]
        play.tasks = self.nodes(data.get("tasks"), path, inherited, counter, "tasks", data)
        handler_counter = [0]
        handlers = self.nodes(
            data.get("handlers"), path, inherited, handler_counter, "handlers", data, handler=True
        )
        play.handlers = [h for h in handlers if isinstance(h, Task)]
        self._check_notify(play)
        return play

    def _serial(self, data: LineDict, path: str) -> tuple[int | str, ...]:
        serial = data.get("serial")
        if serial is None:
            return ()
        items = serial if isinstance(serial, list) else [serial]
        out: list[int | str] = []
        for item in items:
            text = str(item).strip()
            ok = text.endswith("%") and text[:-1].strip().replace(".", "", 1).isdigit()
            if ok:
                out.append(text.replace(" ", ""))
            elif text.isdigit():
                out.append(int(text))
            else:
                raise PlaybookError(
                    f"serial must be a number, a percentage or a list of them, not {item!r}",
                    path=path, line=line_of(data, "serial"),
                )  # fmt: skip
        return tuple(out)

    def _vars_files(
        self, data: LineDict, path: str, play_vars: dict
    ) -> list[tuple[str, dict[str, Any]]]:
        files = data.get("vars_files") or []
        if isinstance(files, str):
            files = [files]
        line = line_of(data, "vars_files")
        out = []
        for name in files:
            if not isinstance(name, str):
                raise PlaybookError("vars_files must list file names", path=path, line=line)
            if is_template(name):
                try:
                    name = str(render_value(name, {**play_vars, **self.extra_vars}))
                except TemplateError as exc:
                    raise PlaybookError(
                        f"vars_files entry {name!r}: {exc.message}", path=path, line=line
                    ) from exc
            full = os.path.join(os.path.dirname(path), os.path.expanduser(name))
            if not os.path.exists(full):
                raise PlaybookError(f"vars_files: {full} not found", path=path, line=line)
            loaded = load_yaml(full) or {}
            if not isinstance(loaded, dict):
                raise PlaybookError(
                    f"a vars file must be a mapping of variables (name: value), not "
                    f"{_kind(loaded)} (listed in {path}:{line})", path=full, line=_node_line(full),
                )  # fmt: skip
            out.append((full, _plain(loaded)))
        return out

    # -- tasks and blocks -----------------------------------------------------------

    def nodes(
        self,
        items: Any,
        path: str,
        inherited: _Inherited,
        counter: list[int],
        section: str,
        parent: Any,
        *,
        handler: bool = False,
    ) -> list[Node]:
        if items is None:
            return []
        if not isinstance(items, list):
            raise PlaybookError(
                f"'{section}' must be a list of tasks", path=path, line=line_of(parent, section)
            )
        out: list[Node] = []
        for item in items:
            if not isinstance(item, dict):
                raise PlaybookError(
                    f"each entry of '{section}' must be a mapping (a task), not {item!r}",
                    path=path, line=line_of(parent, section),
                )  # fmt: skip
            if "block" in item and not handler:
                out.append(self.block(item, path, inherited, counter))
            else:
                out.append(self.task(item, path, inherited, counter, handler=handler))
        return out

    def block(self, data: LineDict, path: str, inherited: _Inherited, counter: list) -> Block:
        for key in data:
            if key not in BLOCK_KEYWORDS:
                self._bad_keyword(key, "block", path, line_of(data, key), BLOCK_KEYWORDS)
        inner = self._inherit(data, path, inherited)
        rescue_raw = data.get("rescue")
        block_part = replace(inner, rescuable=inner.rescuable or bool(rescue_raw))
        block = self.nodes(data.get("block"), path, block_part, counter, "block", data)
        rescue = self.nodes(rescue_raw, path, inner, counter, "rescue", data)
        always = self.nodes(data.get("always"), path, inner, counter, "always", data)
        return Block(block, rescue, always, path, line_of(data) or 0, _opt_str(data.get("name")))

    def _inherit(self, data: LineDict, path: str, base: _Inherited) -> _Inherited:
        self._check_method(data, path)
        when = base.when + _as_tuple(data.get("when"))
        for cond in _as_tuple(data.get("when")):
            self._check_expr(cond, path, line_of(data, "when"))
        env = dict(base.environment or {})
        env.update(self._mapping(data, "environment", path))
        block_vars = dict(base.vars or {})
        block_vars.update(self._mapping(data, "vars", path))
        return replace(
            base,
            when=when,
            become=data.get("become", base.become),
            become_user=_opt_str(data.get("become_user", base.become_user)),
            environment=env,
            tags=base.tags | _tags(data.get("tags"), path, line_of(data, "tags")),
            vars=block_vars,
            ignore_errors=data.get("ignore_errors", base.ignore_errors),
            run_once=bool(data.get("run_once", base.run_once)),
            delegate_to=self._delegate(data, path, base.delegate_to),
            any_errors_fatal=bool(data.get("any_errors_fatal", base.any_errors_fatal)),
            check_mode=data.get("check_mode", base.check_mode),
            no_log=bool(data.get("no_log", base.no_log)),
        )

    def task(
        self, data: LineDict, path: str, inherited: _Inherited, counter: list, *, handler: bool
    ) -> Task:
        line = line_of(data) or 0
        allowed = HANDLER_KEYWORDS if handler else TASK_KEYWORDS
        module_keys = [k for k in data if k not in allowed]
        for key in module_keys:
            short = modspec.canonical_module(str(key))
            if short in modspec.SPECS:
                continue
            if key in UNSUPPORTED or key in BLOCK_KEYWORDS or str(key).startswith("with_"):
                self._bad_keyword(key, "task", path, line_of(data, key), allowed)
            if key == "listen":
                raise PlaybookError(
                    "'listen' is only valid on handlers", path=path, line=line_of(data, key)
                )
        if len(module_keys) != 1:
            if not module_keys:
                raise PlaybookError(
                    "this task has no module; give one of: "
                    + ", ".join(modspec.SUPPORTED_MODULES), path=path, line=line,
                )  # fmt: skip
            known = [k for k in module_keys if modspec.canonical_module(k) in modspec.SPECS]
            unknown = [k for k in module_keys if k not in known]
            if unknown:
                raise modspec.unknown_module_error(unknown[0], path, line_of(data, unknown[0]))
            raise PlaybookError(
                f"a task runs one module, this one names {', '.join(module_keys)}",
                path=path, line=line,
            )  # fmt: skip
        key = module_keys[0]
        module = modspec.canonical_module(str(key))
        if module not in modspec.SPECS:
            raise modspec.unknown_module_error(str(key), path, line_of(data, key))
        args = self._module_args(module, data, key, path)
        inner = self._inherit(data, path, inherited)
        loop, flatten = data.get("loop"), False
        if "with_items" in data:
            if "loop" in data:
                raise PlaybookError("give 'loop' or 'with_items', not both", path=path, line=line)
            loop, flatten = data["with_items"], True
        loop_control = data.get("loop_control") or {}
        if not isinstance(loop_control, dict) or set(loop_control) - {"loop_var", "label"}:
            raise PlaybookError(
                "loop_control supports only 'loop_var' and 'label'",
                path=path, line=line_of(data, "loop_control"),
            )  # fmt: skip
        for keyword in ("changed_when", "failed_when", "until"):
            for cond in _as_tuple(data.get(keyword)):
                self._check_expr(cond, path, line_of(data, keyword))
        if "until" in data and "register" not in data:
            raise PlaybookError(
                "'until' needs 'register' to name the result it tests",
                path=path, line=line_of(data, "until"),
            )  # fmt: skip
        notify = data.get("notify") or ()
        listen = data.get("listen") or ()
        counter[0] += 1
        name = data.get("name")
        if handler and not name and not listen:
            raise PlaybookError("a handler needs a 'name' (or 'listen')", path=path, line=line)
        if module == "pause" and handler:
            raise PlaybookError("pause is not supported as a handler", path=path, line=line)
        task = Task(
            module=module,
            args=args,
            path=path,
            line=line,
            name=str(name) if name is not None else None,
            when=inner.when,
            register=_opt_str(data.get("register")),
            loop=loop,
            loop_flatten=flatten,
            loop_var=str(loop_control.get("loop_var", "item")),
            loop_label=_opt_str(loop_control.get("label")),
            ignore_errors=inner.ignore_errors,
            changed_when=data.get("changed_when"),
            failed_when=data.get("failed_when"),
            run_once=inner.run_once or module == "pause",
            delegate_to=inner.delegate_to,
            notify=tuple(str(n) for n in _as_tuple(notify)),
            listen=tuple(str(n) for n in _as_tuple(listen)),
            become=inner.become,
            become_user=inner.become_user,
            retries=data.get("retries"),
            until=data.get("until"),
            delay=data.get("delay"),
            timeout=data.get("timeout"),
            environment=inner.environment,
            tags=inner.tags,
            vars=inner.vars,
            check_mode=inner.check_mode,
            no_log=inner.no_log,
            any_errors_fatal=inner.any_errors_fatal,
            index=counter[0],
            rescuable=inherited.rescuable,
            handler=handler,
        )
        self._check_templates(task.args, path, line_of(data, key))
        for keyword in ("loop", "with_items", "vars", "environment"):
            if keyword in data:
                self._check_templates(data[keyword], path, line_of(data, keyword))
        return task


def _kind(value: Any) -> str:
    """``[1]`` -> ``'a list'``, ``'x'`` -> ``'a string'``: what a YAML value is, for errors."""
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number",
             type(None): "an empty entry"}  # fmt: skip
    return names.get(type(value), "a number" if isinstance(value, float) else "a scalar")


def _node_line(path: str, index: int | None = None) -> int:
    """The line of a file's top-level YAML node, or of its ``index``-th list entry
    (lists carry no line numbers once loaded). Only called for an error; 1 if unknown."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            node = yaml.compose(fh, Loader=yaml.SafeLoader)
        if index is not None:
            node = node.value[index]
        return node.start_mark.line + 1
    except Exception:  # the file was read once already; this only improves the message
        return 1


def load_playbook(path: str, extra_vars: Mapping[str, Any] | None = None) -> Playbook:
    """Read and validate one playbook file (and the playbooks it imports)."""
    loader = _Loader(extra_vars)
    plays = loader.playbook(path)
    return Playbook(path, plays, loader.warnings)
