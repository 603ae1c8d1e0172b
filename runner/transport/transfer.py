"""``runner copy`` and ``runner fetch``: one file to or from every host over SFTP.

A decorator over the SSH transport whose ``run`` performs the transfer and returns a
CommandResult describing it, so the engine, the live progress, JSON, --out-dir and exit
codes work exactly as for ``runner run``. A transfer is skipped when both sides already
have the same SHA-256 (and, for copy, the same mode); modes are preserved.

With become (-b, --become-user, -K, or the host's ``ansible_become*`` variables, as for
``runner run``) the checksum, the write and the read go through sudo: copy sends the
content on the command's stdin to the become user, who writes it to a fresh temp file
next to DEST (mktemp), checks its SHA-256, sets the mode and renames it into place; fetch
reads the file with ``sudo cat`` and checks the SHA-256 of what arrived. No copy of the
file waits in /tmp where another user could read it. (A copy with become holds the file
in memory, once for all hosts.)
"""

from __future__ import annotations

import hashlib
import os
import shlex
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runner.become import Become, become_for_host, new_nonce
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


@dataclass(frozen=True)
class BecomeOptions:
    """The command line's become for copy and fetch: ``-b``, ``--become-user`` and the
    password of ``-K`` / RUNNER_BECOME_PASSWORD (never shown)."""

    enabled: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def for_host(self, host: Host) -> Become | None:
        """Whether and how ``host`` escalates: the same rule as ``runner run``."""
        return become_for_host(
            host.vars, become=self.enabled, user=self.user, password=self.password
        )


def _as(become: Become | None) -> dict[str, Any]:
    return {"become": become} if become is not None else {}


def remote_digest(
    transport: Transport, path: str, timeout: float | None, become: Become | None = None
) -> tuple[str, int] | None:
    """(sha256, mode) of a remote file, or None when it does not exist: one round trip."""
    quoted = shlex.quote(path)
    out, err = OutputCapture(4096), OutputCapture(4096)
    result = transport.run(
        f"test -f {quoted} || exit 3; sha256sum -- {quoted} && stat -c %a -- {quoted}",
        stdout=out,
        stderr=err,
        timeout=timeout,
        **_as(become),
    )
    if result.exit_code == 3:
        return None
    lines = result.stdout_text.split()
    if result.exit_code != 0 or len(lines) < 3:
        raise TaskError(f"cannot checksum {path}: {result.stderr_text.strip() or 'no output'}")
    return lines[0], int(lines[-1], 8)


def copy_script(dest: str, mode: int, digest: str) -> str:
    """Shell text, run as the become user, that writes its stdin to ``dest`` atomically:
    a fresh temp file next to it (mktemp: created exclusively, mode 0600), checked
    against ``digest``, given ``mode``, then renamed over ``dest``."""
    return (
        f"dest={shlex.quote(dest)}; "
        'if [ -d "$dest" ]; then echo "$dest: is a directory" >&2; exit 1; fi; '
        'tmp=$(mktemp -- "$dest.runner-XXXXXXXXXX") || exit 1; '
        'cat > "$tmp" && sum=$(sha256sum < "$tmp") || { rm -f -- "$tmp"; exit 1; }; '
        f'if [ "${{sum%% *}}" != {digest} ]; then rm -f -- "$tmp"; '
        'echo "checksum mismatch after upload" >&2; exit 1; fi; '
        f'chmod {mode:o} -- "$tmp" && mv -f -- "$tmp" "$dest" || {{ rm -f -- "$tmp"; exit 1; }}'
    )


