"""yum and dnf natively: ``rpm -q`` says what is installed, the host's dnf (or yum) CLI
changes it. No Python (and no python3-dnf) is needed on the target.

Two round trips, as apt: a probe (after ``makecache`` when ``update_cache``) reads each
spec's installed packages (``rpm -q``, which matches NAME, NAME.ARCH, NAME-VERSION and
NAME-VERSION-RELEASE as dnf does), what ``check-update`` offers for ``state: latest`` and,
in check mode, what ``list available`` offers; Python decides as ansible-core's dnf module
does (which is also where ansible-core sends ``yum``); one dnf run changes what must change.
Registered keys are that module's: ``msg``, ``results`` (``Installed: NEVRA``,
``Removed: NEVRA``), ``rc``, ``changed`` and, when it fails, ``failures``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.rpmquery import (
    MARK,
    QUERY,
    Rpm,
    Spec,
    dnf_flags,
    parse_probe,
    parse_updates,
    rpm_vercmp,
)

CHECK_MODE_MSG = "Check mode: No changes made, but would have if not in check mode"
_GLOB = re.compile(r"[*?\[]")


def _managers(args: dict[str, Any]) -> str:
    """The CLIs tried, in order: dnf, then dnf5 and yum (dnf5 first for use_backend=dnf5)."""
    backend = need_str(args, "use_backend") or "auto"
    return "dnf5 dnf yum" if backend == "dnf5" else "dnf dnf5 yum"


def _probe_script(
    args: dict[str, Any], specs: list[str], flags: str, *, latest: list[str], offered: bool
) -> str:
    steps = [
        f"m=; for t in {_managers(args)}; do if command -v $t >/dev/null 2>&1; then m=$t; "
        "break; fi; done",
        f'if [ -z "$m" ] || ! command -v rpm >/dev/null 2>&1; then echo "{MARK}mgr none"; '
        'exit 0; fi; echo "{MARK}mgr $m"'.replace("{MARK}", MARK),
    ]
    if as_bool(args.get("update_cache")):
        log = "/tmp/.runner-dnf-cache.$$"
        steps.append(
            f'"$m" -q -y {flags} makecache >{log} 2>&1; rc=$?; echo "{MARK}updated $rc"; '
            f"if [ $rc != 0 ]; then cat {log}; rm -f {log}; exit 0; fi; rm -f {log}"
        )
    for index, spec in enumerate(specs):
        q = shlex.quote(spec)
        step = f"echo '{MARK}spec {index}'; rpm -q --qf '{QUERY}' {q} 2>/dev/null | grep '^inst '"
        base = [shlex.quote(spec.rsplit("-", n)[0]) for n in (1, 2) if spec.count("-") >= n]
        if base:
            others = QUERY.replace("inst ", "base ")
            step += f" || rpm -q --qf '{others}' {' '.join(base)} 2>/dev/null | grep '^base '"
        if offered:
            step += (
                f'; "$m" -q {flags} list available {q} 2>/dev/null | '
                "grep -v '^Available Packages' | sed 's/^/avail /'"
            )
        steps.append(step)
    if latest:
        names = " ".join(shlex.quote(n) for n in latest if n != "*")
        steps.append(
            f'echo "{MARK}updates"; "$m" -q {flags} check-update {names} 2>&1; '
            f'echo "{MARK}updates-rc $?"'
        )
    steps.append("true")
    return "\n".join(steps)


def _sections(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith(MARK):
            key, _, value = line[len(MARK) :].partition(" ")
            values[key] = value
    return values


def _between(text: str, start: str, end: str) -> str:
    head, _, rest = text.partition(MARK + start + "\n")
    return rest.partition(MARK + end)[0] if rest else ""


def _wanted_version(spec: Spec) -> tuple[Rpm, str] | None:
    """For NAME-VERSION[-RELEASE] whose NAME is installed at another version: that package
    and the version asked for."""
    for rpm in spec.others:
        if spec.text.startswith(rpm.name + "-"):
            return rpm, spec.text[len(rpm.name) + 1 :]
    return None


def _is_newer(installed: Rpm, asked: str) -> bool:
    """Whether the installed package is newer than ``VERSION[-RELEASE]``."""
    version, _, release = asked.partition("-")
    if ":" in version:
        version = version.split(":", 1)[1]
    cmp = rpm_vercmp(installed.version, version)
    if cmp == 0 and release:
        cmp = rpm_vercmp(installed.release, release)
    return cmp > 0


def _offered_nevra(spec: Spec) -> str:
    """``Installed: ...`` for check mode, from ``list available`` (the newest it shows)."""
    if not spec.offered:
        return spec.text
    words = spec.offered[-1].split()
    name, _, arch = words[0].rpartition(".")
    return f"{name}-{words[1]}.{arch}" if len(words) > 1 else spec.text


def dnf(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """ansible-core's dnf (and yum, which it sends to dnf), through the dnf/yum CLI."""
    names = _names(args.get("name"))
    state = need_str(args, "state")
    autoremove = as_bool(args.get("autoremove"))
    if need_str(args, "list"):
        raise ModuleFailure("runner's dnf does not support 'list' (use command: dnf list ...)")
    for name in names:
        if name.startswith("@") or name.endswith(".rpm") or "://" in name or name.startswith("-"):
            raise ModuleFailure(
                f"runner's dnf installs packages by name, not groups, modules or rpm files: {name}"
            )
    if not names and autoremove:
        state = "absent"
    state = state or "present"
    state = {"installed": "present", "removed": "absent"}.get(state, state)
    if state not in ("present", "absent", "latest"):
        raise ModuleFailure(
            f"state must be one of: absent, installed, latest, present, removed (got {state!r})"
        )
    latest = state == "latest" or as_bool(args.get("update_only"))
    flags = " ".join(dnf_flags(args))
    plain = [n for n in names if n != "*" and not _GLOB.search(n)]
    probe = ctx.shell(
        _probe_script(
            args, plain, flags, latest=names if latest else [],
            offered=ctx.check_mode and state != "absent",
        )
    )  # fmt: skip
    if probe.exit_code != 0:
        raise ModuleFailure(f"cannot read the package state: {probe.stderr_text.strip()}")
    said = _sections(probe.stdout_text)
    manager = said.get("mgr", "none")
    if manager == "none":
        raise ModuleFailure("neither dnf nor yum (with rpm) was found on the host", results=[])
    if said.get("updated") not in (None, "0"):
        lines = [x for x in probe.stdout_text.splitlines() if not x.startswith(MARK)]
        raise ModuleFailure("Failed to update the cache: " + "\n".join(lines).strip(), rc=1)
    if not names and not autoremove:
        return {"changed": False, "msg": "Cache updated", "results": [], "rc": 0}
    found = parse_probe(probe.stdout_text, plain)
    updates = parse_updates(_between(probe.stdout_text, "updates", "updates-rc"))
    if said.get("updates-rc") not in (None, "0", "100"):
        text = _between(probe.stdout_text, "updates", "updates-rc").strip()
        raise ModuleFailure(f"Unknown Error occurred: {text}", failures=[], results=[], rc=1)
    plan = _plan(args, state, names, found, updates, ctx.check_mode and state != "absent")
    return _run(ctx, manager, flags, plan, found)


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


