"""What a module gets to work with: the host's connection, variables and run options.

A module is a function ``(ctx, args) -> dict`` returning an Ansible-style result
(``changed``, ``failed``, ``rc``, ``stdout``...). A non-zero exit code is a result; only a
lost connection raises (HostError), which makes the host unreachable.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.become import Become, shell_body
from runner.models import CommandResult, Host
from runner.templating import truth
from runner.transport.base import OutputCapture, Transport

ModuleResult = dict[str, Any]


class ModuleFailure(Exception):
    """Raised inside a module to fail the task with a message (never leaves the executor)."""

    def __init__(self, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


@dataclass
class ModuleContext:
    host: Host
    connect: Callable[[], Transport]
    variables: Mapping[str, Any]
    base_dir: str
    check_mode: bool = False
    diff: bool = False
    no_log: bool = False  # the task's no_log (Ansible's modules are told, to keep it from logs)
    become: Become | None = None  # the task's resolved become (executor.task_become)
    pty: bool = False  # --pty: a terminal for commands run with become
    environment: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    max_output: int = 1 << 20
    sleep: Callable[[float], None] = time.sleep
    # --stream / --out-dir: (stream name) -> (line callback or None, file to append to or None)
    output_hooks: Callable[[str], tuple[Any, Any]] | None = None

    @property
    def become_user(self) -> str | None:
        """The user commands run as under become (None: root, or no become)."""
        return self.become.user if self.become is not None else None

    def shell(
        self,
        script: str,
        *,
        stdin: bytes | None = None,
        chdir: str | None = None,
        executable: str = "/bin/sh",
        become: bool | None = None,
        env: bool = True,
        hooks: bool = True,
        limit: int | None = None,
    ) -> CommandResult:
        """Run a shell snippet with this task's environment, chdir and become
        (``become=False``: as the login user even when the task becomes; ``limit``: keep
        this many bytes of output rather than --max-output, for a file read with cat)."""
        body = shell_body(script, env=self.environment if env else None, chdir=chdir)
        command = f"{executable} -c {shlex.quote(body)}"
        return self.run_raw(
            command,
            stdin=stdin,
            become=None if become is False else self.become,
            hooks=hooks,
            limit=limit,
        )

    def run_raw(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        become: Become | None = None,
        hooks: bool = True,
        limit: int | None = None,
    ) -> CommandResult:
        """``command`` as is through the login shell (through sudo when ``become``);
        ``hooks=False``: its output is not streamed or kept under --out-dir."""
        transport = self.connect()
        output_hooks = self.output_hooks if hooks else None
        out_line, out_file = output_hooks("stdout") if output_hooks else (None, None)
        err_line, err_file = output_hooks("stderr") if output_hooks else (None, None)
        try:
            return transport.run(
                command,
                stdout=OutputCapture(limit or self.max_output, out_file, out_line),
                stderr=OutputCapture(self.max_output, err_file, err_line),
                timeout=self.timeout,
                stdin=stdin,
                pty=self.pty and become is not None,  # --pty: for commands run with become
                become=become,
            )
        finally:
            for fh in (out_file, err_file):
                if fh is not None:
                    fh.close()

    def raw(self, command: str, executable: str | None = None) -> CommandResult:
        if executable:
            command = f"{executable} -c {shlex.quote(command)}"
        return self.run_raw(command, become=self.become)


def command_result(result: CommandResult, *, cmd: Any, strip: bool = True) -> ModuleResult:
    """An Ansible-style result for a command: rc, stdout(_lines), stderr(_lines), failed."""
    out = result.stdout_text
    err = result.stderr_text
    if strip:
        out = out.rstrip("\r\n")
        err = err.rstrip("\r\n")
    data: ModuleResult = {
        "changed": True,
        "cmd": cmd,
        "rc": result.exit_code,
        "stdout": out,
        "stderr": err,
        "stdout_lines": out.splitlines(),
        "stderr_lines": err.splitlines(),
        "delta": f"{result.duration:.3f}",
        "failed": result.exit_code != 0,
    }
    if result.exit_code != 0:
        data["msg"] = "non-zero return code"
    return data


def need_str(args: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = args.get(key, default)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ModuleFailure(f"{key} must be a string, not {type(value).__name__}")
    return str(value)


def as_bool(value: Any) -> bool:
    return truth(value) if value is not None else False
