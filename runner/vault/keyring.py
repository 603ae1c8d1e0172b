"""The run's vault passwords, and decrypting with them: whole files when they are read,
``!vault`` values when a template or a setting reads them.

Which password is tried first follows Ansible: a vault text written with a vault id
(format 1.2, ``$ANSIBLE_VAULT;1.2;AES256;prod``) tries the passwords given for that
label first, then every other one; the first whose HMAC matches decrypts it.

>>> from runner.vault.crypto import encrypt
>>> ring = Keyring((("default", b"wrong"), ("prod", b"pw")))
>>> ring
Keyring(labels=['default', 'prod'])
>>> ring.decrypt(encrypt(b"s3cret", b"pw"), where="vars.yml")
's3cret'
>>> Keyring().decrypt(encrypt(b"s3cret", b"pw"), where="vars.yml")
Traceback (most recent call last):
runner.errors.VaultError: vars.yml: this is encrypted with Ansible Vault and no vault password was given
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from runner.errors import VaultError
from runner.tagged import UnsafeText, VaultValue, contains_vault
from runner.vault import crypto

HOW_TO = (
    "give the vault password with --vault-password-file FILE, --vault-id [LABEL@]FILE, "
    "--ask-vault-pass, or vault_password_file in ansible.cfg (ANSIBLE_VAULT_PASSWORD_FILE)"
)
NO_PASSWORD = "no vault password was given"
NO_MATCH = "Decryption failed (no vault secrets were found that could decrypt)"


@dataclass(frozen=True)
class Keyring:
    """The vault passwords of one run, as (label, password) pairs in the order given.
    Never shown: the repr names the labels only."""

    secrets: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    # vault text -> plaintext: every host reading the same group variable decrypts it once
    _plain: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Keyring(labels={[label for label, _ in self.secrets]})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def _candidates(self, label: str | None) -> list[bytes]:
        first = [pw for name, pw in self.secrets if label and name == label]
        return first + [pw for name, pw in self.secrets if not (label and name == label)]

    def decrypt_bytes(self, text: str, *, where: str | None, line: int | None = None) -> bytes:
        """The plaintext of the vault text ``text`` (VaultError naming ``where``)."""
        known = self._plain.get(text)
        if known is not None:
            return known
        if not self.secrets:
            raise VaultError(
                f"this is encrypted with Ansible Vault and {NO_PASSWORD}",
                path=where,
                line=line,
                hint=HOW_TO,
            )
        try:
            envelope = crypto.parse(text)
        except crypto.FormatError as exc:
            raise VaultError(f"malformed Ansible Vault data: {exc}", path=where, line=line) from exc
        try:
            for password in self._candidates(envelope.label):
                plain = crypto.decrypt(envelope, password)
                if plain is not None:
                    self._plain[text] = plain
                    return plain
        except crypto.FormatError as exc:
            raise VaultError(f"malformed Ansible Vault data: {exc}", path=where, line=line) from exc
        label = f" (vault id {envelope.label!r})" if envelope.label else ""
        raise VaultError(
            f"{NO_MATCH}{label}",
            path=where,
            line=line,
            hint="check the vault password (or the --vault-id label) it was encrypted with",
        )

    def decrypt(self, text: str, *, where: str | None, line: int | None = None) -> str:
        """The plaintext as text (UTF-8)."""
        plain = self.decrypt_bytes(text, where=where, line=line)
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VaultError("the decrypted data is not UTF-8 text", path=where, line=line) from exc

    def reveal(self, value: Any, name: str) -> Any:
        """``value`` with every VaultValue in it decrypted (lists and dicts are copied);
        a VaultError names the variable ``name``, where the value was read and what to do.

        >>> Keyring().reveal(VaultValue("$ANSIBLE_VAULT;1.1;AES256\\n31", "all.yml", 2), "db")
        Traceback (most recent call last):
        runner.errors.VaultError: all.yml:2: variable 'db' is encrypted with Ansible Vault and no vault password was given: give the vault password with --vault-password-file FILE, --vault-id [LABEL@]FILE, --ask-vault-pass, or vault_password_file in ansible.cfg (ANSIBLE_VAULT_PASSWORD_FILE)
        """
        if value.__class__ is VaultValue:
            return self._open(value, name)
        if isinstance(value, Mapping) and contains_vault(value):
            return {k: self.reveal(v, name) for k, v in value.items()}
        if isinstance(value, (list, tuple)) and contains_vault(value):
            return [self.reveal(v, name) for v in value]
        return value

    def revealing(self, variables: Mapping[str, Any]) -> Mapping[str, Any]:
        """``variables`` whose ``!vault`` values are decrypted when one is read (for the
        settings read straight from a host's variables: ``ansible_become_password``).

        >>> Keyring().revealing({"a": 1})["a"]
        1
        """
        return _Revealing(variables, self)

    def _open(self, value: VaultValue, name: str) -> str:
        if not self.secrets:
            raise VaultError(
                f"variable {name!r} is encrypted with Ansible Vault and {NO_PASSWORD}: {HOW_TO}",
                path=value.path,
                line=value.line,
            )
        try:  # a secret is data, never a template (as in Ansible 2.19)
            return UnsafeText(self.decrypt(value.envelope, where=value.path, line=value.line))
        except VaultError as exc:
            detail = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
            raise VaultError(f"variable {name!r}: {detail}", path=exc.path, line=exc.line) from exc


class _Revealing(Mapping[str, Any]):
    def __init__(self, data: Mapping[str, Any], keyring: Keyring) -> None:
        self._data, self._keyring = data, keyring

    def __getitem__(self, key: str) -> Any:
        return self._keyring.reveal(self._data[key], key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@lru_cache(maxsize=8)
def run_keyring(secrets: tuple[tuple[str, bytes], ...]) -> Keyring:
    """One keyring per run's passwords (Secrets.vault_passwords), so the hosts of a run
    share what it has decrypted."""
    return Keyring(secrets)


def forget_keyrings() -> None:
    """Drop every run's keyring (passwords and decrypted texts): a long-lived process
    (the connection keeper, a cluster worker) calls it when a run ends, so no run's vault
    secrets outlive it there.

    >>> ring = run_keyring((("default", b"pw"),))
    >>> run_keyring((("default", b"pw"),)) is ring
    True
    >>> forget_keyrings(); run_keyring((("default", b"pw"),)) is ring
    False
    """
    run_keyring.cache_clear()


__all__ = ["HOW_TO", "Keyring", "NO_MATCH", "NO_PASSWORD", "forget_keyrings", "run_keyring"]
