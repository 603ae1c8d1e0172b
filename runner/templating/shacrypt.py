"""SHA-crypt (``$5$``, ``$6$``), written from Ulrich Drepper's published specification
"Unix crypt using SHA-256 and SHA-512", and MD5-crypt (``$1$``, Poul-Henning Kamp's
FreeBSD scheme), for the ``password_hash`` filter: Python's crypt module is deprecated
and gone in 3.13.

>>> sha_crypt("pass", "saltsalt", "sha512").startswith("$6$saltsalt$")
True
"""

from __future__ import annotations

import hashlib
import secrets

_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ROUNDS_DEFAULT = 5000
_ROUNDS_MIN, _ROUNDS_MAX = 1000, 999_999_999

# the order the digest's bytes are encoded in, three at a time (the spec's tables)
_ORDER = {
    "sha512": [
        (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26),
        (6, 27, 48), (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32),
        (12, 33, 54), (34, 55, 13), (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38),
        (18, 39, 60), (40, 61, 19), (62, 20, 41),
    ],
    "sha256": [
        (0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5),
        (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29),
    ],
}  # fmt: skip
_PREFIX = {"sha512": "$6$", "sha256": "$5$"}


def _b64(b2: int, b1: int, b0: int, count: int) -> str:
    word = (b2 << 16) | (b1 << 8) | b0
    out = ""
    for _ in range(count):
        out += _ALPHABET[word & 0x3F]
        word >>= 6
    return out


def _repeat(digest: bytes, size: int) -> bytes:
    return (digest * (size // len(digest) + 1))[:size]


def random_salt(size: int = 16) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(size))


def sha_crypt(
    password: str, salt: str | None, kind: str = "sha512", rounds: int | None = None
) -> str:
    """The ``$6$salt$hash`` (or ``$5$``) of ``password``; ``rounds`` other than 5000 is
    written as ``rounds=N$``, as glibc and openssl do."""
    new = getattr(hashlib, kind)
    key = password.encode()
    salt_text = (salt if salt is not None else random_salt())[:16]
    salt_bytes = salt_text.encode()
    custom = rounds is not None
    count = min(max(rounds if rounds is not None else _ROUNDS_DEFAULT, _ROUNDS_MIN), _ROUNDS_MAX)

    alternate = new(key + salt_bytes + key).digest()
    size = len(alternate)
    first = new(key + salt_bytes)
    left = len(key)
    while left > size:
        first.update(alternate)
        left -= size
    first.update(alternate[:left])
    bits = len(key)
    while bits:
        first.update(alternate if bits & 1 else key)
        bits >>= 1
    result = first.digest()

    p_bytes = _repeat(new(key * len(key)).digest(), len(key))
    s_bytes = _repeat(new(salt_bytes * (16 + result[0])).digest(), len(salt_bytes))
    for i in range(count):
        step = new(p_bytes if i & 1 else result)
        if i % 3:
            step.update(s_bytes)
        if i % 7:
            step.update(p_bytes)
        step.update(result if i & 1 else p_bytes)
        result = step.digest()

    encoded = "".join(_b64(result[a], result[b], result[c], 4) for a, b, c in _ORDER[kind])
    if kind == "sha512":
        encoded += _b64(0, 0, result[63], 2)
    else:
        encoded += _b64(0, result[31], result[30], 3)
    head = _PREFIX[kind] + (f"rounds={count}$" if custom else "")
    return f"{head}{salt_text}${encoded}"


_MD5_ORDER = [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)]


def md5_crypt(password: str, salt: str | None) -> str:
    """The ``$1$salt$hash`` of ``password`` (salt of at most 8 characters)."""
    key = password.encode()
    salt_text = (salt if salt is not None else random_salt(8))[:8]
    salt_bytes = salt_text.encode()
    alternate = hashlib.md5(key + salt_bytes + key).digest()  # noqa: S324 - the scheme's hash
    first = hashlib.md5(key + b"$1$" + salt_bytes)  # noqa: S324
    for left in range(len(key), 0, -16):
        first.update(alternate[: min(16, left)])
    bits = len(key)
    while bits:
        first.update(b"\0" if bits & 1 else key[:1])
        bits >>= 1
    result = first.digest()
    for i in range(1000):
        step = hashlib.md5(key if i & 1 else result)  # noqa: S324
        if i % 3:
            step.update(salt_bytes)
        if i % 7:
            step.update(key)
        step.update(result if i & 1 else key)
        result = step.digest()
    encoded = "".join(_b64(result[a], result[b], result[c], 4) for a, b, c in _MD5_ORDER)
    encoded += _b64(0, 0, result[11], 2)
    return f"$1${salt_text}${encoded}"
