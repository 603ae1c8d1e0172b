"""Where vault passwords come from, as Ansible reads them.

A vault id is ``[LABEL@]SOURCE`` (the label defaults to ``default``). SOURCE is
``prompt`` (ask the operator), or a file: a plain file holds the password (surrounding
white space is dropped); an executable file is a script whose standard output is the
password. A script named ``*-client`` (``vault-keyring-client.py``) is a client script
and is run with ``--vault-id LABEL``; exit code 2 from it means "no password for that
label". ``--vault-password-file FILE`` is the vault id ``default@FILE`` and
``--ask-vault-pass`` is ``default@prompt``.

>>> parse_vault_id("prod@/etc/vault.pw"), parse_vault_id("pw.txt"), parse_vault_id("prompt")
(('prod', '/etc/vault.pw'), ('default', 'pw.txt'), ('default', 'prompt'))
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence

from runner.config import child_environment
from runner.errors import ConfigError
from runner.vault.keyring import Keyring

DEFAULT_LABEL = "default"
CLIENT_UNKNOWN_ID = 2  # a client script's exit code for "no secret for this vault id"

Prompt = Callable[[str], str | None]


def parse_vault_id(spec: str) -> tuple[str, str]:
    """``[LABEL@]SOURCE`` -> (label, source)."""
    label, sep, source = spec.partition("@")
    if not sep:
        return DEFAULT_LABEL, spec
    if not label or not source:
        raise ConfigError(
            f"--vault-id {spec!r}: expected [LABEL@]FILE or [LABEL@]prompt",
            hint="for example --vault-id prod@~/.vault-prod or --vault-id dev@prompt",
        )
    return label, source


def _is_client(path: str) -> bool:
    return os.path.splitext(os.path.basename(path))[0].endswith("-client")


def read_password_source(label: str, source: str, *, option: str = "--vault-id") -> bytes:
    """The password in (or printed by) the file ``source``; ConfigError naming it."""
    path = os.path.expanduser(source)
    shown = f"{option} {source}"
    if os.path.isdir(path):
        raise ConfigError(f"{shown}: the vault password file is a directory")
    if not os.path.exists(path):
        raise ConfigError(f"{shown}: the vault password file was not found")
    if os.access(path, os.X_OK):
        password = _run_script(path, label, shown).strip(b"\r\n")
        kind = "script"
    else:
        try:
            with open(path, "rb") as fh:
                password = fh.read().strip()
        except OSError as exc:
            raise ConfigError(
                f"{shown}: cannot read the vault password file: {exc.strerror}"
            ) from exc
        kind = "file"
    if not password:
        raise ConfigError(f"{shown}: the vault password {kind} gave an empty password")
    return password


def _run_script(path: str, label: str, shown: str) -> bytes:
    command = [path]
    if _is_client(path):
        command += ["--vault-id", label]
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=child_environment(),  # never runner's own secrets
            check=False,
        )
    except OSError as exc:
        raise ConfigError(
            f"{shown}: cannot run the vault password script: {exc.strerror}",
            hint="if it is not a script, remove its executable bit (chmod -x)",
        ) from exc
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()[:200]
        what = (
            f"has no password for vault id {label!r}"
            if _is_client(path) and done.returncode == CLIENT_UNKNOWN_ID
            else f"exited with status {done.returncode}"
        )
        raise ConfigError(
            f"{shown}: the vault password script {what}" + (f": {said}" if said else "")
        )
    return done.stdout


def load_keyring(
    vault_ids: Sequence[str],
    password_files: Sequence[str] = (),
    prompt: Prompt | None = None,
    *,
    file_option: str = "--vault-password-file",
) -> Keyring:
    """The run's vault passwords: each ``--vault-id`` then each ``--vault-password-file``
    (label ``default``), as Ansible orders them, read now (ConfigError before anything
    runs). ``prompt`` asks the operator (None: nobody to ask, an error); an error about
    a password file names ``file_option``, where the files were given."""
    secrets: list[tuple[str, bytes]] = []
    for spec in vault_ids:
        label, source = parse_vault_id(spec)
        if source == "prompt":
            question = "Vault password" + (f" ({label})" if label != DEFAULT_LABEL else "")
            answer = prompt(question) if prompt is not None else None
            if not answer:
                raise ConfigError(
                    f"--vault-id {spec}: no vault password was entered",
                    hint="run it on a terminal, or give --vault-password-file FILE",
                )
            secrets.append((label, answer.encode("utf-8")))
        else:
            secrets.append((label, read_password_source(label, source)))
    for path in password_files:
        password = read_password_source(DEFAULT_LABEL, path, option=file_option)
        secrets.append((DEFAULT_LABEL, password))
    return Keyring(tuple(secrets))


__all__ = ["DEFAULT_LABEL", "load_keyring", "parse_vault_id", "read_password_source"]
