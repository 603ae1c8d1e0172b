"""Runs one task on one host: conditions, loops, retries, the module, result rules.

Returns a TaskOutcome; only an unreachable host (HostError with ``unreachable``) is
raised, so the strategy can take the host out of the play.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.become import Become, resolve_become
from runner.errors import HostError, RunnerError, TemplateError
from runner.localpaths import out_paths
from runner.models import Host, Status
from runner.playbook.delegation import (
    Route,
    delegated_vars,
    plan_route,
    render_environment,
    route_connector,
)
from runner.playbook.events import TaskOutcome
from runner.playbook.model import Task
from runner.playbook.modules import EXPRESSION_ARGS, LOCAL_ONLY, MODULES, ModuleContext
from runner.playbook.modules.base import ModuleFailure
from runner.playbook.task_keywords import task_diff
from runner.playbook.variables import VarScope
from runner.templating import LazyVars, condition, loop_items, render_value, truth
from runner.transport.base import Transport


@dataclass(frozen=True)
class BecomeDefaults:
    """The command line's become: ``-b``, ``--become-user``, ``-K`` / RUNNER_BECOME_PASSWORD."""

    enabled: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def task_become(
    variables: Mapping[str, Any],
    keyword: Any = None,
    keyword_user: str | None = None,
    defaults: BecomeDefaults | None = None,
    method: tuple[Any, Any, Any] = (None, None, None),
) -> Become | None:
    """Whether and how a task escalates: runner.become.resolve_become (connection
    variables > the ``become`` / ``become_user`` keywords, play < block < task > the
    command line), with the keyword rendered first. ``keyword`` and ``keyword_user`` are
    the task's effective keywords (None: not set anywhere).

    >>> task_become({}, defaults=BecomeDefaults(True, "app", "pw"))
    Become(user='app', password=<set>)
    >>> task_become({}, False, defaults=BecomeDefaults(True)) is None
    True
    >>> task_become({"ansible_become_user": "pg"}, True, "app")
    Become(user='pg', password=None)
    >>> task_become({"ansible_become": "yes", "ansible_become_pass": "x"}, False)
    Become(user=None, password=<set>)
    """
    defaults = defaults or BecomeDefaults()
    rendered = None if keyword is None else truth(render_value(keyword, variables))
    how = [None if v is None else render_value(v, variables) for v in method]
    return resolve_become(
        variables,
        enabled=defaults.enabled,
        user=defaults.user,
        password=defaults.password,
        keyword=rendered,
        keyword_user=keyword_user,
        keyword_method=how[0],
        keyword_flags=how[1],
        keyword_exe=how[2],
    )[0]


