"""The options the commands share, and the one place that turns them into a RunConfig
(and the run's Secrets). Nothing below the CLI reads click parameters."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from runner.cli.environment import Environment
from runner.cli.logs import configure_logging  # noqa: F401  (where commands import it)
from runner.cli.persist import persist_seconds
from runner.cli.vault import open_keyring, vault_options, vault_settings
from runner.config import (
    DEFAULT_FORKS,
    DEFAULT_MAX_OUTPUT,
    HOST_KEY_POLICIES,
    OutputConfig,
    RunConfig,
)
from runner.errors import ConfigError
from runner.vault import Keyring

if TYPE_CHECKING:
    from runner.project.settings import ProjectSettings


def connection_options(func: Callable) -> Callable:
    """Inventory, connection and concurrency options shared by run/play/copy/fetch."""
    options = [
        click.option(
            "-i",
            "--inventory",
            "inventories",
            multiple=True,
            metavar="PATH",
            help="Inventory file, directory, script or inline list 'h1,h2:2222,' "
            "(repeatable) [default: env RUNNER_INVENTORY, ANSIBLE_INVENTORY, ansible.cfg "
            "inventory].",
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
            default=None,
            help="Hosts worked on at once, lowered to fit the open-file limit "
            f"[default: ansible.cfg forks, else {DEFAULT_FORKS}].",
        ),
        click.option(
            "-u",
            "--user",
            help="Remote user for hosts whose inventory sets no ansible_user "
            "(wins over ssh_config User).",
        ),
        click.option(
            "--private-key",
            "private_key",
            type=click.Path(dir_okay=False),
            metavar="PATH",
            help="Private key file for hosts whose inventory sets no "
            "ansible_ssh_private_key_file (wins over ssh_config); an encrypted key's "
            "passphrase is asked once (or RUNNER_KEY_PASSPHRASE).",
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
            help="Seconds to connect and authenticate, for hosts whose inventory sets no "
            "ansible_ssh_timeout [default: ssh_config ConnectTimeout, else 10].",
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
            default=None,
            help="Extra connection attempts on transient connect errors (commands never "
            "re-run) [default: 0].",
        ),
        click.option(
            "--host-key-checking",
            type=click.Choice(HOST_KEY_POLICIES),
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
            help="Jump host(s) (ProxyJump) for hosts whose inventory sets none ('none': no "
            "jump host, whatever ssh_config says). Hosts behind one bastion share one "
            "connection to it.",
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
            "--persist",
            type=click.FloatRange(min=0),
            default=None,
            metavar="S",
            help="Keep this run's connections open S seconds for the next run (the "
            "connection keeper; 0: off; env RUNNER_PERSIST, [runner] persist) "
            "[default: 60, 0 under CI=true].",
        ),
        click.option(
            "-b",
            "--become",
            is_flag=True,
            help="Run as another user through sudo (root), on hosts whose inventory does not "
            "set ansible_become.",
        ),
        click.option(
            "--become-user",
            metavar="USER",
            help="User to become where the inventory sets no ansible_become_user (implies "
            "nothing without -b or ansible_become) [default: root].",
        ),
        click.option(
            "-K",
            "--ask-become-pass",
            is_flag=True,
            help="Ask once for the sudo password (or set RUNNER_BECOME_PASSWORD), for hosts "
            "whose inventory sets no ansible_become_password.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return vault_options(func)


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
            default=None,
            metavar="BYTES",
            help=f"Output kept in memory per stream and host [default: {DEFAULT_MAX_OUTPUT}].",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Only failures and the summary."),
        click.option("-v", "--verbose", count=True, help="More detail (repeat for debug logs)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def host_job_options(func: Callable) -> Callable:
    """Habits from Ansible and clush shared by run/copy/fetch: list the hosts, one line each."""
    options = [
        click.option(
            "--list-hosts",
            is_flag=True,
            help="Print the hosts PATTERN selects (as ansible --list-hosts) and exit; "
            "nothing connects.",
        ),
        click.option(
            "-o",
            "--one-line",
            "one_line",
            is_flag=True,
            help="One line per host at the end, as ansible -o: "
            "'host | CHANGED | rc=0 | (stdout) ...' (newlines shown as \\n).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def output_mode(params: Mapping[str, Any]) -> str:
    """The OutputConfig mode the output flags choose (UsageError for -o with --json or
    --stream: each is a whole way of printing the run).

    >>> output_mode({"one_line": True}), output_mode({"json_lines": True, "stream": True})
    ('oneline', 'json')
    """
    if params.get("one_line"):
        if params.get("json_lines") or params.get("stream"):
            raise click.UsageError("-o/--one-line cannot be combined with --json or --stream")
        return "oneline"
    if params.get("json_lines"):
        return "json"
    if params.get("stream"):
        return "stream"
    return "report"


def project_settings(params: Mapping[str, Any], env: Environment) -> ProjectSettings:
    """Every setting from the command line, the environment and the project's ansible.cfg
    (runner.project.settings has the one precedence rule); the notices it gave (an
    ignored ./ansible.cfg, ssh options runner does not use) are printed on stderr."""
    from runner.project.settings import resolve_project_settings

    settings = resolve_project_settings(params, env.environ, env.getcwd(), env.home())
    for text in settings.notices:
        env.stderr.write(f"warning: {text}\n")
    return settings


def cluster_url(given: str | None, env: Environment) -> str | None:
    """A cluster's Redis URL: ``given`` (the command line), else RUNNER_CLUSTER, else the
    project's ``[runner] cluster``, by the one rule of runner.project.settings."""
    return project_settings({"cluster": given}, env)["cluster"]


