"""Privilege escalation (sudo): the one place that builds a sudo command line, and the
small state machine that answers sudo's password prompt on a running command.

Pure text and bytes: no I/O, no paramiko. A transport runs ``become_command(...)`` and
feeds the command's output through a ``BecomeSession``, which hides sudo's prompt, says
when to send the password (never on a command line, so it shows in no process listing)
and tells apart "sudo refused" from "the command ran and failed".

How a run goes: sudo prints our prompt (a nonce-tagged string no command prints by
chance); we answer it once; the wrapped shell prints ``BECOME-SUCCESS-<nonce>`` before
the user's command, so everything before that line is sudo talking and everything after
it is the command's output. A second prompt means the password was wrong: the session
fails at once instead of waiting for sudo's retries.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.become_prompts import su_prompts, without_su_prompts
from runner.config import BecomeConfig
from runner.errors import BecomeError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE = ("1", "true", "yes", "on", "y", "t")  # Ansible's boolean()


@dataclass(frozen=True)
class Become:
    """Run commands as ``user`` (root when None) through sudo, with ``password`` if given.

    The password never shows in ``repr`` (and so in no log line or event).

    >>> Become("postgres", "s3cret")
    Become(user='postgres', password=<set>)
    """

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    method: str = "sudo"  # or "su" (BECOME_METHODS)
    flags: str | None = None  # become_flags: instead of the method's default flags
    exe: str | None = None  # become_exe: the program (default: the method's name)

    def __repr__(self) -> str:
        extra = "" if self.method == "sudo" else f", method={self.method!r}"
        return f"Become(user={self.user!r}, password={'<set>' if self.password else None}{extra})"

    @property
    def needs_pty(self) -> bool:
        """su reads a password from its terminal only (sudo has -S)."""
        return self.method == "su" and self.password is not None

    @property
    def target(self) -> str:
        return self.user or "root"


BECOME_VARIABLES = {
    "enabled": ("ansible_become",),
    "user": ("ansible_become_user",),
    "password": ("ansible_become_password", "ansible_become_pass"),
    "method": ("ansible_become_method",),
    "flags": ("ansible_become_flags",),
    "exe": ("ansible_become_exe",),
}

#: The become methods runner implements.
BECOME_METHODS = ("sudo", "su")


def resolve_become(
    host_vars: Mapping[str, Any],
    *,
    enabled: bool = False,
    user: str | None = None,
    password: str | None = None,
    keyword: bool | None = None,
    keyword_user: str | None = None,
    origins: Mapping[str, str] | None = None,
    keyword_method: Any = None,
    keyword_flags: Any = None,
    keyword_exe: Any = None,
) -> tuple[Become | None, dict[str, str]]:
    """Whether and how a host escalates, and where each of the three answers came from.
    The one become precedence of run, copy, fetch and play (Ansible's), highest first:

    1. connection variables, wherever set (inventory, ``-e``, play/task ``vars``):
       ``ansible_become``, ``ansible_become_user``, ``ansible_become_password`` /
       ``ansible_become_pass``;
    2. the playbook keywords ``become`` / ``become_user`` (``keyword``, ``keyword_user``:
       the task's effective ones, already rendered; None: not set);
    3. the command line: ``-b`` (``enabled``), ``--become-user`` (``user``), ``-K`` or
       RUNNER_BECOME_PASSWORD (``password``);
    4. defaults: no become, user root.

    ``origins`` (BecomeConfig.origins) names where ``enabled`` and ``user`` came from
    when not from the command line (ansible.cfg ``[privilege_escalation]``, ANSIBLE_BECOME*).

    >>> resolve_become({"ansible_become": "no"}, enabled=True)
    (None, {'enabled': 'inventory: ansible_become'})
    >>> resolve_become({"ansible_become_user": "pg"}, enabled=True, user="app")[0]
    Become(user='pg', password=None)
    >>> resolve_become({}, enabled=True, keyword=False, password="pw")[0] is None
    True
    """
    sources: dict[str, str] = {}
    origins = origins or {}
    on, sources["enabled"] = _pick(
        host_vars,
        "enabled",
        (keyword, "keyword: become"),
        (enabled or None, origins.get("enabled", "command line: -b")),
    )
    on = _truthy(on)
    if not on:
        return None, sources
    target, sources["user"] = _pick(
        host_vars,
        "user",
        (keyword_user, "keyword: become_user"),
        (user, origins.get("user", "command line: --become-user")),
    )
    secret, sources["password"] = _pick(host_vars, "password", (password, "command line: -K"))
    method, sources["method"] = _pick(host_vars, "method", (keyword_method, "keyword"))
    flags, _ = _pick(host_vars, "flags", (keyword_flags, "keyword"))
    exe, _ = _pick(host_vars, "exe", (keyword_exe, "keyword"))
    method = str(method or "sudo")
    if method not in BECOME_METHODS:
        raise BecomeError(
            f"become_method {method!r} ({sources['method']}) is not supported",
            hint="use become_method sudo or su",
        )
    found = Become(
        _str_or_none(target), _str_or_none(secret), method, _str_or_none(flags), _str_or_none(exe)
    )
    return found, sources


def _pick(host_vars: Mapping[str, Any], setting: str, *below: tuple[Any, str]) -> tuple[Any, str]:
    """The connection variable for ``setting`` if one is set, else the first of ``below``
    that is not None, else (None, "default")."""
    for name in BECOME_VARIABLES[setting]:
        value = host_vars.get(name)
        if value not in (None, ""):
            return value, f"inventory: {name}"
    for value, source in below:
        if value is not None and value != "":
            return value, source
    return None, "default"


def host_become(
    host_vars: Mapping[str, Any], defaults: BecomeConfig, password: str | None
) -> Become | None:
    """Whether and how one host escalates for ``run``, ``copy`` and ``fetch``: the host's
    ``ansible_become*`` variables over the run's become options (``-b``,
    ``--become-user``; ``password`` from -K or RUNNER_BECOME_PASSWORD); see resolve_become.

    >>> host_become({"ansible_become": "yes"}, BecomeConfig(), None)
    Become(user=None, password=None)
    >>> host_become({}, BecomeConfig(enabled=True, user="app"), "pw")
    Become(user='app', password=<set>)
    >>> host_become({"ansible_become": False}, BecomeConfig(enabled=True), "pw") is None
    True
    """
    return resolve_become(
        host_vars, enabled=defaults.enabled, user=defaults.user, password=password
    )[0]


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE if value is not None else False


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def new_nonce() -> str:
    return secrets.token_hex(8)


def prompt_text(nonce: str) -> str:
    """The prompt sudo is told to print: unmistakable, so it can be found and hidden."""
    return f"[sudo via runner {nonce}] password: "


def success_marker(nonce: str) -> str:
    return f"BECOME-SUCCESS-{nonce}"


def become_wrap(
    command: str,
    user: str | None,
    executable: str = "/bin/sh",
    *,
    password: bool = False,
    pty: bool = False,
    nonce: str | None = None,
    method: str = "sudo",
    flags: str | None = None,
    exe: str | None = None,
) -> str:
    """``command`` (shell text) run as ``user`` through sudo (or su). The only become
    command line runner builds.

    Without ``password``, ``sudo -n`` fails at once when a password is needed instead of
    waiting for one. With ``password`` sudo prints a tagged prompt (on stderr with ``-S``,
    on the terminal with a pty) that the transport answers. With a ``nonce`` the shell
    first prints a success marker, so sudo's own words are told apart from the output.
    ``flags`` (become_flags) replace sudo's ``-H -S -n`` (``-n`` is dropped when a
    password is given, as Ansible does); ``exe`` (become_exe) replaces the program.
    su runs ``su [FLAGS] USER -c 'SHELL -c BODY'`` (its prompt comes on the terminal).

    >>> become_wrap("id -u", None)
    "sudo -H -S -n -u root -- /bin/sh -c 'id -u'"
    >>> become_wrap("id -u", "app", password=True, nonce="ab12")
    "sudo -H -S -p '[sudo via runner ab12] password: ' -u app -- /bin/sh -c 'echo BECOME-SUCCESS-ab12; id -u'"
    >>> become_wrap("id", None, password=True, pty=True, nonce="ab12")
    "sudo -H -p '[sudo via runner ab12] password: ' -u root -- /bin/sh -c 'echo BECOME-SUCCESS-ab12; id'"
    >>> become_wrap("id", "app", flags="-E -n", exe="/usr/local/bin/sudo")
    '/usr/local/bin/sudo -E -n -u app -- /bin/sh -c id'
    >>> print(become_wrap("id", "app", method="su", flags="-l", nonce="ab12"))
    su -l app -c '/bin/sh -c '"'"'echo BECOME-SUCCESS-ab12; id'"'"''
    """
    body = f"echo {success_marker(nonce)}; {command}" if nonce else command
    target = shlex.quote(user or "root")
    if method == "su":
        inner = f"{executable} -c {shlex.quote(body)}"
        words = [exe or "su", *([flags] if flags else []), target, "-c", shlex.quote(inner)]
        return " ".join(words)
    if flags is not None:
        given = flags.split()
        if password:
            given = [f for f in given if f != "-n"]
        chosen = " ".join(given)
    else:
        chosen = "-H" if password and pty else "-H -S" if password else "-H -S -n"
    if password:
        if nonce is None:
            raise ValueError("a become password needs a nonce to find sudo's prompt")
        chosen += f" -p {shlex.quote(prompt_text(nonce))}"
    program = " ".join(part for part in (exe or "sudo", chosen) if part)
    return f"{program} -u {target} -- {executable} -c {shlex.quote(body)}"


def env_prefix(env: Mapping[str, object] | None) -> str:
    """``export`` statements for a command's environment (works whatever the server's
    AcceptEnv says; inside sudo, so sudo's env_reset does not drop them).

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


