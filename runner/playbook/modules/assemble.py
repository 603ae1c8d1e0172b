"""assemble: one file from a folder of fragments, in name order, as Ansible's module
joins them (a newline after a fragment that lacks one, the delimiter between fragments).
The fragments are read in one round trip (base64, so any byte survives) from the host
(``remote_src``, the default) or from the control node; the result goes through
put_content (checksum, validate, backup, mode/owner/group)."""

from __future__ import annotations

import base64
import codecs
import os
import re
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
from runner.playbook.modules.remote import put_content

_READ = (
    's={src}; if [ ! -e "$s" ]; then echo absent; exit 0; fi; '
    'if [ ! -d "$s" ]; then echo notdir; exit 0; fi; echo ok; '
    'for f in "$s"/* "$s"/.[!.]* "$s"/..?*; do [ -f "$f" ] || continue; '
    "printf '%s\\0' \"${{f##*/}}\"; base64 -w0 < \"$f\" || exit 1; printf '\\0'; done"
)


def join_fragments(
    fragments: dict[str, bytes],
    *,
    delimiter: str | None = None,
    regexp: str | None = None,
    ignore_hidden: bool = False,
) -> bytes:
    """The assembled content of ``fragments`` (file name -> content, regular files only).

    >>> join_fragments({"b": b"2", "a": b"1\\n"}, delimiter="--")
    b'1\\n--\\n2'
    """
    pattern = re.compile(regexp) if regexp is not None else None
    out: list[bytes] = []
    first, newline_owed = True, False
    sep = codecs.escape_decode(delimiter.encode())[0] if delimiter else b""
    for name in sorted(fragments):
        if pattern is not None and not pattern.search(name):
            continue
        if ignore_hidden and name.startswith("."):
            continue
        if newline_owed:
            out.append(b"\n")
        if not first and sep:
            out.append(sep if sep.endswith(b"\n") else sep + b"\n")
        content = fragments[name]
        out.append(content)
        first, newline_owed = False, not content.endswith(b"\n")
    return b"".join(out)


def _remote_fragments(ctx: ModuleContext, src: str) -> dict[str, bytes]:
    result = ctx.shell(_READ.format(src=shlex.quote(src)), env=False, limit=256 << 20)
    head, _, rest = result.stdout.partition(b"\n")
    if head == b"absent":
        raise ModuleFailure(f"Source ({src}) does not exist")
    if head == b"notdir":
        raise ModuleFailure(f"Source ({src}) is not a directory")
    if result.exit_code != 0 or head != b"ok" or result.stdout_dropped:
        raise ModuleFailure(f"cannot read {src}: {result.stderr_text.strip() or 'too large'}")
    fields = rest.split(b"\0")
    return {
        fields[i].decode("utf-8", "surrogateescape"): base64.b64decode(fields[i + 1])
        for i in range(0, len(fields) - 1, 2)
    }


def _local_fragments(ctx: ModuleContext, src: str) -> dict[str, bytes]:
    folder = resolve_local(src, ctx.base_dir, "assemble", role_dir(ctx)) or src
    if not os.path.exists(folder):
        raise ModuleFailure(f"Source ({src}) does not exist")
    if not os.path.isdir(folder):
        raise ModuleFailure(f"Source ({src}) is not a directory")
    out = {}
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                out[name] = fh.read()
    return out


def assemble(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's assemble (see the module docstring)."""
    src = need_str(args, "src") or ""
    dest = need_str(args, "dest") or ""
    remote = as_bool(args.get("remote_src", True))
    fragments = _remote_fragments(ctx, src) if remote else _local_fragments(ctx, src)
    regexp = need_str(args, "regexp")
    try:
        data = join_fragments(
            fragments,
            delimiter=need_str(args, "delimiter"),
            regexp=regexp,
            ignore_hidden=as_bool(args.get("ignore_hidden")),
        )
    except re.error as exc:
        raise ModuleFailure(f'Invalid Regexp ({exc}) in "{regexp}"') from exc
    result = put_content(ctx, data, dest, args)
    result.update(src=src, msg="OK")
    return result
