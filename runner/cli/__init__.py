"""The command line: ``main`` (the console script's one error -> exit-code boundary),
the ``runner`` click group, and one module per command beside it."""

from runner.cli.app import cli, main
from runner.cli.status import ExitStatus, exit_status_for

__all__ = ["ExitStatus", "cli", "exit_status_for", "main"]
