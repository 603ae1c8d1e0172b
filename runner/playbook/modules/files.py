"""File modules: copy, template, fetch, file.

``copy`` compares SHA-1 checksums and uploads (SFTP) only when they differ, so a second
run reports ok. Under become the file is uploaded to /tmp first and copied into place
with sudo. ``--check`` computes the same answer without changing anything.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shlex
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
from runner.playbook.modules.remote import (
    parse_mode,
    put_content,
    read_remote,
    read_target,
    remote_stat,
)
from runner.playbook.modules.remote_tree import copy_remote_tree
from runner.templating import environment, run_template


def _dest_for(ctx: ModuleContext, dest: str, src: str | None) -> str:
    if dest.endswith("/"):
        if not src:
            raise ModuleFailure("dest ends with '/' but there is no src to take a name from")
        return dest + os.path.basename(src)
    return dest


def copy(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's copy: content, a local file, a local folder (``dir/``: what is in it;
    ``dir``: the folder itself), or with ``remote_src`` a file already on the host."""
    dest = need_str(args, "dest") or ""
    src = need_str(args, "src")
    if src is not None and as_bool(args.get("remote_src")):
        return _copy_remote(ctx, src, dest, args)
    if src is not None:
        local = resolve_local(src, ctx.base_dir, "copy", role_dir(ctx))
        if local is not None and os.path.isdir(local):
            return copy_tree(ctx, local, src, dest, args)
        if local is None:
            raise ModuleFailure(f"copy: source {src!r} not found")
        with open(local, "rb") as fh:
            data = fh.read()
    else:
        data = content_bytes(args.get("content"))
    parents = dest.endswith("/")  # as Ansible: a folder named with '/' is made
    dest = _dest_for(ctx, dest, src)
    if remote_stat(ctx, dest).kind == "directory" and src:
        dest = os.path.join(dest, os.path.basename(src))
    return put_content(ctx, data, dest, args, make_parents=parents)


def _copy_remote(ctx: ModuleContext, src: str, dest: str, args: dict[str, Any]) -> ModuleResult:
    """remote_src: the host's own file, read once and written where it differs."""
    source = read_target(ctx, src)
    if source.kind == "directory":
        return copy_remote_tree(ctx, src, dest, args)
    if source.kind != "file" or source.content is None:
        raise ModuleFailure(f"Source {src} not found")
    dest = _dest_for(ctx, dest, src)
    if remote_stat(ctx, dest).kind == "directory":
        dest = os.path.join(dest, os.path.basename(src))
    result = put_content(ctx, source.content, dest, args)
    result["src"] = src
    return result


def copy_tree(
    ctx: ModuleContext, local: str, src: str, dest: str, args: dict[str, Any]
) -> ModuleResult:
    """A local folder: its folders made (new ones with directory_mode), then each file
    through put_content. ``src`` ending in '/' copies what is in it, else the folder."""
    base = dest if src.endswith("/") else os.path.join(dest, os.path.basename(src.rstrip("/")))
    folders, files = [base], []
    for root, dirs, names in os.walk(local):
        dirs.sort()
        rel = os.path.relpath(root, local)
        for d in dirs:
            folders.append(os.path.normpath(os.path.join(base, rel, d)))
        for name in sorted(names):
            files.append(
                (os.path.join(root, name), os.path.normpath(os.path.join(base, rel, name)))
            )
    mode = parse_mode(args.get("directory_mode"))
    chmod = (
        f' && chmod {shlex.quote(mode) if isinstance(mode, str) else f"{mode:o}"} "$d"'
        if mode is not None
        else ""
    )
    run = ":" if ctx.check_mode else f'mkdir -p -- "$d"{chmod}'
    script = "".join(
        f'd={shlex.quote(d)}; if [ ! -d "$d" ]; then {run} || exit 1; echo C; fi\n' for d in folders
    )
    made = ctx.shell(script, env=False)
    if made.exit_code != 0:
        raise ModuleFailure(f"cannot create folders under {dest}: {made.stderr_text.strip()}")
    changed = "C" in made.stdout_text.split()
    file_args = {k: v for k, v in args.items() if k not in ("src", "dest", "directory_mode")}
    for path, target in files:
        with open(path, "rb") as fh:
            data = fh.read()
        if (
            ctx.check_mode
            and changed
            and remote_stat(ctx, os.path.dirname(target)).kind == "absent"
        ):
            continue  # its folder would be new: nothing there to compare with
        changed = put_content(ctx, data, target, file_args)["changed"] or changed
    return {"changed": changed, "dest": dest if dest.endswith("/") else dest + "/", "src": src}


