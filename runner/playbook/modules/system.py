"""The system modules (services, packages, users, host settings), by name: gathered here so
runner.playbook.modules registers them with one line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.playbook.modules import initscripts, services
from runner.playbook.modules.base import ModuleContext, ModuleResult

SYSTEM_MODULES: dict[str, Callable[[ModuleContext, dict[str, Any]], ModuleResult]] = {
    "systemd": services.systemd,
    "systemd_service": services.systemd,
    "service": initscripts.service,
}
