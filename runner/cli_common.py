"""What the commands share: exit codes, the app context, the connection and output
options, and the building blocks that turn options into a transport factory, hosts and
renderers. The commands themselves live in cli_run, cli_play, cli_inventory and
cli_transfer; runner.cli holds the group and the one error -> exit-code boundary."""

from __future__ import annotations

import enum
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from runner.credentials import BECOME_PASSWORD, SSH_PASSWORD, Secrets
from runner.errors import ConfigError


class ExitStatus(enum.IntEnum):
    OK = 0
    INPUT_ERROR = 1
    FAILED = 2
    UNREACHABLE = 4
    FAILED_AND_UNREACHABLE = 6
    USAGE = 5
    INTERRUPTED = 130


def exit_status_for(any_failed: bool, any_unreachable: bool, interrupted: bool) -> int:
    """Exit code of a finished run.

    >>> exit_status_for(True, True, False), exit_status_for(False, False, True)
    (6, 130)
    """
    if interrupted:
        return ExitStatus.INTERRUPTED
    return (ExitStatus.FAILED if any_failed else 0) | (
        ExitStatus.UNREACHABLE if any_unreachable else 0
    )


@dataclass
class AppContext:
    """What the entry point hands to every command (nothing global). ``secrets`` were
    taken out of the environment by runner.cli.main before any command ran."""

    interrupts: Any = None  # runner.entry.Interrupts
    secrets: Secrets = field(default_factory=Secrets)


def app_secrets(ctx: click.Context) -> Secrets:
    """The secrets the entry point took from the environment (none outside main())."""
    app = ctx.find_object(AppContext)
    return app.secrets if app is not None else Secrets()


# -- shared options --------------------------------------------------------------------

HOST_KEY_CHOICES = ("strict", "accept-new", "off")


