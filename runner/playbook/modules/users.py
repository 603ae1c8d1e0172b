"""Account modules: user and group (useradd/usermod/userdel, groupadd/groupmod/groupdel).

Two round trips: a probe reads the passwd/shadow entry, the groups the user is listed in
and the groups named; Python decides as Ansible's user/group modules decide; one script
runs the one command needed and reads the entry again for the registered result
(``uid``, ``group``, ``home``, ``shell``, ``comment``...). Nothing runs in --check.
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
from runner.playbook.modules.services import MARK, parse_sections


def parse_passwd(line: str) -> list[str] | None:
    """``name:x:uid:gid:gecos:home:shell`` -> its fields, None when absent.

    >>> parse_passwd("app:x:1001:1001:App:/home/app:/bin/sh")
    ['app', 'x', '1001', '1001', 'App', '/home/app', '/bin/sh']
    """
    fields = line.strip().split(":")
    return fields if len(fields) >= 7 else None


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _user_probe(name: str, groups: list[str]) -> str:
    q = shlex.quote(name)
    lines = [
        f'echo "{MARK}passwd $(getent passwd {q})"',
        f'echo "{MARK}shadow $(getent shadow {q} | cut -d: -f2)"',
        f'echo "{MARK}own-group $(getent group {q} | cut -d: -f3)"',
        f'echo "{MARK}member-of"; getent group | awk -F: -v u={q} '
        "'{n=split($4,m,\",\"); for(i=1;i<=n;i++) if(m[i]==u) print $1}'",
        f'echo "{MARK}end"',
        f'h=$(getent passwd {q} | cut -d: -f6); [ -n "$h" ] && [ -d "$h" ] && echo "{MARK}home-exists yes"',
    ]
    for group in groups:
        g = shlex.quote(group)
        lines.append(f'echo "{MARK}group-{group} $(getent group {g} | cut -d: -f1,3)"')
    return "; ".join(lines) + "; true"


def _group_ref(sections: dict[str, str], group: str) -> tuple[str, str] | None:
    """(name, gid) of a group named or numbered ``group``, None when it does not exist."""
    found = sections.get(f"group-{group}", "")
    if ":" not in found:
        return None
    gname, _, gid = found.partition(":")
    return gname, gid


def user(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    name = need_str(args, "name") or ""
    state = need_str(args, "state") or "present"
    groups_arg = args.get("groups")
    groups = _list(groups_arg)
    primary = need_str(args, "group")
    probe = ctx.shell(_user_probe(name, groups + ([primary] if primary else [])), env=False)
    sections = parse_sections(probe.stdout_text)
    entry = parse_passwd(sections.get("passwd", ""))
    result: ModuleResult = {"name": name, "state": state}
    if state == "absent":
        if entry is None:
            return {**result, "changed": False}
        if ctx.check_mode:
            return {"changed": True}
        words = ["userdel"]
        if as_bool(args.get("force")):
            words.append("-f")
        if as_bool(args.get("remove")):
            words.append("-r")
        _run(ctx, [*words, name], name)
        result.update(
            changed=True, force=as_bool(args.get("force")), remove=as_bool(args.get("remove"))
        )
        return result
    for group in groups + ([primary] if primary else []):
        if _group_ref(sections, group) is None:
            raise ModuleFailure(f"Group {group} does not exist")
    create_home = as_bool(args.get("create_home", True))
    password = need_str(args, "password")
    command: list[str] | None = None
    if entry is None:
        if ctx.check_mode:
            return {"changed": True}
        command = _useradd(args, name, groups, sections, create_home)
        result["system"] = as_bool(args.get("system"))
        result["create_home"] = create_home
    else:
        command = _usermod(args, name, entry, groups, sections)
        result["append"] = as_bool(args.get("append"))
        result["move_home"] = as_bool(args.get("move_home"))
    changed = command is not None
    out = err = ""
    if command is not None and not ctx.check_mode:
        out, err, entry = _run(ctx, command, name)
    if password is not None:
        result["password"] = "NOT_LOGGING_PASSWORD"
    if entry is not None:
        home = need_str(args, "home") or entry[5]
        result.update(
            uid=int(entry[2]), group=int(entry[3]), comment=entry[4], home=entry[5], shell=entry[6]
        )
        if groups_arg is not None:
            result["groups"] = ",".join(groups)
        if create_home and sections.get("home-exists") != "yes" and not _home_exists(ctx, home):
            changed = True
            if not ctx.check_mode:
                _make_home(ctx, home, entry)
    result["changed"] = changed
    if out:
        result["stdout"] = out
    if err:
        result["stderr"] = err
    return result


def _useradd(
    args: dict[str, Any], name: str, groups: list[str], sections: dict[str, str], create_home: bool
) -> list[str]:
    cmd = ["useradd"]
    if args.get("uid") is not None:
        cmd += ["-u", str(args["uid"])] + (["-o"] if as_bool(args.get("non_unique")) else [])
    primary = need_str(args, "group")
    if primary is not None:
        cmd += ["-g", primary]
    elif sections.get("own-group"):
        cmd.append("-N")  # a group of that name exists: do not make another
    if groups:
        cmd += ["-G", ",".join(_group_ref(sections, g)[0] for g in groups)]  # type: ignore[index]
    for key, flag in (("comment", "-c"), ("home", "-d"), ("shell", "-s"), ("password", "-p")):
        value = need_str(args, key)
        if value is not None:
            cmd += [flag, value]
    if create_home:
        cmd.append("-m")
        if args.get("skeleton"):
            cmd += ["-k", str(args["skeleton"])]
    else:
        cmd.append("-M")
    if as_bool(args.get("system")):
        cmd.append("-r")
    return [*cmd, name]


def _usermod(
    args: dict[str, Any],
    name: str,
    entry: list[str],
    groups: list[str],
    sections: dict[str, str],
) -> list[str] | None:
    cmd = ["usermod"]
    if args.get("uid") is not None and entry[2] != str(int(args["uid"])):
        cmd += ["-u", str(args["uid"])] + (["-o"] if as_bool(args.get("non_unique")) else [])
    primary = need_str(args, "group")
    if primary is not None:
        ref = _group_ref(sections, primary)
        if ref is not None and ref[1] != entry[3]:
            cmd += ["-g", ref[1]]
    if args.get("groups") is not None:
        current = set(sections.get("member-of", "").split())
        wanted = {_group_ref(sections, g)[0] for g in groups}  # type: ignore[index]
        append = as_bool(args.get("append"))
        if not groups:
            if current and not append:
                cmd += ["-G", ""]
        elif current ^ wanted and (not append or wanted - current):
            cmd += (["-a"] if append else []) + ["-G", ",".join(sorted(wanted))]
    for key, index, flag in (("comment", 4, "-c"), ("home", 5, "-d"), ("shell", 6, "-s")):
        value = need_str(args, key)
        if value is not None and entry[index] != value:
            cmd += [flag, value]
            if key == "home" and as_bool(args.get("move_home")):
                cmd.append("-m")
    shadow = sections.get("shadow", "")
    lock = args.get("password_lock")
    if lock is not None and as_bool(lock) and not shadow.startswith("!"):
        cmd.append("-L")
    elif lock is not None and not as_bool(lock) and shadow.startswith("!"):
        cmd.append("-U")
    password = need_str(args, "password")
    always = (need_str(args, "update_password") or "always") == "always"
    if always and password is not None and shadow.lstrip("!") != password.lstrip("!"):
        cmd = [c for c in cmd if c not in ("-L", "-U")]
        cmd += ["-p", f"!{password}" if lock is not None and as_bool(lock) else password]
    return [*cmd, name] if len(cmd) > 1 else None


def _run(ctx: ModuleContext, command: list[str], name: str) -> tuple[str, str, list[str] | None]:
    """Run one account command; then the user's passwd entry again."""
    script = (
        f"{shlex.join(command)}; rc=$?; [ $rc = 0 ] || exit $rc; "
        f'echo "{MARK}passwd $(getent passwd {shlex.quote(name)})"'
    )
    done = ctx.shell(script, env=False)
    if done.exit_code != 0:
        raise ModuleFailure(
            done.stderr_text.strip() or f"{command[0]} failed", name=name, rc=done.exit_code
        )
    text = done.stdout_text
    out = text[: text.find(MARK)] if MARK in text else text
    return out, done.stderr_text, parse_passwd(parse_sections(text).get("passwd", ""))


