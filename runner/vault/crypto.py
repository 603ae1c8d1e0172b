"""The Ansible Vault format (1.1 and 1.2, AES256), read and written.

A vault text is a header line, ``$ANSIBLE_VAULT;1.1;AES256`` (1.2 adds ``;LABEL``, the
vault id), then the payload in hex, 80 characters a line. The payload, unhexlified, is
three lines: the salt (hex), the HMAC (hex) and the ciphertext (hex). From the password
and the salt PBKDF2-HMAC-SHA256 (10,000 rounds) derives 80 bytes: the AES-256 key, the
HMAC-SHA256 key and the 16-byte initial counter. The plaintext is PKCS#7-padded to the
AES block and encrypted in CTR mode; the HMAC covers the ciphertext.

The ``cryptography`` package (paramiko's dependency) does AES; it is imported on first
use, so a run without vault data never loads it.

>>> text = encrypt(b"s3cret", b"pw", label="prod", salt=b"0" * 32)
>>> text.splitlines()[0]
'$ANSIBLE_VAULT;1.2;AES256;prod'
>>> decrypt(parse(text), b"pw"), decrypt(parse(text), b"wrong")
(b's3cret', None)
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from functools import lru_cache

HEADER = "$ANSIBLE_VAULT"
CIPHER = "AES256"
ROUNDS = 10_000
_KEY, _IV = 32, 16
_BLOCK = 16


class FormatError(ValueError):
    """Text that starts like a vault but is not one (a bad header, or bad hex)."""


@dataclass(frozen=True)
class Envelope:
    """One parsed vault text: its version, cipher and vault id (``label``, 1.2 only)."""

    version: str
    cipher: str
    label: str | None
    salt: bytes = field(repr=False)
    mac: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)


def is_vault(text: str) -> bool:
    """True when ``text`` (leading blank lines and spaces aside) is a vault text.

    >>> is_vault("$ANSIBLE_VAULT;1.1;AES256\\n3633"), is_vault("a: 1")
    (True, False)
    """
    return text.lstrip("\ufeff \t\r\n").startswith(HEADER + ";")


def parse(text: str) -> Envelope:
    """The parts of a vault text (FormatError when it is not one).

    >>> parse("$ANSIBLE_VAULT;1.1;AES256\\nzz")
    Traceback (most recent call last):
    runner.vault.crypto.FormatError: the encrypted data is not hexadecimal
    """
    lines = text.strip().splitlines()
    if not lines:
        raise FormatError("no vault header")
    fields_ = [part.strip() for part in lines[0].strip().split(";")]
    if fields_[0] != HEADER or len(fields_) < 3:
        raise FormatError(f"the vault header {lines[0][:60]!r} is not '$ANSIBLE_VAULT;1.1;AES256'")
    version, cipher = fields_[1], fields_[2]
    label = fields_[3] if len(fields_) > 3 and fields_[3] else None
    try:
        payload = binascii.unhexlify("".join(line.strip() for line in lines[1:]))
        salt_hex, mac_hex, data_hex = payload.split(b"\n", 2)
        salt = binascii.unhexlify(salt_hex)
        mac = binascii.unhexlify(mac_hex)
        ciphertext = binascii.unhexlify(data_hex)
    except (binascii.Error, ValueError):
        raise FormatError("the encrypted data is not hexadecimal") from None
    return Envelope(version, cipher, label, salt, mac, ciphertext)


@lru_cache(maxsize=256)
def _keys(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
    """(AES key, HMAC key, initial counter); cached: 10,000 rounds cost milliseconds,
    and every host reading the same group variable would pay them again."""
    derived = hashlib.pbkdf2_hmac("sha256", password, salt, ROUNDS, 2 * _KEY + _IV)
    return derived[:_KEY], derived[_KEY : 2 * _KEY], derived[2 * _KEY :]


def _ctr(key: bytes, counter: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    context = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
    return context.update(data) + context.finalize()


def decrypt(envelope: Envelope, password: bytes) -> bytes | None:
    """The plaintext, or None when ``password`` is not the one (its HMAC differs)."""
    if envelope.cipher != CIPHER:
        raise FormatError(f"cipher {envelope.cipher!r} is not supported (only {CIPHER})")
    aes_key, mac_key, counter = _keys(password, envelope.salt)
    expected = hmac.new(mac_key, envelope.ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, envelope.mac):
        return None
    padded = _ctr(aes_key, counter, envelope.ciphertext)
    pad = padded[-1] if padded else 0
    if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise FormatError("the decrypted data is not padded as a vault's is")
    return padded[:-pad]


def encrypt(
    plaintext: bytes, password: bytes, *, label: str | None = None, salt: bytes | None = None
) -> str:
    """A vault text (1.1, or 1.2 with ``label``) as ansible-vault writes it."""
    salt = os.urandom(32) if salt is None else salt
    aes_key, mac_key, counter = _keys(password, salt)
    pad = _BLOCK - len(plaintext) % _BLOCK
    ciphertext = _ctr(aes_key, counter, plaintext + bytes([pad]) * pad)
    mac = hmac.new(mac_key, ciphertext, hashlib.sha256).digest()
    payload = b"\n".join(binascii.hexlify(part) for part in (salt, mac, ciphertext))
    body = binascii.hexlify(payload).decode("ascii")
    header = f"{HEADER};1.2;{CIPHER};{label}" if label else f"{HEADER};1.1;{CIPHER}"
    return "\n".join([header, *(body[i : i + 80] for i in range(0, len(body), 80))]) + "\n"
