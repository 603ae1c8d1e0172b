"""lineinfile, blockinfile, replace: the file is read in one round trip, edited on the
control node with Python's ``re`` (runner.playbook.modules.textedit, Ansible's rules) and
written back, in one more, only when its content changed. mode/owner/group, backup,
validate, check mode and --diff as Ansible's modules; the registered keys are theirs
(lineinfile's ``backup`` and ``found``, blockinfile's and replace's ``backup_file``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.remote import (
    EditTarget,
    apply_attributes,
    attributes_differ,
    read_target,
    unified_diff,
    write_target,
)
from runner.playbook.modules.textedit import block_edit, line_absent, line_present, replace_edit

_ATTRS_MSG = "ownership, perms or SE linux context changed"


def _text(args: dict[str, Any], key: str, default: str | None = None) -> str | None:
    """A string argument; YAML scalars (``line: 42``) as their text, as Ansible's str type."""
    value = args.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return need_str(args, key, default)


def _finish(
    ctx: ModuleContext,
    target: EditTarget,
    new: bytes,
    changed: bool,
    args: dict[str, Any],
    msg: str,
    result: ModuleResult,
    backup_key: str,
) -> ModuleResult:
    """Write ``new`` when it differs (not in check mode), then mode/owner/group; fill in
    changed, msg, diff and the backup's name as the modules register them."""
    if changed and ctx.diff:
        result["diff"] = unified_diff(target.content, new, target.path)
    if ctx.check_mode and target.kind != "file":  # Ansible stops here for a new file
        result.update(changed=changed, msg=msg)
        return result
    attrs_changed = False
    if changed and not ctx.check_mode:
        written = write_target(
            ctx,
            target,
            new,
            args,
            validate=need_str(args, "validate"),
            backup=as_bool(args.get("backup")),
        )
        attrs_changed = written.attributes_changed
        if written.backup:
            result[backup_key] = written.backup
    elif ctx.check_mode:
        attrs_changed = attributes_differ(target.stat(), args)
    else:
        attrs_changed = apply_attributes(ctx, target.real, target.stat(), args)
    if attrs_changed:
        msg = f"{msg} and {_ATTRS_MSG}" if changed else _ATTRS_MSG
    result.update(changed=changed or attrs_changed, msg=msg)
    return result


@dataclass(frozen=True)
class Plan:
    """What an edit does to a file's content (None: the file does not exist): the new
    content, whether it changed, Ansible's message, and the keys registered beside them.
    ``final`` is a whole result when there is nothing to write (a file to remove from
    that does not exist)."""

    new: bytes = b""
    changed: bool = False
    msg: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    final: ModuleResult | None = None


def plan_lineinfile(content: bytes | None, args: dict[str, Any]) -> Plan:
    """lineinfile on ``content``: pure, so tests compare it with Ansible case by case."""
    path = need_str(args, "path") or ""
    regexp = _text(args, "regexp")
    search = _text(args, "search_string")
    line = _text(args, "line")
    lines = content.splitlines(True) if content else []
    if (need_str(args, "state") or "present") == "absent":
        if content is None:
            return Plan(final={"changed": False, "msg": "file not present"})
        edit = line_absent(lines, line=line, regexp=regexp, search_string=search)
        extra = {"found": edit.found, "backup": ""}
        return Plan(b"".join(edit.lines), edit.changed, edit.msg, extra)
    if line is None:
        raise ModuleFailure("line is required with state=present")
    if content is None and not as_bool(args.get("create")):
        raise ModuleFailure(f"Destination {path} does not exist !", rc=257)
    try:
        edit = line_present(
            lines,
            line,
            regexp=regexp,
            search_string=search,
            insertafter=_text(args, "insertafter"),
            insertbefore=_text(args, "insertbefore"),
            backrefs=as_bool(args.get("backrefs")),
            firstmatch=as_bool(args.get("firstmatch")),
        )
    except (re.error, IndexError) as exc:
        raise ModuleFailure(f"lineinfile: {exc}") from exc
    if content is None and not edit.changed:  # backrefs matched nothing: no file
        return Plan(final={"changed": False, "msg": "", "backup": ""})
    return Plan(b"".join(edit.lines), edit.changed, edit.msg, {"backup": ""})


def plan_blockinfile(content: bytes | None, args: dict[str, Any]) -> Plan:
    """blockinfile on ``content`` (pure)."""
    path = need_str(args, "path") or ""
    present = (need_str(args, "state") or "present") == "present"
    if content is None:
        if not as_bool(args.get("create")):
            raise ModuleFailure(f"Path {path} does not exist !", rc=257)
        if not present:
            return Plan(final={"changed": False, "msg": f"File {path} not present"})
    try:
        new, msg = block_edit(
            content,
            _text(args, "block", "") or "",
            present=present,
            marker=_text(args, "marker") or "# {mark} ANSIBLE MANAGED BLOCK",
            marker_begin=_text(args, "marker_begin") or "BEGIN",
            marker_end=_text(args, "marker_end") or "END",
            insertafter=_text(args, "insertafter"),
            insertbefore=_text(args, "insertbefore"),
            prepend_newline=as_bool(args.get("prepend_newline")),
            append_newline=as_bool(args.get("append_newline")),
        )
    except re.error as exc:
        raise ModuleFailure(f"blockinfile: {exc}") from exc
    return Plan(new, new != content, msg)  # a missing file created empty is a change


def plan_replace(content: bytes | None, args: dict[str, Any]) -> Plan:
    """replace on ``content`` (pure)."""
    path = need_str(args, "path") or ""
    if content is None:
        raise ModuleFailure(f"Path {path} does not exist !", rc=257)
    encoding = need_str(args, "encoding") or "utf-8"
    try:
        contents = content.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ModuleFailure(f"cannot read {path} as {encoding}: {exc}") from exc
    try:
        text, count, unmatched = replace_edit(
            contents,
            _text(args, "regexp") or "",
            _text(args, "replace", "") or "",
            after=_text(args, "after"),
            before=_text(args, "before"),
        )
    except (re.error, IndexError) as exc:
        raise ModuleFailure(f"Unable to process replace due to error: {exc}") from exc
    if unmatched is not None:
        return Plan(final={"rc": 0, "changed": False, "msg": unmatched})
    if not count:
        return Plan(content, False, "", {"rc": 0})
    return Plan(text.encode(encoding), True, f"{count} replacements made", {"rc": 0})


def _run(
    plan: Callable[[bytes | None, dict[str, Any]], Plan], backup_key: str
) -> Callable[[ModuleContext, dict[str, Any]], ModuleResult]:
    def module(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
        path = need_str(args, "path") or ""
        target = read_target(ctx, path)
        if target.kind == "directory":
            raise ModuleFailure(f"Path {path} is a directory !", rc=256)
        done = plan(target.content if target.kind == "file" else None, args)
        if done.final is not None:
            return dict(done.final)
        result = dict(done.extra)
        return _finish(ctx, target, done.new, done.changed, args, done.msg, result, backup_key)

    module.__doc__ = plan.__doc__
    return module


lineinfile = _run(plan_lineinfile, "backup")
blockinfile = _run(plan_blockinfile, "backup_file")
replace = _run(plan_replace, "backup_file")

MODULES = {"lineinfile": lineinfile, "blockinfile": blockinfile, "replace": replace}
