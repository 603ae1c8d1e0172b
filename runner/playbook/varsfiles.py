"""A play's ``vars_files``, read when the playbook loads.

Each entry is a file name or a list of them; of a list the first file that exists is
read (Ansible's "first found" for vars_files), so ``[ "vars/{{ env }}.yml",
vars/default.yml ]`` reads the environment's file when there is one. Names are
templated with the play's ``vars`` and the extra vars. A name is looked up as Ansible
does: ``vars/NAME`` then ``NAME`` beside the playbook.

ansible-core 2.19 silently skips a file (or a list) it does not find; runner refuses it
at load time with the places it looked, because a missing variables file almost always
means a typo or the wrong folder, found otherwise only when a task reads the variable.
"""

from __future__ import annotations

import os
from typing import Any

from runner.errors import PlaybookError, TemplateError
from runner.playbook.checks import plain
from runner.playbook.reader import line_of, load_yaml
from runner.templating import is_template, render_value


def candidates(name: str, folders: list[str], sub: str = "vars") -> list[str]:
    """Where a relative variables file NAME is looked for, in order.

    >>> candidates("a.yml", ["/p"])
    ['/p/vars/a.yml', '/p/a.yml']
    >>> candidates("/etc/x.yml", ["/p"])
    ['/etc/x.yml']
    """
    name = os.path.expanduser(name)
    if os.path.isabs(name):
        return [name]
    out: list[str] = []
    for folder in folders:
        for path in (os.path.join(folder, sub, name), os.path.join(folder, name)):
            if path not in out:
                out.append(path)
    return out


def read_vars_files(
    data: dict[Any, Any],
    path: str,
    known_vars: dict[str, Any],
    vault: Any,
) -> list[tuple[str, dict[str, Any]]]:
    """(file, its variables) for each ``vars_files`` entry of the play ``data``, in order;
    ``known_vars`` (play vars and extra vars) render templated names."""
    files = data.get("vars_files") or []
    if isinstance(files, str):
        files = [files]
    line = line_of(data, "vars_files")
    if not isinstance(files, list):
        raise PlaybookError("vars_files must list file names", path=path, line=line)
    out = []
    folder = os.path.dirname(path) or "."
    for entry in files:
        names = entry if isinstance(entry, list) else [entry]
        looked: list[str] = []
        found = None
        for name in names:
            if not isinstance(name, str):
                raise PlaybookError(
                    "vars_files must list file names (or lists of them: the first found is "
                    "read)", path=path, line=line,
                )  # fmt: skip
            if is_template(name):
                try:
                    name = str(render_value(name, known_vars))
                except TemplateError as exc:
                    raise PlaybookError(
                        f"vars_files entry {name!r}: {exc.message}", path=path, line=line,
                        hint="vars_files are read when the playbook loads: only play vars "
                        "and extra vars (-e) are known; use include_vars for host variables",
                    ) from exc  # fmt: skip
            for candidate in candidates(name, [folder]):
                looked.append(candidate)
                if os.path.isfile(candidate):
                    found = candidate
                    break
            if found:
                break
        if found is None:
            what = f"none of {', '.join(map(str, names))}" if len(names) > 1 else names[0]
            raise PlaybookError(
                f"vars_files: {what} not found (looked for {', '.join(looked)})",
                path=path, line=line,
                hint="give a list to read the first file that exists: "
                "vars_files: [[ 'vars/{{ env }}.yml', vars/default.yml ]]",
            )  # fmt: skip
        out.append((found, read_mapping(found, vault, f"{path}:{line}")))
    return out


def read_mapping(full: str, vault: Any, listed: str) -> dict[str, Any]:
    """A variables file: a YAML mapping (vault-encrypted whole or by value), or empty."""
    loaded = load_yaml(full, vault)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        kind = "a list" if isinstance(loaded, list) else "a single value"
        raise PlaybookError(
            f"a vars file must be a mapping of variables (name: value), not "
            f"{kind} (listed in {listed})", path=full, line=_top_line(full),
        )  # fmt: skip
    return plain(loaded)


def _top_line(path: str) -> int:
    """The line of a file's top-level YAML node (loaded data carries no line for a list);
    only for an error message, so 1 when it cannot be told."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            node = yaml.compose(fh, Loader=yaml.SafeLoader)
        return node.start_mark.line + 1 if node is not None else 1
    except Exception:  # the file was read once already; this only improves the message
        return 1
