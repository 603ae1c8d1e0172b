"""The service module: systemd when it is the service manager (sd_booted's test, or the
``service_mgr`` fact), else SysV init scripts through ``service``/``/etc/init.d`` with
update-rc.d or chkconfig, as Ansible's LinuxService does. One probe, one action script.
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
from runner.playbook.modules.services import (
    MARK,
    SYSTEMD_CANARY,
    parse_sections,
    run_capture,
    sh_status,
    systemd,
    systemd_decide,
    systemd_probe,
    sysv_enabled,
    sysv_probe,
    unit_name,
)


def sysv_status_running(out: str, rc: int, name: str) -> bool | None:
    """Ansible's reading of an init script's ``status``: LSB exit codes first, then
    keywords of a one-line answer, then rc 0 means running."""
    if rc in (1, 2, 3, 4, 69):
        return False
    if out.count("\n") <= 1:
        clean = out.lower().replace(name.lower(), "")
        if "stop" in clean:
            return False
        if "run" in clean:
            return "not " not in clean
        if "start" in clean and "not " not in clean:
            return True
        for dead in (
            "could not access pid file",
            "is dead and pid file exists",
            "dead but subsys locked",
            "dead but pid file exists",
        ):
            if dead in clean:
                return False
    if rc == 0:
        return True
    return None


def _sysv_tools() -> str:
    return (
        f'for t in service update-rc.d chkconfig; do p=$(PATH="$PATH:/sbin:/usr/sbin" '
        f'command -v $t 2>/dev/null) && echo "{MARK}tool-$t $p"; done'
    )


def _service_probe(name: str, args: dict[str, Any], check_mode: bool, want_status: bool) -> str:
    q = shlex.quote(name)
    status = ""
    if want_status:
        status = "; " + run_capture(
            f'if [ -n "$svc" ]; then "$svc" {q} status; else /etc/init.d/{q} status; fi',
            "status",
        )
    sysv = (
        f"{_sysv_tools()}; {sysv_probe(name)}; "
        f'svc=$(PATH="$PATH:/sbin:/usr/sbin" command -v service 2>/dev/null){status}'
    )
    return (
        f'if {SYSTEMD_CANARY}; then echo "{MARK}mgr systemd"; {systemd_probe(args, check_mode)}; '
        f'else echo "{MARK}mgr sysv"; {sysv}; fi'
    )


def service(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    name = need_str(args, "name") or ""
    use = (need_str(args, "use") or "auto").lower()
    if use == "auto":
        facts = ctx.variables.get("ansible_facts")
        fact = facts.get("service_mgr") if isinstance(facts, dict) else None
        use = str(fact) if fact == "systemd" else "auto"
    if use == "systemd":
        return systemd(ctx, {k: v for k, v in args.items() if k in ("name", "state", "enabled")})
    state = need_str(args, "state")
    probe = ctx.shell(_service_probe(name, args, ctx.check_mode, state is not None))
    sections = parse_sections(probe.stdout_text)
    if sections.get("mgr") == "systemd":
        plain = {k: v for k, v in args.items() if k in ("name", "state", "enabled")}
        return systemd_decide(ctx, plain, sections, unit_name(plain))
    return _sysv(ctx, args, name, sections)


def _sysv(
    ctx: ModuleContext, args: dict[str, Any], name: str, sections: dict[str, str]
) -> ModuleResult:
    """Ansible's LinuxService on SysV init: update-rc.d/chkconfig, ``service NAME ACTION``."""
    q = shlex.quote(name)
    result: ModuleResult = {"name": name, "changed": False}
    has_script = sections.get("initd") == "yes"
    svc = sections.get("tool-service")
    steps: list[str] = []
    enabled_wanted = args.get("enabled")
    if enabled_wanted is not None:
        want = as_bool(enabled_wanted)
        update_rc = sections.get("tool-update-rc.d")
        chkconfig = sections.get("tool-chkconfig")
        if not has_script or not (update_rc or chkconfig):
            raise ModuleFailure(f"Could not find the requested service {name}: host")
        if update_rc:
            enabled = sysv_enabled(sections)
            if enabled != want:
                result["changed"] = True
                links = sections.get("links", "").split()
                if want and not any(link.startswith("K") for link in links):
                    steps.append(f"{update_rc} {q} defaults")
                steps.append(f"{update_rc} {q} {'enable' if want else 'disable'}")
        else:
            result["changed"] = True  # as Ansible: chkconfig is always asked
            steps.append(f"{chkconfig} {q} {'on' if want else 'off'}")
        result["enabled"] = want
    state = need_str(args, "state")
    if state is None:
        return _sysv_act(ctx, steps, result)
    if not svc and not has_script:
        raise ModuleFailure(f"Could not find the requested service {name}: host")
    result["state"] = state
    out = sections.get("status", "").rstrip("\n")
    running = sysv_status_running(out, sh_status(sections.get("status-rc")), name)
    if running is None:
        raise ModuleFailure("failed determining service state, possible typo of service name?")
    change = (
        (not running and state in ("reloaded", "started"))
        or (running and state in ("reloaded", "stopped"))
        or state == "restarted"
    )
    if change:
        result["changed"] = True
        if ctx.check_mode:
            return {"changed": True, "msg": "service state changed"}
        control = f"{svc} {q}" if svc else f"/etc/init.d/{q}"
        extra = f" {args['arguments']}" if args.get("arguments") else ""
        if state == "started" or (state == "reloaded" and not running):
            steps.append(f"{control} start{extra}")
        elif state == "stopped":
            steps.append(f"{control} stop{extra}")
        elif state == "reloaded":
            steps.append(f"{control} reload{extra}")
        else:  # not every init script restarts: stop, then start (whose rc counts)
            pause = f"sleep {int(args['sleep'])}; " if args.get("sleep") else ""
            steps.append(f"{{ {control} stop{extra}; {pause}{control} start{extra}; }}")
    result["state"] = "stopped" if state == "stopped" else "started"
    return _sysv_act(ctx, steps, result)


def _sysv_act(ctx: ModuleContext, steps: list[str], result: ModuleResult) -> ModuleResult:
    if not steps or ctx.check_mode:
        return result
    script = "; ".join(
        run_capture(step, f"a{i}") + f'; [ "$rc" = 0 ] || exit {100 + i}'
        for i, step in enumerate(steps)
    )
    done = ctx.shell(script)
    if done.exit_code != 0:
        index = done.exit_code - 100
        out = parse_sections(done.stdout_text).get(f"a{index}", "").strip()
        raise ModuleFailure(out or done.stderr_text.strip() or f"exit {done.exit_code}")
    return result
