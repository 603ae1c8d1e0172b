"""The modules runner implements, by name. Each is ``(ModuleContext, args) -> dict``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.playbook.modules import (
    assemble,
    commands,
    edit,
    files,
    filestate,
    findfiles,
    inspect,
    inventory_changes,
    logic,
    unarchive,
    web,
)
from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult
from runner.playbook.modules.include_vars import include_vars
from runner.playbook.modules.packaging import PACKAGING_MODULES
from runner.playbook.modules.setup import setup
from runner.playbook.modules.system import SYSTEM_MODULES

Module = Callable[[ModuleContext, dict[str, Any]], ModuleResult]

MODULES: dict[str, Module] = {
    "shell": commands.shell,
    "command": commands.command,
    "raw": commands.raw,
    "script": commands.script,
    "copy": files.copy,
    "template": files.template,
    "fetch": files.fetch,
    "file": filestate.file,
    **edit.MODULES,
    **inspect.MODULES,
    "find": findfiles.find,
    "assemble": assemble.assemble,
    "debug": logic.debug,
    "set_fact": logic.set_fact,
    "fail": logic.fail,
    "assert": logic.assert_,
    "pause": logic.pause,
    "setup": setup,
    "include_tasks": logic.include_tasks,
    "meta": logic.meta,
    "include_vars": include_vars,
    "add_host": inventory_changes.add_host,
    "group_by": inventory_changes.group_by,
    "get_url": web.get_url,
    "uri": web.uri,
    "unarchive": unarchive.unarchive,
}
MODULES.update(SYSTEM_MODULES)
MODULES.update(PACKAGING_MODULES)  # yum, dnf, repositories, package_facts, pip

# Modules that never touch the host: no connection is opened for them.
LOCAL_ONLY = frozenset({"debug", "set_fact", "fail", "assert", "pause", "include_tasks", "meta"})
LOCAL_ONLY |= {"include_vars", "add_host", "group_by"}
# Arguments that are Jinja2 expressions, evaluated by the module itself.
EXPRESSION_ARGS = {"assert": ("that",), "debug": ("var",)}

__all__ = ["LOCAL_ONLY", "MODULES", "EXPRESSION_ARGS", "ModuleContext", "ModuleFailure"]
