"""The settings runner takes from a project: each one's name (Ansible's ini key where it
has one), how its text is read (runner.project.values), the ansible.cfg keys and the
environment variables that may give it (highest first), its option, and its default.
The rule that picks among them is runner.project.settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.config import DEFAULT_FORKS, DEFAULT_MAX_OUTPUT


@dataclass(frozen=True)
class Setting:
    """One setting: its name (Ansible's ini key where it has one), how its text is read
    (runner.project.values.CONVERTERS; ``own_kind`` for ``[runner]`` and ``RUNNER_*``),
    where it may be given (highest first), and what its default or absence means."""

    name: str
    kind: str
    ini: tuple[tuple[str, str], ...] = ()
    env: tuple[str, ...] = ()
    cli: str | None = None  # the click parameter
    flag: str = ""
    default: Any = None
    unset: str = ""  # what no value means, for runner config
    own_kind: str | None = None


def _s(name: str, kind: str, section: str = "defaults", **kw: Any) -> Setting:
    env = kw.pop("env", (f"ANSIBLE_{name.upper()}",))
    ini = kw.pop("ini", ((section, name),))
    return Setting(name, kind, ini=ini, env=env, **kw)


def _own(name: str, kind: str, **kw: Any) -> Setting:
    """A runner setting without an Ansible name: ``[runner] NAME``, ``RUNNER_NAME``."""
    return Setting(name, kind, ini=(("runner", name),), env=(f"RUNNER_{name.upper()}",), **kw)


PE = "privilege_escalation"
SSH = "ssh_connection"

SETTINGS: tuple[Setting, ...] = (
    _s(
        "inventory",
        "pathlist",
        env=("RUNNER_INVENTORY", "ANSIBLE_INVENTORY"),
        cli="inventories",
        flag="-i",
        default=(),
        own_kind="words",
        unset="none: only the implicit localhost",
    ),
    _s("remote_user", "str", cli="user", flag="-u", unset="ssh_config User, else the local user"),
    _s(
        "private_key_file",
        "path",
        cli="private_key",
        flag="--private-key",
        unset="ssh_config IdentityFile, else ssh's default keys",
    ),
    _s("ask_pass", "bool", cli="ask_pass", flag="-k", default=False),
    _s("forks", "int", cli="forks", flag="-f", default=DEFAULT_FORKS),
    _s(
        "host_key_checking",
        "host_key_bool",
        ini=(
            ("runner", "host_key_checking"),
            (SSH, "host_key_checking"),
            ("defaults", "host_key_checking"),
        ),
        env=(
            "RUNNER_HOST_KEY_CHECKING",
            "ANSIBLE_SSH_HOST_KEY_CHECKING",
            "ANSIBLE_HOST_KEY_CHECKING",
        ),
        cli="host_key_checking",
        flag="--host-key-checking",
        own_kind="policy",
        unset="ssh_config StrictHostKeyChecking, else accept-new",
    ),
    _s(
        "timeout",
        "int",
        cli="connect_timeout",
        flag="--connect-timeout",
        unset="ssh_config ConnectTimeout, else 10",
    ),
    _s(
        "roles_path",
        "pathspec",
        default=("~/.ansible/roles", "/usr/share/ansible/roles", "/etc/ansible/roles"),
    ),
    _s(
        "collections_path",
        "pathspec",
        env=("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"),
        ini=(("defaults", "collections_path"), ("defaults", "collections_paths")),
        default=("~/.ansible/collections", "/usr/share/ansible/collections"),
    ),
    _s("gathering", "gathering", default="implicit"),
    _s("gather_subset", "subset", default=("all",)),
    _s(
        "vault_password_file",
        "path",
        cli="vault_password_files",
        flag="--vault-password-file",
        unset="none: vaulted values need --vault-id or --ask-vault-pass",
    ),
    _s("vault_identity_list", "list", default=(), unset="none"),
    _s("become", "bool", PE, cli="become", flag="-b", default=False),
    _s("become_method", "str", PE, default="sudo"),
    _s("become_user", "str", PE, cli="become_user", flag="--become-user", default="root"),
    _s("become_ask_pass", "bool", PE, cli="ask_become_pass", flag="-K", default=False),
    _s(
        "ssh_args",
        "str",
        SSH,
        unset="none (Ansible's default ControlMaster options "
        "do not apply: runner keeps one connection per host itself)",
    ),
    _s("ssh_common_args", "str", SSH),
    _s("ssh_extra_args", "str", SSH),
    # runner's own, in [runner] / RUNNER_*
    _own("jump", "jump", cli="jump", flag="-J", unset="ssh_config ProxyJump"),
    Setting("proxy_command", "str", unset="ssh_config ProxyCommand"),
    _own(
        "known_hosts",
        "path",
        cli="known_hosts",
        flag="--known-hosts",
        unset="ssh_config UserKnownHostsFile, else ~/.ssh/known_hosts",
    ),
    _own(
        "keepalive",
        "seconds",
        cli="keepalive",
        flag="--keepalive",
        unset="ssh_config ServerAliveInterval, else off",
    ),
    _own("ssh_config", "ssh_config", cli="ssh_config", flag="-F", unset="~/.ssh/config if present"),
    _own("command_timeout", "seconds", cli="timeout", flag="--timeout", unset="none"),
    _own("retries", "count", cli="retries", flag="--retries", default=0),
    _own("procs", "int", cli="procs", flag="--procs", unset="1, or one per core above 1,000 hosts"),
    _own(
        "persist",
        "persist",
        cli="persist",
        flag="--persist",
        unset="60 s, or 0 (no keeper) under CI=true",
    ),
    _own(
        "bridge_modules",
        "list",
        default=(),
        unset="none: runner's own modules run natively",
    ),
    _own("max_output", "count", cli="max_output", flag="--max-output", default=DEFAULT_MAX_OUTPUT),
    _own(
        "cluster",
        "broker_url",
        cli="cluster",
        flag="--cluster",
        unset="none: this machine runs the hosts",
    ),
    _own("cluster_shard_max", "int", default=2000),
)

BY_NAME = {s.name: s for s in SETTINGS}

__all__ = ["BY_NAME", "PE", "SETTINGS", "SSH", "Setting"]
