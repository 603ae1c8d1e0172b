"""Small host modules: ping, getent, hostname. One round trip each (hostname: two when
the name changes)."""

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
from runner.playbook.modules.services import MARK, SYSTEMD_CANARY, parse_sections


def ping(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """A round trip through the shell: the host answers ``pong`` (or ``data``)."""
    data = need_str(args, "data") or "pong"
    if data == "crash":
        raise ModuleFailure("boom: the ping module was asked to crash")
    done = ctx.shell("echo pong", env=False)
    if done.exit_code != 0 or done.stdout_text.strip() != "pong":
        raise ModuleFailure(f"the host's shell did not answer: {done.stderr_text.strip()}")
    return {"changed": False, "ping": data}


_COLON_DATABASES = ("passwd", "shadow", "group", "gshadow")
_GETENT_ERRORS = {
    1: "Missing arguments, or database unknown.",
    2: "One or more supplied key could not be found in the database.",
    3: "Enumeration not supported on this database.",
}


def parse_getent(text: str, split: str | None) -> dict[str, Any]:
    """getent's lines keyed by their first field, as Ansible's getent sets
    ``getent_DATABASE`` (a key seen twice gets a list of records).

    >>> parse_getent("root:x:0:0:root:/root:/bin/sh\\n", ":")
    {'root': ['x', '0', '0', 'root', '/root', '/bin/sh']}
    >>> parse_getent("ssh 22/tcp\\nssh 22/udp\\n", None)
    {'ssh': [['22/tcp'], ['22/udp']]}
    """
    table: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for line in text.splitlines():
        record = line.split(split)
        if not record:
            continue
        key = record[0]
        if key in seen:
            if seen[key] == 1:
                table[key] = [table[key]]
            table[key].append(record[1:])
            seen[key] += 1
        else:
            table[key] = record[1:]
            seen[key] = 1
    return table


def getent(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    database = need_str(args, "database") or ""
    key = need_str(args, "key")
    service = need_str(args, "service")
    split = need_str(args, "split")
    if split is None and database in _COLON_DATABASES:
        split = ":"
    words = ["getent", database] + ([key] if key is not None else [])
    if service is not None:
        words += ["-s", service]
    done = ctx.shell(shlex.join(words), env=False)
    fact = f"getent_{database}"
    if done.exit_code == 0:
        return {"changed": False, "ansible_facts": {fact: parse_getent(done.stdout_text, split)}}
    msg = _GETENT_ERRORS.get(done.exit_code, "Unexpected failure!")
    keep_going = args.get("fail_key") is not None and not as_bool(args["fail_key"])
    if done.exit_code == 2 and key is not None and keep_going:
        return {"changed": False, "msg": msg, "ansible_facts": {fact: {key: None}}}
    raise ModuleFailure(msg)


def hostname(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """hostnamectl where systemd runs (or ``use: systemd``), else /etc/hostname and the
    ``hostname`` command; the facts and the diff as Ansible's hostname module sets them."""
    name = need_str(args, "name") or ""
    use = need_str(args, "use")
    if use not in (None, "systemd", "debian", "generic"):
        raise ModuleFailure(
            f"runner's hostname supports use: systemd, debian or generic, not {use!r}"
        )
    systemd = (
        "true" if use == "systemd" else "false" if use in ("debian", "generic") else SYSTEMD_CANARY
    )
    probe = ctx.shell(
        f'if {systemd}; then echo "{MARK}mgr systemd"; '
        f'echo "{MARK}current $(hostnamectl --transient status)"; '
        f'echo "{MARK}permanent $(hostnamectl --static status)"; else echo "{MARK}mgr file"; '
        f'echo "{MARK}current $(hostname)"; '
        f'echo "{MARK}permanent $(cat /etc/hostname 2>/dev/null)"; fi; '
        f'echo "{MARK}fqdn $(hostname -f 2>/dev/null || hostname)"'
    )
    sections = parse_sections(probe.stdout_text)
    if probe.exit_code != 0 or "current" not in sections:
        raise ModuleFailure(f"cannot read the host name: {probe.stderr_text.strip()}")
    current, permanent = sections.get("current", ""), sections.get("permanent", "")
    steps = []
    q = shlex.quote(name)
    via_systemd = sections.get("mgr") == "systemd"
    if len(name) > 64 and via_systemd:
        raise ModuleFailure("name cannot be longer than 64 characters on systemd servers")
    if permanent != name:
        steps.append(
            f"hostnamectl --pretty --static set-hostname {q}"
            if via_systemd
            else f"printf '%s\\n' {q} > /etc/hostname"
        )
    if current != name:
        steps.append(
            f"hostnamectl --transient set-hostname {q}" if via_systemd else f"hostname {q}"
        )
    if steps and not ctx.check_mode:
        done = ctx.shell(" && ".join(steps))
        if done.exit_code != 0:
            raise ModuleFailure(
                f"Command failed rc={done.exit_code}, out={done.stdout_text}, err={done.stderr_text}"
            )
    fqdn = sections.get("fqdn", "")
    result: ModuleResult = {
        "changed": bool(steps),
        "name": name,
        "ansible_facts": {
            "ansible_hostname": name.split(".")[0],
            "ansible_nodename": name,
            "ansible_fqdn": fqdn,
            "ansible_domain": ".".join(fqdn.split(".")[1:]),
        },
    }
    if steps:
        before = current if name != current else permanent
        result["diff"] = {"before": f"hostname = {before}\n", "after": f"hostname = {name}\n"}
    return result
