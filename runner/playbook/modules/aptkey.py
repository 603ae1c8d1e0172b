"""apt_key natively, with the same host tools ansible-core's module drives (``gpg`` to read
a key's id, ``apt-key`` to list, add and delete), in one round trip to look and one to
change.

The key comes from ``data`` (sent on stdin), a ``file`` on the host, a ``url`` (fetched on
the host with curl or wget) or a ``keyserver`` (apt-key's --recv); with ``id`` given it is
compared by id. Registered keys as ansible-core: ``id``, ``short_id``, ``fp``, ``key_id``,
``before`` (the keys listed first), ``after`` (listed again after a change).
"""

from __future__ import annotations

import shlex
from typing import Any

from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult, need_str

MARK = "@@aptkey:"
_NO_ERROR = (
    "apt-key did not return an error, but %s (check that the id is correct and *not* a subkey)"
)


def parse_key_id(key_id: str) -> tuple[str, str, str]:
    """(the id for apt-key del, the id keys are listed by, the whole id), as ansible-core
    cuts them: the last 8 and 16 hex digits.

    >>> parse_key_id("0x9A2A0E1F5C4A4D7B36D8E2A1B2C3D4E5F6A7B8C9")
    ('F6A7B8C9', 'B2C3D4E5F6A7B8C9', '9A2A0E1F5C4A4D7B36D8E2A1B2C3D4E5F6A7B8C9')
    """
    int(key_id, 16)
    key = key_id.upper()
    if key.startswith("0X"):
        key = key[2:]
    if len(key) not in (8, 16) and len(key) <= 16:
        raise ValueError("key_id must be 8, 16, or 16+ hexadecimal characters in length")
    return key[-8:], key[-16:] if len(key) > 16 else key, key


def parse_keys(output: str, short: bool = False) -> list[str]:
    """Key ids in ``apt-key adv --list-public-keys --keyid-format=long`` or
    ``gpg --with-colons`` output (pub and sub lines, expired ones left out)."""
    found = []
    for line in output.split("\n"):
        if not line.startswith(("pub", "sub")) or "expired" in line:
            continue
        words = line.split()
        if len(words) > 1 and "/" in words[1] and words[1].count("/") == 1:
            found.append(words[1].split("/")[1])
            continue
        fields = line.split(":")
        if len(fields) > 4:
            found.append(fields[4])
    return [k[-8:] for k in found] if short else found


def _apt_key(keyring: str | None) -> str:
    return "apt-key" + (f" --keyring {shlex.quote(keyring)}" if keyring else "")


def _list(keyring: str | None) -> str:
    return f"{_apt_key(keyring)} adv --list-public-keys --keyid-format=long 2>&1"


def _sections(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for block in text.split(MARK)[1:]:
        head, _, rest = block.partition("\n")
        name, _, inline = head.strip().partition(" ")
        parts[name] = inline if inline else rest
    return parts


def _extra(result: ModuleResult) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "changed"}


def apt_key(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    key_id = need_str(args, "id")
    url, data, path = need_str(args, "url"), need_str(args, "data"), need_str(args, "file")
    keyring, keyserver = need_str(args, "keyring"), need_str(args, "keyserver")
    state = need_str(args, "state") or "present"
    if state not in ("present", "absent"):
        raise ModuleFailure(f"state must be one of: absent, present (got {state!r})")
    if not key_id and keyserver:
        raise ModuleFailure("Missing key_id, required with keyserver.")
    steps = [
        f'command -v apt-key >/dev/null 2>&1 || {{ echo "{MARK}missing apt-key"; exit 0; }}',
        f'command -v gpg >/dev/null 2>&1 || {{ echo "{MARK}missing gpg"; exit 0; }}',
    ]
    fetch = None
    if url:
        q = shlex.quote(url)
        fetch = f"(curl -fsSL {q} 2>/dev/null || wget -qO- {q})"
    if not key_id and (path or data is not None or fetch):
        source = shlex.quote(path) if path else "-"
        feed = f"{fetch} | " if fetch and not path else ""
        steps.append(
            f'echo "{MARK}colons"; {feed}LC_ALL=C gpg --with-colons {source} 2>/dev/null '
            f'|| echo "{MARK}unreadable"'
        )
    steps.append(f'echo "{MARK}keys"; {_list(keyring)}; echo "{MARK}keys-rc $?"')
    stdin = data.encode() if data is not None and not key_id else None
    probe = ctx.shell("\n".join(steps), stdin=stdin)
    parts = _sections(probe.stdout_text)
    if "missing" in parts:
        raise ModuleFailure(f'Failed to find required executable "{parts["missing"]}"')
    result: ModuleResult = {"changed": False}
    if "unreadable" in parts:
        where = path if path else "inline data"
        raise ModuleFailure(f"Unable to extract key from '{where}'")
    if not key_id and "colons" in parts:
        found = parse_keys(parts["colons"])
        key_id = found[0] if found else None
    result["id"] = key_id
    try:
        short_id, fingerprint, full_id = parse_key_id(key_id or "")
    except ValueError as exc:
        raise ModuleFailure("Invalid key_id", **_extra(result)) from exc
    result.update(short_id=short_id, fp=fingerprint, key_id=full_id)
    short = len(full_id) == 8
    if not parts.get("keys-rc", "").strip().startswith("0"):
        raise ModuleFailure("Unable to list public keys", **_extra(result))
    keys = parse_keys(parts.get("keys", ""), short)
    result["before"] = keys
    wanted = short_id if short else fingerprint
    if state == "present" and wanted in keys:
        return result
    if state == "absent" and fingerprint not in keys:
        return result
    result["changed"] = True
    if ctx.check_mode:
        return result
    if state == "present":
        if path:
            change = f"{_apt_key(keyring)} add {shlex.quote(path)}"
        elif keyserver:
            change = (
                f"{_apt_key(keyring)} adv --no-tty --keyserver {shlex.quote(keyserver)} "
                f"--recv {shlex.quote(full_id)}"
            )
        elif data is not None:
            change = f"{_apt_key(keyring)} add -"
        elif fetch:
            change = f"{fetch} | {_apt_key(keyring)} add -"
        else:
            raise ModuleFailure("No key to add ... how did i get here?!?!", **_extra(result))
    else:
        change = f"{_apt_key(keyring)} del {shlex.quote(short_id)}"
    script = f'LC_ALL=C {change} >&2; echo "{MARK}rc $?"; echo "{MARK}keys"; {_list(keyring)}'
    done = ctx.shell(script, stdin=data.encode() if data is not None else None)
    after = _sections(done.stdout_text)
    if not after.get("rc", "").strip().startswith("0"):
        what = "error removing key_id" if state == "absent" else "failed to add the key"
        raise ModuleFailure(what, stderr=done.stderr_text, **_extra(result))
    result["after"] = keys2 = parse_keys(after.get("keys", ""), short)
    if state == "present" and wanted not in keys2:
        raise ModuleFailure(_NO_ERROR % "failed to add the key", **_extra(result))
    if state == "absent" and fingerprint in keys2:
        raise ModuleFailure(_NO_ERROR % "the key was not removed", **_extra(result))
    return result