@dataclass
class Plan:
    """What one dnf run is to do: the commands (verb, specs), the results Ansible lists
    (removals, and in check mode what would be installed), the specs no repository offers,
    and whether the change is known before running (a glob's is not)."""

    commands: list[tuple[str, list[str]]] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unknown: bool = False


def _plan(
    args: dict[str, Any],
    state: str,
    names: list[str],
    found: dict[str, Spec],
    updates: dict[str, tuple[str, str]],
    offers_read: bool,
) -> Plan:
    """Decide as ansible-core's dnf: install what is not installed (unless a newer version
    is, without allow_downgrade), upgrade what check-update offers for latest, remove what
    is installed; update_only upgrades and installs nothing."""
    plan = Plan()
    if state == "absent":
        gone = []
        for name in names:
            spec = found.get(name)
            if spec is None:  # a glob: dnf decides
                gone.append(name)
                plan.unknown = True
            elif spec.installed:
                gone.append(name)
                plan.results += [f"Removed: {r.nevra}" for r in spec.installed]
            else:
                plan.notes.append(f"No match for argument: {name}")
        if gone:
            plan.commands.append(("remove", gone))
        if as_bool(args.get("autoremove")):
            plan.commands.append(("autoremove", []))
            plan.unknown = True
        return plan
    if names == ["*"]:
        if state == "latest" and updates:
            plan.commands.append(("upgrade", []))
            plan.results += [f"Installed: {n}-{v}.{a}" for n, (a, v) in updates.items()]
        return plan
    update_only = as_bool(args.get("update_only"))
    install: list[str] = []
    downgrade: list[str] = []
    upgrade: list[str] = []
    for name in names:
        spec = found.get(name)
        if spec is None:
            (upgrade if state == "latest" or update_only else install).append(name)
            plan.unknown = True
            continue
        if spec.installed:
            base = spec.installed[0].name
            if (state == "latest" or update_only) and base in updates:
                arch, version = updates[base]
                upgrade.append(name)
                plan.results.append(f"Installed: {base}-{version}.{arch}")
            continue
        if update_only:
            plan.notes.append(
                f"Packages providing {name} not installed due to update_only specified"
            )
            continue
        if offers_read and not spec.offered:
            plan.missing.append(name)
            continue
        other = _wanted_version(spec)
        if other is not None and _is_newer(other[0], other[1]):
            if as_bool(args.get("allow_downgrade")):
                downgrade.append(name)
                plan.results.append(f"Installed: {_offered_nevra(spec)}")
            continue
        install.append(name)
        plan.results.append(f"Installed: {_offered_nevra(spec)}")
    for verb, specs in (("install", install), ("downgrade", downgrade), ("upgrade", upgrade)):
        if specs:
            plan.commands.append((verb, specs))
    return plan


