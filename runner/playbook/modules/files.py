"""File modules: copy, template, fetch, file.

``copy`` compares SHA-1 checksums and uploads (SFTP) only when they differ, so a second
run reports ok. Under become the file is uploaded to /tmp first and copied into place
with sudo. ``--check`` computes the same answer without changing anything.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import secrets
import shlex
import time
from dataclasses import dataclass
from typing import Any

from runner.errors import TemplateError, UnsafePathError
from runner.localpaths import fetch_module_path
from runner.playbook.localfiles import resolve_local, role_dir
from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.templating import environment, run_template

_MAX_DIFF = 256 * 1024

_STAT = (
    'p={path}; if [ -d "$p" ]; then echo directory; elif [ -e "$p" ]; then echo file; '
    '(sha1sum "$p" 2>/dev/null || shasum "$p") | cut -c1-40; '
    "stat -c '%a %U %G' \"$p\" 2>/dev/null || stat -f '%Lp %Su %Sg' \"$p\"; "
    "else echo absent; fi"
)


@dataclass(frozen=True)
class RemoteStat:
    kind: str  # "absent" | "file" | "directory"
    checksum: str | None = None
    mode: int | None = None
    owner: str | None = None
    group: str | None = None


def remote_stat(ctx: ModuleContext, path: str) -> RemoteStat:
    result = ctx.shell(_STAT.format(path=shlex.quote(path)), env=False)
    lines = result.stdout_text.split()
    if result.exit_code != 0 or not lines:
        raise ModuleFailure(
            f"cannot inspect {path}: {result.stderr_text.strip() or 'exit ' + str(result.exit_code)}"
        )
    kind = lines[0]
    if kind != "file":
        return RemoteStat(kind)
    try:
        return RemoteStat("file", lines[1], int(lines[2], 8), lines[3], lines[4])
    except (IndexError, ValueError):
        return RemoteStat("file", lines[1] if len(lines) > 1 else None)


def parse_mode(value: Any) -> int | str | None:
    """``0644``/``'0644'``/``'644'`` -> 0o644; symbolic modes (``u+x``) stay strings.

    A YAML integer is taken as it is (0644 in YAML already is octal 420), as Ansible does.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"0?o?[0-7]{3,4}", text):
        return int(text.replace("o", ""), 8)
    if re.fullmatch(r"[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*", text):
        return text
    raise ModuleFailure(f"invalid mode {value!r}")


def _attributes(
    ctx: ModuleContext, path: str, stat: RemoteStat | None, args: dict[str, Any]
) -> bool:
    """Apply mode/owner/group; True when something changed (or would, in check mode)."""
    mode = parse_mode(args.get("mode"))
    owner = need_str(args, "owner")
    group = need_str(args, "group")
    steps: list[str] = []
    quoted = shlex.quote(path)
    if mode is not None:
        if isinstance(mode, str):
            steps.append(f"chmod {shlex.quote(mode)} {quoted}")  # compared after the fact
        elif stat is None or stat.mode != mode:
            steps.append(f"chmod {mode:o} {quoted}")
    if owner is not None and (stat is None or stat.owner != owner):
        steps.append(f"chown {shlex.quote(owner)} {quoted}")
    if group is not None and (stat is None or stat.group != group):
        steps.append(f"chgrp {shlex.quote(group)} {quoted}")
    if not steps:
        return False
    if ctx.check_mode:
        return True
    result = ctx.shell(" && ".join(steps), env=False)
    if result.exit_code != 0:
        raise ModuleFailure(f"cannot set attributes of {path}: {result.stderr_text.strip()}")
    if isinstance(mode, str) and len(steps) == 1 and stat is not None:
        return remote_stat(ctx, path).mode != stat.mode
    return True


def _read_remote(ctx: ModuleContext, path: str) -> bytes:
    if ctx.become:
        result = ctx.shell(f"cat -- {shlex.quote(path)}", env=False)
        if result.exit_code != 0:
            raise ModuleFailure(f"cannot read {path}: {result.stderr_text.strip()}")
        return result.stdout
    try:
        return ctx.connect().get_file(path)
    except OSError as exc:
        raise ModuleFailure(f"cannot read {path}: {exc}") from exc


