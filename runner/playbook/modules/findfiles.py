"""find: GNU find on the host lists each path once (one round trip; a second only for
``contains`` or ``get_checksum``, which must look inside files); Ansible's filters and
its os.walk order (a folder's files, then its folders, then into each) are applied on
the control node, so ``files``, ``matched`` and ``examined`` are what Ansible registers."""

from __future__ import annotations

import base64
import fnmatch
import io
import os
import re
import shlex
import time
from dataclasses import dataclass
from typing import Any

from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult, as_bool
from runner.playbook.modules.inspect import mode_flags

_TYPE_BITS = {"f": 0o100000, "d": 0o040000, "l": 0o120000, "c": 0o020000, "b": 0o060000,
              "p": 0o010000, "s": 0o140000}  # fmt: skip
# type, type followed, perms, user, group, uid, gid, size, inode, dev, links, a/m/c times,
# depth, path
_FORMAT = r"%y|%Y|%m|%u|%g|%U|%G|%s|%i|%D|%n|%A@|%T@|%C@|%d|%p\0"
_UNITS_AGE = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNITS_SIZE = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


@dataclass(frozen=True)
class Entry:
    path: str
    kind: str  # find's %y letter
    target_kind: str  # %Y: the type a symlink leads to
    depth: int
    info: dict[str, Any]

    @property
    def walks_as_dir(self) -> bool:
        """os.walk lists an entry among the folders when it is one or links to one."""
        return self.target_kind == "d"


def _listing(value: Any) -> list[str]:
    """Ansible's list type: a list, or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",")]


def _amount(value: Any, units: dict[str, int], what: str) -> int | None:
    if value is None:
        return None
    m = re.match(r"^(-?\d+)([a-z])?$", str(value).lower())
    if not m or (m.group(2) and m.group(2) not in units):
        raise ModuleFailure(f"failed to process {what}", **{what: value})
    return int(m.group(1)) * units.get(m.group(2) or "", 1)


def _parse(record: str) -> Entry:
    f = record.split("|", 15)
    mode = _TYPE_BITS.get(f[0], 0) | int(f[2], 8)
    uid, gid = int(f[5]), int(f[6])
    info = {
        **mode_flags(mode),
        "uid": uid, "gid": gid, "size": int(f[7]), "inode": int(f[8]), "dev": int(f[9]),
        "nlink": int(f[10]), "atime": float(f[11]), "mtime": float(f[12]),
        "ctime": float(f[13]),
        "gr_name": "" if f[4] == str(gid) else f[4],
        "pw_name": "" if f[3] == str(uid) else f[3],
    }  # fmt: skip
    return Entry(os.path.normpath(f[15]), f[0], f[1], int(f[14]), info)


def _name_matches(name: str, patterns: list[str], excludes: list[str], regex: bool) -> bool:
    def hit(pattern: str) -> bool:
        return bool(re.match(pattern, name)) if regex else fnmatch.fnmatch(name, pattern)

    if not any(hit(p) for p in patterns):
        return False
    return not any(hit(e) for e in excludes)


def find(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's find: files under ``paths`` that pass every filter given."""
    paths = _listing(args.get("paths"))
    regex = as_bool(args.get("use_regex"))
    patterns = _listing(args.get("patterns")) or ([".*"] if regex else ["*"])
    excludes = _listing(args.get("excludes"))
    file_type = str(args.get("file_type") or "file")
    recurse, hidden, follow = (as_bool(args.get(k)) for k in ("recurse", "hidden", "follow"))
    depth = int(args["depth"]) if args.get("depth") not in (None, "") else None
    age = _amount(args.get("age"), _UNITS_AGE, "age")
    size = _amount(args.get("size"), _UNITS_SIZE, "size")
    stamp = str(args.get("age_stamp") or "mtime")
    limit = int(args["limit"]) if args.get("limit") not in (None, "") else None
    if limit is not None and limit <= 0:
        raise ModuleFailure(f"limit cannot be {limit} (use None for unlimited)")
    want_mode = _wanted_mode(args.get("mode"))
    exact = as_bool(args.get("exact_mode", True))
    try:
        contains = re.compile(str(args["contains"])) if args.get("contains") is not None else None
        for pattern in (*patterns, *excludes) if regex else ():
            re.compile(pattern)
    except re.error as exc:
        raise ModuleFailure(f"find: {exc}") from exc

    # with contains, the limit counts files that pass it: applied after looking inside
    cap = None if contains is not None and file_type == "file" else limit
    maxdepth = 1 if not recurse else (depth + 1 if depth else None)
    script = []
    for path in paths:
        bound = f" -maxdepth {maxdepth}" if maxdepth else ""
        script.append(
            f'p={shlex.quote(path)}; if [ -d "$p" ]; then printf \'P%s\\0\' "$p"; '
            f"find {'-L ' if follow else ''}\"$p\" -mindepth 1{bound} -printf '{_FORMAT}' "
            f"2>/dev/null; else printf 'X%s\\0' \"$p\"; fi"
        )
    result = ctx.shell("\n".join(script), env=False, limit=64 << 20)
    if result.exit_code != 0 and not result.stdout:
        raise ModuleFailure(f"find failed: {result.stderr_text.strip()}")
    now = time.time()
    files: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    examined = 0
    msg = "All paths examined"
    warnings: list[str] = []
    for top, entries in _sections(result.stdout.decode("utf-8", "surrogateescape")):
        if entries is None:
            skipped[top] = f"'{top}' is not a directory"
            warnings.append(f"Skipped '{top}' path due to this access issue: {skipped[top]}\n")
            continue
        for root_entries in _walk(os.path.normpath(top), entries, recurse, follow):
            examined += len(root_entries)
            for entry in root_entries:
                if depth and entry.depth > depth:
                    break
                name = os.path.basename(entry.path)
                if name.startswith(".") and not hidden:
                    continue
                if not _wanted(entry, file_type):
                    continue
                info = entry.info
                if not (
                    _name_matches(name, patterns, excludes, regex)
                    and _age_ok(info[stamp], now, age)
                    and (want_mode is None or _mode_ok(info["mode"], want_mode, exact))
                ):
                    continue
                if (entry.kind == "f" and file_type in ("file", "any")) and not _size_ok(
                    info["size"], size
                ):
                    continue
                files.append({"path": entry.path, **info})
                if len(files) == cap:
                    msg = "Limit of matches reached"
                    break
            if len(files) == cap:
                break
        if len(files) == cap:
            break
    files = _look_inside(ctx, files, contains, args, file_type)
    if limit is not None and cap is None and len(files) >= limit:
        files, msg = files[:limit], "Limit of matches reached"
    if warnings:
        msg = "Not all paths examined, check warnings for details"
    out: ModuleResult = {
        "changed": False, "files": files, "msg": msg, "matched": len(files),
        "examined": examined, "skipped_paths": skipped,
    }  # fmt: skip
    if warnings:
        out["warnings"] = warnings
    return out


