"""``import_playbook`` entries of a playbook, as ansible-core reads them:

- the file name may be templated, with the import's own ``vars`` and the extra vars
  (``- import_playbook: "{{ env }}.yml"``); it is relative to the importing playbook;
- ``vars`` go to every imported play and win over the play's own ``vars`` (a nested
  import's vars lose to the outer one's), ``vars_files`` still win over both;
- ``tags`` are added to every imported play (so ``--tags`` selects them);
- ``when`` is prepended to the conditions of every task of the imported plays, and a
  play whose condition is false on a host gathers no facts there either.

The loader keeps the import's vars, tags and conditions in ``ImportScope`` while it reads
the imported file; ``Play`` objects built meanwhile take them (runner.playbook.loader).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from runner.errors import PlaybookError, TemplateError
from runner.playbook.checks import as_tuple, plain, tags_of
from runner.playbook.reader import line_of
from runner.templating import is_template, render_value

IMPORT_PLAYBOOK = ("import_playbook", "ansible.builtin.import_playbook")
ALLOWED = frozenset({*IMPORT_PLAYBOOK, "name", "vars", "tags", "when"})


@dataclass(frozen=True)
class ImportScope:
    """What the enclosing ``import_playbook`` entries give the plays they bring in."""

    vars: dict[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    when: tuple[Any, ...] = ()


def import_key(entry: dict[Any, Any]) -> str | None:
    """The import_playbook key of a playbook entry, or None for a play."""
    keys = [k for k in IMPORT_PLAYBOOK if k in entry]
    return keys[0] if keys else None


def read_import(
    entry: dict[Any, Any],
    key: str,
    path: str,
    outer: ImportScope,
    extra_vars: dict[str, Any],
    checks: Any,
) -> tuple[str, ImportScope]:
    """(the imported file, the scope for its plays) of one import_playbook entry."""
    line = line_of(entry, key) or line_of(entry)
    extra = set(entry) - ALLOWED
    if extra:
        raise PlaybookError(
            f"import_playbook does not take {', '.join(sorted(map(str, extra)))}",
            path=path, line=line_of(entry, sorted(map(str, extra))[0]) or line,
            hint="import_playbook takes name, vars, tags and when; set other keywords "
            "on the imported plays",
        )  # fmt: skip
    raw = entry[key]
    if not isinstance(raw, str) or not raw.strip():
        raise PlaybookError(
            "import_playbook needs a playbook file name", path=path, line=line,
            hint="- import_playbook: other.yml",
        )  # fmt: skip
    own = entry.get("vars") or {}
    if not isinstance(own, dict):
        raise PlaybookError("'vars' must be a mapping", path=path, line=line_of(entry, "vars"))
    own = plain(own)
    checks._check_templates(own, path, line_of(entry, "vars"))
    for cond in as_tuple(entry.get("when")):
        checks._check_expr(cond, path, line_of(entry, "when"))
    name = raw.strip()
    if is_template(name):
        try:
            name = str(render_value(name, {**outer.vars, **own, **extra_vars}))
        except TemplateError as exc:
            raise PlaybookError(
                f"import_playbook {name!r}: {exc.message}", path=path, line=line,
                hint="import_playbook is read when the playbook loads: only the import's "
                "vars and extra vars (-e) are known",
            ) from exc  # fmt: skip
    merged = {**own, **outer.vars}  # the outer import's vars win (as in ansible-core)
    tags = tags_of(entry.get("tags"), path, line_of(entry, "tags"))
    param_tags = merged.pop("tags", None)
    if isinstance(param_tags, str):
        tags |= tags_of(param_tags, path, line)
    scope = ImportScope(
        vars=merged,
        tags=outer.tags | tags,
        when=outer.when + as_tuple(entry.get("when")),
    )
    target = os.path.join(os.path.dirname(path), os.path.expanduser(name))
    if not os.path.isfile(target):
        raise PlaybookError(
            f"import_playbook: {target} not found", path=path, line=line,
            hint="the name is relative to the importing playbook's folder",
        )  # fmt: skip
    return target, scope
