"""One command on an SSH connection: a session channel, both output streams pumped into
their captures, sudo's prompt answered, and a command runner stops waiting for (timeout,
Ctrl-C, an error) ended through a second channel on the same connection (see
runner.transport.ending), for root and non-root logins alike."""

from __future__ import annotations

import logging
import shlex
import threading
import time
from collections.abc import Mapping
from typing import Protocol

import paramiko
from paramiko.ssh_exception import SSHException

from runner.become import Become, BecomeSession, become_wrap, new_nonce
from runner.errors import (
    BecomeError,
    CommandNotEndedError,
    CommandTimeoutError,
    ConnectionLostError,
    HostError,
)
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture
from runner.transport.ending import (
    GRACE_SECONDS,
    KILL_WAIT_SECONDS,
    STILL_RUNNING,
    PidFilter,
    end_script,
    inner_report_prefix,
    report_prefix,
)
from runner.transport.ssh.packets import exec_and_eof
from runner.transport.ssh.settings import HostSettings


class Connection(Protocol):
    """What a command needs of its host's connection (SSHTransport)."""

    host: Host

    @property
    def settings(self) -> HostSettings: ...

    def connect(self) -> None: ...

    def paramiko_transport(self) -> paramiko.Transport: ...

    def open_session(self, timeout: float) -> paramiko.Channel: ...

    def alive(self) -> bool: ...

    def lost(self, exc: BaseException | None) -> ConnectionLostError: ...


log = logging.getLogger(__name__)

_READ_SIZE = 65536
OPEN_TIMEOUT = 5.0  # at most, for the channel that ends a command
PID_WAIT = 2.0  # at most, for a just-started command to report its process group