def _sections(text: str) -> list[tuple[str, list[Entry] | None]]:
    sections: list[tuple[str, list[Entry] | None]] = []
    for record in text.split("\0"):
        if record.startswith("P"):
            sections.append((record[1:], []))
        elif record.startswith("X"):
            sections.append((record[1:], None))
        elif record and sections and sections[-1][1] is not None:
            try:
                sections[-1][1].append(_parse(record))
            except (ValueError, IndexError):
                continue  # a name with a newline or '|' in it: not reported
    return sections


def _walk(top: str, entries: list[Entry], recurse: bool, follow: bool):
    """Entries grouped by folder in os.walk's top-down order: a folder's non-folders,
    then its folders, then each folder's own (links to folders only with ``follow``)."""
    children: dict[str, list[Entry]] = {}
    for entry in entries:
        children.setdefault(os.path.dirname(entry.path), []).append(entry)
    pending = [top]
    while pending:
        root = pending.pop(0)
        kids = children.get(root, [])
        files = [k for k in kids if not k.walks_as_dir]
        dirs = [k for k in kids if k.walks_as_dir]
        yield files + dirs
        if not recurse:
            return
        below = [d.path for d in dirs if d.kind == "d" or follow]
        pending[0:0] = below  # depth first, as os.walk


def _wanted(entry: Entry, file_type: str) -> bool:
    return file_type == "any" or {"directory": "d", "file": "f", "link": "l"}[file_type] == (
        entry.kind
    )


def _age_ok(stamp: float, now: float, age: int | None) -> bool:
    if age is None:
        return True
    return now - stamp >= age if age >= 0 else now - stamp <= -age


def _size_ok(size: int, want: int | None) -> bool:
    if want is None:
        return True
    return size >= want if want >= 0 else size <= -want


def _wanted_mode(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value), 8) & 0o7777
    except ValueError as exc:
        raise ModuleFailure(f"find: mode {value!r}: runner takes an octal mode here") from exc


def _mode_ok(mode: str, want: int, exact: bool) -> bool:
    have = int(mode, 8)
    return have == want if exact else bool(have & want)


def _look_inside(
    ctx: ModuleContext,
    files: list[dict[str, Any]],
    contains: re.Pattern[str] | None,
    args: dict[str, Any],
    file_type: str,
) -> list[dict[str, Any]]:
    """Apply ``contains`` (file_type file only, as Ansible) and add checksums: one round
    trip reading the candidates (base64, so any byte survives) and their digests."""
    checksum = as_bool(args.get("get_checksum"))
    regular = [f for f in files if f["isreg"]]
    if not regular or not (checksum or (contains is not None and file_type == "file")):
        return files
    algorithm = str(args.get("checksum_algorithm") or "sha1")
    read = contains is not None and file_type == "file"
    lines = []
    for f in regular:
        q = shlex.quote(f["path"])
        part = f"printf '%s\\0' {q}; "
        part += f"base64 -w0 < {q} 2>/dev/null; printf '\\0'; " if read else "printf '\\0'; "
        part += f"{algorithm}sum < {q} 2>/dev/null | cut -d' ' -f1" if checksum else "echo"
        lines.append(part + "; printf '\\0'")
    result = ctx.shell("\n".join(lines), env=False, limit=256 << 20)
    if result.stdout_dropped:
        raise ModuleFailure("find: the files to look inside are too large (over 192 MiB)")
    fields = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    found = {}
    for i in range(0, len(fields) - 2, 3):
        found[fields[i]] = (fields[i + 1], fields[i + 2].strip())
    encoding = str(args.get("encoding") or "utf-8")
    whole = as_bool(args.get("read_whole_file"))
    kept = []
    for f in files:
        body, digest = found.get(f["path"], ("", ""))
        if read and f["isreg"]:
            try:
                text = base64.b64decode(body).decode(encoding)
            except (ValueError, LookupError):
                continue
            assert contains is not None
            if whole:
                if not contains.search(text):
                    continue
            elif not any(contains.match(line) for line in io.StringIO(text, newline=None)):
                continue
        if checksum and f["isreg"] and digest:
            f = {**f, "checksum": digest}
        kept.append(f)
    return kept
