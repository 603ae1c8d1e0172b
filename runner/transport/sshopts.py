"""Where each SSH connection setting of a host comes from, in one documented order.

Pure: no I/O and no paramiko. ``resolve_settings`` takes a host's inventory variables,
the command-line options and the host's ``ssh_config`` lookup (a plain mapping with
lower-case keys, as paramiko's ``SSHConfig.lookup`` returns) and returns the settings the
SSH transport uses. Precedence, highest first:

1. command-line options (``-u``, ``--private-key``, ``-J``, ``--connect-timeout``,
   ``--host-key-checking``, ``--known-hosts``, ``--keepalive``);
2. inventory variables, ``-e`` extra vars included (``ansible_user``, ``ansible_port``,
   ``ansible_ssh_private_key_file``, ``runner_jump_host``, ``ansible_ssh_common_args``...);
3. ``ssh_config`` (``~/.ssh/config`` or ``-F PATH``), looked up by ``ansible_host`` or,
   when that is unset, the inventory name (then its ``HostName`` applies);
4. defaults (port 22, the local user name, accept-new, ``~/.ssh/known_hosts``; as ssh,
   ``~/.ssh/known_hosts2`` and the global ``/etc/ssh/ssh_known_hosts{,2}`` are read too).
"""

from __future__ import annotations

import functools
import getpass
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
DEFAULT_USER_KNOWN_HOSTS_MORE = ("~/.ssh/known_hosts2",)
DEFAULT_GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
DEFAULT_HOST_KEY_CHECKING = "accept-new"
DEFAULT_KEEPALIVE_COUNT = 3


@dataclass(frozen=True)
class Hop:
    """One jump host of a ProxyJump chain."""

    host: str
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.host}{port}"


@functools.lru_cache(maxsize=256)
def parse_jump(spec: str) -> tuple[Hop, ...]:
    """A ProxyJump value (``-J``, ``runner_jump_host``) -> its hops, first hop first.
    ``none`` means "no jump host" (an empty tuple).

    >>> parse_jump("admin@bastion:2222,inner")
    (Hop(host='bastion', user='admin', port=2222), Hop(host='inner', user=None, port=None))
    >>> parse_jump("ssh://ops@[fe80::1]:22"), parse_jump("none")
    ((Hop(host='fe80::1', user='ops', port=22),), ())
    """
    spec = spec.strip()
    if spec.lower() == "none" or not spec:
        return ()
    hops = []
    for part in spec.split(","):
        part = part.strip()
        if part.startswith("ssh://"):
            part = part[len("ssh://") :].rstrip("/")
        user = None
        if "@" in part:
            user, part = part.rsplit("@", 1)
        port = None
        if part.startswith("["):  # [v6-address]:port
            host, _, rest = part[1:].partition("]")
            if rest.startswith(":"):
                port = _port(rest[1:], spec)
        elif part.count(":") == 1:
            host, port_text = part.split(":")
            port = _port(port_text, spec)
        else:
            host = part
        if not host:
            raise ValueError(f"invalid jump host {spec!r}: empty host name")
        hops.append(Hop(host, user or None, port))
    return tuple(hops)


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"invalid jump host {spec!r}: bad port {text!r}")
    return int(text)


_ARG_OPTIONS = {"-J": "proxyjump", "-p": "port", "-i": "identityfile", "-l": "user"}


@functools.lru_cache(maxsize=256)
def parse_ssh_args(text: str) -> tuple[tuple[str, str], ...]:
    """The ssh options an ``ansible_ssh_common_args`` string sets, as (lower-case
    ssh_config keyword, value) pairs in order. Flags runner has no use for are skipped.

    >>> parse_ssh_args("-J ops@bastion -o StrictHostKeyChecking=no -oServerAliveInterval=30")
    (('proxyjump', 'ops@bastion'), ('stricthostkeychecking', 'no'), ('serveraliveinterval', '30'))
    >>> parse_ssh_args("-o 'ProxyCommand=ssh -W %h:%p gw' -C")
    (('proxycommand', 'ssh -W %h:%p gw'),)
    """
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot parse ssh arguments {text!r}: {exc}") from exc
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        flag, value = token[:2], token[2:]
        if flag == "-o" or flag in _ARG_OPTIONS:
            if not value:
                if i >= len(tokens):
                    break
                value = tokens[i]
                i += 1
            if flag == "-o":
                key, sep, val = value.partition("=")
                if not sep:
                    key, _, val = value.partition(" ")
                out.append((key.strip().lower(), val.strip()))
            else:
                out.append((_ARG_OPTIONS[flag], value))
    return tuple(out)


@dataclass(frozen=True)
class CLIOptions:
    """Connection options given on the command line; None means "not given"."""

    user: str | None = None
    private_key: str | None = None
    jump: str | None = None
    connect_timeout: float | None = None
    host_key_checking: str | None = None
    known_hosts: str | None = None
    keepalive: float | None = None


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


