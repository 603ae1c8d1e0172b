"""Local paths built from untrusted parts: host names, remote paths, templates.

A host name comes from an inventory (perhaps a script's output), a remote path from a
playbook or a fact, and what gets written there from the remote host. Every local path
runner builds from such parts is built here and kept inside the folder it belongs in
(DIR for --out-dir, DEST/HOST for fetch), or refused with UnsafePathError. Pure, but for
confine()'s realpath, which reads the symbolic links already on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from runner.errors import UnsafePathError

NAME_MAX = 255  # bytes in one file name (Linux, macOS)
# --out-dir writes ".HOST.json.tmp" before renaming it: 10 bytes more than the host name.
HOST_NAME_MAX = NAME_MAX - len("..json.tmp")

_RENAME_HINT = (
    "rename the host in the inventory (keep its address in ansible_host), "
    "or leave it out with the host pattern"
)


def host_file_name(host: str, used_for: str = "a local path") -> str:
    """A host name as exactly one path component: '/' and NUL become '_'; a name that
    cannot be a file name ('', '.', '..', longer than HOST_NAME_MAX bytes) is refused.

    >>> host_file_name("web01.example.com"), host_file_name("../../etc/cron.d")
    ('web01.example.com', '.._.._etc_cron.d')
    >>> host_file_name("/abs/path"), host_file_name("a/../../b")
    ('_abs_path', 'a_.._.._b')
    >>> host_file_name("..", "--out-dir out")
    Traceback (most recent call last):
    runner.errors.UnsafePathError: host name '..' cannot be used as a file name (in --out-dir out)
    """
    name = host.replace("/", "_").replace("\0", "_")
    if name in ("", ".", ".."):
        raise UnsafePathError(
            f"host name {host!r} cannot be used as a file name (in {used_for})",
            part=host,
            base=used_for,
            hint=_RENAME_HINT,
        )
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > HOST_NAME_MAX:
        raise UnsafePathError(
            f"host name {host[:40]!r}... is too long for a file name "
            f"({size} bytes, at most {HOST_NAME_MAX}; in {used_for})",
            part=host,
            base=used_for,
            hint=_RENAME_HINT,
        )
    return name


def check_host_names(hosts: Iterable[str], used_for: str, *, as_is: bool = False) -> None:
    """Refuse, before any connection, host names that cannot be file names, and two hosts
    that would share one ('a/b' and 'a_b' both become 'a_b'). ``as_is``: the names go
    into a path untouched (a template says '{{ inventory_hostname }}'), so '/' is refused.

    >>> check_host_names(["web01", "web02"], "--out-dir out")
    >>> check_host_names(["a/b", "a_b"], "fetch DEST backup")
    Traceback (most recent call last):
    runner.errors.UnsafePathError: hosts 'a/b' and 'a_b' would share the file name 'a_b' (in fetch DEST backup)
    >>> check_host_names(["../../etc/cron.d/x"], "dest 'b/{{ inventory_hostname }}'", as_is=True)
    Traceback (most recent call last):
    runner.errors.UnsafePathError: host name '../../etc/cron.d/x' cannot be used as a file name (in dest 'b/{{ inventory_hostname }}')
    """
    seen: dict[str, str] = {}
    for host in hosts:
        name = host_file_name(host, used_for)
        if as_is and name != host:
            raise UnsafePathError(
                f"host name {host!r} cannot be used as a file name (in {used_for})",
                part=host,
                base=used_for,
                hint=_RENAME_HINT,
            )
        other = seen.setdefault(name, host)
        if other != host:
            raise UnsafePathError(
                f"hosts {other!r} and {host!r} would share the file name {name!r} (in {used_for})",
                part=host,
                base=used_for,
                hint="rename one of them in the inventory",
            )


def remote_relative(path: str) -> str:
    """A remote file path as a relative local one, for DEST/HOST/<this>.

    A leading '/' goes, and so do '.' and empty parts; '..' is resolved as the remote host
    resolves it ('/..' is '/'). A relative path may not climb above where it starts (the
    remote login folder, which we cannot see), and what is left must name a file.

    >>> remote_relative("/etc/ssh/sshd_config"), remote_relative("logs//./app.log")
    ('etc/ssh/sshd_config', 'logs/app.log')
    >>> remote_relative("/var/log/../../etc/passwd"), remote_relative("/../../x")
    ('etc/passwd', 'x')
    >>> remote_relative("a/../../b")
    Traceback (most recent call last):
    runner.errors.UnsafePathError: remote path 'a/../../b' climbs above the folder it starts in
    >>> remote_relative("/tmp/..")
    Traceback (most recent call last):
    runner.errors.UnsafePathError: remote path '/tmp/..' does not name a file
    """
    return "/".join(_resolve(path, from_root=path.startswith("/")))


def remote_file_name(path: str) -> str:
    """The file name a remote path ends in, once its '.' and '..' parts are resolved.

    >>> remote_file_name("/etc/hosts"), remote_file_name("/srv/app/../data.bin")
    ('hosts', 'data.bin')
    >>> remote_file_name("../shared/app.log")
    'app.log'
    >>> remote_file_name("logs/..")
    Traceback (most recent call last):
    runner.errors.UnsafePathError: remote path 'logs/..' does not name a file
    """
    return _resolve(path, from_root=True)[-1]  # climbing above the start only drops parts


def _resolve(path: str, *, from_root: bool) -> list[str]:
    """The parts of ``path`` with '', '.' and '..' resolved; above the start, '..' is
    dropped ``from_root`` (as '/..' is '/'), refused otherwise."""
    if "\0" in path:
        raise UnsafePathError(f"remote path {path!r} contains a NUL byte", part=path, base="")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part != "..":
            parts.append(part)
        elif parts:
            parts.pop()
        elif not from_root:
            raise UnsafePathError(
                f"remote path {path!r} climbs above the folder it starts in",
                part=path,
                base="",
                hint="give the remote path from '/' (an absolute path)",
            )
    if not parts:
        raise UnsafePathError(f"remote path {path!r} does not name a file", part=path, base="")
    return parts


def confine(base: str, relative: str) -> str:
    """``base`` joined with ``relative``, refused unless it stays strictly inside ``base``:
    as text (after os.path.normpath) and on disk (os.path.realpath follows the symbolic
    links that already exist, in the folders and in the file itself).

    >>> confine("out", "web01.json"), confine("dest/", "web01/etc/passwd")
    ('out/web01.json', 'dest/web01/etc/passwd')
    >>> confine("dest", "web01/../../x")
    Traceback (most recent call last):
    runner.errors.UnsafePathError: 'web01/../../x' would be written outside dest
    >>> confine("dest", "/etc/cron.d/x")
    Traceback (most recent call last):
    runner.errors.UnsafePathError: '/etc/cron.d/x' would be written outside dest
    """
    text = os.path.normpath(relative) if relative else "."
    if os.path.isabs(text) or text in (".", "..") or text.startswith("../") or "\0" in text:
        raise UnsafePathError(
            f"{relative!r} would be written outside {base or '.'}", part=relative, base=base
        )
    path = os.path.join(base, text)
    real_base = os.path.realpath(base or ".")
    real = os.path.realpath(path)
    if real == real_base or os.path.commonpath([real_base, real]) != real_base:
        raise UnsafePathError(
            f"{path} leads outside {base or '.'} (through a symbolic link, to {real})",
            part=relative,
            base=base,
            hint=f"remove the symbolic link under {base or '.'}",
        )
    return path


def out_paths(directory: str, host: str) -> tuple[str, str, str]:
    """(stdout, stderr, json) files of ``host`` under --out-dir ``directory``.

    >>> out_paths("out", "../etc/passwd")
    ('out/.._etc_passwd.stdout', 'out/.._etc_passwd.stderr', 'out/.._etc_passwd.json')
    """
    stem = host_file_name(host, f"--out-dir {directory}")
    out, err, record = (confine(directory, stem + s) for s in (".stdout", ".stderr", ".json"))
    return out, err, record


def fetch_path(dest: str, host: str, src: str) -> str:
    """Where `runner fetch` keeps the remote file ``src`` of ``host``: DEST/HOST/NAME.

    >>> fetch_path("backup", "web01", "/etc/hosts")
    'backup/web01/hosts'
    >>> fetch_path("backup", "../../etc/cron.d", "/tmp/job")
    'backup/.._.._etc_cron.d/job'
    """
    folder = host_file_name(host, f"fetch DEST {dest}")
    return confine(dest, f"{folder}/{remote_file_name(src)}")


def fetch_module_path(dest: str, host: str, src: str, *, flat: bool) -> str:
    """Where the playbook fetch module keeps ``src`` of ``host`` (Ansible's rules).

    Not flat: DEST/HOST/SRC, SRC made relative by remote_relative(). Flat: DEST is the
    local file itself, named by the playbook and taken as it is; only when it ends in '/'
    is the source's file name appended, inside DEST.

    >>> fetch_module_path("b", "web01", "/etc/ssh/../hosts", flat=False)
    'b/web01/etc/hosts'
    >>> fetch_module_path("b/", "web01", "/etc/hosts", flat=True)
    'b/hosts'
    >>> fetch_module_path("b/web01.conf", "web01", "/etc/app.conf", flat=True)
    'b/web01.conf'
    """
    if flat:
        return confine(dest, remote_file_name(src)) if dest.endswith("/") else dest
    folder = host_file_name(host, f"fetch dest {dest}")
    return confine(dest, f"{folder}/{remote_relative(src)}")


__all__ = [
    "HOST_NAME_MAX",
    "check_host_names",
    "confine",
    "fetch_module_path",
    "fetch_path",
    "host_file_name",
    "out_paths",
    "remote_file_name",
    "remote_relative",
]
