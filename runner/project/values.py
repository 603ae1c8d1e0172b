"""Turning one setting's text (from ansible.cfg or an environment variable) into its
value, as Ansible's types do: booleans, integers, paths (``~`` and ``$VAR`` expanded, a
relative path taken from the folder of the file that says it, or the current folder for
a variable), comma lists of paths (``inventory``), colon lists of paths (``roles_path``),
comma lists. Pure: HOME, the environment and the folder come in as arguments.

One difference on purpose: Ansible reads any word it does not know as a boolean False
(``host_key_checking = ture`` turns checking off); runner refuses it, naming the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.errors import ConfigError
from runner.project.cfgfile import expand_user

TRUE_WORDS = ("y", "yes", "on", "1", "true", "t")
FALSE_WORDS = ("n", "no", "off", "0", "false", "f")
HOST_KEY_POLICIES = ("strict", "accept-new", "off")


@dataclass(frozen=True)
class Where:
    """Where a text came from, for its conversion and its error: the file and line (or
    the variable), the folder relative paths start from, HOME and the environment."""

    source: str  # "file: PATH:LINE [section] key" or "env: NAME"
    basedir: str
    home: str
    environ: Mapping[str, str]
    path: str | None = None  # the file, for ConfigError
    line: int | None = None
    name: str = ""  # "[defaults] forks" or "ANSIBLE_FORKS"

    def error(self, text: str, expected: str) -> ConfigError:
        return ConfigError(
            f"{self.name} = {text!r}: expected {expected}", path=self.path, line=self.line
        )


def unquote(text: str) -> str:
    """Ansible's unquote of ini values: one pair of matching outer quotes goes.

    >>> unquote('"a b"'), unquote("'x"), unquote("it's")
    ('a b', "'x", "it's")
    """
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" and text[-2] != "\\":
        return text[1:-1]
    return text


_VAR = re.compile(r"\$(\w+|\{[^}]*\})")


def expand_vars(text: str, environ: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` from ``environ``; unknown names stay (os.path.expandvars).

    >>> expand_vars("$HOME/x:${NOPE}/y", {"HOME": "/h"})
    '/h/x:${NOPE}/y'
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1).strip("{}")
        return environ.get(name, match.group(0))

    return _VAR.sub(one, text)


def to_path(text: str, where: Where) -> str:
    """A path: variables and ``~`` expanded, made absolute from ``where.basedir``.

    >>> to_path("~/k", Where("", "/p", "/home/o", {})), to_path("keys/id", Where("", "/p", "/h", {}))
    ('/home/o/k', '/p/keys/id')
    """
    path = expand_user(expand_vars(text, where.environ), where.home)
    return os.path.normpath(os.path.join(where.basedir, path))


def to_bool(text: str, where: Where) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise where.error(text, "a boolean: yes/no, true/false, on/off, 1/0")


def to_int(text: str, where: Where, minimum: int = 1) -> int:
    """An integer as Ansible reads one ("10" or "10.0"; not "1.5"), at least ``minimum``."""
    import decimal

    try:
        number = decimal.Decimal(text.strip())
        value = int(number)
        if number != value:
            raise ValueError(text)
    except (decimal.DecimalException, ValueError, OverflowError):
        raise where.error(text, "a whole number") from None
    if value < minimum:
        raise where.error(text, f"a whole number of at least {minimum}")
    return value


def to_seconds(text: str, where: Where) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise where.error(text, "a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise where.error(text, "a number of seconds above 0")
    return value


def to_persist(text: str, where: Where) -> float:
    """--persist's seconds: 0 turns the connection keeper off."""
    try:
        value = float(text.strip())
    except ValueError:
        raise where.error(text, "seconds (a number, 0 for no keeper)") from None
    if not value >= 0 or value == float("inf"):
        raise where.error(text, "seconds (a number, 0 for no keeper)")
    return value


def to_pathlist(text: str, where: Where) -> tuple[str, ...]:
    """Ansible's ``pathlist``: comma-separated paths (``inventory``)."""
    return tuple(to_path(p.strip(), where) for p in text.split(",") if p.strip())


