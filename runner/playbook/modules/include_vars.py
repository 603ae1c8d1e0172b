"""``include_vars``: variables read from YAML/JSON files on the control node, set on the
host at include_vars precedence (above play, block and task vars, below set_fact and
registered results and extra vars; runner.playbook.variables).

As ansible-core's action: ``file`` (or the free form) is looked up as ``vars/NAME`` then
``NAME`` in the role (``role_path``), beside the task's file, then beside the playbook;
``dir`` is relative to the role's ``vars/`` or to the task's file, read in sorted order
(folders by path, files by name) down to ``depth`` (0: all), keeping the files whose name
``files_matching`` (a regular expression) finds, not those ``ignore_files`` match at the
end, with one of ``extensions`` (else an error unless ``ignore_unknown_extensions``).
``name`` puts everything under one variable. Vault-encrypted files are decrypted with
the run's vault passwords, and then their content is not shown.
"""

from __future__ import annotations

import os
import re
from typing import Any

from runner.errors import RunnerError
from runner.playbook.modules.base import ModuleContext, ModuleFailure, ModuleResult

EXTENSIONS = ["yml", "yaml", "json"]


def include_vars(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    origin = str(args.get("_origin") or "")
    task_dir = os.path.dirname(origin) or ctx.base_dir
    role_path = ctx.variables.get("role_path") if hasattr(ctx.variables, "get") else None
    vault = getattr(ctx.variables, "vault", None)
    encrypted = [False]
    loaded: dict[str, Any] = {}
    files: list[str] = []
    if args.get("dir") not in (None, ""):
        root = _dir_root(str(args["dir"]), task_dir, role_path)
        if not os.path.exists(root):
            raise ModuleFailure(f"{root} directory does not exist")
        if not os.path.isdir(root):
            raise ModuleFailure(f"{root} is not a directory")
        for path in _dir_files(root, args):
            loaded.update(_read(path, vault, encrypted))
            files.append(path)
    else:
        name = str(args.get("file") or args.get("_raw_params") or "").rstrip("\n").strip()
        folders = [p for p in (role_path, task_dir, ctx.base_dir) if p]
        path = _find(name, folders)
        loaded.update(_read(path, vault, encrypted))
        files.append(path)
    if args.get("name"):
        loaded = {str(args["name"]): loaded}
    if args.get("hash_behaviour") == "merge":
        loaded = {k: _merge(ctx.variables.get(k), v) for k, v in loaded.items()}
    result: dict[str, Any] = {
        "changed": False,
        "ansible_facts": loaded,
        "ansible_included_var_files": files,
    }
    if encrypted[0]:
        result["_ansible_no_log"] = True
    return result


def _find(name: str, folders: list[str]) -> str:
    from runner.playbook.varsfiles import candidates

    looked = candidates(name, list(dict.fromkeys(folders)))
    for path in looked:
        if os.path.isfile(path):
            return path
    raise ModuleFailure(
        f"Could not find or access '{name}' (looked for {', '.join(looked)}) on the control node"
    )


def _dir_root(name: str, task_dir: str, role_path: Any) -> str:
    name = os.path.expanduser(name)
    if os.path.isabs(name):
        return name
    if role_path:
        if name.split("/")[0] == "vars":
            inside = os.path.join(str(role_path), name)
            if os.path.exists(inside):
                return inside
            return os.path.join(task_dir, name)
        return os.path.join(str(role_path), "vars", name)
    return os.path.join(task_dir, name)


def _dir_files(root: str, args: dict[str, Any]) -> list[str]:
    depth = int(args.get("depth") or 0)
    extensions = args.get("extensions") or EXTENSIONS
    if isinstance(extensions, str):
        extensions = [extensions]
    ignore = args.get("ignore_files") or []
    if isinstance(ignore, str):
        ignore = ignore.split()
    try:
        matcher = re.compile(str(args["files_matching"])) if args.get("files_matching") else None
        ignored = [re.compile(f"{pattern}$") for pattern in ignore]
    except re.error as exc:
        raise ModuleFailure(f"include_vars: invalid regular expression: {exc}") from exc
    lenient = bool(args.get("ignore_unknown_extensions"))
    out = []
    for folder, _dirs, names in sorted(os.walk(root, followlinks=True), key=lambda w: w[0]):
        level = len(os.path.relpath(folder, root).split(os.sep)) if folder != root else 0
        if depth and level + 1 > depth:
            continue
        for name in sorted(names):
            if matcher is not None and not matcher.search(name):
                continue
            if any(p.search(name) for p in ignored):
                continue
            ext = os.path.splitext(name)[1][1:]
            if ext not in extensions:
                if lenient:
                    continue
                raise ModuleFailure(
                    f"{os.path.join(folder, name)} does not have a valid extension: "
                    + ", ".join(extensions)
                )
            out.append(os.path.join(folder, name))
    return out


def _read(path: str, vault: Any, encrypted: list[bool]) -> dict[str, Any]:
    from runner.playbook.checks import plain
    from runner.playbook.reader import load_yaml

    try:
        with open(path, "rb") as fh:
            encrypted[0] |= fh.read(14) == b"$ANSIBLE_VAULT"
        data = load_yaml(path, vault)
    except RunnerError as exc:
        raise ModuleFailure(f"include_vars: {exc}") from exc
    except OSError as exc:
        raise ModuleFailure(f"include_vars: cannot read {path}: {exc.strerror}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModuleFailure(f"{path} must be stored as a dictionary/hash")
    return plain(data)


def _merge(old: Any, new: Any) -> Any:
    """hash_behaviour=merge: dicts merged recursively with the variable's current value."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            out[key] = _merge(old.get(key), value)
        return out
    return new
