"""The vault options of run, play, copy, fetch and inventory, and the one place they
become the run's keyring (runner.vault.Keyring).

As in Ansible: ``--vault-id [LABEL@]SOURCE`` (repeatable; SOURCE a file, a script or
``prompt``), ``--vault-password-file FILE`` (repeatable; the label ``default``),
``--ask-vault-pass`` (``default@prompt``), and the environment variables
``ANSIBLE_VAULT_IDENTITY_LIST`` (vault ids, comma-separated, tried first) and
``ANSIBLE_VAULT_PASSWORD_FILE``. Ansible's short ``-J`` is runner's ``--jump``, so
``--ask-vault-pass`` has no short form here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from runner.cli.environment import Environment
from runner.errors import ConfigError
from runner.vault import Keyring

PASSWORD_FILE_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"
IDENTITY_LIST_ENV = "ANSIBLE_VAULT_IDENTITY_LIST"


def vault_options(func: Callable) -> Callable:
    """--vault-id, --vault-password-file, --ask-vault-pass."""
    options = [
        click.option(
            "--vault-id",
            "vault_ids",
            multiple=True,
            metavar="[LABEL@]SOURCE",
            help="A vault password: SOURCE is a file, a script printing it, or 'prompt' "
            f"(repeatable; env {IDENTITY_LIST_ENV}).",
        ),
        click.option(
            "--vault-password-file",
            "--vault-pass-file",
            "vault_password_files",
            multiple=True,
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="The vault password file, or a script printing it (repeatable; env "
            f"{PASSWORD_FILE_ENV}).",
        ),
        click.option(
            "--ask-vault-pass",
            "--ask-vault-password",
            "ask_vault_pass",
            is_flag=True,
            help="Ask once for the vault password.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def vault_settings(
    params: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(vault ids, vault password files) from the options and the environment, in the
    order Ansible tries them: configured identities, --vault-id, --ask-vault-pass.

    >>> vault_settings({"vault_ids": ("prod@p",), "ask_vault_pass": True},
    ...                {"ANSIBLE_VAULT_IDENTITY_LIST": "dev@d, qa@q", "ANSIBLE_VAULT_PASSWORD_FILE": "f"})
    (('dev@d', 'qa@q', 'prod@p', 'default@prompt'), ('f',))
    """
    listed = [v.strip() for v in environ.get(IDENTITY_LIST_ENV, "").split(",") if v.strip()]
    ids = [*listed, *(params.get("vault_ids") or ())]
    if params.get("ask_vault_pass"):
        ids.append("default@prompt")
    files = list(params.get("vault_password_files") or ())
    if environ.get(PASSWORD_FILE_ENV):
        files.append(environ[PASSWORD_FILE_ENV])
    return tuple(ids), tuple(files)


def open_keyring(params: Mapping[str, Any], env: Environment) -> Keyring:
    """The run's vault passwords (from the options in ``params`` and the environment),
    read or asked for once, before anything is loaded; ConfigError naming the option
    when one cannot be read."""
    vault_ids, password_files = vault_settings(params, env.environ)
    if not vault_ids and not password_files:
        return Keyring()
    from runner.vault.passwords import load_keyring

    def ask(question: str) -> str | None:
        if not env.is_interactive():
            raise ConfigError(
                f"{question} requested but stdin is not a terminal",
                hint="give --vault-password-file FILE (or ANSIBLE_VAULT_PASSWORD_FILE)",
            )
        return env.prompt(question)

    return load_keyring(vault_ids, password_files, ask)


__all__ = ["open_keyring", "vault_options", "vault_settings"]