def to_pathspec(text: str, where: Where) -> tuple[str, ...]:
    """Ansible's ``pathspec``: colon-separated paths (``roles_path``); the whitespace
    around each is dropped (a value continued on the next line keeps no newline)."""
    return tuple(to_path(p.strip(), where) for p in text.split(os.pathsep) if p.strip())


def to_list(text: str, where: Where) -> tuple[str, ...]:
    return tuple(unquote(p.strip()) for p in text.split(",") if p.strip())


def to_words(text: str, where: Where) -> tuple[str, ...]:
    """RUNNER_INVENTORY's sources: separated by whitespace, taken as given."""
    return tuple(text.split())


def to_policy(text: str, where: Where) -> str:
    if text.strip() not in HOST_KEY_POLICIES:
        raise where.error(text, "one of " + ", ".join(HOST_KEY_POLICIES))
    return text.strip()


def to_host_key_bool(text: str, where: Where) -> str | None:
    """Ansible's boolean ``host_key_checking``: False turns checking off; True leaves
    runner's policy to ssh_config's StrictHostKeyChecking, else accept-new."""
    return None if to_bool(text, where) else "off"


def to_jump(text: str, where: Where) -> str:
    from runner.transport.ssh.sshargs import parse_jump

    try:
        parse_jump(text)
    except ValueError as exc:
        raise where.error(text, f"[USER@]HOST[:PORT][,...] ({exc})") from None
    return text.strip()


def to_ssh_config(text: str, where: Where) -> str:
    """-F's value: a path, or ``none`` (read no ssh_config)."""
    return "none" if text.strip().lower() == "none" else to_path(text, where)


def to_text(text: str, where: Where) -> str:
    return text


def redact_url(url: str) -> str:
    """The URL without its password: ``redis://:pw@h:1/0`` -> ``redis://:***@h:1/0``.

    >>> redact_url("rediss://user:secret@redis.dc1:6379/0"), redact_url("redis://h/0")
    ('rediss://user:***@redis.dc1:6379/0', 'redis://h/0')
    """
    scheme, sep, rest = url.partition("://")
    auth, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user, colon, _password = auth.partition(":")
    return f"{scheme}://{user}{colon}***@{host}" if colon else url


def to_broker_url(text: str, where: Where) -> str:
    """A cluster's Redis URL (``redis://`` or ``rediss://``), as typed."""
    url = text.strip()
    if not url.startswith(("redis://", "rediss://")) or len(url.partition("://")[2]) == 0:
        raise where.error(
            redact_url(url), "a Redis URL: redis://[:PASSWORD@]HOST[:PORT]/DB or rediss://..."
        )
    return url


def to_subset(text: str, where: Where) -> tuple[str, ...]:
    """gather_subset: a list of Ansible's subset names (``!hardware,network``)."""
    from runner.playbook.facts.subsets import SubsetError, collectors, normalise

    subset = tuple(normalise(list(to_list(text, where))))
    try:
        collectors(subset)
    except SubsetError as exc:
        raise where.error(text, f"gather_subset names ({exc})") from exc
    return subset


def to_gathering(text: str, where: Where) -> str:
    if text.strip().lower() not in ("implicit", "explicit", "smart"):
        raise where.error(text, "one of implicit, explicit, smart")
    return text.strip().lower()


CONVERTERS: dict[str, Callable[..., Any]] = {
    "str": to_text,
    "path": to_path,
    "bool": to_bool,
    "int": to_int,
    "count": lambda text, where: to_int(text, where, minimum=0),
    "seconds": to_seconds,
    "pathlist": to_pathlist,
    "pathspec": to_pathspec,
    "list": to_list,
    "words": to_words,
    "policy": to_policy,
    "host_key_bool": to_host_key_bool,
    "jump": to_jump,
    "ssh_config": to_ssh_config,
    "gathering": to_gathering,
    "subset": to_subset,
    "persist": to_persist,
    "broker_url": to_broker_url,
}


def convert(kind: str, text: str, where: Where) -> Any:
    """``text`` as a value of ``kind`` (a name in CONVERTERS); ConfigError naming where."""
    return CONVERTERS[kind](text, where)


__all__ = ["CONVERTERS", "Where", "convert", "expand_vars", "redact_url", "to_path", "unquote"]
