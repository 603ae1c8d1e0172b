"""mount: a mount point in an fstab file, and mounted or not, as ansible.posix.mount does it
on Linux: ``present``/``absent``/``absent_from_fstab`` only edit the fstab (absent also
unmounts and removes the empty mount point), ``mounted`` edits it and mounts (remounts
when the line changed), ``unmounted``/``remounted`` run ``umount``/``mount -o remount``.

One round trip reads the fstab, whether the path is a mount point (its device and inode
against its parent's, as Ansible's ``ismount``) and /proc/self/mountinfo; the fstab is
edited here (:func:`set_line`, :func:`unset_line`, pure); one more writes it and runs
mount/umount (found on the task's PATH: the tests put recording stand-ins there).
"""

from __future__ import annotations

import shlex
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)

_FIELDS = ("src", "name", "fstype", "opts", "dump", "passno")
_SECTION = "@@runner-mount:"


def escape(value: str) -> str:
    r"""An fstab field: backslash, space and ampersand as octal escapes.

    >>> escape("/mnt/my disk&co")
    '/mnt/my\\040disk\\046co'
    """
    return value.replace("\\", "\\134").replace(" ", "\\040").replace("&", "\\046")


def _line(fields: dict[str, Any]) -> str:
    return "{src} {name} {fstype} {opts} {dump} {passno}\n".format(**fields)


def set_line(text: str, args: dict[str, str]) -> tuple[str, bool]:
    """The fstab with the line for ``args['name']`` made to match ``args``; whether it
    changed. A line of 4 or 5 fields counts as changed (Ansible compares its missing dump
    and passno as the number 0 with the text '0').

    >>> set_line("# c\\n/dev/a /srv ext4 defaults 0 0\\n", {"src": "/dev/b", "name": "/srv",
    ...          "fstype": "ext4", "opts": "defaults", "dump": "0", "passno": "0"})
    ('# c\\n/dev/b /srv ext4 defaults 0 0\\n', True)
    """
    wanted = {k: escape(v) for k, v in args.items() if k in _FIELDS}
    out: list[str] = []
    exists = changed = False
    for line in text.splitlines(True):
        if not line.endswith("\n"):
            line += "\n"
        if not line.strip() or line.strip().startswith("#"):
            out.append(line)
            continue
        fields = line.split("#")[0].split()
        if len(fields) not in (4, 5, 6):
            out.append(line)
            continue
        have: dict[str, Any] = {"dump": 0, "passno": 0, **dict(zip(_FIELDS, fields, strict=False))}
        if have["name"] != wanted["name"] or _other_swap(have, args):
            out.append(line)
            continue
        exists = True
        for key in ("src", "fstype", "opts", "dump", "passno"):
            if have[key] != wanted.get(key):
                have[key] = wanted.get(key)
                changed = True
        out.append(_line(have) if changed else line)
    if not exists:
        out.append(_line(wanted))
        changed = True
    return "".join(out), changed


def _other_swap(have: dict[str, Any], args: dict[str, str]) -> bool:
    """A swap line (name 'none') of another device is not the one asked for."""
    return (
        "src" in args
        and have["name"] == "none"
        and have["fstype"] == "swap"
        and have["src"] != args["src"]
    )


def unset_line(text: str, args: dict[str, str]) -> tuple[str, bool]:
    """The fstab without the line(s) for ``args['name']`` (only 6-field lines match, as in
    Ansible); whether it changed.

    >>> unset_line("/dev/a /srv ext4 defaults 0 0\\n/dev/b /x ext4 ro 0 0\\n", {"name": "/srv"})
    ('/dev/b /x ext4 ro 0 0\\n', True)
    """
    name = escape(args["name"])
    out: list[str] = []
    changed = False
    for line in text.splitlines(True):
        if not line.strip() or line.strip().startswith("#") or len(line.split()) != 6:
            out.append(line)
            continue
        have = dict(zip(_FIELDS, line.split(), strict=True))
        if have["name"] != name or _other_swap(have, args):
            out.append(line)
            continue
        changed = True
    return "".join(out), changed


