"""Package modules: apt (apt-get/dpkg, no python-apt needed) and package (the host's own
package manager: apt here, dnf/yum in runner.playbook.modules.rpmpkgs, others refused).

Two round trips: a probe (after ``apt-get update`` when the cache is older than
``cache_valid_time``) reads each package's installed and candidate version; Python decides
as Ansible's apt module does; one apt-get/dpkg run changes what must change (nothing in
--check). Registered keys follow Ansible's: ``changed``, ``cache_updated``,
``cache_update_time``, and ``stdout``/``stderr``/``diff`` when apt-get ran.
"""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import dataclass
from typing import Any

from runner.playbook.modules import rpmpkgs
from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.services import MARK, parse_sections
from runner.playbook.specs.system import PACKAGE_BACKENDS, package_extras

APT_ENV = "DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical LC_ALL=C"
DPKG_OPTS = '-o "Dpkg::Options::=--force-confdef" -o "Dpkg::Options::=--force-confold"'
APT_GET_ZERO = "\n0 upgraded, 0 newly installed, 0 to remove"
# Ansible's own idea of when the cache was last updated (it ignores APT_CONFIG here too)
STAMP = "/var/lib/apt/periodic/update-success-stamp"
LISTS = "/var/lib/apt/lists"


@dataclass(frozen=True)
class Wanted:
    """One entry of ``name``: ``nginx``, ``nginx=1.22*``."""

    name: str
    version: str | None = None

    @property
    def spec(self) -> str:
        return f"{self.name}={self.version}" if self.version else self.name


def parse_names(value: Any) -> list[Wanted]:
    """``name`` as a list of packages (a list, or a comma-separated string).

    >>> parse_names("a, b=1.0")
    [Wanted(name='a', version=None), Wanted(name='b', version='1.0')]
    """
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    wanted = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if text.count("=") > 1:
            raise ModuleFailure(f"invalid package spec: {text}")
        name, _, version = text.partition("=")
        wanted.append(Wanted(name.strip(), version.strip() or None))
    return wanted


@dataclass(frozen=True)
class Known:
    """What the host says of one package: dpkg's status and apt's candidate."""

    status: str = ""  # "install ok installed", "deinstall ok config-files", ""
    installed: str | None = None
    candidate: str | None = None

    @property
    def is_installed(self) -> bool:
        return self.status.endswith(" installed")

    @property
    def has_files(self) -> bool:
        return self.status.endswith(" config-files") or self.is_installed


def parse_probe(text: str) -> dict[str, Known]:
    """The probe's ``pkg`` lines: ``NAME<TAB>STATUS<TAB>VERSION<TAB>CANDIDATE``.

    >>> found = parse_probe("pkg a\\tinstall ok installed\\t1.0\\t1.1\\npkg b\\t\\t2.0\\n")
    >>> found["a"], found["b"]
    (Known(status='install ok installed', installed='1.0', candidate='1.1'), Known(status='', installed=None, candidate='2.0'))
    """
    found: dict[str, Known] = {}
    for line in text.splitlines():
        if not line.startswith("pkg "):
            continue
        parts = line[4:].split("\t")
        name, candidate = parts[0], parts[-1] if len(parts) > 2 else ""
        middle = parts[1:-1] + ["", ""]  # dpkg's status and version; both empty if unknown
        status, version = middle[0], middle[1]
        found[name] = Known(
            status.strip(),
            version.strip() or None,
            None if candidate.strip() in ("", "(none)") else candidate.strip(),
        )
    return found


_CACHE_TIME = (
    f"if [ -e {STAMP} ]; then t=$(stat -c %Y {STAMP}); elif [ -e {LISTS} ]; then "
    f"t=$(stat -c %Y {LISTS}); else t=0; fi"
)


def _probe_script(names: list[str], update: str | None, deb: str | None) -> str:
    steps = [f'{_CACHE_TIME}; echo "{MARK}cache-before $t"']
    if update is not None:
        steps.append(update)
    steps.append(f'{_CACHE_TIME}; echo "{MARK}cache-time $t"')
    for name in names:
        q = shlex.quote(name)
        steps.append(
            f"s=$(dpkg-query -W -f='${{Status}}\\t${{Version}}' {q} 2>/dev/null); "
            f"c=$(LC_ALL=C apt-cache policy {q} 2>/dev/null | sed -n 's/^ *Candidate: //p'); "
            f'printf \'pkg %s\\t%s\\t%s\\n\' {q} "$s" "$c"'
        )
    if deb is not None:
        q = shlex.quote(deb)
        steps.append(
            f'[ -f {q} ] || {{ echo "{MARK}deb-missing yes"; exit 0; }}; '
            f"n=$(dpkg-deb -f {q} Package); "
            f'echo "{MARK}deb-name $n"; echo "{MARK}deb-version $(dpkg-deb -f {q} Version)"; '
            f"s=$(dpkg-query -W -f='${{Status}}\\t${{Version}}' \"$n\" 2>/dev/null); "
            f'printf \'pkg %s\\t%s\\t\\n\' "$n" "$s"'
        )
    return "; ".join(steps)


