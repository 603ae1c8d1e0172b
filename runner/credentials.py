"""The secrets runner takes from its environment, and the environment its children get.

The CLI calls :func:`take_secrets` once, before any command runs: the secret variables
are read into a :class:`Secrets` value and removed from the process environment, so
nothing started later (--procs workers, ProxyCommand, ssh_config ``Match exec``, sudo,
dynamic inventory scripts, local commands) can inherit them. Every subprocess runner
starts also gets :func:`child_environment` explicitly, as a second line of defence.

(Named ``credentials`` rather than ``secrets`` so it never shadows the standard library
module that become.py and adhoc.py use for nonces.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

SSH_PASSWORD = "RUNNER_SSH_PASSWORD"
BECOME_PASSWORD = "RUNNER_BECOME_PASSWORD"
KEY_PASSPHRASE = "RUNNER_KEY_PASSPHRASE"

#: Every environment variable that holds a secret. A new secret variable is added here.
SECRET_VARIABLES = (SSH_PASSWORD, BECOME_PASSWORD, KEY_PASSPHRASE)


@dataclass(frozen=True)
class Secrets:
    """The SSH password, the become (sudo) password and the private key passphrase of
    one run. Never shown: the repr says only which ones are set.

    >>> Secrets(ssh_password="pw", key_passphrase="")
    Secrets(ssh_password=<set>, become_password=None, key_passphrase=None)
    """

    ssh_password: str | None = field(default=None, repr=False)
    become_password: str | None = field(default=None, repr=False)
    key_passphrase: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("ssh_password", "become_password", "key_passphrase"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)  # an empty variable is no secret

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<set>' if getattr(self, name) is not None else None}"
            for name in ("ssh_password", "become_password", "key_passphrase")
        )
        return f"Secrets({shown})"

    __str__ = __repr__


def take_secrets(environ: MutableMapping[str, str]) -> Secrets:
    """Read the secret variables from ``environ`` and remove them from it.

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
    without any secret variable, plus ``extra`` (which cannot add one back either).

    >>> child_environment({"A": "1"}, environ={"PATH": "/bin", "RUNNER_BECOME_PASSWORD": "x"})
    {'PATH': '/bin', 'A': '1'}
    """
    base = os.environ if environ is None else environ
    env = {k: v for k, v in base.items() if k not in SECRET_VARIABLES}
    if extra:
        env.update((k, v) for k, v in extra.items() if k not in SECRET_VARIABLES)
    return env


__all__ = ["SECRET_VARIABLES", "Secrets", "child_environment", "take_secrets"]