# how dnf (stderr) and yum (stdout) say that nothing offers a spec
_NO_MATCH = re.compile(r"^(?:No match for argument: (\S+)|No package (\S+) available\.)$")


def _missing(names: list[str]) -> ModuleFailure:
    return ModuleFailure(
        "Failed to install some of the specified packages",
        failures=[f"No package {name} available." for name in dict.fromkeys(names)],
        results=[],
        rc=1,
    )


def _run(
    ctx: ModuleContext, manager: str, flags: str, plan: Plan, found: dict[str, Spec]
) -> ModuleResult:
    """Run the plan's commands (with --assumeno in check mode, only when the change is not
    known yet), then ``rpm -q`` what was installed: the results name what is new."""
    if plan.missing:
        raise _missing(plan.missing)
    if not plan.commands:
        return {"changed": False, "msg": "Nothing to do", "results": plan.notes, "rc": 0}
    if ctx.check_mode and not plan.unknown:
        return {"changed": True, "msg": CHECK_MODE_MSG, "results": plan.results, "rc": 0}
    answer = "--assumeno" if ctx.check_mode else "-y"
    steps, added = [], []
    for verb, specs in plan.commands:
        words = " ".join(shlex.quote(s) for s in specs)
        steps.append(f'echo "{MARK}run {verb}"; {manager} {answer} {flags} {verb} {words} 2>&1')
        steps.append(f'echo "{MARK}rc $?"')
        if verb != "remove" and verb != "autoremove":
            added += [s for s in specs if s in found]
    if added and not ctx.check_mode:
        quoted = " ".join(shlex.quote(s) for s in added)
        steps.append(
            f"echo '{MARK}after'; rpm -q --qf '{QUERY}' {quoted} 2>/dev/null | grep '^inst '"
        )
    done = ctx.shell("\n".join(steps) + "\ntrue")
    out = done.stdout_text
    runs = [chunk for chunk in out.split(MARK + "run ")[1:]]
    failed = [chunk for chunk in runs if f"{MARK}rc 0" not in chunk]
    if failed:
        lines = "\n".join(failed).splitlines()
        missing = [m.group(1) or m.group(2) for m in map(_NO_MATCH.match, lines) if m]
        if missing and not ctx.check_mode:
            raise _missing(missing)
        if not ctx.check_mode or not all("Operation aborted" in c for c in failed):
            text = "\n".join(x for x in lines if not x.startswith(MARK))
            raise ModuleFailure(
                f"Unknown Error occurred: {text.strip()}", failures=[], results=[], rc=1
            )
    worked = [chunk for chunk in runs if "Nothing to do" not in chunk]
    if ctx.check_mode:  # a glob: --assumeno says "Operation aborted." when there is work
        changed = any("Operation aborted" in chunk for chunk in runs)
        return {"changed": changed, "msg": CHECK_MODE_MSG if changed else "Nothing to do",
                "results": plan.results, "rc": 0}  # fmt: skip
    before = {r.nevra for spec in found.values() for r in (*spec.installed, *spec.others)}
    after = parse_probe(f"{MARK}spec 0\n" + out.partition(MARK + "after\n")[2], ["after"])
    results = [r for r in plan.results if r.startswith("Removed: ")]
    results += [f"Installed: {r.nevra}" for r in after["after"].installed if r.nevra not in before]
    changed = bool(results) or bool(worked)
    return {
        "changed": changed,
        "msg": "" if changed else "Nothing to do",
        "results": [*plan.notes, *results],
        "rc": 0,
    }
