"""The command line: the `runner` group and the single place where errors become exit
codes. The commands live in cli_run, cli_play, cli_inventory and cli_transfer (imported
only when used) and share cli_common; together they are the one layer that knows every
other.

Exit codes are bit flags: 2 some host failed, 4 some host unreachable (6 both), 1 invalid
input found before any connection, 5 invalid command-line usage, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence
from typing import IO, Any

import click

from runner import __version__
from runner.cli_common import AppContext, ExitStatus, exit_status_for
from runner.errors import InputError, RunnerError


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
        "run": "runner.cli_run:run_command",
        "_worker": "runner.cli_run:worker_command",
        "inventory": "runner.cli_inventory:inventory_command",
        "play": "runner.cli_play:play_command",
        "copy": "runner.cli_transfer:copy_command",
        "fetch": "runner.cli_transfer:fetch_command",
    }
)


# -- the one error -> exit-code boundary ----------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    *,
    interrupts: Any = None,
    environ: MutableMapping[str, str] | None = None,
) -> int:
    """Run the CLI and return its exit code; every error is mapped here and only here.

    The secret variables (runner.credentials) are taken out of ``environ`` (default: this
    process's environment) before any command runs, so no child can inherit them."""
    from runner.credentials import take_secrets

    args = list(sys.argv[1:] if argv is None else argv)
    secrets = take_secrets(os.environ if environ is None else environ)
    try:
        code = cli.main(
            args=args,
            prog_name="runner",
            standalone_mode=False,
            obj=AppContext(interrupts=interrupts, secrets=secrets),
        )
        return code if isinstance(code, int) else ExitStatus.OK
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        exc.show(file=sys.stderr)
        return ExitStatus.USAGE
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        return ExitStatus.USAGE
    except click.Abort:
        sys.stderr.write("aborted\n")
        return ExitStatus.INTERRUPTED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return ExitStatus.INTERRUPTED
    except InputError as exc:
        _print_error(exc)
        return ExitStatus.INPUT_ERROR
    except RunnerError as exc:
        _print_error(exc)
        return ExitStatus.INPUT_ERROR
    except (BrokenPipeError, OutputClosed):
        _silence_broken_pipe()
        return ExitStatus.OK


def _print_error(exc: RunnerError, stderr: IO[str] | None = None) -> None:
    """An error can quote an inventory or a host: on a terminal its controls show escaped."""
    from runner.output.controls import escape_controls, is_terminal_file

    stderr = stderr or sys.stderr
    show = escape_controls if is_terminal_file(stderr) else str
    stderr.write(f"runner: error: {show(str(exc))}\n")
    if exc.hint:
        stderr.write(f"  hint: {show(str(exc.hint))}\n")


def _silence_broken_pipe() -> None:
    """`runner ... | head` closed our stdout: exit quietly like other Unix tools."""
    from runner.output.console import to_devnull

    try:
        to_devnull(sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["main", "cli", "ExitStatus", "exit_status_for"]
