"""Where each connection setting of a host comes from: the one precedence rule of
run, play, copy and fetch, Ansible's. Highest first:

1. the host's variables, wherever the inventory sets them (host > child group > parent
   group > all), and ``-e`` extra vars above them all: ``ansible_host``,
   ``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file``,
   ``ansible_ssh_common_args`` / ``ansible_ssh_extra_args`` (``-J``, ``-p``, ``-l``,
   ``-i``, ``-o Keyword=value``), ``runner_jump_host``, ``ansible_ssh_timeout`` /
   ``ansible_timeout``, ``ansible_host_key_checking`` / ``runner_host_key_checking``;
2. the run's settings: the command line (``-u``, ``--private-key``, ``-J``,
   ``--connect-timeout``, ``--host-key-checking``, ``--known-hosts``, ``--keepalive``),
   else the environment and the project's ansible.cfg (``remote_user``, ``ssh_args``...:
   runner.project.settings decides among those three);
3. ``ssh_config`` (``~/.ssh/config`` or ``-F PATH``), looked up by ``ansible_host`` or,
   when that is unset, the inventory name (then its ``HostName`` applies);
4. defaults (port 22, the local user name, accept-new, ``~/.ssh/known_hosts``; as ssh,
   ``~/.ssh/known_hosts2`` and the global ``/etc/ssh/ssh_known_hosts{,2}`` are read too).

Become follows the same rule (runner.become.resolve_become): ``ansible_become*``
variables > playbook keywords ``become`` / ``become_user`` > ``-b``, ``--become-user``,
``-K`` > no become. ``-J none`` and ``--host-key-checking`` therefore set what hosts
whose inventory says nothing use; runner.overrides tells the user when a flag they
typed lost to an inventory variable.

Pure: no I/O and no paramiko. ``resolve_settings`` takes a host's variables, the
command-line options and the host's ``ssh_config`` lookup (a plain mapping with
lower-case keys, as paramiko's ``SSHConfig.lookup`` returns) and returns the settings the
SSH transport uses, with where each came from.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.config import ConnectionConfig
from runner.transport.ssh.sshargs import Hop, parse_jump, parse_ssh_args

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
DEFAULT_USER_KNOWN_HOSTS_MORE = ("~/.ssh/known_hosts2",)
DEFAULT_GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
DEFAULT_HOST_KEY_CHECKING = "accept-new"
DEFAULT_KEEPALIVE_COUNT = 3


@dataclass(frozen=True)
class HostSettings:
    """Everything needed to open one host's connection (no secrets in here)."""

    address: str
    port: int = 22
    user: str = ""
    key_files: tuple[str, ...] = ()
    explicit_keys: bool = False  # given by -i/--private-key or the inventory: only these
    identities_only: bool = False
    jump: tuple[Hop, ...] = ()
    proxy_command: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    host_key_checking: str = DEFAULT_HOST_KEY_CHECKING
    known_hosts: str = DEFAULT_KNOWN_HOSTS
    # read, never written: the other UserKnownHostsFile files, then GlobalKnownHostsFile
    other_known_hosts: tuple[str, ...] = DEFAULT_USER_KNOWN_HOSTS_MORE + DEFAULT_GLOBAL_KNOWN_HOSTS
    keepalive: float = 0.0
    keepalive_count: int = DEFAULT_KEEPALIVE_COUNT
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


def host_key_policy(value: Any) -> str | None:
    """An ssh_config / inventory value -> runner's policy name (None: not decided here).

    >>> [host_key_policy(v) for v in ("yes", "accept-new", "no", False, True, "ask")]
    ['strict', 'accept-new', 'off', 'off', None, 'accept-new']
    """
    if value is None or value is True:
        return None
    if value is False:
        return "off"
    text = str(value).strip().lower()
    return {
        "strict": "strict",
        "yes": "strict",
        "true": None,
        "accept-new": "accept-new",
        "ask": "accept-new",  # runner cannot ask: it records new keys, refuses changed ones
        "no": "off",
        "off": "off",
        "false": "off",
    }.get(text)


Candidate = tuple[str, Any]  # (source, value)


def _first(*candidates: Candidate) -> tuple[Any, str]:
    for source, value in candidates:
        if value not in (None, "", [], ()):
            return value, source
    return None, "default"


def _inv(v: Mapping[str, Any], *names: str) -> Candidate:
    """The first of the inventory variables ``names`` that is set, with its name."""
    for name in names:
        if v.get(name) not in (None, ""):
            return f"inventory: {name}", v[name]
    return "inventory", None


