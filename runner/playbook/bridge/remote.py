"""The target's half of the bridge and the parsing of what it answers.

One command per host and task: ``PYTHON -c WRAPPER`` (or, when the interpreter is not
known yet, a shell loop that finds it as Ansible's ``auto`` discovery does and execs it),
with the payload on stdin: a JSON header line, the zip, the module's parameters. The
wrapper writes the zip to a private temporary directory, puts it first on sys.path and
runs the module as ``__main__`` the way ansible-core's own loader does (its
``_loader.run_module`` where the packed ansible-core has one, ``basic._ANSIBLE_ARGS`` +
``runpy`` for older ones); the module prints its JSON result and exits.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
from collections.abc import Mapping
from typing import Any

#: Python run on the target; it reads everything it needs from stdin.
WRAPPER = r"""
import json, os, shutil, sys, tempfile
def _run():
    data = sys.stdin.buffer.read()
    head, _, rest = data.partition(b"\n")
    meta = json.loads(head.decode())
    size = meta["zip"]
    payload, params = rest[:size], json.loads(rest[size:])
    try:
        os.getcwd()
    except OSError:
        try:
            os.chdir(os.path.expanduser("~"))
        except OSError:
            os.chdir("/")
    sys.path = [p for p in sys.path if p not in ("", ".")]
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="runner_bridge_"))
    try:
        path = os.path.join(tmp, "payload.zip")
        with open(path, "wb") as fh:
            fh.write(payload)
        sys.path.insert(0, path)
        args = params["ANSIBLE_MODULE_ARGS"]
        if "_ansible_tmpdir" in args and args["_ansible_tmpdir"] is None:
            args["_ansible_tmpdir"] = tmp
        params = json.dumps(params).encode()
        sys.stdin = open(os.devnull)
        try:
            from ansible.module_utils._internal._ansiballz import _loader
        except ImportError:
            _loader = None
        if _loader is not None and hasattr(_loader, "run_module"):
            _loader.run_module(json_params=params, profile=meta["profile"],
                               module_fqn=meta["fqn"], modlib_path=path, extensions={})
        else:
            import runpy
            from ansible.module_utils import basic
            basic._ANSIBLE_ARGS = params
            runpy.run_module(meta["fqn"], init_globals={"_module_fqn": meta["fqn"],
                             "_modlib_path": path}, run_name="__main__", alter_sys=True)
        raise SystemExit("the module did not print a result")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
_run()
"""

#: Ansible's INTERPRETER_PYTHON_FALLBACK (ansible-core 2.19): tried in order.
FALLBACK = (
    "python3.13", "python3.12", "python3.11", "python3.10", "python3.9", "python3.8",
    "/usr/bin/python3", "python3",
)  # fmt: skip
FOUND = "__RUNNER_PYTHON__="

#: The internal parameters runner gives a module, by ansible-core's PASS_VARS name;
#: each is sent only when the installed basic.py knows it (an unknown one fails the module).
INTERNAL: dict[str, Any] = {
    "check_mode": False, "debug": False, "diff": False, "keep_remote_files": False,
    "ignore_unknown_opts": False, "module_name": None, "no_log": False,
    "remote_tmp": "~/.ansible/tmp", "target_log_info": None,
    "selinux_special_fs": ["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"],
    "shell_executable": "/bin/sh", "socket": None, "syslog_facility": "LOG_USER",
    "tmpdir": None, "tracebacks_for": [], "verbosity": 0, "version": "0.0",
    "string_conversion_action": "warn",
}  # fmt: skip
_OLDEST = frozenset(
    {
        "check_mode", "debug", "diff", "keep_remote_files", "module_name", "no_log",
        "remote_tmp", "selinux_special_fs", "shell_executable", "socket", "syslog_facility",
        "tmpdir", "verbosity", "version",
    }
)  # fmt: skip


def pass_vars(ansible_dir: str | None) -> frozenset[str]:
    """The ``_ansible_*`` names the installed module_utils accept: the keys of PASS_VARS
    in common/parameters.py (or basic.py before 2.11), read with ``ast``."""
    for rel in (("common", "parameters.py"), ("basic.py",)):
        path = os.path.join(ansible_dir or "", "module_utils", *rel)
        try:
            with open(path, "rb") as fh:
                tree = ast.parse(fh.read())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if (
                isinstance(target, ast.Name)
                and target.id == "PASS_VARS"
                and isinstance(value, ast.Dict)
            ):
                keys = {k.value for k in value.keys if isinstance(k, ast.Constant)}
                return frozenset(str(k) for k in keys)
    return _OLDEST


def module_params(
    args: Mapping[str, Any], accepted: frozenset[str], **internal: Any
) -> dict[str, Any]:
    """``{"ANSIBLE_MODULE_ARGS": ...}``: the task's arguments and the internal ones."""
    params = dict(args)
    for name, default in INTERNAL.items():
        if name in accepted:
            params[f"_ansible_{name}"] = internal.get(name, default)
    return {"ANSIBLE_MODULE_ARGS": params}


