"""Tasks, blocks and handlers of a play, read into Task and Block: module arguments
checked, keywords inherited from the play and enclosing blocks, templates compiled.
Every error names the file and the line. The loader (runner.playbook.loader) reads the
playbook files and plays and hands each play's task lists to TaskLoader.nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runner.errors import PlaybookError
from runner.playbook import keywords, modspec
from runner.playbook.async_keyword import async_timeout
from runner.playbook.bridge.loading import BridgeChecks
from runner.playbook.checks import (
    BLOCK_KEYWORDS,
    HANDLER_KEYWORDS,
    TASK_KEYWORDS,
    UNSUPPORTED,
    Checks,
    as_tuple,
    opt_str,
    tags_of,
)
from runner.playbook.collect import Collecting
from runner.playbook.includes import INCLUDE_NAMES, IncludeLoader, include_key
from runner.playbook.meta import HOST_ACTIONS
from runner.playbook.model import Block, Node, Task
from runner.playbook.reader import line_of
from runner.playbook.roles import INCLUDE_ROLE, RoleLoader, role_key
from runner.playbook.task_keywords import apply_defaults, collections_of, defaults_layer
from runner.templating import truth
from runner.templating.lookup_names import WITH_KEYWORDS

LOOP_CONTROL = frozenset(
    {"loop_var", "label", "index_var", "pause", "extended", "extended_allitems"}
)

META_ACTIONS = frozenset(
    {"flush_handlers", "noop", "end_host", "end_play", "end_batch", "end_role"}
)
META_ACTIONS |= HOST_ACTIONS  # runner.playbook.meta


@dataclass(frozen=True)
class Inherited:
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
    delegate_facts: bool = False
    any_errors_fatal: bool = False
    check_mode: bool | None = None
    no_log: bool = False
    rescuable: bool = False
    diff: Any = None  # None: --diff decides
    module_defaults: tuple[Any, ...] = ()  # play, then blocks, then the task: later wins
    collections: tuple[str, ...] = ()
    role: Any = None  # model.Role: the role whose files are being read
    connection: str | None = None
    remote_user: Any = None
    throttle: Any = None
    ignore_unreachable: bool = False
    become_method: Any = None
    become_flags: Any = None
    become_exe: Any = None


class TaskLoader(RoleLoader, IncludeLoader, Checks, Collecting, BridgeChecks):
    """Reads task lists; mixed into the playbook loader, which gives ``extra_vars``."""

    def _check_meta(
        self, args: dict, data: dict, path: str, line: int, handler: bool, role: Any
    ) -> None:
        action = args.get("_raw_params")
        if action not in META_ACTIONS:
            raise PlaybookError(
                f"meta: {action!r} is not supported; runner supports "
                + ", ".join(sorted(META_ACTIONS)), path=path, line=line,
            )  # fmt: skip
        if handler or "loop" in data or "with_items" in data:
            raise PlaybookError(
                "meta runs once, as a task: not in handlers, not with a loop",
                path=path, line=line,
            )  # fmt: skip
        if action == "end_role" and role is None:
            raise PlaybookError(
                "meta: end_role ends the role it is in; this task is not in a role "
                "(Ansible refuses it too)", path=path, line=line,
            )  # fmt: skip
        if data.get("when") is not None and action in (
            "flush_handlers",
            "noop",
            "refresh_inventory",
        ):
            raise PlaybookError(
                f"meta: {action} does not take 'when' (Ansible ignores it)",
                path=path, line=line_of(data, "when"),
            )  # fmt: skip

    # -- tasks and blocks -----------------------------------------------------------

    def nodes(
        self,
        items: Any,
        path: str,
        inherited: Inherited,
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
            # one task (or import, block) at a time: its errors are collected, and the
            # next task is checked too (runner.playbook.collect)
            got = self.collect(self._node, item, path, inherited, counter, section, parent, handler)
            if got is None and handler and isinstance(item, dict):
                # its error is reported; a notify of it must not add a second one
                self.unloaded_handlers.update(
                    str(n) for n in (item.get("name"), *as_tuple(item.get("listen"))) if n
                )
            out.extend(got or [])
        return out

    def _node(
        self, item: Any, path: str, inherited: Inherited, counter: list[int], section: str,
        parent: Any, handler: bool,
    ) -> list[Node]:  # fmt: skip
        if not isinstance(item, dict):
            raise PlaybookError(
                f"each entry of '{section}' must be a mapping (a task), not {item!r}",
                path=path, line=line_of(parent, section),
            )  # fmt: skip
        key = include_key(item)
        role = role_key(item)
        if role is not None and handler:
            raise PlaybookError(
                f"{role} is not supported in handlers", path=path, line=line_of(item)
            )
        if role in INCLUDE_ROLE:
            return [self.include_role(item, role, path, inherited, counter)]
        if role is not None:
            return [self.import_role(item, role, path, inherited, counter)]
        if key in INCLUDE_NAMES:
            return [self.include_tasks(item, key, path, inherited, counter, handler=handler)]
        if key is not None:
            imported = self.import_tasks(item, key, path, inherited, counter, handler=handler)
            return imported.block if handler else [imported]
        if "block" in item and not handler:
            return [self.block(item, path, inherited, counter)]
        return [self.task(item, path, inherited, counter, handler=handler)]

    def block(self, data: dict[Any, Any], path: str, inherited: Inherited, counter: list) -> Block:
        for key in data:
            if key not in BLOCK_KEYWORDS:
                self._bad_keyword(key, "block", path, line_of(data, key), BLOCK_KEYWORDS)
        inner = self._inherit(data, path, inherited)
        rescue_raw = data.get("rescue")
        block_part = replace(inner, rescuable=inner.rescuable or bool(rescue_raw))
        block = self.nodes(data.get("block"), path, block_part, counter, "block", data)
        rescue = self.nodes(rescue_raw, path, inner, counter, "rescue", data)
        always = self.nodes(data.get("always"), path, inner, counter, "always", data)
        return Block(block, rescue, always, path, line_of(data) or 0, opt_str(data.get("name")))

    def _inherit(self, data: dict[Any, Any], path: str, base: Inherited) -> Inherited:
        self._check_method(data, path)
        when = base.when + as_tuple(data.get("when"))
        for cond in as_tuple(data.get("when")):
            self._check_expr(cond, path, line_of(data, "when"))
        env = keywords.merge_environment(base.environment, keywords.environment_layer(data, path))
        block_vars = dict(base.vars or {})
        block_vars.update(self._mapping(data, "vars", path))
        return replace(
            base,
            when=when,
            become=data.get("become", base.become),
            become_user=opt_str(data.get("become_user", base.become_user)),
            environment=env,
            tags=base.tags | tags_of(data.get("tags"), path, line_of(data, "tags")),
            vars=block_vars,
            ignore_errors=data.get("ignore_errors", base.ignore_errors),
            run_once=bool(data.get("run_once", base.run_once)),
            delegate_to=self._delegate(data, path, base.delegate_to),
            delegate_facts=truth(data.get("delegate_facts", base.delegate_facts)),
            any_errors_fatal=bool(data.get("any_errors_fatal", base.any_errors_fatal)),
            check_mode=data.get("check_mode", base.check_mode),
            no_log=bool(data.get("no_log", base.no_log)),
            diff=data.get("diff", base.diff),
            module_defaults=base.module_defaults + defaults_layer(data, path),
            collections=collections_of(data, path) or base.collections,
            connection=keywords.connection_name(
                data.get("connection", base.connection), path, line_of(data, "connection")
            ),
            remote_user=keywords.remote_user(data, path, base.remote_user),
            throttle=keywords.throttle(data, path, base.throttle),
            ignore_unreachable=truth(data.get("ignore_unreachable", base.ignore_unreachable)),
            become_method=data.get("become_method", base.become_method),
            become_flags=data.get("become_flags", base.become_flags),
            become_exe=data.get("become_exe", base.become_exe),
        )

    def task(
        self, data: dict[Any, Any], path: str, inherited: Inherited, counter: list, *, handler: bool
    ) -> Task:
        data = keywords.action_form(data, path)
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
        collections = collections_of(data, path) or inherited.collections
        bridged = self._bridged(data, key, path, collections)  # runner.playbook.bridge
        if bridged is not None:
            module, args = bridged
        else:
            module = modspec.canonical_module(str(key))
            args = self._module_args(module, data, key, path)
        inner = self._inherit(data, path, inherited)
        args = apply_defaults(module, args, inner.module_defaults, path, line_of(data, key))
        if module == "include_vars":
            args["_origin"] = path  # its file is looked up beside this one
        loop, flatten, lookup = data.get("loop"), False, None
        withs = [k for k in data if k in WITH_KEYWORDS]
        if withs:
            if "loop" in data or len(withs) > 1:
                raise PlaybookError(
                    f"give one loop: 'loop' or one with_* keyword, not {', '.join(withs)}"
                    + (" and 'loop'" if "loop" in data else ""),
                    path=path, line=line_of(data, withs[0]),
                )  # fmt: skip
            loop = data[withs[0]]
            lookup = withs[0].removeprefix("with_")
            flatten, lookup = (True, None) if lookup == "items" else (False, lookup)
        loop_control = data.get("loop_control") or {}
        if not isinstance(loop_control, dict) or set(loop_control) - LOOP_CONTROL:
            raise PlaybookError(
                "loop_control supports only " + ", ".join(sorted(LOOP_CONTROL)),
                path=path, line=line_of(data, "loop_control"),
            )  # fmt: skip
        for keyword in ("changed_when", "failed_when", "until"):
            for cond in as_tuple(data.get(keyword)):
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
        if handler and not name and not listen and not self.handler_include:
            raise PlaybookError("a handler needs a 'name' (or 'listen')", path=path, line=line)
        if module == "meta":
            self._check_meta(args, data, path, line, handler, inherited.role)
        if module == "pause" and handler:
            raise PlaybookError("pause is not supported as a handler", path=path, line=line)
        task = Task(
            module=module,
            args=args,
            path=path,
            line=line,
            name=str(name) if name is not None else None,
            when=inner.when,
            register=opt_str(data.get("register")),
            loop=loop,
            loop_flatten=flatten,
            loop_lookup=lookup,
            loop_var=str(loop_control.get("loop_var", "item")),
            loop_label=opt_str(loop_control.get("label")),
            loop_index_var=opt_str(loop_control.get("index_var")),
            loop_pause=loop_control.get("pause"),
            loop_extended=loop_control.get("extended", False),
            loop_allitems=loop_control.get("extended_allitems", True),
            ignore_errors=inner.ignore_errors,
            changed_when=data.get("changed_when"),
            failed_when=data.get("failed_when"),
            run_once=inner.run_once or module in ("pause", "add_host"),  # bypass the host loop
            delegate_to=inner.delegate_to,
            delegate_facts=inner.delegate_facts,
            notify=tuple(str(n) for n in as_tuple(notify)),
            listen=tuple(str(n) for n in as_tuple(listen)),
            become=inner.become,
            become_user=inner.become_user,
            retries=data.get("retries"),
            until=data.get("until"),
            delay=data.get("delay"),
            timeout=async_timeout(data, module, path),  # runner.playbook.async_keyword
            environment=inner.environment,
            tags=inner.tags,
            vars=inner.vars,
            check_mode=inner.check_mode,
            diff=inner.diff,
            collections=inner.collections,
            no_log=inner.no_log,
            any_errors_fatal=inner.any_errors_fatal,
            connection=inner.connection,
            remote_user=inner.remote_user,
            throttle=inner.throttle,
            ignore_unreachable=inner.ignore_unreachable,
            become_method=inner.become_method,
            become_flags=inner.become_flags,
            become_exe=inner.become_exe,
            index=counter[0],
            rescuable=inherited.rescuable,
            handler=handler,
            role=inherited.role,
        )
        self._check_templates(task.args, path, line_of(data, key))
        for keyword in ("loop", *withs, "vars", "environment"):
            if keyword in data:
                self._check_templates(data[keyword], path, line_of(data, keyword))
        return task
