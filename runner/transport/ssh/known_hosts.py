"""known_hosts as OpenSSH reads it: the index of one file, host patterns, markers,
host certificates, and the host-key verdict for one connection.

Semantics follow sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" and ssh(1)'s check_host_key, and
tests/test_hostkeys_e2e.py compares every verdict with the real ``ssh`` client's on the
same file. Imports paramiko, so it is used only through runner/transport/ssh/.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import hmac
import os
import re
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha1

import paramiko

# A known_hosts line is 100 (ed25519) to 750 (rsa-4096) bytes: 64 MiB holds ~100,000 hosts
# of the largest kind. Anything bigger is refused rather than read into memory.
MAX_KNOWN_HOSTS_BYTES = 64 * 1024 * 1024

CERT_SUFFIX = "-cert-v01@openssh.com"
# known_hosts key type -> the host key algorithms that present a key of that type
ALGORITHMS_FOR_TYPE = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}

_MARKERS = {"@revoked": "revoked", "@cert-authority": "cert-authority"}
_FIELD_SEPARATORS = re.compile("[ \t]+")


@dataclass(frozen=True)
class Entry:
    """One known_hosts line: ``marker`` is "", "revoked" or "cert-authority"."""

    marker: str
    key_type: str
    b64: str
    line: int
    path: str  # the file it is in


def match_pattern(name: str, pattern: str) -> bool:
    """OpenSSH's wildcard match: ``*`` any run of characters, ``?`` one; nothing else is
    special (``[`` and ``]`` are plain characters).

    >>> match_pattern("[127.0.0.1]:2222", "[127.0.0.*]:2222"), match_pattern("a.b", "?.*")
    (True, True)
    >>> match_pattern("web1", "web"), match_pattern("", "*")
    (False, True)
    """
    n = p = 0
    star_p, star_n = -1, 0
    while n < len(name):
        if p < len(pattern) and pattern[p] in ("?", name[n]):
            n, p = n + 1, p + 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_n = p, n
            p += 1
        elif star_p >= 0:
            star_n += 1
            n, p = star_n, star_p + 1
        else:
            return False
    return all(c == "*" for c in pattern[p:])


def match_host(name: str, patterns: str) -> bool:
    """Does the comma-separated pattern list match ``name`` (case-insensitively)? A
    matching negated pattern (``!pat``) rules the line out whatever else matches.

    >>> match_host("db.example.com", "*.example.com,!web*")
    True
    >>> match_host("web1.example.com", "*.example.com,!web*"), match_host("x", "!y")
    (False, False)
    """
    name = name.lower()
    found = False
    for pattern in patterns.lower().split(","):
        if pattern.startswith("!"):
            if match_pattern(name, pattern[1:]):
                return False
        elif match_pattern(name, pattern):
            found = True
    return found


def known_hosts_name(address: str, port: int) -> str:
    """The name OpenSSH uses in known_hosts (lower case, as ssh writes it).

    >>> known_hosts_name("Web1", 22), known_hosts_name("10.0.0.1", 2222)
    ('web1', '[10.0.0.1]:2222')
    """
    address = address.lower()
    return address if port == 22 else f"[{address}]:{port}"


def _hashed(name: bytes, keyed: hmac.HMAC) -> bytes:
    # the HMAC is keyed with the line's salt once, at load: a copy per name is cheaper
    # (a file can hold thousands of hashed lines, each checked once per host name)
    mac = keyed.copy()
    mac.update(name)
    return mac.digest()


class KnownHosts:
    """An index over one known_hosts file, read once per run and appended to safely.

    Lines naming only plain host names go into a dict (one lookup per host); lines with
    wildcards or negations and hashed (``|1|salt|hash``) lines are checked one by one,
    only for a name the dict does not settle. ``error`` is the reason the file could not
    be read (None when it was read or does not exist): the hosts that need it fail.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.expanduser(path)
        self.error: str | None = None
        self._discard = False  # /dev/null: empty, and records go nowhere
        self._plain: dict[str, list[Entry]] = {}
        self._patterns: list[tuple[str, Entry]] = []
        self._hashed: list[tuple[hmac.HMAC, bytes, Entry]] = []
        self._found: dict[str, list[Entry]] = {}  # lookups: the handshake asks twice
        self._lock = threading.Lock()
        self._lines = 0
        text = self._read()
        self._digest = hashlib.sha256(text.encode()).digest()
        self._newline_first = bool(text) and not text.endswith("\n")  # else lines would merge
        if text:
            lines = text.split("\n")  # not splitlines(): ssh ends lines at \n only
            self._lines = len(lines) - (not self._newline_first)
            for number, line in enumerate(lines, 1):
                self._index_line(line, number)

    def _read(self) -> str:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return ""  # as for ssh: no keys yet (recording will say why it cannot)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            self.error = f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
            return ""
        try:
            st = os.fstat(fd)
            if _is_devnull(st):
                self._discard = True
                return ""
            if not stat.S_ISREG(st.st_mode):
                self.error = f"is not a regular file (it is {_file_kind(st.st_mode)})"
                return ""
            chunks, size = [], 0
            while size <= MAX_KNOWN_HOSTS_BYTES:
                chunk = os.read(fd, min(1 << 20, MAX_KNOWN_HOSTS_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > MAX_KNOWN_HOSTS_BYTES:
                self.error = f"is larger than {MAX_KNOWN_HOSTS_BYTES // (1 << 20)} MiB"
                return ""
        except OSError as exc:
            self.error = f"cannot be read: {exc.strerror or exc}"
            return ""
        finally:
            os.close(fd)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def _index_line(self, line: str, number: int) -> None:
        fields = _FIELD_SEPARATORS.split(line.strip(" \t\r"))
        if not fields[0] or fields[0].startswith("#"):
            return
        marker = ""
        if fields[0].startswith("@"):
            if fields[0] not in _MARKERS:
                return  # ssh skips a line with an unknown marker (they are case-sensitive)
            marker = _MARKERS[fields[0]]
            fields = fields[1:]
        if len(fields) < 3:
            return
        names, key_type, b64 = fields[0], fields[1], fields[2]
        entry = Entry(marker, key_type, b64, number, self.path)
        if names.startswith("|"):
            parts = names.split("|")
            if len(parts) == 4 and parts[1] == "1":
                try:
                    salt = base64.b64decode(parts[2], validate=True)
                    digest = base64.b64decode(parts[3], validate=True)
                except (binascii.Error, ValueError):
                    return
                self._hashed.append((hmac.new(salt, digestmod=sha1), digest, entry))
        elif any(c in names for c in "*?!"):
            self._patterns.append((names, entry))
        else:
            for name in names.lower().split(","):
                self._plain.setdefault(name, []).append(entry)

    def lookup(self, name: str) -> list[Entry]:
        """Every line that applies to ``name``, in file order."""
        name = name.lower()
        found = self._found.get(name)
        if found is None:
            found = list(self._plain.get(name, ()))
            found.extend(e for patterns, e in self._patterns if match_host(name, patterns))
            if self._hashed:
                raw = name.encode()
                found.extend(e for mac, d, e in self._hashed if _hashed(raw, mac) == d)
            found.sort(key=lambda e: e.line)
            self._found[name] = found
        return list(found)

    def record(self, name: str, key: paramiko.PKey) -> None:
        """Append one line for ``name``; a single O_APPEND write per host keeps the file valid
        even with hundreds of hosts recorded at once (and with another runner writing).
        Raises OSError (with the reason) when the line cannot be written."""
        name = name.lower()
        with self._lock:
            entry = Entry("", key.get_name(), key.get_base64(), self._lines + 1, self.path)
            if any(e.b64 == entry.b64 for e in self._plain.get(name, ()) if not e.marker):
                return
            if self.error:
                raise OSError(errno.EIO, self.error)
            if self._discard:
                return  # /dev/null keeps nothing, so no later host finds the key either
            line = f"{name} {entry.key_type} {entry.b64}\n"
            self._append(("\n" + line if self._newline_first else line).encode())
            self._newline_first = False
            self._lines += 1
            self._plain.setdefault(name, []).append(entry)
            if name in self._found:
                self._found[name] = [*self._found[name], entry]

    def _append(self, line: bytes) -> None:
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            if os.path.lexists(directory):
                raise OSError(errno.ENOTDIR, f"{directory} is not a folder")
            os.makedirs(directory, mode=0o700, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o600)
        try:
            st = os.fstat(fd)
            if _is_devnull(st):
                return
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, f"not a regular file ({_file_kind(st.st_mode)})")
            while line:
                line = line[os.write(fd, line) :]
        finally:
            os.close(fd)

    def preferred_algorithms(self, name: str, available: tuple[str, ...]) -> tuple[str, ...]:
        return preferred_algorithms(self.lookup(name), available)

    def version(self) -> tuple[object, ...]:
        """What the file said when it was read, and what this run added to it since: two
        equal versions give every host key the same verdict (runner.transport.ssh.held
        checks a held connection again only when the version changed)."""
        return (self.path, self._digest, self._lines, self.error, self._discard)


class KnownHostsFiles:
    """The known_hosts files one host is checked against, as ssh reads them: ``primary``
    (the first UserKnownHostsFile: read, and new keys recorded in it), then ``others`` (the
    other user files and the GlobalKnownHostsFile ones: read only; one that cannot be read
    is skipped, as ssh skips it)."""

    def __init__(self, primary: KnownHosts, others: Sequence[KnownHosts] = ()) -> None:
        self.primary = primary
        self.others = [o for o in others if o.error is None and o is not primary]
        self.path = primary.path
        self.error = primary.error

    def lookup(self, name: str) -> list[Entry]:
        found = self.primary.lookup(name)
        for other in self.others:
            found.extend(other.lookup(name))
        return found

    def record(self, name: str, key: paramiko.PKey) -> None:
        self.primary.record(name, key)

    def version(self) -> tuple[object, ...]:
        return (self.primary.version(), *(o.version() for o in self.others))

    def preferred_algorithms(self, name: str, available: tuple[str, ...]) -> tuple[str, ...]:
        return preferred_algorithms(self.lookup(name), available)


def preferred_algorithms(entries: list[Entry], available: tuple[str, ...]) -> tuple[str, ...]:
    """``available`` host key algorithms reordered as ssh orders them for a host with these
    known_hosts ``entries``: certificates first when a @cert-authority line applies, then
    the algorithms of the key types recorded for it, then the rest in their usual order.

    >>> web1 = [Entry("", "ssh-rsa", "AAAA", 1, "known_hosts")]
    >>> preferred_algorithms(web1, ("ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"))
    ('rsa-sha2-512', 'rsa-sha2-256', 'ssh-ed25519')
    """
    if not entries:
        return available
    first: list[str] = []
    if any(e.marker == "cert-authority" for e in entries):
        first.extend(a for a in available if a.endswith(CERT_SUFFIX))
    for e in entries:
        if not e.marker:
            for algorithm in ALGORITHMS_FOR_TYPE.get(e.key_type, (e.key_type,)):
                first.extend((algorithm, algorithm + CERT_SUFFIX))
    first = list(dict.fromkeys(a for a in first if a in available))
    return (*first, *(a for a in available if a not in first))


def _is_devnull(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a file"
