"""wait_for_connection and reboot: waiting for a host to answer over runner's own
connection again.

Both work through the task's transport only (``ctx.connect()``: the engine's held
connection for the host). A try that fails closes that connection, so the next
``ctx.connect()`` opens a new one; reboot closes it on purpose once the reboot command has
run, since a rebooting host's connection is dead even when it has not said so yet.
Ansible's versions are action plugins (controller-side), which the bridge cannot run.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from typing import Any

from runner.errors import HostError
from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult, need_str

_SEARCH_PATHS = ["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"]


def _seconds(args: dict[str, Any], key: str, default: float) -> float:
    value = args.get(key)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ModuleFailure(f"{key} must be a number of seconds, got {value!r}") from exc


def _drop(ctx: ModuleContext) -> None:
    """Close the host's connection (when there is one) so the next use opens another."""
    try:
        ctx.connect().close()
    except (HostError, OSError):
        pass


def _until(
    ctx: ModuleContext, check: Callable[[], None], deadline: float, what: str, sleep: float | None
) -> None:
    """Call ``check`` until it returns without raising, or fail at ``deadline``. A failed try
    drops the connection; the pause between tries is ``sleep``, or grows 1, 2, 4.. to 12 s."""
    pause = 1.0
    while True:
        try:
            check()
            return
        except (HostError, OSError, ModuleFailure) as exc:
            error = getattr(exc, "msg", None) or str(exc)
            _drop(ctx)
            if time.monotonic() >= deadline:
                raise ModuleFailure(f"Timed out waiting for {what}: {error}") from exc
        wait = sleep if sleep is not None else pause
        ctx.sleep(max(0.0, min(wait, deadline - time.monotonic())))
        pause = min(pause * 2, 12.0)


def _answer(ctx: ModuleContext, command: str) -> str:
    """``command``'s output, or ModuleFailure (HostError when the host cannot be reached)."""
    done = ctx.shell(command)
    if done.exit_code != 0:
        raise ModuleFailure(
            f"{command!r} exited {done.exit_code}: {done.stderr_text.strip() or done.stdout_text.strip()}"
        )
    return done.stdout_text.strip()


def wait_for_connection(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Retry a real connection and a command on it until the host answers."""
    if ctx.check_mode:
        return {
            "skipped": True,
            "changed": False,
            "msg": "wait_for_connection: skipped in check mode",
        }
    delay = _seconds(args, "delay", 0)
    sleep = _seconds(args, "sleep", 1)
    timeout = _seconds(args, "timeout", 600)
    ctx.sleep(delay)
    start = time.monotonic()

    def ping() -> None:
        if _answer(ctx, "echo pong") != "pong":
            raise ModuleFailure("the host's shell did not answer pong")

    try:
        _until(ctx, ping, start + timeout, "ping module test", sleep)
    except ModuleFailure as exc:
        raise ModuleFailure(
            exc.msg.replace("Timed out waiting for", "timed out waiting for"),
            elapsed=int(time.monotonic() - start),
        ) from exc
    return {"changed": False, "elapsed": int(time.monotonic() - start)}


def reboot(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Note the boot id, run the reboot command, drop the connection, wait
    ``post_reboot_delay``, then reconnect until the boot id has changed and
    ``test_command`` succeeds, within ``reboot_timeout``."""
    if ctx.check_mode:
        return {"changed": True, "elapsed": 0, "rebooted": True}
    pre = int(_seconds(args, "pre_reboot_delay", 0))
    post = _seconds(args, "post_reboot_delay", 0)
    timeout = _seconds(args, "reboot_timeout", 600)
    test_command = need_str(args, "test_command") or "whoami"
    message = need_str(args, "msg") or "Reboot initiated by Ansible"
    boot_command = need_str(args, "boot_time_command") or "cat /proc/sys/kernel/random/boot_id"
    paths = args.get("search_paths") or _SEARCH_PATHS
    if isinstance(paths, str):
        paths = [paths]
    command = need_str(args, "reboot_command")
    if command is None:
        command = f"shutdown -r {pre // 60} {shlex.quote(message)}"
    start = time.monotonic()
    try:
        before = _answer(ctx, boot_command)
    except ModuleFailure as exc:
        raise ModuleFailure(f"Unable to get the boot time: {exc.msg}", rebooted=False) from exc
    search = ":".join(shlex.quote(str(p)) for p in paths)
    try:
        done = ctx.shell(f'PATH="$PATH:"{search}; export PATH; {command}')
        if done.exit_code != 0:
            raise ModuleFailure(
                f"Reboot command failed. Error was: '{done.stdout_text.strip()}, "
                f"{done.stderr_text.strip()}'",
                rebooted=False,
            )
    except HostError:
        pass  # the host went down under the command: that is the reboot
    _drop(ctx)
    ctx.sleep(post)
    deadline = time.monotonic() + timeout

    def booted() -> None:
        if _answer(ctx, boot_command) == before:
            raise ModuleFailure("boot time has not changed")

    def answers() -> None:
        _answer(ctx, test_command)

    try:
        _until(ctx, booted, deadline, "last boot time check", None)
        _until(ctx, answers, deadline, "post-reboot test command", None)
    except ModuleFailure as exc:
        raise ModuleFailure(
            f"{exc.msg} (timeout={int(timeout)})",
            rebooted=True,
            elapsed=int(time.monotonic() - start),
        ) from exc
    return {"changed": True, "rebooted": True, "elapsed": int(time.monotonic() - start)}
