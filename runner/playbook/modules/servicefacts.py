"""service_facts: ``ansible_facts.services`` in the shape Ansible's module gives it
(``{NAME: {name, state, source[, status]}}``), from SysV's ``service --status-all`` and,
where systemd manages the host, ``systemctl list-units`` and ``list-unit-files``.

One round trip lists everything; a second asks ``systemctl show`` only for unit files
that list-units did not name. Upstart, RHEL's chkconfig and OpenRC are not read.
Besides the canaries Ansible looks for, ``systemctl is-system-running`` answering that
systemd runs counts as systemd (the tests' systemctl stand-in says so).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from runner.playbook.modules.base import ModuleContext, ModuleResult
from runner.playbook.modules.probe import marked_sections
from runner.playbook.modules.services import SYSTEMD_CANARY

_S = "@@runner-sf:"
_BAD = ("not-found", "masked", "failed")
_SYSV = re.compile(r"^\s*\[ (?P<state>\+|\-) \]\s+(?P<name>.+)$", re.M)

_LIST = f"""export LANG=C LC_ALL=C
has() {{ command -v "$1" >/dev/null 2>&1; }}
if has service && ! has chkconfig && ! has rc-status; then
  echo "{_S}sysv"; service --status-all 2>/dev/null; echo "{_S}sysv-rc $?"
fi
if {SYSTEMD_CANARY} || {{ has systemctl && case "$(systemctl is-system-running 2>/dev/null)" in
    running|degraded|starting|initializing|maintenance|stopping) true ;; *) false ;; esac; }}; then
  echo "{_S}units"; systemctl list-units --no-pager --type service --all --plain
  echo "{_S}units-rc $?"
  echo "{_S}files"; systemctl list-unit-files --no-pager --type service --all
  echo "{_S}files-rc $?"
fi
exit 0
"""


def _sections(text: str) -> tuple[dict[str, str], dict[str, str]]:
    flags, body = marked_sections(text, _S)
    return flags, {k: "\n".join(v) for k, v in body.items()}


def sysv_services(text: str) -> dict[str, dict[str, str]]:
    """``service --status-all`` -> services (``[ ? ]`` lines are not listed, as in Ansible).

    >>> sysv_services(" [ + ]  ssh\\n [ ? ]  hwclock.sh\\n [ - ]  cron\\n")["ssh"]
    {'name': 'ssh', 'state': 'running', 'source': 'sysv'}
    """
    found = {}
    for match in _SYSV.finditer(text):
        name = match.group("name")
        state = "running" if match.group("state") == "+" else "stopped"
        found[name] = {"name": name, "state": state, "source": "sysv"}
    return found


def systemd_units(text: str) -> dict[str, dict[str, str]]:
    """``systemctl list-units --plain`` -> services; a bad state anywhere but in the
    description is the status.

    >>> systemd_units("app.service loaded active running App\\nx.service not-found inactive dead x")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'app.service': {'name': 'app.service', 'state': 'running', 'status': 'active', 'source': 'systemd'},
     'x.service': {'name': 'x.service', 'state': 'stopped', 'status': 'not-found', 'source': 'systemd'}}
    """
    found = {}
    for line in (x for x in text.split("\n") if ".service" in x):
        fields = line.split()
        if len(fields) < 4:
            continue
        status = next((bad for bad in _BAD if bad in fields[:-1]), fields[2])
        state = "running" if fields[3] == "running" else "stopped"
        found[fields[0]] = {
            "name": fields[0],
            "state": state,
            "status": status,
            "source": "systemd",
        }
    return found


def unit_files(text: str) -> list[tuple[str, str]]:
    """``systemctl list-unit-files`` -> (unit, status) pairs.

    >>> unit_files("UNIT FILE STATE VENDOR PRESET\\napp.service enabled enabled\\n")
    [('app.service', 'enabled')]
    """
    pairs = []
    for line in (x for x in text.split("\n") if ".service" in x):
        words = line.split()
        if len(words) >= 2:
            pairs.append((words[0], words[1]))
    return pairs


def service_facts(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    done = ctx.shell(_LIST)
    flags, body = _sections(done.stdout_text)
    services: dict[str, dict[str, str]] = {}
    warnings = []
    if "sysv" in flags:
        if flags.get("sysv-rc", "0") != "0":
            warnings.append(f"Unable to query 'service' tool ({flags.get('sysv-rc')}): ")
        services.update(sysv_services(body.get("sysv", "")))
    if "units" in flags:
        systemd: dict[str, dict[str, str]] = {}
        if flags.get("units-rc") == "0":
            systemd.update(systemd_units(body.get("units", "")))
        else:
            warnings.append("Could not list units from systemd: ")
        files = unit_files(body.get("files", "")) if flags.get("files-rc") == "0" else []
        unseen = [name for name, _ in files if name not in systemd]
        states = _active_states(ctx, unseen) if unseen else {}
        for name, status in files:
            if name not in systemd:
                systemd[name] = {
                    "name": name, "state": states.get(name, "unknown"), "status": status,
                    "source": "systemd",
                }  # fmt: skip
            elif systemd[name]["status"] not in _BAD:
                systemd[name]["status"] = status
        services.update(systemd)
    if not services:
        return {
            "skipped": True,
            "msg": "Failed to find any services. This can be due to privileges or some "
            "other configuration issue.",
        }
    result: ModuleResult = {"changed": False, "ansible_facts": {"services": services}}
    if warnings:
        result["warnings"] = warnings
    return result


def _active_states(ctx: ModuleContext, names: list[str]) -> dict[str, str]:
    """ActiveState of each unit, in one round trip."""
    script = "".join(
        f'echo "{_S}{n}"; systemctl show {shlex.quote(n)} --property=ActiveState; ' for n in names
    )
    _, body = _sections(ctx.shell("export LANG=C LC_ALL=C; " + script).stdout_text)
    states = {}
    for name in names:
        for line in body.get(name, "").splitlines():
            if line.startswith("ActiveState="):
                states[name] = line[len("ActiveState=") :].strip()
    return states