def content_bytes(value: Any) -> bytes:
    """What ``copy content:`` writes, as ansible-playbook writes it: a string as it is; a
    list or mapping (``"{{ a_dict }}"`` keeps its type) as compact JSON (``{"a": 1}``,
    no newline added); any other value as Python's ``str`` (``False``, ``42``, ``1.5``).

    >>> [content_bytes(v) for v in ("x\\n", False, 42, [1, "é"], {"a": None})]
    [b'x\\n', b'False', b'42', b'[1, "\\\\u00e9"]', b'{"a": null}']
    """
    import json

    if isinstance(value, str):
        return value.encode()
    if value is None:  # "{{ none }}": as if no content was given
        raise ModuleFailure("src (or content) is required")
    if not isinstance(value, (list, tuple, dict)) and not hasattr(value, "items"):
        return str(value).encode()

    def text(obj: Any) -> Any:  # sets, bytes, Jinja2 objects: as text, never a traceback
        if isinstance(obj, (set, frozenset)):
            return sorted(obj, key=str)
        try:
            return str(obj)
        except Exception:
            return f"<{type(obj).__name__}>"

    try:
        return json.dumps(value, default=text).encode()
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
        env = _template_env(
            environment(),
            trim_blocks=as_bool(args.get("trim_blocks", True)),
            lstrip_blocks=as_bool(args.get("lstrip_blocks")),
        )
        text = run_template(env.from_string(source), variables)
        if text:  # (an empty result stays empty, as in Ansible)
            text += "\n" * (_trailing_newlines(source) - _trailing_newlines(text))
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
    newline = _NEWLINES.get(str(args.get("newline_sequence") or "\\n"))
    if newline is None:
        raise ModuleFailure("newline_sequence must be one of: \\n, \\r, \\r\\n")
    if newline != "\n":
        text = text.replace("\n", newline)
    return put_content(ctx, text.encode(), dest, args)


_NEWLINES = {"\\n": "\n", "\\r": "\r", "\\r\\n": "\r\n", "\n": "\n", "\r": "\r", "\r\n": "\r\n"}
_TEMPLATE_ENVS: dict[tuple[int, bool, bool], Any] = {}


def _trailing_newlines(text: str) -> int:
    return len(text) - len(text.rstrip("\n"))


def _template_env(base: Any, *, trim_blocks: bool = True, lstrip_blocks: bool = False) -> Any:
    """The template module's Jinja2 settings (as Ansible's): trim_blocks on by default;
    Jinja2 drops the template's last newline (and an included template's), and the
    module then gives back the newlines the template ends with that the result lacks,
    so ``{% endfor %}\\n`` at the end gives no blank line."""
    key = (id(base), trim_blocks, lstrip_blocks)
    env = _TEMPLATE_ENVS.get(key)
    if env is None:
        env = _TEMPLATE_ENVS[key] = base.overlay(
            trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks, keep_trailing_newline=False
        )
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
    data = read_remote(ctx, src)
    os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
    tmp = f"{local}.runner-{secrets.token_hex(6)}.tmp"
    with open(tmp, "xb") as fh:  # a new file: never through a link someone left there
        fh.write(data)
    os.replace(tmp, local)
    return result
