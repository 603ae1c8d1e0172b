"""The system modules (services, packages, users, host settings), by name: gathered here so
runner.playbook.modules registers them with one line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.playbook.modules import (
    crontab,
    gitrepo,
    hostinfo,
    hostwait,
    initscripts,
    kernel,
    mounts,
    packages,
    servicefacts,
    services,
    sshkeys,
    users,
    waiting,
)
from runner.playbook.modules.base import ModuleContext, ModuleResult

SYSTEM_MODULES: dict[str, Callable[[ModuleContext, dict[str, Any]], ModuleResult]] = {
    "systemd": services.systemd,
    "systemd_service": services.systemd,
    "service": initscripts.service,
    "apt": packages.apt,
    "package": packages.package,
    "user": users.user,
    "group": users.group,
    "ping": hostinfo.ping,
    "getent": hostinfo.getent,
    "hostname": hostinfo.hostname,
    "wait_for": waiting.wait_for,
    "cron": crontab.cron,
    # host configuration (keys, kernel, mounts, git, waits): specs/hostconfig.py
    "authorized_key": sshkeys.authorized_key,
    "sysctl": kernel.sysctl,
    "mount": mounts.mount,
    "git": gitrepo.git,
    "service_facts": servicefacts.service_facts,
    "wait_for_connection": hostwait.wait_for_connection,
    "reboot": hostwait.reboot,
}
