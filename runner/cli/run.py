"""``runner run``: one command on every host a pattern selects."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from runner.cli.environment import Environment
from runner.cli.execute import (
    check_connections,
    check_out_dir,
    choose_hosts,
    execute_host_job,
    print_host_list,
)
from runner.cli.options import (
    configure,
    configure_logging,
    connection_options,
    host_job_options,
    output_options,
    parse_env,
    read_input_file,
)
from runner.cli.rerun import rerun_option, title_of

QUOTE_HINT = (
    "quote the command (runner run PATTERN 'ls -la /tmp') or put it after --: "
    "runner run PATTERN -- ls -la /tmp"
)


class RunCommandLine(click.Command):
    """``runner run``'s parsing: words after ``--`` are the command, joined with spaces
    as ssh joins them (``-- ls -la`` runs ``ls -la``); an unquoted command with an option
    in it gets a hint to quote it or use ``--`` instead of click's bare complaint."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["runner.dashdash"] = "--" in args
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            raise click.UsageError(
                f"{exc.format_message()}\n  hint: if it is the command's, {QUOTE_HINT}", ctx
            ) from exc


def command_text(words: tuple[str, ...], after_dashdash: bool) -> str:
    """The command from its words: one word as given, words after ``--`` joined with
    spaces (as ssh does); several words without ``--`` are a usage error, not a command
    cut to its first word.

    >>> command_text(("ls", "-la", "/tmp"), True), command_text(("echo a; echo b",), False)
    ('ls -la /tmp', 'echo a; echo b')
    """
    if len(words) > 1 and not after_dashdash:
        raise click.UsageError(
            f"COMMAND is one argument, got {len(words)}: {' '.join(words)!r}\n  hint: {QUOTE_HINT}"
        )
    return " ".join(words)