@dataclass
class TaskExecutor:
    """Everything a task needs besides the task and the host."""

    scope: VarScope
    connect: Callable[[Host], Transport]  # the host's one connection (engine.connection)
    local_connect: Callable[[Host], Transport]  # connection: local, delegate_to: localhost
    base_dir: str
    check_mode: bool = False
    diff: bool = False
    max_output: int = 1 << 20
    default_timeout: float | None = None
    sleep: Callable[[float], None] = time.sleep
    on_output: Callable[[str, str, bytes], None] | None = None  # --stream: (host, stream, line)
    out_dir: str | None = None  # --out-dir: every command's output appended to DIR/HOST.*
    become: BecomeDefaults = field(default_factory=BecomeDefaults)  # the command line's
    pty: bool = False  # --pty: a terminal for commands run with become
    bridge: Any = None  # the run's runner.playbook.bridge.Bridge (None: made when needed)

    def run(self, task: Task, host: Host) -> TaskOutcome:
        started = time.time()
        clock = time.monotonic()
        local: list[Transport] = []
        try:
            result = self._run(task, host, local)
        except HostError as exc:
            if exc.unreachable:
                raise
            result = _failure(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        except (RunnerError, ModuleFailure) as exc:
            result = _failure(getattr(exc, "msg", None) or str(exc))
        finally:
            for transport in local:
                transport.close()
        status = _status(result)
        ignored = False
        if status is Status.FAILED and task.ignore_errors:
            try:
                ignored = condition(
                    task.ignore_errors, self.scope.for_host(host, task.vars, task.role)
                )
            except RunnerError:
                ignored = False
        return TaskOutcome(
            host=host.name,
            status=status,
            result=result,
            ignored=ignored,
            rescued=status is Status.FAILED and not ignored and task.rescuable,
            started=started,
            duration=time.monotonic() - clock,
            censored=task.no_log,
        )

    # -- conditions and loops -----------------------------------------------------------

    def _run(self, task: Task, host: Host, local: list[Transport]) -> dict[str, Any]:
        variables = self.scope.for_host(host, task.vars, task.role)
        if task.loop is None:
            false = self._false_condition(task, variables)
            if false is not None:
                return _skipped(false)
            return self._attempts(task, host, variables, local)
        items = render_value(task.loop, variables, where=task.where)
        if task.loop_lookup is not None:
            try:
                items = loop_items(task.loop_lookup, items, variables, task.module)
            except TemplateError as exc:
                return _failure(str(exc))
        if isinstance(items, Mapping) or not isinstance(items, (list, tuple)):
            return _failure(
                f"loop needs a list, got {type(items).__name__}; use '| dict2items' for a mapping"
            )
        if task.loop_flatten:
            items = [x for item in items for x in (item if isinstance(item, list) else [item])]
        if not items:
            return {"changed": False, "skipped": True, "results": [], "msg": "No items in the list"}
        results = []
        pause = _number(task.loop_pause, variables, 0.0) or 0.0
        for index in range(len(items)):
            if index and pause > 0:
                self.sleep(pause)
            extra = loop_vars(task, items, index, variables)
            item_vars = variables.child(extra)
            false = self._false_condition(task, item_vars)
            if false is not None:
                one = _skipped(false)
            else:
                one = self._attempts(task, host, item_vars, local)
            one.update(extra)
            one["ansible_loop_var"] = task.loop_var
            if task.loop_index_var:
                one["ansible_index_var"] = task.loop_index_var
            if task.loop_label is not None:
                one["_ansible_item_label"] = render_value(task.loop_label, item_vars)
            results.append(one)
        aggregate: dict[str, Any] = {
            "results": results,
            "changed": any(r.get("changed") for r in results),
            "msg": "All items completed",
        }
        if any(r.get("failed") for r in results):
            aggregate["failed"] = True
            aggregate["msg"] = "One or more items failed"
        if all(r.get("skipped") for r in results):
            aggregate["skipped"] = True
        return aggregate

    def _false_condition(self, task: Task, variables: Mapping[str, Any]) -> Any:
        """The first ``when`` condition that is false, or None when the task should run."""
        for cond in task.when:
            if not condition(cond, variables, where=task.where):
                return cond
        return None

    def _attempts(
        self, task: Task, host: Host, variables: LazyVars, local: list[Transport]
    ) -> dict[str, Any]:
        if task.until is None:
            return self._once(task, host, variables, local)
        retries = _number(task.retries, variables, None)
        attempts = 3 if retries is None else max(1, int(retries) + 1)
        delay = _number(task.delay, variables, 5.0) or 0.0
        attempt = 0
        while True:
            attempt += 1
            result = self._once(task, host, variables, local)
            result["attempts"] = attempt
            if result.get("skipped"):
                return result
            done = condition(task.until, variables.child({task.register or "": result}))
            if done:
                return result
            if attempt >= attempts:
                result["failed"] = True
                result.setdefault("msg", f"'until' still false after {attempt} attempts")
                return result
            self.sleep(delay)

    # -- one module call ------------------------------------------------------------------

    def _once(
        self, task: Task, host: Host, variables: LazyVars, local: list[Transport]
    ) -> dict[str, Any]:
        keep = EXPRESSION_ARGS.get(task.module, ())
        args = {
            k: (v if k in keep else render_value(v, variables, where=task.where))
            for k, v in task.args.items()
        }
        args = {k: v for k, v in args.items() if v != "__omit_place_holder__"}
        env = render_environment(task.environment, variables, task.where)
        route = (
            None
            if task.module in LOCAL_ONLY
            else plan_route(task, host, variables, self.scope.hosts)
        )
        timeout = _number(task.timeout, variables, self.default_timeout)
        ctx = ModuleContext(
            host=host,
            connect=self._connector(route, local),
            variables=variables,
            base_dir=self.base_dir,
            check_mode=self.check_mode if task.check_mode is None else truth(task.check_mode),
            diff=task_diff(task, self.diff),
            no_log=bool(task.no_log),
            become=task_become(
                variables,
                task.become,
                render_value(task.become_user, variables) if task.become_user else None,
                self.become,
                (task.become_method, task.become_flags, task.become_exe),
            ),
            pty=self.pty,
            environment={str(k): v for k, v in env.items()},
            timeout=timeout,
            max_output=self.max_output,
            sleep=self.sleep,
            output_hooks=None if task.no_log else self._output_hooks(host),
        )
        try:
            result = self._module(task.module)(ctx, args)
        except ModuleFailure as exc:
            result = _failure(exc.msg, **exc.extra)
        except ValueError as exc:  # e.g. an invalid environment variable name
            result = _failure(str(exc))
        except HostError as exc:
            if exc.unreachable:
                raise
            result = _failure(exc.message)
        result.setdefault("changed", False)
        result["failed"] = bool(result.get("failed", False))
        delegated = delegated_vars(
            task, host, variables, self.scope.hosts, route, self.scope.localhost
        )
        if delegated is not None:
            result["_ansible_delegated_vars"] = delegated
        for stream in ("stdout", "stderr"):  # as Ansible adds them to any module's result
            if isinstance(result.get(stream), str) and f"{stream}_lines" not in result:
                result[f"{stream}_lines"] = result[stream].splitlines()
        if result.get("skipped"):
            return result
        scoped = variables.child({task.register: result}) if task.register else variables
        if task.changed_when is not None:
            result["changed"] = _all(task.changed_when, scoped, task)
        if task.failed_when is not None:
            result["failed"] = _all(task.failed_when, scoped, task)
            result["failed_when_result"] = result["failed"]
            if not result["failed"] and result.get("msg") == "non-zero return code":
                result.pop("msg")
        return result

    def _module(self, name: str) -> Callable[[ModuleContext, dict[str, Any]], dict[str, Any]]:
        """runner's own module ``name``, or Ansible's through the run's bridge."""
        if self.bridge is None:
            if name in MODULES:
                return MODULES[name]
            from runner.playbook.bridge import Bridge

            self.bridge = Bridge()
        bridge = self.bridge
        if not bridge.bridged(name, MODULES):
            return MODULES[name]
        return lambda ctx, args: bridge.run(ctx, name, args)

    def _output_hooks(self, host: Host) -> Callable[[str], tuple[Any, Any]] | None:
        """Line callbacks (--stream) and append-mode files (--out-dir) for one command."""
        if self.on_output is None and self.out_dir is None:
            return None
        on_output, out_dir = self.on_output, self.out_dir

        def hooks(stream: str) -> tuple[Any, Any]:
            line = None
            if on_output is not None:

                def line(data: bytes) -> None:
                    on_output(host.name, stream, data)

            sink_file = None
            if out_dir is not None:
                paths = out_paths(out_dir, host.name)
                sink_file = open(paths[0] if stream == "stdout" else paths[1], "ab")
            return line, sink_file

        return hooks

    def _connector(self, route: Route | None, local: list[Transport]) -> Callable[[], Transport]:
        if route is None:
            return _no_connection
        return route_connector(route, self.connect, self.local_connect, local)


def _no_connection() -> Transport:
    raise RuntimeError("this module runs on the control node only")


def _all(conditions: Any, variables: Mapping[str, Any], task: Task) -> bool:
    return condition(conditions, variables, where=task.where)


def _number(value: Any, variables: Mapping[str, Any], default: float | None) -> float | None:
    if value is None:
        return default
    rendered = render_value(value, variables)
    try:
        number = float(rendered)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModuleFailure(f"expected a number, got {rendered!r}") from exc
    if not math.isfinite(number):
        raise ModuleFailure(f"expected a finite number, got {rendered!r}")
    return number


def _failure(msg: str, **extra: Any) -> dict[str, Any]:
    return {"changed": False, "failed": True, "msg": msg, **extra}


def _skipped(false_condition: Any) -> dict[str, Any]:
    return {
        "changed": False,
        "skipped": True,
        "skip_reason": "Conditional result was False",
        "false_condition": false_condition,
    }


def _status(result: Mapping[str, Any]) -> Status:
    if result.get("failed"):
        return Status.FAILED
    if result.get("skipped"):
        return Status.SKIPPED
    if result.get("changed"):
        return Status.CHANGED
    return Status.OK


def loop_vars(task: Task, items: list, index: int, variables: LazyVars) -> dict[str, Any]:
    """The variables one loop item sets: the loop variable, loop_control's index_var and,
    when ``extended``, ``ansible_loop`` as Ansible fills it."""
    out: dict[str, Any] = {task.loop_var: items[index]}
    if task.loop_index_var:
        out[task.loop_index_var] = index
    if task.loop_extended and condition(task.loop_extended, variables):
        count = len(items)
        extended: dict[str, Any] = {
            "index": index + 1, "index0": index, "revindex": count - index,
            "revindex0": count - index - 1, "first": index == 0, "last": index == count - 1,
            "length": count,
        }  # fmt: skip
        if condition(task.loop_allitems, variables):
            extended["allitems"] = items
        if index > 0:
            extended["previtem"] = items[index - 1]
        if index < count - 1:
            extended["nextitem"] = items[index + 1]
        out["ansible_loop"] = extended
    return out