def configure(params: Mapping[str, Any], env: Environment) -> tuple[RunConfig, Keyring]:
    """The project settings, the run's vault keyring (its passwords read or asked for
    once, before anything is loaded) and the RunConfig built from both."""
    settings = project_settings(params, env)
    vault = open_keyring(params, env, settings)
    return build_config(params, env, settings, vault), vault


def build_config(
    params: Mapping[str, Any],
    env: Environment,
    settings: ProjectSettings | None = None,
    vault: Keyring | None = None,
) -> RunConfig:
    """The run's configuration from a command's click parameters, the environment and
    the project's ansible.cfg: the one place they are read. ``-e`` values are parsed
    here (an input error names the file or the value; an encrypted ``@FILE`` is
    decrypted with ``vault``)."""
    from runner.inventory.extravars import parse_extra_vars
    from runner.project.runconfig import become_config, connection_config, project_config

    settings = settings or project_settings(params, env)
    mode = output_mode(params)
    vault_ids, vault_files = vault_settings(params, settings)
    return RunConfig(
        vault_ids=vault_ids,
        vault_password_files=vault_files,
        inventories=tuple(settings["inventory"]),
        extra_vars=parse_extra_vars(params.get("extra_vars") or (), vault),
        connection=connection_config(settings),
        become=become_config(settings),
        output=OutputConfig(
            mode=mode,
            out_dir=params.get("out_dir"),
            junit=params.get("junit"),
            max_output=settings["max_output"],
            quiet=bool(params.get("quiet")),
            verbose=int(params.get("verbose") or 0),
        ),
        forks=settings["forks"],
        procs=settings["procs"],
        retries=settings["retries"],
        command_timeout=settings["command_timeout"],
        project=project_config(settings),
        persist=persist_seconds(settings["persist"], env.environ),
        cluster=settings["cluster"],
        cluster_shard_max=settings["cluster_shard_max"],
    )


def parse_env(values: Sequence[str]) -> dict[str, str]:
    """--env K=V values -> a dict (ConfigError on a malformed one).

    >>> parse_env(["A=1", "B=x=y"])
    {'A': '1', 'B': 'x=y'}
    """
    env: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ConfigError(f"--env {value!r}: expected NAME=VALUE")
        env[name] = text
    return env


def read_input_file(path: str | None, option: str) -> bytes | None:
    """The bytes of a file named by an option (--stdin-file, --script), or None."""
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"{option} {path}: {exc.strerror}") from exc


def without_short_timeout(func: Any) -> Any:
    """connection_options spells the command timeout ``-t/--timeout``; in ``play``
    ``-t`` means ``--tags`` (as in ansible-playbook), so keep only ``--timeout``."""
    for param in getattr(func, "__click_params__", []):
        if param.name == "timeout":
            param.opts = [o for o in param.opts if o != "-t"]
    return func