def linux_mounts(text: str) -> dict[str, dict[str, str]]:
    """Mount points by path from /proc/self/mountinfo, with the source Ansible sees: a
    mount under another mount is named by its root inside the parent (bind mounts).

    >>> m = linux_mounts("27 1 254:0 / / rw - ext4 /dev/vda rw\\n"
    ...                  "62 27 254:0 /srv/a /srv/b rw - ext4 /dev/vda rw\\n")
    >>> m["/srv/b"]["src"], m["/"]["src"]
    ('/srv/a', '/dev/vda')
    """
    info: dict[int, dict[str, Any]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 7 or not fields[0].isdigit():
            continue
        info[int(fields[0])] = {
            "parent": int(fields[1]), "root": fields[3], "dst": fields[4],
            "opts": fields[5], "fs": fields[-3], "src": fields[-2],
        }  # fmt: skip
    mounts: dict[str, dict[str, str]] = {}
    for mnt in info.values():
        parent = info.get(mnt["parent"]) if mnt["parent"] != 1 else None
        if parent is not None:
            if len(parent["root"]) > 1 and mnt["root"].startswith(parent["root"] + "/"):
                mnt["root"] = mnt["root"][len(parent["root"]) :]
            if parent["dst"] != "/":
                mnt["root"] = parent["dst"] + mnt["root"]
            src = mnt["root"]
        else:
            src = mnt["src"]
        mounts[mnt["dst"]] = {"dst": mnt["dst"], "src": src, "opts": mnt["opts"], "fs": mnt["fs"]}
    return mounts


_PROBE = """f={fstab}; p={path}
if [ {touch} = yes ] && [ ! -e "$f" ]; then
  mkdir -p -- "$(dirname -- "$f")" && : >> "$f" || {{ echo "cannot create $f" >&2; exit 3; }}
fi
echo "{s}point"
if [ -L "$p" ]; then echo link; elif [ -e "$p" ]; then
  echo "$(stat -c '%d %i' -- "$p") $(stat -c '%d %i' -- "$(readlink -f -- "$p/..")")"
else echo absent; fi
echo "{s}mountinfo"; cat /proc/self/mountinfo 2>/dev/null
echo "{s}fstab"; [ -f "$f" ] && cat -- "$f"; exit 0
"""


def _sections(text: str) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines(True):
        if line.startswith(_SECTION):
            current = line[len(_SECTION) :].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {key: "".join(lines) for key, lines in found.items()}


def _is_mount_point(point: str) -> bool:
    """``dev ino parent_dev parent_ino`` -> whether it is a mount point (Ansible's ismount)."""
    words = point.split()
    if len(words) != 4:
        return False
    return words[0] != words[2] or words[1] == words[3]


def _mount_args(args: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The module's view of its arguments (what it returns), as Ansible's builds it."""
    view: dict[str, Any] = {
        "name": need_str(args, "path") or "", "opts": "defaults", "dump": "0", "passno": "0",
        "fstab": "/etc/fstab", "boot": "yes", "backup_file": "",
    }  # fmt: skip
    for key in ("src", "fstype", "passno", "opts", "dump", "fstab"):
        value = need_str(args, key)
        if value is not None:
            view[key] = value
    warnings = []
    opts = view["opts"].split(",")
    boot = as_bool(args.get("boot", True))
    if boot and "noauto" in opts:
        warnings.append("Ignore the 'boot' due to 'opts' contains 'noauto'.")
    elif not boot:
        view["boot"] = "no"
        view["opts"] = ",".join([*opts, "noauto"])
    return view, warnings


def _fstab_opt(view: dict[str, str]) -> str:
    return f" -T {shlex.quote(view['fstab'])}" if view["fstab"] != "/etc/fstab" else ""


def mount(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    state = need_str(args, "state") or ""
    view, warnings = _mount_args(args)
    name = view["name"]
    if state in ("mounted", "present", "ephemeral"):
        missing = [k for k in ("src", "fstype") if not view.get(k)]
        if missing:
            raise ModuleFailure(
                f"state is {state} but all of the following are missing: {', '.join(missing)}"
            )
    done = ctx.shell(
        _PROBE.format(
            fstab=shlex.quote(view["fstab"]), path=shlex.quote(name), s=_SECTION,
            touch="no" if state == "ephemeral" else "yes",
        )
    )  # fmt: skip
    if done.exit_code != 0:
        raise ModuleFailure(done.stderr_text.strip() or f"cannot read {view['fstab']}")
    found = _sections(done.stdout_text)
    point = found.get("point", "").strip()
    mounts = linux_mounts(found.get("mountinfo", ""))
    old = found.get("fstab", "")
    is_point = _is_mount_point(point)
    steps: list[str] = []
    changed = False
    new: str | None = None
    umount = f"umount {shlex.quote(name)}"
    if state in ("absent", "absent_from_fstab"):
        new, changed = unset_line(old, view)
        if state == "absent" and changed:
            if is_point or name in mounts:
                steps.append(
                    f'o=$({umount} 2>&1) || {{ echo "Error unmounting {name}: $o"; exit 1; }}'
                )
            steps.append(
                f"if [ -e {shlex.quote(name)} ]; then o=$(rmdir -- {shlex.quote(name)} 2>&1) || "
                f'{{ echo "Error rmdir {name}: $o"; exit 1; }}; fi'
            )
    elif state == "unmounted":
        if is_point or name in mounts:
            changed = True
            steps.append(f'o=$({umount} 2>&1) || {{ echo "Error unmounting {name}: $o"; exit 1; }}')
    elif state == "present":
        new, changed = set_line(old, view)
    elif state == "remounted":
        changed = True
        steps.append(_remount(view, state, name))
    elif state in ("mounted", "ephemeral"):
        if state == "mounted":
            new, changed = set_line(old, view)
        mounted = is_point or (name in mounts and mounts[name]["src"] == view["src"])
        if mounted and state == "ephemeral":
            if mounts.get(name, {}).get("src") != view["src"]:
                raise ModuleFailure(
                    "Ephemeral mount point is already mounted with a different source than "
                    "the specified one. Failing in order to prevent an unwanted unmount or "
                    'override operation. Try replacing this command with a "state: unmounted" '
                    'followed by a "state: ephemeral", or use a different destination path.'
                )
            changed = True
        if mounted and changed:
            steps.append(_remount(view, state, name))
        elif not mounted:
            changed = True
            steps.append(_mount_cmd(view, state, name))
        steps = [_make_dirs(name), *steps]
    else:
        raise ModuleFailure(f"unexpected state {state!r}")
    result: ModuleResult = {"changed": changed, **view}
    if warnings:
        result["warnings"] = warnings
    if ctx.check_mode or not changed:
        return result
    wrote = new is not None and new != old and changed
    script = ["f=" + shlex.quote(view["fstab"]), "created="]
    if wrote and as_bool(args.get("backup")):
        script.append(
            'b="$f.$$.$(date +%Y-%m-%d@%H:%M:%S)~"; cp -p -- "$f" "$b" || exit 2; echo "backup $b"'
        )
    if wrote:
        script.append(f'printf %s {shlex.quote(new or "")} > "$f" || exit 2')
    if steps:
        undo = f'printf %s {shlex.quote(old)} > "$f"; ' if wrote and state == "mounted" else ""
        verb = "Error remounting" if state == "remounted" else "Error mounting"
        script.append(
            "fail() { " + undo + 'for d in $created; do rmdir -- "$d"; done; '
            f'echo "{verb} {name}: $1"; exit 1; }}'
        )
        script.extend(steps)
    done = ctx.shell("\n".join(script))
    said = done.stdout_text.splitlines()
    if done.exit_code != 0:
        raise ModuleFailure(said[-1] if said else done.stderr_text.strip() or "mount failed")
    for line in said:
        if line.startswith("backup "):
            result["backup_file"] = line[len("backup ") :]
    return result


def _make_dirs(name: str) -> str:
    """Each missing folder of the mount point, remembered so a failed mount removes them."""
    parts = [p for p in name.strip("/").split("/") if p]
    lead = "/" if name.startswith("/") else ""
    lines = []
    for i in range(len(parts)):
        q = shlex.quote(lead + "/".join(parts[: i + 1]))
        lines.append(
            f'if [ ! -e {q} ]; then o=$(mkdir -- {q} 2>&1) || {{ echo "Error making dir {name}: $o"; exit 1; }}; created="{q} $created"; fi'
        )
    return "\n".join(lines)


def _mount_cmd(view: dict[str, str], state: str, name: str) -> str:
    if state == "ephemeral":
        opts = f" -o {shlex.quote(view['opts'])}" if view["opts"] != "defaults" else ""
        how = f" -t {shlex.quote(view['fstype'])}{opts} {shlex.quote(view['src'])}"
    else:
        how = _fstab_opt(view)
    return f'o=$(mount{how} {shlex.quote(name)} 2>&1) || fail "$o"'


def _remount(view: dict[str, str], state: str, name: str) -> str:
    """``mount -o remount``; when that fails, umount and mount again (not when options
    were asked for with remounted: Ansible fails then, rather than guess)."""
    opts = "remount"
    if state == "remounted" and view["opts"] != "defaults":
        opts += "," + view["opts"]
    if state == "ephemeral":
        extra = f" -o {shlex.quote(view['opts'])}" if view["opts"] != "defaults" else ""
        how = f" -t {shlex.quote(view['fstype'])}{extra} {shlex.quote(view['src'])}"
    else:
        how = _fstab_opt(view)
    again = _mount_cmd(view, state, name)
    if state == "remounted" and view["opts"] != "defaults":
        fallback = (
            '{ echo "Options were specified with remounted, but the remount command failed. '
            "Failing in order to prevent an unexpected mount result. Try replacing this "
            'command with a \\"state: unmounted\\" followed by a \\"state: mounted\\" using '
            'the full desired mount options instead."; exit 1; }'
        )
    else:
        fallback = f'{{ o=$(umount {shlex.quote(name)} 2>&1) || fail "$o"; {again}; }}'
    return f"mount -o {shlex.quote(opts)}{how} {shlex.quote(name)} >/dev/null 2>&1 || {fallback}"
