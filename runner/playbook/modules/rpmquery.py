"""What yum/dnf's native module reads from the host, parsed: ``rpm -q`` lines, dnf's
``check-update`` lines, rpm's version order, and the dnf command line options an Ansible
task's arguments stand for. Pure functions (no connection), tested without a host."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from runner.playbook.modules.base import as_bool, need_str

MARK = "@@rpm:"
# what rpm prints for each installed package a spec names (EPOCH is "(none)" for none)
QUERY = r"inst %{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n"


@dataclass(frozen=True)
class Rpm:
    """One installed (or offered) package."""

    name: str
    epoch: str
    version: str
    release: str
    arch: str

    @property
    def nevra(self) -> str:
        """As dnf prints a package: the epoch only when there is one."""
        epoch = "" if self.epoch in ("", "0", "(none)") else f"{self.epoch}:"
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"


@dataclass
class Spec:
    """What the probe found for one entry of ``name``."""

    text: str
    installed: list[Rpm] = field(default_factory=list)
    # installed packages of the names ``text`` may start with (NAME of NAME-VERSION)
    others: list[Rpm] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)  # "name.arch version-release" lines


def _alnum_run(text: str, start: int, digits: bool) -> int:
    end = start
    while end < len(text) and (text[end].isdigit() if digits else _is_alpha(text[end])):
        end += 1
    return end


def _is_alpha(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _is_sep(ch: str) -> bool:
    return not (ch.isascii() and ch.isalnum()) and ch not in "~^"


def rpm_vercmp(a: str, b: str) -> int:
    """rpm's comparison of two versions (or releases): -1, 0 or 1. Runs of digits compare
    as numbers, runs of letters as text, a digit run beats a letter run, ``~`` sorts before
    anything (even the end), ``^`` after the end but before anything else.

    >>> [rpm_vercmp(*p) for p in (("1.10", "1.9"), ("1.0~rc1", "1.0"), ("1.0a", "1.0"), ("2", "2"))]
    [1, -1, 1, 0]
    """
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and _is_sep(a[i]):
            i += 1
        while j < len(b) and _is_sep(b[j]):
            j += 1
        ta, tb = (i < len(a) and a[i] == "~"), (j < len(b) and b[j] == "~")
        if ta or tb:  # a tilde sorts before anything, the end included
            if not (ta and tb):
                return -1 if ta else 1
            i, j = i + 1, j + 1
            continue
        ca, cb = (i < len(a) and a[i] == "^"), (j < len(b) and b[j] == "^")
        if ca or cb:  # a caret sorts after the end, before anything else
            if i >= len(a):
                return -1
            if j >= len(b):
                return 1
            if not (ca and cb):
                return 1 if cb else -1
            i, j = i + 1, j + 1
            continue
        if i >= len(a) or j >= len(b):
            break
        digits = a[i].isdigit()
        ei, ej = _alnum_run(a, i, digits), _alnum_run(b, j, digits)
        if ej == j:  # b's run is of the other kind: digits win
            return 1 if digits else -1
        left, right = a[i:ei], b[j:ej]
        if digits:
            left, right = left.lstrip("0"), right.lstrip("0")
            if len(left) != len(right):
                return 1 if len(left) > len(right) else -1
        if left != right:
            return 1 if left > right else -1
        i, j = ei, ej
    if i >= len(a) and j >= len(b):
        return 0
    return 1 if i < len(a) else -1


def parse_probe(text: str, specs: list[str]) -> dict[str, Spec]:
    """The probe's output: ``@@rpm:spec N`` opens spec N, then its ``inst``/``base``
    lines (rpm -q) and ``avail`` lines (dnf list available)."""
    found = {s: Spec(s) for s in specs}
    current: Spec | None = None
    for line in text.splitlines():
        if line.startswith(MARK + "spec "):
            index = int(line.split()[1])
            current = found[specs[index]] if index < len(specs) else None
        elif current is not None and line.startswith(("inst ", "base ")):
            parts = line[5:].split("\t")
            if len(parts) == 5:
                rpm = Rpm(*(p.strip() for p in parts))
                (current.installed if line[0] == "i" else current.others).append(rpm)
        elif current is not None and line.startswith("avail "):
            current.offered.append(line[6:].strip())
    return found


def parse_updates(text: str) -> dict[str, tuple[str, str]]:
    """``check-update``'s lines (``name.arch  [epoch:]version-release  repo``) ->
    name -> (arch, version-release), up to its "Obsoleting Packages" part."""
    updates: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        if line.startswith("Obsoleting"):
            break
        words = line.split()
        if len(words) == 3 and "." in words[0] and not line.startswith(" "):
            name, _, arch = words[0].rpartition(".")
            updates[name] = (arch, words[1])
    return updates


def dnf_flags(args: dict[str, Any]) -> list[str]:
    """The dnf/yum command line options for the module's arguments."""

    def listed(key: str) -> list[str]:
        value = args.get(key)
        if value in (None, "", []):
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(v).strip() for v in items if str(v).strip()]

    words = [f"--enablerepo={r}" for r in listed("enablerepo")]
    words += [f"--disablerepo={r}" for r in listed("disablerepo")]
    words += [f"--exclude={r}" for r in listed("exclude")]
    words += [f"--enableplugin={p}" for p in listed("enable_plugin")]
    words += [f"--disableplugin={p}" for p in listed("disable_plugin")]
    for key, option in (("conf_file", "--config"), ("installroot", "--installroot")):
        value = need_str(args, key)
        if value and not (key == "installroot" and value == "/"):
            words.append(f"{option}={value}")
    for key, option in (("releasever", "--releasever"), ("disable_excludes", "--disableexcludes")):
        if need_str(args, key):
            words.append(f"{option}={args[key]}")
    switches = (
        ("disable_gpg_check", "--nogpgcheck"), ("security", "--security"),
        ("bugfix", "--bugfix"), ("allowerasing", "--allowerasing"),
        ("skip_broken", "--skip-broken"), ("cacheonly", "--cacheonly"),
        ("download_only", "--downloadonly"), ("nobest", "--nobest"),
    )  # fmt: skip
    words += [option for key, option in switches if as_bool(args.get(key))]
    if need_str(args, "download_dir"):
        words.append(f"--downloaddir={args['download_dir']}")
    if args.get("best") is not None and args.get("nobest") is None:
        words.append(f"--setopt=best={as_bool(args['best'])}")
    if args.get("install_weak_deps") is not None and not as_bool(args["install_weak_deps"]):
        words.append("--setopt=install_weak_deps=False")
    if args.get("sslverify") is not None and not as_bool(args["sslverify"]):
        words.append("--setopt=sslverify=False")
    return [shlex.quote(w) for w in words]