def _arg(args: Mapping[str, tuple[str, str]], key: str) -> Candidate:
    """An ssh option from ansible_ssh_common_args / ansible_ssh_extra_args."""
    if key in args:
        var, value = args[key]
        return f"inventory: {var}", value
    return "inventory", None


#: The command-line option behind each setting (ConnectionConfig field, flag).
CLI_OPTIONS = {
    "user": ("user", "-u"),
    "key_files": ("private_key", "--private-key"),
    "jump": ("jump", "-J"),
    "connect_timeout": ("connect_timeout", "--connect-timeout"),
    "host_key_checking": ("host_key_checking", "--host-key-checking"),
    "known_hosts": ("known_hosts", "--known-hosts"),
    "keepalive": ("keepalive", "--keepalive"),
}


def _cli(cli: ConnectionConfig, setting: str) -> Candidate:
    """The run's value: typed (FLAG), or from the project (ansible.cfg, ANSIBLE_*)."""
    attr, flag = CLI_OPTIONS[setting]
    return cli.origins.get(attr) or f"command line: {flag}", getattr(cli, attr)


def _cfg(config: Mapping[str, Any], key: str, keyword: str) -> Candidate:
    return f"ssh_config: {keyword}", config.get(key)


def resolve_settings(
    name: str,
    host_vars: Mapping[str, Any],
    cli: ConnectionConfig,
    config: Mapping[str, Any],
) -> HostSettings:
    """One host's connection settings; see the module docstring for the order.
    ``sources`` says where each came from: "inventory: VARIABLE", "command line: FLAG",
    "ssh_config: KEYWORD" or "default".

    >>> s = resolve_settings("web1", {"ansible_user": "deploy"}, ConnectionConfig(user="ops"),
    ...                      {"hostname": "10.0.0.7", "port": "2200", "proxyjump": "gw"})
    >>> (s.address, s.port, s.user, s.jump)
    ('10.0.0.7', 2200, 'deploy', (Hop(host='gw', user=None, port=None),))
    >>> s.sources["user"], s.sources["port"]
    ('inventory: ansible_user', 'ssh_config: Port')
    >>> resolve_settings("web1", {"ansible_host": "10.9.9.9"}, ConnectionConfig(),
    ...                  {"hostname": "10.0.0.7"}).address
    '10.9.9.9'
    """
    v = host_vars
    args: dict[str, tuple[str, str]] = {}
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if v.get(var):
            for key, value in parse_ssh_args(str(v[var])):
                args.setdefault(key, (var, value))
    sources: dict[str, str] = {}

    hostname = config.get("hostname")  # paramiko gives the name looked up when unset
    address, sources["address"] = _first(
        _inv(v, "ansible_host", "ansible_ssh_host"),
        ("ssh_config: HostName", hostname if hostname != name else None),
    )
    if address is None:
        address, sources["address"] = name, "inventory name"
    port, sources["port"] = _first(
        _inv(v, "ansible_port", "ansible_ssh_port"),
        _arg(args, "port"),
        _cfg(config, "port", "Port"),
    )
    user, sources["user"] = _first(
        _inv(v, "ansible_user", "ansible_ssh_user"),
        _arg(args, "user"),
        _cli(cli, "user"),
        _cfg(config, "user", "User"),
    )
    explicit, sources["key_files"] = _first(
        _inv(v, "ansible_ssh_private_key_file", "ansible_private_key_file"),
        _arg(args, "identityfile"),
        _cli(cli, "key_files"),
    )
    if explicit:
        key_files: tuple[str, ...] = (str(explicit),)
    else:
        key_files = tuple(str(p) for p in (config.get("identityfile") or ()))
        sources["key_files"] = "ssh_config: IdentityFile" if key_files else "default"

    jump_spec, sources["jump"] = _first(
        _inv(v, "runner_jump_host"),
        _arg(args, "proxyjump"),
        _cli(cli, "jump"),
        _cfg(config, "proxyjump", "ProxyJump"),
    )
    jump = parse_jump(str(jump_spec)) if jump_spec else ()
    proxy_command = None
    if jump_spec is None or str(jump_spec).strip().lower() == "none":
        proxy_command, source = _first(
            _arg(args, "proxycommand"),
            (cli.origins.get("proxy_command", "project"), cli.proxy_command),
            _cfg(config, "proxycommand", "ProxyCommand"),
        )
        if proxy_command and str(proxy_command).strip().lower() == "none":
            proxy_command = None
        if proxy_command:
            sources["proxy_command"] = source

    timeout, sources["connect_timeout"] = _first(
        _inv(v, "ansible_ssh_timeout", "ansible_timeout"),
        _arg(args, "connecttimeout"),
        _cli(cli, "connect_timeout"),
        _cfg(config, "connecttimeout", "ConnectTimeout"),
    )
    checking = _inv(v, "ansible_host_key_checking", "ansible_ssh_host_key_checking")
    strict = _arg(args, "stricthostkeychecking")
    policy, sources["host_key_checking"] = _first(
        _inv(v, "runner_host_key_checking"),
        (checking[0], host_key_policy(_bool_var(checking[1]))),
        (strict[0], host_key_policy(strict[1])),
        _cli(cli, "host_key_checking"),
        ("ssh_config: StrictHostKeyChecking", host_key_policy(config.get("stricthostkeychecking"))),
    )
    known, sources["known_hosts"] = _first(
        _arg(args, "userknownhostsfile"),
        _cli(cli, "known_hosts"),
        _cfg(config, "userknownhostsfile", "UserKnownHostsFile"),
    )
    more_known: tuple[str, ...] = DEFAULT_USER_KNOWN_HOSTS_MORE
    if known:  # ssh_config allows several files: keys are recorded in the first
        known, *rest = str(known).split() or [""]
        more_known = () if sources["known_hosts"].startswith("command line") else tuple(rest)
    global_known, _ = _first(
        _arg(args, "globalknownhostsfile"), _cfg(config, "globalknownhostsfile", "")
    )
    global_files = tuple(str(global_known).split()) if global_known else DEFAULT_GLOBAL_KNOWN_HOSTS
    other_known = tuple(f for f in more_known + global_files if f.lower() != "none")
    keepalive, sources["keepalive"] = _first(
        _arg(args, "serveraliveinterval"),
        _cli(cli, "keepalive"),
        _cfg(config, "serveraliveinterval", "ServerAliveInterval"),
    )
    count, _ = _first(_arg(args, "serveralivecountmax"), _cfg(config, "serveralivecountmax", ""))
    return HostSettings(
        address=str(address),
        port=int(port) if port is not None else 22,
        user=str(user) if user else getpass.getuser(),
        key_files=key_files,
        explicit_keys=bool(explicit),
        identities_only=str(config.get("identitiesonly", "no")).lower() == "yes",
        jump=jump,
        proxy_command=str(proxy_command) if proxy_command else None,
        connect_timeout=float(timeout) if timeout is not None else DEFAULT_CONNECT_TIMEOUT,
        host_key_checking=str(policy or DEFAULT_HOST_KEY_CHECKING),
        known_hosts=str(known or DEFAULT_KNOWN_HOSTS),
        other_known_hosts=other_known,
        keepalive=float(keepalive) if keepalive is not None else 0.0,
        keepalive_count=max(1, int(count)) if count is not None else DEFAULT_KEEPALIVE_COUNT,
        sources=sources,
    )


