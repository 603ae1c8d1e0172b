"""The keeper process (``runner _keeper --socket PATH``): serves runs of its own user
over a Unix socket with the connections it holds, and exits after its idle time.

It serves one run at a time, in the client's working directory, environment and umask
(what a run does with local paths, ``ansible_connection=local``, ssh-agent and
ProxyCommand is then the same as in the client); a run that arrives meanwhile is told
``busy`` and runs in its own process. It never runs anything but the runs its own user's
processes send it: a peer of another uid is refused before a byte is read, and the
secrets of a run live in its memory only for that run (never on disk: no core dumps, no
ptrace by other processes, nothing logged).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import queue
import resource
import socket
import sys
import threading
import time
import traceback
from typing import IO, Any, NoReturn

from runner import __version__
from runner.config import Secrets
from runner.errors import RunnerError
from runner.executors.base import Run
from runner.executors.keeper.paths import KeeperUnavailable, peer_pid, peer_uid, private_dir
from runner.executors.keeper.pool import Pool
from runner.executors.keeper.wire import run_from_dict
from runner.executors.keeper.writer import ForwardedLogs, Writer
from runner.executors.protocol import read_record, record
from runner.vault import forget_keyrings

FIRST_RECORD_TIMEOUT = 30.0
PASSPHRASE_TIMEOUT = 600.0
PR_SET_DUMPABLE = 4


def rss_kb() -> int:
    """This process's resident memory (VmRSS), in KiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Keeper:
    def __init__(self, listener: socket.socket, path: str, idle: float, log: IO[str]) -> None:
        self.listener = listener
        self.path = path
        self.inode = os.stat(path).st_ino
        self.idle = idle
        self.logfile = log
        self.pool = Pool()
        self.salt = os.urandom(32)  # digests of passwords in reuse keys; never leaves here
        self.started = time.time()
        self.last_activity = time.monotonic()
        self.busy = False
        self.runs = 0
        self.baseline_rss_kb = rss_kb()

    def log(self, text: str) -> None:
        try:
            self.logfile.write(
                f"{time.strftime('%Y-%m-%dT%H:%M:%S')} keeper {os.getpid()}: {text}\n"
            )
            self.logfile.flush()
        except (OSError, ValueError):
            pass

    # -- lifecycle -----------------------------------------------------------------------

    def serve(self) -> NoReturn:
        self.log(f"serving {self.path} (idle time {self.idle:g}s)")
        threading.Thread(target=self._reaper, daemon=True).start()
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError as exc:
                self.log(f"accept failed: {exc}")
                time.sleep(0.1)
                continue
            threading.Thread(target=self._serve_one, args=(conn,), daemon=True).start()

    def _reaper(self) -> None:
        while True:
            time.sleep(max(0.1, min(1.0, self.idle / 4)))
            # Not while a run is served: a sweep checks every held connection, once a
            # second (on a loaded machine, 36 sweeps of 500 held connections were 5% of
            # a warm 500-host run's keeper CPU), and the run's own connections are out
            # of the pool anyway; the first sweep after the run catches up.
            if not self.busy:
                self.pool.reap()
            if not self.busy and time.monotonic() - self.last_activity > self.idle:
                self.stop(f"idle for {self.idle:g}s")

    def stop(self, why: str) -> NoReturn:
        self.log(f"exiting: {why}")
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass
        self.pool.close_all()
        os._exit(0)

    # -- one client ----------------------------------------------------------------------

    def _serve_one(self, conn: socket.socket) -> None:
        self.last_activity = time.monotonic()  # no idle exit under a client's feet
        closing: list[Writer] = []
        try:
            uid = peer_uid(conn)
            if uid != os.getuid():  # before a byte is read
                self.log(f"refused a connection from uid {uid} (pid {peer_pid(conn)})")
                return
            conn.settimeout(FIRST_RECORD_TIMEOUT)
            stream = conn.makefile("rb")
            try:
                data = read_record(stream)
            except (OSError, RunnerError):
                return
            conn.settimeout(None)
            kind = data.get("type") if data else None
            writer = Writer(conn)
            closing.append(writer)
            if kind == "status":
                writer.send(self.status())
            elif kind == "stop":
                writer.send(record("stopped", pid=os.getpid()))
                conn.close()
                self.stop("asked to stop")
            elif kind == "run" and data is not None:
                self._run(writer, stream, data)
        except Exception:  # one client's trouble never ends the keeper
            self.log(f"unexpected error:\n{traceback.format_exc()}")
        finally:
            for writer in closing:
                writer.close()
            conn.close()

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        held = self.pool.listing(now)
        return record(
            "status",
            pid=os.getpid(),
            version=__version__,
            started=self.started,
            busy=self.busy,
            persist=self.idle,
            exits_in=None if self.busy else max(0.0, self.idle - (now - self.last_activity)),
            runs=self.runs,
            held=held,
            rss_kb=rss_kb(),
            baseline_rss_kb=self.baseline_rss_kb,
        )

    def _run(self, writer: Writer, stream: Any, data: dict[str, Any]) -> None:
        if self.busy:
            writer.send(record("busy"))
            return
        self.busy = True
        self.runs += 1
        try:
            try:
                os.chdir(str(data["cwd"]))
            except (OSError, KeyError) as exc:
                writer.send(record("unusable", reason=f"cannot work in {data.get('cwd')}: {exc}"))
                return
            os.environ.clear()
            os.environ.update({str(k): str(v) for k, v in (data.get("environ") or {}).items()})
            os.umask(int(data.get("umask", 0o022)))
            self._execute(writer, stream, data)
        finally:
            self.busy = False
            self.last_activity = time.monotonic()

    def _execute(self, writer: Writer, stream: Any, data: dict[str, Any]) -> None:
        from runner.executors.inprocess import InProcessExecutor

        answers: queue.Queue[str | None] = queue.Queue()
        finished = threading.Event()

        def ask(path: str) -> str | None:
            writer.send(record("ask", path=path))
            try:
                return answers.get(timeout=PASSPHRASE_TIMEOUT)
            except queue.Empty:
                return None

        def make_factory(run: Run, secrets: Secrets) -> Any:
            from runner.transport.ssh.held import HeldConnectionFactory

            return HeldConnectionFactory(
                run.config.connection,
                secrets,
                store=self.pool,
                persist=run.config.persist or self.idle,
                salt=self.salt,
                ask_passphrase=ask,
            )

        executor = InProcessExecutor(make_factory)
        writer.on_gone = executor.cancel

        def watch() -> None:  # cancel, answers, and the client going away
            while not finished.is_set():
                try:
                    got = read_record(stream)
                except (OSError, RunnerError):
                    got = None
                if finished.is_set():
                    return
                if got is None:
                    executor.cancel()
                    answers.put(None)
                    return
                if got.get("type") == "cancel":
                    executor.cancel()
                elif got.get("type") == "answer":
                    value = got.get("value")
                    answers.put(str(value) if value else None)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        logs: ForwardedLogs | None = None
        try:
            run = run_from_dict(data["run"])
            secrets = Secrets.from_dict(data.get("secrets") or {})
            if run.config.persist > 0:
                self.idle = run.config.persist
            if run.config.output.verbose > 0:
                logs = ForwardedLogs(writer, run.config.output.verbose)
            executor.execute(run, secrets, writer)
            writer.send(record("done"))
        except RunnerError as exc:
            writer.send(record("error", message=str(exc), hint=exc.hint))
        except Exception as exc:
            self.log(f"run failed:\n{traceback.format_exc()}")
            writer.send(record("error", message=f"connection keeper: internal error: {exc}"))
        finally:
            forget_keyrings()  # no run's vault passwords or plaintexts stay in the keeper
            finished.set()
            if logs is not None:
                logs.close()


def _harden() -> None:
    """No core dump and no ptrace by other processes of the user: a run's secrets stay
    in this process's memory."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def daemonise_and_serve(path: str, idle: float) -> NoReturn:
    """Take the keeper's lock, listen on ``path``, say ``ready`` on stdout, and go on in
    a child in the background (the process that started us sees this one exit)."""
    from runner.engine.scheduler import raise_fd_limit

    out = sys.stdout
    try:
        private_dir(os.path.dirname(path), create=False)
    except KeeperUnavailable as exc:
        out.write(f"refused: {exc}\n")
        out.flush()
        os._exit(1)
    base = path.removesuffix(".sock")
    lock_fd = os.open(f"{base}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        out.write("running\n")  # another keeper of this build got there first
        out.flush()
        os._exit(0)
    if os.path.lexists(path):
        os.unlink(path)  # a keeper that died; we hold the lock, so nobody serves it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(mask)
    listener.listen(128)
    _harden()
    raise_fd_limit()
    log_fd = os.open(f"{base}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    out.write("ready\n")
    out.flush()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(log_fd, 2)
    log = os.fdopen(log_fd, "a")
    Keeper(listener, path, idle, log).serve()
