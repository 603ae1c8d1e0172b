"""The systemd (systemd_service) module; the probe pieces runner.playbook.modules.initscripts'
``service`` shares.

Two round trips at most: one probe script reads everything the decision needs
(``systemctl show`` and ``is-enabled``, or the init script's ``status`` and its rc?.d
links); Python decides as Ansible's modules decide; one action script changes what must
change (nothing in --check). ``status`` is what ``systemctl show`` said before any change,
as Ansible registers it.
"""

from __future__ import annotations

import shlex
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)

MARK = "@@runner-svc:"
# systemd's own sd_booted() test (and Ansible's): systemd is the service manager
SYSTEMD_CANARY = (
    "command -v systemctl >/dev/null 2>&1 && { [ -d /run/systemd/system/ ] || "
    "[ -d /dev/.run/systemd/ ] || [ -d /dev/.systemd/ ] || "
    '[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }'
)
_RUNNING = ("active", "activating")
# what `systemctl is-enabled` may print for a unit systemd knows (systemctl(1))
_ENABLED_STATES = frozenset(
    {"enabled", "enabled-runtime", "linked", "linked-runtime", "masked", "masked-runtime"}
    | {"static", "indirect", "disabled", "generated", "transient"}
)


def parse_sections(text: str) -> dict[str, str]:
    """The probe's output split at its markers.

    >>> parse_sections("@@runner-svc:show\\nA=1\\n@@runner-svc:show-rc 0\\n")
    {'show': 'A=1', 'show-rc': '0'}
    """
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith(MARK):
            if current is not None:
                sections[current] = "\n".join(lines)
            name, _, rest = line[len(MARK) :].partition(" ")
            if rest:
                sections[name] = rest.strip()
                current, lines = None, []
            else:
                current, lines = name, []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines)
    return sections


def parse_systemctl_show(text: str) -> dict[str, str]:
    """``systemctl show`` as a dict; only ``Exec*={ ... }`` values span lines.

    >>> parse_systemctl_show("Id=a.service\\nExecStart={ path=/bin/a ;\\n argv[]=a }\\nX=1")
    {'Id': 'a.service', 'ExecStart': '{ path=/bin/a ;\\n argv[]=a }', 'X': '1'}
    """
    parsed: dict[str, str] = {}
    key: str | None = None
    pending: list[str] = []
    for line in text.splitlines():
        if key is None:
            if "=" not in line:
                continue
            name, value = line.split("=", 1)
            multi = value.lstrip().startswith("{") and not value.rstrip().endswith("}")
            if name.startswith("Exec") and multi:
                key, pending = name, [value]
                continue
            parsed[name] = value.strip()
        else:
            pending.append(line)
            if line.rstrip().endswith("}"):
                parsed[key] = "\n".join(pending).strip()
                key, pending = None, []
    return parsed


def run_capture(command: str, label: str) -> str:
    """sh that runs ``command`` with its output in a temp file (a daemon it starts must not
    hold the connection open) and prints the output and rc under ``label``."""
    return (
        f'f=$(mktemp); {command} </dev/null >"$f" 2>&1; rc=$?; '
        f'echo "{MARK}{label}"; cat "$f"; echo; rm -f "$f"; echo "{MARK}{label}-rc $rc"'
    )


def _systemctl(args: dict[str, Any]) -> str:
    words = ["systemctl"]
    scope = need_str(args, "scope") or "system"
    if scope != "system":
        words.append(f"--{scope}")
    if as_bool(args.get("no_block")):
        words.append("--no-block")
    if as_bool(args.get("force")):
        words.append("--force")
    return " ".join(words)


def unit_name(args: dict[str, Any]) -> str | None:
    name = need_str(args, "name")
    if name is not None and any(c in name for c in "*?["):
        raise ModuleFailure(
            "This module does not currently support using glob patterns, found in "
            f"service name: {name}"
        )
    return name


def systemd_probe(args: dict[str, Any], check_mode: bool) -> str:
    """The sh that reads one unit's state (after daemon-reload/-reexec, when asked)."""
    sc = _systemctl(args)
    steps = []
    if as_bool(args.get("daemon_reload")) and not check_mode:
        steps.append(run_capture(f"{sc} daemon-reload", "daemon-reload"))
    if as_bool(args.get("daemon_reexec")) and not check_mode:
        steps.append(run_capture(f"{sc} daemon-reexec", "daemon-reexec"))
    name = unit_name(args)
    if name:
        q = shlex.quote(name)
        steps.append(f'echo "{MARK}show"; {sc} show {q} 2>/dev/null; echo; echo "{MARK}show-rc $?"')
        steps.append(
            f'echo "{MARK}enabled"; {sc} is-enabled {q} -l 2>/dev/null; echo "{MARK}enabled-rc $?"'
        )
        steps.append(sysv_probe(name))
    return "; ".join(steps) if steps else "true"


