"""wait_for: a file to appear or go, a port to open or close, on the target.

The waiting runs on the target in one sh loop (one round trip), so it costs no round
trip per poll; a port is tried with bash's /dev/tcp, else ``nc -z``. ``search_regex`` on
a file is matched here with Python's ``re`` (as Ansible matches it) on what the loop
reads once the file exists, one round trip per try.
"""

from __future__ import annotations

import re
import shlex
import time
from typing import Any

from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult, need_str

_MAX_READ = 1 << 20
_INFO = "@@runner-path-info "


def _path_info_sh(path: str) -> str:
    return f"stat -c '{_INFO}%u %g %U %G %a %s %h %F' {shlex.quote(path)} 2>/dev/null"


def path_info(text: str) -> dict[str, Any]:
    """What Ansible adds to any result naming an existing ``path``: owner, mode, size and a
    ``state`` that says what the path is (it replaces the module's own ``state``).

    >>> path_info("@@runner-path-info 0 0 root root 644 12 1 regular file")
    {'uid': 0, 'gid': 0, 'owner': 'root', 'group': 'root', 'mode': '0644', 'state': 'file', 'size': 12}
    """
    for line in text.splitlines():
        if not line.startswith(_INFO):
            continue
        uid, gid, owner, group, mode, size, links, kind = line[len(_INFO) :].split(" ", 7)
        if kind == "symbolic link":
            state = "link"
        elif kind == "directory":
            state = "directory"
        else:
            state = "hard" if int(links) > 1 else "file"
        return {
            "uid": int(uid), "gid": int(gid), "owner": owner, "group": group,
            "mode": f"0{int(mode, 8):03o}", "state": state, "size": int(size),
        }  # fmt: skip
    return {}


def _int(args: dict[str, Any], key: str, default: int) -> int:
    value = args.get(key)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ModuleFailure(f"{key} must be a whole number of seconds, got {value!r}") from exc


def _port_open(host: str, port: int, connect_timeout: int) -> str:
    """sh that succeeds when a TCP connection to host:port is accepted."""
    h, p = shlex.quote(host), int(port)
    tcp = shlex.quote(f"exec 3<>/dev/tcp/{host}/{p}")
    return (
        f"if command -v bash >/dev/null 2>&1; then timeout {connect_timeout} bash -c {tcp} "
        f"2>/dev/null; elif command -v nc >/dev/null 2>&1; then nc -z -w {connect_timeout} {h} {p}; "
        "else echo 'wait_for needs bash or nc on the host to test a port' >&2; exit 90; fi"
    )


def _loop(test: str, until_true: bool, timeout: int, sleep: int) -> str:
    """sh polling ``test`` every ``sleep`` seconds for up to ``timeout``: exit 0 when it
    reached the wanted answer, 1 on timeout."""
    want = "" if until_true else "!"
    return (
        f"end=$(( $(date +%s) + {timeout} )); while :; do "
        f"if {want} {{ {test}; }}; then exit 0; fi; rc=$?; [ $rc = 90 ] && exit 90; "
        f'[ "$(date +%s)" -ge "$end" ] && exit 1; sleep {sleep}; done'
    )


def wait_for(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    host = need_str(args, "host") or "127.0.0.1"
    port = args.get("port")
    path = need_str(args, "path")
    state = need_str(args, "state") or "started"
    regex_text = need_str(args, "search_regex")
    msg = need_str(args, "msg")
    timeout = _int(args, "timeout", 300)
    delay = _int(args, "delay", 0)
    sleep = max(_int(args, "sleep", 1), 0)
    connect_timeout = _int(args, "connect_timeout", 5)
    if port is not None and path:
        raise ModuleFailure("port and path parameter can not both be passed to wait_for", elapsed=0)
    if path and state in ("stopped", "drained"):
        raise ModuleFailure(
            f"state={state} should only be used for checking a port in the wait_for module",
            elapsed=0,
        )
    if state == "drained":
        raise ModuleFailure("runner's wait_for does not support state=drained")
    if regex_text is not None and port is not None:
        raise ModuleFailure("runner's wait_for matches search_regex in files only")
    try:
        regex = re.compile(regex_text, re.MULTILINE) if regex_text is not None else None
    except re.error as exc:
        raise ModuleFailure(f"Invalid regular expression: {exc}") from exc
    if ctx.check_mode:
        return {"changed": False, "skipped": True, "msg": "wait_for does not support check mode"}
    started = time.monotonic()
    result: ModuleResult = {
        "changed": False,
        "state": state,
        "port": None if port is None else int(port),
        "search_regex": regex_text,
        "match_groups": [],
        "match_groupdict": {},
        "path": path,
    }
    if delay:
        ctx.sleep(delay)
    where = f"{host}:{port}" if port is not None else path
    if port is None and not path:
        ctx.sleep(timeout)
    elif regex is not None and path:
        _wait_for_match(ctx, path, regex, result, timeout, sleep, msg, started)
    else:
        present = state in ("started", "present")
        test = (
            f"test -e {shlex.quote(path)}"
            if path
            else _port_open(host, int(port or 0), connect_timeout)
        )
        script = f"( {_loop(test, present, timeout, sleep)} ); rc=$?"
        if path:
            script += f"; {_path_info_sh(path)}"
        done = ctx.shell(script + "; exit $rc", env=False)
        if done.exit_code == 90:
            raise ModuleFailure(done.stderr_text.strip())
        if done.exit_code != 0:
            if present:
                default = f"Timeout when waiting for {'file ' + path if path else where}"
            else:
                default = (
                    f"Timeout when waiting for {where} to stop."
                    if port is not None
                    else f"Timeout when waiting for {path} to be absent."
                )
            raise ModuleFailure(msg or default, elapsed=int(time.monotonic() - started))
    if path:
        if regex is not None:
            done = ctx.shell(_path_info_sh(path), env=False)
        result.update(path_info(done.stdout_text))
    result["elapsed"] = int(time.monotonic() - started)
    return result


def _wait_for_match(
    ctx: ModuleContext,
    path: str,
    regex: re.Pattern[str],
    result: ModuleResult,
    timeout: int,
    sleep: int,
    msg: str | None,
    started: float,
) -> None:
    q = shlex.quote(path)
    read = f"( {_loop(f'test -e {q}', True, timeout, sleep)} ) && head -c {_MAX_READ} {q}"
    while True:
        remaining = max(int(timeout - (time.monotonic() - started)), 0)
        done = ctx.shell(read.replace(f"+ {timeout} ))", f"+ {remaining} ))"), env=False)
        if done.exit_code == 0:
            found = regex.search(done.stdout_text)
            if found:
                result["match_groups"] = list(found.groups())
                result["match_groupdict"] = found.groupdict()
                return
        if time.monotonic() - started >= timeout:
            raise ModuleFailure(
                msg or f"Timeout when waiting for search string {regex.pattern} in {path}",
                elapsed=int(time.monotonic() - started),
            )
        ctx.sleep(sleep)
