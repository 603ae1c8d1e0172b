"""Reading the text files a user gives runner (inventories, variables files, playbooks,
pattern files): bounded in size, UTF-8, every error naming the file (and the line of a
bad byte). Parsing is runner.safeyaml's job."""

from __future__ import annotations

from typing import BinaryIO

from runner.errors import InputError

__all__ = ["MAX_FILE_BYTES", "read_bounded", "read_text"]

MAX_FILE_BYTES = 256 * 1024 * 1024  # a YAML, JSON or INI file read whole


def read_bounded(stream: BinaryIO, limit: int, chunk: int = 1 << 20) -> bytes:
    """At most ``limit`` bytes of ``stream``, read in chunks. (``read(limit)`` would make a
    ``limit``-sized buffer first: 256 MiB at once for every small inventory file.)

    >>> import io
    >>> read_bounded(io.BytesIO(b"abcdef"), 4, chunk=3), read_bounded(io.BytesIO(b"ab"), 4)
    (b'abcd', b'ab')
    """
    parts: list[bytes] = []
    left = limit
    while left > 0:
        data = stream.read(min(chunk, left))
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def read_text(path: str, error: type[InputError] = InputError) -> str:
    """Read a UTF-8 text file of at most ``MAX_FILE_BYTES``; errors name file and line."""
    try:
        with open(path, "rb") as fh:
            raw = read_bounded(fh, MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise error(
            f"cannot read file: {getattr(exc, 'strerror', None) or exc}", path=path
        ) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise error(
            f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
            path=path,
            hint="split it into several files in an inventory directory",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(
            f"file is not valid UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column})",
            path=path,
            line=line,
            hint="save the file as UTF-8",
        ) from exc
