"""pip natively: the host's pip, run as ansible-core's pip module runs it, in one round trip
(the virtualenv made first when it has no ``bin/activate``).

As ansible-core: ``changed`` is pip's own "Successfully installed" / "Successfully
uninstalled" (for a requirements file, the ``pip list --format=freeze`` before and after
differ), or a virtualenv was made; check mode compares that list with the names asked for
(and reports a change without looking for ``extra_args``, ``requirements`` or
``state: latest``). Registered keys: ``cmd``, ``name``, ``version``, ``state``,
``requirements``, ``virtualenv``, ``stdout``, ``stderr``.
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
from runner.playbook.modules.pipversions import (
    has_specifier,
    package_name,
    requirement,
    satisfied,
)

MARK = "@@pip:"
STATES = {
    "present": ["install"],
    "absent": ["uninstall", "-y"],
    "latest": ["install", "-U"],
    "forcereinstall": ["install", "-U", "--force-reinstall"],
}
_OPERATOR = re.compile(r"^\s*[<>=!~]")


def recover_names(value: Any) -> list[str]:
    """``name`` as a list, with the pieces a comma split out of a version specifier joined
    back (``"a>=1,<2"`` is one package), as ansible-core does.

    >>> recover_names("django>1.11.0,<1.12.0, bottle")
    ['django>1.11.0,<1.12.0', 'bottle']
    """
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    names: list[str] = []
    for item in (str(i).strip() for i in items):
        if names and _OPERATOR.match(item):
            names[-1] = f"{names[-1]},{item}"
        elif item:
            names.append(item)
    return names


def _is_venv_command(command: str) -> bool:
    words = shlex.split(command)
    return any(os.path.basename(w) == "pyvenv" for w in words[:1]) or "-m venv" in " ".join(words)


def _python(ctx: ModuleContext) -> str:
    """The interpreter ansible-core's module would run under (its sys.executable)."""
    value = ctx.variables.get("ansible_python_interpreter")
    return str(value) if value else "python3"


def _venv_step(args: dict[str, Any], env: str) -> str:
    command = need_str(args, "virtualenv_command") or "virtualenv"
    words = shlex.split(command)
    if as_bool(args.get("virtualenv_site_packages")):
        words.append("--system-site-packages")
    wanted = need_str(args, "virtualenv_python")
    if _is_venv_command(command):
        if wanted:
            raise ModuleFailure(
                "virtualenv_python should not be used when using the venv module or pyvenv as "
                "virtualenv_command"
            )
    else:
        words.append(f"-p{wanted}" if wanted else '-p"$py"')
    line = " ".join(w if w == '-p"$py"' else shlex.quote(w) for w in words)
    return (
        f'if [ ! -e {shlex.quote(env)}/bin/activate ]; then echo "{MARK}venv"; '
        f"{line} {shlex.quote(env)} >$o 2>$e; rc=$?; cat $o; cat $e >&2; "
        f'if [ $rc != 0 ]; then echo "{MARK}venv-failed {line} {env}"; exit 0; fi; fi'
    )


def _pip_step(args: dict[str, Any], env: str | None) -> str:
    """Sets $pip to the pip ansible-core would pick (as words), or says none was found."""
    executable = need_str(args, "executable")
    if executable is not None:
        if os.path.isabs(executable):
            return f"pip={shlex.quote(executable)}"
        return (
            f"pip=$(command -v {shlex.quote(executable)}) || "
            f'{{ echo "{MARK}nopip Unable to find any of {executable} to use.  pip needs to be '
            'installed."; exit 0; }'
        )
    if env is not None:
        bin_dir = shlex.quote(os.path.join(env, "bin"))
        return (
            f"if [ -x {bin_dir}/pip3 ]; then pip={bin_dir}/pip3; "
            f"elif [ -x {bin_dir}/pip ]; then pip={bin_dir}/pip; else "
            f'echo "{MARK}nopip Unable to find pip in the virtualenv, {env}, under any of '
            'these names: pip3, pip. Make sure pip is present in the virtualenv."; exit 0; fi'
        )
    return (
        'if "$py" -c "import pip" >/dev/null 2>&1; then pip="$py -m pip"; '
        "else pip=$(command -v pip3) || "
        f'{{ echo "{MARK}nopip Unable to find any of pip3 to use.  pip needs to be installed."; '
        "exit 0; }; fi"
    )


_FREEZE = (
    "LC_ALL=C LANG=C $pip list --format=freeze >$o 2>$e || "
    "{ echo pip-freeze >$e.cmd; $pip freeze >$o 2>$e; }"
)


