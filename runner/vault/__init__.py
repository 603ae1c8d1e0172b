"""Ansible Vault: the format (crypto.py), the run's passwords and decrypting with them
(keyring.py), and where the passwords come from (passwords.py: files, scripts, prompts).

What is encrypted stays a :class:`runner.tagged.VaultValue` in the loaded variables
until something reads it; whole encrypted files are decrypted as they are read.
"""

from __future__ import annotations

from runner.vault.keyring import HOW_TO, Keyring, forget_keyrings, run_keyring

__all__ = ["HOW_TO", "Keyring", "forget_keyrings", "run_keyring"]