def sysv_probe(name: str) -> str:
    """Whether /etc/init.d/NAME exists and the rc?.d start/kill links it has."""
    q = shlex.quote(name)
    return (
        f'if [ -f /etc/init.d/{q} ]; then echo "{MARK}initd yes"; fi; '
        f'echo "{MARK}links"; for l in /etc/rc?.d/[SK]??{q}; do '
        '[ -e "$l" ] && echo "${l##*/}"; done; true'
    )


def sysv_enabled(sections: dict[str, str]) -> bool:
    return any(line.startswith("S") for line in sections.get("links", "").split())


def sh_status(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return -1


def systemd(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    name = unit_name(args)
    probe = ctx.shell(
        f"command -v systemctl >/dev/null || exit 127; {systemd_probe(args, ctx.check_mode)}"
    )
    if probe.exit_code == 127:
        raise ModuleFailure('Failed to find required executable "systemctl" in paths')
    return systemd_decide(ctx, args, parse_sections(probe.stdout_text), name)


def systemd_decide(
    ctx: ModuleContext, args: dict[str, Any], sections: dict[str, str], name: str | None
) -> ModuleResult:
    """Ansible's systemd module's decisions on a probe's sections, then one action script."""
    for step in ("daemon-reload", "daemon-reexec"):
        if sh_status(sections.get(f"{step}-rc", "0")) != 0:
            detail = sections.get(step, "").strip()
            raise ModuleFailure(f"failure {sections[f'{step}-rc']} during {step}: {detail}")
    result: ModuleResult = {"name": name, "changed": False, "status": {}}
    if not name:
        return result
    status: dict[str, str] = {}
    show = sections.get("show", "")
    is_systemd = False
    ignored = "=" not in show and ("ignoring request" in show or "ignoring command" in show)
    if sh_status(sections.get("show-rc")) == 0 and not ignored and show.strip():
        status = parse_systemctl_show(show)
        load = status.get("LoadState")
        is_systemd = load is not None and load != "not-found"
        if is_systemd and load != "masked" and "LoadError" in status:
            raise ModuleFailure(f"Error loading unit file '{name}': {status['LoadError']}")
    enabled_out = sections.get("enabled", "").strip()
    if not is_systemd and enabled_out in _ENABLED_STATES:
        is_systemd = True
    result["status"] = status
    is_initd = sections.get("initd") == "yes"
    found = is_systemd or is_initd
    sc = _systemctl(args)
    q = shlex.quote(name)
    actions: list[tuple[str, str]] = []  # (systemctl verb, message when it fails)
    missing = f"Could not find the requested service {name}: host"

    masked_wanted = args.get("masked")
    if masked_wanted is not None:
        masked = enabled_out == "masked"
        if masked != as_bool(masked_wanted):
            result["changed"] = True
            verb = "mask" if as_bool(masked_wanted) else "unmask"
            actions.append((verb, f"Failed to {verb} the service ({name})"))

    enabled_wanted = args.get("enabled")
    if enabled_wanted is not None:
        if not found:
            raise ModuleFailure(missing)
        rc = sh_status(sections.get("enabled-rc"))
        enabled = False
        if rc == 0:
            enabled = enabled_out not in ("enabled-runtime", "indirect", "alias")
        elif rc == 1:
            scope = need_str(args, "scope") or "system"
            enabled = (
                scope == "system"
                and is_initd
                and not enabled_out.endswith("disabled")
                and sysv_enabled(sections)
            )
        result["enabled"] = enabled
        if enabled != as_bool(enabled_wanted):
            result["changed"] = True
            verb = "enable" if as_bool(enabled_wanted) else "disable"
            actions.append((verb, f"Unable to {verb} service {name}"))
            result["enabled"] = not enabled

    state = need_str(args, "state")
    if state is not None:
        if not found:
            raise ModuleFailure(missing)
        result["state"] = state
        if "ActiveState" not in status:
            raise ModuleFailure("Service is in unknown state", status=status)
        running = status["ActiveState"] in _RUNNING
        act: str | None = None
        if state == "started":
            act = None if running else "start"
        elif state == "stopped":
            act = "stop" if running or status["ActiveState"] == "deactivating" else None
        else:
            act = state[:-2] if running else "start"  # restarted/reloaded -> restart/reload
            result["state"] = "started"
        if act:
            result["changed"] = True
            actions.append((act, f"Unable to {act} service {name}"))

    if actions and not ctx.check_mode:
        script = "; ".join(
            run_capture(f"{sc} {verb} {q}", f"a{i}") + f'; [ "$rc" = 0 ] || exit {100 + i}'
            for i, (verb, _) in enumerate(actions)
        )
        done = ctx.shell(script)
        if done.exit_code >= 100 and done.exit_code - 100 < len(actions):
            index = done.exit_code - 100
            out = parse_sections(done.stdout_text).get(f"a{index}", "").strip()
            raise ModuleFailure(f"{actions[index][1]}: {out}")
        if done.exit_code != 0:
            raise ModuleFailure(f"systemctl failed: {done.stderr_text.strip()}")
    return result
