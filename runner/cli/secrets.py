"""The run's secrets, asked for once at the CLI: the SSH and become passwords (-k, -K or
their ansible.cfg names), an encrypted key's passphrase, and the vault passwords the
keyring already read (runner.cli.vault.open_keyring). Never part of a RunConfig."""

from __future__ import annotations

from runner.cli.environment import Environment
from runner.config import BECOME_PASSWORD, SSH_PASSWORD, RunConfig, Secrets
from runner.errors import ConfigError
from runner.vault import Keyring


def resolve_secrets(config: RunConfig, env: Environment, vault: Keyring | None = None) -> Secrets:
    """The run's secrets: those taken from the environment at start, the SSH password
    asked once for -k (or ask_pass), the become (sudo) password once for -K (or
    become_ask_pass) when it had none, and the vault passwords already read
    (runner.cli.vault.open_keyring)."""
    given = env.secrets
    ssh_password = given.ssh_password
    if not ssh_password and config.connection.ask_pass:
        why = config.connection.origins.get("ask_pass")
        ssh_password = _ask(env, "SSH password", SSH_PASSWORD, why)
    become_password = given.become_password
    if not become_password and config.become.ask_password:
        why = config.become.origins.get("ask_password")
        become_password = _ask(env, "BECOME (sudo) password", BECOME_PASSWORD, why)
    return Secrets(
        ssh_password=ssh_password,
        become_password=become_password,
        key_passphrase=given.key_passphrase,
        vault_passwords=vault.secrets if vault is not None else (),
    )


def _ask(env: Environment, text: str, variable: str, why: str | None) -> str:
    """Ask for a secret; when nobody can answer, the error says which setting asked
    (an ansible.cfg line, a variable) if it was not a flag."""
    try:
        return env.ask_secret(text, variable)
    except ConfigError as exc:
        if why is None:
            raise
        raise ConfigError(f"{exc.message} (asked for by {why})", hint=exc.hint) from exc


class PassphrasePrompt:
    """Asks the operator for an encrypted key's passphrase (the keyring asks at most once
    per run) and keeps the answer, so --procs workers get it in their run."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.answer: str | None = None

    def __repr__(self) -> str:
        return f"PassphrasePrompt(answer={'<set>' if self.answer else None})"

    def __call__(self, path: str) -> str | None:
        if not self.env.is_interactive():
            return None
        self.answer = self.env.prompt(f"Passphrase for {path}") or None
        return self.answer


__all__ = ["PassphrasePrompt", "resolve_secrets"]
