"""The vault options of run, play, copy, fetch and inventory, and the one place they
become the run's keyring (runner.vault.Keyring).

As in Ansible: ``--vault-id [LABEL@]SOURCE`` (repeatable; SOURCE a file, a script or
``prompt``), ``--vault-password-file FILE`` (repeatable; the label ``default``),
``--ask-vault-pass`` (``default@prompt``), and the project settings (runner.project:
``vault_identity_list``, vault ids tried first, and ``vault_password_file``, which
--vault-password-file replaces; in ansible.cfg's ``[defaults]`` or
``ANSIBLE_VAULT_IDENTITY_LIST`` / ``ANSIBLE_VAULT_PASSWORD_FILE``). Ansible's short
``-J`` is runner's ``--jump``, so ``--ask-vault-pass`` has no short form here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from runner.cli.environment import Environment
from runner.errors import ConfigError
from runner.vault import Keyring

if TYPE_CHECKING:
    from runner.project.settings import ProjectSettings


def vault_options(func: Callable) -> Callable:
    """--vault-id, --vault-password-file, --ask-vault-pass."""
    options = [
        click.option(
            "--vault-id",
            "vault_ids",
            multiple=True,
            metavar="[LABEL@]SOURCE",
            help="A vault password: SOURCE is a file, a script printing it, or 'prompt' "
            "(repeatable; tried after ansible.cfg's vault_identity_list).",
        ),
        click.option(
            "--vault-password-file",
            "--vault-pass-file",
            "vault_password_files",
            multiple=True,
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="The vault password file, or a script printing it (repeatable; "
            "replaces vault_password_file of ansible.cfg or the environment).",
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
    params: Mapping[str, Any], settings: ProjectSettings
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(vault ids, vault password files) in the order Ansible tries them: the
    configured identities (``vault_identity_list``), --vault-id, --ask-vault-pass. The
    password files are the ``vault_password_file`` setting (runner.project.settings):
    the --vault-password-file options, else ANSIBLE_VAULT_PASSWORD_FILE, else
    ansible.cfg's ``vault_password_file``."""
    ids = [*settings["vault_identity_list"], *(params.get("vault_ids") or ())]
    if params.get("ask_vault_pass"):
        ids.append("default@prompt")
    files = settings["vault_password_file"] or ()
    return tuple(ids), (files if isinstance(files, tuple) else (files,))


def open_keyring(params: Mapping[str, Any], env: Environment, settings: ProjectSettings) -> Keyring:
    """The run's vault passwords (from the options in ``params`` and the project
    settings), read or asked for once, before anything is loaded; ConfigError naming
    the option when one cannot be read."""
    vault_ids, password_files = vault_settings(params, settings)
    if not vault_ids and not password_files:
        return Keyring()
    from runner.vault.passwords import load_keyring

    def ask(question: str) -> str | None:
        if not env.is_interactive():
            raise ConfigError(
                f"{question} requested but stdin is not a terminal",
                hint="give --vault-password-file FILE (or ANSIBLE_VAULT_PASSWORD_FILE, or "
                "vault_password_file in ansible.cfg)",
            )
        return env.prompt(question)

    found = settings.values["vault_password_file"]
    option = {
        "env": f"{found.key} =",
        "file": f"{found.path}:{found.line}: {found.key} =",
    }.get(found.level, "--vault-password-file")
    return load_keyring(vault_ids, password_files, ask, file_option=option)


__all__ = ["open_keyring", "vault_options", "vault_settings"]
