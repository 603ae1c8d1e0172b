"""The `runner` group and the single place where errors become exit codes.

The commands live in their own modules beside this one (run, play, inventory, transfer,
worker), imported only when used; the CLI is the one layer that knows every other. Each
command gets the Environment (runner.cli.environment) as its click ``obj``.

Shell completion is click's: ``_RUNNER_COMPLETE=bash_source runner`` (or zsh_source,
fish_source) prints the script; the lazy commands are listed and completed like the others.

Exit codes are bit flags: 2 some host failed, 4 some host unreachable (6 both), 1 invalid
input found before any connection, 5 invalid command-line usage, 130 interrupted
(runner.cli.status).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

import click

from runner import __version__
from runner.cli.environment import Environment
from runner.cli.status import ExitStatus
from runner.errors import RunnerError


class OutputClosed(Exception):
    """Whoever read our stdout went away (`runner ... | head`)."""


class LazyGroup(click.Group):
    """A click group whose listed commands may be "module:attribute" strings, imported on
    first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def invoke(self, ctx: click.Context) -> Any:
        # click answers an EPIPE by exiting with 1 before main() can see it (even with
        # standalone_mode=False): hand it over as our own exception instead.
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise OutputClosed() from exc

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            import importlib

            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="runner")
def cli() -> None:
    """runner: run commands and playbooks on many hosts at once, over SSH."""


# Commands in their own modules are imported only when used, so `runner run` does not pay
# for the playbook engine or the inventory exporter at start-up.
cli.lazy_commands.update(
    {
        "run": "runner.cli.run:run_command",
        "_worker": "runner.cli.worker:worker_command",
        "keeper": "runner.cli.keeper:keeper_group",
        "_keeper": "runner.cli.keeper:keeper_daemon",
        "worker": "runner.cli.cluster:worker_command",
        "attach": "runner.cli.cluster:attach_command",
        "inventory": "runner.cli.inventory:inventory_command",
        "play": "runner.cli.play:play_command",
        "copy": "runner.cli.transfer:copy_command",
        "fetch": "runner.cli.transfer:fetch_command",
        "config": "runner.cli.config_cmd:config_command",
    }
)


# -- the one error -> exit-code boundary ----------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    *,
    interrupts: Any = None,
    env: Environment | None = None,
) -> int:
    """Run the CLI and return its exit code; every error is mapped here and only here.

    ``env`` (default: this process's streams and environment) is what the commands read
    and write. The secret variables (runner.config) are taken out of its environment
    before any command runs, so no child can inherit them."""
    from runner.config import take_secrets

    env = env or Environment()
    if interrupts is not None:
        env.interrupts = interrupts
    env.secrets = take_secrets(env.environ)
    args = list(sys.argv[1:] if argv is None else argv)
    stderr = env.stderr
    try:
        code = cli.main(args=args, prog_name="runner", standalone_mode=False, obj=env)
        return int(code) if isinstance(code, int) else int(ExitStatus.OK)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:  # click's shell completion (_RUNNER_COMPLETE=...) ends so
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except click.ClickException as exc:  # usage errors included
        exc.show(file=stderr)
        return int(ExitStatus.USAGE)
    except click.Abort:
        stderr.write("aborted\n")
        return int(ExitStatus.INTERRUPTED)
    except KeyboardInterrupt:
        stderr.write("interrupted\n")
        return int(ExitStatus.INTERRUPTED)
    except RunnerError as exc:  # InputError and everything else raised on purpose
        print_error(exc, stderr)
        return int(ExitStatus.INPUT_ERROR)
    except (BrokenPipeError, OutputClosed):
        _silence_broken_pipe(env.stdout)
        return int(ExitStatus.OK)


def print_error(exc: RunnerError, stderr: IO[str]) -> None:
    """``runner: error: FILE:LINE: what`` and the hint. An error can quote an inventory or
    a host: on a terminal its controls show escaped."""
    from runner.output.controls import escape_controls, is_terminal_file

    show = escape_controls if is_terminal_file(stderr) else str
    stderr.write(f"runner: error: {show(str(exc))}\n")
    if exc.hint:
        stderr.write(f"  hint: {show(str(exc.hint))}\n")


def _silence_broken_pipe(stdout: IO[str]) -> None:
    """`runner ... | head` closed our stdout: exit quietly like other Unix tools."""
    from runner.output.console import to_devnull

    try:
        to_devnull(stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


__all__ = ["cli", "main", "print_error"]
