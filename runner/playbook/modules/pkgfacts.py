"""package_facts natively: the installed packages as ``ansible_facts.packages`` in
ansible-core's shape (name -> list of one dict per installed version), read with the
host's own tools in one round trip, without python3-apt or python3-rpm on the target.

- apt: ``dpkg-query`` for name, version and arch; ``category`` is the Section of the
  installed version's record as ``apt-cache show`` gives it (apt's, which can differ from
  dpkg's status file), and ``origin`` is
  what python-apt's ``Version.origins[0].origin`` says, read from ``apt-cache policy``: the
  first package file listed for the installed version that is not dpkg's status file,
  named by that file's ``release o=...`` line ("" when none). Keys are named as apt's
  cache names them: ``name`` on the host's own architecture (and ``all``),
  ``name:arch`` for a foreign one.
- rpm: ``rpm -qa`` for name, version, release, epoch (``"None"`` without one, as
  ansible-core prints the missing tag) and arch.

``manager: auto`` tries apt, then rpm (ansible-core also knows apk, pacman, pkg, pkg_info
and portage, which runner does not read: asking for them fails with that).
"""

from __future__ import annotations

from typing import Any

from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult, need_str

MARK = "@@pkgfacts:"
# ansible-core's names for the managers it reads, and the aliases it accepts for them
ANSIBLE_MANAGERS = ("apk", "apt", "pacman", "pkg", "pkg_info", "portage", "rpm")
ALIASES = {
    "dnf": "rpm", "dnf5": "rpm", "yum": "rpm", "zypper": "rpm", "pkg5": "pkg",
    "pkgng": "pkg", "openbsd_pkg": "pkg_info",
}  # fmt: skip
READ = ("apt", "rpm")

_DPKG = (
    "dpkg-query -W -f='${db:Status-Status}\\t${Package}\\t${Version}\\t${Architecture}"
    "\\t${Section}\\n' 2>/dev/null | awk -F '\\t' '$1 != \"not-installed\" && "
    '$1 != "config-files" { print "deb\\t" $0 }\''
)
# the first package file of each installed version that is not dpkg's status file
_POLICY = r"""/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1); inst = 0; done = 0; next }
/^ \*\*\* / { inst = 1; next }
/^     [^ ]/ { inst = 0; next }
/^        *-?[0-9]+ / { if (inst && !done) { s = $0; sub(/^ *-?[0-9]+ /, "", s)
    if (s != "/var/lib/dpkg/status") { print "src\t" name "\t" s; done = 1 } } }"""
# each package file's release line (its o= is the origin)
_FILES = r"""/^ *-?[0-9]+ / { s = $0; sub(/^ *-?[0-9]+ /, "", s); next }
/^ +release / { r = $0; sub(/^ +release /, "", r); print "rel\t" s "\t" r }"""
# each installed version's record as apt's cache has it (its Section can differ from dpkg's)
_SHOW = r"""/^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 }
/^Section: / { c = $2 } /^$/ { if (p != "") print "sec\t" p "\t" v "\t" a "\t" c; p = ""; c = "" }
END { if (p != "") print "sec\t" p "\t" v "\t" a "\t" c }"""
_RPM = r"rpm -qa --qf 'rpm\t%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n'"


def _probe_script(managers: list[str]) -> str:
    steps = []
    if "apt" in managers:
        steps.append(
            f"if command -v dpkg-query >/dev/null 2>&1; then echo '{MARK}apt'; "
            'echo "arch $(dpkg --print-architecture)"; '
            f"{_DPKG}; "
            "if command -v apt-cache >/dev/null 2>&1; then "
            f"LC_ALL=C apt-cache policy | awk '{_FILES}'; "
            "LC_ALL=C apt-cache policy $(dpkg-query -W -f='${db:Status-Status} ${binary:Package}\\n' "
            '| awk \'$1 != "not-installed" && $1 != "config-files" { print $2 }\') '
            f"| awk '{_POLICY}'; "
            "LC_ALL=C apt-cache show $(dpkg-query -W "
            "-f='${db:Status-Status} ${binary:Package}=${Version}\\n' "
            '| awk \'$1 != "not-installed" && $1 != "config-files" { print $2 }\') '
            f"2>/dev/null | awk '{_SHOW}'; fi; fi"
        )
    if "rpm" in managers:
        steps.append(f"if command -v rpm >/dev/null 2>&1; then echo '{MARK}rpm'; {_RPM}; fi")
    return "\n".join(steps + ["true"])


