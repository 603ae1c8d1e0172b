"""The transfer job (``runner copy`` and ``runner fetch``): one file to or from every host.

Without become the file goes over the transport's upload/download (SFTP over SSH), written
atomically. The outcome on each host is a CommandResult describing the transfer, so the
live progress, JSON, --out-dir and exit codes work exactly as for ``runner run``. A
transfer is skipped when both sides already have the same SHA-256 (and, for copy, the
same mode); modes are preserved. A copy's DEST is a template rendered per host, as
``runner run`` renders its command (``/srv/{{ inventory_hostname }}/app.conf``).

With become (-b, --become-user, -K, or the host's ``ansible_become*`` variables, as for
``runner run``) the checksum, the write and the read go through sudo: copy sends the
content on the command's stdin to the become user, who writes it to a fresh temp file
next to DEST (mktemp), checks its SHA-256, sets the mode and renames it into place; fetch
reads the file with ``sudo cat`` and checks the SHA-256 of what arrived. No copy of the
file waits in /tmp where another user could read it. (A copy with become holds the file
in memory, once for all hosts.)
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.become import Become, host_become, new_nonce
from runner.engine.command import check_host_template, render_for_host
from runner.engine.job import HostJob, JobContext
from runner.errors import ConfigError, TaskError, UnsafePathError
from runner.localpaths import fetch_path
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport
from runner.vault import Keyring, run_keyring


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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
        become=become,
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


@dataclass(frozen=True)
class TransferJob(HostJob):
    """One file to (``copy``: local ``src`` -> remote ``dest``) or from (``fetch``: remote
    ``src`` -> local ``dest``/HOST/NAME) every host. The outcome on a host is a
    CommandResult whose stdout says what was done, so the live view, JSON, --out-dir and
    exit codes are those of ``runner run``."""

    kind = "transfer"

    direction: str  # "copy" | "fetch"
    src: str
    dest: str

    def __post_init__(self) -> None:
        if self.direction not in ("copy", "fetch"):
            raise ValueError(f"direction must be copy or fetch, not {self.direction!r}")

    def check(self, hosts: Sequence[Host]) -> None:
        """An unreadable SRC, or a DEST template with a syntax error (or a constant one
        over the size limits), is an input error before any connection; an undefined
        variable in DEST fails only its host."""
        if self.direction != "copy":
            return
        self.source  # noqa: B018 - checksummed now: an unreadable SRC is an input error
        check_host_template(self.dest, "DEST")

    def render_dest(
        self, host: Host, extra_vars: Mapping[str, Any], vault: Keyring | None = None
    ) -> str:
        """A copy's DEST for one host, rendered as ``runner run`` renders its command:
        ``/srv/{{ inventory_hostname }}/app.conf``."""
        return render_for_host(self.dest, host, extra_vars, vault)

    @functools.cached_property
    def source(self) -> LocalSource:
        """The local file of a copy, checksummed once per job and shared by every host."""
        try:
            return LocalSource(self.src)
        except OSError as exc:
            raise ConfigError(f"copy SRC {self.src}: {exc.strerror}") from exc

    def on_host(
        self, ctx: JobContext, host: Host, connect: Callable[[], Transport]
    ) -> CommandResult:
        started = time.monotonic()
        vault = run_keyring(ctx.secrets.vault_passwords)
        become = host_become(
            vault.revealing(host.vars), ctx.config.become, ctx.secrets.become_password
        )
        timeout = ctx.config.command_timeout
        copying = self.direction == "copy"
        dest = self.render_dest(host, ctx.config.extra_vars, vault) if copying else ""
        transport = connect()
        remote = dest if self.direction == "copy" else self.src
        try:
            if self.direction == "copy":
                message = self._copy(transport, become, timeout, dest)
            else:
                message = self._fetch(transport, become, timeout)
        except OSError as exc:
            # a local error names its file; SFTP's errors name none: the remote path then
            path = exc.filename if exc.filename is not None else remote
            raise TaskError(f"{self.direction} failed: {path}: {exc.strerror or exc}") from exc
        return CommandResult(0, message.encode() + b"\n", b"", time.monotonic() - started)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "direction": self.direction, "src": self.src, "dest": self.dest}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransferJob:
        return cls(data["direction"], data["src"], data["dest"])

    def _copy(
        self, transport: Transport, become: Become | None, timeout: float | None, dest: str
    ) -> str:
        local = self.source
        digest, mode = local.digest, local.mode
        if dest.endswith("/"):
            dest += os.path.basename(self.src)
        remote = remote_digest(transport, dest, timeout, become)
        if remote == (digest, mode):
            return f"unchanged {dest} (sha256 {digest[:12]})"
        if become is None:
            size = transport.upload(self.src, dest, mode)
        else:
            size = _copy_as(transport, become, local, dest, timeout)
        return f"copied {self.src} -> {dest} ({size} bytes, mode {mode:o}, sha256 {digest[:12]})"

    def _fetch(self, transport: Transport, become: Become | None, timeout: float | None) -> str:
        try:  # DEST/HOST/NAME, kept inside DEST whatever the host name and SRC
            local = fetch_path(self.dest, transport.host.name, self.src)
        except UnsafePathError as exc:
            raise TaskError(exc.message, hint=exc.hint) from exc
        os.makedirs(os.path.dirname(local), exist_ok=True)
        remote = remote_digest(transport, self.src, timeout, become)
        if remote is None:
            raise TaskError(f"{self.src}: no such file on the host")
        if os.path.isfile(local) and file_sha256(local) == remote[0]:
            os.chmod(local, remote[1])
            return f"unchanged {local} (sha256 {remote[0][:12]})"
        if become is None:
            size, mode = transport.download(self.src, local)
        else:
            size, mode = _fetch_as(transport, become, self.src, local, remote, timeout)
        if file_sha256(local) != remote[0]:
            raise TaskError(f"{self.src}: checksum mismatch after download (file changed?)")
        return (
            f"fetched {self.src} -> {local} ({size} bytes, mode {mode:o}, sha256 {remote[0][:12]})"
        )


def _copy_as(
    transport: Transport, become: Become, local: LocalSource, dest: str, timeout: float | None
) -> int:
    """Write the file as the become user (content on the command's stdin)."""
    data = local.data()
    err = OutputCapture(4096)
    result = transport.run(
        copy_script(dest, local.mode, local.digest),
        stdout=OutputCapture(4096),
        stderr=err,
        timeout=timeout,
        stdin=data,
        become=become,
    )
    if result.exit_code != 0:
        said = result.stderr_text.strip() or f"exit code {result.exit_code}"
        raise TaskError(f"cannot write {dest} as {become.target}: {said}")
    return len(data)


def _fetch_as(
    transport: Transport,
    become: Become,
    src: str,
    local: str,
    remote: tuple[str, int],
    timeout: float | None,
) -> tuple[int, int]:
    """Read ``src`` as the become user (``cat`` through sudo) into a fresh temp file that
    replaces ``local`` once its SHA-256 matches; return (bytes, remote mode)."""
    tmp = f"{local}.runner-{new_nonce()}"
    err = OutputCapture(4096)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            out = OutputCapture(0, sink_file=fh)  # all of it to the file, none in memory
            result = transport.run(
                f"cat -- {shlex.quote(src)}",
                stdout=out,
                stderr=err,
                timeout=timeout,
                become=become,
            )
        if result.exit_code != 0:
            said = result.stderr_text.strip() or f"exit code {result.exit_code}"
            raise TaskError(f"cannot read {src} as {become.target}: {said}")
        if file_sha256(tmp) != remote[0]:
            raise TaskError(f"{src}: checksum mismatch after download (file changed?)")
        size = os.path.getsize(tmp)
        os.chmod(tmp, remote[1])
        os.replace(tmp, local)
        return size, remote[1]
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
