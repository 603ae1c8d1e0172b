"""Where the keeper's socket lives: ``$XDG_RUNTIME_DIR/runner`` (else
``/tmp/runner-UID``), a folder that must be the user's own, mode 0700, not a symbolic
link; anything else is refused. One keeper per runner build (version, package folder,
Python), so two installations never talk to each other's keeper."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import struct
import sys
from collections.abc import Mapping

import runner

MAX_SOCKET_PATH = 107  # sun_path is 108 bytes, the last one a NUL


class KeeperUnavailable(Exception):
    """The keeper cannot be used (the run goes on in this process); says why."""


def runtime_dir(environ: Mapping[str, str]) -> str:
    base = environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isabs(base):
        return os.path.join(base, "runner")
    return f"/tmp/runner-{os.getuid()}"


def private_dir(path: str, *, create: bool = True) -> str:
    """``path``, made 0700 when missing; KeeperUnavailable when it exists but is not a
    folder of this user with no access for others."""
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise KeeperUnavailable(f"cannot create {path}: {exc.strerror}") from exc
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise KeeperUnavailable(f"{path}: {exc.strerror}") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise KeeperUnavailable(f"{path} is not a folder")
    if info.st_uid != os.getuid():
        raise KeeperUnavailable(f"{path} belongs to uid {info.st_uid}, not {os.getuid()}")
    if info.st_mode & 0o077:
        raise KeeperUnavailable(f"{path} is open to others (mode {info.st_mode & 0o777:04o})")
    return path


#: The code a keeper runs for a host job: an edit or a reinstall there is another build.
KEEPER_CODE = ("", "engine", "executors", "executors/keeper", "transport", "transport/ssh")


def build_tag() -> str:
    """Tells this runner build's keeper from another's: version, package folder, Python,
    and the newest mtime of the modules a keeper runs (a reinstall, or an edit of that
    code, makes another build, never served by a keeper still running the old code)."""
    package = os.path.dirname(os.path.abspath(runner.__file__))
    newest = 0
    for sub in KEEPER_CODE:
        try:
            with os.scandir(os.path.join(package, sub)) as entries:
                for entry in entries:
                    if entry.name.endswith(".py"):
                        newest = max(newest, entry.stat().st_mtime_ns)
        except OSError:
            pass
    text = f"{runner.__version__}\0{package}\0{sys.executable}\0{newest}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def socket_path(environ: Mapping[str, str], *, create: bool = True) -> str:
    folder = private_dir(runtime_dir(environ), create=create)
    path = os.path.join(folder, f"keeper-{build_tag()}.sock")
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise KeeperUnavailable(f"socket path too long for a Unix socket: {path}")
    return path


def keeper_sockets(environ: Mapping[str, str]) -> list[str]:
    """Every keeper socket in the user's folder (one per runner build)."""
    try:
        folder = private_dir(runtime_dir(environ), create=False)
    except KeeperUnavailable:
        return []
    return sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if name.startswith("keeper-") and name.endswith(".sock")
    )


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def peer_pid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[0])
