"""What ``runner run`` adds around a host's transport: environment, working directory,
privilege escalation and ``--script`` (upload, run, remove).

A decorator over any Transport, so the engine, the SSH transport and the local one stay
unaware of ad-hoc options; playbooks build their own command lines (runner.become).
"""

from __future__ import annotations

import logging
import secrets
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.become import Become, become_for_host, shell_body
from runner.errors import ConnectionLostError, HostError, TaskError
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdhocOptions:
    """How every host's command is run. ``script`` is the content of --script FILE."""

    env: Mapping[str, str] = field(default_factory=dict)
    chdir: str | None = None
    become: bool = False
    become_user: str | None = None
    become_password: str | None = field(default=None, repr=False)
    script: bytes | None = field(default=None, repr=False)
    script_name: str = "script"

    def __repr__(self) -> str:
        return (
            f"AdhocOptions(env={sorted(self.env)}, chdir={self.chdir!r}, become={self.become}, "
            f"become_user={self.become_user!r}, script={self.script_name if self.script else None})"
        )

    def become_for(self, host: Host) -> Become | None:
        return become_for_host(
            host.vars, become=self.become, user=self.become_user, password=self.become_password
        )


class AdhocTransport(Transport):
    """Runs ``command`` with the ad-hoc options on top of ``inner``."""

    def __init__(self, inner: Transport, options: AdhocOptions) -> None:
        self.inner = inner
        self.host = inner.host
        self.options = options
        self.become = options.become_for(inner.host)

    def connect(self) -> None:
        self.inner.connect()

    def run(
        self,
        command: str,
        *,
        stdout: OutputCapture,
        stderr: OutputCapture,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        pty: bool = False,
        **extra: Any,
    ) -> CommandResult:
        opts = self.options
        script_path = None
        if opts.script is not None:
            script_path = self._upload_script(opts.script)
            command = f"{shlex.quote(script_path)} {command}".rstrip()
        body = shell_body(command, env=opts.env or None, chdir=opts.chdir)
        if self.become is None and (opts.env or opts.chdir or script_path):
            body = f"/bin/sh -c {shlex.quote(body)}"  # whatever the login shell is
        kwargs: dict[str, Any] = dict(
            stdout=stdout, stderr=stderr, timeout=timeout, stdin=stdin, env=env, pty=pty
        )
        if self.become is not None:
            kwargs["become"] = self.become
        try:
            return self.inner.run(body, **kwargs)
        finally:
            if script_path is not None:
                self._remove(script_path)

    def _upload_script(self, data: bytes) -> str:
        """A fresh, unguessable name in /tmp, created exclusively (never follows a file
        someone planted there), readable by the become user."""
        path = f"/tmp/.runner-{secrets.token_hex(8)}-{self.options.script_name}"
        put_new = getattr(self.inner, "put_new_file", None)
        try:
            if put_new is not None:
                put_new(data, path, 0o755)
            else:
                self.inner.put_file(data, path, 0o755)
        except HostError:
            raise
        except (OSError, NotImplementedError) as exc:
            raise TaskError(
                f"cannot upload the script to {path}: {exc}", host=self.host.name
            ) from exc
        return path

    def _remove(self, path: str) -> None:
        remove = getattr(self.inner, "remove_file", None)
        if remove is None:
            return
        try:
            remove(path)
        except (HostError, OSError) as exc:
            if not isinstance(exc, ConnectionLostError):
                log.debug("could not remove %s on %s: %s", path, self.host.name, exc)

    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        self.inner.put_file(data, path, mode)

    def get_file(self, path: str) -> bytes:
        return self.inner.get_file(path)

    def close(self) -> None:
        self.inner.close()


def adhoc_factory(
    factory: Callable[[Host], Transport], options: AdhocOptions
) -> Callable[[Host], Transport]:
    """``factory`` with every transport wrapped in AdhocTransport (when options need it)."""

    def make(host: Host) -> Transport:
        transport = factory(host)
        return AdhocTransport(transport, options)

    for name in ("close", "prepare", "context"):
        if hasattr(factory, name):
            setattr(make, name, getattr(factory, name))
    return make
