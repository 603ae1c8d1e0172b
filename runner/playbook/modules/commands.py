"""Command modules: shell, command, raw, script."""

from __future__ import annotations

import os
import secrets
import shlex
from typing import Any

from runner.playbook.localfiles import resolve_local, role_dir
from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    command_result,
    need_str,
)

CHECK_SKIP = "Command would have run if not in check mode"


def _creates_removes(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult | None:
    """Ansible's ``creates``/``removes``: a result when the command must not run."""
    chdir = need_str(args, "chdir")
    for key, want_exists in (("creates", True), ("removes", False)):
        path = need_str(args, key)
        if path is None:
            continue
        check = ctx.shell(f"test -e {shlex.quote(path)}", chdir=chdir, env=False)
        exists = check.exit_code == 0
        if exists == want_exists:
            state = "exists" if exists else "does not exist"
            return {
                "changed": False,
                "rc": 0,
                "stdout": f"skipped, since {path} {state}",
                "stderr": "",
                "stdout_lines": [f"skipped, since {path} {state}"],
                "stderr_lines": [],
                "msg": f"Did not run command since '{path}' {state}",
            }
    return None


def _check_skip(cmd: str | list[str]) -> ModuleResult:
    """What ansible-core 2.19 registers for a command skipped in check mode: rc 0 and
    empty output, so ``result.stdout_lines | length`` still renders under --check."""
    return {
        "changed": False,
        "skipped": True,
        "msg": CHECK_SKIP,
        "cmd": cmd,
        "rc": 0,
        "stdout": "",
        "stderr": "",
        "stdout_lines": [],
        "stderr_lines": [],
        "start": None,
        "end": None,
        "delta": None,
    }


def _stdin(args: dict[str, Any]) -> bytes | None:
    value = args.get("stdin")
    if value is None:
        return None
    text = str(value)
    if as_bool(args.get("stdin_add_newline", True)) and not text.endswith("\n"):
        text += "\n"
    return text.encode()


def _strip(args: dict[str, Any]) -> bool:
    return as_bool(args.get("strip_empty_ends", True))


def shell(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    cmd = need_str(args, "cmd") or need_str(args, "_raw_params") or ""
    skip = _creates_removes(ctx, args)
    if skip is not None:
        return skip
    if ctx.check_mode:
        return _check_skip(cmd)
    result = ctx.shell(
        cmd,
        stdin=_stdin(args),
        chdir=need_str(args, "chdir"),
        executable=need_str(args, "executable") or "/bin/sh",
    )
    return command_result(result, cmd=cmd, strip=_strip(args))


def command(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    argv = args.get("argv")
    if argv is not None:
        if not isinstance(argv, list) or not argv:
            raise ModuleFailure("argv must be a non-empty list")
        words = [str(a) for a in argv]
    else:
        text = need_str(args, "cmd") or need_str(args, "_raw_params") or ""
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise ModuleFailure(f"cannot split the command line: {exc}") from exc
    if not words:
        raise ModuleFailure("no command given")
    skip = _creates_removes(ctx, args)
    if skip is not None:
        return skip
    if ctx.check_mode:
        return _check_skip(words)
    # argv semantics: every word is quoted, so nothing is expanded by a shell.
    result = ctx.shell(shlex.join(words), stdin=_stdin(args), chdir=need_str(args, "chdir"))
    return command_result(result, cmd=words, strip=_strip(args))


def raw(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    cmd = need_str(args, "_raw_params") or ""
    if ctx.check_mode:  # ansible-core 2.19 registers no more than this for raw
        return {"changed": False, "skipped": True}
    result = ctx.raw(cmd, need_str(args, "executable"))
    return command_result(result, cmd=cmd, strip=False)


def script(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    line = need_str(args, "cmd") or need_str(args, "_raw_params") or ""
    name, _, script_args = line.strip().partition(" ")
    local = resolve_local(name, ctx.base_dir, "script", role_dir(ctx))
    if local is None or os.path.isdir(local):
        raise ModuleFailure(f"script {name!r} not found on the control node")
    skip = _creates_removes(ctx, args)
    if skip is not None:
        return skip
    if ctx.check_mode:  # as ansible-core 2.19's script action
        return {
            "changed": False,
            "skipped": True,
            "msg": "Check mode is not supported for this task.",
        }
    with open(local, "rb") as fh:
        data = fh.read()
    remote = f"/tmp/.runner-script-{secrets.token_hex(8)}"
    transport = ctx.connect()
    try:
        transport.put_file(data, remote, 0o755)
    except OSError as exc:
        raise ModuleFailure(f"could not upload the script to {remote}: {exc}") from exc
    executable = need_str(args, "executable")
    run = shlex.quote(remote) + (f" {script_args}" if script_args else "")
    if executable:
        run = f"{executable} {run}"
    body = f"{run}; rc=$?; rm -f {shlex.quote(remote)}; exit $rc"
    result = ctx.shell(body, chdir=need_str(args, "chdir"))
    return command_result(result, cmd=line, strip=True)