def _home_exists(ctx: ModuleContext, home: str) -> bool:
    return ctx.shell(f"test -d {shlex.quote(home)}", env=False).exit_code == 0


def _make_home(ctx: ModuleContext, home: str, entry: list[str]) -> None:
    q = shlex.quote(home)
    done = ctx.shell(
        f"mkdir -p {q} && cp -a /etc/skel/. {q} 2>/dev/null; chown -R {entry[2]}:{entry[3]} {q}",
        env=False,
    )
    if done.exit_code != 0:
        raise ModuleFailure(f"cannot create home {home}: {done.stderr_text.strip()}")


def group(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    name = need_str(args, "name") or ""
    state = need_str(args, "state") or "present"
    q = shlex.quote(name)
    found = ctx.shell(f"getent group {q} | cut -d: -f1,3", env=False).stdout_text.strip()
    exists = ":" in found
    gid = found.partition(":")[2] if exists else None
    result: ModuleResult = {"name": name, "state": state}
    command: list[str] | None = None
    wanted_gid = None if args.get("gid") is None else str(int(args["gid"]))
    unique = [] if not as_bool(args.get("non_unique")) else ["-o"]
    if state == "absent":
        if exists:
            command = ["groupdel", *(["-f"] if as_bool(args.get("force")) else []), name]
    elif not exists:
        command = ["groupadd"]
        if wanted_gid is not None:
            command += ["-g", wanted_gid, *unique]
        if as_bool(args.get("system")):
            command.append("-r")
        command.append(name)
    elif wanted_gid is not None and wanted_gid != gid:
        command = ["groupmod", "-g", wanted_gid, *unique, name]
    if command is not None and ctx.check_mode and (state == "absent" or not exists):
        return {"changed": True}
    if command is not None and not ctx.check_mode:
        done = ctx.shell(f"{shlex.join(command)} && getent group {q} | cut -d: -f1,3", env=False)
        if done.exit_code != 0:
            raise ModuleFailure(done.stderr_text.strip() or f"{command[0]} failed", name=name)
        lines = done.stdout_text.strip().splitlines()
        found = lines[-1] if lines else ""
        exists = state != "absent" and ":" in found
        gid = found.partition(":")[2] if exists else None
    result["changed"] = command is not None
    if exists and state != "absent":
        result["system"] = as_bool(args.get("system"))
        result["gid"] = int(gid or 0)
    return result
