"""``unarchive``: a .tar(.gz/.bz2/.xz) or .zip, from the control node (uploaded first) or
already on the host (``remote_src``), unpacked into an existing ``dest`` by the host's tar
or unzip, in one round trip after the upload.

Idempotence: the archive is first unpacked into a temp folder on the host and each of its
files compared (``cmp``, symlink targets) with dest; only when one is missing or differs
is it unpacked into dest and the task changed. This is Ansible's intent (``tar --diff`` /
zip listing against dest) without depending on mtimes; unlike Ansible it does not report
a file whose content is the same but whose mode or mtime differs. ``mode``/``owner``/
``group`` are applied to every member, as Ansible does. Check mode: a zip reports the
change it would make; a tar is skipped, as Ansible's gtar handlers are.
"""

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
    need_str,
)
from runner.playbook.modules.remote import _attribute_steps

# Found in Ansible's order: zip first, then gzip, then anything tar reads by itself (bz2
# and xz included: GNU tar detects them), then bz2 and xz explicitly for other tars.
_DETECT = r"""a={src}; d={dest}
if [ ! -e "$a" ]; then echo "nosrc"; exit 0; fi
if [ ! -d "$d" ]; then echo "nodest"; exit 0; fi
{creates}
h=; z=
if unzip -qql "$a" >/dev/null 2>&1; then h=ZipArchive
elif tar -tzf "$a" >/dev/null 2>&1; then h=TgzArchive; z=z
elif tar -tf "$a" >/dev/null 2>&1; then h=TarArchive
elif tar -tjf "$a" >/dev/null 2>&1; then h=TarBzipArchive; z=j
elif tar -tJf "$a" >/dev/null 2>&1; then h=TarXzArchive; z=J
else echo "unknown"; exit 0; fi
echo "handler $h"
x() {{ # unpack into $1
  if [ $h = ZipArchive ]; then unzip -o {extra} "$a" {include} {exclude_zip} -d "$1"
  else tar -x${{z}}f "$a" -C "$1" {extra} {exclude_tar} {include}; fi
}}
if [ $h = ZipArchive ]; then unzip -Z1 "$a" {include}; else tar -t${{z}}f "$a" {exclude_tar} {include}; fi > "$t/list" || exit 1
t2="$t/x"; mkdir "$t2" && x "$t2" > "$t/out" 2>&1 || {{ echo "failed"; cat "$t/out"; exit 0; }}
c=0
cd "$t2" && find . ! -type d > "$t/files" && find . -type d > "$t/dirs" || exit 1
while IFS= read -r f; do
  if [ -L "$f" ]; then [ -L "$d/$f" ] && [ "$(readlink -- "$f")" = "$(readlink -- "$d/$f")" ] || c=1
  else [ -f "$d/$f" ] && [ ! -L "$d/$f" ] && cmp -s -- "$f" "$d/$f" || c=1; fi
  [ $c = 1 ] && break
done < "$t/files"
[ $c = 1 ] || while IFS= read -r f; do [ -d "$d/$f" ] || {{ c=1; break; }}; done < "$t/dirs"
cd / || exit 1
if [ $c = 1 ]; then
  echo changed
  if [ {check} = 0 ]; then
    x "$d" > "$t/out" 2> "$t/err"; echo "rc $?"
  fi
fi
a2=0
if [ {check} = 0 ] && [ {attrs} = 1 ]; then
  while IFS= read -r f; do
    p="$d/${{f#./}}"; [ -e "$p" ] || [ -L "$p" ] || continue
    b=$(stat -c '%a %U %G' -- "$p"); {attr_steps}
    [ "$b" = "$(stat -c '%a %U %G' -- "$p")" ] || a2=1
  done < "$t/list"
fi
[ $a2 = 1 ] && echo attrs
echo "dest $(stat -c '%a %u %g %U %G %s' -- "$d")"
echo "@list"; cat "$t/list"; echo "@out"; cat "$t/out"; echo "@err"; cat "$t/err" 2>/dev/null; exit 0
"""


