"""Everything a command takes from the world outside it, in one injectable value (as
httpie's ``Environment``): the standard streams, the environment variables, the consoles
made on them, how the operator is asked for a secret, Ctrl-C, and the secrets taken from
the environment at start. Tests build one with StringIO streams and run commands in
process, reading what was printed."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from runner.config import Secrets
from runner.errors import ConfigError

if TYPE_CHECKING:
    from runner.output.console import Console

Prompt = Callable[[str], str]


def _terminal_prompt(text: str) -> str:
    import click

    return str(click.prompt(text, hide_input=True, err=True, default="", show_default=False))


@dataclass
class Environment:
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: MutableMapping[str, str] = field(default_factory=lambda: os.environ)
    secrets: Secrets = field(default_factory=Secrets)
    interrupts: Any = None  # runner.entry.Interrupts: register(handler, before_notice=)
    prompt: Prompt = _terminal_prompt  # asks with hidden input; only when stdin_isatty
    stdin_isatty: Callable[[], bool] | None = None
    cwd: str | None = None  # the folder the command runs in (None: this process's)

    def console(self, *, stderr: bool = False) -> Console:
        """A rich console on stdout or stderr (runner.output.console.make_console)."""
        from runner.output.console import make_console

        return make_console(self.stderr if stderr else self.stdout, environ=self.environ)

    def getcwd(self) -> str:
        """The current folder (where ./ansible.cfg is looked for)."""
        return self.cwd or os.getcwd()

    def home(self) -> str:
        """The operator's home folder: HOME from this Environment, else the user's."""
        home = self.environ.get("HOME")
        if home:
            return home
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir

    def is_interactive(self) -> bool:
        if self.stdin_isatty is not None:
            return self.stdin_isatty()
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def ask_secret(self, text: str, env_name: str) -> str:
        """Ask the operator for a secret (hidden input); ConfigError when nobody can answer."""
        if not self.is_interactive():
            raise ConfigError(f"{text} requested but stdin is not a terminal; set {env_name}")
        return self.prompt(text)

    def on_interrupt(
        self, handler: Callable[[], None], *, before_notice: bool = False
    ) -> Callable[[], None]:
        """Call ``handler`` on the first Ctrl-C; returns the function that unregisters it.
        ``before_notice``: call it before the "press Ctrl-C again" notice is printed (to
        take a live view off the screen first)."""
        if self.interrupts is None:
            return lambda: None
        unregister: Callable[[], None] = self.interrupts.register(
            handler, before_notice=before_notice
        )
        return unregister


__all__ = ["Environment", "Prompt"]