def shell_body(
    command: str, *, env: Mapping[str, object] | None = None, chdir: str | None = None
) -> str:
    """The command with its environment and working directory, as one shell snippet.

    >>> shell_body("ls", chdir="/srv", env={"X": "1"})
    'export X=1; cd /srv && ls'
    """
    body = command
    if chdir:
        body = f"cd {shlex.quote(chdir)} && {body}"
    return env_prefix(env) + body


class BecomeSession:
    """Follows one sudo-wrapped command's output until the success marker.

    ``feed(stream, data)`` returns the bytes that belong to the command's output (sudo's
    prompt and the marker removed). ``reply()`` returns what to send to the remote stdin
    now (the password, once, when the prompt appeared). Raises BecomeError when sudo
    asks twice (wrong password) or asks although no password was given. ``finish()``
    at the end of the command raises BecomeError when sudo never ran the command.
    """

    def __init__(self, become: Become, nonce: str, *, pty: bool = False, host: str | None = None):
        self.become = become
        self.pty = pty
        self.host = host
        self.prompt = prompt_text(nonce).encode()
        self.su = become.method == "su"
        self.marker = success_marker(nonce).encode()
        self.started = False  # the marker was seen: sudo is done
        self._out = b""  # stdout before the marker
        self._err = b""  # stderr before the marker
        self._prompts = 0
        self._answered = 0

    def feed(self, stream: str, data: bytes) -> bytes:
        if self.started:
            return data
        if stream == "stderr":
            self._err += data
            if not self.pty:
                self._check_prompts(self._err)
            return b""
        self._out += data
        if self.pty:
            self._check_prompts(self._out)
        index = self._out.find(self.marker)
        if index < 0:
            return b""
        end = self._out.find(b"\n", index)
        if end < 0:
            return b""  # the rest of the marker line is still on its way
        self.started = True
        rest, self._out = self._out[end + 1 :], b""
        if self.pty:
            self._err = b""
            return rest
        return rest

    def held_stderr(self) -> bytes:
        """Stderr that arrived before the marker, minus sudo's prompt (handed over once)."""
        err, self._err = self._err, b""
        return err.replace(self.prompt, b"")

    def _count(self, buffer: bytes) -> int:
        if self.su:
            return su_prompts(buffer)
        return buffer.count(self.prompt)

    def _check_prompts(self, buffer: bytes) -> None:
        self._prompts = self._count(buffer)
        if self._prompts > 1:
            raise BecomeError(
                f"{self.become.method}: incorrect password for {self.become.target}",
                host=self.host,
                hint="check -K / RUNNER_BECOME_PASSWORD / ansible_become_password",
            )

    def reply(self) -> bytes:
        """What to type now: the password once sudo asked for it, else nothing."""
        if self._prompts > self._answered:
            self._answered = self._prompts
            if self.become.password is None:
                raise BecomeError(
                    f"{self.become.method} asked for a password to become {self.become.target}",
                    host=self.host,
                    hint="give it with -K/--ask-become-pass or RUNNER_BECOME_PASSWORD",
                )
            return self.become.password.encode() + b"\n"
        return b""

    def finish(self, exit_code: int) -> None:
        """The command ended: raise BecomeError when sudo itself refused."""
        if self.started:
            return
        said = (self._err + b"\n" + self._out).replace(self.prompt, b"")
        if self.su:
            said = without_su_prompts(said)
        text = said.decode("utf-8", errors="replace").strip()
        text = " ".join(line.strip() for line in text.splitlines() if line.strip())
        lowered = text.lower()
        if (
            "incorrect password" in lowered
            or "sorry, try again" in lowered
            or (self.su and "authentication failure" in lowered)
        ):
            message = f"{self.become.method}: incorrect password for {self.become.target}"
        elif "password is required" in lowered:
            message = f"{self.become.method}: a password is required to become {self.become.target}"
        elif text:
            method = self.become.method
            message = text if text.startswith(method) else f"{method} failed: {text}"
        else:
            message = f"{self.become.method} failed (exit code {exit_code})"
        raise BecomeError(message[:500], host=self.host)


__all__ = [
    "Become",
    "BecomeSession",
    "host_become",
    "resolve_become",
    "become_wrap",
    "env_prefix",
    "new_nonce",
    "shell_body",
]
