"""The two small languages in connection settings: ProxyJump specs (``-J``,
``runner_jump_host``, ssh_config ``ProxyJump``) and ssh command-line arguments
(``ansible_ssh_common_args``). Pure; settings.py uses (and re-exports) them."""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass


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
    return tuple((key, value) for key, value, _words in split_ssh_args(text) if key)


def split_ssh_args(text: str) -> tuple[tuple[str, str, str], ...]:
    """Every word group of an ssh argument string as (keyword, value, as written):
    ``-o K=V``, ``-J``, ``-p``, ``-i``, ``-l`` give their ssh_config keyword (lower
    case); any other word has the keyword "" (ValueError for unbalanced quotes).

    >>> split_ssh_args("-C -o ControlPersist=60s -J gw")
    (('', '', '-C'), ('controlpersist', '60s', '-o ControlPersist=60s'), ('proxyjump', 'gw', '-J gw'))
    """
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot parse ssh arguments {text!r}: {exc}") from exc
    out: list[tuple[str, str, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        flag, value = token[:2], token[2:]
        if flag == "-o" or flag in _ARG_OPTIONS:
            written = token
            if not value:
                if i >= len(tokens):
                    out.append(("", "", token))
                    break
                value = tokens[i]
                written = f"{token} {value}"
                i += 1
            if flag == "-o":
                key, sep, val = value.partition("=")
                if not sep:
                    key, _, val = value.partition(" ")
                out.append((key.strip().lower(), val.strip(), written))
            else:
                out.append((_ARG_OPTIONS[flag], value, written))
        else:
            out.append(("", "", token))
    return tuple(out)