def _origin(release: str) -> str:
    """``o=`` of an apt-cache policy release line.

    >>> _origin("v=12.15,o=Debian,a=oldstable,n=bookworm,l=Debian,c=main,b=amd64")
    'Debian'
    """
    for part in release.split(","):
        key, _, value = part.partition("=")
        if key == "o":
            return value
    return ""


def parse_apt(lines: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The apt part of the probe -> ansible-core's packages for apt."""
    native = next((line[5:].strip() for line in lines if line.startswith("arch ")), "")
    origins: dict[str, str] = {}
    for line in lines:
        if line.startswith("rel\t"):
            _, source, release = line.split("\t", 2)
            origins.setdefault(source, _origin(release))
    first_source: dict[str, str] = {}
    for line in lines:
        if line.startswith("src\t"):
            _, name, source = line.split("\t", 2)
            if name.endswith(f":{native}"):
                name = name[: -len(native) - 1]
            first_source[name] = source
    sections: dict[tuple[str, str, str], str] = {}
    for line in lines:
        if line.startswith("sec\t") and line.count("\t") == 4:
            _, name, version, arch, section = line.split("\t")
            sections.setdefault((name, version, arch), section)
    packages: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if not line.startswith("deb\t"):
            continue
        parts = line.split("\t")
        if len(parts) < 6:
            continue
        _, _, name, version, arch, section = parts[:6]
        key = name if arch in (native, "all") else f"{name}:{arch}"
        packages.setdefault(key, []).append(
            {
                "name": key,
                "version": version,
                "arch": arch,
                "category": sections.get((name, version, arch), section),
                "origin": origins.get(first_source.get(key, ""), ""),
                "source": "apt",
            }
        )
    return packages


def parse_rpm(lines: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The rpm part of the probe -> ansible-core's packages for rpm."""
    packages: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        parts = line.split("\t")
        if parts[0] != "rpm" or len(parts) != 6:
            continue
        _, name, epoch, version, release, arch = parts
        packages.setdefault(name, []).append(
            {
                "name": name,
                "version": version,
                "release": release,
                "epoch": "None" if epoch == "(none)" else epoch,
                "arch": arch,
                "source": "rpm",
            }
        )
    return packages


def _asked(args: dict[str, Any]) -> list[str]:
    """``manager`` as ansible-core lists it in its messages (auto: every name it knows)."""
    value = args.get("manager") or ["auto"]
    asked = value if isinstance(value, list) else str(value).split(",")
    names = [str(m).strip().lower() for m in asked if str(m).strip()]
    if "auto" in names:
        names.remove("auto")
        names += [*ANSIBLE_MANAGERS, *ALIASES]
    return names


def _managers(args: dict[str, Any]) -> list[str]:
    value = args.get("manager") or ["auto"]
    asked = value if isinstance(value, list) else str(value).split(",")
    names = [str(m).strip().lower() for m in asked if str(m).strip()]
    known = set(ANSIBLE_MANAGERS) | set(ALIASES)
    unsupported = [m for m in names if m != "auto" and m not in known]
    if unsupported:
        raise ModuleFailure(f"Unsupported package managers requested: {', '.join(unsupported)}")
    ordered: list[str] = []
    for name in names:
        for one in READ if name == "auto" else (ALIASES.get(name, name),):
            if one not in ordered:
                ordered.append(one)
    other = [m for m in ordered if m not in READ]
    if other and "auto" not in names:
        raise ModuleFailure(
            f"runner's package_facts reads apt and rpm only, not {', '.join(other)}"
        )
    return [m for m in ordered if m in READ]


def package_facts(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    strategy = need_str(args, "strategy") or "first"
    if strategy not in ("first", "all"):
        raise ModuleFailure(f"strategy must be one of: first, all (got {strategy!r})")
    managers = _managers(args)
    done = ctx.shell(_probe_script(managers), limit=64 << 20, hooks=False)
    if done.exit_code != 0:
        raise ModuleFailure(f"cannot list the packages: {done.stderr_text.strip()}")
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in done.stdout_text.splitlines():
        if line.startswith(MARK):
            current = parts.setdefault(line[len(MARK) :].strip(), [])
        elif current is not None:
            current.append(line)
    packages: dict[str, list[dict[str, Any]]] = {}
    found = 0
    for manager in managers:
        if strategy == "first" and found:
            break
        if manager not in parts:
            continue
        got = (parse_apt if manager == "apt" else parse_rpm)(parts[manager])
        if got:
            found += 1
            for name, versions in got.items():
                packages.setdefault(name, []).extend(versions)
    if not found:
        raise ModuleFailure(
            "Could not detect a supported package manager from the following list: "
            f"{_asked(args)}, or the required Python library is not installed. "
            "Check warnings for details."
        )
    return {"changed": False, "ansible_facts": {"packages": packages}}
