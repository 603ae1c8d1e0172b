"""Runs commands on the control node (``ansible_connection: local``), without SSH."""

from __future__ import annotations

import os
import secrets
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Mapping

from runner.become import Become, become_wrap
from runner.config import child_environment
from runner.errors import BecomeError, CommandNotEndedError, CommandTimeoutError
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport
from runner.transport.ending import GRACE_SECONDS, KILL_WAIT_SECONDS, STILL_RUNNING

_READ_SIZE = 65536


class LocalTransport(Transport):
    """``/bin/sh -c COMMAND`` on this machine, with the same capture and timeout rules."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._procs: set[subprocess.Popen] = set()

    def connect(self) -> None:
        pass

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
        if become is not None:
            if become.password is not None:
                raise BecomeError(
                    "a become password is not supported for local connections",
                    host=self.host.name,
                    hint="allow the command without a password (sudoers NOPASSWD)",
                )
            command = become_wrap(
                command, become.user, method=become.method, flags=become.flags, exe=become.exe
            )
        started = time.monotonic()
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(env),  # never runner's secrets
            start_new_session=True,
        )
        self._procs.add(proc)
        timed_out, ended = threading.Event(), threading.Event()
        not_ended: list[str] = []  # why the timed-out command may still be running

        def end_on_timeout() -> None:
            timed_out.set()
            try:
                why = end_group(proc)
                if why:
                    not_ended.append(why)
            finally:
                ended.set()

        timer = threading.Timer(timeout, end_on_timeout) if timeout else None
        err_reader = threading.Thread(target=_pump, args=(proc.stderr, stderr), daemon=True)
        try:
            if timer:
                timer.start()
            err_reader.start()
            if stdin and proc.stdin:
                try:
                    proc.stdin.write(stdin)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            _pump(proc.stdout, stdout)
            err_reader.join()
            exit_code = proc.wait()
        except BaseException as exc:  # Ctrl-C (or runner's own failure): end it too
            why = None if timed_out.is_set() else end_group(proc)
            if why is None:
                raise
            raise exc from CommandNotEndedError(f"{STILL_RUNNING} ({why})", host=self.host.name)
        finally:
            if timer:
                timer.cancel()
            self._procs.discard(proc)
            stdout.close()
            stderr.close()
        if timed_out.is_set():
            ended.wait()
            message = f"command timed out after {timeout:g}s"
            if not_ended:
                message += f"; {STILL_RUNNING} ({not_ended[0]})"
            raise CommandTimeoutError(message, host=self.host.name)
        if exit_code < 0:  # killed by a signal: report like a shell would
            exit_code = 128 - exit_code
        return CommandResult(
            exit_code=exit_code,
            stdout=stdout.value,
            stderr=stderr.value,
            duration=time.monotonic() - started,
            stdout_dropped=stdout.dropped,
            stderr_dropped=stderr.dropped,
        )

    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        with open(path, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(path, mode)

    def put_new_file(self, data: bytes, path: str, mode: int = 0o600) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)

    def remove_file(self, path: str) -> None:
        os.unlink(path)

    def upload(self, local_path: str, remote_path: str, mode: int) -> int:
        """Copy ``local_path`` to ``remote_path`` atomically (temp name, rename)."""
        return _copy_atomically(local_path, remote_path, mode)

    def download(self, remote_path: str, local_path: str) -> tuple[int, int]:
        mode = stat.S_IMODE(os.stat(remote_path).st_mode)
        return _copy_atomically(remote_path, local_path, mode), mode

    def get_file(self, path: str) -> bytes:
        with open(path, "rb") as fh:
            return fh.read()

    def close(self) -> None:
        for proc in list(self._procs):
            _signal_group(proc, signal.SIGKILL)


def _pump(pipe, capture: OutputCapture) -> None:
    read = getattr(pipe, "read1", pipe.read)
    while True:
        data = read(_READ_SIZE)
        if not data:
            break
        capture.feed(data)
    pipe.close()


def end_group(
    proc: subprocess.Popen, grace: float = GRACE_SECONDS, kill_wait: float = KILL_WAIT_SECONDS
) -> str | None:
    """End the command's process group (it leads one: start_new_session) as a remote
    one is ended: TERM, up to ``grace`` seconds, KILL, up to ``kill_wait`` more. None
    once none of it is left, else why it may still be running."""
    if not _signal_group(proc, signal.SIGTERM):
        return None
    deadline = time.monotonic() + grace
    killed = False
    while True:
        proc.poll()  # reap the leader, or it stays in the group as a zombie
        if not _signal_group(proc, 0):
            return None
        if time.monotonic() >= deadline:
            if killed:
                return f"processes still there {kill_wait:g}s after KILL"
            _signal_group(proc, signal.SIGKILL)
            killed, deadline = True, time.monotonic() + kill_wait
        time.sleep(0.05)


def _signal_group(proc: subprocess.Popen, sig: int) -> bool:
    """Send ``sig`` to the command's process group: whether some process of it got it
    (one owned by another user, under become, cannot be signalled and counts as gone,
    as it does for the remote script)."""
    try:
        os.killpg(proc.pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _copy_atomically(src: str, dest: str, mode: int) -> int:
    """``src`` to a fresh temp file next to ``dest``, then renamed over it; the bytes."""
    tmp = f"{dest}.runner-{secrets.token_hex(8)}"
    size = 0
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(src, "rb") as source, os.fdopen(fd, "wb") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
                size += len(chunk)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
        return size
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
