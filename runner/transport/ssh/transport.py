"""One paramiko connection to one host (SSHTransport): commands, become, SFTP files.
Everything paramiko or the socket layer raises is translated here, at the edge, into
runner.errors.HostError subclasses with a message a person can act on."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import paramiko
from paramiko.ssh_exception import SSHException

from runner.become import Become, BecomeSession, become_wrap, new_nonce
from runner.errors import CommandTimeoutError, ConnectError, ConnectionLostError
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport
from runner.transport.ssh.context import SSHContext
from runner.transport.ssh.jump import Keepalive, ProxyCommandSocket, hop_label, open_tunnel
from runner.transport.ssh.settings import HostSettings, expand_proxy_command

log = logging.getLogger(__name__)

_READ_SIZE = 65536


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
        password = self.host.vars.get("ansible_password") or self.host.vars.get("ansible_ssh_pass")
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
        self.connect()
        transport = self._transport
        assert transport is not None
        started = time.monotonic()
        deadline = started + timeout if timeout else None
        session = None
        if become is not None:
            nonce = new_nonce()
            command = become_wrap(
                command, become.user, password=become.password is not None, pty=pty, nonce=nonce
            )
            session = BecomeSession(become, nonce, pty=pty, host=self.host.name)
        try:
            chan = transport.open_session(timeout=self.settings.connect_timeout)
            if env:
                chan.update_environment(dict(env))
            if pty:
                chan.get_pty()
            chan.exec_command(command)
            if session is None or session.become.password is None:
                _send_stdin(chan, stdin, pty)
                stdin = None
        except (SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from exc
        finished = False
        try:
            exit_code = self._pump(chan, stdout, stderr, deadline, timeout, session, stdin)
            finished = True
        finally:
            stdout.close()
            stderr.close()
            if not finished:  # timeout, Ctrl-C or error: end the remote command too
                _signal_remote(chan, "TERM")
            chan.close()
        if session is not None:
            session.finish(exit_code)
        return CommandResult(
            exit_code=exit_code,
            stdout=stdout.value,
            stderr=stderr.value,
            duration=time.monotonic() - started,
            stdout_dropped=stdout.dropped,
            stderr_dropped=stderr.dropped,
        )

    def _pump(
        self,
        chan: paramiko.Channel,
        stdout: OutputCapture,
        stderr: OutputCapture,
        deadline: float | None,
        timeout: float | None,
        session: BecomeSession | None = None,
        stdin: bytes | None = None,
    ) -> int:
        """Read both streams until EOF and the exit status, with one event for both.
        Under become, output goes through the session first (sudo's prompt is answered
        and hidden; stdin is sent once sudo is done)."""
        ready = threading.Event()
        chan.in_buffer.set_event(ready)
        chan.in_stderr_buffer.set_event(ready)
        waiting = session is not None and not session.started

        def feed(name: str, data: bytes) -> None:
            nonlocal waiting
            capture = stdout if name == "stdout" else stderr
            if waiting and session is not None:
                data = session.feed(name, data)
                answer = session.reply()
                if answer:
                    chan.sendall(answer)
                if session.started:
                    waiting = False
                    stderr.feed(session.held_stderr())
                    if stdin is not None:
                        _send_stdin(chan, stdin, session.pty)
            capture.feed(data)

        try:
            while True:
                while chan.recv_ready():
                    feed("stdout", chan.recv(_READ_SIZE))
                while chan.recv_stderr_ready():
                    feed("stderr", chan.recv_stderr(_READ_SIZE))
                ready.clear()
                if chan.recv_ready() or chan.recv_stderr_ready():
                    continue
                if chan.eof_received or chan.closed:
                    break
                timed_out = not ready.wait(_remaining(deadline))
                if timed_out and deadline is not None and time.monotonic() >= deadline:
                    raise CommandTimeoutError(
                        f"command timed out after {timeout:g}s", host=self.host.name
                    )
        except (SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from exc
        # EOF on the streams; the exit status follows (or the channel closes).
        if not chan.status_event.wait(_remaining(deadline, floor=0.0, default=30.0)):
            if chan.closed or not self._alive():
                raise self._lost(None)
            raise CommandTimeoutError(
                f"command timed out after {timeout:g}s (output closed, no exit status)",
                host=self.host.name,
            )
        code = chan.exit_status
        if code == -1:
            if not self._alive():
                raise self._lost(None)
            # Killed by a signal (exit-signal, which paramiko does not expose): like ssh, 255.
            return 255
        return code

    def _alive(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    def _lost(self, exc: BaseException | None) -> ConnectionLostError:
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
                raise self._lost(exc) from exc
            if sftp is None:
                raise self._lost(None)
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
            raise self._lost(exc) from exc

    def remove_file(self, path: str) -> None:
        try:
            self.sftp().remove(path)
        except (SSHException, EOFError) as exc:
            raise self._lost(exc) from exc

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
            raise self._lost(exc) from exc
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
            raise self._lost(exc) from exc
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


def _send_stdin(chan: paramiko.Channel, stdin: bytes | None, pty: bool) -> None:
    """Send the command's input, then end it. With a pty, end of input is ^D typed on the
    terminal (only when there was input): closing a pty's input would hang it up."""
    if stdin:
        chan.sendall(stdin)
    if not pty:
        chan.shutdown_write()
    elif stdin:
        chan.sendall(b"\x04")


def _close_quietly(sock: Any) -> None:
    try:
        sock.close()
    except Exception:
        log.debug("close failed", exc_info=True)


def _signal_remote(chan: paramiko.Channel, signame: str) -> None:
    """Send an RFC 4254 "signal" channel request; OpenSSH's sshd (7.9+) delivers it to the
    command's process group. Without a pty, closing the channel alone would leave the
    remote command running (with a pty, closing it hangs the terminal up: SIGHUP).
    paramiko has no public call for this request."""
    if chan.closed or not chan.active:
        return
    try:
        msg = paramiko.Message()
        msg.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
        msg.add_int(chan.remote_chanid)
        msg.add_string("signal")
        msg.add_boolean(False)
        msg.add_string(signame)
        chan.transport._send_user_message(msg)  # type: ignore[union-attr]  # paramiko private
    except Exception:  # best effort: the channel is closed right after
        log.debug("could not signal remote command", exc_info=True)


def _remaining(deadline: float | None, *, floor: float = 0.0, default: float | None = None):
    if deadline is None:
        return default
    return max(floor, deadline - time.monotonic())
