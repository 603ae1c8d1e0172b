"""``runner copy`` and ``runner fetch``: one file to or from every host over SFTP.

A decorator over the SSH transport whose ``run`` performs the transfer and returns a
CommandResult describing it, so the engine, the live progress, JSON, --out-dir and exit
codes work exactly as for ``runner run``. A transfer is skipped when both sides already
have the same SHA-256 (and, for copy, the same mode); modes are preserved.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.errors import TaskError, UnsafePathError
from runner.localpaths import fetch_path
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Transfer:
    """``direction`` is "copy" (local ``src`` -> remote ``dest``) or "fetch" (remote
    ``src`` -> local ``dest``/HOST/basename)."""

    direction: str
    src: str
    dest: str


def remote_digest(transport: Transport, path: str, timeout: float | None) -> tuple[str, int] | None:
    """(sha256, mode) of a remote file, or None when it does not exist: one round trip."""
    quoted = shlex.quote(path)
    out, err = OutputCapture(4096), OutputCapture(4096)
    result = transport.run(
        f"test -f {quoted} || exit 3; sha256sum -- {quoted} && stat -c %a -- {quoted}",
        stdout=out,
        stderr=err,
        timeout=timeout,
    )
    if result.exit_code == 3:
        return None
    lines = result.stdout_text.split()
    if result.exit_code != 0 or len(lines) < 3:
        raise TaskError(f"cannot checksum {path}: {result.stderr_text.strip() or 'no output'}")
    return lines[0], int(lines[-1], 8)


class TransferTransport(Transport):
    """Runs one Transfer on ``inner`` (an SSH transport with upload/download)."""

    def __init__(self, inner: Transport, transfer: Transfer, local: tuple[str, int] | None):
        self.inner = inner
        self.host = inner.host
        self.transfer = transfer
        self.local = local  # (sha256, mode) of the local source for copy, computed once

    def connect(self) -> None:
        self.inner.connect()

    def run(
        self,
        command: str,
        *,
        stdout: OutputCapture,
        stderr: OutputCapture,
        timeout: float | None = None,
        **_: Any,
    ) -> CommandResult:
        if not hasattr(self.inner, "upload"):
            raise TaskError("copy and fetch need an SSH connection", host=self.host.name)
        started = time.monotonic()
        try:
            if self.transfer.direction == "copy":
                message = self._copy(timeout)
            else:
                message = self._fetch(timeout)
        except TaskError as exc:
            exc.host = self.host.name
            raise
        except OSError as exc:
            raise TaskError(
                f"{self.transfer.direction} failed: {exc.strerror or exc}", host=self.host.name
            ) from exc
        stdout.feed(message.encode() + b"\n")
        stdout.close()
        stderr.close()
        return CommandResult(0, stdout.value, b"", time.monotonic() - started)

    def _copy(self, timeout: float | None) -> str:
        t = self.transfer
        assert self.local is not None
        digest, mode = self.local
        dest = t.dest
        if dest.endswith("/"):
            dest += os.path.basename(t.src)
        remote = remote_digest(self.inner, dest, timeout)
        if remote == (digest, mode):
            return f"unchanged {dest} (sha256 {digest[:12]})"
        size = self.inner.upload(t.src, dest, mode)  # type: ignore[attr-defined]
        return f"copied {t.src} -> {dest} ({size} bytes, mode {mode:o}, sha256 {digest[:12]})"

    def _fetch(self, timeout: float | None) -> str:
        t = self.transfer
        try:  # DEST/HOST/NAME, kept inside DEST whatever the host name and SRC
            local = fetch_path(t.dest, self.host.name, t.src)
        except UnsafePathError as exc:
            raise TaskError(exc.message, hint=exc.hint) from exc
        os.makedirs(os.path.dirname(local), exist_ok=True)
        remote = remote_digest(self.inner, t.src, timeout)
        if remote is None:
            raise TaskError(f"{t.src}: no such file on the host")
        if os.path.isfile(local) and file_sha256(local) == remote[0]:
            os.chmod(local, remote[1])
            return f"unchanged {local} (sha256 {remote[0][:12]})"
        size, mode = self.inner.download(t.src, local)  # type: ignore[attr-defined]
        if file_sha256(local) != remote[0]:
            raise TaskError(f"{t.src}: checksum mismatch after download (file changed?)")
        return f"fetched {t.src} -> {local} ({size} bytes, mode {mode:o}, sha256 {remote[0][:12]})"

    def close(self) -> None:
        self.inner.close()


def transfer_factory(
    factory: Callable[[Host], Transport], transfer: Transfer
) -> Callable[[Host], Transport]:
    local = None
    if transfer.direction == "copy":
        local = (file_sha256(transfer.src), stat.S_IMODE(os.stat(transfer.src).st_mode))

    def make(host: Host) -> Transport:
        return TransferTransport(factory(host), transfer, local)

    for name in ("close", "prepare", "context"):
        if hasattr(factory, name):
            setattr(make, name, getattr(factory, name))
    return make