def _first(*candidates: tuple[str, Any]) -> tuple[Any, str]:
    for source, value in candidates:
        if value not in (None, "", [], ()):
            return value, source
    return None, "default"


def resolve_settings(
    name: str,
    host_vars: Mapping[str, Any],
    cli: CLIOptions,
    config: Mapping[str, Any],
) -> HostSettings:
    """One host's connection settings; see the module docstring for the order.

    >>> s = resolve_settings("web1", {"ansible_user": "deploy"}, CLIOptions(user="ops"),
    ...                      {"hostname": "10.0.0.7", "port": "2200", "proxyjump": "gw"})
    >>> (s.address, s.port, s.user, s.jump)
    ('10.0.0.7', 2200, 'ops', (Hop(host='gw', user=None, port=None),))
    >>> resolve_settings("web1", {"ansible_host": "10.9.9.9"}, CLIOptions(),
    ...                  {"hostname": "10.0.0.7"}).address
    '10.9.9.9'
    """
    v = host_vars
    args: dict[str, str] = {}
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if v.get(var):
            for key, value in parse_ssh_args(str(v[var])):
                args.setdefault(key, value)
    sources: dict[str, str] = {}

    address = v.get("ansible_host") or v.get("ansible_ssh_host")
    sources["address"] = "inventory" if address else "ssh_config"
    address = str(address or config.get("hostname") or name)

    port, sources["port"] = _first(
        ("inventory", v.get("ansible_port") or v.get("ansible_ssh_port")),
        ("inventory", args.get("port")),
        ("ssh_config", config.get("port")),
    )
    user, sources["user"] = _first(
        ("command line", cli.user),
        ("inventory", v.get("ansible_user") or v.get("ansible_ssh_user")),
        ("inventory", args.get("user")),
        ("ssh_config", config.get("user")),
    )
    explicit, sources["key_files"] = _first(
        ("command line", cli.private_key),
        (
            "inventory",
            v.get("ansible_ssh_private_key_file")
            or v.get("ansible_private_key_file")
            or args.get("identityfile"),
        ),
    )
    if explicit:
        key_files: tuple[str, ...] = (str(explicit),)
    else:
        key_files = tuple(str(p) for p in (config.get("identityfile") or ()))
        sources["key_files"] = "ssh_config" if key_files else "default"

    jump_spec, sources["jump"] = _first(
        ("command line", cli.jump),
        ("inventory", v.get("runner_jump_host")),
        ("inventory", args.get("proxyjump")),
        ("ssh_config", config.get("proxyjump")),
    )
    jump = parse_jump(str(jump_spec)) if jump_spec else ()
    proxy_command = None
    if jump_spec is None or str(jump_spec).strip().lower() == "none":
        proxy_command, source = _first(
            ("inventory", args.get("proxycommand")), ("ssh_config", config.get("proxycommand"))
        )
        if proxy_command and str(proxy_command).strip().lower() == "none":
            proxy_command = None
        if proxy_command:
            sources["proxy_command"] = source

    timeout, sources["connect_timeout"] = _first(
        ("command line", cli.connect_timeout),
        ("inventory", v.get("ansible_ssh_timeout") or v.get("ansible_timeout")),
        ("inventory", args.get("connecttimeout")),
        ("ssh_config", config.get("connecttimeout")),
    )
    policy, sources["host_key_checking"] = _first(
        ("command line", cli.host_key_checking),
        ("inventory", v.get("runner_host_key_checking")),
        (
            "inventory",
            host_key_policy(
                _bool_var(
                    v.get("ansible_host_key_checking", v.get("ansible_ssh_host_key_checking"))
                )
            ),
        ),
        ("inventory", host_key_policy(args.get("stricthostkeychecking"))),
        ("ssh_config", host_key_policy(config.get("stricthostkeychecking"))),
    )
    known, sources["known_hosts"] = _first(
        ("command line", cli.known_hosts),
        ("inventory", args.get("userknownhostsfile")),
        ("ssh_config", config.get("userknownhostsfile")),
    )
    more_known: tuple[str, ...] = DEFAULT_USER_KNOWN_HOSTS_MORE
    if known:  # ssh_config allows several files: keys are recorded in the first
        known, *rest = str(known).split() or [""]
        more_known = tuple(rest) if sources["known_hosts"] != "command line" else ()
    global_known, _ = _first(
        ("inventory", args.get("globalknownhostsfile")),
        ("ssh_config", config.get("globalknownhostsfile")),
    )
    global_files = tuple(str(global_known).split()) if global_known else DEFAULT_GLOBAL_KNOWN_HOSTS
    other_known = tuple(f for f in more_known + global_files if f.lower() != "none")
    keepalive, sources["keepalive"] = _first(
        ("command line", cli.keepalive),
        ("inventory", args.get("serveraliveinterval")),
        ("ssh_config", config.get("serveraliveinterval")),
    )
    count, _ = _first(
        ("inventory", args.get("serveralivecountmax")),
        ("ssh_config", config.get("serveralivecountmax")),
    )
    return HostSettings(
        address=address,
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