def command_options(func: Callable) -> Callable:
    """How `runner run` runs its command on each host."""
    options = [
        click.option(
            "--pty",
            is_flag=True,
            help="Request a terminal (some sudo setups need one); "
            "a timeout or Ctrl-C then hangs it up (SIGHUP). Output arrives as one stream.",
        ),
        click.option(
            "--env",
            "env_vars",
            multiple=True,
            metavar="K=V",
            help="Environment variable for the command (repeatable).",
        ),
        click.option("--chdir", metavar="DIR", help="Run the command in DIR."),
        click.option(
            "--stdin-file",
            type=click.Path(dir_okay=False, exists=True),
            metavar="FILE",
            help="Send FILE to the command's standard input on every host.",
        ),
        click.option(
            "--script",
            type=click.Path(dir_okay=False, exists=True),
            metavar="FILE",
            help="Upload FILE (SFTP, a fresh temp path), run it (COMMAND, if given, are its "
            "arguments) and remove it.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def module_options(func: Callable) -> Callable:
    """``-m MODULE -a ARGS``: a module of ``runner play`` as a one-task play."""
    options = [
        click.option(
            "-m",
            "--module-name",
            "module_name",
            metavar="MODULE",
            help="Run MODULE (any module runner play supports: file, copy, shell...) "
            "instead of COMMAND [default with -a: command].",
        ),
        click.option(
            "-a",
            "--args",
            "module_args",
            metavar="ARGS",
            help="The module's arguments: 'key=value ...' (Ansible's quoting), a JSON "
            "object, or the command line of shell/command/raw/script.",
        ),
        click.option(
            "-C",
            "--check",
            is_flag=True,
            help="With -m: change nothing, report what would change.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("run", cls=RunCommandLine)
@click.argument("pattern")
@click.argument("command_words", metavar="[COMMAND]...", nargs=-1)
@connection_options
@command_options
@host_job_options
@rerun_option
@output_options
@click.option(
    "--procs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Worker processes, each with its own pool (default: 1, or one per core above "
    "1,000 hosts).",
)
@click.option(
    "--cluster",
    metavar="URL",
    default=None,
    help="Run on the Celery workers of each host's zone (runner_zone), Redis at URL "
    "(env RUNNER_CLUSTER, [runner] cluster; needs runner[cluster]).",
)
@click.option(
    "--diff",
    is_flag=True,
    help="Show each output group as a unified diff of its stdout against the largest "
    "group of the lowest exit code "
    "(no effect with -q, --json or --stream). With -m: the diff copy/template make.",
)
@module_options
@click.pass_obj
def run_command(
    env: Environment, pattern: str, command_words: tuple[str, ...], **params: Any
) -> int:
    """Run COMMAND on every host PATTERN selects (all, a group, a host, 'web:&prod'...).

    COMMAND is one quoted argument, or the words after --, joined with spaces as ssh
    joins them ('runner run web -- ls -la /tmp'). It runs through the remote login shell
    and is a Jinja2 template rendered per host: 'echo {{ inventory_hostname }}'.

    Or run a module of runner play instead, as ansible -m does:
    'runner run web -m file -a "path=/srv/app state=directory"'.
    """
    from runner.engine.command import CommandJob

    ctx = click.get_current_context()
    command = command_text(command_words, bool(ctx.meta.get("runner.dashdash")))
    adhoc = params["module_name"] is not None or params["module_args"] is not None
    if adhoc:
        check_module_usage(command, params)
    elif params["check"]:
        raise click.UsageError("--check needs -m MODULE: a COMMAND cannot be dry-run")
    config, vault = configure(params, env)
    if params["diff"] and not adhoc:
        config = replace(config, output=replace(config.output, diff=True))
    configure_logging(config.output.verbose, env.stderr)
    if adhoc:
        return run_module(env, config, pattern, params, vault)
    if params["list_hosts"]:
        return print_host_list(env, *choose_hosts(env, config, pattern, params["rerun"], vault))
    if not command and not params["script"]:
        raise click.UsageError("give a COMMAND, or --script FILE")
    hosts, notices = choose_hosts(env, config, pattern, params["rerun"], vault)
    check_connections(hosts)
    check_out_dir(config, hosts)
    script = params["script"]
    job = CommandJob(
        command=command,
        env=parse_env(params["env_vars"] or ()),
        chdir=params["chdir"],
        pty=bool(params["pty"]),
        stdin=read_input_file(params["stdin_file"], "--stdin-file"),
        script=read_input_file(script, "--script"),
        script_name=os.path.basename(script) if script else "script",
    )
    words = [pattern, *(["--script", script] if script else []), *([command] if command else [])]
    title = title_of("run", params["rerun"], *words)
    return execute_host_job(
        env, config, hosts, job, params, title=title, notices=notices, vault=vault
    )


def check_module_usage(command: str, params: dict[str, Any]) -> None:
    """-m/-a replace COMMAND and the options that only a COMMAND has (usage errors)."""
    if command:
        raise click.UsageError(
            f"give COMMAND or -m/-a, not both (COMMAND is {command!r})\n"
            "  hint: runner run PATTERN -m shell -a 'COMMAND' runs COMMAND as a module"
        )
    for name, option, instead in (
        ("script", "--script", "-m script -a 'FILE ARGS...'"),
        ("stdin_file", "--stdin-file", "-a 'stdin=TEXT' of shell or command"),
        ("chdir", "--chdir", "-a '... chdir=DIR' of shell, command or script"),
    ):
        if params[name]:
            raise click.UsageError(f"{option} cannot be combined with -m/-a; use {instead}")


def run_module(
    env: Environment, config: Any, pattern: str, params: dict[str, Any], vault: Any = None
) -> int:
    """``-m MODULE -a ARGS``: the module and its arguments checked before anything
    connects (exit 1 naming what is wrong), then one task on every host."""
    from runner.playbook.adhoc import ModuleJob
    from runner.playbook.adhoc_args import module_args, module_name
    from runner.playbook.bridge import bridge_for

    base_dir = os.getcwd()
    bridge = bridge_for(config.project)
    module = module_name(params["module_name"] or "command", bridge, base_dir)
    args = module_args(module, params["module_args"], base_dir, bridge)
    hosts, notices = choose_hosts(env, config, pattern, params["rerun"], vault)
    if params["list_hosts"]:
        return print_host_list(env, hosts, notices)
    check_connections(hosts)
    check_out_dir(config, hosts)
    job = ModuleJob(
        module,
        args,
        check_mode=bool(params["check"]),
        diff=bool(params["diff"]),
        env=parse_env(params["env_vars"] or ()),
        pty=bool(params["pty"]),
        base_dir=base_dir,
    )
    words = [
        pattern,
        "-m",
        module,
        *(["-a", params["module_args"]] if params["module_args"] else []),
    ]
    title = title_of("run", params["rerun"], *words)
    return execute_host_job(
        env, config, hosts, job, params, title=title, notices=notices, vault=vault
    )
