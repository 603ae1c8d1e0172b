"""One bridged module call on one host: the interpreter, the parameters, the one command,
the result as Ansible registers it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.playbook.bridge.locate import BridgeRefusal
from runner.playbook.bridge.remote import (
    command_for,
    module_params,
    parse_result,
    split_found,
    stdin_for,
)
from runner.playbook.modules.base import ModuleContext, ModuleFailure
from runner.templating import render_value

_AUTO = ("auto", "auto_silent", "auto_legacy", "auto_legacy_silent")


def interpreter_of(bridge: Any, ctx: ModuleContext) -> str | None:
    """``ansible_python_interpreter`` (unless ``auto``), else the interpreter found on
    this host earlier in the run (its ``discovered_interpreter_python`` fact), else None:
    found by this call."""
    value = ctx.variables.get("ansible_python_interpreter")
    if value is not None:
        text = str(render_value(value, ctx.variables)).strip()
        if text and text not in _AUTO:
            return text
    facts = ctx.variables.get("ansible_facts")
    if isinstance(facts, Mapping) and facts.get("discovered_interpreter_python"):
        return str(facts["discovered_interpreter_python"])
    return bridge.interpreters.get(ctx.host.name)


def run_module(bridge: Any, ctx: ModuleContext, name: str, args: Mapping[str, Any]) -> dict:
    """``bridge`` is the run's runner.playbook.bridge.Bridge (not imported: it imports
    this module when it runs one)."""
    try:
        module = bridge.find(name, ctx.base_dir)
    except BridgeRefusal as exc:
        raise ModuleFailure(exc.message) from exc
    if module is None:
        raise ModuleFailure(f"module {name!r} not found in ansible-core or the collections")
    if ctx.pty and ctx.become is not None:
        raise ModuleFailure(
            f"{name}: Ansible's modules are sent on the command's input, which --pty does "
            "not carry intact; run this task without --pty"
        )
    payload = bridge.payload(module, ctx.base_dir)
    params = module_params(
        args,
        bridge.pass_vars,
        check_mode=ctx.check_mode,
        diff=ctx.diff,
        no_log=ctx.no_log,
        module_name=name,
        version=bridge.version,
    )
    interpreter = interpreter_of(bridge, ctx)
    result = ctx.shell(
        command_for(interpreter),
        stdin=stdin_for(payload.data, module.python_name, params),
        hooks=False,
    )
    found, stdout = split_found(result.stdout_text)
    if result.exit_code == 127 and not result.stdout_text.strip():
        raise ModuleFailure(
            result.stderr_text.strip()
            or f"the Python interpreter {interpreter!r} was not found on the host",
            module_stderr=result.stderr_text,
            rc=result.exit_code,
        )
    data = parse_result(stdout, result.stderr_text, result.exit_code)
    if found and interpreter is None:
        bridge.interpreters[ctx.host.name] = found
        facts = data.get("ansible_facts")
        data["ansible_facts"] = {
            **(facts if isinstance(facts, Mapping) else {}),
            "discovered_interpreter_python": found,
        }
    return data
