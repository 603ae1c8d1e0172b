"""stat, slurp, find: read-only modules that report on remote paths with the keys
Ansible's modules register (``stat.exists``, ``stat.mode`` as '0644', ``files[].path``...),
each from one shell round trip of POSIX sh and GNU coreutils/findutils (find adds one when
it must look inside files: ``contains`` or ``get_checksum``)."""

from __future__ import annotations

import base64
import shlex
import stat as st
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)

# One line of GNU stat/find output: raw mode (hex), ids, sizes, times and names.
_STAT_FORMAT = "%f|%u|%g|%s|%i|%d|%h|%.9X|%.9Y|%.9Z|%b|%B|%r|%U|%G"
_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")

# chattr's letters, named as Ansible names them in stat's ``attributes``.
_ATTRIBUTE_NAMES = {
    "A": "noatime", "a": "append", "c": "compressed", "C": "nocow", "d": "nodump",
    "D": "dirsync", "e": "extents", "E": "encrypted", "h": "blocksize", "i": "immutable",
    "I": "indexed", "j": "journalled", "N": "inline", "s": "zero", "S": "synchronous",
    "t": "notail", "T": "blockroot", "u": "undelete", "X": "compressedraw",
    "Z": "compresseddirty",
}  # fmt: skip


def mode_flags(mode: int) -> dict[str, Any]:
    """The type and permission booleans Ansible derives from st_mode.

    >>> mode_flags(0o100644)["mode"], mode_flags(0o100644)["isreg"], mode_flags(0o40755)["xoth"]
    ('0644', True, True)
    """
    return {
        "mode": f"{st.S_IMODE(mode):04o}",
        "isdir": st.S_ISDIR(mode),
        "ischr": st.S_ISCHR(mode),
        "isblk": st.S_ISBLK(mode),
        "isreg": st.S_ISREG(mode),
        "isfifo": st.S_ISFIFO(mode),
        "islnk": st.S_ISLNK(mode),
        "issock": st.S_ISSOCK(mode),
        **{
            name: bool(mode & bit)
            for name, bit in (
                ("wusr", st.S_IWUSR),
                ("rusr", st.S_IRUSR),
                ("xusr", st.S_IXUSR),
                ("wgrp", st.S_IWGRP),
                ("rgrp", st.S_IRGRP),
                ("xgrp", st.S_IXGRP),
                ("woth", st.S_IWOTH),
                ("roth", st.S_IROTH),
                ("xoth", st.S_IXOTH),
                ("isuid", st.S_ISUID),
                ("isgid", st.S_ISGID),
            )
        },  # fmt: skip
    }


def parse_stat_line(line: str) -> dict[str, Any]:
    """One ``_STAT_FORMAT`` line -> Ansible's stat keys (pw_name/gr_name only when the
    ids have names, as Ansible leaves them out)."""
    f = line.split("|")
    mode = int(f[0], 16)
    out: dict[str, Any] = {"exists": True, **mode_flags(mode)}
    out.update(
        uid=int(f[1]), gid=int(f[2]), size=int(f[3]), inode=int(f[4]), dev=int(f[5]),
        nlink=int(f[6]), atime=float(f[7]), mtime=float(f[8]), ctime=float(f[9]),
        blocks=int(f[10]), block_size=int(f[11]), device_type=int(f[12]),
    )  # fmt: skip
    if f[13] != "UNKNOWN":
        out["pw_name"] = f[13]
    if f[14] != "UNKNOWN":
        out["gr_name"] = f[14]
    return out


def _algorithm(args: dict[str, Any]) -> str:
    algorithm = need_str(args, "checksum_algorithm") or "sha1"
    if algorithm not in _ALGORITHMS:
        raise ModuleFailure(f"checksum_algorithm must be one of: {', '.join(_ALGORITHMS)}")
    return algorithm


