"""Modules that run on the control node only: debug, set_fact, fail, assert, pause."""

from __future__ import annotations

from typing import Any

from runner.errors import VaultError
from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult, as_bool
from runner.templating import condition, evaluate


def debug(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    var = args.get("var")
    if var is not None:
        name = str(var)
        try:
            value = evaluate(name, ctx.variables)
        except VaultError:  # defined, but its password was not given: say so
            raise
        except Exception:  # Ansible prints the placeholder rather than failing
            value = "VARIABLE IS NOT DEFINED!"
        return {"changed": False, name: value}
    return {"changed": False, "msg": args.get("msg", "Hello world!")}


def set_fact(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """The facts, and whether they also go to the fact cache (``cacheable``), in the
    result keys Ansible's set_fact uses."""
    facts = {k: v for k, v in args.items() if k != "cacheable"}
    cacheable = as_bool(args.get("cacheable"))
    return {"changed": False, "ansible_facts": facts, "_ansible_facts_cacheable": cacheable}


def fail(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    return {
        "changed": False,
        "failed": True,
        "msg": args.get("msg", "Failed as requested from task"),
    }


def assert_(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    that = args.get("that")
    checks = that if isinstance(that, list) else [that]
    for check in checks:
        if not condition(check, ctx.variables):
            msg = args.get("fail_msg", args.get("msg", "Assertion failed"))
            return {
                "changed": False,
                "failed": True,
                "assertion": check,
                "evaluated_to": False,
                "msg": msg,
            }
    result: ModuleResult = {
        "changed": False,
        "msg": args.get("success_msg", "All assertions passed"),
    }
    if as_bool(args.get("quiet")):
        result["msg"] = ""
    return result


def pause(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    try:
        seconds = float(args.get("seconds", 0) or 0) + 60 * float(args.get("minutes", 0) or 0)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModuleFailure("pause: seconds/minutes must be numbers") from exc
    if not 0 <= seconds < float("inf"):  # also refuses nan
        raise ModuleFailure("pause: the duration must be a finite number, not negative")
    ctx.sleep(seconds)
    return {"changed": False, "delta": seconds, "stdout": f"Paused for {seconds:g} seconds"}


def include_tasks(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """The per-host half of ``include_tasks``: the file name, rendered for this host (the
    strategy reads the file and runs its tasks next)."""
    name = args.get("file")
    if not isinstance(name, str) or not name.strip():
        raise ModuleFailure(f"include_tasks: the file name rendered to {name!r}")
    return {"changed": False, "include": name.strip()}


def meta(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """The per-host half of ``meta``: reached (its ``when`` held); the strategy acts."""
    return {"changed": False, "meta": args.get("_raw_params")}