class LocalSource:
    """The local file of a copy: (sha256, mode) computed once, its content read once
    (only when a host copies through sudo) and shared by every host."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.digest = file_sha256(path)
        self.mode = stat.S_IMODE(os.stat(path).st_mode)
        self._data: bytes | None = None

    def data(self) -> bytes:
        if self._data is None:
            with open(self.path, "rb") as fh:
                self._data = fh.read()
        return self._data


class TransferTransport(Transport):
    """Runs one Transfer on ``inner`` (an SSH transport with upload/download), through
    sudo when ``become`` is given."""

    def __init__(
        self,
        inner: Transport,
        transfer: Transfer,
        local: LocalSource | None,
        become: Become | None = None,
    ):
        self.inner = inner
        self.host = inner.host
        self.transfer = transfer
        self.local = local  # the local source of a copy, checksummed once
        self.become = become

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
        digest, mode = self.local.digest, self.local.mode
        dest = t.dest
        if dest.endswith("/"):
            dest += os.path.basename(t.src)
        remote = remote_digest(self.inner, dest, timeout, self.become)
        if remote == (digest, mode):
            return f"unchanged {dest} (sha256 {digest[:12]})"
        if self.become is None:
            size = self.inner.upload(t.src, dest, mode)  # type: ignore[attr-defined]
        else:
            size = self._copy_as(dest, timeout)
        return f"copied {t.src} -> {dest} ({size} bytes, mode {mode:o}, sha256 {digest[:12]})"

    def _copy_as(self, dest: str, timeout: float | None) -> int:
        """Write the file as the become user (content on the command's stdin)."""
        assert self.local is not None and self.become is not None
        data = self.local.data()
        err = OutputCapture(4096)
        result = self.inner.run(
            copy_script(dest, self.local.mode, self.local.digest),
            stdout=OutputCapture(4096),
            stderr=err,
            timeout=timeout,
            stdin=data,
            become=self.become,
        )
        if result.exit_code != 0:
            said = result.stderr_text.strip() or f"exit code {result.exit_code}"
            raise TaskError(f"cannot write {dest} as {self.become.target}: {said}")
        return len(data)

    def _fetch(self, timeout: float | None) -> str:
        t = self.transfer
        try:  # DEST/HOST/NAME, kept inside DEST whatever the host name and SRC
            local = fetch_path(t.dest, self.host.name, t.src)
        except UnsafePathError as exc:
            raise TaskError(exc.message, hint=exc.hint) from exc
        os.makedirs(os.path.dirname(local), exist_ok=True)
        remote = remote_digest(self.inner, t.src, timeout, self.become)
        if remote is None:
            raise TaskError(f"{t.src}: no such file on the host")
        if os.path.isfile(local) and file_sha256(local) == remote[0]:
            os.chmod(local, remote[1])
            return f"unchanged {local} (sha256 {remote[0][:12]})"
        if self.become is None:
            size, mode = self.inner.download(t.src, local)  # type: ignore[attr-defined]
        else:
            size, mode = self._fetch_as(t.src, local, remote, timeout)
        if file_sha256(local) != remote[0]:
            raise TaskError(f"{t.src}: checksum mismatch after download (file changed?)")
        return f"fetched {t.src} -> {local} ({size} bytes, mode {mode:o}, sha256 {remote[0][:12]})"

    def _fetch_as(
        self, src: str, local: str, remote: tuple[str, int], timeout: float | None
    ) -> tuple[int, int]:
        """Read ``src`` as the become user (``cat`` through sudo) into a fresh temp file
        that replaces ``local`` once its SHA-256 matches; return (bytes, remote mode)."""
        assert self.become is not None
        tmp = f"{local}.runner-{new_nonce()}"
        err = OutputCapture(4096)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                out = OutputCapture(0, sink_file=fh)  # all of it to the file, none in memory
                result = self.inner.run(
                    f"cat -- {shlex.quote(src)}",
                    stdout=out,
                    stderr=err,
                    timeout=timeout,
                    become=self.become,
                )
            if result.exit_code != 0:
                said = result.stderr_text.strip() or f"exit code {result.exit_code}"
                raise TaskError(f"cannot read {src} as {self.become.target}: {said}")
            if file_sha256(tmp) != remote[0]:
                raise TaskError(f"{src}: checksum mismatch after download (file changed?)")
            size = os.path.getsize(tmp)
            os.chmod(tmp, remote[1])
            os.replace(tmp, local)
            return size, remote[1]
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def close(self) -> None:
        self.inner.close()


def transfer_factory(
    factory: Callable[[Host], Transport],
    transfer: Transfer,
    become: BecomeOptions | None = None,
) -> Callable[[Host], Transport]:
    local = LocalSource(transfer.src) if transfer.direction == "copy" else None
    become = become or BecomeOptions()

    def make(host: Host) -> Transport:
        return TransferTransport(factory(host), transfer, local, become.for_host(host))

    for name in ("close", "prepare", "context"):
        if hasattr(factory, name):
            setattr(make, name, getattr(factory, name))
    return make
