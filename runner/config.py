"""One run's configuration, as one frozen value, and its secrets, kept apart.

The CLI builds a :class:`RunConfig` once, from the command line and the environment
(runner.cli.options.build_config), and passes it down; nothing below the CLI reads click
parameters or an options dict. A RunConfig is plain data: ``to_dict()`` gives JSON,
``from_dict()`` reads it back (versioned), because a run is also described to other
processes (``--procs`` workers) and, later, other machines.

Secrets (the SSH password, the become password, a key passphrase, the vault passwords)
are never part of a RunConfig (which names only the vault password files and vault ids). They live in a :class:`Secrets` value whose repr says only which are set, and
travel to a worker only inside its job, on its stdin.

Connection and become settings here are what the *command line* said (None: not given).
Which value a host finally uses (its inventory variables, then the command line, then
ssh_config, then the defaults) is decided per host in one place:
runner.transport.ssh.settings (connection) and runner.become.host_become (become).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from typing import Any

from runner.errors import ConfigError
from runner.jsonvalues import decode_value, encode_value

SCHEMA_VERSION = 1

HOST_KEY_POLICIES = ("strict", "accept-new", "off")
OUTPUT_MODES = ("report", "stream", "json", "oneline")
DEFAULT_FORKS = 100
DEFAULT_MAX_OUTPUT = 1 << 20


@dataclass(frozen=True)
class ConnectionConfig:
    """How to connect, as given on the command line; None means "not given"."""

    user: str | None = None
    private_key: str | None = None
    ssh_config: str | None = None  # None: ~/.ssh/config when it exists; "none": no file
    known_hosts: str | None = None
    host_key_checking: str | None = None  # one of HOST_KEY_POLICIES
    jump: str | None = None  # a ProxyJump value; "none" ignores the inventory's and ssh_config's
    connect_timeout: float | None = None
    keepalive: float | None = None
    proxy_command: str | None = None  # from ansible.cfg ssh_args only (no flag)
    ask_pass: bool = False  # -k or ansible.cfg ask_pass: ask once for the SSH password
    # Where a value came from when not from the command line ("file: PATH:LINE ...",
    # "env: NAME"), by field name; a field absent here was typed (runner.project).
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.host_key_checking not in (None, *HOST_KEY_POLICIES):
            raise ConfigError(
                f"host key checking {self.host_key_checking!r} is not one of "
                f"{', '.join(HOST_KEY_POLICIES)}"
            )


@dataclass(frozen=True)
class BecomeConfig:
    """Privilege escalation as given on the command line (-b, --become-user); the
    password is a secret (Secrets.become_password)."""

    enabled: bool = False
    user: str | None = None
    ask_password: bool = False  # -K or ansible.cfg become_ask_pass
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)  # as above


@dataclass(frozen=True)
class OutputConfig:
    """How results are shown and kept."""

    mode: str = "report"  # one of OUTPUT_MODES
    out_dir: str | None = None
    junit: str | None = None
    max_output: int = DEFAULT_MAX_OUTPUT
    quiet: bool = False
    verbose: int = 0
    diff: bool = False  # --diff: groups as unified diffs against the reference group

    def __post_init__(self) -> None:
        if self.mode not in OUTPUT_MODES:
            raise ConfigError(f"output mode {self.mode!r} is not one of {', '.join(OUTPUT_MODES)}")


#: When a play gathers facts (runner.playbook.gathering says how each one works).
GATHERING = ("implicit", "explicit", "smart")


@dataclass(frozen=True)
class ProjectConfig:
    """Project settings (ansible.cfg, ANSIBLE_* variables) kept for the features that
    use them: roles and collections, fact gathering, vault. Paths are resolved."""

    config_file: str | None = None  # the ansible.cfg read, if any
    roles_path: tuple[str, ...] = ()
    collections_path: tuple[str, ...] = ()
    gathering: str = "implicit"  # implicit | explicit | smart
    gather_subset: tuple[str, ...] = ("all",)
    vault_password_file: str | None = None
    # modules runner has natively but runs through the Ansible module bridge
    bridge_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("roles_path", "collections_path", "gather_subset", "bridge_modules"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.gathering not in GATHERING:
            raise ConfigError(
                f"gathering {self.gathering!r} is not one of {', '.join(GATHERING)}",
                hint="implicit gathers facts unless a play says gather_facts: false",
            )


@dataclass(frozen=True)
class RunConfig:
    """Everything one run is configured with, secrets excepted.

    >>> config = RunConfig(inventories=("hosts.yml",), forks=20)
    >>> RunConfig.from_dict(config.to_dict()) == config
    True
    >>> config.to_dict()["version"], config.to_dict()["forks"]
    (1, 20)
    """

    inventories: tuple[str, ...] = ()
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    connection: ConnectionConfig = field(default_factory=ConnectionConfig)
    become: BecomeConfig = field(default_factory=BecomeConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    forks: int = DEFAULT_FORKS
    procs: int | None = None  # None: decided from the number of hosts
    retries: int = 0  # extra connection attempts after a transient connect error
    command_timeout: float | None = None  # -t/--timeout, per host and command
    project: ProjectConfig = field(default_factory=ProjectConfig)
    # --persist: seconds the connection keeper holds this run's connections (0: no keeper)
    persist: float = 0.0
    # the files read: --vault-password-file, else the project's vault_password_file
    vault_password_files: tuple[str, ...] = ()
    vault_ids: tuple[str, ...] = ()  # --vault-id [LABEL@]SOURCE; --ask-vault-pass: default@prompt
    # --cluster / RUNNER_CLUSTER / [runner] cluster: the Redis URL of the Celery workers
    # that run the hosts (runner run only). It may hold the broker's password, so
    # to_dict leaves it out: it never travels with the configuration.
    cluster: str | None = None
    cluster_shard_max: int = 2000  # hosts in one shard (one Celery task) at most

    def __post_init__(self) -> None:
        object.__setattr__(self, "inventories", tuple(self.inventories))
        object.__setattr__(self, "vault_password_files", tuple(self.vault_password_files))
        object.__setattr__(self, "vault_ids", tuple(self.vault_ids))
        if self.forks < 1:
            raise ConfigError(f"forks must be at least 1, not {self.forks}")

    @property
    def gathering(self) -> str:
        """When plays gather facts (the project's ``gathering``)."""
        return self.project.gathering

    @property
    def gather_subset(self) -> tuple[str, ...]:
        """The project's ``gather_subset`` (Ansible's default: all)."""
        return self.project.gather_subset

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, with a schema version; without ``cluster`` (see above)."""
        return {
            "version": SCHEMA_VERSION,
            "inventories": list(self.inventories),
            "extra_vars": encode_value(dict(self.extra_vars)),
            "connection": _plain(self.connection),
            "become": _plain(self.become),
            "output": _plain(self.output),
            "forks": self.forks,
            "procs": self.procs,
            "retries": self.retries,
            "command_timeout": self.command_timeout,
            "project": _plain(self.project),
            "persist": self.persist,
            "vault_password_files": list(self.vault_password_files),
            "vault_ids": list(self.vault_ids),
            "cluster_shard_max": self.cluster_shard_max,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Read what ``to_dict`` wrote; ConfigError for another version or a bad shape."""
        if not isinstance(data, Mapping) or data.get("version") != SCHEMA_VERSION:
            found = data.get("version") if isinstance(data, Mapping) else type(data).__name__
            raise ConfigError(
                f"run configuration version {found!r} is not {SCHEMA_VERSION}",
                hint="the sending and the receiving runner must be the same version",
            )
        try:
            return cls(
                inventories=tuple(data["inventories"]),
                extra_vars=decode_value(data["extra_vars"]),
                connection=ConnectionConfig(**data["connection"]),
                become=BecomeConfig(**data["become"]),
                output=OutputConfig(**data["output"]),
                forks=int(data["forks"]),
                procs=data["procs"],
                retries=int(data["retries"]),
                command_timeout=data["command_timeout"],
                project=ProjectConfig(**data["project"]),
                persist=float(data.get("persist") or 0.0),
                vault_password_files=tuple(data.get("vault_password_files", ())),
                vault_ids=tuple(data.get("vault_ids", ())),
                cluster_shard_max=int(data.get("cluster_shard_max", 2000)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed run configuration: {exc}") from exc


def _plain(value: Any) -> dict[str, Any]:
    out = {f.name: getattr(value, f.name) for f in fields(value)}
    return {
        k: list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, Mapping) else v
        for k, v in out.items()
    }


# -- secrets ----------------------------------------------------------------------------

SSH_PASSWORD = "RUNNER_SSH_PASSWORD"
BECOME_PASSWORD = "RUNNER_BECOME_PASSWORD"
KEY_PASSPHRASE = "RUNNER_KEY_PASSPHRASE"

#: Every environment variable that holds a secret. A new secret variable is added here.
SECRET_VARIABLES = (SSH_PASSWORD, BECOME_PASSWORD, KEY_PASSPHRASE)

_SECRET_FIELDS = ("ssh_password", "become_password", "key_passphrase")


@dataclass(frozen=True)
class Secrets:
    """The SSH password, the become (sudo) password, the private key passphrase and the
    vault passwords ((label, password) pairs, see runner.vault) of one run. Never shown:
    the repr says only which ones are set.

    >>> Secrets(ssh_password="pw", key_passphrase="")
    Secrets(ssh_password=<set>, become_password=None, key_passphrase=None)
    >>> Secrets.from_dict(Secrets(become_password="x").to_dict()).become_password
    'x'
    >>> Secrets(vault_passwords=(("prod", b"pw"),))
    Secrets(ssh_password=None, become_password=None, key_passphrase=None, vault=['prod'])
    >>> Secrets.from_dict(Secrets(vault_passwords=(("a", b"p"),)).to_dict()).vault_passwords
    (('a', b'p'),)
    """

    ssh_password: str | None = field(default=None, repr=False)
    become_password: str | None = field(default=None, repr=False)
    key_passphrase: str | None = field(default=None, repr=False)
    vault_passwords: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for name in _SECRET_FIELDS:
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)  # an empty variable is no secret

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<set>' if getattr(self, name) is not None else None}"
            for name in _SECRET_FIELDS
        )
        if self.vault_passwords:
            shown += f", vault={[label for label, _ in self.vault_passwords]}"
        return f"Secrets({shown})"

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """For a worker's job on its stdin, and nowhere else."""
        data: dict[str, Any] = {name: getattr(self, name) for name in _SECRET_FIELDS}
        data["vault"] = [
            [label, base64.b64encode(pw).decode("ascii")] for label, pw in self.vault_passwords
        ]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Secrets:
        vault = tuple((str(label), base64.b64decode(pw)) for label, pw in data.get("vault") or ())
        return cls(**{name: data.get(name) for name in _SECRET_FIELDS}, vault_passwords=vault)


