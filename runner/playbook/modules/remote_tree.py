"""``copy`` with ``remote_src`` of a folder: a folder already on the host copied to
another place on the same host, as ansible-core's copy module does it (checked against
ansible-playbook 2.19 in tests/test_ansible_parity_e2e.py):

- ``src`` ending in '/' copies what is in it into ``dest``; without it the folder itself
  goes to ``dest/NAME``.
- A folder or file missing at the destination is copied with its mode and times
  (``cp -p``); a file that is there is replaced (content and mode) only when its content
  differs; what the destination has besides is left alone; folders already there keep
  their modes. ``changed`` says whether anything was copied, so a second run is ok.
- ``mode`` applies to the top destination folder only, as in Ansible.

One shell round trip (POSIX ``find``/``cmp``/``cp``), no Python on the host.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult
from runner.playbook.modules.remote import parse_mode

_SCRIPT = r"""
src={src}; top={top}; check={check}; mode={mode}
if [ ! -e "$top" ] && [ ! -L "$top" ]; then
  echo C
  [ "$check" = 1 ] && exit 0
  mkdir -p -- "$(dirname -- "$top")" && cp -RpL -- "$src" "$top" || exit 1
else
  [ -d "$top" ] || {{ echo "$top exists and is not a folder" >&2; exit 3; }}
  cd -- "$src" || exit 1
  find . -type d | while IFS= read -r d; do
    [ -d "$top/$d" ] && continue
    echo C
    [ "$check" = 1 ] || cp -RpL -- "$d" "$top/$d" || exit 1
  done || exit 1
  find . ! -type d | while IFS= read -r f; do
    [ -f "$top/$f" ] && cmp -s -- "$f" "$top/$f" && continue
    echo C
    [ "$check" = 1 ] || cp -pL -- "$f" "$top/$f" || exit 1
  done || exit 1
fi
if [ -n "$mode" ] && [ "$check" != 1 ]; then
  before=$(ls -ld -- "$top" | cut -c1-10)
  chmod "$mode" -- "$top" || exit 1
  [ "$(ls -ld -- "$top" | cut -c1-10)" = "$before" ] || echo C
fi
exit 0
"""


def copy_remote_tree(ctx: ModuleContext, src: str, dest: str, args: dict[str, Any]) -> ModuleResult:
    """The host's folder ``src`` copied to ``dest`` on the host (module docstring)."""
    top = dest if src.endswith("/") else os.path.join(dest, os.path.basename(src.rstrip("/")))
    mode = parse_mode(args.get("mode"))
    mode_text = "" if mode is None else mode if isinstance(mode, str) else f"{mode:o}"
    script = _SCRIPT.format(
        src=shlex.quote(src.rstrip("/") or "/"),
        top=shlex.quote(top.rstrip("/") or "/"),
        check=1 if ctx.check_mode else 0,
        mode=shlex.quote(mode_text),
    )
    done = ctx.shell(script, env=False)
    if done.exit_code != 0:
        detail = done.stderr_text.strip() or f"exit {done.exit_code}"
        raise ModuleFailure(f"copy: cannot copy {src} to {dest}: {detail}", src=src, dest=dest)
    changed = "C" in done.stdout_text.split()
    return {"changed": changed, "src": src, "dest": top, "state": "directory"}
