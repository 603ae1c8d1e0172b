"""What the file modules share: inspect a remote path, set its mode/owner/group, read it,
write it atomically (through sudo under become), and show a change as a unified diff.

``put_content`` is the half of copy and template that compares checksums and uploads only
when they differ, so a second run reports ok.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import secrets
import shlex
from dataclasses import dataclass
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)

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


def apply_attributes(
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


def read_remote(ctx: ModuleContext, path: str) -> bytes:
    if ctx.become:
        result = ctx.shell(f"cat -- {shlex.quote(path)}", env=False)
        if result.exit_code != 0:
            raise ModuleFailure(f"cannot read {path}: {result.stderr_text.strip()}")
        return result.stdout
    try:
        return ctx.connect().get_file(path)
    except OSError as exc:
        raise ModuleFailure(f"cannot read {path}: {exc}") from exc


def unified_diff(before: bytes | None, after: bytes, path: str) -> str | None:
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


def upload(ctx: ModuleContext, data: bytes, dest: str) -> None:
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


_PROBE = r"""p={path}
if [ -d "$p" ]; then echo directory; exit 0; fi
if [ ! -e "$p" ]; then
  if [ -d "$(dirname -- "$p")" ]; then echo absent; else echo noparent; fi; exit 0
fi
r=$p; {follow}
c=$(sha1sum < "$r" 2>/dev/null | cut -c1-40); [ -n "$c" ] || c=-
printf 'file %s %s\n%s\n' "$c" "$(stat -c '%a %u %g %U %G' -- "$r")" "$r"
"""


def probe_dest(ctx: ModuleContext, path: str, *, follow: bool = False) -> tuple[EditTarget, str]:
    """What is at ``path`` (and its SHA-1 when a file) in one round trip, for a whole-file
    write; ``follow``: a symlink at ``path`` leads to the file written."""
    script = _PROBE.format(
        path=shlex.quote(path), follow='r=$(readlink -f -- "$p") || r=$p; ' if follow else ""
    )
    result = ctx.shell(script, env=False)
    lines = result.stdout_text.splitlines()
    words = lines[0].split() if lines else []
    if result.exit_code != 0 or not words:
        raise ModuleFailure(f"cannot inspect {path}: {result.stderr_text.strip()}")
    if words[0] != "file":
        return EditTarget(path, words[0], path), ""
    try:
        checksum, mode, uid, gid, owner, group = words[1:7]
        real = lines[1] if len(lines) > 1 else path
        return EditTarget(path, "file", real, None, int(mode, 8), uid, gid, owner, group), checksum
    except ValueError as exc:
        raise ModuleFailure(f"cannot inspect {path}: {result.stdout_text[:200]!r}") from exc


def put_content(
    ctx: ModuleContext,
    data: bytes,
    dest: str,
    args: dict[str, Any],
    *,
    make_parents: bool = False,
) -> ModuleResult:
    """The shared half of copy and template: compare checksums, then (only when they
    differ) validate, back up and write in one more round trip, and set attributes.
    ``make_parents``: missing folders above ``dest`` are made (a dest ending in '/');
    in check mode a missing folder is a change to come, not an error."""
    target, current = probe_dest(ctx, dest, follow=as_bool(args.get("follow")))
    if target.kind == "directory":
        raise ModuleFailure(f"{dest} is a directory; give the file name in 'dest'")
    if target.kind == "noparent" and not (make_parents or ctx.check_mode):
        folder = os.path.dirname(dest)
        raise ModuleFailure(f"Destination directory {folder} does not exist (for {dest})")
    checksum = hashlib.sha1(data).hexdigest()
    result: ModuleResult = {"dest": dest, "checksum": checksum, "size": len(data)}
    exists = target.kind == "file"
    changed = not exists or (current != checksum and as_bool(args.get("force", True)))
    if not changed and exists and current != checksum:
        result["msg"] = "file already exists"  # force: false keeps a different file
    if changed and ctx.diff:
        before = read_remote(ctx, target.real) if exists else None
        result["diff"] = unified_diff(before, data, dest)
    if ctx.check_mode:
        result["changed"] = changed or attributes_differ(target.stat(), args)
        return result
    if changed:
        written = write_target(
            ctx, target, data, args, validate=need_str(args, "validate"),
            backup=as_bool(args.get("backup")),
        )  # fmt: skip
        if written.backup:
            result["backup_file"] = written.backup
        result["changed"] = True
        return result
    result["changed"] = apply_attributes(ctx, target.real, target.stat(), args)
    return result


# --- whole-file edits: read once, write once (lineinfile, blockinfile, replace) ---

_READ_LIMIT = 32 << 20  # a file edited on the control node is held in memory whole

_READ = (
    'p={path}; if [ -d "$p" ]; then echo directory; exit 0; fi; '
    'if [ ! -e "$p" ]; then if [ -d "$(dirname -- "$p")" ]; then echo absent; '
    "else echo noparent; fi; exit 0; fi; "
    'r=$(readlink -f -- "$p") || r=$p; '
    "stat -c 'file %a %u %g %U %G' -- \"$r\" || exit 1; "
    'printf \'%s\\n\' "$r"; exec cat -- "$r"'
)


@dataclass(frozen=True)
class EditTarget:
    """A remote file read for editing: ``kind`` is file, absent, noparent (absent, and so
    is its folder) or directory; ``real`` is the file symlinks lead to (edits go there)."""

    path: str
    kind: str
    real: str
    content: bytes | None = None
    mode: int | None = None
    uid: str | None = None
    gid: str | None = None
    owner: str | None = None
    group: str | None = None

    def stat(self) -> RemoteStat | None:
        if self.kind != "file":
            return None
        return RemoteStat("file", None, self.mode, self.owner, self.group)


def read_target(ctx: ModuleContext, path: str) -> EditTarget:
    """Kind, attributes and content of ``path`` in one round trip (``cat`` under become)."""
    result = ctx.shell(_READ.format(path=shlex.quote(path)), env=False, limit=_READ_LIMIT)
    if result.exit_code != 0:
        raise ModuleFailure(f"cannot read {path}: {result.stderr_text.strip()}")
    head, _, rest = result.stdout.partition(b"\n")
    words = head.decode("utf-8", "replace").split()
    if not words or words[0] not in ("file", "absent", "noparent", "directory"):
        raise ModuleFailure(f"cannot read {path}: unexpected answer {head[:80]!r}")
    if words[0] != "file":
        return EditTarget(path, words[0], path)
    if result.stdout_dropped:
        raise ModuleFailure(f"{path} is larger than {_READ_LIMIT >> 20} MiB: too large to edit")
    real, _, content = rest.partition(b"\n")
    mode, uid, gid, owner, group = words[1:6]
    return EditTarget(path, "file", real.decode(), content, int(mode, 8), uid, gid, owner, group)


def attributes_differ(stat: RemoteStat | None, args: dict[str, Any]) -> bool:
    """Whether mode/owner/group in ``args`` would change a file (check mode's answer)."""
    mode = parse_mode(args.get("mode"))
    if stat is None:
        return any(args.get(k) is not None for k in ("mode", "owner", "group"))
    return (
        isinstance(mode, str)
        or (mode is not None and mode != stat.mode)
        or (args.get("owner") is not None and str(args["owner"]) != stat.owner)
        or (args.get("group") is not None and str(args["group"]) != stat.group)
    )


@dataclass(frozen=True)
class Written:
    backup: str | None
    attributes_changed: bool


def write_target(
    ctx: ModuleContext,
    target: EditTarget,
    data: bytes,
    args: dict[str, Any],
    *,
    validate: str | None = None,
    backup: bool = False,
) -> Written:
    """Replace the file with ``data``: upload a temp file, then in one script keep the old
    file's mode and owner, run ``validate`` (``%s`` is the temp file), back up, move it in
    place and apply mode/owner/group. Under become the upload goes to /tmp first."""
    if validate is not None and "%s" not in validate:
        raise ModuleFailure(f"validate must contain %s: {validate}")
    nonce = secrets.token_hex(6)
    folder = os.path.dirname(target.real) or "."
    tmp = os.path.join(folder, f".{os.path.basename(target.real)}.runner-{nonce}.tmp")
    staged_apart = bool(ctx.become) or target.kind == "noparent"
    stage = f"/tmp/.runner-edit-{nonce}" if staged_apart else tmp
    stage_mode = 0o600 if not ctx.become or (ctx.become_user or "root") == "root" else 0o644
    try:
        ctx.connect().put_file(data, stage, stage_mode)
    except OSError as exc:
        raise ModuleFailure(f"cannot write {target.path}: {exc}") from exc
    steps = [f"s={shlex.quote(stage)}; t={shlex.quote(tmp)}; d={shlex.quote(target.real)}"]
    if target.kind == "noparent":
        steps.append('mkdir -p -- "$(dirname -- "$d")" || exit 1')
    if staged_apart:
        steps.append('cp -- "$s" "$t" || exit 1; rm -f -- "$s" 2>/dev/null')
    if target.kind == "file":
        steps.append(
            f'chmod {target.mode:o} "$t"; chown {target.uid}:{target.gid} "$t" 2>/dev/null'
        )
    else:
        steps.append('chmod "$(printf %o $((0666 & ~0$(umask))))" "$t"')
    steps.append("b=$(stat -c '%a %U %G' -- \"$t\")")
    if validate is not None:
        check = validate.replace("%s", '"$t"')
        steps.append(
            f"{{ {check} ; }} >&2; rc=$?; "
            'if [ $rc -ne 0 ]; then rm -f -- "$t"; echo "invalid $rc"; exit 0; fi'
        )
    if backup and target.kind == "file":
        name = shlex.quote(target.path)
        steps.append(
            f'k={name}.$$.$(date +%Y-%m-%d@%H:%M:%S)~; cp -p -- "$d" "$k" || exit 1; '
            'echo "backup $k"'
        )
    steps.append('mv -f -- "$t" "$d" || { rm -f -- "$t"; exit 1; }')
    steps.extend(f"{step} || exit 1" for step in _attribute_steps(args, '"$d"'))
    steps.append('echo "done $b|$(stat -c \'%a %U %G\' -- "$d")"')
    result = ctx.shell("\n".join(steps), env=False)
    if ctx.become and (ctx.become_user or "root") != "root":
        ctx.shell(f"rm -f -- {shlex.quote(stage)}", become=False, env=False)
    said = result.stdout_text.splitlines()
    if result.exit_code != 0 or not said:
        raise ModuleFailure(f"cannot write {target.path}: {result.stderr_text.strip()}")
    if said[-1].startswith("invalid "):
        rc = said[-1].split()[1]
        raise ModuleFailure(f"failed to validate: rc:{rc} error:{result.stderr_text}")
    made = next((line[7:] for line in said if line.startswith("backup ")), None)
    before, _, after = said[-1][5:].partition("|")
    return Written(made, before != after)


def _attribute_steps(args: dict[str, Any], quoted: str) -> list[str]:
    mode = parse_mode(args.get("mode"))
    steps = []
    if mode is not None:
        steps.append(
            f"chmod {shlex.quote(mode) if isinstance(mode, str) else f'{mode:o}'} {quoted}"
        )
    if args.get("owner") is not None:
        steps.append(f"chown {shlex.quote(str(args['owner']))} {quoted}")
    if args.get("group") is not None:
        steps.append(f"chgrp {shlex.quote(str(args['group']))} {quoted}")
    return steps