def _diff(before: bytes | None, after: bytes, path: str) -> str | None:
    if len(after) > _MAX_DIFF or (before is not None and len(before) > _MAX_DIFF):
        return f"(diff of {path} not shown: file larger than {_MAX_DIFF // 1024} KiB)"
    if b"\0" in after or (before and b"\0" in before):
        return f"(binary file {path} differs)"
    old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new = after.decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(
        old, new, f"before: {path}" if before is not None else "/dev/null", f"after: {path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _upload(ctx: ModuleContext, data: bytes, dest: str) -> None:
    """Write ``data`` to ``dest`` atomically (temp file + mv); through sudo under become."""
    transport = ctx.connect()
    if ctx.become:
        tmp = f"/tmp/.runner-copy-{secrets.token_hex(8)}"
        mode = 0o600 if (ctx.become_user or "root") == "root" else 0o644
        try:
            transport.put_file(data, tmp, mode)
        except OSError as exc:
            raise ModuleFailure(f"cannot upload to {tmp}: {exc}") from exc
        result = ctx.shell(f"cp -- {shlex.quote(tmp)} {shlex.quote(dest)}", env=False)
        ctx.shell(f"rm -f -- {shlex.quote(tmp)}", become=False, env=False)
    else:
        tmp = f"{dest}.runner-{secrets.token_hex(6)}.tmp"
        try:
            transport.put_file(data, tmp)
        except OSError as exc:
            folder = os.path.dirname(dest) or "."
            raise ModuleFailure(f"cannot write {dest}: {exc} (does {folder} exist?)") from exc
        result = ctx.shell(f"mv -f -- {shlex.quote(tmp)} {shlex.quote(dest)}", env=False)
    if result.exit_code != 0:
        raise ModuleFailure(f"cannot write {dest}: {result.stderr_text.strip()}")


def put_content(ctx: ModuleContext, data: bytes, dest: str, args: dict[str, Any]) -> ModuleResult:
    """The shared half of copy and template: compare, back up, upload, set attributes."""
    stat = remote_stat(ctx, dest)
    if stat.kind == "directory":
        raise ModuleFailure(f"{dest} is a directory; give the file name in 'dest'")
    checksum = hashlib.sha1(data).hexdigest()
    result: ModuleResult = {"dest": dest, "checksum": checksum, "size": len(data)}
    changed = stat.kind == "absent" or (
        stat.checksum != checksum and as_bool(args.get("force", True))
    )
    if changed and ctx.diff:
        before = _read_remote(ctx, dest) if stat.kind == "file" else None
        result["diff"] = _diff(before, data, dest)
    attr_args = dict(args)
    if attr_args.get("mode") is None and stat.mode is not None:
        attr_args["mode"] = stat.mode  # replacing a file keeps its permissions
    after: RemoteStat | None = stat if stat.kind == "file" else None
    if changed and not ctx.check_mode:
        if stat.kind == "file" and as_bool(args.get("backup")):
            backup = f"{dest}.{time.strftime('%Y-%m-%d@%H:%M:%S')}~"
            ctx.shell(f"cp -p -- {shlex.quote(dest)} {shlex.quote(backup)}", env=False)
            result["backup_file"] = backup
        _upload(ctx, data, dest)
        after = remote_stat(ctx, dest)
    attrs_changed = _attributes(ctx, dest, after, attr_args)
    result["changed"] = changed or attrs_changed
    return result


def _dest_for(ctx: ModuleContext, dest: str, src: str | None) -> str:
    if dest.endswith("/"):
        if not src:
            raise ModuleFailure("dest ends with '/' but there is no src to take a name from")
        return dest + os.path.basename(src)
    return dest


def copy(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    dest = need_str(args, "dest") or ""
    src = need_str(args, "src")
    if src is not None:
        local = resolve_local(src, ctx.base_dir, "copy", role_dir(ctx))
        if local is None or os.path.isdir(local):
            raise ModuleFailure(f"copy: source {src!r} not found (or is a directory)")
        with open(local, "rb") as fh:
            data = fh.read()
    else:
        content = args.get("content")
        data = content.encode() if isinstance(content, str) else _dump(content).encode()
    dest = _dest_for(ctx, dest, src)
    if remote_stat(ctx, dest).kind == "directory" and src:
        dest = os.path.join(dest, os.path.basename(src))
    return put_content(ctx, data, dest, args)


def _dump(value: Any) -> str:
    import json

    def text(obj: Any) -> Any:  # sets, bytes, Jinja2 objects: as text, never a traceback
        if isinstance(obj, (set, frozenset)):
            return sorted(obj, key=str)
        try:
            return str(obj)
        except Exception:
            return f"<{type(obj).__name__}>"

    try:
        return json.dumps(value, indent=2, default=text) + "\n"
    except (ValueError, RecursionError) as exc:  # a loop of references
        raise ModuleFailure(f"copy: content cannot be written as JSON: {exc}") from exc


def template(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    src = need_str(args, "src") or ""
    local = resolve_local(src, ctx.base_dir, "template", role_dir(ctx))
    if local is None or os.path.isdir(local):
        raise ModuleFailure(f"template {src!r} not found on the control node")
    with open(local, encoding="utf-8") as fh:
        source = fh.read()
    managed = {"ansible_managed": "Managed by runner; local changes are overwritten"}
    variables = (
        ctx.variables.child(managed)
        if hasattr(ctx.variables, "child")
        else {**ctx.variables, **managed}
    )
    try:
        text = run_template(_template_env(environment()).from_string(source), variables)
    except TemplateError:
        raise
    except Exception as exc:  # the template's own code: any error fails this task only
        detail = str(exc) or type(exc).__name__
        raise TemplateError(
            f"template {src}: {detail}", path=local, line=getattr(exc, "lineno", None)
        ) from exc
    dest = _dest_for(ctx, need_str(args, "dest") or "", src)
    if remote_stat(ctx, dest).kind == "directory":
        name = os.path.basename(src)
        dest = os.path.join(dest, name[:-3] if name.endswith(".j2") else name)
    return put_content(ctx, text.encode(), dest, args)


_TEMPLATE_ENVS: dict[int, Any] = {}


def _template_env(base: Any) -> Any:
    """The template module's Jinja2 settings (as Ansible's): trim_blocks on."""
    env = _TEMPLATE_ENVS.get(id(base))
    if env is None:
        env = _TEMPLATE_ENVS[id(base)] = base.overlay(trim_blocks=True)
    return env


def fetch(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """The remote file ``src`` to DEST/HOST/SRC on the control node (Ansible's rules).

    ``flat: true`` takes DEST as the local file itself (the playbook names it; a DEST
    ending in '/' gets the source's file name appended). Either way what is built from
    the host name and SRC stays inside DEST (runner.localpaths), or the task fails.
    """
    src = need_str(args, "src") or ""
    dest = need_str(args, "dest") or ""
    flat = as_bool(args.get("flat"))
    if flat and not dest.endswith("/") and os.path.isdir(dest):
        raise ModuleFailure(
            f"dest {dest} is an existing folder: end it with '/' to fetch {src} into it"
        )
    try:
        local = fetch_module_path(dest, ctx.host.name, src, flat=flat)
    except UnsafePathError as exc:
        raise ModuleFailure(exc.message + (f" ({exc.hint})" if exc.hint else ""), file=src) from exc
    stat = remote_stat(ctx, src)
    if stat.kind != "file":
        msg = (
            f"the remote file {src} does not exist"
            if stat.kind == "absent"
            else f"{src} is a directory"
        )
        if stat.kind == "absent" and not as_bool(args.get("fail_on_missing", True)):
            return {"changed": False, "msg": msg, "file": src}
        raise ModuleFailure(msg, file=src)
    local_sum = None
    if os.path.isfile(local):
        with open(local, "rb") as fh:
            local_sum = hashlib.sha1(fh.read()).hexdigest()
    result: ModuleResult = {"src": src, "dest": local, "checksum": stat.checksum}
    if local_sum == stat.checksum:
        result["changed"] = False
        return result
    result["changed"] = True
    if ctx.check_mode:
        return result
    data = _read_remote(ctx, src)
    os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
    tmp = f"{local}.runner-{secrets.token_hex(6)}.tmp"
    with open(tmp, "xb") as fh:  # a new file: never through a link someone left there
        fh.write(data)
    os.replace(tmp, local)
    return result


_FILE_STATE = {
    "directory": 'if [ -d "$p" ]; then echo same; elif [ -e "$p" ]; then echo conflict; '
    'else {run} mkdir -p -- "$p" && echo changed; fi',
    "absent": 'if [ -e "$p" ] || [ -L "$p" ]; then {run} rm -rf -- "$p" && echo changed; '
    "else echo same; fi",
    "touch": '{run} touch -- "$p" && echo changed',
    "file": 'if [ -f "$p" ]; then echo same; elif [ -e "$p" ]; then echo conflict; '
    "else echo missing; fi",
}


def file(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    path = need_str(args, "path") or ""
    state = need_str(args, "state") or "file"
    run = "true" if ctx.check_mode else "command"  # in --check, report without acting
    script = f"p={shlex.quote(path)}; " + _FILE_STATE[state].format(run=run)
    outcome = ctx.shell(script, env=False)
    word = outcome.stdout_text.strip().splitlines()[-1:] or [""]
    if outcome.exit_code != 0 or word[0] not in ("same", "changed"):
        if word[0] == "conflict":
            raise ModuleFailure(
                f"{path} exists but is not a {'directory' if state == 'directory' else 'regular file'}"
            )
        if word[0] == "missing":
            raise ModuleFailure(f"file {path} does not exist (use state: touch to create it)")
        raise ModuleFailure(f"cannot make {path} {state}: {outcome.stderr_text.strip()}")
    changed = word[0] == "changed"
    result: ModuleResult = {"path": path, "state": state}
    if state != "absent" and not (ctx.check_mode and changed and state != "touch"):
        stat = None if (ctx.check_mode and changed) else _stat_any(ctx, path)
        changed = _attributes(ctx, path, stat, args) or changed
    result["changed"] = changed
    return result


def _stat_any(ctx: ModuleContext, path: str) -> RemoteStat:
    """Mode/owner/group of a file or directory."""
    script = f"stat -c '%a %U %G' {shlex.quote(path)} 2>/dev/null || stat -f '%Lp %Su %Sg' {shlex.quote(path)}"
    result = ctx.shell(script, env=False)
    parts = result.stdout_text.split()
    if result.exit_code != 0 or len(parts) < 3:
        return RemoteStat("absent")
    return RemoteStat("file", None, int(parts[0], 8), parts[1], parts[2])