def _bool_var(value: Any) -> Any:
    """Inventory booleans arrive as bool or text: 'False' -> False, 'true' -> True."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("false", "no", "0", "off"):
            return False
        if lowered in ("true", "yes", "1", "on"):
            return True
    return value


def expand_proxy_command(command: str, host: str, port: int, user: str) -> str:
    """OpenSSH's tokens in a ProxyCommand, with the host's final values.

    >>> expand_proxy_command("ssh -W %h:%p %r@gw %%", "db1", 22, "ops")
    'ssh -W db1:22 ops@gw %'
    """
    out = []
    i = 0
    while i < len(command):
        ch = command[i]
        if ch == "%" and i + 1 < len(command):
            token = command[i + 1]
            out.append(
                {"h": host, "p": str(port), "r": user, "n": host, "%": "%"}.get(token, ch + token)
            )
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def hop_settings(hop: Hop, target: HostSettings, config: Mapping[str, Any]) -> HostSettings:
    """Settings for one jump host: its ssh_config entry, then the target host's policy,
    timeouts and keys (a bastion usually takes the same key as the hosts behind it)."""
    keys = tuple(str(p) for p in (config.get("identityfile") or ()))
    return HostSettings(
        address=str(config.get("hostname") or hop.host),
        port=hop.port or int(config.get("port") or 22),
        user=hop.user or str(config.get("user") or "") or getpass.getuser(),
        key_files=keys + tuple(k for k in target.key_files if k not in keys),
        explicit_keys=False,
        identities_only=str(config.get("identitiesonly", "no")).lower() == "yes",
        connect_timeout=target.connect_timeout,
        host_key_checking=target.host_key_checking,
        known_hosts=target.known_hosts,
        other_known_hosts=target.other_known_hosts,
        keepalive=target.keepalive,
        keepalive_count=target.keepalive_count,
    )


def describe(hops: Sequence[Hop]) -> str:
    """'a -> b' for messages."""
    return " -> ".join(str(h) for h in hops)
