"""The ad-hoc command job (``runner run``): one command, rendered per host, run through the
login shell with the run's environment, working directory, privilege escalation and
``--script``; its output captured in memory (bounded), streamed line by line
(``--stream``) and kept whole in ``--out-dir``.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import shlex
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from runner.become import host_become, shell_body
from runner.engine.job import HostJob, JobContext
from runner.errors import ConnectionLostError, HostError, TaskError
from runner.events import HostOutput
from runner.localpaths import out_paths
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport
from runner.vault import Keyring, run_keyring

log = logging.getLogger(__name__)


def check_host_template(text: str, where: str) -> None:
    """A per-host template (the ad-hoc COMMAND, copy's DEST) before any connection: a
    syntax error, or a constant one over the size limits, is an input error naming
    ``where``; an undefined variable fails only the host it is undefined for."""
    from runner import templating
    from runner.errors import TemplateError

    if not templating.is_template(text):
        return
    templating.compile_template(text, where=where)
    try:
        templating.check_constant(text)
    except TemplateError as exc:
        raise TemplateError(exc.message, path=where) from exc


def render_for_host(
    text: str, host: Host, extra_vars: Mapping[str, Any], vault: Keyring | None = None
) -> str:
    """``text`` rendered for one host (plain text is returned as it is, without jinja2).
    ``!vault`` variables are decrypted with ``vault`` when the template reads them.

    >>> render_for_host("echo {{ inventory_hostname_short }}", Host("web1.example.com"), {})
    'echo web1'
    """
    from runner import templating

    if not templating.is_template(text):
        return text
    return templating.render(text, host_template_vars(host, extra_vars, vault))


def host_template_vars(
    host: Host, extra_vars: Mapping[str, Any], vault: Keyring | None = None
) -> Mapping[str, Any]:
    """Variables a per-host command template sees (inventory vars, magic vars, then -e),
    each used as it is (not rendered again), ``!vault`` ones decrypted when read."""
    from runner.templating import LazyVars

    variables = command_variables(host, extra_vars)
    return LazyVars(variables, vault=vault, literal=True)


def command_variables(host: Host, extra_vars: Mapping[str, Any]) -> dict[str, Any]:
    """The plain values behind host_template_vars (inventory vars, magic vars, then -e)."""
    variables = dict(host.vars)
    variables.update(
        inventory_hostname=host.name,
        inventory_hostname_short=host.name.split(".")[0],
        group_names=sorted(g for g in host.groups if g not in ("all", "ungrouped")),
    )
    variables.update(extra_vars)
    return variables


@dataclass(frozen=True)
class CommandJob(HostJob):
    """``command`` (a Jinja2 template) on every host. ``script`` is the content of
    ``--script FILE`` (uploaded to a fresh temp path, run with ``command`` as its
    arguments, removed); ``stdin`` is sent to the command's standard input."""

    kind = "command"

    command: str
    env: Mapping[str, str] = field(default_factory=dict)
    chdir: str | None = None
    pty: bool = False
    stdin: bytes | None = field(default=None, repr=False)
    script: bytes | None = field(default=None, repr=False)
    script_name: str = "script"

    def check(self, hosts: Sequence[Host]) -> None:
        check_host_template(self.command, "COMMAND")

    def render(
        self, host: Host, extra_vars: Mapping[str, Any], vault: Keyring | None = None
    ) -> str:
        return render_for_host(self.command, host, extra_vars, vault)

    def on_host(
        self, ctx: JobContext, host: Host, connect: Callable[[], Transport]
    ) -> CommandResult:
        config = ctx.config
        vault = run_keyring(ctx.secrets.vault_passwords)
        command = self.render(host, config.extra_vars, vault)
        transport = connect()
        become = host_become(vault.revealing(host.vars), config.become, ctx.secrets.become_password)
        script_path = None
        if self.script is not None:
            script_path = _upload_script(transport, self.script, self.script_name)
            command = f"{shlex.quote(script_path)} {command}".rstrip()
        body = shell_body(command, env=self.env or None, chdir=self.chdir)
        if become is None and (self.env or self.chdir or script_path):
            body = f"/bin/sh -c {shlex.quote(body)}"  # whatever the login shell is
        try:
            with ExitStack() as stack:
                stdout, stderr = _captures(ctx, host.name, stack)
                return transport.run(
                    body,
                    stdout=stdout,
                    stderr=stderr,
                    timeout=config.command_timeout,
                    stdin=self.stdin,
                    pty=self.pty,
                    become=become,
                )
        finally:
            if script_path is not None:
                _remove(transport, script_path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "command": self.command,
            "env": dict(self.env),
            "chdir": self.chdir,
            "pty": self.pty,
            "stdin": _b64(self.stdin),
            "script": _b64(self.script),
            "script_name": self.script_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CommandJob:
        return cls(
            command=data["command"],
            env=dict(data["env"]),
            chdir=data["chdir"],
            pty=bool(data["pty"]),
            stdin=_unb64(data["stdin"]),
            script=_unb64(data["script"]),
            script_name=data["script_name"],
        )


def _captures(ctx: JobContext, name: str, stack: ExitStack) -> tuple[OutputCapture, OutputCapture]:
    """stdout and stderr captures: bounded in memory, whole in --out-dir, line by line
    to the sink under --stream."""
    output = ctx.config.output
    files: list[Any] = [None, None]
    if output.out_dir:
        out_path, err_path, _ = out_paths(output.out_dir, name)
        files = [stack.enter_context(open(p, "wb")) for p in (out_path, err_path)]
    callbacks: list[Any] = [None, None]
    if output.mode == "stream":
        sink = ctx.sink
        callbacks = [
            lambda line, s=stream: sink.handle(HostOutput(name, s, line))
            for stream in ("stdout", "stderr")
        ]
    return (
        OutputCapture(output.max_output, files[0], callbacks[0]),
        OutputCapture(output.max_output, files[1], callbacks[1]),
    )


def _upload_script(transport: Transport, data: bytes, name: str) -> str:
    """A fresh, unguessable name in /tmp, created exclusively (never follows a file
    someone planted there), executable for the become user."""
    path = f"/tmp/.runner-{secrets.token_hex(8)}-{os.path.basename(name)}"
    try:
        transport.put_new_file(data, path, 0o755)
    except HostError:
        raise
    except OSError as exc:
        raise TaskError(f"cannot upload the script to {path}: {exc}") from exc
    return path


def _remove(transport: Transport, path: str) -> None:
    try:
        transport.remove_file(path)
    except (HostError, OSError) as exc:
        if not isinstance(exc, ConnectionLostError):
            log.debug("could not remove %s on %s: %s", path, transport.host.name, exc)


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
