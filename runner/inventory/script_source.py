"""Dynamic inventory: an executable run with ``--list`` that prints Ansible's script JSON.

::

    {"web": {"hosts": ["w1", "w2"], "vars": {"http_port": 80}, "children": ["canary"]},
     "db": ["d1", "d2"],
     "_meta": {"hostvars": {"w1": {"ansible_host": "10.0.0.1"}}}}

A group may be a plain list of hosts. Without ``_meta`` the script is asked once per
host with ``--host NAME``, as Ansible does.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Mapping
from typing import Any

from runner.config import child_environment
from runner.errors import InventoryError
from runner.inventory.model import InventoryData
from runner.safeyaml import MAX_DEPTH, MAX_INT_DIGITS, check_depth
from runner.tagged import from_json_object

__all__ = ["load_script_inventory", "SCRIPT_TIMEOUT"]

SCRIPT_TIMEOUT = 300.0  # seconds; a dynamic inventory that hangs should not hang runner


def _run(path: str, args: list[str]) -> Any:
    command = [path, *args]
    shown = shlex.join(command)
    try:
        # the file that was checked, by absolute path: a bare name ("hosts.py") would be
        # looked up on $PATH and could run another program
        proc = subprocess.run(
            [os.path.abspath(path), *args],
            capture_output=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
            env=child_environment(),  # never runner's secrets
        )
    except subprocess.TimeoutExpired as exc:
        raise InventoryError(
            f"inventory script {shown!r} did not finish within {SCRIPT_TIMEOUT:.0f}s",
            path=path,
        ) from exc
    except OSError as exc:
        raise InventoryError(
            f"cannot run inventory script {shown!r}: {exc.strerror}",
            path=path,
            hint="check its #! line and that it is executable",
        ) from exc
    stderr = proc.stderr.decode("utf-8", errors="replace").strip()
    shown_stderr = f"; its stderr:\n{stderr}" if stderr else " (no stderr)"
    if proc.returncode != 0:
        raise InventoryError(
            f"inventory script {shown!r} exited with status {proc.returncode}{shown_stderr}",
            path=path,
            hint="run the script by hand with --list to see what goes wrong",
        )
    try:
        text = proc.stdout.decode("utf-8")
        if not text.strip() and args[0] == "--host":
            return {}
        if "__ansible_" not in text:  # no tagged values: the fast C decoder alone
            return json.loads(text)
        return json.loads(text, object_pairs_hook=lambda p: from_json_object(p, path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            problem = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        else:
            problem = f"output is not UTF-8 ({exc.reason})"
        raise InventoryError(
            f"inventory script {shown!r} did not print valid JSON: {problem}{shown_stderr}",
            path=path,
            hint="an inventory script prints one JSON object on stdout, "
            'like {"group": {"hosts": ["h1"]}, "_meta": {"hostvars": {}}}',
        ) from exc


def _run_checked(path: str, args: list[str]) -> Any:
    """:func:`_run`, with JSON that is too deep or holds a huge integer refused."""
    try:
        output = _run(path, args)
    except RecursionError as exc:  # json's own depth limit
        raise _bad(path, f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # json's int-digits limit
        raise _bad(path, f"JSON with an integer of more than {MAX_INT_DIGITS} digits") from exc
    check_depth(output, path, InventoryError)
    return output


def _bad(path: str, message: str) -> InventoryError:
    return InventoryError(
        f"inventory script output: {message}",
        path=path,
        hint='expected {"group": {"hosts": [...], "vars": {...}, "children": [...]}, '
        '"_meta": {"hostvars": {"host": {...}}}}',
    )


def load_script_inventory(data: InventoryData, path: str) -> None:
    """Run ``path --list`` and add the groups and hosts it prints to ``data``."""
    output = _run_checked(path, ["--list"])
    if not isinstance(output, Mapping):
        raise _bad(path, f"the top level must be a JSON object, got {type(output).__name__}")
    hostvars = None
    if "_meta" in output:
        meta = output["_meta"]
        hostvars = meta.get("hostvars", {}) if isinstance(meta, Mapping) else None
        if not isinstance(hostvars, Mapping):
            raise _bad(path, "'_meta.hostvars' must be an object of host -> variables")
    seen: dict[str, None] = {}
    for group, body in output.items():
        if group != "_meta":
            _parse_group(data, path, str(group), body, seen)
    for host in seen:
        host_vars = (
            hostvars.get(host, {}) if hostvars is not None else _run_checked(path, ["--host", host])
        )
        if not isinstance(host_vars, Mapping):
            raise _bad(path, f"variables of host {host!r} must be an object")
        data.hosts[host].vars.update(host_vars)


def _parse_group(data: InventoryData, path: str, group: str, body: Any, seen: dict) -> None:
    data.add_group(group)
    if not isinstance(body, Mapping):
        body = {"hosts": body}
    elif not any(key in body for key in ("hosts", "vars", "children")):
        body = {"hosts": [group], "vars": body}  # Ansible's legacy "group is one host" form
    hosts = body.get("hosts")
    if hosts is not None:
        if not isinstance(hosts, list):
            raise _bad(path, f"'{group}.hosts' must be a list of host names")
        for host in hosts:
            host = str(host)
            seen[host] = None
            data.add_host(host, group)
    group_vars = body.get("vars")
    if group_vars is not None:
        if not isinstance(group_vars, Mapping):
            raise _bad(path, f"'{group}.vars' must be an object")
        for key, value in group_vars.items():
            try:
                data.set_group_var(group, key, value)
            except InventoryError as exc:
                raise _bad(path, exc.message) from exc
    children = body.get("children")
    if children is not None:
        if not isinstance(children, (list, Mapping)):
            raise _bad(path, f"'{group}.children' must be a list of group names")
        for child in children:
            data.add_child(group, str(child))
