"""authorized_key: SSH public keys in a user's authorized_keys file, kept the way Ansible's
ansible.posix.authorized_key keeps them (so files either tool wrote stay stable under the
other): keys are matched by their base64 blob, a key whose options or comment differ is
replaced and moved after the others, comments and unparsed lines are kept, and
``exclusive`` drops everything not asked for.

One round trip reads the user's passwd entry and the file; the new text is made here
(:func:`edit_keys`, pure) and written, only when it differs, in a second one.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.waiting import _path_info_sh as path_info_sh
from runner.playbook.modules.waiting import path_info

KEY_TYPES = frozenset(
    {
        "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com",
        "ssh-dss", "ssh-rsa", "ssh-xmss@openssh.com", "ssh-xmss-cert-v01@openssh.com",
        "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com",
        "ssh-dss-cert-v01@openssh.com",
    }
)  # fmt: skip

_OPTION = re.compile(r"""((?:[^,"']|"[^"]*"|'[^']*')+)""")
_MARK = "--runner-authorized-key--"

# Options: (name, value or None) in the order written; a name may repeat (permitopen).
Options = tuple[tuple[str, str | None], ...]


def parse_options(text: str | None) -> Options:
    """``no-pty,from="a,b"`` -> (("no-pty", None), ("from", '"a,b"')).

    >>> parse_options('no-pty,from="10.0.0.1,10.0.0.2",permitopen="h:1"')
    (('no-pty', None), ('from', '"10.0.0.1,10.0.0.2"'), ('permitopen', '"h:1"'))
    >>> parse_options(None)
    ()
    """
    found: list[tuple[str, str | None]] = []
    for part in _OPTION.split(text or "")[1:-1]:
        if "=" in part:
            name, value = part.split("=", 1)
            found.append((name, value))
        elif part != ",":
            found.append((part, None))
    return tuple(found)


def _same_options(a: Options, b: Options) -> bool:
    """Equal as Ansible compares them: per name, the same values in order."""

    def grouped(options: Options) -> dict[str, list[str | None]]:
        table: dict[str, list[str | None]] = {}
        for name, value in options:
            table.setdefault(name, []).append(value)
        return table

    return grouped(a) == grouped(b)


# A parsed line: (blob, type, options, comment, rank); type "skipped": a line kept as is.
Entry = tuple[str, str, Options, str | None, int]


def parse_key(line: str, rank: int) -> Entry | None:
    """One authorized_keys line; None when it holds no key of a known type.

    >>> parse_key('no-pty ssh-ed25519 AAAAC3 me@host', 0)
    ('AAAAC3', 'ssh-ed25519', (('no-pty', None),), 'me@host', 0)
    >>> parse_key('# a comment', 3)
    ('# a comment', 'skipped', (), None, 3)
    """
    line = line.replace(r"\#", "#")
    words = [w for w in re.split(r"[ \t\r\n]+", line) if w]
    if words and words[0] == "#":
        return (line, "skipped", (), None, rank)
    at = next((i for i, w in enumerate(words) if w in KEY_TYPES), None)
    if at is None or at + 1 >= len(words):
        return None
    options = parse_options(" ".join(words[:at]) if at else None)
    return (words[at + 1], words[at], options, " ".join(words[at + 2 :]), rank)


def parse_keys(text: str) -> dict[str, Entry]:
    """The entries of a file by blob (unparsed lines by their own text, kept as they are)."""
    keys: dict[str, Entry] = {}
    for rank, line in enumerate(text.splitlines(True)):
        entry = parse_key(line, rank)
        if entry is None:
            entry = (line, "skipped", (), None, rank)
        keys[entry[0]] = entry
    return keys


def render_keys(keys: dict[str, Entry]) -> str:
    """The file text: entries by rank; a key as ``[OPTIONS ]TYPE BLOB COMMENT`` (Ansible
    leaves the space before an empty comment, and so does this, byte for byte).

    >>> render_keys({"B": ("B", "ssh-rsa", (("no-pty", None),), "", 0)})
    'no-pty ssh-rsa B \\n'
    """
    lines = []
    for blob, kind, options, comment, _ in sorted(keys.values(), key=lambda e: e[4]):
        if kind == "skipped":
            lines.append(blob)
            continue
        prefix = ",".join(n if v is None else f"{n}={v}" for n, v in options)
        lines.append(f"{prefix + ' ' if prefix else ''}{kind} {blob} {comment}\n")
    return "".join(lines)


def edit_keys(
    existing: str,
    wanted: list[str],
    *,
    state: str,
    exclusive: bool,
    key_options: str | None,
    comment: str | None,
) -> str | None:
    """The new file text, or None when nothing changes; ValueError names a bad key.

    >>> edit_keys("", ["ssh-ed25519 AAA me"], state="present", exclusive=False,
    ...           key_options=None, comment=None)
    'ssh-ed25519 AAA me\\n'
    >>> edit_keys("ssh-ed25519 AAA me\\n", ["ssh-ed25519 AAA me"], state="present",
    ...           exclusive=False, key_options=None, comment=None) is None
    True
    """
    keys = parse_keys(existing)
    first_new_rank = len(keys)
    asked: list[str] = []
    write = False
    for rank, line in enumerate(wanted):
        entry = parse_key(line, rank)
        if entry is None or entry[1] == "skipped":
            raise ValueError(f"invalid key specified: {line}")
        blob, kind, options, old_comment, _ = entry
        if key_options is not None:
            options = parse_options(key_options)
        entry = (blob, kind, options, old_comment if comment is None else comment, rank)
        current = keys.get(blob)
        matched = current is not None
        if current is not None and state == "present":
            same = current[1] == kind and current[3] == entry[3]
            matched = same and _same_options(current[2], options)
        if state == "present":
            asked.append(blob)
            if current is not None and not matched:
                del keys[blob]
                write = True
            if not matched:
                keys[blob] = (*entry[:4], first_new_rank + rank)
                write = True
        elif matched:
            del keys[blob]
            write = True
    if state == "present" and exclusive:
        for blob in [b for b in keys if b not in asked]:
            del keys[blob]
            write = True
    return render_keys(keys) if write else None


_READ = """u={user}; p={path}
e=$(getent passwd "$u") || {{ echo "nouser"; exit 0; }}
h=$(printf %s "$e" | cut -d: -f6)
[ -n "$p" ] || p="$h/.ssh/authorized_keys"
printf 'user %s\\n' "$(printf %s "$e" | cut -d: -f3,4)"
printf 'file %s\\n' "$p"
{follow}
printf 'real %s\\n' "$p"
{info}
printf '%s\\n' {mark}
[ -f "$p" ] && exec cat -- "$p"; exit 0
"""

_WRITE = """f={path}; d={folder}; o={owner}
if [ {manage} = yes ]; then
  [ -d "$d" ] || mkdir -m 700 -- "$d" || exit 1
  chown "$o" "$d" && chmod 700 "$d" || exit 1
fi
[ -d "$(dirname -- "$f")" ] || mkdir -p -- "$(dirname -- "$f")" || exit 1
t="$f.runner-$$.tmp"
cat > "$t" || {{ rm -f -- "$t"; exit 1; }}
chown "$o" "$t" 2>/dev/null; chmod 600 "$t"
mv -f -- "$t" "$f" || exit 1
{info}
"""


def _wanted_text(ctx: ModuleContext, key: str) -> str:
    """``key``'s text; a ``file://`` or http(s) URL is read on the host, as Ansible's
    module reads it there."""
    if key.startswith("http"):
        url = shlex.quote(key)
        done = ctx.shell(f"curl -fsSL {url} 2>/dev/null || wget -qO- {url}", env=False)
        if done.exit_code != 0:
            raise ModuleFailure(f"Error getting key from: {key}")
        return done.stdout_text
    if key.startswith("file"):
        path = re.sub(r"^file://[^/]*", "", key)
        q = shlex.quote(path)
        done = ctx.shell(
            f'[ -e {q} ] || {{ echo "missing"; exit 3; }}; [ -f {q} ] || exit 4; cat -- {q}',
            env=False,
        )
        if done.exit_code == 3:
            raise ModuleFailure(f"Path to a key file not found: {path}")
        if done.exit_code == 4:
            raise ModuleFailure(f"Path to a key is a directory and must be a file: {path}")
        if done.exit_code != 0:
            raise ModuleFailure(f"Failed to read key file {path} : {done.stderr_text.strip()}")
        return done.stdout_text
    return key


def authorized_key(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    user = need_str(args, "user") or ""
    key = need_str(args, "key") or ""
    path = need_str(args, "path")
    state = need_str(args, "state") or "present"
    follow = as_bool(args.get("follow"))
    manage_dir = as_bool(args.get("manage_dir", True))
    result: ModuleResult = {
        "user": user, "key": key, "path": path, "manage_dir": manage_dir, "state": state,
        "key_options": need_str(args, "key_options"), "exclusive": as_bool(args.get("exclusive")),
        "comment": need_str(args, "comment"),
        "validate_certs": as_bool(args.get("validate_certs", True)), "follow": follow,
    }  # fmt: skip
    wanted = [s for s in _wanted_text(ctx, key).splitlines() if s and not s.startswith("#")]
    script = _READ.format(
        user=shlex.quote(user),
        path=shlex.quote(path or ""),
        follow='p=$(readlink -f -- "$p" || printf %s "$p")' if follow else "",
        mark=_MARK,
        info=path_info_sh(path) if path else "",
    )
    done = ctx.shell(script, env=False)
    head, _, existing = done.stdout_text.partition(_MARK + "\n")
    info = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
    if done.exit_code != 0 or (head.strip() != "nouser" and "file" not in info):
        raise ModuleFailure(f"cannot read the keys file: {done.stderr_text.strip()}")
    if head.strip() == "nouser":
        if not (ctx.check_mode and path):
            if ctx.check_mode:
                raise ModuleFailure(
                    "Either user must exist or you must provide full path to key file in check mode"
                )
            missing = f"getpwnam(): name not found: '{user}'"
            raise ModuleFailure(f'Failed to lookup user {user}: "{missing}"')
        info = {"file": path or "", "real": path or "", "user": ""}
    result["keyfile"] = info["file"]
    try:
        text = edit_keys(
            existing,
            wanted,
            state=state,
            exclusive=result["exclusive"],
            key_options=result["key_options"],
            comment=result["comment"],
        )
    except ValueError as exc:
        raise ModuleFailure(str(exc)) from exc
    result["changed"] = text is not None
    if path:  # Ansible adds what is at a result's 'path' to any result
        result.update(path_info(head))
    if text is None:
        return result
    target = info["real"] if follow else info["file"]
    if ctx.diff:
        result["diff"] = {
            "before_header": info["file"],
            "after_header": target,
            "before": existing,
            "after": text,
        }
    if not ctx.check_mode:
        folder = os.path.dirname(path) if path else os.path.dirname(info["file"])
        write = _WRITE.format(
            path=shlex.quote(target),
            folder=shlex.quote(folder),
            owner=shlex.quote(info["user"]),
            manage="yes" if manage_dir else "no",
            info=path_info_sh(path) if path else "",
        )
        written = ctx.shell(write, stdin=text.encode(), env=False)
        if written.exit_code != 0:
            raise ModuleFailure(f"cannot write {target}: {written.stderr_text.strip()}")
        if path:
            result.update(path_info(written.stdout_text))
    return result
