"""The setup module: the host's facts (runner.playbook.facts), read by one POSIX sh
script over the task's connection. It needs no Python on the host."""

from __future__ import annotations

from typing import Any

from runner.playbook.facts import GatherFailed, SubsetError, gather
from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult


def setup(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    def run(script: str) -> tuple[int, str, str]:
        result = ctx.shell(script, hooks=False)
        return result.exit_code, result.stdout_text, result.stderr_text

    try:
        facts = gather(run, args.get("gather_subset"), args.get("filter"))
    except (SubsetError, GatherFailed) as exc:
        raise ModuleFailure(str(exc)) from exc
    return {"changed": False, "ansible_facts": facts}
