"""file: Ansible's states (file, directory, link, hard, touch, absent) with src, force,
follow, recurse and access/modification times. One probe reads what is there (kind,
link target, attributes, whether src exists); the decision is made here, by Ansible's
rules and with its messages; one more round trip acts only when something must change.
The registered keys are Ansible's: path or dest (src for links), changed, and the path's
uid, gid, owner, group, mode ('0644'), state and size."""

from __future__ import annotations

import os
import shlex
import time
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.remote import RemoteStat, attributes_differ, parse_mode

_KIND = (
    'kind() { if [ -L "$1" ]; then echo link; elif [ -d "$1" ]; then echo directory; '
    'elif [ -e "$1" ]; then if [ "$(stat -c %h -- "$1")" -gt 1 ]; then echo hard; '
    "else echo file; fi; else echo absent; fi; }"
)
# What the probe and the action both print about the path in the end (add_path_info).
_INFO = (
    'if [ -e "$p" ]; then printf \'I%s|%s\\n\' "$(stat -L -c \'%u|%g|%U|%G\' -- "$p")" '
    '"$(stat -c \'%a|%s\' -- "$p")"; fi; printf \'K%s\\n\' "$(kind "$p")"'
)


def _probe(
    ctx: ModuleContext, path: str, src: str | None, state: str | None, args: dict[str, Any]
) -> dict[str, str]:
    q = shlex.quote
    lines = [_KIND, f"p={q(path)}"]
    if src is not None and state not in ("link", "absent"):  # a folder: the file in it
        lines.append(f'if [ -d "$p" ]; then p="${{p%/}}"/{q(os.path.basename(src))}; fi')
    lines += [
        "printf 'P%s\\n' \"$p\"",
        _INFO,
        'if [ -L "$p" ]; then printf \'T%s\\n\' "$(readlink -- "$p")"; '
        'printf \'R%s\\n\' "$(readlink -f -- "$p")"; fi',
        'if [ -d "$p" ]; then if [ -z "$(ls -A -- "$p")" ]; then echo E1; else echo E0; fi; fi',
        't=$p; if [ -L "$p" ]; then t=$(readlink -f -- "$p"); fi',
        'if [ -e "$t" ]; then printf \'K2%s\\n\' "$(kind "$t")"; '
        "printf 'A%s\\n' \"$(stat -c '%a|%U|%G|%.9Y|%.9X|%i|%d' -- \"$t\")\"; fi",
    ]
    if src is not None:
        if state == "hard":
            lines.append(f"s={q(src)}")
        else:  # a symlink's src is relative to the link's folder
            lines.append(
                f'if [ ! -L "$p" ] && [ -d "$p" ]; then s="$p"/{q(src)}; '
                f'else s="$(dirname -- "$p")"/{q(src)}; fi'
            )
            if src.startswith("/"):
                lines.append(f"s={q(src)}")
        lines.append('if [ -e "$s" ]; then printf \'S%s\\n\' "$(stat -L -c \'%i|%d\' -- "$s")"; fi')
    if as_bool(args.get("recurse")):
        mode = parse_mode(args.get("mode"))
        tests = []
        if isinstance(mode, int):
            tests.append(f"! -perm {mode:04o}")
        if args.get("owner") is not None:
            tests.append(f"! -user {q(str(args['owner']))}")
        if args.get("group") is not None:
            tests.append(f"! -group {q(str(args['group']))}")
        if tests:
            lines.append(
                f'printf \'D%s\\n\' "$(find "$t" -mindepth 1 \\( {" -o ".join(tests)} \\) '
                '-print 2>/dev/null | head -n 1 | wc -l)"'
            )
    result = ctx.shell("\n".join(lines), env=False)
    if result.exit_code != 0:
        raise ModuleFailure(f"cannot inspect {path}: {result.stderr_text.strip()}")
    said: dict[str, str] = {}
    for line in result.stdout_text.splitlines():
        key = "K2" if line.startswith("K2") else line[:1]
        said.setdefault(key, line[len(key) :])
    return said