def _update_step(args: dict[str, Any], check_mode: bool) -> str | None:
    """apt-get update, when asked and the cache is older than cache_valid_time (by the
    clock Ansible reads: the update-success stamp, else the lists folder)."""
    try:
        valid = int(args.get("cache_valid_time") or 0)
    except (TypeError, ValueError) as exc:
        raise ModuleFailure("cache_valid_time must be a number of seconds") from exc
    if not (as_bool(args.get("update_cache")) or valid):
        return None
    log = "/tmp/.runner-apt-update.$$"
    run = "true" if check_mode else f"{APT_ENV} apt-get update -q >{log} 2>&1"
    return (
        f'if [ $(( t + {valid} )) -lt "$(date +%s)" ] || [ {valid} = 0 ]; then '
        f'{run}; rc=$?; echo "{MARK}updated $rc"; '
        f"if [ $rc != 0 ]; then cat {log}; rm -f {log}; exit 0; fi; rm -f {log}; fi"
    )


def _version_matches(installed: str | None, wanted: str | None) -> bool:
    if installed is None:
        return False
    return wanted is None or fnmatch.fnmatch(installed, wanted)


def apt(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    state = need_str(args, "state") or "present"
    state = {"installed": "present", "removed": "absent"}.get(state, state)
    if state in ("build-dep", "fixed"):
        raise ModuleFailure(f"runner's apt does not support state={state}")
    if args.get("upgrade") not in (None, "no", False, "false", "False"):
        raise ModuleFailure("runner's apt does not support 'upgrade' (use state: latest)")
    wanted = parse_names(args.get("name"))
    if any(w.name == "*" for w in wanted):
        raise ModuleFailure("runner's apt does not support name: '*'")
    deb = need_str(args, "deb")
    if deb is not None and "://" in deb:
        raise ModuleFailure("runner's apt installs a deb file on the host, not from a URL")
    if deb is not None and state != "present":
        raise ModuleFailure("deb only supports state=present")
    update = _update_step(args, ctx.check_mode)
    probe = ctx.shell(_probe_script([w.name for w in wanted], update, deb))
    sections = parse_sections(probe.stdout_text)
    if probe.exit_code != 0:
        raise ModuleFailure(f"cannot read the package state: {probe.stderr_text.strip()}")
    updated = sections.get("updated")
    if updated not in (None, "0"):
        lines = [x for x in probe.stdout_text.splitlines() if not x.startswith(("pkg ", MARK))]
        raise ModuleFailure("Failed to update apt cache: " + "\n".join(lines).strip())
    ran = updated == "0"
    cache: ModuleResult = {
        # as Ansible: updated when its clock moved (or would have, in --check)
        "cache_updated": ran
        and (ctx.check_mode or sections.get("cache-before") != sections.get("cache-time")),
        "cache_update_time": int(sections.get("cache-time") or 0),
    }
    known = parse_probe(probe.stdout_text)
    if deb is None and not wanted:
        if as_bool(args.get("autoremove")) or as_bool(args.get("autoclean")):
            verb = "autoremove" if as_bool(args.get("autoremove")) else "autoclean"
            return _apt_get(ctx, args, verb, [])
        return {"changed": cache["cache_updated"], **cache}
    if deb is not None:
        return _install_deb(ctx, args, deb, sections, known)
    if state == "absent":
        purge = as_bool(args.get("purge"))
        todo = [
            w.name
            for w in wanted
            if known.get(w.name, Known()).is_installed
            or (purge and known.get(w.name, Known()).has_files)
        ]
        if not todo:
            return {"changed": False}
        return _apt_get(ctx, args, "remove", todo)
    todo_specs = []
    for w in wanted:
        info = known.get(w.name, Known())
        if not info.is_installed or not _version_matches(info.installed, w.version):
            if w.version is None and info.candidate is None and not info.is_installed:
                raise ModuleFailure(f"No package matching '{w.name}' is available")
            todo_specs.append(w.spec)
        elif (
            state == "latest" and w.version is None and info.candidate not in (None, info.installed)
        ):
            todo_specs.append(w.name)
    if not todo_specs:
        return {"changed": False, **cache}
    return {**_apt_get(ctx, args, "install", todo_specs), **cache}


# what apt-get prints when autoremove / autoclean did something (as Ansible reads it)
CLEANED = {"autoremove": "The following packages will be REMOVED", "autoclean": "Del "}


def _apt_get(
    ctx: ModuleContext, args: dict[str, Any], verb: str, packages: list[str]
) -> ModuleResult:
    if ctx.check_mode:
        return {"changed": True, "stdout": "", "stderr": "", "diff": {}}
    words = [f"{APT_ENV} apt-get -q -y", DPKG_OPTS]
    if as_bool(args.get("force")):
        words.append("--force-yes")
    if verb == "install":
        recommends = args.get("install_recommends")
        if recommends is not None:
            words.append(
                "--install-recommends" if as_bool(recommends) else "--no-install-recommends"
            )
        if as_bool(args.get("allow_downgrade")):
            words.append("--allow-downgrades")
        if args.get("default_release"):
            words.append(f"-t {shlex.quote(str(args['default_release']))}")
    if verb in ("remove", "autoremove") and as_bool(args.get("purge")):
        words.append("--purge")
    if verb != "autoremove" and as_bool(args.get("autoremove")):
        words.append("--auto-remove")
    words.append(verb)
    words.extend(shlex.quote(p) for p in packages)
    done = ctx.shell(" ".join(words))
    out, err = done.stdout_text, done.stderr_text
    if done.exit_code != 0:
        raise ModuleFailure(
            f"'apt-get {verb} {' '.join(packages)}' failed: {err.strip()}",
            rc=done.exit_code,
            stdout=out,
            stderr=err,
        )
    if verb == "install":
        changed = APT_GET_ZERO not in out
    elif verb in CLEANED:
        changed = CLEANED[verb] in out
    else:
        changed = True
    return {"changed": changed, "stdout": out, "stderr": err, "diff": {}}


def _install_deb(
    ctx: ModuleContext,
    args: dict[str, Any],
    deb: str,
    sections: dict[str, str],
    known: dict[str, Known],
) -> ModuleResult:
    if sections.get("deb-missing"):
        raise ModuleFailure(f"Unable to install package: {deb} does not exist on the host")
    name, version = sections.get("deb-name", ""), sections.get("deb-version", "")
    info = known.get(name, Known())
    if info.is_installed and info.installed == version and not as_bool(args.get("force")):
        return {"changed": False, "stdout": "", "stderr": "", "diff": ""}  # Ansible's keys
    if ctx.check_mode:
        return {"changed": True, "stdout": "", "stderr": "", "diff": {}}
    force = " --force-all" if as_bool(args.get("force")) else ""
    done = ctx.shell(f"{APT_ENV} dpkg{force} --force-confdef --force-confold -i {shlex.quote(deb)}")
    if done.exit_code != 0:
        raise ModuleFailure(
            f"Unable to install package: {done.stderr_text.strip() or done.stdout_text.strip()}",
            rc=done.exit_code,
        )
    return {"changed": True, "stdout": done.stdout_text, "stderr": done.stderr_text, "diff": {}}


_MANAGERS = "for m in apt-get dnf yum apk zypper pacman; do command -v $m >/dev/null 2>&1 && { echo $m; exit 0; }; done; echo unknown"


def package(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's package: the pkg_mgr fact (or what the host has), then that module, with
    every argument package does not know itself passed on (apt: purge, autoremove...)."""
    use = (need_str(args, "use") or "auto").lower()
    if use == "auto":
        facts = ctx.variables.get("ansible_facts")
        use = (
            str(facts.get("pkg_mgr"))
            if isinstance(facts, dict) and facts.get("pkg_mgr")
            else "auto"
        )
    if use == "auto":
        found = ctx.shell(_MANAGERS).stdout_text.strip()
        use = {"apt-get": "apt"}.get(found, found)
    use = {"yum": "dnf", "dnf5": "dnf"}.get(use, use)  # ansible-core's yum is its dnf
    if use in ("apt", "dnf"):
        backend = PACKAGE_BACKENDS[use]
        extras = package_extras(args, backend)
        if extras:
            raise ModuleFailure(
                f"package passes {', '.join(map(repr, extras))} to this host's package "
                f"manager, {use}, which does not support {'it' if len(extras) == 1 else 'them'}"
            )
        passed = {k: v for k, v in args.items() if k != "use"}
        for alias, target in backend.aliases:  # the backend's own names for its arguments
            if alias in passed and target not in passed:
                passed[target] = passed.pop(alias)
        return apt(ctx, passed) if use == "apt" else rpmpkgs.dnf(ctx, passed)
    raise ModuleFailure(
        f"runner's package module drives apt, dnf and yum; this host's package manager is {use!r}",
    )