def take_secrets(environ: MutableMapping[str, str]) -> Secrets:
    """Read the secret variables from ``environ`` and remove them from it, so nothing
    started later (workers, ProxyCommand, ssh_config ``Match exec``, sudo, inventory
    scripts, local commands) can inherit them.

    >>> env = {"RUNNER_SSH_PASSWORD": "pw", "HOME": "/root"}
    >>> take_secrets(env), env
    (Secrets(ssh_password=<set>, become_password=None, key_passphrase=None), {'HOME': '/root'})
    """
    values = {name: environ.pop(name, None) for name in SECRET_VARIABLES}
    return Secrets(
        ssh_password=values[SSH_PASSWORD],
        become_password=values[BECOME_PASSWORD],
        key_passphrase=values[KEY_PASSPHRASE],
    )


def child_environment(
    extra: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a process runner starts: ``environ`` (default: this process's)
    without any secret variable, plus ``extra`` (which cannot add one back either). Every
    subprocess runner starts gets it, as a second line of defence after take_secrets.

    >>> child_environment({"A": "1"}, environ={"PATH": "/bin", "RUNNER_BECOME_PASSWORD": "x"})
    {'PATH': '/bin', 'A': '1'}
    """
    base = os.environ if environ is None else environ
    env = {k: v for k, v in base.items() if k not in SECRET_VARIABLES}
    if extra:
        env.update((k, v) for k, v in extra.items() if k not in SECRET_VARIABLES)
    return env


__all__ = [
    "BECOME_PASSWORD",
    "BecomeConfig",
    "ConnectionConfig",
    "DEFAULT_FORKS",
    "HOST_KEY_POLICIES",
    "KEY_PASSPHRASE",
    "OutputConfig",
    "ProjectConfig",
    "RunConfig",
    "SECRET_VARIABLES",
    "SSH_PASSWORD",
    "Secrets",
    "child_environment",
    "take_secrets",
]
