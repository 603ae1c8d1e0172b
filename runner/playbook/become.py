"""How a task's command line is built: environment, working directory and become (sudo).

Kept in one place so privilege escalation can grow (passwords, other methods) without
touching the modules. Become is non-interactive: ``sudo -n`` fails at once instead of
waiting for a password nobody will type.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def become_wrap(command: str, user: str | None, executable: str = "/bin/sh") -> str:
    """Run ``command`` (shell text) as ``user`` through sudo, without a prompt.

    >>> become_wrap("id -u", None)
    "sudo -H -S -n -u root -- /bin/sh -c 'id -u'"
    """
    target = shlex.quote(user or "root")
    return f"sudo -H -S -n -u {target} -- {executable} -c {shlex.quote(command)}"


def env_prefix(env: Mapping[str, object] | None) -> str:
    """``export`` statements for ``environment:`` (works whatever the server's AcceptEnv).

    >>> env_prefix({"A": "x y", "N": 1})
    "export A='x y' N=1; "
    """
    if not env:
        return ""
    parts = []
    for name, value in env.items():
        if not _ENV_NAME.match(str(name)):
            raise ValueError(f"invalid environment variable name {name!r}")
        parts.append(f"{name}={shlex.quote('' if value is None else str(value))}")
    return f"export {' '.join(parts)}; "


def build_command(
    script: str,
    *,
    env: Mapping[str, object] | None = None,
    chdir: str | None = None,
    become: bool = False,
    become_user: str | None = None,
    executable: str = "/bin/sh",
) -> str:
    """The one command line sent to the host for a shell snippet.

    >>> build_command("ls", chdir="/srv", env={"X": "1"})
    "/bin/sh -c 'export X=1; cd /srv && ls'"
    """
    body = script
    if chdir:
        body = f"cd {shlex.quote(chdir)} && {body}"
    body = env_prefix(env) + body
    if become:
        return become_wrap(body, become_user, executable)
    return f"{executable} -c {shlex.quote(body)}"