def pip(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    state = need_str(args, "state") or "present"
    if state not in STATES:
        raise ModuleFailure(f"state must be one of: {', '.join(STATES)} (got {state!r})")
    names = recover_names(args.get("name"))
    version = need_str(args, "version")
    requirements = need_str(args, "requirements")
    extra = need_str(args, "extra_args")
    chdir = need_str(args, "chdir")
    env = need_str(args, "virtualenv")
    if state == "latest" and version is not None:
        raise ModuleFailure("version is incompatible with state=latest")
    if version is not None and len(names) > 1:
        raise ModuleFailure(
            "'version' argument is ambiguous when installing multiple package distributions. "
            "Please specify version restrictions next to each package in 'name' argument."
        )
    packages = [requirement(n) for n in names]
    if version is not None and packages:
        if has_specifier(packages[0]):
            raise ModuleFailure(
                "The 'version' argument conflicts with any version specifier provided along "
                "with a package name. Please keep the version specifier, but remove the "
                "'version' argument."
            )
        sep = "==" if version.lstrip()[:1].isdigit() else ""
        packages[0] = requirement(f"{packages[0]}{sep}{version.lstrip()}")
    if env and chdir:
        env = os.path.join(chdir, env)
    words = list(STATES[state])
    extra_words = shlex.split(extra) if extra else []
    if as_bool(args.get("editable")) and "-e" not in extra_words:
        extra_words.append("-e")
    words += extra_words
    if names:
        words += packages
    elif requirements:
        words += ["-r", requirements]
    if ctx.check_mode and (extra or requirements or state == "latest" or not names):
        return {"changed": True}
    steps = ["o=$(mktemp); e=$(mktemp); trap 'rm -f $o $e $e.cmd' EXIT"]
    if args.get("umask") is not None:
        steps.append(f"umask {shlex.quote(str(args['umask']))} || exit 3")
    steps.append(f"cd {shlex.quote(chdir or '/tmp')} || exit 4")
    python = _python(ctx)
    steps.append(f"py=$(command -v {shlex.quote(python)}) || py={shlex.quote(python)}")
    if env:
        if ctx.check_mode:
            steps.append(
                f'[ -e {shlex.quote(env)}/bin/activate ] || {{ echo "{MARK}venv"; exit 0; }}'
            )
        else:
            steps.append(_venv_step(args, env))
    steps.append(_pip_step(args, env))
    if as_bool(args.get("break_system_packages")):
        steps.append("export PIP_BREAK_SYSTEM_PACKAGES=1")
    if env:
        steps.append(f"PATH={shlex.quote(os.path.join(env, 'bin'))}:$PATH; export PATH")
    steps.append(f'echo "{MARK}pip $pip"')
    compare_freeze = bool(requirements) and not names
    if ctx.check_mode or compare_freeze:
        steps.append(f'{_FREEZE}; echo "{MARK}freeze"; cat $o; echo "{MARK}freeze-end"')
        steps.append(f'[ -e $e.cmd ] && echo "{MARK}freeze-cmd"')
    if not ctx.check_mode:
        quoted = " ".join(shlex.quote(w) for w in words)
        steps.append(
            f'$pip {quoted} >$o 2>$e; rc=$?; echo "{MARK}rc $rc"; echo "{MARK}out"; cat $o; '
            f'echo "{MARK}err"; cat $e; echo "{MARK}end"'
        )
        if compare_freeze:
            steps.append(f'{_FREEZE}; echo "{MARK}after"; cat $o; echo "{MARK}after-end"')
    done = ctx.shell("\n".join(steps))
    return _answer(ctx, done.stdout_text, done.stderr_text, args, state, names, packages,
                   version, requirements, env, words)  # fmt: skip


def _part(text: str, start: str, end: str) -> str:
    rest = text.partition(f"{MARK}{start}\n")[2]
    return rest.partition(f"{MARK}{end}")[0]


def _answer(
    ctx: ModuleContext,
    text: str,
    errors: str,
    args: dict[str, Any],
    state: str,
    names: list[str],
    packages: list[str],
    version: str | None,
    requirements: str | None,
    env: str | None,
    words: list[str],
) -> ModuleResult:
    lines = text.splitlines()
    marks = {
        line[len(MARK) :].partition(" ")[0]: line[len(MARK) :].partition(" ")[2]
        for line in lines
        if line.startswith(MARK)
    }
    if "venv-failed" in marks:
        out = text.partition(f"{MARK}venv\n")[2].partition(f"{MARK}venv-failed")[0]
        raise ModuleFailure(
            f"stdout: {out}\n:stderr: {errors}", cmd=shlex.split(marks["venv-failed"])
        )
    if "nopip" in marks:
        raise ModuleFailure(marks["nopip"])
    if "pip" not in marks:
        raise ModuleFailure(f"cannot run pip: {errors.strip() or text.strip()}")
    if ctx.check_mode and "venv" in marks:
        return {"changed": True}
    pip_words = shlex.split(marks["pip"])
    venv_out = (
        text.partition(f"{MARK}venv\n")[2].partition(f"{MARK}pip ")[0] if "venv" in marks else ""
    )
    if ctx.check_mode:
        freeze = _part(text, "freeze", "freeze-end")
        command = " ".join(
            pip_words + (["freeze"] if "freeze-cmd" in marks else ["list", "--format=freeze"])
        )
        listed = [
            p
            for p in freeze.split("\n")
            if p and not p.startswith(("You are using", "You should consider"))
        ]
        changed = any(
            (state == "present") != _is_present(package, listed) and state in ("present", "absent")
            for package in packages
        )
        return {"changed": changed, "cmd": command, "stdout": freeze, "stderr": ""}
    rc = int(marks.get("rc", "1") or 1)
    out = venv_out + _part(text, "out", "err")
    err = _part(text, "err", "end")
    cmd = pip_words + words
    if rc != 0 and not (rc == 1 and state == "absent" and "not installed" in out + err):
        message = (f"stdout: {out}" if out else "") + (f"\n:stderr: {err}" if err else "")
        raise ModuleFailure(message, cmd=cmd)
    if state == "absent":
        changed = "Successfully uninstalled" in out
    elif requirements and not names:
        changed = _part(text, "freeze", "freeze-end") != _part(text, "after", "after-end")
    else:
        changed = "Successfully installed" in out
    return {
        "changed": changed or "venv" in marks,
        "cmd": cmd,
        "name": names or None,
        "version": version,
        "state": state,
        "requirements": requirements,
        "virtualenv": env,
        "stdout": out,
        "stderr": err,
    }


def _is_present(package: str, listed: list[str]) -> bool:
    """Whether ``pip list --format=freeze`` lines satisfy one requirement."""
    wanted = package_name(package)
    for line in listed:
        if "==" not in line:
            continue
        name, _, version = line.partition("==")
        if re.sub(r"[-_.]+", "-", name).lower() == wanted and satisfied(package, version):
            return True
    return False