def run_command(
    conn: Connection,
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
    """SSHTransport.run: see runner.transport.base.Transport.run. Without a pty the
    command reports its process groups first (taken out of stderr again)."""
    conn.connect()
    started = time.monotonic()
    deadline = started + timeout if timeout else None
    nonce = new_nonce()
    if become is not None and become.needs_pty:
        pty = True  # su asks for its password on a terminal only
    pids = None if pty else PidFilter(nonce, expected=2 if become else 1)
    session = None
    if become is not None:
        inner = command if pty else inner_report_prefix(nonce) + command
        password = become.password is not None
        command = become_wrap(
            inner, become.user, password=password, pty=pty, nonce=nonce,
            method=become.method, flags=become.flags, exe=become.exe,
        )  # fmt: skip
        session = BecomeSession(become, nonce, pty=pty, host=conn.host.name)
    if pids is not None:
        command = report_prefix(nonce) + command
    chan = None
    # no input and nobody to answer: the end of input goes with the exec request
    eof = not stdin and not pty and (session is None or session.become.password is None)
    try:
        chan = _open(conn, command, env, pty, conn.settings.connect_timeout, eof=eof)
        if session is None or session.become.password is None:
            try:
                _send_stdin(chan, stdin, pty)
            except (SSHException, EOFError, OSError) as exc:
                raise conn.lost(exc) from exc
            stdin = None
        exit_code = _pump(conn, chan, stdout, stderr, deadline, timeout, session, stdin, pids)
    except BaseException as exc:
        if chan is None or pids is None or isinstance(exc, BecomeError):
            raise  # not started; a pty's hangup ends it; sudo reads EOF and gives up
        try:
            why = _end(conn, chan, pids, session)
        except Exception as end_exc:  # never hide what happened to the command itself
            log.debug("ending the command failed", exc_info=True)
            why = f"could not end it: {end_exc}"
        if why is None:
            raise
        if isinstance(exc, ConnectionLostError):  # why: the connection is gone, as it says
            raise ConnectionLostError(f"{exc.message}; {STILL_RUNNING}", host=exc.host) from exc
        if isinstance(exc, CommandTimeoutError):
            message = f"{exc.message}; {STILL_RUNNING} ({why})"
            raise CommandTimeoutError(message, host=exc.host, hint=exc.hint) from exc
        if isinstance(exc, HostError):
            raise
        # an interruption (Ctrl-C) or a failure of runner's own: say what was left behind
        raise exc from CommandNotEndedError(f"{STILL_RUNNING} ({why})", host=conn.host.name)
    finally:
        stdout.close()
        stderr.close()
        if chan is not None:
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


def _open(
    conn: Connection,
    command: str,
    env: Mapping[str, str] | None,
    pty: bool,
    timeout: float,
    *,
    eof: bool = False,
) -> paramiko.Channel:
    """A session channel running ``command`` (``eof``: with its input already closed)."""
    try:
        chan = conn.open_session(timeout)
        if env:
            chan.update_environment(dict(env))
        if pty:
            chan.get_pty()
        if eof:
            exec_and_eof(chan, command)
        else:
            chan.exec_command(command)
        return chan
    except (SSHException, EOFError, OSError) as exc:
        raise conn.lost(exc) from exc


def _pump(
    conn: Connection,
    chan: paramiko.Channel,
    stdout: OutputCapture,
    stderr: OutputCapture,
    deadline: float | None,
    timeout: float | None,
    session: BecomeSession | None = None,
    stdin: bytes | None = None,
    pids: PidFilter | None = None,
) -> int:
    """Read both streams until EOF and the exit status, with one event for both.
    The process-group lines are taken out of stderr first; under become, output then
    goes through the session (sudo's prompt is answered and hidden; stdin is sent once
    sudo is done)."""
    ready = threading.Event()
    chan.in_buffer.set_event(ready)
    chan.in_stderr_buffer.set_event(ready)
    waiting = session is not None and not session.started
    host = conn.host.name

    def feed(name: str, data: bytes) -> None:
        nonlocal waiting
        capture = stdout if name == "stdout" else stderr
        if pids is not None and name == "stderr":
            data = pids.feed(data)
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
                raise CommandTimeoutError(f"command timed out after {timeout:g}s", host=host)
    except (SSHException, EOFError, OSError) as exc:
        raise conn.lost(exc) from exc
    if pids is not None:
        held = pids.flush()
        if held:
            feed("stderr", held)
    # EOF on the streams; the exit status follows (or the channel closes).
    if not chan.status_event.wait(_remaining(deadline, floor=0.0, default=30.0)):
        if chan.closed or not conn.alive():
            raise conn.lost(None)
        raise CommandTimeoutError(
            f"command timed out after {timeout:g}s (output closed, no exit status)", host=host
        )
    code = chan.exit_status
    if code == -1:
        if not conn.alive():
            raise conn.lost(None)
        # Killed by a signal (exit-signal, which paramiko does not expose): like ssh, 255.
        return 255
    return code


def _end(
    conn: Connection, chan: paramiko.Channel, pids: PidFilter, session: BecomeSession | None
) -> str | None:
    """End the command's process groups from a second channel: None once that is
    confirmed, else why it is not. Under become, through the same sudo once sudo runs
    the command (its processes belong to the other user); before that, as the login user
    (sudo itself is still the login user's to signal)."""
    if not conn.alive():
        return "the connection is gone"
    started = session is not None and session.started
    become = session.become if started and session is not None else None
    want = 2 if started else 1
    _await_pids(chan, pids, want)
    groups = [g for g in pids.pids[:want] if g > 1]
    if not groups:
        return "it never reported its process group"
    script = end_script(groups)
    nonce = new_nonce()
    kill_session = None
    if become is not None:
        password = become.password is not None
        command = become_wrap(
            script, become.user, password=password, nonce=nonce,
            method=become.method, flags=become.flags, exe=become.exe,
        )  # fmt: skip
        kill_session = BecomeSession(become, nonce, host=conn.host.name)
    else:
        command = f"/bin/sh -c {shlex.quote(script)}"
    budget = GRACE_SECONDS + KILL_WAIT_SECONDS + 5.0
    out, err = OutputCapture(4096), OutputCapture(4096)
    try:
        end_chan = _open(
            conn, command, None, False, min(conn.settings.connect_timeout, OPEN_TIMEOUT)
        )
    except ConnectionLostError as exc:
        cause = exc.__cause__
        reason = cause.text if isinstance(cause, paramiko.ChannelException) else exc.message
        return f"could not open a channel to end it: {reason}"
    try:
        if become is None or become.password is None:
            _send_stdin(end_chan, None, False)
        code = _pump(conn, end_chan, out, err, time.monotonic() + budget, budget, kill_session)
        if kill_session is not None:
            kill_session.finish(code)
    except HostError as exc:
        return f"could not end it: {exc.message}"
    except (SSHException, EOFError, OSError) as exc:
        return f"could not end it: {exc}"
    finally:
        end_chan.close()
    if code == 0:
        log.debug("%s: ended %s (%s)", conn.host.name, groups, out.value.strip() or b"TERM")
        return None
    if code == 1:
        return f"processes still there {KILL_WAIT_SECONDS:g}s after KILL"
    said = err.value.decode("utf-8", errors="replace").strip()
    return f"could not end it: {said[:200] or f'exit code {code}'}"


def _await_pids(chan: paramiko.Channel, pids: PidFilter, want: int) -> None:
    """Read on (what arrives is dropped: the command was cut off) until the command has
    reported ``want`` process groups, for at most PID_WAIT seconds: a command cut off
    while starting reports its group a moment later."""
    deadline = time.monotonic() + PID_WAIT
    try:
        while len(pids.pids) < want and time.monotonic() < deadline:
            if chan.recv_stderr_ready():
                pids.feed(chan.recv_stderr(_READ_SIZE))
            elif chan.recv_ready():
                chan.recv(_READ_SIZE)
            elif chan.closed or chan.eof_received:
                return
            else:
                time.sleep(0.01)
    except (SSHException, EOFError, OSError):
        return


def _send_stdin(chan: paramiko.Channel, stdin: bytes | None, pty: bool) -> None:
    """Send the command's input, then end it. With a pty, end of input is ^D typed on the
    terminal (only when there was input): closing a pty's input would hang it up."""
    if stdin:
        chan.sendall(stdin)
    if not pty:
        chan.shutdown_write()
    elif stdin:
        chan.sendall(b"\x04")


def _remaining(deadline: float | None, *, floor: float = 0.0, default: float | None = None):
    if deadline is None:
        return default
    return max(floor, deadline - time.monotonic())