def stat(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """Ansible's stat: ``stat.exists`` and, when it does, type, mode, owner, times,
    checksum (regular readable files), link source/target, mime type (with ``file`` on the
    host, else 'unknown' as Ansible) and lsattr attributes."""
    path = need_str(args, "path") or ""
    follow = as_bool(args.get("follow"))
    algorithm = _algorithm(args)
    dash_l = "-L " if follow else ""
    script = [
        f"p={shlex.quote(path)}",
        'if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo absent; exit 0; fi',
        f"printf 'S%s\\n' \"$(stat {dash_l}-c '{_STAT_FORMAT}' -- \"$p\")\"",
        'a=; [ -r "$p" ] && a=r; [ -w "$p" ] && a="${a}w"; [ -x "$p" ] && a="${a}x"; echo "A$a"',
    ]
    if not follow:
        script.append(
            'if [ -L "$p" ]; then printf \'L%s\\n\' "$(readlink -f -- "$p")"; '
            'printf \'T%s\\n\' "$(readlink -- "$p")"; fi'
        )
    if as_bool(args.get("get_checksum", True)):
        link = "" if follow else ' && [ ! -L "$p" ]'
        script.append(
            f'if [ -f "$p" ]{link} && [ -r "$p" ]; then '
            f"printf 'C%s\\n' \"$({algorithm}sum < \"$p\" | cut -d' ' -f1)\"; fi"
        )
    if as_bool(args.get("get_mime", True)):
        script.append(
            "if command -v file >/dev/null 2>&1; then "
            'printf \'M%s\\n\' "$(file --mime-type --mime-encoding -- "$p")"; fi'
        )
    if as_bool(args.get("get_attributes", True)):
        script.append(
            "if command -v lsattr >/dev/null 2>&1; then "
            'printf \'X%s\\n\' "$(lsattr -vd -- "$p" 2>/dev/null)"; fi'
        )
    result = ctx.shell("\n".join(script), env=False)
    lines = result.stdout_text.splitlines()
    if result.exit_code != 0 or not lines:
        raise ModuleFailure(f"cannot stat {path}: {result.stderr_text.strip()}")
    if lines[0] == "absent":
        return {"changed": False, "stat": {"exists": False}}
    said = {line[:1]: line[1:] for line in lines}
    try:
        out = parse_stat_line(said["S"])
    except (KeyError, ValueError, IndexError) as exc:
        raise ModuleFailure(f"cannot stat {path}: {result.stderr_text.strip()}") from exc
    out = {"exists": True, "path": path, **out}
    access = said.get("A", "")
    out.update(readable="r" in access, writeable="w" in access, executable="x" in access)
    if "L" in said:
        out.update(lnk_source=said["L"], lnk_target=said.get("T", ""))
    if "C" in said:
        out["checksum"] = said["C"]
    if as_bool(args.get("get_mime", True)):
        out["mimetype"] = out["charset"] = "unknown"
        answer = said.get("M", "").rsplit(":", 1)[-1].split(";")
        if len(answer) == 2 and "=" in answer[1]:
            out["mimetype"] = answer[0].strip()
            out["charset"] = answer[1].split("=", 1)[1].strip()
    if as_bool(args.get("get_attributes", True)):
        out.update(version=None, attributes=[], attr_flags="")
        words = said.get("X", "").split()
        if len(words) >= 2:
            flags = words[1].replace("-", "")
            out.update(
                version=words[0],
                attr_flags=flags,
                attributes=[_ATTRIBUTE_NAMES[c] for c in flags if c in _ATTRIBUTE_NAMES],
            )
    return {"changed": False, "stat": out}


def slurp(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    """The remote file's content, base64-encoded, as Ansible's slurp registers it."""
    src = need_str(args, "src") or ""
    script = (
        f'p={shlex.quote(src)}; if [ -d "$p" ]; then echo directory; '
        'elif [ ! -e "$p" ]; then echo absent; elif [ ! -r "$p" ]; then echo unreadable; '
        'else echo file; exec cat -- "$p"; fi'
    )
    result = ctx.shell(script, env=False, limit=64 << 20)
    head, _, content = result.stdout.partition(b"\n")
    kind = head.decode(errors="replace")
    if kind == "absent":
        raise ModuleFailure(f"file not found: {src}")
    if kind == "directory":
        raise ModuleFailure(f"source is a directory and must be a file: {src}")
    if kind == "unreadable":
        raise ModuleFailure(f"file is not readable: {src}")
    if result.exit_code != 0 or kind != "file" or result.stdout_dropped:
        raise ModuleFailure(f"cannot read {src}: {result.stderr_text.strip() or 'too large'}")
    return {
        "changed": False,
        "content": base64.b64encode(content).decode(),
        "encoding": "base64",
        "source": src,
    }


MODULES = {"stat": stat, "slurp": slurp}
