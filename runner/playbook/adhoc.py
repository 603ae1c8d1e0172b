"""The ad-hoc module job (``runner run PATTERN -m MODULE -a ARGS``): one task of any
module ``runner play`` supports, run on every host as a host job, so its output, JSON,
``--out-dir``, exit codes and ``--procs`` workers are those of ``runner run``.

The task runs through the playbook's TaskExecutor (the same module code, argument
templating, become, timeout and ``--stream``/``--out-dir`` hooks as in a play). Its
arguments are rendered per host against what ``runner run`` renders its COMMAND with:
the host's inventory variables, ``inventory_hostname``, ``inventory_hostname_short``,
``group_names`` and ``-e`` extra vars (plus ``ansible_check_mode`` and ``omit``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from runner.engine.command import command_variables
from runner.engine.job import HostJob, JobContext
from runner.errors import HostError
from runner.events import HostOutput
from runner.jsonvalues import decode_value, encode_value
from runner.localpaths import out_paths
from runner.models import CommandResult, Host, HostResult, Status
from runner.playbook.events import TaskOutcome
from runner.playbook.executor import BecomeDefaults, TaskExecutor
from runner.playbook.model import Task
from runner.playbook.variables import Facts, VarScope
from runner.templating import LazyVars
from runner.transport.base import Transport
from runner.transport.local import LocalTransport
from runner.vault import Keyring, run_keyring

#: Modules whose result is a command's: shown as its exit code, stdout and stderr.
COMMAND_MODULES = frozenset({"shell", "command", "raw", "script"})

_MAGIC = frozenset(
    {"inventory_hostname", "inventory_hostname_short", "group_names", "ansible_check_mode", "omit"}
)


class AdhocScope(VarScope):
    """The variables of an ad-hoc task: those ``runner run`` renders COMMAND with (no
    ``groups``/``hostvars``: a ``--procs`` worker knows only its own hosts)."""

    def __init__(
        self, extra_vars: Mapping[str, Any], check_mode: bool, vault: Keyring | None = None
    ) -> None:
        super().__init__(
            hosts={},
            groups={},
            play_vars={},
            extra_vars=extra_vars,
            facts=Facts(),
            play_hosts=[],
            batch=[],
            check_mode=check_mode,
            playbook_dir=os.getcwd(),
            vault=vault,
        )
        self.check_mode = check_mode

    def for_host(
        self, host: Host, task_vars: Mapping[str, Any] | None = None, role: Any = None
    ) -> LazyVars:
        merged = command_variables(host, self.extra_vars)
        merged.update(ansible_check_mode=self.check_mode, omit="__omit_place_holder__")
        return LazyVars(merged, _MAGIC, self.vault)


class AdhocTask(Task):
    """The one task of an ad-hoc run: its errors say ``-a``, not a file and line."""

    @property
    def where(self) -> str:
        return "-a"


@dataclass(frozen=True)
class ModuleJob(HostJob):
    """``module`` with ``args`` (already parsed and checked: runner.playbook.adhoc_args)
    on every host. ``base_dir`` is where copy/template/script look for local files;
    ``env`` is the task's environment (``--env``)."""

    kind = "module"

    module: str
    args: Mapping[str, Any] = field(default_factory=dict)
    check_mode: bool = False
    diff: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    pty: bool = False
    base_dir: str = "."
    # the run's runner.playbook.bridge.Bridge, made on the first host (one per process)
    _bridge: list[Any] = field(default_factory=list, compare=False, repr=False)

    def check(self, hosts: Sequence[Host]) -> None:
        """fetch keeps DEST/HOST/SRC: every host name must be a folder name there."""
        if self.module == "fetch":
            from runner.localpaths import check_host_names

            dest = str(self.args.get("dest", ""))
            as_is = "inventory_hostname" in dest
            check_host_names([h.name for h in hosts], f"-a dest {dest!r}", as_is=as_is)

    def on_host(self, ctx: JobContext, host: Host, connect: Callable[[], Transport]) -> _Outcome:
        import gevent  # the cooperative sleep of pause

        config, output = ctx.config, ctx.config.output
        if output.out_dir:  # the task's commands append to them: start them empty
            for path in out_paths(output.out_dir, host.name)[:2]:
                open(path, "wb").close()
        sink = ctx.sink

        def on_output(name: str, stream: str, line: bytes) -> None:
            sink.handle(HostOutput(name, stream, line))

        seen: list[HostError] = []
        if not self._bridge:
            from runner.playbook.bridge import bridge_for

            self._bridge.append(bridge_for(config.project))
        executor = TaskExecutor(
            scope=AdhocScope(
                config.extra_vars, self.check_mode, run_keyring(ctx.secrets.vault_passwords)
            ),
            connect=lambda _host: cast(Transport, _Watched(connect(), seen)),
            # the host's own connection: local (ansible_connection=local, also from -e)
            local_connect=lambda h: cast(Transport, _Watched(LocalTransport(h), seen)),
            base_dir=self.base_dir,
            check_mode=self.check_mode,
            diff=self.diff,
            max_output=output.max_output,
            default_timeout=config.command_timeout,
            sleep=gevent.sleep,
            on_output=on_output if output.mode == "stream" else None,
            out_dir=output.out_dir,
            become=BecomeDefaults(
                enabled=config.become.enabled,
                user=config.become.user,
                password=ctx.secrets.become_password,
            ),
            pty=self.pty,
            bridge=self._bridge[0],
        )
        task = AdhocTask(
            module=self.module, args=dict(self.args), path="-a", line=0, environment=self.env
        )
        return _Outcome(executor.run(task, host), seen[-1].kind if seen else "task")

    def host_result(self, host: Host, outcome: Any, started: float, duration: float) -> HostResult:
        """The module's verdict (ok, changed, failed, skipped) and its result; a command
        module's exit code and output as a CommandResult; a failure's ``msg`` as the
        error of a host that has no exit code to show."""
        assert isinstance(outcome, _Outcome)
        task, error_kind = outcome.task, outcome.error_kind
        result = dict(task.result)
        result.pop("failed", None)  # the status says it, as ansible's output does
        command = None
        rc = result.get("rc")
        if self.module in COMMAND_MODULES and isinstance(rc, int) and not result.get("skipped"):
            command = CommandResult(
                rc,
                str(result.get("stdout", "")).encode(),
                str(result.get("stderr", "")).encode(),
                duration,
            )
        error = kind = None
        if task.status is Status.FAILED and (command is None or command.exit_code == 0):
            error, kind = str(result.get("msg") or "failed"), error_kind
        return HostResult(
            host.name,
            task.status,
            command,
            error,
            kind,
            started,
            duration,
            module=self.module,
            module_result=result,
        )

    def finish_result(self, result: HostResult) -> HostResult:
        """Unreachable hosts too are results of this module (JSON, summary counts)."""
        return result if result.module else replace(result, module=self.module)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "module": self.module,
            "args": encode_value(dict(self.args)),
            "check_mode": self.check_mode,
            "diff": self.diff,
            "env": dict(self.env),
            "pty": self.pty,
            "base_dir": self.base_dir,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModuleJob:
        return cls(
            module=data["module"],
            args=decode_value(data["args"]),
            check_mode=bool(data["check_mode"]),
            diff=bool(data["diff"]),
            env=dict(data["env"]),
            pty=bool(data["pty"]),
            base_dir=data["base_dir"],
        )


@dataclass(frozen=True)
class _Outcome:
    """The task's outcome on one host, and the kind of error that failed it (a command
    timeout is ``timeout`` as in ``runner run``; ``task`` otherwise)."""

    task: TaskOutcome
    error_kind: str


class _Watched:
    """The host's connection, keeping the errors its commands raised: the executor makes
    a failed result of them, and the host's result says their kind."""

    def __init__(self, transport: Transport, seen: list[HostError]) -> None:
        self._transport = transport
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def run(self, *args: Any, **kwargs: Any) -> CommandResult:
        try:
            return self._transport.run(*args, **kwargs)
        except HostError as exc:
            self._seen.append(exc)
            raise