def connection_options(func: Callable) -> Callable:
    """Inventory, connection and concurrency options shared by run/play/copy/fetch."""
    options = [
        click.option(
            "-i",
            "--inventory",
            "inventories",
            multiple=True,
            envvar="RUNNER_INVENTORY",
            metavar="PATH",
            help="Inventory file, directory, script or inline list 'h1,h2:2222,' "
            "(repeatable; env RUNNER_INVENTORY).",
        ),
        click.option(
            "-e",
            "--extra-vars",
            "extra_vars",
            multiple=True,
            metavar="K=V|@FILE",
            help="Extra variables, highest precedence (repeatable).",
        ),
        click.option(
            "-f",
            "--forks",
            type=click.IntRange(min=1),
            default=100,
            show_default=True,
            help="Hosts worked on at once (lowered to fit the open-file limit).",
        ),
        click.option(
            "-u", "--user", help="Remote user (wins over ansible_user and ssh_config User)."
        ),
        click.option(
            "--private-key",
            "private_key",
            type=click.Path(dir_okay=False),
            metavar="PATH",
            help="Private key file (wins over ansible_ssh_private_key_file and ssh_config); "
            "an encrypted key's passphrase is asked once (or RUNNER_KEY_PASSPHRASE).",
        ),
        click.option(
            "-k",
            "--ask-pass",
            is_flag=True,
            help="Ask once for the SSH password (or set RUNNER_SSH_PASSWORD).",
        ),
        click.option(
            "--connect-timeout",
            type=click.FloatRange(min=0.1),
            default=None,
            metavar="S",
            help="Seconds to connect and authenticate [default: ssh_config ConnectTimeout, "
            "else 10].",
        ),
        click.option(
            "-t",
            "--timeout",
            type=click.FloatRange(min=0.01),
            default=None,
            metavar="S",
            help="Per-host command timeout in seconds.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Extra connection attempts on transient connect errors (commands never re-run).",
        ),
        click.option(
            "--host-key-checking",
            type=click.Choice(HOST_KEY_CHOICES),
            default=None,
            help="strict: only known keys; accept-new: record unknown keys, refuse changed "
            "ones; off: no checking (insecure) [default: ssh_config StrictHostKeyChecking, "
            "else accept-new].",
        ),
        click.option(
            "--known-hosts",
            type=click.Path(dir_okay=False),
            default=None,
            metavar="PATH",
            help="known_hosts file [default: ssh_config UserKnownHostsFile, else "
            "~/.ssh/known_hosts].",
        ),
        click.option(
            "-F",
            "--ssh-config",
            "ssh_config",
            type=click.Path(dir_okay=False),
            metavar="PATH",
            help="ssh_config file to read ('none': none) [default: ~/.ssh/config if present].",
        ),
        click.option(
            "-J",
            "--jump",
            metavar="[USER@]HOST[:PORT][,...]",
            help="Jump host(s) (ProxyJump; 'none' to ignore the inventory's and ssh_config's). "
            "Hosts behind one bastion share one connection to it.",
        ),
        click.option(
            "--keepalive",
            type=click.FloatRange(min=0.1),
            default=None,
            metavar="S",
            help="Send a keepalive every S seconds; 3 unanswered end the connection "
            "[default: ssh_config ServerAliveInterval, else off].",
        ),
        click.option(
            "-b", "--become", is_flag=True, help="Run as another user through sudo (root)."
        ),
        click.option(
            "--become-user",
            metavar="USER",
            help="User to become (implies nothing without -b or ansible_become) [default: root].",
        ),
        click.option(
            "-K",
            "--ask-become-pass",
            is_flag=True,
            help="Ask once for the sudo password (or set RUNNER_BECOME_PASSWORD).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def output_options(func: Callable) -> Callable:
    """How results are shown and kept."""
    options = [
        click.option("--stream", is_flag=True, help="Print lines as they arrive: 'host | line'."),
        click.option("--json", "json_lines", is_flag=True, help="JSON Lines on stdout."),
        click.option(
            "--out-dir",
            type=click.Path(file_okay=False),
            metavar="DIR",
            help="Keep each host's whole output in DIR/HOST.stdout|.stderr|.json.",
        ),
        click.option(
            "--junit",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="Write a JUnit XML report.",
        ),
        click.option(
            "--max-output",
            type=click.IntRange(min=0),
            default=1 << 20,
            show_default=True,
            metavar="BYTES",
            help="Output kept in memory per stream and host.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Only failures and the summary."),
        click.option("-v", "--verbose", count=True, help="More detail (repeat for debug logs)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# -- building blocks shared by commands ----------------------------------------------


def parse_extra_vars(values: Sequence[str]) -> dict[str, Any]:
    from runner.inventory.extravars import parse_extra_vars as parse

    return parse(values)


def load_hosts(inventories: Sequence[str], pattern: str, extra_vars: Mapping[str, Any]):
    """Inventory -> the hosts a pattern selects (InputError before any connection)."""
    from runner.inventory import load_inventory

    inventory = load_inventory(list(inventories), extra_vars=extra_vars)
    return inventory, inventory.select(pattern)


def ask_password(given: str | None, ask: bool, env_name: str, prompt: str) -> str | None:
    """``given`` (taken from ``env_name``) when set, else asked on the terminal if ``ask``."""
    if given:
        return given
    if ask:
        if not sys.stdin.isatty():
            raise ConfigError(f"{prompt} requested but stdin is not a terminal; set {env_name}")
        return click.prompt(prompt, hide_input=True, err=True)
    return None


def resolve_secrets(opts: Mapping[str, Any], given: Secrets) -> Secrets:
    """The run's secrets: those taken from the environment, the SSH password asked once
    for -k and the become (sudo) password once for -K when the environment had none."""
    return Secrets(
        ssh_password=ask_password(
            given.ssh_password, bool(opts.get("ask_pass")), SSH_PASSWORD, "SSH password"
        ),
        become_password=ask_password(
            given.become_password,
            bool(opts.get("ask_become_pass")),
            BECOME_PASSWORD,
            "BECOME (sudo) password",
        ),
        key_passphrase=given.key_passphrase,
    )


def transport_factory(
    opts: Mapping[str, Any], secrets: Secrets, prompt: PassphrasePrompt | None = None
):
    """Host -> Transport: local for ansible_connection=local, SSH otherwise.

    The returned factory also has ``close()`` (closes shared bastion connections: call it
    when the run ends) and ``prepare(hosts)`` (loads the hosts' private keys before the
    run, asking ``prompt`` for an encrypted key's passphrase once).
    """
    from runner.transport.local import LocalTransport
    from runner.transport.ssh import SSHContext, SSHOptions

    private_key = opts.get("private_key")
    if private_key and not os.path.isfile(os.path.expanduser(private_key)):
        raise ConfigError(f"--private-key {private_key}: no such file")
    jump = opts.get("jump")
    if jump:
        from runner.transport.sshopts import parse_jump

        try:
            parse_jump(jump)
        except ValueError as exc:
            raise ConfigError(f"--jump: {exc}") from exc
    context = SSHContext(
        SSHOptions(
            user=opts.get("user"),
            password=secrets.ssh_password,
            private_key=private_key,
            connect_timeout=opts.get("connect_timeout"),
            host_key_checking=opts.get("host_key_checking"),
            known_hosts=opts.get("known_hosts"),
            jump=jump,
            keepalive=opts.get("keepalive"),
            ssh_config=opts.get("ssh_config"),
            key_passphrase=secrets.key_passphrase,
        ),
        ask_passphrase=prompt or PassphrasePrompt(),
    )

    def factory(host):
        if host.connection == "local":
            return LocalTransport(host)
        return context.transport(host)

    def prepare(hosts: Sequence[Any]) -> None:
        context.prepare([h for h in hosts if h.connection != "local"])

    factory.close = context.close  # type: ignore[attr-defined]
    factory.prepare = prepare  # type: ignore[attr-defined]
    factory.context = context  # type: ignore[attr-defined]
    return factory


class PassphrasePrompt:
    """Asks on the terminal for an encrypted key's passphrase (the keyring asks at most
    once per run) and keeps the answer, so --procs workers get it in their job."""

    def __init__(self) -> None:
        self.answer: str | None = None

    def __repr__(self) -> str:
        return f"PassphrasePrompt(answer={'<set>' if self.answer else None})"

    def __call__(self, path: str) -> str | None:
        if not sys.stdin.isatty():
            return None
        self.answer = (
            click.prompt(
                f"Passphrase for {path}", hide_input=True, err=True, default="", show_default=False
            )
            or None
        )
        return self.answer


def adhoc_transport_factory(
    opts: Mapping[str, Any], secrets: Secrets, prompt: PassphrasePrompt | None = None
):
    """transport_factory plus what `runner run` adds per host: --env, --chdir, --script and
    become (-b / --become-user / ansible_become*) with secrets.become_password (resolved
    once by the caller)."""
    from runner.transport.adhoc import AdhocOptions, adhoc_factory

    script = opts.get("script")
    data = None
    if script:
        try:
            with open(script, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ConfigError(f"--script {script}: {exc.strerror}") from exc
    options = AdhocOptions(
        env=parse_env(opts.get("env") or ()),
        chdir=opts.get("chdir"),
        become=bool(opts.get("become")),
        become_user=opts.get("become_user"),
        become_password=secrets.become_password,
        script=data,
        script_name=os.path.basename(script) if script else "script",
    )
    return adhoc_factory(transport_factory(opts, secrets, prompt), options)


def parse_env(values: Sequence[str]) -> dict[str, str]:
    """--env K=V values -> a dict (ConfigError on a malformed one).

    >>> parse_env(["A=1", "B=x=y"])
    {'A': '1', 'B': 'x=y'}
    """
    import re

    env: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ConfigError(f"--env {value!r}: expected NAME=VALUE")
        env[name] = text
    return env


SUPPORTED_CONNECTIONS = ("ssh", "paramiko", "smart", "local")


def check_connections(hosts: Sequence[Any]) -> None:
    """Before any connection: every host's connection type is one runner speaks and its
    port, when the inventory sets one, is a port number."""
    for host in hosts:
        if host.connection not in SUPPORTED_CONNECTIONS:
            raise ConfigError(
                f"host {host.name}: ansible_connection={host.connection!r} is not supported",
                hint=f"runner supports: {', '.join(SUPPORTED_CONNECTIONS)}",
            )
        for var in ("ansible_port", "ansible_ssh_port"):
            value = host.vars.get(var)
            if value in (None, ""):
                continue
            text = str(value).strip()
            if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) < 65536:
                raise ConfigError(
                    f"host {host.name}: {var}={value!r} is not a port number",
                    hint="set it to a number from 1 to 65535 in the inventory",
                )


def configure_logging(verbose: int) -> None:
    if verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        # paramiko logs a traceback for every host whose server never greets it; the
        # host's result already says so: keep Python's last-resort handler quiet.
        logging.getLogger("paramiko").addHandler(logging.NullHandler())
        return
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if verbose < 3:
        logging.getLogger("paramiko").setLevel(logging.WARNING)


def host_template_vars(host: Any, extra_vars: Mapping[str, Any]) -> dict[str, Any]:
    """Variables a per-host template sees (inventory vars, magic vars, then -e vars)."""
    variables = dict(host.vars)
    variables.update(
        inventory_hostname=host.name,
        inventory_hostname_short=host.name.split(".")[0],
        group_names=sorted(g for g in host.groups if g not in ("all", "ungrouped")),
    )
    variables.update(extra_vars)
    return variables


class ReaderGone:
    """An EventSink wrapper for when the reader of our output goes away mid-run
    (`runner run ... | head`): the run goes on to its end without output and exits with
    its real status. A pager closing must not cut commands off half-way across a fleet,
    nor turn every later line into a traceback.

    A broken pipe points stdout at /dev/null (stderr instead when stdout already is: both
    went to the same pipe); the event that hit it is dropped for this sink only, the other
    sinks get every event. rich consoles do the same for their own file
    (runner.output.console)."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def handle(self, event: object) -> None:
        try:
            self.sink.handle(event)
        except BrokenPipeError:
            from runner.output.console import to_devnull

            to_devnull(1) or to_devnull(2)


def event_fan_out(sinks: Sequence[Any]) -> Any:
    """One sink delivering every event to ``sinks`` in order, each behind ReaderGone."""
    from runner.events import FanOut

    return FanOut(ReaderGone(s) for s in sinks)


def build_sinks(opts: Mapping[str, Any], hosts: Sequence[str]) -> list[Any]:
    """Renderers for the chosen output mode. Human messages go to stderr under --json."""
    from runner import output

    sinks: list[Any] = []
    if opts.get("json_lines"):
        sinks.append(output.JsonLines(sys.stdout))
        sinks.append(output.NoticePrinter())  # makes its stderr console at the first notice
    elif opts.get("stream"):
        sinks.extend(
            output.stream_sinks(
                output.make_console(),
                hosts,
                err_console=output.make_console(stderr=True),
                verbose=bool(opts.get("verbose")),
            )
        )
    else:
        sinks.extend(
            output.report_sinks(
                output.make_console(),
                err_console=output.make_console(stderr=True),
                live=not opts.get("quiet"),
                quiet=bool(opts.get("quiet")),
                verbose=bool(opts.get("verbose")),
            )
        )
    if opts.get("out_dir"):
        sinks.append(output.OutDirWriter(opts["out_dir"]))
    if opts.get("junit"):
        sinks.append(output.JUnitWriter(opts["junit"]))
    return sinks


def command_spec(opts: Mapping[str, Any], render: Callable[[Any], str]):
    from runner.engine import CommandSpec

    stdin = None
    if opts.get("stdin_file"):
        try:
            with open(opts["stdin_file"], "rb") as fh:
                stdin = fh.read()
        except OSError as exc:
            raise ConfigError(f"--stdin-file {opts['stdin_file']}: {exc.strerror}") from exc
    return CommandSpec(
        render=render,
        timeout=opts.get("timeout"),
        max_output=opts.get("max_output", 1 << 20),
        out_dir=opts.get("out_dir"),
        stream=bool(opts.get("stream")),
        stdin=stdin,
        pty=bool(opts.get("pty")),
    )


def stop_sinks(sinks: Sequence[Any]) -> None:
    for s in sinks:
        stop = getattr(s, "stop", None)
        if stop:
            stop()
