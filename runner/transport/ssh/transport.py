"""One paramiko connection to one host (SSHTransport): commands, become, SFTP files.
Everything paramiko or the socket layer raises is translated here, at the edge, into
runner.errors.HostError subclasses with a message a person can act on."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import paramiko
from paramiko.ssh_exception import SSHException

from runner.become import Become, new_nonce
from runner.errors import ConnectError, ConnectionLostError
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport
from runner.transport.ssh.command import run_command
from runner.transport.ssh.context import SSHContext
from runner.transport.ssh.jump import Keepalive, ProxyCommandSocket, hop_label, open_tunnel
from runner.transport.ssh.settings import HostSettings, expand_proxy_command

log = logging.getLogger(__name__)


class SSHTransport(Transport):
    """One paramiko connection to one host, reused for everything that host does in a run."""

    def __init__(self, host: Host, context: SSHContext) -> None:
        self.host = host
        self.context = context
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._settings: HostSettings | None = None
        self._hops: list[HostSettings] = []
        self._dead_reason: str | None = None
        self.where = f"{host.address}:{host.port or 22}"

    @property
    def settings(self) -> HostSettings:
        if self._settings is None:
            self._settings = self.context.settings(self.host)
            s = self._settings
            self.where = f"{s.address}:{s.port}"
            if s.jump:
                self._hops = self.context.hops(s)
                self.where += f" via {hop_label(self._hops)}"
        return self._settings

    @property
    def user(self) -> str:
        return self.settings.user

    # -- connecting ------------------------------------------------------------------

    def connect(self) -> None:
        if self._transport is not None and self._transport.is_active():
            return
        s = self.settings
        name = self.host.name
        self._dead_reason = None
        if self._hops:
            bastion = self.context.bastions.transport(self._hops, name)
            sock: Any = open_tunnel(bastion, s, self._hops, name)
        elif s.proxy_command:
            command = expand_proxy_command(s.proxy_command, s.address, s.port, s.user)
            try:
                sock = ProxyCommandSocket(command)
            except OSError as exc:
                raise ConnectError(
                    f"cannot run ProxyCommand {command!r}: {exc}", host=name
                ) from exc
        else:
            sock = self.context.open_socket(s, name)
        password = _inventory_password(self.host, self.context)
        password = str(password) if password not in (None, "") else self.context.password
        try:
            transport = self.context.handshake(sock, s, host=name, password=password)
        except BaseException:
            _close_quietly(sock)
            raise
        self._transport = transport
        if s.keepalive > 0:
            Keepalive(transport, s.keepalive, s.keepalive_count, self._on_dead)

    def _on_dead(self, reason: str) -> None:
        self._dead_reason = reason

    # -- running -----------------------------------------------------------------------

    def run(
        self,
        command: str,
        *,
        stdout: OutputCapture,
        stderr: OutputCapture,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        pty: bool = False,
        become: Become | None = None,
    ) -> CommandResult:
        return run_command(
            self,
            command,
            stdout=stdout,
            stderr=stderr,
            timeout=timeout,
            stdin=stdin,
            env=env,
            pty=pty,
            become=become,
        )

    def paramiko_transport(self) -> paramiko.Transport:
        """The open connection (connect() first)."""
        if self._transport is None:
            raise self.lost(None)
        return self._transport

    def open_session(self, timeout: float) -> paramiko.Channel:
        """A new session channel on the open connection (connect() first)."""
        return self.paramiko_transport().open_session(timeout=timeout)

    def alive(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    def lost(self, exc: BaseException | None) -> ConnectionLostError:
        """The error for a connection that went away (``exc``: what paramiko said)."""
        if self._dead_reason:
            reason = f": {self._dead_reason}"
        elif self._hops and self._bastion_gone():
            reason = f": {hop_label(self._hops)} went away"
        else:
            reason = f": {exc}" if exc and str(exc) else ""
        return ConnectionLostError(f"connection lost ({self.where}){reason}", host=self.host.name)

    def _bastion_gone(self) -> bool:
        """Whether a bastion on the way died. paramiko closes a dying transport's channels
        (our tunnel) a moment before it marks itself inactive: give it that moment."""
        for _ in range(10):
            if not self.context.bastions.alive(self._hops):
                return True
            time.sleep(0.05)
        return False

    # -- files ----------------------------------------------------------------------

    def sftp(self) -> paramiko.SFTPClient:
        """This host's SFTP session (opened once, on the host's connection)."""
        self.connect()
        if self._sftp is None:
            assert self._transport is not None
            try:
                sftp = paramiko.SFTPClient.from_transport(self._transport)
            except (SSHException, EOFError, OSError) as exc:
                raise self.lost(exc) from exc
            if sftp is None:
                raise self.lost(None)
            self._sftp = sftp
        return self._sftp

    _sftp_client = sftp

    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        sftp = self.sftp()
        with sftp.open(path, "wb") as fh:
            fh.set_pipelined(True)
            fh.write(data)
        if mode is not None:
            sftp.chmod(path, mode)

    def put_new_file(self, data: bytes, path: str, mode: int = 0o600) -> None:
        """Create ``path`` (it must not exist: never follows a planted file) with ``data``."""
        sftp = self.sftp()
        try:
            with sftp.open(path, "wbx") as fh:
                fh.set_pipelined(True)
                fh.write(data)
            sftp.chmod(path, mode)
        except (SSHException, EOFError) as exc:
            raise self.lost(exc) from exc

    def remove_file(self, path: str) -> None:
        try:
            self.sftp().remove(path)
        except (SSHException, EOFError) as exc:
            raise self.lost(exc) from exc

    def upload(self, local_path: str, remote_path: str, mode: int) -> int:
        """Copy a local file to ``remote_path`` atomically (a fresh temp name next to it,
        then rename) with ``mode``; return the bytes sent."""
        sftp = self.sftp()
        tmp = f"{remote_path}.runner-{new_nonce()}"
        try:
            with open(local_path, "rb") as src, sftp.open(tmp, "wbx") as dst:
                dst.set_pipelined(True)
                size = 0
                while chunk := src.read(1 << 18):
                    dst.write(chunk)
                    size += len(chunk)
            sftp.chmod(tmp, mode)
            sftp.posix_rename(tmp, remote_path)
            return size
        except (SSHException, EOFError) as exc:
            raise self.lost(exc) from exc
        except BaseException:
            try:
                sftp.remove(tmp)
            except Exception:  # best effort: the temp file may not exist
                pass
            raise

    def download(self, remote_path: str, local_path: str) -> tuple[int, int]:
        """Copy ``remote_path`` to a local file atomically; return (bytes, remote mode)."""
        sftp = self.sftp()
        tmp = f"{local_path}.runner-{new_nonce()}"
        try:
            mode = sftp.stat(remote_path).st_mode or 0o644
            with sftp.open(remote_path, "rb") as src, open(tmp, "wb") as dst:
                src.prefetch()
                size = 0
                while chunk := src.read(1 << 18):
                    dst.write(chunk)
                    size += len(chunk)
            os.chmod(tmp, mode & 0o7777)
            os.replace(tmp, local_path)
            return size, mode & 0o7777
        except (SSHException, EOFError) as exc:
            raise self.lost(exc) from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get_file(self, path: str) -> bytes:
        sftp = self.sftp()
        with sftp.open(path, "rb") as fh:
            fh.prefetch()
            return fh.read()

    def close(self) -> None:
        transport, self._transport = self._transport, None
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            try:
                sftp.close()
            except Exception:  # closing never fails a host
                log.debug("sftp close failed", exc_info=True)
        if transport is not None:
            transport.close()


def _close_quietly(sock: Any) -> None:
    try:
        sock.close()
    except Exception:
        log.debug("close failed", exc_info=True)


def _inventory_password(host: Host, context: SSHContext) -> Any:
    """``ansible_password`` (or ``ansible_ssh_pass``), decrypted when it is a ``!vault``
    value (VaultError naming it without the vault password)."""
    for name in ("ansible_password", "ansible_ssh_pass"):
        value = host.vars.get(name)
        if value not in (None, ""):
            return context.vault.reveal(value, name)
    return None
