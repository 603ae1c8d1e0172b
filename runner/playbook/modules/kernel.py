"""sysctl: one kernel setting in a sysctl file (and, with ``sysctl_set``, in the running
kernel), as ansible.posix.sysctl does it: the file is rewritten with each key once
(``key=value``, lines stripped, comments kept), and ``reload`` runs ``sysctl -p FILE``
when something changed (or the running value differs from the file's).

One round trip reads the running value and the file; the decision is made here
(:func:`plan`, pure); one more does the writing, setting and reloading, only when there
is something to do. ``sysctl`` is found on the task's PATH (the tests put a recording
stand-in there).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)

_TRUE = frozenset({"y", "yes", "on", "1", "true", "t"})
_FALSE = frozenset({"n", "no", "off", "0", "false", "f"})
_MARK = "--runner-sysctl--"
_ERRORS = ('sysctl: setting key "', ": Invalid argument", ": Read-only file system")


def sysctl_value(value: Any) -> str:
    """The value as written: booleans (and their words) as 1/0, text stripped.

    >>> [sysctl_value(v) for v in (True, "off", " 4096  87380 ", 2, None)]
    ['1', '0', '4096  87380', '2', '']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    if text.lower() in _TRUE:
        return "1"
    if text.lower() in _FALSE:
        return "0"
    return text.strip()


def read_file_values(text: str) -> tuple[list[str], dict[str, str]]:
    """The file's lines (stripped) and its ``key=value`` settings (the last one wins).

    >>> read_file_values("# c\\n vm.swappiness = 10 \\nbad line\\n")
    (['# c', 'vm.swappiness = 10', 'bad line'], {'vm.swappiness': '10'})
    """
    lines, values = [], {}
    for raw in text.splitlines():
        line = raw.strip()
        lines.append(line)
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return lines, values


def fixed_lines(lines: list[str], name: str, value: str, present: bool) -> str:
    """The file rewritten: each key once as ``key=value`` (the first place it was), ``name``
    set (or dropped when absent), other lines kept.

    >>> fixed_lines(["# c", "a = 1", "b=2", "a=3"], "b", "5", True)
    '# c\\na=1\\nb=5\\n'
    >>> fixed_lines(["a=1"], "c", "x y", True)
    'a=1\\nc=x y\\n'
    """
    seen: set[str] = set()
    out: list[str] = []
    for line in lines:
        if not line or line.startswith(("#", ";")) or "=" not in line:
            out.append(line)
            continue
        key, current = (part.strip() for part in line.split("=", 1))
        if key in seen:
            continue
        seen.add(key)
        if key == name:
            if present:
                out.append(f"{key}={value}")
        else:
            out.append(f"{key}={current}")
    if name not in seen and present:
        out.append(f"{name}={value}")
    return "".join(line.strip() + "\n" for line in out)


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.split() == b.split()


@dataclass(frozen=True)
class Plan:
    changed: bool
    write_file: bool
    set_running: bool


def plan(
    running: str | None, in_file: str | None, value: str, *, present: bool, reload: bool,
    sysctl_set: bool,
) -> Plan:  # fmt: skip
    """What to do, decided as ansible.posix.sysctl decides (``running``: the kernel's value,
    None when sysctl could not read it; ``in_file``: the file's, None when not there).

    >>> plan("0", "0", "1", present=True, reload=False, sysctl_set=False)
    Plan(changed=True, write_file=True, set_running=False)
    >>> plan("0", "1", "1", present=True, reload=True, sysctl_set=False)
    Plan(changed=True, write_file=False, set_running=False)
    >>> plan("1", "1", "1", present=True, reload=True, sysctl_set=True)
    Plan(changed=False, write_file=False, set_running=False)
    """
    changed = write = set_running = False
    if in_file is None:
        changed = write = present
    elif (in_file and not present) or in_file != value:
        changed = write = True
    elif reload and not _same(running, value):
        changed = True
    if sysctl_set and present and not _same(running, value):
        changed = True
        set_running = running is not None
    return Plan(changed, write, set_running)


def sysctl(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    name = (need_str(args, "name") or "").strip()
    state = need_str(args, "state") or "present"
    present = state == "present"
    if not name:
        raise ModuleFailure("name cannot be blank")
    if present and args.get("value") is None:
        raise ModuleFailure("value cannot be None")
    value = sysctl_value(args.get("value"))
    if present and value == "":
        raise ModuleFailure("value cannot be blank")
    path = need_str(args, "sysctl_file") or "/etc/sysctl.conf"
    reload = as_bool(args.get("reload", True))
    sysctl_set = as_bool(args.get("sysctl_set"))
    ignore = as_bool(args.get("ignoreerrors"))
    q_path = shlex.quote(path)
    read = (
        "export LANG=C LC_ALL=C LC_MESSAGES=C; "
        "command -v sysctl >/dev/null || { echo 'no sysctl' >&2; exit 127; }; "
        f'sysctl -e -n {shlex.quote(name)} 2>/dev/null; r=$?; echo; echo "{_MARK} $r"; '
        f"[ -f {q_path} ] && exec cat -- {q_path}; exit 0"
    )
    done = ctx.shell(read)
    if done.exit_code == 127:
        raise ModuleFailure('Failed to find required executable "sysctl" in paths')
    head, found, text = done.stdout_text.partition(f"{_MARK} ")
    rc, _, text = text.partition("\n")
    if done.exit_code != 0 or not found:
        raise ModuleFailure(f"cannot read {path}: {done.stderr_text.strip()}")
    running = head[:-1] if rc.strip() == "0" else None
    lines, values = read_file_values(text)
    todo = plan(
        running, values.get(name), value, present=present, reload=reload, sysctl_set=sysctl_set
    )
    if ctx.check_mode or not todo.changed:
        return {"changed": todo.changed}
    steps = ["export LANG=C LC_ALL=C LC_MESSAGES=C"]
    if todo.set_running:
        # Ansible quotes a value with spaces, then splits the line as a shell would: the
        # argument sysctl gets is NAME=VALUE, as here.
        steps.append(
            f"sysctl {'-e ' if ignore else ''}-w {shlex.quote(f'{name}={value}')} "
            "|| { echo 'setting failed' >&2; exit 3; }"
        )
    if todo.write_file:
        new = fixed_lines(lines, name, value, present)
        steps.append(
            f'r=$(readlink -f -- {q_path} || printf %s {q_path}); t="$r.runner-$$.tmp"; '
            'printf %s "$1" > "$t" && { [ ! -e "$r" ] || chmod --reference="$r" "$t"; } && '
            'mv -f -- "$t" "$r" || { rm -f -- "$t"; exit 4; }'
        )
        steps[-1] = steps[-1].replace('"$1"', shlex.quote(new))
    if reload:
        steps.append(f"sysctl {'-e ' if ignore else ''}-p {q_path} || exit 5")
    done = ctx.shell("\n".join(steps))
    err = done.stderr_text
    failed_line = any(
        line.startswith(_ERRORS[0]) and line.endswith(_ERRORS[1:]) for line in err.splitlines()
    )
    if done.exit_code == 3 or (todo.set_running and failed_line and done.exit_code != 5):
        raise ModuleFailure(f"setting {name} failed: {done.stdout_text}{err}")
    if done.exit_code == 4:
        raise ModuleFailure(f"Failed to write to file {path}: {err.strip()}")
    if done.exit_code != 0 or failed_line:
        raise ModuleFailure(f"Failed to reload sysctl: {done.stdout_text}{err}")
    return {"changed": True}