def _words(value: Any, name: str) -> list[str]:
    """A list argument (``extra_opts``, ``exclude``, ``include``) given as a list or a
    comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ModuleFailure(f"{name} must be a list")


def _upload(ctx: ModuleContext, src: str) -> str:
    local = resolve_local(src, ctx.base_dir, "copy", role_dir(ctx))
    if local is None or not os.path.isfile(local):
        raise ModuleFailure(f"Could not find or access '{src}' on the Ansible Controller.")
    remote = f"/tmp/.runner-unarchive-{secrets.token_hex(8)}{os.path.splitext(src)[1]}"
    mode = 0o600 if not ctx.become or (ctx.become_user or "root") == "root" else 0o644
    try:
        with open(local, "rb") as fh:
            ctx.connect().put_file(fh.read(), remote, mode)
    except OSError as exc:
        raise ModuleFailure(f"cannot upload {src} to {remote}: {exc}") from exc
    return remote


def unarchive(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's unarchive; see the module doc for how it decides ``changed``."""
    src = need_str(args, "src") or ""
    dest = need_str(args, "dest") or ""
    if "://" in src:
        raise ModuleFailure("unarchive of a URL is not supported by runner yet: get_url it first")
    remote = as_bool(args.get("remote_src")) or args.get("copy") is False
    creates = need_str(args, "creates")
    if creates:
        probe = ctx.shell(f"[ -e {shlex.quote(creates)} ] && echo yes", env=False)
        if probe.stdout_text.strip() == "yes":
            return {"changed": False, "skipped": True, "msg": f"skipped, since {creates} exists"}
    archive = src if remote else _upload(ctx, src)
    excludes = _words(args.get("exclude"), "exclude")
    includes = _words(args.get("include"), "include")
    quote = shlex.quote
    steps = _attribute_steps(args, '"$p"')
    script = _DETECT.format(
        src=quote(archive),
        dest=quote(dest),
        creates="",
        extra=" ".join(quote(o) for o in _words(args.get("extra_opts"), "extra_opts")),
        include=" ".join(quote(i) for i in includes),
        exclude_zip=("-x " + " ".join(quote(e) for e in excludes)) if excludes else "",
        exclude_tar=" ".join(quote(f"--exclude={e}") for e in excludes),
        check=1 if ctx.check_mode else 0,
        attrs=1 if steps else 0,
        attr_steps="; ".join(f"{s} 2>/dev/null" for s in steps) or ":",
    )
    wrapped = (
        't=$(mktemp -d "${TMPDIR:-/tmp}/.runner-unarchive.XXXXXX") || exit 1\n'
        'trap \'rm -rf "$t"' + ("" if remote else f" {quote(archive)}") + "' EXIT\n" + script
    )
    done = ctx.shell(wrapped, env=False, hooks=False)
    out = done.stdout_text
    first = out.split("\n", 1)[0].strip()
    if done.exit_code != 0:
        raise ModuleFailure(
            f"unarchive failed on the host: {done.stderr_text.strip() or out[:500]}"
        )
    if first == "nosrc":
        raise ModuleFailure(f"Source '{src}' does not exist")
    if first == "nodest":
        raise ModuleFailure(f"dest '{dest}' must be an existing dir")
    if first == "unknown":
        raise ModuleFailure(
            f'Failed to find handler for "{archive}". Make sure the required command to '
            "extract the file is installed (tar, unzip)."
        )
    head, _, rest = out.partition("\n@list\n")
    listing, _, rest = rest.partition("\n@out\n")
    extract_out, _, extract_err = rest.partition("\n@err\n")
    lines = head.split("\n")
    if "failed" in lines:
        raise ModuleFailure(f"Failed to unpack {archive} to {dest}: {head.split('failed', 1)[1]}")
    said = dict(line.split(" ", 1) for line in lines if " " in line)
    handler = said.get("handler", "")
    if ctx.check_mode and handler != "ZipArchive":
        # as Ansible: its tar handlers (gtar) do not support check mode
        return {
            "changed": False, "skipped": True,
            "msg": "remote module (unarchive) does not support check mode when using gtar",
        }  # fmt: skip
    result: ModuleResult = {
        "changed": "changed" in lines or "attrs" in lines,
        "dest": dest,
        "src": archive,
        "handler": handler,
        "state": "directory",
    }
    rc = said.get("rc")
    if rc is not None and rc.strip() != "0":
        raise ModuleFailure(
            f"failed to unpack {archive} into {dest}: {extract_err.strip()}",
            dest=dest, handler=handler,
        )  # fmt: skip
    if rc is not None:
        result["extract_results"] = {"rc": 0, "out": extract_out, "err": extract_err}
    try:
        mode, uid, gid, owner, group, size = said["dest"].split()
        result.update(
            mode=mode.zfill(4), uid=int(uid), gid=int(gid), owner=owner, group=group,
            size=int(size),
        )  # fmt: skip
    except (KeyError, ValueError):
        pass
    if as_bool(args.get("list_files")):
        result["files"] = [name for name in listing.split("\n") if name]
    return result