def _path_info(said: dict[str, str]) -> dict[str, Any]:
    """Ansible's add_path_info: owner and mode of what the path is now."""
    if "I" not in said:
        return {}
    uid, gid, owner, group, mode, size = said["I"].split("|")
    return {
        "uid": int(uid), "gid": int(gid), "owner": owner, "group": group,
        "mode": f"0{int(mode, 8):03o}", "state": said.get("K", "file"), "size": int(size),
    }  # fmt: skip


def _timestamp(value: Any, fmt: str, default: str) -> str | float | None:
    """'preserve' (None), 'now', or seconds since the epoch from a formatted time."""
    text = str(value) if value is not None else default
    if text == "preserve":
        return None
    if text == "now":
        return "now"
    try:
        return time.mktime(time.strptime(text, fmt))
    except ValueError as exc:
        raise ModuleFailure(
            f"Error while obtaining timestamp for time {text} using format {fmt}: {exc}"
        ) from exc


def _attribute_steps(args: dict[str, Any], target: str, recurse: bool, follow: bool) -> list[str]:
    mode = parse_mode(args.get("mode"))
    r = "-R " if recurse else ""
    h = "" if follow else "-h "
    q = shlex.quote(target)
    steps = []
    if mode is not None:
        steps.append(f"chmod {r}{shlex.quote(mode) if isinstance(mode, str) else f'{mode:o}'} {q}")
    if args.get("owner") is not None:
        steps.append(f"chown {r}{h}{shlex.quote(str(args['owner']))} {q}")
    if args.get("group") is not None:
        steps.append(f"chgrp {r}{h}{shlex.quote(str(args['group']))} {q}")
    return steps