def stdin_for(zip_data: bytes, python_name: str, params: Mapping[str, Any]) -> bytes:
    head = json.dumps({"zip": len(zip_data), "fqn": python_name, "profile": "legacy"})
    return head.encode() + b"\n" + zip_data + json.dumps(params, default=str).encode()


def command_for(interpreter: str | None, fallback: tuple[str, ...] = FALLBACK) -> str:
    """The shell text that runs the wrapper: with ``interpreter`` as is; without, the
    first of ``fallback`` that ``command -v`` finds, said on a marker line first."""
    run = f"-c {shlex.quote(WRAPPER)}"
    if interpreter:
        return f"{interpreter} {run}"
    names = " ".join(shlex.quote(p) for p in fallback)
    return (
        f'for p in {names}; do q=$(command -v "$p" 2>/dev/null) || continue; '
        f'case "$q" in /*) echo "{FOUND}$q"; exec "$q" {run};; esac; done; '
        "echo 'no Python interpreter found on the host (tried: " + " ".join(fallback) + ")' >&2; "
        "exit 127"
    )


def split_found(stdout: str) -> tuple[str | None, str]:
    """(the discovered interpreter, the rest of stdout)."""
    if stdout.startswith(FOUND):
        line, _, rest = stdout.partition("\n")
        return line[len(FOUND) :].strip(), rest
    return None, stdout


def json_part(text: str) -> str:
    """The JSON object in a module's output, without the lines before the first one that
    starts with ``{`` and after the last one that ends with ``}`` (a MOTD, a warning
    printed by a shell profile), as Ansible filters them. ValueError when there is none.

    >>> json_part('motd\\n{"a": 1}\\ntrailing')
    '{"a": 1}'
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("{")]
    ends = [i for i, line in enumerate(lines) if line.strip().endswith("}")]
    if not starts or not ends or ends[-1] < starts[0]:
        raise ValueError("no JSON object in the module's output")
    return "\n".join(lines[starts[0] : ends[-1] + 1])


def summary_text(value: Any) -> str:
    """The text of ansible-core 2.19's tagged summaries (``{"__ansible_type":
    "ErrorSummary", "event": {"msg": ..., "formatted_traceback": ..., "chain": ...}}``).

    >>> summary_text({"__ansible_type": "WarningSummary", "event": {"msg": "careful"}})
    'careful'
    """
    if isinstance(value, str):
        return value
    event = value.get("event") if isinstance(value, dict) else None
    if not isinstance(event, dict):
        return json.dumps(value, default=str)
    parts: list[str] = []
    while isinstance(event, dict):
        parts.append(str(event.get("formatted_traceback") or event.get("msg") or ""))
        chain = event.get("chain")
        event = chain.get("event") if isinstance(chain, dict) else None
    return "\n".join(p for p in parts if p)


def parse_result(stdout: str, stderr: str, exit_code: int) -> dict[str, Any]:
    """The module's result as Ansible registers it: internal keys removed, empty
    warnings/deprecations dropped, ``stdout_lines``/``stderr_lines`` added; output that
    holds no JSON is a failure carrying it (``module_stdout``, ``module_stderr``, ``rc``)."""
    try:
        data = json.loads(json_part(stdout))
        if not isinstance(data, dict):
            raise ValueError("the module's result is not a JSON object")
    except ValueError:
        return {
            "failed": True,
            "changed": False,
            "msg": "MODULE FAILURE: the module printed no result. See stdout/stderr for the "
            "returned output.",
            "module_stdout": stdout,
            "module_stderr": stderr,
            "rc": exit_code,
        }
    for key in list(data):
        if str(key).startswith("_ansible_"):
            del data[key]
    for key in ("warnings", "deprecations"):  # registered as text, as Ansible does
        if isinstance(data.get(key), list) and data[key]:
            data[key] = [summary_text(w) for w in data[key]]
        else:
            data.pop(key, None)
    if isinstance(data.get("exception"), dict):
        data["exception"] = summary_text(data["exception"])
    for key in ("stdout", "stderr"):
        if key in data and f"{key}_lines" not in data:
            data[f"{key}_lines"] = str(data[key] or "").splitlines()
    return data