def file(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's file module (see the module docstring)."""
    path = need_str(args, "path") or ""
    state = need_str(args, "state")
    src = need_str(args, "src")
    said = _probe(ctx, path, src, state, args)
    try:
        return _decide(ctx, args, said.get("P", path), state, src, said)
    except ModuleFailure as exc:  # Ansible reports the path's information with a failure
        if exc.extra.get("path", exc.extra.get("dest")) == said.get("P", path):
            exc.extra.update(_path_info(said))
        raise


def _decide(
    ctx: ModuleContext,
    args: dict[str, Any],
    path: str,
    state: str | None,
    src: str | None,
    said: dict[str, str],
) -> ModuleResult:
    recurse, force = as_bool(args.get("recurse")), as_bool(args.get("force"))
    follow = as_bool(args.get("follow", True))
    kind = said.get("K", "absent")
    if state is None:
        state = kind if kind != "absent" else ("directory" if recurse else "file")
    if recurse and state != "directory":
        raise ModuleFailure("recurse option requires state to be 'directory'", path=path)
    if src is not None and state not in ("link", "hard"):
        raise ModuleFailure("src option requires state to be 'link' or 'hard'", path=path)
    default_time = "now" if state == "touch" else "preserve"
    mtime = _timestamp(
        args.get("modification_time"),
        str(args.get("modification_time_format") or "%Y%m%d%H%M.%S"),
        default_time,
    )
    atime = _timestamp(args.get("access_time"),
                       str(args.get("access_time_format") or "%Y%m%d%H%M.%S"), default_time)  # fmt: skip
    plan = _Plan(ctx, path, said, args, follow)
    if state == "absent":
        if kind == "absent":
            return {"changed": False, "path": path, "state": "absent"}
        plan.act('rm -rf -- "$p"' if kind == "directory" else 'rm -f -- "$p"')
        result = plan.run({"path": path, "state": "absent"}, attributes=False)
        result["state"] = "absent"
        return result
    if state == "touch":
        if kind == "absent":
            if ctx.check_mode:
                return {"changed": True, "dest": path}
            plan.act(': > "$p"')
        plan.times(mtime, atime)
        return plan.run({"dest": path})
    if state == "file":
        target_kind = said.get("K2", "absent") if kind == "link" and follow else kind
        if target_kind not in ("file", "hard"):
            where = said.get("R", path) if kind == "link" and follow else path
            raise ModuleFailure(f"file ({where}) is {target_kind}, cannot continue", path=where,
                                state=target_kind)  # fmt: skip
        plan.times(mtime, atime)
        return plan.run({"path": said.get("R", path) if kind == "link" and follow else path})
    if state == "directory":
        target_kind = said.get("K2", "absent") if kind == "link" and follow else kind
        shown = said.get("R", path) if kind == "link" and follow else path
        if target_kind == "absent":
            if ctx.check_mode:
                return {"changed": True, "path": shown}
            plan.act(f"mkdir -p -- {shlex.quote(shown)}")
        elif target_kind != "directory":
            raise ModuleFailure(f"{shown} already exists as a {target_kind}", path=shown)
        plan.times(mtime, atime)
        return plan.run({"path": shown}, recurse=recurse)
    if state == "link":
        return _link(ctx, plan, path, src, said, kind, force, follow, mtime, atime)
    return _hard(ctx, plan, path, src, said, kind, force, follow, mtime, atime)


def _link(
    ctx: ModuleContext,
    plan: _Plan,
    path: str,
    src: str | None,
    said: dict[str, str],
    kind: str,
    force: bool,
    follow: bool,
    mtime: str | float | None,
    atime: str | float | None,
) -> ModuleResult:
    src_given = src is not None
    if src is None and follow and kind == "link":
        src = said.get("T")
    if src is not None and not force and "S" not in said:
        folder = path if kind == "directory" else os.path.dirname(path)
        raise ModuleFailure(
            "src file does not exist, use 'force=yes' if you really want to create the link: "
            f"{os.path.join(folder, src)}", path=path, src=src,
        )  # fmt: skip
    if kind == "directory":
        if not force:
            raise ModuleFailure(
                f"refusing to convert from directory to symlink for {path}", path=path
            )
        if said.get("E") != "1":
            raise ModuleFailure(
                f"the directory {path} is not empty, refusing to convert it", path=path
            )
    elif kind in ("file", "hard") and not force:
        raise ModuleFailure(f"refusing to convert from {kind} to symlink for {path}", path=path)
    changed = kind != "link" or (src is not None and said.get("T") != src)
    if changed and src is None:
        raise ModuleFailure("src is required for creating new symlinks")
    if changed:
        rmdir = 'rmdir -- "$p" && ' if kind == "directory" else ""
        plan.act(f'{rmdir}ln -s -- {shlex.quote(src or "")} "$p.runner-ln" '
                 '&& mv -Tf -- "$p.runner-ln" "$p"', changed=True)  # fmt: skip
    result = {"dest": path, "src": src}
    if ctx.check_mode and kind == "absent":
        return {**result, "changed": changed}
    if follow and ("S" not in said if src_given else "A" not in said):
        return plan.run(result, attributes=False)  # no target to set attributes on
    plan.times(mtime, atime)
    return plan.run(result, relink=changed)


def _hard(
    ctx: ModuleContext,
    plan: _Plan,
    path: str,
    src: str | None,
    said: dict[str, str],
    kind: str,
    force: bool,
    follow: bool,
    mtime: str | float | None,
    atime: str | float | None,
) -> ModuleResult:
    if kind != "hard" and src is None:
        raise ModuleFailure("src is required for creating new hardlinks")
    if src is not None and "S" not in said:
        raise ModuleFailure("src does not exist", dest=path, src=src)
    inode = said.get("A", "").split("|")[5:7]
    same = inode == said.get("S", "").split("|")
    if kind == "absent":
        changed = True
    elif kind == "link":
        changed = said.get("T") != src
    elif kind == "hard":
        changed = src is not None and not same
        if changed and not force:
            raise ModuleFailure("Cannot link, different hard link exists at destination",
                                dest=path, src=src)  # fmt: skip
    elif kind == "file":
        changed = not same
        if not force:
            raise ModuleFailure("Cannot link, file exists at destination", dest=path, src=src)
    else:
        raise ModuleFailure("Cannot link: different hard link exists at destination", dest=path)
    if changed:
        plan.act(f'ln -- {shlex.quote(src or "")} "$p.runner-ln" && mv -Tf -- "$p.runner-ln" "$p"',
                 changed=True)  # fmt: skip
    result = {"dest": path, "src": src}
    if ctx.check_mode and kind == "absent":
        return {**result, "changed": changed}
    plan.times(mtime, atime)
    return plan.run(result, relink=changed)


class _Plan:
    """The one action script of a file task: steps that change the path, then mode/owner/
    group and times, and the path's information printed at the end."""

    def __init__(
        self,
        ctx: ModuleContext,
        path: str,
        said: dict[str, str],
        args: dict[str, Any],
        follow: bool,
    ) -> None:
        self.ctx, self.path, self.said, self.args, self.follow = ctx, path, said, args, follow
        self.steps: list[str] = []
        self.changed = False
        self.time_steps: list[str] = []

    def act(self, step: str, changed: bool = True) -> None:
        self.steps.append(step)
        self.changed = self.changed or changed

    def times(self, mtime: str | float | None, atime: str | float | None) -> None:
        for flag, value, field in (("-m", mtime, 3), ("-a", atime, 4)):
            if value is None:
                continue
            if value == "now":
                self.time_steps.append(f'touch {flag} -- "$t"')
                continue
            current = self.said.get("A", "").split("|")
            if len(current) > field and abs(float(current[field]) - float(value)) < 1e-6:
                continue
            self.time_steps.append(f'touch {flag} -d @{value:.0f} -- "$t"')

    def run(self, result: ModuleResult, *, attributes: bool = True, recurse: bool = False,
            relink: bool = False) -> ModuleResult:  # fmt: skip
        ctx = self.ctx
        stat = None
        if "A" in self.said and not relink:
            mode, owner, group = self.said["A"].split("|")[:3]
            stat = RemoteStat("file", None, int(mode, 8), owner, group)
        attrs = _attribute_steps(self.args, "$T", False, self.follow) if attributes else []
        if recurse and attributes:
            attrs = _attribute_steps(self.args, "$T", True, self.follow)
        attrs = [a.replace("'$T'", '"$t"') for a in attrs]
        wants_attrs = bool(attrs) and (
            attributes_differ(stat, self.args) or (recurse and self.said.get("D") != "0")
        )
        if ctx.check_mode:
            changed = self.changed or wants_attrs or bool(self.time_steps)
            return {**result, **_path_info(self.said), "changed": changed}
        if not self.steps and not wants_attrs and not self.time_steps:
            return {**result, **_path_info(self.said), "changed": False}
        fingerprint = (
            "fp() { { stat -c '%a %u %g' -- \"$t\"; "
            + ("find \"$t\" -mindepth 1 -printf '%m %u %g\\n'; " if recurse else "")
            + "} 2>/dev/null | cksum; }"
        )
        script = [
            _KIND, fingerprint, f"p={shlex.quote(self.path)}",
            *(f"{step} || exit 1" for step in self.steps),
            "t=$p; if [ -L \"$p\" ]; then t=$(readlink -f -- \"$p\"); fi",
        ]  # fmt: skip
        if not self.follow:
            script.append("t=$p")
        script += ["b=$(fp)", *(f"{a} || exit 1" for a in attrs + self.time_steps)]
        script += ['[ "$b" = "$(fp)" ] || echo C', _INFO]
        done = ctx.shell("\n".join(script), env=False)
        said = {line[:1]: line[1:] for line in done.stdout_text.splitlines()}
        if done.exit_code != 0:
            raise ModuleFailure(
                f"cannot change {self.path}: {done.stderr_text.strip()}", path=self.path
            )
        changed = self.changed or "C" in said or bool(self.time_steps)
        return {**result, **_path_info(said), "changed": changed}
